//! SIGTERM and SIGINT turned into a readable descriptor, for a daemon that
//! waits in poll(2).

use std::io;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};

/// Where the signal handler writes; -1 when none is installed.
static SIGNAL_WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_termination_signal(_signal: libc::c_int) {
    let fd = SIGNAL_WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; `byte` outlives the call.
        // A full pipe already holds a wake-up, so the result is ignored.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

/// Makes SIGTERM and SIGINT readable: returns a non-blocking socket that
/// becomes readable when either arrives. Installed once per process.
pub fn termination_signals() -> io::Result<UnixStream> {
    let (read_end, write_end) = UnixStream::pair()?;
    read_end.set_nonblocking(true)?;
    write_end.set_nonblocking(true)?;
    let fd = write_end.as_raw_fd();
    if SIGNAL_WRITE_FD.compare_exchange(-1, fd, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, "termination signals already watched"));
    }
    // The write end lives as long as the process: the handler may run at any time.
    std::mem::forget(write_end);
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_termination_signal as *const () as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is a live sigset_t.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: `action` is initialised; its handler only calls the
        // async-signal-safe write(2).
        super::check(unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) })?;
    }
    Ok(read_end)
}
