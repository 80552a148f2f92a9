//! `tcplab replay`: saved captures through the pipeline, one after another.
//!
//! Each file is read and decoded on one thread, tracked on a second and rendered on
//! this one (`replay_file`): a big capture keeps two cores busy, and the
//! output is the same byte for byte as one thread would write it.

mod decoded;

use crate::cli::{Format, ReplayArgs, ViewArgs};
use crate::decode::defrag::Reassembly;
use crate::error::Result;
use crate::pipeline::{Analyzer, SegmentFilter};
use crate::progress::{self, Progress};
use crate::relay::{Batch, Emptier, relay};
use crate::render::Both;
use crate::render::fit::FitWidth;
use crate::render::glyphs::CjkFont;
use crate::render::jsonl::JsonLines;
use crate::render::ladder::{Glyphs, Ladder};
use crate::render::pace::{Paced, Pacing, Recorder, Screen};
use crate::render::page::{HtmlFile, PageFeed};
use crate::render::part::{Only, Part};
use crate::render::svg::SvgLadder;
use crate::render::timeline::Timeline;
use crate::render::{CaptureStats, Renderer, TextStyle};
use crate::serve::Page;
use crate::source::file::FileSource;
use crate::track::{Event, TrackConfig};
use decoded::DecodedBatch;
use std::io::Write;

/// How a replay went, for the exit code; the worst file decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Complete,
    /// At least one file was cut short or damaged; what came before was reported.
    Partial,
    /// At least one file could not be read at all (one line on stderr says why); the
    /// others were read.
    Failed,
}

/// Builds the renderer that `view` asks for; `page` is the hub of a running page
/// server (`--serve`), fed beside the other outputs. A file it writes (`--svg`) is
/// created now, so that a path that cannot be written fails before anything is captured.
pub fn renderer<'w>(
    view: &ViewArgs,
    out: impl Write + 'w,
    page: Option<&Page>,
) -> Result<Box<dyn Renderer + 'w>> {
    let style = TextStyle {
        lang: view.lang(),
        time_wait: view.time_wait,
        timeline: !view.summary,
        explain: view.explain.unwrap_or_default(),
        tag_from_start: view.tag_from_start,
        width: crate::render::fit::terminal_width(),
        terminal: std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    let mut all = if view.ascii {
        main_renderer(view, style, crate::render::ascii::Ascii::new(out))
    } else {
        main_renderer(view, style, out)
    };
    if let Some(path) = &view.svg {
        all = Box::new(Both(all, SvgLadder::create(path, style)?.with_aspect(view.aspect)));
    }
    if let Some(path) = &view.mermaid {
        all = Box::new(Both(all, crate::render::mermaid::MermaidFile::create(path, style)?));
    }
    if let Some(path) = &view.html {
        all = Box::new(Both(all, HtmlFile::new(path.clone(), style)));
    }
    if let Some(page) = page {
        all = Box::new(Both(all, PageFeed::new(page)));
    }
    Ok(all)
}

/// Starts the page server when `--serve` asks for it.
pub fn serve(view: &ViewArgs, err: &mut impl Write) -> Result<Option<Page>> {
    view.serve.map(|addr| Page::start(addr, view.time_wait, view.lang(), err)).transpose()
}

fn main_renderer<'w>(view: &ViewArgs, style: TextStyle, out: impl Write + 'w) -> Box<dyn Renderer + 'w> {
    match view.format {
        Format::Jsonl => Box::new(JsonLines::new(out)),
        Format::Text if view.ladder && !view.summary => {
            // Both write to the same stream, one after the other.
            let shared = std::rc::Rc::new(std::cell::RefCell::new(FitWidth::new(out, style.width)));
            let glyphs = if view.ascii { Glyphs::ASCII } else { Glyphs::UNICODE };
            Box::new(Both(
                Ladder::new(SharedWriter(shared.clone()), style, glyphs),
                Timeline::new(SharedWriter(shared), TextStyle { timeline: false, ..style }),
            ))
        }
        Format::Text => Box::new(Timeline::new(FitWidth::new(out, style.width), style)),
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
    TrackConfig {
        time_wait_secs: view.time_wait.secs(),
        memory_mib: view.max_memory,
        ..TrackConfig::default()
    }
}

