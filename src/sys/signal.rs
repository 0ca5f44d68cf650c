//! Signals for the tests that check how the loops take an interrupted wait.

use std::os::unix::thread::JoinHandleExt;
use std::thread::JoinHandle;

extern "C" fn ignore(_: libc::c_int) {}

/// Installs a handler that does nothing for `signal`, so that it interrupts
/// system calls without ending the process.
pub fn interrupt_only(signal: libc::c_int) {
    // SAFETY: a zeroed sigaction is a valid "no flags" value; its mask is
    // then emptied through a pointer to the live local.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = ignore as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `action.sa_mask` is a live, exclusively borrowed sigset_t.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is a valid sigaction whose handler is async-signal-safe
    // (it does nothing); NULL asks for no old action.
    assert_eq!(unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) }, 0);
}

/// Sends `signal` to a thread that has not been joined.
pub fn send_to_thread<T>(thread: &JoinHandle<T>, signal: libc::c_int) {
    // SAFETY: the thread has not been joined (we borrow its handle), so its
    // pthread_t is valid.
    unsafe { libc::pthread_kill(thread.as_pthread_t(), signal) };
}
