//! The built-in event loop behind `virEventRegisterDefaultImpl` and
//! `virEventRunDefaultImpl`: poll(2) over the registered descriptors plus an
//! internal wake-up descriptor, with timers computed from a monotonic clock
//! (0 ms timers from dispatch rounds: see `Due`).
//!
//! Registrations live in one table guarded by a mutex; `run_once` copies what
//! it needs out of it, polls without the lock, and then dispatches each due
//! timer and ready handle one at a time, taking the callback out of the table
//! while it runs. So callbacks run with no lock held and may freely add,
//! update or remove registrations on the same loop, themselves included.
//!
//! A loop may have one `WaitingReader`, descriptors its polling thread reads
//! itself around a wait that can sleep (the QEMU monitors).
//!
//! Every change made while some thread is inside poll(2) writes to the
//! wake-up descriptor, so the blocked thread rebuilds its poll set at once.
//! One thread polls at a time, as one thread at a time owns a GLib main
//! context (libvirt's default loop): another thread that runs the loop waits
//! until the poller has left poll(2) and drained the wake-up, then builds its
//! own set. So a wake-up is only ever drained by the thread it was written
//! for, and no thread sleeps on a set that misses a change while the thread
//! that drained its wake-up runs a callback.

use std::io;
use std::os::unix::io::RawFd;
#[cfg(test)]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;
use parking_lot::{Condvar, Mutex, MutexGuard};

use super::parked::{Parked, Removal};
use super::{EventLoop, HandleCallback, TimeoutCallback};
use crate::sys::{self, Wakeup};

/// `VIR_EVENT_HANDLE_READABLE`.
pub const EVENT_HANDLE_READABLE: i32 = 1;
/// `VIR_EVENT_HANDLE_WRITABLE`.
pub const EVENT_HANDLE_WRITABLE: i32 = 2;
/// `VIR_EVENT_HANDLE_ERROR`.
pub const EVENT_HANDLE_ERROR: i32 = 4;
/// `VIR_EVENT_HANDLE_HANGUP`.
pub const EVENT_HANDLE_HANGUP: i32 = 8;

const ALL_EVENTS: i32 = EVENT_HANDLE_READABLE | EVENT_HANDLE_WRITABLE | EVENT_HANDLE_ERROR | EVENT_HANDLE_HANGUP;

/// libvirt handle bits to the poll(2) `events` they ask for.
fn to_poll_events(events: i32) -> libc::c_short {
    let mut bits = 0;
    if events & EVENT_HANDLE_READABLE != 0 {
        bits |= libc::POLLIN;
    }
    if events & EVENT_HANDLE_WRITABLE != 0 {
        bits |= libc::POLLOUT;
    }
    if events & EVENT_HANDLE_ERROR != 0 {
        bits |= libc::POLLERR;
    }
    if events & EVENT_HANDLE_HANGUP != 0 {
        bits |= libc::POLLHUP;
    }
    bits
}

/// poll(2) `revents` to libvirt handle bits. `POLLNVAL` (the descriptor is
/// not open) becomes `EVENT_HANDLE_ERROR`, as libvirt reports it.
fn from_poll_events(revents: libc::c_short) -> i32 {
    let mut events = 0;
    if revents & libc::POLLIN != 0 {
        events |= EVENT_HANDLE_READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        events |= EVENT_HANDLE_WRITABLE;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        events |= EVENT_HANDLE_ERROR;
    }
    if revents & libc::POLLHUP != 0 {
        events |= EVENT_HANDLE_HANGUP;
    }
    events
}

