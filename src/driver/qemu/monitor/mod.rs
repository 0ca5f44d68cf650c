//! The monitor thread: one thread, shared by every QEMU monitor and embed
//! root of the process, waits in epoll on all of them. It attaches to QMP
//! sockets, performs the handshake and the identity queries, turns QEMU's
//! events into domain events and queues them on the root's event state. It
//! never calls application code and never waits on the application: the
//! event loop delivers what it queues. An idle process sleeps in epoll.
//!
//! What the thread waits on are [`Source`]s (a root's directory watch, a
//! domain's monitor): the thread asks each one which descriptor to watch and
//! until when, tells it what happened, and does what it answers. A source
//! that panics is dropped alone; the thread and the other sources go on.

mod domain;
mod root_watch;
mod source;
#[doc(hidden)]
pub mod testing;

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::io::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Weak};
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;
use parking_lot::Mutex;
use serde_json::Value;

use super::root::{warn, Root, MONITOR_SUFFIX};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::eventloop;
use crate::eventloop::default_loop::{report_ready, DefaultLoop, WaitingReader, READER_FDS};
use crate::sys::{Epoll, Ready, Wakeup};
use domain::{DomainMonitor, Reading};
use root_watch::RootWatch;
use source::{Action, Call, Command, Next, Notice, RawCommand, Removal, Source};

/// How long a caller waits for a command's reply.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the monitor thread checks on an event loop's thread that keeps
/// the reading between its waits: one that has not waited again within
/// this time (its callbacks run long, or the application stopped running
/// the loop) loses the reading to the monitor thread.
const LOOP_CHECK: Duration = Duration::from_millis(100);

const WAKE_TOKEN: u64 = 0;
/// The sources' epoll among what the monitor thread waits on.
const SOURCES_TOKEN: u64 = 0;
/// The monitor thread's own wake-up among what it waits on.
const POKE_TOKEN: u64 = 1;

/// Work handed to the monitor thread.
pub(super) enum Request {
    AddRoot(Arc<Root>),
    RemoveRoot(Arc<Root>),
    /// Attach `NAME.qmp` now (a domain the driver just launched), without
    /// waiting for inotify to report its socket.
    Attach(Arc<Root>, String),
    Execute {
        root: Arc<Root>,
        domain: String,
        command: Command,
    },
    ExecuteRaw {
        root: Arc<Root>,
        domain: String,
        command: RawCommand,
    },
    /// Read the monitor of `domain` again (its backlog was drained). Weak:
    /// the backlog lives in the root's own event queue.
    Resume {
        root: Weak<Root>,
        domain: String,
    },
}

pub(super) struct Hub {
    wake: Wakeup,
    requests: Mutex<VecDeque<Request>>,
    /// Set after a request is queued, cleared before the queue is taken:
    /// lets the loop's thread see, for every read, whether one came without
    /// taking the queue's lock.
    requests_pending: AtomicBool,
    /// What the sources wait on, and the wake-up.
    epoll: Epoll,
    /// The same, by descriptor rather than token, with the built-in event
    /// loop's wake-up: what the loop's thread waits in when it polls
    /// nothing else (`WaitingReader::wait_alone`).
    loop_set: Epoll,
    /// What the monitor thread waits on: `epoll` (unless the event loop's
    /// thread has taken the reading over), `poke`, and the sources' deadlines.
    gate: Epoll,
    /// Wakes the monitor thread alone, to wait for a closer deadline.
    poke: Wakeup,
    sources: Mutex<Sources>,
    /// The monitor thread waits with nothing pending: the loop's thread may
    /// take the reading over.
    monitor_thread_asleep: AtomicBool,
    /// Whether the event loop's threads read the monitors, and how they go.
    loop_hold: Mutex<LoopHold>,
    /// Set once the built-in event loop reads the monitors too.
    on_default_loop: OnceCell<()>,
}

static HUB: OnceCell<&'static Hub> = OnceCell::new();

