//! One connection seen from the wire: both ends' states, relative numbering, the
//! textbook labels, and the counters for its summary.
//!
//! The state of each end follows RFC 9293's event model. A change that an end's own
//! call causes (OPEN sends a SYN, CLOSE a FIN, an abort a RST) belongs to the segment
//! that shows the call; a change that receiving a segment causes ("SEGMENT ARRIVES",
//! §3.10.7) belongs to the segment that arrives, on the receiver's side, even when the
//! receiver's answer comes later (Linux delays a bare ACK by about 40 ms, and is in
//! CLOSE-WAIT from the moment the FIN arrives). The kernel reports its states the same
//! way (the `sock:inet_sock_set_state` tracepoint), which is how the lab checks this.
//!
//! The wire shows when a segment left, not when it was processed: two SYNs or two FINs
//! can cross. So the arrival of a bare SYN or a FIN is settled by what the receiver
//! sends next. An answer that has not seen it (a SYN of its own, a RST from a port
//! nobody listens on, a FIN that does not acknowledge the other FIN) means it arrived
//! after that answer left; anything else, a retransmission aside, means it arrived as
//! captured. Until then the arrival is pending (see [`Pending`]), and the tracker holds
//! back the segment's event so that it is shown with the states it led to.
//!
//! A RST is checked before it is believed (RFC 9293 §3.10.7, RFC 5961 §3), and its
//! sender, which aborts, is CLOSED from the RST's own segment whenever the wire shows
//! that it really sent it:
//!
//! - One whose seq is in the receiver's window but not the next byte it expects waits
//!   (RFC 5961 §3.2). A RST from either end next, or silence, means the receiver took
//!   it: both ends close on the RST's segment. The sender going on means the RST was
//!   not its own. The receiver going on (its challenge ACK, or data) means it did not
//!   take it; then the sender's next segment tells whether the sender had reset. A RST
//!   that the receiver takes at once, at the byte it acknowledged, is the answer of an
//!   end without a connection: the sender is CLOSED from its first RST on, and the
//!   receiver from the second. Anything else, or silence (an end that had reset would
//!   have answered), means a RST that was not its sender's, forged or stale: nothing
//!   changes.
//! - One that the receiver takes at once (at the next byte) closes its sender on its
//!   segment, and its receiver as it arrives. A receiver still sending can have sent
//!   segments before it arrived, which a capture near the sender shows after it: they
//!   crossed, as FINs do. So its arrival waits while the receiver's segments keep
//!   coming (and the sender's RSTs that answer them, which travel behind the first and
//!   change nothing); the receiver closes after the last segment it sent, as a crossed
//!   FIN arrives after the answer it crossed, or on the RST's own segment if it sent
//!   none.
//!
//! So no data, FIN or teardown step is drawn from a lane that says CLOSED. A wait that
//! segments go on through lasts [`SETTLE_WITHIN`] at most.

use super::analysis::SeqAnalysis;
use super::event::{
    ConnId, ConnSummary, Direction, Event, HeaderBytes, Label, Note, Piece, Role, SegmentEvent, Step,
    Transition,
};
use super::flags::TcpFlags;
use super::seq::SeqNum;
use super::state::TcpState;
use super::zeek::{self, History};
use crate::decode::Segment;
use crate::source::FrameNumber;
use Piece::{Count, Flags, Relative, Words};
use smallvec::SmallVec;
use std::net::SocketAddr;

/// The state changes of both ends on one segment, in order: (end, from, to). At most
/// four (three of the sender's, one of the receiver's, or two and two), kept inline:
/// a connection changes state on most of its segments, and a heap allocation each
/// time was a tenth of what `--summary` spent.
pub type Changes = SmallVec<[(Role, TcpState, TcpState); 4]>;

/// What the wire has shown about one end.
#[derive(Debug, Clone)]
pub struct Side {
    pub state: TcpState,
    /// The number Wireshark makes relative seq numbers start from (the ISN when a
    /// SYN was seen).
    pub base: Option<SeqNum>,
    /// Sequence number of this end's SYN.
    pub isn: Option<SeqNum>,
    /// Sequence number of this end's FIN.
    pub fin: Option<SeqNum>,
    /// One past the highest sequence number sent so far.
    pub highest_seq: Option<SeqNum>,
    pub syn_acked: bool,
    pub fin_acked: bool,
    /// This end went SYN-RECEIVED from LISTEN, so a RST sends it back to LISTEN.
    pub passive_open: bool,
    /// The ack number of the last SYN-ACK this end received.
    pub last_synack_ack: Option<SeqNum>,
    pub bytes: u64,
    pub segments: u64,
    /// Steps already shown for this end's SYN and FIN, so retransmissions repeat them.
    /// The SYN's step is kept apart from the SYN-ACK's: in a simultaneous open one
    /// end sends both.
    pub syn_step: Option<Step>,
    pub syn_ack_step: Option<Step>,
    pub fin_step: Option<Step>,
    /// The window-scale shift this end offered in its SYN (RFC 7323).
    pub window_scale: Option<u8>,
    /// The ack and window of this end's last segment with the ACK flag: its RCV.NXT
    /// and RCV.WND as the wire shows them, to judge the resets that come to it.
    pub last_ack: Option<SeqNum>,
    pub last_window: u16,
}

impl Side {
    fn new(state: TcpState) -> Side {
        Side {
            state,
            base: None,
            isn: None,
            fin: None,
            highest_seq: None,
            syn_acked: false,
            fin_acked: false,
            passive_open: false,
            last_synack_ack: None,
            bytes: 0,
            segments: 0,
            syn_step: None,
            syn_ack_step: None,
            fin_step: None,
            window_scale: None,
            last_ack: None,
            last_window: 0,
        }
    }
}

/// The symbols of the document's Figure 2 for the wave: u is the active closer's FIN,
/// v the passive closer's seq on its ACK, w the passive closer's FIN.
#[derive(Debug, Clone, Default)]
struct Wave {
    closer: Option<Role>,
    u: Option<SeqNum>,
    v: Option<SeqNum>,
    w: Option<SeqNum>,
    second_seen: bool,
    fourth_seen: bool,
    simultaneous: bool,
}

/// What a segment's acknowledgment number covers of the other end's SYN and FIN.
#[derive(Debug, Clone, Copy)]
struct Acks {
    peer_syn: bool,
    peer_fin: bool,
    /// The first acknowledgment of the other end's SYN from this end.
    first_peer_syn: bool,
    /// A SYN-ACK with a new ISN after a reset or a close: the sender starts over on
    /// the same ports (Wireshark's "reused ports").
    reopened: bool,
}

/// A SYN, SYN-ACK, FIN or RST whose arrival at `receiver` is not settled yet: its
/// effect on the receiver's state waits for what the receiver sends next (see the
/// module doc), and for a RST, what its sender sends next.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    pub receiver: Role,
    /// The segment its changes will belong to: its own, or, for a RST on its way
    /// (`Wait::InFlight`), the last segment its receiver sent before it arrived.
    pub frame: FrameNumber,
    /// When its own segment was captured: the wait is timed from it.
    pub ts: f64,
    arrival: Arrival,
    wait: Wait,
}

impl Pending {
    /// Whether, at capture time `now`, this wait has gone on too long to be settled
    /// by a segment. Only the waits that segments go on through are held to it (a RST
    /// the receiver kept the connection after, or one in flight): the others end at
    /// the next segment, whenever it comes. Past it, a segment finds it settled as
    /// when its time runs out ([`Conn::settle`]).
    fn outlived(&self, now: f64) -> bool {
        let goes_on = matches!(self.wait, Wait::Doubted { kept: true } | Wait::InFlight);
        goes_on && now - self.ts > SETTLE_WITHIN
    }
}

