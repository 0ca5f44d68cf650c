//! The networks, storage pools and node devices of `test:///default`, with
//! the checks, errors and events of libvirt 9.0's test driver (its quirks
//! included: destroying an inactive network succeeds, creating a defined pool
//! from XML makes it transient, building and deleting a pool only report
//! events). Networks and pools share one store; a `Kind` holds what differs.

use crate::abi::object_events::{
    virConnectListAllNetworksFlags as NetFlag, virConnectListAllNodeDeviceFlags as DevFlag,
    virConnectListAllStoragePoolsFlags as PoolFlag, virNodeDeviceCreateXMLFlags,
    virNodeDeviceEventLifecycleType as DevEvent, virStoragePoolDefineFlags, virStoragePoolEventID,
};

/// The filters each `virConnectListAll*` of the test driver accepts: every
/// flag of libvirt 9.0 for networks and pools, the capability flags only for
/// node devices.
const NETWORK_FILTERS: u32 = 0x3f;
const POOL_FILTERS: u32 = 0xf_ffff;
const POOL_TYPE_FILTERS: u32 = POOL_FILTERS & !0x3f;
const DEVICE_FILTERS: u32 = 0x3f_ffff;
use crate::driver::{check_flags, Done, Lookup, ObjectOp, ObjectQuery, PoolInfo};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::{EventClass, ObjectEvent, ObjectIdentity, ObjectPayload};
use crate::uuid::Uuid;
use crate::xml::{self, Element, Node};

/// The lifecycle event numbers networks and pools share (`DEFINED` to
/// `STOPPED` are 0 to 3 in both enums); pools add `CREATED` and `DELETED`.
const DEFINED: i32 = 0;
const UNDEFINED: i32 = 1;
const STARTED: i32 = 2;
const STOPPED: i32 = 3;
const POOL_CREATED: i32 = 4;
const POOL_DELETED: i32 = 5;

const DEFAULT_NETWORK_XML: &str = "<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>";

const DEFAULT_POOL_XML: &str = "<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target>
    <path>/default-pool</path>
  </target>
</pool>";

/// libvirt's default node devices: the host, two vport-capable FC HBAs and a
/// vHBA on the first, which is also the model of every vHBA created.
const DEFAULT_DEVICES_XML: [&str; 4] = [
    "<device>
  <name>computer</name>
  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
</device>",
    "<device>
  <name>scsi_host1</name>
  <parent>computer</parent>
  <capability type='scsi_host'>
    <host>1</host>
    <unique_id>0</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000012341234</wwnn>
      <wwpn>1000000012341234</wwpn>
      <fabric_wwn>2000000043214321</fabric_wwn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>0</max_vports>
      <vports>0</vports>
    </capability>
  </capability>
</device>",
    "<device>
  <name>scsi_host11</name>
  <parent>scsi_host1</parent>
  <capability type='scsi_host'>
    <host>11</host>
    <unique_id>10</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000034563456</wwnn>
      <wwpn>1000000034563456</wwpn>
      <fabric_wwn>2000000043214321</fabric_wwn>
    </capability>
  </capability>
</device>",
    "<device>
  <name>scsi_host2</name>
  <parent>computer</parent>
  <capability type='scsi_host'>
    <host>2</host>
    <unique_id>1</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000056785678</wwnn>
      <wwpn>1000000056785678</wwpn>
      <fabric_wwn>2000000087658765</fabric_wwn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>0</max_vports>
      <vports>0</vports>
    </capability>
  </capability>
</device>",
];

/// The device every vHBA is copied from, and the name every vHBA gets: the
/// test driver has no udev to report a real one.
const VHBA_MODEL: &str = "scsi_host11";
const VHBA_NAME: &str = "scsi_host12";

/// What libvirt reports a pool's size as; the test driver has no storage.
const POOL_CAPACITY: u64 = 107_374_182_400;

/// libvirt's storage pool types, in the order of their
/// `VIR_CONNECT_LIST_STORAGE_POOLS_*` bits (from `..._DIR`, 1 << 6).
const POOL_TYPES: [&str; 14] = [
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
    "iscsi-direct",
];

/// The pool types whose definition needs a source host instead of a target
/// path.
const HOST_POOL_TYPES: [&str; 6] = ["netfs", "iscsi", "iscsi-direct", "rbd", "sheepdog", "gluster"];

/// What differs between the networks and the storage pools of the test driver.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Network,
    Pool,
}

