//! The command line (clap derive), validated into the settings each command runs with.

use crate::chat::Endpoint;
use crate::i18n::{Lang, TimeWaitRule};
use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate, PathCompleter};
use std::ffi::{OsStr, OsString};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "tcplab",
    version,
    about = "See TCP at work: an annotated timeline of the three-way handshake, data and the four-way wave",
    long_about = None,
    after_help = EXIT_CODES,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay saved captures (.pcap, .pcapng) as an annotated timeline
    #[command(override_usage = "tcplab replay [OPTIONS] <FILE>... [EXPRESSION]\n       \
        tcplab replay [OPTIONS] -r <FILE> [EXPRESSION]")]
    #[command(after_help = "Examples:\n  tcplab replay captures/handshake.pcap\n  \
        tcplab replay --lang zh captures/server-closes.pcap\n  \
        tcplab replay --format jsonl --port 8080 trace.pcapng | jq .\n  \
        tcplab replay --summary big.pcap 'host 127.0.0.1'\n  \
        tcpdump -i lo -w - port 8080 | tcplab replay -")]
    Replay(ReplayArgs),

    /// Capture live traffic and annotate it as it happens (needs capture rights)
    #[command(after_help = "Examples:\n  sudo tcplab watch --port 8080\n  \
        sudo tcplab watch -i lo --port 8080 -w chat.pcap\n  \
        sudo tcplab watch -i lo -c 20 tcp port 8080\n  \
        sudo tcplab watch --port 8080 --until-closed\n  \
        sudo tcplab watch --port 8080 --summary-every 10s --explain all\n  \
        sudo tcplab watch -i any -f 'host 127.0.0.1' --format jsonl")]
    Watch(WatchArgs),

    /// Run the lesson's chat server (a plain std::net TCP server): print what every client says
    #[command(
        after_help = "Examples:\n  tcplab server\n  tcplab server --bind 127.0.0.1:9000 --reply --close-delay 500ms"
    )]
    Server(ServerArgs),

    /// Run the lesson's chat client: type lines, `exit` quits
    #[command(after_help = "Examples:\n  tcplab client\n  tcplab client --send hello --send bye\n  \
        tcplab client --send hello --abort")]
    Client(ClientArgs),

    /// Everything at once, no set-up: server, client and live capture on loopback (or on a LAN of its own with --lan)
    #[command(
        after_help = "Examples:\n  tcplab demo\n  tcplab demo --lang zh\n  tcplab demo --close-delay 0\n  \
        sudo tcplab demo --lan --clients 3"
    )]
    Demo(DemoArgs),

    /// Play one real TCP scenario on loopback and tell its story
    #[command(after_help = "The lan scenario builds a classroom LAN of network namespaces: the \
        server's host (10.77.0.1, the chat server on 0.0.0.0) and one host per student \
        (10.77.0.11, .12, …, each with an eth0 of its own), joined by veth pairs and a bridge \
        like machines on one switch: Ethernet frames with real MAC addresses, ARP, a subnet of \
        its own. The students chat in turn; the capture runs on the server's interface \
        (tcplab-lan). As root, or without root where unprivileged user namespaces are \
        allowed. Everything is gone when tcplab exits.\n\n\
        Examples:\n  tcplab lab --list\n  tcplab lab refused\n  \
        tcplab lab server-closes --write server-closes.pcap\n  \
        sudo tcplab lab lan --clients 5 --summary")]
    Lab(LabArgs),

    /// Show one segment's TCP header field by field (the textbook figure of the TCP header)
    #[command(
        after_help = "Examples:\n  tcplab inspect captures/handshake.pcap            # the first SYN\n  \
        tcplab inspect captures/handshake.pcap --frame 2\n  tcplab inspect --lang zh captures/refused.pcap --frame 2"
    )]
    Inspect(InspectArgs),

    /// List the capture devices with their addresses and flags
    #[command(
        after_help = "Examples:\n  tcplab interfaces\n  sudo tcplab watch -i \"$(tcplab interfaces | awk '/loopback/ {print $1}')\""
    )]
    Interfaces,

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = "Examples:\n  tcplab completions bash > /etc/bash_completion.d/tcplab\n  \
        tcplab completions zsh > \"${fpath[1]}/_tcplab\"\n  tcplab completions fish > ~/.config/fish/completions/tcplab.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Write the manual pages (tcplab.1 and one per subcommand)
    #[command(after_help = "Examples:\n  tcplab man --out-dir target/man && man -l target/man/tcplab.1\n  \
        sudo tcplab man --out-dir /usr/local/share/man/man1")]
    Man {
        /// Directory to write the pages to; without it, tcplab.1 goes to stdout
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

impl Command {
    /// Checks what clap cannot and settles what follows from the words given: the
    /// files and the filter expression of `replay`, the expression of `watch`.
    /// The message says what was wrong and what to do instead.
    pub fn resolve(&mut self) -> Result<(), String> {
        let lang = self.lang();
        if let Some(view) = self.view() {
            view.check(lang)?;
        }
        match self {
            Command::Replay(args) => {
                if args.view.format == Format::Jsonl && (args.step || args.quiz) {
                    return Err(say(
                        lang,
                        "--step and --quiz pace the text views; leave them out with --format jsonl",
                        "--step 和 --quiz 控制的是文本视图的节奏；使用 --format jsonl 时请去掉它们",
                    ));
                }
                let (files, expression) = if args.read.is_empty() {
                    split_files_and_expression(&args.words)?
                } else {
                    // tcpdump's way: with -r, every other word is the expression.
                    (args.read.clone(), words_to_expression(&args.words)?)
                };
                if files.is_empty() {
                    return Err(say(
                        lang,
                        "no capture file given: name one (tcplab replay FILE), or read one with -r FILE",
                        "没有给出抓包文件：请指定一个（tcplab replay 文件），或用 -r 文件 读取",
                    ));
                }
                args.files = files;
                args.filter.add_expression(expression);
            }
            Command::Watch(args) => {
                if args.summary_every.is_some() && args.view.format == Format::Jsonl {
                    return Err("--summary-every prints a table for people; with --format jsonl each \
                                connection's \"connection\" line says the same (leave one out)"
                        .into());
                }
                // A live capture may gain a connection at any moment: its lines carry
                // their connection's tag from the first.
                args.view.tag_from_start = true;
                let words: Vec<OsString> = args.expression.iter().map(OsString::from).collect();
                args.filter.add_expression(words_to_expression(&words)?);
            }
            Command::Lab(args)
                if args.clients.is_some() && args.scenario != Some(crate::lab::Scenario::Lan) =>
            {
                return Err("--clients seats students on the LAN: it goes with `tcplab lab lan`".into());
            }
            _ => {}
        }
        Ok(())
    }
}

/// A message of the command line's own in the user's language.
fn say(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_owned(),
        Lang::Zh => zh.to_owned(),
    }
}

