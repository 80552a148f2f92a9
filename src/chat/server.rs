//! The chat server: accepts many clients at once, one thread each, and reports what
//! every client does (joins, says something, half-closes, resets, leaves) through a
//! callback.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// What a client did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    Connected(SocketAddr),
    Message(SocketAddr, Vec<u8>),
    /// The client sent FIN: it will send nothing more (it may still read).
    HalfClosed(SocketAddr),
    /// The client aborted with RST.
    Reset(SocketAddr),
    /// The server closed its side too.
    Closed(SocketAddr),
    Failed(SocketAddr, String),
}

impl ChatEvent {
    /// One line for the server's terminal; message bytes are sanitized.
    pub fn describe(&self, close_delay: Duration) -> String {
        match self {
            ChatEvent::Connected(peer) => format!("{peer} joined"),
            // A line per line the client sent (its newline ends it), each escaped.
            ChatEvent::Message(peer, bytes) => super::message_lines(bytes)
                .iter()
                .map(|line| format!("[{peer}] {line}"))
                .collect::<Vec<_>>()
                .join("\n"),
            ChatEvent::HalfClosed(peer) if close_delay.is_zero() => {
                format!("{peer} closed its side (FIN); closing ours")
            }
            ChatEvent::HalfClosed(peer) => format!(
                "{peer} closed its side (FIN); we are in CLOSE-WAIT for {} ms before closing ours",
                close_delay.as_millis()
            ),
            ChatEvent::Reset(peer) => format!("{peer} reset the connection (RST)"),
            ChatEvent::Closed(peer) => format!("{peer} left"),
            ChatEvent::Failed(peer, why) => format!("{peer}: {why}"),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ServerOptions {
    /// Send every message back, so data flows both ways.
    pub reply: bool,
    /// After a client's FIN, wait this long before closing: the four segments of the
    /// wave then stay apart instead of merging into FIN+ACK.
    pub close_delay: Duration,
}

pub type Report = Arc<dyn Fn(ChatEvent) + Send + Sync>;

pub struct ChatServer {
    listener: TcpListener,
}

impl ChatServer {
    /// Listens on `addr` (std's listen backlog is 128, as in the document).
    pub fn bind(addr: SocketAddr) -> Result<ChatServer, String> {
        TcpListener::bind(addr)
            .map(|listener| ChatServer { listener })
            .map_err(|e| super::explain_bind_error(addr, &e))
    }

    /// Serves on a socket that already listens (the LAN lab binds it in the server's
    /// network namespace).
    pub fn from_listener(listener: TcpListener) -> ChatServer {
        ChatServer { listener }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves clients, each on its own thread, until `limit` clients have come and
    /// gone (forever with `None`). One client's failure never touches another.
    pub fn serve(&self, options: ServerOptions, limit: Option<usize>, report: Report) -> io::Result<()> {
        let mut handlers = Vec::new();
        let mut count = 0;
        while limit.is_none_or(|n| count < n) {
            // accept() gives the peer's address even when the peer has already reset;
            // asking the socket later would fail and lose that client.
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    count += 1;
                    let report = Arc::clone(&report);
                    handlers.push(thread::spawn(move || handle_client(stream, peer, options, &*report)));
                }
                Err(e) => report(ChatEvent::Failed(self.local_addr()?, format!("accept failed: {e}"))),
            }
            handlers.retain(|h| !h.is_finished());
        }
        for handler in handlers {
            let _ = handler.join();
        }
        Ok(())
    }
}

/// One client, from accept to close, as the document's loop: read, print, until the
/// client closes; then close too.
fn handle_client(
    mut stream: TcpStream,
    peer: SocketAddr,
    options: ServerOptions,
    report: &(dyn Fn(ChatEvent) + Send + Sync),
) {
    report(ChatEvent::Connected(peer));
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                report(ChatEvent::HalfClosed(peer));
                if !options.close_delay.is_zero() {
                    // Deliberately stay in CLOSE-WAIT so that the ACK of the client's
                    // FIN leaves alone, and our FIN follows later: four segments.
                    thread::sleep(options.close_delay);
                }
                let _ = stream.shutdown(Shutdown::Both);
                report(ChatEvent::Closed(peer));
                return;
            }
            Ok(n) => {
                report(ChatEvent::Message(peer, buf[..n].to_vec()));
                if options.reply
                    && let Err(e) = stream.write_all(&buf[..n])
                {
                    report(ChatEvent::Failed(peer, format!("reply failed: {e}")));
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                report(ChatEvent::Reset(peer));
                return;
            }
            Err(e) => {
                report(ChatEvent::Failed(peer, e.to_string()));
                return;
            }
        }
    }
}
