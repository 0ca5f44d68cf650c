//! Event registration for networks, storage pools, node devices and secrets.
//! The four classes share one implementation; their public functions differ
//! only in the object type, and the class and subsystem their errors name.

use std::os::raw::{c_int, c_void};
use std::sync::Arc;

use super::delivery::{to_generic, CCallback, GenericFn};
use super::handles::ObjectHandle;
use super::{export, Call};
use crate::abi::common::{virConnectPtr, virFreeCallback, virNetworkPtr};
use crate::abi::object_events::*;
use crate::error::{Error, Result};
use crate::event::state::Subscription;
use crate::event::EventClass;

/// The shared body of `vir*EventRegisterAny`, with the arguments checked in
/// libvirt's order.
fn register_any<T>(
    call: &mut Call,
    class: EventClass,
    conn: virConnectPtr,
    object: *mut T,
    event_id: c_int,
    (callback, opaque, freecb): (Option<GenericFn>, *mut c_void, virFreeCallback),
) -> Result<c_int> {
    let function = call.function;
    let handle = call.connection_for(conn, class)?;
    let descriptor = class.descriptor();
    let domain = descriptor.error_domain;
    let object = if object.is_null() {
        None
    } else {
        let object = ObjectHandle::check(object, class, function)?;
        if !object.conn().ptr_eq(&handle) {
            let message = format!("{} '{}' in {function} must match connection", descriptor.noun, object.identity.name);
            return Err(Error::arg_check(function, "obj", message).in_domain(domain));
        }
        Some(object.identity.clone())
    };
    let callback = callback.ok_or_else(|| Error::null_arg(function, "cb").in_domain(domain))?;
    let checked = |message: String| Error::arg_check(function, "eventID", message).in_domain(domain);
    if event_id < 0 {
        return Err(Error::negative_arg(function, "eventID").in_domain(domain));
    }
    let count = descriptor.event_id_count;
    if event_id >= count {
        return Err(checked(format!("eventID in {function} must be less than {count}")));
    }
    let target = object.as_ref().map(|o| class.target_key(o.uuid, &o.name));
    let subscription = Subscription { target, object, ..Subscription::new(handle.conn.id, class, event_id) };
    let callback = Arc::new(CCallback::new(&handle, callback, opaque, freecb));
    handle.conn.driver.register_events(subscription, callback)
}

/// The shared body of `vir*EventDeregisterAny`. As in libvirt, the ID is
/// looked up among every class's registrations on the connection.
fn deregister_any(call: &mut Call, class: EventClass, conn: virConnectPtr, callback_id: c_int) -> Result<c_int> {
    let function = call.function;
    let handle = call.connection_for(conn, class)?;
    if callback_id < 0 {
        return Err(Error::negative_arg(function, "callbackID").in_domain(class.descriptor().error_domain));
    }
    handle.conn.driver.deregister_events(handle.conn.id, callback_id)?;
    Ok(0)
}

/// Registers `cb` for `eventID` events of every network, or of `net` only.
/// Returns the callback ID or -1.
#[no_mangle]
pub extern "C" fn virConnectNetworkEventRegisterAny(
    conn: virConnectPtr,
    net: virNetworkPtr,
    eventID: c_int,
    cb: virConnectNetworkEventGenericCallback,
    opaque: *mut c_void,
    freecb: virFreeCallback,
) -> c_int {
    export!(|call| register_any(call, EventClass::Network, conn, net, eventID, (to_generic(cb), opaque, freecb)))
}

/// Removes the registration `callbackID` made on `conn`.
#[no_mangle]
pub extern "C" fn virConnectNetworkEventDeregisterAny(conn: virConnectPtr, callbackID: c_int) -> c_int {
    export!(|call| deregister_any(call, EventClass::Network, conn, callbackID))
}

/// Registers `cb` for `eventID` events of every storage pool, or of `pool`
/// only. Returns the callback ID or -1.
#[no_mangle]
pub extern "C" fn virConnectStoragePoolEventRegisterAny(
    conn: virConnectPtr,
    pool: virStoragePoolPtr,
    eventID: c_int,
    cb: virConnectStoragePoolEventGenericCallback,
    opaque: *mut c_void,
    freecb: virFreeCallback,
) -> c_int {
    export!(|call| register_any(call, EventClass::StoragePool, conn, pool, eventID, (to_generic(cb), opaque, freecb)))
}

/// Removes the registration `callbackID` made on `conn`.
#[no_mangle]
pub extern "C" fn virConnectStoragePoolEventDeregisterAny(conn: virConnectPtr, callbackID: c_int) -> c_int {
    export!(|call| deregister_any(call, EventClass::StoragePool, conn, callbackID))
}

/// Registers `cb` for `eventID` events of every node device, or of `dev`
/// only. Returns the callback ID or -1.
#[no_mangle]
pub extern "C" fn virConnectNodeDeviceEventRegisterAny(
    conn: virConnectPtr,
    dev: virNodeDevicePtr,
    eventID: c_int,
    cb: virConnectNodeDeviceEventGenericCallback,
    opaque: *mut c_void,
    freecb: virFreeCallback,
) -> c_int {
    export!(|call| register_any(call, EventClass::NodeDevice, conn, dev, eventID, (to_generic(cb), opaque, freecb)))
}

/// Removes the registration `callbackID` made on `conn`.
#[no_mangle]
pub extern "C" fn virConnectNodeDeviceEventDeregisterAny(conn: virConnectPtr, callbackID: c_int) -> c_int {
    export!(|call| deregister_any(call, EventClass::NodeDevice, conn, callbackID))
}

/// Registers `cb` for `eventID` events of every secret, or of `secret` only.
/// Returns the callback ID or -1.
#[no_mangle]
pub extern "C" fn virConnectSecretEventRegisterAny(
    conn: virConnectPtr,
    secret: virSecretPtr,
    eventID: c_int,
    cb: virConnectSecretEventGenericCallback,
    opaque: *mut c_void,
    freecb: virFreeCallback,
) -> c_int {
    export!(|call| register_any(call, EventClass::Secret, conn, secret, eventID, (to_generic(cb), opaque, freecb)))
}

/// Removes the registration `callbackID` made on `conn`.
#[no_mangle]
pub extern "C" fn virConnectSecretEventDeregisterAny(conn: virConnectPtr, callbackID: c_int) -> c_int {
    export!(|call| deregister_any(call, EventClass::Secret, conn, callbackID))
}
