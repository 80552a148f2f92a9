//! The web page's two feeds: the JSON lines of `docs/json.md` (the same contract as
//! `--format jsonl`, written by [`JsonLines`]) go to the live server's hub
//! ([`PageFeed`], `--serve`) or into one self-contained HTML file ([`HtmlFile`],
//! `--html`). Neither decides anything the JSON does not say.

use super::jsonl::JsonLines;
use super::{CaptureStats, Renderer, TextStyle};
use crate::serve::process::Sink;
use crate::serve::{Page, assets, dict};
use crate::track::Event;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Publishes each complete line to the page server as soon as it is written.
struct Publisher {
    sink: Arc<Mutex<Sink>>,
    partial: Vec<u8>,
}

impl Write for Publisher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
            sink.publish(String::from_utf8_lossy(&line[..end]).as_ref());
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `--serve`: every event to the page server, as it happens.
pub struct PageFeed {
    lines: JsonLines<Publisher>,
}

impl PageFeed {
    pub fn new(page: &Page) -> PageFeed {
        PageFeed {
            lines: JsonLines::new(Publisher { sink: page.sink.clone(), partial: Vec::new() }).with_header(),
        }
    }
}

impl Renderer for PageFeed {
    fn begin(&mut self, name: &str) -> io::Result<()> {
        self.lines.begin(name)
    }
    fn event(&mut self, event: &Event) -> io::Result<()> {
        self.lines.event(event)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.lines.flush()
    }
    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        self.lines.end(name, stats)
    }
}

/// Connections an `--html` file holds, per input: a lesson's capture has a few, and the
/// page draws one at a time. Past this the file would stop being a page one opens (the
/// bench's 110,000 connections made 741 MiB); the page says how many it left out.
pub const HTML_CONNECTIONS: usize = 1_000;

/// `--html FILE`: the page and the events of the first [`HTML_CONNECTIONS`] connections
/// of each input in one file, written when an input ends (again after each file of
/// several, so the last one holds them all).
pub struct HtmlFile {
    path: PathBuf,
    style: TextStyle,
    lines: JsonLines<Vec<u8>>,
    /// The connections of the current input whose events the file holds.
    kept: rustc_hash::FxHashSet<u32>,
}

impl HtmlFile {
    pub fn new(path: PathBuf, style: TextStyle) -> HtmlFile {
        HtmlFile { path, style, lines: JsonLines::new(Vec::new()).with_header(), kept: Default::default() }
    }
}

impl Renderer for HtmlFile {
    fn begin(&mut self, name: &str) -> io::Result<()> {
        self.kept.clear();
        self.lines.begin(name)
    }
    fn event(&mut self, event: &Event) -> io::Result<()> {
        let conn = match event {
            Event::Segment(ev) => Some(ev.conn),
            Event::Transition(t) => Some(t.conn),
            Event::Connection(c) => Some(c.conn),
            Event::Kernel(k) => Some(k.conn),
            Event::KernelState(k) => k.conn,
        };
        // A connection is kept from its first event on, while there is room: the
        // kernel's connect comes before the connection's first segment.
        if let (Event::Segment(_) | Event::KernelState(_), Some(conn)) = (event, conn)
            && self.kept.len() < HTML_CONNECTIONS
        {
            self.kept.insert(conn.0);
        }
        match conn {
            Some(conn) if !self.kept.contains(&conn.0) => Ok(()),
            _ => self.lines.event(event),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        self.lines.end(name, stats)?;
        let events = String::from_utf8_lossy(self.lines.get_ref());
        std::fs::write(&self.path, assets::html_file(&events, &dict::dictionary(self.style.time_wait)))
    }
}
