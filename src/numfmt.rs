//! Numbers and addresses written exactly as `{}` and `{:.N}` write them, but cheaply.
//!
//! A big capture prints a summary per connection and a timeline line per segment;
//! core::fmt's general float and address code (exact decimal expansion, a padded
//! buffer per IPv4 octet) was most of the cost of that text. These wrappers take a
//! short path for the common values and fall back to core::fmt for the rest, so the
//! text never differs from what `format!` would give.

use std::fmt;
use std::net::SocketAddr;

/// `x` with `D` decimals, as `{:.D}` writes it (`D` at most 6). Width and alignment
/// (`{:>10}`) apply as for a string; give no precision in the format string.
#[derive(Debug, Clone, Copy)]
pub struct Fixed<const D: usize>(pub f64);

impl<const D: usize> fmt::Display for Fixed<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.short() {
            Some(buf) => pad(f, buf.as_str()),
            None => f.pad(&format!("{:.*}", D, self.0)),
        }
    }
}

impl<const D: usize> Fixed<D> {
    /// Appends the text to `out` without going through core::fmt when it can.
    pub fn push_to(self, out: &mut String) {
        match self.short() {
            Some(buf) => out.push_str(buf.as_str()),
            None => out.push_str(&format!("{:.*}", D, self.0)),
        }
    }

    fn short(self) -> Option<Buf> {
        let mut n = fixed_digits(self.0, D)?;
        // Digits from the right, the point after the first D of them, and at least
        // one digit before it.
        let mut digits = [0u8; 24];
        let mut i = digits.len();
        let mut written = 0;
        while n > 0 || written <= D {
            if written == D && D > 0 {
                i -= 1;
                digits[i] = b'.';
            }
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            written += 1;
        }
        let mut buf = Buf::new();
        buf.extend(&digits[i..]);
        Some(buf)
    }
}

/// `round(x × 10^decimals)` when that is certainly the rounding `{:.N}` does: `x` is
/// small and positive and not near a tie, so the product's own rounding error (far
/// below 10⁻³ here) cannot change the result. `None` asks for core::fmt.
fn fixed_digits(x: f64, decimals: usize) -> Option<u64> {
    // Powers from a table and truncation by `as`: `powi`, `floor` and `round` are
    // library calls on baseline x86-64.
    const SCALE: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    if !(x.is_sign_positive() && x < 1e6) || decimals > 6 {
        return None;
    }
    let scaled = x * SCALE[decimals];
    let whole = scaled as u64;
    let frac = scaled - whole as f64;
    if (frac - 0.5).abs() < 1e-3 {
        return None;
    }
    Some(if frac > 0.5 { whole + 1 } else { whole })
}

/// `x` as `{}` writes it; whole numbers (a TIME-WAIT of 60 s) take the short path.
#[derive(Debug, Clone, Copy)]
pub struct Num(pub f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x.is_sign_positive() && x < 1e15 && x.fract() == 0.0 {
            let mut buf = Buf::new();
            write_u64(&mut buf, x as u64);
            return f.pad(buf.as_str());
        }
        fmt::Display::fmt(&x, f)
    }
}

/// A socket address as `{}` writes it; IPv4 takes the short path.
#[derive(Debug, Clone, Copy)]
pub struct Addr(pub SocketAddr);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.short() {
            Some(buf) => pad(f, buf.as_str()),
            None => fmt::Display::fmt(&self.0, f),
        }
    }
}

impl Addr {
    /// Appends the text to `out` without going through core::fmt when it can.
    pub fn push_to(self, out: &mut String) {
        match self.short() {
            Some(buf) => out.push_str(buf.as_str()),
            None => out.push_str(&self.0.to_string()),
        }
    }

    fn short(self) -> Option<Buf> {
        let SocketAddr::V4(v4) = self.0 else { return None };
        let mut buf = Buf::new();
        for (i, octet) in v4.ip().octets().into_iter().enumerate() {
            if i > 0 {
                buf.push(b'.');
            }
            write_u64(&mut buf, u64::from(octet));
        }
        buf.push(b':');
        write_u64(&mut buf, u64::from(v4.port()));
        Some(buf)
    }
}

/// Appends `n` to `out` as `{}` writes it.
pub fn push_u64(out: &mut String, n: u64) {
    let mut buf = Buf::new();
    buf.push_u64(n);
    out.push_str(buf.as_str());
}

