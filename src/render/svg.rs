//! The ladder as a self-contained SVG for slides: same lanes, labels and states as the
//! terminal ladder, sized to read on a projector. Written when the input ends.

use super::glyphs::{CjkFont, draw_cjk};
use super::{CaptureStats, Renderer, TextStyle, textbook};
use crate::cli::Aspect;
use crate::i18n::Msg;
use crate::track::{ConnId, Event, Note, Role, SegmentEvent, Step, TcpState, Transition};
use std::fmt::Write as _;
use std::io;

const WIDTH: u32 = 960;
const LEFT_LANE: u32 = 300;
const RIGHT_LANE: u32 = 660;
/// Height of a handshake or wave segment's row, and of a data or ACK row.
const ROW: u32 = 72;
const SMALL_ROW: u32 = 34;
/// How far an arrow drops while it crosses: time flows down.
const DROP: u32 = 18;
/// The height of a line of notes under an arrow.
const NOTE_LINE: u32 = 18;
const FONT: &str = "DejaVu Sans, Noto Sans CJK SC, Noto Sans SC, sans-serif";

/// One connection's segments, with the transitions each caused.
struct Drawing {
    conn: ConnId,
    client: std::net::SocketAddr,
    server: std::net::SocketAddr,
    rows: Vec<(SegmentEvent, Vec<Transition>)>,
}

pub struct SvgLadder {
    /// Opened when the renderer is made, so that a path that cannot be written is
    /// reported before a capture starts, not after it.
    file: std::fs::File,
    style: TextStyle,
    drawings: Vec<Drawing>,
    /// The shape of the page (`--aspect`), the ladder centred in it.
    aspect: Option<Aspect>,
    /// Where Chinese labels are drawn as outlines (`--lang zh`, a CJK font found).
    cjk: Option<CjkFont>,
}

impl SvgLadder {
    /// Creates the file at `path` (as the user the capture runs as, once privileges
    /// are dropped); the drawing is written into it at the end.
    pub fn create(path: &std::path::Path, style: TextStyle) -> crate::Result<SvgLadder> {
        let file = std::fs::File::create(path)
            .map_err(|e| crate::Error::Output { path: path.to_owned(), reason: e.to_string() })?;
        let cjk = if style.lang == crate::i18n::Lang::Zh { CjkFont::find() } else { None };
        Ok(SvgLadder { file, style, drawings: Vec::new(), aspect: None, cjk })
    }

    /// Gives the page the shape of a slide (`--aspect 16:9`).
    pub fn with_aspect(mut self, aspect: Option<Aspect>) -> SvgLadder {
        self.aspect = aspect;
        self
    }

    /// The whole document.
    pub fn svg(&self) -> String {
        let say = |m: &Msg<'_>| self.style.lang.text(m);
        let mut body = String::new();
        let mut y = 40;
        // Several connections: each is marked with its own colour (a band beside it,
        // its lanes), as the terminal tags its lines; a lone one stays black on white.
        let several = self.drawings.len() > 1;
        for d in &self.drawings {
            let own = several.then(|| super::palette::color_of(d.conn).hex);
            y = self.draw(&mut body, d, y, own, &say);
            y += 40;
        }
        // The page: the drawing's own size, or a slide's shape around it, the drawing
        // centred (the view box starts left of and above it by half the margin).
        let (width, height) = (f64::from(WIDTH), f64::from(y));
        let (page_w, page_h) = match self.aspect {
            Some(a) if height * a.width / a.height > width => (height * a.width / a.height, height),
            Some(a) => (width, width * a.height / a.width),
            None => (width, height),
        };
        let (x0, y0) = (-(page_w - width) / 2.0, -(page_h - height) / 2.0);
        let (page_w, page_h) = (page_w.round(), page_h.round());
        // (+ 0.0: an empty margin is 0, not -0.)
        let (x0, y0) = (x0.round() + 0.0, y0.round() + 0.0);
        let mut out = String::new();
        let _ = write!(
            out,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{page_w}" height="{page_h}" viewBox="{x0} {y0} {page_w} {page_h}" font-family="{FONT}">
<defs>
  <marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker>
</defs>
<rect x="{x0}" y="{y0}" width="{page_w}" height="{page_h}" fill="white"/>
{body}</svg>
"##
        );
        match &self.cjk {
            Some(font) => draw_cjk(&out, font),
            None => out,
        }
    }

