"""The asyncio event loop: run by test_asyncio.py, each case in a pytest
subprocess of its own, since the process's first event-loop registration
wins (the other tests use the library's default loop).

    python3 -m pytest python/tests/asyncio_cases.py

No thread runs virEventRunDefaultImpl here: asyncio.run drives everything.
"""

import asyncio
import gc
import json
import os
import shutil
import tempfile
import threading

import pytest

import virt_events as libvirt
from helpers import FakeQemu, event_line

LIFECYCLE = libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
TIMEOUT = 5.0


def run(coro):
    """asyncio.run with an overall bound."""
    return asyncio.run(asyncio.wait_for(coro, 20))


def only_main_thread():
    # No Python thread besides this one (in particular none spinning the
    # default loop); the library's own threads are not Python threads.
    assert threading.active_count() == 1, threading.enumerate()
    assert libvirt.event_loop_kind() == "asyncio"


def close(conn):
    gc.collect()
    assert conn.close() == 0


def test_lifecycle_events_on_the_asyncio_loop():
    async def main():
        impl = libvirt.virEventRegisterAsyncIOImpl()
        assert impl.is_idle()
        conn = libvirt.open("test:///default")
        dom = conn.lookupByName("test")
        assert impl.is_idle()  # the flush timer comes with the first callback
        got = asyncio.Queue()

        def cb(c, d, event, detail, opaque):
            got.put_nowait((threading.get_ident(), c is conn, d.name(), event, detail, opaque))

        assert conn.domainEventRegisterAny(dom, LIFECYCLE, cb, "aio") == 0
        assert not impl.is_idle()
        dom.destroy()
        me = threading.get_ident()
        assert await asyncio.wait_for(got.get(), TIMEOUT) == (
            me, True, "test", libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED, "aio")
        dom.create()
        assert await asyncio.wait_for(got.get(), TIMEOUT) == (
            me, True, "test", libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED, "aio")
        only_main_thread()
        conn.domainEventDeregisterAny(libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE)  # callback ID 0, as test_aio.py does
        await impl.drain()
        assert impl.is_idle()  # the timer went with the last callback
        del dom
        close(conn)

    run(main())


def test_events_caused_from_other_threads():
    """The library arms its flush timer from whichever thread queues the
    event: from a worker thread it reaches asyncio through
    call_soon_threadsafe, and the callback still runs on the loop."""

    async def main():
        libvirt.virEventRegisterAsyncIOImpl()
        conn = libvirt.open("test:///default")
        dom = conn.lookupByName("test")
        got = asyncio.Queue()
        cid = conn.domainEventRegisterAny(
            None, LIFECYCLE, lambda c, d, e, de, o: got.put_nowait((threading.get_ident(), e)), None)
        loop = asyncio.get_running_loop()
        for name, event in (("suspend", libvirt.VIR_DOMAIN_EVENT_SUSPENDED),
                            ("resume", libvirt.VIR_DOMAIN_EVENT_RESUMED)):
            worker = []

            def in_worker(name=name):
                worker.append(threading.get_ident())
                getattr(dom, name)()

            await loop.run_in_executor(None, in_worker)
            assert worker[0] != threading.get_ident()
            assert await asyncio.wait_for(got.get(), TIMEOUT) == (threading.get_ident(), event)
        conn.domainEventDeregisterAny(cid)
        dom = in_worker = None  # they hold the domain, which holds the connection
        close(conn)

    run(main())


