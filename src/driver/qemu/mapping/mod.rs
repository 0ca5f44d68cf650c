//! How QEMU's life is reported: QMP events, a monitor attaching, a launch and
//! the monitor's end turned into libvirt domain events, the way libvirt 9.0's
//! QEMU driver reports them. Every such rule lives here, with one test suite
//! (`tests.rs`, and `transcripts.rs` over every recorded session).
//!
//! [`DomainRuntime`] is what the mapping remembers about one domain between
//! events; [`map_event`], [`map_attach`], [`map_launched`], [`map_eof`] and
//! [`shown_id`] are pure functions of it and of what happened, so they can be
//! tested without a QEMU.

use serde_json::Value;

use super::qmp::QmpEvent;
use crate::abi::common::virDomainShutoffReason as Shutoff;
use crate::abi::domain_event::{
    virConnectDomainEventBlockJobStatus as JobStatus, virDomainEventCrashedDetailType as Crashed,
    virDomainEventPMSuspendedDetailType as PmSuspended, virDomainEventResumedDetailType as Resumed,
    virDomainEventStartedDetailType as Started, virDomainEventStoppedDetailType as Stopped,
    virDomainEventSuspendedDetailType as Suspended, virDomainEventType as Ev,
};
use crate::event::EventPayload;

mod disks;
mod events;
mod runtime;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transcripts;

pub use disks::{DiskInfo, DiskTable};
pub use events::Mapped;
use events::*;
pub use runtime::{BlockJobState, DomainRuntime, DomainState, PausedReason, VariableClock};

/// Maps one QMP event, updating `rt`.
pub fn map_event(rt: &mut DomainRuntime, ev: &QmpEvent) -> Mapped {
    let mut out = Mapped::default();
    map_event_into(rt, ev, &mut out);
    out
}

