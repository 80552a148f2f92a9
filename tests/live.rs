//! Real traffic on loopback: the `tcplab` binary capturing sockets that really open,
//! talk and close, and the chat server taking many clients at once.
//!
//! CI runs these as root. Without root and without capture rights the capture tests
//! say why on stderr and return early; nothing else is skipped.
//!
//! Linux only: they capture on `lo`, check states against /proc/net/tcp and play the
//! scenarios that need network namespaces.
#![cfg(target_os = "linux")]

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use tcplab::chat::server::{ChatEvent, ChatServer, ServerOptions};

mod support;
use support::*;

// ---------------------------------------------------------------------------------
// Helpers: privileges and commands (the rest is in `support`).

/// Why this process may not capture on loopback; `None` when it may.
fn capture_refused() -> Option<String> {
    if is_root() {
        return None;
    }
    match pcap::Capture::from_device("lo").and_then(|c| c.open()) {
        Ok(_) => None,
        Err(e) => Some(format!("not root and no capture rights on lo ({e})")),
    }
}

/// Runs `tcplab ARGS`, asserts it succeeded, and returns its stdout.
fn tcplab_ok(args: &[&str]) -> String {
    let out = run(BIN, args, RUN);
    assert!(out.status.success(), "tcplab {args:?} failed: {}", show(&out));
    text(&out.stdout)
}

// ---------------------------------------------------------------------------------
// Helpers: JSON lines.

fn json_lines<S: AsRef<str>>(lines: &[S]) -> Vec<Value> {
    lines
        .iter()
        .map(AsRef::as_ref)
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

fn json_text(stdout: &str) -> Vec<Value> {
    json_lines(&stdout.lines().collect::<Vec<_>>())
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or_else(|| panic!("{field} is not a string in {value}"))
}

fn u64_of(value: &Value, field: &str) -> u64 {
    value[field].as_u64().unwrap_or_else(|| panic!("{field} is not a number in {value}"))
}

fn steps<'a>(segments: &[&'a Value]) -> Vec<&'a str> {
    segments.iter().map(|s| str_of(s, "step")).collect()
}

/// Whether the array `field` of `value` holds the string `item`.
fn lists(value: &Value, field: &str, item: &str) -> bool {
    value[field].as_array().is_some_and(|items| items.iter().any(|i| i == item))
}

fn is_segment_with_step(line: &str, step: &str) -> bool {
    serde_json::from_str::<Value>(line).is_ok_and(|v| v["type"] == "segment" && v["step"] == step)
}

/// The one `connection` line of a single-connection run.
fn only_connection<'a>(events: &'a [Value], context: &str) -> &'a Value {
    match of_type(events, "connection").as_slice() {
        [conn] => conn,
        other => panic!("{context}: expected one connection line, got {}", other.len()),
    }
}

// ---------------------------------------------------------------------------------
// watch, server and client as separate processes, with a client we did not write.

/// Connects, says which address it got, sends, reads the echo, half-closes, reads
/// until the server's FIN, closes.
const PYTHON_CLIENT: &str = r#"
import socket, sys
message = b'hi from python'
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
print('%s:%d' % s.getsockname(), flush=True)
s.sendall(message)
echo = b''
while len(echo) < len(message):
    chunk = s.recv(1024)
    if not chunk:
        break
    echo += chunk
assert echo == message, echo
s.shutdown(socket.SHUT_WR)
while s.recv(1024):
    pass
s.close()
"#;

/// Asserts one watched connection told the whole story: handshake, data both ways,
/// the wave, and the textbook end states.
///
/// `echo_may_follow_fin`: the client sent its FIN without waiting for the echo, so the
/// echo may leave after the FIN arrived, on the segment that acknowledges it; the
/// tracker then calls that segment `teardown 2/4`, not `data`.
fn assert_whole_story(conn: &Value, segments: &[&Value], echo_may_follow_fin: bool) {
    let id = &conn["conn"];
    let mine: Vec<&Value> = segments.iter().copied().filter(|s| s["conn"] == *id).collect();
    let seen = steps(&mine);
    for step in ["handshake 1/3", "handshake 2/3", "handshake 3/3", "teardown 1/4", "teardown 4/4"] {
        assert!(seen.contains(&step), "connection {id}: no `{step}` among {seen:?}");
    }
    for dir in ["c2s", "s2c"] {
        let carries_data = |s: &Value| s["dir"] == dir && u64_of(s, "len") > 0;
        let as_data = mine.iter().any(|s| carries_data(s) && s["step"] == "data");
        let at_all = mine.iter().any(|s| carries_data(s));
        if dir == "s2c" && echo_may_follow_fin && at_all && !as_data {
            eprintln!("connection {id}: the echo left after the client's FIN, so it is no `data` step");
            continue;
        }
        assert!(as_data, "connection {id}: no data segment {dir} among {seen:?}");
    }
    assert_eq!(conn["client_final"], "TIME-WAIT", "connection {id}: {conn}");
    assert_eq!(conn["server_final"], "CLOSED", "connection {id}: {conn}");
    assert_eq!(conn["conn_state"], "SF", "connection {id}: {conn}");
}

