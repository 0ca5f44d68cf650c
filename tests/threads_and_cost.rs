//! The QEMU driver's cost: however many monitors are attached, one monitor
//! thread serves them all, an idle process (monitors attached, callbacks
//! registered, the application blocked in its event loop) uses no CPU, and
//! with the built-in event loop an event wakes only the loop's thread.

use std::ffi::CString;
use std::io::{BufRead, Write};
use std::os::raw::{c_int, c_void};
use std::os::unix::net::{UnixListener, UnixStream};
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

/// How many times the monitor thread has gone to sleep and been woken.
fn monitor_thread_wakeups() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|task| task.unwrap().path())
        .filter(|task| std::fs::read_to_string(task.join("comm")).is_ok_and(|name| name.trim() == "virt-events-qmp"))
        .filter_map(|task| std::fs::read_to_string(task.join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
                .map(|count| count.trim().parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Registers `callback` for the domain event `id` on `conn`.
fn register(conn: virConnectPtr, id: c_int, callback: *const ()) {
    // SAFETY: `callback` has the type of event `id`; this is VIR_DOMAIN_EVENT_CALLBACK's cast.
    let generic =
        unsafe { std::mem::transmute::<*const (), extern "C" fn(virConnectPtr, virDomainPtr, *mut c_void)>(callback) };
    assert!(
        virConnectDomainEventRegisterAny(conn, std::ptr::null_mut(), id, Some(generic), std::ptr::null_mut(), None)
            >= 0
    );
}

/// A fresh root `NAME-PID` holding one fake QEMU, `NAME.qmp`, which
/// completes the handshake, waits for the test's go, then runs `serve`.
fn root_with_fake<T: Send + 'static>(
    name: &str,
    serve: impl FnOnce(UnixStream, std::io::BufReader<UnixStream>) -> T + Send + 'static,
) -> (PathBuf, std::sync::mpsc::Sender<()>, std::thread::JoinHandle<T>) {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let listener = UnixListener::bind(root.join(format!("{name}.qmp"))).unwrap();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (writer, reader) = common::fake_qemu_handshake(&listener, running(), "", serde_json::json!([]));
        wait.recv().unwrap();
        serve(writer, reader)
    });
    (root, go, server)
}

/// Sends QEMU's RTC_CHANGE with `offset`.
fn send_rtc_change(writer: &mut UnixStream, offset: i64) {
    let event = serde_json::json!({"event": "RTC_CHANGE", "data": {"offset": offset}, "timestamp": {"seconds": 1, "microseconds": 0}});
    writeln!(writer, "{event}\r").unwrap();
}

/// Registers the default loop and opens `qemu:///embed` on `root`.
fn open_embed(root: &std::path::Path, read_only: bool) -> virConnectPtr {
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    let open = if read_only { virConnectOpenReadOnly } else { virConnectOpen };
    // SAFETY: (C-ABI call) a valid URI, as a C program passes it.
    let conn = unsafe { open(uri.as_ptr()) };
    assert!(!conn.is_null());
    conn
}

