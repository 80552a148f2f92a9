//! Decoding: one captured frame in, one owned TCP [`Segment`] (or the reason there is none) out.
//!
//! Parsing is etherparse's lax mode (after a hand-written fast path for ordinary
//! frames that gives the same results, in `fast`), so that a frame cut short by the capture's snap
//! length still yields its TCP header; the payload length is then taken from the IP
//! header's claim, as Wireshark's `tcp.len` does. Nothing here can panic on bad input:
//! every failure becomes a [`DecodeError`] that the caller counts and reports.

pub mod anatomy;
pub mod defrag;
pub mod encap;
mod fast;
mod fragment;
pub mod link;
pub mod options;

use crate::source::Frame;
use crate::track::flags::TcpFlags;
use crate::track::seq::SeqNum;
use encap::{Encap, Found};
use etherparse::{IpNumber, LaxIpv4Slice, LaxNetSlice, LaxSlicedPacket, TcpHeaderSlice, TransportSlice};
use std::net::{IpAddr, SocketAddr};

pub use options::TcpOptions;

/// How many payload bytes a segment keeps for display; the rest is only counted.
pub const PAYLOAD_PREVIEW: usize = 256;

/// One TCP segment, decoded once. Its numbers are owned; its options and payload are
/// borrowed from the frame, so that nothing is copied for segments nobody displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub flags: TcpFlags,
    pub window: u16,
    /// TCP header length in bytes (data offset × 4).
    pub header_len: u8,
    /// Payload length on the wire (from the IP header), even if the capture kept less.
    pub payload_len: u32,
    /// The TCP header as captured: its 20 fixed bytes, then as much of the options
    /// area as was kept (empty where a view needs no bytes, see `replay::decoded`).
    pub header: &'a [u8],
    /// The first [`PAYLOAD_PREVIEW`] payload bytes that the capture kept.
    pub payload: &'a [u8],
}

impl Segment<'_> {
    /// The options, decoded (only the tracker's SYN handling and `inspect` need them).
    pub fn options(&self) -> TcpOptions {
        TcpOptions::parse(self.raw_options())
    }

    /// The options area, as far as the capture kept it.
    pub fn raw_options(&self) -> &[u8] {
        self.header.get(20..).unwrap_or_default()
    }

    /// Whether the capture kept less than the whole TCP header (its options run past
    /// the snap length): only the 20 fixed bytes, and the options kept, were read.
    pub fn header_cut(&self) -> bool {
        usize::from(self.header_len) > 20 + self.raw_options().len()
    }

    /// Sequence space the segment occupies: its payload plus one for SYN and for FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload_len
            .saturating_add(u32::from(self.flags.syn()))
            .saturating_add(u32::from(self.flags.fin()))
    }
}

/// What a frame turned out to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    /// A frame that is fine but carries no TCP segment (ARP, UDP, ICMP, fragments of
    /// other protocols…).
    NotTcp,
    /// A fragment of an IP datagram that may carry TCP: its segment is whole once
    /// [`defrag::Reassembly`] has all the fragments.
    Fragment(defrag::Fragment<'a>),
    /// A frame in an encapsulation tcplab does not look into: it may hold TCP, so it
    /// is counted by its kind.
    Unsupported(Encap),
}

/// Why a frame that should have held a TCP segment could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("link header cut short ({have} of {need} bytes)")]
    ShortLinkHeader { need: usize, have: usize },
    #[error("bad IP header: {0}")]
    BadIp(String),
    #[error("bad TCP header: {0}")]
    BadTcp(String),
}

/// Decodes one frame. `Ok(Decoded::NotTcp)` for frames that simply are not TCP.
// Inlined into its caller with the fast path, so that a segment is built where it is
// used instead of being moved whole through the `Option` and `Result` around it.
#[inline(always)]
pub fn decode<'a>(frame: &Frame<'a>) -> Result<Decoded<'a>, DecodeError> {
    // Ordinary frames are read by hand; the lax parser takes everything else.
    match fast::segment(frame) {
        Some(seg) => Ok(Decoded::Tcp(seg)),
        None => decode_lax(frame),
    }
}

