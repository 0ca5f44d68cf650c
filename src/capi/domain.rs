//! Domain objects: accessors, lookups and lifecycle operations.

use std::os::raw::{c_char, c_int, c_uchar, c_uint};

use super::handles::{DomainHandle, Handle};
use super::{check_writable, export, strings, Call};
use crate::abi::common::{virConnectPtr, virDomainInfoPtr, virDomainPtr};
use crate::abi::domain_event::virDomainMetadataType as MetadataKind;
use crate::driver::metadata::MetadataChange;
use crate::driver::Driver;
use crate::error::{Error, ErrorDomain, Result};
use crate::event::DomainIdentity;
use crate::uuid::Uuid;

#[no_mangle]
pub extern "C" fn virDomainGetName(domain: virDomainPtr) -> *const c_char {
    export!(|call| Ok(call.domain(domain)?.name.as_ptr()))
}

/// The domain's ID when it was looked up, or `(unsigned)-1` if inactive.
#[no_mangle]
pub extern "C" fn virDomainGetID(domain: virDomainPtr) -> c_uint {
    export!(|call| Ok(call.domain(domain)?.id() as c_uint))
}

/// Writes the 16 raw bytes of the domain's UUID to `uuid`.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetUUID(domain: virDomainPtr, uuid: *mut c_uchar) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        // SAFETY: per this function's contract.
        unsafe { strings::write_uuid(&handle.identity.uuid, uuid, call.function, ErrorDomain::VIR_FROM_DOMAIN) }
    })
}

/// Writes the domain's UUID as text (`VIR_UUID_STRING_BUFLEN` bytes).
///
/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetUUIDString(domain: virDomainPtr, buf: *mut c_char) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        // SAFETY: per this function's contract.
        unsafe { strings::write_uuid_string(&handle.identity.uuid, buf, call.function, ErrorDomain::VIR_FROM_DOMAIN) }
    })
}

#[no_mangle]
pub extern "C" fn virDomainRef(domain: virDomainPtr) -> c_int {
    export!(|call| {
        call.domain(domain)?.add_c_ref();
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn virDomainFree(domain: virDomainPtr) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        // SAFETY: the application gives up the count it got with `domain`.
        unsafe { handle.release_c_ref() };
        Ok(0)
    })
}

/// Looks a domain up through the connection's driver and wraps it.
fn lookup(
    call: &mut Call,
    conn: virConnectPtr,
    find: impl FnOnce(&dyn Driver, &str) -> Result<DomainIdentity>,
) -> Result<virDomainPtr> {
    let handle = call.connection(conn)?;
    let identity = find(handle.conn.driver.as_ref(), call.function)?;
    Ok(DomainHandle::new(&handle, identity).into_c())
}

/// The domain called `name`, for the caller to free.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainLookupByName(conn: virConnectPtr, name: *const c_char) -> virDomainPtr {
    export!(|call| lookup(call, conn, |driver, function| {
        // SAFETY: NULL or a C string per the contract.
        let name = unsafe { strings::borrow(name) }.ok_or_else(|| Error::null_arg(function, "name"))?;
        driver.lookup_by_name(&name)
    }))
}

#[no_mangle]
pub extern "C" fn virDomainLookupByID(conn: virConnectPtr, id: c_int) -> virDomainPtr {
    export!(|call| lookup(call, conn, |driver, function| {
        if id < 0 {
            return Err(Error::negative_arg(function, "id"));
        }
        driver.lookup_by_id(id)
    }))
}

/// The domain whose UUID `uuidstr` spells, for the caller to free.
///
/// # Safety
/// `uuidstr` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainLookupByUUIDString(conn: virConnectPtr, uuidstr: *const c_char) -> virDomainPtr {
    export!(|call| lookup(call, conn, |driver, function| {
        // SAFETY: NULL or a C string per the contract.
        let text = unsafe { strings::borrow(uuidstr) }.ok_or_else(|| Error::null_arg(function, "uuidstr"))?;
        let uuid = Uuid::parse(&text).ok_or_else(|| Error::arg_check(function, "uuidstr", "Invalid UUID"))?;
        driver.lookup_by_uuid(&uuid)
    }))
}

/// Runs a driver operation on a domain, refusing it on read-only connections.
pub(super) fn operate(
    call: &mut Call,
    domain: virDomainPtr,
    op: impl FnOnce(&dyn Driver, &DomainIdentity) -> Result<()>,
) -> Result<c_int> {
    let handle = operate_in_place(call, domain, op)?;
    let driver = handle.conn().conn.driver.as_ref();
    // A transient domain that stopped is gone: it has no ID any more.
    handle.set_id(driver.refresh(&handle.identity).map_or(-1, |now| now.id));
    Ok(0)
}

