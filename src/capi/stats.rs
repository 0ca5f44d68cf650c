//! The host's free memory, a domain's scheduler and its devices' statistics.
//! libvirt's public argument checks come first, in its order; the driver
//! does the rest.

use std::os::raw::{c_char, c_int, c_uint, c_ulonglong};

use super::{check_writable, export, strings, typed_params, Call};
use crate::abi::all::{
    virConnectPtr, virDomainBlockStatsPtr, virDomainBlockStatsStruct, virDomainInterfaceStatsPtr,
    virDomainInterfaceStatsStruct, virDomainMemoryStatPtr, virDomainMemoryStatStruct, virDomainPtr,
    virTypedParameterPtr,
};
use crate::error::{Error, ErrorDomain, Result};

/// The host's free memory, 0 on failure.
#[no_mangle]
pub extern "C" fn virNodeGetFreeMemory(conn: virConnectPtr) -> c_ulonglong {
    export!(|call| call.connection(conn)?.conn.driver.free_memory())
}

/// The free memory of up to `maxCells` NUMA cells from `startCell` on,
/// written to `freeMems`; returns how many.
///
/// # Safety
/// `freeMems` must be NULL or have room for `maxCells` values.
#[no_mangle]
pub unsafe extern "C" fn virNodeGetCellsFreeMemory(
    conn: virConnectPtr,
    freeMems: *mut c_ulonglong,
    startCell: c_int,
    maxCells: c_int,
) -> c_int {
    export!(|call| {
        let handle = call.connection(conn)?;
        let max_cells = usize::try_from(maxCells).ok().filter(|&n| n > 0);
        let max_cells = max_cells.ok_or_else(|| Error::not_positive_arg(call.function, "maxCells"))?;
        if freeMems.is_null() {
            return Err(Error::null_arg(call.function, "freeMems"));
        }
        let start_cell = usize::try_from(startCell).map_err(|_| Error::negative_arg(call.function, "startCell"))?;
        let cells = handle.conn.driver.cells_free_memory(start_cell, max_cells)?;
        for (i, &free) in cells.iter().take(max_cells).enumerate() {
            let slot = freeMems.wrapping_add(i);
            // SAFETY: `i < maxCells`, within the caller's array per the contract.
            unsafe { slot.write_unaligned(free) };
        }
        Ok(cells.len().min(max_cells) as c_int)
    })
}

/// The scheduler's name, for the caller to `free()`; its number of
/// parameters written to `nparams` when not NULL.
///
/// # Safety
/// `nparams` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetSchedulerType(domain: virDomainPtr, nparams: *mut c_int) -> *mut c_char {
    export!(|call| {
        let handle = call.domain(domain)?;
        let (name, count) = handle.conn().conn.driver.scheduler_type(&handle.identity)?;
        if !nparams.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *nparams = count };
        }
        Ok(strings::to_malloced(&name))
    })
}

/// The scheduler's parameters, written to the caller's `params` of
/// `*nparams` entries; `*nparams` becomes how many were written.
///
/// # Safety
/// `params` must be NULL or have room for `*nparams` parameters; `nparams`
/// NULL or readable and writable.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetSchedulerParameters(
    domain: virDomainPtr,
    params: virTypedParameterPtr,
    nparams: *mut c_int,
) -> c_int {
    // SAFETY: the caller's contract, passed on.
    export!(|call| unsafe { scheduler_parameters(call, domain, params, nparams, None) })
}

/// `virDomainGetSchedulerParameters` with flags (`VIR_DOMAIN_AFFECT_*`).
///
/// # Safety
/// As `virDomainGetSchedulerParameters`.
#[no_mangle]
pub unsafe extern "C" fn virDomainGetSchedulerParametersFlags(
    domain: virDomainPtr,
    params: virTypedParameterPtr,
    nparams: *mut c_int,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's contract, passed on.
    export!(|call| unsafe { scheduler_parameters(call, domain, params, nparams, Some(flags)) })
}

