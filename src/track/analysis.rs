//! Wireshark's TCP sequence analysis ("expert notes"): retransmissions, duplicate
//! ACKs, lost and unseen segments, windows and keep-alives, one direction at a time.
//!
//! The rules are Wireshark's own (`tcp_analyze_sequence_number` in packet-tcp.c,
//! release 4.0), checked in the same order and with the same thresholds, so that a
//! lecturer can hold tcplab's notes against Wireshark's `tcp.analysis.*` flags frame
//! by frame. docs/expert-notes.md states each rule and where it guesses. They are
//! heuristics about a capture point, not facts about the hosts: a capture that drops
//! packets, or that is taken on the receiver instead of the sender, changes them.

use super::event::{Note, Role};
use super::seq::SeqNum;
use crate::decode::Segment;
use crate::source::FrameNumber;
use std::collections::VecDeque;

/// A resent segment that the other end's duplicate ACKs asked for, sent within this
/// many seconds of the last of them, is a fast retransmission (Wireshark: 20 ms).
const FAST_RETRANSMISSION_WITHIN: f64 = 0.020;
/// Before the handshake's round trip is known, a segment below the highest sequence
/// number sent within this many seconds of it is out of order (Wireshark: 3 ms).
const OUT_OF_ORDER_DEFAULT: f64 = 0.003;
/// At most this many unacknowledged data segments are remembered per direction, to
/// name the frame a retransmission repeats; the oldest is forgotten first. (Wireshark
/// keeps up to 10,000 and names the oldest unacknowledged one.)
const UNACKED_KEPT: usize = 64;

/// What one direction has shown so far.
#[derive(Debug, Clone, Default)]
struct Flow {
    /// One past the highest sequence number sent (SYN and FIN count one each), the
    /// frame that reached it and when.
    next_seq: Option<SeqNum>,
    next_seq_frame: FrameNumber,
    next_seq_ts: f64,
    /// One past the end of the sequence space sent without a gap: an ACK beyond it
    /// acknowledges a segment the capture missed.
    max_seq_to_be_acked: Option<SeqNum>,
    /// The ack field and window of this direction's last segment, and when it was sent.
    last_ack: Option<SeqNum>,
    last_ack_ts: f64,
    /// The ack of this direction's last segment with the ACK flag: a segment without
    /// it (a bare RST carries 0 there) acknowledges nothing.
    acked: Option<SeqNum>,
    /// The ack that was last noted as acknowledging bytes the capture missed, while
    /// the other end has sent nothing since: the same ack is not noted again for the
    /// same hole (as Wireshark does); a higher one is a new hole.
    unseen_noted: Option<SeqNum>,
    window: Option<u16>,
    /// Duplicate ACKs in a row, and the frame of the ACK they repeat.
    dup_acks: u32,
    last_non_dup_ack: FrameNumber,
    /// What the last segment was, for the ACKs that answer keep-alives and probes.
    last_was_keep_alive: bool,
    last_was_zero_window_probe: bool,
    /// Data segments sent and not yet acknowledged: where each starts and ends, its
    /// frame and when it left.
    unacked: VecDeque<Sent>,
    /// The SYNs (bare, then with ACK) sent so far and when the last one left, for
    /// SYN retransmissions.
    syns_sent: u32,
    syn_acks_sent: u32,
    last_syn_ts: f64,
}

/// One data segment waiting for its acknowledgment.
#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: SeqNum,
    end: SeqNum,
    frame: FrameNumber,
    ts: f64,
}

/// The analysis of one connection, both directions.
#[derive(Debug, Clone, Default)]
pub struct SeqAnalysis {
    flows: [Flow; 2],
    /// When the most recent bare SYN (either end's) was seen, and the handshake's round
    /// trip (from it to the first ACK): out-of-order segments arrive within one round trip.
    last_bare_syn_ts: Option<f64>,
    first_rtt: Option<f64>,
}

