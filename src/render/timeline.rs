//! The annotated text timeline: one line per segment drawn between a client column and a
//! server column, then what it means, then the per-connection summary.

use super::palette;
use super::sanitize::{sanitize, sanitize_within};
use super::summary::{SummaryWriter, write_stats};
use super::{CaptureStats, Explain, Renderer, TextStyle};
use crate::i18n::{Lang, Msg};
use crate::numfmt::Fixed;
use crate::track::{ConnId, Event, Note, Role, SegmentEvent, Step, TcpState, Transition};
use colored::{ColoredString, Colorize};
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::rc::Rc;

/// Column where the explanations under a segment line start.
const INDENT: usize = 18;

/// The columns of the timeline at one width: a segment line is the frame and time
/// (`INDENT`), the client's state, the arrow, the server's state.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Every line fits in this many columns.
    width: usize,
    /// The client's state column.
    state: usize,
    /// The arrow between the two states.
    arrow: usize,
    /// States written short (ESTAB, SYN-RCVD) to fit ten columns.
    short_states: bool,
}

impl Layout {
    fn for_width(width: usize) -> Layout {
        let width = width.clamp(super::fit::NARROWEST, super::fit::WIDEST);
        // The longest state is 12 columns (SYN-RECEIVED); short ones are 10 at most.
        let (state, short_states) = if width >= 80 { (12, false) } else { (10, true) };
        // The arrow takes what the rest leaves, up to a length that still reads as one
        // arrow (80 columns leave it 36).
        let arrow = (width - INDENT - 2 * state - 2).min(60);
        Layout { width, state, arrow, short_states }
    }
}

pub struct Timeline<W: Write> {
    out: W,
    style: TextStyle,
    /// Whether to colour: decided once, so that nothing is painted for a pipe.
    color: bool,
    /// Connections whose header has been printed and whose summary has not: a
    /// summary ends a connection's segments, so the set stays as small as the
    /// tracker's table, however long the capture.
    /// (Fx-hashed, as the other sets here: they are asked once or more per segment.)
    announced: FxHashSet<ConnId>,
    /// More than one connection has been announced in this capture (or the capture
    /// is live: `TextStyle::tag_from_start`): every line of a connection says which
    /// one it belongs to from then on, with its `[n]` tag.
    several: bool,
    /// A connection has been announced in this capture.
    announced_any: bool,
    /// Steps (and who took them) already explained, in this capture or, with
    /// `--explain all`, in this connection (`Some`): each is told once there.
    explained: FxHashSet<(Option<ConnId>, Step, Role)>,
    /// Notes already told in full (in the same scope); later ones are said in a few words.
    noted: FxHashSet<(Option<ConnId>, &'static str)>,
    /// Step names in the chosen language, looked up once.
    step_names: FxHashMap<Step, String>,
    /// Lines under the last segment line, held until its transitions have arrived.
    pending: Pending,
    /// Room to build an arrow's text in, reused from segment to segment.
    scratch: String,
    summaries: SummaryWriter,
    summaries_started: bool,
    /// The kernel's changes before a connection's first segment, told under its header.
    early: String,
    /// The column header said under every connection's header: the same words for
    /// the whole run, so said (and measured for its padding) once.
    column_header: String,
    layout: Layout,
}

/// Spaces before the explanations under a segment line.
const PAD: &str = "                  ";

/// The most a payload line shows, in characters of its escaped text: all of a text
/// preview (decode keeps 256 bytes, and a line end or tab in every four is room for
/// its two-character escape), the first 80 bytes of a binary one (`\xNN` each).
/// A segment of binary data is a few lines of escapes on a terminal, not a screenful,
/// and escaping what would not be shown is not paid for.
const PAYLOAD_TEXT: usize = 320;

impl<W: Write> Timeline<W> {
    pub fn new(out: W, style: TextStyle) -> Timeline<W> {
        let color = colored::control::SHOULD_COLORIZE.should_colorize();
        Timeline {
            out,
            style,
            color,
            announced: FxHashSet::default(),
            several: style.tag_from_start,
            announced_any: false,
            explained: FxHashSet::default(),
            noted: FxHashSet::default(),
            step_names: FxHashMap::default(),
            pending: Pending::default(),
            scratch: String::new(),
            summaries: SummaryWriter::new(color),
            summaries_started: false,
            early: String::new(),
            column_header: String::new(),
            layout: Layout::for_width(style.width),
        }
    }

