//! From the core's events to libvirt 9.0's event messages.

use super::packet::{encode_packet, Header};
use super::protocol::*;
use super::xdr::Array;
use crate::event::{
    DomainEvent, DomainIdentity, Event, EventClass, EventPayload, ObjectEvent, ObjectIdentity, ObjectPayload,
    QemuMonitorEvent, TypedParam as CoreParam,
};

/// libvirtd sends every event message with serial 1.
const EVENT_SERIAL: u32 = 1;

pub fn nonnull_domain(dom: &DomainIdentity) -> NonnullDomain {
    NonnullDomain { name: dom.name.to_string(), uuid: dom.uuid, id: dom.id }
}

pub fn domain_identity(dom: &NonnullDomain) -> DomainIdentity {
    DomainIdentity { name: dom.name.as_str().into(), uuid: dom.uuid, id: dom.id }
}

fn nonempty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

fn params<const MAX: u32>(params: &[CoreParam]) -> Array<TypedParam, MAX> {
    Array(params.iter().map(TypedParam::from).collect())
}

fn graphics_address(a: &crate::event::GraphicsAddress) -> GraphicsAddress {
    GraphicsAddress { family: a.family, node: a.node.to_string(), service: a.service.to_string() }
}

/// A whole packet for `event`, addressed to the registration the client
/// knows as `callback_id`; `legacy` registrations (105/167) get the
/// messages without a callback ID. `None` for an event libvirt 9.0 cannot
/// send in the form asked (IDs 16 and up have no legacy message).
pub fn event_packet(event: &Event, callback_id: i32, legacy: bool) -> Option<Vec<u8>> {
    match event {
        Event::Domain(event) => domain_event_packet(event, callback_id, legacy),
        Event::Object(event) => object_event_packet(event, callback_id),
        Event::QemuMonitor(event) => Some(qemu_monitor_packet(event, callback_id)),
    }
}

fn message(program: u32, procedure: i32, body: &dyn Body) -> Vec<u8> {
    encode_packet(&Header::message(program, procedure, EVENT_SERIAL), body)
}

