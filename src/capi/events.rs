//! Domain event registration, and delivery of every class's events to C
//! callbacks.

use std::os::raw::{c_char, c_int, c_longlong, c_uint, c_ulonglong, c_void};
use std::ptr;
use std::sync::Arc;

use super::handles::{ConnHandle, DomainHandle, ObjectHandle};
use super::typed_params::CTypedParams;
use super::{api, strings};
use crate::abi::common::{virConnectPtr, virDomainPtr, virFreeCallback};
use crate::abi::domain_event::*;
use crate::abi::typed_params::virTypedParameterPtr;
use crate::error::Error;
use crate::event::state::{EventCallback, Subscription};
use crate::event::{Event, EventPayload, ObjectClass, ObjectPayload, QemuMonitorEvent, DOMAIN_EVENT_ID_COUNT};

/// Every class's generic callback type (connection, object, opaque): all
/// callbacks are stored as this and cast back to their real type to be called.
pub(crate) type GenericFn = unsafe extern "C" fn(virConnectPtr, *mut c_void, *mut c_void);

/// An application's callback: the function (cast to the generic type, as
/// `VIR_DOMAIN_EVENT_CALLBACK` does), its opaque data and free function, and a
/// reference on the connection it was registered on.
pub(crate) struct CCallback {
    function: GenericFn,
    opaque: *mut c_void,
    freecb: virFreeCallback,
    conn: *const ConnHandle,
}

// SAFETY: libvirt's contract lets the library call callbacks and free
// functions from the event-loop thread whatever thread registered them; the
// connection handle is reference-counted and thread-safe.
unsafe impl Send for CCallback {}
// SAFETY: as above; the record is never mutated after creation.
unsafe impl Sync for CCallback {}

impl CCallback {
    pub(crate) fn new(
        conn: &ConnHandle,
        function: GenericFn,
        opaque: *mut c_void,
        freecb: virFreeCallback,
    ) -> CCallback {
        conn.add_ref();
        CCallback { function, opaque, freecb, conn }
    }
}

impl Drop for CCallback {
    fn drop(&mut self) {
        ConnHandle::unref(self.conn);
    }
}

impl EventCallback for CCallback {
    fn identity(&self) -> usize {
        self.function as usize
    }

    fn deliver(&self, event: &Event) {
        // SAFETY: the callback holds a reference on its connection.
        let conn = unsafe { &*self.conn };
        // (All three calls below:) the application registered, for this
        // class and event ID, a function of the type libvirt documents for
        // it, cast to the generic type; casting it back to that type is what
        // libvirt does. The object handle and every string passed stay valid
        // for the duration of the call.
        match event {
            Event::Domain(event) => {
                let dom = DomainHandle::create(conn, event.domain.clone());
                // SAFETY: the function type and argument lifetimes said above.
                unsafe { call(self.function, conn.as_ptr(), dom, &event.payload, self.opaque) };
                DomainHandle::unref(dom as *const DomainHandle);
            }
            Event::Object(event) => {
                let object = ObjectHandle::create(conn, event.class, event.object.clone());
                // SAFETY: the function type and argument lifetimes said above.
                unsafe { call_object(self.function, conn.as_ptr(), object.cast(), event.payload, self.opaque) };
                ObjectHandle::unref(object);
            }
            Event::QemuMonitor(event) => {
                let dom = DomainHandle::create(conn, event.domain.clone());
                // SAFETY: the function type and argument lifetimes said above.
                unsafe { call_qemu_monitor(self.function, conn.as_ptr(), dom, event, self.opaque) };
                DomainHandle::unref(dom as *const DomainHandle);
            }
        }
    }

    fn release(&self) {
        if let Some(free) = self.freecb {
            // SAFETY: the application gave this function to free this opaque.
            unsafe { free(self.opaque) };
        }
    }
}

