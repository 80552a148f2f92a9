//! Encapsulations between the link header and the IP packet that carries TCP: VLAN
//! and QinQ tags, PPPoE, MPLS label stacks, 802.2 LLC/SNAP, 802.1ah PBB, and the
//! tunnels inside IP (IP-in-IP, 6in4, GRE with ERSPAN, VXLAN, Geneve, MPLS in UDP).
//!
//! Only frames that the fast path and etherparse could not take to a TCP segment come
//! here, so plain Ethernet/IP/TCP pays nothing. Every walk is bounded (at most
//! [`MAX_LAYERS`] headers) and reads through `get`, so no packet can make it panic
//! or loop. Where Wireshark guesses (what follows an MPLS stack, which UDP ports are
//! tunnels), its default rule is followed, so that results compare with tshark's.

use std::fmt;

/// Headers walked through at most, tunnels within tunnels included.
pub const MAX_LAYERS: usize = 16;

/// A layer that may carry TCP but that tcplab does not look into: frames in one are
/// counted by it in the closing line, not silently as "other".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encap {
    /// An MPLS stack whose payload is neither IP nor an Ethernet pseudowire.
    Mpls,
    /// GRE of a version or with options (source routing) tcplab does not read.
    Gre,
    /// An 802.11 data frame that is encrypted.
    Ieee80211Protected,
    /// Tunnels nested deeper than [`MAX_LAYERS`].
    TooDeep,
    /// A link type tcplab does not read, in a pcapng file whose other interfaces it
    /// does read.
    Link(i32),
}

impl fmt::Display for Encap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encap::Mpls => f.write_str("MPLS"),
            Encap::Gre => f.write_str("GRE"),
            Encap::Ieee80211Protected => f.write_str("encrypted 802.11"),
            Encap::TooDeep => f.write_str("tunnels nested too deep"),
            Encap::Link(link) => match pcap::Linktype(*link).get_name() {
                Ok(name) => write!(f, "link type {link} ({name})"),
                Err(_) => write!(f, "link type {link}"),
            },
        }
    }
}

/// Where a walk through the encapsulations ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found<'a> {
    /// An IPv4 or IPv6 packet (its version says which).
    Ip(&'a [u8]),
    /// A layer that is not IP and holds no IP (ARP, STP, PPP's control protocols, …),
    /// or bytes too short to say.
    NotIp,
    /// A layer that may carry TCP, not decoded.
    Unknown(Encap),
}

pub const IPV4: u16 = 0x0800;
pub const IPV6: u16 = 0x86dd;
const VLAN: u16 = 0x8100;
const QINQ: u16 = 0x88a8;
/// Pre-standard QinQ tags that switches still send.
const QINQ_9100: u16 = 0x9100;
const QINQ_9200: u16 = 0x9200;
const QINQ_9300: u16 = 0x9300;
const MPLS_UNICAST: u16 = 0x8847;
const MPLS_MULTICAST: u16 = 0x8848;
const PPPOE_SESSION: u16 = 0x8864;
const PBB: u16 = 0x88e7;
/// Transparent Ethernet bridging: a whole Ethernet frame (GRE, Geneve).
const TEB: u16 = 0x6558;
const ERSPAN_1_2: u16 = 0x88be;
const ERSPAN_3: u16 = 0x22eb;
const PPP_IN_GRE: u16 = 0x880b;
/// Cisco's WCCP redirection: a 4-byte header, then the redirected IP packet.
const WCCP: u16 = 0x883e;

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// A whole Ethernet II (or 802.3) frame: what follows its 14-byte header.
pub fn ethernet(bytes: &[u8]) -> Found<'_> {
    match (be16(bytes, 12), bytes.get(14..)) {
        (Some(ether_type), Some(rest)) => ether(ether_type, rest),
        _ => Found::NotIp,
    }
}

/// What a payload of `ether_type` holds. Values up to 1500 are an 802.3 length, so an
/// 802.2 LLC header follows.
pub fn ether(mut ether_type: u16, mut bytes: &[u8]) -> Found<'_> {
    for _ in 0..MAX_LAYERS {
        let (next, rest) = match ether_type {
            IPV4 | IPV6 => return Found::Ip(bytes),
            VLAN | QINQ | QINQ_9100 | QINQ_9200 | QINQ_9300 => (be16(bytes, 2), bytes.get(4..)),
            MPLS_UNICAST | MPLS_MULTICAST => return mpls(bytes),
            // PPPoE session stage (RFC 2516): version/type, code, session id, length,
            // then the PPP protocol number.
            PPPOE_SESSION => return ppp_protocol(bytes.get(6..).unwrap_or_default()),
            // 802.1ah: the 4-byte I-TAG, then the customer's addresses and EtherType.
            PBB => (be16(bytes, 16), bytes.get(18..)),
            TEB => (be16(bytes, 12), bytes.get(14..)),
            0..=1500 => return llc(bytes),
            _ => return Found::NotIp,
        };
        match (next, rest) {
            (Some(next), Some(rest)) => (ether_type, bytes) = (next, rest),
            _ => return Found::NotIp,
        }
    }
    Found::Unknown(Encap::TooDeep)
}

