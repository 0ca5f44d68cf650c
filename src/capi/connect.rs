//! Library and connection functions.

use std::os::raw::{c_char, c_int, c_uint, c_ulong};
use std::ptr;

use super::handles::{ConnHandle, DomainHandle};
use super::{export, strings};
use crate::abi::common::{
    virConnectAuth, virConnectAuthPtr, virConnectCloseFunc, virConnectFlags, virConnectPtr, virDomainPtr,
    virFreeCallback, LIBVIR_VERSION_NUMBER,
};
use crate::connection::Connection;
use crate::error::{Error, ErrorDomain, Result};

/// Initialises the library; nothing needs doing, so it always succeeds.
#[no_mangle]
pub extern "C" fn virInitialize() -> c_int {
    export!(quiet || 0)
}

/// Reports the library version (and the same number for any driver type).
///
/// # Safety
/// `libVer` and `typeVer` must be NULL or writable; `type` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn virGetVersion(libVer: *mut c_ulong, r#type: *const c_char, typeVer: *mut c_ulong) -> c_int {
    export!(|call| {
        if libVer.is_null() {
            return Err(Error::null_arg(call.function, "libVer"));
        }
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *libVer = LIBVIR_VERSION_NUMBER };
        if !r#type.is_null() && !typeVer.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *typeVer = LIBVIR_VERSION_NUMBER };
        }
        Ok(0)
    })
}

/// Opens `name`, a C string or NULL (the default URI).
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
unsafe fn open(name: *const c_char, read_only: bool) -> Result<virConnectPtr> {
    // SAFETY: per this function's contract.
    let uri = unsafe { strings::borrow(name) };
    let conn = Connection::open(uri.as_deref(), read_only)?;
    Ok(ConnHandle::new(conn).into_c())
}

/// Opens a connection to the driver `name` names (NULL: the default URI).
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virConnectOpen(name: *const c_char) -> virConnectPtr {
    // SAFETY: the caller's guarantee is `open`'s.
    export!(|_call| unsafe { open(name, false) })
}

/// Opens a read-only connection: domain operations are refused.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virConnectOpenReadOnly(name: *const c_char) -> virConnectPtr {
    // SAFETY: the caller's guarantee is `open`'s.
    export!(|_call| unsafe { open(name, true) })
}

/// Opens a connection; the in-process drivers need no credentials, so `auth`
/// is never called.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virConnectOpenAuth(
    name: *const c_char,
    _auth: virConnectAuthPtr,
    flags: c_uint,
) -> virConnectPtr {
    // SAFETY: the caller's guarantee is `open`'s.
    export!(|_call| unsafe { open(name, flags & virConnectFlags::VIR_CONNECT_RO as c_uint != 0) })
}

/// The default authentication callback set: no credential types, no callback.
struct DefaultAuth(virConnectAuth);
// SAFETY: the record holds only NULL pointers and is never written.
unsafe impl Sync for DefaultAuth {}
static DEFAULT_AUTH: DefaultAuth =
    DefaultAuth(virConnectAuth { credtype: ptr::null_mut(), ncredtype: 0, cb: None, cbdata: ptr::null_mut() });

#[no_mangle]
pub static mut virConnectAuthPtrDefault: virConnectAuthPtr =
    &DEFAULT_AUTH.0 as *const virConnectAuth as virConnectAuthPtr;

/// Drops the caller's reference. Returns 0 once the connection is closed, 1
/// while references remain (registered callbacks and domain objects hold
/// some), as libvirt does, or -1.
#[no_mangle]
pub extern "C" fn virConnectClose(conn: virConnectPtr) -> c_int {
    export!(|call| {
        let handle = ConnHandle::check(conn, call.function, ErrorDomain::VIR_FROM_NONE)?;
        // SAFETY: the application gives up the count it got with `conn`.
        unsafe { handle.release_c_ref() };
        Ok(c_int::from(handle.other_counts() > 0))
    })
}

#[no_mangle]
pub extern "C" fn virConnectRef(conn: virConnectPtr) -> c_int {
    export!(|call| {
        call.connection(conn)?.add_c_ref();
        Ok(0)
    })
}

/// The connection's canonical URI, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virConnectGetURI(conn: virConnectPtr) -> *mut c_char {
    export!(|call| {
        let handle = call.connection(conn)?;
        Ok(strings::to_malloced(&handle.conn.uri))
    })
}

/// In-process connections are alive for as long as they are open.
#[no_mangle]
pub extern "C" fn virConnectIsAlive(conn: virConnectPtr) -> c_int {
    export!(|call| call.connection(conn).map(|_| 1))
}

/// In-process connections have no transport to keep alive: returns 1, the
/// contract's answer for a peer without keepalive support.
#[no_mangle]
pub extern "C" fn virConnectSetKeepAlive(conn: virConnectPtr, _interval: c_int, _count: c_uint) -> c_int {
    export!(|call| call.connection(conn).map(|_| 1))
}

/// Accepts a close callback. In-process connections only close through
/// `virConnectClose`, so, as with libvirt's in-process drivers, it is never
/// called (nor its `freecb`).
#[no_mangle]
pub extern "C" fn virConnectRegisterCloseCallback(
    conn: virConnectPtr,
    cb: virConnectCloseFunc,
    _opaque: *mut std::os::raw::c_void,
    _freecb: virFreeCallback,
) -> c_int {
    export!(|call| {
        let name = call.function;
        call.connection(conn)?;
        cb.ok_or_else(|| Error::null_arg(name, "cb")).map(|_| 0)
    })
}

/// The counterpart of `virConnectRegisterCloseCallback`.
#[no_mangle]
pub extern "C" fn virConnectUnregisterCloseCallback(conn: virConnectPtr, cb: virConnectCloseFunc) -> c_int {
    export!(|call| {
        let name = call.function;
        call.connection(conn)?;
        cb.ok_or_else(|| Error::null_arg(name, "cb")).map(|_| 0)
    })
}

/// Lists the domains that pass `flags`; fills `*domains` with an array the
/// caller frees (each element with `virDomainFree`, the array with `free()`).
///
/// # Safety
/// `domains` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virConnectListAllDomains(
    conn: virConnectPtr,
    domains: *mut *mut virDomainPtr,
    flags: c_uint,
) -> c_int {
    export!(|call| {
        let handle = call.connection(conn)?;
        let found = handle.conn.driver.list_all(flags)?;
        // SAFETY: `domains` is NULL or writable per the contract.
        unsafe { super::export_list(domains, found, |identity| DomainHandle::new(&handle, identity).into_c()) }
    })
}
