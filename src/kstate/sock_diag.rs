//! Samples of the kernel's socket table through `sock_diag` netlink (what `ss` uses):
//! the fallback where tracing is not allowed, such as the rootless demo's private
//! network namespace. A sample every 5 ms, filtered in the kernel by state (no
//! listeners) and port; a change is reported when a socket's state differs from the
//! previous sample, so a state held for less than 5 ms can be missed, and the moment
//! is that of the sample.
//!
//! The request and the replies are built and read as bytes, laid out as
//! `<linux/inet_diag.h>` and `<linux/netlink.h>` define them, so that they are tested
//! on any system; only the socket and the sampling thread are Linux's.

use super::LinuxState;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_JMP: u8 = 1;
const INET_DIAG_BC_S_EQ: u8 = 11;
const INET_DIAG_BC_D_EQ: u8 = 12;
const IPPROTO_TCP: u8 = 6;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
/// `struct inet_diag_msg`: family, state, timer, retrans, the socket id (48 bytes),
/// expires, rqueue, wqueue, uid, inode.
const DIAG_MSG_LEN: usize = 72;

/// Every state but LISTEN and CLOSE: a listener is no connection, and a closed
/// socket is not in the table.
const STATES: u32 = ((1 << 13) - 1) & !(1 << 10) & !(1 << 7) & !1;

/// One socket of a sample: its addresses and state.
pub type Sample = HashMap<(SocketAddr, SocketAddr), LinuxState>;

