//! Every recorded QMP session replayed by a fake QEMU over a real Unix
//! socket, through the monitor thread, the event queue, the default event
//! loop and C-ABI callbacks. What the callbacks receive must equal what the
//! mapping gives for the same transcript in-process (whose expectations
//! `src/driver/qemu/mapping/transcripts.rs` pins down against the golden
//! files of `tests/data/qmp/`), in the same order.

use std::ffi::{CStr, CString};
use std::io::{BufRead, BufReader, Write};
use std::os::raw::{c_char, c_int, c_longlong, c_uint, c_ulonglong, c_void};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use virt_events::testing::mapping::{map_eof, map_event, DomainRuntime, DomainState, End};
use virt_events::testing::qmp::{Line, LineReader, Message};
use virt_events::testing::*;
use virt_events::testing::{virConnectPtr, virDomainPtr};
use virt_events::testing::{virDomainEventGraphicsAddress, virDomainEventGraphicsSubject};
use virt_events::testing::{virTypedParameterPtr, virTypedParameterType as Type};
use virt_events::testing::{
    virtEventsConnectDomainQemuMonitorEventDeregister, virtEventsConnectDomainQemuMonitorEventRegister,
};
use virt_events::testing::{EventPayload, GraphicsAddress, TypedParam, TypedValue};

mod common;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/qmp");

/// One recorded line: who sent it and what.
struct Entry {
    dir: String,
    raw: Option<String>,
}

fn read_transcript(path: &Path) -> Vec<Entry> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Entry { dir: v["dir"].as_str().unwrap_or_default().to_string(), raw: v["raw"].as_str().map(str::to_string) }
        })
        .collect()
}

/// The first recorded reply to `query-block`, the disks a real QEMU would report.
fn recorded_query_block(entries: &[Entry]) -> Value {
    let mut asked = false;
    for entry in entries {
        let Some(raw) = &entry.raw else { continue };
        if entry.dir == "c2s" && raw.contains("query-block") {
            asked = true;
        } else if entry.dir == "s2c" && asked && raw.contains("\"return\"") {
            return serde_json::from_str::<Value>(raw).unwrap()["return"].clone();
        }
    }
    json!([])
}

fn events_of(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.dir == "s2c")
        .filter_map(|e| e.raw.clone())
        .filter(|raw| raw.contains("\"event\""))
        .collect()
}

fn ends_with_eof(entries: &[Entry]) -> bool {
    entries.iter().any(|e| e.dir == "eof")
}

/// What the mapping gives for the transcript, computed in-process.
fn expected_payloads(events: &[String], status: &Value, block: &Value, eof: bool) -> Vec<EventPayload> {
    let mut runtime = DomainRuntime::new(DomainState::Running);
    runtime.apply_query_status(status).unwrap();
    let _ = runtime.load_query_block(block);
    let mut out = Vec::new();
    let mut reader = LineReader::new();
    let mut map_line = |line: Line<'_>| {
        if let Line::Data(data) = line {
            if let Ok(Message::Event(event)) = Message::parse(data) {
                out.extend(map_event(&mut runtime, &event).events);
            }
        }
    };
    for line in events {
        reader.push(line.as_bytes(), &mut map_line);
        reader.push(b"\r\n", &mut map_line);
    }
    if eof {
        out.extend(map_eof(&mut runtime, End::Exited));
    }
    out
}

/// The `query-status` answer of the replayed QEMUs: paused before start.
fn prelaunch() -> Value {
    json!({"running": false, "status": "prelaunch"})
}

