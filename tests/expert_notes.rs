//! Wireshark-style expert notes, one rule at a time, on segments built in the test
//! with explicit times: what each rule must flag, and what it must leave alone.
//!
//! The same rules are checked against tshark on real captures in tests/golden.rs.

use tcplab::decode::Segment;
use tcplab::source::FrameNumber;
use tcplab::track::flags::TcpFlags;
use tcplab::track::seq::SeqNum;
use tcplab::track::{Event, Note, TrackConfig, Tracker};

const C: &str = "127.0.0.1:40000";
const S: &str = "127.0.0.2:8080";
const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const PSH: u8 = TcpFlags::PSH;
const FIN: u8 = TcpFlags::FIN;

/// Client and server ISNs.
const X: u32 = 1000;
const Y: u32 = 5000;
/// The window both ends advertise unless a test says otherwise.
const WIN: u16 = 1000;

/// Plays segments at given times and keeps the notes of each.
struct Wire {
    tracker: Tracker,
    frame: u64,
}

/// One segment to send: who sends it, its fields, and when (seconds).
struct Seg {
    from: &'static str,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u32,
    win: u16,
}

fn c(flags: u8, seq: u32, ack: u32, len: u32) -> Seg {
    Seg { from: C, flags, seq, ack, len, win: WIN }
}

fn s(flags: u8, seq: u32, ack: u32, len: u32) -> Seg {
    Seg { from: S, flags, seq, ack, len, win: WIN }
}

impl Seg {
    fn win(self, win: u16) -> Seg {
        Seg { win, ..self }
    }
}

impl Wire {
    fn new() -> Wire {
        Wire { tracker: Tracker::new(TrackConfig::default()), frame: 0 }
    }

    /// Sends `seg` at time `ts` and returns its notes.
    fn at(&mut self, ts: f64, seg: Seg) -> Vec<Note> {
        self.frame += 1;
        let to = if seg.from == C { S } else { C };
        let payload = vec![b'x'; seg.len as usize];
        let segment = Segment {
            src: seg.from.parse().unwrap(),
            dst: to.parse().unwrap(),
            seq: SeqNum(seg.seq),
            ack: SeqNum(seg.ack),
            flags: TcpFlags(seg.flags),
            window: seg.win,
            header_len: 20,
            payload_len: seg.len,
            header: &[],
            payload: &payload,
        };
        let mut events = Vec::new();
        self.tracker.on_segment(&segment, FrameNumber(self.frame), ts, &mut events);
        // Its event may be held back until its arrival is settled; its notes are final.
        let event = events.iter().chain(self.tracker.held()).find_map(|e| match e {
            Event::Segment(ev) if ev.frame == FrameNumber(self.frame) => Some(ev),
            _ => None,
        });
        match event {
            // Only the analysis' notes: the story's own (merged close, ...) are tested
            // in state_machine.rs.
            Some(ev) => ev.notes.iter().copied().filter(|n| n.is_analysis()).collect(),
            None => panic!("expected a segment event for frame {}, got {events:?}", self.frame),
        }
    }

    /// The three-way handshake at t = 0, 0.010 and 0.020 (a 20 ms first round trip).
    fn handshake(&mut self) {
        for (ts, seg) in
            [(0.0, c(SYN, X, 0, 0)), (0.010, s(SYN | ACK, Y, X + 1, 0)), (0.020, c(ACK, X + 1, Y + 1, 0))]
        {
            assert_eq!(self.at(ts, seg), [], "a clean handshake has no notes");
        }
    }
}

fn names(notes: &[Note]) -> Vec<&'static str> {
    notes.iter().map(|n| n.name()).collect()
}

#[test]
fn a_clean_exchange_has_no_notes() {
    let mut w = Wire::new();
    w.handshake();
    assert_eq!(w.at(0.030, c(PSH | ACK, X + 1, Y + 1, 100)), []);
    assert_eq!(w.at(0.040, s(ACK, Y + 1, X + 101, 0)), []);
    assert_eq!(w.at(0.050, s(PSH | ACK, Y + 1, X + 101, 50)), []);
    assert_eq!(w.at(0.060, c(FIN | ACK, X + 101, Y + 51, 0)), []);
    assert_eq!(w.at(0.070, s(FIN | ACK, Y + 51, X + 102, 0)), []);
    assert_eq!(w.at(0.080, c(ACK, X + 102, Y + 52, 0)), []);
}

#[test]
fn a_resend_after_a_timeout_is_a_retransmission_of_the_frame_that_sent_it() {
    let mut w = Wire::new();
    w.handshake();
    assert_eq!(w.at(0.030, c(PSH | ACK, X + 1, Y + 1, 100)), []);
    let notes = w.at(0.250, c(PSH | ACK, X + 1, Y + 1, 100));
    assert_eq!(notes, [Note::Retransmission { of: FrameNumber(4), after_us: 220_000 }]);
}

