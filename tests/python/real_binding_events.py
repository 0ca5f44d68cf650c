"""Debian's real python3-libvirt, in the style of libvirt-python's
examples/event-test.py: registers the legacy callback, every domain event ID,
the network, storage-pool, node-device and secret events, a close callback
and keepalive, runs the event loop of the kind asked for, and lets a second
thread operate test:///default; prints every event it receives, in order.

Usage: real_binding_events.py native|poll|asyncio [qemu:///embed?root=DIR DISK WORKDIR]

With a qemu:///embed URI (our library only), the second thread launches the
project's demo guest under a real QEMU instead (DISK: the blkdebug source of
`event-test --write-guest`; WORKDIR: where its VNC socket goes), and the
script also registers libvirt_qemu raw monitor events and sends monitor
commands; it prints what it received once the guest's seed events are in.

With VIRT_EVENTS_EXPECT_LIBDIR set, first checks through /proc/self/maps
that libvirt.so.0, libvirt-qemu.so.0 and libvirt-lxc.so.0 were loaded from
that folder (run with LD_LIBRARY_PATH pointing there)."""

import os
import select
import sys
import threading

import libvirt
import libvirt_lxc  # noqa: F401 (loaded for the check below)
import libvirt_qemu  # noqa: F401

loop_kind = sys.argv[1]
URI = sys.argv[2] if len(sys.argv) > 2 else "test:///default"
lines = []
done = threading.Event()
# Each domain operation below produces one lifecycle event, seen twice
# (legacy and lifecycle registrations); the network and pool operations one
# event each.
EXPECTED = 2 * 4 + 3

DOMAIN_IDS = sorted((name for name in dir(libvirt)
                     if name.startswith("VIR_DOMAIN_EVENT_ID_") and name != "VIR_DOMAIN_EVENT_ID_LAST"),
                    key=lambda name: getattr(libvirt, name))


def check_loaded_libraries():
    expected = os.environ.get("VIRT_EVENTS_EXPECT_LIBDIR")
    if not expected:
        return
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/libvirt" in line and ".so" in line}
    for soname in ["libvirt.so", "libvirt-qemu.so", "libvirt-lxc.so"]:
        loaded = [path for path in paths if os.path.basename(path).startswith(soname)]
        folders = {os.path.realpath(os.path.dirname(path)) for path in loaded}
        if folders != {os.path.realpath(expected)}:
            sys.exit(f"{soname} loaded from {sorted(loaded)}, not from {expected}")
    print("libraries loaded from the expected folder", flush=True)


def record(text):
    lines.append(text)
    if len(lines) >= EXPECTED:
        done.set()


def legacy(conn, dom, event, detail, opaque):
    record(f"legacy lifecycle {dom.name()} {event} {detail}")


def generic(name):
    def callback(conn, dom, *rest):
        record(f"{name[len('VIR_DOMAIN_EVENT_ID_'):].lower()} {dom.name()} {list(rest[:-1])}")
    return callback


def objects(kind):
    def callback(conn, obj, *rest):
        record(f"{kind} {obj.name() if hasattr(obj, 'name') else obj.UUIDString()} {list(rest[:-1])}")
    return callback


def on_close(conn, reason, opaque):
    print(f"connection closed: reason {reason}", flush=True)


