//! Students on a LAN: network namespaces and veth pairs that each test makes (and
//! removes, also when it fails), a chat server on 0.0.0.0 in one of them, clients in
//! others, and `watch` choosing where to capture with no `-i`; `lab lan` building its
//! own LAN.
//!
//! Root only (CI runs as root): making named namespaces needs it. Without root each
//! test says why on stderr and returns early.
#![cfg(target_os = "linux")]

use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

mod support;
use support::*;

/// How long traffic may take to go through and be reported.
const SETTLE: Duration = Duration::from_secs(30);
const STUDENTS: usize = 5;

/// Runs a command to completion and returns its output; panics if it cannot start.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .env_remove("SUDO_USER")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} {args:?}: {e}"))
}

fn ip(args: &[&str]) {
    let out = run("ip", args);
    assert!(out.status.success(), "ip {args:?}: {}", show(&out));
}

// ---------------------------------------------------------------------------------
// A classroom of named network namespaces, removed when dropped.

/// Namespaces of one test: names unique to this process and test, so that tests run
/// in parallel (and other runs of the suite) never meet.
struct Classroom {
    server: String,
    students: Vec<String>,
    /// The third octet of each student's subnet, 10.77.N.0/24.
    subnets: Vec<u8>,
}

static CLASSROOMS: AtomicU32 = AtomicU32::new(0);

impl Classroom {
    /// A server namespace and `students` student namespaces, each student joined to
    /// the server by a veth pair of its own: the server is 10.77.N.1 on `sN`, the
    /// student 10.77.N.2 on its `eth0`.
    fn build(students: usize) -> Classroom {
        let room = CLASSROOMS.fetch_add(1, Ordering::Relaxed);
        let tag = format!("tl{}r{room}", std::process::id());
        let mut classroom =
            Classroom { server: format!("{tag}s"), students: Vec::new(), subnets: Vec::new() };
        // Registered before it exists, so that a failure half-way still removes it.
        ip(&["netns", "add", &classroom.server]);
        ip(&["-n", &classroom.server, "link", "set", "lo", "up"]);
        for n in 0..students {
            let name = format!("{tag}c{n}");
            let subnet = u8::try_from(10 * (room % 20) + u32::try_from(n).unwrap() + 1).unwrap();
            classroom.students.push(name.clone());
            classroom.subnets.push(subnet);
            ip(&["netns", "add", &name]);
            let port = format!("s{subnet}");
            ip(&[
                "-n",
                &classroom.server,
                "link",
                "add",
                "name",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &name,
            ]);
            ip(&["-n", &classroom.server, "addr", "add", &format!("10.77.{subnet}.1/24"), "dev", &port]);
            ip(&["-n", &classroom.server, "link", "set", &port, "up"]);
            ip(&["-n", &name, "addr", "add", &format!("10.77.{subnet}.2/24"), "dev", "eth0"]);
            ip(&["-n", &name, "link", "set", "eth0", "up"]);
            ip(&["-n", &name, "link", "set", "lo", "up"]);
        }
        classroom
    }

    /// `ip netns exec NS PROGRAM ARGS…` as one argument list.
    fn exec<'a>(ns: &'a str, program: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        [&["netns", "exec", ns, program][..], args].concat()
    }
}

impl Drop for Classroom {
    fn drop(&mut self) {
        // Deleting a namespace deletes its veth ends, and with them their peers.
        for ns in self.students.iter().chain([&self.server]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
        }
    }
}

fn packets_matching(path: &Path, expr: &str) -> u64 {
    count_matching(path, expr, true)
}

/// The same while tcpdump still writes the file: a record cut short ends the count.
fn packets_so_far(path: &Path, expr: &str) -> u64 {
    if path.exists() { count_matching(path, expr, false) } else { 0 }
}

fn count_matching(path: &Path, expr: &str, whole: bool) -> u64 {
    let mut capture = pcap::Capture::from_file(path)
        .unwrap_or_else(|e| panic!("libpcap cannot open {}: {e}", path.display()));
    capture.filter(expr, true).unwrap_or_else(|e| panic!("filter {expr}: {e}"));
    let mut count = 0;
    loop {
        match capture.next_packet() {
            Ok(_) => count += 1,
            Err(pcap::Error::NoMorePackets) => return count,
            Err(_) if !whole => return count,
            Err(e) => panic!("libpcap cannot read packet {} of {}: {e}", count + 1, path.display()),
        }
    }
}

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

// ---------------------------------------------------------------------------------