/// A fake QEMU: greets, answers the driver's commands, replays the events
/// once the test has registered its callbacks (libvirt drops events nobody
/// listens for), then closes if the recording ended with QEMU going away.
fn serve(
    listener: UnixListener,
    uuid: String,
    (status, block): (Value, Value),
    events: Vec<String>,
    eof: bool,
    go: mpsc::Receiver<()>,
) {
    let (mut writer, mut reader) = common::fake_qemu_handshake(&listener, status, &uuid, block);
    let mut line = String::new();
    let _ = go.recv();
    for event in events {
        writeln!(writer, "{event}\r").unwrap();
    }
    if !eof {
        // Keep the monitor open until the driver goes away.
        let _ = reader.read_line(&mut line);
    }
}

static RECEIVED: Mutex<Vec<EventPayload>> = Mutex::new(Vec::new());

fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: the library passes NUL-terminated strings valid for the call.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

fn address(ptr: *const virDomainEventGraphicsAddress) -> GraphicsAddress {
    // SAFETY: the library passes a valid address for the call.
    let a = unsafe { &*ptr };
    GraphicsAddress { family: a.family, node: text(a.node).into(), service: text(a.service).into() }
}

extern "C" fn on_lifecycle(_: virConnectPtr, _: virDomainPtr, event: c_int, detail: c_int, _: *mut c_void) -> c_int {
    RECEIVED.lock().unwrap().push(EventPayload::Lifecycle { event, detail });
    0
}
extern "C" fn on_reboot(_: virConnectPtr, _: virDomainPtr, _: *mut c_void) {
    RECEIVED.lock().unwrap().push(EventPayload::Reboot);
}
extern "C" fn on_rtc(_: virConnectPtr, _: virDomainPtr, utc_offset: c_longlong, _: *mut c_void) {
    RECEIVED.lock().unwrap().push(EventPayload::RtcChange { utc_offset });
}
extern "C" fn on_watchdog(_: virConnectPtr, _: virDomainPtr, action: c_int, _: *mut c_void) {
    RECEIVED.lock().unwrap().push(EventPayload::Watchdog { action });
}
extern "C" fn on_io_error(
    _: virConnectPtr,
    _: virDomainPtr,
    src: *const c_char,
    alias: *const c_char,
    action: c_int,
    _: *mut c_void,
) {
    RECEIVED.lock().unwrap().push(EventPayload::IoError {
        src_path: text(src).into(),
        dev_alias: text(alias).into(),
        action,
    });
}
extern "C" fn on_graphics(
    _: virConnectPtr,
    _: virDomainPtr,
    phase: c_int,
    local: *const virDomainEventGraphicsAddress,
    remote: *const virDomainEventGraphicsAddress,
    auth: *const c_char,
    subject: *const virDomainEventGraphicsSubject,
    _: *mut c_void,
) {
    // SAFETY: the library passes a valid subject with `nidentity` entries.
    let subject = unsafe { &*subject };
    // SAFETY: the library passes `nidentity` valid identities.
    let identities = unsafe { std::slice::from_raw_parts(subject.identities, subject.nidentity as usize) };
    let identities =
        identities.iter().map(|identity| (text(identity.r#type).into(), text(identity.name).into())).collect();
    RECEIVED.lock().unwrap().push(EventPayload::Graphics {
        phase,
        local: address(local),
        remote: address(remote),
        auth_scheme: text(auth).into(),
        subject: identities,
    });
}

fn push(payload: EventPayload) {
    RECEIVED.lock().unwrap().push(payload);
}
extern "C" fn on_io_error_reason(
    _: virConnectPtr,
    _: virDomainPtr,
    src: *const c_char,
    alias: *const c_char,
    action: c_int,
    reason: *const c_char,
    _: *mut c_void,
) {
    push(EventPayload::IoErrorReason {
        src_path: text(src).into(),
        dev_alias: text(alias).into(),
        action,
        reason: text(reason).into(),
    });
}
extern "C" fn on_control_error(_: virConnectPtr, _: virDomainPtr, _: *mut c_void) {
    push(EventPayload::ControlError);
}
extern "C" fn on_block_job(
    _: virConnectPtr,
    _: virDomainPtr,
    disk: *const c_char,
    job_type: c_int,
    status: c_int,
    _: *mut c_void,
) {
    push(EventPayload::BlockJob { disk: text(disk).into(), job_type, status });
}
extern "C" fn on_disk_change(
    _: virConnectPtr,
    _: virDomainPtr,
    old: *const c_char,
    new: *const c_char,
    alias: *const c_char,
    reason: c_int,
    _: *mut c_void,
) {
    push(EventPayload::DiskChange {
        old_src_path: text(old).into(),
        new_src_path: text(new).into(),
        dev_alias: text(alias).into(),
        reason,
    });
}
extern "C" fn on_tray_change(_: virConnectPtr, _: virDomainPtr, alias: *const c_char, reason: c_int, _: *mut c_void) {
    push(EventPayload::TrayChange { dev_alias: text(alias).into(), reason });
}
extern "C" fn on_pm_wakeup(_: virConnectPtr, _: virDomainPtr, reason: c_int, _: *mut c_void) {
    push(EventPayload::PmWakeup { reason });
}
extern "C" fn on_pm_suspend(_: virConnectPtr, _: virDomainPtr, reason: c_int, _: *mut c_void) {
    push(EventPayload::PmSuspend { reason });
}
extern "C" fn on_balloon_change(_: virConnectPtr, _: virDomainPtr, actual: c_ulonglong, _: *mut c_void) {
    push(EventPayload::BalloonChange { actual });
}
extern "C" fn on_pm_suspend_disk(_: virConnectPtr, _: virDomainPtr, reason: c_int, _: *mut c_void) {
    push(EventPayload::PmSuspendDisk { reason });
}
extern "C" fn on_device_removed(_: virConnectPtr, _: virDomainPtr, alias: *const c_char, _: *mut c_void) {
    push(EventPayload::DeviceRemoved { dev_alias: text(alias).into() });
}
extern "C" fn on_block_job_2(
    _: virConnectPtr,
    _: virDomainPtr,
    disk: *const c_char,
    job_type: c_int,
    status: c_int,
    _: *mut c_void,
) {
    push(EventPayload::BlockJob2 { disk: text(disk).into(), job_type, status });
}
/// The parameters a TUNABLE or JOB_COMPLETED callback receives.
fn typed_params(params: virTypedParameterPtr, nparams: c_int) -> Vec<TypedParam> {
    if nparams <= 0 {
        return Vec::new();
    }
    // SAFETY: the library passes `nparams` valid parameters for the call.
    let params = unsafe { std::slice::from_raw_parts(params, nparams as usize) };
    params
        .iter()
        .map(|p| {
            let name = text(p.field.as_ptr());
            let value = p.value;
            // SAFETY (each arm): the member read is the one `type` says is set.
            let value = match p.r#type {
                // SAFETY: as said for each arm.
                t if t == Type::VIR_TYPED_PARAM_INT as c_int => TypedValue::Int(unsafe { value.i }),
                // SAFETY: as said for each arm.
                t if t == Type::VIR_TYPED_PARAM_UINT as c_int => TypedValue::UInt(unsafe { value.ui }),
                // SAFETY: as said for each arm.
                t if t == Type::VIR_TYPED_PARAM_LLONG as c_int => TypedValue::LLong(unsafe { value.l }),
                // SAFETY: as said for each arm.
                t if t == Type::VIR_TYPED_PARAM_ULLONG as c_int => TypedValue::ULLong(unsafe { value.ul }),
                // SAFETY: as said for each arm.
                t if t == Type::VIR_TYPED_PARAM_DOUBLE as c_int => TypedValue::Double(unsafe { value.d }),
                // SAFETY: as said for each arm.
                t if t == Type::VIR_TYPED_PARAM_BOOLEAN as c_int => TypedValue::Boolean(unsafe { value.b } != 0),
                // SAFETY: as said for each arm.
                _ => TypedValue::String(text(unsafe { value.s })),
            };
            TypedParam::new(name, value)
        })
        .collect()
}
extern "C" fn on_tunable(
    _: virConnectPtr,
    _: virDomainPtr,
    params: virTypedParameterPtr,
    nparams: c_int,
    _: *mut c_void,
) {
    push(EventPayload::Tunable { params: typed_params(params, nparams) });
}
extern "C" fn on_agent_lifecycle(_: virConnectPtr, _: virDomainPtr, state: c_int, reason: c_int, _: *mut c_void) {
    push(EventPayload::AgentLifecycle { state, reason });
}
extern "C" fn on_device_added(_: virConnectPtr, _: virDomainPtr, alias: *const c_char, _: *mut c_void) {
    push(EventPayload::DeviceAdded { dev_alias: text(alias).into() });
}
extern "C" fn on_migration_iteration(_: virConnectPtr, _: virDomainPtr, iteration: c_int, _: *mut c_void) {
    push(EventPayload::MigrationIteration { iteration });
}
extern "C" fn on_job_completed(
    _: virConnectPtr,
    _: virDomainPtr,
    params: virTypedParameterPtr,
    nparams: c_int,
    _: *mut c_void,
) {
    push(EventPayload::JobCompleted { params: typed_params(params, nparams) });
}
extern "C" fn on_device_removal_failed(_: virConnectPtr, _: virDomainPtr, alias: *const c_char, _: *mut c_void) {
    push(EventPayload::DeviceRemovalFailed { dev_alias: text(alias).into() });
}
extern "C" fn on_metadata_change(
    _: virConnectPtr,
    _: virDomainPtr,
    metadata_type: c_int,
    nsuri: *const c_char,
    _: *mut c_void,
) {
    push(EventPayload::MetadataChange { metadata_type, nsuri: text(nsuri).into() });
}
extern "C" fn on_block_threshold(
    _: virConnectPtr,
    _: virDomainPtr,
    dev: *const c_char,
    path: *const c_char,
    threshold: c_ulonglong,
    excess: c_ulonglong,
    _: *mut c_void,
) {
    push(EventPayload::BlockThreshold { dev: text(dev).into(), path: text(path).into(), threshold, excess });
}
extern "C" fn on_memory_failure(
    _: virConnectPtr,
    _: virDomainPtr,
    recipient: c_int,
    action: c_int,
    flags: c_uint,
    _: *mut c_void,
) {
    push(EventPayload::MemoryFailure { recipient, action, flags });
}
extern "C" fn on_memory_device_size_change(
    _: virConnectPtr,
    _: virDomainPtr,
    alias: *const c_char,
    size: c_ulonglong,
    _: *mut c_void,
) {
    push(EventPayload::MemoryDeviceSizeChange { alias: text(alias).into(), size });
}

extern "C" fn tick(_: c_int, _: *mut c_void) {}

fn run_transcript(path: &Path, work: &Path) -> Result<(), String> {
    let name = path.file_stem().unwrap().to_string_lossy().replace('_', "-");
    let entries = read_transcript(path);
    let block = recorded_query_block(&entries);
    let events = events_of(&entries);
    let eof = ends_with_eof(&entries);
    let expected = expected_payloads(&events, &prelaunch(), &block, eof);

    let root = work.join(&name);
    std::fs::create_dir_all(&root).unwrap();
    let listener = UnixListener::bind(root.join(format!("{name}.qmp"))).unwrap();
    let uuid = format!("00000000-0000-4000-8000-{:012x}", expected.len() + 1);
    let (go, wait_for_go) = mpsc::channel();
    let server = std::thread::spawn(move || serve(listener, uuid, (prelaunch(), block), events, eof, wait_for_go));

    RECEIVED.lock().unwrap().clear();
    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    // SAFETY: (all calls below) C-ABI calls with valid arguments, as a C program makes them.
    let conn = unsafe { virConnectOpenReadOnly(uri.as_ptr()) };
    if conn.is_null() {
        return Err(format!("{name}: cannot open {uri:?}"));
    }
    let callbacks: [(c_int, usize); 27] = [
        (0, on_lifecycle as *const () as usize),
        (1, on_reboot as *const () as usize),
        (2, on_rtc as *const () as usize),
        (3, on_watchdog as *const () as usize),
        (4, on_io_error as *const () as usize),
        (5, on_graphics as *const () as usize),
        (6, on_io_error_reason as *const () as usize),
        (7, on_control_error as *const () as usize),
        (8, on_block_job as *const () as usize),
        (9, on_disk_change as *const () as usize),
        (10, on_tray_change as *const () as usize),
        (11, on_pm_wakeup as *const () as usize),
        (12, on_pm_suspend as *const () as usize),
        (13, on_balloon_change as *const () as usize),
        (14, on_pm_suspend_disk as *const () as usize),
        (15, on_device_removed as *const () as usize),
        (16, on_block_job_2 as *const () as usize),
        (17, on_tunable as *const () as usize),
        (18, on_agent_lifecycle as *const () as usize),
        (19, on_device_added as *const () as usize),
        (20, on_migration_iteration as *const () as usize),
        (21, on_job_completed as *const () as usize),
        (22, on_device_removal_failed as *const () as usize),
        (23, on_metadata_change as *const () as usize),
        (24, on_block_threshold as *const () as usize),
        (25, on_memory_failure as *const () as usize),
        (26, on_memory_device_size_change as *const () as usize),
    ];
    let ids: Vec<c_int> = callbacks
        .iter()
        .map(|&(event_id, function)| {
            // SAFETY: each function has the C type of its event ID; the cast is VIR_DOMAIN_EVENT_CALLBACK's.
            let generic = unsafe {
                std::mem::transmute::<usize, extern "C" fn(virConnectPtr, virDomainPtr, *mut c_void)>(function)
            };
            virConnectDomainEventRegisterAny(
                conn,
                std::ptr::null_mut(),
                event_id,
                Some(generic),
                std::ptr::null_mut(),
                None,
            )
        })
        .collect();
    assert!(ids.iter().all(|id| *id >= 0), "{name}: registration failed");
    go.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while RECEIVED.lock().unwrap().len() < expected.len() && Instant::now() < deadline {
        virEventRunDefaultImpl();
    }
    // Anything extra would arrive right away.
    let settle = Instant::now() + Duration::from_millis(50);
    while Instant::now() < settle {
        virEventRunDefaultImpl();
    }
    for id in ids {
        virConnectDomainEventDeregisterAny(conn, id);
    }
    virConnectClose(conn);
    server.join().map_err(|_| format!("{name}: the fake server failed"))?;
    let received = RECEIVED.lock().unwrap().clone();
    if received != expected {
        return Err(format!("{name}:\n  expected {expected:?}\n  received {received:?}"));
    }
    Ok(())
}

#[test]
fn every_transcript_over_a_real_socket_delivers_what_the_mapping_gives() {
    assert!(Path::new(DIR).is_dir(), "{DIR} is missing");
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    // A periodic timer keeps each loop iteration short while waiting.
    // SAFETY: `tick` ignores its opaque.
    assert!(unsafe { virEventAddTimeout(20, Some(tick), std::ptr::null_mut(), None) } > 0);
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fake-qmp-{}", std::process::id()));
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "jsonl"));
    files.sort();
    assert!(files.len() >= 30, "expected the recorded transcripts in {DIR}");
    let failures: Vec<String> = files.iter().filter_map(|f| run_transcript(f, &work).err()).collect();
    let _ = std::fs::remove_dir_all(&work);
    assert!(failures.is_empty(), "{} of {} transcripts differ:\n{}", failures.len(), files.len(), failures.join("\n"));
}

