//! Domain operations beyond the basic lifecycle: the flag variants, saving
//! and restoring (to a file and managed), memory and vCPU counts, and the
//! accessors built on them. libvirt's public argument checks come first, in
//! its order; the driver does the rest.

use std::os::raw::{c_char, c_int, c_uint, c_ulong};

use super::domain::{from_xml, operate};
use super::{check_writable, export, strings, Call};
use crate::abi::common::{virConnectPtr, virDomainPtr};
use crate::error::{Error, ErrorDomain, Result};

/// `VIR_DOMAIN_SAVE_RUNNING` and `VIR_DOMAIN_SAVE_PAUSED`.
const SAVE_RUNNING: c_uint = 2;
const SAVE_PAUSED: c_uint = 4;
pub(super) const AFFECT_LIVE: c_uint = 1; // VIR_DOMAIN_AFFECT_LIVE
pub(super) const AFFECT_CONFIG: c_uint = 2; // VIR_DOMAIN_AFFECT_CONFIG
const MEM_MAXIMUM: c_uint = 4; // VIR_DOMAIN_MEM_MAXIMUM
const VCPU_MAXIMUM: c_uint = 4; // VIR_DOMAIN_VCPU_MAXIMUM
const VCPU_GUEST: c_uint = 8; // VIR_DOMAIN_VCPU_GUEST

pub(super) use crate::driver::exclusive_flags as exclusive;

fn save_flags_exclusive(function: &str, flags: c_uint) -> Result<()> {
    exclusive(function, flags, (SAVE_RUNNING, "VIR_DOMAIN_SAVE_RUNNING"), (SAVE_PAUSED, "VIR_DOMAIN_SAVE_PAUSED"))
}

fn nonzero(function: &str, argument: &str, value: u64) -> Result<()> {
    if value == 0 {
        return Err(Error::arg_check(function, argument, format!("{argument} in {function} must not be zero")));
    }
    Ok(())
}

/// `path` made absolute against the working directory, as libvirt does
/// before a path leaves the calling process.
fn absolute(path: &str) -> Result<String> {
    if path.starts_with('/') {
        return Ok(path.to_string());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::internal(ErrorDomain::VIR_FROM_NONE, e.to_string()))?;
    Ok(format!("{}/{path}", cwd.display()))
}

/// Borrows the path argument `name`, which must not be NULL, made absolute.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string.
unsafe fn path_arg(function: &str, name: &str, path: *const c_char) -> Result<String> {
    // SAFETY: per this function's contract.
    let path = unsafe { strings::borrow(path) }.ok_or_else(|| Error::null_arg(function, name))?;
    absolute(&path)
}

#[no_mangle]
pub extern "C" fn virDomainCreateWithFlags(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.create_with_flags(dom, flags)))
}

#[no_mangle]
pub extern "C" fn virDomainDestroyFlags(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.destroy_flags(dom, flags)))
}

#[no_mangle]
pub extern "C" fn virDomainShutdownFlags(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.shutdown_flags(dom, flags)))
}

#[no_mangle]
pub extern "C" fn virDomainUndefineFlags(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.undefine_flags(dom, flags)))
}

/// Defines (or redefines) a persistent domain from its XML, with `virDomainDefineFlags`.
///
/// # Safety
/// `xml` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainDefineXMLFlags(
    conn: virConnectPtr,
    xml: *const c_char,
    flags: c_uint,
) -> virDomainPtr {
    // SAFETY: the caller's guarantee is `from_xml`'s.
    export!(|call| unsafe { from_xml(call, conn, xml, |d, xml| d.define_xml_flags(xml, flags)) })
}

/// libvirt's old name of `virDomainCreateXML`, which it calls.
///
/// # Safety
/// `xmlDesc` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainCreateLinux(
    conn: virConnectPtr,
    xmlDesc: *const c_char,
    flags: c_uint,
) -> virDomainPtr {
    // SAFETY: the same contract.
    unsafe { super::domain::virDomainCreateXML(conn, xmlDesc, flags) }
}

/// Saves a running domain's state to `to` and stops it.
///
/// # Safety
/// `to` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainSave(domain: virDomainPtr, to: *const c_char) -> c_int {
    // SAFETY: the caller's guarantee is `save`'s.
    export!(|call| unsafe { save(call, domain, to, std::ptr::null(), 0) })
}

/// Saves a running domain's state to `to` and stops it, with `virDomainSaveRestoreFlags`.
///
/// # Safety
/// `to` and `dxml` must each be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainSaveFlags(
    domain: virDomainPtr,
    to: *const c_char,
    dxml: *const c_char,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's guarantee is `save`'s.
    export!(|call| unsafe { save(call, domain, to, dxml, flags) })
}

/// # Safety
/// `to` and `dxml` must each be NULL or a NUL-terminated string.
unsafe fn save(
    call: &mut Call,
    domain: virDomainPtr,
    to: *const c_char,
    dxml: *const c_char,
    flags: c_uint,
) -> Result<c_int> {
    let function = call.function;
    operate(call, domain, |driver, dom| {
        // SAFETY: per this function's contract.
        let path = unsafe { path_arg(function, "to", to) }?;
        save_flags_exclusive(function, flags)?;
        // SAFETY: as above.
        let dxml = unsafe { strings::borrow(dxml) };
        driver.save(dom, &path, dxml.as_deref(), flags, function)
    })
}

/// Starts the domain a save image holds.
///
/// # Safety
/// `from` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainRestore(conn: virConnectPtr, from: *const c_char) -> c_int {
    // SAFETY: the caller's guarantee is `restore`'s.
    export!(|call| unsafe { restore(call, conn, from, std::ptr::null(), 0) })
}

