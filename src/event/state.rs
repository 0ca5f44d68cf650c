//! The event state of one driver instance: registered callbacks, the queue of
//! undelivered events, and the flush timer on the application's event loop.
//!
//! This reproduces libvirt's object-event state: callback IDs start at 0 and
//! are never reused; the timer is added (disabled) with the first callback,
//! armed with 0 when the queue stops being empty, disarmed when a flush starts
//! and removed with the last callback; a flush delivers every queued event in
//! FIFO order to the matching callbacks in registration order, with no lock
//! held while a callback runs; deregistrations during a flush only mark the
//! callback, whose release runs when the flush ends.
//!
//! Unlike libvirt, a flush delivers at most [`FLUSH_BATCH`] events and leaves
//! the timer armed for the rest, so that a long queue cannot starve the
//! application's own loop; a producer may queue a batch under one lock and
//! one timer update ([`EventState::queue_batch`]), and bound its share of the
//! queue with a [`Backlog`].

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Condvar, Mutex};

use super::{DomainEvent, DomainIdentity, Event, EventClass, EventPayload, ObjectIdentity, TargetKey};
use crate::error::{Error, ErrorDomain, Result};
use crate::eventloop::{self, EventLoop};

/// A registered callback, as the core sees it. The C layer implements this
/// around an application's function pointer and opaque data.
pub trait EventCallback: Send + Sync {
    /// What makes two registrations "the same callback" (the function address).
    fn identity(&self) -> usize;
    /// Delivers one event; called on the event-loop thread with no lock held.
    /// It contains its own Rust panics, and a forced unwind out of an
    /// application's callback (`pthread_exit`) passes through it: callers
    /// must not wrap it in `catch_unwind`, which would catch that unwind and
    /// abort the process.
    fn deliver(&self, event: &Event);
    /// The registration is over (its `virFreeCallback`). Never called for a
    /// registration that failed.
    fn release(&self);
}

/// Which connection a registration belongs to.
pub type ConnectionId = u64;

/// A last test an event must pass to reach a registration (the event-name
/// filter of raw monitor events).
pub type EventFilter = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// What a registration listens for.
#[derive(Clone)]
pub struct Subscription {
    pub connection: ConnectionId,
    pub class: EventClass,
    pub event_id: i32,
    /// Only events of this target, or of every target of the class.
    pub target: Option<TargetKey>,
    /// The network, pool, node device or secret `target` keys, as its
    /// handle names it: a remote connection sends it to its server.
    pub object: Option<ObjectIdentity>,
    /// Registered through `virConnectDomainEventRegister`.
    pub legacy: bool,
    /// A registration with a filter is never refused as a duplicate.
    pub filter: Option<EventFilter>,
}

impl Subscription {
    /// A registration for `event_id` events of `class`, of every object.
    pub fn new(connection: ConnectionId, class: EventClass, event_id: i32) -> Subscription {
        Subscription { connection, class, event_id, target: None, object: None, legacy: false, filter: None }
    }

    /// Whether a registration of the same function for `other` would be
    /// "already tracked", as libvirt decides it: only a new registration
    /// without a filter is checked, against filtered ones too.
    fn duplicates(&self, other: &Subscription) -> bool {
        other.filter.is_none()
            && self.connection == other.connection
            && self.class == other.class
            && self.event_id == other.event_id
            && self.target == other.target
            && self.legacy == other.legacy
    }

    fn wants(&self, event: &Event) -> bool {
        self.class == event.class()
            && self.event_id == event.event_id()
            && self.target.as_ref().is_none_or(|key| event.concerns(key))
            && self.filter.as_ref().is_none_or(|filter| filter(event))
    }
}

/// The most events one flush delivers; the timer stays armed for the rest.
pub const FLUSH_BATCH: usize = 512;

struct Registration {
    id: i32,
    subscription: Subscription,
    callback: Arc<dyn EventCallback>,
    /// Set by a deregistration during a flush, which holds a snapshot of the
    /// registrations and reads this before each delivery. libvirt's rule is
    /// flush-wide, not the per-callback one of the event loops
    /// (`eventloop::parked`): whichever registration is removed while any
    /// callback runs, its release waits for the end of the flush.
    deleted: AtomicBool,
    /// The server's callback ID this registration listens through, for a
    /// remote connection's state.
    remote_id: Option<i32>,
}

