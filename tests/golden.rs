//! Golden tests: every shipped capture replayed to its exact timeline and JSON lines.
//!
//! The expected outputs live in `tests/snapshots/` and are read by a person whenever
//! they change (`cargo insta review`). The captures were made by `make captures`.

use assert_cmd::Command;

/// Every lab scenario ships its capture, recorded by `make captures` under its name.
fn captures() -> impl Iterator<Item = &'static str> {
    tcplab::lab::Scenario::ALL.into_iter().map(|s| s.name())
}

/// Runs `tcplab COMMAND ARGS… --color never captures/CAPTURE.pcap` with no locale in
/// the environment, and returns stdout with the checkout's path made relative.
fn tcplab(command: &str, capture: &str, args: &[&str]) -> String {
    let path = format!("{}/captures/{capture}.pcap", env!("CARGO_MANIFEST_DIR"));
    let output = Command::cargo_bin("tcplab")
        .unwrap()
        .arg(command)
        .args(args)
        .args(["--color", "never", &path])
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{command} of {capture} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The path differs between checkouts; the rest must not.
    String::from_utf8(output.stdout).unwrap().replace(&path, &format!("captures/{capture}.pcap"))
}

fn replay(capture: &str, args: &[&str]) -> String {
    tcplab("replay", capture, args)
}

#[test]
fn timelines_in_english() {
    for capture in captures() {
        insta::assert_snapshot!(format!("{capture}.en.txt"), replay(capture, &["--lang", "en"]));
    }
}

#[test]
fn timelines_in_chinese() {
    for capture in ["handshake", "server-closes", "merged-close", "refused", "stale-syn"] {
        insta::assert_snapshot!(format!("{capture}.zh.txt"), replay(capture, &["--lang", "zh"]));
    }
}

#[test]
fn json_lines() {
    for capture in captures() {
        insta::assert_snapshot!(format!("{capture}.jsonl"), replay(capture, &["--format", "jsonl"]));
    }
}

#[test]
fn summaries() {
    for capture in captures() {
        insta::assert_snapshot!(
            format!("{capture}.summary.txt"),
            replay(capture, &["--summary", "--lang", "en"])
        );
    }
}

#[test]
fn every_json_line_is_an_object_with_a_type() {
    for capture in captures() {
        for line in replay(capture, &["--format", "jsonl"]).lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(value["type"].is_string(), "{capture}: {line}");
        }
    }
}

#[test]
fn ladders() {
    for capture in [
        "handshake",
        "server-closes",
        "merged-close",
        "half-close",
        "refused",
        "abort",
        "stale-syn",
        "simultaneous-open",
        "simultaneous-close",
        "lossy",
    ] {
        insta::assert_snapshot!(
            format!("{capture}.ladder.txt"),
            replay(capture, &["--ladder", "--lang", "en"])
        );
    }
    insta::assert_snapshot!(
        "handshake.ladder-ascii.txt",
        replay("handshake", &["--ladder", "--ascii", "--lang", "en"])
    );
    insta::assert_snapshot!(
        "server-closes.ladder.zh.txt",
        replay("server-closes", &["--ladder", "--lang", "zh"])
    );
}

#[test]
fn ladders_fit_eighty_columns() {
    for capture in captures() {
        for extra in [&["--lang", "en"][..], &["--lang", "zh"][..], &["--ascii"][..]] {
            let args: Vec<&str> = ["--ladder"].iter().chain(extra).copied().collect();
            for line in replay(capture, &args).lines() {
                // Summary lines carry addresses and may be longer; the drawing may not.
                if line.contains('│') || line.contains('|') || line.contains('┃') || line.contains('#') {
                    let width = textwrap::core::display_width(line);
                    assert!(width <= 80, "{capture} {extra:?}: {width} columns: {line}");
                }
            }
        }
    }
}

fn inspect(capture: &str, args: &[&str]) -> String {
    tcplab("inspect", capture, args)
}

#[test]
fn header_anatomy() {
    insta::assert_snapshot!("handshake.inspect-syn.txt", inspect("handshake", &["--lang", "en"]));
    insta::assert_snapshot!(
        "handshake.inspect-4.txt",
        inspect("handshake", &["--lang", "en", "--frame", "4"])
    );
    insta::assert_snapshot!(
        "handshake.inspect-2.zh.txt",
        inspect("handshake", &["--lang", "zh", "--frame", "2"])
    );
    insta::assert_snapshot!("refused.inspect-2.txt", inspect("refused", &["--lang", "en", "--frame", "2"]));
}

#[test]
fn the_grid_keeps_its_shape_in_both_languages() {
    for lang in ["en", "zh"] {
        for frame in ["1", "2", "3", "4", "10"] {
            let text = inspect("handshake", &["--lang", lang, "--frame", frame]);
            for line in text.lines().filter(|l| l.starts_with('|') || l.starts_with('+')) {
                assert_eq!(textwrap::core::display_width(line), 65, "{lang} frame {frame}: {line}");
            }
        }
    }
}

