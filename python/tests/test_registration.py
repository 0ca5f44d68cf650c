"""Registration semantics on test:///default, with the library's default loop."""

import gc
import threading
import weakref

import pytest

import virt_events as libvirt
from helpers import LoopThread, run_until

pytestmark = pytest.mark.usefixtures("native_loop")

LIFECYCLE = libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
SECOND = (
    "<domain type='test'><name>second</name>"
    "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid><memory>65536</memory><os><type>hvm</type></os></domain>"
)


class Recorder:
    """A callback recording its calls, as (label, domain name, args...)."""

    def __init__(self, label, calls):
        self.label = label
        self.calls = calls

    def __call__(self, conn, dom, *rest):
        self.calls.append((self.label, dom.name()) + tuple(rest))


def lifecycle(label, calls):
    return Recorder(label, calls)


def test_ids_start_at_zero_and_are_shared_by_legacy_and_any(test_conn):
    calls = []
    dom = test_conn.lookupByName("test")
    legacy = lifecycle("legacy", calls)
    assert test_conn.domainEventRegister(legacy, "L") is None  # consumes callback ID 0
    assert test_conn.domainEventRegisterAny(None, LIFECYCLE, lifecycle("any", calls), "A") == 1
    assert test_conn.domainEventRegisterAny(dom, LIFECYCLE, lifecycle("dom", calls), "D") == 2
    assert test_conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, lifecycle("r", calls)) == 3
    assert test_conn.domainEventCallbackID == {1: "A", 2: "D", 3: None}

    dom.destroy()
    dom.create()
    libvirt.virEventRunDefaultImpl()  # one iteration delivers everything queued, FIFO
    stopped = (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
    started = (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED)
    assert calls == [
        ("legacy", "test") + stopped + ("L",),
        ("any", "test") + stopped + ("A",),
        ("dom", "test") + stopped + ("D",),
        ("legacy", "test") + started + ("L",),
        ("any", "test") + started + ("A",),
        ("dom", "test") + started + ("D",),
    ]
    for callback_id in (1, 2, 3):
        test_conn.domainEventDeregisterAny(callback_id)
    assert test_conn.domainEventCallbackID == {}
    test_conn.domainEventDeregister(legacy)


def test_duplicates_raise_invalid_arg(test_conn):
    calls = []
    cb = lifecycle("a", calls)
    first = test_conn.domainEventRegisterAny(None, LIFECYCLE, cb, None)
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.domainEventRegisterAny(None, LIFECYCLE, cb, None)
    assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG == 8
    assert "already tracked" in e.value.get_error_message()
    # As with libvirt-python, every Python callback of one event ID goes
    # through the same C function, so a second (eventID, dom) registration on
    # a connection is a duplicate whatever the Python callable.
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.domainEventRegisterAny(None, LIFECYCLE, lifecycle("b", calls), None)
    assert e.value.get_error_code() == 8
    # A failed registration leaves nothing behind.
    assert test_conn.domainEventCallbackID == {first: None}
    # Legacy, per-domain and other-ID registrations are not duplicates.
    test_conn.domainEventRegister(cb, None)
    dom_id = test_conn.domainEventRegisterAny(test_conn.lookupByName("test"), LIFECYCLE, cb, None)
    other = test_conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_WATCHDOG, cb, None)
    assert (first, dom_id, other) == (0, 2, 3)
    # A second connection is another registrant.
    conn2 = libvirt.open("test:///default")
    id2 = conn2.domainEventRegisterAny(None, LIFECYCLE, cb, None)
    assert id2 == 4
    conn2.domainEventDeregisterAny(id2)
    assert conn2.close() == 0
    for callback_id in (first, dom_id, other):
        test_conn.domainEventDeregisterAny(callback_id)
    test_conn.domainEventDeregister(cb)