class PollLoop:
    """A pure-Python event loop handed to libvirt through
    virEventRegisterImpl: poll(2) over the registered descriptors, a pipe
    to wake it when the registrations change, and timers in milliseconds."""

    def __init__(self):
        self.handles = {}  # id -> [fd, events, callback, opaque]
        self.timers = {}  # id -> [interval, next due (s), callback, opaque]
        self.next_id = 1
        self.lock = threading.Lock()
        self.wake_read, self.wake_write = os.pipe()

    def wake(self):
        os.write(self.wake_write, b"x")

    def new_id(self):
        with self.lock:
            self.next_id += 1
            return self.next_id

    def add_handle(self, fd, events, callback, opaque):
        handle = self.new_id()
        self.handles[handle] = [fd, events, callback, opaque]
        self.wake()
        return handle

    def update_handle(self, handle, events):
        if handle in self.handles:
            self.handles[handle][1] = events
            self.wake()

    def remove_handle(self, handle):
        self.wake()
        return 0 if self.handles.pop(handle, None) else -1

    def add_timer(self, interval, callback, opaque):
        timer = self.new_id()
        self.timers[timer] = [interval, self.due(interval), callback, opaque]
        self.wake()
        return timer

    def update_timer(self, timer, interval):
        if timer in self.timers:
            self.timers[timer][0] = interval
            self.timers[timer][1] = self.due(interval)
            self.wake()

    def remove_timer(self, timer):
        self.wake()
        return 0 if self.timers.pop(timer, None) else -1

    @staticmethod
    def due(interval):
        import time
        return None if interval < 0 else time.monotonic() + interval / 1000

    def run_once(self):
        import time
        poller = select.poll()
        poller.register(self.wake_read, select.POLLIN)
        to_libvirt = {}
        for handle, (fd, events, _, _) in list(self.handles.items()):
            mask = (select.POLLIN if events & libvirt.VIR_EVENT_HANDLE_READABLE else 0) | \
                (select.POLLOUT if events & libvirt.VIR_EVENT_HANDLE_WRITABLE else 0)
            poller.register(fd, mask)
            to_libvirt.setdefault(fd, []).append(handle)
        dues = [due for _, due, _, _ in self.timers.values() if due is not None]
        timeout = None if not dues else max(0, (min(dues) - time.monotonic()) * 1000)
        for fd, revents in poller.poll(timeout):
            if fd == self.wake_read:
                os.read(self.wake_read, 64)
                continue
            for handle in to_libvirt.get(fd, []):
                entry = self.handles.get(handle)
                if entry:
                    happened = (libvirt.VIR_EVENT_HANDLE_READABLE if revents & select.POLLIN else 0) | \
                        (libvirt.VIR_EVENT_HANDLE_WRITABLE if revents & select.POLLOUT else 0) | \
                        (libvirt.VIR_EVENT_HANDLE_ERROR if revents & select.POLLERR else 0) | \
                        (libvirt.VIR_EVENT_HANDLE_HANGUP if revents & select.POLLHUP else 0)
                    entry[2](handle, fd, happened, entry[3])
        now = time.monotonic()
        for timer, entry in list(self.timers.items()):
            if entry[1] is not None and entry[1] <= now and timer in self.timers:
                entry[1] = self.due(entry[0])
                entry[2](timer, entry[3])

    def register(self):
        libvirt.virEventRegisterImpl(self.add_handle, self.update_handle, self.remove_handle,
                                     self.add_timer, self.update_timer, self.remove_timer)

    def start(self):
        def run():
            while True:
                self.run_once()
        threading.Thread(target=run, daemon=True).start()


