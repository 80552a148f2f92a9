//! Fixed-point numbers and socket addresses written exactly as `{:.N}` and `{}` write
//! them, but cheaply: the digits come from `itoa`.
//!
//! A big capture prints a timeline line per segment and a summary per connection;
//! core::fmt's general float and address code (exact decimal expansion, a padded
//! buffer per IPv4 octet) was most of the cost of that text. These wrappers take a
//! short path for the common values, an integer of micro-units (or octets and a port)
//! given to itoa, and fall back to core::fmt for the rest, so the text never differs
//! from what `format!` would give.

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

    /// The scaled integer's digits with the point put in before the last `D`.
    fn short(self) -> Option<Buf> {
        let n = fixed_digits(self.0, D)?;
        let mut itoa = itoa::Buffer::new();
        let digits = itoa.format(n).as_bytes();
        let mut buf = Buf::new();
        // At least one digit before the point, and zeros after it when the integer
        // has fewer digits than decimals (0.000123).
        let whole = digits.len().saturating_sub(D);
        if whole == 0 {
            buf.push(b'0');
        }
        buf.extend(&digits[..whole]);
        if D > 0 {
            buf.push(b'.');
            (digits.len()..D).for_each(|_| buf.push(b'0'));
            buf.extend(&digits[whole..]);
        }
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

/// A socket address as `{}` writes it; IPv4 takes the short path. `SocketAddr`'s own
/// Display (a padded buffer per octet) made `--format jsonl` 16% dearer (callgrind).
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
        let mut itoa = itoa::Buffer::new();
        let mut buf = Buf::new();
        for (i, octet) in v4.ip().octets().into_iter().enumerate() {
            if i > 0 {
                buf.push(b'.');
            }
            buf.extend(itoa.format(octet).as_bytes());
        }
        buf.push(b':');
        buf.extend(itoa.format(v4.port()).as_bytes());
        Some(buf)
    }
}

/// `f.pad(text)` for ASCII `text`, with the usual case (no width, or spaces) short:
/// core's `pad` counts chars and pads one `char` at a time, about 80 instructions more
/// a timeline line (callgrind, 100k segments).
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
