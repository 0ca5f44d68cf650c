//! The source for one domain's QMP monitor: connecting (retried until the
//! handshake deadline), the handshake and identity queries, then QEMU's
//! events mapped and queued, callers' commands, and the end of the domain.

use std::any::Any;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::source::{Action, Call, Next, Notice, RawCommand, Removal, Source};
use super::testing;
use crate::driver::qemu::mapping::{self, Attach, DomainRuntime, DomainState, End, Mapped};
use crate::driver::qemu::qmp::{ErrorReply, Incoming, Line, LineReader, Message, QmpEvent, Session, SessionState};
use crate::driver::qemu::raw_json::{OwnedRaw, Raw, Shapes, Tape};
use crate::driver::qemu::root::{allocate_id, warn, AttachedDomain, Root, HANDSHAKE_TIMEOUT, MONITOR_SUFFIX};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::state::{Backlog, Batch, PayloadSource, Spent};
use crate::event::{CText, DomainEvent, DomainIdentity, EventClass, EventPayload, QemuMonitorEvent};
use crate::sys::Epoll;
use crate::uuid::Uuid;

/// A socket can appear (bind) before QEMU listens on it: retry connecting.
const CONNECT_RETRY: Duration = Duration::from_millis(50);

/// What one `read(2)` takes, and what a monitor may read per round of the
/// monitor thread (so that one flooding monitor cannot starve the others).
const READ_SIZE: usize = 64 * 1024;

/// What every monitor reads with, one for all of them (they read one at a
/// time, under the sources' lock, on the monitor thread or a loop thread),
/// so that a monitor costs no buffer or cache of its own, and a thread that
/// reads costs no thread-local ones (whose look-up was on every read).
#[derive(Default)]
pub(super) struct Reading {
    /// What a read goes into: zeroed once, when first read into, not for
    /// each read (64 KiB cleared before every event of a slow stream cost
    /// microseconds of its latency).
    buf: Vec<u8>,
    reuse: Reuse,
}

impl Reading {
    /// The read buffer, and what taking lines reuses.
    fn parts(&mut self) -> (&mut [u8], &mut Reuse) {
        if self.buf.is_empty() {
            self.buf = vec![0; READ_SIZE];
        }
        (&mut self.buf, &mut self.reuse)
    }
}

/// What taking lines reuses from line to line, and from monitor to monitor.
#[derive(Default)]
struct Reuse {
    /// The shapes of the lines the monitors sent last (the monitors of one
    /// QEMU send lines of the same shapes).
    shapes: Shapes,
    /// The sources of deferred events that came back, to be filled again:
    /// a fresh one (three allocations, freed again when it comes back) cost
    /// more than mapping the event here. At most [`SOURCES_KEPT`].
    sources: Sources,
}

impl Reuse {
    /// Keeps `source`, come back from the queue, for a later event: if
    /// there is room, and it is one of ours and small (a monitor may send a
    /// line of megabytes, whose copy is not kept).
    fn keep(&mut self, source: PayloadSource) {
        if self.sources.len() >= SOURCES_KEPT {
            return;
        }
        if let Ok(source) = source.downcast::<DeferredSource>() {
            if source.data.heap_bytes() <= SOURCE_KEPT_BYTES {
                self.sources.push(source);
            }
        }
    }
}

/// Boxed, as the event queue takes them (and gives them back).
#[allow(clippy::vec_box)]
type Sources = Vec<Box<DeferredSource>>;

/// How many sources of deferred events [`Reuse`] keeps: enough for the
/// events a burst keeps in flight, about 600 bytes each.
const SOURCES_KEPT: usize = 1024;
/// The longest `data` of an event whose mapping is left for its delivery;
/// one with more is mapped at once. A deferred event keeps all of its
/// `data` until then, where the mapping keeps only the fields it reads, and
/// the queue's marks count events, not bytes. (A graphics event's is about
/// 200 bytes.)
const DEFERRED_DATA_MAX: usize = 2048;
/// The largest source [`Reuse`] keeps (its buffers' room): one of a
/// [`DEFERRED_DATA_MAX`]-byte `data` and its members.
const SOURCE_KEPT_BYTES: usize = 8192;

