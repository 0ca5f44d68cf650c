//! The event-loop API: registering the application's loop or the built-in
//! default one, running the default loop, and the public add/update/remove
//! wrappers.

use std::collections::HashMap;
use std::os::raw::{c_int, c_void};
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use once_cell::sync::{Lazy, OnceCell};
use parking_lot::Mutex;

use super::delivery::{unwinding, UnwindingCallback};
use super::{export, forward_unwinding};
use crate::abi::common::virFreeCallback;
use crate::abi::event_loop::*;
use crate::error::{Error, ErrorDomain};
use crate::eventloop::default_loop::DefaultLoop;
use crate::eventloop::parked::{Parked, Removal};
use crate::eventloop::{self, EventLoop, HandleCallback, TimeoutCallback};

/// The six functions of an application's loop.
#[derive(Clone, Copy)]
struct AppFunctions {
    add_handle: virEventAddHandleFunc,
    update_handle: virEventUpdateHandleFunc,
    remove_handle: virEventRemoveHandleFunc,
    add_timeout: virEventAddTimeoutFunc,
    update_timeout: virEventUpdateTimeoutFunc,
    remove_timeout: virEventRemoveTimeoutFunc,
}

/// The application's loop holds a token for each library callback, parked
/// here. The loop never owns Rust data: it gets the token as its opaque and
/// no free function, so a loop that calls a callback after removing it (as
/// libvirt's 2010 example loop can) finds nothing and nothing is freed twice.
struct Registry<T> {
    next_token: usize,
    by_token: HashMap<usize, Parked<T>>,
    /// Loop-assigned id to token; minimal loops reuse ids, so the newest wins.
    by_id: HashMap<c_int, usize>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry { next_token: 1, by_token: HashMap::new(), by_id: HashMap::new() }
    }
}

impl<T> Registry<T> {
    fn park(&mut self, callback: T) -> usize {
        let token = self.next_token;
        self.next_token += 1;
        self.by_token.insert(token, Parked::Idle(callback));
        token
    }

    /// Forgets `id`; returns the callback to drop if it is not running now.
    fn forget_id(&mut self, id: c_int) -> Option<T> {
        let token = self.by_id.remove(&id)?;
        self.forget_token(token)
    }

    fn forget_token(&mut self, token: usize) -> Option<T> {
        match self.by_token.get_mut(&token)?.remove() {
            Removal::Now(callback) => {
                self.by_token.remove(&token);
                Some(callback)
            }
            Removal::Deferred | Removal::AlreadyRemoved => None,
        }
    }

    fn take_for_run(&mut self, token: usize) -> Option<T> {
        self.by_token.get_mut(&token)?.take()
    }

    /// Puts a callback back after it ran; returns it if it was removed meanwhile.
    fn put_back(&mut self, token: usize, callback: T) -> Option<T> {
        let Some(slot) = self.by_token.get_mut(&token) else { return Some(callback) };
        let removed = slot.put_back(callback)?;
        self.by_token.remove(&token);
        Some(removed)
    }
}

static HANDLES: Lazy<Mutex<Registry<HandleCallback>>> = Lazy::new(Default::default);
static TIMEOUTS: Lazy<Mutex<Registry<TimeoutCallback>>> = Lazy::new(Default::default);

/// Runs the parked callback `token` of `registry` without holding its lock.
fn run_parked<T>(registry: &Mutex<Registry<T>>, token: usize, run: impl FnOnce(&mut T)) {
    let Some(mut callback) = registry.lock().take_for_run(token) else {
        return;
    };
    // The callback may run application callbacks, which may unwind.
    forward_unwinding("an event-loop callback", || run(&mut callback));
    let removed = registry.lock().put_back(token, callback);
    drop(removed);
}

/// Called by the application's loop, through its C type: `"C-unwind"` so
/// that a forced unwind out of an application callback it runs passes.
unsafe extern "C-unwind" fn handle_trampoline(watch: c_int, fd: c_int, events: c_int, opaque: *mut c_void) {
    run_parked(&HANDLES, opaque as usize, |cb| cb(watch, fd, events));
}

unsafe extern "C-unwind" fn timeout_trampoline(timer: c_int, opaque: *mut c_void) {
    run_parked(&TIMEOUTS, opaque as usize, |cb| cb(timer));
}