/// An 802.2 LLC header: IP's own SAP, or SNAP with an EtherType (RFC 1042).
pub fn llc(bytes: &[u8]) -> Found<'_> {
    match bytes {
        // DSAP = SSAP = 0x06, unnumbered information: IP straight after.
        [0x06, 0x06, 0x03, rest @ ..] => Found::Ip(rest),
        // SNAP with the EtherType OUI (00-00-00, or 00-00-F8 for 802.1H bridges).
        [0xaa, 0xaa, 0x03, 0, 0, 0 | 0xf8, hi, lo, rest @ ..] => ether(u16::from_be_bytes([*hi, *lo]), rest),
        _ => Found::NotIp,
    }
}

/// An MPLS label stack (RFC 3032), then its payload. Like Wireshark, the payload is
/// guessed from its first nibble: 4 and 6 are IP, 0 is a pseudowire control word
/// followed by an Ethernet frame (RFC 4448).
fn mpls(bytes: &[u8]) -> Found<'_> {
    let mut at = 0;
    loop {
        let Some(&bottom) = bytes.get(at + 2) else { return Found::NotIp };
        at += 4;
        if bottom & 1 == 1 {
            break;
        }
        if at >= 4 * MAX_LAYERS {
            return Found::Unknown(Encap::TooDeep);
        }
    }
    let payload = bytes.get(at..).unwrap_or_default();
    match payload.first().map(|b| b >> 4) {
        Some(4 | 6) => Found::Ip(payload),
        Some(0) => ethernet(payload.get(4..).unwrap_or_default()),
        Some(_) => Found::Unknown(Encap::Mpls),
        None => Found::NotIp,
    }
}

/// A PPP frame, from its protocol field (RFC 1661): one byte when compressed (odd),
/// else two.
pub fn ppp_protocol(bytes: &[u8]) -> Found<'_> {
    let (protocol, rest) = match bytes {
        [odd, rest @ ..] if odd & 1 == 1 => (u16::from(*odd), rest),
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
        _ => return Found::NotIp,
    };
    match protocol {
        0x0021 | 0x0057 => Found::Ip(rest),
        0x0281 | 0x0283 => mpls(rest),
        _ => Found::NotIp,
    }
}

/// A PPP frame in HDLC-like framing: the address and control bytes (0xff 0x03) are
/// optional (RFC 1662, address-and-control-field compression).
pub fn ppp(bytes: &[u8]) -> Found<'_> {
    match bytes {
        [0xff, 0x03, rest @ ..] => ppp_protocol(rest),
        _ => ppp_protocol(bytes),
    }
}

/// What the payload of an IP packet of protocol `ip_number` holds, when that protocol
/// is a tunnel; `None` for anything else (UDP to other ports, ICMP, …).
pub fn in_ip(ip_number: u8, payload: &[u8]) -> Option<Found<'_>> {
    match ip_number {
        // IP-in-IP (RFC 2003) and IPv6 in IPv4 or IPv6 (RFC 4213, RFC 2473).
        4 | 41 => Some(Found::Ip(payload)),
        47 => Some(gre(payload)),
        // MPLS in IP (RFC 4023).
        137 => Some(mpls(payload)),
        17 => udp(payload),
        _ => None,
    }
}

/// GRE (RFC 2784, RFC 2890) and PPTP's enhanced GRE (RFC 2637).
fn gre(bytes: &[u8]) -> Found<'_> {
    let (Some(&flags), Some(&version), Some(protocol)) = (bytes.first(), bytes.get(1), be16(bytes, 2)) else {
        return Found::NotIp;
    };
    let (checksum, routing, key, sequence) =
        (flags & 0x80 != 0, flags & 0x40 != 0, flags & 0x20 != 0, flags & 0x10 != 0);
    match version & 0x07 {
        0 if !routing => {
            let len = 4 + 4 * (usize::from(checksum) + usize::from(key) + usize::from(sequence));
            let rest = bytes.get(len..).unwrap_or_default();
            match protocol {
                // ERSPAN type I has no sequence number and no header of its own;
                // type II has both (Wireshark tells them apart the same way).
                ERSPAN_1_2 if !sequence => ethernet(rest),
                ERSPAN_1_2 => ethernet(rest.get(8..).unwrap_or_default()),
                // Type III: 12 bytes, and an 8-byte platform subheader when its O bit is set.
                ERSPAN_3 => {
                    let optional = rest.get(11).is_some_and(|b| b & 1 == 1);
                    ethernet(rest.get(12 + 8 * usize::from(optional)..).unwrap_or_default())
                }
                WCCP => Found::Ip(rest.get(4..).unwrap_or_default()),
                _ => ether(protocol, rest),
            }
        }
        // Enhanced GRE carries PPP; the acknowledgment number is optional.
        1 if protocol == PPP_IN_GRE => {
            let len = 8 + 4 * (usize::from(sequence) + usize::from(version & 0x80 != 0));
            ppp(bytes.get(len..).unwrap_or_default())
        }
        _ => Found::Unknown(Encap::Gre),
    }
}

