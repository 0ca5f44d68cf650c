"""Defines a guest on the connection URI (argv[1], a QEMU driver running type
'qemu' guests), then starts, suspends and destroys it, and prints what the
domain queries answer in each state, then starts a transient guest, so that
real libvirt 9.0 and ours can be compared (tests/real_python.rs). The
connection's vCPU limits come first."""

import sys

import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
XML = (
    "<domain type='qemu'><name>q</name><memory unit='MiB'>32</memory><vcpu current='1'>2</vcpu>"
    "<os><type arch='x86_64'>hvm</type></os><features><acpi/></features></domain>"
)
dom = conn.defineXML(XML)
# AFFECT_LIVE 1, AFFECT_CONFIG 2, VCPU_MAXIMUM 4, VCPU_GUEST 8, and 16, unknown.
VCPU_FLAGS = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 16]
# Each looks `dom` up when asked: the transient guest is another domain.
QUERIES = {
    "info": lambda: dom.info()[:4],
    "state": lambda: dom.state(),
    "isActive": lambda: dom.isActive(),
    "isPersistent": lambda: dom.isPersistent(),
    "OSType": lambda: dom.OSType(),
    "autostart": lambda: dom.autostart(),
    "hasManagedSaveImage": lambda: dom.hasManagedSaveImage(0),
    "hasManagedSaveImage(1)": lambda: dom.hasManagedSaveImage(1),
    "numOfDomains": conn.numOfDomains,
    "listDefinedDomains": conn.listDefinedDomains,
    "maxVcpus": lambda: dom.maxVcpus(),
    "isUpdated": lambda: dom.isUpdated(),
    **{f"vcpusFlags({flags})": lambda flags=flags: dom.vcpusFlags(flags) for flags in VCPU_FLAGS},
}


def show(when, queries=QUERIES):
    for label, query in queries.items():
        try:
            answer = query()
        except libvirt.libvirtError as e:
            answer = f"error {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}"
        print(when, label, "->", answer)


show("connection", {f"getMaxVcpus({t!r})": lambda t=t: conn.getMaxVcpus(t) for t in [None, "qemu", "KVM", "xen"]})
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
dom = conn.createXML(XML.replace("<name>q</name>", "<name>t</name>"))
show("transient")
dom.destroy()

with open("/proc/self/maps") as maps:
    print("library:", " ".join(sorted({line.split()[-1] for line in maps if "/libvirt.so" in line})))