/// The trampolines with the C types of the application's loop functions;
/// the application calls them as C functions, which they are.
fn trampolines() -> (virEventHandleCallback, virEventTimeoutCallback) {
    // SAFETY: only the ABI string changes: a "C-unwind" function is a C
    // function that may also be unwound through.
    let handle = unsafe { std::mem::transmute::<CHandleFn, virEventHandleCallback>(handle_trampoline) };
    // SAFETY: as above.
    let timeout = unsafe { std::mem::transmute::<CTimeoutFn, virEventTimeoutCallback>(timeout_trampoline) };
    (handle, timeout)
}

/// An application's loop, driven through its C functions.
struct AppLoop(AppFunctions);

impl EventLoop for AppLoop {
    fn add_handle(&self, fd: RawFd, events: i32, cb: HandleCallback) -> Result<i32, HandleCallback> {
        let Some(add) = self.0.add_handle else { return Err(cb) };
        // SAFETY: the application's AddHandle function, called per its contract.
        park_and_add(&HANDLES, cb, |token| unsafe { add(fd, events, trampolines().0, token, None) })
    }

    fn update_handle(&self, watch: i32, events: i32) {
        if let Some(update) = self.0.update_handle {
            // SAFETY: the application's UpdateHandle function.
            unsafe { update(watch, events) };
        }
    }

    fn remove_handle(&self, watch: i32) -> i32 {
        let Some(remove) = self.0.remove_handle else { return -1 };
        // SAFETY: the application's RemoveHandle function.
        remove_and_forget(&HANDLES, watch, || unsafe { remove(watch) })
    }

    fn add_timeout(&self, timeout_ms: i32, cb: TimeoutCallback) -> Result<i32, TimeoutCallback> {
        let Some(add) = self.0.add_timeout else { return Err(cb) };
        // SAFETY: the application's AddTimeout function, called per its contract.
        park_and_add(&TIMEOUTS, cb, |token| unsafe { add(timeout_ms, trampolines().1, token, None) })
    }

    fn update_timeout(&self, timer: i32, timeout_ms: i32) {
        if let Some(update) = self.0.update_timeout {
            // SAFETY: the application's UpdateTimeout function.
            unsafe { update(timer, timeout_ms) };
        }
    }

    fn remove_timeout(&self, timer: i32) -> i32 {
        let Some(remove) = self.0.remove_timeout else { return -1 };
        // SAFETY: the application's RemoveTimeout function.
        remove_and_forget(&TIMEOUTS, timer, || unsafe { remove(timer) })
    }
}

/// Parks `callback` under a fresh token and registers the token (as the
/// opaque, with no free function) through the application's `add`; gives the
/// callback back if the application refused it.
fn park_and_add<T>(
    registry: &Mutex<Registry<T>>,
    callback: T,
    add: impl FnOnce(*mut c_void) -> c_int,
) -> Result<c_int, T> {
    let token = registry.lock().park(callback);
    let id = add(token as *mut c_void);
    let mut registry = registry.lock();
    if id < 0 {
        // Parked and never run: removing it now gives it back.
        return registry.forget_token(token).map_or(Ok(-1), Err);
    }
    registry.by_id.insert(id, token);
    Ok(id)
}

/// Removes `id` through the application's `remove`, then drops its callback
/// (or leaves that to the run in progress).
fn remove_and_forget<T>(registry: &Mutex<Registry<T>>, id: c_int, remove: impl FnOnce() -> c_int) -> c_int {
    let result = remove();
    let removed = registry.lock().forget_id(id);
    drop(removed);
    result
}

/// The application's functions, when its loop is the registered one: the
/// registration itself says so (there is no second record of it).
fn app_functions() -> Option<AppFunctions> {
    let registered = eventloop::current()?;
    let registered: &dyn std::any::Any = registered.as_ref();
    registered.downcast_ref::<AppLoop>().map(|app| app.0)
}

static DEFAULT_LOOP: OnceCell<Arc<DefaultLoop>> = OnceCell::new();

