"""What libvirt-python's examples/event-test.py registers, then operations
on the test domain through a second, read-write connection; prints every
event it receives, in order, in a form independent of the binding.

Usage: python_events.py URI native|asyncio
Runs on the real python3-libvirt (`import libvirt`) or, with
VIRT_EVENTS_BINDING=1, on virt-events' own binding in-process."""

import os
import sys
import threading
import time

if os.environ.get("VIRT_EVENTS_BINDING") == "1":
    import virt_events as libvirt
else:
    import libvirt

uri, loop_kind = sys.argv[1], sys.argv[2]
lines = []
done = threading.Event()
# Each domain operation below produces one lifecycle event, seen twice
# (legacy and lifecycle registrations); the network and pool operations one
# event each.
EXPECTED = 2 * 4 + 3

DOMAIN_IDS = [name for name in dir(libvirt) if name.startswith("VIR_DOMAIN_EVENT_ID_") and name != "VIR_DOMAIN_EVENT_ID_LAST"]


def record(text):
    lines.append(text)
    if len(lines) >= EXPECTED:
        done.set()


def legacy(conn, dom, event, detail, opaque):
    record(f"legacy lifecycle {dom.name()} {event} {detail}")


def generic(name):
    def callback(conn, dom, *rest):
        args = [a for a in rest[:-1]]
        record(f"{name[len('VIR_DOMAIN_EVENT_ID_'):].lower()} {dom.name()} {args}")
    return callback


def objects(kind):
    def callback(conn, obj, *rest):
        record(f"{kind} {obj.name() if hasattr(obj, 'name') else obj.UUIDString()} {list(rest[:-1])}")
    return callback


def scenario():
    ro = libvirt.openReadOnly(uri)
    ro.domainEventRegister(legacy, None)
    ids = [ro.domainEventRegisterAny(None, getattr(libvirt, name), generic(name), None)
           for name in sorted(DOMAIN_IDS, key=lambda n: getattr(libvirt, n))]
    others = [
        ("network", ro.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, objects("network"), None)),
        ("pool", ro.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, objects("pool"), None)),
        ("pool", ro.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, objects("pool"), None)),
        ("dev", ro.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, objects("dev"), None)),
        ("dev", ro.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_UPDATE, objects("dev"), None)),
        ("secret", ro.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_LIFECYCLE, objects("secret"), None)),
        ("secret", ro.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_VALUE_CHANGED, objects("secret"), None)),
    ]
    print(f"registered {len(ids)} domain event IDs and {len(others)} object events", flush=True)
    rw = libvirt.open(uri)
    dom = rw.lookupByName("test")
    dom.suspend()
    dom.resume()
    dom.destroy()
    dom.create()
    net = rw.networkLookupByName("default")
    net.destroy()
    net.create()
    rw.storagePoolLookupByName("default-pool").refresh(0)
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
    rw.close()
    ro.close()
    print("closed", flush=True)


if loop_kind == "native":
    libvirt.virEventRegisterDefaultImpl()

    def run_loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run_loop, daemon=True).start()
    scenario()
else:
    import asyncio
    if os.environ.get("VIRT_EVENTS_BINDING") == "1":
        register = libvirt.virEventRegisterAsyncIOImpl
    else:
        import libvirtaio
        register = libvirtaio.virEventRegisterAsyncIOImpl

    async def main():
        register()
        await asyncio.get_running_loop().run_in_executor(None, scenario)

    asyncio.run(main())
