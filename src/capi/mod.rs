//! The C ABI: every exported libvirt function lives here. Each body is one
//! `export!`, which resets the calling thread's last error, contains panics
//! and turns failures into a recorded and dispatched libvirt error and the
//! return type's failure value; inside, the function checks its arguments
//! and calls the safe core. No panic crosses the boundary, and a forced
//! unwind out of an application callback passes through it. `unsafe` is
//! confined to this layer.

#![allow(non_snake_case)] // parameter names are libvirt's, as the headers show them

pub mod connect;
mod delivery;
pub mod domain;
pub mod domain_ops;
pub mod error;
mod error_record;
pub mod eventloop;
pub mod events;
mod handles;
pub mod host;
pub mod legacy;
pub mod object_events;
pub mod object_info;
pub mod object_ops;
pub mod objects;
pub mod qemu;
mod refusal;
pub mod snapshot;
pub mod stats;
mod strings;
pub mod typed_params;
pub mod unsupported;

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::abi::common::{virConnectPtr, virDomainPtr};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::EventClass;
use handles::{ConnHandle, DomainHandle, Handle, ObjectHandle};

/// The body of every exported function, around its code:
///
/// ```text
/// #[no_mangle]
/// pub extern "C" fn virDomainRef(domain: virDomainPtr) -> c_int {
///     export!(|call| { call.domain(domain)?.add_c_ref(); Ok(0) })
/// }
/// ```
///
/// The function's name is written once, in its signature (which cbindgen
/// reads): the macro recovers it for error messages. `|call| BODY` is a
/// libvirt API function: the thread's last error is reset first, `BODY`
/// returns a `Result`, and an `Err` or a panic becomes a reported libvirt
/// error and the return type's `FailureValue`. `quiet || BODY` is a function
/// that reports no libvirt error (the error API itself, the event-loop
/// wrappers, typed-parameter lookups): a panic is logged and becomes the
/// failure value. `unwinding |call| BODY` is an API function that runs
/// application callbacks (the default loop's iteration): a forced unwind out
/// of a callback must pass through it, so it has no `catch_unwind` (see
/// `run_api_unwinding`). `name = NAME, |call| BODY` is for an export whose
/// symbol is not its public name (libvirt-qemu.so.0's functions, forwarded).
macro_rules! export {
    (unwinding |$call:ident| $body:expr) => {
        $crate::capi::run_api_unwinding($crate::capi::this_export!(), |$call: &mut $crate::capi::Call| $body)
    };
    (name = $name:expr, |$call:ident| $body:expr) => {
        $crate::capi::run_api($name, |$call: &mut $crate::capi::Call| $body)
    };
    (|$call:ident| $body:expr) => {
        $crate::capi::run_api($crate::capi::this_export!(), |$call: &mut $crate::capi::Call| $body)
    };
    (quiet || $body:expr) => {
        $crate::capi::run_quiet($crate::capi::this_export!(), || $body)
    };
}
pub(crate) use export;

/// The name of the exported function this expands in, worked out on its
/// first call only (every call of an API function needs it at hand).
macro_rules! this_export {
    () => {{
        fn this_function() {}
        static NAME: ::once_cell::sync::OnceCell<&'static str> = ::once_cell::sync::OnceCell::new();
        *NAME.get_or_init(|| $crate::capi::exported_name(::std::any::type_name_of_val(&this_function)))
    }};
}
pub(crate) use this_export;

