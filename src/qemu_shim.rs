//! libvirt-qemu.so.0: libvirt-qemu's public functions, each forwarding to its
//! implementation in libvirt.so.0 (src/capi/qemu.rs), which exports it under
//! a private name in `LIBVIRT_PRIVATE_9.0.0`. This library keeps no state, so
//! the process has one set of connections and callbacks whichever library a
//! program calls.
//!
//! The Makefile compiles this file alone (no std, no dependency, one object
//! file) and links it against libvirt.so.0 with src/capi/libvirt-qemu.syms.
//! The prototypes C programs see are in src/abi/qemu.rs (libvirt-qemu.h).
#![no_std]
#![allow(non_snake_case)] // parameter names are libvirt's

use core::ffi::{c_char, c_int, c_uint, c_void};

/// One of libvirt's object pointers, passed through untouched.
type Object = *mut c_void;
/// A C function pointer (the callback, its free function), passed through.
type Function = Option<unsafe extern "C" fn()>;

extern "C" {
    fn virtEventsDomainQemuMonitorEventRegister(
        conn: Object,
        dom: Object,
        event: *const c_char,
        cb: Function,
        opaque: *mut c_void,
        freecb: Function,
        flags: c_uint,
    ) -> c_int;
    fn virtEventsDomainQemuMonitorEventDeregister(conn: Object, callbackID: c_int) -> c_int;
}

/// # Safety
/// As `virConnectDomainQemuMonitorEventRegister` documents (libvirt-qemu.h).
#[no_mangle]
pub unsafe extern "C" fn virConnectDomainQemuMonitorEventRegister(
    conn: Object,
    dom: Object,
    event: *const c_char,
    cb: Function,
    opaque: *mut c_void,
    freecb: Function,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's arguments, unchanged, to the implementation, which
    // has the same contract and checks them.
    unsafe { virtEventsDomainQemuMonitorEventRegister(conn, dom, event, cb, opaque, freecb, flags) }
}

/// # Safety
/// As `virConnectDomainQemuMonitorEventDeregister` documents (libvirt-qemu.h).
#[no_mangle]
pub unsafe extern "C" fn virConnectDomainQemuMonitorEventDeregister(conn: Object, callbackID: c_int) -> c_int {
    // SAFETY: as above.
    unsafe { virtEventsDomainQemuMonitorEventDeregister(conn, callbackID) }
}
