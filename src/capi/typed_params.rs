//! Typed-parameter accessors (`virTypedParamsGet*`, `...Add*`, `...Clear`, `...Free`), and
//! the C arrays that TUNABLE and JOB_COMPLETED callbacks receive.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_double, c_int, c_longlong, c_uint, c_ulonglong};
use std::ptr;

use super::export;
use crate::abi::typed_params::{
    _virTypedParameterValue, virTypedParameter, virTypedParameterPtr, virTypedParameterType as Type,
    VIR_TYPED_PARAM_FIELD_LENGTH,
};
use crate::driver::params::GivenParam;
use crate::error::{Error, ErrorDomain, Result};
use crate::event::{TypedParam, TypedValue};

/// libvirt's name for a parameter type, as its error messages show it.
fn type_name(kind: c_int) -> &'static str {
    match kind {
        0 => "unknown",
        1 => "int",
        2 => "uint",
        3 => "llong",
        4 => "ullong",
        5 => "double",
        6 => "boolean",
        7 => "string",
        _ => "(null)",
    }
}

/// The first parameter called `name`, or NULL. Reports no error.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string.
unsafe fn find(params: virTypedParameterPtr, nparams: c_int, name: *const c_char) -> virTypedParameterPtr {
    if params.is_null() || name.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: the caller guarantees `name` is a C string.
    let wanted = unsafe { CStr::from_ptr(name) }.to_bytes();
    // A negative count finds nothing (libvirt would scan past the array).
    for i in 0..usize::try_from(nparams).unwrap_or(0) {
        // SAFETY: `i < nparams`, within the caller's array.
        let param = unsafe { params.add(i) };
        // SAFETY: as above; `field` is a fixed-size array inside the element.
        let field = unsafe { &(*param).field };
        let len = field.iter().position(|&c| c == 0).unwrap_or(VIR_TYPED_PARAM_FIELD_LENGTH);
        // SAFETY: `len` bytes of `field` are initialized characters.
        let field = unsafe { std::slice::from_raw_parts(field.as_ptr() as *const u8, len) };
        if field == wanted {
            return param;
        }
    }
    ptr::null_mut()
}

/// Finds the parameter `name`; returns NULL when there is none (or when
/// `params` or `name` is NULL). Leaves the thread's last error alone.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsGet(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
) -> virTypedParameterPtr {
    // SAFETY: the caller's guarantees are `find`'s.
    export!(quiet || unsafe { find(params, nparams, name) })
}

/// The common body of the typed getters: 1 and the value through `store` when
/// `name` exists with type `kind`, 0 when it does not exist, -1 (an invalid
/// argument error) when its type differs.
///
/// # Safety
/// As `virTypedParamsGet`.
unsafe fn get(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
    kind: Type,
    store: impl FnOnce(&_virTypedParameterValue),
) -> Result<c_int> {
    // SAFETY: the caller's guarantees are `find`'s.
    let param = unsafe { find(params, nparams, name) };
    if param.is_null() {
        return Ok(0);
    }
    // SAFETY: `find` returned an element of the caller's array.
    let param = unsafe { &*param };
    if param.r#type != kind as c_int {
        // SAFETY: `find` only succeeds with a non-NULL C string `name`.
        let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
        return Err(Error::invalid_arg(
            ErrorDomain::VIR_FROM_NONE,
            format!(
                "Invalid type '{}' requested for parameter '{name}', actual type is '{}'",
                type_name(kind as c_int),
                type_name(param.r#type)
            ),
        ));
    }
    store(&param.value);
    Ok(1)
}

/// The body of the typed getter of `$kind` parameters: `$read` is the value
/// of the union `$union`, stored through `$value` unless it is NULL.
macro_rules! typed_getter {
    ($params:ident, $nparams:ident, $name:ident, $value:ident, $kind:ident, |$union:ident| $read:expr) => {
        export!(|_call| {
            // SAFETY: the caller's guarantees are `get`'s; the union member
            // read is the one the parameter's type says is set; `value` is
            // writable when not NULL.
            unsafe {
                get($params, $nparams, $name, Type::$kind, |$union| {
                    if !$value.is_null() {
                        *$value = $read;
                    }
                })
            }
        })
    };
}

