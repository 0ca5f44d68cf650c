//! Domain snapshots: `virDomainSnapshotPtr` (a `SnapshotHandle`, naming a
//! snapshot of a domain handle) and the functions of
//! `libvirt-domain-snapshot.h`. libvirt's public checks come first, in its
//! order and in its snapshot subsystem; the driver does the rest.

use std::os::raw::{c_char, c_int, c_uint};

use super::domain_ops::exclusive;
use super::handles::{DomainHandle, Handle, SnapshotHandle};
use super::legacy::{check_array, fill_names};
use super::{check_writable, export, export_list, strings, Call};
use crate::abi::common::{virConnectPtr, virDomainPtr};
use crate::abi::libvirt_api::{
    virDomainSnapshotCreateFlags as Create, virDomainSnapshotDeleteFlags as Delete, virDomainSnapshotPtr,
    virDomainSnapshotRevertFlags as Revert,
};
use crate::driver::{Driver, HandleId};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::DomainIdentity;

const FAMILY: ErrorDomain = ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT;
const XML_SECURE: c_uint = 1; // VIR_DOMAIN_SNAPSHOT_XML_SECURE
/// A flag, and its name in libvirt's flag checks.
type Flag = (c_uint, &'static str);
const REDEFINE: Flag = (Create::VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE as c_uint, "VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE");
const CURRENT: Flag = (Create::VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT as c_uint, "VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT");
const NO_METADATA: Flag =
    (Create::VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA as c_uint, "VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA");
const HALT: Flag = (Create::VIR_DOMAIN_SNAPSHOT_CREATE_HALT as c_uint, "VIR_DOMAIN_SNAPSHOT_CREATE_HALT");
const REVERT_RUNNING: Flag =
    (Revert::VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING as c_uint, "VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING");
const REVERT_PAUSED: Flag = (Revert::VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED as c_uint, "VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED");
const DELETE_CHILDREN: Flag =
    (Delete::VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN as c_uint, "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN");
const DELETE_CHILDREN_ONLY: Flag =
    (Delete::VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY as c_uint, "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY");

/// A libvirt argument check, reported in the snapshot subsystem.
fn in_family<T>(checked: Result<T>) -> Result<T> {
    checked.map_err(|e| e.in_domain(FAMILY))
}

/// Sets the ID a domain handle shows after a call that may have stopped
/// the domain, as the driver says libvirt's would.
fn update_id(domain: &DomainHandle, change: HandleId) {
    if change == HandleId::Reset {
        domain.set_id(-1);
    }
}

/// A new handle for the application on snapshot `name` of `domain`.
fn new_snapshot(domain: &Handle<DomainHandle>, name: &str) -> virDomainSnapshotPtr {
    SnapshotHandle::new(domain, name).into_c()
}

/// Creates a snapshot of the domain as `xmlDesc` describes it, or redefines one.
///
/// # Safety
/// `xmlDesc` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainSnapshotCreateXML(
    domain: virDomainPtr,
    xmlDesc: *const c_char,
    flags: c_uint,
) -> virDomainSnapshotPtr {
    export!(|call| {
        let handle = call.domain(domain)?;
        // SAFETY: per the contract.
        let xml = unsafe { strings::borrow(xmlDesc) }
            .ok_or_else(|| Error::null_arg(call.function, "xmlDesc").in_domain(FAMILY))?;
        check_writable(handle.conn(), call.function, FAMILY)?;
        if flags & CURRENT.0 != 0 && flags & REDEFINE.0 == 0 {
            let message = format!("Flag '{}' is required by flag '{}'", REDEFINE.1, CURRENT.1);
            return Err(Error::arg_check(call.function, "flags", message).in_domain(FAMILY));
        }
        in_family(exclusive(call.function, flags, REDEFINE, NO_METADATA))?;
        in_family(exclusive(call.function, flags, REDEFINE, HALT))?;
        let (name, change) = handle.conn().conn.driver.snapshot_create(&handle.identity, &xml, flags)?;
        update_id(&handle, change);
        Ok(new_snapshot(&handle, &name))
    })
}

