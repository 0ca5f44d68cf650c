//! Hostile input and hostile neighbours: what a root directory can hold,
//! monitors of other users, impostors and stalled QEMUs, a second process
//! on one root, odd environments. The library refuses, warns and carries
//! on; it never crashes, stalls or trusts what it should not.

use std::ffi::{CStr, CString};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use virt_events::testing::*;

mod common;

/// The user every test that needs a stranger uses.
const NOBODY: u32 = 65534;

/// A fresh directory for one test, under cargo's temporary directory.
fn fresh_dir(what: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Opens `qemu:///embed?root=DIR`: the connection, or the error message.
fn open_root(dir: &Path) -> Result<virConnectPtr, String> {
    let uri = CString::new(format!("qemu:///embed?root={}", dir.display())).unwrap();
    // SAFETY: a valid C string.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    if conn.is_null() {
        // SAFETY: the library returns a NUL-terminated message valid until the next call.
        Err(unsafe { CStr::from_ptr(virGetLastErrorMessage()) }.to_string_lossy().into_owned())
    } else {
        Ok(conn)
    }
}

/// A root that another user owns, or that its group or others can write
/// into, is refused with an error that names the directory and the fix;
/// a missing root is created private (0700).
#[test]
fn only_a_private_root_of_ones_own_is_used() {
    let foreign = fresh_dir("foreign-root");
    std::fs::create_dir_all(&foreign).unwrap();
    let me = std::fs::metadata(&foreign).unwrap().uid();
    assert_eq!(me, 0, "this test gives a directory away: run it as root (CI does)");
    std::os::unix::fs::chown(&foreign, Some(NOBODY), Some(NOBODY)).unwrap();
    let refused = open_root(&foreign).unwrap_err();
    assert!(refused.contains(&foreign.display().to_string()), "{refused}");
    assert!(refused.contains("owned by uid 65534") && refused.contains("chown 0"), "{refused}");

    let shared = fresh_dir("shared-root");
    std::fs::create_dir_all(&shared).unwrap();
    for mode in [0o777, 0o770, 0o1777] {
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).unwrap();
        let refused = open_root(&shared).unwrap_err();
        assert!(refused.contains(&shared.display().to_string()), "{refused}");
        assert!(refused.contains("chmod 0700"), "{refused}");
    }
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    virConnectClose(open_root(&shared).expect("a root only its owner can write into is fine"));

    let missing = fresh_dir("new-root").join("nested");
    virConnectClose(open_root(&missing).unwrap());
    assert_eq!(std::fs::metadata(&missing).unwrap().mode() & 0o777, 0o700);
    for dir in [foreign, shared, missing.parent().unwrap().to_path_buf()] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A definition nested 100,000 levels deep, planted in an embed root, is
/// skipped with a warning; the root's other definitions still load.
#[test]
fn a_planted_deep_definition_is_skipped() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("deep-xml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let deep = format!(
        "<domain type='qemu'><name>deep</name><memory>1024</memory><metadata>{}{}</metadata></domain>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    std::fs::write(root.join("deep.xml"), deep).unwrap();
    std::fs::write(
        root.join("fine.xml"),
        "<domain type='qemu'><name>fine</name><memory unit='KiB'>16384</memory>\
         <os><type arch='x86_64'>hvm</type></os></domain>",
    )
    .unwrap();

    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    // SAFETY: a valid C string.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    assert!(!conn.is_null(), "the root opens despite the planted definition");
    let deep = CString::new("deep").unwrap();
    // SAFETY: a live connection and a valid C string.
    assert!(unsafe { virDomainLookupByName(conn, deep.as_ptr()) }.is_null(), "the deep definition was not loaded");
    let fine = CString::new("fine").unwrap();
    // SAFETY: as above.
    let dom = unsafe { virDomainLookupByName(conn, fine.as_ptr()) };
    assert!(!dom.is_null(), "the root's other definition still loads");
    virDomainFree(dom);
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&root);
}