impl Command {
    /// The language messages are given in: `--lang`, else the environment's.
    pub fn lang(&self) -> Lang {
        let given = match self {
            Command::Inspect(a) => a.lang,
            _ => self.view().and_then(|v| v.lang),
        };
        given.unwrap_or_else(Lang::from_env)
    }

    /// The view options of a command that shows captured traffic.
    fn view(&self) -> Option<&ViewArgs> {
        match self {
            Command::Replay(a) => Some(&a.view),
            Command::Watch(a) => Some(&a.view),
            Command::Demo(a) => Some(&a.view),
            Command::Lab(a) => Some(&a.view),
            _ => None,
        }
    }
}

impl ViewArgs {
    /// Views that cannot be shown together are refused, not quietly dropped.
    fn check(&self, lang: Lang) -> Result<(), String> {
        if self.ladder && self.format == Format::Jsonl {
            return Err(say(
                lang,
                "--ladder draws text; with --format jsonl the JSON lines carry the same events (leave one out)",
                "--ladder 画的是文本；使用 --format jsonl 时 JSON 行已包含同样的事件（二者去掉一个）",
            ));
        }
        if self.ladder && self.summary {
            return Err(say(
                lang,
                "--ladder and --summary are two different views: pick one",
                "--ladder 和 --summary 是两种不同的视图：请选一个",
            ));
        }
        if let Some(explain) = self.explain {
            let without = if self.format == Format::Jsonl {
                Some("--format jsonl")
            } else if self.summary {
                Some("--summary")
            } else if self.ladder {
                Some("--ladder")
            } else {
                None
            };
            if let Some(view) = without {
                let name = explain.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default();
                return Err(format!(
                    "--explain {name} chooses the timeline's explanations; {view} shows none (leave one out)"
                ));
            }
        }
        Ok(())
    }
}