/// The environment variable that sets the queue marks, `HIGH` or `HIGH:LOW`.
pub const QUEUE_MARKS_VARIABLE: &str = "VIRT_EVENTS_MONITOR_QUEUE";

/// How many of one monitor's events may wait for the application before the
/// thread stops reading that monitor (`high`), and how few must be left
/// before it reads again (`low`). Set by [`QUEUE_MARKS_VARIABLE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueMarks {
    pub high: usize,
    pub low: usize,
}

impl QueueMarks {
    pub const DEFAULT: QueueMarks = QueueMarks { high: 4096, low: 1024 };

    /// `HIGH` or `HIGH:LOW` (LOW defaults to a quarter of HIGH); `None` for
    /// anything else, or a LOW not under HIGH.
    pub fn parse(text: &str) -> Option<QueueMarks> {
        let (high, low) = match text.trim().split_once(':') {
            Some((high, low)) => (high.trim().parse().ok()?, Some(low.trim().parse().ok()?)),
            None => (text.trim().parse().ok()?, None),
        };
        let high: usize = high;
        let low = low.unwrap_or(high / 4);
        (high > 0 && low < high).then_some(QueueMarks { high, low })
    }

    /// The marks in force: the environment's, read once, else the defaults.
    fn current() -> QueueMarks {
        static MARKS: once_cell::sync::Lazy<QueueMarks> = once_cell::sync::Lazy::new(|| {
            let Ok(text) = std::env::var(QUEUE_MARKS_VARIABLE) else { return QueueMarks::DEFAULT };
            QueueMarks::parse(&text).unwrap_or_else(|| {
                warn(format_args!(
                    "ignoring {QUEUE_MARKS_VARIABLE}={text:?}: expected HIGH or HIGH:LOW event counts, LOW under HIGH"
                ));
                QueueMarks::DEFAULT
            })
        });
        *MARKS
    }
}

/// How a read round ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadEnd {
    /// The peer closed (or the connection failed).
    Eof,
    /// Nothing more to read for now.
    Drained,
    /// The round's share was read; more may wait.
    Budget,
    /// The round's share was read, its last read filling the buffer: more
    /// is waiting (a burst).
    Full,
    /// The application has `high` of this monitor's events to take: reading
    /// stops until it has drained them to `low`.
    Paused,
}

/// Where a monitor is in its life.
enum Phase {
    /// Connecting; retried until the deadline.
    Connecting,
    /// Greeting, capabilities, then `query-status`/`query-uuid`/`query-block`.
    Handshake,
    Attached,
}

/// What a pending command's reply is for.
enum Pending {
    Status,
    Uuid,
    Block,
    Caller(mpsc::Sender<Result<Value>>),
    /// A caller's own JSON: it gets QEMU's whole reply line.
    Raw(mpsc::Sender<Result<String>>),
}

pub(super) struct DomainMonitor {
    root: Arc<Root>,
    name: String,
    path: PathBuf,
    stream: Option<UnixStream>,
    phase: Phase,
    deadline: Instant,
    /// When connecting is tried next.
    retry: Instant,
    /// Attached while the connection was being opened (no "Started" event).
    initial: bool,
    /// Launched by the driver, which reports its start itself.
    launched: bool,
    destroying: bool,
    reader: LineReader,
    session: Session,
    runtime: DomainRuntime,
    pending: HashMap<String, Pending>,
    uuid: Option<Uuid>,
    answers_due: usize,
    /// Events that came before the domain was attached.
    early_events: Vec<QmpEvent<'static>>,
    /// Events dropped because they came before the handshake completed, or
    /// past the limit of `early_events`.
    early_dropped: usize,
    /// This monitor's events in the root's queue, and the pause of reading
    /// when they reach the high-water mark.
    backlog: Arc<Backlog>,
    marks: QueueMarks,
    identity: Option<DomainIdentity>,
    outgoing: Vec<u8>,
    /// The process serving the monitor (the socket's peer credentials).
    pid: libc::pid_t,
    /// The monitor may not attach (it claims another domain's UUID).
    refused: bool,
    /// The events of the current read, queued together by `commit`.
    batch: Batch,
    /// Where this monitor's delivered events, given back through its
    /// backlog, are freed (on this thread, which allocated them).
    spent: Spent,
    /// The domain state the root was last told.
    published_state: DomainState,
    /// What mapping an event gives, reused from event to event.
    mapped: Mapped,
    /// Where the walk over a line records its members, reused from line to line.
    tape: Tape,
}

