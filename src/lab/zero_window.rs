//! zero-window: the client uploads more than the server's small receive buffer holds,
//! and the server does not read. The window the server advertises shrinks to zero; the
//! client's kernel keeps asking with zero-window probes (the persist timer, RFC 9293
//! 3.8.6.1) at doubling intervals; when the server reads again it sends a window update
//! and the rest of the upload flows.
//!
//! Nothing is dropped, so this runs on the ordinary loopback: the small buffers are
//! options of these two sockets only.

use crate::lab::sockets::{Buffer, set_buffer, tcp_info};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// The server's receive buffer, before the kernel doubles it: a few segments' worth, so
/// that the window closes after a few kilobytes.
const RECEIVE_BUFFER: usize = 4096;
/// The client's send buffer, kept small too, so that the upload is not held in it.
const SEND_BUFFER: usize = 4096;
/// The upload, 7.5 KiB: more than the server takes in before its window closes (4 KiB
/// here), and small enough to keep the shipped capture, payload and all, small.
const UPLOAD_LINE: &[u8] = b"zero window\n";
const UPLOAD_LINES: usize = 640;
/// Zero-window probes to wait for before the server reads again. They come after
/// about 0.2, 0.6 and 1.4 s: the first probe's delay is the retransmission timeout
/// (at least 200 ms on Linux), and each next one waits twice as long.
const PROBES: u8 = 3;
/// How often to look at the client's probe count, and for how long at most.
const POLL: Duration = Duration::from_millis(10);
const WITHIN: Duration = Duration::from_secs(10);

pub fn play(listener: TcpListener, addr: SocketAddr) -> io::Result<()> {
    // Set on the listener, so that the accepted socket has it from its SYN-ACK on.
    set_buffer(&listener, Buffer::Receive, RECEIVE_BUFFER)?;
    let mut client = TcpStream::connect(addr)?;
    let (mut server, _) = listener.accept()?;
    set_buffer(&client, Buffer::Send, SEND_BUFFER)?;
    let watched = client.try_clone()?;
    let uploader = thread::spawn(move || -> io::Result<()> {
        client.write_all(&UPLOAD_LINE.repeat(UPLOAD_LINES))?;
        client.shutdown(Shutdown::Write)?;
        // The server closes once it has read everything.
        let mut buf = [0u8; 64];
        while client.read(&mut buf)? > 0 {}
        Ok(())
    });
    // The server is not reading: wait until the client's kernel has probed the closed
    // window PROBES times. Its backoff counts the probes and is reset only when the
    // window opens again.
    let deadline = Instant::now() + WITHIN;
    while tcp_info(&watched)?.tcpi_backoff < PROBES {
        if Instant::now() >= deadline {
            return Err(io::Error::other(format!(
                "the client sent no {PROBES} zero-window probes within {WITHIN:?}"
            )));
        }
        thread::sleep(POLL);
    }
    let mut received = Vec::new();
    server.read_to_end(&mut received)?;
    drop(server);
    uploader.join().unwrap_or_else(|_| Err(io::Error::other("uploader thread panicked")))?;
    let sent = UPLOAD_LINE.len() * UPLOAD_LINES;
    if received.len() != sent {
        return Err(io::Error::other(format!("the server read {} of {sent} bytes", received.len())));
    }
    Ok(())
}
