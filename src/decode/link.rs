//! Link layers: which libpcap link types tcplab reads and where their IP packet starts.
//!
//! Numbers are the `LINKTYPE_*` values of <https://www.tcpdump.org/linktypes.html>.
//! Ethernet (with 802.1Q/QinQ tags) goes to etherparse whole; the other headers are
//! fixed-size and only tell us the network protocol, so they are peeled off here. The
//! link types that are rarer on the wire (FDDI, PPP, NFLOG, 802.11) are walked through
//! by [`encap`](super::encap), which also takes what etherparse does not know.

use super::encap::{self, Found};
use crate::source::LinkType;
use etherparse::EtherType;

pub const NULL: LinkType = LinkType(0);
pub const ETHERNET: LinkType = LinkType(1);
pub const PPP: LinkType = LinkType(9);
pub const FDDI: LinkType = LinkType(10);
/// PPP in HDLC-like framing, and PPPoE without its Ethernet header.
pub const PPP_HDLC: LinkType = LinkType(50);
pub const PPP_ETHER: LinkType = LinkType(51);
/// Cisco HDLC: address, control, then an EtherType.
pub const C_HDLC: LinkType = LinkType(104);
pub const IEEE802_11: LinkType = LinkType(105);
pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
/// PPP with a direction byte in front.
pub const PPP_WITH_DIR: LinkType = LinkType(204);
pub const NFLOG: LinkType = LinkType(239);
/// ARCNET with the BSD header (source, destination, protocol) and with Linux's (which
/// adds a 2-byte offset before the protocol).
pub const ARCNET_BSD: LinkType = LinkType(7);
pub const ARCNET_LINUX: LinkType = LinkType(129);
/// IP over InfiniBand (RFC 4391) as Linux captures it: a 44-byte pseudo-header (the
/// 40 bytes of addresses, then the 4-byte IPoIB header whose first two are an EtherType).
pub const IPOIB: LinkType = LinkType(242);
/// DLT_RAW on most systems; 14 on OpenBSD; LINKTYPE_RAW is 101.
pub const RAW_12: LinkType = LinkType(12);
pub const RAW_14: LinkType = LinkType(14);
pub const RAW: LinkType = LinkType(101);
pub const LOOP: LinkType = LinkType(108);
pub const LINUX_SLL: LinkType = LinkType(113);
pub const IPV4: LinkType = LinkType(228);
pub const IPV6: LinkType = LinkType(229);
pub const LINUX_SLL2: LinkType = LinkType(276);

