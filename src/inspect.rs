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

/// Keeps the segment events as they come out, so the command can look at them after
/// each frame. (A segment's event can come out a few frames late: the tracker holds
/// it until its arrival is settled.)
struct Segments(Rc<RefCell<Vec<SegmentEvent>>>);

impl Renderer for Segments {
    fn begin(&mut self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn event(&mut self, event: &Event) -> io::Result<()> {
        if let Event::Segment(ev) = event {
            self.0.borrow_mut().push(ev.clone());
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

/// A frame kept until its segment event comes out.
struct Kept {
    number: u64,
    anatomy: Anatomy,
    bytes: Vec<u8>,
    wire_len: u32,
}

pub fn run(args: &InspectArgs, mut out: impl Write, color: bool) -> Result<()> {
    let mut source = FileSource::open(&args.file, None)?;
    let shown = Rc::new(RefCell::new(Vec::new()));
    let mut catcher = Segments(Rc::clone(&shown));
    // The tracker runs up to the frame, so that relative numbers and the window
    // scale are those of its connection.
    let mut pipeline = Pipeline::new(&mut catcher, TrackConfig::default(), SegmentFilter::default());
    let wanted = |ev: &SegmentEvent| match args.frame {
        Some(n) => ev.frame.0 == n,
        None => ev.flags.syn() && !ev.flags.ack(),
    };
    let mut kept: std::collections::VecDeque<Kept> = std::collections::VecDeque::new();
    let mut found = None;
    let mut any_segment = false;
    let mut take_found = |kept: &mut std::collections::VecDeque<Kept>, pipeline: &Pipeline<'_>| {
        for ev in shown.borrow_mut().drain(..) {
            any_segment = true;
            while kept.front().is_some_and(|k| k.number < ev.frame.0) {
                kept.pop_front();
            }
            if found.is_none() && wanted(&ev) && kept.front().is_some_and(|k| k.number == ev.frame.0) {
                let frame = kept.pop_front().expect("just looked at");
                let shift = pipeline
                    .tracker()
                    .connection(ev.conn, (ev.src, ev.dst))
                    .and_then(|c| c.window_shift(ev.dir.sender()));
                found = Some((ev, frame, shift));
            }
        }
        found.is_some()
    };
    source.for_each(|frame, _| {
        if let Some(anatomy) = Anatomy::of(frame) {
            let (bytes, wire_len) = (frame.data.to_vec(), frame.wire_len);
            kept.push_back(Kept { number: frame.number.0, anatomy, bytes, wire_len });
        }
        if pipeline.on_frame(frame).is_err() || take_found(&mut kept, &pipeline) {
            return false;
        }
        // Past the frame asked for, only its held event is still awaited.
        args.frame.is_none_or(|n| frame.number.0 < n || !kept.is_empty())
    });
    if !take_found(&mut kept, &pipeline) {
        // The end of the file settles what is still held.
        pipeline.settle_all()?;
        take_found(&mut kept, &pipeline);
    }
    let Some((event, frame, window_shift)) = found else {
        if !any_segment {
            return Err(Error::NoTcp { path: args.file.clone() });
        }
        return Err(match args.frame {
            Some(frame) => Error::NotASegment { path: args.file.clone(), frame },
            None => Error::NoSyn { path: args.file.clone() },
        });
    };
    let view = Inspection {
        event: &event,
        anatomy: &frame.anatomy,
        bytes: &frame.bytes,
        wire_len: frame.wire_len,
        window_shift,
    };
    inspect::write(&mut out, args.lang.unwrap_or_else(crate::i18n::Lang::from_env), &view, color)?;
    Ok(())
}
