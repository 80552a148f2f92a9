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
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture files to read, one after another
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
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

impl ViewArgs {
    pub fn lang(&self) -> Lang {
        self.lang.unwrap_or_else(Lang::from_env)
    }

    /// Applies `--color` to the `colored` crate, honouring NO_COLOR as no-color.org asks.
    pub fn apply_color(&self, stdout_is_terminal: bool) {
        let on = match self.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                stdout_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        colored::control::set_override(on);
    }
}
