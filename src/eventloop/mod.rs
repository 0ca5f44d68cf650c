//! The event-loop implementation the library runs its timers and watches on.
//!
//! libvirt never runs a loop of its own: the application registers one (its own
//! functions through `virEventRegisterImpl`, or the built-in default through
//! `virEventRegisterDefaultImpl`) and the library only adds, updates and removes
//! handles and timeouts on it. This module holds that registration.

pub mod default_loop;
pub mod parked;

use std::os::unix::io::RawFd;
use std::sync::Arc;

use parking_lot::RwLock;

/// Called with `(watch, fd, events)` when a watched descriptor is ready.
/// Dropping the box is the `virFreeCallback` of the registration.
pub type HandleCallback = Box<dyn FnMut(i32, RawFd, i32) + Send>;

/// Called with the timer id when a timeout fires (an application loop may pass
/// something else there; callers must not rely on it). Dropping the box is the
/// `virFreeCallback` of the registration.
pub type TimeoutCallback = Box<dyn FnMut(i32) + Send>;

/// One event-loop implementation, with libvirt's `virEvent*Func` contract:
/// ids are returned by the add functions, a timeout of -1 is disabled and 0
/// fires on every iteration, `events` is a mask of `virEventHandleType` bits,
/// and a removed registration's callback is dropped once it can no longer
/// run. A refused add gives its callback back undropped: a failed
/// registration is never freed through its free function, as in libvirt, so
/// its creator decides what dropping it means. `Any`, so that the C layer can tell an
/// application's loop from the built-in one by looking at what is registered.
pub trait EventLoop: std::any::Any + Send + Sync {
    fn add_handle(&self, fd: RawFd, events: i32, cb: HandleCallback) -> Result<i32, HandleCallback>;
    fn update_handle(&self, watch: i32, events: i32);
    fn remove_handle(&self, watch: i32) -> i32;
    fn add_timeout(&self, timeout_ms: i32, cb: TimeoutCallback) -> Result<i32, TimeoutCallback>;
    fn update_timeout(&self, timer: i32, timeout_ms: i32);
    fn remove_timeout(&self, timer: i32) -> i32;
}

static REGISTERED: RwLock<Option<Arc<dyn EventLoop>>> = RwLock::new(None);

/// Installs `imp` unless an implementation is already registered, as modern
/// libvirt does. Returns false (and keeps the old one) in that case.
pub fn register(imp: Arc<dyn EventLoop>) -> bool {
    let mut slot = REGISTERED.write();
    if slot.is_some() {
        return false;
    }
    *slot = Some(imp);
    true
}

/// The registered implementation, if any.
pub fn current() -> Option<Arc<dyn EventLoop>> {
    REGISTERED.read().clone()
}
