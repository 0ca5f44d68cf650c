use serde_json::json;

use super::*;
use crate::abi::domain_event::{
    virDomainEventCrashedDetailType as Crashed, virDomainEventPMSuspendedDetailType as PmSuspended,
    virDomainEventResumedDetailType as Resumed, virDomainEventShutdownDetailType as Shutdown,
    virDomainEventStartedDetailType as Started, virDomainEventStoppedDetailType as Stopped,
    virDomainEventSuspendedDetailType as Suspended, virDomainEventType as Ev,
};
use crate::driver::qemu::qmp::Message;
use crate::driver::qemu::raw_json::Tape;
use crate::event::{CText, GraphicsAddress};

fn event(line: &str) -> QmpEvent<'static> {
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
const RESUMED_UNPAUSED: (Ev, i32) = (Ev::VIR_DOMAIN_EVENT_RESUMED, Resumed::VIR_DOMAIN_EVENT_RESUMED_UNPAUSED as i32);

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
            map_eof(&mut rt, End::Exited),
            vec![lc(Ev::VIR_DOMAIN_EVENT_STOPPED, Stopped::VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN as i32)]
        );
        assert_eq!(rt.state, DomainState::Shutoff);
        assert_eq!(map_eof(&mut rt, End::Exited), vec![]);
    }
}

#[test]
fn a_destroyed_domain_stops_destroyed_whatever_came_before() {
    let destroyed = vec![lc(Ev::VIR_DOMAIN_EVENT_STOPPED, Stopped::VIR_DOMAIN_EVENT_STOPPED_DESTROYED as i32)];
    let mut rt = running();
    assert_eq!(map_eof(&mut rt, End::Destroyed), destroyed);
    // `quit` brings a host SHUTDOWN first; the end is still the destroy's.
    let mut rt = running();
    let quit = r#"{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#;
    assert_eq!(
        map(&mut rt, quit),
        vec![lc(Ev::VIR_DOMAIN_EVENT_SHUTDOWN, Shutdown::VIR_DOMAIN_EVENT_SHUTDOWN_HOST as i32)]
    );
    assert_eq!(map_eof(&mut rt, End::Destroyed), destroyed);
    assert_eq!(map_eof(&mut rt, End::Destroyed), vec![]);
}

