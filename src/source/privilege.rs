//! Privileges for capture: give them up once the capture is open, or, when there are
//! none, get a private network where capture is allowed.
//!
//! Started through `sudo` on a Unix system, tcplab opens the capture as root and then
//! becomes the user who ran sudo (tcpdump's `-Z`), so that nothing a packet does runs
//! as root and files it writes belong to that user. Windows has nothing to drop: Npcap
//! decides who may capture when it is installed, and tcplab never runs elevated for it.
//! Without privileges on Linux, `demo` and `lab` move into a new user and network
//! namespace: inside it the process holds CAP_NET_RAW over its own loopback, which is
//! all they need. Other systems have no such namespace.

#[cfg(unix)]
use std::ffi::CString;
use std::io;

/// Whether this process runs as root (on Windows, never: capture rights there come
/// from Npcap's install options, not from the user).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        nix::unistd::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Becomes SUDO_UID/SUDO_GID when running as root under sudo. Returns the user name
/// given up to, or `None` when there was nothing to drop.
#[cfg(unix)]
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
    become_user(&user, uid, gid)?;
    Ok(Some(user))
}

/// Windows: nothing to drop (see the module's text).
#[cfg(not(unix))]
pub fn drop_to_sudo_user() -> io::Result<Option<String>> {
    Ok(None)
}

/// For a process that needs no rights at all (the page server): root becomes the
/// user who ran sudo, or `nobody` when there is none; on Linux every capability goes
/// too, so that a binary given capture rights by `setcap` keeps none of them here.
#[cfg(unix)]
pub fn give_up_everything() -> io::Result<()> {
    if is_root() {
        match (env_id("SUDO_UID"), env_id("SUDO_GID")) {
            (Some(uid), Some(gid)) if uid != 0 => {
                let user = std::env::var("SUDO_USER").unwrap_or_else(|_| uid.to_string());
                become_user(&user, uid, gid)?;
            }
            _ => {
                // 65534 is nobody's number where the name cannot be looked up.
                let nobody = nix::unistd::User::from_name("nobody").ok().flatten();
                let (uid, gid) = nobody.map_or((65534, 65534), |u| (u.uid.as_raw(), u.gid.as_raw()));
                become_user("nobody", uid, gid)?;
            }
        }
    }
    #[cfg(target_os = "linux")]
    // Effective first: it may never hold more than Permitted.
    caps::clear(None, caps::CapSet::Effective)
        .and_then(|()| caps::clear(None, caps::CapSet::Permitted))
        .and_then(|()| caps::clear(None, caps::CapSet::Inheritable))
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(())
}

/// Supplementary groups first (while still root), then the group, then the user:
/// once the uid changes, the other two can no longer be changed.
#[cfg(unix)]
fn become_user(user: &str, uid: u32, gid: u32) -> io::Result<()> {
    use nix::unistd::{Gid, Uid, setgid, setuid};
    let name = CString::new(user).unwrap_or_default();
    let gid = Gid::from_raw(gid);
    set_groups_of(&name, gid)?;
    setgid(gid)?;
    setuid(Uid::from_raw(uid))?;
    Ok(())
}

/// The user's own supplementary groups, or none at all when they cannot be read:
/// never root's.
#[cfg(all(unix, not(target_vendor = "apple")))]
fn set_groups_of(name: &std::ffi::CStr, gid: nix::unistd::Gid) -> io::Result<()> {
    use nix::unistd::{initgroups, setgroups};
    initgroups(name, gid).or_else(|_| setgroups(&[]))?;
    Ok(())
}

/// nix leaves initgroups out on Apple systems (their group membership is resolved by
/// a directory service), so libc's is called there directly.
#[cfg(target_vendor = "apple")]
fn set_groups_of(name: &std::ffi::CStr, gid: nix::unistd::Gid) -> io::Result<()> {
    // SAFETY: a NUL-terminated name and a plain group id; the result is checked.
    let rc = unsafe { libc::initgroups(name.as_ptr(), gid.as_raw() as libc::c_int) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(unix)]
fn env_id(var: &str) -> Option<u32> {
    std::env::var(var).ok()?.parse().ok()
}

/// Moves this (still single-threaded) process into a new user and network namespace
/// where it is root, and brings that namespace's loopback up.
#[cfg(target_os = "linux")]
pub fn enter_private_network() -> io::Result<()> {
    use nix::sched::{CloneFlags, unshare};
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    // Called before any thread is started: unshare moves only the calling thread.
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)?;
    std::fs::write("/proc/self/setgroups", "deny")?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    bring_loopback_up()
}

/// Moves this process into a new network namespace of its own (root only).
#[cfg(target_os = "linux")]
pub fn enter_network_namespace() -> io::Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
    bring_loopback_up()
}

/// `ip link set lo up`, with the ioctl that `ip` uses. Linux's interface ioctls are
/// wrapped by neither socket2 nor nix, so this one stays a libc call.
#[cfg(target_os = "linux")]
pub fn bring_loopback_up() -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    // SAFETY: the request structure is zeroed and holds a NUL-terminated name; the
    // socket is open for both calls; every result is checked.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) != 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &req) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