impl Kind {
    fn of(class: EventClass) -> Result<Kind> {
        match class {
            EventClass::Network => Ok(Kind::Network),
            EventClass::StoragePool => Ok(Kind::Pool),
            other => Err(Error::internal(
                ErrorDomain::VIR_FROM_TEST,
                format!("no {} in this store", other.descriptor().noun),
            )),
        }
    }

    fn class(self) -> EventClass {
        match self {
            Kind::Network => EventClass::Network,
            Kind::Pool => EventClass::StoragePool,
        }
    }

    fn domain(self) -> ErrorDomain {
        self.class().descriptor().error_domain
    }

    fn root(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Pool => "pool",
        }
    }

    /// What libvirt calls the document in XML syntax errors.
    fn document(self) -> &'static str {
        match self {
            Kind::Network => "network_definition",
            Kind::Pool => "storage_pool_definition",
        }
    }

    /// The test driver's function behind a public one, as flag errors name it.
    fn driver_function(self, what: &str) -> String {
        match self {
            Kind::Network => format!("testNetwork{what}"),
            Kind::Pool => format!("testStoragePool{what}"),
        }
    }

    fn not_found(self, how: &str, value: &str) -> Error {
        let code = match self {
            Kind::Network => ErrorCode::VIR_ERR_NO_NETWORK,
            Kind::Pool => ErrorCode::VIR_ERR_NO_STORAGE_POOL,
        };
        let noun = self.class().descriptor().noun;
        Error::new(code, ErrorDomain::VIR_FROM_TEST, Some(format!("no {noun} with matching {how} '{value}'")))
    }

    /// The error of `op` on an object that is in the other state.
    fn wrong_state(self, name: &str, op: ObjectOp, active: bool) -> Error {
        let detail = match (self, active) {
            (Kind::Network, _) if op == ObjectOp::Undefine => format!("Network '{name}' is still running"),
            (Kind::Network, _) => format!("Network '{name}' is already running"),
            (Kind::Pool, true) => format!("storage pool '{name}' is active"),
            (Kind::Pool, false) => format!("storage pool '{name}' is not active"),
        };
        Error::operation_invalid(ErrorDomain::VIR_FROM_TEST, detail)
    }
}

/// A network or a storage pool.
struct Entry {
    def: Element,
    name: String,
    uuid: Uuid,
    active: bool,
    persistent: bool,
}

impl Entry {
    fn identity(&self) -> ObjectIdentity {
        ObjectIdentity::named(&self.name, self.uuid)
    }

    fn event(&self, kind: Kind, event: i32) -> ObjectEvent {
        ObjectEvent::lifecycle(kind.class(), self.identity(), event, 0)
    }

    fn pool_type(&self) -> &str {
        self.def.attribute("type").unwrap_or_default()
    }

    fn target_path(&self) -> Option<String> {
        self.def.child("target").and_then(|t| t.child_text("path"))
    }
}

/// A node device.
struct Device {
    def: Element,
    name: String,
    parent: Option<String>,
}

impl Device {
    fn new(def: Element) -> Device {
        let name = def.child_text("name").unwrap_or_default();
        let parent = def.child_text("parent");
        Device { def, name, parent }
    }

    fn identity(&self) -> ObjectIdentity {
        ObjectIdentity { parent: self.parent.clone(), ..ObjectIdentity::named(&self.name, Uuid::default()) }
    }

    fn event(&self, event: DevEvent) -> ObjectEvent {
        ObjectEvent::lifecycle(
            EventClass::NodeDevice,
            ObjectIdentity::named(&self.name, Uuid::default()),
            event as i32,
            0,
        )
    }

    /// Its capability of `kind` (`system`, `scsi_host`; `fc_host` and
    /// `vport_ops` sit inside `scsi_host`).
    fn capability(&self, kind: &str) -> Option<&Element> {
        capability(&self.def, kind)
    }

    fn fc_host(&self) -> Option<&Element> {
        self.capability("scsi_host").and_then(|host| capability(host, "fc_host"))
    }

    fn vport_capable(&self) -> bool {
        self.capability("scsi_host").and_then(|host| capability(host, "vport_ops")).is_some()
    }
}

fn capability<'a>(element: &'a Element, kind: &str) -> Option<&'a Element> {
    element.elements().find(|e| e.name == "capability" && e.attribute("type") == Some(kind))
}

fn capability_mut<'a>(element: &'a mut Element, kind: &str) -> Option<&'a mut Element> {
    element.children.iter_mut().find_map(|n| match n {
        Node::Element(e) if e.name == "capability" && e.attribute("type") == Some(kind) => Some(e),
        _ => None,
    })
}