    fn draw(
        &self,
        out: &mut String,
        d: &Drawing,
        top: u32,
        own: Option<&str>,
        say: &dyn Fn(&Msg<'_>) -> String,
    ) -> u32 {
        let title =
            say(&Msg::ConnHeader { conn: d.conn.0, client: d.client, server: d.server, guessed: false });
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{top}" font-size="20" font-weight="bold" text-anchor="middle">{}</text>"#,
            WIDTH / 2,
            esc(&title)
        );
        let heads = top + 36;
        for (x, role) in [(LEFT_LANE, Role::Client), (RIGHT_LANE, Role::Server)] {
            let _ = writeln!(
                out,
                r#"<text x="{x}" y="{heads}" font-size="18" font-weight="bold" text-anchor="middle">{}</text>"#,
                esc(&say(&Msg::Side(role)))
            );
        }
        let mut y = heads + 30;
        let lanes_top = y - 12;
        // Initial states, as the figure writes them at the top of each lane.
        if let Some((first, transitions)) = d.rows.first() {
            let (client, server) = first.states_before(transitions);
            state(out, Role::Client, client, y);
            state(out, Role::Server, server, y);
        }
        y += 26;
        // Each end that entered TIME-WAIT: where, and when.
        let mut time_waits: Vec<(Role, u32, f64)> = Vec::new();
        for (ev, transitions) in &d.rows {
            let routine = matches!(ev.step, Step::Data | Step::Ack);
            // What Wireshark's analysis says of this segment, in a few words under it;
            // and that a stray segment was sent by no connection.
            let stray = ev.notes.contains(&Note::StraySyn);
            let notes: Vec<String> = ev
                .notes_to_tell()
                .filter(|n| n.is_analysis() || *n == Note::StraySyn)
                .map(|note| format!("⚑ {}", say(&Msg::NoteShort { note, until: ev.ts })))
                .collect();
            let height = if routine { SMALL_ROW } else { ROW } + NOTE_LINE * notes.len() as u32;
            let (x1, x2) = match ev.dir.sender() {
                Role::Client => (LEFT_LANE, RIGHT_LANE),
                Role::Server => (RIGHT_LANE, LEFT_LANE),
            };
            let color = if ev.flags.rst() {
                "#c62828"
            } else if ev.flags.syn() {
                "#2e7d32"
            } else if ev.flags.fin() {
                "#1565c0"
            } else {
                "#757575"
            };
            let (ay1, ay2) = (y + 14, y + 14 + if routine { DROP / 2 } else { DROP });
            let dash = if stray {
                r#" stroke-dasharray="2 5""#
            } else if routine {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r#"<line x1="{x1}" y1="{ay1}" x2="{x2}" y2="{ay2}" stroke="{color}" stroke-width="2.5"{dash} marker-end="url(#head)"/>"#
            );
            let mid = (LEFT_LANE + RIGHT_LANE) / 2;
            let mut real = format!("#{} [{}] {}", ev.frame.0, ev.flags, ev.numbers());
            if routine && !ev.payload.is_empty() {
                // The payload's first bytes, as the terminal ladder shows them (`esc`
                // below makes them safe).
                let text: String = String::from_utf8_lossy(&ev.payload).chars().take(10).collect();
                real += &format!(" “{text}…”");
            }
            if routine {
                let _ = writeln!(
                    out,
                    r##"<text x="{mid}" y="{}" font-size="13" fill="#555" text-anchor="middle"{}>{}</text>"##,
                    y + 10,
                    fit(&real, 13.0),
                    esc(&real)
                );
            } else {
                let label = textbook(&ev.label);
                let _ = writeln!(
                    out,
                    r#"<text x="{mid}" y="{}" font-size="17" fill="{color}" font-weight="bold" text-anchor="middle"{}>{}</text>"#,
                    y + 8,
                    fit(&label, 17.0),
                    esc(&label)
                );
                let under = format!("{} · {real}", say(&Msg::StepName(ev.step)));
                let _ = writeln!(
                    out,
                    r##"<text x="{mid}" y="{}" font-size="13" fill="#555" text-anchor="middle"{}>{}</text>"##,
                    ay2 + 20,
                    fit(&under, 13.0),
                    esc(&under)
                );
            }
            let notes_top = if routine { ay2 + 16 } else { ay2 + 38 };
            for (i, note) in notes.iter().enumerate() {
                let _ = writeln!(
                    out,
                    r##"<text x="{mid}" y="{}" font-size="13" fill="#b26a00" text-anchor="middle"{}>{}</text>"##,
                    notes_top + NOTE_LINE * i as u32,
                    fit(note, 13.0),
                    esc(note)
                );
            }
            // An end that changes twice on one segment (FIN-WAIT-1 → FIN-WAIT-2 →
            // TIME-WAIT as a FIN,ACK arrives) gets one label with its path, never two
            // labels on top of each other.
            for side in [Role::Client, Role::Server] {
                let path: Vec<TcpState> =
                    transitions.iter().filter(|t| t.side == side).map(|t| t.to).collect();
                if let Some(&last) = path.last() {
                    let names: Vec<&str> = path.iter().map(|s| s.name()).collect();
                    state_text(out, side, last, &names.join(" → "), ay2 + 4);
                }
            }
            for t in transitions.iter().filter(|t| t.to == TcpState::TimeWait) {
                time_waits.push((t.side, ay2, ev.ts));
            }
            y += height;
        }
        // The notes on TIME-WAIT go below the last arrow, one under the other, so that
        // they never cross an arrow drawn after a TIME-WAIT began.
        let notes_top = y + 12;
        let lanes_bottom =
            notes_top + 44 * time_waits.len() as u32 + if time_waits.is_empty() { 0 } else { 30 };
        let (lane_color, lane_width) = own.map_or(("#222", 2), |hex| (hex, 4));
        for x in [LEFT_LANE, RIGHT_LANE] {
            let _ = writeln!(
                out,
                r#"<line x1="{x}" y1="{lanes_top}" x2="{x}" y2="{lanes_bottom}" stroke="{lane_color}" stroke-width="{lane_width}"/>"#
            );
        }
        if let Some(hex) = own {
            let band_top = top.saturating_sub(22);
            let _ = writeln!(
                out,
                r#"<rect class="conn-band" x="16" y="{band_top}" width="10" height="{}" fill="{hex}"/>"#,
                lanes_bottom - band_top
            );
        }
        for (i, (side, from, entered)) in time_waits.into_iter().enumerate() {
            let x = match side {
                Role::Client => LEFT_LANE,
                Role::Server => RIGHT_LANE,
            };
            let end = lanes_bottom - 24;
            let _ = writeln!(
                out,
                r##"<rect x="{}" y="{from}" width="10" height="{}" fill="#8e24aa"/>"##,
                x - 5,
                end - from
            );
            let secs = self.style.time_wait.secs();
            let note = say(&Msg::LadderTimeWait {
                rule: self.style.time_wait,
                until: super::time_wait_end(entered, secs),
            });
            let (tx, anchor) = match side {
                Role::Client => (x + 14, "start"),
                Role::Server => (x - 14, "end"),
            };
            // Two lines, so the note stays between the lanes.
            let first_line = notes_top + 14 + 44 * i as u32;
            for (line, part) in note.splitn(2, ['；', ';']).enumerate() {
                let line_y = first_line + line as u32 * 18;
                let _ = writeln!(
                    out,
                    r##"<text x="{tx}" y="{line_y}" font-size="14" fill="#8e24aa" text-anchor="{anchor}"{}>{}</text>"##,
                    fit_in(part.trim(), 14.0, BETWEEN_LANES - 14.0),
                    esc(part.trim())
                );
            }
            state(out, side, TcpState::Closed, end + 4);
        }
        lanes_bottom
    }
}