impl Source for DomainMonitor {
    fn fd(&self) -> Option<(RawFd, u32)> {
        let stream = self.stream.as_ref()?;
        // Paused, the monitor is not watched at all: its end is found when
        // reading resumes, after the events before it.
        if self.backlog.is_paused() {
            return None;
        }
        let mut interest = Epoll::IN | Epoll::RDHUP;
        if !self.outgoing.is_empty() {
            interest |= Epoll::OUT;
        }
        Some((stream.as_raw_fd(), interest))
    }

    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Connecting => Some(self.deadline.min(self.retry)),
            Phase::Handshake => Some(self.deadline),
            Phase::Attached => None,
        }
    }

    fn ready(&mut self, events: u32, call: &mut Call) -> Next {
        if events & Epoll::OUT != 0 {
            self.flush();
        }
        let hung_up = events & (Epoll::HUP | Epoll::RDHUP | Epoll::ERR) != 0;
        let end = self.read(1, call.reading);
        if end == ReadEnd::Full {
            call.then.push(Action::Backlogged);
        }
        let next = match end {
            _ if self.refused => Next::Remove,
            ReadEnd::Eof => Next::Remove,
            ReadEnd::Drained if hung_up => Next::Remove,
            ReadEnd::Drained | ReadEnd::Budget | ReadEnd::Full | ReadEnd::Paused => Next::Keep,
        };
        if next == Next::Remove {
            self.closed();
        }
        self.commit();
        next
    }

    fn expired(&mut self, now: Instant) -> Next {
        match self.phase {
            Phase::Attached => Next::Keep,
            Phase::Connecting if now < self.deadline => {
                self.retry = now + CONNECT_RETRY;
                self.connect()
            }
            Phase::Handshake if now < self.deadline => Next::Keep,
            Phase::Connecting | Phase::Handshake => {
                let what = if matches!(self.phase, Phase::Connecting) {
                    "accept a connection"
                } else {
                    "answer the QMP handshake"
                };
                warn(format_args!(
                    "the monitor {} did not {what} within {} s; domain '{}' is not attached",
                    self.path.display(),
                    HANDSHAKE_TIMEOUT.as_secs(),
                    self.name
                ));
                Next::Remove
            }
        }
    }

    fn notify(&mut self, notice: Notice, call: &mut Call) -> Next {
        match notice {
            Notice::Execute(command) if matches!(self.phase, Phase::Attached) => {
                self.destroying |= command.destroying;
                self.send(&command.execute, command.arguments, Pending::Caller(command.reply));
                self.flush();
                Next::Keep
            }
            Notice::Execute(command) => {
                let _ = command.reply.send(Err(super::not_running()));
                Next::Keep
            }
            Notice::ExecuteRaw(command) if matches!(self.phase, Phase::Attached) => {
                self.send_raw(command);
                self.flush();
                Next::Keep
            }
            Notice::ExecuteRaw(command) => {
                let _ = command.reply.send(Err(super::not_running()));
                Next::Keep
            }
            // If QEMU is still there, the domain is detached without an
            // event; if it exited, its end of stream is handled.
            Notice::SocketGone => {
                if self.read(usize::MAX, call.reading) == ReadEnd::Eof {
                    self.closed();
                } else {
                    warn(format_args!("the monitor socket of '{}' was removed; the domain is detached", self.name));
                }
                self.commit();
                Next::Remove
            }
            // The application drained this monitor's events: watching again
            // (with the new interest `fd` gives) resumes reading.
            Notice::Resume => Next::Keep,
        }
    }

    fn owner(&self) -> (&Arc<Root>, Option<&str>) {
        (&self.root, Some(&self.name))
    }

    /// Forgets a monitor that never attached, whose QEMU is gone, or whose
    /// handling panicked (reported as CONTROL_ERROR, as a monitor failure).
    fn removed(&mut self, why: Removal) {
        if let Removal::Panicked(_) = why {
            self.batch.clear();
            self.control_error();
            self.commit();
        }
        self.root.detach(&self.name);
        if !matches!(self.phase, Phase::Attached) {
            self.release_open();
            if self.launched {
                self.root
                    .launch_attached(&self.name, Err(format!("the monitor {} did not attach", self.path.display())));
            }
        }
    }
}