/// UDP to a tunnel's port, as Wireshark decodes by default: VXLAN on 4789 (RFC 7348),
/// Geneve on 6081 (RFC 8926), MPLS on 6635 (RFC 7510).
fn udp(bytes: &[u8]) -> Option<Found<'_>> {
    let port = be16(bytes, 2)?;
    let payload = bytes.get(8..)?;
    match port {
        4789 => Some(ethernet(payload.get(8..).unwrap_or_default())),
        6081 => {
            let options = usize::from(payload.first()? & 0x3f) * 4;
            let protocol = be16(payload, 2)?;
            Some(ether(protocol, payload.get(8 + options..).unwrap_or_default()))
        }
        6635 => Some(mpls(payload)),
        _ => None,
    }
}

/// An 802.11 frame (without radiotap): a data frame's LLC/SNAP payload.
pub fn ieee80211(bytes: &[u8]) -> Found<'_> {
    let (Some(&fc0), Some(&fc1)) = (bytes.first(), bytes.get(1)) else { return Found::NotIp };
    // Type 2 is data; subtypes with bit 2 set (0x40 here) carry no data.
    if (fc0 >> 2) & 0x03 != 2 || fc0 & 0x40 != 0 {
        return Found::NotIp;
    }
    if fc1 & 0x40 != 0 {
        return Found::Unknown(Encap::Ieee80211Protected);
    }
    let qos = fc0 & 0x80 != 0;
    let four_addresses = fc1 & 0x03 == 0x03;
    let ht_control = qos && fc1 & 0x80 != 0;
    let len = 24 + 6 * usize::from(four_addresses) + 2 * usize::from(qos) + 4 * usize::from(ht_control);
    llc(bytes.get(len..).unwrap_or_default())
}

/// A radiotap header (its length is little-endian at bytes 2–3), then 802.11.
pub fn radiotap(bytes: &[u8]) -> Found<'_> {
    let Some(len) = bytes.get(2..4).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]]))) else {
        return Found::NotIp;
    };
    ieee80211(bytes.get(len..).unwrap_or_default())
}

/// An ARCNET soft header, from its protocol byte: RFC 1051's IP (0xf0) follows at
/// once; RFC 1201's (0xd4) after a split flag and a sequence number, and an exception
/// frame (split flag 0xff) repeats those four bytes after padding.
pub fn arcnet(bytes: &[u8]) -> Found<'_> {
    let start = match bytes {
        [0xf0, ..] => 1,
        [0xd4, 0xff, ..] => 8,
        [0xd4, ..] => 4,
        _ => return Found::NotIp,
    };
    Found::Ip(bytes.get(start..).unwrap_or_default())
}

