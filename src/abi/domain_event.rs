//! Domain events: IDs, lifecycle enums, per-event enums, callback typedefs and
//! the graphics structs.

use std::os::raw::{c_char, c_int, c_longlong, c_uint, c_ulonglong, c_void};

use super::common::{virConnectPtr, virDomainPtr};
use super::typed_params::virTypedParameterPtr;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum virDomainEventType {
    VIR_DOMAIN_EVENT_DEFINED = 0,
    VIR_DOMAIN_EVENT_UNDEFINED = 1,
    VIR_DOMAIN_EVENT_STARTED = 2,
    VIR_DOMAIN_EVENT_SUSPENDED = 3,
    VIR_DOMAIN_EVENT_RESUMED = 4,
    VIR_DOMAIN_EVENT_STOPPED = 5,
    VIR_DOMAIN_EVENT_SHUTDOWN = 6,
    VIR_DOMAIN_EVENT_PMSUSPENDED = 7,
    VIR_DOMAIN_EVENT_CRASHED = 8,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_LAST = 9,
}

#[repr(C)]
pub enum virDomainEventDefinedDetailType {
    VIR_DOMAIN_EVENT_DEFINED_ADDED = 0,
    VIR_DOMAIN_EVENT_DEFINED_UPDATED = 1,
    VIR_DOMAIN_EVENT_DEFINED_RENAMED = 2,
    VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT = 3,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_DEFINED_LAST = 4,
}

#[repr(C)]
pub enum virDomainEventUndefinedDetailType {
    VIR_DOMAIN_EVENT_UNDEFINED_REMOVED = 0,
    VIR_DOMAIN_EVENT_UNDEFINED_RENAMED = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_UNDEFINED_LAST = 2,
}

#[repr(C)]
pub enum virDomainEventStartedDetailType {
    VIR_DOMAIN_EVENT_STARTED_BOOTED = 0,
    VIR_DOMAIN_EVENT_STARTED_MIGRATED = 1,
    VIR_DOMAIN_EVENT_STARTED_RESTORED = 2,
    VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT = 3,
    VIR_DOMAIN_EVENT_STARTED_WAKEUP = 4,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_STARTED_LAST = 5,
}

#[repr(C)]
pub enum virDomainEventSuspendedDetailType {
    VIR_DOMAIN_EVENT_SUSPENDED_PAUSED = 0,
    VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED = 1,
    VIR_DOMAIN_EVENT_SUSPENDED_IOERROR = 2,
    VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG = 3,
    VIR_DOMAIN_EVENT_SUSPENDED_RESTORED = 4,
    VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT = 5,
    VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR = 6,
    VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY = 7,
    VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED = 8,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_SUSPENDED_LAST = 9,
}

#[repr(C)]
pub enum virDomainEventResumedDetailType {
    VIR_DOMAIN_EVENT_RESUMED_UNPAUSED = 0,
    VIR_DOMAIN_EVENT_RESUMED_MIGRATED = 1,
    VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT = 2,
    VIR_DOMAIN_EVENT_RESUMED_POSTCOPY = 3,
    VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED = 4,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_RESUMED_LAST = 5,
}

#[repr(C)]
pub enum virDomainEventStoppedDetailType {
    VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN = 0,
    VIR_DOMAIN_EVENT_STOPPED_DESTROYED = 1,
    VIR_DOMAIN_EVENT_STOPPED_CRASHED = 2,
    VIR_DOMAIN_EVENT_STOPPED_MIGRATED = 3,
    VIR_DOMAIN_EVENT_STOPPED_SAVED = 4,
    VIR_DOMAIN_EVENT_STOPPED_FAILED = 5,
    VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT = 6,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_STOPPED_LAST = 7,
}

#[repr(C)]
pub enum virDomainEventShutdownDetailType {
    VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED = 0,
    VIR_DOMAIN_EVENT_SHUTDOWN_GUEST = 1,
    VIR_DOMAIN_EVENT_SHUTDOWN_HOST = 2,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_SHUTDOWN_LAST = 3,
}

#[repr(C)]
pub enum virDomainEventPMSuspendedDetailType {
    VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY = 0,
    VIR_DOMAIN_EVENT_PMSUSPENDED_DISK = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_PMSUSPENDED_LAST = 2,
}

#[repr(C)]
pub enum virDomainEventCrashedDetailType {
    VIR_DOMAIN_EVENT_CRASHED_PANICKED = 0,
    VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_CRASHED_LAST = 2,
}

