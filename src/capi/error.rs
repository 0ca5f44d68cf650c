//! `virterror.h`: the per-thread last error, per-connection errors, and the
//! error handlers an application installs.

use std::cell::RefCell;
use std::io::Write;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use parking_lot::Mutex;

use super::error_record::{clear, copy, ErrorRecord};
use super::export;
use super::handles::{ConnHandle, Handle};
use super::strings;
use crate::abi::common::virConnectPtr;
use crate::abi::error::{virError, virErrorDomain, virErrorFunc, virErrorLevel, virErrorPtr};
use crate::error::Error;

thread_local! {
    static LAST_ERROR: RefCell<ErrorRecord> = RefCell::new(ErrorRecord::default());
}

static GLOBAL_HANDLER: Mutex<(virErrorFunc, usize)> = Mutex::new((None, 0));

/// Runs `body` on this thread's last error; `None` when it is out of reach
/// (the thread is being torn down, or a handler called back while it is
/// being written).
fn with_last_error<T>(body: impl FnOnce(&mut ErrorRecord) -> T) -> Option<T> {
    LAST_ERROR.try_with(|e| e.try_borrow_mut().ok().map(|mut record| body(&mut record))).ok().flatten()
}

pub(crate) fn reset_thread_error() {
    with_last_error(ErrorRecord::reset);
}

/// Records `error` as this thread's last error only: what a driver reported
/// while its call succeeded, which libvirt hands to no handler.
pub(crate) fn record(error: &Error) {
    with_last_error(|record| record.set(error));
}

/// Records `error` as this thread's last error (and the connection's), then
/// hands it to the connection's handler, else the global one, else prints it.
pub(crate) fn raise(error: Error, conn: Option<&ConnHandle>) {
    // Out of reach, the record is this frame's for the handler's call.
    let mut local = ErrorRecord::default();
    let err_ptr = with_last_error(|record| {
        record.set(&error);
        record.as_ptr()
    })
    .unwrap_or_else(|| {
        local.set(&error);
        local.as_ptr()
    });
    let conn_handler = conn.and_then(|c| {
        c.last_error.lock().set(&error);
        let (func, data) = *c.error_func.lock();
        func.map(|f| (f, data))
    });
    let global = *GLOBAL_HANDLER.lock();
    match conn_handler.or(global.0.map(|f| (f, global.1))) {
        // SAFETY: the application installed this handler for exactly this call.
        Some((handler, data)) => unsafe { handler(data as *mut c_void, err_ptr) },
        // SAFETY: `err_ptr` points to this thread's live record.
        None => unsafe { virDefaultErrorFunc(err_ptr) },
    }
}

/// libvirt's names for error domains, as its default handler prints them.
fn domain_name(domain: c_int) -> &'static str {
    const NAMES: [&str; virErrorDomain::VIR_FROM_CH as usize + 1] = [
        "",
        "Xen Driver",
        "Xen Daemon",
        "Xen Store",
        "S-Expression",
        "XML Util",
        "Domain",
        "XML-RPC",
        "Proxy Daemon",
        "Config File",
        "QEMU Driver",
        "Network",
        "Test Driver",
        "Remote Driver",
        "OpenVZ Driver",
        "Xen XM Driver",
        "Linux Statistics",
        "LXC Driver",
        "Storage Driver",
        "Network Driver",
        "Domain Config",
        "User Mode Linux Driver",
        "Node Device Driver",
        "Xen Inotify Driver",
        "Security Driver",
        "VirtualBox Driver",
        "Network Interface Driver",
        "Open Nebula Driver",
        "ESX Driver",
        "Power Hypervisor Driver",
        "Secrets Driver",
        "CPU Driver",
        "XenAPI Driver",
        "Network Filter Driver",
        "Lifecycle Hook",
        "Domain Snapshot",
        "Audit Utils",
        "Sysinfo Utils",
        "I/O Stream Utils",
        "VMware Driver",
        "Event Loop",
        "Xen Light Driver",
        "Lock Driver",
        "Hyper-V Driver",
        "Capabilities Utils",
        "URI Utils",
        "Authentication Utils",
        "DBus Utils",
        "Parallels Cloud Server",
        "Device Config",
        "SSH transport layer",
        "Lock Space",
        "Init control",
        "Identity",
        "Cgroup",
        "Access Manager",
        "Systemd",
        "Bhyve",
        "Crypto",
        "Firewall",
        "Polkit",
        "Thread jobs",
        "Admin Interface",
        "Log Manager",
        "Xen XL Config",
        "Perf",
        "Libssh transport layer",
        "Resource control",
        "FirewallD",
        "Domain Checkpoint",
        "TPM",
        "BPF",
        "Cloud-Hypervisor Driver",
    ];
    usize::try_from(domain).ok().and_then(|d| NAMES.get(d)).copied().unwrap_or("")
}

/// Returns the calling thread's last error, or NULL if the last call
/// succeeded. The record stays valid until the next call on this thread.
#[no_mangle]
pub extern "C" fn virGetLastError() -> virErrorPtr {
    export!(quiet || with_last_error(|record| record.as_ptr()).unwrap_or(ptr::null_mut()))
}

/// The message of the thread's last error, or "no error".
#[no_mangle]
pub extern "C" fn virGetLastErrorMessage() -> *const c_char {
    export!(
        quiet || {
            with_last_error(|record| (record.is_set() && !record.0.message.is_null()).then_some(record.0.message))
                .flatten()
                .map_or(c"no error".as_ptr(), |message| message as *const c_char)
        }
    )
}

