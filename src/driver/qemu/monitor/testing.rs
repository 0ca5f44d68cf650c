//! Test hooks for the integration tests; not part of the library's API.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

static PANIC_ON: Mutex<Option<String>> = Mutex::new(None);
/// Whether `PANIC_ON` names an event: the monitor thread checks this for
/// every event, and takes no lock while no test armed the hook.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Makes the monitor thread panic while it handles a QMP event named
/// `event` (`None`: never), as a bug in an event's handling would.
pub fn panic_on_qmp_event(event: Option<&str>) {
    let mut panic_on = PANIC_ON.lock();
    *panic_on = event.map(str::to_owned);
    ARMED.store(panic_on.is_some(), Ordering::Release);
}

pub(super) fn check(event: &str) {
    if ARMED.load(Ordering::Acquire) && PANIC_ON.lock().as_deref() == Some(event) {
        panic!("test hook: panicking on the QMP event {event}");
    }
}
