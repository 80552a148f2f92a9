//! A fragment of an IP datagram, as decoding meets it: handed to [`defrag`] when the
//! datagram may carry TCP, or read for the TCP header in it when it is a first fragment
//! that the snap length cut.

use super::defrag::{self, DatagramKey, Fragment};
use super::{Decoded, offset_of, tcp_in};
use crate::source::Frame;
use etherparse::{IpNumber, Ipv6ExtensionSlice, LaxIpv4Slice, LaxIpv6Slice, LaxNetSlice};

/// What a packet whose IP layer says it is a fragment holds.
pub(super) fn decode<'a>(net: &LaxNetSlice<'a>, frame: &Frame<'a>) -> Decoded<'a> {
    let piece = match net {
        LaxNetSlice::Ipv4(v4) => ipv4(v4),
        LaxNetSlice::Ipv6(v6) => ipv6(v6, frame),
        LaxNetSlice::Arp(_) => None,
    };
    match piece {
        Some(piece) if piece.offset == 0 && piece.kept.len() < piece.claimed => {
            first_cut_short(&piece, frame)
        }
        Some(piece) => Decoded::Fragment(piece),
        None => Decoded::NotTcp,
    }
}

/// The fragment an IPv4 packet is, when its protocol is TCP.
fn ipv4<'a>(v4: &LaxIpv4Slice<'a>) -> Option<Fragment<'a>> {
    let (header, payload) = (v4.header(), v4.payload());
    if payload.ip_number != IpNumber::TCP {
        return None;
    }
    let claimed = super::ipv4_payload_len(v4);
    Some(Fragment {
        key: DatagramKey::V4 {
            src: header.source_addr(),
            dst: header.destination_addr(),
            id: header.identification(),
        },
        first_header: IpNumber::TCP,
        offset: usize::from(header.fragments_offset().byte_offset()),
        more: header.more_fragments(),
        claimed,
        kept: &payload.payload[..payload.payload.len().min(claimed)],
    })
}

/// The fragment an IPv6 packet is, when the Next Header of its Fragment header may lead
/// to TCP. Its payload is everything after that Fragment header: whatever extension
/// headers etherparse read past it are only headers in a first fragment, and bytes of
/// the middle of the datagram in the others.
fn ipv6<'a>(v6: &LaxIpv6Slice<'a>, frame: &Frame<'a>) -> Option<Fragment<'a>> {
    let header = v6.header();
    let fragment_header = v6.extensions().clone().into_iter().find_map(|extension| match extension {
        Ipv6ExtensionSlice::Fragment(f) if f.is_fragmenting_payload() => Some(f),
        _ => None,
    })?;
    if !defrag::may_carry_tcp(fragment_header.next_header()) {
        return None;
    }
    // A payload length of 0 would be a jumbogram, which RFC 2675 forbids to fragment.
    let payload_length = usize::from(header.payload_length());
    if payload_length == 0 {
        return None;
    }
    let data_at = offset_of(header.slice(), fragment_header.slice()) + fragment_header.slice().len();
    let claimed = (header.slice().len() + payload_length).checked_sub(data_at)?;
    let data =
        frame.data.get(offset_of(frame.data, fragment_header.slice()) + fragment_header.slice().len()..)?;
    Some(Fragment {
        key: DatagramKey::V6 {
            src: header.source_addr(),
            dst: header.destination_addr(),
            id: fragment_header.identification(),
        },
        first_header: fragment_header.next_header(),
        offset: usize::from(fragment_header.fragment_offset().byte_offset()),
        more: fragment_header.more_fragments(),
        claimed,
        kept: &data[..data.len().min(claimed)],
    })
}

/// A first fragment that the snap length cut cannot be put together with the others:
/// as tshark does for IPv4, tcplab reads the TCP header in it, its length being what
/// the IP header claims for this fragment, bounded by what was on the wire as for a
/// whole packet.
fn first_cut_short<'a>(piece: &Fragment<'a>, frame: &Frame<'a>) -> Decoded<'a> {
    let Some((tcp, claimed)) = defrag::tcp_start(piece.first_header, piece.kept, piece.claimed) else {
        return Decoded::NotTcp;
    };
    let on_wire = (frame.wire_len as usize).saturating_sub(offset_of(frame.data, tcp));
    let (src, dst) = piece.key.addresses();
    match tcp_in(tcp, claimed.min(on_wire), src, dst) {
        Some(seg) => Decoded::Tcp(seg),
        None => Decoded::NotTcp,
    }
}

#[cfg(test)]
mod tests {
    use super::super::defrag::tests::tcp_bytes;
    use super::super::{decode, link};
    use super::*;
    use crate::source::{FrameNumber, Timestamp};
    use crate::track::seq::SeqNum;
    use std::net::Ipv6Addr;

    const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
    const HOP_BY_HOP: u8 = 0;
    const FRAGMENT: u8 = 44;
    const DEST_OPTIONS: u8 = 60;