/// [`decode`] by etherparse's lax parser alone, and, for what etherparse does not know,
/// the walk through [`encap`]sulations.
fn decode_lax<'a>(frame: &Frame<'a>) -> Result<Decoded<'a>, DecodeError> {
    let inner = link::strip(frame.link, frame.data)
        .map_err(|e| DecodeError::ShortLinkHeader { need: e.need, have: e.have })?;
    let packet = match inner {
        link::Inner::Ethernet(bytes) => LaxSlicedPacket::from_ethernet(bytes)
            .map_err(|e| DecodeError::ShortLinkHeader { need: e.required_len, have: e.len })?,
        link::Inner::EtherType(ether_type, bytes) => LaxSlicedPacket::from_ether_type(ether_type, bytes),
        link::Inner::Ip(bytes) => {
            LaxSlicedPacket::from_ip(bytes).map_err(|e| DecodeError::BadIp(e.to_string()))?
        }
        link::Inner::Walked(walked) => return found(walked, frame, 0),
        link::Inner::Other => return Ok(Decoded::NotTcp),
    };
    if packet.net.is_none() && packet.stop_err.is_none() {
        // Not IP as far as etherparse can see (it reads VLAN tags and MACsec): MPLS,
        // PPPoE, LLC/SNAP, PBB… are walked through from the link header on.
        let walked = match inner {
            link::Inner::Ethernet(bytes) => encap::ethernet(bytes),
            link::Inner::EtherType(ether_type, bytes) => encap::ether(ether_type.0, bytes),
            _ => Found::NotIp,
        };
        return found(walked, frame, 0);
    }
    segment_from(&packet, frame, 0)
}

/// Decodes what a walk through encapsulations found, `depth` tunnels deep.
fn found<'a>(found: Found<'a>, frame: &Frame<'a>, depth: usize) -> Result<Decoded<'a>, DecodeError> {
    match found {
        Found::Ip(_) if depth >= encap::MAX_LAYERS => Ok(Decoded::Unsupported(Encap::TooDeep)),
        Found::Ip(bytes) => {
            let packet = LaxSlicedPacket::from_ip(bytes).map_err(|e| DecodeError::BadIp(e.to_string()))?;
            segment_from(&packet, frame, depth + 1)
        }
        Found::NotIp => Ok(Decoded::NotTcp),
        Found::Unknown(kind) => Ok(Decoded::Unsupported(kind)),
    }
}