/// Descriptors that the loop's thread reads itself while it would otherwise
/// sleep in poll(2), and that some other thread reads the rest of the time
/// (the QEMU monitors: see `driver::qemu::monitor`). Reading them on the
/// thread that dispatches saves waking a second thread per event.
pub trait WaitingReader: Send + Sync {
    /// The loop's thread is about to wait: the reader stops the other
    /// thread from reading and adds the descriptors to poll to `fds` (at
    /// most [`READER_FDS`]), which must tell it of any change to what it
    /// reads while the thread waits. False if it cannot; then it adds
    /// nothing.
    fn take_over(&self, fds: &mut Vec<libc::pollfd>) -> bool;
    /// The wait is over (`polled`: the descriptors it added, with what poll
    /// found): reads what is there. The reader may keep the reading until
    /// the loop's thread waits again, as long as it lets the other thread
    /// read when it does not come back. Runs no application code, and no
    /// lock of the loop is held.
    fn hand_back(&self, polled: &[libc::pollfd]);
    /// Instead of [`WaitingReader::take_over`] and poll(2), when the loop
    /// has nothing to poll but its wake-up descriptor (`fds[0]`, which the
    /// reader's set must hold: [`DefaultLoop::wakeup_fd`]): takes the
    /// reading over and waits up to `timeout_ms` in a set of its own, kept
    /// from one wait to the next (cheaper than poll(2), which registers
    /// every descriptor anew each time). Then sets `fds[0].revents` and
    /// appends the reader's descriptors that are ready, as poll(2) would
    /// report them (at most [`READER_FDS`] of them are handed back), for
    /// [`WaitingReader::hand_back`]. None if it does not wait (it cannot
    /// take the reading over, or prefers poll(2)).
    fn wait_alone(&self, timeout_ms: libc::c_int, fds: &mut Vec<libc::pollfd>) -> Option<io::Result<()>>;
    /// The loop's thread polls without waiting (a timer is due), so without
    /// the reader's descriptors: the other thread should read.
    fn not_waiting(&self);
}

/// The most descriptors a [`WaitingReader`] adds to a wait or reports ready.
pub const READER_FDS: usize = 8;

/// How [`WaitingReader::wait_alone`] reports what its wait found: each
/// ready descriptor with what poll(2) would have set in `revents` (epoll's
/// bits are poll's). The loop's wake-up, `fds[0]`, gets its `revents`; the
/// others are appended.
pub fn report_ready(fds: &mut Vec<libc::pollfd>, ready: impl IntoIterator<Item = (RawFd, u32)>) {
    for (fd, events) in ready {
        let revents = events as libc::c_short;
        match fds.first_mut() {
            Some(wakeup) if wakeup.fd == fd => wakeup.revents = revents,
            _ => fds.push(libc::pollfd { fd, events: revents, revents }),
        }
    }
}

/// Hands a [`WaitingReader`] back however the wait ends, unwinding included,
/// with what poll found on its descriptors (none if the wait failed).
struct TakenOver<'a> {
    reader: &'a dyn WaitingReader,
    polled: [libc::pollfd; READER_FDS],
    len: usize,
}

impl<'a> TakenOver<'a> {
    fn new(reader: &'a dyn WaitingReader) -> TakenOver<'a> {
        TakenOver { reader, polled: [libc::pollfd { fd: -1, events: 0, revents: 0 }; READER_FDS], len: 0 }
    }

    fn polled(&mut self, polled: &[libc::pollfd]) {
        self.len = polled.len().min(READER_FDS);
        self.polled[..self.len].copy_from_slice(&polled[..self.len]);
    }
}

impl Drop for TakenOver<'_> {
    fn drop(&mut self) {
        self.reader.hand_back(&self.polled[..self.len]);
    }
}

struct Entry<C, D> {
    id: i32,
    slot: Parked<C>,
    data: D,
}

impl<C, D> Entry<C, D> {
    fn is_parked(&self) -> bool {
        self.slot.is_idle()
    }

    /// Takes the callback out to run it, if it is parked.
    fn start(&mut self) -> Option<C> {
        self.slot.take()
    }
}

/// Registrations of one kind, kept sorted by id (ids only grow).
struct Table<C, D> {
    entries: Vec<Entry<C, D>>,
    last_id: i32,
}

impl<C, D> Table<C, D> {
    fn new() -> Self {
        Table { entries: Vec::new(), last_id: 0 }
    }

    fn position(&self, id: i32) -> Option<usize> {
        self.entries.binary_search_by_key(&id, |entry| entry.id).ok()
    }

    /// Adds a registration; gives the callback back when the ids ran out.
    fn insert(&mut self, data: D, callback: C) -> Result<i32, C> {
        let Some(id) = self.last_id.checked_add(1) else { return Err(callback) };
        self.last_id = id;
        self.entries.push(Entry { id, slot: Parked::Idle(callback), data });
        Ok(id)
    }

