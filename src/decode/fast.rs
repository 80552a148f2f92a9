//! The common frame decoded by hand: IPv4 or IPv6 straight after the link header,
//! whole (not cut by the snap length, not fragmented), carrying a whole TCP header.
//!
//! That is nearly every frame of a big capture, and reading its few fixed fields
//! directly costs a fraction of building etherparse's full lax parse. Anything else
//! (VLAN tags, IPv6 extension headers, cut or damaged packets, TSO's zero lengths,
//! other protocols) gets `None` and goes to the lax parser, so results and error
//! messages stay etherparse's. A test checks both paths agree on mutated frames.

use super::link::{self, Inner};
use super::{PAYLOAD_PREVIEW, Segment};
use crate::source::Frame;
use crate::track::flags::TcpFlags;
use crate::track::seq::SeqNum;
use etherparse::EtherType;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The segment of an ordinary frame, or `None` for the lax parser to decide.
pub fn segment<'a>(frame: &Frame<'a>) -> Option<Segment<'a>> {
    let (ip, expect_version) = match link::strip(frame.link, frame.data).ok()? {
        // Untagged Ethernet II only; tags are etherparse's business.
        Inner::Ethernet(bytes) => {
            let ether_type = EtherType(u16::from_be_bytes([*bytes.get(12)?, *bytes.get(13)?]));
            (bytes.get(14..)?, version_of(ether_type)?)
        }
        Inner::EtherType(ether_type, bytes) => (bytes, version_of(ether_type)?),
        Inner::Ip(bytes) => (bytes, *bytes.first()? >> 4),
        Inner::Other => return None,
    };
    let (src, dst, tcp, claimed) = match *ip.first()? >> 4 {
        4 if expect_version == 4 => ipv4(ip)?,
        6 if expect_version == 6 => ipv6(ip)?,
        _ => return None,
    };
    if tcp.len() < 20 {
        return None;
    }
    let header_len = usize::from(tcp[12] >> 4) * 4;
    if header_len < 20 || tcp.len() < header_len {
        return None;
    }
    // As in the lax path: the payload is what the IP header claims, but no more than
    // was on the wire (the record's original length).
    let payload_at = (tcp.as_ptr() as usize - frame.data.as_ptr() as usize) + header_len;
    let on_wire = (frame.wire_len as usize).saturating_sub(payload_at);
    let payload_len = (claimed - header_len).min(on_wire);
    let kept = &tcp[header_len..];
    let be16 = |at: usize| u16::from_be_bytes([tcp[at], tcp[at + 1]]);
    let be32 = |at: usize| u32::from_be_bytes([tcp[at], tcp[at + 1], tcp[at + 2], tcp[at + 3]]);
    Some(Segment {
        src: SocketAddr::new(src, be16(0)),
        dst: SocketAddr::new(dst, be16(2)),
        seq: SeqNum(be32(4)),
        ack: SeqNum(be32(8)),
        flags: TcpFlags(tcp[13]),
        window: be16(14),
        header_len: header_len as u8,
        payload_len: u32::try_from(payload_len).unwrap_or(u32::MAX),
        raw_options: &tcp[20..header_len],
        payload: &kept[..kept.len().min(PAYLOAD_PREVIEW).min(payload_len)],
    })
}

/// The IP version an EtherType announces, for the two this path reads.
fn version_of(ether_type: EtherType) -> Option<u8> {
    match ether_type {
        EtherType::IPV4 => Some(4),
        EtherType::IPV6 => Some(6),
        _ => None,
    }
}

/// Addresses, the TCP bytes (cut to the IP length) and the IP payload length of a
/// whole, unfragmented IPv4 packet carrying TCP.
fn ipv4(ip: &[u8]) -> Option<(IpAddr, IpAddr, &[u8], usize)> {
    let header_len = usize::from(ip.first()? & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    if header_len < 20 || total_len < header_len || ip.len() < total_len {
        return None;
    }
    let fragment = u16::from_be_bytes([ip[6], ip[7]]);
    let more_fragments = fragment & 0x2000 != 0;
    if more_fragments || fragment & 0x1fff != 0 || ip[9] != 6 {
        return None;
    }
    let addr = |at: usize| IpAddr::V4(Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]));
    Some((addr(12), addr(16), &ip[header_len..total_len], total_len - header_len))
}

