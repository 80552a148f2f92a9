//! `tcplab inspect`: the header anatomy of one segment of a capture (Figure 1).

use crate::cli::InspectArgs;
use crate::decode::anatomy::Anatomy;
use crate::error::{Error, Result};
use crate::pipeline::{Pipeline, SegmentFilter};
use crate::render::inspect::{self, Inspection};
use crate::render::{CaptureStats, Renderer};
use crate::source::file::FileSource;
use crate::track::{Event, SegmentEvent, TrackConfig};
use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

/// Keeps the last segment event, so the command can look at it after each frame.
struct LastSegment(Rc<RefCell<Option<SegmentEvent>>>);

impl Renderer for LastSegment {
    fn begin(&mut self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn event(&mut self, event: &Event) -> io::Result<()> {
        if let Event::Segment(ev) = event {
            *self.0.borrow_mut() = Some(ev.clone());
        }
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn end(&mut self, _: &str, _: &CaptureStats) -> io::Result<()> {
        Ok(())
    }
}

pub fn run(args: &InspectArgs, mut out: impl Write, color: bool) -> Result<()> {
    let mut source = FileSource::open(&args.file, None)?;
    let last = Rc::new(RefCell::new(None));
    let mut catcher = LastSegment(Rc::clone(&last));
    // The tracker runs up to the frame, so that relative numbers and the window
    // scale are those of its connection.
    let mut pipeline = Pipeline::new(&mut catcher, TrackConfig::default(), SegmentFilter::default());
    let mut found = None;
    source.for_each(|frame, _| {
        if pipeline.on_frame(frame).is_err() {
            return false;
        }
        let Some(ev) = last.borrow_mut().take() else { return true };
        let wanted = match args.frame {
            Some(n) => ev.frame.0 == n,
            None => ev.flags.syn() && !ev.flags.ack(),
        };
        if wanted
            && ev.frame == frame.number
            && let Some(anatomy) = Anatomy::of(frame)
        {
            let shift = pipeline
                .tracker()
                .connection(ev.conn, (ev.src, ev.dst))
                .and_then(|c| c.window_shift(ev.dir.sender()));
            found = Some((ev, anatomy, frame.data.to_vec(), frame.wire_len, shift));
            return false;
        }
        args.frame.is_none_or(|n| frame.number.0 < n)
    });
    let Some((event, anatomy, bytes, wire_len, window_shift)) = found else {
        return Err(Error::NotFound(match args.frame {
            Some(n) => {
                format!(
                    "{}: frame {n} is not a TCP segment (or the file is shorter)",
                    crate::error::shown(&args.file)
                )
            }
            None => format!(
                "{}: no SYN in this capture; pick a segment with --frame N",
                crate::error::shown(&args.file)
            ),
        }));
    };
    let view = Inspection { event: &event, anatomy: &anatomy, bytes: &bytes, wire_len, window_shift };
    inspect::write(&mut out, args.lang.unwrap_or_else(crate::i18n::Lang::from_env), &view, color)?;
    Ok(())
}
