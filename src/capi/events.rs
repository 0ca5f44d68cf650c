//! Domain event registration (delivery is `capi::delivery`).

use std::os::raw::{c_int, c_void};
use std::sync::Arc;

use super::delivery::{to_generic, CCallback};
use super::export;
use super::handles::DomainHandle;
use crate::abi::common::{virConnectPtr, virDomainPtr, virFreeCallback};
use crate::abi::domain_event::*;
use crate::error::Error;
use crate::event::state::Subscription;
use crate::event::{EventClass, TargetKey, DOMAIN_EVENT_ID_COUNT};

/// Registers `cb` for lifecycle events of every domain (the pre-0.8 API).
/// Returns 0 on success, -1 on failure.
#[no_mangle]
pub extern "C" fn virConnectDomainEventRegister(
    conn: virConnectPtr,
    cb: virConnectDomainEventCallback,
    opaque: *mut c_void,
    freecb: virFreeCallback,
) -> c_int {
    export!(|call| {
        let name = call.function;
        let handle = call.connection(conn)?;
        let function = to_generic(cb).ok_or_else(|| Error::null_arg(name, "cb"))?;
        let subscription = Subscription {
            legacy: true,
            ..Subscription::new(
                handle.conn.id,
                EventClass::Domain,
                virDomainEventID::VIR_DOMAIN_EVENT_ID_LIFECYCLE as c_int,
            )
        };
        let callback = Arc::new(CCallback::new(&handle, function, opaque, freecb));
        handle.conn.driver.register_events(subscription, callback)?;
        Ok(0)
    })
}

/// Removes the legacy registration of `cb` on `conn`.
#[no_mangle]
pub extern "C" fn virConnectDomainEventDeregister(conn: virConnectPtr, cb: virConnectDomainEventCallback) -> c_int {
    export!(|call| {
        let name = call.function;
        let handle = call.connection(conn)?;
        let cb = cb.ok_or_else(|| Error::null_arg(name, "cb"))?;
        handle.conn.driver.deregister_legacy_events(handle.conn.id, cb as usize)?;
        Ok(0)
    })
}

/// Registers `cb` for `eventID` events, of `dom` only if given. Returns the
/// callback ID (for `virConnectDomainEventDeregisterAny`) or -1.
#[no_mangle]
pub extern "C" fn virConnectDomainEventRegisterAny(
    conn: virConnectPtr,
    dom: virDomainPtr,
    eventID: c_int,
    cb: virConnectDomainEventGenericCallback,
    opaque: *mut c_void,
    freecb: virFreeCallback,
) -> c_int {
    export!(|call| {
        let name = call.function;
        let handle = call.connection(conn)?;
        let target = if dom.is_null() {
            None
        } else {
            let dom = DomainHandle::check(dom, name)?;
            if !dom.conn().ptr_eq(&handle) {
                return Err(Error::arg_check(
                    name,
                    "dom",
                    format!("domain '{}' must match connection", dom.identity.name),
                ));
            }
            Some(TargetKey::Uuid(dom.identity.uuid))
        };
        let function = to_generic(cb).ok_or_else(|| Error::null_arg(name, "cb"))?;
        if eventID < 0 {
            return Err(Error::negative_arg(name, "eventID"));
        }
        if eventID >= DOMAIN_EVENT_ID_COUNT {
            return Err(Error::arg_check(
                name,
                "eventID",
                format!("eventID must be less than {DOMAIN_EVENT_ID_COUNT}"),
            ));
        }
        let subscription = Subscription { target, ..Subscription::new(handle.conn.id, EventClass::Domain, eventID) };
        let callback = Arc::new(CCallback::new(&handle, function, opaque, freecb));
        handle.conn.driver.register_events(subscription, callback)
    })
}

/// Removes the registration `callbackID` made on `conn`.
#[no_mangle]
pub extern "C" fn virConnectDomainEventDeregisterAny(conn: virConnectPtr, callbackID: c_int) -> c_int {
    export!(|call| {
        let name = call.function;
        let handle = call.connection(conn)?;
        if callbackID < 0 {
            return Err(Error::negative_arg(name, "callbackID"));
        }
        handle.conn.driver.deregister_events(handle.conn.id, callbackID)?;
        Ok(0)
    })
}