/// The process's monitor thread, started on first use.
pub(super) fn hub() -> Result<&'static Hub> {
    HUB.get_or_try_init(|| {
        let failed = |e: std::io::Error| {
            Error::internal(ErrorDomain::VIR_FROM_QEMU, format!("cannot start the monitor thread: {e}"))
        };
        let epoll = Epoll::new().map_err(failed)?;
        let loop_set = Epoll::new().map_err(failed)?;
        let gate = Epoll::new().map_err(failed)?;
        let wake = Wakeup::new().map_err(failed)?;
        let poke = Wakeup::new().map_err(failed)?;
        epoll.add(wake.fd(), WAKE_TOKEN, Epoll::IN).map_err(failed)?;
        loop_set.add(wake.fd(), by_fd(wake.fd()), Epoll::IN).map_err(failed)?;
        gate.add(epoll.fd(), SOURCES_TOKEN, Epoll::IN).map_err(failed)?;
        gate.add(poke.fd(), POKE_TOKEN, Epoll::IN).map_err(failed)?;
        // Lives as long as the process, as the thread does.
        let hub: &'static Hub = Box::leak(Box::new(Hub {
            wake,
            requests: Mutex::new(VecDeque::new()),
            requests_pending: AtomicBool::new(false),
            epoll,
            loop_set,
            gate,
            poke,
            sources: Mutex::new(Sources::new()),
            monitor_thread_asleep: AtomicBool::new(false),
            loop_hold: Mutex::new(LoopHold { held: false, polling: 0, waits: 0, checked: false }),
            on_default_loop: OnceCell::new(),
        }));
        std::thread::Builder::new()
            .name("virt-events-qmp".into())
            .spawn(move || monitor_thread(hub))
            .map_err(failed)?;
        Ok(hub)
    })
    .copied()
}

/// How the event loop's threads read the monitors. The reading stays with
/// them from one wait to the next (the gate re-armed and disarmed for every
/// event took two system calls and a pass over the monitors' epoll, on the
/// path from QEMU's write to the callback). It goes back to the monitor
/// thread when something needs that thread while no loop thread waits (a
/// request: a command issued from a callback, say), when a read finds a
/// burst (so that the monitor thread reads on while the loop's thread
/// delivers), and when the monitor thread, checking every [`LOOP_CHECK`],
/// finds that no loop thread waited again since its last check.
struct LoopHold {
    /// The loop's threads hold the reading: the gate is disarmed.
    held: bool,
    /// How many of the loop's threads are in their wait now.
    polling: usize,
    /// How many waits the loop's threads ended, for the monitor thread to
    /// see whether they came back since its last check.
    waits: u64,
    /// The monitor thread checks on the loop's threads (it waits at most
    /// [`LOOP_CHECK`]); when it does not, the next wait that ends wakes it.
    checked: bool,
}

/// The monitor thread's side of [`LoopHold`]: what it saw at its last
/// check, and when it checks next.
#[derive(Default)]
struct LoopCheck {
    waits: u64,
    next: Option<Instant>,
}

