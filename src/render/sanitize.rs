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
    // The common case, plain printable ASCII, needs no escaping at all.
    if bytes.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
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
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Sanitizes a name from outside (an interface name, a path) for a one-line message.
pub fn sanitize_str(s: &str) -> String {
    sanitize(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::sanitize;

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
