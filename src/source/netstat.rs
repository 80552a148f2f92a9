//! The socket table of macOS and the BSDs, as `netstat -an -p tcp` prints it: the
//! one view of TCP states that every one of them has, without privileges.
//!
//! ```text
//! Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
//! tcp4       0      0  127.0.0.1.52900        127.0.0.1.8080         TIME_WAIT
//! tcp46      0      0  *.8080                 *.*                    LISTEN
//! ```
//!
//! An address is the host, a dot, and the port (`*` for any); IPv6 hosts may carry a
//! `%zone`. The table holds no timers, so a TIME-WAIT is confirmed without its time left.

use super::kernel::KernelSocket;
use crate::track::TcpState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Every TCP socket `netstat` lists; `None` when it cannot be run.
pub fn sockets() -> Option<Vec<KernelSocket>> {
    let out = std::process::Command::new("netstat").args(["-an", "-p", "tcp"]).output().ok()?;
    out.status.success().then(|| parse(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses netstat's whole output; headings and lines of other protocols are skipped.
pub fn parse(text: &str) -> Vec<KernelSocket> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<KernelSocket> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [proto, _recv_q, _send_q, local, remote, state, ..] = fields[..] else {
        return None;
    };
    // tcp, tcp4 or tcp6, and tcp46 for a socket of both families.
    let v6 = match proto {
        "tcp" | "tcp4" => false,
        "tcp6" | "tcp46" => true,
        _ => return None,
    };
    Some(KernelSocket {
        local: parse_addr(local, v6)?,
        remote: parse_addr(remote, v6)?,
        state: parse_state(state)?,
        timer_left: None,
    })
}

/// `127.0.0.1.8080`, `::1.8080`, `fe80::1%lo0.631`, `*.22`, `*.*`.
fn parse_addr(text: &str, v6: bool) -> Option<SocketAddr> {
    let (host, port) = text.rsplit_once('.')?;
    let port = if port == "*" { 0 } else { port.parse().ok()? };
    let ip = match host {
        "*" if v6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        _ => host.split('%').next()?.parse().ok()?,
    };
    Some(SocketAddr::new(ip, port))
}

/// The BSD kernel's state names (`tcpstates[]` of `netinet/tcp_fsm.h`).
fn parse_state(name: &str) -> Option<TcpState> {
    Some(match name {
        "CLOSED" => TcpState::Closed,
        "LISTEN" => TcpState::Listen,
        "SYN_SENT" => TcpState::SynSent,
        "SYN_RCVD" | "SYN_RECEIVED" => TcpState::SynReceived,
        "ESTABLISHED" => TcpState::Established,
        "CLOSE_WAIT" => TcpState::CloseWait,
        "FIN_WAIT_1" => TcpState::FinWait1,
        "CLOSING" => TcpState::Closing,
        "LAST_ACK" => TcpState::LastAck,
        "FIN_WAIT_2" => TcpState::FinWait2,
        "TIME_WAIT" => TcpState::TimeWait,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `netstat -an -p tcp` on macOS: two spaces before the addresses, padded states,
    /// tcp46 for a dual-stack listener, a zone on a link-local address.
    const MACOS: &str = "\
Active Internet connections (including servers)
Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)    
tcp4       0      0  127.0.0.1.52900        127.0.0.1.8080         TIME_WAIT  
tcp4       0      0  127.0.0.1.8080         127.0.0.1.52901        ESTABLISHED
tcp6       0      0  ::1.8080               ::1.52902              CLOSE_WAIT 
tcp46      0      0  *.8080                 *.*                    LISTEN     
tcp6       0      0  fe80::1%lo0.631        *.*                    LISTEN     
tcp4       0      0  *.22                   *.*                    LISTEN     
";

    /// The same command on FreeBSD: one space before the addresses, `SYN_RCVD`.
    const FREEBSD: &str = "\
Active Internet connections (including servers)
Proto Recv-Q Send-Q Local Address          Foreign Address        (state)
tcp4       0      0 127.0.0.1.40000        127.0.0.1.8080         FIN_WAIT_2
tcp4       0      0 127.0.0.1.8080         127.0.0.1.40001        SYN_RCVD
tcp6       0      0 *.22                   *.*                    LISTEN
";

    #[test]
    fn reads_macos_lines() {
        let sockets = parse(MACOS);
        assert_eq!(sockets.len(), 6);
        assert_eq!(sockets[0].local, "127.0.0.1:52900".parse().unwrap());
        assert_eq!(sockets[0].remote, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(sockets[0].state, TcpState::TimeWait);
        assert_eq!(sockets[0].timer_left, None);
        assert_eq!(sockets[2].local, "[::1]:8080".parse().unwrap());
        assert_eq!(sockets[2].state, TcpState::CloseWait);
        assert_eq!(sockets[3].local, "[::]:8080".parse().unwrap());
        assert_eq!(sockets[3].remote, "[::]:0".parse().unwrap());
        assert_eq!(sockets[4].local, "[fe80::1]:631".parse().unwrap());
        assert_eq!(sockets[5].local, "0.0.0.0:22".parse().unwrap());
        assert_eq!(sockets[5].state, TcpState::Listen);
    }

    #[test]
    fn reads_freebsd_lines() {
        let sockets = parse(FREEBSD);
        let states: Vec<TcpState> = sockets.iter().map(|s| s.state).collect();
        assert_eq!(states, [TcpState::FinWait2, TcpState::SynReceived, TcpState::Listen]);
        assert_eq!(sockets[1].remote, "127.0.0.1:40001".parse().unwrap());
    }

    #[test]
    fn headings_and_other_protocols_are_skipped() {
        assert!(parse("Proto Recv-Q Send-Q Local Address Foreign Address (state)").is_empty());
        assert!(parse("udp4 0 0 *.53 *.* ").is_empty());
        assert!(parse("tcp4 0 0 127.0.0.1.x 127.0.0.1.1 LISTEN").is_empty());
        assert!(parse("tcp4 0 0 127.0.0.1.1 127.0.0.1.2 NO_SUCH_STATE").is_empty());
    }
}
