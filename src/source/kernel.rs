//! The kernel's own table of TCP sockets, on whichever system this is: Linux's
//! `/proc/net/tcp`, the BSDs' and macOS's `netstat`, Windows's `GetExtendedTcpTable`.
//! Live captures use it to confirm a TIME-WAIT seen on the wire, and `watch` to find
//! out whether a port is served on this machine.
//!
//! Each system's table is parsed by a module of its own; the parsers are compiled
//! everywhere, so recorded samples of every system's table are tested on any of them.

use crate::track::TcpState;
use std::net::SocketAddr;
use std::time::Duration;

/// One TCP socket as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: TcpState,
    /// Time left on the socket's timer (for TIME-WAIT: until the kernel forgets it).
    /// Only Linux's table shows it.
    pub timer_left: Option<Duration>,
}

/// Where this system's socket table comes from, for messages; `None` where tcplab has
/// no way to ask.
pub const TABLE: Option<&str> = if cfg!(target_os = "linux") {
    Some("/proc/net/tcp")
} else if cfg!(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd"
)) {
    Some("netstat")
} else if cfg!(windows) {
    Some("GetExtendedTcpTable")
} else {
    None
};

/// All TCP sockets of this machine (on Linux: of this network namespace); `None` when
/// the table cannot be read here.
pub fn sockets() -> Option<Vec<KernelSocket>> {
    #[cfg(target_os = "linux")]
    {
        Some(super::procnet::sockets())
    }
    #[cfg(any(target_vendor = "apple", target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
    {
        super::netstat::sockets()
    }
    #[cfg(windows)]
    {
        super::tcptable::sockets()
    }
    #[cfg(not(any(
        target_os = "linux",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        windows
    )))]
    {
        None
    }
}

/// Whether this system's socket table can be read at all.
pub fn has_view() -> bool {
    // /proc/net/tcp is always there on Linux; reading it only to know that costs ~2 ms.
    cfg!(target_os = "linux") || sockets().is_some()
}

/// Whether something listens on TCP `port` here.
pub fn is_listening(port: u16) -> bool {
    listening_on(port).is_some_and(|addrs| !addrs.is_empty())
}

/// The addresses TCP `port` is listened on here (`0.0.0.0` or `::` for every
/// address), empty when nothing listens; `None` when the table cannot be read. On
/// Linux one `sock_diag` dump of the port's listening sockets, elsewhere the table.
pub fn listening_on(port: u16) -> Option<Vec<std::net::IpAddr>> {
    #[cfg(target_os = "linux")]
    if let Some(addrs) = super::sockdiag::listening_on(port) {
        return Some(addrs);
    }
    let sockets = sockets()?;
    Some(
        sockets
            .iter()
            .filter(|s| s.state == TcpState::Listen && s.local.port() == port)
            .map(|s| s.local.ip())
            .collect(),
    )
}

/// The kernel's TIME-WAIT sockets at one moment, keyed by their own address and their
/// peer's, each with its time left where the system tells it. A live capture reads it
/// once per poll for every connection it follows: one table read, not one per socket.
#[derive(Debug, Default)]
pub struct TimeWaits(rustc_hash::FxHashMap<(SocketAddr, SocketAddr), Option<Duration>>);

impl TimeWaits {
    /// The TIME-WAIT sockets whose local or remote port is in `ports` (at least those:
    /// a system that cannot filter lists them all); `None` when the table cannot be
    /// read here. On Linux one `sock_diag` dump filtered in the kernel, or
    /// `/proc/net/tcp` where sock_diag is not there.
    pub fn read(ports: &[u16]) -> Option<TimeWaits> {
        #[cfg(target_os = "linux")]
        if let Some(sockets) = super::sockdiag::time_waits(ports) {
            return Some(TimeWaits::from_sockets(sockets));
        }
        let _ = ports;
        sockets().map(TimeWaits::from_sockets)
    }

    fn from_sockets(sockets: Vec<KernelSocket>) -> TimeWaits {
        TimeWaits(
            sockets
                .into_iter()
                .filter(|s| s.state == TcpState::TimeWait)
                .map(|s| ((canonical(s.local), canonical(s.remote)), s.timer_left))
                .collect(),
        )
    }

    /// The entry for the connection `local` ⇄ `remote`: `Some(time left)` when listed.
    pub fn get(&self, local: SocketAddr, remote: SocketAddr) -> Option<Option<Duration>> {
        self.0.get(&(canonical(local), canonical(remote))).copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An IPv4 connection on an IPv6 socket is listed with IPv4-mapped addresses
/// (`::ffff:127.0.0.1`); the wire shows plain IPv4.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// The real table of the system the tests run on lists a socket the test opened.
    #[test]
    fn this_systems_table_lists_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if TABLE.is_some() {
            assert!(is_listening(port), "{} does not list 127.0.0.1:{port} listening", TABLE.unwrap_or("?"));
        } else {
            assert!(!has_view());
        }
    }

    /// A connection the test closes first is listed in TIME-WAIT, found by its ports;
    /// another port's filter leaves it out (where the system filters at all).
    #[test]
    fn a_time_wait_of_this_machine_is_listed_once_per_read() {
        use std::io::Read;
        use std::net::TcpStream;
        if TABLE.is_none() {
            return;
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = TcpStream::connect(server).unwrap();
        let local = client.local_addr().unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        drop(client);
        // The server reads the client's FIN, then closes: the client is in TIME-WAIT.
        assert_eq!(accepted.read(&mut [0u8; 8]).unwrap(), 0);
        drop(accepted);
        // The kernel lists it once both FINs are acknowledged: a moment at most.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let table = loop {
            let table = TimeWaits::read(&[server.port()]).unwrap();
            if table.get(local, server).is_some() || std::time::Instant::now() > deadline {
                break table;
            }
            std::thread::yield_now();
        };
        let left = table.get(local, server).expect("the client's TIME-WAIT is listed");
        if cfg!(target_os = "linux") {
            let left = left.expect("Linux tells the time left");
            assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(60), "{left:?}");
            let other = TimeWaits::read(&[server.port().wrapping_add(1)]).unwrap();
            assert!(other.get(local, server).is_none(), "the port filter left it in");
        }
    }
}