/// A helper process, stopped by its PID when dropped (a failing test too).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fake QEMU in a process of its own (`tests/helpers/fake_qemu.py`),
/// stopped by its PID when dropped.
struct FakeQemu {
    child: std::process::Child,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl FakeQemu {
    /// Serves the monitor socket `path` with `uuid`; as `nobody` if
    /// `stranger`. Returns once it listens.
    fn start(path: &Path, uuid: &str, stranger: bool) -> FakeQemu {
        // The script goes on the command line: `nobody` may not be able to
        // read the checkout. The system's Python is one every user can run.
        let script = include_str!("helpers/fake_qemu.py");
        let mut command = if stranger {
            let mut setpriv = std::process::Command::new("setpriv");
            setpriv.args(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3"]);
            setpriv
        } else {
            std::process::Command::new("/usr/bin/python3")
        };
        let mut child = command
            .arg("-c")
            .arg(script)
            .arg(path)
            .arg(uuid)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 (and setpriv) run the fake QEMU");
        let output = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut fake = FakeQemu { child, output };
        fake.expect("ready");
        fake
    }

    /// Waits for the helper to print `line`.
    fn expect(&mut self, line: &str) {
        use std::io::BufRead;
        let mut got = String::new();
        self.output.read_line(&mut got).unwrap();
        assert_eq!(got.trim(), line, "the fake QEMU said something else");
    }
}

impl Drop for FakeQemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has_domain(conn: virConnectPtr, name: &str) -> bool {
    let name = CString::new(name).unwrap();
    // SAFETY: a live connection and a valid C string.
    let dom = unsafe { virDomainLookupByName(conn, name.as_ptr()) };
    if !dom.is_null() {
        virDomainFree(dom);
    }
    !dom.is_null()
}

/// A directory under /tmp (the fake QEMU run as `nobody` must reach it; a
/// socket moves between two of them, which needs one file system).
fn fresh_tmp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("virt-events-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A monitor served by a process of another user (not root) is refused:
/// the peer credentials of the socket say who listens on it. The same
/// fake QEMU run by this user attaches.
#[test]
fn a_monitor_served_by_another_user_is_refused() {
    let root = fresh_tmp_dir("peer-root");
    let side = fresh_tmp_dir("peer-side");
    std::os::unix::fs::chown(&side, Some(NOBODY), Some(NOBODY)).unwrap();
    // nobody cannot create anything in the root: it listens in its own
    // directory, and the socket is moved into the root, as a root-writable
    // mistake would let it be.
    let _stranger = FakeQemu::start(&side.join("stranger.qmp"), "00000000-0000-4000-8000-00000000face", true);
    std::fs::rename(side.join("stranger.qmp"), root.join("stranger.qmp")).unwrap();
    let _own = FakeQemu::start(&root.join("own.qmp"), "00000000-0000-4000-8000-00000000c0de", false);
    let conn = open_root(&root).unwrap();
    assert!(has_domain(conn, "own"), "a monitor of this user attaches");
    assert!(!has_domain(conn, "stranger"), "a monitor of another user is refused");
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&side);
}

/// Symlinks in the root are not followed: neither a `.qmp` pointing at a
/// socket elsewhere nor a `.xml` pointing at a definition elsewhere is
/// used, and defining a domain does not write through a `NAME.xml` symlink.
#[test]
fn symlinks_in_the_root_are_not_followed() {
    let root = fresh_dir("symlink-root");
    let elsewhere = fresh_dir("symlink-elsewhere");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let _fake = FakeQemu::start(&elsewhere.join("real.qmp"), "00000000-0000-4000-8000-0000000011ad", false);
    std::os::unix::fs::symlink(elsewhere.join("real.qmp"), root.join("linked.qmp")).unwrap();
    let definition =
        "<domain type='qemu'><name>linkeddef</name><memory>16384</memory><os><type>hvm</type></os></domain>";
    std::fs::write(elsewhere.join("def.xml"), definition).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("def.xml"), root.join("linkeddef.xml")).unwrap();
    let target = elsewhere.join("precious");
    std::fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, root.join("planted.xml")).unwrap();

