//! libvirt's older enumeration functions (counts, and arrays of IDs or names
//! the caller provides), over the same driver listings as the
//! `virConnectListAll*` functions; and the domain lookups and accessors that
//! need nothing new of the drivers.

use std::os::raw::{c_char, c_int, c_uchar, c_uint, c_ulong};

use super::handles::DomainHandle;
use super::{export, strings, Call};
use crate::abi::common::{virConnectPtr, virDomainPtr};
use crate::abi::object_events::virNodeDevicePtr;
use crate::driver::{Counted, Named};
use crate::error::{Error, Result};
use crate::event::EventClass;
use crate::uuid::{Uuid, UUID_BUFLEN};

fn count(items: usize) -> c_int {
    c_int::try_from(items).unwrap_or(c_int::MAX)
}

/// libvirt's checks of a caller's array and its size: `array` may be NULL
/// only when `size` is 0, and `size` is not negative.
pub(super) fn check_array<T>(
    function: &str,
    (array, array_name): (*mut T, &str),
    (size, size_name): (c_int, &str),
) -> Result<()> {
    if array.is_null() && size > 0 {
        return Err(Error::null_arg(function, array_name));
    }
    if size < 0 {
        return Err(Error::negative_arg(function, size_name));
    }
    Ok(())
}

/// Fills the caller's array of `max` names with `malloc`ed copies of the
/// first `max` of `names`; returns how many it wrote.
///
/// # Safety
/// `out` must point to `max` writable pointers (checked by `check_array`).
pub(super) unsafe fn fill_names(out: *mut *mut c_char, max: c_int, names: impl Iterator<Item = String>) -> c_int {
    let mut written = 0;
    for (i, name) in names.take(usize::try_from(max).unwrap_or(0)).enumerate() {
        // SAFETY: `i < max`, within the caller's array.
        unsafe { *out.wrapping_add(i) = strings::to_malloced(&name) };
        written += 1;
    }
    written
}

/// The number of running domains.
#[no_mangle]
pub extern "C" fn virConnectNumOfDomains(conn: virConnectPtr) -> c_int {
    export!(|call| Ok(count(call.connection(conn)?.conn.driver.count(Counted::RunningDomains, call.function)?)))
}

/// The number of defined domains that are not running.
#[no_mangle]
pub extern "C" fn virConnectNumOfDefinedDomains(conn: virConnectPtr) -> c_int {
    export!(|call| {
        let inactive = Counted::Names(Named::InactiveDomains);
        Ok(count(call.connection(conn)?.conn.driver.count(inactive, call.function)?))
    })
}

/// Writes the IDs of up to `maxids` running domains to `ids`; returns how
/// many it wrote.
///
/// # Safety
/// `ids` must be NULL or point to `maxids` writable integers.
#[no_mangle]
pub unsafe extern "C" fn virConnectListDomains(conn: virConnectPtr, ids: *mut c_int, maxids: c_int) -> c_int {
    export!(|call| {
        let handle = call.connection(conn)?;
        check_array(call.function, (ids, "ids"), (maxids, "maxids"))?;
        let running = handle.conn.driver.running_ids(maxids)?;
        let mut written = 0;
        for (i, id) in running.into_iter().take(usize::try_from(maxids).unwrap_or(0)).enumerate() {
            // SAFETY: `i < maxids`, within the caller's array.
            unsafe { *ids.wrapping_add(i) = id };
            written += 1;
        }
        Ok(written)
    })
}

/// Writes the names of up to `maxnames` defined, inactive domains to
/// `names`, each for the caller to `free()`; returns how many it wrote.
///
/// # Safety
/// `names` must be NULL or point to `maxnames` writable pointers.
#[no_mangle]
pub unsafe extern "C" fn virConnectListDefinedDomains(
    conn: virConnectPtr,
    names: *mut *mut c_char,
    maxnames: c_int,
) -> c_int {
    export!(|call| {
        let handle = call.connection(conn)?;
        check_array(call.function, (names, "names"), (maxnames, "maxnames"))?;
        let found = handle.conn.driver.names(Named::InactiveDomains, maxnames, call.function)?;
        // SAFETY: checked above, writable per the contract.
        Ok(unsafe { fill_names(names, maxnames, found.into_iter()) })
    })
}