/// The class: the server on 0.0.0.0, five students in five other namespaces,
/// `watch --port P` with no `-i`. It must choose every interface, say why, see every
/// student's handshake, data and wave, and save as many packets as tcpdump on `any`.
#[test]
fn watch_without_an_interface_sees_every_student_on_the_lan() {
    if !is_root() {
        eprintln!(
            "skipping watch_without_an_interface_sees_every_student_on_the_lan: named network namespaces need root"
        );
        return;
    }
    let classroom = Classroom::build(STUDENTS);
    let port = "8086";
    let server = Running::start(
        "ip",
        &Classroom::exec(
            &classroom.server,
            BIN,
            &["server", "--bind", &format!("0.0.0.0:{port}"), "--reply"],
        ),
    );
    server.wait_for(Stream::Stdout, "`listening on`", READY, |l| l.contains("listening on"));

    let dir = tempfile::tempdir().expect("temporary directory");
    let ours = dir.path().join("watch.pcap");
    let theirs = dir.path().join("tcpdump.pcap");
    let (ours_text, theirs_text) = (ours.to_str().unwrap(), theirs.to_str().unwrap());
    let mut watch = Running::start(
        "ip",
        &Classroom::exec(
            &classroom.server,
            BIN,
            &["watch", "--port", port, "-w", ours_text, "--format", "jsonl"],
        ),
    );
    let said = watch.wait_for(Stream::Stderr, "`listening on`", READY, |l| l.contains("listening on"));
    let choice = said.last().expect("the line waited for");
    assert!(
        choice.contains("listening on any")
            && choice.contains("served on 0.0.0.0")
            && choice.contains("LINUX_SLL"),
        "watch should choose every interface for a server on 0.0.0.0 and say why: {choice}"
    );
    // tcpdump beside it, on the same device, the port's packets and ARP's, written as
    // they come; its ring as large as ours (64 MiB), since immediate mode gives each
    // packet a slot of the snap length and its default 2 MiB would hold only eight.
    let mut tcpdump = Running::start(
        "ip",
        &Classroom::exec(
            &classroom.server,
            "tcpdump",
            &[
                "-i",
                "any",
                "-U",
                "--immediate-mode",
                "-B",
                "65536",
                "-w",
                theirs_text,
                "port",
                port,
                "or",
                "arp",
            ],
        ),
    );
    tcpdump.wait_for(Stream::Stderr, "tcpdump's `listening on`", READY, |l| l.contains("listening on"));

    // Five students at once, each from its own namespace and address.
    let students: Vec<_> = classroom
        .students
        .iter()
        .zip(&classroom.subnets)
        .map(|(ns, subnet)| {
            let (ns, server) = (ns.clone(), format!("10.77.{subnet}.1:{port}"));
            thread::spawn(move || {
                run("ip", &Classroom::exec(&ns, BIN, &["client", "--connect", &server, "--send", "hello"]))
            })
        })
        .collect();
    for student in students {
        let out = student.join().expect("a student's thread");
        assert!(out.status.success(), "a student's client failed: {}", show(&out));
        assert!(text(&out.stdout).contains("server: hello"), "no reply on its own line: {}", show(&out));
    }

    let mut waves = 0;
    let mut stdout = watch.wait_for(Stream::Stdout, "five `teardown 4/4` segments", SETTLE, |l| {
        waves += usize::from(l.contains("\"step\":\"teardown 4/4\""));
        waves == STUDENTS
    });
    watch.interrupt();
    let (status, rest, stderr) = watch.finish(SETTLE);
    stdout.extend(rest);
    let context = format!("--- stdout ---\n{}\n--- stderr ---\n{}", stdout.join("\n"), stderr.join("\n"));
    assert!(status.success(), "watch ended with {status}\n{context}");

    let events = json_lines(&stdout);
    let segments = of_type(&events, "segment");
    let connections = of_type(&events, "connection");
    assert_eq!(connections.len(), STUDENTS, "one connection per student\n{context}");
    let clients: BTreeSet<String> = connections
        .iter()
        .map(|c| c["client"].as_str().unwrap().rsplit_once(':').unwrap().0.to_owned())
        .collect();
    let expected: BTreeSet<String> = classroom.subnets.iter().map(|s| format!("10.77.{s}.2")).collect();
    assert_eq!(clients, expected, "every student's address\n{context}");
    for conn in &connections {
        let id = &conn["conn"];
        let steps: HashSet<&str> =
            segments.iter().filter(|s| s["conn"] == *id).filter_map(|s| s["step"].as_str()).collect();
        for step in ["handshake 1/3", "handshake 2/3", "handshake 3/3", "teardown 1/4", "teardown 4/4"] {
            assert!(steps.contains(step), "connection {id}: no `{step}` among {steps:?}\n{context}");
        }
        for dir in ["c2s", "s2c"] {
            let data =
                segments.iter().any(|s| s["conn"] == *id && s["dir"] == dir && s["len"].as_u64() > Some(0));
            assert!(data, "connection {id}: no data {dir}\n{context}");
        }
        assert_eq!(conn["conn_state"], "SF", "connection {id}: {conn}");
    }

    // tcpdump saw the same packets of the port, and ARP besides: the students' fresh
    // namespaces must ask for the server's MAC address before their first SYN.
    let watched = packets_in(&ours);
    assert_eq!(watched, segments.len() as u64, "the -w file vs the segments shown\n{context}");
    let port_filter = format!("port {port}");
    let deadline = Instant::now() + SETTLE;
    while packets_so_far(&theirs, &port_filter) < watched && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    tcpdump.interrupt();
    let (status, _, tcpdump_err) = tcpdump.finish(SETTLE);
    assert!(status.success(), "tcpdump ended with {status}: {tcpdump_err:?}");
    assert_eq!(
        packets_matching(&theirs, &port_filter),
        watched,
        "tcpdump -i any port {port} vs watch -w: {tcpdump_err:?}\n{context}"
    );
    let arp = packets_matching(&theirs, "arp");
    assert!(arp >= 2 * STUDENTS as u64, "an ARP request and reply per student, not {arp}");
    assert_eq!(packets_in(&theirs), watched + arp, "tcpdump's file holds the port's packets and ARP only");

    // Replayed, tcpdump's file (Linux cooked headers, ARP among the TCP) tells the same
    // segments, and counts each ARP frame as a frame that is not TCP.
    let replay = run(BIN, &["replay", "--format", "jsonl", theirs_text]);
    assert!(replay.status.success(), "{}", show(&replay));
    let replayed: Vec<String> = text(&replay.stdout).lines().map(str::to_owned).collect();
    let replayed = json_lines(&replayed);
    let summary = of_type(&replayed, "capture");
    assert_eq!(summary[0]["tcp_segments"].as_u64(), Some(watched), "{summary:?}");
    assert_eq!(summary[0]["other_frames"].as_u64(), Some(arp), "{summary:?}");
    assert_eq!(summary[0]["undecodable_total"].as_u64(), Some(0), "{summary:?}");
    assert_eq!(of_type(&replayed, "connection").len(), STUDENTS, "{summary:?}");
    drop(server);
}