def scenario():
    ro = libvirt.openReadOnly(URI)
    ro.registerCloseCallback(on_close, None)
    try:
        print(f"keepalive: {ro.setKeepAlive(5, 3)}", flush=True)
    except libvirt.libvirtError as error:
        print(f"keepalive: {error.get_error_code()} {error}", flush=True)
    ro.domainEventRegister(legacy, None)
    ids = [ro.domainEventRegisterAny(None, getattr(libvirt, name), generic(name), None) for name in DOMAIN_IDS]
    registrations = [
        ("network", "LIFECYCLE", ro.networkEventRegisterAny, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE),
        ("pool", "LIFECYCLE", ro.storagePoolEventRegisterAny, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE),
        ("pool", "REFRESH", ro.storagePoolEventRegisterAny, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH),
        ("dev", "LIFECYCLE", ro.nodeDeviceEventRegisterAny, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE),
        ("dev", "UPDATE", ro.nodeDeviceEventRegisterAny, libvirt.VIR_NODE_DEVICE_EVENT_ID_UPDATE),
        ("secret", "LIFECYCLE", ro.secretEventRegisterAny, libvirt.VIR_SECRET_EVENT_ID_LIFECYCLE),
        ("secret", "VALUE_CHANGED", ro.secretEventRegisterAny, libvirt.VIR_SECRET_EVENT_ID_VALUE_CHANGED),
    ]
    others = []
    for kind, name, register, event_id in registrations:
        try:
            others.append((kind, register(None, event_id, objects(kind), None)))
            print(f"{kind} {name}: registered", flush=True)
        except libvirt.libvirtError as error:
            print(f"{kind} {name}: refused: {error}", flush=True)
    print(f"registered {len(ids)} domain event IDs", flush=True)
    print_qemu_refusals(ro)

    def operate():
        rw = libvirt.open(URI)
        dom = rw.lookupByName("test")
        dom.suspend()
        dom.resume()
        dom.destroy()
        dom.create()
        net = rw.networkLookupByName("default")
        net.destroy()
        net.create()
        rw.storagePoolLookupByName("default-pool").refresh(0)
        rw.close()

    operator = threading.Thread(target=operate)
    operator.start()
    operator.join()
    if not done.wait(15):
        print("timed out", flush=True)
    for line in lines:
        print(line, flush=True)
    for callback_id in ids:
        ro.domainEventDeregisterAny(callback_id)
    ro.domainEventDeregister(legacy)
    for kind, callback_id in others:
        {"network": ro.networkEventDeregisterAny, "pool": ro.storagePoolEventDeregisterAny,
         "dev": ro.nodeDeviceEventDeregisterAny, "secret": ro.secretEventDeregisterAny}[kind](callback_id)
    ro.unregisterCloseCallback()
    ro.close()
    print("closed", flush=True)


# The demo guest, as tests/qemu_launch.rs launches it.
GUEST_XML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../data/guest/launched.xml")
# What it does by itself once launched (RTC change, failed disk read, the
# ib700 watchdog resetting it), what the script's VNC client causes, and the
# raw QMP events behind them.
SEED_EVENTS = ["lifecycle launched [2, 0]", "rtc_change launched [", "io_error launched [", "watchdog launched [2]",
               "reboot launched []", "graphics launched [0, ", "qemu-monitor launched RTC_CHANGE",
               "qemu-monitor launched WATCHDOG", "qemu-monitor launched RESET"]


def wait_until(predicate, seconds):
    import time
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def seen(prefix):
    return any(line.startswith(prefix) for line in list(lines))


def monitor_command(dom, cmd, flags=0):
    try:
        return libvirt_qemu.qemuMonitorCommand(dom, cmd, flags)
    except libvirt.libvirtError as error:
        return f"refused: {error.get_error_code()} {error.get_error_domain()} {error}"


def print_qemu_refusals(ro):
    """libvirt_qemu's calls on a driver without a QEMU monitor: each is
    refused after libvirt's checks (read-only first where it applies)."""
    rw = libvirt.open(URI)
    query = '{"execute":"query-status"}'
    calls = [
        ("monitor command", lambda c, d: libvirt_qemu.qemuMonitorCommand(d, query, 0)),
        ("monitor command with files", lambda c, d: libvirt_qemu.qemuMonitorCommandWithFiles(d, query, [], 0)),
        ("monitor command with a file", lambda c, d: libvirt_qemu.qemuMonitorCommandWithFiles(d, query, [0], 0)),
        ("agent command", lambda c, d: libvirt_qemu.qemuAgentCommand(d, '{"execute":"guest-ping"}', -1, 0)),
        ("attach pid 0", lambda c, d: libvirt_qemu.qemuAttach(c, 0, 0)),
        ("attach", lambda c, d: libvirt_qemu.qemuAttach(c, 4242, 0)),
    ]
    for which, conn in [("read-only", ro), ("read-write", rw)]:
        dom = conn.lookupByName("test")
        for name, call in calls:
            try:
                print(f"{which} {name}: {call(conn, dom)}", flush=True)
            except libvirt.libvirtError as error:
                print(f"{which} {name}: {error.get_error_code()} {error.get_error_domain()} {error}", flush=True)
    rw.close()