/// What a segment line says about the wire, which replay must say identically.
fn wire_key(segment: &Value) -> String {
    format!(
        "frame={} flags={} seq={} ack={} len={}",
        segment["frame"], segment["flags"], segment["seq"], segment["ack"], segment["len"]
    )
}

#[test]
fn watch_sees_our_client_and_a_python_client() {
    if let Some(why) = capture_refused() {
        eprintln!("skipping watch_sees_our_client_and_a_python_client: {why}");
        return;
    }
    let port = free_port();
    let port_text = port.to_string();
    let addr = format!("127.0.0.1:{port}");
    let server = Running::start(BIN, &["server", "--bind", &addr, "--reply", "--close-delay", "50ms"]);
    server.wait_for(Stream::Stdout, "`listening on`", READY, |l| l.contains("listening on"));

    let dir = tempfile::tempdir().expect("temporary directory");
    let saved = dir.path().join("live.pcap");
    let saved_text = saved.to_str().expect("a UTF-8 temporary path");
    let watch_args = ["watch", "-i", "lo", "--port", &port_text, "-w", saved_text];
    let mut watch =
        Running::start(BIN, &[&watch_args[..], &["--format", "jsonl", "--color", "never"]].concat());
    watch.wait_for(Stream::Stderr, "`listening on`", READY, |l| l.contains("listening on"));

    let ours = run(BIN, &["client", "--connect", &addr, "--send", "hello", "--send", "bye"], SETTLE);
    assert!(ours.status.success(), "tcplab client failed: {}", show(&ours));
    let python = run("python3", &["-c", PYTHON_CLIENT, &port_text], SETTLE);
    assert!(python.status.success(), "the python client failed: {}", show(&python));
    let python_addr = text(&python.stdout).trim().to_owned();

    // The last ACK of each wave is the last segment of its connection.
    let mut last_acks = 0;
    let mut stdout = watch.wait_for(Stream::Stdout, "two `teardown 4/4` segments", SETTLE, |l| {
        last_acks += usize::from(is_segment_with_step(l, "teardown 4/4"));
        last_acks == 2
    });
    watch.interrupt();
    let (status, rest, stderr) = watch.finish(SETTLE);
    stdout.extend(rest);
    let context =
        format!("--- watch stdout ---\n{}\n--- watch stderr ---\n{}", stdout.join("\n"), stderr.join("\n"));
    assert!(status.success(), "watch ended with {status}\n{context}");

    let events = json_lines(&stdout);
    let segments = of_type(&events, "segment");
    let connections = of_type(&events, "connection");
    assert_eq!(connections.len(), 2, "two connections expected\n{context}");
    let ids: HashSet<u64> = segments.iter().map(|s| u64_of(s, "conn")).collect();
    assert_eq!(ids, HashSet::from([0, 1]), "segments of two connections expected\n{context}");
    assert_ne!(connections[0]["client"], connections[1]["client"], "two different clients\n{context}");
    let by_python = connections.iter().filter(|c| c["client"] == python_addr.as_str()).count();
    assert_eq!(by_python, 1, "one connection from the python client at {python_addr}\n{context}");
    for conn in &connections {
        // Our client sends and closes at once; python waits for its echo first.
        assert_whole_story(conn, &segments, conn["client"] != python_addr.as_str());
    }

    // The saved file holds exactly what watch showed.
    let packets = packets_in(&saved);
    let [capture] = of_type(&events, "capture")[..] else { panic!("one capture line expected\n{context}") };
    assert_eq!(u64_of(capture, "frames"), packets, "watch's frame count vs libpcap's\n{context}");
    let replayed = json_text(&tcplab_ok(&["replay", "--format", "jsonl", saved_text]));
    let replayed_segments = of_type(&replayed, "segment");
    assert_eq!(replayed_segments.len(), segments.len(), "replay vs watch: segment lines\n{context}");
    let live: Vec<String> = segments.iter().map(|s| wire_key(s)).collect();
    let again: Vec<String> = replayed_segments.iter().map(|s| wire_key(s)).collect();
    assert_eq!(again, live, "replay and watch disagree about the wire");
    let [replay_capture] = of_type(&replayed, "capture")[..] else {
        panic!("replay: one capture line expected")
    };
    assert_eq!(u64_of(replay_capture, "frames"), packets, "replay's frame count vs libpcap's");
    drop(server);
}

// ---------------------------------------------------------------------------------
// demo: everything in one process, as root and as nobody.

#[test]
fn demo_as_root_tells_the_whole_story() {
    if let Some(why) = capture_refused() {
        eprintln!("skipping demo_as_root_tells_the_whole_story: {why}");
        return;
    }
    let english = tcplab_ok(&["demo", "--color", "never"]);
    for expected in [
        "handshake 1/3",
        "handshake 3/3",
        "teardown 1/4",
        "teardown 4/4",
        "TIME-WAIT",
        "The kernel confirms it",
        "Zeek conn_state SF",
    ] {
        assert!(english.contains(expected), "demo: no `{expected}` in:\n{english}");
    }
    let chinese = tcplab_ok(&["demo", "--color", "never", "--lang", "zh"]);
    for expected in ["第一次握手", "第四次挥手"] {
        assert!(chinese.contains(expected), "demo --lang zh: no `{expected}` in:\n{chinese}");
    }
}