/// What follows the link header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// A whole Ethernet II frame (VLAN tags are handled by etherparse).
    Ethernet(&'a [u8]),
    /// A network-layer packet of this EtherType.
    EtherType(EtherType, &'a [u8]),
    /// An IPv4 or IPv6 packet, version read from its first nibble.
    Ip(&'a [u8]),
    /// Where a walk through a rarer link header (PPP, FDDI, NFLOG, 802.11) ended.
    Walked(Found<'a>),
    /// Not IP (ARP, an unknown BSD address family, …).
    Other,
}

/// The link types tcplab can decode, for error messages.
pub const SUPPORTED: &str = "Ethernet, Linux cooked v1/v2, BSD loopback (NULL, LOOP), raw IPv4/IPv6, \
                             PPP, Cisco HDLC, FDDI, Linux NFLOG, 802.11 (with or without radiotap), \
                             ARCNET, IP over InfiniBand";

pub fn is_supported(link: LinkType) -> bool {
    matches!(
        link,
        NULL | ETHERNET
            | RAW_12
            | RAW_14
            | RAW
            | LOOP
            | LINUX_SLL
            | IPV4
            | IPV6
            | LINUX_SLL2
            | PPP
            | FDDI
            | PPP_HDLC
            | PPP_ETHER
            | C_HDLC
            | IEEE802_11
            | IEEE802_11_RADIOTAP
            | PPP_WITH_DIR
            | NFLOG
            | ARCNET_BSD
            | ARCNET_LINUX
            | IPOIB
    )
}

/// Why the link header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortLinkHeader {
    pub need: usize,
    pub have: usize,
}

/// Peels the link header off `data`. `Ok(Inner::Other)` for frames that are not IP.
pub fn strip(link: LinkType, data: &[u8]) -> Result<Inner<'_>, ShortLinkHeader> {
    let need = |n: usize| {
        if data.len() < n { Err(ShortLinkHeader { need: n, have: data.len() }) } else { Ok(()) }
    };
    match link {
        ETHERNET => Ok(Inner::Ethernet(data)),
        RAW_12 | RAW_14 | RAW | IPV4 | IPV6 => Ok(Inner::Ip(data)),
        NULL | LOOP => {
            need(4)?;
            // NULL stores the BSD address family in the writer's byte order, LOOP in
            // network order; a family fits in one byte, so whichever end is non-zero
            // tells the order.
            let word = [data[0], data[1], data[2], data[3]];
            let family = if link == LOOP || (word[0] == 0 && word[1] == 0) {
                u32::from_be_bytes(word)
            } else {
                u32::from_le_bytes(word)
            };
            match family {
                // AF_INET everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD),
                // 30 (macOS), 10 (Linux).
                2 | 24 | 28 | 30 | 10 => Ok(Inner::Ip(&data[4..])),
                _ => Ok(Inner::Other),
            }
        }
        LINUX_SLL => {
            need(16)?;
            let proto = u16::from_be_bytes([data[14], data[15]]);
            Ok(Inner::EtherType(EtherType(proto), &data[16..]))
        }
        LINUX_SLL2 => {
            need(20)?;
            let proto = u16::from_be_bytes([data[0], data[1]]);
            Ok(Inner::EtherType(EtherType(proto), &data[20..]))
        }
        PPP | PPP_HDLC => Ok(Inner::Walked(encap::ppp(data))),
        PPP_WITH_DIR => Ok(Inner::Walked(encap::ppp(data.get(1..).unwrap_or_default()))),
        // The PPPoE session header (6 bytes), then PPP's protocol field.
        PPP_ETHER => Ok(Inner::Walked(encap::ppp_protocol(data.get(6..).unwrap_or_default()))),
        C_HDLC => {
            need(4)?;
            Ok(Inner::Walked(encap::ether(u16::from_be_bytes([data[2], data[3]]), &data[4..])))
        }
        // Frame control, then the two addresses; 802.2 LLC follows.
        FDDI => {
            need(13)?;
            Ok(Inner::Walked(encap::llc(&data[13..])))
        }
        IEEE802_11 => Ok(Inner::Walked(encap::ieee80211(data))),
        IEEE802_11_RADIOTAP => Ok(Inner::Walked(encap::radiotap(data))),
        NFLOG => Ok(Inner::Walked(encap::nflog(data))),
        ARCNET_BSD => Ok(Inner::Walked(encap::arcnet(data.get(2..).unwrap_or_default()))),
        ARCNET_LINUX => Ok(Inner::Walked(encap::arcnet(data.get(4..).unwrap_or_default()))),
        IPOIB => {
            need(44)?;
            Ok(Inner::EtherType(EtherType(u16::from_be_bytes([data[40], data[41]])), &data[44..]))
        }
        // Only a pcapng file can bring one (its other interfaces being readable).
        _ => Ok(Inner::Walked(Found::Unknown(encap::Encap::Link(link.0)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_header_in_either_byte_order() {
        let le = [2, 0, 0, 0, 0x45];
        let be = [0, 0, 0, 2, 0x45];
        assert_eq!(strip(NULL, &le), Ok(Inner::Ip(&[0x45][..])));
        assert_eq!(strip(NULL, &be), Ok(Inner::Ip(&[0x45][..])));
        assert_eq!(strip(LOOP, &be), Ok(Inner::Ip(&[0x45][..])));
        assert_eq!(strip(NULL, &[7, 0, 0, 0]), Ok(Inner::Other));
    }

    #[test]
    fn short_cooked_header_is_an_error_not_a_panic() {
        assert_eq!(strip(LINUX_SLL2, &[0x08, 0x00]), Err(ShortLinkHeader { need: 20, have: 2 }));
    }
}
