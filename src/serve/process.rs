//! Where the page server runs: on Unix, in a process of its own, forked before any
//! capture is opened and stripped of every right (root becomes the sudo user or
//! `nobody`, Linux capabilities are cleared), so nothing a browser sends ever reaches a
//! process that may capture, trace the kernel or change the network. The capture's
//! process writes the JSON lines down a pipe; the server's process keeps them for its
//! pages and ends when the pipe closes, that is when tcplab ends, however it ends.
//! Windows has no rights to drop (Npcap decides who captures): a thread serves there.

use super::http::Prepared;
use super::hub::Hub;
use std::io;
#[cfg(unix)]
use std::io::{Read, Write};
use std::sync::Arc;

/// Where the capture's side sends each JSON line for the page.
pub enum Sink {
    /// The write end of the pipe to the server's process.
    #[cfg(unix)]
    Pipe { pipe: std::fs::File, gone: bool },
    /// The server's own hub, in this process.
    #[cfg_attr(unix, allow(dead_code))]
    Hub(Arc<Hub>),
}

impl Sink {
    /// Hands one line (without its newline) to the server. A server that has gone
    /// (killed from outside) costs the capture nothing: the lines are dropped.
    pub fn publish(&mut self, line: &str) {
        match self {
            #[cfg(unix)]
            Sink::Pipe { pipe, gone } => {
                if !*gone {
                    let mut bytes = Vec::with_capacity(line.len() + 1);
                    bytes.extend_from_slice(line.as_bytes());
                    bytes.push(b'\n');
                    *gone = pipe.write_all(&bytes).is_err();
                }
            }
            Sink::Hub(hub) => hub.publish(line),
        }
    }
}

/// Starts serving `prepared` without this process's rights, and returns where to send
/// the lines. Must be called before this process starts any thread (a fork copies only
/// the calling thread) and before it opens a capture.
#[cfg(unix)]
pub fn start(prepared: Prepared, hub: Arc<Hub>) -> io::Result<Sink> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    use nix::unistd::{ForkResult, fork, pipe};
    let (read_end, write_end) = pipe()?;
    // The server says on this one that it has given up its rights and is serving: only
    // then does tcplab print the page's address.
    let (ready_read, ready_write) = pipe()?;
    // No end may leak into programs tcplab runs (nft, the lab's tools): the server must
    // see the pipe close when tcplab ends.
    for end in [&read_end, &write_end, &ready_read, &ready_write] {
        fcntl(end, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    // SAFETY: called while this process has one thread (see above), so the child gets
    // a consistent copy of every lock and allocator; it then only runs the server.
    match unsafe { fork() }? {
        ForkResult::Parent { .. } => {
            drop(read_end);
            drop(ready_write);
            let mut ready = [0u8; 1];
            match std::fs::File::from(ready_read).read(&mut ready) {
                Ok(1) => Ok(Sink::Pipe { pipe: std::fs::File::from(write_end), gone: false }),
                // It said why on stderr and ended.
                _ => Err(io::Error::other("the page server did not start")),
            }
        }
        ForkResult::Child => {
            drop(write_end);
            drop(ready_read);
            let code =
                serve_child(prepared, hub, std::fs::File::from(read_end), std::fs::File::from(ready_write));
            // SAFETY: _exit ends the child without running the parent's exit handlers
            // or flushing buffers copied from it, which would then be written twice.
            unsafe { libc::_exit(code) }
        }
    }
}

/// Windows: a thread of this process serves.
#[cfg(not(unix))]
pub fn start(prepared: Prepared, hub: Arc<Hub>) -> io::Result<Sink> {
    prepared.spawn()?;
    Ok(Sink::Hub(hub))
}

/// The server's process: give up every right, serve, keep the lines coming from the
/// pipe, and end when it closes.
#[cfg(unix)]
fn serve_child(prepared: Prepared, hub: Arc<Hub>, pipe: std::fs::File, mut ready: std::fs::File) -> i32 {
    use std::io::BufRead;
    // Ctrl-C reaches the whole terminal's process group: tcplab decides when to stop,
    // and its end closes the pipe.
    // SAFETY: ignoring a signal installs no handler code.
    unsafe {
        let _ =
            nix::sys::signal::signal(nix::sys::signal::Signal::SIGINT, nix::sys::signal::SigHandler::SigIgn);
    }
    if let Err(e) = crate::source::privilege::give_up_everything() {
        let _ = writeln!(
            io::stderr(),
            "tcplab: the page server could not give up its rights ({e}); it does not start"
        );
        return 1;
    }
    if prepared.spawn().is_err() || ready.write_all(b"1").is_err() {
        return 1;
    }
    drop(ready);
    let mut lines = io::BufReader::new(pipe);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => return 0,
            Ok(_) => hub.publish(line.trim_end_matches('\n')),
        }
    }
}
