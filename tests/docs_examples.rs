//! Every `$ tcplab …` example in README.md and docs/*.md prints the output shown.
//!
//! # What counts as an example
//!
//! A line of a fenced code block (indented ones in lists too) that starts with `$ ` and
//! runs tcplab (`$ tcplab …`, or a shell loop or pipeline that calls it). Its expected
//! output is the block's following lines up to the next `$ ` prompt or the end of the
//! block. Prompts of other tools (`$ tshark …`, `$ ss …`, `$ cargo …`) are not run: their
//! output belongs to those tools.
//!
//! # How it is run
//!
//! The command line goes to `bash -c` from the repository root, with this build's
//! `tcplab` first on `PATH`, `NO_COLOR=1`, `COLUMNS=100`, and `LANG`, `LC_ALL` and
//! `LC_MESSAGES` unset, so the language is English unless the example says `--lang`.
//! stdout and stderr go to one pipe, as they reach a terminal; stdin is empty.
//!
//! # How output is compared
//!
//! - Trailing blank lines are ignored on both sides.
//! - A line holding only `…` in the doc stands for any number of lines (an excerpt).
//!   An excerpt that stops before the output does must end with `…` too.
//! - **Shipped captures** (`replay`, `inspect` and pipelines on `captures/*.pcap`): the
//!   output must match exactly, character for character.
//! - **Live examples** (`tcplab lab …`, `tcplab demo …`) capture new traffic on loopback,
//!   so both sides are masked before comparing, by [`mask_live`]: every decimal number
//!   (times, durations, RTTs, the kernel's TIME-WAIT timer, `ts` and `time_left` in JSON)
//!   becomes `‹n.n›`, every port (after an IPv4 address and a colon, or after `port ` /
//!   `端口 `) becomes `‹port›`, and raw sequence numbers in JSON (`seq_raw`, `ack_raw`)
//!   become `‹raw›`. Everything else must match: frame numbers, flags, relative
//!   seq/ack, lengths, window fields, states, steps, notes and their wrapping, and the
//!   summary's counts. The lab's segments come from scripted sockets with fixed pauses
//!   (the close delay of 50–300 ms keeps the wave's segments apart), so their order and
//!   number do not depend on the machine's speed; a delayed ACK or a piggybacked one would
//!   show as a change of frames and fails the test, which is the drift it is there to
//!   catch. Live examples need root or capture rights on `lo` (CI runs as root);
//!   without them they are listed on stderr as not run, and the test of the shipped
//!   captures still runs.
//! - **Interactive examples** (`--step`, `--quiz`) wait for a key or an answer typed on a
//!   terminal, which a pipe cannot echo as the doc shows it. Their block is preceded by
//!   the visible marker `<!-- not run: interactive -->`; they are counted and listed on
//!   stderr, never run. An interactive example without the marker, or a marker before
//!   anything else, fails [`every_example_is_run_or_marked_not_run`].
//!
//! A failure names the doc's file and line, the command, and a diff of the expected and
//! actual output (masked, for live examples).

// The examples are shell command lines (bash, jq, sed), as on the systems the docs show.
#![cfg(unix)]

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// The marker that keeps an interactive example from being run, placed on the line
/// right before its fenced block.
const NOT_RUN_INTERACTIVE: &str = "<!-- not run: interactive -->";
/// How long one example may run before it counts as hung.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Fewer examples than this means the parser has stopped finding them.
const AT_LEAST: usize = 70;

/// One `$ tcplab …` line of a doc and the output shown under it.
#[derive(Debug, Clone)]
struct Example {
    /// The doc, relative to the repository root.
    file: String,
    /// 1-based line of the `$ ` prompt.
    line: usize,
    /// The command line after `$ `.
    command: String,
    /// The lines shown under it, without the block's indentation.
    expected: Vec<String>,
    /// The block is preceded by [`NOT_RUN_INTERACTIVE`].
    marked_interactive: bool,
}

/// How an example is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Reads the shipped captures: compared exactly.
    Exact,
    /// Captures live traffic (`lab`, `demo`): compared after [`mask_live`].
    Live,
    /// Waits for a terminal (`--step`, `--quiz`): marked and listed, not run.
    Interactive,
}