/// `setpriv` arguments that run the rest as user and group 65534 (nobody).
const AS_NOBODY: [&str; 5] = ["--reuid", "65534", "--regid", "65534", "--clear-groups"];

/// The binary, or a copy of it in `copy_dir` when uid 65534 cannot reach the build
/// directory.
fn binary_for_nobody(copy_dir: &Path) -> PathBuf {
    let reachable = run("setpriv", &[&AS_NOBODY[..], &["test", "-x", BIN]].concat(), READY);
    if reachable.status.success() {
        return PathBuf::from(BIN);
    }
    binary_copy_for_nobody(copy_dir)
}

#[test]
fn demo_works_for_an_unprivileged_user() {
    if !is_root() {
        eprintln!("skipping demo_works_for_an_unprivileged_user: becoming uid 65534 needs root");
        return;
    }
    let copy_dir = tempfile::tempdir().expect("temporary directory");
    let bin = binary_for_nobody(copy_dir.path());
    let bin_text = bin.to_str().expect("a UTF-8 binary path");
    let out = run("setpriv", &[&AS_NOBODY[..], &[bin_text, "demo", "--color", "never"]].concat(), RUN);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    if stderr.contains("no private network namespace") {
        eprintln!(
            "skipping demo_works_for_an_unprivileged_user: this machine allows no user namespaces: {}",
            stderr.trim()
        );
        return;
    }
    assert!(out.status.success(), "demo as uid 65534 failed: {}", show(&out));
    assert!(stderr.contains("private network namespace"), "demo as uid 65534: {}", show(&out));
    assert!(stdout.contains("teardown 4/4"), "demo as uid 65534: {}", show(&out));
}

// ---------------------------------------------------------------------------------
// lab: every scenario ends where the textbook says it does.

/// Runs `tcplab lab SCENARIO --format jsonl` and returns its segments and its one
/// connection line.
fn lab(scenario: &str) -> (Vec<Value>, Value) {
    let events = json_text(&tcplab_ok(&["lab", scenario, "--format", "jsonl", "--color", "never"]));
    let conn = only_connection(&events, scenario).clone();
    let segments = of_type(&events, "segment").into_iter().cloned().collect();
    (segments, conn)
}

#[test]
fn lab_scenarios_reach_their_textbook_end_states() {
    if let Some(why) = capture_refused() {
        eprintln!("skipping lab_scenarios_reach_their_textbook_end_states: {why}");
        return;
    }
    let steps_of = |segments: &[Value]| -> Vec<String> {
        segments.iter().map(|s| str_of(s, "step").to_owned()).collect()
    };

    let (segments, conn) = lab("handshake");
    let seen = steps_of(&segments);
    assert_eq!(conn["client_final"], "TIME-WAIT", "handshake: {conn}");
    assert_eq!(conn["server_final"], "CLOSED", "handshake: {conn}");
    for step in ["teardown 2/4", "teardown 3/4"] {
        assert!(seen.iter().any(|s| s == step), "handshake: no `{step}` among {seen:?}");
    }

    let (segments, conn) = lab("four-way");
    let seen = steps_of(&segments);
    for step in ["teardown 1/4", "teardown 2/4", "teardown 3/4", "teardown 4/4"] {
        assert!(seen.iter().any(|s| s == step), "four-way: no `{step}` among {seen:?}");
    }
    assert_eq!(conn["client_final"], "TIME-WAIT", "four-way: {conn}");
    assert_eq!(conn["server_final"], "CLOSED", "four-way: {conn}");

    let (_, conn) = lab("server-closes");
    assert_eq!(conn["server_final"], "TIME-WAIT", "server-closes: {conn}");
    assert_eq!(conn["client_final"], "CLOSED", "server-closes: {conn}");
    assert_eq!(conn["closed_by"], "server", "server-closes: {conn}");

    let (segments, conn) = lab("merged-close");
    assert!(
        segments.iter().any(|s| s["step"] == "teardown 2+3/4" && lists(s, "notes", "merged_close")),
        "merged-close: no merged FIN+ACK among {:?}",
        steps_of(&segments)
    );
    assert_eq!(conn["client_final"], "TIME-WAIT", "merged-close: {conn}");

    let (segments, _) = lab("half-close");
    assert!(
        segments
            .iter()
            .any(|s| s["dir"] == "s2c" && u64_of(s, "len") > 0 && s["client_state"] == "FIN-WAIT-2"),
        "half-close: the server sent no data to a client in FIN-WAIT-2: {segments:#?}"
    );

    let (segments, conn) = lab("refused");
    assert_eq!(conn["conn_state"], "REJ", "refused: {conn}");
    assert!(
        segments.iter().any(|s| lists(s, "notes", "connection_refused")),
        "refused: no segment noted connection_refused: {segments:#?}"
    );

    // stale-syn: an old duplicate SYN, reset by the client's kernel, then a normal connection.
    let events = json_text(&tcplab_ok(&["lab", "stale-syn", "--format", "jsonl", "--color", "never"]));
    let conns = of_type(&events, "connection");
    assert_eq!(conns.len(), 2, "the stale SYN and the real connection");
    assert_eq!(str_of(conns[0], "server_final"), "LISTEN", "{}", conns[0]);
    assert_eq!(str_of(conns[1], "conn_state"), "SF", "{}", conns[1]);
    assert!(
        of_type(&events, "segment").iter().any(|s| lists(s, "notes", "old_duplicate_syn")),
        "no old_duplicate_syn note"
    );

    let (segments, conn) = lab("abort");
    assert!(segments.iter().any(|s| lists(s, "flags", "RST")), "abort: no RST: {segments:#?}");
    assert_eq!(conn["conn_state"], "RSTO", "abort: {conn}");
    assert_ne!(conn["client_final"], "TIME-WAIT", "abort: {conn}");
    assert_ne!(conn["server_final"], "TIME-WAIT", "abort: {conn}");
}