fn domain_event_packet(event: &DomainEvent, callback_id: i32, legacy: bool) -> Option<Vec<u8>> {
    use remote::*;
    let dom = nonnull_domain(&event.domain);
    // IDs 0-15: the legacy body, wrapped with the callback ID unless legacy.
    macro_rules! wrapped {
        ($legacy_proc:expr, $callback_proc:expr, $msg:expr) => {{
            let msg = $msg;
            Some(if legacy {
                message(REMOTE_PROGRAM, $legacy_proc, &msg)
            } else {
                message(REMOTE_PROGRAM, $callback_proc, &Callback { callback_id, msg })
            })
        }};
    }
    macro_rules! with_reason {
        ($legacy_proc:expr, $callback_proc:expr, $reason:expr) => {{
            let msg = DomainOnlyMsg { dom };
            Some(if legacy {
                message(REMOTE_PROGRAM, $legacy_proc, &msg)
            } else {
                message(REMOTE_PROGRAM, $callback_proc, &CallbackWithReason { callback_id, reason: $reason, msg })
            })
        }};
    }
    // IDs 16 and up exist only in callback form.
    macro_rules! callback_only {
        ($proc:expr, $body:expr) => {
            (!legacy).then(|| message(REMOTE_PROGRAM, $proc, &$body))
        };
    }
    match &event.payload {
        EventPayload::Lifecycle { event, detail } => wrapped!(
            DOMAIN_EVENT_LIFECYCLE,
            DOMAIN_EVENT_CALLBACK_LIFECYCLE,
            LifecycleMsg { dom, event: *event, detail: *detail }
        ),
        EventPayload::Reboot => wrapped!(DOMAIN_EVENT_REBOOT, DOMAIN_EVENT_CALLBACK_REBOOT, DomainOnlyMsg { dom }),
        EventPayload::RtcChange { utc_offset } => wrapped!(
            DOMAIN_EVENT_RTC_CHANGE,
            DOMAIN_EVENT_CALLBACK_RTC_CHANGE,
            RtcChangeMsg { dom, offset: *utc_offset }
        ),
        EventPayload::Watchdog { action } => {
            wrapped!(DOMAIN_EVENT_WATCHDOG, DOMAIN_EVENT_CALLBACK_WATCHDOG, WatchdogMsg { dom, action: *action })
        }
        EventPayload::IoError { src_path, dev_alias, action } => wrapped!(
            DOMAIN_EVENT_IO_ERROR,
            DOMAIN_EVENT_CALLBACK_IO_ERROR,
            IoErrorMsg { dom, src_path: src_path.to_string(), dev_alias: dev_alias.to_string(), action: *action }
        ),
        EventPayload::Graphics { phase, local, remote, auth_scheme, subject } => wrapped!(
            DOMAIN_EVENT_GRAPHICS,
            DOMAIN_EVENT_CALLBACK_GRAPHICS,
            GraphicsMsg {
                dom,
                phase: *phase,
                local: graphics_address(local),
                remote: graphics_address(remote),
                auth_scheme: auth_scheme.to_string(),
                subject: Array(
                    subject
                        .iter()
                        .map(|(kind, name)| GraphicsIdentity { kind: kind.to_string(), name: name.to_string() })
                        .collect()
                ),
            }
        ),
        EventPayload::IoErrorReason { src_path, dev_alias, action, reason } => wrapped!(
            DOMAIN_EVENT_IO_ERROR_REASON,
            DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON,
            IoErrorReasonMsg {
                dom,
                src_path: src_path.to_string(),
                dev_alias: dev_alias.to_string(),
                action: *action,
                reason: reason.to_string()
            }
        ),
        EventPayload::ControlError => {
            wrapped!(DOMAIN_EVENT_CONTROL_ERROR, DOMAIN_EVENT_CALLBACK_CONTROL_ERROR, DomainOnlyMsg { dom })
        }
        EventPayload::BlockJob { disk, job_type, status } => wrapped!(
            DOMAIN_EVENT_BLOCK_JOB,
            DOMAIN_EVENT_CALLBACK_BLOCK_JOB,
            BlockJobMsg { dom, path: disk.to_string(), kind: *job_type, status: *status }
        ),
        EventPayload::DiskChange { old_src_path, new_src_path, dev_alias, reason } => wrapped!(
            DOMAIN_EVENT_DISK_CHANGE,
            DOMAIN_EVENT_CALLBACK_DISK_CHANGE,
            DiskChangeMsg {
                dom,
                old_src_path: nonempty(old_src_path),
                new_src_path: nonempty(new_src_path),
                dev_alias: dev_alias.to_string(),
                reason: *reason
            }
        ),
        EventPayload::TrayChange { dev_alias, reason } => wrapped!(
            DOMAIN_EVENT_TRAY_CHANGE,
            DOMAIN_EVENT_CALLBACK_TRAY_CHANGE,
            TrayChangeMsg { dom, dev_alias: dev_alias.to_string(), reason: *reason }
        ),
        EventPayload::PmWakeup { reason } => {
            with_reason!(DOMAIN_EVENT_PMWAKEUP, DOMAIN_EVENT_CALLBACK_PMWAKEUP, *reason)
        }
        EventPayload::PmSuspend { reason } => {
            with_reason!(DOMAIN_EVENT_PMSUSPEND, DOMAIN_EVENT_CALLBACK_PMSUSPEND, *reason)
        }
        EventPayload::BalloonChange { actual } => wrapped!(
            DOMAIN_EVENT_BALLOON_CHANGE,
            DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE,
            BalloonChangeMsg { dom, actual: *actual }
        ),
        EventPayload::PmSuspendDisk { reason } => {
            with_reason!(DOMAIN_EVENT_PMSUSPEND_DISK, DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK, *reason)
        }
        EventPayload::DeviceRemoved { dev_alias } => wrapped!(
            DOMAIN_EVENT_DEVICE_REMOVED,
            DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED,
            DeviceAliasMsg { dom, dev_alias: dev_alias.to_string() }
        ),
        EventPayload::BlockJob2 { disk, job_type, status } => callback_only!(
            DOMAIN_EVENT_BLOCK_JOB_2,
            BlockJob2Msg { callback_id, dom, dst: disk.to_string(), kind: *job_type, status: *status }
        ),
        EventPayload::Tunable { params: list } => {
            callback_only!(DOMAIN_EVENT_CALLBACK_TUNABLE, TunableMsg { callback_id, dom, params: params(list) })
        }
        EventPayload::AgentLifecycle { state, reason } => callback_only!(
            DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE,
            AgentLifecycleMsg { callback_id, dom, state: *state, reason: *reason }
        ),
        EventPayload::DeviceAdded { dev_alias } => callback_only!(
            DOMAIN_EVENT_CALLBACK_DEVICE_ADDED,
            CallbackDeviceMsg { callback_id, dom, dev_alias: dev_alias.to_string() }
        ),
        EventPayload::MigrationIteration { iteration } => callback_only!(
            DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION,
            MigrationIterationMsg { callback_id, dom, iteration: *iteration }
        ),
        EventPayload::JobCompleted { params: list } => callback_only!(
            DOMAIN_EVENT_CALLBACK_JOB_COMPLETED,
            JobCompletedMsg { callback_id, dom, params: params(list) }
        ),
        EventPayload::DeviceRemovalFailed { dev_alias } => callback_only!(
            DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED,
            CallbackDeviceMsg { callback_id, dom, dev_alias: dev_alias.to_string() }
        ),
        EventPayload::MetadataChange { metadata_type, nsuri } => callback_only!(
            DOMAIN_EVENT_CALLBACK_METADATA_CHANGE,
            MetadataChangeMsg { callback_id, dom, kind: *metadata_type, nsuri: nonempty(nsuri) }
        ),
        EventPayload::BlockThreshold { dev, path, threshold, excess } => callback_only!(
            DOMAIN_EVENT_BLOCK_THRESHOLD,
            BlockThresholdMsg {
                callback_id,
                dom,
                dev: dev.to_string(),
                path: nonempty(path),
                threshold: *threshold,
                excess: *excess
            }
        ),
        EventPayload::MemoryFailure { recipient, action, flags } => callback_only!(
            DOMAIN_EVENT_MEMORY_FAILURE,
            MemoryFailureMsg { callback_id, dom, recipient: *recipient, action: *action, flags: *flags }
        ),
        EventPayload::MemoryDeviceSizeChange { alias, size } => callback_only!(
            DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE,
            MemoryDeviceSizeChangeMsg { callback_id, dom, alias: alias.to_string(), size: *size }
        ),
    }
}

