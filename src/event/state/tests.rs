//! The dispatch core against a scripted event loop that records what the
//! state asks of it and fires the flush timer on demand.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use parking_lot::Mutex;

use super::*;
use crate::event::{DomainEvent, DomainIdentity, EventPayload, ObjectEvent, ObjectIdentity, ObjectPayload};
use crate::eventloop::{HandleCallback, TimeoutCallback};
use crate::uuid::Uuid;

/// A loop with timers only, run by hand.
#[derive(Default)]
struct ManualLoop {
    timers: Mutex<Vec<(i32, i32, Option<TimeoutCallback>)>>,
    log: Mutex<Vec<String>>,
}

impl ManualLoop {
    /// Fires every enabled timer once, like one loop iteration.
    fn iterate(&self) {
        let due: Vec<(i32, TimeoutCallback)> = {
            let mut timers = self.timers.lock();
            timers.iter_mut().filter(|t| t.1 >= 0).filter_map(|t| t.2.take().map(|cb| (t.0, cb))).collect()
        };
        for (id, mut cb) in due {
            // A callback that unwinds stays armed, as in a real loop.
            let fired = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(id)));
            if let Some(slot) = self.timers.lock().iter_mut().find(|t| t.0 == id) {
                slot.2 = Some(cb);
            }
            if let Err(unwind) = fired {
                std::panic::resume_unwind(unwind);
            }
        }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().clone()
    }
}

impl EventLoop for ManualLoop {
    fn add_handle(&self, _fd: i32, _events: i32, cb: HandleCallback) -> std::result::Result<i32, HandleCallback> {
        Err(cb)
    }
    fn update_handle(&self, _watch: i32, _events: i32) {}
    fn remove_handle(&self, _watch: i32) -> i32 {
        -1
    }
    fn add_timeout(&self, timeout_ms: i32, cb: TimeoutCallback) -> std::result::Result<i32, TimeoutCallback> {
        let mut timers = self.timers.lock();
        let id = timers.len() as i32 + 1;
        timers.push((id, timeout_ms, Some(cb)));
        self.log.lock().push(format!("add {timeout_ms}"));
        Ok(id)
    }
    fn update_timeout(&self, timer: i32, timeout_ms: i32) {
        if let Some(t) = self.timers.lock().iter_mut().find(|t| t.0 == timer) {
            t.1 = timeout_ms;
        }
        self.log.lock().push(format!("update {timeout_ms}"));
    }
    fn remove_timeout(&self, timer: i32) -> i32 {
        self.timers.lock().retain(|t| t.0 != timer);
        self.log.lock().push("remove".to_string());
        0
    }
}

/// The global loop registration is process-wide: every test here shares
/// one manual loop and serialises on this lock.
static SERIAL: StdMutex<()> = StdMutex::new(());

fn manual_loop_timers() -> usize {
    manual_loop_instance().timers.lock().len()
}

fn manual_loop_instance() -> &'static Arc<ManualLoop> {
    static LOOP: once_cell::sync::Lazy<Arc<ManualLoop>> = once_cell::sync::Lazy::new(|| {
        let l = Arc::new(ManualLoop::default());
        assert!(crate::eventloop::register(l.clone()), "the state tests own the process's event loop");
        l
    });
    &LOOP
}

fn manual_loop() -> Arc<ManualLoop> {
    let l = manual_loop_instance().clone();
    l.log.lock().clear();
    l
}

type Journal = Arc<Mutex<Vec<String>>>;

/// A callback that writes what happens to it into a shared journal, and may
/// act on the state when called.
struct Recorder {
    name: &'static str,
    identity: usize,
    journal: Journal,
    on_event: Mutex<Option<Box<dyn FnMut() + Send>>>,
    released: AtomicUsize,
}

impl Recorder {
    fn new(name: &'static str, identity: usize, journal: &Journal) -> Arc<Recorder> {
        Arc::new(Recorder {
            name,
            identity,
            journal: journal.clone(),
            on_event: Mutex::new(None),
            released: AtomicUsize::new(0),
        })
    }
}