#[test]
fn three_duplicate_acks_then_the_missing_segment_is_a_fast_retransmission() {
    let mut w = Wire::new();
    w.handshake();
    // Four segments leave; the first is lost after the capture point.
    for (i, ts) in [0.030, 0.031, 0.032, 0.033].into_iter().enumerate() {
        assert_eq!(w.at(ts, c(ACK, X + 1 + 100 * i as u32, Y + 1, 100)), []);
    }
    // Each later one makes the receiver repeat its ACK of x+1, first sent in frame 2.
    for (count, ts) in [(1, 0.051), (2, 0.052), (3, 0.053)] {
        let notes = w.at(ts, s(ACK, Y + 1, X + 1, 0));
        assert_eq!(notes, [Note::DupAck { of: FrameNumber(2), count }]);
    }
    // Wireshark marks it a retransmission too; the original is frame 4, 24 ms earlier.
    let resent = w.at(0.054, c(ACK, X + 1, Y + 1, 100));
    assert_eq!(
        resent,
        [
            Note::FastRetransmission { of: FrameNumber(4) },
            Note::Retransmission { of: FrameNumber(4), after_us: 24_000 }
        ]
    );
    // The receiver now has everything: a new ACK, no note.
    assert_eq!(w.at(0.075, s(ACK, Y + 1, X + 401, 0)), []);
}

#[test]
fn a_segment_overtaken_within_one_round_trip_is_out_of_order() {
    let mut w = Wire::new();
    w.handshake();
    assert_eq!(w.at(0.030, c(ACK, X + 101, Y + 1, 100)), ["previous_segment_not_captured"].map(note));
    // 5 ms later, below the highest sequence number: within the 20 ms round trip.
    assert_eq!(names(&w.at(0.035, c(ACK, X + 1, Y + 1, 100))), ["out_of_order"]);
}

fn note(name: &str) -> Note {
    match name {
        "previous_segment_not_captured" => Note::PreviousSegmentNotCaptured,
        "acked_unseen" => Note::AckedUnseen,
        "zero_window" => Note::ZeroWindow,
        "window_full" => Note::WindowFull,
        other => panic!("no such note in this test: {other}"),
    }
}

#[test]
fn resending_bytes_already_acknowledged_is_spurious() {
    let mut w = Wire::new();
    w.handshake();
    assert_eq!(w.at(0.030, c(ACK, X + 1, Y + 1, 100)), []);
    assert_eq!(w.at(0.050, s(ACK, Y + 1, X + 101, 0)), []);
    // Wireshark counts it as a retransmission too.
    assert_eq!(names(&w.at(0.300, c(ACK, X + 1, Y + 1, 100))), ["spurious_retransmission", "retransmission"]);
}

#[test]
fn acknowledging_bytes_never_seen_is_acked_unseen() {
    let mut w = Wire::new();
    w.handshake();
    assert_eq!(w.at(0.030, c(ACK, X + 1, Y + 1, 100)), []);
    // The client's second segment was not captured, but the server has it.
    assert_eq!(w.at(0.050, s(ACK, Y + 1, X + 201, 0)), [note("acked_unseen")]);
    // As in tshark, the hole is noted once: the same ACK again is only a duplicate,
    assert_eq!(names(&w.at(0.051, s(ACK, Y + 1, X + 201, 0))), ["dup_ack"]);
    // until the client sends again while the hole stays open.
    assert_eq!(names(&w.at(0.060, c(ACK, X + 201, Y + 1, 0))), ["previous_segment_not_captured"]);
    assert_eq!(
        names(&w.at(0.061, s(ACK, Y + 1, X + 201, 0).win(WIN + 1))),
        ["window_update", "acked_unseen"]
    );
}

#[test]
fn a_closed_window_its_probes_and_its_reopening() {
    let mut w = Wire::new();
    w.handshake();
    assert_eq!(w.at(0.030, c(ACK, X + 1, Y + 1, 100)), []);
    // The server's buffer is full: it acknowledges with a zero window.
    assert_eq!(w.at(0.050, s(ACK, Y + 1, X + 101, 0).win(0)), [note("zero_window")]);
    // The client's persist timer pushes one byte into the closed window...
    assert_eq!(names(&w.at(0.250, c(ACK, X + 101, Y + 1, 1))), ["zero_window_probe"]);
    // ...the server still has no room...
    assert_eq!(
        names(&w.at(0.260, s(ACK, Y + 1, X + 101, 0).win(0))),
        ["zero_window", "zero_window_probe_ack"]
    );
    // ...the same probe again a while later is again a probe, not a retransmission...
    assert_eq!(names(&w.at(0.650, c(ACK, X + 101, Y + 1, 1))), ["zero_window_probe"]);
    // ...until the application reads: the same ACK with a window again.
    assert_eq!(names(&w.at(0.700, s(ACK, Y + 1, X + 101, 0))), ["window_update"]);
    // New data continues where the probe's byte was: neither resend nor gap.
    assert_eq!(w.at(0.710, c(ACK, X + 101, Y + 1, 100)), []);
}