impl Registration {
    fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    /// An event queued from a server's message (`remote_id`) reaches only
    /// the registrations made through the server registration it names.
    fn wants(&self, event: &Event, remote_id: Option<i32>) -> bool {
        !self.is_deleted() && (remote_id.is_none() || remote_id == self.remote_id) && self.subscription.wants(event)
    }
}

/// A producer's share of the queue (one QEMU monitor's): how many of its
/// events wait, whether it stopped producing because they reached its
/// high-water mark, and how to tell it to go on once the application has
/// drained them to its low-water mark. Its delivered events come back to it
/// ([`Backlog::free_spent`]), so that their memory is freed by the thread
/// that allocated it, not by the application's.
pub struct Backlog {
    queued: AtomicUsize,
    paused: AtomicBool,
    low: usize,
    resume: Box<dyn Fn() + Send + Sync>,
    /// Delivered events, for the producer to free.
    spent: Mutex<Spent>,
}

/// Delivered events a producer frees on its own thread
/// ([`Backlog::free_spent`]).
#[derive(Default)]
pub struct Spent(Vec<Queued>);

/// Past this many delivered events waiting for their producer (which has not
/// come back for them: it is idle), the flushing thread frees the next ones
/// itself, so that an idle producer holds little memory.
pub const SPENT_LIMIT: usize = 1024;

impl Backlog {
    pub fn new(low: usize, resume: impl Fn() + Send + Sync + 'static) -> Arc<Backlog> {
        Arc::new(Backlog {
            queued: AtomicUsize::new(0),
            paused: AtomicBool::new(false),
            low,
            resume: Box::new(resume),
            spent: Mutex::new(Spent::default()),
        })
    }

    /// Frees the events delivered since the last call, but for the sources
    /// of deferred ones, which go to `reuse`; the producer calls this on its
    /// own thread. `scratch` is the producer's own, whose buffer is swapped
    /// with the backlog's, so that both are reused.
    pub fn free_spent(&self, scratch: &mut Spent, mut reuse: impl FnMut(PayloadSource)) {
        std::mem::swap(&mut *self.spent.lock(), scratch);
        // Taken in place (an event moved out to be dropped costs a copy): a
        // box of nothing, which allocates nothing, stands in.
        for queued in &mut scratch.0 {
            if let Entry::Deferred(deferred) = &mut queued.event {
                reuse(std::mem::replace(&mut deferred.source, Box::new(())));
            }
        }
        scratch.0.clear();
    }

    /// Hands delivered events back to the producer (leaving `events` empty),
    /// unless it already has [`SPENT_LIMIT`] to free: then they stay in
    /// `events`, for the caller to free.
    fn give_back(&self, events: &mut Vec<Queued>) {
        let mut spent = self.spent.lock();
        if spent.0.len() < SPENT_LIMIT {
            spent.0.append(events);
        }
    }

    /// How many of the producer's events wait for delivery.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Called by the producer after queuing: true when it must stop until
    /// resumed (`high` or more events wait). The re-check after pausing
    /// covers a flush that drained the backlog in between, which saw no pause
    /// to lift.
    pub fn pause_at(&self, high: usize) -> bool {
        if self.queued() < high {
            return false;
        }
        self.paused.store(true, Ordering::SeqCst);
        !(self.queued() <= self.low && self.paused.swap(false, Ordering::SeqCst))
    }

    /// `count` of the producer's events left the queue (delivered, or
    /// dropped with it).
    fn delivered(&self, count: usize) {
        let left = self.queued.fetch_sub(count, Ordering::SeqCst) - count;
        if left <= self.low && self.paused.load(Ordering::SeqCst) && self.paused.swap(false, Ordering::SeqCst) {
            (self.resume)();
        }
    }
}