    fn say(&self, msg: &Msg<'_>) -> String {
        self.style.lang.text(msg)
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        let p = &mut self.pending;
        // With `--summary` nothing is ever pending, and it is flushed before every
        // connection's summary: three empty writes were 85 instructions each time.
        if p.head.is_empty() && p.transitions.is_empty() && p.body.is_empty() {
            return Ok(());
        }
        self.out.write_all(p.head.as_bytes())?;
        self.out.write_all(p.transitions.as_bytes())?;
        self.out.write_all(p.body.as_bytes())?;
        p.head.clear();
        p.transitions.clear();
        p.body.clear();
        Ok(())
    }

    /// Queues `text` under the segment line, wrapped and indented.
    fn explain(&mut self, text: &str, paint: fn(&str) -> ColoredString) {
        let width = self.layout.width - INDENT;
        if let Some(line) = super::one_line(text, width, "") {
            self.pending.body.push_str(PAD);
            paint_into(self.color, &mut self.pending.body, line, paint);
            self.pending.body.push('\n');
            return;
        }
        for line in super::wrap(text, width) {
            self.pending.body.push_str(PAD);
            paint_into(self.color, &mut self.pending.body, &line, paint);
            self.pending.body.push('\n');
        }
    }

    /// [`Timeline::explain`] for a line about connection `conn` that may come under
    /// another connection's segment (the kernel's words, a TIME-WAIT that ran out):
    /// it starts with the connection's tag once lines are tagged.
    fn explain_about(&mut self, conn: ConnId, text: &str, paint: fn(&str) -> ColoredString) {
        if !self.several {
            return self.explain(text, paint);
        }
        let tag = palette::tag(conn);
        let tagged = format!("{tag} {text}");
        for (i, line) in super::wrap(&tagged, self.layout.width - INDENT).iter().enumerate() {
            self.pending.body.push_str(PAD);
            match line.strip_prefix(tag.as_str()).filter(|_| i == 0 && self.color) {
                Some(rest) => {
                    let _ = write!(self.pending.body, "{}", palette::paint(conn, &tag));
                    paint_into(true, &mut self.pending.body, rest, paint);
                }
                None => paint_into(self.color, &mut self.pending.body, line, paint),
            }
            self.pending.body.push('\n');
        }
    }

    /// Where explanations already told are remembered: the whole capture, or (with
    /// `--explain all`) each connection on its own.
    fn explained_in(&self, conn: ConnId) -> Option<ConnId> {
        (self.style.explain == Explain::All).then_some(conn)
    }

