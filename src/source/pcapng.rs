//! pcapng files read block by block with `pcap-file`, every interface with its own link
//! type and timestamp resolution.
//!
//! libpcap reads a pcapng file only while every interface has the link type (and snap
//! length) of the first: a file that Wireshark wrote from Ethernet and `any` (Linux
//! cooked) at once stopped at the first packet of the second interface, as if the file
//! were cut. Here each packet block names its interface, and the interface gives the
//! link type, `if_tsresol` and `if_tsoffset` (pcapng §4.2), as Wireshark reads them.
//! pcap-file reads the section header and frames the blocks; the fields tcplab needs
//! of an interface description and of a packet block are read here, so that an odd
//! option (pcap-file refuses some that libpcap and Wireshark accept) does not lose
//! an interface or a packet. A section header that pcap-file refuses is left to
//! libpcap, as before.

use super::readbuf::ReadBuf;
use super::{LinkType, Timestamp};
use byteorder_free::Order;
use pcap_file::pcapng::PcapNgParser;
use pcap_file::{Endianness, PcapError};
use std::fs::File;
use std::path::Path;

/// The magic number that opens a pcapng file (its section header block's type).
pub const MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// Bytes read at a time.
const CHUNK: usize = 1 << 20;
/// The largest block read: a packet within libpcap's largest snap length (256 KiB)
/// with room for options. A block claiming more is reported as damage, so a hostile
/// length cannot make the buffer grow.
const MAX_BLOCK: usize = 16 << 20;

const INTERFACE_DESCRIPTION: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;

/// One interface of the current section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp units per second (`if_tsresol`; 10⁶ when absent).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

impl Interface {
    fn timestamp(&self, ticks: u64) -> Timestamp {
        let units = self.units_per_sec.max(1);
        let secs = i64::try_from(ticks / units).unwrap_or(i64::MAX).saturating_add(self.offset_secs);
        let nanos = (u128::from(ticks % units) * 1_000_000_000 / u128::from(units)) as i64;
        Timestamp::from_secs_nanos(secs, nanos)
    }
}

/// `if_tsresol`: a power of ten, or of two when the high bit is set; `None` when it
/// does not fit 64 bits.
fn units_per_sec(resolution: u8) -> Option<u64> {
    let exponent = u32::from(resolution & 0x7f);
    if resolution & 0x80 == 0 { 10u64.checked_pow(exponent) } else { 2u64.checked_pow(exponent) }
}

/// One packet: its interface's link type, when, how long on the wire, the bytes kept.
pub struct NgRecord<'a> {
    pub link: LinkType,
    pub ts: Timestamp,
    pub wire_len: u32,
    pub data: &'a [u8],
}

/// What the next read found.
pub enum NgNext<'a> {
    Record(NgRecord<'a>),
    /// The file ended after a whole block.
    End,
    /// The file is cut or damaged from here on: why.
    Damaged(String),
}

pub struct NgRecords {
    /// The file, read into a buffer that grows to hold the largest block.
    input: ReadBuf,
    /// The current section's byte order.
    order: Order,
    interfaces: Vec<Interface>,
}

impl NgRecords {
    /// Opens `path` when it starts with a pcapng section header; `Ok(None)` when it is
    /// not pcapng at all or its section header is one for libpcap to judge, `Err` with
    /// why when the file ends inside it.
    pub fn open(path: &Path) -> std::io::Result<Option<Result<NgRecords, String>>> {
        let mut input = ReadBuf::new(File::open(path)?, CHUNK);
        input.refill()?;
        if input.buf[..input.end].get(..4) != Some(&MAGIC[..]) {
            return Ok(None);
        }
        loop {
            match PcapNgParser::new(&input.buf[..input.end]) {
                Ok((rest, parser)) => {
                    input.pos = input.end - rest.len();
                    let order = Order(parser.section().endianness == Endianness::Little);
                    return Ok(Some(Ok(NgRecords { input, order, interfaces: Vec::new() })));
                }
                Err(PcapError::IncompleteBuffer) => {
                    if input.end >= MAX_BLOCK || !input.grow_and_refill(MAX_BLOCK)? {
                        return Ok(Some(Err("the file ends inside its section header".into())));
                    }
                }
                Err(_) => return Ok(None),
            }
        }
    }

