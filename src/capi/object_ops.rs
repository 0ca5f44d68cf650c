//! Lookups, definitions, lifecycle calls and listings of networks, storage
//! pools and node devices. Each class's exports are one-line wrappers around
//! a shared body, which takes the call and the class.

use std::os::raw::{c_char, c_int, c_uchar, c_uint};
use std::ptr;

use super::handles::{ConnHandle, Handle, ObjectHandle};
use super::{check_writable, export, export_list, strings, Call};
use crate::abi::common::{virConnectPtr, virNetworkPtr};
use crate::abi::object_events::{virNodeDevicePtr, virStoragePoolPtr};
use crate::driver::{Counted, Lookup, Named, ObjectOp, ObjectQuery};
use crate::error::{Error, Result};
use crate::event::{EventClass, ObjectIdentity};
use crate::uuid::{Uuid, UUID_BUFLEN};

const NETWORK: EventClass = EventClass::Network;
const POOL: EventClass = EventClass::StoragePool;
const NODE_DEVICE: EventClass = EventClass::NodeDevice;

pub(super) fn null_arg(call: &Call, class: EventClass, argument: &str) -> Error {
    Error::null_arg(call.function, argument).in_domain(class.descriptor().error_domain)
}

/// A new handle on `identity` for the caller.
fn wrap<T>(conn: &Handle<ConnHandle>, class: EventClass, identity: ObjectIdentity) -> *mut T {
    ObjectHandle::new(conn, class, identity).into_c()
}

/// Finds an object of `class` through the connection's driver and wraps it.
fn lookup<T>(call: &mut Call, class: EventClass, conn: virConnectPtr, by: Result<Lookup<'_>>) -> Result<*mut T> {
    let handle = call.connection_for(conn, class)?;
    let identity = handle.conn.driver.object_lookup(class, by?)?;
    Ok(wrap(&handle, class, identity))
}

/// # Safety
/// `name` must be NULL or a NUL-terminated string.
unsafe fn lookup_by_name<T>(
    call: &mut Call,
    class: EventClass,
    conn: virConnectPtr,
    name: *const c_char,
) -> Result<*mut T> {
    // SAFETY: per this function's contract.
    let name = unsafe { strings::borrow(name) }.ok_or_else(|| null_arg(call, class, "name"));
    lookup(call, class, conn, name.as_ref().map(|name| Lookup::Name(name)).map_err(Error::clone))
}

