//! The scenarios: real sockets on loopback, each playing one exchange of the
//! document's story (or one of its exceptions) so that a class can watch it happen.

use crate::chat::set_abortive_close;
#[cfg(target_os = "linux")]
use crate::lab::{crossing, syn_retry, zero_window};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Open, chat both ways, the client closes: the textbook handshake and wave
    Handshake,
    /// The server closes first, so the server ends in TIME-WAIT
    ServerCloses,
    /// The passive closer waits before its FIN: four separate segments, a visible CLOSE-WAIT
    FourWay,
    /// The passive closer closes at once: its ACK and FIN travel together
    MergedClose,
    /// The client stops sending; the server keeps sending in CLOSE-WAIT, then closes
    HalfClose,
    /// Connect to a port nobody listens on: SYN answered by RST
    Refused,
    /// Close with SO_LINGER 0: RST instead of the wave, no TIME-WAIT
    Abort,
    /// An old duplicate SYN (crafted with pnet) reaches the server; the client resets the
    /// SYN-ACK, the server forgets it; then the real connection opens: why three handshakes
    StaleSyn,
    /// Two sockets connect to each other at once: the SYNs cross, both ends SYN-RECEIVED
    SimultaneousOpen,
    /// Both ends close at once: the FINs cross, both ends CLOSING, then TIME-WAIT
    SimultaneousClose,
    /// The first SYNs are lost: SYN retransmissions at doubling intervals
    SynRetry,
    /// The server stops reading: zero window, window probes, window update
    ZeroWindow,
    /// Data over a delayed link that loses and reorders chosen segments, between two
    /// network namespaces: duplicate ACKs, fast retransmission, a retransmission on
    /// timeout, out-of-order data (needs root)
    Lossy,
    /// A classroom LAN: the chat server in one network namespace on 0.0.0.0, students
    /// in others, joined by veth pairs and a bridge (Ethernet, ARP, a subnet of its
    /// own); each student chats in turn, captured on the server's interface
    Lan,
}

/// What a scenario needs beyond plain sockets, where some systems lack it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// nftables rules in a network namespace of the scenario's own (Linux).
    DroppedPackets,
    /// Two network namespaces joined by TAP devices (Linux).
    LossyLink,
    /// Linux's TCP_INFO, whose backoff counts the zero-window probes.
    ProbeCount,
    /// A raw TCP socket to send a SYN no socket sent (not allowed on Windows).
    RawSocket,
    /// Network namespaces joined by veth pairs and a bridge (Linux).
    Lan,
}

impl Needs {
    pub const ALL: [Needs; 5] =
        [Needs::DroppedPackets, Needs::LossyLink, Needs::ProbeCount, Needs::RawSocket, Needs::Lan];

    /// For error messages, which are English.
    pub fn english(self) -> &'static str {
        match self {
            Needs::DroppedPackets => "nftables in a network namespace of its own (Linux only)",
            Needs::LossyLink => "two network namespaces joined by TAP devices (Linux only)",
            Needs::ProbeCount => "Linux's TCP_INFO to count the zero-window probes",
            Needs::RawSocket => "a raw TCP socket (Windows allows none)",
            Needs::Lan => "network namespaces joined by veth pairs and a bridge (Linux only)",
        }
    }
}