/// The value of the `VIR_TYPED_PARAM_INT` parameter `name`.
/// Returns 1 when found (storing the value if `value` is not NULL), 0 when
/// there is no such parameter, -1 when it has another type.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsGetInt(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
    value: *mut c_int,
) -> c_int {
    typed_getter!(params, nparams, name, value, VIR_TYPED_PARAM_INT, |v| v.i)
}

/// The value of the `VIR_TYPED_PARAM_UINT` parameter `name`.
/// Returns 1 when found (storing the value if `value` is not NULL), 0 when
/// there is no such parameter, -1 when it has another type.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsGetUInt(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
    value: *mut c_uint,
) -> c_int {
    typed_getter!(params, nparams, name, value, VIR_TYPED_PARAM_UINT, |v| v.ui)
}

/// The value of the `VIR_TYPED_PARAM_LLONG` parameter `name`.
/// Returns 1 when found (storing the value if `value` is not NULL), 0 when
/// there is no such parameter, -1 when it has another type.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsGetLLong(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
    value: *mut c_longlong,
) -> c_int {
    typed_getter!(params, nparams, name, value, VIR_TYPED_PARAM_LLONG, |v| v.l)
}

/// The value of the `VIR_TYPED_PARAM_ULLONG` parameter `name`.
/// Returns 1 when found (storing the value if `value` is not NULL), 0 when
/// there is no such parameter, -1 when it has another type.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsGetULLong(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
    value: *mut c_ulonglong,
) -> c_int {
    typed_getter!(params, nparams, name, value, VIR_TYPED_PARAM_ULLONG, |v| v.ul)
}

/// The value of the `VIR_TYPED_PARAM_DOUBLE` parameter `name`.
/// Returns 1 when found (storing the value if `value` is not NULL), 0 when
/// there is no such parameter, -1 when it has another type.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsGetDouble(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
    value: *mut c_double,
) -> c_int {
    typed_getter!(params, nparams, name, value, VIR_TYPED_PARAM_DOUBLE, |v| v.d)
}

/// The value (0 or 1) of the `VIR_TYPED_PARAM_BOOLEAN` parameter `name`.
/// Returns 1 when found (storing the value if `value` is not NULL), 0 when
/// there is no such parameter, -1 when it has another type.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsGetBoolean(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
    value: *mut c_int,
) -> c_int {
    typed_getter!(params, nparams, name, value, VIR_TYPED_PARAM_BOOLEAN, |v| c_int::from(v.b != 0))
}

/// The value of the `VIR_TYPED_PARAM_STRING` parameter `name`: a pointer into
/// the array, valid as long as it is.
/// Returns 1 when found (storing the value if `value` is not NULL), 0 when
/// there is no such parameter, -1 when it has another type.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters; `name` must be NULL
/// or a C string; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsGetString(
    params: virTypedParameterPtr,
    nparams: c_int,
    name: *const c_char,
    value: *mut *const c_char,
) -> c_int {
    typed_getter!(params, nparams, name, value, VIR_TYPED_PARAM_STRING, |v| v.s as *const c_char)
}

/// Frees the strings of the string parameters (leaving NULL in their place);
/// the array itself stays.
///
/// # Safety
/// `params` must be NULL or point to `nparams` parameters whose strings were
/// allocated with `malloc`.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsClear(params: virTypedParameterPtr, nparams: c_int) {
    export!(
        quiet || {
            if params.is_null() {
                return;
            }
            for i in 0..usize::try_from(nparams).unwrap_or(0) {
                // SAFETY: `i < nparams`, within the caller's array.
                let param = unsafe { &mut *params.wrapping_add(i) };
                if param.r#type == Type::VIR_TYPED_PARAM_STRING as c_int {
                    // SAFETY: the type says the union holds the string.
                    let string = unsafe { param.value.s };
                    // SAFETY: string parameters own a malloc'ed string (or NULL).
                    unsafe { libc::free(string as *mut libc::c_void) };
                    param.value.s = ptr::null_mut();
                }
            }
        }
    )
}

/// Clears the parameters, then frees the (malloc'ed) array.
///
/// # Safety
/// As `virTypedParamsClear`; the array itself must come from `malloc`.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsFree(params: virTypedParameterPtr, nparams: c_int) {
    export!(
        quiet || {
            // SAFETY: the caller's guarantees are `virTypedParamsClear`'s.
            unsafe { virTypedParamsClear(params, nparams) };
            // SAFETY: the caller allocated the array with malloc (free(NULL) is fine).
            unsafe { libc::free(params as *mut libc::c_void) };
        }
    )
}

