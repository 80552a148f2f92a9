//! Captures from the loopback of macOS and the BSDs (`lo0`): link type NULL (the BSD
//! address family in the byte order of the machine that wrote it) and LOOP (the same in
//! network order, OpenBSD's), replayed like any other capture.
//!
//! A shipped capture, recorded on Linux with Ethernet headers, is rewritten with each
//! loopback header as macOS, FreeBSD and OpenBSD write it: the timeline must be the
//! same, byte for byte, as the original's. tcpdump's own NULL capture of an RST with
//! data (`tests/data/bsd-loopback/`) must replay to its one segment.

use assert_cmd::Command;
use std::path::Path;

/// Runs `tcplab replay --color never ARGS… FILE` with no locale, and returns stdout
/// with the file's path, which the output names, replaced by `FILE`.
fn replay(file: &Path, args: &[&str]) -> String {
    let output = Command::cargo_bin("tcplab")
        .unwrap()
        .arg("replay")
        .args(args)
        .args(["--color", "never"])
        .arg(file)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().replace(&*file.to_string_lossy(), "FILE")
}

/// Copies the Ethernet capture `from` to `to` with each frame's 14-byte Ethernet
/// header replaced by the 4-byte loopback header `header` of link type `link`.
/// Timestamps keep their nanoseconds, as the shipped captures have them.
fn relink(from: &Path, to: &Path, link: pcap::Linktype, header: [u8; 4]) {
    let nano = pcap::Precision::Nano;
    let mut input = pcap::Capture::from_file_with_precision(from, nano).unwrap();
    assert_eq!(input.get_datalink(), pcap::Linktype::ETHERNET);
    let mut output = pcap::Capture::dead_with_precision(link, nano).unwrap().savefile(to).unwrap();
    let mut frames = 0;
    while let Ok(packet) = input.next_packet() {
        // IPv4 (0x0800) only: the shipped captures are loopback IPv4.
        assert_eq!(packet.data[12..14], [0x08, 0x00]);
        let mut data = header.to_vec();
        data.extend_from_slice(&packet.data[14..]);
        let shrink = |n: u32| n - 14 + 4;
        let head = pcap::PacketHeader {
            ts: packet.header.ts,
            caplen: shrink(packet.header.caplen),
            len: shrink(packet.header.len),
        };
        output.write(&pcap::Packet::new(&head, &data));
        frames += 1;
    }
    output.flush().unwrap();
    assert!(frames > 0);
}

/// The loopback headers of an IPv4 packet (AF_INET = 2 on every BSD) as each system
/// writes them: NULL in the host's order (little-endian on x86 and Apple silicon, big-
/// endian on the old PowerPC Macs), LOOP in network order.
const HEADERS: [(&str, pcap::Linktype, [u8; 4]); 3] = [
    ("NULL, little-endian (macOS, FreeBSD)", pcap::Linktype::NULL, [2, 0, 0, 0]),
    ("NULL, big-endian", pcap::Linktype::NULL, [0, 0, 0, 2]),
    ("LOOP (OpenBSD)", pcap::Linktype(108), [0, 0, 0, 2]),
];

#[test]
fn a_capture_on_lo0_reads_as_on_linux() {
    let dir = tempfile::tempdir().unwrap();
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/four-way.pcap");
    for args in [&[][..], &["--format", "jsonl"][..], &["--ladder"][..]] {
        let expected = replay(&original, args);
        assert!(expected.contains("teardown 4/4") || expected.contains("\"step\":\"teardown 4/4\""));
        for (name, link, header) in HEADERS {
            let lo0 = dir.path().join("lo0.pcap");
            relink(&original, &lo0, link, header);
            assert_eq!(replay(&lo0, args), expected, "{name}, replay {args:?}");
        }
    }
}

#[test]
fn tcpdumps_null_capture_replays_its_rst() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bsd-loopback/tcp_rst_diag_payload.pcap");
    let jsonl = replay(&file, &["--format", "jsonl"]);
    let segment = jsonl.lines().find(|l| l.contains("\"type\":\"segment\"")).expect("one segment");
    assert!(segment.contains("\"src\":\"192.0.2.1:39829\""), "{segment}");
    assert!(segment.contains("\"dst\":\"192.168.0.1:8080\""), "{segment}");
    assert!(segment.contains("\"flags\":[\"ACK\",\"RST\"]"), "{segment}");
    assert!(segment.contains("\"len\":8"), "{segment}");
}