#[no_mangle]
pub extern "C" fn virGetLastErrorCode() -> c_int {
    export!(quiet || with_last_error(|record| record.0.code).unwrap_or(0))
}

#[no_mangle]
pub extern "C" fn virGetLastErrorDomain() -> c_int {
    export!(quiet || with_last_error(|record| record.0.domain).unwrap_or(0))
}

#[no_mangle]
pub extern "C" fn virResetLastError() {
    export!(quiet || reset_thread_error())
}

/// Copies the thread's last error into `to`; returns its code (0 if none).
///
/// # Safety
/// `to` must be NULL or point to a writable `virError` holding no strings.
#[no_mangle]
pub unsafe extern "C" fn virCopyLastError(to: virErrorPtr) -> c_int {
    export!(
        quiet || {
            if to.is_null() {
                return -1;
            }
            with_last_error(|record| {
                // SAFETY: `to` is non-NULL and writable per the contract.
                copy(&record.0, unsafe { &mut *to });
                record.0.code
            })
            .unwrap_or(-1)
        }
    )
}

/// A `malloc`ed copy of the thread's last error, for `virFreeError`.
///
/// Its code is 0 when there is no error; NULL when out of memory.
#[no_mangle]
pub extern "C" fn virSaveLastError() -> virErrorPtr {
    export!(
        quiet || {
            // SAFETY: plain zeroed allocation, checked below.
            let saved = unsafe { libc::calloc(1, std::mem::size_of::<virError>()) } as virErrorPtr;
            if !saved.is_null() {
                with_last_error(|record| {
                    // SAFETY: `saved` is a fresh, zeroed (string-free) record.
                    copy(&record.0, unsafe { &mut *saved })
                });
            }
            saved
        }
    )
}

/// Copies the last error raised on `conn` into `to`; returns its code.
///
/// `to` is cleared when there is none; -1 for a connection or record that is
/// not one.
///
/// # Safety
/// `to` must be NULL or point to a writable `virError` holding no strings.
#[no_mangle]
pub unsafe extern "C" fn virConnCopyLastError(conn: virConnectPtr, to: virErrorPtr) -> c_int {
    export!(
        quiet || {
            let Some(handle) = Handle::<ConnHandle>::live(conn) else { return -1 };
            if to.is_null() {
                return -1;
            }
            let record = handle.last_error.lock();
            // SAFETY: `to` is non-NULL and writable per the contract.
            copy(&record.0, unsafe { &mut *to });
            record.0.code
        }
    )
}

/// Frees the strings of `err` and clears it.
///
/// # Safety
/// `err` must be NULL or a `virError` whose strings were malloc'ed.
#[no_mangle]
pub unsafe extern "C" fn virResetError(err: virErrorPtr) {
    export!(
        quiet || {
            if !err.is_null() {
                // SAFETY: non-NULL per the check, valid per the contract.
                clear(unsafe { &mut *err });
            }
        }
    )
}

/// Resets and frees a heap-allocated `virError`.
///
/// # Safety
/// `err` must be NULL or a malloc'ed `virError`.
#[no_mangle]
pub unsafe extern "C" fn virFreeError(err: virErrorPtr) {
    export!(
        quiet || {
            if !err.is_null() {
                // SAFETY: per the contract `err` is a live malloc'ed record.
                clear(unsafe { &mut *err });
                // SAFETY: the record is malloc'ed and no longer used.
                unsafe { libc::free(err.cast()) };
            }
        }
    )
}

/// Installs the handler every error is passed to (NULL restores printing).
#[no_mangle]
pub extern "C" fn virSetErrorFunc(userData: *mut c_void, handler: virErrorFunc) {
    export!(quiet || *GLOBAL_HANDLER.lock() = (handler, userData as usize))
}

/// Prints an error the way libvirt does when no handler is installed.
///
/// # Safety
/// `err` must be NULL or point to a valid `virError`.
#[no_mangle]
pub unsafe extern "C" fn virDefaultErrorFunc(err: virErrorPtr) {
    export!(
        quiet || {
            if err.is_null() {
                return;
            }
            // SAFETY: non-NULL and valid per the contract.
            let err = unsafe { &*err };
            // SAFETY: a non-NULL message is a NUL-terminated string.
            let Some(message) = (unsafe { strings::borrow(err.message) }) else {
                return;
            };
            let level = if err.level == virErrorLevel::VIR_ERR_WARNING { "warning" } else { "error" };
            let _ = writeln!(std::io::stderr(), "libvirt: {} {level} : {message}", domain_name(err.domain));
        }
    )
}

/// The last error raised on `conn`, or NULL.
#[no_mangle]
pub extern "C" fn virConnGetLastError(conn: virConnectPtr) -> virErrorPtr {
    export!(
        quiet || Handle::<ConnHandle>::live(conn).map_or(ptr::null_mut(), |handle| handle.last_error.lock().as_ptr())
    )
}

#[no_mangle]
pub extern "C" fn virConnResetLastError(conn: virConnectPtr) {
    export!(
        quiet || {
            if let Some(handle) = Handle::<ConnHandle>::live(conn) {
                handle.last_error.lock().reset();
            }
        }
    )
}

/// Installs the handler errors on `conn` are passed to.
#[no_mangle]
pub extern "C" fn virConnSetErrorFunc(conn: virConnectPtr, userData: *mut c_void, handler: virErrorFunc) {
    export!(
        quiet || {
            if let Some(handle) = Handle::<ConnHandle>::live(conn) {
                *handle.error_func.lock() = (handler, userData as usize);
            }
        }
    )
}