/// Calls `function` with the arguments of `payload`'s event type.
///
/// # Safety
/// `function` must have the C type libvirt documents for the payload's event ID.
unsafe fn call(
    function: GenericFn,
    conn: virConnectPtr,
    dom: virDomainPtr,
    payload: &EventPayload,
    opaque: *mut c_void,
) {
    type Lifecycle = unsafe extern "C" fn(virConnectPtr, virDomainPtr, c_int, c_int, *mut c_void) -> c_int;
    type RtcChange = unsafe extern "C" fn(virConnectPtr, virDomainPtr, i64, *mut c_void);
    /// Watchdog, PM wakeup / suspend / suspend-disk, migration iteration.
    type OneInt = unsafe extern "C" fn(virConnectPtr, virDomainPtr, c_int, *mut c_void);
    /// Agent lifecycle.
    type TwoInts = unsafe extern "C" fn(virConnectPtr, virDomainPtr, c_int, c_int, *mut c_void);
    type IoError = unsafe extern "C" fn(virConnectPtr, virDomainPtr, *const c_char, *const c_char, c_int, *mut c_void);
    type IoErrorReason = unsafe extern "C" fn(
        virConnectPtr,
        virDomainPtr,
        *const c_char,
        *const c_char,
        c_int,
        *const c_char,
        *mut c_void,
    );
    type Graphics = unsafe extern "C" fn(
        virConnectPtr,
        virDomainPtr,
        c_int,
        *const virDomainEventGraphicsAddress,
        *const virDomainEventGraphicsAddress,
        *const c_char,
        *const virDomainEventGraphicsSubject,
        *mut c_void,
    );
    type BlockJob = unsafe extern "C" fn(virConnectPtr, virDomainPtr, *const c_char, c_int, c_int, *mut c_void);
    type DiskChange = unsafe extern "C" fn(
        virConnectPtr,
        virDomainPtr,
        *const c_char,
        *const c_char,
        *const c_char,
        c_int,
        *mut c_void,
    );
    /// Tray change, metadata change (a string and an int, in either order).
    type StringInt = unsafe extern "C" fn(virConnectPtr, virDomainPtr, *const c_char, c_int, *mut c_void);
    type IntString = unsafe extern "C" fn(virConnectPtr, virDomainPtr, c_int, *const c_char, *mut c_void);
    type BalloonChange = unsafe extern "C" fn(virConnectPtr, virDomainPtr, c_ulonglong, *mut c_void);
    /// Device removed / added / removal failed.
    type OneString = unsafe extern "C" fn(virConnectPtr, virDomainPtr, *const c_char, *mut c_void);
    /// Tunable, job completed.
    type Params = unsafe extern "C" fn(virConnectPtr, virDomainPtr, virTypedParameterPtr, c_int, *mut c_void);
    type BlockThreshold = unsafe extern "C" fn(
        virConnectPtr,
        virDomainPtr,
        *const c_char,
        *const c_char,
        c_ulonglong,
        c_ulonglong,
        *mut c_void,
    );
    type MemoryFailure = unsafe extern "C" fn(virConnectPtr, virDomainPtr, c_int, c_int, c_uint, *mut c_void);
    type MemoryDeviceSizeChange =
        unsafe extern "C" fn(virConnectPtr, virDomainPtr, *const c_char, c_ulonglong, *mut c_void);

    let text = strings::owned;
    // SAFETY: (all arms) the caller guarantees `function`'s real type; every
    // C string and array passed is owned by this frame and outlives the call.
    unsafe {
        match payload {
            EventPayload::Lifecycle { event, detail } => {
                std::mem::transmute::<GenericFn, Lifecycle>(function)(conn, dom, *event, *detail, opaque);
            }
            EventPayload::Reboot | EventPayload::ControlError => function(conn, dom.cast(), opaque),
            EventPayload::RtcChange { utc_offset } => {
                std::mem::transmute::<GenericFn, RtcChange>(function)(conn, dom, *utc_offset, opaque);
            }
            EventPayload::Watchdog { action: value }
            | EventPayload::PmWakeup { reason: value }
            | EventPayload::PmSuspend { reason: value }
            | EventPayload::PmSuspendDisk { reason: value }
            | EventPayload::MigrationIteration { iteration: value } => {
                std::mem::transmute::<GenericFn, OneInt>(function)(conn, dom, *value, opaque);
            }
            EventPayload::IoError { src_path, dev_alias, action } => {
                let (src, alias) = (text(src_path), text(dev_alias));
                std::mem::transmute::<GenericFn, IoError>(function)(
                    conn,
                    dom,
                    src.as_ptr(),
                    alias.as_ptr(),
                    *action,
                    opaque,
                );
            }
            EventPayload::IoErrorReason { src_path, dev_alias, action, reason } => {
                let (src, alias, reason) = (text(src_path), text(dev_alias), text(reason));
                std::mem::transmute::<GenericFn, IoErrorReason>(function)(
                    conn,
                    dom,
                    src.as_ptr(),
                    alias.as_ptr(),
                    *action,
                    reason.as_ptr(),
                    opaque,
                );
            }
            EventPayload::Graphics { phase, local, remote, auth_scheme, subject } => {
                let strings = GraphicsStrings::new(local, remote, auth_scheme, subject);
                let (local, remote, subject) = strings.c_structs();
                std::mem::transmute::<GenericFn, Graphics>(function)(
                    conn,
                    dom,
                    *phase,
                    &local,
                    &remote,
                    strings.auth.as_ptr(),
                    &subject.record,
                    opaque,
                );
            }
            EventPayload::BlockJob { disk, job_type, status } | EventPayload::BlockJob2 { disk, job_type, status } => {
                let disk = text(disk);
                std::mem::transmute::<GenericFn, BlockJob>(function)(
                    conn,
                    dom,
                    disk.as_ptr(),
                    *job_type,
                    *status,
                    opaque,
                );
            }
            EventPayload::DiskChange { old_src_path, new_src_path, dev_alias, reason } => {
                // libvirt passes NULL for an absent old or new source.
                let (old, new, alias) = (text(old_src_path), text(new_src_path), text(dev_alias));
                let or_null = |s: &str, c: &std::ffi::CString| {
                    if s.is_empty() {
                        ptr::null()
                    } else {
                        c.as_ptr()
                    }
                };
                std::mem::transmute::<GenericFn, DiskChange>(function)(
                    conn,
                    dom,
                    or_null(old_src_path, &old),
                    or_null(new_src_path, &new),
                    alias.as_ptr(),
                    *reason,
                    opaque,
                );
            }
            EventPayload::TrayChange { dev_alias, reason } => {
                let alias = text(dev_alias);
                std::mem::transmute::<GenericFn, StringInt>(function)(conn, dom, alias.as_ptr(), *reason, opaque);
            }
            EventPayload::BalloonChange { actual } => {
                std::mem::transmute::<GenericFn, BalloonChange>(function)(conn, dom, *actual, opaque);
            }
            EventPayload::DeviceRemoved { dev_alias }
            | EventPayload::DeviceAdded { dev_alias }
            | EventPayload::DeviceRemovalFailed { dev_alias } => {
                let alias = text(dev_alias);
                std::mem::transmute::<GenericFn, OneString>(function)(conn, dom, alias.as_ptr(), opaque);
            }
            EventPayload::Tunable { params } | EventPayload::JobCompleted { params } => {
                let mut array = CTypedParams::new(params);
                let (params, nparams) = array.as_c();
                std::mem::transmute::<GenericFn, Params>(function)(conn, dom, params, nparams, opaque);
            }
            EventPayload::AgentLifecycle { state, reason } => {
                std::mem::transmute::<GenericFn, TwoInts>(function)(conn, dom, *state, *reason, opaque);
            }
            EventPayload::MetadataChange { metadata_type, nsuri } => {
                // NULL unless the metadata is an element (with its namespace URI).
                let uri = text(nsuri);
                let uri = if nsuri.is_empty() { ptr::null() } else { uri.as_ptr() };
                std::mem::transmute::<GenericFn, IntString>(function)(conn, dom, *metadata_type, uri, opaque);
            }
            EventPayload::BlockThreshold { dev, path, threshold, excess } => {
                let (dev, path) = (text(dev), text(path));
                std::mem::transmute::<GenericFn, BlockThreshold>(function)(
                    conn,
                    dom,
                    dev.as_ptr(),
                    path.as_ptr(),
                    *threshold,
                    *excess,
                    opaque,
                );
            }
            EventPayload::MemoryFailure { recipient, action, flags } => {
                std::mem::transmute::<GenericFn, MemoryFailure>(function)(
                    conn, dom, *recipient, *action, *flags, opaque,
                );
            }
            EventPayload::MemoryDeviceSizeChange { alias, size } => {
                let alias = text(alias);
                std::mem::transmute::<GenericFn, MemoryDeviceSizeChange>(function)(
                    conn,
                    dom,
                    alias.as_ptr(),
                    *size,
                    opaque,
                );
            }
        }
    }
}