/// A call that changes the snapshot's domain: libvirt's read-only check,
/// its check that two flags are not both given, then `op` with the domain
/// and the snapshot's name, which says what becomes of the domain handle's ID.
fn modify(
    call: &mut Call,
    snapshot: virDomainSnapshotPtr,
    (flags, (a, b)): (c_uint, (Flag, Flag)),
    op: impl FnOnce(&dyn Driver, &DomainIdentity, &str) -> Result<HandleId>,
) -> Result<c_int> {
    let snapshot = call.snapshot(snapshot)?;
    let domain = &snapshot.domain;
    check_writable(domain.conn(), call.function, FAMILY)?;
    in_family(exclusive(call.function, flags, a, b))?;
    let change = op(domain.conn().conn.driver.as_ref(), &domain.identity, &snapshot.name())?;
    update_id(domain, change);
    Ok(0)
}

/// Reverts the domain to the snapshot.
#[no_mangle]
pub extern "C" fn virDomainRevertToSnapshot(snapshot: virDomainSnapshotPtr, flags: c_uint) -> c_int {
    let exclusive = (REVERT_RUNNING, REVERT_PAUSED);
    export!(|call| modify(call, snapshot, (flags, exclusive), |d, dom, name| d.snapshot_revert(dom, name, flags)))
}

/// Deletes the snapshot (and its descendants, or only them, as `flags` say).
#[no_mangle]
pub extern "C" fn virDomainSnapshotDelete(snapshot: virDomainSnapshotPtr, flags: c_uint) -> c_int {
    let exclusive = (DELETE_CHILDREN, DELETE_CHILDREN_ONLY);
    export!(|call| {
        modify(call, snapshot, (flags, exclusive), |d, dom, name| {
            d.snapshot_delete(dom, name, flags).map(|()| HandleId::Kept)
        })
    })
}

/// Looks a snapshot of the domain up by name.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainSnapshotLookupByName(
    domain: virDomainPtr,
    name: *const c_char,
    flags: c_uint,
) -> virDomainSnapshotPtr {
    export!(|call| {
        let handle = call.domain(domain)?;
        // SAFETY: per the contract.
        let name =
            unsafe { strings::borrow(name) }.ok_or_else(|| Error::null_arg(call.function, "name").in_domain(FAMILY))?;
        handle.conn().conn.driver.snapshot_lookup(&handle.identity, &name, flags)?;
        Ok(new_snapshot(&handle, &name))
    })
}

#[no_mangle]
pub extern "C" fn virDomainSnapshotCurrent(domain: virDomainPtr, flags: c_uint) -> virDomainSnapshotPtr {
    export!(|call| {
        let handle = call.domain(domain)?;
        let name = handle.conn().conn.driver.snapshot_current(&handle.identity, flags)?;
        Ok(new_snapshot(&handle, &name))
    })
}

#[no_mangle]
pub extern "C" fn virDomainHasCurrentSnapshot(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        Ok(c_int::from(handle.conn().conn.driver.has_current_snapshot(&handle.identity, flags)?))
    })
}

/// The names of the domain's snapshots that `flags` select, or of the
/// children of `of`, for the public `function` of the call.
fn names(call: &Call, domain: &DomainHandle, of: Option<&str>, flags: c_uint) -> Result<Vec<String>> {
    domain.conn().conn.driver.snapshot_names(&domain.identity, of, flags, call.function)
}

fn count(names: &[String]) -> c_int {
    c_int::try_from(names.len()).unwrap_or(c_int::MAX)
}

/// Fills the caller's array of `nameslen` names with the snapshots listed
/// (see `names`) and returns how many were listed, even when more than it
/// wrote, as libvirt 9.0 does.
///
/// # Safety
/// `names` must be NULL or point to `nameslen` writable pointers.
unsafe fn write_names(
    call: &Call,
    (domain, of): (&DomainHandle, Option<&str>),
    names: *mut *mut c_char,
    nameslen: c_int,
    flags: c_uint,
) -> Result<c_int> {
    in_family(check_array(call.function, (names, "names"), (nameslen, "nameslen")))?;
    let found = self::names(call, domain, of, flags)?;
    let total = count(&found);
    // SAFETY: checked by `check_array`, per the contract.
    unsafe { fill_names(names, nameslen, found.into_iter()) };
    Ok(total)
}