/// A monitor that accepts but never greets is given up on after the
/// handshake timeout: the connection opens without it (a warning on stderr
/// says why).
#[test]
fn a_monitor_that_never_greets_times_out() {
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("silent-qmp-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let listener = UnixListener::bind(work.join("silent.qmp")).unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        // Hold the connection open, silent, until the driver gives up on it.
        let mut line = String::new();
        let _ = BufReader::new(stream).read_line(&mut line);
    });
    let uri = CString::new(format!("qemu:///embed?root={}", work.display())).unwrap();
    let started = Instant::now();
    // SAFETY: C-ABI calls with valid arguments.
    let conn = unsafe { virConnectOpenReadOnly(uri.as_ptr()) };
    let waited = started.elapsed();
    assert!(!conn.is_null(), "the connection opens without the silent monitor");
    assert!(waited >= Duration::from_secs(4) && waited < Duration::from_secs(9), "waited {waited:?}");
    let mut domains: *mut virDomainPtr = std::ptr::null_mut();
    // SAFETY: as above; `domains` receives a malloc'ed array.
    assert_eq!(unsafe { virConnectListAllDomains(conn, &mut domains, 0) }, 0, "nothing attached");
    // SAFETY: the array was allocated by the library with malloc.
    unsafe { libc::free(domains.cast()) };
    virConnectClose(conn);
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&work);
}