    /// The registration `id` unless it is unknown or already removed.
    fn live_mut(&mut self, id: i32) -> Option<&mut Entry<C, D>> {
        let index = self.position(id)?;
        let entry = &mut self.entries[index];
        (!entry.slot.is_removed()).then_some(entry)
    }

    /// Removes registration `id`: `Err` if unknown or already removed, else
    /// the callback to drop now (`None` if it is executing; then whoever runs
    /// it drops it when it returns).
    fn remove(&mut self, id: i32) -> Result<Option<C>, ()> {
        let index = self.position(id).ok_or(())?;
        match self.entries[index].slot.remove() {
            Removal::Now(callback) => {
                self.entries.remove(index);
                Ok(Some(callback))
            }
            Removal::Deferred => Ok(None),
            Removal::AlreadyRemoved => Err(()),
        }
    }

    /// Puts back a callback that has returned; gives it back to be dropped if
    /// its registration was removed meanwhile.
    fn restore(&mut self, id: i32, callback: C) -> Option<C> {
        let Some(index) = self.position(id) else { return Some(callback) };
        let removed = self.entries[index].slot.put_back(callback)?;
        self.entries.remove(index);
        Some(removed)
    }
}

struct HandleData {
    fd: RawFd,
    /// What the watch asks for, in libvirt bits; 0: registered, not polled.
    events: i32,
    /// poll(2) said the descriptor is not open; the error was reported once
    /// and the watch is not polled again until `update_handle`.
    invalid: bool,
}

/// When a timer fires next.
#[derive(Clone, Copy)]
enum Due {
    Disabled,
    /// A 0 ms timer: in every dispatch round after the one it was armed in
    /// (or last fired in), with no clock reading to arm or to check it.
    EveryRound {
        armed_in: u64,
    },
    /// In the first dispatch round that starts at or after this time.
    At(Instant),
}

impl Due {
    /// When a timer of `interval` ms armed in round `round` fires, counted
    /// from `now` (read only when needed).
    fn after(interval: i32, round: u64, now: impl FnOnce() -> Instant) -> Due {
        match u64::try_from(interval) {
            Err(_) => Due::Disabled,
            Ok(0) => Due::EveryRound { armed_in: round },
            Ok(ms) => now().checked_add(Duration::from_millis(ms)).map_or(Due::Disabled, Due::At),
        }
    }

    /// Whether it is due in dispatch round `round`, which started at `now`
    /// (`None`: no `At` timer existed then, so any now was armed later).
    fn is_due(self, round: u64, now: Option<Instant>) -> bool {
        match self {
            Due::Disabled => false,
            Due::EveryRound { armed_in } => armed_in < round,
            Due::At(due) => now.is_some_and(|now| due <= now),
        }
    }
}

struct TimerData {
    /// Milliseconds between firings; negative: disabled.
    interval: i32,
    due: Due,
    /// The dispatch round that found it due when the round started: a round
    /// runs only those (and only if they are still due when their turn
    /// comes).
    pending_in: u64,
}

struct Registrations {
    handles: Table<HandleCallback, HandleData>,
    timers: Table<TimeoutCallback, TimerData>,
    /// Timer dispatch rounds started so far.
    round: u64,
    /// A thread is between building a poll set and leaving poll(2) (with
    /// the wake-up drained): every change wakes it.
    polling: bool,
    /// The buffers of the last wait's set, given back for the next one: a
    /// wait allocates nothing (the allocator's code and data were about 5%
    /// of the cache lines a paced event touches on the loop's thread).
    spare_set: PollSet,
}

/// What one iteration waits on: the wake-up descriptor, then the watches'
/// descriptors; the watch id of each of the latter; the poll timeout in ms.
#[derive(Default)]
struct PollSet {
    fds: Vec<libc::pollfd>,
    watches: Vec<i32>,
    timeout: libc::c_int,
}

fn handles(registrations: &mut Registrations) -> &mut Table<HandleCallback, HandleData> {
    &mut registrations.handles
}