/// Whether a word on `replay`'s command line names a capture file rather than starting
/// the filter expression: `-`, anything that exists, or anything shaped like a path to
/// a capture (so that a missing file is reported as missing, not as a bad filter).
fn names_a_file(word: &OsStr) -> bool {
    let path = Path::new(word);
    word == "-"
        || path.exists()
        || word.as_encoded_bytes().contains(&b'/')
        || path.extension().is_some_and(|e| CAPTURE_EXTENSIONS.iter().any(|c| e.eq_ignore_ascii_case(c)))
}

/// What saved captures are usually called.
const CAPTURE_EXTENSIONS: [&str; 5] = ["pcap", "pcapng", "cap", "dmp", "gz"];

/// The leading words that name files, and the expression the rest make (as tcpdump
/// reads `tcpdump -r FILE tcp port 80`, `replay FILE tcp port 80`).
fn split_files_and_expression(words: &[OsString]) -> Result<(Vec<PathBuf>, Option<String>), String> {
    let first_word = words.iter().position(|w| !names_a_file(w)).unwrap_or(words.len());
    let files = words[..first_word].iter().map(PathBuf::from).collect();
    Ok((files, words_to_expression(&words[first_word..])?))
}

/// Words joined into one filter expression, or none when there are no words.
fn words_to_expression(words: &[OsString]) -> Result<Option<String>, String> {
    if words.is_empty() {
        return Ok(None);
    }
    let words: Option<Vec<&str>> = words.iter().map(|w| w.to_str()).collect();
    let words = words.ok_or("the filter expression is not valid UTF-8")?;
    Ok(Some(words.join(" ")))
}

/// Writes the script that teaches `shell` to complete tcplab. The script asks tcplab
/// itself at each Tab, so that `-i` offers the devices there are at that moment and
/// file arguments offer capture files.
pub fn write_completion_script(
    shell: clap_complete::Shell,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let name = shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| std::io::Error::other(format!("no completion script for {name}")))?;
    completer.write_registration("COMPLETE", "tcplab", "tcplab", "tcplab", out)
}

/// Completes `-i` with the capture devices there are now.
fn interface_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    crate::source::live::devices()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.name.starts_with(prefix.as_ref()))
        .map(|d| CompletionCandidate::new(d.name).help(d.desc.map(Into::into)))
        .collect()
}

/// Completes capture files (and the folders on the way to them).
fn capture_files() -> ArgValueCompleter {
    let is_capture = |path: &Path| {
        path.is_file()
            && path.extension().is_some_and(|e| CAPTURE_EXTENSIONS.iter().any(|c| e.eq_ignore_ascii_case(c)))
    };
    ArgValueCompleter::new(PathCompleter::any().filter(is_capture))
}

/// Exit codes, the same for every subcommand; shown by --help and in the man page.
pub const EXIT_CODES: &str = "Exit codes:\n  \
    0  done\n  \
    1  could not run: unreadable or unsupported file, bad filter, no capture permission, …\n     \
    (one line on stderr says what to do)\n  \
    2  bad command line\n  \
    3  a capture was cut short or damaged: every complete frame before the fault was reported";

