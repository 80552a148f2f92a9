//! IPv4 and IPv6 reassembly of fragmented TCP segments, in one bounded buffer, as
//! Wireshark reassembles them: the segment is shown on the frame whose fragment
//! completes the datagram, with the whole length; the other fragments hold no segment.
//!
//! TCP normally avoids fragmentation (path MTU discovery, the DF bit), so fragmented
//! segments are rare, and a replay's ordinary frames never come here (the fast path
//! takes only whole packets). The buffer is bounded all the same, because a capture
//! can hold any number of fragments that never complete: at most [`MAX_DATAGRAMS`]
//! datagrams wait at once (the oldest is dropped for a new one), each for at most
//! [`WAIT_SECS_V4`] or [`WAIT_SECS_V6`] of capture time, and a datagram can be no
//! longer than its IP version allows nor come in more than [`MAX_PIECES`] fragments. A
//! datagram that never completes is dropped: its fragments were counted as frames
//! without a segment.

use super::Segment;
use crate::source::Timestamp;
use etherparse::{IpNumber, Ipv6ExtensionsSlice};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Incomplete datagrams kept at once, IPv4 and IPv6 together.
pub const MAX_DATAGRAMS: usize = 64;
/// How long, in capture seconds, an IPv4 datagram waits for its missing fragments:
/// Linux's `ipfrag_time`.
pub const WAIT_SECS_V4: f64 = 30.0;
/// How long, in capture seconds, an IPv6 datagram waits for its missing fragments:
/// Linux's `ip6frag_time`, the 60 s of RFC 8200 §4.5. tshark sets no limit at all
/// (it reassembles fragments an hour apart), so the receiver's limit is the one a
/// bounded buffer can follow: what Linux put together, tcplab puts together too.
pub const WAIT_SECS_V6: f64 = 60.0;
/// Fragments kept of one datagram: enough for the longest datagram in the smallest
/// fragments IPv4 allows on a 576-byte path, and a bound on one sent over and over.
const MAX_PIECES: usize = 256;

/// Which datagram a fragment belongs to: its addresses and the identification its
/// sender gave all of its fragments (16 bits in IPv4's header, 32 in IPv6's Fragment
/// header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramKey {
    V4 { src: Ipv4Addr, dst: Ipv4Addr, id: u16 },
    V6 { src: Ipv6Addr, dst: Ipv6Addr, id: u32 },
}

impl DatagramKey {
    /// Its source and destination.
    pub fn addresses(&self) -> (IpAddr, IpAddr) {
        match *self {
            DatagramKey::V4 { src, dst, .. } => (IpAddr::V4(src), IpAddr::V4(dst)),
            DatagramKey::V6 { src, dst, .. } => (IpAddr::V6(src), IpAddr::V6(dst)),
        }
    }

    /// The longest payload its fragments can make: for IPv4, a total length of 65535
    /// less the shortest header; for IPv6, the fragmentable part's end, which Linux
    /// bounds by the largest payload length (65535, `IPV6_MAXPLEN`).
    fn max_payload(&self) -> usize {
        match self {
            DatagramKey::V4 { .. } => 65_535 - 20,
            DatagramKey::V6 { .. } => 65_535,
        }
    }

    fn wait_secs(&self) -> f64 {
        match self {
            DatagramKey::V4 { .. } => WAIT_SECS_V4,
            DatagramKey::V6 { .. } => WAIT_SECS_V6,
        }
    }
}

/// One fragment of an IP datagram that may carry TCP, as decoding found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub key: DatagramKey,
    /// The first header of the datagram's payload as this fragment names it: IPv4's
    /// protocol, or the Next Header of IPv6's Fragment header. Only the first
    /// fragment's counts (RFC 8200 §4.5), the only one that holds that header.
    pub first_header: IpNumber,
    /// Where its bytes go in the datagram's payload.
    pub offset: usize,
    /// More fragments follow it (the MF flag, IPv6's M flag).
    pub more: bool,
    /// The payload length its IP header claims.
    pub claimed: usize,
    /// The payload bytes the capture kept (at most `claimed`).
    pub kept: &'a [u8],
}

