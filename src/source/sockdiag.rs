//! Linux's TIME-WAIT sockets, asked of the kernel through a `sock_diag` netlink dump:
//! one request gives every TIME-WAIT socket of the ports wanted, with its time left.
//!
//! `/proc/net/tcp` tells the same, but reading it costs ~2 ms even when the table is
//! empty and grows with every socket, listed in text; the dump is filtered in the
//! kernel by state and port (the same request `ss -tn state time-wait sport = :P`
//! makes), so a live capture can ask about thousands of connections every poll.
//!
//! This module is tcplab's one `sock_diag` client: [`request_states`], [`parse_dump`]
//! and, on Linux, [`open`] and [`dump`] serve the kernel-state sampler of `--kernel`
//! (`kstate::sock_diag`) too. The messages are built and read as bytes, laid out as
//! `linux/inet_diag.h` says, so that the parser is tested on any system; only [`open`],
//! [`dump`] and [`time_waits`] talk to the kernel.

use super::kernel::KernelSocket;
use crate::track::TcpState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

pub(crate) const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
pub(crate) const SOCK_DIAG_BY_FAMILY: u16 = 20;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// `inet_diag_bc_op` codes: "source port equals" and "destination port equals", each
/// followed by a second op whose `no` field holds the port (Linux 4.16 and later).
const INET_DIAG_BC_JMP: u8 = 1;
const INET_DIAG_BC_S_EQ: u8 = 11;
const INET_DIAG_BC_D_EQ: u8 = 12;
/// The kernel's TCP_TIME_WAIT, as a bit of `idiag_states`.
const TCP_TIME_WAIT: u32 = 6;
/// The kernel's TCP_LISTEN, as a bit of `idiag_states`.
#[cfg(target_os = "linux")]
const TCP_LISTEN: u32 = 10;
/// `inet_diag_msg`: family, state, timer, retransmits, the 48-byte socket id, then
/// expires, queues, uid and inode.
const DIAG_MSG: usize = 72;
/// Linux's address families (other systems number them differently).
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
/// More ports than this are not filtered in the kernel: each costs the kernel two
/// comparisons per socket, and a connection's ports are mostly few.
pub const MAX_PORTS: usize = 32;

/// The request for one address family's TIME-WAIT sockets whose local or remote port
/// is one of `ports` (all of them when `ports` is empty).
pub fn request(family: u8, ports: &[u16], seq: u32) -> Vec<u8> {
    request_states(family, 1 << TCP_TIME_WAIT, ports, seq)
}