/// `tcplab 0.1.0 (libpcap version 1.10.3 …)`: the libpcap in use matters for capture.
pub fn version_text() -> String {
    format!("{} ({})", env!("CARGO_PKG_VERSION"), crate::source::live::libpcap_version())
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Capture file to read
    #[arg(value_name = "FILE", value_hint = ValueHint::FilePath, add = capture_files())]
    pub file: PathBuf,
    /// Frame number to show [default: the first SYN]
    #[arg(long, value_name = "N")]
    pub frame: Option<u64>,
    /// Language [default: from LC_ALL/LANG]
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
    /// When to colour the output
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Capture device [default: where --port's traffic flows: lo when the port is served on
    /// loopback only, else every interface (any)]
    #[arg(short = 'i', long = "interface", value_name = "IFACE", add = ArgValueCompleter::new(interface_names))]
    pub interface: Option<String>,
    /// Also save every captured packet to this pcap file
    #[arg(short = 'w', long = "write", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub write: Option<PathBuf>,
    /// Stop after N packets
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop when the first connection seen has closed (both ends CLOSED or in TIME-WAIT)
    #[arg(long)]
    pub until_closed: bool,
    /// Also show the kernel's own TCP state changes beside tcplab's (Linux: tracefs as root)
    #[arg(long)]
    pub kernel: bool,
    /// Every DURATION (e.g. 10s), print the table of the connections so far: each
    /// client, both ends' states, bytes each way and Zeek's conn_state (Enter prints it
    /// at once too)
    #[arg(long, value_parser = parse_interval, value_name = "DURATION")]
    pub summary_every: Option<std::time::Duration>,
    /// A BPF filter expression after the options, as tcpdump takes it (e.g. tcp port 8080)
    #[arg(value_name = "EXPRESSION", trailing_var_arg = true, allow_hyphen_values = true)]
    pub expression: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on: HOST:PORT, a name or an address (0.0.0.0:8080 takes
    /// clients from the whole LAN)
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: Endpoint,
    /// Send every message back, so data flows both ways
    #[arg(long)]
    pub reply: bool,
    /// After a client's FIN, wait this long before closing (e.g. 500ms, 2s): the wave
    /// then shows four separate segments and a lasting CLOSE-WAIT
    #[arg(long, default_value = "0ms", value_parser = parse_duration, value_name = "DURATION")]
    pub close_delay: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server to connect to: HOST:PORT, a name or an address
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub connect: Endpoint,
    /// Send this message as one line and carry on (repeatable); without it, type lines
    #[arg(long = "send", value_name = "MSG")]
    pub send: Vec<OsString>,
    /// Close with RST (SO_LINGER 0) instead of FIN
    #[arg(long)]
    pub abort: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long the server stays in CLOSE-WAIT before its FIN (0 merges ACK and FIN)
    #[arg(long, default_value = "50ms", value_parser = parse_duration, value_name = "DURATION")]
    pub close_delay: std::time::Duration,
    /// Play on a LAN of its own instead of loopback: the server and each student in a
    /// network namespace, joined by veth pairs and a bridge (as `tcplab lab lan`)
    #[arg(long)]
    pub lan: bool,
    /// How many students chat on the LAN (1–50) [default: 3]
    #[arg(long, value_name = "N", requires = "lan", value_parser = clap::value_parser!(u16).range(1..=50))]
    pub clients: Option<u16>,
    /// Also show the kernel's own TCP state changes beside tcplab's (Linux: tracefs as root)
    #[arg(long)]
    pub kernel: bool,
    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
pub struct LabArgs {
    /// The scenario to play
    #[arg(value_enum, required_unless_present = "list")]
    pub scenario: Option<crate::lab::Scenario>,
    /// List the scenarios
    #[arg(long)]
    pub list: bool,
    /// Save the capture to this pcap file
    #[arg(short = 'w', long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub write: Option<PathBuf>,
    /// How long the passive closer waits before its FIN
    #[arg(long, default_value = "50ms", value_parser = parse_duration, value_name = "DURATION")]
    pub close_delay: std::time::Duration,
    /// lan: how many students chat with the server, each from a network namespace of
    /// its own (1–50) [default: 3]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=50))]
    pub clients: Option<u16>,
    /// Also show the kernel's own TCP state changes beside tcplab's (Linux: tracefs as root)
    #[arg(long)]
    pub kernel: bool,
    #[command(flatten)]
    pub view: ViewArgs,
}

/// How many students the LAN seats when `--clients` does not say.
pub const DEFAULT_CLIENTS: u16 = 3;

/// A host of `--host`: the word given and the address it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub given: String,
    pub ip: IpAddr,
}

impl Host {
    /// `localhost is 127.0.0.1`, when a name was given; nothing for an address.
    pub fn resolved_note(&self) -> Option<String> {
        (self.given.parse::<IpAddr>().is_err()).then(|| format!("--host {} is {}", self.given, self.ip))
    }
}

/// An address, or a name resolved now (its IPv4 address first, as `host NAME` in a
/// BPF filter would pick): the filter compares addresses, once.
fn parse_host(s: &str) -> Result<Host, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Host { given: s.to_owned(), ip });
    }
    use std::net::ToSocketAddrs;
    let addrs: Vec<IpAddr> = (s, 0)
        .to_socket_addrs()
        .map_err(|e| format!("'{s}' is neither an address nor a name that resolves: {e}"))?
        .map(|a| a.ip())
        .collect();
    let ip = addrs
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("'{s}' resolves to no address"))?;
    Ok(Host { given: s.to_owned(), ip })
}

