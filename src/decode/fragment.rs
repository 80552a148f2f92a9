//! A fragment of an IP datagram, as decoding meets it: handed to [`defrag`] when the
//! datagram may carry TCP, or read for the TCP header in it when it is a first
//! fragment that the snap length cut.

use super::defrag::{self, DatagramKey, Fragment};
use super::{Decoded, offset_of, tcp_in};
use crate::source::Frame;
use etherparse::{IpNumber, LaxIpv4Slice, LaxNetSlice};

/// What a packet whose IP layer says it is a fragment holds.
pub(super) fn decode<'a>(net: &LaxNetSlice<'a>, frame: &Frame<'a>) -> Decoded<'a> {
    let piece = match net {
        LaxNetSlice::Ipv4(v4) => ipv4(v4),
        // Not yet looked into.
        LaxNetSlice::Ipv6(_) => None,
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
