//! `tcplab lab` and `tcplab demo`: make real traffic on loopback, capture it live and
//! tell its story. Without root on Linux the whole run moves into a private network
//! namespace. The `lossy` scenario plays over a link of its own between two namespaces
//! instead. The scenarios that need Linux's namespaces, nftables or TCP_INFO are built
//! on Linux only; elsewhere they say what they need and stop.

#[cfg(target_os = "linux")]
pub mod link;
#[cfg(target_os = "linux")]
pub mod lossy;
pub mod scenario;

// Scenarios that lose packets (in a network namespace of their own) or fill a window.
#[cfg(target_os = "linux")]
mod crossing;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(target_os = "linux")]
mod sockets;
#[cfg(target_os = "linux")]
mod syn_retry;
#[cfg(target_os = "linux")]
mod zero_window;

use crate::error::{Error, Result};
use crate::i18n::{DeviceChoice, Lang, Msg};
use crate::live::{self, Until};
use crate::pipeline::{Pipeline, SegmentFilter};
use crate::render::Renderer;
use crate::source::live::{Keep, LiveCapture};
#[cfg(target_os = "linux")]
use crate::source::privilege;
use crate::track::TrackConfig;
pub use scenario::{Needs, Scenario};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// How long to wait for the last segments after the sockets are done.
const GRACE: Duration = Duration::from_secs(3);

pub struct LabRun<'a> {
    pub scenario: Scenario,
    pub close_delay: Duration,
    pub write: Option<&'a Path>,
    pub lang: Lang,
    pub config: TrackConfig,
    /// Introduce the run as `tcplab demo` rather than as a lab scenario.
    pub demo: bool,
    /// Also show the kernel's own state changes (`--kernel`).
    pub kernel: bool,
}

/// Opens a capture on loopback, moving into a private network namespace first when
/// this process may not capture (Linux; elsewhere the error says what gives the right
/// to capture). Must run before any thread is started.
// `err` and `lang` tell of the private network, which only Linux has.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
pub fn open_loopback(err: &mut impl Write, lang: Lang, keep: Keep) -> Result<LiveCapture> {
    let device = crate::source::live::loopback_device();
    match LiveCapture::open(&device, None, keep) {
        #[cfg(target_os = "linux")]
        Err(Error::NotPermitted { .. }) if !privilege::is_root() => {
            privilege::enter_private_network().map_err(|e| {
                Error::Capture(format!(
                    "cannot capture on loopback: not root, and no private network namespace ({e}); \
                     run it as root (sudo tcplab ...), or allow unprivileged user namespaces \
                     (sysctl kernel.unprivileged_userns_clone=1)"
                ))
            })?;
            writeln!(err, "tcplab: {}", lang.text(&Msg::PrivateNetwork))?;
            LiveCapture::open(&device, None, keep)
        }
        other => other,
    }
}

/// Starts reading the kernel's state changes of `port`; where that is not possible,
/// one line on `err` says why, and the capture goes on without them.
pub fn open_feed(port: Option<u16>, lang: Lang, err: &mut impl Write) -> Option<crate::kstate::Feed> {
    match crate::kstate::Feed::open(port) {
        Ok(feed) => {
            let _ = writeln!(
                err,
                "tcplab: {}",
                lang.text(&Msg::KernelFeed {
                    sampled: feed.source() != crate::kstate::KernelSource::Tracepoint
                })
            );
            Some(feed)
        }
        Err(why) => {
            let _ = writeln!(err, "tcplab: {}", lang.text(&Msg::NoKernelFeed { why: &why.to_string() }));
            None
        }
    }
}

/// Where a scenario plays: the capture, its device, the server's listening socket and,
/// for `lossy`, the link, which must outlive the capture.
struct Stage {
    capture: LiveCapture,
    device: String,
    listener: TcpListener,
    #[cfg(target_os = "linux")]
    link: Option<link::Link>,
}

impl Stage {
    /// Must run before any thread is started: both ways move this thread into a new
    /// network namespace, and threads started afterwards follow it there.
    fn set_up(scenario: Scenario, err: &mut impl Write, lang: Lang, keep: Keep) -> Result<Stage> {
        if scenario != Scenario::Lossy {
            let capture = open_loopback(err, lang, keep)?;
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let device = capture.device().to_owned();
            #[cfg(target_os = "linux")]
            return Ok(Stage { capture, device, listener, link: None });
            #[cfg(not(target_os = "linux"))]
            return Ok(Stage { capture, device, listener });
        }
        #[cfg(not(target_os = "linux"))]
        return Err(Error::Capture(format!("lab {} is not available on this system", scenario.name())));
        #[cfg(target_os = "linux")]
        Stage::set_up_lossy(keep)
    }

