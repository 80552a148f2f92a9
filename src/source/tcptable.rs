//! The socket table of Windows, from `GetExtendedTcpTable` (IP Helper): the table
//! `netstat -ano` prints, asked for directly.
//!
//! The tables are read as bytes, laid out as the API documents them, so that recorded
//! tables are tested on any system:
//!
//! - `MIB_TCPTABLE_OWNER_PID`: a u32 count, then 24-byte rows of six u32: state, local
//!   address, local port, remote address, remote port, owning process.
//! - `MIB_TCP6TABLE_OWNER_PID`: a u32 count, then 56-byte rows: local address (16
//!   bytes), scope, port, remote address (16 bytes), scope, port, state, process.
//!
//! Numbers are in the machine's order (little-endian on every Windows), addresses and
//! ports in network order in the low bytes of their field. The table holds no timers.

use super::kernel::KernelSocket;
use crate::track::TcpState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const V4_ROW: usize = 24;
const V6_ROW: usize = 56;

/// Every TCP socket of this machine, IPv4 and IPv6; `None` when the API fails.
#[cfg(windows)]
pub fn sockets() -> Option<Vec<KernelSocket>> {
    use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};
    let mut sockets = parse_v4(&table(u32::from(AF_INET))?);
    sockets.extend(parse_v6(&table(u32::from(AF_INET6))?));
    Some(sockets)
}

/// One family's table, as the API fills it.
#[cfg(windows)]
fn table(family: u32) -> Option<Vec<u8>> {
    use windows_sys::Win32::Foundation::{ERROR_INSUFFICIENT_BUFFER, NO_ERROR};
    use windows_sys::Win32::NetworkManagement::IpHelper::{GetExtendedTcpTable, TCP_TABLE_OWNER_PID_ALL};
    // u32 words, so that the rows the API writes are aligned as its structs require.
    let mut words: Vec<u32> = vec![0; 1024];
    // Sockets come and go between the call that tells the size and the one that fills
    // the buffer: ask again, a few times at most.
    for _ in 0..4 {
        let mut size = u32::try_from(words.len() * 4).ok()?;
        // SAFETY: the buffer holds `size` writable bytes, and the API writes no more.
        let rc = unsafe {
            GetExtendedTcpTable(words.as_mut_ptr().cast(), &mut size, 0, family, TCP_TABLE_OWNER_PID_ALL, 0)
        };
        match rc {
            NO_ERROR => {
                let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
                return Some(bytes[..(size as usize).min(bytes.len())].to_vec());
            }
            ERROR_INSUFFICIENT_BUFFER => words.resize((size as usize).div_ceil(4) + 256, 0),
            _ => return None,
        }
    }
    None
}

/// The rows of an IPv4 table; a table cut short gives the rows it holds.
pub fn parse_v4(table: &[u8]) -> Vec<KernelSocket> {
    rows(table, V4_ROW)
        .filter_map(|row| {
            let ip = |at: usize| IpAddr::V4(Ipv4Addr::new(row[at], row[at + 1], row[at + 2], row[at + 3]));
            Some(KernelSocket {
                state: state(word(row, 0))?,
                local: SocketAddr::new(ip(4), port(row, 8)),
                remote: SocketAddr::new(ip(12), port(row, 16)),
                timer_left: None,
            })
        })
        .collect()
}

/// The rows of an IPv6 table.
pub fn parse_v6(table: &[u8]) -> Vec<KernelSocket> {
    rows(table, V6_ROW)
        .filter_map(|row| {
            let ip = |at: usize| {
                let bytes: [u8; 16] = row[at..at + 16].try_into().unwrap_or_default();
                IpAddr::V6(Ipv6Addr::from(bytes))
            };
            Some(KernelSocket {
                local: SocketAddr::new(ip(0), port(row, 20)),
                remote: SocketAddr::new(ip(24), port(row, 44)),
                state: state(word(row, 48))?,
                timer_left: None,
            })
        })
        .collect()
}

/// The table's rows: as many as its count says and its bytes hold.
fn rows(table: &[u8], size: usize) -> impl Iterator<Item = &[u8]> {
    let count = table.get(..4).map_or(0, |c| word(c, 0) as usize);
    table.get(4..).unwrap_or_default().chunks_exact(size).take(count)
}

fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// A port field: the port in network order in its first two bytes.
fn port(row: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([row[at], row[at + 1]])
}