/// Events a producer gathers and queues together ([`EventState::queue_batch`]):
/// each is made in the form the queue keeps it, so that the whole batch
/// joins the queue in one copy rather than being moved event by event.
#[derive(Default)]
pub struct Batch {
    events: VecDeque<Queued>,
}

impl Batch {
    pub fn push(&mut self, event: impl Into<Event>) {
        self.events.push_back(Queued { event: Entry::Ready(event.into()), remote_id: None });
    }

    /// Adds an event of `domain` whose payload `make` makes from `source`
    /// when it is delivered ([`MakePayload`]).
    pub fn push_deferred(&mut self, domain: DomainIdentity, source: PayloadSource, make: MakePayload) {
        let deferred = Deferred { domain: Some(domain), source, make };
        self.events.push_back(Queued { event: Entry::Deferred(deferred), remote_id: None });
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Drops the events (none of them is counted in a backlog yet).
    pub fn clear(&mut self) {
        self.events.clear();
    }
}

/// An event in the queue.
struct Queued {
    event: Entry,
    /// The server's callback ID a remote connection's event came for.
    remote_id: Option<i32>,
}

/// What a queued event is: made, or to be made at delivery.
enum Entry {
    Ready(Event),
    Deferred(Deferred),
}

/// Makes the payload of a domain event at its delivery, from what its
/// producer kept (its [`PayloadSource`]). `None` drops the event (the maker
/// says why).
///
/// A producer whose own thread is the busier one (a QEMU monitor in a
/// burst) leaves there the work that needs nothing of its state, for the
/// thread that flushes the queue (the application's event loop), mostly
/// idle meanwhile. The source comes back to the producer's thread
/// ([`Backlog::free_spent`]), to be freed or reused; what the maker makes
/// is freed on the flushing thread, right after the delivery.
pub type MakePayload = fn(&DomainIdentity, &(dyn Any + Send)) -> Option<EventPayload>;

/// What a deferred event's payload is made from: the producer's own type.
pub type PayloadSource = Box<dyn Any + Send>;

/// A domain event whose payload is made at delivery ([`MakePayload`]).
struct Deferred {
    /// Lent to the event while it is delivered.
    domain: Option<DomainIdentity>,
    source: PayloadSource,
    make: MakePayload,
}

/// Consecutive events of one producer in a [`Queue`] (or of none).
struct Run {
    backlog: Option<Arc<Backlog>>,
    len: usize,
}

/// Queued events, and whose they are as runs of consecutive events of one
/// producer: a producer's backlog counts a batch queued with one addition
/// and a run delivered with one subtraction, and the queue holds one
/// reference to it per run, not per event (each such count, per event, was
/// an atomic operation on a line the other thread had just written).
#[derive(Default)]
struct Queue {
    events: VecDeque<Queued>,
    /// Their lengths add up to that of `events`.
    runs: VecDeque<Run>,
}

impl Queue {
    fn len(&self) -> usize {
        self.events.len()
    }

    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Appends `events` (leaving it empty), counted in `backlog` until they
    /// leave the queue.
    fn append(&mut self, events: &mut VecDeque<Queued>, backlog: Option<&Arc<Backlog>>) {
        if !events.is_empty() {
            self.count(events.len(), backlog);
            // The buffers change places, no event moves (copying each event
            // was 6% of the monitor thread's work in a burst). The producer
            // keeps what it gets (one buffer per monitor): never more room
            // than its own or one flush's, however long the queue once was.
            let bounded = self.events.capacity() <= events.capacity().max(FLUSH_BATCH);
            if self.events.is_empty() && bounded {
                std::mem::swap(&mut self.events, events);
            } else {
                self.events.append(events);
            }
        }
    }

    /// Appends one event of no producer.
    fn push_back(&mut self, queued: Queued) {
        self.count(1, None);
        self.events.push_back(queued);
    }

    /// Records `len` events about to be appended, of `backlog`'s producer.
    fn count(&mut self, len: usize, backlog: Option<&Arc<Backlog>>) {
        if let Some(backlog) = backlog {
            backlog.queued.fetch_add(len, Ordering::SeqCst);
        }
        let same = |run: &Run| match (&run.backlog, backlog) {
            (Some(last), Some(backlog)) => Arc::ptr_eq(last, backlog),
            (last, backlog) => last.is_none() && backlog.is_none(),
        };
        match self.runs.back_mut() {
            Some(run) if same(run) => run.len += len,
            _ => self.runs.push_back(Run { backlog: backlog.cloned(), len }),
        }
    }

