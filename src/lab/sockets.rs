//! The few socket calls that std leaves out and the Linux-only scenarios need: binding
//! before connecting, a connect that does not wait, buffer sizes and the kernel's
//! TCP_INFO. socket2 makes the calls; only TCP_INFO, which it does not wrap, is asked
//! of libc.

use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// An IPv4 TCP socket bound to a local address, not yet connected.
pub struct BoundSocket {
    socket: Socket,
}

impl BoundSocket {
    /// A non-blocking socket bound to `local` (port 0: the kernel picks one).
    pub fn bind(local: SocketAddr) -> io::Result<BoundSocket> {
        if !local.is_ipv4() {
            return Err(io::Error::other("these scenarios run over IPv4"));
        }
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        // The port may have been a listener's a moment ago.
        socket.set_reuse_address(true)?;
        socket.bind(&SockAddr::from(local))?;
        Ok(BoundSocket { socket })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()?.as_socket().ok_or_else(|| io::Error::other("not an IP socket"))
    }

    /// Starts connecting to `remote`: the kernel sends the SYN before this returns,
    /// and does not wait for an answer.
    pub fn start_connect(&self, remote: SocketAddr) -> io::Result<()> {
        match self.socket.connect(&SockAddr::from(remote)) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Waits until the connection started by `start_connect` is open, and returns it
    /// as an ordinary blocking stream.
    pub fn wait_connected(self, within: Duration) -> io::Result<TcpStream> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let timeout = PollTimeout::try_from(within).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLOUT)];
        if poll(&mut fds, timeout)? == 0 {
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("not connected within {within:?}")));
        }
        let stream = TcpStream::from(self.socket);
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        stream.set_nonblocking(false)?;
        Ok(stream)
    }
}

/// Which of a socket's buffers to size.
#[derive(Debug, Clone, Copy)]
pub enum Buffer {
    /// SO_RCVBUF: how much the kernel holds for the program to read.
    Receive,
    /// SO_SNDBUF: how much the kernel holds before the peer acknowledges it.
    Send,
}

/// Sets one of the socket's buffer sizes; Linux doubles the value for its bookkeeping.
pub fn set_buffer<'s, S>(socket: &'s S, buffer: Buffer, bytes: usize) -> io::Result<()>
where
    SockRef<'s>: From<&'s S>,
{
    let socket = SockRef::from(socket);
    match buffer {
        Buffer::Receive => socket.set_recv_buffer_size(bytes),
        Buffer::Send => socket.set_send_buffer_size(bytes),
    }
}

/// The kernel's view of a connection (TCP_INFO): state, timers, backoff.
pub fn tcp_info(stream: &TcpStream) -> io::Result<libc::tcp_info> {
    use std::mem::{size_of, zeroed};
    use std::os::fd::AsRawFd;
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