/// QEMU's reply line as libvirt hands it to `virDomainQemuMonitorCommand`'s
/// caller: parsed and written back compact, its members in QEMU's order.
fn compact_reply(line: &[u8]) -> Result<String> {
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| Error::internal(ErrorDomain::VIR_FROM_QEMU, format!("cannot read QEMU's reply: {e}")))?;
    Ok(value.to_string())
}

impl DomainMonitor {
    pub(super) fn new(root: Arc<Root>, name: &str, initial: bool) -> DomainMonitor {
        let now = Instant::now();
        let marks = QueueMarks::current();
        let backlog = resumable_backlog(&root, name, marks.low);
        DomainMonitor {
            path: root.dir.join(format!("{name}{MONITOR_SUFFIX}")),
            launched: root.is_launching(name),
            root,
            name: name.to_string(),
            stream: None,
            phase: Phase::Connecting,
            deadline: now + HANDSHAKE_TIMEOUT,
            retry: now,
            initial,
            destroying: false,
            reader: LineReader::new(),
            session: Session::new(),
            runtime: DomainRuntime::new(DomainState::Running),
            pending: HashMap::new(),
            uuid: None,
            answers_due: 0,
            early_events: Vec::new(),
            early_dropped: 0,
            backlog,
            marks,
            identity: None,
            outgoing: Vec::new(),
            pid: 0,
            refused: false,
            batch: Batch::default(),
            spent: Spent::default(),
            published_state: DomainState::Running,
            mapped: Mapped::default(),
            tape: Tape::new(),
        }
    }

