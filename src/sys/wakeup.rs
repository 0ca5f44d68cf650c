//! The descriptor that wakes a thread blocked in poll(2) or epoll: an
//! eventfd where there is one, a pipe elsewhere. The default event loop and
//! the QEMU monitor thread each have one.

use std::io;
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};

/// A wake-up descriptor; both ends are non-blocking and close-on-exec.
pub struct Wakeup {
    read: OwnedFd,
    /// The end to write to when it is not `read` (the pipe variant).
    write: Option<OwnedFd>,
}

impl Wakeup {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn new() -> io::Result<Wakeup> {
        // SAFETY: eventfd takes no pointers; its result is checked.
        let fd = super::check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        Ok(Wakeup { read: super::owned(fd), write: None })
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn new() -> io::Result<Wakeup> {
        let mut fds: [libc::c_int; 2] = [-1; 2];
        // SAFETY: `fds` is a writable array of the two ints pipe() fills in.
        super::check(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
        let (read, write) = (super::owned(fds[0]), super::owned(fds[1]));
        for fd in [read.as_raw_fd(), write.as_raw_fd()] {
            // SAFETY: fcntl on a descriptor we own, with integer arguments only.
            super::check(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
            // SAFETY: as above.
            let flags = super::check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
            // SAFETY: as above.
            super::check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
        }
        Ok(Wakeup { read, write: Some(write) })
    }

    /// The descriptor to wait on (readable once signalled).
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Makes the descriptor readable. A failure can only be a full counter or
    /// pipe, which is readable already, so it is ignored.
    pub fn signal(&self) {
        let fd = self.write.as_ref().unwrap_or(&self.read).as_raw_fd();
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of a live local (the size an eventfd
        // requires) to a descriptor we own; the result is deliberately unused.
        let _ = unsafe { libc::write(fd, (&one as *const u64).cast(), std::mem::size_of::<u64>()) };
    }

    /// Empties the descriptor, so that the next wait blocks again. One read
    /// empties an eventfd (it returns the whole count); a pipe is read until
    /// it is empty. The wait this follows is on the latency path of every
    /// event, so no read more than needed.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: reads at most `buf.len()` bytes into a live local buffer
            // from a non-blocking descriptor we own.
            let n = unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 || self.write.is_none() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Wakeup;

    fn readable(wakeup: &Wakeup) -> bool {
        let mut fds = [libc::pollfd { fd: wakeup.fd(), events: libc::POLLIN, revents: 0 }];
        crate::sys::poll(&mut fds, 0).unwrap();
        fds[0].revents & libc::POLLIN != 0
    }

    /// However many signals came, one drain makes the next wait block.
    #[test]
    fn one_drain_empties_any_number_of_signals() {
        let wakeup = Wakeup::new().unwrap();
        assert!(!readable(&wakeup));
        for signals in [1, 3] {
            for _ in 0..signals {
                wakeup.signal();
            }
            assert!(readable(&wakeup));
            wakeup.drain();
            assert!(!readable(&wakeup), "after {signals} signals");
        }
    }
}
