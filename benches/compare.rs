//! `make bench`: tcplab against tcpdump and tshark on the same large captures, in one run.
//!
//! Generates, once (cached under `target/bench/`), a real loopback capture of at least
//! 1,000,000 packets over 100,000 short connections made by real sockets and captured
//! through libpcap with tcplab's own live source, and a SYN flood of 1,000,000 SYNs from
//! random addresses built with etherparse. Then times each tool five times (`BENCH_RUNS`) on
//! the same file, the tools taking turns, printing the minimum and median wall time, the least CPU time (user
//! and system: tcplab's replay works on several threads), the ratios and the peak
//! memory, and checks the goals of the performance issue. Finally it measures a
//! live `tcplab watch` under the fastest traffic the generator makes, and the default
//! view with `-w` beside `tcpdump -w` under short connections at fixed rates, and the
//! served page in Chromium while short connections bring 2,000 segments a second.
//!
//! Nothing here is a test: numbers depend on the machine. They are printed, not asserted.
//!
//! Linux only: it times tcpdump and tshark as Debian ships them and stops the live watch
//! with a signal. The `page-live` phase drives headless Chromium through chromedriver
//! (`make setup` installs both); without them it says so and is skipped. Elsewhere the
//! bench is an empty crate, so `cargo clippy --all-targets` checks every system without
//! it.
#![cfg_attr(not(target_os = "linux"), no_main)]
#![cfg(target_os = "linux")]

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use tcplab::source::live::{Keep, LiveCapture};

const CONNECTIONS: u64 = 110_000;
const MIN_PACKETS: u64 = 1_000_000;
const FLOOD_SYNS: u32 = 1_000_000;
/// Runs of each command (`BENCH_RUNS` changes it). The machine's load changes from
/// second to second; the minimum of more runs is a steadier estimate of each
/// command's own speed, and every command gets the same number.
const RUNS: usize = 5;
const SERVERS: usize = 8;
const CLIENT_THREADS: usize = 4;

fn main() {
    let bin = PathBuf::from(std::env::var("TCPLAB_BIN").unwrap_or_else(|_| "target/release/tcplab".into()));
    assert!(bin.exists(), "build first: {} is missing (make build)", bin.display());
    let dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&dir).expect("create target/bench");
    let machine = machine();
    println!("machine: {machine}");

    // BENCH_PHASES=real,flood,kinds,page,page-live,live (the default) picks what to run.
    let phases =
        std::env::var("BENCH_PHASES").unwrap_or_else(|_| "real,flood,kinds,page,page-live,live".into());
    let real = dir.join("loopback-100k.pcap");
    let flood = dir.join("synflood-1m.pcap");
    let mut files = Vec::new();
    if phases.contains("real") {
        if !real.exists() || packets_in(&real) < MIN_PACKETS {
            generate_real(&real);
        }
        files.push((&real, "real loopback capture"));
    }
    if phases.contains("flood") {
        if !flood.exists() {
            generate_flood(&flood);
        }
        files.push((&flood, "SYN flood"));
    }
    for (file, label) in files {
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        println!(
            "\n== {label}: {} ({} packets, {:.1} MiB)",
            file.display(),
            packets_in(file),
            size as f64 / 1048576.0
        );
        compare(&bin, file, label == "SYN flood");
    }
    if phases.split(',').any(|p| p == "kinds") {
        kinds(&bin, &dir, &real);
    }
    if phases.split(',').any(|p| p == "page") {
        if !real.exists() || packets_in(&real) < MIN_PACKETS {
            generate_real(&real);
        }
        page_file(&bin, &real, &dir);
    }
    if phases.contains("page-live") {
        page_live(&bin);
    }
    if phases.split(',').any(|p| p == "live") {
        live(&bin);
    }
    if phases.split(',').any(|p| p == "live" || p == "live-rate") {
        live_rate(&bin, &dir);
    }
    print_all_goals();
}

