//! Hostile and damaged captures: files cut at every point, headers with flipped bits,
//! absurd sizes, a million tiny records, and payloads and file names built to take over
//! a terminal. Every run of the binary must end on its own with a defined exit code
//! (0 done, 1 unreadable, 3 cut short), say what went wrong in one line, allocate no
//! more than it needs (runs are held to 1 GiB of address space) and print nothing raw
//! that a terminal would act on.
//!
//! The fuzz targets in `fuzz/` explore the same entry points at random; these tests
//! are their deterministic floor and run in `make test`. Crashing inputs that fuzzing
//! finds are added here as regression tests.
//!
//! Unix only: runs are held to their memory limit with setrlimit, and file names are
//! built from raw bytes.
#![cfg(unix)]

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// Address space every run of the binary gets: a huge allocation fails instead of succeeding.
const ADDRESS_SPACE: u64 = 1 << 30;
/// A run that takes longer than this is a hang.
const HANG: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------

struct Run {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
    took: Duration,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The `segment` lines of `--format jsonl` output.
    fn segments(&self) -> usize {
        self.stdout_text().lines().filter(|l| l.starts_with(r#"{"type":"segment""#)).count()
    }

    /// The closing `capture` line of `--format jsonl` output.
    fn capture_line(&self) -> serde_json::Value {
        let text = self.stdout_text();
        let line = text
            .lines()
            .rev()
            .find(|l| l.starts_with(r#"{"type":"capture""#))
            .unwrap_or_else(|| panic!("no capture line in:\n{text}"));
        serde_json::from_str(line).unwrap()
    }
}

fn tcplab() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcplab"));
    cmd.env_remove("LANG").env_remove("LC_ALL").env("NO_COLOR", "1").stdin(Stdio::null());
    cmd
}

/// Holds `cmd` to `bytes` of address space (RLIMIT_AS), as `prlimit --as` does.
fn limit_address_space(cmd: &mut Command, bytes: u64) -> &mut Command {
    // SAFETY: the closure runs between fork and exec and only calls setrlimit, which
    // is async-signal-safe, on a value it owns.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Runs `cmd` to the end (or kills it after [`HANG`] and fails), collecting its output.
fn run(cmd: &mut Command) -> Run {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).unwrap();
        buf
    });
    let mut err = Vec::new();
    stderr.read_to_end(&mut err).unwrap();
    let status = match child.wait_timeout(HANG).unwrap() {
        Some(status) => status,
        None => {
            let _ = child.kill();
            panic!("{cmd:?} hung (more than {HANG:?})");
        }
    };
    let stdout = out_reader.join().unwrap();
    Run { status, stdout, stderr: String::from_utf8_lossy(&err).into_owned(), took: started.elapsed() }
}

fn replay_jsonl(path: &Path) -> Run {
    run(tcplab().args(["replay", "--format", "jsonl"]).arg(path))
}

/// No panic, no signal, a defined exit code, and one line on stderr for any failure.
fn assert_sane(run: &Run, what: &str) {
    assert!(
        run.status.signal().is_none(),
        "{what}: killed by signal {:?}; stderr: {}",
        run.status.signal(),
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{what}: panicked: {}", run.stderr);
    assert!(matches!(run.code(), Some(0 | 1 | 3)), "{what}: exit {:?}: {}", run.code(), run.stderr);
    if run.code() != Some(0) {
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{what}: one line on stderr: {}", run.stderr);
    }
}

/// Runs `each` on every item with two threads: thousands of short runs of the binary
/// take half the time.
fn in_parallel<T: Sync>(items: &[T], each: impl Fn(&T) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                    each(item);
                }
            });
        }
    });
}

// ---------------------------------------------------------------------------------------
// Classic pcap files
// ---------------------------------------------------------------------------------------

/// The shipped captures, by name, with their bytes.
fn shipped() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "the shipped captures are in captures/");
    files
}

const GLOBAL_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;

/// Whether a classic pcap stores its numbers little-endian (µs or ns magic).
fn little_endian(file: &[u8]) -> bool {
    match file[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("not a classic pcap"),
    }
}

