//! QEMU's QMP events turned into libvirt domain events, the way libvirt 9.0's
//! QEMU driver reports them.
//!
//! [`DomainRuntime`] is what the mapping remembers about one domain between
//! events; [`map_event`] and [`map_eof`] are pure functions of it and of the
//! event, so they can be tested without a QEMU.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::qmp::QmpEvent;
use crate::abi::domain_event::{
    virConnectDomainEventBlockJobStatus as JobStatus, virDomainBlockJobType as JobType,
    virDomainEventCrashedDetailType as Crashed, virDomainEventGraphicsAddressType as Family,
    virDomainEventGraphicsPhase as Phase, virDomainEventIOErrorAction as IoAction,
    virDomainEventPMSuspendedDetailType as PmSuspended, virDomainEventResumedDetailType as Resumed,
    virDomainEventShutdownDetailType as Shutdown, virDomainEventStartedDetailType as Started,
    virDomainEventStoppedDetailType as Stopped, virDomainEventSuspendedDetailType as Suspended,
    virDomainEventTrayChangeReason as Tray, virDomainEventType as Ev, virDomainEventWatchdogAction as Watchdog,
    virDomainMemoryFailureActionType as MemFailAction, virDomainMemoryFailureFlags as MemFailFlags,
    virDomainMemoryFailureRecipientType as MemFailRecipient,
};
use crate::event::{EventPayload, GraphicsAddress};

/// Why a paused domain is paused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PausedReason {
    /// Paused by something the driver did not observe (e.g. a plain `STOP`).
    Unknown,
    /// Paused on request (`query-status` says `paused`).
    User,
    /// Started with `-S` and not yet continued (`prelaunch`).
    StartingUp,
    /// Stopped by a disk error policy.
    IoError,
    /// Stopped by the watchdog.
    Watchdog,
    /// Stopped for or after a migration.
    Migration,
}

/// The domain's state as far as event mapping is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainState {
    Running,
    Paused(PausedReason),
    /// The guest shut down (a `SHUTDOWN` event) and QEMU has not exited yet.
    Shutdown,
    /// The guest is in ACPI S3 or S4.
    PmSuspended,
    /// The guest panicked.
    Crashed,
    /// The monitor is gone: QEMU has exited.
    Shutoff,
}

impl DomainState {
    /// The state a QEMU run state (`query-status`'s `status`) corresponds to.
    /// `running` is `query-status`'s flag, used for states this does not know.
    pub fn from_run_status(status: &str, running: bool) -> DomainState {
        match status {
            "running" => DomainState::Running,
            "prelaunch" => DomainState::Paused(PausedReason::StartingUp),
            "paused" => DomainState::Paused(PausedReason::User),
            "io-error" => DomainState::Paused(PausedReason::IoError),
            "watchdog" => DomainState::Paused(PausedReason::Watchdog),
            "inmigrate" | "postmigrate" | "finish-migrate" => DomainState::Paused(PausedReason::Migration),
            "suspended" => DomainState::PmSuspended,
            "shutdown" => DomainState::Shutdown,
            "guest-panicked" => DomainState::Crashed,
            _ if running => DomainState::Running,
            _ => DomainState::Paused(PausedReason::Unknown),
        }
    }

    /// The state described by a `query-status` reply
    /// (`{"running": bool, "status": "..."}`).
    pub fn from_query_status(reply: &Value) -> Result<DomainState, String> {
        let running = reply.get("running").and_then(Value::as_bool);
        match (reply.get("status").and_then(Value::as_str), running) {
            (Some(status), running) => Ok(DomainState::from_run_status(status, running.unwrap_or(false))),
            (None, Some(true)) => Ok(DomainState::Running),
            (None, Some(false)) => Ok(DomainState::Paused(PausedReason::Unknown)),
            (None, None) => Err(format!("query-status reply has neither status nor running: {reply}")),
        }
    }
}

/// `<clock offset='variable'>`: the adjustment the domain was started with
/// and the one it has now (guest RTC minus host UTC, in seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VariableClock {
    pub adjustment0: i64,
    pub adjustment: i64,
}

impl VariableClock {
    pub fn new(adjustment0: i64) -> VariableClock {
        VariableClock { adjustment0, adjustment: adjustment0 }
    }
}

/// One disk, as IO error events need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskInfo {
    /// libvirt's device alias (the guest device's id, e.g. `ide0-0-0`).
    pub alias: String,
    /// The disk's source, reported as the event's `srcPath`.
    pub src_path: String,
    /// QEMU's block backend name (`drive-ide0-0-0` with `-drive`; empty with `-blockdev`).
    pub device: String,
    /// The top block node's name (`libvirt-1-format`, or `#block123` with `-drive`).
    pub node_name: String,
}

/// The domain's disks, looked up by QEMU's device name or node name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskTable {
    disks: Vec<DiskInfo>,
}

fn strip_drive_prefix(name: &str) -> &str {
    name.strip_prefix("drive-").unwrap_or(name)
}

/// The alias of a `query-block` entry: its guest device's id. `qdev` is the
/// id, or a QOM path such as `/machine/peripheral/virtio-disk0/virtio-backend`
/// whose component after `/machine/peripheral/` is the id; without a usable
/// `qdev`, the backend name without its `drive-` prefix.
fn alias_from_query_block(qdev: &str, device: &str) -> String {
    if let Some(rest) = qdev.strip_prefix("/machine/peripheral/") {
        rest.split('/').next().unwrap_or_default().to_owned()
    } else if !qdev.is_empty() && !qdev.starts_with('/') {
        qdev.to_owned()
    } else {
        strip_drive_prefix(device).to_owned()
    }
}

