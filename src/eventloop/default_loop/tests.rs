//! The default loop against real descriptors, timers, threads and signals.

use super::*;
use crate::sys::Epoll;
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
    wait_for("the loop to poll", || event_loop.registrations.lock().polling);
    thread::sleep(Duration::from_millis(20));
}

/// Runs a test body in its own thread and fails if it takes too long, so
/// that a deadlock fails the test instead of hanging it.
fn bounded(body: impl FnOnce() + Send + 'static) {
    bounded_by(Duration::from_secs(4), body);
}

fn bounded_by(limit: Duration, body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        body();
        let _ = tx.send(());
    });
    match rx.recv_timeout(limit) {
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
        let wa = event_loop
            .add_handle(a.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "a"))
            .map_err(drop)
            .unwrap();
        let wb = event_loop
            .add_handle(b.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "b"))
            .map_err(drop)
            .unwrap();
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
        let watch = event_loop
            .add_handle(fd, EVENT_HANDLE_WRITABLE, Box::new(move |w, f, e| *sink.lock() = Some((w, f, e))))
            .map_err(drop)
            .unwrap();
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
        event_loop.add_handle(read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "a")).map_err(drop).unwrap();
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
        let wa = event_loop
            .add_handle(a.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "a"))
            .map_err(drop)
            .unwrap();
        event_loop.add_handle(b.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "b")).map_err(drop).unwrap();
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
        let wa = event_loop
            .add_handle(
                a.read.as_raw_fd(),
                EVENT_HANDLE_READABLE,
                Box::new(move |_, _, events| {
                    let _keep = &guard;
                    sink.lock().push(("a", events));
                }),
            )
            .map_err(drop)
            .unwrap();
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

        event_loop.add_timeout(0, on_timer(&log, "end")).map_err(drop).unwrap();
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
        event_loop
            .add_handle(
                a.read.as_raw_fd(),
                EVENT_HANDLE_READABLE,
                Box::new(move |_, _, events| {
                    sink.lock().push(("a", events));
                    let event_loop = weak.upgrade().unwrap();
                    sink.lock().push(("removed", event_loop.remove_handle(target.load(Ordering::SeqCst) as i32)));
                }),
            )
            .map_err(drop)
            .unwrap();
        let (freed, guard) = counted();
        let sink = log.clone();
        let wb = event_loop
            .add_handle(
                b.read.as_raw_fd(),
                EVENT_HANDLE_READABLE,
                Box::new(move |_, _, events| {
                    let _keep = &guard;
                    sink.lock().push(("b", events));
                }),
            )
            .map_err(drop)
            .unwrap();
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
        let wa = event_loop
            .add_handle(
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
            )
            .map_err(drop)
            .unwrap();
        write_byte(&a.write);
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log), [("remove", 0), ("again", -1), ("freed", 0)]);
        assert_eq!(freed.load(Ordering::SeqCst), 1);
        assert_eq!(event_loop.remove_handle(wa), -1);

        // The byte is still there, but the watch is gone.
        event_loop.add_timeout(10, on_timer(&log, "t")).map_err(drop).unwrap();
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
        event_loop.add_handle(a.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "ha")).map_err(drop).unwrap();
        event_loop.add_handle(b.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "hb")).map_err(drop).unwrap();
        event_loop.add_timeout(0, on_timer(&log, "t1")).map_err(drop).unwrap();
        event_loop.add_timeout(0, on_timer(&log, "t2")).map_err(drop).unwrap();
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
        let timer = event_loop.add_timeout(100, on_timer(&log, "t")).map_err(drop).unwrap();
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
        let t = event_loop.add_timeout(0, on_timer(&log, "zero")).map_err(drop).unwrap();
        let end = event_loop.add_timeout(-1, on_timer(&log, "end")).map_err(drop).unwrap();
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
fn a_due_timer_with_no_watch_runs_without_polling() {
    bounded(|| {
        let event_loop = new_loop();
        let log = log();
        let t = event_loop.add_timeout(0, on_timer(&log, "zero")).map_err(drop).unwrap();
        event_loop.run_once().unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log), [("zero", t), ("zero", t)]);
        assert_eq!(event_loop.polls.load(Ordering::SeqCst), 0, "poll(2) could only have seen the wake-up descriptor");

        // With a watch, the same iteration polls it (without waiting) and
        // runs both.
        let p = pipe();
        event_loop.add_handle(p.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "h")).map_err(drop).unwrap();
        write_byte(&p.write);
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log)[2..], [("zero", t), ("h", EVENT_HANDLE_READABLE)]);
        assert_eq!(event_loop.polls.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn timers_armed_during_a_round_wait_for_the_next() {
    bounded(|| {
        let event_loop = new_loop();
        let log = log();
        let weak = Arc::downgrade(&event_loop);
        let sink = log.clone();
        // The first time, t1 re-arms itself, arms t2 and adds t3 (all 0 ms).
        let t1 = event_loop
            .add_timeout(
                0,
                Box::new(move |timer| {
                    sink.lock().push(("t1", timer));
                    if sink.lock().len() > 1 {
                        return;
                    }
                    let event_loop = weak.upgrade().unwrap();
                    event_loop.update_timeout(timer, 0);
                    event_loop.update_timeout(timer + 1, 0);
                    let sink = sink.clone();
                    let t3 = event_loop.add_timeout(0, Box::new(move |t| sink.lock().push(("t3", t))));
                    assert_eq!(t3.map_err(drop), Ok(3));
                }),
            )
            .map_err(drop)
            .unwrap();
        let t2 = event_loop.add_timeout(-1, on_timer(&log, "t2")).map_err(drop).unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log), [("t1", t1)]);
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log), [("t1", t1), ("t1", t1), ("t2", t2), ("t3", 3)]);
    });
}

