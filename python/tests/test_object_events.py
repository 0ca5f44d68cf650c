"""Network, storage-pool, node-device and secret event registration on
test:///default, with the library's default loop."""

import gc
import os
import subprocess
import sys
import textwrap
import weakref

import pytest

import virt_events as libvirt
from conftest import PYTHON_DIR
from helpers import run_until

pytestmark = pytest.mark.usefixtures("native_loop")

PYN = "<network><name>pyn</name></network>"
FC_HOST = (
    "<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>"
    "<wwnn>2000000012345678</wwnn><wwpn>1000000012345678</wwpn></capability></capability></device>"
)


class Recorder:
    """A callback recording (object class, object name, args...)."""

    def __init__(self, calls, label=None):
        self.calls = calls
        self.label = label

    def __call__(self, conn, obj, *rest):
        assert isinstance(conn, libvirt.virConnect)
        name = obj.UUIDString() if isinstance(obj, libvirt.virSecret) else obj.name()
        record = (type(obj).__name__, name) + tuple(rest)
        self.calls.append(record if self.label is None else (self.label,) + record)


def test_network_lifecycle(test_conn):
    calls = []
    before = libvirt._registry.registered_count()
    cid = test_conn.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, Recorder(calls), "op")
    assert test_conn.networkEventCallbackID == {cid: "op"}
    net = test_conn.networkDefineXML(PYN)
    assert net.name() == "pyn" and net.connect() is test_conn
    assert len(net.UUID()) == 16 and len(net.UUIDString()) == 36
    net.create()
    net.destroy()
    net.undefine()
    run_until(lambda: len(calls) == 4, what="four network lifecycle events")
    assert calls == [
        ("virNetwork", "pyn", libvirt.VIR_NETWORK_EVENT_DEFINED, 0, "op"),
        ("virNetwork", "pyn", libvirt.VIR_NETWORK_EVENT_STARTED, 0, "op"),
        ("virNetwork", "pyn", libvirt.VIR_NETWORK_EVENT_STOPPED, 0, "op"),
        ("virNetwork", "pyn", libvirt.VIR_NETWORK_EVENT_UNDEFINED, 0, "op"),
    ]
    assert [c[2] for c in calls] == [0, 2, 3, 1]
    assert test_conn.networkEventDeregisterAny(cid) is None
    assert test_conn.networkEventCallbackID == {}
    assert libvirt._registry.registered_count() == before


def test_network_filter_by_object(test_conn):
    calls = []
    default = test_conn.networkLookupByName("default")
    cid = test_conn.networkEventRegisterAny(default, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, Recorder(calls))
    net = test_conn.networkDefineXML(PYN)
    net.create()
    net.destroy()
    net.undefine()
    default.destroy()
    default.create()
    run_until(lambda: len(calls) == 2, what="the events of network 'default'")
    assert calls == [
        ("virNetwork", "default", libvirt.VIR_NETWORK_EVENT_STOPPED, 0, None),
        ("virNetwork", "default", libvirt.VIR_NETWORK_EVENT_STARTED, 0, None),
    ]
    test_conn.networkEventDeregisterAny(cid)


def test_storage_pool_refresh_and_filter(test_conn):
    calls = []
    pool = test_conn.storagePoolLookupByName("default-pool")
    assert pool.name() == "default-pool" and len(pool.UUIDString()) == 36
    refresh = libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH
    every = test_conn.storagePoolEventRegisterAny(None, refresh, Recorder(calls, "any"), "A")
    mine = test_conn.storagePoolEventRegisterAny(pool, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
                                                 Recorder(calls, "life"), "L")
    assert test_conn.storagePoolEventCallbackID == {every: "A", mine: "L"}
    assert pool.refresh() == 0
    run_until(lambda: calls, what="the refresh event")
    assert calls == [("any", "virStoragePool", "default-pool", "A")]
    test_conn.storagePoolEventDeregisterAny(every)
    test_conn.storagePoolEventDeregisterAny(mine)
    assert test_conn.storagePoolEventCallbackID == {}


def test_node_device_created_and_deleted(test_conn):
    calls = []
    cid = test_conn.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, Recorder(calls), 7)
    assert test_conn.nodeDeviceLookupByName("scsi_host1").name() == "scsi_host1"
    dev = test_conn.nodeDeviceCreateXML(FC_HOST)
    assert dev.name() == "scsi_host12"
    run_until(lambda: len(calls) == 1, what="the CREATED event")
    dev.destroy()
    run_until(lambda: len(calls) == 2, what="the DELETED event")
    assert calls == [
        ("virNodeDevice", "scsi_host12", libvirt.VIR_NODE_DEVICE_EVENT_CREATED, 0, 7),
        ("virNodeDevice", "scsi_host12", libvirt.VIR_NODE_DEVICE_EVENT_DELETED, 0, 7),
    ]
    test_conn.nodeDeviceEventDeregisterAny(cid)


def test_secret_registration_is_accepted(test_conn):
    ids = [
        test_conn.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_LIFECYCLE, Recorder([]), "l"),
        test_conn.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_VALUE_CHANGED, Recorder([]), "v"),
    ]
    assert test_conn.secretEventCallbackID == {ids[0]: "l", ids[1]: "v"}
    for cid in ids:
        test_conn.secretEventDeregisterAny(cid)
    assert test_conn.secretEventCallbackID == {}