/// The common body of the network and pool listings.
///
/// # Safety
/// `names` must be NULL or point to `maxnames` writable pointers.
unsafe fn list_object_names(
    call: &mut Call,
    (conn, class, active): (virConnectPtr, EventClass, bool),
    names: *mut *mut c_char,
    maxnames: c_int,
) -> Result<c_int> {
    let handle = call.connection_for(conn, class)?;
    check_array(call.function, (names, "names"), (maxnames, "maxnames"))
        .map_err(|e| e.in_domain(class.descriptor().error_domain))?;
    let found = handle.conn.driver.names(Named::Objects(class, active), maxnames, call.function)?;
    // SAFETY: checked above, writable per the contract.
    Ok(unsafe { fill_names(names, maxnames, found.into_iter()) })
}

/// Writes the names of up to `maxnames` active networks to `names`.
///
/// # Safety
/// `names` must be NULL or point to `maxnames` writable pointers.
#[no_mangle]
pub unsafe extern "C" fn virConnectListNetworks(
    conn: virConnectPtr,
    names: *mut *mut c_char,
    maxnames: c_int,
) -> c_int {
    // SAFETY: the caller's contract is `list_object_names`'.
    export!(|call| unsafe { list_object_names(call, (conn, EventClass::Network, true), names, maxnames) })
}

/// Writes the names of up to `maxnames` inactive networks to `names`.
///
/// # Safety
/// As `virConnectListNetworks`.
#[no_mangle]
pub unsafe extern "C" fn virConnectListDefinedNetworks(
    conn: virConnectPtr,
    names: *mut *mut c_char,
    maxnames: c_int,
) -> c_int {
    // SAFETY: the caller's contract is `list_object_names`'.
    export!(|call| unsafe { list_object_names(call, (conn, EventClass::Network, false), names, maxnames) })
}

/// Writes the names of up to `maxnames` active storage pools to `names`.
///
/// # Safety
/// As `virConnectListNetworks`.
#[no_mangle]
pub unsafe extern "C" fn virConnectListStoragePools(
    conn: virConnectPtr,
    names: *mut *mut c_char,
    maxnames: c_int,
) -> c_int {
    // SAFETY: the caller's contract is `list_object_names`'.
    export!(|call| unsafe { list_object_names(call, (conn, EventClass::StoragePool, true), names, maxnames) })
}

/// Writes the names of up to `maxnames` inactive storage pools to `names`.
///
/// # Safety
/// As `virConnectListNetworks`.
#[no_mangle]
pub unsafe extern "C" fn virConnectListDefinedStoragePools(
    conn: virConnectPtr,
    names: *mut *mut c_char,
    maxnames: c_int,
) -> c_int {
    // SAFETY: the caller's contract is `list_object_names`'.
    export!(|call| unsafe { list_object_names(call, (conn, EventClass::StoragePool, false), names, maxnames) })
}

/// The domain whose raw UUID is the 16 bytes at `uuid`, for the caller to
/// free.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn virDomainLookupByUUID(conn: virConnectPtr, uuid: *const c_uchar) -> virDomainPtr {
    export!(|call| {
        let handle = call.connection(conn)?;
        if uuid.is_null() {
            return Err(Error::null_arg(call.function, "uuid"));
        }
        let mut bytes = [0u8; UUID_BUFLEN];
        // SAFETY: `VIR_UUID_BUFLEN` readable bytes per the contract.
        bytes.copy_from_slice(unsafe { std::slice::from_raw_parts(uuid, UUID_BUFLEN) });
        let identity = handle.conn.driver.lookup_by_uuid(&Uuid(bytes))?;
        Ok(DomainHandle::new(&handle, identity).into_c())
    })
}

/// The domain's connection; the caller gets no reference of its own.
#[no_mangle]
pub extern "C" fn virDomainGetConnect(dom: virDomainPtr) -> virConnectPtr {
    export!(|call| Ok(call.domain(dom)?.conn().as_ptr()))
}

/// The domain's maximum memory in KiB; 0 on failure, as libvirt.
#[no_mangle]
pub extern "C" fn virDomainGetMaxMemory(domain: virDomainPtr) -> c_ulong {
    export!(|call| {
        let handle = call.domain(domain)?;
        Ok(handle.conn().conn.driver.info(&handle.identity)?.max_memory_kib)
    })
}