    fn segment(&mut self, ev: &SegmentEvent) -> io::Result<()> {
        self.flush_pending()?;
        if self.announced.insert(ev.conn) {
            self.several |= self.announced_any;
            self.announced_any = true;
            let (client, server) = ev.endpoints();
            let guessed = ev.notes.contains(&Note::ClientGuessed);
            let header = Msg::ConnHeader { conn: ev.conn.0, client, server, guessed };
            let line = &mut self.scratch;
            line.clear();
            line.push('\n');
            if self.color {
                // The header says the connection's number and client: in its colour,
                // the colour of its tag on every line after it.
                let painted = palette::paint(ev.conn, &self.style.lang.text(&header)).bold();
                let _ = write!(line, "{painted}");
            } else {
                self.style.lang.write(line, &header);
            }
            line.push('\n');
            if self.column_header.is_empty() {
                let columns = Msg::ColumnHeader { state: self.layout.state, arrow: self.layout.arrow };
                self.column_header = format!("{}\n", self.style.lang.text(&columns).dimmed());
            }
            line.push_str(&self.column_header);
            self.out.write_all(line.as_bytes())?;
            self.out.write_all(self.early.as_bytes())?;
            self.early.clear();
        }
        let color = self.color;
        let layout = self.layout;
        let head = &mut self.pending.head;
        // `{:>5} {:>10}  ` of the frame and the time, without core::fmt's padding:
        // every segment line starts so.
        let mut digits = itoa::Buffer::new();
        let frame = digits.format(ev.frame.0);
        head.push_str(&PAD[..5usize.saturating_sub(frame.len())]);
        head.push_str(frame);
        head.push(' ');
        let time_at = head.len();
        Fixed::<6>(ev.ts).push_to(head);
        head.insert_str(time_at, &PAD[..10usize.saturating_sub(head.len() - time_at)]);
        head.push_str("  ");
        paint_state(color, head, ev.client_state, layout);
        head.push(' ');
        // The arrow may take what the server's state leaves of its column.
        let slack = layout.state.saturating_sub(state_name(ev.server_state, layout).len());
        let whole = arrow(color, head, &mut self.scratch, ev, layout.arrow, slack);
        head.push(' ');
        paint_state(color, head, ev.server_state, Layout { state: 0, ..layout });
        head.push('\n');
        if !whole {
            // The numbers did not fit in a narrow arrow: on a line of their own.
            head.push_str(PAD);
            head.push_str(&self.scratch);
            head.push('\n');
        }

        head.push_str(PAD);
        if self.several {
            paint_into_conn(color, head, ev.conn);
            head.push(' ');
        }
        let lang = self.style.lang;
        let step_name = self.step_names.entry(ev.step).or_insert_with(|| lang.text(&Msg::StepName(ev.step)));
        paint_into(color, head, step_name, step_paint(ev.step));
        head.push_str(" · ");
        paint_into(color, head, &ev.label, |s| s.bold());
        head.push('\n');
        if !ev.payload.is_empty() {
            let (text, shown) = sanitize_within(&ev.payload, PAYLOAD_TEXT);
            let payload = Msg::Payload { text: &text, shown, total: ev.len };
            // On a terminal, wrapped as the notes are (data has no words: a long run is
            // broken); elsewhere on one line, so that a script can pick it out.
            if self.style.terminal {
                for line in super::wrap_data(&lang.text(&payload), layout.width - INDENT) {
                    head.push_str(PAD);
                    paint_into(color, head, &line, |s| s.cyan());
                    head.push('\n');
                }
            } else {
                head.push_str(PAD);
                say_into(head, lang, color, &payload, |s| s.cyan());
                head.push('\n');
            }
        }
        // A refused or stale SYN, or a reset the receiver did not take, is explained by
        // its note; the generic text (an abort, for a RST) would mislead, as it would for
        // a SYN-ACK that reaches a client with no connection.
        let told_by_note = ev.notes.iter().any(|n| n.replaces_step_words())
            || (ev.flags.syn() && ev.flags.ack() && ev.client_state == TcpState::Closed);
        // Each step is explained the first time it happens in a capture (or, with
        // `--explain all`, in each connection); a long capture would otherwise repeat
        // the same paragraphs for every connection.
        let scope = self.explained_in(ev.conn);
        if !told_by_note
            && self.style.explain != Explain::None
            && self.explained.insert((scope, ev.step, ev.dir.sender()))
        {
            let text = self.say(&Msg::StepExplain { step: ev.step, sender: ev.dir.sender(), len: ev.len });
            self.explain(&text, |s| s.normal());
        }
        let server_port = match ev.dir.sender() {
            Role::Client => ev.dst.port(),
            Role::Server => ev.src.port(),
        };
        for note in ev.notes_to_tell() {
            let until = super::time_wait_end(ev.ts, self.style.time_wait.secs());
            let full = self.style.explain != Explain::None && self.noted.insert((scope, note.name()));
            let text = if full {
                self.say(&Msg::NoteExplain { note, port: server_port, rule: self.style.time_wait, until })
            } else {
                self.say(&Msg::NoteShort { note, until })
            };
            let paint: fn(&str) -> ColoredString = match note {
                Note::TimeWait(_) => |s| s.magenta(),
                _ if note.is_trouble() => |s| s.yellow(),
                _ => |s| s.normal(),
            };
            self.explain(&format!("⚑ {text}"), paint);
        }
        Ok(())
    }

