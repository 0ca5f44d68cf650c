//! Safe wrappers for the Linux facilities the monitor thread waits on:
//! epoll, an eventfd to wake it, and inotify on embed roots.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// Takes ownership of a descriptor a successful system call returned.
fn owned(fd: libc::c_int) -> OwnedFd {
    // SAFETY: callers pass a descriptor just returned to us and owned by no one else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

pub struct Epoll(OwnedFd);

impl Epoll {
    pub const IN: u32 = libc::EPOLLIN as u32;
    pub const OUT: u32 = libc::EPOLLOUT as u32;
    pub const RDHUP: u32 = libc::EPOLLRDHUP as u32;
    pub const HUP: u32 = libc::EPOLLHUP as u32;
    pub const ERR: u32 = libc::EPOLLERR as u32;

    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain system call.
        check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(|fd| Epoll(owned(fd)))
    }

    pub fn add(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        check(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) }).map(drop)
    }

    pub fn modify(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: as in `add`.
        check(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_MOD, fd, &mut event) }).map(drop)
    }

    pub fn remove(&self, fd: RawFd) {
        // SAFETY: the event argument may be NULL for EPOLL_CTL_DEL.
        unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    }

    /// Waits up to `timeout_ms` (-1: forever); returns `(token, events)` pairs.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<Vec<(u64, u32)>> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
        // SAFETY: the buffer holds `events.len()` entries.
        let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), events.len() as i32, timeout_ms) };
        match check(n) {
            Ok(n) => Ok(events[..n as usize].iter().map(|e| (e.u64, e.events)).collect()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

pub struct EventFd(OwnedFd);

impl EventFd {
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: plain system call.
        check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) }).map(|fd| EventFd(owned(fd)))
    }

    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64; a saturated counter still wakes.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    pub fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from a non-blocking eventfd.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// What inotify reported about a name in a watched directory.
#[derive(Debug, PartialEq, Eq)]
pub enum DirChange {
    Appeared(String),
    Vanished(String),
}

pub struct Inotify(OwnedFd);

impl Inotify {
    /// Watches `dir` for names created, moved in, deleted or moved out.
    pub fn watch(dir: &Path) -> io::Result<Inotify> {
        // SAFETY: plain system call.
        let fd = owned(check(unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) })?);
        let path = CString::new(dir.as_os_str().as_bytes()).map_err(|_| io::ErrorKind::InvalidInput)?;
        let mask = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_DELETE | libc::IN_MOVED_FROM;
        // SAFETY: `path` is a valid C string for the duration of the call.
        check(unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) })?;
        Ok(Inotify(fd))
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Reads every pending change.
    pub fn changes(&self) -> Vec<DirChange> {
        let mut changes = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reads into a live buffer of the given size.
            let n = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return changes;
            }
            let mut offset = 0;
            let header = std::mem::size_of::<libc::inotify_event>();
            while offset + header <= n as usize {
                // SAFETY: the kernel wrote a whole inotify_event at `offset`;
                // read_unaligned copes with the byte buffer's alignment.
                let event: libc::inotify_event = unsafe { std::ptr::read_unaligned(buf.as_ptr().add(offset).cast()) };
                let name_bytes = &buf[offset + header..(offset + header + event.len as usize).min(n as usize)];
                let name =
                    String::from_utf8_lossy(name_bytes.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
                if event.mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0 {
                    changes.push(DirChange::Appeared(name));
                } else if event.mask & (libc::IN_DELETE | libc::IN_MOVED_FROM) != 0 {
                    changes.push(DirChange::Vanished(name));
                }
                offset += header + event.len as usize;
            }
        }
    }
}
