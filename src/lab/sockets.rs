//! The few socket calls that std leaves out and the newer scenarios need: binding before
//! connecting, a connect that does not wait, buffer sizes and the kernel's TCP_INFO.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// An IPv4 TCP socket bound to a local address, not yet connected.
pub struct BoundSocket {
    fd: OwnedFd,
}

impl BoundSocket {
    /// A non-blocking socket bound to `local` (port 0: the kernel picks one).
    pub fn bind(local: SocketAddr) -> io::Result<BoundSocket> {
        // SAFETY: socket(2) with constant arguments; the result is checked before use
        // and then owned, so it is closed exactly once.
        let fd = unsafe {
            let raw =
                libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0);
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            OwnedFd::from_raw_fd(raw)
        };
        // The port may have been a listener's a moment ago.
        set_int(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        let sa = sockaddr_in(local)?;
        // SAFETY: `sa` is a valid sockaddr_in of the size passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const sa).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(BoundSocket { fd })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        // SAFETY: getsockname writes at most `len` bytes into the zeroed sockaddr_in.
        unsafe {
            let mut sa: libc::sockaddr_in = zeroed();
            let mut len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            if libc::getsockname(self.fd.as_raw_fd(), (&raw mut sa).cast(), &mut len) != 0 {
                return Err(io::Error::last_os_error());
            }
            let ip = Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr));
            Ok(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sa.sin_port)))
        }
    }

    /// Starts connecting to `remote`: the kernel sends the SYN before this returns,
    /// and does not wait for an answer.
    pub fn start_connect(&self, remote: SocketAddr) -> io::Result<()> {
        let sa = sockaddr_in(remote)?;
        // SAFETY: `sa` is a valid sockaddr_in of the size passed.
        let rc = unsafe {
            libc::connect(
                self.fd.as_raw_fd(),
                (&raw const sa).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        match io::Error::last_os_error() {
            _ if rc == 0 => Ok(()),
            e if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
            e => Err(e),
        }
    }

    /// Waits until the connection started by `start_connect` is open, and returns it
    /// as an ordinary blocking stream.
    pub fn wait_connected(self, within: Duration) -> io::Result<TcpStream> {
        let mut poll = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
        let timeout = libc::c_int::try_from(within.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd.
        match unsafe { libc::poll(&mut poll, 1, timeout) } {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("not connected within {within:?}"),
                ));
            }
            n if n < 0 => return Err(io::Error::last_os_error()),
            _ => {}
        }
        let stream = TcpStream::from(self.fd);
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        stream.set_nonblocking(false)?;
        Ok(stream)
    }
}

fn sockaddr_in(addr: SocketAddr) -> io::Result<libc::sockaddr_in> {
    let SocketAddr::V4(v4) = addr else {
        return Err(io::Error::other("these scenarios run over IPv4"));
    };
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = v4.port().to_be();
    sa.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
    Ok(sa)
}

/// Sets the socket's receive (`SO_RCVBUF`) or send (`SO_SNDBUF`) buffer size; the
/// kernel doubles the value for its bookkeeping.
pub fn set_buffer(socket: &impl AsRawFd, option: libc::c_int, bytes: libc::c_int) -> io::Result<()> {
    set_int(socket.as_raw_fd(), libc::SOL_SOCKET, option, bytes)
}

fn set_int(fd: RawFd, level: libc::c_int, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the option value is a c_int of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            option,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// The kernel's view of a connection (TCP_INFO): state, timers, backoff.
pub fn tcp_info(stream: &TcpStream) -> io::Result<libc::tcp_info> {
    // SAFETY: getsockopt writes at most `len` bytes into the zeroed tcp_info; a kernel
    // with a shorter struct writes less and leaves the rest zero.
    unsafe {
        let mut info: libc::tcp_info = zeroed();
        let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
        if libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(info)
    }
}
