//! Real-world captures the decoder and the file reader must take: encapsulations and
//! tunnels, a first IP fragment, a TCP header cut by the snap length, a pcapng file
//! whose interfaces differ, and one unreadable file among several.
//!
//! The captures are tcpdump's (`tests/corpus/tcpdump-tests/`, BSD licence beside them);
//! the numbers expected are what tshark 4 decodes in them (`tshark -Y tcp -e
//! tcp.srcport -e tcp.seq_raw`), so each test also says tcplab agrees with Wireshark.

use assert_cmd::Command;
use etherparse::PacketBuilder;
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use serde_json::Value;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tcpdump-tests").join(name)
}

/// The JSON lines of `replay --format jsonl FILES`, the exit code and stderr.
fn replay(files: &[&Path]) -> (Vec<Value>, Option<i32>, String) {
    let out = Command::cargo_bin("tcplab")
        .unwrap()
        .args(["replay", "--format", "jsonl"])
        .args(files)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (lines, out.status.code(), String::from_utf8(out.stderr).unwrap())
}

fn segments(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["type"] == "segment").collect()
}

#[test]
fn encapsulations_are_decoded_to_the_tcp_inside() {
    // (file, TCP frames tshark decodes, the first one's frame, source port, raw seq)
    let cases = [
        ("geneve.pcap", 33, 3, 51225, 397_610_159u32),
        ("gso-ipv4-vxlan-ipv4.pcap", 1, 1, 37099, 1_925_567_864),
        ("wccp_redirect_gre.pcap", 1, 1, 1291, 2_206_441_866),
        ("lspping-fec-ldp.pcap", 3, 1, 4100, 1_860_641_958), // PPP, then MPLS
        ("arcnet-rfc1201-arp-icmp-http.pcap", 14, 13, 1027, 2_567_257_385),
        ("ipoib.pcap", 20, 9, 34170, 798_232_822),
    ];
    for (file, count, frame, port, seq) in cases {
        let (lines, code, stderr) = replay(&[&corpus(file)]);
        assert_eq!(code, Some(0), "{file}: {stderr}");
        let segs = segments(&lines);
        assert_eq!(segs.len(), count, "{file}");
        let first = segs[0];
        assert_eq!(first["frame"], frame, "{file}");
        assert!(first["src"].as_str().unwrap().ends_with(&format!(":{port}")), "{file}: {first}");
        assert_eq!(first["seq_raw"], seq, "{file}");
    }
}

#[test]
fn a_first_fragment_gives_its_tcp_header() {
    // One IPv4 fragment (offset 0, more fragments) holding a whole TCP header.
    let (lines, code, _) = replay(&[&corpus("bgp_pmsi_tunnel-oobr.pcap")]);
    assert_eq!(code, Some(0));
    let segs = segments(&lines);
    assert_eq!(segs.len(), 1);
    assert_eq!(
        (segs[0]["src"].as_str(), &segs[0]["seq_raw"]),
        (Some("241.0.32.19:179"), &Value::from(2_146_695_561u32))
    );
}

#[test]
fn a_header_cut_by_the_snap_length_keeps_its_fixed_fields() {
    // The capture kept 20 of the TCP header's 60 bytes; tshark shows ports, seq and flags.
    let (lines, code, _) = replay(&[&corpus("beep-oobr.pcap")]);
    assert_eq!(code, Some(0));
    let segs = segments(&lines);
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0]["frame"], 2);
    assert_eq!(segs[0]["seq_raw"], 808_464_432u32);
    assert!(segs[0]["notes"].as_array().unwrap().contains(&Value::from("header_cut")), "{}", segs[0]);
}

/// A TCP segment as an IPv4 packet (no link header).
fn ipv4_tcp(seq: u32, ack: Option<u32>, syn: bool) -> Vec<u8> {
    let mut builder = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp(40000, 80, seq, 1000);
    if syn {
        builder = builder.syn();
    }
    if let Some(ack) = ack {
        builder = builder.ack(ack);
    }
    let mut out = Vec::new();
    builder.write(&mut out, &[]).unwrap();
    out
}

fn swap(mut packet: Vec<u8>) -> Vec<u8> {
    // Addresses and ports the other way round; checksums are not checked.
    let (a, b) = (packet[12..16].to_vec(), packet[16..20].to_vec());
    packet[12..16].copy_from_slice(&b);
    packet[16..20].copy_from_slice(&a);
    let (p, q) = (packet[20..22].to_vec(), packet[22..24].to_vec());
    packet[20..22].copy_from_slice(&q);
    packet[22..24].copy_from_slice(&p);
    packet
}