/// A QEMU that appears after the connection opened is attached through
/// inotify and reported as `Started Booted`, plus `Suspended Paused` when it
/// is paused; when it goes away without a SHUTDOWN, `Stopped Failed`.
#[test]
fn a_monitor_appearing_later_is_started_and_its_end_is_reported() {
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("late-qmp-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    let uri = CString::new(format!("qemu:///embed?root={}", work.display())).unwrap();
    // SAFETY: (C-ABI calls) valid arguments, as a C program passes them.
    let conn = unsafe { virConnectOpenReadOnly(uri.as_ptr()) };
    assert!(!conn.is_null());
    static LIFECYCLE: Mutex<Vec<(c_int, c_int)>> = Mutex::new(Vec::new());
    extern "C" fn record(_: virConnectPtr, _: virDomainPtr, event: c_int, detail: c_int, _: *mut c_void) -> c_int {
        LIFECYCLE.lock().unwrap().push((event, detail));
        0
    }
    let id = virConnectDomainEventRegister(conn, Some(record), std::ptr::null_mut(), None);
    assert_eq!(id, 0);
    // SAFETY: `tick` ignores its opaque.
    let ticker = unsafe { virEventAddTimeout(20, Some(tick), std::ptr::null_mut(), None) };

    let listener = UnixListener::bind(work.join("late.qmp")).unwrap();
    let (go, wait_for_go) = mpsc::channel();
    let server = std::thread::spawn(move || {
        serve(
            listener,
            "00000000-0000-4000-8000-00000000abcd".into(),
            (prelaunch(), json!([])),
            vec![],
            true,
            wait_for_go,
        )
    });
    go.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while LIFECYCLE.lock().unwrap().len() < 3 && Instant::now() < deadline {
        virEventRunDefaultImpl();
    }
    server.join().unwrap();
    // The fake answers query-status with "prelaunch": paused.
    assert_eq!(
        *LIFECYCLE.lock().unwrap(),
        [(2, 0), (3, 0), (5, 5)],
        "Started Booted, Suspended Paused, Stopped Failed"
    );
    assert_eq!(virConnectDomainEventDeregister(conn, Some(record)), 0);
    assert_eq!(virEventRemoveTimeout(ticker), 0);
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&work);
}

