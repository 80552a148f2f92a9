//! Zeek's `history` letters and `conn_state` codes (conn.log), so that a summary can be
//! checked against a tool people already trust.
//!
//! Letters: S SYN, H SYN-ACK, A pure ACK, D payload, F FIN, R RST, T retransmitted
//! payload; upper case for the originator (our client), lower case for the responder.
//! Each letter is recorded once per direction, in order of first appearance; `^` first
//! when the connection's first segment came from the responder (Zeek flips the roles
//! then, and writes `^`).
//!
//! Which end is the originator of a connection whose opening SYN was not captured is
//! also Zeek's guess (`TCPAnalyzer::WantConnection`): the first packet's sender, unless
//! its port is one of Zeek's likely server ports (below) and the other port is not.
//!
//! `conn_state` is decided as Zeek decides it: from two endpoint states that follow
//! Zeek's TCP analyzer (`TCPSessionAdapter::UpdateStateMachine`: INACTIVE, SYN_SENT,
//! SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET), read by the `conn_state`
//! function of Zeek's `base/protocols/conn/main.zeek`.

use super::event::Direction;
use crate::decode::Segment;

/// Zeek's `likely_server_ports` for TCP: the server ports its base protocol scripts
/// register (`Analyzer::register_for_ports` adds each analyzer's `ports` to it), in
/// Zeek 7. Sorted, for a binary search.
const LIKELY_SERVER_PORTS: [u16; 47] = [
    21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 502, 563, 585, 587, 614, 631, 636, 989,
    990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666,
    6667, 6668, 6669, 8000, 8080, 8888, 20000,
];

/// Whether Zeek takes `port` to be a server's.
pub fn likely_server_port(port: u16) -> bool {
    LIKELY_SERVER_PORTS.binary_search(&port).is_ok()
}

/// Whether Zeek makes the receiver of a connection's first segment its originator
/// (and writes `^`): the first segment is no bare SYN, its source port is a likely
/// server port, and its destination port is not; or both are, and the segment is no
/// SYN-ACK (a stealth scan's) and comes from the lower port (`WantConnection`).
pub fn flips_first(src_port: u16, dst_port: u16, flags: crate::track::flags::TcpFlags) -> bool {
    if (flags.syn() && !flags.ack()) || !likely_server_port(src_port) {
        return false;
    }
    if likely_server_port(dst_port) { !flags.syn() && src_port < dst_port } else { true }
}

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

/// One endpoint's state in Zeek's TCP analyzer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Endpoint {
    /// Nothing seen from it.
    #[default]
    Inactive,
    /// A SYN seen, no answer.
    SynSent,
    /// A SYN-ACK from the originator, no SYN.
    SynAckSent,
    /// Data or ACKs seen, but no SYN.
    Partial,
    Established,
    /// A FIN seen.
    Closed,
    /// A RST seen.
    Reset,
}

/// Both endpoints, with the state each was in before its last change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Endpoints {
    /// Originator, responder.
    state: [Endpoint; 2],
    prev: [Endpoint; 2],
}

impl Endpoints {
    fn set(&mut self, i: usize, to: Endpoint) {
        self.prev[i] = self.state[i];
        self.state[i] = to;
    }

    /// One segment from the originator (`orig`) or the responder, as Zeek's
    /// `UpdateStateMachine` takes it.
    fn update(&mut self, orig: bool, f: crate::track::flags::TcpFlags, len: u32) {
        use Endpoint::*;
        let (me, peer) = if orig { (0, 1) } else { (1, 0) };
        match self.state[me] {
            Inactive => {
                if f.syn() {
                    if orig {
                        self.set(me, if f.ack() { SynAckSent } else { SynSent });
                    } else {
                        if self.state[peer] == SynSent {
                            self.set(peer, Established);
                        }
                        self.set(me, Established);
                    }
                }
                if f.fin() {
                    self.set(me, Closed);
                }
                if f.rst() {
                    self.set(me, Reset);
                }
                if self.state[me] == Inactive {
                    if !orig && len == 0 && self.state[0] == SynSent {
                        // An ACK of the SYN before the SYN-ACK: not a partial connection.
                    } else if f.ack() && self.state[peer] == Established {
                        // A SYN-ACK was seen, its SYN was missed: established.
                        self.set(me, Established);
                    } else {
                        self.set(me, Partial);
                    }
                }
            }
            SynSent | SynAckSent => {
                if f.fin() {
                    self.set(me, Closed);
                }
                if f.rst() {
                    self.set(me, Reset);
                }
            }
            Established | Partial => {
                if f.syn() && self.state[me] == Partial && self.state[peer] == Inactive && !f.ack() {
                    self.set(me, SynSent);
                }
                if f.fin() && !f.rst() {
                    self.set(me, Closed);
                    if self.state[peer] == Reset && self.prev[peer] == Closed {
                        // The peer's FIN then RST was a normal close after all.
                        self.set(peer, Closed);
                    }
                }
                if f.rst() {
                    self.set(me, Reset);
                }
            }
            // After a FIN exchange a RST changes nothing.
            Closed => {
                if f.rst() && self.state[peer] != Closed {
                    self.set(me, Reset);
                }
            }
            Reset => {}
        }
    }
}