/// A state written beside its lane.
fn state(out: &mut String, side: Role, state: TcpState, y: u32) {
    state_text(out, side, state, state.name(), y)
}

/// `text` written beside the lane of `side`, in the colour of `state`.
fn state_text(out: &mut String, side: Role, state: TcpState, text: &str, y: u32) {
    let (x, anchor) = match side {
        Role::Client => (LEFT_LANE - 12, "end"),
        Role::Server => (RIGHT_LANE + 12, "start"),
    };
    let color = match state {
        TcpState::Established => "#2e7d32",
        TcpState::TimeWait => "#8e24aa",
        TcpState::Closed => "#757575",
        _ => "#e65100",
    };
    let _ = writeln!(
        out,
        r#"<text x="{x}" y="{y}" font-size="16" font-weight="bold" fill="{color}" text-anchor="{anchor}">{}</text>"#,
        esc(text)
    );
}

/// The room between the lanes for a label, with a margin on each side.
const BETWEEN_LANES: f64 = (RIGHT_LANE - LEFT_LANE - 30) as f64;

/// For a label that would run into the lanes at `size` px, the attributes that make
/// the renderer fit it to the room between them; nothing for one that fits. The width
/// is estimated from the font's average advance (0.62 em, a CJK glyph 1 em).
fn fit(text: &str, size: f64) -> String {
    fit_in(text, size, BETWEEN_LANES)
}

/// [`fit`] to `room` pixels.
fn fit_in(text: &str, size: f64, room: f64) -> String {
    let ems: f64 = text.chars().map(|c| if c.is_ascii() { 0.62 } else { 1.0 }).sum();
    if ems * size <= room {
        return String::new();
    }
    format!(r#" textLength="{room}" lengthAdjust="spacingAndGlyphs""#)
}

/// Text safe inside an SVG element.
fn esc(s: &str) -> String {
    let clean = super::sanitize::sanitize(s.as_bytes());
    clean.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Renderer for SvgLadder {
    fn begin(&mut self, _name: &str) -> io::Result<()> {
        Ok(())
    }

    fn event(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Segment(ev) => {
                let index = match self.drawings.iter().position(|d| d.conn == ev.conn) {
                    Some(i) => i,
                    None => {
                        let (client, server) = ev.endpoints();
                        self.drawings.push(Drawing { conn: ev.conn, client, server, rows: Vec::new() });
                        self.drawings.len() - 1
                    }
                };
                self.drawings[index].rows.push((ev.clone(), Vec::new()));
            }
            Event::Transition(t) => {
                if let Some(row) =
                    self.drawings.iter_mut().find(|d| d.conn == t.conn).and_then(|d| d.rows.last_mut())
                    && row.0.frame == t.frame
                {
                    row.1.push(t.clone());
                }
            }
            Event::Connection(_) | Event::Kernel(_) | Event::KernelState(_) => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn end(&mut self, _name: &str, _stats: &CaptureStats) -> io::Result<()> {
        // Each input file ends with the drawing of all so far: the last one stays.
        use std::io::{Seek, Write};
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(self.svg().as_bytes())?;
        self.file.flush()
    }
}
