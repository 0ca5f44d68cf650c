//! The objects behind `virConnectPtr`, `virDomainPtr` and the other object
//! pointers, with libvirt's reference counting, and the one registry that
//! tells live handles from stale or foreign pointers before anything is
//! dereferenced.
//!
//! A handle is an `Arc`: the C pointer is its data pointer (`Arc::as_ptr`),
//! each reference the application holds is one strong count, and the library
//! holds its own counts (a domain on its connection, a callback on its
//! connection, a call in progress on what it works on). The registry maps
//! each live pointer to a weak reference, so that a check either yields a
//! counted `Handle` or fails: it never hands out a handle being freed.

use std::any::Any;
use std::collections::HashMap;
use std::ffi::CString;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Weak};

use once_cell::sync::{Lazy, OnceCell};
use parking_lot::Mutex;

use super::error_record::ErrorRecord;
use crate::abi::error::virErrorFunc;
use crate::connection::Connection;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::{DomainIdentity, EventClass, ObjectIdentity};

type LiveRegistry = HashMap<usize, Weak<dyn Any + Send + Sync>, BuildHasherDefault<AddressHasher>>;

/// Hashes the registry's keys, heap addresses (which the application cannot
/// choose), with one multiplication instead of SipHash: every API call on a
/// handle looks one up.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte) ^ self.0.rotate_left(8));
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.write_u64(address as u64);
    }

    fn write_u64(&mut self, value: u64) {
        // Fibonacci hashing, folded: the low bits (the bucket) and the high
        // ones (the tag) both depend on every bit of the address.
        let product = value.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = product ^ (product >> 32);
    }
}

/// Every live handle, by the address the application sees.
static LIVE: Lazy<Mutex<LiveRegistry>> = Lazy::new(Default::default);

/// What the pointer points to: the value, which leaves the registry when the
/// last count goes.
pub(crate) struct Registered<T>(T);

impl<T> Drop for Registered<T> {
    fn drop(&mut self) {
        LIVE.lock().remove(&(self as *const Registered<T> as usize));
    }
}

/// A counted reference on a live handle of type `T`.
pub(crate) struct Handle<T: Send + Sync + 'static>(Arc<Registered<T>>);

impl<T: Send + Sync + 'static> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle(self.0.clone())
    }
}

impl<T: Send + Sync + 'static> Deref for Handle<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0 .0
    }
}