fn timers(registrations: &mut Registrations) -> &mut Table<TimeoutCallback, TimerData> {
    &mut registrations.timers
}

/// libvirt's default event loop.
///
/// Handle `events` are libvirt's `virEventHandleType` bits (READABLE 1,
/// WRITABLE 2, ERROR 4, HANGUP 8). A handle callback receives the bits of
/// what happened, restricted to what it asked for plus ERROR and HANGUP,
/// which are always reported. A descriptor that is not open (`POLLNVAL`) is
/// reported as ERROR, once: the watch then stays registered but is left out
/// of the poll set (so an application that ignores the error does not spin)
/// until `update_handle` is called on it.
///
/// Timeouts are in milliseconds: negative disables the timer, 0 fires on
/// every iteration, N fires every N ms counted from when it last fired.
///
/// Ids of watches and of timers each start at 1 and are never reused.
///
/// Freeing: dropping a registration's boxed callback is its free callback.
/// `remove_handle`/`remove_timeout` drop it synchronously, before returning
/// and after releasing the internal lock, unless the callback is executing
/// at that moment (it removed itself, or another thread is running it); then
/// the thread running it drops it as soon as it returns, again with no lock
/// held. A failed `add_*` (its ids exhausted) creates no registration and
/// gives the callback back to its creator.
pub struct DefaultLoop {
    registrations: Mutex<Registrations>,
    /// Signalled when the polling thread leaves poll(2), for the threads
    /// waiting to poll.
    poll_released: Condvar,
    wakeup: Wakeup,
    waiting_reader: OnceCell<Box<dyn WaitingReader>>,
    /// How many times poll(2) returned, to observe wake-ups in tests.
    #[cfg(test)]
    polls: AtomicUsize,
}

/// A callback taken out of the table to run. Dropping this puts it back, or
/// drops it if its registration was removed meanwhile (also on unwinding).
struct Dispatch<'a, C, D> {
    owner: &'a DefaultLoop,
    table: fn(&mut Registrations) -> &mut Table<C, D>,
    id: i32,
    callback: Option<C>,
}

impl<C, D> Drop for Dispatch<'_, C, D> {
    fn drop(&mut self) {
        if let Some(callback) = self.callback.take() {
            self.owner.put_back(self.table, self.id, callback);
        }
    }
}

/// A timer dispatch round: its number and, if any timer counts in time, when
/// it started.
type Round = (u64, Option<Instant>);

impl DefaultLoop {
    /// A loop with no registrations. Fails only if the wake-up descriptor
    /// cannot be created.
    pub fn new() -> io::Result<DefaultLoop> {
        Ok(DefaultLoop {
            registrations: Mutex::new(Registrations {
                handles: Table::new(),
                timers: Table::new(),
                round: 0,
                polling: false,
                spare_set: PollSet::default(),
            }),
            poll_released: Condvar::new(),
            wakeup: Wakeup::new()?,
            waiting_reader: OnceCell::new(),
            #[cfg(test)]
            polls: AtomicUsize::new(0),
        })
    }

    /// The descriptor that wakes the loop's thread from its wait.
    pub fn wakeup_fd(&self) -> RawFd {
        self.wakeup.fd()
    }

    /// Makes the loop's thread read `reader` while it waits (see
    /// [`WaitingReader`]). One per loop: false if one is set already.
    pub fn set_waiting_reader(&self, reader: Box<dyn WaitingReader>) -> bool {
        self.waiting_reader.set(reader).is_ok()
    }

    /// Applies `f` to the registrations, then wakes any thread blocked in
    /// poll(2) so that it sees the result.
    fn change<R>(&self, f: impl FnOnce(&mut Registrations) -> R) -> R {
        let (result, wake) = {
            let mut registrations = self.registrations.lock();
            let result = f(&mut registrations);
            (result, registrations.polling)
        };
        if wake {
            self.wakeup.signal();
        }
        result
    }