    /// Moves the first `count` events, and their runs, to the end of `to`.
    fn move_front(&mut self, count: usize, to: &mut Queue) {
        to.events.extend(self.events.drain(..count));
        let mut left = count;
        while let Some(run) = self.runs.front_mut().filter(|_| left > 0) {
            if run.len > left {
                run.len -= left;
                to.runs.push_back(Run { backlog: run.backlog.clone(), len: left });
                return;
            }
            left -= run.len;
            to.runs.extend(self.runs.pop_front());
        }
    }

    /// Puts `front`'s events (leaving it empty) before this queue's.
    fn prepend(&mut self, front: &mut Queue) {
        while let Some(queued) = front.events.pop_back() {
            self.events.push_front(queued);
        }
        while let Some(run) = front.runs.pop_back() {
            if run.len > 0 {
                self.runs.push_front(run);
            }
        }
    }

    /// Drops every event, each uncounted from its backlog.
    fn clear(&mut self) {
        for run in self.runs.drain(..) {
            if let Some(backlog) = run.backlog {
                backlog.delivered(run.len);
            }
        }
        self.events.clear();
    }
}

#[derive(Default)]
struct Inner {
    /// Shared with the flush under way, which takes it as its snapshot (a
    /// count, not a copy); a change while it is shared copies it.
    registrations: Arc<Vec<Arc<Registration>>>,
    next_id: i32,
    queue: Queue,
    /// The flush timer and the loop it lives on, while any callback exists.
    timer: Option<FlushTimer>,
    dispatching: bool,
    /// The buffer a flush takes its batch into, kept between flushes:
    /// freeing and allocating it for each would make the allocator give
    /// memory back to the system and take it again (`madvise`, whose TLB
    /// flushes interrupt every CPU).
    spare: Queue,
    /// The delivered events a flush gives back to their producer, kept
    /// between flushes for the same reason (and one allocation less for
    /// every flush).
    spent: Vec<Queued>,
}

impl Inner {
    /// The classes some live registration listens to, one bit each.
    fn listening(&self) -> u32 {
        self.registrations.iter().filter(|r| !r.is_deleted()).fold(0, |bits, r| bits | class_bit(r.subscription.class))
    }
}

/// The flush timer's id and the loop it lives on.
type FlushTimer = (Arc<dyn EventLoop>, i32);

fn class_bit(class: EventClass) -> u32 {
    1 << class as u32
}

pub struct EventState {
    inner: Mutex<Inner>,
    /// Signalled when a flush ends: a flush waits (under `inner`) while
    /// another is `dispatching`, so that the flag describes the only one.
    flush_ended: Condvar,
    /// The flush timer as producers arm it, after they have released
    /// `inner`: a copy of `Inner::timer`, changed under both locks, and held
    /// while arming, so that a timer is never updated after its removal (and
    /// arming takes no count on the loop). Arming outside `inner` matters
    /// for latency: the wake-up of the loop thread may preempt the producer
    /// at once, and the woken flush must not then wait for the producer's
    /// queue lock.
    arming: Mutex<Option<FlushTimer>>,
    /// Bumped whenever a registration is added or removed, so that a flush
    /// knows when its snapshot of the registrations is stale.
    generation: AtomicU64,
    /// `Inner::listening`, readable without the lock by producers that skip
    /// building events nobody listens to.
    listening: AtomicU32,
    this: Weak<EventState>,
}

impl EventState {
    pub fn new() -> Arc<EventState> {
        Arc::new_cyclic(|this| EventState {
            inner: Mutex::new(Inner::default()),
            flush_ended: Condvar::new(),
            arming: Mutex::new(None),
            generation: AtomicU64::new(0),
            listening: AtomicU32::new(0),
            this: this.clone(),
        })
    }

