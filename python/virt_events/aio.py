"""asyncio as the library's event loop, and ``async for`` over events.

``virEventRegisterAsyncIOImpl(loop=None)`` registers, through the C
``virEventRegisterImpl``, six functions that keep the library's handles and
timers on an asyncio loop: a handle is an ``add_reader``/``add_writer`` on
its fd, a timer a ``call_later`` (re-armed after each firing while enabled).
The library then dispatches events from a timer callback, i.e. on the
thread running the asyncio loop, with no helper thread.

The library may add, update or remove a handle or timer from any thread (its
monitor thread arms the flush timer when it queues an event). The state of
each handle and timer is updated at once under a lock, and the asyncio side
(which is not thread-safe) is brought in line with it on the loop's thread:
directly when the call comes from that thread, through
``loop.call_soon_threadsafe`` otherwise.

``virEventRegisterAsyncIOImpl`` may be called again with another loop (each
``asyncio.run`` makes a new one): live handles and timers move to it. The
C-level registration is made once; the process's first event-loop
registration wins, so this cannot be combined with
``virEventRegisterDefaultImpl`` in one process.

``EventStream`` is ``async for`` over one registration, whatever its class:
``conn.events()`` (domains), ``networkEvents()``, ``storagePoolEvents()``,
``nodeDeviceEvents()``, ``secretEvents()`` and ``qemuMonitorEvents()`` make
one, yielding DomainEvent, NetworkEvent, ... QemuMonitorEvent tuples.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, Generic, NamedTuple, Optional, Tuple, TypeVar

from . import _constants as C
from . import qemu
from ._exceptions import _report, raise_pending
from ._lib import (
    AddHandleFunc,
    AddTimeoutFunc,
    FreeCallback,
    HandleCallback,
    RemoveHandleFunc,
    RemoveTimeoutFunc,
    TimeoutCallback,
    UpdateHandleFunc,
    UpdateTimeoutFunc,
    keep_forever,
    lib,
)
from ._loop_owner import claim_event_loop, event_loop_kind

if TYPE_CHECKING:
    from ._connect import virConnect
    from ._domain import virDomain
    from ._objects import virNetwork, virNodeDevice, virSecret, virStoragePool

__all__ = [
    "AsyncIOEventImpl",
    "DomainEvent",
    "DomainEventStream",
    "EventStream",
    "NetworkEvent",
    "NodeDeviceEvent",
    "QemuMonitorEvent",
    "SecretEvent",
    "StoragePoolEvent",
    "get_current_impl",
    "virEventRegisterAsyncIOImpl",
]


def _loop_is_current(loop):
    """Whether the calling thread is the one running `loop`."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class _Timer:
    __slots__ = ("timer", "timeout", "cb", "opaque", "ff", "armed", "removed")

    def __init__(self, timer, timeout, cb, opaque, ff):
        self.timer = timer
        self.timeout = timeout
        self.cb = cb
        self.opaque = opaque
        self.ff = ff
        self.armed = None  # asyncio.TimerHandle while scheduled
        self.removed = False


class _Handle:
    __slots__ = ("watch", "fd", "events", "cb", "opaque", "ff", "removed")

    def __init__(self, watch, fd, events, cb, opaque, ff):
        self.watch = watch
        self.fd = fd
        self.events = events
        self.cb = cb
        self.opaque = opaque
        self.ff = ff
        self.removed = False


