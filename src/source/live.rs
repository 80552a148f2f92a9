//! Live capture from an interface through libpcap, optionally saving every captured
//! packet to a pcap file.
//!
//! Headers only (the views) are read in immediate mode: without it Linux hands packets
//! over in blocks of the kernel's ring (TPACKET_V3), and BPF on macOS and the BSDs in
//! buffers, so a short capture stopped with Ctrl-C could lose all of them. Whole
//! packets (`-w`) on Linux are read in those blocks, which pack packets tightly, and a
//! stop waits for the last block (see [`Keep::immediate`]). The loop notices a stop
//! request within a tenth of a second: on Unix it waits with poll(2) on the capture's
//! descriptor; Npcap on Windows has none, and its read timeout is honoured, so there a
//! blocking read with that timeout waits instead.

use super::{Frame, FrameNumber, LinkType, Timestamp};
use crate::decode::link;
use crate::error::{Error, Result};
use pcap::{Active, Capture, Device, Precision, Savefile};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a blocked read comes back to look at the stop flag and timers.
pub const TICK: Duration = Duration::from_millis(100);

/// How much of each packet to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Whole packets: the largest IP packet (65,535 bytes, also the loopback MTU) plus
    /// a link header. Needed when the capture is saved with `-w`. On Linux these are
    /// read without immediate mode (see [`Keep::immediate`]): a ring of fixed slots
    /// of 64 KiB would hold only about a thousand packets.
    Whole,
    /// Headers and the first bytes of payload, all the views show. In immediate mode
    /// libpcap gives every packet a ring slot of the snap length, so keeping less
    /// makes room for sixty times more packets in the same ring: bursts are not lost.
    Headers,
}

impl Keep {
    /// Whether packets are handed over one by one as they come (libpcap's immediate
    /// mode). On Linux immediate mode uses TPACKET_V2, a ring of slots of the snap
    /// length each; without it, TPACKET_V3 packs packets one after another in blocks
    /// the kernel hands over when full or after [`BLOCK_WAIT`], so the same ring holds
    /// as many bytes of packets as it has (what `tcpdump -w` does). Whole packets are
    /// read that way there. Elsewhere (BPF) a buffer that is not full may wait longer
    /// than a poll(2) tells, so immediate mode stays.
    fn immediate(self) -> bool {
        self == Keep::Headers || !cfg!(target_os = "linux")
    }

    fn snaplen(self) -> i32 {
        match self {
            Keep::Whole => 65_535 + 64,
            // Link (≤ 24) + IPv6 with extension headers (a few hundred at most) + TCP
            // (≤ 60) + the 256-byte payload preview.
            Keep::Headers => 1024,
        }
    }
}

/// The kernel ring: 64 MiB, some 60,000 slots of headers, or as many bytes of whole
/// packets (in blocks, see [`Keep::immediate`]).
const RING_BYTES: i32 = 64 << 20;

/// Without immediate mode, how long the kernel keeps a block that is not full before
/// handing it over: what a packet may wait before it shows, and what a stop waits
/// for the last packets.
const BLOCK_WAIT: Duration = Duration::from_millis(50);

/// The most packets read in a row before `on(None)`: the output is written once per
/// batch, not once per packet (a write per packet is most of what a busy live
/// timeline costs), and time-driven work still comes between batches.
pub const BATCH: usize = 256;

/// What one non-blocking read gave.
enum Read {
    /// A packet, and whether the consumer wants more.
    Delivered(bool),
    /// Nothing waiting.
    Empty,
    /// The capture ended.
    End,
}

/// Packet counts from libpcap when the capture stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets this process read and handled.
    pub captured: u64,
    /// Packets that passed the filter in the kernel.
    pub received: u32,
    pub dropped_by_kernel: u32,
    pub dropped_by_interface: u32,
}

