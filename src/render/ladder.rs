//! The ladder diagram: the document's Figure 2 drawn from real packets. The client's
//! lane on the left, the server's on the right, time flowing down, one arrow per
//! segment labelled with the textbook symbols, each end's state written beside its
//! lane where it changes, TIME-WAIT drawn on the lane that holds it.

use super::sanitize::sanitize;
use super::{CaptureStats, Renderer, TextStyle, textbook};
use crate::i18n::Msg;
use crate::track::{ConnId, Event, Note, Role, SegmentEvent, Step, TcpState, Transition};
use colored::Colorize;
use std::io::{self, Write};

/// Width of the state column on each side of the lanes, at 80 columns.
const STATE: usize = 13;
/// Width between the two lanes, at 80 columns.
const LANE: usize = 50;

/// The ladder's columns at one width: state, lane, middle, lane, state.
#[derive(Debug, Clone, Copy)]
struct Layout {
    state: usize,
    lane: usize,
    /// States written short (ESTAB, SYN-RCVD) to fit ten columns.
    short_states: bool,
}

impl Layout {
    fn for_width(width: usize) -> Layout {
        let width = width.clamp(super::fit::NARROWEST, super::fit::WIDEST);
        if width >= 80 {
            // Wider than 80, the lanes part further, up to where an arrow still reads.
            Layout { state: STATE, lane: (LANE + width - 80).min(70), short_states: false }
        } else {
            Layout { state: 10, lane: width - 24, short_states: true }
        }
    }
}

/// The characters a ladder is drawn with.
#[derive(Debug, Clone, Copy)]
pub struct Glyphs {
    pub lane: &'static str,
    pub held: &'static str,
    pub line: &'static str,
    pub right: &'static str,
    pub left: &'static str,
    pub data: &'static str,
    /// Marks a note under an arrow.
    pub note: &'static str,
    /// Marks a lane where the kernel reported a change of that end (`--kernel`).
    pub kernel: &'static str,
}

impl Glyphs {
    pub const UNICODE: Glyphs =
        Glyphs {
            lane: "│", held: "┃", line: "─", right: "▶", left: "◀", data: "┄", note: "⚑", kernel: "⚙"
        };
    pub const ASCII: Glyphs =
        Glyphs { lane: "|", held: "#", line: "-", right: ">", left: "<", data: ".", note: "!", kernel: "*" };
}

pub struct Ladder<W: Write> {
    out: W,
    style: TextStyle,
    glyphs: Glyphs,
    current: Option<ConnId>,
    /// The last segment, held until its transitions have arrived.
    pending: Option<(SegmentEvent, Vec<Transition>)>,
    /// Which ends of the current connection are in TIME-WAIT: their lanes stay thick
    /// until the connection's summary (or the timer's end, live) closes them.
    lingering: [bool; 2],
    /// The ends whose kernel reported a change after the pending segment: their lane
    /// carries a mark on that segment's arrow row.
    marks: [bool; 2],
    /// The first connection drawn, and whether another has come since (or the capture
    /// is live): from then on each connection's header and lanes take its colour.
    first: Option<ConnId>,
    several: bool,
    layout: Layout,
}

impl<W: Write> Ladder<W> {
    pub fn new(out: W, style: TextStyle, glyphs: Glyphs) -> Ladder<W> {
        let layout = Layout::for_width(style.width);
        Ladder {
            out,
            style,
            glyphs,
            current: None,
            pending: None,
            lingering: [false; 2],
            marks: [false; 2],
            first: None,
            several: style.tag_from_start,
            layout,
        }
    }

    /// A state as this layout writes it, coloured.
    fn paint(&self, state: TcpState) -> String {
        paint(state, self.layout.short_states)
    }

    fn say(&self, msg: &Msg<'_>) -> String {
        self.style.lang.text(msg)
    }

    /// One row: left state, client lane, middle, server lane, right state.
    fn row(&mut self, left: &str, middle: &str, right: &str, held: [bool; 2]) -> io::Result<()> {
        let g = self.glyphs;
        let marks = std::mem::take(&mut self.marks);
        let lane = |i: usize| match (marks[i], held[i]) {
            (true, _) => g.kernel,
            (false, true) => g.held,
            (false, false) => g.lane,
        };
        let middle = fit(middle, self.layout.lane);
        // The lanes in the connection's colour, once there are several to tell apart.
        let own = self.current.filter(|_| self.several);
        let lane = |i: usize| match own {
            Some(conn) => super::palette::paint(conn, lane(i)).to_string(),
            None => lane(i).to_string(),
        };
        let row = format!("{} {}{middle}{} {right}", pad_left(left, self.layout.state), lane(0), lane(1));
        writeln!(self.out, "{}", row.trim_end())
    }

