//! The record behind a last error, per thread or per connection: a
//! `virError` whose strings this library owns.

use std::os::raw::{c_char, c_int};
use std::ptr;

use super::strings;
use crate::abi::error::{virError, virErrorLevel, virErrorNumber, virErrorPtr};
use crate::error::Error;

/// A `virError` whose strings this library allocated with `malloc`.
pub(crate) struct ErrorRecord(pub(super) virError);

// SAFETY: the record's pointers are either NULL or strings it owns; the
// connection and domain pointers are always NULL.
unsafe impl Send for ErrorRecord {}

impl Default for ErrorRecord {
    fn default() -> Self {
        ErrorRecord(empty_error())
    }
}

impl ErrorRecord {
    pub(super) fn set(&mut self, error: &Error) {
        clear(&mut self.0);
        let dup = |s: &Option<String>| s.as_deref().map_or(ptr::null_mut(), strings::to_malloced);
        self.0.code = error.code as c_int;
        self.0.domain = error.domain as c_int;
        self.0.message = strings::to_malloced(&error.message);
        self.0.level = virErrorLevel::VIR_ERR_ERROR;
        self.0.str1 = dup(&error.str1);
        self.0.str2 = dup(&error.str2);
        self.0.int1 = error.int1;
        // libvirt's reporting paths fill both integers alike (-1, or 0 for
        // argument checks).
        self.0.int2 = error.int1;
    }

    pub(super) fn is_set(&self) -> bool {
        self.0.code != virErrorNumber::VIR_ERR_OK as c_int
    }

    pub(super) fn as_ptr(&mut self) -> virErrorPtr {
        if self.is_set() {
            &mut self.0
        } else {
            ptr::null_mut()
        }
    }

    pub(super) fn reset(&mut self) {
        clear(&mut self.0);
    }
}

impl Drop for ErrorRecord {
    fn drop(&mut self) {
        clear(&mut self.0);
    }
}

fn empty_error() -> virError {
    virError {
        code: 0,
        domain: 0,
        message: ptr::null_mut(),
        level: virErrorLevel::VIR_ERR_NONE,
        conn: ptr::null_mut(),
        dom: ptr::null_mut(),
        str1: ptr::null_mut(),
        str2: ptr::null_mut(),
        str3: ptr::null_mut(),
        int1: 0,
        int2: 0,
        net: ptr::null_mut(),
    }
}

/// Frees the strings of `err` and zeroes it.
pub(super) fn clear(err: &mut virError) {
    // Every API call resets the thread's error, usually empty: no call to
    // free(NULL) for each string.
    for s in [err.message, err.str1, err.str2, err.str3].into_iter().filter(|s| !s.is_null()) {
        // SAFETY: these strings were allocated with malloc (by this library,
        // or by an application following libvirt's rules).
        unsafe { libc::free(s.cast()) };
    }
    *err = empty_error();
}

/// Deep-copies `from` into `to` (which must hold no strings of its own).
pub(super) fn copy(from: &virError, to: &mut virError) {
    let dup = |s: *mut c_char| {
        if s.is_null() {
            ptr::null_mut()
        } else {
            // SAFETY: non-NULL error strings are NUL-terminated.
            unsafe { libc::strdup(s) }
        }
    };
    *to = virError {
        message: dup(from.message),
        str1: dup(from.str1),
        str2: dup(from.str2),
        str3: dup(from.str3),
        conn: ptr::null_mut(),
        dom: ptr::null_mut(),
        net: ptr::null_mut(),
        ..*from
    };
}