/// Maps one QMP event into `out` (emptied first, its vectors' memory kept
/// for the next event), updating `rt`.
pub fn map_event_into(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
    out.events.clear();
    out.warnings.clear();
    out.rtc_adjustment = None;
    if rt.state == DomainState::Shutoff {
        out.warnings.push(format!("ignoring QMP event {} after the monitor closed", ev.name));
        return;
    }
    match &*ev.name {
        "RESET" => out.events.push(EventPayload::Reboot),
        // A STOP after an IO error or watchdog pause, a guest shutdown or a panic
        // finds the domain no longer running and is not reported again.
        "STOP" if rt.state == DomainState::Running => {
            rt.state = DomainState::Paused(PausedReason::Unknown);
            out.events
                .push(lifecycle(Ev::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_PAUSED as i32));
        }
        "RESUME" if rt.state != DomainState::Running => {
            rt.state = DomainState::Running;
            out.events.push(lifecycle(Ev::VIR_DOMAIN_EVENT_RESUMED, Resumed::VIR_DOMAIN_EVENT_RESUMED_UNPAUSED as i32));
        }
        // PMWAKEUP always; only a guest that went to sleep wakes up "started".
        "WAKEUP" => {
            out.events.push(EventPayload::PmWakeup { reason: 0 });
            if rt.state == DomainState::PmSuspended {
                rt.state = DomainState::Running;
                out.events
                    .push(lifecycle(Ev::VIR_DOMAIN_EVENT_STARTED, Started::VIR_DOMAIN_EVENT_STARTED_WAKEUP as i32));
            }
        }
        "STOP" | "RESUME" | "POWERDOWN" => {}
        "SHUTDOWN" => map_shutdown(rt, ev, out),
        "RTC_CHANGE" => map_rtc_change(rt, ev, out),
        "WATCHDOG" => map_watchdog(rt, ev, out),
        "BLOCK_IO_ERROR" => map_io_error(rt, ev, out),
        "SUSPEND" => {
            out.events.push(EventPayload::PmSuspend { reason: 0 });
            pm_suspend(rt, PmSuspended::VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY, out);
        }
        "SUSPEND_DISK" => {
            out.events.push(EventPayload::PmSuspendDisk { reason: 0 });
            pm_suspend(rt, PmSuspended::VIR_DOMAIN_EVENT_PMSUSPENDED_DISK, out);
        }
        "GUEST_PANICKED" => {
            rt.state = DomainState::Crashed;
            out.events.push(lifecycle(Ev::VIR_DOMAIN_EVENT_CRASHED, Crashed::VIR_DOMAIN_EVENT_CRASHED_PANICKED as i32));
        }
        "GUEST_CRASHLOADED" => {
            // The guest went on running its crash kernel: no state change.
            out.events
                .push(lifecycle(Ev::VIR_DOMAIN_EVENT_CRASHED, Crashed::VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED as i32));
        }
        "DEVICE_TRAY_MOVED" => map_tray_moved(ev, out),
        "BALLOON_CHANGE" => match ev.fields().get("actual").and_then(Value::as_u64) {
            // Bytes to KiB, rounded up.
            Some(actual) => out.events.push(EventPayload::BalloonChange { actual: actual.div_ceil(1024) }),
            None => out.warnings.push(format!("BALLOON_CHANGE without an actual size: {}", ev.fields())),
        },
        // Devices without an ID (a disk's virtio backend, ...) are none of libvirt's.
        "DEVICE_DELETED" => {
            if let Some(device) = data_str(ev, "device").filter(|d| !d.is_empty()) {
                out.events.push(EventPayload::DeviceRemoved { dev_alias: device.into() });
            }
        }
        "DEVICE_UNPLUG_GUEST_ERROR" => {
            if let Some(device) = data_str(ev, "device").filter(|d| !d.is_empty()) {
                out.events.push(EventPayload::DeviceRemovalFailed { dev_alias: device.into() });
            }
        }
        "BLOCK_WRITE_THRESHOLD" => map_block_threshold(rt, ev, out),
        "JOB_STATUS_CHANGE" => map_job_status(rt, ev, out),
        "BLOCK_JOB_READY" => map_block_job(rt, ev, JobStatus::VIR_DOMAIN_BLOCK_JOB_READY, out),
        "BLOCK_JOB_COMPLETED" => {
            // A job that ends with an error reports it in the completion event.
            let status = if ev.fields().get("error").is_some() {
                JobStatus::VIR_DOMAIN_BLOCK_JOB_FAILED
            } else {
                JobStatus::VIR_DOMAIN_BLOCK_JOB_COMPLETED
            };
            map_block_job(rt, ev, status, out);
        }
        "BLOCK_JOB_CANCELLED" => map_block_job(rt, ev, JobStatus::VIR_DOMAIN_BLOCK_JOB_CANCELED, out),
        // An I/O error inside a job (its policy decides what follows): BLOCK_IO_ERROR
        // and the job's end report what an application sees.
        "BLOCK_JOB_ERROR" => {}
        "MEMORY_FAILURE" => map_memory_failure(ev, out),
        "MEMORY_DEVICE_SIZE_CHANGE" => {
            match (data_str(ev, "id").filter(|id| !id.is_empty()), ev.fields().get("size").and_then(Value::as_u64)) {
                (Some(alias), Some(size)) => out
                    .events
                    .push(EventPayload::MemoryDeviceSizeChange { alias: alias.into(), size: size.div_ceil(1024) }),
                _ => {
                    out.warnings.push(format!("MEMORY_DEVICE_SIZE_CHANGE without a device id or size: {}", ev.fields()))
                }
            }
        }
        "MIGRATION_PASS" => match ev.fields().get("pass").and_then(Value::as_i64) {
            Some(pass) => {
                out.events.push(EventPayload::MigrationIteration { iteration: i32::try_from(pass).unwrap_or(i32::MAX) })
            }
            None => out.warnings.push(format!("MIGRATION_PASS without a pass number: {}", ev.fields())),
        },
        other => map_deferred(other, ev, out),
    }
}

/// Whether the mapping of `ev` may wait for its delivery (see
/// `event::state::MakePayload`): it reads nothing of the domain's state and
/// changes none, as for graphics connections. Returns the event's name, for
/// [`map_deferred`] to know the event by.
pub fn deferrable(rt: &DomainRuntime, ev: &QmpEvent) -> Option<&'static str> {
    // After the monitor closed, the event is ignored (and said so) at once.
    (rt.state != DomainState::Shutoff).then_some(())?;
    graphics_event(&ev.name).map(|(name, ..)| name)
}