impl Example {
    /// Where the example is, as `file:line`.
    fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// How this example is checked, from the words of its command.
    fn kind(&self) -> Kind {
        let words: Vec<&str> = self.command.split_whitespace().collect();
        if words.iter().any(|w| *w == "--step" || *w == "--quiz") {
            return Kind::Interactive;
        }
        let live = words.windows(2).any(|w| w[0] == "tcplab" && (w[1] == "lab" || w[1] == "demo"));
        if live { Kind::Live } else { Kind::Exact }
    }
}

/// The repository root (where Cargo.toml is).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, relative to the root, sorted.
fn doc_files() -> Vec<String> {
    let mut files = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("read docs/")
        .map(|e| e.expect("docs/ entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Whether a prompt's command runs tcplab (as a command word, not in a file name).
fn runs_tcplab(command: &str) -> bool {
    command
        .split(|c: char| c.is_whitespace() || c == ';' || c == '|' || c == '(')
        .any(|word| word == "tcplab")
}

/// The examples of one doc: every `$ ` prompt in a fenced block that runs tcplab, with
/// the lines under it. A fence may be indented (inside a list item); its indentation
/// is taken off the block's lines.
fn examples_in(file: &str, text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut examples = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if !trimmed.starts_with("```") {
            i += 1;
            continue;
        }
        let indent = lines[i].len() - trimmed.len();
        let marked = i > 0 && lines[i - 1].trim() == NOT_RUN_INTERACTIVE;
        let mut body = Vec::new();
        let mut j = i + 1;
        while j < lines.len() && !lines[j].trim_start().starts_with("```") {
            let line = lines[j];
            let unindented = if line.len() >= indent && line[..indent].trim().is_empty() {
                &line[indent..]
            } else {
                line.trim_start()
            };
            body.push((j + 1, unindented));
            j += 1;
        }
        let mut current: Option<Example> = None;
        for (number, line) in body {
            if let Some(command) = line.strip_prefix("$ ") {
                examples.extend(current.take());
                if runs_tcplab(command) {
                    current = Some(Example {
                        file: file.to_string(),
                        line: number,
                        command: command.to_string(),
                        expected: Vec::new(),
                        marked_interactive: marked,
                    });
                }
            } else if let Some(example) = current.as_mut() {
                example.expected.push(line.to_string());
            }
        }
        examples.extend(current);
        i = j + 1;
    }
    examples
}

/// Every example of README.md and docs/*.md, in file order.
fn all_examples() -> Vec<Example> {
    doc_files()
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            examples_in(file, &text)
        })
        .collect()
}

/// What running an example gave.
struct Run {
    /// stdout and stderr as they came, one pipe.
    output: String,
    /// bash's exit status, for the failure message.
    status: String,
}

/// Runs `command` through `bash -c` from the repository root with this build's tcplab
/// first on PATH and a fixed, English environment; stdout and stderr share one pipe.
fn run(command: &str) -> Run {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_tcplab")).parent().expect("the binary's directory");
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let (mut reader, writer) = std::io::pipe().expect("a pipe");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(command)
        .current_dir(root())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANGUAGE")
        .stdin(Stdio::null())
        .stdout(writer.try_clone().expect("clone the pipe"))
        .stderr(writer)
        .spawn()
        .expect("spawn bash");
    let reading = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).expect("read the example's output");
        bytes
    });
    let status = match child.wait_timeout(EXAMPLE_TIMEOUT).expect("wait for bash") {
        Some(status) => status.to_string(),
        None => {
            child.kill().ok();
            child.wait().ok();
            format!("killed after {} s", EXAMPLE_TIMEOUT.as_secs())
        }
    };
    let bytes = reading.join().expect("the reading thread");
    Run { output: String::from_utf8_lossy(&bytes).into_owned(), status }
}

/// Masks what changes from one live capture to the next (see the module doc): decimal
/// numbers, ports, and JSON's raw sequence numbers. Integers elsewhere are kept.
fn mask_live(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_number = c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric());
        if !starts_number {
            out.push(c);
            i += 1;
            continue;
        }
        let mut end = i;
        while end < chars.len() && (chars[end].is_ascii_digit() || chars[end] == '.') {
            end += 1;
        }
        while chars[end - 1] == '.' {
            end -= 1; // a full stop after a number ends the sentence
        }
        let token: String = chars[i..end].iter().collect();
        let before: String = out.chars().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
        match token.matches('.').count() {
            3 => {
                out.push_str(&token);
                let port_len = chars[end..].iter().skip(1).take_while(|c| c.is_ascii_digit()).count();
                if chars.get(end) == Some(&':') && port_len > 0 {
                    out.push_str(":‹port›");
                    end += 1 + port_len;
                }
            }
            1 => out.push_str("‹n.n›"),
            _ if before.ends_with("port ") || before.ends_with("端口 ") => out.push_str("‹port›"),
            _ if before.ends_with("\"seq_raw\":") || before.ends_with("\"ack_raw\":") => {
                out.push_str("‹raw›")
            }
            _ => out.push_str(&token),
        }
        i = end;
    }
    out
}

