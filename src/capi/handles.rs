//! The objects behind `virConnectPtr`, `virDomainPtr` and the other object
//! pointers, with libvirt's reference counting, and the registries that tell
//! live handles from stale or foreign pointers before anything is
//! dereferenced.

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use once_cell::sync::{Lazy, OnceCell};
use parking_lot::Mutex;

use super::error::ErrorRecord;
use crate::abi::common::{virConnectPtr, virDomainPtr};
use crate::abi::error::virErrorFunc;
use crate::connection::Connection;
use crate::error::{Error, ErrorDomain, Result};
use crate::event::{DomainIdentity, EventClass, ObjectIdentity};

static LIVE_CONNECTIONS: Lazy<Mutex<HashSet<usize>>> = Lazy::new(Default::default);
static LIVE_DOMAINS: Lazy<Mutex<HashSet<usize>>> = Lazy::new(Default::default);

/// What `virConnectPtr` points to.
pub(crate) struct ConnHandle {
    pub conn: Connection,
    refs: AtomicUsize,
    pub last_error: Mutex<ErrorRecord>,
    pub error_func: Mutex<(virErrorFunc, usize)>,
}

impl ConnHandle {
    /// A new handle with one reference, owned by the caller.
    pub fn create(conn: Connection) -> *mut ConnHandle {
        let handle = Box::into_raw(Box::new(ConnHandle {
            conn,
            refs: AtomicUsize::new(1),
            last_error: Mutex::new(ErrorRecord::default()),
            error_func: Mutex::new((None, 0)),
        }));
        LIVE_CONNECTIONS.lock().insert(handle as usize);
        handle
    }

    /// The live handle behind `ptr`, or libvirt's invalid-connection error.
    pub fn check<'a>(ptr: virConnectPtr, function: &str, domain: ErrorDomain) -> Result<&'a ConnHandle> {
        if ptr.is_null() || !LIVE_CONNECTIONS.lock().contains(&(ptr as usize)) {
            return Err(Error::invalid_conn(domain, function));
        }
        // SAFETY: the registry holds exactly the handles created by `create`
        // and not yet freed by `unref`.
        Ok(unsafe { &*(ptr as *const ConnHandle) })
    }

    pub fn as_ptr(&self) -> virConnectPtr {
        self as *const ConnHandle as virConnectPtr
    }

    pub fn add_ref(&self) {
        self.refs.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops one reference; frees the handle with the last one. Returns how
    /// many remain.
    pub fn unref(ptr: *const ConnHandle) -> usize {
        // SAFETY: callers hold one of the references, so the handle is live.
        let previous = unsafe { &*ptr }.refs.fetch_sub(1, Ordering::SeqCst);
        if previous == 1 {
            LIVE_CONNECTIONS.lock().remove(&(ptr as usize));
            // SAFETY: that was the last reference; the box came from `create`.
            drop(unsafe { Box::from_raw(ptr as *mut ConnHandle) });
        }
        previous - 1
    }
}

/// What `virDomainPtr` points to: the domain's identity when it was looked
/// up, holding a reference on its connection.
pub(crate) struct DomainHandle {
    pub conn: *const ConnHandle,
    pub identity: DomainIdentity,
    /// The ID as last seen: lifecycle calls on this handle update it.
    id: AtomicI32,
    pub name: CString,
    refs: AtomicUsize,
}

impl DomainHandle {
    pub fn create(conn: &ConnHandle, identity: DomainIdentity) -> virDomainPtr {
        conn.add_ref();
        let handle = Box::into_raw(Box::new(DomainHandle {
            conn: conn as *const ConnHandle,
            name: super::strings::owned(&identity.name),
            id: AtomicI32::new(identity.id),
            identity,
            refs: AtomicUsize::new(1),
        }));
        LIVE_DOMAINS.lock().insert(handle as usize);
        handle as virDomainPtr
    }

