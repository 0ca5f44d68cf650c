//! Thin safe wrappers around the system calls the safe code needs.

pub mod rpc_io;
