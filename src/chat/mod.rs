//! The document's chat program, in Rust with `std::net`: a server that prints what
//! each client says, and a client that sends lines. It makes the traffic the rest of
//! tcplab shows.

pub mod client;
pub mod server;

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
