//! The pipeline for one capture: frames in, decoded, filtered, tracked, rendered.
//!
//! An [`Analyzer`] does everything but the rendering: it decodes, filters and tracks,
//! and hands out events. Live capture, the lab and `inspect` drive a [`Pipeline`],
//! an analyzer and a renderer on one thread, frame by frame; a replay runs the
//! analyzer on a thread of its own beside the renderer (see
//! [`replay`](crate::replay)).

use crate::decode::defrag::Reassembly;
use crate::decode::encap::Encap;
use crate::decode::{self, DecodeError, Decoded, Segment};
use crate::render::{CaptureStats, Renderer};
use crate::source::{Frame, FrameNumber, Timestamp};
use crate::track::{Event, TrackConfig, Tracker};
use std::io;
use std::net::{IpAddr, SocketAddr};

/// Which segments to show, beyond a BPF filter (these also see through VLAN tags and
/// every link type, which a BPF `port` expression does not).
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentFilter {
    pub port: Option<u16>,
    pub host: Option<IpAddr>,
}

impl SegmentFilter {
    pub fn accepts(&self, seg: &Segment) -> bool {
        let port_ok = self.port.is_none_or(|p| seg.src.port() == p || seg.dst.port() == p);
        let host_ok = self.host.is_none_or(|h| seg.src.ip() == h || seg.dst.ip() == h);
        port_ok && host_ok
    }
}

/// One end that entered TIME-WAIT, with the sockets it joins (its own first): enough
/// to ask the kernel about it even after the connection is summarised and freed.
#[derive(Debug, Clone, Copy)]
pub struct EnteredTimeWait {
    pub conn: crate::track::ConnId,
    pub side: crate::track::Role,
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

/// Frames in, events out: decoding, filtering, tracking and counting, without any
/// rendering. It owns nothing that must stay on one thread, so that a replay can run
/// it beside the renderer (see [`replay`](crate::replay)).
pub struct Analyzer {
    tracker: Tracker,
    filter: SegmentFilter,
    stats: CaptureStats,
    epoch: Option<Timestamp>,
    /// The exact capture time of each frame whose events the tracker may still hold
    /// back, oldest first, to stamp them with when they come out.
    times: std::collections::VecDeque<(FrameNumber, Timestamp)>,
    /// IPv4 and IPv6 datagrams whose fragments are being put together.
    reassembly: Reassembly,
}

impl Analyzer {
    /// `detail` says whether segments and transitions are wanted, or only summaries.
    pub fn new(config: TrackConfig, filter: SegmentFilter, detail: bool) -> Analyzer {
        let config = TrackConfig { detail: config.detail && detail, ..config };
        Analyzer {
            tracker: Tracker::new(config),
            filter,
            stats: CaptureStats::default(),
            epoch: None,
            times: std::collections::VecDeque::new(),
            reassembly: Reassembly::default(),
        }
    }

    /// Whether segments and transitions come out, or only summaries.
    pub fn shows_segments(&self) -> bool {
        self.tracker.shows_segments()
    }

    /// Counts a frame that did not pass the capture filter: times still start at the
    /// file's first record.
    pub fn on_filtered(&mut self, ts: Timestamp) {
        self.stats.frames += 1;
        self.stats.filtered += 1;
        self.epoch.get_or_insert(ts);
    }

    /// Takes one frame through decoding and tracking.
    pub fn on_frame(&mut self, frame: &Frame<'_>, out: &mut Vec<Event>) {
        match decode::decode(frame) {
            Ok(Decoded::Fragment(fragment)) => {
                // The segment, if this fragment completes its datagram, borrows the
                // datagram, which lives as long as this call.
                let datagram = self.reassembly.offer(&fragment, frame.ts);
                let decoded = match datagram.as_ref().and_then(|d| d.segment()) {
                    Some(seg) => Decoded::Tcp(seg),
                    None => Decoded::NotTcp,
                };
                self.on_decoded(frame.number, frame.ts, Ok(decoded), out)
            }
            Ok(decoded) => self.on_decoded(frame.number, frame.ts, Ok(decoded), out),
            Err(e) => self.on_decoded(frame.number, frame.ts, Err(&e), out),
        }
    }

