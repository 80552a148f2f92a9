//! The common frame read through etherparse's zero-copy header slices: IPv4 or IPv6
//! straight after the link header, whole (not cut by the snap length, not
//! fragmented), carrying a whole TCP header.
//!
//! That is nearly every frame of a big capture, and reading its few fixed fields
//! from `*HeaderSlice`s costs a fraction of building etherparse's full lax parse
//! (which also splits extension headers and collects errors). Anything else (VLAN
//! tags, IPv6 extension headers, cut or damaged packets, TSO's zero lengths, other
//! protocols) gets `None` and goes to the lax parser, so results and error messages
//! stay the lax parser's. A test checks both paths agree on mutated frames.

use super::Segment;
use super::link::{self, Inner};
use crate::source::Frame;
use etherparse::{
    EtherType, Ethernet2HeaderSlice, IpNumber, Ipv4HeaderSlice, Ipv6Header, Ipv6HeaderSlice, TcpHeaderSlice,
};
use std::net::IpAddr;

/// The segment of an ordinary frame, or `None` for the lax parser to decide.
// Inlined into `decode`, and with it into its caller (see there).
#[inline(always)]
pub fn segment<'a>(frame: &Frame<'a>) -> Option<Segment<'a>> {
    let (src, dst, ip_payload, claimed) = match link::strip(frame.link, frame.data).ok()? {
        // Untagged Ethernet II only; tags are the lax parser's business.
        Inner::Ethernet(bytes) => {
            let ethernet = Ethernet2HeaderSlice::from_slice(bytes).ok()?;
            ip(ethernet.ether_type(), &bytes[ethernet.slice().len()..])?
        }
        Inner::EtherType(ether_type, bytes) => ip(ether_type, bytes)?,
        Inner::Ip(bytes) => match *bytes.first()? >> 4 {
            4 => ip(EtherType::IPV4, bytes)?,
            6 => ip(EtherType::IPV6, bytes)?,
            _ => return None,
        },
        Inner::Walked(_) | Inner::Other => return None,
    };
    let tcp = TcpHeaderSlice::from_slice(ip_payload).ok()?;
    let header = tcp.slice();
    let header_len = header.len();
    // As in the lax path: the payload is what the IP header claims, but no more than
    // was on the wire (the record's original length).
    let payload_at = (header.as_ptr() as usize - frame.data.as_ptr() as usize) + header_len;
    let on_wire = (frame.wire_len as usize).saturating_sub(payload_at);
    let payload_len = (claimed - header_len).min(on_wire);
    let kept = &ip_payload[header_len..];
    Some(super::segment_of(&tcp, src, dst, payload_len, kept))
}

/// Addresses, the IP payload (cut to the length the IP header claims) and that
/// length, for a whole, unfragmented IPv4 packet, or an IPv6 packet without extension
/// headers, carrying TCP; `None` for anything else.
fn ip(ether_type: EtherType, bytes: &[u8]) -> Option<(IpAddr, IpAddr, &[u8], usize)> {
    match ether_type {
        EtherType::IPV4 => {
            let header = Ipv4HeaderSlice::from_slice(bytes).ok()?;
            let header_len = header.slice().len();
            let total_len = usize::from(header.total_len());
            // A total length shorter than the header (TSO writes zero) or longer than
            // the bytes kept is the lax parser's to interpret.
            if total_len < header_len
                || bytes.len() < total_len
                || header.is_fragmenting_payload()
                || header.protocol() != IpNumber::TCP
            {
                return None;
            }
            let (src, dst) = (header.source_addr().into(), header.destination_addr().into());
            Some((src, dst, &bytes[header_len..total_len], total_len - header_len))
        }
        EtherType::IPV6 => {
            let header = Ipv6HeaderSlice::from_slice(bytes).ok()?;
            let payload_len = usize::from(header.payload_length());
            // Zero is a jumbogram or TSO: the lax parser's.
            if header.next_header() != IpNumber::TCP
                || payload_len == 0
                || bytes.len() < Ipv6Header::LEN + payload_len
            {
                return None;
            }
            let (src, dst) = (header.source_addr().into(), header.destination_addr().into());
            Some((src, dst, &bytes[Ipv6Header::LEN..Ipv6Header::LEN + payload_len], payload_len))
        }
        _ => None,
    }
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

    #[test]
    fn fragments_are_left_to_the_lax_parser() {
        for v6 in [false, true] {
            let mut data = tcp_frame(v6, b"hello");
            if v6 {
                // A Fragment header (offset 0, more fragments) between IPv6 and TCP.
                let fragment = [6, 0, 0, 1, 0x12, 0x34, 0x56, 0x78];
                data.splice(14 + 40..14 + 40, fragment);
                data[14 + 6] = 44;
                let payload_len = u16::from_be_bytes([data[14 + 4], data[14 + 5]]) + 8;
                data[14 + 4..14 + 6].copy_from_slice(&payload_len.to_be_bytes());
            } else {
                // More fragments (MF); the header checksum is not checked.
                data[14 + 6] |= 0x20;
            }
            let frame = Frame {
                number: FrameNumber(1),
                ts: Timestamp(0),
                link: link::ETHERNET,
                data: &data,
                wire_len: data.len() as u32,
            };
            assert!(segment(&frame).is_none(), "v6 {v6}");
            assert!(matches!(decode_lax(&frame), Ok(Decoded::Fragment(_))), "v6 {v6}");
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
