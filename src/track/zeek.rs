//! Zeek's `history` letters and `conn_state` codes (conn.log), so that a summary can be
//! checked against a tool people already trust.
//!
//! Letters: S SYN, H SYN-ACK, A pure ACK, D payload, F FIN, R RST, T retransmitted
//! payload; upper case for the originator (our client), lower case for the responder.
//! Each letter is recorded once per direction, in order of first appearance.

use super::event::Direction;
use crate::decode::Segment;
use smallvec::SmallVec;

/// The letters so far, with flags for the conn_state. There are 14 letters (7 each
/// way) and each is written once, so they fit inline: no allocation per connection.
#[derive(Debug, Clone, Default)]
pub struct History {
    letters: SmallVec<[u8; 14]>,
    orig_syn: bool,
    resp_syn: bool,
    resp_synack: bool,
    orig_synack: bool,
    orig_fin: bool,
    resp_fin: bool,
    orig_rst: bool,
    resp_rst: bool,
    orig_ack: bool,
    orig_data: bool,
    resp_data: bool,
}

impl History {
    pub fn record(&mut self, dir: Direction, seg: &Segment, retransmitted: bool) {
        let orig = dir == Direction::ClientToServer;
        let f = seg.flags;
        if f.syn() && f.ack() {
            self.push(orig, b'H');
            if orig { self.orig_synack = true } else { self.resp_synack = true }
        } else if f.syn() {
            self.push(orig, b'S');
            if orig { self.orig_syn = true } else { self.resp_syn = true }
        }
        if f.fin() {
            self.push(orig, b'F');
            if orig { self.orig_fin = true } else { self.resp_fin = true }
        }
        if f.rst() {
            self.push(orig, b'R');
            if orig { self.orig_rst = true } else { self.resp_rst = true }
        }
        if seg.payload_len > 0 {
            self.push(orig, b'D');
            if orig {
                self.orig_data = true
            } else {
                self.resp_data = true
            }
            if retransmitted {
                self.push(orig, b'T');
            }
        } else if f.ack() && !f.syn() && !f.fin() && !f.rst() {
            self.push(orig, b'A');
            if orig {
                self.orig_ack = true;
            }
        }
    }

    fn push(&mut self, orig: bool, letter: u8) {
        let letter = if orig { letter } else { letter.to_ascii_lowercase() };
        if !self.letters.contains(&letter) {
            self.letters.push(letter);
        }
    }

    pub fn letters(&self) -> &str {
        // Only ASCII letters are ever pushed.
        std::str::from_utf8(&self.letters).unwrap_or_default()
    }

    /// Zeek's summary of how the connection went.
    pub fn conn_state(&self) -> &'static str {
        let established =
            self.orig_syn && self.resp_synack && (self.orig_ack || self.orig_data || self.orig_fin);
        if self.orig_syn && !self.resp_synack {
            return if self.resp_rst {
                "REJ"
            } else if self.orig_rst {
                "RSTOS0"
            } else if self.orig_fin {
                "SH"
            } else {
                "S0"
            };
        }
        if !self.orig_syn && self.resp_synack {
            return if self.resp_rst {
                "RSTRH"
            } else if self.resp_fin {
                "SHR"
            } else {
                "OTH"
            };
        }
        if !established {
            // A handshake answered but never completed, then aborted.
            return match (self.orig_syn && self.resp_synack, self.orig_rst, self.resp_rst) {
                (true, true, _) => "RSTO",
                (true, _, true) => "RSTR",
                _ => "OTH",
            };
        }
        if self.orig_rst {
            "RSTO"
        } else if self.resp_rst {
            "RSTR"
        } else if self.orig_fin && self.resp_fin {
            "SF"
        } else if self.orig_fin {
            "S2"
        } else if self.resp_fin {
            "S3"
        } else {
            "S1"
        }
    }
}