// ---------------------------------------------------------------------------------
// lab: the scenarios that lose packets on purpose (each in a network namespace of its
// own, with nftables) or fill a window. Each waits for its own events, not for time.

/// Runs `tcplab lab SCENARIO --format jsonl` and returns every event, or `None` (after
/// saying why) when this process may not capture.
fn lab_events(scenario: &str) -> Option<Vec<Value>> {
    if let Some(why) = capture_refused() {
        eprintln!("skipping lab {scenario}: {why}");
        return None;
    }
    Some(json_text(&tcplab_ok(&["lab", scenario, "--format", "jsonl", "--color", "never"])))
}

/// The state changes of one side, in order, as `FROM → TO`.
fn transitions(events: &[Value], side: &str) -> Vec<String> {
    of_type(events, "transition")
        .into_iter()
        .filter(|t| t["side"] == side)
        .map(|t| format!("{} → {}", str_of(t, "from"), str_of(t, "to")))
        .collect()
}

/// Whether a segment carries exactly these flags.
fn has_flags(segment: &Value, flags: &[&str]) -> bool {
    let mut got: Vec<&str> =
        segment["flags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    got.sort_unstable();
    let mut want = flags.to_vec();
    want.sort_unstable();
    got == want
}

#[test]
fn lab_simultaneous_open_passes_both_ends_through_syn_received() {
    let Some(events) = lab_events("simultaneous-open") else { return };
    let conn = only_connection(&events, "simultaneous-open");
    let segments = of_type(&events, "segment");
    // The two SYNs cross: both are on the wire before either SYN,ACK.
    let syns: Vec<&Value> = segments.iter().copied().filter(|s| has_flags(s, &["SYN"])).collect();
    let synacks: Vec<&Value> = segments.iter().copied().filter(|s| has_flags(s, &["SYN", "ACK"])).collect();
    assert_eq!(syns.len(), 2, "two SYNs: {segments:#?}");
    assert_eq!(synacks.len(), 2, "two SYN,ACKs: {segments:#?}");
    assert_ne!(syns[0]["dir"], syns[1]["dir"], "one SYN each way: {syns:#?}");
    assert_ne!(synacks[0]["dir"], synacks[1]["dir"], "one SYN,ACK each way: {synacks:#?}");
    assert!(u64_of(syns[1], "frame") < u64_of(synacks[0], "frame"), "the SYNs did not cross: {segments:#?}");
    assert!(segments.iter().any(|s| s["step"] == "simultaneous open"), "no simultaneous open step");
    for side in ["client", "server"] {
        let seen = transitions(&events, side);
        for change in ["SYN-SENT → SYN-RECEIVED", "SYN-RECEIVED → ESTABLISHED"] {
            assert!(seen.iter().any(|t| t == change), "{side}: no `{change}` among {seen:?}");
        }
    }
    assert_eq!(conn["conn_state"], "SF", "simultaneous-open: {conn}");
}

/// tshark calls the two SYN,ACKs of a simultaneous open retransmissions (each repeats
/// its sender's SYN's sequence number); they are not: each answers the other's SYN.
#[test]
fn lab_simultaneous_open_syn_acks_are_not_retransmissions() {
    let Some(events) = lab_events("simultaneous-open") else { return };
    for segment in of_type(&events, "segment").into_iter().filter(|s| has_flags(s, &["SYN", "ACK"])) {
        assert!(!lists(segment, "notes", "retransmission"), "noted as a retransmission: {segment}");
    }
}

#[test]
fn lab_simultaneous_close_passes_both_ends_through_closing() {
    let Some(events) = lab_events("simultaneous-close") else { return };
    let conn = only_connection(&events, "simultaneous-close");
    let segments = of_type(&events, "segment");
    let fins: Vec<&Value> = segments.iter().copied().filter(|s| lists(s, "flags", "FIN")).collect();
    assert_eq!(fins.len(), 2, "two FINs: {segments:#?}");
    assert_ne!(fins[0]["dir"], fins[1]["dir"], "one FIN each way: {fins:#?}");
    // Crossed: the second FIN does not acknowledge the first.
    assert!(u64_of(fins[1], "ack") <= u64_of(fins[0], "seq"), "the FINs did not cross: {fins:#?}");
    for side in ["client", "server"] {
        let seen = transitions(&events, side);
        for change in ["ESTABLISHED → FIN-WAIT-1", "FIN-WAIT-1 → CLOSING", "CLOSING → TIME-WAIT"] {
            assert!(seen.iter().any(|t| t == change), "{side}: no `{change}` among {seen:?}");
        }
    }
    assert_eq!(conn["client_final"], "TIME-WAIT", "simultaneous-close: {conn}");
    assert_eq!(conn["server_final"], "TIME-WAIT", "simultaneous-close: {conn}");
}

#[test]
fn lab_syn_retry_shows_retransmissions_with_growing_gaps() {
    let Some(events) = lab_events("syn-retry") else { return };
    let conn = only_connection(&events, "syn-retry");
    let segments = of_type(&events, "segment");
    let syns: Vec<&Value> = segments.iter().copied().filter(|s| has_flags(s, &["SYN"])).collect();
    assert!(syns.len() >= 3, "at least two SYN retransmissions: {syns:#?}");
    for (attempt, syn) in (2..).zip(&syns[1..]) {
        assert!(lists(syn, "notes", "retransmission"), "not noted as a retransmission: {syn}");
        assert_eq!(syn["syn_retransmission"]["attempt"], attempt, "attempt {attempt}: {syn}");
    }
    let times: Vec<f64> = syns.iter().map(|s| s["ts"].as_f64().expect("ts is a number")).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= 0.9, "the first retransmission came after {:.3} s, not about 1 s", gaps[0]);
    for pair in gaps.windows(2) {
        // Each timeout doubles; timer ticks make it not quite exact.
        assert!(pair[1] > pair[0] * 1.5, "the gaps do not grow: {gaps:?}");
    }
    assert!(segments.iter().any(|s| has_flags(s, &["SYN", "ACK"])), "never answered: {segments:#?}");
    assert_eq!(conn["conn_state"], "SF", "syn-retry: {conn}");
}