    /// Whether any live registration listens to events of `class`.
    pub fn listens(&self, class: EventClass) -> bool {
        self.listening.load(Ordering::Acquire) & class_bit(class) != 0
    }

    /// Records a change of the registrations (under the lock).
    fn registrations_changed(&self, inner: &Inner) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.listening.store(inner.listening(), Ordering::Release);
    }

    /// Adds a registration and returns its callback ID.
    pub fn register(&self, subscription: Subscription, callback: Arc<dyn EventCallback>) -> Result<i32> {
        self.register_remote(subscription, callback, None)
    }

    /// Adds a registration that receives the events queued for the
    /// server's callback `remote_id` (and those queued without one).
    pub fn register_remote(
        &self,
        subscription: Subscription,
        callback: Arc<dyn EventCallback>,
        remote_id: Option<i32>,
    ) -> Result<i32> {
        let mut inner = self.inner.lock();
        let identity = callback.identity();
        let duplicate = inner
            .registrations
            .iter()
            .any(|r| !r.is_deleted() && r.subscription.duplicates(&subscription) && r.callback.identity() == identity);
        if duplicate {
            return Err(Error::invalid_arg(ErrorDomain::VIR_FROM_NONE, "event callback already tracked"));
        }
        if inner.timer.is_none() {
            let timer = self.add_flush_timer()?;
            *self.arming.lock() = Some(timer.clone());
            inner.timer = Some(timer);
        }
        let id = inner.next_id;
        inner.next_id += 1;
        Arc::make_mut(&mut inner.registrations).push(Arc::new(Registration {
            id,
            subscription,
            callback,
            deleted: AtomicBool::new(false),
            remote_id,
        }));
        self.registrations_changed(&inner);
        Ok(id)
    }

    fn add_flush_timer(&self) -> Result<FlushTimer> {
        let timer_error = || Error::internal(ErrorDomain::VIR_FROM_NONE, "could not initialize domain event timer");
        let event_loop = eventloop::current().ok_or_else(timer_error)?;
        let state = self.this.clone();
        let flush = Box::new(move |_timer| {
            if let Some(state) = state.upgrade() {
                state.flush();
            }
        });
        // A refused timer's callback owns nothing but a weak reference.
        let timer = event_loop.add_timeout(-1, flush).map_err(|_refused| timer_error())?;
        Ok((event_loop, timer))
    }

    /// Removes the registration with `callback_id` made by `connection`.
    pub fn deregister(&self, connection: ConnectionId, callback_id: i32) -> Result<()> {
        self.remove_where(|r| r.id == callback_id && r.subscription.connection == connection).ok_or_else(|| {
            Error::invalid_arg(
                ErrorDomain::VIR_FROM_NONE,
                format!("could not find event callback {callback_id} for deletion"),
            )
        })
    }

    /// Removes a legacy (`virConnectDomainEventRegister`) registration of
    /// `identity` made by `connection`.
    pub fn deregister_legacy(&self, connection: ConnectionId, identity: usize) -> Result<()> {
        self.remove_where(|r| {
            r.subscription.legacy && r.subscription.connection == connection && r.callback.identity() == identity
        })
        .ok_or_else(|| {
            Error::invalid_arg(
                ErrorDomain::VIR_FROM_NONE,
                format!("event callback function {identity:#x} not registered"),
            )
        })
    }

    fn remove_where(&self, matches: impl Fn(&Registration) -> bool) -> Option<()> {
        let removed = {
            let mut inner = self.inner.lock();
            let index = inner.registrations.iter().position(|r| !r.is_deleted() && matches(r))?;
            if inner.dispatching {
                inner.registrations[index].deleted.store(true, Ordering::Release);
                self.registrations_changed(&inner);
                return Some(());
            }
            let removed = Arc::make_mut(&mut inner.registrations).remove(index);
            self.registrations_changed(&inner);
            removed
        };
        removed.callback.release();
        self.drop_timer_if_unused();
        Some(())
    }