/// The exported function's name from the path of a function item declared
/// in its body (`virt_events::capi::connect::virConnectRef::this_function`).
pub(crate) fn exported_name(inner: &'static str) -> &'static str {
    let outer = inner.rsplit_once("::").map_or(inner, |(outer, _)| outer);
    outer.rsplit_once("::").map_or(outer, |(_, name)| name)
}

/// What a public function returns when it fails, by return type: libvirt's
/// -1, NULL, or `(unsigned)-1` (`virDomainGetID`).
pub(crate) trait FailureValue {
    const FAILURE: Self;
}

impl FailureValue for c_int {
    const FAILURE: c_int = -1;
}

impl FailureValue for std::os::raw::c_uint {
    const FAILURE: std::os::raw::c_uint = std::os::raw::c_uint::MAX;
}

/// `unsigned long` and `unsigned long long` (the same type here): the two
/// functions returning one, `virDomainGetMaxMemory` and
/// `virNodeGetFreeMemory`, answer 0 on failure.
impl FailureValue for u64 {
    const FAILURE: u64 = 0;
}

impl<T> FailureValue for *mut T {
    const FAILURE: *mut T = std::ptr::null_mut();
}

impl<T> FailureValue for *const T {
    const FAILURE: *const T = std::ptr::null();
}

impl FailureValue for () {
    const FAILURE: () = ();
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// An API call in progress: the public function running, and the connection
/// it concerns once known, to which failures are dispatched (its error
/// handler, its last error). The call holds a count on that connection, so
/// that it outlives the call whatever the call releases.
pub(crate) struct Call {
    pub function: &'static str,
    conn: Option<Handle<ConnHandle>>,
}

impl Call {
    /// The live connection behind `conn`; failures of this call go to it.
    fn connection(&mut self, conn: virConnectPtr) -> Result<Handle<ConnHandle>> {
        self.connection_for(conn, EventClass::Domain)
    }

    /// The live connection behind `conn`, for a function of `class` (whose
    /// errors name that class's subsystem).
    fn connection_for(&mut self, conn: virConnectPtr, class: EventClass) -> Result<Handle<ConnHandle>> {
        let handle = ConnHandle::check(conn, self.function, class.descriptor().error_domain)?;
        self.conn = Some(handle.clone());
        Ok(handle)
    }

    /// The live network, storage pool, node device or secret behind `ptr`;
    /// failures of this call go to its connection.
    fn object<T>(&mut self, ptr: *mut T, class: EventClass) -> Result<Handle<ObjectHandle>> {
        let handle = ObjectHandle::check(ptr, class, self.function)?;
        self.conn = Some(handle.conn().clone());
        Ok(handle)
    }

    /// The live snapshot behind `ptr`; failures of this call go to its
    /// domain's connection.
    fn snapshot<T>(&mut self, ptr: *mut T) -> Result<Handle<handles::SnapshotHandle>> {
        let handle = handles::SnapshotHandle::check(ptr, self.function)?;
        self.conn = Some(handle.domain.conn().clone());
        Ok(handle)
    }

    /// The live domain behind `dom`; failures of this call go to its connection.
    fn domain(&mut self, dom: virDomainPtr) -> Result<Handle<DomainHandle>> {
        let handle = DomainHandle::check(dom, self.function)?;
        self.conn = Some(handle.conn().clone());
        Ok(handle)
    }

    /// `result`, whose failure goes to `conn`: for a hot path that checked
    /// its handle itself, so that the connection is counted (an atomic
    /// operation, and another to drop it) only when the call fails.
    fn failing_on<T>(&mut self, conn: &Handle<ConnHandle>, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.conn = Some(conn.clone());
        }
        result
    }
}

/// Runs the body of the libvirt API function `function` (see `export!`).
pub(crate) fn run_api<T: FailureValue>(function: &'static str, body: impl FnOnce(&mut Call) -> Result<T>) -> T {
    error::reset_thread_error();
    let mut call = Call { function, conn: None };
    let failure = match catch_unwind(AssertUnwindSafe(|| body(&mut call))) {
        Ok(Ok(value)) => return value,
        Ok(Err(failure)) => failure,
        Err(payload) => Error::internal(
            ErrorDomain::VIR_FROM_NONE,
            format!("{function} panicked: {}", panic_message(payload.as_ref())),
        ),
    };
    error::raise(failure, call.conn.as_deref());
    T::FAILURE
}

/// Runs the body of `function`, which reports no libvirt error (see `export!`).
pub(crate) fn run_quiet<T: FailureValue>(function: &'static str, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        eprintln!("libvirt: internal error: {function} panicked: {}", panic_message(payload.as_ref()));
        T::FAILURE
    })
}

/// libvirt's refusal of `function`, which changes state, on a read-only
/// connection; `domain` is the subsystem of the function's class.
fn check_writable(conn: &ConnHandle, function: &str, domain: ErrorDomain) -> Result<()> {
    if conn.conn.read_only {
        return Err(Error::read_only(domain, function));
    }
    Ok(())
}