    /// Tries to connect, without ever blocking the thread: a socket whose
    /// listen backlog is full is retried like one not listening yet. Only a
    /// socket in the root itself is connected to (no symlink), and only to a
    /// QEMU of this user or of root, as its peer credentials tell.
    fn connect(&mut self) -> Next {
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                warn(format_args!("{} is not a socket (a symlink?); it is not connected to", self.path.display()));
                return Next::Remove;
            }
            _ => {}
        }
        match crate::sys::connect_unix_nonblocking(&self.path) {
            Ok(stream) => {
                let peer = match crate::sys::peer_credentials(&stream) {
                    Ok(peer) => peer,
                    Err(e) => {
                        warn(format_args!("cannot tell who serves the monitor {}: {e}", self.path.display()));
                        return Next::Remove;
                    }
                };
                let me = crate::sys::effective_uid();
                if peer.uid != me && peer.uid != 0 {
                    warn(format_args!(
                        "refusing the monitor {}: it is served by uid {} (pid {}), neither this user (uid {me}) nor root",
                        self.path.display(),
                        peer.uid,
                        peer.pid
                    ));
                    return Next::Remove;
                }
                self.pid = peer.pid;
                self.stream = Some(stream);
                self.phase = Phase::Handshake;
                Next::Keep
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // The backlog is full (another client holds QEMU's one
                // connection): opening the root does not wait for it; it
                // attaches later, as a domain appearing, if it frees up.
                self.release_open();
                Next::Keep
            }
            // Not listening yet, or a stale socket: retried until the deadline.
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::NotFound) => Next::Keep,
            Err(e) => {
                warn(format_args!("cannot connect to {}: {e}", self.path.display()));
                Next::Remove
            }
        }
    }

    /// Stops holding up `virConnectOpen` for this monitor.
    fn release_open(&mut self) {
        if std::mem::take(&mut self.initial) {
            self.root.initial_attach_finished();
        }
    }

    /// Reads what the monitor sent, at most `reads` reads of [`READ_SIZE`],
    /// queues the events and answers the commands; stops early when this
    /// monitor's events reach the high-water mark of the queue.
    fn read(&mut self, reads: usize, reading: &mut Reading) -> ReadEnd {
        let (buf, reuse) = reading.parts();
        self.backlog.free_spent(&mut self.spent, |source| reuse.keep(source));
        self.read_into(buf, reuse, reads)
    }

    fn read_into(&mut self, buf: &mut [u8], reuse: &mut Reuse, reads: usize) -> ReadEnd {
        let mut filled = false;
        for _ in 0..reads {
            let Some(stream) = self.stream.as_mut() else { return ReadEnd::Drained };
            let n = match stream.read(buf) {
                Ok(0) => return ReadEnd::Eof,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return ReadEnd::Drained,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // QEMU exiting with unread input resets the connection: its end.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return ReadEnd::Eof,
                Err(e) => {
                    warn(format_args!("reading the monitor of '{}': {e}", self.name));
                    return ReadEnd::Eof;
                }
            };
            filled = n == buf.len();
            let mut reader = std::mem::take(&mut self.reader);
            reader.push(&buf[..n], |line| self.take_line(line, reuse));
            self.reader = reader;
            self.flush();
            self.commit();
            if self.identity.is_some() && self.backlog.pause_at(self.marks.high) {
                return ReadEnd::Paused;
            }
        }
        if filled {
            ReadEnd::Full
        } else {
            ReadEnd::Budget
        }
    }

    /// Writes what it can of the pending output; the thread watches for
    /// writability while some remains.
    fn flush(&mut self) {
        let Some(stream) = self.stream.as_mut() else { return };
        while !self.outgoing.is_empty() {
            match stream.write(&self.outgoing) {
                Ok(n) => {
                    self.outgoing.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    warn(format_args!("writing to the monitor of '{}': {e}", self.name));
                    self.outgoing.clear();
                }
            }
        }
    }

    /// The monitor closed: QEMU is gone.
    fn closed(&mut self) {
        if let Some(identity) = self.identity.clone() {
            let end = if self.destroying { End::Destroyed } else { End::Exited };
            for payload in mapping::map_eof(&mut self.runtime, end) {
                if let Some(reason) = mapping::shutoff_reason(&payload) {
                    self.root.set_shutoff_reason(&self.name, reason as i32);
                }
                let id = mapping::shown_id(&self.runtime, identity.id, &payload);
                self.batch.push(DomainEvent::new(DomainIdentity { id, ..identity.clone() }, payload));
            }
        }
        let gone = || Error::operation_invalid(ErrorDomain::VIR_FROM_QEMU, "the monitor closed");
        for (_, pending) in self.pending.drain() {
            match pending {
                Pending::Caller(reply) => drop(reply.send(Err(gone()))),
                Pending::Raw(reply) => drop(reply.send(Err(gone()))),
                Pending::Status | Pending::Uuid | Pending::Block => {}
            }
        }
    }

    /// Sends a caller's own JSON; its reply is QEMU's line ([`Pending::Raw`]).
    fn send_raw(&mut self, command: RawCommand) {
        match self.session.raw_command(command.json) {
            Ok((id, line)) => {
                self.pending.insert(id, Pending::Raw(command.reply));
                self.outgoing.extend_from_slice(line.as_bytes());
            }
            Err(refused) => drop(command.reply.send(Err(Error::internal(ErrorDomain::VIR_FROM_QEMU, refused.0)))),
        }
    }

    fn send(&mut self, command: &str, arguments: Option<Value>, pending: Pending) {
        let (id, line) = self.session.command(command, arguments);
        self.pending.insert(id, pending);
        self.outgoing.extend_from_slice(line.as_bytes());
    }

    fn take_line(&mut self, line: Line<'_>, reuse: &mut Reuse) {
        let data = match line {
            Line::Data(data) => data,
            Line::Oversized { len } => {
                warn(format_args!("dropped a {len}-byte line from the monitor of '{}'", self.name));
                self.control_error();
                return;
            }
        };
        let mut tape = std::mem::take(&mut self.tape);
        self.take_message(data, &mut tape, reuse);
        self.tape = tape;
    }

    fn take_message(&mut self, data: &[u8], tape: &mut Tape, reuse: &mut Reuse) {
        // Nearly every line is an event the fast path reads: it goes to the
        // mapping at once, not moved through the session (which passes
        // events on untouched).
        if let Some(event) = Raw::check_with(data, tape, &mut reuse.shapes).and_then(QmpEvent::read_checked) {
            return self.take_event(event, &mut reuse.sources);
        }
        self.take_general_message(data, &mut reuse.sources);
    }

    /// A line the fast path does not read: greetings, replies, rare or
    /// malformed lines. Kept out of line, so that the code every event runs
    /// through stays on few pages (see tools/hot_path.py).
    #[inline(never)]
    fn take_general_message(&mut self, data: &[u8], sources: &mut Sources) {
        let message = match Message::parse_general(data) {
            Ok(message) => message,
            Err(e) => {
                warn(format_args!("monitor of '{}': {e}", self.name));
                self.control_error();
                return;
            }
        };
        match self.session.on_message(message) {
            Ok(Incoming::Greeting { send, .. }) => self.outgoing.extend_from_slice(send.as_bytes()),
            Ok(Incoming::Ready) => {
                self.send("query-status", None, Pending::Status);
                self.send("query-uuid", None, Pending::Uuid);
                self.send("query-block", None, Pending::Block);
                self.answers_due = 3;
            }
            Ok(Incoming::Event(event)) => self.take_event(event, sources),
            Ok(Incoming::Reply { id, .. }) if matches!(self.pending.get(&id), Some(Pending::Raw(_))) => {
                if let Some(Pending::Raw(reply)) = self.pending.remove(&id) {
                    self.commit();
                    let _ = reply.send(compact_reply(data));
                }
            }
            Ok(Incoming::Reply { id, result, execute }) => self.take_reply(&id, &execute, result),
            Err(e) => {
                warn(format_args!("monitor of '{}': {e}", self.name));
                self.control_error();
            }
        }
    }

    fn take_event(&mut self, event: QmpEvent<'_>, sources: &mut Sources) {
        if self.identity.is_some() {
            self.deliver(&event, sources);
        } else {
            self.keep_early(event.into_owned());
        }
    }

    /// An event before the domain is attached: kept for after the attach
    /// when QEMU sent it after the handshake (as QEMU does: a monitor in
    /// capabilities negotiation gets no events), up to the high-water mark
    /// of the queue; dropped with a warning otherwise, so that a monitor
    /// flooding before it is attached cannot make the process buffer without
    /// limit (the handshake deadline bounds the time).
    fn keep_early(&mut self, event: QmpEvent<'static>) {
        if self.session.state() == SessionState::Ready && self.early_events.len() < self.marks.high {
            self.early_events.push(event);
            return;
        }
        if self.early_dropped == 0 {
            let why = if self.session.state() == SessionState::Ready {
                format!("more than {} events before the domain was attached", self.marks.high)
            } else {
                "events before the QMP handshake completed".to_owned()
            };
            warn(format_args!("monitor of '{}': {why}; dropping them", self.name));
        }
        self.early_dropped += 1;
    }

    /// QEMU sent something that is not a QMP message we can take: libvirt
    /// reports such monitor failures as CONTROL_ERROR. Unlike libvirt, which
    /// then stops using the monitor, we skip the line and keep reading. A
    /// domain not attached yet has no identity to report it with.
    fn control_error(&mut self) {
        if let Some(identity) = &self.identity {
            let event = DomainEvent::new(identity.clone(), EventPayload::ControlError);
            self.batch.push(event);
        }
    }

    fn take_reply(&mut self, id: &str, execute: &str, result: std::result::Result<Value, ErrorReply>) {
        let Some(pending) = self.pending.remove(id) else { return };
        let value = result.as_ref().ok();
        match pending {
            Pending::Caller(reply) => {
                // What QEMU reported before its reply (the STOP before the
                // reply to `stop`) is published first: the caller sees the
                // state its command caused.
                self.commit();
                let answer = result.map_err(|e| {
                    Error::new(
                        ErrorCode::VIR_ERR_OPERATION_FAILED,
                        ErrorDomain::VIR_FROM_QEMU,
                        Some(format!("{execute}: {}", e.desc)),
                    )
                });
                let _ = reply.send(answer);
                return;
            }
            Pending::Raw(_) => return,
            Pending::Status => {
                if let Err(e) =
                    value.map_or(Err("query-status failed".to_string()), |v| self.runtime.apply_query_status(v))
                {
                    warn(format_args!("monitor of '{}': {e}", self.name));
                }
            }
            Pending::Uuid => {
                self.uuid = value.and_then(|v| v.get("UUID")).and_then(Value::as_str).and_then(Uuid::parse);
            }
            Pending::Block => match value.map(|v| self.runtime.load_query_block(v)) {
                Some(Ok(warnings)) => {
                    warnings.iter().for_each(|w| warn(format_args!("monitor of '{}': {w}", self.name)))
                }
                Some(Err(e)) => warn(format_args!("monitor of '{}': {e}", self.name)),
                None => {}
            },
        }
        self.answers_due = self.answers_due.saturating_sub(1);
        if self.answers_due == 0 && self.identity.is_none() && self.session.state() == SessionState::Ready {
            self.attach();
        }
    }

    /// The identity queries are answered: the domain exists for the API.
    fn attach(&mut self) {
        let uuid = self.uuid.filter(|u| !u.is_nil()).unwrap_or_else(|| Uuid::from_name(&self.name));
        if let Some((other, _)) = self.root.all().into_iter().find(|(d, _)| d.uuid == uuid && *d.name != *self.name) {
            warn(format_args!(
                "refusing the monitor {}: it claims the UUID {uuid} of the domain '{}'",
                self.path.display(),
                other.name
            ));
            self.refused = true;
            return;
        }
        let id = allocate_id();
        let identity = DomainIdentity { name: self.name.as_str().into(), uuid, id };
        self.identity = Some(identity.clone());
        if let Some(def) = self.root.definition(&self.name).filter(|_| self.launched) {
            if let crate::driver::qemu::definition::Clock::Variable { adjustment } = def.clock {
                self.runtime.clock = Some(mapping::VariableClock::new(adjustment));
            }
            for disk in &def.disks {
                self.runtime.disks.set_source(&disk.alias, &disk.source);
            }
        }
        let state = self.runtime.state;
        self.root.attach(AttachedDomain { identity: identity.clone(), state, pid: self.pid, vnc_port: None });
        self.published_state = state;
        let how = if self.launched {
            Attach::Launched
        } else if self.initial {
            Attach::AtOpen
        } else {
            Attach::Appeared
        };
        for payload in mapping::map_attach(&self.runtime, how) {
            self.batch.push(DomainEvent::new(identity.clone(), payload));
        }
        match how {
            Attach::Launched => self.root.launch_attached(&self.name, Ok(())),
            Attach::AtOpen => self.root.initial_attach_finished(),
            Attach::Appeared => {}
        }
        self.phase = Phase::Attached;
        // Rare: their deferred events' sources are made afresh.
        let mut sources = Sources::new();
        for event in std::mem::take(&mut self.early_events) {
            self.deliver(&event, &mut sources);
        }
    }

    fn deliver(&mut self, event: &QmpEvent, sources: &mut Sources) {
        testing::check(&event.name);
        let Some(identity) = &self.identity else { return };
        // A C string ends at its first NUL: such an event would reach the
        // callbacks silently cut, so it is dropped, and said so.
        if event.holds_nul() {
            warn(format_args!(
                "monitor of '{}': dropped the event {:?}: a string in it holds a NUL character (\\u0000)",
                self.name, event.name
            ));
            return;
        }
        // Every event also goes out raw (virConnectDomainQemuMonitorEventRegister),
        // before what it maps to, as libvirt emits it before running its
        // handler; only made while someone listens.
        if self.root.events.listens(EventClass::QemuMonitor) {
            self.batch.push(QemuMonitorEvent {
                domain: identity.clone(),
                name: CText::new(&event.name),
                seconds: event.seconds,
                micros: event.microseconds,
                details: event.details().map(CText::from),
            });
        }
        // What a graphics connection maps to is made on the thread that
        // delivers it, off this one, the busier in a burst.
        if let Some(name) = mapping::deferrable(&self.runtime, event) {
            if let Some(data) = event.checked_data().filter(|data| data.text().len() <= DEFERRED_DATA_MAX) {
                let mut source = sources.pop().unwrap_or_default();
                source.name = name;
                data.copy_into(&mut source.data);
                self.batch.push_deferred(identity.clone(), source, make_deferred);
                return;
            }
        }
        let mapped = &mut self.mapped;
        mapping::map_event_into(&mut self.runtime, event, mapped);
        for warning in &mapped.warnings {
            warn(format_args!("monitor of '{}': {warning}", self.name));
        }
        if let Some(adjustment) = mapped.rtc_adjustment {
            self.root.record_adjustment(&self.name, adjustment);
        }
        for payload in mapped.events.drain(..) {
            let id = mapping::shown_id(&self.runtime, identity.id, &payload);
            self.batch.push(DomainEvent::new(DomainIdentity { id, ..identity.clone() }, payload));
        }
    }

    /// Queues the events of what was just handled in one batch, and tells
    /// the root the domain's state if it changed.
    fn commit(&mut self) {
        if self.identity.is_some() && self.runtime.state != self.published_state {
            self.published_state = self.runtime.state;
            self.root.set_state(&self.name, self.runtime.state);
        }
        if !self.batch.is_empty() {
            self.root.events.queue_batch(&mut self.batch, Some(&self.backlog));
        }
    }
}

