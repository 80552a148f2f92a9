//! The page's web server: axum on a tokio runtime of its own thread, so the capture
//! thread stays as it is. It only answers GET (and HEAD): the page, its two files, the
//! dictionary and the event stream. Nothing here starts or changes a capture, reads a
//! file or takes a filter.

use super::assets;
use super::hub::Hub;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

/// Lines sent in one event-stream message at most (a late page catching up).
const BATCH: usize = 512;

#[derive(Clone)]
struct Shared {
    hub: Arc<Hub>,
    dict: Arc<str>,
    /// The bound address, as a Host header may name it.
    bound: SocketAddr,
    /// Required in the query of `/` and `/events` when bound beyond loopback.
    token: Option<Arc<str>>,
}

/// A bound listener whose server has not started yet.
pub struct Prepared {
    listener: TcpListener,
    shared: Shared,
}

/// Makes the server for `hub` on `listener`; [`Prepared::spawn`] starts it, in the
/// process that [`super::process`] chooses.
pub fn prepare(
    listener: TcpListener,
    hub: Arc<Hub>,
    dict: String,
    token: Option<String>,
) -> std::io::Result<Prepared> {
    let bound = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    Ok(Prepared { listener, shared: Shared { hub, dict: dict.into(), bound, token: token.map(Into::into) } })
}

impl Prepared {
    /// Serves from a thread of its own, with its own tokio runtime, until the process
    /// ends. The listening socket stays in the network namespace it was bound in.
    pub fn spawn(self) -> std::io::Result<()> {
        let Prepared { listener, shared } = self;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("tcplab-serve".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let _ = axum::serve(listener, app(shared)).await;
            })
        })?;
        Ok(())
    }
}

fn app(shared: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/app.js", get(|| async { typed("text/javascript; charset=utf-8", assets::APP) }))
        .route("/style.css", get(|| async { typed("text/css; charset=utf-8", assets::STYLE) }))
        .route("/dict.json", get(dict))
        .route("/events", get(events))
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

fn typed(kind: &'static str, body: impl Into<axum::body::Body>) -> Response {
    ([(header::CONTENT_TYPE, kind)], body.into()).into_response()
}

async fn index(State(shared): State<Shared>, request: Request) -> Response {
    if !token_ok(&shared, &request) {
        return (StatusCode::FORBIDDEN, "this page needs the token of the URL tcplab printed\n")
            .into_response();
    }
    typed("text/html; charset=utf-8", assets::served_index())
}

async fn dict(State(shared): State<Shared>) -> Response {
    typed("application/json", shared.dict.to_string())
}

/// Server-Sent Events: each message carries the next lines and, as its id, how many
/// lines the page then has. A page that reconnects sends that id back as
/// `Last-Event-ID` and gets only what came after.
async fn events(State(shared): State<Shared>, headers: HeaderMap, request: Request) -> Response {
    if !token_ok(&shared, &request) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    Sse::new(stream(shared.hub, after)).keep_alive(KeepAlive::default()).into_response()
}

fn stream(hub: Arc<Hub>, after: usize) -> impl Stream<Item = Result<Event, Infallible>> {
    let changes = hub.subscribe();
    futures_util::stream::unfold((hub, changes, after), |(hub, mut changes, mut sent)| async move {
        loop {
            let lines = hub.since(sent, BATCH);
            if !lines.is_empty() {
                sent += lines.len();
                let data = lines.iter().map(|l| &**l).collect::<Vec<_>>().join("\n");
                let event = Event::default().id(sent.to_string()).data(data);
                return Some((Ok(event), (hub, changes, sent)));
            }
            // Nothing new: wait for the capture thread (ends with the process).
            changes.changed().await.ok()?;
        }
    })
}

fn token_ok(shared: &Shared, request: &Request) -> bool {
    let Some(token) = &shared.token else { return true };
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair.strip_prefix("token=").is_some_and(|given| given == &**token))
}

/// Every request: the Host header must name this machine's loopback or the bound
/// address (a page on another site cannot reach us through DNS rebinding), and every
/// answer carries the page's security headers.
async fn guard(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !host_allowed(host, shared.bound) {
        return (
            StatusCode::BAD_REQUEST,
            "tcplab answers only to localhost, 127.0.0.1, [::1] or its own address\n",
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(assets::SERVED_CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether a Host header names loopback or the bound address; the port may be given.
fn host_allowed(host: &str, bound: SocketAddr) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, port)) if port.is_empty() || port.starts_with(':') => format!("[{v6}]"),
            _ => return false,
        }
    } else {
        host.split(':').next().unwrap_or("").to_string()
    };
    let own = match bound.ip() {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let name = name.to_ascii_lowercase();
    // Bound to every address, the page is reached by whichever one a student typed. An
    // address literal cannot be rebound by DNS, so any address passes then; a name
    // other than localhost never does.
    let literal = name.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok();
    ["localhost", "127.0.0.1", "[::1]"].contains(&name.as_str())
        || name == own
        || (bound.ip().is_unspecified() && literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_and_the_bound_address_pass() {
        let bound: SocketAddr = "192.0.2.7:9293".parse().unwrap();
        for ok in [
            "localhost",
            "localhost:9293",
            "127.0.0.1:9293",
            "[::1]:9293",
            "[::1]",
            "192.0.2.7:9293",
            "LOCALHOST",
        ] {
            assert!(host_allowed(ok, bound), "{ok}");
        }
        for bad in ["", "evil.example", "evil.example:9293", "127.0.0.1.evil.example", "[::1]x", "192.0.2.8"]
        {
            assert!(!host_allowed(bad, bound), "{bad}");
        }
        let any: SocketAddr = "0.0.0.0:9293".parse().unwrap();
        assert!(host_allowed("192.0.2.8:9293", any));
        assert!(!host_allowed("evil.example:9293", any));
    }
}
