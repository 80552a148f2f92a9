//! Manual pages: `tcplab.1` and one page per subcommand, made from the command line's
//! own definition. clap_mangen writes the usual sections; the synopsis (with every
//! option's value), the examples and the exit status are set here, since its own
//! versions leave the values out and run preformatted text together.

use clap::{Arg, Command};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};
use std::io::{self, Write};
use std::path::Path;

/// Exit codes and what they mean: the EXIT STATUS section of every page.
const EXIT_STATUS: [(&str, &str); 4] = [
    ("0", "done"),
    (
        "1",
        "could not run: unreadable or unsupported file, bad filter, no capture permission, … (one line on stderr says what to do)",
    ),
    ("2", "bad command line"),
    ("3", "a capture was cut short or damaged: every complete frame before the fault was reported"),
];

/// Writes `tcplab.1` and one page per visible subcommand into `dir`.
pub fn write_all(command: Command, dir: &Path) -> io::Result<()> {
    let command = built(command);
    std::fs::create_dir_all(dir)?;
    let pages = std::iter::once(&command).chain(command.get_subcommands().filter(|s| !s.is_hide_set()));
    for page in pages {
        let name = page.get_display_name().unwrap_or_else(|| page.get_name());
        let mut file = io::BufWriter::new(std::fs::File::create(dir.join(format!("{name}.1")))?);
        render(page, &mut file)?;
        file.flush()?;
    }
    Ok(())
}

/// Writes the main page (`tcplab.1`) to `out`.
pub fn write_main(command: Command, out: &mut dyn Write) -> io::Result<()> {
    render(&built(command), out)
}

/// The command with its names and usage worked out, as the pages need them.
fn built(command: Command) -> Command {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    command
}

/// One page: clap_mangen's sections, with our synopsis, examples and exit status.
fn render(command: &Command, out: &mut dyn Write) -> io::Result<()> {
    let man = Man::new(command.clone().override_usage(synopsis(command)));
    man.render_title(out)?;
    // Option names are not words to hyphenate.
    out.write_all(b".nh\n")?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if command.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    let mut roff = Roff::default();
    examples(command, &mut roff);
    exit_status(&mut roff);
    roff.to_writer(out)?;
    if command.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// The usage lines with `[OPTIONS]` spelled out, each option with its value:
/// `tcplab replay [--step] [-c|--count N] … <FILE>... [EXPRESSION]`.
fn synopsis(command: &Command) -> String {
    let usage = match command.get_overridden_usage() {
        Some(usage) => usage.to_string(),
        None => {
            let usage = command.clone().render_usage().to_string();
            usage.trim_start_matches("Usage:").trim().to_owned()
        }
    };
    let options: Vec<String> = command
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set() && !is_help_or_version(a))
        .map(option_usage)
        .collect();
    // The first form lists them; a further form (`replay -r FILE`) keeps `[OPTIONS]`.
    let mut lines = usage.lines().map(str::trim);
    let first = lines.next().unwrap_or_default().replace("[OPTIONS]", &options.join(" "));
    std::iter::once(first).chain(lines.map(str::to_owned)).collect::<Vec<_>>().join("\n")
}

fn is_help_or_version(arg: &Arg) -> bool {
    matches!(arg.get_id().as_str(), "help" | "version")
}

/// `[-c|--count N]`, `[--ladder]`.
fn option_usage(arg: &Arg) -> String {
    let names = match (arg.get_short(), arg.get_long()) {
        (Some(short), Some(long)) => format!("-{short}|--{long}"),
        (Some(short), None) => format!("-{short}"),
        (None, Some(long)) => format!("--{long}"),
        (None, None) => arg.get_id().to_string(),
    };
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    match arg.get_value_names().and_then(|v| v.first()) {
        Some(value) if takes_value => format!("[{names} {value}]"),
        _ => format!("[{names}]"),
    }
}

/// The EXAMPLES section from the `Examples:` block of the command's help, one
/// command a line, as typed.
fn examples(command: &Command, roff: &mut Roff) {
    let Some(help) = command.get_after_help().map(ToString::to_string) else { return };
    let Some((_, block)) = help.split_once("Examples:") else { return };
    let lines: Vec<&str> = block.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return;
    }
    roff.control("SH", ["EXAMPLES"]);
    roff.control("nf", []);
    for line in lines {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
}

/// The EXIT STATUS section: one tagged paragraph per code.
fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning)]);
    }
}
