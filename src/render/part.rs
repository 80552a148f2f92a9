//! Part of a capture: `--frames A-B` and `--conn N` pass on only the events of those
//! frames or of that connection, to whichever views are drawn. The tracker still sees
//! every frame, so the states shown are those the whole capture leads to.

use super::{CaptureStats, Renderer};
use crate::cli::FrameRange;
use crate::track::Event;
use rustc_hash::FxHashSet;
use std::io;

/// Which part of the capture is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Part {
    pub frames: Option<FrameRange>,
    pub conn: Option<u32>,
}

impl Part {
    pub fn is_whole(&self) -> bool {
        self.frames.is_none() && self.conn.is_none()
    }

    fn shows(&self, conn: u32, frame: u64) -> bool {
        self.conn.is_none_or(|c| c == conn) && self.frames.is_none_or(|f| f.contains(frame))
    }
}

/// Passes on the events of one part of the capture: the segments and transitions of
/// the frames and connection asked for, and the summaries of the connections shown.
pub struct Only<R: Renderer> {
    inner: R,
    part: Part,
    /// Connections with a segment shown, whose summaries are shown too.
    shown: FxHashSet<u32>,
}

impl<R: Renderer> Only<R> {
    pub fn new(inner: R, part: Part) -> Only<R> {
        Only { inner, part, shown: FxHashSet::default() }
    }
}

impl<R: Renderer> Renderer for Only<R> {
    fn begin(&mut self, name: &str) -> io::Result<()> {
        self.shown.clear();
        self.inner.begin(name)
    }

    fn event(&mut self, event: &Event) -> io::Result<()> {
        let shown = match event {
            Event::Segment(ev) => {
                let shown = self.part.shows(ev.conn.0, ev.frame.0);
                if shown {
                    self.shown.insert(ev.conn.0);
                }
                shown
            }
            Event::Transition(t) => self.part.shows(t.conn.0, t.frame.0),
            Event::Connection(c) => self.shown.contains(&c.conn.0),
            // The kernel's words belong to a connection's segments when they name one.
            Event::KernelState(k) => k.conn.is_none_or(|c| self.shown.contains(&c.0)),
            Event::Kernel(_) => true,
        };
        if shown { self.inner.event(event) } else { Ok(()) }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn wants_segments(&self) -> bool {
        // The segments tell which connections are in the part, also when only their
        // summaries are shown (`--summary --conn 1`).
        true
    }

    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        self.inner.end(name, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_frames_and_a_connection_together() {
        let part = Part { frames: Some(FrameRange { first: 2, last: 4 }), conn: Some(1) };
        assert!(part.shows(1, 2) && part.shows(1, 4));
        assert!(!part.shows(1, 5) && !part.shows(0, 3));
        assert!(Part::default().shows(7, 1_000_000));
    }
}
