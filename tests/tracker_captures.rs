//! The tracker's scenario captures (`tests/data/tracker/`, written by `make.py` there):
//! each shows one rule of the state machine, the notes or Zeek's conn_state, and this
//! test holds tcplab's JSON to what RFC 9293, RFC 5961 and Zeek say of it.
//! tests/tshark_corpus.rs holds the same files' numbers and notes to tshark.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A capture's events, in the order tcplab writes them.
fn events(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tracker").join(name);
    let out = Command::new(env!("CARGO_BIN_EXE_tcplab"))
        .args(["replay", "--format", "jsonl"])
        .arg(&path)
        .output()
        .expect("run tcplab");
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON")).collect()
}

/// A capture's segment events (frame order) and connection summaries.
fn replay(name: &str) -> (Vec<Value>, Vec<Value>) {
    let events = events(name);
    let of = |kind: &str| events.iter().filter(|e| e["type"] == kind).cloned().collect::<Vec<_>>();
    (of("segment"), of("connection"))
}

/// A capture's transitions after frame `after`, as (frame, side, from, to).
fn changes_after(name: &str, after: u64) -> Vec<(u64, String, String, String)> {
    events(name)
        .iter()
        .filter(|e| e["type"] == "transition" && e["frame"].as_u64().unwrap() > after)
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_string();
            (e["frame"].as_u64().unwrap(), text("side"), text("from"), text("to"))
        })
        .collect()
}

fn change(frame: u64, side: &str, from: &str, to: &str) -> (u64, String, String, String) {
    (frame, side.into(), from.into(), to.into())
}

/// Frame `n`'s (client state, server state, notes).
fn at(segments: &[Value], n: u64) -> (String, String, Vec<String>) {
    let e = segments.iter().find(|e| e["frame"] == n).unwrap_or_else(|| panic!("no frame {n}"));
    let notes =
        e["notes"].as_array().expect("notes").iter().map(|n| n.as_str().unwrap().to_string()).collect();
    (e["client_state"].as_str().unwrap().into(), e["server_state"].as_str().unwrap().into(), notes)
}

fn states(segments: &[Value], n: u64) -> (String, String) {
    let (c, s, _) = at(segments, n);
    (c, s)
}

fn has(segments: &[Value], n: u64, note: &str) -> bool {
    at(segments, n).2.iter().any(|x| x == note)
}

fn pair(c: &str, s: &str) -> (String, String) {
    (c.into(), s.into())
}

#[test]
fn an_injected_rst_that_acks_the_iss_is_ignored_in_syn_sent() {
    let (segs, conns) = replay("rst-injected-in-syn-sent.pcap");
    assert!(has(&segs, 2, "rst_ignored"));
    assert_eq!(states(&segs, 2), pair("SYN-SENT", "LISTEN"), "the client keeps waiting");
    assert_eq!(states(&segs, 4), pair("ESTABLISHED", "ESTABLISHED"));
    // The real SYN-ACK starts the server's numbers again: a SYN is at relative 0.
    assert_eq!(segs[2]["seq"], 0);
    assert!(has(&segs, 3, "ports_reused"));
    assert_eq!(conns[0]["reset_by"], Value::Null, "an ignored reset resets nothing");
    assert_eq!(conns[0]["client_final"], "TIME-WAIT");
}

#[test]
fn a_rst_outside_the_receivers_window_changes_no_state() {
    let (segs, _) = replay("rst-outside-window.pcap");
    assert!(has(&segs, 6, "rst_ignored"));
    for frame in 6..=8 {
        assert_eq!(states(&segs, frame), pair("ESTABLISHED", "ESTABLISHED"), "frame {frame}");
    }
    assert_eq!(segs[8]["step"], "teardown 1/4");
}

#[test]
fn an_ack_field_without_the_ack_bit_acknowledges_nothing() {
    let (segs, _) = replay("rst-without-ack.pcap");
    assert_eq!(segs[4]["ack"], Value::Null);
    // The timeout resend after the bare RST is a retransmission, not a spurious one,
    // and the new data after it is neither.
    assert!(has(&segs, 6, "retransmission") && !has(&segs, 6, "spurious_retransmission"));
    assert!(at(&segs, 8).2.is_empty());
}

#[test]
fn a_new_syn_or_syn_ack_after_a_reset_or_close_starts_a_new_base() {
    let (segs, conns) = replay("ports-reused-after-reset.pcap");
    assert_eq!(conns.len(), 2, "the new SYN is a new connection");
    assert!(has(&segs, 6, "ports_reused"));
    assert_eq!((segs[5]["conn"].clone(), segs[5]["seq"].clone()), (Value::from(1), Value::from(0)));
    // A SYN-ACK with a new ISN after the close: same connection, numbered afresh, not a
    // SYN retransmission, and both ends open again.
    assert_eq!(segs[13]["seq"], 0);
    assert!(has(&segs, 14, "ports_reused") && !has(&segs, 14, "syn_retransmission"));
    assert_eq!(states(&segs, 15), pair("ESTABLISHED", "ESTABLISHED"));
    assert!(!has(&segs, 17, "half_close_data"));
}

