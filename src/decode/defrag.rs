//! IPv4 reassembly of fragmented TCP segments, in a bounded buffer, as Wireshark
//! reassembles them: the segment is shown on the frame whose fragment completes the
//! datagram, with the whole length; the other fragments hold no segment.
//!
//! TCP normally avoids fragmentation (path MTU discovery, the DF bit), so fragmented
//! segments are rare, and a replay's ordinary frames never come here (the fast path
//! takes only whole packets). The buffer is bounded all the same, because a capture
//! can hold any number of fragments that never complete: at most [`MAX_DATAGRAMS`]
//! datagrams wait at once (the oldest is dropped for a new one), each for at most
//! [`WAIT_SECS`] of capture time (Linux's `ipfrag_time`), and a datagram can be no
//! longer than IPv4 allows nor come in more than [`MAX_PIECES`] fragments. A datagram that never completes is dropped: its first
//! fragment was counted as a frame without a segment.

use super::Segment;
use crate::source::Timestamp;
use std::net::{IpAddr, Ipv4Addr};

/// Incomplete datagrams kept at once.
pub const MAX_DATAGRAMS: usize = 64;
/// How long, in capture seconds, a datagram waits for its missing fragments.
pub const WAIT_SECS: f64 = 30.0;
/// The longest IPv4 payload: a total length of 65535 less the shortest header.
const MAX_PAYLOAD: usize = 65_535 - 20;
/// Fragments kept of one datagram: enough for the longest datagram in the smallest
/// fragments IPv4 allows on a 576-byte path, and a bound on one sent over and over.
const MAX_PIECES: usize = 256;

/// One fragment of an IPv4 datagram that carries TCP, as decoding found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// The IP identification that ties the fragments of one datagram together.
    pub id: u16,
    /// Where its bytes go in the datagram's payload.
    pub offset: usize,
    /// More fragments follow it (the MF flag).
    pub more: bool,
    /// The payload length its IP header claims.
    pub claimed: usize,
    /// The payload bytes the capture kept (at most `claimed`).
    pub kept: &'a [u8],
}

/// A datagram whose fragments are all in: the TCP segment it carries.
#[derive(Debug)]
pub struct Datagram {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    /// The payload from its start up to the first byte the capture did not keep.
    kept: Vec<u8>,
    /// The payload length the fragments' IP headers claim in all.
    claimed: usize,
}

impl Datagram {
    /// The TCP segment, decoded as a whole packet's would be; `None` when even the
    /// TCP header's fixed part was not kept.
    pub fn segment(&self) -> Option<Segment<'_>> {
        super::tcp_in(&self.kept, self.claimed, IpAddr::V4(self.src), IpAddr::V4(self.dst))
    }
}

/// A datagram still missing fragments.
#[derive(Debug)]
struct Waiting {
    key: (Ipv4Addr, Ipv4Addr, u16),
    /// When its first fragment came.
    since: Timestamp,
    /// The fragments seen: (offset, claimed length, kept length), in arrival order.
    pieces: Vec<(usize, usize, usize)>,
    /// The payload bytes kept, each at its offset (zeros where none were kept yet).
    bytes: Vec<u8>,
    /// The payload's length, once the last fragment (MF clear) has come.
    total: Option<usize>,
}

impl Waiting {
    /// Whether the pieces cover the payload from 0 to its end without a hole, and if
    /// so, how far from 0 the kept bytes run without one.
    fn complete(&self) -> Option<usize> {
        let total = self.total?;
        let mut pieces = self.pieces.clone();
        pieces.sort_unstable();
        let (mut covered, mut kept) = (0, 0);
        for &(offset, claimed, kept_len) in &pieces {
            if offset > covered {
                return None;
            }
            covered = covered.max(offset + claimed);
            // A piece the capture cut short leaves a hole in the bytes kept.
            if offset <= kept {
                kept = kept.max(offset + kept_len);
            }
        }
        (covered >= total).then_some(kept.min(total))
    }
}

/// The datagrams being put together.
#[derive(Debug, Default)]
pub struct Reassembly {
    /// Oldest first: the one to drop when full, and the first to time out.
    waiting: Vec<Waiting>,
}