impl EventCallback for Recorder {
    fn identity(&self) -> usize {
        self.identity
    }
    fn deliver(&self, event: &Event) {
        let Event::Domain(event) = event else {
            self.journal.lock().push(format!("{} {event:?}", self.name));
            return;
        };
        let what = match event.payload {
            EventPayload::Lifecycle { event, detail } => format!("{}/{}", event, detail),
            ref other => format!("{other:?}"),
        };
        self.journal.lock().push(format!("{} {} {}", self.name, event.domain.name, what));
        if let Some(action) = self.on_event.lock().as_mut() {
            action();
        }
    }
    fn release(&self) {
        self.released.fetch_add(1, Ordering::SeqCst);
        self.journal.lock().push(format!("free {}", self.name));
        let timers = manual_loop_timers();
        self.journal.lock().push(format!("(timers: {timers})"));
    }
}

fn domain(name: &str, byte: u8) -> DomainIdentity {
    DomainIdentity { name: name.into(), uuid: Uuid([byte; 16]), id: 1 }
}

fn lifecycle(dom: &DomainIdentity, event: i32) -> DomainEvent {
    DomainEvent::lifecycle(dom.clone(), event, 0)
}

/// A producer's batch of `events`.
fn batch_of(events: impl IntoIterator<Item = DomainEvent>) -> Batch {
    let mut batch = Batch::default();
    events.into_iter().for_each(|event| batch.push(event));
    batch
}

fn any(event_id: i32) -> Subscription {
    Subscription::new(1, EventClass::Domain, event_id)
}

#[test]
fn ids_start_at_zero_are_shared_and_never_reused() {
    let _serial = SERIAL.lock();
    manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let legacy = Subscription { legacy: true, ..any(0) };
    assert_eq!(state.register(legacy, Recorder::new("a", 1, &journal)).unwrap(), 0);
    assert_eq!(state.register(any(0), Recorder::new("b", 1, &journal)).unwrap(), 1);
    state.deregister(1, 1).unwrap();
    assert_eq!(state.register(any(0), Recorder::new("c", 1, &journal)).unwrap(), 2);
    state.deregister(1, 0).unwrap();
    state.deregister(1, 2).unwrap();
}

#[test]
fn duplicates_are_rejected_without_releasing() {
    let _serial = SERIAL.lock();
    manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    state.register(any(0), Recorder::new("a", 7, &journal)).unwrap();
    let duplicate = Recorder::new("dup", 7, &journal);
    let err = state.register(any(0), duplicate.clone()).unwrap_err();
    assert_eq!(err.message, "invalid argument: event callback already tracked");
    assert_eq!(duplicate.released.load(Ordering::SeqCst), 0);
    // Same function, other event ID, other domain filter or other API: allowed.
    state.register(any(1), Recorder::new("b", 7, &journal)).unwrap();
    state
        .register(
            Subscription { target: Some(TargetKey::Uuid(Uuid([1; 16]))), ..any(0) },
            Recorder::new("c", 7, &journal),
        )
        .unwrap();
    state.register(Subscription { legacy: true, ..any(0) }, Recorder::new("d", 7, &journal)).unwrap();
    for id in 0..4 {
        state.deregister(1, id).unwrap();
    }
}

#[test]
fn timer_is_lazy_armed_on_queue_disarmed_at_flush_and_removed_with_the_last_callback() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let dom = domain("vm", 1);
    state.queue(lifecycle(&dom, 2));
    assert!(event_loop.log().is_empty(), "no callback: no timer, event dropped");
    let id = state.register(any(0), Recorder::new("a", 1, &journal)).unwrap();
    state.queue(lifecycle(&dom, 3));
    state.queue(lifecycle(&dom, 4));
    event_loop.iterate();
    state.deregister(1, id).unwrap();
    assert_eq!(event_loop.log(), ["add -1", "update 0", "update -1", "remove"]);
    // The last release comes before the timer goes, as in libvirt.
    assert_eq!(*journal.lock(), ["a vm 3/0", "a vm 4/0", "free a", "(timers: 1)"]);
}

#[test]
fn fifo_events_callbacks_in_registration_order_and_domain_filter_by_uuid() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let (a, b) = (domain("a", 1), domain("b", 2));
    state.register(any(0), Recorder::new("all", 1, &journal)).unwrap();
    state
        .register(
            Subscription { target: Some(TargetKey::Uuid(a.uuid)), ..any(0) },
            Recorder::new("only-a", 2, &journal),
        )
        .unwrap();
    state.register(any(1), Recorder::new("reboot", 3, &journal)).unwrap();
    state.queue(lifecycle(&a, 5));
    state.queue(lifecycle(&b, 2));
    state.queue(DomainEvent::new(DomainIdentity { name: "renamed".into(), ..a.clone() }, EventPayload::Reboot));
    event_loop.iterate();
    assert_eq!(*journal.lock(), ["all a 5/0", "only-a a 5/0", "all b 2/0", "reboot renamed Reboot"]);
    for id in 0..3 {
        state.deregister(1, id).unwrap();
    }
}

