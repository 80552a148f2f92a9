//! The closing lines: one block per connection, then what the capture held.

use super::timeline::say_into;
use super::{CaptureStats, TextStyle};
use crate::i18n::Msg;
use crate::track::ConnSummary;
use colored::{ColoredString, Colorize};
use std::io::{self, Write};

/// How many undecodable frames are listed one by one before the rest are counted.
const LISTED_UNDECODABLE: usize = 10;

/// Writes connection summaries. A big capture has one per connection, so each block
/// is built in one reused buffer and written at once; the catalogue writes its lines
/// straight into that buffer (see [`Lang::write`](crate::i18n::Lang::write)).
pub struct SummaryWriter {
    block: String,
    /// Whether to colour: decided once, so that nothing is painted for a pipe.
    color: bool,
    /// A line of the block is wider than the text views' width: told as each line is
    /// written, so that a block that fits (nearly all) is not searched for lines again.
    too_wide: bool,
}

impl SummaryWriter {
    pub fn new(color: bool) -> SummaryWriter {
        SummaryWriter { block: String::with_capacity(1024), color, too_wide: false }
    }

    pub fn write(&mut self, out: &mut impl Write, style: &TextStyle, s: &ConnSummary) -> io::Result<()> {
        self.block.clear();
        self.too_wide = false;
        let header =
            Msg::ConnHeader { conn: s.conn.0, client: s.client, server: s.server, guessed: s.client_guessed };
        self.line(style, "", &header, Some(|t| t.bold()));
        let span = Msg::SummarySpan {
            first_frame: s.first_frame.0,
            last_frame: s.last_frame.0,
            secs: s.last_ts - s.first_ts,
        };
        self.line(style, "  ", &span, None);
        self.line(
            style,
            "  ",
            &Msg::SummaryOpened {
                by: s.opened_by,
                rtt_ms: s.handshake_rtt_ms,
                simultaneous: s.simultaneous_open,
            },
            None,
        );
        let closed = Msg::SummaryClosed { by: s.reset_by.or(s.closed_by), reset: s.reset_by.is_some() };
        self.line(style, "  ", &closed, None);
        let traffic = Msg::SummaryTraffic {
            segments_c2s: s.segments_c2s,
            bytes_c2s: s.bytes_c2s,
            segments_s2c: s.segments_s2c,
            bytes_s2c: s.bytes_s2c,
        };
        self.line(style, "  ", &traffic, None);
        self.line(style, "  ", &Msg::SummaryFinal { client: s.client_final, server: s.server_final }, None);
        if let Some((side, until)) = s.time_wait_until {
            let time_wait = Msg::SummaryTimeWait { side, until, rule: style.time_wait };
            self.line(style, "  ", &time_wait, Some(|t| t.magenta()));
        }
        if s.retired {
            self.line(style, "  ", &Msg::SummaryRetired, Some(|t| t.yellow()));
        }
        let zeek = Msg::SummaryZeek { conn_state: s.conn_state, history: s.history.letters() };
        self.line(style, "  ", &zeek, Some(|t| t.dimmed()));
        // Long addresses and big counts still fit the width (a pipe's 80 included).
        if self.too_wide {
            super::fit::fit_lines(&mut self.block, style.width);
        }
        out.write_all(self.block.as_bytes())
    }

    /// Appends one line, painted with `paint` when colour is on. Inlined into `write`,
    /// so that the indent is a constant, copied without a `memcpy` call (callgrind:
    /// about 400 instructions less a connection).
    #[inline]
    fn line(
        &mut self,
        style: &TextStyle,
        indent: &str,
        msg: &Msg<'_>,
        paint: Option<fn(&str) -> ColoredString>,
    ) {
        let start = self.block.len();
        self.block.push_str(indent);
        match paint {
            Some(paint) if self.color => say_into(&mut self.block, style.lang, true, msg, paint),
            // Without colour (a pipe), the catalogue writes the line in place.
            _ => style.lang.write(&mut self.block, msg),
        }
        self.too_wide |= super::fit::too_wide(&self.block[start..], style.width);
        self.block.push('\n');
    }
}

pub fn write_stats(
    out: &mut impl Write,
    style: &TextStyle,
    name: &str,
    stats: &CaptureStats,
) -> io::Result<()> {
    let say = |m: &Msg<'_>| style.lang.text(m);
    let counts = say(&Msg::CaptureStats {
        frames: stats.frames,
        segments: stats.segments,
        other: stats.other,
        filtered: stats.filtered,
        evicted: stats.evicted_half_open,
        retired: stats.retired,
        undecodable: stats.undecodable_total,
        connections: stats.connections,
    });
    // The closing count fits the width too (a pipe's 80 columns included).
    let mut counts = format!("\n{counts}\n");
    super::fit::fit_lines(&mut counts, style.width);
    out.write_all(counts.as_bytes())?;
    for (frame, reason) in stats.undecodable.iter().take(LISTED_UNDECODABLE) {
        writeln!(out, "  {}", say(&Msg::Undecodable { frame: *frame, reason }).yellow())?;
    }
    if stats.undecodable_total > LISTED_UNDECODABLE as u64 {
        let count = stats.undecodable_total - LISTED_UNDECODABLE as u64;
        writeln!(out, "  {}", say(&Msg::MoreUndecodable { count }).yellow())?;
    }
    for (kind, count) in &stats.not_decoded {
        let kind = kind.to_string();
        writeln!(out, "  {}", say(&Msg::NotDecoded { count: *count, kind: &kind }).yellow())?;
    }
    // A cut-short capture is reported by the caller on stderr, where it is seen
    // even when stdout goes to a file or a pipe.
    let _ = name;
    Ok(())
}