    /// An Ethernet frame of one IPv6 fragment: `before` (Hop-by-Hop Options naming the
    /// Fragment header next) if wanted, the Fragment header, then `data`.
    fn frame_bytes(hop_by_hop: bool, first_header: u8, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        if hop_by_hop {
            body.extend([FRAGMENT, 0, 1, 4, 0, 0, 0, 0]);
        }
        body.extend([first_header, 0]);
        body.extend((offset | u16::from(more)).to_be_bytes());
        body.extend(0x1234_5678u32.to_be_bytes());
        body.extend(data);
        let mut out = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd, 0x60, 0, 0, 0];
        out.extend((body.len() as u16).to_be_bytes());
        out.extend([if hop_by_hop { HOP_BY_HOP } else { FRAGMENT }, 64]);
        out.extend(SRC.octets());
        out.extend(DST.octets());
        out.extend(body);
        out
    }

    fn frame(data: &[u8], wire_len: usize) -> Frame<'_> {
        Frame {
            number: FrameNumber(1),
            ts: Timestamp(0),
            link: link::ETHERNET,
            data,
            wire_len: wire_len as u32,
        }
    }

    #[test]
    fn an_ipv6_fragment_of_tcp_is_handed_to_reassembly() {
        let tcp = tcp_bytes(100);
        for hop_by_hop in [false, true] {
            let bytes = frame_bytes(hop_by_hop, 6, 0, true, &tcp[..64]);
            let Ok(Decoded::Fragment(piece)) = decode(&frame(&bytes, bytes.len())) else {
                panic!("{hop_by_hop}")
            };
            assert_eq!(piece.key, DatagramKey::V6 { src: SRC, dst: DST, id: 0x1234_5678 });
            assert_eq!(
                (piece.first_header, piece.offset, piece.more, piece.claimed),
                (IpNumber::TCP, 0, true, 64)
            );
            assert_eq!(piece.kept, &tcp[..64]);
        }
    }

    #[test]
    fn a_later_fragment_holds_the_bytes_after_its_fragment_header_whatever_they_look_like() {
        // Its Next Header says destination options, but only the first fragment holds
        // that header: these bytes are the middle of the datagram, here 0x3c 0x00…
        let data = [DEST_OPTIONS, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9];
        let mut bytes = frame_bytes(true, DEST_OPTIONS, 64, false, &data);
        // Ethernet padding after the IP packet is not payload.
        bytes.extend([0; 6]);
        let Ok(Decoded::Fragment(piece)) = decode(&frame(&bytes, bytes.len())) else { panic!() };
        assert_eq!((piece.offset, piece.more, piece.claimed, piece.kept), (64, false, 16, &data[..]));
    }

    #[test]
    fn fragments_that_cannot_lead_to_tcp_are_not_kept() {
        let bytes = frame_bytes(false, 17, 0, true, &[0; 16]);
        assert_eq!(decode(&frame(&bytes, bytes.len())), Ok(Decoded::NotTcp));
    }

    #[test]
    fn an_atomic_fragment_is_a_whole_packet() {
        // Offset 0 and no more fragments (RFC 6946): nothing to wait for.
        let bytes = frame_bytes(false, 6, 0, false, &tcp_bytes(10));
        let Ok(Decoded::Tcp(seg)) = decode(&frame(&bytes, bytes.len())) else { panic!() };
        assert_eq!((seg.seq, seg.payload_len), (SeqNum(1000), 10));
    }

    #[test]
    fn a_first_fragment_the_snap_length_cut_gives_its_tcp_header() {
        let mut data = vec![6, 0, 1, 4, 0, 0, 0, 0];
        data.extend(tcp_bytes(200));
        for (first_header, data) in [(6, &data[8..]), (DEST_OPTIONS, &data[..])] {
            let bytes = frame_bytes(true, first_header, 0, true, &data[..200]);
            let cut = &bytes[..bytes.len() - 150];
            let Ok(Decoded::Tcp(seg)) = decode(&frame(cut, bytes.len())) else { panic!("{first_header}") };
            // The length this fragment's IP header claims, less the headers before the payload.
            let before_tcp: usize = if first_header == 6 { 0 } else { 8 };
            assert_eq!((seg.seq, seg.payload_len as usize), (SeqNum(1000), 200 - before_tcp - 20));
            assert_eq!(seg.src.to_string(), "[2001:db8::1]:40000");
            // Cut inside the TCP header: nothing to show.
            let short = &bytes[..14 + 40 + 8 + 8 + before_tcp + 10];
            assert_eq!(decode(&frame(short, bytes.len())), Ok(Decoded::NotTcp));
        }
    }

    #[test]
    fn every_prefix_and_mutation_of_a_fragment_decodes_without_panic() {
        let tcp = tcp_bytes(40);
        for (hop_by_hop, first_header, offset) in [(false, 6, 0), (true, DEST_OPTIONS, 0), (true, 6, 8)] {
            let bytes = frame_bytes(hop_by_hop, first_header, offset, true, &tcp);
            for end in 0..=bytes.len() {
                let _ = decode(&frame(&bytes[..end], bytes.len()));
            }
            for at in 14..bytes.len() {
                for value in [0, 1, 6, 44, 60, 0x80, 0xff] {
                    let mut mutated = bytes.clone();
                    mutated[at] = value;
                    let _ = decode(&frame(&mutated, mutated.len()));
                }
            }
        }
    }
}