#[test]
fn lab_zero_window_closes_probes_and_reopens_the_window() {
    let Some(events) = lab_events("zero-window") else { return };
    let conn = only_connection(&events, "zero-window");
    let segments = of_type(&events, "segment");
    let from_server = |s: &&Value| s["dir"] == "s2c" && !lists(s, "flags", "SYN");
    let zero = segments
        .iter()
        .find(|s| from_server(s) && u64_of(s, "win") == 0)
        .unwrap_or_else(|| panic!("the server never advertised a zero window: {segments:#?}"));
    let closed_at = u64_of(zero, "frame");
    let edge = u64_of(zero, "ack");
    // Linux probes with no data and the last acknowledged sequence number less one.
    let probes = segments
        .iter()
        .filter(|s| {
            u64_of(s, "frame") > closed_at
                && s["dir"] == "c2s"
                && u64_of(s, "len") == 0
                && u64_of(s, "seq") + 1 == edge
        })
        .count();
    assert!(probes >= 2, "{probes} zero-window probes after frame {closed_at}: {segments:#?}");
    // And tcplab names them: the zero window, the probes, the window update.
    assert!(lists(zero, "notes", "zero_window"), "the zero window is not noted: {zero}");
    for note in ["zero_window_probe", "window_update"] {
        assert!(segments.iter().any(|s| lists(s, "notes", note)), "no segment noted {note}: {segments:#?}");
    }
    assert!(
        segments.iter().any(|s| from_server(s) && u64_of(s, "frame") > closed_at && u64_of(s, "win") > 0),
        "the window never opened again after frame {closed_at}: {segments:#?}"
    );
    // 640 lines of "zero window\n".
    assert_eq!(u64_of(conn, "bytes_c2s"), 640 * 12, "the whole upload arrived: {conn}");
    assert_eq!(conn["conn_state"], "SF", "zero-window: {conn}");
}

// lab lossy: the link between two namespaces loses and reorders; TCP recovers.

/// Whether `segment` carries byte `byte` of its sender's stream (relative numbers: the
/// first data byte is 1).
fn carries(segment: &Value, byte: u64) -> bool {
    let seq = u64_of(segment, "seq");
    seq <= byte && byte < seq + u64_of(segment, "len")
}

fn ts_of(segment: &Value) -> f64 {
    segment["ts"].as_f64().unwrap_or_else(|| panic!("ts is not a number in {segment}"))
}

