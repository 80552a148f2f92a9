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

    #[error("cannot write {}: {reason}", shown(path))]
    Output { path: PathBuf, reason: String },

    #[error("bad filter expression '{expr}': {reason}")]
    Filter { expr: String, reason: String },

    #[error("{0}")]
    Capture(String),

    #[error("capturing on {device} is not permitted: {}", capture_rights())]
    NotPermitted { device: String },

    #[error("no capture device named '{name}'; available: {available}")]
    NoSuchDevice { name: String, available: String },

    #[error("{0}")]
    NotFound(String),

    /// The page server could not start (a busy port): names `--serve=ADDR:PORT`.
    #[error("{0}")]
    Serve(String),

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What gives a user the right to capture, on this system, in one clause. On Linux
/// it names this very binary, which need not be on PATH.
pub fn capture_rights() -> String {
    if cfg!(target_os = "linux") {
        format!(
            "run with sudo, or grant the capability once with: sudo setcap cap_net_raw,cap_net_admin=eip {}",
            this_binary()
        )
    } else if cfg!(target_vendor = "apple") {
        "run with sudo, or join the access_bpf group that Wireshark's ChmodBPF installs (then log in again)"
            .into()
    } else if cfg!(windows) {
        "install Npcap (npcap.com) without \"Restrict Npcap driver's access to Administrators only\", \
         or run tcplab as Administrator"
            .into()
    } else {
        "run as root, or let your group read /dev/bpf* (devfs.rules)".into()
    }
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