/// Captures of other kinds than the loopback file, each against tcpdump on the same
/// file: bulk transfers with full payloads (the timeline's payload preview at work),
/// connections that never close (memory bounded by the table, not by the capture), and
/// the loopback file as pcapng (the pcapng reader against libpcap's). Colour is timed on
/// the bulk file, where every segment line has a payload to paint.
fn kinds(bin: &Path, dir: &Path, real: &Path) {
    let bulk = dir.join("bulk-full-payload.pcap");
    if !bulk.exists() {
        generate_bulk(&bulk);
    }
    let open = dir.join("never-close-400k.pcap");
    if !open.exists() {
        generate_never_closing(&open);
    }
    let pcapng = dir.join("loopback-100k.pcapng");
    if !pcapng.exists() && real.exists() {
        let made = Command::new("editcap").args(["-F", "pcapng"]).arg(real).arg(&pcapng).status();
        if !made.is_ok_and(|s| s.success()) {
            println!("  (editcap, from tshark's package, makes the pcapng copy; skipped)");
        }
    }
    let tcpdump = PathBuf::from("/usr/bin/tcpdump");
    let tool = |name, program: &Path, args: &[&str]| Tool {
        name,
        program: program.to_path_buf(),
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    for (file, label) in
        [(&bulk, "bulk transfers, full payloads"), (&open, "400,000 connections that never close")]
    {
        let f = file.to_str().unwrap();
        println!("\n== {label}: {} ({} packets)", file.display(), packets_in(file));
        let rows = time_in_rounds(&[
            tool("tcplab replay --summary", bin, &["replay", "--summary", "--color", "never", f]),
            tool("tcplab replay (timeline)", bin, &["replay", "--color", "never", f]),
            tool("tcplab replay --color always", bin, &["replay", "--color", "always", f]),
            tool("tcplab replay --format jsonl", bin, &["replay", "--format", "jsonl", f]),
            tool("tcpdump -nn -r", &tcpdump, &["-nn", "-r", f]),
        ]);
        print_rows(&rows);
        let min =
            |name: &str| rows.iter().find(|r| r.name.starts_with(name)).map(Timing::min).unwrap_or(f64::NAN);
        let peak =
            rows.iter().filter(|r| r.name.starts_with("tcplab")).map(|r| r.peak_rss_kib).max().unwrap_or(0);
        let (dump, timeline) = (min("tcpdump"), min("tcplab replay (timeline)"));
        let name = f.rsplit('/').next().unwrap_or(f);
        within(name, "colour within 1.5× of no colour", min("tcplab replay --color") / timeline, 1.5, "×");
        faster(
            name,
            "JSON lines ≥ 3× faster than tcpdump -nn -r",
            dump / min("tcplab replay --format jsonl"),
            3.0,
        );
        within(name, "peak memory ≤ 256 MiB", peak as f64 / 1024.0, 256.0, "MiB");
        if file == &bulk {
            faster(name, "timeline ≥ 2× faster than tcpdump -nn -r", dump / timeline, 2.0);
        } else {
            println!("  tcplab says: {}", closing_line(bin, f));
        }
    }
    if pcapng.exists() && real.exists() {
        println!("\n== the loopback file as pcapng: {}", pcapng.display());
        let (a, b) = (real.to_str().unwrap(), pcapng.to_str().unwrap());
        let rows = time_in_rounds(&[
            tool("tcplab replay (timeline) pcap", bin, &["replay", "--color", "never", a]),
            tool("tcplab replay (timeline) pcapng", bin, &["replay", "--color", "never", b]),
            tool("tcplab replay --summary pcap", bin, &["replay", "--summary", "--color", "never", a]),
            tool("tcplab replay --summary pcapng", bin, &["replay", "--summary", "--color", "never", b]),
        ]);
        print_rows(&rows);
        let min = |i: usize| rows.get(i).map(Timing::min).unwrap_or(f64::NAN);
        let name = "loopback-100k.pcapng";
        within(name, "timeline: pcapng within 1.2× of pcap", min(1) / min(0), 1.2, "×");
        within(name, "--summary: pcapng within 1.2× of pcap", min(3) / min(2), 1.2, "×");
    }
}

fn print_rows(rows: &[Timing]) {
    println!("  {:<34} {:>9} {:>9} {:>9} {:>10}", "command", "min s", "median s", "cpu s", "peak RSS");
    for r in rows {
        println!(
            "  {:<34} {:>9.3} {:>9.3} {:>9.3} {:>6.1} MiB",
            r.name,
            r.min(),
            r.median(),
            r.min_cpu(),
            r.peak_rss_kib as f64 / 1024.0
        );
    }
}

/// Writes `bytes` as one record at `micros` into `file`.
fn record(file: &mut pcap::Savefile, micros: u64, bytes: &[u8]) {
    let header = pcap::PacketHeader {
        ts: libc::timeval {
            tv_sec: 1_700_000_000 + (micros / 1_000_000) as i64,
            tv_usec: (micros % 1_000_000) as i64,
        },
        caplen: bytes.len() as u32,
        len: bytes.len() as u32,
    };
    file.write(&pcap::Packet::new(&header, bytes));
}

/// One segment between 10.0.0.1 (clients) and 10.0.0.2:80, built with etherparse.
fn segment(from_client: bool, port: u16, seq: u32, ack: Option<u32>, syn: bool, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_client {
        ([10, 0, 0, 1], [10, 0, 0, 2], port, 80)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 80, port)
    };
    let mut tcp = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 64240);
    if syn {
        tcp = tcp.syn();
    }
    if let Some(ack) = ack {
        tcp = tcp.ack(ack);
    }
    if !payload.is_empty() {
        tcp = tcp.psh();
    }
    let mut bytes = Vec::with_capacity(64 + payload.len());
    tcp.write(&mut bytes, payload).unwrap();
    bytes
}

/// 20 connections, each a handshake, 2,500 full segments of 1,448 bytes of binary data
/// (every byte value), an ACK for every second one, and the close.
fn generate_bulk(path: &Path) {
    println!("generating {} (etherparse) …", path.display());
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).unwrap();
    let mut file = dead.savefile(path).unwrap();
    let data: Vec<u8> = (0..1448u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut t = 0u64;
    for c in 0..20u16 {
        let port = 40000 + c;
        let (isn, peer) = (1000u32, 5000u32);
        let mut tick = |file: &mut pcap::Savefile, bytes: Vec<u8>| {
            t += 20;
            record(file, t, &bytes);
        };
        tick(&mut file, segment(true, port, isn, None, true, &[]));
        tick(&mut file, segment(false, port, peer, Some(isn + 1), true, &[]));
        tick(&mut file, segment(true, port, isn + 1, Some(peer + 1), false, &[]));
        for n in 0..2500u32 {
            let seq = isn + 1 + n * 1448;
            tick(&mut file, segment(true, port, seq, Some(peer + 1), false, &data));
            if n % 2 == 1 {
                tick(&mut file, segment(false, port, peer + 1, Some(seq + 1448), false, &[]));
            }
        }
    }
    file.flush().unwrap();
}

/// 400,000 connections that open, send one request, get it acknowledged and never
/// close: twice the tracker's table, so that it must retire the least recently active.
fn generate_never_closing(path: &Path) {
    println!("generating {} (etherparse) …", path.display());
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).unwrap();
    let mut file = dead.savefile(path).unwrap();
    for c in 0..400_000u32 {
        // Ports 1024-65535 on 7 client addresses' worth of 4-tuples: vary the ISN too.
        let port = 1024 + (c % 64_000) as u16;
        let isn = 1000 + c * 7919;
        let t = u64::from(c) * 100;
        let request = b"GET / HTTP/1.1\r\n\r\n";
        for (i, bytes) in [
            segment(true, port, isn, None, true, &[]),
            segment(false, port, 5000, Some(isn + 1), true, &[]),
            segment(true, port, isn + 1, Some(5001), false, &[]),
            segment(true, port, isn + 1, Some(5001), false, request),
            segment(false, port, 5001, Some(isn + 1 + request.len() as u32), false, &[]),
        ]
        .into_iter()
        .enumerate()
        {
            record(&mut file, t + i as u64 * 10, &bytes);
        }
    }
    file.flush().unwrap();
}

