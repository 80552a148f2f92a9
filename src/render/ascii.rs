//! `--ascii`: every text view in plain 7-bit ASCII, for terminals, fonts and projectors
//! that show box drawing and arrows as boxes.
//!
//! The views draw with Unicode; this writer sits between them and the output and
//! spells each of their glyphs in ASCII of the same width where a column depends on it
//! (the lanes and arrows), so that the layout holds. Whatever else is not ASCII (a
//! payload's letters, Chinese text) becomes `?`: `--ascii` promises 7-bit output.

use std::io::{self, Write};

/// A writer that passes ASCII through and replaces everything else.
pub struct Ascii<W: Write> {
    out: W,
    /// The start of a UTF-8 sequence cut by the end of a write, kept for the next.
    partial: Vec<u8>,
}

impl<W: Write> Ascii<W> {
    pub fn new(out: W) -> Ascii<W> {
        Ascii { out, partial: Vec::new() }
    }
}

/// The ASCII that stands for `c`; one column for the glyphs that are drawn in columns.
fn spell(c: char) -> &'static str {
    match c {
        '─' | '━' | '–' | '—' | '·' => "-",
        '│' => "|",
        '┃' => "#",
        '┄' => ".",
        '▶' => ">",
        '◀' => "<",
        '→' => "->",
        '←' => "<-",
        '⇄' => "<->",
        '…' => "~",
        '⚑' => "!",
        '⚙' => "*",
        '×' => "x",
        '“' | '”' => "\"",
        '‘' | '’' => "'",
        _ => "?",
    }
}

impl<W: Write> Write for Ascii<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = std::mem::take(&mut self.partial);
        bytes.extend_from_slice(buf);
        let mut text = Vec::with_capacity(bytes.len());
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    push_spelled(&mut text, valid);
                    rest = &[];
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    push_spelled(&mut text, std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        // Cut at the end of this write: the next one completes it.
                        None => {
                            self.partial = after.to_vec();
                            rest = &[];
                        }
                        Some(bad) => {
                            text.push(b'?');
                            rest = &after[bad..];
                        }
                    }
                }
            }
        }
        self.out.write_all(&text)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn push_spelled(text: &mut Vec<u8>, valid: &str) {
    for c in valid.chars() {
        if c.is_ascii() {
            text.push(c as u8);
        } else {
            text.extend_from_slice(spell(c).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(parts: &[&[u8]]) -> String {
        let mut out = Ascii::new(Vec::new());
        for part in parts {
            out.write_all(part).unwrap();
        }
        String::from_utf8(out.out).unwrap()
    }

    #[test]
    fn glyphs_keep_their_columns_and_words_become_ascii() {
        assert_eq!(through(&["─ [SYN] ─▶ │┃ ⚑ 三次".as_bytes()]), "- [SYN] -> |# ! ??");
        assert_eq!(through(&["CLOSED → SYN-SENT".as_bytes()]), "CLOSED -> SYN-SENT");
    }

    #[test]
    fn a_character_cut_between_two_writes_is_spelled_once() {
        let arrow = "▶".as_bytes();
        assert_eq!(through(&[&arrow[..1], &arrow[1..]]), ">");
        assert_eq!(through(&[b"a\xffb"]), "a?b");
    }
}