/// Hands the snapshots listed (see `names`) over as new handles in a
/// `malloc`ed, NULL-terminated array, or only counts them with `snaps` NULL.
///
/// # Safety
/// `snaps` must be NULL or writable.
unsafe fn hand_over(
    call: &Call,
    (domain, of): (&Handle<DomainHandle>, Option<&str>),
    snaps: *mut *mut virDomainSnapshotPtr,
    flags: c_uint,
) -> Result<c_int> {
    let found = names(call, domain, of, flags)?;
    // SAFETY: per the contract.
    unsafe { export_list(snaps, found, |name| new_snapshot(domain, &name)) }
}

/// libvirt clears the caller's array pointer before any check.
///
/// # Safety
/// `snaps` must be NULL or writable.
unsafe fn clear(snaps: *mut *mut virDomainSnapshotPtr) {
    if !snaps.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *snaps = std::ptr::null_mut() };
    }
}

#[no_mangle]
pub extern "C" fn virDomainSnapshotNum(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        let driver = &handle.conn().conn.driver;
        Ok(c_int::try_from(driver.snapshot_count(&handle.identity, None, flags, call.function)?).unwrap_or(c_int::MAX))
    })
}

/// Writes up to `nameslen` names of the domain's snapshots; returns how many there are.
///
/// The count is that of every snapshot `flags` select even when it exceeds
/// `nameslen`, as libvirt 9.0 answers.
///
/// # Safety
/// `names` must be NULL or point to `nameslen` writable pointers.
#[no_mangle]
pub unsafe extern "C" fn virDomainSnapshotListNames(
    domain: virDomainPtr,
    names: *mut *mut c_char,
    nameslen: c_int,
    flags: c_uint,
) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        // SAFETY: per the contract.
        unsafe { write_names(call, (&handle, None), names, nameslen, flags) }
    })
}

/// The domain's snapshots that `flags` select, as new handles; their count.
///
/// The handles come in a `malloc`ed, NULL-terminated array; with `snaps`
/// NULL, only their count.
///
/// # Safety
/// `snaps` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virDomainListAllSnapshots(
    domain: virDomainPtr,
    snaps: *mut *mut virDomainSnapshotPtr,
    flags: c_uint,
) -> c_int {
    // SAFETY: per the contract.
    unsafe { clear(snaps) };
    export!(|call| {
        let handle = call.domain(domain)?;
        // SAFETY: per the contract.
        unsafe { hand_over(call, (&handle, None), snaps, flags) }
    })
}

#[no_mangle]
pub extern "C" fn virDomainSnapshotNumChildren(snapshot: virDomainSnapshotPtr, flags: c_uint) -> c_int {
    export!(|call| {
        let snapshot = call.snapshot(snapshot)?;
        let (domain, name) = (&snapshot.domain, snapshot.name());
        let count = domain.conn().conn.driver.snapshot_count(&domain.identity, Some(&name), flags, call.function)?;
        Ok(c_int::try_from(count).unwrap_or(c_int::MAX))
    })
}

/// Writes up to `nameslen` names of the snapshot's children; returns how many there are.
///
/// As `virDomainSnapshotListNames`, the count may exceed `nameslen`.
///
/// # Safety
/// `names` must be NULL or point to `nameslen` writable pointers.
#[no_mangle]
pub unsafe extern "C" fn virDomainSnapshotListChildrenNames(
    snapshot: virDomainSnapshotPtr,
    names: *mut *mut c_char,
    nameslen: c_int,
    flags: c_uint,
) -> c_int {
    export!(|call| {
        let snapshot = call.snapshot(snapshot)?;
        // SAFETY: per the contract.
        unsafe { write_names(call, (&snapshot.domain, Some(&snapshot.name())), names, nameslen, flags) }
    })
}