    let conn = open_root(&root).unwrap();
    assert!(!has_domain(conn, "linked"), "a symlinked monitor is not connected to");
    assert!(!has_domain(conn, "linkeddef"), "a symlinked definition is not read");
    let xml = CString::new(
        "<domain type='qemu'><name>planted</name><memory>16384</memory><os><type>hvm</type></os></domain>",
    )
    .unwrap();
    // SAFETY: a live connection and a valid C string.
    let dom = unsafe { virDomainDefineXML(conn, xml.as_ptr()) };
    assert!(dom.is_null(), "defining through a symlinked NAME.xml fails");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&elsewhere);
}

/// `virDomainDestroy` of a QEMU that ignores `quit` kills the process that
/// serves its monitor, never the PID written in `ROOT/NAME.pid`.
#[test]
fn destroy_kills_the_monitors_peer_not_the_pid_file() {
    let root = fresh_dir("destroy-root");
    std::fs::create_dir_all(&root).unwrap();
    let mut fake = FakeQemu::start(&root.join("stubborn.qmp"), "00000000-0000-4000-8000-0000000057b0", false);
    let mut bystander = KillOnDrop(std::process::Command::new("sleep").arg("60").spawn().unwrap());
    std::fs::write(root.join("stubborn.pid"), bystander.0.id().to_string()).unwrap();
    let conn = open_root(&root).unwrap();
    let name = CString::new("stubborn").unwrap();
    // SAFETY: a live connection and a valid C string.
    let dom = unsafe { virDomainLookupByName(conn, name.as_ptr()) };
    assert!(!dom.is_null());
    assert_eq!(virDomainDestroy(dom), 0, "the fake QEMU is killed after ignoring quit");
    virDomainFree(dom);
    assert!(bystander.0.try_wait().unwrap().is_none(), "the PID in the pid file was not signalled");
    let status = fake.child.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&root);
}

/// A monitor that claims the UUID of a domain already attached is refused
/// (disconnected, with a warning); the first domain keeps it.
#[test]
fn a_second_monitor_claiming_an_attached_uuid_is_refused() {
    let root = fresh_dir("uuid-root");
    std::fs::create_dir_all(&root).unwrap();
    let uuid = "00000000-0000-4000-8000-00000000d0d0";
    let _first = FakeQemu::start(&root.join("first.qmp"), uuid, false);
    let conn = open_root(&root).unwrap();
    assert!(has_domain(conn, "first"));
    let mut impostor = FakeQemu::start(&root.join("impostor.qmp"), uuid, false);
    impostor.expect("closed");
    assert!(!has_domain(conn, "impostor"), "the impostor is not attached");
    assert!(has_domain(conn, "first"), "the first domain keeps its UUID");
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&root);
}

/// A listener with a full backlog: listen(2) with a backlog of 0, filled by
/// connections nobody accepts. Prints "ready" once full.
const JAMMED_MONITOR: &str = "
import socket, sys, time
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
listener.listen(0)
pending = []
while True:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.setblocking(False)
    try:
        client.connect(sys.argv[1])
    except BlockingIOError:
        break
    pending.append(client)
print('ready', flush=True)
time.sleep(600)
";

/// When each REBOOT event reached its callback.
static REBOOTS: std::sync::Mutex<Vec<std::time::Instant>> = std::sync::Mutex::new(Vec::new());