/// Replays every file of `args` to `out`; warnings go to `err`.
pub fn run(args: &ReplayArgs, out: impl Write, err: &mut impl Write) -> Result<Outcome> {
    let page = serve(&args.view, err)?;
    if args.view.svg.is_some() && args.view.lang() == crate::i18n::Lang::Zh && CjkFont::find().is_none() {
        writeln!(err, "tcplab: {}", args.view.lang().text(&crate::i18n::Msg::SvgNoCjkFont))?;
    }
    let pacing = Pacing { step: args.step, speed: args.speed, quiz: args.quiz };
    // `--step` on a terminal takes single keys, and keeps what it showed to go back.
    let on_terminal = {
        use std::io::IsTerminal;
        args.step
            && !args.quiz
            && std::io::stdin().is_terminal()
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal()
    };
    let out = Recorder::new(out, on_terminal);
    let screen = Screen::of(&out);
    let plain = renderer(&args.view, out, page.as_ref())?;
    let mut renderer: Box<dyn Renderer + '_> = if pacing.is_paced() {
        // Answers come from the terminal; prompts go to stderr, beside the timeline.
        let paced = Paced::new(plain, pacing, args.view.lang(), std::io::stdin().lock(), std::io::stderr());
        match screen {
            Some(screen) => Box::new(paced.on_terminal(screen)),
            None => Box::new(paced),
        }
    } else {
        plain
    };
    // Outside the pacing, so that only the segments shown are waited for.
    let part = Part { frames: args.frames, conn: args.conn };
    if !part.is_whole() {
        renderer = Box::new(Only::new(renderer, part));
    }
    let filter = SegmentFilter { port: args.filter.port, host: args.filter.host.as_ref().map(|h| h.ip) };
    if let Some(note) = args.filter.host.as_ref().and_then(|h| h.resolved_note()) {
        writeln!(err, "tcplab: {note}")?;
    }
    let show_progress = progress::wanted(pacing.is_paced());
    let mut outcome = Outcome::Complete;
    for path in &args.files {
        let source = match FileSource::open(path, args.filter.bpf.as_deref()) {
            Ok(source) => source,
            // A bad filter expression is bad for every file: nothing is read.
            Err(e @ crate::error::Error::Filter { .. }) => return Err(e),
            // One unreadable file among several: said in one line, and the others are
            // still read (as tcpdump and tshark would not, but a class's folder of
            // captures is better served this way).
            Err(e) => {
                writeln!(err, "tcplab: {}", e.in_lang(args.view.lang()))?;
                outcome = outcome.max(Outcome::Failed);
                continue;
            }
        };
        let name = path.display().to_string();
        renderer.begin(&name)?;
        let analyzer = Analyzer::new(track_config(&args.view), filter, renderer.wants_segments());
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let progress = Progress::new(size, show_progress, args.view.lang());
        let stats = replay_file(source, analyzer, progress, args.count, renderer.as_mut())?;
        renderer.end(&name, &stats)?;
        if let Some(reason) = &stats.truncated {
            outcome = outcome.max(Outcome::Partial);
            let text = args.view.lang().text(&crate::i18n::Msg::Truncated {
                path: &crate::render::sanitize::sanitize_str(&name),
                reason,
            });
            writeln!(err, "tcplab: {text}")?;
        }
    }
    // The terminal's output is complete; the page stays up for the class.
    drop(renderer);
    if let Some(page) = page {
        page.linger(err)?;
    }
    Ok(outcome)
}

/// Events passed to the renderer at a time.
const EVENTS_PER_BATCH: usize = 256;

impl Batch for Vec<Event> {
    fn empty() -> Self {
        Vec::with_capacity(EVENTS_PER_BATCH)
    }
    fn clear(&mut self) {
        Vec::clear(self)
    }
    fn is_full(&self) -> bool {
        self.len() >= EVENTS_PER_BATCH
    }
}

/// Replays one file on three threads: one reads and decodes the records, one tracks
/// them, and this one renders what was found. On a big capture each of the three
/// weighs (a million records to read, the summary's tracking, the timeline's text),
/// so two cores share them. Each relay keeps the order, so the output is the same
/// byte for byte as one thread would make it.
///
/// When rendering fails (a closed pipe), the other threads stop at their next
/// hand-over, and the error is returned.
fn replay_file(
    mut source: FileSource,
    mut analyzer: Analyzer,
    mut progress: Progress,
    count: Option<u64>,
    renderer: &mut dyn Renderer,
) -> Result<CaptureStats> {
    // Options and payloads cross only if the tracker shows segments (not `--summary`).
    let with_bytes = analyzer.shows_segments();
    std::thread::scope(|scope| {
        let (frames_in, frames_out) = relay::<DecodedBatch>();
        let (events_in, events_out) = relay::<Vec<Event>>();
        let reading = scope.spawn(move || {
            let mut batch = DecodedBatch::empty();
            let mut reassembly = Reassembly::default();
            let end = source.for_each(|frame, passes| {
                batch.push(frame, passes, with_bytes, &mut reassembly);
                frames_in.pass_if_full(&mut batch)
            });
            frames_in.pass_last(batch);
            end
        });
        let analysing = scope.spawn(move || {
            let mut events = Vec::empty();
            'batches: while let Some(batch) = frames_out.next() {
                for frame in batch.frames() {
                    match frame.decoded {
                        Some(decoded) => analyzer.on_decoded(frame.number, frame.ts, decoded, &mut events),
                        None => analyzer.on_filtered(frame.ts),
                    }
                    progress.record(frame.captured, || analyzer.tracker().seen());
                    // `-c N`: the reader stops too, when its relay is dropped below.
                    let counted_out = count.is_some_and(|n| analyzer.passed() >= n);
                    if !events_in.pass_if_full(&mut events) || counted_out {
                        break 'batches;
                    }
                }
                frames_out.give_back(batch);
            }
            progress.finish();
            // Dropping the frames' relay stops the reader, if it is not done.
            drop(frames_out);
            let end = reading.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let stats = analyzer.finish(&mut events, end.truncation());
            events_in.pass_last(events);
            stats
        });
        let rendered = render_all(&events_out, renderer);
        // Dropping the events' relay stops the analysing thread at its next hand-over.
        drop(events_out);
        let stats = analysing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        rendered?;
        Ok(stats)
    })
}

/// Renders each batch of events as it arrives, and gives it back to be emptied.
fn render_all(events: &Emptier<Vec<Event>>, renderer: &mut dyn Renderer) -> std::io::Result<()> {
    while let Some(batch) = events.next() {
        for event in &batch {
            renderer.event(event)?;
        }
        events.give_back(batch);
    }
    Ok(())
}