/// What a pending arrival waits to learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// A SYN, SYN-ACK or FIN: whether it arrived before the receiver's next segment
    /// left.
    Arrival,
    /// A RST in the receiver's window but off the next byte (RFC 5961 §3.2): whether
    /// the receiver took it. Once the receiver has gone on sending (`kept`: a
    /// challenge ACK, or data), it did not; what is left to learn is whether the
    /// sender had really reset, which only the sender's next segment tells.
    Doubted { kept: bool },
    /// A RST the receiver takes, on its way to it: its sender closed as it sent it.
    /// Whatever the receiver sends meanwhile left before the RST arrived (they
    /// crossed), and it arrives after the last of them (`Pending::frame`). The
    /// sender's answers to those (RSTs from an end without a connection) travel
    /// behind the first RST and change nothing.
    InFlight,
}

/// What a segment brings to the end it arrives at: enough to apply it later.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    flags: TcpFlags,
    /// The acknowledgment number, when the ACK flag is set.
    ack: Option<SeqNum>,
}

impl Arrival {
    fn of(seg: &Segment) -> Arrival {
        Arrival { flags: seg.flags, ack: seg.flags.ack().then_some(seg.ack) }
    }

    /// A SYN, a SYN-ACK or a FIN: what can cross an answer of the receiver's, or
    /// reach an end that has no connection for it.
    fn may_cross(self) -> bool {
        !self.flags.rst() && (self.flags.syn() || self.flags.fin())
    }
}

/// What became of a pending arrival, as the receiver's next segment (or the
/// sender's) tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// It arrived as captured, or after the last segment of the receiver's that it
    /// crossed on its way (a RST): its changes belong to that segment.
    Arrived,
    /// It arrived after the receiver's answer left: its changes follow that answer.
    Crossed,
    /// Not settled yet: this segment of the receiver's crossed it (a RST on its way),
    /// and its changes will follow this segment unless a later one crosses it too.
    CrossedBy,
    /// It changed nothing: no connection took it, or a copy sent again replaces it.
    Lost,
    /// A RST in the window but not at the next expected byte that its receiver did
    /// not take (it answered with a challenge ACK, RFC 5961 §3.2, or went on sending)
    /// and whose sender did not show that it had reset (it went on sending, or said
    /// nothing more): forged or stale. It changed nothing.
    NotBelieved,
    /// A RST in the window but not at the next expected byte that the receiver did
    /// not believe, and whose sender had really reset: it answered the receiver's
    /// challenge with a RST the receiver takes. The sender is closed from its first
    /// RST on; the receiver closes on the second.
    SenderReset,
    /// Not settled yet: the receiver sent this segment without having taken the RST.
    Waits(Wait),
}

/// How the receiver of a segment takes its RST flag (RFC 9293 §3.10.7, RFC 5961 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RstVerdict {
    /// No RST, or one the receiver accepts at once: its seq is the next byte expected
    /// (or nothing can be judged). It closes the connection.
    Accepted,
    /// Not acceptable: in SYN-SENT it does not acknowledge the SYN; later its seq lies
    /// outside the receiver's window. Dropped; no state changes.
    Ignored,
    /// In the window but not at the next expected byte. An RFC 5961 receiver answers
    /// with a challenge ACK and keeps the connection; an older one closes. What the
    /// receiver sends next tells which, so its arrival is pending.
    InWindow,
}

/// A pending arrival, settled: the changes it made at the segment they belong to
/// (none when it crossed an answer, was retransmitted, or a SYN was never answered),
/// for the events the tracker held back.
#[derive(Debug)]
pub struct Settled {
    /// The segment the changes belong to: the held segment itself, or a later one of
    /// the receiver's that the held RST crossed (the last of them). That segment's
    /// row and the rows of this connection held after it were drawn before the
    /// changes were known. The changes come after that segment's own, and no later
    /// row changes the same end, so each changed end is in its new state on all of
    /// them. Its transitions take that segment's time.
    pub frame: FrameNumber,
    pub changes: Changes,
    /// A note that segment gets now that its fate is known (`rst_ignored` for a RST
    /// that was not believed, `rst_challenged` for one not believed although its
    /// sender had reset).
    pub note: Option<Note>,
}

/// What following one segment left for the tracker to do.
#[derive(Debug, Default)]
pub struct Outcome {
    /// An earlier arrival of this connection was settled.
    pub settled: Option<Settled>,
    /// This segment's arrival is pending: its event waits for [`Conn::settle`].
    pub pending: bool,
}

/// How long, in capture seconds, an arrival may wait to be settled: segments cross
/// within a round trip, and a class follows live output that waits this long at most.
/// The tracker settles a held arrival when its time is up; a wait that segments go
/// on through (see `Pending::outlived`) ends by it too.
pub const SETTLE_WITHIN: f64 = 1.0;

/// `--max-memory` when it is not given.
pub const DEFAULT_MEMORY_MIB: u64 = 256;

/// Settings that change what the tracker concludes.
#[derive(Debug, Clone, Copy)]
pub struct TrackConfig {
    /// How long TIME-WAIT lasts, in seconds (Linux 60, RFC 9293 2×MSL = 240).
    pub time_wait_secs: f64,
    /// A finished connection is kept this many capture seconds for late segments
    /// (a retransmitted last ACK), then summarised and freed.
    pub linger_secs: f64,
    /// At most this many finished connections are kept; older ones are summarised
    /// and freed first, so memory stays flat on long captures.
    pub max_finished: usize,
    /// At most this many connections are followed at once. Beyond it the least
    /// recently active one is summarised and freed (an unanswered SYN counted as such,
    /// any other marked as retired for space). The tracker also holds it to what
    /// `memory_mib` allows.
    pub max_live: usize,
    /// The most memory, in MiB, that tcplab should use while following connections
    /// (`--max-memory`): the connection table is sized from it
    /// ([`crate::track::table::connections_within`]).
    pub memory_mib: u64,
    /// Report every segment and transition, with its step and label. Without it only
    /// connection summaries come out, which is all `--summary` shows.
    pub detail: bool,
}

impl Default for TrackConfig {
    fn default() -> Self {
        TrackConfig {
            time_wait_secs: 60.0,
            linger_secs: 120.0,
            max_finished: 10_000,
            max_live: usize::MAX,
            memory_mib: DEFAULT_MEMORY_MIB,
            detail: true,
        }
    }
}

/// One connection, both ends.
#[derive(Debug, Clone)]
pub struct Conn {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub client_guessed: bool,
    sides: [Side; 2],
    wave: Wave,
    /// The steps shown so far told a simultaneous open (set while labelling, so only
    /// when segments are shown; it also catches one whose first SYN was not captured).
    simultaneous_open: bool,
    /// Both ends' bare SYNs were seen: what the summary says, also when no segment is
    /// shown (`--summary`).
    both_opened: bool,
    first_frame: FrameNumber,
    last_frame: FrameNumber,
    first_ts: f64,
    last_ts: f64,
    syn_ts: Option<f64>,
    established_ts: Option<f64>,
    opened_by: Option<Role>,
    closed_by: Option<Role>,
    reset_by: Option<Role>,
    history: History,
    time_wait: Option<(Role, f64)>,
    /// Made on the first segment shown: a run that shows only summaries never needs
    /// it, and a SYN flood's million connections would each carry it.
    analysis: Option<Box<SeqAnalysis>>,
    /// A bare SYN or FIN whose arrival is not settled yet.
    pending: Option<Pending>,
    /// A RST was seen on this connection (accepted or not): a later SYN-ACK with a
    /// new ISN starts over.
    rst_seen: bool,
    /// Which end sent the segment before this one (none before the first): a RST
    /// from a CLOSED end right after the other end's segment is its answer to it.
    last_sender: Option<Role>,
}

