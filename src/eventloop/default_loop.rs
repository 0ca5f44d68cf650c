//! The built-in event loop behind `virEventRegisterDefaultImpl` and
//! `virEventRunDefaultImpl`: poll(2) over the registered descriptors plus an
//! internal wake-up descriptor, with timers computed from a monotonic clock.
//!
//! Registrations live in one table guarded by a mutex; `run_once` copies what
//! it needs out of it, polls without the lock, and then dispatches each due
//! timer and ready handle one at a time, taking the callback out of the table
//! while it runs. So callbacks run with no lock held and may freely add,
//! update or remove registrations on the same loop, themselves included.
//!
//! Every change made while some thread is inside poll(2) writes to the
//! wake-up descriptor, so the blocked thread rebuilds its poll set at once.

use std::io;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

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

/// Where a registration's callback is.
enum Slot<C> {
    /// In the table, ready to be called.
    Parked(C),
    /// Taken out by a dispatching thread and currently executing.
    Running,
    /// Removed while executing: the dispatching thread deletes the entry and
    /// drops the callback when it returns.
    Removed,
}

struct Entry<C, D> {
    id: i32,
    slot: Slot<C>,
    data: D,
}

impl<C, D> Entry<C, D> {
    fn is_parked(&self) -> bool {
        matches!(self.slot, Slot::Parked(_))
    }

    /// Takes the callback out to run it, if it is parked.
    fn start(&mut self) -> Option<C> {
        match std::mem::replace(&mut self.slot, Slot::Running) {
            Slot::Parked(callback) => Some(callback),
            other => {
                self.slot = other;
                None
            }
        }
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
        self.entries.push(Entry { id, slot: Slot::Parked(callback), data });
        Ok(id)
    }

    /// The registration `id` unless it is unknown or already removed.
    fn live_mut(&mut self, id: i32) -> Option<&mut Entry<C, D>> {
        let index = self.position(id)?;
        let entry = &mut self.entries[index];
        (!matches!(entry.slot, Slot::Removed)).then_some(entry)
    }

    /// Removes registration `id`: `Err` if unknown or already removed, else
    /// the callback to drop now (`None` if it is executing; then whoever runs
    /// it drops it when it returns).
    fn remove(&mut self, id: i32) -> Result<Option<C>, ()> {
        let index = self.position(id).ok_or(())?;
        match std::mem::replace(&mut self.entries[index].slot, Slot::Removed) {
            Slot::Parked(callback) => {
                self.entries.remove(index);
                Ok(Some(callback))
            }
            Slot::Running => Ok(None),
            Slot::Removed => Err(()),
        }
    }

    /// Puts back a callback that has returned; gives it back to be dropped if
    /// its registration was removed meanwhile.
    fn restore(&mut self, id: i32, callback: C) -> Option<C> {
        let Some(index) = self.position(id) else { return Some(callback) };
        match self.entries[index].slot {
            Slot::Running => {
                self.entries[index].slot = Slot::Parked(callback);
                None
            }
            Slot::Removed => {
                self.entries.remove(index);
                Some(callback)
            }
            // Not reachable: only the thread holding the callback restores it.
            Slot::Parked(_) => Some(callback),
        }
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

struct TimerData {
    /// Milliseconds between firings; negative: disabled.
    interval: i32,
    /// When it fires next; `None` while disabled.
    due: Option<Instant>,
}

fn next_due(interval: i32, from: Instant) -> Option<Instant> {
    let interval = u64::try_from(interval).ok()?;
    from.checked_add(Duration::from_millis(interval))
}

struct Registrations {
    handles: Table<HandleCallback, HandleData>,
    timers: Table<TimeoutCallback, TimerData>,
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
/// held. A failed `add_*` (negative descriptor, ids exhausted) creates no
/// registration, so it does not drop the callback either: as libvirt never
/// calls the free function of a registration that failed, the box is leaked
/// and whatever it owns is left to its creator.
pub struct DefaultLoop {
    registrations: Mutex<Registrations>,
    /// Threads between building a poll set and leaving poll(2). Raised under
    /// the lock and read under the lock by every change, so a change made
    /// after a poll set was built always wakes that poll.
    pollers: AtomicUsize,
    wakeup: Wakeup,
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
            let table = self.table;
            let id = self.id;
            // Another thread may be polling without this registration (it was
            // running when its poll set was built): `change` wakes it.
            let finished = self.owner.change(|registrations| table(registrations).restore(id, callback));
            // The lock is released: now the free callback may run.
            drop(finished);
        }
    }
}

impl DefaultLoop {
    /// A loop with no registrations. Fails only if the wake-up descriptor
    /// cannot be created.
    pub fn new() -> io::Result<DefaultLoop> {
        Ok(DefaultLoop {
            registrations: Mutex::new(Registrations { handles: Table::new(), timers: Table::new() }),
            pollers: AtomicUsize::new(0),
            wakeup: Wakeup::new()?,
            #[cfg(test)]
            polls: AtomicUsize::new(0),
        })
    }

