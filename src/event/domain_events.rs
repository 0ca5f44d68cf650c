//! The one declaration of libvirt's domain event IDs.
//!
//! `for_each_domain_event_id!` holds the table: for each ID, the payload
//! variant and its fields (each with the C representation its callback
//! receives), the `virDomainEventID` constant and the callback typedef of
//! `libvirt.h`. This module derives `EventPayload`, `EventPayload::event_id`,
//! `DOMAIN_EVENT_ID_COUNT` and `DOMAIN_EVENT_CALLBACKS` from it; the C layer
//! derives the typed call of each callback (`capi::delivery`). The IDs must
//! appear in order (checked at compile time), and a test checks that the
//! header declares each callback typedef.
//!
//! C representations: `int` (`int`), `uint` (`unsigned int`), `llong` (`long
//! long`), `ullong` (`unsigned long long`), `str` (a C string), `str_or_null`
//! (a C string, NULL when empty), `address` (a graphics address struct),
//! `subject` (a graphics subject struct), `params` (a typed-parameter array
//! and its length: two arguments).

use super::{CText, GraphicsAddress, TypedParam};
use crate::abi::domain_event::virDomainEventID;

/// Calls `$then!` with the table of domain event IDs, in ID order.
macro_rules! for_each_domain_event_id {
    ($then:ident) => {
        $then! {
            Lifecycle { event: i32 => int, detail: i32 => int }
                = VIR_DOMAIN_EVENT_ID_LIFECYCLE as virConnectDomainEventCallback;
            Reboot = VIR_DOMAIN_EVENT_ID_REBOOT as virConnectDomainEventGenericCallback;
            RtcChange { utc_offset: i64 => llong }
                = VIR_DOMAIN_EVENT_ID_RTC_CHANGE as virConnectDomainEventRTCChangeCallback;
            Watchdog { action: i32 => int } = VIR_DOMAIN_EVENT_ID_WATCHDOG as virConnectDomainEventWatchdogCallback;
            IoError { src_path: CText => str, dev_alias: CText => str, action: i32 => int }
                = VIR_DOMAIN_EVENT_ID_IO_ERROR as virConnectDomainEventIOErrorCallback;
            Graphics {
                phase: i32 => int,
                local: GraphicsAddress => address,
                remote: GraphicsAddress => address,
                auth_scheme: CText => str,
                /// `(type, name)` pairs: `x509dname` then `saslUsername` when present.
                subject: Vec<(CText, CText)> => subject,
            } = VIR_DOMAIN_EVENT_ID_GRAPHICS as virConnectDomainEventGraphicsCallback;
            /// `reason` is `"enospc"` when the host ran out of space, else `""`.
            IoErrorReason { src_path: CText => str, dev_alias: CText => str, action: i32 => int, reason: CText => str }
                = VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON as virConnectDomainEventIOErrorReasonCallback;
            ControlError = VIR_DOMAIN_EVENT_ID_CONTROL_ERROR as virConnectDomainEventGenericCallback;
            /// `disk` is the disk's source path.
            BlockJob { disk: CText => str, job_type: i32 => int, status: i32 => int }
                = VIR_DOMAIN_EVENT_ID_BLOCK_JOB as virConnectDomainEventBlockJobCallback;
            /// libvirt passes NULL for an absent (empty) old or new source.
            DiskChange {
                old_src_path: CText => str_or_null,
                new_src_path: CText => str_or_null,
                dev_alias: CText => str,
                reason: i32 => int,
            } = VIR_DOMAIN_EVENT_ID_DISK_CHANGE as virConnectDomainEventDiskChangeCallback;
            TrayChange { dev_alias: CText => str, reason: i32 => int }
                = VIR_DOMAIN_EVENT_ID_TRAY_CHANGE as virConnectDomainEventTrayChangeCallback;
            PmWakeup { reason: i32 => int } = VIR_DOMAIN_EVENT_ID_PMWAKEUP as virConnectDomainEventPMWakeupCallback;
            PmSuspend { reason: i32 => int } = VIR_DOMAIN_EVENT_ID_PMSUSPEND as virConnectDomainEventPMSuspendCallback;
            /// `actual` in KiB.
            BalloonChange { actual: u64 => ullong }
                = VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE as virConnectDomainEventBalloonChangeCallback;
            PmSuspendDisk { reason: i32 => int }
                = VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK as virConnectDomainEventPMSuspendDiskCallback;
            DeviceRemoved { dev_alias: CText => str }
                = VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED as virConnectDomainEventDeviceRemovedCallback;
            /// `disk` is the disk's target name (e.g. `vda`).
            BlockJob2 { disk: CText => str, job_type: i32 => int, status: i32 => int }
                = VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2 as virConnectDomainEventBlockJobCallback;
            Tunable { params: Vec<TypedParam> => params }
                = VIR_DOMAIN_EVENT_ID_TUNABLE as virConnectDomainEventTunableCallback;
            AgentLifecycle { state: i32 => int, reason: i32 => int }
                = VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE as virConnectDomainEventAgentLifecycleCallback;
            DeviceAdded { dev_alias: CText => str }
                = VIR_DOMAIN_EVENT_ID_DEVICE_ADDED as virConnectDomainEventDeviceAddedCallback;
            MigrationIteration { iteration: i32 => int }
                = VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION as virConnectDomainEventMigrationIterationCallback;
            JobCompleted { params: Vec<TypedParam> => params }
                = VIR_DOMAIN_EVENT_ID_JOB_COMPLETED as virConnectDomainEventJobCompletedCallback;
            DeviceRemovalFailed { dev_alias: CText => str }
                = VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED as virConnectDomainEventDeviceRemovalFailedCallback;
            /// `nsuri` is empty (NULL for the callback) unless the metadata is
            /// an element.
            MetadataChange { metadata_type: i32 => int, nsuri: CText => str_or_null }
                = VIR_DOMAIN_EVENT_ID_METADATA_CHANGE as virConnectDomainEventMetadataChangeCallback;
            BlockThreshold { dev: CText => str, path: CText => str, threshold: u64 => ullong, excess: u64 => ullong }
                = VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD as virConnectDomainEventBlockThresholdCallback;
            MemoryFailure { recipient: i32 => int, action: i32 => int, flags: u32 => uint }
                = VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE as virConnectDomainEventMemoryFailureCallback;
            /// `size` in KiB.
            MemoryDeviceSizeChange { alias: CText => str, size: u64 => ullong }
                = VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE as virConnectDomainEventMemoryDeviceSizeChangeCallback;
        }
    };
}
pub(crate) use for_each_domain_event_id;