/// Registers the application's event loop. The first registration wins, as in
/// libvirt: later attempts are ignored.
#[no_mangle]
pub extern "C" fn virEventRegisterImpl(
    addHandle: virEventAddHandleFunc,
    updateHandle: virEventUpdateHandleFunc,
    removeHandle: virEventRemoveHandleFunc,
    addTimeout: virEventAddTimeoutFunc,
    updateTimeout: virEventUpdateTimeoutFunc,
    removeTimeout: virEventRemoveTimeoutFunc,
) {
    export!(
        quiet || {
            let functions = AppFunctions {
                add_handle: addHandle,
                update_handle: updateHandle,
                remove_handle: removeHandle,
                add_timeout: addTimeout,
                update_timeout: updateTimeout,
                remove_timeout: removeTimeout,
            };
            eventloop::register(Arc::new(AppLoop(functions)));
        }
    );
}

fn default_loop() -> Result<&'static Arc<DefaultLoop>, Error> {
    DEFAULT_LOOP.get_or_try_init(|| {
        DefaultLoop::new().map(Arc::new).map_err(|e| {
            Error::new(
                crate::error::ErrorCode::VIR_ERR_SYSTEM_ERROR,
                ErrorDomain::VIR_FROM_EVENT,
                Some(format!("Unable to create the event loop: {e}")),
            )
        })
    })
}

/// Registers the built-in poll-based loop (unless a loop is registered).
#[no_mangle]
pub extern "C" fn virEventRegisterDefaultImpl() -> c_int {
    export!(|_call| {
        let default = default_loop()?;
        eventloop::register(default.clone());
        Ok(0)
    })
}

/// Runs one iteration of the default loop: waits until something is due,
/// dispatches it, and returns 0 (or -1 if polling failed). A callback may
/// leave its thread through it (`pthread_exit`).
#[no_mangle]
pub extern "C-unwind" fn virEventRunDefaultImpl() -> c_int {
    export!(
        unwinding | _call | {
            default_loop()?.run_once().map_err(|e| {
                Error::new(
                    crate::error::ErrorCode::VIR_ERR_SYSTEM_ERROR,
                    ErrorDomain::VIR_FROM_EVENT,
                    Some(format!("Unable to poll on file handles: {e}")),
                )
            })?;
            Ok(0)
        }
    )
}

/// A C callback with its opaque and free function, as a boxed Rust callback
/// whose drop is the free function, once the loop has accepted it.
struct CRegistration<F: Copy> {
    cb: F,
    opaque: *mut c_void,
    ff: virFreeCallback,
    /// Cleared when the loop refuses the registration: libvirt never calls
    /// the free function of a registration that failed.
    accepted: Arc<AtomicBool>,
}

impl<F: Copy> CRegistration<F> {
    fn new(cb: F, opaque: *mut c_void, ff: virFreeCallback) -> Self {
        CRegistration { cb, opaque, ff, accepted: Arc::new(AtomicBool::new(true)) }
    }

    /// Adds the registration, wrapped as the loop takes it, through `add`;
    /// returns its id, or -1 with the refused registration released unfreed.
    fn add_with<C>(self, wrap: impl FnOnce(Self) -> C, add: impl FnOnce(C) -> Result<c_int, C>) -> c_int {
        let accepted = self.accepted.clone();
        add(wrap(self)).unwrap_or_else(|refused| {
            accepted.store(false, Ordering::SeqCst);
            drop(refused);
            -1
        })
    }
}

// SAFETY: libvirt's contract: the loop may call and free registrations from
// its own thread, whichever thread added them.
unsafe impl<F: Copy> Send for CRegistration<F> {}

impl<F: Copy> Drop for CRegistration<F> {
    fn drop(&mut self) {
        if !self.accepted.load(Ordering::SeqCst) {
            return;
        }
        if let Some(ff) = self.ff {
            // SAFETY: the application gave `ff` to free `opaque` on removal.
            unsafe { ff(self.opaque) };
        }
    }
}

/// The application's callbacks, called so that they may unwind.
type CHandleFn = <virEventHandleCallback as UnwindingCallback>::Unwinding;
type CTimeoutFn = <virEventTimeoutCallback as UnwindingCallback>::Unwinding;

impl CRegistration<CHandleFn> {
    fn call(&self, watch: c_int, fd: c_int, events: c_int) {
        // SAFETY: the application's handle callback with its own opaque.
        unsafe { (self.cb)(watch, fd, events, self.opaque) }
    }
}