/// Appends the parameter `name` of type `kind` to the caller's array, as the
/// `virTypedParamsAdd*` functions do: `*params` (of `*maxparams` elements,
/// `*nparams` used) grows with `realloc` when full; the value is made once
/// the name is known to fit (`value` may fail, as parsing does). libvirt
/// allows a name more than once.
///
/// # Safety
/// `params`, `nparams` and `maxparams` must be NULL or writable, `*params` NULL
/// or a `malloc`ed array of `*maxparams` parameters; `name` NULL or a C string.
unsafe fn add(
    call: &mut super::Call,
    (params, nparams, maxparams): (*mut virTypedParameterPtr, *mut c_int, *mut c_int),
    name: *const c_char,
    kind: Type,
    value: impl FnOnce() -> Result<_virTypedParameterValue>,
) -> Result<c_int> {
    for (argument, missing) in
        [("params", params.is_null()), ("nparams", nparams.is_null()), ("maxparams", maxparams.is_null())]
    {
        if missing {
            return Err(Error::null_arg(call.function, argument).in_domain(ErrorDomain::VIR_FROM_NONE));
        }
    }
    // SAFETY: NULL or a C string per the contract.
    let field = unsafe { super::strings::borrow(name) }
        .ok_or_else(|| Error::null_arg(call.function, "name").in_domain(ErrorDomain::VIR_FROM_NONE))?;
    if field.len() >= VIR_TYPED_PARAM_FIELD_LENGTH {
        return Err(Error::internal(ErrorDomain::VIR_FROM_NONE, format!("Field name '{field}' too long")));
    }
    let value = value()?;
    // SAFETY: non-NULL (checked) and readable per the contract.
    let used = usize::try_from(unsafe { *nparams }).unwrap_or(0);
    // SAFETY: as above.
    let room = usize::try_from(unsafe { *maxparams }).unwrap_or(0);
    // SAFETY: as above.
    let mut array = unsafe { *params };
    if used + 1 > room {
        let size = std::mem::size_of::<virTypedParameter>() * (used + 1);
        // SAFETY: `array` is NULL or a malloc'ed array, per the contract.
        array = unsafe { libc::realloc(array.cast(), size) } as virTypedParameterPtr;
        if array.is_null() {
            return Err(Error::new(crate::error::ErrorCode::VIR_ERR_NO_MEMORY, ErrorDomain::VIR_FROM_NONE, None));
        }
        // SAFETY: writable per the contract; the old array now lives in `array`.
        unsafe { *params = array };
        // SAFETY: as above.
        unsafe { *maxparams = c_int::try_from(used + 1).unwrap_or(c_int::MAX) };
    }
    let mut param = virTypedParameter { field: [0; VIR_TYPED_PARAM_FIELD_LENGTH], r#type: kind as c_int, value };
    for (to, from) in param.field.iter_mut().zip(field.bytes()) {
        *to = from as c_char;
    }
    // SAFETY: the array has room for `used + 1` elements (grown above).
    unsafe { array.wrapping_add(used).write(param) };
    // SAFETY: writable per the contract.
    unsafe { *nparams += 1 };
    Ok(0)
}

/// A `malloc`ed copy of `value`, owned by the parameter; libvirt stores an
/// empty string for NULL.
///
/// # Safety
/// `value` must be NULL or a C string.
unsafe fn owned_string(value: *const c_char) -> _virTypedParameterValue {
    let value = if value.is_null() { c"".as_ptr() } else { value };
    // SAFETY: a C string per the contract (or the empty literal).
    _virTypedParameterValue { s: unsafe { libc::strdup(value) } }
}

/// Appends an `int` parameter.
///
/// # Safety
/// `params`, `nparams` and `maxparams` must be NULL or writable, `*params`
/// NULL or a `malloc`ed array of `*maxparams` parameters; `name` NULL or a C
/// string.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddInt(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    value: c_int,
) -> c_int {
    let value = _virTypedParameterValue { i: value };
    // SAFETY: the caller's guarantees are `add`'s.
    export!(|call| unsafe { add(call, (params, nparams, maxparams), name, Type::VIR_TYPED_PARAM_INT, || Ok(value)) })
}