def test_errors_are_libvirt_errors(test_conn):
    cb = lifecycle("x", [])
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.domainEventDeregisterAny(12345)
    assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    assert e.value.get_error_message() == "invalid argument: could not find event callback 12345 for deletion"
    assert str(e.value) == e.value.get_error_message()
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.domainEventDeregisterAny(-2)
    assert (e.value.get_error_code(), e.value.get_error_domain()) == (8, libvirt.VIR_FROM_DOMAIN)
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.domainEventRegisterAny(None, 99, cb, None)
    assert e.value.get_error_code() == 8
    assert e.value.get_error_message() == "eventID must be less than %d" % len(libvirt.EVENTS)
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.domainEventRegisterAny(None, -1, cb, None)
    assert e.value.get_error_code() == 8
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.domainEventDeregister(cb)
    assert e.value.get_error_code() == 8
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.lookupByName("nope")
    assert e.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    with pytest.raises(libvirt.libvirtError) as e:
        libvirt.open("nosuch:///uri")
    assert e.value.get_error_code() == libvirt.VIR_ERR_NO_CONNECT
    # A domain of another connection is refused as the filter.
    conn2 = libvirt.open("test:///default")
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.domainEventRegisterAny(conn2.lookupByName("test"), LIFECYCLE, cb, None)
    assert e.value.get_error_code() == 8
    assert "must match connection" in e.value.get_error_message()
    del e  # its traceback holds the domain object, which holds the connection
    gc.collect()
    assert conn2.close() == 0
    # Read-only connections refuse domain operations.
    ro = libvirt.openReadOnly("test:///default")
    with pytest.raises(libvirt.libvirtError) as e:
        ro.lookupByName("test").suspend()
    assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    del e
    gc.collect()
    assert ro.close() == 0
    # Errors go to the handler registered with registerErrorHandler.
    seen = []
    libvirt.registerErrorHandler(lambda ctx, err: seen.append((ctx, err[0])), "ctx")
    try:
        with pytest.raises(libvirt.libvirtError):
            test_conn.domainEventDeregisterAny(777)
    finally:
        libvirt.registerErrorHandler(None, None)
    assert seen == [("ctx", libvirt.VIR_ERR_INVALID_ARG)]


def test_per_domain_filter(test_conn):
    calls = []
    test_dom = test_conn.lookupByName("test")
    all_id = test_conn.domainEventRegisterAny(None, LIFECYCLE, lifecycle("all", calls), None)
    dom_id = test_conn.domainEventRegisterAny(test_dom, LIFECYCLE, lifecycle("test-only", calls), None)
    second = test_conn.createXML(SECOND)
    test_dom.suspend()
    second.destroy()
    test_dom.resume()
    libvirt.virEventRunDefaultImpl()
    assert [c[:3] for c in calls] == [
        ("all", "second", libvirt.VIR_DOMAIN_EVENT_STARTED),
        ("all", "test", libvirt.VIR_DOMAIN_EVENT_SUSPENDED),
        ("test-only", "test", libvirt.VIR_DOMAIN_EVENT_SUSPENDED),
        ("all", "second", libvirt.VIR_DOMAIN_EVENT_STOPPED),
        ("all", "test", libvirt.VIR_DOMAIN_EVENT_RESUMED),
        ("test-only", "test", libvirt.VIR_DOMAIN_EVENT_RESUMED),
    ]
    test_conn.domainEventDeregisterAny(all_id)
    test_conn.domainEventDeregisterAny(dom_id)


def test_deregistration_during_dispatch(test_conn):
    calls = []
    ids = {}
    checked = []

    class Opaque:
        def __init__(self, name):
            self.name = name

    def self_removing(conn, dom, event, detail, opaque):
        calls.append(("self", event))
        if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
            conn.domainEventDeregisterAny(ids["self"])
            conn.domainEventDeregisterAny(ids["late"])
            ids["new"] = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, lambda *a: None, None)
            # The slot of the deregistered callback is free again at once.
            ids["new2"] = conn.domainEventRegisterAny(
                None, LIFECYCLE, lambda c, d, e, de, o: calls.append(("new", e)), None
            )
            # Deregistered, but not released before the flush ends.
            checked.append(weak_self() is not None and weak_late() is not None)

    def late(conn, dom, event, detail, opaque):
        calls.append(("late", event))

    dom = test_conn.lookupByName("test")
    opaque_self, opaque_late = Opaque("self"), Opaque("late")
    weak_self, weak_late = weakref.ref(opaque_self), weakref.ref(opaque_late)
    ids["self"] = test_conn.domainEventRegisterAny(None, LIFECYCLE, self_removing, opaque_self)
    ids["late"] = test_conn.domainEventRegisterAny(dom, LIFECYCLE, late, opaque_late)
    del opaque_self, opaque_late
    dom.destroy()
    dom.create()
    libvirt.virEventRunDefaultImpl()
    # `late` never ran; `new2` missed the event being dispatched but got the next one.
    assert calls == [("self", libvirt.VIR_DOMAIN_EVENT_STOPPED), ("new", libvirt.VIR_DOMAIN_EVENT_STARTED)]
    assert checked == [True]
    # Both released once the flush ended.
    assert weak_self() is None and weak_late() is None
    assert (ids["new"], ids["new2"]) == (2, 3)
    test_conn.domainEventDeregisterAny(ids["new"])
    test_conn.domainEventDeregisterAny(ids["new2"])
    with pytest.raises(libvirt.libvirtError):
        test_conn.domainEventDeregisterAny(ids["self"])