/// The hub as the built-in event loop's [`WaitingReader`].
struct LoopReading(&'static Hub);

impl LoopReading {
    /// The loop's thread takes the reading over for a wait, unless the
    /// monitor thread is busy: one in the middle of a burst reads on, in
    /// parallel with the loop's thread delivering. False if it cannot.
    fn take_hold(&self) -> bool {
        let hub = self.0;
        let mut hold = hub.loop_hold.lock();
        if !hold.held {
            let monitor_thread_busy = !hub.monitor_thread_asleep.load(Ordering::SeqCst);
            if monitor_thread_busy || hub.gate.modify(hub.epoll.fd(), SOURCES_TOKEN, 0).is_err() {
                return false;
            }
            hold.held = true;
        }
        hold.polling += 1;
        true
    }
}

/// A descriptor to poll for `events` (epoll's bits, which are poll(2)'s).
fn pollfd(fd: RawFd, events: u32) -> libc::pollfd {
    libc::pollfd { fd, events: events as libc::c_short, revents: 0 }
}

/// The token of a descriptor in the hub's `loop_set`.
fn by_fd(fd: RawFd) -> u64 {
    fd as u64
}

impl WaitingReader for LoopReading {
    /// The loop's thread polls the sources' epoll with the application's
    /// descriptors, and asks it what is ready after the wait.
    fn take_over(&self, fds: &mut Vec<libc::pollfd>) -> bool {
        if !self.take_hold() {
            return false;
        }
        fds.push(pollfd(self.0.epoll.fd(), Epoll::IN));
        true
    }

    /// With few sources (many would make `Round::run_polled` look long for
    /// the one a descriptor belongs to), the loop's thread waits in the
    /// hub's `loop_set`: the sources' descriptors, the requests' wake-up and
    /// the loop's, registered as they change rather than for every wait.
    /// QEMU's write wakes it directly, and no epoll_wait(2) on the sources
    /// follows: one system call before the read, where poll(2) and the
    /// sources' epoll take two.
    fn wait_alone(&self, timeout_ms: libc::c_int, fds: &mut Vec<libc::pollfd>) -> Option<std::io::Result<()>> {
        let hub = self.0;
        // Not waiting for the sources' lock: a thread holding it is reading
        // (a burst, most likely), and then the reading is not taken over.
        let few_sources = hub.sources.try_lock().is_some_and(|sources| sources.entries.len() < READER_FDS);
        if !few_sources || !self.take_hold() {
            return None;
        }
        // The sources, the requests' wake-up and the loop's.
        let ready = match hub.loop_set.wait_or_interrupted::<{ READER_FDS + 2 }>(timeout_ms) {
            Ok(ready) => ready,
            Err(e) => return Some(Err(e)),
        };
        // The set's tokens are the descriptors.
        report_ready(fds, ready.iter().map(|(fd, events)| (fd as RawFd, events)));
        Some(Ok(()))
    }

    fn hand_back(&self, polled: &[libc::pollfd]) {
        let hub = self.0;
        let wake_monitor_thread = {
            let mut hold = hub.loop_hold.lock();
            hold.polling -= 1;
            hold.waits += 1;
            !std::mem::replace(&mut hold.checked, true)
        };
        let mut burst = false;
        // A request sent as the wait ended (its sender saw this thread
        // waiting, so left it to this thread) may have missed the poll.
        let requested = || hub.requests_pending.load(Ordering::Acquire);
        if polled.iter().any(|polled| polled.revents != 0) || requested() {
            let mut sources = hub.sources.lock();
            sources.backlogged = false;
            let mut round = Round { hub, sources: &mut sources };
            match polled {
                [sources_epoll] if sources_epoll.fd == hub.epoll.fd() => round.run_ready(),
                _ => round.run_polled(polled),
            }
            if requested() {
                round.handle(WAKE_TOKEN, Epoll::IN);
            }
            // The monitor thread waits for the earliest deadline it knew of.
            let deadline = round.next_deadline();
            if deadline.is_some_and(|d| sources.monitor_wait_ends.is_none_or(|ends| d < ends)) {
                sources.monitor_wait_ends = deadline;
                hub.poke.signal();
            }
            burst = std::mem::take(&mut sources.backlogged);
        }
        if burst {
            hub.give_back(&mut hub.loop_hold.lock());
        }
        if wake_monitor_thread {
            hub.poke.signal();
        }
    }

    fn not_waiting(&self) {
        self.0.give_back_unless_a_loop_thread_waits();
    }
}

impl Hub {
    /// Makes the built-in event loop, when it is the registered one, read
    /// the monitors while its thread waits, so that an event reaches its
    /// callbacks with one wake-up (QEMU's write waking the loop's thread)
    /// rather than two (waking the monitor thread, which wakes the loop's
    /// thread). The monitor thread reads them the rest of the time: while
    /// the loop runs callbacks (so a command issued from one is answered),
    /// and always with an application's own loop, whose callbacks could hold
    /// what the monitor thread needs. Once per process.
    pub(super) fn read_on_default_loop(&'static self) {
        let Some(event_loop) = eventloop::current() else { return };
        let event_loop: &dyn Any = event_loop.as_ref();
        let Some(default_loop) = event_loop.downcast_ref::<DefaultLoop>() else { return };
        self.on_default_loop.get_or_init(|| {
            let wakeup = default_loop.wakeup_fd();
            // Without the loop's wake-up in its set, a wait could miss a new
            // timer or watch: then the monitor thread reads everything.
            if let Err(e) = self.loop_set.add(wakeup, by_fd(wakeup), Epoll::IN) {
                warn(format_args!("the event loop's thread cannot wait on the monitors: {e}"));
                return;
            }
            default_loop.set_waiting_reader(Box::new(LoopReading(self)));
        });
    }

    pub(super) fn send(&self, request: Request) {
        self.requests.lock().push_back(request);
        self.requests_pending.store(true, Ordering::Release);
        self.wake.signal();
        // No loop thread waits to read it: the monitor thread does.
        self.give_back_unless_a_loop_thread_waits();
    }

    /// [`Hub::give_back`] when no loop thread waits on the monitors now.
    fn give_back_unless_a_loop_thread_waits(&self) {
        let mut hold = self.loop_hold.lock();
        if hold.polling == 0 {
            self.give_back(&mut hold);
        }
    }

    /// Makes the sources' epoll (by token) and the loop's set (by
    /// descriptor) watch `wanted` for the source `token` instead of `old`.
    fn rewatch(&self, token: u64, old: Option<(RawFd, u32)>, wanted: Option<(RawFd, u32)>) -> std::io::Result<()> {
        let sets = |fd| [(&self.epoll, token), (&self.loop_set, by_fd(fd))];
        match (old, wanted) {
            (Some((old, _)), Some((fd, events))) if old == fd => {
                sets(fd).into_iter().try_for_each(|(set, data)| set.modify(fd, data, events))
            }
            (old, Some((fd, events))) => {
                if let Some((old, _)) = old {
                    self.unwatch(old);
                }
                sets(fd).into_iter().try_for_each(|(set, data)| set.add(fd, data, events))
            }
            (Some((old, _)), None) => {
                self.unwatch(old);
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Takes `fd` out of both sets.
    fn unwatch(&self, fd: RawFd) {
        self.epoll.remove(fd);
        self.loop_set.remove(fd);
    }

    /// Gives the reading back to the monitor thread, if a loop thread holds it.
    fn give_back(&self, hold: &mut LoopHold) {
        if !hold.held {
            return;
        }
        // Re-armed, the gate reports to the monitor thread what is pending.
        match self.gate.modify(self.epoll.fd(), SOURCES_TOKEN, Epoll::IN) {
            Ok(()) => hold.held = false,
            Err(e) => warn(format_args!("the monitor thread cannot wait on the monitors again: {e}")),
        }
    }

    /// The monitor thread's look at the loop's threads, between its waits:
    /// whether they still hold the reading, and when to look again. They
    /// lose it when a whole [`LOOP_CHECK`] passed with none of them waiting
    /// and none coming back to wait.
    fn check_on_loop(&self, check: &mut LoopCheck, now: Instant) -> bool {
        let mut hold = self.loop_hold.lock();
        if !hold.held {
            *check = LoopCheck { waits: hold.waits, next: None };
            hold.checked = false;
            return false;
        }
        if check.next.is_some_and(|next| now < next) {
            return true;
        }
        let came_back = std::mem::replace(&mut check.waits, hold.waits) != hold.waits;
        if check.next.is_some() && !came_back && hold.polling == 0 {
            self.give_back(&mut hold);
            if !hold.held {
                check.next = None;
                hold.checked = false;
                return false;
            }
        }
        if came_back || hold.polling == 0 {
            check.next = Some(now + LOOP_CHECK);
            hold.checked = true;
        } else {
            // Waiting, and idle since the last check: the wait that ends
            // next wakes this thread to check again.
            check.next = None;
            hold.checked = false;
        }
        true
    }

    /// Runs a QMP command on a domain's monitor and waits for its reply.
    pub(super) fn execute(&self, root: &Arc<Root>, domain: &str, command: &str, destroying: bool) -> Result<Value> {
        self.execute_with(root, domain, command, None, destroying)
    }

    /// [`Hub::execute`] with the command's `arguments`.
    pub(super) fn execute_with(
        &self,
        root: &Arc<Root>,
        domain: &str,
        command: &str,
        arguments: Option<Value>,
        destroying: bool,
    ) -> Result<Value> {
        let (reply, answer) = mpsc::channel();
        self.send(Request::Execute {
            root: root.clone(),
            domain: domain.to_string(),
            command: Command { execute: command.to_string(), arguments, destroying, reply },
        });
        wait_reply(&answer, domain, command)
    }

    /// Sends a caller's own QMP JSON to a domain's monitor and waits for
    /// QEMU's whole reply, as compact JSON text.
    pub(super) fn execute_raw(&self, root: &Arc<Root>, domain: &str, json: Value) -> Result<String> {
        let (reply, answer) = mpsc::channel();
        self.send(Request::ExecuteRaw {
            root: root.clone(),
            domain: domain.to_string(),
            command: RawCommand { json, reply },
        });
        wait_reply(&answer, domain, "a monitor command")
    }
}

/// A command's answer, or a timeout after [`COMMAND_TIMEOUT`].
fn wait_reply<T>(answer: &mpsc::Receiver<Result<T>>, domain: &str, command: &str) -> Result<T> {
    answer.recv_timeout(COMMAND_TIMEOUT).unwrap_or_else(|_| {
        Err(Error::new(
            ErrorCode::VIR_ERR_OPERATION_TIMEOUT,
            ErrorDomain::VIR_FROM_QEMU,
            Some(format!("no reply from the monitor of '{domain}' to {command}")),
        ))
    })
}

/// The answer to a command for a domain whose monitor is not attached.
fn not_running() -> Error {
    Error::operation_invalid(ErrorDomain::VIR_FROM_QEMU, "domain is not running")
}

/// A registered source and what epoll watches for it.
struct Entry {
    source: Box<dyn Source + Send>,
    watched: Option<(RawFd, u32)>,
}

/// The sources, and what the threads reading them need to agree on. Whoever
/// reads the monitors (the monitor thread, or the application's thread in
/// the default event loop) holds it for a round.
struct Sources {
    entries: HashMap<u64, Entry, Tokens>,
    /// The tokens of the entries that had a deadline when they were last
    /// kept (a monitor attaching): a round looks only at these, not at
    /// every attached monitor. Pruned as they are found without one.
    timed: HashSet<u64, Tokens>,
    next_token: u64,
    /// When the monitor thread's wait ends (`None`: only on an event), so
    /// that a round on the event loop's thread that brings a deadline
    /// closer can wake it.
    monitor_wait_ends: Option<Instant>,
    /// A read filled its buffer since this was last cleared: a burst.
    backlogged: bool,
    reading: Reading,
}

impl Sources {
    fn new() -> Sources {
        Sources {
            entries: HashMap::default(),
            timed: HashSet::default(),
            next_token: WAKE_TOKEN + 1,
            monitor_wait_ends: None,
            backlogged: false,
            reading: Reading::default(),
        }
    }
}

/// Hashes the sources' tokens: numbers the round hands out in sequence, so a
/// multiplication spreads them well enough, at a fraction of SipHash's cost
/// (a map look-up runs for every read).
type Tokens = BuildHasherDefault<TokenHasher>;

#[derive(Default)]
struct TokenHasher(u64);

impl Hasher for TokenHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, token: u64) {
        // Fibonacci hashing: 2^64 divided by the golden ratio, odd, so
        // distinct tokens keep distinct hashes.
        self.0 = (self.0.rotate_left(5) ^ token).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// The monitor thread's life: waits until a source is ready (unless the
/// event loop's thread reads them) or a deadline passes, then runs a round.
/// It looks without waiting first, so that it is only marked asleep (and
/// the loop's thread only takes the reading over) when nothing is pending:
/// a thread busy with a burst keeps it. While a loop thread holds the
/// reading, this one only keeps the deadlines (reading too, it would make
/// an event that comes as it checks on the loop cross two wake-ups).
fn monitor_thread(hub: &Hub) {
    let mut check = LoopCheck::default();
    loop {
        let timeout = {
            let mut sources = hub.sources.lock();
            let deadline = Round { hub, sources: &mut sources }.next_deadline();
            let ends = [deadline, check.next].into_iter().flatten().min();
            sources.monitor_wait_ends = ends;
            milliseconds_until(ends)
        };
        let mut waited = hub.gate.wait(0);
        if waited.as_ref().is_ok_and(|ready| ready.is_empty()) && timeout != 0 {
            hub.monitor_thread_asleep.store(true, Ordering::SeqCst);
            waited = hub.gate.wait(timeout);
            hub.monitor_thread_asleep.store(false, Ordering::SeqCst);
        }
        match waited {
            Ok(ready) if ready.iter().any(|(token, _)| token == POKE_TOKEN) => hub.poke.drain(),
            Ok(_) => {}
            Err(e) => {
                warn(format_args!("monitor thread: epoll failed: {e}"));
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        }
        let loop_reads = hub.check_on_loop(&mut check, Instant::now());
        let mut round = Round { hub, sources: &mut hub.sources.lock() };
        if loop_reads {
            round.expire();
        } else {
            round.run_ready();
        }
    }
}

/// An epoll timeout in ms until `deadline` (-1: none), rounded up: a wait
/// that ended short of it would look again at once, and again, until it
/// passed.
fn milliseconds_until(deadline: Option<Instant>) -> i32 {
    deadline.map_or(-1, |deadline| {
        let wait = deadline.saturating_duration_since(Instant::now()).as_nanos().div_ceil(1_000_000);
        wait.min(i32::MAX as u128) as i32
    })
}

/// One round over the sources, on whichever thread holds them.
struct Round<'a> {
    hub: &'a Hub,
    sources: &'a mut Sources,
}

impl Round<'_> {
    /// Handles what is ready now, then the sources whose deadline passed.
    fn run_ready(&mut self) {
        let ready = self.hub.epoll.wait(0);
        if let Err(e) = &ready {
            warn(format_args!("cannot ask epoll what the monitors have: {e}"));
        }
        for (token, events) in ready.iter().flat_map(Ready::iter) {
            self.handle(token, events);
        }
        self.expire();
    }

    /// [`Round::run_ready`] for what the loop's thread found waiting in the
    /// hub's `loop_set`, by descriptor. One that a source no longer watches
    /// (closed meanwhile, and maybe reused) is found by none, or by the
    /// source now watching it, which reads what is there.
    fn run_polled(&mut self, polled: &[libc::pollfd]) {
        for polled in polled.iter().filter(|polled| polled.revents != 0) {
            // poll(2)'s bits are epoll's for these events.
            let events = u32::from(polled.revents as u16);
            if polled.fd == self.hub.wake.fd() {
                self.handle(WAKE_TOKEN, events);
            } else if let Some(token) = self.watching(polled.fd) {
                self.handle(token, events);
            }
        }
        self.expire();
    }

    /// The source watching `fd`.
    fn watching(&self, fd: RawFd) -> Option<u64> {
        self.sources
            .entries
            .iter()
            .find(|(_, entry)| entry.watched.is_some_and(|(watched, _)| watched == fd))
            .map(|(token, _)| *token)
    }

    fn handle(&mut self, token: u64, events: u32) {
        if token == WAKE_TOKEN {
            self.hub.wake.drain();
            self.hub.requests_pending.store(false, Ordering::Release);
            let requests: Vec<Request> = self.hub.requests.lock().drain(..).collect();
            for request in requests {
                // Sources contain their own panics; this is for the round's own part.
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.handle_request(request))) {
                    warn(format_args!("a panic while handling a request ({})", panic_message(&*panic)));
                }
            }
        } else {
            self.dispatch(token, |source, call| source.ready(events, call));
        }
    }

    /// Calls the sources whose deadline passed.
    fn expire(&mut self) {
        let Sources { entries, timed, .. } = &mut *self.sources;
        timed.retain(|token| entries.get(token).is_some_and(|entry| entry.source.deadline().is_some()));
        // No clock read when no source has a deadline, as for every read
        // of a monitor that has no command waiting.
        if timed.is_empty() {
            return;
        }
        let now = Instant::now();
        let due: Vec<u64> = timed
            .iter()
            .filter(|token| entries.get(token).and_then(|entry| entry.source.deadline()).is_some_and(|d| d <= now))
            .copied()
            .collect();
        for token in due {
            self.dispatch(token, |source, _| source.expired(now));
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let Sources { entries, timed, .. } = &*self.sources;
        timed.iter().filter_map(|token| entries.get(token)?.source.deadline()).min()
    }

    /// Out of line: a round runs for every read, a request rarely (see
    /// tools/hot_path.py).
    #[inline(never)]
    fn handle_request(&mut self, request: Request) {
        match request {
            Request::AddRoot(root) => self.add_root(root),
            Request::RemoveRoot(root) => {
                let tokens: Vec<u64> = self
                    .sources
                    .entries
                    .iter()
                    .filter(|(_, e)| Arc::ptr_eq(e.source.owner().0, &root))
                    .map(|(t, _)| *t)
                    .collect();
                for token in tokens {
                    if let Some(entry) = self.sources.entries.remove(&token) {
                        self.retire(entry, Removal::Finished);
                    }
                }
            }
            Request::Attach(root, name) => self.consider(&root, &format!("{name}{MONITOR_SUFFIX}"), false),
            Request::Resume { root, domain } => {
                if let Some(token) = root.upgrade().and_then(|root| self.find(&root, &domain)) {
                    self.dispatch(token, |source, call| source.notify(Notice::Resume, call));
                }
            }
            Request::Execute { root, domain, command } => match self.find(&root, &domain) {
                Some(token) => self.dispatch(token, |source, call| source.notify(Notice::Execute(command), call)),
                None => {
                    let _ = command.reply.send(Err(not_running()));
                }
            },
            Request::ExecuteRaw { root, domain, command } => match self.find(&root, &domain) {
                Some(token) => self.dispatch(token, |source, call| source.notify(Notice::ExecuteRaw(command), call)),
                None => {
                    let _ = command.reply.send(Err(not_running()));
                }
            },
        }
    }

    /// The source of the domain `name`'s monitor in `root`.
    fn find(&self, root: &Arc<Root>, name: &str) -> Option<u64> {
        self.sources
            .entries
            .iter()
            .find(|(_, e)| matches!(e.source.owner(), (r, Some(n)) if Arc::ptr_eq(r, root) && n == name))
            .map(|(t, _)| *t)
    }

    fn token(&mut self) -> u64 {
        self.sources.next_token += 1;
        self.sources.next_token
    }

    /// Calls one source, with its panic contained: a source that panics is
    /// removed (it reports its domain's loss itself), the others go on.
    /// Then brings epoll's interest up to date and does what it asked for.
    /// The source stays in its map meanwhile: this runs for every read.
    fn dispatch(&mut self, token: u64, run: impl FnOnce(&mut dyn Source, &mut Call) -> Next) {
        let Some(entry) = self.sources.entries.get_mut(&token) else { return };
        let mut call = Call { reading: &mut self.sources.reading, then: Vec::new() };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let next = run(&mut *entry.source, &mut call);
            (next, entry.source.fd())
        }));
        let then = call.then;
        let removal = match outcome {
            Ok((Next::Keep, wanted)) => {
                if watch(self.hub, token, entry, wanted) {
                    if entry.source.deadline().is_some() {
                        self.sources.timed.insert(token);
                    }
                    None
                } else {
                    Some(Removal::Finished)
                }
            }
            Ok((Next::Remove, _)) => Some(Removal::Finished),
            Err(panic) => Some(Removal::Panicked(panic_message(&*panic))),
        };
        if let Some(why) = removal {
            if let Some(entry) = self.sources.entries.remove(&token) {
                self.retire(entry, why);
            }
        }
        self.follow(then);
    }

    /// Does what a source asked for after a call.
    fn follow(&mut self, then: Vec<Action>) {
        for action in then {
            match action {
                Action::Consider { root, file } => self.consider(&root, &file, false),
                Action::Backlogged => self.sources.backlogged = true,
                Action::SocketGone { root, name } => {
                    if let Some(token) = self.find(&root, &name) {
                        self.dispatch(token, |source, call| source.notify(Notice::SocketGone, call));
                    }
                }
            }
        }
    }

    /// Takes a source out of epoll and lets it say goodbye.
    fn retire(&self, mut entry: Entry, why: Removal) {
        if let Some((fd, _)) = entry.watched.take() {
            self.hub.unwatch(fd);
        }
        if let Removal::Panicked(message) = &why {
            let (root, name) = entry.source.owner();
            let dir = &root.dir;
            let what = name.map_or_else(|| format!("the root {}", dir.display()), |n| format!("the monitor of '{n}'"));
            warn(format_args!("a panic while handling {what} ({message}); it is dropped"));
        }
        if catch_unwind(AssertUnwindSafe(|| entry.source.removed(why))).is_err() {
            warn(format_args!("a panic while dropping a monitor source"));
        }
    }

    fn add_root(&mut self, root: Arc<Root>) {
        let (root_watch, files) = match RootWatch::new(root.clone()) {
            Ok(found) => found,
            Err(e) => {
                warn(format_args!("cannot watch {}: {e}; domains started later will not be seen", root.dir.display()));
                root.initial_scan_done();
                return;
            }
        };
        let token = self.token();
        let mut entry = Entry { source: Box::new(root_watch), watched: None };
        let wanted = entry.source.fd();
        if watch(self.hub, token, &mut entry, wanted) {
            self.sources.entries.insert(token, entry);
        }
        for file in files {
            self.consider(&root, &file, true);
        }
        root.initial_scan_done();
    }

    /// Attaches to `DIR/NAME.qmp` unless a monitor for it exists.
    fn consider(&mut self, root: &Arc<Root>, file: &str, initial: bool) {
        let Some(name) = file.strip_suffix(MONITOR_SUFFIX).filter(|n| !n.is_empty()) else { return };
        if self.find(root, name).is_some() {
            return;
        }
        if initial {
            root.initial_attach_started();
        }
        let token = self.token();
        let monitor = DomainMonitor::new(root.clone(), name, initial);
        self.sources.entries.insert(token, Entry { source: Box::new(monitor), watched: None });
        self.dispatch(token, |source, _| source.expired(Instant::now()));
    }
}