    /// One iteration of the loop, like `virEventRunDefaultImpl`: waits until
    /// the earliest enabled timer is due or a polled descriptor is ready
    /// (indefinitely if neither can happen), then runs the due timers and
    /// then the ready handles, each in id order, and returns.
    ///
    /// A wake-up caused only by a change to the registrations dispatches
    /// nothing, so it is not returned from: the wait starts again with the
    /// new set. A signal interrupting the wait returns `Ok(())` at once, so
    /// the caller can check whatever its handler set. Other poll(2) failures
    /// are returned.
    ///
    /// When no watch is polled and a timer is due already, poll(2) could
    /// only look at the internal wake-up descriptor without waiting, which
    /// changes nothing (a change it would report is seen anyway, as the
    /// registrations are read under their lock): the timers run at once.
    ///
    /// While another thread polls, this one waits for it to leave poll(2)
    /// (it is woken by every change, so nothing is left waiting meanwhile);
    /// callbacks still run on several threads at once.
    pub fn run_once(&self) -> io::Result<()> {
        loop {
            let mut set = match self.prepare() {
                Ok(set) => set,
                Err((registrations, round)) => {
                    if let Some(reader) = self.waiting_reader.get() {
                        reader.not_waiting();
                    }
                    if self.dispatch_timers(registrations, round) {
                        return Ok(());
                    }
                    continue;
                }
            };
            // Only a wait that can sleep is worth taking the reading over for.
            // Its descriptors go last in the set, after the watches' (which
            // the dispatch below pairs with `set.watches`, so it never sees
            // them).
            let reader_fds = set.fds.len();
            let reader = self.waiting_reader.get().map(Box::as_ref);
            if let Some(reader) = reader.filter(|_| set.timeout == 0) {
                reader.not_waiting();
            }
            let reader = reader.filter(|_| set.timeout != 0);
            let alone = reader.filter(|_| reader_fds == 1).and_then(|reader| {
                let waited = reader.wait_alone(set.timeout, &mut set.fds)?;
                Some((TakenOver::new(reader), waited))
            });
            let (taken_over, polled) = match alone {
                Some((taken_over, waited)) => (Some(taken_over), waited),
                None => {
                    let taken_over = reader.filter(|reader| reader.take_over(&mut set.fds)).map(TakenOver::new);
                    (taken_over, sys::poll(&mut set.fds, set.timeout).map(drop))
                }
            };
            #[cfg(test)]
            self.polls.fetch_add(1, Ordering::SeqCst);
            if let Err(error) = polled {
                self.release_poll(&mut self.registrations.lock());
                return if error.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(error) };
            }
            // Drained before the next poller can start: a wake-up it is owed
            // is written after it built its set, hence after this.
            if set.fds[0].revents != 0 {
                self.wakeup.drain();
            }
            self.release_poll(&mut self.registrations.lock());
            // Handed back (dropped) here, so that what it reads is queued
            // before the round starts and a flush it arms runs in this round.
            if let Some(mut taken_over) = taken_over {
                taken_over.polled(&set.fds[reader_fds..]);
            }
            let mut registrations = self.registrations.lock();
            let round = Self::start_round(&mut registrations);
            let mut dispatched = self.dispatch_timers(registrations, round);
            for (pollfd, &watch) in set.fds[1..].iter().zip(&set.watches) {
                if pollfd.revents != 0 {
                    dispatched |= self.dispatch_handle(watch, pollfd.revents);
                }
            }
            self.registrations.lock().spare_set = set;
            if dispatched {
                return Ok(());
            }
        }
    }

    /// What to poll, with the timeout in ms until the earliest timer (-1:
    /// none), the caller then being the polling thread (once no other is);
    /// when no watch is polled and a timer is due already (nothing to wait
    /// for), the timer dispatch round started instead, and the lock it
    /// started under, for the dispatch to go on with.
    fn prepare(&self) -> Result<PollSet, (MutexGuard<'_, Registrations>, Round)> {
        let mut registrations = self.registrations.lock();
        loop {
            let mut set = Self::poll_set(&mut registrations);
            if set.fds.is_empty() && set.timeout == 0 {
                registrations.spare_set = set;
                let round = Self::start_round(&mut registrations);
                return Err((registrations, round));
            }
            if !registrations.polling {
                registrations.polling = true;
                set.fds.insert(0, libc::pollfd { fd: self.wakeup.fd(), events: libc::POLLIN, revents: 0 });
                return Ok(set);
            }
            registrations.spare_set = set;
            self.poll_released.wait(&mut registrations);
        }
    }

    /// The watches' descriptors to poll (the wake-up descriptor not yet
    /// among them) and the timeout in ms until the earliest timer (-1: none).
    fn poll_set(registrations: &mut Registrations) -> PollSet {
        let PollSet { mut fds, mut watches, .. } = std::mem::take(&mut registrations.spare_set);
        fds.clear();
        watches.clear();
        // Room for the wake-up and a waiting reader's descriptors too.
        fds.reserve(registrations.handles.entries.len() + 1 + READER_FDS);
        for entry in &registrations.handles.entries {
            if entry.is_parked() && entry.data.events != 0 && !entry.data.invalid {
                fds.push(libc::pollfd { fd: entry.data.fd, events: to_poll_events(entry.data.events), revents: 0 });
                watches.push(entry.id);
            }
        }

        let mut every_round = false;
        let mut earliest: Option<Instant> = None;
        for entry in registrations.timers.entries.iter().filter(|entry| entry.is_parked()) {
            match entry.data.due {
                Due::Disabled => {}
                Due::EveryRound { .. } => every_round = true,
                Due::At(due) => earliest = Some(earliest.map_or(due, |earliest| earliest.min(due))),
            }
        }
        let timeout = if every_round {
            0
        } else {
            earliest.map_or(-1, |due| {
                // Rounded up, so that the wait never ends before the timer is due.
                let wait = due.saturating_duration_since(Instant::now()).as_nanos().div_ceil(1_000_000);
                libc::c_int::try_from(wait).unwrap_or(libc::c_int::MAX)
            })
        };
        PollSet { fds, watches, timeout }
    }

    /// Ends the caller's turn as the polling thread and lets a thread waiting
    /// for it build its poll set.
    fn release_poll(&self, registrations: &mut Registrations) {
        registrations.polling = false;
        self.poll_released.notify_all();
    }

    /// Runs every timer due in `round`, in id order, starting under the
    /// lock `registrations` (held since the round started). True if any ran.
    /// Each timer that ran is put back under the lock that takes the next
    /// one out.
    fn dispatch_timers<'a>(&'a self, mut registrations: MutexGuard<'a, Registrations>, (round, now): Round) -> bool {
        let mut after = 0;
        let mut fired = false;
        loop {
            let entries = &mut registrations.timers.entries;
            let from = entries.partition_point(|entry| entry.id <= after);
            let next = entries[from..].iter_mut().filter(|entry| entry.data.pending_in == round).find_map(|entry| {
                after = entry.id;
                // Removed, disabled or postponed by an earlier callback: skip.
                if entry.slot.is_removed() || !entry.data.due.is_due(round, now) {
                    return None;
                }
                let callback = entry.start()?;
                // From the time the dispatch started, as libvirt counts.
                entry.data.due = Due::after(entry.data.interval, round, || now.unwrap_or_else(Instant::now));
                Some((entry.id, callback))
            });
            drop(registrations);
            let Some((id, callback)) = next else { return fired };
            fired = true;
            let returned = self.call_out(timers, id, callback, |callback| callback(id));
            registrations = self.registrations.lock();
            let Some(callback) = returned else { continue };
            let finished = registrations.timers.restore(id, callback);
            // Another thread may be polling without the timer that ran (it
            // was running when its poll set was built): woken now.
            if registrations.polling {
                self.wakeup.signal();
            }
            if let Some(removed) = finished {
                // Its free callback runs with no lock held.
                drop(registrations);
                drop(removed);
                registrations = self.registrations.lock();
            }
        }
    }

    /// Starts a dispatch round: marks the timers due now, reading the clock
    /// only if some timer counts in time rather than rounds.
    fn start_round(registrations: &mut Registrations) -> (u64, Option<Instant>) {
        registrations.round += 1;
        let round = registrations.round;
        let timers = &mut registrations.timers.entries;
        let now = timers.iter().any(|entry| matches!(entry.data.due, Due::At(_))).then(Instant::now);
        for entry in timers.iter_mut().filter(|entry| entry.is_parked()) {
            if entry.data.due.is_due(round, now) {
                entry.data.pending_in = round;
            }
        }
        (round, now)
    }

    /// Runs the callback of `watch` for `revents`, unless it was removed or
    /// no longer asks for what happened. True if it ran.
    fn dispatch_handle(&self, watch: i32, revents: libc::c_short) -> bool {
        let (fd, events, callback) = {
            let mut registrations = self.registrations.lock();
            let Some(entry) = registrations.handles.live_mut(watch) else { return false };
            if entry.data.events == 0 {
                return false;
            }
            let events = from_poll_events(revents) & (entry.data.events | EVENT_HANDLE_ERROR | EVENT_HANDLE_HANGUP);
            if events == 0 {
                return false;
            }
            let Some(callback) = entry.start() else { return false };
            if revents & libc::POLLNVAL != 0 {
                entry.data.invalid = true;
            }
            (entry.data.fd, events, callback)
        };
        if let Some(callback) = self.call_out(handles, watch, callback, |callback| callback(watch, fd, events)) {
            self.put_back(handles, watch, callback);
        }
        true
    }

    /// Runs a callback taken out of `table` with no lock held and hands it
    /// back, for the caller to put back; should it unwind, it is put back on
    /// the way out.
    fn call_out<C, D>(
        &self,
        table: fn(&mut Registrations) -> &mut Table<C, D>,
        id: i32,
        callback: C,
        call: impl FnOnce(&mut C),
    ) -> Option<C> {
        let mut dispatch = Dispatch { owner: self, table, id, callback: Some(callback) };
        if let Some(callback) = dispatch.callback.as_mut() {
            call(callback);
        }
        dispatch.callback.take()
    }

    /// Puts back a callback that has returned, or frees it (with no lock
    /// held) if it was removed while running.
    fn put_back<C, D>(&self, table: fn(&mut Registrations) -> &mut Table<C, D>, id: i32, callback: C) {
        // Another thread may be polling without this registration (it was
        // running when its poll set was built): `change` wakes it.
        let finished = self.change(|registrations| table(registrations).restore(id, callback));
        // The lock is released: now the free callback may run.
        drop(finished);
    }
}

