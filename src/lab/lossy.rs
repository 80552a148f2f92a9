//! The `lossy` scenario: an upload over a delayed link that loses and reorders chosen
//! segments ([`PLAN`]), so that one short capture shows duplicate ACKs, a fast
//! retransmission, a retransmission after the timer ran out, and data out of order.

use super::link::{LinkPlan, Tamper};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::thread;
use std::time::Duration;

/// How many bytes the client uploads before its last line: about twenty full
/// segments at the TAP devices' 1500-byte MTU, enough to keep many in flight.
pub const UPLOAD: usize = 30_000;
/// The last line, sent alone once the upload has come back.
pub const FAREWELL: &[u8] = b"that was all, thank you\n";

/// The link. With a 1448-byte MSS (1500 minus IP, TCP and timestamp headers), byte
/// 6 000 is in the client's 5th segment and 12 000 in its 9th, both in the first
/// flight of ten: the segments after each gap make the server repeat its ACK, and
/// three duplicates start a fast retransmission. Byte 30 001 is the farewell's first:
/// nothing follows it, no duplicate ACK comes, and only the retransmission timer
/// recovers it. Byte 8 000 of the server's echo is held back until the next segment
/// has overtaken it, so the client receives the two out of order.
///
/// Every run loses and reorders the same segments, and the upload gets the same ACKs.
/// In the echo, timing inside the client's kernel may vary: its ACK of the segment
/// that overtook another may be merged with the next, or announce another window, so
/// Wireshark may call it a duplicate ACK, a window update, or not see it.
pub const PLAN: LinkPlan = LinkPlan {
    one_way_delay: Duration::from_millis(25),
    client_to_server: Tamper {
        drop_first_carrying: &[6_000, 12_000, UPLOAD as u32 + 1],
        hold_first_carrying: None,
    },
    server_to_client: Tamper { drop_first_carrying: &[], hold_first_carrying: Some(8_000) },
};

/// Longer than any recovery the plan causes; a stalled run fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long the server waits before it reads the upload: longer than the upload takes
/// (about 150 ms). While a program is reading from a socket, Linux queues the
/// segments that arrive behind it and may answer several with one ACK; with nobody
/// reading, each segment after a hole gets its own duplicate ACK.
const PAUSE_BEFORE_READING: Duration = Duration::from_millis(300);
/// How long the client waits between reading the echo and sending its farewell:
/// longer than the longest delayed ACK (200 ms), so that its ACK of the echo leaves
/// on its own. Riding on the lost farewell, that ACK would be lost too, and the
/// server's retransmission timer would race the client's.
const PAUSE_BEFORE_FAREWELL: Duration = Duration::from_millis(300);

/// Plays the scenario: `listener` (in the server's namespace) echoes what the client,
/// connecting to `addr` from this thread's namespace, sends. Returns once both sides
/// have closed.
pub fn play(listener: TcpListener, addr: SocketAddr) -> io::Result<()> {
    let server = thread::spawn(move || echo_until_closed(&listener));
    let client = upload(addr);
    let served = server.join().unwrap_or_else(|_| Err(io::Error::other("server thread panicked")));
    client.and(served)
}

/// Numbered lines of text, exactly `len` bytes, so that every segment's payload says
/// where in the upload it is.
fn upload_text(len: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(len + 64);
    let mut line = 1;
    while text.len() < len {
        text.extend_from_slice(
            format!("line {line:04}: lost, late or out of order, every byte arrives\n").as_bytes(),
        );
        line += 1;
    }
    text.truncate(len);
    text
}

/// The client: upload, read the echo, pause, send the farewell, read its echo, close.
fn upload(addr: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.set_write_timeout(Some(PATIENCE))?;
    echoed(&mut stream, &upload_text(UPLOAD))?;
    thread::sleep(PAUSE_BEFORE_FAREWELL);
    echoed(&mut stream, FAREWELL)?;
    stream.shutdown(Shutdown::Write)?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest)?;
    Ok(())
}

/// Sends `message` and reads it back.
fn echoed(stream: &mut TcpStream, message: &[u8]) -> io::Result<()> {
    // The echo fits in the socket buffers, so writing all before reading cannot
    // block both sides.
    stream.write_all(message)?;
    let mut echo = vec![0u8; message.len()];
    stream.read_exact(&mut echo)?;
    if echo != message {
        return Err(io::Error::other("the echo differs from what was sent"));
    }
    Ok(())
}

/// The server: accept one client, pause, read the whole upload and send it back, then
/// echo whatever comes until the client's FIN, and close. Echoing only after the
/// upload keeps the two directions apart: the server's ACKs during the upload are
/// pure ACKs, and the duplicates among them plain to see.
fn echo_until_closed(listener: &TcpListener) -> io::Result<()> {
    let mut stream = accept_within(listener, PATIENCE)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.set_write_timeout(Some(PATIENCE))?;
    let mut upload = vec![0u8; UPLOAD];
    thread::sleep(PAUSE_BEFORE_READING);
    stream.read_exact(&mut upload)?;
    stream.write_all(&upload)?;
    let mut buf = vec![0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

/// Accepts one connection, or fails after `timeout` (the client may have failed
/// before it connected).
fn accept_within(listener: &TcpListener, timeout: Duration) -> io::Result<TcpStream> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    // An interrupted wait counts as no client, as a timeout does.
    let ready = poll(&mut fds, PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX)).unwrap_or(0);
    if ready == 0 {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "no client connected"));
    }
    Ok(listener.accept()?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_has_the_planned_length_and_numbered_lines() {
        let text = upload_text(UPLOAD);
        assert_eq!(text.len(), UPLOAD);
        assert!(text.starts_with(b"line 0001: "));
    }
}
