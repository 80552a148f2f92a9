//! Link layers: which libpcap link types tcplab reads and where their IP packet starts.
//!
//! Numbers are the `LINKTYPE_*` values of <https://www.tcpdump.org/linktypes.html>.
//! Ethernet (with 802.1Q/QinQ tags) goes to etherparse whole; the other headers are
//! fixed-size and only tell us the network protocol, so they are peeled off here.

use crate::source::LinkType;
use etherparse::EtherType;

pub const NULL: LinkType = LinkType(0);
pub const ETHERNET: LinkType = LinkType(1);
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
    /// Not IP (ARP, 802.2, an unknown BSD address family, …).
    Other,
}

/// The link types tcplab can decode, for error messages.
pub const SUPPORTED: &str = "Ethernet, Linux cooked v1/v2, BSD loopback (NULL, LOOP), raw IPv4/IPv6";

pub fn is_supported(link: LinkType) -> bool {
    matches!(link, NULL | ETHERNET | RAW_12 | RAW_14 | RAW | LOOP | LINUX_SLL | IPV4 | IPV6 | LINUX_SLL2)
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
        _ => Ok(Inner::Other),
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
