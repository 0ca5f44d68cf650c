//! libvirt-qemu's functions (raw QEMU monitor events).
//!
//! As in libvirt, libvirt-qemu.so.0 is a separate library that holds no
//! state: libvirt.so.0 exports these implementations under private names in
//! its `LIBVIRT_PRIVATE_9.0.0` node, and libvirt-qemu.so.0's public functions
//! (src/qemu_shim.rs) only forward to them, so connections, domains and
//! callbacks exist once whichever library a program calls. The checks and
//! messages are those of libvirt-qemu.c, which reports no subsystem.

use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::sync::Arc;

use super::delivery::{to_generic, CCallback};
use super::handles::DomainHandle;
use super::{export, strings};
use crate::abi::common::{virConnectPtr, virDomainPtr, virFreeCallback};
use crate::abi::qemu::virConnectDomainQemuMonitorEventCallback;
use crate::error::{Error, ErrorDomain};
use crate::event::state::Subscription;
use crate::event::{EventClass, TargetKey};

const REGISTER: &str = "virConnectDomainQemuMonitorEventRegister";
const DEREGISTER: &str = "virConnectDomainQemuMonitorEventDeregister";
const SUBSYSTEM: ErrorDomain = ErrorDomain::VIR_FROM_NONE;

/// `virConnectDomainQemuMonitorEventRegister`: registers `cb` for the raw
/// monitor events of `dom` (every domain if NULL) named `event` (every event
/// if NULL; exact, case-insensitive or regular-expression match as `flags`
/// say). Returns the callback ID, shared with domain-event IDs, or -1.
///
/// # Safety
/// `event` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virtEventsConnectDomainQemuMonitorEventRegister(
    conn: virConnectPtr,
    dom: virDomainPtr,
    event: *const c_char,
    cb: virConnectDomainQemuMonitorEventCallback,
    opaque: *mut c_void,
    freecb: virFreeCallback,
    flags: c_uint,
) -> c_int {
    export!(name = REGISTER, |call| {
        let handle = call.connection_for(conn, EventClass::QemuMonitor)?;
        let target = if dom.is_null() {
            None
        } else {
            let dom = DomainHandle::check(dom, REGISTER)?;
            if !dom.conn().ptr_eq(&handle) {
                let message = format!("domain '{}' in {REGISTER} must match connection", dom.identity.name);
                return Err(Error::arg_check(REGISTER, "dom", message).in_domain(SUBSYSTEM));
            }
            Some(TargetKey::Uuid(dom.identity.uuid))
        };
        let function = to_generic(cb).ok_or_else(|| Error::null_arg(REGISTER, "cb").in_domain(SUBSYSTEM))?;
        if handle.conn.read_only {
            return Err(Error::read_only(SUBSYSTEM, REGISTER));
        }
        // SAFETY: NULL or a C string per this function's contract.
        let event = unsafe { strings::borrow(event) };
        let subscription = Subscription { target, ..Subscription::new(handle.conn.id, EventClass::QemuMonitor, 0) };
        let callback = Arc::new(CCallback::new(&handle, function, opaque, freecb));
        handle.conn.driver.register_qemu_monitor(subscription, event.as_deref(), flags, callback)
    })
}

/// `virConnectDomainQemuMonitorEventDeregister`: removes the registration
/// `callbackID` made on `conn`.
#[no_mangle]
pub extern "C" fn virtEventsConnectDomainQemuMonitorEventDeregister(conn: virConnectPtr, callbackID: c_int) -> c_int {
    export!(name = DEREGISTER, |call| {
        let handle = call.connection_for(conn, EventClass::QemuMonitor)?;
        if callbackID < 0 {
            let message = format!("callbackID in {DEREGISTER} must be zero or greater");
            return Err(Error::arg_check(DEREGISTER, "callbackID", message).in_domain(SUBSYSTEM));
        }
        if handle.conn.read_only {
            return Err(Error::read_only(SUBSYSTEM, DEREGISTER));
        }
        handle.conn.driver.deregister_qemu_monitor(handle.conn.id, callbackID)?;
        Ok(0)
    })
}