/// Hands a listing over as the `virConnectListAll*` functions do: with `out`
/// NULL, only the count; otherwise `*out` gets a `malloc`ed array of one new
/// handle per item (`make`) and a terminating NULL, for the caller to free
/// element by element and then with `free()`.
///
/// # Safety
/// `out` must be NULL or writable.
unsafe fn export_list<X, I>(out: *mut *mut *mut X, items: Vec<I>, make: impl Fn(I) -> *mut X) -> Result<c_int> {
    let count = c_int::try_from(items.len()).unwrap_or(c_int::MAX);
    if out.is_null() {
        return Ok(count);
    }
    let size = std::mem::size_of::<*mut X>() * (items.len() + 1);
    // SAFETY: plain zeroed allocation (the NULL terminator); checked below.
    let array = unsafe { libc::calloc(1, size) } as *mut *mut X;
    if array.is_null() {
        return Err(Error::new(ErrorCode::VIR_ERR_NO_MEMORY, ErrorDomain::VIR_FROM_NONE, None));
    }
    for (i, item) in items.into_iter().enumerate() {
        // SAFETY: `i` < the item count, within the allocation.
        unsafe { *array.wrapping_add(i) = make(item) };
    }
    // SAFETY: non-NULL and writable per this function's contract.
    unsafe { *out = array };
    Ok(count)
}

/// Runs the body of the libvirt API function `function`, which runs
/// application callbacks (see `export!`): as `run_api`, but without
/// `catch_unwind`, which would catch a forced unwind (`pthread_exit` in a
/// callback) and so abort the process; the unwind passes through instead.
pub(crate) fn run_api_unwinding<T: FailureValue>(
    function: &'static str,
    body: impl FnOnce(&mut Call) -> Result<T>,
) -> T {
    error::reset_thread_error();
    let mut call = Call { function, conn: None };
    match forward_unwinding(function, || body(&mut call)) {
        Ok(value) => value,
        Err(failure) => {
            error::raise(failure, call.conn.as_deref());
            T::FAILURE
        }
    }
}

/// Runs `body`, through which application callbacks may unwind. A forced
/// unwind passes through; a Rust panic, which must not reach C, aborts the
/// process instead (the parts of `body` that can be contained contain their
/// own panics, as event delivery does).
pub(crate) fn forward_unwinding<T>(what: &'static str, body: impl FnOnce() -> T) -> T {
    /// Tells a Rust panic from a forced unwind as the stack unwinds past it.
    struct AbortOnPanic(&'static str);
    impl Drop for AbortOnPanic {
        fn drop(&mut self) {
            // Only a Rust panic sets `panicking()`; a forced unwind does not.
            if std::thread::panicking() {
                eprintln!("libvirt: internal error: a panic reached {}; aborting", self.0);
                std::process::abort();
            }
        }
    }
    let no_panic_escapes = AbortOnPanic(what);
    let result = body();
    // Returned: nothing to tell apart (and `panicking()` not read on every
    // call, a page of its own on the loop's path).
    std::mem::forget(no_panic_escapes);
    result
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    fn last_error_message() -> String {
        // SAFETY: the accessor returns a C string valid until the next call.
        unsafe { CStr::from_ptr(error::virGetLastErrorMessage()) }.to_string_lossy().into_owned()
    }

    fn virExampleNullArgument() -> c_int {
        export!(|call| Err(Error::null_arg(call.function, "cb")))
    }

    fn virExamplePanic() -> *mut c_int {
        export!(|_call| panic!("boom"))
    }

    #[test]
    fn exports_know_their_name_and_failure_value() {
        assert_eq!(exported_name("virt_events::capi::connect::virConnectRef::this_function"), "virConnectRef");
        assert_eq!(virExampleNullArgument(), -1);
        assert_eq!(last_error_message(), "cb in virExampleNullArgument must not be NULL");
    }

    #[test]
    fn a_panic_is_reported_with_its_message() {
        assert!(virExamplePanic().is_null());
        assert_eq!(last_error_message(), "internal error: virExamplePanic panicked: boom");
    }
}
