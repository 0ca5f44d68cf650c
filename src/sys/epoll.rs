//! epoll(7), which the QEMU monitor thread waits in.

use std::io;
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};

use super::{check, owned};

/// An epoll instance; tokens are the caller's.
pub struct Epoll(OwnedFd);

impl Epoll {
    pub const IN: u32 = libc::EPOLLIN as u32;
    pub const OUT: u32 = libc::EPOLLOUT as u32;
    pub const RDHUP: u32 = libc::EPOLLRDHUP as u32;
    pub const HUP: u32 = libc::EPOLLHUP as u32;
    pub const ERR: u32 = libc::EPOLLERR as u32;

    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers; its result is checked.
        check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(|fd| Epoll(owned(fd)))
    }

    /// The instance's own descriptor: readable while an event is pending.
    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    pub fn add(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        check(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) }).map(drop)
    }

    pub fn modify(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        check(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_MOD, fd, &mut event) }).map(drop)
    }

    pub fn remove(&self, fd: RawFd) {
        // SAFETY: the event argument may be NULL for EPOLL_CTL_DEL.
        unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    }

    /// Waits up to `timeout_ms` (-1: forever); returns what is ready, in a
    /// buffer on the caller's stack rather than the heap: this runs once per
    /// event read. A signal ends the wait with nothing ready.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<Ready> {
        match self.wait_or_interrupted::<READY_MAX>(timeout_ms) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Ready::nothing()),
            waited => waited,
        }
    }

    /// [`Epoll::wait`] for at most `N` events, failing with `Interrupted`
    /// when a signal ends the wait, as poll(2) does, for the event loop to
    /// return on it. The rest stay ready for the next wait (a smaller
    /// buffer is less to clear and move on the way to the callback).
    pub fn wait_or_interrupted<const N: usize>(&self, timeout_ms: i32) -> io::Result<Ready<N>> {
        let mut ready = Ready::nothing();
        // SAFETY: the buffer holds `N` entries.
        let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), ready.events.as_mut_ptr(), N as i32, timeout_ms) };
        ready.len = check(n)? as usize;
        Ok(ready)
    }
}

/// The most events one [`Epoll::wait`] returns.
const READY_MAX: usize = 64;

/// What one [`Epoll::wait`] found ready: at most `N` events.
pub struct Ready<const N: usize = READY_MAX> {
    events: [libc::epoll_event; N],
    len: usize,
}

impl<const N: usize> Ready<N> {
    fn nothing() -> Ready<N> {
        Ready { events: [libc::epoll_event { events: 0, u64: 0 }; N], len: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `(token, events)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.events[..self.len].iter().map(|e| (e.u64, e.events))
    }
}
