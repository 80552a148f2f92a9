//! The animated ladder in the browser. One page (`page/`: HTML, CSS, plain JS, built
//! into the binary) draws the JSON-lines events of `docs/json.md`; it is either served
//! live (`--serve`: axum, Server-Sent Events) or written as one self-contained file
//! (`--html`). The page never decodes or tracks: it is one more output of the pipeline,
//! fed by `render::page`.

pub mod assets;
pub mod dict;
pub mod http;
pub mod hub;
pub mod process;

use crate::i18n::{Lang, Msg, TimeWaitRule};
use hub::Hub;
use process::Sink;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Where `--serve` listens when no address is given: loopback, port 9293 (RFC 9293).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9293";

/// A page server, started at once in a process without rights ([`process`]), and
/// where to send it the events. Commands start it before anything else: a busy port
/// is an error before a capture opens, and the fork happens while tcplab has one thread.
pub struct Page {
    pub sink: Arc<Mutex<Sink>>,
    pub url: String,
    lang: Lang,
}

impl Page {
    /// Binds `addr` and says where the page is. A busy or forbidden address is one line
    /// that names the option to change.
    pub fn start(
        addr: SocketAddr,
        rule: TimeWaitRule,
        lang: Lang,
        err: &mut impl Write,
    ) -> crate::Result<Page> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            crate::Error::Serve(lang.text(&Msg::PageCannotBind { addr, reason: &e.to_string() }))
        })?;
        let bound = listener.local_addr()?;
        // Beyond loopback, students' laptops can connect: only with the URL's token.
        let token = (!bound.ip().is_loopback()).then(random_token);
        let hub = Hub::new();
        let dict = dict::dictionary(rule).to_string();
        let prepared = http::prepare(listener, hub.clone(), dict, token.clone())?;
        let sink = process::start(prepared, hub)?;
        let host = match bound.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        let url = match &token {
            Some(token) => format!("http://{host}:{}/?token={token}", bound.port()),
            None => format!("http://{host}:{}/", bound.port()),
        };
        if token.is_some() {
            writeln!(err, "tcplab: {}", lang.text(&Msg::PageBeyondLoopback { bound }))?;
        }
        writeln!(err, "tcplab: {}", lang.text(&Msg::PageAt { url: &url }))?;
        err.flush()?;
        Ok(Page { sink: Arc::new(Mutex::new(sink)), url, lang })
    }

    /// Keeps the page up after the command's own output is done, until Ctrl-C.
    pub fn linger(&self, err: &mut impl Write) -> io::Result<()> {
        writeln!(err, "tcplab: {}", self.lang.text(&Msg::PageStillServing { url: &self.url }))?;
        err.flush()?;
        let stop = crate::live::stop_on_signals()?;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Ok(())
    }
}

/// 128 random bits as hex, from the standard library's per-process random hash keys
/// (no extra crate: the token only has to be unguessable from outside).
fn random_token() -> String {
    use std::hash::{BuildHasher, RandomState};
    let half = |n: u64| RandomState::new().hash_one((n, std::time::SystemTime::now()));
    format!("{:016x}{:016x}", half(1), half(2))
}
