//! Typed parameters: the named, typed values TUNABLE and JOB_COMPLETED events
//! carry (`virTypedParameter`, 96 bytes on LP64).

use std::os::raw::{c_char, c_double, c_int, c_longlong, c_uint, c_ulonglong};

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum virTypedParameterType {
    VIR_TYPED_PARAM_INT = 1,
    VIR_TYPED_PARAM_UINT = 2,
    VIR_TYPED_PARAM_LLONG = 3,
    VIR_TYPED_PARAM_ULLONG = 4,
    VIR_TYPED_PARAM_DOUBLE = 5,
    VIR_TYPED_PARAM_BOOLEAN = 6,
    VIR_TYPED_PARAM_STRING = 7,
    #[cfg(feature = "enum_sentinels")]
    VIR_TYPED_PARAM_LAST = 8,
}

#[repr(C)]
pub enum virTypedParameterFlags {
    VIR_TYPED_PARAM_STRING_OKAY = 4,
}

/// The length of a parameter name, terminating NUL included.
pub const VIR_TYPED_PARAM_FIELD_LENGTH: usize = 80;

/// The value of a typed parameter; `type` says which member is set. (libvirt
/// declares this union anonymously inside the struct; the layout is the same.)
#[repr(C)]
#[derive(Clone, Copy)]
pub union _virTypedParameterValue {
    pub i: c_int,
    pub ui: c_uint,
    pub l: c_longlong,
    pub ul: c_ulonglong,
    pub d: c_double,
    pub b: c_char,
    /// Never NULL for a string parameter.
    pub s: *mut c_char,
}

/// A named parameter with its type and value.
#[repr(C)]
pub struct _virTypedParameter {
    /// The NUL-terminated name.
    pub field: [c_char; VIR_TYPED_PARAM_FIELD_LENGTH],
    /// A `virTypedParameterType`.
    pub r#type: c_int,
    pub value: _virTypedParameterValue,
}
pub type virTypedParameter = _virTypedParameter;
pub type virTypedParameterPtr = *mut virTypedParameter;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_libvirts() {
        assert_eq!(std::mem::size_of::<virTypedParameter>(), 96);
        assert_eq!(std::mem::align_of::<virTypedParameter>(), 8);
        assert_eq!(std::mem::offset_of!(virTypedParameter, r#type), 80);
        assert_eq!(std::mem::offset_of!(virTypedParameter, value), 88);
    }
}
