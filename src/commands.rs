//! The small commands: chat server and client, demo, lab and the device list. Each
//! takes its parsed arguments and writers, so tests can run them in-process.

use crate::chat::client::ChatClient;
use crate::chat::server::{ChatServer, ServerOptions};
use crate::cli::{ClientArgs, DemoArgs, LabArgs, ServerArgs};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::lab::{self, LabRun, Scenario};
use crate::render::sanitize::sanitize_str;
use crate::replay::{renderer, track_config};
use crate::source::live;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

pub fn server(args: &ServerArgs, out: impl Write + Send + 'static) -> Result<()> {
    let server = ChatServer::bind(args.bind).map_err(Error::Capture)?;
    let out = Arc::new(Mutex::new(out));
    {
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(out, "listening on {} (backlog 128); Ctrl-C to stop", server.local_addr()?)?;
        out.flush()?;
    }
    let options = ServerOptions { reply: args.reply, close_delay: args.close_delay };
    let delay = args.close_delay;
    server.serve(
        options,
        None,
        Arc::new(move |event| {
            let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(out, "{}", event.describe(delay));
            let _ = out.flush();
        }),
    )?;
    Ok(())
}

pub fn client(args: &ClientArgs, out: impl Write + Send + 'static) -> Result<()> {
    let mut client = ChatClient::connect(args.connect).map_err(Error::Capture)?;
    client.print_replies(out)?;
    if args.send.is_empty() {
        let stdin = io::stdin();
        client.interactive(stdin.lock(), &mut io::stderr())?;
    } else {
        for message in &args.send {
            client.send(message.as_bytes())?;
        }
    }
    client.close(args.abort)?;
    Ok(())
}

pub fn demo(args: &DemoArgs, out: impl Write, err: &mut impl Write) -> Result<()> {
    let page = crate::replay::serve(&args.view, err)?;
    let mut renderer = renderer(&args.view, out, page.as_ref())?;
    let run = LabRun {
        scenario: Scenario::Handshake,
        close_delay: args.close_delay,
        write: None,
        lang: args.view.lang(),
        config: track_config(&args.view),
        demo: true,
        kernel: args.kernel,
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
