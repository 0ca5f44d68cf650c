//! C strings crossing the boundary: borrowed in, `malloc`ed out (callers
//! release what we return with `free()`, as libvirt documents).

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_uchar};

use crate::error::{Error, ErrorDomain, Result};
use crate::uuid::{Uuid, UUID_BUFLEN};

/// Borrows a C string; `None` for NULL. Invalid UTF-8 is replaced, since
/// names and URIs are compared as text.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string valid for the call.
pub(crate) unsafe fn borrow<'a>(ptr: *const c_char) -> Option<std::borrow::Cow<'a, str>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    Some(unsafe { CStr::from_ptr(ptr) }.to_string_lossy())
}

/// A `malloc`ed copy of `text` for the caller to `free()`; interior NULs end
/// the string. NULL only if memory is exhausted.
pub(crate) fn to_malloced(text: &str) -> *mut c_char {
    let c = CString::new(text.split('\0').next().unwrap_or_default()).unwrap_or_default();
    // SAFETY: `c` is a valid NUL-terminated string; strdup copies it.
    unsafe { libc::strdup(c.as_ptr()) }
}

/// A Rust-owned C string for the duration of a callback.
pub(crate) fn owned(text: &str) -> CString {
    CString::new(text.split('\0').next().unwrap_or_default()).unwrap_or_default()
}

/// Writes the 16 raw bytes of `uuid` to `out` for `function`, whose NULL
/// argument check reports `domain`.
///
/// # Safety
/// `out` must be NULL or point to `VIR_UUID_BUFLEN` writable bytes.
pub(crate) unsafe fn write_uuid(uuid: &Uuid, out: *mut c_uchar, function: &str, domain: ErrorDomain) -> Result<c_int> {
    if out.is_null() {
        return Err(Error::null_arg(function, "uuid").in_domain(domain));
    }
    // SAFETY: the caller provides VIR_UUID_BUFLEN writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(uuid.0.as_ptr(), out, UUID_BUFLEN) };
    Ok(0)
}

/// Writes `uuid` as text (36 characters and a NUL) to `buf` for `function`.
///
/// # Safety
/// `buf` must be NULL or point to `VIR_UUID_STRING_BUFLEN` writable bytes.
pub(crate) unsafe fn write_uuid_string(
    uuid: &Uuid,
    buf: *mut c_char,
    function: &str,
    domain: ErrorDomain,
) -> Result<c_int> {
    if buf.is_null() {
        return Err(Error::null_arg(function, "buf").in_domain(domain));
    }
    let text = owned(&uuid.to_string());
    let bytes = text.as_bytes_with_nul();
    // SAFETY: 36 characters and a NUL fit the caller's 37-byte buffer.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().cast(), buf, bytes.len()) };
    Ok(0)
}