/// `--html` of the loopback file: how big the one-file page of 100,000 connections is,
/// and what writing it costs, beside `--summary` alone on the same file.
fn page_file(bin: &Path, file: &Path, dir: &Path) {
    let html = dir.join("loopback-100k.html");
    let f = file.to_str().unwrap();
    println!("\n== the page as one file (--html) of {}", file.display());
    let tool = |name, args: &[&str]| Tool {
        name,
        program: bin.to_owned(),
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    let tools = [
        tool("tcplab --summary", &["replay", "--summary", f]),
        tool("tcplab --summary --html", &["replay", "--summary", f, "--html", html.to_str().unwrap()]),
    ];
    for t in &tools {
        if let Some((secs, measured)) = run_once(t) {
            let mib =
                measured.map_or(String::new(), |(_, kib)| format!(", peak {:.1} MiB", kib as f64 / 1024.0));
            println!("  {:<26} {secs:.3} s{mib}", t.name);
        }
    }
    let size = std::fs::metadata(&html).map(|m| m.len()).unwrap_or(0);
    let segments = packets_in(file).max(1);
    println!(
        "  {}: {:.1} MiB for {} packets (the page keeps the first {} connections and says so)",
        html.display(),
        size as f64 / 1048576.0,
        segments,
        tcplab::render::page::HTML_CONNECTIONS
    );
}

/// One command to time: what the table calls it, and how to run it.
struct Tool {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
}

/// One command's timings.
struct Timing {
    name: &'static str,
    secs: Vec<f64>,
    /// User plus system CPU time of each run: above the wall time when a program
    /// works on several cores at once.
    cpu_secs: Vec<f64>,
    peak_rss_kib: u64,
}

impl Timing {
    fn min(&self) -> f64 {
        self.secs.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn min_cpu(&self) -> f64 {
        self.cpu_secs.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn median(&self) -> f64 {
        let mut s = self.secs.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        s[s.len() / 2]
    }
}

/// One run of `tool` with stdout to /dev/null: its wall time, and the CPU time and
/// peak resident memory GNU time reports. (The kernel's ru_maxrss of a child spawned
/// from this process would count this process's own pages, shared until exec;
/// `/usr/bin/time` is small, so its child's figure is the program's own.) `None` when
/// the program cannot be started.
fn run_once(tool: &Tool) -> Option<(f64, Option<(f64, u64)>)> {
    let gnu_time = Path::new("/usr/bin/time");
    let mut command = if gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.args(["-f", "maxrss %M cpu %U %S"]).arg(&tool.program);
        c
    } else {
        Command::new(&tool.program)
    };
    let start = Instant::now();
    let output = match command.args(&tool.args).stdout(Stdio::null()).stderr(Stdio::piped()).output() {
        Ok(output) => output,
        Err(e) => {
            println!("  {}: not run ({}: {e})", tool.name, tool.program.display());
            return None;
        }
    };
    let secs = start.elapsed().as_secs_f64();
    // GNU time's last line: "maxrss KIB cpu USER SYS".
    let err = String::from_utf8_lossy(&output.stderr);
    let report: Vec<&str> =
        err.lines().rev().find(|l| l.starts_with("maxrss ")).unwrap_or("").split_whitespace().collect();
    let measured = match report.as_slice() {
        [_, kib, _, user, sys] => Some((
            user.parse::<f64>().unwrap_or(0.0) + sys.parse::<f64>().unwrap_or(0.0),
            kib.parse().unwrap_or(0),
        )),
        _ => None,
    };
    Some((secs, measured))
}

/// Times every tool `BENCH_RUNS` times, in rounds: each round runs each tool once.
///
/// The machine's load changes from second to second. Five runs of a 0.3 s command
/// back to back all fall within two seconds, often all in one busy spell, while five
/// runs of tshark spread over a minute. Taking turns gives every tool's runs the same
/// spread over the whole measurement, so that each minimum has the same chance of
/// meeting a quiet moment.
fn time_in_rounds(tools: &[Tool]) -> Vec<Timing> {
    let runs = std::env::var("BENCH_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(RUNS).max(1);
    if !Path::new("/usr/bin/time").exists() {
        println!("  (install GNU time, apt-get install time, for memory figures)");
    }
    let mut timings: Vec<Timing> = tools
        .iter()
        .map(|t| Timing { name: t.name, secs: Vec::new(), cpu_secs: Vec::new(), peak_rss_kib: 0 })
        .collect();
    let mut runnable = vec![true; tools.len()];
    for _ in 0..runs {
        for (i, tool) in tools.iter().enumerate() {
            if !runnable[i] {
                continue;
            }
            match run_once(tool) {
                Some((secs, measured)) => {
                    timings[i].secs.push(secs);
                    if let Some((cpu, kib)) = measured {
                        timings[i].cpu_secs.push(cpu);
                        timings[i].peak_rss_kib = timings[i].peak_rss_kib.max(kib);
                    }
                }
                None => runnable[i] = false,
            }
        }
    }
    timings.into_iter().filter(|t| !t.secs.is_empty()).collect()
}

/// The last line `tcplab replay --summary` prints for `file`: its closing words.
fn closing_line(bin: &Path, file: &str) -> String {
    let output = Command::new(bin).args(["replay", "--summary", "--color", "never", file]).output();
    let stdout = output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    // The closing line is wrapped to 80 columns: its last paragraph, joined again.
    let last = stdout.trim_end().rsplit("\n\n").next().unwrap_or_default();
    last.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn compare(bin: &Path, file: &Path, flood: bool) {
    let f = file.to_str().unwrap();
    let which = |tool: &str| -> Option<PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(tool)).find(|p| p.exists())
    };
    let tool = |name, program: &Path, args: &[&str]| Tool {
        name,
        program: program.to_path_buf(),
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    let mut tools = vec![
        tool("tcplab replay --summary", bin, &["replay", "--summary", "--color", "never", f]),
        tool("tcplab replay (timeline)", bin, &["replay", "--color", "never", f]),
        tool("tcplab replay --format jsonl", bin, &["replay", "--format", "jsonl", f]),
    ];
    match which("tcpdump") {
        Some(tcpdump) => tools.push(tool("tcpdump -nn -r", &tcpdump, &["-nn", "-r", f])),
        None => println!("  tcpdump not installed (apt-get install tcpdump)"),
    }
    match which("tshark") {
        Some(tshark) => {
            tools.push(tool("tshark -n -q -z conv,tcp", &tshark, &["-n", "-q", "-r", f, "-z", "conv,tcp"]))
        }
        None => println!("  tshark not installed (apt-get install tshark)"),
    }
    tools.push(tool("cat (the floor)", Path::new("/bin/cat"), &[f]));
    let rows = time_in_rounds(&tools);
    if rows.len() < 2 || !rows[0].name.starts_with("tcplab replay --summary") {
        println!("  tcplab could not be run");
        return;
    }

    let summary = rows[0].min();
    let timeline = rows[1].min();
    println!(
        "  {:<30} {:>9} {:>9} {:>9} {:>14} {:>14} {:>10}",
        "command", "min s", "median s", "cpu s", "÷ --summary", "÷ timeline", "peak RSS"
    );
    for r in &rows {
        println!(
            "  {:<30} {:>9.3} {:>9.3} {:>9.3} {:>13.1}× {:>13.1}× {:>7.1} MiB",
            r.name,
            r.min(),
            r.median(),
            r.min_cpu(),
            r.min() / summary,
            r.min() / timeline,
            r.peak_rss_kib as f64 / 1024.0
        );
    }
    if flood {
        println!("  tcplab says: {}", closing_line(bin, f));
    }
    let find = |name: &str| rows.iter().find(|r| r.name.starts_with(name)).map(Timing::min);
    let tcplab_peak =
        rows.iter().filter(|r| r.name.starts_with("tcplab")).map(|r| r.peak_rss_kib).max().unwrap_or(0);
    let name = f.rsplit('/').next().unwrap_or(f);
    let peak_mib = tcplab_peak as f64 / 1024.0;
    if !flood {
        if let Some(tshark) = find("tshark") {
            faster(name, "--summary ≥ 50× faster than tshark conv,tcp", tshark / summary, 50.0);
        }
        if let Some(tcpdump) = find("tcpdump") {
            faster(name, "--summary ≥ 10× faster than tcpdump -nn -r", tcpdump / summary, 10.0);
            faster(name, "timeline ≥ 5× faster than tcpdump -nn -r", tcpdump / timeline, 5.0);
            if let Some(jsonl) = find("tcplab replay --format jsonl") {
                faster(name, "JSON lines ≥ 3× faster than tcpdump -nn -r", tcpdump / jsonl, 3.0);
            }
        }
        within(name, "peak memory ≤ 64 MiB", peak_mib, 64.0, "MiB");
    } else {
        within(name, "peak memory ≤ 256 MiB on the flood", peak_mib, 256.0, "MiB");
    }
}

/// A goal of the performance issues, checked on this run's numbers.
struct Goal {
    file: String,
    goal: String,
    measured: String,
    met: bool,
}

/// Every goal checked in this run, printed together at the end.
static GOALS: std::sync::Mutex<Vec<Goal>> = std::sync::Mutex::new(Vec::new());

fn record_goal(file: &str, goal: &str, measured: String, met: bool) {
    println!("  goal: {goal:<46} {measured:>10}  {}", if met { "met" } else { "NOT met" });
    let goal = Goal { file: file.into(), goal: goal.into(), measured, met };
    GOALS.lock().unwrap_or_else(|e| e.into_inner()).push(goal);
}

/// A speed ratio that must reach `need`.
fn faster(file: &str, goal: &str, ratio: f64, need: f64) {
    record_goal(file, goal, format!("{ratio:.2}×"), ratio >= need);
}

/// A quantity (memory, a cost ratio) that must stay at or under `limit`.
fn within(file: &str, goal: &str, measured: f64, limit: f64, unit: &str) {
    let text = match unit {
        "×" => format!("{measured:.2}×"),
        "packets" => format!("{measured:.0} {unit}"),
        _ => format!("{measured:.1} {unit}"),
    };
    record_goal(file, goal, text, measured <= limit);
}

/// The table of every goal this run checked.
fn print_all_goals() {
    let goals = GOALS.lock().unwrap_or_else(|e| e.into_inner());
    if goals.is_empty() {
        return;
    }
    println!("\n== goals checked in this run");
    println!("  {:<26} {:<46} {:>12}  met", "file", "goal", "measured");
    for g in goals.iter() {
        println!("  {:<26} {:<46} {:>12}  {}", g.file, g.goal, g.measured, if g.met { "yes" } else { "NO" });
    }
}

/// Real traffic: `SERVERS` listeners, `CLIENT_THREADS` clients; each connection sends a
/// request, reads a reply and the server's FIN, then closes. Captured on lo.
fn generate_real(path: &Path) {
    println!("generating {} (real sockets on loopback, captured with libpcap) …", path.display());
    let listeners: Vec<TcpListener> =
        (0..SERVERS).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let filter = addrs.iter().map(|a| format!("tcp port {}", a.port())).collect::<Vec<_>>().join(" or ");
    let mut capture =
        LiveCapture::open("lo", Some(&filter), Keep::Whole).expect("capture on lo (run as root)");
    capture.save_to(path).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    for listener in listeners {
        thread::spawn(move || serve(listener));
    }
    let made = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|t| {
            let (addrs, made) = (addrs.clone(), Arc::clone(&made));
            thread::spawn(move || {
                let share = CONNECTIONS / CLIENT_THREADS as u64;
                for i in 0..share {
                    let addr = addrs[(i as usize + t) % addrs.len()];
                    if one_connection(addr, i).is_ok() {
                        made.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let watcher = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            for c in clients {
                c.join().unwrap();
            }
            // Let the last segments reach the ring.
            thread::sleep(Duration::from_millis(500));
            done.store(true, Ordering::Release);
        })
    };
    let start = Instant::now();
    capture.run(&done, |_| true).unwrap();
    watcher.join().unwrap();
    let stats = capture.stats();
    println!(
        "  {} connections, {} packets in {:.1} s ({:.0} packets/s), {} dropped by the kernel",
        made.load(Ordering::Relaxed),
        stats.captured,
        start.elapsed().as_secs_f64(),
        stats.captured as f64 / start.elapsed().as_secs_f64(),
        stats.dropped_by_kernel
    );
}

fn serve(listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        let mut stream = stream;
        let mut request = [0u8; 256];
        if stream.read(&mut request).unwrap_or(0) > 0 {
            let _ = stream.write_all(&[b'r'; 300]);
        }
        // The server closes first, as an HTTP/1.0 server does.
        let _ = stream.shutdown(Shutdown::Write);
        let _ = stream.read(&mut request);
    }
}

fn one_connection(addr: SocketAddr, i: u64) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(format!("GET /item/{i} HTTP/1.0\r\nHost: bench\r\n\r\n").as_bytes())?;
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink)? > 0 {}
    Ok(())
}

/// 1,000,000 SYNs from random IPv4 addresses and ports to 10.0.0.1:80, written as pcap
/// (the addresses are only bytes in a file: nothing is sent).
fn generate_flood(path: &Path) {
    println!("generating {} (etherparse) …", path.display());
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).unwrap();
    let mut file = dead.savefile(path).unwrap();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut bytes = Vec::with_capacity(64);
    for i in 0..FLOOD_SYNS {
        let r = next();
        let src = [(r >> 24) as u8 | 1, (r >> 32) as u8, (r >> 40) as u8, (r >> 48) as u8];
        let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, [10, 0, 0, 1], 64)
            .tcp((r & 0xffff) as u16 | 1024, 80, (r >> 16) as u32, 64240)
            .syn();
        bytes.clear();
        builder.write(&mut bytes, &[]).unwrap();
        let header = pcap::PacketHeader {
            ts: libc::timeval {
                tv_sec: 1_700_000_000 + i64::from(i / 1_000_000),
                tv_usec: i64::from(i % 1_000_000),
            },
            caplen: bytes.len() as u32,
            len: bytes.len() as u32,
        };
        file.write(&pcap::Packet::new(&header, &bytes));
    }
    file.flush().unwrap();
}

