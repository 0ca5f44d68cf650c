//! C strings crossing the boundary: borrowed in, `malloc`ed out (callers
//! release what we return with `free()`, as libvirt documents).

use std::ffi::{CStr, CString};
use std::os::raw::c_char;

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
