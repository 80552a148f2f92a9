//! Pacing for a lecture: a renderer that wraps another and holds each segment back —
//! until a key (`--step`), for the capture's own gap scaled (`--speed`), or until the
//! class has guessed both ends' next states (`--quiz`).
//!
//! On a terminal `--step` reads single keys (raw mode, see [`keys`]) and can go back:
//! everything the wrapped renderer wrote is kept ([`Screen`]), so a step back redraws
//! the screen up to the segment before. From a pipe it reads lines.

use super::{CaptureStats, Renderer};
use crate::i18n::{Lang, Msg};
use crate::source::FrameNumber;
use crate::track::{Event, Role, SegmentEvent, TcpState};
use std::cell::RefCell;
use std::io::{self, BufRead, Write};
use std::rc::Rc;
use std::time::Duration;

/// How the segments are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Wait for Enter before each segment after the first.
    pub step: bool,
    /// Replay the capture's timing scaled by this factor (0.1 = ten times slower);
    /// 0 means as fast as possible.
    pub speed: f64,
    /// Ask for both ends' states before revealing each segment.
    pub quiz: bool,
}

impl Pacing {
    pub fn is_paced(&self) -> bool {
        self.step || self.quiz || self.speed > 0.0
    }
}

/// The longest pause `--speed` makes between two segments, so that a capture with
/// an idle minute does not freeze a lecture.
const LONGEST_PAUSE: Duration = Duration::from_secs(10);

/// What the wrapped renderer has written to the terminal, and where each segment
/// began in it, so that `--step` can go back.
#[derive(Debug, Default)]
pub struct Screen {
    /// Every byte written so far (see [`Recorder`]).
    record: Rc<RefCell<Vec<u8>>>,
    /// Where in `record` each segment shown began.
    marks: Vec<usize>,
    /// How many segments are on the screen: fewer than `marks` after a step back.
    at: usize,
}

impl Screen {
    /// A screen that keeps what `recorder` passes on, if it keeps anything.
    pub fn of(recorder: &Recorder<impl Write>) -> Option<Screen> {
        let record = Rc::clone(recorder.record.as_ref()?);
        Some(Screen { record, marks: Vec::new(), at: 0 })
    }

    /// Where the text of the first `segments` segments ends.
    fn end_of(&self, segments: usize) -> usize {
        self.marks.get(segments).copied().unwrap_or_else(|| self.record.borrow().len())
    }
}

/// A writer that passes everything on and, when asked to, keeps a copy for
/// [`Screen`] (only for `--step` on a terminal: a replay's whole output is not kept).
pub struct Recorder<W: Write> {
    out: W,
    record: Option<Rc<RefCell<Vec<u8>>>>,
}

impl<W: Write> Recorder<W> {
    pub fn new(out: W, keep: bool) -> Recorder<W> {
        Recorder { out, record: keep.then(Rc::default) }
    }
}

impl<W: Write> Write for Recorder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(record) = &self.record {
            record.borrow_mut().extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

pub struct Paced<R: Renderer, I: BufRead, P: Write> {
    inner: R,
    pacing: Pacing,
    lang: Lang,
    input: I,
    prompt: P,
    /// Set when `--step` reads single keys from a terminal.
    screen: Option<Screen>,
    /// Ctrl-C was pressed: no more segments, only the summary of those shown.
    stopped: bool,
    last_shown: Option<FrameNumber>,
    last_ts: Option<f64>,
    shown: u64,
    right: u64,
    asked: u64,
}

impl<R: Renderer, I: BufRead, P: Write> Paced<R, I, P> {
    pub fn new(inner: R, pacing: Pacing, lang: Lang, input: I, prompt: P) -> Self {
        Paced {
            inner,
            pacing,
            lang,
            input,
            prompt,
            screen: None,
            stopped: false,
            last_shown: None,
            last_ts: None,
            shown: 0,
            right: 0,
            asked: 0,
        }
    }

    /// `--step` reads single keys from the terminal, and `screen` keeps what the wrapped
    /// renderer shows there. The prompts (`P`) must go to the same terminal.
    pub fn on_terminal(mut self, screen: Screen) -> Self {
        self.screen = Some(screen);
        self
    }

