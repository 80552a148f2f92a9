//! Everything about one frame's IP and TCP headers, for `tcplab inspect`: where the TCP
//! header sits in the captured bytes, and the IP fields a student asks about.

use super::encap::Found;
use super::link::{self, Inner};
use crate::source::Frame;
use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// The IP header fields that matter to the lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpFacts {
    V4 { ttl: u8, total_len: u16, header_len: u8, dont_fragment: bool, id: u16 },
    V6 { hop_limit: u8, payload_len: u16, flow_label: u32 },
}

/// One frame's TCP header, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anatomy {
    pub ip: IpFacts,
    /// Offset of the TCP header in the frame's captured bytes.
    pub tcp_offset: usize,
    /// The whole TCP header, options included.
    pub tcp_header: Vec<u8>,
}

impl Anatomy {
    /// Locates the TCP header of `frame`; `None` for frames without a whole one.
    pub fn of(frame: &Frame<'_>) -> Option<Anatomy> {
        let packet = match link::strip(frame.link, frame.data).ok()? {
            Inner::Ethernet(bytes) => LaxSlicedPacket::from_ethernet(bytes).ok()?,
            Inner::EtherType(t, bytes) => LaxSlicedPacket::from_ether_type(t, bytes),
            Inner::Ip(bytes) | Inner::Walked(Found::Ip(bytes)) => LaxSlicedPacket::from_ip(bytes).ok()?,
            Inner::Walked(_) | Inner::Other => return None,
        };
        let ip = match packet.net.as_ref()? {
            LaxNetSlice::Ipv4(v4) => {
                let h = v4.header();
                IpFacts::V4 {
                    ttl: h.ttl(),
                    total_len: h.total_len(),
                    header_len: h.ihl() * 4,
                    dont_fragment: h.dont_fragment(),
                    id: h.identification(),
                }
            }
            LaxNetSlice::Ipv6(v6) => {
                let h = v6.header();
                IpFacts::V6 {
                    hop_limit: h.hop_limit(),
                    payload_len: h.payload_length(),
                    flow_label: h.flow_label().value(),
                }
            }
            LaxNetSlice::Arp(_) => return None,
        };
        let Some(TransportSlice::Tcp(tcp)) = &packet.transport else { return None };
        let header = tcp.header_slice();
        let tcp_offset = (header.as_ptr() as usize).checked_sub(frame.data.as_ptr() as usize)?;
        Some(Anatomy { ip, tcp_offset, tcp_header: header.to_vec() })
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.tcp_header[at], self.tcp_header[at + 1]])
    }

    pub fn source_port(&self) -> u16 {
        self.u16_at(0)
    }
    pub fn destination_port(&self) -> u16 {
        self.u16_at(2)
    }
    pub fn data_offset_words(&self) -> u8 {
        self.tcp_header[12] >> 4
    }
    pub fn reserved_bits(&self) -> u8 {
        self.tcp_header[12] & 0x0f
    }
    pub fn flags(&self) -> u8 {
        self.tcp_header[13]
    }
    pub fn window(&self) -> u16 {
        self.u16_at(14)
    }
    pub fn checksum(&self) -> u16 {
        self.u16_at(16)
    }
    pub fn urgent_pointer(&self) -> u16 {
        self.u16_at(18)
    }
    pub fn options(&self) -> &[u8] {
        &self.tcp_header[20..]
    }
}
