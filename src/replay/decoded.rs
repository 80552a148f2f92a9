//! Frames decoded on the reading thread, passed in batches to the tracking thread.
//!
//! libpcap and the record parser reuse their buffers, so what the tracker needs of a
//! frame is copied into the batch: the decoded numbers, and the bytes a segment
//! borrows (its options and the payload it shows). Decoding here, beside the reading,
//! took a tenth of the instructions off the tracking thread, the one that limits a
//! replay.

use crate::decode::{self, DecodeError, Decoded, Segment};
use crate::relay::Batch;
use crate::source::{Frame, FrameNumber, Timestamp};

/// Frames per batch: enough that passing a batch costs nothing per frame.
const FRAMES: usize = 1024;
/// Bytes a new batch has room for: options and a short payload a frame. A frame
/// brings at most 40 bytes of options and the payload preview (256), so a batch
/// grows to 300 KiB at most, and is reused after that.
const BYTES_AT_FIRST: usize = FRAMES * 128;

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
        DecodedBatch { bytes: Vec::with_capacity(BYTES_AT_FIRST), entries: Vec::with_capacity(FRAMES) }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    fn is_full(&self) -> bool {
        self.entries.len() >= FRAMES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::link;
    use proptest::prelude::*;

    /// A TCP segment in an Ethernet frame, with options and a payload.
    fn tcp_frame(v6: bool, options: &[etherparse::TcpOptionElement], payload: &[u8]) -> Vec<u8> {
        let eth = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6]);
        let ip = if v6 { eth.ipv6([1; 16], [2; 16], 64) } else { eth.ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64) };
        let builder = ip.tcp(40000, 80, 7, 512).syn().options(options).unwrap();
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    proptest! {
        /// A batch hands back, frame after frame, exactly what decoding each frame on
        /// its own gives: the same segments (options and shown payload included), the
        /// same frames that are not TCP and the same errors; a frame that failed the
        /// filter comes back as such.
        #[test]
        fn a_batch_gives_back_what_decoding_gives(
            frames in proptest::collection::vec(
                (
                    any::<bool>(),
                    proptest::collection::vec(any::<u8>(), 0..300),
                    0u8..4,
                    proptest::collection::vec((0usize..90, any::<u8>()), 0..3),
                    0usize..100,
                    any::<bool>(),
                ),
                1..40,
            ),
        ) {
            let datas: Vec<Vec<u8>> = frames
                .iter()
                .map(|(v6, payload, mss_and_scale, edits, cut, _)| {
                    let mut options = Vec::new();
                    if mss_and_scale & 1 != 0 {
                        options.push(etherparse::TcpOptionElement::MaximumSegmentSize(1460));
                    }
                    if mss_and_scale & 2 != 0 {
                        options.push(etherparse::TcpOptionElement::WindowScale(7));
                    }
                    let mut data = tcp_frame(*v6, &options, payload);
                    for &(at, byte) in edits {
                        if let Some(b) = data.get_mut(at) {
                            *b = byte;
                        }
                    }
                    data.truncate(data.len().saturating_sub(*cut));
                    data
                })
                .collect();
            let frame = |i: usize| Frame {
                number: FrameNumber(i as u64 + 1),
                ts: Timestamp(i as i64 * 1_000),
                link: link::ETHERNET,
                data: &datas[i],
                wire_len: datas[i].len() as u32 + 4,
            };
            let mut batch = DecodedBatch::empty();
            for (i, (.., passes)) in frames.iter().enumerate() {
                batch.push(&frame(i), *passes);
            }
            let back: Vec<_> = batch.frames().collect();
            prop_assert_eq!(back.len(), frames.len());
            for (i, got) in back.into_iter().enumerate() {
                let (.., passes) = frames[i];
                let original = frame(i);
                prop_assert_eq!((got.number, got.ts, got.captured), (original.number, original.ts, datas[i].len()));
                let expected = decode::decode(&original);
                match (got.decoded, passes) {
                    (None, false) => {}
                    (Some(Ok(decoded)), true) => prop_assert_eq!(Ok(decoded), expected),
                    (Some(Err(e)), true) => prop_assert_eq!(Err(e.clone()), expected),
                    (other, passes) => prop_assert!(false, "frame {i}, passes {passes}: {:?}", other.map(|r| r.map(|_| ())),),
                }
            }
            batch.clear();
            prop_assert_eq!(batch.frames().count(), 0);
        }
    }
}