/// The request for one address family's sockets in `states` (a bit per Linux state
/// number) whose local or remote port is one of `ports` (any port when it is empty).
pub fn request_states(family: u8, states: u32, ports: &[u16], seq: u32) -> Vec<u8> {
    let bytecode = port_filter(ports);
    let attr_len = if bytecode.is_empty() { 0 } else { 4 + bytecode.len() };
    let len = NLMSG_HDR + 56 + attr_len;
    let mut msg = Vec::with_capacity(len);
    msg.extend((len as u32).to_ne_bytes());
    msg.extend(SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    msg.extend((NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend(seq.to_ne_bytes());
    msg.extend(0u32.to_ne_bytes());
    // inet_diag_req_v2: family, IPPROTO_TCP, no extensions, padding, the states wanted,
    // and a socket id left empty (a dump matches on the bytecode instead).
    msg.extend([family, 6, 0, 0]);
    msg.extend(states.to_ne_bytes());
    msg.extend([0u8; 48]);
    if !bytecode.is_empty() {
        msg.extend((attr_len as u16).to_ne_bytes());
        msg.extend(INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        msg.extend(bytecode);
    }
    msg
}

/// `sport == p1 || dport == p1 || sport == p2 || …` as inet_diag bytecode, built as
/// `ss` builds an "or": each test is a port comparison (two 4-byte ops) whose match
/// goes on to a jump to the end (accept) and whose miss skips that jump to the next
/// test; the last test's match reaches the end itself and its miss jumps past it
/// (reject). The kernel checks that every miss lands on an op reached by following
/// the matches, which this chain keeps.
fn port_filter(ports: &[u16]) -> Vec<u8> {
    let ports = if ports.len() > MAX_PORTS { &[][..] } else { ports };
    let tests: Vec<(u8, u16)> =
        ports.iter().flat_map(|&p| [(INET_DIAG_BC_S_EQ, p), (INET_DIAG_BC_D_EQ, p)]).collect();
    let total = tests.len() * 12 - if tests.is_empty() { 0 } else { 4 };
    let mut code = Vec::with_capacity(total);
    let mut op = |code_: u8, yes: u8, no: u16| {
        code.push(code_);
        code.push(yes);
        code.extend(no.to_ne_bytes());
    };
    let last = tests.len().saturating_sub(1);
    for (i, (cmp, port)) in tests.into_iter().enumerate() {
        op(cmp, 8, 12);
        op(0, 0, port);
        if i < last {
            // Always taken "no": from here to the end.
            let to_end = (total - (i * 12 + 8)) as u16;
            op(INET_DIAG_BC_JMP, 4, to_end);
        }
    }
    code
}

/// One socket of a dump, as the kernel lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Linux's state number (`enum tcp_state`).
    pub state: u8,
    /// The socket's timer, in milliseconds (for TIME-WAIT, the time left).
    pub expires_ms: u32,
}

/// What one buffer of the kernel's reply held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Dump {
    pub sockets: Vec<DiagSocket>,
    /// The dump is over (NLMSG_DONE came, or an error).
    pub done: bool,
    /// The kernel refused the request: its (negative) errno.
    pub error: Option<i32>,
}

/// Reads the messages of one buffer of the reply; a message cut short ends it.
pub fn parse_dump(buf: &[u8]) -> Dump {
    let mut dump = Dump::default();
    let mut rest = buf;
    while rest.len() >= NLMSG_HDR {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if len < NLMSG_HDR || len > rest.len() {
            break;
        }
        let body = &rest[NLMSG_HDR..len];
        match kind {
            NLMSG_DONE => {
                dump.done = true;
                return dump;
            }
            NLMSG_ERROR => {
                let errno = body.get(..4).map_or(0, |e| i32::from_ne_bytes([e[0], e[1], e[2], e[3]]));
                if errno != 0 {
                    dump.error = Some(errno);
                    dump.done = true;
                    return dump;
                }
            }
            SOCK_DIAG_BY_FAMILY => dump.sockets.extend(parse_socket(body)),
            _ => {}
        }
        // Messages are aligned to 4 bytes.
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    dump
}

/// One `inet_diag_msg`: addresses in network order, ports big-endian, the timer in
/// milliseconds.
fn parse_socket(body: &[u8]) -> Option<DiagSocket> {
    let body = body.get(..DIAG_MSG)?;
    let family = body[0];
    let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
    let ip = |at: usize| -> Option<IpAddr> {
        match family {
            AF_INET => Some(IpAddr::V4(Ipv4Addr::new(body[at], body[at + 1], body[at + 2], body[at + 3]))),
            AF_INET6 => {
                let bytes: [u8; 16] = body[at..at + 16].try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(bytes)))
            }
            _ => None,
        }
    };
    Some(DiagSocket {
        local: SocketAddr::new(ip(8)?, port(4)),
        remote: SocketAddr::new(ip(24)?, port(6)),
        state: body[1],
        expires_ms: u32::from_ne_bytes([body[52], body[53], body[54], body[55]]),
    })
}

/// What one buffer of the kernel's reply held, of TIME-WAIT sockets.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub sockets: Vec<KernelSocket>,
    /// The dump is over (NLMSG_DONE came).
    pub done: bool,
    /// The kernel refused the request (NLMSG_ERROR with an error).
    pub failed: bool,
}

/// [`parse_dump`], keeping the TIME-WAIT sockets with their time left.
pub fn parse(buf: &[u8]) -> Reply {
    let dump = parse_dump(buf);
    let sockets = dump
        .sockets
        .into_iter()
        .filter(|s| u32::from(s.state) == TCP_TIME_WAIT)
        .map(|s| KernelSocket {
            local: s.local,
            remote: s.remote,
            state: TcpState::TimeWait,
            timer_left: Some(Duration::from_millis(u64::from(s.expires_ms))),
        })
        .collect();
    Reply { sockets, done: dump.done, failed: dump.error.is_some() }
}

/// A `sock_diag` netlink socket.
#[cfg(target_os = "linux")]
pub fn open() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: a plain socket(2) call; the descriptor is owned from here on.
    let fd = unsafe {
        libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, libc::NETLINK_SOCK_DIAG)
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Every socket (IPv4 and IPv6) in `states` whose local or remote port is in `ports`
/// (any port when it is empty), asked on `fd`.
#[cfg(target_os = "linux")]
pub fn dump(fd: &std::os::fd::OwnedFd, states: u32, ports: &[u16]) -> std::io::Result<Vec<DiagSocket>> {
    use std::os::fd::AsRawFd;
    let mut sockets = Vec::new();
    // Large enough for a few hundred sockets per read, so a big table takes few calls.
    let mut buf = vec![0u8; 64 << 10];
    for (seq, family) in [(1, AF_INET), (2, AF_INET6)] {
        let req = request_states(family, states, ports, seq);
        // SAFETY: sockaddr_nl is plain data; zeroed is its "the kernel" address.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `req` and `kernel` are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                req.as_ptr().cast(),
                req.len(),
                0,
                (&raw const kernel).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(std::io::Error::last_os_error());
        }
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let got = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if got < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if got == 0 {
                break;
            }
            let reply = parse_dump(&buf[..got as usize]);
            if let Some(errno) = reply.error {
                return Err(std::io::Error::from_raw_os_error(-errno));
            }
            sockets.extend(reply.sockets);
            if reply.done {
                break;
            }
        }
    }
    Ok(sockets)
}

