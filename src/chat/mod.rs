//! The document's chat program, in Rust with `std::net`: a server that prints what
//! each client says, and a client that sends lines. It makes the traffic the rest of
//! tcplab shows.

pub mod client;
pub mod server;
pub mod session;

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Arms SO_LINGER with a zero timeout, so that closing the socket sends RST instead of
/// FIN (an abortive close, RFC 9293 §3.10.5).
pub fn set_abortive_close(stream: &TcpStream) -> io::Result<()> {
    socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO))
}

/// A one-line explanation of why connecting to `addr` failed.
pub fn explain_connect_error(addr: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!(
            "connection to {addr} refused: nothing listens there (start one with: tcplab server --bind {addr})"
        ),
        io::ErrorKind::TimedOut => format!("connection to {addr} timed out: no answer to the SYN"),
        _ => format!("cannot connect to {addr}: {e}"),
    }
}

/// A one-line explanation of why listening on `addr` failed.
pub fn explain_bind_error(addr: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => format!(
            "{addr} is already in use: stop the program holding it, or pick another port with --bind {}:PORT",
            addr.ip()
        ),
        io::ErrorKind::AddrNotAvailable => {
            format!("{addr} is not an address of this machine: try --bind 127.0.0.1:{}", addr.port())
        }
        io::ErrorKind::PermissionDenied => {
            format!("not allowed to listen on {addr}: ports below 1024 need root; pick a higher one")
        }
        _ => format!("cannot listen on {addr}: {e}"),
    }
}

/// An address as the command line takes it: `HOST:PORT`, where HOST is a name
/// (`localhost`), an IPv4 address or an IPv6 address in brackets (`[::1]:8080`).
/// Names are resolved when the address is used, once, and shown beside what they
/// resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    text: String,
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Endpoint, String> {
        if s.parse::<SocketAddr>().is_ok() {
            return Ok(Endpoint { text: s.to_owned() });
        }
        let bad = || format!("'{s}' is not HOST:PORT (e.g. 127.0.0.1:8080, localhost:8080, [::1]:8080)");
        let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
        port.parse::<u16>().map_err(|_| bad())?;
        // A bare IPv6 address has colons of its own: only brackets make the port clear.
        if host.is_empty() || host.contains(':') || host.contains(['[', ']']) {
            return Err(bad());
        }
        Ok(Endpoint { text: s.to_owned() })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Endpoint {
    /// The addresses the name stands for, in the resolver's order (one for an address
    /// given as such). A name that resolves to nothing is an error that says so.
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, String> {
        use std::net::ToSocketAddrs;
        let addrs: Vec<SocketAddr> =
            self.text.to_socket_addrs().map_err(|e| format!("cannot resolve {}: {e}", self.text))?.collect();
        if addrs.is_empty() {
            return Err(format!("{} resolves to no address", self.text));
        }
        Ok(addrs)
    }

    /// `localhost:8080 (127.0.0.1:8080)` for a name, the address alone otherwise.
    pub fn shown(&self, addr: SocketAddr) -> String {
        if self.text.parse::<SocketAddr>() == Ok(addr) {
            addr.to_string()
        } else {
            format!("{} ({addr})", self.text)
        }
    }
}

/// The lines of a chat message, each escaped for the terminal: one message read from
/// the socket may hold several lines, or part of one. The newline that ends the last
/// line is the line's end, not an empty line after it.
pub fn message_lines(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes
        .split(|&b| b == b'\n')
        .map(|line| crate::render::sanitize::sanitize(line.strip_suffix(b"\r").unwrap_or(line)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_an_address_or_a_name_with_a_port() {
        for good in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "lab-server.example:1"] {
            assert!(good.parse::<Endpoint>().is_ok(), "{good}");
        }
        for bad in ["localhost", "::1:8080", ":8080", "localhost:http", "localhost:70000", "[::1]"] {
            let err = bad.parse::<Endpoint>().unwrap_err();
            assert!(err.contains("is not HOST:PORT"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_name_is_shown_beside_its_address() {
        let name: Endpoint = "localhost:8080".parse().unwrap();
        let addrs = name.resolve().unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080), "{addrs:?}");
        assert_eq!(name.shown(addrs[0]), format!("localhost:8080 ({})", addrs[0]));
        let literal: Endpoint = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(literal.shown("127.0.0.1:8080".parse().unwrap()), "127.0.0.1:8080");
    }

    #[test]
    fn a_message_is_split_into_escaped_lines() {
        assert_eq!(message_lines(b"hello\n"), ["hello"]);
        assert_eq!(message_lines(b"hello"), ["hello"]);
        assert_eq!(message_lines(b"a\r\nb\n"), ["a", "b"]);
        assert_eq!(message_lines(b"\x1b[2J\xff\n"), ["\\e[2J\\xff"]);
        assert_eq!(message_lines(b"\n"), [""]);
    }
}
