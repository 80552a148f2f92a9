//! Every sentence tcplab prints, in English and Chinese, from one catalogue.
//!
//! A message is a [`Msg`] value; `en.rs` and `zh.rs` each turn every variant into
//! text with an exhaustive `match`, so a message without a translation does not
//! compile. Renderers never hold sentences of their own. The Chinese uses the
//! document's terms (三次握手, 四次挥手, 第一次握手 …).

mod en;
mod zh;

use crate::track::{Note, Role, Step, TcpState};
use std::net::SocketAddr;

/// The language of the text views. JSON output is always English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// The language the environment asks for: `LC_ALL`, then `LC_MESSAGES`, then
    /// `LANG`; Chinese when it starts with `zh`.
    pub fn from_env() -> Lang {
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(value) = std::env::var(var)
                && !value.is_empty()
            {
                return if value.starts_with("zh") { Lang::Zh } else { Lang::En };
            }
        }
        Lang::En
    }

    pub fn text(self, msg: &Msg<'_>) -> String {
        match self {
            Lang::En => en::text(msg),
            Lang::Zh => zh::text(msg),
        }
    }

    /// Appends the text of `msg` to `out`. The messages of a connection summary are
    /// written straight into it; others are [`Lang::text`] copied in.
    pub fn write(self, out: &mut String, msg: &Msg<'_>) {
        match self {
            Lang::En => en::write(out, msg),
            Lang::Zh => zh::write(out, msg),
        }
    }
}

/// Appends a line piece by piece: the catalogue's lines said for every segment or
/// connection are put together so, as `write!` costs several times more. Each call is
/// inlined where the line is said, so a literal's length is known where it is copied:
/// the copy is a few moves, not a call to `memcpy`, and there is no list of pieces to
/// build and walk.
trait Put {
    /// Words.
    fn words(&mut self, text: &str) -> &mut Self;
    /// A count.
    fn count(&mut self, n: u64) -> &mut Self;
    /// A count and its noun: `one` after 1, `many` after any other count.
    fn counted(&mut self, n: u64, one: &str, many: &str) -> &mut Self;
    /// With three decimals, as `{:.3}`.
    fn fixed3(&mut self, x: f64) -> &mut Self;
    /// Seconds with six decimals, as `{:.6}`.
    fn fixed6(&mut self, secs: f64) -> &mut Self;
    /// A float as `{}`: its shortest digits.
    fn float(&mut self, x: f64) -> &mut Self;
    /// An address, as `{}`.
    fn addr(&mut self, addr: SocketAddr) -> &mut Self;
}

impl Put for String {
    #[inline(always)]
    fn words(&mut self, text: &str) -> &mut String {
        self.push_str(text);
        self
    }

    #[inline(always)]
    fn count(&mut self, n: u64) -> &mut String {
        self.push_str(itoa::Buffer::new().format(n));
        self
    }

    #[inline(always)]
    fn counted(&mut self, n: u64, one: &str, many: &str) -> &mut String {
        // Each branch copies its own literal, so both copies have a constant length.
        if n == 1 { self.count(n).words(one) } else { self.count(n).words(many) }
    }

    #[inline(always)]
    fn fixed3(&mut self, x: f64) -> &mut String {
        crate::numfmt::Fixed::<3>(x).push_to(self);
        self
    }

    #[inline(always)]
    fn fixed6(&mut self, secs: f64) -> &mut String {
        crate::numfmt::Fixed::<6>(secs).push_to(self);
        self
    }

    #[inline(always)]
    fn float(&mut self, x: f64) -> &mut String {
        crate::numfmt::Shortest(x).push_to(self);
        self
    }

    #[inline(always)]
    fn addr(&mut self, addr: SocketAddr) -> &mut String {
        crate::numfmt::Addr(addr).push_to(self);
        self
    }
}

/// Microseconds as milliseconds with one decimal.
fn ms(us: u64) -> String {
    format!("{:.1}", us as f64 / 1e3)
}

/// Microseconds as seconds with three decimals.
fn secs(us: u64) -> String {
    format!("{:.3}", us as f64 / 1e6)
}