/// The networks, storage pools and node devices of one test driver.
pub(super) struct Objects {
    networks: Vec<Entry>,
    pools: Vec<Entry>,
    devices: Vec<Device>,
}

/// The outcome of a call: its value and the event it reports.
type Outcome<T> = Result<(T, Option<ObjectEvent>)>;

impl Objects {
    /// libvirt's default objects: network `default` and pool `default-pool`,
    /// both running and persistent, and the default node devices.
    pub fn new() -> Objects {
        let mut objects = Objects { networks: Vec::new(), pools: Vec::new(), devices: Vec::new() };
        for (kind, text) in [(Kind::Network, DEFAULT_NETWORK_XML), (Kind::Pool, DEFAULT_POOL_XML)] {
            let (def, name, uuid) = parse(kind, text).expect("the built-in definitions parse");
            objects.list_mut(kind).push(Entry { def, name, uuid, active: true, persistent: true });
        }
        for text in DEFAULT_DEVICES_XML {
            objects.devices.push(Device::new(xml::parse(text).expect("the built-in devices parse")));
        }
        objects
    }

    fn list(&self, kind: Kind) -> &Vec<Entry> {
        match kind {
            Kind::Network => &self.networks,
            Kind::Pool => &self.pools,
        }
    }

    fn list_mut(&mut self, kind: Kind) -> &mut Vec<Entry> {
        match kind {
            Kind::Network => &mut self.networks,
            Kind::Pool => &mut self.pools,
        }
    }

    fn index_by_name(&self, kind: Kind, name: &str) -> Result<usize> {
        self.list(kind).iter().position(|e| e.name == name).ok_or_else(|| kind.not_found("name", name))
    }

    fn by_uuid(&self, kind: Kind, uuid: &Uuid) -> Result<&Entry> {
        self.list(kind).iter().find(|e| e.uuid == *uuid).ok_or_else(|| kind.not_found("uuid", &uuid.to_string()))
    }

    fn device(&self, name: &str) -> Result<&Device> {
        self.devices.iter().find(|d| d.name == name).ok_or_else(|| {
            Error::new(
                ErrorCode::VIR_ERR_NO_NODE_DEVICE,
                ErrorDomain::VIR_FROM_TEST,
                Some(format!("no node device with matching name '{name}'")),
            )
        })
    }

    pub fn lookup(&self, class: EventClass, by: Lookup<'_>) -> Result<ObjectIdentity> {
        if class == EventClass::NodeDevice {
            return match by {
                Lookup::Name(name) => self.device(name).map(Device::identity),
                Lookup::Uuid(_) => Err(Error::no_support(ErrorDomain::VIR_FROM_NODEDEV, "virNodeDeviceLookupByUUID")),
            };
        }
        let kind = Kind::of(class)?;
        match by {
            Lookup::Name(name) => self.index_by_name(kind, name).map(|i| self.list(kind)[i].identity()),
            Lookup::Uuid(uuid) => self.by_uuid(kind, &uuid).map(Entry::identity),
        }
    }

    pub fn list_all(&self, class: EventClass, flags: u32) -> Result<Vec<ObjectIdentity>> {
        if class == EventClass::NodeDevice {
            check_flags(flags, DEVICE_FILTERS, "testConnectListAllNodeDevices", ErrorDomain::VIR_FROM_TEST)?;
            return Ok(self.devices.iter().filter(|d| device_passes(d, flags)).map(Device::identity).collect());
        }
        let kind = Kind::of(class)?;
        let (allowed, function) = match kind {
            Kind::Network => (NETWORK_FILTERS, "testConnectListAllNetworks"),
            Kind::Pool => (POOL_FILTERS, "testConnectListAllStoragePools"),
        };
        check_flags(flags, allowed, function, ErrorDomain::VIR_FROM_TEST)?;
        Ok(self.list(kind).iter().filter(|e| entry_passes(kind, e, flags)).map(Entry::identity).collect())
    }

    pub fn query(&self, class: EventClass, object: &ObjectIdentity, query: ObjectQuery) -> Result<bool> {
        let entry = self.by_uuid(Kind::of(class)?, &object.uuid)?;
        Ok(match query {
            ObjectQuery::Active => entry.active,
            ObjectQuery::Persistent => entry.persistent,
        })
    }

