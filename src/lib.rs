//! virt-events: libvirt's domain-event surface as a drop-in `libvirt.so.0`.
//!
//! The core (events, event loop, drivers) is plain safe Rust; `capi` is the
//! thin C ABI layer that checks arguments, reports libvirt-style errors and
//! converts pointers; `sys` wraps the system calls. Only those two may use
//! `unsafe`, which the compiler enforces.

#![deny(unsafe_code)]

pub mod abi;
#[allow(unsafe_code)]
pub mod capi;
pub mod connection;
pub mod driver;
pub mod error;
pub mod event;
pub mod eventloop;
#[doc(hidden)]
pub mod fuzzing;
pub mod rpc;
#[allow(unsafe_code)]
mod sys;
pub mod uuid;
pub mod xml;
