//! libvirt-qemu's functions (raw QEMU monitor events and commands).
//!
//! As in libvirt, libvirt-qemu.so.0 is a separate library that holds no
//! state: libvirt.so.0 exports these implementations under private names in
//! its `LIBVIRT_PRIVATE_9.0.0` node, and libvirt-qemu.so.0's public functions
//! (src/qemu_shim.rs) only forward to them, so connections, domains and
//! callbacks exist once whichever library a program calls. The checks and
//! messages are those of libvirt-qemu.c, which reports no subsystem.

use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::ptr;
use std::sync::Arc;

use super::delivery::{to_generic, CCallback};
use super::handles::{DomainHandle, Handle};
use super::{check_writable, export, strings};
use crate::abi::common::{virConnectPtr, virDomainPtr, virFreeCallback};
use crate::abi::qemu::virConnectDomainQemuMonitorEventCallback;
use crate::error::{Error, ErrorDomain};
use crate::event::state::Subscription;
use crate::event::{EventClass, TargetKey};

const REGISTER: &str = "virConnectDomainQemuMonitorEventRegister";
const DEREGISTER: &str = "virConnectDomainQemuMonitorEventDeregister";
const MONITOR_COMMAND: &str = "virDomainQemuMonitorCommand";
const MONITOR_COMMAND_WITH_FILES: &str = "virDomainQemuMonitorCommandWithFiles";
const AGENT_COMMAND: &str = "virDomainQemuAgentCommand";
const ATTACH: &str = "virDomainQemuAttach";
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
            return Err(Error::negative_arg(DEREGISTER, "callbackID").in_domain(SUBSYSTEM));
        }
        if handle.conn.read_only {
            return Err(Error::read_only(SUBSYSTEM, DEREGISTER));
        }
        handle.conn.driver.deregister_qemu_monitor(handle.conn.id, callbackID)?;
        Ok(0)
    })
}

/// The common part of the monitor-command functions, after their own checks:
/// libvirt's `result` and read-only checks, then the driver's answer, stored
/// in `*result` (`malloc`ed, for the caller to free). File descriptors for
/// QEMU (`with_files`) are not supported.
///
/// # Safety
/// `cmd` NULL or a C string; `result` NULL or writable.
unsafe fn monitor_command(
    function: &str,
    dom: Handle<DomainHandle>,
    cmd: *const c_char,
    with_files: bool,
    result: *mut *mut c_char,
    flags: c_uint,
) -> crate::error::Result<c_int> {
    if result.is_null() {
        return Err(Error::null_arg(function, "result").in_domain(SUBSYSTEM));
    }
    check_writable(dom.conn(), function, SUBSYSTEM)?;
    if with_files {
        return Err(Error::no_support(SUBSYSTEM, function));
    }
    // SAFETY: NULL or a C string per the caller's contract.
    let cmd = unsafe { strings::borrow(cmd) }.ok_or_else(|| Error::null_arg(function, "cmd").in_domain(SUBSYSTEM))?;
    let reply = dom.conn().conn.driver.qemu_monitor_command(&dom.identity, &cmd, flags, function)?;
    // SAFETY: checked non-NULL above; writable per the caller's contract.
    unsafe { *result = strings::to_malloced(&reply) };
    Ok(0)
}

/// `virDomainQemuMonitorCommand`: sends `cmd` (QMP JSON, or an HMP command
/// line with `VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP`) to the domain's QEMU;
/// `*result` gets QEMU's reply. Returns 0, or -1.
///
/// # Safety
/// `cmd` must be NULL or a NUL-terminated string, `result` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virtEventsDomainQemuMonitorCommand(
    domain: virDomainPtr,
    cmd: *const c_char,
    result: *mut *mut c_char,
    flags: c_uint,
) -> c_int {
    export!(name = MONITOR_COMMAND, |call| {
        let dom = call.domain(domain)?;
        // SAFETY: the caller's pointers, under the same contract.
        unsafe { monitor_command(MONITOR_COMMAND, dom, cmd, false, result, flags) }
    })
}

/// `virDomainQemuMonitorCommandWithFiles`: as `virDomainQemuMonitorCommand`;
/// file descriptors are not passed to QEMU (`ninfiles` > 0 is refused as
/// unsupported) and none come back (`*noutfiles` 0, `*outfiles` NULL, as
/// libvirt's QEMU driver answers).
///
/// # Safety
/// `cmd` must be NULL or a NUL-terminated string; `noutfiles`, `outfiles`
/// and `result` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virtEventsDomainQemuMonitorCommandWithFiles(
    domain: virDomainPtr,
    cmd: *const c_char,
    ninfiles: c_uint,
    _infiles: *mut c_int,
    noutfiles: *mut c_uint,
    outfiles: *mut *mut c_int,
    result: *mut *mut c_char,
    flags: c_uint,
) -> c_int {
    export!(name = MONITOR_COMMAND_WITH_FILES, |call| {
        let dom = call.domain(domain)?;
        if cmd.is_null() {
            return Err(Error::null_arg(MONITOR_COMMAND_WITH_FILES, "cmd").in_domain(SUBSYSTEM));
        }
        if !outfiles.is_null() {
            // SAFETY: non-NULL, writable per the caller's contract.
            unsafe { *outfiles = ptr::null_mut() };
        }
        if !noutfiles.is_null() {
            // SAFETY: non-NULL, writable per the caller's contract.
            unsafe { *noutfiles = 0 };
        }
        // SAFETY: the caller's pointers, under the same contract.
        unsafe { monitor_command(MONITOR_COMMAND_WITH_FILES, dom, cmd, ninfiles > 0, result, flags) }
    })
}

/// `virDomainQemuAgentCommand`: the library never gives QEMU a guest agent,
/// so this fails as libvirt does for a domain without one (or, on other
/// drivers, as unsupported; the remote driver asks its server).
///
/// # Safety
/// `cmd` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virtEventsDomainQemuAgentCommand(
    domain: virDomainPtr,
    cmd: *const c_char,
    timeout: c_int,
    flags: c_uint,
) -> *mut c_char {
    export!(name = AGENT_COMMAND, |call| {
        let handle = call.domain(domain)?;
        check_writable(handle.conn(), AGENT_COMMAND, SUBSYSTEM)?;
        // SAFETY: NULL or a C string per the caller's contract.
        let cmd = unsafe { strings::borrow(cmd) }.unwrap_or_default();
        let answer = handle.conn().conn.driver.qemu_agent_command(&handle.identity, &cmd, timeout, flags)?;
        Ok(strings::to_malloced(&answer))
    })
}

/// `virDomainQemuAttach`: no driver attaches to a QEMU started elsewhere by
/// its process ID (libvirt 9.0's QEMU driver no longer does either); the
/// arguments are checked as libvirt checks them first.
#[no_mangle]
pub extern "C" fn virtEventsDomainQemuAttach(conn: virConnectPtr, pid_value: c_uint, _flags: c_uint) -> virDomainPtr {
    export!(name = ATTACH, |call| {
        let handle = call.connection_for(conn, EventClass::QemuMonitor)?;
        if pid_value == 0 {
            let message = format!("pid_value in {ATTACH} must not be zero");
            return Err(Error::arg_check(ATTACH, "pid_value", message).in_domain(SUBSYSTEM));
        }
        check_writable(&handle, ATTACH, SUBSYSTEM)?;
        Err(Error::no_support(SUBSYSTEM, ATTACH))
    })
}
