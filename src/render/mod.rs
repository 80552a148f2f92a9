//! Renderers: each turns the tracker's events into one output format, written to any
//! `impl Write`. None of them decodes or tracks anything.

pub mod ascii;
pub mod fit;
pub mod glyphs;
pub mod inspect;
pub mod json_object;
pub mod jsonl;
pub mod ladder;
pub mod mermaid;
pub mod pace;
pub mod page;
pub mod palette;
pub mod part;
pub mod sanitize;
pub mod summary;
pub mod svg;
pub mod table;
pub mod timeline;

use crate::i18n::{Lang, TimeWaitRule};
use crate::track::Event;
use std::io;

/// How many undecodable frames are kept with their reason.
pub const KEPT_UNDECODABLE: usize = 1000;

/// What reading one capture amounted to, for its closing lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureStats {
    pub frames: u64,
    pub segments: u64,
    pub other: u64,
    /// Frames the `-f` filter left out.
    pub filtered: u64,
    /// Unanswered SYNs forgotten because the connection table was full.
    pub evicted_half_open: u64,
    /// Other connections summarised while still open because the table was full.
    pub retired: u64,
    pub connections: u64,
    /// Frame number and reason of the first [`KEPT_UNDECODABLE`] frames that could not
    /// be decoded; the rest are only counted, so a hostile file cannot grow memory.
    pub undecodable: Vec<(u64, String)>,
    /// How many frames could not be decoded in all.
    pub undecodable_total: u64,
    /// Frames in an encapsulation tcplab does not look into, by kind, in the order
    /// first seen (counted in `other` too).
    pub not_decoded: Vec<(crate::decode::encap::Encap, u64)>,
    /// libpcap's words when the input ended early.
    pub truncated: Option<String>,
}

/// One output format.
pub trait Renderer {
    /// A capture (a file, or a live interface) begins.
    fn begin(&mut self, name: &str) -> io::Result<()>;
    fn event(&mut self, event: &Event) -> io::Result<()>;
    /// Everything so far should reach the reader now (live capture).
    fn flush(&mut self) -> io::Result<()>;
    /// Whether this renderer shows segments and transitions, or only summaries.
    fn wants_segments(&self) -> bool {
        true
    }
    /// The capture ended; `stats` says what it held.
    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()>;
    /// The table of the connections so far (`watch --summary-every`), `secs` into the
    /// capture; views that are no text for people leave it out.
    fn table(&mut self, _rows: &[crate::track::ConnSummary], _secs: f64) -> io::Result<()> {
        Ok(())
    }
}

/// A tracker label as Figure 2 writes it on its arrows: `SYN,ACK seq=y ack=x+1`
/// becomes `SYN=1 ACK=1 seq=y ack=x+1`.
pub fn textbook(label: &str) -> String {
    let (flags, rest) = label.split_once(' ').unwrap_or((label, ""));
    let bits: Vec<String> = flags.split(',').map(|f| format!("{f}=1")).collect();
    format!("{} {rest}", bits.join(" ")).trim_end().to_string()
}

/// Wraps `text` at `width` columns without ever splitting a word at its hyphens:
/// state names such as CLOSE-WAIT stay whole.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    wrap_indented(text, width, "")
}

/// [`wrap`] with every line indented by `indent`.
pub fn wrap_indented(text: &str, width: usize, indent: &str) -> Vec<String> {
    wrap_indented_after(text, width, indent, indent)
}