/// What the payload of an event whose mapping was left for its delivery is
/// made from: the event's name and its `data`, as the monitor thread
/// checked it.
#[derive(Default)]
struct DeferredSource {
    name: &'static str,
    data: OwnedRaw,
}

/// Makes the payload of an event whose mapping was left for its delivery
/// (a `MakePayload`, on the thread that delivers it, from a
/// [`DeferredSource`]). Warnings are said here, and a payload made only if
/// the mapping gives one (it gives at most one).
fn make_deferred(domain: &DomainIdentity, source: &(dyn Any + Send)) -> Option<EventPayload> {
    thread_local! {
        static MAPPED: std::cell::RefCell<Mapped> = Default::default();
    }
    let source = source.downcast_ref::<DeferredSource>()?;
    MAPPED.with_borrow_mut(|mapped| {
        mapping::map_deferred(source.name, &QmpEvent::with_data(source.name, source.data.raw()), mapped);
        for warning in mapped.warnings.drain(..) {
            warn(format_args!("monitor of '{}': {warning}", domain.name));
        }
        let payload = mapped.events.pop();
        mapped.events.clear();
        payload
    })
}

/// The backlog of the monitor of `name` in `root`, whose resumption asks the
/// monitor thread to watch it again.
fn resumable_backlog(root: &Arc<Root>, name: &str, low: usize) -> Arc<Backlog> {
    let (root, domain) = (Arc::downgrade(root), name.to_owned());
    Backlog::new(low, move || {
        if let Ok(hub) = super::hub() {
            hub.send(super::Request::Resume { root: root.clone(), domain: domain.clone() });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{DeferredSource, QueueMarks, Reuse, SOURCES_KEPT};
    use crate::driver::qemu::raw_json::{Raw, Tape};

    /// Sources come back to be reused, up to a number, and only small ones.
    #[test]
    fn reuse_keeps_few_and_small_sources() {
        let source = |text: &str| {
            let mut source = Box::<DeferredSource>::default();
            Raw::check(text.as_bytes(), &mut Tape::new()).unwrap().copy_into(&mut source.data);
            source
        };
        let mut reuse = Reuse::default();
        reuse.keep(source(&format!(r#"{{"a": "{}"}}"#, "x".repeat(100_000))));
        reuse.keep(Box::new(7));
        assert!(reuse.sources.is_empty(), "a large one, and one not ours");
        for _ in 0..SOURCES_KEPT + 5 {
            reuse.keep(source(r#"{"server": {"host": "h"}}"#));
        }
        assert_eq!(reuse.sources.len(), SOURCES_KEPT);
    }

    #[test]
    fn queue_marks_parse_high_and_optional_low() {
        assert_eq!(QueueMarks::parse("4096"), Some(QueueMarks { high: 4096, low: 1024 }));
        assert_eq!(QueueMarks::parse(" 100 : 10 "), Some(QueueMarks { high: 100, low: 10 }));
        assert_eq!(QueueMarks::parse("1"), Some(QueueMarks { high: 1, low: 0 }));
        for bad in ["", "0", "10:10", "10:20", "x", "10:", "-5", "10:5:1"] {
            assert_eq!(QueueMarks::parse(bad), None, "{bad:?}");
        }
    }
}