impl Scenario {
    pub const ALL: [Scenario; 14] = [
        Scenario::Handshake,
        Scenario::ServerCloses,
        Scenario::FourWay,
        Scenario::MergedClose,
        Scenario::HalfClose,
        Scenario::Refused,
        Scenario::Abort,
        Scenario::StaleSyn,
        Scenario::SimultaneousOpen,
        Scenario::SimultaneousClose,
        Scenario::SynRetry,
        Scenario::ZeroWindow,
        Scenario::Lossy,
        Scenario::Lan,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Handshake => "handshake",
            Scenario::ServerCloses => "server-closes",
            Scenario::FourWay => "four-way",
            Scenario::MergedClose => "merged-close",
            Scenario::HalfClose => "half-close",
            Scenario::Refused => "refused",
            Scenario::Abort => "abort",
            Scenario::StaleSyn => "stale-syn",
            Scenario::SimultaneousOpen => "simultaneous-open",
            Scenario::SimultaneousClose => "simultaneous-close",
            Scenario::SynRetry => "syn-retry",
            Scenario::ZeroWindow => "zero-window",
            Scenario::Lossy => "lossy",
            Scenario::Lan => "lan",
        }
    }

    /// What this system lacks to play the scenario; `None` when it can.
    pub fn missing_here(self) -> Option<Needs> {
        let linux = cfg!(target_os = "linux");
        match self {
            Scenario::SimultaneousOpen | Scenario::SimultaneousClose | Scenario::SynRetry if !linux => {
                Some(Needs::DroppedPackets)
            }
            Scenario::Lossy if !linux => Some(Needs::LossyLink),
            Scenario::Lan if !linux => Some(Needs::Lan),
            Scenario::ZeroWindow if !linux => Some(Needs::ProbeCount),
            Scenario::StaleSyn if cfg!(windows) => Some(Needs::RawSocket),
            _ => None,
        }
    }

    /// Whether the scenario needs a listening server. In a simultaneous open nobody
    /// listens: the port becomes one of the two connecting ends.
    pub fn needs_server(self) -> bool {
        !matches!(self, Scenario::Refused | Scenario::SimultaneousOpen)
    }

    /// Plays the scenario against `addr`; `listener` (when the scenario has a server)
    /// is already listening there. Returns once both sides are done.
    pub fn play(
        self,
        listener: Option<TcpListener>,
        addr: SocketAddr,
        close_delay: Duration,
    ) -> io::Result<()> {
        if let Some(needs) = self.missing_here() {
            return Err(io::Error::other(format!("{} needs {}", self.name(), needs.english())));
        }
        // The scenarios that lose packets or fill a window play from modules of their own.
        #[cfg(target_os = "linux")]
        {
            let given =
                |listener: Option<TcpListener>| listener.ok_or_else(|| io::Error::other("no listener"));
            match self {
                Scenario::SimultaneousOpen => return crossing::simultaneous_open(addr),
                Scenario::SimultaneousClose => return crossing::simultaneous_close(given(listener)?, addr),
                Scenario::SynRetry => return syn_retry::play(given(listener)?, addr),
                Scenario::ZeroWindow => return zero_window::play(given(listener)?, addr),
                Scenario::Lossy => return super::lossy::play(given(listener)?, addr),
                // Its students live in namespaces of their own: `lab::run` plays it
                // with the LAN it built.
                Scenario::Lan => return Err(io::Error::other("the lan scenario plays on its LAN")),
                _ => {}
            }
        }
        let server = listener.map(|l| {
            let delay = match self {
                Scenario::FourWay => close_delay.max(Duration::from_millis(300)),
                Scenario::MergedClose => Duration::ZERO,
                _ => close_delay,
            };
            thread::spawn(move || serve_once(self, l, delay))
        });
        let client = play_client(self, addr, close_delay);
        let served = match server {
            Some(handle) => handle.join().unwrap_or_else(|_| Err(io::Error::other("server thread panicked"))),
            None => Ok(()),
        };
        client.and(served)
    }
}

const GREETINGS: [&str; 2] = ["hello, server", "how are you?"];

/// The client's side of each scenario.
fn play_client(scenario: Scenario, addr: SocketAddr, close_delay: Duration) -> io::Result<()> {
    if scenario == Scenario::Refused {
        return match TcpStream::connect(addr) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Err(io::Error::other(format!("{addr} unexpectedly accepted the connection"))),
        };
    }
    if scenario == Scenario::StaleSyn {
        send_stale_syn(addr)?;
        // The old SYN is long gone when the client really connects.
        thread::sleep(Duration::from_millis(200));
    }
    let mut stream = TcpStream::connect(addr)?;
    match scenario {
        Scenario::ServerCloses => {
            stream.write_all(b"please hang up")?;
            drain(&mut stream)?;
            // The server's FIN has arrived; wait so our ACK and FIN stay apart.
            thread::sleep(close_delay);
            Ok(())
        }
        Scenario::HalfClose => {
            stream.write_all(b"tell me three things, then hang up")?;
            stream.shutdown(Shutdown::Write)?;
            drain(&mut stream)
        }
        Scenario::Abort => {
            chat_once(&mut stream, GREETINGS[0])?;
            set_abortive_close(&stream)?;
            Ok(())
        }
        _ => {
            for line in GREETINGS {
                chat_once(&mut stream, line)?;
            }
            stream.shutdown(Shutdown::Write)?;
            drain(&mut stream)
        }
    }
}

