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
use crate::source::sockdiag::{self, DiagSocket};
use std::collections::HashMap;
use std::net::SocketAddr;

pub use crate::source::sockdiag::{AF_INET, AF_INET6};

/// Every state but LISTEN and CLOSE: a listener is no connection, and a closed
/// socket is not in the table.
const STATES: u32 = ((1 << 13) - 1) & !(1 << 10) & !(1 << 7) & !1;

/// One socket of a sample: its addresses and state.
pub type Sample = HashMap<(SocketAddr, SocketAddr), LinuxState>;

/// The dump request for one address family, with `sport == port || dport == port` as
/// the kernel's filter (`inet_diag` bytecode, built as `ss` builds it) when a port is
/// given.
pub fn request(family: u8, port: Option<u16>, seq: u32) -> Vec<u8> {
    sockdiag::request_states(family, STATES, port.as_slice(), seq)
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
    let dump = sockdiag::parse_dump(datagram);
    add(sample, &dump.sockets);
    match (dump.error, dump.done) {
        (Some(errno), _) => Reply::Error(errno),
        (None, true) => Reply::Done,
        (None, false) => Reply::More,
    }
}

/// Adds the sockets of a dump to `sample`, IPv4-mapped addresses as IPv4 (as the
/// capture shows them) and in the states Linux defines.
fn add(sample: &mut Sample, sockets: &[DiagSocket]) {
    for s in sockets {
        if let Some(state) = linux_state(s.state) {
            let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
            sample.insert((canonical(s.local), canonical(s.remote)), state);
        }
    }
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
    use std::os::fd::OwnedFd;
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
        sockdiag::open()
    }

    /// One sample, on a socket of its own (for tests).
    #[cfg(test)]
    pub fn sample_once(port: Option<u16>) -> std::io::Result<Sample> {
        sample(&open()?, port)
    }

    /// One sample: both families' dumps.
    fn sample(fd: &OwnedFd, port: Option<u16>) -> std::io::Result<Sample> {
        let mut sample = Sample::new();
        add(&mut sample, &sockdiag::dump(fd, STATES, port.as_slice())?);
        Ok(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::sockdiag::{NLMSG_DONE, NLMSG_HDR as NLMSG_HDRLEN, SOCK_DIAG_BY_FAMILY};
    use std::net::IpAddr;

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