impl SeqAnalysis {
    /// Analyses one segment sent by `me` and appends its notes, in Wireshark's order.
    /// `peer_window_shift` is the scale of the windows the peer advertises, `None`
    /// while its SYN has not been seen (then "window full" cannot be judged).
    pub fn analyse(
        &mut self,
        me: Role,
        seg: &Segment,
        frame: FrameNumber,
        ts: f64,
        peer_window_shift: Option<u8>,
        notes: &mut Vec<Note>,
    ) {
        let flags = seg.flags;
        if flags.syn() && !flags.ack() {
            self.last_bare_syn_ts = Some(ts);
        }
        if flags.ack() && !flags.syn() && self.first_rtt.is_none() {
            self.first_rtt = self.last_bare_syn_ts.map(|syn| ts - syn);
        }
        let out_of_order_within = self.first_rtt.filter(|&rtt| rtt > 0.0).unwrap_or(OUT_OF_ORDER_DEFAULT);
        let [client, server] = &mut self.flows;
        let (fwd, rev) = match me {
            Role::Client => (client, server),
            Role::Server => (server, client),
        };

        let (seq, ack, len, window) = (seg.seq, seg.ack, seg.payload_len, seg.window);
        let control = flags.syn() || flags.fin() || flags.rst();
        // The sequence number just below the next one: where keep-alives point.
        let below_next = fwd.next_seq.map(|next| next.plus(u32::MAX));
        // A segment that carries nothing new: same place, same acknowledgment.
        let repeats_place = len == 0 && !control && Some(seq) == fwd.next_seq && Some(ack) == fwd.last_ack;
        let mut keep_alive = false;
        let mut zero_window_probe = false;

        // The checks about this direction's own flow; some end the list early.
        'own: {
            // Wireshark knows the probe of RFC 9293 §3.8.6.1: one new byte pushed into
            // the closed window. Linux probes instead with an empty segment one byte
            // below the next one, shaped like a keep-alive, and Wireshark calls it a
            // keep-alive; into a window the peer closed, tcplab calls it a probe.
            let rfc_probe = len == 1 && Some(seq) == fwd.next_seq;
            let linux_probe = len == 0 && !control && Some(seq) == below_next;
            if (rfc_probe || linux_probe) && rev.window == Some(0) {
                zero_window_probe = true;
                notes.push(Note::ZeroWindowProbe);
                break 'own;
            }
            if window == 0 && !control {
                notes.push(Note::ZeroWindow);
            }
            if !flags.rst() && fwd.next_seq.is_some_and(|next| seq.after(next)) {
                notes.push(Note::PreviousSegmentNotCaptured);
            }
            if len <= 1 && !control && Some(seq) == below_next {
                keep_alive = true;
                notes.push(Note::KeepAlive);
            }
            if repeats_place && window != 0 && Some(window) != fwd.window {
                notes.push(Note::WindowUpdate);
            }
            if len > 0
                && !control
                && let (Some(shift), Some(peer_ack), Some(peer_window)) =
                    (peer_window_shift, rev.last_ack, rev.window)
                && seq.plus(len) == peer_ack.plus(u32::from(peer_window) << shift.min(14))
            {
                notes.push(Note::WindowFull);
            }
            if repeats_place && window != 0 && Some(window) == fwd.window && rev.last_was_keep_alive {
                notes.push(Note::KeepAliveAck);
                break 'own;
            }
            if repeats_place && window == 0 && fwd.window == Some(0) && rev.last_was_zero_window_probe {
                notes.push(Note::ZeroWindowProbeAck);
                break 'own;
            }
            if repeats_place && window != 0 && Some(window) == fwd.window {
                fwd.dup_acks += 1;
                notes.push(Note::DupAck { of: fwd.last_non_dup_ack, count: fwd.dup_acks });
            }
        }
        if Some(ack) != fwd.last_ack {
            fwd.last_non_dup_ack = frame;
            fwd.dup_acks = 0;
        }

        // An acknowledgment of bytes this capture never saw go the other way. As in
        // Wireshark 4.0, the mark moves to the other end's next sequence number, and
        // the hole is noted once: the same ack again only after the other end sends
        // more, a higher ack (a further hole) at once.
        if flags.ack()
            && fwd.unseen_noted != Some(ack)
            && rev.max_seq_to_be_acked.is_some_and(|max| ack.after(max))
        {
            notes.push(Note::AckedUnseen);
            rev.max_seq_to_be_acked = rev.next_seq;
            fwd.unseen_noted = Some(ack);
        }
        // The other end has sent something since: a hole still open is noted again.
        rev.unseen_noted = None;

