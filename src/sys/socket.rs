//! Unix-socket calls std does not offer: a connect that never blocks, and
//! the credentials of the peer (SO_PEERCRED).

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::{check, owned};

/// Who is at the other end of a Unix socket: for a connection we made, the
/// process that called listen(2) on the socket, as the kernel recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCredentials {
    pub pid: libc::pid_t,
    pub uid: libc::uid_t,
}

/// Connects a non-blocking stream socket to `path`. A listener whose
/// backlog is full fails with `WouldBlock` instead of blocking the caller.
pub fn connect_unix_nonblocking(path: &Path) -> io::Result<UnixStream> {
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= address.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("socket path too long or not a path: {}", OsStr::from_bytes(bytes).to_string_lossy()),
        ));
    }
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (slot, byte) in address.sun_path.iter_mut().zip(bytes) {
        *slot = *byte as libc::c_char;
    }
    let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: socket takes no pointers; its result is checked.
    let socket: OwnedFd = owned(check(unsafe { libc::socket(libc::AF_UNIX, flags, 0) })?);
    let length = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    let address_ptr = (&address as *const libc::sockaddr_un).cast::<libc::sockaddr>();
    // SAFETY: `address` is a live, initialised sockaddr_un of `length` bytes.
    let result = unsafe { libc::connect(socket.as_raw_fd(), address_ptr, length) };
    match check(result) {
        Ok(_) => Ok(UnixStream::from(socket)),
        // Unix sockets connect at once or not at all; EINPROGRESS is not
        // theirs, but would mean the same as a full backlog: try later.
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
}

/// The credentials of the peer of a connected Unix stream.
pub fn peer_credentials(stream: &UnixStream) -> io::Result<PeerCredentials> {
    let mut credentials = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut length = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    let credentials_ptr = (&mut credentials as *mut libc::ucred).cast::<libc::c_void>();
    // SAFETY: `credentials` is a live ucred and `length` its size, both
    // exclusively borrowed for the call.
    let result = unsafe {
        libc::getsockopt(stream.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERCRED, credentials_ptr, &mut length)
    };
    check(result)?;
    Ok(PeerCredentials { pid: credentials.pid, uid: credentials.uid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn connects_and_knows_the_peer() {
        let dir = std::env::temp_dir().join(format!("virt-events-sock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let stream = connect_unix_nonblocking(&path).unwrap();
        let peer = peer_credentials(&stream).unwrap();
        assert_eq!(peer.pid, std::process::id() as libc::pid_t);
        assert_eq!(peer.uid, super::super::effective_uid());
        drop(listener);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
