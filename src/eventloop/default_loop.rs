//! The built-in event loop (`virEventRegisterDefaultImpl`): poll(2) over the
//! registered descriptors plus a wake-up pipe, with libvirt's semantics.
//!
//! Any thread may add, update or remove registrations while another blocks
//! in `run_once`: each change writes to the wake-up pipe, so the new set takes
//! effect at once. No lock is held while a callback runs. A removed
//! registration's callback is dropped (its free function) immediately when
//! it is not running, or right after it returns when it removed itself.

use std::io;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{EventLoop, HandleCallback, TimeoutCallback};

const READABLE: i32 = 1;
const WRITABLE: i32 = 2;
const ERROR: i32 = 4;
const HANGUP: i32 = 8;

fn to_poll(events: i32) -> i16 {
    let mut bits = 0;
    if events & READABLE != 0 {
        bits |= libc::POLLIN;
    }
    if events & WRITABLE != 0 {
        bits |= libc::POLLOUT;
    }
    if events & ERROR != 0 {
        bits |= libc::POLLERR;
    }
    if events & HANGUP != 0 {
        bits |= libc::POLLHUP;
    }
    bits
}

/// poll's `revents` as libvirt bits; an invalid descriptor is an error.
fn from_poll(revents: i16) -> i32 {
    let mut events = 0;
    if revents & libc::POLLIN != 0 {
        events |= READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        events |= WRITABLE;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        events |= ERROR;
    }
    if revents & libc::POLLHUP != 0 {
        events |= HANGUP;
    }
    events
}

/// A registration's callback: parked in the table, or out running.
enum Slot<T> {
    Parked(T),
    Running { removed: bool },
}

struct Handle {
    id: i32,
    fd: RawFd,
    events: i32,
    slot: Slot<HandleCallback>,
}

struct Timer {
    id: i32,
    interval_ms: i32,
    due: Option<Instant>,
    slot: Slot<TimeoutCallback>,
}

struct Registrations {
    handles: Vec<Handle>,
    timers: Vec<Timer>,
    next_watch: i32,
    next_timer: i32,
}

pub struct DefaultLoop {
    registrations: Mutex<Registrations>,
    wake_read: OwnedFd,
    wake_write: OwnedFd,
}

fn due_after(interval_ms: i32, now: Instant) -> Option<Instant> {
    (interval_ms >= 0).then(|| now + Duration::from_millis(interval_ms as u64))
}

/// Takes a parked callback out to run it.
fn take_to_run<T>(slot: &mut Slot<T>) -> Option<T> {
    match std::mem::replace(slot, Slot::Running { removed: false }) {
        Slot::Parked(callback) => Some(callback),
        running => {
            *slot = running;
            None
        }
    }
}

/// Marks a registration removed; returns its callback to drop if parked.
fn mark_removed<T>(slot: &mut Slot<T>) -> (bool, Option<T>) {
    match std::mem::replace(slot, Slot::Running { removed: true }) {
        Slot::Parked(callback) => (true, Some(callback)),
        Slot::Running { removed } => (!removed, None),
    }
}

impl DefaultLoop {
    pub fn new() -> io::Result<DefaultLoop> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both descriptors are open and ours alone.
        let (wake_read, wake_write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(DefaultLoop {
            registrations: Mutex::new(Registrations { handles: Vec::new(), timers: Vec::new(), next_watch: 1, next_timer: 1 }),
            wake_read,
            wake_write,
        })
    }

    /// Interrupts a blocked `run_once` so that it sees the current set.
    fn wake(&self) {
        let byte = 1u8;
        // SAFETY: writes one byte from a live buffer to our own pipe; a full
        // pipe (EAGAIN) already guarantees a wake-up, so the result is moot.
        unsafe { libc::write(self.wake_write.as_raw_fd(), (&byte as *const u8).cast(), 1) };
    }

    fn drain_wake_pipe(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: reads into a live buffer of the given size from our own
        // non-blocking pipe, until it is empty.
        while unsafe { libc::read(self.wake_read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }

    /// One iteration: waits until a timer is due or a descriptor is ready,
    /// dispatches them (timers first, each in id order) and returns. A
    /// signal interrupting the wait returns at once, so the caller can look
    /// at whatever flag its handler set.
    pub fn run_once(&self) -> io::Result<()> {
        loop {
            let (mut fds, watches, timeout) = self.poll_set();
            // SAFETY: `fds` is a live, correctly sized array of pollfd.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if ready < 0 {
                let error = io::Error::last_os_error();
                return if error.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(error) };
            }
            if fds[0].revents != 0 {
                self.drain_wake_pipe();
            }
            let mut dispatched = self.dispatch_timers();
            for (pollfd, watch) in fds[1..].iter().zip(watches) {
                if pollfd.revents != 0 {
                    dispatched |= self.dispatch_handle(watch, from_poll(pollfd.revents));
                }
            }
            if dispatched {
                return Ok(());
            }
        }
    }