#[test]
fn timer_removed_before_poll_does_not_fire() {
    bounded(|| {
        let event_loop = new_loop();
        let log = log();
        let t1 = event_loop.add_timeout(10, on_timer(&log, "t1")).map_err(drop).unwrap();
        let t2 = event_loop.add_timeout(10, on_timer(&log, "t2")).map_err(drop).unwrap();
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
        let t1 = event_loop
            .add_timeout(
                10_000,
                Box::new(move |timer| {
                    let _keep = &guard;
                    sink.lock().push(("t1", timer));
                }),
            )
            .map_err(drop)
            .unwrap();
        let (thread, rx) = spawn_run(&event_loop);
        wait_blocked(&event_loop);
        let polls = event_loop.polls.load(Ordering::SeqCst);
        assert_eq!(event_loop.remove_timeout(t1), 0);
        assert_eq!(freed.load(Ordering::SeqCst), 1);
        wait_for("the wake-up", || event_loop.polls.load(Ordering::SeqCst) > polls);
        assert!(rx.try_recv().is_err(), "run_once returned on a bare wake-up");

        let t2 = event_loop.add_timeout(0, on_timer(&log, "t2")).map_err(drop).unwrap();
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
        event_loop
            .add_timeout(
                0,
                Box::new(move |timer| {
                    sink.lock().push(("t1", timer));
                    let event_loop = weak.upgrade().unwrap();
                    sink.lock().push(("removed", event_loop.remove_timeout(2)));
                }),
            )
            .map_err(drop)
            .unwrap();
        let (freed, guard) = counted();
        let sink = log.clone();
        let t2 = event_loop
            .add_timeout(
                0,
                Box::new(move |timer| {
                    let _keep = &guard;
                    sink.lock().push(("t2", timer));
                }),
            )
            .map_err(drop)
            .unwrap();
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
        let t = event_loop
            .add_timeout(
                0,
                Box::new(move |timer| {
                    let _keep = &guard;
                    let event_loop = weak.upgrade().unwrap();
                    sink.lock().push(("remove", event_loop.remove_timeout(timer)));
                    sink.lock().push(("freed", freed_inside.load(Ordering::SeqCst) as i32));
                    event_loop.update_timeout(timer, 0);
                }),
            )
            .map_err(drop)
            .unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log), [("remove", 0), ("freed", 0)]);
        assert_eq!(freed.load(Ordering::SeqCst), 1);
        assert_eq!(event_loop.remove_timeout(t), -1);

        let end = event_loop.add_timeout(5, on_timer(&log, "end")).map_err(drop).unwrap();
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
        let t = event_loop.add_timeout(0, on_timer(&log, "added")).map_err(drop).unwrap();
        finished(&rx).unwrap();
        thread.join().unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(seen(&log), [("added", t)]);

        // Arming a disabled timer works the same way.
        event_loop.update_timeout(t, -1);
        let armed = event_loop.add_timeout(-1, on_timer(&log, "armed")).map_err(drop).unwrap();
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
        let idle = event_loop.add_handle(fd, 0, on_handle(&log, "idle")).map_err(drop).unwrap();
        let reader = event_loop.add_handle(fd, EVENT_HANDLE_READABLE, on_handle(&log, "reader")).map_err(drop).unwrap();
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
        assert_eq!(event_loop.add_handle(fd, 0, Box::new(|_, _, _| {})).map_err(drop).unwrap(), 1);
        assert_eq!(event_loop.add_handle(fd, 0, Box::new(|_, _, _| {})).map_err(drop).unwrap(), 2);
        assert_eq!(event_loop.remove_handle(2), 0);
        assert_eq!(event_loop.add_handle(fd, 0, Box::new(|_, _, _| {})).map_err(drop).unwrap(), 3);
        // A negative descriptor is accepted (and never polled), as libvirt's loop does.
        assert_eq!(event_loop.add_handle(-1, EVENT_HANDLE_READABLE, Box::new(|_, _, _| {})).map_err(drop).unwrap(), 4);

        assert_eq!(event_loop.add_timeout(-1, Box::new(|_| {})).map_err(drop).unwrap(), 1);
        assert_eq!(event_loop.add_timeout(-1, Box::new(|_| {})).map_err(drop).unwrap(), 2);
        assert_eq!(event_loop.remove_timeout(2), 0);
        assert_eq!(event_loop.add_timeout(-1, Box::new(|_| {})).map_err(drop).unwrap(), 3);

        for bad in [0, -1, 2, 5, i32::MAX, i32::MIN] {
            assert_eq!(event_loop.remove_handle(bad), -1);
            assert_eq!(event_loop.remove_timeout(bad), -1);
            event_loop.update_handle(bad, EVENT_HANDLE_READABLE);
            event_loop.update_timeout(bad, 0);
        }
        // The updates above revived nothing: only the enabled timer fires.
        let log = log();
        write_byte(&p.write);
        let t = event_loop.add_timeout(5, on_timer(&log, "t")).map_err(drop).unwrap();
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
        let watch = event_loop
            .add_handle(
                p.read.as_raw_fd(),
                0,
                Box::new(move |_, _, _| {
                    let _keep = &guard;
                }),
            )
            .map_err(drop)
            .unwrap();
        let (timer_freed, guard) = counted();
        let timer = event_loop
            .add_timeout(
                -1,
                Box::new(move |_| {
                    let _keep = &guard;
                }),
            )
            .map_err(drop)
            .unwrap();
        assert_eq!(handle_freed.load(Ordering::SeqCst), 0);
        assert_eq!(event_loop.remove_handle(watch), 0);
        assert_eq!(event_loop.remove_timeout(timer), 0);
        assert_eq!(handle_freed.load(Ordering::SeqCst), 1);
        assert_eq!(timer_freed.load(Ordering::SeqCst), 1);
        assert_eq!(event_loop.remove_handle(watch), -1);
        assert_eq!(event_loop.remove_timeout(timer), -1);
        assert_eq!(handle_freed.load(Ordering::SeqCst), 1);
        assert_eq!(timer_freed.load(Ordering::SeqCst), 1);

        // A failed add gives the callback back unfreed: its creator decides
        // (libvirt never calls the free function of a failed registration).
        let (refused, guard) = counted();
        event_loop.registrations.lock().handles.last_id = i32::MAX;
        let given_back = event_loop.add_handle(
            0,
            0,
            Box::new(move |_, _, _| {
                let _keep = &guard;
            }),
        );
        let Err(callback) = given_back else { panic!("no id is left") };
        assert_eq!(refused.load(Ordering::SeqCst), 0);
        drop(callback);
        assert_eq!(refused.load(Ordering::SeqCst), 1);

        // Registrations still present are freed once with the loop, and a
        // callback freeing into the loop while it is being changed is fine.
        let (kept, guard) = counted();
        event_loop
            .add_timeout(
                -1,
                Box::new(move |_| {
                    let _keep = &guard;
                }),
            )
            .map_err(drop)
            .unwrap();
        let weak = Arc::downgrade(&event_loop);
        struct AddsOnDrop(Weak<DefaultLoop>);
        impl Drop for AddsOnDrop {
            fn drop(&mut self) {
                if let Some(event_loop) = self.0.upgrade() {
                    event_loop.add_timeout(-1, Box::new(|_| {})).map_err(drop).unwrap();
                }
            }
        }
        let reentrant = AddsOnDrop(weak);
        let t = event_loop
            .add_timeout(
                -1,
                Box::new(move |_| {
                    let _keep = &reentrant;
                }),
            )
            .map_err(drop)
            .unwrap();
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
        let watch =
            event_loop.add_handle(1 << 20, EVENT_HANDLE_READABLE, on_handle(&log, "bad")).map_err(drop).unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log), [("bad", EVENT_HANDLE_ERROR)]);

        // Not polled again (no spinning) until the watch is updated.
        let t = event_loop.add_timeout(20, on_timer(&log, "t")).map_err(drop).unwrap();
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
        event_loop
            .add_handle(idle.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "idle"))
            .map_err(drop)
            .unwrap();
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

