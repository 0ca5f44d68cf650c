//! libvirt's RPC protocol: the XDR encoding, packet framing and the message
//! definitions virt-events speaks (`virt-eventsd` serves them).

pub mod client;
mod client_errors;
pub mod convert;
mod functions;
pub mod listings;
pub mod objects;
pub mod packet;
pub mod protocol;
pub mod server;
mod stream;
pub mod xdr;
