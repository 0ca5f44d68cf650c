//! Replays every recorded QMP session in `../shared/qmp-transcripts/` through
//! LineReader → Message → map_event (→ map_eof) and checks the libvirt
//! events that come out.
//!
//! Each transcript is a QEMU 10.0.2 started with `-S`, driven by a plain QMP
//! client that sends `cont` first. The runtime therefore starts as
//! `Paused(StartingUp)` (QEMU's `prelaunch`, which every pre-`cont`
//! `query-status` in the recordings confirms), so the RESUME after `cont`
//! gives `Resumed Unpaused`, as libvirt reports when it starts a domain.
//!
//! Where a libvirt-9.0 output (`../shared/reference/libvirt-9.0-outputs/`)
//! covers the same scenario, the expectations agree with it, except for what
//! libvirt adds because it launches and destroys the QEMU itself
//! (`Started Booted`, `Shutdown Host` + `Stopped Destroyed` from `virsh
//! destroy`), and for the differences each case's comment names (paths of
//! recordings that never query their disks, what libvirt only reports for jobs
//! it runs itself).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::mapping::{map_eof, map_event, DomainRuntime, DomainState, PausedReason, VariableClock};
use super::qmp::{Line, LineReader, Message};
use crate::event::EventPayload;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/qmp-transcripts");

struct Case {
    file: &'static str,
    /// The transcript whose first `query-block` reply stands for the one the
    /// driver makes on attach (the recordings query only after the first
    /// error, or not at all; `-drive`/`-blockdev` layouts are the same).
    disks_from: Option<&'static str>,
    /// `<clock offset='variable'>`'s adjustment0.
    adjustment0: Option<i64>,
    expected: &'static [&'static str],
}

const RESUMED: &str = "lifecycle Resumed Unpaused";
const SUSPENDED: &str = "lifecycle Suspended Paused";
const SUSPENDED_IOERROR: &str = "lifecycle Suspended IoError";
const SUSPENDED_WATCHDOG: &str = "lifecycle Suspended Watchdog";
const SHUTDOWN_HOST: &str = "lifecycle Shutdown Host";
const SHUTDOWN_GUEST: &str = "lifecycle Shutdown Guest";
const STOPPED_SHUTDOWN: &str = "lifecycle Stopped Shutdown";
const STOPPED_FAILED: &str = "lifecycle Stopped Failed";
const REBOOT: &str = "reboot";

// srcPath is query-block's `inserted.file`, i.e. QEMU's blkdebug filename; libvirt
// (libvirt_ioerr_*.txt) reports the source path of its XML instead.
const IDE_REPORT: &str = "io-error blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img ide0-0-0 2";
const IDE_IGNORE: &str = "io-error blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img ide0-0-0 0";
const IDE_PAUSE: &str = "io-error blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img ide0-0-0 1";
const VIRTIO_REPORT: &str = "io-error blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img virtio-disk0 2";
const VIRTIO_PAUSE: &str = "io-error blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img virtio-disk0 1";
// Each io-error is followed by its io-error-reason: "enospc" when QEMU says nospace, else "".
const IDE_REPORT_R: &str = "io-error-reason blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img ide0-0-0 2 reason=";
const IDE_IGNORE_R: &str = "io-error-reason blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img ide0-0-0 0 reason=";
const IDE_PAUSE_R: &str = "io-error-reason blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img ide0-0-0 1 reason=";
const IDE_PAUSE_ENOSPC: &str =
    "io-error-reason blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img ide0-0-0 1 reason=enospc";
const VIRTIO_REPORT_R: &str =
    "io-error-reason blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img virtio-disk0 2 reason=";
const VIRTIO_PAUSE_R: &str = "io-error-reason blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img virtio-disk0 1 reason=";
const VIRTIO_PAUSE_ENOSPC: &str =
    "io-error-reason blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img virtio-disk0 1 reason=enospc";