/// The library's version, 9000000 (libvirt 9.0.0's), written to `libVer`.
///
/// # Safety
/// `libVer` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virConnectGetLibVersion(conn: virConnectPtr, libVer: *mut c_ulong) -> c_int {
    export!(|call| {
        call.connection(conn)?;
        if libVer.is_null() {
            return Err(Error::null_arg(call.function, "libVer"));
        }
        // SAFETY: non-NULL (checked) and writable per the contract.
        unsafe { *libVer = crate::abi::common::LIBVIR_VERSION_NUMBER };
        Ok(0)
    })
}

/// 0: in-process connections have nothing to encrypt, remote ones no TLS.
///
/// A remote connection asks the server first, as libvirt's client does;
/// it has neither TLS nor SASL.
#[no_mangle]
pub extern "C" fn virConnectIsEncrypted(conn: virConnectPtr) -> c_int {
    export!(|call| Ok(c_int::from(call.connection(conn)?.conn.driver.is_encrypted()?)))
}

/// 1 in-process; remote: whether the transport and the server both are.
///
/// A remote transport is secure when it is a local socket or ssh, as
/// libvirt's client counts it.
#[no_mangle]
pub extern "C" fn virConnectIsSecure(conn: virConnectPtr) -> c_int {
    export!(|call| Ok(c_int::from(call.connection(conn)?.conn.driver.is_secure()?)))
}

/// The number of node devices with capability `cap` (NULL: all).
///
/// # Safety
/// `cap` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNodeNumOfDevices(conn: virConnectPtr, cap: *const c_char, flags: c_uint) -> c_int {
    export!(|call| {
        let handle = call.connection_for(conn, EventClass::NodeDevice)?;
        // SAFETY: per this function's contract.
        let cap = unsafe { strings::borrow(cap) };
        let devices = Counted::Names(Named::NodeDevices { cap: cap.as_deref(), flags });
        Ok(count(handle.conn.driver.count(devices, call.function)?))
    })
}

/// Fills `names` with names of node devices with capability `cap` (NULL: all).
///
/// At most `maxnames`, each for the caller to `free()`.
///
/// # Safety
/// `cap` must be NULL or a C string; `names` NULL or `maxnames` writable pointers.
#[no_mangle]
pub unsafe extern "C" fn virNodeListDevices(
    conn: virConnectPtr,
    cap: *const c_char,
    names: *mut *mut c_char,
    maxnames: c_int,
    flags: c_uint,
) -> c_int {
    export!(|call| {
        let handle = call.connection_for(conn, EventClass::NodeDevice)?;
        check_array(call.function, (names, "names"), (maxnames, "maxnames")).map_err(in_nodedev)?;
        // SAFETY: per this function's contract.
        let cap = unsafe { strings::borrow(cap) };
        let devices = Named::NodeDevices { cap: cap.as_deref(), flags };
        let found = handle.conn.driver.names(devices, maxnames, call.function)?;
        // SAFETY: `names` holds `maxnames` pointers (checked above).
        Ok(unsafe { fill_names(names, maxnames, found.into_iter()) })
    })
}

fn in_nodedev(error: Error) -> Error {
    error.in_domain(EventClass::NodeDevice.descriptor().error_domain)
}

#[no_mangle]
pub extern "C" fn virNodeDeviceNumOfCaps(dev: virNodeDevicePtr) -> c_int {
    export!(|call| {
        let handle = call.object(dev, EventClass::NodeDevice)?;
        let caps = Counted::Names(Named::DeviceCaps(&handle.identity.name));
        Ok(count(handle.conn().conn.driver.count(caps, call.function)?))
    })
}

/// Fills `names` with the device's capability types.
///
/// At most `maxnames`, each for the caller to `free()`.
///
/// # Safety
/// `names` must be NULL or point to `maxnames` writable pointers.
#[no_mangle]
pub unsafe extern "C" fn virNodeDeviceListCaps(
    dev: virNodeDevicePtr,
    names: *mut *mut c_char,
    maxnames: c_int,
) -> c_int {
    export!(|call| {
        let handle = call.object(dev, EventClass::NodeDevice)?;
        check_array(call.function, (names, "names"), (maxnames, "maxnames")).map_err(in_nodedev)?;
        let caps = Named::DeviceCaps(&handle.identity.name);
        let found = handle.conn().conn.driver.names(caps, maxnames, call.function)?;
        // SAFETY: `names` holds `maxnames` pointers (checked above).
        Ok(unsafe { fill_names(names, maxnames, found.into_iter()) })
    })
}