/// `lab lan` builds its own LAN and captures Ethernet on the server's interface: every
/// student's connection, from its own address, the whole story each.
#[test]
fn lab_lan_seats_its_students_on_a_real_link() {
    if !is_root() {
        eprintln!("skipping lab_lan_seats_its_students_on_a_real_link: the test runs it as root only");
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let saved = dir.path().join("lan.pcap");
    let saved_text = saved.to_str().unwrap();
    let out = run(BIN, &["lab", "lan", "--clients", "4", "--format", "jsonl", "-w", saved_text]);
    assert!(out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("listening on tcplab-lan") && err.contains("EN10MB"), "{err}");
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    let events = json_lines(&lines);
    let connections = of_type(&events, "connection");
    let clients: Vec<&str> = connections.iter().map(|c| c["client"].as_str().unwrap()).collect();
    assert_eq!(connections.len(), 4, "{clients:?}");
    for (n, (conn, client)) in connections.iter().zip(&clients).enumerate() {
        assert!(client.starts_with(&format!("10.77.0.{}:", 11 + n)), "student {n} at {client}");
        assert!(conn["server"].as_str().unwrap().starts_with("10.77.0.1:"), "{conn}");
        assert_eq!(conn["conn_state"], "SF", "{conn}");
        assert_eq!(conn["client_final"], "TIME-WAIT", "{conn}");
    }
    // Ethernet frames with the students' own MAC addresses, one per student.
    let mut capture = pcap::Capture::from_file(&saved).expect("the saved capture");
    assert_eq!(capture.get_datalink(), pcap::Linktype::ETHERNET);
    let mut macs = BTreeSet::new();
    while let Ok(packet) = capture.next_packet() {
        macs.insert(packet.data[6..12].to_vec());
    }
    assert_eq!(macs.len(), 5, "the server's MAC and four students' {macs:02x?}");
    let capture_line = of_type(&events, "capture");
    assert_eq!(capture_line[0]["frames"].as_u64(), Some(packets_in(&saved)), "{capture_line:?}");
}

/// Without root, `lab lan` builds the same LAN inside a user namespace of its own,
/// where the system allows unprivileged ones (as the other labs do).
#[test]
fn lab_lan_runs_without_root_in_a_user_namespace() {
    if !is_root() {
        eprintln!("skipping lab_lan_runs_without_root_in_a_user_namespace: becoming uid 65534 needs root");
        return;
    }
    // A copy that uid 65534 may run, in a directory it may enter.
    let dir = tempfile::tempdir().expect("temporary directory");
    let bin = binary_copy_for_nobody(dir.path());
    let bin_text = bin.to_str().unwrap();
    let as_nobody = ["--reuid", "65534", "--regid", "65534", "--clear-groups", bin_text];
    let out =
        run("setpriv", &[&as_nobody[..], &["lab", "lan", "--clients", "2", "--format", "jsonl"]].concat());
    let err = text(&out.stderr);
    if err.contains("cannot make the server's network namespace") {
        eprintln!("skipping lab_lan_runs_without_root_in_a_user_namespace: {err}");
        return;
    }
    assert!(out.status.success(), "{}", show(&out));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    let events = json_lines(&lines);
    let connections = of_type(&events, "connection");
    assert_eq!(connections.len(), 2, "{}", show(&out));
    assert!(connections.iter().all(|c| c["conn_state"] == "SF"), "{connections:?}");
}