/// Linux NFLOG (`LINKTYPE_NFLOG`): a 4-byte header, then type-length-value attributes
/// in the capturing host's byte order, padded to 4 bytes; type 9 is the packet.
pub fn nflog(bytes: &[u8]) -> Found<'_> {
    let mut at = 4;
    for _ in 0..64 {
        let Some(header) = bytes.get(at..at + 4) else { return Found::NotIp };
        // Which byte order the host had is not recorded: a length that does not fit
        // one order is read in the other.
        let le = (
            usize::from(u16::from_le_bytes([header[0], header[1]])),
            u16::from_le_bytes([header[2], header[3]]),
        );
        let be = (
            usize::from(u16::from_be_bytes([header[0], header[1]])),
            u16::from_be_bytes([header[2], header[3]]),
        );
        let fits = |len: usize| len >= 4 && at + len <= bytes.len();
        let (len, kind) = if fits(le.0) {
            le
        } else if fits(be.0) {
            be
        } else {
            return Found::NotIp;
        };
        if kind == 9 {
            return Found::Ip(&bytes[at + 4..at + len]);
        }
        at += len.div_ceil(4) * 4;
    }
    Found::NotIp
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [u8; 2] = [0x45, 0x00];

    fn with(head: &[u8]) -> Vec<u8> {
        [head, &IP[..]].concat()
    }

    #[test]
    fn vlan_in_qinq_then_mpls_stack_to_ip() {
        let bytes = with(&[0, 1, 0x81, 0x00, 0, 2, 0x88, 0x47, 0, 0, 0x10, 64, 0, 0, 0x21, 64]);
        assert_eq!(ether(QINQ, &bytes), Found::Ip(&IP));
    }

    #[test]
    fn mpls_payload_is_guessed_as_wireshark_does() {
        assert_eq!(ether(MPLS_UNICAST, &with(&[0, 0, 0x21, 64])), Found::Ip(&IP));
        assert_eq!(ether(MPLS_UNICAST, &[0, 0, 0x21, 64, 0x99, 1, 2, 3]), Found::Unknown(Encap::Mpls));
        // A control word, then an Ethernet frame of IPv4.
        let mut pw = vec![0, 0, 0x21, 64, 0, 0, 0, 0];
        pw.extend([0; 12]);
        pw.extend([0x08, 0x00]);
        assert_eq!(ether(MPLS_UNICAST, &with(&pw)), Found::Ip(&IP));
        // A stack that never ends is not a loop.
        assert_eq!(ether(MPLS_UNICAST, &[0; 400]), Found::Unknown(Encap::TooDeep));
    }

    #[test]
    fn pppoe_session_to_ip_and_control_protocols_are_not_ip() {
        assert_eq!(ether(PPPOE_SESSION, &with(&[0x11, 0, 0, 1, 0, 40, 0x00, 0x21])), Found::Ip(&IP));
        assert_eq!(ether(PPPOE_SESSION, &with(&[0x11, 0, 0, 1, 0, 40, 0xc0, 0x21])), Found::NotIp);
    }

    #[test]
    fn llc_snap_and_pbb() {
        assert_eq!(ether(100, &with(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00])), Found::Ip(&IP));
        assert_eq!(ether(100, &[0x42, 0x42, 0x03, 0, 0]), Found::NotIp);
        let mut pbb = vec![0; 16];
        pbb.extend([0x08, 0x00]);
        assert_eq!(ether(PBB, &with(&pbb)), Found::Ip(&IP));
    }

    #[test]
    fn gre_with_key_and_sequence_and_erspan() {
        let gre_ip = with(&[0x30, 0, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(in_ip(47, &gre_ip), Some(Found::Ip(&IP)));
        let mut erspan2 = vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 1];
        erspan2.extend([0; 8 + 12]);
        erspan2.extend([0x08, 0x00]);
        assert_eq!(in_ip(47, &with(&erspan2)), Some(Found::Ip(&IP)));
        assert_eq!(in_ip(47, &[0x40, 0, 0x08, 0x00, 0, 0, 0, 0]), Some(Found::Unknown(Encap::Gre)));
    }

    #[test]
    fn vxlan_and_geneve_by_port() {
        let mut vxlan = vec![0, 1, 0x12, 0xb5, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 1, 0];
        vxlan.extend([0; 12]);
        vxlan.extend([0x08, 0x00]);
        assert_eq!(in_ip(17, &with(&vxlan)), Some(Found::Ip(&IP)));
        let geneve = with(&[0, 1, 0x17, 0xc1, 0, 0, 0, 0, 0x01, 0, 0x08, 0x00, 0, 0, 1, 0, 9, 9, 9, 9]);
        assert_eq!(in_ip(17, &geneve), Some(Found::Ip(&IP)));
        assert_eq!(in_ip(17, &[0, 1, 0, 53, 0, 0, 0, 0]), None);
    }

    #[test]
    fn ppp_with_and_without_address_and_control() {
        assert_eq!(ppp(&with(&[0xff, 0x03, 0x00, 0x21])), Found::Ip(&IP));
        assert_eq!(ppp(&with(&[0x21])), Found::Ip(&IP));
    }

    #[test]
    fn nflog_payload_attribute() {
        let mut bytes = vec![2, 0, 0, 0];
        bytes.extend([8, 0, 1, 0, 0, 0, 0, 0]); // a 4-byte attribute of type 1
        bytes.extend([6, 0, 9, 0]);
        bytes.extend(IP);
        assert_eq!(nflog(&bytes), Found::Ip(&IP));
    }

    #[test]
    fn truncated_headers_are_not_ip_and_do_not_panic() {
        let whole = with(&[0x30, 0, 0x88, 0xbe, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x21, 64]);
        for end in 0..whole.len() {
            for ether_type in [VLAN, MPLS_UNICAST, PPPOE_SESSION, PBB, TEB, 60] {
                let _ = ether(ether_type, &whole[..end]);
            }
            for ip_number in [4, 17, 41, 47, 137] {
                let _ = in_ip(ip_number, &whole[..end]);
            }
            let _ = (radiotap(&whole[..end]), nflog(&whole[..end]), ppp(&whole[..end]));
        }
    }
}