/// Maps `ev`, of one of the events whose mapping may wait for its delivery
/// ([`deferrable`]) and named `name`, into `out` (not emptied first).
pub fn map_deferred(name: &str, ev: &QmpEvent, out: &mut Mapped) {
    if let Some((_, phase, protocol)) = graphics_event(name) {
        map_graphics(ev, phase, protocol, out);
    }
}

/// How a domain's monitor came to be attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// Found when the connection opened: the domain was there before, and
    /// nothing is reported.
    AtOpen,
    /// Launched by the driver, whose start [`map_launched`] reports once it
    /// lets the domain run.
    Launched,
    /// A QEMU that appeared later: it started (and, if it waits paused, was
    /// suspended).
    Appeared,
}

/// The events of a monitor attaching, with `rt` as QEMU reported it.
pub fn map_attach(rt: &DomainRuntime, how: Attach) -> Vec<EventPayload> {
    match how {
        Attach::AtOpen | Attach::Launched => Vec::new(),
        Attach::Appeared => {
            let mut events =
                vec![lifecycle(Ev::VIR_DOMAIN_EVENT_STARTED, Started::VIR_DOMAIN_EVENT_STARTED_BOOTED as i32)];
            if matches!(rt.state, DomainState::Paused(_)) {
                events.push(lifecycle(
                    Ev::VIR_DOMAIN_EVENT_SUSPENDED,
                    Suspended::VIR_DOMAIN_EVENT_SUSPENDED_PAUSED as i32,
                ));
            }
            events
        }
    }
}

/// The driver launched a domain paused and let it run: libvirt reports
/// `Started Booted`, after QEMU's `Resumed Unpaused`.
pub fn map_launched() -> Vec<EventPayload> {
    vec![lifecycle(Ev::VIR_DOMAIN_EVENT_STARTED, Started::VIR_DOMAIN_EVENT_STARTED_BOOTED as i32)]
}

/// Why a domain's monitor ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// QEMU went away by itself (or was killed by someone else).
    Exited,
    /// QEMU ended on the caller's request (`virDomainDestroy`).
    Destroyed,
}

/// The monitor closed: QEMU is gone.
pub fn map_eof(rt: &mut DomainRuntime, end: End) -> Vec<EventPayload> {
    if rt.state == DomainState::Shutoff {
        return Vec::new();
    }
    rt.state = DomainState::Shutoff;
    // Without a SHUTDOWN first, QEMU died (killed, crashed, or a watchdog poweroff).
    let detail = match end {
        End::Destroyed => Stopped::VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
        End::Exited if rt.shutdown_seen => Stopped::VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
        End::Exited => Stopped::VIR_DOMAIN_EVENT_STOPPED_FAILED,
    };
    vec![lifecycle(Ev::VIR_DOMAIN_EVENT_STOPPED, detail as i32)]
}

/// libvirt's reason for the shut-off state a `Stopped` event leaves
/// (`virDomainGetState`): as its QEMU driver, a QEMU that died without a
/// `SHUTDOWN` ("failed") leaves the domain "crashed".
pub fn shutoff_reason(payload: &EventPayload) -> Option<Shutoff> {
    let EventPayload::Lifecycle { event, detail } = *payload else { return None };
    (event == Ev::VIR_DOMAIN_EVENT_STOPPED as i32).then_some(())?;
    Some(match detail {
        d if d == Stopped::VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN as i32 => Shutoff::VIR_DOMAIN_SHUTOFF_SHUTDOWN,
        d if d == Stopped::VIR_DOMAIN_EVENT_STOPPED_DESTROYED as i32 => Shutoff::VIR_DOMAIN_SHUTOFF_DESTROYED,
        d if d == Stopped::VIR_DOMAIN_EVENT_STOPPED_FAILED as i32 => Shutoff::VIR_DOMAIN_SHUTOFF_CRASHED,
        _ => Shutoff::VIR_DOMAIN_SHUTOFF_UNKNOWN,
    })
}

/// The domain ID an event shows: the domain's own while its QEMU runs, -1
/// (an inactive domain's) with `Stopped` and with what its end brings.
pub fn shown_id(rt: &DomainRuntime, id: i32, payload: &EventPayload) -> i32 {
    let stopped =
        matches!(payload, EventPayload::Lifecycle { event, .. } if *event == Ev::VIR_DOMAIN_EVENT_STOPPED as i32);
    if stopped || rt.state == DomainState::Shutoff {
        -1
    } else {
        id
    }
}