/// Runs a driver operation that leaves a domain running (or paused) with
/// its ID, which the handle keeps without asking the driver again (for a
/// remote connection, a round trip), as libvirt's handles do.
fn operate_in_place(
    call: &mut Call,
    domain: virDomainPtr,
    op: impl FnOnce(&dyn Driver, &DomainIdentity) -> Result<()>,
) -> Result<Handle<DomainHandle>> {
    let handle = DomainHandle::check(domain, call.function)?;
    let done = check_writable(handle.conn(), call.function, ErrorDomain::VIR_FROM_DOMAIN)
        .and_then(|()| op(handle.conn().conn.driver.as_ref(), &handle.identity));
    call.failing_on(handle.conn(), done)?;
    Ok(handle)
}

#[no_mangle]
pub extern "C" fn virDomainSuspend(domain: virDomainPtr) -> c_int {
    export!(|call| operate_in_place(call, domain, |d, dom| d.suspend(dom)).map(|_| 0))
}

#[no_mangle]
pub extern "C" fn virDomainResume(domain: virDomainPtr) -> c_int {
    export!(|call| operate_in_place(call, domain, |d, dom| d.resume(dom)).map(|_| 0))
}

#[no_mangle]
pub extern "C" fn virDomainReboot(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.reboot(dom, flags)))
}

#[no_mangle]
pub extern "C" fn virDomainReset(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.reset(dom, flags)))
}

#[no_mangle]
pub extern "C" fn virDomainShutdown(domain: virDomainPtr) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.shutdown(dom)))
}

#[no_mangle]
pub extern "C" fn virDomainDestroy(domain: virDomainPtr) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.destroy(dom)))
}

/// Starts a defined domain; the handle's ID is updated to the new one.
#[no_mangle]
pub extern "C" fn virDomainCreate(domain: virDomainPtr) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.create(dom)))
}

#[no_mangle]
pub extern "C" fn virDomainUndefine(domain: virDomainPtr) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.undefine(dom)))
}

/// Makes a domain from `xml` through the connection's driver and wraps it.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
pub(super) unsafe fn from_xml(
    call: &mut Call,
    conn: virConnectPtr,
    xml: *const c_char,
    make: impl FnOnce(&dyn Driver, &str) -> Result<DomainIdentity>,
) -> Result<virDomainPtr> {
    let handle = call.connection(conn)?;
    // SAFETY: per this function's contract.
    let xml = unsafe { strings::borrow(xml) }.ok_or_else(|| Error::null_arg(call.function, "xmlDesc"))?;
    check_writable(&handle, call.function, ErrorDomain::VIR_FROM_DOMAIN)?;
    let identity = make(handle.conn.driver.as_ref(), &xml)?;
    Ok(DomainHandle::new(&handle, identity).into_c())
}

/// Defines (or redefines) a persistent domain from its XML.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainDefineXML(conn: virConnectPtr, xml: *const c_char) -> virDomainPtr {
    // SAFETY: the caller's guarantee is `from_xml`'s.
    export!(|call| unsafe { from_xml(call, conn, xml, |d, xml| d.define_xml(xml)) })
}

/// Starts a transient domain from its XML.
///
/// # Safety
/// `xmlDesc` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainCreateXML(
    conn: virConnectPtr,
    xmlDesc: *const c_char,
    flags: c_uint,
) -> virDomainPtr {
    // SAFETY: the caller's guarantee is `from_xml`'s.
    export!(|call| unsafe { from_xml(call, conn, xmlDesc, |d, xml| d.create_xml(xml, flags)) })
}

/// The domain's XML, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virDomainGetXMLDesc(domain: virDomainPtr, flags: c_uint) -> *mut c_char {
    export!(|call| {
        let handle = call.domain(domain)?;
        let conn = &handle.conn().conn;
        crate::driver::check_xml_desc_access(conn.read_only, flags)?;
        let xml = conn.driver.xml_desc(&handle.identity, flags)?;
        Ok(strings::to_malloced(&xml))
    })
}