def test_callback_ids_are_shared_across_classes(test_conn):
    ids = [
        test_conn.networkEventRegisterAny(None, 0, Recorder([])),
        test_conn.storagePoolEventRegisterAny(None, 0, Recorder([])),
        test_conn.nodeDeviceEventRegisterAny(None, 0, Recorder([])),
        test_conn.secretEventRegisterAny(None, 0, Recorder([])),
    ]
    assert len(set(ids)) == 4
    test_conn.networkEventDeregisterAny(ids[0])
    test_conn.storagePoolEventDeregisterAny(ids[1])
    test_conn.nodeDeviceEventDeregisterAny(ids[2])
    test_conn.secretEventDeregisterAny(ids[3])


def test_deregistration_releases_the_opaque(test_conn):
    class Opaque:
        pass

    before = libvirt._registry.registered_count()
    opaque = Opaque()
    ref = weakref.ref(opaque)
    cid = test_conn.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_UPDATE, Recorder([]), opaque)
    assert libvirt._registry.registered_count() == before + 1
    del opaque
    gc.collect()
    assert ref() is not None
    test_conn.nodeDeviceEventDeregisterAny(cid)
    assert libvirt._registry.registered_count() == before
    assert test_conn.nodeDeviceEventCallbackID == {}
    gc.collect()
    assert ref() is None


def test_callback_objects_hold_their_own_reference(test_conn):
    kept = []
    cid = test_conn.networkEventRegisterAny(None, 0, lambda conn, net, ev, det, op: kept.append(net))
    net = test_conn.networkDefineXML(PYN)
    net.undefine()
    del net
    gc.collect()
    run_until(lambda: len(kept) == 2, what="two network events")
    # The objects outlive the callback (and the network's undefinition).
    assert [n.name() for n in kept] == ["pyn", "pyn"]
    test_conn.networkEventDeregisterAny(cid)
    del kept[:]  # the test_conn fixture checks that nothing holds the connection


def test_argument_errors(test_conn):
    cases = [
        (test_conn.networkEventRegisterAny, "virConnectNetworkEventRegisterAny", 1, libvirt.VIR_FROM_NETWORK),
        (test_conn.storagePoolEventRegisterAny, "virConnectStoragePoolEventRegisterAny", 2, libvirt.VIR_FROM_STORAGE),
        (test_conn.nodeDeviceEventRegisterAny, "virConnectNodeDeviceEventRegisterAny", 2, libvirt.VIR_FROM_NODEDEV),
        (test_conn.secretEventRegisterAny, "virConnectSecretEventRegisterAny", 2, libvirt.VIR_FROM_SECRET),
    ]
    before = libvirt._registry.registered_count()
    for register, function, count, domain in cases:
        with pytest.raises(libvirt.libvirtError) as e:
            register(None, count, Recorder([]), None)
        assert str(e.value) == f"eventID in {function} must be less than {count}"
        assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
        assert e.value.get_error_domain() == domain
        with pytest.raises(libvirt.libvirtError) as e:
            register(None, -1, Recorder([]), None)
        assert str(e.value) == f"eventID in {function} must be zero or greater"
        with pytest.raises(libvirt.libvirtError) as e:
            register(None, 0, None, None)
        assert str(e.value) == f"cb in {function} must not be NULL"
    with pytest.raises(libvirt.libvirtError):
        test_conn.networkEventDeregisterAny(99)
    # One trampoline per (class, event ID), as for domains: a second
    # registration with the same filter is a duplicate whatever the callable.
    cid = test_conn.networkEventRegisterAny(None, 0, Recorder([]), None)
    with pytest.raises(libvirt.libvirtError) as e:
        test_conn.networkEventRegisterAny(None, 0, Recorder([]), None)
    assert "already tracked" in e.value.get_error_message()
    assert test_conn.networkEventCallbackID == {cid: None}
    test_conn.networkEventDeregisterAny(cid)
    assert libvirt._registry.registered_count() == before


def test_the_object_must_be_of_the_class(test_conn):
    pool = test_conn.storagePoolLookupByName("default-pool")
    before = libvirt._registry.registered_count()
    with pytest.raises(libvirt.libvirtError):
        test_conn.networkEventRegisterAny(pool, 0, Recorder([]), None)
    assert libvirt._registry.registered_count() == before


EXIT_SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading, time
    sys.path.insert(0, %r)
    # Registered before the binding's own handler, so it runs after it.
    atexit.register(lambda: print("left", sys.modules["virt_events._registry"].registered_count()))
    import virt_events as libvirt
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open("test:///default")
    for register in (conn.networkEventRegisterAny, conn.storagePoolEventRegisterAny,
                     conn.nodeDeviceEventRegisterAny, conn.secretEventRegisterAny):
        register(None, 0, lambda *a: None, None)
    conn.storagePoolEventRegisterAny(None, 1, lambda *a: None, None)
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
    net = conn.networkLookupByName("default")
    pool = conn.storagePoolLookupByName("default-pool")
    def churn():
        while True:
            net.destroy()
            net.create()
            pool.refresh()
    threading.Thread(target=churn, daemon=True).start()
    time.sleep(0.2)
    print("exiting")
    """
    % PYTHON_DIR
)


def test_exit_ends_the_object_registrations():
    proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, timeout=20,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "exiting\nleft 0\n"
    assert "Traceback" not in proc.stderr
