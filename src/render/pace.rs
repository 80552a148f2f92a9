//! Pacing for a lecture: a renderer that wraps another and holds each segment back —
//! until Enter (`--step`), for the capture's own gap scaled (`--speed`), or until the
//! class has guessed both ends' next states (`--quiz`).

use super::{CaptureStats, Renderer};
use crate::i18n::{Lang, Msg};
use crate::track::{Event, Role, SegmentEvent, TcpState};
use std::io::{self, BufRead, Write};
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

pub struct Paced<R: Renderer, I: BufRead, P: Write> {
    inner: R,
    pacing: Pacing,
    lang: Lang,
    input: I,
    prompt: P,
    last_ts: Option<f64>,
    shown: u64,
    right: u64,
    asked: u64,
}

impl<R: Renderer, I: BufRead, P: Write> Paced<R, I, P> {
    pub fn new(inner: R, pacing: Pacing, lang: Lang, input: I, prompt: P) -> Self {
        Paced { inner, pacing, lang, input, prompt, last_ts: None, shown: 0, right: 0, asked: 0 }
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
            write!(self.prompt, "{}", self.lang.text(&Msg::StepPrompt))?;
            self.prompt.flush()?;
            self.read_line()?;
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
        if let Event::Segment(ev) = event {
            self.before_segment(ev)?;
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
