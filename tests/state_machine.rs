//! The tracker's state machine, scenario by scenario, with segments built in the test.
//!
//! Each test plays one exchange between a client C (all addresses are loopback) and
//! a server S, then checks the steps, the labels and the states of both ends after
//! every segment. A segment's states can be settled by the segments after it (a SYN
//! or FIN arrives when the receiver's answer says so), so states are read with
//! [`Play::states`] once the segments that settle them were sent.

use TcpState::*;
use tcplab::decode::Segment;
use tcplab::source::FrameNumber;
use tcplab::track::flags::TcpFlags;
use tcplab::track::seq::SeqNum;
use tcplab::track::{
    ConnId, ConnSummary, Event, Note, SegmentEvent, Step, TcpState, TrackConfig, Tracker, Transition,
};

const C: &str = "127.0.0.1:40000";
const S: &str = "127.0.0.2:8080";
const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN;
const RST: u8 = TcpFlags::RST;
const PSH: u8 = TcpFlags::PSH;

/// Client and server ISNs used throughout.
const X: u32 = 1000;
const Y: u32 = 5000;

/// Plays segments through a tracker and keeps everything it said.
/// The client's and the server's addresses, as the tracker's lookups take them.
fn endpoints() -> (std::net::SocketAddr, std::net::SocketAddr) {
    (C.parse().unwrap(), S.parse().unwrap())
}

struct Play {
    tracker: Tracker,
    events: Vec<Event>,
    frame: u64,
    /// Seconds of silence so far (`Play::pause`): frame n is sent at n ms after them.
    paused: f64,
}

impl Play {
    fn new() -> Play {
        Play { tracker: Tracker::new(TrackConfig::default()), events: Vec::new(), frame: 0, paused: 0.0 }
    }

    /// The capture time of frame `n`.
    fn ts(&self, n: u64) -> f64 {
        self.paused + n as f64 * 0.001
    }

    /// Nothing is sent for `secs` seconds; the arrivals that waited longer than they
    /// may are settled, as a capture's other segments or a live timer would have them.
    fn pause(&mut self, secs: f64) {
        self.paused += secs;
        self.tracker.settle_due(self.ts(self.frame), &mut self.events);
    }

    /// Sends one segment `from` → `to` and returns what the tracker made of it.
    fn send(&mut self, from: &str, to: &str, flags: u8, seq: u32, ack: u32, data: &[u8]) -> SegmentEvent {
        self.frame += 1;
        let seg = Segment {
            src: from.parse().unwrap(),
            dst: to.parse().unwrap(),
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags: TcpFlags(flags),
            window: 65535,
            header_len: 20,
            payload_len: data.len() as u32,
            header: &[],
            payload: data,
        };
        self.tracker.on_segment(&seg, FrameNumber(self.frame), self.ts(self.frame), &mut self.events);
        self.event(FrameNumber(self.frame))
    }

