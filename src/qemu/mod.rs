//! The QEMU driver's monitor side: the QMP protocol and the mapping of QEMU's
//! events to libvirt domain events.

pub mod mapping;
pub mod qmp;

#[cfg(test)]
mod transcripts;