class AsyncIOEventImpl:
    """The handles and timers the library keeps on an asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._timers: Dict[int, _Timer] = {}
        self._handles: Dict[int, _Handle] = {}
        self._next_timer = 1
        self._next_watch = 1
        # fd -> (reading, writing) as currently registered with the loop
        self._fd_state: Dict[int, Tuple[bool, bool]] = {}
        self._pending_frees = 0
        self._drained: Optional[asyncio.Future[None]] = None

    def __repr__(self) -> str:
        return f"<AsyncIOEventImpl loop={self.loop!r} timers={len(self._timers)} handles={len(self._handles)}>"

    # -- bookkeeping ------------------------------------------------------

    def is_idle(self) -> bool:
        """True when the library has no handle or timer here and no free
        callback is pending (e.g. after the last event callback is gone)."""
        with self._lock:
            return not self._timers and not self._handles and self._pending_frees == 0

    async def drain(self) -> None:
        """Waits until the free callbacks of removed handles and timers ran."""
        while True:
            with self._lock:
                if self._pending_frees == 0:
                    return
                if self._drained is None or self._drained.done():
                    self._drained = self.loop.create_future()
                fut = self._drained
            await fut

    def _on_loop(self, fn, *args):
        """Runs fn on the loop's thread: now if we are on it, else soon."""
        loop = self.loop
        if _loop_is_current(loop):
            fn(*args)
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            # The loop is closed: nothing to schedule on; a later
            # virEventRegisterAsyncIOImpl(new_loop) resyncs everything.
            pass

    def set_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Moves every live handle and timer to `loop`."""
        old = self.loop
        if loop is old:
            return
        with self._lock:
            self.loop = loop
            timers = list(self._timers.values())
            fds = list(self._fd_state)
            self._fd_state = {}
        for t in timers:
            if t.armed is not None:
                t.armed.cancel()
                t.armed = None
        if not old.is_closed():
            for fd in fds:
                for remove in (old.remove_reader, old.remove_writer):
                    try:
                        remove(fd)
                    except Exception:
                        pass
        self._on_loop(self._resync_all)

    def _resync_all(self):
        with self._lock:
            timers = list(self._timers.values())
            fds = {h.fd for h in self._handles.values()}
        for t in timers:
            self._sync_timer(t)
        for fd in fds:
            self._sync_fd(fd)

    def _release(self, cb_owner):
        """Calls a removed registration's free callback from the loop, later
        (never inside the Remove call, which may hold library locks)."""
        if not cb_owner.ff:
            return
        ff, opaque = cb_owner.ff, cb_owner.opaque
        with self._lock:
            self._pending_frees += 1

        def run():
            try:
                ff(opaque)
            except BaseException:
                _report("an event-loop free callback")
            finally:
                with self._lock:
                    self._pending_frees -= 1
                    done = self._pending_frees == 0
                    fut = self._drained
                if done and fut is not None and not fut.done():
                    fut.set_result(None)

        loop = self.loop
        try:
            if _loop_is_current(loop):
                loop.call_soon(run)
            else:
                loop.call_soon_threadsafe(run)
        except RuntimeError:
            run()  # closed loop

    # -- timers -------------------------------------------------------------

    def add_timeout(self, timeout, cb, opaque, ff):
        with self._lock:
            timer = self._next_timer
            self._next_timer += 1
            t = _Timer(timer, timeout, TimeoutCallback(cb), opaque, FreeCallback(ff) if ff else None)
            self._timers[timer] = t
        self._on_loop(self._sync_timer, t)
        return timer

    def update_timeout(self, timer, timeout):
        with self._lock:
            t = self._timers.get(timer)
            if t is None:
                return
            t.timeout = timeout
        self._on_loop(self._sync_timer, t)

    def remove_timeout(self, timer):
        with self._lock:
            t = self._timers.pop(timer, None)
            if t is None:
                return -1
            t.removed = True
        self._on_loop(self._sync_timer, t)
        self._release(t)
        return 0

    def _sync_timer(self, t):
        """On the loop thread: schedule `t` as its state says."""
        if t.armed is not None:
            t.armed.cancel()
            t.armed = None
        if not t.removed and t.timeout >= 0:
            t.armed = self.loop.call_later(t.timeout / 1000.0, self._fire_timer, t)

    def _fire_timer(self, t):
        t.armed = None
        if t.removed or t.timeout < 0:
            return
        try:
            t.cb(t.timer, t.opaque)  # into the library, which may call back
        finally:
            # Periodic: re-arm unless the callback changed or removed it.
            if t.armed is None and not t.removed and t.timeout >= 0:
                t.armed = self.loop.call_later(t.timeout / 1000.0, self._fire_timer, t)
        raise_pending()

    # -- handles -------------------------------------------------------------

    def add_handle(self, fd, events, cb, opaque, ff):
        with self._lock:
            watch = self._next_watch
            self._next_watch += 1
            h = _Handle(watch, fd, events, HandleCallback(cb), opaque, FreeCallback(ff) if ff else None)
            self._handles[watch] = h
        self._on_loop(self._sync_fd, fd)
        return watch

    def update_handle(self, watch, events):
        with self._lock:
            h = self._handles.get(watch)
            if h is None:
                return
            h.events = events
        self._on_loop(self._sync_fd, h.fd)

    def remove_handle(self, watch):
        with self._lock:
            h = self._handles.pop(watch, None)
            if h is None:
                return -1
            h.removed = True
        self._on_loop(self._sync_fd, h.fd)
        self._release(h)
        return 0

    def _watches_of(self, fd):
        with self._lock:
            return [h for h in self._handles.values() if h.fd == fd]

    def _sync_fd(self, fd):
        """On the loop thread: one reader/writer per fd, for all its watches
        (libvirt allows several watches on one fd; asyncio one per kind)."""
        watches = self._watches_of(fd)
        want_r = any(h.events & (C.VIR_EVENT_HANDLE_READABLE | C.VIR_EVENT_HANDLE_HANGUP | C.VIR_EVENT_HANDLE_ERROR)
                     for h in watches)
        want_w = any(h.events & C.VIR_EVENT_HANDLE_WRITABLE for h in watches)
        reading, writing = self._fd_state.get(fd, (False, False))
        loop = self.loop
        if want_r and not reading:
            loop.add_reader(fd, self._fd_ready, fd, C.VIR_EVENT_HANDLE_READABLE)
        elif reading and not want_r:
            loop.remove_reader(fd)
        if want_w and not writing:
            loop.add_writer(fd, self._fd_ready, fd, C.VIR_EVENT_HANDLE_WRITABLE)
        elif writing and not want_w:
            loop.remove_writer(fd)
        if want_r or want_w:
            self._fd_state[fd] = (want_r, want_w)
        else:
            self._fd_state.pop(fd, None)

    def _fd_ready(self, fd, what):
        for h in self._watches_of(fd):
            # A watch removed or changed by an earlier callback is skipped.
            if h.removed:
                continue
            mask = h.events
            if what == C.VIR_EVENT_HANDLE_READABLE:
                if not mask & (C.VIR_EVENT_HANDLE_READABLE | C.VIR_EVENT_HANDLE_HANGUP | C.VIR_EVENT_HANDLE_ERROR):
                    continue
                events = C.VIR_EVENT_HANDLE_READABLE if mask & C.VIR_EVENT_HANDLE_READABLE else mask
            else:
                if not mask & C.VIR_EVENT_HANDLE_WRITABLE:
                    continue
                events = C.VIR_EVENT_HANDLE_WRITABLE
            h.cb(h.watch, h.fd, events, h.opaque)
        raise_pending()


# --------------------------------------------------------------------------
# The C entry points: created once, delegate to the current implementation.

_impl = None
_impl_lock = threading.Lock()


def _guarded(default, method):
    def call(*args):
        try:
            return getattr(_impl, method)(*args)
        except BaseException:
            try:
                _report(f"the asyncio event loop's {method}")
            except BaseException:
                pass  # interpreter shutdown
            return default

    return call


_C_FUNCS = keep_forever((
    AddHandleFunc(_guarded(-1, "add_handle")),
    UpdateHandleFunc(_guarded(None, "update_handle")),
    RemoveHandleFunc(_guarded(-1, "remove_handle")),
    AddTimeoutFunc(_guarded(-1, "add_timeout")),
    UpdateTimeoutFunc(_guarded(None, "update_timeout")),
    RemoveTimeoutFunc(_guarded(-1, "remove_timeout")),
))


def virEventRegisterAsyncIOImpl(loop: Optional[asyncio.AbstractEventLoop] = None) -> AsyncIOEventImpl:
    """Makes `loop` (default: the running loop, else the current event loop)
    the library's event loop; returns the AsyncIOEventImpl."""
    global _impl
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop_policy().get_event_loop()
    with _impl_lock:
        claim_event_loop("asyncio")
        if _impl is None:
            _impl = AsyncIOEventImpl(loop)
            lib.virEventRegisterImpl(*_C_FUNCS)
        else:
            _impl.set_loop(loop)
        return _impl