/// Lines without the trailing blank ones.
fn trimmed(lines: Vec<String>) -> Vec<String> {
    let mut lines = lines;
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

/// Whether `actual` is what `expected` shows, where a line of only `…` in `expected`
/// stands for any number of lines.
fn matches(expected: &[String], actual: &[String]) -> bool {
    // can[i][j]: expected[i..] matches actual[j..]
    let (n, m) = (expected.len(), actual.len());
    let mut can = vec![vec![false; m + 1]; n + 1];
    can[n][m] = true;
    for i in (0..n).rev() {
        let glob = expected[i].trim() == "…";
        for j in (0..=m).rev() {
            can[i][j] = if glob {
                can[i + 1][j] || (j < m && can[i][j + 1])
            } else {
                j < m && expected[i] == actual[j] && can[i + 1][j + 1]
            };
        }
    }
    can[0][0]
}

/// A line diff of `expected` against `actual` (`-` only in the doc, `+` only in the
/// output, two lines of context), from their longest common subsequence.
fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut rows: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            rows.push((' ', &expected[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            rows.push(('+', &actual[j]));
            j += 1;
        } else {
            rows.push(('-', &expected[i]));
            i += 1;
        }
    }
    let near_change =
        |k: usize| rows[k.saturating_sub(2)..(k + 3).min(rows.len())].iter().any(|(sign, _)| *sign != ' ');
    let mut text = String::new();
    let mut skipped = false;
    for (k, (sign, line)) in rows.iter().enumerate() {
        if near_change(k) {
            if skipped {
                text.push_str("  ⋮\n");
                skipped = false;
            }
            let _ = writeln!(text, "{sign} {line}");
        } else {
            skipped = true;
        }
    }
    text
}

/// Runs each example of `kind` and returns a report of those whose output differs.
fn check(kind: Kind) -> (usize, Vec<String>) {
    let examples: Vec<Example> = all_examples().into_iter().filter(|e| e.kind() == kind).collect();
    let mut failures = Vec::new();
    for example in &examples {
        let ran = run(&example.command);
        let shape = |lines: Vec<String>| -> Vec<String> {
            let lines = trimmed(lines);
            if kind == Kind::Live { lines.iter().map(|l| mask_live(l)).collect() } else { lines }
        };
        let expected = shape(example.expected.clone());
        let actual = shape(ran.output.lines().map(str::to_string).collect());
        if !matches(&expected, &actual) {
            failures.push(format!(
                "{}: $ {}\n(exit: {}; - the doc, + the output{})\n{}",
                example.place(),
                example.command,
                ran.status,
                if kind == Kind::Live { ", masked" } else { "" },
                diff(&expected, &actual)
            ));
        }
    }
    (examples.len(), failures)
}

/// Why this process may not capture on loopback; `None` when it may.
fn capture_refused() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return None;
    }
    match pcap::Capture::from_device("lo").and_then(|c| c.open()) {
        Ok(_) => None,
        Err(e) => Some(format!("not root and no capture rights on lo ({e})")),
    }
}

/// Panics with every failure's report when there are any.
fn assert_none_failed(what: &str, ran: usize, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} of {ran} {what} differ from the docs (fix the doc's output when the binary is right):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn examples_on_the_shipped_captures_print_what_the_docs_show() {
    let started = Instant::now();
    let (ran, failures) = check(Kind::Exact);
    eprintln!("{ran} examples on the shipped captures, compared exactly, in {:.1?}", started.elapsed());
    assert!(ran > 0, "no example on the shipped captures found");
    assert_none_failed("examples on the shipped captures", ran, failures);
}

