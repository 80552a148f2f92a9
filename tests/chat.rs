//! The chat programs as a class uses them: the `tcplab client` and `tcplab server`
//! binaries on loopback, with servers that close, reset or are killed under the client,
//! host names for addresses, binary input and fifty clients at once.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tcplab");
/// How long anything may take to be said.
const WITHIN: Duration = Duration::from_secs(10);

/// Lines of a child's stream, as they come.
fn lines_of(reader: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A `tcplab` child with its stdin held open (an interactive client waits on it), its
/// output line by line; killed when dropped.
struct Tcplab {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Tcplab {
    fn start(args: &[&str]) -> Tcplab {
        let mut child = Command::new(BIN)
            .args(args)
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tcplab {args:?}: {e}"));
        let stdin = child.stdin.take();
        let stdout = lines_of(child.stdout.take().expect("piped stdout"));
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        Tcplab { child, stdin, stdout, stderr }
    }

    /// Waits for a stdout line containing `what`; returns the lines up to it.
    fn said(&self, what: &str) -> Vec<String> {
        let deadline = Instant::now() + WITHIN;
        let mut seen = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            let found = line.contains(what);
            seen.push(line);
            if found {
                return seen;
            }
        }
        let err: Vec<String> = self.stderr.try_iter().collect();
        panic!("no `{what}` within {WITHIN:?}; stdout:\n{}\nstderr:\n{}", seen.join("\n"), err.join("\n"));
    }

    fn type_in(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).and_then(|()| stdin.flush()).expect("write to the client's stdin");
    }

    /// Waits for the child to exit on its own; its exit code and the rest of stderr.
    fn exit(&mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                let err: Vec<String> = self.stderr.iter().collect();
                return (status.code(), err.join("\n"));
            }
            assert!(Instant::now() < deadline, "the child did not exit within {WITHIN:?}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tcplab {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The client is talking to a real `tcplab server`, which is then killed: the kernel
/// closes the server's socket with FIN, and the client says so at once and exits 0.
#[test]
fn the_client_says_at_once_when_the_killed_server_closes() {
    let port = free_port();
    let mut server = Tcplab::start(&["server", "--bind", &format!("localhost:{port}"), "--reply"]);
    let listening = server.said("listening on");
    assert!(
        listening.last().unwrap().contains(&format!("localhost:{port} (127.0.0.1:{port})")),
        "{listening:?}"
    );
    let mut client = Tcplab::start(&["client", "--connect", &format!("localhost:{port}")]);
    let connected = client.said("connected to");
    assert!(connected[0].contains(&format!("localhost:{port} (127.0.0.1:{port})")), "{connected:?}");
    client.type_in(b"hello\n");
    client.said("server: hello");
    server.said("] hello");

    server.child.kill().expect("kill the server");
    let started = Instant::now();
    client.said("the server closed the connection (FIN)");
    let (code, err) = client.exit();
    assert_eq!(code, Some(0), "{err}");
    eprintln!("the client told of the FIN and exited {:?} after the kill", started.elapsed());
}

/// A server that resets the connection: the client says so and exits 1.
#[test]
fn the_client_exits_non_zero_when_the_server_resets() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut client = Tcplab::start(&["client", "--connect", &addr]);
    let (mut accepted, _) = listener.accept().unwrap();
    client.said("connected to");
    client.type_in(b"hello\n");
    let mut line = [0u8; 6];
    accepted.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"hello\n", "a typed line goes out with its newline");
    tcplab::chat::set_abortive_close(&accepted).unwrap();
    drop(accepted);
    let (code, err) = client.exit();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("reset by the server (RST)"), "{err}");
}

/// Lines typed (piped) as bytes, binary included, reach the server exactly, each
/// with its newline; `--send` sends a line too; replies come back on lines of their own.
#[test]
fn lines_go_out_as_bytes_with_their_newline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let echo = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            stream.write_all(&buf[..n]).unwrap();
        }
        stream.shutdown(Shutdown::Write).unwrap();
        got
    });
    let mut client = Tcplab::start(&["client", "--connect", &addr]);
    client.said("connected to");
    client.type_in(b"plain\n\xff\xfe\x1b[2J binary\n");
    client.said("server: \\xff\\xfe\\e[2J binary");
    // The end of the input closes the client's side; the server's FIN ends it.
    drop(client.stdin.take());
    let (code, err) = client.exit();
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("UTF-8"), "{err}");
    assert_eq!(echo.join().unwrap(), b"plain\n\xff\xfe\x1b[2J binary\n");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let reader = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        got
    });
    let out = Command::new(BIN)
        .args(["client", "--connect", &addr, "--send", "a", "--send", "b"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(reader.join().unwrap(), b"a\nb\n");
}

/// Fifty clients connected at once: the server prints each one's join and leave, with
/// the count, and `--reply` answers every one.
#[test]
fn the_server_takes_fifty_clients_at_once() {
    const CLIENTS: usize = 50;
    let port = free_port();
    let server = Tcplab::start(&["server", "--bind", &format!("127.0.0.1:{port}"), "--reply"]);
    server.said("listening on");
    // All connect first, so that all fifty are in the chat at the same time.
    let mut streams: Vec<TcpStream> =
        (0..CLIENTS).map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect")).collect();
    let joined = server.said(&format!("({CLIENTS} in the chat)"));
    assert_eq!(joined.iter().filter(|l| l.contains(" joined (")).count(), CLIENTS, "{joined:?}");
    let talkers: Vec<_> = streams
        .drain(..)
        .enumerate()
        .map(|(n, mut stream)| {
            thread::spawn(move || {
                stream.set_read_timeout(Some(WITHIN)).unwrap();
                let line = format!("hello from {n}\n");
                stream.write_all(line.as_bytes()).unwrap();
                let mut reply = vec![0u8; line.len()];
                stream.read_exact(&mut reply).unwrap();
                assert_eq!(reply, line.as_bytes(), "client {n}'s reply");
                stream.shutdown(Shutdown::Write).unwrap();
                let mut rest = Vec::new();
                stream.read_to_end(&mut rest).unwrap();
            })
        })
        .collect();
    for talker in talkers {
        talker.join().expect("a client thread");
    }
    let left = server.said("left (0 in the chat)");
    let said = left.iter().filter(|l| l.contains("] hello from ")).count();
    let gone = left.iter().filter(|l| l.contains(" left (")).count();
    assert_eq!((said, gone), (CLIENTS, CLIENTS), "{left:?}");
}
