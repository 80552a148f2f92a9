//! The chat client: connect, send lines (typed, or given with `--send`), print what the
//! server sends back, then close with FIN (or RST with `--abort`).

use crate::render::sanitize::sanitize;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long to wait for the SYN-ACK before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct ChatClient {
    stream: TcpStream,
    reader: Option<JoinHandle<()>>,
}

impl ChatClient {
    /// Connects to `addr`; a refused or unreachable server gives one clear line.
    pub fn connect(addr: SocketAddr) -> Result<ChatClient, String> {
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
            .map_err(|e| super::explain_connect_error(addr, &e))?;
        Ok(ChatClient { stream, reader: None })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Prints everything the server sends on `out`, from a thread of its own, until
    /// the server closes.
    pub fn print_replies(&mut self, mut out: impl Write + Send + 'static) -> io::Result<()> {
        let mut stream = self.stream.try_clone()?;
        self.reader = Some(thread::spawn(move || {
            let mut buf = [0u8; 1024];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let _ = writeln!(out, "server: {}", sanitize(&buf[..n]));
                    }
                }
            }
        }));
        Ok(())
    }

    pub fn send(&mut self, message: &[u8]) -> io::Result<()> {
        self.stream.write_all(message)
    }

    /// Reads exactly `n` bytes (an echo the caller expects).
    pub fn read_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        self.stream.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Like the document's client: type lines, `exit` quits.
    pub fn interactive(&mut self, input: impl BufRead, prompt: &mut impl Write) -> io::Result<()> {
        write!(prompt, "message (`exit` to quit): ")?;
        prompt.flush()?;
        for line in input.lines() {
            let line = line?;
            if line.trim() == "exit" {
                break;
            }
            self.send(line.as_bytes())?;
            write!(prompt, "message (`exit` to quit): ")?;
            prompt.flush()?;
        }
        Ok(())
    }

    /// Closes gracefully: FIN first, then wait for the server's FIN (reading whatever
    /// it still sends), so the wave completes and this end holds TIME-WAIT. With
    /// `abort`, RST at once instead.
    pub fn close(mut self, abort: bool) -> io::Result<()> {
        if abort {
            super::set_abortive_close(&self.stream)?;
            drop(self.stream);
            return Ok(());
        }
        self.stream.shutdown(Shutdown::Write)?;
        match self.reader.take() {
            Some(reader) => {
                let _ = reader.join();
            }
            None => {
                // Nobody reads: drain until the server's FIN.
                let mut sink = [0u8; 1024];
                while matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {}
            }
        }
        Ok(())
    }
}