/// Appends an `unsigned int` parameter.
///
/// # Safety
/// As `virTypedParamsAddInt`.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddUInt(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    value: c_uint,
) -> c_int {
    let value = _virTypedParameterValue { ui: value };
    // SAFETY: the caller's guarantees are `add`'s.
    export!(|call| unsafe { add(call, (params, nparams, maxparams), name, Type::VIR_TYPED_PARAM_UINT, || Ok(value)) })
}

/// Appends a `long long` parameter.
///
/// # Safety
/// As `virTypedParamsAddInt`.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddLLong(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    value: c_longlong,
) -> c_int {
    let value = _virTypedParameterValue { l: value };
    // SAFETY: the caller's guarantees are `add`'s.
    export!(|call| unsafe { add(call, (params, nparams, maxparams), name, Type::VIR_TYPED_PARAM_LLONG, || Ok(value)) })
}

/// Appends an `unsigned long long` parameter.
///
/// # Safety
/// As `virTypedParamsAddInt`.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddULLong(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    value: c_ulonglong,
) -> c_int {
    let value = _virTypedParameterValue { ul: value };
    // SAFETY: the caller's guarantees are `add`'s.
    export!(|call| unsafe { add(call, (params, nparams, maxparams), name, Type::VIR_TYPED_PARAM_ULLONG, || Ok(value)) })
}

/// Appends a `double` parameter.
///
/// # Safety
/// As `virTypedParamsAddInt`.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddDouble(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    value: c_double,
) -> c_int {
    let value = _virTypedParameterValue { d: value };
    // SAFETY: the caller's guarantees are `add`'s.
    export!(|call| unsafe { add(call, (params, nparams, maxparams), name, Type::VIR_TYPED_PARAM_DOUBLE, || Ok(value)) })
}

/// Appends a boolean parameter; any non-zero `value` is stored as 1.
///
/// # Safety
/// As `virTypedParamsAddInt`.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddBoolean(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    value: c_int,
) -> c_int {
    export!(|call| {
        let value = || Ok(_virTypedParameterValue { b: c_char::from(value != 0) });
        // SAFETY: the caller's guarantees are `add`'s.
        unsafe { add(call, (params, nparams, maxparams), name, Type::VIR_TYPED_PARAM_BOOLEAN, value) }
    })
}

/// Appends a string parameter holding a copy of `value`, which may be NULL.
///
/// # Safety
/// As `virTypedParamsAddInt`; `value` must be NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddString(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    export!(|call| {
        // SAFETY: NULL or a C string per the contract.
        let value = || Ok(unsafe { owned_string(value) });
        // SAFETY: the caller's guarantees are `add`'s.
        unsafe { add(call, (params, nparams, maxparams), name, Type::VIR_TYPED_PARAM_STRING, value) }
    })
}

/// Appends a string parameter `name` per string of the NULL-terminated `values`.
///
/// None when `values` is NULL.
///
/// # Safety
/// As `virTypedParamsAddString`; `values` must be NULL or a NULL-terminated
/// array of C strings.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddStringList(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    values: *mut *const c_char,
) -> c_int {
    export!(|call| {
        let mut next = values;
        // SAFETY: NULL, or a NULL-terminated array per the contract.
        while !next.is_null() && !unsafe { *next }.is_null() {
            // SAFETY: an element of the array, before its terminator.
            let string = unsafe { *next };
            // SAFETY: a C string of the array.
            let value = || Ok(unsafe { owned_string(string) });
            // SAFETY: the caller's guarantees are `add`'s.
            unsafe { add(call, (params, nparams, maxparams), name, Type::VIR_TYPED_PARAM_STRING, value) }?;
            next = next.wrapping_add(1);
        }
        Ok(0)
    })
}