impl Conn {
    /// A connection whose first segment is `seg`. The client is the sender of a bare
    /// SYN, the receiver of a SYN-ACK, or else Zeek's originator: the sender, unless
    /// the ports say otherwise (`zeek::flips_first`), so that the guess is one a
    /// familiar tool makes and `history` writes `^` exactly when Zeek does.
    pub fn new(id: ConnId, seg: &Segment, frame: FrameNumber, ts: f64) -> Conn {
        let (client, server, guessed, client_state, server_state) = if seg.flags.syn() && !seg.flags.ack() {
            (seg.src, seg.dst, false, TcpState::Closed, TcpState::Listen)
        } else if seg.flags.syn() {
            (seg.dst, seg.src, false, TcpState::SynSent, TcpState::Listen)
        } else {
            let flipped = zeek::flips_first(seg.src.port(), seg.dst.port(), seg.flags);
            let (c, s) = if flipped { (seg.dst, seg.src) } else { (seg.src, seg.dst) };
            (c, s, true, TcpState::Established, TcpState::Established)
        };
        Conn {
            id,
            client,
            server,
            client_guessed: guessed,
            sides: [Side::new(client_state), Side::new(server_state)],
            wave: Wave::default(),
            simultaneous_open: false,
            both_opened: false,
            first_frame: frame,
            last_frame: frame,
            first_ts: ts,
            last_ts: ts,
            syn_ts: None,
            established_ts: None,
            opened_by: None,
            closed_by: None,
            reset_by: None,
            history: History::default(),
            time_wait: None,
            analysis: None,
            pending: None,
            rst_seen: false,
            last_sender: None,
        }
    }

    pub fn side(&self, role: Role) -> &Side {
        &self.sides[role.index()]
    }

    fn side_mut(&mut self, role: Role) -> &mut Side {
        &mut self.sides[role.index()]
    }

    pub fn state(&self, role: Role) -> TcpState {
        self.side(role).state
    }

    /// The shift that scales the windows `role` advertises: only when both SYNs
    /// carried the window-scale option (RFC 7323 §2.2).
    pub fn window_shift(&self, role: Role) -> Option<u8> {
        let (own, peer) = (self.side(role).window_scale, self.side(role.peer()).window_scale);
        own.filter(|_| peer.is_some()).map(|s| s.min(14))
    }

    /// The address of one end.
    pub fn endpoint(&self, role: Role) -> SocketAddr {
        match role {
            Role::Client => self.client,
            Role::Server => self.server,
        }
    }

    /// The 2MSL timer of `role` ran out (seen live): TIME-WAIT → CLOSED.
    pub fn expire_time_wait(&mut self, role: Role, ts: f64) -> Option<Transition> {
        if self.state(role) != TcpState::TimeWait {
            return None;
        }
        let mut changes = Changes::new();
        self.set_state(role, TcpState::Closed, &mut changes);
        Some(Transition {
            conn: self.id,
            frame: self.last_frame,
            ts,
            time: None,
            side: role,
            from: TcpState::TimeWait,
            to: TcpState::Closed,
        })
    }

    /// A SYN that nobody has answered: the server end has sent nothing.
    pub fn is_half_open(&self) -> bool {
        self.side(Role::Server).segments == 0 && self.state(Role::Client) == TcpState::SynSent
    }

    /// True once neither end holds the connection open any more.
    pub fn is_finished(&self) -> bool {
        self.sides.iter().all(|s| matches!(s.state, TcpState::Closed | TcpState::TimeWait | TcpState::Listen))
    }

    /// Whether a bare SYN from `src` with this sequence number begins a new connection
    /// on this 4-tuple (Wireshark does the same: a SYN whose seq differs from the
    /// sender's base starts a new stream).
    pub fn is_reopened_by(&self, seg: &Segment) -> bool {
        if !seg.flags.syn() || seg.flags.ack() || seg.flags.rst() {
            return false;
        }
        let role = if seg.src == self.client { Role::Client } else { Role::Server };
        match self.side(role).base {
            Some(base) => base != seg.seq,
            None => false,
        }
    }

    /// Follows one segment of this connection, appending what it shows to `out`.
    ///
    /// What every view needs is done by `observe` and `change_states`, which a
    /// summary run calls alone for every segment. They and the transitions they make
    /// are inlined, and `show` is kept out of line, so that this path is one small
    /// function: as calls, or sharing one large function with the display code, they
    /// cost `--summary` 7 % of the instructions it spends tracking.
    pub fn on_segment(
        &mut self,
        seg: &Segment,
        frame: FrameNumber,
        ts: f64,
        cfg: &TrackConfig,
        out: &mut Vec<Event>,
    ) -> Outcome {
        // The segment belongs to this connection, so it comes from the client exactly
        // when its source is the client's address (and then goes to the server's).
        let dir = if seg.src == self.client { Direction::ClientToServer } else { Direction::ServerToClient };
        let mut outcome = Outcome::default();
        if self.pending.is_some_and(|p| p.outlived(ts)) {
            outcome.settled = self.settle(cfg);
        }
        // What this segment says of an arrival still pending, before it is followed.
        let (crossed, told) = match self.pending {
            Some(pending) => self.settle_before(pending, seg, dir.sender(), frame, cfg, &mut outcome),
            None => (None, None),
        };
        let waiting = self.pending.is_some();
        // A reset the receiver does not accept changes no state (RFC 9293 §3.10.7). One
        // behind a RST still on its way to the same end arrives after it, when that
        // end has closed: there is nothing to judge it by.
        let behind = self.pending.is_some_and(|p| p.receiver == dir.sender().peer());
        let rst = if seg.flags.rst() && !behind {
            self.rst_verdict(dir.sender().peer(), seg)
        } else {
            RstVerdict::Accepted
        };
        if cfg.detail {
            self.show(seg, dir, frame, ts, crossed, told, rst, cfg, out);
        } else {
            // Only summaries are wanted (`--summary`): the counters, the history and the
            // states, without Wireshark's analysis, the steps, the notes or any event.
            let acks = self.observe(seg, dir, frame, ts, rst);
            self.change_states(seg, dir.sender(), acks, crossed, rst, frame, ts, cfg);
        }
        // A wait that began on this segment (one that goes on through it was held
        // before).
        outcome.pending = !waiting && self.pending.is_some();
        outcome
    }

    /// Settles `pending` by the segment that follows it (`frame`, from `me`), unless
    /// that segment leaves it waiting (see the module doc). Returns the arrival when
    /// it crossed the segment, to be applied after it, and the note the segment gets
    /// for what it tells of the arrival: `challenge_ack` for the receiver's answer to
    /// a RST it did not believe, `rst_crossed` for a segment the receiver sent before
    /// a RST reached it.
    fn settle_before(
        &mut self,
        pending: Pending,
        seg: &Segment,
        me: Role,
        frame: FrameNumber,
        cfg: &TrackConfig,
        outcome: &mut Outcome,
    ) -> (Option<Arrival>, Option<Note>) {
        let (fate, told) = match pending.wait {
            Wait::Arrival => (self.arrival_fate(pending, seg, me), None),
            Wait::Doubted { kept } => self.doubted_fate(pending, kept, seg, me),
            Wait::InFlight => Self::in_flight_fate(pending, seg, me),
        };
        match fate {
            Fate::Waits(wait) => {
                self.pending = Some(Pending { wait, ..pending });
                return (None, told);
            }
            Fate::CrossedBy => {
                self.pending = Some(Pending { frame, ..pending });
                return (None, told);
            }
            _ => {}
        }
        self.pending = None;
        outcome.settled = Some(self.conclude(pending, fate, cfg));
        ((fate == Fate::Crossed).then_some(pending.arrival), told)
    }