    pub fn xml_desc(&self, class: EventClass, object: &ObjectIdentity, flags: u32) -> Result<String> {
        if class == EventClass::NodeDevice {
            check_flags(flags, 0, "testNodeDeviceGetXMLDesc", ErrorDomain::VIR_FROM_TEST)?;
            return self.device(&object.name).map(|d| d.def.to_xml());
        }
        let kind = Kind::of(class)?;
        check_flags(flags, 0, &kind.driver_function("GetXMLDesc"), ErrorDomain::VIR_FROM_TEST)?;
        let index = self.index_by_name(kind, &object.name)?;
        let xml = self.list(kind)[index].def.to_xml();
        Ok(match kind {
            // libvirt's pool formatter writes the source element open and
            // closed on lines of their own, even when it is empty.
            Kind::Pool => xml.replacen("  <source/>\n", "  <source>\n  </source>\n", 1),
            Kind::Network => xml,
        })
    }

    /// Autostart cannot be set here (`vir<Class>SetAutostart` is not
    /// supported), so it is off for every object that exists.
    pub fn autostart(&self, class: EventClass, object: &ObjectIdentity) -> Result<bool> {
        self.by_uuid(Kind::of(class)?, &object.uuid).map(|_| false)
    }

    /// The bridge device a network's definition names.
    pub fn bridge(&self, object: &ObjectIdentity) -> Result<String> {
        let network = self.by_uuid(Kind::Network, &object.uuid)?;
        network.def.child("bridge").and_then(|b| b.attribute("name")).map(str::to_string).ok_or_else(|| {
            Error::internal(
                ErrorDomain::VIR_FROM_TEST,
                format!("network '{}' does not have a bridge name.", network.name),
            )
        })
    }

    /// A pool's state and sizes (`POOL_CAPACITY`, none of it allocated:
    /// there are no volumes here).
    pub fn pool_info(&self, object: &ObjectIdentity) -> Result<PoolInfo> {
        let pool = self.by_uuid(Kind::Pool, &object.uuid)?;
        Ok(PoolInfo { running: pool.active, capacity: POOL_CAPACITY, allocation: 0, available: POOL_CAPACITY })
    }

    /// The devices with capability `cap` (by libvirt's name), or all;
    /// no device has a capability of a name libvirt does not know.
    pub fn device_names(&self, cap: Option<&str>) -> Result<Vec<String>> {
        let filter = match cap {
            None => 0,
            Some(cap) => match DEVICE_CAPABILITY_NAMES.iter().position(|known| *known == cap) {
                Some(bit) => 1 << bit,
                None => return Ok(Vec::new()),
            },
        };
        Ok(self.devices.iter().filter(|d| device_passes(d, filter)).map(|d| d.name.clone()).collect())
    }

    /// The types of the device's own capabilities (those nested in them,
    /// such as `fc_host`, are not listed, as in libvirt's test driver).
    pub fn device_caps(&self, name: &str) -> Result<Vec<String>> {
        let device = self.device(name)?;
        let caps = device.def.elements().filter(|e| e.name == "capability").filter_map(|e| e.attribute("type"));
        Ok(caps.map(str::to_string).collect())
    }

    pub fn device_parent(&self, name: &str) -> Result<String> {
        self.device(name)?
            .parent
            .clone()
            .ok_or_else(|| Error::internal(ErrorDomain::VIR_FROM_TEST, "no parent for this device"))
    }

    /// `virNetworkDefineXML`, `virStoragePoolDefineXML`. Redefining a running
    /// object keeps the definition it runs with, as the test driver shows it.
    pub fn define_xml(&mut self, class: EventClass, text: &str, flags: u32) -> Outcome<ObjectIdentity> {
        let kind = Kind::of(class)?;
        let (allowed, function) = match kind {
            Kind::Pool => {
                (virStoragePoolDefineFlags::VIR_STORAGE_POOL_DEFINE_VALIDATE as u32, "testStoragePoolDefineXML")
            }
            Kind::Network => (NETWORK_VALIDATE, "testNetworkDefineXMLFlags"),
        };
        check_flags(flags, allowed, function, ErrorDomain::VIR_FROM_TEST)?;
        let (def, name, uuid) = parse(kind, text)?;
        let index = self.place(kind, def, name, uuid, |existing, def| {
            if !existing.active {
                existing.def = def;
            }
            Ok(())
        })?;
        let entry = &mut self.list_mut(kind)[index];
        entry.persistent = true;
        Ok((entry.identity(), Some(entry.event(kind, DEFINED))))
    }

