//! Delivery of events to C callbacks: the registered callback record
//! (`CCallback`), the typed call of each domain event ID (derived from the
//! event-ID table, `event::domain_events`), the other classes' calls, and the
//! C arguments that live for the duration of a call.

use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};

use super::handles::{ConnHandle, DomainHandle, Handle, ObjectHandle};
use super::panic_message;
use crate::abi::common::{virConnectPtr, virFreeCallback};
use crate::abi::domain_event::*;
use crate::abi::object_events::virConnectNetworkEventLifecycleCallback;
use crate::abi::qemu::virConnectDomainQemuMonitorEventCallback;
use crate::event::domain_events::for_each_domain_event_id;
use crate::event::state::EventCallback;
use crate::event::{CText, DomainIdentity, Event, EventPayload, ObjectPayload, QemuMonitorEvent};

/// Every class's generic callback type (connection, object, opaque): all
/// callbacks are stored as this and cast back to their real type to be called.
pub(crate) type GenericFn = unsafe extern "C-unwind" fn(virConnectPtr, *mut c_void, *mut c_void);

/// An application's callback: the function (cast to the generic type, as
/// `VIR_DOMAIN_EVENT_CALLBACK` does), its opaque data and free function, and a
/// reference on the connection it was registered on.
pub(crate) struct CCallback {
    function: GenericFn,
    opaque: *mut c_void,
    freecb: virFreeCallback,
    conn: Handle<ConnHandle>,
    /// The domain handle of the last call, for the next call about the same
    /// domain (see [`CCallback::domain_handle`]). Only the flush that
    /// delivers takes this lock: it is never contended.
    last_domain: Mutex<Option<Handle<DomainHandle>>>,
}

// SAFETY: libvirt's contract lets the library call callbacks and free
// functions from the event-loop thread whatever thread registered them.
unsafe impl Send for CCallback {}
// SAFETY: as above; the record is never mutated after creation.
unsafe impl Sync for CCallback {}

/// Runs `prepare` (what a callback's arguments are made of), containing a
/// Rust panic there: `None`, after reporting it, and the call is skipped.
/// The call itself runs outside any `catch_unwind`, so that a forced unwind
/// out of the callback (`pthread_exit`) passes through instead of being
/// caught, which would abort the process.
fn contained<T>(prepare: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(prepare))
        .map_err(|payload| {
            eprintln!("libvirt: internal error: preparing a callback panicked: {}", panic_message(payload.as_ref()))
        })
        .ok()
}

impl CCallback {
    pub(crate) fn new(
        conn: &Handle<ConnHandle>,
        function: GenericFn,
        opaque: *mut c_void,
        freecb: virFreeCallback,
    ) -> CCallback {
        CCallback { function, opaque, freecb, conn: conn.clone(), last_domain: Mutex::new(None) }
    }

    /// A domain handle for a call about `domain`: the last call's again when
    /// nobody else holds it (the application took no reference of its own)
    /// and it names the same domain, with the event's ID, else a new one.
    /// Either way the callback gets a handle nobody else sees, as a fresh one
    /// per event would be, without a handle being made, registered as live
    /// (a global lock) and freed for every call. The handle is lent for the
    /// call, under the lock (only this flush takes it), rather than counted.
    fn domain_handle(&self, domain: &DomainIdentity) -> MappedMutexGuard<'_, Handle<DomainHandle>> {
        let same = |handle: &Handle<DomainHandle>| {
            let name = &handle.identity.name;
            handle.other_counts() == 0
                && handle.identity.uuid == domain.uuid
                && (std::sync::Arc::ptr_eq(name, &domain.name) || *name == domain.name)
        };
        MutexGuard::map(self.last_domain.lock(), |last| {
            if !last.as_ref().is_some_and(same) {
                *last = None;
            }
            let handle = last.get_or_insert_with(|| DomainHandle::new(&self.conn, domain.clone()));
            handle.set_id(domain.id);
            handle
        })
    }
}

impl EventCallback for CCallback {
    fn identity(&self) -> usize {
        self.function as usize
    }