def test_legacy_callbacks_share_one_registration(test_conn):
    calls = []
    a, b = lifecycle("a", calls), lifecycle("b", calls)
    test_conn.domainEventRegister(a, 1)  # the C registration: ID 0
    test_conn.domainEventRegister(b, 2)  # no C call
    test_conn.domainEventRegister(a, 3)  # replaces a's opaque, as libvirt-python does
    assert test_conn.domainEventCallbacks == {a: 3, b: 2}
    probe = test_conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, a, None)
    assert probe == 1
    dom = test_conn.lookupByName("test")
    dom.suspend()
    libvirt.virEventRunDefaultImpl()
    assert calls == [("a", "test", 3, 0, 3), ("b", "test", 3, 0, 2)]
    test_conn.domainEventDeregister(a)  # b remains: the C registration stays
    dom.resume()
    libvirt.virEventRunDefaultImpl()
    assert calls[2:] == [("b", "test", 4, 0, 2)]
    test_conn.domainEventDeregister(b)  # the last: the C registration goes
    # ... so the legacy C callback is no longer registered on the connection.
    assert libvirt._lib.lib.virConnectDomainEventDeregister(test_conn._o, libvirt._trampolines._C_LEGACY_ADDR) == -1
    # A new legacy callback registers again (a new callback ID).
    test_conn.domainEventRegister(b, 4)
    assert test_conn.domainEventRegisterAny(None, LIFECYCLE, a, None) == 3
    test_conn.domainEventDeregisterAny(3)
    test_conn.domainEventDeregister(b)
    test_conn.domainEventDeregisterAny(probe)


def test_objects_live_while_registered_and_die_after(test_conn):
    class Opaque:
        pass

    calls = []
    opaque = Opaque()
    weak_opaque = weakref.ref(opaque)
    cb = lambda conn, dom, event, detail, op: calls.append((event, op is weak_opaque()))  # noqa: E731
    weak_cb = weakref.ref(cb)
    cid = test_conn.domainEventRegisterAny(None, LIFECYCLE, cb, opaque)
    del opaque, cb
    gc.collect()
    assert weak_opaque() is not None and weak_cb() is not None
    test_conn.lookupByName("test").suspend()
    libvirt.virEventRunDefaultImpl()
    assert calls == [(libvirt.VIR_DOMAIN_EVENT_SUSPENDED, True)]
    test_conn.domainEventCallbackID.clear()  # only the registry may keep them alive
    gc.collect()
    assert weak_opaque() is not None
    test_conn.domainEventDeregisterAny(cid)  # freecb runs before this returns
    assert weak_opaque() is None and weak_cb() is None


def test_close_with_registrations(native_loop):
    calls = []
    conn = libvirt.open("test:///default")
    other = libvirt.open("test:///default")
    cid = conn.domainEventRegisterAny(None, LIFECYCLE, lifecycle("x", calls), "op")
    raw = conn._o
    # The registration holds the connection: close drops only our reference.
    assert conn.close() == 1
    assert conn._o is None
    other.lookupByName("test").suspend()
    libvirt.virEventRunDefaultImpl()
    assert calls == [("x", "test", libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 0, "op")]
    # The closed object can no longer reach it...
    with pytest.raises(libvirt.libvirtError) as e:
        conn.domainEventDeregisterAny(cid)
    assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_CONN
    # ...but the C pointer stays valid while the registration holds it.
    assert libvirt._lib.lib.virConnectDomainEventDeregisterAny(raw, cid) == 0
    gc.collect()
    assert other.close() == 0
    # A connection object dropped while holding a registration lives on in
    # the registry until its callback is deregistered (here during dispatch).
    conn = libvirt.open("test:///default")
    weak_conn = weakref.ref(conn)

    def once(c, dom, event, detail, opaque):
        calls.append(("once", event))
        c.domainEventDeregisterAny(opaque["id"])

    box = {}
    box["id"] = conn.domainEventRegisterAny(None, LIFECYCLE, once, box)
    del conn
    gc.collect()
    assert weak_conn() is not None
    trigger = libvirt.open("test:///default")
    trigger.lookupByName("test").suspend()
    libvirt.virEventRunDefaultImpl()
    assert calls[-1] == ("once", libvirt.VIR_DOMAIN_EVENT_SUSPENDED)
    gc.collect()
    assert weak_conn() is None  # released at the end of the flush, and closed
    assert trigger.close() == 0