/// The same for an IPv6 packet whose next header is TCP (no extension headers).
fn ipv6(ip: &[u8]) -> Option<(IpAddr, IpAddr, &[u8], usize)> {
    if ip.len() < 40 || ip[6] != 6 {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    if payload_len == 0 || ip.len() < 40 + payload_len {
        return None;
    }
    let addr = |at: usize| {
        let octets: [u8; 16] = ip[at..at + 16].try_into().unwrap_or_default();
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    Some((addr(8), addr(24), &ip[40..40 + payload_len], payload_len))
}

#[cfg(test)]
mod tests {
    use super::super::{Decoded, decode_lax};
    use super::*;
    use crate::source::{FrameNumber, LinkType, Timestamp};
    use etherparse::PacketBuilder;
    use proptest::prelude::*;

    fn tcp_frame(v6: bool, payload: &[u8]) -> Vec<u8> {
        let eth = PacketBuilder::ethernet2([1; 6], [2; 6]);
        let ip = if v6 { eth.ipv6([1; 16], [2; 16], 64) } else { eth.ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64) };
        let builder = ip
            .tcp(40000, 80, 7, 512)
            .ack(99)
            .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(1460)])
            .unwrap();
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    /// The link header of `link` in front of the IP packet of an Ethernet frame.
    fn relink(link: LinkType, ethernet: &[u8]) -> Vec<u8> {
        let ip = &ethernet[14..];
        let v6 = ip[0] >> 4 == 6;
        let mut out = match link {
            link::ETHERNET => ethernet[..14].to_vec(),
            link::LINUX_SLL => {
                let mut h = vec![0u8; 16];
                h[14..].copy_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
                h
            }
            link::LINUX_SLL2 => {
                let mut h = vec![0u8; 20];
                h[..2].copy_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
                h
            }
            link::NULL => vec![if v6 { 10 } else { 2 }, 0, 0, 0],
            _ => Vec::new(),
        };
        out.extend_from_slice(ip);
        out
    }

    fn agree(link: LinkType, data: &[u8], wire_len: u32) {
        let frame = Frame { number: FrameNumber(1), ts: Timestamp(0), link, data, wire_len };
        if let Some(fast) = segment(&frame) {
            assert_eq!(Ok(Decoded::Tcp(fast)), decode_lax(&frame), "{data:02x?}");
        }
    }

    #[test]
    fn ordinary_frames_take_the_fast_path() {
        for v6 in [false, true] {
            let bytes = tcp_frame(v6, b"hello");
            for link in [link::ETHERNET, link::RAW, link::NULL, link::LINUX_SLL, link::LINUX_SLL2] {
                let data = relink(link, &bytes);
                let frame = Frame {
                    number: FrameNumber(1),
                    ts: Timestamp(0),
                    link,
                    data: &data,
                    wire_len: data.len() as u32,
                };
                let fast = segment(&frame).expect("fast path");
                assert_eq!(Ok(Decoded::Tcp(fast)), decode_lax(&frame));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Whatever the fast path accepts, the lax parser decodes the same way.
        #[test]
        fn fast_path_agrees_with_the_lax_parser(
            v6 in any::<bool>(),
            payload in proptest::collection::vec(any::<u8>(), 0..40),
            link_index in 0usize..5,
            edits in proptest::collection::vec((0usize..120, any::<u8>()), 0..4),
            pad in 0usize..8,
            cut in 0usize..140,
            wire_extra in 0u32..64,
        ) {
            let link = [link::ETHERNET, link::RAW, link::NULL, link::LINUX_SLL, link::LINUX_SLL2][link_index];
            let mut data = relink(link, &tcp_frame(v6, &payload));
            // Ethernet pads short frames beyond the IP packet's end.
            data.extend(std::iter::repeat_n(0, pad));
            for (at, byte) in edits {
                if let Some(b) = data.get_mut(at) {
                    *b = byte;
                }
            }
            let wire_len = data.len() as u32 + wire_extra;
            data.truncate(data.len().saturating_sub(cut % 60));
            agree(link, &data, wire_len);
            agree(link, &data, data.len() as u32);
        }
    }
}
