//! The messages of libvirt 9.0's RPC programs that virt-events speaks,
//! declared once: each struct below lists its fields in wire order, and the
//! procedure table names, for every procedure, the body of its call (or of
//! its event message) and of its successful reply.

use std::fmt;

use super::functions;
use super::xdr::{Array, CharArray, Decoder, Encoder, Xdr, XdrError, XdrResult};
use crate::uuid::Uuid;

pub const REMOTE_PROGRAM: u32 = 0x2000_8086;
pub const QEMU_PROGRAM: u32 = 0x2000_8087;
pub const KEEPALIVE_PROGRAM: u32 = 0x6b65_6570;
/// Every program is at version 1.
pub const PROTOCOL_VERSION: u32 = 1;

// The array limits below are libvirt 9.0's (tag v9.0.0); tests/rpc_golden.rs
// checks each against the XDR routines of the real libvirt.so.0 9.0.

/// `REMOTE_AUTH_TYPE_LIST_MAX`.
pub const AUTH_TYPE_LIST_MAX: u32 = 20;
/// `REMOTE_DOMAIN_LIST_MAX`.
pub const DOMAIN_LIST_MAX: u32 = 16384;
/// `REMOTE_DOMAIN_EVENT_GRAPHICS_IDENTITY_MAX`.
pub const GRAPHICS_IDENTITY_MAX: u32 = 20;
/// `REMOTE_DOMAIN_EVENT_TUNABLE_MAX`.
pub const TUNABLE_MAX: u32 = 2048;
/// `REMOTE_DOMAIN_JOB_STATS_MAX`.
pub const JOB_STATS_MAX: u32 = 64;
/// `REMOTE_NETWORK_LIST_MAX`.
pub const NETWORK_LIST_MAX: u32 = 16384;
/// `REMOTE_STORAGE_POOL_LIST_MAX`.
pub const STORAGE_POOL_LIST_MAX: u32 = 16384;
/// `REMOTE_DOMAIN_SNAPSHOT_LIST_MAX`.
pub const SNAPSHOT_LIST_MAX: u32 = 1024;
/// `REMOTE_NODE_DEVICE_LIST_MAX`.
pub const NODE_DEVICE_LIST_MAX: u32 = 65536;
/// `REMOTE_NODE_DEVICE_CAPS_LIST_MAX`.
pub const NODE_DEVICE_CAPS_LIST_MAX: u32 = 65536;
/// `REMOTE_NODE_MAX_CELLS`.
pub const NODE_MAX_CELLS: u32 = 1024;
/// `REMOTE_DOMAIN_SCHEDULER_PARAMETERS_MAX`.
pub const SCHEDULER_PARAMETERS_MAX: u32 = 16;
/// `REMOTE_DOMAIN_MEMORY_STATS_MAX`.
pub const MEMORY_STATS_MAX: u32 = 1024;