def test_async_for():
    async def main():
        conn = libvirt.open("test:///default")  # events() registers the asyncio loop itself
        dom = conn.lookupByName("test")
        async with conn.events(LIFECYCLE) as stream:
            assert libvirt.event_loop_kind() == "asyncio"
            assert stream.callback_id == 0
            dom.suspend()
            dom.resume()
            seen = []
            async for event in stream:
                seen.append(event)
                if len(seen) == 2:
                    break
        assert [(e.eventID, e.dom.name(), e.args) for e in seen] == [
            (LIFECYCLE, "test", (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)),
            (LIFECYCLE, "test", (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)),
        ]
        conn_, dom_, event_id, args = seen[0]
        assert conn_ is conn and event_id == LIFECYCLE
        # Leaving `async with` deregistered: the next registration gets ID 1,
        # and the old one is gone.
        with pytest.raises(libvirt.libvirtError):
            conn.domainEventDeregisterAny(0)
        # A stream per domain, and aclose().
        stream = conn.events(LIFECYCLE, dom=dom)
        assert stream.callback_id == 1
        dom.destroy()
        event = await asyncio.wait_for(stream.__anext__(), TIMEOUT)
        assert event.args == (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
        await stream.aclose()
        del seen, event, dom_, conn_, dom, stream
        close(conn)

    run(main())


def test_qemu_events_from_the_monitor_thread():
    """QEMU events are queued by the library's monitor thread, which arms
    the flush timer from that (non-Python) thread; delivery is on the loop."""
    root = tempfile.mkdtemp(prefix="ve-py-aio-")
    try:

        async def main():
            libvirt.virEventRegisterAsyncIOImpl()
            fake = FakeQemu(root, "vm1")
            conn = libvirt.open("qemu:///embed?root=" + root)
            try:
                rtc = conn.events(libvirt.VIR_DOMAIN_EVENT_ID_RTC_CHANGE)
                graphics = conn.events(libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS)
                lifecycle = conn.events(LIFECYCLE)
                threads = []
                conn.domainEventRegister(lambda *a: threads.append(threading.get_ident()), None)
                server = {"auth": "none", "family": "ipv6", "service": "5901", "host": "::1", "websocket": False}
                client = {"family": "ipv6", "service": "40000", "host": "::1", "websocket": False}
                fake.send_events([
                    event_line("RTC_CHANGE", {"offset": 42}),
                    event_line("VNC_CONNECTED", {"server": server, "client": client}),
                    event_line("STOP"),
                ])
                fake.go.set()
                ev = await asyncio.wait_for(rtc.__anext__(), TIMEOUT)
                assert (ev.dom.name(), ev.args) == ("vm1", (42,))
                ev = await asyncio.wait_for(graphics.__anext__(), TIMEOUT)
                v6 = libvirt.VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6
                assert ev.args == (
                    libvirt.VIR_DOMAIN_EVENT_GRAPHICS_CONNECT,
                    {"family": v6, "node": "::1", "service": "5901"},
                    {"family": v6, "node": "::1", "service": "40000"},
                    "none",
                    [],
                )
                ev = await asyncio.wait_for(lifecycle.__anext__(), TIMEOUT)
                assert ev.args == (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
                assert threads == [threading.get_ident()]
                for stream in (rtc, graphics, lifecycle):
                    await stream.aclose()
                conn.domainEventDeregister(next(iter(conn.domainEventCallbacks)))
                del ev
            finally:
                fake.close()
            close(conn)

        run(main())
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_registrations_move_to_a_new_loop():
    """Each asyncio.run has its own loop; re-registering moves the library's
    timers to the new one."""
    conn = libvirt.open("test:///default")
    doms = [conn.lookupByName("test")]
    got = []

    async def first():
        libvirt.virEventRegisterAsyncIOImpl()
        return conn.domainEventRegisterAny(None, LIFECYCLE, lambda c, d, e, de, o: got.append(e), None)

    cid = run(first())

    async def second():
        impl = libvirt.virEventRegisterAsyncIOImpl()
        assert impl.loop is asyncio.get_running_loop()
        doms[0].suspend()
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.01)
        assert got == [libvirt.VIR_DOMAIN_EVENT_SUSPENDED]
        conn.domainEventDeregisterAny(cid)

    run(second())
    doms.clear()
    close(conn)


def test_exception_in_callback_is_printed(capfd):
    async def main():
        libvirt.virEventRegisterAsyncIOImpl()
        conn = libvirt.open("test:///default")
        dom = conn.lookupByName("test")
        got = asyncio.Queue()

        def bad(c, d, e, de, o):
            got.put_nowait(e)
            raise RuntimeError("boom under asyncio")

        cid = conn.domainEventRegisterAny(None, LIFECYCLE, bad, None)
        dom.suspend()
        assert await asyncio.wait_for(got.get(), TIMEOUT) == libvirt.VIR_DOMAIN_EVENT_SUSPENDED
        dom.resume()  # the loop goes on
        assert await asyncio.wait_for(got.get(), TIMEOUT) == libvirt.VIR_DOMAIN_EVENT_RESUMED
        conn.domainEventDeregisterAny(cid)
        del dom
        close(conn)

    run(main())
    err = capfd.readouterr().err
    assert err.count("RuntimeError: boom under asyncio") == 2


def test_handles_and_timers():
    async def main():
        impl = libvirt.virEventRegisterAsyncIOImpl()
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        fired = []

        def on_timer(timer, opaque):
            fired.append(opaque)
            if len(fired) == 3:  # periodic until removed
                libvirt.virEventRemoveTimeout(timer)
                done.set_result(None)

        libvirt.virEventAddTimeout(10, on_timer, "t")
        await asyncio.wait_for(done, TIMEOUT)
        assert fired == ["t", "t", "t"]

        r, w = os.pipe()
        try:
            got = []
            ready = loop.create_future()

            def on_read(watch, fd, events, opaque):
                got.append((opaque, events))
                os.read(fd, 1)
                if not ready.done():
                    ready.set_result(None)

            # Two watches on one fd: only the one asking for READABLE fires.
            idle = libvirt.virEventAddHandle(r, 0, on_read, "idle")
            watch = libvirt.virEventAddHandle(r, libvirt.VIR_EVENT_HANDLE_READABLE, on_read, "reader")
            os.write(w, b"x")
            await asyncio.wait_for(ready, TIMEOUT)
            assert got == [("reader", libvirt.VIR_EVENT_HANDLE_READABLE)]
            libvirt.virEventRemoveHandle(watch)
            libvirt.virEventRemoveHandle(idle)
        finally:
            os.close(r)
            os.close(w)
        await impl.drain()
        assert impl.is_idle()
        with pytest.raises(RuntimeError):
            libvirt.virEventRegisterDefaultImpl()

    run(main())


def test_async_for_networks_pools_node_devices_and_secrets():
    """conn.networkEvents(), storagePoolEvents(), nodeDeviceEvents() and
    secretEvents(): one registration each, typed event tuples, removed on
    close."""
    fc_host = (
        "<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>"
        "<wwnn>2000000012345678</wwnn><wwpn>1000000012345678</wwpn></capability></capability></device>"
    )

    async def main():
        conn = libvirt.open("test:///default")
        async with conn.networkEvents() as networks:
            net = conn.networkDefineXML("<network><name>pyn</name></network>")
            event = await asyncio.wait_for(networks.__anext__(), TIMEOUT)
            assert isinstance(event, libvirt.NetworkEvent)
            assert (event.conn, event.net.name(), event.eventID, event.args) == (
                conn, "pyn", libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                (libvirt.VIR_NETWORK_EVENT_DEFINED, 0),
            )
            assert networks.callback_id in conn.networkEventCallbackID
            net.undefine()
            event = await asyncio.wait_for(networks.__anext__(), TIMEOUT)
            assert event.args == (libvirt.VIR_NETWORK_EVENT_UNDEFINED, 0)
        assert conn.networkEventCallbackID == {}

        pool = conn.storagePoolLookupByName("default-pool")
        refresh = libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH
        async with conn.storagePoolEvents(refresh, pool) as pools:
            pool.refresh()
            event = await asyncio.wait_for(pools.__anext__(), TIMEOUT)
            assert isinstance(event, libvirt.StoragePoolEvent)
            assert (event.pool.name(), event.eventID, event.args) == ("default-pool", refresh, ())
        assert conn.storagePoolEventCallbackID == {}

        async with conn.nodeDeviceEvents() as devices:
            dev = conn.nodeDeviceCreateXML(fc_host)
            event = await asyncio.wait_for(devices.__anext__(), TIMEOUT)
            assert isinstance(event, libvirt.NodeDeviceEvent)
            assert (event.dev.name(), event.args) == ("scsi_host12", (libvirt.VIR_NODE_DEVICE_EVENT_CREATED, 0))
            dev.destroy()
            event = await asyncio.wait_for(devices.__anext__(), TIMEOUT)
            assert event.args == (libvirt.VIR_NODE_DEVICE_EVENT_DELETED, 0)
        assert conn.nodeDeviceEventCallbackID == {}

        # The test driver has no secrets: the registration is made and removed.
        secrets = conn.secretEvents(libvirt.VIR_SECRET_EVENT_ID_VALUE_CHANGED)
        assert conn.secretEventCallbackID == {secrets.callback_id: None}
        await secrets.aclose()
        assert conn.secretEventCallbackID == {}
        with pytest.raises(StopAsyncIteration):
            await secrets.__anext__()

        only_main_thread()
        del net, pool, dev, event
        close(conn)

    run(main())


def test_async_for_raw_qemu_monitor_events():
    """conn.qemuMonitorEvents(): raw events from the library's monitor
    thread, delivered on the asyncio loop as QemuMonitorEvent tuples."""
    root = tempfile.mkdtemp(prefix="ve-py-aio-")
    try:

        async def main():
            fake = FakeQemu(root, "vm1")
            conn = libvirt.open("qemu:///embed?root=" + root)
            try:
                # One C callback serves every registration (as in libvirt-python):
                # one without a name filter is a duplicate once another exists
                # for the same domain filter; named ones are always accepted.
                async with conn.qemuMonitorEvents() as every, conn.qemuMonitorEvents("RTC_CHANGE") as rtc:
                    fake.send_events([event_line("RTC_CHANGE", {"offset": 42}, seconds=5), event_line("STOP")])
                    fake.go.set()
                    event = await asyncio.wait_for(rtc.__anext__(), TIMEOUT)
                    assert isinstance(event, libvirt.QemuMonitorEvent)
                    assert (event.conn, event.dom.name(), event.event, event.seconds, event.micros) == (
                        conn, "vm1", "RTC_CHANGE", 5, 0
                    )
                    assert json.loads(event.details) == {"offset": 42}
                    names = [(await asyncio.wait_for(every.__anext__(), TIMEOUT)).event for _ in range(2)]
                    assert names == ["RTC_CHANGE", "STOP"]
                    assert len(conn.qemuMonitorEventCallbackID) == 2
                assert conn.qemuMonitorEventCallbackID == {}
                del event
            finally:
                fake.close()
            close(conn)

        run(main())
    finally:
        shutil.rmtree(root, ignore_errors=True)
