//! Frames copied out of a source in batches, so that reading a file can run on a
//! thread of its own: libpcap and the record parser reuse their buffers, so the bytes
//! are copied once into the batch, which the next thread reads them from.

use super::{Frame, FrameNumber, LinkType, Timestamp};
use crate::relay::Batch;

/// Frames per batch: enough that passing a batch costs nothing per frame.
const FRAMES: usize = 1024;
/// Bytes per batch: a batch of large frames is passed before it grows big.
const BYTES: usize = 1 << 20;

/// One frame of a batch, its bytes ending at `end` in the batch's buffer.
#[derive(Debug, Clone, Copy)]
struct Entry {
    number: FrameNumber,
    ts: Timestamp,
    link: LinkType,
    wire_len: u32,
    end: usize,
    /// Whether it passes the capture filter.
    passes: bool,
}

/// Frames in file order, with whether each passes the capture filter.
#[derive(Debug, Default)]
pub struct FrameBatch {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl FrameBatch {
    /// Copies `frame` in.
    pub fn push(&mut self, frame: &Frame<'_>, passes: bool) {
        self.bytes.extend_from_slice(frame.data);
        self.entries.push(Entry {
            number: frame.number,
            ts: frame.ts,
            link: frame.link,
            wire_len: frame.wire_len,
            end: self.bytes.len(),
            passes,
        });
    }

    /// The frames, in the order they were pushed, with whether each passes the filter.
    pub fn frames(&self) -> impl Iterator<Item = (Frame<'_>, bool)> {
        let mut start = 0;
        self.entries.iter().map(move |e| {
            let data = &self.bytes[start..e.end];
            start = e.end;
            let frame = Frame { number: e.number, ts: e.ts, link: e.link, data, wire_len: e.wire_len };
            (frame, e.passes)
        })
    }
}

impl Batch for FrameBatch {
    fn empty() -> Self {
        FrameBatch { bytes: Vec::with_capacity(BYTES + (64 << 10)), entries: Vec::with_capacity(FRAMES) }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    fn is_full(&self) -> bool {
        self.entries.len() >= FRAMES || self.bytes.len() >= BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_as_they_went_in() {
        let datas: [&[u8]; 3] = [b"first", b"", b"third frame"];
        let mut batch = FrameBatch::empty();
        for (i, data) in datas.iter().enumerate() {
            let frame = Frame {
                number: FrameNumber(i as u64 + 1),
                ts: Timestamp(i as i64 * 1000),
                link: LinkType(1),
                data,
                wire_len: 60,
            };
            batch.push(&frame, i != 1);
        }
        let out: Vec<_> =
            batch.frames().map(|(f, passes)| (f.number.0, f.ts.0, f.data.to_vec(), passes)).collect();
        assert_eq!(
            out,
            vec![
                (1, 0, b"first".to_vec(), true),
                (2, 1000, vec![], false),
                (3, 2000, b"third frame".to_vec(), true)
            ]
        );
        batch.clear();
        assert_eq!(batch.frames().count(), 0);
    }
}
