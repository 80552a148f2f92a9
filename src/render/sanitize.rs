//! Making bytes from the wire safe to print: nothing a packet carries may move the
//! cursor, change colours, rewrite the line or reorder text on the terminal.

/// Characters that reorder or hide text (bidi controls, zero-width marks, BOM).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Escapes everything but printable text: `\n`, `\r`, `\t`, `\e`, `\xNN` for other
/// control and invalid bytes, `\u{…}` for bidi and zero-width characters, and `\"`, `\\`.
pub fn sanitize(bytes: &[u8]) -> String {
    sanitize_within(bytes, usize::MAX).0
}

/// [`sanitize`], stopping before the text would pass `limit` bytes (an escape is never
/// cut): the text, and how many of `bytes` it stands for. A preview of text shows as
/// many bytes as it has characters; one of binary data, a quarter as many.
pub fn sanitize_within(bytes: &[u8], limit: usize) -> (String, usize) {
    // The common case, plain printable ASCII, needs no escaping at all.
    let plain = bytes.iter().take(limit).take_while(|&&b| ESCAPED[usize::from(b)].1 == 1).count();
    if plain == bytes.len() || plain == limit {
        // Printable ASCII only: valid UTF-8 as it is.
        return (std::str::from_utf8(&bytes[..plain]).unwrap_or_default().to_owned(), plain);
    }
    // Byte by byte through a table of what each ASCII byte becomes: a binary payload is
    // mostly escapes, and the general route (UTF-8 chunks, then each char matched, each
    // escape pushed) was most of what a timeline of bulk transfers cost. Nothing is
    // longer than four times the bytes it stands for (`\xNN`; `\u{0085}` for two
    // bytes), so the buffer is sized once and written by index, four bytes at a time.
    let mut out = vec![0u8; bytes.len() * 4];
    let limit = limit.min(out.len());
    out[..plain].copy_from_slice(&bytes[..plain]);
    let (mut i, mut o) = (plain, plain);
    while let Some(&b) = bytes.get(i) {
        let (text, len) = ESCAPED[usize::from(b)];
        if len > 0 {
            if o + usize::from(len) > limit {
                break;
            }
            // o ≤ 4i, so the four bytes fit; only `len` of them are kept.
            out[o..o + 4].copy_from_slice(&text);
            o += usize::from(len);
            i += 1;
            continue;
        }
        // A character starts here only if the lead byte and its continuation bytes are
        // valid UTF-8 together; otherwise this byte alone is invalid (a continuation
        // byte never starts a character, so escaping invalid bytes one at a time is
        // what escaping each invalid run gives).
        let mut escape = [0; 10];
        let (piece, width): (&[u8], usize) = match char_at(&bytes[i..]) {
            Some((c, width)) if c.is_control() || is_invisible_format(c) => {
                let len = write_unicode_escape(c, &mut escape);
                (&escape[..len], width)
            }
            Some((_, width)) => (&bytes[i..i + width], width),
            None => {
                escape[..4].copy_from_slice(&byte_escape(b));
                (&escape[..4], 1)
            }
        };
        if o + piece.len() > limit {
            break;
        }
        out[o..o + piece.len()].copy_from_slice(piece);
        o += piece.len();
        i += width;
    }
    out.truncate(o);
    // Only whole valid characters were copied, and every escape is ASCII.
    let text = String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (text, i)
}

/// The character that starts `bytes` (whose first byte is not ASCII) and its width,
/// if the bytes are valid UTF-8 there.
fn char_at(bytes: &[u8]) -> Option<(char, usize)> {
    let width = match bytes.first()? {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    match bytes.get(..width)? {
        // Two bytes: any continuation byte after C2..DF makes a character (no overlong
        // forms or surrogates there), found without a call.
        &[lead, next] if next & 0xc0 == 0x80 => {
            char::from_u32((u32::from(lead & 0x1f) << 6) | u32::from(next & 0x3f)).map(|c| (c, 2))
        }
        &[_, _] => None,
        longer => std::str::from_utf8(longer).ok()?.chars().next().map(|c| (c, width)),
    }
}

/// Writes `\u{XXXX}` (at least four hex digits) at the start of `out`; returns its length.
fn write_unicode_escape(c: char, out: &mut [u8]) -> usize {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let code = c as u32;
    let digits = (8 - code.leading_zeros() as usize / 4).max(4);
    out[..3].copy_from_slice(b"\\u{");
    for k in 0..digits {
        out[3 + k] = DIGITS[((code >> (4 * (digits - 1 - k))) & 0xf) as usize];
    }
    out[3 + digits] = b'}';
    digits + 4
}

/// `\xNN` for a byte.
const fn byte_escape(b: u8) -> [u8; 4] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [b'\\', b'x', DIGITS[(b >> 4) as usize], DIGITS[(b & 0xf) as usize]]
}

