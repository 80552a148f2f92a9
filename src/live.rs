//! A live capture session: an interface feeding the pipeline, TIME-WAIT followed
//! through the kernel, until a signal stops it or the traffic it waits for is over.

use crate::error::Result;
use crate::pipeline::{EnteredTimeWait, Pipeline};
use crate::source::Timestamp;
use crate::source::kernel::{self, TimeWaits};
use crate::source::live::LiveCapture;
use crate::track::KernelCheck;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When a session ends, besides a stop request.
pub enum Until {
    /// A stop request (Ctrl-C, SIGTERM), or what was asked on the command line:
    /// `count` packets that passed the filters (`-c`), or the first connection
    /// closed (`--until-closed`: both ends CLOSED or in TIME-WAIT).
    Asked { count: Option<u64>, first_closed: bool },
    /// Ends once `traffic_done` is set and every connection seen is over (both ends
    /// CLOSED or in TIME-WAIT), or `grace` after `traffic_done` at the latest.
    TrafficOver { traffic_done: Arc<AtomicBool>, grace: Duration },
}

/// How long the kernel may take to list a socket that the wire showed in TIME-WAIT.
const CONFIRM_WITHIN: Duration = Duration::from_secs(1);
/// How often to ask the kernel whether a TIME-WAIT has run out.
const EXPIRY_POLL: Duration = Duration::from_millis(500);

/// One end seen entering TIME-WAIT, followed until the kernel lets it go.
struct Followed {
    entry: EnteredTimeWait,
    since: Instant,
    confirmed: bool,
}

/// Installs SIGINT and SIGTERM handlers that set the returned flag.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// The wall clock, as a capture timestamp.
pub fn now() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs() as i64, i64::from(d.subsec_nanos()))
}

