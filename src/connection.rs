//! A connection: the URI it was opened with and the driver behind it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::driver::{self, Driver};
use crate::error::Result;
use crate::event::state::ConnectionId;

pub struct Connection {
    pub id: ConnectionId,
    pub uri: String,
    pub read_only: bool,
    pub driver: Arc<dyn Driver>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Connection {
    /// Opens `uri` (`None`: libvirt's default URI).
    pub fn open(uri: Option<&str>, read_only: bool) -> Result<Connection> {
        let (uri, driver) = match driver::remote::open(uri, read_only)? {
            Some(remote) => remote,
            None => driver::open(uri)?,
        };
        Ok(Connection { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), uri, read_only, driver })
    }
}