/// Appends a parameter of type `type` whose value the text `value` spells.
///
/// Parsed as libvirt does: base-10 integers (leading blanks and a sign allowed, nothing
/// after, within the type's range; a negative unsigned wraps as `strtoul`
/// does), `strtod`'s doubles, booleans `1`, `0`, `true`, `false` (any case),
/// strings as they are.
///
/// # Safety
/// As `virTypedParamsAddString`.
#[no_mangle]
pub unsafe extern "C" fn virTypedParamsAddFromString(
    params: *mut virTypedParameterPtr,
    nparams: *mut c_int,
    maxparams: *mut c_int,
    name: *const c_char,
    r#type: c_int,
    value: *const c_char,
) -> c_int {
    export!(|call| {
        // SAFETY: NULL or a C string per the contract.
        let field = unsafe { super::strings::borrow(name) }.unwrap_or_default().into_owned();
        let kind = [
            Type::VIR_TYPED_PARAM_INT,
            Type::VIR_TYPED_PARAM_UINT,
            Type::VIR_TYPED_PARAM_LLONG,
            Type::VIR_TYPED_PARAM_ULLONG,
            Type::VIR_TYPED_PARAM_DOUBLE,
            Type::VIR_TYPED_PARAM_BOOLEAN,
            Type::VIR_TYPED_PARAM_STRING,
        ]
        .into_iter()
        .find(|kind| *kind as c_int == r#type)
        .ok_or_else(|| {
            Error::internal(ErrorDomain::VIR_FROM_NONE, format!("unexpected type {type} for field {field}"))
        })?;
        let parse = || {
            if kind == Type::VIR_TYPED_PARAM_STRING {
                // SAFETY: NULL or a C string per the contract.
                return Ok(unsafe { owned_string(value) });
            }
            // SAFETY: NULL or a C string per the contract.
            let text = unsafe { super::strings::borrow(value) }.unwrap_or_default();
            parse_value(kind, &text).ok_or_else(|| {
                let detail = match kind {
                    Type::VIR_TYPED_PARAM_BOOLEAN => format!("Invalid boolean value for field '{field}'"),
                    _ => format!("Invalid value for field '{field}': expected {}", expected_name(kind)),
                };
                Error::invalid_arg(ErrorDomain::VIR_FROM_NONE, detail)
            })
        };
        // SAFETY: the caller's guarantees are `add`'s.
        unsafe { add(call, (params, nparams, maxparams), name, kind, parse) }
    })
}

/// How libvirt's parse errors name a type.
fn expected_name(kind: Type) -> &'static str {
    match kind {
        Type::VIR_TYPED_PARAM_INT => "int",
        Type::VIR_TYPED_PARAM_UINT => "unsigned int",
        Type::VIR_TYPED_PARAM_LLONG => "long long",
        Type::VIR_TYPED_PARAM_ULLONG => "unsigned long long",
        _ => "double",
    }
}

/// `text` as a value of `kind` (not a string), as libvirt parses it.
fn parse_value(kind: Type, text: &str) -> Option<_virTypedParameterValue> {
    // strtol and friends skip leading white space.
    let number = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    Some(match kind {
        Type::VIR_TYPED_PARAM_INT => _virTypedParameterValue { i: number.parse().ok()? },
        Type::VIR_TYPED_PARAM_UINT => {
            let value = match number.strip_prefix('-') {
                Some(magnitude) => 0u32.wrapping_sub(magnitude.parse::<u32>().ok()?),
                None => number.parse().ok()?,
            };
            _virTypedParameterValue { ui: value }
        }
        Type::VIR_TYPED_PARAM_LLONG => _virTypedParameterValue { l: number.parse().ok()? },
        Type::VIR_TYPED_PARAM_ULLONG => {
            let value = match number.strip_prefix('-') {
                Some(magnitude) => 0u64.wrapping_sub(magnitude.parse::<u64>().ok()?),
                None => number.parse().ok()?,
            };
            _virTypedParameterValue { ul: value }
        }
        Type::VIR_TYPED_PARAM_DOUBLE => _virTypedParameterValue { d: parse_double(text)? },
        Type::VIR_TYPED_PARAM_BOOLEAN => {
            let value = match text {
                "1" => true,
                "0" => false,
                _ if text.eq_ignore_ascii_case("true") => true,
                _ if text.eq_ignore_ascii_case("false") => false,
                _ => return None,
            };
            _virTypedParameterValue { b: c_char::from(value) }
        }
        Type::VIR_TYPED_PARAM_STRING => return None,
    })
}