    /// Waits for a key on the terminal before the next segment, going back and forth
    /// through the segments already shown. Returns false when Ctrl-C stopped the steps.
    fn step_on_terminal(&mut self) -> io::Result<bool> {
        let prompt = self.lang.text(&Msg::StepKeys);
        loop {
            let key = keys::read_after(&mut self.prompt, &prompt);
            // The prompt's line is taken back whatever the key, so that no prompt is
            // left between two segments.
            keys::erase_line(&mut self.prompt)?;
            let Some(screen) = self.screen.as_mut() else { return Ok(true) };
            match key? {
                keys::Key::Next if screen.at < screen.marks.len() => {
                    // Forward through segments already drawn: from what was kept.
                    let (from, to) = (screen.end_of(screen.at), screen.end_of(screen.at + 1));
                    screen.at += 1;
                    let text = screen.record.borrow()[from..to].to_vec();
                    self.prompt.write_all(&text)?;
                }
                keys::Key::Next => return Ok(true),
                keys::Key::Back => {
                    if screen.at > 1 {
                        screen.at -= 1;
                        let text = screen.record.borrow()[..screen.end_of(screen.at)].to_vec();
                        keys::clear_screen(&mut self.prompt)?;
                        self.prompt.write_all(&text)?;
                    }
                }
                keys::Key::Quit => {
                    self.tell_score()?;
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped by the user"));
                }
                keys::Key::Summary => return Ok(false),
            }
        }
    }

    /// Reads one answer line; end of input (Ctrl-D) or `q` stops the replay, ending
    /// the prompt's line and telling the quiz's score so far.
    fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        let ended = self.input.read_line(&mut line)? == 0;
        if ended || line.trim().eq_ignore_ascii_case("q") {
            if ended {
                // Ctrl-D leaves the cursor after the question.
                writeln!(self.prompt)?;
            }
            self.tell_score()?;
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped by the user"));
        }
        Ok(line.trim().to_string())
    }

    /// The quiz's score, once something was asked.
    fn tell_score(&mut self) -> io::Result<()> {
        if self.pacing.quiz && self.asked > 0 {
            let score = self.lang.text(&Msg::QuizScore { right: self.right, asked: self.asked });
            writeln!(self.prompt, "{score}")?;
        }
        self.prompt.flush()
    }

    fn ask(&mut self, ev: &SegmentEvent, side: Role, truth: TcpState) -> io::Result<()> {
        let question = self.lang.text(&Msg::QuizAsk {
            frame: ev.frame.0,
            flags: &ev.flags.to_string(),
            from: ev.dir.sender(),
            side,
        });
        write!(self.prompt, "{question} ")?;
        self.prompt.flush()?;
        let answer = self.read_line()?;
        self.asked += 1;
        let correct = normalise(&answer) == truth.name();
        if correct {
            self.right += 1;
        }
        let verdict = self.lang.text(&Msg::QuizVerdict { correct, expected: truth });
        writeln!(self.prompt, "{verdict}")
    }

    fn before_segment(&mut self, ev: &SegmentEvent) -> io::Result<()> {
        // Everything so far (the file's heading, the previous segment) reaches the
        // screen before the pause or the question.
        self.inner.flush()?;
        if self.pacing.speed > 0.0
            && let Some(last) = self.last_ts
        {
            let gap = ((ev.ts - last) / self.pacing.speed).max(0.0);
            std::thread::sleep(Duration::from_secs_f64(gap).min(LONGEST_PAUSE));
        }
        if self.pacing.step && self.shown > 0 && !self.pacing.quiz {
            if self.screen.is_some() {
                if !self.step_on_terminal()? {
                    self.stopped = true;
                    return Ok(());
                }
            } else {
                write!(self.prompt, "{}", self.lang.text(&Msg::StepPrompt))?;
                self.prompt.flush()?;
                self.read_line()?;
            }
        }
        if let Some(screen) = self.screen.as_mut() {
            screen.marks.push(screen.record.borrow().len());
            screen.at = screen.marks.len();
        }
        if self.pacing.quiz {
            if self.asked == 0 {
                writeln!(self.prompt, "{}", self.lang.text(&Msg::QuizIntro))?;
            }
            self.ask(ev, Role::Client, ev.client_state)?;
            self.ask(ev, Role::Server, ev.server_state)?;
        }
        self.last_ts = Some(ev.ts);
        self.shown += 1;
        Ok(())
    }
}

