//! What the tracker concludes, as plain data that every renderer reads and none recomputes.

use super::flags::TcpFlags;
use super::seq::SeqNum;
use super::state::TcpState;
use crate::source::{FrameNumber, Timestamp};
use std::fmt;
use std::net::SocketAddr;

/// Connections are numbered from 0 in order of first appearance (Wireshark's `tcp.stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u32);

/// One end of a connection. The client is the end that sent the first SYN without ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Client,
    Server,
}

impl Role {
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }
    pub(crate) fn index(self) -> usize {
        match self {
            Role::Client => 0,
            Role::Server => 1,
        }
    }
}

/// Which way a segment travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn sender(self) -> Role {
        match self {
            Direction::ClientToServer => Role::Client,
            Direction::ServerToClient => Role::Server,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        }
    }
}

/// Where a segment stands in the document's story (Figure 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Handshake n of 3.
    Handshake(u8),
    SimultaneousOpen,
    Data,
    /// An acknowledgment with no data and no SYN/FIN/RST.
    Ack,
    /// Teardown n of 4.
    Teardown(u8),
    /// The passive closer's ACK and FIN in one segment: steps 2 and 3 merged.
    TeardownMerged,
    SimultaneousClose,
    Reset,
}

impl Step {
    /// Every step there is, in the story's order: for whatever must name them all
    /// (the page's dictionary, the catalogue's completeness test).
    pub const ALL: [Step; 13] = [
        Step::Handshake(1),
        Step::Handshake(2),
        Step::Handshake(3),
        Step::SimultaneousOpen,
        Step::Data,
        Step::Ack,
        Step::Teardown(1),
        Step::Teardown(2),
        Step::Teardown(3),
        Step::Teardown(4),
        Step::TeardownMerged,
        Step::SimultaneousClose,
        Step::Reset,
    ];
}

impl fmt::Display for Step {
    /// The English step name that the JSON contract uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Handshake(n) => write!(f, "handshake {n}/3"),
            Step::SimultaneousOpen => f.write_str("simultaneous open"),
            Step::Data => f.write_str("data"),
            Step::Ack => f.write_str("ack"),
            Step::Teardown(n) => write!(f, "teardown {n}/4"),
            Step::TeardownMerged => f.write_str("teardown 2+3/4"),
            Step::SimultaneousClose => f.write_str("simultaneous close"),
            Step::Reset => f.write_str("reset"),
        }
    }
}

