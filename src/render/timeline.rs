//! The annotated text timeline: one line per segment drawn between a client column and a
//! server column, then what it means, then the per-connection summary.

use super::sanitize::sanitize;
use super::summary::{write_stats, write_summary};
use super::{CaptureStats, Renderer, TextStyle};
use crate::i18n::Msg;
use crate::track::{ConnId, Event, Note, Role, SegmentEvent, Step, TcpState, Transition};
use colored::{ColoredString, Colorize};
use std::collections::HashSet;
use std::io::{self, Write};

/// Column where the explanations under a segment line start.
const INDENT: usize = 18;
/// Width of the arrow between the two state columns.
const ARROW: usize = 36;
/// Explanations wrap at this width.
const WIDTH: usize = 80;

pub struct Timeline<W: Write> {
    out: W,
    style: TextStyle,
    /// Connections whose header has been printed.
    announced: HashSet<ConnId>,
    /// Connections whose data/ack explanation has been printed once.
    explained_data: HashSet<(ConnId, bool)>,
    /// Lines under the last segment line, held until its transitions have arrived.
    pending: Pending,
    summaries_started: bool,
}

impl<W: Write> Timeline<W> {
    pub fn new(out: W, style: TextStyle) -> Timeline<W> {
        Timeline {
            out,
            style,
            announced: HashSet::new(),
            explained_data: HashSet::new(),
            pending: Pending::default(),
            summaries_started: false,
        }
    }

