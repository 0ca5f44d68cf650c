//! libvirt 9.0's own `examples/c/misc/event-test.c`, from Debian's
//! libvirt-doc (installed at test time, never committed), built unmodified
//! twice: against our headers and library, and against the real libvirt-dev
//! (then run on our library through LD_LIBRARY_PATH, a binary drop-in). Each
//! build runs on `test:///default` and on a `qemu:///embed` root: every
//! registration succeeds, the loop runs, events print, and SIGINT makes it
//! deregister everything and close.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;
use common::{compile_c, crate_dir, guest_disk, lib_dir, require_qemu, start_demo_qemu, Control, Watcher};

const UPSTREAM: &str = "/usr/share/doc/libvirt-doc/examples/c/misc/event-test.c";

fn work_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("upstream-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The example's source, decompressed if Debian shipped it gzipped.
fn upstream_source(dir: &Path) -> PathBuf {
    let plain = Path::new(UPSTREAM);
    let gzipped = PathBuf::from(format!("{UPSTREAM}.gz"));
    let copy = dir.join("event-test.c");
    if plain.exists() {
        std::fs::copy(plain, &copy).unwrap();
    } else {
        assert!(gzipped.exists(), "{UPSTREAM} is missing: install libvirt-doc (tests/install-deps.sh does)");
        let text = Command::new("zcat").arg(&gzipped).output().expect("zcat");
        std::fs::write(&copy, text.stdout).unwrap();
    }
    copy
}

/// The two builds of the example: against our headers and library, and
/// against the system's libvirt-dev.
fn builds(dir: &Path) -> [(&'static str, PathBuf); 2] {
    let source = upstream_source(dir);
    let source = source.to_str().unwrap();
    let ours = dir.join("event-test-ours");
    let include = format!("-I{}", crate_dir().join("include").display());
    let libs = format!("-L{}", lib_dir().display());
    compile_c(&[&include, source, &libs, "-lvirt"], &ours, "event-test.c against our headers");
    let real = dir.join("event-test-real");
    compile_c(&[source, "-lvirt"], &real, "event-test.c against libvirt-dev");
    [("our headers", ours), ("libvirt-dev", real)]
}

/// The watcher's own bookkeeping after SIGINT: every heading, the free
/// function of every callback it deregisters, and a clean close.
fn assert_clean_exit(build: &str, code: i32, lines: &[String]) {
    let text = lines.join("\n");
    assert_eq!(code, 0, "{build}: event-test exits 0 after SIGINT:\n{text}");
    for heading in [
        "Exiting on signal 2",
        "Deregistering event callbacks",
        "Deregistering domain event callbacks",
        "Deregistering storage pool event callbacks",
        "Deregistering node device event callbacks",
        "Deregistering secret event callbacks",
        "Closing connection: done",
    ] {
        assert!(lines.iter().any(|l| l == heading), "{build}: no '{heading}':\n{text}");
    }
    // "callback 1" (the legacy registration, callback ID 0), the network
    // callback, the 27 domain event IDs and 2 of each other class.
    let freed = lines.iter().filter(|l| l.starts_with("myFreeFunc: Freeing [")).count();
    assert_eq!(freed, 1 + 1 + 27 + 2 + 2 + 2, "{build}: every deregistered callback is freed:\n{text}");
}

/// Builds the preloaded helper (tests/upstream/exerciser.c): stdout
/// line-buffered, and on request test-driver activity in the process.
fn exerciser(dir: &Path) -> PathBuf {
    let exerciser = dir.join("exerciser.so");
    let include = format!("-I{}", crate_dir().join("include").display());
    let libs = format!("-L{}", lib_dir().display());
    let source = crate_dir().join("tests/upstream/exerciser.c");
    let args =
        ["-shared", "-fPIC", "-Wall", "-Werror", &include, source.to_str().unwrap(), &libs, "-lvirt", "-lpthread"];
    compile_c(&args, &exerciser, "the exerciser");
    exerciser
}

/// Gives the exerciser its go-ahead through `fifo`, once it is reading.
fn go_ahead(fifo: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let opened = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(fifo);
        match opened {
            Ok(mut writer) => return std::io::Write::write_all(&mut writer, b"go\n").unwrap(),
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the exerciser never opened {}: {e}", fifo.display()),
        }
    }
}

#[test]
fn upstream_example_runs_on_the_test_driver() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    let dir = work_dir("test");
    let exerciser = exerciser(&dir);

    for (build, binary) in builds(&dir) {
        let fifo = dir.join(format!("go-{}", binary.file_name().unwrap().to_string_lossy()));
        let fifo_c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a plain mkfifo(3) on a path we own.
        assert_eq!(unsafe { libc::mkfifo(fifo_c.as_ptr(), 0o600) }, 0, "mkfifo {}", fifo.display());
        let mut command = Command::new(&binary);
        command
            .arg("test:///default")
            .env("LD_LIBRARY_PATH", lib_dir())
            .env("LD_PRELOAD", &exerciser)
            .env("VIRT_EVENTS_EXERCISE", &fifo);
        let mut watcher = Watcher::start(command);
        watcher.expect("exerciser: registered");
        go_ahead(&fifo);
        watcher.expect("exerciser: done");
        for line in [
            "myDomainEventCallback1 EVENT: Domain test(1) Suspended Paused",
            "myDomainEventCallback2 EVENT: Domain test(1) Suspended Paused",
            "myDomainEventCallback1 EVENT: Domain test(1) Resumed Unpaused",
            "myDomainEventCallback2 EVENT: Domain test(-1) Stopped Destroyed",
            "myDomainEventCallback1 EVENT: Domain test(",
            "myDomainEventMetadataChangeCallback EVENT: Domain test(",
            "myNetworkEventCallback EVENT: Network exercised Defined 0",
            "myNetworkEventCallback EVENT: Network exercised Started 0",
            "myNetworkEventCallback EVENT: Network exercised Stopped 0",
            "myNetworkEventCallback EVENT: Network exercised Undefined 0",
            "myStoragePoolEventRefreshCallback EVENT: Storage pool default-pool refresh",
            "myNodeDeviceEventCallback EVENT: Node device scsi_host12 Created 0",
            "myNodeDeviceEventCallback EVENT: Node device scsi_host12 Deleted 0",
        ] {
            watcher.expect(line);
        }
        // The restart is reported (before SIGINT, which would end the loop
        // with events still queued).
        watcher.expect_between("myDomainEventCallback2 EVENT: Domain test(", "Started Booted");
        let (code, lines) = watcher.finish(libc::SIGINT);
        assert_clean_exit(build, code, &lines);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn upstream_example_prints_qemu_events_from_an_embed_root() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    require_qemu();
    let dir = work_dir("qemu");
    let exerciser = exerciser(&dir);
    for (build, binary) in builds(&dir) {
        let name = binary.file_name().unwrap().to_string_lossy().to_string();
        let root = dir.join(format!("root-{name}"));
        let side = dir.join(format!("side-{name}"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&side).unwrap();
        let mut command = Command::new(&binary);
        command
            .arg(format!("qemu:///embed?root={}", root.display()))
            .env("LD_LIBRARY_PATH", lib_dir())
            .env("LD_PRELOAD", &exerciser);
        let mut watcher = Watcher::start(command);
        watcher.expect("exerciser: registered");

        // A QEMU that appears after the connection opened is attached as it
        // starts; the guest changes its RTC, hits an I/O error, and its
        // watchdog pauses it.
        let source = guest_disk(&side);
        let mut qemu = start_demo_qemu(&root.join("vm.qmp"), &side, &source);
        let mut control = Control::connect(&side.join("control.sock"));
        watcher.expect("myDomainEventCallback2 EVENT: Domain vm(");
        control.execute("cont");
        for line in [
            "myDomainEventRTCChangeCallback EVENT: Domain vm(",
            "myDomainEventIOErrorCallback EVENT: Domain vm(",
            "myDomainEventIOErrorReasonCallback EVENT: Domain vm(",
            "myDomainEventWatchdogCallback EVENT: Domain vm(",
        ] {
            watcher.expect(line);
        }
        control.execute("quit");
        let _ = qemu.wait();
        // The attach, the watchdog's pause and the quit are reported; the
        // quit's once the monitor's end reached the loop, so SIGINT waits
        // for it (it would end the loop with the event still queued).
        for suffix in ["Started Booted", "Suspended Watchdog", "Stopped Shutdown"] {
            watcher.expect_between("myDomainEventCallback1 EVENT: Domain vm(", suffix);
        }
        let (code, lines) = watcher.finish(libc::SIGINT);
        assert_clean_exit(build, code, &lines);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
