//! JSON lines: one object per event, field names as `design.md` fixes them.
//!
//! The serde types here are the public contract and are kept apart from the tracker's
//! own types, so that changing the tracker cannot change the output by accident.

use super::{CaptureStats, Renderer};
use crate::source::Timestamp;
use crate::track::{ConnSummary, Event, Note, SegmentEvent, Transition};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct SegmentLine<'a> {
    r#type: &'static str,
    conn: u32,
    frame: u64,
    ts: f64,
    #[serde(serialize_with = "exact_time")]
    time: Option<Timestamp>,
    #[serde(serialize_with = "address")]
    src: std::net::SocketAddr,
    #[serde(serialize_with = "address")]
    dst: std::net::SocketAddr,
    dir: &'static str,
    flags: Vec<&'static str>,
    seq: u32,
    ack: Option<u32>,
    seq_raw: u32,
    ack_raw: u32,
    len: u32,
    win: u16,
    label: &'a str,
    #[serde(serialize_with = "display")]
    step: crate::track::Step,
    client_state: &'static str,
    server_state: &'static str,
    notes: Vec<&'static str>,
    /// The numbers behind some notes, present only with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    retransmission: Option<ResendLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    syn_retransmission: Option<SynResendLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dup_ack: Option<DupAckLine>,
    /// The page's Figure 1 only ([`JsonLines::with_header`]): the TCP header's bytes as
    /// hex, and its options decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<Vec<String>>,
}

/// `retransmission`: the frame that first carried these bytes (when still remembered;
/// else the one that last advanced the sequence space), and the time since.
#[derive(Serialize)]
struct ResendLine {
    of_frame: u64,
    after_ms: f64,
}

/// `syn_retransmission`: which try this SYN is (2 = first resend) and the time since the
/// previous one.
#[derive(Serialize)]
struct SynResendLine {
    attempt: u32,
    after_s: f64,
}

/// `dup_ack`: the frame whose ACK this repeats, and how many times so far.
#[derive(Serialize)]
struct DupAckLine {
    of_frame: u64,
    count: u32,
}

#[derive(Serialize)]
struct TransitionLine {
    r#type: &'static str,
    conn: u32,
    frame: u64,
    ts: f64,
    #[serde(serialize_with = "exact_time")]
    time: Option<Timestamp>,
    side: &'static str,
    from: &'static str,
    to: &'static str,
}

#[derive(Serialize)]
struct ConnectionLine<'a> {
    r#type: &'static str,
    conn: u32,
    #[serde(serialize_with = "address")]
    client: std::net::SocketAddr,
    #[serde(serialize_with = "address")]
    server: std::net::SocketAddr,
    first_frame: u64,
    last_frame: u64,
    handshake_rtt_ms: Option<f64>,
    bytes_c2s: u64,
    bytes_s2c: u64,
    segments_c2s: u64,
    segments_s2c: u64,
    duration: f64,
    opened_by: Option<&'static str>,
    closed_by: Option<&'static str>,
    reset_by: Option<&'static str>,
    conn_state: &'static str,
    history: &'a str,
    client_final: &'static str,
    server_final: &'static str,
    client_guessed: bool,
    time_wait_until: Option<f64>,
    /// Present (true) only on a connection summarised while still open because the
    /// table was full, so that every other line stays as it was.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    retired_for_space: bool,
}

#[derive(Serialize)]
struct KernelLine {
    r#type: &'static str,
    conn: u32,
    side: &'static str,
    local: String,
    remote: String,
    /// What the kernel's socket table says; null when it does not list the socket.
    state: Option<&'static str>,
    time_left: Option<f64>,
}

/// `kernel_state`: a state change the kernel reported (`--kernel`).
#[derive(Serialize)]
struct KernelStateLine {
    r#type: &'static str,
    conn: Option<u32>,
    side: Option<&'static str>,
    #[serde(serialize_with = "address")]
    local: std::net::SocketAddr,
    #[serde(serialize_with = "address")]
    remote: std::net::SocketAddr,
    from: &'static str,
    to: &'static str,
    linux_from: &'static str,
    linux_to: &'static str,
    ts: f64,
    #[serde(serialize_with = "exact_time")]
    time: Option<Timestamp>,
    after_frame: Option<u64>,
    after_ms: Option<f64>,
    source: &'static str,
    tcplab_state: Option<&'static str>,
    differs: Option<&'static str>,
}

