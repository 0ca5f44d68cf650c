//! What the monitor thread and its sources say to each other: the [`Source`]
//! trait, calloop-style (which descriptor, until when, what happened, what
//! next), and the requests and removals that go with it.

use std::os::unix::io::RawFd;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use serde_json::Value;

use super::domain::Reading;
use crate::driver::qemu::root::Root;
use crate::error::Result;

/// One thing the monitor thread waits on.
pub(super) trait Source {
    /// The descriptor to watch and the epoll events of interest, if any yet.
    fn fd(&self) -> Option<(RawFd, u32)>;
    /// When [`Source::expired`] must run next, if ever.
    fn deadline(&self) -> Option<Instant>;
    /// The descriptor is ready with `events`.
    fn ready(&mut self, events: u32, call: &mut Call) -> Next;
    /// The deadline came (and once when the source is added, to start it).
    fn expired(&mut self, now: Instant) -> Next;
    /// Something addressed to this source by its root and domain name.
    fn notify(&mut self, notice: Notice, call: &mut Call) -> Next;
    /// The root the source serves and, for a domain's monitor, the name.
    /// Roots are told apart by identity, not by directory: a connection
    /// closing and another opening the same directory may overlap.
    fn owner(&self) -> (&Arc<Root>, Option<&str>);
    /// The source leaves the thread: it finished, or it panicked.
    fn removed(&mut self, why: Removal);
}

/// What a call on a source has at hand besides the source: what it reads
/// into, and where it leaves what the thread must do for others.
pub(super) struct Call<'a> {
    /// The sources' one read buffer and line-shape cache (they read one at
    /// a time, whichever thread runs the round).
    pub(super) reading: &'a mut Reading,
    pub(super) then: Vec<Action>,
}

/// What a source wants after being called.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    Keep,
    Remove,
}

/// What a source asks the thread to do for others.
pub(super) enum Action {
    /// Attach the monitor socket `file` that appeared in `root`, unless it
    /// is known.
    Consider { root: Arc<Root>, file: String },
    /// The monitor socket of the domain `name` went away.
    SocketGone { root: Arc<Root>, name: String },
    /// A read filled the buffer: a burst, more is waiting.
    Backlogged,
}

/// Something addressed to one domain's monitor.
pub(super) enum Notice {
    Execute(Command),
    ExecuteRaw(RawCommand),
    SocketGone,
    /// The application drained the monitor's events below the low-water
    /// mark: it may be read again.
    Resume,
}

/// Why a source leaves the thread.
pub(super) enum Removal {
    Finished,
    Panicked(String),
}

/// A caller's QMP command for one domain's monitor.
pub(in crate::driver::qemu) struct Command {
    pub(super) execute: String,
    pub(super) arguments: Option<Value>,
    /// The command ends the domain on the caller's request: its end is
    /// reported as Stopped Destroyed.
    pub(super) destroying: bool,
    pub(super) reply: mpsc::Sender<Result<Value>>,
}

/// A caller's own QMP JSON (`virDomainQemuMonitorCommand`), answered with
/// QEMU's whole reply as compact JSON text, an error reply included.
pub(in crate::driver::qemu) struct RawCommand {
    pub(super) json: Value,
    pub(super) reply: mpsc::Sender<Result<String>>,
}
