//! A classroom LAN of the lab's own, for `lab lan` and `demo --lan`: the server's host
//! and one host per student, each a network namespace, joined like machines on one
//! switch. Every student's namespace has an `eth0` (one end of a veth pair, with a MAC
//! address of its own); the other ends are ports of a bridge in the server's namespace,
//! which holds the server's address. The capture runs on that bridge, the server's
//! interface: Ethernet frames with real MAC addresses, after ARP has found them.
//!
//! The server's namespace is the calling thread's (entered by the caller, as root or
//! inside a user namespace without root); each student is a thread that unshares a
//! network namespace of its own and waits there for its turn to chat. The links are
//! made with iproute2's `ip`, run from the thread whose namespace it configures.
//!
//! Nothing here has a name outside the process: the namespaces are not mounted under
//! /run/netns. A student's namespace, and the veth pair with it, goes when its thread
//! ends; the server's namespace when the process exits. Errors and Ctrl-C clean up
//! without any code on those paths.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The bridge in the server's namespace: the server's interface, where the lab captures.
pub const SERVER_DEVICE: &str = "tcplab-lan";
/// The LAN's subnet is 10.77.0.0/24, inside the lab's namespaces only.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const PREFIX_LEN: u8 = 24;
/// The students' addresses: 10.77.0.11, .12, …
const FIRST_STUDENT_HOST: u8 = 11;
/// The most students the lab seats (and `--clients` takes).
pub const MAX_STUDENTS: usize = 50;
/// What each student's interface is called inside its namespace.
const STUDENT_DEVICE: &str = "eth0";
/// How long a student waits for the echo of a line before giving up.
const ECHO_WAIT: Duration = Duration::from_secs(10);

/// Student `n`'s address (0-based).
pub fn student_ip(n: usize) -> Ipv4Addr {
    let host = u8::try_from(usize::from(FIRST_STUDENT_HOST) + n).unwrap_or(u8::MAX);
    Ipv4Addr::new(10, 77, 0, host)
}

/// What a student thread is asked to do.
enum Task {
    /// Give its end of the link its address and bring it up.
    Configure,
    /// Chat with the server at this address.
    Chat(SocketAddr),
}

struct Student {
    tasks: Sender<Task>,
    done: Receiver<io::Result<()>>,
    thread: JoinHandle<()>,
}

impl Student {
    /// Hands `task` over and waits for the student to report.
    fn ask(&self, task: Task) -> io::Result<()> {
        self.tasks.send(task).map_err(|_| io::Error::other("a student's thread is gone"))?;
        self.done.recv().map_err(|_| io::Error::other("a student's thread ended without a word"))?
    }
}

/// The built LAN. Dropping it lets the students' threads end, and with them their
/// namespaces and links.
pub struct Lan {
    students: Vec<Student>,
}

/// Builds the LAN with `students` students around this thread's network namespace
/// (the server's), which must be fresh: the bridge and its address are added to it.
/// Returns the LAN and the server's listening socket on every address (`0.0.0.0`), as
/// a server that takes clients from the LAN is bound.
pub fn build(students: usize) -> io::Result<(Lan, TcpListener)> {
    if !(1..=MAX_STUDENTS).contains(&students) {
        return Err(io::Error::other(format!(
            "a LAN lab seats 1 to {MAX_STUDENTS} students, not {students}"
        )));
    }
    ip(&["link", "add", "name", SERVER_DEVICE, "type", "bridge"])?;
    ip(&["addr", "add", &format!("{SERVER_IP}/{PREFIX_LEN}"), "dev", SERVER_DEVICE])?;
    ip(&["link", "set", SERVER_DEVICE, "up"])?;
    let mut lan = Lan { students: Vec::with_capacity(students) };
    for n in 0..students {
        let (student, tid) = seat(n)?;
        lan.students.push(student);
        // The student's end is made straight in its namespace, named as a laptop's
        // would be; ours joins the bridge.
        let port = format!("lan-student{}", n + 1);
        ip(&["link", "add", "name", &port, "type", "veth", "peer", "name", STUDENT_DEVICE, "netns", &tid])?;
        ip(&["link", "set", &port, "master", SERVER_DEVICE, "up"])?;
        lan.students[n].ask(Task::Configure)?;
    }
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    Ok((lan, listener))
}