/// Whether a datagram whose payload starts with `first` may carry TCP: TCP itself, or
/// one of the IPv6 extension headers that may stand between a Fragment header and the
/// upper layer (destination options, routing, authentication). Others (UDP, ICMPv6,
/// ESP…) never enter the buffer.
pub fn may_carry_tcp(first: IpNumber) -> bool {
    matches!(
        first,
        IpNumber::TCP
            | IpNumber::IPV6_DESTINATION_OPTIONS
            | IpNumber::IPV6_ROUTE_HEADER
            | IpNumber::AUTHENTICATION_HEADER
    )
}

/// Where TCP starts in `bytes`, the start of a datagram's payload whose first header is
/// `first`, and how much of the `claimed` payload length is left for it: past the
/// extension headers IPv6 may put first. `None` when the payload is not TCP, or the
/// headers before TCP were not all kept. (IPv4 fragments come here only when their
/// protocol is TCP.)
pub fn tcp_start(first: IpNumber, bytes: &[u8], claimed: usize) -> Option<(&[u8], usize)> {
    if first == IpNumber::TCP {
        return Some((bytes, claimed));
    }
    let (headers, last, rest) = Ipv6ExtensionsSlice::from_slice(first, bytes).ok()?;
    // A Fragment header inside the fragmentable part would start a datagram of its own.
    if last != IpNumber::TCP || headers.is_fragmenting_payload() {
        return None;
    }
    Some((rest, claimed.checked_sub(headers.slice().len())?))
}

/// A datagram whose fragments are all in: the TCP segment it carries.
#[derive(Debug)]
pub struct Datagram {
    key: DatagramKey,
    /// The first header of its payload, as its first fragment names it.
    first_header: IpNumber,
    /// The payload from its start up to the first byte the capture did not keep.
    kept: Vec<u8>,
    /// The payload length the fragments' IP headers claim in all.
    claimed: usize,
}

impl Datagram {
    /// The TCP segment, decoded as a whole packet's would be; `None` when the payload
    /// is not TCP, or even the TCP header's fixed part was not kept.
    pub fn segment(&self) -> Option<Segment<'_>> {
        let (src, dst) = self.key.addresses();
        let (tcp, claimed) = tcp_start(self.first_header, &self.kept, self.claimed)?;
        super::tcp_in(tcp, claimed, src, dst)
    }
}