    /// Removes the flush timer once no registration is left; as in libvirt,
    /// this comes after the last release.
    fn drop_timer_if_unused(&self) {
        let mut inner = self.inner.lock();
        if inner.registrations.is_empty() {
            if let Some((event_loop, timer)) = inner.timer.take() {
                // Once no producer is arming it.
                *self.arming.lock() = None;
                event_loop.remove_timeout(timer);
            }
            inner.queue.clear();
        }
    }

    /// Queues an event for delivery from the event loop. With no callback
    /// registered there is nobody to tell, and the event is dropped.
    pub fn queue(&self, event: impl Into<Event>) {
        self.queue_remote(event, None);
    }

    /// Queues an event a server sent for its callback `remote_id`.
    pub fn queue_remote(&self, event: impl Into<Event>, remote_id: Option<i32>) {
        self.push(|queue| queue.push_back(Queued { event: Entry::Ready(event.into()), remote_id }));
    }

    /// Queues the events of `batch` (leaving it empty) in order under one
    /// lock, arming the flush timer at most once; each is counted in
    /// `backlog` until it is delivered, the batch with one addition.
    pub fn queue_batch(&self, batch: &mut Batch, backlog: Option<&Arc<Backlog>>) {
        self.push(|queue| queue.append(&mut batch.events, backlog));
        // Dropped when nobody listens (no timer): counted in no backlog.
        batch.clear();
    }

    /// Adds to the queue with `add`, under the lock, and arms the flush
    /// timer if the queue was empty. Without a timer (no callback) nothing
    /// is added.
    fn push(&self, add: impl FnOnce(&mut Queue)) {
        let arming = {
            let mut inner = self.inner.lock();
            if inner.timer.is_none() {
                return;
            }
            let was_empty = inner.queue.is_empty();
            add(&mut inner.queue);
            if !was_empty || inner.queue.is_empty() {
                return;
            }
            // Taken before `inner` is released: the timer stays until it is armed.
            self.arming.lock()
        };
        // A flush may have taken the events meanwhile: the timer then fires
        // once for nothing, and the flush finds the queue empty.
        if let Some((event_loop, timer)) = arming.as_ref() {
            event_loop.update_timeout(*timer, 0);
        }
    }

    /// Delivers the queued events, at most [`FLUSH_BATCH`] of them; run by
    /// the flush timer, which stays armed while more wait.
    pub fn flush(&self) {
        let (mut flush, mut registrations, mut generation) = {
            let mut inner = self.inner.lock();
            while inner.dispatching {
                self.flush_ended.wait(&mut inner);
            }
            inner.dispatching = true;
            let mut undelivered = std::mem::take(&mut inner.spare);
            let spent = std::mem::take(&mut inner.spent);
            if inner.queue.len() <= FLUSH_BATCH {
                if let Some((event_loop, timer)) = &inner.timer {
                    event_loop.update_timeout(*timer, -1);
                }
                // The whole queue: the buffers change places, no event moves.
                std::mem::swap(&mut inner.queue, &mut undelivered);
            } else {
                inner.queue.move_front(FLUSH_BATCH, &mut undelivered);
            }
            let generation = self.generation.load(Ordering::Acquire);
            let flush = FlushInProgress { state: self, undelivered, spent, taken: 0, finished: false };
            (flush, inner.registrations.clone(), generation)
        };
        while let Some(run) = flush.undelivered.runs.front_mut() {
            let Some(mut queued) = flush.undelivered.events.pop_front() else { break };
            run.len -= 1;
            flush.taken += 1;
            // Registrations added while an event is being delivered wait for
            // the next one; removals during a flush only mark, which each
            // delivery reads.
            if self.generation.load(Ordering::Acquire) != generation {
                let inner = self.inner.lock();
                generation = self.generation.load(Ordering::Acquire);
                registrations = inner.registrations.clone();
            }
            match &mut queued.event {
                Entry::Ready(event) => deliver(&registrations, event, queued.remote_id),
                Entry::Deferred(deferred) => deferred.deliver(&registrations),
            }
            if run.backlog.is_some() {
                flush.spent.push(queued);
            }
            if run.len > 0 {
                continue;
            }
            if let Some(backlog) = flush.undelivered.runs.pop_front().and_then(|run| run.backlog) {
                backlog.give_back(&mut flush.spent);
                // Past the producer's limit: freed here.
                flush.spent.clear();
                backlog.delivered(flush.taken);
            }
            flush.taken = 0;
        }
        drop(registrations);
        let purged = flush.finish();
        if !purged.is_empty() {
            for registration in purged {
                registration.callback.release();
            }
            self.drop_timer_if_unused();
        }
    }
}

