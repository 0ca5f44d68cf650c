//! From libvirt 9.0's event messages to the core's events: the inverse of
//! `rpc::convert`.

use crate::event::{
    CText, DomainEvent, Event, EventClass, EventPayload, GraphicsAddress, ObjectEvent, ObjectIdentity, ObjectPayload,
    QemuMonitorEvent, TypedParam as CoreParam,
};
use crate::rpc::convert::domain_identity;
use crate::rpc::packet::Packet;
use crate::rpc::protocol::*;
use crate::rpc::xdr::{decode_all, Xdr, XdrResult};
use crate::uuid::Uuid;

/// The server's callback ID of a message, or `None` for a legacy message
/// (which the registrations without callback IDs receive).
pub type RemoteId = Option<i32>;

/// Why a message is not an event.
#[derive(Debug)]
pub enum NotAnEvent {
    UnknownProcedure,
    Body(crate::rpc::xdr::XdrError),
}

fn body<T: Xdr>(packet: &Packet) -> Result<T, NotAnEvent> {
    decode_all::<T>(&packet.body).map_err(NotAnEvent::Body)
}

fn params(list: &[TypedParam]) -> Vec<CoreParam> {
    list.iter().map(CoreParam::from).collect()
}

fn address(a: &crate::rpc::protocol::GraphicsAddress) -> GraphicsAddress {
    GraphicsAddress { family: a.family, node: CText::new(&a.node), service: CText::new(&a.service) }
}

/// A legacy body (IDs 0-15) as a domain event.
trait LegacyBody: Xdr {
    fn event(self) -> DomainEvent;
}

macro_rules! legacy_bodies {
    ($( $msg:ident { $($field:ident),* } => |$this:ident| $payload:expr; )*) => {$(
        impl LegacyBody for $msg {
            fn event(self) -> DomainEvent {
                let $this = self;
                let payload = $payload;
                DomainEvent::new(domain_identity(&$this.dom), payload)
            }
        }
    )*};
}

legacy_bodies! {
    LifecycleMsg { } => |m| EventPayload::Lifecycle { event: m.event, detail: m.detail };
    RtcChangeMsg { } => |m| EventPayload::RtcChange { utc_offset: m.offset };
    WatchdogMsg { } => |m| EventPayload::Watchdog { action: m.action };
    IoErrorMsg { } => |m| EventPayload::IoError { src_path: CText::new(&m.src_path), dev_alias: CText::new(&m.dev_alias), action: m.action };
    GraphicsMsg { } => |m| EventPayload::Graphics {
        phase: m.phase,
        local: address(&m.local),
        remote: address(&m.remote),
        auth_scheme: CText::new(&m.auth_scheme),
        subject: m.subject.0.iter().map(|i| (CText::new(&i.kind), CText::new(&i.name))).collect(),
    };
    IoErrorReasonMsg { } => |m| EventPayload::IoErrorReason {
        src_path: CText::new(&m.src_path),
        dev_alias: CText::new(&m.dev_alias),
        action: m.action,
        reason: CText::new(&m.reason),
    };
    BlockJobMsg { } => |m| EventPayload::BlockJob { disk: CText::new(&m.path), job_type: m.kind, status: m.status };
    DiskChangeMsg { } => |m| EventPayload::DiskChange {
        old_src_path: m.old_src_path.as_deref().unwrap_or_default().into(),
        new_src_path: m.new_src_path.as_deref().unwrap_or_default().into(),
        dev_alias: CText::new(&m.dev_alias),
        reason: m.reason,
    };
    TrayChangeMsg { } => |m| EventPayload::TrayChange { dev_alias: CText::new(&m.dev_alias), reason: m.reason };
    BalloonChangeMsg { } => |m| EventPayload::BalloonChange { actual: m.actual };
    DeviceAliasMsg { } => |m| EventPayload::DeviceRemoved { dev_alias: CText::new(&m.dev_alias) };
}

fn legacy<M: LegacyBody>(packet: &Packet) -> Result<(RemoteId, Event), NotAnEvent> {
    Ok((None, body::<M>(packet)?.event().into()))
}

fn wrapped<M: LegacyBody>(packet: &Packet) -> Result<(RemoteId, Event), NotAnEvent> {
    let Callback { callback_id, msg } = body::<Callback<M>>(packet)?;
    Ok((Some(callback_id), msg.event().into()))
}

fn domain_only(packet: &Packet, payload: EventPayload) -> Result<(RemoteId, Event), NotAnEvent> {
    let msg = body::<DomainOnlyMsg>(packet)?;
    Ok((None, DomainEvent::new(domain_identity(&msg.dom), payload).into()))
}