    /// What became of a pending SYN, SYN-ACK or FIN, as the segment from `me` that
    /// follows it tells: the receiver's answer shows whether it had arrived.
    fn arrival_fate(&self, pending: Pending, seg: &Segment, me: Role) -> Fate {
        let flags = seg.flags;
        let arrival = pending.arrival;
        if me == pending.receiver {
            if flags.rst() && arrival.flags.syn() {
                // A refusal (nothing listened for the SYN) or an old duplicate (nothing
                // waited for the SYN-ACK): the receiver had no connection to change.
                Fate::Lost
            } else if arrival.flags.syn() && flags.syn() && (arrival.flags.ack() || !flags.ack()) {
                // A SYN of its own against a SYN, or its SYN-ACK against a SYN-ACK: sent
                // before the other came in, as in a simultaneous open. (A SYN-ACK that
                // answers a SYN is the answer itself.)
                Fate::Crossed
            } else if arrival.flags.fin() {
                // A FIN of its own that does not acknowledge the one pending.
                let acks_it = flags.ack() && self.side(me.peer()).fin.is_some_and(|fin| seg.ack.after(fin));
                if flags.fin() && !acks_it { Fate::Crossed } else { Fate::Arrived }
            } else {
                Fate::Arrived
            }
        } else if (arrival.flags.syn() && flags.syn() && arrival.flags.ack() == flags.ack())
            || (arrival.flags.fin() && flags.fin())
        {
            // The sender again, with the same SYN or FIN: the first copy did not get
            // through (or was not answered); the new one is pending now.
            Fate::Lost
        } else {
            Fate::Arrived
        }
    }

    /// What became of a RST in the window, off the next expected byte (RFC 5961 §3.2),
    /// as the segment from `me` that follows it tells; `kept` once the receiver has
    /// gone on sending after it. With the note that segment gets.
    fn doubted_fate(&self, pending: Pending, kept: bool, seg: &Segment, me: Role) -> (Fate, Option<Note>) {
        let receiver = pending.receiver;
        if !kept && seg.flags.rst() {
            // A RST from either end before the receiver said anything else: the reset
            // was taken (the receiver resets what comes to a closed port, the sender
            // repeats itself).
            return (Fate::Arrived, None);
        }
        if me == receiver {
            if !self.leaves_peer_as_is(seg, me) {
                // A SYN, FIN or RST of the receiver's own, or an ACK that moves the
                // sender's state: the receiver kept the connection, and the sender has
                // not shown that it had reset.
                return (Fate::NotBelieved, None);
            }
            // The receiver kept the connection. Whether the sender had reset is for its
            // next segment to tell; this one leaves it as it is, so it waits too.
            // RFC 5961 §3.2's answer is <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, nothing else.
            let challenge = !kept && seg.flags.ack() && seg.payload_len == 0;
            return (Fate::Waits(Wait::Doubted { kept: true }), challenge.then_some(Note::ChallengeAck));
        }
        // The sender again. After the receiver's answer, a RST that the receiver takes
        // at once (at exactly the byte it acknowledged, which a blind attacker cannot
        // know) is what an end without a connection sends back: it had reset. Anything
        // else shows it still there, sending.
        let answered_by_reset =
            kept && seg.flags.rst() && self.rst_verdict(receiver, seg) == RstVerdict::Accepted;
        (if answered_by_reset { Fate::SenderReset } else { Fate::NotBelieved }, None)
    }

    /// What became of a RST on its way to a receiver that takes it, as the segment
    /// from `me` that follows it tells. With the note the segment gets.
    fn in_flight_fate(pending: Pending, seg: &Segment, me: Role) -> (Fate, Option<Note>) {
        if me != pending.receiver && seg.flags.rst() {
            // The sender's answer to what the receiver sent (it has no connection):
            // behind the first RST, it tells nothing of when that one arrived.
            return (Fate::Waits(Wait::InFlight), None);
        }
        if me != pending.receiver || seg.flags.syn() {
            // The sender starting over, or the receiver: the RST has arrived by now,
            // after whatever the receiver sent before.
            return (Fate::Arrived, None);
        }
        if seg.flags.rst() {
            // The receiver's own abort, sent before the RST came: it closes the receiver
            // on its own row, and the RST changes nothing more after it.
            return (Fate::Crossed, Some(Note::RstCrossed));
        }
        // The receiver, still sending: this left before the RST arrived.
        (Fate::CrossedBy, Some(Note::RstCrossed))
    }

    /// Whether a segment from `me` leaves the other end's state as it is when it
    /// arrives, and starts no wait of its own: no SYN, FIN or RST, and no first
    /// acknowledgment of the other end's FIN.
    fn leaves_peer_as_is(&self, seg: &Segment, me: Role) -> bool {
        let flags = seg.flags;
        let peer = self.side(me.peer());
        let acks_new_fin = flags.ack() && !peer.fin_acked && peer.fin.is_some_and(|fin| seg.ack.after(fin));
        !flags.syn() && !flags.fin() && !flags.rst() && !acks_new_fin
    }

    /// Makes the changes `fate` calls for, and says where they belong, for the event
    /// held back for `pending`.
    fn conclude(&mut self, pending: Pending, fate: Fate, cfg: &TrackConfig) -> Settled {
        match fate {
            Fate::Arrived => self.arrived(pending, cfg),
            Fate::SenderReset => self.sender_reset(pending, cfg),
            Fate::NotBelieved => {
                Settled { note: Some(Note::RstIgnored), ..self.settled_without_change(pending) }
            }
            // Crossed: applied after the segment that it crossed, as that one is followed.
            Fate::Crossed | Fate::Lost | Fate::CrossedBy | Fate::Waits(_) => {
                self.settled_without_change(pending)
            }
        }
    }

    fn settled_without_change(&self, pending: Pending) -> Settled {
        Settled { frame: pending.frame, changes: Changes::new(), note: None }
    }

    /// Applies a pending arrival as captured, at its own segment, or after the last
    /// segment of its receiver's that it crossed (`Pending::frame`). For a RST in the
    /// window, also its sender's own change (an abort: CLOSED), which waited with it.
    fn arrived(&mut self, pending: Pending, cfg: &TrackConfig) -> Settled {
        let mut changes = Changes::new();
        if pending.arrival.flags.rst() {
            self.abort(pending.receiver.peer(), &mut changes);
        }
        self.arrive(pending.receiver, pending.arrival, &mut changes);
        self.record_changes(&changes, pending.ts, cfg);
        Settled { frame: pending.frame, changes, note: None }
    }

    /// A RST the receiver did not believe, from a sender that had reset: the sender's
    /// abort, at the RST's own segment; the receiver stays as it is.
    fn sender_reset(&mut self, pending: Pending, cfg: &TrackConfig) -> Settled {
        let mut changes = Changes::new();
        self.abort(pending.receiver.peer(), &mut changes);
        self.record_changes(&changes, pending.ts, cfg);
        Settled { frame: pending.frame, changes, note: Some(Note::RstChallenged) }
    }

    /// `sender` aborted with a RST that waited to be believed: it is CLOSED, and the
    /// connection was closed and reset by it (unless by the other end first).
    fn abort(&mut self, sender: Role, changes: &mut Changes) {
        if !matches!(self.state(sender), TcpState::Closed | TcpState::Listen) {
            self.set_state(sender, TcpState::Closed, changes);
        }
        self.closed_by.get_or_insert(sender);
        self.reset_by.get_or_insert(sender);
    }

    /// The pending arrival, if any, when nothing more will settle it (its time is up,
    /// the capture ended, or the connection is forgotten). A SYN that nobody answered
    /// is taken not to have arrived. A FIN or a RST is taken to have arrived as
    /// captured, or after the last segment that its receiver sent meanwhile. A RST the
    /// receiver answered and kept the connection after is taken not to have been its
    /// sender's: an end that had reset would have answered in turn with a RST.
    pub fn settle(&mut self, cfg: &TrackConfig) -> Option<Settled> {
        let pending = self.pending.take()?;
        let fate = match pending.wait {
            Wait::Arrival if pending.arrival.flags.syn() => Fate::Lost,
            Wait::Arrival | Wait::Doubted { kept: false } | Wait::InFlight => Fate::Arrived,
            Wait::Doubted { kept: true } => Fate::NotBelieved,
        };
        Some(self.conclude(pending, fate, cfg))
    }