/// Delivers `event` to the registrations that want it. Inlined: out of
/// line, a `None` remote ID (whose unused half is undefined) reached it in
/// a register, and memcheck's approximate compare of the whole register
/// reported a jump on undefined bits (the C tests' valgrind runs).
#[inline(always)]
fn deliver(registrations: &[Arc<Registration>], event: &Event, remote_id: Option<i32>) {
    for registration in registrations {
        if registration.wants(event, remote_id) {
            registration.callback.deliver(event);
        }
    }
}

impl Deferred {
    /// Makes the payload and delivers the event, unless the maker drops it.
    /// What was made is freed here, on the thread that made it; the domain
    /// comes back, to go back to the producer with the source.
    fn deliver(&mut self, registrations: &[Arc<Registration>]) {
        let Some(domain) = self.domain.take() else { return };
        let Some(payload) = (self.make)(&domain, &*self.source) else {
            self.domain = Some(domain);
            return;
        };
        let event = Event::Domain(DomainEvent { domain, payload });
        deliver(registrations, &event, None);
        if let Event::Domain(DomainEvent { domain, .. }) = event {
            self.domain = Some(domain);
        }
    }
}

/// A flush under way, ended however the flush is left. Deliveries contain
/// their own panics, but an application's callback may leave by unwinding
/// (`pthread_exit` is a forced unwind, which must pass through): then the
/// events not yet delivered go back to the head of the queue for the next
/// flush instead of being lost, and the state stops "dispatching", so that
/// registrations and deregistrations act at once again. (The event being
/// delivered is not repeated: some callbacks have had it.)
struct FlushInProgress<'a> {
    state: &'a EventState,
    undelivered: Queue,
    /// The delivered events of the current run, to give back to its producer.
    spent: Vec<Queued>,
    /// How many events of the first run of `undelivered` were taken out of
    /// it: delivered (or being delivered), not yet uncounted from its backlog.
    taken: usize,
    /// Ended by `finish`: nothing is left for the drop to do.
    finished: bool,
}

impl FlushInProgress<'_> {
    /// Ends a flush that delivered its whole batch, under one lock: the
    /// state stops dispatching, keeps the batch's buffer, and drops the
    /// registrations removed meanwhile, which are returned to be released.
    fn finish(mut self) -> Vec<Arc<Registration>> {
        let mut inner = self.state.inner.lock();
        inner.dispatching = false;
        self.state.flush_ended.notify_all();
        inner.spare = std::mem::take(&mut self.undelivered);
        self.spent.clear();
        inner.spent = std::mem::take(&mut self.spent);
        self.finished = true;
        if !inner.registrations.iter().any(|r| r.is_deleted()) {
            return Vec::new();
        }
        let (purged, kept) = inner.registrations.iter().cloned().partition(|r| r.is_deleted());
        inner.registrations = Arc::new(kept);
        purged
    }
}

impl Drop for FlushInProgress<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut inner = self.state.inner.lock();
        inner.dispatching = false;
        self.state.flush_ended.notify_all();
        // What was taken of the first run (the event being delivered too)
        // has left the queue.
        if let Some(backlog) = self.undelivered.runs.front().and_then(|run| run.backlog.as_ref()) {
            if self.taken > 0 {
                backlog.delivered(self.taken);
            }
        }
        if self.undelivered.is_empty() {
            self.undelivered.runs.clear();
            inner.spare = std::mem::take(&mut self.undelivered);
            return;
        }
        inner.queue.prepend(&mut self.undelivered);
        if let Some((event_loop, timer)) = &inner.timer {
            event_loop.update_timeout(*timer, 0);
        }
    }
}

#[cfg(test)]
mod tests;
