//! Connection and domain objects, and the types their functions take.

use std::os::raw::{c_char, c_int, c_uchar, c_uint, c_ulong, c_ulonglong, c_ushort, c_void};

/// The libvirt release whose API this library reproduces (9.0.0).
pub const LIBVIR_VERSION_NUMBER: c_ulong = 9000000;
pub const VIR_UUID_BUFLEN: c_int = 16;
pub const VIR_UUID_STRING_BUFLEN: c_int = 37;

/// A connection to a hypervisor driver (opaque).
pub struct _virConnect {
    _private: [u8; 0],
}
pub type virConnect = _virConnect;
pub type virConnectPtr = *mut virConnect;

/// A domain known to a connection (opaque).
pub struct _virDomain {
    _private: [u8; 0],
}
pub type virDomain = _virDomain;
pub type virDomainPtr = *mut virDomain;

/// A virtual network (opaque); named by `virError`.
pub struct _virNetwork {
    _private: [u8; 0],
}
pub type virNetwork = _virNetwork;
pub type virNetworkPtr = *mut virNetwork;

/// Releases the opaque data of a registration.
pub type virFreeCallback = Option<unsafe extern "C" fn(opaque: *mut c_void)>;

#[repr(C)]
pub enum virConnectFlags {
    VIR_CONNECT_RO = 1,
    VIR_CONNECT_NO_ALIASES = 2,
}

/// Why a connection closed (`virConnectCloseFunc`'s `reason`).
#[repr(C)]
pub enum virConnectCloseReason {
    VIR_CONNECT_CLOSE_REASON_ERROR = 0,
    VIR_CONNECT_CLOSE_REASON_EOF = 1,
    VIR_CONNECT_CLOSE_REASON_KEEPALIVE = 2,
    VIR_CONNECT_CLOSE_REASON_CLIENT = 3,
    #[cfg(feature = "enum_sentinels")]
    VIR_CONNECT_CLOSE_REASON_LAST = 4,
}

/// Called when a connection closes other than through `virConnectClose`.
pub type virConnectCloseFunc = Option<unsafe extern "C" fn(conn: virConnectPtr, reason: c_int, opaque: *mut c_void)>;

#[repr(C)]
pub enum virConnectCredentialType {
    VIR_CRED_USERNAME = 1,
    VIR_CRED_AUTHNAME = 2,
    VIR_CRED_LANGUAGE = 3,
    VIR_CRED_CNONCE = 4,
    VIR_CRED_PASSPHRASE = 5,
    VIR_CRED_ECHOPROMPT = 6,
    VIR_CRED_NOECHOPROMPT = 7,
    VIR_CRED_REALM = 8,
    VIR_CRED_EXTERNAL = 9,
    #[cfg(feature = "enum_sentinels")]
    VIR_CRED_LAST = 10,
}

#[repr(C)]
pub struct _virConnectCredential {
    pub r#type: c_int,
    pub prompt: *const c_char,
    pub challenge: *const c_char,
    pub defresult: *const c_char,
    pub result: *mut c_char,
    pub resultlen: c_uint,
}
pub type virConnectCredential = _virConnectCredential;
pub type virConnectCredentialPtr = *mut virConnectCredential;

pub type virConnectAuthCallbackPtr =
    Option<unsafe extern "C" fn(cred: virConnectCredentialPtr, ncred: c_uint, cbdata: *mut c_void) -> c_int>;

#[repr(C)]
pub struct _virConnectAuth {
    pub credtype: *mut c_int,
    pub ncredtype: c_uint,
    pub cb: virConnectAuthCallbackPtr,
    pub cbdata: *mut c_void,
}
pub type virConnectAuth = _virConnectAuth;
pub type virConnectAuthPtr = *mut virConnectAuth;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum virDomainState {
    VIR_DOMAIN_NOSTATE = 0,
    VIR_DOMAIN_RUNNING = 1,
    VIR_DOMAIN_BLOCKED = 2,
    VIR_DOMAIN_PAUSED = 3,
    VIR_DOMAIN_SHUTDOWN = 4,
    VIR_DOMAIN_SHUTOFF = 5,
    VIR_DOMAIN_CRASHED = 6,
    VIR_DOMAIN_PMSUSPENDED = 7,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_LAST = 8,
}