/// Something worth pointing out about a segment.
///
/// The first group comes from the document's story (the handshake and the wave); the
/// second is Wireshark's sequence analysis (`track::analysis`), named as its
/// `tcp.analysis.*` flags are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// No SYN was seen, so which end is the client is a guess.
    ClientGuessed,
    /// SYN answered by RST: nothing listens on that port.
    ConnectionRefused,
    /// The client reset a SYN-ACK that answered a SYN it did not send (RFC 9293 Figure 8).
    OldDuplicateSyn,
    /// A SYN that no socket of the client's sent: the old duplicate that the client's
    /// reset later showed it to be. The client never was in SYN-SENT for it.
    StraySyn,
    /// A SYN with a new ISN on a 4-tuple already seen: a new connection.
    PortsReused,
    /// A RST the receiver does not accept (RFC 9293 §3.10.7, RFC 5961 §3): in SYN-SENT
    /// it does not acknowledge the SYN, later its seq is outside the receiver's window.
    /// It is dropped; no state changes.
    RstIgnored,
    /// The receiver of a RST whose seq was in its window but not the next byte it
    /// expected answers with a pure ACK of that byte (RFC 5961 §3.2): it asks for proof
    /// and keeps the connection.
    ChallengeAck,
    /// A RST that its receiver did not believe (in the window, off the next byte: it
    /// answered with a challenge ACK and kept the connection), from a sender that had
    /// really reset: the sender answered the challenge with a RST at exactly the byte
    /// it acknowledged. The sender is CLOSED from this RST on; the receiver closes on
    /// the second.
    RstChallenged,
    /// A segment its sender sent before the other end's RST reached it: the two
    /// crossed on the way. The sender is still in its state; it closes as the RST
    /// arrives, after its last such segment.
    RstCrossed,
    /// A RST from an end that was already CLOSED (it had reset or closed): its answer
    /// to a segment that arrived for a connection it no longer has (RFC 9293
    /// §3.10.7.1), not an abort.
    RstAnswer,
    /// A FIN from an end still in SYN-SENT: its connection is not open, so this is no
    /// close (a scan, or a forged segment).
    FinInSynSent,
    /// FIN and ACK of the passive closer travel together: three segments, not four.
    MergedClose,
    /// Data sent by the passive closer after it acknowledged the peer's FIN.
    HalfCloseData,
    /// This side entered TIME-WAIT (which is never on the wire).
    TimeWait(Role),
    /// Both ends sent FIN before seeing the other's.
    SimultaneousClose,
    /// Both ends sent SYN before seeing the other's.
    SimultaneousOpen,
    /// The capture kept only part of the TCP header (its options run past the snap
    /// length): ports, numbers, flags and window were read from the 20 fixed bytes.
    HeaderCut,

    /// The segment repeats sequence space already sent: a resend after a timeout. `of`
    /// is the frame that first carried these bytes (when still remembered; else the
    /// one that last advanced the sequence space), `after_us` the time since.
    Retransmission { of: FrameNumber, after_us: u64 },
    /// A resend of the segment that the other end's duplicate ACKs asked for; `of` is
    /// the frame that first carried it.
    FastRetransmission { of: FrameNumber },
    /// A resend of bytes the other end had already acknowledged.
    SpuriousRetransmission,
    /// A segment below the highest sequence number sent, too soon to be a resend.
    OutOfOrder,
    /// A SYN (or SYN-ACK) sent again: `attempt` 2 is the first resend; `after_us` is
    /// the time since the previous one, the retransmission timeout.
    SynRetransmission { attempt: u32, after_us: u64 },
    /// The same acknowledgment again: `count`-th duplicate of the ACK in frame `of`.
    DupAck { of: FrameNumber, count: u32 },
    /// The segment starts beyond the sequence space seen so far: something before it
    /// was lost before the capture point, or not captured.
    PreviousSegmentNotCaptured,
    /// The segment acknowledges bytes the capture never saw.
    AckedUnseen,
    /// The sender advertises a window of zero: its receive buffer is full.
    ZeroWindow,
    /// One byte sent into a zero window, to ask whether it has opened.
    ZeroWindowProbe,
    /// The answer to a zero-window probe: the window is still zero.
    ZeroWindowProbeAck,
    /// The segment fills the receiver's advertised window to its edge.
    WindowFull,
    /// The same acknowledgment with a new window: the receiver made room.
    WindowUpdate,
    /// A segment one byte below the next sequence number, asking "are you there?".
    KeepAlive,
    /// The answer to a keep-alive.
    KeepAliveAck,
}