/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` readable bytes.
unsafe fn lookup_by_uuid<T>(
    call: &mut Call,
    class: EventClass,
    conn: virConnectPtr,
    uuid: *const c_uchar,
) -> Result<*mut T> {
    let uuid = (!uuid.is_null()).then(|| {
        let mut bytes = [0u8; UUID_BUFLEN];
        // SAFETY: non-NULL, VIR_UUID_BUFLEN readable bytes per the contract.
        unsafe { ptr::copy_nonoverlapping(uuid, bytes.as_mut_ptr(), UUID_BUFLEN) };
        Uuid(bytes)
    });
    let by = uuid.map(Lookup::Uuid).ok_or_else(|| null_arg(call, class, "uuid"));
    lookup(call, class, conn, by)
}

/// # Safety
/// `uuidstr` must be NULL or a NUL-terminated string.
unsafe fn lookup_by_uuid_string<T>(
    call: &mut Call,
    class: EventClass,
    conn: virConnectPtr,
    uuidstr: *const c_char,
) -> Result<*mut T> {
    // SAFETY: per this function's contract.
    let text = unsafe { strings::borrow(uuidstr) };
    let function = call.function;
    let by = text.ok_or_else(|| null_arg(call, class, "uuidstr")).and_then(|text| {
        Uuid::parse(&text).map(Lookup::Uuid).ok_or_else(|| {
            let message = format!("uuidstr in {function} must be a valid UUID");
            Error::arg_check(function, "uuidstr", message).in_domain(class.descriptor().error_domain)
        })
    });
    lookup(call, class, conn, by)
}

/// `vir<Class>DefineXML` (`define`) or `vir<Class>CreateXML`; `argument` is
/// the XML argument's name in libvirt's prototype.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
pub(super) unsafe fn from_xml<T>(
    call: &mut Call,
    (class, argument, define): (EventClass, &str, bool),
    conn: virConnectPtr,
    xml: *const c_char,
    flags: c_uint,
) -> Result<*mut T> {
    let handle = call.connection_for(conn, class)?;
    check_writable(&handle, call.function, class.descriptor().error_domain)?;
    // SAFETY: per this function's contract.
    let xml = unsafe { strings::borrow(xml) }.ok_or_else(|| null_arg(call, class, argument))?;
    let driver = handle.conn.driver.as_ref();
    let identity = if define {
        driver.object_define_xml(class, &xml, flags)?
    } else {
        driver.object_create_xml(class, &xml, flags)?
    };
    Ok(wrap(&handle, class, identity))
}

/// Runs a state-changing call on an object, refused on read-only connections.
fn operate<T>(call: &mut Call, class: EventClass, object: *mut T, op: ObjectOp, flags: c_uint) -> Result<c_int> {
    let handle = call.object(object, class)?;
    check_writable(handle.conn(), call.function, class.descriptor().error_domain)?;
    if let Some(reported) = handle.conn().conn.driver.object_op(class, &handle.identity, op, flags)? {
        super::error::record(&reported);
    }
    Ok(0)
}

fn query<T>(call: &mut Call, class: EventClass, object: *mut T, what: ObjectQuery) -> Result<c_int> {
    let handle = call.object(object, class)?;
    Ok(c_int::from(handle.conn().conn.driver.object_query(class, &handle.identity, what)?))
}

/// The object's XML, for the caller to `free()`.
fn xml_desc<T>(call: &mut Call, class: EventClass, object: *mut T, flags: c_uint) -> Result<*mut c_char> {
    let handle = call.object(object, class)?;
    let xml = handle.conn().conn.driver.object_xml_desc(class, &handle.identity, flags)?;
    Ok(strings::to_malloced(&xml))
}

/// # Safety
/// `out` must be NULL or writable.
unsafe fn list_all<T>(
    call: &mut Call,
    class: EventClass,
    conn: virConnectPtr,
    out: *mut *mut *mut T,
    flags: c_uint,
) -> Result<c_int> {
    let handle = call.connection_for(conn, class)?;
    let found = handle.conn.driver.object_list(class, flags)?;
    // SAFETY: `out` is NULL or writable per this function's contract.
    unsafe { export_list(out, found, |identity| wrap(&handle, class, identity)) }
}

/// The network called `name`, for the caller to free.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkLookupByName(conn: virConnectPtr, name: *const c_char) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { lookup_by_name(call, NETWORK, conn, name) })
}

/// Finds a network by its 16-byte UUID.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn virNetworkLookupByUUID(conn: virConnectPtr, uuid: *const c_uchar) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { lookup_by_uuid(call, NETWORK, conn, uuid) })
}

/// Finds a network by its UUID in text.
///
/// # Safety
/// `uuidstr` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkLookupByUUIDString(conn: virConnectPtr, uuidstr: *const c_char) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { lookup_by_uuid_string(call, NETWORK, conn, uuidstr) })
}

/// Defines (or redefines) a persistent network.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkDefineXML(conn: virConnectPtr, xml: *const c_char) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { from_xml(call, (NETWORK, "xml", true), conn, xml, 0) })
}

/// Starts a network from its XML (transient unless it was defined).
///
/// # Safety
/// `xmlDesc` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNetworkCreateXML(conn: virConnectPtr, xmlDesc: *const c_char) -> virNetworkPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { from_xml(call, (NETWORK, "xmlDesc", false), conn, xmlDesc, 0) })
}

#[no_mangle]
pub extern "C" fn virNetworkCreate(network: virNetworkPtr) -> c_int {
    export!(|call| operate(call, NETWORK, network, ObjectOp::Create, 0))
}

#[no_mangle]
pub extern "C" fn virNetworkDestroy(network: virNetworkPtr) -> c_int {
    export!(|call| operate(call, NETWORK, network, ObjectOp::Destroy, 0))
}

#[no_mangle]
pub extern "C" fn virNetworkUndefine(network: virNetworkPtr) -> c_int {
    export!(|call| operate(call, NETWORK, network, ObjectOp::Undefine, 0))
}

#[no_mangle]
pub extern "C" fn virNetworkIsActive(net: virNetworkPtr) -> c_int {
    export!(|call| query(call, NETWORK, net, ObjectQuery::Active))
}

#[no_mangle]
pub extern "C" fn virNetworkIsPersistent(net: virNetworkPtr) -> c_int {
    export!(|call| query(call, NETWORK, net, ObjectQuery::Persistent))
}

/// The network's XML, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virNetworkGetXMLDesc(network: virNetworkPtr, flags: c_uint) -> *mut c_char {
    export!(|call| xml_desc(call, NETWORK, network, flags))
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
    export!(|call| unsafe { list_all(call, NETWORK, conn, nets, flags) })
}

/// The storage pool called `name`, for the caller to free.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolLookupByName(conn: virConnectPtr, name: *const c_char) -> virStoragePoolPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { lookup_by_name(call, POOL, conn, name) })
}

/// Finds a storage pool by its 16-byte UUID.
///
/// # Safety
/// `uuid` must be NULL or point to `VIR_UUID_BUFLEN` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolLookupByUUID(conn: virConnectPtr, uuid: *const c_uchar) -> virStoragePoolPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { lookup_by_uuid(call, POOL, conn, uuid) })
}

/// Finds a storage pool by its UUID in text.
///
/// # Safety
/// `uuidstr` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virStoragePoolLookupByUUIDString(
    conn: virConnectPtr,
    uuidstr: *const c_char,
) -> virStoragePoolPtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { lookup_by_uuid_string(call, POOL, conn, uuidstr) })
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
    export!(|call| unsafe { from_xml(call, (POOL, "xml", true), conn, xml, flags) })
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
    export!(|call| unsafe { from_xml(call, (POOL, "xmlDesc", false), conn, xmlDesc, flags) })
}

#[no_mangle]
pub extern "C" fn virStoragePoolCreate(pool: virStoragePoolPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, POOL, pool, ObjectOp::Create, flags))
}

/// Builds an inactive pool's storage (the test driver only reports it).
#[no_mangle]
pub extern "C" fn virStoragePoolBuild(pool: virStoragePoolPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, POOL, pool, ObjectOp::Build, flags))
}

#[no_mangle]
pub extern "C" fn virStoragePoolDestroy(pool: virStoragePoolPtr) -> c_int {
    export!(|call| operate(call, POOL, pool, ObjectOp::Destroy, 0))
}

/// Deletes an inactive pool's storage (the test driver only reports it).
#[no_mangle]
pub extern "C" fn virStoragePoolDelete(pool: virStoragePoolPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, POOL, pool, ObjectOp::Delete, flags))
}

#[no_mangle]
pub extern "C" fn virStoragePoolUndefine(pool: virStoragePoolPtr) -> c_int {
    export!(|call| operate(call, POOL, pool, ObjectOp::Undefine, 0))
}

/// Rescans an active pool: a REFRESH event.
#[no_mangle]
pub extern "C" fn virStoragePoolRefresh(pool: virStoragePoolPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, POOL, pool, ObjectOp::Refresh, flags))
}

#[no_mangle]
pub extern "C" fn virStoragePoolIsActive(pool: virStoragePoolPtr) -> c_int {
    export!(|call| query(call, POOL, pool, ObjectQuery::Active))
}

#[no_mangle]
pub extern "C" fn virStoragePoolIsPersistent(pool: virStoragePoolPtr) -> c_int {
    export!(|call| query(call, POOL, pool, ObjectQuery::Persistent))
}

/// The pool's XML, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virStoragePoolGetXMLDesc(pool: virStoragePoolPtr, flags: c_uint) -> *mut c_char {
    export!(|call| xml_desc(call, POOL, pool, flags))
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
    export!(|call| unsafe { list_all(call, POOL, conn, pools, flags) })
}

/// The node device called `name`, for the caller to free.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virNodeDeviceLookupByName(conn: virConnectPtr, name: *const c_char) -> virNodeDevicePtr {
    // SAFETY: the caller's contract is this function's.
    export!(|call| unsafe { lookup_by_name(call, NODE_DEVICE, conn, name) })
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
    export!(|call| unsafe { from_xml(call, (NODE_DEVICE, "xmlDesc", false), conn, xmlDesc, flags) })
}

#[no_mangle]
pub extern "C" fn virNodeDeviceDestroy(dev: virNodeDevicePtr) -> c_int {
    export!(|call| operate(call, NODE_DEVICE, dev, ObjectOp::Destroy, 0))
}

/// The device's parent, owned by the handle. As in libvirt, a parent known
/// when the handle was made is kept; otherwise the driver is asked once.
#[no_mangle]
pub extern "C" fn virNodeDeviceGetParent(dev: virNodeDevicePtr) -> *const c_char {
    export!(|call| {
        let handle = call.object(dev, NODE_DEVICE)?;
        let parent = handle.parent.get_or_try_init(|| {
            handle.conn().conn.driver.node_device_parent(&handle.identity.name).map(|p| strings::owned(&p))
        })?;
        Ok(parent.as_ptr())
    })
}

/// The device's XML, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virNodeDeviceGetXMLDesc(dev: virNodeDevicePtr, flags: c_uint) -> *mut c_char {
    export!(|call| xml_desc(call, NODE_DEVICE, dev, flags))
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
    export!(|call| unsafe { list_all(call, NODE_DEVICE, conn, devices, flags) })
}

/// How many networks or pools are active (`active`) or inactive.
fn count(call: &mut Call, class: EventClass, conn: virConnectPtr, active: bool) -> Result<c_int> {
    let handle = call.connection_for(conn, class)?;
    let found = handle.conn.driver.count(Counted::Names(Named::Objects(class, active)), call.function)?;
    Ok(c_int::try_from(found).unwrap_or(c_int::MAX))
}

#[no_mangle]
pub extern "C" fn virConnectNumOfNetworks(conn: virConnectPtr) -> c_int {
    export!(|call| count(call, NETWORK, conn, true))
}

#[no_mangle]
pub extern "C" fn virConnectNumOfDefinedNetworks(conn: virConnectPtr) -> c_int {
    export!(|call| count(call, NETWORK, conn, false))
}

#[no_mangle]
pub extern "C" fn virConnectNumOfStoragePools(conn: virConnectPtr) -> c_int {
    export!(|call| count(call, POOL, conn, true))
}

#[no_mangle]
pub extern "C" fn virConnectNumOfDefinedStoragePools(conn: virConnectPtr) -> c_int {
    export!(|call| count(call, POOL, conn, false))
}
