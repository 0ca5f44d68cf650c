//! Hypervisor drivers. A connection talks to one driver instance; the driver
//! owns the domains and the event state its connections share.

mod domain_checks;
mod host_capabilities;
mod host_node;
mod impact;
mod memory_size;
pub mod metadata;
pub mod params;
pub mod qemu;
pub mod remote;
pub mod test;
mod test_objects;

use std::sync::Arc;

use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::state::{ConnectionId, EventCallback, EventState, Subscription};
use crate::event::{DomainIdentity, EventClass, ObjectIdentity, TypedParam};
use crate::uuid::Uuid;

/// `virDomainInfo`, in Rust terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainInfo {
    pub state: u8,
    pub max_memory_kib: u64,
    pub memory_kib: u64,
    pub vcpus: u16,
    pub cpu_time_ns: u64,
}

/// `virNodeInfo`, in Rust terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    pub model: String,
    pub memory_kib: u64,
    pub cpus: u32,
    pub mhz: u32,
    pub nodes: u32,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
}

/// `virDomainBlockStatsStruct`, in Rust terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockStats {
    pub rd_req: i64,
    pub rd_bytes: i64,
    pub wr_req: i64,
    pub wr_bytes: i64,
    pub errs: i64,
}

/// `virDomainInterfaceStatsStruct`, in Rust terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceStats {
    pub rx_bytes: i64,
    pub rx_packets: i64,
    pub rx_errs: i64,
    pub rx_drop: i64,
    pub tx_bytes: i64,
    pub tx_packets: i64,
    pub tx_errs: i64,
    pub tx_drop: i64,
}

/// How many memory statistics libvirt 9.0 knows (`VIR_DOMAIN_MEMORY_STAT_NR`):
/// `virDomainMemoryStats` asks its driver for no more.
pub const MEMORY_STAT_NR: usize = crate::abi::all::virDomainMemoryStatTags::VIR_DOMAIN_MEMORY_STAT_NR as usize;

/// `virStoragePoolInfo`, in Rust terms: sizes in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    pub running: bool,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
}

/// The name of the host the library runs on (an in-process driver's host).
fn local_hostname() -> Result<String> {
    crate::sys::hostname().map_err(|e| {
        Error::new(
            ErrorCode::VIR_ERR_SYSTEM_ERROR,
            ErrorDomain::VIR_FROM_NONE,
            Some(format!("failed to determine host name: {}", crate::sys::error_text(e.raw_os_error().unwrap_or(0)))),
        )
    })
}

/// A domain's state and the reason for it (`virDomainGetState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainState {
    pub state: i32,
    pub reason: i32,
}

/// What a snapshot call does to the ID the domain handle it was made on
/// shows. libvirt's test driver sets that handle's ID to -1 when the call
/// stops the domain and leaves it alone otherwise, a start included (a
/// handle looked up again shows the new ID); libvirt's remote client never
/// changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleId {
    Kept,
    Reset,
}

fn unsupported<T>(function: &str) -> Result<T> {
    Err(Error::no_support(ErrorDomain::VIR_FROM_DOMAIN, function))
}

/// `VIR_ERR_NO_SUPPORT` for a snapshot function, in libvirt's snapshot subsystem.
fn unsupported_snapshot<T>(function: &str) -> Result<T> {
    Err(Error::no_support(ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT, function))
}

/// `VIR_ERR_NO_SUPPORT` for the public function `<prefix of class><what>`.
fn unsupported_object<T>(class: EventClass, what: &str) -> Result<T> {
    Err(Error::no_support(class.descriptor().error_domain, &format!("{}{what}", class.descriptor().api_prefix)))
}

/// A flag variant's answer in a driver that has only the plain call.
fn without_flags<T>(flags: u32, function: &str, plain: impl FnOnce() -> Result<T>) -> Result<T> {
    if flags == 0 {
        plain()
    } else {
        unsupported(function)
    }
}