/// Runs the session; everything captured goes through `pipeline`.
pub fn run(
    capture: &mut LiveCapture,
    pipeline: &mut Pipeline<'_>,
    stop: &AtomicBool,
    until: Until,
    mut kernel: Option<&mut crate::kstate::Feed>,
) -> Result<()> {
    let mut followed: Vec<Followed> = Vec::new();
    // Without a socket table there is nothing to confirm with; the caller has said so
    // once, and no TIME-WAIT is reported as missing from a table that does not exist.
    let kernel_view = kernel::has_view();
    let mut poll = Poll { last: Instant::now(), cost: Duration::ZERO };
    let mut done_at: Option<Instant> = None;
    let mut failure = None;
    if kernel.is_some() {
        pipeline.show_kernel();
    }
    capture.run(stop, |frame| {
        // The kernel's changes first: every change made before this packet reached
        // tcplab is then in hand, to be shown before the segments that followed it.
        if let Some(feed) = kernel.as_deref_mut() {
            pipeline.kernel_changes(feed.poll());
        }
        if frame.is_none()
            && let Err(e) = pipeline.release_kernel(now())
        {
            failure = Some(e);
            return false;
        }
        if let Some(frame) = frame {
            // Written out once per batch, in `on(None)` below.
            return match pipeline.on_frame(frame) {
                Ok(()) => !matches!(until, Until::Asked { count: Some(n), .. } if pipeline.passed() >= n),
                Err(e) => {
                    failure = Some(e);
                    false
                }
            };
        }
        // A batch of packets is over, or time passed. A segment held for its arrival to
        // settle is shown within a second, even if the connection says nothing more.
        let shown = pipeline.settle_due(now()).and_then(|_| pipeline.table_if_due(now()));
        if let Err(e) = shown.and_then(|_| pipeline.flush()) {
            failure = Some(e);
            return false;
        }
        for entry in pipeline.take_time_waits() {
            if kernel_view {
                followed.push(Followed { entry, since: Instant::now(), confirmed: false });
            }
        }
        if let Err(e) = follow_time_waits(pipeline, &mut followed, &mut poll) {
            failure = Some(e);
            return false;
        }
        match &until {
            Until::Asked { first_closed, .. } => {
                !first_closed || !pipeline.tracker().connections().any(|c| c.is_finished())
            }
            Until::TrafficOver { traffic_done, grace } => {
                if !traffic_done.load(Ordering::Acquire) {
                    return true;
                }
                let since = *done_at.get_or_insert_with(Instant::now);
                let tracker = pipeline.tracker();
                let over = tracker.seen() > 0 && tracker.connections().all(|c| c.is_finished());
                let confirming = followed.iter().any(|f| !f.confirmed && f.since.elapsed() < CONFIRM_WITHIN);
                (confirming || !over) && since.elapsed() < *grace
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    if let Some(feed) = kernel {
        pipeline.kernel_changes(feed.poll());
    }
    // Whatever TIME-WAIT was seen last still deserves the kernel's word.
    for entry in pipeline.take_time_waits() {
        if kernel_view {
            followed.push(Followed { entry, since: Instant::now(), confirmed: false });
        }
    }
    if followed.iter().any(|f| !f.confirmed) {
        let table = read_table(&followed);
        for f in followed.iter_mut().filter(|f| !f.confirmed) {
            let EnteredTimeWait { local, remote, .. } = f.entry;
            confirm(pipeline, f, table.get(local, remote), true)?;
        }
    }
    Ok(())
}

/// When to read the kernel's table next: every [`TICK`](crate::source::live::TICK)
/// while a TIME-WAIT waits to be confirmed, every [`EXPIRY_POLL`] otherwise, and never
/// more than a fifth of the time, so that a table of a hundred thousand TIME-WAITs
/// (2,000 connections a second) does not starve the capture.
struct Poll {
    last: Instant,
    cost: Duration,
}

impl Poll {
    /// `pending` is asked only when a read could be due: it looks at every TIME-WAIT.
    fn due(&self, pending: impl FnOnce() -> bool) -> bool {
        let since = self.last.elapsed();
        let tick = crate::source::live::TICK.max(self.cost * 4);
        since >= tick && (since >= EXPIRY_POLL.max(tick) || pending())
    }
}

/// One read of the kernel's TIME-WAITs for every connection followed, filtered in the
/// kernel to the ports they share (each connection's most common port: the server's,
/// when many clients come to one).
fn read_table(followed: &[Followed]) -> TimeWaits {
    let mut counts: rustc_hash::FxHashMap<u16, u32> = Default::default();
    for f in followed {
        *counts.entry(f.entry.local.port()).or_default() += 1;
        *counts.entry(f.entry.remote.port()).or_default() += 1;
    }
    let mut ports: Vec<u16> = followed
        .iter()
        .map(|f| {
            let (a, b) = (f.entry.local.port(), f.entry.remote.port());
            if counts[&a] >= counts[&b] { a } else { b }
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    TimeWaits::read(&ports).unwrap_or_default()
}

/// Confirms new TIME-WAITs with the kernel, and reports those whose timer ran out.
fn follow_time_waits(
    pipeline: &mut Pipeline<'_>,
    followed: &mut Vec<Followed>,
    poll: &mut Poll,
) -> std::io::Result<()> {
    if followed.is_empty() || !poll.due(|| followed.iter().any(|f| !f.confirmed)) {
        return Ok(());
    }
    let started = Instant::now();
    let table = read_table(followed);
    *poll = Poll { last: Instant::now(), cost: started.elapsed() };
    let mut still = Vec::with_capacity(followed.len());
    for mut f in followed.drain(..) {
        let EnteredTimeWait { local, remote, .. } = f.entry;
        if !f.confirmed {
            let give_up = f.since.elapsed() >= CONFIRM_WITHIN;
            confirm(pipeline, &mut f, table.get(local, remote), give_up)?;
        } else if table.get(local, remote).is_none() {
            pipeline.expire_time_wait(&f.entry, now())?;
            pipeline.flush()?;
            continue;
        }
        // Ten minutes: far beyond any TIME-WAIT; also where an absence reported is sent.
        if f.since.elapsed() < Duration::from_secs(600) {
            still.push(f);
        }
    }
    *followed = still;
    Ok(())
}

/// Reports what the kernel's table says of one TIME-WAIT (`entry`: listed, with the
/// time left where known). A socket not (yet) listed is reported only when `give_up`,
/// so that a moment's delay in the kernel is not reported as absence.
fn confirm(
    pipeline: &mut Pipeline<'_>,
    f: &mut Followed,
    entry: Option<Option<Duration>>,
    give_up: bool,
) -> std::io::Result<()> {
    let EnteredTimeWait { conn, side, local, remote } = f.entry;
    if entry.is_none() && !give_up {
        return Ok(());
    }
    f.confirmed = entry.is_some();
    if entry.is_none() {
        // Reported as absent: never expire what the kernel never had.
        f.since = Instant::now() - Duration::from_secs(601);
    }
    let listed = entry.is_some();
    let time_left = entry.flatten().map(|d| d.as_secs_f64());
    pipeline.kernel_check(KernelCheck { conn, side, local, remote, listed, time_left })?;
    pipeline.flush()
}
