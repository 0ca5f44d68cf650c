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
for virt_type in [None, "test", "kvm"]:
    show("max vCPUs %s" % virt_type, lambda: conn.getMaxVcpus(virt_type))
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

# What libvirt's parser requires of a domain definition, in its order, and
# how it reads memory sizes (the maximum memory each accepted one reports).
OS = "<os><type>hvm</type></os>"
MEMORY = "<memory>1024</memory>"
definitions = [
    "<domain></domain>",
    "<domain type='test'>" + OS + MEMORY + "</domain>",
    "<domain><name>d</name><uuid>zz</uuid></domain>",
    "<domain><name>d</name>" + OS + MEMORY + "</domain>",
    "<domain type=''><name>d</name>" + OS + MEMORY + "</domain>",
    "<domain type='Test'><name>d</name>" + OS + MEMORY + "</domain>",
    "<domain type='test'><name>d</name><memory>x</memory></domain>",
    "<domain type='test'><name>d</name><os><type></type></os>" + MEMORY + "</domain>",
    "<domain type='test'><name>d</name><os><type> hvm </type></os>" + MEMORY + "</domain>",
    "<domain type='test'><name>d</name><os><type>HVM</type></os><memory>x</memory></domain>",
    "<domain type='test'><name>d</name><os><type>exe</type></os>" + MEMORY + "</domain>",
    "<domain type='test'><name>d</name>" + OS + "</domain>",
    "<domain type='test'><name>d</name>" + OS + "<memory>0</memory></domain>",
    "<domain type='test'><name>d</name>" + OS + "<memory></memory></domain>",
    "<domain type='test'><name>d</name>" + OS + MEMORY + "<currentMemory>x</currentMemory></domain>",
    "<domain type='test'><name>d</name>" + OS + MEMORY + "<maxMemory>-1</maxMemory></domain>",
]
for virt in ("kvm", "xen", "lxc", "hvf", "vz", "none"):
    definitions.append("<domain type='%s'><name>d</name>%s%s</domain>" % (virt, OS, MEMORY))
for os_type in ("xen", "linux", "uml", "xenpvh"):
    definitions.append("<domain type='test'><name>d</name><os><type>%s</type></os>%s</domain>" % (os_type, MEMORY))
for memory in ("<memory unit='b'>1</memory>", "<memory unit='KB'>1000</memory>", "<memory unit='bytes'>2049</memory>",
               "<memory unit='kIb'>1</memory>", "<memory unit='m'>5</memory>", "<memory unit='T'>1</memory>",
               "<memory unit='E'>100</memory>", "<memory unit='ib'>1</memory>", "<memory unit='zz'>1</memory>",
               "<memory>1024 </memory>", "<memory>   </memory>", "<memory unit=' KiB'>5</memory>", "<memory>0x10</memory>", "<memory>+5</memory>", "<memory>\n 7</memory>",
               "<memory>18446744073709551615</memory>", "<memory>18446744073709551616</memory>",
               "<memory unit='GiB'>8589934591</memory>", "<memory unit='GiB'>8589934592</memory>",
               "<memory unit='b'>9223372036854774784</memory>", "<memory unit='b'>9223372036854774785</memory>"):
    definitions.append("<domain type='test'><name>d</name>%s%s</domain>" % (OS, memory))


def define_and_undefine(xml):
    dom = conn.defineXML(xml)
    try:
        return dom.maxMemory()
    finally:
        dom.undefine()


for xml in definitions:
    show("define " + xml.replace("\n", "\\n"), lambda: define_and_undefine(xml))
show("create without an OS type", lambda: conn.createXML("<domain type='test'><name>d</name>" + MEMORY + "</domain>"))
drain()

# The XML flags: the inactive XML has no ID; UPDATE_CPU and unknown flags are refused.
running = conn.lookupByName("test")
for flags in (0, libvirt.VIR_DOMAIN_XML_INACTIVE, libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_INACTIVE,
              libvirt.VIR_DOMAIN_XML_MIGRATABLE, libvirt.VIR_DOMAIN_XML_UPDATE_CPU, 16):
    show(f"XMLDesc({flags}) first line", lambda: running.XMLDesc(flags).splitlines()[0])

with open("/proc/self/maps") as maps:
    loaded = sorted({line.split()[-1] for line in maps if "/libvirt.so" in line})
print("library:", " ".join(loaded))