    /// How `receiver` takes a RST (RFC 9293 §3.10.7.3–4, RFC 5961 §3). In SYN-SENT it
    /// must acknowledge the SYN: SND.UNA < SEG.ACK ≤ SND.NXT. In the synchronized states
    /// its seq must lie in the receiver's window, RCV.NXT ≤ SEG.SEQ < RCV.NXT + RCV.WND
    /// (= RCV.NXT when the window is closed; the edge itself counts, see below), and
    /// only a seq of exactly RCV.NXT resets at once. RCV.NXT and RCV.WND are the
    /// receiver's last ack and window; while it has sent no ACK nothing can be judged,
    /// so the reset counts. LISTEN and CLOSED ignore resets anyway.
    fn rst_verdict(&self, receiver: Role, seg: &Segment) -> RstVerdict {
        use TcpState::*;
        let side = self.side(receiver);
        let acceptable = match side.state {
            SynSent => {
                seg.flags.ack()
                    && side.isn.is_some_and(|isn| seg.ack.after(isn))
                    && side.highest_seq.is_none_or(|next| seg.ack.before_or_at(next))
            }
            Closed | Listen => true,
            _ => match side.last_ack {
                None => true,
                Some(rcv_nxt) if seg.seq == rcv_nxt => true,
                Some(_) if side.last_window == 0 => false,
                Some(rcv_nxt) => {
                    let shift = self.window_shift(receiver).unwrap_or(0);
                    let window = u32::from(side.last_window) << shift;
                    // The right edge counts too: the receiver's RCV.NXT is known only
                    // from its last ACK, so a sender that has filled that window resets
                    // at its edge while the real RCV.NXT has moved on.
                    if !(rcv_nxt.before_or_at(seg.seq) && seg.seq.before_or_at(rcv_nxt.plus(window))) {
                        return RstVerdict::Ignored;
                    }
                    // Off the next expected byte: a challenge ACK's case, between two
                    // synchronized ends (TIME-WAIT takes any reset in its window).
                    if synchronized(side.state) && synchronized(self.state(receiver.peer())) {
                        return RstVerdict::InWindow;
                    }
                    true
                }
            },
        };
        if acceptable { RstVerdict::Accepted } else { RstVerdict::Ignored }
    }

    /// Whether an arrival waits to be settled.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Follows a segment that is shown: besides what every view needs, Wireshark's
    /// analysis, the step and its label, the notes, and the events.
    #[inline(never)] // See `on_segment`.
    #[allow(clippy::too_many_arguments)]
    fn show(
        &mut self,
        seg: &Segment,
        dir: Direction,
        frame: FrameNumber,
        ts: f64,
        crossed: Option<Arrival>,
        told: Option<Note>,
        rst: RstVerdict,
        cfg: &TrackConfig,
        out: &mut Vec<Event>,
    ) {
        let me = dir.sender();
        let peer = me.peer();
        let flags = seg.flags;
        let mut notes = Vec::new();
        // A RST from an end that is CLOSED already, right after the other end's segment,
        // is its answer to it (RFC 9293 §3.10.7.1), not an abort: the step's own words
        // would say abort. (A second RST of its own in a row answers nothing.) Read
        // before `observe` takes this segment in.
        let answered = flags.rst() && self.state(me) == TcpState::Closed && self.last_sender == Some(peer);
        if self.client_guessed && self.first_frame == frame {
            notes.push(Note::ClientGuessed);
        }
        if seg.header_cut() {
            notes.push(Note::HeaderCut);
        }
        notes.extend(told);

        // Wireshark's sequence analysis (retransmissions, duplicate ACKs, windows), with
        // the window scaling of the SYNs seen before this segment.
        let peer_window_shift = self.side(peer).isn.map(|_| match self.side(me).isn {
            Some(_) => self.window_shift(peer).unwrap_or(0),
            None => self.side(peer).window_scale.unwrap_or(0),
        });
        let analysis = self.analysis.get_or_insert_with(Box::default);
        analysis.analyse(me, seg, frame, ts, peer_window_shift, &mut notes);

        let acks = self.observe(seg, dir, frame, ts, rst);
        if acks.reopened {
            // A new SYN-ACK, not the first one sent again.
            notes.retain(|n| !matches!(n, Note::SynRetransmission { .. }));
            notes.push(Note::PortsReused);
        }
        let (step, label) = self.step_and_label(seg, me, acks, &mut notes);
        let (changes, note) = self.change_states(seg, me, acks, crossed, rst, frame, ts, cfg);
        notes.extend(note);
        // A refused or stale SYN, or a reset not taken, has a note that says more.
        if answered && !notes.iter().any(|n| n.replaces_step_words()) {
            notes.push(Note::RstAnswer);
        }
        for &(role, _, to) in &changes {
            if to == TcpState::TimeWait {
                notes.push(Note::TimeWait(role));
            }
        }

        let relative_ack = flags.ack().then(|| {
            let base = self.side(peer).base.unwrap_or(SeqNum(0));
            seg.ack.since(base)
        });
        out.push(Event::Segment(SegmentEvent {
            conn: self.id,
            frame,
            ts,
            time: None,
            src: seg.src,
            dst: seg.dst,
            dir,
            flags,
            seq: seg.seq.since(self.side(me).base.unwrap_or(seg.seq)),
            ack: relative_ack,
            seq_raw: seg.seq,
            ack_raw: seg.ack,
            len: seg.payload_len,
            win: seg.window,
            label,
            step,
            client_state: self.state(Role::Client),
            server_state: self.state(Role::Server),
            notes,
            payload: seg.payload.to_vec(),
            header: HeaderBytes::new(seg.header),
        }));
        for (side, from, to) in changes {
            out.push(Event::Transition(Transition { conn: self.id, frame, ts, time: None, side, from, to }));
        }
    }