fn u32_at(file: &[u8], at: usize) -> u32 {
    let bytes = [file[at], file[at + 1], file[at + 2], file[at + 3]];
    if little_endian(file) { u32::from_le_bytes(bytes) } else { u32::from_be_bytes(bytes) }
}

fn put_u32(file: &mut [u8], at: usize, value: u32) {
    let bytes = if little_endian(file) { value.to_le_bytes() } else { value.to_be_bytes() };
    file[at..at + 4].copy_from_slice(&bytes);
}

/// One complete record: where its 16-byte header starts and where its data ends.
#[derive(Debug, Clone, Copy)]
struct Record {
    start: usize,
    end: usize,
}

impl Record {
    fn data(self) -> usize {
        self.start + RECORD_HEADER
    }
}

/// The complete records of a classic pcap, walked by their headers (incl_len at offset 8).
fn records(file: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut at = GLOBAL_HEADER;
    while at + RECORD_HEADER <= file.len() {
        let end = at + RECORD_HEADER + u32_at(file, at + 8) as usize;
        if end > file.len() {
            break;
        }
        out.push(Record { start: at, end });
        at = end;
    }
    out
}

/// Length of the Ethernet, IP and TCP headers at the start of an Ethernet record's data.
fn header_span(file: &[u8], record: Record) -> usize {
    let data = &file[record.data()..record.end];
    assert_eq!(&data[12..14], &[0x08, 0x00], "the shipped captures are Ethernet + IPv4");
    let ip = usize::from(data[14] & 0x0f) * 4;
    let tcp = usize::from(data[14 + ip + 12] >> 4) * 4;
    14 + ip + tcp
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

// ---------------------------------------------------------------------------------------
// Truncation and corruption
// ---------------------------------------------------------------------------------------

/// Every byte of the first 100, then every 7th, then the last few: each place a
/// download or a full disk might stop. A file much larger than the others (the lossy
/// lab's 70 KB) is cut at a few hundred places spread evenly, as they are: its records
/// are of the same kinds, and cutting it every 7th byte would replay it ten thousand
/// times.
fn cut_points(len: usize) -> Vec<usize> {
    const MOST_CUTS: usize = 500;
    let step = 7.max(len / MOST_CUTS);
    let mut cuts: Vec<usize> = (0..100.min(len)).chain((100..len).step_by(step)).collect();
    cuts.extend(len.saturating_sub(3)..len);
    cuts.sort();
    cuts.dedup();
    cuts
}

#[test]
fn every_shipped_capture_cut_anywhere_reports_each_complete_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (name, bytes) in shipped() {
        let whole = records(&bytes);
        // The sweep counts records as segments: every record of the shipped files is one.
        let full = replay_jsonl(&write(dir.path(), &name, &bytes));
        assert_eq!((full.code(), full.segments()), (Some(0), whole.len()), "{name} whole");
        for cut in cut_points(bytes.len()) {
            cases.push((name.clone(), bytes[..cut].to_vec(), whole.clone()));
        }
    }
    let started = Instant::now();
    in_parallel(&cases, |(name, cut, whole)| {
        let at = cut.len();
        let path = write(dir.path(), &format!("{name}.cut{at}"), cut);
        let run = replay_jsonl(&path);
        let what = format!("{name} cut at byte {at}");
        assert_sane(&run, &what);
        let complete = whole.iter().filter(|r| r.end <= at).count();
        let on_boundary = at == GLOBAL_HEADER || whole.iter().any(|r| r.end == at);
        if at < GLOBAL_HEADER {
            // Not even the file header: cannot be opened.
            assert_eq!(run.code(), Some(1), "{what}: {}", run.stderr);
            assert_eq!(run.segments(), 0, "{what}");
        } else if on_boundary {
            assert_eq!(run.code(), Some(0), "{what}: {}", run.stderr);
            assert!(run.stderr.is_empty(), "{what}: {}", run.stderr);
            assert_eq!(run.segments(), complete, "{what}");
        } else {
            assert_eq!(run.code(), Some(3), "{what}: {}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{what}: exactly one warning: {}", run.stderr);
            assert!(run.stderr.contains("cut short"), "{what}: {}", run.stderr);
            assert_eq!(run.segments(), complete, "{what}: every complete record before the cut");
            assert_eq!(run.capture_line()["frames"], complete as u64, "{what}");
        }
        std::fs::remove_file(&path).unwrap();
    });
    eprintln!("{} cut files replayed in {:?}", cases.len(), started.elapsed());
}

