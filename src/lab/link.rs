//! A delayed, lossy link between two network namespaces, for the `lossy` lab: two TAP
//! devices and a forwarder of our own between them, because this kernel has no `tc
//! netem`.
//!
//! The calling thread moves into a fresh network namespace (the client's host, "A");
//! a short-lived thread makes a second one (the server's host, "B"). Each gets a TAP
//! device with an address that exists only there, and two forwarder threads copy
//! Ethernet frames between the TAP file descriptors: every frame waits a fixed delay,
//! and a [`Tamper`] plan drops or holds back chosen TCP segments. ARP, IPv6 neighbour
//! discovery and everything else that is not a chosen segment passes unharmed.
//!
//! Nothing here has a name outside the process: the namespaces are not mounted under
//! /run/netns, and the TAP devices are not persistent. The kernel frees each
//! namespace, and the TAP device inside it, when its last thread, socket and file
//! descriptor are gone, so exiting, Ctrl-C and errors all clean up without any code
//! on those paths.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The client's TAP device, in the namespace of the thread that built the link: the
/// place to capture, like capturing on the client's host.
pub const CLIENT_DEVICE: &str = "tcplab-client";
const SERVER_DEVICE: &str = "tcplab-server";
/// Private addresses that exist only inside the two namespaces.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);
const NETMASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);

/// How often a forwarder looks at its stop flag when nothing happens.
const TICK: Duration = Duration::from_millis(100);
/// The longest a held-back segment waits for the next one to overtake it: if no data
/// follows, it goes on late rather than never.
const HOLD_LIMIT: Duration = Duration::from_millis(20);
/// Larger than any frame a TAP device with a 1500-byte MTU hands over.
const FRAME_BUFFER: usize = 65_536;

/// What happens to one direction's TCP data. Bytes are named by their relative
/// sequence number, as Wireshark counts them: the first data byte after the SYN is 1.
#[derive(Debug, Clone, Copy)]
pub struct Tamper {
    /// The first segment that carries each of these bytes is lost; its
    /// retransmissions pass.
    pub drop_first_carrying: &'static [u32],
    /// The first segment that carries this byte is held back until the next data
    /// segment has overtaken it, so the receiver sees the two out of order.
    pub hold_first_carrying: Option<u32>,
}

/// The link's behaviour in both directions.
#[derive(Debug, Clone, Copy)]
pub struct LinkPlan {
    /// Every frame, in each direction, arrives this long after it was sent.
    pub one_way_delay: Duration,
    pub client_to_server: Tamper,
    pub server_to_client: Tamper,
}

/// The running link. Dropping it stops the forwarders; the namespaces and devices go
/// with the last socket and file descriptor that uses them.
pub struct Link {
    stop: Arc<AtomicBool>,
    forwarders: Vec<JoinHandle<()>>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for forwarder in self.forwarders.drain(..) {
            // A forwarder that panicked has nothing left to clean up.
            let _ = forwarder.join();
        }
    }
}

/// Builds the link as `plan` says and returns it with a listening socket at
/// [`SERVER_IP`] in the server's namespace. Needs CAP_SYS_ADMIN and CAP_NET_ADMIN
/// (root). The calling thread stays in the client's namespace, so threads it starts
/// afterwards, a capture it opens on [`CLIENT_DEVICE`] and sockets it connects are
/// all on the client's side.
pub fn build(plan: LinkPlan) -> io::Result<(Link, TcpListener)> {
    enter_new_network_namespace()?;
    let client_tap = open_tap(CLIENT_DEVICE)?;
    configure(CLIENT_DEVICE, CLIENT_IP)?;
    without_tail_loss_probe()?;
    // Namespaces belong to threads: this one unshares its own, sets up the server's
    // side and ends; the TAP descriptor and the listener keep that namespace alive.
    let server_side = thread::Builder::new().name("lab-link-server".into()).spawn(|| {
        enter_new_network_namespace()?;
        let tap = open_tap(SERVER_DEVICE)?;
        configure(SERVER_DEVICE, SERVER_IP)?;
        let listener = TcpListener::bind((SERVER_IP, 0))?;
        Ok::<_, io::Error>((tap, listener))
    })?;
    let (server_tap, listener) =
        server_side.join().map_err(|_| io::Error::other("setting up the server's namespace panicked"))??;

    let stop = Arc::new(AtomicBool::new(false));
    let mut forwarders = Vec::new();
    for (from, to, tamper, name) in [
        (client_tap.try_clone()?, server_tap.try_clone()?, plan.client_to_server, "lab-link-c2s"),
        (server_tap, client_tap, plan.server_to_client, "lab-link-s2c"),
    ] {
        let stop = Arc::clone(&stop);
        let delay = plan.one_way_delay;
        forwarders.push(
            thread::Builder::new()
                .name(name.into())
                .spawn(move || forward(&from, &to, tamper, delay, &stop))?,
        );
    }
    Ok((Link { stop, forwarders }, listener))
}

