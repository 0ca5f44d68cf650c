//! libvirt's RPC protocol: the XDR encoding, packet framing and the message
//! definitions virt-events speaks (`virt-eventsd` serves them).

pub mod client;
mod client_errors;
pub mod convert;
pub mod packet;
pub mod protocol;
pub mod server;
mod stream;
pub mod xdr;

/// For the daemon's main loop: SIGTERM and SIGINT as a readable socket.
pub use crate::sys::termination_signals;