fn segment_from<'a>(
    packet: &LaxSlicedPacket<'a>,
    frame: &Frame<'a>,
    depth: usize,
) -> Result<Decoded<'a>, DecodeError> {
    let Some(net) = &packet.net else {
        // Not IP at all, unless the IP header itself was what stopped the parser.
        return match &packet.stop_err {
            Some((err, layer)) if is_ip_layer(*layer) => Err(DecodeError::BadIp(err.to_string())),
            _ => Ok(Decoded::NotTcp),
        };
    };
    let (src_ip, dst_ip, payload, claimed_ip_payload) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let header = v4.header();
            (
                IpAddr::from(header.source_addr()),
                IpAddr::from(header.destination_addr()),
                v4.payload(),
                ipv4_payload_len(v4),
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let header = v6.header();
            let payload = v6.payload();
            let offset = offset_of(header.slice(), payload.payload);
            let claimed = (40 + usize::from(header.payload_length()))
                .checked_sub(offset)
                .filter(|_| header.payload_length() != 0)
                .unwrap_or(payload.payload.len());
            (IpAddr::from(header.source_addr()), IpAddr::from(header.destination_addr()), payload, claimed)
        }
        LaxNetSlice::Arp(_) => return Ok(Decoded::NotTcp),
    };
    if payload.fragmented {
        // Reassembled as tshark does (`defrag`): the segment is whole, and shown, on the
        // fragment that completes its datagram.
        return Ok(fragment::decode(net, frame));
    }
    if payload.ip_number != IpNumber::TCP {
        // A tunnel (IP-in-IP, GRE, VXLAN, …) is opened; anything else is not TCP.
        return match encap::in_ip(payload.ip_number.0, payload.payload) {
            Some(inner) => found(inner, frame, depth),
            None => Ok(Decoded::NotTcp),
        };
    }
    let tcp = match &packet.transport {
        Some(TransportSlice::Tcp(tcp)) => tcp,
        _ => {
            return match fixed_header(payload.payload, claimed_ip_payload, src_ip, dst_ip) {
                Some(seg) => Ok(Decoded::Tcp(seg)),
                None => Err(match &packet.stop_err {
                    Some((err, _)) => DecodeError::BadTcp(err.to_string()),
                    None => DecodeError::BadTcp("missing".into()),
                }),
            };
        }
    };
    let header_len = tcp.header_len();
    // The IP header may claim more than the packet had on the wire (the record's
    // original length): only what was on the wire is payload, as tshark counts it.
    let payload_at = offset_of(frame.data, tcp.header_slice()) + header_len;
    let on_wire = (frame.wire_len as usize).saturating_sub(payload_at);
    let payload_len = claimed_ip_payload.saturating_sub(header_len).min(on_wire);
    let kept = tcp.payload();
    Ok(Decoded::Tcp(Segment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: SeqNum(tcp.sequence_number()),
        ack: SeqNum(tcp.acknowledgment_number()),
        flags: TcpFlags(tcp.header_slice()[13]),
        window: tcp.window_size(),
        header_len: header_len as u8,
        payload_len: u32::try_from(payload_len).unwrap_or(u32::MAX),
        // The header slice lives as long as the frame; `options()` would not.
        header: tcp.header_slice(),
        payload: &kept[..kept.len().min(PAYLOAD_PREVIEW).min(payload_len)],
    }))
}

/// The length of an IPv4 packet's payload (after its header and options) as its header
/// claims it; a zero total length (TSO on the capturing host) claims nothing, and then
/// the bytes kept are trusted.
fn ipv4_payload_len(v4: &LaxIpv4Slice<'_>) -> usize {
    let (header, payload) = (v4.header(), v4.payload());
    let offset = offset_of(header.slice(), payload.payload);
    usize::from(header.total_len())
        .checked_sub(offset)
        .filter(|_| header.total_len() != 0)
        .unwrap_or(payload.payload.len())
}

/// The TCP segment in `bytes`, a whole TCP header and what was kept after it, whose
/// IP header(s) claim `claimed` bytes: read as any segment is, or from its fixed part
/// when its options were cut. `None` when not even that was kept.
fn tcp_in<'a>(bytes: &'a [u8], claimed: usize, src: IpAddr, dst: IpAddr) -> Option<Segment<'a>> {
    let Ok(tcp) = TcpHeaderSlice::from_slice(bytes) else {
        return fixed_header(bytes, claimed, src, dst);
    };
    let kept = &bytes[tcp.slice().len()..];
    let payload_len = claimed.saturating_sub(tcp.slice().len());
    Some(segment_of(&tcp, src, dst, payload_len, kept))
}

/// The segment a whole TCP header makes, with `payload_len` bytes of payload of which
/// `kept` were captured (the preview is the first of them).
fn segment_of<'a>(
    tcp: &TcpHeaderSlice<'a>,
    src: IpAddr,
    dst: IpAddr,
    payload_len: usize,
    kept: &'a [u8],
) -> Segment<'a> {
    // `tcp.slice()` borrows the slice struct; the header bytes live as long as the frame.
    let header: &'a [u8] = tcp.slice();
    Segment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: SeqNum(tcp.sequence_number()),
        ack: SeqNum(tcp.acknowledgment_number()),
        // The flags byte whole: etherparse offers one bool per flag, and TcpFlags
        // keeps the byte.
        flags: TcpFlags(header[13]),
        window: tcp.window_size(),
        header_len: header.len() as u8,
        payload_len: u32::try_from(payload_len).unwrap_or(u32::MAX),
        header,
        payload: &kept[..kept.len().min(PAYLOAD_PREVIEW).min(payload_len)],
    }
}