/// How a network or storage pool is looked up.
#[derive(Clone, Copy, Debug)]
pub enum Lookup<'a> {
    Name(&'a str),
    Uuid(Uuid),
}

/// The calls that change a network's, storage pool's or node device's
/// state; each is the public function `vir<Class><Op>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectOp {
    Create,
    Destroy,
    Undefine,
    Build,
    Delete,
    Refresh,
}

impl ObjectOp {
    /// The operation's part of the public function's name.
    pub fn api_name(self) -> &'static str {
        match self {
            ObjectOp::Create => "Create",
            ObjectOp::Destroy => "Destroy",
            ObjectOp::Undefine => "Undefine",
            ObjectOp::Build => "Build",
            ObjectOp::Delete => "Delete",
            ObjectOp::Refresh => "Refresh",
        }
    }
}

/// What a successful operation may leave behind: an error the driver
/// reported and still succeeded. libvirt 9.0's test driver does so when
/// asked to destroy a node device that is not a fibre channel HBA: the
/// public function returns 0 with that error as the thread's last one
/// (never handed to an error handler), and libvirtd answers success.
pub type Done = Option<Error>;

/// What `vir<Class>IsActive` and `vir<Class>IsPersistent` ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectQuery {
    Active,
    Persistent,
}

impl ObjectQuery {
    /// The query's part of the public function's name.
    pub fn api_name(self) -> &'static str {
        match self {
            ObjectQuery::Active => "IsActive",
            ObjectQuery::Persistent => "IsPersistent",
        }
    }
}

/// `VIR_CONNECT_LIST_DOMAINS_ACTIVE` and `..._INACTIVE`.
const DOMAINS_ACTIVE: u32 = 1;
const DOMAINS_INACTIVE: u32 = 2;