/// Threads that run the loop until stopped, as an application's loop threads.
struct LoopThreads {
    event_loop: Arc<DefaultLoop>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl LoopThreads {
    fn start(event_loop: &Arc<DefaultLoop>, count: usize) -> LoopThreads {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = (0..count)
            .map(|_| {
                let (event_loop, stop) = (event_loop.clone(), stop.clone());
                thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        event_loop.run_once().unwrap();
                    }
                })
            })
            .collect();
        LoopThreads { event_loop: event_loop.clone(), stop, threads }
    }

    /// Stops them: a timer armed for every iteration makes each return.
    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.event_loop.add_timeout(0, Box::new(|_| {})).map_err(drop).unwrap();
        for thread in self.threads {
            thread.join().unwrap();
        }
    }
}

#[test]
fn a_change_reaches_a_waiting_thread_while_another_runs_a_long_callback() {
    // Two threads wait in the loop; a timer whose callback blocks is armed
    // together with a ready watch, or with a timer due in 1 ms. Whichever
    // thread runs the blocking timer, the other must not wait for it to
    // return: it dispatches the watch or the second timer.
    bounded_by(Duration::from_secs(60), || {
        let event_loop = new_loop();
        let p = pipe();
        let (done_tx, done_rx) = mpsc::channel();
        let weak = Arc::downgrade(&event_loop);
        let mut reader = std::fs::File::from(p.read.try_clone().unwrap());
        let sender = done_tx.clone();
        let watch = event_loop
            .add_handle(
                p.read.as_raw_fd(),
                0,
                Box::new(move |watch, _, _| {
                    std::io::Read::read_exact(&mut reader, &mut [0]).unwrap();
                    weak.upgrade().unwrap().update_handle(watch, 0);
                    let _ = sender.send("watch");
                }),
            )
            .map_err(drop)
            .unwrap();
        let weak = Arc::downgrade(&event_loop);
        let short = event_loop
            .add_timeout(
                -1,
                Box::new(move |timer| {
                    weak.upgrade().unwrap().update_timeout(timer, -1);
                    let _ = done_tx.send("timer");
                }),
            )
            .map_err(drop)
            .unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (returned_tx, returned_rx) = mpsc::channel();
        let weak = Arc::downgrade(&event_loop);
        let blocking = event_loop
            .add_timeout(
                -1,
                Box::new(move |timer| {
                    // No change to the loop before it blocks, which would
                    // wake the other thread anyway.
                    let _ = started_tx.send(());
                    let _ = release_rx.recv();
                    weak.upgrade().unwrap().update_timeout(timer, -1);
                    let _ = returned_tx.send(());
                }),
            )
            .map_err(drop)
            .unwrap();
        let threads = LoopThreads::start(&event_loop, 2);
        wait_blocked(&event_loop);
        // Idle, neither thread wakes up.
        let polls = event_loop.polls.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(event_loop.polls.load(Ordering::SeqCst), polls);

        for round in 0..400 {
            // Both threads back in the loop, waiting.
            thread::sleep(Duration::from_millis(2));
            event_loop.update_timeout(blocking, 0);
            let expected = if round % 2 == 0 {
                event_loop.update_handle(watch, EVENT_HANDLE_READABLE);
                write_byte(&p.write);
                "watch"
            } else {
                event_loop.update_timeout(short, 1);
                "timer"
            };
            started_rx.recv_timeout(LIMIT).expect("the blocking timer ran");
            let done = done_rx.recv_timeout(Duration::from_secs(1));
            release_tx.send(()).unwrap();
            assert_eq!(done, Ok(expected), "round {round}: it waited for the blocking timer's callback");
            // Disabled again before the next round arms it.
            returned_rx.recv_timeout(LIMIT).expect("the blocking timer returned");
        }
        threads.stop();
    });
}

