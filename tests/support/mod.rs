//! What the live tests share: the binary, their time limits, running a command to its
//! end, and a child process whose output lines are read as they come (`Running`).
//! Each test file uses only part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tcplab");
/// How long a child may take to say it is ready.
pub const READY: Duration = Duration::from_secs(10);
/// How long traffic may take to go through and be reported.
pub const SETTLE: Duration = Duration::from_secs(20);
/// How long a whole command (demo, lab, replay) may run.
pub const RUN: Duration = Duration::from_secs(60);
/// Environment variables that would change what the children do: sudo's ids make
/// `watch` drop privileges before writing its file; the locale picks the language.
pub const SUDO_VARS: [&str; 3] = ["SUDO_UID", "SUDO_GID", "SUDO_USER"];

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Runs `program` to completion (killed after `within`), with a fixed locale and
/// without sudo's variables.
pub fn run(program: impl AsRef<OsStr>, args: &[&str], within: Duration) -> Output {
    let program = program.as_ref();
    let mut cmd = assert_cmd::Command::new(program);
    cmd.args(args).env("LC_ALL", "C").current_dir("/").timeout(within);
    for var in SUDO_VARS {
        cmd.env_remove(var);
    }
    cmd.output().unwrap_or_else(|e| panic!("cannot run {} {args:?}: {e}", program.to_string_lossy()))
}

/// A copy of the binary in `dir`, that uid 65534 may run (mode 755, the directory too).
///
/// Copied by `cp`, not by this process: a file this process held open for writing
/// would be inherited by any child another test thread forks meanwhile, until that
/// child execs, and running the copy then fails with "Text file busy" (ETXTBSY).
pub fn binary_copy_for_nobody(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let copy = dir.join("tcplab");
    let copied = Command::new("cp").arg(BIN).arg(&copy).status().expect("run cp");
    assert!(copied.success(), "cp {BIN} {}", copy.display());
    for path in [dir, copy.as_path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
    }
    copy
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Status, stdout and stderr of a finished command, for assertion messages.
pub fn show(out: &Output) -> String {
    format!("{}\n--- stdout ---\n{}\n--- stderr ---\n{}", out.status, text(&out.stdout), text(&out.stderr))
}

/// Every line `reader` yields, sent over a channel by a thread of its own; the channel
/// disconnects when the stream ends.
pub fn line_channel(reader: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).to_owned();
                    if tx.send(text).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A child process with its output arriving line by line; killed when dropped, so
/// that a failed assertion never leaves it running.
pub struct Running {
    name: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Running {
    pub fn start(program: &str, args: &[&str]) -> Running {
        let mut cmd = Command::new(program);
        cmd.args(args).env("LC_ALL", "C").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for var in SUDO_VARS {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {program} {args:?}: {e}"));
        let stdout = line_channel(child.stdout.take().expect("piped stdout"));
        let stderr = line_channel(child.stderr.take().expect("piped stderr"));
        let name =
            format!("{} {}", Path::new(program).file_name().unwrap_or_default().display(), args.join(" "));
        Running { name, child, stdout, stderr }
    }

    pub fn channel(&self, stream: Stream) -> &Receiver<String> {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }

    /// Whatever the child has written so far, for a failure message.
    pub fn pending(&self) -> String {
        let out: Vec<String> = self.stdout.try_iter().collect();
        let err: Vec<String> = self.stderr.try_iter().collect();
        format!("--- stdout ---\n{}\n--- stderr ---\n{}", out.join("\n"), err.join("\n"))
    }

    /// Reads lines of `stream` until one satisfies `done`, and returns all lines read.
    /// Panics if that takes longer than `within` or the stream ends first.
    pub fn wait_for(
        &self,
        stream: Stream,
        what: &str,
        within: Duration,
        mut done: impl FnMut(&str) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut seen: Vec<String> = Vec::new();
        loop {
            let why =
                match self.channel(stream).recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(line) => {
                        let finished = done(&line);
                        seen.push(line);
                        if finished {
                            return seen;
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Timeout) => format!("not within {within:?}"),
                    Err(RecvTimeoutError::Disconnected) => format!("its {stream:?} ended first"),
                };
            panic!(
                "`{}`: waited for {what}, {why}; {stream:?} so far:\n{}\n{}",
                self.name,
                seen.join("\n"),
                self.pending()
            );
        }
    }

    /// Sends SIGINT, as Ctrl-C would.
    pub fn interrupt(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) on the pid of a child we have not reaped yet.
        let rc = unsafe { libc::kill(pid, libc::SIGINT) };
        assert_eq!(rc, 0, "cannot send SIGINT to `{}`: {}", self.name, std::io::Error::last_os_error());
    }

    /// Collects the rest of stdout and stderr until the child closes them, then its
    /// exit status; panics if that takes longer than `within`.
    pub fn finish(&mut self, within: Duration) -> (ExitStatus, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + within;
        let mut rest = [Vec::new(), Vec::new()];
        for (stream, lines) in [Stream::Stdout, Stream::Stderr].into_iter().zip(&mut rest) {
            loop {
                match self.channel(stream).recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(line) => lines.push(line),
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => panic!(
                        "`{}` did not end within {within:?}; {stream:?} after the stop request:\n{}",
                        self.name,
                        lines.join("\n")
                    ),
                }
            }
        }
        // Both streams are closed, so the child has exited or is about to.
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => panic!("`{}` closed its output but did not exit within {within:?}", self.name),
                Err(e) => panic!("cannot wait for `{}`: {e}", self.name),
            }
        };
        let [out, err] = rest;
        (status, out, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Harmless when it already exited; essential when an assertion failed first.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The packets in a capture file, as libpcap counts them.
pub fn packets_in(path: &Path) -> u64 {
    let mut capture = pcap::Capture::from_file(path)
        .unwrap_or_else(|e| panic!("libpcap cannot open {}: {e}", path.display()));
    let mut count = 0;
    loop {
        match capture.next_packet() {
            Ok(_) => count += 1,
            Err(pcap::Error::NoMorePackets) => return count,
            Err(e) => panic!("libpcap cannot read packet {} of {}: {e}", count + 1, path.display()),
        }
    }
}