    fn transition(&mut self, t: &Transition) {
        let line = Msg::Transition { side: t.side, from: t.from, to: t.to };
        let standalone = self.pending.head.is_empty();
        self.pending.transitions.push_str(PAD);
        if standalone && self.several {
            // Under no segment of its own (a TIME-WAIT that ran out): say whose it is.
            paint_into_conn(self.color, &mut self.pending.transitions, t.conn);
            self.pending.transitions.push(' ');
        }
        say_into(&mut self.pending.transitions, self.style.lang, self.color, &line, |s| s.bold());
        self.pending.transitions.push('\n');
        if standalone && t.from == TcpState::TimeWait {
            // Seen live: the 2MSL timer ran out long after the last segment.
            let text = self.say(&Msg::TimeWaitExpired { side: t.side, ts: t.ts });
            self.explain_about(t.conn, &format!("⚙ {text}"), |s| s.magenta());
        }
    }
}

impl<W: Write> Timeline<W> {
    /// A change the kernel reported, under the segment it came after; a socket that
    /// is no captured connection's (a listener) is left out.
    fn kernel_state(&mut self, k: &crate::track::KernelState) {
        let (Some(side), Some(conn)) = (k.side, k.conn) else { return };
        let after = k.after.map(|(frame, ms)| (frame.0, ms));
        let line = Msg::KernelState { side, from: k.from.rfc(), to: k.to.rfc(), after };
        let mut text = format!("⚙ {}", self.say(&line));
        if let Some(why) = k.differs {
            let shown_at = k.shown.unwrap_or(TcpState::Closed);
            text.push_str(" — ");
            text.push_str(&self.say(&Msg::KernelDiffers { why, side, shown_at }));
        }
        if k.after.is_none() {
            // Before the connection's first segment (a connect): told under its header.
            let body = std::mem::take(&mut self.pending.body);
            self.explain_about(conn, &text, |s| s.magenta());
            let lines = std::mem::replace(&mut self.pending.body, body);
            self.early.push_str(&lines);
            return;
        }
        self.explain_about(conn, &text, |s| s.magenta());
    }
}

/// The lines under one segment line: its step (and payload), the state changes it
/// caused, then the explanations. Kept as text, reused from segment to segment.
#[derive(Default)]
struct Pending {
    head: String,
    transitions: String,
    body: String,
}

impl<W: Write> Renderer for Timeline<W> {
    fn begin(&mut self, name: &str) -> io::Result<()> {
        // Each capture is told on its own: headers and explanations start again.
        self.announced.clear();
        self.several = self.style.tag_from_start;
        self.announced_any = false;
        self.explained.clear();
        self.noted.clear();
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
                let text = match (check.listed, check.time_left, crate::source::kernel::TABLE) {
                    // Listed by a table without timers: macOS, the BSDs, Windows.
                    (true, None, Some(table)) => self.say(&Msg::KernelListed {
                        side: check.side,
                        local: check.local,
                        remote: check.remote,
                        table,
                    }),
                    _ => self.say(&Msg::KernelTimeWait {
                        side: check.side,
                        local: check.local,
                        remote: check.remote,
                        left: check.time_left,
                    }),
                };
                self.explain_about(check.conn, &format!("⚙ {text}"), |s| s.magenta());
                Ok(())
            }
            Event::KernelState(k) if self.style.timeline => {
                self.kernel_state(k);
                Ok(())
            }
            Event::Connection(summary) => {
                self.flush_pending()?;
                self.announced.remove(&summary.conn);
                if self.style.explain == Explain::All {
                    // Told for this connection alone: nothing more of it will come.
                    let conn = Some(summary.conn);
                    self.explained.retain(|(c, ..)| *c != conn);
                    self.noted.retain(|(c, _)| *c != conn);
                }
                if !self.summaries_started {
                    self.summaries_started = true;
                    writeln!(self.out, "\n{}", format!("── {} ──", self.say(&Msg::SummaryTitle)).bold())?;
                }
                self.summaries.write(&mut self.out, &self.style, summary)
            }
            _ => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_pending()?;
        self.out.flush()
    }