const CASES: &[Case] = &[
    // libvirt_block_threshold.txt: two events, the disk's target (hda) and the image-indexed
    // name (hda[1], libvirt-1-storage being image 1 of the disk whose top node is
    // libvirt-1-format), with write-threshold and amount-exceeded. The recording never queries
    // the disks; ioerr_blockdev_ide_stop.jsonl's query-block stands for it (same -blockdev
    // layout on ide0-0-0), hence its blkdebug path where libvirt reports its XML source. The
    // target is derived from the alias (ide0-0-0 -> hda) as libvirt assigns them.
    Case {
        file: "block_threshold.jsonl",
        disks_from: Some("ioerr_blockdev_ide_stop.jsonl"),
        adjustment0: None,
        expected: &[
            RESUMED,
            "block-threshold hda blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img 4096 1024",
            "block-threshold hda[1] blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img 4096 1024",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_blockjob.txt: block-job (source path) then block-job-2 (target) for each of
    // ready, completed, ready, canceled, type 2 (copy). Differences: libvirt reports the path
    // after its pivot (the copy), we the disk's path as queried (we do not follow the
    // client's pivot); libvirt aborts its second copy without `force`, so QEMU completes it and
    // libvirt reports it canceled, here the client cancels it and QEMU says CANCELLED. Disk
    // table as for block_threshold; the job ID copy-ide0-0-0 names the disk's alias.
    Case {
        file: "blockjob_mirror.jsonl",
        disks_from: Some("ioerr_blockdev_ide_stop.jsonl"),
        adjustment0: None,
        expected: &[
            RESUMED,
            "block-job blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img 2 3",
            "block-job-2 hda 2 3",
            "block-job blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img 2 0",
            "block-job-2 hda 2 0",
            "block-job blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img 2 3",
            "block-job-2 hda 2 3",
            "block-job blkdebug:$WORKDIR/blkdebug.conf:$WORKDIR/disk.img 2 2",
            "block-job-2 hda 2 2",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_device_removed.txt: device-removed with the device's id (libvirt's hot-plug also
    // gives device-added, which it emits itself, not from a QMP event).
    Case {
        file: "device_deleted.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, "device-removed input0", SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
    // QEMU stops and resumes around the dump; DUMP_COMPLETED has no domain event here.
    Case {
        file: "dump_guest_memory.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, SUSPENDED, RESUMED, SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
    // No -no-shutdown: QEMU powers off after the panic.
    Case {
        file: "guest_panic.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, "lifecycle Crashed Panicked", SHUTDOWN_GUEST, STOPPED_SHUTDOWN],
    },
    // libvirt_guest_panic_preserve.txt: Crashed Panicked, no Suspended (the STOP after the
    // panic finds the domain crashed). libvirt_guest_panic_destroy.txt shows `Suspended
    // Paused` first: libvirt handles the panic in a worker thread, so that order is a race.
    Case {
        file: "guest_panic_noshutdown.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, "lifecycle Crashed Panicked", SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
    // libvirt_guest_reboot.txt: one reboot per RESET.
    Case {
        file: "guest_reset.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, REBOOT, REBOOT, SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
    // libvirt_guest_s3.txt: pm-suspend before PMSuspended Memory, pm-wakeup before Started Wakeup.
    Case {
        file: "guest_s3.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "pm-suspend 0",
            "lifecycle PMSuspended Memory",
            "pm-wakeup 0",
            "lifecycle Started Wakeup",
            REBOOT,
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_guest_s4.txt: pm-suspend-disk, PMSuspended Disk, Shutdown (guest), Stopped Shutdown.
    Case {
        file: "guest_s4.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, "pm-suspend-disk 0", "lifecycle PMSuspended Disk", SHUTDOWN_GUEST, STOPPED_SHUTDOWN],
    },
    // libvirt_guest_shutdown.txt.
    Case {
        file: "guest_shutdown.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, SHUTDOWN_GUEST, STOPPED_SHUTDOWN],
    },
    // libvirt would kill QEMU (or fake-reboot it) after the first SHUTDOWN; here the client
    // resets and continues it, so the domain runs again and shuts down a second time. The
    // STOPs after each SHUTDOWN and the final `quit` SHUTDOWN give nothing.
    Case {
        file: "guest_shutdown_noshutdown.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, SHUTDOWN_GUEST, REBOOT, RESUMED, REBOOT, SHUTDOWN_GUEST, STOPPED_SHUTDOWN],
    },
    // -blockdev: `device` is "", the disk is found by node name. Like libvirt_ioerr_stop.txt:
    // the second error arrives after its STOP (rate limit), hence Suspended Paused.
    Case {
        file: "ioerr_blockdev_ide_stop.jsonl",
        disks_from: Some("ioerr_blockdev_ide_stop.jsonl"),
        adjustment0: None,
        expected: &[
            RESUMED,
            IDE_PAUSE,
            IDE_PAUSE_R,
            SUSPENDED_IOERROR,
            RESUMED,
            SUSPENDED,
            IDE_PAUSE,
            IDE_PAUSE_R,
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // Like libvirt_ioerr_enospace.txt: report, Suspended Paused, then the late pause.
    Case {
        file: "ioerr_blockdev_virtio_enospc.jsonl",
        disks_from: Some("ioerr_blockdev_virtio_stop.jsonl"),
        adjustment0: None,
        expected: &[
            RESUMED,
            VIRTIO_REPORT,
            VIRTIO_REPORT_R,
            SUSPENDED,
            VIRTIO_PAUSE,
            VIRTIO_PAUSE_ENOSPC,
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // query-block's qdev is a QOM path here; the alias is its /machine/peripheral/ component.
    Case {
        file: "ioerr_blockdev_virtio_stop.jsonl",
        disks_from: Some("ioerr_blockdev_virtio_stop.jsonl"),
        adjustment0: None,
        expected: &[
            RESUMED,
            VIRTIO_PAUSE,
            VIRTIO_PAUSE_R,
            SUSPENDED_IOERROR,
            RESUMED,
            SUSPENDED,
            VIRTIO_PAUSE,
            VIRTIO_PAUSE_R,
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // -drive: found by device name with "drive-" stripped. libvirt_ioerr_enospace.txt pattern.
    Case {
        file: "ioerr_drive_enospc.jsonl",
        disks_from: Some("ioerr_drive_stop.jsonl"),
        adjustment0: None,
        expected: &[
            RESUMED,
            IDE_REPORT,
            IDE_REPORT_R,
            SUSPENDED,
            IDE_PAUSE,
            IDE_PAUSE_ENOSPC,
            RESUMED,
            SUSPENDED,
            IDE_PAUSE,
            IDE_PAUSE_ENOSPC,
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    Case {
        file: "ioerr_drive_enospc_eio_write.jsonl",
        disks_from: Some("ioerr_drive_stop.jsonl"),
        adjustment0: None,
        expected: &[RESUMED, IDE_IGNORE, IDE_IGNORE_R, IDE_REPORT, IDE_REPORT_R, SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
    // libvirt_ioerr_ignore.txt: action none (0) for each error.
    Case {
        file: "ioerr_drive_ignore.jsonl",
        disks_from: Some("ioerr_drive_stop.jsonl"),
        adjustment0: None,
        expected: &[RESUMED, IDE_IGNORE, IDE_IGNORE_R, IDE_IGNORE, IDE_IGNORE_R, SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
    // libvirt_ioerr_report.txt.
    Case {
        file: "ioerr_drive_report.jsonl",
        disks_from: Some("ioerr_drive_stop.jsonl"),
        adjustment0: None,
        expected: &[
            RESUMED,
            IDE_REPORT,
            IDE_REPORT_R,
            IDE_REPORT,
            IDE_REPORT_R,
            IDE_REPORT,
            IDE_REPORT_R,
            IDE_REPORT,
            IDE_REPORT_R,
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_ioerr_stop.txt, event for event.
    Case {
        file: "ioerr_drive_stop.jsonl",
        disks_from: Some("ioerr_drive_stop.jsonl"),
        adjustment0: None,
        expected: &[
            RESUMED,
            IDE_PAUSE,
            IDE_PAUSE_R,
            SUSPENDED_IOERROR,
            RESUMED,
            SUSPENDED,
            IDE_PAUSE,
            IDE_PAUSE_R,
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_lifecycle.txt: suspend, resume, one reboot per RESET; POWERDOWN gives nothing.
    Case {
        file: "lifecycle.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, SUSPENDED, RESUMED, REBOOT, REBOOT, SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
    // libvirt, running the migration itself, would say Suspended Migrated, and it reports
    // migration-iteration only during a migration job of its own; here every MIGRATION_PASS is
    // one. MIGRATION (status changes) has no public event.
    Case {
        file: "migration_to_file.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "migration-iteration 1",
            SUSPENDED,
            "migration-iteration 2",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // Never continued: only the `quit`.
    Case { file: "protocol.jsonl", disks_from: None, adjustment0: None, expected: &[SHUTDOWN_HOST, STOPPED_SHUTDOWN] },
    // -rtc base=2020-06-01T00:00:00 is what libvirt would pass for a variable clock whose
    // adjustment0 is that date minus the start time (RESUME at 1795276297 s): 1590969600 -
    // 1795276297. The reported offsets then come out as guest RTC - host UTC, close to
    // rtc_utc's. (libvirt_rtc_variable.txt: the offsets are QEMU's plus adjustment 3600.)
    Case {
        file: "rtc_basedate_vmclock.jsonl",
        disks_from: None,
        adjustment0: Some(1590969600 - 1795276297),
        expected: &[
            RESUMED,
            "rtc-change 98222902",
            "rtc-change 98224941",
            "rtc-change -814103194",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // <clock offset='localtime'>: raw offsets.
    Case {
        file: "rtc_localtime.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "rtc-change 98240907",
            "rtc-change 98242946",
            "rtc-change -814085189",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_rtc_utc.txt: raw offsets.
    Case {
        file: "rtc_utc.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "rtc-change 98222911",
            "rtc-change 98224950",
            "rtc-change -814103185",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_qemu_sigterm.txt.
    Case {
        file: "signal_term.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
    // libvirt_tray.txt: tray-change with the guest device's id, open then close. The second
    // drive (device "" with -blockdev) is found by id just the same.
    Case {
        file: "tray.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "tray-change ide0-1-0 open",
            "tray-change ide0-1-0 close",
            "tray-change ide0-1-1 open",
            "tray-change ide0-1-1 close",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    Case {
        file: "vnc_ipv6.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "graphics 0 local=ipv6:::1:5900 remote=ipv6:::1:50212 auth=none",
            "graphics 1 local=ipv6:::1:5900 remote=ipv6:::1:50212 auth=none",
            "graphics 2 local=ipv6:::1:5900 remote=ipv6:::1:50212 auth=none",
            "graphics 0 local=ipv6:::1:5900 remote=ipv6:::1:50222 auth=none",
            "graphics 2 local=ipv6:::1:5900 remote=ipv6:::1:50222 auth=none",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_vnc_password.txt: auth "vnc"; a failed password is connect + disconnect.
    Case {
        file: "vnc_password.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "graphics 0 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35740 auth=vnc",
            "graphics 1 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35740 auth=vnc",
            "graphics 2 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35740 auth=vnc",
            "graphics 0 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35746 auth=vnc",
            "graphics 2 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35746 auth=vnc",
            "graphics 0 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35762 auth=vnc",
            "graphics 2 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35762 auth=vnc",
            "graphics 0 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35774 auth=vnc",
            "graphics 1 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35774 auth=vnc",
            "graphics 2 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:35774 auth=vnc",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_vnc.txt: full session then an aborted one.
    Case {
        file: "vnc_tcp.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "graphics 0 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:57078 auth=none",
            "graphics 1 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:57078 auth=none",
            "graphics 2 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:57078 auth=none",
            "graphics 0 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:57084 auth=none",
            "graphics 2 local=ipv4:127.0.0.1:5900 remote=ipv4:127.0.0.1:57084 auth=none",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // Family unix: QEMU puts the socket path in the server's service and leaves host empty;
    // both are passed through as they are.
    Case {
        file: "vnc_unix.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "graphics 0 local=unix::$WORKDIR/vnc.sock remote=unix:: auth=none",
            "graphics 1 local=unix::$WORKDIR/vnc.sock remote=unix:: auth=none",
            "graphics 2 local=unix::$WORKDIR/vnc.sock remote=unix:: auth=none",
            "graphics 0 local=unix::$WORKDIR/vnc.sock remote=unix:: auth=none",
            "graphics 2 local=unix::$WORKDIR/vnc.sock remote=unix:: auth=none",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // libvirt_watchdog_dump.txt pattern: watchdog pause, Suspended Watchdog, Resumed.
    Case {
        file: "watchdog_pause_legacyopt.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "watchdog 1",
            SUSPENDED_WATCHDOG,
            RESUMED,
            "watchdog 1",
            SUSPENDED_WATCHDOG,
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    // QEMU exits without SHUTDOWN: Stopped Failed, as in libvirt_watchdog.txt.
    Case {
        file: "watchdog_poweroff.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, "watchdog 3", STOPPED_FAILED],
    },
    // libvirt_watchdog.txt: none, debug (5), inject-nmi (6), pause + Suspended Watchdog,
    // shutdown (POWERDOWN: nothing), reset + reboots, none x5, poweroff, Stopped Failed.
    Case {
        file: "watchdog_qmp_actions.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "watchdog 0",
            "watchdog 5",
            "watchdog 6",
            "watchdog 1",
            SUSPENDED_WATCHDOG,
            RESUMED,
            "watchdog 4",
            "watchdog 2",
            REBOOT,
            REBOOT,
            "watchdog 0",
            "watchdog 0",
            "watchdog 0",
            "watchdog 0",
            "watchdog 0",
            "watchdog 3",
            STOPPED_FAILED,
        ],
    },
    // The second WATCHDOG is rate-limited and arrives after the RESETs it caused.
    Case {
        file: "watchdog_reset.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[
            RESUMED,
            "watchdog 2",
            REBOOT,
            REBOOT,
            REBOOT,
            REBOOT,
            "watchdog 2",
            SHUTDOWN_HOST,
            STOPPED_SHUTDOWN,
        ],
    },
    Case {
        file: "watchdog_shutdown_noshutdown.jsonl",
        disks_from: None,
        adjustment0: None,
        expected: &[RESUMED, "watchdog 4", SHUTDOWN_HOST, STOPPED_SHUTDOWN],
    },
];

fn dir() -> PathBuf {
    let dir = PathBuf::from(DIR);
    assert!(dir.is_dir(), "QMP transcript directory {} is missing", dir.display());
    dir
}

fn lifecycle_name(event: i32, detail: i32) -> String {
    let name = match event {
        2 => "Started",
        3 => "Suspended",
        4 => "Resumed",
        5 => "Stopped",
        6 => "Shutdown",
        7 => "PMSuspended",
        8 => "Crashed",
        _ => return format!("{event} {detail}"),
    };
    let detail_name = match (event, detail) {
        (2, 0) => "Booted",
        (2, 4) => "Wakeup",
        (3, 0) => "Paused",
        (4, 0) => "Unpaused",
        (3, 2) => "IoError",
        (3, 3) => "Watchdog",
        (5, 0) => "Shutdown",
        (5, 5) => "Failed",
        (6, 0) => "Finished",
        (6, 1) => "Guest",
        (6, 2) => "Host",
        (7, 0) => "Memory",
        (7, 1) => "Disk",
        (8, 0) => "Panicked",
        (8, 1) => "Crashloaded",
        _ => return format!("{name} {detail}"),
    };
    format!("{name} {detail_name}")
}

fn family(family: i32) -> &'static str {
    match family {
        0 => "ipv4",
        1 => "ipv6",
        2 => "unix",
        _ => "?",
    }
}

/// A short, stable text for an event.
fn describe(payload: &EventPayload) -> String {
    match payload {
        EventPayload::Lifecycle { event, detail } => format!("lifecycle {}", lifecycle_name(*event, *detail)),
        EventPayload::Reboot => "reboot".into(),
        EventPayload::RtcChange { utc_offset } => format!("rtc-change {utc_offset}"),
        EventPayload::Watchdog { action } => format!("watchdog {action}"),
        EventPayload::IoError { src_path, dev_alias, action } => {
            format!("io-error {} {} {action}", q(src_path), q(dev_alias))
        }
        EventPayload::Graphics { phase, local, remote, auth_scheme, subject } => {
            let mut text = format!(
                "graphics {phase} local={}:{}:{} remote={}:{}:{} auth={auth_scheme}",
                family(local.family),
                local.node,
                local.service,
                family(remote.family),
                remote.node,
                remote.service
            );
            for (kind, name) in subject {
                text.push_str(&format!(" {kind}={name}"));
            }
            text
        }
        EventPayload::IoErrorReason { src_path, dev_alias, action, reason } => {
            format!("io-error-reason {} {} {action} reason={reason}", q(src_path), q(dev_alias))
        }
        EventPayload::ControlError => "control-error".into(),
        EventPayload::BlockJob { disk, job_type, status } => format!("block-job {} {job_type} {status}", q(disk)),
        EventPayload::BlockJob2 { disk, job_type, status } => format!("block-job-2 {} {job_type} {status}", q(disk)),
        EventPayload::DiskChange { old_src_path, new_src_path, dev_alias, reason } => {
            format!("disk-change {} {} {} {reason}", q(old_src_path), q(new_src_path), q(dev_alias))
        }
        EventPayload::TrayChange { dev_alias, reason } => {
            format!("tray-change {} {}", q(dev_alias), if *reason == 0 { "open" } else { "close" })
        }
        EventPayload::PmWakeup { reason } => format!("pm-wakeup {reason}"),
        EventPayload::PmSuspend { reason } => format!("pm-suspend {reason}"),
        EventPayload::PmSuspendDisk { reason } => format!("pm-suspend-disk {reason}"),
        EventPayload::BalloonChange { actual } => format!("balloon-change {actual}"),
        EventPayload::DeviceRemoved { dev_alias } => format!("device-removed {}", q(dev_alias)),
        EventPayload::DeviceAdded { dev_alias } => format!("device-added {}", q(dev_alias)),
        EventPayload::DeviceRemovalFailed { dev_alias } => format!("device-removal-failed {}", q(dev_alias)),
        EventPayload::Tunable { params } => format!("tunable {params:?}"),
        EventPayload::JobCompleted { params } => format!("job-completed {params:?}"),
        EventPayload::AgentLifecycle { state, reason } => format!("agent-lifecycle {state} {reason}"),
        EventPayload::MigrationIteration { iteration } => format!("migration-iteration {iteration}"),
        EventPayload::MetadataChange { metadata_type, nsuri } => {
            format!("metadata-change {metadata_type} {}", q(nsuri))
        }
        EventPayload::BlockThreshold { dev, path, threshold, excess } => {
            format!("block-threshold {} {} {threshold} {excess}", q(dev), q(path))
        }
        EventPayload::MemoryFailure { recipient, action, flags } => {
            format!("memory-failure {recipient} {action} {flags}")
        }
        EventPayload::MemoryDeviceSizeChange { alias, size } => {
            format!("memory-device-size-change {} {size}", q(alias))
        }
    }
}

/// An empty string shown as `""`.
fn q(text: &str) -> String {
    if text.is_empty() {
        "\"\"".to_owned()
    } else {
        text.to_owned()
    }
}

/// One transcript entry.
enum Entry {
    ToServer(String),
    FromServer(String),
    Eof,
    Meta,
}

fn entries(path: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let entry: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: bad JSONL: {e}", path.display(), n + 1));
            let raw =
                || entry["raw"].as_str().unwrap_or_else(|| panic!("{}:{}: no raw", path.display(), n + 1)).to_owned();
            match entry["dir"].as_str() {
                Some("c2s") => Entry::ToServer(raw()),
                Some("s2c") => Entry::FromServer(raw()),
                Some("eof") | Some("close") => Entry::Eof,
                Some("meta") if entry.get("close").is_some() => Entry::Eof,
                Some("meta") => Entry::Meta,
                other => panic!("{}:{}: unknown dir {other:?}", path.display(), n + 1),
            }
        })
        .collect()
}

fn execute_of(raw: &str) -> Option<String> {
    let value: Value = serde_json::from_str(raw).ok()?;
    Some(value.get("execute")?.as_str()?.to_owned())
}

/// The first successful reply to `execute` in a transcript.
fn first_reply(path: &Path, execute: &str) -> Option<Value> {
    let mut last = None;
    for entry in entries(path) {
        match entry {
            Entry::ToServer(raw) => last = execute_of(&raw),
            Entry::FromServer(raw) => {
                if let Ok(Message::Return { value, .. }) = Message::parse(raw.as_bytes()) {
                    if last.as_deref() == Some(execute) {
                        return Some(value);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Replays one transcript; returns the described libvirt events.
fn replay(dir: &Path, case: &Case) -> Vec<String> {
    let path = dir.join(case.file);
    let file = case.file;
    let mut rt = DomainRuntime::new(DomainState::Paused(PausedReason::StartingUp));
    rt.clock = case.adjustment0.map(VariableClock::new);
    if let Some(source) = case.disks_from {
        let reply = first_reply(&dir.join(source), "query-block")
            .unwrap_or_else(|| panic!("{source} has no query-block reply"));
        let warnings = rt.load_query_block(&reply).unwrap();
        assert!(warnings.is_empty(), "{file}: {warnings:?}");
        assert!(!rt.disks.is_empty(), "{file}: empty disk table from {source}");
    }

    let mut reader = LineReader::new();
    let mut out = Vec::new();
    let mut last_command: Option<String> = None;
    let mut continued = false;
    let mut closed = false;
    for (n, entry) in entries(&path).into_iter().enumerate() {
        match entry {
            Entry::Meta => {}
            Entry::ToServer(raw) => {
                last_command = execute_of(&raw);
                continued |= last_command.as_deref() == Some("cont");
            }
            Entry::Eof => {
                assert!(!closed, "{file}: two EOFs");
                closed = true;
                out.extend(map_eof(&mut rt).iter().map(describe));
            }
            Entry::FromServer(raw) => {
                assert!(!closed, "{file}: data after EOF");
                // Feed the line in two pieces, cut somewhere different each time.
                let bytes = format!("{raw}\r\n").into_bytes();
                let cut = (n * 7) % (bytes.len() + 1);
                reader.push(&bytes[..cut]);
                reader.push(&bytes[cut..]);
                let line = reader.next_line();
                assert!(reader.next_line().is_none(), "{file}: entry {n} gave several lines");
                let Some(Line::Data(line)) = line else { panic!("{file}: entry {n}: {line:?}") };
                assert_eq!(line, raw.as_bytes());
                match Message::parse(&line) {
                    Err(e) => panic!("{file}: entry {n}: {e}"),
                    Ok(Message::Event(ev)) => {
                        let mapped = map_event(&mut rt, &ev);
                        assert!(mapped.warnings.is_empty(), "{file}: {}: {:?}", ev.name, mapped.warnings);
                        out.extend(mapped.events.iter().map(describe));
                    }
                    Ok(Message::Return { value, .. }) if last_command.as_deref() == Some("query-status") => {
                        // Our state tracking agrees with QEMU's own view.
                        let qemu = DomainState::from_query_status(&value).unwrap();
                        if continued {
                            assert_eq!(
                                std::mem::discriminant(&qemu),
                                std::mem::discriminant(&rt.state),
                                "{file}: entry {n}: we think {:?}, QEMU says {value}",
                                rt.state
                            );
                        } else {
                            assert_eq!(qemu, DomainState::Paused(PausedReason::StartingUp), "{file}: {value}");
                        }
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    assert_eq!(reader.pending_bytes(), 0, "{file}");
    out
}

#[test]
fn every_transcript_maps_to_the_expected_events() {
    let dir = dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());
    let listed: Vec<&str> = CASES.iter().map(|c| c.file).collect();
    let unlisted: Vec<&String> = files.iter().filter(|f| !listed.contains(&f.as_str())).collect();
    assert!(unlisted.is_empty(), "transcripts without expectations: {unlisted:?}");

    let mut failures = Vec::new();
    for case in CASES {
        assert!(files.iter().any(|f| f == case.file), "{} is listed but missing", case.file);
        let got = replay(&dir, case);
        if got != case.expected {
            failures.push(format!("{}:\n  expected {:#?}\n  got      {:#?}", case.file, case.expected, got));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn variable_clock_keeps_the_last_adjustment() {
    let dir = dir();
    let case = CASES.iter().find(|c| c.adjustment0.is_some()).unwrap();
    let mut rt = DomainRuntime::new(DomainState::Running);
    rt.clock = case.adjustment0.map(VariableClock::new);
    let mut last = None;
    for entry in entries(&dir.join(case.file)) {
        if let Entry::FromServer(raw) = entry {
            if let Ok(Message::Event(ev)) = Message::parse(raw.as_bytes()) {
                last = map_event(&mut rt, &ev).rtc_adjustment.or(last);
            }
        }
    }
    assert_eq!(last, Some(-814103194));
    assert_eq!(rt.clock.unwrap().adjustment, -814103194);
}

#[test]
fn all_server_lines_survive_any_chunking() {
    let dir = dir();
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for case in CASES {
        for entry in entries(&dir.join(case.file)) {
            if let Entry::FromServer(raw) = entry {
                stream.extend_from_slice(raw.as_bytes());
                stream.extend_from_slice(b"\r\n");
                expected.push(Line::Data(raw.into_bytes()));
            }
        }
    }
    for chunk in [1, 2, 3, 5, 64, 1000, 4096, stream.len()] {
        let mut reader = LineReader::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            reader.push(piece);
            got.extend(std::iter::from_fn(|| reader.next_line()));
        }
        assert!(got == expected, "chunk size {chunk}");
        assert_eq!(reader.pending_bytes(), 0);
    }
}