/// What each byte becomes, padded to four bytes, and how many of them count: itself
/// (printable ASCII), a backslash and a letter, `\xNN` (other controls, and bytes that
/// never begin a character: continuation bytes, C0, C1, F5 to FF), or 0 for a lead
/// byte that may begin one.
const ESCAPED: [([u8; 4], u8); 256] = {
    let mut table = [([0u8; 4], 0u8); 256];
    let mut b = 0;
    while b < 0x100 {
        table[b] = match b as u8 {
            0xc2..=0xf4 => ([0; 4], 0),
            b'\n' => (*b"\\n  ", 2),
            b'\r' => (*b"\\r  ", 2),
            b'\t' => (*b"\\t  ", 2),
            0x1b => (*b"\\e  ", 2),
            b'"' => (*b"\\\"  ", 2),
            b'\\' => (*b"\\\\  ", 2),
            0x20..=0x7e => ([b as u8, 0, 0, 0], 1),
            _ => (byte_escape(b as u8), 4),
        };
        b += 1;
    }
    table
};

/// Sanitizes a name from outside (an interface name, a path) for a one-line message.
pub fn sanitize_str(s: &str) -> String {
    sanitize(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{is_invisible_format, sanitize, sanitize_within};
    use proptest::prelude::*;
    use std::fmt::Write;

    /// Appends `c`, escaped if it is not printable text: the rule [`sanitize`]'s table
    /// follows, written out a character at a time (and its tests' measure).
    pub(super) fn escape(c: char, out: &mut String) {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x1b' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || is_invisible_format(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }

    proptest! {
        /// Copying plain runs whole changes nothing: the same as escaping char by char.
        #[test]
        fn same_as_escaping_every_character(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut expected = String::new();
            for chunk in bytes.utf8_chunks() {
                chunk.valid().chars().for_each(|c| escape(c, &mut expected));
                chunk.invalid().iter().for_each(|b| expected.push_str(&format!("\\x{b:02x}")));
            }
            prop_assert_eq!(sanitize(&bytes), expected);
        }

        /// Text with characters of every width, controls and invisible marks among them.
        #[test]
        fn same_as_escaping_every_character_of_text(text in "(\\PC|\\p{Cc}|\\p{Cf}|[\\x00-\\x7f]){0,40}") {
            let mut expected = String::new();
            text.chars().for_each(|c| escape(c, &mut expected));
            prop_assert_eq!(sanitize(text.as_bytes()), expected);
        }
    }

    proptest! {
        /// A limited text is a prefix of the whole, within the limit, cut between escapes,
        /// and stands for as many bytes as sanitizing those alone gives.
        #[test]
        fn a_limited_text_is_the_start_of_the_whole(bytes in proptest::collection::vec(any::<u8>(), 0..64), limit in 0usize..80) {
            let whole = sanitize(&bytes);
            let (text, used) = sanitize_within(&bytes, limit);
            prop_assert!(text.len() <= limit);
            prop_assert!(whole.starts_with(&text));
            prop_assert_eq!(sanitize(&bytes[..used]), text);
            if used < bytes.len() {
                // The next piece would not have fitted.
                let next = sanitize_within(&bytes, limit + 10).0;
                prop_assert!(next.len() > limit || next.len() == whole.len());
            }
        }
    }

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        let hostile = b"hi\x1b[2J\x1b]0;owned\x07\r\x08\x7f";
        let clean = sanitize(hostile);
        assert_eq!(clean, "hi\\e[2J\\e]0;owned\\x07\\r\\x08\\x7f");
        assert!(!clean.chars().any(|c| c.is_control()));
    }

    #[test]
    fn bidi_overrides_and_invalid_utf8_are_shown_escaped() {
        assert_eq!(sanitize("a\u{202E}b".as_bytes()), "a\\u{202e}b");
        assert_eq!(sanitize(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(sanitize("你好\n".as_bytes()), "你好\\n");
        assert_eq!(sanitize("\u{85}".as_bytes()), "\\u{0085}");
    }
}
