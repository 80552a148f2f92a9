//! Fitting the text views to the terminal: its width, and a writer that wraps at
//! spaces any line still too long for it (connection headers, summaries). Output
//! that is not a terminal keeps [`PIPE_WIDTH`] and passes through untouched.

use std::io::{self, Write};

/// The width of output that is not a terminal (a pipe, a file): the layout the golden
/// tests and the docs show.
pub const PIPE_WIDTH: usize = 80;
/// The narrowest layout: a terminal narrower than this wraps lines itself.
pub const NARROWEST: usize = 60;
/// The widest layout: beyond it, longer lines read worse, not better.
pub const WIDEST: usize = 120;

/// The columns the text views fit in: `COLUMNS` when set, else the terminal's own
/// width, when stdout is a terminal; [`PIPE_WIDTH`] otherwise. Always within
/// [`NARROWEST`]..=[`WIDEST`].
pub fn terminal_width() -> usize {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() {
        return PIPE_WIDTH;
    }
    let from_env =
        std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c > 0);
    let columns = from_env.or_else(|| crossterm::terminal::size().ok().map(|(c, _)| usize::from(c)));
    columns.unwrap_or(PIPE_WIDTH).clamp(NARROWEST, WIDEST)
}

/// Whether `line` is wider than `width` columns.
pub(super) fn too_wide(line: &str, width: usize) -> bool {
    // Display width never exceeds the byte length (ASCII is one byte a column; a wide
    // character takes three or four bytes), nor `widest_columns`: most lines need no
    // measuring, even those with an arrow or a box-drawing character.
    line.len() > width
        && widest_columns(line) > width
        && textwrap::core::display_width(line.trim_end_matches('\n')) > width
}

/// At least the display width of `line`, counted byte by byte (a loop the compiler
/// makes wide): a character takes at most two columns, and only from U+1100 on, where
/// the wide scripts start, can it take two. A character from U+1000 on starts with a
/// byte of 0xE1 or more, so each such byte counts two; any other character one, and a
/// continuation byte nothing.
fn widest_columns(line: &str) -> usize {
    line.bytes().map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xE1)).sum()
}

/// Appends `line` (without its newline) to `out` in lines of at most `width` columns,
/// wrapped at spaces, each continuation indented two more than the line.
/// A number stays on the line of the word it counts ("0 undecodable", "30024 bytes").
fn fit_line(out: &mut String, line: &str, width: usize) {
    let text = line.trim_start_matches(' ');
    let indent = &line[..line.len() - text.len()];
    let hanging = format!("{indent}  ");
    let mut joined = String::with_capacity(text.len());
    let mut after_digit = false;
    for c in text.chars() {
        joined.push(if c == ' ' && after_digit { NUMBER_JOINER } else { c });
        after_digit = c.is_ascii_digit();
    }
    for part in super::wrap_indented_after(&joined, width, indent, &hanging) {
        out.extend(part.chars().map(|c| if c == NUMBER_JOINER { ' ' } else { c }));
        out.push('\n');
    }
}

/// Holds a number to its word while a line is wrapped (wrapping breaks at ASCII
/// spaces only); a space again afterwards.
const NUMBER_JOINER: char = '\u{a0}';

/// Fits every line of `text` (lines ending in newlines) to `width` columns, in place.
pub fn fit_lines(text: &mut String, width: usize) {
    if !text.split_inclusive('\n').any(|l| too_wide(l, width)) {
        return;
    }
    let mut fitted = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        if too_wide(line, width) {
            fit_line(&mut fitted, line.trim_end_matches('\n'), width);
        } else {
            fitted.push_str(line);
        }
    }
    *text = fitted;
}

/// Passes text on, wrapping at spaces every line wider than `width` columns, its
/// continuation indented two more than the line; a single word wider than the line is
/// left whole. With no width it passes everything straight through.
pub struct FitWidth<W: Write> {
    out: W,
    width: Option<usize>,
    /// The start of a line not yet ended.
    partial: Vec<u8>,
}

impl<W: Write> FitWidth<W> {
    /// Fits `out` to `width` columns, or passes it through when that is the width of a
    /// pipe (the views are laid out for it already).
    pub fn new(out: W, width: usize) -> FitWidth<W> {
        FitWidth { out, width: (width != PIPE_WIDTH).then_some(width), partial: Vec::new() }
    }

    fn line(&mut self, line: &[u8], width: usize) -> io::Result<()> {
        match std::str::from_utf8(line) {
            Ok(text) if too_wide(text, width) => {
                let mut fitted = String::with_capacity(line.len() + 8);
                fit_line(&mut fitted, text.trim_end_matches('\n'), width);
                self.out.write_all(fitted.as_bytes())
            }
            _ => self.out.write_all(line),
        }
    }
}

impl<W: Write> Write for FitWidth<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(width) = self.width else { return self.out.write(buf) };
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(end + 1);
            if self.partial.is_empty() {
                self.line(line, width)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.line(&whole, width)?;
            }
            rest = after;
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A line not yet ended (a prompt's) goes out as it is.
        if !self.partial.is_empty() {
            let partial = std::mem::take(&mut self.partial);
            self.out.write_all(&partial)?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted(text: &str, width: usize) -> String {
        let mut out = FitWidth::new(Vec::new(), width);
        out.write_all(text.as_bytes()).unwrap();
        out.flush().unwrap();
        String::from_utf8(out.out).unwrap()
    }

    #[test]
    fn long_lines_wrap_at_spaces_with_a_hanging_indent() {
        let line = "  client → server 7 segments, 25 bytes; server → client 6 segments, 25 bytes\n";
        let out = fitted(line, 60);
        assert!(out.lines().all(|l| textwrap::core::display_width(l) <= 60), "{out}");
        assert_eq!(out.lines().nth(1).map(|l| l.starts_with("    ")), Some(true), "{out}");
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(words(&out), words(line));
    }

    #[test]
    fn a_pipe_s_width_passes_everything_through() {
        let long = "x ".repeat(100) + "\n";
        assert_eq!(fitted(&long, PIPE_WIDTH), long);
    }

    #[test]
    fn the_quick_bound_is_never_below_the_display_width() {
        let lines = [
            "client → server 5 segments, 40 bytes; server → client 5 segments, 300 bytes",
            "连接 3：客户端 127.0.0.1:40000 ⇄ 服务器 127.0.0.1:8080",
            "ᄀᄀᄀ wide Hangul jamo, ＡＢＣ full-width letters, 🦀 emoji, é, ─▶",
            "\u{1b}[32mESTABLISHED\u{1b}[0m",
        ];
        for line in lines {
            assert!(widest_columns(line) >= textwrap::core::display_width(line), "{line}");
        }
        // The bound is exact for ASCII and for the arrows of the summaries: they are
        // not measured again.
        assert_eq!(widest_columns(lines[0]), lines[0].chars().count() + 2);
        assert!(!too_wide(lines[0], 80));
    }

    #[test]
    fn colour_codes_take_no_columns() {
        let line = format!("{}\n", "\u{1b}[1mword\u{1b}[0m ".repeat(11));
        assert_eq!(fitted(&line, 60), line, "55 columns of words fit in 60");
    }
}
