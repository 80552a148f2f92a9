//! Frames decoded on the reading thread, passed in batches to the tracking thread.
//!
//! libpcap and the record parser reuse their buffers, so what the tracker needs of a
//! frame is copied into the batch: the decoded numbers, and the bytes a segment
//! borrows (its options and the payload it shows). Decoding here, beside the reading,
//! takes a fifth of the work off the tracking thread, the one that limits a replay.

use crate::decode::{self, DecodeError, Decoded, Segment};
use crate::relay::Batch;
use crate::source::{Frame, FrameNumber, Timestamp};

/// Frames per batch: enough that passing a batch costs nothing per frame.
const FRAMES: usize = 1024;
/// Bytes per batch: a batch of segments with large payloads is passed before it grows.
const BYTES: usize = 1 << 20;

/// What a frame held.
#[derive(Debug)]
enum Content {
    /// It did not pass the capture filter.
    Filtered,
    /// A TCP segment whose options (`options` bytes), then shown payload, are the
    /// batch's bytes from the end of the previous segment's to `end`; its own slices
    /// are empty here.
    Tcp {
        seg: Segment<'static>,
        options: usize,
        end: usize,
    },
    NotTcp,
    Undecodable(DecodeError),
}

#[derive(Debug)]
struct Entry {
    number: FrameNumber,
    ts: Timestamp,
    /// Bytes the capture kept of the frame.
    captured: usize,
    content: Content,
}

/// One frame as the tracking thread gets it.
pub struct DecodedFrame<'a> {
    pub number: FrameNumber,
    pub ts: Timestamp,
    pub captured: usize,
    /// `None` when the frame did not pass the capture filter.
    pub decoded: Option<Result<Decoded<'a>, &'a DecodeError>>,
}

/// Decoded frames in file order.
#[derive(Debug, Default)]
pub struct DecodedBatch {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl DecodedBatch {
    /// Decodes `frame` (unless it fails the capture filter) and keeps what the
    /// tracker needs of it.
    pub fn push(&mut self, frame: &Frame<'_>, passes: bool) {
        let content = if !passes {
            Content::Filtered
        } else {
            match decode::decode(frame) {
                Ok(Decoded::Tcp(seg)) => {
                    self.bytes.extend_from_slice(seg.raw_options);
                    self.bytes.extend_from_slice(seg.payload);
                    let (options, end) = (seg.raw_options.len(), self.bytes.len());
                    Content::Tcp { seg: Segment { raw_options: &[], payload: &[], ..seg }, options, end }
                }
                Ok(Decoded::NotTcp) => Content::NotTcp,
                Err(e) => Content::Undecodable(e),
            }
        };
        self.entries.push(Entry { number: frame.number, ts: frame.ts, captured: frame.data.len(), content });
    }

    /// The frames, in the order they were pushed.
    pub fn frames(&self) -> impl Iterator<Item = DecodedFrame<'_>> {
        let mut start = 0;
        self.entries.iter().map(move |e| {
            let decoded = match &e.content {
                Content::Filtered => None,
                Content::Tcp { seg, options, end } => {
                    let (raw_options, payload) = self.bytes[start..*end].split_at(*options);
                    start = *end;
                    Some(Ok(Decoded::Tcp(Segment { raw_options, payload, ..seg.clone() })))
                }
                Content::NotTcp => Some(Ok(Decoded::NotTcp)),
                Content::Undecodable(e) => Some(Err(e)),
            };
            DecodedFrame { number: e.number, ts: e.ts, captured: e.captured, decoded }
        })
    }
}

impl Batch for DecodedBatch {
    fn empty() -> Self {
        DecodedBatch { bytes: Vec::with_capacity(BYTES + (64 << 10)), entries: Vec::with_capacity(FRAMES) }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    fn is_full(&self) -> bool {
        self.entries.len() >= FRAMES || self.bytes.len() >= BYTES
    }
}