/// Every TIME-WAIT socket (IPv4 and IPv6) whose local or remote port is in `ports` (any
/// port when `ports` is empty or longer than [`MAX_PORTS`]); `None` when the kernel
/// cannot be asked this way, so that the caller reads /proc instead.
#[cfg(target_os = "linux")]
pub fn time_waits(ports: &[u16]) -> Option<Vec<KernelSocket>> {
    let sockets = dump(&open().ok()?, 1 << TCP_TIME_WAIT, ports).ok()?;
    let sockets = sockets.into_iter().map(|s| KernelSocket {
        local: s.local,
        remote: s.remote,
        state: TcpState::TimeWait,
        timer_left: Some(Duration::from_millis(u64::from(s.expires_ms))),
    });
    Some(sockets.collect())
}

/// The addresses (IPv4 and IPv6) on which TCP `port` is listened on, as the kernel
/// lists its listening sockets: `0.0.0.0` or `::` for every address. `None` when the
/// kernel cannot be asked this way.
#[cfg(target_os = "linux")]
pub fn listening_on(port: u16) -> Option<Vec<IpAddr>> {
    let sockets = dump(&open().ok()?, 1 << TCP_LISTEN, &[port]).ok()?;
    // The filter matches either port; a listening socket's remote port is 0.
    Some(sockets.into_iter().filter(|s| s.local.port() == port).map(|s| s.local.ip()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One reply message for 127.0.0.1:40000 → 127.0.0.1:8080 in TIME-WAIT, 59.5 s left.
    fn tw_message() -> Vec<u8> {
        let mut body = vec![AF_INET, 6, 3, 0];
        body.extend(40000u16.to_be_bytes());
        body.extend(8080u16.to_be_bytes());
        body.extend([127, 0, 0, 1]);
        body.extend([0; 12]);
        body.extend([127, 0, 0, 1]);
        body.extend([0; 12]);
        body.extend([0; 12]); // interface and cookie
        body.extend(59_500u32.to_ne_bytes());
        body.extend([0; 16]);
        let mut msg = ((NLMSG_HDR + body.len()) as u32).to_ne_bytes().to_vec();
        msg.extend(SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        msg.extend(2u16.to_ne_bytes());
        msg.extend([0; 8]);
        msg.extend(body);
        msg
    }

    #[test]
    fn reads_a_time_wait_socket_and_the_end_of_the_dump() {
        let mut buf = tw_message();
        buf.extend(tw_message());
        let mut done = (NLMSG_HDR as u32 + 4).to_ne_bytes().to_vec();
        done.extend(NLMSG_DONE.to_ne_bytes());
        done.extend([0; 14]);
        buf.extend(done);
        let reply = parse(&buf);
        assert!(reply.done && !reply.failed);
        assert_eq!(reply.sockets.len(), 2);
        let s = &reply.sockets[0];
        assert_eq!(s.local, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(s.remote, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.state, TcpState::TimeWait);
        assert_eq!(s.timer_left, Some(Duration::from_millis(59_500)));
    }

    #[test]
    fn a_message_cut_short_ends_the_buffer() {
        let msg = tw_message();
        for cut in [0, 3, NLMSG_HDR, msg.len() - 1] {
            assert_eq!(parse(&msg[..cut]), Reply::default(), "cut at {cut}");
        }
    }

    /// Two ports: four comparisons, each but the last followed by a jump to the end.
    #[test]
    fn the_port_filter_accepts_on_any_match() {
        let code = port_filter(&[8080, 9090]);
        assert_eq!(code.len(), 44);
        let ops: Vec<(u8, u8, u16)> =
            code.chunks(4).map(|c| (c[0], c[1], u16::from_ne_bytes([c[2], c[3]]))).collect();
        let (s, d, j) = (INET_DIAG_BC_S_EQ, INET_DIAG_BC_D_EQ, INET_DIAG_BC_JMP);
        assert_eq!(
            ops,
            [
                (s, 8, 12),
                (0, 0, 8080),
                (j, 4, 36),
                (d, 8, 12),
                (0, 0, 8080),
                (j, 4, 24),
                (s, 8, 12),
                (0, 0, 9090),
                (j, 4, 12),
                (d, 8, 12),
                (0, 0, 9090),
            ]
        );
        assert!(port_filter(&[]).is_empty());
        assert_eq!(request(2, &[], 1).len(), NLMSG_HDR + 56);
    }
}
