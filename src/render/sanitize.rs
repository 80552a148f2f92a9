//! Making bytes from the wire safe to print: nothing a packet carries may move the
//! cursor, change colours, rewrite the line or reorder text on the terminal.

use std::fmt::Write;

/// Characters that reorder or hide text (bidi controls, zero-width marks, BOM).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Escapes everything but printable text: `\n`, `\r`, `\t`, `\e`, `\xNN` for other
/// control and invalid bytes, `\u{…}` for bidi and zero-width characters, and `\"`, `\\`.
pub fn sanitize(bytes: &[u8]) -> String {
    let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
    // The common case, plain printable ASCII, needs no escaping at all.
    if bytes.iter().all(|&b| plain(b)) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        let mut text = chunk.valid();
        while !text.is_empty() {
            // Runs of plain ASCII (most of a text protocol between its line ends) are
            // copied whole; they end at a character boundary, being ASCII.
            let run = text.bytes().position(|b| !plain(b)).unwrap_or(text.len());
            out.push_str(&text[..run]);
            let mut rest = text[run..].chars();
            let Some(c) = rest.next() else { break };
            text = rest.as_str();
            escape(c, &mut out);
        }
        for &b in chunk.invalid() {
            push_byte_escape(b, &mut out);
        }
    }
    out
}

/// Appends `c`, escaped if it is not printable text.
fn escape(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x1b' => out.push_str("\\e"),
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if (c as u32) < 0x80 && c.is_control() => push_byte_escape(c as u8, out),
        c if c.is_control() || is_invisible_format(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Appends `\xNN`, the digits written straight into `out`: binary payloads are mostly
/// such escapes, and formatting each through `write!` was most of what a timeline of
/// them cost.
fn push_byte_escape(b: u8, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = [b'\\', b'x', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]];
    // Four ASCII bytes: always valid UTF-8.
    out.push_str(std::str::from_utf8(&digits).unwrap_or_default());
}

/// Sanitizes a name from outside (an interface name, a path) for a one-line message.
pub fn sanitize_str(s: &str) -> String {
    sanitize(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{escape, sanitize};
    use proptest::prelude::*;

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