/// Declares `EventPayload` and what follows from the table.
macro_rules! declare_payload {
    ($(
        $(#[$doc:meta])*
        $variant:ident $({
            $($(#[$field_doc:meta])* $field:ident : $ty:ty => $repr:ident),* $(,)?
        })? = $id:ident as $callback:ident;
    )*) => {
        /// The payload of a domain event; each variant is one `VIR_DOMAIN_EVENT_ID_*`.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum EventPayload {
            $(
                $(#[$doc])*
                $variant $({ $($(#[$field_doc])* $field: $ty),* })?,
            )*
        }

        impl EventPayload {
            /// The `VIR_DOMAIN_EVENT_ID_*` this payload is delivered under.
            pub fn event_id(&self) -> i32 {
                match self {
                    $(EventPayload::$variant { .. } => virDomainEventID::$id as i32,)*
                }
            }
        }

        /// How many domain event IDs exist (`VIR_DOMAIN_EVENT_ID_LAST`).
        pub const DOMAIN_EVENT_ID_COUNT: i32 = DOMAIN_EVENT_CALLBACKS.len() as i32;

        /// Each ID's constant and callback typedef, as `libvirt.h` names them,
        /// indexed by ID.
        pub const DOMAIN_EVENT_CALLBACKS: &[(&str, &str)] = &[$((stringify!($id), stringify!($callback))),*];

        // The table lists the IDs in order, so that an ID is its index.
        const _: () = {
            let ids = [$(virDomainEventID::$id as i32),*];
            let mut index = 0;
            while index < ids.len() {
                assert!(ids[index] == index as i32, "domain event IDs out of order");
                index += 1;
            }
        };
    };
}

for_each_domain_event_id!(declare_payload);

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated `libvirt-domain.h` declares every ID of the table with its
    /// value, a callback typedef for it, and the table's count as
    /// `VIR_DOMAIN_EVENT_ID_LAST`: an ID added to the table without its
    /// typedef in the header (src/abi, placed by src/abi/headers.txt) fails here.
    #[test]
    fn header_declares_each_id_and_its_callback() {
        let header = std::path::Path::new(env!("VIRT_EVENTS_GENERATED_INCLUDE")).join("libvirt/libvirt-domain.h");
        let header = std::fs::read_to_string(header).unwrap();
        for (id, (constant, callback)) in DOMAIN_EVENT_CALLBACKS.iter().enumerate() {
            assert!(header.contains(&format!("  {constant} = {id},\n")), "libvirt-domain.h lacks {constant} = {id}");
            assert!(
                header.contains(&format!("(*{callback})(")),
                "libvirt-domain.h lacks the typedef {callback} for {constant}"
            );
        }
        assert!(header.contains(&format!("  VIR_DOMAIN_EVENT_ID_LAST = {DOMAIN_EVENT_ID_COUNT},\n")));
    }

    #[test]
    fn payloads_report_their_table_id() {
        assert_eq!(EventPayload::Reboot.event_id(), virDomainEventID::VIR_DOMAIN_EVENT_ID_REBOOT as i32);
        let tunable = EventPayload::Tunable { params: vec![] };
        assert_eq!(tunable.event_id(), virDomainEventID::VIR_DOMAIN_EVENT_ID_TUNABLE as i32);
        assert_eq!(DOMAIN_EVENT_ID_COUNT, 27);
    }
}
