"""Defines and starts guests with VNC displays on the connection URI
(argv[1], a QEMU driver running type 'qemu' guests) and prints how each
display is shown: defined, running and with VIR_DOMAIN_XML_INACTIVE, so that
real libvirt 9.0 and ours can be compared (tests/real_python.rs). Ports
are written as PORT once checked: the running XML's is where QEMU's VNC
server answers."""

import socket
import sys

import libvirt

URI = sys.argv[1]

libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(URI)


def free_port():
    """A free TCP port on 127.0.0.1 at or above 5900 (as VNC ports are)."""
    for port in range(5950, 6100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit("no free port")


def answers_rfb(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as vnc:
        return vnc.recv(12).startswith(b"RFB ")


def shown(dom, flags, port):
    lines = [line.strip() for line in dom.XMLDesc(flags).splitlines()]
    kept = [lines[0]] + [line for line in lines if "graphics" in line or "<listen" in line]
    return " ".join(kept).replace(f"'{port}'", "'PORT'") if port else " ".join(kept)


fixed = free_port()
DISPLAYS = {
    "autoport, no listen": "<graphics type='vnc'/>",
    "autoport, listen element": "<graphics type='vnc' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>",
    "autoport, listen attribute": "<graphics type='vnc' port='-1' listen='127.0.0.1'/>",
    "fixed port": f"<graphics type='vnc' port='{fixed}' listen='127.0.0.1'/>",
}
for label, graphics in DISPLAYS.items():
    text = (
        "<domain type='qemu'><name>vnc</name><memory unit='MiB'>32</memory>"
        "<os><type arch='x86_64'>hvm</type></os><features><acpi/></features>"
        f"<devices>{graphics}</devices></domain>"
    )
    dom = conn.defineXML(text)
    print(label, "defined:", shown(dom, 0, fixed))
    dom.create()
    live = dom.XMLDesc(0)
    port = int(live.split("<graphics type='vnc' port='")[1].split("'")[0])
    print(label, "port answers:", port >= 5900 and answers_rfb(port), port == fixed)
    print(label, "running:", shown(dom, 0, port))
    print(label, "inactive:", shown(dom, libvirt.VIR_DOMAIN_XML_INACTIVE, fixed))
    for flags in (libvirt.VIR_DOMAIN_XML_UPDATE_CPU, 16):
        try:
            print(label, f"XMLDesc({flags}):", dom.XMLDesc(flags).splitlines()[0])
        except libvirt.libvirtError as e:
            print(label, f"XMLDesc({flags}): error", e.get_error_code(), e.get_error_domain(), e.get_error_message())
    dom.destroy()
    print(label, "stopped:", shown(dom, 0, fixed))
    dom.undefine()

with open("/proc/self/maps") as maps:
    print("library:", " ".join(sorted({line.split()[-1] for line in maps if "/libvirt.so" in line})))