/// A fake QEMU that is running and stays connected after its `lines`.
fn serve_running(
    listener: UnixListener,
    uuid: String,
    lines: Vec<String>,
    go: mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    let running = json!({"running": true, "status": "running"});
    std::thread::spawn(move || serve(listener, uuid, (running, json!([])), lines, false, go))
}

/// A read-write connection to the embed root `dir`.
fn open_root(dir: &Path) -> virConnectPtr {
    let uri = CString::new(format!("qemu:///embed?root={}", dir.display())).unwrap();
    // SAFETY: a valid C string.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    assert!(!conn.is_null());
    conn
}

/// Registers `on_control_error` (CONTROL_ERROR) and `on_reboot` (REBOOT)
/// for every domain; returns their callback IDs.
fn watch_control_errors_and_reboots(
    conn: virConnectPtr,
    on_control_error: extern "C" fn(virConnectPtr, virDomainPtr, *mut c_void),
    on_reboot: extern "C" fn(virConnectPtr, virDomainPtr, *mut c_void),
) -> [c_int; 2] {
    let register =
        |id, cb| virConnectDomainEventRegisterAny(conn, std::ptr::null_mut(), id, Some(cb), std::ptr::null_mut(), None);
    [register(7, on_control_error), register(1, on_reboot)]
}

