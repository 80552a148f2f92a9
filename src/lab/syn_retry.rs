//! syn-retry: the server never sees the client's first SYNs; the client's kernel sends
//! the SYN again after 1 s, then 2 s, then 4 s (RFC 6298's doubling), and the fourth
//! copy gets through.
//!
//! The rule drops the SYNs at the `input` hook, after loopback's capture tap: every
//! copy is on the wire and in the capture, which is the point of the scenario. Dropped
//! at `output` they would never be seen.

use crate::lab::netns::DropRules;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::thread;
use std::time::Duration;

/// SYNs lost before one gets through: the first and its first two retransmissions.
/// The third retransmission, 4 s after the second, is answered: the capture shows gaps
/// of 1, 2 and 4 s, about 7 s in all.
const LOST_SYNS: u64 = 3;
/// How often to ask nftables how many SYNs it dropped: the next SYN is at least
/// a second away, so this only needs to be well under that.
const POLL: Duration = Duration::from_millis(100);
/// Far more than the 1 + 2 (+ 4) s the lost SYNs take.
const WITHIN: Duration = Duration::from_secs(15);
/// Since Linux 6.7 the first retransmissions of a SYN come at a fixed interval (this
/// many of them; default 4) before the timeout starts doubling. The scenario shows the
/// classic doubling, so it sets this to 0, in its own namespace only.
const LINEAR_TIMEOUTS: &str = "/proc/sys/net/ipv4/tcp_syn_linear_timeouts";

pub fn play(listener: TcpListener, addr: SocketAddr) -> io::Result<()> {
    if Path::new(LINEAR_TIMEOUTS).exists() {
        std::fs::write(LINEAR_TIMEOUTS, "0")?;
    }
    let lose_syns = DropRules::load(
        "input",
        &[format!("tcp dport {} tcp flags & (syn | ack) == syn counter name \"dropped\" drop", addr.port())],
    )?;
    let server = thread::spawn(move || echo_once(&listener));
    // connect() blocks through the retransmissions until the SYN that gets through;
    // meanwhile this thread lifts the loss once enough SYNs were dropped.
    let lifter = thread::spawn(move || {
        lose_syns.wait_for_drops(LOST_SYNS, POLL, WITHIN)?;
        lose_syns.remove()
    });
    let client = talk(addr);
    let lifted = lifter.join().unwrap_or_else(|_| Err(io::Error::other("rule thread panicked")));
    let served = server.join().unwrap_or_else(|_| Err(io::Error::other("server thread panicked")));
    client.and(lifted).and(served)
}

fn talk(addr: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(WITHIN))?;
    let line = b"sorry, I kept calling";
    stream.write_all(line)?;
    let mut echo = vec![0; line.len()];
    stream.read_exact(&mut echo)?;
    stream.shutdown(Shutdown::Write)?;
    while stream.read(&mut echo)? > 0 {}
    Ok(())
}

fn echo_once(listener: &TcpListener) -> io::Result<()> {
    let (mut stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(WITHIN))?;
    let mut buf = [0u8; 256];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}
