//! What mapping one QMP event gives ([`Mapped`]), and one mapper per QMP
//! event that needs more than a line of the dispatcher.

use serde_json::Value;

use super::disks::{libvirt_node_index, strip_drive_prefix};
use super::runtime::{BlockJobState, DomainRuntime, DomainState, PausedReason};
use crate::abi::domain_event::{
    virConnectDomainEventBlockJobStatus as JobStatus, virDomainBlockJobType as JobType,
    virDomainEventGraphicsAddressType as Family, virDomainEventGraphicsPhase as Phase,
    virDomainEventIOErrorAction as IoAction, virDomainEventPMSuspendedDetailType as PmSuspended,
    virDomainEventShutdownDetailType as Shutdown, virDomainEventSuspendedDetailType as Suspended,
    virDomainEventTrayChangeReason as Tray, virDomainEventType as Ev, virDomainEventWatchdogAction as Watchdog,
    virDomainMemoryFailureActionType as MemFailAction, virDomainMemoryFailureFlags as MemFailFlags,
    virDomainMemoryFailureRecipientType as MemFailRecipient,
};
use crate::driver::qemu::qmp::{Field, QmpEvent};
use crate::event::{CText, EventPayload, GraphicsAddress};

/// The result of mapping one QMP event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapped {
    /// The libvirt events to queue, in order.
    pub events: Vec<EventPayload>,
    /// Problems with the event, for the caller's log.
    pub warnings: Vec<String>,
    /// The variable clock's new adjustment, when this event changed it; the
    /// driver should persist it.
    pub rtc_adjustment: Option<i64>,
}

pub(super) fn lifecycle(event: Ev, detail: i32) -> EventPayload {
    EventPayload::Lifecycle { event: event as i32, detail }
}

pub(super) fn data_str<'a>(ev: &'a QmpEvent, key: &str) -> Option<&'a str> {
    ev.field(key).and_then(|field| field.as_str())
}

pub(super) fn map_shutdown(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
    let guest = ev.fields().get("guest").and_then(Value::as_bool);
    rt.shutdown_seen = true;
    // A second SHUTDOWN (e.g. `quit` after a guest power-off) changes nothing.
    if rt.state == DomainState::Shutdown {
        return;
    }
    rt.state = DomainState::Shutdown;
    rt.shutdown_guest = guest;
    let detail = match guest {
        Some(true) => Shutdown::VIR_DOMAIN_EVENT_SHUTDOWN_GUEST,
        Some(false) => Shutdown::VIR_DOMAIN_EVENT_SHUTDOWN_HOST,
        None => Shutdown::VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED,
    };
    out.events.push(lifecycle(Ev::VIR_DOMAIN_EVENT_SHUTDOWN, detail as i32));
}

pub(super) fn map_rtc_change(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
    // As libvirt does, a missing offset is reported as 0 rather than dropped.
    let mut offset = ev.field("offset").and_then(|field| field.as_i64()).unwrap_or_else(|| {
        out.warnings.push(format!("RTC_CHANGE without an integer offset: {}", ev.fields()));
        0
    });
    if let Some(clock) = rt.clock.as_mut() {
        // QEMU counts from the base date it was started with, i.e. from adjustment0.
        offset = offset.saturating_add(clock.adjustment0);
        clock.adjustment = offset;
        out.rtc_adjustment = Some(offset);
    }
    out.events.push(EventPayload::RtcChange { utc_offset: offset });
}

pub(super) fn map_watchdog(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
    let action = match data_str(ev, "action") {
        Some("none") => Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_NONE,
        Some("pause") => Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_PAUSE,
        Some("reset") => Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_RESET,
        Some("poweroff") => Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF,
        Some("shutdown") => Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN,
        Some("debug") => Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_DEBUG,
        Some("inject-nmi") => Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI,
        other => {
            out.warnings.push(match other {
                Some(action) => format!("unknown watchdog action '{action}'"),
                None => "WATCHDOG without an action".to_owned(),
            });
            Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_NONE
        }
    };
    let pause = matches!(action, Watchdog::VIR_DOMAIN_EVENT_WATCHDOG_PAUSE);
    out.events.push(EventPayload::Watchdog { action: action as i32 });
    if pause && rt.state == DomainState::Running {
        rt.state = DomainState::Paused(PausedReason::Watchdog);
        out.events
            .push(lifecycle(Ev::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG as i32));
    }
}