fn enter_new_network_namespace() -> io::Result<()> {
    // SAFETY: unshare moves only the calling thread; the result is checked.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Turns off Linux's tail loss probe in this thread's namespace (and only there), so
/// that a lone lost segment waits for the retransmission timer, as the textbook tells
/// it; with the probe, Linux would resend it after about two round trips instead.
fn without_tail_loss_probe() -> io::Result<()> {
    std::fs::write("/proc/sys/net/ipv4/tcp_early_retrans", "0")
}

/// An `ifreq` naming `device`, everything else zero.
fn request_for(device: &str) -> io::Result<libc::ifreq> {
    if device.len() >= libc::IFNAMSIZ || device.contains('\0') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad device name {device:?}")));
    }
    // SAFETY: ifreq is plain data, valid when zeroed.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(device.bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

fn ioctl(fd: RawFd, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: every request used here reads or writes one ifreq, which `req` is.
    if unsafe { libc::ioctl(fd, request, req as *mut libc::ifreq) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Creates the TAP device `name` in this thread's namespace: Ethernet frames without
/// the packet-information prefix. It lives as long as the returned file.
fn open_tap(name: &str) -> io::Result<File> {
    let tun = OpenOptions::new().read(true).write(true).open("/dev/net/tun")?;
    let mut req = request_for(name)?;
    req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    ioctl(tun.as_raw_fd(), libc::TUNSETIFF, &mut req)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create TAP device {name}: {e}")))?;
    Ok(tun)
}

/// `ip addr add IP/24 dev DEVICE; ip link set DEVICE up`, with the ioctls `ip` used
/// to use, in this thread's namespace.
fn configure(device: &str, ip: Ipv4Addr) -> io::Result<()> {
    // SAFETY: a plain datagram socket, owned at once so that it is closed on every path.
    let socket = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        OwnedFd::from_raw_fd(fd)
    };
    let fd = socket.as_raw_fd();
    for (request, value) in [(libc::SIOCSIFADDR, ip), (libc::SIOCSIFNETMASK, NETMASK)] {
        let mut req = request_for(device)?;
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr { s_addr: u32::from(value).to_be() },
            sin_zero: [0; 8],
        };
        // SAFETY: ifru_addr is a 16-byte sockaddr, the size of a sockaddr_in; the
        // write does not assume alignment.
        unsafe {
            std::ptr::write_unaligned(
                std::ptr::addr_of_mut!(req.ifr_ifru.ifru_addr).cast::<libc::sockaddr_in>(),
                addr,
            );
        }
        ioctl(fd, request, &mut req)?;
    }
    let mut req = request_for(device)?;
    ioctl(fd, libc::SIOCGIFFLAGS, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled in the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    ioctl(fd, libc::SIOCSIFFLAGS, &mut req)
}

/// What the link does with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Drop,
    /// Passes, but only after the next data segment in the same direction.
    HoldBack,
}

/// Decides, frame by frame, which of one direction's segments a [`Tamper`] plan hits.
struct Judge {
    tamper: Tamper,
    /// The sender's initial sequence number, from its SYN.
    isn: Option<u32>,
    /// For each byte in `drop_first_carrying`, whether its segment was dropped already.
    dropped: Vec<bool>,
    held: bool,
}

/// The TCP facts the forwarder needs from a frame.
struct Tcp {
    seq: u32,
    len: u32,
    syn: bool,
}

impl Judge {
    fn new(tamper: Tamper) -> Judge {
        Judge { tamper, isn: None, dropped: vec![false; tamper.drop_first_carrying.len()], held: false }
    }

    fn judge(&mut self, tcp: Option<&Tcp>) -> Verdict {
        let Some(tcp) = tcp else { return Verdict::Pass };
        if tcp.syn {
            // A new connection (or its retransmitted SYN): count from here.
            self.isn = Some(tcp.seq);
            return Verdict::Pass;
        }
        let Some(isn) = self.isn else { return Verdict::Pass };
        let first = tcp.seq.wrapping_sub(isn);
        // Wrapping arithmetic: a byte before `first` gives a huge offset, never < len.
        let carries = |byte: u32| byte.wrapping_sub(first) < tcp.len;
        for (byte, dropped) in self.tamper.drop_first_carrying.iter().zip(&mut self.dropped) {
            if !*dropped && carries(*byte) {
                *dropped = true;
                return Verdict::Drop;
            }
        }
        if let Some(byte) = self.tamper.hold_first_carrying
            && !self.held
            && carries(byte)
        {
            self.held = true;
            return Verdict::HoldBack;
        }
        Verdict::Pass
    }
}

/// Sequence number, payload length and SYN flag of a TCP segment in an Ethernet
/// frame; `None` for anything else, including frames too short or malformed to read.
fn tcp_in(frame: &[u8]) -> Option<Tcp> {
    let packet = etherparse::SlicedPacket::from_ethernet(frame).ok()?;
    let Some(etherparse::TransportSlice::Tcp(tcp)) = packet.transport else { return None };
    let len = u32::try_from(tcp.payload().len()).ok()?;
    Some(Tcp { seq: tcp.sequence_number(), len, syn: tcp.syn() })
}

/// A frame on its way, and when it arrives.
struct InFlight {
    frame: Vec<u8>,
    due: Instant,
    carries_data: bool,
    /// Counts frames as they were read, so that a held-back frame waits for one sent
    /// after it, not for one already on the way.
    order: u64,
}

/// One direction of the link: frames on their way, in the order they were sent, and
/// the one frame held back, if any.
struct Lane {
    judge: Judge,
    delay: Duration,
    in_flight: VecDeque<InFlight>,
    held: Option<InFlight>,
    read_so_far: u64,
}

impl Lane {
    fn new(tamper: Tamper, delay: Duration) -> Lane {
        Lane { judge: Judge::new(tamper), delay, in_flight: VecDeque::new(), held: None, read_so_far: 0 }
    }

    /// When the next frame is due to arrive, if any is on its way.
    fn next_due(&self) -> Option<Instant> {
        self.in_flight.front().map(|f| f.due).into_iter().chain(self.held.as_ref().map(|h| h.due)).min()
    }

    /// Takes in a frame sent at `now`: loses it, or sends it on its way, perhaps held back.
    fn send(&mut self, frame: Vec<u8>, now: Instant) {
        let tcp = tcp_in(&frame);
        let carries_data = tcp.as_ref().is_some_and(|t| t.len > 0);
        self.read_so_far += 1;
        let order = self.read_so_far;
        match self.judge.judge(tcp.as_ref()) {
            Verdict::Pass => {
                self.in_flight.push_back(InFlight { frame, due: now + self.delay, carries_data, order })
            }
            Verdict::Drop => {}
            Verdict::HoldBack => {
                let due = now + self.delay + HOLD_LIMIT;
                self.held = Some(InFlight { frame, due, carries_data, order });
            }
        }
    }

    /// Hands every frame due by `now` to `deliver`, in the order they arrive: the
    /// held-back frame right after the first data segment sent after it, or alone
    /// once it has waited its longest.
    fn arrive(&mut self, now: Instant, mut deliver: impl FnMut(&[u8])) {
        while let Some(next) = self.in_flight.pop_front_if(|f| f.due <= now) {
            deliver(&next.frame);
            if next.carries_data
                && let Some(late) = self.held.take_if(|h| h.order < next.order)
            {
                deliver(&late.frame);
            }
        }
        if let Some(late) = self.held.take_if(|h| h.due <= now) {
            deliver(&late.frame);
        }
    }
}

/// Copies frames from `from` to `to`, each `delay` late and as `tamper` says, until
/// `stop` is set.
fn forward(from: &File, to: &File, tamper: Tamper, delay: Duration, stop: &AtomicBool) {
    let mut lane = Lane::new(tamper, delay);
    let mut buf = vec![0u8; FRAME_BUFFER];
    while !stop.load(Ordering::Relaxed) {
        let wait =
            lane.next_due().map_or(TICK, |due| due.saturating_duration_since(Instant::now()).min(TICK));
        match wait_for_frame(from, wait) {
            Waited::Nothing => {}
            // The device is gone: the link is being torn down.
            Waited::Gone => return,
            Waited::Frame => match (&*from).read(&mut buf) {
                Ok(0) => {}
                Ok(n) => lane.send(buf[..n].to_vec(), Instant::now()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            },
        }
        lane.arrive(Instant::now(), |frame| deliver(to, frame));
    }
}

/// Hands a frame to the receiving namespace. A frame the device refuses is lost, as on
/// any link; TCP recovers, and the capture shows it.
fn deliver(to: &File, frame: &[u8]) {
    let _ = (&*to).write(frame);
}

/// What waiting on a TAP descriptor gave.
enum Waited {
    Frame,
    Nothing,
    /// An error or hang-up without a frame: reading again would only fail again.
    Gone,
}

/// Waits up to `timeout` for `file` to have a frame to read.
fn wait_for_frame(file: &File, timeout: Duration) -> Waited {
    let mut fd = libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, and its count.
    let ready = unsafe { libc::poll(&mut fd, 1, timeout.as_millis() as libc::c_int) };
    if ready <= 0 {
        Waited::Nothing
    } else if fd.revents & libc::POLLIN != 0 {
        Waited::Frame
    } else {
        Waited::Gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(seq: u32, len: u32) -> Tcp {
        Tcp { seq, len, syn: false }
    }

    #[test]
    fn drops_the_first_segment_carrying_each_chosen_byte_once() {
        let mut judge = Judge::new(Tamper { drop_first_carrying: &[6000], hold_first_carrying: None });
        let isn = u32::MAX - 100; // sequence numbers wrap inside this connection
        assert_eq!(judge.judge(Some(&Tcp { seq: isn, len: 0, syn: true })), Verdict::Pass);
        let at = |rel: u32| isn.wrapping_add(rel);
        assert_eq!(judge.judge(Some(&segment(at(1), 1448))), Verdict::Pass);
        assert_eq!(judge.judge(Some(&segment(at(5793), 1448))), Verdict::Drop, "5793..=7240 carries 6000");
        assert_eq!(judge.judge(Some(&segment(at(7241), 1448))), Verdict::Pass);
        assert_eq!(judge.judge(Some(&segment(at(5793), 1448))), Verdict::Pass, "the retransmission passes");
    }

    #[test]
    fn holds_back_one_segment_and_passes_everything_else() {
        let mut judge = Judge::new(Tamper { drop_first_carrying: &[], hold_first_carrying: Some(8000) });
        assert_eq!(judge.judge(None), Verdict::Pass, "not TCP");
        assert_eq!(judge.judge(Some(&segment(7000, 1448))), Verdict::Pass, "no SYN seen yet");
        judge.judge(Some(&Tcp { seq: 0, len: 0, syn: true }));
        assert_eq!(judge.judge(Some(&segment(8000, 0))), Verdict::Pass, "a pure ACK carries no byte");
        assert_eq!(judge.judge(Some(&segment(7241, 1448))), Verdict::HoldBack);
        assert_eq!(judge.judge(Some(&segment(7241, 1448))), Verdict::Pass);
    }

    /// An Ethernet frame with a TCP segment from the client, `len` bytes of payload.
    fn frame(seq: u32, len: usize, syn: bool) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(CLIENT_IP.octets(), SERVER_IP.octets(), 64)
            .tcp(40000, 8080, seq, 64240);
        let builder = if syn { builder.syn() } else { builder.ack(1) };
        let mut bytes = Vec::new();
        builder.write(&mut bytes, &vec![b'x'; len]).expect("a frame in memory");
        bytes
    }

    /// The sequence numbers of the TCP frames `lane` delivers by `at`.
    fn arrivals(lane: &mut Lane, at: Instant) -> Vec<u32> {
        let mut seqs = Vec::new();
        lane.arrive(at, |f| seqs.extend(tcp_in(f).map(|t| t.seq)));
        seqs
    }

    #[test]
    fn a_lane_delays_loses_and_swaps_as_planned() {
        let delay = Duration::from_millis(25);
        let tamper = Tamper { drop_first_carrying: &[3000], hold_first_carrying: Some(1500) };
        let mut lane = Lane::new(tamper, delay);
        let t0 = Instant::now();
        lane.send(frame(0, 0, true), t0);
        for seq in [1, 1001, 2001, 3001] {
            lane.send(frame(seq, 1000, false), t0); // 1001 is held, 2001 lost
        }
        assert_eq!(arrivals(&mut lane, t0 + delay / 2), Vec::<u32>::new(), "nothing before the delay");
        assert_eq!(arrivals(&mut lane, t0 + delay), [0, 1, 3001, 1001], "1001 after the segment sent next");
        lane.send(frame(2001, 1000, false), t0 + delay);
        assert_eq!(arrivals(&mut lane, t0 + 2 * delay), [2001], "the retransmission passes");
    }

    #[test]
    fn a_held_frame_with_nothing_behind_it_goes_on_late() {
        let delay = Duration::from_millis(25);
        let mut lane = Lane::new(Tamper { drop_first_carrying: &[], hold_first_carrying: Some(1) }, delay);
        let t0 = Instant::now();
        lane.send(frame(0, 0, true), t0);
        lane.send(frame(1, 100, false), t0);
        assert_eq!(arrivals(&mut lane, t0 + delay), [0]);
        assert_eq!(lane.next_due(), Some(t0 + delay + HOLD_LIMIT));
        assert_eq!(arrivals(&mut lane, t0 + delay + HOLD_LIMIT), [1]);
    }

    #[test]
    fn frames_that_are_not_tcp_are_not_read_as_segments() {
        assert!(tcp_in(&[]).is_none());
        assert!(tcp_in(&[0xff; 14]).is_none());
        // An ARP request: Ethernet type 0x0806.
        let mut arp = vec![0xff; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0; 28]);
        assert!(tcp_in(&arp).is_none());
    }
}
