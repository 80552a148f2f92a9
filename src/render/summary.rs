//! The closing lines: one block per connection, then what the capture held.

use super::{CaptureStats, TextStyle};
use crate::i18n::Msg;
use crate::track::ConnSummary;
use colored::Colorize;
use std::io::{self, Write};

/// How many undecodable frames are listed one by one before the rest are counted.
const LISTED_UNDECODABLE: usize = 10;

pub fn write_summary(out: &mut impl Write, style: &TextStyle, s: &ConnSummary) -> io::Result<()> {
    let say = |m: &Msg<'_>| style.lang.text(m);
    let header = say(&Msg::ConnHeader {
        conn: s.conn.0,
        client: s.client,
        server: s.server,
        guessed: s.client_guessed,
    });
    writeln!(out, "{}", header.bold())?;
    let lines = [
        say(&Msg::SummarySpan {
            first_frame: s.first_frame.0,
            last_frame: s.last_frame.0,
            secs: s.last_ts - s.first_ts,
        }),
        say(&Msg::SummaryOpened { by: s.opened_by, rtt_ms: s.handshake_rtt_ms }),
        say(&Msg::SummaryClosed { by: s.reset_by.or(s.closed_by), reset: s.reset_by.is_some() }),
        say(&Msg::SummaryTraffic {
            segments_c2s: s.segments_c2s,
            bytes_c2s: s.bytes_c2s,
            segments_s2c: s.segments_s2c,
            bytes_s2c: s.bytes_s2c,
        }),
        say(&Msg::SummaryFinal { client: s.client_final, server: s.server_final }),
    ];
    for line in lines {
        writeln!(out, "  {line}")?;
    }
    if let Some((side, until)) = s.time_wait_until {
        writeln!(out, "  {}", say(&Msg::SummaryTimeWait { side, until, rule: style.time_wait }).magenta())?;
    }
    writeln!(out, "  {}", say(&Msg::SummaryZeek { conn_state: s.conn_state, history: &s.history }).dimmed())
}

pub fn write_stats(
    out: &mut impl Write,
    style: &TextStyle,
    name: &str,
    stats: &CaptureStats,
) -> io::Result<()> {
    let say = |m: &Msg<'_>| style.lang.text(m);
    writeln!(
        out,
        "\n{}",
        say(&Msg::CaptureStats {
            frames: stats.frames,
            segments: stats.segments,
            other: stats.other,
            filtered: stats.filtered,
            evicted: stats.evicted_half_open,
            undecodable: stats.undecodable_total,
            connections: stats.connections,
        })
    )?;
    for (frame, reason) in stats.undecodable.iter().take(LISTED_UNDECODABLE) {
        writeln!(out, "  {}", say(&Msg::Undecodable { frame: *frame, reason }).yellow())?;
    }
    if stats.undecodable_total > LISTED_UNDECODABLE as u64 {
        let count = stats.undecodable_total - LISTED_UNDECODABLE as u64;
        writeln!(out, "  {}", say(&Msg::MoreUndecodable { count }).yellow())?;
    }
    // A cut-short capture is reported by the caller on stderr, where it is seen
    // even when stdout goes to a file or a pipe.
    let _ = name;
    Ok(())
}