pub(super) fn map_io_error(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
    // Nothing here drops the event: an application wants every IO error.
    let action = match data_str(ev, "action") {
        Some("ignore") => IoAction::VIR_DOMAIN_EVENT_IO_ERROR_NONE,
        Some("stop") => IoAction::VIR_DOMAIN_EVENT_IO_ERROR_PAUSE,
        Some("report") => IoAction::VIR_DOMAIN_EVENT_IO_ERROR_REPORT,
        other => {
            out.warnings.push(match other {
                Some(action) => format!("unknown disk IO error action '{action}'"),
                None => "BLOCK_IO_ERROR without an action".to_owned(),
            });
            IoAction::VIR_DOMAIN_EVENT_IO_ERROR_NONE
        }
    };
    let device = data_str(ev, "device");
    if device.is_none() {
        out.warnings.push("BLOCK_IO_ERROR without a device".to_owned());
    }
    let disk = match (device.filter(|d| !d.is_empty()), data_str(ev, "node-name")) {
        (Some(device), _) => rt.disks.by_device(device),
        (None, Some(node)) => rt.disks.by_node_name(node),
        (None, None) => None,
    };
    let (src_path, dev_alias): (CText, CText) =
        disk.map(|d| (d.src_path.as_str().into(), d.alias.as_str().into())).unwrap_or_default();
    let pause = matches!(action, IoAction::VIR_DOMAIN_EVENT_IO_ERROR_PAUSE);
    let nospace = ev.fields().get("nospace").and_then(Value::as_bool) == Some(true);
    let action = action as i32;
    out.events.push(EventPayload::IoError { src_path: src_path.clone(), dev_alias: dev_alias.clone(), action });
    out.events.push(EventPayload::IoErrorReason {
        src_path,
        dev_alias,
        action,
        reason: if nospace { "enospc" } else { "" }.into(),
    });
    if pause && rt.state == DomainState::Running {
        rt.state = DomainState::Paused(PausedReason::IoError);
        out.events
            .push(lifecycle(Ev::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_IOERROR as i32));
    }
}

pub(super) fn pm_suspend(rt: &mut DomainRuntime, detail: PmSuspended, out: &mut Mapped) {
    if rt.state == DomainState::Running {
        rt.state = DomainState::PmSuspended;
        out.events.push(lifecycle(Ev::VIR_DOMAIN_EVENT_PMSUSPENDED, detail as i32));
    }
}

/// DEVICE_TRAY_MOVED {device, id, tray-open}: the guest device's id is the
/// alias (else the backend name without `drive-`).
pub(super) fn map_tray_moved(ev: &QmpEvent, out: &mut Mapped) {
    let alias = match (data_str(ev, "id").filter(|id| !id.is_empty()), data_str(ev, "device")) {
        (Some(id), _) => id.to_owned(),
        (None, Some(device)) if !device.is_empty() => strip_drive_prefix(device).to_owned(),
        _ => {
            out.warnings.push(format!("DEVICE_TRAY_MOVED without a device: {}", ev.fields()));
            return;
        }
    };
    let Some(open) = ev.fields().get("tray-open").and_then(Value::as_bool) else {
        out.warnings.push(format!("DEVICE_TRAY_MOVED without tray-open: {}", ev.fields()));
        return;
    };
    let reason = if open { Tray::VIR_DOMAIN_EVENT_TRAY_CHANGE_OPEN } else { Tray::VIR_DOMAIN_EVENT_TRAY_CHANGE_CLOSE };
    out.events.push(EventPayload::TrayChange { dev_alias: alias.into(), reason: reason as i32 });
}