impl EventLoop for DefaultLoop {
    /// A negative descriptor is accepted and never reported ready, as by
    /// libvirt's loop: poll(2) ignores it.
    fn add_handle(&self, fd: RawFd, events: i32, cb: HandleCallback) -> Result<i32, HandleCallback> {
        let data = HandleData { fd, events: events & ALL_EVENTS, invalid: false };
        self.change(|registrations| registrations.handles.insert(data, cb))
    }

    fn update_handle(&self, watch: i32, events: i32) {
        self.change(|registrations| {
            if let Some(entry) = registrations.handles.live_mut(watch) {
                entry.data.events = events & ALL_EVENTS;
                entry.data.invalid = false;
            }
        });
    }

    fn remove_handle(&self, watch: i32) -> i32 {
        match self.change(|registrations| registrations.handles.remove(watch)) {
            Ok(callback) => {
                drop(callback);
                0
            }
            Err(()) => -1,
        }
    }

    fn add_timeout(&self, timeout_ms: i32, cb: TimeoutCallback) -> Result<i32, TimeoutCallback> {
        self.change(|registrations| {
            let due = Due::after(timeout_ms, registrations.round, Instant::now);
            registrations.timers.insert(TimerData { interval: timeout_ms, due, pending_in: 0 }, cb)
        })
    }

    fn update_timeout(&self, timer: i32, timeout_ms: i32) {
        self.change(|registrations| {
            let round = registrations.round;
            if let Some(entry) = registrations.timers.live_mut(timer) {
                entry.data.interval = timeout_ms;
                entry.data.due = Due::after(timeout_ms, round, Instant::now);
            }
        });
    }

    fn remove_timeout(&self, timer: i32) -> i32 {
        match self.change(|registrations| registrations.timers.remove(timer)) {
            Ok(callback) => {
                drop(callback);
                0
            }
            Err(()) => -1,
        }
    }
}

#[cfg(test)]
mod tests;
