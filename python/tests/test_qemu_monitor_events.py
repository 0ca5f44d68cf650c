"""Raw QEMU monitor events (virt_events.qemu, libvirt-python's libvirt_qemu
names) through libvirt-qemu.so.0, from a fake QEMU monitor, with the
library's default loop."""

import gc
import json
import os
import shutil
import tempfile

import pytest

import virt_events as libvirt
from virt_events import qemu as libvirt_qemu
from helpers import FakeQemu, event_line, run_for, run_until

pytestmark = pytest.mark.usefixtures("native_loop")


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="ve-py-qm-")  # short: Unix socket paths are limited
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_raw_events_with_filters(root):
    fake = FakeQemu(root, "vm1")
    conn = libvirt.open("qemu:///embed?root=" + root)
    try:
        every, stops = [], []

        def record(calls):
            def cb(c, dom, event, seconds, micros, details, opaque):
                assert c is conn
                calls.append((dom.name(), event, seconds, micros, details, opaque))

            return cb

        dom = conn.lookupByName("vm1")
        all_id = libvirt_qemu.qemuMonitorEventRegister(conn, None, None, record(every), "all")
        nocase = libvirt.VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE
        stop_id = libvirt_qemu.qemuMonitorEventRegister(conn, dom, "stop", record(stops), "stop", nocase)
        assert conn.qemuMonitorEventCallbackID == {all_id: "all", stop_id: "stop"}
        library = os.path.dirname(libvirt.library_path())
        assert libvirt_qemu.qemu_lib.path == os.path.join(library, "libvirt-qemu.so.0")

        fake.send_events([event_line("RTC_CHANGE", {"offset": 42}, seconds=7), event_line("STOP", seconds=8)])
        fake.go.set()
        run_until(lambda: len(every) == 2 and stops, what="the raw events")
        run_for(0.1)  # nothing more comes
        rtc, stop = every
        assert rtc[:4] == ("vm1", "RTC_CHANGE", 7, 0) and rtc[5] == "all"
        assert json.loads(rtc[4]) == {"offset": 42}
        assert stop == ("vm1", "STOP", 8, 0, None, "all")
        assert stops == [("vm1", "STOP", 8, 0, None, "stop")]

        assert libvirt_qemu.qemuMonitorEventDeregister(conn, all_id) == 0
        assert libvirt_qemu.qemuMonitorEventDeregister(conn, stop_id) == 0
        assert conn.qemuMonitorEventCallbackID == {}
        with pytest.raises(libvirt.libvirtError):
            libvirt_qemu.qemuMonitorEventDeregister(conn, all_id)
        with pytest.raises(TypeError):
            libvirt_qemu.qemuMonitorEventRegister(conn, None, None, "not callable", None)
        del dom
    finally:
        fake.close()
    gc.collect()
    assert conn.close() == 0


def test_registration_errors_are_libvirt_errors(test_conn):
    # test:///default has no QEMU monitor: the library refuses as libvirt does.
    with pytest.raises(libvirt.libvirtError) as info:
        libvirt_qemu.qemuMonitorEventRegister(test_conn, None, None, lambda *a: None, None)
    assert info.value.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
    assert str(info.value).endswith("virConnectDomainQemuMonitorEventRegister")
    assert test_conn.qemuMonitorEventCallbackID == {}


def test_monitor_command_gets_qemus_reply(root):
    fake = FakeQemu(root, "vm1")
    conn = libvirt.open("qemu:///embed?root=" + root)
    try:
        dom = conn.lookupByName("vm1")
        reply = libvirt_qemu.qemuMonitorCommand(dom, '{"execute": "query-status"}', 0)
        # QEMU's reply, compact, with the id the library gave the command.
        assert reply.startswith('{"return":{"running":true,"status":"running"},"id":"libvirt-'), reply
        assert fake.commands[-1] == "query-status"
        with pytest.raises(libvirt.libvirtError) as info:
            libvirt_qemu.qemuMonitorCommand(dom, "not json", 0)
        assert info.value.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR
        assert str(info.value).startswith("internal error: cannot parse json not json: ")
        del dom, info  # the error holds the domain
    finally:
        fake.close()
    gc.collect()
    assert conn.close() == 0


def test_monitor_commands_are_refused_without_a_monitor(test_conn):
    with pytest.raises(libvirt.libvirtError) as info:
        libvirt_qemu.qemuMonitorCommand(test_conn.lookupByName("test"), '{"execute": "query-status"}', 0)
    assert info.value.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
    assert str(info.value).endswith("virDomainQemuMonitorCommand")