/// Declares structs whose XDR form is their fields in order.
macro_rules! xdr_structs {
    ($( $(#[$meta:meta])* pub struct $name:ident { $( $field:ident : $ty:ty ),* $(,)? } )*) => {$(
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name { $( pub $field: $ty ),* }

        impl Xdr for $name {
            fn encode(&self, _e: &mut Encoder) {
                $( self.$field.encode(_e); )*
            }
            fn decode(_d: &mut Decoder<'_>) -> XdrResult<$name> {
                Ok($name { $( $field: Xdr::decode(_d)? ),* })
            }
        }
    )*};
}

xdr_structs! {
    /// `remote_nonnull_domain`; `id` is -1 when the domain is not running.
    pub struct NonnullDomain { name: String, uuid: Uuid, id: i32 }
    pub struct NonnullNetwork { name: String, uuid: Uuid }
    pub struct NonnullStoragePool { name: String, uuid: Uuid }
    pub struct NonnullNodeDevice { name: String }
    pub struct NonnullSecret { uuid: Uuid, usage_type: i32, usage_id: String }

    /// `remote_error`: the fields of `virError`.
    pub struct RemoteError {
        code: i32,
        domain: i32,
        message: Option<String>,
        level: i32,
        dom: Option<NonnullDomain>,
        str1: Option<String>,
        str2: Option<String>,
        str3: Option<String>,
        int1: i32,
        int2: i32,
        net: Option<NonnullNetwork>,
    }

    pub struct TypedParam { field: String, value: TypedParamValue }

    // Connection calls.
    pub struct AuthListRet { types: Array<i32, AUTH_TYPE_LIST_MAX> }
    /// `name` is NULL or `""` when the client wants the server's default.
    pub struct ConnectOpenArgs { name: Option<String>, flags: u32 }
    pub struct SupportsFeatureArgs { feature: i32 }
    pub struct SupportsFeatureRet { supported: i32 }
    pub struct GetUriRet { uri: String }
    pub struct NodeGetInfoRet {
        model: CharArray<32>,
        memory: u64,
        cpus: i32,
        mhz: i32,
        nodes: i32,
        sockets: i32,
        cores: i32,
        threads: i32,
    }

    // Domains.
    pub struct LookupByNameArgs { name: String }
    pub struct LookupByIdArgs { id: i32 }
    pub struct LookupByUuidArgs { uuid: Uuid }
    /// The reply of every lookup, and the argument of the calls that take
    /// only a domain.
    pub struct DomainArg { dom: NonnullDomain }
    pub struct DomainFlagsArgs { dom: NonnullDomain, flags: u32 }
    pub struct DefineXmlArgs { xml: String }
    pub struct CreateXmlArgs { xml_desc: String, flags: u32 }
    pub struct ListAllDomainsArgs { need_results: i32, flags: u32 }
    pub struct ListAllDomainsRet { domains: Array<NonnullDomain, DOMAIN_LIST_MAX>, ret: u32 }
    /// `state` is an `unsigned char` and `nr_virt_cpu` an `unsigned short`,
    /// both a full word on the wire.
    pub struct DomainGetInfoRet { state: u32, max_mem: u64, memory: u64, nr_virt_cpu: u32, cpu_time: u64 }
    pub struct DomainGetStateRet { state: i32, reason: i32 }
    pub struct DomainGetXmlDescRet { xml: String }
    pub struct AuthPolkitRet { complete: i32 }

    // Host answers, saving, memory and vCPUs. A reply of one field is the
    // same on the wire whatever libvirt names the field (`num`, `active`,
    // `persistent`, `secure`...), so one struct serves each kind.
    pub struct StringRet { value: String }
    pub struct IntRet { value: i32 }
    pub struct HyperRet { value: u64 }
    pub struct DomainSaveArgs { dom: NonnullDomain, to: String }
    pub struct DomainSaveFlagsArgs { dom: NonnullDomain, to: String, dxml: Option<String>, flags: u32 }
    pub struct DomainRestoreArgs { from: String }
    pub struct DomainRestoreFlagsArgs { from: String, dxml: Option<String>, flags: u32 }
    pub struct DomainMemoryArgs { dom: NonnullDomain, memory: u64 }
    pub struct DomainMemoryFlagsArgs { dom: NonnullDomain, memory: u64, flags: u32 }
    pub struct DomainVcpusArgs { dom: NonnullDomain, nvcpus: u32 }
    pub struct DomainVcpusFlagsArgs { dom: NonnullDomain, nvcpus: u32, flags: u32 }
    /// `virConnectGetMaxVcpus`: the virtualization type, NULL for the
    /// driver's default.
    pub struct ConnectGetMaxVcpusArgs { virt_type: Option<String> }

    // The host's free memory, the scheduler and the statistics.
    pub struct NodeGetCellsFreeMemoryArgs { start_cell: i32, maxcells: i32 }
    pub struct NodeGetCellsFreeMemoryRet { cells: Array<u64, NODE_MAX_CELLS> }
    pub struct SchedulerTypeRet { kind: String, nparams: i32 }
    /// `nparams` is the room the caller has for parameters.
    pub struct SchedulerParametersArgs { dom: NonnullDomain, nparams: i32 }
    pub struct SchedulerParametersFlagsArgs { dom: NonnullDomain, nparams: i32, flags: u32 }
    /// The reply of both scheduler getters.
    pub struct SchedulerParametersRet { params: Array<TypedParam, SCHEDULER_PARAMETERS_MAX> }
    pub struct SetSchedulerParametersArgs { dom: NonnullDomain, params: Array<TypedParam, SCHEDULER_PARAMETERS_MAX> }
    pub struct SetSchedulerParametersFlagsArgs {
        dom: NonnullDomain,
        params: Array<TypedParam, SCHEDULER_PARAMETERS_MAX>,
        flags: u32,
    }
    pub struct MemoryStatsArgs { dom: NonnullDomain, max_stats: u32, flags: u32 }
    pub struct MemoryStat { tag: i32, val: u64 }
    pub struct MemoryStatsRet { stats: Array<MemoryStat, MEMORY_STATS_MAX> }
    /// A disk (its target or source) or an interface (its name or MAC
    /// address) of a domain.
    pub struct DomainDeviceArgs { dom: NonnullDomain, device: String }
    pub struct BlockStatsRet { rd_req: i64, rd_bytes: i64, wr_req: i64, wr_bytes: i64, errs: i64 }
    pub struct InterfaceStatsRet {
        rx_bytes: i64,
        rx_packets: i64,
        rx_errs: i64,
        rx_drop: i64,
        tx_bytes: i64,
        tx_packets: i64,
        tx_errs: i64,
        tx_drop: i64,
    }

    // Snapshots.
    /// `remote_nonnull_domain_snapshot`.
    pub struct NonnullSnapshot { name: String, dom: NonnullDomain }
    pub struct SnapshotCreateXmlArgs { dom: NonnullDomain, xml_desc: String, flags: u32 }
    /// The reply of every call that returns a snapshot.
    pub struct SnapshotRet { snap: NonnullSnapshot }
    /// The argument of the calls that take a snapshot and flags.
    pub struct SnapshotFlagsArgs { snap: NonnullSnapshot, flags: u32 }
    pub struct SnapshotLookupByNameArgs { dom: NonnullDomain, name: String, flags: u32 }
    pub struct SnapshotListNamesArgs { dom: NonnullDomain, maxnames: i32, flags: u32 }
    pub struct SnapshotListChildrenNamesArgs { snap: NonnullSnapshot, maxnames: i32, flags: u32 }
    pub struct SnapshotListNamesRet { names: Array<String, SNAPSHOT_LIST_MAX> }
    pub struct ListAllSnapshotsArgs { dom: NonnullDomain, need_results: i32, flags: u32 }
    pub struct ListAllChildrenArgs { snap: NonnullSnapshot, need_results: i32, flags: u32 }
    pub struct ListAllSnapshotsRet { snapshots: Array<NonnullSnapshot, SNAPSHOT_LIST_MAX>, ret: i32 }

    // Networks, storage pools and node devices (`rpc::objects` speaks
    // them for every class at once; these are their per-class forms).
    pub struct NetworkArg { net: NonnullNetwork }
    pub struct NetworkFlagsArgs { net: NonnullNetwork, flags: u32 }
    pub struct StoragePoolArg { pool: NonnullStoragePool }
    pub struct StoragePoolFlagsArgs { pool: NonnullStoragePool, flags: u32 }
    pub struct NodeDeviceArg { dev: NonnullNodeDevice }
    /// A node device call names the device alone.
    pub struct NodeDeviceNameFlagsArgs { name: String, flags: u32 }
    pub struct NodeDeviceGetParentRet { parent: Option<String> }
    /// The legacy listings: names, and how many. Defined domains,
    /// networks and pools share a limit (16384 each).
    pub struct ListNamesArgs { maxnames: i32 }
    pub struct ListNamesRet { names: Array<String, NETWORK_LIST_MAX> }
    /// `virConnectListDomains`: the running domains' IDs.
    pub struct ListIdsArgs { maxids: i32 }
    pub struct ListIdsRet { ids: Array<i32, DOMAIN_LIST_MAX> }
    pub struct NodeNumOfDevicesArgs { cap: Option<String>, flags: u32 }
    pub struct NodeListDevicesArgs { cap: Option<String>, maxnames: i32, flags: u32 }
    pub struct NodeDeviceListCapsArgs { name: String, maxnames: i32 }
    /// Node device names and capability types share a limit (65536).
    pub struct DeviceNamesRet { names: Array<String, NODE_DEVICE_LIST_MAX> }
    pub struct ListAllNetworksRet { nets: Array<NonnullNetwork, NETWORK_LIST_MAX>, ret: u32 }
    pub struct ListAllStoragePoolsRet { pools: Array<NonnullStoragePool, STORAGE_POOL_LIST_MAX>, ret: u32 }
    pub struct ListAllNodeDevicesRet { devices: Array<NonnullNodeDevice, NODE_DEVICE_LIST_MAX>, ret: u32 }

    // Event registrations.
    pub struct DomainEventCallbackRegisterArgs { event_id: i32, dom: Option<NonnullDomain> }
    pub struct NetworkEventRegisterArgs { event_id: i32, net: Option<NonnullNetwork> }
    pub struct StoragePoolEventRegisterArgs { event_id: i32, pool: Option<NonnullStoragePool> }
    pub struct NodeDeviceEventRegisterArgs { event_id: i32, dev: Option<NonnullNodeDevice> }
    pub struct SecretEventRegisterArgs { event_id: i32, secret: Option<NonnullSecret> }
    pub struct CallbackIdArg { callback_id: i32 }
    /// `virConnectDomainEventRegisterAny` without callback IDs (167/168).
    pub struct LegacyRegisterAnyArgs { event_id: i32 }
    /// `virConnectDomainEventRegister`/`Deregister` (105/106).
    pub struct LegacyRegisteredRet { cb_registered: i32 }
    pub struct QemuMonitorRegisterArgs { dom: Option<NonnullDomain>, event: Option<String>, flags: u32 }
    /// `virDomainQemuMonitorCommand` (1), and `...WithFiles` (7), whose
    /// descriptors would travel beside the message, never in it.
    pub struct QemuMonitorCommandArgs { dom: NonnullDomain, cmd: String, flags: u32 }
    pub struct QemuMonitorCommandRet { result: String }
    pub struct QemuAgentCommandArgs { dom: NonnullDomain, cmd: String, timeout: i32, flags: u32 }
    pub struct QemuAgentCommandRet { result: Option<String> }

    // The legacy domain event bodies; the callback-style messages of IDs
    // 0-15 wrap them.
    pub struct LifecycleMsg { dom: NonnullDomain, event: i32, detail: i32 }
    pub struct DomainOnlyMsg { dom: NonnullDomain }
    pub struct RtcChangeMsg { dom: NonnullDomain, offset: i64 }
    pub struct WatchdogMsg { dom: NonnullDomain, action: i32 }
    pub struct IoErrorMsg { dom: NonnullDomain, src_path: String, dev_alias: String, action: i32 }
    pub struct GraphicsAddress { family: i32, node: String, service: String }
    pub struct GraphicsIdentity { kind: String, name: String }
    pub struct GraphicsMsg {
        dom: NonnullDomain,
        phase: i32,
        local: GraphicsAddress,
        remote: GraphicsAddress,
        auth_scheme: String,
        subject: Array<GraphicsIdentity, GRAPHICS_IDENTITY_MAX>,
    }
    pub struct IoErrorReasonMsg { dom: NonnullDomain, src_path: String, dev_alias: String, action: i32, reason: String }
    pub struct BlockJobMsg { dom: NonnullDomain, path: String, kind: i32, status: i32 }
    pub struct DiskChangeMsg {
        dom: NonnullDomain,
        old_src_path: Option<String>,
        new_src_path: Option<String>,
        dev_alias: String,
        reason: i32,
    }
    pub struct TrayChangeMsg { dom: NonnullDomain, dev_alias: String, reason: i32 }
    pub struct BalloonChangeMsg { dom: NonnullDomain, actual: u64 }
    pub struct DeviceAliasMsg { dom: NonnullDomain, dev_alias: String }

    // Callback-only domain event bodies (IDs 16-26) and the object classes'.
    pub struct BlockJob2Msg { callback_id: i32, dom: NonnullDomain, dst: String, kind: i32, status: i32 }
    pub struct TunableMsg { callback_id: i32, dom: NonnullDomain, params: Array<TypedParam, TUNABLE_MAX> }
    pub struct AgentLifecycleMsg { callback_id: i32, dom: NonnullDomain, state: i32, reason: i32 }
    /// DEVICE_ADDED and DEVICE_REMOVAL_FAILED.
    pub struct CallbackDeviceMsg { callback_id: i32, dom: NonnullDomain, dev_alias: String }
    pub struct MigrationIterationMsg { callback_id: i32, dom: NonnullDomain, iteration: i32 }
    pub struct JobCompletedMsg { callback_id: i32, dom: NonnullDomain, params: Array<TypedParam, JOB_STATS_MAX> }
    pub struct MetadataChangeMsg { callback_id: i32, dom: NonnullDomain, kind: i32, nsuri: Option<String> }
    pub struct BlockThresholdMsg {
        callback_id: i32,
        dom: NonnullDomain,
        dev: String,
        path: Option<String>,
        threshold: u64,
        excess: u64,
    }
    pub struct MemoryFailureMsg { callback_id: i32, dom: NonnullDomain, recipient: i32, action: i32, flags: u32 }
    pub struct MemoryDeviceSizeChangeMsg { callback_id: i32, dom: NonnullDomain, alias: String, size: u64 }
    pub struct NetworkLifecycleMsg { callback_id: i32, net: NonnullNetwork, event: i32, detail: i32 }
    pub struct StoragePoolLifecycleMsg { callback_id: i32, pool: NonnullStoragePool, event: i32, detail: i32 }
    pub struct StoragePoolRefreshMsg { callback_id: i32, pool: NonnullStoragePool }
    pub struct NodeDeviceLifecycleMsg { callback_id: i32, dev: NonnullNodeDevice, event: i32, detail: i32 }
    pub struct NodeDeviceUpdateMsg { callback_id: i32, dev: NonnullNodeDevice }
    pub struct SecretLifecycleMsg { callback_id: i32, secret: NonnullSecret, event: i32, detail: i32 }
    pub struct SecretValueChangedMsg { callback_id: i32, secret: NonnullSecret }
    pub struct ConnectionClosedMsg { reason: i32 }
    pub struct QemuMonitorEventMsg {
        callback_id: i32,
        dom: NonnullDomain,
        event: String,
        seconds: i64,
        micros: u32,
        details: Option<String>,
    }
}

/// A callback-style domain event message of IDs 0-15 except the PM ones:
/// the server's callback ID, then the legacy body.
#[derive(Clone, Debug, PartialEq)]
pub struct Callback<M> {
    pub callback_id: i32,
    pub msg: M,
}

impl<M: Xdr> Xdr for Callback<M> {
    fn encode(&self, e: &mut Encoder) {
        self.callback_id.encode(e);
        self.msg.encode(e);
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<Callback<M>> {
        Ok(Callback { callback_id: d.i32()?, msg: M::decode(d)? })
    }
}

/// The PMWAKEUP, PMSUSPEND and PMSUSPEND_DISK callback messages, which
/// carry a reason between the callback ID and the legacy body.
#[derive(Clone, Debug, PartialEq)]
pub struct CallbackWithReason<M> {
    pub callback_id: i32,
    pub reason: i32,
    pub msg: M,
}

impl<M: Xdr> Xdr for CallbackWithReason<M> {
    fn encode(&self, e: &mut Encoder) {
        self.callback_id.encode(e);
        self.reason.encode(e);
        self.msg.encode(e);
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<CallbackWithReason<M>> {
        Ok(CallbackWithReason { callback_id: d.i32()?, reason: d.i32()?, msg: M::decode(d)? })
    }
}

/// The driver's statistics records and their wire forms, whose fields are
/// the same, in the same order.
macro_rules! same_fields {
    ($( $core:ident <=> $wire:ident { $($field:ident),* } )*) => {$(
        impl From<crate::driver::$core> for $wire {
            fn from(s: crate::driver::$core) -> $wire {
                $wire { $($field: s.$field),* }
            }
        }
        impl From<$wire> for crate::driver::$core {
            fn from(s: $wire) -> crate::driver::$core {
                crate::driver::$core { $($field: s.$field),* }
            }
        }
    )*};
}

same_fields! {
    BlockStats <=> BlockStatsRet { rd_req, rd_bytes, wr_req, wr_bytes, errs }
    InterfaceStats <=> InterfaceStatsRet {
        rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop
    }
}

/// A typed parameter as the wire carries it, and back: the two differ
/// only in how a boolean is held.
impl From<&crate::event::TypedParam> for TypedParam {
    fn from(param: &crate::event::TypedParam) -> TypedParam {
        use crate::event::TypedValue;
        let value = match &param.value {
            TypedValue::Int(v) => TypedParamValue::Int(*v),
            TypedValue::UInt(v) => TypedParamValue::UInt(*v),
            TypedValue::LLong(v) => TypedParamValue::LLong(*v),
            TypedValue::ULLong(v) => TypedParamValue::ULLong(*v),
            TypedValue::Double(v) => TypedParamValue::Double(*v),
            TypedValue::Boolean(v) => TypedParamValue::Boolean(i32::from(*v)),
            TypedValue::String(v) => TypedParamValue::String(v.clone()),
        };
        TypedParam { field: param.name.clone(), value }
    }
}

impl From<&TypedParam> for crate::event::TypedParam {
    fn from(param: &TypedParam) -> crate::event::TypedParam {
        use crate::event::TypedValue;
        let value = match &param.value {
            TypedParamValue::Int(v) => TypedValue::Int(*v),
            TypedParamValue::UInt(v) => TypedValue::UInt(*v),
            TypedParamValue::LLong(v) => TypedValue::LLong(*v),
            TypedParamValue::ULLong(v) => TypedValue::ULLong(*v),
            TypedParamValue::Double(v) => TypedValue::Double(*v),
            TypedParamValue::Boolean(v) => TypedValue::Boolean(*v != 0),
            TypedParamValue::String(v) => TypedValue::String(v.clone()),
        };
        crate::event::TypedParam::new(param.field.clone(), value)
    }
}

/// `remote_typed_param_value`: a union on `virTypedParameterType`.
#[derive(Clone, Debug, PartialEq)]
pub enum TypedParamValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(i32),
    String(String),
}

impl Xdr for TypedParamValue {
    const MIN_SIZE: usize = 8;
    fn encode(&self, e: &mut Encoder) {
        match self {
            TypedParamValue::Int(v) => (1, v).encode_arm(e),
            TypedParamValue::UInt(v) => (2, v).encode_arm(e),
            TypedParamValue::LLong(v) => (3, v).encode_arm(e),
            TypedParamValue::ULLong(v) => (4, v).encode_arm(e),
            TypedParamValue::Double(v) => (5, v).encode_arm(e),
            TypedParamValue::Boolean(v) => (6, v).encode_arm(e),
            TypedParamValue::String(v) => (7, v).encode_arm(e),
        }
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<TypedParamValue> {
        Ok(match d.i32()? {
            1 => TypedParamValue::Int(Xdr::decode(d)?),
            2 => TypedParamValue::UInt(Xdr::decode(d)?),
            3 => TypedParamValue::LLong(Xdr::decode(d)?),
            4 => TypedParamValue::ULLong(Xdr::decode(d)?),
            5 => TypedParamValue::Double(Xdr::decode(d)?),
            6 => TypedParamValue::Boolean(Xdr::decode(d)?),
            7 => TypedParamValue::String(Xdr::decode(d)?),
            other => return Err(XdrError::BadDiscriminant(other)),
        })
    }
}

/// A union arm: its discriminant, then its value.
trait UnionArm {
    fn encode_arm(self, e: &mut Encoder);
}

impl<T: Xdr> UnionArm for (i32, &T) {
    fn encode_arm(self, e: &mut Encoder) {
        e.i32(self.0);
        self.1.encode(e);
    }
}

/// Any decoded body, for diagnostics and the golden tests.
pub trait Body: fmt::Debug {
    fn encode_body(&self, e: &mut Encoder);
}

impl<T: Xdr + fmt::Debug> Body for T {
    fn encode_body(&self, e: &mut Encoder) {
        self.encode(e)
    }
}

pub type BodyDecoder = fn(&[u8]) -> XdrResult<Box<dyn Body>>;

fn decode_boxed<T: Xdr + fmt::Debug + 'static>(bytes: &[u8]) -> XdrResult<Box<dyn Body>> {
    super::xdr::decode_all::<T>(bytes).map(|body| Box::new(body) as Box<dyn Body>)
}

/// Whether `bytes` start with a `T`, whatever follows it.
fn starts_with<T: Xdr>(bytes: &[u8]) -> XdrResult<()> {
    super::xdr::decode_leading::<T>(bytes).map(drop)
}

/// One procedure: for a call, the bodies of its call and of its successful
/// reply; for an event message, `args` is the message's body.
pub struct Procedure {
    pub program: u32,
    pub number: i32,
    pub name: &'static str,
    pub args: BodyDecoder,
    pub ret: BodyDecoder,
    /// Whether a call's body starts with its arguments, the check libvirtd
    /// makes before anything else (bytes after them are ignored).
    pub args_lead: fn(&[u8]) -> XdrResult<()>,
}

impl Procedure {
    /// Whether this is an event the server sends rather than a call.
    pub fn is_event_message(&self) -> bool {
        self.name.contains("EVENT") && !self.name.contains("REGISTER")
    }
}

/// Declares the procedure numbers (one module of constants per program)
/// and the table of their bodies.
macro_rules! procedures {
    ($( $module:ident ($program:expr) { $( $name:ident = $number:literal : $args:ty => $ret:ty ),* $(,)? } )*) => {
        $(
            #[allow(missing_docs)]
            pub mod $module {
                $( pub const $name: i32 = $number; )*
            }
        )*
        pub static PROCEDURES: &[Procedure] = &[$($(
            Procedure {
                program: $program,
                number: $number,
                name: stringify!($name),
                args: decode_boxed::<$args>,
                ret: decode_boxed::<$ret>,
                args_lead: starts_with::<$args>,
            },
        )*)*];
    };
}

procedures! {
    remote (REMOTE_PROGRAM) {
        CONNECT_OPEN = 1: ConnectOpenArgs => (),
        CONNECT_CLOSE = 2: () => (),
        CONNECT_GET_TYPE = 3: () => StringRet,
        CONNECT_GET_VERSION = 4: () => HyperRet,
        CONNECT_GET_MAX_VCPUS = 5: ConnectGetMaxVcpusArgs => IntRet,
        NODE_GET_INFO = 6: () => NodeGetInfoRet,
        CONNECT_GET_CAPABILITIES = 7: () => StringRet,
        DOMAIN_CREATE = 9: DomainArg => (),
        DOMAIN_CREATE_XML = 10: CreateXmlArgs => DomainArg,
        DOMAIN_DEFINE_XML = 11: DefineXmlArgs => DomainArg,
        DOMAIN_DESTROY = 12: DomainArg => (),
        DOMAIN_GET_XML_DESC = 14: DomainFlagsArgs => DomainGetXmlDescRet,
        DOMAIN_GET_AUTOSTART = 15: DomainArg => IntRet,
        DOMAIN_GET_INFO = 16: DomainArg => DomainGetInfoRet,
        DOMAIN_GET_MAX_VCPUS = 18: DomainArg => IntRet,
        DOMAIN_GET_OS_TYPE = 19: DomainArg => StringRet,
        CONNECT_LIST_DEFINED_DOMAINS = 21: ListNamesArgs => ListNamesRet,
        DOMAIN_LOOKUP_BY_ID = 22: LookupByIdArgs => DomainArg,
        DOMAIN_LOOKUP_BY_NAME = 23: LookupByNameArgs => DomainArg,
        DOMAIN_LOOKUP_BY_UUID = 24: LookupByUuidArgs => DomainArg,
        CONNECT_NUM_OF_DEFINED_DOMAINS = 25: () => IntRet,
        DOMAIN_REBOOT = 27: DomainFlagsArgs => (),
        DOMAIN_RESUME = 28: DomainArg => (),
        DOMAIN_SET_MAX_MEMORY = 30: DomainMemoryArgs => (),
        DOMAIN_SET_MEMORY = 31: DomainMemoryArgs => (),
        DOMAIN_SET_VCPUS = 32: DomainVcpusArgs => (),
        DOMAIN_SHUTDOWN = 33: DomainArg => (),
        DOMAIN_SUSPEND = 34: DomainArg => (),
        DOMAIN_UNDEFINE = 35: DomainArg => (),
        CONNECT_LIST_DEFINED_NETWORKS = 36: ListNamesArgs => ListNamesRet,
        CONNECT_LIST_DOMAINS = 37: ListIdsArgs => ListIdsRet,
        CONNECT_LIST_NETWORKS = 38: ListNamesArgs => ListNamesRet,
        NETWORK_CREATE = 39: NetworkArg => (),
        NETWORK_CREATE_XML = 40: DefineXmlArgs => NetworkArg,
        NETWORK_DEFINE_XML = 41: DefineXmlArgs => NetworkArg,
        NETWORK_DESTROY = 42: NetworkArg => (),
        NETWORK_GET_XML_DESC = 43: NetworkFlagsArgs => DomainGetXmlDescRet,
        NETWORK_LOOKUP_BY_NAME = 46: LookupByNameArgs => NetworkArg,
        NETWORK_LOOKUP_BY_UUID = 47: LookupByUuidArgs => NetworkArg,
        NETWORK_UNDEFINE = 49: NetworkArg => (),
        CONNECT_NUM_OF_DEFINED_NETWORKS = 50: () => IntRet,
        CONNECT_NUM_OF_DOMAINS = 51: () => IntRet,
        CONNECT_NUM_OF_NETWORKS = 52: () => IntRet,
        DOMAIN_RESTORE = 54: DomainRestoreArgs => (),
        DOMAIN_SAVE = 55: DomainSaveArgs => (),
        DOMAIN_GET_SCHEDULER_TYPE = 56: DomainArg => SchedulerTypeRet,
        DOMAIN_GET_SCHEDULER_PARAMETERS = 57: SchedulerParametersArgs => SchedulerParametersRet,
        DOMAIN_SET_SCHEDULER_PARAMETERS = 58: SetSchedulerParametersArgs => (),
        CONNECT_GET_HOSTNAME = 59: () => StringRet,
        CONNECT_SUPPORTS_FEATURE = 60: SupportsFeatureArgs => SupportsFeatureRet,
        DOMAIN_BLOCK_STATS = 64: DomainDeviceArgs => BlockStatsRet,
        DOMAIN_INTERFACE_STATS = 65: DomainDeviceArgs => InterfaceStatsRet,
        AUTH_LIST = 66: () => AuthListRet,
        AUTH_POLKIT = 70: () => AuthPolkitRet,
        CONNECT_NUM_OF_STORAGE_POOLS = 71: () => IntRet,
        CONNECT_LIST_STORAGE_POOLS = 72: ListNamesArgs => ListNamesRet,
        CONNECT_NUM_OF_DEFINED_STORAGE_POOLS = 73: () => IntRet,
        CONNECT_LIST_DEFINED_STORAGE_POOLS = 74: ListNamesArgs => ListNamesRet,
        STORAGE_POOL_CREATE_XML = 76: CreateXmlArgs => StoragePoolArg,
        STORAGE_POOL_DEFINE_XML = 77: CreateXmlArgs => StoragePoolArg,
        STORAGE_POOL_CREATE = 78: StoragePoolFlagsArgs => (),
        STORAGE_POOL_BUILD = 79: StoragePoolFlagsArgs => (),
        STORAGE_POOL_DESTROY = 80: StoragePoolArg => (),
        STORAGE_POOL_DELETE = 81: StoragePoolFlagsArgs => (),
        STORAGE_POOL_UNDEFINE = 82: StoragePoolArg => (),
        STORAGE_POOL_REFRESH = 83: StoragePoolFlagsArgs => (),
        STORAGE_POOL_LOOKUP_BY_NAME = 84: LookupByNameArgs => StoragePoolArg,
        STORAGE_POOL_LOOKUP_BY_UUID = 85: LookupByUuidArgs => StoragePoolArg,
        STORAGE_POOL_GET_XML_DESC = 88: StoragePoolFlagsArgs => DomainGetXmlDescRet,
        NODE_GET_CELLS_FREE_MEMORY = 101: NodeGetCellsFreeMemoryArgs => NodeGetCellsFreeMemoryRet,
        NODE_GET_FREE_MEMORY = 102: () => HyperRet,
        CONNECT_DOMAIN_EVENT_REGISTER = 105: () => LegacyRegisteredRet,
        CONNECT_DOMAIN_EVENT_DEREGISTER = 106: () => LegacyRegisteredRet,
        DOMAIN_EVENT_LIFECYCLE = 107: LifecycleMsg => (),
        CONNECT_GET_URI = 110: () => GetUriRet,
        NODE_NUM_OF_DEVICES = 111: NodeNumOfDevicesArgs => IntRet,
        NODE_LIST_DEVICES = 112: NodeListDevicesArgs => DeviceNamesRet,
        NODE_DEVICE_LOOKUP_BY_NAME = 113: LookupByNameArgs => NodeDeviceArg,
        NODE_DEVICE_GET_XML_DESC = 114: NodeDeviceNameFlagsArgs => DomainGetXmlDescRet,
        NODE_DEVICE_GET_PARENT = 115: LookupByNameArgs => NodeDeviceGetParentRet,
        NODE_DEVICE_NUM_OF_CAPS = 116: LookupByNameArgs => IntRet,
        NODE_DEVICE_LIST_CAPS = 117: NodeDeviceListCapsArgs => DeviceNamesRet,
        NODE_DEVICE_CREATE_XML = 123: CreateXmlArgs => NodeDeviceArg,
        NODE_DEVICE_DESTROY = 124: LookupByNameArgs => (),
        CONNECT_IS_ENCRYPTED = 148: () => IntRet,
        CONNECT_IS_SECURE = 149: () => IntRet,
        DOMAIN_IS_ACTIVE = 150: DomainArg => IntRet,
        DOMAIN_IS_PERSISTENT = 151: DomainArg => IntRet,
        NETWORK_IS_ACTIVE = 152: NetworkArg => IntRet,
        NETWORK_IS_PERSISTENT = 153: NetworkArg => IntRet,
        STORAGE_POOL_IS_ACTIVE = 154: StoragePoolArg => IntRet,
        STORAGE_POOL_IS_PERSISTENT = 155: StoragePoolArg => IntRet,
        DOMAIN_MEMORY_STATS = 159: MemoryStatsArgs => MemoryStatsRet,
        CONNECT_DOMAIN_EVENT_REGISTER_ANY = 167: LegacyRegisterAnyArgs => (),
        CONNECT_DOMAIN_EVENT_DEREGISTER_ANY = 168: LegacyRegisterAnyArgs => (),
        DOMAIN_EVENT_REBOOT = 169: DomainOnlyMsg => (),
        DOMAIN_EVENT_RTC_CHANGE = 170: RtcChangeMsg => (),
        DOMAIN_EVENT_WATCHDOG = 171: WatchdogMsg => (),
        DOMAIN_EVENT_IO_ERROR = 172: IoErrorMsg => (),
        DOMAIN_EVENT_GRAPHICS = 173: GraphicsMsg => (),
        DOMAIN_MANAGED_SAVE = 182: DomainFlagsArgs => (),
        DOMAIN_HAS_MANAGED_SAVE_IMAGE = 183: DomainFlagsArgs => IntRet,
        DOMAIN_MANAGED_SAVE_REMOVE = 184: DomainFlagsArgs => (),
        DOMAIN_SNAPSHOT_CREATE_XML = 185: SnapshotCreateXmlArgs => SnapshotRet,
        DOMAIN_SNAPSHOT_GET_XML_DESC = 186: SnapshotFlagsArgs => StringRet,
        DOMAIN_SNAPSHOT_NUM = 187: DomainFlagsArgs => IntRet,
        DOMAIN_SNAPSHOT_LIST_NAMES = 188: SnapshotListNamesArgs => SnapshotListNamesRet,
        DOMAIN_SNAPSHOT_LOOKUP_BY_NAME = 189: SnapshotLookupByNameArgs => SnapshotRet,
        DOMAIN_HAS_CURRENT_SNAPSHOT = 190: DomainFlagsArgs => IntRet,
        DOMAIN_SNAPSHOT_CURRENT = 191: DomainFlagsArgs => SnapshotRet,
        DOMAIN_REVERT_TO_SNAPSHOT = 192: SnapshotFlagsArgs => (),
        DOMAIN_SNAPSHOT_DELETE = 193: SnapshotFlagsArgs => (),
        DOMAIN_EVENT_IO_ERROR_REASON = 195: IoErrorReasonMsg => (),
        DOMAIN_CREATE_WITH_FLAGS = 196: DomainFlagsArgs => DomainArg,
        DOMAIN_SET_VCPUS_FLAGS = 199: DomainVcpusFlagsArgs => (),
        DOMAIN_GET_VCPUS_FLAGS = 200: DomainFlagsArgs => IntRet,
        DOMAIN_IS_UPDATED = 202: DomainArg => IntRet,
        DOMAIN_SET_MEMORY_FLAGS = 204: DomainMemoryFlagsArgs => (),
        DOMAIN_GET_STATE = 212: DomainFlagsArgs => DomainGetStateRet,
        DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS = 219: SetSchedulerParametersFlagsArgs => (),
        DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS = 223: SchedulerParametersFlagsArgs => SchedulerParametersRet,
        DOMAIN_EVENT_CONTROL_ERROR = 224: DomainOnlyMsg => (),
        DOMAIN_UNDEFINE_FLAGS = 231: DomainFlagsArgs => (),
        DOMAIN_SAVE_FLAGS = 232: DomainSaveFlagsArgs => (),
        DOMAIN_RESTORE_FLAGS = 233: DomainRestoreFlagsArgs => (),
        DOMAIN_DESTROY_FLAGS = 234: DomainFlagsArgs => (),
        DOMAIN_EVENT_BLOCK_JOB = 241: BlockJobMsg => (),
        DOMAIN_SNAPSHOT_GET_PARENT = 244: SnapshotFlagsArgs => SnapshotRet,
        DOMAIN_RESET = 245: DomainFlagsArgs => (),
        DOMAIN_SNAPSHOT_NUM_CHILDREN = 246: SnapshotFlagsArgs => IntRet,
        DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES = 247: SnapshotListChildrenNamesArgs => SnapshotListNamesRet,
        DOMAIN_EVENT_DISK_CHANGE = 248: DiskChangeMsg => (),
        DOMAIN_SHUTDOWN_FLAGS = 258: DomainFlagsArgs => (),
        DOMAIN_EVENT_TRAY_CHANGE = 268: TrayChangeMsg => (),
        DOMAIN_EVENT_PMWAKEUP = 269: DomainOnlyMsg => (),
        DOMAIN_EVENT_PMSUSPEND = 270: DomainOnlyMsg => (),
        DOMAIN_SNAPSHOT_IS_CURRENT = 271: SnapshotFlagsArgs => IntRet,
        DOMAIN_SNAPSHOT_HAS_METADATA = 272: SnapshotFlagsArgs => IntRet,
        CONNECT_LIST_ALL_DOMAINS = 273: ListAllDomainsArgs => ListAllDomainsRet,
        DOMAIN_LIST_ALL_SNAPSHOTS = 274: ListAllSnapshotsArgs => ListAllSnapshotsRet,
        DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN = 275: ListAllChildrenArgs => ListAllSnapshotsRet,
        CONNECT_LIST_ALL_STORAGE_POOLS = 281: ListAllDomainsArgs => ListAllStoragePoolsRet,
        CONNECT_LIST_ALL_NETWORKS = 283: ListAllDomainsArgs => ListAllNetworksRet,
        CONNECT_LIST_ALL_NODE_DEVICES = 285: ListAllDomainsArgs => ListAllNodeDevicesRet,
        DOMAIN_EVENT_BALLOON_CHANGE = 276: BalloonChangeMsg => (),
        DOMAIN_EVENT_PMSUSPEND_DISK = 292: DomainOnlyMsg => (),
        DOMAIN_EVENT_DEVICE_REMOVED = 311: DeviceAliasMsg => (),
        CONNECT_NETWORK_EVENT_REGISTER_ANY = 313: NetworkEventRegisterArgs => CallbackIdArg,
        CONNECT_NETWORK_EVENT_DEREGISTER_ANY = 314: CallbackIdArg => (),
        NETWORK_EVENT_LIFECYCLE = 315: NetworkLifecycleMsg => (),
        CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY = 316: DomainEventCallbackRegisterArgs => CallbackIdArg,
        CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY = 317: CallbackIdArg => (),
        DOMAIN_EVENT_CALLBACK_LIFECYCLE = 318: Callback<LifecycleMsg> => (),
        DOMAIN_EVENT_CALLBACK_REBOOT = 319: Callback<DomainOnlyMsg> => (),
        DOMAIN_EVENT_CALLBACK_RTC_CHANGE = 320: Callback<RtcChangeMsg> => (),
        DOMAIN_EVENT_CALLBACK_WATCHDOG = 321: Callback<WatchdogMsg> => (),
        DOMAIN_EVENT_CALLBACK_IO_ERROR = 322: Callback<IoErrorMsg> => (),
        DOMAIN_EVENT_CALLBACK_GRAPHICS = 323: Callback<GraphicsMsg> => (),
        DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON = 324: Callback<IoErrorReasonMsg> => (),
        DOMAIN_EVENT_CALLBACK_CONTROL_ERROR = 325: Callback<DomainOnlyMsg> => (),
        DOMAIN_EVENT_CALLBACK_BLOCK_JOB = 326: Callback<BlockJobMsg> => (),
        DOMAIN_EVENT_CALLBACK_DISK_CHANGE = 327: Callback<DiskChangeMsg> => (),
        DOMAIN_EVENT_CALLBACK_TRAY_CHANGE = 328: Callback<TrayChangeMsg> => (),
        DOMAIN_EVENT_CALLBACK_PMWAKEUP = 329: CallbackWithReason<DomainOnlyMsg> => (),
        DOMAIN_EVENT_CALLBACK_PMSUSPEND = 330: CallbackWithReason<DomainOnlyMsg> => (),
        DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE = 331: Callback<BalloonChangeMsg> => (),
        DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK = 332: CallbackWithReason<DomainOnlyMsg> => (),
        DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED = 333: Callback<DeviceAliasMsg> => (),
        DOMAIN_EVENT_BLOCK_JOB_2 = 339: BlockJob2Msg => (),
        DOMAIN_EVENT_CALLBACK_TUNABLE = 346: TunableMsg => (),
        DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE = 348: AgentLifecycleMsg => (),
        DOMAIN_DEFINE_XML_FLAGS = 350: CreateXmlArgs => DomainArg,
        DOMAIN_EVENT_CALLBACK_DEVICE_ADDED = 354: CallbackDeviceMsg => (),
        DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION = 359: MigrationIterationMsg => (),
        CONNECT_REGISTER_CLOSE_CALLBACK = 360: () => (),
        CONNECT_UNREGISTER_CLOSE_CALLBACK = 361: () => (),
        CONNECT_EVENT_CONNECTION_CLOSED = 362: ConnectionClosedMsg => (),
        DOMAIN_EVENT_CALLBACK_JOB_COMPLETED = 363: JobCompletedMsg => (),
        DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED = 367: CallbackDeviceMsg => (),
        CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY = 368: StoragePoolEventRegisterArgs => CallbackIdArg,
        CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY = 369: CallbackIdArg => (),
        STORAGE_POOL_EVENT_LIFECYCLE = 370: StoragePoolLifecycleMsg => (),
        STORAGE_POOL_EVENT_REFRESH = 373: StoragePoolRefreshMsg => (),
        CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY = 374: NodeDeviceEventRegisterArgs => CallbackIdArg,
        CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY = 375: CallbackIdArg => (),
        NODE_DEVICE_EVENT_LIFECYCLE = 376: NodeDeviceLifecycleMsg => (),
        NODE_DEVICE_EVENT_UPDATE = 377: NodeDeviceUpdateMsg => (),
        DOMAIN_EVENT_CALLBACK_METADATA_CHANGE = 379: MetadataChangeMsg => (),
        CONNECT_SECRET_EVENT_REGISTER_ANY = 380: SecretEventRegisterArgs => CallbackIdArg,
        CONNECT_SECRET_EVENT_DEREGISTER_ANY = 381: CallbackIdArg => (),
        SECRET_EVENT_LIFECYCLE = 382: SecretLifecycleMsg => (),
        SECRET_EVENT_VALUE_CHANGED = 383: SecretValueChangedMsg => (),
        DOMAIN_EVENT_BLOCK_THRESHOLD = 385: BlockThresholdMsg => (),
        DOMAIN_EVENT_MEMORY_FAILURE = 423: MemoryFailureMsg => (),
        DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE = 438: MemoryDeviceSizeChangeMsg => (),
    }
    qemu (QEMU_PROGRAM) {
        DOMAIN_MONITOR_COMMAND = 1: QemuMonitorCommandArgs => QemuMonitorCommandRet,
        DOMAIN_AGENT_COMMAND = 3: QemuAgentCommandArgs => QemuAgentCommandRet,
        CONNECT_DOMAIN_MONITOR_EVENT_REGISTER = 4: QemuMonitorRegisterArgs => CallbackIdArg,
        CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER = 5: CallbackIdArg => (),
        DOMAIN_MONITOR_EVENT = 6: QemuMonitorEventMsg => (),
        DOMAIN_MONITOR_COMMAND_WITH_FILES = 7: QemuMonitorCommandArgs => QemuMonitorCommandRet,
    }
    keepalive (KEEPALIVE_PROGRAM) {
        PING = 1: () => (),
        PONG = 2: () => (),
    }
}

/// The libvirt function procedure `number` of `program` stands for, as
/// libvirtd's errors name it: `virNodeGetInfo` for the remote program's 6.
/// `None` for numbers libvirt 9.0 does not have (above DOMAIN_FD_ASSOCIATE,
/// 443, in the remote program), for messages only servers send and for the
/// authentication steps, which no function stands for.
pub fn function_name(program: u32, number: i32) -> Option<&'static str> {
    function_of(program, number).map(|(name, _)| name)
}

/// [`function_name`] with the error domain that function's errors are
/// reported in (its family's: `VIR_FROM_NETWORK` for `virNetwork*`...).
pub fn function_of(program: u32, number: i32) -> Option<(&'static str, crate::error::ErrorDomain)> {
    let table: &[Option<(&str, crate::error::ErrorDomain)>] = match program {
        REMOTE_PROGRAM => &functions::REMOTE,
        QEMU_PROGRAM => &functions::QEMU,
        _ => return None,
    };
    let index = usize::try_from(number).ok()?.checked_sub(1)?;
    *table.get(index)?
}

/// The remote program's steps of the SASL and polkit handshakes
/// (AUTH_SASL_INIT, AUTH_SASL_START, AUTH_SASL_STEP, AUTH_POLKIT).
pub fn is_auth_step(number: i32) -> bool {
    (67..=70).contains(&number)
}

/// The procedure `number` of `program`, if this table declares it.
pub fn procedure(program: u32, number: i32) -> Option<&'static Procedure> {
    PROCEDURES.iter().find(|p| p.program == program && p.number == number)
}