def test_exception_in_callback_is_printed_and_loop_goes_on(test_conn, capfd):
    calls = []

    def bad(conn, dom, event, detail, opaque):
        calls.append(event)
        raise ValueError("boom in callback")

    bad_id = test_conn.domainEventRegisterAny(None, LIFECYCLE, bad, None)
    legacy = lifecycle("legacy", calls)
    test_conn.domainEventRegister(legacy, None)
    dom = test_conn.lookupByName("test")
    dom.suspend()
    dom.resume()
    libvirt.virEventRunDefaultImpl()
    err = capfd.readouterr().err
    assert err.count("ValueError: boom in callback") == 2
    assert "Traceback" in err
    assert calls == [
        libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
        ("legacy", "test", libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 0, None),
        libvirt.VIR_DOMAIN_EVENT_RESUMED,
        ("legacy", "test", libvirt.VIR_DOMAIN_EVENT_RESUMED, 0, None),
    ]
    test_conn.domainEventDeregisterAny(bad_id)
    test_conn.domainEventDeregister(legacy)


def test_keyboard_interrupt_in_callback_reaches_the_loop_caller(test_conn):
    def interrupt(conn, dom, event, detail, opaque):
        raise KeyboardInterrupt

    cid = test_conn.domainEventRegisterAny(None, LIFECYCLE, interrupt, None)
    test_conn.lookupByName("test").suspend()
    with pytest.raises(KeyboardInterrupt):
        libvirt.virEventRunDefaultImpl()
    test_conn.domainEventDeregisterAny(cid)


def test_callbacks_run_on_the_loop_thread(test_conn):
    seen = []
    with LoopThread() as loop:

        def cb(conn, dom, event, detail, opaque):
            # Same thread, and the same Python thread state: ctypes did not
            # create a fresh one for the call (threading.local survives).
            seen.append((threading.get_ident(), getattr(loop.local, "marker", None), event))

        cid = test_conn.domainEventRegisterAny(None, LIFECYCLE, cb, None)
        dom = test_conn.lookupByName("test")
        dom.suspend()
        dom.resume()
        deadline_ok = threading.Event()
        for _ in range(500):
            if len(seen) == 2:
                deadline_ok.set()
                break
            threading.Event().wait(0.01)
        assert deadline_ok.is_set(), seen
        test_conn.domainEventDeregisterAny(cid)
    assert loop.ident != threading.get_ident()
    assert seen == [
        (loop.ident, "loop-thread", libvirt.VIR_DOMAIN_EVENT_SUSPENDED),
        (loop.ident, "loop-thread", libvirt.VIR_DOMAIN_EVENT_RESUMED),
    ]