#[test]
fn lab_lossy_recovers_every_lost_segment() {
    if !is_root() {
        eprintln!(
            "skipping lab_lossy_recovers_every_lost_segment: not root (it builds namespaces and TAP devices)"
        );
        return;
    }
    let plan = tcplab::lab::lossy::PLAN;
    let upload = tcplab::lab::lossy::UPLOAD as u64;
    let farewell = tcplab::lab::lossy::FAREWELL.len() as u64;
    let events = json_text(&tcplab_ok(&["lab", "lossy", "--format", "jsonl", "--color", "never"]));
    let conn = only_connection(&events, "lossy");
    let segments = of_type(&events, "segment");
    let data = |dir: &str| -> Vec<&Value> {
        segments.iter().copied().filter(|s| s["dir"] == dir && u64_of(s, "len") > 0).collect()
    };
    let (sent, echoed) = (data("c2s"), data("s2c"));

    // Each lost segment was sent again, and tcplab says so.
    let copies = |byte: u64| -> Vec<&Value> { sent.iter().copied().filter(|s| carries(s, byte)).collect() };
    for &byte in plan.client_to_server.drop_first_carrying {
        let copies = copies(u64::from(byte));
        assert!(copies.len() >= 2, "byte {byte} was sent {} times: {copies:#?}", copies.len());
        // The second hole is resent within a round trip of the highest segment, as
        // SACK recovery does; Wireshark's rules (and tcplab's) call that out of order.
        let noted = ["retransmission", "out_of_order"].iter().any(|note| lists(copies[1], "notes", note));
        assert!(noted, "byte {byte}, second copy: {}", copies[1]);
    }

    // The first loss: the server repeats its ACK of the hole (four duplicate ACKs on
    // an idle machine; a busy one may merge some), and the client resends the segment
    // sooner than any retransmission timer could (RTO_min is 200 ms): a fast
    // retransmission.
    let [first_lost, ..] = plan.client_to_server.drop_first_carrying else {
        panic!("the plan loses nothing")
    };
    let lost = copies(u64::from(*first_lost));
    let hole = u64_of(lost[0], "seq");
    let acks_of_hole =
        segments.iter().filter(|s| s["dir"] == "s2c" && u64_of(s, "len") == 0 && s["ack"] == hole).count();
    assert!(acks_of_hole >= 3, "{} duplicate ACKs of {hole}: {segments:#?}", acks_of_hole.saturating_sub(1));
    assert!(lists(lost[1], "notes", "fast_retransmission"), "not a fast retransmission: {}", lost[1]);
    let resent_after = ts_of(lost[1]) - ts_of(lost[0]);
    assert!(resent_after < 0.2, "{hole} was resent after {resent_after} s, as late as a timer would");

    // The last loss: the farewell, alone, resent by the timer (at least RTO_min, 200 ms).
    let farewell_copies = copies(upload + 1);
    let waited = ts_of(farewell_copies[1]) - ts_of(farewell_copies[0]);
    assert!(waited >= 0.2, "the farewell was resent after {waited} s, sooner than any retransmission timer");
    assert_eq!(
        farewell_copies[1]["retransmission"]["of_frame"], farewell_copies[0]["frame"],
        "the resend names the frame it repeats: {}",
        farewell_copies[1]
    );

    // The held-back echo segment arrived after the one behind it: out of order.
    let held = u64::from(plan.server_to_client.hold_first_carrying.expect("the plan holds one segment back"));
    let overtaken = echoed.iter().enumerate().find(|(i, s)| {
        carries(s, held) && echoed[..*i].iter().any(|before| u64_of(before, "seq") > u64_of(s, "seq"))
    });
    let (_, overtaken) = overtaken
        .unwrap_or_else(|| panic!("no echo segment with byte {held} arrived out of order: {echoed:#?}"));
    assert!(lists(overtaken, "notes", "out_of_order"), "not noted out of order: {overtaken}");

    // Everything arrived, and the connection closed normally.
    let end = sent.iter().map(|s| u64_of(s, "seq") + u64_of(s, "len")).max().unwrap_or(0);
    assert_eq!(end, 1 + upload + farewell, "the client's stream ends where the upload and farewell do");
    assert_eq!(conn["conn_state"], "SF", "lossy: {conn}");
    assert_eq!(conn["client_final"], "TIME-WAIT", "lossy: {conn}");
    assert_eq!(conn["server_final"], "CLOSED", "lossy: {conn}");
}

#[test]
fn lab_lossy_without_root_says_it_needs_root() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = if is_root() {
        let bin = binary_for_nobody(dir.path());
        let bin_text = bin.to_str().expect("a UTF-8 binary path");
        run("setpriv", &[&AS_NOBODY[..], &[bin_text, "lab", "lossy", "--color", "never"]].concat(), RUN)
    } else {
        run(BIN, &["lab", "lossy", "--color", "never"], RUN)
    };
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {}", show(&out));
    assert!(stderr.contains("needs root (sudo tcplab lab lossy)"), "{}", show(&out));
}

// ---------------------------------------------------------------------------------
// The chat server, in-process, with two hundred clients at once.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Sends UTF-8, half-closes, reads until the server closes.
    Polite,
    /// The same with bytes that are not UTF-8.
    Binary,
    /// Sends, then closes with RST.
    Aborting,
}

struct Played {
    kind: Kind,
    local: SocketAddr,
    sent: Vec<u8>,
}

