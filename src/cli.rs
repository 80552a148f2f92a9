//! The command line (clap derive), validated into the settings each command runs with.

use crate::i18n::{Lang, TimeWaitRule};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;

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
    #[command(after_help = "Examples:\n  tcplab replay captures/handshake.pcap\n  \
        tcplab replay --lang zh captures/server-closes.pcap\n  \
        tcplab replay --format jsonl --port 8080 trace.pcapng | jq .\n  \
        tcplab replay --summary -f 'host 127.0.0.1' big.pcap")]
    Replay(ReplayArgs),

    /// Capture live traffic and annotate it as it happens (needs capture rights)
    #[command(after_help = "Examples:\n  sudo tcplab watch --port 8080\n  \
        sudo tcplab watch -i lo --port 8080 -w chat.pcap\n  \
        sudo tcplab watch -i any -f 'host 127.0.0.1' --format jsonl")]
    Watch(WatchArgs),

    /// Run the chat server of the document: print what every client says
    #[command(
        after_help = "Examples:\n  tcplab server\n  tcplab server --bind 127.0.0.1:9000 --reply --close-delay 500ms"
    )]
    Server(ServerArgs),

    /// Run the chat client of the document: type lines, `exit` quits
    #[command(after_help = "Examples:\n  tcplab client\n  tcplab client --send hello --send bye\n  \
        tcplab client --send hello --abort")]
    Client(ClientArgs),

    /// Everything at once, no set-up: server, client and live capture on loopback
    #[command(
        after_help = "Examples:\n  tcplab demo\n  tcplab demo --lang zh\n  tcplab demo --close-delay 0"
    )]
    Demo(DemoArgs),

    /// Play one real TCP scenario on loopback and tell its story
    #[command(after_help = "Examples:\n  tcplab lab --list\n  tcplab lab refused\n  \
        tcplab lab server-closes --write server-closes.pcap")]
    Lab(LabArgs),

    /// Show one segment's TCP header field by field (the document's Figure 1)
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
    #[command(hide = true)]
    Man {
        /// Directory to write the pages to; without it, tcplab.1 goes to stdout
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
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
    #[arg(value_name = "FILE")]
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
    /// Capture device [default: lo when --port is served here, else any]
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// Also save every captured packet to this pcap file
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: std::net::SocketAddr,
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
    /// Server to connect to
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub connect: std::net::SocketAddr,
    /// Send this message and carry on (repeatable); without it, type messages
    #[arg(long = "send", value_name = "MSG")]
    pub send: Vec<String>,
    /// Close with RST (SO_LINGER 0) instead of FIN
    #[arg(long)]
    pub abort: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long the server stays in CLOSE-WAIT before its FIN (0 merges ACK and FIN)
    #[arg(long, default_value = "50ms", value_parser = parse_duration, value_name = "DURATION")]
    pub close_delay: std::time::Duration,
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
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// How long the passive closer waits before its FIN
    #[arg(long, default_value = "50ms", value_parser = parse_duration, value_name = "DURATION")]
    pub close_delay: std::time::Duration,
    #[command(flatten)]
    pub view: ViewArgs,
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

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture files to read, one after another
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// One segment at a time: Enter shows the next, q stops
    #[arg(long)]
    pub step: bool,
    /// Replay with the capture's own timing scaled (0.1 = ten times slower; 0 = no waiting)
    #[arg(long, default_value_t = 0.0, value_parser = parse_speed, value_name = "X")]
    pub speed: f64,
    /// Before each segment, ask for the next state of each end, then show the answer
    #[arg(long)]
    pub quiz: bool,
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
    /// Only segments to or from this address
    #[arg(long, value_name = "ADDR")]
    pub host: Option<IpAddr>,
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
    /// Draw the ladder diagram (the document's Figure 2) instead of the timeline
    #[arg(long)]
    pub ladder: bool,
    /// Draw with plain ASCII instead of Unicode box drawing
    #[arg(long)]
    pub ascii: bool,
    /// Also write the ladder as a self-contained SVG, for slides
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Language of the text views [default: from LC_ALL/LANG]
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
    /// When to colour the text
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    /// How long TIME-WAIT lasts: linux (60 s), rfc (2×MSL = 240 s) or a number of seconds
    #[arg(long, default_value = "linux", value_parser = parse_time_wait, value_name = "RULE")]
    pub time_wait: TimeWaitRule,
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