fn object_event_packet(event: &ObjectEvent, callback_id: i32) -> Option<Vec<u8>> {
    use remote::*;
    let ObjectIdentity { name, uuid, usage_type, .. } = &event.object;
    let (name, uuid) = (name.clone(), *uuid);
    let body: Box<dyn Body>;
    let procedure = match (event.class, event.payload) {
        (EventClass::Network, ObjectPayload::Lifecycle { event, detail }) => {
            body = Box::new(NetworkLifecycleMsg { callback_id, net: NonnullNetwork { name, uuid }, event, detail });
            NETWORK_EVENT_LIFECYCLE
        }
        (EventClass::StoragePool, ObjectPayload::Lifecycle { event, detail }) => {
            let pool = NonnullStoragePool { name, uuid };
            body = Box::new(StoragePoolLifecycleMsg { callback_id, pool, event, detail });
            STORAGE_POOL_EVENT_LIFECYCLE
        }
        (EventClass::StoragePool, ObjectPayload::Plain { .. }) => {
            body = Box::new(StoragePoolRefreshMsg { callback_id, pool: NonnullStoragePool { name, uuid } });
            STORAGE_POOL_EVENT_REFRESH
        }
        (EventClass::NodeDevice, ObjectPayload::Lifecycle { event, detail }) => {
            let dev = NonnullNodeDevice { name };
            body = Box::new(NodeDeviceLifecycleMsg { callback_id, dev, event, detail });
            NODE_DEVICE_EVENT_LIFECYCLE
        }
        (EventClass::NodeDevice, ObjectPayload::Plain { .. }) => {
            body = Box::new(NodeDeviceUpdateMsg { callback_id, dev: NonnullNodeDevice { name } });
            NODE_DEVICE_EVENT_UPDATE
        }
        (EventClass::Secret, payload) => {
            let secret = NonnullSecret { uuid, usage_type: *usage_type, usage_id: name };
            match payload {
                ObjectPayload::Lifecycle { event, detail } => {
                    body = Box::new(SecretLifecycleMsg { callback_id, secret, event, detail });
                    SECRET_EVENT_LIFECYCLE
                }
                ObjectPayload::Plain { .. } => {
                    body = Box::new(SecretValueChangedMsg { callback_id, secret });
                    SECRET_EVENT_VALUE_CHANGED
                }
            }
        }
        // Networks have only lifecycle events; domains and monitor events
        // are not object events.
        (EventClass::Network, ObjectPayload::Plain { .. }) | (EventClass::Domain | EventClass::QemuMonitor, _) => {
            return None
        }
    };
    Some(message(REMOTE_PROGRAM, procedure, body.as_ref()))
}

