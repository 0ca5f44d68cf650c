//! Delivery of events to C callbacks: the registered callback record
//! (`CCallback`), the typed call of each domain event ID (derived from the
//! event-ID table, `event::domain_events`), the other classes' calls, and the
//! C arguments that live for the duration of a call.

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use super::handles::{ConnHandle, DomainHandle, Handle, ObjectHandle};
use super::strings;
use crate::abi::common::{virConnectPtr, virDomainPtr, virFreeCallback};
use crate::abi::domain_event::*;
use crate::abi::qemu::virConnectDomainQemuMonitorEventCallback;
use crate::event::domain_events::for_each_domain_event_id;
use crate::event::state::EventCallback;
use crate::event::{Event, EventPayload, ObjectPayload, QemuMonitorEvent};

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
    conn: Handle<ConnHandle>,
}

// SAFETY: libvirt's contract lets the library call callbacks and free
// functions from the event-loop thread whatever thread registered them.
unsafe impl Send for CCallback {}
// SAFETY: as above; the record is never mutated after creation.
unsafe impl Sync for CCallback {}

impl CCallback {
    pub(crate) fn new(
        conn: &Handle<ConnHandle>,
        function: GenericFn,
        opaque: *mut c_void,
        freecb: virFreeCallback,
    ) -> CCallback {
        CCallback { function, opaque, freecb, conn: conn.clone() }
    }
}

impl EventCallback for CCallback {
    fn identity(&self) -> usize {
        self.function as usize
    }

