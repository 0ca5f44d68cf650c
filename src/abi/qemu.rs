//! libvirt-qemu's public C API (`include/libvirt/libvirt-qemu.h`): raw QEMU
//! monitor events, with libvirt 9.0's names and values.

use std::os::raw::{c_char, c_int, c_longlong, c_uint, c_void};

use super::common::{virConnectPtr, virDomainPtr, virFreeCallback};

/// Receives one QEMU monitor event: name, timestamp and `data` as JSON.
///
/// `seconds` is -1 when QEMU gave no timestamp; `details` is NULL when the
/// event had no `data`.
pub type virConnectDomainQemuMonitorEventCallback = Option<
    unsafe extern "C" fn(
        conn: virConnectPtr,
        dom: virDomainPtr,
        event: *const c_char,
        seconds: c_longlong,
        micros: c_uint,
        details: *const c_char,
        opaque: *mut c_void,
    ),
>;

/// How `virConnectDomainQemuMonitorEventRegister` matches `event`.
#[repr(C)]
pub enum virConnectDomainQemuMonitorEventRegisterFlags {
    /// `event` is a regular expression.
    VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX = 1,
    /// `event` matches case-insensitively.
    VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE = 2,
}

// The functions libvirt-qemu.so.0 exports, declared here for the header.
// The shim that defines them (src/qemu_shim.rs) is a separate library; this
// crate implements them under private names (src/capi/qemu.rs) and never
// calls these declarations. Only pointers to the opaque objects cross, so
// their Rust layout does not matter.
#[allow(improper_ctypes)]
extern "C" {
    /// Registers `cb` for QEMU monitor events; returns its callback ID or -1.
    ///
    /// Only events of `dom` unless NULL, only those named `event` unless
    /// NULL, matched as `flags` say (exact by default).
    pub fn virConnectDomainQemuMonitorEventRegister(
        conn: virConnectPtr,
        dom: virDomainPtr,
        event: *const c_char,
        cb: virConnectDomainQemuMonitorEventCallback,
        opaque: *mut c_void,
        freecb: virFreeCallback,
        flags: c_uint,
    ) -> c_int;

    /// Removes the registration `callbackID` made on `conn`.
    pub fn virConnectDomainQemuMonitorEventDeregister(conn: virConnectPtr, callbackID: c_int) -> c_int;
}