#[derive(Serialize)]
struct CaptureLine<'a> {
    r#type: &'static str,
    source: &'a str,
    frames: u64,
    tcp_segments: u64,
    other_frames: u64,
    filtered_frames: u64,
    connections: u64,
    evicted_half_open: u64,
    /// Open connections retired for space; absent when none were.
    #[serde(skip_serializing_if = "is_zero")]
    retired_for_space: u64,
    /// The first frames that could not be decoded, with why (at most 1000).
    undecodable: Vec<UndecodableFrame<'a>>,
    undecodable_total: u64,
    /// Frames in encapsulations that are not decoded, by kind (also in `other_frames`).
    not_decoded: std::collections::BTreeMap<String, u64>,
    truncated: Option<&'a str>,
}

#[derive(Serialize)]
struct UndecodableFrame<'a> {
    frame: u64,
    reason: &'a str,
}

/// Rounds capture seconds to the nanosecond the timestamps carry.
fn secs(t: f64) -> f64 {
    (t * 1e9).round() / 1e9
}

pub struct JsonLines<W: Write> {
    out: W,
    /// One line is built here, then written whole: many small writes cost more.
    line: Vec<u8>,
    /// Whether segment lines carry `header` and `options` (the page's header panel).
    header: bool,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines { out, line: Vec::with_capacity(512), header: false }
    }

    /// Segment lines also carry the TCP header's bytes and decoded options: what the
    /// page's header panel shows. `--format jsonl` leaves them out.
    pub fn with_header(mut self) -> JsonLines<W> {
        self.header = true;
        self
    }

    /// What has been written so far (for a writer that keeps it, such as a `Vec`).
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn line(&mut self, value: &impl Serialize) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }
}

/// Serializes a socket address as its text. Formatted first (numfmt's short path for
/// IPv4) and handed over whole: `collect_str` would escape it piece by piece.
fn address<S: serde::Serializer>(value: &std::net::SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(48);
    let _ = write!(text, "{}", crate::numfmt::Addr(*value));
    s.serialize_str(&text)
}

/// Serializes any `Display` value as a JSON string without an intermediate `String`.
fn display<T: std::fmt::Display, S: serde::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// The exact capture time as a string (a JSON number is a double: it would round).
fn exact_time<S: serde::Serializer>(value: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(time) => s.collect_str(time),
        None => s.serialize_none(),
    }
}

fn segment_line(ev: &SegmentEvent, with_header: bool) -> SegmentLine<'_> {
    let header = ev.header.as_slice();
    let (header, options) = if with_header && !header.is_empty() {
        let hex = header.iter().map(|b| format!("{b:02x}")).collect();
        let options =
            super::inspect::describe_options(crate::i18n::Lang::En, header.get(20..).unwrap_or_default());
        (Some(hex), Some(options))
    } else {
        (None, None)
    };
    SegmentLine {
        r#type: "segment",
        conn: ev.conn.0,
        frame: ev.frame.0,
        ts: secs(ev.ts),
        time: ev.time,
        src: ev.src,
        dst: ev.dst,
        dir: ev.dir.name(),
        flags: ev.flags.names().collect(),
        seq: ev.seq,
        ack: ev.ack,
        seq_raw: ev.seq_raw.0,
        ack_raw: ev.ack_raw.0,
        len: ev.len,
        win: ev.win,
        label: &ev.label,
        step: ev.step,
        client_state: ev.client_state.name(),
        server_state: ev.server_state.name(),
        notes: ev.notes.iter().map(|n| n.name()).collect(),
        retransmission: ev.notes.iter().find_map(|n| match *n {
            Note::Retransmission { of, after_us } => {
                Some(ResendLine { of_frame: of.0, after_ms: after_us as f64 / 1e3 })
            }
            _ => None,
        }),
        syn_retransmission: ev.notes.iter().find_map(|n| match *n {
            Note::SynRetransmission { attempt, after_us } => {
                Some(SynResendLine { attempt, after_s: after_us as f64 / 1e6 })
            }
            _ => None,
        }),
        dup_ack: ev.notes.iter().find_map(|n| match *n {
            Note::DupAck { of, count } => Some(DupAckLine { of_frame: of.0, count }),
            _ => None,
        }),
        header,
        options,
    }
}