/// The frames `--frames` shows, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRange {
    pub first: u64,
    pub last: u64,
}

impl FrameRange {
    pub fn contains(self, frame: u64) -> bool {
        (self.first..=self.last).contains(&frame)
    }
}

/// `A-B`, `A-` (to the end), `-B` (from the start) or `N` (one frame).
fn parse_frames(s: &str) -> Result<FrameRange, String> {
    let bad = || format!("'{s}' is not a frame range like 1-3, 5-, -10 or 7 (frames count from 1)");
    let number = |t: &str, empty: u64| -> Result<u64, String> {
        match t.trim() {
            "" => Ok(empty),
            t => t.parse::<u64>().ok().filter(|&n| n >= 1).ok_or_else(bad),
        }
    };
    let (first, last) = match s.split_once('-') {
        Some((a, b)) => (number(a, 1)?, number(b, u64::MAX)?),
        None => {
            let n = number(s, 0)?;
            (n, n)
        }
    };
    if first == 0 || first > last {
        return Err(bad());
    }
    Ok(FrameRange { first, last })
}

/// The shape `--aspect` gives the SVG: width to height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aspect {
    pub width: f64,
    pub height: f64,
}

/// `16:9`, `4:3`, `1.6:1`.
fn parse_aspect(s: &str) -> Result<Aspect, String> {
    let bad = || format!("'{s}' is not an aspect ratio like 16:9 or 4:3");
    let (w, h) = s.split_once(':').ok_or_else(bad)?;
    let number = |t: &str| t.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0);
    match (number(w), number(h)) {
        (Some(width), Some(height)) if (0.1..=10.0).contains(&(width / height)) => {
            Ok(Aspect { width, height })
        }
        _ => Err(bad()),
    }
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("'{s}' is not a speed factor like 0.1, 1 or 0")),
    }
}

/// `500ms`, `2s`, `1.5s` or a bare number of milliseconds.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("'{s}' is not a duration like 500ms or 2s");
    let (number, scale) = if let Some(ms) = s.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(secs) = s.strip_suffix('s') {
        (secs, 1.0)
    } else {
        (s, 1e-3)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    if !value.is_finite() || value < 0.0 || value * scale > 3600.0 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs_f64(value * scale))
}

/// A [`parse_duration`] that is not zero: a table every 0 s would be all there is.
fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    match parse_duration(s)? {
        d if d < std::time::Duration::from_millis(100) => {
            Err(format!("'{s}' is too short: give at least 100ms, e.g. 10s"))
        }
        d => Ok(d),
    }
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture files to read, one after another (`-` reads standard input); any words
    /// after them are a BPF filter expression, as tcpdump takes it (e.g. tcp port 80)
    #[arg(value_name = "FILE", value_hint = ValueHint::FilePath, add = capture_files())]
    pub words: Vec<OsString>,
    /// Read this capture file (repeatable); every other word is then the filter expression
    #[arg(short = 'r', long = "read", value_name = "FILE", add = capture_files())]
    pub read: Vec<PathBuf>,
    /// The files to read, from FILE and -r (filled by [`Command::resolve`]).
    #[arg(skip)]
    pub files: Vec<PathBuf>,
    /// Stop after N packets that pass the filters
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// One segment at a time: on a terminal space/Enter/→ show the next, ← goes back, q quits, Ctrl-C summarises; from a pipe each line shows the next
    #[arg(long)]
    pub step: bool,
    /// Replay with the capture's own timing scaled (0.1 = ten times slower; 0 = no waiting)
    #[arg(long, default_value_t = 0.0, value_parser = parse_speed, value_name = "X")]
    pub speed: f64,
    /// Before each segment, ask for the next state of each end, then show the answer
    #[arg(long)]
    pub quiz: bool,
    /// Show only frames A to B (e.g. 1-3, 5-, -10) in every view; the frames before are
    /// still followed, so states stay right
    #[arg(long, value_name = "A-B", value_parser = parse_frames)]
    pub frames: Option<FrameRange>,
    /// Show only connection N (as numbered in the timeline) in every view
    #[arg(long, value_name = "N")]
    pub conn: Option<u32>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub view: ViewArgs,
}