def test_domain_calls(test_conn):
    calls = []
    cid = test_conn.domainEventRegisterAny(None, LIFECYCLE, lifecycle("x", calls), None)
    assert [d.name() for d in test_conn.listAllDomains()] == ["test"]
    dom = test_conn.lookupByName("test")
    assert dom.ID() == 1
    assert dom.UUIDString() == "6695eb01-f6a4-8304-79aa-97f2502e193f"
    assert dom.UUID() == bytes.fromhex("6695eb01f6a4830479aa97f2502e193f")
    assert test_conn.lookupByUUIDString(dom.UUIDString()).name() == "test"
    assert test_conn.lookupByID(1).name() == "test"
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert "<name>test</name>" in dom.XMLDesc()
    assert dom.isActive() == 1
    assert dom.connect() is test_conn
    assert test_conn.getURI() == "test:///default"
    assert test_conn.isAlive() == 1
    assert libvirt.getVersion() == libvirt.LIBVIR_VERSION_NUMBER
    for op in (dom.suspend, dom.resume, dom.reboot, dom.reset, dom.shutdown, dom.create, dom.destroy):
        assert op() == 0
    assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED]
    assert dom.ID() == -1 or test_conn.lookupByName("test").ID() == -1
    second = test_conn.defineXML(SECOND)
    assert second.isPersistent() == 1 and second.isActive() == 0
    assert second.create() == 0
    assert second.destroy() == 0
    assert second.undefine() == 0
    transient = test_conn.createXML(SECOND)
    assert transient.destroy() == 0
    libvirt.virEventRunDefaultImpl()
    ev = libvirt
    assert [(c[1], c[2], c[3]) for c in calls] == [
        ("test", ev.VIR_DOMAIN_EVENT_SUSPENDED, ev.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
        ("test", ev.VIR_DOMAIN_EVENT_RESUMED, ev.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
        ("test", ev.VIR_DOMAIN_EVENT_STOPPED, ev.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN),
        ("test", ev.VIR_DOMAIN_EVENT_STARTED, ev.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("test", ev.VIR_DOMAIN_EVENT_STOPPED, ev.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
        ("second", ev.VIR_DOMAIN_EVENT_DEFINED, ev.VIR_DOMAIN_EVENT_DEFINED_ADDED),
        ("second", ev.VIR_DOMAIN_EVENT_STARTED, ev.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("second", ev.VIR_DOMAIN_EVENT_STOPPED, ev.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
        ("second", ev.VIR_DOMAIN_EVENT_UNDEFINED, ev.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED),
        ("second", ev.VIR_DOMAIN_EVENT_STARTED, ev.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("second", ev.VIR_DOMAIN_EVENT_STOPPED, ev.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
    ]
    test_conn.domainEventDeregisterAny(cid)


def test_event_loop_timers_and_handles(native_loop):
    import os

    fired = []
    timer = libvirt.virEventAddTimeout(0, lambda t, o: fired.append(("timer", t, o)), "T")
    run_until(lambda: fired, what="the timer")
    libvirt.virEventRemoveTimeout(timer)
    assert fired[0] == ("timer", timer, "T")
    r, w = os.pipe()
    try:
        got = []

        def on_read(watch, fd, events, opaque):
            got.append((fd, events & libvirt.VIR_EVENT_HANDLE_READABLE, opaque, os.read(fd, 10)))

        watch = libvirt.virEventAddHandle(r, libvirt.VIR_EVENT_HANDLE_READABLE, on_read, "H")
        os.write(w, b"x")
        run_until(lambda: got, what="the handle")
        assert got == [(r, libvirt.VIR_EVENT_HANDLE_READABLE, "H", b"x")]
        libvirt.virEventRemoveHandle(watch)
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(RuntimeError):
        libvirt.virEventRegisterAsyncIOImpl()  # the default loop came first


def test_close_callback_and_keepalive(test_conn):
    class Opaque:
        pass

    opaque = Opaque()
    ref = weakref.ref(opaque)
    assert test_conn.setKeepAlive(5, 3) in (0, 1)
    assert test_conn.registerCloseCallback(lambda conn, reason, op: None, opaque) == 0
    del opaque
    assert ref() is not None
    assert test_conn.unregisterCloseCallback() == 0
    assert ref() is None
    # A second registration replaces the first (whose objects are released).
    first, second = Opaque(), Opaque()
    refs = weakref.ref(first), weakref.ref(second)
    test_conn.registerCloseCallback(lambda conn, reason, op: None, first)
    test_conn.registerCloseCallback(lambda conn, reason, op: None, second)
    del first, second
    assert refs[0]() is None and refs[1]() is not None
    assert test_conn.unregisterCloseCallback() == 0
    assert refs[1]() is None
    # Closing the connection ends a close callback left registered.
    conn = libvirt.open("test:///default")
    opaque = Opaque()
    ref = weakref.ref(opaque)
    conn.registerCloseCallback(lambda conn, reason, op: None, opaque)
    del opaque
    assert conn.close() == 0
    assert ref() is None