    /// What every view needs of a segment, the summary included: relative numbering,
    /// the sequence space each end has sent, what is acknowledged, the counters and
    /// Zeek's history. Returns what the segment acknowledges of the other end's SYN
    /// and FIN.
    #[inline(always)] // See `on_segment`.
    fn observe(
        &mut self,
        seg: &Segment,
        dir: Direction,
        frame: FrameNumber,
        ts: f64,
        rst: RstVerdict,
    ) -> Acks {
        let me = dir.sender();
        let peer = me.peer();
        let flags = seg.flags;
        self.last_frame = frame;
        self.last_ts = ts;
        self.last_sender = Some(me);

        // A SYN-ACK with a new ISN after a reset or a close: the end starts over on
        // the same ports, and its numbers count from the new ISN (a SYN is always at
        // relative 0). Wireshark does the same, keeping the stream; a new bare SYN is
        // a new connection altogether (`Conn::is_reopened_by`).
        let reopened = flags.syn()
            && flags.ack()
            && self.side(me).base.is_some_and(|base| base != seg.seq)
            && self.side(me).isn != Some(seg.seq)
            && (self.rst_seen || self.side(me).fin.is_some());
        if reopened {
            let side = self.side_mut(me);
            side.base = Some(seg.seq);
            side.isn = None;
            side.fin = None;
            side.highest_seq = None;
            side.syn_step = None;
            side.syn_ack_step = None;
            side.fin_step = None;
            side.window_scale = None;
            // The other end's SYN, not captured, is the one this SYN-ACK acknowledges;
            // its old FIN belongs to the connection before.
            let other = self.side_mut(peer);
            other.isn = Some(seg.ack.plus(u32::MAX));
            other.highest_seq = Some(seg.ack);
            other.fin = None;
            other.fin_acked = false;
            other.fin_step = None;
            other.syn_acked = false;
            self.wave = Wave::default();
        }
        self.rst_seen |= flags.rst();
        // The window scale each SYN offers, to judge resets by the receiver's window.
        if flags.syn() && self.side(me).isn.is_none() {
            self.side_mut(me).window_scale = seg.options().window_scale;
        }
        if flags.ack() && !flags.rst() {
            let side = self.side_mut(me);
            side.last_ack = Some(seg.ack);
            side.last_window = seg.window;
        }

        // Relative numbering, as Wireshark does it: a SYN's seq is the base; otherwise
        // the first seq seen minus one, so that the first segment shows 1; an end's base
        // is also learned from the first ACK the other end sends it.
        if self.side(me).base.is_none() {
            self.side_mut(me).base = Some(if flags.syn() { seg.seq } else { seg.seq.plus(u32::MAX) });
        }
        if flags.ack() && self.side(peer).base.is_none() {
            self.side_mut(peer).base = Some(seg.ack.plus(u32::MAX));
        }

        // Sequence-space bookkeeping: Zeek's `T` (data entirely below the highest
        // sequence number sent, whatever the cause), SYN and FIN positions.
        let seq_end = seg.seq.plus(seg.seq_len());
        let below_highest =
            seg.seq_len() > 0 && self.side(me).highest_seq.is_some_and(|high| seq_end.before_or_at(high));
        {
            let s = self.side_mut(me);
            if s.highest_seq.is_none_or(|high| seq_end.after(high)) {
                s.highest_seq = Some(seq_end);
            }
            if flags.syn() && s.isn.is_none() {
                s.isn = Some(seg.seq);
            }
            if flags.fin() && s.fin.is_none() {
                s.fin = Some(seg.seq.plus(seg.payload_len));
            }
            s.bytes += u64::from(seg.payload_len);
            s.segments += 1;
        }
        let peer_syn = flags.ack() && self.side(peer).isn.is_some_and(|isn| seg.ack.after(isn));
        let acks = Acks {
            peer_syn,
            peer_fin: flags.ack() && self.side(peer).fin.is_some_and(|fin| seg.ack.after(fin)),
            first_peer_syn: peer_syn && !self.side(peer).syn_acked,
            reopened,
        };
        if acks.peer_syn {
            self.side_mut(peer).syn_acked = true;
        }
        if acks.peer_fin {
            self.side_mut(peer).fin_acked = true;
        }
        if flags.syn() && flags.ack() {
            self.side_mut(peer).last_synack_ack = Some(seg.ack);
        }
        self.history.record(dir, seg, below_highest);
        if flags.syn() && !flags.ack() && self.established_ts.is_none() {
            // The round trip is timed from the SYN that was answered, the last one
            // sent (Karn's rule), not from a first SYN that was lost.
            self.syn_ts = Some(ts);
            self.both_opened |= self.opened_by.is_some_and(|first| first != me);
            self.opened_by.get_or_insert(me);
        }
        // A reset counts once its receiver takes it; one in the window waits for that
        // (`Conn::arrived`).
        let reset = flags.rst() && rst == RstVerdict::Accepted;
        if (flags.fin() || reset) && self.closed_by.is_none() {
            self.closed_by = Some(me);
        }
        if reset && self.reset_by.is_none() {
            self.reset_by = Some(me);
        }
        acks
    }

    /// The state changes a segment from `me` causes, in RFC 9293's order: the
    /// sender's own (the call the segment shows), an arrival at the sender that this
    /// segment crossed, then the segment's arrival at the receiver, unless that has to
    /// wait (a bare SYN or a FIN, a RST in the window off the next byte, or a RST the
    /// receiver may send across: it becomes pending). Returns them with the note the
    /// sender's change calls for, if any, and keeps what the summary needs of them.
    #[inline(always)] // See `on_segment`.
    #[allow(clippy::too_many_arguments)]
    fn change_states(
        &mut self,
        seg: &Segment,
        me: Role,
        acks: Acks,
        crossed: Option<Arrival>,
        rst: RstVerdict,
        frame: FrameNumber,
        ts: f64,
        cfg: &TrackConfig,
    ) -> (Changes, Option<Note>) {
        let mut changes = Changes::new();
        if rst != RstVerdict::Accepted {
            // Dropped by the receiver, or waiting for what it sends next; and its sender
            // is no end of this connection as the states know it (a forged reset, or one
            // from an old connection) until the receiver shows it took the reset.
            if let Some(arrival) = crossed {
                self.arrive(me, arrival, &mut changes);
            }
            self.record_changes(&changes, ts, cfg);
            if rst == RstVerdict::InWindow {
                self.wait_for(me.peer(), frame, ts, Arrival::of(seg), Wait::Doubted { kept: false });
                return (changes, None);
            }
            return (changes, Some(Note::RstIgnored));
        }
        let note = self.sender_transitions(seg, me, acks, &mut changes);
        if let Some(arrival) = crossed {
            self.arrive(me, arrival, &mut changes);
        }
        let arrival = Arrival::of(seg);
        if let Some(pending) = self.pending {
            // A RST still waits, and this segment did not settle it.
            if pending.receiver != me.peer() {
                // From its receiver: this leaves the RST's sender as it is
                // (`leaves_peer_as_is`), or that end is CLOSED (`Wait::InFlight`), where
                // nothing of it changes anything. Nothing more waits.
                self.arrive(me.peer(), arrival, &mut changes);
            }
            // Else from its sender, behind it on the way: the first RST closes the
            // receiver before this arrives.
        } else if arrival.may_cross() {
            self.wait_for(me.peer(), frame, ts, arrival, Wait::Arrival);
        } else if arrival.flags.rst() && self.may_be_crossed_by(me.peer()) {
            // Taken, but the receiver may have sent more before it arrives.
            self.wait_for(me.peer(), frame, ts, arrival, Wait::InFlight);
        } else {
            self.arrive(me.peer(), arrival, &mut changes);
        }
        self.record_changes(&changes, ts, cfg);
        (changes, note)
    }

    /// The arrival of segment `frame` at `receiver` waits (see [`Pending`]).
    fn wait_for(&mut self, receiver: Role, frame: FrameNumber, ts: f64, arrival: Arrival, wait: Wait) {
        debug_assert!(self.pending.is_none(), "one arrival waits at a time");
        self.pending = Some(Pending { receiver, frame, ts, arrival, wait });
    }

    /// Whether a RST that `receiver` takes may yet be crossed by segments it sends
    /// before the RST arrives: it is in a synchronized state, where it may be sending,
    /// and the RST's sender has closed, so that nothing arriving there changes it.
    fn may_be_crossed_by(&self, receiver: Role) -> bool {
        synchronized(self.state(receiver)) && self.state(receiver.peer()) == TcpState::Closed
    }

    /// Keeps what the summary needs of state changes made at `ts`: when TIME-WAIT
    /// ends, and when the handshake completed.
    fn record_changes(&mut self, changes: &Changes, ts: f64, cfg: &TrackConfig) {
        for &(role, _, to) in changes {
            if to == TcpState::TimeWait {
                self.time_wait = Some((role, ts + cfg.time_wait_secs));
            }
            if to == TcpState::Established && role == Role::Server && self.established_ts.is_none() {
                self.established_ts = Some(ts);
            }
        }
    }

    /// The one place a state changes, so that every change is reported.
    fn set_state(&mut self, role: Role, to: TcpState, changes: &mut Changes) {
        let from = self.state(role);
        if from == to {
            return;
        }
        debug_assert!(from.can_become(to), "{from} -> {to}");
        self.side_mut(role).state = to;
        changes.push((role, from, to));
    }

