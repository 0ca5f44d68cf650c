//! The monitor thread: one thread, shared by every QEMU monitor and embed
//! root of the process, waits in epoll on all of them. It attaches to QMP
//! sockets, performs the handshake and the identity queries, turns QEMU's
//! events into domain events and queues them on the root's event state. It
//! never calls application code and never waits on the application: the
//! event loop delivers what it queues. An idle process sleeps in epoll.

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;
use parking_lot::Mutex;
use serde_json::Value;

use super::mapping::{self, Attach, DomainRuntime, DomainState, End};
use super::qmp::{ErrorReply, Incoming, Line, LineReader, Message, QmpEvent, Session, SessionState};
use super::root::{allocate_id, warn, AttachedDomain, Root, HANDSHAKE_TIMEOUT, MONITOR_SUFFIX};
use super::sys::{DirChange, Epoll, EventFd, Inotify};
use crate::error::{Error, ErrorDomain, Result};
use crate::event::{DomainEvent, DomainIdentity, EventPayload, QemuMonitorEvent};
use crate::uuid::Uuid;

/// How long a caller waits for a command's reply.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket can appear (bind) before QEMU listens on it: retry connecting.
const CONNECT_RETRY: Duration = Duration::from_millis(50);

const WAKE_TOKEN: u64 = 0;

/// Work handed to the monitor thread.
pub(super) enum Request {
    AddRoot(Arc<Root>),
    RemoveRoot(PathBuf),
    /// Attach `NAME.qmp` now (a domain the driver just launched), without
    /// waiting for inotify to report its socket.
    Attach(Arc<Root>, String),
    Execute {
        root: PathBuf,
        domain: String,
        command: String,
        arguments: Option<Value>,
        /// The command ends the domain on the caller's request: its end is
        /// reported as Stopped Destroyed.
        destroying: bool,
        reply: mpsc::Sender<Result<Value>>,
    },
}

pub(super) struct Hub {
    wake: EventFd,
    requests: Mutex<VecDeque<Request>>,
}

static HUB: OnceCell<Arc<Hub>> = OnceCell::new();

/// The process's monitor thread, started on first use.
pub(super) fn hub() -> Result<&'static Arc<Hub>> {
    HUB.get_or_try_init(|| {
        let failed = |e: std::io::Error| {
            Error::internal(ErrorDomain::VIR_FROM_QEMU, format!("cannot start the monitor thread: {e}"))
        };
        let epoll = Epoll::new().map_err(failed)?;
        let hub = Arc::new(Hub { wake: EventFd::new().map_err(failed)?, requests: Mutex::new(VecDeque::new()) });
        epoll.add(hub.wake.fd(), WAKE_TOKEN, libc::EPOLLIN as u32).map_err(failed)?;
        let thread_hub = hub.clone();
        std::thread::Builder::new()
            .name("virt-events-qmp".into())
            .spawn(move || MonitorThread::new(epoll, thread_hub).run())
            .map_err(failed)?;
        Ok(hub)
    })
}

impl Hub {
    pub(super) fn send(&self, request: Request) {
        self.requests.lock().push_back(request);
        self.wake.signal();
    }

    /// Runs a QMP command on a domain's monitor and waits for its reply.
    pub(super) fn execute(&self, root: &Path, domain: &str, command: &str, destroying: bool) -> Result<Value> {
        let (reply, answer) = mpsc::channel();
        self.send(Request::Execute {
            root: root.to_path_buf(),
            domain: domain.to_string(),
            command: command.to_string(),
            arguments: None,
            destroying,
            reply,
        });
        answer.recv_timeout(COMMAND_TIMEOUT).unwrap_or_else(|_| {
            Err(Error::new(
                crate::error::ErrorCode::VIR_ERR_OPERATION_TIMEOUT,
                ErrorDomain::VIR_FROM_QEMU,
                Some(format!("no reply from the monitor of '{domain}' to {command}")),
            ))
        })
    }
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
}

struct Monitor {
    root: Arc<Root>,
    name: String,
    path: PathBuf,
    stream: Option<UnixStream>,
    phase: Phase,
    deadline: Instant,
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
    early_events: Vec<QmpEvent>,
    identity: Option<DomainIdentity>,
    outgoing: Vec<u8>,
    /// Whether epoll watches the socket for writability (unsent output).
    wants_write: bool,
}

