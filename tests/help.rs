//! The help a user reads: snapshots of `--help` for every command, so a change to the
//! command line is reviewed like any other output; plus completions and man pages.

use assert_cmd::Command;

const COMMANDS: [&str; 10] =
    ["replay", "watch", "server", "client", "demo", "lab", "inspect", "interfaces", "completions", "man"];

fn tcplab(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("tcplab").unwrap().args(args).env("COLUMNS", "100").output().unwrap()
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("tcplab-help", String::from_utf8(tcplab(&["--help"]).stdout).unwrap());
    for command in COMMANDS {
        let out = tcplab(&[command, "--help"]);
        assert!(out.status.success());
        insta::assert_snapshot!(format!("tcplab-{command}-help"), String::from_utf8(out.stdout).unwrap());
    }
}

#[test]
fn every_visible_command_shows_examples() {
    for command in COMMANDS {
        let help = String::from_utf8(tcplab(&[command, "--help"]).stdout).unwrap();
        assert!(
            help.contains("Examples:\n  tcplab") || help.contains("Examples:\n  sudo tcplab"),
            "{command}:\n{help}"
        );
    }
}

#[test]
fn version_names_libpcap() {
    let out = String::from_utf8(tcplab(&["--version"]).stdout).unwrap();
    assert!(out.starts_with(&format!("tcplab {}", env!("CARGO_PKG_VERSION"))), "{out}");
    assert!(out.contains("libpcap version"), "{out}");
}

#[test]
fn completions_are_scripts_the_shells_accept() {
    let bash = tcplab(&["completions", "bash"]);
    assert!(bash.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("tcplab.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let check = std::process::Command::new("bash").arg("-n").arg(&script).status().unwrap();
    assert!(check.success(), "bash rejects the completion script");
    assert!(String::from_utf8_lossy(&bash.stdout).contains("complete -o nospace"), "not a bash completion");
    for shell in ["zsh", "fish"] {
        let out = tcplab(&["completions", shell]);
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("tcplab"), "{shell}");
    }
}

/// What bash's Tab gets for the words so far: the script asks tcplab, as here.
fn complete_in_bash(words: &[&str], dir: &std::path::Path) -> Vec<String> {
    let out = Command::cargo_bin("tcplab")
        .unwrap()
        .current_dir(dir)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(words)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn completion_offers_interfaces_and_capture_files() {
    let interfaces = complete_in_bash(&["tcplab", "watch", "-i", "l"], std::path::Path::new("."));
    assert!(interfaces.iter().any(|i| i == "lo"), "{interfaces:?}");
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.pcap", "b.pcapng", "notes.txt"] {
        std::fs::write(dir.path().join(name), b"").unwrap();
    }
    std::fs::create_dir(dir.path().join("captures")).unwrap();
    let files = complete_in_bash(&["tcplab", "replay", ""], dir.path());
    assert!(files.contains(&"a.pcap".to_owned()) && files.contains(&"b.pcapng".to_owned()), "{files:?}");
    assert!(files.contains(&"captures/".to_owned()), "folders lead to captures: {files:?}");
    assert!(!files.contains(&"notes.txt".to_owned()), "{files:?}");
}

#[test]
fn man_pages_cover_every_command_and_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = tcplab(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for command in std::iter::once("tcplab".to_owned()).chain(COMMANDS.iter().map(|c| format!("tcplab-{c}")))
    {
        let page = std::fs::read_to_string(dir.path().join(format!("{command}.1")))
            .unwrap_or_else(|e| panic!("no page for {command}: {e}"));
        assert!(page.contains(".SH \"EXIT STATUS\"") && page.contains("cut short"), "{command}:\n{page}");
        assert!(!page.contains("[OPTIONS]\n") || command == "tcplab", "{command}: options unspelled");
    }
    let replay = std::fs::read_to_string(dir.path().join("tcplab-replay.1")).unwrap();
    assert!(replay.contains("<FILE>... [EXPRESSION]") && replay.contains("[\\-c|\\-\\-count N]"), "{replay}");
    assert!(replay.contains(".SH EXAMPLES\n.nf\n"), "{replay}");
}

#[test]
fn an_unknown_interface_lists_the_real_ones() {
    let out = tcplab(&["watch", "-i", "nosuchif0", "--port", "9"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    if err.contains("not permitted") {
        eprintln!("skipping the device list check: capture is not permitted here ({err})");
        return;
    }
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("no capture device named 'nosuchif0'") && err.contains("lo"), "{err}");
}