/// `MIB_TCP_STATE`: 1 CLOSED … 11 TIME_WAIT; 12 (DELETE_TCB) is a socket being freed.
fn state(value: u32) -> Option<TcpState> {
    Some(match value {
        1 => TcpState::Closed,
        2 => TcpState::Listen,
        3 => TcpState::SynSent,
        4 => TcpState::SynReceived,
        5 => TcpState::Established,
        6 => TcpState::FinWait1,
        7 => TcpState::FinWait2,
        8 => TcpState::CloseWait,
        9 => TcpState::Closing,
        10 => TcpState::LastAck,
        11 => TcpState::TimeWait,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as the API lays it out: six little-endian u32, the address bytes in
    /// network order, the port's two network-order bytes first in its field.
    fn v4_row(state: u32, local: [u8; 4], lport: u16, remote: [u8; 4], rport: u16) -> Vec<u8> {
        let mut row = state.to_le_bytes().to_vec();
        row.extend(local);
        row.extend(u32::from(lport.swap_bytes()).to_le_bytes());
        row.extend(remote);
        row.extend(u32::from(rport.swap_bytes()).to_le_bytes());
        row.extend(4242u32.to_le_bytes());
        row
    }

    #[test]
    fn reads_ipv4_rows() {
        let mut table = 2u32.to_le_bytes().to_vec();
        table.extend(v4_row(11, [127, 0, 0, 1], 52900, [127, 0, 0, 1], 8080));
        table.extend(v4_row(2, [0, 0, 0, 0], 8080, [0, 0, 0, 0], 0));
        let sockets = parse_v4(&table);
        assert_eq!(sockets.len(), 2);
        assert_eq!(sockets[0].state, TcpState::TimeWait);
        assert_eq!(sockets[0].local, "127.0.0.1:52900".parse().unwrap());
        assert_eq!(sockets[0].remote, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(sockets[1].state, TcpState::Listen);
        assert_eq!(sockets[1].local, "0.0.0.0:8080".parse().unwrap());
    }

    /// A table of one row written out byte by byte, as the documentation lays it out:
    /// 127.0.0.1:5357 listening (0x14ed in network order), owned by process 4.
    #[test]
    fn reads_a_row_written_out_byte_by_byte() {
        let table = [
            1, 0, 0, 0, // one row
            2, 0, 0, 0, // MIB_TCP_STATE_LISTEN
            127, 0, 0, 1, 0x14, 0xed, 0, 0, // local
            0, 0, 0, 0, 0, 0, 0, 0, // remote
            4, 0, 0, 0, // process
        ];
        let sockets = parse_v4(&table);
        assert_eq!(sockets.len(), 1);
        assert_eq!(sockets[0].local, "127.0.0.1:5357".parse().unwrap());
        assert_eq!(sockets[0].state, TcpState::Listen);
    }

    #[test]
    fn reads_ipv6_rows() {
        let mut row = Ipv6Addr::LOCALHOST.octets().to_vec();
        row.extend(0u32.to_le_bytes());
        row.extend(u32::from(8080u16.swap_bytes()).to_le_bytes());
        row.extend(Ipv6Addr::LOCALHOST.octets());
        row.extend(0u32.to_le_bytes());
        row.extend(u32::from(40000u16.swap_bytes()).to_le_bytes());
        row.extend(8u32.to_le_bytes());
        row.extend(0u32.to_le_bytes());
        let mut table = 1u32.to_le_bytes().to_vec();
        table.extend(row);
        let sockets = parse_v6(&table);
        assert_eq!(sockets.len(), 1);
        assert_eq!(sockets[0].local, "[::1]:8080".parse().unwrap());
        assert_eq!(sockets[0].remote, "[::1]:40000".parse().unwrap());
        assert_eq!(sockets[0].state, TcpState::CloseWait);
    }

    #[test]
    fn short_tables_and_unknown_states_give_no_rows() {
        assert!(parse_v4(&[]).is_empty());
        assert!(parse_v4(&[3, 0, 0, 0, 2, 0]).is_empty());
        let mut table = 1u32.to_le_bytes().to_vec();
        table.extend(v4_row(12, [127, 0, 0, 1], 1, [127, 0, 0, 1], 2));
        assert!(parse_v4(&table).is_empty());
    }
}