/// The lifecycle callback of both the legacy and the Any API; its return
/// value is ignored.
pub type virConnectDomainEventCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        event: c_int,
        detail: c_int,
        opaque: *mut c_void,
    ) -> c_int,
>;

/// The type every Any callback is cast to at registration.
pub type virConnectDomainEventGenericCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, opaque: *mut c_void)>;

pub type virConnectDomainEventRTCChangeCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, utcoffset: c_longlong, opaque: *mut c_void)>;

#[repr(C)]
pub enum virDomainEventWatchdogAction {
    VIR_DOMAIN_EVENT_WATCHDOG_NONE = 0,
    VIR_DOMAIN_EVENT_WATCHDOG_PAUSE = 1,
    VIR_DOMAIN_EVENT_WATCHDOG_RESET = 2,
    VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF = 3,
    VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN = 4,
    VIR_DOMAIN_EVENT_WATCHDOG_DEBUG = 5,
    VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI = 6,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_WATCHDOG_LAST = 7,
}

pub type virConnectDomainEventWatchdogCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, action: c_int, opaque: *mut c_void)>;

#[repr(C)]
pub enum virDomainEventIOErrorAction {
    VIR_DOMAIN_EVENT_IO_ERROR_NONE = 0,
    VIR_DOMAIN_EVENT_IO_ERROR_PAUSE = 1,
    VIR_DOMAIN_EVENT_IO_ERROR_REPORT = 2,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_IO_ERROR_LAST = 3,
}

pub type virConnectDomainEventIOErrorCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        srcPath: *const c_char,
        devAlias: *const c_char,
        action: c_int,
        opaque: *mut c_void,
    ),
>;

#[repr(C)]
pub enum virDomainEventGraphicsPhase {
    VIR_DOMAIN_EVENT_GRAPHICS_CONNECT = 0,
    VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE = 1,
    VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT = 2,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_GRAPHICS_LAST = 3,
}

#[repr(C)]
pub enum virDomainEventGraphicsAddressType {
    VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4 = 0,
    VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6 = 1,
    VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX = 2,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_LAST = 3,
}

/// One end of a graphics client connection.
#[repr(C)]
pub struct _virDomainEventGraphicsAddress {
    /// A `virDomainEventGraphicsAddressType`.
    pub family: c_int,
    /// IP address or UNIX socket path.
    pub node: *mut c_char,
    /// Port number, or NULL for UNIX sockets.
    pub service: *mut c_char,
}
pub type virDomainEventGraphicsAddress = _virDomainEventGraphicsAddress;
pub type virDomainEventGraphicsAddressPtr = *mut virDomainEventGraphicsAddress;

/// One identity of an authenticated graphics client (`x509dname`, `saslUsername`).
#[repr(C)]
pub struct _virDomainEventGraphicsSubjectIdentity {
    pub r#type: *mut c_char,
    pub name: *mut c_char,
}
pub type virDomainEventGraphicsSubjectIdentity = _virDomainEventGraphicsSubjectIdentity;
pub type virDomainEventGraphicsSubjectIdentityPtr = *mut virDomainEventGraphicsSubjectIdentity;

/// The identities of a graphics client.
#[repr(C)]
pub struct _virDomainEventGraphicsSubject {
    pub nidentity: c_int,
    pub identities: virDomainEventGraphicsSubjectIdentityPtr,
}
pub type virDomainEventGraphicsSubject = _virDomainEventGraphicsSubject;
pub type virDomainEventGraphicsSubjectPtr = *mut virDomainEventGraphicsSubject;

pub type virConnectDomainEventGraphicsCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        phase: c_int,
        local: *const virDomainEventGraphicsAddress,
        remote: *const virDomainEventGraphicsAddress,
        authScheme: *const c_char,
        subject: *const virDomainEventGraphicsSubject,
        opaque: *mut c_void,
    ),
