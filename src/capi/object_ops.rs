//! Lookups, definitions, lifecycle calls and listings of networks, storage
//! pools and node devices. Each class's exports are one-line wrappers around
//! a shared body, which takes the public function's name and the class.

use std::os::raw::{c_char, c_int, c_uchar, c_uint};
use std::ptr;

use super::handles::{ConnHandle, Handle, ObjectHandle};
use super::{api, check_writable, export_list, strings};
use crate::abi::common::{virConnectPtr, virNetworkPtr};
use crate::abi::object_events::{virNodeDevicePtr, virStoragePoolPtr};
use crate::driver::{Driver, Lookup, ObjectOp, ObjectQuery};
use crate::error::{Error, Result};
use crate::event::{EventClass, ObjectIdentity};
use crate::uuid::{Uuid, UUID_BUFLEN};

/// Which public function runs, and for which class.
type Function = (&'static str, EventClass);

const NETWORK: EventClass = EventClass::Network;
const POOL: EventClass = EventClass::StoragePool;
const NODE_DEVICE: EventClass = EventClass::NodeDevice;

fn null_arg((function, class): Function, argument: &str) -> Error {
    Error::null_arg(function, argument).in_domain(class.descriptor().error_domain)
}

/// A new handle on `identity` for the caller.
fn wrap<T>(conn: &Handle<ConnHandle>, class: EventClass, identity: ObjectIdentity) -> *mut T {
    ObjectHandle::new(conn, class, identity).into_c()
}

/// Finds an object through the connection's driver and wraps it.
fn lookup<T>(
    (function, class): Function,
    conn: virConnectPtr,
    find: impl FnOnce(&dyn Driver) -> Result<ObjectIdentity>,
) -> *mut T {
    api(function, ptr::null_mut(), |call| {
        let handle = call.connection_for(conn, class, function)?;
        let identity = find(handle.conn.driver.as_ref())?;
        Ok(wrap(&handle, class, identity))
    })
}

/// # Safety
/// `name` must be NULL or a NUL-terminated string.
unsafe fn lookup_by_name<T>(f: Function, conn: virConnectPtr, name: *const c_char) -> *mut T {
    // SAFETY: per this function's contract.
    let name = unsafe { strings::borrow(name) };
    lookup(f, conn, |driver| driver.object_lookup(f.1, Lookup::Name(&name.ok_or_else(|| null_arg(f, "name"))?)))
}

/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` readable bytes.
unsafe fn lookup_by_uuid<T>(f: Function, conn: virConnectPtr, uuid: *const c_uchar) -> *mut T {
    let uuid = (!uuid.is_null()).then(|| {
        let mut bytes = [0u8; UUID_BUFLEN];
        // SAFETY: non-NULL, VIR_UUID_BUFLEN readable bytes per the contract.
        unsafe { ptr::copy_nonoverlapping(uuid, bytes.as_mut_ptr(), UUID_BUFLEN) };
        Uuid(bytes)
    });
    lookup(f, conn, |driver| driver.object_lookup(f.1, Lookup::Uuid(uuid.ok_or_else(|| null_arg(f, "uuid"))?)))
}

/// # Safety
/// `uuidstr` must be NULL or a NUL-terminated string.
unsafe fn lookup_by_uuid_string<T>(f: Function, conn: virConnectPtr, uuidstr: *const c_char) -> *mut T {
    // SAFETY: per this function's contract.
    let text = unsafe { strings::borrow(uuidstr) };
    lookup(f, conn, |driver| {
        let text = text.ok_or_else(|| null_arg(f, "uuidstr"))?;
        let uuid = Uuid::parse(&text).ok_or_else(|| {
            let message = format!("uuidstr in {} must be a valid UUID", f.0);
            Error::arg_check(f.0, "uuidstr", message).in_domain(f.1.descriptor().error_domain)
        })?;
        driver.object_lookup(f.1, Lookup::Uuid(uuid))
    })
}

/// `vir<Class>DefineXML` (`define`) or `vir<Class>CreateXML`; `argument` is
/// the XML argument's name in libvirt's prototype.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
unsafe fn from_xml<T>(
    (f, argument, define): (Function, &str, bool),
    conn: virConnectPtr,
    xml: *const c_char,
    flags: c_uint,
) -> *mut T {
    let (function, class) = f;
    // SAFETY: per this function's contract.
    let xml = unsafe { strings::borrow(xml) };
    api(function, ptr::null_mut(), |call| {
        let handle = call.connection_for(conn, class, function)?;
        check_writable(&handle, function, class.descriptor().error_domain)?;
        let xml = xml.ok_or_else(|| null_arg(f, argument))?;
        let driver = handle.conn.driver.as_ref();
        let identity = if define {
            driver.object_define_xml(class, &xml, flags)?
        } else {
            driver.object_create_xml(class, &xml, flags)?
        };
        Ok(wrap(&handle, class, identity))
    })
}

/// Runs a state-changing call on an object, refused on read-only connections.
fn operate<T>((function, class): Function, object: *mut T, op: ObjectOp, flags: c_uint) -> c_int {
    api(function, -1, |call| {
        let handle = call.object(object, class, function)?;
        check_writable(handle.conn(), function, class.descriptor().error_domain)?;
        handle.conn().conn.driver.object_op(class, &handle.identity, op, flags)?;
        Ok(0)
    })
}

fn query<T>((function, class): Function, object: *mut T, what: ObjectQuery) -> c_int {
    api(function, -1, |call| {
        let handle = call.object(object, class, function)?;
        Ok(c_int::from(handle.conn().conn.driver.object_query(class, &handle.identity, what)?))
    })
}

/// The object's XML, for the caller to `free()`.
fn xml_desc<T>((function, class): Function, object: *mut T, flags: c_uint) -> *mut c_char {
    api(function, ptr::null_mut(), |call| {
        let handle = call.object(object, class, function)?;
        let xml = handle.conn().conn.driver.object_xml_desc(class, &handle.identity, flags)?;
        Ok(strings::to_malloced(&xml))
    })
}

/// # Safety
/// `out` must be NULL or writable.
unsafe fn list_all<T>((function, class): Function, conn: virConnectPtr, out: *mut *mut *mut T, flags: c_uint) -> c_int {
    api(function, -1, |call| {
        let handle = call.connection_for(conn, class, function)?;
        let found = handle.conn.driver.object_list(class, flags)?;
        // SAFETY: `out` is NULL or writable per this function's contract.
        unsafe { export_list(out, found, |identity| wrap(&handle, class, identity)) }
    })
}

/// The network called `name`, for the caller to free.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkLookupByName(conn: virConnectPtr, name: *const c_char) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { lookup_by_name(("virNetworkLookupByName", NETWORK), conn, name) }
}

/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn virNetworkLookupByUUID(conn: virConnectPtr, uuid: *const c_uchar) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { lookup_by_uuid(("virNetworkLookupByUUID", NETWORK), conn, uuid) }
}

/// # Safety
/// `uuidstr` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkLookupByUUIDString(conn: virConnectPtr, uuidstr: *const c_char) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { lookup_by_uuid_string(("virNetworkLookupByUUIDString", NETWORK), conn, uuidstr) }
}

/// Defines (or redefines) a persistent network.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkDefineXML(conn: virConnectPtr, xml: *const c_char) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { from_xml((("virNetworkDefineXML", NETWORK), "xml", true), conn, xml, 0) }
}

/// Starts a network from its XML (transient unless it was defined).
///
/// # Safety
/// `xmlDesc` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkCreateXML(conn: virConnectPtr, xmlDesc: *const c_char) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { from_xml((("virNetworkCreateXML", NETWORK), "xmlDesc", false), conn, xmlDesc, 0) }
}

#[no_mangle]
pub extern "C" fn virNetworkCreate(network: virNetworkPtr) -> c_int {
    operate(("virNetworkCreate", NETWORK), network, ObjectOp::Create, 0)
}

#[no_mangle]
pub extern "C" fn virNetworkDestroy(network: virNetworkPtr) -> c_int {
    operate(("virNetworkDestroy", NETWORK), network, ObjectOp::Destroy, 0)
}

#[no_mangle]
pub extern "C" fn virNetworkUndefine(network: virNetworkPtr) -> c_int {
    operate(("virNetworkUndefine", NETWORK), network, ObjectOp::Undefine, 0)
}

#[no_mangle]
pub extern "C" fn virNetworkIsActive(net: virNetworkPtr) -> c_int {
    query(("virNetworkIsActive", NETWORK), net, ObjectQuery::Active)
}

#[no_mangle]
pub extern "C" fn virNetworkIsPersistent(net: virNetworkPtr) -> c_int {
    query(("virNetworkIsPersistent", NETWORK), net, ObjectQuery::Persistent)
}

/// The network's XML, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virNetworkGetXMLDesc(network: virNetworkPtr, flags: c_uint) -> *mut c_char {
    xml_desc(("virNetworkGetXMLDesc", NETWORK), network, flags)
}

/// Lists the networks that pass `flags` (see `virConnectListAllDomains` for
/// how the array is freed).
///
/// # Safety
/// `nets` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virConnectListAllNetworks(
    conn: virConnectPtr,
    nets: *mut *mut virNetworkPtr,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { list_all(("virConnectListAllNetworks", NETWORK), conn, nets, flags) }
}

/// The storage pool called `name`, for the caller to free.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolLookupByName(conn: virConnectPtr, name: *const c_char) -> virStoragePoolPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { lookup_by_name(("virStoragePoolLookupByName", POOL), conn, name) }
}

/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolLookupByUUID(conn: virConnectPtr, uuid: *const c_uchar) -> virStoragePoolPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { lookup_by_uuid(("virStoragePoolLookupByUUID", POOL), conn, uuid) }
}

/// # Safety
/// `uuidstr` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolLookupByUUIDString(
    conn: virConnectPtr,
    uuidstr: *const c_char,
) -> virStoragePoolPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { lookup_by_uuid_string(("virStoragePoolLookupByUUIDString", POOL), conn, uuidstr) }
}

/// Defines (or redefines) a persistent storage pool.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolDefineXML(
    conn: virConnectPtr,
    xml: *const c_char,
    flags: c_uint,
) -> virStoragePoolPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { from_xml((("virStoragePoolDefineXML", POOL), "xml", true), conn, xml, flags) }
}

/// Starts a storage pool from its XML; the pool is transient.
///
/// # Safety
/// `xmlDesc` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolCreateXML(
    conn: virConnectPtr,
    xmlDesc: *const c_char,
    flags: c_uint,
) -> virStoragePoolPtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { from_xml((("virStoragePoolCreateXML", POOL), "xmlDesc", false), conn, xmlDesc, flags) }
}

#[no_mangle]
pub extern "C" fn virStoragePoolCreate(pool: virStoragePoolPtr, flags: c_uint) -> c_int {
    operate(("virStoragePoolCreate", POOL), pool, ObjectOp::Create, flags)
}

/// Builds an inactive pool's storage (the test driver only reports it).
#[no_mangle]
pub extern "C" fn virStoragePoolBuild(pool: virStoragePoolPtr, flags: c_uint) -> c_int {
    operate(("virStoragePoolBuild", POOL), pool, ObjectOp::Build, flags)
}

#[no_mangle]
pub extern "C" fn virStoragePoolDestroy(pool: virStoragePoolPtr) -> c_int {
    operate(("virStoragePoolDestroy", POOL), pool, ObjectOp::Destroy, 0)
}

/// Deletes an inactive pool's storage (the test driver only reports it).
#[no_mangle]
pub extern "C" fn virStoragePoolDelete(pool: virStoragePoolPtr, flags: c_uint) -> c_int {
    operate(("virStoragePoolDelete", POOL), pool, ObjectOp::Delete, flags)
}

#[no_mangle]
pub extern "C" fn virStoragePoolUndefine(pool: virStoragePoolPtr) -> c_int {
    operate(("virStoragePoolUndefine", POOL), pool, ObjectOp::Undefine, 0)
}

/// Rescans an active pool: a REFRESH event.
#[no_mangle]
pub extern "C" fn virStoragePoolRefresh(pool: virStoragePoolPtr, flags: c_uint) -> c_int {
    operate(("virStoragePoolRefresh", POOL), pool, ObjectOp::Refresh, flags)
}

#[no_mangle]
pub extern "C" fn virStoragePoolIsActive(pool: virStoragePoolPtr) -> c_int {
    query(("virStoragePoolIsActive", POOL), pool, ObjectQuery::Active)
}

#[no_mangle]
pub extern "C" fn virStoragePoolIsPersistent(pool: virStoragePoolPtr) -> c_int {
    query(("virStoragePoolIsPersistent", POOL), pool, ObjectQuery::Persistent)
}

/// The pool's XML, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virStoragePoolGetXMLDesc(pool: virStoragePoolPtr, flags: c_uint) -> *mut c_char {
    xml_desc(("virStoragePoolGetXMLDesc", POOL), pool, flags)
}

/// Lists the storage pools that pass `flags`.
///
/// # Safety
/// `pools` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virConnectListAllStoragePools(
    conn: virConnectPtr,
    pools: *mut *mut virStoragePoolPtr,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { list_all(("virConnectListAllStoragePools", POOL), conn, pools, flags) }
}

/// The node device called `name`, for the caller to free.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNodeDeviceLookupByName(conn: virConnectPtr, name: *const c_char) -> virNodeDevicePtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { lookup_by_name(("virNodeDeviceLookupByName", NODE_DEVICE), conn, name) }
}

/// Creates a device from its XML (on the test driver, a vHBA).
///
/// # Safety
/// `xmlDesc` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNodeDeviceCreateXML(
    conn: virConnectPtr,
    xmlDesc: *const c_char,
    flags: c_uint,
) -> virNodeDevicePtr {
    // SAFETY: the caller's contract is this function's.
    unsafe { from_xml((("virNodeDeviceCreateXML", NODE_DEVICE), "xmlDesc", false), conn, xmlDesc, flags) }
}

#[no_mangle]
pub extern "C" fn virNodeDeviceDestroy(dev: virNodeDevicePtr) -> c_int {
    operate(("virNodeDeviceDestroy", NODE_DEVICE), dev, ObjectOp::Destroy, 0)
}

/// The device's parent, owned by the handle. As in libvirt, a parent known
/// when the handle was made is kept; otherwise the driver is asked once.
#[no_mangle]
pub extern "C" fn virNodeDeviceGetParent(dev: virNodeDevicePtr) -> *const c_char {
    const NAME: &str = "virNodeDeviceGetParent";
    api(NAME, ptr::null(), |call| {
        let handle = call.object(dev, NODE_DEVICE, NAME)?;
        let parent = handle.parent.get_or_try_init(|| {
            handle.conn().conn.driver.node_device_parent(&handle.identity.name).map(|p| strings::owned(&p))
        })?;
        Ok(parent.as_ptr())
    })
}

/// The device's XML, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virNodeDeviceGetXMLDesc(dev: virNodeDevicePtr, flags: c_uint) -> *mut c_char {
    xml_desc(("virNodeDeviceGetXMLDesc", NODE_DEVICE), dev, flags)
}

/// Lists the node devices with one of the capabilities `flags` names (all
/// with 0).
///
/// # Safety
/// `devices` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virConnectListAllNodeDevices(
    conn: virConnectPtr,
    devices: *mut *mut virNodeDevicePtr,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's contract is this function's.
    unsafe { list_all(("virConnectListAllNodeDevices", NODE_DEVICE), conn, devices, flags) }
}

/// How many networks or pools are active (`active`) or inactive: the
/// `VIR_CONNECT_LIST_*_ACTIVE` (2) and `..._INACTIVE` (1) filters of both
/// classes.
fn count((function, class): Function, conn: virConnectPtr, active: bool) -> c_int {
    api(function, -1, |call| {
        let handle = call.connection_for(conn, class, function)?;
        let found = handle.conn.driver.object_list(class, if active { 2 } else { 1 })?;
        Ok(c_int::try_from(found.len()).unwrap_or(c_int::MAX))
    })
}

#[no_mangle]
pub extern "C" fn virConnectNumOfNetworks(conn: virConnectPtr) -> c_int {
    count(("virConnectNumOfNetworks", NETWORK), conn, true)
}

#[no_mangle]
pub extern "C" fn virConnectNumOfDefinedNetworks(conn: virConnectPtr) -> c_int {
    count(("virConnectNumOfDefinedNetworks", NETWORK), conn, false)
}

#[no_mangle]
pub extern "C" fn virConnectNumOfStoragePools(conn: virConnectPtr) -> c_int {
    count(("virConnectNumOfStoragePools", POOL), conn, true)
}

#[no_mangle]
pub extern "C" fn virConnectNumOfDefinedStoragePools(conn: virConnectPtr) -> c_int {
    count(("virConnectNumOfDefinedStoragePools", POOL), conn, false)
}