/// Which segments to look at.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only segments to or from this TCP port
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Only segments to or from this address (a name is resolved once, and shown)
    #[arg(long, value_name = "ADDR", value_parser = parse_host)]
    pub host: Option<Host>,
    /// A BPF filter expression, as tcpdump takes it (e.g. 'tcp port 80')
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub bpf: Option<String>,
}

/// How to show what was seen.
#[derive(Debug, Args, Clone)]
pub struct ViewArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print only the per-connection summary
    #[arg(long)]
    pub summary: bool,
    /// Draw the ladder diagram (the textbook figure of handshake and wave, with both ends' states)
    #[arg(long)]
    pub ladder: bool,
    /// Plain 7-bit ASCII in every text view, instead of box drawing and arrows
    #[arg(long)]
    pub ascii: bool,
    /// Also write the ladder as a self-contained SVG, for slides
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write the ladder as a Mermaid sequence diagram, for Markdown
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub mermaid: Option<PathBuf>,
    /// The SVG's shape, for a slide: 16:9, 4:3 or any W:H (the ladder centred in it)
    #[arg(long, value_name = "W:H", value_parser = parse_aspect, requires = "svg")]
    pub aspect: Option<Aspect>,
    /// Also write the animated ladder as one self-contained web page (opens offline)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub html: Option<PathBuf>,
    /// Also show the animated ladder in a browser, served on ADDR:PORT [default: 127.0.0.1:9293]
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, require_equals = true,
          default_missing_value = crate::serve::DEFAULT_ADDR)]
    pub serve: Option<std::net::SocketAddr>,
    /// Language of the text views [default: from LC_ALL/LANG]
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
    /// When to colour the text
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    /// How long TIME-WAIT lasts: linux (60 s), rfc (2×MSL = 240 s) or a number of seconds
    #[arg(long, default_value = "linux", value_parser = parse_time_wait, value_name = "RULE")]
    pub time_wait: TimeWaitRule,
    /// The most memory, in MiB, for following connections: past it the least recently
    /// active connection is summarised and retired for space (at least 32)
    #[arg(long, value_name = "MIB", default_value_t = crate::track::conn::DEFAULT_MEMORY_MIB,
          value_parser = clap::value_parser!(u64).range(32..))]
    pub max_memory: u64,
    /// When the timeline explains a step in full: the first time it appears, for every
    /// connection (a class that joins late), or never [default: first]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub explain: Option<crate::render::Explain>,
    /// Tag lines with their connection from the first connection on (set for `watch`).
    #[arg(skip)]
    pub tag_from_start: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The annotated timeline for people
    Text,
    /// One JSON object per line, for programs
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when writing to a terminal and NO_COLOR is not set
    Auto,
    Always,
    Never,
}

impl FilterArgs {
    /// Adds a filter expression given after the files or options; with `-f` too, a
    /// packet must pass both.
    fn add_expression(&mut self, expression: Option<String>) {
        self.bpf = match (self.bpf.take(), expression) {
            (Some(flag), Some(words)) => Some(format!("({flag}) and ({words})")),
            (flag, words) => flag.or(words),
        };
    }
}

fn parse_time_wait(s: &str) -> Result<TimeWaitRule, String> {
    match s {
        "linux" => Ok(TimeWaitRule::Linux),
        "rfc" => Ok(TimeWaitRule::Rfc),
        _ => match s.parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs >= 0.0 => Ok(TimeWaitRule::Custom(secs)),
            _ => Err(format!("'{s}' is not linux, rfc or a number of seconds")),
        },
    }
}

/// Turns `--color` into on or off, honouring NO_COLOR as no-color.org asks.
pub fn color_on(when: ColorWhen, stdout_is_terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => stdout_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

impl ViewArgs {
    pub fn lang(&self) -> Lang {
        self.lang.unwrap_or_else(Lang::from_env)
    }

    /// Applies `--color` to the `colored` crate.
    pub fn apply_color(&self, stdout_is_terminal: bool) {
        colored::control::set_override(color_on(self.color, stdout_is_terminal));
    }
}