fn callback_domain_only(packet: &Packet, payload: EventPayload) -> Result<(RemoteId, Event), NotAnEvent> {
    let Callback { callback_id, msg } = body::<Callback<DomainOnlyMsg>>(packet)?;
    Ok((Some(callback_id), DomainEvent::new(domain_identity(&msg.dom), payload).into()))
}

fn with_reason(packet: &Packet, payload: impl FnOnce(i32) -> EventPayload) -> Result<(RemoteId, Event), NotAnEvent> {
    let CallbackWithReason { callback_id, reason, msg } = body::<CallbackWithReason<DomainOnlyMsg>>(packet)?;
    Ok((Some(callback_id), DomainEvent::new(domain_identity(&msg.dom), payload(reason)).into()))
}

fn domain(callback_id: i32, dom: &NonnullDomain, payload: EventPayload) -> XdrResult<(RemoteId, Event)> {
    Ok((Some(callback_id), DomainEvent::new(domain_identity(dom), payload).into()))
}

fn object(callback_id: i32, class: EventClass, object: ObjectIdentity, payload: ObjectPayload) -> (RemoteId, Event) {
    (Some(callback_id), ObjectEvent { class, object, payload }.into())
}

fn secret(s: &NonnullSecret) -> ObjectIdentity {
    ObjectIdentity { usage_type: s.usage_type, ..ObjectIdentity::named(s.usage_id.clone(), s.uuid) }
}

