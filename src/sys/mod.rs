//! The system calls the library makes, behind safe wrappers: epoll and
//! inotify for the QEMU monitor thread, poll(2) for the default event loop
//! and virt-eventsd, the wake-up descriptor both loops are interrupted with,
//! kill(2), the process's user ID, the host's name, error numbers' texts, the Unix-socket calls std lacks (a
//! non-blocking connect, the peer's credentials), and termination signals
//! made readable.
//! This module and `capi` are the only places with `unsafe` code; every
//! block says why it is sound.

mod epoll;
mod host;
mod inotify;
mod poll;
mod process;
#[cfg(test)]
pub mod signal;
mod socket;
mod termination;
mod wakeup;

use std::io;
use std::os::unix::io::{FromRawFd, OwnedFd};

pub use epoll::{Epoll, Ready};
pub use host::{clock_ticks_per_second, error_text, hostname, kvm_check_extension, page_size};
pub use inotify::{DirChange, Inotify};
pub use poll::poll;
pub use process::{effective_uid, kill};
pub use socket::{connect_unix_nonblocking, peer_credentials};
pub use termination::termination_signals;
pub use wakeup::Wakeup;

/// A system call's result, with -1 turned into the error it set.
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