/// Calls `function` with the arguments of a network, storage pool, node
/// device or secret event: every class's lifecycle callback has the same
/// shape, and the other IDs use the generic callback.
///
/// # Safety
/// `function` must have the C type libvirt documents for the event's class
/// and ID, and `object` must be a live handle of that class.
unsafe fn call_object(
    function: GenericFn,
    conn: virConnectPtr,
    object: *mut c_void,
    payload: ObjectPayload,
    opaque: *mut c_void,
) {
    type Lifecycle = unsafe extern "C" fn(virConnectPtr, *mut c_void, c_int, c_int, *mut c_void);
    // SAFETY: the caller guarantees `function`'s real type.
    unsafe {
        match payload {
            ObjectPayload::Lifecycle { event, detail } => {
                std::mem::transmute::<GenericFn, Lifecycle>(function)(conn, object, event, detail, opaque);
            }
            ObjectPayload::Plain { .. } => function(conn, object, opaque),
        }
    }
}

/// Calls a `virConnectDomainQemuMonitorEventCallback`.
///
/// # Safety
/// `function` must have that type and `dom` must be a live domain handle.
unsafe fn call_qemu_monitor(
    function: GenericFn,
    conn: virConnectPtr,
    dom: virDomainPtr,
    event: &QemuMonitorEvent,
    opaque: *mut c_void,
) {
    type MonitorEvent = unsafe extern "C" fn(
        virConnectPtr,
        virDomainPtr,
        *const c_char,
        c_longlong,
        c_uint,
        *const c_char,
        *mut c_void,
    );
    let name = strings::owned(&event.name);
    let details = event.details.as_deref().map(strings::owned);
    let details = details.as_ref().map_or(ptr::null(), |d| d.as_ptr());
    // SAFETY: the caller guarantees `function`'s real type; the strings are
    // owned by this frame.
    unsafe {
        std::mem::transmute::<GenericFn, MonitorEvent>(function)(
            conn,
            dom,
            name.as_ptr(),
            event.seconds,
            event.micros,
            details,
            opaque,
        );
    }
}