    fn wants_segments(&self) -> bool {
        self.style.timeline
    }

    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        self.flush_pending()?;
        write_stats(&mut self.out, &self.style, name, stats)?;
        self.out.flush()
    }

    fn table(&mut self, rows: &[crate::track::ConnSummary], secs: f64) -> io::Result<()> {
        self.flush_pending()?;
        super::table::write(&mut self.out, self.style.lang, self.color, rows, secs)?;
        self.out.flush()
    }
}

/// Appends connection `conn`'s tag, `[n]`, in its colour when colour is on.
fn paint_into_conn(color: bool, buf: &mut String, conn: ConnId) {
    if color {
        // Keyed by the palette's place, which no function's address can be.
        let place = conn.0 as usize % palette::PALETTE.len();
        let (start, end) = escapes(usize::MAX - place, || palette::paint(conn, "\0").to_string());
        buf.push_str(&start);
        palette::push_tag(buf, conn);
        buf.push_str(&end);
    } else {
        palette::push_tag(buf, conn);
    }
}

/// Appends the text of `msg` to `buf`, painted only when colour is on; without colour
/// the catalogue writes it in place, with no string of its own.
pub(super) fn say_into(
    buf: &mut String,
    lang: Lang,
    color: bool,
    msg: &Msg<'_>,
    style: fn(&str) -> ColoredString,
) {
    if color {
        paint_into(true, buf, &lang.text(msg), style);
    } else {
        lang.write(buf, msg);
    }
}

/// Appends `text` to `buf`, painted only when colour is on.
pub(super) fn paint_into(color: bool, buf: &mut String, text: &str, style: fn(&str) -> ColoredString) {
    if color {
        let (start, end) = escapes(style as usize, || style("\0").to_string());
        buf.push_str(&start);
        buf.push_str(text);
        buf.push_str(&end);
    } else {
        buf.push_str(text);
    }
}

/// The escape codes a style writes before and after its text, learnt once per style
/// (`key`) from `colored` itself, around a NUL that no text holds (`painted`): `colored`
/// would make two strings of its own for every piece it paints, which made colour cost
/// more than the rest of a segment line. Text from a packet is sanitized before, so it
/// holds no reset that `colored` would have to repeat the codes after.
fn escapes(key: usize, painted: impl FnOnce() -> String) -> (Rc<str>, Rc<str>) {
    /// A style's key, and the codes before and after its text.
    type Learnt = (usize, Rc<str>, Rc<str>);
    thread_local! {
        static LEARNT: RefCell<Vec<Learnt>> = const { RefCell::new(Vec::new()) };
    }
    LEARNT.with(|learnt| {
        let mut learnt = learnt.borrow_mut();
        if let Some((_, start, end)) = learnt.iter().find(|(k, ..)| *k == key) {
            return (start.clone(), end.clone());
        }
        let whole = painted();
        let (start, end) = whole.split_once('\0').unwrap_or(("", ""));
        let (start, end): (Rc<str>, Rc<str>) = (start.into(), end.into());
        learnt.push((key, start.clone(), end.clone()));
        (start, end)
    })
}