/// `n` as the letters libvirt's disk targets end with (0 → a, 25 → z, 26 → aa).
fn disk_letters(mut n: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// The numbers of an alias such as `ide0-1-0` after `prefix`.
fn alias_numbers(alias: &str, prefix: &str) -> Option<Vec<u32>> {
    let rest = alias.strip_prefix(prefix)?;
    rest.split('-').map(|n| n.parse().ok()).collect()
}

impl DiskInfo {
    /// The disk's target name (`hda`, `vdb`, ...) as libvirt would have named
    /// it, derived from the alias libvirt gives a disk with that target (IDE
    /// controller*4 + bus*2 + unit, SATA controller*6 + unit, virtio-disk N,
    /// SCSI controller*7 + unit, floppy unit); other aliases are returned as is.
    pub fn target(&self) -> String {
        let alias = self.alias.as_str();
        let derived = if let Some(n) = alias.strip_prefix("virtio-disk").and_then(|n| n.parse().ok()) {
            Some(format!("vd{}", disk_letters(n)))
        } else if let Some([c, b, u]) = alias_numbers(alias, "ide").as_deref() {
            Some(format!("hd{}", disk_letters(c * 4 + b * 2 + u)))
        } else if let Some([c, 0, u]) = alias_numbers(alias, "sata").as_deref() {
            Some(format!("sd{}", disk_letters(c * 6 + u)))
        } else if let Some([c, 0, 0, u]) = alias_numbers(alias, "scsi").as_deref() {
            Some(format!("sd{}", disk_letters(c * 7 + u)))
        } else if let Some([0, 0, u]) = alias_numbers(alias, "fdc").as_deref() {
            Some(format!("fd{}", disk_letters(*u)))
        } else {
            None
        };
        derived.unwrap_or_else(|| self.alias.clone())
    }
}

/// N of libvirt's node names `libvirt-N-format` / `libvirt-N-storage`.
fn libvirt_node_index(node: &str) -> Option<u32> {
    let rest = node.strip_prefix("libvirt-")?;
    let (n, kind) = rest.split_once('-')?;
    matches!(kind, "format" | "storage" | "slice-sto" | "slice-fmt").then(|| n.parse().ok())?
}

impl DiskTable {
    pub fn new() -> DiskTable {
        DiskTable::default()
    }

    pub fn insert(&mut self, disk: DiskInfo) {
        self.disks.push(disk);
    }

    /// Makes `source` the reported path of the disk `alias` (a domain the
    /// driver launched reports its XML's paths, as libvirt does).
    pub fn set_source(&mut self, alias: &str, source: &str) {
        match self.disks.iter_mut().find(|d| d.alias == alias) {
            Some(disk) => disk.src_path = source.to_owned(),
            None => self.insert(DiskInfo {
                alias: alias.to_owned(),
                src_path: source.to_owned(),
                device: format!("drive-{alias}"),
                node_name: String::new(),
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.disks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.disks.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &DiskInfo> {
        self.disks.iter()
    }

    /// Builds the table from a `query-block` reply:
    /// `[{"device": ..., "qdev": ..., "inserted": {"file": ..., "node-name": ...}}, ...]`.
    /// Entries it cannot use are skipped with a warning (second element).
    pub fn from_query_block(reply: &Value) -> Result<(DiskTable, Vec<String>), String> {
        let Some(entries) = reply.as_array() else {
            return Err(format!("query-block reply is not an array: {reply}"));
        };
        let mut table = DiskTable::new();
        let mut warnings = Vec::new();
        for entry in entries {
            let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
            let device = text(entry.get("device"));
            let qdev = text(entry.get("qdev"));
            let inserted = entry.get("inserted");
            let alias = alias_from_query_block(&qdev, &device);
            if alias.is_empty() {
                warnings.push(format!("query-block entry without a device id: {entry}"));
                continue;
            }
            table.insert(DiskInfo {
                alias,
                src_path: text(inserted.and_then(|i| i.get("file"))),
                device,
                node_name: text(inserted.and_then(|i| i.get("node-name"))),
            });
        }
        Ok((table, warnings))
    }

    /// The disk an IO error's `device` names: `drive-` prefix stripped, then
    /// compared with the alias (and with the backend name, prefix stripped).
    pub fn by_device(&self, device: &str) -> Option<&DiskInfo> {
        let wanted = strip_drive_prefix(device);
        self.disks
            .iter()
            .find(|d| d.alias == wanted || (!d.device.is_empty() && strip_drive_prefix(&d.device) == wanted))
    }

    pub fn by_node_name(&self, node_name: &str) -> Option<&DiskInfo> {
        self.disks.iter().find(|d| !d.node_name.is_empty() && d.node_name == node_name)
    }

    /// The disk any block node belongs to, with the libvirt image index of
    /// the node (`N` of `libvirt-N-*`) when it has one: the top node itself,
    /// or a `libvirt-N-*` node whose N is that of the disk's top node.
    pub fn by_any_node(&self, node_name: &str) -> Option<(&DiskInfo, Option<u32>)> {
        let index = libvirt_node_index(node_name);
        if let Some(disk) = self.by_node_name(node_name) {
            return Some((disk, index));
        }
        let index = index?;
        self.disks.iter().find(|d| libvirt_node_index(&d.node_name) == Some(index)).map(|d| (d, Some(index)))
    }

    /// The disk a block job concerns: its `device` is a backend name (`-drive`
    /// jobs) or a job ID, which libvirt and most clients build from the disk's
    /// alias, target or node name (`copy-vda-libvirt-1-format`); the longest
    /// such name found as a dash-separated part of the ID wins.
    pub fn by_job(&self, job: &str) -> Option<&DiskInfo> {
        if let Some(disk) = self.by_device(job) {
            return Some(disk);
        }
        let contains = |name: &str| {
            !name.is_empty()
                && job.match_indices(name).any(|(at, _)| {
                    let before = job[..at].chars().last();
                    let after = job[at + name.len()..].chars().next();
                    before.is_none_or(|c| c == '-' || c == '_') && after.is_none_or(|c| c == '-' || c == '_')
                })
        };
        self.disks
            .iter()
            .filter_map(|d| {
                let names = [d.alias.clone(), d.node_name.clone(), d.target()];
                names.into_iter().filter(|n| contains(n)).map(|n| n.len()).max().map(|len| (len, d))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, d)| d)
    }
}

/// What the mapping remembers about a block job between its events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockJobState {
    /// READY was reported (a mirror that re-enters `ready` after `standby`
    /// is not reported again).
    pub ready: bool,
}

/// What the mapping keeps about one domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRuntime {
    pub state: DomainState,
    /// A `SHUTDOWN` event arrived (or QEMU reported a shut-down guest), so
    /// the monitor's end is a normal stop rather than a failure.
    pub shutdown_seen: bool,
    /// The `guest` flag of the `SHUTDOWN` that shut the domain down.
    pub shutdown_guest: Option<bool>,
    /// Set when the domain has `<clock offset='variable'>`.
    pub clock: Option<VariableClock>,
    pub disks: DiskTable,
    /// Block jobs QEMU has reported and not yet dismissed, by job ID.
    pub block_jobs: BTreeMap<String, BlockJobState>,
}

impl DomainRuntime {
    pub fn new(state: DomainState) -> DomainRuntime {
        DomainRuntime {
            state,
            shutdown_seen: false,
            shutdown_guest: None,
            clock: None,
            disks: DiskTable::new(),
            block_jobs: BTreeMap::new(),
        }
    }

    /// Sets the state from a `query-status` reply (done once, on attach).
    pub fn apply_query_status(&mut self, reply: &Value) -> Result<(), String> {
        self.state = DomainState::from_query_status(reply)?;
        if self.state == DomainState::Shutdown {
            self.shutdown_seen = true;
        }
        Ok(())
    }

    /// Replaces the disk table with one built from a `query-block` reply;
    /// returns warnings about entries it skipped.
    pub fn load_query_block(&mut self, reply: &Value) -> Result<Vec<String>, String> {
        let (table, warnings) = DiskTable::from_query_block(reply)?;
        self.disks = table;
        Ok(warnings)
    }
}

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

fn lifecycle(event: Ev, detail: i32) -> EventPayload {
    EventPayload::Lifecycle { event: event as i32, detail }
}

fn data_str<'a>(ev: &'a QmpEvent, key: &str) -> Option<&'a str> {
    ev.fields().get(key).and_then(Value::as_str)
}

/// Maps one QMP event, updating `rt`.
pub fn map_event(rt: &mut DomainRuntime, ev: &QmpEvent) -> Mapped {
    let mut out = Mapped::default();
    if rt.state == DomainState::Shutoff {
        out.warnings.push(format!("ignoring QMP event {} after the monitor closed", ev.name));
        return out;
    }
    match ev.name.as_str() {
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
        "SHUTDOWN" => map_shutdown(rt, ev, &mut out),
        "RTC_CHANGE" => map_rtc_change(rt, ev, &mut out),
        "WATCHDOG" => map_watchdog(rt, ev, &mut out),
        "BLOCK_IO_ERROR" => map_io_error(rt, ev, &mut out),
        "VNC_CONNECTED" => map_graphics(ev, Phase::VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, Protocol::Vnc, &mut out),
        "VNC_INITIALIZED" => map_graphics(ev, Phase::VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE, Protocol::Vnc, &mut out),
        "VNC_DISCONNECTED" => map_graphics(ev, Phase::VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT, Protocol::Vnc, &mut out),
        "SPICE_CONNECTED" => map_graphics(ev, Phase::VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, Protocol::Spice, &mut out),
        "SPICE_INITIALIZED" => map_graphics(ev, Phase::VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE, Protocol::Spice, &mut out),
        "SPICE_DISCONNECTED" => {
            map_graphics(ev, Phase::VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT, Protocol::Spice, &mut out)
        }
        "SUSPEND" => {
            out.events.push(EventPayload::PmSuspend { reason: 0 });
            pm_suspend(rt, PmSuspended::VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY, &mut out);
        }
        "SUSPEND_DISK" => {
            out.events.push(EventPayload::PmSuspendDisk { reason: 0 });
            pm_suspend(rt, PmSuspended::VIR_DOMAIN_EVENT_PMSUSPENDED_DISK, &mut out);
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
        "DEVICE_TRAY_MOVED" => map_tray_moved(ev, &mut out),
        "BALLOON_CHANGE" => match ev.fields().get("actual").and_then(Value::as_u64) {
            // Bytes to KiB, rounded up.
            Some(actual) => out.events.push(EventPayload::BalloonChange { actual: actual.div_ceil(1024) }),
            None => out.warnings.push(format!("BALLOON_CHANGE without an actual size: {}", ev.fields())),
        },
        // Devices without an ID (a disk's virtio backend, ...) are none of libvirt's.
        "DEVICE_DELETED" => {
            if let Some(device) = data_str(ev, "device").filter(|d| !d.is_empty()) {
                out.events.push(EventPayload::DeviceRemoved { dev_alias: device.to_owned() });
            }
        }
        "DEVICE_UNPLUG_GUEST_ERROR" => {
            if let Some(device) = data_str(ev, "device").filter(|d| !d.is_empty()) {
                out.events.push(EventPayload::DeviceRemovalFailed { dev_alias: device.to_owned() });
            }
        }
        "BLOCK_WRITE_THRESHOLD" => map_block_threshold(rt, ev, &mut out),
        "JOB_STATUS_CHANGE" => map_job_status(rt, ev, &mut out),
        "BLOCK_JOB_READY" => map_block_job(rt, ev, JobStatus::VIR_DOMAIN_BLOCK_JOB_READY, &mut out),
        "BLOCK_JOB_COMPLETED" => {
            // A job that ends with an error reports it in the completion event.
            let status = if ev.fields().get("error").is_some() {
                JobStatus::VIR_DOMAIN_BLOCK_JOB_FAILED
            } else {
                JobStatus::VIR_DOMAIN_BLOCK_JOB_COMPLETED
            };
            map_block_job(rt, ev, status, &mut out);
        }
        "BLOCK_JOB_CANCELLED" => map_block_job(rt, ev, JobStatus::VIR_DOMAIN_BLOCK_JOB_CANCELED, &mut out),
        // An I/O error inside a job (its policy decides what follows): BLOCK_IO_ERROR
        // and the job's end report what an application sees.
        "BLOCK_JOB_ERROR" => {}
        "MEMORY_FAILURE" => map_memory_failure(ev, &mut out),
        "MEMORY_DEVICE_SIZE_CHANGE" => {
            match (data_str(ev, "id").filter(|id| !id.is_empty()), ev.fields().get("size").and_then(Value::as_u64)) {
                (Some(alias), Some(size)) => out
                    .events
                    .push(EventPayload::MemoryDeviceSizeChange { alias: alias.to_owned(), size: size.div_ceil(1024) }),
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
        _ => {}
    }
    out
}

/// The monitor closed: QEMU is gone.
pub fn map_eof(rt: &mut DomainRuntime) -> Vec<EventPayload> {
    if rt.state == DomainState::Shutoff {
        return Vec::new();
    }
    rt.state = DomainState::Shutoff;
    // Without a SHUTDOWN first, QEMU died (killed, crashed, or a watchdog poweroff).
    let detail = if rt.shutdown_seen {
        Stopped::VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN
    } else {
        Stopped::VIR_DOMAIN_EVENT_STOPPED_FAILED
    };
    vec![lifecycle(Ev::VIR_DOMAIN_EVENT_STOPPED, detail as i32)]
}

fn map_shutdown(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
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

fn map_rtc_change(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
    // As libvirt does, a missing offset is reported as 0 rather than dropped.
    let mut offset = ev.fields().get("offset").and_then(Value::as_i64).unwrap_or_else(|| {
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

fn map_watchdog(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
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

fn map_io_error(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
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
    let (src_path, dev_alias) = disk.map(|d| (d.src_path.clone(), d.alias.clone())).unwrap_or_default();
    let pause = matches!(action, IoAction::VIR_DOMAIN_EVENT_IO_ERROR_PAUSE);
    let nospace = ev.fields().get("nospace").and_then(Value::as_bool) == Some(true);
    let action = action as i32;
    out.events.push(EventPayload::IoError { src_path: src_path.clone(), dev_alias: dev_alias.clone(), action });
    out.events.push(EventPayload::IoErrorReason {
        src_path,
        dev_alias,
        action,
        reason: if nospace { "enospc" } else { "" }.to_owned(),
    });
    if pause && rt.state == DomainState::Running {
        rt.state = DomainState::Paused(PausedReason::IoError);
        out.events
            .push(lifecycle(Ev::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_IOERROR as i32));
    }
}

fn pm_suspend(rt: &mut DomainRuntime, detail: PmSuspended, out: &mut Mapped) {
    if rt.state == DomainState::Running {
        rt.state = DomainState::PmSuspended;
        out.events.push(lifecycle(Ev::VIR_DOMAIN_EVENT_PMSUSPENDED, detail as i32));
    }
}

/// DEVICE_TRAY_MOVED {device, id, tray-open}: the guest device's id is the
/// alias (else the backend name without `drive-`).
fn map_tray_moved(ev: &QmpEvent, out: &mut Mapped) {
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
    out.events.push(EventPayload::TrayChange { dev_alias: alias, reason: reason as i32 });
}

/// BLOCK_WRITE_THRESHOLD {node-name, write-threshold, amount-exceeded}: as
/// libvirt, one event named after the disk when the node is the disk's own
/// image, and one named `disk[N]` after the image's index N when known.
fn map_block_threshold(rt: &DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
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
    let path = disk.src_path.clone();
    if top.is_none() || index == top {
        out.events.push(EventPayload::BlockThreshold { dev: target.clone(), path: path.clone(), threshold, excess });
    }
    if let Some(index) = index {
        out.events.push(EventPayload::BlockThreshold { dev: format!("{target}[{index}]"), path, threshold, excess });
    }
}

/// JOB_STATUS_CHANGE {id, status}: tracks block jobs; `null` (dismissed)
/// forgets them. Reports come with QEMU's BLOCK_JOB_* events, which name the
/// job type.
fn map_job_status(rt: &mut DomainRuntime, ev: &QmpEvent, out: &mut Mapped) {
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
fn map_block_job(rt: &mut DomainRuntime, ev: &QmpEvent, status: JobStatus, out: &mut Mapped) {
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
    out.events.push(EventPayload::BlockJob { disk: disk.src_path.clone(), job_type, status });
    out.events.push(EventPayload::BlockJob2 { disk: disk.target(), job_type, status });
}

/// MEMORY_FAILURE {recipient, action, flags: {action-required, recursive}}.
fn map_memory_failure(ev: &QmpEvent, out: &mut Mapped) {
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
enum Protocol {
    Vnc,
    Spice,
}

/// One end of a graphics connection from `server` or `client`; the service
/// is `service` for VNC and `port` for SPICE.
fn graphics_address(
    ev: &QmpEvent,
    end: &str,
    protocol: Protocol,
    out: &mut Mapped,
) -> Option<(GraphicsAddress, Map<String, Value>)> {
    let Some(obj) = ev.fields().get(end).and_then(Value::as_object) else {
        out.warnings.push(format!("{} without {end} information: dropped", ev.name));
        return None;
    };
    let service_key = if protocol == Protocol::Spice { "port" } else { "service" };
    let field = |key: &str| obj.get(key).and_then(Value::as_str);
    let (Some(family), Some(node), Some(service)) = (field("family"), field("host"), field(service_key)) else {
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
    let address = GraphicsAddress { family: family as i32, node: node.to_owned(), service: service.to_owned() };
    Some((address, obj.clone()))
}

fn map_graphics(ev: &QmpEvent, phase: Phase, protocol: Protocol, out: &mut Mapped) {
    let Some((local, server)) = graphics_address(ev, "server", protocol, out) else {
        return;
    };
    let Some((remote, client)) = graphics_address(ev, "client", protocol, out) else {
        return;
    };
    let text = |obj: &Map<String, Value>, key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
    // SPICE reports the auth scheme only once the channel is initialized.
    let with_auth = protocol == Protocol::Vnc || matches!(phase, Phase::VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE);
    let auth_scheme = if with_auth { text(&server, "auth").unwrap_or_default() } else { String::new() };
    let mut subject = Vec::new();
    if protocol == Protocol::Vnc {
        if let Some(dname) = text(&client, "x509_dname") {
            subject.push(("x509dname".to_owned(), dname));
        }
        if let Some(user) = text(&client, "sasl_username") {
            subject.push(("saslUsername".to_owned(), user));
        }
    }
    out.events.push(EventPayload::Graphics { phase: phase as i32, local, remote, auth_scheme, subject });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qemu::qmp::Message;
    use serde_json::json;

    fn event(line: &str) -> QmpEvent {
        match Message::parse(line.as_bytes()) {
            Ok(Message::Event(ev)) => ev,
            other => panic!("not an event: {other:?}"),
        }
    }

    fn running() -> DomainRuntime {
        DomainRuntime::new(DomainState::Running)
    }

    fn map(rt: &mut DomainRuntime, line: &str) -> Vec<EventPayload> {
        let mapped = map_event(rt, &event(line));
        assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
        mapped.events
    }

    fn lc(event: Ev, detail: i32) -> EventPayload {
        lifecycle(event, detail)
    }

    const SUSPENDED_PAUSED: (Ev, i32) =
        (Ev::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_PAUSED as i32);
    const RESUMED_UNPAUSED: (Ev, i32) =
        (Ev::VIR_DOMAIN_EVENT_RESUMED, Resumed::VIR_DOMAIN_EVENT_RESUMED_UNPAUSED as i32);

    const STOP: &str = r#"{"timestamp": {"seconds": 1795276273, "microseconds": 153109}, "event": "STOP"}"#;
    const RESUME: &str = r#"{"timestamp": {"seconds": 1795276273, "microseconds": 153752}, "event": "RESUME"}"#;

    #[test]
    fn reset_is_reboot_in_any_live_state() {
        let line = r#"{"timestamp": {"seconds": 1795276273, "microseconds": 154919}, "event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}"#;
        for state in [DomainState::Running, DomainState::Paused(PausedReason::StartingUp), DomainState::Shutdown] {
            let mut rt = DomainRuntime::new(state);
            assert_eq!(map(&mut rt, line), vec![EventPayload::Reboot]);
            assert_eq!(rt.state, state);
        }
    }

    #[test]
    fn stop_and_resume_follow_the_state() {
        let mut rt = DomainRuntime::new(DomainState::Paused(PausedReason::StartingUp));
        assert_eq!(map(&mut rt, STOP), vec![]);
        assert_eq!(map(&mut rt, RESUME), vec![lc(RESUMED_UNPAUSED.0, RESUMED_UNPAUSED.1)]);
        assert_eq!(rt.state, DomainState::Running);
        assert_eq!(map(&mut rt, RESUME), vec![]);
        assert_eq!(map(&mut rt, STOP), vec![lc(SUSPENDED_PAUSED.0, SUSPENDED_PAUSED.1)]);
        assert_eq!(rt.state, DomainState::Paused(PausedReason::Unknown));
        assert_eq!(map(&mut rt, STOP), vec![]);
    }

    #[test]
    fn shutdown_details_and_repeats() {
        let cases = [
            (
                r#"{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}"#,
                Shutdown::VIR_DOMAIN_EVENT_SHUTDOWN_GUEST,
                Some(true),
            ),
            (
                r#"{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#,
                Shutdown::VIR_DOMAIN_EVENT_SHUTDOWN_HOST,
                Some(false),
            ),
            (r#"{"event": "SHUTDOWN"}"#, Shutdown::VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED, None),
        ];
        for (line, detail, guest) in cases {
            let mut rt = running();
            assert_eq!(map(&mut rt, line), vec![lc(Ev::VIR_DOMAIN_EVENT_SHUTDOWN, detail as i32)]);
            assert_eq!((rt.state, rt.shutdown_seen, rt.shutdown_guest), (DomainState::Shutdown, true, guest));
            // -no-shutdown: the STOP that follows is not a suspend, a second SHUTDOWN is ignored.
            assert_eq!(map(&mut rt, STOP), vec![]);
            assert_eq!(
                map(&mut rt, r#"{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#),
                vec![]
            );
            assert_eq!(rt.shutdown_guest, guest);
            assert_eq!(
                map_eof(&mut rt),
                vec![lc(Ev::VIR_DOMAIN_EVENT_STOPPED, Stopped::VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN as i32)]
            );
            assert_eq!(rt.state, DomainState::Shutoff);
            assert_eq!(map_eof(&mut rt), vec![]);
        }
    }

    #[test]
    fn eof_without_shutdown_is_failure() {
        let mut rt = running();
        assert_eq!(
            map_eof(&mut rt),
            vec![lc(Ev::VIR_DOMAIN_EVENT_STOPPED, Stopped::VIR_DOMAIN_EVENT_STOPPED_FAILED as i32)]
        );
        let mapped = map_event(&mut rt, &event(RESUME));
        assert!(mapped.events.is_empty());
        assert_eq!(mapped.warnings.len(), 1);
    }

    #[test]
    fn events_without_a_domain_event_map_to_nothing() {
        for name in [
            "POWERDOWN",
            "MIGRATION",
            "SPICE_MIGRATE_COMPLETED",
            "DUMP_COMPLETED",
            "BLOCK_JOB_ERROR",
            "DEVICE_DELETED",
            "NO_SUCH_EVENT",
        ] {
            let mut rt = running();
            let mapped = map_event(&mut rt, &event(&format!(r#"{{"event": "{name}", "data": {{"status": "x"}}}}"#)));
            assert_eq!(mapped, Mapped::default(), "{name}");
            assert_eq!(rt.state, DomainState::Running);
        }
    }

    #[test]
    fn malformed_events_warn() {
        for name in [
            "JOB_STATUS_CHANGE",
            "BALLOON_CHANGE",
            "MIGRATION_PASS",
            "DEVICE_TRAY_MOVED",
            "BLOCK_WRITE_THRESHOLD",
            "MEMORY_FAILURE",
            "MEMORY_DEVICE_SIZE_CHANGE",
        ] {
            let mapped =
                map_event(&mut running(), &event(&format!(r#"{{"event": "{name}", "data": {{"status": "x"}}}}"#)));
            assert!(mapped.events.is_empty(), "{name}");
            assert_eq!(mapped.warnings.len(), 1, "{name}: {:?}", mapped.warnings);
        }
    }

    #[test]
    fn rtc_change_plain_and_variable() {
        let line = r#"{"timestamp": {"seconds": 1795276289, "microseconds": 207744}, "event": "RTC_CHANGE", "data": {"offset": 98222911, "qom-path": "/machine/unattached/device[3]/rtc"}}"#;
        let mut rt = running();
        let mapped = map_event(&mut rt, &event(line));
        assert_eq!(mapped.events, vec![EventPayload::RtcChange { utc_offset: 98222911 }]);
        assert_eq!(mapped.rtc_adjustment, None);

        let mut rt = running();
        rt.clock = Some(VariableClock::new(3600));
        let mapped = map_event(&mut rt, &event(line));
        assert_eq!(mapped.events, vec![EventPayload::RtcChange { utc_offset: 98222911 + 3600 }]);
        assert_eq!(mapped.rtc_adjustment, Some(98222911 + 3600));
        assert_eq!(rt.clock, Some(VariableClock { adjustment0: 3600, adjustment: 98222911 + 3600 }));
        // Offsets are cumulative from the start: always adjustment0 is added.
        let mapped = map_event(&mut rt, &event(r#"{"event": "RTC_CHANGE", "data": {"offset": -5}}"#));
        assert_eq!(mapped.events, vec![EventPayload::RtcChange { utc_offset: 3595 }]);
        assert_eq!(rt.clock.unwrap().adjustment, 3595);

        let mapped = map_event(&mut running(), &event(r#"{"event": "RTC_CHANGE"}"#));
        assert_eq!(mapped.events, vec![EventPayload::RtcChange { utc_offset: 0 }]);
        assert_eq!(mapped.warnings.len(), 1);
    }

    #[test]
    fn watchdog_actions() {
        let actions = ["none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi"];
        for (i, action) in actions.iter().enumerate() {
            let mut rt = DomainRuntime::new(DomainState::Paused(PausedReason::User));
            let line = format!(r#"{{"event": "WATCHDOG", "data": {{"action": "{action}"}}}}"#);
            assert_eq!(map(&mut rt, &line), vec![EventPayload::Watchdog { action: i as i32 }]);
        }
        for line in [r#"{"event": "WATCHDOG", "data": {"action": "explode"}}"#, r#"{"event": "WATCHDOG"}"#] {
            let mapped = map_event(&mut running(), &event(line));
            assert_eq!(mapped.events, vec![EventPayload::Watchdog { action: 0 }]);
            assert_eq!(mapped.warnings.len(), 1);
        }
    }

    #[test]
    fn watchdog_pause_suspends_once() {
        let mut rt = running();
        let line = r#"{"timestamp": {"seconds": 1795276305, "microseconds": 774381}, "event": "WATCHDOG", "data": {"action": "pause"}}"#;
        assert_eq!(
            map(&mut rt, line),
            vec![
                EventPayload::Watchdog { action: 1 },
                lc(Ev::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG as i32)
            ]
        );
        assert_eq!(rt.state, DomainState::Paused(PausedReason::Watchdog));
        assert_eq!(map(&mut rt, STOP), vec![]);
        // Already paused: only the watchdog event.
        assert_eq!(map(&mut rt, line), vec![EventPayload::Watchdog { action: 1 }]);
    }

    fn disks() -> DiskTable {
        let reply = json!([
            {"device": "drive-ide0-0-0", "qdev": "ide0-0-0", "inserted": {"file": "/img/a.img", "node-name": "#block256"}},
            {"device": "", "qdev": "/machine/peripheral/virtio-disk0/virtio-backend", "inserted": {"file": "/img/b.qcow2", "node-name": "libvirt-1-format"}},
            {"device": "drive-ide0-1-0", "qdev": "ide0-1-0", "removable": true},
            {"device": "ide1-cd0", "qdev": "/machine/unattached/device[23]", "inserted": {"file": "/img/c.iso", "node-name": "#block3"}},
            {"device": "", "qdev": "/machine/unattached/device[24]"}
        ]);
        let (table, warnings) = DiskTable::from_query_block(&reply).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        table
    }

    #[test]
    fn query_block_table() {
        let table = disks();
        let aliases: Vec<_> = table.iter().map(|d| (d.alias.as_str(), d.src_path.as_str())).collect();
        assert_eq!(
            aliases,
            vec![
                ("ide0-0-0", "/img/a.img"),
                ("virtio-disk0", "/img/b.qcow2"),
                ("ide0-1-0", ""),
                ("ide1-cd0", "/img/c.iso")
            ]
        );
        assert_eq!(table.by_device("drive-ide0-0-0").unwrap().alias, "ide0-0-0");
        assert_eq!(table.by_device("ide0-0-0").unwrap().alias, "ide0-0-0");
        assert_eq!(table.by_device("ide1-cd0").unwrap().alias, "ide1-cd0");
        assert_eq!(table.by_node_name("libvirt-1-format").unwrap().alias, "virtio-disk0");
        assert!(table.by_device("nope").is_none());
        assert!(table.by_node_name("").is_none());
        assert!(DiskTable::from_query_block(&json!({})).is_err());

        let mut rt = running();
        assert_eq!(rt.load_query_block(&json!([])), Ok(vec![]));
        assert!(rt.disks.is_empty());
    }

    /// `events` with each IO_ERROR_REASON removed, after checking that it
    /// follows its IO_ERROR with the same disk and action and an empty reason.
    fn without_reasons(events: Vec<EventPayload>) -> Vec<EventPayload> {
        let mut out: Vec<EventPayload> = Vec::new();
        for event in events {
            if let EventPayload::IoErrorReason { src_path, dev_alias, action, reason } = &event {
                let expected =
                    EventPayload::IoError { src_path: src_path.clone(), dev_alias: dev_alias.clone(), action: *action };
                assert_eq!(out.last(), Some(&expected));
                assert_eq!(reason, "");
            } else {
                out.push(event);
            }
        }
        out
    }

    fn io_map(rt: &mut DomainRuntime, line: &str) -> Vec<EventPayload> {
        let events = map(rt, line);
        let reasons = events.iter().filter(|e| matches!(e, EventPayload::IoErrorReason { .. })).count();
        let errors = events.iter().filter(|e| matches!(e, EventPayload::IoError { .. })).count();
        assert_eq!(reasons, errors, "{events:?}");
        without_reasons(events)
    }

    #[test]
    fn io_error_reason_says_enospc_when_out_of_space() {
        let mut rt = running();
        rt.disks = disks();
        let line = r#"{"event": "BLOCK_IO_ERROR", "data": {"device": "", "nospace": true, "node-name": "libvirt-1-format", "reason": "No space left on device", "operation": "write", "action": "stop"}}"#;
        let (src_path, dev_alias) = ("/img/b.qcow2".to_owned(), "virtio-disk0".to_owned());
        assert_eq!(
            map(&mut rt, line),
            vec![
                EventPayload::IoError { src_path: src_path.clone(), dev_alias: dev_alias.clone(), action: 1 },
                EventPayload::IoErrorReason { src_path, dev_alias, action: 1, reason: "enospc".into() },
                lc(Ev::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_IOERROR as i32),
            ]
        );
    }

    #[test]
    fn io_error_lookup_and_actions() {
        let mut rt = running();
        rt.disks = disks();
        // -drive: found by device name, drive- prefix stripped.
        let report = r##"{"timestamp": {"seconds": 1795276319, "microseconds": 855395}, "event": "BLOCK_IO_ERROR", "data": {"device": "drive-ide0-0-0", "node-name": "#block255", "qom-path": "/machine/peripheral/ide0-0-0", "reason": "Input/output error", "operation": "read", "action": "report"}}"##;
        assert_eq!(
            io_map(&mut rt, report),
            vec![EventPayload::IoError { src_path: "/img/a.img".into(), dev_alias: "ide0-0-0".into(), action: 2 }]
        );
        let ignore = report.replace("\"report\"", "\"ignore\"");
        assert_eq!(
            io_map(&mut rt, &ignore),
            vec![EventPayload::IoError { src_path: "/img/a.img".into(), dev_alias: "ide0-0-0".into(), action: 0 }]
        );
        // -blockdev: device is empty, found by node name; stop suspends a running domain.
        let stop = r#"{"timestamp": {"seconds": 1795276329, "microseconds": 71783}, "event": "BLOCK_IO_ERROR", "data": {"device": "", "nospace": false, "node-name": "libvirt-1-format", "qom-path": "/machine/peripheral/virtio-disk0/virtio-backend", "reason": "Input/output error", "operation": "read", "action": "stop"}}"#;
        let io = EventPayload::IoError { src_path: "/img/b.qcow2".into(), dev_alias: "virtio-disk0".into(), action: 1 };
        assert_eq!(
            io_map(&mut rt, stop),
            vec![io.clone(), lc(Ev::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_IOERROR as i32)]
        );
        assert_eq!(rt.state, DomainState::Paused(PausedReason::IoError));
        assert_eq!(io_map(&mut rt, STOP), vec![]);
        // The rate-limited event that arrives after its STOP: no second suspend.
        assert_eq!(io_map(&mut rt, RESUME), vec![lc(RESUMED_UNPAUSED.0, RESUMED_UNPAUSED.1)]);
        assert_eq!(io_map(&mut rt, STOP), vec![lc(SUSPENDED_PAUSED.0, SUSPENDED_PAUSED.1)]);
        assert_eq!(io_map(&mut rt, stop), vec![io]);
        // Unknown disk: empty strings. A non-empty device is not looked up by node name.
        let unknown = r#"{"event": "BLOCK_IO_ERROR", "data": {"device": "drive-virtio-disk9", "node-name": "libvirt-1-format", "operation": "write", "action": "report"}}"#;
        assert_eq!(
            io_map(&mut rt, unknown),
            vec![EventPayload::IoError { src_path: String::new(), dev_alias: String::new(), action: 2 }]
        );
        // Missing action counts as ignore, with a warning; missing device warns too.
        let mapped = map_event(&mut running(), &event(r#"{"event": "BLOCK_IO_ERROR", "data": {}}"#));
        assert_eq!(
            without_reasons(mapped.events.clone()),
            vec![EventPayload::IoError { src_path: String::new(), dev_alias: String::new(), action: 0 }]
        );
        assert_eq!(mapped.warnings.len(), 2);
        let mapped = map_event(
            &mut running(),
            &event(r#"{"event": "BLOCK_IO_ERROR", "data": {"device": "", "action": "halt"}}"#),
        );
        assert_eq!(
            without_reasons(mapped.events.clone()),
            vec![EventPayload::IoError { src_path: String::new(), dev_alias: String::new(), action: 0 }]
        );
        assert_eq!(mapped.warnings.len(), 1);
    }

    fn addr(family: i32, node: &str, service: &str) -> GraphicsAddress {
        GraphicsAddress { family, node: node.into(), service: service.into() }
    }

    #[test]
    fn vnc_events() {
        let connected = r#"{"event": "VNC_CONNECTED", "data": {"server": {"auth": "sasl", "family": "ipv4", "websocket": false, "service": "5901", "host": "0.0.0.0"}, "client": {"family": "ipv4", "service": "58425", "host": "127.0.0.1", "websocket": false}}, "timestamp": {"seconds": 1262976601, "microseconds": 975795}}"#;
        assert_eq!(
            map(&mut running(), connected),
            vec![EventPayload::Graphics {
                phase: 0,
                local: addr(0, "0.0.0.0", "5901"),
                remote: addr(0, "127.0.0.1", "58425"),
                auth_scheme: "sasl".into(),
                subject: vec![],
            }]
        );
        let initialized = r#"{"event": "VNC_INITIALIZED", "data": {"server": {"auth": "vencrypt+x509+sasl", "family": "ipv6", "service": "5900", "host": "::1", "websocket": false}, "client": {"family": "ipv6", "service": "50212", "host": "::1", "websocket": false, "x509_dname": "CN=client", "sasl_username": "fred"}}}"#;
        assert_eq!(
            map(&mut running(), initialized),
            vec![EventPayload::Graphics {
                phase: 1,
                local: addr(1, "::1", "5900"),
                remote: addr(1, "::1", "50212"),
                auth_scheme: "vencrypt+x509+sasl".into(),
                subject: vec![("x509dname".into(), "CN=client".into()), ("saslUsername".into(), "fred".into())],
            }]
        );
        // No auth in server: "". Unix family, empty host/service are fine.
        let disconnected = r#"{"event": "VNC_DISCONNECTED", "data": {"server": {"family": "unix", "service": "/run/vnc.sock", "host": "", "websocket": false}, "client": {"family": "unix", "service": "", "host": "", "websocket": false, "sasl_username": "joe"}}}"#;
        assert_eq!(
            map(&mut running(), disconnected),
            vec![EventPayload::Graphics {
                phase: 2,
                local: addr(2, "", "/run/vnc.sock"),
                remote: addr(2, "", ""),
                auth_scheme: String::new(),
                subject: vec![("saslUsername".into(), "joe".into())],
            }]
        );
        // Unknown family: ipv4, with a warning.
        let vsock = r#"{"event": "VNC_CONNECTED", "data": {"server": {"auth": "none", "family": "vsock", "service": "5900", "host": "2"}, "client": {"family": "unknown", "service": "1", "host": "3"}}}"#;
        let mapped = map_event(&mut running(), &event(vsock));
        assert_eq!(mapped.warnings.len(), 2);
        let [EventPayload::Graphics { local, remote, .. }] = &mapped.events[..] else { panic!("{mapped:?}") };
        assert_eq!((local.family, remote.family), (0, 0));
    }

    #[test]
    fn graphics_missing_fields_drop_the_event() {
        for data in [
            r#"{}"#,
            r#"{"server": {"family": "ipv4", "service": "5900", "host": "h"}}"#,
            r#"{"client": {"family": "ipv4", "service": "5900", "host": "h"}}"#,
            r#"{"server": {"family": "ipv4", "service": "5900"}, "client": {"family": "ipv4", "service": "1", "host": "h"}}"#,
            r#"{"server": {"family": "ipv4", "service": "5900", "host": "h"}, "client": {"service": "1", "host": "h"}}"#,
            r#"{"server": {"family": "ipv4", "service": "5900", "host": "h"}, "client": {"family": "ipv4", "host": "h"}}"#,
            r#"{"server": {"family": "ipv4", "service": 5900, "host": "h"}, "client": {"family": "ipv4", "service": "1", "host": "h"}}"#,
        ] {
            let mapped = map_event(&mut running(), &event(&format!(r#"{{"event": "VNC_CONNECTED", "data": {data}}}"#)));
            assert!(mapped.events.is_empty(), "{data}");
            assert_eq!(mapped.warnings.len(), 1, "{data}");
        }
        // SPICE wants `port`, not `service`.
        let spice = r#"{"event": "SPICE_CONNECTED", "data": {"server": {"family": "ipv4", "service": "5900", "host": "h"}, "client": {"family": "ipv4", "port": "1", "host": "h"}}}"#;
        let mapped = map_event(&mut running(), &event(spice));
        assert!(mapped.events.is_empty());
        assert_eq!(mapped.warnings.len(), 1);
    }

    #[test]
    fn spice_events() {
        let initialized = r#"{"timestamp": {"seconds": 1290688046, "microseconds": 417172}, "event": "SPICE_INITIALIZED", "data": {"server": {"auth": "spice", "port": "5921", "family": "ipv4", "host": "127.0.0.1"}, "client": {"port": "49004", "family": "ipv4", "channel-type": 3, "connection-id": 1804289383, "host": "127.0.0.1", "channel-id": 0, "tls": true}}}"#;
        let graphics = |phase: i32, auth: &str| EventPayload::Graphics {
            phase,
            local: addr(0, "127.0.0.1", "5921"),
            remote: addr(0, "127.0.0.1", "49004"),
            auth_scheme: auth.into(),
            subject: vec![],
        };
        assert_eq!(map(&mut running(), initialized), vec![graphics(1, "spice")]);
        // Auth only for SPICE_INITIALIZED; never identities.
        let connected = initialized
            .replace("SPICE_INITIALIZED", "SPICE_CONNECTED")
            .replace("\"tls\": true", "\"tls\": true, \"x509_dname\": \"CN=x\"");
        assert_eq!(map(&mut running(), &connected), vec![graphics(0, "")]);
        let disconnected = initialized.replace("SPICE_INITIALIZED", "SPICE_DISCONNECTED");
        assert_eq!(map(&mut running(), &disconnected), vec![graphics(2, "")]);
    }

    #[test]
    fn power_management() {
        // As libvirt: the PM event always, first; the lifecycle event only on a state change.
        let suspended_memory =
            lc(Ev::VIR_DOMAIN_EVENT_PMSUSPENDED, PmSuspended::VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY as i32);
        let suspended_disk =
            lc(Ev::VIR_DOMAIN_EVENT_PMSUSPENDED, PmSuspended::VIR_DOMAIN_EVENT_PMSUSPENDED_DISK as i32);
        let wakeup = lc(Ev::VIR_DOMAIN_EVENT_STARTED, Started::VIR_DOMAIN_EVENT_STARTED_WAKEUP as i32);
        let mut rt = running();
        assert_eq!(
            map(&mut rt, r#"{"event": "SUSPEND"}"#),
            vec![EventPayload::PmSuspend { reason: 0 }, suspended_memory]
        );
        assert_eq!(rt.state, DomainState::PmSuspended);
        assert_eq!(map(&mut rt, r#"{"event": "SUSPEND"}"#), vec![EventPayload::PmSuspend { reason: 0 }]);
        assert_eq!(map(&mut rt, r#"{"event": "WAKEUP"}"#), vec![EventPayload::PmWakeup { reason: 0 }, wakeup]);
        assert_eq!(rt.state, DomainState::Running);
        // A wakeup while running (the guest was not suspended) is no lifecycle event.
        assert_eq!(map(&mut rt, r#"{"event": "WAKEUP"}"#), vec![EventPayload::PmWakeup { reason: 0 }]);
        assert_eq!(
            map(&mut rt, r#"{"event": "SUSPEND_DISK"}"#),
            vec![EventPayload::PmSuspendDisk { reason: 0 }, suspended_disk]
        );
        let mut paused = DomainRuntime::new(DomainState::Paused(PausedReason::User));
        assert_eq!(map(&mut paused, r#"{"event": "SUSPEND_DISK"}"#), vec![EventPayload::PmSuspendDisk { reason: 0 }]);
    }

    #[test]
    fn tray_balloon_devices_migration() {
        let mut rt = running();
        let tray = |alias: &str, reason: i32| EventPayload::TrayChange { dev_alias: alias.into(), reason };
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "DEVICE_TRAY_MOVED", "data": {"device": "", "tray-open": true, "id": "ide0-1-0"}}"#
            ),
            vec![tray("ide0-1-0", 0)]
        );
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "DEVICE_TRAY_MOVED", "data": {"device": "drive-ide0-1-1", "tray-open": false, "id": ""}}"#
            ),
            vec![tray("ide0-1-1", 1)]
        );
        // Bytes to KiB, rounded up.
        assert_eq!(
            map(&mut rt, r#"{"event": "BALLOON_CHANGE", "data": {"actual": 1073741825}}"#),
            vec![EventPayload::BalloonChange { actual: 1048577 }]
        );
        assert_eq!(
            map(&mut rt, r#"{"event": "BALLOON_CHANGE", "data": {"actual": 33554432}}"#),
            vec![EventPayload::BalloonChange { actual: 32768 }]
        );
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "DEVICE_DELETED", "data": {"device": "ua-tablet1", "path": "/machine/peripheral/ua-tablet1"}}"#
            ),
            vec![EventPayload::DeviceRemoved { dev_alias: "ua-tablet1".into() }]
        );
        // A device without an id (a disk's virtio backend) is not libvirt's.
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/virtio-disk1/virtio-backend"}}"#
            ),
            vec![]
        );
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "DEVICE_UNPLUG_GUEST_ERROR", "data": {"device": "dimm1", "path": "/machine/peripheral/dimm1"}}"#
            ),
            vec![EventPayload::DeviceRemovalFailed { dev_alias: "dimm1".into() }]
        );
        assert_eq!(
            map(&mut rt, r#"{"event": "MIGRATION_PASS", "data": {"pass": 3}}"#),
            vec![EventPayload::MigrationIteration { iteration: 3 }]
        );
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "MEMORY_DEVICE_SIZE_CHANGE", "data": {"id": "virtiomem0", "size": 1073741824, "qom-path": "/machine/peripheral/virtiomem0"}}"#
            ),
            vec![EventPayload::MemoryDeviceSizeChange { alias: "virtiomem0".into(), size: 1048576 }]
        );
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "MEMORY_FAILURE", "data": {"recipient": "guest", "action": "inject", "flags": {"action-required": true, "recursive": false}}}"#
            ),
            vec![EventPayload::MemoryFailure { recipient: 1, action: 1, flags: 1 }]
        );
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "MEMORY_FAILURE", "data": {"recipient": "hypervisor", "action": "reset", "flags": {"action-required": false, "recursive": true}}}"#
            ),
            vec![EventPayload::MemoryFailure { recipient: 0, action: 3, flags: 2 }]
        );
        assert_eq!(rt.state, DomainState::Running);
    }

    #[test]
    fn targets_from_aliases() {
        let target = |alias: &str| DiskInfo { alias: alias.into(), ..DiskInfo::default() }.target();
        assert_eq!(target("ide0-0-0"), "hda");
        assert_eq!(target("ide0-1-0"), "hdc");
        assert_eq!(target("ide0-1-1"), "hdd");
        assert_eq!(target("virtio-disk0"), "vda");
        assert_eq!(target("virtio-disk27"), "vdab");
        assert_eq!(target("sata0-0-2"), "sdc");
        assert_eq!(target("scsi0-0-0-1"), "sdb");
        assert_eq!(target("fdc0-0-1"), "fdb");
        assert_eq!(target("ua-mydisk"), "ua-mydisk");
    }

    #[test]
    fn block_threshold_and_jobs() {
        let mut rt = running();
        rt.disks = disks();
        let threshold = |dev: &str| EventPayload::BlockThreshold {
            dev: dev.into(),
            path: "/img/b.qcow2".into(),
            threshold: 4096,
            excess: 1024,
        };
        // The disk's own image: the target, then the indexed name.
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "BLOCK_WRITE_THRESHOLD", "data": {"node-name": "libvirt-1-storage", "write-threshold": 4096, "amount-exceeded": 1024}}"#
            ),
            vec![threshold("vda"), threshold("vda[1]")]
        );
        let mapped = map_event(
            &mut rt,
            &event(
                r#"{"event": "BLOCK_WRITE_THRESHOLD", "data": {"node-name": "libvirt-9-storage", "write-threshold": 1, "amount-exceeded": 1}}"#,
            ),
        );
        assert_eq!((mapped.events.len(), mapped.warnings.len()), (0, 1));

        let job = |name: &str, kind: &str| {
            format!(
                r#"{{"event": "{name}", "data": {{"device": "copy-vda-libvirt-1-format", "len": 1, "offset": 1, "speed": 0, "type": "{kind}"}}}}"#
            )
        };
        let pair = |kind: i32, status: i32| {
            vec![
                EventPayload::BlockJob { disk: "/img/b.qcow2".into(), job_type: kind, status },
                EventPayload::BlockJob2 { disk: "vda".into(), job_type: kind, status },
            ]
        };
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "copy-vda-libvirt-1-format"}}"#
            ),
            vec![]
        );
        assert_eq!(map(&mut rt, &job("BLOCK_JOB_READY", "mirror")), pair(2, 3));
        // Ready again after standby: not reported twice.
        assert_eq!(map(&mut rt, &job("BLOCK_JOB_READY", "mirror")), vec![]);
        assert_eq!(map(&mut rt, &job("BLOCK_JOB_COMPLETED", "mirror")), pair(2, 0));
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "JOB_STATUS_CHANGE", "data": {"status": "null", "id": "copy-vda-libvirt-1-format"}}"#
            ),
            vec![]
        );
        assert!(rt.block_jobs.is_empty());
        let failed = job("BLOCK_JOB_COMPLETED", "stream")
            .replace(r#""speed": 0"#, r#""speed": 0, "error": "Input/output error""#);
        assert_eq!(map(&mut rt, &failed), pair(1, 1));
        assert_eq!(map(&mut rt, &job("BLOCK_JOB_CANCELLED", "commit")), pair(3, 2));
        assert_eq!(map(&mut rt, &job("BLOCK_JOB_COMPLETED", "backup")), pair(5, 0));
        // -drive jobs are named after the backend.
        let legacy = r#"{"event": "BLOCK_JOB_COMPLETED", "data": {"device": "drive-ide0-0-0", "len": 1, "offset": 1, "speed": 0, "type": "mirror"}}"#;
        assert_eq!(
            map(&mut rt, legacy),
            vec![
                EventPayload::BlockJob { disk: "/img/a.img".into(), job_type: 2, status: 0 },
                EventPayload::BlockJob2 { disk: "hda".into(), job_type: 2, status: 0 },
            ]
        );
        // Creation jobs (no BLOCK_JOB_* events) report nothing.
        assert_eq!(
            map(
                &mut rt,
                r#"{"event": "JOB_STATUS_CHANGE", "data": {"status": "concluded", "id": "create-libvirt-2-storage"}}"#
            ),
            vec![]
        );
    }

    #[test]
    fn crashes() {
        let mut rt = running();
        assert_eq!(
            map(&mut rt, r#"{"event": "GUEST_PANICKED", "data": {"action": "pause"}}"#),
            vec![lc(Ev::VIR_DOMAIN_EVENT_CRASHED, Crashed::VIR_DOMAIN_EVENT_CRASHED_PANICKED as i32)]
        );
        assert_eq!(rt.state, DomainState::Crashed);
        // The STOP that QEMU sends next is not reported as a suspend.
        assert_eq!(map(&mut rt, STOP), vec![]);
        let mut rt = running();
        assert_eq!(
            map(&mut rt, r#"{"event": "GUEST_CRASHLOADED", "data": {"action": "run"}}"#),
            vec![lc(Ev::VIR_DOMAIN_EVENT_CRASHED, Crashed::VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED as i32)]
        );
        assert_eq!(rt.state, DomainState::Running);
    }

    #[test]
    fn query_status() {
        let cases = [
            (json!({"status": "prelaunch", "running": false}), DomainState::Paused(PausedReason::StartingUp)),
            (json!({"status": "running", "running": true}), DomainState::Running),
            (json!({"status": "paused", "running": false}), DomainState::Paused(PausedReason::User)),
            (json!({"status": "io-error", "running": false}), DomainState::Paused(PausedReason::IoError)),
            (json!({"status": "watchdog", "running": false}), DomainState::Paused(PausedReason::Watchdog)),
            (json!({"status": "postmigrate", "running": false}), DomainState::Paused(PausedReason::Migration)),
            (json!({"status": "suspended", "running": false}), DomainState::PmSuspended),
            (json!({"status": "guest-panicked", "running": false}), DomainState::Crashed),
            (json!({"status": "shutdown", "running": false}), DomainState::Shutdown),
            (json!({"status": "colo", "running": true}), DomainState::Running),
            (json!({"status": "debug", "running": false}), DomainState::Paused(PausedReason::Unknown)),
            (json!({"running": true}), DomainState::Running),
        ];
        for (reply, state) in cases {
            let mut rt = running();
            rt.apply_query_status(&reply).unwrap();
            assert_eq!(rt.state, state, "{reply}");
            assert_eq!(rt.shutdown_seen, state == DomainState::Shutdown);
        }
        assert!(running().apply_query_status(&json!({})).is_err());
    }
}