#[test]
fn linux_probes_a_closed_window_with_an_empty_segment_below_the_next_byte() {
    let mut w = Wire::new();
    w.handshake();
    assert_eq!(w.at(0.030, c(ACK, X + 1, Y + 1, 100)), []);
    assert_eq!(w.at(0.050, s(ACK, Y + 1, X + 101, 0).win(0)), [note("zero_window")]);
    // Shaped like a keep-alive (Wireshark says so), sent into a closed window.
    assert_eq!(names(&w.at(0.250, c(ACK, X + 100, Y + 1, 0))), ["zero_window_probe"]);
    assert_eq!(
        names(&w.at(0.251, s(ACK, Y + 1, X + 101, 0).win(0))),
        ["zero_window", "zero_window_probe_ack"]
    );
    assert_eq!(names(&w.at(0.700, s(ACK, Y + 1, X + 101, 0))), ["window_update"]);
}

#[test]
fn filling_the_advertised_window_to_its_edge_is_window_full() {
    let mut w = Wire::new();
    w.handshake();
    // The server advertised 1000 bytes from x+1 (no window scaling: the SYNs had none).
    assert_eq!(w.at(0.030, c(ACK, X + 1, Y + 1, 600)), []);
    assert_eq!(w.at(0.031, c(ACK, X + 601, Y + 1, 400)), [note("window_full")]);
}

#[test]
fn a_keep_alive_one_byte_below_the_next_sequence_number_and_its_answer() {
    let mut w = Wire::new();
    w.handshake();
    assert_eq!(w.at(0.030, c(ACK, X + 1, Y + 1, 100)), []);
    assert_eq!(w.at(0.040, s(ACK, Y + 1, X + 101, 0)), []);
    assert_eq!(names(&w.at(75.0, c(ACK, X + 100, Y + 1, 0))), ["keep_alive"]);
    assert_eq!(names(&w.at(75.01, s(ACK, Y + 1, X + 101, 0))), ["keep_alive_ack"]);
}

#[test]
fn a_syn_sent_again_counts_its_attempts_and_the_growing_gaps() {
    let mut w = Wire::new();
    assert_eq!(w.at(0.0, c(SYN, X, 0, 0)), []);
    let second = w.at(1.0, c(SYN, X, 0, 0));
    assert_eq!(names(&second), ["retransmission", "syn_retransmission"]);
    assert!(second.contains(&Note::SynRetransmission { attempt: 2, after_us: 1_000_000 }));
    let third = w.at(3.0, c(SYN, X, 0, 0));
    assert!(third.contains(&Note::SynRetransmission { attempt: 3, after_us: 2_000_000 }));
    // The answer finally comes: the handshake completes without notes.
    assert_eq!(w.at(3.01, s(SYN | ACK, Y, X + 1, 0)), []);
    assert_eq!(w.at(3.02, c(ACK, X + 1, Y + 1, 0)), []);
}

#[test]
fn a_syn_ack_answering_a_crossing_syn_is_not_a_retransmission() {
    // Simultaneous open: each end's SYN-ACK repeats its own SYN's sequence number.
    // Wireshark flags these SYN-ACKs as retransmissions; they are RFC 9293's answers.
    let mut w = Wire::new();
    assert_eq!(w.at(0.0, c(SYN, X, 0, 0)), []);
    assert_eq!(w.at(0.0001, s(SYN, Y, 0, 0)), []);
    let client_answer = w.at(0.001, c(SYN | ACK, X, Y + 1, 0));
    assert!(!client_answer.iter().any(|n| n.is_resend()), "{client_answer:?}");
    let server_answer = w.at(0.0011, s(SYN | ACK, Y, X + 1, 0));
    assert!(!server_answer.iter().any(|n| n.is_resend()), "{server_answer:?}");
    // But the same SYN-ACK sent a second time is one.
    let resent = w.at(0.300, c(SYN | ACK, X, Y + 1, 0));
    assert!(resent.iter().any(|n| n.is_resend()), "{resent:?}");
}