impl Note {
    /// The snake_case name used in JSON `notes`.
    pub fn name(self) -> &'static str {
        match self {
            Note::ClientGuessed => "client_guessed",
            Note::ConnectionRefused => "connection_refused",
            Note::OldDuplicateSyn => "old_duplicate_syn",
            Note::StraySyn => "stray_syn",
            Note::PortsReused => "ports_reused",
            Note::RstIgnored => "rst_ignored",
            Note::ChallengeAck => "challenge_ack",
            Note::RstChallenged => "rst_challenged",
            Note::RstCrossed => "rst_crossed",
            Note::RstAnswer => "rst_answer",
            Note::FinInSynSent => "fin_in_syn_sent",
            Note::MergedClose => "merged_close",
            Note::HalfCloseData => "half_close_data",
            Note::TimeWait(_) => "time_wait",
            Note::SimultaneousClose => "simultaneous_close",
            Note::SimultaneousOpen => "simultaneous_open",
            Note::HeaderCut => "header_cut",
            Note::Retransmission { .. } => "retransmission",
            Note::FastRetransmission { .. } => "fast_retransmission",
            Note::SpuriousRetransmission => "spurious_retransmission",
            Note::OutOfOrder => "out_of_order",
            Note::SynRetransmission { .. } => "syn_retransmission",
            Note::DupAck { .. } => "dup_ack",
            Note::PreviousSegmentNotCaptured => "previous_segment_not_captured",
            Note::AckedUnseen => "acked_unseen",
            Note::ZeroWindow => "zero_window",
            Note::ZeroWindowProbe => "zero_window_probe",
            Note::ZeroWindowProbeAck => "zero_window_probe_ack",
            Note::WindowFull => "window_full",
            Note::WindowUpdate => "window_update",
            Note::KeepAlive => "keep_alive",
            Note::KeepAliveAck => "keep_alive_ack",
        }
    }

    /// Resent sequence space of any kind: what Zeek's history writes as `T`.
    pub fn is_resend(self) -> bool {
        matches!(
            self,
            Note::Retransmission { .. }
                | Note::FastRetransmission { .. }
                | Note::SpuriousRetransmission
                | Note::SynRetransmission { .. }
        )
    }

    /// One of Wireshark's sequence-analysis notes (`tcp.analysis.*`), not the story's.
    pub fn is_analysis(self) -> bool {
        !matches!(
            self,
            Note::ClientGuessed
                | Note::ConnectionRefused
                | Note::OldDuplicateSyn
                | Note::StraySyn
                | Note::PortsReused
                | Note::RstIgnored
                | Note::ChallengeAck
                | Note::RstChallenged
                | Note::RstCrossed
                | Note::RstAnswer
                | Note::FinInSynSent
                | Note::MergedClose
                | Note::HalfCloseData
                | Note::TimeWait(_)
                | Note::SimultaneousClose
                | Note::SimultaneousOpen
                | Note::HeaderCut
        )
    }

    /// Tells its segment's story instead of the step's own words, which would mislead: a
    /// refused or stale SYN, a reset not taken, a RST that answers rather than aborts.
    /// The timeline and the page then say the note alone (the page gets the list in
    /// its dictionary, src/serve/dict.rs).
    pub fn replaces_step_words(self) -> bool {
        matches!(
            self,
            Note::ConnectionRefused
                | Note::OldDuplicateSyn
                | Note::StraySyn
                | Note::RstIgnored
                | Note::RstAnswer
        )
    }

    /// Something went wrong on the way (loss, delay, a full buffer): shown in yellow.
    pub fn is_trouble(self) -> bool {
        self.is_resend()
            || matches!(
                self,
                Note::OutOfOrder
                    | Note::DupAck { .. }
                    | Note::PreviousSegmentNotCaptured
                    | Note::AckedUnseen
                    | Note::ZeroWindow
                    | Note::WindowFull
                    | Note::ConnectionRefused
                    | Note::OldDuplicateSyn
                    | Note::RstIgnored
                    | Note::ChallengeAck
                    | Note::RstChallenged
                    | Note::RstCrossed
                    | Note::FinInSynSent
                    | Note::StraySyn
            )
    }
}

/// One TCP segment as the tracker understood it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentEvent {
    pub conn: ConnId,
    pub frame: FrameNumber,
    /// Seconds since the first frame of the capture.
    pub ts: f64,
    /// The frame's exact capture time; set by the analyzer that fed the tracker (the
    /// tracker itself reasons in seconds since the first frame).
    pub time: Option<Timestamp>,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub dir: Direction,
    pub flags: TcpFlags,
    /// Relative to the sender's ISN (Wireshark's relative numbers).
    pub seq: u32,
    /// Relative to the receiver's ISN; `None` when the ACK flag is clear.
    pub ack: Option<u32>,
    pub seq_raw: SeqNum,
    pub ack_raw: SeqNum,
    pub len: u32,
    pub win: u16,
    /// Textbook label: `SYN seq=x`, `ACK seq=u+1 ack=w+1`, …
    pub label: Label,
    pub step: Step,
    pub client_state: TcpState,
    pub server_state: TcpState,
    pub notes: Vec<Note>,
    /// The first payload bytes, for display.
    pub payload: Vec<u8>,
    /// The TCP header as captured, for the page's Figure 1 (empty for views that
    /// show no segments).
    pub header: HeaderBytes,
}

