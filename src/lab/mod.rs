//! `tcplab lab` and `tcplab demo`: make real traffic on loopback, capture it live and
//! tell its story. Without root on Linux the whole run moves into a private network
//! namespace. The `lossy` scenario plays over a link of its own between two namespaces
//! instead, and `lan` on a LAN of namespaces (a server's host and students' hosts). The scenarios that need Linux's namespaces, nftables or TCP_INFO are built
//! on Linux only; elsewhere they say what they need and stop.

#[cfg(target_os = "linux")]
pub mod lan;
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
    /// How many students the `lan` scenario seats.
    pub clients: usize,
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

/// Where a scenario plays: the capture, its device, the server's listening socket and
/// the address clients connect to; for `lossy` the link and for `lan` the LAN, which
/// must outlive the capture.
struct Stage {
    capture: LiveCapture,
    device: String,
    listener: TcpListener,
    server: SocketAddr,
    #[cfg(target_os = "linux")]
    link: Option<link::Link>,
    #[cfg(target_os = "linux")]
    lan: Option<lan::Lan>,
}

impl Stage {
    /// Must run before any thread is started: each way moves this thread into a new
    /// network namespace, and threads started afterwards follow it there.
    fn set_up(run: &LabRun<'_>, err: &mut impl Write, keep: Keep) -> Result<Stage> {
        match run.scenario {
            #[cfg(target_os = "linux")]
            Scenario::Lossy => Stage::set_up_lossy(keep),
            #[cfg(target_os = "linux")]
            Scenario::Lan => Stage::set_up_lan(run.clients, err, run.lang, keep),
            #[cfg(not(target_os = "linux"))]
            Scenario::Lossy | Scenario::Lan => {
                Err(Error::Capture(format!("lab {} is not available on this system", run.scenario.name())))
            }
            _ => {
                let capture = open_loopback(err, run.lang, keep)?;
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let server = listener.local_addr()?;
                let device = capture.device().to_owned();
                Ok(Stage {
                    capture,
                    device,
                    listener,
                    server,
                    #[cfg(target_os = "linux")]
                    link: None,
                    #[cfg(target_os = "linux")]
                    lan: None,
                })
            }
        }
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
        let server = listener.local_addr()?;
        Ok(Stage {
            capture,
            device: link::CLIENT_DEVICE.to_owned(),
            listener,
            server,
            link: Some(link),
            lan: None,
        })
    }

    /// `lan` captures on the server's interface, in the server's namespace, which this
    /// thread enters: as root a network namespace is enough; without root, a user
    /// namespace too, where this process may build networks.
    #[cfg(target_os = "linux")]
    fn set_up_lan(students: usize, err: &mut impl Write, lang: Lang, keep: Keep) -> Result<Stage> {
        let entered = if privilege::is_root() {
            privilege::enter_network_namespace()
        } else {
            privilege::enter_private_network()
        };
        entered.map_err(|e| {
            Error::Capture(format!(
                "lab lan cannot make the server's network namespace ({e}): run it as root \
                 (sudo tcplab lab lan), or allow unprivileged user namespaces"
            ))
        })?;
        writeln!(err, "tcplab: {}", lang.text(&Msg::LanBuilt { students }))?;
        let (lan, listener) =
            lan::build(students).map_err(|e| Error::Capture(format!("cannot build the LAN: {e}")))?;
        let capture = LiveCapture::open(lan::SERVER_DEVICE, None, keep)?;
        let server = SocketAddr::from((lan::SERVER_IP, listener.local_addr()?.port()));
        Ok(Stage {
            capture,
            device: lan::SERVER_DEVICE.to_owned(),
            listener,
            server,
            link: None,
            lan: Some(lan),
        })
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
    let stage = Stage::set_up(run, err, keep)?;
    let (mut capture, device, listener, addr) = (stage.capture, stage.device, stage.listener, stage.server);
    #[cfg(target_os = "linux")]
    let (_link, lan) = (stage.link, stage.lan);
    // The refused scenario needs a port that nobody listens on: this one, now freed.
    let listener = run.scenario.needs_server().then_some(listener);
    capture.set_filter(&format!("tcp port {}", addr.port()))?;
    if let Some(path) = run.write {
        capture.save_to(path)?;
    }
    let intro = if run.demo && run.scenario != Scenario::Lan {
        run.lang.text(&Msg::DemoIntro { server: addr })
    } else {
        let about = run.lang.text(&Msg::ScenarioAbout(run.scenario));
        run.lang.text(&Msg::LabIntro { scenario: run.scenario.name(), about: &about })
    };
    writeln!(err, "tcplab: {intro}")?;
    let link = capture.link_name();
    let stage_choice =
        if run.scenario == Scenario::Lan { DeviceChoice::LanServer } else { DeviceChoice::Asked };
    writeln!(
        err,
        "tcplab: {}",
        run.lang.text(&Msg::Listening { device: &device, link: &link, why: stage_choice })
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
        #[cfg(target_os = "linux")]
        let result = match (lan, listener) {
            (Some(lan), Some(listener)) => lan.play(listener, addr, close_delay),
            (_, listener) => scenario.play(listener, addr, close_delay),
        };
        #[cfg(not(target_os = "linux"))]
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
