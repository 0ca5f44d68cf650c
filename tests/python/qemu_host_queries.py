"""What a QEMU connection answers about its host: run by tests/real_python.rs
on our library and on real libvirt 9.0's qemu:///embed driver, which must
print the same lines (the CPU frequency, which a host may change between
two reads, on a line of its own).

The capabilities XML is printed one element a line (path, attributes, text),
all but what needs libvirt's CPU map or differs by design: the host UUID
(random per process on a host without SMBIOS) is checked for its form, the
host CPU's model and features are left out, and of the guests only the
x86_64 one, the emulator our driver launches (real libvirt lists every
qemu-system-* it finds)."""

import re
import sys
import xml.etree.ElementTree as ET

import libvirt

# libvirt's embedded drivers need an event loop, as virsh registers.
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
print("type", conn.getType())
print("version", conn.getVersion())
print("library version", conn.getLibVersion())
print("hostname", conn.getHostname())
model, memory_mib, cpus, mhz, nodes, sockets, cores, threads = conn.getInfo()
print("node", model, memory_mib, cpus, nodes, sockets, cores, threads)

caps = ET.fromstring(conn.getCapabilities())
uuid = caps.findtext("host/uuid")
print("host uuid", bool(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", uuid or "")))
SKIPPED = {"/capabilities/host/uuid", "/capabilities/host/cpu/model", "/capabilities/host/cpu/feature"}


def show(element, path):
    path = path + "/" + element.tag
    if path in SKIPPED:
        return
    if element.tag == "guest" and element.find("arch[@name='x86_64']") is None:
        return
    attributes = " ".join("%s=%s" % item for item in element.attrib.items())
    print("caps", path, attributes, (element.text or "").strip())
    for child in element:
        show(child, path)


show(caps, "")
print("mhz", mhz)
conn.close()