    fn deliver(&self, event: &Event) {
        let conn = &self.conn;
        // SAFETY (all three calls): the application registered, for this
        // class and event ID, a function of the type libvirt documents for
        // it, cast to the generic type; casting it back to that type is what
        // libvirt does. The object handle and every string passed stay valid
        // for the duration of the call.
        match event {
            Event::Domain(event) => {
                let dom = DomainHandle::new(conn, event.domain.clone());
                unsafe {
                    call_domain_callback(self.function, conn.as_ptr(), dom.as_ptr(), &event.payload, self.opaque)
                };
            }
            Event::Object(event) => {
                let object = ObjectHandle::new(conn, event.class, event.object.clone());
                unsafe { call_object(self.function, conn.as_ptr(), object.as_ptr(), event.payload, self.opaque) };
            }
            Event::QemuMonitor(event) => {
                let dom = DomainHandle::new(conn, event.domain.clone());
                unsafe { call_qemu_monitor(self.function, conn.as_ptr(), dom.as_ptr(), event, self.opaque) };
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

/// `function` as the callback type `F` (an `Option` of a function pointer,
/// as the typedefs are).
///
/// # Safety
/// `function` must really have the type inside `F`.
unsafe fn retype<F: Copy>(function: GenericFn) -> F {
    const { assert!(std::mem::size_of::<F>() == std::mem::size_of::<GenericFn>()) };
    // SAFETY: same size (checked above); the caller guarantees the type.
    unsafe { std::mem::transmute_copy::<GenericFn, F>(&function) }
}

/// The C representations the event-ID table names: `hold` makes what an
/// argument points into, owned by the calling frame; `arg` is the argument.
mod c_repr {
    /// Plain numbers, passed as their C type.
    macro_rules! number {
        ($($repr:ident: $rust:ty => $c:ty;)*) => {$(
            pub mod $repr {
                pub fn hold(value: &$rust) -> $c {
                    *value as $c
                }
                pub fn arg(value: &mut $c) -> $c {
                    *value
                }
            }
        )*};
    }
    number! {
        int: i32 => std::os::raw::c_int;
        uint: u32 => std::os::raw::c_uint;
        llong: i64 => std::os::raw::c_longlong;
        ullong: u64 => std::os::raw::c_ulonglong;
    }

    pub mod str {
        use std::ffi::CString;
        use std::os::raw::c_char;

        pub fn hold(text: &str) -> CString {
            crate::capi::strings::owned(text)
        }
        pub fn arg(text: &mut CString) -> *const c_char {
            text.as_ptr()
        }
    }

    /// libvirt passes NULL rather than an empty string.
    pub mod str_or_null {
        use std::ffi::CString;
        use std::os::raw::c_char;

        pub fn hold(text: &str) -> Option<CString> {
            (!text.is_empty()).then(|| crate::capi::strings::owned(text))
        }
        pub fn arg(text: &mut Option<CString>) -> *const c_char {
            text.as_ref().map_or(std::ptr::null(), |text| text.as_ptr())
        }
    }

    pub mod address {
        use super::super::GraphicsAddressArg as Held;
        use crate::abi::domain_event::virDomainEventGraphicsAddress;
        use crate::event::GraphicsAddress;

        pub fn hold(address: &GraphicsAddress) -> Held {
            Held::new(address)
        }
        pub fn arg(held: &mut Held) -> *const virDomainEventGraphicsAddress {
            &held.record
        }
    }

    pub mod subject {
        use super::super::GraphicsSubjectArg as Held;
        use crate::abi::domain_event::virDomainEventGraphicsSubject;

        pub fn hold(identities: &[(String, String)]) -> Held {
            Held::new(identities)
        }
        pub fn arg(held: &mut Held) -> *const virDomainEventGraphicsSubject {
            &held.record
        }
    }

    /// Two arguments: the array (NULL when empty) and its length.
    pub mod params {
        use std::os::raw::c_int;

        use crate::abi::typed_params::virTypedParameterPtr;
        use crate::capi::typed_params::CTypedParams;
        use crate::event::TypedParam;

        pub fn hold(params: &[TypedParam]) -> CTypedParams {
            CTypedParams::new(params)
        }
        pub fn array(held: &mut CTypedParams) -> virTypedParameterPtr {
            held.as_c().0
        }
        pub fn len(held: &mut CTypedParams) -> c_int {
            held.as_c().1
        }
    }
}

/// Calls `$function` with `$args`, then the C arguments of each field in
/// order, then `$opaque`.
macro_rules! call_with_fields {
    ($function:ident ($($args:expr),*) [] $opaque:ident) => {
        $function($($args,)* $opaque)
    };
    ($function:ident ($($args:expr),*) [$field:ident params $(, $rest:ident $rest_repr:ident)*] $opaque:ident) => {
        call_with_fields!(
            $function
            ($($args,)* c_repr::params::array(&mut $field), c_repr::params::len(&mut $field))
            [$($rest $rest_repr),*]
            $opaque
        )
    };
    ($function:ident ($($args:expr),*) [$field:ident $repr:ident $(, $rest:ident $rest_repr:ident)*] $opaque:ident) => {
        call_with_fields!($function ($($args,)* c_repr::$repr::arg(&mut $field)) [$($rest $rest_repr),*] $opaque)
    };
}

/// Defines `call_domain_callback` from the event-ID table.
macro_rules! define_domain_call {
    ($(
        $(#[$doc:meta])*
        $variant:ident $({
            $($(#[$field_doc:meta])* $field:ident : $ty:ty => $repr:ident),* $(,)?
        })? = $id:ident as $callback:ident;
    )*) => {
        /// Calls `function` with the arguments of `payload`'s event ID.
        ///
        /// # Safety
        /// `function` must have the callback type of the payload's event ID,
        /// and `dom` must be a live domain handle.
        unsafe fn call_domain_callback(
            function: GenericFn,
            conn: virConnectPtr,
            dom: virDomainPtr,
            payload: &EventPayload,
            opaque: *mut c_void,
        ) {
            match payload {
                $(EventPayload::$variant $({ $($field),* })? => {
                    $($(let mut $field = c_repr::$repr::hold($field);)*)?
                    // SAFETY: the caller guarantees the type; every argument
                    // points into this frame, which outlives the call.
                    unsafe {
                        if let Some(typed) = retype::<$callback>(function) {
                            call_with_fields!(typed (conn, dom) [$($($field $repr),*)?] opaque);
                        }
                    }
                })*
            }
        }
    };
}

for_each_domain_event_id!(define_domain_call);

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
                retype::<Lifecycle>(function)(conn, object, event, detail, opaque);
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
    let name = strings::owned(&event.name);
    let details = event.details.as_deref().map(strings::owned);
    let details = details.as_ref().map_or(ptr::null(), |d| d.as_ptr());
    // SAFETY: the caller guarantees `function`'s real type; the strings are
    // owned by this frame.
    unsafe {
        if let Some(typed) = retype::<virConnectDomainQemuMonitorEventCallback>(function) {
            typed(conn, dom, name.as_ptr(), event.seconds, event.micros, details, opaque);
        }
    }
}

/// A graphics address argument with the strings it points to.
pub(crate) struct GraphicsAddressArg {
    record: virDomainEventGraphicsAddress,
    _strings: [CString; 2],
}

impl GraphicsAddressArg {
    fn new(address: &crate::event::GraphicsAddress) -> GraphicsAddressArg {
        let strings = [strings::owned(&address.node), strings::owned(&address.service)];
        let record = virDomainEventGraphicsAddress {
            family: address.family,
            node: strings[0].as_ptr() as *mut c_char,
            service: strings[1].as_ptr() as *mut c_char,
        };
        GraphicsAddressArg { record, _strings: strings }
    }
}

/// A graphics subject argument with the identity array and strings it
/// points to.
pub(crate) struct GraphicsSubjectArg {
    record: virDomainEventGraphicsSubject,
    _identities: Vec<virDomainEventGraphicsSubjectIdentity>,
    _strings: Vec<(CString, CString)>,
}

impl GraphicsSubjectArg {
    fn new(identities: &[(String, String)]) -> GraphicsSubjectArg {
        let strings: Vec<(CString, CString)> =
            identities.iter().map(|(kind, name)| (strings::owned(kind), strings::owned(name))).collect();
        let mut records: Vec<virDomainEventGraphicsSubjectIdentity> = strings
            .iter()
            .map(|(kind, name)| virDomainEventGraphicsSubjectIdentity {
                r#type: kind.as_ptr() as *mut c_char,
                name: name.as_ptr() as *mut c_char,
            })
            .collect();
        let record = virDomainEventGraphicsSubject {
            nidentity: records.len() as c_int,
            identities: if records.is_empty() { ptr::null_mut() } else { records.as_mut_ptr() },
        };
        GraphicsSubjectArg { record, _identities: records, _strings: strings }
    }
}
