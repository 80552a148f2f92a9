//! The table of connections so far (`watch --summary-every`): one row per connection,
//! with its tag, client, both ends' states, bytes each way and Zeek's conn_state, so
//! that a class of thirty can be checked at a glance while the capture goes on.

use super::palette;
use crate::i18n::{Lang, Msg, TableColumn};
use crate::track::ConnSummary;
use colored::Colorize;
use std::io::{self, Write};

/// At most this many rows (the newest): a busy server's table stays one screen or so.
pub const MAX_ROWS: usize = 100;

/// Writes the table of `rows` (in connection order), `secs` into the capture.
pub fn write(
    out: &mut impl Write,
    lang: Lang,
    color: bool,
    rows: &[ConnSummary],
    secs: f64,
) -> io::Result<()> {
    let title = format!("── {} ──", lang.text(&Msg::TableTitle { count: rows.len(), secs }));
    writeln!(out, "\n{}", if color { title.bold() } else { title.normal() })?;
    let shown = &rows[rows.len().saturating_sub(MAX_ROWS)..];
    if shown.len() < rows.len() {
        writeln!(out, "{}", lang.text(&Msg::TableMore { count: rows.len() - shown.len() }))?;
    }
    let heads: Vec<String> = TableColumn::ALL.iter().map(|&c| lang.text(&Msg::TableColumn(c))).collect();
    let cells: Vec<[String; 7]> = shown
        .iter()
        .map(|s| {
            [
                palette::tag(s.conn),
                s.client.to_string(),
                s.client_final.name().to_string(),
                s.server_final.name().to_string(),
                s.bytes_c2s.to_string(),
                s.bytes_s2c.to_string(),
                s.conn_state.to_string(),
            ]
        })
        .collect();
    // Each column as wide as its widest cell or heading (a Chinese heading's
    // characters take two columns each).
    let width = |text: &str| textwrap::core::display_width(text);
    let mut widths = [0usize; 7];
    for (i, w) in widths.iter_mut().enumerate() {
        let head = if i == 0 { 0 } else { width(&heads[i - 1]) };
        *w = cells.iter().map(|row| width(&row[i])).max().unwrap_or(0).max(head);
    }
    // Numbers are right-aligned, words left-aligned.
    let right = |i: usize| i == 4 || i == 5;
    let mut line = String::new();
    let cell = |line: &mut String, i: usize, text: &str, painted: &str| {
        let pad = " ".repeat(widths[i] - width(text));
        if right(i) {
            line.push_str(&pad);
            line.push_str(painted);
        } else {
            line.push_str(painted);
            line.push_str(&pad);
        }
        line.push_str("  ");
    };
    cell(&mut line, 0, "", "");
    for (i, head) in heads.iter().enumerate() {
        cell(&mut line, i + 1, head, head);
    }
    writeln!(out, "{}", line.trim_end())?;
    for (summary, row) in shown.iter().zip(&cells) {
        line.clear();
        let tag = if color { palette::paint(summary.conn, &row[0]).to_string() } else { row[0].clone() };
        cell(&mut line, 0, &row[0], &tag);
        for (i, text) in row.iter().enumerate().skip(1) {
            cell(&mut line, i, text, text);
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
