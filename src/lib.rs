//! virt-events: libvirt's domain-event surface as a drop-in `libvirt.so.0`.
//!
//! The core (events, event loop, drivers) is plain safe Rust; `capi` is the
//! thin C ABI layer that checks arguments, reports libvirt-style errors and
//! converts pointers.

pub mod abi;
pub mod capi;
pub mod connection;
pub mod driver;
pub mod error;
pub mod event;
pub mod eventloop;
pub mod qemu;
pub mod rpc;
pub mod sys;
pub mod uuid;
pub mod xml;