        // In a simultaneous open an end answers the other's SYN with a SYN-ACK that
        // repeats its own SYN's sequence number: RFC 9293's "rcv SYN / snd SYN,ACK",
        // not a resend. Wireshark calls it a retransmission; tcplab does not.
        let answers_crossing_syn = flags.syn() && flags.ack() && fwd.syns_sent > 0 && fwd.syn_acks_sent == 0;
        // A segment with data (or SYN or FIN) that does not advance the sequence
        // space is resent, or overtaken on the way. A keep-alive is neither.
        if (len > 0 || flags.syn() || flags.fin()) && !keep_alive && !answers_crossing_syn {
            let mut not_advanced = fwd.next_seq.is_some_and(|next| seq.before(next));
            // One byte below the next one with more data: the end of a window probe,
            // now followed by new data.
            if len > 1 && Some(seq) == below_next {
                not_advanced = false;
            }
            // The segment first sent at this sequence number, if still remembered;
            // else the one that last moved the sequence space forward.
            let original = || {
                let (of, sent_ts) = fwd
                    .unacked
                    .iter()
                    .find(|sent| sent.seq == seq)
                    .map_or((fwd.next_seq_frame, fwd.next_seq_ts), |sent| (sent.frame, sent.ts));
                let after_us = ((ts - sent_ts).max(0.0) * 1e6).round() as u64;
                Note::Retransmission { of, after_us }
            };
            if not_advanced
                && rev.dup_acks >= 2
                && rev.last_ack == Some(seq)
                && ts - rev.last_ack_ts < FAST_RETRANSMISSION_WITHIN
            {
                // Wireshark shows a fast retransmission as a retransmission too.
                let resend = original();
                if let Note::Retransmission { of, .. } = resend {
                    notes.push(Note::FastRetransmission { of });
                }
                notes.push(resend);
            } else if len > 0 && rev.acked.is_some_and(|peer_ack| seq.plus(len).before_or_at(peer_ack)) {
                // Bytes already acknowledged, whatever the timing: checked before
                // out-of-order, as in Wireshark 4.0. Wireshark shows it as a
                // retransmission too.
                notes.push(Note::SpuriousRetransmission);
                notes.push(original());
            } else if not_advanced
                && ts - fwd.next_seq_ts < out_of_order_within
                && fwd.next_seq != Some(seq.plus(len + u32::from(flags.syn() || flags.fin())))
            {
                notes.push(Note::OutOfOrder);
            } else if not_advanced {
                notes.push(original());
            }
        }
        if flags.syn() {
            let sent = if flags.ack() { &mut fwd.syn_acks_sent } else { &mut fwd.syns_sent };
            *sent += 1;
            let attempt = *sent;
            if attempt > 1 {
                // The kernel's retransmission timer doubles after each try: the gaps
                // between attempts tell the timeouts.
                let after_us = ((ts - fwd.last_syn_ts).max(0.0) * 1e6).round() as u64;
                notes.push(Note::SynRetransmission { attempt, after_us });
            }
            fwd.last_syn_ts = ts;
        }

        // Remember where this direction stands. A window probe's byte does not move
        // the sequence space: the receiver will not keep it.
        let end = seq.plus(len + u32::from(flags.syn()) + u32::from(flags.fin()));
        if !zero_window_probe {
            if fwd.next_seq.is_none_or(|next| end.after(next)) {
                fwd.next_seq = Some(end);
                fwd.next_seq_frame = frame;
                fwd.next_seq_ts = ts;
            }
            if fwd.max_seq_to_be_acked.is_none_or(|max| max == seq) {
                fwd.max_seq_to_be_acked = fwd.next_seq;
            }
        }
        if len > 0 && !fwd.unacked.iter().any(|sent| sent.seq == seq) {
            if fwd.unacked.len() == UNACKED_KEPT {
                fwd.unacked.pop_front();
            }
            fwd.unacked.push_back(Sent { seq, end: seq.plus(len), frame, ts });
        }
        if flags.ack() {
            rev.unacked.retain(|sent| ack.before(sent.end));
        }
        fwd.window = Some(window);
        fwd.last_ack = Some(ack);
        fwd.last_ack_ts = ts;
        if flags.ack() {
            fwd.acked = Some(ack);
        }
        fwd.last_was_keep_alive = keep_alive;
        fwd.last_was_zero_window_probe = zero_window_probe;
    }
}