/// `text` as `strtod` reads it (hexadecimal, `inf` and `nan` included),
/// when it is all a number.
fn parse_double(text: &str) -> Option<f64> {
    let text = CString::new(text).ok()?;
    let mut end: *mut c_char = ptr::null_mut();
    // SAFETY: a C string, and a place for the end pointer.
    let value = unsafe { libc::strtod(text.as_ptr(), &mut end) };
    let consumed = (end as usize).wrapping_sub(text.as_ptr() as usize);
    let all = text.as_bytes().len();
    (consumed == all && all > 0 && value.is_finite()).then_some(value)
}

/// `param` in C, its string value (if any) placed by `string`.
fn c_param(param: &TypedParam, string: impl FnOnce(&str) -> *mut c_char) -> virTypedParameter {
    let mut field = [0 as c_char; VIR_TYPED_PARAM_FIELD_LENGTH];
    // Names longer than the field are cut, keeping the final NUL.
    for (dst, &src) in field.iter_mut().zip(param.name.as_bytes().iter().take(VIR_TYPED_PARAM_FIELD_LENGTH - 1)) {
        *dst = src as c_char;
    }
    let (kind, value) = match &param.value {
        TypedValue::Int(i) => (Type::VIR_TYPED_PARAM_INT, _virTypedParameterValue { i: *i }),
        TypedValue::UInt(ui) => (Type::VIR_TYPED_PARAM_UINT, _virTypedParameterValue { ui: *ui }),
        TypedValue::LLong(l) => (Type::VIR_TYPED_PARAM_LLONG, _virTypedParameterValue { l: *l }),
        TypedValue::ULLong(ul) => (Type::VIR_TYPED_PARAM_ULLONG, _virTypedParameterValue { ul: *ul }),
        TypedValue::Double(d) => (Type::VIR_TYPED_PARAM_DOUBLE, _virTypedParameterValue { d: *d }),
        TypedValue::Boolean(b) => (Type::VIR_TYPED_PARAM_BOOLEAN, _virTypedParameterValue { b: *b as u8 as c_char }),
        TypedValue::String(s) => (Type::VIR_TYPED_PARAM_STRING, _virTypedParameterValue { s: string(s) }),
    };
    virTypedParameter { field, r#type: kind as c_int, value }
}

/// Writes `params` into the caller's array of `room` parameters (as many as
/// fit), their strings `malloc`ed for the caller to free
/// (`virTypedParamsClear`); returns how many it wrote.
///
/// # Safety
/// `array` must point to `room` writable parameters.
pub(crate) unsafe fn write_params(params: &[TypedParam], array: virTypedParameterPtr, room: usize) -> usize {
    let written = params.len().min(room);
    for (i, param) in params.iter().take(written).enumerate() {
        let param = c_param(param, super::strings::to_malloced);
        let slot = array.wrapping_add(i);
        // SAFETY: `i < room`, within the caller's array.
        unsafe { slot.write_unaligned(param) };
    }
    written
}

/// The caller's `count` parameters, checked as libvirt's public setters
/// check them (`virTypedParameterValidateSet`): every name must end within
/// its field. A string's NULL value reads as empty.
///
/// # Safety
/// `params` must point to `count` readable parameters whose string values
/// are NULL or C strings.
pub(crate) unsafe fn read_params(params: virTypedParameterPtr, count: usize) -> Result<Vec<GivenParam>> {
    let mut given = Vec::with_capacity(count);
    for i in 0..count {
        let slot = params.wrapping_add(i);
        // SAFETY: `i < count`, within the caller's array.
        let param = unsafe { slot.read_unaligned() };
        let field: Vec<u8> = param.field.iter().map(|&c| c as u8).collect();
        let Some(len) = field.iter().position(|&c| c == 0) else {
            let name = String::from_utf8_lossy(&field);
            let message = format!("string parameter name '{name}' too long");
            return Err(Error::arg_check("virTypedParameterValidateSet", "params", message)
                .in_domain(ErrorDomain::VIR_FROM_NONE));
        };
        let name = String::from_utf8_lossy(&field[..len]).into_owned();
        let value = param.value;
        // Each arm reads the union member `type` names.
        let value = match param.r#type {
            // SAFETY: an int parameter.
            1 => Ok(TypedValue::Int(unsafe { value.i })),
            // SAFETY: an unsigned int parameter.
            2 => Ok(TypedValue::UInt(unsafe { value.ui })),
            // SAFETY: a long long parameter.
            3 => Ok(TypedValue::LLong(unsafe { value.l })),
            // SAFETY: an unsigned long long parameter.
            4 => Ok(TypedValue::ULLong(unsafe { value.ul })),
            // SAFETY: a double parameter.
            5 => Ok(TypedValue::Double(unsafe { value.d })),
            // SAFETY: a boolean parameter.
            6 => Ok(TypedValue::Boolean(unsafe { value.b } != 0)),
            7 => {
                // SAFETY: a string parameter.
                let text = unsafe { value.s };
                // SAFETY: NULL or a C string per the contract.
                Ok(TypedValue::String(unsafe { super::strings::borrow(text) }.unwrap_or_default().into_owned()))
            }
            unknown => Err(unknown),
        };
        given.push(GivenParam { name, value });
    }
    Ok(given)
}