#[test]
fn inspect_says_when_there_is_no_such_segment() {
    let path = format!("{}/captures/handshake.pcap", env!("CARGO_MANIFEST_DIR"));
    let out =
        Command::cargo_bin("tcplab").unwrap().args(["inspect", "--frame", "99", &path]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frame 99 is not a TCP segment"));
}

fn svg(capture: &str, lang: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ladder.svg");
    replay(capture, &["--summary", "--lang", lang, "--svg", file.to_str().unwrap()]);
    std::fs::read_to_string(file).unwrap()
}

#[test]
fn svg_ladders_are_valid_xml_with_the_same_labels() {
    for capture in captures() {
        let text = svg(capture, "en");
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{capture}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        // Every textbook label and state of the terminal ladder is in the picture.
        let terminal = replay(capture, &["--ladder", "--lang", "en"]);
        for state in ["SYN-SENT", "ESTABLISHED", "CLOSED"] {
            if terminal.contains(state) {
                assert!(texts.iter().any(|t| t.contains(state)), "{capture}: {state} missing");
            }
        }
        for label in ["SYN=1 seq=x", "FIN=1 seq=u", "ACK=1 seq=u+1 ack=w+1"] {
            assert_eq!(
                terminal.contains(label),
                texts.iter().any(|t| t.contains(label)),
                "{capture}: {label}"
            );
        }
    }
    for capture in captures() {
        insta::assert_snapshot!(format!("{capture}.svg"), svg(capture, "en"));
    }
    insta::assert_snapshot!("server-closes.zh.svg", svg("server-closes", "zh"));
}

/// A text element's box, from its position, anchor and size: the width from
/// `textLength` when the renderer fits it, else from the font's average advance
/// (0.62 em a Latin glyph, 1 em a CJK one, as the SVG renderer estimates).
struct TextBox {
    text: String,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    /// Centred on a lane: the lane's heading.
    heads_a_lane: bool,
}

fn text_boxes(svg: &str) -> Vec<TextBox> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let num = |a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok());
            let text = n.text().unwrap_or_default().to_owned();
            let size = num("font-size").unwrap_or(16.0);
            let ems: f64 = text.chars().map(|c| if c.is_ascii() { 0.62 } else { 1.0 }).sum();
            let width = num("textLength").unwrap_or(ems * size);
            let (x, y) = (num("x").unwrap(), num("y").unwrap());
            let x0 = match n.attribute("text-anchor") {
                Some("middle") => x - width / 2.0,
                Some("end") => x - width,
                _ => x,
            };
            let heads_a_lane = n.attribute("text-anchor") == Some("middle") && (x == 300.0 || x == 660.0);
            TextBox { text, x0, x1: x0 + width, y0: y - size * 0.8, y1: y + size * 0.2, heads_a_lane }
        })
        .collect()
}

/// The lanes: vertical lines, as (x, top, bottom).
fn lanes(svg: &str) -> Vec<(f64, f64, f64)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("line"))
        .filter_map(|n| {
            let num = |a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok());
            let (x1, x2, y1, y2) = (num("x1")?, num("x2")?, num("y1")?, num("y2")?);
            (x1 == x2).then_some((x1, y1.min(y2), y1.max(y2)))
        })
        .collect()
}

#[test]
fn svg_ladders_have_no_text_on_text_and_no_label_across_a_lane() {
    for capture in captures() {
        for lang in ["en", "zh"] {
            let picture = svg(capture, lang);
            let boxes = text_boxes(&picture);
            let lanes = lanes(&picture);
            assert!(lanes.len() >= 2, "{capture}: no lanes");
            for (i, a) in boxes.iter().enumerate() {
                // A label between the lanes stays between them; a state stays outside.
                for &(x, top, bottom) in &lanes {
                    let crosses = a.x0 < x - 1.0 && a.x1 > x + 1.0 && a.y1 > top && a.y0 < bottom;
                    assert!(
                        !crosses || a.heads_a_lane,
                        "{capture} ({lang}): '{}' crosses the lane at x={x}",
                        a.text
                    );
                }
                for b in &boxes[i + 1..] {
                    let apart = a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0;
                    assert!(apart, "{capture} ({lang}): '{}' overlaps '{}'", a.text, b.text);
                }
            }
        }
    }
}

fn mermaid(capture: &str, lang: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ladder.mmd");
    replay(capture, &["--summary", "--lang", lang, "--mermaid", file.to_str().unwrap()]);
    std::fs::read_to_string(&file).unwrap()
}

#[test]
fn mermaid_diagrams() {
    for capture in captures() {
        insta::assert_snapshot!(format!("{capture}.en.mmd"), mermaid(capture, "en"));
    }
    insta::assert_snapshot!("handshake.zh.mmd", mermaid("handshake", "zh"));
}