    /// `lossy` captures on the client's end of its own link.
    #[cfg(target_os = "linux")]
    fn set_up_lossy(keep: Keep) -> Result<Stage> {
        if !privilege::is_root() {
            return Err(Error::Capture(
                "lab lossy needs root (sudo tcplab lab lossy): it builds two network namespaces \
                 joined by TAP devices"
                    .into(),
            ));
        }
        let (link, listener) = link::build(lossy::PLAN)
            .map_err(|e| Error::Capture(format!("cannot build the lossy link: {e}")))?;
        let capture = LiveCapture::open(link::CLIENT_DEVICE, None, keep)?;
        Ok(Stage { capture, device: link::CLIENT_DEVICE.to_owned(), listener, link: Some(link) })
    }
}

/// Plays `run.scenario` and renders what was captured.
pub fn run(run: &LabRun<'_>, renderer: &mut dyn Renderer, err: &mut impl Write) -> Result<u64> {
    let keep = if run.write.is_some() { Keep::Whole } else { Keep::Headers };
    if let Some(needs) = run.scenario.missing_here() {
        return Err(Error::Capture(format!(
            "lab {} cannot run on this system: it needs {}",
            run.scenario.name(),
            needs.english()
        )));
    }
    // Before the capture opens, so that it opens on the namespace's own loopback.
    #[cfg(target_os = "linux")]
    if netns::needs_private_network(run.scenario) {
        netns::enter_private_network(err, run.lang)?;
    }
    // The stage (and, for `lossy`, its link, which carries the traffic) lives to the
    // end of this function, until the capture is over.
    let stage = Stage::set_up(run.scenario, err, run.lang, keep)?;
    let (mut capture, device, listener) = (stage.capture, stage.device, stage.listener);
    #[cfg(target_os = "linux")]
    let _link = stage.link;
    let addr: SocketAddr = listener.local_addr()?;
    // The refused scenario needs a port that nobody listens on: this one, now freed.
    let listener = run.scenario.needs_server().then_some(listener);
    capture.set_filter(&format!("tcp port {}", addr.port()))?;
    if let Some(path) = run.write {
        capture.save_to(path)?;
    }
    let intro = if run.demo {
        run.lang.text(&Msg::DemoIntro { server: addr })
    } else {
        let about = run.lang.text(&Msg::ScenarioAbout(run.scenario));
        run.lang.text(&Msg::LabIntro { scenario: run.scenario.name(), about: &about })
    };
    writeln!(err, "tcplab: {intro}")?;
    let link = capture.link_name();
    writeln!(
        err,
        "tcplab: {}",
        run.lang.text(&Msg::Listening { device: &device, link: &link, why: DeviceChoice::Asked })
    )?;
    if !crate::source::kernel::has_view() {
        writeln!(err, "tcplab: {}", run.lang.text(&Msg::NoKernelView))?;
    }
    // Before the traffic starts, so that its first change is seen; dropped (and the
    // tracing instance removed) when this function returns, whichever way.
    let mut feed = run.kernel.then(|| open_feed(Some(addr.port()), run.lang, err)).flatten();

    let traffic_done = Arc::new(AtomicBool::new(false));
    let (scenario, close_delay, done) = (run.scenario, run.close_delay, Arc::clone(&traffic_done));
    let traffic = thread::spawn(move || {
        let result = scenario.play(listener, addr, close_delay);
        done.store(true, Ordering::Release);
        result
    });

    let name = if run.demo {
        format!("{device} (tcplab demo)")
    } else {
        format!("{device} (lab {})", run.scenario.name())
    };
    renderer.begin(&name)?;
    // Packets that arrived before the kernel filter was set are filtered out here.
    let only_ours = SegmentFilter { port: Some(addr.port()), host: None };
    let mut pipeline = Pipeline::new(renderer, run.config, only_ours);
    let stop = AtomicBool::new(false);
    let session = live::run(
        &mut capture,
        &mut pipeline,
        &stop,
        Until::TrafficOver { traffic_done, grace: GRACE },
        feed.as_mut(),
    );
    let played = traffic.join().unwrap_or_else(|_| Err(std::io::Error::other("traffic thread panicked")));
    session?;
    pipeline.finish(&name, None)?;
    let stats = capture.stats();
    if let Some(path) = run.write {
        let path = crate::error::shown(path);
        writeln!(err, "tcplab: {}", run.lang.text(&Msg::Saved { path: &path, packets: stats.captured }))?;
    }
    played.map_err(|e| Error::Capture(format!("the {} scenario failed: {e}", run.scenario.name())))?;
    Ok(stats.captured)
}
