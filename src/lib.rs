//! virt-events: libvirt's domain-event surface as a drop-in `libvirt.so.0`.
//!
//! The core (events, event loop, drivers) is plain safe Rust; `capi` is the
//! thin C ABI layer that checks arguments, reports libvirt-style errors and
//! converts pointers; `sys` wraps the system calls. Only those two may use
//! `unsafe`, which the compiler enforces.

#![deny(unsafe_code)]

pub mod abi;
// capi's blocks still group several operations under one SAFETY comment;
// its rewrite into typed handles and one export macro (issue 9) splits them.
#[allow(unsafe_code, clippy::multiple_unsafe_ops_per_block)]
pub mod capi;
pub mod connection;
pub mod driver;
pub mod error;
pub mod event;
pub mod eventloop;
#[doc(hidden)]
pub mod fuzzing;
#[allow(unsafe_code)]
mod sys;
pub mod uuid;
pub mod xml;