def _ensure_impl(loop):
    """Makes sure events reach `loop`: registers the asyncio implementation
    if no loop is registered yet, and moves it to `loop` if its own loop is
    closed or not running (a previous asyncio.run)."""
    kind = event_loop_kind()
    if kind is None:
        virEventRegisterAsyncIOImpl(loop)
    elif kind == "asyncio":
        current = _impl.loop
        if current is not loop and (current.is_closed() or not current.is_running()):
            virEventRegisterAsyncIOImpl(loop)


def get_current_impl() -> Optional[AsyncIOEventImpl]:
    """The registered AsyncIOEventImpl, or None."""
    return _impl


# --------------------------------------------------------------------------
# async for


class DomainEvent(NamedTuple):
    """One domain event: the callback's arguments, libvirt-python's order."""

    conn: virConnect
    dom: Optional[virDomain]
    eventID: int
    #: the per-event arguments, e.g. (event, detail) for LIFECYCLE
    args: Tuple[Any, ...]


class NetworkEvent(NamedTuple):
    """One network event: (event, detail) for LIFECYCLE."""

    conn: virConnect
    net: Optional[virNetwork]
    eventID: int
    args: Tuple[Any, ...]


class StoragePoolEvent(NamedTuple):
    """One storage-pool event: (event, detail) for LIFECYCLE, () for REFRESH."""

    conn: virConnect
    pool: Optional[virStoragePool]
    eventID: int
    args: Tuple[Any, ...]


