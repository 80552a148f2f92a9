//! simultaneous-open and simultaneous-close: both ends send their SYN (or FIN) before
//! either has seen the other's, so the two cross on the wire (RFC 9293 Figures 7 and 13).
//!
//! On loopback a segment arrives before the other end can send anything, so nothing
//! ever crosses by itself. An nftables rule therefore drops the first SYN (or FIN) of
//! both ends; once both are lost, the rule goes. Both ends armed their retransmission
//! timers within microseconds of each other with the same timeout, so the timers expire
//! in the same tick, and both retransmissions leave before either is received: they cross.
//!
//! The rule sits at the `output` hook, before loopback's capture tap, so the dropped
//! first copies never reach the capture: it shows the crossing segments as the RFC's
//! figures draw them, a second (SYN) or a fifth of a second (FIN) after the sockets
//! asked. At the `input` hook the lost copies would be captured, and a capture in which
//! both FINs are already on the wire before the crossing ones would tell another story.

use crate::lab::netns::DropRules;
use crate::lab::sockets::BoundSocket;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// How long the lost copies may take to be counted, and the connections to open or
/// close: far more than the kernel's one-second SYN and 200 ms FIN retransmissions.
const WITHIN: Duration = Duration::from_secs(10);
/// How often to ask nftables how many copies it dropped.
const POLL: Duration = Duration::from_millis(10);

/// Two sockets, one bound to `addr` (the port the capture follows) and one to another
/// loopback port, connect to each other at the same time. Neither listens.
pub fn simultaneous_open(addr: SocketAddr) -> io::Result<()> {
    let here = BoundSocket::bind(addr)?;
    let there = BoundSocket::bind(SocketAddr::new(addr.ip(), 0))?;
    let there_addr = there.local_addr()?;
    let lose_first_syns = DropRules::load(
        "output",
        &[format!(
            "tcp dport {{ {}, {} }} tcp flags & (syn | ack) == syn counter name \"dropped\" drop",
            addr.port(),
            there_addr.port()
        )],
    )?;
    here.start_connect(there_addr)?;
    there.start_connect(addr)?;
    // connect() sent (and lost) each SYN before returning; the count confirms it.
    lose_first_syns.wait_for_drops(2, POLL, WITHIN)?;
    lose_first_syns.remove()?;
    let mut here = here.wait_connected(WITHIN)?;
    let mut there = there.wait_connected(WITHIN)?;
    for stream in [&here, &there] {
        stream.set_read_timeout(Some(WITHIN))?;
    }
    // Opened like this, neither end is a client or a server; they talk and close as usual.
    let line = b"we both called";
    here.write_all(line)?;
    let mut heard = vec![0; line.len()];
    there.read_exact(&mut heard)?;
    there.write_all(&heard)?;
    here.read_exact(&mut heard)?;
    here.shutdown(Shutdown::Write)?;
    read_to_eof(&mut there)?;
    there.shutdown(Shutdown::Write)?;
    read_to_eof(&mut here)
}

/// A client connects to `listener` as usual; after one exchange both ends shut down
/// their sending side at the same time.
pub fn simultaneous_close(listener: TcpListener, addr: SocketAddr) -> io::Result<()> {
    let mut client = TcpStream::connect(addr)?;
    let (mut server, _) = listener.accept()?;
    for stream in [&client, &server] {
        stream.set_read_timeout(Some(WITHIN))?;
    }
    let line = b"shall we hang up?";
    client.write_all(line)?;
    let mut heard = vec![0; line.len()];
    server.read_exact(&mut heard)?;
    server.write_all(&heard)?;
    client.read_exact(&mut heard)?;
    let port = addr.port();
    let lose_first_fins = DropRules::load(
        "output",
        &[
            format!("tcp dport {port} tcp flags & fin == fin counter name \"dropped\" drop"),
            format!("tcp sport {port} tcp flags & fin == fin counter name \"dropped\" drop"),
        ],
    )?;
    // Back to back, so that both retransmission timers start in the same tick.
    client.shutdown(Shutdown::Write)?;
    server.shutdown(Shutdown::Write)?;
    lose_first_fins.wait_for_drops(2, POLL, WITHIN)?;
    lose_first_fins.remove()?;
    read_to_eof(&mut client)?;
    read_to_eof(&mut server)
}

/// Reads until the peer's FIN (the read timeout turns a lost FIN into an error).
fn read_to_eof(stream: &mut TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 256];
    while stream.read(&mut buf)? > 0 {}
    Ok(())
}
