//! The other object classes with events (networks, storage pools, node
//! devices, secrets): their opaque objects, event IDs, lifecycle enums and
//! callback typedefs, as in libvirt 9.0's `libvirt-network.h`,
//! `libvirt-storage.h`, `libvirt-nodedev.h` and `libvirt-secret.h`.

use std::os::raw::{c_int, c_void};

use super::common::{virConnectPtr, virNetworkPtr};

/// A storage pool (opaque).
pub struct _virStoragePool {
    _private: [u8; 0],
}
pub type virStoragePool = _virStoragePool;
pub type virStoragePoolPtr = *mut virStoragePool;

/// A host device (opaque).
pub struct _virNodeDevice {
    _private: [u8; 0],
}
pub type virNodeDevice = _virNodeDevice;
pub type virNodeDevicePtr = *mut virNodeDevice;

/// A secret (opaque).
pub struct _virSecret {
    _private: [u8; 0],
}
pub type virSecret = _virSecret;
pub type virSecretPtr = *mut virSecret;

#[repr(C)]
pub enum virNetworkEventLifecycleType {
    VIR_NETWORK_EVENT_DEFINED = 0,
    VIR_NETWORK_EVENT_UNDEFINED = 1,
    VIR_NETWORK_EVENT_STARTED = 2,
    VIR_NETWORK_EVENT_STOPPED = 3,
    #[cfg(feature = "enum_sentinels")]
    VIR_NETWORK_EVENT_LAST = 4,
}

#[repr(C)]
pub enum virNetworkEventID {
    /// virConnectNetworkEventLifecycleCallback
    VIR_NETWORK_EVENT_ID_LIFECYCLE = 0,
    #[cfg(feature = "enum_sentinels")]
    VIR_NETWORK_EVENT_ID_LAST = 1,
}

/// The type every network event callback is cast to at registration.
pub type virConnectNetworkEventGenericCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, net: virNetworkPtr, opaque: *mut c_void)>;

pub type virConnectNetworkEventLifecycleCallback = Option<
    unsafe extern "C" fn(conn: virConnectPtr, net: virNetworkPtr, event: c_int, detail: c_int, opaque: *mut c_void),
>;

#[repr(C)]
pub enum virStoragePoolEventID {
    /// virConnectStoragePoolEventLifecycleCallback
    VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE = 0,
    /// virConnectStoragePoolEventGenericCallback
    VIR_STORAGE_POOL_EVENT_ID_REFRESH = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_STORAGE_POOL_EVENT_ID_LAST = 2,
}

#[repr(C)]
pub enum virStoragePoolEventLifecycleType {
    VIR_STORAGE_POOL_EVENT_DEFINED = 0,
    VIR_STORAGE_POOL_EVENT_UNDEFINED = 1,
    VIR_STORAGE_POOL_EVENT_STARTED = 2,
    VIR_STORAGE_POOL_EVENT_STOPPED = 3,
    VIR_STORAGE_POOL_EVENT_CREATED = 4,
    VIR_STORAGE_POOL_EVENT_DELETED = 5,
    #[cfg(feature = "enum_sentinels")]
    VIR_STORAGE_POOL_EVENT_LAST = 6,
}

/// The type every storage pool event callback is cast to at registration.
pub type virConnectStoragePoolEventGenericCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, pool: virStoragePoolPtr, opaque: *mut c_void)>;

pub type virConnectStoragePoolEventLifecycleCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        pool: virStoragePoolPtr,
        event: c_int,
        detail: c_int,
        opaque: *mut c_void,
    ),
>;

#[repr(C)]
pub enum virNodeDeviceEventID {
    /// virConnectNodeDeviceEventLifecycleCallback
    VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE = 0,
    /// virConnectNodeDeviceEventGenericCallback
    VIR_NODE_DEVICE_EVENT_ID_UPDATE = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_NODE_DEVICE_EVENT_ID_LAST = 2,
}

#[repr(C)]
pub enum virNodeDeviceEventLifecycleType {
    VIR_NODE_DEVICE_EVENT_CREATED = 0,
    VIR_NODE_DEVICE_EVENT_DELETED = 1,
    VIR_NODE_DEVICE_EVENT_DEFINED = 2,
    VIR_NODE_DEVICE_EVENT_UNDEFINED = 3,
    #[cfg(feature = "enum_sentinels")]
    VIR_NODE_DEVICE_EVENT_LAST = 4,
}

/// The type every node device event callback is cast to at registration.
pub type virConnectNodeDeviceEventGenericCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, dev: virNodeDevicePtr, opaque: *mut c_void)>;

pub type virConnectNodeDeviceEventLifecycleCallback = Option<
    unsafe extern "C" fn(conn: virConnectPtr, dev: virNodeDevicePtr, event: c_int, detail: c_int, opaque: *mut c_void),
>;

