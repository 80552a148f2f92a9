//! Zeek's `history` letters and `conn_state` codes (conn.log), so that a summary can be
//! checked against a tool people already trust.
//!
//! Letters: S SYN, H SYN-ACK, A pure ACK, D payload, F FIN, R RST, T retransmitted
//! payload; upper case for the originator (our client), lower case for the responder.
//! Each letter is recorded once per direction, in order of first appearance.

use super::event::Direction;
use crate::decode::Segment;

/// One kind of history letter, in either case.
#[derive(Debug, Clone, Copy)]
enum Letter {
    Syn,
    SynAck,
    Ack,
    Data,
    Fin,
    Rst,
    Retransmitted,
}

impl Letter {
    /// The originator's (upper case) letter.
    fn upper(self) -> u8 {
        match self {
            Letter::Syn => b'S',
            Letter::SynAck => b'H',
            Letter::Ack => b'A',
            Letter::Data => b'D',
            Letter::Fin => b'F',
            Letter::Rst => b'R',
            Letter::Retransmitted => b'T',
        }
    }
}

/// The letters so far. Each of the 14 (7 each way) is written once, so they fit
/// inline, and a bit per letter says which were seen: the conn_state is read off
/// those bits, and a segment costs a few bit tests, not a search and an allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    letters: [u8; 14],
    len: u8,
    seen: u16,
}

impl History {
    pub fn record(&mut self, dir: Direction, seg: &Segment, retransmitted: bool) {
        let orig = dir == Direction::ClientToServer;
        let f = seg.flags;
        if f.syn() && f.ack() {
            self.push(orig, Letter::SynAck);
        } else if f.syn() {
            self.push(orig, Letter::Syn);
        }
        if f.fin() {
            self.push(orig, Letter::Fin);
        }
        if f.rst() {
            self.push(orig, Letter::Rst);
        }
        if seg.payload_len > 0 {
            self.push(orig, Letter::Data);
            if retransmitted {
                self.push(orig, Letter::Retransmitted);
            }
        } else if f.ack() && !f.syn() && !f.fin() && !f.rst() {
            self.push(orig, Letter::Ack);
        }
    }

    fn bit(orig: bool, letter: Letter) -> u16 {
        1 << (letter as u16 + if orig { 0 } else { 7 })
    }

    /// Whether the originator (`orig`) or the responder sent `letter`.
    fn has(&self, orig: bool, letter: Letter) -> bool {
        self.seen & History::bit(orig, letter) != 0
    }

    fn push(&mut self, orig: bool, letter: Letter) {
        let bit = History::bit(orig, letter);
        if self.seen & bit == 0 {
            self.seen |= bit;
            let upper = letter.upper();
            self.letters[usize::from(self.len)] = if orig { upper } else { upper.to_ascii_lowercase() };
            self.len += 1;
        }
    }

    pub fn letters(&self) -> &str {
        // Only ASCII letters are ever written.
        std::str::from_utf8(&self.letters[..usize::from(self.len)]).unwrap_or_default()
    }

    /// Zeek's summary of how the connection went.
    pub fn conn_state(&self) -> &'static str {
        use Letter::*;
        let orig = |letter| self.has(true, letter);
        let resp = |letter| self.has(false, letter);
        let established = orig(Syn) && resp(SynAck) && (orig(Ack) || orig(Data) || orig(Fin));
        if orig(Syn) && !resp(SynAck) {
            return if resp(Rst) {
                "REJ"
            } else if orig(Rst) {
                "RSTOS0"
            } else if orig(Fin) {
                "SH"
            } else {
                "S0"
            };
        }
        if !orig(Syn) && resp(SynAck) {
            return if resp(Rst) {
                "RSTRH"
            } else if resp(Fin) {
                "SHR"
            } else {
                "OTH"
            };
        }
        if !established {
            // A handshake answered but never completed, then aborted.
            return match (orig(Syn) && resp(SynAck), orig(Rst), resp(Rst)) {
                (true, true, _) => "RSTO",
                (true, _, true) => "RSTR",
                _ => "OTH",
            };
        }
        if orig(Rst) {
            "RSTO"
        } else if resp(Rst) {
            "RSTR"
        } else if orig(Fin) && resp(Fin) {
            "SF"
        } else if orig(Fin) {
            "S2"
        } else if resp(Fin) {
            "S3"
        } else {
            "S1"
        }
    }
}
