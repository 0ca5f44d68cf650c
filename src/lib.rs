//! virt-events: libvirt's domain-event surface as a drop-in `libvirt.so.0`.
//!
//! The core (events, event loop, drivers) is plain safe Rust; `capi` is the
//! thin C ABI layer that checks arguments, reports libvirt-style errors and
//! converts pointers; `sys` wraps the system calls. Only those two may use
//! `unsafe`, which the compiler enforces.

#![deny(unsafe_code)]

// The modules are the crate's own: what a C program sees is the exported
// functions (`#[no_mangle]`) and the generated headers; what Rust outside the
// library needs has a named door below. So the compiler's dead-code lint sees
// the whole crate.
// The C declarations the headers are generated from: C programs use all of
// them, the Rust code only some.
#[allow(dead_code)]
pub(crate) mod abi;
#[allow(unsafe_code)]
pub(crate) mod capi;
pub(crate) mod connection;
pub(crate) mod driver;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod eventloop;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod rpc;
#[allow(unsafe_code)]
mod sys;
pub(crate) mod uuid;
pub(crate) mod xml;

/// What `virt-eventsd` (src/bin) builds on: the RPC server over the drivers,
/// the built-in event loop the drivers flush their events on, and SIGTERM and
/// SIGINT as a readable socket.
pub mod daemon {
    pub use crate::eventloop::default_loop::DefaultLoop;
    pub use crate::eventloop::register as register_event_loop;
    pub use crate::rpc::server::{Server, ServerConfig};
    pub use crate::sys::termination_signals;
}

/// The integration tests' door into the crate (not an API): the exported C
/// functions, callable from Rust, with the ABI types they take, and the
/// pieces the tests drive directly (the QMP codec and event mapping, the RPC
/// codec, a fault-injection hook).
#[doc(hidden)]
pub mod testing {
    pub use crate::abi::common::{virConnectPtr, virDomainInfo, virDomainPtr};
    pub use crate::abi::domain_event::{virDomainEventGraphicsAddress, virDomainEventGraphicsSubject};
    pub use crate::abi::typed_params::{virTypedParameterPtr, virTypedParameterType};
    pub use crate::capi::connect::*;
    pub use crate::capi::domain::*;
    pub use crate::capi::error::*;
    pub use crate::capi::eventloop::*;
    pub use crate::capi::events::*;
    pub use crate::capi::qemu::*;
    pub use crate::connection::Connection;
    pub use crate::driver::qemu::testing::panic_on_qmp_event;
    pub use crate::driver::qemu::{mapping, qmp};
    pub use crate::driver::remote::CloseCallback;
    pub use crate::error::{ErrorCode, ErrorDomain};
    pub use crate::event::state::{EventCallback, Subscription};
    pub use crate::event::{Event, EventClass, ObjectIdentity};
    pub use crate::event::{EventPayload, GraphicsAddress, TypedParam, TypedValue};
    pub use crate::eventloop::default_loop::DefaultLoop;
    pub use crate::eventloop::register as register_event_loop;
    pub use crate::rpc::{packet, protocol, xdr};
    pub use crate::uuid::Uuid;
}
