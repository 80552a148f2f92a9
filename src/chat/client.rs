//! The chat client's socket: connect (trying each address a name resolves to), send
//! lines, hear what the server sends (its data, its FIN, its RST) from a thread of its
//! own, and close with FIN (or RST with `--abort`). What is said on the terminal is
//! [`super::session`]'s business.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long to wait for the SYN-ACK before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What arrived from the server.
#[derive(Debug)]
pub enum FromServer {
    Data(Vec<u8>),
    /// The server's FIN: it will send nothing more.
    Closed,
    /// The server's RST: the connection is gone.
    Reset,
    Failed(io::Error),
}

pub struct ChatClient {
    stream: TcpStream,
    /// The thread that reads what the server sends, once [`ChatClient::hear`] started it.
    reader: Option<JoinHandle<()>>,
}

impl ChatClient {
    /// Connects to the first of `addrs` that answers (a name may resolve to ::1 and
    /// 127.0.0.1, and a server listen on only one); when none does, the first refusal
    /// or timeout explains why, in one line.
    pub fn connect(addrs: &[SocketAddr]) -> Result<ChatClient, String> {
        let mut first_error = None;
        for &addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => return Ok(ChatClient { stream, reader: None }),
                Err(e) => {
                    first_error.get_or_insert_with(|| super::explain_connect_error(addr, &e));
                }
            }
        }
        Err(first_error.unwrap_or_else(|| "no address to connect to".into()))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// Hands everything the server sends to `deliver`, from a thread of its own,
    /// ending with its FIN, its RST or a failure; stops early when `deliver` says no
    /// one listens any more (returns `false`).
    pub fn hear(&mut self, deliver: impl Fn(FromServer) -> bool + Send + 'static) -> io::Result<()> {
        let mut stream = self.stream.try_clone()?;
        let reader = thread::Builder::new().name("chat-client-reader".into()).spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let heard = match stream.read(&mut buf) {
                    Ok(0) => FromServer::Closed,
                    Ok(n) => FromServer::Data(buf[..n].to_vec()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => FromServer::Reset,
                    Err(e) => FromServer::Failed(e),
                };
                let last = !matches!(heard, FromServer::Data(_));
                if !deliver(heard) || last {
                    return;
                }
            }
        })?;
        self.reader = Some(reader);
        Ok(())
    }

    /// Sends `line` ending with a newline (added when missing), so that a server that
    /// reads lines sees one.
    pub fn send_line(&mut self, line: &[u8]) -> io::Result<()> {
        if line.ends_with(b"\n") {
            self.stream.write_all(line)
        } else {
            self.stream.write_all(&[line, b"\n"].concat())
        }
    }

    /// Closes our side with FIN; the server's data and FIN still arrive.
    pub fn finish_sending(&self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    /// Closes at once with RST (SO_LINGER 0) instead of the wave.
    pub fn abort(mut self) -> io::Result<()> {
        super::set_abortive_close(&self.stream)?;
        // The reader holds a second descriptor of the socket, and only closing the
        // last one sends the RST: end its read (shutting down the reading side sends
        // nothing) and wait for it to let go.
        if let Some(reader) = self.reader.take() {
            let _ = self.stream.shutdown(Shutdown::Read);
            let _ = reader.join();
        }
        drop(self.stream);
        Ok(())
    }
}