/// A monitor whose listen backlog is full (its QEMU serves someone else)
/// blocks neither `virConnectOpen` (under 1 s) nor the other monitors:
/// another domain's events arrive within 100 ms.
#[test]
fn a_monitor_with_a_full_backlog_stalls_nothing() {
    use std::io::{BufRead, Write};
    use std::time::{Duration, Instant};
    use virt_events::testing::*;
    extern "C" fn on_reboot(_: virConnectPtr, _: virt_events::testing::virDomainPtr, _: *mut libc::c_void) {
        REBOOTS.lock().unwrap().push(Instant::now());
    }
    extern "C" fn tick(_: libc::c_int, _: *mut libc::c_void) {}

    let root = fresh_dir("backlog-root");
    std::fs::create_dir_all(&root).unwrap();
    let mut jammed = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(JAMMED_MONITOR)
        .arg(root.join("jammed.qmp"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(jammed.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "ready");
    let _jammed = KillOnDrop(jammed);
    let listener = std::os::unix::net::UnixListener::bind(root.join("lively.qmp")).unwrap();
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let running = serde_json::json!({"running": true, "status": "running"});
        let (mut writer, _reader) = common::fake_qemu_handshake(
            &listener,
            running,
            "00000000-0000-4000-8000-0000000011fe",
            serde_json::json!([]),
        );
        let mut sent = Vec::new();
        while wait_for_go.recv().is_ok() {
            sent.push(Instant::now());
            writer.write_all(b"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESET\", \"data\": {\"guest\": true}}\r\n").unwrap();
        }
        sent
    });

    assert_eq!(virEventRegisterDefaultImpl(), 0);
    let started = Instant::now();
    let conn = open_root(&root).unwrap();
    let opening = started.elapsed();
    assert!(opening < Duration::from_secs(1), "virConnectOpen took {opening:?}");
    assert!(has_domain(conn, "lively"));
    assert!(!has_domain(conn, "jammed"));
    let id =
        virConnectDomainEventRegisterAny(conn, std::ptr::null_mut(), 1, Some(on_reboot), std::ptr::null_mut(), None);
    assert!(id >= 0);
    // SAFETY: `tick` ignores its opaque.
    let ticker = unsafe { virEventAddTimeout(20, Some(tick), std::ptr::null_mut(), None) };
    for round in 1..=5 {
        go.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while REBOOTS.lock().unwrap().len() < round && Instant::now() < deadline {
            virEventRunDefaultImpl();
        }
    }
    drop(go);
    let sent = server.join().unwrap();
    let received = REBOOTS.lock().unwrap().clone();
    assert_eq!(received.len(), sent.len(), "every event arrived");
    for (sent, received) in sent.iter().zip(&received) {
        let latency = received.duration_since(*sent);
        assert!(latency < Duration::from_millis(100), "an event took {latency:?}");
    }
    assert_eq!(virConnectDomainEventDeregisterAny(conn, id), 0);
    assert_eq!(virEventRemoveTimeout(ticker), 0);
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&root);
}

/// The variable that makes `open_from_another_process` run, naming a URI.
const SECOND_OPEN: &str = "VIRT_EVENTS_TEST_SECOND_OPEN";

/// Not a test of its own: run by other tests in a process of its own (this
/// test binary again), it opens the URI `$VIRT_EVENTS_TEST_SECOND_OPEN` and
/// prints what happened.
#[test]
fn open_from_another_process() {
    let Some(uri) = std::env::var(SECOND_OPEN).ok() else { return };
    let uri = CString::new(uri).unwrap();
    // SAFETY: a valid C string.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    let opened = if conn.is_null() {
        // SAFETY: the library returns a NUL-terminated message valid until the next call.
        Err(unsafe { CStr::from_ptr(virGetLastErrorMessage()) }.to_string_lossy().into_owned())
    } else {
        Ok(conn)
    };
    match opened {
        Ok(conn) => {
            // On a line of its own: libtest's "test NAME ... " has no newline.
            println!("\nOPENED");
            virConnectClose(conn);
        }
        Err(message) => println!("\nREFUSED {message}"),
    }
}