    /// `virNetworkCreateXML`, `virStoragePoolCreateXML`: starts the object
    /// the XML defines. A pool that was defined becomes transient, as in the
    /// test driver.
    pub fn create_xml(&mut self, class: EventClass, text: &str, flags: u32) -> Outcome<ObjectIdentity> {
        if class == EventClass::NodeDevice {
            return self.create_device(text, flags);
        }
        let kind = Kind::of(class)?;
        let (allowed, function) = match kind {
            Kind::Pool => (0, "testStoragePoolCreateXML"),
            Kind::Network => (NETWORK_VALIDATE, "testNetworkCreateXMLFlags"),
        };
        check_flags(flags, allowed, function, ErrorDomain::VIR_FROM_TEST)?;
        let (def, name, uuid) = parse(kind, text)?;
        let index = self.place(kind, def, name, uuid, |existing, def| {
            if existing.active {
                let detail = format!("{} is already active as '{}'", kind.root(), existing.name);
                return Err(Error::operation_invalid(kind.domain(), detail));
            }
            existing.def = def;
            existing.persistent &= kind == Kind::Network;
            Ok(())
        })?;
        let entry = &mut self.list_mut(kind)[index];
        entry.active = true;
        Ok((entry.identity(), Some(entry.event(kind, STARTED))))
    }

    /// Adds a new object (inactive and transient until the caller says
    /// otherwise), or, when one with the same name and UUID exists, lets
    /// `update` change it. Returns its index.
    fn place(
        &mut self,
        kind: Kind,
        def: Element,
        name: String,
        uuid: Uuid,
        update: impl FnOnce(&mut Entry, Element) -> Result<()>,
    ) -> Result<usize> {
        let taken = |message: String| Error::new(ErrorCode::VIR_ERR_OPERATION_FAILED, kind.domain(), Some(message));
        for entry in self.list(kind) {
            if entry.name == name && entry.uuid != uuid {
                return Err(taken(format!("{} '{name}' already exists with uuid {}", kind.root(), entry.uuid)));
            }
            if entry.uuid == uuid && entry.name != name {
                return Err(taken(format!("{} '{}' is already defined with uuid {uuid}", kind.root(), entry.name)));
            }
        }
        let new = Entry { def, name, uuid, active: false, persistent: false };
        if kind == Kind::Pool && new.pool_type() == "dir" {
            let conflict = self.pools.iter().find(|p| {
                p.uuid != uuid
                    && p.pool_type() == "dir"
                    && p.target_path().is_some()
                    && p.target_path() == new.target_path()
            });
            if let Some(other) = conflict {
                return Err(taken(format!("Storage source conflict with pool: '{}'", other.name)));
            }
        }
        let list = self.list_mut(kind);
        match list.iter().position(|e| e.uuid == uuid) {
            Some(index) => {
                update(&mut list[index], new.def)?;
                Ok(index)
            }
            None => {
                list.push(new);
                Ok(list.len() - 1)
            }
        }
    }

    /// Create, destroy, undefine, build, delete or refresh a network or pool,
    /// or destroy a node device.
    pub fn operate(&mut self, class: EventClass, object: &ObjectIdentity, op: ObjectOp, flags: u32) -> Outcome<Done> {
        if class == EventClass::NodeDevice && op == ObjectOp::Destroy {
            return self.destroy_device(&object.name);
        }
        let kind = Kind::of(class)?;
        if kind == Kind::Pool && op != ObjectOp::Destroy && op != ObjectOp::Undefine {
            check_flags(flags, 0, &kind.driver_function(op.api_name()), ErrorDomain::VIR_FROM_TEST)?;
        }
        let index = self.index_by_name(kind, &object.name)?;
        let entry = &mut self.list_mut(kind)[index];
        // The state each call needs; a network can be destroyed in any state.
        let needs_active = match op {
            ObjectOp::Create | ObjectOp::Undefine | ObjectOp::Build | ObjectOp::Delete => Some(false),
            ObjectOp::Refresh => Some(true),
            ObjectOp::Destroy => (kind == Kind::Pool).then_some(true),
        };
        if needs_active.is_some_and(|wanted| wanted != entry.active) {
            return Err(kind.wrong_state(&entry.name, op, entry.active));
        }
        let event = match op {
            ObjectOp::Create => {
                entry.active = true;
                entry.event(kind, STARTED)
            }
            ObjectOp::Destroy => {
                entry.active = false;
                entry.event(kind, STOPPED)
            }
            ObjectOp::Undefine => entry.event(kind, UNDEFINED),
            ObjectOp::Build => entry.event(kind, POOL_CREATED),
            ObjectOp::Delete => entry.event(kind, POOL_DELETED),
            ObjectOp::Refresh => ObjectEvent {
                class: kind.class(),
                object: entry.identity(),
                payload: ObjectPayload::Plain {
                    event_id: virStoragePoolEventID::VIR_STORAGE_POOL_EVENT_ID_REFRESH as i32,
                },
            },
        };
        let gone = op == ObjectOp::Undefine || (op == ObjectOp::Destroy && !entry.persistent);
        if gone {
            self.list_mut(kind).remove(index);
        }
        Ok((None, Some(event)))
    }