/// Runs the default loop on this thread until `done` (at most 20 s). A
/// 20 ms timer keeps each iteration short: another test's thread may be
/// running the loop too.
fn run_loop_until(done: impl Fn() -> bool) {
    // SAFETY: `tick` ignores its opaque.
    let ticker = unsafe { virEventAddTimeout(20, Some(tick), std::ptr::null_mut(), None) };
    assert!(ticker > 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() && std::time::Instant::now() < deadline {
        virEventRunDefaultImpl();
    }
    assert_eq!(virEventRemoveTimeout(ticker), 0);
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
    let looping = LoopThread::start();
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_time();
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_time() - before;
    looping.stop();
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
    let (root, go, server) = root_with_fake("slow", |mut writer, mut reader| {
        for offset in 0..500 {
            send_rtc_change(&mut writer, offset);
        }
        // Stay attached until the test is done.
        let _ = reader.read_line(&mut String::new());
    });
    let conn = open_embed(&root, true);
    register(conn, 2, slow_rtc as *const ());
    go.send(()).unwrap();
    run_loop_until(|| OFFSETS.lock().unwrap().len() >= 500);
    assert_eq!(*OFFSETS.lock().unwrap(), (0..500).collect::<Vec<i64>>(), "every event, in order");
    virConnectClose(conn);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

/// The RTC offsets `record_rtc` received, in order (emptied by each test
/// that uses it: the tests run one at a time).
static RECEIVED: std::sync::Mutex<Vec<i64>> = std::sync::Mutex::new(Vec::new());

extern "C" fn record_rtc(_: virConnectPtr, _: virDomainPtr, offset: std::os::raw::c_longlong, _: *mut c_void) {
    RECEIVED.lock().unwrap().push(offset);
}

/// The built-in loop's thread reads the monitors while it waits, so a
/// QEMU event wakes that thread alone, not the monitor thread as well. With
/// nothing of the application's to poll, it waits in the monitors' own set.
#[test]
fn with_the_default_loop_an_event_wakes_only_the_loop_thread() {
    events_wake_only_the_loop_thread("paced", false);
}

/// The same with a watch of the application's polled beside the monitors.
#[test]
fn with_an_application_watch_an_event_still_wakes_only_the_loop_thread() {
    events_wake_only_the_loop_thread("paced-watch", true);
}

extern "C" fn never_ready(_: c_int, _: c_int, _: c_int, _: *mut c_void) {
    panic!("the idle pipe was reported ready");
}

fn events_wake_only_the_loop_thread(name: &str, with_watch: bool) {
    const EVENTS: i64 = 100;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    RECEIVED.lock().unwrap().clear();
    let (root, go, server) = root_with_fake(name, |mut writer, mut reader| {
        for offset in 0..EVENTS {
            send_rtc_change(&mut writer, offset);
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = reader.read_line(&mut String::new());
    });
    let conn = open_embed(&root, true);
    register(conn, 2, record_rtc as *const ());
    // A pipe nobody writes to, watched for reading.
    let (idle, _writer) = UnixStream::pair().unwrap();
    let watch = with_watch.then(|| {
        use std::os::unix::io::AsRawFd;
        // SAFETY: (C-ABI call) a live descriptor and a callback that takes no opaque.
        let watch = unsafe { virEventAddHandle(idle.as_raw_fd(), 1, Some(never_ready), std::ptr::null_mut(), None) };
        assert!(watch > 0);
        watch
    });
    let before = monitor_thread_wakeups();
    go.send(()).unwrap();
    run_loop_until(|| RECEIVED.lock().unwrap().len() as i64 >= EVENTS);
    let woken = monitor_thread_wakeups() - before;
    if let Some(watch) = watch {
        assert_eq!(virEventRemoveHandle(watch), 0);
    }
    assert_eq!(*RECEIVED.lock().unwrap(), (0..EVENTS).collect::<Vec<i64>>(), "every event, in order");
    // The monitor thread wakes only to check, every 100 ms, that the loop's
    // thread still comes back to wait (and on a machine too busy to run it).
    assert!(woken < EVENTS as u64 / 4, "the monitor thread woke {woken} times for {EVENTS} events");
    virConnectClose(conn);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

/// The loop's thread keeps the reading between its waits; when it stops
/// coming back (here: the application stops running the loop after an
/// event), the monitor thread reads again, so that what QEMU says still
/// reaches the domain's state, which other threads ask for.
#[test]
fn a_loop_thread_that_stops_waiting_gives_the_reading_back() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    RECEIVED.lock().unwrap().clear();
    let (stop_now, stop_later) = std::sync::mpsc::channel::<()>();
    let (root, go, server) = root_with_fake("abandoned", move |mut writer, mut reader| {
        send_rtc_change(&mut writer, 1);
        stop_later.recv().unwrap();
        let event = serde_json::json!({"event": "STOP", "timestamp": {"seconds": 2, "microseconds": 0}});
        writeln!(writer, "{event}\r").unwrap();
        let _ = reader.read_line(&mut String::new());
    });
    let conn = open_embed(&root, true);
    register(conn, 2, record_rtc as *const ());
    go.send(()).unwrap();
    run_loop_until(|| !RECEIVED.lock().unwrap().is_empty());
    assert_eq!(*RECEIVED.lock().unwrap(), [1]);
    // SAFETY: (C-ABI call) a live connection and a NUL-terminated name.
    let dom = unsafe { virDomainLookupByName(conn, c"abandoned".as_ptr()) };
    assert!(!dom.is_null());
    let state = || {
        let (mut state, mut reason) = (-1, -1);
        // SAFETY: (C-ABI call) a live domain and two live out-pointers.
        assert_eq!(unsafe { virDomainGetState(dom, &mut state, &mut reason, 0) }, 0);
        state
    };
    assert_eq!(state(), 1, "running");
    // Nobody runs the loop from here on.
    stop_now.send(()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while state() != 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(state(), 3, "the domain is paused although no loop thread reads its monitor");
    assert_eq!(virDomainFree(dom), 0);
    virConnectClose(conn);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

static SUSPENDED: std::sync::Mutex<Option<(c_int, Duration)>> = std::sync::Mutex::new(None);

extern "C" fn suspend_on_rtc(_: virConnectPtr, dom: virDomainPtr, _: std::os::raw::c_longlong, _: *mut c_void) {
    let start = std::time::Instant::now();
    let result = virDomainSuspend(dom);
    *SUSPENDED.lock().unwrap() = Some((result, start.elapsed()));
}

/// A callback runs on the loop's thread, which reads the monitors while it
/// waits: a command issued from a callback must still get its reply.
#[test]
fn a_command_issued_from_a_callback_is_answered() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (root, go, server) = root_with_fake("commanded", |mut writer, mut reader| {
        send_rtc_change(&mut writer, 7);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let command: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        writeln!(writer, "{}\r", serde_json::json!({"return": {}, "id": command["id"]})).unwrap();
        command["execute"].as_str().unwrap_or_default().to_string()
    });
    let conn = open_embed(&root, false);
    register(conn, 2, suspend_on_rtc as *const ());
    go.send(()).unwrap();
    run_loop_until(|| SUSPENDED.lock().unwrap().is_some());
    let (result, took) = SUSPENDED.lock().unwrap().expect("the callback ran");
    assert_eq!(result, 0, "virDomainSuspend from the callback failed");
    assert!(took < Duration::from_secs(5), "the reply took {took:?}");
    virConnectClose(conn);
    assert_eq!(server.join().unwrap(), "stop");
    let _ = std::fs::remove_dir_all(&root);
}

/// A thread running the default loop until it is stopped: stopping arms a
/// timer, so that the iteration under way ends.
struct LoopThread {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl LoopThread {
    fn start() -> LoopThread {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(std::sync::atomic::Ordering::SeqCst) {
                virEventRunDefaultImpl();
            }
        });
        LoopThread { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // SAFETY: `tick` ignores its opaque.
        let ticker = unsafe { virEventAddTimeout(0, Some(tick), std::ptr::null_mut(), None) };
        assert!(ticker > 0);
        self.thread.join().unwrap();
        assert_eq!(virEventRemoveTimeout(ticker), 0);
    }
}

/// A stream socket bound to `path` that does not listen: connecting to it
/// is refused, as to QEMU's before it listens.
fn bound_not_listening(path: &std::path::Path) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: socket takes no pointers; its result is checked.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0);
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let socket = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero bytes are a valid sockaddr_un.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let path = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    assert!(path.len() < address.sun_path.len());
    for (to, &from) in address.sun_path.iter_mut().zip(path) {
        *to = from as libc::c_char;
    }
    let length = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `address` is a filled sockaddr_un of `length` bytes.
    let bound = unsafe { libc::bind(fd, std::ptr::addr_of!(address).cast(), length) };
    assert_eq!(bound, 0, "bind {}", std::io::Error::last_os_error());
    socket
}

/// A root opened while the loop's thread waits is attached by that thread
/// (the request wakes it): the deadlines its monitors then have (here, the
/// retries of a socket not listening yet) must still be kept by the
/// monitor thread, which was asleep with none.
#[test]
fn deadlines_set_on_the_loop_thread_are_kept() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("deadlines-{}", std::process::id()));
    let (first, second) = (base.join("first"), base.join("second"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let listener = UnixListener::bind(first.join("quiet.qmp")).unwrap();
    std::thread::spawn(move || quiet_monitor(listener));
    let conn = open_embed(&first, true);
    // A callback makes the loop's thread read the monitors.
    register(conn, 0, on_lifecycle as *const ());
    let looping = LoopThread::start();
    std::thread::sleep(Duration::from_millis(100));

    // A socket that exists but does not listen yet refuses connections.
    let socket = second.join("late.qmp");
    let socket = bound_not_listening(&socket);
    let server = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: listen on a descriptor this thread owns.
        assert_eq!(unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&socket), 1) }, 0);
        quiet_monitor(UnixListener::from(socket));
    });
    let start = std::time::Instant::now();
    let late = open_embed(&second, true);
    let mut domains: *mut virDomainPtr = std::ptr::null_mut();
    // SAFETY: `domains` receives a malloc'ed array of references.
    let found = unsafe { virConnectListAllDomains(late, &mut domains, 0) };
    let took = start.elapsed();
    assert_eq!(found, 1, "the late monitor was attached");
    // SAFETY: the library returned an array of one reference.
    virt_events::testing::virDomainFree(unsafe { *domains });
    // SAFETY: the array was allocated by the library with malloc.
    unsafe { libc::free(domains.cast()) };
    assert!(took < Duration::from_secs(3), "attaching took {took:?}: a retry was missed");
    looping.stop();
    virConnectClose(late);
    virConnectClose(conn);
    drop(server);
    let _ = std::fs::remove_dir_all(&base);
}

/// Two threads running the default loop take turns reading the monitors
/// (one waits while the other reads and delivers): every event arrives
/// once, in order, whichever thread read it.
#[test]
fn two_loop_threads_share_the_reading() {
    const EVENTS: i64 = 300;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    RECEIVED.lock().unwrap().clear();
    let (root, go, server) = root_with_fake("shared", |mut writer, mut reader| {
        for offset in 0..EVENTS {
            send_rtc_change(&mut writer, offset);
            // Bursts of ten, so that some arrive while a thread delivers.
            if offset % 10 == 9 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let _ = reader.read_line(&mut String::new());
    });
    let conn = open_embed(&root, true);
    register(conn, 2, record_rtc as *const ());
    let threads = [LoopThread::start(), LoopThread::start()];
    go.send(()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while (RECEIVED.lock().unwrap().len() as i64) < EVENTS && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    threads.into_iter().for_each(LoopThread::stop);
    assert_eq!(*RECEIVED.lock().unwrap(), (0..EVENTS).collect::<Vec<i64>>(), "every event once, in order");
    virConnectClose(conn);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