/// The dump request for one address family, with `sport == port || dport == port` as
/// the kernel's filter (`inet_diag` bytecode) when a port is given.
pub fn request(family: u8, port: Option<u16>, seq: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(80);
    // struct inet_diag_req_v2: family, protocol, ext, pad, states, then an empty id.
    body.extend([family, IPPROTO_TCP, 0, 0]);
    body.extend(STATES.to_ne_bytes());
    body.extend([0u8; 48]);
    if let Some(port) = port {
        // As `ss` builds `sport = :P or dport = :P`: the source comparison (8 bytes),
        // a jump (4), the destination comparison (8). A comparison goes on by `yes`
        // and leaves by `no`; landing on the end (20) accepts, beyond it refuses. The
        // kernel checks that every `no` lands on an op reached by `yes` steps, which
        // is why the jump is there: sport matches → the jump → the end.
        let mut bc = Vec::with_capacity(20);
        let op = |bc: &mut Vec<u8>, code: u8, yes: u8, no: u16| {
            bc.extend([code, yes]);
            bc.extend(no.to_ne_bytes());
        };
        op(&mut bc, INET_DIAG_BC_S_EQ, 8, 12);
        op(&mut bc, 0, 0, port);
        op(&mut bc, INET_DIAG_BC_JMP, 4, 12);
        op(&mut bc, INET_DIAG_BC_D_EQ, 8, 12);
        op(&mut bc, 0, 0, port);
        body.extend(((4 + bc.len()) as u16).to_ne_bytes());
        body.extend(INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        body.extend(bc);
    }
    let mut msg = Vec::with_capacity(NLMSG_HDRLEN + body.len());
    msg.extend(((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
    msg.extend(SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    msg.extend((NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend(seq.to_ne_bytes());
    msg.extend(0u32.to_ne_bytes());
    msg.extend(body);
    msg
}

/// What one datagram of the reply holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// More messages follow.
    More,
    /// The dump is complete.
    Done,
    /// The kernel refused the request (a negative errno).
    Error(i32),
}

/// Reads the `inet_diag_msg`s of one datagram into `sample`. A message cut short or
/// of a state Linux does not define is skipped, never a panic.
pub fn parse(datagram: &[u8], sample: &mut Sample) -> Reply {
    let mut rest = datagram;
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if len < NLMSG_HDRLEN || len > rest.len() {
            break;
        }
        let payload = &rest[NLMSG_HDRLEN..len];
        match kind {
            NLMSG_DONE => return Reply::Done,
            NLMSG_ERROR => {
                let errno = payload.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                return if errno == 0 { Reply::Done } else { Reply::Error(errno) };
            }
            SOCK_DIAG_BY_FAMILY => {
                if let Some((local, remote, state)) = socket(payload) {
                    sample.insert((local, remote), state);
                }
            }
            _ => {}
        }
        // Messages are aligned to 4 bytes.
        let next = (len + 3) & !3;
        rest = rest.get(next..).unwrap_or_default();
    }
    Reply::More
}

/// One `inet_diag_msg`.
fn socket(msg: &[u8]) -> Option<(SocketAddr, SocketAddr, LinuxState)> {
    if msg.len() < DIAG_MSG_LEN {
        return None;
    }
    let state = linux_state(msg[1])?;
    let sport = u16::from_be_bytes([msg[4], msg[5]]);
    let dport = u16::from_be_bytes([msg[6], msg[7]]);
    let addr = |at: usize| -> Option<IpAddr> {
        match msg[0] {
            AF_INET => Some(IpAddr::V4(Ipv4Addr::new(msg[at], msg[at + 1], msg[at + 2], msg[at + 3]))),
            AF_INET6 => {
                let bytes: [u8; 16] = msg[at..at + 16].try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(bytes)).to_canonical())
            }
            _ => None,
        }
    };
    Some((SocketAddr::new(addr(8)?, sport), SocketAddr::new(addr(24)?, dport), state))
}

/// `enum tcp_state`'s numbers.
fn linux_state(n: u8) -> Option<LinuxState> {
    Some(match n {
        1 => LinuxState::Established,
        2 => LinuxState::SynSent,
        3 => LinuxState::SynRecv,
        4 => LinuxState::FinWait1,
        5 => LinuxState::FinWait2,
        6 => LinuxState::TimeWait,
        7 => LinuxState::Close,
        8 => LinuxState::CloseWait,
        9 => LinuxState::LastAck,
        10 => LinuxState::Listen,
        11 => LinuxState::Closing,
        12 => LinuxState::NewSynRecv,
        _ => return None,
    })
}

/// The changes from sample `before` to sample `now`: each socket whose state differs,
/// each new one (from CLOSED, or from LISTEN for a listener's child) and each gone
/// (to CLOSED).
pub fn changes(before: &Sample, now: &Sample) -> Vec<(SocketAddr, SocketAddr, LinuxState, LinuxState)> {
    // A request socket and the child that replaces it are one SYN-RECEIVED.
    let same = |s: LinuxState| if s == LinuxState::NewSynRecv { LinuxState::SynRecv } else { s };
    let mut out = Vec::new();
    for (&(local, remote), &state) in now {
        match before.get(&(local, remote)) {
            Some(&old) if same(old) == same(state) => {}
            Some(&old) => out.push((local, remote, old, state)),
            None => {
                let from = match same(state) {
                    LinuxState::SynRecv => LinuxState::Listen,
                    _ => LinuxState::Close,
                };
                out.push((local, remote, from, state));
            }
        }
    }
    for (&(local, remote), &old) in before {
        if !now.contains_key(&(local, remote)) {
            out.push((local, remote, old, LinuxState::Close));
        }
    }
    out
}

#[cfg(target_os = "linux")]
pub use sampler::Sampler;

#[cfg(target_os = "linux")]
mod sampler {
    use super::super::{KernelChange, KernelSource, Unavailable};
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc::{self, Receiver};
    use std::thread::JoinHandle;
    use std::time::Duration;

    /// How often the table is sampled.
    const EVERY: Duration = Duration::from_millis(5);

    /// The sampling thread; dropping it stops the thread.
    pub struct Sampler {
        changes: Receiver<KernelChange>,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl Sampler {
        /// Starts sampling the sockets on `port` (every TCP socket without one). The
        /// first dump is made here, so that a socket table that cannot be read is
        /// said at once.
        pub fn start(port: Option<u16>) -> Result<Sampler, Unavailable> {
            let fd = open().map_err(|e| Unavailable::SockDiag(e.to_string()))?;
            let first = sample(&fd, port).map_err(|e| Unavailable::SockDiag(e.to_string()))?;
            let (tx, rx) = mpsc::channel();
            let stop = Arc::new(AtomicBool::new(false));
            let stopped = Arc::clone(&stop);
            let thread = std::thread::spawn(move || {
                let mut before = first;
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(EVERY);
                    let Ok(now) = sample(&fd, port) else { continue };
                    let time = crate::live::now();
                    for (local, remote, from, to) in changes(&before, &now) {
                        let change =
                            KernelChange { time, local, remote, from, to, source: KernelSource::SockDiag };
                        if tx.send(change).is_err() {
                            return;
                        }
                    }
                    before = now;
                }
            });
            Ok(Sampler { changes: rx, stop, thread: Some(thread) })
        }

        /// The changes seen since the last call.
        pub fn poll(&mut self, out: &mut Vec<KernelChange>) {
            out.extend(self.changes.try_iter());
        }
    }

    impl Drop for Sampler {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn open() -> std::io::Result<OwnedFd> {
        // SAFETY: plain socket(2); the descriptor is owned at once.
        let fd = unsafe {
            libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, libc::NETLINK_SOCK_DIAG)
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// One sample, on a socket of its own (for tests).
    #[cfg(test)]
    pub fn sample_once(port: Option<u16>) -> std::io::Result<Sample> {
        sample(&open()?, port)
    }

    /// One sample: both families' dumps.
    fn sample(fd: &OwnedFd, port: Option<u16>) -> std::io::Result<Sample> {
        let mut sample = Sample::new();
        for family in [AF_INET, AF_INET6] {
            let req = request(family, port, 1);
            // SAFETY: the buffer is valid for its length; the kernel is the address.
            let sent = unsafe { libc::send(fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
            if sent < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                // SAFETY: as above, the buffer is writable for its length.
                let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                match parse(&buf[..n as usize], &mut sample) {
                    Reply::More if n > 0 => {}
                    Reply::More | Reply::Done => break,
                    Reply::Error(errno) => return Err(std::io::Error::from_raw_os_error(-errno)),
                }
            }
        }
        Ok(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real table, through the real socket: a connection on a port of its own is
    /// seen, and one on another port is filtered out by the kernel.
    #[cfg(target_os = "linux")]
    #[test]
    fn samples_this_systems_table_by_port() {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _theirs = TcpStream::connect(other.local_addr().unwrap()).unwrap();
        let sample = match sampler::sample_once(Some(port)) {
            Ok(sample) => sample,
            Err(e) => return eprintln!("skipped: no sock_diag here ({e})"),
        };
        assert!(sample.keys().all(|(l, r)| l.port() == port || r.port() == port), "{sample:?}");
        assert!(sample.values().any(|s| *s == LinuxState::Established), "{sample:?}");
    }

    /// An `inet_diag_msg` reply as the kernel lays it out.
    fn reply(family: u8, state: u8, local: SocketAddr, remote: SocketAddr) -> Vec<u8> {
        let mut msg = vec![family, state, 0, 0];
        msg.extend(local.port().to_be_bytes());
        msg.extend(remote.port().to_be_bytes());
        for ip in [local.ip(), remote.ip()] {
            let mut bytes = [0u8; 16];
            match ip {
                IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => bytes = v6.octets(),
            }
            msg.extend(bytes);
        }
        msg.extend([0u8; 4 + 8 + 20]);
        let mut out = ((NLMSG_HDRLEN + msg.len()) as u32).to_ne_bytes().to_vec();
        out.extend(SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        out.extend(2u16.to_ne_bytes());
        out.extend([0u8; 8]);
        out.extend(msg);
        out
    }

    #[test]
    fn the_request_carries_the_port_filter() {
        let req = request(AF_INET, Some(8080), 7);
        assert_eq!(req.len(), 16 + 56 + 4 + 20);
        assert_eq!(u32::from_ne_bytes(req[..4].try_into().unwrap()) as usize, req.len());
        assert_eq!(&req[req.len() - 2..], &8080u16.to_ne_bytes());
        assert_eq!(request(AF_INET6, None, 7).len(), 16 + 56);
    }

    #[test]
    fn reads_sockets_and_the_end_of_the_dump() {
        let (a, b): (SocketAddr, SocketAddr) =
            ("127.0.0.1:40000".parse().unwrap(), "127.0.0.1:8080".parse().unwrap());
        let mut datagram = reply(AF_INET, 8, b, a);
        datagram.extend(reply(AF_INET6, 6, "[::1]:1".parse().unwrap(), "[::1]:2".parse().unwrap()));
        let mut sample = Sample::new();
        assert_eq!(parse(&datagram, &mut sample), Reply::More);
        assert_eq!(sample.get(&(b, a)), Some(&LinuxState::CloseWait));
        assert_eq!(sample.len(), 2);
        let mut done = 20u32.to_ne_bytes().to_vec();
        done.extend(NLMSG_DONE.to_ne_bytes());
        done.extend([0u8; 14]);
        assert_eq!(parse(&done, &mut sample), Reply::Done);
        // Every cut of a real datagram is read or left, never a panic.
        for cut in 0..datagram.len() {
            let _ = parse(&datagram[..cut], &mut Sample::new());
        }
    }

    #[test]
    fn changes_between_samples() {
        let (a, b): (SocketAddr, SocketAddr) =
            ("127.0.0.1:40000".parse().unwrap(), "127.0.0.1:8080".parse().unwrap());
        let before = Sample::from([((a, b), LinuxState::Established), ((b, a), LinuxState::NewSynRecv)]);
        let now = Sample::from([((a, b), LinuxState::FinWait1), ((b, a), LinuxState::SynRecv)]);
        assert_eq!(changes(&before, &now), vec![(a, b, LinuxState::Established, LinuxState::FinWait1)]);
        let gone = changes(&now, &Sample::new());
        assert_eq!(gone.len(), 2);
        assert!(gone.iter().all(|c| c.3 == LinuxState::Close));
        let new = changes(&Sample::new(), &Sample::from([((b, a), LinuxState::NewSynRecv)]));
        assert_eq!(new, vec![(b, a, LinuxState::Listen, LinuxState::NewSynRecv)]);
    }
}