    fn header(&mut self, ev: &SegmentEvent, transitions: &[Transition]) -> io::Result<()> {
        let (client, server) = ev.endpoints();
        let head = self.say(&Msg::ConnHeader { conn: ev.conn.0, client, server, guessed: false });
        let head = if self.several { super::palette::paint(ev.conn, &head).bold() } else { head.bold() };
        writeln!(self.out, "\n{head}")?;
        let c = self.say(&Msg::Side(Role::Client));
        let s = self.say(&Msg::Side(Role::Server));
        // Each name stands over its own lane.
        writeln!(self.out, "{}{}{s}", pad_left(&c, self.layout.state + 2), " ".repeat(self.layout.lane))?;
        let (c0, s0) = ev.states_before(transitions);
        self.row(&self.paint(c0), "", &self.paint(s0), [false, false])
    }

    fn draw(&mut self, ev: SegmentEvent, transitions: Vec<Transition>) -> io::Result<()> {
        // Kept for the arrow's row: the header's rows must not take them.
        let marks = std::mem::take(&mut self.marks);
        if self.current != Some(ev.conn) {
            self.several |= self.first.is_some_and(|first| first != ev.conn);
            self.first.get_or_insert(ev.conn);
            self.close_time_waits()?;
            self.current = Some(ev.conn);
            self.header(&ev, &transitions)?;
        }
        let g = self.glyphs;
        let changed = |role: Role| transitions.iter().any(|t| t.side == role);
        let left = if changed(Role::Client) { self.paint(ev.client_state) } else { String::new() };
        let right = if changed(Role::Server) { self.paint(ev.server_state) } else { String::new() };
        let lane = self.layout.lane;
        let held = [ev.client_state == TcpState::TimeWait, ev.server_state == TcpState::TimeWait];
        let routine = matches!(ev.step, Step::Data | Step::Ack);
        let real = format!("#{} {}", ev.frame.0, ev.numbers());
        if routine {
            // Data and plain ACKs stay on one dotted line, with their real numbers.
            let mut text = format!("{} {real}", ev.flags);
            if !ev.payload.is_empty() {
                text += &format!(" \"{}\"", sanitize(&ev.payload));
            }
            let arrow = arrow(&text, ev.dir.sender(), g.data, g, lane);
            self.marks = marks;
            self.row(&left, &arrow.dimmed().to_string(), &right, held)?;
        } else {
            // A stray segment (no socket sent it) is drawn dotted, as no exchange of the
            // connection's: its note says why.
            let line = if ev.notes.contains(&Note::StraySyn) { g.data } else { g.line };
            let arrow = arrow(&textbook(&ev.label), ev.dir.sender(), line, g, lane);
            let painted = if ev.flags.rst() {
                arrow.red().to_string()
            } else if ev.flags.syn() {
                arrow.green().to_string()
            } else {
                arrow.blue().to_string()
            };
            self.marks = marks;
            self.row(&left, &painted, &right, held)?;
            let step = self.say(&Msg::StepName(ev.step));
            for line in super::wrap(&format!("{step} · {real}"), lane) {
                self.row("", &center(&line, lane).dimmed().to_string(), "", held)?;
            }
        }
        // What Wireshark's analysis says, in a few words, under the arrow; and that a
        // stray segment was sent by no connection.
        for note in ev.notes_to_tell().filter(|n| n.is_analysis() || *n == Note::StraySyn) {
            let text = self.say(&Msg::NoteShort { note, until: ev.ts });
            // Wrapped, never cut, in a narrow lane.
            for line in super::wrap(&format!("{} {text}", g.note), lane) {
                let under = center(&line, lane);
                let painted = if note.is_trouble() { under.yellow() } else { under.normal() };
                self.row("", &painted.to_string(), "", held)?;
            }
        }
        for t in transitions.iter().filter(|t| t.to == TcpState::TimeWait) {
            self.time_wait(t.side, ev.ts)?;
        }
        Ok(())
    }

    /// TIME-WAIT as a thick stretch of the holder's lane, with its length; the
    /// lane stays thick until [`Ladder::close_time_waits`].
    fn time_wait(&mut self, side: Role, ts: f64) -> io::Result<()> {
        let secs = self.style.time_wait.secs();
        self.lingering[side.index()] = true;
        let held = self.lingering;
        let note = self
            .say(&Msg::LadderTimeWait { rule: self.style.time_wait, until: super::time_wait_end(ts, secs) });
        let lane = self.layout.lane;
        let lines = super::wrap(&note, lane - 4);
        for line in &lines {
            let text = match side {
                Role::Client => format!("  {line}"),
                Role::Server => format!("{}  ", pad_left(line, lane - 2)),
            };
            self.row("", &text.magenta().to_string(), "", held)?;
        }
        Ok(())
    }

    /// The end of every TIME-WAIT of the current connection, once nothing more of it
    /// will be drawn: CLOSED on the holders' lanes.
    fn close_time_waits(&mut self) -> io::Result<()> {
        if self.lingering == [false; 2] {
            return Ok(());
        }
        let closed = self.paint(TcpState::Closed);
        let [client, server] = self.lingering.map(|l| if l { closed.as_str() } else { "" });
        let row = (client.to_owned(), server.to_owned());
        self.lingering = [false; 2];
        self.row(&row.0, "", &row.1, [false, false])
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        if let Some((ev, transitions)) = self.pending.take() {
            self.draw(ev, transitions)?;
        }
        self.marks = [false; 2];
        Ok(())
    }
}