def embed_scenario(disk, workdir):
    import socket
    ro = libvirt.openReadOnly(URI)
    rw = libvirt.open(URI)
    ro.domainEventRegister(legacy, None)
    ids = [ro.domainEventRegisterAny(None, getattr(libvirt, name), generic(name), None) for name in DOMAIN_IDS]
    print(f"registered {len(ids)} domain event IDs", flush=True)
    global EXPECTED
    EXPECTED = float("inf")  # this scenario waits for what it needs itself

    def on_monitor_event(conn, dom, event, seconds, microseconds, details, opaque):
        record(f"qemu-monitor {dom.name()} {event} {details}")

    raw = libvirt_qemu.qemuMonitorEventRegister(rw, None, None, on_monitor_event, None, 0)
    vnc = os.path.join(workdir, "vnc.sock")
    result = {}

    def operate():
        with open(GUEST_XML) as template:
            dom = rw.defineXML(template.read().replace("{disk}", disk).replace("{vnc}", vnc))
        dom.create()
        viewer = socket.socket(socket.AF_UNIX)
        viewer.connect(vnc)
        viewer.recv(12)
        viewer.close()
        result["status"] = monitor_command(dom, '{"execute":"query-status"}')
        result["name"] = monitor_command(dom, '{"execute":"query-name"}')
        result["hmp"] = monitor_command(dom, "info name", libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)
        result["read-only"] = monitor_command(ro.lookupByName("launched"), '{"execute":"query-status"}')
        try:
            result["with files"] = libvirt_qemu.qemuMonitorCommandWithFiles(dom, '{"execute":"query-name"}', [], 0)
        except libvirt.libvirtError as error:
            result["with files"] = f"refused: {error}"
        try:
            result["agent"] = libvirt_qemu.qemuAgentCommand(dom, '{"execute":"guest-ping"}', -1, 0)
        except libvirt.libvirtError as error:
            result["agent"] = f"refused: {error.get_error_code()} {error}"

    operator = threading.Thread(target=operate)
    operator.start()
    operator.join()
    if not wait_until(lambda: all(seen(prefix) for prefix in SEED_EVENTS), 30):
        print("timed out", flush=True)
    dom = rw.lookupByName("launched")
    dom.destroy()
    dom.undefine()
    wait_until(lambda: seen("lifecycle launched [1, 0]"), 10)
    for name, reply in result.items():
        print(f"monitor command {name}: {reply}", flush=True)
    for line in lines:
        print(line, flush=True)
    libvirt_qemu.qemuMonitorEventDeregister(rw, raw)
    for callback_id in ids:
        ro.domainEventDeregisterAny(callback_id)
    ro.domainEventDeregister(legacy)
    rw.close()
    ro.close()
    print("closed", flush=True)




def run_scenario():
    if URI.startswith("qemu:///embed"):
        embed_scenario(sys.argv[3], sys.argv[4])
    else:
        scenario()


check_loaded_libraries()
if loop_kind == "native":
    libvirt.virEventRegisterDefaultImpl()

    def run_loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run_loop, daemon=True).start()
    run_scenario()
elif loop_kind == "poll":
    loop = PollLoop()
    loop.register()
    loop.start()
    run_scenario()
else:
    import asyncio

    import libvirtaio

    async def tick():
        # Seen with real libvirt and ours alike: the loop runs the timer
        # libvirt arms from the operating thread only once it wakes up for
        # something else, so it is woken regularly.
        while True:
            await asyncio.sleep(0.05)

    async def main():
        libvirtaio.virEventRegisterAsyncIOImpl()
        ticker = asyncio.ensure_future(tick())
        await asyncio.get_running_loop().run_in_executor(None, run_scenario)
        ticker.cancel()

    asyncio.run(main())