struct RootWatch {
    root: Arc<Root>,
    inotify: Inotify,
}

enum Source {
    Root(RootWatch),
    Monitor(Box<Monitor>),
}

struct MonitorThread {
    epoll: Epoll,
    hub: Arc<Hub>,
    sources: HashMap<u64, Source>,
    next_token: u64,
}

impl MonitorThread {
    fn new(epoll: Epoll, hub: Arc<Hub>) -> MonitorThread {
        MonitorThread { epoll, hub, sources: HashMap::new(), next_token: WAKE_TOKEN + 1 }
    }

    fn run(mut self) {
        loop {
            let timeout = self.next_deadline().map_or(-1, |deadline| {
                deadline.saturating_duration_since(Instant::now()).as_millis().min(i32::MAX as u128) as i32
            });
            let ready = match self.epoll.wait(timeout) {
                Ok(ready) => ready,
                Err(e) => {
                    warn(format_args!("monitor thread: epoll failed: {e}"));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            for (token, events) in ready {
                if token == WAKE_TOKEN {
                    self.hub.wake.drain();
                    let requests: Vec<Request> = self.hub.requests.lock().drain(..).collect();
                    requests.into_iter().for_each(|r| self.handle_request(r));
                } else {
                    self.handle_ready(token, events);
                }
            }
            self.expire_deadlines();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.sources
            .values()
            .filter_map(|s| match s {
                Source::Monitor(m) if matches!(m.phase, Phase::Connecting) => {
                    Some(m.deadline.min(Instant::now() + CONNECT_RETRY))
                }
                Source::Monitor(m) if matches!(m.phase, Phase::Handshake) => Some(m.deadline),
                _ => None,
            })
            .min()
    }

    fn handle_request(&mut self, request: Request) {
        match request {
            Request::AddRoot(root) => self.add_root(root),
            Request::RemoveRoot(dir) => {
                let tokens: Vec<u64> = self
                    .sources
                    .iter()
                    .filter(|(_, s)| match s {
                        Source::Root(w) => w.root.dir == dir,
                        Source::Monitor(m) => m.root.dir == dir,
                    })
                    .map(|(t, _)| *t)
                    .collect();
                for token in tokens {
                    if let Some(source) = self.sources.remove(&token) {
                        self.unregister(&source);
                    }
                }
            }
            Request::Attach(root, name) => self.consider(&root, &format!("{name}{MONITOR_SUFFIX}"), false),
            Request::Execute { root, domain, command, arguments, destroying, reply } => {
                let found = self.sources.iter_mut().find_map(|(token, s)| match s {
                    Source::Monitor(m)
                        if m.root.dir == root && m.name == domain && matches!(m.phase, Phase::Attached) =>
                    {
                        Some((*token, m))
                    }
                    _ => None,
                });
                match found {
                    Some((token, monitor)) => {
                        monitor.destroying |= destroying;
                        let (id, line) = monitor.session.command(&command, arguments);
                        monitor.pending.insert(id, Pending::Caller(reply));
                        monitor.outgoing.extend_from_slice(line.as_bytes());
                        self.flush(token);
                    }
                    None => {
                        let _ = reply
                            .send(Err(Error::operation_invalid(ErrorDomain::VIR_FROM_QEMU, "domain is not running")));
                    }
                }
            }
        }
    }

    fn unregister(&self, source: &Source) {
        match source {
            Source::Root(watch) => self.epoll.remove(watch.inotify.fd()),
            Source::Monitor(monitor) => {
                if let Some(stream) = &monitor.stream {
                    self.epoll.remove(stream.as_raw_fd());
                }
                monitor.root.detach(&monitor.name);
            }
        }
    }

    fn add_root(&mut self, root: Arc<Root>) {
        let inotify = match Inotify::watch(&root.dir) {
            Ok(inotify) => inotify,
            Err(e) => {
                warn(format_args!("cannot watch {}: {e}; domains started later will not be seen", root.dir.display()));
                root.initial_scan_done();
                return;
            }
        };
        let token = self.token();
        if let Err(e) = self.epoll.add(inotify.fd(), token, libc::EPOLLIN as u32) {
            warn(format_args!("cannot watch {}: {e}", root.dir.display()));
        }
        self.sources.insert(token, Source::Root(RootWatch { root: root.clone(), inotify }));
        let names: Vec<String> = std::fs::read_dir(&root.dir)
            .map(|entries| entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        for name in names {
            self.consider(&root, &name, true);
        }
        root.initial_scan_done();
    }

    /// Attaches to `DIR/NAME.qmp` unless a monitor for it exists.
    fn consider(&mut self, root: &Arc<Root>, file: &str, initial: bool) {
        let Some(name) = file.strip_suffix(MONITOR_SUFFIX).filter(|n| !n.is_empty()) else { return };
        let known =
            self.sources.values().any(|s| matches!(s, Source::Monitor(m) if m.root.dir == root.dir && m.name == name));
        if known {
            return;
        }
        if initial {
            root.initial_attach_started();
        }
        let monitor = Monitor {
            root: root.clone(),
            name: name.to_string(),
            path: root.dir.join(file),
            stream: None,
            phase: Phase::Connecting,
            deadline: Instant::now() + HANDSHAKE_TIMEOUT,
            initial,
            launched: root.is_launching(name),
            destroying: false,
            reader: LineReader::new(),
            session: Session::new(),
            runtime: DomainRuntime::new(DomainState::Running),
            pending: HashMap::new(),
            uuid: None,
            answers_due: 0,
            early_events: Vec::new(),
            identity: None,
            outgoing: Vec::new(),
            wants_write: false,
        };
        let token = self.token();
        self.sources.insert(token, Source::Monitor(Box::new(monitor)));
        self.try_connect(token);
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    fn try_connect(&mut self, token: u64) {
        let Some(Source::Monitor(monitor)) = self.sources.get_mut(&token) else { return };
        match UnixStream::connect(&monitor.path) {
            Ok(stream) => {
                let registered = stream
                    .set_nonblocking(true)
                    .and_then(|_| self.epoll.add(stream.as_raw_fd(), token, (libc::EPOLLIN | libc::EPOLLRDHUP) as u32));
                if let Err(e) = registered {
                    warn(format_args!("cannot watch the monitor {}: {e}", monitor.path.display()));
                    self.drop_monitor(token);
                    return;
                }
                monitor.stream = Some(stream);
                monitor.phase = Phase::Handshake;
            }
            // Not listening yet, or a stale socket: retried until the deadline.
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::NotFound) => {}
            Err(e) => {
                warn(format_args!("cannot connect to {}: {e}", monitor.path.display()));
                self.drop_monitor(token);
            }
        }
    }

    fn expire_deadlines(&mut self) {
        let now = Instant::now();
        let tokens: Vec<(u64, bool)> = self
            .sources
            .iter()
            .filter_map(|(t, s)| match s {
                Source::Monitor(m) if matches!(m.phase, Phase::Connecting) => Some((*t, now >= m.deadline)),
                Source::Monitor(m) if matches!(m.phase, Phase::Handshake) && now >= m.deadline => Some((*t, true)),
                _ => None,
            })
            .collect();
        for (token, expired) in tokens {
            if !expired {
                self.try_connect(token);
                continue;
            }
            if let Some(Source::Monitor(m)) = self.sources.get(&token) {
                let what = if matches!(m.phase, Phase::Connecting) {
                    "accept a connection"
                } else {
                    "answer the QMP handshake"
                };
                warn(format_args!(
                    "the monitor {} did not {what} within {} s; domain '{}' is not attached",
                    m.path.display(),
                    HANDSHAKE_TIMEOUT.as_secs(),
                    m.name
                ));
            }
            self.drop_monitor(token);
        }
    }

    /// Forgets a monitor that never attached or whose QEMU is gone.
    fn drop_monitor(&mut self, token: u64) {
        if let Some(source) = self.sources.remove(&token) {
            self.unregister(&source);
            if let Source::Monitor(m) = source {
                if !matches!(m.phase, Phase::Attached) {
                    if m.initial {
                        m.root.initial_attach_finished();
                    }
                    if m.launched {
                        m.root
                            .launch_attached(&m.name, Err(format!("the monitor {} did not attach", m.path.display())));
                    }
                }
            }
        }
    }

    fn handle_ready(&mut self, token: u64, events: u32) {
        let watch_changes = match self.sources.get(&token) {
            Some(Source::Root(watch)) => Some((watch.root.clone(), watch.inotify.changes())),
            Some(Source::Monitor(_)) => None,
            None => return,
        };
        if let Some((root, changes)) = watch_changes {
            for change in changes {
                match change {
                    DirChange::Appeared(file) => self.consider(&root, &file, false),
                    DirChange::Vanished(file) => self.socket_vanished(&root, &file),
                }
            }
            return;
        }
        if events & libc::EPOLLOUT as u32 != 0 {
            self.flush(token);
        }
        let hung_up = events & (libc::EPOLLHUP | libc::EPOLLRDHUP | libc::EPOLLERR) as u32 != 0;
        let closed = self.read_monitor(token) || hung_up;
        if closed {
            self.monitor_closed(token);
        }
    }

    /// The socket file went away: if QEMU is still there, the domain is
    /// detached without an event; if it exited, its end of stream is handled.
    fn socket_vanished(&mut self, root: &Arc<Root>, file: &str) {
        let Some(name) = file.strip_suffix(MONITOR_SUFFIX) else { return };
        let token = self.sources.iter().find_map(|(t, s)| match s {
            Source::Monitor(m) if m.root.dir == root.dir && m.name == name => Some(*t),
            _ => None,
        });
        let Some(token) = token else { return };
        if self.read_monitor(token) {
            self.monitor_closed(token);
        } else {
            warn(format_args!("the monitor socket of '{name}' was removed; the domain is detached"));
            self.drop_monitor(token);
        }
    }

    /// Reads what the monitor sent; returns true at end of stream.
    fn read_monitor(&mut self, token: u64) -> bool {
        let Some(Source::Monitor(monitor)) = self.sources.get_mut(&token) else { return false };
        let Some(stream) = monitor.stream.as_mut() else { return false };
        let mut buf = [0u8; 65536];
        let mut eof = false;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => monitor.reader.push(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // QEMU exiting with unread input resets the connection: its end.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    eof = true;
                    break;
                }
                Err(e) => {
                    warn(format_args!("reading the monitor of '{}': {e}", monitor.name));
                    eof = true;
                    break;
                }
            }
        }
        while let Some(line) = monitor.reader.next_line() {
            monitor.take_line(line);
        }
        self.flush(token);
        eof
    }

    fn flush(&mut self, token: u64) {
        let Some(Source::Monitor(monitor)) = self.sources.get_mut(&token) else { return };
        let Some(stream) = monitor.stream.as_mut() else { return };
        while !monitor.outgoing.is_empty() {
            match stream.write(&monitor.outgoing) {
                Ok(n) => {
                    monitor.outgoing.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    warn(format_args!("writing to the monitor of '{}': {e}", monitor.name));
                    monitor.outgoing.clear();
                }
            }
        }
        // Only a change of interest costs a system call: the read path
        // passes here after every read.
        let wants_write = !monitor.outgoing.is_empty();
        if wants_write != monitor.wants_write {
            monitor.wants_write = wants_write;
            let mut interest = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
            if wants_write {
                interest |= libc::EPOLLOUT as u32;
            }
            let _ = self.epoll.modify(stream.as_raw_fd(), token, interest);
        }
    }

    fn monitor_closed(&mut self, token: u64) {
        let Some(Source::Monitor(monitor)) = self.sources.get_mut(&token) else { return };
        if let Some(identity) = monitor.identity.clone() {
            let end = if monitor.destroying { End::Destroyed } else { End::Exited };
            for payload in mapping::map_eof(&mut monitor.runtime, end) {
                let id = mapping::shown_id(&monitor.runtime, identity.id, &payload);
                monitor.root.events.queue(DomainEvent::new(DomainIdentity { id, ..identity.clone() }, payload));
            }
        }
        for (_, pending) in monitor.pending.drain() {
            if let Pending::Caller(reply) = pending {
                let _ = reply.send(Err(Error::operation_invalid(ErrorDomain::VIR_FROM_QEMU, "the monitor closed")));
            }
        }
        self.drop_monitor(token);
    }
}

impl Monitor {
    fn send(&mut self, command: &str, arguments: Option<Value>, pending: Pending) {
        let (id, line) = self.session.command(command, arguments);
        self.pending.insert(id, pending);
        self.outgoing.extend_from_slice(line.as_bytes());
    }

    fn take_line(&mut self, line: Line) {
        let data = match line {
            Line::Data(data) => data,
            Line::Oversized { len } => {
                warn(format_args!("dropped a {len}-byte line from the monitor of '{}'", self.name));
                self.control_error();
                return;
            }
        };
        let message = match Message::parse(&data) {
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
            Ok(Incoming::Event(event)) => {
                if self.identity.is_some() {
                    self.deliver(&event);
                } else {
                    self.early_events.push(event);
                }
            }
            Ok(Incoming::Reply { id, result, execute }) => self.take_reply(&id, &execute, result),
            Err(e) => {
                warn(format_args!("monitor of '{}': {e}", self.name));
                self.control_error();
            }
        }
    }

    /// QEMU sent something that is not a QMP message we can take: libvirt
    /// reports such monitor failures as CONTROL_ERROR. Unlike libvirt, which
    /// then stops using the monitor, we skip the line and keep reading. A
    /// domain not attached yet has no identity to report it with.
    fn control_error(&self) {
        if let Some(identity) = &self.identity {
            self.root.events.queue(DomainEvent::new(identity.clone(), EventPayload::ControlError));
        }
    }

    fn take_reply(&mut self, id: &str, execute: &str, result: std::result::Result<Value, ErrorReply>) {
        let Some(pending) = self.pending.remove(id) else { return };
        let value = result.as_ref().ok();
        match pending {
            Pending::Caller(reply) => {
                let answer = result.map_err(|e| {
                    Error::new(
                        crate::error::ErrorCode::VIR_ERR_OPERATION_FAILED,
                        ErrorDomain::VIR_FROM_QEMU,
                        Some(format!("{execute}: {}", e.desc)),
                    )
                });
                let _ = reply.send(answer);
                return;
            }
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
        let id = allocate_id();
        let identity = DomainIdentity { name: self.name.clone(), uuid, id };
        self.identity = Some(identity.clone());
        if let Some(def) = self.root.definition(&self.name).filter(|_| self.launched) {
            if let super::definition::Clock::Variable { adjustment } = def.clock {
                self.runtime.clock = Some(mapping::VariableClock::new(adjustment));
            }
            for disk in &def.disks {
                self.runtime.disks.set_source(&disk.alias, &disk.source);
            }
        }
        let state = self.runtime.state;
        self.root.attach(AttachedDomain { identity: identity.clone(), state });
        let how = if self.launched {
            Attach::Launched
        } else if self.initial {
            Attach::AtOpen
        } else {
            Attach::Appeared
        };
        for payload in mapping::map_attach(&self.runtime, how) {
            self.root.events.queue(DomainEvent::new(identity.clone(), payload));
        }
        match how {
            Attach::Launched => self.root.launch_attached(&self.name, Ok(())),
            Attach::AtOpen => self.root.initial_attach_finished(),
            Attach::Appeared => {}
        }
        self.phase = Phase::Attached;
        for event in std::mem::take(&mut self.early_events) {
            self.deliver(&event);
        }
    }

    fn deliver(&mut self, event: &QmpEvent) {
        let Some(identity) = self.identity.clone() else { return };
        // Every event also goes out raw (virConnectDomainQemuMonitorEventRegister),
        // before what it maps to, as libvirt emits it before running its handler.
        self.root.events.queue(QemuMonitorEvent {
            domain: identity.clone(),
            name: event.name.clone(),
            seconds: event.seconds,
            micros: event.microseconds,
            details: event.data.as_ref().map(Value::to_string),
        });
        let mapped = mapping::map_event(&mut self.runtime, event);
        for warning in &mapped.warnings {
            warn(format_args!("monitor of '{}': {warning}", self.name));
        }
        if let Some(adjustment) = mapped.rtc_adjustment {
            self.root.record_adjustment(&self.name, adjustment);
        }
        self.root.set_state(&self.name, self.runtime.state);
        for payload in mapped.events {
            let id = mapping::shown_id(&self.runtime, identity.id, &payload);
            self.root.events.queue(DomainEvent::new(DomainIdentity { id, ..identity.clone() }, payload));
        }
    }
}
