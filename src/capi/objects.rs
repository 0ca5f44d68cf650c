//! The accessors of networks, storage pools, node devices and secrets that
//! event callbacks use, with their reference counting. Each class's exports
//! are one-line wrappers around a shared body.

use std::os::raw::{c_char, c_int, c_uchar};

use super::{export, strings, Call};
use crate::abi::common::{virConnectPtr, virNetworkPtr};
use crate::abi::object_events::{virNodeDevicePtr, virSecretPtr, virStoragePoolPtr};
use crate::error::Result;
use crate::event::EventClass;

fn get_name<T>(call: &mut Call, class: EventClass, object: *mut T) -> Result<*const c_char> {
    Ok(call.object(object, class)?.name.as_ptr())
}

/// Writes the object's 16 raw UUID bytes to `uuid`.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
unsafe fn get_uuid<T>(call: &mut Call, class: EventClass, object: *mut T, uuid: *mut c_uchar) -> Result<c_int> {
    let handle = call.object(object, class)?;
    // SAFETY: per this function's contract.
    unsafe { strings::write_uuid(&handle.identity.uuid, uuid, call.function, class.descriptor().error_domain) }
}

/// Writes the object's UUID as text to `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
unsafe fn get_uuid_string<T>(call: &mut Call, class: EventClass, object: *mut T, buf: *mut c_char) -> Result<c_int> {
    let handle = call.object(object, class)?;
    // SAFETY: per this function's contract.
    unsafe { strings::write_uuid_string(&handle.identity.uuid, buf, call.function, class.descriptor().error_domain) }
}

fn add_ref<T>(call: &mut Call, class: EventClass, object: *mut T) -> Result<c_int> {
    call.object(object, class)?.add_c_ref();
    Ok(0)
}

fn free<T>(call: &mut Call, class: EventClass, object: *mut T) -> Result<c_int> {
    let handle = call.object(object, class)?;
    // SAFETY: the application gives up the count it got with `object`.
    unsafe { handle.release_c_ref() };
    Ok(0)
}

/// The connection the object belongs to; no reference is added.
fn get_connect<T>(call: &mut Call, class: EventClass, object: *mut T) -> Result<virConnectPtr> {
    Ok(call.object(object, class)?.conn().as_ptr())
}

const NETWORK: EventClass = EventClass::Network;
const POOL: EventClass = EventClass::StoragePool;
const NODE_DEVICE: EventClass = EventClass::NodeDevice;
const SECRET: EventClass = EventClass::Secret;

#[no_mangle]
pub extern "C" fn virNetworkGetName(network: virNetworkPtr) -> *const c_char {
    export!(|call| get_name(call, NETWORK, network))
}

/// Copies the network's 16-byte UUID into `uuid`.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virNetworkGetUUID(network: virNetworkPtr, uuid: *mut c_uchar) -> c_int {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { get_uuid(call, NETWORK, network, uuid) })
}

/// Writes the network's UUID as text into `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virNetworkGetUUIDString(network: virNetworkPtr, buf: *mut c_char) -> c_int {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { get_uuid_string(call, NETWORK, network, buf) })
}

#[no_mangle]
pub extern "C" fn virNetworkRef(network: virNetworkPtr) -> c_int {
    export!(|call| add_ref(call, NETWORK, network))
}

#[no_mangle]
pub extern "C" fn virNetworkFree(network: virNetworkPtr) -> c_int {
    export!(|call| free(call, NETWORK, network))
}

#[no_mangle]
pub extern "C" fn virNetworkGetConnect(net: virNetworkPtr) -> virConnectPtr {
    export!(|call| get_connect(call, NETWORK, net))
}

#[no_mangle]
pub extern "C" fn virStoragePoolGetName(pool: virStoragePoolPtr) -> *const c_char {
    export!(|call| get_name(call, POOL, pool))
}

/// Copies the pool's 16-byte UUID into `uuid`.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolGetUUID(pool: virStoragePoolPtr, uuid: *mut c_uchar) -> c_int {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { get_uuid(call, POOL, pool, uuid) })
}

/// Writes the pool's UUID as text into `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolGetUUIDString(pool: virStoragePoolPtr, buf: *mut c_char) -> c_int {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { get_uuid_string(call, POOL, pool, buf) })
}

#[no_mangle]
pub extern "C" fn virStoragePoolRef(pool: virStoragePoolPtr) -> c_int {
    export!(|call| add_ref(call, POOL, pool))
}

#[no_mangle]
pub extern "C" fn virStoragePoolFree(pool: virStoragePoolPtr) -> c_int {
    export!(|call| free(call, POOL, pool))
}

#[no_mangle]
pub extern "C" fn virStoragePoolGetConnect(pool: virStoragePoolPtr) -> virConnectPtr {
    export!(|call| get_connect(call, POOL, pool))
}

#[no_mangle]
pub extern "C" fn virNodeDeviceGetName(dev: virNodeDevicePtr) -> *const c_char {
    export!(|call| get_name(call, NODE_DEVICE, dev))
}

#[no_mangle]
pub extern "C" fn virNodeDeviceRef(dev: virNodeDevicePtr) -> c_int {
    export!(|call| add_ref(call, NODE_DEVICE, dev))
}

#[no_mangle]
pub extern "C" fn virNodeDeviceFree(dev: virNodeDevicePtr) -> c_int {
    export!(|call| free(call, NODE_DEVICE, dev))
}

/// Copies the secret's 16-byte UUID into `uuid`.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virSecretGetUUID(secret: virSecretPtr, uuid: *mut c_uchar) -> c_int {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { get_uuid(call, SECRET, secret, uuid) })
}

/// Writes the secret's UUID as text into `buf`.
///
/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virSecretGetUUIDString(secret: virSecretPtr, buf: *mut c_char) -> c_int {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { get_uuid_string(call, SECRET, secret, buf) })
}

/// The secret's `virSecretUsageType`.
#[no_mangle]
pub extern "C" fn virSecretGetUsageType(secret: virSecretPtr) -> c_int {
    export!(|call| { Ok(call.object(secret, SECRET)?.identity.usage_type) })
}

/// What the secret is for (a volume path, a Ceph user...).
#[no_mangle]
pub extern "C" fn virSecretGetUsageID(secret: virSecretPtr) -> *const c_char {
    export!(|call| get_name(call, SECRET, secret))
}

#[no_mangle]
pub extern "C" fn virSecretRef(secret: virSecretPtr) -> c_int {
    export!(|call| add_ref(call, SECRET, secret))
}

#[no_mangle]
pub extern "C" fn virSecretFree(secret: virSecretPtr) -> c_int {
    export!(|call| free(call, SECRET, secret))
}

#[no_mangle]
pub extern "C" fn virSecretGetConnect(secret: virSecretPtr) -> virConnectPtr {
    export!(|call| get_connect(call, SECRET, secret))
}
