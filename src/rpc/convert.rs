//! From the core's events to libvirt 9.0's event messages.

use super::packet::{encode_packet, Header};
use super::protocol::*;
use super::xdr::Array;
use crate::event::{
    DomainEvent, DomainIdentity, Event, EventPayload, ObjectClass, ObjectEvent, ObjectIdentity, ObjectPayload,
    QemuMonitorEvent, TypedParam as CoreParam, TypedValue,
};

/// libvirtd sends every event message with serial 1.
const EVENT_SERIAL: u32 = 1;

pub fn nonnull_domain(dom: &DomainIdentity) -> NonnullDomain {
    NonnullDomain { name: dom.name.clone(), uuid: dom.uuid, id: dom.id }
}

pub fn domain_identity(dom: &NonnullDomain) -> DomainIdentity {
    DomainIdentity { name: dom.name.clone(), uuid: dom.uuid, id: dom.id }
}

fn nonempty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

fn params<const MAX: u32>(params: &[CoreParam]) -> Array<TypedParam, MAX> {
    Array(
        params
            .iter()
            .map(|p| TypedParam {
                field: p.name.clone(),
                value: match &p.value {
                    TypedValue::Int(v) => TypedParamValue::Int(*v),
                    TypedValue::UInt(v) => TypedParamValue::UInt(*v),
                    TypedValue::LLong(v) => TypedParamValue::LLong(*v),
                    TypedValue::ULLong(v) => TypedParamValue::ULLong(*v),
                    TypedValue::Double(v) => TypedParamValue::Double(*v),
                    TypedValue::Boolean(v) => TypedParamValue::Boolean(i32::from(*v)),
                    TypedValue::String(v) => TypedParamValue::String(v.clone()),
                },
            })
            .collect(),
    )
}

fn graphics_address(a: &crate::event::GraphicsAddress) -> GraphicsAddress {
    GraphicsAddress { family: a.family, node: a.node.clone(), service: a.service.clone() }
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
            IoErrorMsg { dom, src_path: src_path.clone(), dev_alias: dev_alias.clone(), action: *action }
        ),
        EventPayload::Graphics { phase, local, remote, auth_scheme, subject } => wrapped!(
            DOMAIN_EVENT_GRAPHICS,
            DOMAIN_EVENT_CALLBACK_GRAPHICS,
            GraphicsMsg {
                dom,
                phase: *phase,
                local: graphics_address(local),
                remote: graphics_address(remote),
                auth_scheme: auth_scheme.clone(),
                subject: Array(
                    subject
                        .iter()
                        .map(|(kind, name)| GraphicsIdentity { kind: kind.clone(), name: name.clone() })
                        .collect()
                ),
            }
        ),
        EventPayload::IoErrorReason { src_path, dev_alias, action, reason } => wrapped!(
            DOMAIN_EVENT_IO_ERROR_REASON,
            DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON,
            IoErrorReasonMsg {
                dom,
                src_path: src_path.clone(),
                dev_alias: dev_alias.clone(),
                action: *action,
                reason: reason.clone()
            }
        ),
        EventPayload::ControlError => {
            wrapped!(DOMAIN_EVENT_CONTROL_ERROR, DOMAIN_EVENT_CALLBACK_CONTROL_ERROR, DomainOnlyMsg { dom })
        }
        EventPayload::BlockJob { disk, job_type, status } => wrapped!(
            DOMAIN_EVENT_BLOCK_JOB,
            DOMAIN_EVENT_CALLBACK_BLOCK_JOB,
            BlockJobMsg { dom, path: disk.clone(), kind: *job_type, status: *status }
        ),
        EventPayload::DiskChange { old_src_path, new_src_path, dev_alias, reason } => wrapped!(
            DOMAIN_EVENT_DISK_CHANGE,
            DOMAIN_EVENT_CALLBACK_DISK_CHANGE,
            DiskChangeMsg {
                dom,
                old_src_path: nonempty(old_src_path),
                new_src_path: nonempty(new_src_path),
                dev_alias: dev_alias.clone(),
                reason: *reason
            }
        ),
        EventPayload::TrayChange { dev_alias, reason } => wrapped!(
            DOMAIN_EVENT_TRAY_CHANGE,
            DOMAIN_EVENT_CALLBACK_TRAY_CHANGE,
            TrayChangeMsg { dom, dev_alias: dev_alias.clone(), reason: *reason }
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
            DeviceAliasMsg { dom, dev_alias: dev_alias.clone() }
        ),
        EventPayload::BlockJob2 { disk, job_type, status } => callback_only!(
            DOMAIN_EVENT_BLOCK_JOB_2,
            BlockJob2Msg { callback_id, dom, dst: disk.clone(), kind: *job_type, status: *status }
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
            CallbackDeviceMsg { callback_id, dom, dev_alias: dev_alias.clone() }
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
            CallbackDeviceMsg { callback_id, dom, dev_alias: dev_alias.clone() }
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
                dev: dev.clone(),
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
            MemoryDeviceSizeChangeMsg { callback_id, dom, alias: alias.clone(), size: *size }
        ),
    }
}

fn object_event_packet(event: &ObjectEvent, callback_id: i32) -> Option<Vec<u8>> {
    use remote::*;
    let ObjectIdentity { name, uuid, usage_type, .. } = &event.object;
    let (name, uuid) = (name.clone(), *uuid);
    let body: Box<dyn Body>;
    let procedure = match (event.class, event.payload) {
        (ObjectClass::Network, ObjectPayload::Lifecycle { event, detail }) => {
            body = Box::new(NetworkLifecycleMsg { callback_id, net: NonnullNetwork { name, uuid }, event, detail });
            NETWORK_EVENT_LIFECYCLE
        }
        (ObjectClass::StoragePool, ObjectPayload::Lifecycle { event, detail }) => {
            let pool = NonnullStoragePool { name, uuid };
            body = Box::new(StoragePoolLifecycleMsg { callback_id, pool, event, detail });
            STORAGE_POOL_EVENT_LIFECYCLE
        }
        (ObjectClass::StoragePool, ObjectPayload::Plain { .. }) => {
            body = Box::new(StoragePoolRefreshMsg { callback_id, pool: NonnullStoragePool { name, uuid } });
            STORAGE_POOL_EVENT_REFRESH
        }
        (ObjectClass::NodeDevice, ObjectPayload::Lifecycle { event, detail }) => {
            let dev = NonnullNodeDevice { name };
            body = Box::new(NodeDeviceLifecycleMsg { callback_id, dev, event, detail });
            NODE_DEVICE_EVENT_LIFECYCLE
        }
        (ObjectClass::NodeDevice, ObjectPayload::Plain { .. }) => {
            body = Box::new(NodeDeviceUpdateMsg { callback_id, dev: NonnullNodeDevice { name } });
            NODE_DEVICE_EVENT_UPDATE
        }
        (ObjectClass::Secret, payload) => {
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
        (ObjectClass::Network, ObjectPayload::Plain { .. }) | (ObjectClass::Domain | ObjectClass::QemuMonitor, _) => {
            return None
        }
    };
    Some(message(REMOTE_PROGRAM, procedure, body.as_ref()))
}

fn qemu_monitor_packet(event: &QemuMonitorEvent, callback_id: i32) -> Vec<u8> {
    let body = QemuMonitorEventMsg {
        callback_id,
        dom: nonnull_domain(&event.domain),
        event: event.name.clone(),
        seconds: event.seconds,
        micros: event.micros,
        details: event.details.clone(),
    };
    message(QEMU_PROGRAM, qemu::DOMAIN_MONITOR_EVENT, &body)
}
