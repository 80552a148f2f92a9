//! `tcplab watch`: the annotated timeline of live traffic, as it happens.

use crate::cli::WatchArgs;
use crate::error::Result;
use crate::i18n::{DeviceChoice, Msg};
use crate::live::{self, Until};
use crate::pipeline::{Pipeline, SegmentFilter};
use crate::replay::{renderer, track_config};
use crate::source::live::{self as capture_device, Keep, LiveCapture};
use crate::source::{device_choice, kernel, privilege};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where to capture: `-i` if given; with `--port`, where that port's traffic flows
/// (see [`device_choice`]); else `any` on Linux, libpcap's default device elsewhere.
pub fn choose_device(args: &WatchArgs) -> (String, DeviceChoice) {
    if let Some(device) = &args.interface {
        return (device.clone(), DeviceChoice::Asked);
    }
    match args.filter.port {
        Some(port) => device_choice::for_port(port, kernel::listening_on(port).as_deref()),
        None if cfg!(target_os = "linux") => ("any".into(), DeviceChoice::AnyInterface),
        None => (capture_device::default_device(), DeviceChoice::DefaultInterface),
    }
}

/// The kernel filter: TCP, narrowed by `--port`, `--host` and `-f`.
pub fn kernel_filter(args: &WatchArgs) -> String {
    let mut parts = vec!["tcp".to_string()];
    if let Some(port) = args.filter.port {
        parts.push(format!("port {port}"));
    }
    if let Some(host) = &args.filter.host {
        parts.push(format!("host {}", host.ip));
    }
    if let Some(expr) = &args.filter.bpf {
        parts.push(format!("({expr})"));
    }
    parts.join(" and ")
}

/// A flag set each time Enter is pressed, when standard input is a terminal: the
/// table of connections is then printed at once (`--summary-every`). The thread reading
/// the terminal ends with the program.
fn table_on_enter() -> Arc<AtomicBool> {
    let asked = Arc::new(AtomicBool::new(false));
    if std::io::stdin().is_terminal() {
        let flag = Arc::clone(&asked);
        let spawned = std::thread::Builder::new().name("enter-key".into()).spawn(move || {
            for line in std::io::stdin().lines() {
                if line.is_err() {
                    break;
                }
                flag.store(true, Ordering::Release);
            }
        });
        // Without the thread the table still comes on its timer.
        drop(spawned);
    }
    asked
}

/// Watches until Ctrl-C or SIGTERM, then prints the summary and capture statistics.
pub fn run(args: &WatchArgs, out: impl Write, err: &mut impl Write) -> Result<()> {
    let lang = args.view.lang();
    // The page server first: it forks into a process of its own without any rights,
    // which must happen before the capture opens and before any thread starts.
    let page = crate::replay::serve(&args.view, err)?;
    let (device, why) = choose_device(args);
    // A saved capture keeps whole packets; a view needs only their headers.
    let keep = if args.write.is_some() { Keep::Whole } else { Keep::Headers };
    let mut capture = LiveCapture::open(&device, Some(&kernel_filter(args)), keep)?;
    let mut feed = args.kernel.then(|| crate::lab::open_feed(args.filter.port, lang, err)).flatten();
    // The capture is open: root is no longer needed (files below belong to the user),
    // unless the kernel is traced: removing the tracing instance at the end needs it.
    if feed.is_none() {
        privilege::drop_to_sudo_user()?;
    }
    if let Some(path) = &args.write {
        capture.save_to(path)?;
    }
    let stop = live::stop_on_signals()?;
    let link = capture.link_name();
    writeln!(err, "tcplab: {}", lang.text(&Msg::Listening { device: &device, link: &link, why }))?;
    if let Some(note) = args.filter.host.as_ref().and_then(|h| h.resolved_note()) {
        writeln!(err, "tcplab: {note}")?;
    }
    if !kernel::has_view() {
        writeln!(err, "tcplab: {}", lang.text(&Msg::NoKernelView))?;
    }
    writeln!(err, "tcplab: {}", lang.text(&Msg::StopHint))?;
    err.flush()?;

    let mut renderer = renderer(&args.view, out, page.as_ref())?;
    renderer.begin(&format!("live {device}"))?;
    let filter = SegmentFilter { port: args.filter.port, host: args.filter.host.as_ref().map(|h| h.ip) };
    let mut pipeline = Pipeline::new(renderer.as_mut(), track_config(&args.view), filter);
    if let Some(every) = args.summary_every {
        pipeline.table_every(every, table_on_enter());
    }
    let session = live::run(
        &mut capture,
        &mut pipeline,
        &stop,
        Until::Asked { count: args.count, first_closed: args.until_closed },
        feed.as_mut(),
    );
    // Whatever happened, the capture file is complete and the summary is printed.
    let flushed = capture.flush();
    let finished = pipeline.finish(&format!("live {device}"), None);
    let stats = capture.stats();
    writeln!(
        err,
        "tcplab: {}",
        lang.text(&Msg::LiveStats {
            captured: stats.captured,
            received: stats.received,
            dropped_by_kernel: stats.dropped_by_kernel,
            dropped_by_interface: stats.dropped_by_interface,
            // The note explains a filter count above the captured one: on `any` that
            // happens only when loopback traffic is among it, not for a LAN's alone.
            loopback: (device == "lo" || device == "any") && u64::from(stats.received) > stats.captured,
        })
    )?;
    if stats.dropped_by_kernel > 0 {
        writeln!(err, "tcplab: {}", lang.text(&Msg::KernelDropped { count: stats.dropped_by_kernel }))?;
    }
    if let Some(path) = &args.write {
        let path = crate::error::shown(path);
        writeln!(err, "tcplab: {}", lang.text(&Msg::Saved { path: &path, packets: stats.captured }))?;
    }
    session?;
    flushed?;
    finished?;
    Ok(())
}
