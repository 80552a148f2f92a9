//! The socket table of Linux, from `/proc/net/tcp` and `/proc/net/tcp6`: the only
//! table that also tells how long a TIME-WAIT has left.

use super::kernel::KernelSocket;
use crate::track::TcpState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The kernel reports timer values in USER_HZ ticks, which is 100 on Linux.
const TICKS_PER_SEC: u64 = 100;

/// All TCP sockets of this network namespace; empty where /proc is not Linux's.
pub fn sockets() -> Vec<KernelSocket> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| text.lines().skip(1).filter_map(parse_line).collect::<Vec<_>>())
        .collect()
}

fn parse_line(line: &str) -> Option<KernelSocket> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = parse_addr(fields.next()?)?;
    let remote = parse_addr(fields.next()?)?;
    let state = match u8::from_str_radix(fields.next()?, 16).ok()? {
        0x01 => TcpState::Established,
        0x02 => TcpState::SynSent,
        0x03 => TcpState::SynReceived,
        0x04 => TcpState::FinWait1,
        0x05 => TcpState::FinWait2,
        0x06 => TcpState::TimeWait,
        0x07 => TcpState::Closed,
        0x08 => TcpState::CloseWait,
        0x09 => TcpState::LastAck,
        0x0A => TcpState::Listen,
        0x0B => TcpState::Closing,
        _ => return None,
    };
    let _queues = fields.next()?;
    let (timer, when) = fields.next()?.split_once(':')?;
    let ticks = u64::from_str_radix(when, 16).ok()?;
    let timer_left = (timer != "00").then(|| Duration::from_millis(ticks * 1000 / TICKS_PER_SEC));
    Some(KernelSocket { local, remote, state, timer_left })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6). Each 32-bit word is
/// printed in the host's byte order.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?.to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_a_time_wait_line() {
        let line = "   3: 0100007F:1F90 0100007F:9C40 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000";
        let s = parse_line(line).unwrap();
        assert_eq!(s.local.to_string(), "127.0.0.1:8080");
        assert_eq!(s.remote.to_string(), "127.0.0.1:40000");
        assert_eq!(s.state, TcpState::TimeWait);
        assert_eq!(s.timer_left, Some(Duration::from_secs(60)));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_ipv6_loopback() {
        let line = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1";
        let s = parse_line(line).unwrap();
        assert_eq!(s.local.to_string(), "[::1]:8080");
        assert_eq!(s.state, TcpState::Listen);
        assert_eq!(s.timer_left, None);
    }

    #[test]
    fn garbage_is_skipped() {
        assert_eq!(parse_line("sl local rem st"), None);
        assert_eq!(parse_line(""), None);
    }
}