    /// `virNodeDeviceCreateXML`: a vHBA on a vport-capable FC HBA. As in the
    /// test driver, it is a copy of `scsi_host11` with the new WWNs, always
    /// called `scsi_host12`.
    fn create_device(&mut self, text: &str, flags: u32) -> Outcome<ObjectIdentity> {
        let validate = virNodeDeviceCreateXMLFlags::VIR_NODE_DEVICE_CREATE_XML_VALIDATE as u32;
        check_flags(flags, validate, "testNodeDeviceCreateXML", ErrorDomain::VIR_FROM_TEST)?;
        let def = parse_root(text, "device", "node_device_definition", ErrorDomain::VIR_FROM_NODEDEV)?;
        let nodedev_error = |detail: String| Error::internal(ErrorDomain::VIR_FROM_NODEDEV, detail);
        let wanted = Device::new(def);
        let fc = wanted.fc_host().ok_or_else(|| nodedev_error("Device is not a fibre channel HBA".into()))?;
        let wwn = |field: &str| {
            fc.child_text(field).filter(|v| !v.is_empty()).ok_or_else(|| {
                let upper = field.to_uppercase();
                nodedev_error(format!("no {upper} supplied for 'new device', and auto-generation failed"))
            })
        };
        let (wwnn, wwpn) = (wwn("wwnn")?, wwn("wwpn")?);
        self.vport_parent(&wanted.def)?;
        let model = self.devices.iter().find(|d| d.name == VHBA_MODEL).ok_or_else(unknown_failure)?;
        let mut def = model.def.clone();
        set_text(&mut def, "name", VHBA_NAME);
        if let Some(fc) = capability_mut(&mut def, "scsi_host").and_then(|host| capability_mut(host, "fc_host")) {
            set_text(fc, "wwnn", &wwnn);
            set_text(fc, "wwpn", &wwpn);
        }
        let device = Device::new(def);
        let event = device.event(DevEvent::VIR_NODE_DEVICE_EVENT_CREATED);
        // The new handle reports the parent the XML asked for.
        let identity = ObjectIdentity { parent: wanted.parent.clone(), ..device.identity() };
        self.devices.retain(|d| d.name != VHBA_NAME);
        self.devices.push(device);
        Ok((identity, Some(event)))
    }

    /// The vport-capable device a vHBA definition asks for: its `<parent>` by
    /// name, or by `wwnn`/`wwpn` attributes, or else the first capable one.
    fn vport_parent(&self, def: &Element) -> Result<&Device> {
        let missing =
            || Error::internal(ErrorDomain::VIR_FROM_NODEDEV, "Could not find parent device for 'new device'");
        let parent = def.child("parent");
        let by_wwn = parent.and_then(|p| Some((p.attribute("wwnn")?, p.attribute("wwpn")?)));
        let name = parent.map(Element::text).filter(|n| !n.is_empty());
        let found = match (name, by_wwn) {
            (Some(name), _) => self.devices.iter().find(|d| d.name == name).ok_or_else(missing)?,
            (None, Some((wwnn, wwpn))) => self
                .devices
                .iter()
                .find(|d| {
                    d.fc_host().is_some_and(|fc| {
                        fc.child_text("wwnn").as_deref() == Some(wwnn) && fc.child_text("wwpn").as_deref() == Some(wwpn)
                    })
                })
                .ok_or_else(missing)?,
            (None, None) => return self.devices.iter().find(|d| d.vport_capable()).ok_or_else(missing),
        };
        if !found.vport_capable() {
            let detail = format!("Parent device {} is not capable of vport operations", found.name);
            return Err(Error::internal(ErrorDomain::VIR_FROM_NODEDEV, detail));
        }
        Ok(found)
    }

