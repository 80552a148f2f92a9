//! Many connections in one view, each legible: the `[n]` tags, each connection's own
//! colour in every view, and `--explain first|all|none`, on the real captures in
//! `captures/` (`stale-syn.pcap` holds two connections: a stale SYN reset, then a
//! whole chat). The live side, thirty clients at once, is `tests/class.rs`.

use assert_cmd::Command;

fn tcplab(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("tcplab").unwrap();
    cmd.args(args).env("LC_ALL", "C").env_remove("NO_COLOR").env_remove("COLORTERM");
    cmd.output().unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = tcplab(args);
    assert!(out.status.success(), "tcplab {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const TWO: &str = "captures/stale-syn.pcap";
const ONE: &str = "captures/handshake.pcap";
/// The first words of the explanation of the client's SYN (handshake 1/3).
const SYN_EXPLAINED: &str = "The client asks to open a connection";
/// Words of the full note on the stale SYN's reset (its short form lacks them).
const STALE_NOTE_IN_FULL: &str = "RFC 9293";

#[test]
fn explain_first_tells_each_step_once_per_capture() {
    for args in [&["replay", TWO][..], &["replay", "--explain", "first", TWO]] {
        let out = stdout_of(args);
        assert_eq!(out.matches(SYN_EXPLAINED).count(), 1, "{args:?}\n{out}");
    }
}

/// Three students' whole chats over the LAN lab's link.
const THREE: &str = "captures/lan.pcap";

#[test]
fn explain_all_tells_each_step_for_every_connection() {
    let first = stdout_of(&["replay", THREE]);
    assert_eq!(first.matches(SYN_EXPLAINED).count(), 1, "{first}");
    let out = stdout_of(&["replay", "--explain", "all", THREE]);
    assert_eq!(out.matches(SYN_EXPLAINED).count(), 3, "{out}");
    // In stale-syn.pcap only the second connection opens for real: the stray SYN of the
    // first is told by its own note, so `all` tells the SYN once there too.
    let stale = stdout_of(&["replay", "--explain", "all", TWO]);
    assert_eq!(stale.matches(SYN_EXPLAINED).count(), 1, "{stale}");
    assert_eq!(stale.matches("The client sends 13 bytes").count(), 1, "{stale}");
}

#[test]
fn explain_none_leaves_the_segment_lines_and_short_notes() {
    let out = stdout_of(&["replay", "--explain", "none", TWO]);
    assert!(!out.contains(SYN_EXPLAINED), "{out}");
    assert!(!out.contains(STALE_NOTE_IN_FULL), "{out}");
    assert!(!out.contains("seq numbers its first byte"), "{out}");
    // What remains: every segment with its step, and the TIME-WAIT note in short.
    assert_eq!(out.matches(" · ").count(), 16, "one step line per frame\n{out}");
    assert!(out.contains("⚑ client in TIME-WAIT (not on the wire) until t="), "{out}");
    let first = stdout_of(&["replay", TWO]);
    assert!(out.lines().count() + 30 < first.lines().count(), "{out}");
}

#[test]
fn explain_is_refused_where_no_explanation_is_shown() {
    for view in [&["--format", "jsonl"][..], &["--summary"], &["--ladder"]] {
        let out = tcplab(&[&["replay", "--explain", "all", TWO][..], view].concat());
        assert_eq!(out.status.code(), Some(2), "{view:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--explain all chooses the timeline's explanations"), "{err}");
    }
}

#[test]
fn summary_every_is_for_people_and_not_for_nothing() {
    let out = tcplab(&["watch", "--summary-every", "10s", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--summary-every prints a table for people"));
    let out = tcplab(&["watch", "--summary-every", "0s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'0s' is too short"));
}

#[test]
fn a_lone_connection_is_not_tagged_and_a_second_one_is() {
    let one = stdout_of(&["replay", ONE]);
    assert!(!one.contains("[0]"), "a one-connection lesson stays uncluttered\n{one}");
    let two = stdout_of(&["replay", TWO]);
    // From the second connection on, every step line says whose it is.
    let tagged = two.lines().filter(|l| l.trim_start().starts_with("[1] ")).count();
    assert_eq!(tagged, 13, "frames 4–16 are connection 1's\n{two}");
}

#[test]
fn each_connection_has_its_own_terminal_colour_and_no_colour_means_no_escapes() {
    let painted = stdout_of(&["replay", "--color", "always", TWO]);
    // Connection 1 is Okabe–Ito orange, xterm colour 178, on its tag and its header.
    assert!(
        painted.contains("\x1b[38;5;178m[1]\x1b[0m handshake")
            || painted.contains("\x1b[38;5;178m[1]\x1b[0m \x1b[1;32mhandshake"),
        "{painted}"
    );
    assert!(painted.contains("\x1b[1;38;5;178mconnection 1: client"), "{painted}");
    assert!(painted.contains("\x1b[1;38;5;25mconnection 0: client"), "{painted}");
    for args in [
        &["replay", "--color", "never", TWO][..],
        &["replay", "--ascii", "--color", "never", TWO],
        &["replay", "--ascii", TWO],
        &["replay", "--ladder", TWO],
        &["replay", TWO],
    ] {
        let out = stdout_of(args);
        assert!(!out.contains('\x1b'), "{args:?}: an escape code in plain output");
    }
}

#[test]
fn the_svg_marks_each_connection_in_its_colour_once_there_are_several() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("two.svg");
    stdout_of(&["replay", "--svg", svg.to_str().unwrap(), TWO]);
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let bands: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("conn-band"))
        .filter_map(|n| n.attribute("fill"))
        .collect();
    assert_eq!(bands, ["#0072B2", "#E69F00"]);
    stdout_of(&["replay", "--svg", svg.to_str().unwrap(), ONE]);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(!text.contains("conn-band") && !text.contains("#0072B2"), "a lone connection stays black");
}
