//! poll(2), which the default event loop waits in.

use std::io;

/// Waits until one of `fds` is ready or `timeout_ms` passed (-1: forever);
/// returns how many are ready. An interrupting signal is an `Interrupted` error.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    let nfds = fds.len() as libc::nfds_t;
    // SAFETY: `fds` is a live, exclusively borrowed array of exactly `nfds`
    // pollfd structures.
    let result = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout_ms) };
    super::check(result).map(|n| n as usize)
}
