//! tcplab's expert notes against tshark's `tcp.analysis.*` flags, frame by frame, on
//! every shipped capture and on the tcpdump test captures that have such flags.
//!
//! Each difference that remains is listed below with its reason (docs/expert-notes.md
//! explains them for readers); an unlisted difference fails, and so does a listed one
//! that no longer happens, so the list and the docs stay true. CI installs tshark
//! (`make setup`); without it the test says so and checks nothing, unless `CI` is set.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tcplab");

#[path = "support/tshark.rs"]
mod tshark;
use tshark::FIELDS;

/// Who flagged a note the other did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Only {
    Tshark,
    Tcplab,
}

/// The differences that remain, each with its reason.
const KNOWN: [(&str, u64, &str, Only, &str); 10] = [
    ("simultaneous-open", 3, "retransmission", Only::Tshark, SYN_ACK_ANSWERS),
    ("simultaneous-open", 4, "retransmission", Only::Tshark, SYN_ACK_ANSWERS),
    ("zero-window", 8, "keep_alive", Only::Tshark, LINUX_PROBE),
    ("zero-window", 8, "zero_window_probe", Only::Tcplab, LINUX_PROBE),
    ("zero-window", 9, "zero_window_probe_ack", Only::Tcplab, LINUX_PROBE_ACK),
    ("zero-window", 10, "keep_alive", Only::Tshark, LINUX_PROBE),
    ("zero-window", 10, "zero_window_probe", Only::Tcplab, LINUX_PROBE),
    ("zero-window", 11, "keep_alive", Only::Tshark, LINUX_PROBE),
    ("zero-window", 11, "zero_window_probe", Only::Tcplab, LINUX_PROBE),
    ("zero-window", 12, "zero_window_probe_ack", Only::Tcplab, LINUX_PROBE_ACK),
];

const SYN_ACK_ANSWERS: &str = "in a simultaneous open each SYN-ACK answers the other end's SYN \
    (RFC 9293 Figure 7); it repeats its sender's SYN's sequence number by design";
const LINUX_PROBE: &str = "Linux probes a zero window with an empty segment one byte below the next, \
    shaped like a keep-alive; into a closed window tcplab calls it a probe";
const LINUX_PROBE_ACK: &str = "the answer to that probe, still with a zero window";

/// tcpdump test captures with analysis flags, checked the same way (no known differences).
const CORPUS: [&str; 5] = ["pptp.pcap", "of13_ericsson.pcapng", "mptcp-v0.pcap", "kday4.pcap", "kday7.pcap"];

/// tshark is what these tests compare with: without it they fail, saying how to get it.
fn require_tshark() {
    let present = Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(present, "tshark is not installed: run `make setup` (or `apt-get install tshark`)");
}

/// tshark's notes per frame, and its duplicate-ACK numbers (frame → (of, count)).
type Flags = BTreeMap<u64, BTreeSet<&'static str>>;
type DupAcks = BTreeMap<u64, (u64, u64)>;

fn tshark(path: &Path) -> (Flags, DupAcks) {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path).args(["-Y", "tcp", "-T", "fields", "-E", "separator=|"]);
    cmd.args([
        "-e",
        "frame.number",
        "-e",
        "tcp.analysis.duplicate_ack_frame",
        "-e",
        "tcp.analysis.duplicate_ack_num",
    ]);
    for (field, _) in FIELDS {
        cmd.args(["-e", field]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut flags, mut dups) = (Flags::new(), DupAcks::new());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let parts: Vec<&str> = line.split('|').collect();
        let number = |i: usize| parts[i].split(',').next().and_then(|v| v.parse::<u64>().ok());
        let frame = number(0).expect("frame number");
        let set = flags.entry(frame).or_default();
        for (i, (_, name)) in FIELDS.iter().enumerate() {
            if !parts[3 + i].is_empty() {
                set.insert(*name);
            }
        }
        if let (Some(of), Some(count)) = (number(1), number(2)) {
            dups.insert(frame, (of, count));
        }
    }
    (flags, dups)
}

