//! Domain events: IDs, lifecycle enums, per-event enums, callback typedefs and
//! the graphics structs.

use std::os::raw::{c_char, c_int, c_longlong, c_void};

use super::common::{virConnectPtr, virDomainPtr};

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

pub type virConnectDomainEventRTCChangeCallback = Option<
    unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, utcoffset: c_longlong, opaque: *mut c_void),
>;

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

pub type virConnectDomainEventWatchdogCallback = Option<
    unsafe extern "C" fn(conn: virConnectPtr, dom: virDomainPtr, action: c_int, opaque: *mut c_void),
>;

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
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_EVENT_ID_LAST = 6,
}
