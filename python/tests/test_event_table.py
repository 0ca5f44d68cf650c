"""Each event ID's trampoline, called the way the library calls it (through
a C function pointer, with C arguments), gives the Python callback
libvirt-python's arguments. Covers every table entry, including the IDs the
loaded library may not deliver yet."""

import ctypes

import pytest

import virt_events as libvirt
from virt_events import _lib, _registry, _trampolines

pytestmark = pytest.mark.usefixtures("native_loop")


def _addr(family, node, service):
    return ctypes.pointer(_lib.GraphicsAddress(family, node, service))


def _subject(*identities):
    array = (_lib.GraphicsSubjectIdentity * len(identities))(*[_lib.GraphicsSubjectIdentity(t, n) for t, n in identities])
    return ctypes.pointer(_lib.GraphicsSubject(len(identities), array)), array


def _params():
    values = [
        (b"cputune.vcpu_quota", 3, "l", -1),
        (b"cputune.shares", 4, "ul", 2048),
        (b"memory_processed", 4, "ul", 1 << 40),
        (b"ratio", 5, "d", 0.5),
        (b"flag", 6, "b", 1),
        (b"iothreads", 1, "i", -7),
        (b"count", 2, "ui", 4000000000),
        (b"cputune.emulatorpin", 7, "s", b"0-3"),
    ]
    array = (_lib.TypedParameter * len(values))()
    for p, (field, type_, member, value) in zip(array, values):
        p.field = field
        p.type = type_
        setattr(p.value, member, value)
    expected = {
        "cputune.vcpu_quota": -1, "cputune.shares": 2048, "memory_processed": 1 << 40, "ratio": 0.5,
        "flag": True, "iothreads": -7, "count": 4000000000, "cputune.emulatorpin": "0-3",
    }
    return array, len(values), expected


def cases():
    ipv4 = libvirt.VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4
    subject, keep = _subject((b"x509dname", b"CN=a"), (b"saslUsername", b"bob"))
    params, n, expected = _params()
    out = {
        "LIFECYCLE": ((2, 0), (2, 0)),
        "REBOOT": ((), ()),
        "RTC_CHANGE": ((-(1 << 40),), (-(1 << 40),)),
        "WATCHDOG": ((6,), (6,)),
        "IO_ERROR": ((b"/img", b"virtio-disk0", 1), ("/img", "virtio-disk0", 1)),
        "GRAPHICS": (
            (0, _addr(ipv4, b"127.0.0.1", b"5900"), _addr(ipv4, b"10.0.0.2", None), b"vnc", subject),
            (0, {"family": ipv4, "node": "127.0.0.1", "service": "5900"},
             {"family": ipv4, "node": "10.0.0.2", "service": None}, "vnc",
             [("x509dname", "CN=a"), ("saslUsername", "bob")]),
        ),
        "IO_ERROR_REASON": ((b"/img", b"ide0-0-0", 1, b"enospc"), ("/img", "ide0-0-0", 1, "enospc")),
        "CONTROL_ERROR": ((), ()),
        "BLOCK_JOB": ((b"/img", 2, 3), ("/img", 2, 3)),
        "DISK_CHANGE": ((None, b"/new.iso", b"ide0-1-0", 0), (None, "/new.iso", "ide0-1-0", 0)),
        "TRAY_CHANGE": ((b"ide0-1-0", 1), ("ide0-1-0", 1)),
        "PMWAKEUP": ((0,), (0,)),
        "PMSUSPEND": ((0,), (0,)),
        "BALLOON_CHANGE": (((1 << 63) + 5,), ((1 << 63) + 5,)),
        "PMSUSPEND_DISK": ((0,), (0,)),
        "DEVICE_REMOVED": ((b"net0",), ("net0",)),
        "BLOCK_JOB_2": ((b"vda", 1, 0), ("vda", 1, 0)),
        "TUNABLE": ((params, n), (expected,)),
        "AGENT_LIFECYCLE": ((1, 2), (1, 2)),
        "DEVICE_ADDED": ((b"net1",), ("net1",)),
        "MIGRATION_ITERATION": ((3,), (3,)),
        "JOB_COMPLETED": ((params, n), (expected,)),
        "DEVICE_REMOVAL_FAILED": ((b"net2",), ("net2",)),
        "METADATA_CHANGE": ((2, b"http://example.org/ns"), (2, "http://example.org/ns")),
        "BLOCK_THRESHOLD": ((b"vda[1]", b"/img", 1 << 33, 12), ("vda[1]", "/img", 1 << 33, 12)),
        "MEMORY_FAILURE": ((1, 2, 3), (1, 2, 3)),
        "MEMORY_DEVICE_SIZE_CHANGE": ((b"dimm0", 1 << 20), ("dimm0", 1 << 20)),
    }
    return out, (keep, params)


def test_every_trampoline_passes_libvirt_python_arguments(test_conn):
    table, _keep = cases()
    assert set(table) >= {spec.name for spec in libvirt.EVENTS.values()}
    dom = test_conn.lookupByName("test")
    for event_id, spec in sorted(libvirt.EVENTS.items()):
        c_args, expected = table[spec.name]
        got = []
        entry = _registry._Entry(test_conn, lambda conn, d, *rest: got.append((conn, d.name(), rest)), "op")
        token = _registry._register_entry(entry)
        try:
            ret = _trampolines._ANY_TRAMPOLINES[event_id](test_conn._o, dom._o, *c_args, token)
        finally:
            _registry._registry.pop(token)
        assert got == [(test_conn, "test", tuple(expected) + ("op",))], spec.name
        assert ret == (0 if spec.name == "LIFECYCLE" else None)