impl<T: Send + Sync + 'static> Handle<T> {
    /// A new live handle; the application gets a reference with `into_c`.
    pub fn new(value: T) -> Handle<T> {
        let handle = Arc::new(Registered(value));
        let weak: Weak<dyn Any + Send + Sync> = Arc::downgrade(&handle) as Weak<dyn Any + Send + Sync>;
        LIVE.lock().insert(Arc::as_ptr(&handle) as usize, weak);
        Handle(handle)
    }

    /// The live handle of type `T` behind `ptr`, counted for as long as the
    /// result lives; `None` for NULL, stale or foreign pointers.
    pub fn live<P>(ptr: *mut P) -> Option<Handle<T>> {
        if ptr.is_null() {
            return None;
        }
        let found = LIVE.lock().get(&(ptr as usize)).and_then(Weak::upgrade);
        // A handle of another type (dropped here, outside the lock) is not one.
        found?.downcast::<Registered<T>>().ok().map(Handle)
    }

    /// The pointer the application sees; it carries no count of its own.
    pub fn as_ptr<P>(&self) -> *mut P {
        Arc::as_ptr(&self.0) as *mut P
    }

    /// Hands one count over to the application, with the pointer.
    pub fn into_c<P>(self) -> *mut P {
        Arc::into_raw(self.0) as *mut P
    }

    /// One more count for the application (`vir*Ref`).
    pub fn add_c_ref(&self) {
        let _ = self.clone().into_c::<()>();
    }

    /// Takes back one of the application's counts (`vir*Free`,
    /// `virConnectClose`); the handle goes when no count is left.
    ///
    /// # Safety
    /// The application must own a count on `self` (from `into_c` or
    /// `add_c_ref`), which it gives up.
    pub unsafe fn release_c_ref(&self) {
        // SAFETY: the pointer came from `Arc::into_raw` on this allocation,
        // and the caller gives up the count that call transferred.
        unsafe { Arc::decrement_strong_count(Arc::as_ptr(&self.0)) };
    }

    /// How many counts exist, besides this one.
    pub fn other_counts(&self) -> usize {
        Arc::strong_count(&self.0) - 1
    }

    pub fn ptr_eq(&self, other: &Handle<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What `virConnectPtr` points to.
pub(crate) struct ConnHandle {
    pub conn: Connection,
    pub last_error: Mutex<ErrorRecord>,
    pub error_func: Mutex<(virErrorFunc, usize)>,
}

impl ConnHandle {
    pub fn new(conn: Connection) -> Handle<ConnHandle> {
        Handle::new(ConnHandle {
            conn,
            last_error: Mutex::new(ErrorRecord::default()),
            error_func: Mutex::new((None, 0)),
        })
    }

    /// The live connection behind `ptr`, or libvirt's invalid-connection error.
    pub fn check<P>(ptr: *mut P, function: &str, domain: ErrorDomain) -> Result<Handle<ConnHandle>> {
        Handle::live(ptr).ok_or_else(|| Error::invalid_conn(domain, function))
    }
}

/// How many domain handles each thread remembers.
const RECENT: usize = 4;

/// The domain handles a thread checked last, by address (a few, so that an
/// application alternating between domains still finds them): checking one
/// again takes an upgrade of the weak reference kept here instead of the
/// registry's global lock, one atomic operation instead of three (the test
/// driver's lifecycle calls are a few hundred nanoseconds). The weak
/// reference keeps the handle's memory (not its value) allocated, so that
/// its address cannot be given to another handle meanwhile: a failed
/// upgrade means the handle was freed.
struct RecentDomains {
    slots: [Option<(usize, Weak<Registered<DomainHandle>>)>; RECENT],
    /// The slot the next new handle takes.
    next: usize,
}

impl RecentDomains {
    /// `None` if `address` is not remembered; else the handle, if still live.
    fn find(&self, address: usize) -> Option<Option<Arc<Registered<DomainHandle>>>> {
        let (_, weak) = self.slots.iter().flatten().find(|(at, _)| *at == address)?;
        Some(weak.upgrade())
    }

    fn remember(&mut self, address: usize, handle: &Arc<Registered<DomainHandle>>) {
        self.slots[self.next] = Some((address, Arc::downgrade(handle)));
        self.next = (self.next + 1) % RECENT;
    }
}

thread_local! {
    static RECENT_DOMAINS: std::cell::RefCell<RecentDomains> =
        const { std::cell::RefCell::new(RecentDomains { slots: [None, None, None, None], next: 0 }) };
}

/// What `virDomainPtr` points to: the domain's identity when it was looked
/// up, holding a count on its connection.
pub(crate) struct DomainHandle {
    conn: Handle<ConnHandle>,
    pub identity: DomainIdentity,
    /// The ID as last seen: lifecycle calls on this handle update it.
    id: AtomicI32,
    pub name: CString,
}

impl DomainHandle {
    pub fn new(conn: &Handle<ConnHandle>, identity: DomainIdentity) -> Handle<DomainHandle> {
        Handle::new(DomainHandle {
            conn: conn.clone(),
            name: super::strings::owned(&identity.name),
            id: AtomicI32::new(identity.id),
            identity,
        })
    }

    /// The live domain behind `ptr`, or libvirt's invalid-domain error. A
    /// domain this thread checked recently is found without the registry's
    /// lock (see `RecentDomains`).
    pub fn check<P>(ptr: *mut P, function: &str) -> Result<Handle<DomainHandle>> {
        let address = ptr as usize;
        let recent = RECENT_DOMAINS.try_with(|recent| recent.try_borrow().ok()?.find(address)).ok().flatten();
        let found = match recent {
            Some(upgraded) => upgraded.map(Handle),
            None => {
                let found = Handle::live(ptr);
                if let Some(handle) = &found {
                    let _ = RECENT_DOMAINS.try_with(|recent| {
                        recent.try_borrow_mut().map(|mut recent| recent.remember(address, &handle.0))
                    });
                }
                found
            }
        };
        found.ok_or_else(|| Error::invalid_domain(function))
    }

    pub fn conn(&self) -> &Handle<ConnHandle> {
        &self.conn
    }

    pub fn id(&self) -> i32 {
        self.id.load(Ordering::Relaxed)
    }

    pub fn set_id(&self, id: i32) {
        self.id.store(id, Ordering::Relaxed);
    }
}

/// What `virDomainSnapshotPtr` points to: a snapshot's name, holding a
/// count on its domain's handle (which `virDomainSnapshotGetDomain` returns).
/// The snapshot itself lives in the driver; a deleted one's handle still
/// knows its name.
pub(crate) struct SnapshotHandle {
    pub domain: Handle<DomainHandle>,
    pub name: CString,
}

impl SnapshotHandle {
    pub fn new(domain: &Handle<DomainHandle>, name: &str) -> Handle<SnapshotHandle> {
        Handle::new(SnapshotHandle { domain: domain.clone(), name: super::strings::owned(name) })
    }

    /// The live snapshot behind `ptr`, or libvirt's invalid-snapshot error.
    pub fn check<P>(ptr: *mut P, function: &str) -> Result<Handle<SnapshotHandle>> {
        Handle::live(ptr).ok_or_else(|| {
            Error::new(
                ErrorCode::VIR_ERR_INVALID_DOMAIN_SNAPSHOT,
                ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT,
                Some(function.to_string()),
            )
        })
    }

    /// The name as the driver's calls take it.
    pub fn name(&self) -> String {
        self.name.to_string_lossy().into_owned()
    }
}

/// What `virNetworkPtr`, `virStoragePoolPtr`, `virNodeDevicePtr` and
/// `virSecretPtr` point to: the object's identity when it was looked up,
/// holding a count on its connection.
pub(crate) struct ObjectHandle {
    conn: Handle<ConnHandle>,
    class: EventClass,
    pub identity: ObjectIdentity,
    /// `identity.name` for the accessors that return it.
    pub name: CString,
    /// A node device's parent once known (from `identity.parent`, or the
    /// driver's answer to the first `virNodeDeviceGetParent`); it stays as
    /// long as the handle, as the pointer that function returns must.
    pub parent: OnceCell<CString>,
}

impl ObjectHandle {
    pub fn new(conn: &Handle<ConnHandle>, class: EventClass, identity: ObjectIdentity) -> Handle<ObjectHandle> {
        Handle::new(ObjectHandle {
            conn: conn.clone(),
            class,
            name: super::strings::owned(&identity.name),
            parent: identity.parent.as_deref().map(super::strings::owned).map_or_else(OnceCell::new, OnceCell::from),
            identity,
        })
    }

    /// The live handle of `class` behind `ptr`, or libvirt's invalid-pointer
    /// error for that class.
    pub fn check<P>(ptr: *mut P, class: EventClass, function: &str) -> Result<Handle<ObjectHandle>> {
        Handle::<ObjectHandle>::live(ptr)
            .filter(|handle| handle.class == class)
            .ok_or_else(|| class.invalid_target(function))
    }

    pub fn conn(&self) -> &Handle<ConnHandle> {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Handle<ConnHandle> {
        ConnHandle::new(Connection::open(Some("test:///default"), false).unwrap())
    }

    #[test]
    fn a_pointer_is_live_while_a_count_is_held() {
        let ptr: *mut ConnHandle = connection().into_c();
        let guard = Handle::<ConnHandle>::live(ptr).expect("live after into_c");
        assert_eq!(guard.other_counts(), 1, "the application's count");
        guard.add_c_ref();
        // SAFETY: the application's first count, given back.
        unsafe { guard.release_c_ref() };
        // SAFETY: its second count.
        unsafe { guard.release_c_ref() };
        assert_eq!(guard.other_counts(), 0);
        drop(guard);
        assert!(Handle::<ConnHandle>::live(ptr).is_none(), "freed with its last count");
    }

    #[test]
    fn recently_checked_domains_are_found_again_and_refused_once_freed() {
        let conn = connection();
        let identity = DomainIdentity { name: "vm".into(), uuid: crate::uuid::Uuid([3; 16]), id: 1 };
        // More domains than a thread remembers, checked in turn twice.
        let ptrs: Vec<*mut DomainHandle> =
            (0..RECENT + 2).map(|_| DomainHandle::new(&conn, identity.clone()).into_c()).collect();
        for &ptr in ptrs.iter().chain(&ptrs) {
            assert_eq!(DomainHandle::check(ptr, "f").unwrap().as_ptr::<DomainHandle>(), ptr);
        }
        for &ptr in ptrs.iter().rev() {
            let handle = DomainHandle::check(ptr, "f").unwrap();
            // SAFETY: the application's count, from `into_c`.
            unsafe { handle.release_c_ref() };
            drop(handle);
            let refused = DomainHandle::check(ptr, "f").err().expect("freed");
            assert_eq!(refused.code, ErrorCode::VIR_ERR_INVALID_DOMAIN);
            assert!(Handle::<DomainHandle>::live(ptr).is_none());
        }
    }

    #[test]
    fn a_pointer_of_another_type_or_class_is_refused() {
        let conn = connection();
        let identity = ObjectIdentity::named("default", crate::uuid::Uuid([7; 16]));
        let network = ObjectHandle::new(&conn, EventClass::Network, identity);
        assert!(Handle::<DomainHandle>::live(conn.as_ptr::<()>()).is_none());
        assert!(Handle::<ConnHandle>::live(network.as_ptr::<()>()).is_none());
        assert!(ObjectHandle::check(network.as_ptr::<()>(), EventClass::Network, "f").is_ok());
        let wrong_class = ObjectHandle::check(network.as_ptr::<()>(), EventClass::StoragePool, "f");
        assert_eq!(wrong_class.err().unwrap().message, "invalid storage pool pointer in f");
        assert!(Handle::<ConnHandle>::live(std::ptr::null_mut::<()>()).is_none());
    }
}