/// The timeline's column header, padded by display width so that Chinese headings
/// (two columns a character) line up with the rows beneath them.
/// `state` and `arrow` are the widths of the client's state column and of the arrow.
fn columns(frame: &str, time: &str, client: &str, server: &str, state: usize, arrow: usize) -> String {
    let pad = |s: &str, width: usize| " ".repeat(width.saturating_sub(textwrap::core::display_width(s)));
    format!(
        "{}{frame} {}{time}  {client}{}{} {server}",
        pad(frame, 5),
        pad(time, 10),
        pad(client, state),
        " ".repeat(arrow + 1)
    )
}

/// How long TIME-WAIT lasts and whose rule that is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeWaitRule {
    /// Linux's fixed 60 s (TCP_TIMEWAIT_LEN).
    Linux,
    /// RFC 9293: 2×MSL with MSL = 2 minutes.
    Rfc,
    Custom(f64),
}

impl TimeWaitRule {
    pub fn secs(self) -> f64 {
        match self {
            TimeWaitRule::Linux => 60.0,
            TimeWaitRule::Rfc => 240.0,
            TimeWaitRule::Custom(s) => s,
        }
    }
}

/// One message, with what it needs to be said.
#[derive(Debug, Clone)]
pub enum Msg<'a> {
    Side(Role),
    StepName(Step),
    /// What the step means; `sender` sent the segment, `len` is its payload length.
    StepExplain {
        step: Step,
        sender: Role,
        len: u32,
    },
    /// A note on a segment. `port` is the server's port.
    NoteExplain {
        note: Note,
        port: u16,
        rule: TimeWaitRule,
        until: f64,
    },
    Transition {
        side: Role,
        from: TcpState,
        to: TcpState,
    },
    Payload {
        text: &'a str,
        shown: usize,
        total: u32,
    },
    ConnHeader {
        conn: u32,
        client: SocketAddr,
        server: SocketAddr,
        guessed: bool,
    },
    ColumnHeader {
        /// The width of the client's state column.
        state: usize,
        /// The width of the arrow after it.
        arrow: usize,
    },
    FileHeader {
        path: &'a str,
    },
    SummaryTitle,
    /// The title of `watch --summary-every`'s table: `count` connections so far,
    /// `secs` into the capture.
    TableTitle {
        count: usize,
        secs: f64,
    },
    /// One column's heading in that table.
    TableColumn(TableColumn),
    /// The table shows the newest rows only; `count` older ones are left out.
    TableMore {
        count: usize,
    },
    SummaryOpened {
        by: Option<Role>,
        rtt_ms: Option<f64>,
        simultaneous: bool,
    },
    SummaryClosed {
        by: Option<Role>,
        reset: bool,
    },
    SummaryTraffic {
        segments_c2s: u64,
        bytes_c2s: u64,
        segments_s2c: u64,
        bytes_s2c: u64,
    },
    SummarySpan {
        first_frame: u64,
        last_frame: u64,
        secs: f64,
    },
    SummaryFinal {
        client: TcpState,
        server: TcpState,
    },
    SummaryTimeWait {
        side: Role,
        until: f64,
        rule: TimeWaitRule,
    },
    SummaryZeek {
        conn_state: &'a str,
        history: &'a str,
    },
    /// The connection was summarised while still open: the table was full.
    SummaryRetired,
    CaptureStats {
        frames: u64,
        segments: u64,
        other: u64,
        filtered: u64,
        undecodable: u64,
        connections: u64,
        evicted: u64,
        retired: u64,
    },
    Undecodable {
        frame: u64,
        reason: &'a str,
    },
    MoreUndecodable {
        count: u64,
    },
    /// Frames in an encapsulation that is not decoded (`kind`: "MPLS", "GRE", …).
    NotDecoded {
        count: u64,
        kind: &'a str,
    },
    Truncated {
        path: &'a str,
        reason: &'a str,
    },
    /// A socket table without timers (macOS, the BSDs, Windows) lists the socket the
    /// wire showed entering TIME-WAIT.
    KernelListed {
        side: Role,
        local: SocketAddr,
        remote: SocketAddr,
        /// Where the table comes from: `netstat`, `GetExtendedTcpTable`.
        table: &'a str,
    },
    /// This system's socket table cannot be read: TIME-WAIT is followed on the wire only.
    NoKernelView,
    /// `--kernel`: the kernel's state changes are read, from the tracepoint (`sampled`
    /// false) or from samples of its socket table.
    KernelFeed {
        sampled: bool,
    },
    /// `--kernel` asked for what cannot be read here; `why` is the reason.
    NoKernelFeed {
        why: &'a str,
    },
    /// A state change the kernel reported, `after` the connection's frame (and the
    /// milliseconds since it).
    KernelState {
        side: Role,
        from: TcpState,
        to: TcpState,
        after: Option<(u64, f64)>,
    },
    /// Why the timeline shows another state than the kernel's change at its moment.
    KernelDiffers {
        why: crate::track::Differs,
        side: Role,
        shown_at: TcpState,
    },
    /// The kernel's view of a socket the wire showed entering TIME-WAIT.
    KernelTimeWait {
        side: Role,
        local: SocketAddr,
        remote: SocketAddr,
        left: Option<f64>,
    },
    /// The capture is open and packets are being seen.
    Listening {
        device: &'a str,
        link: &'a str,
        why: DeviceChoice,
    },
    LiveStats {
        captured: u64,
        received: u32,
        dropped_by_kernel: u32,
        dropped_by_interface: u32,
        loopback: bool,
    },
    /// The kernel dropped packets the capture did not read in time (tcpdump says the
    /// same): the view and the saved file miss them.
    KernelDropped {
        count: u32,
    },
    /// Not root: the demo runs in its own network namespace.
    PrivateNetwork,
    /// A scenario that drops packets runs in a network namespace of its own.
    OwnNetwork,
    /// The LAN lab's namespaces are built: the server's host and the students'.
    LanBuilt {
        students: usize,
    },
    DemoIntro {
        server: SocketAddr,
    },
    LabIntro {
        scenario: &'a str,
        about: &'a str,
    },
    Saved {
        path: &'a str,
        packets: u64,
    },
    /// The progress bar's words while a big file is replayed.
    Progress {
        frames: u64,
        connections: u64,
        per_sec: f64,
    },
    /// What a lab scenario shows.
    ScenarioAbout(crate::lab::Scenario),
    /// What a lab scenario needs that this system lacks (`lab --list`).
    ScenarioNeeds(crate::lab::Needs),
    /// How to end a live capture.
    StopHint,
    /// Where the page (`--serve`) is.
    PageAt {
        url: &'a str,
    },
    /// The page is served beyond this machine (`--serve` on a non-loopback address).
    PageBeyondLoopback {
        bound: SocketAddr,
    },
    /// The command's output is done; the page stays up.
    PageStillServing {
        url: &'a str,
    },
    /// The page's address cannot be bound.
    PageCannotBind {
        addr: SocketAddr,
        reason: &'a str,
    },
    /// TIME-WAIT on the ladder: how long, and that it is not on the wire.
    LadderTimeWait {
        rule: TimeWaitRule,
        until: f64,
    },
    /// A header field's short name, as Figure 1 labels it.
    FieldName(HeaderField),
    /// What a header field is for.
    FieldExplain(HeaderField),
    /// What a flag bit means when set (`"SYN"`, `"ACK"`, …).
    FlagExplain(&'a str),
    InspectTitle {
        frame: u64,
        src: SocketAddr,
        dst: SocketAddr,
        wire_len: u32,
        captured: usize,
        step: Step,
        label: &'a str,
    },
    IpFacts(crate::decode::anatomy::IpFacts),
    RelativeValue {
        raw: u32,
        rel: Option<u32>,
    },
    AckNotValid {
        raw: u32,
    },
    DataOffsetValue {
        words: u8,
    },
    WindowValue {
        raw: u16,
        scaled: Option<(u32, u8)>,
    },
    HexTitle {
        start: usize,
        end: usize,
    },
    OptionsMalformed,
    /// A note told in full earlier in the capture, now in a few words.
    NoteShort {
        note: Note,
        until: f64,
    },
    /// A TIME-WAIT seen live ran out at capture time `ts`.
    TimeWaitExpired {
        side: Role,
        ts: f64,
    },
    /// `--quiz`: how the answers are judged, said once.
    QuizIntro,
    /// `--step`: waiting for Enter.
    /// `--svg --lang zh` with no CJK font to draw the Chinese from.
    SvgNoCjkFont,
    StepPrompt,
    /// `--step`'s prompt on a terminal, where single keys act at once.
    StepKeys,
    /// `--quiz`: the question about one side's next state.
    QuizAsk {
        frame: u64,
        flags: &'a str,
        from: Role,
        side: Role,
    },
    QuizVerdict {
        correct: bool,
        expected: TcpState,
    },
    QuizScore {
        right: u64,
        asked: u64,
    },
}