/// Both scheduler getters: `flags` is `None` for the one without.
///
/// # Safety
/// As `virDomainGetSchedulerParameters`.
unsafe fn scheduler_parameters(
    call: &mut Call,
    domain: virDomainPtr,
    params: virTypedParameterPtr,
    nparams: *mut c_int,
    flags: Option<c_uint>,
) -> Result<c_int> {
    let handle = call.domain(domain)?;
    if params.is_null() {
        return Err(Error::null_arg(call.function, "params"));
    }
    if nparams.is_null() {
        return Err(Error::null_arg(call.function, "nparams"));
    }
    // SAFETY: non-NULL and readable per the contract.
    let room = usize::try_from(unsafe { *nparams }).ok().filter(|&n| n > 0);
    let room = room.ok_or_else(|| Error::not_positive_arg(call.function, "*nparams"))?;
    let flags = match flags {
        Some(flags) => crate::driver::params::scheduler_getter_flags(call.function, flags)?,
        None => 0,
    };
    let found = handle.conn().conn.driver.scheduler_parameters(&handle.identity, flags, room, call.function)?;
    // SAFETY: `params` has room for `room` parameters per the contract.
    let written = unsafe { typed_params::write_params(&found, params, room) };
    // SAFETY: non-NULL and writable per the contract.
    unsafe { *nparams = written as c_int };
    Ok(0)
}

/// Sets the scheduler's parameters.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters.
#[no_mangle]
pub unsafe extern "C" fn virDomainSetSchedulerParameters(
    domain: virDomainPtr,
    params: virTypedParameterPtr,
    nparams: c_int,
) -> c_int {
    // SAFETY: the caller's contract, passed on.
    export!(|call| unsafe { set_scheduler_parameters(call, domain, params, nparams, 0) })
}

/// `virDomainSetSchedulerParameters` with flags (`VIR_DOMAIN_AFFECT_*`).
///
/// # Safety
/// As `virDomainSetSchedulerParameters`.
#[no_mangle]
pub unsafe extern "C" fn virDomainSetSchedulerParametersFlags(
    domain: virDomainPtr,
    params: virTypedParameterPtr,
    nparams: c_int,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's contract, passed on.
    export!(|call| unsafe { set_scheduler_parameters(call, domain, params, nparams, flags) })
}

/// Both scheduler setters: the one without flags passes 0.
///
/// # Safety
/// As `virDomainSetSchedulerParameters`.
unsafe fn set_scheduler_parameters(
    call: &mut Call,
    domain: virDomainPtr,
    params: virTypedParameterPtr,
    nparams: c_int,
    flags: c_uint,
) -> Result<c_int> {
    let handle = call.domain(domain)?;
    check_writable(handle.conn(), call.function, ErrorDomain::VIR_FROM_DOMAIN)?;
    if params.is_null() {
        return Err(Error::null_arg(call.function, "params"));
    }
    let count = usize::try_from(nparams).map_err(|_| Error::negative_arg(call.function, "nparams"))?;
    // SAFETY: `params` points to `nparams` parameters per the contract.
    let given = unsafe { typed_params::read_params(params, count) }?;
    handle.conn().conn.driver.set_scheduler_parameters(&handle.identity, &given, flags, call.function)?;
    Ok(0)
}

/// Up to `nr_stats` of the domain's memory statistics, written to `stats`;
/// returns how many. Without room for any, 0 and no question asked.
///
/// # Safety
/// `stats` must be NULL or have room for `nr_stats` statistics.
#[no_mangle]
pub unsafe extern "C" fn virDomainMemoryStats(
    dom: virDomainPtr,
    stats: virDomainMemoryStatPtr,
    nr_stats: c_uint,
    flags: c_uint,
) -> c_int {
    export!(|call| {
        let handle = call.domain(dom)?;
        if stats.is_null() || nr_stats == 0 {
            return Ok(0);
        }
        let max = (nr_stats as usize).min(crate::driver::MEMORY_STAT_NR);
        let found = handle.conn().conn.driver.memory_stats(&handle.identity, max, flags)?;
        for (i, &(tag, val)) in found.iter().take(max).enumerate() {
            let slot = stats.wrapping_add(i);
            // SAFETY: `i < nr_stats`, within the caller's array per the contract.
            unsafe { slot.write_unaligned(virDomainMemoryStatStruct { tag, val }) };
        }
        Ok(found.len().min(max) as c_int)
    })
}