/// Starts student `n`'s thread in a network namespace of its own; returns it and its
/// thread id, by which `ip` finds that namespace.
fn seat(n: usize) -> io::Result<(Student, String)> {
    let (task_tx, task_rx) = mpsc::channel::<Task>();
    let (done_tx, done_rx) = mpsc::channel();
    let (tid_tx, tid_rx) = mpsc::channel();
    let thread = thread::Builder::new().name(format!("lab-student-{}", n + 1)).spawn(move || {
        // SAFETY: unshare moves only this thread; the result is checked.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            let _ = tid_tx.send(Err(io::Error::last_os_error()));
            return;
        }
        // SAFETY: gettid has no preconditions.
        let _ = tid_tx.send(Ok(unsafe { libc::gettid() }));
        for task in task_rx {
            let result = match task {
                Task::Configure => configure_student(n),
                Task::Chat(server) => chat(n, server),
            };
            if done_tx.send(result).is_err() {
                return;
            }
        }
    })?;
    let tid = tid_rx
        .recv()
        .map_err(|_| io::Error::other("a student's thread ended before its namespace was made"))?
        .map_err(|e| io::Error::new(e.kind(), format!("cannot make a student's network namespace: {e}")))?;
    Ok((Student { tasks: task_tx, done: done_rx, thread }, tid.to_string()))
}

/// In student `n`'s namespace: its address on `eth0`, `eth0` and loopback up.
fn configure_student(n: usize) -> io::Result<()> {
    ip(&["addr", "add", &format!("{}/{PREFIX_LEN}", student_ip(n)), "dev", STUDENT_DEVICE])?;
    ip(&["link", "set", STUDENT_DEVICE, "up"])?;
    ip(&["link", "set", "lo", "up"])
}

/// Student `n` says hello and goodbye, a line each, reads each echo, and closes first:
/// the textbook story, once per student, from its own address.
fn chat(n: usize, server: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect(server)?;
    stream.set_read_timeout(Some(ECHO_WAIT))?;
    for line in [format!("hello from student {}\n", n + 1), "bye\n".to_owned()] {
        stream.write_all(line.as_bytes())?;
        let mut echo = vec![0u8; line.len()];
        stream.read_exact(&mut echo)?;
    }
    stream.shutdown(Shutdown::Write)?;
    // Until the server's FIN.
    let mut buf = [0u8; 256];
    while stream.read(&mut buf)? > 0 {}
    Ok(())
}

impl Lan {
    /// Plays the lesson: the chat server answers on `listener`, and the students chat
    /// with it at `server` one after another, so that each connection's story stays
    /// whole on the screen. `close_delay` keeps the server in CLOSE-WAIT before its FIN.
    pub fn play(self, listener: TcpListener, server: SocketAddr, close_delay: Duration) -> io::Result<()> {
        let students = self.students.len();
        let chat_server = crate::chat::server::ChatServer::from_listener(listener);
        let options = crate::chat::server::ServerOptions { reply: true, close_delay };
        let serving =
            thread::spawn(move || chat_server.serve(options, Some(students), std::sync::Arc::new(|_| {})));
        let mut played = Ok(());
        for student in &self.students {
            played = student.ask(Task::Chat(server));
            if played.is_err() {
                break;
            }
        }
        // A student that failed never connected: the server would wait for it forever.
        if played.is_ok() {
            serving.join().unwrap_or_else(|_| Err(io::Error::other("the chat server panicked")))?;
        }
        drop(self);
        played
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for student in self.students.drain(..) {
            // Closing its task channel ends the thread's loop.
            drop(student.tasks);
            let _ = student.thread.join();
        }
    }
}

/// Runs `ip ARGS` in this thread's network namespace; its complaint is the error.
fn ip(args: &[&str]) -> io::Result<()> {
    let program = ip_program().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the LAN lab builds its links with `ip`: apt install iproute2",
        )
    })?;
    let out = Command::new(program).args(args).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Where `ip` is: on PATH, or in the sbin directories that a user's PATH often lacks.
pub fn ip_program() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join("ip"))
        .find(|candidate| candidate.is_file())
}
