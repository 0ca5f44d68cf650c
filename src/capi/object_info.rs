//! Networks and storage pools beyond their lifecycle: the flag variants of
//! creating and defining networks, and what an object says about itself
//! (autostart, bridge, a pool's sizes).

use std::os::raw::{c_char, c_int, c_uint, c_void};

use super::object_ops::{from_xml, null_arg};
use super::{export, strings, Call};
use crate::abi::common::{virConnectPtr, virNetworkPtr};
use crate::abi::libvirt_api::virStoragePoolState::{VIR_STORAGE_POOL_INACTIVE, VIR_STORAGE_POOL_RUNNING};
use crate::abi::libvirt_api::{virStoragePoolInfo, virStoragePoolInfoPtr};
use crate::abi::object_events::virStoragePoolPtr;
use crate::error::Result;
use crate::event::EventClass;

const NETWORK: EventClass = EventClass::Network;
const POOL: EventClass = EventClass::StoragePool;

/// Starts a network from its XML, with `virNetworkCreateFlags`.
///
/// # Safety
/// `xmlDesc` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkCreateXMLFlags(
    conn: virConnectPtr,
    xmlDesc: *const c_char,
    flags: c_uint,
) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { from_xml(call, (NETWORK, "xmlDesc", false), conn, xmlDesc, flags) })
}

/// Defines a network from its XML, with `virNetworkDefineFlags`.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkDefineXMLFlags(
    conn: virConnectPtr,
    xml: *const c_char,
    flags: c_uint,
) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { from_xml(call, (NETWORK, "xml", true), conn, xml, flags) })
}

/// Writes whether the network or pool `object` starts with the host.
///
/// # Safety
/// `autostart` must be NULL or writable.
unsafe fn autostart(call: &mut Call, class: EventClass, object: *mut c_void, autostart: *mut c_int) -> Result<c_int> {
    let handle = call.object(object, class)?;
    if autostart.is_null() {
        return Err(null_arg(call, class, "autostart"));
    }
    let value = handle.conn().conn.driver.object_autostart(class, &handle.identity)?;
    // SAFETY: non-NULL and writable per this function's contract.
    unsafe { *autostart = c_int::from(value) };
    Ok(0)
}

/// Whether the network starts with its host.
///
/// # Safety
/// `autostart` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virNetworkGetAutostart(network: virNetworkPtr, autostart: *mut c_int) -> c_int {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { self::autostart(call, NETWORK, network.cast(), autostart) })
}

/// Whether the pool starts with its host.
///
/// # Safety
/// `autostart` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolGetAutostart(pool: virStoragePoolPtr, autostart: *mut c_int) -> c_int {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { self::autostart(call, POOL, pool.cast(), autostart) })
}

/// The network's bridge device, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virNetworkGetBridgeName(network: virNetworkPtr) -> *mut c_char {
    export!(|call| {
        let handle = call.object(network, NETWORK)?;
        Ok(strings::to_malloced(&handle.conn().conn.driver.network_bridge(&handle.identity)?))
    })
}

/// Fills the caller's `virStoragePoolInfo`.
///
/// # Safety
/// `info` must be NULL or point to a writable `virStoragePoolInfo`.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolGetInfo(pool: virStoragePoolPtr, info: virStoragePoolInfoPtr) -> c_int {
    export!(|call| {
        let handle = call.object(pool, POOL)?;
        if info.is_null() {
            return Err(null_arg(call, POOL, "info"));
        }
        let current = handle.conn().conn.driver.pool_info(&handle.identity)?;
        let state = if current.running { VIR_STORAGE_POOL_RUNNING } else { VIR_STORAGE_POOL_INACTIVE };
        let record = virStoragePoolInfo {
            state: state as c_int,
            capacity: current.capacity,
            allocation: current.allocation,
            available: current.available,
        };
        // SAFETY: non-NULL and pointing to a writable virStoragePoolInfo per
        // the contract.
        unsafe { info.write_unaligned(record) };
        Ok(0)
    })
}