/// The letters so far. Each of the 14 (7 each way) is written once, plus `^`, so they
/// fit inline, and a bit per letter says which were seen: a segment costs a few bit
/// tests, not a search and an allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    letters: [u8; 15],
    len: u8,
    seen: u16,
    endpoints: Endpoints,
    /// Payload bytes from the originator and the responder (Zeek's endpoint sizes).
    sizes: [u64; 2],
}

impl History {
    pub fn record(&mut self, dir: Direction, seg: &Segment, retransmitted: bool) {
        let orig = dir == Direction::ClientToServer;
        let f = seg.flags;
        if self.len == 0 && !orig {
            // The first segment came from the responder: Zeek flips the roles.
            self.letters[0] = b'^';
            self.len = 1;
        }
        self.endpoints.update(orig, f, seg.payload_len);
        self.sizes[usize::from(!orig)] += u64::from(seg.payload_len);
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

    fn push(&mut self, orig: bool, letter: Letter) {
        let bit = History::bit(orig, letter);
        if self.seen & bit == 0 {
            self.seen |= bit;
            let upper = letter.upper();
            self.letters[usize::from(self.len)] = if orig { upper } else { upper.to_ascii_lowercase() };
            self.len += 1;
        }
    }

    /// Zeek's `/\^?S[^HAFGIQ]*R.*/` (case-sensitive): the originator's SYN, then its
    /// RST with no originator's SYN-ACK, ACK or FIN letter between them.
    fn syn_then_reset(&self) -> bool {
        let letters = self.letters().trim_start_matches('^').as_bytes();
        letters.first() == Some(&b'S')
            && letters[1..].iter().take_while(|&&l| l != b'R').all(|l| !b"HAFGIQ".contains(l))
            && letters.contains(&b'R')
    }

    pub fn letters(&self) -> &str {
        // Only ASCII letters are ever written.
        std::str::from_utf8(&self.letters[..usize::from(self.len)]).unwrap_or_default()
    }

    /// Zeek's summary of how the connection went: `conn_state` of Zeek's
    /// `base/protocols/conn/main.zeek`, on the endpoint states.
    pub fn conn_state(&self) -> &'static str {
        use Endpoint::*;
        let [os, rs] = self.endpoints.state;
        let o_inactive = matches!(os, Inactive | Partial);
        let r_inactive = matches!(rs, Inactive | Partial);
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent) || (os == Reset && self.sizes == [0, 0]) {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if !r_inactive {
                "RSTO"
            } else if self.syn_then_reset() {
                "RSTOS0"
            } else {
                "OTH"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r_inactive { "SH" } else { "S2" }
        } else if rs == Closed {
            if o_inactive { "SHR" } else { "S3" }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::flags::TcpFlags;

    #[test]
    fn the_port_list_is_sorted_for_its_search() {
        assert!(LIKELY_SERVER_PORTS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn zeek_flips_only_from_a_likely_server_port() {
        let (ack, syn_ack) = (TcpFlags(0x10), TcpFlags(0x12));
        assert!(flips_first(443, 51000, ack));
        assert!(!flips_first(51000, 443, ack));
        // Neither port on the list: the first sender stays the originator.
        assert!(!flips_first(9000, 51000, ack));
        // Both on it: the lower port is the server, unless it is a SYN-ACK.
        assert!(flips_first(80, 8080, ack));
        assert!(!flips_first(8080, 80, ack));
        assert!(!flips_first(80, 8080, syn_ack));
        assert!(flips_first(80, 51000, syn_ack));
    }
}