/// The C strings of a graphics event, owned for the duration of a callback.
struct GraphicsStrings {
    local: (c_int, std::ffi::CString, std::ffi::CString),
    remote: (c_int, std::ffi::CString, std::ffi::CString),
    auth: std::ffi::CString,
    identities: Vec<(std::ffi::CString, std::ffi::CString)>,
}

/// The subject struct with the identity array it points into.
struct Subject {
    record: virDomainEventGraphicsSubject,
    /// What `record.identities` points into.
    _identities: Vec<virDomainEventGraphicsSubjectIdentity>,
}

impl GraphicsStrings {
    fn new(
        local: &crate::event::GraphicsAddress,
        remote: &crate::event::GraphicsAddress,
        auth: &str,
        subject: &[(String, String)],
    ) -> GraphicsStrings {
        let address =
            |a: &crate::event::GraphicsAddress| (a.family, strings::owned(&a.node), strings::owned(&a.service));
        GraphicsStrings {
            local: address(local),
            remote: address(remote),
            auth: strings::owned(auth),
            identities: subject.iter().map(|(t, n)| (strings::owned(t), strings::owned(n))).collect(),
        }
    }

    fn c_structs(&self) -> (virDomainEventGraphicsAddress, virDomainEventGraphicsAddress, Subject) {
        let address =
            |(family, node, service): &(c_int, std::ffi::CString, std::ffi::CString)| virDomainEventGraphicsAddress {
                family: *family,
                node: node.as_ptr() as *mut _,
                service: service.as_ptr() as *mut _,
            };
        let mut identities: Vec<virDomainEventGraphicsSubjectIdentity> = self
            .identities
            .iter()
            .map(|(t, n)| virDomainEventGraphicsSubjectIdentity {
                r#type: t.as_ptr() as *mut _,
                name: n.as_ptr() as *mut _,
            })
            .collect();
        let subject = virDomainEventGraphicsSubject {
            nidentity: identities.len() as c_int,
            identities: if identities.is_empty() { ptr::null_mut() } else { identities.as_mut_ptr() },
        };
        (address(&self.local), address(&self.remote), Subject { record: subject, _identities: identities })
    }
}