    /// Applies `f` to the registrations, then wakes any thread blocked in
    /// poll(2) so that it sees the result.
    fn change<R>(&self, f: impl FnOnce(&mut Registrations) -> R) -> R {
        let (result, wake) = {
            let mut registrations = self.registrations.lock();
            let result = f(&mut registrations);
            (result, self.pollers.load(Ordering::Relaxed) > 0)
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
    pub fn run_once(&self) -> io::Result<()> {
        loop {
            let (mut fds, watches, timeout) = self.prepare();
            let error = sys::poll(&mut fds, timeout).err();
            self.pollers.fetch_sub(1, Ordering::Relaxed);
            #[cfg(test)]
            self.polls.fetch_add(1, Ordering::SeqCst);
            if let Some(error) = error {
                return if error.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(error) };
            }
            if fds[0].revents != 0 {
                self.wakeup.drain();
            }
            let mut dispatched = self.dispatch_timers();
            for (pollfd, &watch) in fds[1..].iter().zip(&watches) {
                if pollfd.revents != 0 {
                    dispatched |= self.dispatch_handle(watch, pollfd.revents);
                }
            }
            if dispatched {
                return Ok(());
            }
        }
    }

    /// The poll set (the wake-up descriptor first), the watch id of each
    /// other entry, and the poll timeout in ms until the earliest timer (-1:
    /// none). Registers the caller as a poller.
    fn prepare(&self) -> (Vec<libc::pollfd>, Vec<i32>, libc::c_int) {
        let registrations = self.registrations.lock();
        self.pollers.fetch_add(1, Ordering::Relaxed);

        let mut fds = vec![libc::pollfd { fd: self.wakeup.fd(), events: libc::POLLIN, revents: 0 }];
        let mut watches = Vec::new();
        for entry in &registrations.handles.entries {
            if entry.is_parked() && entry.data.events != 0 && !entry.data.invalid {
                fds.push(libc::pollfd { fd: entry.data.fd, events: to_poll_events(entry.data.events), revents: 0 });
                watches.push(entry.id);
            }
        }

        let now = Instant::now();
        let earliest = registrations
            .timers
            .entries
            .iter()
            .filter(|entry| entry.is_parked())
            .filter_map(|entry| entry.data.due)
            .min();
        let timeout = earliest.map_or(-1, |due| {
            // Rounded up, so that the wait never ends before the timer is due.
            let wait = due.saturating_duration_since(now).as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(wait).unwrap_or(libc::c_int::MAX)
        });
        (fds, watches, timeout)
    }

    /// Runs every timer due now, in id order. True if any ran.
    fn dispatch_timers(&self) -> bool {
        let now = Instant::now();
        let due: Vec<i32> = {
            let registrations = self.registrations.lock();
            registrations
                .timers
                .entries
                .iter()
                .filter(|entry| entry.is_parked() && entry.data.due.is_some_and(|due| due <= now))
                .map(|entry| entry.id)
                .collect()
        };
        let mut fired = false;
        for id in due {
            let callback = {
                let mut registrations = self.registrations.lock();
                // Removed, disabled or postponed by an earlier callback: skip.
                let Some(entry) = registrations.timers.live_mut(id) else { continue };
                if entry.data.due.is_none_or(|due| due > now) {
                    continue;
                }
                let Some(callback) = entry.start() else { continue };
                entry.data.due = next_due(entry.data.interval, Instant::now());
                callback
            };
            self.invoke(timers, id, callback, |callback| callback(id));
            fired = true;
        }
        fired
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
        self.invoke(handles, watch, callback, |callback| callback(watch, fd, events));
        true
    }

    /// Runs a callback taken out of `table` with no lock held, then puts it
    /// back (or frees it if it was removed while running).
    fn invoke<C, D>(
        &self,
        table: fn(&mut Registrations) -> &mut Table<C, D>,
        id: i32,
        callback: C,
        call: impl FnOnce(&mut C),
    ) {
        let mut dispatch = Dispatch { owner: self, table, id, callback: Some(callback) };
        if let Some(callback) = dispatch.callback.as_mut() {
            call(callback);
        }
    }
}

/// Refuses a registration: see "Freeing" on [`DefaultLoop`].
fn refuse<C>(callback: C) -> i32 {
    std::mem::forget(callback);
    -1
}

impl EventLoop for DefaultLoop {
    fn add_handle(&self, fd: RawFd, events: i32, cb: HandleCallback) -> i32 {
        if fd < 0 {
            return refuse(cb);
        }
        let data = HandleData { fd, events: events & ALL_EVENTS, invalid: false };
        match self.change(|registrations| registrations.handles.insert(data, cb)) {
            Ok(watch) => watch,
            Err(cb) => refuse(cb),
        }
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

    fn add_timeout(&self, timeout_ms: i32, cb: TimeoutCallback) -> i32 {
        let data = TimerData { interval: timeout_ms, due: next_due(timeout_ms, Instant::now()) };
        match self.change(|registrations| registrations.timers.insert(data, cb)) {
            Ok(timer) => timer,
            Err(cb) => refuse(cb),
        }
    }

    fn update_timeout(&self, timer: i32, timeout_ms: i32) {
        self.change(|registrations| {
            if let Some(entry) = registrations.timers.live_mut(timer) {
                entry.data.interval = timeout_ms;
                entry.data.due = next_due(timeout_ms, Instant::now());
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
mod tests {
    use super::*;
    use std::os::unix::io::{AsRawFd, OwnedFd};
    use std::sync::mpsc;
    use std::sync::{Arc, Weak};
    use std::thread;

    const LIMIT: Duration = Duration::from_secs(2);

    struct Pipe {
        read: OwnedFd,
        write: OwnedFd,
    }

    fn pipe() -> Pipe {
        let (read, write) = std::io::pipe().expect("pipe");
        Pipe { read: read.into(), write: write.into() }
    }

    fn write_byte(fd: &OwnedFd) {
        let mut file = std::fs::File::from(fd.try_clone().unwrap());
        std::io::Write::write_all(&mut file, &[0]).unwrap();
    }

    /// What the callbacks saw: (name, events for handles / id for timers).
    type Log = Arc<Mutex<Vec<(&'static str, i32)>>>;

    fn log() -> Log {
        Arc::new(Mutex::new(Vec::new()))
    }

    fn on_handle(log: &Log, name: &'static str) -> HandleCallback {
        let log = log.clone();
        Box::new(move |_watch, _fd, events| log.lock().push((name, events)))
    }

    fn on_timer(log: &Log, name: &'static str) -> TimeoutCallback {
        let log = log.clone();
        Box::new(move |timer| log.lock().push((name, timer)))
    }

    fn seen(log: &Log) -> Vec<(&'static str, i32)> {
        log.lock().clone()
    }

    /// Counts its drops: the free callback of a registration.
    struct DropCount(Arc<AtomicUsize>);

    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counted() -> (Arc<AtomicUsize>, DropCount) {
        let count = Arc::new(AtomicUsize::new(0));
        (count.clone(), DropCount(count))
    }

    fn new_loop() -> Arc<DefaultLoop> {
        Arc::new(DefaultLoop::new().expect("event loop"))
    }

    /// Runs one `run_once` in another thread; its result arrives on the channel.
    fn spawn_run(event_loop: &Arc<DefaultLoop>) -> (thread::JoinHandle<()>, mpsc::Receiver<io::Result<()>>) {
        let (tx, rx) = mpsc::channel();
        let event_loop = event_loop.clone();
        let thread = thread::spawn(move || {
            let _ = tx.send(event_loop.run_once());
        });
        (thread, rx)
    }

    fn finished(rx: &mpsc::Receiver<io::Result<()>>) -> io::Result<()> {
        rx.recv_timeout(LIMIT).expect("run_once did not return in time")
    }

    fn wait_for(what: &str, condition: impl Fn() -> bool) {
        let start = Instant::now();
        while !condition() {
            assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits until the loop thread is about to block (or blocked) in poll.
    fn wait_blocked(event_loop: &DefaultLoop) {
        wait_for("the loop to poll", || event_loop.pollers.load(Ordering::SeqCst) > 0);
        thread::sleep(Duration::from_millis(20));
    }

    /// Runs a test body in its own thread and fails if it takes too long, so
    /// that a deadlock fails the test instead of hanging it.
    fn bounded(body: impl FnOnce() + Send + 'static) {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            body();
            let _ = tx.send(());
        });
        match rx.recv_timeout(Duration::from_secs(4)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Err(panic) = thread.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish in time"),
        }
    }

    #[test]
    fn poll_bits_convert_both_ways() {
        bounded(|| {
            assert_eq!(to_poll_events(0), 0);
            assert_eq!(to_poll_events(EVENT_HANDLE_READABLE), libc::POLLIN);
            assert_eq!(to_poll_events(EVENT_HANDLE_WRITABLE), libc::POLLOUT);
            assert_eq!(to_poll_events(EVENT_HANDLE_ERROR | EVENT_HANDLE_HANGUP), libc::POLLERR | libc::POLLHUP);
            assert_eq!(from_poll_events(libc::POLLIN | libc::POLLOUT), EVENT_HANDLE_READABLE | EVENT_HANDLE_WRITABLE);
            assert_eq!(from_poll_events(libc::POLLERR), EVENT_HANDLE_ERROR);
            assert_eq!(from_poll_events(libc::POLLNVAL), EVENT_HANDLE_ERROR);
            assert_eq!(from_poll_events(libc::POLLHUP), EVENT_HANDLE_HANGUP);
        });
    }

    #[test]
    fn simple_write_fires_only_that_handle() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let (a, b) = (pipe(), pipe());
            let wa = event_loop.add_handle(a.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "a"));
            let wb = event_loop.add_handle(b.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "b"));
            assert!(wa > 0 && wb > wa);
            write_byte(&b.write);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("b", EVENT_HANDLE_READABLE)]);
        });
    }