/// Sends a SYN that no socket sent: from a loopback port nobody uses, with an
/// arbitrary sequence number, as an old duplicate from an earlier connection would
/// arrive. The server answers it with SYN-ACK; the kernel, which has no connection on
/// that port, answers the SYN-ACK with RST.
fn send_stale_syn(server: SocketAddr) -> io::Result<()> {
    use pnet_packet::ip::IpNextHeaderProtocols;
    use pnet_packet::tcp::{MutableTcpPacket, TcpFlags};
    use pnet_transport::{TransportChannelType, TransportProtocol, transport_channel};
    let std::net::IpAddr::V4(ip) = server.ip() else {
        return Err(io::Error::other("the stale-SYN scenario runs over IPv4"));
    };
    // A port that was free a moment ago, and so has no socket now.
    let from_port = TcpListener::bind((ip, 0))?.local_addr()?.port();
    let mut bytes = [0u8; 20];
    let mut syn = MutableTcpPacket::new(&mut bytes).ok_or_else(|| io::Error::other("TCP header buffer"))?;
    syn.set_source(from_port);
    syn.set_destination(server.port());
    syn.set_sequence(0x0BAD_5EED);
    syn.set_data_offset(5);
    syn.set_flags(TcpFlags::SYN);
    syn.set_window(64240);
    let checksum = pnet_packet::tcp::ipv4_checksum(&syn.to_immutable(), &ip, &ip);
    syn.set_checksum(checksum);
    let channel = TransportChannelType::Layer4(TransportProtocol::Ipv4(IpNextHeaderProtocols::Tcp));
    let (mut tx, _rx) = transport_channel(64, channel)?;
    tx.send_to(syn, server.ip())?;
    Ok(())
}

/// Sends `line` and waits for its echo.
fn chat_once(stream: &mut TcpStream, line: &str) -> io::Result<()> {
    stream.write_all(line.as_bytes())?;
    let mut echo = vec![0u8; line.len()];
    stream.read_exact(&mut echo)
}

/// Reads until the peer's FIN.
fn drain(stream: &mut TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    while stream.read(&mut buf)? > 0 {}
    Ok(())
}

/// The server's side: accept one client and play the scenario's part.
fn serve_once(scenario: Scenario, listener: TcpListener, close_delay: Duration) -> io::Result<()> {
    let (mut stream, _) = listener.accept()?;
    let mut buf = [0u8; 1024];
    match scenario {
        Scenario::ServerCloses => {
            let n = stream.read(&mut buf)?;
            stream.write_all(&buf[..n])?;
            // The server is the active closer here.
            stream.shutdown(Shutdown::Write)?;
            drain(&mut stream)
        }
        Scenario::HalfClose => {
            drain(&mut stream)?;
            // CLOSE-WAIT: the client has stopped sending but still reads.
            for answer in ["one: TCP is a byte stream. ", "two: FIN closes one direction. ", "three: bye."] {
                stream.write_all(answer.as_bytes())?;
                thread::sleep(Duration::from_millis(20));
            }
            Ok(())
        }
        Scenario::Abort => loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => stream.write_all(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
                Err(e) => return Err(e),
            }
        },
        _ => {
            loop {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n])?;
            }
            // The client's FIN is in: stay in CLOSE-WAIT a moment before our FIN.
            thread::sleep(close_delay);
            Ok(())
        }
    }
}