    /// Rust panics while the call's arguments are made are contained (see
    /// `contained`); nothing is allocated for the call itself.
    fn deliver(&self, event: &Event) {
        let (function, conn, opaque) = (self.function, self.conn.as_ptr(), self.opaque);
        // In each arm: the application registered, for this class and event
        // ID, a function of the type libvirt documents for it, cast to the
        // generic type; casting it back to that type is what libvirt does.
        match event {
            Event::Domain(event) => {
                let Some(dom) = contained(|| self.domain_handle(&event.domain)) else { return };
                // SAFETY: see above; `function` is a domain callback for this ID.
                unsafe { call_domain(function, conn, &dom, &event.payload, opaque) }
            }
            Event::Object(event) => {
                let Some(object) = contained(|| ObjectHandle::new(&self.conn, event.class, event.object.clone()))
                else {
                    return;
                };
                // SAFETY: see above; `function` is a callback of this object class and ID.
                unsafe { call_object(function, conn, &object, event.payload, opaque) }
            }
            Event::QemuMonitor(event) => {
                let Some(dom) = contained(|| self.domain_handle(&event.domain)) else { return };
                // SAFETY: see above; `function` is a raw monitor-event callback.
                unsafe { call_qemu_monitor(function, conn, &dom, event, opaque) }
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

/// `callback` as the type every callback is stored as (what
/// `VIR_DOMAIN_EVENT_CALLBACK` and its siblings do in C); delivery casts it
/// back with `retype`.
pub(crate) fn to_generic<T: UnwindingCallback + Copy>(callback: T) -> Option<GenericFn> {
    const { assert!(std::mem::size_of::<T>() == std::mem::size_of::<Option<GenericFn>>()) };
    // SAFETY: `T` is `Option` of a C function pointer (the only types with
    // `UnwindingCallback`), as is `Option<GenericFn>`: only the pointer's
    // type changes.
    unsafe { std::mem::transmute_copy::<T, Option<GenericFn>>(&callback) }
}

/// The function pointer type a callback typedef's calls go through: the
/// typedef's signature with the `"C-unwind"` ABI, so that a forced unwind out
/// of the application's callback (`pthread_exit`) may pass through the
/// library's frames, as it does through libvirt's C. The typedefs themselves
/// keep the `"C"` ABI of their Rust users; the two are the same call.
pub(crate) trait UnwindingCallback {
    type Unwinding: Copy;
}

macro_rules! unwinding_callback {
    ($($arg:ident),*) => {
        impl<R, $($arg),*> UnwindingCallback for Option<unsafe extern "C" fn($($arg),*) -> R> {
            type Unwinding = unsafe extern "C-unwind" fn($($arg),*) -> R;
        }
    };
}
unwinding_callback!(A);
unwinding_callback!(A, B);
unwinding_callback!(A, B, C);
unwinding_callback!(A, B, C, D);
unwinding_callback!(A, B, C, D, E);
unwinding_callback!(A, B, C, D, E, F);
unwinding_callback!(A, B, C, D, E, F, G);
unwinding_callback!(A, B, C, D, E, F, G, H);

/// A callback typedef's value in its unwinding form.
pub(crate) fn unwinding<T: UnwindingCallback + Copy>(callback: T) -> Option<T::Unwinding> {
    const { assert!(std::mem::size_of::<T>() == std::mem::size_of::<Option<T::Unwinding>>()) };
    // SAFETY: `T` is `Option` of a C function pointer (the only types with
    // `UnwindingCallback`); only the ABI string changes, not the
    // representation.
    unsafe { std::mem::transmute_copy::<T, Option<T::Unwinding>>(&callback) }
}

/// `function` as the unwinding form of the callback typedef `T`.
///
/// # Safety
/// `function` must really have the signature of `T`.
unsafe fn retype<T: UnwindingCallback>(function: GenericFn) -> T::Unwinding {
    const { assert!(std::mem::size_of::<T::Unwinding>() == std::mem::size_of::<GenericFn>()) };
    // SAFETY: both are function pointers of the same size (checked above);
    // the caller guarantees the signature.
    unsafe { std::mem::transmute_copy::<GenericFn, T::Unwinding>(&function) }
}

/// The C representations the event-ID table names: `hold` makes what an
/// argument points into, owned by the prepared call (or a pointer into the
/// event, whose strings were made NUL-terminated when it was produced: the
/// call runs before delivery returns, while the event lives); `arg` is the
/// argument.
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
        use std::os::raw::c_char;

        use crate::event::CText;

        pub fn hold(text: &CText) -> *const c_char {
            text.as_c_ptr()
        }
        pub fn arg(text: &mut *const c_char) -> *const c_char {
            *text
        }
    }

    /// libvirt passes NULL rather than an empty string.
    pub mod str_or_null {
        use std::os::raw::c_char;

        use crate::event::CText;

        pub fn hold(text: &CText) -> *const c_char {
            if text.is_empty() {
                std::ptr::null()
            } else {
                text.as_c_ptr()
            }
        }
        pub fn arg(text: &mut *const c_char) -> *const c_char {
            *text
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
        use crate::event::CText;

        pub fn hold(identities: &[(CText, CText)]) -> Held {
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

/// Defines `call_domain` from the event-ID table.
macro_rules! define_domain_call {
    ($(
        $(#[$doc:meta])*
        $variant:ident $({
            $($(#[$field_doc:meta])* $field:ident : $ty:ty => $repr:ident),* $(,)?
        })? = $id:ident as $callback:ident;
    )*) => {
        /// The call of `function` with the arguments of `payload`'s event ID.
        ///
        /// # Safety
        /// `function` must have the callback type of the payload's event ID.
        unsafe fn call_domain(
            function: GenericFn,
            conn: virConnectPtr,
            dom: &Handle<DomainHandle>,
            payload: &EventPayload,
            opaque: *mut c_void,
        ) {
            match payload {
                $(EventPayload::$variant $({ $($field),* })? => {
                    $(let Some(($(mut $field,)*)) = contained(|| ($(c_repr::$repr::hold($field),)*)) else {
                        return;
                    };)?
                    // SAFETY: the caller guarantees the type; every argument
                    // points into what this frame holds or into the event,
                    // which outlives the call.
                    unsafe {
                        let typed = retype::<$callback>(function);
                        call_with_fields!(typed (conn, dom.as_ptr()) [$($($field $repr),*)?] opaque);
                    }
                })*
            }
        }
    };
}

for_each_domain_event_id!(define_domain_call);

/// The call of `function` with the arguments of a network, storage pool,
/// node device or secret event: every class's lifecycle callback has the
/// same shape, and the other IDs use the generic callback.
///
/// # Safety
/// `function` must have the C type libvirt documents for the event's class
/// and ID.
unsafe fn call_object(
    function: GenericFn,
    conn: virConnectPtr,
    object: &Handle<ObjectHandle>,
    payload: ObjectPayload,
    opaque: *mut c_void,
) {
    // The caller guarantees `function`'s real type and holds the handle.
    match payload {
        ObjectPayload::Lifecycle { event, detail } => {
            // SAFETY: `function` is a lifecycle callback of the object's class.
            let typed = unsafe { retype::<virConnectNetworkEventLifecycleCallback>(function) };
            // SAFETY: its arguments, with the handle alive for the call.
            unsafe { typed(conn, object.as_ptr(), event, detail, opaque) };
        }
        // SAFETY: `function` has the generic type itself.
        ObjectPayload::Plain { .. } => unsafe { function(conn, object.as_ptr(), opaque) },
    }
}

/// The call of a `virConnectDomainQemuMonitorEventCallback`.
///
/// # Safety
/// `function` must have that type.
unsafe fn call_qemu_monitor(
    function: GenericFn,
    conn: virConnectPtr,
    dom: &Handle<DomainHandle>,
    event: &QemuMonitorEvent,
    opaque: *mut c_void,
) {
    let name = event.name.as_c_ptr();
    let details = event.details.as_ref().map_or(ptr::null(), |d| d.as_c_ptr());
    // SAFETY: the caller guarantees `function`'s real type.
    let typed = unsafe { retype::<virConnectDomainQemuMonitorEventCallback>(function) };
    // SAFETY: the caller holds the handle; the strings are the event's,
    // which outlives the call.
    unsafe { typed(conn, dom.as_ptr(), name, event.seconds, event.micros, details, opaque) };
}

/// A graphics address argument, pointing to the event's strings.
pub(crate) struct GraphicsAddressArg {
    record: virDomainEventGraphicsAddress,
}

impl GraphicsAddressArg {
    fn new(address: &crate::event::GraphicsAddress) -> GraphicsAddressArg {
        // The callback receives `char *` members it must not write through,
        // as libvirt's: the casts only drop a `const` C never had.
        let record = virDomainEventGraphicsAddress {
            family: address.family,
            node: address.node.as_c_ptr() as *mut c_char,
            service: address.service.as_c_ptr() as *mut c_char,
        };
        GraphicsAddressArg { record }
    }
}

/// A graphics subject argument with the identity array it points to (which
/// points to the event's strings).
pub(crate) struct GraphicsSubjectArg {
    record: virDomainEventGraphicsSubject,
    _identities: Vec<virDomainEventGraphicsSubjectIdentity>,
}

impl GraphicsSubjectArg {
    fn new(identities: &[(CText, CText)]) -> GraphicsSubjectArg {
        let mut records: Vec<virDomainEventGraphicsSubjectIdentity> = identities
            .iter()
            .map(|(kind, name)| virDomainEventGraphicsSubjectIdentity {
                r#type: kind.as_c_ptr() as *mut c_char,
                name: name.as_c_ptr() as *mut c_char,
            })
            .collect();
        let record = virDomainEventGraphicsSubject {
            nidentity: records.len() as c_int,
            identities: if records.is_empty() { ptr::null_mut() } else { records.as_mut_ptr() },
        };
        GraphicsSubjectArg { record, _identities: records }
    }
}
