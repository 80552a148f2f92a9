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
    let mut renderer = renderer(&args.view, out);
    let run = LabRun {
        scenario: Scenario::Handshake,
        close_delay: args.close_delay,
        write: None,
        lang: args.view.lang(),
        config: track_config(&args.view),
        demo: true,
    };
    lab::run(&run, renderer.as_mut(), err)?;
    Ok(())
}

pub fn lab(args: &LabArgs, out: impl Write, err: &mut impl Write) -> Result<()> {
    let lang = args.view.lang();
    let Some(scenario) = args.scenario.filter(|_| !args.list) else {
        let mut out = out;
        for s in Scenario::ALL {
            writeln!(out, "{:<14} {}", s.name(), lang.text(&Msg::ScenarioAbout(s)))?;
        }
        return Ok(());
    };
    let mut renderer = renderer(&args.view, out);
    let run = LabRun {
        scenario,
        close_delay: args.close_delay,
        write: args.write.as_deref(),
        lang,
        config: track_config(&args.view),
        demo: false,
    };
    lab::run(&run, renderer.as_mut(), err)?;
    Ok(())
}

pub fn interfaces(mut out: impl Write) -> Result<()> {
    for device in live::devices()? {
        let flags = &device.flags;
        let mut names = Vec::new();
        if flags.is_up() {
            names.push("up");
        }
        if flags.is_running() {
            names.push("running");
        }
        if flags.is_loopback() {
            names.push("loopback");
        }
        if flags.is_wireless() {
            names.push("wireless");
        }
        let addresses: Vec<String> = device.addresses.iter().map(|a| a.addr.to_string()).collect();
        writeln!(
            out,
            "{:<12} {:<24} {}{}",
            sanitize_str(&device.name),
            names.join(","),
            addresses.join(" "),
            device.desc.as_deref().map(|d| format!("  ({})", sanitize_str(d))).unwrap_or_default()
        )?;
    }
    Ok(())
}