fn tcplab(path: &Path) -> (Flags, DupAcks) {
    let out = Command::new(BIN).args(["replay", "--format", "jsonl"]).arg(path).output().expect("run tcplab");
    assert!(out.status.code().is_some_and(|c| c <= 1), "tcplab failed on {}", path.display());
    let compared: BTreeSet<&str> = FIELDS.iter().map(|(_, name)| *name).collect();
    let (mut flags, mut dups) = (Flags::new(), DupAcks::new());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let event: Value = serde_json::from_str(line).expect("a JSON line");
        if event["type"] != "segment" {
            continue;
        }
        let frame = event["frame"].as_u64().expect("frame");
        let set = flags.entry(frame).or_default();
        for note in event["notes"].as_array().expect("notes") {
            if let Some(name) = compared.get(note.as_str().expect("note name")) {
                set.insert(*name);
            }
        }
        if let (Some(of), Some(count)) =
            (event["dup_ack"]["of_frame"].as_u64(), event["dup_ack"]["count"].as_u64())
        {
            dups.insert(frame, (of, count));
        }
    }
    (flags, dups)
}

/// Every (frame, note, who) on which the two disagree, and the duplicate-ACK numbers
/// that differ.
fn differences(path: &Path) -> (BTreeSet<(u64, &'static str, Only)>, Vec<String>) {
    let (theirs, their_dups) = tshark(path);
    let (ours, our_dups) = tcplab(path);
    let mut diffs = BTreeSet::new();
    let empty = BTreeSet::new();
    for frame in theirs.keys().chain(ours.keys()) {
        let (t, o) = (theirs.get(frame).unwrap_or(&empty), ours.get(frame).unwrap_or(&empty));
        diffs.extend(t.difference(o).map(|n| (*frame, *n, Only::Tshark)));
        diffs.extend(o.difference(t).map(|n| (*frame, *n, Only::Tcplab)));
    }
    let dup_diffs = their_dups
        .iter()
        .filter(|(frame, numbers)| our_dups.get(frame).is_some_and(|ours| ours != *numbers))
        .map(|(frame, numbers)| {
            format!("frame {frame}: tshark dup ACK {numbers:?}, tcplab {:?}", our_dups[frame])
        })
        .collect();
    (diffs, dup_diffs)
}

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    files.sort();
    files
}

#[test]
fn notes_agree_with_tshark_on_every_shipped_capture_except_where_listed() {
    require_tshark();
    let mut unexplained = Vec::new();
    let mut seen_known = BTreeSet::new();
    let mut compared_notes = 0;
    for path in captures() {
        let name = path.file_stem().and_then(|s| s.to_str()).expect("file name").to_string();
        let (diffs, dup_diffs) = differences(&path);
        unexplained.extend(dup_diffs.into_iter().map(|d| format!("{name}: {d}")));
        for (frame, note, who) in diffs {
            match KNOWN.iter().position(|k| k.0 == name && k.1 == frame && k.2 == note && k.3 == who) {
                Some(i) => {
                    seen_known.insert(i);
                }
                None => unexplained.push(format!("{name} frame {frame}: {note} only in {who:?}")),
            }
        }
        compared_notes += tshark(&path).0.values().map(BTreeSet::len).sum::<usize>();
    }
    assert!(unexplained.is_empty(), "differences with no listed reason:\n{}", unexplained.join("\n"));
    let stale: Vec<_> =
        KNOWN.iter().enumerate().filter(|(i, _)| !seen_known.contains(i)).map(|(_, k)| k).collect();
    assert!(
        stale.is_empty(),
        "listed differences that no longer happen (update the list and docs): {stale:#?}"
    );
    // The shipped captures exercise the analysis, not just agree on silence.
    assert!(compared_notes >= 20, "only {compared_notes} tshark notes in the shipped captures");
}

#[test]
fn notes_agree_with_tshark_on_tcpdump_test_captures() {
    require_tshark();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tcpdump-tests");
    for name in CORPUS {
        let (diffs, dup_diffs) = differences(&dir.join(name));
        assert!(diffs.is_empty() && dup_diffs.is_empty(), "{name}: {diffs:?} {dup_diffs:?}");
    }
}
