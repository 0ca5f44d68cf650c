//! Library and connection functions.

use std::os::raw::{c_char, c_int, c_uint, c_ulong, c_void};
use std::ptr;
use std::sync::Arc;

use super::handles::{ConnHandle, DomainHandle, Handle};
use super::{export, strings};
use crate::abi::common::{
    virConnectAuth, virConnectAuthPtr, virConnectCloseFunc, virConnectFlags, virConnectPtr, virDomainPtr,
    virFreeCallback, LIBVIR_VERSION_NUMBER,
};
use crate::connection::Connection;
use crate::driver::remote::CloseCallback;
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
        let open = handle.other_counts() > 0;
        if !open {
            if let Err(error) = handle.conn.driver.disconnect() {
                super::error::record(&error);
            }
        }
        Ok(c_int::from(open))
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

/// 1 while the connection is usable: in-process connections until they are
/// closed, remote ones until their daemon goes away.
#[no_mangle]
pub extern "C" fn virConnectIsAlive(conn: virConnectPtr) -> c_int {
    export!(|call| call.connection(conn).map(|handle| c_int::from(handle.conn.driver.is_alive())))
}

/// Starts keepalive on a remote connection (0), or reports that the peer
/// has none (1: in-process connections, servers without it).
#[no_mangle]
pub extern "C" fn virConnectSetKeepAlive(conn: virConnectPtr, interval: c_int, count: c_uint) -> c_int {
    export!(|call| call.connection(conn)?.conn.driver.set_keepalive(interval, count))
}

/// An application's close callback, with a reference on its connection
/// while it is registered.
struct CCloseCallback {
    function: unsafe extern "C" fn(virConnectPtr, c_int, *mut c_void),
    opaque: *mut c_void,
    freecb: virFreeCallback,
    conn: Handle<ConnHandle>,
}

// SAFETY: libvirt's contract lets the library call the close callback and
// its free function from the event-loop thread whatever thread registered it.
unsafe impl Send for CCloseCallback {}
// SAFETY: as above; the record is never mutated after creation.
unsafe impl Sync for CCloseCallback {}

impl CloseCallback for CCloseCallback {
    fn identity(&self) -> usize {
        self.function as usize
    }

    fn closed(&self, reason: c_int) {
        // SAFETY: the application registered this function for this connection and opaque.
        unsafe { (self.function)(self.conn.as_ptr(), reason, self.opaque) }
    }
}

impl Drop for CCloseCallback {
    fn drop(&mut self) {
        if let Some(free) = self.freecb {
            // SAFETY: the application gave this function to free this opaque.
            unsafe { free(self.opaque) };
        }
    }
}

/// Registers the connection's close callback. A remote connection calls it
/// (from the event loop) when its daemon goes away; in-process connections
/// only close through `virConnectClose`, so, as with libvirt's in-process
/// drivers, it is never called (nor its `freecb`).
#[no_mangle]
pub extern "C" fn virConnectRegisterCloseCallback(
    conn: virConnectPtr,
    cb: virConnectCloseFunc,
    opaque: *mut c_void,
    freecb: virFreeCallback,
) -> c_int {
    export!(|call| {
        let name = call.function;
        let handle = call.connection(conn)?;
        let function = cb.ok_or_else(|| Error::null_arg(name, "cb"))?;
        let make =
            || Arc::new(CCloseCallback { function, opaque, freecb, conn: handle.clone() }) as Arc<dyn CloseCallback>;
        handle.conn.driver.register_close(&make)?;
        Ok(0)
    })
}

/// The counterpart of `virConnectRegisterCloseCallback`.
#[no_mangle]
pub extern "C" fn virConnectUnregisterCloseCallback(conn: virConnectPtr, cb: virConnectCloseFunc) -> c_int {
    export!(|call| {
        let name = call.function;
        let handle = call.connection(conn)?;
        let function = cb.ok_or_else(|| Error::null_arg(name, "cb"))?;
        handle.conn.driver.unregister_close(function as usize)?;
        Ok(0)
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