/// libvirt's public checks of the metadata arguments: titles are one line;
/// title and description take no namespace, elements need one (and a prefix
/// when set).
fn check_metadata_args(function: &str, kind: c_int, value: Option<&str>, key: bool, uri: bool) -> Result<()> {
    let title = MetadataKind::VIR_DOMAIN_METADATA_TITLE as c_int;
    let description = MetadataKind::VIR_DOMAIN_METADATA_DESCRIPTION as c_int;
    if kind == title && value.is_some_and(|v| v.contains('\n')) {
        return Err(Error::arg_check(function, "metadata", "metadata title can't contain newlines"));
    }
    if kind == title || kind == description {
        if uri {
            return Err(Error::arg_not_null(function, "uri"));
        }
        if key {
            return Err(Error::arg_not_null(function, "key"));
        }
    } else if kind == MetadataKind::VIR_DOMAIN_METADATA_ELEMENT as c_int {
        if !uri {
            return Err(Error::null_arg(function, "uri"));
        }
        if value.is_some() && !key {
            return Err(Error::null_arg(function, "key"));
        }
    }
    Ok(())
}

/// Sets (or with NULL, removes) the domain's title, description or the
/// metadata element of namespace `uri`, and emits METADATA_CHANGE.
///
/// # Safety
/// `metadata`, `key` and `uri` must each be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainSetMetadata(
    domain: virDomainPtr,
    r#type: c_int,
    metadata: *const c_char,
    key: *const c_char,
    uri: *const c_char,
    flags: c_uint,
) -> c_int {
    export!(|call| {
        let name = call.function;
        let handle = call.domain(domain)?;
        check_writable(handle.conn(), name, ErrorDomain::VIR_FROM_DOMAIN)?;
        // SAFETY: NULL or a C string per the public contract.
        let value = unsafe { strings::borrow(metadata) };
        // SAFETY: as above.
        let key = unsafe { strings::borrow(key) };
        // SAFETY: as above.
        let uri = unsafe { strings::borrow(uri) };
        check_metadata_args(name, r#type, value.as_deref(), key.is_some(), uri.is_some())?;
        let change = MetadataChange {
            kind: r#type,
            value: value.map(String::from),
            key: key.map(String::from),
            uri: uri.map(String::from),
        };
        handle.conn().conn.driver.set_metadata(&handle.identity, &change, flags)?;
        Ok(0)
    })
}

/// The domain's title, description or metadata element of namespace `uri`,
/// for the caller to `free()`.
///
/// # Safety
/// `uri` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetMetadata(
    domain: virDomainPtr,
    r#type: c_int,
    uri: *const c_char,
    flags: c_uint,
) -> *mut c_char {
    export!(|call| {
        let name = call.function;
        let handle = call.domain(domain)?;
        // SAFETY: NULL or a C string per the public contract.
        let uri = unsafe { strings::borrow(uri) };
        check_metadata_args(name, r#type, None, false, uri.is_some())?;
        let text = handle.conn().conn.driver.metadata(&handle.identity, r#type, uri.as_deref(), flags)?;
        Ok(strings::to_malloced(&text))
    })
}

/// The domain's state and the reason for it (`reason` may be NULL).
///
/// # Safety
/// `state` must be NULL or writable; `reason` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetState(
    domain: virDomainPtr,
    state: *mut c_int,
    reason: *mut c_int,
    flags: c_uint,
) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        if state.is_null() {
            return Err(Error::null_arg(call.function, "state"));
        }
        let current = handle.conn().conn.driver.state(&handle.identity, flags)?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *state = current.state };
        if !reason.is_null() {
            // SAFETY: non-NULL, and writable per the contract.
            unsafe { *reason = current.reason };
        }
        Ok(0)
    })
}

/// The domain's state, memory, vCPUs and CPU time.
///
/// # Safety
/// `info` must be NULL or point to a writable `virDomainInfo`.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetInfo(domain: virDomainPtr, info: virDomainInfoPtr) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        if info.is_null() {
            return Err(Error::null_arg(call.function, "info"));
        }
        let current = handle.conn().conn.driver.info(&handle.identity)?;
        // SAFETY: non-NULL and writable per the contract.
        let info = unsafe { &mut *info };
        info.state = current.state;
        info.maxMem = current.max_memory_kib as _;
        info.memory = current.memory_kib as _;
        info.nrVirtCpu = current.vcpus;
        info.cpuTime = current.cpu_time_ns;
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn virDomainIsActive(domain: virDomainPtr) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        let state = handle.conn().conn.driver.state(&handle.identity, 0)?;
        Ok(c_int::from(state.state != crate::abi::common::virDomainState::VIR_DOMAIN_SHUTOFF as c_int))
    })
}

/// Whether the running domain's persistent definition changed since it started.
#[no_mangle]
pub extern "C" fn virDomainIsUpdated(domain: virDomainPtr) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        Ok(c_int::from(handle.conn().conn.driver.is_updated(&handle.identity)?))
    })
}

#[no_mangle]
pub extern "C" fn virDomainIsPersistent(domain: virDomainPtr) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        Ok(c_int::from(handle.conn().conn.driver.is_persistent(&handle.identity)?))
    })
}
