//! The `tcplab` binary: parse the command line, run, turn the result into an exit code.

use clap::{CommandFactory, FromArgMatches};
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use tcplab::cli::{Cli, Command};
use tcplab::commands;

/// Exit codes, the same for every subcommand (clap itself exits 2 on a usage error).
mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const PARTIAL: u8 = 3;
}

fn main() -> ExitCode {
    // A shell asking for completions (COMPLETE=bash tcplab -- …) is answered and exits.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    let version = tcplab::cli::version_text();
    let mut command = Cli::command().version(version.clone()).long_version(version);
    let matches = command.get_matches_mut();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Err(message) = cli.command.resolve() {
        // The error comes from the subcommand, so that its usage line is the one shown.
        let name = matches.subcommand_name().unwrap_or_default().to_owned();
        let sub = command.find_subcommand_mut(&name).expect("the subcommand just parsed");
        sub.error(clap::error::ErrorKind::ValueValidation, message).exit();
    }
    // Errors are told in the language the views speak.
    let lang = cli.command.lang();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            let message = match e.downcast_ref::<tcplab::Error>() {
                Some(own) => own.in_lang(lang),
                None => format!("{e:#}"),
            };
            let _ = writeln!(io::stderr(), "tcplab: {message}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    match cli.command {
        Command::Replay(args) => {
            args.view.apply_color(terminal);
            // A summary of a big capture is tens of megabytes: written 64 KiB at a
            // time, not 8, it takes an eighth of the system calls.
            let out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
            let outcome = tcplab::replay::run(&args, out, &mut io::stderr())?;
            Ok(match outcome {
                tcplab::replay::Outcome::Complete => exit::OK,
                tcplab::replay::Outcome::Partial => exit::PARTIAL,
                tcplab::replay::Outcome::Failed => exit::ERROR,
            })
        }
        Command::Watch(args) => {
            args.view.apply_color(terminal);
            // Live output goes out line by line, as segments arrive.
            tcplab::watch::run(&args, io::LineWriter::new(stdout.lock()), &mut io::stderr())?;
            Ok(exit::OK)
        }
        Command::Demo(args) => {
            args.view.apply_color(terminal);
            commands::demo(&args, io::LineWriter::new(stdout.lock()), &mut io::stderr())?;
            Ok(exit::OK)
        }
        Command::Lab(args) => {
            args.view.apply_color(terminal);
            commands::lab(&args, io::LineWriter::new(stdout.lock()), &mut io::stderr())?;
            Ok(exit::OK)
        }
        Command::Server(args) => {
            commands::server(&args, io::stdout())?;
            Ok(exit::OK)
        }
        Command::Client(args) => {
            commands::client(&args, io::stdout())?;
            Ok(exit::OK)
        }
        Command::Inspect(args) => {
            let color = tcplab::cli::color_on(args.color, terminal);
            colored::control::set_override(color);
            tcplab::inspect::run(&args, io::BufWriter::new(stdout.lock()), color)?;
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            tcplab::cli::write_completion_script(shell, &mut stdout.lock())?;
            Ok(exit::OK)
        }
        Command::Man { out_dir } => {
            let cmd = Cli::command().version(tcplab::cli::version_text());
            match out_dir {
                Some(dir) => tcplab::manpage::write_all(cmd, &dir)?,
                None => tcplab::manpage::write_main(cmd, &mut stdout.lock())?,
            }
            Ok(exit::OK)
        }
        Command::Interfaces => {
            commands::interfaces(stdout.lock())?;
            Ok(exit::OK)
        }
    }
}

/// A reader that went away (`tcplab replay x | head`) is not an error.
/// (`q` in `--step` or `--quiz` ends a replay the same quiet way.)
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let quiet = |kind: io::ErrorKind| matches!(kind, io::ErrorKind::BrokenPipe | io::ErrorKind::Interrupted);
    e.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|io| quiet(io.kind()))
            || matches!(cause.downcast_ref::<tcplab::Error>(), Some(tcplab::Error::Io(io)) if quiet(io.kind()))
    })
}