#[test]
fn flipped_header_bytes_are_counted_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (name, bytes) in shipped() {
        let all = records(&bytes);
        let first = all[0];
        for offset in 0..header_span(&bytes, first) {
            // The first record alone, so that the connection starts damaged…
            let mut one = bytes.clone();
            one[first.data() + offset] ^= 0xff;
            cases.push((format!("{name} first record, header byte {offset}"), one, all.len()));
            // …and every record at once, so that the tracker meets damage mid-connection.
            let mut each = bytes.clone();
            for &record in &all {
                if offset < header_span(&bytes, record) {
                    each[record.data() + offset] ^= 0xff;
                }
            }
            cases.push((format!("{name} every record, header byte {offset}"), each, all.len()));
        }
    }
    let started = Instant::now();
    let counter = AtomicUsize::new(0);
    in_parallel(&cases, |(what, bytes, frames)| {
        let path = write(dir.path(), &format!("flip{}.pcap", counter.fetch_add(1, Ordering::Relaxed)), bytes);
        let run = replay_jsonl(&path);
        assert_sane(&run, what);
        assert_eq!(run.code(), Some(0), "{what}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{what}: {}", run.stderr);
        let capture = run.capture_line();
        assert_eq!(capture["frames"], *frames as u64, "{what}: every record is counted");
        let accounted = capture["tcp_segments"].as_u64().unwrap()
            + capture["other_frames"].as_u64().unwrap()
            + capture["undecodable"].as_array().unwrap().len() as u64;
        assert_eq!(accounted, *frames as u64, "{what}: each frame is a segment, other or undecodable");
        std::fs::remove_file(&path).unwrap();
    });
    eprintln!("{} damaged files replayed in {:?}", cases.len(), started.elapsed());
}

// ---------------------------------------------------------------------------------------
// Hostile sizes
// ---------------------------------------------------------------------------------------

fn handshake() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/handshake.pcap")).unwrap()
}

/// Replays `bytes` as JSON lines within [`ADDRESS_SPACE`].
fn replay_limited(dir: &Path, name: &str, bytes: &[u8]) -> Run {
    let path = write(dir, name, bytes);
    let run =
        run(limit_address_space(tcplab().args(["replay", "--format", "jsonl"]).arg(&path), ADDRESS_SPACE));
    assert_sane(&run, name);
    run
}

#[test]
fn a_snaplen_of_four_gigabytes_allocates_nothing_huge() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = handshake();
    put_u32(&mut bytes, 16, 0xFFFF_FFFF);
    let run = replay_limited(dir.path(), "snaplen.pcap", &bytes);
    // libpcap takes an absurd snap length for its maximum and reads on.
    assert_eq!((run.code(), run.segments()), (Some(0), 13), "{}", run.stderr);
}

#[test]
fn a_record_claiming_two_gigabytes_stops_the_file_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let whole = handshake();
    let third = records(&whole)[2];
    for (snaplen, incl_len) in [(None, 0x7FFF_FFFF), (Some(0xFFFF_FFFF), 0x7FFF_FFFF), (None, 0xFFFF_FFFF)] {
        let mut bytes = whole.clone();
        if let Some(snaplen) = snaplen {
            put_u32(&mut bytes, 16, snaplen);
        }
        put_u32(&mut bytes, third.start + 8, incl_len);
        let what = format!("snaplen {snaplen:x?}, third record incl_len {incl_len:#x}");
        let run = replay_limited(dir.path(), "incl.pcap", &bytes);
        assert_eq!(run.code(), Some(3), "{what}: {}", run.stderr);
        assert_eq!(run.segments(), 2, "{what}: the two records before it");
        assert_eq!(run.stderr.lines().count(), 1, "{what}: {}", run.stderr);
    }
}