/// The shut-off reason each end leaves, as libvirt's QEMU driver gives it:
/// destroyed, shut down, or "crashed" for a QEMU gone without a SHUTDOWN.
#[test]
fn each_end_leaves_libvirts_shutoff_reason() {
    use crate::abi::common::virDomainShutoffReason as Shutoff;
    let reason = |rt: &mut DomainRuntime, end| map_eof(rt, end).first().and_then(shutoff_reason).map(|r| r as i32);
    assert_eq!(reason(&mut running(), End::Destroyed), Some(Shutoff::VIR_DOMAIN_SHUTOFF_DESTROYED as i32));
    assert_eq!(reason(&mut running(), End::Exited), Some(Shutoff::VIR_DOMAIN_SHUTOFF_CRASHED as i32));
    let mut rt = running();
    map(&mut rt, r#"{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}"#);
    assert_eq!(reason(&mut rt, End::Exited), Some(Shutoff::VIR_DOMAIN_SHUTOFF_SHUTDOWN as i32));
    assert!(shutoff_reason(&EventPayload::Reboot).is_none());
}

#[test]
fn attaching_reports_a_start_only_for_a_qemu_that_appeared() {
    let started = lc(Ev::VIR_DOMAIN_EVENT_STARTED, Started::VIR_DOMAIN_EVENT_STARTED_BOOTED as i32);
    let (event, detail) = SUSPENDED_PAUSED;
    let suspended = lc(event, detail);
    let paused = DomainRuntime::new(DomainState::Paused(PausedReason::StartingUp));
    assert_eq!(map_attach(&running(), Attach::Appeared), vec![started.clone()]);
    assert_eq!(map_attach(&paused, Attach::Appeared), vec![started.clone(), suspended]);
    for how in [Attach::AtOpen, Attach::Launched] {
        assert_eq!(map_attach(&running(), how), vec![]);
        assert_eq!(map_attach(&paused, how), vec![]);
    }
    assert_eq!(map_launched(), vec![started]);
}

#[test]
fn stopped_and_everything_after_the_end_show_no_domain_id() {
    let mut rt = running();
    let stopped = lc(Ev::VIR_DOMAIN_EVENT_STOPPED, Stopped::VIR_DOMAIN_EVENT_STOPPED_FAILED as i32);
    assert_eq!(shown_id(&rt, 7, &EventPayload::Reboot), 7);
    assert_eq!(shown_id(&rt, 7, &stopped), -1);
    let ended = map_eof(&mut rt, End::Exited);
    assert_eq!(ended.iter().map(|p| shown_id(&rt, 7, p)).collect::<Vec<_>>(), vec![-1]);
    assert_eq!(shown_id(&rt, 7, &EventPayload::ControlError), -1);
}

#[test]
fn eof_without_shutdown_is_failure() {
    let mut rt = running();
    assert_eq!(
        map_eof(&mut rt, End::Exited),
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
        let mapped = map_event(&mut running(), &event(&format!(r#"{{"event": "{name}", "data": {{"status": "x"}}}}"#)));
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
    let (src_path, dev_alias) = (CText::new("/img/b.qcow2"), CText::new("virtio-disk0"));
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
        vec![EventPayload::IoError { src_path: CText::default(), dev_alias: CText::default(), action: 2 }]
    );
    // Missing action counts as ignore, with a warning; missing device warns too.
    let mapped = map_event(&mut running(), &event(r#"{"event": "BLOCK_IO_ERROR", "data": {}}"#));
    assert_eq!(
        without_reasons(mapped.events.clone()),
        vec![EventPayload::IoError { src_path: CText::default(), dev_alias: CText::default(), action: 0 }]
    );
    assert_eq!(mapped.warnings.len(), 2);
    let mapped =
        map_event(&mut running(), &event(r#"{"event": "BLOCK_IO_ERROR", "data": {"device": "", "action": "halt"}}"#));
    assert_eq!(
        without_reasons(mapped.events.clone()),
        vec![EventPayload::IoError { src_path: CText::default(), dev_alias: CText::default(), action: 0 }]
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
            auth_scheme: CText::default(),
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

/// The mapping left for the delivery gives what mapping at once gives (the
/// events and the warnings), from the event's `data` as the monitor thread
/// keeps it; only the graphics events of a live domain are left.
#[test]
fn graphics_mapped_at_delivery_as_at_once() {
    let graphics = [
        r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "VNC_CONNECTED", "data": {"server": {"auth": "sasl", "family": "ipv4", "websocket": false, "service": "5901", "host": "0.0.0.0"}, "client": {"family": "ipv4", "service": "58425", "host": "127.0.0.1", "websocket": false}}}"#,
        r#"{"event": "VNC_INITIALIZED", "data": {"server": {"auth": "vencrypt+x509+sasl", "family": "ipv6", "service": "5900", "host": "::1"}, "client": {"family": "ipv6", "service": "50212", "host": "::1", "x509_dname": "CN=client", "sasl_username": "fred"}}}"#,
        r#"{"event": "VNC_DISCONNECTED", "data": {"server": {"family": "vsock", "service": "5900", "host": "2"}, "client": {"family": "unknown", "service": "1", "host": "3"}}}"#,
        r#"{"event": "SPICE_INITIALIZED", "data": {"server": {"auth": "spice", "port": "5921", "family": "ipv4", "host": "127.0.0.1"}, "client": {"port": "49004", "family": "ipv4", "host": "127.0.0.1", "tls": true}}}"#,
        r#"{"event": "SPICE_DISCONNECTED", "data": {"server": {"family": "ipv4", "service": "5900", "host": "h"}, "client": {"family": "ipv4", "port": "1", "host": "h"}}}"#,
        r#"{"event": "SPICE_CONNECTED", "data": {"client": {"family": "ipv4", "port": "1", "host": "h"}}}"#,
    ];
    for line in graphics {
        let mut tape = Tape::new();
        let ev = QmpEvent::read_plain(line.as_bytes(), &mut tape).unwrap();
        let name = deferrable(&running(), &ev).unwrap_or_else(|| panic!("not left: {line}"));
        let kept = ev.checked_data().unwrap().to_owned();
        let mut at_delivery = Mapped::default();
        map_deferred(name, &QmpEvent::with_data(name, kept.raw()), &mut at_delivery);
        assert_eq!(at_delivery, map_event(&mut running(), &ev), "{line}");
        assert_eq!(deferrable(&DomainRuntime::new(DomainState::Shutoff), &ev), None, "{line}");
    }
    for other in [r#"{"event": "RESET", "data": {"guest": true}}"#, r#"{"event": "RTC_CHANGE", "data": {"offset": 1}}"#]
    {
        let mut tape = Tape::new();
        assert_eq!(deferrable(&running(), &QmpEvent::read_plain(other.as_bytes(), &mut tape).unwrap()), None);
    }
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
    let suspended_disk = lc(Ev::VIR_DOMAIN_EVENT_PMSUSPENDED, PmSuspended::VIR_DOMAIN_EVENT_PMSUSPENDED_DISK as i32);
    let wakeup = lc(Ev::VIR_DOMAIN_EVENT_STARTED, Started::VIR_DOMAIN_EVENT_STARTED_WAKEUP as i32);
    let mut rt = running();
    assert_eq!(map(&mut rt, r#"{"event": "SUSPEND"}"#), vec![EventPayload::PmSuspend { reason: 0 }, suspended_memory]);
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
        map(&mut rt, r#"{"event": "DEVICE_TRAY_MOVED", "data": {"device": "", "tray-open": true, "id": "ide0-1-0"}}"#),
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
    let failed =
        job("BLOCK_JOB_COMPLETED", "stream").replace(r#""speed": 0"#, r#""speed": 0, "error": "Input/output error""#);
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