class NodeDeviceEvent(NamedTuple):
    """One node-device event: (event, detail) for LIFECYCLE, () for UPDATE."""

    conn: virConnect
    dev: Optional[virNodeDevice]
    eventID: int
    args: Tuple[Any, ...]


class SecretEvent(NamedTuple):
    """One secret event: (event, detail) for LIFECYCLE, () for VALUE_CHANGED."""

    conn: virConnect
    secret: Optional[virSecret]
    eventID: int
    args: Tuple[Any, ...]


class QemuMonitorEvent(NamedTuple):
    """One raw QEMU monitor event, as qemuMonitorEventRegister's callback
    gets it."""

    conn: virConnect
    dom: Optional[virDomain]
    event: str
    seconds: int
    micros: int
    #: the event's data as JSON text, or None
    details: Optional[str]


#: the events a stream yields
E = TypeVar("E")


class EventStream(Generic[E]):
    """``async for event in stream``: one registration whose events are
    queued on the running asyncio loop. The registration is made when the
    stream is created (no event after that is missed) and removed by
    ``aclose()``, by leaving ``async with``, or when the stream is
    garbage-collected.

    Made by ``conn.events()`` (domains), ``conn.networkEvents()``,
    ``conn.storagePoolEvents()``, ``conn.nodeDeviceEvents()``,
    ``conn.secretEvents()`` and ``conn.qemuMonitorEvents()``; must be
    created on the running asyncio loop. If no event loop is registered
    yet, the asyncio one is registered on that loop (and moved to it from
    a loop that is no longer running). With the default loop run by
    another thread, events are handed over with call_soon_threadsafe.

    `register(callback)` makes the registration and returns its callback
    ID; `deregister(callback_id)` removes it; `make_event(*arguments)`
    turns the callback's arguments (opaque excluded) into the event.
    """

    def __init__(
        self,
        register: Callable[[Callable[..., None]], int],
        deregister: Callable[[int], object],
        make_event: Callable[..., E],
    ) -> None:
        loop = asyncio.get_running_loop()
        _ensure_impl(loop)
        self._loop = loop
        self._queue: asyncio.Queue[E] = asyncio.Queue()
        queue = self._queue
        self._deregister = deregister

        # Holds no reference to the stream, so that dropping the stream
        # deregisters (its __del__) instead of living in the registry.
        def deliver(*arguments: Any) -> None:
            event = make_event(*arguments[:-1])
            if _loop_is_current(loop):
                queue.put_nowait(event)
            else:
                loop.call_soon_threadsafe(queue.put_nowait, event)

        self._id: Optional[int] = register(deliver)

    @property
    def callback_id(self) -> Optional[int]:
        """The registration's callback ID (None once closed)."""
        return self._id

    def __aiter__(self) -> EventStream[E]:
        return self

    async def __anext__(self) -> E:
        if self._id is None and self._queue.empty():
            raise StopAsyncIteration
        return await self._queue.get()

    def get_nowait(self) -> E:
        """The next event if one is queued (asyncio.QueueEmpty otherwise)."""
        return self._queue.get_nowait()

    async def aclose(self) -> None:
        self._close()

    def _close(self) -> None:
        callback_id, self._id = self._id, None
        if callback_id is not None:
            self._deregister(callback_id)

    async def __aenter__(self) -> EventStream[E]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._close()

    def __del__(self) -> None:
        try:
            self._close()
        except Exception:
            pass