/// BLOCK_WRITE_THRESHOLD {node-name, write-threshold, amount-exceeded}: as
/// libvirt, one event named after the disk when the node is the disk's own
/// image, and one named `disk[N]` after the image's index N when known.
pub(super) fn map_block_threshold(rt: &DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
    let node = data_str(ev, "node-name").unwrap_or_default();
    let number = |key: &str| ev.fields().get(key).and_then(Value::as_u64);
    let (Some(threshold), Some(excess)) = (number("write-threshold"), number("amount-exceeded")) else {
        out.warnings.push(format!("BLOCK_WRITE_THRESHOLD without threshold or excess: {}", ev.fields()));
        return;
    };
    let Some((disk, index)) = rt.disks.by_any_node(node) else {
        out.warnings.push(format!("BLOCK_WRITE_THRESHOLD for unknown node '{node}'"));
        return;
    };
    let target = disk.target();
    let top = libvirt_node_index(&disk.node_name);
    let path = CText::new(&disk.src_path);
    if top.is_none() || index == top {
        out.events.push(EventPayload::BlockThreshold { dev: (&target).into(), path: path.clone(), threshold, excess });
    }
    if let Some(index) = index {
        let dev = format!("{target}[{index}]").into();
        out.events.push(EventPayload::BlockThreshold { dev, path, threshold, excess });
    }
}

/// JOB_STATUS_CHANGE {id, status}: tracks block jobs; `null` (dismissed)
/// forgets them. Reports come with QEMU's BLOCK_JOB_* events, which name the
/// job type.
pub(super) fn map_job_status(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
    let (Some(id), Some(status)) = (data_str(ev, "id"), data_str(ev, "status")) else {
        out.warnings.push(format!("JOB_STATUS_CHANGE without id or status: {}", ev.fields()));
        return;
    };
    match status {
        "created" => {
            rt.block_jobs.insert(id.to_owned(), BlockJobState::default());
        }
        "null" => {
            rt.block_jobs.remove(id);
        }
        _ => {}
    }
}

/// BLOCK_JOB_{READY,COMPLETED,CANCELLED} {device, type, ...}: BLOCK_JOB with
/// the disk's source path, then BLOCK_JOB_2 with its target.
pub(super) fn map_block_job(rt: &mut DomainRuntime, ev: &QmpEvent, status: JobStatus, out: &mut Mapped) {
    let device = data_str(ev, "device").unwrap_or_default();
    let job_type = match data_str(ev, "type") {
        Some("stream") => JobType::VIR_DOMAIN_BLOCK_JOB_TYPE_PULL,
        Some("mirror") => JobType::VIR_DOMAIN_BLOCK_JOB_TYPE_COPY,
        Some("commit") => JobType::VIR_DOMAIN_BLOCK_JOB_TYPE_COMMIT,
        Some("backup") => JobType::VIR_DOMAIN_BLOCK_JOB_TYPE_BACKUP,
        _ => JobType::VIR_DOMAIN_BLOCK_JOB_TYPE_UNKNOWN,
    };
    let job = rt.block_jobs.entry(device.to_owned()).or_default();
    if matches!(status, JobStatus::VIR_DOMAIN_BLOCK_JOB_READY) {
        if job.ready {
            return;
        }
        job.ready = true;
    }
    let Some(disk) = rt.disks.by_job(device) else {
        out.warnings.push(format!("{} for a job on no known disk: '{device}'", ev.name));
        return;
    };
    let (job_type, status) = (job_type as i32, status as i32);
    out.events.push(EventPayload::BlockJob { disk: (&disk.src_path).into(), job_type, status });
    out.events.push(EventPayload::BlockJob2 { disk: disk.target().into(), job_type, status });
}

/// MEMORY_FAILURE {recipient, action, flags: {action-required, recursive}}.
pub(super) fn map_memory_failure(ev: &QmpEvent, out: &mut Mapped) {
    let recipient = match data_str(ev, "recipient") {
        Some("hypervisor") => MemFailRecipient::VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_HYPERVISOR,
        Some("guest") => MemFailRecipient::VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_GUEST,
        other => {
            out.warnings.push(format!("MEMORY_FAILURE with unknown recipient {other:?}: dropped"));
            return;
        }
    };
    let action = match data_str(ev, "action") {
        Some("ignore") => MemFailAction::VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_IGNORE,
        Some("inject") => MemFailAction::VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_INJECT,
        Some("fatal") => MemFailAction::VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_FATAL,
        Some("reset") => MemFailAction::VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_RESET,
        other => {
            out.warnings.push(format!("MEMORY_FAILURE with unknown action {other:?}: dropped"));
            return;
        }
    };
    let flag = |key: &str| ev.fields().get("flags").and_then(|f| f.get(key)).and_then(Value::as_bool) == Some(true);
    let mut flags = 0;
    if flag("action-required") {
        flags |= MemFailFlags::VIR_DOMAIN_MEMORY_FAILURE_ACTION_REQUIRED as u32;
    }
    if flag("recursive") {
        flags |= MemFailFlags::VIR_DOMAIN_MEMORY_FAILURE_RECURSIVE as u32;
    }
    out.events.push(EventPayload::MemoryFailure { recipient: recipient as i32, action: action as i32, flags });
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    Vnc,
    Spice,
}