    fn say(&self, msg: &Msg<'_>) -> String {
        self.style.lang.text(msg)
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        for line in pending.head.iter().chain(&pending.transitions).chain(&pending.body) {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// Queues `text` under the segment line, wrapped and indented.
    fn explain(&mut self, text: &str, paint: fn(&str) -> ColoredString) {
        let indent = " ".repeat(INDENT);
        for line in super::wrap_indented(text, WIDTH, &indent) {
            let (pad, body) = line.split_at(INDENT.min(line.len()));
            self.pending.body.push(format!("{pad}{}", paint(body)));
        }
    }

    fn segment(&mut self, ev: &SegmentEvent) -> io::Result<()> {
        self.flush_pending()?;
        if self.announced.insert(ev.conn) {
            let (client, server) = match ev.dir.sender() {
                Role::Client => (ev.src, ev.dst),
                Role::Server => (ev.dst, ev.src),
            };
            let guessed = ev.notes.contains(&Note::ClientGuessed);
            let header = self.say(&Msg::ConnHeader { conn: ev.conn.0, client, server, guessed });
            writeln!(self.out, "\n{}", header.bold())?;
            writeln!(self.out, "{}", self.say(&Msg::ColumnHeader).dimmed())?;
        }
        writeln!(
            self.out,
            "{:>5} {:>10.6}  {} {} {}",
            ev.frame.0,
            ev.ts,
            paint_state(ev.client_state, 12),
            arrow(ev),
            paint_state(ev.server_state, 0),
        )?;

        let conn_tag = if self.announced.len() > 1 { format!("[{}] ", ev.conn.0) } else { String::new() };
        let step_name = self.say(&Msg::StepName(ev.step));
        self.pending.head.push(format!(
            "{}{conn_tag}{} · {}",
            " ".repeat(INDENT),
            paint_step(ev.step, &step_name),
            ev.label.bold()
        ));
        if !ev.payload.is_empty() {
            let text = sanitize(&ev.payload);
            let line = self.say(&Msg::Payload { text: &text, shown: ev.payload.len(), total: ev.len });
            self.pending.head.push(format!("{}{}", " ".repeat(INDENT), line.cyan()));
        }
        let routine = matches!(ev.step, Step::Data | Step::Ack);
        // A refused or stale SYN is explained by its note; the generic RST text would mislead.
        let told_by_note =
            ev.notes.iter().any(|n| matches!(n, Note::ConnectionRefused | Note::OldDuplicateSyn));
        if !told_by_note && (!routine || self.explained_data.insert((ev.conn, ev.step == Step::Data))) {
            let text = self.say(&Msg::StepExplain { step: ev.step, sender: ev.dir.sender(), len: ev.len });
            self.explain(&text, |s| s.normal());
        }
        let server_port = match ev.dir.sender() {
            Role::Client => ev.dst.port(),
            Role::Server => ev.src.port(),
        };
        for &note in &ev.notes {
            // Simultaneous open/close and the merged close are told by the step explanation.
            if matches!(note, Note::SimultaneousClose | Note::SimultaneousOpen | Note::MergedClose) {
                continue;
            }
            let text = self.say(&Msg::NoteExplain {
                note,
                port: server_port,
                rule: self.style.time_wait,
                until: super::time_wait_end(ev.ts, self.style.time_wait.secs()),
            });
            let paint: fn(&str) -> ColoredString = match note {
                Note::TimeWait(_) => |s| s.magenta(),
                Note::Retransmission | Note::ConnectionRefused | Note::OldDuplicateSyn => |s| s.yellow(),
                _ => |s| s.normal(),
            };
            self.explain(&format!("⚑ {text}"), paint);
        }
        Ok(())
    }

    fn transition(&mut self, t: &Transition) {
        let line = self.say(&Msg::Transition { side: t.side, from: t.from, to: t.to });
        let standalone = self.pending.head.is_empty();
        self.pending.transitions.push(format!("{}{}", " ".repeat(INDENT), line.bold()));
        if standalone && t.from == TcpState::TimeWait {
            // Seen live: the 2MSL timer ran out long after the last segment.
            let text = self.say(&Msg::TimeWaitExpired { side: t.side, ts: t.ts });
            self.explain(&format!("⚙ {text}"), |s| s.magenta());
        }
    }
}

/// The lines under one segment line: its step (and payload), the state changes it
/// caused, then the explanations.
#[derive(Default)]
struct Pending {
    head: Vec<String>,
    transitions: Vec<String>,
    body: Vec<String>,
}

impl<W: Write> Renderer for Timeline<W> {
    fn begin(&mut self, name: &str) -> io::Result<()> {
        // Each capture is told on its own: headers and explanations start again.
        self.announced.clear();
        self.explained_data.clear();
        self.summaries_started = false;
        writeln!(self.out, "{}", self.say(&Msg::FileHeader { path: &sanitize(name.as_bytes()) }).bold())
    }

    fn event(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Segment(ev) if self.style.timeline => self.segment(ev),
            Event::Transition(t) if self.style.timeline => {
                self.transition(t);
                Ok(())
            }
            Event::Kernel(check) => {
                let text = self.say(&Msg::KernelTimeWait {
                    side: check.side,
                    local: check.local,
                    remote: check.remote,
                    left: check.time_left,
                });
                self.explain(&format!("⚙ {text}"), |s| s.magenta());
                Ok(())
            }
            Event::Connection(summary) => {
                self.flush_pending()?;
                if !self.summaries_started {
                    self.summaries_started = true;
                    writeln!(self.out, "\n{}", format!("── {} ──", self.say(&Msg::SummaryTitle)).bold())?;
                }
                write_summary(&mut self.out, &self.style, summary)
            }
            _ => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_pending()?;
        self.out.flush()
    }

    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        self.flush_pending()?;
        write_stats(&mut self.out, &self.style, name, stats)?;
        self.out.flush()
    }
}

/// `─ [SYN] seq=0 ──────▶` or `◀────── [SYN,ACK] seq=0 ack=1 ─`, coloured by flags.
fn arrow(ev: &SegmentEvent) -> String {
    let mut content = format!("[{}] seq={}", ev.flags, ev.seq);
    if let Some(ack) = ev.ack {
        content += &format!(" ack={ack}");
    }
    if ev.len > 0 {
        content += &format!(" len={}", ev.len);
    }
    let fill = ARROW.saturating_sub(content.chars().count() + 4).max(1);
    let text = match ev.dir.sender() {
        Role::Client => format!("─ {content} {}▶", "─".repeat(fill)),
        Role::Server => format!("◀{} {content} ─", "─".repeat(fill)),
    };
    let flags = ev.flags;
    if flags.rst() {
        text.red().to_string()
    } else if flags.syn() {
        text.green().to_string()
    } else if flags.fin() {
        text.blue().to_string()
    } else if ev.len > 0 {
        text.cyan().to_string()
    } else {
        text
    }
}

fn paint_state(state: TcpState, width: usize) -> ColoredString {
    let text = format!("{:<width$}", state.name());
    match state {
        TcpState::Established => text.green(),
        TcpState::Closed => text.dimmed(),
        TcpState::Listen | TcpState::SynSent | TcpState::SynReceived => text.yellow(),
        TcpState::TimeWait => text.magenta(),
        _ => text.blue(),
    }
}

fn paint_step(step: Step, name: &str) -> ColoredString {
    match step {
        Step::Handshake(_) | Step::SimultaneousOpen => name.green().bold(),
        Step::Teardown(_) | Step::TeardownMerged | Step::SimultaneousClose => name.blue().bold(),
        Step::Reset => name.red().bold(),
        Step::Data | Step::Ack => name.normal(),
    }
}
