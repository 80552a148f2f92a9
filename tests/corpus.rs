//! tcpdump's own test captures (`tests/corpus/tcpdump-tests/`, many malformed on
//! purpose): every one is read with no panic, no hang and a defined exit code.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// A file that takes longer than this is a hang.
const PER_FILE: Duration = Duration::from_secs(5);

fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tcpdump-tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus must be at {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    files
}

fn run(args: &[&str], file: &PathBuf) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcplab"))
        .args(args)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = match child.wait_timeout(PER_FILE).unwrap() {
        Some(status) => status,
        None => {
            let _ = child.kill();
            panic!("{} hung (more than {:?})", file.display(), started.elapsed());
        }
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status.code(), err)
}

#[test]
fn every_corpus_file_is_read_without_panic_or_hang() {
    let files = corpus();
    assert!(files.len() > 800, "expected the whole corpus, found {}", files.len());
    let mut by_code = std::collections::BTreeMap::new();
    for file in &files {
        for args in
            [&["replay", "--format", "jsonl"][..], &["replay", "--color", "always", "--lang", "zh"][..]]
        {
            let (code, err) = run(args, file);
            assert!(!err.contains("panicked"), "{} panicked: {err}", file.display());
            // 0: read; 1: not readable (one line says why); 3: cut short after some frames.
            assert!(matches!(code, Some(0 | 1 | 3)), "{}: exit {code:?}: {err}", file.display());
            if code != Some(0) {
                assert_eq!(err.trim_end().lines().count(), 1, "{}: {err}", file.display());
            }
            *by_code.entry(code).or_insert(0) += 1;
        }
    }
    eprintln!("corpus: {} files, exit codes {by_code:?}", files.len());
}