    /// The descriptors to poll (the wake-up pipe first), the watch id of each
    /// other one, and the wait in ms until the next timer (-1: none).
    fn poll_set(&self) -> (Vec<libc::pollfd>, Vec<i32>, i32) {
        let registrations = self.registrations.lock();
        let mut fds = vec![libc::pollfd { fd: self.wake_read.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        let mut watches = Vec::new();
        for handle in registrations.handles.iter().filter(|h| h.events != 0 && !matches!(h.slot, Slot::Running { removed: true })) {
            fds.push(libc::pollfd { fd: handle.fd, events: to_poll(handle.events), revents: 0 });
            watches.push(handle.id);
        }
        let now = Instant::now();
        let timeout = registrations
            .timers
            .iter()
            .filter_map(|t| t.due)
            .min()
            .map_or(-1, |due| {
                let wait = due.saturating_duration_since(now);
                // Round up, so that the wait never ends just before the timer is due.
                wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            });
        (fds, watches, timeout)
    }

    fn dispatch_timers(&self) -> bool {
        let now = Instant::now();
        let due: Vec<i32> = {
            let registrations = self.registrations.lock();
            registrations.timers.iter().filter(|t| t.due.is_some_and(|d| d <= now)).map(|t| t.id).collect()
        };
        let mut dispatched = false;
        for id in due {
            let callback = {
                let mut registrations = self.registrations.lock();
                let Some(timer) = registrations.timers.iter_mut().find(|t| t.id == id) else { continue };
                // Disabled or postponed since the list was made: not due any more.
                if timer.due.is_none_or(|d| d > now) {
                    continue;
                }
                let Some(callback) = take_to_run(&mut timer.slot) else { continue };
                timer.due = due_after(timer.interval_ms, now);
                callback
            };
            let mut callback = callback;
            callback(id);
            dispatched = true;
            let finished = {
                let mut registrations = self.registrations.lock();
                let index = registrations.timers.iter().position(|t| t.id == id);
                match index.map(|i| &mut registrations.timers[i].slot) {
                    Some(slot @ Slot::Running { removed: false }) => {
                        *slot = Slot::Parked(callback);
                        None
                    }
                    _ => {
                        if let Some(i) = index {
                            registrations.timers.remove(i);
                        }
                        Some(callback)
                    }
                }
            };
            drop(finished);
        }
        dispatched
    }

    fn dispatch_handle(&self, watch: i32, events: i32) -> bool {
        let (fd, callback) = {
            let mut registrations = self.registrations.lock();
            let Some(handle) = registrations.handles.iter_mut().find(|h| h.id == watch) else { return false };
            // Only what the handle still asks for, plus errors and hang-ups.
            if events & (handle.events | ERROR | HANGUP) == 0 || handle.events == 0 {
                return false;
            }
            let Some(callback) = take_to_run(&mut handle.slot) else { return false };
            (handle.fd, callback)
        };
        let mut callback = callback;
        callback(watch, fd, events);
        let finished = {
            let mut registrations = self.registrations.lock();
            let index = registrations.handles.iter().position(|h| h.id == watch);
            match index.map(|i| &mut registrations.handles[i].slot) {
                Some(slot @ Slot::Running { removed: false }) => {
                    *slot = Slot::Parked(callback);
                    None
                }
                _ => {
                    if let Some(i) = index {
                        registrations.handles.remove(i);
                    }
                    Some(callback)
                }
            }
        };
        drop(finished);
        true
    }
}

impl EventLoop for DefaultLoop {
    fn add_handle(&self, fd: RawFd, events: i32, cb: HandleCallback) -> i32 {
        if fd < 0 {
            return -1;
        }
        let id = {
            let mut registrations = self.registrations.lock();
            let id = registrations.next_watch;
            registrations.next_watch += 1;
            registrations.handles.push(Handle { id, fd, events, slot: Slot::Parked(cb) });
            id
        };
        self.wake();
        id
    }

    fn update_handle(&self, watch: i32, events: i32) {
        if let Some(handle) = self.registrations.lock().handles.iter_mut().find(|h| h.id == watch) {
            handle.events = events;
        }
        self.wake();
    }

    fn remove_handle(&self, watch: i32) -> i32 {
        let (found, parked) = {
            let mut registrations = self.registrations.lock();
            let Some(index) = registrations.handles.iter().position(|h| h.id == watch) else { return -1 };
            let (found, parked) = mark_removed(&mut registrations.handles[index].slot);
            if parked.is_some() {
                registrations.handles.remove(index);
            }
            (found, parked)
        };
        drop(parked);
        self.wake();
        if found { 0 } else { -1 }
    }

    fn add_timeout(&self, timeout_ms: i32, cb: TimeoutCallback) -> i32 {
        let id = {
            let mut registrations = self.registrations.lock();
            let id = registrations.next_timer;
            registrations.next_timer += 1;
            let due = due_after(timeout_ms, Instant::now());
            registrations.timers.push(Timer { id, interval_ms: timeout_ms, due, slot: Slot::Parked(cb) });
            id
        };
        self.wake();
        id
    }

    fn update_timeout(&self, timer: i32, timeout_ms: i32) {
        if let Some(t) = self.registrations.lock().timers.iter_mut().find(|t| t.id == timer) {
            if !matches!(t.slot, Slot::Running { removed: true }) {
                t.interval_ms = timeout_ms;
                t.due = due_after(timeout_ms, Instant::now());
            }
        }
        self.wake();
    }

    fn remove_timeout(&self, timer: i32) -> i32 {
        let (found, parked) = {
            let mut registrations = self.registrations.lock();
            let Some(index) = registrations.timers.iter().position(|t| t.id == timer) else { return -1 };
            let (found, parked) = mark_removed(&mut registrations.timers[index].slot);
            registrations.timers[index].due = None;
            if parked.is_some() {
                registrations.timers.remove(index);
            }
            (found, parked)
        };
        drop(parked);
        self.wake();
        if found { 0 } else { -1 }
    }
}
