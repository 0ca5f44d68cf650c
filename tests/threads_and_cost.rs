//! The QEMU driver's cost: however many monitors are attached, one monitor
//! thread serves them all, and an idle process (monitors attached, callbacks
//! registered, the application blocked in its event loop) uses no CPU.

use std::ffi::CString;
use std::io::{BufRead, Write};
use std::os::raw::{c_int, c_void};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Duration;

use virt_events::testing::*;
use virt_events::testing::{virConnectPtr, virDomainPtr};

mod common;

fn running() -> serde_json::Value {
    serde_json::json!({"running": true, "status": "running"})
}

/// A fake QEMU that completes the handshake, then stays silent.
fn quiet_monitor(listener: UnixListener) {
    let (_writer, mut reader) = common::fake_qemu_handshake(&listener, running(), "", serde_json::json!([]));
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        line.clear();
    }
}

fn cpu_time() -> Duration {
    // SAFETY: all-zero bytes are a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the live struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn monitor_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.trim() == "virt-events-qmp")
        .count()
}

/// The CPU measurement needs the process to itself.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

extern "C" fn on_lifecycle(_: virConnectPtr, _: virDomainPtr, _: c_int, _: c_int, _: *mut c_void) -> c_int {
    0
}

#[test]
fn one_monitor_thread_and_no_cpu_when_idle() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("idle-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    for n in 0..8 {
        let listener = UnixListener::bind(root.join(format!("vm{n}.qmp"))).unwrap();
        std::thread::spawn(move || quiet_monitor(listener));
    }
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    // SAFETY: (C-ABI calls) valid arguments, as a C program passes them.
    let conn = unsafe { virConnectOpenReadOnly(uri.as_ptr()) };
    assert!(!conn.is_null());
    let mut domains: *mut virDomainPtr = std::ptr::null_mut();
    // SAFETY: `domains` receives a malloc'ed array of 8 references.
    assert_eq!(unsafe { virConnectListAllDomains(conn, &mut domains, 0) }, 8, "all monitors attached");
    // SAFETY: the library returned an array of 8 references.
    for &domain in unsafe { std::slice::from_raw_parts(domains, 8) } {
        virt_events::testing::virDomainFree(domain);
    }
    // SAFETY: the array was allocated by the library with malloc.
    unsafe { libc::free(domains.cast()) };
    // SAFETY: the callback has the lifecycle type; this is VIR_DOMAIN_EVENT_CALLBACK's cast.
    let generic = unsafe {
        std::mem::transmute::<*const (), extern "C" fn(virConnectPtr, virDomainPtr, *mut c_void)>(
            on_lifecycle as *const (),
        )
    };
    assert!(
        virConnectDomainEventRegisterAny(conn, std::ptr::null_mut(), 0, Some(generic), std::ptr::null_mut(), None) >= 0
    );
    assert_eq!(monitor_threads(), 1, "one monitor thread for eight monitors");

    // The application's loop blocks; nothing should run until something happens.
    std::thread::spawn(|| loop {
        virEventRunDefaultImpl();
    });
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_time();
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_time() - before;
    assert!(spent < Duration::from_millis(20), "an idle process spent {spent:?} of CPU in 2 s");
    let _ = std::fs::remove_dir_all(&root);
}

extern "C" fn tick(_: c_int, _: *mut c_void) {}

static OFFSETS: std::sync::Mutex<Vec<i64>> = std::sync::Mutex::new(Vec::new());

extern "C" fn slow_rtc(_: virConnectPtr, _: virDomainPtr, offset: std::os::raw::c_longlong, _: *mut c_void) {
    if OFFSETS.lock().unwrap().is_empty() {
        // A slow application: everything else arrives while it sleeps.
        std::thread::sleep(Duration::from_millis(300));
    }
    OFFSETS.lock().unwrap().push(offset);
}

#[test]
fn a_slow_callback_loses_no_event() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("slow-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let listener = UnixListener::bind(root.join("busy.qmp")).unwrap();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut writer, mut reader) = common::fake_qemu_handshake(&listener, running(), "", serde_json::json!([]));
        let mut line = String::new();
        wait.recv().unwrap();
        for offset in 0..500 {
            let event = serde_json::json!({"event": "RTC_CHANGE", "data": {"offset": offset}, "timestamp": {"seconds": 1, "microseconds": 0}});
            writeln!(writer, "{event}\r").unwrap();
        }
        // Stay attached until the test is done.
        let _ = reader.read_line(&mut line);
    });
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    // SAFETY: (C-ABI calls) valid arguments, as a C program passes them.
    let conn = unsafe { virConnectOpenReadOnly(uri.as_ptr()) };
    assert!(!conn.is_null());
    // SAFETY: the callback has the RTC-change type; this is VIR_DOMAIN_EVENT_CALLBACK's cast.
    let generic = unsafe {
        std::mem::transmute::<*const (), extern "C" fn(virConnectPtr, virDomainPtr, *mut c_void)>(slow_rtc as *const ())
    };
    assert!(
        virConnectDomainEventRegisterAny(conn, std::ptr::null_mut(), 2, Some(generic), std::ptr::null_mut(), None) >= 0
    );
    // Another test's thread may be running the loop too: never block for long.
    // SAFETY: `tick` ignores its opaque.
    let ticker = unsafe { virEventAddTimeout(20, Some(tick), std::ptr::null_mut(), None) };
    assert!(ticker > 0);
    go.send(()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while OFFSETS.lock().unwrap().len() < 500 && std::time::Instant::now() < deadline {
        virEventRunDefaultImpl();
    }
    assert_eq!(*OFFSETS.lock().unwrap(), (0..500).collect::<Vec<i64>>(), "every event, in order");
    assert_eq!(virEventRemoveTimeout(ticker), 0);
    virConnectClose(conn);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
