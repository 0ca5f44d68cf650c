"""Watches every domain event of URI with the native loop and prints each as
it arrives, in a form independent of the binding, until the domain stops.

Usage: python_watch.py URI
Runs on the real python3-libvirt (`import libvirt`) or, with
VIRT_EVENTS_BINDING=1, on virt-events' own binding in-process."""

import os
import sys
import threading

if os.environ.get("VIRT_EVENTS_BINDING") == "1":
    import virt_events as libvirt
else:
    import libvirt

stopped = threading.Event()
NAMES = sorted((n for n in dir(libvirt) if n.startswith("VIR_DOMAIN_EVENT_ID_") and n != "VIR_DOMAIN_EVENT_ID_LAST"),
               key=lambda n: getattr(libvirt, n))


def printer(name):
    def callback(conn, dom, *rest):
        args = list(rest[:-1])
        print(f"{name[len('VIR_DOMAIN_EVENT_ID_'):].lower()} {dom.name()} {args}", flush=True)
        if name == "VIR_DOMAIN_EVENT_ID_LIFECYCLE" and args[0] == libvirt.VIR_DOMAIN_EVENT_STOPPED:
            stopped.set()
    return callback


libvirt.virEventRegisterDefaultImpl()


def run_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=run_loop, daemon=True).start()
conn = libvirt.openReadOnly(sys.argv[1])
ids = [conn.domainEventRegisterAny(None, getattr(libvirt, name), printer(name), None) for name in NAMES]
print("ready", flush=True)
if not stopped.wait(60):
    print("timed out", flush=True)
for callback_id in ids:
    conn.domainEventDeregisterAny(callback_id)
conn.close()
print("closed", flush=True)