    pub fn next_record(&mut self) -> NgNext<'_> {
        // Blocks up to the next packet block; the packet is borrowed only after the loop.
        let (kind, body_at, body_len) = loop {
            let (kind, body_at, body_len) = loop {
                let input = &mut self.input;
                match frame(&input.buf[input.pos..input.end], self.order) {
                    Framed::Block { kind, len } => {
                        let (body_at, body_len) = (input.pos + 8, len - 12);
                        input.pos += len;
                        break (kind, body_at, body_len);
                    }
                    Framed::Incomplete { claimed } => {
                        if input.pos == input.end {
                            match input.refill() {
                                Ok(true) => continue,
                                Ok(false) => return NgNext::End,
                                Err(e) => return NgNext::Damaged(e.to_string()),
                            }
                        }
                        if claimed.is_some_and(|len| len > MAX_BLOCK) {
                            let len = claimed.unwrap_or_default();
                            return NgNext::Damaged(format!("a block claims {len} bytes"));
                        }
                        match input.grow_and_refill(MAX_BLOCK) {
                            Ok(true) => {}
                            Ok(false) => return NgNext::Damaged("the file ends inside a block".into()),
                            Err(e) => return NgNext::Damaged(e.to_string()),
                        }
                    }
                    Framed::Bad(why) => return NgNext::Damaged(why.into()),
                }
            };
            let body = &self.input.buf[body_at..body_at + body_len];
            match kind {
                INTERFACE_DESCRIPTION => match interface(body, self.order) {
                    Some(interface) => self.interfaces.push(interface),
                    None => return NgNext::Damaged("an interface description is too short".into()),
                },
                // A new section: its own byte order (from its magic), and no interfaces.
                0x0a0d_0d0a => {
                    match body.get(..4) {
                        Some([0x4d, 0x3c, 0x2b, 0x1a]) => self.order = Order(true),
                        Some([0x1a, 0x2b, 0x3c, 0x4d]) => self.order = Order(false),
                        _ => return NgNext::Damaged("a section header has no byte-order magic".into()),
                    }
                    self.interfaces.clear();
                }
                ENHANCED_PACKET | OBSOLETE_PACKET | SIMPLE_PACKET => break (kind, body_at, body_len),
                _ => {}
            }
        };
        match packet(kind, &self.input.buf[body_at..body_at + body_len], self.order.0, &self.interfaces) {
            Ok(record) => NgNext::Record(record),
            Err(why) => NgNext::Damaged(why),
        }
    }
}

/// What the bytes at the read position hold.
enum Framed {
    /// A whole block of `len` bytes (header and trailer included) of type `kind`.
    Block {
        kind: u32,
        len: usize,
    },
    /// Not all of it is read yet; the length it claims, when known.
    Incomplete {
        claimed: Option<usize>,
    },
    Bad(&'static str),
}

/// Frames one block (pcapng §3.1): type, total length, body, the length again. A
/// section header's length is read in its own byte order (from its magic), whatever
/// the previous section's was.
fn frame(unread: &[u8], order: Order) -> Framed {
    let (Some(kind), Some(head)) = (unread.get(..4), unread.get(..12)) else {
        return Framed::Incomplete { claimed: None };
    };
    let order = match head[8..12] {
        _ if kind != MAGIC => order,
        [0x4d, 0x3c, 0x2b, 0x1a] => Order(true),
        [0x1a, 0x2b, 0x3c, 0x4d] => Order(false),
        _ => return Framed::Bad("a section header has no byte-order magic"),
    };
    let (Some(kind), Some(len)) = (order.u32(kind), order.u32(&head[4..8])) else {
        return Framed::Bad("unreadable block header");
    };
    let len = len as usize;
    if len < 12 || !len.is_multiple_of(4) {
        return Framed::Bad("a block length is not a multiple of 4 of at least 12");
    }
    match unread.get(len - 4..len) {
        None => Framed::Incomplete { claimed: Some(len) },
        Some(trailer) if order.u32(trailer) == Some(len as u32) => Framed::Block { kind, len },
        Some(_) => Framed::Bad("a block's two lengths differ"),
    }
}

/// An interface description's body (pcapng §4.2): link type, snap length, and the
/// two options that change timestamps. `None` when the fixed part is cut.
fn interface(body: &[u8], order: Order) -> Option<Interface> {
    let mut out = Interface {
        link: LinkType(i32::from(order.u16(body.get(..2)?)?)),
        snaplen: order.u32(body.get(4..8)?)?,
        units_per_sec: 1_000_000,
        offset_secs: 0,
    };
    let mut options = body.get(8..)?;
    // Options: code, length, value padded to 4 bytes; code 0 ends them.
    while let (Some(code), Some(len)) =
        (options.get(..2).and_then(|b| order.u16(b)), options.get(2..4).and_then(|b| order.u16(b)))
    {
        let len = usize::from(len);
        let Some(value) = options.get(4..4 + len) else { break };
        match (code, value) {
            (0, _) => break,
            (9, [resolution]) => out.units_per_sec = units_per_sec(*resolution).unwrap_or(1_000_000),
            (14, value) if len == 8 => out.offset_secs = order.u64(value).unwrap_or(0) as i64,
            _ => {}
        }
        options = options.get(4 + len.div_ceil(4) * 4..).unwrap_or_default();
    }
    Some(out)
}

/// Byte order of a section: `Order(true)` is little-endian.
mod byteorder_free {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Order(pub bool);

