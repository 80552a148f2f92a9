//! The eight TCP control bits (RFC 9293 §3.1) as one byte, printed in header order.

use std::fmt;

/// The flag byte of a TCP header: `CWR ECE URG ACK PSH RST SYN FIN`, high bit first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    /// Names in the order the header (and the JSON contract) lists them.
    pub const NAMES: [(u8, &'static str); 8] = [
        (Self::CWR, "CWR"),
        (Self::ECE, "ECE"),
        (Self::URG, "URG"),
        (Self::ACK, "ACK"),
        (Self::PSH, "PSH"),
        (Self::RST, "RST"),
        (Self::SYN, "SYN"),
        (Self::FIN, "FIN"),
    ];

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }

    /// The names of the bits that are set, in header order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES.into_iter().filter(move |(bit, _)| self.has(*bit)).map(|(_, name)| name)
    }
}

impl TcpFlags {
    /// Writes `SYN,ACK`, `FIN,PSH,ACK` (low bit first, as Wireshark and textbooks write
    /// them), or `none` when no bit is set. Generic, so that a `String` gets the names
    /// pushed straight in: every segment line of a timeline has them, and going through
    /// a `Formatter` cost more than the rest of its arrow.
    pub fn write_to(self, out: &mut impl fmt::Write) -> fmt::Result {
        // The sets nearly every segment has, as one piece each.
        let common = match self.0 {
            0x10 => "ACK",
            0x18 => "PSH,ACK",
            0x02 => "SYN",
            0x12 => "SYN,ACK",
            0x11 => "FIN,ACK",
            0x19 => "FIN,PSH,ACK",
            0x04 => "RST",
            0x14 => "RST,ACK",
            _ => "",
        };
        if !common.is_empty() {
            return out.write_str(common);
        }
        let mut first = true;
        for (_, name) in Self::NAMES.iter().rev().filter(|(bit, _)| self.has(*bit)) {
            if !first {
                out.write_str(",")?;
            }
            out.write_str(name)?;
            first = false;
        }
        if first {
            out.write_str("none")?;
        }
        Ok(())
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_sets_read_as_the_general_rule_writes_them() {
        for bits in 0..=u8::MAX {
            let general: Vec<&str> = TcpFlags(bits).names().collect::<Vec<_>>().into_iter().rev().collect();
            let general = if general.is_empty() { "none".to_string() } else { general.join(",") };
            assert_eq!(TcpFlags(bits).to_string(), general, "flags {bits:#04x}");
        }
    }

    #[test]
    fn display_lists_bits_in_header_order() {
        let f = TcpFlags(TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(f.to_string(), "SYN,ACK");
        assert_eq!(f.names().collect::<Vec<_>>(), ["ACK", "SYN"]);
        assert_eq!(TcpFlags(0).to_string(), "none");
        assert_eq!(TcpFlags(0xff).names().count(), 8);
    }
}