#[test]
fn a_record_longer_than_it_was_on_the_wire_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = handshake();
    for (i, record) in records(&bytes).into_iter().enumerate() {
        // orig_len below incl_len: 0, 1 and 10 bytes on the wire, each more than captured.
        put_u32(&mut bytes, record.start + 12, [0, 1, 10][i % 3]);
    }
    let run = replay_limited(dir.path(), "orig.pcap", &bytes);
    assert_eq!((run.code(), run.segments()), (Some(0), 13), "{}", run.stderr);
    let path = write(dir.path(), "orig-inspect.pcap", &bytes);
    for frame in ["1", "3"] {
        let inspect =
            run_limited(tcplab().args(["inspect", "--color", "never", "--frame", frame]).arg(&path));
        assert_sane(&inspect, "inspect of a record with orig_len < incl_len");
        assert_eq!(inspect.code(), Some(0), "{}", inspect.stderr);
    }
}

fn run_limited(cmd: &mut Command) -> Run {
    run(limit_address_space(cmd, ADDRESS_SPACE))
}

#[test]
fn a_pcapng_block_claiming_two_gigabytes_is_one_line() {
    // Section header, interface description (Ethernet), then an enhanced packet block
    // whose total length claims 2 GiB.
    let mut bytes = Vec::new();
    let block = |bytes: &mut Vec<u8>, kind: u32, body: &[u8], claimed: Option<u32>| {
        let len = claimed.unwrap_or(12 + body.len() as u32);
        bytes.extend(kind.to_le_bytes());
        bytes.extend(len.to_le_bytes());
        bytes.extend(body);
        bytes.extend((12 + body.len() as u32).to_le_bytes());
    };
    let shb = [0x1A2B3C4Du32.to_le_bytes(), [1, 0, 0, 0], [0xff; 4], [0xff; 4]].concat();
    block(&mut bytes, 0x0A0D0D0A, &shb, None);
    block(&mut bytes, 1, &[1, 0, 0, 0, 0, 0, 4, 0], None);
    let mut epb = vec![0u8; 20];
    epb[12..16].copy_from_slice(&14u32.to_le_bytes());
    epb[16..20].copy_from_slice(&14u32.to_le_bytes());
    epb.extend([2u8; 14]);
    epb.extend([0, 0]);
    block(&mut bytes, 6, &epb, Some(0x7FFF_FFFC));
    let dir = tempfile::tempdir().unwrap();
    let run = replay_limited(dir.path(), "huge-block.pcapng", &bytes);
    assert_ne!(run.code(), Some(0), "a block that runs past the end is reported");
}

#[test]
fn an_ip_length_beyond_the_wire_length_is_not_payload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claim.pcap");
    let mut ack = tcp_frame(true, 1001, Some(5001), "", b"");
    assert_eq!(ack.len(), 54);
    // IPv4 total length (after the 14-byte Ethernet header): 820, of which 40 are headers.
    ack[16..18].copy_from_slice(&820u16.to_be_bytes());
    save(&path, &[ack]);
    let run = replay_jsonl(&path);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let segment: serde_json::Value = serde_json::from_str(run.stdout_text().lines().next().unwrap()).unwrap();
    // Nothing was cut by the snap length (caplen = orig_len = 54): the claim is false.
    assert_eq!(segment["len"], 0, "{segment}");
}

/// A classic pcap of `count` 14-byte Ethernet frames of `ether_type` with empty payloads.
fn tiny_records(path: &Path, count: u32, ether_type: [u8; 2]) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let header =
        [0xa1b2c3d4u32.to_le_bytes(), [2, 0, 4, 0], [0; 4], [0; 4], 65535u32.to_le_bytes(), [1, 0, 0, 0]];
    std::io::Write::write_all(&mut file, &header.concat()).unwrap();
    let mut frame = [[2u8; 6], [4u8; 6]].concat();
    frame.extend(ether_type);
    for i in 0..count {
        let record = [1_700_000_000u32 + i / 1_000_000, i % 1_000_000, 14, 14].map(u32::to_le_bytes).concat();
        std::io::Write::write_all(&mut file, &record).unwrap();
        std::io::Write::write_all(&mut file, &frame).unwrap();
    }
    std::io::Write::flush(&mut file).unwrap();
}

