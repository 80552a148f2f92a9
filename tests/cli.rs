//! The command line as a user meets it: errors in one line, exit codes, pipes, filters.

use assert_cmd::Command;
use std::io::Write;

fn tcplab() -> Command {
    let mut cmd = Command::cargo_bin("tcplab").unwrap();
    cmd.env_remove("LANG").env_remove("LC_ALL").env("NO_COLOR", "1");
    cmd
}

fn capture(name: &str) -> String {
    format!("{}/captures/{name}.pcap", env!("CARGO_MANIFEST_DIR"))
}

fn one_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes).to_string();
    assert_eq!(text.trim_end().lines().count(), 1, "expected one line, got: {text}");
    text
}

#[test]
fn a_missing_file_is_one_line_naming_the_path() {
    let out = tcplab().args(["replay", "/nonexistent/x.pcap"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = one_line(&out.stderr);
    assert!(err.contains("cannot open /nonexistent/x.pcap") && err.contains("No such file"), "{err}");
}

#[test]
fn a_file_that_is_not_a_capture_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.pcap");
    std::fs::write(&path, b"this is a text file, not a capture at all").unwrap();
    let out = tcplab().arg("replay").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("not a pcap or pcapng capture"));
}

#[test]
fn a_cut_file_reports_every_complete_frame_then_warns() {
    let whole = std::fs::read(capture("handshake")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.pcap");
    // Cut in the middle of the last record.
    std::fs::write(&path, &whole[..whole.len() - 20]).unwrap();
    let out = tcplab().args(["replay", "--format", "jsonl"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a cut file exits 3");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let segments = stdout.lines().filter(|l| l.contains(r#""type":"segment""#)).count();
    assert_eq!(segments, 12, "the 12 complete frames of 13 are all reported");
    let err = one_line(&out.stderr);
    assert!(err.contains("is cut short") && err.contains("cut.pcap"), "{err}");
}

#[test]
fn a_bad_filter_names_the_expression() {
    let out = tcplab().args(["replay", "-f", "tcp portt 80", &capture("handshake")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("bad filter expression 'tcp portt 80'"));
}

#[test]
fn filters_keep_frame_numbers_of_the_file() {
    let out = tcplab()
        .args(["replay", "--format", "jsonl", "-f", "tcp[tcpflags] & tcp-fin != 0", &capture("handshake")])
        .output()
        .unwrap();
    let frames: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "segment")
        .map(|v| v["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(frames, [10, 12], "the two FINs keep their numbers in the file");
}

#[test]
fn port_and_host_filters_select_segments() {
    let none = tcplab().args(["replay", "--summary", "--port", "1", &capture("handshake")]).output().unwrap();
    assert!(String::from_utf8_lossy(&none.stdout).contains("0 TCP segments"));
    let all = tcplab()
        .args(["replay", "--summary", "--host", "127.0.0.1", &capture("handshake")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&all.stdout).contains("13 TCP segments"));
}

/// Runs tcplab with `args`, reads the first `bytes` bytes of its output and hangs up,
/// as `| head -c` does; returns how tcplab ended.
fn hang_up_after(args: &[&std::ffi::OsStr], bytes: usize) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tcplab"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = vec![0u8; bytes];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    child.wait_with_output().unwrap()
}

/// It ended with success and said nothing.
fn assert_quiet(out: &std::process::Output, what: &str) {
    assert!(out.status.success(), "{what}: status {:?}", out.status);
    assert!(out.stderr.is_empty(), "{what}: stderr: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_closed_pipe_exits_quietly() {
    let files = [capture("handshake"), capture("half-close"), capture("four-way")];
    let mut args = vec![std::ffi::OsStr::new("replay")];
    args.extend(files.iter().map(std::ffi::OsStr::new));
    assert_quiet(&hang_up_after(&args, 16), "three files");
}

/// A capture of `count` SYNs from distinct ports, written with libpcap.
fn syns(path: &std::path::Path, count: u32) {
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).unwrap();
    let mut file = dead.savefile(path).unwrap();
    let mut bytes = Vec::new();
    for i in 0..count {
        let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([127, 0, (i >> 16) as u8, 1], [127, 0, 0, 2], 64)
            .tcp(1024 + (i % 60_000) as u16, 80, i, 64240)
            .syn();
        bytes.clear();
        builder.write(&mut bytes, &[]).unwrap();
        let ts = libc::timeval { tv_sec: 1_700_000_000, tv_usec: (i % 1_000_000) as _ };
        let header = pcap::PacketHeader { ts, caplen: bytes.len() as u32, len: bytes.len() as u32 };
        file.write(&pcap::Packet::new(&header, &bytes));
    }
    file.flush().unwrap();
}

#[test]
fn a_closed_pipe_stops_every_thread_of_a_long_replay() {
    // Enough frames that the reading and tracking threads are far ahead, waiting to
    // hand over, when the reader of the output hangs up: they must stop, not hang or
    // complain, whichever view runs.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syns.pcap");
    syns(&path, 200_000);
    for view in [&[][..], &["--format", "jsonl"], &["--ladder"]] {
        let mut args = vec![std::ffi::OsStr::new("replay")];
        args.extend(view.iter().map(std::ffi::OsStr::new));
        args.push(path.as_os_str());
        assert_quiet(&hang_up_after(&args, 4096), &format!("{view:?}"));
    }
}

#[test]
fn color_is_off_in_pipes_and_on_when_asked() {
    let piped = tcplab().args(["replay", &capture("refused")]).env_remove("NO_COLOR").output().unwrap();
    assert!(!piped.stdout.contains(&0x1b));
    let forced = tcplab()
        .args(["replay", "--color", "always", &capture("refused")])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(forced.stdout.contains(&0x1b));
}

#[test]
fn hostile_payloads_never_reach_the_terminal_raw() {
    // A real capture with its first data payload replaced by escape sequences and a
    // bidi override (checksums are not verified, so the frame still decodes).
    let mut bytes = std::fs::read(capture("handshake")).unwrap();
    let needle = b"hello, server";
    let at = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    bytes[at..at + needle.len()].copy_from_slice(b"\x1b[2J\x1b]0;\x07\r\xe2\x80\xae");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.pcap");
    std::fs::File::create(&path).unwrap().write_all(&bytes).unwrap();
    let out = tcplab().args(["replay", "--color", "never"]).arg(&path).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.bytes().any(|b| b == 0x1b || b == 0x07 || b == b'\r'));
    assert!(!text.contains('\u{202e}'));
    assert!(text.contains(r#"\e[2J\e]0;\x07\r\u{202e}"#), "{text}");
}

#[test]
fn time_wait_rule_is_configurable() {
    let rfc =
        tcplab().args(["replay", "--summary", "--time-wait", "rfc", &capture("handshake")]).output().unwrap();
    assert!(String::from_utf8_lossy(&rfc.stdout).contains("RFC 9293: 2×MSL = 240 s"));
    let bad = tcplab().args(["replay", "--time-wait", "forever", &capture("handshake")]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn lab_lists_its_scenarios() {
    let out = tcplab().args(["lab", "--list"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for name in tcplab::lab::Scenario::ALL.map(|s| s.name()) {
        assert!(text.contains(name), "{name} missing from {text}");
    }
}

#[test]
fn the_client_explains_a_refused_connection() {
    // A port that nobody listens on: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = tcplab()
        .args(["client", "--connect", &format!("127.0.0.1:{port}"), "--send", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("refused: nothing listens there"));
}

#[test]
fn the_server_explains_a_port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = tcplab().args(["server", "--bind", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("already in use"));
}

/// `--step` on a real terminal: a pseudo-terminal driven by Python's `pty` module. Keys
/// act at once, with no Enter (raw mode): space and → show the next segment, ← goes
/// back (the screen is drawn again up to the segment before), `q` quits at once; the
/// prompt is taken back after each key; the terminal is as it was afterwards.
#[test]
fn step_mode_takes_single_keys_on_a_terminal() {
    let script = r#"
import os, pty, sys, select, time, termios
pid, fd = pty.fork()
if pid == 0:
    os.environ["NO_COLOR"] = "1"
    os.execv(sys.argv[1], [sys.argv[1], "replay", "--step", "--lang", "en", sys.argv[2]])
before = termios.tcgetattr(fd)
PROMPT = b"[space/Enter/"
def read_until(marker, limit=10.0):
    out, end = b"", time.time() + limit
    while out.count(marker) == 0:
        if time.time() > end:
            sys.exit("timed out waiting for %r; got %r" % (marker, out))
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            out += os.read(fd, 4096)
    return out.decode()
first = read_until(PROMPT)
assert "handshake 1/3" in first and "handshake 2/3" not in first, first
os.write(fd, b" ")
second = read_until(PROMPT)
assert "\x1b[2K" in second.split("handshake 2/3")[0], "the prompt is taken back: %r" % second
assert "handshake 2/3" in second and "handshake 3/3" not in second, second
os.write(fd, b"\x1b[D")  # left arrow: back one segment
back = read_until(PROMPT)
assert "\x1b[2J" in back, "the screen is drawn again: %r" % back
redrawn = back.split("\x1b[2J")[-1]
assert "handshake 1/3" in redrawn and "handshake 2/3" not in redrawn, redrawn
os.write(fd, b"\x1b[C")  # right arrow: forward again, from what was shown
again = read_until(PROMPT)
assert "handshake 2/3" in again and "handshake 3/3" not in again, again
os.write(fd, b"\r")
third = read_until(PROMPT)
assert "handshake 3/3" in third, third
os.write(fd, b"q")
end = time.time() + 10
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.time() > end:
        sys.exit("q did not quit")
    time.sleep(0.05)
after = termios.tcgetattr(fd)
assert after[3] & termios.ICANON and after[3] & termios.ECHO, "raw mode left on"
assert after == before, "terminal modes changed: %r -> %r" % (before, after)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let status = std::process::Command::new("python3")
        .args(["-c", script, env!("CARGO_BIN_EXE_tcplab"), &capture("handshake")])
        .status()
        .unwrap();
    assert!(status.success(), "python pty driver: {status}");
}

/// Ctrl-C during `--step` stops the segments and prints the summary of those shown.
#[test]
fn step_mode_ctrl_c_prints_the_summary_so_far() {
    let script = r#"
import os, pty, sys, select, time, termios
pid, fd = pty.fork()
if pid == 0:
    os.environ["NO_COLOR"] = "1"
    os.execv(sys.argv[1], [sys.argv[1], "replay", "--step", "--lang", "en", sys.argv[2]])
out, end = b"", time.time() + 10
while b"[space/Enter/" not in out:
    if time.time() > end:
        sys.exit("no prompt: %r" % out)
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        out += os.read(fd, 4096)
os.write(fd, b"\x03")
rest = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    rest += chunk
_, status = os.waitpid(pid, 0)
rest = rest.decode()
assert "── summary ──" in rest and "connection 0: client" in rest, rest
assert "handshake 2/3" not in rest, rest
assert os.waitstatus_to_exitcode(status) == 0, status
"#;
    let status = std::process::Command::new("python3")
        .args(["-c", script, env!("CARGO_BIN_EXE_tcplab"), &capture("handshake")])
        .status()
        .unwrap();
    assert!(status.success(), "python pty driver: {status}");
}

/// From a pipe, `--step` reads lines: one Enter a segment, `q` stops.
#[test]
fn step_mode_reads_lines_from_a_pipe() {
    let out = tcplab()
        .args(["replay", "--step", "--lang", "en", &capture("handshake")])
        .write_stdin("\n\nq\n")
        .output()
        .unwrap();
    let prompts = String::from_utf8(out.stderr).unwrap();
    assert_eq!(prompts.matches("[Enter: next segment, q: stop]").count(), 3, "{prompts}");
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("handshake 3/3") && !shown.contains("data ·"), "{shown}");
}

#[test]
fn quiz_checks_answers_and_keeps_score() {
    let out = tcplab()
        .args(["replay", "--quiz", "--lang", "en", &capture("refused")])
        .write_stdin("syn_sent\nLISTEN\nclosed\nlisten\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let prompts = String::from_utf8(out.stderr).unwrap();
    assert!(prompts.contains("right: SYN-SENT"), "{prompts}");
    assert!(prompts.contains("not quite: it is CLOSED"), "{prompts}");
    assert!(prompts.contains("quiz: 3 of 4 right"), "{prompts}");
}

#[test]
fn speed_changes_the_pace_not_the_story() {
    let plain = tcplab().args(["replay", "--lang", "en", &capture("four-way")]).output().unwrap();
    let paced =
        tcplab().args(["replay", "--lang", "en", "--speed", "50", &capture("four-way")]).output().unwrap();
    assert!(paced.status.success());
    assert_eq!(plain.stdout, paced.stdout);
    let bad = tcplab().args(["replay", "--speed", "-1", &capture("four-way")]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn several_files_are_each_told_whole() {
    let out = tcplab()
        .args(["replay", "--lang", "en", &capture("handshake"), &capture("refused")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("connection 0: client").count(), 4, "a header and a summary per file:\n{text}");
    assert_eq!(text.matches("── summary ──").count(), 2);
    assert_eq!(text.matches("The client asks to open a connection").count(), 2);
    let summary =
        tcplab().args(["replay", "--summary", &capture("handshake"), &capture("refused")]).output().unwrap();
    let summary = String::from_utf8(summary.stdout).unwrap();
    assert!(summary.contains("handshake.pcap") && summary.contains("refused.pcap"), "{summary}");
}

#[test]
fn a_filter_keeps_the_file_s_clock() {
    let ts_of_frame_10 = |args: &[&str]| -> f64 {
        let out = tcplab()
            .args(["replay", "--format", "jsonl"])
            .args(args)
            .arg(capture("handshake"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["type"] == "segment" && v["frame"] == 10)
            .map(|v| v["ts"].as_f64().unwrap())
            .unwrap()
    };
    assert_eq!(ts_of_frame_10(&[]), ts_of_frame_10(&["-f", "tcp[tcpflags] & tcp-fin != 0"]));
}

/// On a real terminal the timeline is coloured, unless NO_COLOR says otherwise
/// (no-color.org) or `--color never` is given.
#[test]
fn colour_on_a_terminal_unless_no_color() {
    let script = r#"
def run(env_no_color, extra):
    pid, fd = pty.fork()
    if pid == 0:
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        if env_no_color:
            env["NO_COLOR"] = "1"
        os.execve(sys.argv[1], [sys.argv[1], "replay", "--lang", "en", sys.argv[2]] + extra, env)
    out = read_all(fd)
    os.waitpid(pid, 0)
    return b"\x1b[" in out
assert run(False, []), "no colour on a terminal"
assert not run(True, []), "colour despite NO_COLOR"
assert not run(False, ["--color", "never"]), "colour despite --color never"
"#;
    run_on_a_terminal(script, &capture("refused"));
}

/// Runs a Python `script` that drives tcplab on a pseudo-terminal, with tcplab's path
/// as `sys.argv[1]` and `file` as `sys.argv[2]`; `read_all(fd)` reads the terminal to
/// its end. The script asserts; this asserts that it succeeded.
fn run_on_a_terminal(script: &str, file: &str) {
    let prelude = r#"
import os, pty, sys
def read_all(fd):
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return out
        if not chunk:
            return out
        out += chunk
"#;
    let status = std::process::Command::new("python3")
        .args(["-c", &format!("{prelude}{script}"), env!("CARGO_BIN_EXE_tcplab"), file])
        .status()
        .unwrap();
    assert!(status.success(), "python pty driver: {status}");
}

/// A classic pcap of `count` SYNs from distinct ports, big enough for a progress bar.
fn big_capture(count: u32) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let mut out = Vec::with_capacity(count as usize * 70 + 24);
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..count {
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, (i >> 16) as u8, (i >> 8) as u8], [10, 1, 0, 1], 64)
            .tcp(i as u16 | 1024, 80, i, 512)
            .syn();
        let mut frame = Vec::new();
        builder.write(&mut frame, &[]).unwrap();
        for word in [i / 1000, (i % 1000) * 1000, frame.len() as u32, frame.len() as u32] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&frame);
    }
    file.write_all(&out).unwrap();
    file
}

/// The progress bar of a big replay is drawn on stderr only when stderr is a
/// terminal (and stdout is not): a pipe, as in every other test, never gets it.
#[test]
fn progress_bar_only_on_a_terminal() {
    let big = big_capture(260_000);
    assert!(big.as_file().metadata().unwrap().len() >= tcplab::progress::MIN_FILE_BYTES);
    let path = big.path().to_str().unwrap();
    // Everything filtered out: the replay only reads, and prints only its closing line.
    let out = tcplab().args(["replay", "--summary", "-f", "udp", path]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let script = r#"
import fcntl, termios, struct
pid, fd = pty.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], [sys.argv[1], "replay", "--summary", "--lang", "en", "-f", "udp", sys.argv[2]])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
out = read_all(fd)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert b"packets \xc2\xb7" in out and b"%" in out, out[-300:]
"#;
    run_on_a_terminal(script, path);
}

/// The segments' frame numbers in jsonl output.
fn segment_frames(stdout: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "segment")
        .map(|v| v["frame"].as_u64().unwrap())
        .collect()
}

#[test]
fn words_after_the_files_are_the_filter_as_tcpdump_takes_them() {
    let fins = "tcp[tcpflags] & tcp-fin != 0";
    let one_word =
        tcplab().args(["replay", "--format", "jsonl", &capture("handshake"), fins]).output().unwrap();
    assert_eq!(segment_frames(&one_word.stdout), [10, 12], "{}", String::from_utf8_lossy(&one_word.stderr));
    let words: Vec<&str> = fins.split(' ').collect();
    let many =
        tcplab().args(["replay", "--format", "jsonl", &capture("handshake")]).args(&words).output().unwrap();
    assert_eq!(segment_frames(&many.stdout), [10, 12]);
    // With -r, every other word is the expression; -f and the words must both pass.
    let read = tcplab()
        .args([
            "replay",
            "--format",
            "jsonl",
            "-f",
            "src port 8080 or dst port 8080",
            "-r",
            &capture("handshake"),
        ])
        .args(&words)
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    assert!(segment_frames(&read.stdout).is_empty(), "no FIN of handshake.pcap is on port 8080");
    let bad = tcplab().args(["replay", &capture("handshake"), "tcp", "portt", "80"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(one_line(&bad.stderr).contains("bad filter expression 'tcp portt 80'"));
    assert!(bad.stdout.is_empty(), "nothing replayed unfiltered before the error");
}

#[test]
fn no_file_at_all_is_a_usage_error_that_says_what_to_give() {
    let out = tcplab().args(["replay", "tcp", "port", "80"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no capture file given") && err.contains("-r FILE"), "{err}");
    assert!(err.contains("Usage: tcplab replay"), "{err}");
}

#[test]
fn a_dash_reads_the_capture_from_standard_input() {
    let bytes = std::fs::read(capture("handshake")).unwrap();
    let piped = tcplab().args(["replay", "--format", "jsonl", "-"]).write_stdin(bytes).output().unwrap();
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    assert_eq!(segment_frames(&piped.stdout), (1..=13).collect::<Vec<_>>());
    let garbage = tcplab().args(["replay", "-"]).write_stdin("not a capture").output().unwrap();
    assert_eq!(garbage.status.code(), Some(1));
    assert!(one_line(&garbage.stderr).contains("standard input"));
}

#[test]
fn count_stops_after_n_packets_that_pass_the_filters() {
    let out =
        tcplab().args(["replay", "--format", "jsonl", "-c", "3", &capture("handshake")]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(segment_frames(&out.stdout), [1, 2, 3]);
    // Counted after the filter, as tcpdump counts: the first two FINs' frames.
    let fins = tcplab()
        .args([
            "replay",
            "--format",
            "jsonl",
            "-c",
            "1",
            &capture("four-way"),
            "tcp[tcpflags] & tcp-fin != 0",
        ])
        .output()
        .unwrap();
    assert_eq!(segment_frames(&fins.stdout).len(), 1);
    let zero = tcplab().args(["replay", "-c", "0", &capture("handshake")]).output().unwrap();
    assert_eq!(zero.status.code(), Some(2));
}

#[test]
fn frames_left_out_by_port_are_counted_as_filtered() {
    let out = tcplab().args(["replay", "--summary", "--port", "1", &capture("handshake")]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 other frames skipped") && text.contains("13 left out by the filter"), "{text}");
}

#[test]
fn views_that_do_not_combine_are_refused_in_one_line() {
    for (args, says) in [
        (&["--ladder", "--format", "jsonl"][..], "--ladder draws text"),
        (&["--ladder", "--summary"][..], "two different views"),
        (&["--step", "--format", "jsonl"][..], "pace the text views"),
        (&["--quiz", "--format", "jsonl"][..], "pace the text views"),
    ] {
        let out = tcplab().arg("replay").args(args).arg(capture("handshake")).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: ") && err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing is shown before the error");
    }
}

#[test]
fn an_svg_path_that_cannot_be_written_fails_first_naming_it() {
    let out = tcplab()
        .args(["replay", "--svg", "/nonexistent/dir/ladder.svg", &capture("handshake")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no timeline before the error");
    assert!(one_line(&out.stderr).contains("cannot write /nonexistent/dir/ladder.svg"));
}

#[test]
fn every_text_view_under_ascii_is_seven_bit() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut captures: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    captures.retain(|p| p.extension().is_some_and(|e| e == "pcap"));
    assert!(captures.len() >= 13, "the shipped captures");
    for capture in &captures {
        for view in [&[][..], &["--ladder"][..], &["--summary"][..], &["--lang", "zh"][..]] {
            let out = tcplab().args(["replay", "--ascii"]).args(view).arg(capture).output().unwrap();
            assert!(out.status.success(), "{}: {view:?}", capture.display());
            let wide = out.stdout.iter().position(|b| !b.is_ascii());
            assert_eq!(wide, None, "{} {view:?}: not ASCII at byte {wide:?}", capture.display());
            assert!(!out.stdout.is_empty());
        }
    }
}

#[test]
fn quiz_ended_with_ctrl_d_tells_the_score_on_a_line_of_its_own() {
    let out = tcplab()
        .args(["replay", "--quiz", &capture("handshake")])
        .write_stdin("SYN-SENT\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.ends_with("after it? \nquiz: 1 of 1 right\n"), "{err:?}");
}

#[test]
fn inspect_on_a_capture_without_tcp_says_so() {
    let stp = format!("{}/tests/corpus/tcpdump-tests/802.1D_spanning_tree.pcap", env!("CARGO_MANIFEST_DIR"));
    let out = tcplab().args(["inspect", &stp]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("no TCP segment in this capture"));
}

/// On a terminal the timeline and the ladder follow its width: at 60, 80 and 120
/// columns no line of any shipped capture is wider, and no word is split (every word
/// at 60 or 80 columns is a word at 120, bar the short state names of a narrow
/// terminal). `COLUMNS` is obeyed too.
#[test]
fn text_views_fit_the_terminal_width() {
    let script = r#"
import fcntl, os, pty, re, struct, sys, termios
def run(width, args, env_columns=None):
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        env["NO_COLOR"] = "1"
        if env_columns:
            env["COLUMNS"] = str(env_columns)
        os.execve(sys.argv[1], [sys.argv[1], "replay", "--lang", "en"] + args, env)
    out = read_all(fd)
    os.waitpid(pid, 0)
    return out.decode().replace("\r\n", "\n")
def words(text):
    # A word cut short with "…" (a payload in a ladder's arrow) is not a split word.
    return set(re.findall(r"[A-Za-z]{2,}(?![A-Za-z…])", text)) - {"ESTAB", "RCVD"}
captures = sys.argv[2].split(",")
for capture in captures:
    for view in ([capture], ["--ladder", capture]):
        wide = run(120, view)
        assert "connection 0" in wide, wide
        for width in (60, 80, 120):
            text = run(width, view)
            for line in text.splitlines():
                assert len(line) <= width, "%s at %d: %d columns: %r" % (view, width, len(line), line)
            split = words(text) - words(wide)
            assert not split, "%s at %d: split words %r" % (view, width, split)
text = run(120, [captures[0]], env_columns=70)
assert max(len(l) for l in text.splitlines()) <= 70, "COLUMNS=70 not obeyed"
assert max(len(l) for l in text.splitlines()) > 60
"#;
    let all: Vec<String> = tcplab::lab::Scenario::ALL.iter().map(|s| capture(s.name())).collect();
    run_on_a_terminal(script, &all.join(","));
}

/// Errors and warnings follow `--lang zh` (and `LANG=zh_CN…`) too: tcplab's own
/// words are Chinese, what the system says (the reason a file cannot be opened) is
/// given as it is.
#[test]
fn errors_speak_the_language_asked_for() {
    let missing = tcplab().args(["replay", "--lang", "zh", "/nonexistent/x.pcap"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let said = one_line(&missing.stderr);
    assert!(said.starts_with("tcplab: 无法打开 /nonexistent/x.pcap："), "{said}");
    let views = tcplab()
        .args(["replay", "--ladder", "--summary", &capture("handshake")])
        .env("LANG", "zh_CN.UTF-8")
        .output()
        .unwrap();
    assert_eq!(views.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&views.stderr).contains("--ladder 和 --summary 是两种不同的视图"));
    let frame =
        tcplab().args(["inspect", "--lang", "zh", "--frame", "999", &capture("refused")]).output().unwrap();
    assert_eq!(frame.status.code(), Some(1));
    assert!(one_line(&frame.stderr).contains("第 999 帧不是 TCP 报文"), "{}", one_line(&frame.stderr));
    let english =
        tcplab().args(["inspect", "--lang", "en", "--frame", "999", &capture("refused")]).output().unwrap();
    assert!(one_line(&english.stderr).contains("frame 999 is not a TCP segment"));
}

#[test]
fn the_connection_table_is_sized_by_max_memory() {
    // 20,000 unanswered SYNs: within 256 MiB every one is followed to the end; within
    // 32 MiB the table holds a few thousand, and the oldest are summarised early. The
    // count of connections is the same either way, and every one is reported.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syns.pcap");
    syns(&path, 20_000);
    let capture_line = |budget: &str| -> serde_json::Value {
        let out = tcplab()
            .args(["replay", "--format", "jsonl", "--max-memory", budget])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().filter(|l| l.contains(r#""type":"connection""#)).count(), 20_000);
        serde_json::from_str(text.lines().last().unwrap()).unwrap()
    };
    let roomy = capture_line("256");
    let tight = capture_line("32");
    assert_eq!((roomy["connections"].as_u64(), roomy["evicted_half_open"].as_u64()), (Some(20_000), Some(0)));
    let evicted = tight["evicted_half_open"].as_u64().unwrap();
    let held = tcplab::track::table::connections_within(32, true) as u64;
    assert_eq!((tight["connections"].as_u64(), evicted), (Some(20_000), 20_000 - held), "{tight}");

    let too_small = tcplab().args(["replay", "--max-memory", "8"]).arg(&path).output().unwrap();
    assert_eq!(too_small.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&too_small.stderr).contains("--max-memory"));
}