/// `tcplab watch` on lo under 20,000 generated connections: does it keep up?
fn live(bin: &Path) {
    println!("\n== live: tcplab watch --summary on lo under generated traffic");
    let listeners: Vec<TcpListener> =
        (0..SERVERS).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let filter = addrs.iter().map(|a| format!("port {}", a.port())).collect::<Vec<_>>().join(" or ");
    for listener in listeners {
        thread::spawn(move || serve(listener));
    }
    let mut watch = Command::new(bin)
        .args(["watch", "-i", "lo", "--summary", "-f", &filter])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcplab watch");
    let mut stderr = std::io::BufReader::new(watch.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening on") {
        line.clear();
        if std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() == 0 {
            println!("  watch did not start");
            let _ = watch.kill();
            let _ = watch.wait();
            return;
        }
    }
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|t| {
            let addrs = addrs.clone();
            thread::spawn(move || {
                for i in 0..5_000u64 {
                    let _ = one_connection(addrs[(i as usize + t) % addrs.len()], i);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(watch.id() as libc::pid_t, libc::SIGINT) };
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    watch.wait().unwrap();
    let stats = rest.lines().find(|l| l.contains("packets captured")).unwrap_or("no statistics printed");
    let captured: f64 = stats.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0.0);
    println!("  20000 connections in {secs:.1} s: {:.0} packets/s offered", captured / secs);
    println!("  {}", stats.trim_start_matches("tcplab: "));
}

/// The loads of the live comparison: short connections at a fixed rate, as fast as
/// the generator's four threads make them, and one bulk transfer at a fixed rate or as fast as
/// loopback takes it. Each lasts `LIVE_SECS`.
#[derive(Clone, Copy)]
enum Load {
    Connections(u64),
    ConnectionsAsFast,
    /// MiB a second, written 64 KiB at a time; `None`: as fast as it goes.
    Bulk(Option<u64>),
}

const LIVE_SECS: u64 = 3;

impl Load {
    fn name(self) -> String {
        match self {
            Load::Connections(rate) => format!("{rate} conn/s"),
            Load::ConnectionsAsFast => "conn, max".into(),
            Load::Bulk(Some(mib)) => format!("bulk {mib} MiB/s"),
            Load::Bulk(None) => "bulk, max".into(),
        }
    }

    /// Offers the load to `addr` (a server of [`serve`] or [`sink`]); returns what it did.
    fn offer(self, addr: SocketAddr) -> String {
        let start = Instant::now();
        let end = start + Duration::from_secs(LIVE_SECS);
        match self {
            Load::Connections(rate) => {
                for i in 0..rate * LIVE_SECS {
                    let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
                    thread::sleep(due.saturating_duration_since(Instant::now()));
                    let _ = one_connection(addr, i);
                }
                format!("{} connections", rate * LIVE_SECS)
            }
            Load::ConnectionsAsFast => {
                let made: u64 = (0..CLIENT_THREADS as u64)
                    .map(|t| {
                        thread::spawn(move || {
                            let mut made = 0;
                            while Instant::now() < end {
                                let _ = one_connection(addr, t << 32 | made);
                                made += 1;
                            }
                            made
                        })
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(|h| h.join().unwrap_or(0))
                    .sum();
                format!("{made} connections, {:.0}/s", made as f64 / LIVE_SECS as f64)
            }
            Load::Bulk(rate) => {
                let Ok(mut stream) = TcpStream::connect(addr) else { return "no connection".into() };
                let chunk = vec![0x5a; 64 << 10];
                let mut sent = 0u64;
                while Instant::now() < end {
                    if let Some(mib) = rate {
                        let due = start + Duration::from_secs_f64(sent as f64 / (mib << 20) as f64);
                        thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                    sent += chunk.len() as u64;
                }
                let _ = stream.shutdown(Shutdown::Both);
                format!("{:.0} MiB/s", sent as f64 / (1 << 20) as f64 / LIVE_SECS as f64)
            }
        }
    }
}

/// A server that reads and discards everything (the bulk loads' receiver).
fn sink(listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        thread::spawn(move || {
            let mut stream = stream;
            let mut buf = vec![0u8; 1 << 20];
            while stream.read(&mut buf).is_ok_and(|n| n > 0) {}
        });
    }
}

/// `tcplab watch -w` beside `tcpdump -w` on the same traffic, each load in each view
/// (the default annotated view, JSON lines, the summary), both stopped with SIGINT: the
/// packets each kept, their ratio, what the kernel dropped for tcplab, and how long
/// tcplab took to stop. The files are deleted once counted (bulk ones are large).
fn live_rate(bin: &Path, dir: &Path) {
    println!("\n== live: watch -w beside tcpdump -w, {LIVE_SECS} s of each load, stopped with SIGINT");
    println!(
        "  {:<16} {:<10} {:>9} {:>9} {:>8} {:>8} {:>9}  offered",
        "load", "view", "tcpdump", "tcplab", "ratio", "dropped", "stop (s)"
    );
    let views: [(&str, &[&str]); 3] =
        [("timeline", &[]), ("jsonl", &["--format", "jsonl"]), ("summary", &["--summary"])];
    let loads = [
        Load::Connections(200),
        Load::Connections(2_000),
        Load::ConnectionsAsFast,
        Load::Bulk(Some(100)),
        Load::Bulk(Some(200)),
        Load::Bulk(Some(1_000)),
        Load::Bulk(None),
    ];
    for load in loads {
        for (view, args) in views {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            match load {
                Load::Bulk(_) => thread::spawn(move || sink(listener)),
                _ => thread::spawn(move || serve(listener)),
            };
            let port = addr.port().to_string();
            let theirs = dir.join("live-tcpdump.pcap");
            let ours = dir.join("live-tcplab.pcap");
            let mut tcpdump = Command::new("tcpdump");
            tcpdump.args(["-i", "lo", "-w"]).arg(&theirs).args(["tcp", "port", &port]);
            let mut watch = Command::new(bin);
            watch.args(["watch", "-i", "lo", "--port", &port, "-w"]).arg(&ours).args(args);
            let (Some((mut tcpdump, mut tcpdump_err)), Some((mut watch, mut watch_err))) =
                (started(&mut tcpdump, "listening on"), started(&mut watch, "listening on"))
            else {
                println!("  tcpdump or tcplab did not start");
                return;
            };
            let offered = load.offer(addr);
            thread::sleep(Duration::from_millis(300));
            interrupt(&tcpdump);
            let mut theirs_said = String::new();
            let _ = tcpdump_err.read_to_string(&mut theirs_said);
            let _ = tcpdump.wait();
            // tcpdump's own count: "N packets dropped by kernel".
            let theirs_dropped = theirs_said
                .lines()
                .find_map(|l| l.strip_suffix(" packets dropped by kernel"))
                .and_then(|n| n.trim().parse::<u64>().ok());
            let asked = Instant::now();
            interrupt(&watch);
            let mut rest = String::new();
            let _ = watch_err.read_to_string(&mut rest);
            let _ = watch.wait();
            let stop = asked.elapsed().as_secs_f64();
            let (kept_theirs, kept_ours) = (packets_in(&theirs), packets_in(&ours));
            // libpcap's count from tcplab's closing statistics: "…, N dropped by kernel, …".
            let dropped = rest
                .lines()
                .filter(|l| l.contains("packets captured"))
                .flat_map(|l| l.split(", "))
                .find_map(|part| part.strip_suffix(" dropped by kernel").map(str::to_string))
                .unwrap_or_else(|| "?".into());
            println!(
                "  {:<16} {view:<10} {kept_theirs:>9} {kept_ours:>9} {:>7.3}× {dropped:>8} {stop:>9.2}  {offered}{}",
                load.name(),
                kept_ours as f64 / kept_theirs.max(1) as f64,
                match theirs_dropped {
                    Some(n) if n > 0 => format!(" (tcpdump: {n} dropped by kernel)"),
                    _ => String::new(),
                }
            );
            let row = format!("live {}, {view}", load.name());
            if theirs_dropped == Some(0) {
                let lost = dropped.parse::<f64>().unwrap_or(f64::NAN);
                within(&row, "0 dropped where tcpdump drops none", lost, 0.0, "packets");
            }
            within(&row, "stops within 1 s of SIGINT", stop, 1.0, "s");
            let _ = std::fs::remove_file(&theirs);
            let _ = std::fs::remove_file(&ours);
        }
    }
}

/// Starts `command` with stdout discarded and waits for `ready` on its stderr; the
/// rest of stderr is left to read.
fn started(
    command: &mut Command,
    ready: &str,
) -> Option<(std::process::Child, std::io::BufReader<std::process::ChildStderr>)> {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().ok()?;
    let mut stderr = std::io::BufReader::new(child.stderr.take()?);
    let mut line = String::new();
    while !line.contains(ready) {
        line.clear();
        if std::io::BufRead::read_line(&mut stderr, &mut line).ok()? == 0 {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
    }
    Some((child, stderr))
}

fn interrupt(child: &std::process::Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
}

fn packets_in(path: &Path) -> u64 {
    let Ok(mut cap) = pcap::Capture::from_file(path) else { return 0 };
    let mut n = 0;
    while cap.next_packet().is_ok() {
        n += 1;
    }
    n
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}", kernel.trim())
}

/// Connections a second the `page-live` phase offers (`BENCH_PAGE_RATE` changes it),
/// each with `PAGE_EXCHANGES` requests and replies: about 2,000 segments a second.
const PAGE_RATE: u64 = 170;
const PAGE_EXCHANGES: usize = 2;
const PAGE_SECS: u64 = 10;

/// The served page (`watch --summary --serve`) in headless Chromium while short
/// connections arrive at about 2,000 segments a second: the lines the server published
/// beside those the page ingested, the page's main-thread delays during the load, how
/// long a step (→) takes after it, and tcplab's CPU time and peak memory.
fn page_live(bin: &Path) {
    let rate = std::env::var("BENCH_PAGE_RATE").ok().and_then(|n| n.parse().ok()).unwrap_or(PAGE_RATE);
    println!(
        "\n== page-live: watch --summary --serve, the page in headless Chromium, {rate} connections/s for {PAGE_SECS} s"
    );
    let Some(browser) = Browser::start() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || exchange_server(stream));
        }
    });
    let page_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut watch = Command::new(bin);
    watch
        .args(["watch", "--port", &addr.port().to_string(), "--summary"])
        .arg(format!("--serve=127.0.0.1:{page_port}"))
        .env("LC_ALL", "C");
    let Some((mut watch, watch_err)) = started(&mut watch, "listening on") else {
        println!("  tcplab watch --serve did not start");
        return;
    };
    // The rest of stderr, read as it comes so tcplab never blocks on it.
    let rest = thread::spawn(move || {
        let mut watch_err = watch_err;
        let mut rest = String::new();
        let _ = watch_err.read_to_string(&mut rest);
        rest
    });
    let page_server = children(watch.id());
    // The lines the server publishes, counted as a second reader of the event stream.
    let published = Arc::new(AtomicU64::new(0));
    let segments = Arc::new(AtomicU64::new(0));
    {
        let (published, segments) = (Arc::clone(&published), Arc::clone(&segments));
        thread::spawn(move || count_stream(page_port, &published, &segments));
    }
    let url = format!("http://127.0.0.1:{page_port}/");
    if !browser.open(&url) {
        println!("  the page did not open");
        interrupt(&watch);
        let _ = watch.wait();
        return;
    }
    // The page's main thread with nothing arriving (what this machine's load alone
    // costs), then under the load.
    browser.js(LAG);
    thread::sleep(Duration::from_secs(3));
    let idle = Lag::take(&browser);
    browser.js(LAG);
    let start = Instant::now();
    let total = rate * PAGE_SECS;
    let made = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENT_THREADS as u64)
        .map(|t| {
            let made = Arc::clone(&made);
            thread::spawn(move || {
                let mut i = t;
                while i < total {
                    let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
                    thread::sleep(due.saturating_duration_since(Instant::now()));
                    if exchanges(addr).is_ok() {
                        made.fetch_add(1, Ordering::Relaxed);
                    }
                    i += CLIENT_THREADS as u64;
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let load_secs = start.elapsed().as_secs_f64();
    let at_end = (
        published.load(Ordering::Relaxed),
        browser.js("return Number(document.body.dataset.events || 0);").as_u64().unwrap_or(0),
    );
    let busy = Lag::take(&browser);
    // When did the page have every line published? Settled once the stream has been
    // quiet for a second (the capture has nothing more) and the page has them all.
    let mut quiet = (published.load(Ordering::Relaxed), Instant::now());
    let mut level: Option<f64> = None;
    let caught_up = loop {
        let now = published.load(Ordering::Relaxed);
        if now != quiet.0 {
            quiet = (now, Instant::now());
        }
        let ingested = browser.js("return Number(document.body.dataset.events || 0);").as_u64().unwrap_or(0);
        if ingested < now {
            level = None;
        } else if level.is_none() {
            level = Some(start.elapsed().as_secs_f64() - load_secs);
        }
        if let Some(secs) = level.filter(|_| quiet.1.elapsed() > Duration::from_secs(1)) {
            break Some((now, secs));
        }
        if start.elapsed().as_secs_f64() - load_secs > 30.0 {
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let ingested = browser.js("return Number(document.body.dataset.events || 0);").as_u64().unwrap_or(0);
    // The same once everything is in: the page playing the connection it shows.
    browser.js(LAG);
    thread::sleep(Duration::from_secs(3));
    let after = Lag::take(&browser);
    let options = browser.js("return document.querySelectorAll('#conn option:not(:disabled)').length;");
    let unlisted = browser
        .js("const e = document.querySelector('#conn option.earlier'); return e ? e.textContent : '';");
    let step_ms = browser.step_ms();
    let cpu = page_server.iter().map(|&p| (p, cpu_and_peak(p))).collect::<Vec<_>>();
    let own = cpu_and_peak(watch.id());
    interrupt(&watch);
    let _ = watch.wait();
    let rest = rest.join().unwrap_or_default();
    let stats = rest.lines().find(|l| l.contains("packets captured")).unwrap_or("no statistics printed");

    let segs = segments.load(Ordering::Relaxed);
    println!(
        "  offered: {} connections in {load_secs:.1} s, {segs} segments published ({:.0}/s); tcplab: {}",
        made.load(Ordering::Relaxed),
        segs as f64 / load_secs,
        stats.trim_start_matches("tcplab: ")
    );
    println!("  {:<44} {} / {}", "lines published / ingested, load's end", at_end.0, at_end.1);
    match caught_up {
        Some((lines, secs)) => println!(
            "  {:<44} {lines} / {ingested}, {secs:.1} s after the load's end",
            "lines published / ingested, caught up"
        ),
        None => println!("  {:<44} ? / {ingested}, NOT within 30 s", "lines published / ingested, caught up"),
    }
    println!(
        "  {:<44} {options} {}",
        "connections in the picker (<option>s)",
        unlisted.as_str().unwrap_or("")
    );
    println!(
        "  {:<44} {:>24} {:>24} {:>24}",
        "the page's main thread", "before, nothing drawn", "under the load", "after, playing"
    );
    let row = |what: &str, f: &dyn Fn(&Lag) -> String| {
        println!("  {what:<44} {:>24} {:>24} {:>24}", f(&idle), f(&busy), f(&after))
    };
    row("10 ms timer late by (p99 / worst)", &|l| {
        format!("{:.0} / {:.0} ms ({} fired)", p99(&l.timer), worst(&l.timer), l.timer.len())
    });
    row("gap between animation frames (p99 / worst)", &|l| {
        format!("{:.0} / {:.0} ms ({} frames)", p99(&l.frame), worst(&l.frame), l.frame.len())
    });
    row("long tasks > 50 ms (count, total, longest)", &|l| {
        format!("{}, {:.0} ms, {:.0} ms", l.long.len(), l.long.iter().sum::<f64>() + 0.0, worst(&l.long))
    });
    println!(
        "  {:<44} {}",
        "→ pressed to the arrow drawn, after the load",
        step_ms.map_or("no change seen".to_string(), |ms| format!("{ms:.0} ms"))
    );
    for (name, figures) in std::iter::once(("tcplab (capture)".to_string(), own))
        .chain(cpu.into_iter().map(|(p, f)| (format!("tcplab (page server, pid {p})"), f)))
    {
        if let Some((secs, kib)) = figures {
            println!("  {:<44} cpu {secs:.2} s, peak {:.1} MiB", name, kib as f64 / 1024.0);
        }
    }
}

/// What `page_live` measures in the page's main thread: it starts measuring anew.
const LAG: &str = "if (window.__lag) window.__lag.stop = true;
    const M = window.__lag = { timer: [], frame: [], long: [], stop: false };
    try { new PerformanceObserver((list) => { for (const e of list.getEntries()) if (!M.stop) M.long.push(e.duration); })
      .observe({ entryTypes: ['longtask'] }); } catch (e) { M.long = null; }
    let due = performance.now() + 10;
    const tick = () => { const now = performance.now(); M.timer.push(Math.max(0, now - due));
      due = now + 10; if (!M.stop) setTimeout(tick, 10); };
    setTimeout(tick, 10);
    let last = null;
    const frame = (now) => { if (last !== null) M.frame.push(now - last); last = now;
      if (!M.stop) requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
    return true;";

/// The page's main-thread delays over a spell, in milliseconds, each list sorted: how
/// late a 10 ms timer fired, the gaps between animation frames, and the long tasks
/// (over 50 ms) Chromium reported.
struct Lag {
    timer: Vec<f64>,
    frame: Vec<f64>,
    long: Vec<f64>,
}

impl Lag {
    /// Stops the measuring `LAG` started and gives what it found.
    fn take(browser: &Browser) -> Lag {
        let v = browser.js("const L = window.__lag; L.stop = true; return L;");
        let sorted = |v: &Value| -> Vec<f64> {
            let mut v: Vec<f64> =
                v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
            v.sort_by(f64::total_cmp);
            v
        };
        Lag { timer: sorted(&v["timer"]), frame: sorted(&v["frame"]), long: sorted(&v["long"]) }
    }
}

fn p99(v: &[f64]) -> f64 {
    v.get((v.len() * 99 / 100).min(v.len().saturating_sub(1))).copied().unwrap_or(0.0)
}

fn worst(v: &[f64]) -> f64 {
    v.last().copied().unwrap_or(0.0)
}

/// Serves one bench connection: a reply of 300 bytes to each request, until the
/// client closes.
fn exchange_server(mut stream: TcpStream) {
    let mut request = [0u8; 256];
    while let Ok(n) = stream.read(&mut request) {
        if n == 0 || stream.write_all(&[b'r'; 300]).is_err() {
            break;
        }
    }
}

/// One short connection with `PAGE_EXCHANGES` requests, each waiting for its reply.
fn exchanges(addr: SocketAddr) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    let mut reply = [0u8; 300];
    for i in 0..PAGE_EXCHANGES {
        stream.write_all(format!("GET /part/{i} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes())?;
        stream.read_exact(&mut reply)?;
    }
    Ok(())
}

/// Reads the page's event stream as a second page would, counting its lines and the
/// segment lines among them, until the server ends.
fn count_stream(port: u16, lines: &AtomicU64, segments: &AtomicU64) {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else { return };
    if write!(&stream, "GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n").is_err() {
        return;
    }
    for line in std::io::BufRead::lines(std::io::BufReader::new(stream)).map_while(Result::ok) {
        if let Some(data) = line.strip_prefix("data: ") {
            lines.fetch_add(1, Ordering::Relaxed);
            if data.contains("\"type\":\"segment\"") {
                segments.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The processes whose parent is `pid` (tcplab's page server).
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        if status.lines().any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == pid.to_string())) {
            found.push(child);
        }
    }
    found
}

/// A running process's CPU time so far (user and system, s) and peak resident memory
/// (KiB), from /proc.
fn cpu_and_peak(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = (fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / ticks;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((cpu, kib))
}

/// A child process killed when the bench is done with it.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Headless Chromium through chromedriver's WebDriver HTTP API, as tests/page.rs
/// drives it.
struct Browser {
    base: String,
    _driver: Running,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None`, saying why, when chromedriver is missing or no session starts.
    fn start() -> Option<Browser> {
        if !Command::new("chromedriver").arg("--version").output().is_ok_and(|o| o.status.success()) {
            println!(
                "  not run: chromedriver is missing (make setup: apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let driver = Running(driver);
        let base = format!("http://127.0.0.1:{port}");
        let ready = Instant::now();
        let up = || -> Option<bool> {
            let status: Value = ureq::get(&format!("{base}/status")).call().ok()?.into_json().ok()?;
            status["value"]["ready"].as_bool()
        };
        while up() != Some(true) {
            if ready.elapsed() > Duration::from_secs(20) {
                println!("  not run: chromedriver did not start");
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().ok()?;
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1400,1000",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let session: Value = match ureq::post(&format!("{base}/session")).send_json(caps) {
            Ok(r) => r.into_json().ok()?,
            Err(e) => {
                println!("  not run: no browser session ({e})");
                return None;
            }
        };
        let id = session["value"]["sessionId"].as_str()?.to_string();
        Some(Browser { base: format!("{base}/session/{id}"), _driver: driver, _profile: profile })
    }

    fn post(&self, path: &str, body: Value) -> Option<Value> {
        let r = ureq::post(&format!("{}{path}", self.base)).send_json(body).ok()?;
        Some(r.into_json::<Value>().ok()?["value"].take())
    }

    /// Navigates to `url` and waits until the page says it is ready.
    fn open(&self, url: &str) -> bool {
        self.post("/url", json!({ "url": url }));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if self.js("return document.body && document.body.dataset.ready === 'yes'") == json!(true) {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Runs `script` in the page and gives its return value (null when it fails).
    fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] })).unwrap_or(Value::Null)
    }

    /// Presses a key as a user does (WebDriver's key codes).
    fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.post("/actions", actions);
    }

    /// Pauses on the connection shown, goes back to its start (Home), then times one
    /// → from the key press to one more arrow in the figure, in milliseconds.
    fn step_ms(&self) -> Option<f64> {
        self.js("document.getElementById('follow').checked = false; return true;");
        if self.js("return document.getElementById('play').textContent.includes('pause');") == json!(true) {
            self.press("\u{E00D}");
        }
        self.press("\u{E011}");
        let arrows = "return document.querySelectorAll('#ladder g.arrow').length;";
        let before = self.js(arrows);
        let start = Instant::now();
        self.press("\u{E014}");
        while start.elapsed() < Duration::from_secs(10) {
            if self.js(arrows) != before {
                return Some(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
        None
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.base).call();
    }
}