    /// Changes of the sending end: the calls a segment shows (OPEN sends a SYN, CLOSE
    /// a FIN, an abort a RST), and what an arrival the capture did not show must have
    /// done first (a SYN-ACK from an end never seen to receive a SYN). Each is made as
    /// it is found, so that the next one starts from it. Returns the note that a reset
    /// calls for, if any.
    #[inline(always)] // See `on_segment`.
    fn sender_transitions(
        &mut self,
        seg: &Segment,
        me: Role,
        acks: Acks,
        changes: &mut Changes,
    ) -> Option<Note> {
        use TcpState::*;
        let flags = seg.flags;
        let state = self.state(me);
        let peer_state = self.state(me.peer());
        if flags.rst() {
            match state {
                // Nothing listens: the kernel refuses the SYN in the server's name.
                Listen if peer_state == SynSent => {
                    self.set_state(me, Closed, changes);
                    return Some(Note::ConnectionRefused);
                }
                // The SYN's sender resets the SYN-ACK: it has no connection waiting
                // for it, so that SYN was an old duplicate (RFC 9293 Figure 8). If the
                // SYN-ACK acknowledged some other SYN, the end keeps waiting in SYN-SENT.
                SynSent if self.side(me).last_synack_ack.is_some() => {
                    let side = self.side(me);
                    if side.isn.map(|isn| isn.plus(1)) == side.last_synack_ack {
                        self.set_state(me, Closed, changes);
                    }
                    return Some(Note::OldDuplicateSyn);
                }
                Closed | Listen => {}
                _ => self.set_state(me, Closed, changes),
            }
            return None;
        }
        if acks.reopened {
            // Both ends start over: the SYN-ACK's sender from CLOSED, the other end in
            // SYN-SENT with the SYN the capture missed.
            for role in [me.peer(), me] {
                if !matches!(self.state(role), Closed | Listen | SynSent) {
                    self.set_state(role, Closed, changes);
                }
            }
            self.set_state(me.peer(), SynSent, changes);
        }
        let state = self.state(me);
        if flags.syn() {
            match (state, flags.ack()) {
                // Active open: "OPEN / snd SYN". An end taken to be listening because
                // a SYN came to it, which now sends a bare SYN of its own, was never
                // listening (a simultaneous open): it opens from CLOSED.
                (Closed | Listen, false) => {
                    if state == Listen && !self.side(me).passive_open && self.side(me).segments == 1 {
                        self.side_mut(me).state = Closed;
                    }
                    self.set_state(me, SynSent, changes);
                }
                // A SYN-ACK from an end not seen to receive the SYN it answers: it was
                // listening, and the SYN arrived ("rcv SYN / snd SYN,ACK").
                (Listen | Closed, true) => {
                    self.side_mut(me).passive_open = true;
                    if state == Closed {
                        self.set_state(me, Listen, changes);
                    }
                    self.set_state(me, SynReceived, changes);
                }
                // The same in a simultaneous open, from SYN-SENT.
                (SynSent, true) => self.set_state(me, SynReceived, changes),
                _ => {}
            }
            return None;
        }
        if flags.ack() {
            // Acknowledging a SYN whose arrival the capture did not show.
            let opened = match state {
                SynSent => acks.peer_syn || self.side(me.peer()).isn.is_none(),
                SynReceived => self.side(me).syn_acked,
                _ => false,
            };
            if opened {
                self.set_state(me, Established, changes);
            }
        }
        if acks.peer_fin && state == Established {
            // Acknowledging a FIN whose arrival the capture did not show.
            self.set_state(me, CloseWait, changes);
        }
        if flags.fin() {
            // "CLOSE / snd FIN".
            let next = match self.state(me) {
                Established | SynReceived => Some(FinWait1),
                CloseWait => Some(LastAck),
                _ => None,
            };
            if let Some(next) = next {
                self.set_state(me, next, changes);
            }
        }
        None
    }

    /// A segment arrives at `role` ("SEGMENT ARRIVES", RFC 9293 §3.10.7): a reset, a
    /// SYN, then its acknowledgment and its FIN, in that order, so that a FIN which
    /// also acknowledges this end's FIN passes through FIN-WAIT-2 (§3.10.7.4).
    #[inline(always)] // See `on_segment`.
    fn arrive(&mut self, role: Role, arrival: Arrival, changes: &mut Changes) {
        use TcpState::*;
        let Arrival { flags, ack, .. } = arrival;
        let side = self.side(role);
        let state = side.state;
        let acks_syn = ack.is_some_and(|ack| side.isn.is_some_and(|isn| ack.after(isn)));
        let acks_fin = ack.is_some_and(|ack| side.fin.is_some_and(|fin| ack.after(fin)));
        if flags.rst() {
            match state {
                Closed | Listen => {}
                SynReceived if side.passive_open => self.set_state(role, Listen, changes),
                // In SYN-SENT a reset counts only if it acknowledges our SYN (checked
                // by `rst_verdict` for a reset as it arrives).
                SynSent if ack.is_none() => {}
                _ => self.set_state(role, Closed, changes),
            }
            return;
        }
        if flags.syn() {
            match state {
                // "rcv SYN": a passive open, or the other SYN of a simultaneous open.
                Listen if ack.is_none() => {
                    self.side_mut(role).passive_open = true;
                    self.set_state(role, SynReceived, changes);
                }
                SynSent if ack.is_none() => self.set_state(role, SynReceived, changes),
                // "rcv SYN,ACK": the handshake is complete for this end.
                SynSent | SynReceived if acks_syn => self.set_state(role, Established, changes),
                _ => {}
            }
            return;
        }
        if ack.is_none() && !matches!(state, SynSent | Listen | Closed) {
            // "If the ACK bit is off, drop the segment" (RFC 9293 §3.10.7.4, fifth): a
            // FIN without ACK closes nothing once the connection is synchronized.
            return;
        }
        if ack.is_some() {
            match state {
                SynReceived if acks_syn => self.set_state(role, Established, changes),
                FinWait1 if acks_fin => self.set_state(role, FinWait2, changes),
                Closing if acks_fin => self.set_state(role, TimeWait, changes),
                LastAck if acks_fin => self.set_state(role, Closed, changes),
                _ => {}
            }
        }
        if flags.fin() {
            let next = match self.state(role) {
                SynReceived | Established => Some(CloseWait),
                FinWait1 => Some(Closing),
                FinWait2 => Some(TimeWait),
                _ => None,
            };
            if let Some(next) = next {
                self.set_state(role, next, changes);
            }
        }
    }