fn qemu_monitor_packet(event: &QemuMonitorEvent, callback_id: i32) -> Vec<u8> {
    let body = QemuMonitorEventMsg {
        callback_id,
        dom: nonnull_domain(&event.domain),
        event: event.name.to_string(),
        seconds: event.seconds,
        micros: event.micros,
        details: event.details.as_deref().map(str::to_owned),
    };
    message(QEMU_PROGRAM, qemu::DOMAIN_MONITOR_EVENT, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::GraphicsAddress as Address;
    use crate::event::TypedValue;
    use crate::rpc::packet::{decode_packet, Direction};
    use crate::uuid::Uuid;

    fn one_of_each() -> Vec<EventPayload> {
        let address = || Address { family: 0, node: "127.0.0.1".into(), service: "5900".into() };
        let params = || vec![CoreParam::new("cpu_shares", TypedValue::ULLong(1024))];
        vec![
            EventPayload::Lifecycle { event: 2, detail: 0 },
            EventPayload::Reboot,
            EventPayload::RtcChange { utc_offset: -5 },
            EventPayload::Watchdog { action: 1 },
            EventPayload::IoError { src_path: "/img".into(), dev_alias: "ide0".into(), action: 2 },
            EventPayload::Graphics {
                phase: 0,
                local: address(),
                remote: address(),
                auth_scheme: "none".into(),
                subject: vec![("x509dname".into(), "CN=me".into())],
            },
            EventPayload::IoErrorReason {
                src_path: "/img".into(),
                dev_alias: "ide0".into(),
                action: 2,
                reason: "".into(),
            },
            EventPayload::ControlError,
            EventPayload::BlockJob { disk: "/img".into(), job_type: 1, status: 0 },
            EventPayload::DiskChange {
                old_src_path: "".into(),
                new_src_path: "/b".into(),
                dev_alias: "d".into(),
                reason: 0,
            },
            EventPayload::TrayChange { dev_alias: "cd".into(), reason: 1 },
            EventPayload::PmWakeup { reason: 0 },
            EventPayload::PmSuspend { reason: 0 },
            EventPayload::BalloonChange { actual: 4096 },
            EventPayload::PmSuspendDisk { reason: 0 },
            EventPayload::DeviceRemoved { dev_alias: "net0".into() },
            EventPayload::BlockJob2 { disk: "vda".into(), job_type: 1, status: 0 },
            EventPayload::Tunable { params: params() },
            EventPayload::AgentLifecycle { state: 1, reason: 2 },
            EventPayload::DeviceAdded { dev_alias: "net1".into() },
            EventPayload::MigrationIteration { iteration: 3 },
            EventPayload::JobCompleted { params: params() },
            EventPayload::DeviceRemovalFailed { dev_alias: "net2".into() },
            EventPayload::MetadataChange { metadata_type: 0, nsuri: "".into() },
            EventPayload::BlockThreshold { dev: "vda".into(), path: "/img".into(), threshold: 1, excess: 2 },
            EventPayload::MemoryFailure { recipient: 0, action: 1, flags: 2 },
            EventPayload::MemoryDeviceSizeChange { alias: "dimm0".into(), size: 8 },
        ]
    }

    const CALLBACK_PROCS: [i32; 27] = [
        318, 319, 320, 321, 322, 323, 324, 325, 326, 327, 328, 329, 330, 331, 332, 333, 339, 346, 348, 354, 359, 363,
        367, 379, 385, 423, 438,
    ];
    const LEGACY_PROCS: [i32; 16] = [107, 169, 170, 171, 172, 173, 195, 224, 241, 248, 268, 269, 270, 276, 292, 311];

    /// Every domain event ID becomes libvirt 9.0's message for it, which
    /// the procedure table decodes back with nothing left over.
    #[test]
    fn every_domain_event_has_its_message() {
        let dom = DomainIdentity { name: "vm".into(), uuid: Uuid::from_name("vm"), id: 3 };
        for (index, payload) in one_of_each().into_iter().enumerate() {
            assert_eq!(payload.event_id(), index as i32);
            let event = Event::Domain(DomainEvent::new(dom.clone(), payload));
            let packet = event_packet(&event, 42, false).unwrap();
            let (decoded, body) = decode_packet(&packet, Direction::ToClient).unwrap();
            assert_eq!(decoded.header.procedure, CALLBACK_PROCS[index]);
            assert_eq!((decoded.header.kind, decoded.header.serial), (2, 1));
            assert!(format!("{body:?}").contains("callback_id: 42"), "{body:?}");
            match LEGACY_PROCS.get(index) {
                Some(legacy) => {
                    let packet = event_packet(&event, 42, true).unwrap();
                    let (decoded, body) = decode_packet(&packet, Direction::ToClient).unwrap();
                    assert_eq!(decoded.header.procedure, *legacy);
                    assert!(!format!("{body:?}").contains("callback_id"), "{body:?}");
                }
                None => assert!(event_packet(&event, 42, true).is_none()),
            }
        }
    }

    #[test]
    fn object_and_monitor_events_have_their_messages() {
        let object = ObjectIdentity::named("net", Uuid::from_name("net"));
        let cases = [
            (EventClass::Network, ObjectPayload::Lifecycle { event: 0, detail: 0 }, 315),
            (EventClass::StoragePool, ObjectPayload::Lifecycle { event: 2, detail: 0 }, 370),
            (EventClass::StoragePool, ObjectPayload::Plain { event_id: 1 }, 373),
            (EventClass::NodeDevice, ObjectPayload::Lifecycle { event: 0, detail: 0 }, 376),
            (EventClass::NodeDevice, ObjectPayload::Plain { event_id: 1 }, 377),
            (EventClass::Secret, ObjectPayload::Lifecycle { event: 0, detail: 0 }, 382),
            (EventClass::Secret, ObjectPayload::Plain { event_id: 1 }, 383),
        ];
        for (class, payload, procedure) in cases {
            let event = Event::Object(ObjectEvent { class, object: object.clone(), payload });
            let (decoded, _) = decode_packet(&event_packet(&event, 7, false).unwrap(), Direction::ToClient).unwrap();
            assert_eq!(decoded.header.procedure, procedure);
        }
        let dom = DomainIdentity { name: "vm".into(), uuid: Uuid::from_name("vm"), id: 1 };
        let raw = QemuMonitorEvent { domain: dom, name: "STOP".into(), seconds: 1, micros: 2, details: None };
        let (decoded, body) =
            decode_packet(&event_packet(&Event::QemuMonitor(raw), 9, false).unwrap(), Direction::ToClient).unwrap();
        assert_eq!((decoded.header.program, decoded.header.procedure), (QEMU_PROGRAM, 6));
        assert!(format!("{body:?}").contains("event: \"STOP\""));
    }
}