/// `fin_wait_1`, `Fin Wait 1`, `fin-wait1` → `FIN-WAIT-1`.
fn normalise(answer: &str) -> String {
    let mut s = answer.trim().to_ascii_uppercase().replace(['_', ' '], "-");
    for (short, long) in
        [("SYN-RCVD", "SYN-RECEIVED"), ("FIN-WAIT1", "FIN-WAIT-1"), ("FIN-WAIT2", "FIN-WAIT-2")]
    {
        if s == short {
            s = long.to_string();
        }
    }
    s
}

impl<R: Renderer, I: BufRead, P: Write> Renderer for Paced<R, I, P> {
    fn begin(&mut self, name: &str) -> io::Result<()> {
        self.inner.begin(name)
    }

    fn event(&mut self, event: &Event) -> io::Result<()> {
        if let Event::Segment(ev) = event
            && !self.stopped
        {
            self.before_segment(ev)?;
            if !self.stopped {
                self.last_shown = Some(ev.frame);
            }
        }
        if self.stopped {
            // After Ctrl-C: the summaries of the connections shown, and nothing else
            // of the capture.
            return match event {
                Event::Connection(c) if self.last_shown.is_some_and(|last| c.first_frame <= last) => {
                    self.inner.event(event)
                }
                _ => Ok(()),
            };
        }
        self.inner.event(event)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn wants_segments(&self) -> bool {
        // Pacing happens segment by segment.
        true
    }

    fn end(&mut self, name: &str, stats: &CaptureStats) -> io::Result<()> {
        self.inner.end(name, stats)?;
        self.tell_score()
    }
}

/// Single keys from the terminal, in raw mode only while one is awaited: whatever
/// ends the program afterwards (an error, a panic elsewhere, the end of the capture)
/// finds the terminal as it was.
mod keys {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    use crossterm::{cursor, execute, terminal};
    use std::io::{self, Write};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Key {
        Next,
        Back,
        Quit,
        /// Ctrl-C: stop, with the summary so far.
        Summary,
    }

    /// Raw mode while it lives; dropped on every way out of [`read`], a panic's
    /// unwinding included.
    struct Raw;

    impl Raw {
        fn enable() -> io::Result<Raw> {
            terminal::enable_raw_mode()?;
            Ok(Raw)
        }
    }

    impl Drop for Raw {
        fn drop(&mut self) {
            let _ = terminal::disable_raw_mode();
        }
    }

    /// Shows `prompt`, then waits for the next key that means something to `--step`.
    /// Raw mode comes first: a key pressed as soon as the prompt shows must not wait
    /// in the terminal's line buffer for an Enter.
    pub fn read_after(out: &mut impl Write, prompt: &str) -> io::Result<Key> {
        let _raw = Raw::enable()?;
        write!(out, "{prompt}")?;
        out.flush()?;
        loop {
            let Event::Key(key) = event::read()? else { continue };
            // Windows reports releases too.
            if key.kind == KeyEventKind::Release {
                continue;
            }
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            let meant = match key.code {
                KeyCode::Char('c') if ctrl => Key::Summary,
                KeyCode::Char('d') if ctrl => Key::Quit,
                KeyCode::Char('q' | 'Q') | KeyCode::Esc => Key::Quit,
                KeyCode::Char(' ') | KeyCode::Enter | KeyCode::Right | KeyCode::Down | KeyCode::PageDown => {
                    Key::Next
                }
                KeyCode::Left | KeyCode::Up | KeyCode::PageUp | KeyCode::Backspace => Key::Back,
                _ => continue,
            };
            return Ok(meant);
        }
    }

    /// Takes back the line the cursor is on (the prompt).
    pub fn erase_line(out: &mut impl Write) -> io::Result<()> {
        execute!(out, cursor::MoveToColumn(0), terminal::Clear(terminal::ClearType::CurrentLine))
    }

    /// An empty screen, its scroll-back too, with the cursor at the top.
    pub fn clear_screen(out: &mut impl Write) -> io::Result<()> {
        execute!(
            out,
            terminal::Clear(terminal::ClearType::Purge),
            terminal::Clear(terminal::ClearType::All),
            cursor::MoveTo(0, 0)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn answers_are_forgiving_about_spelling() {
        assert_eq!(normalise(" fin_wait_1 "), "FIN-WAIT-1");
        assert_eq!(normalise("syn rcvd"), "SYN-RECEIVED");
        assert_eq!(normalise("Time-Wait"), "TIME-WAIT");
    }
}