#[test]
fn live_examples_print_what_the_docs_show_masked() {
    let live: Vec<Example> = all_examples().into_iter().filter(|e| e.kind() == Kind::Live).collect();
    if let Some(why) = capture_refused() {
        eprintln!("live examples not run ({why}):");
        for example in &live {
            eprintln!("  {}: $ {}", example.place(), example.command);
        }
        return;
    }
    let started = Instant::now();
    let (ran, failures) = check(Kind::Live);
    eprintln!("{ran} live examples, compared masked, in {:.1?}", started.elapsed());
    assert!(ran > 0, "no live example found");
    assert_none_failed("live examples (masked)", ran, failures);
}

#[test]
fn every_example_is_run_or_marked_not_run() {
    let examples = all_examples();
    assert!(examples.len() >= AT_LEAST, "only {} examples found; has the parser lost some?", examples.len());
    let mut problems = Vec::new();
    let mut not_run = Vec::new();
    for example in &examples {
        match (example.kind(), example.marked_interactive) {
            (Kind::Interactive, true) => not_run.push(example),
            (Kind::Interactive, false) => problems.push(format!(
                "{}: $ {}: interactive, but its block is not preceded by {NOT_RUN_INTERACTIVE}",
                example.place(),
                example.command
            )),
            (_, true) => problems.push(format!(
                "{}: $ {}: marked {NOT_RUN_INTERACTIVE} but it is run: remove the marker",
                example.place(),
                example.command
            )),
            (_, false) => {}
        }
    }
    // A marker must sit right before a block that holds an example.
    for file in doc_files() {
        let text = std::fs::read_to_string(root().join(&file)).expect("read a doc");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim() == NOT_RUN_INTERACTIVE {
                let before_example =
                    lines.get(i + 1).is_some_and(|next| next.trim_start().starts_with("```"))
                        && examples.iter().any(|e| e.file == file && e.marked_interactive && e.line > i + 2);
                if !before_example {
                    problems.push(format!(
                        "{file}:{}: {NOT_RUN_INTERACTIVE} is not right before a fenced example",
                        i + 1
                    ));
                }
            }
        }
    }
    let count = |kind| examples.iter().filter(|e| e.kind() == kind).count();
    eprintln!(
        "{} examples: {} exact, {} live (masked), {} interactive, not run:",
        examples.len(),
        count(Kind::Exact),
        count(Kind::Live),
        not_run.len()
    );
    for example in &not_run {
        eprintln!("  {}: $ {}", example.place(), example.command);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn masking_keeps_states_and_counts_and_hides_times_and_ports() {
    assert_eq!(
        mask_live("    2   0.000013  CLOSED       ◀─────────── [RST,ACK] seq=1 ack=1 ─ CLOSED"),
        "    2   ‹n.n›  CLOSED       ◀─────────── [RST,ACK] seq=1 ack=1 ─ CLOSED"
    );
    assert_eq!(
        mask_live("connection 0: client 127.0.0.1:60946 ⇄ server 127.0.0.1:44219"),
        "connection 0: client 127.0.0.1:‹port› ⇄ server 127.0.0.1:‹port›"
    );
    assert_eq!(
        mask_live("⚑ Connection refused: nothing listens on port 44219, so the"),
        "⚑ Connection refused: nothing listens on port ‹port›, so the"
    );
    assert_eq!(mask_live("end at t=60.055687."), "end at t=‹n.n›.");
    assert_eq!(
        mask_live(r#"{"seq_raw":2658638068,"ack_raw":0,"len":13,"ts":0.000549,"time_left":59.9}"#),
        r#"{"seq_raw":‹raw›,"ack_raw":‹raw›,"len":13,"ts":‹n.n›,"time_left":‹n.n›}"#
    );
    assert_eq!(mask_live("RFC 9293, 60 s, x+1, EN10MB"), "RFC 9293, 60 s, x+1, EN10MB");
}

#[test]
fn an_ellipsis_stands_for_any_lines_and_nothing_else_does() {
    let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
    assert!(matches(&lines("a\n…\nd"), &lines("a\nb\nc\nd")));
    assert!(matches(&lines("a\n…\nd"), &lines("a\nd")));
    assert!(matches(&lines("…\nc\n  …"), &lines("a\nb\nc\nd")));
    assert!(!matches(&lines("a\n…\nc"), &lines("a\nb\nc\nd")), "an excerpt must end with …");
    assert!(!matches(&lines("a\nc"), &lines("a\nb\nc")));
    assert!(!diff(&lines("a\nc"), &lines("a\nb\nc")).is_empty());
}
