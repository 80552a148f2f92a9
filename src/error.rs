//! The library's errors: each names what went wrong and where, in one line a user can act on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open {}: {reason}", shown(path))]
    Open { path: PathBuf, reason: String },

    #[error(
        "{}: link type {link} ({name}) is not supported; tcplab reads {}",
        shown(path),
        crate::decode::link::SUPPORTED
    )]
    UnsupportedLink { path: PathBuf, link: i32, name: String },

    #[error("bad filter expression '{expr}': {reason}")]
    Filter { expr: String, reason: String },

    #[error("{0}")]
    Capture(String),

    #[error(
        "capturing on {device} is not permitted: run with sudo, or grant the capability once \
         with: sudo setcap cap_net_raw,cap_net_admin=eip {}",
        this_binary()
    )]
    NotPermitted { device: String },

    #[error("no capture device named '{name}'; available: {available}")]
    NoSuchDevice { name: String, available: String },

    #[error("{0}")]
    NotFound(String),

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The running binary's own path, for commands a user copies (it need not be on PATH).
fn this_binary() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map_or_else(|| "$(command -v tcplab)".to_owned(), |p| shown(&p))
}

/// A path as it may be printed: a file name can hold escape sequences too.
pub fn shown(path: &std::path::Path) -> String {
    crate::render::sanitize::sanitize(path.as_os_str().as_encoded_bytes())
}
