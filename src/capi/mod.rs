//! The C ABI: every exported libvirt function lives here. Each one resets the
//! calling thread's last error, checks its arguments, calls the safe core, and
//! on failure records and dispatches a libvirt error; no panic crosses the
//! boundary. `unsafe` is confined to this layer.

#![allow(non_snake_case)] // parameter names are libvirt's, as the headers show them

pub mod connect;
mod delivery;
pub mod domain;
pub mod error;
pub mod eventloop;
pub mod events;
mod handles;
pub mod object_events;
pub mod object_ops;
pub mod objects;
pub mod qemu;
mod strings;
pub mod typed_params;

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::abi::common::{virConnectPtr, virDomainPtr};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::EventClass;
use handles::{ConnHandle, DomainHandle, Handle, ObjectHandle};

/// The connection an API call concerns, once known: failures are dispatched
/// to its error handler and recorded as its last error. The call holds a
/// count on it, so that it outlives the call whatever the call releases.
#[derive(Default)]
pub(crate) struct Call {
    conn: Option<Handle<ConnHandle>>,
}

impl Call {
    /// The live connection behind `conn`; failures of this call go to it.
    fn connection(&mut self, conn: virConnectPtr, function: &str) -> Result<Handle<ConnHandle>> {
        self.connection_for(conn, EventClass::Domain, function)
    }

    /// The live connection behind `conn`, for a function of `class` (whose
    /// errors name that class's subsystem).
    fn connection_for(&mut self, conn: virConnectPtr, class: EventClass, function: &str) -> Result<Handle<ConnHandle>> {
        let handle = ConnHandle::check(conn, function, class.descriptor().error_domain)?;
        self.conn = Some(handle.clone());
        Ok(handle)
    }

    /// The live network, storage pool, node device or secret behind `ptr`;
    /// failures of this call go to its connection.
    fn object<T>(&mut self, ptr: *mut T, class: EventClass, function: &str) -> Result<Handle<ObjectHandle>> {
        let handle = ObjectHandle::check(ptr, class, function)?;
        self.conn = Some(handle.conn().clone());
        Ok(handle)
    }

    /// The live domain behind `dom`; failures of this call go to its connection.
    fn domain(&mut self, dom: virDomainPtr, function: &str) -> Result<Handle<DomainHandle>> {
        let handle = DomainHandle::check(dom, function)?;
        self.conn = Some(handle.conn().clone());
        Ok(handle)
    }
}

/// Runs the body of the public function `function`: resets the thread's last
/// error, contains panics, and turns an `Err` into a reported libvirt error and
/// `fallback`.
pub(crate) fn api<T>(function: &str, fallback: T, body: impl FnOnce(&mut Call) -> Result<T>) -> T {
    error::reset_thread_error();
    let mut call = Call::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| body(&mut call)));
    let failure = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(failure)) => failure,
        Err(_) => Error::internal(ErrorDomain::VIR_FROM_NONE, format!("unexpected failure in {function}")),
    };
    error::raise(failure, call.conn.as_deref());
    fallback
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
        unsafe { *array.add(i) = make(item) };
    }
    // SAFETY: non-NULL and writable per this function's contract.
    unsafe { *out = array };
    Ok(count)
}

/// Runs the body of a function that reports no libvirt error (the event-loop
/// wrappers), turning a panic into `fallback`.
pub(crate) fn no_unwind<T>(what: &str, fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        eprintln!("libvirt: internal error: panic contained in {what}");
        fallback
    })
}

/// Runs a callback from an event loop (C or Rust) with panics contained.
pub(crate) fn contain_panic(what: &str, body: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(body)).is_err() {
        eprintln!("libvirt: internal error: panic contained in {what}");
    }
}