#[test]
fn deregistration_during_dispatch_is_deferred_and_new_callbacks_wait_for_the_next_event() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let dom = domain("vm", 1);
    let this = Recorder::new("self", 1, &journal);
    let late = Recorder::new("late", 2, &journal);
    let self_id = state.register(any(0), this.clone()).unwrap();
    let late_id = state.register(any(0), late.clone()).unwrap();
    let newcomer = Recorder::new("new", 3, &journal);
    {
        let (state, journal, newcomer) = (state.clone(), journal.clone(), newcomer.clone());
        let mut once = Some(());
        *this.on_event.lock() = Some(Box::new(move || {
            if once.take().is_some() {
                state.deregister(1, self_id).unwrap();
                state.deregister(1, late_id).unwrap();
                let id = state.register(any(0), newcomer.clone()).unwrap();
                journal.lock().push(format!("registered {id}"));
            }
        }));
    }
    state.queue(lifecycle(&dom, 5));
    state.queue(lifecycle(&dom, 2));
    event_loop.iterate();
    assert_eq!(
        *journal.lock(),
        ["self vm 5/0", "registered 2", "new vm 2/0", "free self", "(timers: 1)", "free late", "(timers: 1)"]
    );
    state.deregister(1, 2).unwrap();
    assert_eq!(newcomer.released.load(Ordering::SeqCst), 1, "outside dispatch the release is immediate");
    assert_eq!(late.released.load(Ordering::SeqCst), 1);
}

#[test]
fn unknown_ids_and_functions_report_libvirt_errors() {
    let _serial = SERIAL.lock();
    manual_loop();
    let state = EventState::new();
    assert_eq!(
        state.deregister(1, 12345).unwrap_err().message,
        "invalid argument: could not find event callback 12345 for deletion"
    );
    assert_eq!(
        state.deregister_legacy(1, 0xabc).unwrap_err().message,
        "invalid argument: event callback function 0xabc not registered"
    );
    let journal = Journal::default();
    state.register(any(0), Recorder::new("a", 1, &journal)).unwrap();
    assert!(state.deregister(2, 0).is_err(), "another connection's callback ID");
    state.deregister(1, 0).unwrap();
}

#[test]
fn events_queued_from_other_threads_are_delivered_on_the_flushing_thread() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    state.register(any(0), Recorder::new("a", 1, &journal)).unwrap();
    let producers: Vec<_> = (0..4u8)
        .map(|n| {
            let state = state.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    state.queue(lifecycle(&domain(&format!("vm{n}"), n), i));
                }
            })
        })
        .collect();
    producers.into_iter().for_each(|p| p.join().unwrap());
    event_loop.iterate();
    let delivered = journal.lock().clone();
    assert_eq!(delivered.len(), 200);
    for n in 0..4 {
        let mine: Vec<_> = delivered.iter().filter(|l| l.starts_with(&format!("a vm{n} "))).cloned().collect();
        let expected: Vec<_> = (0..50).map(|i| format!("a vm{n} {i}/0")).collect();
        assert_eq!(mine, expected, "per-producer FIFO order");
    }
    state.deregister(1, 0).unwrap();
}

fn network_started(name: &str, byte: u8) -> ObjectEvent {
    ObjectEvent::lifecycle(EventClass::Network, ObjectIdentity::named(name, Uuid([byte; 16])), 2, 0)
}

