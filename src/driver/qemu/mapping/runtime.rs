//! What the mapping remembers about one domain between events: its state as
//! libvirt reports it, the variable clock, the disks and the block jobs.

use std::collections::BTreeMap;

use serde_json::Value;

use super::disks::DiskTable;

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