pub struct LiveCapture {
    device: String,
    capture: Capture<Active>,
    link: LinkType,
    /// Nanoseconds in one unit of a packet's `tv_usec`: 1 when libpcap granted the
    /// nanosecond precision asked for (Linux), 1000 when it gives microseconds (BPF
    /// on macOS, for one).
    nanos_per_tick: i64,
    savefile: Option<Savefile>,
    captured: u64,
    /// Packets come one by one; otherwise in blocks, the last one up to [`BLOCK_WAIT`]
    /// after it was captured.
    immediate: bool,
}

impl LiveCapture {
    /// Opens `device` for capture with an optional BPF filter. When this returns, the
    /// kernel is already capturing: anything sent afterwards will be seen.
    pub fn open(device: &str, bpf: Option<&str>, keep: Keep) -> Result<LiveCapture> {
        let inactive = Capture::from_device(device)
            .map_err(|e| Error::Capture(format!("cannot use device {device}: {e}")))?
            .immediate_mode(keep.immediate())
            .snaplen(keep.snaplen())
            .buffer_size(RING_BYTES)
            .timeout(if keep.immediate() { TICK } else { BLOCK_WAIT }.as_millis() as i32)
            .precision(Precision::Nano);
        let capture = match inactive.open() {
            Ok(c) => c,
            Err(e) => return Err(open_error(device, &e)),
        };
        // libpcap 1.10 on Linux keeps polling past the read timeout until a packet
        // comes, so a blocking read could never notice Ctrl-C on a quiet interface:
        // read without blocking and wait with poll(2) ourselves.
        #[cfg(unix)]
        let capture =
            capture.setnonblock().map_err(|e| Error::Capture(format!("cannot use device {device}: {e}")))?;
        let link = LinkType(capture.get_datalink().0);
        if !link::is_supported(link) {
            return Err(Error::Capture(format!(
                "{device}: link type {} is not supported; tcplab reads {}",
                link.0,
                link::SUPPORTED
            )));
        }
        // SAFETY: the handle is open and lives as long as `capture`.
        let granted = unsafe { pcap_get_tstamp_precision(capture.as_ptr().cast()) };
        let nanos_per_tick = if granted == PCAP_TSTAMP_PRECISION_NANO { 1 } else { 1000 };
        let mut live = LiveCapture {
            device: device.to_owned(),
            capture,
            link,
            nanos_per_tick,
            savefile: None,
            captured: 0,
            immediate: keep.immediate(),
        };
        if let Some(expr) = bpf {
            live.set_filter(expr)?;
        }
        Ok(live)
    }

    /// Replaces the kernel filter with the BPF expression `expr`.
    pub fn set_filter(&mut self, expr: &str) -> Result<()> {
        self.capture
            .filter(expr, true)
            .map_err(|e| Error::Filter { expr: expr.to_owned(), reason: e.to_string() })
    }

    /// The device this capture reads.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// libpcap's name for the link type (`EN10MB`, `LINUX_SLL`, …), for messages.
    pub fn link_name(&self) -> String {
        pcap::Linktype(self.link.0).get_name().unwrap_or_default()
    }

    /// Saves every packet captured from now on to `path`, as a standard pcap file.
    pub fn save_to(&mut self, path: &Path) -> Result<()> {
        let file = self
            .capture
            .savefile(path)
            .map_err(|e| Error::Open { path: path.to_owned(), reason: e.to_string() })?;
        self.savefile = Some(file);
        Ok(())
    }

