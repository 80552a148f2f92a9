//! Frames decoded on the reading thread, passed in batches to the tracking thread.
//!
//! libpcap and the record parser reuse their buffers, so what the tracker needs of a
//! frame is copied into the batch: the decoded numbers, and, for views that show
//! segments, the bytes a segment borrows (its TCP header and the payload it shows).
//! Decoding here, beside the reading, took a tenth of the instructions off the
//! tracking thread, the one that limits a replay.
//!
//! A frame's entry is small and plain: a segment's numbers without its socket
//! addresses' padding, an IPv6 pair or an error kept aside. Every entry is written by
//! one core and read by the other, so its size is what crosses between them: entries
//! of 152 bytes took nearly two and a half cache lines a frame, and each had to be
//! dropped one by one before the batch was reused.

use crate::decode::defrag::Reassembly;
use crate::decode::encap::Encap;
use crate::decode::{self, DecodeError, Decoded, Segment};
use crate::relay::Batch;
use crate::source::{Frame, FrameNumber, Timestamp};
use crate::track::flags::TcpFlags;
use crate::track::seq::SeqNum;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Frames per batch: enough that passing a batch costs nothing per frame.
const FRAMES: usize = 1024;
/// Bytes a new batch has room for: a header and a short payload a frame. A frame
/// brings at most a 60-byte TCP header and the payload preview (256), so a batch
/// grows to 320 KiB at most, and is reused after that.
const BYTES_AT_FIRST: usize = FRAMES * 128;

/// A segment's two addresses: IPv4 ones inline, any other pair (IPv6) by its place
/// in the batch's list (two IPv6 addresses would make every entry twice as big).
#[derive(Debug, Clone, Copy)]
enum Addresses {
    V4(Ipv4Addr, Ipv4Addr),
    Listed(u32),
}

/// A TCP segment's numbers. Its TCP header as kept (`header_kept` bytes), then the
/// payload it shows (`shown` bytes), follow the previous segment's in the batch's bytes.
#[derive(Debug, Clone, Copy)]
struct Numbers {
    addresses: Addresses,
    src_port: u16,
    dst_port: u16,
    seq: SeqNum,
    ack: SeqNum,
    payload_len: u32,
    window: u16,
    shown: u16,
    flags: TcpFlags,
    header_len: u8,
    header_kept: u8,
}

/// What a frame held.
#[derive(Debug, Clone, Copy)]
enum Content {
    /// It did not pass the capture filter.
    Filtered,
    Tcp(Numbers),
    NotTcp,
    Unsupported(Encap),
    /// The error's place in the batch's list.
    Undecodable(u32),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    ts: Timestamp,
    /// Bytes the capture kept of the frame.
    captured: u32,
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

/// Consecutive frames of one file, decoded, in file order.
#[derive(Debug, Default)]
pub struct DecodedBatch {
    /// The number of the first frame; the others follow it one by one, as a source
    /// numbers every record it reads.
    first: u64,
    entries: Vec<Entry>,
    bytes: Vec<u8>,
    addresses: Vec<(IpAddr, IpAddr)>,
    errors: Vec<DecodeError>,
}

impl DecodedBatch {
    /// Decodes `frame` (unless it fails the capture filter) and keeps what the
    /// tracker needs of it. `frame` must be the one after the last frame pushed; the
    /// fragments of IP datagrams are put together in `reassembly`, which lasts from
    /// batch to batch. Without `with_bytes`, a segment comes back without its header
    /// bytes and payload: the tracker reads them only for views that show segments.
    pub fn push(&mut self, frame: &Frame<'_>, passes: bool, with_bytes: bool, reassembly: &mut Reassembly) {
        if self.entries.is_empty() {
            self.first = frame.number.0;
        }
        debug_assert_eq!(frame.number.0, self.first + self.entries.len() as u64);
        let content = if !passes {
            Content::Filtered
        } else {
            match decode::decode(frame) {
                Ok(Decoded::Tcp(seg)) => Content::Tcp(self.keep(&seg, with_bytes)),
                Ok(Decoded::NotTcp) => Content::NotTcp,
                Ok(Decoded::Fragment(fragment)) => match reassembly.offer(&fragment, frame.ts) {
                    Some(datagram) => match datagram.segment() {
                        Some(seg) => Content::Tcp(self.keep(&seg, with_bytes)),
                        None => Content::NotTcp,
                    },
                    None => Content::NotTcp,
                },
                Ok(Decoded::Unsupported(kind)) => Content::Unsupported(kind),
                Err(e) => {
                    self.errors.push(e);
                    Content::Undecodable(self.errors.len() as u32 - 1)
                }
            }
        };
        // Frames are at most libpcap's largest snap length (256 KiB) long.
        let captured = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
        self.entries.push(Entry { ts: frame.ts, captured, content });
    }

