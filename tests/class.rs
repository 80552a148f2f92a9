//! A class at once: thirty students' clients connect to one `tcplab server` within
//! ten seconds while one `tcplab watch --kernel --summary-every` shows them all. Every
//! segment, every kernel line and every TIME-WAIT that runs out must say which
//! connection it is about, and the table of connections must list all thirty with
//! their real final states.
//!
//! Real traffic on loopback, as root (the kernel's tracepoint needs it); without root
//! the test says why and returns. It lasts a little over a minute: Linux keeps each
//! client's TIME-WAIT for 60 s, and the lines that report its end are part of the test.
#![cfg(target_os = "linux")]

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

mod support;
use support::*;

/// Linux's TIME-WAIT (60 s), and room for its timer wheel and the half-second polls.
const TIME_WAIT_OVER: Duration = Duration::from_secs(100);
/// How many clients: a class.
const CLASS: usize = 30;
/// Where explanations start under a segment line.
const PAD: &str = "                  ";

// ---------------------------------------------------------------------------------
// The class.

/// A connection's tag at the start of `text` (`[12] …`): its number and the rest.
fn tag_of(text: &str) -> Option<(u64, &str)> {
    let rest = text.strip_prefix('[')?;
    let (number, rest) = rest.split_once("] ")?;
    Some((number.parse().ok()?, rest))
}

/// A segment line (`   17   0.020272  SYN-SENT …`): its frame number.
fn frame_of_segment_line(line: &str) -> Option<u64> {
    if line.starts_with(PAD) || !line.starts_with(' ') {
        return None;
    }
    let mut words = line.split_whitespace();
    let frame = words.next()?.parse().ok()?;
    let time = words.next()?;
    (time.contains('.') && time.parse::<f64>().is_ok()).then_some(frame)
}

/// The statements under segment lines that start with `mark` (`⚙`), with their
/// wrapped continuation lines joined: (line index, whole text).
fn statements(lines: &[String], mark: &str) -> Vec<(usize, String)> {
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (i, line) in lines.iter().enumerate() {
        let Some(body) = line.strip_prefix(PAD) else {
            open = false;
            continue;
        };
        let starts = body.contains(mark)
            && (body.starts_with(mark) || tag_of(body).is_some_and(|(_, r)| r.starts_with(mark)));
        if starts {
            found.push((i, body.to_owned()));
            open = true;
        } else if open && !body.starts_with(['[', '⚑']) {
            // A wrapped statement goes on; anything tagged or marked starts another.
            let last = found.last_mut().expect("an open statement");
            last.1.push(' ');
            last.1.push_str(body);
        } else {
            open = false;
        }
    }
    found
}