impl Reassembly {
    /// Takes one fragment that arrived at `ts`; returns its datagram when this
    /// fragment completes it.
    pub fn offer(&mut self, fragment: &Fragment<'_>, ts: Timestamp) -> Option<Datagram> {
        self.waiting.retain(|w| ts.secs_since(w.since) <= WAIT_SECS);
        let end = fragment.offset.checked_add(fragment.claimed)?;
        if end > MAX_PAYLOAD {
            return None;
        }
        let key = (fragment.src, fragment.dst, fragment.id);
        let at = match self.waiting.iter().position(|w| w.key == key) {
            Some(at) => at,
            None => {
                if self.waiting.len() >= MAX_DATAGRAMS {
                    self.waiting.remove(0);
                }
                let new = Waiting { key, since: ts, pieces: Vec::new(), bytes: Vec::new(), total: None };
                self.waiting.push(new);
                self.waiting.len() - 1
            }
        };
        let waiting = &mut self.waiting[at];
        if waiting.pieces.len() >= MAX_PIECES {
            self.waiting.remove(at);
            return None;
        }
        let kept = &fragment.kept[..fragment.kept.len().min(fragment.claimed)];
        if waiting.bytes.len() < fragment.offset + kept.len() {
            waiting.bytes.resize(fragment.offset + kept.len(), 0);
        }
        waiting.bytes[fragment.offset..fragment.offset + kept.len()].copy_from_slice(kept);
        waiting.pieces.push((fragment.offset, fragment.claimed, kept.len()));
        if !fragment.more {
            waiting.total = Some(end);
        }
        let kept_to = waiting.complete()?;
        let mut done = self.waiting.remove(at);
        done.bytes.truncate(kept_to);
        Some(Datagram {
            src: fragment.src,
            dst: fragment.dst,
            kept: done.bytes,
            claimed: done.total.unwrap_or(end),
        })
    }

    /// How many datagrams wait for fragments.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(id: u16, offset: usize, more: bool, bytes: &[u8]) -> Fragment<'_> {
        Fragment {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            id,
            offset,
            more,
            claimed: bytes.len(),
            kept: bytes,
        }
    }

    #[test]
    fn fragments_in_any_order_make_one_datagram_on_the_last_to_come() {
        let mut r = Reassembly::default();
        let data: Vec<u8> = (0..48u8).collect();
        assert!(r.offer(&piece(7, 24, false, &data[24..]), Timestamp(0)).is_none());
        assert!(r.offer(&piece(7, 0, true, &data[..16]), Timestamp(1)).is_none());
        let done = r.offer(&piece(7, 16, true, &data[16..24]), Timestamp(2)).expect("complete");
        assert_eq!((done.kept.as_slice(), done.claimed), (data.as_slice(), 48));
        assert_eq!(r.waiting(), 0);
    }

    #[test]
    fn the_buffer_stays_bounded_and_old_datagrams_time_out() {
        let mut r = Reassembly::default();
        for id in 0..1000u16 {
            r.offer(&piece(id, 0, true, &[0; 8]), Timestamp(0));
        }
        assert_eq!(r.waiting(), MAX_DATAGRAMS);
        let later = Timestamp((WAIT_SECS as i64 + 1) * 1_000_000_000);
        r.offer(&piece(5000, 0, true, &[0; 8]), later);
        assert_eq!(r.waiting(), 1);
        // Past the largest datagram IPv4 can carry: not kept at all.
        assert!(r.offer(&piece(1, 65_528, false, &[0; 8]), later).is_none());
        assert_eq!(r.waiting(), 1);
    }

    #[test]
    fn bytes_the_capture_did_not_keep_end_the_payload_but_not_its_length() {
        let mut r = Reassembly::default();
        let mut first = piece(3, 0, true, &[1; 16]);
        first.claimed = 24;
        first.kept = &[1; 16];
        assert!(r.offer(&first, Timestamp(0)).is_none());
        let done = r.offer(&piece(3, 24, false, &[2; 8]), Timestamp(0)).expect("complete");
        assert_eq!((done.kept.len(), done.claimed), (16, 32));
    }
}