>;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum virDomainEventID {
    /// virConnectDomainEventCallback
    VIR_DOMAIN_EVENT_ID_LIFECYCLE = 0,
    /// virConnectDomainEventGenericCallback
    VIR_DOMAIN_EVENT_ID_REBOOT = 1,
    /// virConnectDomainEventRTCChangeCallback
    VIR_DOMAIN_EVENT_ID_RTC_CHANGE = 2,
    /// virConnectDomainEventWatchdogCallback
    VIR_DOMAIN_EVENT_ID_WATCHDOG = 3,
    /// virConnectDomainEventIOErrorCallback
    VIR_DOMAIN_EVENT_ID_IO_ERROR = 4,
    /// virConnectDomainEventGraphicsCallback
    VIR_DOMAIN_EVENT_ID_GRAPHICS = 5,
    /// virConnectDomainEventIOErrorReasonCallback
    VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON = 6,
    /// virConnectDomainEventGenericCallback
    VIR_DOMAIN_EVENT_ID_CONTROL_ERROR = 7,
    /// virConnectDomainEventBlockJobCallback (disk is the source path)
    VIR_DOMAIN_EVENT_ID_BLOCK_JOB = 8,
    /// virConnectDomainEventDiskChangeCallback
    VIR_DOMAIN_EVENT_ID_DISK_CHANGE = 9,
    /// virConnectDomainEventTrayChangeCallback
    VIR_DOMAIN_EVENT_ID_TRAY_CHANGE = 10,
    /// virConnectDomainEventPMWakeupCallback
    VIR_DOMAIN_EVENT_ID_PMWAKEUP = 11,
    /// virConnectDomainEventPMSuspendCallback
    VIR_DOMAIN_EVENT_ID_PMSUSPEND = 12,
    /// virConnectDomainEventBalloonChangeCallback
    VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE = 13,
    /// virConnectDomainEventPMSuspendDiskCallback
    VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK = 14,
    /// virConnectDomainEventDeviceRemovedCallback
    VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED = 15,
    /// virConnectDomainEventBlockJobCallback (disk is the target name)
    VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2 = 16,
    /// virConnectDomainEventTunableCallback
    VIR_DOMAIN_EVENT_ID_TUNABLE = 17,
    /// virConnectDomainEventAgentLifecycleCallback
    VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE = 18,
    /// virConnectDomainEventDeviceAddedCallback
    VIR_DOMAIN_EVENT_ID_DEVICE_ADDED = 19,
    /// virConnectDomainEventMigrationIterationCallback
    VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION = 20,
    /// virConnectDomainEventJobCompletedCallback
    VIR_DOMAIN_EVENT_ID_JOB_COMPLETED = 21,
    /// virConnectDomainEventDeviceRemovalFailedCallback
    VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED = 22,
    /// virConnectDomainEventMetadataChangeCallback
    VIR_DOMAIN_EVENT_ID_METADATA_CHANGE = 23,
    /// virConnectDomainEventBlockThresholdCallback
    VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD = 24,
    /// virConnectDomainEventMemoryFailureCallback
    VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE = 25,
    /// virConnectDomainEventMemoryDeviceSizeChangeCallback
    VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE = 26,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_ID_LAST = 27,
}

/// IO error with the reason: `"enospc"` when the host ran out of space, else `""`.
pub type virConnectDomainEventIOErrorReasonCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        srcPath: *const c_char,
        devAlias: *const c_char,
        action: c_int,
        reason: *const c_char,
        opaque: *mut c_void,
    ),
>;

#[repr(C)]
pub enum virDomainBlockJobType {
    VIR_DOMAIN_BLOCK_JOB_TYPE_UNKNOWN = 0,
    VIR_DOMAIN_BLOCK_JOB_TYPE_PULL = 1,
    VIR_DOMAIN_BLOCK_JOB_TYPE_COPY = 2,
    VIR_DOMAIN_BLOCK_JOB_TYPE_COMMIT = 3,
    VIR_DOMAIN_BLOCK_JOB_TYPE_ACTIVE_COMMIT = 4,
    VIR_DOMAIN_BLOCK_JOB_TYPE_BACKUP = 5,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_BLOCK_JOB_TYPE_LAST = 6,
}

#[repr(C)]
pub enum virConnectDomainEventBlockJobStatus {
    VIR_DOMAIN_BLOCK_JOB_COMPLETED = 0,
    VIR_DOMAIN_BLOCK_JOB_FAILED = 1,
    VIR_DOMAIN_BLOCK_JOB_CANCELED = 2,
    VIR_DOMAIN_BLOCK_JOB_READY = 3,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_BLOCK_JOB_LAST = 4,
}

/// BLOCK_JOB (disk = source path) and BLOCK_JOB_2 (disk = target name).
pub type virConnectDomainEventBlockJobCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        disk: *const c_char,
        r#type: c_int,
        status: c_int,
        opaque: *mut c_void,
    ),
>;

#[repr(C)]
pub enum virConnectDomainEventDiskChangeReason {
    VIR_DOMAIN_EVENT_DISK_CHANGE_MISSING_ON_START = 0,
    VIR_DOMAIN_EVENT_DISK_DROP_MISSING_ON_START = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_DISK_CHANGE_LAST = 2,
}

pub type virConnectDomainEventDiskChangeCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        oldSrcPath: *const c_char,
        newSrcPath: *const c_char,
        devAlias: *const c_char,
        reason: c_int,
        opaque: *mut c_void,
    ),
>;

#[repr(C)]
pub enum virDomainEventTrayChangeReason {
    VIR_DOMAIN_EVENT_TRAY_CHANGE_OPEN = 0,
    VIR_DOMAIN_EVENT_TRAY_CHANGE_CLOSE = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_TRAY_CHANGE_LAST = 2,
}

pub type virConnectDomainEventTrayChangeCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        devAlias: *const c_char,
        reason: c_int,
        opaque: *mut c_void,
    ),
>;

pub type virConnectDomainEventPMWakeupCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, reason: c_int, opaque: *mut c_void)>;

pub type virConnectDomainEventPMSuspendCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, reason: c_int, opaque: *mut c_void)>;

/// `actual` is the new balloon size in KiB.
pub type virConnectDomainEventBalloonChangeCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, actual: c_ulonglong, opaque: *mut c_void)>;

pub type virConnectDomainEventPMSuspendDiskCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, reason: c_int, opaque: *mut c_void)>;

pub type virConnectDomainEventDeviceRemovedCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, devAlias: *const c_char, opaque: *mut c_void)>;

pub type virConnectDomainEventDeviceAddedCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, devAlias: *const c_char, opaque: *mut c_void)>;

pub type virConnectDomainEventDeviceRemovalFailedCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, devAlias: *const c_char, opaque: *mut c_void)>;

#[repr(C)]
pub enum virDomainMetadataType {
    VIR_DOMAIN_METADATA_DESCRIPTION = 0,
    VIR_DOMAIN_METADATA_TITLE = 1,
    VIR_DOMAIN_METADATA_ELEMENT = 2,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_METADATA_LAST = 3,
}

pub type virConnectDomainEventMetadataChangeCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        r#type: c_int,
        nsuri: *const c_char,
        opaque: *mut c_void,
    ),
>;

pub type virConnectDomainEventMigrationIterationCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, iteration: c_int, opaque: *mut c_void)>;

/// The statistics of the job that completed, valid for the call only.
pub type virConnectDomainEventJobCompletedCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        params: virTypedParameterPtr,
        nparams: c_int,
        opaque: *mut c_void,
    ),
>;

/// The tunables that changed, valid for the call only.
pub type virConnectDomainEventTunableCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        params: virTypedParameterPtr,
        nparams: c_int,
        opaque: *mut c_void,
    ),
>;

#[repr(C)]
pub enum virConnectDomainEventAgentLifecycleState {
    VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED = 1,
    VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED = 2,
    #[cfg(feature = "enum_sentinels")]
    VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_LAST = 3,
}

#[repr(C)]
pub enum virConnectDomainEventAgentLifecycleReason {
    VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_UNKNOWN = 0,
    VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_DOMAIN_STARTED = 1,
    VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL = 2,
    #[cfg(feature = "enum_sentinels")]
    VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_LAST = 3,
}

pub type virConnectDomainEventAgentLifecycleCallback = Option<
    unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, state: c_int, reason: c_int, opaque: *mut c_void),
>;

pub type virConnectDomainEventBlockThresholdCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        dev: *const c_char,
        path: *const c_char,
        threshold: c_ulonglong,
        excess: c_ulonglong,
        opaque: *mut c_void,
    ),
>;

#[repr(C)]
pub enum virDomainMemoryFailureRecipientType {
    VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_HYPERVISOR = 0,
    VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_GUEST = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_LAST = 2,
}

#[repr(C)]
pub enum virDomainMemoryFailureActionType {
    VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_IGNORE = 0,
    VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_INJECT = 1,
    VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_FATAL = 2,
    VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_RESET = 3,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_LAST = 4,
}

#[repr(C)]
pub enum virDomainMemoryFailureFlags {
    VIR_DOMAIN_MEMORY_FAILURE_ACTION_REQUIRED = 1,
    VIR_DOMAIN_MEMORY_FAILURE_RECURSIVE = 2,
}

pub type virConnectDomainEventMemoryFailureCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        recipient: c_int,
        action: c_int,
        flags: c_uint,
        opaque: *mut c_void,
    ),
>;

/// `size` is the memory device's new size in KiB.
pub type virConnectDomainEventMemoryDeviceSizeChangeCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        alias: *const c_char,
        size: c_ulonglong,
        opaque: *mut c_void,
    ),
>;