/// The event a message of the remote or QEMU program carries, with the
/// server's callback ID it is addressed to.
pub fn decode(packet: &Packet) -> Result<(RemoteId, Event), NotAnEvent> {
    use remote::*;
    use EventPayload as P;
    if packet.header.program == QEMU_PROGRAM {
        if packet.header.procedure != qemu::DOMAIN_MONITOR_EVENT {
            return Err(NotAnEvent::UnknownProcedure);
        }
        let m = body::<QemuMonitorEventMsg>(packet)?;
        let event = QemuMonitorEvent {
            domain: domain_identity(&m.dom),
            name: m.event.into(),
            seconds: m.seconds,
            micros: m.micros,
            details: m.details.map(CText::from),
        };
        return Ok((Some(m.callback_id), event.into()));
    }
    let plain = |event_id| ObjectPayload::Plain { event_id };
    let lifecycle = |event, detail| ObjectPayload::Lifecycle { event, detail };
    let result = match packet.header.procedure {
        DOMAIN_EVENT_LIFECYCLE => return legacy::<LifecycleMsg>(packet),
        DOMAIN_EVENT_REBOOT => return domain_only(packet, P::Reboot),
        DOMAIN_EVENT_RTC_CHANGE => return legacy::<RtcChangeMsg>(packet),
        DOMAIN_EVENT_WATCHDOG => return legacy::<WatchdogMsg>(packet),
        DOMAIN_EVENT_IO_ERROR => return legacy::<IoErrorMsg>(packet),
        DOMAIN_EVENT_GRAPHICS => return legacy::<GraphicsMsg>(packet),
        DOMAIN_EVENT_IO_ERROR_REASON => return legacy::<IoErrorReasonMsg>(packet),
        DOMAIN_EVENT_CONTROL_ERROR => return domain_only(packet, P::ControlError),
        DOMAIN_EVENT_BLOCK_JOB => return legacy::<BlockJobMsg>(packet),
        DOMAIN_EVENT_DISK_CHANGE => return legacy::<DiskChangeMsg>(packet),
        DOMAIN_EVENT_TRAY_CHANGE => return legacy::<TrayChangeMsg>(packet),
        // The legacy PM messages carry no reason; libvirt reports 0.
        DOMAIN_EVENT_PMWAKEUP => return domain_only(packet, P::PmWakeup { reason: 0 }),
        DOMAIN_EVENT_PMSUSPEND => return domain_only(packet, P::PmSuspend { reason: 0 }),
        DOMAIN_EVENT_BALLOON_CHANGE => return legacy::<BalloonChangeMsg>(packet),
        DOMAIN_EVENT_PMSUSPEND_DISK => return domain_only(packet, P::PmSuspendDisk { reason: 0 }),
        DOMAIN_EVENT_DEVICE_REMOVED => return legacy::<DeviceAliasMsg>(packet),
        DOMAIN_EVENT_CALLBACK_LIFECYCLE => return wrapped::<LifecycleMsg>(packet),
        DOMAIN_EVENT_CALLBACK_REBOOT => return callback_domain_only(packet, P::Reboot),
        DOMAIN_EVENT_CALLBACK_RTC_CHANGE => return wrapped::<RtcChangeMsg>(packet),
        DOMAIN_EVENT_CALLBACK_WATCHDOG => return wrapped::<WatchdogMsg>(packet),
        DOMAIN_EVENT_CALLBACK_IO_ERROR => return wrapped::<IoErrorMsg>(packet),
        DOMAIN_EVENT_CALLBACK_GRAPHICS => return wrapped::<GraphicsMsg>(packet),
        DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON => return wrapped::<IoErrorReasonMsg>(packet),
        DOMAIN_EVENT_CALLBACK_CONTROL_ERROR => return callback_domain_only(packet, P::ControlError),
        DOMAIN_EVENT_CALLBACK_BLOCK_JOB => return wrapped::<BlockJobMsg>(packet),
        DOMAIN_EVENT_CALLBACK_DISK_CHANGE => return wrapped::<DiskChangeMsg>(packet),
        DOMAIN_EVENT_CALLBACK_TRAY_CHANGE => return wrapped::<TrayChangeMsg>(packet),
        DOMAIN_EVENT_CALLBACK_PMWAKEUP => return with_reason(packet, |reason| P::PmWakeup { reason }),
        DOMAIN_EVENT_CALLBACK_PMSUSPEND => return with_reason(packet, |reason| P::PmSuspend { reason }),
        DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE => return wrapped::<BalloonChangeMsg>(packet),
        DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK => return with_reason(packet, |reason| P::PmSuspendDisk { reason }),
        DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED => return wrapped::<DeviceAliasMsg>(packet),
        DOMAIN_EVENT_BLOCK_JOB_2 => {
            let m = body::<BlockJob2Msg>(packet)?;
            domain(m.callback_id, &m.dom, P::BlockJob2 { disk: m.dst.into(), job_type: m.kind, status: m.status })
        }
        DOMAIN_EVENT_CALLBACK_TUNABLE => {
            let m = body::<TunableMsg>(packet)?;
            domain(m.callback_id, &m.dom, P::Tunable { params: params(&m.params.0) })
        }
        DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE => {
            let m = body::<AgentLifecycleMsg>(packet)?;
            domain(m.callback_id, &m.dom, P::AgentLifecycle { state: m.state, reason: m.reason })
        }
        DOMAIN_EVENT_CALLBACK_DEVICE_ADDED => {
            let m = body::<CallbackDeviceMsg>(packet)?;
            domain(m.callback_id, &m.dom, P::DeviceAdded { dev_alias: m.dev_alias.into() })
        }
        DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION => {
            let m = body::<MigrationIterationMsg>(packet)?;
            domain(m.callback_id, &m.dom, P::MigrationIteration { iteration: m.iteration })
        }
        DOMAIN_EVENT_CALLBACK_JOB_COMPLETED => {
            let m = body::<JobCompletedMsg>(packet)?;
            domain(m.callback_id, &m.dom, P::JobCompleted { params: params(&m.params.0) })
        }
        DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED => {
            let m = body::<CallbackDeviceMsg>(packet)?;
            domain(m.callback_id, &m.dom, P::DeviceRemovalFailed { dev_alias: m.dev_alias.into() })
        }
        DOMAIN_EVENT_CALLBACK_METADATA_CHANGE => {
            let m = body::<MetadataChangeMsg>(packet)?;
            domain(
                m.callback_id,
                &m.dom,
                P::MetadataChange { metadata_type: m.kind, nsuri: m.nsuri.unwrap_or_default().into() },
            )
        }
        DOMAIN_EVENT_BLOCK_THRESHOLD => {
            let m = body::<BlockThresholdMsg>(packet)?;
            let payload = P::BlockThreshold {
                dev: m.dev.into(),
                path: m.path.unwrap_or_default().into(),
                threshold: m.threshold,
                excess: m.excess,
            };
            domain(m.callback_id, &m.dom, payload)
        }
        DOMAIN_EVENT_MEMORY_FAILURE => {
            let m = body::<MemoryFailureMsg>(packet)?;
            domain(m.callback_id, &m.dom, P::MemoryFailure { recipient: m.recipient, action: m.action, flags: m.flags })
        }
        DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE => {
            let m = body::<MemoryDeviceSizeChangeMsg>(packet)?;
            domain(m.callback_id, &m.dom, P::MemoryDeviceSizeChange { alias: m.alias.into(), size: m.size })
        }
        NETWORK_EVENT_LIFECYCLE => {
            let m = body::<NetworkLifecycleMsg>(packet)?;
            let net = ObjectIdentity::named(m.net.name, m.net.uuid);
            return Ok(object(m.callback_id, EventClass::Network, net, lifecycle(m.event, m.detail)));
        }
        STORAGE_POOL_EVENT_LIFECYCLE => {
            let m = body::<StoragePoolLifecycleMsg>(packet)?;
            let pool = ObjectIdentity::named(m.pool.name, m.pool.uuid);
            return Ok(object(m.callback_id, EventClass::StoragePool, pool, lifecycle(m.event, m.detail)));
        }
        STORAGE_POOL_EVENT_REFRESH => {
            let m = body::<StoragePoolRefreshMsg>(packet)?;
            let pool = ObjectIdentity::named(m.pool.name, m.pool.uuid);
            return Ok(object(m.callback_id, EventClass::StoragePool, pool, plain(1)));
        }
        NODE_DEVICE_EVENT_LIFECYCLE => {
            let m = body::<NodeDeviceLifecycleMsg>(packet)?;
            let dev = ObjectIdentity::named(m.dev.name, Uuid([0; 16]));
            return Ok(object(m.callback_id, EventClass::NodeDevice, dev, lifecycle(m.event, m.detail)));
        }
        NODE_DEVICE_EVENT_UPDATE => {
            let m = body::<NodeDeviceUpdateMsg>(packet)?;
            let dev = ObjectIdentity::named(m.dev.name, Uuid([0; 16]));
            return Ok(object(m.callback_id, EventClass::NodeDevice, dev, plain(1)));
        }
        SECRET_EVENT_LIFECYCLE => {
            let m = body::<SecretLifecycleMsg>(packet)?;
            return Ok(object(m.callback_id, EventClass::Secret, secret(&m.secret), lifecycle(m.event, m.detail)));
        }
        SECRET_EVENT_VALUE_CHANGED => {
            let m = body::<SecretValueChangedMsg>(packet)?;
            return Ok(object(m.callback_id, EventClass::Secret, secret(&m.secret), plain(1)));
        }
        _ => return Err(NotAnEvent::UnknownProcedure),
    };
    result.map_err(NotAnEvent::Body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DomainIdentity;
    use crate::event::TypedValue;
    use crate::rpc::convert::event_packet;
    use crate::rpc::packet::FrameReader;

    fn packet(bytes: &[u8]) -> Packet {
        let mut frames = FrameReader::new();
        frames.push(bytes);
        frames.next_packet().unwrap().unwrap()
    }

    /// Every event the server side can send comes back as the same event,
    /// addressed to the same callback ID (or to the legacy registrations).
    #[test]
    fn server_messages_decode_to_the_events_they_carry() {
        let dom = DomainIdentity { name: "vm".into(), uuid: Uuid::from_name("vm"), id: 3 };
        let address = || GraphicsAddress { family: 0, node: "127.0.0.1".into(), service: "5900".into() };
        let payloads = vec![
            P::Lifecycle { event: 2, detail: 0 },
            P::Reboot,
            P::RtcChange { utc_offset: -5 },
            P::Graphics {
                phase: 1,
                local: address(),
                remote: address(),
                auth_scheme: "none".into(),
                subject: vec![("x509dname".into(), "CN=me".into())],
            },
            P::PmSuspend { reason: 0 },
            P::DiskChange { old_src_path: "".into(), new_src_path: "/b".into(), dev_alias: "d".into(), reason: 0 },
            P::Tunable { params: vec![CoreParam::new("cpu_shares", TypedValue::ULLong(1024))] },
            P::BlockThreshold { dev: "vda".into(), path: "/img".into(), threshold: 1, excess: 2 },
            P::MemoryDeviceSizeChange { alias: "dimm0".into(), size: 8 },
        ];
        use EventPayload as P;
        for payload in payloads {
            let legacy_form = payload.event_id() < 16;
            let event = Event::Domain(DomainEvent::new(dom.clone(), payload));
            assert_eq!(decode(&packet(&event_packet(&event, 42, false).unwrap())).unwrap(), (Some(42), event.clone()));
            if legacy_form {
                assert_eq!(decode(&packet(&event_packet(&event, 42, true).unwrap())).unwrap(), (None, event));
            }
        }
        let secret = ObjectIdentity { usage_type: 2, ..ObjectIdentity::named("vol", Uuid::from_name("s")) };
        let event = Event::Object(ObjectEvent::lifecycle(EventClass::Secret, secret, 0, 0));
        assert_eq!(decode(&packet(&event_packet(&event, 7, false).unwrap())).unwrap(), (Some(7), event));
        let raw =
            QemuMonitorEvent { domain: dom, name: "STOP".into(), seconds: 1, micros: 2, details: Some("{}".into()) };
        let event = Event::QemuMonitor(raw);
        assert_eq!(decode(&packet(&event_packet(&event, 9, false).unwrap())).unwrap(), (Some(9), event));
    }
}