/// `─ [SYN] seq=0 ──────▶` or `◀────── [SYN,ACK] seq=0 ack=1 ─`, coloured by flags,
/// `width` columns long. `content` is room for the bracketed part. When the numbers
/// do not fit, the arrow holds the flags alone, `content` keeps the numbers, and this
/// returns false.
fn arrow(
    color: bool,
    out: &mut String,
    content: &mut String,
    ev: &SegmentEvent,
    width: usize,
    slack: usize,
) -> bool {
    content.clear();
    content.push('[');
    let _ = ev.flags.write_to(content);
    let flags_end = content.len();
    content.push_str("] ");
    let _ = ev.numbers().write_to(content);
    let whole = content.len() + 5 <= width + slack;
    let mut flags_only = String::new();
    let shown: &str = if whole {
        content
    } else {
        flags_only.push_str(&content[..flags_end]);
        flags_only.push(']');
        content.drain(..flags_end + 2);
        &flags_only
    };
    let fill = width.saturating_sub(shown.len() + 4).max(1);
    // Written plain in place; painted afterwards only when colour is on.
    let start = out.len();
    match ev.dir.sender() {
        Role::Client => {
            out.push_str("─ ");
            out.push_str(shown);
            out.push(' ');
            push_rule(out, fill);
            out.push('▶');
        }
        Role::Server => {
            out.push('◀');
            push_rule(out, fill);
            out.push(' ');
            out.push_str(shown);
            out.push_str(" ─");
        }
    }
    if !color {
        return whole;
    }
    let text = out.split_off(start);
    let flags = ev.flags;
    let paint: fn(&str) -> ColoredString = if flags.rst() {
        |s| s.red()
    } else if flags.syn() {
        |s| s.green()
    } else if flags.fin() {
        |s| s.blue()
    } else if ev.len > 0 {
        |s| s.cyan()
    } else {
        |s| s.normal()
    };
    paint_into(true, out, &text, paint);
    whole
}

/// Appends `n` box-drawing dashes: sliced from a ready line while it is long enough
/// (the widest layout's arrow), one three-byte character at a time only beyond it.
fn push_rule(out: &mut String, n: usize) {
    const RULE: &str = "────────────────────────────────────────────────────────────\
                        ────────────────────────────────────────────────────────────";
    const DASH: usize = '─'.len_utf8();
    let sliced = n.min(RULE.len() / DASH);
    out.push_str(&RULE[..sliced * DASH]);
    (sliced..n).for_each(|_| out.push('─'));
}

/// A state, padded to the layout's state column.
fn paint_state(color: bool, out: &mut String, state: TcpState, layout: Layout) {
    let width = layout.state;
    let text = state_name(state, layout);
    let paint: fn(&str) -> ColoredString = match state {
        TcpState::Established => |s| s.green(),
        TcpState::Closed => |s| s.dimmed(),
        TcpState::Listen | TcpState::SynSent | TcpState::SynReceived => |s| s.yellow(),
        TcpState::TimeWait => |s| s.magenta(),
        _ => |s| s.blue(),
    };
    paint_into(color, out, text, paint);
    (text.len()..width).for_each(|_| out.push(' '));
}

/// A state's name as the layout writes it: short (as `ss` and RFC 793's figure write
/// them) in a narrow terminal.
fn state_name(state: TcpState, layout: Layout) -> &'static str {
    match state {
        TcpState::Established if layout.short_states => "ESTAB",
        TcpState::SynReceived if layout.short_states => "SYN-RCVD",
        _ => state.name(),
    }
}

fn step_paint(step: Step) -> fn(&str) -> ColoredString {
    match step {
        Step::Handshake(_) | Step::SimultaneousOpen => |s| s.green().bold(),
        Step::Teardown(_) | Step::TeardownMerged | Step::SimultaneousClose => |s| s.blue().bold(),
        Step::Reset => |s| s.red().bold(),
        Step::Data | Step::Ack => |s| s.normal(),
    }
}