/// What `open_from_another_process` printed for `uri`, run with the
/// environment variables `unset` removed.
fn open_in_another_process(uri: &str, unset: &[&str]) -> String {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", "open_from_another_process", "--nocapture", "--test-threads=1"]).env(SECOND_OPEN, uri);
    for name in unset {
        command.env_remove(name);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    stdout.lines().find(|l| l.starts_with("OPENED") || l.starts_with("REFUSED")).unwrap_or(&stdout).to_string()
}

/// Without `XDG_RUNTIME_DIR` and `HOME`, `qemu:///session` has no root: it
/// fails clearly instead of falling back on a shared directory such as
/// /tmp, which another user could own.
#[test]
fn the_session_uri_has_no_shared_fallback() {
    let refused = open_in_another_process("qemu:///session", &["XDG_RUNTIME_DIR", "HOME"]);
    assert!(refused.starts_with("REFUSED") && refused.contains("set XDG_RUNTIME_DIR or HOME"), "{refused}");
}

/// Two processes on one root: the second fails at open with an error that
/// names the root and what to do, while the first has a connection open;
/// once it closes, the root is free.
#[test]
fn a_second_process_on_one_root_fails_clearly() {
    let root = fresh_dir("locked-root");
    std::fs::create_dir_all(&root).unwrap();
    let second_open = || open_in_another_process(&format!("qemu:///embed?root={}", root.display()), &[]);
    let first = open_root(&root).unwrap();
    let second = open_root(&root).expect("connections of one process share the root");
    let refused = second_open();
    assert!(refused.starts_with("REFUSED"), "{refused}");
    assert!(refused.contains(&root.display().to_string()) && refused.contains("another process"), "{refused}");
    virConnectClose(second);
    assert!(second_open().starts_with("REFUSED"), "the lock is held while a connection is open");
    virConnectClose(first);
    // Another test's thread starting a program shares this process's
    // descriptors, the lock's among them, until the program runs (between
    // fork and exec): on a loaded machine that can outlast the close.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut after_close = second_open();
    while after_close != "OPENED" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        after_close = second_open();
    }
    assert_eq!(after_close, "OPENED");
    let _ = std::fs::remove_dir_all(&root);
}

/// What the NUL test's callbacks saw, in order.
static NUL_LOG: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A QMP event with an escaped NUL (`\u0000`) in a string cannot reach a C
/// callback whole: it is dropped with a warning, not silently cut; the
/// next event arrives as usual.
#[test]
fn an_event_with_a_nul_in_a_string_is_dropped_not_cut() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    use virt_events::testing::*;
    use virt_events::testing::{
        virtEventsConnectDomainQemuMonitorEventDeregister, virtEventsConnectDomainQemuMonitorEventRegister,
    };
    extern "C" fn on_raw(
        _: virConnectPtr,
        _: virt_events::testing::virDomainPtr,
        event: *const libc::c_char,
        _: libc::c_longlong,
        _: libc::c_uint,
        details: *const libc::c_char,
        _: *mut libc::c_void,
    ) {
        // SAFETY: the library passes NUL-terminated strings valid for the call.
        let text = |p: *const libc::c_char| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        NUL_LOG.lock().unwrap().push(format!("raw {} {}", text(event), text(details)));
    }
    extern "C" fn tick(_: libc::c_int, _: *mut libc::c_void) {}

    let root = fresh_dir("nul-root");
    std::fs::create_dir_all(&root).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(root.join("nul.qmp")).unwrap();
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let running = serde_json::json!({"running": true, "status": "running"});
        let (mut writer, _reader) = common::fake_qemu_handshake(
            &listener,
            running,
            "00000000-0000-4000-8000-000000000000",
            serde_json::json!([]),
        );
        wait_for_go.recv().unwrap();
        writer
            .write_all(b"{\"event\": \"RESET\", \"data\": {\"guest\": true, \"reason\": \"cut\\u0000here\"}}\r\n")
            .unwrap();
        writer.write_all(b"{\"event\": \"RESET\", \"data\": {\"guest\": true, \"reason\": \"whole\"}}\r\n").unwrap();
        wait_for_go.recv().unwrap();
    });
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    let conn = open_root(&root).unwrap();
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
    assert!(raw >= 0);
    // SAFETY: `tick` ignores its opaque.
    let ticker = unsafe { virEventAddTimeout(20, Some(tick), std::ptr::null_mut(), None) };
    go.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while NUL_LOG.lock().unwrap().is_empty() && Instant::now() < deadline {
        virEventRunDefaultImpl();
    }
    // Anything that would follow the second event has had time to arrive.
    let settle = Instant::now() + Duration::from_millis(200);
    while Instant::now() < settle {
        virEventRunDefaultImpl();
    }
    assert_eq!(*NUL_LOG.lock().unwrap(), ["raw RESET {\"guest\":true,\"reason\":\"whole\"}"]);
    go.send(()).unwrap();
    server.join().unwrap();
    assert_eq!(virtEventsConnectDomainQemuMonitorEventDeregister(conn, raw), 0);
    assert_eq!(virEventRemoveTimeout(ticker), 0);
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&root);
}
