"""Defines a guest on the connection URI (argv[1], a QEMU driver running type
'qemu' guests), then starts, suspends and destroys it, and prints what the
domain queries answer in each state, so that real libvirt 9.0 and ours can be
compared (tests/real_python.rs)."""

import sys

import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
dom = conn.defineXML(
    "<domain type='qemu'><name>q</name><memory unit='MiB'>32</memory><vcpu>2</vcpu>"
    "<os><type arch='x86_64'>hvm</type></os><features><acpi/></features></domain>"
)
QUERIES = {
    "info": lambda: dom.info()[:4],
    "state": dom.state,
    "isActive": dom.isActive,
    "isPersistent": dom.isPersistent,
    "OSType": dom.OSType,
    "autostart": dom.autostart,
    "hasManagedSaveImage": lambda: dom.hasManagedSaveImage(0),
    "hasManagedSaveImage(1)": lambda: dom.hasManagedSaveImage(1),
    "numOfDomains": conn.numOfDomains,
    "listDefinedDomains": conn.listDefinedDomains,
}


def show(when):
    for label, query in QUERIES.items():
        try:
            answer = query()
        except libvirt.libvirtError as e:
            answer = f"error {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}"
        print(when, label, "->", answer)


show("defined")
dom.create()
show("running")
dom.suspend()
show("paused")
dom.resume()
show("resumed")
dom.destroy()
show("destroyed")
dom.create()
show("started again")
dom.destroy()
dom.undefine()

with open("/proc/self/maps") as maps:
    print("library:", " ".join(sorted({line.split()[-1] for line in maps if "/libvirt.so" in line})))