/// The fields of the TCP header (RFC 9293 §3.1; the document's Figure 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderField {
    SourcePort,
    DestinationPort,
    Sequence,
    Acknowledgment,
    DataOffset,
    Reserved,
    Flags,
    Window,
    Checksum,
    UrgentPointer,
    Options,
    Data,
}

impl HeaderField {
    pub const ALL: [HeaderField; 12] = [
        HeaderField::SourcePort,
        HeaderField::DestinationPort,
        HeaderField::Sequence,
        HeaderField::Acknowledgment,
        HeaderField::DataOffset,
        HeaderField::Reserved,
        HeaderField::Flags,
        HeaderField::Window,
        HeaderField::Checksum,
        HeaderField::UrgentPointer,
        HeaderField::Options,
        HeaderField::Data,
    ];
}

/// The columns of `watch --summary-every`'s table of connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableColumn {
    Client,
    ClientState,
    ServerState,
    BytesC2s,
    BytesS2c,
    ConnState,
}

impl TableColumn {
    pub const ALL: [TableColumn; 6] = [
        TableColumn::Client,
        TableColumn::ClientState,
        TableColumn::ServerState,
        TableColumn::BytesC2s,
        TableColumn::BytesS2c,
        TableColumn::ConnState,
    ];
}

/// Why `watch` captures where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Asked,
    /// The port is served on loopback addresses only (`addr` is one), so its traffic
    /// is on loopback.
    LoopbackOnly {
        port: u16,
        addr: std::net::IpAddr,
    },
    /// The port is served on `addr`, a wildcard (`0.0.0.0`, `::`) or a LAN address:
    /// clients may come over any interface, so all of them are captured (Linux's `any`).
    ServedEverywhere {
        port: u16,
        addr: std::net::IpAddr,
    },
    /// The port is served on `addr`, an address of the device chosen (systems without
    /// an `any` device).
    ServedOnDevice {
        port: u16,
        addr: std::net::IpAddr,
    },
    /// The port is served on every address, and this system has no `any` device:
    /// libpcap's default device, which leaves out clients on this machine.
    ServedDefault {
        port: u16,
    },
    /// The LAN lab's capture: the server's interface on its LAN.
    LanServer,
    /// Nothing listens on the port here yet: every interface, so that a server that
    /// starts later is seen wherever its clients come from.
    NotServedYet {
        port: u16,
    },
    /// Nothing says where the traffic is: every interface.
    AnyInterface,
    /// Nothing says where the traffic is, and this system has no `any` device:
    /// libpcap's default one.
    DefaultInterface,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FrameNumber;

    /// Every message renders to non-empty text in both languages, and the Chinese is
    /// really Chinese wherever the English is a sentence.
    #[test]
    fn every_message_has_both_languages() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let mut msgs = vec![
            Msg::ColumnHeader { state: 12, arrow: 36 },
            Msg::FileHeader { path: "a.pcap" },
            Msg::SummaryTitle,
            Msg::TableTitle { count: 30, secs: 10.0 },
            Msg::TableMore { count: 3 },
            Msg::ConnHeader { conn: 0, client: addr, server: addr, guessed: true },
            Msg::SummaryOpened { by: Some(Role::Client), rtt_ms: Some(0.1), simultaneous: false },
            Msg::SummaryOpened { by: Some(Role::Client), rtt_ms: Some(0.1), simultaneous: true },
            Msg::SummaryOpened { by: None, rtt_ms: None, simultaneous: false },
            Msg::SummaryClosed { by: Some(Role::Server), reset: false },
            Msg::SummaryClosed { by: None, reset: false },
            Msg::SummaryTraffic { segments_c2s: 1, bytes_c2s: 2, segments_s2c: 3, bytes_s2c: 4 },
            Msg::SummarySpan { first_frame: 1, last_frame: 2, secs: 0.5 },
            Msg::SummaryFinal { client: TcpState::TimeWait, server: TcpState::Closed },
            Msg::SummaryTimeWait { side: Role::Client, until: 60.0, rule: TimeWaitRule::Linux },
            Msg::SummaryZeek { conn_state: "SF", history: "ShADadFf" },
            Msg::CaptureStats {
                frames: 1,
                segments: 1,
                other: 0,
                filtered: 2,
                undecodable: 0,
                connections: 1,
                evicted: 5,
                retired: 7,
            },
            Msg::SummaryRetired,
            Msg::Undecodable { frame: 3, reason: "bad" },
            Msg::MoreUndecodable { count: 3 },
            Msg::NotDecoded { count: 12, kind: "MPLS" },
            Msg::Truncated { path: "a.pcap", reason: "cut" },
            Msg::Payload { text: "hi", shown: 2, total: 2 },
            Msg::KernelTimeWait { side: Role::Client, local: addr, remote: addr, left: Some(59.5) },
            Msg::KernelTimeWait { side: Role::Server, local: addr, remote: addr, left: None },
            Msg::KernelListed { side: Role::Client, local: addr, remote: addr, table: "netstat" },
            Msg::NoKernelView,
            Msg::KernelFeed { sampled: false },
            Msg::KernelFeed { sampled: true },
            Msg::NoKernelFeed { why: "tracefs is not usable here" },
            Msg::KernelState {
                side: Role::Server,
                from: TcpState::Established,
                to: TcpState::CloseWait,
                after: Some((10, 0.03)),
            },
            Msg::KernelState {
                side: Role::Client,
                from: TcpState::Closed,
                to: TcpState::SynSent,
                after: None,
            },
            Msg::KernelDiffers {
                why: crate::track::Differs::RequestSocket,
                side: Role::Server,
                shown_at: TcpState::Established,
            },
            Msg::KernelDiffers {
                why: crate::track::Differs::TimeWaitSocket,
                side: Role::Client,
                shown_at: TcpState::TimeWait,
            },
            Msg::KernelDiffers {
                why: crate::track::Differs::NotOnWire,
                side: Role::Client,
                shown_at: TcpState::Established,
            },
            Msg::Listening { device: "lo", link: "EN10MB", why: DeviceChoice::Asked },
            Msg::Listening {
                device: "lo",
                link: "EN10MB",
                why: DeviceChoice::LoopbackOnly { port: 8080, addr: addr.ip() },
            },
            Msg::Listening {
                device: "any",
                link: "LINUX_SLL",
                why: DeviceChoice::ServedEverywhere { port: 8080, addr: addr.ip() },
            },
            Msg::Listening {
                device: "en0",
                link: "EN10MB",
                why: DeviceChoice::ServedOnDevice { port: 8080, addr: addr.ip() },
            },
            Msg::Listening { device: "en0", link: "EN10MB", why: DeviceChoice::ServedDefault { port: 8080 } },
            Msg::Listening {
                device: "any",
                link: "LINUX_SLL",
                why: DeviceChoice::NotServedYet { port: 8080 },
            },
            Msg::Listening { device: "any", link: "LINUX_SLL", why: DeviceChoice::AnyInterface },
            Msg::Listening { device: "en0", link: "EN10MB", why: DeviceChoice::DefaultInterface },
            Msg::LiveStats {
                captured: 1,
                received: 2,
                dropped_by_kernel: 0,
                dropped_by_interface: 0,
                loopback: true,
            },
            Msg::KernelDropped { count: 3 },
            Msg::PrivateNetwork,
            Msg::OwnNetwork,
            Msg::LanBuilt { students: 3 },
            Msg::Listening { device: "tcplab-lan", link: "EN10MB", why: DeviceChoice::LanServer },
            Msg::DemoIntro { server: addr },
            Msg::LabIntro { scenario: "refused", about: "x" },
            Msg::Saved { path: "a.pcap", packets: 3 },
            Msg::Progress { frames: 40960, connections: 4096, per_sec: 1.5e6 },
        ];
        msgs.extend(crate::lab::Scenario::ALL.map(Msg::ScenarioAbout));
        msgs.extend(crate::lab::Needs::ALL.map(Msg::ScenarioNeeds));
        msgs.push(Msg::StopHint);
        msgs.push(Msg::LadderTimeWait { rule: TimeWaitRule::Rfc, until: 240.5 });
        for field in HeaderField::ALL {
            msgs.push(Msg::FieldName(field));
            msgs.push(Msg::FieldExplain(field));
        }
        for (_, flag) in crate::track::flags::TcpFlags::NAMES {
            msgs.push(Msg::FlagExplain(flag));
        }
        msgs.push(Msg::InspectTitle {
            frame: 1,
            src: addr,
            dst: addr,
            wire_len: 74,
            captured: 74,
            step: Step::Data,
            label: "x",
        });
        msgs.push(Msg::IpFacts(crate::decode::anatomy::IpFacts::V4 {
            ttl: 64,
            total_len: 60,
            header_len: 20,
            dont_fragment: true,
            id: 1,
        }));
        msgs.push(Msg::IpFacts(crate::decode::anatomy::IpFacts::V6 {
            hop_limit: 64,
            payload_len: 40,
            flow_label: 0,
        }));
        msgs.push(Msg::RelativeValue { raw: 5, rel: Some(0) });
        msgs.push(Msg::AckNotValid { raw: 0 });
        msgs.push(Msg::DataOffsetValue { words: 5 });
        msgs.push(Msg::WindowValue { raw: 512, scaled: Some((65536, 7)) });
        msgs.push(Msg::HexTitle { start: 34, end: 54 });
        msgs.push(Msg::OptionsMalformed);
        msgs.push(Msg::StepPrompt);
        msgs.push(Msg::SvgNoCjkFont);
        msgs.push(Msg::StepKeys);
        msgs.push(Msg::TimeWaitExpired { side: Role::Client, ts: 61.5 });
        msgs.push(Msg::QuizIntro);
        msgs.push(Msg::QuizAsk { frame: 3, flags: "ACK", from: Role::Client, side: Role::Server });
        msgs.push(Msg::QuizVerdict { correct: true, expected: TcpState::Established });
        msgs.push(Msg::QuizVerdict { correct: false, expected: TcpState::Established });
        msgs.push(Msg::QuizScore { right: 3, asked: 4 });
        for step in Step::ALL {
            msgs.push(Msg::StepName(step));
            msgs.push(Msg::StepExplain { step, sender: Role::Server, len: 5 });
        }
        let notes = [
            Note::ClientGuessed,
            Note::ConnectionRefused,
            Note::OldDuplicateSyn,
            Note::StraySyn,
            Note::PortsReused,
            Note::RstIgnored,
            Note::ChallengeAck,
            Note::RstChallenged,
            Note::RstCrossed,
            Note::RstAnswer,
            Note::FinInSynSent,
            Note::MergedClose,
            Note::HalfCloseData,
            Note::TimeWait(Role::Client),
            Note::SimultaneousClose,
            Note::SimultaneousOpen,
            Note::HeaderCut,
            Note::Retransmission { of: FrameNumber(3), after_us: 204_000 },
            Note::FastRetransmission { of: FrameNumber(5) },
            Note::SpuriousRetransmission,
            Note::OutOfOrder,
            Note::SynRetransmission { attempt: 2, after_us: 1_020_000 },
            Note::DupAck { of: FrameNumber(7), count: 2 },
            Note::PreviousSegmentNotCaptured,
            Note::AckedUnseen,
            Note::ZeroWindow,
            Note::ZeroWindowProbe,
            Note::ZeroWindowProbeAck,
            Note::WindowFull,
            Note::WindowUpdate,
            Note::KeepAlive,
            Note::KeepAliveAck,
        ];
        for note in notes {
            msgs.push(Msg::NoteShort { note, until: 61.0 });
        }
        for note in notes {
            msgs.push(Msg::NoteExplain { note, port: 8080, rule: TimeWaitRule::Rfc, until: 1.0 });
        }
        for role in [Role::Client, Role::Server] {
            msgs.push(Msg::Side(role));
            msgs.push(Msg::Transition { side: role, from: TcpState::Closed, to: TcpState::SynSent });
        }
        for msg in &msgs {
            let en = Lang::En.text(msg);
            let zh = Lang::Zh.text(msg);
            assert!(!en.trim().is_empty(), "{msg:?} has no English");
            assert!(!zh.trim().is_empty(), "{msg:?} has no Chinese");
            let has_han = zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            let needs_han =
                en.split_whitespace().filter(|w| w.chars().all(|c| c.is_ascii_lowercase())).count() >= 2;
            assert!(!needs_han || has_han, "{msg:?}: Chinese text looks untranslated: {zh}");
        }
    }
}
