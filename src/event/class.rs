//! The classes of libvirt's event API and what the library needs to know
//! about each, in one descriptor per class.
//!
//! Naming: an event *class* is one of domains, networks, storage pools, node
//! devices, secrets, and raw QEMU monitor events; an *object* (as in
//! `ObjectIdentity`, `ObjectEvent`, `ObjectHandle`) is a network, storage
//! pool, node device or secret; the *target* of an event or registration is
//! the domain or object it concerns.

use std::sync::Arc;

use super::domain_events::DOMAIN_EVENT_ID_COUNT;
use crate::abi::error::{virErrorDomain as ErrorDomain, virErrorNumber as ErrorCode};
use crate::error::Error;
use crate::uuid::Uuid;

/// The kinds of target libvirt reports events about. Each class has its own
/// event IDs and callback types; one event state serves them all, so callback
/// IDs are unique across classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventClass {
    Domain,
    Network,
    StoragePool,
    NodeDevice,
    Secret,
    /// Raw QMP events (`virConnectDomainQemuMonitorEventRegister`).
    QemuMonitor,
}

/// How a registration for one target names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Uuid,
    Name,
}

/// What the library needs to know about a class (libvirt 9.0's values).
#[derive(Debug)]
pub struct ClassDescriptor {
    /// How the class's public functions begin (`virNetwork`...).
    pub api_prefix: &'static str,
    /// How messages refer to one target of the class.
    pub noun: &'static str,
    /// The subsystem that reports errors of the class's public functions.
    pub error_domain: ErrorDomain,
    /// The error for a pointer that is not a live target of the class.
    pub invalid_target: ErrorCode,
    /// How many event IDs the class has (`VIR_*_EVENT_ID_LAST`).
    pub event_id_count: i32,
    /// What a registration for one target matches: libvirt keys node
    /// devices by name and everything else by UUID.
    pub key: KeyKind,
    /// The `virConnectListAll*` function of the class.
    pub list_function: &'static str,
}

const DOMAIN: ClassDescriptor = ClassDescriptor {
    api_prefix: "virDomain",
    noun: "domain",
    error_domain: ErrorDomain::VIR_FROM_DOMAIN,
    invalid_target: ErrorCode::VIR_ERR_INVALID_DOMAIN,
    event_id_count: DOMAIN_EVENT_ID_COUNT,
    key: KeyKind::Uuid,
    list_function: "virConnectListAllDomains",
};

impl EventClass {
    /// libvirt's error for a pointer that is not a live target of the class.
    pub fn invalid_target(self, function: &str) -> Error {
        let class = self.descriptor();
        Error::new(class.invalid_target, class.error_domain, Some(function.to_string()))
    }

    pub const fn descriptor(self) -> &'static ClassDescriptor {
        match self {
            EventClass::Domain => &DOMAIN,
            // libvirt-qemu's functions report no subsystem.
            EventClass::QemuMonitor => {
                &ClassDescriptor { error_domain: ErrorDomain::VIR_FROM_NONE, event_id_count: 1, ..DOMAIN }
            }
            EventClass::Network => &ClassDescriptor {
                api_prefix: "virNetwork",
                noun: "network",
                error_domain: ErrorDomain::VIR_FROM_NETWORK,
                invalid_target: ErrorCode::VIR_ERR_INVALID_NETWORK,
                event_id_count: 1,
                key: KeyKind::Uuid,
                list_function: "virConnectListAllNetworks",
            },
            EventClass::StoragePool => &ClassDescriptor {
                api_prefix: "virStoragePool",
                noun: "storage pool",
                error_domain: ErrorDomain::VIR_FROM_STORAGE,
                invalid_target: ErrorCode::VIR_ERR_INVALID_STORAGE_POOL,
                event_id_count: 2,
                key: KeyKind::Uuid,
                list_function: "virConnectListAllStoragePools",
            },
            EventClass::NodeDevice => &ClassDescriptor {
                api_prefix: "virNodeDevice",
                noun: "node device",
                error_domain: ErrorDomain::VIR_FROM_NODEDEV,
                invalid_target: ErrorCode::VIR_ERR_INVALID_NODE_DEVICE,
                event_id_count: 2,
                key: KeyKind::Name,
                list_function: "virConnectListAllNodeDevices",
            },
            EventClass::Secret => &ClassDescriptor {
                api_prefix: "virSecret",
                noun: "secret",
                error_domain: ErrorDomain::VIR_FROM_SECRET,
                invalid_target: ErrorCode::VIR_ERR_INVALID_SECRET,
                event_id_count: 2,
                key: KeyKind::Uuid,
                list_function: "virConnectListAllSecrets",
            },
        }
    }

    /// The key a registration for the target with `uuid` and `name` filters on.
    pub fn target_key(self, uuid: Uuid, name: &str) -> TargetKey {
        match self.descriptor().key {
            KeyKind::Uuid => TargetKey::Uuid(uuid),
            KeyKind::Name => TargetKey::Name(name.into()),
        }
    }
}

/// The target one registration is limited to, keyed as its class's
/// descriptor says; made once per registration and compared without
/// allocating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetKey {
    Uuid(Uuid),
    Name(Arc<str>),
}

impl TargetKey {
    /// Whether the target with `uuid` and `name` is this one.
    pub fn matches(&self, uuid: &Uuid, name: &str) -> bool {
        match self {
            TargetKey::Uuid(key) => key == uuid,
            TargetKey::Name(key) => **key == *name,
        }
    }
}