/// Starts the domain a save image holds, with `virDomainSaveRestoreFlags`.
///
/// # Safety
/// `from` and `dxml` must each be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn virDomainRestoreFlags(
    conn: virConnectPtr,
    from: *const c_char,
    dxml: *const c_char,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's guarantee is `restore`'s.
    export!(|call| unsafe { restore(call, conn, from, dxml, flags) })
}

/// # Safety
/// `from` and `dxml` must each be NULL or a NUL-terminated string.
unsafe fn restore(
    call: &mut Call,
    conn: virConnectPtr,
    from: *const c_char,
    dxml: *const c_char,
    flags: c_uint,
) -> Result<c_int> {
    let handle = call.connection(conn)?;
    check_writable(&handle, call.function, ErrorDomain::VIR_FROM_DOMAIN)?;
    // SAFETY: per this function's contract.
    let path = unsafe { path_arg(call.function, "from", from) }?;
    save_flags_exclusive(call.function, flags)?;
    // SAFETY: as above.
    let dxml = unsafe { strings::borrow(dxml) };
    handle.conn.driver.restore(&path, dxml.as_deref(), flags, call.function)?;
    Ok(0)
}

#[no_mangle]
pub extern "C" fn virDomainManagedSave(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| {
        let function = call.function;
        operate(call, domain, |d, dom| {
            save_flags_exclusive(function, flags)?;
            d.managed_save(dom, flags)
        })
    })
}

#[no_mangle]
pub extern "C" fn virDomainHasManagedSaveImage(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        Ok(c_int::from(handle.conn().conn.driver.has_managed_save(&handle.identity, flags)?))
    })
}

#[no_mangle]
pub extern "C" fn virDomainManagedSaveRemove(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| operate(call, domain, |d, dom| d.managed_save_remove(dom, flags)))
}

/// Sets the memory in KiB as `flags` (`virDomainMemoryModFlags`) say.
fn set_memory(call: &mut Call, domain: virDomainPtr, memory: c_ulong, flags: c_uint) -> Result<c_int> {
    let function = call.function;
    operate(call, domain, |d, dom| {
        nonzero(function, "memory", memory)?;
        d.set_memory(dom, memory, flags, function)
    })
}

/// The running domain's balloon target, in KiB.
#[no_mangle]
pub extern "C" fn virDomainSetMemory(domain: virDomainPtr, memory: c_ulong) -> c_int {
    export!(|call| set_memory(call, domain, memory, AFFECT_LIVE))
}

#[no_mangle]
pub extern "C" fn virDomainSetMaxMemory(domain: virDomainPtr, memory: c_ulong) -> c_int {
    export!(|call| set_memory(call, domain, memory, MEM_MAXIMUM))
}

#[no_mangle]
pub extern "C" fn virDomainSetMemoryFlags(domain: virDomainPtr, memory: c_ulong, flags: c_uint) -> c_int {
    export!(|call| set_memory(call, domain, memory, flags))
}

/// Sets the vCPU count as `flags` (`virDomainVcpuFlags`) say.
fn set_vcpus(call: &mut Call, domain: virDomainPtr, nvcpus: c_uint, flags: c_uint) -> Result<c_int> {
    let function = call.function;
    operate(call, domain, |d, dom| {
        if flags & VCPU_MAXIMUM != 0 && flags & AFFECT_CONFIG == 0 {
            return Err(Error::arg_check(
                function,
                "flags",
                "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'",
            ));
        }
        nonzero(function, "nvcpus", u64::from(nvcpus))?;
        d.set_vcpus(dom, nvcpus, flags, function)
    })
}

#[no_mangle]
pub extern "C" fn virDomainSetVcpus(domain: virDomainPtr, nvcpus: c_uint) -> c_int {
    export!(|call| set_vcpus(call, domain, nvcpus, AFFECT_LIVE))
}

#[no_mangle]
pub extern "C" fn virDomainSetVcpusFlags(domain: virDomainPtr, nvcpus: c_uint, flags: c_uint) -> c_int {
    export!(|call| set_vcpus(call, domain, nvcpus, flags))
}

#[no_mangle]
pub extern "C" fn virDomainGetVcpusFlags(domain: virDomainPtr, flags: c_uint) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        if flags & VCPU_GUEST != 0 {
            check_writable(handle.conn(), call.function, ErrorDomain::VIR_FROM_DOMAIN)?;
        }
        exclusive(
            call.function,
            flags,
            (AFFECT_LIVE, "VIR_DOMAIN_AFFECT_LIVE"),
            (AFFECT_CONFIG, "VIR_DOMAIN_AFFECT_CONFIG"),
        )?;
        handle.conn().conn.driver.vcpus(&handle.identity, flags, call.function)
    })
}

/// The most vCPUs the running domain may have.
#[no_mangle]
pub extern "C" fn virDomainGetMaxVcpus(domain: virDomainPtr) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        handle.conn().conn.driver.vcpus(&handle.identity, AFFECT_LIVE | VCPU_MAXIMUM, call.function)
    })
}

/// The guest's operating system type, for the caller to `free()`.
#[no_mangle]
pub extern "C" fn virDomainGetOSType(domain: virDomainPtr) -> *mut c_char {
    export!(|call| {
        let handle = call.domain(domain)?;
        Ok(strings::to_malloced(&handle.conn().conn.driver.os_type(&handle.identity)?))
    })
}

/// Whether the domain starts with its host.
///
/// # Safety
/// `autostart` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetAutostart(domain: virDomainPtr, autostart: *mut c_int) -> c_int {
    export!(|call| {
        let handle = call.domain(domain)?;
        if autostart.is_null() {
            return Err(Error::null_arg(call.function, "autostart"));
        }
        let value = handle.conn().conn.driver.autostart(&handle.identity)?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *autostart = c_int::from(value) };
        Ok(0)
    })
}