/// A C array of typed parameters built from an event's, with the strings it
/// points to; it lives for the duration of a callback.
pub(crate) struct CTypedParams {
    array: Vec<virTypedParameter>,
    _strings: Vec<CString>,
}

impl CTypedParams {
    pub(crate) fn new(params: &[TypedParam]) -> CTypedParams {
        let mut strings = Vec::new();
        let array = params
            .iter()
            .map(|p| {
                c_param(p, |s| {
                    let text = super::strings::owned(s);
                    let pointer = text.as_ptr() as *mut c_char;
                    strings.push(text);
                    pointer
                })
            })
            .collect();
        CTypedParams { array, _strings: strings }
    }

    /// The array (NULL when empty) and its length.
    pub(crate) fn as_c(&mut self) -> (virTypedParameterPtr, c_int) {
        let ptr = if self.array.is_empty() { ptr::null_mut() } else { self.array.as_mut_ptr() };
        (ptr, self.array.len() as c_int)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_arrays_read_back_through_the_getters() {
        let params = vec![
            TypedParam::new("cpu_shares", TypedValue::ULLong(1024)),
            TypedParam::new("ok", TypedValue::Boolean(true)),
            TypedParam::new("name", TypedValue::String("vda".into())),
            TypedParam::new("ratio", TypedValue::Double(0.5)),
        ];
        let mut array = CTypedParams::new(&params);
        let (ptr, n) = array.as_c();
        assert_eq!(n, 4);
        let name = |s: &str| CString::new(s).unwrap();
        let (mut ul, mut b, mut s, mut d, mut i) = (0u64, 0, ptr::null(), 0.0, 0);
        // In each call: `ptr` holds `n` parameters; the names are C strings;
        // the outputs are writable.
        // SAFETY: as said above.
        assert_eq!(unsafe { virTypedParamsGetULLong(ptr, n, name("cpu_shares").as_ptr(), &mut ul) }, 1);
        // SAFETY: as said above.
        assert_eq!(unsafe { virTypedParamsGetBoolean(ptr, n, name("ok").as_ptr(), &mut b) }, 1);
        // SAFETY: as said above.
        assert_eq!(unsafe { virTypedParamsGetString(ptr, n, name("name").as_ptr(), &mut s) }, 1);
        // SAFETY: as said above.
        assert_eq!(unsafe { virTypedParamsGetDouble(ptr, n, name("ratio").as_ptr(), &mut d) }, 1);
        // SAFETY: as said above.
        assert_eq!(unsafe { virTypedParamsGetInt(ptr, n, name("missing").as_ptr(), &mut i) }, 0);
        // SAFETY: as said above.
        assert_eq!(unsafe { virTypedParamsGetInt(ptr, -1, name("ok").as_ptr(), &mut i) }, 0);
        // SAFETY: as said above.
        assert!(unsafe { virTypedParamsGet(ptr, n, ptr::null()) }.is_null());
        // SAFETY: the string parameter's value, owned by the array.
        assert_eq!(unsafe { CStr::from_ptr(s) }.to_str(), Ok("vda"));
        assert_eq!((ul, b, d), (1024, 1, 0.5));
        assert_eq!(type_name(0), "unknown");
        assert_eq!(type_name(42), "(null)");
        assert_eq!(CTypedParams::new(&[]).as_c(), (ptr::null_mut(), 0));
    }
}