/// The checks of the statistics functions: the device and the record must
/// not be NULL, the record's size not beyond libvirt's; then the device's
/// name.
///
/// # Safety
/// `device` must be NULL or a C string.
unsafe fn stats_arguments<'a, T>(
    function: &str,
    (device_name, device): (&str, *const c_char),
    stats: *mut T,
    size: usize,
) -> Result<std::borrow::Cow<'a, str>> {
    // SAFETY: NULL or a C string per the contract.
    let device = unsafe { strings::borrow(device) }.ok_or_else(|| Error::null_arg(function, device_name))?;
    if stats.is_null() {
        return Err(Error::null_arg(function, "stats"));
    }
    let most = std::mem::size_of::<T>();
    if size > most {
        return Err(Error::arg_check(function, "size", format!("size must not exceed {most}")));
    }
    Ok(device)
}

/// Copies the first `size` bytes of `record` (no more than its size, checked
/// by `stats_arguments`) to the caller's: a caller built against an older,
/// shorter record gets its fields only.
///
/// # Safety
/// `to` must have room for `size` bytes, `size` at most `T`'s size.
unsafe fn copy_record<T>(record: &T, to: *mut T, size: usize) {
    // SAFETY: `size` bytes fit both, per the contract and the check.
    unsafe { std::ptr::copy_nonoverlapping((record as *const T).cast::<u8>(), to.cast::<u8>(), size) };
}

/// A disk's I/O statistics, `size` bytes of them written to `stats`.
///
/// # Safety
/// `disk` must be NULL or a C string, `stats` NULL or room for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn virDomainBlockStats(
    dom: virDomainPtr,
    disk: *const c_char,
    stats: virDomainBlockStatsPtr,
    size: usize,
) -> c_int {
    export!(|call| {
        let handle = call.domain(dom)?;
        // SAFETY: the caller's contract, passed on.
        let disk = unsafe { stats_arguments(call.function, ("disk", disk), stats, size) }?;
        let found = handle.conn().conn.driver.block_stats(&handle.identity, &disk)?;
        let record = virDomainBlockStatsStruct {
            rd_req: found.rd_req,
            rd_bytes: found.rd_bytes,
            wr_req: found.wr_req,
            wr_bytes: found.wr_bytes,
            errs: found.errs,
        };
        // SAFETY: room for `size` bytes per the contract, no more than the record's.
        unsafe { copy_record(&record, stats, size) };
        Ok(0)
    })
}

/// An interface's traffic statistics, `size` bytes of them written to
/// `stats`.
///
/// # Safety
/// `device` must be NULL or a C string, `stats` NULL or room for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn virDomainInterfaceStats(
    dom: virDomainPtr,
    device: *const c_char,
    stats: virDomainInterfaceStatsPtr,
    size: usize,
) -> c_int {
    export!(|call| {
        let handle = call.domain(dom)?;
        // SAFETY: the caller's contract, passed on.
        let device = unsafe { stats_arguments(call.function, ("device", device), stats, size) }?;
        let found = handle.conn().conn.driver.interface_stats(&handle.identity, &device)?;
        let record = virDomainInterfaceStatsStruct {
            rx_bytes: found.rx_bytes,
            rx_packets: found.rx_packets,
            rx_errs: found.rx_errs,
            rx_drop: found.rx_drop,
            tx_bytes: found.tx_bytes,
            tx_packets: found.tx_packets,
            tx_errs: found.tx_errs,
            tx_drop: found.tx_drop,
        };
        // SAFETY: room for `size` bytes per the contract, no more than the record's.
        unsafe { copy_record(&record, stats, size) };
        Ok(0)
    })
}