#[test]
fn classes_share_ids_and_only_see_their_own_events() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    // The same function for two classes is not a duplicate.
    assert_eq!(state.register(any(0), Recorder::new("dom", 7, &journal)).unwrap(), 0);
    let network = Subscription::new(1, EventClass::Network, 0);
    assert_eq!(state.register(network.clone(), Recorder::new("net", 7, &journal)).unwrap(), 1);
    assert!(state.register(network, Recorder::new("dup", 7, &journal)).is_err());
    let pool_refresh = Subscription::new(1, EventClass::StoragePool, 1);
    assert_eq!(state.register(pool_refresh, Recorder::new("refresh", 7, &journal)).unwrap(), 2);
    let device = Subscription {
        target: Some(TargetKey::Name("scsi_host1".into())),
        ..Subscription::new(1, EventClass::NodeDevice, 0)
    };
    assert_eq!(state.register(device, Recorder::new("dev", 7, &journal)).unwrap(), 3);

    state.queue(network_started("default", 1));
    state.queue(ObjectEvent {
        class: EventClass::StoragePool,
        object: ObjectIdentity::named("pool", Uuid([2; 16])),
        payload: ObjectPayload::Plain { event_id: 1 },
    });
    let device =
        |name: &str| ObjectEvent::lifecycle(EventClass::NodeDevice, ObjectIdentity::named(name, Uuid::default()), 0, 0);
    state.queue(device("scsi_host2"));
    state.queue(device("scsi_host1"));
    state.queue(lifecycle(&domain("vm", 3), 2));
    event_loop.iterate();
    let lines = journal.lock().clone();
    let names: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["net", "refresh", "dev", "dom"], "{lines:#?}");
    assert!(lines[2].contains("scsi_host1"), "node devices are keyed by name: {}", lines[2]);
    // Deregistration finds an ID whatever its class, as libvirt's does.
    for id in 0..4 {
        state.deregister(1, id).unwrap();
    }
}

#[test]
fn filtered_registrations_are_never_duplicates_and_see_only_what_passes() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let named = |wanted: &'static str| Subscription {
        filter: Some(Arc::new(move |event: &Event| matches!(event, Event::Object(e) if e.object.name == wanted))),
        ..Subscription::new(1, EventClass::Network, 0)
    };
    state.register(named("a"), Recorder::new("first", 7, &journal)).unwrap();
    state.register(named("b"), Recorder::new("second", 7, &journal)).unwrap();
    state.queue(network_started("b", 1));
    event_loop.iterate();
    let lines = journal.lock().clone();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("second "), "{lines:?}");
    state.deregister(1, 0).unwrap();
    state.deregister(1, 1).unwrap();
}

/// libvirt checks only a registration without a filter for duplicates, and
/// against every registration of the same function, filtered or not.
#[test]
fn an_unfiltered_registration_duplicates_a_filtered_one() {
    let _serial = SERIAL.lock();
    manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let filtered =
        Subscription { filter: Some(Arc::new(|_: &Event| true)), ..Subscription::new(1, EventClass::QemuMonitor, 0) };
    assert_eq!(state.register(filtered.clone(), Recorder::new("f", 7, &journal)).unwrap(), 0);
    let err = state.register(Subscription::new(1, EventClass::QemuMonitor, 0), Recorder::new("u", 7, &journal));
    assert_eq!(err.unwrap_err().message, "invalid argument: event callback already tracked");
    assert_eq!(state.register(filtered, Recorder::new("g", 7, &journal)).unwrap(), 1);
    state.deregister(1, 0).unwrap();
    state.deregister(1, 1).unwrap();
}

#[test]
fn a_callback_that_unwinds_loses_neither_the_rest_of_the_batch_nor_the_end_of_the_flush() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let dom = domain("vm", 1);
    // Stands for an application's callback that leaves by unwinding (a
    // thread calling pthread_exit): the unwind passes through the flush.
    let unwinding = Recorder::new("unwinding", 1, &journal);
    *unwinding.on_event.lock() = Some(Box::new(|| panic!("leaving the callback by unwinding")));
    let unwinding_id = state.register(any(0), unwinding).unwrap();
    let calm_id = state.register(any(0), Recorder::new("calm", 2, &journal)).unwrap();
    // Two producers' runs, and an event of none.
    let (mine, theirs) = (Backlog::new(0, || {}), Backlog::new(0, || {}));
    state.queue_batch(&mut batch_of([lifecycle(&dom, 2), lifecycle(&dom, 3)]), Some(&mine));
    state.queue_batch(&mut batch_of([lifecycle(&dom, 4)]), Some(&theirs));
    state.queue(lifecycle(&dom, 5));
    let left = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| event_loop.iterate()));
    assert!(left.is_err(), "the unwind passes through the flush");
    assert_eq!(*journal.lock(), ["unwinding vm 2/0"]);
    // The event being delivered left its producer's count; the rest wait.
    assert_eq!((mine.queued(), theirs.queued()), (1, 1));
    // The flush ended: a deregistration now releases at once instead of
    // waiting for a flush that is over ...
    state.deregister(1, unwinding_id).unwrap();
    assert_eq!(journal.lock()[1..], ["free unwinding", "(timers: 1)"]);
    // ... and the rest of the batch is delivered by the next one.
    event_loop.iterate();
    assert_eq!(journal.lock()[3..], ["calm vm 3/0", "calm vm 4/0", "calm vm 5/0"]);
    assert_eq!((mine.queued(), theirs.queued()), (0, 0));
    assert_eq!((mine.spent.lock().0.len(), theirs.spent.lock().0.len()), (1, 1), "given back to their producers");
    state.deregister(1, calm_id).unwrap();
}