/// A segment's textbook label (`SYN,ACK seq=y ack=x+1`), kept inline: every segment
/// has one, and a `String` each was an allocation and a free per segment on the
/// tracking thread. The longest labels (every flag set and both numbers far from their
/// symbols) go to the heap.
#[derive(Clone, PartialEq, Eq)]
pub struct Label(LabelBytes);

/// Private, so that nothing outside can put bytes in that are not UTF-8.
#[derive(Clone, PartialEq, Eq)]
enum LabelBytes {
    Inline { len: u8, bytes: [u8; Label::INLINE] },
    Heap(String),
}

impl Default for Label {
    fn default() -> Label {
        Label(LabelBytes::Inline { len: 0, bytes: [0; Label::INLINE] })
    }
}

impl Label {
    /// Bytes kept inline: the whole enum is then as large as two `String`s.
    const INLINE: usize = 46;

    /// The label of `pieces`, written one after another.
    pub fn of<const N: usize>(pieces: [Piece<'_>; N]) -> Label {
        let mut label = Label::default();
        for piece in pieces {
            match piece {
                Piece::Words(words) => label.push(words),
                Piece::Flags(flags) => {
                    let _ = flags.write_to(&mut label);
                }
                Piece::Count(n) => label.push(itoa::Buffer::new().format(n)),
                Piece::Relative(name, offset) => {
                    label.push(name);
                    if offset > 0 {
                        label.push("+");
                    }
                    if offset != 0 {
                        label.push(itoa::Buffer::new().format(offset));
                    }
                }
            }
        }
        label
    }

    /// Appends `text`: in place while it fits, which is nearly always (a label is made
    /// for every segment, of several pieces, so this much is inlined), else it goes on
    /// in a `String` ([`Label::spill`]).
    #[inline]
    pub fn push(&mut self, text: &str) {
        match &mut self.0 {
            LabelBytes::Inline { len, bytes } => {
                let start = usize::from(*len);
                match bytes.get_mut(start..start + text.len()) {
                    Some(room) => {
                        room.copy_from_slice(text.as_bytes());
                        *len += text.len() as u8;
                    }
                    None => self.spill(text),
                }
            }
            LabelBytes::Heap(label) => label.push_str(text),
        }
    }

    /// Moves the label to the heap, with `text` after it: the inline bytes are full.
    #[cold]
    fn spill(&mut self, text: &str) {
        let mut label = String::with_capacity(self.len() + text.len());
        label.push_str(self.as_str());
        label.push_str(text);
        self.0 = LabelBytes::Heap(label);
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            LabelBytes::Inline { len, bytes } => {
                let bytes = &bytes[..usize::from(*len)];
                debug_assert!(std::str::from_utf8(bytes).is_ok());
                // SAFETY: the bytes are private to this module (`LabelBytes` is not
                // public) and only ever appended as whole `&str`s (`write_str`), so
                // they are valid UTF-8. The timeline reads every label; checking it
                // again each time was 4 % of its rendering.
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            LabelBytes::Heap(text) => text,
        }
    }
}

/// One piece of a [`Label`]. A label is made for every segment; putting its pieces
/// in a list and writing each with itoa costs a fraction of what `format_args!` and
/// its formatter did on the tracking thread.
#[derive(Clone, Copy)]
pub enum Piece<'a> {
    Words(&'a str),
    Flags(TcpFlags),
    Count(u32),
    /// `name`, `name+3` or `name-2`: a number written relative to the symbol `name`.
    Relative(&'static str, i32),
}

impl fmt::Write for Label {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s);
        Ok(())
    }
}