/// A TCP header whose options run past the bytes the capture kept: its 20 fixed bytes
/// still say ports, numbers, flags and window, as tshark and tcpdump show them. The
/// options are those kept (see [`Segment::header_cut`]); the payload length is the IP
/// header's claim, none of it kept. `None` when even the fixed part is cut, or the
/// data offset is below the minimum of 5 words (a damaged header, not a cut one).
fn fixed_header<'a>(bytes: &'a [u8], claimed: usize, src: IpAddr, dst: IpAddr) -> Option<Segment<'a>> {
    let fixed = bytes.get(..20)?;
    let header_len = usize::from(fixed[12] >> 4) * 4;
    if header_len < 20 || bytes.len() >= header_len {
        return None;
    }
    let word = |at: usize| u16::from_be_bytes([fixed[at], fixed[at + 1]]);
    let long = |at: usize| u32::from_be_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]]);
    let (src_port, dst_port, seq, ack, window) = (word(0), word(2), long(4), long(8), word(14));
    Some(Segment {
        src: SocketAddr::new(src, src_port),
        dst: SocketAddr::new(dst, dst_port),
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags: TcpFlags(fixed[13]),
        window,
        header_len: header_len as u8,
        payload_len: u32::try_from(claimed.saturating_sub(header_len)).unwrap_or(u32::MAX),
        header: bytes,
        payload: &[],
    })
}

fn is_ip_layer(layer: etherparse::err::Layer) -> bool {
    use etherparse::err::Layer::*;
    matches!(
        layer,
        IpHeader | Ipv4Header | Ipv4Packet | IpAuthHeader | Ipv6Header | Ipv6Packet | Ipv6ExtHeader
    )
}

/// Byte offset of `inner` within the buffer that `outer` starts.
fn offset_of(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FrameNumber, LinkType, Timestamp};
    use etherparse::PacketBuilder;

    fn frame(link: LinkType, data: &[u8]) -> Frame<'_> {
        Frame { number: FrameNumber(1), ts: Timestamp(0), link, data, wire_len: data.len() as u32 }
    }

    fn ethernet_syn(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .tcp(40000, 8080, 1000, 65535)
            .syn()
            .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(1460)])
            .unwrap();
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn ethernet_ipv4_syn_is_decoded() {
        let bytes = ethernet_syn(b"");
        let Ok(Decoded::Tcp(seg)) = decode(&frame(link::ETHERNET, &bytes)) else { panic!() };
        assert_eq!(seg.src.to_string(), "127.0.0.1:40000");
        assert_eq!(seg.dst.to_string(), "127.0.0.2:8080");
        assert_eq!(seg.seq, SeqNum(1000));
        assert!(seg.flags.syn() && !seg.flags.ack());
        assert_eq!(seg.options().mss, Some(1460));
        assert_eq!(seg.seq_len(), 1);
    }

    #[test]
    fn snaplen_cut_payload_keeps_the_claimed_length() {
        let bytes = ethernet_syn(&[b'a'; 100]);
        let cut = &bytes[..bytes.len() - 90];
        // The record says how long the packet was on the wire; the capture kept less.
        let cut_frame = Frame { wire_len: bytes.len() as u32, ..frame(link::ETHERNET, cut) };
        let Ok(Decoded::Tcp(seg)) = decode(&cut_frame) else { panic!() };
        assert_eq!(seg.payload_len, 100);
        assert_eq!(seg.payload.len(), 10);
    }

    #[test]
    fn cut_tcp_header_is_an_error() {
        let bytes = ethernet_syn(b"");
        let cut = &bytes[..14 + 20 + 10];
        assert!(matches!(decode(&frame(link::ETHERNET, cut)), Err(DecodeError::BadTcp(_))));
    }

    #[test]
    fn every_prefix_of_a_frame_decodes_without_panic() {
        let bytes = ethernet_syn(b"hello");
        for link in [link::ETHERNET, link::RAW, link::NULL, link::LINUX_SLL, link::LINUX_SLL2] {
            for end in 0..bytes.len() {
                let _ = decode(&frame(link, &bytes[..end]));
            }
        }
    }
}