    /// Keeps `seg`'s numbers, and its bytes in `bytes` if `with_bytes`.
    // Inlined, like `decode`: the segment's fields go straight from the headers into
    // the entry (13 instructions a frame fewer on the reading thread).
    #[inline(always)]
    fn keep(&mut self, seg: &Segment, with_bytes: bool) -> Numbers {
        let addresses = match (seg.src.ip(), seg.dst.ip()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Addresses::V4(src, dst),
            pair => {
                self.addresses.push(pair);
                Addresses::Listed(self.addresses.len() as u32 - 1)
            }
        };
        let (header_kept, shown) = if with_bytes {
            self.bytes.extend_from_slice(seg.header);
            self.bytes.extend_from_slice(seg.payload);
            // At most a TCP header's 60 bytes, and the payload preview (256).
            (seg.header.len() as u8, seg.payload.len() as u16)
        } else {
            (0, 0)
        };
        Numbers {
            addresses,
            src_port: seg.src.port(),
            dst_port: seg.dst.port(),
            seq: seg.seq,
            ack: seg.ack,
            payload_len: seg.payload_len,
            window: seg.window,
            shown,
            flags: seg.flags,
            header_len: seg.header_len,
            header_kept,
        }
    }

    /// The frames, in the order they were pushed.
    pub fn frames(&self) -> impl Iterator<Item = DecodedFrame<'_>> {
        let mut at = 0;
        self.entries.iter().zip(self.first..).map(move |(e, number)| {
            let decoded = match e.content {
                Content::Filtered => None,
                Content::Tcp(n) => {
                    let payload_at = at + usize::from(n.header_kept);
                    let end = payload_at + usize::from(n.shown);
                    let (header, payload) = (&self.bytes[at..payload_at], &self.bytes[payload_at..end]);
                    at = end;
                    let (src, dst) = match n.addresses {
                        Addresses::V4(src, dst) => (IpAddr::V4(src), IpAddr::V4(dst)),
                        Addresses::Listed(i) => self.addresses[i as usize],
                    };
                    Some(Ok(Decoded::Tcp(Segment {
                        src: SocketAddr::new(src, n.src_port),
                        dst: SocketAddr::new(dst, n.dst_port),
                        seq: n.seq,
                        ack: n.ack,
                        flags: n.flags,
                        window: n.window,
                        header_len: n.header_len,
                        payload_len: n.payload_len,
                        header,
                        payload,
                    })))
                }
                Content::NotTcp => Some(Ok(Decoded::NotTcp)),
                Content::Unsupported(kind) => Some(Ok(Decoded::Unsupported(kind))),
                Content::Undecodable(i) => Some(Err(&self.errors[i as usize])),
            };
            DecodedFrame { number: FrameNumber(number), ts: e.ts, captured: e.captured as usize, decoded }
        })
    }
}

impl Batch for DecodedBatch {
    fn empty() -> Self {
        DecodedBatch {
            bytes: Vec::with_capacity(BYTES_AT_FIRST),
            entries: Vec::with_capacity(FRAMES),
            ..Default::default()
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes.clear();
        self.addresses.clear();
        self.errors.clear();
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

    #[test]
    fn an_entry_fits_in_a_cache_line() {
        assert!(std::mem::size_of::<Entry>() <= 64, "{}", std::mem::size_of::<Entry>());
    }

    proptest! {
        /// A batch hands back, frame after frame, exactly what decoding each frame on
        /// its own gives: the same segments (options and shown payload included), the
        /// same frames that are not TCP and the same errors; a frame that failed the
        /// filter comes back as such. Without bytes, segments come back the same
        /// but for their options and payload, which are empty.
        #[test]
        fn a_batch_gives_back_what_decoding_gives(
            with_bytes in any::<bool>(),
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
                // A fresh reassembly each frame: a lone fragment holds no segment.
                batch.push(&frame(i), *passes, with_bytes, &mut Reassembly::default());
            }
            let back: Vec<_> = batch.frames().collect();
            prop_assert_eq!(back.len(), frames.len());
            for (i, got) in back.into_iter().enumerate() {
                let (.., passes) = frames[i];
                let original = frame(i);
                prop_assert_eq!((got.number, got.ts, got.captured), (original.number, original.ts, datas[i].len()));
                let expected = decode::decode(&original).map(|decoded| match decoded {
                    Decoded::Tcp(seg) if !with_bytes => Decoded::Tcp(Segment { header: &[], payload: &[], ..seg }),
                    Decoded::Fragment(_) => Decoded::NotTcp,
                    other => other,
                });
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