/// `f.pad(text)` for ASCII `text`, with the usual case (no width, or spaces) short.
fn pad(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    const SPACES: &str = "                                ";
    match f.width() {
        None if f.precision().is_none() => f.write_str(text),
        Some(width)
            if f.fill() == ' '
                && f.precision().is_none()
                && width - text.len().min(width) <= SPACES.len() =>
        {
            let room = &SPACES[..width - text.len().min(width)];
            match f.align() {
                Some(fmt::Alignment::Right) => {
                    f.write_str(room)?;
                    f.write_str(text)
                }
                Some(fmt::Alignment::Left) | None => {
                    f.write_str(text)?;
                    f.write_str(room)
                }
                Some(fmt::Alignment::Center) => f.pad(text),
            }
        }
        _ => f.pad(text),
    }
}

fn write_u64(buf: &mut Buf, n: u64) {
    buf.push_u64(n);
}

/// A stack buffer for the short paths, whose longest text is an IPv4 socket address
/// (21 bytes). Bytes are set one by one: copying a few bytes with `memcpy` costs more.
struct Buf {
    bytes: [u8; 32],
    len: usize,
}

impl Buf {
    fn new() -> Buf {
        Buf { bytes: [0; 32], len: 0 }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn extend(&mut self, s: &[u8]) {
        s.iter().for_each(|&b| self.push(b));
    }

    fn push_u64(&mut self, n: u64) {
        let mut width = 1;
        let mut rest = n / 10;
        while rest > 0 {
            width += 1;
            rest /= 10;
        }
        let end = (self.len + width).min(self.bytes.len());
        let mut n = n;
        for slot in self.bytes[self.len..end].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.len = end;
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are pushed.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_matches_core_fmt() {
        let mut values = vec![0.0, 0.5, 1.0, 0.0005, 0.0015, 0.0025, 2.5e-7, 123.4567895, 999_999.9999996];
        values.extend([-0.0, -1.25, f64::NAN, f64::INFINITY, 1e7, 1e300, f64::MIN_POSITIVE]);
        // A deterministic spread of values with many digits.
        let mut x = 0.123_456_789_f64;
        for _ in 0..20_000 {
            x = (x * 7.3 + 0.011) % 5000.0;
            values.push(x);
            values.push(x / 1000.0);
        }
        for v in values {
            assert_eq!(Fixed::<6>(v).to_string(), format!("{v:.6}"), "{v:e}");
            assert_eq!(Fixed::<3>(v).to_string(), format!("{v:.3}"), "{v:e}");
            assert_eq!(format!("{:>10}", Fixed::<6>(v)), format!("{v:>10.6}"), "{v:e}");
            assert_eq!(format!("{:<12}", Fixed::<3>(v)), format!("{v:<12.3}"), "{v:e}");
            assert_eq!(format!("{:^12}", Fixed::<0>(v)), format!("{v:^12.0}"), "{v:e}");
        }
    }

    #[test]
    fn pushed_text_is_the_displayed_text() {
        for v in [0.0, 0.0015, 123.456_789_5, -2.0, 1e300] {
            let mut out = String::new();
            Fixed::<6>(v).push_to(&mut out);
            assert_eq!(out, format!("{v:.6}"));
        }
        for a in ["10.0.0.1:80", "[::1]:8080"] {
            let a: SocketAddr = a.parse().unwrap();
            let mut out = String::new();
            Addr(a).push_to(&mut out);
            assert_eq!(out, a.to_string());
        }
        for n in [0, 7, 10, 99_999, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn num_matches_core_fmt() {
        for v in [0.0, 60.0, 240.0, 0.5, 1e20, -3.0, -0.0, 12.25] {
            assert_eq!(Num(v).to_string(), format!("{v}"));
        }
    }

    #[test]
    fn addr_matches_core_fmt() {
        for a in ["127.0.0.1:80", "0.0.0.0:0", "255.255.255.255:65535", "[::1]:8080"] {
            let a: SocketAddr = a.parse().unwrap();
            assert_eq!(Addr(a).to_string(), a.to_string());
            assert_eq!(format!("{:>24}", Addr(a)), format!("{:>24}", a.to_string()));
        }
    }
}