/// The snapshot's children that `flags` select, as `virDomainListAllSnapshots` hands them.
///
/// # Safety
/// `snaps` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virDomainSnapshotListAllChildren(
    snapshot: virDomainSnapshotPtr,
    snaps: *mut *mut virDomainSnapshotPtr,
    flags: c_uint,
) -> c_int {
    // SAFETY: per the contract.
    unsafe { clear(snaps) };
    export!(|call| {
        let snapshot = call.snapshot(snapshot)?;
        // SAFETY: per the contract.
        unsafe { hand_over(call, (&snapshot.domain, Some(&snapshot.name())), snaps, flags) }
    })
}

#[no_mangle]
pub extern "C" fn virDomainSnapshotGetParent(snapshot: virDomainSnapshotPtr, flags: c_uint) -> virDomainSnapshotPtr {
    export!(|call| {
        let snapshot = call.snapshot(snapshot)?;
        let domain = &snapshot.domain;
        let parent = domain.conn().conn.driver.snapshot_parent(&domain.identity, &snapshot.name(), flags)?;
        Ok(new_snapshot(domain, &parent))
    })
}

#[no_mangle]
pub extern "C" fn virDomainSnapshotIsCurrent(snapshot: virDomainSnapshotPtr, flags: c_uint) -> c_int {
    export!(|call| {
        let snapshot = call.snapshot(snapshot)?;
        let domain = &snapshot.domain;
        Ok(c_int::from(domain.conn().conn.driver.snapshot_is_current(&domain.identity, &snapshot.name(), flags)?))
    })
}

#[no_mangle]
pub extern "C" fn virDomainSnapshotHasMetadata(snapshot: virDomainSnapshotPtr, flags: c_uint) -> c_int {
    export!(|call| {
        let snapshot = call.snapshot(snapshot)?;
        let domain = &snapshot.domain;
        Ok(c_int::from(domain.conn().conn.driver.snapshot_has_metadata(&domain.identity, &snapshot.name(), flags)?))
    })
}

/// The snapshot's XML description, for the caller to `free()`.
///
/// `VIR_DOMAIN_SNAPSHOT_XML_SECURE` is refused on a read-only connection.
#[no_mangle]
pub extern "C" fn virDomainSnapshotGetXMLDesc(snapshot: virDomainSnapshotPtr, flags: c_uint) -> *mut c_char {
    export!(|call| {
        let snapshot = call.snapshot(snapshot)?;
        let domain = &snapshot.domain;
        if domain.conn().conn.read_only && flags & XML_SECURE != 0 {
            return Err(Error::new(
                ErrorCode::VIR_ERR_OPERATION_DENIED,
                FAMILY,
                Some("virDomainSnapshotGetXMLDesc with secure flag".into()),
            ));
        }
        let xml = domain.conn().conn.driver.snapshot_xml_desc(&domain.identity, &snapshot.name(), flags)?;
        Ok(strings::to_malloced(&xml))
    })
}

/// The snapshot's name, valid as long as the snapshot handle.
#[no_mangle]
pub extern "C" fn virDomainSnapshotGetName(snapshot: virDomainSnapshotPtr) -> *const c_char {
    export!(|call| Ok(call.snapshot(snapshot)?.name.as_ptr()))
}

/// The snapshot's domain, without a count of its own (as libvirt).
#[no_mangle]
pub extern "C" fn virDomainSnapshotGetDomain(snapshot: virDomainSnapshotPtr) -> virDomainPtr {
    export!(|call| Ok(call.snapshot(snapshot)?.domain.as_ptr()))
}

/// The snapshot's connection, without a count of its own (as libvirt).
#[no_mangle]
pub extern "C" fn virDomainSnapshotGetConnect(snapshot: virDomainSnapshotPtr) -> virConnectPtr {
    export!(|call| Ok(call.snapshot(snapshot)?.domain.conn().as_ptr()))
}

#[no_mangle]
pub extern "C" fn virDomainSnapshotRef(snapshot: virDomainSnapshotPtr) -> c_int {
    export!(|call| {
        call.snapshot(snapshot)?.add_c_ref();
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn virDomainSnapshotFree(snapshot: virDomainSnapshotPtr) -> c_int {
    export!(|call| {
        let handle = call.snapshot(snapshot)?;
        // SAFETY: the application gives up the count it got with `snapshot`.
        unsafe { handle.release_c_ref() };
        Ok(0)
    })
}
