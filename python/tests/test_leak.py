"""Registrations release their Python objects: 100k register/deregister
cycles on test:///default grow memory by less than 1 MB (tracemalloc), and
an opaque object dies once its registration is gone."""

import gc
import sys
import tracemalloc
import weakref

import pytest

import virt_events as libvirt
from virt_events import _registry

pytestmark = pytest.mark.usefixtures("native_loop")

CYCLES = 100_000
LIMIT = 1024 * 1024


class Opaque:
    pass


def cycle(conn, dom, n):
    for i in range(n):
        opaque = Opaque()
        if i % 3 == 0:
            cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda *a: None, opaque)
            conn.domainEventDeregisterAny(cid)
        elif i % 3 == 1:
            cid = conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS, lambda *a: None, opaque)
            conn.domainEventDeregisterAny(cid)
        else:
            cb = lambda *a: None  # noqa: E731
            conn.domainEventRegister(cb, opaque)
            conn.domainEventDeregister(cb)


def test_no_leak_over_100k_cycles(test_conn):
    dom = test_conn.lookupByName("test")
    before_registry = _registry.registered_count()
    cycle(test_conn, dom, 2000)  # warm-up: caches, dict sizes, the C side's first allocations
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        cycle(test_conn, dom, CYCLES)
        gc.collect()
        end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = end - start
    print(f"{CYCLES} cycles: traced memory grew by {growth} bytes (peak {peak - start})", file=sys.stderr)
    assert growth < LIMIT, f"traced memory grew by {growth} bytes over {CYCLES} cycles"
    assert _registry.registered_count() == before_registry
    assert test_conn.domainEventCallbackID == {} and test_conn.domainEventCallbacks == {}


def test_opaque_released_after_deregistration(test_conn):
    dom = test_conn.lookupByName("test")
    opaque = Opaque()
    ref = weakref.ref(opaque)
    base = sys.getrefcount(opaque)
    cid = test_conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda *a: None, opaque)
    assert sys.getrefcount(opaque) > base  # held while registered
    del opaque
    gc.collect()
    assert ref() is not None
    test_conn.domainEventDeregisterAny(cid)
    assert ref() is None  # freecb ran inside DeregisterAny

    legacy_opaque = Opaque()
    legacy_ref = weakref.ref(legacy_opaque)
    cb = lambda *a: None  # noqa: E731
    cb_ref = weakref.ref(cb)
    test_conn.domainEventRegister(cb, legacy_opaque)
    del legacy_opaque, cb
    gc.collect()
    assert legacy_ref() is not None and cb_ref() is not None
    test_conn.domainEventDeregister(cb_ref())
    gc.collect()
    assert legacy_ref() is None and cb_ref() is None


def test_event_loop_registrations_released(native_loop):
    opaque = Opaque()
    ref = weakref.ref(opaque)
    timer = libvirt.virEventAddTimeout(-1, lambda t, o: None, opaque)
    del opaque
    assert ref() is not None
    libvirt.virEventRemoveTimeout(timer)
    # The default loop frees a removed timer's data on its next iteration at
    # the latest; run one (a 0 ms timer makes it return at once).
    wake = libvirt.virEventAddTimeout(0, lambda t, o: libvirt.virEventRemoveTimeout(t))
    libvirt.virEventRunDefaultImpl()
    gc.collect()
    assert ref() is None
    del wake