impl std::ops::Deref for Label {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for Label {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<&str> for Label {
    fn from(text: &str) -> Label {
        let mut label = Label::default();
        let _ = fmt::Write::write_str(&mut label, text);
        label
    }
}

/// A TCP header's bytes as captured (at most 60), kept inline: no allocation for it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HeaderBytes {
    bytes: [u8; 60],
    len: u8,
}

impl HeaderBytes {
    /// The first 60 bytes of `header` (a TCP header has no more).
    pub fn new(header: &[u8]) -> HeaderBytes {
        let len = header.len().min(60);
        let mut bytes = [0; 60];
        bytes[..len].copy_from_slice(&header[..len]);
        HeaderBytes { bytes, len: len as u8 }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Default for HeaderBytes {
    fn default() -> HeaderBytes {
        HeaderBytes::new(&[])
    }
}

impl std::fmt::Debug for HeaderBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl SegmentEvent {
    /// The client's and the server's addresses, whichever way this segment went.
    pub fn endpoints(&self) -> (SocketAddr, SocketAddr) {
        match self.dir.sender() {
            Role::Client => (self.src, self.dst),
            Role::Server => (self.dst, self.src),
        }
    }

    /// The notes a view tells in words: not those its step already tells (simultaneous
    /// open and close, the merged close), and not the plain retransmission when a more
    /// telling one (fast, spurious, a SYN's) names the same resend.
    pub fn notes_to_tell(&self) -> impl Iterator<Item = Note> + '_ {
        let resend_named = self.notes.iter().any(|n| {
            matches!(
                n,
                Note::SynRetransmission { .. }
                    | Note::FastRetransmission { .. }
                    | Note::SpuriousRetransmission
            )
        });
        self.notes.iter().copied().filter(move |note| {
            let by_step =
                matches!(note, Note::SimultaneousClose | Note::SimultaneousOpen | Note::MergedClose);
            let generic_resend = resend_named && matches!(note, Note::Retransmission { .. });
            !by_step && !generic_resend
        })
    }

    /// The relative numbers as every view prints them: `seq=1 ack=14 len=13`.
    pub fn numbers(&self) -> Numbers<'_> {
        Numbers(self)
    }

    /// Each end's state (client, server) just before this segment, given the
    /// transitions it caused.
    pub fn states_before(&self, transitions: &[Transition]) -> (TcpState, TcpState) {
        let before =
            |role: Role, now: TcpState| transitions.iter().find(|t| t.side == role).map_or(now, |t| t.from);
        (before(Role::Client, self.client_state), before(Role::Server, self.server_state))
    }
}

/// See [`SegmentEvent::numbers`].
pub struct Numbers<'a>(&'a SegmentEvent);

impl Numbers<'_> {
    /// Writes `seq=1 ack=38 len=300`, with digits from itoa piece by piece: every
    /// segment line of a timeline has them. Generic, so that a `String` gets them
    /// pushed straight in, without a `Formatter`.
    pub fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let mut digits = itoa::Buffer::new();
        out.write_str("seq=")?;
        out.write_str(digits.format(self.0.seq))?;
        if let Some(ack) = self.0.ack {
            out.write_str(" ack=")?;
            out.write_str(digits.format(ack))?;
        }
        if self.0.len > 0 {
            out.write_str(" len=")?;
            out.write_str(digits.format(self.0.len))?;
        }
        Ok(())
    }
}

impl fmt::Display for Numbers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// One end changed state.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub conn: ConnId,
    pub frame: FrameNumber,
    pub ts: f64,
    /// The exact capture time of the frame that caused it, as in [`SegmentEvent`];
    /// `None` for a TIME-WAIT that ran out on a live capture's clock.
    pub time: Option<Timestamp>,
    pub side: Role,
    pub from: TcpState,
    pub to: TcpState,
}

/// Everything known about a connection when the input ends.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnSummary {
    pub conn: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub client_guessed: bool,
    pub first_frame: FrameNumber,
    pub last_frame: FrameNumber,
    pub first_ts: f64,
    pub last_ts: f64,
    /// From the first SYN to the ACK that completes the handshake.
    pub handshake_rtt_ms: Option<f64>,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub segments_c2s: u64,
    pub segments_s2c: u64,
    pub opened_by: Option<Role>,
    /// Both ends sent a SYN before seeing the other's.
    pub simultaneous_open: bool,
    /// The end that sent the first FIN or RST.
    pub closed_by: Option<Role>,
    pub reset_by: Option<Role>,
    pub conn_state: &'static str,
    pub history: super::zeek::History,
    pub client_final: TcpState,
    pub server_final: TcpState,
    /// When the side in TIME-WAIT (if any) would let go, in capture seconds.
    pub time_wait_until: Option<(Role, f64)>,
    /// Summarised while still open, because the connection table was full and this
    /// was the least recently active connection (see `TrackConfig::max_live`). Its
    /// later segments, if any, show as another connection.
    pub retired: bool,
}

