//! The byte stream of one RPC connection, either side: a unix socket, a
//! TCP connection, or a helper program's socket (client side).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::ChildStderr;
use std::time::{Duration, Instant};

use crate::sys::poll;

/// The most of a helper program's standard error libvirt's client takes
/// into its error; longer output is not shown at all.
const HELPER_STDERR_LIMIT: usize = 1024;

/// How long a failed connection waits for its helper program to close its
/// standard error (libvirt's client waits for as long as it takes).
const HELPER_STDERR_WAIT: Duration = Duration::from_secs(2);

pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    /// The socket whose other end is a helper program's standard input and
    /// output (`ext`, `ssh`), and the program's standard error.
    Helper {
        socket: UnixStream,
        stderr: ChildStderr,
    },
}

impl Stream {
    pub fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_nonblocking(true),
            Stream::Tcp(s) => s.set_nonblocking(true),
            Stream::Helper { socket: s, .. } => s.set_nonblocking(true),
        }
    }

    pub fn fd(&self) -> RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Helper { socket: s, .. } => s.as_raw_fd(),
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
            Stream::Helper { socket: s, .. } => s.read(buf),
        }
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
            Stream::Helper { socket: s, .. } => s.write(buf),
        }
    }

    /// What a helper program wrote on its standard error, read as libvirt's
    /// client reads it once the connection failed: up to the program's
    /// closing it (here at most [`HELPER_STDERR_WAIT`]), cut at a NUL, with
    /// trailing whitespace trimmed. `Err(errno)` when it wrote more than
    /// [`HELPER_STDERR_LIMIT`] bytes (`EOVERFLOW`) or the read failed;
    /// `None` for a stream without a helper.
    pub fn helper_stderr(&mut self) -> Option<std::result::Result<String, i32>> {
        let Stream::Helper { stderr, .. } = self else { return None };
        let deadline = Instant::now() + HELPER_STDERR_WAIT;
        let mut said = Vec::new();
        let mut chunk = [0u8; HELPER_STDERR_LIMIT + 1];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds = [libc::pollfd { fd: stderr.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
            match poll(&mut fds, left.as_millis().min(i32::MAX as u128) as i32) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e.raw_os_error().unwrap_or(libc::EIO))),
            }
            let room = HELPER_STDERR_LIMIT + 1 - said.len();
            match stderr.read(&mut chunk[..room]) {
                Ok(0) => break,
                Ok(n) => said.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e.raw_os_error().unwrap_or(libc::EIO))),
            }
            if said.len() > HELPER_STDERR_LIMIT {
                return Some(Err(libc::EOVERFLOW));
            }
        }
        let text = said.split(|&b| b == 0).next().unwrap_or_default();
        let text = String::from_utf8_lossy(text);
        Some(Ok(text.trim_end_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']).to_string()))
    }
}