    #[test]
    fn handle_callback_gets_watch_fd_and_writable() {
        bounded(|| {
            let event_loop = new_loop();
            let p = pipe();
            let got = Arc::new(Mutex::new(None));
            let sink = got.clone();
            let fd = p.write.as_raw_fd();
            let watch = event_loop.add_handle(
                fd,
                EVENT_HANDLE_WRITABLE,
                Box::new(move |w, f, e| *sink.lock() = Some((w, f, e))),
            );
            event_loop.run_once().unwrap();
            assert_eq!(*got.lock(), Some((watch, fd, EVENT_HANDLE_WRITABLE)));
        });
    }

    #[test]
    fn hangup_is_reported_without_being_asked_for() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let Pipe { read, write } = pipe();
            event_loop.add_handle(read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "a"));
            drop(write);
            event_loop.run_once().unwrap();
            let events = seen(&log);
            assert_eq!(events.len(), 1);
            assert_ne!(events[0].1 & EVENT_HANDLE_HANGUP, 0);
        });
    }

    #[test]
    fn handle_removed_before_poll_does_not_fire() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let (a, b) = (pipe(), pipe());
            let wa = event_loop.add_handle(a.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "a"));
            event_loop.add_handle(b.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "b"));
            write_byte(&a.write);
            write_byte(&b.write);
            assert_eq!(event_loop.remove_handle(wa), 0);
            assert_eq!(event_loop.remove_handle(wa), -1);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("b", EVENT_HANDLE_READABLE)]);
        });
    }

    #[test]
    fn removing_a_handle_wakes_the_blocked_loop_and_nothing_fires() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let a = pipe();
            let (freed, guard) = counted();
            let sink = log.clone();
            let wa = event_loop.add_handle(
                a.read.as_raw_fd(),
                EVENT_HANDLE_READABLE,
                Box::new(move |_, _, events| {
                    let _keep = &guard;
                    sink.lock().push(("a", events));
                }),
            );
            let (thread, rx) = spawn_run(&event_loop);
            wait_blocked(&event_loop);
            let polls = event_loop.polls.load(Ordering::SeqCst);
            // Idle: no periodic wake-ups.
            thread::sleep(Duration::from_millis(50));
            assert_eq!(event_loop.polls.load(Ordering::SeqCst), polls);

            assert_eq!(event_loop.remove_handle(wa), 0);
            assert_eq!(freed.load(Ordering::SeqCst), 1);
            wait_for("the wake-up", || event_loop.polls.load(Ordering::SeqCst) > polls);
            // The wake-up alone dispatches nothing: run_once polls again.
            write_byte(&a.write);
            thread::sleep(Duration::from_millis(20));
            assert!(rx.try_recv().is_err(), "run_once returned on a bare wake-up");
            assert!(seen(&log).is_empty());

            event_loop.add_timeout(0, on_timer(&log, "end"));
            finished(&rx).unwrap();
            thread.join().unwrap();
            assert_eq!(seen(&log), [("end", 1)]);
        });
    }

    #[test]
    fn callback_removing_a_later_ready_handle_stops_it() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let (a, b) = (pipe(), pipe());
            let weak: Weak<DefaultLoop> = Arc::downgrade(&event_loop);
            let victim = Arc::new(AtomicUsize::new(0));
            let target = victim.clone();
            let sink = log.clone();
            event_loop.add_handle(
                a.read.as_raw_fd(),
                EVENT_HANDLE_READABLE,
                Box::new(move |_, _, events| {
                    sink.lock().push(("a", events));
                    let event_loop = weak.upgrade().unwrap();
                    sink.lock().push(("removed", event_loop.remove_handle(target.load(Ordering::SeqCst) as i32)));
                }),
            );
            let (freed, guard) = counted();
            let sink = log.clone();
            let wb = event_loop.add_handle(
                b.read.as_raw_fd(),
                EVENT_HANDLE_READABLE,
                Box::new(move |_, _, events| {
                    let _keep = &guard;
                    sink.lock().push(("b", events));
                }),
            );
            victim.store(wb as usize, Ordering::SeqCst);
            write_byte(&a.write);
            write_byte(&b.write);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("a", EVENT_HANDLE_READABLE), ("removed", 0)]);
            assert_eq!(freed.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn handle_callback_removes_itself() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let a = pipe();
            let weak = Arc::downgrade(&event_loop);
            let (freed, guard) = counted();
            let freed_inside = freed.clone();
            let sink = log.clone();
            let wa = event_loop.add_handle(
                a.read.as_raw_fd(),
                EVENT_HANDLE_READABLE,
                Box::new(move |watch, _, _| {
                    let _keep = &guard;
                    let event_loop = weak.upgrade().unwrap();
                    sink.lock().push(("remove", event_loop.remove_handle(watch)));
                    sink.lock().push(("again", event_loop.remove_handle(watch)));
                    // Not freed while it is still running.
                    sink.lock().push(("freed", freed_inside.load(Ordering::SeqCst) as i32));
                    // A removed watch cannot be revived.
                    event_loop.update_handle(watch, EVENT_HANDLE_READABLE);
                }),
            );
            write_byte(&a.write);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("remove", 0), ("again", -1), ("freed", 0)]);
            assert_eq!(freed.load(Ordering::SeqCst), 1);
            assert_eq!(event_loop.remove_handle(wa), -1);

            // The byte is still there, but the watch is gone.
            event_loop.add_timeout(10, on_timer(&log, "t"));
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log).last(), Some(&("t", 1)));
            assert_eq!(seen(&log).len(), 4);
        });
    }

    #[test]
    fn timers_run_before_handles_each_in_id_order() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let (a, b) = (pipe(), pipe());
            event_loop.add_handle(a.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "ha"));
            event_loop.add_handle(b.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "hb"));
            event_loop.add_timeout(0, on_timer(&log, "t1"));
            event_loop.add_timeout(0, on_timer(&log, "t2"));
            write_byte(&b.write);
            write_byte(&a.write);
            event_loop.run_once().unwrap();
            let readable = EVENT_HANDLE_READABLE;
            assert_eq!(seen(&log), [("t1", 1), ("t2", 2), ("ha", readable), ("hb", readable)]);
        });
    }

    #[test]
    fn timer_fires_after_its_interval_and_repeats() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let start = Instant::now();
            let timer = event_loop.add_timeout(100, on_timer(&log, "t"));
            event_loop.run_once().unwrap();
            let first = start.elapsed();
            assert_eq!(seen(&log), [("t", timer)]);
            assert!(first >= Duration::from_millis(100) && first < Duration::from_secs(1), "{first:?}");

            event_loop.update_timeout(timer, 30);
            let start = Instant::now();
            event_loop.run_once().unwrap();
            event_loop.run_once().unwrap();
            let two = start.elapsed();
            assert_eq!(seen(&log).len(), 3);
            assert!(two >= Duration::from_millis(60) && two < Duration::from_secs(1), "{two:?}");
        });
    }

    #[test]
    fn zero_timeout_fires_every_iteration_until_disabled() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let t = event_loop.add_timeout(0, on_timer(&log, "zero"));
            let end = event_loop.add_timeout(-1, on_timer(&log, "end"));
            event_loop.run_once().unwrap();
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("zero", t), ("zero", t)]);
            event_loop.update_timeout(t, -1);
            event_loop.update_timeout(end, 10);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("zero", t), ("zero", t), ("end", end)]);
        });
    }

    #[test]
    fn timer_removed_before_poll_does_not_fire() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let t1 = event_loop.add_timeout(10, on_timer(&log, "t1"));
            let t2 = event_loop.add_timeout(10, on_timer(&log, "t2"));
            assert_eq!(event_loop.remove_timeout(t1), 0);
            assert_eq!(event_loop.remove_timeout(t1), -1);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("t2", t2)]);
        });
    }

    #[test]
    fn removing_a_timer_wakes_the_blocked_loop() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let (freed, guard) = counted();
            let sink = log.clone();
            let t1 = event_loop.add_timeout(
                10_000,
                Box::new(move |timer| {
                    let _keep = &guard;
                    sink.lock().push(("t1", timer));
                }),
            );
            let (thread, rx) = spawn_run(&event_loop);
            wait_blocked(&event_loop);
            let polls = event_loop.polls.load(Ordering::SeqCst);
            assert_eq!(event_loop.remove_timeout(t1), 0);
            assert_eq!(freed.load(Ordering::SeqCst), 1);
            wait_for("the wake-up", || event_loop.polls.load(Ordering::SeqCst) > polls);
            assert!(rx.try_recv().is_err(), "run_once returned on a bare wake-up");

            let t2 = event_loop.add_timeout(0, on_timer(&log, "t2"));
            finished(&rx).unwrap();
            thread.join().unwrap();
            assert_eq!(seen(&log), [("t2", t2)]);
        });
    }

    #[test]
    fn timer_deleted_during_dispatch_does_not_fire() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let weak = Arc::downgrade(&event_loop);
            let sink = log.clone();
            // t1 (id 1) removes t2 (id 2); both are due in the same iteration.
            event_loop.add_timeout(
                0,
                Box::new(move |timer| {
                    sink.lock().push(("t1", timer));
                    let event_loop = weak.upgrade().unwrap();
                    sink.lock().push(("removed", event_loop.remove_timeout(2)));
                }),
            );
            let (freed, guard) = counted();
            let sink = log.clone();
            let t2 = event_loop.add_timeout(
                0,
                Box::new(move |timer| {
                    let _keep = &guard;
                    sink.lock().push(("t2", timer));
                }),
            );
            assert_eq!(t2, 2);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("t1", 1), ("removed", 0)]);
            assert_eq!(freed.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn timer_callback_removes_itself() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let weak = Arc::downgrade(&event_loop);
            let (freed, guard) = counted();
            let freed_inside = freed.clone();
            let sink = log.clone();
            let t = event_loop.add_timeout(
                0,
                Box::new(move |timer| {
                    let _keep = &guard;
                    let event_loop = weak.upgrade().unwrap();
                    sink.lock().push(("remove", event_loop.remove_timeout(timer)));
                    sink.lock().push(("freed", freed_inside.load(Ordering::SeqCst) as i32));
                    event_loop.update_timeout(timer, 0);
                }),
            );
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("remove", 0), ("freed", 0)]);
            assert_eq!(freed.load(Ordering::SeqCst), 1);
            assert_eq!(event_loop.remove_timeout(t), -1);

            let end = event_loop.add_timeout(5, on_timer(&log, "end"));
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("remove", 0), ("freed", 0), ("end", end)]);
        });
    }

    #[test]
    fn zero_timeout_from_another_thread_wakes_an_idle_loop() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let (thread, rx) = spawn_run(&event_loop);
            wait_blocked(&event_loop);
            let start = Instant::now();
            let t = event_loop.add_timeout(0, on_timer(&log, "added"));
            finished(&rx).unwrap();
            thread.join().unwrap();
            assert!(start.elapsed() < Duration::from_secs(1));
            assert_eq!(seen(&log), [("added", t)]);

            // Arming a disabled timer works the same way.
            event_loop.update_timeout(t, -1);
            let armed = event_loop.add_timeout(-1, on_timer(&log, "armed"));
            let (thread, rx) = spawn_run(&event_loop);
            wait_blocked(&event_loop);
            let start = Instant::now();
            event_loop.update_timeout(armed, 0);
            finished(&rx).unwrap();
            thread.join().unwrap();
            assert!(start.elapsed() < Duration::from_secs(1));
            assert_eq!(seen(&log), [("added", t), ("armed", armed)]);
        });
    }

    #[test]
    fn same_fd_twice_only_the_matching_mask_fires() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            let p = pipe();
            let fd = p.read.as_raw_fd();
            let idle = event_loop.add_handle(fd, 0, on_handle(&log, "idle"));
            let reader = event_loop.add_handle(fd, EVENT_HANDLE_READABLE, on_handle(&log, "reader"));
            write_byte(&p.write);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("reader", EVENT_HANDLE_READABLE)]);

            event_loop.update_handle(idle, EVENT_HANDLE_READABLE);
            event_loop.update_handle(reader, 0);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("reader", EVENT_HANDLE_READABLE), ("idle", EVENT_HANDLE_READABLE)]);
        });
    }

    #[test]
    fn ids_start_at_one_and_are_never_reused() {
        bounded(|| {
            let event_loop = new_loop();
            let p = pipe();
            let fd = p.read.as_raw_fd();
            assert_eq!(event_loop.add_handle(fd, 0, Box::new(|_, _, _| {})), 1);
            assert_eq!(event_loop.add_handle(fd, 0, Box::new(|_, _, _| {})), 2);
            assert_eq!(event_loop.remove_handle(2), 0);
            assert_eq!(event_loop.add_handle(fd, 0, Box::new(|_, _, _| {})), 3);
            assert_eq!(event_loop.add_handle(-1, EVENT_HANDLE_READABLE, Box::new(|_, _, _| {})), -1);

            assert_eq!(event_loop.add_timeout(-1, Box::new(|_| {})), 1);
            assert_eq!(event_loop.add_timeout(-1, Box::new(|_| {})), 2);
            assert_eq!(event_loop.remove_timeout(2), 0);
            assert_eq!(event_loop.add_timeout(-1, Box::new(|_| {})), 3);

            for bad in [0, -1, 2, 4, i32::MAX, i32::MIN] {
                assert_eq!(event_loop.remove_handle(bad), -1);
                assert_eq!(event_loop.remove_timeout(bad), -1);
                event_loop.update_handle(bad, EVENT_HANDLE_READABLE);
                event_loop.update_timeout(bad, 0);
            }
            // The updates above revived nothing: only the enabled timer fires.
            let log = log();
            write_byte(&p.write);
            let t = event_loop.add_timeout(5, on_timer(&log, "t"));
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("t", t)]);
        });
    }

    #[test]
    fn callbacks_are_dropped_exactly_once() {
        bounded(|| {
            let event_loop = new_loop();
            let p = pipe();
            let (handle_freed, guard) = counted();
            let watch = event_loop.add_handle(
                p.read.as_raw_fd(),
                0,
                Box::new(move |_, _, _| {
                    let _keep = &guard;
                }),
            );
            let (timer_freed, guard) = counted();
            let timer = event_loop.add_timeout(
                -1,
                Box::new(move |_| {
                    let _keep = &guard;
                }),
            );
            assert_eq!(handle_freed.load(Ordering::SeqCst), 0);
            assert_eq!(event_loop.remove_handle(watch), 0);
            assert_eq!(event_loop.remove_timeout(timer), 0);
            assert_eq!(handle_freed.load(Ordering::SeqCst), 1);
            assert_eq!(timer_freed.load(Ordering::SeqCst), 1);
            assert_eq!(event_loop.remove_handle(watch), -1);
            assert_eq!(event_loop.remove_timeout(timer), -1);
            assert_eq!(handle_freed.load(Ordering::SeqCst), 1);
            assert_eq!(timer_freed.load(Ordering::SeqCst), 1);

            // A failed add does not free (libvirt never frees a failed registration).
            let (refused, guard) = counted();
            assert_eq!(
                event_loop.add_handle(
                    -5,
                    0,
                    Box::new(move |_, _, _| {
                        let _keep = &guard;
                    })
                ),
                -1
            );
            assert_eq!(refused.load(Ordering::SeqCst), 0);

            // Registrations still present are freed once with the loop, and a
            // callback freeing into the loop while it is being changed is fine.
            let (kept, guard) = counted();
            event_loop.add_timeout(
                -1,
                Box::new(move |_| {
                    let _keep = &guard;
                }),
            );
            let weak = Arc::downgrade(&event_loop);
            struct AddsOnDrop(Weak<DefaultLoop>);
            impl Drop for AddsOnDrop {
                fn drop(&mut self) {
                    if let Some(event_loop) = self.0.upgrade() {
                        event_loop.add_timeout(-1, Box::new(|_| {}));
                    }
                }
            }
            let reentrant = AddsOnDrop(weak);
            let t = event_loop.add_timeout(
                -1,
                Box::new(move |_| {
                    let _keep = &reentrant;
                }),
            );
            assert_eq!(event_loop.remove_timeout(t), 0);
            drop(event_loop);
            assert_eq!(kept.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn an_invalid_descriptor_is_reported_as_an_error_once() {
        bounded(|| {
            let event_loop = new_loop();
            let log = log();
            // Far above any descriptor this process opens.
            let watch = event_loop.add_handle(1 << 20, EVENT_HANDLE_READABLE, on_handle(&log, "bad"));
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("bad", EVENT_HANDLE_ERROR)]);

            // Not polled again (no spinning) until the watch is updated.
            let t = event_loop.add_timeout(20, on_timer(&log, "t"));
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("bad", EVENT_HANDLE_ERROR), ("t", t)]);
            event_loop.update_timeout(t, -1);
            event_loop.update_handle(watch, EVENT_HANDLE_READABLE);
            event_loop.run_once().unwrap();
            assert_eq!(seen(&log), [("bad", EVENT_HANDLE_ERROR), ("t", t), ("bad", EVENT_HANDLE_ERROR)]);
        });
    }

    #[test]
    fn a_signal_during_poll_returns_at_once() {
        bounded(|| {
            sys::signal::interrupt_only(libc::SIGUSR2);
            let event_loop = new_loop();
            let log = log();
            let idle = pipe();
            event_loop.add_handle(idle.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "idle"));
            let (thread, rx) = spawn_run(&event_loop);
            wait_blocked(&event_loop);
            let start = Instant::now();
            let result = loop {
                sys::signal::send_to_thread(&thread, libc::SIGUSR2);
                match rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(result) => break result,
                    Err(_) => assert!(start.elapsed() < LIMIT, "run_once did not return on a signal"),
                }
            };
            thread.join().unwrap();
            result.unwrap();
            assert!(seen(&log).is_empty());
        });
    }
}
