//! kill(2) and the identity of the calling process.

use std::io;

/// Sends `signal` to the process `pid`.
pub fn kill(pid: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill takes no pointers; its result is checked.
    super::check(unsafe { libc::kill(pid, signal) }).map(drop)
}

/// The effective user ID of the process (geteuid(2)).
pub fn effective_uid() -> libc::uid_t {
    // SAFETY: geteuid takes no arguments and cannot fail.
    unsafe { libc::geteuid() }
}
