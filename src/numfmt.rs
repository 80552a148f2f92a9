//! Fixed-point numbers, floats and socket addresses written exactly as `{:.N}` and `{}`
//! write them, but cheaply: the digits come from `itoa`.
//!
//! A big capture prints a timeline line per segment and a summary per connection;
//! core::fmt's general float and address code (exact decimal expansion, a padded
//! buffer per IPv4 octet) was most of the cost of that text. These wrappers take a
//! short path for the common values, an integer of micro-units (or octets and a port)
//! given to itoa, and fall back to core::fmt for the rest, so the text never differs
//! from what `format!` would give.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;

/// `x` with `D` decimals, as `{:.D}` writes it (`D` at most 6). Width and alignment
/// (`{:>10}`) apply as for a string; give no precision in the format string.
#[derive(Debug, Clone, Copy)]
pub struct Fixed<const D: usize>(pub f64);

impl<const D: usize> fmt::Display for Fixed<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Padding needs the whole text first, so the pieces are gathered.
        let mut buf = Buf::new();
        if self.pieces(|piece| buf.extend(piece.as_bytes())) {
            pad(f, buf.as_str())
        } else {
            f.pad(&format!("{:.*}", D, self.0))
        }
    }
}

impl<const D: usize> Fixed<D> {
    /// Appends the text to `out`. The pieces go straight in: gathered in a buffer first,
    /// they would be copied twice and checked for UTF-8 (`from_utf8`) on the way.
    pub fn push_to(self, out: &mut String) {
        if !self.pieces(|piece| out.push_str(piece)) {
            let _ = write!(out, "{:.*}", D, self.0);
        }
    }

    /// Hands the text to `put` in pieces: the whole part, the point, the decimals.
    /// `false`, with nothing handed, when `x` is left to core::fmt.
    fn pieces(self, mut put: impl FnMut(&str)) -> bool {
        const POW10: [u64; 7] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
        let Some(n) = fixed_digits(self.0, D) else { return false };
        let scale = POW10[D];
        let mut itoa = itoa::Buffer::new();
        put(itoa.format(n / scale));
        if D > 0 {
            put(".");
            // 10^D plus the decimals is a 1 and then exactly D digits, the decimals'
            // leading zeros included (0.000123): the 1 is left out.
            put(&itoa.format(scale + n % scale)[1..]);
        }
        true
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
    // Below 10^12, so signed: x86-64 converts f64 to and from i64 in one instruction
    // (and `as` adds its saturation checks), but u64 takes a longer sequence
    // (callgrind: 12 instructions a number more).
    let whole = scaled as i64;
    let frac = scaled - whole as f64;
    if (frac - 0.5).abs() < 1e-3 {
        return None;
    }
    Some(if frac > 0.5 { whole + 1 } else { whole } as u64)
}

/// A socket address as `{}` writes it; IPv4 takes the short path. `SocketAddr`'s own
/// Display (a padded buffer per octet) made `--format jsonl` 16% dearer (callgrind).
#[derive(Debug, Clone, Copy)]
pub struct Addr(pub SocketAddr);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Buf::new();
        if self.pieces(|piece| buf.extend(piece.as_bytes())) {
            pad(f, buf.as_str())
        } else {
            fmt::Display::fmt(&self.0, f)
        }
    }
}

impl Addr {
    /// Appends the text to `out`, the pieces straight in (as [`Fixed::push_to`]).
    pub fn push_to(self, out: &mut String) {
        if !self.pieces(|piece| out.push_str(piece)) {
            let _ = write!(out, "{}", self.0);
        }
    }

    /// Appends the text to a byte buffer (JSON lines), the pieces straight in.
    pub fn push_to_bytes(self, out: &mut Vec<u8>) {
        if !self.pieces(|piece| out.extend_from_slice(piece.as_bytes())) {
            use std::io::Write as _;
            let _ = write!(out, "{}", self.0);
        }
    }

    /// Hands an IPv4 address to `put` in pieces: octets, dots, colon and port.
    /// `false`, with nothing handed, for IPv6, which is left to core::fmt.
    fn pieces(self, mut put: impl FnMut(&str)) -> bool {
        let SocketAddr::V4(v4) = self.0 else { return false };
        let mut itoa = itoa::Buffer::new();
        let [a, b, c, d] = v4.ip().octets();
        put(itoa.format(a));
        put(".");
        put(itoa.format(b));
        put(".");
        put(itoa.format(c));
        put(".");
        put(itoa.format(d));
        put(":");
        put(itoa.format(v4.port()));
        true
    }
}

/// A float as `{}` writes it (the shortest digits that read back as the same number),
/// whole numbers by itoa: the TIME-WAIT length in every summary is one (60, 240), and
/// core's shortest-float search (Grisu) costs about 200 instructions a number.
#[derive(Debug, Clone, Copy)]
pub struct Shortest(pub f64);

