"""Smoke test of the installed wheel, run by python/tools/wheel_check.sh
with the virtual environment's python, from a folder outside the checkout:

    python wheel_smoke.py native     one event through the library's loop
    python wheel_smoke.py asyncio    one event through asyncio
    python wheel_smoke.py missing    the wheel's libraries removed: the error

(one case per process: the process's first event-loop registration wins).
Each case asserts that the library loaded is the wheel's, inside the
environment, whatever else the machine has (Debian's libvirt0, the
checkout's build/).
"""

import asyncio
import os
import signal
import sys

import virt_events as libvirt

PACKAGE = os.path.dirname(os.path.abspath(libvirt.__file__))
LIFECYCLE = libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
SUSPENDED = ("test", libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)


def mapped_libvirts():
    """The libvirt*.so files this process has mapped."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = {line.split()[-1] for line in maps if len(line.split()) == 6}
    return sorted(p for p in paths if os.path.basename(p).startswith("libvirt"))


def check_library_is_the_wheels():
    assert os.path.realpath(PACKAGE).startswith(os.path.realpath(sys.prefix) + os.sep), (PACKAGE, sys.prefix)
    path = libvirt.library_path()
    assert path == os.path.join(PACKAGE, "libvirt.so.0"), path
    qemu_path = libvirt.qemu.qemu_lib.load()
    assert qemu_path == os.path.join(PACKAGE, "libvirt-qemu.so.0"), qemu_path
    assert mapped_libvirts() == sorted([path, qemu_path]), mapped_libvirts()
    print("libraries:", path, qemu_path)


def native():
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open("test:///default")
    check_library_is_the_wheels()
    got = []

    def on_lifecycle(conn, dom, event, detail, opaque):
        got.append((dom.name(), event, detail))

    cid = conn.domainEventRegisterAny(None, LIFECYCLE, on_lifecycle, None)
    conn.lookupByName("test").suspend()
    while not got:
        libvirt.virEventRunDefaultImpl()
    assert got == [SUSPENDED], got
    conn.domainEventDeregisterAny(cid)
    print("native loop:", *got[0])


def asyncio_loop():
    async def main():
        conn = libvirt.open("test:///default")
        check_library_is_the_wheels()
        async with conn.events(LIFECYCLE) as events:
            conn.lookupByName("test").suspend()
            event = await asyncio.wait_for(events.__anext__(), 10)
        got = (event.dom.name(), *event.args)
        assert got == SUSPENDED, got
        print("asyncio:", *got)

    asyncio.run(main())


def missing():
    try:
        libvirt.open("test:///default")
    except libvirt.LibraryNotFound as e:
        message = str(e)
    else:
        raise AssertionError(f"loaded {libvirt.library_path()} although the wheel's library is gone")
    for place in (
        "1. $VIRT_EVENTS_LIBRARY: not set",
        f"2. the package's own copy: {PACKAGE}/libvirt.so.0: no such file",
        "3. a source checkout's build/: not inside a virt-events checkout",
    ):
        assert place in message, (place, message)
    assert mapped_libvirts() == [], mapped_libvirts()  # no silent fallback
    print("no library of ours: LibraryNotFound naming every place tried")


if __name__ == "__main__":
    signal.alarm(30)  # a hang ends the run
    {"native": native, "asyncio": asyncio_loop, "missing": missing}[sys.argv[1]]()
