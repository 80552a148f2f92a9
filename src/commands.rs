//! The small commands: chat server and client, demo, lab and the device list. Each
//! takes its parsed arguments and writers, so tests can run them in-process.

use crate::chat::client::ChatClient;
use crate::chat::server::{ChatEvent, ChatServer, ServerOptions};
use crate::chat::session::{self, Console, Script};
use crate::cli::{ClientArgs, DemoArgs, LabArgs, ServerArgs};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::lab::{self, LabRun, Scenario};
use crate::render::sanitize::sanitize_str;
use crate::replay::{renderer, track_config};
use crate::source::live;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub fn server(args: &ServerArgs, out: impl Write + Send + 'static) -> Result<()> {
    let addrs = args.bind.resolve().map_err(Error::Capture)?;
    let server = ChatServer::bind(addrs[0]).map_err(Error::Capture)?;
    let out = Arc::new(Mutex::new(out));
    {
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        let shown = args.bind.shown(server.local_addr()?);
        writeln!(out, "listening on {shown} (backlog 128); Ctrl-C to stop")?;
        out.flush()?;
    }
    let options = ServerOptions { reply: args.reply, close_delay: args.close_delay };
    let delay = args.close_delay;
    // Who is in the chat now, for the count after each join and leave. Counted and
    // printed under the one lock of the output, so that the counts come out in order.
    let present = Mutex::new(HashSet::new());
    server.serve(
        options,
        None,
        Arc::new(move |event| {
            let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
            let mut line = event.describe(delay);
            if let Some(count) = count_after(&present, &event) {
                line.push_str(&format!(" ({count} in the chat)"));
            }
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }),
    )?;
    Ok(())
}

/// How many clients are in the chat after `event`, when it is a join or a leave.
fn count_after(present: &Mutex<HashSet<SocketAddr>>, event: &ChatEvent) -> Option<usize> {
    let mut present = present.lock().unwrap_or_else(|e| e.into_inner());
    let changed = match event {
        ChatEvent::Connected(peer) => present.insert(*peer),
        ChatEvent::Closed(peer) | ChatEvent::Reset(peer) | ChatEvent::Failed(peer, _) => present.remove(peer),
        _ => false,
    };
    changed.then_some(present.len())
}

pub fn client(args: &ClientArgs, out: impl Write) -> Result<()> {
    let addrs = args.connect.resolve().map_err(Error::Capture)?;
    let client = ChatClient::connect(&addrs).map_err(Error::Capture)?;
    let mut out = out;
    writeln!(out, "connected to {} from {}", args.connect.shown(client.peer_addr()?), client.local_addr()?)?;
    out.flush()?;
    let prompt = io::stderr();
    let mut console = Console { out, prompt_is_terminal: prompt.is_terminal(), prompt };
    let script = if args.send.is_empty() {
        Script::Typed(io::BufReader::new(io::stdin()))
    } else {
        Script::Given(args.send.iter().map(|m| os_bytes(m)).collect())
    };
    session::converse(client, script, args.abort, &mut console).map_err(|e| match e.kind() {
        // A broken pipe would pass for a reader that went away and exit quietly.
        io::ErrorKind::Other => Error::Capture(e.to_string()),
        _ => Error::Io(e),
    })
}

/// The bytes of a message given on the command line, as the shell passed them (on
/// Windows, where arguments are UTF-16, as UTF-8).
fn os_bytes(message: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        message.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        message.to_string_lossy().into_owned().into_bytes()
    }
}

pub fn demo(args: &DemoArgs, out: impl Write, err: &mut impl Write) -> Result<()> {
    let page = crate::replay::serve(&args.view, err)?;
    let mut renderer = renderer(&args.view, out, page.as_ref())?;
    let run = LabRun {
        scenario: if args.lan { Scenario::Lan } else { Scenario::Handshake },
        close_delay: args.close_delay,
        write: None,
        lang: args.view.lang(),
        config: track_config(&args.view),
        demo: true,
        kernel: args.kernel,
        clients: usize::from(args.clients.unwrap_or(crate::cli::DEFAULT_CLIENTS)),
    };
    lab::run(&run, renderer.as_mut(), err)?;
    drop(renderer);
    if let Some(page) = page {
        page.linger(err)?;
    }
    Ok(())
}

pub fn lab(args: &LabArgs, out: impl Write, err: &mut impl Write) -> Result<()> {
    let lang = args.view.lang();
    let Some(scenario) = args.scenario.filter(|_| !args.list) else {
        let mut out = out;
        let width = Scenario::ALL.iter().map(|s| s.name().len()).max().unwrap_or(0);
        for s in Scenario::ALL {
            let about = lang.text(&Msg::ScenarioAbout(s));
            match s.missing_here() {
                Some(needs) => {
                    writeln!(out, "{:<width$}  {about} {}", s.name(), lang.text(&Msg::ScenarioNeeds(needs)))?
                }
                None => writeln!(out, "{:<width$}  {about}", s.name())?,
            }
        }
        return Ok(());
    };
    let page = crate::replay::serve(&args.view, err)?;
    let mut renderer = renderer(&args.view, out, page.as_ref())?;
    let run = LabRun {
        scenario,
        close_delay: args.close_delay,
        write: args.write.as_deref(),
        lang,
        config: track_config(&args.view),
        demo: false,
        kernel: args.kernel,
        clients: usize::from(args.clients.unwrap_or(crate::cli::DEFAULT_CLIENTS)),
    };
    lab::run(&run, renderer.as_mut(), err)?;
    drop(renderer);
    if let Some(page) = page {
        page.linger(err)?;
    }
    Ok(())
}

pub fn interfaces(mut out: impl Write) -> Result<()> {
    let rows: Vec<[String; 4]> = live::devices()?
        .iter()
        .map(|device| {
            let flags = &device.flags;
            let names: Vec<&str> = [
                (flags.is_up(), "up"),
                (flags.is_running(), "running"),
                (flags.is_loopback(), "loopback"),
                (flags.is_wireless(), "wireless"),
            ]
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect();
            let addresses: Vec<String> = device.addresses.iter().map(|a| a.addr.to_string()).collect();
            let desc = device.desc.as_deref().map(sanitize_str).unwrap_or_default();
            [sanitize_str(&device.name), names.join(","), addresses.join(" "), desc]
        })
        .collect();
    // Columns as wide as their widest entry, so long names keep the table straight.
    let width = |col: usize| rows.iter().map(|r| r[col].chars().count()).max().unwrap_or(0);
    let (name_w, flags_w, addr_w) = (width(0), width(1), width(2));
    for [name, flags, addresses, desc] in &rows {
        let line = format!("{name:<name_w$}  {flags:<flags_w$}  {addresses:<addr_w$}  {desc}");
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
