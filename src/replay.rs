//! `tcplab replay`: saved captures through the pipeline, one after another.

use crate::cli::{Format, ReplayArgs, ViewArgs};
use crate::error::Result;
use crate::pipeline::{Analyzer, SegmentFilter};
use crate::progress::{self, Progress};
use crate::render::Both;
use crate::render::jsonl::JsonLines;
use crate::render::ladder::{Glyphs, Ladder};
use crate::render::pace::{Paced, Pacing};
use crate::render::svg::SvgLadder;
use crate::render::timeline::Timeline;
use crate::render::{CaptureStats, Renderer, TextStyle};
use crate::source::file::{FileSource, ReadEnd};
use crate::track::{Event, TrackConfig};
use std::io::Write;
use std::mem;
use std::sync::mpsc;

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
        let source = FileSource::open(path, args.filter.bpf.as_deref())?;
        let name = path.display().to_string();
        renderer.begin(&name)?;
        let analyzer = Analyzer::new(track_config(&args.view), filter, renderer.wants_segments());
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let progress = Progress::new(size, show_progress, args.view.lang());
        let stats = analyse_beside(source, analyzer, progress, renderer.as_mut())?;
        let truncated = stats.truncated.clone();
        renderer.end(&name, &stats)?;
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

/// Events handed from the analysing thread to the renderer at a time: enough that
/// handing them over costs nothing per event, few enough that a paced replay starts
/// at once.
const BATCH: usize = 256;
/// Batches on their way: the analysing thread runs at most this far ahead of the
/// renderer, so that memory stays bounded when the output is slow (a pager, `--step`).
const BATCHES_AHEAD: usize = 8;

/// Reads, decodes and tracks `source` on a second thread while `renderer` writes what
/// it found on this one. On a big capture both halves weigh (the summary's tracking,
/// the timeline's text), so two cores share them. The events arrive in the order one
/// thread would make them: the output is the same byte for byte.
///
/// When rendering fails (a closed pipe), the analysing thread stops at its next
/// hand-over and the error is returned.
fn analyse_beside(
    mut source: FileSource,
    mut analyzer: Analyzer,
    mut progress: Progress,
    renderer: &mut dyn Renderer,
) -> Result<CaptureStats> {
    std::thread::scope(|scope| {
        let (full, arriving) = mpsc::sync_channel::<Vec<Event>>(BATCHES_AHEAD);
        // Rendered batches go back to be emptied where their events were made: freeing
        // memory on the thread that allocated it is malloc's fast path, and freeing it
        // on the other one made the timeline slower on two threads than on one.
        let (spent, returning) = mpsc::channel::<Vec<Event>>();
        let analysing = scope.spawn(move || {
            let mut events = Vec::with_capacity(BATCH);
            let end = source.for_each(|frame, passes| {
                analyzer.on_frame_if(frame, passes, &mut events);
                progress.record(frame.data.len(), || analyzer.tracker().seen());
                if events.len() < BATCH {
                    return true;
                }
                let empty = match returning.try_recv() {
                    Ok(mut batch) => {
                        batch.clear();
                        batch
                    }
                    Err(_) => Vec::with_capacity(BATCH),
                };
                full.send(mem::replace(&mut events, empty)).is_ok()
            });
            progress.finish();
            let truncated = match end {
                ReadEnd::Complete => None,
                ReadEnd::Truncated(reason) => Some(reason),
            };
            let stats = analyzer.finish(&mut events, truncated);
            // The renderer may have stopped already; then nobody wants these.
            let _ = full.send(events);
            stats
        });
        let rendered = render_all(&arriving, &spent, renderer);
        // Dropping the receiver ends the analysing thread's next hand-over.
        drop(arriving);
        let stats = analysing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        rendered?;
        Ok(stats)
    })
}

/// Renders each batch as it arrives and sends it back to be emptied.
fn render_all(
    arriving: &mpsc::Receiver<Vec<Event>>,
    spent: &mpsc::Sender<Vec<Event>>,
    renderer: &mut dyn Renderer,
) -> std::io::Result<()> {
    for batch in arriving {
        for event in &batch {
            renderer.event(event)?;
        }
        // After the last batch nobody takes it back; it is dropped here.
        let _ = spent.send(batch);
    }
    Ok(())
}