    /// libvirt 9.0's test driver reports a device that is not an FC HBA,
    /// or whose parent is gone, and leaves it, but succeeds all the same.
    fn destroy_device(&mut self, name: &str) -> Outcome<Done> {
        let device = self.device(name)?;
        let fc = device.fc_host();
        let has_wwns = fc.is_some_and(|fc| fc.child("wwnn").is_some() && fc.child("wwpn").is_some());
        if !has_wwns {
            let reported = Error::internal(ErrorDomain::VIR_FROM_NODEDEV, "Device is not a fibre channel HBA");
            return Ok((Some(reported), None));
        }
        let parent = device.parent.clone().unwrap_or_default();
        if !self.devices.iter().any(|d| d.name == parent) {
            let reported =
                Error::internal(ErrorDomain::VIR_FROM_TEST, format!("cannot find parent '{parent}' definition"));
            return Ok((Some(reported), None));
        }
        let event = device.event(DevEvent::VIR_NODE_DEVICE_EVENT_DELETED);
        self.devices.retain(|d| d.name != name);
        Ok((None, Some(event)))
    }
}

/// libvirt's report when a driver failed without saying why.
fn unknown_failure() -> Error {
    Error {
        message: "An error occurred, but the cause is unknown".into(),
        ..Error::new(ErrorCode::VIR_ERR_INTERNAL_ERROR, ErrorDomain::VIR_FROM_NONE, None)
    }
}

fn set_text(element: &mut Element, child: &str, text: &str) {
    if let Some(e) = element.child_mut(child) {
        e.children = vec![Node::Text(text.to_string())];
    }
}

/// Parses a document whose root must be `root`, with libvirt's errors.
fn parse_root(text: &str, root: &str, document: &str, domain: ErrorDomain) -> Result<Element> {
    let def = xml::parse(text).map_err(|e| Error::xml_syntax(domain, document, e))?;
    if def.name != root {
        let detail = format!("expecting root element of '{root}', not '{}'", def.name);
        return Err(Error::xml(ErrorDomain::VIR_FROM_XML, detail));
    }
    Ok(def)
}

/// Reads a network or pool definition: the root, `<name>`, `<uuid>` (one is
/// generated and inserted when absent), and for pools the `type` and what it
/// requires (a target path or a source host); a pool also gets the fixed
/// size the test driver reports. Everything else is kept as given.
fn parse(kind: Kind, text: &str) -> Result<(Element, String, Uuid)> {
    let mut def = parse_root(text, kind.root(), kind.document(), kind.domain())?;
    let xml_error = |detail: &str| Error::xml(kind.domain(), detail);
    if kind == Kind::Pool {
        let pool_type = def.attribute("type").ok_or_else(|| {
            Error::xml(ErrorDomain::VIR_FROM_XML, "Missing required attribute 'type' in element 'pool'")
        })?;
        if !POOL_TYPES.contains(&pool_type) {
            let detail = format!("Invalid value for attribute 'type' in element 'pool': '{pool_type}'.");
            return Err(Error::xml(ErrorDomain::VIR_FROM_XML, detail));
        }
        if HOST_POOL_TYPES.contains(&pool_type) {
            if def.child("source").and_then(|s| s.child("host")).and_then(|h| h.attribute("name")).is_none() {
                return Err(xml_error("missing storage pool source host name"));
            }
        } else if def.child("target").and_then(|t| t.child_text("path")).filter(|p| !p.is_empty()).is_none() {
            return Err(xml_error("missing storage pool target path"));
        }
    }
    let name = def.child_text("name").filter(|n| !n.is_empty());
    let name = match (name, kind) {
        (Some(name), _) if name.contains('/') => {
            return Err(Error::new(
                ErrorCode::VIR_ERR_XML_DETAIL,
                ErrorDomain::VIR_FROM_XML,
                Some("invalid char in name: /".into()),
            ))
        }
        (Some(name), _) => name,
        (None, Kind::Network) => return Err(Error::new(ErrorCode::VIR_ERR_NO_NAME, kind.domain(), None)),
        (None, Kind::Pool) => return Err(xml_error("missing pool source name element")),
    };
    let uuid = match def.child_text("uuid") {
        Some(text) => Uuid::parse(&text).ok_or_else(|| match kind {
            Kind::Network => Error::internal(kind.domain(), "malformed uuid element"),
            Kind::Pool => xml_error("malformed uuid element"),
        })?,
        None => {
            let uuid = Uuid::random();
            insert_after(&mut def, "name", text_element("uuid", &uuid.to_string()));
            uuid
        }
    };
    if kind == Kind::Pool {
        def.children.retain(
            |n| !matches!(n, Node::Element(e) if ["capacity", "allocation", "available"].contains(&e.name.as_str())),
        );
        let sizes = [("available", POOL_CAPACITY), ("allocation", 0), ("capacity", POOL_CAPACITY)];
        for (element, value) in sizes {
            let mut size = text_element(element, &value.to_string());
            size.set_attribute("unit", Some("bytes".into()));
            insert_after(&mut def, "uuid", size);
        }
        // libvirt formats every pool with its source, empty or not, after
        // the sizes.
        let given = def.children.iter().position(|n| matches!(n, Node::Element(e) if e.name == "source"));
        let source = match given.map(|i| def.children.remove(i)) {
            Some(Node::Element(source)) => source,
            _ => Element::new("source"),
        };
        insert_after(&mut def, "available", source);
    }
    Ok((def, name, uuid))
}

