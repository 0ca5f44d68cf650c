//! How a public function the library does not implement answers: as
//! libvirt's drivers do when they lack the operation. The generated exports
//! of `unsupported.rs` call `refuse` with the function's object argument,
//! its family's error domain and the checks libvirt makes before asking the
//! driver, in libvirt's order:
//!
//! 1. the object pointer: a live handle of its class, or libvirt's
//!    "invalid ... pointer" error for that class (pointers of classes the
//!    library never creates are never live, and never dereferenced);
//! 2. the read-only check, for functions that change something;
//! 3. the arguments that must not be NULL;
//! 4. `VIR_ERR_NO_SUPPORT`: "this function is not supported by the
//!    connection driver: NAME".

use std::os::raw::c_void;

use super::handles::ConnHandle;
use super::{check_writable, Call};
use crate::abi::error::virErrorNumber as ErrorCode;
use crate::error::{Error, ErrorDomain, Result};
use crate::event::EventClass;

/// The object classes of libvirt the library never creates.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ForeignClass {
    StorageVol,
    Interface,
    DomainCheckpoint,
    NWFilter,
    NWFilterBinding,
    NetworkPort,
    Stream,
}

impl ForeignClass {
    /// libvirt's error for a pointer that is not a live object of the class.
    fn invalid_pointer(self) -> (ErrorCode, ErrorDomain) {
        use ErrorCode::*;
        use ErrorDomain::*;
        match self {
            ForeignClass::StorageVol => (VIR_ERR_INVALID_STORAGE_VOL, VIR_FROM_STORAGE),
            ForeignClass::Interface => (VIR_ERR_INVALID_INTERFACE, VIR_FROM_INTERFACE),
            ForeignClass::DomainCheckpoint => (VIR_ERR_INVALID_DOMAIN_CHECKPOINT, VIR_FROM_DOMAIN_CHECKPOINT),
            ForeignClass::NWFilter => (VIR_ERR_INVALID_NWFILTER, VIR_FROM_NWFILTER),
            ForeignClass::NWFilterBinding => (VIR_ERR_INVALID_NWFILTER_BINDING, VIR_FROM_NWFILTER),
            ForeignClass::NetworkPort => (VIR_ERR_INVALID_NETWORK_PORT, VIR_FROM_NETWORK),
            ForeignClass::Stream => (VIR_ERR_INVALID_STREAM, VIR_FROM_STREAMS),
        }
    }
}

/// The object a function works on: its first argument.
pub(crate) enum Target {
    /// A function of no object (its arguments are checked, then refused).
    None,
    Connection(*mut c_void),
    Domain(*mut c_void),
    Network(*mut c_void),
    StoragePool(*mut c_void),
    NodeDevice(*mut c_void),
    Secret(*mut c_void),
    /// An object of a class the library never creates: never live.
    Foreign(ForeignClass),
}

/// A check libvirt makes between the object pointer and the driver.
pub(crate) enum Check {
    /// The function changes something: refused on a read-only connection.
    ReadOnly,
    /// The argument must not be NULL: its name, and whether it is.
    NonNull(&'static str, bool),
}

/// Refuses the call as libvirt does when the connection's driver lacks the
/// function (see the module's documentation); `family` is the error domain
/// of the function's source file in libvirt.
pub(crate) fn refuse<T>(call: &mut Call, target: Target, family: ErrorDomain, checks: &[Check]) -> Result<T> {
    let conn = match target {
        Target::None => None,
        Target::Connection(ptr) => {
            let conn = ConnHandle::check(ptr, call.function, family)?;
            call.conn = Some(conn.clone());
            Some(conn)
        }
        Target::Domain(ptr) => Some(call.domain(ptr.cast())?.conn().clone()),
        Target::Network(ptr) => Some(call.object(ptr, EventClass::Network)?.conn().clone()),
        Target::StoragePool(ptr) => Some(call.object(ptr, EventClass::StoragePool)?.conn().clone()),
        Target::NodeDevice(ptr) => Some(call.object(ptr, EventClass::NodeDevice)?.conn().clone()),
        Target::Secret(ptr) => Some(call.object(ptr, EventClass::Secret)?.conn().clone()),
        Target::Foreign(class) => {
            let (code, domain) = class.invalid_pointer();
            return Err(Error::new(code, domain, Some(call.function.to_string())));
        }
    };
    for check in checks {
        match *check {
            Check::ReadOnly => {
                if let Some(conn) = &conn {
                    check_writable(conn, call.function, family)?;
                }
            }
            Check::NonNull(argument, true) => {
                return Err(Error::null_arg(call.function, argument).in_domain(family));
            }
            Check::NonNull(_, false) => {}
        }
    }
    Err(Error::no_support(family, call.function))
}

/// A `void` function releasing records the library never hands out: NULL,
/// as libvirt accepts it, is nothing to do; anything else is not one of
/// ours, and is left alone.
pub(crate) fn release_foreign(call: &mut Call, record: *mut c_void) -> Result<()> {
    if record.is_null() {
        return Ok(());
    }
    Err(Error::no_support(ErrorDomain::VIR_FROM_NONE, call.function))
}
