//! inotify(7) on a directory: names appearing and going away.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::{check, owned};

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
        // SAFETY: inotify_init1 takes no pointers; its result is checked.
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
                let event: libc::inotify_event = unsafe { std::ptr::read_unaligned(buf[offset..].as_ptr().cast()) };
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