fn text_element(name: &str, text: &str) -> Element {
    let mut element = Element::new(name);
    element.children.push(Node::Text(text.to_string()));
    element
}

/// Inserts `new` after the child element `after` (first when there is none).
fn insert_after(def: &mut Element, after: &str, new: Element) {
    let position = def.children.iter().position(|n| matches!(n, Node::Element(e) if e.name == after));
    def.children.insert(position.map_or(0, |i| i + 1), Node::Element(new));
}

/// Whether a network or pool passes a `virConnectListAll*` filter: each pair
/// of opposite flags filters only when one of them is given.
fn entry_passes(kind: Kind, entry: &Entry, flags: u32) -> bool {
    let pair = |yes: u32, no: u32, value: bool| flags & (yes | no) == 0 || flags & if value { yes } else { no } != 0;
    // Nothing in the test driver starts automatically.
    let (active, persistent, autostart) = match kind {
        Kind::Network => (
            pair(
                NetFlag::VIR_CONNECT_LIST_NETWORKS_ACTIVE as u32,
                NetFlag::VIR_CONNECT_LIST_NETWORKS_INACTIVE as u32,
                entry.active,
            ),
            pair(
                NetFlag::VIR_CONNECT_LIST_NETWORKS_PERSISTENT as u32,
                NetFlag::VIR_CONNECT_LIST_NETWORKS_TRANSIENT as u32,
                entry.persistent,
            ),
            pair(
                NetFlag::VIR_CONNECT_LIST_NETWORKS_AUTOSTART as u32,
                NetFlag::VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART as u32,
                false,
            ),
        ),
        Kind::Pool => (
            pair(
                PoolFlag::VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE as u32,
                PoolFlag::VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE as u32,
                entry.active,
            ),
            pair(
                PoolFlag::VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT as u32,
                PoolFlag::VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT as u32,
                entry.persistent,
            ),
            pair(
                PoolFlag::VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART as u32,
                PoolFlag::VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART as u32,
                false,
            ),
        ),
    };
    let type_ok = kind == Kind::Network || {
        let types = flags & POOL_TYPE_FILTERS;
        let index = POOL_TYPES.iter().position(|t| *t == entry.pool_type());
        types == 0 || index.is_some_and(|i| types & (PoolFlag::VIR_CONNECT_LIST_STORAGE_POOLS_DIR as u32) << i != 0)
    };
    active && persistent && autostart && type_ok
}

/// `VIR_NETWORK_CREATE_VALIDATE` and `VIR_NETWORK_DEFINE_VALIDATE`: accepted,
/// not performed (there is no schema here).
const NETWORK_VALIDATE: u32 = 1;

/// libvirt's node device capability names, in the order of the
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_*` flag bits.
const DEVICE_CAPABILITY_NAMES: [&str; 22] = [
    "system",
    "pci",
    "usb_device",
    "usb",
    "net",
    "scsi_host",
    "scsi_target",
    "scsi",
    "storage",
    "fc_host",
    "vports",
    "scsi_generic",
    "drm",
    "mdev_types",
    "mdev",
    "ccw",
    "css",
    "vdpa",
    "ap_card",
    "ap_queue",
    "ap_matrix",
    "vpd",
];

/// Whether a node device has one of the capabilities `flags` asks for (all
/// devices when it asks for none).
fn device_passes(device: &Device, flags: u32) -> bool {
    let wanted = |flag: DevFlag| flags & flag as u32 != 0;
    flags == 0
        || (wanted(DevFlag::VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM) && device.capability("system").is_some())
        || (wanted(DevFlag::VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST) && device.capability("scsi_host").is_some())
        || (wanted(DevFlag::VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST) && device.fc_host().is_some())
        || (wanted(DevFlag::VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPORTS) && device.vport_capable())
}

#[cfg(test)]
mod tests;
