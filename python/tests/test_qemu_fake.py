"""Every seed event, end to end: a fake QEMU monitor (a Python thread on
ROOT/NAME.qmp) -> the library's monitor thread -> the default loop ->
Python callbacks with libvirt-python's arguments."""

import gc
import shutil
import tempfile
import threading

import pytest

import virt_events as libvirt
from helpers import FakeQemu, event_line, run_for, run_until

pytestmark = pytest.mark.usefixtures("native_loop")

UUID = "c7a5fdbd-cdaf-9455-926a-d65c16db1809"
IMAGE = "blkdebug:/var/tmp/vm/blkdebug.conf:/var/tmp/vm/disk.img"
# query-block as QEMU 10 answers it for one IDE disk (ioerr_drive_stop.jsonl).
QUERY_BLOCK = [
    {
        "io-status": "ok",
        "device": "drive-ide0-0-0",
        "locked": False,
        "removable": False,
        "inserted": {"ro": False, "drv": "raw", "node-name": "#block256", "file": IMAGE},
        "qdev": "ide0-0-0",
        "type": "unknown",
    }
]


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="ve-py-")  # short: Unix socket paths are limited
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Watcher:
    """Opens qemu:///embed?root=ROOT and registers the legacy callback and a
    callback per event ID the library has, recording (what, domain, args...,
    opaque)."""

    def __init__(self, root):
        self.calls = []
        self.threads = set()
        self.conn = libvirt.open("qemu:///embed?root=" + root)
        self.conn.domainEventRegister(self._record("legacy"), "legacy-opaque")
        self.ids = []
        self.supported = {"legacy"}
        for event_id, spec in sorted(libvirt.EVENTS.items()):
            try:
                self.ids.append(
                    self.conn.domainEventRegisterAny(None, event_id, self._record(spec.name), spec.name.lower())
                )
                self.supported.add(spec.name)
            except libvirt.libvirtError as e:
                # A library older than the header: it has fewer event IDs.
                assert e.get_error_message().startswith("eventID must be less than"), e
        assert {"LIFECYCLE", "REBOOT", "RTC_CHANGE", "WATCHDOG", "IO_ERROR", "GRAPHICS"} <= self.supported

    def _record(self, what):
        def cb(conn, dom, *rest):
            assert conn is self.conn
            self.threads.add(threading.get_ident())
            self.calls.append((what, dom.name(), dom.UUIDString()) + rest)

        return cb

    def run_until(self, count, timeout=10.0):
        run_until(lambda: len(self.calls) >= count, timeout, what=f"{count} callbacks, got {self.calls}")

    def close(self):
        self.conn.domainEventDeregister(next(iter(self.conn.domainEventCallbacks)))
        for callback_id in self.ids:
            self.conn.domainEventDeregisterAny(callback_id)
        gc.collect()
        assert self.conn.close() == 0


def scenario(root, events, expected, *, block=None, eof=False, name="vm1"):
    fake = FakeQemu(root, name, uuid=UUID, block=block)  # listening before open
    watcher = Watcher(root)
    try:
        # Sockets present at open are attached before open returns.
        assert fake.commands[:2] == ["qmp_capabilities", "query-status"], fake.commands
        assert [d.name() for d in watcher.conn.listAllDomains()] == [name]
        # Rows of event IDs this library does not have are not expected.
        expected = [r for r in expected if r[0] in watcher.supported]
        fake.send_events(events, eof=eof)
        fake.go.set()  # callbacks are registered: the fake may send its events
        watcher.run_until(len(expected))
        run_for(0.1)  # nothing more comes
        assert watcher.calls == expected
        assert watcher.threads == {threading.get_ident()}
        assert fake.error is None
    finally:
        fake.close()
        watcher.close()


def row(what, *args):
    return (what, "vm1", UUID) + args


def test_lifecycle(root):
    events = [
        event_line("STOP"),
        event_line("RESUME"),
        event_line("SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"}),
    ]
    lc = []
    for event, detail in (
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
        (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
        (libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_HOST),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN),
    ):
        lc += [row("legacy", event, detail, "legacy-opaque"), row("LIFECYCLE", event, detail, "lifecycle")]
    scenario(root, events, lc, eof=True)


def test_reboot(root):
    scenario(root, [event_line("RESET", {"guest": True, "reason": "guest-reset"})], [row("REBOOT", "reboot")])


def test_rtc_change(root):
    events = [
        event_line("RTC_CHANGE", {"offset": 42}),
        event_line("RTC_CHANGE", {"offset": -814103185, "qom-path": "/machine/unattached/device[3]/rtc"}),
    ]
    scenario(root, events, [row("RTC_CHANGE", 42, "rtc_change"), row("RTC_CHANGE", -814103185, "rtc_change")])


def test_watchdog(root):
    events = [event_line("WATCHDOG", {"action": "reset"}), event_line("WATCHDOG", {"action": "pause"})]
    expected = [
        row("WATCHDOG", libvirt.VIR_DOMAIN_EVENT_WATCHDOG_RESET, "watchdog"),
        row("WATCHDOG", libvirt.VIR_DOMAIN_EVENT_WATCHDOG_PAUSE, "watchdog"),
    ]
    suspended = (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG)
    expected += [row("legacy", *suspended, "legacy-opaque"), row("LIFECYCLE", *suspended, "lifecycle")]
    scenario(root, events, expected)


