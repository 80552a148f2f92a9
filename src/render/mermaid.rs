//! `--mermaid FILE`: the ladder as a Mermaid sequence diagram, for people who paste
//! diagrams into Markdown (GitHub, GitLab and most wikis draw them). Each connection is
//! a pair of participants (`C0`, `S0`, … aliased to the side and its address), each
//! segment a message with the textbook label, each state change a note over its side.
//! Every text is escaped with Mermaid's entity codes: only letters, digits and a few
//! signs that mean nothing to Mermaid go in as they are.

use super::{CaptureStats, Renderer, TextStyle, textbook};
use crate::i18n::Msg;
use crate::track::{Event, Role, SegmentEvent, Step, TcpState, Transition};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// One connection's part of the diagram.
struct Conn {
    /// The input it belongs to: connection numbers start again in each file.
    input: usize,
    id: u32,
    client: String,
    server: String,
    /// Each side's state before its first change, once known.
    initial: [Option<TcpState>; 2],
    lines: Vec<String>,
    /// The side and frame of the last line, when it is a state note.
    last_note: Option<(usize, u64)>,
}

pub struct MermaidFile {
    path: PathBuf,
    style: TextStyle,
    input: usize,
    conns: Vec<Conn>,
}

impl MermaidFile {
    /// Creates the file at once, so that a path that cannot be written fails before a
    /// capture starts; the diagram is written when an input ends.
    pub fn create(path: &Path, style: TextStyle) -> crate::Result<MermaidFile> {
        std::fs::File::create(path)
            .map_err(|e| crate::Error::Output { path: path.to_owned(), reason: e.to_string() })?;
        Ok(MermaidFile { path: path.to_owned(), style, input: 0, conns: Vec::new() })
    }

    /// Where connection `id` of the current input is in the diagram: its number there.
    fn position(&self, id: u32) -> Option<usize> {
        self.conns.iter().rposition(|c| c.input == self.input && c.id == id)
    }

    fn segment(&mut self, ev: &SegmentEvent) {
        let say = |m: &Msg<'_>| self.style.lang.text(m);
        let step = say(&Msg::StepName(ev.step));
        if self.position(ev.conn.0).is_none() {
            let (client, server) = ev.endpoints();
            self.conns.push(Conn {
                input: self.input,
                id: ev.conn.0,
                client: format!("{} {client}", say(&Msg::Side(Role::Client))),
                server: format!("{} {server}", say(&Msg::Side(Role::Server))),
                initial: [None, None],
                lines: Vec::new(),
                last_note: None,
            });
        }
        let Some(n) = self.position(ev.conn.0) else { return };
        let (from, to) = match ev.dir.sender() {
            Role::Client => (format!("C{n}"), format!("S{n}")),
            Role::Server => (format!("S{n}"), format!("C{n}")),
        };
        // Solid for the handshake and the wave, dotted for data and bare ACKs (as the
        // SVG and the page dash them), a cross at the end for a reset.
        let arrow = if ev.flags.rst() {
            "-x"
        } else if matches!(ev.step, Step::Data | Step::Ack) {
            "-->>"
        } else {
            "->>"
        };
        let frame = match self.style.lang {
            crate::i18n::Lang::Zh => format!("帧 {}", ev.frame.0),
            _ => format!("frame {}", ev.frame.0),
        };
        let mut text = format!("{step} · {} · {frame}", textbook(&ev.label));
        // TIME-WAIT is the note over the side; the others are named as in the JSON.
        for note in ev.notes_to_tell().filter(|n| !matches!(n, crate::track::Note::TimeWait(_))) {
            let _ = write!(text, " · {}", note.name());
        }
        self.conns[n].lines.push(format!("    {from}{arrow}{to}: {}", escape(&text)));
        self.conns[n].last_note = None;
    }

    fn transition(&mut self, t: &Transition) {
        let Some(n) = self.position(t.conn.0) else { return };
        let conn = &mut self.conns[n];
        let side = match t.side {
            Role::Client => 0,
            Role::Server => 1,
        };
        conn.initial[side].get_or_insert(t.from);
        let who = if side == 0 { format!("C{n}") } else { format!("S{n}") };
        // Two changes of one side on one segment (FIN-WAIT-2 on the way to TIME-WAIT)
        // are one note: `FIN-WAIT-2 → TIME-WAIT`.
        let same = conn.last_note.as_ref().is_some_and(|(s, f)| *s == side && *f == t.frame.0);
        if same && let Some(last) = conn.lines.last_mut() {
            last.push_str(&escape(&format!(" → {}", t.to.name())));
        } else {
            conn.lines.push(format!("    Note over {who}: {}", escape(t.to.name())));
        }
        conn.last_note = Some((side, t.frame.0));
    }

    fn diagram(&self) -> String {
        let mut out = String::from("sequenceDiagram\n");
        for (n, conn) in self.conns.iter().enumerate() {
            let _ = writeln!(out, "    participant C{n} as {}", escape(&conn.client));
            let _ = writeln!(out, "    participant S{n} as {}", escape(&conn.server));
        }
        for (n, conn) in self.conns.iter().enumerate() {
            for (side, who) in [(0, "C"), (1, "S")] {
                if let Some(state) = conn.initial[side] {
                    let _ = writeln!(out, "    Note over {who}{n}: {}", escape(state.name()));
                }
            }
            for line in &conn.lines {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// Mermaid's entity codes (`#58;` for `:`) for every character that could end a
/// message, open a directive or a comment, or break the line; letters (any script),
/// digits, spaces and `= + - . , ( ) / _ · → ×` stay as they are.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push(' ');
        } else if c.is_alphanumeric() || " =+-.,()/_·→×".contains(c) || (!c.is_ascii() && !c.is_whitespace())
        {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", u32::from(c));
        }
    }
    out
}

impl Renderer for MermaidFile {
    fn begin(&mut self, _name: &str) -> io::Result<()> {
        Ok(())
    }
    fn event(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Segment(ev) => self.segment(ev),
            Event::Transition(t) => self.transition(t),
            _ => {}
        }
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn end(&mut self, _name: &str, _stats: &CaptureStats) -> io::Result<()> {
        self.input += 1;
        std::fs::write(&self.path, self.diagram())
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn nothing_from_a_capture_can_end_a_message_or_start_a_directive() {
        let hostile = "a;b:c#d%%{init}%% e\nNote over C0: x</script>`[1]\u{1b}[31m";
        let safe = escape(hostile);
        assert!(!safe.contains('\n') && !safe.contains('\u{1b}'), "{safe}");
        // Every `#` and `;` left is part of an entity code such as `#58;`.
        let without_codes: String =
            safe.split('#').skip(1).map(|part| part.split_once(';').map_or("", |(_, rest)| rest)).collect();
        for c in [':', ';', '%', '{', '<', '`', '['] {
            assert!(
                !without_codes.contains(c) && !safe.split('#').next().unwrap().contains(c),
                "{c} in {safe}"
            );
        }
        assert_eq!(
            escape("SYN=1 ACK=1 seq=y ack=x+1 · 第二次握手"),
            "SYN=1 ACK=1 seq=y ack=x+1 · 第二次握手"
        );
        assert_eq!(escape("127.0.0.1:80"), "127.0.0.1#58;80");
    }
}
