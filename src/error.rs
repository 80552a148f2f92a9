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

    #[error("{}: no TCP segment in this capture (tcplab inspects TCP headers only)", shown(path))]
    NoTcp { path: PathBuf },

    #[error("{}: frame {frame} is not a TCP segment (or the file is shorter)", shown(path))]
    NotASegment { path: PathBuf, frame: u64 },

    #[error("{}: no SYN in this capture; pick a segment with --frame N", shown(path))]
    NoSyn { path: PathBuf },

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

/// [`capture_rights`] in Chinese.
pub fn capture_rights_zh() -> String {
    if cfg!(target_os = "linux") {
        format!(
            "请用 sudo 运行，或一次性授予抓包权限：sudo setcap cap_net_raw,cap_net_admin=eip {}",
            this_binary()
        )
    } else if cfg!(target_vendor = "apple") {
        "请用 sudo 运行，或加入 Wireshark 的 ChmodBPF 所建立的 access_bpf 组（然后重新登录）".into()
    } else if cfg!(windows) {
        "请安装 Npcap（npcap.com），安装时不要勾选“Restrict Npcap driver's access to Administrators only”，\
         或以管理员身份运行 tcplab"
            .into()
    } else {
        "请以 root 运行，或让你的用户组可以读取 /dev/bpf*（devfs.rules）".into()
    }
}

impl Error {
    /// The message in `lang`. What comes from elsewhere (the system's reason for a
    /// failed open, libpcap's words) stays as it was given.
    pub fn in_lang(&self, lang: crate::i18n::Lang) -> String {
        use crate::i18n::Lang;
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            Error::Open { path, reason } => format!("无法打开 {}：{reason}", shown(path)),
            Error::UnsupportedLink { path, link, name } => format!(
                "{}：不支持链路类型 {link}（{name}）；tcplab 能读取的是 {}",
                shown(path),
                crate::decode::link::SUPPORTED
            ),
            Error::Output { path, reason } => format!("无法写入 {}：{reason}", shown(path)),
            Error::Filter { expr, reason } => format!("过滤表达式 '{expr}' 有误：{reason}"),
            Error::NotPermitted { device } => {
                format!("没有在 {device} 上抓包的权限：{}", capture_rights_zh())
            }
            Error::NoSuchDevice { name, available } => {
                format!("没有名为 '{name}' 的抓包设备；可用的有：{available}")
            }
            Error::NoTcp { path } => {
                format!("{}：这个抓包里没有 TCP 报文（tcplab 只解析 TCP 首部）", shown(path))
            }
            Error::NotASegment { path, frame } => {
                format!("{}：第 {frame} 帧不是 TCP 报文（或者文件没有这么长）", shown(path))
            }
            Error::NoSyn { path } => {
                format!("{}：这个抓包里没有 SYN；请用 --frame N 选一个报文", shown(path))
            }
            Error::Capture(_) | Error::Serve(_) | Error::Io(_) => self.to_string(),
        }
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
