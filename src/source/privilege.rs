//! Privileges for capture: give them up once the capture is open, or, when there are
//! none, get a private network where capture is allowed.
//!
//! Started through `sudo`, tcplab opens the capture as root and then becomes the user
//! who ran sudo (tcpdump's `-Z`), so that nothing a packet does runs as root and files
//! it writes belong to that user. Without privileges, `demo` and `lab` move into a new
//! user and network namespace: inside it the process holds CAP_NET_RAW over its own
//! loopback, which is all they need.

use std::ffi::CString;
use std::io;

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Becomes SUDO_UID/SUDO_GID when running as root under sudo. Returns the user name
/// given up to, or `None` when there was nothing to drop.
pub fn drop_to_sudo_user() -> io::Result<Option<String>> {
    if !is_root() {
        return Ok(None);
    }
    let (Some(uid), Some(gid)) = (env_id("SUDO_UID"), env_id("SUDO_GID")) else {
        return Ok(None);
    };
    if uid == 0 {
        return Ok(None);
    }
    let user = std::env::var("SUDO_USER").unwrap_or_else(|_| uid.to_string());
    // Supplementary groups first (while still root), then the group, then the user:
    // once the uid changes, the other two can no longer be changed.
    let name = CString::new(user.clone()).unwrap_or_default();
    // SAFETY: plain libc calls on valid arguments; each result is checked.
    unsafe {
        if libc::initgroups(name.as_ptr(), gid) != 0 && libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(Some(user))
}

fn env_id(var: &str) -> Option<u32> {
    std::env::var(var).ok()?.parse().ok()
}

/// Moves this (still single-threaded) process into a new user and network namespace
/// where it is root, and brings that namespace's loopback up.
pub fn enter_private_network() -> io::Result<()> {
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: unshare is called before any thread is started; the result is checked.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    std::fs::write("/proc/self/setgroups", "deny")?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    bring_loopback_up()
}

/// `ip link set lo up`, with the ioctl that `ip` uses.
pub fn bring_loopback_up() -> io::Result<()> {
    // SAFETY: a plain datagram socket used only for two interface ioctls; the request
    // structure is zeroed and holds a NUL-terminated name; every result is checked.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let result = if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) != 0 {
            Err(io::Error::last_os_error())
        } else {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) != 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        libc::close(fd);
        result
    }
}