fn play_chat_client(server: SocketAddr, n: usize) -> Played {
    let kind = match n % 10 {
        0 => Kind::Binary,
        5 => Kind::Aborting,
        _ => Kind::Polite,
    };
    let sent = match kind {
        Kind::Binary => [&b"\xff\xfe hi "[..], n.to_string().as_bytes()].concat(),
        _ => format!("hello from client {n}").into_bytes(),
    };
    let mut stream = TcpStream::connect(server).unwrap_or_else(|e| panic!("client {n}: connect: {e}"));
    let local = stream.local_addr().expect("local address");
    stream.set_read_timeout(Some(SETTLE)).expect("read timeout");
    stream.write_all(&sent).unwrap_or_else(|e| panic!("client {n}: send: {e}"));
    if kind == Kind::Aborting {
        tcplab::chat::set_abortive_close(&stream).unwrap_or_else(|e| panic!("client {n}: SO_LINGER: {e}"));
        drop(stream);
    } else {
        stream.shutdown(Shutdown::Write).unwrap_or_else(|e| panic!("client {n}: shutdown: {e}"));
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap_or_else(|e| panic!("client {n}: waiting for the FIN: {e}"));
        assert!(rest.is_empty(), "client {n}: the server replied without --reply: {rest:?}");
    }
    Played { kind, local, sent }
}

fn peer_of(event: &ChatEvent) -> SocketAddr {
    match event {
        ChatEvent::Connected(peer)
        | ChatEvent::Message(peer, _)
        | ChatEvent::HalfClosed(peer)
        | ChatEvent::Reset(peer)
        | ChatEvent::Closed(peer)
        | ChatEvent::Failed(peer, _) => *peer,
    }
}

#[test]
fn chat_server_keeps_two_hundred_clients_apart() {
    const CLIENTS: usize = 200;
    let server = ChatServer::bind("127.0.0.1:0".parse().expect("address")).expect("bind the chat server");
    let addr = server.local_addr().expect("server address");
    let events: Arc<Mutex<Vec<ChatEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    let (served_tx, served_rx) = mpsc::channel();
    thread::spawn(move || {
        let options = ServerOptions { reply: false, close_delay: Duration::ZERO };
        let report = Arc::new(move |event| sink.lock().unwrap_or_else(|e| e.into_inner()).push(event));
        let served = server.serve(options, Some(CLIENTS), report);
        let _ = served_tx.send(served.map_err(|e| e.to_string()));
    });

    let clients: Vec<_> = (0..CLIENTS).map(|n| thread::spawn(move || play_chat_client(addr, n))).collect();
    let played: Vec<Played> = clients
        .into_iter()
        .map(|c| c.join().unwrap_or_else(|_| panic!("a client thread panicked")))
        .collect();
    match served_rx.recv_timeout(RUN) {
        Ok(served) => served.expect("serve failed"),
        Err(e) => panic!("serve did not return after {CLIENTS} clients within {RUN:?}: {e}"),
    }

    let events = events.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut by_peer: HashMap<SocketAddr, Vec<&ChatEvent>> = HashMap::new();
    for event in &events {
        by_peer.entry(peer_of(event)).or_default().push(event);
    }
    let connected = events.iter().filter(|e| matches!(e, ChatEvent::Connected(_))).count();
    let missing: Vec<(Kind, SocketAddr)> =
        played.iter().filter(|p| !by_peer.contains_key(&p.local)).map(|p| (p.kind, p.local)).collect();
    assert!(missing.is_empty(), "clients the server never reported: {missing:?}");
    assert_eq!(connected, CLIENTS, "Connected events");

    let mut raced = 0;
    for p in &played {
        let mine = &by_peer[&p.local];
        let said: Vec<u8> = mine
            .iter()
            .filter_map(|e| match e {
                ChatEvent::Message(_, bytes) => Some(bytes.as_slice()),
                _ => None,
            })
            .flatten()
            .copied()
            .collect();
        let has = |want: fn(&ChatEvent) -> bool| mine.iter().any(|e| want(e));
        match p.kind {
            Kind::Polite | Kind::Binary => {
                assert_eq!(said, p.sent, "{:?} client {}: the message changed on the way", p.kind, p.local);
                assert!(
                    has(|e| matches!(e, ChatEvent::Closed(_))),
                    "{:?} {}: no Closed: {mine:?}",
                    p.kind,
                    p.local
                );
                assert!(
                    !has(|e| matches!(e, ChatEvent::Failed(..) | ChatEvent::Reset(_))),
                    "{:?} client {}: {mine:?}",
                    p.kind,
                    p.local
                );
            }
            Kind::Aborting => {
                assert!(said.is_empty() || said == p.sent, "aborting client {}: got {said:?}", p.local);
                assert!(!has(|e| matches!(e, ChatEvent::Closed(_))), "aborting client {}: {mine:?}", p.local);
                if !has(|e| matches!(e, ChatEvent::Reset(_))) {
                    raced += 1;
                    eprintln!("aborting client {}: no Reset, the RST raced the read: {mine:?}", p.local);
                }
            }
        }
    }
    let aborting = played.iter().filter(|p| p.kind == Kind::Aborting).count();
    assert!(raced < aborting, "not one of {aborting} aborting clients was reported as Reset");

    // Bytes from the wire reach the server's terminal escaped.
    let message = events
        .iter()
        .find(|e| matches!(e, ChatEvent::Message(_, bytes) if bytes.starts_with(b"\xff")))
        .expect("a message that is not UTF-8");
    let line = message.describe(Duration::ZERO);
    assert!(line.contains("\\xff"), "no escaped \\xff in {line:?}");
    assert!(!line.chars().any(char::is_control), "control characters in {line:?}");
}