/// What the CONTROL_ERROR test's callbacks saw, in delivery order.
static MONITOR_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Data QEMU should never send (a line that is not JSON, an event whose name
/// is not a string, a reply to no command) is reported as CONTROL_ERROR, and
/// the monitor goes on: the event after it arrives, raw before mapped, as
/// libvirt emits them.
#[test]
fn malformed_monitor_data_is_a_control_error_and_later_events_still_arrive() {
    extern "C" fn on_control_error(_: virConnectPtr, dom: virDomainPtr, _: *mut c_void) {
        MONITOR_LOG.lock().unwrap().push(format!("control-error {}", text(virDomainGetName(dom))));
    }
    extern "C" fn on_reboot(_: virConnectPtr, _: virDomainPtr, _: *mut c_void) {
        MONITOR_LOG.lock().unwrap().push("reboot".into());
    }
    extern "C" fn on_raw(
        _: virConnectPtr,
        _: virDomainPtr,
        event: *const c_char,
        seconds: c_longlong,
        micros: c_uint,
        details: *const c_char,
        _: *mut c_void,
    ) {
        let details = if details.is_null() { "NULL".to_string() } else { text(details) };
        MONITOR_LOG.lock().unwrap().push(format!("raw {} {seconds}.{micros} {details}", text(event)));
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bad-qmp-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    let listener = UnixListener::bind(work.join("garbled.qmp")).unwrap();
    let (go, wait_for_go) = mpsc::channel();
    let lines = vec![
        "this is not JSON".to_string(),
        r#"{"event": 5}"#.to_string(),
        r#"{"return": {}, "id": "libvirt-999"}"#.to_string(),
        r#"{"timestamp": {"seconds": 12, "microseconds": 34}, "event": "RESET", "data": {"guest": true}}"#.to_string(),
    ];
    let server = serve_running(listener, "00000000-0000-4000-8000-00000000bad0".into(), lines, wait_for_go);
    let conn = open_root(&work);
    let ids = watch_control_errors_and_reboots(conn, on_control_error, on_reboot);
    // SAFETY: a NULL event name and a callback of the documented type.
    let raw = unsafe {
        virtEventsConnectDomainQemuMonitorEventRegister(
            conn,
            std::ptr::null_mut(),
            std::ptr::null(),
            Some(on_raw),
            std::ptr::null_mut(),
            None,
            0,
        )
    };
    assert_eq!((ids, raw), ([0, 1], 2));
    // SAFETY: `tick` ignores its opaque.
    let ticker = unsafe { virEventAddTimeout(20, Some(tick), std::ptr::null_mut(), None) };
    go.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while MONITOR_LOG.lock().unwrap().len() < 5 && Instant::now() < deadline {
        virEventRunDefaultImpl();
    }
    assert_eq!(
        *MONITOR_LOG.lock().unwrap(),
        [
            "control-error garbled",
            "control-error garbled",
            "control-error garbled",
            "raw RESET 12.34 {\"guest\":true}",
            "reboot"
        ]
    );
    for id in ids {
        assert_eq!(virConnectDomainEventDeregisterAny(conn, id), 0);
    }
    assert_eq!(virtEventsConnectDomainQemuMonitorEventDeregister(conn, raw), 0);
    assert_eq!(virEventRemoveTimeout(ticker), 0);
    virConnectClose(conn);
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&work);
}

/// What the panic test's callbacks saw, in delivery order.
static PANIC_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A panic while the monitor thread handles one monitor (made here by the
/// test hook on a QMP event name no QEMU sends) drops that monitor alone: its
/// domain gets a CONTROL_ERROR and is detached, and the other monitors of the
/// process go on delivering.
#[test]
fn a_panic_handling_one_monitor_leaves_the_others_delivering() {
    extern "C" fn on_control_error(_: virConnectPtr, dom: virDomainPtr, _: *mut c_void) {
        PANIC_LOG.lock().unwrap().push(format!("control-error {}", text(virDomainGetName(dom))));
    }
    extern "C" fn on_reboot(_: virConnectPtr, dom: virDomainPtr, _: *mut c_void) {
        PANIC_LOG.lock().unwrap().push(format!("reboot {}", text(virDomainGetName(dom))));
    }
    const POISON: &str = "VIRT_EVENTS_TEST_PANIC";
    virt_events::testing::panic_on_qmp_event(Some(POISON));
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("panic-qmp-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    let reset = r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET", "data": {"guest": true}}"#;
    let mut servers = Vec::new();
    let mut gos = Vec::new();
    for (name, lines) in [
        ("doomed", vec![format!(r#"{{"event": "{POISON}"}}"#), reset.to_string()]),
        ("healthy", vec![reset.to_string(), reset.to_string()]),
    ] {
        let listener = UnixListener::bind(work.join(format!("{name}.qmp"))).unwrap();
        let (go, wait_for_go) = mpsc::channel();
        let uuid = format!("00000000-0000-4000-8000-0000000{:05x}", servers.len());
        servers.push(serve_running(listener, uuid, lines, wait_for_go));
        gos.push(go);
    }
    let conn = open_root(&work);
    let ids = watch_control_errors_and_reboots(conn, on_control_error, on_reboot);
    assert!(ids.iter().all(|id| *id >= 0));
    // SAFETY: `tick` ignores its opaque.
    let ticker = unsafe { virEventAddTimeout(20, Some(tick), std::ptr::null_mut(), None) };
    let run_until = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while PANIC_LOG.lock().unwrap().len() < count && Instant::now() < deadline {
            virEventRunDefaultImpl();
        }
    };
    // The doomed monitor first, so that its panic comes before the healthy one's events.
    gos[0].send(()).unwrap();
    run_until(1);
    gos[1].send(()).unwrap();
    run_until(3);
    assert_eq!(*PANIC_LOG.lock().unwrap(), ["control-error doomed", "reboot healthy", "reboot healthy"]);
    let mut domains: *mut virDomainPtr = std::ptr::null_mut();
    // SAFETY: as above; `domains` receives a malloc'ed array.
    let count = unsafe { virConnectListAllDomains(conn, &mut domains, 0) };
    assert_eq!(count, 1, "the doomed domain is detached");
    // SAFETY: the array holds the one domain the library returned.
    let healthy = unsafe { *domains };
    assert_eq!(text(virDomainGetName(healthy)), "healthy");
    virt_events::testing::virDomainFree(healthy);
    // SAFETY: the array was allocated by the library with malloc.
    unsafe { libc::free(domains.cast()) };
    for id in ids {
        assert_eq!(virConnectDomainEventDeregisterAny(conn, id), 0);
    }
    assert_eq!(virEventRemoveTimeout(ticker), 0);
    virConnectClose(conn);
    for server in servers {
        server.join().unwrap();
    }
    let _ = std::fs::remove_dir_all(&work);
}