    pub fn check<'a>(ptr: virDomainPtr, function: &str) -> Result<&'a DomainHandle> {
        if ptr.is_null() || !LIVE_DOMAINS.lock().contains(&(ptr as usize)) {
            return Err(Error::invalid_domain(function));
        }
        // SAFETY: the registry holds exactly the live handles from `create`.
        Ok(unsafe { &*(ptr as *const DomainHandle) })
    }

    pub fn conn(&self) -> &ConnHandle {
        // SAFETY: a domain handle holds a reference on its connection.
        unsafe { &*self.conn }
    }

    pub fn add_ref(&self) {
        self.refs.fetch_add(1, Ordering::SeqCst);
    }

    pub fn id(&self) -> i32 {
        self.id.load(Ordering::Relaxed)
    }

    pub fn set_id(&self, id: i32) {
        self.id.store(id, Ordering::Relaxed);
    }

    pub fn unref(ptr: *const DomainHandle) {
        // SAFETY: callers hold one of the references.
        let handle = unsafe { &*ptr };
        if handle.refs.fetch_sub(1, Ordering::SeqCst) == 1 {
            LIVE_DOMAINS.lock().remove(&(ptr as usize));
            let conn = handle.conn;
            // SAFETY: that was the last reference; the box came from `create`.
            drop(unsafe { Box::from_raw(ptr as *mut DomainHandle) });
            ConnHandle::unref(conn);
        }
    }
}

static LIVE_OBJECTS: Lazy<Mutex<HashMap<usize, EventClass>>> = Lazy::new(Default::default);

/// What `virNetworkPtr`, `virStoragePoolPtr`, `virNodeDevicePtr` and
/// `virSecretPtr` point to: the object's identity when it was looked up,
/// holding a reference on its connection.
pub(crate) struct ObjectHandle {
    pub conn: *const ConnHandle,
    pub identity: ObjectIdentity,
    /// `identity.name` for the accessors that return it.
    pub name: CString,
    /// A node device's parent once known (from `identity.parent`, or the
    /// driver's answer to the first `virNodeDeviceGetParent`); it stays as
    /// long as the handle, as the pointer that function returns must.
    pub parent: OnceCell<CString>,
    refs: AtomicUsize,
}

impl ObjectHandle {
    /// A new handle with one reference, owned by the caller.
    pub fn create(conn: &ConnHandle, class: EventClass, identity: ObjectIdentity) -> *mut ObjectHandle {
        conn.add_ref();
        let handle = Box::into_raw(Box::new(ObjectHandle {
            conn: conn as *const ConnHandle,
            name: super::strings::owned(&identity.name),
            parent: identity.parent.as_deref().map(super::strings::owned).map_or_else(OnceCell::new, OnceCell::from),
            identity,
            refs: AtomicUsize::new(1),
        }));
        LIVE_OBJECTS.lock().insert(handle as usize, class);
        handle
    }

    /// The live handle of `class` behind `ptr`, or libvirt's invalid-object
    /// error for that class.
    pub fn check<'a, T>(ptr: *mut T, class: EventClass, function: &str) -> Result<&'a ObjectHandle> {
        if ptr.is_null() || LIVE_OBJECTS.lock().get(&(ptr as usize)) != Some(&class) {
            return Err(Error::invalid_target(class, function));
        }
        // SAFETY: the registry holds exactly the live handles from `create`,
        // with their class.
        Ok(unsafe { &*(ptr as *const ObjectHandle) })
    }

    pub fn conn(&self) -> &ConnHandle {
        // SAFETY: an object handle holds a reference on its connection.
        unsafe { &*self.conn }
    }

    pub fn add_ref(&self) {
        self.refs.fetch_add(1, Ordering::SeqCst);
    }

    pub fn unref(ptr: *const ObjectHandle) {
        // SAFETY: callers hold one of the references.
        let handle = unsafe { &*ptr };
        if handle.refs.fetch_sub(1, Ordering::SeqCst) == 1 {
            LIVE_OBJECTS.lock().remove(&(ptr as usize));
            let conn = handle.conn;
            // SAFETY: that was the last reference; the box came from `create`.
            drop(unsafe { Box::from_raw(ptr as *mut ObjectHandle) });
            ConnHandle::unref(conn);
        }
    }
}