    /// Tracks frame `number`, captured at `ts`, decoded (on another thread, in a
    /// replay) into `decoded`.
    pub fn on_decoded(
        &mut self,
        number: FrameNumber,
        ts: Timestamp,
        decoded: Result<Decoded<'_>, &DecodeError>,
        out: &mut Vec<Event>,
    ) {
        self.stats.frames += 1;
        let epoch = *self.epoch.get_or_insert(ts);
        // By reference: moving the segment out of `decoded` copied it for every frame.
        match &decoded {
            Ok(Decoded::Tcp(seg)) if self.filter.accepts(seg) => {
                self.stats.segments += 1;
                let before = out.len();
                self.tracker.on_segment(seg, number, ts.secs_since(epoch), out);
                self.times.push_back((number, ts));
                self.stamp(&mut out[before..]);
            }
            Ok(Decoded::Unsupported(kind)) => {
                self.stats.other += 1;
                self.count_not_decoded(*kind);
            }
            // Left out by --port or --host, as -f leaves frames out.
            Ok(Decoded::Tcp(_)) => self.stats.filtered += 1,
            Ok(_) => self.stats.other += 1,
            Err(e) => self.count_undecodable(number, e),
        }
    }

    /// Counts frame `number`, which could not be decoded, and keeps the first few
    /// reasons. Apart, and marked cold, so that the path of every frame does without
    /// what formatting a reason needs.
    #[cold]
    fn count_undecodable(&mut self, number: FrameNumber, e: &DecodeError) {
        self.stats.undecodable_total += 1;
        if self.stats.undecodable.len() < crate::render::KEPT_UNDECODABLE {
            self.stats.undecodable.push((number.0, e.to_string()));
        }
    }

    /// Counts a frame in an encapsulation that is not decoded, by its kind (there are
    /// a handful of kinds, so a list is searched).
    #[cold]
    fn count_not_decoded(&mut self, kind: Encap) {
        match self.stats.not_decoded.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, count)) => *count += 1,
            None => self.stats.not_decoded.push((kind, 1)),
        }
    }

    /// Gives the segments and transitions in `events` their frame's exact capture
    /// time, for the JSON lines' `time`, and forgets the times no held event needs.
    fn stamp(&mut self, events: &mut [Event]) {
        let time_of = |frame: FrameNumber| match self.times.back() {
            // Nearly every event is of the frame just read: no search for it.
            Some(&(last, ts)) if last == frame => Some(ts),
            _ => self.times.binary_search_by_key(&frame, |&(f, _)| f).ok().map(|i| self.times[i].1),
        };
        for event in events {
            match event {
                Event::Segment(ev) if ev.time.is_none() => ev.time = time_of(ev.frame),
                Event::Transition(t) if t.time.is_none() => t.time = time_of(t.frame),
                _ => {}
            }
        }
        let oldest_held = self.tracker.held().find_map(|e| match e {
            Event::Segment(ev) => Some(ev.frame),
            _ => None,
        });
        match oldest_held {
            Some(oldest) => {
                while self.times.front().is_some_and(|&(f, _)| f < oldest) {
                    self.times.pop_front();
                }
            }
            None => self.times.clear(),
        }
    }

    /// Settles the arrivals that have waited long enough by capture time `secs`.
    pub fn settle_due(&mut self, secs: f64, out: &mut Vec<Event>) {
        let before = out.len();
        self.tracker.settle_due(secs, out);
        self.stamp(&mut out[before..]);
    }

    /// Seconds from the first frame to `now` (0 before any frame).
    pub fn capture_secs(&self, now: Timestamp) -> f64 {
        self.epoch.map_or(0.0, |epoch| now.secs_since(epoch))
    }

    /// Frames that passed every filter so far: what `-c` counts, as tcpdump does.
    pub fn passed(&self) -> u64 {
        self.stats.frames - self.stats.filtered
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Ends the capture: the summaries of the connections still followed go to
    /// `out`, and the counts come back.
    pub fn finish(mut self, out: &mut Vec<Event>, truncated: Option<String>) -> CaptureStats {
        let before = out.len();
        self.tracker.finish(out);
        self.stamp(&mut out[before..]);
        self.stats.connections = self.tracker.seen();
        self.stats.evicted_half_open = self.tracker.evicted_half_open();
        self.stats.retired = self.tracker.retired();
        self.stats.truncated = truncated;
        self.stats
    }
}

