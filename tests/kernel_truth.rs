//! The kernel holds tcplab to the truth: every lab scenario that uses real sockets is
//! played with `--kernel`, and every state change the kernel reported for a captured
//! connection must be one that tcplab inferred, for the same side, at a frame within
//! 2 ms of the kernel's moment.
//!
//! The exceptions are few and named (see `docs/json.md`, `kernel_state`):
//!
//! - Linux answers a SYN with a request socket, which is not traced: the listener's
//!   child reports LISTEN → SYN_RECV when the third ACK makes it. It matches tcplab's
//!   SYN-RECEIVED of that side at the peer's SYN, which came before.
//! - A socket entering TIME-WAIT is replaced by a timewait socket, and Linux reports
//!   the full one as going to CLOSE: X → CLOSE matches tcplab's X → TIME-WAIT.
//! - A change the wire cannot time (a close whose FIN waits behind data, a connect
//!   whose first SYN was dropped) matches at the side's next FIN or SYN.
//!
//! - `lossy` captures at the client's end of a link with a 25 ms one-way delay: the
//!   server's changes are compared one link delay after the frame, and may be up to
//!   10 ms later still (tcplab relays that link in user space, late on a busy machine).
//!
//! The listening socket's own changes (CLOSE → LISTEN, LISTEN → CLOSE) are no
//! connection's and are skipped. Needs root (tracefs); CI runs as root. Linux only.
#![cfg(target_os = "linux")]

use serde_json::Value;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tcplab");
/// How far apart the kernel's moment and tcplab's frame may be.
const WITHIN: f64 = 0.002;
/// The one-way delay of `lossy`'s link, in seconds.
const LOSSY_ONE_WAY: f64 = 0.025;
/// How much later than that a packet may reach `lossy`'s server: tcplab relays the link
/// in user space, and on a busy machine the relay's thread runs a few ms late.
const RELAY_SLACK: f64 = 0.010;

/// Every scenario of `tcplab lab --list` that plays real sockets.
const SCENARIOS: [&str; 13] = [
    "handshake",
    "four-way",
    "server-closes",
    "merged-close",
    "half-close",
    "refused",
    "abort",
    "zero-window",
    "syn-retry",
    "simultaneous-open",
    "simultaneous-close",
    "stale-syn",
    "lossy",
];

const STATES: [&str; 11] = [
    "CLOSED",
    "LISTEN",
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
];

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The exact capture time of a line (`"1796250989.380849667"`), as seconds.
fn time(line: &Value) -> f64 {
    line["time"].as_str().and_then(|t| t.parse().ok()).unwrap_or(f64::NAN)
}

struct Segment {
    conn: u64,
    frame: u64,
    time: f64,
    sender: &'static str,
    syn_or_fin: bool,
}

struct Transition {
    conn: u64,
    frame: u64,
    time: f64,
    side: String,
    to: String,
}

/// What one run said, split by type.
struct Run {
    segments: Vec<Segment>,
    transitions: Vec<Transition>,
    kernel: Vec<Value>,
}

fn play(scenario: &str) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(["lab", scenario, "--kernel", "--format", "jsonl"]).env("LC_ALL", "C").current_dir("/");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run tcplab lab {scenario}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tcplab lab {scenario} --kernel failed: {}\n{stderr}", out.status);
    assert!(
        !stderr.contains("no kernel state changes here"),
        "tcplab lab {scenario} --kernel could not read the kernel: {stderr}"
    );
    let mut run = Run { segments: Vec::new(), transitions: Vec::new(), kernel: Vec::new() };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let conn = v["conn"].as_u64().unwrap_or(u64::MAX);
        let frame = v["frame"].as_u64().unwrap_or(0);
        match v["type"].as_str() {
            Some("segment") => {
                let flags: Vec<&str> =
                    v["flags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                run.segments.push(Segment {
                    conn,
                    frame,
                    time: time(&v),
                    sender: if v["dir"] == "c2s" { "client" } else { "server" },
                    syn_or_fin: flags.contains(&"SYN") || flags.contains(&"FIN"),
                });
            }
            Some("transition") => run.transitions.push(Transition {
                conn,
                frame,
                time: time(&v),
                side: v["side"].as_str().unwrap_or("").to_owned(),
                to: v["to"].as_str().unwrap_or("").to_owned(),
            }),
            Some("kernel_state") => run.kernel.push(v),
            _ => {}
        }
    }
    run
}

/// Whether the kernel's change `k` is a listening socket's own: no connection's.
fn is_listener(k: &Value) -> bool {
    let remote_port = k["remote"].as_str().and_then(|r| r.rsplit(':').next()).unwrap_or("");
    k["conn"].is_null()
        && (remote_port == "0" || (k["linux_from"] == "TCP_LISTEN" && k["linux_to"] == "TCP_CLOSE"))
}