#[test]
fn a_pcapng_whose_interfaces_differ_is_read_whole() {
    // Interface 0: Ethernet, microseconds (the default); interface 1: Linux cooked,
    // nanoseconds, another snap length. libpcap stops at the second interface's packet.
    let ethernet = |ip: Vec<u8>| [&[2u8; 6][..], &[4; 6], &[0x08, 0x00], &ip].concat();
    let cooked = |ip: Vec<u8>| [&[0u8; 14][..], &[0x08, 0x00], &ip].concat();
    let syn = ethernet(ipv4_tcp(100, None, true));
    let syn_ack = cooked(swap(ipv4_tcp(500, Some(101), true)));
    let ack = ethernet(ipv4_tcp(101, Some(501), false));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-links.pcapng");
    let mut writer = PcapNgWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    writer.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535)).unwrap();
    let mut cooked_if = InterfaceDescriptionBlock::new(DataLink::LINUX_SLL, 262_144);
    cooked_if.options.push(InterfaceDescriptionOption::IfTsResol(9));
    writer.write_pcapng_block(cooked_if).unwrap();
    // pcap-file writes the `timestamp` as the raw count of the interface's units.
    for (interface_id, ticks, data) in [
        (0, 1_700_000_000_000_001u64, &syn),
        (1, 1_700_000_000_000_123_457, &syn_ack),
        (0, 1_700_000_000_000_200, &ack),
    ] {
        let block = EnhancedPacketBlock {
            interface_id,
            timestamp: Duration::from_nanos(ticks),
            original_len: data.len() as u32,
            data: Cow::Borrowed(data),
            options: vec![],
        };
        writer.write_pcapng_block(block).unwrap();
    }
    drop(writer);

    let (lines, code, stderr) = replay(&[&path]);
    assert_eq!(code, Some(0), "{stderr}");
    let segs = segments(&lines);
    let steps: Vec<_> = segs.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["handshake 1/3", "handshake 2/3", "handshake 3/3"]);
    // Each interface's resolution, to the nanosecond.
    let times: Vec<_> = segs.iter().map(|s| s["time"].as_str().unwrap()).collect();
    assert_eq!(times, ["1700000000.000001000", "1700000000.000123457", "1700000000.000200000"]);
    assert_eq!(segs[1]["ts"], 0.000122457);
}

#[test]
fn exact_times_survive_a_capture_that_spans_years() {
    // Two records 30 years and one nanosecond apart: a double cannot hold that span
    // to the nanosecond, the `time` string does.
    let mut file = Vec::new();
    file.extend(0xa1b2_3c4du32.to_le_bytes()); // nanosecond pcap
    file.extend([2, 0, 4, 0]);
    file.extend([0; 8]);
    file.extend(65535u32.to_le_bytes());
    file.extend(101u32.to_le_bytes()); // raw IP
    for (secs, nanos, packet) in
        [(1u32, 1u32, ipv4_tcp(100, None, true)), (946_080_001, 2, swap(ipv4_tcp(500, Some(101), true)))]
    {
        for word in [secs, nanos, packet.len() as u32, packet.len() as u32] {
            file.extend(word.to_le_bytes());
        }
        file.extend(packet);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("years.pcap");
    std::fs::write(&path, file).unwrap();
    let (lines, code, _) = replay(&[&path]);
    assert_eq!(code, Some(0));
    let times: Vec<_> = segments(&lines).iter().map(|s| s["time"].as_str().unwrap().to_owned()).collect();
    assert_eq!(times, ["1.000000001", "946080001.000000002"]);
}

#[test]
fn an_mpls_payload_that_is_not_decoded_is_counted_by_kind() {
    // Ethernet, MPLS (one label, bottom of stack), then a payload that is neither IP
    // nor a pseudowire control word.
    let frame = [&[2u8; 12][..], &[0x88, 0x47, 0, 0, 0x21, 64], &[0x90; 40]].concat();
    let mut file = Vec::new();
    file.extend(0xa1b2_c3d4u32.to_le_bytes());
    file.extend([2, 0, 4, 0]);
    file.extend([0; 8]);
    file.extend(65535u32.to_le_bytes());
    file.extend(1u32.to_le_bytes());
    for word in [1u32, 0, frame.len() as u32, frame.len() as u32] {
        file.extend(word.to_le_bytes());
    }
    file.extend(&frame);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mpls.pcap");
    std::fs::write(&path, file).unwrap();
    let (lines, code, _) = replay(&[&path]);
    assert_eq!(code, Some(0));
    let capture = lines.last().unwrap();
    assert_eq!(capture["not_decoded"], serde_json::json!({"MPLS": 1}));
    assert_eq!(capture["other_frames"], 1);
    let text = Command::cargo_bin("tcplab")
        .unwrap()
        .args(["replay", "--color", "never"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("1 frame in MPLS: not decoded"));
}

#[test]
fn one_unreadable_file_among_several_is_one_line_and_the_others_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pcap");
    let good = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/handshake.pcap");
    let (lines, code, stderr) = replay(&[&good, &missing, &good]);
    assert_eq!(code, Some(1), "an unreadable file makes the exit code 1");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("missing.pcap"), "{stderr}");
    assert_eq!(lines.iter().filter(|l| l["type"] == "capture").count(), 2);
}