impl Shortest {
    /// Appends the text to `out`; a number that is not whole goes through core::fmt.
    pub fn push_to(self, out: &mut String) {
        // Below 2^53 every whole number is exactly a float, one apart or closer, so no
        // shorter digits read back as it: `{}` writes all its digits. (A negative zero
        // is written "-0": the sign test keeps it from the short path.)
        const EXACT: f64 = 9_007_199_254_740_992.0;
        let whole = self.0 as u64;
        if self.0.is_sign_positive() && self.0 < EXACT && whole as f64 == self.0 {
            out.push_str(itoa::Buffer::new().format(whole));
        } else {
            let _ = write!(out, "{}", self.0);
        }
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

/// A stack buffer in which the Display impls gather the short paths' pieces, to be
/// padded as one; the longest text is an IPv4 socket address (21 bytes). Bytes are set
/// one by one: copying a few bytes with `memcpy` costs more.
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
    use proptest::prelude::*;

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

    /// `push_to` of each type appends exactly what `format!` writes.
    fn pushed<T>(value: T, push: fn(T, &mut String)) -> String {
        // Text already in the string stays, and the new text follows it.
        let mut out = String::from("x");
        push(value, &mut out);
        out.split_off(1)
    }

    #[test]
    fn shortest_matches_core_fmt() {
        let exact = 9_007_199_254_740_992.0;
        let values = [0.0, -0.0, 1.0, 60.0, 240.0, 0.5, 1e-7, 2.25, 1e15, exact - 1.0, exact, exact + 2.0];
        let more = [1e20, 1e300, -60.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE];
        for v in values.into_iter().chain(more) {
            assert_eq!(pushed(Shortest(v), Shortest::push_to), format!("{v}"), "{v:e}");
        }
    }

    /// Values near what `{:.N}` rounds: `k / 10^N`, the halfway points between them,
    /// and a few units in the last place either side of both.
    fn near_ties(decimals: i32) -> impl Strategy<Value = f64> {
        let scale = 10f64.powi(decimals);
        (0u64..2_000_000_000, any::<bool>(), -4i64..=4).prop_map(move |(k, half, ulps)| {
            let x = (k as f64 + if half { 0.5 } else { 0.0 }) / scale;
            f64::from_bits((x.to_bits() as i64 + ulps).max(0) as u64)
        })
    }

    /// Timestamps and durations as captures give them: whole microseconds, as seconds
    /// or as milliseconds.
    fn micros() -> impl Strategy<Value = f64> {
        (0u64..4_000_000_000_000, any::<bool>())
            .prop_map(|(us, ms)| if ms { us as f64 / 1e3 } else { us as f64 / 1e6 })
    }

    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -1e7..1e7f64,
            0.0..2e6f64,
            micros(),
            near_ties(3),
            near_ties(6),
            near_ties(0)
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn fixed_is_core_fmt_everywhere(v in any_value()) {
            prop_assert_eq!(pushed(Fixed::<3>(v), Fixed::push_to), format!("{v:.3}"), "{:e}", v);
            prop_assert_eq!(pushed(Fixed::<6>(v), Fixed::push_to), format!("{v:.6}"), "{:e}", v);
            prop_assert_eq!(pushed(Fixed::<1>(v), Fixed::push_to), format!("{v:.1}"), "{:e}", v);
            prop_assert_eq!(pushed(Fixed::<0>(v), Fixed::push_to), format!("{v:.0}"), "{:e}", v);
            prop_assert_eq!(format!("{:>10}", Fixed::<6>(v)), format!("{v:>10.6}"), "{:e}", v);
            prop_assert_eq!(Fixed::<3>(v).to_string(), format!("{v:.3}"), "{:e}", v);
        }

        #[test]
        fn shortest_is_core_fmt_everywhere(v in prop_oneof![any_value(), (0u64..1 << 54).prop_map(|n| n as f64)]) {
            prop_assert_eq!(pushed(Shortest(v), Shortest::push_to), format!("{v}"), "{:e}", v);
        }

        #[test]
        fn addr_is_core_fmt_everywhere(ip in any::<[u8; 4]>(), ip6 in any::<[u16; 8]>(), port in any::<u16>()) {
            for a in [SocketAddr::from((ip, port)), SocketAddr::from((ip6, port))] {
                prop_assert_eq!(pushed(Addr(a), Addr::push_to), a.to_string());
                prop_assert_eq!(Addr(a).to_string(), a.to_string());
                prop_assert_eq!(format!("{:>24}", Addr(a)), format!("{:>24}", a.to_string()));
            }
        }
    }
}