fn transition_line(t: &Transition) -> TransitionLine {
    TransitionLine {
        r#type: "transition",
        conn: t.conn.0,
        frame: t.frame.0,
        ts: secs(t.ts),
        time: t.time,
        side: t.side.name(),
        from: t.from.name(),
        to: t.to.name(),
    }
}

fn connection_line(s: &ConnSummary) -> ConnectionLine<'_> {
    ConnectionLine {
        r#type: "connection",
        conn: s.conn.0,
        client: s.client,
        server: s.server,
        first_frame: s.first_frame.0,
        last_frame: s.last_frame.0,
        handshake_rtt_ms: s.handshake_rtt_ms,
        bytes_c2s: s.bytes_c2s,
        bytes_s2c: s.bytes_s2c,
        segments_c2s: s.segments_c2s,
        segments_s2c: s.segments_s2c,
        duration: secs(s.last_ts - s.first_ts),
        opened_by: s.opened_by.map(|r| r.name()),
        closed_by: s.closed_by.map(|r| r.name()),
        reset_by: s.reset_by.map(|r| r.name()),
        conn_state: s.conn_state,
        history: s.history.letters(),
        client_final: s.client_final.name(),
        server_final: s.server_final.name(),
        client_guessed: s.client_guessed,
        time_wait_until: s.time_wait_until.map(|(_, t)| secs(t)),
        retired_for_space: s.retired,
    }
}

impl<W: Write> Renderer for JsonLines<W> {
    fn begin(&mut self, _name: &str) -> io::Result<()> {
        Ok(())
    }

    fn event(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Segment(ev) => self.line(&segment_line(ev, self.header)),
            Event::Transition(t) => self.line(&transition_line(t)),
            Event::Connection(s) => self.line(&connection_line(s)),
            Event::Kernel(k) => self.line(&KernelLine {
                r#type: "kernel",
                conn: k.conn.0,
                side: k.side.name(),
                local: k.local.to_string(),
                remote: k.remote.to_string(),
                state: k.listed.then_some("TIME-WAIT"),
                time_left: k.time_left,
            }),
            Event::KernelState(k) => self.line(&KernelStateLine {
                r#type: "kernel_state",
                conn: k.conn.map(|c| c.0),
                side: k.side.map(|s| s.name()),
                local: k.local,
                remote: k.remote,
                from: k.from.rfc().name(),
                to: k.to.rfc().name(),
                linux_from: k.from.symbol(),
                linux_to: k.to.symbol(),
                ts: secs(k.ts),
                time: Some(k.time),
                after_frame: k.after.map(|(f, _)| f.0),
                after_ms: k.after.map(|(_, ms)| (ms * 1e3).round() / 1e3),
                source: k.source.name(),
                tcplab_state: k.shown.map(|s| s.name()),
                differs: k.differs.map(|d| d.name()),
            }),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        self.line(&CaptureLine {
            r#type: "capture",
            source: name,
            frames: stats.frames,
            tcp_segments: stats.segments,
            other_frames: stats.other,
            filtered_frames: stats.filtered,
            evicted_half_open: stats.evicted_half_open,
            retired_for_space: stats.retired,
            connections: stats.connections,
            undecodable: stats
                .undecodable
                .iter()
                .map(|(frame, reason)| UndecodableFrame { frame: *frame, reason })
                .collect(),
            undecodable_total: stats.undecodable_total,
            not_decoded: stats.not_decoded.iter().map(|(kind, count)| (kind.to_string(), *count)).collect(),
            truncated: stats.truncated.as_deref(),
        })?;
        self.out.flush()
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