/// What one of libvirt's older enumerations names (`virConnectList*`,
/// `virNodeListDevices`, `virNodeDeviceListCaps`), each a procedure of its
/// own on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named<'a> {
    /// The defined domains that are not running.
    InactiveDomains,
    /// The active (`true`) or inactive networks or storage pools.
    Objects(EventClass, bool),
    /// The node devices with capability `cap` (all without).
    NodeDevices { cap: Option<&'a str>, flags: u32 },
    /// The capability types of node device `name`.
    DeviceCaps(&'a str),
}

/// What one of libvirt's older counts counts (`virConnectNumOf*`,
/// `virNodeNumOfDevices`, `virNodeDeviceNumOfCaps`): what a listing names,
/// or the running domains, which `virConnectListDomains` lists by ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted<'a> {
    RunningDomains,
    Names(Named<'a>),
}

/// libvirt's check of a driver function's flags: bits outside `allowed` are
/// "unsupported flags (0x..) in function DRIVERFUNCTION".
pub fn check_flags(flags: u32, allowed: u32, function: &str, domain: ErrorDomain) -> Result<()> {
    let unknown = flags & !allowed;
    if unknown == 0 {
        return Ok(());
    }
    Err(Error::arg_check(function, "flags", format!("unsupported flags (0x{unknown:x}) in function {function}"))
        .in_domain(domain))
}

/// libvirt's check that two flags are not both given
/// (`VIR_EXCLUSIVE_FLAGS_RET`): its macro names the argument `ctl` (the
/// error's second string), whatever the flags' name.
pub fn exclusive_flags(function: &str, flags: u32, (a, a_name): (u32, &str), (b, b_name): (u32, &str)) -> Result<()> {
    if flags & a != 0 && flags & b != 0 {
        return Err(Error::arg_check(
            function,
            "ctl",
            format!("Flags '{a_name}' and '{b_name}' are mutually exclusive"),
        ));
    }
    Ok(())
}

/// libvirt's public check of `virDomainGetXMLDesc`: a read-only connection
/// may not ask for the secrets (`VIR_DOMAIN_XML_SECURE`) nor for the
/// migratable form, which carries them too.
/// The `virDomainGetXMLDesc` flags every driver takes (libvirt's
/// `VIR_DOMAIN_XML_COMMON_FLAGS`).
pub const XML_DESC_COMMON_FLAGS: u32 = crate::abi::common::virDomainXMLFlags::VIR_DOMAIN_XML_SECURE as u32
    | crate::abi::common::virDomainXMLFlags::VIR_DOMAIN_XML_INACTIVE as u32
    | crate::abi::common::virDomainXMLFlags::VIR_DOMAIN_XML_MIGRATABLE as u32;

pub fn check_xml_desc_access(read_only: bool, flags: u32) -> Result<()> {
    use crate::abi::common::virDomainXMLFlags::{VIR_DOMAIN_XML_MIGRATABLE, VIR_DOMAIN_XML_SECURE};
    if read_only && flags & (VIR_DOMAIN_XML_SECURE as u32 | VIR_DOMAIN_XML_MIGRATABLE as u32) != 0 {
        return Err(Error::new(
            ErrorCode::VIR_ERR_OPERATION_DENIED,
            ErrorDomain::VIR_FROM_DOMAIN,
            Some("virDomainGetXMLDesc with secure flag".into()),
        ));
    }
    Ok(())
}

/// What a hypervisor driver offers. Operations a driver does not have report
/// `VIR_ERR_NO_SUPPORT` naming the public function, as libvirt does.
pub trait Driver: Send + Sync {
    fn events(&self) -> &Arc<EventState>;

    /// Adds an event registration (the C API's `*EventRegister*`); a remote
    /// connection also registers with its server.
    fn register_events(&self, subscription: Subscription, callback: Arc<dyn EventCallback>) -> Result<i32> {
        self.events().register(subscription, callback)
    }
    fn deregister_events(&self, connection: ConnectionId, callback_id: i32) -> Result<()> {
        self.events().deregister(connection, callback_id)
    }
    /// Removes a `virConnectDomainEventRegister` registration of `identity`.
    fn deregister_legacy_events(&self, connection: ConnectionId, identity: usize) -> Result<()> {
        self.events().deregister_legacy(connection, identity)
    }

    /// `virConnectIsAlive`: in-process connections live until closed.
    fn is_alive(&self) -> bool {
        true
    }
    /// `virConnectSetKeepAlive`: 0 when started, 1 when the peer has no
    /// keepalive (in-process connections have no peer).
    fn set_keepalive(&self, _interval: i32, _count: u32) -> Result<i32> {
        Ok(1)
    }
    /// `virConnectIsSecure`: in-process connections cannot be eavesdropped.
    fn is_secure(&self) -> Result<bool> {
        Ok(true)
    }
    /// `virConnectIsEncrypted`: in-process connections have no channel to
    /// encrypt.
    fn is_encrypted(&self) -> Result<bool> {
        Ok(false)
    }
    /// Registers the connection's close callback, which `make` makes when
    /// the driver keeps one. In-process connections never close by
    /// themselves: nothing is made or kept (as libvirt's in-process drivers,
    /// which never call its free function either).
    fn register_close(&self, _make: &dyn Fn() -> std::sync::Arc<dyn remote::CloseCallback>) -> Result<()> {
        Ok(())
    }
    /// Unregisters the close callback whose function is `identity`.
    fn unregister_close(&self, _identity: usize) -> Result<()> {
        Ok(())
    }
    /// The last reference to the connection goes (`virConnectClose`): a
    /// remote connection says goodbye to its server. Its failure is only
    /// recorded as the thread's last error: the close succeeds all the same.
    fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    /// `virConnectGetType`: the hypervisor's name.
    fn hypervisor_type(&self) -> Result<String> {
        unsupported("virConnectGetType")
    }
    /// `virConnectGetVersion`: the hypervisor's version number.
    fn hypervisor_version(&self) -> Result<u64> {
        unsupported("virConnectGetVersion")
    }
    fn hostname(&self) -> Result<String> {
        unsupported("virConnectGetHostname")
    }
    fn node_info(&self) -> Result<NodeInfo> {
        unsupported("virNodeGetInfo")
    }

    /// `virNodeGetFreeMemory`.
    fn free_memory(&self) -> Result<u64> {
        unsupported("virNodeGetFreeMemory")
    }

    /// `virNodeGetCellsFreeMemory`: the free memory of the NUMA cells from
    /// `start_cell` on, at most `max_cells` of them.
    fn cells_free_memory(&self, _start_cell: usize, _max_cells: usize) -> Result<Vec<u64>> {
        unsupported("virNodeGetCellsFreeMemory")
    }

    /// `virDomainGetSchedulerType`: the scheduler's name and how many
    /// parameters it has.
    fn scheduler_type(&self, _dom: &DomainIdentity) -> Result<(String, i32)> {
        unsupported("virDomainGetSchedulerType")
    }

    /// `virDomainGetSchedulerParameters(Flags)`, `flags` as the driver gets
    /// them (the public function adds `VIR_TYPED_PARAM_STRING_OKAY`): at
    /// most `max` parameters, the room the caller has.
    fn scheduler_parameters(
        &self,
        _dom: &DomainIdentity,
        _flags: u32,
        _max: usize,
        function: &str,
    ) -> Result<Vec<TypedParam>> {
        unsupported(function)
    }

    /// `virDomainSetSchedulerParameters(Flags)`.
    fn set_scheduler_parameters(
        &self,
        _dom: &DomainIdentity,
        _params: &[params::GivenParam],
        _flags: u32,
        function: &str,
    ) -> Result<()> {
        unsupported(function)
    }

    /// `virDomainMemoryStats`: at most `max` statistics, as (tag, value).
    fn memory_stats(&self, _dom: &DomainIdentity, _max: usize, _flags: u32) -> Result<Vec<(i32, u64)>> {
        unsupported("virDomainMemoryStats")
    }

    /// `virDomainBlockStats` of one disk (its target or its source).
    fn block_stats(&self, _dom: &DomainIdentity, _disk: &str) -> Result<BlockStats> {
        unsupported("virDomainBlockStats")
    }

    /// `virDomainInterfaceStats` of one interface (its name or its MAC address).
    fn interface_stats(&self, _dom: &DomainIdentity, _device: &str) -> Result<InterfaceStats> {
        unsupported("virDomainInterfaceStats")
    }

    fn capabilities(&self) -> Result<String> {
        unsupported("virConnectGetCapabilities")
    }
    /// `virConnectGetMaxVcpus`: the most vCPUs a guest of virtualization
    /// type `virt_type` (the driver's default when `None`) may have.
    fn max_vcpus(&self, _virt_type: Option<&str>) -> Result<i32> {
        unsupported("virConnectGetMaxVcpus")
    }

    fn lookup_by_name(&self, name: &str) -> Result<DomainIdentity>;
    fn lookup_by_id(&self, id: i32) -> Result<DomainIdentity>;
    fn lookup_by_uuid(&self, uuid: &crate::uuid::Uuid) -> Result<DomainIdentity>;
    /// Every domain that passes `flags` (`VIR_CONNECT_LIST_DOMAINS_*`).
    fn list_all(&self, flags: u32) -> Result<Vec<DomainIdentity>>;

    /// The current identity (the ID changes as a domain starts and stops).
    fn refresh(&self, dom: &DomainIdentity) -> Result<DomainIdentity>;
    /// `flags` are `virDomainGetState`'s; none is defined, so any is refused.
    fn state(&self, dom: &DomainIdentity, flags: u32) -> Result<DomainState>;
    fn info(&self, dom: &DomainIdentity) -> Result<DomainInfo>;
    fn is_persistent(&self, dom: &DomainIdentity) -> Result<bool>;
    /// `virDomainIsUpdated`: whether the persistent definition of a running
    /// domain was changed since it started.
    fn is_updated(&self, _dom: &DomainIdentity) -> Result<bool> {
        unsupported("virDomainIsUpdated")
    }
    fn xml_desc(&self, dom: &DomainIdentity, flags: u32) -> Result<String>;

    fn suspend(&self, _dom: &DomainIdentity) -> Result<()> {
        unsupported("virDomainSuspend")
    }
    fn resume(&self, _dom: &DomainIdentity) -> Result<()> {
        unsupported("virDomainResume")
    }
    fn reboot(&self, _dom: &DomainIdentity, _flags: u32) -> Result<()> {
        unsupported("virDomainReboot")
    }
    fn reset(&self, _dom: &DomainIdentity, _flags: u32) -> Result<()> {
        unsupported("virDomainReset")
    }
    fn shutdown(&self, _dom: &DomainIdentity) -> Result<()> {
        unsupported("virDomainShutdown")
    }
    fn destroy(&self, _dom: &DomainIdentity) -> Result<()> {
        unsupported("virDomainDestroy")
    }
    fn create(&self, _dom: &DomainIdentity) -> Result<()> {
        unsupported("virDomainCreate")
    }
    fn undefine(&self, _dom: &DomainIdentity) -> Result<()> {
        unsupported("virDomainUndefine")
    }
    fn define_xml(&self, _xml: &str) -> Result<DomainIdentity> {
        unsupported("virDomainDefineXML")
    }
    fn create_xml(&self, _xml: &str, _flags: u32) -> Result<DomainIdentity> {
        unsupported("virDomainCreateXML")
    }
    // The flag variants: without flags each is its plain call; a driver
    // that knows flags overrides them.
    fn create_with_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        without_flags(flags, "virDomainCreateWithFlags", || self.create(dom))
    }
    fn destroy_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        without_flags(flags, "virDomainDestroyFlags", || self.destroy(dom))
    }
    fn shutdown_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        without_flags(flags, "virDomainShutdownFlags", || self.shutdown(dom))
    }
    fn undefine_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        without_flags(flags, "virDomainUndefineFlags", || self.undefine(dom))
    }
    fn define_xml_flags(&self, xml: &str, flags: u32) -> Result<DomainIdentity> {
        without_flags(flags, "virDomainDefineXMLFlags", || self.define_xml(xml))
    }

    // Saving and restoring, memory and vCPUs: `function` is the public
    // function called, which a driver without the operation names.

    /// `virDomainSaveFlags` to the absolute `path`.
    fn save(&self, _dom: &DomainIdentity, _path: &str, _dxml: Option<&str>, _flags: u32, function: &str) -> Result<()> {
        unsupported(function)
    }
    /// `virDomainRestoreFlags` from the absolute `path`.
    fn restore(&self, _path: &str, _dxml: Option<&str>, _flags: u32, function: &str) -> Result<()> {
        unsupported(function)
    }
    fn managed_save(&self, _dom: &DomainIdentity, _flags: u32) -> Result<()> {
        unsupported("virDomainManagedSave")
    }
    fn has_managed_save(&self, _dom: &DomainIdentity, _flags: u32) -> Result<bool> {
        unsupported("virDomainHasManagedSaveImage")
    }
    fn managed_save_remove(&self, _dom: &DomainIdentity, _flags: u32) -> Result<()> {
        unsupported("virDomainManagedSaveRemove")
    }
    /// `virDomainSetMemoryFlags`: `memory_kib` with `virDomainMemoryModFlags`.
    fn set_memory(&self, _dom: &DomainIdentity, _memory_kib: u64, _flags: u32, function: &str) -> Result<()> {
        unsupported(function)
    }
    /// `virDomainSetVcpusFlags` with `virDomainVcpuFlags`.
    fn set_vcpus(&self, _dom: &DomainIdentity, _count: u32, _flags: u32, function: &str) -> Result<()> {
        unsupported(function)
    }
    /// `virDomainGetVcpusFlags` with `virDomainVcpuFlags`.
    fn vcpus(&self, _dom: &DomainIdentity, _flags: u32, function: &str) -> Result<i32> {
        unsupported(function)
    }
    fn os_type(&self, _dom: &DomainIdentity) -> Result<String> {
        unsupported("virDomainGetOSType")
    }
    fn autostart(&self, _dom: &DomainIdentity) -> Result<bool> {
        unsupported("virDomainGetAutostart")
    }

    /// `flags` are `virDomainModificationImpact`.
    fn set_metadata(&self, _dom: &DomainIdentity, _change: &metadata::MetadataChange, _flags: u32) -> Result<()> {
        unsupported("virDomainSetMetadata")
    }
    fn metadata(&self, _dom: &DomainIdentity, _kind: i32, _uri: Option<&str>, _flags: u32) -> Result<String> {
        unsupported("virDomainGetMetadata")
    }

    // Snapshots, by name. `function` is the public function called, which
    // a driver without snapshots names.

    /// `virDomainSnapshotCreateXML`: the new (or redefined) snapshot's name,
    /// and what becomes of the ID of the domain handle the call was made on.
    fn snapshot_create(&self, _dom: &DomainIdentity, _xml: &str, _flags: u32) -> Result<(String, HandleId)> {
        unsupported_snapshot("virDomainSnapshotCreateXML")
    }
    /// `virDomainRevertToSnapshot`: what becomes of the ID of the domain
    /// handle the snapshot's handle holds.
    fn snapshot_revert(&self, _dom: &DomainIdentity, _name: &str, _flags: u32) -> Result<HandleId> {
        unsupported_snapshot("virDomainRevertToSnapshot")
    }
    fn snapshot_delete(&self, _dom: &DomainIdentity, _name: &str, _flags: u32) -> Result<()> {
        unsupported_snapshot("virDomainSnapshotDelete")
    }
    /// The names of the snapshots that pass `flags` (`virDomainSnapshotListFlags`):
    /// the domain's, or the children of snapshot `of`.
    fn snapshot_names(
        &self,
        _dom: &DomainIdentity,
        _of: Option<&str>,
        _flags: u32,
        function: &str,
    ) -> Result<Vec<String>> {
        unsupported_snapshot(function)
    }
    /// How many snapshots `snapshot_names` would list (`virDomainSnapshotNum`,
    /// `virDomainSnapshotNumChildren`).
    fn snapshot_count(&self, dom: &DomainIdentity, of: Option<&str>, flags: u32, function: &str) -> Result<usize> {
        self.snapshot_names(dom, of, flags, function).map(|names| names.len())
    }
    /// Checks that snapshot `name` exists (`virDomainSnapshotLookupByName`).
    fn snapshot_lookup(&self, _dom: &DomainIdentity, _name: &str, _flags: u32) -> Result<()> {
        unsupported_snapshot("virDomainSnapshotLookupByName")
    }
    /// The current snapshot's name (`virDomainSnapshotCurrent`): an error without one.
    fn snapshot_current(&self, _dom: &DomainIdentity, _flags: u32) -> Result<String> {
        unsupported_snapshot("virDomainSnapshotCurrent")
    }
    fn has_current_snapshot(&self, _dom: &DomainIdentity, _flags: u32) -> Result<bool> {
        unsupported_snapshot("virDomainHasCurrentSnapshot")
    }
    fn snapshot_is_current(&self, _dom: &DomainIdentity, _name: &str, _flags: u32) -> Result<bool> {
        unsupported_snapshot("virDomainSnapshotIsCurrent")
    }
    fn snapshot_has_metadata(&self, _dom: &DomainIdentity, _name: &str, _flags: u32) -> Result<bool> {
        unsupported_snapshot("virDomainSnapshotHasMetadata")
    }
    fn snapshot_parent(&self, _dom: &DomainIdentity, _name: &str, _flags: u32) -> Result<String> {
        unsupported_snapshot("virDomainSnapshotGetParent")
    }
    fn snapshot_xml_desc(&self, _dom: &DomainIdentity, _name: &str, _flags: u32) -> Result<String> {
        unsupported_snapshot("virDomainSnapshotGetXMLDesc")
    }

    /// Registers for raw QEMU monitor events named `event` as `flags` say
    /// (libvirt-qemu's API). Only a driver that speaks QMP has them; libvirt
    /// reports their absence without a subsystem.
    fn register_qemu_monitor(
        &self,
        _subscription: Subscription,
        _event: Option<&str>,
        _flags: u32,
        _callback: Arc<dyn EventCallback>,
    ) -> Result<i32> {
        Err(Error::no_support(ErrorDomain::VIR_FROM_NONE, "virConnectDomainQemuMonitorEventRegister"))
    }
    fn deregister_qemu_monitor(&self, _connection: ConnectionId, _callback_id: i32) -> Result<()> {
        Err(Error::no_support(ErrorDomain::VIR_FROM_NONE, "virConnectDomainQemuMonitorEventDeregister"))
    }
    /// `virDomainQemuMonitorCommand` and `...WithFiles` (`function`, which a
    /// driver without a QEMU monitor names in its refusal): QEMU's answer to
    /// `cmd`, QMP JSON, or an HMP command line with flag
    /// `VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP`.
    fn qemu_monitor_command(&self, _dom: &DomainIdentity, _cmd: &str, _flags: u32, function: &str) -> Result<String> {
        Err(Error::no_support(ErrorDomain::VIR_FROM_NONE, function))
    }
    /// `virDomainQemuAgentCommand`: the guest agent's reply to `cmd`,
    /// waiting as `timeout` says (libvirt's seconds or special values).
    fn qemu_agent_command(&self, _dom: &DomainIdentity, _cmd: &str, _timeout: i32, _flags: u32) -> Result<String> {
        Err(Error::no_support(ErrorDomain::VIR_FROM_NONE, "virDomainQemuAgentCommand"))
    }

    // Networks, storage pools and node devices. `class` says which; the
    // test driver has all three, the QEMU driver none.

    fn object_lookup(&self, class: EventClass, by: Lookup<'_>) -> Result<ObjectIdentity> {
        unsupported_object(class, if matches!(by, Lookup::Name(_)) { "LookupByName" } else { "LookupByUUID" })
    }
    /// The objects of `class` that pass `flags` (`VIR_CONNECT_LIST_*`).
    fn object_list(&self, class: EventClass, _flags: u32) -> Result<Vec<ObjectIdentity>> {
        let class = class.descriptor();
        Err(Error::no_support(class.error_domain, class.list_function))
    }
    fn object_define_xml(&self, class: EventClass, _xml: &str, _flags: u32) -> Result<ObjectIdentity> {
        unsupported_object(class, "DefineXML")
    }
    fn object_create_xml(&self, class: EventClass, _xml: &str, _flags: u32) -> Result<ObjectIdentity> {
        unsupported_object(class, "CreateXML")
    }
    fn object_op(&self, class: EventClass, _object: &ObjectIdentity, op: ObjectOp, _flags: u32) -> Result<Done> {
        unsupported_object(class, op.api_name())
    }
    fn object_query(&self, class: EventClass, _object: &ObjectIdentity, query: ObjectQuery) -> Result<bool> {
        unsupported_object(class, query.api_name())
    }
    fn object_xml_desc(&self, class: EventClass, _object: &ObjectIdentity, _flags: u32) -> Result<String> {
        unsupported_object(class, "GetXMLDesc")
    }
    /// `vir<Class>GetAutostart` of a network or storage pool.
    fn object_autostart(&self, class: EventClass, _object: &ObjectIdentity) -> Result<bool> {
        unsupported_object(class, "GetAutostart")
    }
    fn network_bridge(&self, _object: &ObjectIdentity) -> Result<String> {
        unsupported_object(EventClass::Network, "GetBridgeName")
    }
    fn pool_info(&self, _object: &ObjectIdentity) -> Result<PoolInfo> {
        unsupported_object(EventClass::StoragePool, "GetInfo")
    }
    /// How many objects `what` counts, for `function`.
    fn count(&self, what: Counted<'_>, function: &str) -> Result<usize> {
        match what {
            Counted::RunningDomains => Ok(self.list_all(DOMAINS_ACTIVE)?.len()),
            Counted::Names(named) => Ok(self.listed_names(named, function)?.len()),
        }
    }
    /// The first `max` names of what `what` lists (`max` is not negative),
    /// for `function`.
    fn names(&self, what: Named<'_>, max: i32, function: &str) -> Result<Vec<String>> {
        let mut names = self.listed_names(what, function)?;
        names.truncate(usize::try_from(max).unwrap_or(0));
        Ok(names)
    }
    /// The IDs of the first `max` running domains (`max` is not negative).
    fn running_ids(&self, max: i32) -> Result<Vec<i32>> {
        let running = self.list_all(DOMAINS_ACTIVE)?;
        Ok(running.iter().take(usize::try_from(max).unwrap_or(0)).map(|d| d.id).collect())
    }
    /// Every name `what` lists, from the driver's own listings.
    fn listed_names(&self, what: Named<'_>, function: &str) -> Result<Vec<String>> {
        let objects = |found: Vec<ObjectIdentity>| found.into_iter().map(|o| o.name).collect();
        match what {
            Named::InactiveDomains => {
                Ok(self.list_all(DOMAINS_INACTIVE)?.into_iter().map(|d| d.name.to_string()).collect())
            }
            // `VIR_CONNECT_LIST_{NETWORKS,STORAGE_POOLS}_ACTIVE` (2) and
            // `..._INACTIVE` (1), the same in both classes.
            Named::Objects(class, active) => self.object_list(class, if active { 2 } else { 1 }).map(objects),
            Named::NodeDevices { cap, flags } => self.node_device_names(cap, flags, function),
            Named::DeviceCaps(name) => self.node_device_caps(name, function),
        }
    }
    /// The names of the node devices with capability `cap` (all without),
    /// for `function` (`virNodeNumOfDevices`, `virNodeListDevices`).
    fn node_device_names(&self, _cap: Option<&str>, _flags: u32, function: &str) -> Result<Vec<String>> {
        Err(Error::no_support(ErrorDomain::VIR_FROM_NODEDEV, function))
    }
    /// The capability types of node device `name`, for `function`
    /// (`virNodeDeviceNumOfCaps`, `virNodeDeviceListCaps`).
    fn node_device_caps(&self, _name: &str, function: &str) -> Result<Vec<String>> {
        Err(Error::no_support(ErrorDomain::VIR_FROM_NODEDEV, function))
    }
    /// The parent a node device's definition names.
    fn node_device_parent(&self, _name: &str) -> Result<String> {
        unsupported_object(EventClass::NodeDevice, "GetParent")
    }
}

/// Opens the driver a URI names. `None` means `$LIBVIRT_DEFAULT_URI`, else
/// `qemu:///session`.
/// Returns the canonical URI with the driver.
pub fn open(uri: Option<&str>) -> Result<(String, Arc<dyn Driver>)> {
    let env_uri = std::env::var("LIBVIRT_DEFAULT_URI").ok().filter(|u| !u.is_empty());
    let uri = uri.map(str::to_string).or(env_uri).unwrap_or_else(|| "qemu:///session".to_string());
    let qemu_root = |root: std::path::PathBuf| -> Result<Arc<dyn Driver>> { Ok(qemu::QemuDriver::open_root(&root)?) };
    match uri.as_str() {
        "test:///default" => Ok((uri, test::TestDriver::shared_default())),
        "qemu:///session" => Ok((uri, qemu_root(qemu::session_root()?)?)),
        "qemu:///system" => Ok((uri, qemu_root(qemu::SYSTEM_ROOT.into())?)),
        _ => match qemu::embed_root(&uri) {
            Some(root) => Ok((uri, qemu_root(root)?)),
            None => Err(Error::new(ErrorCode::VIR_ERR_NO_CONNECT, ErrorDomain::VIR_FROM_NONE, Some(uri))),
        },
    }
}