// ---------------------------------------------------------------------------------
// Privileges: one actionable line without them; root given up once capture is open.

#[test]
fn watch_without_capture_rights_says_how_to_get_them() {
    if !is_root() {
        eprintln!(
            "skipping watch_without_capture_rights_says_how_to_get_them: becoming uid 65534 needs root"
        );
        return;
    }
    let copy_dir = tempfile::tempdir().expect("temporary directory");
    let bin = binary_for_nobody(copy_dir.path());
    let bin_text = bin.to_str().expect("a UTF-8 binary path");
    let out =
        run("setpriv", &[&AS_NOBODY[..], &[bin_text, "watch", "-i", "lo", "--port", "9"]].concat(), RUN);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{}", show(&out));
    assert!(err.contains("run with sudo") && err.contains("setcap cap_net_raw,cap_net_admin=eip"), "{err}");
    // The command to copy names this very binary, though it is on no PATH.
    let real = bin.canonicalize().expect("the copied binary");
    assert!(err.trim_end().ends_with(&format!("=eip {}", real.display())), "{err}");
}

#[test]
fn watch_started_through_sudo_becomes_the_user_after_opening_the_capture() {
    if !is_root() {
        eprintln!("skipping watch_started_through_sudo_…: needs root to have privileges to drop");
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod 777");
    let file = dir.path().join("dropped.pcap");
    let port = free_port().to_string();
    let mut child = Command::new(BIN)
        .args(["watch", "-i", "lo", "--port", &port, "--format", "jsonl", "-w"])
        .arg(&file)
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .env("SUDO_USER", "nobody")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start watch");
    let stderr = line_channel(child.stderr.take().expect("piped stderr"));
    let ready = stderr.recv_timeout(READY).expect("watch says it is listening");
    assert!(ready.contains("listening on lo"), "{ready}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("read its status");
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).expect("a Uid line");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let exit = child.wait().expect("wait for watch");
    assert!(exit.success(), "watch ended with {exit}");
    assert_eq!(uid_line.split_whitespace().skip(1).collect::<Vec<_>>(), ["65534"; 4], "{uid_line}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&file).expect("the capture file exists").uid(), 65534);
    assert_eq!(packets_in(&file), 0, "nothing was sent to port {port}");
}

#[test]
fn interfaces_lists_loopback() {
    let listing = tcplab_ok(&["interfaces"]);
    let lo = listing.lines().find(|l| l.starts_with("lo ")).unwrap_or_else(|| panic!("no lo in:\n{listing}"));
    assert!(lo.contains("loopback") && lo.contains("127.0.0.1"), "{lo}");
}

/// Runs `watch` with `args` until it stops by itself, while one chat client says
/// hello to the server at `addr`; returns what watch printed on stdout.
fn watch_one_client(args: &[&str], addr: &str) -> Vec<String> {
    let mut watch = Running::start(BIN, &[&["watch", "-i", "lo", "--format", "jsonl"][..], args].concat());
    watch.wait_for(Stream::Stderr, "`listening on`", READY, |l| l.contains("listening on"));
    let client = run(BIN, &["client", "--connect", addr, "--send", "hello"], SETTLE);
    assert!(client.status.success(), "{}", show(&client));
    let (status, stdout, stderr) = watch.finish(SETTLE);
    assert!(status.success(), "{status}: {stderr:?}");
    stdout
}

#[test]
fn watch_takes_tcpdumps_expression_and_stops_when_asked() {
    if let Some(why) = capture_refused() {
        eprintln!("skipping watch_takes_tcpdumps_expression_and_stops_when_asked: {why}");
        return;
    }
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let server = Running::start(BIN, &["server", "--bind", &addr]);
    server.wait_for(Stream::Stdout, "`listening on`", READY, |l| l.contains("listening on"));

    // --until-closed: the first connection's wave ends the watch, with no signal.
    let stdout = watch_one_client(&["--until-closed", "tcp", "port", &port.to_string()], &addr);
    let events = json_lines(&stdout);
    let conn = only_connection(&events, &stdout.join("\n"));
    assert_eq!(str_of(conn, "conn_state"), "SF", "the whole connection was seen: {stdout:?}");

    // -c 3 with the expression given as one word: the handshake, and no more.
    let stdout = watch_one_client(&["-c", "3", &format!("tcp port {port}")], &addr);
    let events = json_lines(&stdout);
    assert_eq!(steps(&of_type(&events, "segment")), ["handshake 1/3", "handshake 2/3", "handshake 3/3"]);
    drop(server);
}
