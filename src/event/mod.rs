//! Domain events as the core sees them, and the per-driver event state that
//! queues and dispatches them.

pub mod state;

use crate::abi::domain_event as ids;
use crate::uuid::Uuid;

/// What a callback is told about the domain an event concerns: a snapshot
/// taken when the event was produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainIdentity {
    pub name: String,
    pub uuid: Uuid,
    /// -1 when the domain is not running.
    pub id: i32,
}

/// One end of a graphics connection (`virDomainEventGraphicsAddress`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphicsAddress {
    pub family: i32,
    pub node: String,
    pub service: String,
}

/// The value of a typed parameter (`virTypedParameter`).
#[derive(Clone, Debug)]
pub enum TypedValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(bool),
    String(String),
}

impl PartialEq for TypedValue {
    fn eq(&self, other: &TypedValue) -> bool {
        use TypedValue::*;
        match (self, other) {
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (LLong(a), LLong(b)) => a == b,
            (ULLong(a), ULLong(b)) => a == b,
            // Bitwise, so that equality stays an equivalence (NaN == NaN).
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (Boolean(a), Boolean(b)) => a == b,
            (String(a), String(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for TypedValue {}

/// A named typed parameter of a TUNABLE or JOB_COMPLETED event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedParam {
    pub name: String,
    pub value: TypedValue,
}

impl TypedParam {
    pub fn new(name: impl Into<String>, value: TypedValue) -> TypedParam {
        TypedParam { name: name.into(), value }
    }
}

/// The payload of a domain event; each variant is one `VIR_DOMAIN_EVENT_ID_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventPayload {
    Lifecycle { event: i32, detail: i32 },
    Reboot,
    RtcChange { utc_offset: i64 },
    Watchdog { action: i32 },
    IoError { src_path: String, dev_alias: String, action: i32 },
    Graphics {
        phase: i32,
        local: GraphicsAddress,
        remote: GraphicsAddress,
        auth_scheme: String,
        /// `(type, name)` pairs: `x509dname` then `saslUsername` when present.
        subject: Vec<(String, String)>,
    },
    /// `reason` is `"enospc"` when the host ran out of space, else `""`.
    IoErrorReason { src_path: String, dev_alias: String, action: i32, reason: String },
    ControlError,
    /// `disk` is the disk's source path.
    BlockJob { disk: String, job_type: i32, status: i32 },
    DiskChange { old_src_path: String, new_src_path: String, dev_alias: String, reason: i32 },
    TrayChange { dev_alias: String, reason: i32 },
    PmWakeup { reason: i32 },
    PmSuspend { reason: i32 },
    /// `actual` in KiB.
    BalloonChange { actual: u64 },
    PmSuspendDisk { reason: i32 },
    DeviceRemoved { dev_alias: String },
    /// `disk` is the disk's target name (e.g. `vda`).
    BlockJob2 { disk: String, job_type: i32, status: i32 },
    Tunable { params: Vec<TypedParam> },
    AgentLifecycle { state: i32, reason: i32 },
    DeviceAdded { dev_alias: String },
    MigrationIteration { iteration: i32 },
    JobCompleted { params: Vec<TypedParam> },
    DeviceRemovalFailed { dev_alias: String },
    MetadataChange { metadata_type: i32, nsuri: String },
    BlockThreshold { dev: String, path: String, threshold: u64, excess: u64 },
    MemoryFailure { recipient: i32, action: i32, flags: u32 },
    /// `size` in KiB.
    MemoryDeviceSizeChange { alias: String, size: u64 },
}

impl EventPayload {
    /// The `VIR_DOMAIN_EVENT_ID_*` this payload is delivered under.
    pub fn event_id(&self) -> i32 {
        use ids::virDomainEventID as Id;
        (match self {
            EventPayload::Lifecycle { .. } => Id::VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            EventPayload::Reboot => Id::VIR_DOMAIN_EVENT_ID_REBOOT,
            EventPayload::RtcChange { .. } => Id::VIR_DOMAIN_EVENT_ID_RTC_CHANGE,
            EventPayload::Watchdog { .. } => Id::VIR_DOMAIN_EVENT_ID_WATCHDOG,
            EventPayload::IoError { .. } => Id::VIR_DOMAIN_EVENT_ID_IO_ERROR,
            EventPayload::Graphics { .. } => Id::VIR_DOMAIN_EVENT_ID_GRAPHICS,
            EventPayload::IoErrorReason { .. } => Id::VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON,
            EventPayload::ControlError => Id::VIR_DOMAIN_EVENT_ID_CONTROL_ERROR,
            EventPayload::BlockJob { .. } => Id::VIR_DOMAIN_EVENT_ID_BLOCK_JOB,
            EventPayload::DiskChange { .. } => Id::VIR_DOMAIN_EVENT_ID_DISK_CHANGE,
            EventPayload::TrayChange { .. } => Id::VIR_DOMAIN_EVENT_ID_TRAY_CHANGE,
            EventPayload::PmWakeup { .. } => Id::VIR_DOMAIN_EVENT_ID_PMWAKEUP,
            EventPayload::PmSuspend { .. } => Id::VIR_DOMAIN_EVENT_ID_PMSUSPEND,
            EventPayload::BalloonChange { .. } => Id::VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
            EventPayload::PmSuspendDisk { .. } => Id::VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK,
            EventPayload::DeviceRemoved { .. } => Id::VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
            EventPayload::BlockJob2 { .. } => Id::VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2,
            EventPayload::Tunable { .. } => Id::VIR_DOMAIN_EVENT_ID_TUNABLE,
            EventPayload::AgentLifecycle { .. } => Id::VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
            EventPayload::DeviceAdded { .. } => Id::VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
            EventPayload::MigrationIteration { .. } => Id::VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
            EventPayload::JobCompleted { .. } => Id::VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
            EventPayload::DeviceRemovalFailed { .. } => Id::VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED,
            EventPayload::MetadataChange { .. } => Id::VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
            EventPayload::BlockThreshold { .. } => Id::VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD,
            EventPayload::MemoryFailure { .. } => Id::VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE,
            EventPayload::MemoryDeviceSizeChange { .. } => Id::VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE,
        }) as i32
    }
}

/// A domain event waiting in a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainEvent {
    pub domain: DomainIdentity,
    pub payload: EventPayload,
}

impl DomainEvent {
    pub fn new(domain: DomainIdentity, payload: EventPayload) -> DomainEvent {
        DomainEvent { domain, payload }
    }

    pub fn lifecycle(domain: DomainIdentity, event: i32, detail: i32) -> DomainEvent {
        DomainEvent::new(domain, EventPayload::Lifecycle { event, detail })
    }
}

/// How many domain event IDs exist (`VIR_DOMAIN_EVENT_ID_LAST`).
pub const DOMAIN_EVENT_ID_COUNT: i32 = 27;