/// A [`WaitingReader`] over a pipe that logs what the loop asks of it and,
/// when handed back ready, takes one byte and arms its loop's timer, as the
/// QEMU monitors arm their flush timer. With `alone`, a set holding the pipe
/// and the loop's wake-up, it waits there when the loop polls nothing else.
struct PipeReader {
    read: OwnedFd,
    log: Log,
    event_loop: Weak<DefaultLoop>,
    timer: i32,
    alone: Option<Epoll>,
}

impl WaitingReader for PipeReader {
    fn wait_alone(&self, timeout_ms: libc::c_int, fds: &mut Vec<libc::pollfd>) -> Option<io::Result<()>> {
        let set = self.alone.as_ref()?;
        self.log.lock().push(("wait alone", 0));
        Some(set.wait_or_interrupted::<4>(timeout_ms).map(|ready: crate::sys::Ready<4>| {
            report_ready(fds, ready.iter().map(|(fd, events)| (fd as RawFd, events)));
        }))
    }

    fn take_over(&self, fds: &mut Vec<libc::pollfd>) -> bool {
        self.log.lock().push(("take over", 0));
        fds.push(libc::pollfd { fd: self.read.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        true
    }

    fn not_waiting(&self) {
        self.log.lock().push(("not waiting", 0));
    }

    fn hand_back(&self, polled: &[libc::pollfd]) {
        let ready = polled.iter().any(|p| p.fd == self.read.as_raw_fd() && p.revents != 0);
        self.log.lock().push(("hand back", i32::from(ready)));
        if ready {
            let mut file = std::fs::File::from(self.read.try_clone().unwrap());
            std::io::Read::read_exact(&mut file, &mut [0]).unwrap();
            if let Some(event_loop) = self.event_loop.upgrade() {
                event_loop.update_timeout(self.timer, 0);
            }
        }
    }
}

/// A loop with a [`PipeReader`] whose timer logs "flush"; the pipe's write end.
fn loop_with_reader(log: &Log) -> (Arc<DefaultLoop>, OwnedFd) {
    loop_with_a_reader(log, false)
}

/// [`loop_with_reader`] with a reader that waits in a set of its own.
fn loop_with_reader_alone(log: &Log) -> (Arc<DefaultLoop>, OwnedFd) {
    loop_with_a_reader(log, true)
}

fn loop_with_a_reader(log: &Log, waits_alone: bool) -> (Arc<DefaultLoop>, OwnedFd) {
    let event_loop = new_loop();
    let timer = event_loop.add_timeout(-1, on_timer(log, "flush")).ok().unwrap();
    let Pipe { read, write } = pipe();
    let alone = waits_alone.then(|| {
        let set = Epoll::new().unwrap();
        for fd in [read.as_raw_fd(), event_loop.wakeup_fd()] {
            set.add(fd, fd as u64, Epoll::IN).unwrap();
        }
        set
    });
    let reader = PipeReader { read, log: log.clone(), event_loop: Arc::downgrade(&event_loop), timer, alone };
    assert!(event_loop.set_waiting_reader(Box::new(reader)));
    (event_loop, write)
}

/// The reader's descriptor ready wakes the waiting thread, which reads it;
/// the timer armed while reading runs in the same iteration: one wake-up.
fn read_and_flushed_in_one_wake_up(make: fn(&Log) -> (Arc<DefaultLoop>, OwnedFd), waited: &'static str) {
    bounded(move || {
        let log = log();
        let (event_loop, write) = make(&log);
        let (_thread, rx) = spawn_run(&event_loop);
        wait_blocked(&event_loop);
        write_byte(&write);
        finished(&rx).unwrap();
        assert_eq!(seen(&log), [(waited, 0), ("hand back", 1), ("flush", 1)]);
        assert_eq!(event_loop.polls.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_waiting_reader_is_read_by_the_waiting_thread_and_what_it_arms_runs_at_once() {
    read_and_flushed_in_one_wake_up(loop_with_reader, "take over");
}

#[test]
fn a_waiting_reader_waits_alone_when_the_loop_polls_nothing_else() {
    read_and_flushed_in_one_wake_up(loop_with_reader_alone, "wait alone");
}

#[test]
fn a_loop_waiting_in_its_readers_set_sees_a_new_timer() {
    bounded(|| {
        let log = log();
        let (event_loop, _write) = loop_with_reader_alone(&log);
        let (_thread, rx) = spawn_run(&event_loop);
        wait_blocked(&event_loop);
        // Added from another thread while the loop's thread waits in the
        // reader's set: the loop's wake-up there ends the wait.
        event_loop.add_timeout(0, on_timer(&log, "added")).ok().unwrap();
        finished(&rx).unwrap();
        let seen = seen(&log);
        assert_eq!(seen.first(), Some(&("wait alone", 0)), "{seen:?}");
        assert!(seen.contains(&("added", 2)), "{seen:?}");
    });
}

/// With a watch of the application's ready, the reader is taken over with
/// poll(2) (never waiting alone) and handed back with nothing read.
fn handed_back_with_a_watch_to_poll(make: fn(&Log) -> (Arc<DefaultLoop>, OwnedFd)) {
    bounded(move || {
        let log = log();
        let (event_loop, _write) = make(&log);
        let p = pipe();
        event_loop.add_handle(p.read.as_raw_fd(), EVENT_HANDLE_READABLE, on_handle(&log, "watch")).ok().unwrap();
        write_byte(&p.write);
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log), [("take over", 0), ("hand back", 0), ("watch", EVENT_HANDLE_READABLE)]);
    });
}

#[test]
fn a_waiting_reader_is_handed_back_however_the_wait_ends() {
    handed_back_with_a_watch_to_poll(loop_with_reader);
}

#[test]
fn with_a_watch_to_poll_a_waiting_reader_does_not_wait_alone() {
    handed_back_with_a_watch_to_poll(loop_with_reader_alone);
}

#[test]
fn a_waiting_reader_is_told_when_the_loop_does_not_wait() {
    bounded(|| {
        let log = log();
        let (event_loop, write) = loop_with_reader(&log);
        event_loop.add_timeout(0, on_timer(&log, "due")).ok().unwrap();
        write_byte(&write);
        event_loop.run_once().unwrap();
        assert_eq!(seen(&log), [("not waiting", 0), ("due", 2)]);
    });
}

#[test]
fn only_one_waiting_reader_per_loop() {
    let log = log();
    let (event_loop, _write) = loop_with_reader(&log);
    let Pipe { read, .. } = pipe();
    let second = PipeReader { read, log: log.clone(), event_loop: Weak::new(), timer: 0, alone: None };
    assert!(!event_loop.set_waiting_reader(Box::new(second)));
}
