//! The accessors of networks, storage pools, node devices and secrets that
//! event callbacks use, with their reference counting. Each class's exports
//! are one-line wrappers around a shared body.

use std::os::raw::{c_char, c_int, c_uchar};
use std::ptr;

use super::{api, strings};
use crate::abi::common::{virConnectPtr, virNetworkPtr};
use crate::abi::object_events::{virNodeDevicePtr, virSecretPtr, virStoragePoolPtr};
use crate::event::EventClass;

fn get_name<T>(function: &str, class: EventClass, object: *mut T) -> *const c_char {
    api(function, ptr::null(), |call| Ok(call.object(object, class, function)?.name.as_ptr()))
}

/// Writes the object's 16 raw UUID bytes to `uuid`.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
unsafe fn get_uuid<T>(function: &str, class: EventClass, object: *mut T, uuid: *mut c_uchar) -> c_int {
    api(function, -1, |call| {
        let handle = call.object(object, class, function)?;
        // SAFETY: per this function's contract.
        unsafe { strings::write_uuid(&handle.identity.uuid, uuid, function, class.descriptor().error_domain) }
    })
}

/// Writes the object's UUID as text to `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
unsafe fn get_uuid_string<T>(function: &str, class: EventClass, object: *mut T, buf: *mut c_char) -> c_int {
    api(function, -1, |call| {
        let handle = call.object(object, class, function)?;
        // SAFETY: per this function's contract.
        unsafe { strings::write_uuid_string(&handle.identity.uuid, buf, function, class.descriptor().error_domain) }
    })
}

fn add_ref<T>(function: &str, class: EventClass, object: *mut T) -> c_int {
    api(function, -1, |call| {
        call.object(object, class, function)?.add_c_ref();
        Ok(0)
    })
}

fn free<T>(function: &str, class: EventClass, object: *mut T) -> c_int {
    api(function, -1, |call| {
        let handle = call.object(object, class, function)?;
        // SAFETY: the application gives up the count it got with `object`.
        unsafe { handle.release_c_ref() };
        Ok(0)
    })
}

/// The connection the object belongs to; no reference is added.
fn get_connect<T>(function: &str, class: EventClass, object: *mut T) -> virConnectPtr {
    api(function, ptr::null_mut(), |call| Ok(call.object(object, class, function)?.conn().as_ptr()))
}

const NETWORK: EventClass = EventClass::Network;
const POOL: EventClass = EventClass::StoragePool;
const NODE_DEVICE: EventClass = EventClass::NodeDevice;
const SECRET: EventClass = EventClass::Secret;

#[no_mangle]
pub extern "C" fn virNetworkGetName(network: virNetworkPtr) -> *const c_char {
    get_name("virNetworkGetName", NETWORK, network)
}

/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virNetworkGetUUID(network: virNetworkPtr, uuid: *mut c_uchar) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { get_uuid("virNetworkGetUUID", NETWORK, network, uuid) }
}

/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virNetworkGetUUIDString(network: virNetworkPtr, buf: *mut c_char) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { get_uuid_string("virNetworkGetUUIDString", NETWORK, network, buf) }
}

#[no_mangle]
pub extern "C" fn virNetworkRef(network: virNetworkPtr) -> c_int {
    add_ref("virNetworkRef", NETWORK, network)
}

#[no_mangle]
pub extern "C" fn virNetworkFree(network: virNetworkPtr) -> c_int {
    free("virNetworkFree", NETWORK, network)
}

#[no_mangle]
pub extern "C" fn virNetworkGetConnect(net: virNetworkPtr) -> virConnectPtr {
    get_connect("virNetworkGetConnect", NETWORK, net)
}

#[no_mangle]
pub extern "C" fn virStoragePoolGetName(pool: virStoragePoolPtr) -> *const c_char {
    get_name("virStoragePoolGetName", POOL, pool)
}

/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolGetUUID(pool: virStoragePoolPtr, uuid: *mut c_uchar) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { get_uuid("virStoragePoolGetUUID", POOL, pool, uuid) }
}

/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolGetUUIDString(pool: virStoragePoolPtr, buf: *mut c_char) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { get_uuid_string("virStoragePoolGetUUIDString", POOL, pool, buf) }
}

#[no_mangle]
pub extern "C" fn virStoragePoolRef(pool: virStoragePoolPtr) -> c_int {
    add_ref("virStoragePoolRef", POOL, pool)
}

#[no_mangle]
pub extern "C" fn virStoragePoolFree(pool: virStoragePoolPtr) -> c_int {
    free("virStoragePoolFree", POOL, pool)
}

#[no_mangle]
pub extern "C" fn virStoragePoolGetConnect(pool: virStoragePoolPtr) -> virConnectPtr {
    get_connect("virStoragePoolGetConnect", POOL, pool)
}

#[no_mangle]
pub extern "C" fn virNodeDeviceGetName(dev: virNodeDevicePtr) -> *const c_char {
    get_name("virNodeDeviceGetName", NODE_DEVICE, dev)
}

#[no_mangle]
pub extern "C" fn virNodeDeviceRef(dev: virNodeDevicePtr) -> c_int {
    add_ref("virNodeDeviceRef", NODE_DEVICE, dev)
}

#[no_mangle]
pub extern "C" fn virNodeDeviceFree(dev: virNodeDevicePtr) -> c_int {
    free("virNodeDeviceFree", NODE_DEVICE, dev)
}

/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virSecretGetUUID(secret: virSecretPtr, uuid: *mut c_uchar) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { get_uuid("virSecretGetUUID", SECRET, secret, uuid) }
}

/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virSecretGetUUIDString(secret: virSecretPtr, buf: *mut c_char) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { get_uuid_string("virSecretGetUUIDString", SECRET, secret, buf) }
}

/// The secret's `virSecretUsageType`.
#[no_mangle]
pub extern "C" fn virSecretGetUsageType(secret: virSecretPtr) -> c_int {
    api("virSecretGetUsageType", -1, |call| {
        Ok(call.object(secret, SECRET, "virSecretGetUsageType")?.identity.usage_type)
    })
}

/// What the secret is for (a volume path, a Ceph user...).
#[no_mangle]
pub extern "C" fn virSecretGetUsageID(secret: virSecretPtr) -> *const c_char {
    get_name("virSecretGetUsageID", SECRET, secret)
}

#[no_mangle]
pub extern "C" fn virSecretRef(secret: virSecretPtr) -> c_int {
    add_ref("virSecretRef", SECRET, secret)
}

#[no_mangle]
pub extern "C" fn virSecretFree(secret: virSecretPtr) -> c_int {
    free("virSecretFree", SECRET, secret)
}

#[no_mangle]
pub extern "C" fn virSecretGetConnect(secret: virSecretPtr) -> virConnectPtr {
    get_connect("virSecretGetConnect", SECRET, secret)
}