    /// Where the segment stands in the story, and its label in the document's symbols.
    fn step_and_label(
        &mut self,
        seg: &Segment,
        me: Role,
        acks: Acks,
        notes: &mut Vec<Note>,
    ) -> (Step, Label) {
        let flags = seg.flags;
        let x = self.side(Role::Client).base.unwrap_or(SeqNum(0));
        let y = self.side(Role::Server).base.unwrap_or(SeqNum(0));
        let (own_name, own_base, peer_name, peer_base) = match me {
            Role::Client => ("x", x, "y", y),
            Role::Server => ("y", y, "x", x),
        };
        let plain = || {
            if flags.ack() {
                Label::of([
                    Flags(flags),
                    Words(" seq="),
                    sym(own_name, own_base, seg.seq),
                    Words(" ack="),
                    sym(peer_name, peer_base, seg.ack),
                ])
            } else {
                Label::of([Flags(flags), Words(" seq="), sym(own_name, own_base, seg.seq)])
            }
        };
        if flags.rst() {
            // An end that never sent a SYN (a port nobody listens on) has no ISN to
            // name its seq after.
            if self.side(me).isn.is_none() && flags.ack() && !self.client_guessed {
                return (
                    Step::Reset,
                    Label::of([Flags(flags), Words(" ack="), sym(peer_name, peer_base, seg.ack)]),
                );
            }
            return (Step::Reset, plain());
        }
        if flags.syn() {
            let step = match (me, flags.ack()) {
                (Role::Client, false) => Step::Handshake(1),
                (Role::Server, true) if !self.simultaneous_open => Step::Handshake(2),
                _ => {
                    if !self.simultaneous_open {
                        notes.push(Note::SimultaneousOpen);
                    }
                    self.simultaneous_open = true;
                    Step::SimultaneousOpen
                }
            };
            let side = self.side_mut(me);
            let kept = if flags.ack() { &mut side.syn_ack_step } else { &mut side.syn_step };
            let step = *kept.get_or_insert(step);
            let label = match step {
                Step::Handshake(1) => Label::from("SYN seq=x"),
                Step::Handshake(2) => Label::of([Words("SYN,ACK seq=y ack="), sym("x", x, seg.ack)]),
                _ if flags.ack() => Label::of([
                    Words("SYN,ACK seq="),
                    Words(own_name),
                    Words(" ack="),
                    sym(peer_name, peer_base, seg.ack),
                ]),
                _ => Label::of([Words("SYN seq="), Words(own_name)]),
            };
            return (step, label);
        }
        // An end whose lane says CLOSED (reset, or done) tells no more of the wave:
        // no teardown step and no half-close note from it.
        let sender_closed = self.state(me) == TcpState::Closed;
        let plain_step = if seg.payload_len > 0 { Step::Data } else { Step::Ack };
        if flags.fin() && self.state(me) == TcpState::SynSent {
            // No connection is open for this FIN to close: no wave begins.
            notes.push(Note::FinInSynSent);
            return (plain_step, plain());
        }
        if flags.fin() && sender_closed && self.side(me).fin_step.is_none() {
            return (plain_step, plain());
        }
        if flags.fin() {
            return self.fin_step(seg, me, notes);
        }
        if sender_closed {
            return (plain_step, plain());
        }
        // An ACK that completes the handshake: the client's first of the server's SYN.
        if me == Role::Client && acks.first_peer_syn && !self.simultaneous_open {
            return (
                Step::Handshake(3),
                Label::of([Words("ACK seq="), sym("x", x, seg.seq), Words(" ack="), sym("y", y, seg.ack)]),
            );
        }
        // In a simultaneous open, each end's first acknowledgment of the other's SYN
        // after its SYN-ACK is the open's last step.
        if self.simultaneous_open && acks.first_peer_syn {
            return (Step::SimultaneousOpen, plain());
        }
        if let (Some(closer), Some(u)) = (self.wave.closer, self.wave.u) {
            if me != closer && acks.peer_fin && !self.wave.second_seen && self.wave.w.is_none() {
                // Step 2: the passive closer acknowledges the FIN.
                self.wave.second_seen = true;
                self.wave.v = Some(seg.seq);
                let ack = sym("u", u, seg.ack);
                if seg.payload_len > 0 {
                    // It acknowledges the FIN and already carries data sent in CLOSE-WAIT.
                    notes.push(Note::HalfCloseData);
                    return (
                        Step::Teardown(2),
                        Label::of([
                            Flags(flags),
                            Words(" seq=v ack="),
                            ack,
                            Words(" len="),
                            Count(seg.payload_len),
                        ]),
                    );
                }
                return (Step::Teardown(2), Label::of([Words("ACK seq=v ack="), ack]));
            }
            if let Some(w) = self.wave.w
                && me == closer
                && acks.peer_fin
                && !self.wave.fourth_seen
                && !self.wave.simultaneous
            {
                // Step 4: the active closer acknowledges the passive closer's FIN.
                self.wave.fourth_seen = true;
                return (
                    Step::Teardown(4),
                    Label::of([
                        Words("ACK seq="),
                        sym("u", u, seg.seq),
                        Words(" ack="),
                        sym("w", w, seg.ack),
                    ]),
                );
            }
            if self.wave.simultaneous && acks.peer_fin && seg.payload_len == 0 {
                return (Step::SimultaneousClose, plain());
            }
            if me != closer && seg.payload_len > 0 && self.side(closer).fin.is_some() && acks.peer_fin {
                notes.push(Note::HalfCloseData);
            }
        }
        let step = if seg.payload_len > 0 { Step::Data } else { Step::Ack };
        (step, plain())
    }

    /// Steps 1 and 3 of the wave (or 2+3 merged, or a simultaneous close).
    fn fin_step(&mut self, seg: &Segment, me: Role, notes: &mut Vec<Note>) -> (Step, Label) {
        let fin_at = seg.seq.plus(seg.payload_len);
        if let Some(step) = self.side(me).fin_step {
            // A retransmitted FIN keeps the step of the first one.
            let label = match step {
                Step::Teardown(1) => with_len(
                    Label::of([Words("FIN seq="), sym("u", self.wave.u.unwrap_or(fin_at), seg.seq)]),
                    seg.payload_len,
                ),
                _ => Label::of([
                    Flags(seg.flags),
                    Words(" seq="),
                    sym("w", self.wave.w.unwrap_or(fin_at), seg.seq),
                ]),
            };
            return (step, label);
        }
        let (step, label) = match self.wave.closer {
            None => {
                self.wave.closer = Some(me);
                self.wave.u = Some(fin_at);
                // A FIN that carries data numbers its data first: u = seq + len.
                (
                    Step::Teardown(1),
                    with_len(Label::of([Words("FIN seq="), sym("u", fin_at, seg.seq)]), seg.payload_len),
                )
            }
            Some(closer) => {
                debug_assert_ne!(closer, me);
                self.wave.w = Some(fin_at);
                let u = self.wave.u.unwrap_or(fin_at);
                let acks_u = seg.flags.ack() && seg.ack.after(u);
                // ` ack=u+1`, or nothing without the ACK bit.
                let ack = if seg.flags.ack() { sym("u", u, seg.ack) } else { Words("") };
                let ack_word = Words(if seg.flags.ack() { " ack=" } else { "" });
                if !acks_u {
                    self.wave.simultaneous = true;
                    notes.push(Note::SimultaneousClose);
                    (
                        Step::SimultaneousClose,
                        Label::of([
                            Flags(seg.flags),
                            Words(" seq="),
                            sym("w", fin_at, seg.seq),
                            ack_word,
                            ack,
                        ]),
                    )
                } else if self.wave.second_seen {
                    (
                        Step::Teardown(3),
                        Label::of([Words("FIN,ACK seq="), sym("w", fin_at, seg.seq), ack_word, ack]),
                    )
                } else {
                    self.wave.second_seen = true;
                    self.wave.v = Some(seg.seq);
                    notes.push(Note::MergedClose);
                    (
                        Step::TeardownMerged,
                        Label::of([Words("FIN,ACK seq="), sym("w", fin_at, seg.seq), ack_word, ack]),
                    )
                }
            }
        };
        self.side_mut(me).fin_step = Some(step);
        (step, label)
    }

    /// The connection's summary for the end of the input.
    pub fn summary(&self) -> ConnSummary {
        let client = self.side(Role::Client);
        let server = self.side(Role::Server);
        ConnSummary {
            conn: self.id,
            client: self.client,
            server: self.server,
            client_guessed: self.client_guessed,
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            handshake_rtt_ms: match (self.syn_ts, self.established_ts) {
                (Some(a), Some(b)) => Some(((b - a) * 1e6).round() / 1e3),
                _ => None,
            },
            bytes_c2s: client.bytes,
            bytes_s2c: server.bytes,
            segments_c2s: client.segments,
            segments_s2c: server.segments,
            opened_by: self.opened_by,
            simultaneous_open: self.both_opened,
            closed_by: self.closed_by,
            reset_by: self.reset_by,
            conn_state: self.history.conn_state(),
            history: self.history.clone(),
            client_final: client.state,
            server_final: server.state,
            time_wait_until: self.time_wait.filter(|(role, _)| self.state(*role) == TcpState::TimeWait),
            retired: false,
        }
    }
}

/// A state in which an end has a synchronized connection and may still be sending:
/// one that a RST in its window, off the next byte, makes an RFC 5961 end challenge,
/// and one that can send segments that cross a RST on its way to it.
fn synchronized(state: TcpState) -> bool {
    use TcpState::*;
    matches!(state, Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck)
}

/// `name`, `name+3` or `name-2`: `value` written relative to the symbol `name` = `base`.
fn sym(name: &'static str, base: SeqNum, value: SeqNum) -> Piece<'static> {
    Relative(name, value.since(base) as i32)
}

/// `label` and ` len=N` after it for a segment that carries data; the label alone for
/// one that does not.
fn with_len(mut label: Label, len: u32) -> Label {
    if len > 0 {
        label.push(" len=");
        label.push(itoa::Buffer::new().format(len));
    }
    label
}