impl CRegistration<CTimeoutFn> {
    fn call(&self, timer: c_int) {
        // SAFETY: the application's timeout callback with its own opaque.
        unsafe { (self.cb)(timer, self.opaque) }
    }
}

/// Adds `fd` to the registered loop; returns the watch id or -1.
///
/// # Safety
/// `cb` will be called with `opaque`, and `ff` (if any) with `opaque` once
/// the handle is removed: they must accept it.
#[no_mangle]
pub unsafe extern "C" fn virEventAddHandle(
    fd: c_int,
    events: c_int,
    cb: virEventHandleCallback,
    opaque: *mut c_void,
    ff: virFreeCallback,
) -> c_int {
    export!(
        quiet || {
            if let Some(app) = app_functions() {
                // SAFETY: the application's own function, with its own arguments.
                return app.add_handle.map_or(-1, |add| unsafe { add(fd, events, cb, opaque, ff) });
            }
            let (Some(cb), Some(event_loop)) = (unwinding(cb), eventloop::current()) else { return -1 };
            CRegistration::<CHandleFn>::new(cb, opaque, ff).add_with(
                |registration| -> HandleCallback {
                    Box::new(move |watch, fd, events| registration.call(watch, fd, events))
                },
                |callback| event_loop.add_handle(fd, events, callback),
            )
        }
    )
}

#[no_mangle]
pub extern "C" fn virEventUpdateHandle(watch: c_int, events: c_int) {
    export!(
        quiet || {
            if let Some(app) = app_functions() {
                // SAFETY: the application's own function.
                return app.update_handle.into_iter().for_each(|update| unsafe { update(watch, events) });
            }
            if let Some(event_loop) = eventloop::current() {
                event_loop.update_handle(watch, events);
            }
        }
    )
}

#[no_mangle]
pub extern "C" fn virEventRemoveHandle(watch: c_int) -> c_int {
    export!(
        quiet || {
            if let Some(app) = app_functions() {
                // SAFETY: the application's own function.
                return app.remove_handle.map_or(-1, |remove| unsafe { remove(watch) });
            }
            eventloop::current().map_or(-1, |event_loop| event_loop.remove_handle(watch))
        }
    )
}

/// Adds a timer to the registered loop; returns the timer id or -1.
///
/// # Safety
/// `cb` will be called with `opaque`, and `ff` (if any) with `opaque` once
/// the timer is removed: they must accept it.
#[no_mangle]
pub unsafe extern "C" fn virEventAddTimeout(
    timeout: c_int,
    cb: virEventTimeoutCallback,
    opaque: *mut c_void,
    ff: virFreeCallback,
) -> c_int {
    export!(
        quiet || {
            if let Some(app) = app_functions() {
                // SAFETY: the application's own function, with its own arguments.
                return app.add_timeout.map_or(-1, |add| unsafe { add(timeout, cb, opaque, ff) });
            }
            let (Some(cb), Some(event_loop)) = (unwinding(cb), eventloop::current()) else { return -1 };
            CRegistration::<CTimeoutFn>::new(cb, opaque, ff).add_with(
                |registration| -> TimeoutCallback { Box::new(move |timer| registration.call(timer)) },
                |callback| event_loop.add_timeout(timeout, callback),
            )
        }
    )
}

#[no_mangle]
pub extern "C" fn virEventUpdateTimeout(timer: c_int, timeout: c_int) {
    export!(
        quiet || {
            if let Some(app) = app_functions() {
                // SAFETY: the application's own function.
                return app.update_timeout.into_iter().for_each(|update| unsafe { update(timer, timeout) });
            }
            if let Some(event_loop) = eventloop::current() {
                event_loop.update_timeout(timer, timeout);
            }
        }
    )
}

#[no_mangle]
pub extern "C" fn virEventRemoveTimeout(timer: c_int) -> c_int {
    export!(
        quiet || {
            if let Some(app) = app_functions() {
                // SAFETY: the application's own function.
                return app.remove_timeout.map_or(-1, |remove| unsafe { remove(timer) });
            }
            eventloop::current().map_or(-1, |event_loop| event_loop.remove_timeout(timer))
        }
    )
}
