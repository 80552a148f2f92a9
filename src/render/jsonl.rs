//! JSON lines: one object per event, field names as `design.md` fixes them.
//!
//! The lines are written here, field by field, apart from the tracker's own types, so
//! that changing the tracker cannot change the output by accident. The lines every
//! segment brings (segment, transition, connection) go through [`JsonObject`], which
//! writes them directly; the rare ones (kernel, capture) through serde types.

use super::json_object::JsonObject;
use super::{CaptureStats, Renderer};
use crate::source::Timestamp;
use crate::track::{ConnSummary, Event, Note, SegmentEvent, Transition};
use serde::Serialize;
use std::io::{self, Write};

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

    /// Writes one line that `write` builds in the line buffer.
    fn write_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        self.line.clear();
        write(&mut self.line);
        self.out.write_all(&self.line)
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

/// The exact capture time as a string (a JSON number is a double: it would round).
fn exact_time<S: serde::Serializer>(value: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(time) => s.collect_str(time),
        None => s.serialize_none(),
    }
}

/// A segment line: the contract's fields in the contract's order (docs/json.md).
fn segment_line(out: &mut Vec<u8>, ev: &SegmentEvent, with_header: bool) {
    let mut line = JsonObject::start(out, "segment");
    line.uint("conn", ev.conn.0.into())
        .uint("frame", ev.frame.0)
        .float("ts", secs(ev.ts))
        .time("time", ev.time)
        .address("src", ev.src)
        .address("dst", ev.dst)
        .name("dir", ev.dir.name())
        .names("flags", ev.flags.names())
        .uint("seq", ev.seq.into())
        .opt_uint("ack", ev.ack.map(u64::from))
        .uint("seq_raw", ev.seq_raw.0.into())
        .uint("ack_raw", ev.ack_raw.0.into())
        .uint("len", ev.len.into())
        .uint("win", ev.win.into())
        .text("label", &ev.label)
        .display("step", ev.step)
        .name("client_state", ev.client_state.name())
        .name("server_state", ev.server_state.name())
        .names("notes", ev.notes.iter().map(|n| n.name()));
    // The numbers behind some notes, present only with them.
    if let Some((of, after_us)) = ev.notes.iter().find_map(|n| match *n {
        Note::Retransmission { of, after_us } => Some((of, after_us)),
        _ => None,
    }) {
        line.object("retransmission", |o| {
            o.uint("of_frame", of.0).float("after_ms", after_us as f64 / 1e3);
        });
    }
    if let Some((attempt, after_us)) = ev.notes.iter().find_map(|n| match *n {
        Note::SynRetransmission { attempt, after_us } => Some((attempt, after_us)),
        _ => None,
    }) {
        line.object("syn_retransmission", |o| {
            o.uint("attempt", attempt.into()).float("after_s", after_us as f64 / 1e6);
        });
    }
    if let Some((of, count)) = ev.notes.iter().find_map(|n| match *n {
        Note::DupAck { of, count } => Some((of, count)),
        _ => None,
    }) {
        line.object("dup_ack", |o| {
            o.uint("of_frame", of.0).uint("count", count.into());
        });
    }
    // The page's Figure 1 only ([`JsonLines::with_header`]): the TCP header's bytes as
    // hex, and its options decoded.
    let header = ev.header.as_slice();
    if with_header && !header.is_empty() {
        let hex: String = header.iter().map(|b| format!("{b:02x}")).collect();
        let options =
            super::inspect::describe_options(crate::i18n::Lang::En, header.get(20..).unwrap_or_default());
        line.text("header", &hex).texts("options", options.iter().map(String::as_str));
    }
    line.end();
}

fn transition_line(out: &mut Vec<u8>, t: &Transition) {
    JsonObject::start(out, "transition")
        .uint("conn", t.conn.0.into())
        .uint("frame", t.frame.0)
        .float("ts", secs(t.ts))
        .time("time", t.time)
        .name("side", t.side.name())
        .name("from", t.from.name())
        .name("to", t.to.name())
        .end();
}

fn connection_line(out: &mut Vec<u8>, s: &ConnSummary) {
    let mut line = JsonObject::start(out, "connection");
    line.uint("conn", s.conn.0.into())
        .address("client", s.client)
        .address("server", s.server)
        .uint("first_frame", s.first_frame.0)
        .uint("last_frame", s.last_frame.0)
        .opt_float("handshake_rtt_ms", s.handshake_rtt_ms)
        .uint("bytes_c2s", s.bytes_c2s)
        .uint("bytes_s2c", s.bytes_s2c)
        .uint("segments_c2s", s.segments_c2s)
        .uint("segments_s2c", s.segments_s2c)
        .float("duration", secs(s.last_ts - s.first_ts))
        .opt_name("opened_by", s.opened_by.map(|r| r.name()))
        .opt_name("closed_by", s.closed_by.map(|r| r.name()))
        .opt_name("reset_by", s.reset_by.map(|r| r.name()))
        .name("conn_state", s.conn_state)
        .text("history", s.history.letters())
        .name("client_final", s.client_final.name())
        .name("server_final", s.server_final.name())
        .bool("client_guessed", s.client_guessed)
        .opt_float("time_wait_until", s.time_wait_until.map(|(_, t)| secs(t)));
    // Present (true) only on a connection summarised while still open because the
    // table was full, so that every other line stays as it was.
    if s.retired {
        line.bool("retired_for_space", true);
    }
    line.end();
}

impl<W: Write> Renderer for JsonLines<W> {
    fn begin(&mut self, _name: &str) -> io::Result<()> {
        Ok(())
    }

    fn event(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Segment(ev) => {
                let with_header = self.header;
                self.write_with(|line| segment_line(line, ev, with_header))
            }
            Event::Transition(t) => self.write_with(|line| transition_line(line, t)),
            Event::Connection(s) => self.write_with(|line| connection_line(line, s)),
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