#[test]
fn a_backlog_pauses_at_its_high_mark_and_resumes_once_drained_to_its_low_mark() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let dom = domain("vm", 1);
    let id = state.register(any(0), Recorder::new("r", 1, &journal)).unwrap();
    let resumed = Arc::new(AtomicUsize::new(0));
    let backlog = {
        let resumed = resumed.clone();
        Backlog::new(2, move || {
            resumed.fetch_add(1, Ordering::SeqCst);
        })
    };
    state.queue_batch(&mut batch_of((0..FLUSH_BATCH as i32 + 3).map(|n| lifecycle(&dom, n))), Some(&backlog));
    assert_eq!(backlog.queued(), FLUSH_BATCH + 3);
    assert!(!backlog.pause_at(FLUSH_BATCH + 4), "under the high mark");
    assert!(backlog.pause_at(FLUSH_BATCH + 3));
    assert!(backlog.is_paused());
    // One flush delivers a bounded batch and stays armed for the rest.
    event_loop.iterate();
    assert_eq!(backlog.queued(), 3);
    assert_eq!(resumed.load(Ordering::SeqCst), 0, "not yet at the low mark");
    event_loop.iterate();
    assert_eq!(backlog.queued(), 0);
    assert_eq!(resumed.load(Ordering::SeqCst), 1, "resumed once, at the low mark");
    assert!(!backlog.is_paused());
    let delivered = journal.lock().iter().filter(|line| line.starts_with("r vm")).count();
    assert_eq!(delivered, FLUSH_BATCH + 3, "nothing lost");
    // Events dropped with the queue (the last callback went) leave the
    // count too, and resume their paused producer.
    state.queue_batch(&mut batch_of((0..4).map(|n| lifecycle(&dom, n))), Some(&backlog));
    assert!(backlog.pause_at(4));
    state.deregister(1, id).unwrap();
    assert_eq!(backlog.queued(), 0);
    assert_eq!(resumed.load(Ordering::SeqCst), 2);
}

#[test]
fn delivered_events_go_back_to_their_producer_up_to_a_limit() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let (vm, other) = (domain("vm", 1), domain("other", 2));
    let id = state.register(any(0), Recorder::new("r", 1, &journal)).unwrap();
    let (mine, theirs) = (Backlog::new(0, || {}), Backlog::new(0, || {}));
    let details = |backlog: &Backlog| -> Vec<(String, i32)> {
        let spent = backlog.spent.lock();
        spent
            .0
            .iter()
            .map(|queued| match &queued.event {
                Entry::Ready(Event::Domain(DomainEvent { domain, payload: EventPayload::Lifecycle { event, .. } })) => {
                    (domain.name.to_string(), *event)
                }
                _ => panic!("not a lifecycle event"),
            })
            .collect()
    };
    state.queue_batch(&mut batch_of((0..2).map(|n| lifecycle(&vm, n))), Some(&mine));
    state.queue_batch(&mut batch_of([lifecycle(&other, 0)]), Some(&theirs));
    state.queue_batch(&mut batch_of([lifecycle(&vm, 2)]), Some(&mine));
    state.queue(lifecycle(&vm, 3));
    event_loop.iterate();
    assert_eq!(journal.lock().len(), 5, "all delivered");
    // Each producer's events came back to it, in order; the one queued
    // without a producer was freed by the flush.
    assert_eq!(details(&mine), [("vm".to_owned(), 0), ("vm".to_owned(), 1), ("vm".to_owned(), 2)]);
    assert_eq!(details(&theirs), [("other".to_owned(), 0)]);
    let mut scratch = Spent::default();
    mine.free_spent(&mut scratch, |_| panic!("no deferred event"));
    assert!(scratch.0.is_empty() && mine.spent.lock().0.is_empty(), "freed by the producer's call");
    // An idle producer gets events back until it holds SPENT_LIMIT; the
    // flush frees the next ones itself.
    let many = SPENT_LIMIT + 2 * FLUSH_BATCH;
    state.queue_batch(&mut batch_of((0..many as i32).map(|n| lifecycle(&vm, n))), Some(&mine));
    while mine.queued() > 0 {
        event_loop.iterate();
    }
    let held = mine.spent.lock().0.len();
    assert!((SPENT_LIMIT..SPENT_LIMIT + FLUSH_BATCH).contains(&held), "{held} held");
    state.deregister(1, id).unwrap();
}

