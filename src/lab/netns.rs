//! A network of the lab's own: scenarios that lose packets on purpose run in a fresh
//! network namespace, where nftables rules drop what they must without touching the host.
//!
//! The namespace belongs to this process alone: nothing names it, nothing else joins it,
//! so the kernel frees it, its loopback and every nftables rule in it when the process
//! exits, whether it ends normally, on an error or on Ctrl-C. There is no cleanup step
//! that could be forgotten or skipped; deleting a rule mid-run is part of a scenario's
//! story, not housekeeping.

use crate::error::{Error, Result};
use crate::i18n::{Lang, Msg};
use crate::lab::Scenario;
use crate::source::privilege;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Whether the scenario drops packets with nftables, and so must run in a network
/// namespace of its own. zero-window loses nothing: a small receive buffer is enough.
pub fn needs_private_network(scenario: Scenario) -> bool {
    matches!(scenario, Scenario::SimultaneousOpen | Scenario::SimultaneousClose | Scenario::SynRetry)
}

/// Moves this process into a new network namespace with its loopback up, and checks
/// that `nft` can be run. Must be called before any thread is started.
///
/// As root a network namespace alone is enough. Otherwise the process also needs a
/// user namespace, in which it is root over that network (as `open_loopback` does for
/// capturing); `enter_private_network` brings loopback up there too.
pub fn enter_private_network(err: &mut impl Write, lang: Lang) -> Result<()> {
    require_nft()?;
    // Called before any thread is started: unshare moves only the calling thread.
    let entered = if privilege::is_root() {
        privilege::enter_network_namespace()
    } else {
        privilege::enter_private_network()
    };
    entered.map_err(|e| Error::Capture(format!("cannot make a private network namespace: {e}")))?;
    writeln!(err, "tcplab: {}", lang.text(&Msg::OwnNetwork))?;
    Ok(())
}

/// Fails with a one-line hint when the `nft` program is missing.
fn require_nft() -> Result<()> {
    match nft_program() {
        Some(_) => Ok(()),
        None => Err(Error::Capture(
            "this scenario drops packets with nftables, but `nft` is not installed: apt install nftables"
                .into(),
        )),
    }
}

/// Where `nft` is: on PATH, or in the sbin directories that a user's PATH often lacks
/// (the program works for an ordinary user too, inside the namespace).
fn nft_program() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nft"))
        .find(|candidate| candidate.is_file())
}

/// The lab's nftables table, `inet tcplab`, in this process's own namespace. Scenarios
/// load it with a named counter `dropped` that their rules count into, wait on that
/// counter, and delete the table when the loss should end.
pub struct DropRules {
    /// Private, so that only `load` makes one: holding a `DropRules` means the table
    /// is loaded, and `remove` consumes it.
    _loaded: (),
}

const TABLE: &str = "tcplab";

impl DropRules {
    /// Loads a table with the counter `dropped` and one filter chain at `hook`
    /// (`input` or `output`) holding `rules`, one per line, in nft syntax.
    pub fn load(hook: &str, rules: &[String]) -> io::Result<DropRules> {
        let script = format!(
            "table inet {TABLE} {{\n\tcounter dropped {{ }}\n\tchain {hook} {{\n\t\t\
             type filter hook {hook} priority filter; policy accept;\n\t\t{}\n\t}}\n}}\n",
            rules.join("\n\t\t")
        );
        nft(&["-f", "-"], Some(&script))?;
        Ok(DropRules { _loaded: () })
    }

    /// How many packets the rules have dropped so far.
    pub fn dropped(&self) -> io::Result<u64> {
        let listing = nft(&["list", "counter", "inet", TABLE, "dropped"], None)?;
        // `packets N bytes M` inside the counter's block.
        let mut words = listing.split_whitespace();
        words
            .find(|w| *w == "packets")
            .and_then(|_| words.next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no packet count in nft's answer: {listing}")))
    }

    /// Waits until the rules have dropped `count` packets, checking every `every`;
    /// fails after `within`.
    pub fn wait_for_drops(&self, count: u64, every: Duration, within: Duration) -> io::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let dropped = self.dropped()?;
            if dropped >= count {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "expected {count} dropped packets within {within:?}, nftables counted {dropped}"
                )));
            }
            thread::sleep(every);
        }
    }

    /// Deletes the table: from now on nothing is dropped.
    pub fn remove(self) -> io::Result<()> {
        nft(&["delete", "table", "inet", TABLE], None).map(drop)
    }
}

/// Runs `nft ARGS`, feeding it `input`, and returns what it printed.
fn nft(args: &[&str], input: Option<&str>) -> io::Result<String> {
    let program = nft_program().ok_or_else(|| io::Error::other("nft is not installed"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "nft {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
