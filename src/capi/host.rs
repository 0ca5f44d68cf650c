//! What a connection says about its hypervisor and host: type, version,
//! host name, node information and capabilities.

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_ulong};

use once_cell::sync::Lazy;
use parking_lot::Mutex;

use super::{export, strings};
use crate::abi::common::virConnectPtr;
use crate::abi::libvirt_api::{virNodeInfo, virNodeInfoPtr};
use crate::error::Error;

/// The hypervisor names handed out, kept for the life of the process:
/// `virConnectGetType`'s string is not the caller's to free. There are only
/// as many as there are drivers.
static TYPE_NAMES: Lazy<Mutex<Vec<CString>>> = Lazy::new(|| Mutex::new(Vec::new()));

fn static_type_name(name: &str) -> *const c_char {
    let mut names = TYPE_NAMES.lock();
    if let Some(known) = names.iter().find(|n| n.to_bytes() == name.as_bytes()) {
        return known.as_ptr();
    }
    names.push(strings::owned(name));
    names.last().map_or(std::ptr::null(), |n| n.as_ptr())
}

/// The hypervisor's name (`TEST`, `QEMU`), owned by the library.
#[no_mangle]
pub extern "C" fn virConnectGetType(conn: virConnectPtr) -> *const c_char {
    export!(|call| Ok(static_type_name(&call.connection(conn)?.conn.driver.hypervisor_type()?)))
}

/// The hypervisor's version, as major * 1,000,000 + minor * 1,000 + release.
///
/// # Safety
/// `hvVer` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virConnectGetVersion(conn: virConnectPtr, hvVer: *mut c_ulong) -> c_int {
    export!(|call| {
        let handle = call.connection(conn)?;
        if hvVer.is_null() {
            return Err(Error::null_arg(call.function, "hvVer"));
        }
        let version = handle.conn.driver.hypervisor_version()?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *hvVer = version as c_ulong };
        Ok(0)
    })
}

/// The host's name, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virConnectGetHostname(conn: virConnectPtr) -> *mut c_char {
    export!(|call| Ok(strings::to_malloced(&call.connection(conn)?.conn.driver.hostname()?)))
}

/// The most vCPUs a guest of virtualization type `type` may have (NULL: the driver's default).
///
/// # Safety
/// `type` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virConnectGetMaxVcpus(conn: virConnectPtr, r#type: *const c_char) -> c_int {
    export!(|call| {
        let handle = call.connection(conn)?;
        // SAFETY: NULL or a C string per the contract.
        let virt_type = unsafe { strings::borrow(r#type) };
        handle.conn.driver.max_vcpus(virt_type.as_deref())
    })
}

/// The capabilities XML, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virConnectGetCapabilities(conn: virConnectPtr) -> *mut c_char {
    export!(|call| Ok(strings::to_malloced(&call.connection(conn)?.conn.driver.capabilities()?)))
}

/// Fills the caller's `virNodeInfo`.
///
/// # Safety
/// `info` must be NULL or point to a writable `virNodeInfo`.
#[no_mangle]
pub unsafe extern "C" fn virNodeGetInfo(conn: virConnectPtr, info: virNodeInfoPtr) -> c_int {
    export!(|call| {
        let handle = call.connection(conn)?;
        if info.is_null() {
            return Err(Error::null_arg(call.function, "info"));
        }
        let node = handle.conn.driver.node_info()?;
        let mut record = virNodeInfo {
            model: [0; 32],
            memory: node.memory_kib as c_ulong,
            cpus: node.cpus,
            mhz: node.mhz,
            nodes: node.nodes,
            sockets: node.sockets,
            cores: node.cores,
            threads: node.threads,
        };
        // libvirt keeps the model NUL-terminated within its 32 bytes.
        for (slot, byte) in record.model.iter_mut().zip(node.model.bytes().take(31)) {
            *slot = byte as c_char;
        }
        // SAFETY: non-NULL and pointing to a writable virNodeInfo per the
        // contract.
        unsafe { info.write_unaligned(record) };
        Ok(0)
    })
}

/// Checks the answers' shape that does not need a connection.
#[cfg(test)]
mod tests {
    #[test]
    fn type_names_are_kept_once() {
        let first = super::static_type_name("TEST");
        assert_eq!(first, super::static_type_name("TEST"));
        assert_ne!(first, super::static_type_name("QEMU"));
    }
}