/// An [`Analyzer`] and a renderer on one thread, frame by frame: what live capture,
/// the lab and `inspect` use, where each frame must show as soon as it is seen.
pub struct Pipeline<'r> {
    analyzer: Analyzer,
    renderer: &'r mut dyn Renderer,
    events: Vec<Event>,
    entered_time_wait: Vec<EnteredTimeWait>,
    /// Client and server of the last segment drained: a transition follows its segment.
    last_endpoints: Option<(SocketAddr, SocketAddr)>,
    /// The kernel's own state changes, when `--kernel` asked for them.
    kernel: Option<crate::kstate::merge::KernelMerge>,
    kernel_out: Vec<Event>,
    /// `watch --summary-every`: when the table of connections is printed.
    table: Option<TableTimer>,
}

/// When the table of connections so far is due, and the connections that ended
/// before it (the tracker forgets them once summarised).
struct TableTimer {
    every: std::time::Duration,
    last: std::time::Instant,
    /// Set from elsewhere (a key pressed) to have the table now.
    asked: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ended: Vec<crate::track::ConnSummary>,
    /// Something was shown since the last table: an unchanged table is not printed
    /// again (a quiet class would otherwise fill the screen with copies).
    changed: bool,
}

impl<'r> Pipeline<'r> {
    pub fn new(renderer: &'r mut dyn Renderer, config: TrackConfig, filter: SegmentFilter) -> Pipeline<'r> {
        let analyzer = Analyzer::new(config, filter, renderer.wants_segments());
        Pipeline {
            analyzer,
            renderer,
            events: Vec::new(),
            entered_time_wait: Vec::new(),
            last_endpoints: None,
            kernel: None,
            kernel_out: Vec::new(),
            table: None,
        }
    }

    /// Prints the table of the connections so far every `every`, and whenever
    /// `asked` is set, as [`Pipeline::table_if_due`] is called.
    pub fn table_every(
        &mut self,
        every: std::time::Duration,
        asked: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        self.table = Some(TableTimer {
            every,
            last: std::time::Instant::now(),
            asked,
            ended: Vec::new(),
            changed: false,
        });
    }

    /// Prints the table of connections when it is due (`now` is the wall clock).
    pub fn table_if_due(&mut self, now: Timestamp) -> io::Result<()> {
        let Some(timer) = &mut self.table else { return Ok(()) };
        let asked = timer.asked.swap(false, std::sync::atomic::Ordering::AcqRel);
        if !asked && (timer.last.elapsed() < timer.every || !timer.changed) {
            return Ok(());
        }
        timer.last = std::time::Instant::now();
        timer.changed = false;
        let mut rows = timer.ended.clone();
        rows.extend(self.analyzer.tracker().connections().map(|c| c.summary()));
        rows.sort_by_key(|s| s.conn.0);
        let secs = self.analyzer.capture_secs(now);
        self.renderer.table(&rows, secs)
    }

    /// Shows the kernel's own state changes too, as [`Pipeline::kernel_changes`] hands
    /// them in.
    pub fn show_kernel(&mut self) {
        self.kernel = Some(crate::kstate::merge::KernelMerge::default());
    }

    /// Changes the kernel reported; each is shown at its moment among the segments.
    pub fn kernel_changes(&mut self, changes: Vec<crate::kstate::KernelChange>) {
        if let Some(merge) = &mut self.kernel {
            merge.push(changes);
        }
    }

    /// Shows the kernel's changes that no segment still on its way can come before
    /// (`now` is the wall clock).
    pub fn release_kernel(&mut self, now: Timestamp) -> io::Result<()> {
        let Some(merge) = &mut self.kernel else { return Ok(()) };
        let tracker = self.analyzer.tracker();
        let held = tracker.held().find_map(|e| match e {
            Event::Segment(ev) => ev.time,
            _ => None,
        });
        let analyzer = &self.analyzer;
        merge.release_due(now, held, |t| analyzer.capture_secs(t), &mut self.kernel_out);
        for event in self.kernel_out.drain(..) {
            self.renderer.event(&event)?;
        }
        Ok(())
    }

    /// Takes one frame through decoding, tracking and rendering.
    pub fn on_frame(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        self.analyzer.on_frame(frame, &mut self.events);
        self.drain()
    }

    /// Takes one frame through when it `passes` the capture filter; one that does not
    /// is only counted, so that times still start at the file's first record.
    pub fn on_frame_if(&mut self, frame: &Frame<'_>, passes: bool) -> io::Result<()> {
        if passes {
            return self.on_frame(frame);
        }
        self.analyzer.on_filtered(frame.ts);
        Ok(())
    }

    fn drain(&mut self) -> io::Result<()> {
        if let Some(timer) = &mut self.table {
            timer.changed |= !self.events.is_empty();
        }
        for event in self.events.drain(..) {
            if let Some(merge) = &mut self.kernel {
                let analyzer = &self.analyzer;
                merge.before(&event, |t| analyzer.capture_secs(t), &mut self.kernel_out);
                for kernel in self.kernel_out.drain(..) {
                    self.renderer.event(&kernel)?;
                }
                merge.after(&event);
            }
            match &event {
                Event::Segment(ev) => self.last_endpoints = Some(ev.endpoints()),
                Event::Connection(summary) => {
                    if let Some(timer) = &mut self.table {
                        timer.ended.push(summary.clone());
                    }
                }
                Event::Transition(t) if t.to == crate::track::TcpState::TimeWait => {
                    if let Some((client, server)) = self.last_endpoints {
                        let (local, remote) = if t.side == crate::track::Role::Client {
                            (client, server)
                        } else {
                            (server, client)
                        };
                        self.entered_time_wait.push(EnteredTimeWait {
                            conn: t.conn,
                            side: t.side,
                            local,
                            remote,
                        });
                    }
                }
                _ => {}
            }
            self.renderer.event(&event)?;
        }
        Ok(())
    }

    /// The ends that entered TIME-WAIT since the last call.
    pub fn take_time_waits(&mut self) -> Vec<EnteredTimeWait> {
        std::mem::take(&mut self.entered_time_wait)
    }

    /// Seconds from the first frame to `now` (0 before any frame).
    pub fn capture_secs(&self, now: Timestamp) -> f64 {
        self.analyzer.capture_secs(now)
    }

    /// Hands out every event held back for an arrival not yet settled, settling it
    /// as time would (see [`Tracker::settle_due`]).
    pub fn settle_all(&mut self) -> io::Result<()> {
        self.analyzer.settle_due(f64::INFINITY, &mut self.events);
        self.drain()
    }

    /// Settles what has waited long enough by the clock `now` (live capture, where
    /// no segment may come to move capture time on).
    pub fn settle_due(&mut self, now: Timestamp) -> io::Result<()> {
        let secs = self.capture_secs(now);
        self.analyzer.settle_due(secs, &mut self.events);
        self.drain()
    }

    /// Reports that the TIME-WAIT of the end `entered` names ended at `now`.
    pub fn expire_time_wait(&mut self, entered: &EnteredTimeWait, now: Timestamp) -> io::Result<()> {
        let ts = self.capture_secs(now);
        let endpoints = (entered.local, entered.remote);
        let before = self.events.len();
        self.analyzer.tracker.expire_time_wait(entered.conn, endpoints, entered.side, ts, &mut self.events);
        // The moment the kernel was seen to let go: now, exactly.
        for event in &mut self.events[before..] {
            if let Event::Transition(t) = event {
                t.time = Some(now);
            }
        }
        self.drain()
    }

    /// Shows what the kernel said about a socket.
    pub fn kernel_check(&mut self, check: crate::track::KernelCheck) -> io::Result<()> {
        self.renderer.event(&Event::Kernel(check))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.renderer.flush()
    }

    pub fn tracker(&self) -> &Tracker {
        self.analyzer.tracker()
    }

    /// Frames that passed every filter so far.
    pub fn passed(&self) -> u64 {
        self.analyzer.passed()
    }

    /// Ends the capture: summaries, then the closing statistics.
    pub fn finish(mut self, name: &str, truncated: Option<String>) -> io::Result<CaptureStats> {
        // The kernel's last changes come after the last segments, before the summaries.
        if self.kernel.is_some() {
            self.settle_all()?;
            if let Some(merge) = &mut self.kernel {
                let analyzer = &self.analyzer;
                merge.release_all(|t| analyzer.capture_secs(t), &mut self.kernel_out);
                for event in self.kernel_out.drain(..) {
                    self.renderer.event(&event)?;
                }
            }
        }
        // The last events are summaries only: no TIME-WAIT to note on the way.
        let Pipeline { analyzer, renderer, mut events, .. } = self;
        let stats = analyzer.finish(&mut events, truncated);
        for event in &events {
            renderer.event(event)?;
        }
        renderer.end(name, &stats)?;
        Ok(stats)
    }
}