def test_io_error(root):
    data = {
        "device": "drive-ide0-0-0",
        "nospace": False,
        "node-name": "#block256",
        "qom-path": "/machine/peripheral/ide0-0-0",
        "reason": "Input/output error",
        "operation": "read",
        "action": "stop",
    }
    events = [event_line("BLOCK_IO_ERROR", data), event_line("STOP")]
    suspended = (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR)
    expected = [
        row("IO_ERROR", IMAGE, "ide0-0-0", libvirt.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE, "io_error"),
        row("IO_ERROR_REASON", IMAGE, "ide0-0-0", libvirt.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE, "", "io_error_reason"),
        row("legacy", *suspended, "legacy-opaque"),
        row("LIFECYCLE", *suspended, "lifecycle"),
    ]
    scenario(root, events, expected, block=QUERY_BLOCK)


def test_io_error_report_without_query_block(root):
    data = {"device": "drive-virtio-disk0", "nospace": True, "operation": "write", "action": "report"}
    expected = [
        row("IO_ERROR", "", "", libvirt.VIR_DOMAIN_EVENT_IO_ERROR_REPORT, "io_error"),
        row("IO_ERROR_REASON", "", "", libvirt.VIR_DOMAIN_EVENT_IO_ERROR_REPORT, "enospc", "io_error_reason"),
    ]
    scenario(root, [event_line("BLOCK_IO_ERROR", data)], expected)


def test_graphics(root):
    server = {"auth": "none", "family": "ipv4", "service": "5900", "host": "127.0.0.1", "websocket": False}
    client = {"family": "ipv4", "service": "57078", "host": "127.0.0.1", "websocket": False}
    tls_server = dict(server, auth="vencrypt", vencrypt="x509plain")
    tls_client = dict(client, x509_dname="CN=client,O=example", sasl_username="bob")
    unix_server = {"auth": "none", "family": "unix", "service": "/run/vm/vnc.sock", "host": "", "websocket": False}
    unix_client = {"family": "unix", "service": "", "host": "", "websocket": False}
    events = [
        event_line("VNC_CONNECTED", {"server": server, "client": client}),
        event_line("VNC_INITIALIZED", {"server": tls_server, "client": tls_client}),
        event_line("VNC_DISCONNECTED", {"server": unix_server, "client": unix_client}),
    ]
    local = {"family": libvirt.VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4, "node": "127.0.0.1", "service": "5900"}
    remote = {"family": libvirt.VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4, "node": "127.0.0.1", "service": "57078"}
    unix = libvirt.VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX
    expected = [
        row("GRAPHICS", libvirt.VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, local, remote, "none", [], "graphics"),
        row(
            "GRAPHICS",
            libvirt.VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE,
            local,
            remote,
            "vencrypt",
            [("x509dname", "CN=client,O=example"), ("saslUsername", "bob")],
            "graphics",
        ),
        row(
            "GRAPHICS",
            libvirt.VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT,
            {"family": unix, "node": "", "service": "/run/vm/vnc.sock"},
            {"family": unix, "node": "", "service": ""},
            "none",
            [],
            "graphics",
        ),
    ]
    scenario(root, events, expected)


def test_domain_calls_on_attached_qemu(root):
    fake = FakeQemu(root, "vm2", uuid=UUID)
    calls = []
    conn = libvirt.open("qemu:///embed?root=" + root)
    try:
        dom = conn.lookupByName("vm2")
        assert conn.lookupByUUIDString(UUID).name() == "vm2"
        assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        assert dom.ID() > 0
        cid = conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                          lambda c, d, e, de, o: calls.append((e, de)), None)
        fake.go.set()
        dom.suspend()  # `stop`: the fake answers, QEMU would then send STOP
        assert "stop" in fake.commands
        fake.send_events([event_line("STOP")])
        run_until(lambda: calls, what="SUSPENDED")
        assert calls == [(libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)]
        dom.resume()
        assert "cont" in fake.commands
        conn.domainEventDeregisterAny(cid)
        del dom
        gc.collect()
    finally:
        fake.close()
        assert conn.close() == 0


def test_later_event_ids(root):
    """Events after GRAPHICS, for a library that has them (rows of IDs the
    library lacks are dropped from the expectation)."""
    events = [
        event_line("DEVICE_DELETED", {"device": "net0", "path": "/machine/peripheral/net0"}),
        event_line("DEVICE_UNPLUG_GUEST_ERROR", {"device": "hostdev0", "path": "/machine/peripheral/hostdev0"}),
        event_line("BALLOON_CHANGE", {"actual": 536870912}),
    ]
    expected = [
        row("DEVICE_REMOVED", "net0", "device_removed"),
        row("DEVICE_REMOVAL_FAILED", "hostdev0", "device_removal_failed"),
        row("BALLOON_CHANGE", 524288, "balloon_change"),
    ]
    scenario(root, events, expected)
