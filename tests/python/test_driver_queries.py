"""Asks test:///default what libvirt's test driver answers without events
(host, node devices, network and pool accessors) and runs the network flag
variants with their events; prints one line per answer, lists sorted (libvirt
lists hash-ordered) and generated UUIDs masked, so that real libvirt 9.0 and
ours can be compared (tests/real_python.rs)."""

import re
import socket

import libvirt


def show(label, call):
    try:
        value = call()
        if isinstance(value, tuple):
            value = tuple(sorted(v) if isinstance(v, list) else v for v in value)
        print(label, "->", re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "UUID", repr(value)))
    except libvirt.libvirtError as e:
        message = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "UUID", e.get_error_message())
        print(label, "-> error", e.get_error_code(), e.get_error_domain(), message)


def network_event(conn, net, event, detail, opaque):
    print("network event", net.name(), event, detail)


libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open("test:///default")
conn.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, network_event, None)


def drain():
    fired = []
    timer = libvirt.virEventAddTimeout(30, lambda t, o: fired.append(1), None)
    while not fired:
        libvirt.virEventRunDefaultImpl()
    libvirt.virEventRemoveTimeout(timer)


show("type", conn.getType)
show("version", conn.getVersion)
show("hostname is the host's", lambda: conn.getHostname().split(".")[0] == socket.gethostname().split(".")[0])
show("node info", conn.getInfo)
print(conn.getCapabilities(), end="")
dom = conn.lookupByName("test")
show("domain OS type", dom.OSType)
show("domain autostart", dom.autostart)

for cap in [None, "system", "scsi_host", "fc_host", "vports", "net", "bogus"]:
    show("devices %s" % cap, lambda: (conn.numOfDevices(cap, 0), conn.listDevices(cap, 0)))
show("devices with flags", lambda: conn.numOfDevices(None, 2))
for name in sorted(conn.listDevices(None, 0)):
    device = conn.nodeDeviceLookupByName(name)
    show("%s capabilities" % name, lambda: (device.numOfCaps(), device.listCaps()))

net = conn.networkLookupByName("default")
show("default bridge", net.bridgeName)
show("default autostart", net.autostart)
show("define n2 (VALIDATE)", lambda: conn.networkDefineXMLFlags(
    "<network><name>n2</name><bridge name='virbr9'/></network>", libvirt.VIR_NETWORK_DEFINE_VALIDATE).name())
drain()
show("define n3 (0x2)", lambda: conn.networkDefineXMLFlags("<network><name>n3</name></network>", 2))
show("n2 bridge", lambda: conn.networkLookupByName("n2").bridgeName())
show("create n4 (VALIDATE)", lambda: conn.networkCreateXMLFlags(
    "<network><name>n4</name></network>", libvirt.VIR_NETWORK_CREATE_VALIDATE).name())
drain()
show("create n4 again", lambda: conn.networkCreateXMLFlags("<network><name>n4</name></network>", 0))
show("create n5 (0x2)", lambda: conn.networkCreateXMLFlags("<network><name>n5</name></network>", 2))
show("n4 bridge", lambda: conn.networkLookupByName("n4").bridgeName())

pool = conn.storagePoolLookupByName("default-pool")
show("pool autostart", pool.autostart)
show("pool info", pool.info)
show("pool xml", lambda: pool.XMLDesc(0))
pool.destroy()
show("pool info inactive", pool.info)
# A pool's source: always formatted, after the sizes, whether given or not.
for name, source, target in (("p-none", "", ""), ("p-empty", "<source/>", ""), ("p-after", "", "<source></source>")):
    show("pool xml " + name, lambda: conn.storagePoolDefineXML(
        f"<pool type='dir'><name>{name}</name>{source}<target><path>/{name}</path></target>{target}</pool>",
        0).XMLDesc(0))

# Destroying a node device that is not an FC HBA: 0, the device stays.
show("destroy computer", conn.nodeDeviceLookupByName("computer").destroy)
show("computer after", lambda: conn.nodeDeviceLookupByName("computer").name())

with open("/proc/self/maps") as maps:
    loaded = sorted({line.split()[-1] for line in maps if "/libvirt.so" in line})
print("library:", " ".join(loaded))