#[test]
fn a_million_tiny_records_are_read_steadily() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.pcap");
    // IPv4 with no IP header: each frame is undecodable, the heaviest case per frame.
    tiny_records(&path, 1_000_000, [0x08, 0x00]);
    let run = run_limited(tcplab().args(["replay", "--summary", "--lang", "en"]).arg(&path));
    assert_sane(&run, "a million tiny records");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let text = run.stdout_text();
    assert!(text.contains("1000000 frames"), "{text}");
    assert!(text.contains("999990 more undecodable frames"), "ten are listed, the rest counted: {text}");
    assert!(run.took < Duration::from_secs(30), "took {:?}", run.took);
    eprintln!("a million tiny records in {:?}", run.took);
}

#[test]
fn undecodable_frames_do_not_grow_memory_without_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.pcap");
    tiny_records(&path, 1_000_000, [0x08, 0x00]);
    let run = run(limit_address_space(tcplab().args(["replay", "--summary"]).arg(&path), 64 << 20));
    assert_sane(&run, "a million undecodable frames in 64 MiB");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

#[test]
fn a_million_non_ip_records_fit_in_little_memory() {
    // The same file with ARP frames: memory stays flat (the limit is 64 MiB here).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arp.pcap");
    tiny_records(&path, 1_000_000, [0x08, 0x06]);
    let run = run(limit_address_space(tcplab().args(["replay", "--summary"]).arg(&path), 64 << 20));
    assert_sane(&run, "a million ARP frames in 64 MiB");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// Terminal safety
// ---------------------------------------------------------------------------------------

/// Payloads that would move the cursor, rewrite lines, ring, retitle the window, open
/// links, reorder text or smuggle raw bytes if printed as they are.
fn hostile_payloads() -> Vec<Vec<u8>> {
    let mut payloads: Vec<Vec<u8>> = vec![
        b"\x1b[2J\x1b[H\x1b[31mred\x1b[0m".to_vec(),
        b"\x1b]0;owned\x07title".to_vec(),
        b"\x1b]8;;http://example.invalid/\x1b\\link\x1b]8;;\x1b\\".to_vec(),
        b"over\rwrite".to_vec(),
        b"back\x08\x08\x08space\x7f".to_vec(),
        b"bell\x07\x07".to_vec(),
        "C1 as UTF-8: \u{85}\u{9b}31m\u{9d}0;x\u{9c}\u{90}".as_bytes().to_vec(),
        b"C1 raw: \x9b31m \x85 \x9d".to_vec(),
        "bidi: \u{202a}a\u{202b}b\u{202c}c\u{202d}d\u{202e}evil".as_bytes().to_vec(),
        "isolates: \u{2066}a\u{2067}b\u{2068}c\u{2069} marks \u{200e}\u{200f}\u{61c}".as_bytes().to_vec(),
        b"invalid UTF-8: \xff\xfe\xc3\x28\xe2\x82".to_vec(),
        b"tab\tvt\x0bff\x0cnul\x00esc\x1b".to_vec(),
        b"\x1b".to_vec(),
    ];
    // The preview keeps 256 bytes: cut an escape sequence and a bidi character there.
    let mut long = vec![b'a'; 254];
    long.extend(b"\x1b[31m");
    payloads.push(long);
    let mut long = vec![b'b'; 255];
    long.extend("\u{202e}tail".as_bytes());
    payloads.push(long);
    payloads
}

const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 8080);