#[test]
fn a_batch_queued_into_an_empty_queue_takes_its_buffer_only_up_to_one_flush_of_room() {
    let dom = domain("vm", 1);
    let lifecycles = |count: i32| batch_of((0..count).map(|n| lifecycle(&dom, n)));
    let events = |queue: &Queue| {
        let ready = |queued: &Queued| match &queued.event {
            Entry::Ready(event) => event.clone(),
            Entry::Deferred(_) => panic!("none is deferred"),
        };
        queue.events.iter().map(ready).collect::<Vec<_>>()
    };
    // A queue emptied after holding many events keeps their room.
    let mut queue = Queue::default();
    queue.append(&mut lifecycles(4 * FLUSH_BATCH as i32).events, None);
    queue.events.clear();
    queue.runs.clear();
    let mut batch = lifecycles(2);
    queue.append(&mut batch.events, None);
    assert_eq!(events(&queue), [lifecycle(&dom, 0).into(), lifecycle(&dom, 1).into()]);
    assert!(batch.is_empty());
    assert!(batch.events.capacity() < 4 * FLUSH_BATCH, "the producer did not get the long queue's room");
    // Room for one flush is traded: the producer gets the queue's buffer.
    let mut queue = Queue::default();
    queue.events.reserve(FLUSH_BATCH);
    let mut batch = lifecycles(2);
    queue.append(&mut batch.events, None);
    assert_eq!(events(&queue).len(), 2);
    assert!(batch.is_empty() && batch.events.capacity() >= FLUSH_BATCH, "the buffers changed places");
    // Into a queue that holds events, the batch's are added after them.
    queue.append(&mut lifecycles(1).events, None);
    assert_eq!(events(&queue)[2], lifecycle(&dom, 0).into());
    assert_eq!(queue.runs.iter().map(|run| run.len).sum::<usize>(), 3);
}

/// What the deferred events of the test below are made from: a Watchdog
/// action, or nothing (the event is dropped).
struct Action(Option<i32>);

fn make_watchdog(_domain: &DomainIdentity, source: &(dyn Any + Send)) -> Option<EventPayload> {
    let action = source.downcast_ref::<Action>()?.0?;
    Some(EventPayload::Watchdog { action })
}

#[test]
fn a_deferred_event_is_made_at_delivery_in_its_place_and_its_source_goes_back() {
    let _serial = SERIAL.lock();
    let event_loop = manual_loop();
    let state = EventState::new();
    let journal = Journal::default();
    let vm = domain("vm", 1);
    let lifecycles = state.register(any(0), Recorder::new("life", 1, &journal)).unwrap();
    let watchdogs = state.register(any(3), Recorder::new("dog", 2, &journal)).unwrap();
    let backlog = Backlog::new(0, || {});
    let mut batch = batch_of([lifecycle(&vm, 1)]);
    for action in [Some(4), None, Some(6)] {
        batch.push_deferred(vm.clone(), Box::new(Action(action)), make_watchdog);
    }
    batch.push(lifecycle(&vm, 2));
    state.queue_batch(&mut batch, Some(&backlog));
    event_loop.iterate();
    // In queue order, each to the registrations of the event it was made
    // into; the one its maker dropped reaches nobody, and leaves the count.
    assert_eq!(
        *journal.lock(),
        ["life vm 1/0", "dog vm Watchdog { action: 4 }", "dog vm Watchdog { action: 6 }", "life vm 2/0"]
    );
    assert_eq!(backlog.queued(), 0);
    // Every source comes back to the producer, in order, for reuse.
    let mut reused = Vec::new();
    backlog.free_spent(&mut Spent::default(), |source| reused.push(source.downcast::<Action>().unwrap().0));
    assert_eq!(reused, [Some(4), None, Some(6)]);
    state.deregister(1, lifecycles).unwrap();
    state.deregister(1, watchdogs).unwrap();
}