/// The graphics events: QMP's name, and the phase (a
/// `virDomainEventGraphicsPhase`) and protocol libvirt reports.
const GRAPHICS_EVENTS: [(&str, i32, Protocol); 6] = [
    ("VNC_CONNECTED", Phase::VIR_DOMAIN_EVENT_GRAPHICS_CONNECT as i32, Protocol::Vnc),
    ("VNC_INITIALIZED", Phase::VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE as i32, Protocol::Vnc),
    ("VNC_DISCONNECTED", Phase::VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT as i32, Protocol::Vnc),
    ("SPICE_CONNECTED", Phase::VIR_DOMAIN_EVENT_GRAPHICS_CONNECT as i32, Protocol::Spice),
    ("SPICE_INITIALIZED", Phase::VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE as i32, Protocol::Spice),
    ("SPICE_DISCONNECTED", Phase::VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT as i32, Protocol::Spice),
];

/// The graphics event `name` is, if one: its name (static), phase and
/// protocol.
pub(super) fn graphics_event(name: &str) -> Option<(&'static str, i32, Protocol)> {
    GRAPHICS_EVENTS.iter().find(|(known, ..)| *known == name).copied()
}

/// One end of a graphics connection: `obj`, the event's `server` or
/// `client`; the service is `service` for VNC and `port` for SPICE. Returns
/// the address, with the end's `auth`, `x509_dname` and `sasl_username`.
fn graphics_address<'a>(
    ev: &QmpEvent,
    end: &str,
    obj: Option<Field<'a>>,
    protocol: Protocol,
    out: &mut Mapped,
) -> Option<(GraphicsAddress, [Option<&'a str>; 3])> {
    let Some(obj) = obj.filter(Field::is_object) else {
        out.warnings.push(format!("{} without {end} information: dropped", ev.name));
        return None;
    };
    let service_key = if protocol == Protocol::Spice { "port" } else { "service" };
    let [family, node, service, auth, dname, user] =
        obj.get_all_as(["family", "host", service_key, "auth", "x509_dname", "sasl_username"], |field| field.as_str());
    let (Some(family), Some(node), Some(service)) = (family, node, service) else {
        out.warnings.push(format!("{} {end} lacks family, host or {service_key}: dropped", ev.name));
        return None;
    };
    let family = match family {
        "ipv4" => Family::VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4,
        "ipv6" => Family::VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6,
        "unix" => Family::VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX,
        other => {
            out.warnings.push(format!("unknown address family '{other}' in {}: using ipv4", ev.name));
            Family::VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4
        }
    };
    let address = GraphicsAddress { family: family as i32, node: node.into(), service: service.into() };
    Some((address, [auth, dname, user]))
}

pub(super) fn map_graphics(ev: &QmpEvent, phase: i32, protocol: Protocol, out: &mut Mapped) {
    let [server, client] = ev.data_field().map_or([None, None], |data| data.get_all(["server", "client"]));
    let Some((local, [auth, ..])) = graphics_address(ev, "server", server, protocol, out) else {
        return;
    };
    let Some((remote, [_, dname, user])) = graphics_address(ev, "client", client, protocol, out) else {
        return;
    };
    // SPICE reports the auth scheme only once the channel is initialized.
    let with_auth = protocol == Protocol::Vnc || phase == Phase::VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE as i32;
    let auth_scheme = CText::new(if with_auth { auth.unwrap_or_default() } else { "" });
    let mut subject = Vec::new();
    if protocol == Protocol::Vnc {
        if let Some(dname) = dname {
            subject.push(("x509dname".into(), dname.into()));
        }
        if let Some(user) = user {
            subject.push(("saslUsername".into(), user.into()));
        }
    }
    out.events.push(EventPayload::Graphics { phase, local, remote, auth_scheme, subject });
}