/// Makes epoll watch what the source wants; false if it cannot.
fn watch(hub: &Hub, token: u64, entry: &mut Entry, wanted: Option<(RawFd, u32)>) -> bool {
    if wanted == entry.watched {
        return true;
    }
    let result = hub.rewatch(token, entry.watched, wanted);
    entry.watched = wanted;
    if let Err(e) = result {
        let (root, name) = entry.source.owner();
        let dir = &root.dir;
        warn(format_args!("cannot watch the monitor of '{}' in {}: {e}", name.unwrap_or_default(), dir.display()));
        entry.watched = None;
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection closing while another opens the same directory gives
    /// two roots of one directory for a moment: the closing one's removal
    /// must not take the new one's watch and monitors with it, nor may the
    /// old one's monitor keep the new one from attaching the domain (both
    /// happened when roots were told apart by directory).
    #[test]
    fn a_closing_root_leaves_a_reopened_one_of_the_same_directory_whole() {
        let dir = std::env::temp_dir().join(format!("virt-events-twin-roots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        /// Stops the fake QEMU even if the test fails.
        struct Stop(std::process::Child);
        impl Drop for Stop {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let mut fake = std::process::Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(include_str!("../../../../tests/helpers/fake_qemu.py"))
            .arg(dir.join("twin.qmp"))
            .arg("00000000-0000-4000-8000-00000000a1a1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Kept open: the fake reports each client's end on it.
        let mut said = std::io::BufReader::new(fake.stdout.take().unwrap());
        let _fake = Stop(fake);
        let mut ready = String::new();
        std::io::BufRead::read_line(&mut said, &mut ready).unwrap();
        assert_eq!(ready.trim(), "ready");

        let hub = hub().unwrap();
        let old = Arc::new(Root::new(dir.clone()));
        hub.send(Request::AddRoot(old.clone()));
        old.wait_opened();
        assert!(old.wait_attached("twin", true, Duration::from_secs(5)));
        let new = Arc::new(Root::new(dir.clone()));
        hub.send(Request::AddRoot(new.clone()));
        hub.send(Request::RemoveRoot(old));
        // The fake serves one client at a time: the new root's monitor is
        // accepted once the old one's is gone.
        assert!(new.wait_attached("twin", true, Duration::from_secs(10)), "the reopened root lost the domain");
        hub.send(Request::RemoveRoot(new));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