/// [`wrap`] with the first line indented by `first` and the others by `rest`.
pub fn wrap_indented_after(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    if let Some(line) = one_line(text, width, first) {
        return vec![line.to_owned()];
    }
    // First-fit wrapping and, without Chinese, splitting at spaces only: much cheaper
    // than the defaults, and a timeline may wrap a great many notes.
    let cjk = |c: char| ('\u{2e80}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c);
    let separator = if !text.chars().any(cjk) {
        textwrap::WordSeparator::AsciiSpace
    } else {
        textwrap::WordSeparator::UnicodeBreakProperties
    };
    let options = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_separator(separator)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    textwrap::wrap(text, options).into_iter().map(|line| line.into_owned()).collect()
}

/// `text` as [`wrap`] gives it when it is one short line: textwrap's own shortcut (no
/// line end, fewer bytes than columns, no indent: then the line only loses its
/// trailing spaces), taken before textwrap's options, its scan for Chinese and its
/// list of lines are made. Most notes under a timeline's segments are such lines.
pub fn one_line<'a>(text: &'a str, width: usize, indent: &str) -> Option<&'a str> {
    (indent.is_empty() && text.len() < width && !text.as_bytes().contains(&b'\n'))
        .then(|| text.trim_end_matches(' '))
}

/// Wraps bytes from the wire (a payload) at `width` columns: at spaces where it can,
/// and inside a run without spaces where it must, since data has no words to keep.
pub fn wrap_data(text: &str, width: usize) -> Vec<String> {
    let options = textwrap::Options::new(width)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(true);
    textwrap::wrap(text, options).into_iter().map(|line| line.into_owned()).collect()
}

/// When a TIME-WAIT entered at capture time `entered` ends: the entry time is rounded
/// to the microsecond the timeline prints, so that both numbers agree on screen.
pub fn time_wait_end(entered: f64, secs: f64) -> f64 {
    (entered * 1e6).round() / 1e6 + secs
}

/// Settings shared by the text views.
#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    pub lang: Lang,
    pub time_wait: TimeWaitRule,
    /// Print the per-segment timeline (false for `--summary`).
    pub timeline: bool,
    /// The columns the text views fit in: the terminal's (see [`fit::terminal_width`]),
    /// or [`fit::PIPE_WIDTH`].
    pub width: usize,
    /// The text goes to a terminal: payloads are wrapped to its width. In a pipe or a
    /// file each payload stays on one line, for `grep` and `sed`.
    pub terminal: bool,
    /// Which connections the long explanations are told for (`--explain`).
    pub explain: Explain,
    /// Tag every connection's lines with `[n]` from the first connection on (a live
    /// capture, where more may come at any moment), not only once a second one
    /// appears (a file or a lab scenario, whose single connection stays uncluttered).
    pub tag_from_start: bool,
}

/// How often the timeline tells the long explanation of a step or a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Explain {
    /// The first time each step (and note) appears in a capture
    #[default]
    First,
    /// For every connection: a class where students join late
    All,
    /// Never: the segment lines and their step names only
    None,
}

impl<R: Renderer + ?Sized> Renderer for Box<R> {
    fn begin(&mut self, name: &str) -> io::Result<()> {
        (**self).begin(name)
    }
    fn event(&mut self, event: &Event) -> io::Result<()> {
        (**self).event(event)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        (**self).end(name, stats)
    }
    fn wants_segments(&self) -> bool {
        (**self).wants_segments()
    }
    fn table(&mut self, rows: &[crate::track::ConnSummary], secs: f64) -> io::Result<()> {
        (**self).table(rows, secs)
    }
}

/// Sends every event to two renderers (the ladder, then the summary after it).
pub struct Both<A: Renderer, B: Renderer>(pub A, pub B);

impl<A: Renderer, B: Renderer> Renderer for Both<A, B> {
    fn begin(&mut self, name: &str) -> io::Result<()> {
        self.0.begin(name)?;
        self.1.begin(name)
    }
    fn event(&mut self, event: &Event) -> io::Result<()> {
        self.0.event(event)?;
        self.1.event(event)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        self.0.end(name, stats)?;
        self.1.end(name, stats)
    }
    fn wants_segments(&self) -> bool {
        self.0.wants_segments() || self.1.wants_segments()
    }
    fn table(&mut self, rows: &[crate::track::ConnSummary], secs: f64) -> io::Result<()> {
        self.0.table(rows, secs)?;
        self.1.table(rows, secs)
    }
}