/// How `k` is matched by tcplab's transitions, or `None`.
fn matched(scenario: &str, run: &Run, k: &Value) -> Option<&'static str> {
    let conn = k["conn"].as_u64()?;
    let side = k["side"].as_str()?;
    // `lossy` captures at the client's end of a link that delays every packet by
    // 25 ms (`src/lab/lossy.rs`): a segment reaches the server, which changes state,
    // one link delay after the frame; the capture cannot see that moment itself.
    let far = scenario == "lossy" && side == "server";
    let at = time(k) - if far { LOSSY_ONE_WAY } else { 0.0 };
    // A frame's time `t` is the kernel's moment, give or take WITHIN (and, at the far
    // end of `lossy`'s link, up to RELAY_SLACK later).
    let near = |t: f64| {
        let late = at - t;
        late.abs() <= WITHIN || (far && late > 0.0 && late <= WITHIN + RELAY_SLACK)
    };
    let to: &'static str = STATES.iter().find(|s| **s == k["to"].as_str().unwrap_or(""))?;
    let of_side = |state: &'static str| {
        run.transitions.iter().filter(move |t| t.conn == conn && t.side == side && t.to == state)
    };
    // The request socket: tcplab's SYN-RECEIVED at the peer's SYN, before.
    if k["linux_from"] == "TCP_LISTEN" && k["linux_to"] == "TCP_SYN_RECV" {
        let at_syn = of_side("SYN-RECEIVED").any(|t| {
            t.time <= at + WITHIN
                && run
                    .segments
                    .iter()
                    .any(|s| s.conn == conn && s.frame == t.frame && s.sender != side && s.syn_or_fin)
        });
        return at_syn.then_some("request socket");
    }
    if of_side(to).any(|t| near(t.time)) {
        return Some("at its moment");
    }
    // The timewait socket: X → CLOSE for tcplab's X → TIME-WAIT.
    if k["linux_to"] == "TCP_CLOSE" && of_side("TIME-WAIT").any(|t| near(t.time)) {
        return Some("timewait socket");
    }
    // Not timed by the wire: at the side's next FIN or SYN.
    let next =
        run.segments.iter().find(|s| s.conn == conn && s.sender == side && s.syn_or_fin && s.time >= at)?;
    of_side(to).any(|t| t.frame == next.frame).then_some("at its next FIN or SYN")
}

#[test]
fn every_kernel_change_is_one_tcplab_inferred() {
    if !is_root() {
        eprintln!("skipped: reading the kernel's state changes (tracefs) needs root");
        return;
    }
    let mut report = Vec::new();
    let mut unmatched = Vec::new();
    let (mut all_matched, mut all_total) = (0, 0);
    for scenario in SCENARIOS {
        let run = play(scenario);
        let changes: Vec<&Value> = run.kernel.iter().filter(|k| !is_listener(k)).collect();
        let mut count = 0;
        // How each was matched, for the report: the exceptions stay visible.
        let mut how: Vec<(&str, usize)> = Vec::new();
        for k in &changes {
            match matched(scenario, &run, k) {
                Some(rule) => {
                    count += 1;
                    match how.iter_mut().find(|(r, _)| *r == rule) {
                        Some((_, n)) => *n += 1,
                        None => how.push((rule, 1)),
                    }
                }
                None => unmatched.push(format!("{scenario}: {k}")),
            }
        }
        assert!(
            !changes.is_empty() || scenario == "stale-syn",
            "lab {scenario}: the kernel reported no change"
        );
        let how: Vec<String> = how.iter().map(|(rule, n)| format!("{n} {rule}")).collect();
        report.push(format!(
            "{scenario:<20} {count:>3} of {:>3} kernel changes matched ({})",
            changes.len(),
            how.join(", ")
        ));
        all_matched += count;
        all_total += changes.len();
    }
    report.push(format!("{:<20} {all_matched:>3} of {all_total:>3}", "all"));
    eprintln!("{}", report.join("\n"));
    assert!(
        unmatched.is_empty(),
        "kernel changes tcplab did not infer:\n{}\n\n{}",
        unmatched.join("\n"),
        report.join("\n")
    );
}

/// `watch --kernel` makes its own tracing instance and removes it when SIGTERM stops
/// it, as on Ctrl-C: nothing is left enabled in the kernel.
#[test]
fn the_tracing_instance_goes_with_the_program() {
    use std::io::{BufRead, BufReader};
    if !is_root() {
        eprintln!("skipped: tracefs needs root");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(BIN)
        .args(["watch", "-i", "lo", "--port", &port.to_string(), "--kernel", "--format", "jsonl"])
        .env("LC_ALL", "C")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start tcplab watch");
    let instance = std::path::PathBuf::from(format!("/sys/kernel/tracing/instances/tcplab-{}", child.id()));
    // Ready once it says how to stop it; everything is set up by then.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap_or(0) > 0 {
        said.push_str(&line);
        if line.contains("Ctrl-C") {
            break;
        }
        line.clear();
    }
    assert!(said.contains("sock:inet_sock_set_state"), "not traced:\n{said}");
    assert!(instance.is_dir(), "{} was not made", instance.display());
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("wait for tcplab watch");
    assert!(status.success(), "{status}");
    assert!(!instance.exists(), "{} is still there", instance.display());
}
