//! `tcplab replay`: saved captures through the pipeline, one after another.

use crate::cli::{Format, ReplayArgs, ViewArgs};
use crate::error::Result;
use crate::pipeline::{Pipeline, SegmentFilter};
use crate::progress::{self, Progress};
use crate::render::Both;
use crate::render::jsonl::JsonLines;
use crate::render::ladder::{Glyphs, Ladder};
use crate::render::pace::{Paced, Pacing};
use crate::render::svg::SvgLadder;
use crate::render::timeline::Timeline;
use crate::render::{Renderer, TextStyle};
use crate::source::file::{FileSource, ReadEnd};
use crate::track::TrackConfig;
use std::io::Write;

/// How a replay went, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    /// At least one file was cut short or damaged; what came before was reported.
    Partial,
}

/// Builds the renderer that `view` asks for.
pub fn renderer<'w>(view: &ViewArgs, out: impl Write + 'w) -> Box<dyn Renderer + 'w> {
    let style = TextStyle { lang: view.lang(), time_wait: view.time_wait, timeline: !view.summary };
    let main = main_renderer(view, style, out);
    match &view.svg {
        Some(path) => Box::new(Both(main, SvgLadder::new(path.clone(), style))),
        None => main,
    }
}

fn main_renderer<'w>(view: &ViewArgs, style: TextStyle, out: impl Write + 'w) -> Box<dyn Renderer + 'w> {
    match view.format {
        Format::Jsonl => Box::new(JsonLines::new(out)),
        Format::Text if view.ladder && !view.summary => {
            // Both write to the same stream, one after the other.
            let shared = std::rc::Rc::new(std::cell::RefCell::new(out));
            let glyphs = if view.ascii { Glyphs::ASCII } else { Glyphs::UNICODE };
            Box::new(Both(
                Ladder::new(SharedWriter(shared.clone()), style, glyphs),
                Timeline::new(SharedWriter(shared), TextStyle { timeline: false, ..style }),
            ))
        }
        Format::Text => Box::new(Timeline::new(out, style)),
    }
}

/// One writer shared by two renderers that never write at the same time.
struct SharedWriter<W: Write>(std::rc::Rc<std::cell::RefCell<W>>);

impl<W: Write> Write for SharedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

pub fn track_config(view: &ViewArgs) -> TrackConfig {
    TrackConfig { time_wait_secs: view.time_wait.secs(), ..TrackConfig::default() }
}

/// Replays every file of `args` to `out`; warnings go to `err`.
pub fn run(args: &ReplayArgs, out: impl Write, err: &mut impl Write) -> Result<Outcome> {
    let plain = renderer(&args.view, out);
    let pacing = Pacing { step: args.step, speed: args.speed, quiz: args.quiz };
    let mut renderer: Box<dyn Renderer + '_> = if pacing.is_paced() {
        // Answers come from the terminal; prompts go to stderr, beside the timeline.
        Box::new(Paced::new(plain, pacing, args.view.lang(), std::io::stdin().lock(), std::io::stderr()))
    } else {
        plain
    };
    let filter = SegmentFilter { port: args.filter.port, host: args.filter.host };
    let show_progress = progress::wanted(pacing.is_paced());
    let mut outcome = Outcome::Complete;
    for path in &args.files {
        let mut source = FileSource::open(path, args.filter.bpf.as_deref())?;
        let name = path.display().to_string();
        renderer.begin(&name)?;
        let mut pipeline = Pipeline::new(renderer.as_mut(), track_config(&args.view), filter);
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let mut progress = Progress::new(size, show_progress, args.view.lang());
        let mut write_error = None;
        let end = source.for_each(|frame, passes| match pipeline.on_frame_if(frame, passes) {
            Ok(()) => {
                progress.record(frame.data.len(), || pipeline.tracker().seen());
                true
            }
            Err(e) => {
                write_error = Some(e);
                false
            }
        });
        progress.finish();
        if let Some(e) = write_error {
            return Err(e.into());
        }
        let truncated = match end {
            ReadEnd::Complete => None,
            ReadEnd::Truncated(reason) => Some(reason),
        };
        pipeline.finish(&name, truncated.clone())?;
        if let Some(reason) = truncated {
            outcome = Outcome::Partial;
            let text = args.view.lang().text(&crate::i18n::Msg::Truncated {
                path: &crate::render::sanitize::sanitize_str(&name),
                reason: &reason,
            });
            writeln!(err, "tcplab: {text}")?;
        }
    }
    Ok(outcome)
}