/// One Ethernet + IPv4 + TCP frame between [`CLIENT`] and [`SERVER`]; `flags` holds
/// `S`, `F` and `P` for SYN, FIN and PSH (ACK is set by `ack`).
fn tcp_frame(from_client: bool, seq: u32, ack: Option<u32>, flags: &str, payload: &[u8]) -> Vec<u8> {
    let ((src, sport), (dst, dport)) = if from_client { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
    let mut b =
        etherparse::PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    if let Some(ack) = ack {
        b = b.ack(ack);
    }
    if flags.contains('S') {
        b = b.syn();
    }
    if flags.contains('F') {
        b = b.fin();
    }
    if flags.contains('P') {
        b = b.psh();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// Writes `frames` as an Ethernet capture with libpcap itself, one millisecond apart.
fn save(path: &Path, frames: &[Vec<u8>]) {
    let mut save = pcap::Capture::dead(pcap::Linktype::ETHERNET).unwrap().savefile(path).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        let header = pcap::PacketHeader {
            ts: libc::timeval { tv_sec: 1_700_000_000, tv_usec: (i * 1000) as libc::suseconds_t },
            caplen: frame.len() as u32,
            len: frame.len() as u32,
        };
        save.write(&pcap::Packet::new(&header, frame));
    }
    save.flush().unwrap();
}

/// A whole connection: handshake, each hostile payload (from both sides in turn, each
/// acknowledged), then the four-way wave. Returns the number of frames.
fn hostile_capture(path: &Path) -> usize {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let (mut c, mut s) = (1000u32, 5000u32);
    frames.push(tcp_frame(true, c, None, "S", b""));
    frames.push(tcp_frame(false, s, Some(c + 1), "S", b""));
    c += 1;
    s += 1;
    frames.push(tcp_frame(true, c, Some(s), "", b""));
    for (i, payload) in hostile_payloads().iter().enumerate() {
        let len = payload.len() as u32;
        if i % 2 == 0 {
            frames.push(tcp_frame(true, c, Some(s), "P", payload));
            c += len;
            frames.push(tcp_frame(false, s, Some(c), "", b""));
        } else {
            frames.push(tcp_frame(false, s, Some(c), "P", payload));
            s += len;
            frames.push(tcp_frame(true, c, Some(s), "", b""));
        }
    }
    frames.push(tcp_frame(true, c, Some(s), "F", b""));
    frames.push(tcp_frame(false, s, Some(c + 1), "", b""));
    frames.push(tcp_frame(false, s, Some(c + 1), "F", b""));
    frames.push(tcp_frame(true, c + 1, Some(s + 1), "", b""));
    save(path, &frames);
    frames.len()
}

/// Reordering and invisible characters that a terminal honours.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Nothing in `bytes` that a terminal would act on: valid UTF-8 (no raw invalid or C1
/// bytes), no control character but the newline, no bidi control.
fn assert_terminal_safe(bytes: &[u8], what: &str) {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => panic!("{what}: raw bytes that are not UTF-8 at {}: {:?}", e.valid_up_to(), e),
    };
    for (line_no, line) in text.lines().enumerate() {
        if let Some(c) = line.chars().find(|&c| (c.is_control() && c != '\n') || is_bidi(c)) {
            panic!("{what}: line {} carries {c:?} raw: {line:?}", line_no + 1);
        }
    }
}

#[test]
fn hostile_payloads_are_escaped_in_every_text_view() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.pcap");
    let frames = hostile_capture(&path);
    let views: [&[&str]; 9] = [
        &["replay", "--color", "never"],
        &["replay", "--color", "never", "--ladder"],
        &["replay", "--color", "never", "--ladder", "--ascii"],
        &["replay", "--color", "never", "--lang", "zh"],
        &["replay", "--color", "never", "--lang", "zh", "--ladder"],
        &["replay", "--color", "never", "--summary"],
        &["replay", "--color", "never", "--lang", "en", "--time-wait", "0"],
        &["replay", "--format", "jsonl"],
        &["replay", "--color", "never", "--speed", "0"],
    ];
    for view in views {
        let run = run(tcplab().args(view).arg(&path));
        let what = view.join(" ");
        assert_eq!(run.code(), Some(0), "{what}: {}", run.stderr);
        assert_terminal_safe(&run.stdout, &what);
        assert_terminal_safe(run.stderr.as_bytes(), &format!("{what} (stderr)"));
    }
    // The timeline does show the payloads, escaped.
    let timeline =
        run(tcplab().args(["replay", "--color", "never", "--lang", "en"]).arg(&path)).stdout_text();
    for shown in [r"\e[2J\e[H\e[31mred", r"\e]0;owned\x07", r"over\rwrite", r"\x08\x08\x08space\x7f"] {
        assert!(timeline.contains(shown), "{shown} missing from:\n{timeline}");
    }
    for shown in
        [r"\u{0085}\u{009b}", r"\x9b31m", r"\u{202e}evil", r"\u{2066}a", r"\xff\xfe\xc3(", r"nul\x00"]
    {
        assert!(timeline.contains(shown), "{shown} missing from:\n{timeline}");
    }
    // The header anatomy of every frame, in both languages.
    for frame in 1..=frames {
        for lang in ["en", "zh"] {
            let n = frame.to_string();
            let run =
                run(tcplab().args(["inspect", "--color", "never", "--lang", lang, "--frame", &n]).arg(&path));
            let what = format!("inspect --lang {lang} --frame {frame}");
            assert_eq!(run.code(), Some(0), "{what}: {}", run.stderr);
            assert_terminal_safe(&run.stdout, &what);
            assert_terminal_safe(run.stderr.as_bytes(), &what);
        }
    }
}

