//! Replays every recorded QMP session in `tests/data/qmp/` through
//! LineReader → Message → map_event (→ map_eof) and checks the libvirt
//! events that come out against the golden file beside each transcript
//! (`NAME.expected`, whose format `tests/data/qmp/README.md` describes).
//!
//! Each transcript is a QEMU 10.0.2 started with `-S`, driven by a plain QMP
//! client that sends `cont` first. The runtime therefore starts as
//! `Paused(StartingUp)` (QEMU's `prelaunch`, which every pre-`cont`
//! `query-status` in the recordings confirms), so the RESUME after `cont`
//! gives `Resumed Unpaused`, as libvirt reports when it starts a domain.
//!
//! Where a libvirt-9.0 output covers the same scenario, the expectations agree
//! with it, except for what libvirt adds because it launches and destroys the
//! QEMU itself (`Started Booted`, `Shutdown Host` + `Stopped Destroyed` from
//! `virsh destroy`), and for the differences each golden file's comment names
//! (paths of recordings that never query their disks, what libvirt only
//! reports for jobs it runs itself).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{map_eof, map_event, DomainRuntime, DomainState, End, PausedReason, VariableClock};
use crate::driver::qemu::qmp::{kept, Line, LineReader, Message};
use crate::event::EventPayload;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/qmp");

/// One transcript and its golden file.
struct Case {
    file: String,
    /// The transcript whose first `query-block` reply stands for the one the
    /// driver makes on attach (`@disks-from`).
    disks_from: Option<String>,
    /// `<clock offset='variable'>`'s adjustment0 (`@adjustment0`).
    adjustment0: Option<i64>,
    expected: Vec<String>,
}

impl Case {
    /// Reads `NAME.expected` for the transcript `NAME.jsonl`.
    fn load(dir: &Path, file: &str) -> Case {
        let golden = dir.join(file).with_extension("expected");
        let text = std::fs::read_to_string(&golden).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        let mut case = Case { file: file.to_owned(), disks_from: None, adjustment0: None, expected: Vec::new() };
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            if let Some(source) = line.strip_prefix("@disks-from ") {
                case.disks_from = Some(source.trim().to_owned());
            } else if let Some(value) = line.strip_prefix("@adjustment0 ") {
                let value = value.trim().parse().unwrap_or_else(|e| panic!("{}: {line}: {e}", golden.display()));
                case.adjustment0 = Some(value);
            } else if line.starts_with('@') {
                panic!("{}: unknown directive {line}", golden.display());
            } else {
                case.expected.push(line.to_owned());
            }
        }
        case
    }
}

/// Every transcript with its golden file; each `.jsonl` must have one.
fn cases() -> Vec<Case> {
    let dir = dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());
    files.iter().map(|file| Case::load(&dir, file)).collect()
}

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
    let path = dir.join(&case.file);
    let file = &case.file;
    let mut rt = DomainRuntime::new(DomainState::Paused(PausedReason::StartingUp));
    rt.clock = case.adjustment0.map(VariableClock::new);
    if let Some(source) = &case.disks_from {
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
                out.extend(map_eof(&mut rt, End::Exited).iter().map(describe));
            }
            Entry::FromServer(raw) => {
                assert!(!closed, "{file}: data after EOF");
                // Feed the line in two pieces, cut somewhere different each time.
                let bytes = format!("{raw}\r\n").into_bytes();
                let cut = (n * 7) % (bytes.len() + 1);
                let mut lines = Vec::new();
                for piece in [&bytes[..cut], &bytes[cut..]] {
                    reader.push(piece, |line| lines.push(kept(line)));
                }
                let [Line::Data(line)] = lines[..] else { panic!("{file}: entry {n}: {lines:?}") };
                assert_eq!(line, raw.as_bytes());
                match Message::parse(line) {
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
    let transcripts: Vec<String> = cases().into_iter().map(|c| c.file.replace(".jsonl", ".expected")).collect();
    let orphans: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".expected") && !transcripts.contains(name))
        .collect();
    assert!(orphans.is_empty(), "golden files without a transcript: {orphans:?}");

    let mut failures = Vec::new();
    for case in cases() {
        let got = replay(&dir, &case);
        if got != case.expected {
            failures.push(format!("{}:\n  expected {:#?}\n  got      {:#?}", case.file, case.expected, got));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn variable_clock_keeps_the_last_adjustment() {
    let dir = dir();
    let case = cases().into_iter().find(|c| c.adjustment0.is_some()).unwrap();
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
    for case in cases() {
        for entry in entries(&dir.join(&case.file)) {
            if let Entry::FromServer(raw) = entry {
                stream.extend_from_slice(raw.as_bytes());
                stream.extend_from_slice(b"\r\n");
                expected.push(kept(Line::Data(raw.as_bytes())));
            }
        }
    }
    for chunk in [1, 2, 3, 5, 64, 1000, 4096, stream.len()] {
        let mut reader = LineReader::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            reader.push(piece, |line| got.push(kept(line)));
        }
        assert!(got == expected, "chunk size {chunk}");
        assert_eq!(reader.pending_bytes(), 0);
    }
}
