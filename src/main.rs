//! The `tcplab` binary: parse the command line, run, turn the result into an exit code.

use clap::Parser;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use tcplab::cli::{Cli, Command};

/// Exit codes, the same for every subcommand (clap itself exits 2 on a usage error).
mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const PARTIAL: u8 = 3;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            let _ = writeln!(io::stderr(), "tcplab: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Replay(args) => {
            let stdout = io::stdout();
            args.view.apply_color(stdout.is_terminal());
            let out = io::BufWriter::new(stdout.lock());
            let outcome = tcplab::replay::run(&args, out, &mut io::stderr())?;
            Ok(match outcome {
                tcplab::replay::Outcome::Complete => exit::OK,
                tcplab::replay::Outcome::Partial => exit::PARTIAL,
            })
        }
    }
}

/// A reader that went away (`tcplab replay x | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || matches!(cause.downcast_ref::<tcplab::Error>(), Some(tcplab::Error::Io(io)) if io.kind() == io::ErrorKind::BrokenPipe)
    })
}
