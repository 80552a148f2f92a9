//! The kernel's own word on TCP states (`--kernel`, Linux): every state change the
//! kernel makes on the sockets of the captured connections, read beside the capture so
//! that the timeline can show it next to tcplab's inference.
//!
//! Two sources, tried in order: the `sock:inet_sock_set_state` tracepoint through a
//! private tracefs instance ([`tracefs`]), which sees every change at its moment; and,
//! where tracing is not allowed, samples of the kernel's socket table through
//! `sock_diag` netlink ([`sock_diag`]). Both hand out [`KernelChange`]s stamped with the capture's clock. Which
//! connection and which side a change belongs to is the pipeline's business, not this
//! module's: here a change only knows its socket's addresses.

pub mod clock;
pub mod merge;
pub mod sock_diag;
pub mod trace_line;
#[cfg(target_os = "linux")]
pub mod tracefs;

use crate::source::Timestamp;
use crate::track::TcpState;
use std::net::SocketAddr;

/// A state of Linux's `enum tcp_state`, as the tracepoint names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinuxState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    /// A request socket: a SYN answered by a listener, before the third ACK.
    NewSynRecv,
}

impl LinuxState {
    /// From the tracepoint's symbol (`TCP_CLOSE_WAIT`).
    pub fn from_symbol(symbol: &str) -> Option<LinuxState> {
        Some(match symbol {
            "TCP_ESTABLISHED" => LinuxState::Established,
            "TCP_SYN_SENT" => LinuxState::SynSent,
            "TCP_SYN_RECV" => LinuxState::SynRecv,
            "TCP_FIN_WAIT1" => LinuxState::FinWait1,
            "TCP_FIN_WAIT2" => LinuxState::FinWait2,
            "TCP_TIME_WAIT" => LinuxState::TimeWait,
            "TCP_CLOSE" => LinuxState::Close,
            "TCP_CLOSE_WAIT" => LinuxState::CloseWait,
            "TCP_LAST_ACK" => LinuxState::LastAck,
            "TCP_LISTEN" => LinuxState::Listen,
            "TCP_CLOSING" => LinuxState::Closing,
            "TCP_NEW_SYN_RECV" => LinuxState::NewSynRecv,
            _ => return None,
        })
    }

    /// The kernel's own name, for the JSON.
    pub fn symbol(self) -> &'static str {
        match self {
            LinuxState::Established => "TCP_ESTABLISHED",
            LinuxState::SynSent => "TCP_SYN_SENT",
            LinuxState::SynRecv => "TCP_SYN_RECV",
            LinuxState::FinWait1 => "TCP_FIN_WAIT1",
            LinuxState::FinWait2 => "TCP_FIN_WAIT2",
            LinuxState::TimeWait => "TCP_TIME_WAIT",
            LinuxState::Close => "TCP_CLOSE",
            LinuxState::CloseWait => "TCP_CLOSE_WAIT",
            LinuxState::LastAck => "TCP_LAST_ACK",
            LinuxState::Listen => "TCP_LISTEN",
            LinuxState::Closing => "TCP_CLOSING",
            LinuxState::NewSynRecv => "TCP_NEW_SYN_RECV",
        }
    }

    /// The RFC 9293 state it stands for.
    pub fn rfc(self) -> TcpState {
        match self {
            LinuxState::Established => TcpState::Established,
            LinuxState::SynSent => TcpState::SynSent,
            LinuxState::SynRecv | LinuxState::NewSynRecv => TcpState::SynReceived,
            LinuxState::FinWait1 => TcpState::FinWait1,
            LinuxState::FinWait2 => TcpState::FinWait2,
            LinuxState::TimeWait => TcpState::TimeWait,
            LinuxState::Close => TcpState::Closed,
            LinuxState::CloseWait => TcpState::CloseWait,
            LinuxState::LastAck => TcpState::LastAck,
            LinuxState::Listen => TcpState::Listen,
            LinuxState::Closing => TcpState::Closing,
        }
    }
}

/// Where the kernel's changes come from, for the JSON's `source` and the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSource {
    /// The `sock:inet_sock_set_state` tracepoint: every change, at its moment.
    Tracepoint,
    /// Samples of the socket table through `sock_diag` netlink, every 5 ms.
    SockDiag,
}

impl KernelSource {
    pub fn name(self) -> &'static str {
        match self {
            KernelSource::Tracepoint => "tracepoint",
            KernelSource::SockDiag => "sock_diag",
        }
    }
}

/// One state change of one socket, as the kernel reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelChange {
    /// When, on the capture's clock (Unix time).
    pub time: Timestamp,
    /// The socket's own address and its peer's. A socket that is connecting may not
    /// have its port yet (0); a listening socket's peer is `0.0.0.0:0` or `[::]:0`.
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub from: LinuxState,
    pub to: LinuxState,
    pub source: KernelSource,
}

impl KernelChange {
    /// Whether this is a listening socket's own change (opening or closing the
    /// listener), not one of a connection.
    pub fn is_listener(&self) -> bool {
        self.remote.port() == 0 || self.from == LinuxState::Listen && self.to == LinuxState::Close
    }
}

/// Why there is no kernel view: said once, in one line, and the capture goes on.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("the kernel's state changes are read on Linux only")]
    NotLinux,
    #[error("tracefs is not usable here ({0}); it needs root")]
    Tracefs(String),
    #[error("{tracefs}; and the socket table cannot be sampled through sock_diag netlink ({sock_diag})")]
    Neither { tracefs: String, sock_diag: String },
    #[error("sock_diag netlink: {0}")]
    SockDiag(String),
}

/// The kernel's changes as a capture session reads them: the tracepoint where it can
/// be used. Polled by the capture's thread; never blocks.
pub enum Feed {
    #[cfg(target_os = "linux")]
    Traced(tracefs::Tracer),
    #[cfg(target_os = "linux")]
    Sampled(sock_diag::Sampler),
}

impl Feed {
    /// Starts reading the changes of sockets on `port` (all TCP sockets without one).
    #[cfg(target_os = "linux")]
    pub fn open(port: Option<u16>) -> Result<Feed, Unavailable> {
        let why = match tracefs::Tracer::open(port) {
            Ok(tracer) => return Ok(Feed::Traced(tracer)),
            Err(why) => why,
        };
        match sock_diag::Sampler::start(port) {
            Ok(sampler) => Ok(Feed::Sampled(sampler)),
            Err(e) => Err(Unavailable::Neither { tracefs: why.to_string(), sock_diag: e.to_string() }),
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn open(_port: Option<u16>) -> Result<Feed, Unavailable> {
        Err(Unavailable::NotLinux)
    }

    /// Where the changes come from.
    #[cfg(target_os = "linux")]
    pub fn source(&self) -> KernelSource {
        match self {
            Feed::Traced(_) => KernelSource::Tracepoint,
            Feed::Sampled(_) => KernelSource::SockDiag,
        }
    }

    /// The changes reported since the last call.
    #[cfg(target_os = "linux")]
    pub fn poll(&mut self) -> Vec<KernelChange> {
        let mut out = Vec::new();
        match self {
            Feed::Traced(tracer) => tracer.poll(&mut out),
            Feed::Sampled(sampler) => sampler.poll(&mut out),
        }
        out
    }

    // Elsewhere there is no feed to ask: `open` never gives one.
    #[cfg(not(target_os = "linux"))]
    pub fn source(&self) -> KernelSource {
        match *self {}
    }

    #[cfg(not(target_os = "linux"))]
    pub fn poll(&mut self) -> Vec<KernelChange> {
        match *self {}
    }
}
