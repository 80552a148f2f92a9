//! English text for every [`Msg`].

use super::{DeviceChoice, HeaderField, Msg, TableColumn, TimeWaitRule, ms, secs};
use crate::track::{Differs, Note, Role, Step};

/// `0.0.0.0, every address` for a wildcard, the address itself otherwise.
fn served_on(addr: std::net::IpAddr) -> String {
    if addr.is_unspecified() { format!("{addr}, every address") } else { addr.to_string() }
}

/// Linux's table that lists a socket of `local`'s family.
fn proc_table(local: std::net::SocketAddr) -> &'static str {
    if local.is_ipv6() { "/proc/net/tcp6" } else { "/proc/net/tcp" }
}

fn side(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Server => "server",
    }
}

fn capitalised(role: Role) -> &'static str {
    match role {
        Role::Client => "The client",
        Role::Server => "The server",
    }
}

fn rule(rule: TimeWaitRule) -> &'static str {
    match rule {
        TimeWaitRule::Linux => "Linux",
        TimeWaitRule::Rfc => "RFC 9293: 2×MSL",
        TimeWaitRule::Custom(_) => "as asked with --time-wait",
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// The messages said for every segment or connection, appended to `out` without a
/// string of their own: a big capture has millions of segments. Every other message is
/// [`text`]'s.
pub(super) fn write(out: &mut String, msg: &Msg<'_>) {
    use super::Put;
    // Each line is put together piece by piece (`Put`): `write!` costs several times more.
    match *msg {
        Msg::Transition { side: role, from, to } => {
            out.words(side(role)).words(" ").words(from.name()).words(" → ").words(to.name())
        }
        Msg::Payload { text, shown, total } => {
            out.words("payload \"").words(text).words("\"");
            if (shown as u64) < u64::from(total) {
                out.words("… (").count(shown as u64).words(" of ").count(total.into()).words(" bytes shown)");
            }
            out
        }
        Msg::ConnHeader { conn, client, server, guessed } => {
            out.words("connection ")
                .count(conn.into())
                .words(": client ")
                .addr(client)
                .words(" ⇄ server ")
                .addr(server);
            if guessed {
                out.words(" (client guessed: no SYN seen)");
            }
            out
        }
        Msg::SummaryOpened { by, rtt_ms, simultaneous } => match (by, rtt_ms) {
            (Some(_), Some(rtt)) if simultaneous => {
                out.words("opened by both ends at once (simultaneous open, RTT ").fixed3(rtt).words(" ms)")
            }
            (Some(r), Some(rtt)) => out
                .words("opened by the ")
                .words(side(r))
                .words(" (three-way handshake, RTT ")
                .fixed3(rtt)
                .words(" ms)"),
            (Some(r), None) => out.words("opened by the ").words(side(r)).words(" (handshake not completed)"),
            (None, _) => out.words("opening not captured"),
        },
        Msg::SummaryClosed { by, reset } => match (by, reset) {
            (Some(r), true) => out.words("reset by the ").words(side(r)),
            (Some(r), false) => out.words("closed first by the ").words(side(r)),
            (None, _) => out.words("not closed in the capture"),
        },
        Msg::SummaryTraffic { segments_c2s, bytes_c2s, segments_s2c, bytes_s2c } => out
            .words("client → server ")
            .counted(segments_c2s, " segment, ", " segments, ")
            .counted(bytes_c2s, " byte", " bytes")
            .words("; server → client ")
            .counted(segments_s2c, " segment, ", " segments, ")
            .counted(bytes_s2c, " byte", " bytes"),
        Msg::SummarySpan { first_frame, last_frame, secs } => out
            .words("frames ")
            .count(first_frame)
            .words("–")
            .count(last_frame)
            .words(", lasting ")
            .fixed6(secs)
            .words(" s"),
        Msg::SummaryFinal { client, server } => {
            out.words("final states: client ").words(client.name()).words(", server ").words(server.name())
        }
        Msg::SummaryTimeWait { side: role, until, rule: tw_rule } => {
            // The rule with its length: `Linux: 60 s`, `RFC 9293: 2×MSL = 240 s`.
            let joint = if tw_rule == TimeWaitRule::Rfc { " = " } else { ": " };
            out.words("the ")
                .words(side(role))
                .words(" holds TIME-WAIT until t=")
                .fixed3(until)
                .words(" s (")
                .words(rule(tw_rule))
                .words(joint)
                .float(tw_rule.secs())
                .words(" s)")
        }
        Msg::SummaryZeek { conn_state, history } => {
            out.words("Zeek conn_state ").words(conn_state).words(", history ").words(history)
        }
        _ => out.words(&text(msg)),
    };
}

pub(super) fn text(msg: &Msg<'_>) -> String {
    match *msg {
        Msg::Side(role) => side(role).into(),
        Msg::StepName(step) => step.to_string(),
        Msg::StepExplain { step, sender, len } => {
            let who = capitalised(sender);
            match step {
                Step::Handshake(1) => {
                    "The client asks to open a connection: SYN=1, and seq=x is its initial \
                     sequence number (ISN). A SYN carries no data but uses up one sequence number. \
                     A listening server is in SYN-RECEIVED from the moment the SYN arrives."
                        .into()
                }
                Step::Handshake(2) => "The server accepts: SYN=1 and ACK=1. It picks its own ISN y and \
                     acknowledges x+1, the next number it expects from the client. The client is \
                     ESTABLISHED as soon as this arrives."
                    .into(),
                Step::Handshake(3) => "The client acknowledges the server's SYN: ACK=1, ack=y+1. When this \
                     arrives, the server is ESTABLISHED too."
                    .into(),
                Step::Handshake(_) => "A handshake segment.".into(),
                Step::SimultaneousOpen => {
                    "Simultaneous open: both ends sent a SYN before receiving the other's. Each \
                     enters SYN-RECEIVED when the other's SYN arrives, answers with SYN,ACK, and is \
                     ESTABLISHED when the other's SYN,ACK arrives."
                        .into()
                }
                Step::Data => format!("{who} sends {len} bytes; seq numbers its first byte."),
                Step::Ack => format!("{who} acknowledges every byte before ack; no data."),
                Step::Teardown(1) if len > 0 => format!(
                    "{who} sends its last {len} bytes and closes its direction in the same segment: \
                     FIN=1, and the FIN's own number is u = seq + len, after the data. It waits in \
                     FIN-WAIT-1 for the acknowledgment. An end still ESTABLISHED is in CLOSE-WAIT \
                     from the moment the FIN arrives."
                ),
                Step::Teardown(1) => format!(
                    "{who} has nothing more to send and closes its direction: FIN=1, seq=u. \
                     It waits in FIN-WAIT-1 for the acknowledgment. An end still ESTABLISHED is in \
                     CLOSE-WAIT from the moment the FIN arrives."
                ),
                Step::Teardown(2) => format!(
                    "{who} acknowledges the FIN (ack=u+1). It has been in CLOSE-WAIT since the FIN \
                     arrived (Linux holds a bare ACK back for its delayed-ACK timer, about 40 ms) and \
                     may still send data. The other end, acknowledged, waits in FIN-WAIT-2 for its FIN."
                ),
                Step::Teardown(3) => format!(
                    "{who} has finished sending too: FIN=1, seq=w. It waits in LAST-ACK for the \
                     final acknowledgment; the other end is in TIME-WAIT as soon as this FIN arrives."
                ),
                Step::Teardown(_) => format!(
                    "{who} acknowledges the last FIN (ack=w+1) from TIME-WAIT; the other end closes \
                     as soon as this ACK arrives."
                ),
                Step::TeardownMerged => format!(
                    "{who} had nothing left to send, so its ACK and its FIN travel in one segment: \
                     the wave takes three segments instead of four. The other end takes the ACK first, \
                     then the FIN: FIN-WAIT-1, FIN-WAIT-2 and TIME-WAIT as it arrives."
                ),
                Step::SimultaneousClose => "Simultaneous close: both ends sent FIN before receiving the \
                     other's. Each enters CLOSING when the other's FIN arrives, and TIME-WAIT when \
                     its own FIN is acknowledged."
                    .into(),
                Step::Reset => format!(
                    "{who} aborts the connection with RST: no wave and no TIME-WAIT; data not yet \
                     delivered is thrown away."
                ),
            }
        }
        Msg::NoteExplain { note, port, rule: tw_rule, until } => match note {
            Note::ClientGuessed => "No SYN was seen (the capture began mid-connection): which end is the \
                 client is a guess from the port numbers."
                .into(),
            Note::ConnectionRefused => format!(
                "Connection refused: nothing listens on port {port}, so the server's kernel answers \
                 the SYN with RST."
            ),
            Note::OldDuplicateSyn => "The SYN's sender answers the SYN-ACK with RST: it has no connection \
                 waiting for that SYN, an old duplicate (RFC 9293 Figure 8). The server drops its \
                 half-open connection. This is what the third handshake is for: with only two, the \
                 server would hold the connection open, waiting for data that never comes."
                .into(),
            Note::StraySyn => "No connection of the client's sent this SYN: it is an old duplicate \
                 from an earlier connection, still in the network. The client was never in SYN-SENT \
                 for it, as its reset below shows."
                .into(),
            Note::PortsReused => {
                "A new SYN on a 4-tuple seen before: a new connection on the same ports.".into()
            }
            Note::RstIgnored => "Reset ignored: the receiver does not accept this RST (RFC 9293 \
                 §3.10.7, RFC 5961 §3). In SYN-SENT a RST counts only if it acknowledges the SYN; \
                 later only if its seq lies in the receiver's window, and one in the window but \
                 not at the next byte expected is answered with a challenge ACK and dropped, as \
                 the receiver went on sending. Both ends' states stay, as the segments that \
                 follow show. A forged (injected) or stale reset looks like this."
                .into(),
            Note::ChallengeAck => "Challenge ACK (RFC 5961): the RST's seq was in the window but \
                 not the next expected; the receiver asks for proof and stays ESTABLISHED. This \
                 pure ACK names the byte it does expect: a real peer that has reset answers it \
                 with a RST at exactly that seq, which then closes; a blind attacker, who cannot \
                 see it, cannot."
                .into(),
            Note::RstChallenged => "Reset challenged: this RST's seq was in the receiver's window \
                 but not the next byte it expected, so the receiver did not believe it: it kept the \
                 connection and sent a challenge ACK (RFC 5961 §3.2). The sender had really reset, \
                 as its answer to the challenge shows: a RST at exactly the byte acknowledged. So \
                 the sender is CLOSED from here, and the receiver stays as it is until that second \
                 RST closes it."
                .into(),
            Note::RstCrossed => "Crossed the reset: this end sent this segment before the other \
                 end's RST reached it, and the two passed each other on the way. It was still open \
                 when it sent it; it closes as the RST arrives, after its last such segment. The \
                 other end has no connection any more: what arrives there is dropped (and answered \
                 with a RST)."
                .into(),
            Note::RstAnswer => "An answer, not an abort: this end was already CLOSED (it had reset \
                 or closed the connection), and an end without a connection answers whatever still \
                 arrives for it with RST (RFC 9293 §3.10.7.1), as it answers the segment before \
                 this one. The RST tells the other end that the connection is gone."
                .into(),
            Note::FinInSynSent => "A FIN from an end still in SYN-SENT: nothing is open yet, so this \
                 is no close. Real stacks do not send it; a port scan (or a forged segment) does."
                .into(),
            Note::MergedClose => "Three segments instead of four: the passive closer merged steps 2 and 3 \
                 of the wave."
                .into(),
            Note::HalfCloseData => "Half-close: data still flows from the end in CLOSE-WAIT to the end in \
                 FIN-WAIT-2."
                .into(),
            Note::TimeWait(role) => format!(
                "TIME-WAIT is never on the wire: the {} (the active closer) keeps the connection for \
                 {} s ({}) so that a lost final ACK can be sent again and old segments die out; it \
                 would end at t={until:.6}.",
                side(role),
                tw_rule.secs(),
                rule(tw_rule)
            ),
            Note::SimultaneousClose => "Simultaneous close.".into(),
            Note::SimultaneousOpen => "Simultaneous open.".into(),
            Note::Retransmission { of, after_us } => format!(
                "Retransmission of frame {of}, {} ms after it: these bytes were sent before. No \
                 acknowledgment came back in time, so the sender's retransmission timer (RTO) ran out \
                 and it sent them again; the first copy or its ACK was lost or late.",
                ms(after_us)
            ),
            Note::FastRetransmission { of } => format!(
                "Fast retransmission of frame {of}: the receiver's duplicate ACKs asked for these bytes \
                 (later segments arrived before them), so the sender resent them at once instead of \
                 waiting for its timer (RFC 5681: after three duplicate ACKs)."
            ),
            Note::SpuriousRetransmission => "Spurious retransmission: the other end had already \
                 acknowledged these bytes, so the resend was not needed; the first copy arrived, and its \
                 ACK was late or lost."
                .into(),
            Note::OutOfOrder => "Out of order: this segment lies below the highest sequence number already \
                 sent, but came too soon after it (within one round trip) to be a resend: it was overtaken \
                 on the way."
                .into(),
            Note::SynRetransmission { attempt, after_us } => format!(
                "SYN sent again (attempt {attempt}), {} s after the previous one: no answer came back. \
                 Linux waits 1 s before the first resend and then doubles the wait (1, 2, 4, 8 … s), for \
                 up to net.ipv4.tcp_syn_retries resends; kernels with net.ipv4.tcp_syn_linear_timeouts \
                 keep 1 s for that many resends first.",
                secs(after_us)
            ),
            Note::DupAck { of, count } => format!(
                "Duplicate ACK #{count} of frame {of}: the receiver acknowledges the same byte again \
                 because a segment arrived beyond a gap. Each duplicate says \"I am still missing the \
                 byte at this ack number\"; after three the sender resends it without waiting \
                 (a fast retransmission)."
            ),
            Note::HeaderCut => "Header cut by the snap length: the capture kept only part of this TCP \
                 header. Ports, sequence and acknowledgment numbers, flags and window come from its 20 \
                 fixed bytes; options beyond what was kept are unknown."
                .into(),
            Note::PreviousSegmentNotCaptured => "Previous segment not captured: this segment starts beyond \
                 the bytes seen so far, so a segment before it was lost before the capture point, or the \
                 capture missed it."
                .into(),
            Note::AckedUnseen => "ACKed unseen segment: this acknowledges bytes the capture never saw. The \
                 receiver has them, so they were sent: the capture missed them."
                .into(),
            Note::ZeroWindow => "Zero window: the sender of this segment has no room left in its receive \
                 buffer (its application is not reading), so the other end must stop sending."
                .into(),
            Note::ZeroWindowProbe => "Zero-window probe: a tiny segment sent into the closed window to \
                 ask whether it has opened (RFC 9293 sends one new byte; Linux sends an empty segment one \
                 byte below the next, which Wireshark calls a keep-alive). The sender's persist timer sends \
                 these, each wait longer than the last, for as long as the window stays zero."
                .into(),
            Note::ZeroWindowProbeAck => {
                "Answer to a zero-window probe: the window is still zero; the sender keeps waiting.".into()
            }
            Note::WindowFull => "Window full: this segment fills the receiver's advertised window to its \
                 edge; the sender must now wait for an ACK or a window update."
                .into(),
            Note::WindowUpdate => "Window update: the same acknowledgment with a new window. The \
                 application read data, and the receiver tells the sender how much it may send now."
                .into(),
            Note::KeepAlive => "Keep-alive: a segment one byte below the next sequence number, with no new \
                 data, sent after a silence to ask whether the other end is still there."
                .into(),
            Note::KeepAliveAck => "Answer to a keep-alive: the other end is still there.".into(),
        },
        Msg::Transition { .. }
        | Msg::Payload { .. }
        | Msg::ConnHeader { .. }
        | Msg::SummaryOpened { .. }
        | Msg::SummaryClosed { .. }
        | Msg::SummaryTraffic { .. }
        | Msg::SummarySpan { .. }
        | Msg::SummaryFinal { .. }
        | Msg::SummaryTimeWait { .. }
        | Msg::SummaryZeek { .. } => {
            let mut text = String::new();
            write(&mut text, msg);
            text
        }
        Msg::ColumnHeader { state, arrow } => super::columns("#", "time", "client", "server", state, arrow),
        Msg::FileHeader { path } => format!("capture {path}"),
        Msg::SummaryTitle => "summary".into(),
        Msg::TableTitle { count, secs } => {
            format!("connections so far: {count}, at t={secs:.1} s")
        }
        Msg::TableColumn(column) => match column {
            TableColumn::Client => "client",
            TableColumn::ClientState => "client state",
            TableColumn::ServerState => "server state",
            TableColumn::BytesC2s => "bytes c→s",
            TableColumn::BytesS2c => "bytes s→c",
            TableColumn::ConnState => "conn_state",
        }
        .into(),
        Msg::TableMore { count } => format!("… and {count} older connections, left out"),
        Msg::SummaryRetired => "retired for space: still open when the connection table was full, and \
             the least recently active; anything it sent later shows as another connection"
            .into(),
        Msg::CaptureStats { frames, segments, other, filtered, undecodable, connections, evicted, retired } => {
            format!(
                "{frames} {}: {segments} TCP {} in {connections} {}, {other} other {} skipped, \
             {undecodable} undecodable{}{}{}",
                plural(frames, "frame", "frames"),
                plural(segments, "segment", "segments"),
                plural(connections, "connection", "connections"),
                plural(other, "frame", "frames"),
                if filtered > 0 { format!(", {filtered} left out by the filter") } else { String::new() },
                if evicted > 0 {
                    format!(
                        "; {evicted} unanswered SYNs were summarised early to keep memory bounded (a SYN flood?)"
                    )
                } else {
                    String::new()
                },
                if retired > 0 {
                    format!(
                        "; {retired} open {} retired for space (the connection table, sized by --max-memory, was full)",
                        plural(retired, "connection was", "connections were")
                    )
                } else {
                    String::new()
                },
            )
        }
        Msg::Undecodable { frame, reason } => {
            format!("frame {frame} could not be decoded: {reason}")
        }
        Msg::MoreUndecodable { count } => format!("… and {count} more undecodable frames"),
        Msg::NotDecoded { count, kind } => {
            format!("{count} {} in {kind}: not decoded (counted as other)", plural(count, "frame", "frames"))
        }
        Msg::Truncated { path, reason } => format!(
            "warning: {path} is cut short ({reason}); every complete frame before that point is shown"
        ),
        Msg::KernelListed { side: role, local, remote, table } => format!(
            "The kernel confirms it: {table} lists {local} → {remote} in TIME-WAIT (this system's \
             table shows no timer: the {} lets go when the system's own TIME-WAIT ends, whatever \
             --time-wait says).",
            side(role)
        ),
        Msg::NoKernelView => {
            "no kernel view on this system: TIME-WAIT is followed on the wire only".into()
        }
        Msg::KernelFeed { sampled: false } => {
            "--kernel: reading the kernel's TCP state changes from the sock:inet_sock_set_state \
             tracepoint (a private tracefs instance, removed at exit)"
                .into()
        }
        Msg::KernelFeed { sampled: true } => {
            "--kernel: sampling the kernel's socket table every 5 ms (sock_diag); a state held \
             for less than that can be missed"
                .into()
        }
        Msg::NoKernelFeed { why } => format!("--kernel: no kernel state changes here: {why}; the capture goes on"),
        Msg::KernelState { side: role, from, to, after } => match after {
            Some((frame, ms)) => {
                format!("kernel: {} {from} → {to}, {ms:.3} ms after frame\u{a0}{frame}", side(role))
            }
            None => format!("kernel: {} {from} → {to}, before its first segment", side(role)),
        },
        Msg::KernelDiffers { why, side: role, shown_at } => match why {
            Differs::RequestSocket => format!(
                "tcplab shows the {} in {shown_at}: it has been SYN-RECEIVED since the SYN arrived, but \
                 Linux keeps a request socket until the third ACK and traces nothing for it, so \
                 the kernel reports SYN-RECEIVED only now.",
                side(role)
            ),
            Differs::TimeWaitSocket => format!(
                "tcplab shows the {} in TIME-WAIT: Linux replaces the socket with a small timewait \
                 socket and reports the full one as going to CLOSED.",
                side(role)
            ),
            Differs::NotOnWire => format!(
                "tcplab shows the {} in {shown_at} here: the capture has not shown this change (yet).",
                side(role)
            ),
        },
        Msg::KernelTimeWait { side: role, local, remote, left } => match left {
            Some(secs) => format!(
                "The kernel confirms it: {} lists {local} → {remote} in TIME-WAIT, \
                 {secs:.1} s left before the {} lets go (Linux's own timer is 60 s, whatever \
                 --time-wait says).",
                proc_table(local),
                side(role)
            ),
            None => format!(
                "The kernel of this machine does not list {local} → {remote} in TIME-WAIT (the \
                 {} is on another host, or its timer already ran out).",
                side(role)
            ),
        },
        Msg::Listening { device, link, why } => match why {
            DeviceChoice::Asked => {
                format!("listening on {device}, link-type {link}")
            }
            DeviceChoice::LoopbackOnly { port, addr } => format!(
                "listening on {device} (port {port} is served on {addr} only, so its traffic is on \
                 loopback), link-type {link}"
            ),
            DeviceChoice::ServedEverywhere { port, addr } => format!(
                "listening on {device} (port {port} is served on {}: clients may come over any \
                 interface, so all are captured), link-type {link}",
                served_on(addr)
            ),
            DeviceChoice::ServedOnDevice { port, addr } => format!(
                "listening on {device} (port {port} is served on {addr}, an address of {device}), link-type {link}"
            ),
            DeviceChoice::ServedDefault { port } => format!(
                "listening on {device} (port {port} is served on every address; this is libpcap's default \
                 device: clients on this machine show with -i and the loopback device), link-type {link}"
            ),
            DeviceChoice::LanServer => format!(
                "listening on {device} (the server's interface on the lab's LAN, 10.77.0.0/24), link-type {link}"
            ),
            DeviceChoice::NotServedYet { port } => format!(
                "listening on {device} (nothing listens on port {port} here yet: all interfaces, so a \
                 server started later is seen too), link-type {link}"
            ),
            DeviceChoice::AnyInterface => {
                format!("listening on {device} (all interfaces; choose one with -i), link-type {link}")
            }
            DeviceChoice::DefaultInterface => {
                format!("listening on {device} (libpcap's default; choose another with -i), link-type {link}")
            }
        },
        Msg::LiveStats { captured, received, dropped_by_kernel, dropped_by_interface, loopback } => format!(
            "{captured} packets captured, {received} received by filter, {dropped_by_kernel} dropped by \
             kernel, {dropped_by_interface} dropped by interface{}",
            if loopback {
                " (on loopback the kernel filter sees each packet twice, leaving and arriving)"
            } else {
                ""
            }
        ),
        Msg::KernelDropped { count } => format!(
            "{count} {} dropped by the kernel: they came faster than tcplab read them, and the view \
             and any -w file miss them",
            plural(u64::from(count), "packet", "packets")
        ),
        Msg::PrivateNetwork => "not root: running in a private network namespace with its own loopback, \
             where capturing is allowed"
            .into(),
        Msg::OwnNetwork => "this scenario drops packets with nftables, so it runs in a network namespace \
             of its own, which disappears with this process; the host's network is untouched"
            .into(),
        Msg::LanBuilt { students } => format!(
            "the LAN runs in network namespaces of this process: the server's host (10.77.0.1) and {students} \
             {}, joined by veth pairs and a bridge; it disappears with this process, and the host's network \
             is untouched",
            if students == 1 { "student's host (10.77.0.11)".to_owned() } else {
                format!("students' hosts (10.77.0.11 to 10.77.0.{})", 10 + students)
            }
        ),
        Msg::DemoIntro { server } => format!(
            "demo: a chat server on {server}, a client that says two things and hangs up, \
             and everything they send, captured live on loopback"
        ),
        Msg::LabIntro { scenario, about } => format!("lab {scenario}: {about}"),
        Msg::Saved { path, packets } => format!("saved {packets} packets to {path}"),
        Msg::Progress { frames, connections, per_sec } => {
            format!("{frames} packets · {connections} connections · {per_sec:.0}/s")
        }
        Msg::ScenarioNeeds(needs) => format!("[not on this system: needs {}]", needs.english()),
        Msg::ScenarioAbout(scenario) => match scenario {
            crate::lab::Scenario::Handshake => {
                "open, chat both ways, the client closes: the textbook handshake and wave"
            }
            crate::lab::Scenario::ServerCloses => "the server closes first, so the server ends in TIME-WAIT",
            crate::lab::Scenario::FourWay => {
                "the passive closer waits before its FIN: four separate segments, a visible CLOSE-WAIT"
            }
            crate::lab::Scenario::MergedClose => {
                "the passive closer closes at once: its ACK and FIN travel together (three segments)"
            }
            crate::lab::Scenario::HalfClose => {
                "the client stops sending; the server keeps sending in CLOSE-WAIT, then closes"
            }
            crate::lab::Scenario::Refused => {
                "connect to a port nobody listens on: the SYN is answered by RST"
            }
            crate::lab::Scenario::StaleSyn => "an old duplicate SYN reaches the server and is reset, then the real connection opens: why three handshakes",
            crate::lab::Scenario::Abort => {
                "close with SO_LINGER 0: RST instead of the wave, and no TIME-WAIT"
            }
            crate::lab::Scenario::SimultaneousOpen => {
                "two sockets connect to each other at once: their SYNs cross, both ends pass through SYN-RECEIVED"
            }
            crate::lab::Scenario::SimultaneousClose => {
                "both ends close at once: their FINs cross, both ends pass through CLOSING into TIME-WAIT"
            }
            crate::lab::Scenario::SynRetry => {
                "the first SYNs are lost: the client sends its SYN again, waiting twice as long each time"
            }
            crate::lab::Scenario::ZeroWindow => {
                "the server stops reading: its window closes to zero, the client probes it, a window update reopens it"
            }
            crate::lab::Scenario::Lossy => {
                "an upload over a delayed link that loses and reorders chosen segments: duplicate ACKs, \
                 a fast retransmission, a retransmission after the timeout, data out of order"
            }
            crate::lab::Scenario::Lan => {
                "a classroom LAN: the chat server on 0.0.0.0 in one network namespace, students in \
                 others, joined by veth pairs and a bridge (Ethernet, ARP); each student chats in turn"
            }
        }
        .into(),
        Msg::StopHint => "Ctrl-C to stop".into(),
        Msg::PageAt { url } => format!("the page is at {url}"),
        Msg::PageBeyondLoopback { bound } => format!(
            "warning: the page is served on {bound}, beyond this machine: anyone with the URL (and its token) sees the traffic"
        ),
        Msg::PageStillServing { url } => format!("still serving {url} (Ctrl-C stops)"),
        Msg::PageCannotBind { addr, reason } => {
            format!("cannot serve the page on {addr} ({reason}); choose another with --serve=ADDR:PORT")
        }
        Msg::LadderTimeWait { rule: tw_rule, until } => {
            format!(
                "TIME-WAIT {} s ({}), nothing on the wire; CLOSED at t={until:.3}",
                tw_rule.secs(),
                rule(tw_rule)
            )
        }
        Msg::FieldName(field) => match field {
            HeaderField::SourcePort => "Source Port",
            HeaderField::DestinationPort => "Destination Port",
            HeaderField::Sequence => "Sequence Number",
            HeaderField::Acknowledgment => "Acknowledgment Number",
            HeaderField::DataOffset => "Data Offset",
            HeaderField::Reserved => "Reserved",
            HeaderField::Flags => "Flags",
            HeaderField::Window => "Window",
            HeaderField::Checksum => "Checksum",
            HeaderField::UrgentPointer => "Urgent Pointer",
            HeaderField::Options => "Options",
            HeaderField::Data => "Data",
        }
        .into(),
        Msg::FieldExplain(field) => match field {
            HeaderField::SourcePort => {
                "The sending application's port; with the addresses it names the connection."
            }
            HeaderField::DestinationPort => {
                "The receiving application's port (the server's well-known or chosen port)."
            }
            HeaderField::Sequence => {
                "The number of the first data byte in this segment; on a SYN it is the initial \
                 sequence number (ISN) and the data starts at ISN+1."
            }
            HeaderField::Acknowledgment => {
                "The next byte the sender expects from the other end, so everything before \
                 it has arrived; valid only when ACK=1."
            }
            HeaderField::DataOffset => "The header length in 32-bit words (5 to 15): where the data begins.",
            HeaderField::Reserved => "Bits kept for future use; zero.",
            HeaderField::Flags => {
                "The control bits: URG, ACK, PSH, RST, SYN, FIN (and CWR, ECE for congestion \
                 notification)."
            }
            HeaderField::Window => {
                "How many more bytes the sender of this segment is ready to receive (flow \
                 control), multiplied by 2^shift when window scaling was agreed in the SYNs."
            }
            HeaderField::Checksum => {
                "Covers header, data and a pseudo-header of the IP addresses; on loopback and \
                 with offloading it is often left for the hardware, so it may look wrong in a capture."
            }
            HeaderField::UrgentPointer => "Where urgent data ends; meaningful only when URG=1.",
            HeaderField::Options => {
                "Extensions negotiated in the SYNs and carried later: MSS, window scale, \
                 SACK, timestamps; padded to a multiple of 4 bytes."
            }
            HeaderField::Data => "The application's bytes; TCP numbers every one of them.",
        }
        .into(),
        Msg::FlagExplain(flag) => match flag {
            "CWR" => "congestion window reduced (answer to ECE)",
            "ECE" => "ECN echo: the path signalled congestion",
            "URG" => "the urgent pointer is valid",
            "ACK" => "the acknowledgment number is valid (set on every segment after the first SYN)",
            "PSH" => "deliver the data to the application now",
            "RST" => "reset: abort the connection",
            "SYN" => "synchronize sequence numbers: open a connection",
            "FIN" => "no more data from the sender: close this direction",
            _ => "unknown flag",
        }
        .into(),
        Msg::InspectTitle { frame, src, dst, wire_len, captured, step, label } => format!(
            "frame {frame}: {src} → {dst}, {wire_len} bytes on the wire ({captured} captured) · {step} · {label}"
        ),
        Msg::IpFacts(ref facts) => match *facts {
            crate::decode::anatomy::IpFacts::V4 { ttl, total_len, header_len, dont_fragment, id } => format!(
                "IPv4: TTL {ttl}, total length {total_len} B, header {header_len} B, ID 0x{id:04x}, {}",
                if dont_fragment { "DF set (do not fragment)" } else { "DF clear" }
            ),
            crate::decode::anatomy::IpFacts::V6 { hop_limit, payload_len, flow_label } => {
                format!(
                    "IPv6: hop limit {hop_limit}, payload length {payload_len} B, flow label 0x{flow_label:05x}"
                )
            }
        },
        Msg::RelativeValue { raw, rel } => match rel {
            Some(rel) => format!("{raw} (relative {rel})"),
            None => raw.to_string(),
        },
        Msg::AckNotValid { raw } => format!("{raw} (not valid: ACK=0)"),
        Msg::DataOffsetValue { words } => format!("{words} words = {} bytes", u32::from(words) * 4),
        Msg::WindowValue { raw, scaled } => match scaled {
            Some((bytes, shift)) => format!("{raw} × 2^{shift} = {bytes} bytes"),
            None => format!("{raw} bytes"),
        },
        Msg::HexTitle { start, end } => {
            format!("bytes of the frame; the TCP header is bytes {start}–{}", end - 1)
        }
        Msg::OptionsMalformed => "malformed option".into(),
        Msg::StepPrompt => "[Enter: next segment, q: stop] ".into(),
        Msg::SvgNoCjkFont => "no CJK font found (WenQuanYi Micro Hei or Noto Sans CJK, or TCPLAB_CJK_FONT=FILE): \
             the SVG's Chinese stays text, which shows as boxes where no CJK font is installed"
            .into(),
        Msg::StepKeys => "[space/Enter/→: next · ←: back · q: quit · Ctrl-C: summary] ".into(),
        Msg::QuizAsk { frame, flags, from, side: role } => format!(
            "frame {frame}: the {} sends [{flags}]. What state is the {} in after it?",
            side(from),
            side(role)
        ),
        Msg::QuizVerdict { correct, expected } => {
            if correct {
                format!("right: {expected}")
            } else {
                format!("not quite: it is {expected}")
            }
        }
        Msg::QuizScore { right, asked } => format!("quiz: {right} of {asked} right"),
        Msg::TimeWaitExpired { side: role, ts } => format!(
            "At t={ts:.3} the {}'s TIME-WAIT timer ran out and the kernel forgot the connection: TIME-WAIT \
             → CLOSED, the last step of Figure 2.",
            side(role)
        ),
        Msg::QuizIntro => "Quiz: before each segment, name the state of each end just after it (e.g. \
             SYN-SENT). An end changes state when a segment arrives, not when it answers: a \
             listening end that receives a SYN is SYN-RECEIVED at once, before its SYN-ACK goes out."
            .into(),
        Msg::NoteShort { note, until } => match note {
            Note::ClientGuessed => "client guessed (no SYN seen)".into(),
            Note::ConnectionRefused => "connection refused".into(),
            Note::OldDuplicateSyn => "an old duplicate SYN, reset".into(),
            Note::StraySyn => "stray: no connection of the client's sent this".into(),
            Note::PortsReused => "ports reused: a new connection".into(),
            Note::RstIgnored => "reset ignored: not acceptable to the receiver".into(),
            Note::ChallengeAck => "challenge ACK: the RST's seq was not the next expected".into(),
            Note::RstChallenged => "reset challenged: its sender had reset; the receiver asked for proof".into(),
            Note::RstCrossed => "crossed the other end's RST: sent before it arrived".into(),
            Note::RstAnswer => "answer from an end without a connection, not an abort".into(),
            Note::FinInSynSent => "FIN in SYN-SENT: no connection to close".into(),
            Note::MergedClose => "ACK and FIN merged".into(),
            Note::HalfCloseData => "half-close: data sent in CLOSE-WAIT".into(),
            Note::TimeWait(role) => {
                format!("{} in TIME-WAIT (not on the wire) until t={until:.6}", side(role))
            }
            Note::SimultaneousClose => "simultaneous close".into(),
            Note::SimultaneousOpen => "simultaneous open".into(),
            Note::Retransmission { of, after_us } => {
                format!("retransmission of frame {of}, {} ms after it", ms(after_us))
            }
            Note::FastRetransmission { of } => format!("fast retransmission of frame {of}"),
            Note::SpuriousRetransmission => "spurious retransmission: already acknowledged".into(),
            Note::OutOfOrder => "out of order".into(),
            Note::SynRetransmission { attempt, after_us } => {
                format!("SYN attempt {attempt}, {} s after the previous one", secs(after_us))
            }
            Note::DupAck { of, count } => format!("duplicate ACK #{count} of frame {of}"),
            Note::PreviousSegmentNotCaptured => "previous segment not captured".into(),
            Note::HeaderCut => "header cut by the snap length".into(),
            Note::AckedUnseen => "ACKed unseen segment".into(),
            Note::ZeroWindow => "zero window".into(),
            Note::ZeroWindowProbe => "zero-window probe".into(),
            Note::ZeroWindowProbeAck => "zero-window probe answered: still zero".into(),
            Note::WindowFull => "window full".into(),
            Note::WindowUpdate => "window update".into(),
            Note::KeepAlive => "keep-alive".into(),
            Note::KeepAliveAck => "keep-alive answered".into(),
        },
    }
}
