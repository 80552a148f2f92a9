//! The `sock:inet_sock_set_state` tracepoint, read through a private tracefs instance.
//!
//! The instance (`instances/tcplab-<pid>`) has its own event switch, filter, clock and
//! `trace_pipe`, so nothing global changes: what another tracer set stays as it was.
//! [`Tracer`] is the guard: dropping it, on any way out (the end of the capture, Ctrl-C
//! or SIGTERM through the session's stop flag, an error), switches the event off and
//! removes the instance, and unmounts tracefs if it was mounted here.
//!
//! The pipe is read without blocking by the capture's own thread, before each frame it
//! takes in: every change the kernel made before that packet reached tcplab is then in
//! hand, so the timeline can put each change before the first segment that came after
//! it. A reader thread would hand them over whenever it was scheduled, and on a busy
//! machine that is after the next segments were already shown.

use super::clock::MonoToReal;
use super::{KernelChange, KernelSource, Unavailable, trace_line};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/kernel/tracing";
const EVENT: &str = "events/sock/inet_sock_set_state";

/// A private tracing instance with the state-change event on, and its pipe.
pub struct Tracer {
    instance: PathBuf,
    pipe: File,
    clock: MonoToReal,
    /// Bytes after the last complete line read.
    partial: Vec<u8>,
    buf: Vec<u8>,
    mounted_here: bool,
}

impl Tracer {
    /// Sets up the instance, filtered to `port` when one is known.
    pub fn open(port: Option<u16>) -> Result<Tracer, Unavailable> {
        let fail = |what: &str, e: std::io::Error| Unavailable::Tracefs(format!("{what}: {e}"));
        let root = Path::new(ROOT);
        let mounted_here = if root.join("instances").is_dir() {
            false
        } else {
            mount(root).map_err(|e| fail("cannot mount tracefs on /sys/kernel/tracing", e))?;
            true
        };
        let instance = root.join("instances").join(format!("tcplab-{}", std::process::id()));
        if let Err(e) = fs::create_dir(&instance) {
            if mounted_here {
                unmount(root);
            }
            return Err(fail(&format!("cannot make {}", instance.display()), e));
        }
        // From here the guard owns the instance: any error below removes it.
        let mut tracer = Tracer {
            pipe: File::open("/dev/null").map_err(|e| fail("/dev/null", e))?,
            instance,
            clock: MonoToReal(0),
            partial: Vec::new(),
            buf: vec![0; 64 * 1024],
            mounted_here,
        };
        tracer.write("trace_clock", "mono").map_err(|e| fail("cannot set trace_clock to mono", e))?;
        if let Some(port) = port {
            tracer
                .write(&format!("{EVENT}/filter"), &format!("sport == {port} || dport == {port}"))
                .map_err(|e| fail("cannot set the event's filter", e))?;
        }
        tracer.pipe = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(tracer.instance.join("trace_pipe"))
            .map_err(|e| fail("cannot open trace_pipe", e))?;
        tracer
            .write(&format!("{EVENT}/enable"), "1")
            .map_err(|e| fail("cannot enable inet_sock_set_state", e))?;
        tracer.clock = MonoToReal::measure();
        Ok(tracer)
    }

    fn write(&self, file: &str, value: &str) -> std::io::Result<()> {
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(self.instance.join(file))?
            .write_all(value.as_bytes())
    }

    /// Every change traced since the last call, without waiting. A read error ends
    /// nothing: the changes read so far are kept, and the capture goes on.
    pub fn poll(&mut self, out: &mut Vec<KernelChange>) {
        loop {
            match self.pipe.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.partial.extend_from_slice(&self.buf[..n]);
                    self.take_lines(out);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    fn take_lines(&mut self, out: &mut Vec<KernelChange>) {
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            // No line is this long: whatever this is, it is not one to keep.
            if self.partial.len() > 1 << 20 {
                self.partial.clear();
            }
            return;
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        for line in complete.split(|&b| b == b'\n') {
            let Some(t) = std::str::from_utf8(line).ok().and_then(trace_line::parse) else { continue };
            out.push(KernelChange {
                time: self.clock.real(t.clock_nanos),
                local: t.local,
                remote: t.remote,
                from: t.from,
                to: t.to,
                source: KernelSource::Tracepoint,
            });
        }
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        let _ = self.write(&format!("{EVENT}/enable"), "0");
        // The pipe must be closed before the instance can go.
        self.pipe = match File::open("/dev/null") {
            Ok(f) => f,
            Err(_) => return,
        };
        let _ = fs::remove_dir(&self.instance);
        if self.mounted_here {
            unmount(Path::new(ROOT));
        }
    }
}

fn c_path(path: &Path) -> std::io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(ErrorKind::InvalidInput, e))
}

fn mount(root: &Path) -> std::io::Result<()> {
    let target = c_path(root)?;
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let rc =
        unsafe { libc::mount(c"nodev".as_ptr(), target.as_ptr(), c"tracefs".as_ptr(), 0, std::ptr::null()) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

fn unmount(root: &Path) {
    if let Ok(target) = c_path(root) {
        // SAFETY: as above. A busy mount stays; nothing else to do about it.
        unsafe { libc::umount(target.as_ptr()) };
    }
}