#[test]
fn a_class_of_thirty_is_told_connection_by_connection() {
    if !is_root() {
        eprintln!("skipping a_class_of_thirty_is_told_connection_by_connection: --kernel needs root");
        return;
    }
    let port = free_port();
    let port_text = port.to_string();
    let addr = format!("127.0.0.1:{port}");
    let server = Running::start(BIN, &["server", "--bind", &addr]);
    server.wait_for(Stream::Stdout, "`listening on`", READY, |l| l.contains("listening on"));

    let dir = tempfile::tempdir().expect("temporary directory");
    let saved = dir.path().join("class.pcap");
    let saved_text = saved.to_str().expect("a UTF-8 temporary path");
    let mut watch = Running::start(
        BIN,
        &[
            "watch",
            "-i",
            "lo",
            "--port",
            &port_text,
            "--kernel",
            "--summary-every",
            "1s",
            "--color",
            "never",
            "-w",
            saved_text,
        ],
    );
    watch.wait_for(Stream::Stderr, "`listening on`", READY, |l| l.contains("listening on"));

    // Thirty clients at once: their segments interleave on the wire, as a class's do.
    let started = Instant::now();
    let gate = Arc::new(Barrier::new(CLASS));
    let clients: Vec<_> = (0..CLASS)
        .map(|n| {
            let (gate, addr) = (Arc::clone(&gate), addr.clone());
            thread::spawn(move || {
                gate.wait();
                run(BIN, &["client", "--connect", &addr, "--send", &format!("student {n:02}")], SETTLE)
            })
        })
        .collect();
    for client in clients {
        let out = client.join().expect("a client thread");
        assert!(out.status.success(), "tcplab client failed: {}", show(&out));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "thirty clients took {took:?}, not a class's ten seconds");

    // Every wave ends with its last ACK; then every client's TIME-WAIT runs out.
    let mut last_acks = 0;
    let mut stdout = watch.wait_for(Stream::Stdout, "thirty `teardown 4/4` segments", SETTLE, |l| {
        last_acks += usize::from(l.contains("teardown 4/4 ·"));
        last_acks == CLASS
    });
    let mut expired = 0;
    stdout.extend(watch.wait_for(Stream::Stdout, "thirty TIME-WAITs running out", TIME_WAIT_OVER, |l| {
        expired += usize::from(l.contains("TIME-WAIT timer ran out"));
        expired == CLASS
    }));
    // The next table lists everyone in the end state.
    let mut rows_to_come = None;
    stdout.extend(watch.wait_for(Stream::Stdout, "a table of thirty connections", SETTLE, |l| {
        if l.contains(&format!("connections so far: {CLASS},")) {
            rows_to_come = Some(CLASS + 1);
        } else if let Some(n) = &mut rows_to_come {
            *n -= 1;
        }
        rows_to_come == Some(0)
    }));
    watch.interrupt();
    let (status, rest, stderr) = watch.finish(SETTLE);
    stdout.extend(rest);
    let context =
        format!("--- watch stdout ---\n{}\n--- watch stderr ---\n{}", stdout.join("\n"), stderr.join("\n"));
    assert!(status.success(), "watch ended with {status}\n{context}");

    // Which connection each frame belongs to, as the JSON lines of the saved capture say.
    let replayed = run(BIN, &["replay", "--format", "jsonl", saved_text], RUN);
    assert!(replayed.status.success(), "replay failed: {}", show(&replayed));
    let mut conn_of_frame: HashMap<u64, u64> = HashMap::new();
    let mut client_of_conn: HashMap<u64, String> = HashMap::new();
    for line in text(&replayed.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        match v["type"].as_str() {
            Some("segment") => {
                conn_of_frame.insert(v["frame"].as_u64().unwrap(), v["conn"].as_u64().unwrap());
            }
            Some("connection") => {
                client_of_conn.insert(v["conn"].as_u64().unwrap(), v["client"].as_str().unwrap().to_owned());
            }
            _ => {}
        }
    }
    assert_eq!(client_of_conn.len(), CLASS, "the saved capture holds the class\n{context}");

    // Every segment line: the line under it starts with its connection's tag.
    let mut segment_lines = 0;
    for (i, line) in stdout.iter().enumerate() {
        let Some(frame) = frame_of_segment_line(line) else { continue };
        segment_lines += 1;
        let under = stdout.get(i + 1).and_then(|l| l.strip_prefix(PAD)).unwrap_or("");
        let tagged = tag_of(under).map(|(n, _)| n);
        assert_eq!(tagged, conn_of_frame.get(&frame).copied(), "frame {frame}: `{under}`\n{context}");
    }
    assert_eq!(segment_lines, conn_of_frame.len(), "one segment line per frame\n{context}");

    // Every connection's header names its client, and comes before its first segment.
    for (conn, client) in &client_of_conn {
        let header = format!("connection {conn}: client {client} ⇄ server {addr}");
        assert!(stdout.iter().any(|l| l == &header), "no header `{header}`\n{context}");
    }

    // Every kernel line: tagged, and about that connection (its frame, its sockets).
    let kernel = statements(&stdout, "⚙");
    assert!(kernel.len() >= CLASS * 3, "too few kernel lines: {}\n{context}", kernel.len());
    let mut expired_for = HashSet::new();
    for (i, statement) in &kernel {
        let Some((conn, rest)) = tag_of(statement) else {
            panic!("line {i}: a kernel line without its connection: `{statement}`\n{context}")
        };
        if let Some((_, after)) = rest.split_once("after frame\u{a0}") {
            let frame: u64 = after.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
            assert_eq!(conn_of_frame.get(&frame), Some(&conn), "line {i}: `{statement}`\n{context}");
        } else if rest.contains("confirms it") {
            let client = &client_of_conn[&conn];
            assert!(rest.contains(client.as_str()), "line {i}: not {client}'s: `{statement}`\n{context}");
        } else if rest.contains("TIME-WAIT timer ran out") {
            // The transition above it carries the same tag.
            let above = stdout[i - 1].strip_prefix(PAD).and_then(tag_of);
            assert_eq!(above, Some((conn, "client TIME-WAIT → CLOSED")), "line {i}\n{context}");
            expired_for.insert(conn);
        }
    }
    assert_eq!(expired_for, (0..CLASS as u64).collect(), "each client's TIME-WAIT ran out once\n{context}");

    // The last table: thirty rows, both ends CLOSED, the student's bytes ("student 07"
    // and its newline: 11), Zeek's SF.
    let title = stdout.iter().rposition(|l| l.contains("connections so far: 30,")).expect("a table");
    let rows = &stdout[title + 2..title + 2 + CLASS];
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.split_whitespace().collect();
        let client = &client_of_conn[&(n as u64)];
        let want =
            [format!("[{n}]").as_str(), client, "CLOSED", "CLOSED", "11", "0", "SF"].map(str::to_owned);
        assert_eq!(cells, want, "table row {n}\n{context}");
    }
    drop(server);
}