/// A datagram still missing fragments.
#[derive(Debug)]
struct Waiting {
    key: DatagramKey,
    /// When its first fragment came.
    since: Timestamp,
    /// The fragments seen: (offset, claimed length, kept length), in arrival order.
    pieces: Vec<(usize, usize, usize)>,
    /// The payload bytes kept, each at its offset (zeros where none were kept yet).
    bytes: Vec<u8>,
    /// The payload's length, once the last fragment (MF clear) has come.
    total: Option<usize>,
    /// The first header of the payload, once the fragment at offset 0 has come.
    first_header: Option<IpNumber>,
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
        self.waiting.retain(|w| ts.secs_since(w.since) <= w.key.wait_secs());
        let key = fragment.key;
        let end = fragment.offset.checked_add(fragment.claimed)?;
        if end > key.max_payload() {
            return None;
        }
        let at = match self.waiting.iter().position(|w| w.key == key) {
            Some(at) => at,
            None => {
                if self.waiting.len() >= MAX_DATAGRAMS {
                    self.waiting.remove(0);
                }
                let new = Waiting {
                    key,
                    since: ts,
                    pieces: Vec::new(),
                    bytes: Vec::new(),
                    total: None,
                    first_header: None,
                };
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
        if fragment.offset == 0 {
            waiting.first_header = Some(fragment.first_header);
        }
        let kept_to = waiting.complete()?;
        let mut done = self.waiting.remove(at);
        done.bytes.truncate(kept_to);
        Some(Datagram {
            key,
            // A complete datagram has its fragment at offset 0.
            first_header: done.first_header.unwrap_or(fragment.first_header),
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
pub(super) mod tests {
    use super::*;

    fn piece(id: u16, offset: usize, more: bool, bytes: &[u8]) -> Fragment<'_> {
        Fragment {
            key: DatagramKey::V4 { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2), id },
            first_header: IpNumber::TCP,
            offset,
            more,
            claimed: bytes.len(),
            kept: bytes,
        }
    }

    fn piece6(id: u32, offset: usize, more: bool, bytes: &[u8]) -> Fragment<'_> {
        let (src, dst) = ("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap());
        Fragment {
            key: DatagramKey::V6 { src, dst, id },
            first_header: IpNumber::TCP,
            offset,
            more,
            claimed: bytes.len(),
            kept: bytes,
        }
    }

    fn secs(s: i64) -> Timestamp {
        Timestamp(s * 1_000_000_000)
    }

    /// A TCP header (seq 1000, no options) and `len` payload bytes; the fragment tests
    /// use it too.
    pub(in crate::decode) fn tcp_bytes(len: usize) -> Vec<u8> {
        let mut out = etherparse::TcpHeader::new(40000, 80, 1000, 512).to_bytes().to_vec();
        out.extend((0..len).map(|i| i as u8));
        out
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
    fn ipv6_fragments_in_any_order_make_one_datagram_on_the_last_to_come() {
        let mut r = Reassembly::default();
        let data: Vec<u8> = (0..48u8).collect();
        // Identifications that differ only in their upper 16 bits are different datagrams.
        assert!(r.offer(&piece6(0x0001_0007, 16, true, &data[16..32]), Timestamp(0)).is_none());
        assert!(r.offer(&piece6(0x0002_0007, 0, true, &[9; 16]), Timestamp(0)).is_none());
        assert!(r.offer(&piece6(0x0001_0007, 32, false, &data[32..]), Timestamp(1)).is_none());
        let done = r.offer(&piece6(0x0001_0007, 0, true, &data[..16]), Timestamp(2)).expect("complete");
        assert_eq!((done.kept.as_slice(), done.claimed), (data.as_slice(), 48));
        assert_eq!(r.waiting(), 1, "the other identification still waits");
    }

    #[test]
    fn the_same_identification_in_ipv4_and_ipv6_is_two_datagrams() {
        let mut r = Reassembly::default();
        assert!(r.offer(&piece(7, 0, true, &[1; 8]), Timestamp(0)).is_none());
        assert!(r.offer(&piece6(7, 8, false, &[2; 8]), Timestamp(0)).is_none());
        assert_eq!(r.waiting(), 2);
    }

    #[test]
    fn the_buffer_stays_bounded_and_old_datagrams_time_out() {
        let mut r = Reassembly::default();
        for id in 0..1000u16 {
            r.offer(&piece(id, 0, true, &[0; 8]), Timestamp(0));
        }
        assert_eq!(r.waiting(), MAX_DATAGRAMS);
        let later = secs(WAIT_SECS_V4 as i64 + 1);
        r.offer(&piece(5000, 0, true, &[0; 8]), later);
        assert_eq!(r.waiting(), 1);
        // Past the largest datagram IPv4 can carry: not kept at all.
        assert!(r.offer(&piece(1, 65_528, false, &[0; 8]), later).is_none());
        assert_eq!(r.waiting(), 1);
    }

    #[test]
    fn ipv4_and_ipv6_share_the_bound_and_each_waits_as_long_as_linux_does() {
        let mut r = Reassembly::default();
        for id in 0..1000u16 {
            r.offer(&piece(id, 0, true, &[0; 8]), Timestamp(0));
            r.offer(&piece6(u32::from(id) << 16, 0, true, &[0; 8]), Timestamp(0));
        }
        assert_eq!(r.waiting(), MAX_DATAGRAMS, "one buffer for both versions");
        // The oldest were dropped for the newest: the last IPv6 datagram is still there.
        let last_v6 = 999u32 << 16;
        assert!(r.offer(&piece6(last_v6, 8, false, &[0; 8]), Timestamp(0)).is_some());
        // Past IPv4's 30 s, within IPv6's 60 s: only IPv6 datagrams wait on.
        let mut r = Reassembly::default();
        r.offer(&piece(1, 0, true, &[0; 8]), Timestamp(0));
        r.offer(&piece6(1, 0, true, &[0; 8]), Timestamp(0));
        r.offer(&piece6(2, 0, true, &[0; 8]), secs(WAIT_SECS_V4 as i64 + 1));
        assert_eq!(r.waiting(), 2);
        assert!(r.offer(&piece6(1, 8, false, &[0; 8]), secs(WAIT_SECS_V6 as i64)).is_some());
        r.offer(&piece6(3, 0, true, &[0; 8]), secs(WAIT_SECS_V4 as i64 + WAIT_SECS_V6 as i64 + 2));
        assert_eq!(r.waiting(), 1, "datagram 2 timed out after its own 60 s");
    }

    #[test]
    fn an_ipv6_datagram_may_be_longer_than_an_ipv4_one_but_no_longer_than_65535() {
        let mut r = Reassembly::default();
        // Ends at 65535: the longest fragmentable part IPv6 allows, too long for IPv4.
        assert!(r.offer(&piece(1, 65_520, false, &[0; 15]), Timestamp(0)).is_none());
        assert_eq!(r.waiting(), 0);
        assert!(r.offer(&piece6(1, 65_520, false, &[0; 15]), Timestamp(0)).is_none());
        assert_eq!(r.waiting(), 1);
        assert!(r.offer(&piece6(2, 65_528, false, &[0; 8]), Timestamp(0)).is_none());
        assert_eq!(r.waiting(), 1, "ends at 65536: not kept at all");
    }

    #[test]
    fn a_datagram_sent_in_too_many_fragments_is_dropped() {
        for v6 in [false, true] {
            let mut r = Reassembly::default();
            let make =
                |offset| if v6 { piece6(9, offset, true, &[0; 8]) } else { piece(9, offset, true, &[0; 8]) };
            for i in 0..MAX_PIECES {
                assert!(r.offer(&make(i * 8), Timestamp(0)).is_none());
            }
            assert_eq!(r.waiting(), 1);
            assert!(r.offer(&make(MAX_PIECES * 8), Timestamp(0)).is_none());
            assert_eq!(r.waiting(), 0, "v6 {v6}");
        }
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

    #[test]
    fn the_first_fragment_names_the_payload_and_its_extension_headers_are_skipped() {
        // Destination options (8 bytes, one PadN option) before TCP, in the fragmentable part.
        let mut payload = vec![6, 0, 1, 4, 0, 0, 0, 0];
        payload.extend(tcp_bytes(100));
        let (head, tail) = payload.split_at(64);
        let mut r = Reassembly::default();
        let mut first = piece6(4, 0, true, head);
        first.first_header = IpNumber::IPV6_DESTINATION_OPTIONS;
        assert!(r.offer(&first, Timestamp(0)).is_none());
        // Only the first fragment's Next Header counts, even when another fragment
        // completes the datagram.
        let mut second = piece6(4, 64, false, tail);
        second.first_header = IpNumber::UDP;
        let done = r.offer(&second, Timestamp(0)).expect("complete");
        let seg = done.segment().expect("TCP after the destination options");
        assert_eq!((seg.payload_len, seg.src.to_string()), (100, "[2001:db8::1]:40000".to_string()));
        // The same bytes named UDP by the first fragment hold no TCP segment.
        first.first_header = IpNumber::UDP;
        second.first_header = IpNumber::IPV6_DESTINATION_OPTIONS;
        r.offer(&first, Timestamp(0));
        assert!(r.offer(&second, Timestamp(0)).expect("complete").segment().is_none());
    }

    #[test]
    fn tcp_starts_after_the_extension_headers_that_were_kept() {
        let tcp = tcp_bytes(4);
        assert_eq!(tcp_start(IpNumber::TCP, &tcp, 24), Some((tcp.as_slice(), 24)));
        let mut behind = vec![6, 0, 1, 4, 0, 0, 0, 0];
        behind.extend(&tcp);
        assert_eq!(tcp_start(IpNumber::IPV6_DESTINATION_OPTIONS, &behind, 32), Some((tcp.as_slice(), 24)));
        // Cut inside the destination options, or leading to UDP, or claiming less than
        // the headers themselves: no TCP.
        assert_eq!(tcp_start(IpNumber::IPV6_DESTINATION_OPTIONS, &behind[..6], 32), None);
        behind[0] = 17;
        assert_eq!(tcp_start(IpNumber::IPV6_DESTINATION_OPTIONS, &behind, 32), None);
        behind[0] = 6;
        assert_eq!(tcp_start(IpNumber::IPV6_DESTINATION_OPTIONS, &behind, 4), None);
        assert_eq!(tcp_start(IpNumber::UDP, &tcp, 24), None);
    }

    #[test]
    fn only_what_may_lead_to_tcp_enters_the_buffer() {
        assert!(may_carry_tcp(IpNumber::TCP) && may_carry_tcp(IpNumber::IPV6_DESTINATION_OPTIONS));
        assert!(!may_carry_tcp(IpNumber::UDP) && !may_carry_tcp(IpNumber::IPV6_ICMP));
    }
}
