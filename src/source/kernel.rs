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
    sockets().unwrap_or_default().iter().any(|s| s.state == TcpState::Listen && s.local.port() == port)
}

/// The kernel's TIME-WAIT entry for the connection `local` ⇄ `remote`, if it has one.
pub fn time_wait(local: SocketAddr, remote: SocketAddr) -> Option<KernelSocket> {
    sockets()?.into_iter().find(|s| s.state == TcpState::TimeWait && s.local == local && s.remote == remote)
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
}