    /// Reads packets and hands each to `on` as `Some(frame)` until `stop` is set or
    /// `on` returns `false`. `on(None)` comes after each batch of packets read (all
    /// that waited, up to [`BATCH`]) and at least every [`TICK`], packets or not, for
    /// work done once per batch (writing the output out) or that depends on time
    /// passing. When asked to stop, the packets already in the kernel's ring are still
    /// read, so nothing captured is lost.
    pub fn run(&mut self, stop: &AtomicBool, mut on: impl FnMut(Option<&Frame<'_>>) -> bool) -> Result<()> {
        let mut last_tick = Instant::now();
        let mut wanted = true;
        while wanted && !stop.load(Ordering::Relaxed) {
            let mut read = 0;
            if self.wait_readable(TICK) {
                // Everything waiting, without a poll(2) between packets.
                while read < BATCH {
                    match self.read_one(&mut on)? {
                        Read::Delivered(more) => {
                            read += 1;
                            wanted = more;
                            if !more {
                                break;
                            }
                        }
                        Read::Empty => break,
                        Read::End => return self.flush(),
                    }
                }
            }
            if wanted && (read > 0 || last_tick.elapsed() >= TICK) {
                last_tick = Instant::now();
                wanted = on(None);
            }
        }
        if stop.load(Ordering::Relaxed) {
            // A block not yet full is handed over after BLOCK_WAIT: wait that long
            // (twice, for the kernel's timer) for the last packets captured.
            let last = Instant::now() + if self.immediate { Duration::ZERO } else { BLOCK_WAIT * 3 };
            loop {
                match self.read_one(&mut on)? {
                    Read::Delivered(true) => {}
                    Read::Empty if Instant::now() < last => {
                        self.wait_readable(last.saturating_duration_since(Instant::now()));
                    }
                    _ => break,
                }
            }
        }
        self.flush()
    }

    /// Reads one packet without blocking and hands it to `on`.
    fn read_one(&mut self, on: &mut impl FnMut(Option<&Frame<'_>>) -> bool) -> Result<Read> {
        match self.capture.next_packet() {
            Ok(packet) => {
                if let Some(file) = &mut self.savefile {
                    file.write(&packet);
                }
                self.captured += 1;
                let frame = Frame {
                    number: FrameNumber(self.captured),
                    ts: Timestamp::from_secs_nanos(
                        packet.header.ts.tv_sec,
                        wide(packet.header.ts.tv_usec).saturating_mul(self.nanos_per_tick),
                    ),
                    link: self.link,
                    data: packet.data,
                    wire_len: packet.header.len,
                };
                Ok(Read::Delivered(on(Some(&frame))))
            }
            Err(pcap::Error::TimeoutExpired) => {
                // A quiet moment: make what was saved so far durable.
                if let Some(file) = &mut self.savefile {
                    let _ = file.flush();
                }
                Ok(Read::Empty)
            }
            Err(pcap::Error::NoMorePackets) => Ok(Read::End),
            Err(e) => Err(Error::Capture(format!("capture on {} failed: {e}", self.device))),
        }
    }

    /// Waits up to `timeout` for the capture to have something to read. A signal that
    /// interrupts the wait counts as "nothing yet", so the caller sees its stop flag.
    #[cfg(unix)]
    fn wait_readable(&self, timeout: Duration) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::{AsRawFd, BorrowedFd};
        // SAFETY: the descriptor belongs to the capture, which outlives this call.
        let fd = unsafe { BorrowedFd::borrow_raw(self.capture.as_raw_fd()) };
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        matches!(poll(&mut fds, timeout), Ok(ready) if ready > 0)
    }

    /// Windows: the blocking read itself waits, up to the capture's read timeout.
    #[cfg(not(unix))]
    fn wait_readable(&self, _timeout: Duration) -> bool {
        true
    }

    /// Writes out everything buffered for the savefile.
    pub fn flush(&mut self) -> Result<()> {
        if let Some(file) = &mut self.savefile {
            file.flush().map_err(|e| Error::Capture(format!("cannot write the capture file: {e}")))?;
        }
        Ok(())
    }

    pub fn stats(&mut self) -> LiveStats {
        let s = self.capture.stats().unwrap_or(pcap::Stat { received: 0, dropped: 0, if_dropped: 0 });
        LiveStats {
            captured: self.captured,
            received: s.received,
            dropped_by_kernel: s.dropped,
            dropped_by_interface: s.if_dropped,
        }
    }
}

fn open_error(device: &str, e: &pcap::Error) -> Error {
    let text = e.to_string();
    // Linux and BPF say "Permission denied" or "not permitted"; Npcap restricted to
    // administrators says "Access is denied".
    if text.contains("ermission")
        || text.contains("not permitted")
        || (cfg!(windows) && text.contains("denied"))
    {
        Error::NotPermitted { device: device.to_owned() }
    } else if text.contains("No such device") || text.contains("doesn't exist") {
        Error::NoSuchDevice { name: crate::render::sanitize::sanitize_str(device), available: device_names() }
    } else if cfg!(windows) {
        // Npcap words its refusals in more ways than these; say what grants capture.
        Error::Capture(format!(
            "cannot capture on {device}: {text} (to capture: {})",
            crate::error::capture_rights()
        ))
    } else {
        Error::Capture(format!("cannot capture on {device}: {text}"))
    }
}

/// The capture devices libpcap knows, comma-separated, for error messages.
pub fn device_names() -> String {
    match Device::list() {
        Ok(devices) => devices
            .iter()
            .map(|d| crate::render::sanitize::sanitize_str(&d.name))
            .collect::<Vec<_>>()
            .join(", "),
        Err(_) => "(none found)".into(),
    }
}

unsafe extern "C" {
    /// libpcap's own version string; the pcap crate does not wrap it.
    fn pcap_lib_version() -> *const std::ffi::c_char;
    /// The timestamp precision a capture really gives (libpcap 1.5 and later, Npcap);
    /// the pcap crate sets the precision but does not tell whether it was granted.
    fn pcap_get_tstamp_precision(handle: *mut std::ffi::c_void) -> std::ffi::c_int;
}

/// `PCAP_TSTAMP_PRECISION_NANO` of pcap.h.
const PCAP_TSTAMP_PRECISION_NANO: std::ffi::c_int = 1;

/// A `timeval` field as i64, whatever its width on this system.
fn wide(field: impl Into<i64>) -> i64 {
    field.into()
}

/// The version of the libpcap this binary runs with, e.g. `libpcap version 1.10.3`.
pub fn libpcap_version() -> String {
    // SAFETY: pcap_lib_version returns a pointer to a static NUL-terminated string.
    unsafe {
        let text = pcap_lib_version();
        if text.is_null() {
            return "libpcap version unknown".into();
        }
        std::ffi::CStr::from_ptr(text).to_string_lossy().into_owned()
    }
}

/// The loopback device's name: `lo` on Linux; elsewhere the device libpcap flags as
/// loopback (`lo0` on macOS and the BSDs, Npcap's `\Device\NPF_Loopback` on Windows).
pub fn loopback_device() -> String {
    if cfg!(target_os = "linux") {
        return "lo".into();
    }
    let fallback = if cfg!(windows) { r"\Device\NPF_Loopback" } else { "lo0" };
    Device::list()
        .ok()
        .and_then(|devices| devices.into_iter().find(|d| d.flags.is_loopback()))
        .map_or_else(|| fallback.into(), |d| d.name)
}

/// The device to watch when nothing names one: `any` on Linux (every interface at
/// once); elsewhere, where libpcap has no such device, the one it picks by default.
pub fn default_device() -> String {
    if cfg!(target_os = "linux") {
        return "any".into();
    }
    Device::lookup().ok().flatten().map_or_else(loopback_device, |d| d.name)
}

/// The capture device that holds `ip` among its addresses, as libpcap lists them.
pub fn device_holding(ip: std::net::IpAddr) -> Option<String> {
    Device::list().ok()?.into_iter().find(|d| d.addresses.iter().any(|a| a.addr == ip)).map(|d| d.name)
}

/// Every capture device, for `tcplab interfaces`.
pub fn devices() -> Result<Vec<Device>> {
    Device::list().map_err(|e| Error::Capture(format!("cannot list capture devices: {e}")))
}
