//! TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018): the few that tracking and display use.

use etherparse::{TcpOptionElement, TcpOptionsIterator};

/// The options of one segment that matter to tcplab.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size (SYN only).
    pub mss: Option<u16>,
    /// Window scale shift count (SYN only).
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// Number of SACK blocks carried.
    pub sack_blocks: u8,
    /// TSval, TSecr.
    pub timestamps: Option<(u32, u32)>,
    /// The options area could not be read to its end.
    pub malformed: bool,
}

impl TcpOptions {
    /// Reads the raw options area; a malformed option ends the walk and is remembered.
    pub fn parse(raw: &[u8]) -> TcpOptions {
        let mut out = TcpOptions::default();
        for element in TcpOptionsIterator::from_slice(raw) {
            match element {
                Ok(TcpOptionElement::MaximumSegmentSize(mss)) => out.mss = Some(mss),
                Ok(TcpOptionElement::WindowScale(shift)) => out.window_scale = Some(shift),
                Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => out.sack_permitted = true,
                Ok(TcpOptionElement::SelectiveAcknowledgement(_, rest)) => {
                    out.sack_blocks = 1 + rest.iter().flatten().count() as u8;
                }
                Ok(TcpOptionElement::Timestamp(val, ecr)) => out.timestamps = Some((val, ecr)),
                Ok(TcpOptionElement::Noop) => {}
                Err(_) => {
                    out.malformed = true;
                    break;
                }
            }
        }
        out
    }
}