#[test]
fn acked_unseen_is_noted_once_per_hole() {
    let (segs, _) = replay("acked-unseen-once.pcap");
    let flagged: Vec<u64> = (1..=12).filter(|&f| has(&segs, f, "acked_unseen")).collect();
    // Frame 5 finds the hole; 6 and 7 repeat the same ack; after the client sends
    // more (frame 8), frame 9 notes it again, as tshark does.
    assert_eq!(flagged, [5, 9]);
}

#[test]
fn bytes_already_acknowledged_are_spurious_even_within_a_round_trip() {
    let (segs, _) = replay("spurious-before-out-of-order.pcap");
    let (_, _, notes) = at(&segs, 7);
    assert_eq!(notes, ["spurious_retransmission", "retransmission"]);
}

#[test]
fn a_fin_that_acknowledges_ours_leads_to_time_wait_not_closing() {
    let (segs, _) = replay("fin-acks-fin.pcap");
    assert_eq!(states(&segs, 4), pair("FIN-WAIT-1", "CLOSE-WAIT"));
    assert_eq!(states(&segs, 5), pair("TIME-WAIT", "LAST-ACK"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tracker/fin-acks-fin.pcap");
    let out =
        Command::new(env!("CARGO_BIN_EXE_tcplab")).args(["replay", "--format", "jsonl"]).arg(path).output();
    let text = String::from_utf8(out.expect("run").stdout).expect("utf-8");
    let client_path: Vec<&str> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
        .filter(|e| e["type"] == "transition" && e["side"] == "client")
        .map(|e| if e["to"] == "CLOSING" { "CLOSING" } else { "" })
        .filter(|s| !s.is_empty())
        .collect();
    assert!(client_path.is_empty(), "no CLOSING for a FIN that already acks ours");
    let through_fin_wait_2 = text.contains(r#""side":"client","from":"FIN-WAIT-1","to":"FIN-WAIT-2""#)
        && text.contains(r#""side":"client","from":"FIN-WAIT-2","to":"TIME-WAIT""#);
    assert!(through_fin_wait_2, "FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT on frame 5");
}

#[test]
fn a_fin_in_syn_sent_is_a_warning_not_a_close() {
    let (segs, _) = replay("fin-in-syn-sent.pcap");
    assert!(has(&segs, 2, "fin_in_syn_sent"));
    assert_ne!(segs[1]["step"], "teardown 1/4");
    assert_eq!(states(&segs, 2), pair("SYN-SENT", "SYN-RECEIVED"), "a FIN without ACK closes nothing");
}

#[test]
fn zeek_conn_state_follows_zeeks_rules() {
    let state = |name| replay(name).1[0]["conn_state"].as_str().unwrap().to_string();
    // A reset after both FINs: both of Zeek's endpoints are already closed.
    assert_eq!(state("rst-after-both-fins.pcap"), "SF");
    // S, F, R and a bare ACK back: not Zeek's `S[^HAFGIQ]*R`, so OTH, not RSTOS0.
    assert_eq!(state("syn-fin-rst-bare-ack.pcap"), "OTH");
    assert_eq!(state("fin-acks-fin.pcap"), "SF");
    // Zeek answers a RST with `REJ` only while the originator is still in SYN-SENT; after
    // its FIN (Zeek's CLOSED) the responder's RST makes it `RSTR`.
    assert_eq!(state("fin-in-syn-sent.pcap"), "RSTR");
    // No SYN captured: judged by the endpoints, not called OTH.
    assert_eq!(state("midstream-closed.pcap"), "SF");
    let (_, conns) = replay("syn-ack-first.pcap");
    assert_eq!((conns[0]["conn_state"].as_str(), conns[0]["history"].as_str()), (Some("S1"), Some("^hADa")));
}

#[test]
fn an_in_window_rst_answered_by_a_challenge_ack_closes_nothing() {
    let (segs, conns) = replay("rst-challenge-ack.pcap");
    // The RST's own row is shown with its outcome: not believed, both ends still open.
    assert!(has(&segs, 6, "rst_ignored"));
    assert_eq!(states(&segs, 6), pair("ESTABLISHED", "ESTABLISHED"));
    // The receiver's pure ACK of the byte it does expect; tshark calls it a duplicate ACK.
    assert!(has(&segs, 7, "challenge_ack") && has(&segs, 7, "dup_ack"));
    for frame in 7..=10 {
        assert_eq!(states(&segs, frame), pair("ESTABLISHED", "ESTABLISHED"), "frame {frame}");
    }
    assert_eq!(segs[10]["step"], "teardown 1/4");
    assert_eq!(changes_after("rst-challenge-ack.pcap", 5)[0].0, 11, "no state changes before the FIN");
    assert_eq!((conns[0]["reset_by"].clone(), conns[0]["closed_by"].clone()), (Value::Null, "client".into()));
}

#[test]
fn a_challenge_ack_answered_by_a_rst_at_its_ack_shows_the_sender_closed_from_its_first_rst() {
    let name = "rst-challenge-then-exact.pcap";
    let (segs, conns) = replay(name);
    // The client had reset: it is CLOSED from its first RST. The server did not believe
    // that one and stays ESTABLISHED until the RST at the byte it acknowledged.
    assert_eq!(at(&segs, 6), ("CLOSED".into(), "ESTABLISHED".into(), vec!["rst_challenged".into()]));
    assert_eq!(states(&segs, 7), pair("CLOSED", "ESTABLISHED"));
    assert!(has(&segs, 7, "challenge_ack"));
    // The client's RST at the acknowledged seq, which the server takes, is the answer of
    // an end without a connection to the challenge ACK, not a second abort.
    assert_eq!(at(&segs, 8), ("CLOSED".into(), "CLOSED".into(), vec!["rst_answer".into()]));
    assert_eq!(
        changes_after(name, 5),
        [change(6, "client", "ESTABLISHED", "CLOSED"), change(8, "server", "ESTABLISHED", "CLOSED")]
    );
    assert_eq!(conns[0]["reset_by"], "client");
}

#[test]
fn data_sent_before_an_exact_rst_arrived_crosses_it_from_an_open_lane() {
    let name = "rst-exact-crossing-data.pcap";
    let (segs, conns) = replay(name);
    // The client closes as it sends its RST; the server as the RST arrives, which is
    // after its data of frames 7 and 9 left. The client's RSTs answering that data
    // travel behind the first and change nothing: answers of an end without a
    // connection (rst_answer), not aborts.
    assert_eq!(at(&segs, 6), ("CLOSED".into(), "ESTABLISHED".into(), vec![]));
    assert_eq!(at(&segs, 7), ("CLOSED".into(), "ESTABLISHED".into(), vec!["rst_crossed".into()]));
    assert_eq!(at(&segs, 8), ("CLOSED".into(), "ESTABLISHED".into(), vec!["rst_answer".into()]));
    assert_eq!(at(&segs, 9), ("CLOSED".into(), "CLOSED".into(), vec!["rst_crossed".into()]));
    assert_eq!(at(&segs, 10), ("CLOSED".into(), "CLOSED".into(), vec!["rst_answer".into()]));
    for frame in [7, 9] {
        assert_eq!(segs[frame as usize - 1]["step"], "data", "frame {frame}");
    }
    assert_eq!(
        changes_after(name, 5),
        [change(6, "client", "ESTABLISHED", "CLOSED"), change(9, "server", "ESTABLISHED", "CLOSED")]
    );
    assert_eq!(
        (conns[0]["reset_by"].clone(), conns[0]["server_final"].clone()),
        ("client".into(), "CLOSED".into())
    );
}

#[test]
fn a_second_rst_of_its_own_in_a_row_answers_nothing() {
    // tcpdump's mptcp-tcprst.pcap: the same end sends two RSTs, nothing between them.
    // The second comes from a CLOSED end but answers no segment of the other end's.
    let (segs, _) = replay("../../corpus/tcpdump-tests/mptcp-tcprst.pcap");
    assert_eq!(segs.len(), 2);
    for seg in &segs {
        let notes = seg["notes"].as_array().expect("notes");
        assert!(!notes.iter().any(|n| n == "rst_answer"), "frame {}: {notes:?}", seg["frame"]);
    }
    assert_eq!(states(&segs, 2), pair("CLOSED", "CLOSED"));
}

#[test]
fn an_in_window_rst_that_nothing_answers_or_one_at_the_next_byte_closes_on_its_own_row() {
    for name in ["rst-in-window-unanswered.pcap", "rst-exact.pcap"] {
        let (segs, conns) = replay(name);
        assert_eq!(states(&segs, 6), pair("CLOSED", "CLOSED"), "{name}");
        assert!(at(&segs, 6).2.is_empty(), "{name}");
        assert_eq!(conns[0]["reset_by"], "client", "{name}");
    }
}

#[test]
fn no_teardown_data_or_half_close_is_drawn_from_a_closed_lane() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tracker");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tracker captures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    names.sort();
    for name in names {
        let events = events(&name);
        for (i, seg) in events.iter().enumerate().filter(|(_, e)| e["type"] == "segment") {
            let side = if seg["dir"] == "c2s" { "client" } else { "server" };
            let step = seg["step"].as_str().unwrap_or_default();
            let tells_more = step.starts_with("teardown")
                || step == "data"
                || seg["notes"].as_array().is_some_and(|n| n.iter().any(|n| n == "half_close_data"));
            let flags = seg["flags"].as_array().expect("flags");
            if !tells_more || flags.iter().any(|f| f == "RST") {
                continue;
            }
            let frame = &seg["frame"];
            let after = &seg[format!("{side}_state").as_str()];
            // The lane the segment left from: before the changes listed under it.
            let own: Vec<&Value> = events[i + 1..]
                .iter()
                .take_while(|e| e["type"] == "transition" && &e["frame"] == frame)
                .filter(|e| e["side"] == side)
                .collect();
            let before = own.first().map_or(after, |t| &t["from"]);
            assert_ne!(before, "CLOSED", "{name} frame {frame}: {step} from a CLOSED lane");
            // A lane that says CLOSED after it: only a RST that crossed it, arriving after
            // it left, closes its sender there.
            if after == "CLOSED" {
                let crossed = seg["notes"].as_array().is_some_and(|n| n.iter().any(|n| n == "rst_crossed"));
                assert!(crossed, "{name} frame {frame}: {step}, then CLOSED");
            }
        }
    }
}

#[test]
fn without_a_syn_the_client_is_zeeks_originator() {
    // The first segment comes from port 80, one of Zeek's likely server ports: Zeek makes
    // its receiver the originator and writes `^`; so does tcplab.
    let (segs, conns) = replay("midstream-server-port-first.pcap");
    assert!(has(&segs, 1, "client_guessed"));
    assert_eq!(
        (conns[0]["client"].as_str(), conns[0]["server"].as_str()),
        (Some("192.0.2.1:40000"), Some("198.51.100.2:80"))
    );
    assert!(conns[0]["history"].as_str().unwrap().starts_with('^'));
    // Ports 9000 and 51000 are on no list: the first sender is the originator.
    let (_, conns) = replay("midstream-unlisted-ports.pcap");
    assert_eq!(conns[0]["client"], "192.0.2.1:9000");
    assert_eq!(conns[0]["history"], "Da");
}

#[test]
fn a_fragmented_segment_is_whole_on_the_fragment_that_completes_it() {
    let (segs, conns) = replay("ip-fragments.pcap");
    let frames: Vec<u64> = segs.iter().map(|s| s["frame"].as_u64().unwrap()).collect();
    // Frames 4 and 5 are fragments that complete nothing; 8 is a first fragment whose
    // other fragment was never captured. As in tshark, none of them holds a segment.
    assert_eq!(frames, [1, 2, 3, 6, 7, 9, 10, 11, 12]);
    assert_eq!((segs[3]["seq"].clone(), segs[3]["len"].clone()), (Value::from(1), Value::from(3000)));
    assert!(at(&segs, 6).2.is_empty(), "the whole segment, in order");
    assert!(has(&segs, 9, "acked_unseen"));
    assert_eq!(conns[0]["bytes_c2s"], 3000);
}

#[test]
fn ipv6_fragments_are_reassembled_in_any_order_and_behind_extension_headers() {
    let (segs, conns) = replay("ipv6-fragments.pcap");
    let frames: Vec<u64> = segs.iter().map(|s| s["frame"].as_u64().unwrap()).collect();
    // Frames 4 and 5 are fragments that complete nothing (6 completes their datagram);
    // 8 is a first fragment whose other fragment was never captured; 10 is the last
    // fragment of a datagram behind a Hop-by-Hop header, which 11 completes.
    assert_eq!(frames, [1, 2, 3, 6, 7, 9, 11, 12, 13, 14, 15]);
    let seq_len = |n: u64| {
        let e = segs.iter().find(|e| e["frame"] == n).unwrap();
        (e["seq"].as_u64().unwrap(), e["len"].as_u64().unwrap())
    };
    assert_eq!(seq_len(6), (1, 3000));
    assert!(at(&segs, 6).2.is_empty(), "the whole segment, in order");
    assert!(has(&segs, 9, "acked_unseen"));
    // The Destination Options header inside the datagram is not payload.
    assert_eq!(seq_len(11), (4001, 1000));
    assert!(has(&segs, 11, "previous_segment_not_captured"));
    assert_eq!(conns[0]["client"], "[2001:db8::1]:40000");
    assert_eq!(conns[0]["bytes_c2s"], 4000);
    assert_eq!(conns[0]["client_final"], "TIME-WAIT");
}