#[repr(C)]
pub enum virSecretUsageType {
    VIR_SECRET_USAGE_TYPE_NONE = 0,
    VIR_SECRET_USAGE_TYPE_VOLUME = 1,
    VIR_SECRET_USAGE_TYPE_CEPH = 2,
    VIR_SECRET_USAGE_TYPE_ISCSI = 3,
    VIR_SECRET_USAGE_TYPE_TLS = 4,
    VIR_SECRET_USAGE_TYPE_VTPM = 5,
    #[cfg(feature = "enum_sentinels")]
    VIR_SECRET_USAGE_TYPE_LAST = 6,
}

#[repr(C)]
pub enum virSecretEventID {
    /// virConnectSecretEventLifecycleCallback
    VIR_SECRET_EVENT_ID_LIFECYCLE = 0,
    /// virConnectSecretEventGenericCallback
    VIR_SECRET_EVENT_ID_VALUE_CHANGED = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_SECRET_EVENT_ID_LAST = 2,
}

#[repr(C)]
pub enum virSecretEventLifecycleType {
    VIR_SECRET_EVENT_DEFINED = 0,
    VIR_SECRET_EVENT_UNDEFINED = 1,
    #[cfg(feature = "enum_sentinels")]
    VIR_SECRET_EVENT_LAST = 2,
}

/// The type every secret event callback is cast to at registration.
pub type virConnectSecretEventGenericCallback =
    Option<unsafe extern "C" fn(conn: virConnectPtr, secret: virSecretPtr, opaque: *mut c_void)>;

pub type virConnectSecretEventLifecycleCallback = Option<
    unsafe extern "C" fn(conn: virConnectPtr, secret: virSecretPtr, event: c_int, detail: c_int, opaque: *mut c_void),
>;

// What the object calls take: the `virConnectListAll*` filters and the
// definition flags.

#[repr(C)]
#[derive(Clone, Copy)]
pub enum virConnectListAllNetworksFlags {
    VIR_CONNECT_LIST_NETWORKS_INACTIVE = 1,
    VIR_CONNECT_LIST_NETWORKS_ACTIVE = 2,
    VIR_CONNECT_LIST_NETWORKS_PERSISTENT = 4,
    VIR_CONNECT_LIST_NETWORKS_TRANSIENT = 8,
    VIR_CONNECT_LIST_NETWORKS_AUTOSTART = 16,
    VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART = 32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub enum virConnectListAllStoragePoolsFlags {
    VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE = 1,
    VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE = 2,
    VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT = 4,
    VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT = 8,
    VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART = 16,
    VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART = 32,
    VIR_CONNECT_LIST_STORAGE_POOLS_DIR = 64,
    VIR_CONNECT_LIST_STORAGE_POOLS_FS = 128,
    VIR_CONNECT_LIST_STORAGE_POOLS_NETFS = 256,
    VIR_CONNECT_LIST_STORAGE_POOLS_LOGICAL = 512,
    VIR_CONNECT_LIST_STORAGE_POOLS_DISK = 1024,
    VIR_CONNECT_LIST_STORAGE_POOLS_ISCSI = 2048,
    VIR_CONNECT_LIST_STORAGE_POOLS_SCSI = 4096,
    VIR_CONNECT_LIST_STORAGE_POOLS_MPATH = 8192,
    VIR_CONNECT_LIST_STORAGE_POOLS_RBD = 16384,
    VIR_CONNECT_LIST_STORAGE_POOLS_SHEEPDOG = 32768,
    VIR_CONNECT_LIST_STORAGE_POOLS_GLUSTER = 65536,
    VIR_CONNECT_LIST_STORAGE_POOLS_ZFS = 131072,
    VIR_CONNECT_LIST_STORAGE_POOLS_VSTORAGE = 262144,
    VIR_CONNECT_LIST_STORAGE_POOLS_ISCSI_DIRECT = 524288,
}

/// The capability filters; libvirt's `..._INACTIVE` (1 << 30) and
/// `..._ACTIVE` (1U << 31) are left out: the test driver refuses them, and
/// the second does not fit a C enum constant of type int.
#[allow(clippy::enum_clike_unportable_variant)] // libvirt's flag 1 << 31, as C has it
#[repr(C)]
#[derive(Clone, Copy)]
pub enum virConnectListAllNodeDeviceFlags {
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM = 1,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV = 2,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV = 4,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE = 8,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET = 16,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST = 32,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_TARGET = 64,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI = 128,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE = 256,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST = 512,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPORTS = 1024,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_GENERIC = 2048,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_DRM = 4096,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES = 8192,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV = 16384,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_CCW_DEV = 32768,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_CSS_DEV = 65536,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_VDPA = 131072,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_CARD = 262144,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_QUEUE = 524288,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_MATRIX = 1048576,
    VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPD = 2097152,
    VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE = 1073741824,
    VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE = 2147483648,
}

#[repr(C)]
pub enum virStoragePoolDefineFlags {
    /// Validate the XML against libvirt's schema (accepted, not checked here).
    VIR_STORAGE_POOL_DEFINE_VALIDATE = 1,
}

#[repr(C)]
pub enum virNodeDeviceCreateXMLFlags {
    /// Validate the XML against libvirt's schema (accepted, not checked here).
    VIR_NODE_DEVICE_CREATE_XML_VALIDATE = 1,
}
