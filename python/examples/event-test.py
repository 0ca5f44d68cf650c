#!/usr/bin/env python3
"""event-test.py: watch libvirt domain events and print one line per event.

    event-test.py [--loop native|asyncio] [--timeout SECS] [URI]

Registers the legacy lifecycle callback (domainEventRegister) and a callback
for every domain event ID the library has (domainEventRegisterAny), runs the
event loop until SIGINT or SIGTERM (or --timeout), then deregisters
everything and closes the connection. The Python twin of examples-c/event-test.c.

--loop native: the library's built-in loop (virEventRegisterDefaultImpl),
    run by this thread with virEventRunDefaultImpl;
--loop asyncio: asyncio as the library's loop (virEventRegisterAsyncIOImpl),
    run by asyncio.run: no thread spins a loop.

URI defaults to the library's default ($LIBVIRT_DEFAULT_URI, else
qemu:///session); e.g. test:///default or qemu:///embed?root=DIR.
"""

import argparse
import asyncio
import os
import signal
import socket
import sys

try:
    import virt_events as libvirt
except ImportError:  # run from a source checkout: python/examples/../
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import virt_events as libvirt

EVENTS = ("Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped", "Shutdown", "PMSuspended", "Crashed")
DETAILS = (
    ("Added", "Updated", "Renamed", "Snapshot"),
    ("Removed", "Renamed"),
    ("Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"),
    ("Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot", "API error", "Post-copy",
     "Post-copy Error"),
    ("Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"),
    ("Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"),
    ("Finished", "Finished after guest request", "Finished after host request"),
    ("Memory", "Disk"),
    ("Panicked", "Crashloaded"),
)
WATCHDOG_ACTIONS = ("none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi")
IO_ERROR_ACTIONS = ("none", "pause", "report")
GRAPHICS_PHASES = ("connected", "initialized", "disconnected")
FAMILIES = ("ipv4", "ipv6", "unix")


def pick(table, index):
    return table[index] if 0 <= index < len(table) else "unknown"


def say(line):
    print(line, flush=True)


def domain(dom):
    return f"Domain {dom.name()}({dom.ID()})"


def on_lifecycle(conn, dom, event, detail, opaque):
    details = DETAILS[event] if 0 <= event < len(DETAILS) else ()
    say(f"{opaque} EVENT: {domain(dom)} {pick(EVENTS, event)} {pick(details, detail)}")


def on_reboot(conn, dom, opaque):
    say(f"{opaque} EVENT: {domain(dom)} rebooted")


def on_rtc_change(conn, dom, utcoffset, opaque):
    say(f"{opaque} EVENT: {domain(dom)} rtc change {utcoffset}")


def on_watchdog(conn, dom, action, opaque):
    say(f"{opaque} EVENT: {domain(dom)} watchdog action={action} ({pick(WATCHDOG_ACTIONS, action)})")


def on_io_error(conn, dom, src_path, dev_alias, action, opaque):
    say(f"{opaque} EVENT: {domain(dom)} io error path={src_path} alias={dev_alias} "
        f"action={action} ({pick(IO_ERROR_ACTIONS, action)})")


def address(a):
    return f"family={pick(FAMILIES, a['family'])} node={a['node']} service={a['service'] or '-'}"


def on_graphics(conn, dom, phase, local, remote, auth_scheme, subject, opaque):
    identities = "".join(f" identity: {t}={n}" for t, n in subject)
    say(f"{opaque} EVENT: {domain(dom)} graphics {pick(GRAPHICS_PHASES, phase)} local: {address(local)} "
        f"remote: {address(remote)} auth: {auth_scheme}{identities}")


def on_other(conn, dom, *rest):
    *args, opaque = rest
    say(f"{opaque} EVENT: {domain(dom)} {opaque.replace('-', ' ')} {' '.join(repr(a) for a in args)}".rstrip())


CALLBACKS = {
    libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE: on_lifecycle,
    libvirt.VIR_DOMAIN_EVENT_ID_REBOOT: on_reboot,
    libvirt.VIR_DOMAIN_EVENT_ID_RTC_CHANGE: on_rtc_change,
    libvirt.VIR_DOMAIN_EVENT_ID_WATCHDOG: on_watchdog,
    libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR: on_io_error,
    libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS: on_graphics,
}


def register(conn):
    """The legacy callback, then one per event ID; returns the callback IDs."""
    conn.domainEventRegister(on_lifecycle, "legacy-lifecycle")
    ids = []
    for event_id, spec in sorted(libvirt.EVENTS.items()):
        label = spec.name.lower().replace("_", "-")
        try:
            ids.append(conn.domainEventRegisterAny(None, event_id, CALLBACKS.get(event_id, on_other), label))
        except libvirt.libvirtError as e:
            if not e.get_error_message().startswith("eventID must be less than"):
                raise
            break  # the library has no later event IDs
    return ids


def deregister(conn, ids):
    say("Deregistering event callbacks")
    conn.domainEventDeregister(on_lifecycle)
    for callback_id in ids:
        conn.domainEventDeregisterAny(callback_id)


def run_native(conn, args):
    libvirt.virEventRegisterDefaultImpl()
    ids = register(conn)
    stop = []

    def request_stop(*_):
        stop.append(True)

    # A signal interrupts the loop's poll only on the thread that takes it;
    # Python's wakeup fd, watched by the loop, wakes it whichever thread did.
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)

    def drain(watch, fd, events, opaque):
        try:
            wake_r.recv(512)
        except BlockingIOError:
            pass

    watch = libvirt.virEventAddHandle(wake_r.fileno(), libvirt.VIR_EVENT_HANDLE_READABLE, drain)
    timer = libvirt.virEventAddTimeout(int(args.timeout * 1000), request_stop) if args.timeout else None
    say(f"Watching {args.uri or 'the default URI'} with the native loop; Ctrl-C stops.")
    try:
        while not stop:
            libvirt.virEventRunDefaultImpl()
    finally:
        signal.set_wakeup_fd(-1)
        libvirt.virEventRemoveHandle(watch)
        if timer is not None:
            libvirt.virEventRemoveTimeout(timer)
        deregister(conn, ids)
        wake_r.close()
        wake_w.close()


async def run_asyncio(conn, args):
    libvirt.virEventRegisterAsyncIOImpl()
    ids = register(conn)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    say(f"Watching {args.uri or 'the default URI'} with the asyncio loop; Ctrl-C stops.")
    try:
        await asyncio.wait_for(stop.wait(), args.timeout)
    except asyncio.TimeoutError:
        pass
    finally:
        deregister(conn, ids)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print libvirt domain events as they happen.")
    parser.add_argument("uri", nargs="?", default=None, help="connection URI (default: the library's default)")
    parser.add_argument("-l", "--loop", choices=("native", "asyncio"), default="native",
                        help="event loop: the library's own (native) or asyncio (default: native)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECS", help="stop after SECS seconds")
    args = parser.parse_args(argv)

    try:
        conn = libvirt.openReadOnly(args.uri)
    except libvirt.libvirtError as e:
        print(f"error opening {args.uri or 'the default URI'}: {e}", file=sys.stderr)
        return 1
    try:
        if args.loop == "native":
            run_native(conn, args)
        else:
            asyncio.run(run_asyncio(conn, args))
    finally:
        remaining = conn.close()
        say(f"Closing connection: {'done' if remaining == 0 else 'still referenced'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
