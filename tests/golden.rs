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
        // The snapshots keep the SVG's Chinese as text, whatever fonts this machine has;
        // `svg_chinese_is_drawn_as_outlines` checks the outlines.
        .env("TCPLAB_CJK_FONT", "none")
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

/// The old duplicate SYN of `stale-syn` was sent by no socket: no line may put the
/// client in SYN-SENT for it, and the SYN itself is marked as a stray segment.
#[test]
fn a_stale_syn_puts_no_client_in_syn_sent() {
    let lines: Vec<serde_json::Value> = replay("stale-syn", &["--format", "jsonl"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first: Vec<&serde_json::Value> = lines.iter().filter(|v| v["conn"] == 0).collect();
    let segments: Vec<_> = first.iter().filter(|v| v["type"] == "segment").collect();
    assert_eq!(segments.len(), 3, "{first:#?}");
    for seg in &segments {
        assert_eq!(seg["client_state"], "CLOSED", "{seg}");
    }
    assert_eq!(segments[0]["notes"], serde_json::json!(["stray_syn"]));
    assert_eq!(segments[2]["notes"], serde_json::json!(["old_duplicate_syn"]));
    let client_moves: Vec<_> =
        first.iter().filter(|v| v["type"] == "transition" && v["side"] == "client").collect();
    assert!(client_moves.is_empty(), "{client_moves:#?}");
    // The real connection after it opens as usual.
    assert!(lines.iter().any(|v| v["conn"] == 1 && v["side"] == "client" && v["to"] == "SYN-SENT"));
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

/// `--frames` and `--conn` draw part of a capture in every view: the segments asked
/// for, with the states the whole capture leads to, and the summaries of their
/// connections only.
#[test]
fn part_of_a_capture() {
    insta::assert_snapshot!(
        "four-way.frames-8-11.ladder.txt",
        replay("four-way", &["--ladder", "--frames", "8-11"])
    );
    let lines: Vec<serde_json::Value> =
        replay("stale-syn", &["--format", "jsonl", "--conn", "1", "--frames", "5-"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let frames: Vec<u64> =
        lines.iter().filter(|v| v["type"] == "segment").map(|v| v["frame"].as_u64().unwrap()).collect();
    assert_eq!(frames, (5..=16).collect::<Vec<_>>());
    assert!(lines.iter().filter(|v| v["conn"].is_u64()).all(|v| v["conn"] == 1));
    let first = lines.iter().find(|v| v["type"] == "segment").unwrap();
    assert_eq!(first["client_state"], "ESTABLISHED", "the state frame 4 led to");
    assert_eq!(lines.iter().filter(|v| v["type"] == "connection").count(), 1);
    let text = replay("stale-syn", &["--conn", "0"]);
    assert!(text.contains("connection 0: client") && !text.contains("connection 1: client"), "{text}");
    let summary = replay("stale-syn", &["--summary", "--conn", "1"]);
    assert!(
        summary.contains("connection 1: client") && !summary.contains("connection 0: client"),
        "{summary}"
    );
    assert!(!summary.contains("handshake 1/3"), "only the summary: {summary}");
}

/// `--aspect 16:9` gives the SVG a slide's shape, the ladder whole and centred in it.
#[test]
fn svg_for_a_slide() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slide.svg");
    replay("handshake", &["--frames", "1-3", "--aspect", "16:9", "--svg", path.to_str().unwrap()]);
    let svg = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    let number = |name: &str| root.attribute(name).unwrap().parse::<f64>().unwrap();
    let (width, height) = (number("width"), number("height"));
    assert!((width / height - 16.0 / 9.0).abs() < 0.01, "{width}x{height}");
    let view: Vec<f64> = root.attribute("viewBox").unwrap().split(' ').map(|n| n.parse().unwrap()).collect();
    assert_eq!((view[2], view[3]), (width, height));
    // Every lane and arrow lies inside the page.
    for line in doc.descendants().filter(|n| n.has_tag_name("line")) {
        for (attr, lo, hi) in [("x1", view[0], view[0] + width), ("y2", view[1], view[1] + height)] {
            let v: f64 = line.attribute(attr).unwrap().parse().unwrap();
            assert!((lo..=hi).contains(&v), "{attr}={v} outside {lo}..{hi}");
        }
    }
    assert_eq!(
        doc.descendants().filter(|n| n.has_tag_name("line")).count(),
        3 + 2,
        "three arrows, two lanes"
    );
    let refused = Command::cargo_bin("tcplab")
        .unwrap()
        .args(["replay", "--aspect", "16:9"])
        .arg(format!("{}/captures/handshake.pcap", env!("CARGO_MANIFEST_DIR")))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "--aspect without --svg");
}

/// With a CJK font, `--lang zh --svg` draws every Chinese label as the outlines of its
/// glyphs, so that it looks the same where no CJK font is installed; without one it
/// keeps text and says so in one line.
#[test]
fn svg_chinese_is_drawn_as_outlines() {
    let path = format!("{}/captures/server-closes.pcap", env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zh.svg");
    let run = |font: &str| {
        Command::cargo_bin("tcplab")
            .unwrap()
            .args([
                "replay",
                "--summary",
                "--lang",
                "zh",
                "--color",
                "never",
                "--svg",
                file.to_str().unwrap(),
                &path,
            ])
            .env("TCPLAB_CJK_FONT", font)
            .output()
            .unwrap()
    };
    let cjk = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
    let without = run("none");
    assert!(without.status.success());
    let said = String::from_utf8_lossy(&without.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("没有找到中文字体"), "{said}");
    let font = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
    if !std::path::Path::new(font).exists() {
        eprintln!("{font} is not installed (apt-get install fonts-wqy-microhei): outlines not checked");
        return;
    }
    let with = run(font);
    assert!(with.status.success() && with.stderr.is_empty(), "{}", String::from_utf8_lossy(&with.stderr));
    let svg = std::fs::read_to_string(&file).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    assert!(texts.iter().all(|t| !t.chars().any(cjk)), "Chinese left as text: {texts:?}");
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("title") && n.parent().is_some_and(|p| p.has_tag_name("path")))
        .filter_map(|n| n.text())
        .collect();
    assert!(titles.iter().any(|t| t.contains("客户端")), "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("挥手")), "{titles:?}");
    // Latin labels stay text.
    assert!(texts.iter().any(|t| t.contains("FIN=1")), "{texts:?}");
}