impl<W: Write> Renderer for Ladder<W> {
    fn begin(&mut self, _name: &str) -> io::Result<()> {
        // The file's heading comes from the summary view drawn with the ladder.
        self.current = None;
        self.first = None;
        self.several = self.style.tag_from_start;
        Ok(())
    }

    fn event(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Segment(ev) => {
                self.flush_pending()?;
                self.pending = Some((ev.clone(), Vec::new()));
                Ok(())
            }
            Event::Transition(t) => {
                match &mut self.pending {
                    Some((ev, transitions)) if ev.frame == t.frame && ev.conn == t.conn => {
                        transitions.push(t.clone())
                    }
                    _ => {
                        // A TIME-WAIT that ran out while watching live.
                        self.flush_pending()?;
                        if self.current == Some(t.conn) {
                            self.lingering[t.side.index()] = false;
                        }
                        let state = self.paint(t.to);
                        match t.side {
                            Role::Client => self.row(&state, "", "", [false, false])?,
                            Role::Server => self.row("", "", &state, [false, false])?,
                        }
                    }
                }
                Ok(())
            }
            Event::Connection(summary) => {
                self.flush_pending()?;
                if self.current == Some(summary.conn) {
                    self.close_time_waits()?;
                }
                Ok(())
            }
            Event::Kernel(_) => self.flush_pending(),
            // The kernel's words are the timeline's; the figure only marks the lane.
            Event::KernelState(k) => {
                let (Some(conn), Some(side)) = (k.conn, k.side) else { return Ok(()) };
                match &self.pending {
                    // On the row of the segment it came after…
                    Some((ev, _)) if ev.conn == conn => self.marks[side.index()] = true,
                    // …or, that row drawn already (live), on a row of its own.
                    None if self.current == Some(conn) => {
                        self.marks[side.index()] = true;
                        self.row("", "", "", self.lingering)?;
                    }
                    _ => {}
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_pending()?;
        self.out.flush()
    }

    fn end(&mut self, _name: &str, _stats: &CaptureStats) -> io::Result<()> {
        self.flush_pending()?;
        self.close_time_waits()?;
        self.out.flush()
    }
}

/// An arrow `lane` columns long with `text` in it, pointing away from `from`.
fn arrow(text: &str, from: Role, line: &str, g: Glyphs, lane: usize) -> String {
    let text = cut(text, lane - 6);
    let free = lane.saturating_sub(width(&text) + 3);
    let (before, after) = (free / 2, free - free / 2);
    match from {
        Role::Client => format!("{} {text} {}{}", line.repeat(before), line.repeat(after), g.right),
        Role::Server => format!("{}{} {text} {}", g.left, line.repeat(before), line.repeat(after)),
    }
}

fn paint(state: TcpState, short: bool) -> String {
    let name = match state {
        // Written as `ss` and RFC 793's figure do, in a narrow terminal.
        TcpState::Established if short => "ESTAB",
        TcpState::SynReceived if short => "SYN-RCVD",
        _ => state.name(),
    };
    match state {
        TcpState::Established => name.green().to_string(),
        TcpState::TimeWait => name.magenta().bold().to_string(),
        TcpState::Closed => name.dimmed().to_string(),
        _ => name.yellow().to_string(),
    }
}

/// Display width, without colour codes (which take no columns).
fn width(s: &str) -> usize {
    textwrap::core::display_width(s)
}

/// `s` padded or cut to exactly `w` columns.
fn fit(s: &str, w: usize) -> String {
    let s = cut(s, w);
    let pad = w.saturating_sub(width(&s));
    format!("{s}{}", " ".repeat(pad))
}

/// `s` cut to at most `w` columns, with `…` where it was cut.
fn cut(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if width(&out) + width(&c.to_string()) > w.saturating_sub(1) {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` right-aligned in `w` columns.
fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

fn center(s: &str, w: usize) -> String {
    let have = width(s).min(w);
    format!("{}{s}", " ".repeat((w - have) / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_labels_write_flags_as_bits() {
        assert_eq!(textbook("SYN,ACK seq=y ack=x+1"), "SYN=1 ACK=1 seq=y ack=x+1");
        assert_eq!(textbook("FIN seq=u"), "FIN=1 seq=u");
    }

    #[test]
    fn arrows_fill_the_lane_exactly() {
        for from in [Role::Client, Role::Server] {
            let a = arrow("SYN=1 seq=x", from, "─", Glyphs::UNICODE, LANE);
            assert_eq!(width(&a), LANE, "{a}");
        }
        assert_eq!(width(&fit("a very long label that does not fit in the lane at all, really", 20)), 20);
    }
}