#[repr(C)]
pub enum virDomainRunningReason {
    VIR_DOMAIN_RUNNING_UNKNOWN = 0,
    VIR_DOMAIN_RUNNING_BOOTED = 1,
    VIR_DOMAIN_RUNNING_MIGRATED = 2,
    VIR_DOMAIN_RUNNING_RESTORED = 3,
    VIR_DOMAIN_RUNNING_FROM_SNAPSHOT = 4,
    VIR_DOMAIN_RUNNING_UNPAUSED = 5,
    VIR_DOMAIN_RUNNING_MIGRATION_CANCELED = 6,
    VIR_DOMAIN_RUNNING_SAVE_CANCELED = 7,
    VIR_DOMAIN_RUNNING_WAKEUP = 8,
    VIR_DOMAIN_RUNNING_CRASHED = 9,
    VIR_DOMAIN_RUNNING_POSTCOPY = 10,
    VIR_DOMAIN_RUNNING_POSTCOPY_FAILED = 11,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_RUNNING_LAST = 12,
}

#[repr(C)]
pub enum virDomainPausedReason {
    VIR_DOMAIN_PAUSED_UNKNOWN = 0,
    VIR_DOMAIN_PAUSED_USER = 1,
    VIR_DOMAIN_PAUSED_MIGRATION = 2,
    VIR_DOMAIN_PAUSED_SAVE = 3,
    VIR_DOMAIN_PAUSED_DUMP = 4,
    VIR_DOMAIN_PAUSED_IOERROR = 5,
    VIR_DOMAIN_PAUSED_WATCHDOG = 6,
    VIR_DOMAIN_PAUSED_FROM_SNAPSHOT = 7,
    VIR_DOMAIN_PAUSED_SHUTTING_DOWN = 8,
    VIR_DOMAIN_PAUSED_SNAPSHOT = 9,
    VIR_DOMAIN_PAUSED_CRASHED = 10,
    VIR_DOMAIN_PAUSED_STARTING_UP = 11,
    VIR_DOMAIN_PAUSED_POSTCOPY = 12,
    VIR_DOMAIN_PAUSED_POSTCOPY_FAILED = 13,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_PAUSED_LAST = 14,
}

#[repr(C)]
pub enum virDomainShutoffReason {
    VIR_DOMAIN_SHUTOFF_UNKNOWN = 0,
    VIR_DOMAIN_SHUTOFF_SHUTDOWN = 1,
    VIR_DOMAIN_SHUTOFF_DESTROYED = 2,
    VIR_DOMAIN_SHUTOFF_CRASHED = 3,
    VIR_DOMAIN_SHUTOFF_MIGRATED = 4,
    VIR_DOMAIN_SHUTOFF_SAVED = 5,
    VIR_DOMAIN_SHUTOFF_FAILED = 6,
    VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT = 7,
    VIR_DOMAIN_SHUTOFF_DAEMON = 8,
    #[cfg(feature = "enum_sentinels")]
    VIR_DOMAIN_SHUTOFF_LAST = 9,
}

#[repr(C)]
pub struct _virDomainInfo {
    pub state: c_uchar,
    pub maxMem: c_ulong,
    pub memory: c_ulong,
    pub nrVirtCpu: c_ushort,
    pub cpuTime: c_ulonglong,
}
pub type virDomainInfo = _virDomainInfo;
pub type virDomainInfoPtr = *mut virDomainInfo;

/// Whether a change applies to the running domain, its persistent
/// configuration, or whichever the domain has (CURRENT).
#[repr(C)]
pub enum virDomainModificationImpact {
    VIR_DOMAIN_AFFECT_CURRENT = 0,
    VIR_DOMAIN_AFFECT_LIVE = 1,
    VIR_DOMAIN_AFFECT_CONFIG = 2,
}

#[repr(C)]
pub enum virDomainXMLFlags {
    VIR_DOMAIN_XML_SECURE = 1,
    VIR_DOMAIN_XML_INACTIVE = 2,
    VIR_DOMAIN_XML_UPDATE_CPU = 4,
    VIR_DOMAIN_XML_MIGRATABLE = 8,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub enum virConnectListAllDomainsFlags {
    VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1,
    VIR_CONNECT_LIST_DOMAINS_INACTIVE = 2,
    VIR_CONNECT_LIST_DOMAINS_PERSISTENT = 4,
    VIR_CONNECT_LIST_DOMAINS_TRANSIENT = 8,
    VIR_CONNECT_LIST_DOMAINS_RUNNING = 16,
    VIR_CONNECT_LIST_DOMAINS_PAUSED = 32,
    VIR_CONNECT_LIST_DOMAINS_SHUTOFF = 64,
    VIR_CONNECT_LIST_DOMAINS_OTHER = 128,
    VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE = 256,
    VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE = 512,
    VIR_CONNECT_LIST_DOMAINS_AUTOSTART = 1024,
    VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART = 2048,
    VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT = 4096,
    VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT = 8192,
    VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT = 16384,
    VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT = 32768,
}
