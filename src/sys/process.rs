//! kill(2).

use std::io;

/// Sends `signal` to the process `pid`.
pub fn kill(pid: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill takes no pointers; its result is checked.
    super::check(unsafe { libc::kill(pid, signal) }).map(drop)
}