    impl Order {
        pub fn u16(self, b: &[u8]) -> Option<u16> {
            let b: [u8; 2] = b.get(..2)?.try_into().ok()?;
            Some(if self.0 { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
        }
        pub fn u32(self, b: &[u8]) -> Option<u32> {
            let b: [u8; 4] = b.get(..4)?.try_into().ok()?;
            Some(if self.0 { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
        }
        pub fn u64(self, b: &[u8]) -> Option<u64> {
            let b: [u8; 8] = b.get(..8)?.try_into().ok()?;
            Some(if self.0 { u64::from_le_bytes(b) } else { u64::from_be_bytes(b) })
        }
    }
}

/// The packet in a packet block's body (pcapng §4.3, §4.4, and the obsolete §B.1).
fn packet<'a>(
    kind: u32,
    body: &'a [u8],
    little: bool,
    interfaces: &[Interface],
) -> Result<NgRecord<'a>, String> {
    let word = |at: usize| -> Result<u32, String> {
        let b = body.get(at..at + 4).ok_or("a packet block is shorter than its header")?;
        let b = [b[0], b[1], b[2], b[3]];
        Ok(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let (interface_id, ticks, captured, wire_len, data_at) = match kind {
        ENHANCED_PACKET => {
            (word(0)?, (u64::from(word(4)?) << 32) | u64::from(word(8)?), word(12)?, word(16)?, 20)
        }
        OBSOLETE_PACKET => {
            // A 16-bit interface id and a 16-bit drop count share the first word.
            let first = word(0)?;
            let id = if little { first & 0xffff } else { first >> 16 };
            (id, (u64::from(word(4)?) << 32) | u64::from(word(8)?), word(12)?, word(16)?, 20)
        }
        _ => {
            // A simple packet block belongs to the first interface and has no time; it
            // holds as much as the snap length kept.
            let wire = word(0)?;
            let snaplen =
                interfaces.first().map_or(u32::MAX, |i| if i.snaplen == 0 { u32::MAX } else { i.snaplen });
            let room = u32::try_from(body.len() - 4).unwrap_or(u32::MAX);
            (0, 0, wire.min(snaplen).min(room), wire, 4)
        }
    };
    let interface = interfaces
        .get(interface_id as usize)
        .ok_or_else(|| format!("a packet names interface {interface_id}, which was not described"))?;
    let data = body
        .get(data_at..data_at + captured as usize)
        .ok_or_else(|| format!("a packet block claims {captured} bytes but holds fewer"))?;
    Ok(NgRecord { link: interface.link, ts: interface.timestamp(ticks), wire_len, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_and_offsets_give_nanoseconds() {
        let micro = Interface { link: LinkType(1), snaplen: 0, units_per_sec: 1_000_000, offset_secs: 0 };
        assert_eq!(micro.timestamp(1_700_000_000_123_456), Timestamp(1_700_000_000_123_456_000));
        let binary = Interface { units_per_sec: units_per_sec(0x80 | 10).unwrap(), offset_secs: 5, ..micro };
        assert_eq!(binary.timestamp(1024 * 3 + 512), Timestamp(8_500_000_000));
        assert_eq!(units_per_sec(9), Some(1_000_000_000));
        assert_eq!(units_per_sec(100), None);
    }
}
