//! Test hooks for the integration tests; not part of the library's API.

use parking_lot::Mutex;

static PANIC_ON: Mutex<Option<String>> = Mutex::new(None);

/// Makes the monitor thread panic while it handles a QMP event named
/// `event` (`None`: never), as a bug in an event's handling would.
pub fn panic_on_qmp_event(event: Option<&str>) {
    *PANIC_ON.lock() = event.map(str::to_owned);
}

pub(super) fn check(event: &str) {
    if PANIC_ON.lock().as_deref() == Some(event) {
        panic!("test hook: panicking on the QMP event {event}");
    }
}