def _maker(event_type: Callable[..., E], eventID: int) -> Callable[..., E]:
    """make_event for a callback (conn, obj, *args, opaque): the tuple
    event_type(conn, obj, eventID, args)."""

    def make_event(conn: virConnect, obj: Any, *args: Any) -> E:
        return event_type(conn, obj, eventID, args)

    return make_event


def object_events(
    event_type: Callable[..., E],
    register: Callable[[Any, int, Callable[..., None], Any], int],
    deregister: Callable[[int], object],
    eventID: int,
    obj: Any,
) -> EventStream[E]:
    """The stream of one class's `eventID` events (of `obj` only, unless
    None), `register` / `deregister` being conn.networkEventRegisterAny /
    conn.networkEventDeregisterAny or their siblings."""
    return EventStream(lambda cb: register(obj, eventID, cb, None), deregister, _maker(event_type, eventID))


class DomainEventStream(EventStream[DomainEvent]):
    """``conn.events(eventID, dom)``: `conn`'s `eventID` domain events (of
    `dom` only, unless None), as DomainEvent tuples."""

    def __init__(self, conn: virConnect, eventID: int, dom: Optional[virDomain] = None) -> None:
        super().__init__(
            lambda cb: conn.domainEventRegisterAny(dom, eventID, cb, None),
            conn.domainEventDeregisterAny,
            _maker(DomainEvent, eventID),
        )


def qemu_monitor_events(
    conn: virConnect, event: Optional[str] = None, dom: Optional[virDomain] = None, flags: int = 0
) -> EventStream[QemuMonitorEvent]:
    """``conn.qemuMonitorEvents()``: QemuMonitorEvent tuples of the raw
    monitor events named `event` (every one when None) of `dom` (every
    domain when None); `flags` as qemuMonitorEventRegister's."""
    return EventStream(
        lambda cb: qemu.qemuMonitorEventRegister(conn, dom, event, cb, None, flags),
        lambda callback_id: qemu.qemuMonitorEventDeregister(conn, callback_id),
        QemuMonitorEvent,
    )