    /// The event of frame `frame` as it stands now: handed out, or still held back
    /// until its arrival is settled.
    fn event(&self, frame: FrameNumber) -> SegmentEvent {
        self.events
            .iter()
            .chain(self.tracker.held())
            .find_map(|e| match e {
                Event::Segment(ev) if ev.frame == frame => Some(ev.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no segment event for frame {}", frame.0))
    }

    /// Both ends' states after the segment of `ev`, as settled so far.
    fn states(&self, ev: &SegmentEvent) -> (TcpState, TcpState) {
        let now = self.event(ev.frame);
        (now.client_state, now.server_state)
    }

    fn c(&mut self, flags: u8, seq: u32, ack: u32) -> SegmentEvent {
        self.send(C, S, flags, seq, ack, b"")
    }

    fn s(&mut self, flags: u8, seq: u32, ack: u32) -> SegmentEvent {
        self.send(S, C, flags, seq, ack, b"")
    }

    fn transitions(&self) -> Vec<Transition> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Transition(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every connection's summary: those already forgotten, then the rest (this ends
    /// the input, as the end of a capture does).
    fn summaries(&mut self) -> Vec<ConnSummary> {
        self.tracker.finish(&mut self.events);
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Connection(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// The textbook handshake: SYN, SYN-ACK, ACK.
    fn handshake(&mut self) {
        self.c(SYN, X, 0);
        self.s(SYN | ACK, Y, X + 1);
        self.c(ACK, X + 1, Y + 1);
    }
}

/// Whether, in the order `events` were handed out, each transition starts where the
/// last one of its end left off, and each segment shows the states its transitions
/// led to.
fn states_follow_transitions(events: &[Event]) -> Result<(), String> {
    let mut states: std::collections::HashMap<ConnId, [Option<TcpState>; 2]> = Default::default();
    let mut shown: Option<&SegmentEvent> = None;
    let check = |shown: Option<&SegmentEvent>,
                 states: &std::collections::HashMap<ConnId, [Option<TcpState>; 2]>| {
        if let Some(ev) = shown
            && let Some([c, s]) = states.get(&ev.conn)
        {
            for (role, tracked, at) in [("client", c, ev.client_state), ("server", s, ev.server_state)] {
                if tracked.is_some_and(|t| t != at) {
                    return Err(format!(
                        "frame {}: {role} {} by its transitions, {at} as shown",
                        ev.frame.0,
                        tracked.unwrap()
                    ));
                }
            }
        }
        Ok(())
    };
    for event in events {
        match event {
            Event::Transition(t) => {
                if !t.from.can_become(t.to) {
                    return Err(format!("frame {}: illegal {} -> {}", t.frame.0, t.from, t.to));
                }
                let side = &mut states.entry(t.conn).or_default()[usize::from(t.side.name() == "server")];
                if side.is_some_and(|s| s != t.from) {
                    return Err(format!(
                        "frame {}: {} -> {} after {}",
                        t.frame.0,
                        t.from,
                        t.to,
                        side.unwrap()
                    ));
                }
                *side = Some(t.to);
            }
            Event::Segment(ev) => {
                check(shown, &states)?;
                shown = Some(ev);
            }
            _ => {}
        }
    }
    check(shown, &states)
}

mod opening {
    use super::*;

    #[test]
    fn three_way_handshake_follows_figure_two() {
        let mut p = Play::new();
        let syn = p.c(SYN, X, 0);
        assert_eq!((syn.step, syn.label.as_str()), (Step::Handshake(1), "SYN seq=x"));
        assert_eq!((syn.seq, syn.ack), (0, None));
        assert_eq!(p.states(&syn), (SynSent, Listen), "the SYN's arrival waits for the answer");

        let synack = p.s(SYN | ACK, Y, X + 1);
        assert_eq!((synack.step, synack.label.as_str()), (Step::Handshake(2), "SYN,ACK seq=y ack=x+1"));
        assert_eq!((synack.seq, synack.ack), (0, Some(1)));
        // The server was SYN-RECEIVED from the moment the SYN arrived.
        assert_eq!(p.states(&syn), (SynSent, SynReceived));

        let ack = p.c(ACK, X + 1, Y + 1);
        assert_eq!((ack.step, ack.label.as_str()), (Step::Handshake(3), "ACK seq=x+1 ack=y+1"));
        assert_eq!(p.states(&synack), (Established, SynReceived), "the client on the SYN-ACK's arrival");
        assert_eq!(p.states(&ack), (Established, Established));
        assert_eq!((ack.seq, ack.ack), (1, Some(1)));

        let changes: Vec<_> = p.transitions().iter().map(|t| (t.side.name(), t.from, t.to)).collect();
        assert_eq!(
            changes,
            [
                ("client", Closed, SynSent),
                ("server", Listen, SynReceived),
                ("client", SynSent, Established),
                ("server", SynReceived, Established),
            ]
        );
    }

    #[test]
    fn retransmitted_syn_keeps_step_one_and_is_noted() {
        let mut p = Play::new();
        p.c(SYN, X, 0);
        let again = p.c(SYN, X, 0);
        assert_eq!(again.step, Step::Handshake(1));
        assert!(again.notes.iter().any(|n| matches!(n, Note::Retransmission { .. })));
        assert_eq!(p.summaries().len(), 1, "a retransmitted SYN is not a new connection");
        // Never answered: no sign that it reached a listener.
        assert_eq!(p.states(&again), (SynSent, Listen));
    }

    #[test]
    fn simultaneous_open_takes_both_ends_through_syn_received() {
        let mut p = Play::new();
        p.c(SYN, X, 0);
        let their_syn = p.s(SYN, Y, 0);
        assert_eq!(their_syn.step, Step::SimultaneousOpen);
        let a = p.c(SYN | ACK, X, Y + 1);
        let b = p.s(SYN | ACK, Y, X + 1);
        let c = p.c(ACK, X + 1, Y + 1);
        let d = p.s(ACK, Y + 1, X + 1);
        // Each SYN reached an end that had sent its own: both SYN-RECEIVED at once.
        assert_eq!(p.states(&their_syn), (SynReceived, SynReceived));
        assert_eq!(p.states(&a), (SynReceived, SynReceived));
        // The SYN-ACKs crossed too: the server takes the client's after sending its own.
        assert_eq!(p.states(&b), (Established, Established));
        assert_eq!(p.states(&c), (Established, Established));
        assert_eq!(p.states(&d), (Established, Established));
        for side in ["client", "server"] {
            assert!(
                p.transitions().iter().any(|t| t.side.name() == side && t.to == SynReceived),
                "{side} never was SYN-RECEIVED"
            );
        }
    }

    #[test]
    fn connection_refused_is_syn_answered_by_rst() {
        let mut p = Play::new();
        p.c(SYN, X, 0);
        let rst = p.s(RST | ACK, 0, X + 1);
        assert_eq!(rst.step, Step::Reset);
        assert!(rst.notes.contains(&Note::ConnectionRefused));
        assert_eq!(p.states(&rst), (Closed, Closed));
        let summary = &p.summaries()[0];
        assert_eq!(summary.conn_state, "REJ");
        assert_eq!(summary.history.letters(), "Sr");
    }

    #[test]
    fn old_duplicate_syn_is_reset_and_the_server_returns_to_listen() {
        let mut p = Play::new();
        // An old SYN from an earlier incarnation arrives; the server answers it.
        let old = p.c(SYN, 90, 0);
        p.s(SYN | ACK, Y, 91);
        // The client has no such connection and resets the SYN-ACK.
        let rst = p.c(RST, 91, 0);
        assert!(rst.notes.contains(&Note::OldDuplicateSyn));
        assert_eq!(rst.server_state, Listen, "a passively opened SYN-RECEIVED returns to LISTEN");
        // No socket of the client's sent the old SYN: it never was in SYN-SENT.
        let old = p.event(old.frame);
        assert!(old.notes.contains(&Note::StraySyn));
        assert_eq!(old.client_state, Closed);
        assert!(p.transitions().iter().all(|t| t.side.name() == "server"));
        // Then the real connection opens normally, as a new connection.
        let syn = p.c(SYN, X, 0);
        assert_eq!(syn.conn.0, 1);
        assert!(syn.notes.contains(&Note::PortsReused));
        p.s(SYN | ACK, Y + 7, X + 1);
        let ack = p.c(ACK, X + 1, Y + 8);
        assert_eq!(p.states(&ack), (Established, Established));
    }

    #[test]
    fn a_syn_ack_that_acknowledges_another_syn_leaves_the_client_waiting() {
        // RFC 9293 Figure 8: the client's own SYN is in flight when an old duplicate
        // is answered; the client resets the SYN-ACK and stays in SYN-SENT.
        let mut p = Play::new();
        p.c(SYN, X, 0);
        p.s(SYN | ACK, Y, 91);
        let rst = p.c(RST, 91, 0);
        assert!(rst.notes.contains(&Note::OldDuplicateSyn));
        assert_eq!(p.states(&rst), (SynSent, Listen));
    }

    #[test]
    fn a_reset_syn_ack_to_a_syn_sent_again_takes_back_no_syn_sent_shown_already() {
        // The client's SYN, sent again; the server answers; the client resets the
        // SYN-ACK (it gave up meanwhile). The first SYN was handed out in SYN-SENT, so
        // the second is no stray: the client leaves SYN-SENT at its reset.
        let mut p = Play::new();
        p.c(SYN, X, 0);
        let again = p.c(SYN, X, 0);
        p.s(SYN | ACK, Y, X + 1);
        let rst = p.c(RST, X + 1, 0);
        assert!(rst.notes.contains(&Note::OldDuplicateSyn));
        assert_eq!(p.states(&rst), (Closed, Listen));
        let again = p.event(again.frame);
        assert!(!again.notes.contains(&Note::StraySyn));
        assert_eq!(again.client_state, SynSent);
        p.summaries();
        states_follow_transitions(&p.events).unwrap();
    }

    #[test]
    fn a_reset_of_a_reopening_syn_ack_keeps_the_state_the_syn_was_sent_in() {
        // The seed in tests/state_machine.proptest-regressions, shrunk. The end that
        // sends the first SYN here is the capture's S, so it is the tracker's client.
        let (client, server) = (S, C);
        let (x, y) = (0u32, u32::MAX - 20);
        let mut p = Play::new();
        p.send(client, server, SYN, x + 10, y, b"");
        p.send(server, client, FIN | ACK, y, x, b"");
        let answer = p.send(client, server, SYN | ACK, x, y, b"");
        p.send(client, server, SYN | ACK, x, y, b"");
        // A SYN with the first one's seq while the client is in SYN-RECEIVED...
        let syn = p.send(client, server, SYN, x + 10, y, b"");
        // ... a SYN-ACK with a new ISN after the FIN: the connection starts over, the
        // client from CLOSED to SYN-SENT on this row...
        let reopening = p.send(server, client, SYN | ACK, y, x, b"");
        // ... and the client resets it.
        let rst = p.send(client, server, RST, x, y, b"");
        assert!(rst.notes.contains(&Note::OldDuplicateSyn));
        assert_eq!(p.states(&rst), (Closed, Listen));
        assert_eq!(p.states(&answer).0, SynReceived);
        // The SYN took the client out of no CLOSED: it stays as it was sent.
        let syn = p.event(syn.frame);
        assert_eq!(syn.client_state, SynReceived);
        assert!(!syn.notes.contains(&Note::StraySyn));
        assert!(p.event(reopening.frame).notes.contains(&Note::PortsReused));
        p.summaries();
        states_follow_transitions(&p.events).unwrap();
    }

    #[test]
    fn relative_numbers_survive_wraparound() {
        let mut p = Play::new();
        let isn = u32::MAX - 1;
        p.c(SYN, isn, 0);
        p.s(SYN | ACK, Y, isn.wrapping_add(1));
        p.c(ACK, isn.wrapping_add(1), Y + 1);
        let data = p.send(C, S, PSH | ACK, isn.wrapping_add(1), Y + 1, b"hello");
        assert_eq!(data.seq, 1);
        let ack = p.s(ACK, Y + 1, isn.wrapping_add(6));
        assert_eq!(ack.ack, Some(6));
        assert_eq!(ack.label, "ACK seq=y+1 ack=x+6");
    }
}

mod established {
    use super::*;

    #[test]
    fn data_and_acks_keep_both_ends_established() {
        let mut p = Play::new();
        p.handshake();
        let data = p.send(C, S, PSH | ACK, X + 1, Y + 1, b"hello");
        assert_eq!((data.step, data.len, data.seq), (Step::Data, 5, 1));
        assert_eq!(data.label, "PSH,ACK seq=x+1 ack=y+1");
        let ack = p.s(ACK, Y + 1, X + 6);
        assert_eq!((ack.step, ack.ack), (Step::Ack, Some(6)));
        assert_eq!(p.states(&ack), (Established, Established));
    }

    #[test]
    fn retransmitted_data_is_noted() {
        let mut p = Play::new();
        p.handshake();
        p.send(C, S, PSH | ACK, X + 1, Y + 1, b"hello");
        let again = p.send(C, S, PSH | ACK, X + 1, Y + 1, b"hello");
        assert!(again.notes.iter().any(|n| matches!(n, Note::Retransmission { .. })));
        assert!(p.summaries()[0].history.letters().contains('T'));
    }

    #[test]
    fn rst_from_established_closes_both_ends() {
        let mut p = Play::new();
        p.handshake();
        let rst = p.c(RST | ACK, X + 1, Y + 1);
        assert_eq!(rst.step, Step::Reset);
        // The server closes as it arrives: nothing the server sent crossed it.
        p.pause(2.0);
        assert_eq!(p.states(&rst), (Closed, Closed));
        let summary = &p.summaries()[0];
        assert_eq!(summary.conn_state, "RSTO");
        assert_eq!(summary.closed_by.map(|r| r.name()), Some("client"));
    }

    #[test]
    fn midstream_capture_guesses_the_client_and_numbers_from_one() {
        let mut p = Play::new();
        // First segment seen goes from the high port to 8080: the client is guessed.
        let first = p.send(C, S, PSH | ACK, 777_000, 999_000, b"abc");
        assert!(first.notes.contains(&Note::ClientGuessed));
        assert_eq!((first.seq, first.ack), (1, Some(1)));
        assert_eq!(p.states(&first), (Established, Established));
        let reply = p.s(ACK, 999_000, 777_003);
        assert_eq!((reply.seq, reply.ack), (1, Some(4)));
        assert_eq!(p.summaries()[0].conn_state, "OTH");
    }

    #[test]
    fn midstream_server_first_still_puts_the_server_on_the_right() {
        let mut p = Play::new();
        let first = p.s(PSH | ACK, 5, 5);
        assert!(first.notes.contains(&Note::ClientGuessed));
        assert_eq!(first.dir.name(), "s2c");
    }
}

mod closing {
    use super::*;

    /// Handshake, then the client closes and the server answers in four segments.
    fn four_way(p: &mut Play) -> [SegmentEvent; 4] {
        p.handshake();
        let fin = p.c(FIN | ACK, X + 1, Y + 1);
        let ack = p.s(ACK, Y + 1, X + 2);
        let fin2 = p.s(FIN | ACK, Y + 1, X + 2);
        let last = p.c(ACK, X + 2, Y + 2);
        [fin, ack, fin2, last]
    }

    #[test]
    fn four_way_wave_follows_figure_two() {
        let mut p = Play::new();
        let [fin, ack, fin2, last] = four_way(&mut p);
        assert_eq!((fin.step, fin.label.as_str()), (Step::Teardown(1), "FIN seq=u"));
        // The server is in CLOSE-WAIT from the moment the FIN arrives, not from its ACK.
        assert_eq!(p.states(&fin), (FinWait1, CloseWait));
        assert_eq!((ack.step, ack.label.as_str()), (Step::Teardown(2), "ACK seq=v ack=u+1"));
        assert_eq!(p.states(&ack), (FinWait2, CloseWait));
        assert_eq!((fin2.step, fin2.label.as_str()), (Step::Teardown(3), "FIN,ACK seq=w ack=u+1"));
        assert_eq!(p.states(&fin2), (TimeWait, LastAck));
        assert!(p.event(fin2.frame).notes.contains(&Note::TimeWait(tcplab::track::Role::Client)));
        assert_eq!((last.step, last.label.as_str()), (Step::Teardown(4), "ACK seq=u+1 ack=w+1"));
        assert_eq!(p.states(&last), (TimeWait, Closed));
        let summary = &p.summaries()[0];
        assert_eq!((summary.conn_state, summary.history.letters()), ("SF", "ShAFaf"));
        assert_eq!(summary.time_wait_until.map(|(r, _)| r.name()), Some("client"));
    }

    #[test]
    fn the_server_can_close_first_and_then_it_holds_time_wait() {
        let mut p = Play::new();
        p.handshake();
        let fin = p.s(FIN | ACK, Y + 1, X + 1);
        assert_eq!((fin.step, fin.label.as_str()), (Step::Teardown(1), "FIN seq=u"));
        let ack = p.c(ACK, X + 1, Y + 2);
        assert_eq!(p.states(&fin), (CloseWait, FinWait1));
        assert_eq!(p.states(&ack), (CloseWait, FinWait2));
        let fin2 = p.c(FIN | ACK, X + 1, Y + 2);
        let last = p.s(ACK, Y + 2, X + 2);
        assert_eq!(p.states(&fin2), (LastAck, TimeWait));
        assert_eq!(p.states(&last), (Closed, TimeWait));
        assert_eq!(p.summaries()[0].closed_by.map(|r| r.name()), Some("server"));
    }

    #[test]
    fn a_merged_fin_ack_takes_the_ack_first_through_fin_wait_2() {
        let mut p = Play::new();
        p.handshake();
        p.c(FIN | ACK, X + 1, Y + 1);
        let merged = p.s(FIN | ACK, Y + 1, X + 2);
        assert_eq!(merged.step, Step::TeardownMerged);
        assert!(merged.notes.contains(&Note::MergedClose));
        let last = p.c(ACK, X + 2, Y + 2);
        assert_eq!(last.step, Step::Teardown(4));
        // RFC 9293 §3.10.7.4: the ACK is processed before the FIN.
        assert_eq!(p.states(&merged), (TimeWait, LastAck));
        assert_eq!(p.states(&last), (TimeWait, Closed));
        let client_path: Vec<_> =
            p.transitions().iter().filter(|t| t.side.name() == "client").map(|t| (t.from, t.to)).collect();
        assert!(client_path.ends_with(&[(FinWait1, FinWait2), (FinWait2, TimeWait)]), "{client_path:?}");
        assert!(p.transitions().iter().filter(|t| t.to == FinWait2).all(|t| t.frame == merged.frame));
    }

    #[test]
    fn half_close_lets_data_flow_in_close_wait() {
        let mut p = Play::new();
        p.handshake();
        p.c(FIN | ACK, X + 1, Y + 1);
        p.s(ACK, Y + 1, X + 2);
        let data = p.send(S, C, PSH | ACK, Y + 1, X + 2, b"still talking");
        assert_eq!(data.step, Step::Data);
        assert!(data.notes.contains(&Note::HalfCloseData));
        assert_eq!(p.states(&data), (FinWait2, CloseWait));
        let ack = p.c(ACK, X + 2, Y + 14);
        assert_eq!(p.states(&ack), (FinWait2, CloseWait));
        let fin = p.s(FIN | ACK, Y + 14, X + 2);
        assert_eq!(fin.step, Step::Teardown(3));
        assert_eq!(fin.label, "FIN,ACK seq=w ack=u+1");
        let last = p.c(ACK, X + 2, Y + 15);
        assert_eq!(last.label, "ACK seq=u+1 ack=w+1");
        assert_eq!(p.states(&fin), (TimeWait, LastAck));
        assert_eq!(p.states(&last), (TimeWait, Closed));
    }

    #[test]
    fn simultaneous_close_passes_both_ends_through_closing() {
        let mut p = Play::new();
        p.handshake();
        p.c(FIN | ACK, X + 1, Y + 1);
        let crossing = p.s(FIN | ACK, Y + 1, X + 1);
        assert_eq!(crossing.step, Step::SimultaneousClose);
        let a = p.c(ACK, X + 2, Y + 2);
        let b = p.s(ACK, Y + 2, X + 2);
        // The server's FIN does not acknowledge the client's: it left before that FIN
        // came in, which then takes the server from FIN-WAIT-1 to CLOSING.
        let server_closing =
            p.transitions().into_iter().find(|t| t.side.name() == "server" && t.to == Closing);
        assert_eq!(server_closing.map(|t| (t.from, t.frame)), Some((FinWait1, crossing.frame)));
        assert_eq!(p.states(&crossing), (Closing, Closing));
        assert_eq!(p.states(&a), (Closing, TimeWait));
        assert_eq!(p.states(&b), (TimeWait, TimeWait));
        for side in ["client", "server"] {
            assert!(p.transitions().iter().any(|t| t.side.name() == side && t.to == Closing));
        }
    }

    #[test]
    fn retransmitted_fin_repeats_its_step() {
        let mut p = Play::new();
        p.handshake();
        p.c(FIN | ACK, X + 1, Y + 1);
        let again = p.c(FIN | ACK, X + 1, Y + 1);
        assert_eq!((again.step, again.label.as_str()), (Step::Teardown(1), "FIN seq=u"));
        assert!(again.notes.iter().any(|n| matches!(n, Note::Retransmission { .. })));
        p.summaries();
        // The copy sent again is the one taken to arrive; the first changed nothing.
        assert_eq!(p.states(&again), (FinWait1, CloseWait));
        assert!(p.transitions().iter().filter(|t| t.to == CloseWait).all(|t| t.frame == again.frame));
    }

    #[test]
    fn a_new_syn_after_time_wait_starts_a_new_connection() {
        let mut p = Play::new();
        four_way(&mut p);
        let syn = p.c(SYN, X + 100_000, 0);
        assert_eq!(syn.conn.0, 1);
        assert_eq!(p.summaries().len(), 2);
        assert_eq!(p.states(&syn), (SynSent, Listen));
    }
}

mod reset_from_every_state {
    use super::*;

    /// Drives a fresh connection until the server is in `state`, then resets it from
    /// the client; the server must end CLOSED (LISTEN if it was opened passively and
    /// never established).
    fn reset_server_in(state: TcpState) -> (TcpState, SegmentEvent) {
        let mut p = Play::new();
        match state {
            Listen => {
                p.c(SYN, X, 0);
            }
            SynReceived => {
                p.c(SYN, X, 0);
                p.s(SYN | ACK, Y, X + 1);
            }
            Established => p.handshake(),
            CloseWait => {
                p.handshake();
                p.c(FIN | ACK, X + 1, Y + 1);
                p.s(ACK, Y + 1, X + 2);
            }
            LastAck => {
                p.handshake();
                p.c(FIN | ACK, X + 1, Y + 1);
                p.s(ACK, Y + 1, X + 2);
                p.s(FIN | ACK, Y + 1, X + 2);
            }
            FinWait1 => {
                p.handshake();
                p.s(FIN | ACK, Y + 1, X + 1);
            }
            FinWait2 => {
                p.handshake();
                p.s(FIN | ACK, Y + 1, X + 1);
                p.c(ACK, X + 1, Y + 2);
            }
            _ => unreachable!(),
        }
        let before = p
            .tracker
            .connection(tcplab::track::ConnId(0), endpoints())
            .unwrap()
            .state(tcplab::track::Role::Server);
        assert_eq!(before, state, "fixture did not reach {state}");
        // The reset at the client's next sequence number, in the server's window (past
        // the client's FIN when it sent one).
        let next = if matches!(state, CloseWait | LastAck) { X + 2 } else { X + 1 };
        let rst = p.c(RST, next, 0);
        // Nothing the server sends crosses it.
        p.pause(2.0);
        (before, p.event(rst.frame))
    }

    #[test]
    fn rst_aborts_the_receiver_from_any_state() {
        for state in [Established, CloseWait, LastAck, FinWait1, FinWait2] {
            let (_, rst) = reset_server_in(state);
            assert_eq!(rst.server_state, Closed, "RST in {state}");
            assert_eq!(rst.client_state, Closed, "RST sender from {state}");
        }
    }

    #[test]
    fn rst_returns_a_passive_syn_received_to_listen() {
        let (_, rst) = reset_server_in(SynReceived);
        assert_eq!(rst.server_state, Listen);
    }

    #[test]
    fn rst_in_listen_changes_nothing_on_the_listener() {
        let (_, rst) = reset_server_in(Listen);
        assert_eq!(rst.server_state, Listen);
    }
}

/// RSTs whose fate the segments after them tell (RFC 5961 §3.2, and RSTs that cross
/// the receiver's segments on the way).
mod reset_and_after {
    use super::*;

    /// The transitions after the handshake, as (frame, side, from, to).
    fn changes_after_handshake(p: &Play) -> Vec<(u64, &'static str, TcpState, TcpState)> {
        p.transitions()
            .iter()
            .filter(|t| t.frame.0 > 3)
            .map(|t| (t.frame.0, t.side.name(), t.from, t.to))
            .collect()
    }

    /// A RST from the client in the server's window, 100 bytes past the next byte.
    fn off_the_next_byte(p: &mut Play) -> SegmentEvent {
        p.c(RST | ACK, X + 101, Y + 1)
    }

    #[test]
    fn a_challenge_answered_by_an_exact_rst_closes_the_sender_from_its_first_rst() {
        let mut p = Play::new();
        p.handshake();
        let rst = off_the_next_byte(&mut p);
        let challenge = p.s(ACK, Y + 1, X + 1);
        let exact = p.c(RST, X + 1, 0);
        p.pause(2.0);
        assert_eq!(p.states(&rst), (Closed, Established), "the server did not believe it");
        assert_eq!(p.event(rst.frame).notes, [Note::RstChallenged]);
        assert_eq!(p.states(&challenge), (Closed, Established));
        assert!(p.event(challenge.frame).notes.contains(&Note::ChallengeAck));
        assert_eq!(p.states(&exact), (Closed, Closed));
        assert_eq!(
            changes_after_handshake(&p),
            [(4, "client", Established, Closed), (6, "server", Established, Closed)]
        );
        states_follow_transitions(&p.events).unwrap();
        assert_eq!(p.summaries()[0].reset_by.map(|r| r.name()), Some("client"));
    }

    #[test]
    fn the_receiver_may_go_on_sending_before_the_senders_answer() {
        let mut p = Play::new();
        p.handshake();
        let rst = off_the_next_byte(&mut p);
        let challenge = p.s(ACK, Y + 1, X + 1);
        let data = p.send(S, C, PSH | ACK, Y + 1, X + 1, b"more");
        let exact = p.c(RST, X + 1, 0);
        p.pause(2.0);
        for ev in [&rst, &challenge, &data] {
            assert_eq!(p.states(ev), (Closed, Established), "frame {}", ev.frame.0);
        }
        assert_eq!(p.states(&exact), (Closed, Closed));
        states_follow_transitions(&p.events).unwrap();
    }

    #[test]
    fn a_challenge_answered_by_data_or_by_nothing_changes_no_state() {
        for answered in [true, false] {
            let mut p = Play::new();
            p.handshake();
            let rst = off_the_next_byte(&mut p);
            let challenge = p.s(ACK, Y + 1, X + 1);
            if answered {
                p.send(C, S, PSH | ACK, X + 1, Y + 1, b"more");
            }
            p.pause(2.0);
            assert_eq!(p.states(&rst), (Established, Established), "answered: {answered}");
            assert_eq!(p.event(rst.frame).notes, [Note::RstIgnored], "answered: {answered}");
            assert_eq!(p.states(&challenge), (Established, Established), "answered: {answered}");
            assert!(changes_after_handshake(&p).is_empty(), "answered: {answered}");
            assert_eq!(p.summaries()[0].reset_by, None, "answered: {answered}");
        }
    }

    #[test]
    fn an_answer_later_than_a_wait_may_last_comes_too_late_to_prove_the_first_rst() {
        let mut p = Play::new();
        p.handshake();
        let rst = off_the_next_byte(&mut p);
        p.s(ACK, Y + 1, X + 1);
        // No other connection's segments and no timer: only the sender's late RST.
        p.paused += 2.0;
        let exact = p.c(RST, X + 1, 0);
        p.pause(2.0);
        assert_eq!(p.states(&rst), (Established, Established));
        assert_eq!(p.event(rst.frame).notes, [Note::RstIgnored]);
        assert_eq!(p.states(&exact), (Closed, Closed), "the late RST closes both ends itself");
    }

    #[test]
    fn data_the_receiver_sent_before_an_exact_rst_arrived_crosses_it() {
        let mut p = Play::new();
        p.handshake();
        let rst = p.c(RST | ACK, X + 1, Y + 1);
        let first = p.send(S, C, PSH | ACK, Y + 1, X + 1, b"0123456789");
        // The client has no connection: it answers each with a RST at the byte acked.
        let answer = p.c(RST, X + 1, 0);
        let last = p.send(S, C, PSH | ACK, Y + 11, X + 1, b"0123456789");
        let last_answer = p.c(RST, X + 1, 0);
        p.pause(2.0);
        assert_eq!(p.states(&rst), (Closed, Established), "the RST is on its way");
        assert_eq!(p.states(&first), (Closed, Established), "sent before it arrived");
        assert_eq!(p.states(&answer), (Closed, Established), "behind the first RST");
        assert_eq!(p.states(&last), (Closed, Closed), "the RST arrived after the last one");
        assert_eq!(p.states(&last_answer), (Closed, Closed));
        for ev in [&first, &last] {
            assert_eq!(p.event(ev.frame).notes, [Note::RstCrossed], "frame {}", ev.frame.0);
            assert_eq!(ev.step, Step::Data);
        }
        for ev in [&answer, &last_answer] {
            assert_eq!(p.event(ev.frame).notes, [Note::RstAnswer], "frame {}: an answer", ev.frame.0);
        }
        assert_eq!(
            changes_after_handshake(&p),
            [(4, "client", Established, Closed), (7, "server", Established, Closed)]
        );
        states_follow_transitions(&p.events).unwrap();
        assert_eq!(p.summaries()[0].reset_by.map(|r| r.name()), Some("client"));
    }

    #[test]
    fn a_fin_the_receiver_sent_before_an_exact_rst_arrived_is_its_own_close() {
        let mut p = Play::new();
        p.handshake();
        let rst = p.c(RST | ACK, X + 1, Y + 1);
        let fin = p.s(FIN | ACK, Y + 1, X + 1);
        p.pause(2.0);
        assert_eq!(p.states(&rst), (Closed, Established));
        assert_eq!(p.event(fin.frame).step, Step::Teardown(1));
        assert_eq!(
            changes_after_handshake(&p),
            [
                (4, "client", Established, Closed),
                (5, "server", Established, FinWait1),
                (5, "server", FinWait1, Closed)
            ]
        );
        states_follow_transitions(&p.events).unwrap();
    }

    #[test]
    fn a_rst_of_the_receivers_own_that_crossed_an_exact_rst_closes_it_on_its_own_row() {
        let mut p = Play::new();
        p.handshake();
        let rst = p.c(RST | ACK, X + 1, Y + 1);
        let own = p.s(RST | ACK, Y + 1, X + 1);
        p.pause(2.0);
        assert_eq!(p.states(&rst), (Closed, Established));
        assert_eq!(p.states(&own), (Closed, Closed));
        assert_eq!(p.event(own.frame).notes, [Note::RstCrossed]);
        assert_eq!(
            changes_after_handshake(&p),
            [(4, "client", Established, Closed), (5, "server", Established, Closed)]
        );
    }

    #[test]
    fn a_segment_later_than_a_wait_may_last_did_not_cross_the_rst() {
        let mut p = Play::new();
        p.handshake();
        let rst = p.c(RST | ACK, X + 1, Y + 1);
        p.paused += 2.0;
        let late = p.send(S, C, PSH | ACK, Y + 1, X + 1, b"late");
        p.pause(2.0);
        assert_eq!(p.states(&rst), (Closed, Closed));
        assert!(!p.event(late.frame).notes.contains(&Note::RstCrossed));
        assert_eq!(
            changes_after_handshake(&p),
            [(4, "client", Established, Closed), (4, "server", Established, Closed)]
        );
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Flag combinations a capture can hold, sensible or not.
    fn any_flags() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(SYN),
            Just(SYN | ACK),
            Just(ACK),
            Just(PSH | ACK),
            Just(FIN | ACK),
            Just(FIN),
            Just(RST),
            Just(RST | ACK),
            any::<u8>(),
        ]
    }

    /// One segment: who sends it, flags, seq and ack as offsets from a base that may
    /// sit just below 2^32, and a payload length.
    fn any_segment() -> impl Strategy<Value = (bool, u8, u32, u32, usize)> {
        (any::<bool>(), any_flags(), 0u32..64, 0u32..64, 0usize..4)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever arrives, the tracker does not panic, states only move along RFC
        /// 9293's arrows, and each segment shows the states its transitions led to.
        #[test]
        fn states_only_change_along_legal_transitions(
            base_c in prop_oneof![Just(u32::MAX - 20), any::<u32>()],
            base_s in any::<u32>(),
            segments in proptest::collection::vec(any_segment(), 1..40),
        ) {
            let mut p = Play::new();
            for (from_client, flags, seq, ack, len) in segments {
                let data = vec![b'x'; len];
                let (src, dst, own, peer) = if from_client { (C, S, base_c, base_s) } else { (S, C, base_s, base_c) };
                let ev = p.send(src, dst, flags, own.wrapping_add(seq), peer.wrapping_add(ack), &data);
                prop_assert_eq!(ev.ack.is_some(), flags & ACK != 0);
            }
            for summary in p.summaries() {
                prop_assert!(summary.first_frame <= summary.last_frame);
            }
            // In the order handed out, each transition starts where the last one of its
            // end left off, and each segment shows the states its transitions led to.
            states_follow_transitions(&p.events).map_err(TestCaseError::fail)?;
        }

        /// Relative numbers are the raw ones minus the ISN, modulo 2^32, wherever the
        /// ISN sits on the circle.
        #[test]
        fn relative_numbers_survive_wraparound(isn in any::<u32>(), steps in proptest::collection::vec(1usize..1500, 1..20)) {
            let mut p = Play::new();
            p.c(SYN, isn, 0);
            p.s(SYN | ACK, Y, isn.wrapping_add(1));
            p.c(ACK, isn.wrapping_add(1), Y + 1);
            let mut sent: u32 = 1;
            for n in steps {
                let ev = p.send(C, S, PSH | ACK, isn.wrapping_add(sent), Y + 1, &vec![b'd'; n]);
                prop_assert_eq!(ev.seq, sent);
                sent += n as u32;
                let ack = p.s(ACK, Y + 1, isn.wrapping_add(sent));
                prop_assert_eq!(ack.ack, Some(sent));
            }
        }
    }
}

mod time_wait {
    use super::*;

    #[test]
    fn a_live_time_wait_that_runs_out_becomes_closed_once() {
        let mut p = Play::new();
        p.handshake();
        p.c(FIN | ACK, X + 1, Y + 1);
        p.s(FIN | ACK, Y + 1, X + 2);
        p.c(ACK, X + 2, Y + 2);
        let conn = tcplab::track::ConnId(0);
        let mut out = Vec::new();
        p.tracker.expire_time_wait(conn, endpoints(), tcplab::track::Role::Client, 61.0, &mut out);
        let [Event::Transition(t)] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!((t.from, t.to, t.ts), (TimeWait, Closed, 61.0));
        assert_eq!(
            p.tracker.connection(conn, endpoints()).unwrap().state(tcplab::track::Role::Client),
            Closed
        );
        let mut again = Vec::new();
        p.tracker.expire_time_wait(conn, endpoints(), tcplab::track::Role::Client, 62.0, &mut again);
        assert!(again.is_empty(), "an end that is not in TIME-WAIT does not expire");
    }

    #[test]
    fn the_rfc_rule_makes_time_wait_four_minutes() {
        let mut p = Play {
            tracker: Tracker::new(TrackConfig { time_wait_secs: 240.0, ..TrackConfig::default() }),
            events: Vec::new(),
            frame: 0,
            paused: 0.0,
        };
        p.handshake();
        p.c(FIN | ACK, X + 1, Y + 1);
        let fin = p.s(FIN | ACK, Y + 1, X + 2);
        p.c(ACK, X + 2, Y + 2);
        let (role, until) = p.summaries()[0].time_wait_until.unwrap();
        assert_eq!(role.name(), "client");
        // From the moment the server's FIN arrived.
        assert!((until - (fin.ts + 240.0)).abs() < 1e-9);
    }
}

mod memory {
    use super::*;

    fn small(max_finished: usize, max_live: usize) -> Play {
        let config = TrackConfig { max_finished, max_live, ..TrackConfig::default() };
        Play { tracker: Tracker::new(config), events: Vec::new(), frame: 0, paused: 0.0 }
    }

    fn summaries_so_far(p: &Play) -> usize {
        p.events.iter().filter(|e| matches!(e, Event::Connection(_))).count()
    }

    /// Client `port` opens, says nothing, and closes (merged close).
    fn short_connection(p: &mut Play, port: u16) {
        let c = format!("127.0.0.1:{port}");
        p.send(&c, S, SYN, X, 0, b"");
        p.send(S, &c, SYN | ACK, Y, X + 1, b"");
        p.send(&c, S, ACK, X + 1, Y + 1, b"");
        p.send(&c, S, FIN | ACK, X + 1, Y + 1, b"");
        p.send(S, &c, FIN | ACK, Y + 1, X + 2, b"");
        p.send(&c, S, ACK, X + 2, Y + 2, b"");
    }

    /// A flood of SYNs within the second an arrival may wait to be settled: the events
    /// waiting behind the holds stay a few thousand, not the whole flood.
    #[test]
    fn a_flood_of_syns_is_not_held_back_whole() {
        let mut tracker = Tracker::new(TrackConfig::default());
        let mut out = Vec::new();
        let server: std::net::SocketAddr = S.parse().unwrap();
        let mut most_behind = 0;
        for i in 0..30_000u32 {
            let seg = Segment {
                src: std::net::SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40000)),
                dst: server,
                seq: SeqNum(i),
                ack: SeqNum(0),
                flags: TcpFlags(SYN),
                window: 65535,
                header_len: 20,
                payload_len: 0,
                header: &[],
                payload: &[],
            };
            // A microsecond apart: all 30,000 within 30 ms of capture time.
            tracker.on_segment(&seg, FrameNumber(u64::from(i) + 1), f64::from(i) * 1e-6, &mut out);
            let handed_out = out.iter().filter(|e| matches!(e, Event::Segment(_))).count();
            most_behind = most_behind.max(i as usize + 1 - handed_out);
        }
        // Each SYN held is its segment and the client's transition: 4,096 events wait
        // at the most, 2,048 SYNs (without the bound, all 30,000 would).
        assert!(most_behind <= 2_049, "{most_behind} SYNs held back at once");
        tracker.finish(&mut out);
        assert_eq!(out.iter().filter(|e| matches!(e, Event::Segment(_))).count(), 30_000);
    }

    #[test]
    fn finished_connections_are_summarised_and_freed_beyond_the_cap() {
        let mut p = small(3, 1000);
        for port in 40000..40010 {
            short_connection(&mut p, port);
        }
        assert_eq!(summaries_so_far(&p), 7, "ten finished, three kept");
        assert_eq!(p.tracker.connections().count(), 3);
        let all = p.summaries();
        assert_eq!(all.len(), 10);
        let mut ids: Vec<u32> = all.iter().map(|s| s.conn.0).collect();
        ids.sort();
        assert_eq!(ids, (0..10).collect::<Vec<_>>(), "every connection summarised once");
    }

    #[test]
    fn a_reopened_four_tuple_keeps_both_connections_until_each_is_forgotten() {
        let mut p = small(1, 1000);
        let c = "127.0.0.1:40000";
        let (client, server) = (c.parse().unwrap(), S.parse().unwrap());
        // Connection 0 ends, and a SYN with a new ISN reopens its 4-tuple as connection 1.
        short_connection(&mut p, 40000);
        assert_eq!(p.send(c, S, SYN, X + 100_000, 0, b"").conn.0, 1);
        // Both are found by number and 4-tuple: the new one holds the 4-tuple, the
        // old one waits aside.
        assert_eq!(p.tracker.connection(ConnId(0), (client, server)).map(|c| c.id), Some(ConnId(0)));
        assert_eq!(p.tracker.connection(ConnId(1), (server, client)).map(|c| c.id), Some(ConnId(1)));
        assert_eq!(summaries_so_far(&p), 0);
        // Connection 1 ends too: with room for one finished connection, the one aside
        // is summarised and freed, and segments on the 4-tuple still find connection 1.
        p.send(S, c, SYN | ACK, Y, X + 100_001, b"");
        p.send(c, S, ACK, X + 100_001, Y + 1, b"");
        p.send(c, S, FIN | ACK, X + 100_001, Y + 1, b"");
        p.send(S, c, FIN | ACK, Y + 1, X + 100_002, b"");
        assert_eq!(p.send(c, S, ACK, X + 100_002, Y + 2, b"").conn.0, 1);
        assert_eq!(summaries_so_far(&p), 1);
        assert!(p.tracker.connection(ConnId(0), (client, server)).is_none());
        // A third connection ends: connection 1, holding the 4-tuple, goes in its turn.
        short_connection(&mut p, 40001);
        assert_eq!(summaries_so_far(&p), 2);
        assert!(p.tracker.connection(ConnId(1), (client, server)).is_none());
        assert_eq!(p.tracker.connections().map(|c| c.id).collect::<Vec<_>>(), [ConnId(2)]);
        let ids: Vec<u32> = p.summaries().iter().map(|s| s.conn.0).collect();
        assert_eq!(ids, [0, 1, 2], "every connection summarised once, in the order they ended");
    }

    #[test]
    fn a_syn_flood_keeps_the_table_bounded_and_says_how_many_it_dropped() {
        let mut p = small(10, 100);
        for i in 0..1000u32 {
            let src = format!("127.0.{}.{}:{}", (i >> 8) & 0xff, i & 0xff, 1024 + i % 50000);
            p.send(&src, S, SYN, i.wrapping_mul(7919), 0, b"");
        }
        assert!(p.tracker.connections().count() <= 100);
        assert_eq!(p.tracker.evicted_half_open(), 900);
        // A real connection in the middle of it is not the one dropped.
        short_connection(&mut p, 50001);
        assert_eq!(p.summaries().iter().filter(|s| s.conn_state == "SF").count(), 1);
    }

    /// Client `port` opens and sends one request; the connection stays open.
    fn open_connection(p: &mut Play, port: u16) {
        let c = format!("127.0.0.1:{port}");
        p.send(&c, S, SYN, X, 0, b"");
        p.send(S, &c, SYN | ACK, Y, X + 1, b"");
        p.send(&c, S, ACK, X + 1, Y + 1, b"");
        p.send(&c, S, PSH | ACK, X + 1, Y + 1, b"hi");
    }

    /// Connections that never close fill the table: each new one retires the least
    /// recently active, reported once and whole, marked as retired; new connections
    /// are never mistaken for unanswered SYNs or headless connections.
    #[test]
    fn a_full_table_retires_the_least_recently_active_connection() {
        let mut p = small(10, 3);
        for port in 40000..40003 {
            open_connection(&mut p, port);
        }
        // Connection 0 speaks again: connection 1 is now the least recently active.
        p.send("127.0.0.1:40000", S, PSH | ACK, X + 3, Y + 1, b"again");
        open_connection(&mut p, 40003);
        let retired: Vec<&ConnSummary> = p
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Connection(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(
            retired.iter().map(|s| (s.conn.0, s.retired, s.opened_by.is_some())).collect::<Vec<_>>(),
            [(1, true, true)]
        );
        assert_eq!(retired[0].conn.0, 1);
        assert!(retired[0].retired);
        assert_eq!((retired[0].segments_c2s, retired[0].segments_s2c), (3, 1), "reported complete");
        assert_eq!(p.tracker.retired(), 1);
        assert_eq!(p.tracker.evicted_half_open(), 0);
        // Many more: the table stays at three, every connection is summarised once,
        // each opened by its own SYN.
        for port in 40004..40100 {
            open_connection(&mut p, port);
            assert!(p.tracker.connections().count() <= 3);
        }
        let all = p.summaries();
        assert_eq!(all.len(), 100);
        assert!(all.iter().all(|s| s.opened_by.is_some() && s.handshake_rtt_ms.is_some()));
        assert_eq!(all.iter().filter(|s| s.retired).count(), 97);
        assert_eq!(p.tracker.retired(), 97);
        let mut ids: Vec<u32> = all.iter().map(|s| s.conn.0).collect();
        ids.sort();
        assert_eq!(ids, (0..100).collect::<Vec<_>>(), "every connection summarised once");
    }

    /// A retired connection whose arrival was still pending is settled first: its
    /// event comes out with the states it led to.
    #[test]
    fn retiring_settles_a_pending_arrival_first() {
        let mut p = small(10, 1);
        open_connection(&mut p, 40000);
        // The client's FIN: its arrival waits for the server's answer.
        let fin = p.send("127.0.0.1:40000", S, FIN | ACK, X + 3, Y + 1, b"");
        open_connection(&mut p, 40001);
        let summary = p.summaries().into_iter().find(|s| s.conn.0 == 0).unwrap();
        assert!(summary.retired);
        assert_eq!(p.states(&fin), (FinWait1, CloseWait));
    }
}