/// What the local kernel says about a socket that the wire showed in TIME-WAIT (live
/// capture, where the system's socket table can be read).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelCheck {
    pub conn: ConnId,
    pub side: Role,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Whether the kernel lists the socket in TIME-WAIT (when not: another host's
    /// socket, or already gone).
    pub listed: bool,
    /// Seconds left on the kernel's TIME-WAIT timer; `None` when the socket is not
    /// listed, or the system's table shows no timers (only Linux's does).
    pub time_left: Option<f64>,
}

/// A state change the kernel itself reported (`--kernel`), placed among the tracker's
/// events at its moment. It is the kernel's word beside the tracker's; nothing in the
/// tracker changes because of it.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelState {
    /// The connection and side whose socket changed; `None` for a socket that is no
    /// captured connection's (a listening socket opening or closing).
    pub conn: Option<ConnId>,
    pub side: Option<Role>,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub from: crate::kstate::LinuxState,
    pub to: crate::kstate::LinuxState,
    /// Seconds since the capture's first frame (negative before it).
    pub ts: f64,
    pub time: Timestamp,
    /// The connection's last segment shown before this change, and the time since it.
    pub after: Option<(FrameNumber, f64)>,
    pub source: crate::kstate::KernelSource,
    /// The state the tracker shows for this side at this moment.
    pub shown: Option<TcpState>,
    /// Why the tracker shows another state for this side at this moment, if it does.
    pub differs: Option<Differs>,
}

/// Why the kernel's change and the tracker's state differ at the kernel's moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Differs {
    /// Linux answers a SYN with a request socket, which is not traced: the listener's
    /// child reports LISTEN → SYN-RECEIVED only when the third ACK makes it. tcplab
    /// shows SYN-RECEIVED from the SYN's arrival.
    RequestSocket,
    /// A socket entering TIME-WAIT is replaced by a small timewait socket: Linux
    /// reports the full one as going to CLOSE.
    TimeWaitSocket,
    /// The capture shows this side in another state at this moment: a change the
    /// wire could not show (yet), e.g. a close whose FIN waits behind data.
    NotOnWire,
}

impl Differs {
    pub fn name(self) -> &'static str {
        match self {
            Differs::RequestSocket => "request_socket",
            Differs::TimeWaitSocket => "time_wait_socket",
            Differs::NotOnWire => "not_on_wire",
        }
    }
}

/// The tracker's output stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Segment(SegmentEvent),
    Transition(Transition),
    Connection(ConnSummary),
    Kernel(KernelCheck),
    KernelState(KernelState),
}

#[cfg(test)]
mod tests {
    use super::{Label, Piece, TcpFlags};
    use std::fmt::Write;

    #[test]
    fn a_label_is_what_was_written_short_or_long() {
        let flags = TcpFlags(TcpFlags::FIN | TcpFlags::ACK);
        let pieces =
            [Piece::Flags(flags), Piece::Words(" seq="), Piece::Relative("u", 0), Piece::Words(" ack=")];
        let short = Label::of([pieces[0], pieces[1], pieces[2], pieces[3], Piece::Relative("w", 1)]);
        assert_eq!(short, "FIN,ACK seq=u ack=w+1");
        let behind = Label::of([
            Piece::Words("ACK seq="),
            Piece::Relative("x", -2),
            Piece::Words(" len="),
            Piece::Count(7),
        ]);
        assert_eq!(behind, "ACK seq=x-2 len=7");
        // Longer than the inline bytes: it goes on in a String, whole.
        let mut long = Label::from("FIN,SYN,RST,PSH,ACK,URG,ECE,CWR");
        write!(long, " seq=x+{} ack=y+{} len={}", i32::MAX, i32::MAX, u32::MAX).unwrap();
        assert_eq!(
            long.as_str(),
            "FIN,SYN,RST,PSH,ACK,URG,ECE,CWR seq=x+2147483647 ack=y+2147483647 len=4294967295"
        );
        assert_eq!(Label::default().as_str(), "");
    }
}
