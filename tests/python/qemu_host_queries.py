"""What a QEMU connection answers about its host: run by tests/real_python.rs
on our library and on real libvirt 9.0's qemu:///embed driver, which must
print the same lines (the CPU frequency, which a host may change between
two reads, on a line of its own)."""

import sys

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
print("mhz", mhz)
conn.close()
