//! The host's name and the text of system error numbers, as libvirt reports
//! them.

use std::ffi::{CStr, CString};
use std::io;
use std::ptr;

/// The text strerror(3) gives for `errno` ("No such file or directory"),
/// which libvirt appends to its system errors.
pub fn error_text(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is writable for its length; the XSI strerror_r libc
    // exposes NUL-terminates what it writes, and the buffer starts zeroed.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: NUL-terminated within the buffer (see above).
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

/// The host's name as libvirt's `virGetHostname` gives it: the name
/// gethostname(2) returns when it has a dot, else the canonical name the
/// resolver gives for it, unless that is missing or `localhost`.
pub fn hostname() -> io::Result<String> {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is writable for one byte less than its length, so
    // a truncated name stays NUL-terminated by the zeroed last byte.
    super::check(unsafe { libc::gethostname(buf.as_mut_ptr(), buf.len() - 1) })?;
    // SAFETY: NUL-terminated within the buffer (see above).
    let short = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_owned();
    let name = short.to_string_lossy().into_owned();
    if name.contains('.') {
        return Ok(name);
    }
    Ok(canonical_name(&short).filter(|n| !n.starts_with("localhost")).unwrap_or(name))
}

/// getaddrinfo(3)'s canonical name for `host`, if the resolver knows it.
fn canonical_name(host: &CString) -> Option<String> {
    // SAFETY: all-zero is a valid addrinfo (null pointers, zero numbers).
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_family = libc::AF_UNSPEC;
    let mut list: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: `host` is NUL-terminated, `hints` initialised, `list` writable;
    // a successful call's list is freed below.
    if unsafe { libc::getaddrinfo(host.as_ptr(), ptr::null(), &hints, &mut list) } != 0 || list.is_null() {
        return None;
    }
    // SAFETY: a successful getaddrinfo returns a valid list, freed only below.
    let canon = unsafe { (*list).ai_canonname };
    // SAFETY: `ai_canonname` is NULL or NUL-terminated, and copied before
    // the list is freed.
    let name = (!canon.is_null()).then(|| unsafe { CStr::from_ptr(canon) }.to_string_lossy().into_owned());
    // SAFETY: the list getaddrinfo returned, freed once.
    unsafe { libc::freeaddrinfo(list) };
    name
}

/// A positive system constant from sysconf(3), `fallback` when it cannot tell.
fn system_constant(name: libc::c_int, fallback: u64) -> u64 {
    // SAFETY: sysconf reads a system constant and touches no memory of ours.
    let value = unsafe { libc::sysconf(name) };
    u64::try_from(value).ok().filter(|v| *v > 0).unwrap_or(fallback)
}

/// The system's page size in bytes (4096 when sysconf(3) cannot tell).
pub fn page_size() -> u64 {
    system_constant(libc::_SC_PAGESIZE, 4096)
}

/// Clock ticks per second, the unit of the CPU times in `/proc/PID/stat`
/// (100 when sysconf(3) cannot tell).
pub fn clock_ticks_per_second() -> u64 {
    system_constant(libc::_SC_CLK_TCK, 100)
}

/// What KVM answers `KVM_CHECK_EXTENSION` for `capability` on `kvm`, an
/// open `/dev/kvm`: 0 for a capability it lacks, a negative value on error.
pub fn kvm_check_extension(kvm: &std::fs::File, capability: libc::c_int) -> libc::c_int {
    use std::os::unix::io::AsRawFd;
    /// `_IO(KVMIO, 0x03)`, KVMIO being 0xAE.
    const KVM_CHECK_EXTENSION: libc::c_ulong = 0xAE03;
    // SAFETY: this ioctl takes its argument by value and writes no memory;
    // the descriptor is open for as long as `kvm` is borrowed.
    unsafe { libc::ioctl(kvm.as_raw_fd(), KVM_CHECK_EXTENSION, capability) }
}