/// Registers `cb` for lifecycle events of every domain (the pre-0.8 API).
/// Returns 0 on success, -1 on failure.
#[no_mangle]
pub extern "C" fn virConnectDomainEventRegister(
    conn: virConnectPtr,
    cb: virConnectDomainEventCallback,
    opaque: *mut c_void,
    freecb: virFreeCallback,
) -> c_int {
    const NAME: &str = "virConnectDomainEventRegister";
    api(NAME, -1, |call| {
        let handle = call.connection(conn, NAME)?;
        let cb = cb.ok_or_else(|| Error::null_arg(NAME, "cb"))?;
        // SAFETY: only the pointer's type changes; `call` casts it back.
        let function = unsafe {
            std::mem::transmute::<
                unsafe extern "C" fn(virConnectPtr, virDomainPtr, c_int, c_int, *mut c_void) -> c_int,
                GenericFn,
            >(cb)
        };
        let subscription = Subscription {
            legacy: true,
            ..Subscription::new(
                handle.conn.id,
                ObjectClass::Domain,
                virDomainEventID::VIR_DOMAIN_EVENT_ID_LIFECYCLE as c_int,
            )
        };
        let callback = Arc::new(CCallback::new(handle, function, opaque, freecb));
        handle.conn.driver.events().register(subscription, callback)?;
        Ok(0)
    })
}

/// Removes the legacy registration of `cb` on `conn`.
#[no_mangle]
pub extern "C" fn virConnectDomainEventDeregister(conn: virConnectPtr, cb: virConnectDomainEventCallback) -> c_int {
    const NAME: &str = "virConnectDomainEventDeregister";
    api(NAME, -1, |call| {
        let handle = call.connection(conn, NAME)?;
        let cb = cb.ok_or_else(|| Error::null_arg(NAME, "cb"))?;
        handle.conn.driver.events().deregister_legacy(handle.conn.id, cb as usize)?;
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
    const NAME: &str = "virConnectDomainEventRegisterAny";
    api(NAME, -1, |call| {
        let handle = call.connection(conn, NAME)?;
        let domain = if dom.is_null() {
            None
        } else {
            let dom = DomainHandle::check(dom, NAME)?;
            if !ptr::eq(dom.conn, handle) {
                return Err(Error::arg_check(
                    NAME,
                    "dom",
                    format!("domain '{}' must match connection", dom.identity.name),
                ));
            }
            Some(dom.identity.uuid.to_string())
        };
        let cb = cb.ok_or_else(|| Error::null_arg(NAME, "cb"))?;
        // SAFETY: only the pointer's type changes; `call` casts it back.
        let function = unsafe {
            std::mem::transmute::<unsafe extern "C" fn(virConnectPtr, virDomainPtr, *mut c_void), GenericFn>(cb)
        };
        if eventID < 0 {
            return Err(Error::arg_check(NAME, "eventID", format!("eventID in {NAME} must be zero or greater")));
        }
        if eventID >= DOMAIN_EVENT_ID_COUNT {
            return Err(Error::arg_check(
                NAME,
                "eventID",
                format!("eventID must be less than {DOMAIN_EVENT_ID_COUNT}"),
            ));
        }
        let subscription =
            Subscription { object: domain, ..Subscription::new(handle.conn.id, ObjectClass::Domain, eventID) };
        let callback = Arc::new(CCallback::new(handle, function, opaque, freecb));
        handle.conn.driver.events().register(subscription, callback)
    })
}

/// Removes the registration `callbackID` made on `conn`.
#[no_mangle]
pub extern "C" fn virConnectDomainEventDeregisterAny(conn: virConnectPtr, callbackID: c_int) -> c_int {
    const NAME: &str = "virConnectDomainEventDeregisterAny";
    api(NAME, -1, |call| {
        let handle = call.connection(conn, NAME)?;
        if callbackID < 0 {
            return Err(Error::arg_check(NAME, "callbackID", format!("callbackID in {NAME} must be zero or greater")));
        }
        handle.conn.driver.events().deregister(handle.conn.id, callbackID)?;
        Ok(0)
    })
}
