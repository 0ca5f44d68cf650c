"""Networks, storage pools and node devices over the wire: lookups, lists,
definitions, lifecycle calls, queries and XML through a read-write
connection, refusals through a read-only one, and event registrations for
every object and for one object of each class. Prints every result, error
(code, domain, level, message) and event, in order.

Also what isSecure and isEncrypted answer, over the unix socket and, when
given, over TCP.

Usage: python_objects.py URI URI_READ_ONLY [TCP_URI]
The test runs it on the real python3-libvirt twice, once over real libvirt's
client library and once over ours, each against a fresh daemon."""

import sys
import threading
import time

import libvirt

uri, uri_ro = sys.argv[1], sys.argv[2]

NET_XML = """<network>
  <name>extra</name>
  <uuid>7a3b2c1d-0000-4000-8000-00000000e001</uuid>
  <bridge name='virbr9'/>
  <ip address='192.168.199.1' netmask='255.255.255.0'/>
</network>"""

POOL_XML = """<pool type='dir'>
  <name>extra-pool</name>
  <uuid>7a3b2c1d-0000-4000-8000-00000000e002</uuid>
  <target><path>/extra-pool</path></target>
</pool>"""


def show(*parts):
    print(*parts, flush=True)


def attempt(what, fn, *args):
    try:
        result = fn(*args)
    except libvirt.libvirtError as e:
        show(what, "error", e.get_error_code(), e.get_error_domain(), e.get_error_level(), e.get_error_message())
        return None
    return result


libvirt.virEventRegisterDefaultImpl()
libvirt.registerErrorHandler(lambda *_: None, None)
events = []
running = True


def loop():
    while running:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()


def recorder(tag):
    def callback(conn, obj, *rest):
        events.append(f"{tag} {obj.name()} {list(rest[:-1])}")
    return callback


conn = libvirt.open(uri)
show("secure", conn.isSecure(), "encrypted", conn.isEncrypted())
if len(sys.argv) > 3:
    tcp = libvirt.open(sys.argv[3])
    show("tcp secure", tcp.isSecure(), "encrypted", tcp.isEncrypted())
    tcp.close()
default_net = conn.networkLookupByName("default")
default_pool = conn.storagePoolLookupByName("default-pool")
host = conn.nodeDeviceLookupByName("scsi_host1")
ids = [
    conn.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, recorder("net-all"), None),
    conn.networkEventRegisterAny(default_net, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, recorder("net-default"), None),
    conn.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, recorder("pool-all"), None),
    conn.storagePoolEventRegisterAny(default_pool, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
                                     recorder("pool-default"), None),
    conn.storagePoolEventRegisterAny(default_pool, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH,
                                     recorder("refresh-default"), None),
    conn.nodeDeviceEventRegisterAny(host, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, recorder("dev-host1"), None),
]

show("networks", sorted(n.name() for n in conn.listAllNetworks()))
show("legacy networks", conn.numOfNetworks(), conn.listNetworks(), conn.numOfDefinedNetworks(),
     conn.listDefinedNetworks())
show("active networks", sorted(n.name() for n in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)))
show("default", default_net.name(), default_net.UUIDString(), default_net.isActive(), default_net.isPersistent())
show("by uuid", conn.networkLookupByUUIDString(default_net.UUIDString()).name())
show("net xml", default_net.XMLDesc(0))
attempt("lookup nosuch", conn.networkLookupByName, "nosuch")
attempt("lookup bad uuid", conn.networkLookupByUUIDString, "7a3b2c1d-0000-4000-8000-0000000000ff")
extra = conn.networkDefineXML(NET_XML)
show("defined", extra.name(), extra.UUIDString(), extra.isActive(), extra.isPersistent())
show("legacy defined", conn.listDefinedNetworks())
extra.create()
show("started", extra.isActive())
attempt("start twice", extra.create)
extra.destroy()
extra.undefine()
attempt("gone", extra.isActive)
default_net.destroy()
default_net.create()
transient = conn.networkCreateXML(NET_XML)
show("transient", transient.name(), transient.isActive(), transient.isPersistent())
transient.destroy()

show("pools", sorted(p.name() for p in conn.listAllStoragePools()))
show("pool", default_pool.name(), default_pool.UUIDString(), default_pool.isActive(), default_pool.isPersistent())
show("pool by uuid", conn.storagePoolLookupByUUIDString(default_pool.UUIDString()).name())
show("pool xml", default_pool.XMLDesc(0))
default_pool.refresh(0)
attempt("pool nosuch", conn.storagePoolLookupByName, "nosuch")
attempt("delete active", default_pool.delete, 0)
pool = conn.storagePoolDefineXML(POOL_XML, 0)
show("pool defined", pool.name(), pool.isActive())
show("legacy pools", conn.numOfStoragePools(), conn.listStoragePools(), conn.numOfDefinedStoragePools(),
     conn.listDefinedStoragePools())
pool.build(0)
pool.create(0)
pool.refresh(0)
pool.destroy()
pool.delete(0)
pool.undefine()
attempt("pool flags", conn.storagePoolDefineXML, POOL_XML, 0x80)
default_pool.destroy()
default_pool.create(0)

show("devices", sorted(d.name() for d in conn.listAllDevices()))
show("device", host.name(), host.parent())
show("device xml", host.XMLDesc(0))
show("computer parent", attempt("computer parent", conn.nodeDeviceLookupByName("computer").parent))
attempt("device nosuch", conn.nodeDeviceLookupByName, "nosuch")
attempt("destroy computer", conn.nodeDeviceLookupByName("computer").destroy)

ro = libvirt.openReadOnly(uri_ro)
show("ro lookup", ro.networkLookupByName("default").isActive())
attempt("ro define", ro.networkDefineXML, NET_XML)
attempt("ro destroy", ro.networkLookupByName("default").destroy)
attempt("ro pool refresh", ro.storagePoolLookupByName("default-pool").refresh, 0)
ro.close()

time.sleep(1.0)
for callback_id in ids[:2]:
    conn.networkEventDeregisterAny(callback_id)
for callback_id in ids[2:5]:
    conn.storagePoolEventDeregisterAny(callback_id)
conn.nodeDeviceEventDeregisterAny(ids[5])
for line in events:
    show(line)
running = False
conn.close()