#[test]
fn hostile_payloads_stay_out_of_the_svg_ladder_raw() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.pcap");
    hostile_capture(&path);
    let svg = dir.path().join("ladder.svg");
    let run = run(tcplab().args(["replay", "--color", "never", "--ladder", "--svg"]).arg(&svg).arg(&path));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let text = std::fs::read(&svg).unwrap();
    assert_terminal_safe(&text, "the SVG ladder");
    let text = String::from_utf8(text).unwrap();
    roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
}

/// A name with an escape sequence (colour red), a bell and a bidi override in it.
fn hostile_name(stem: &str) -> OsString {
    let mut name = OsString::from(stem);
    name.push(OsStr::from_bytes(b"\x1b[31m\x07"));
    name.push("\u{202e}.pcap");
    name
}

#[test]
fn a_file_name_with_escape_sequences_is_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(hostile_name("evil"));
    std::fs::write(&path, handshake()).unwrap();
    for view in [&["replay", "--color", "never"][..], &["replay", "--color", "never", "--ladder"][..]] {
        let run = run(tcplab().args(view).arg(&path));
        assert_eq!(run.code(), Some(0), "{}", run.stderr);
        assert_terminal_safe(&run.stdout, &view.join(" "));
        assert!(run.stdout_text().contains(r"evil\e[31m\x07\u{202e}.pcap"), "{}", run.stdout_text());
    }
    // A cut file: the warning on stderr names the path escaped too.
    let cut = dir.path().join(hostile_name("cut"));
    let whole = handshake();
    std::fs::write(&cut, &whole[..whole.len() - 20]).unwrap();
    let run = run(tcplab().args(["replay", "--color", "never"]).arg(&cut));
    assert_eq!(run.code(), Some(3), "{}", run.stderr);
    assert_terminal_safe(run.stderr.as_bytes(), "the cut-short warning");
    assert!(run.stderr.contains(r"cut\e[31m\x07\u{202e}.pcap"), "{}", run.stderr);
}

#[test]
fn errors_about_a_file_name_it_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(hostile_name("missing"));
    let text = dir.path().join(hostile_name("text"));
    std::fs::write(&text, b"not a capture").unwrap();
    let unsupported = dir.path().join(hostile_name("unsupported"));
    let mut bytes = handshake();
    put_u32(&mut bytes, 20, 147); // LINKTYPE_USER0
    std::fs::write(&unsupported, bytes).unwrap();
    for path in [missing, text, unsupported] {
        let run = run(tcplab().args(["replay", "--color", "never"]).arg(&path));
        assert_eq!(run.code(), Some(1), "{}", run.stderr);
        assert_terminal_safe(run.stderr.as_bytes(), &format!("error for {path:?}"));
    }
}

#[test]
fn inspect_errors_escape_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(hostile_name("inspect"));
    std::fs::write(&path, handshake()).unwrap();
    let run = run(tcplab().args(["inspect", "--color", "never", "--frame", "99"]).arg(&path));
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert_terminal_safe(run.stderr.as_bytes(), "inspect --frame 99");
}
