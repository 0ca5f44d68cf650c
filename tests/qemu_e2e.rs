//! End to end with a real QEMU under TCG: a tiny guest (a boot sector this
//! test assembles) changes the RTC, reads a sector the disk's blkdebug layer
//! fails, and arms an ib700 watchdog; a VNC client connects; a control
//! monitor resets and quits QEMU. A C watcher linked against build/libvirt.so
//! attaches through qemu:///embed and must print every seed event type.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;
use common::{compile_c, crate_dir, guest_disk, lib_dir, require_qemu, start_demo_qemu, Control, Watcher};

/// A minimal RFB client: version, security type None, ClientInit, then close.
fn vnc_session(path: &Path) {
    let mut vnc = UnixStream::connect(path).expect("VNC socket");
    vnc.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut version = [0u8; 12];
    vnc.read_exact(&mut version).unwrap();
    assert!(version.starts_with(b"RFB "), "not an RFB server: {version:?}");
    vnc.write_all(b"RFB 003.008\n").unwrap();
    let mut count = [0u8; 1];
    vnc.read_exact(&mut count).unwrap();
    let mut types = vec![0u8; count[0] as usize];
    vnc.read_exact(&mut types).unwrap();
    assert!(types.contains(&1), "no 'None' security type offered: {types:?}");
    vnc.write_all(&[1]).unwrap();
    let mut result = [0u8; 4];
    vnc.read_exact(&mut result).unwrap();
    assert_eq!(result, [0, 0, 0, 0], "security handshake failed");
    vnc.write_all(&[1]).unwrap(); // ClientInit, shared
    let mut server_init = [0u8; 24];
    vnc.read_exact(&mut server_init).unwrap();
}

fn compile_watcher(out: &Path) {
    let source = crate_dir().join("tests/e2e/watch.c");
    let include = format!("-I{}", crate_dir().join("include").display());
    let libs = format!("-L{}", lib_dir().display());
    let args = ["-std=c11", "-Wall", "-Wextra", "-Werror", source.to_str().unwrap(), &include, &libs, "-lvirt"];
    compile_c(&args, out, "tests/e2e/watch.c");
}

#[test]
fn every_seed_event_from_a_real_qemu_reaches_a_c_callback() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    require_qemu();

    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("qemu-e2e-{}", std::process::id()));
    let root = work.join("root");
    let side = work.join("side");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&side).unwrap();
    let source = guest_disk(&side);
    let watcher_bin = work.join("watch");
    compile_watcher(&watcher_bin);

    let mut qemu = start_demo_qemu(&root.join("e2e.qmp"), &side, &source);
    let mut control = Control::connect(&side.join("control.sock"));

    let uri = format!("qemu:///embed?root={}", root.display());
    let mut command = Command::new(&watcher_bin);
    command.arg(&uri).env("LD_LIBRARY_PATH", lib_dir());
    let mut watcher = Watcher::start(command);
    assert_eq!(watcher.expect("ready"), "ready 1", "the running QEMU is attached at open");

    // The guest runs: RTC change, the failed read (reported to the guest),
    // then the watchdog fires and pauses it.
    control.execute("cont");
    watcher.expect("lifecycle e2e 1 4 0"); // Resumed Unpaused
    let rtc = watcher.expect("rtc e2e ");
    let offset: i64 = rtc.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(offset > 365 * 24 * 3600, "the guest moved its clock to 2030: {rtc}");
    let io = watcher.expect("ioerror e2e ");
    let fields: Vec<&str> = io.split(' ').collect();
    assert_eq!(fields.len(), 5, "{io}");
    assert!(fields[2].ends_with("disk.img"), "srcPath is the image behind the device: {io}");
    assert_eq!(fields[3], "ide0-0-0", "devAlias: {io}");
    assert_eq!(fields[4], "2", "action report: {io}");
    assert_eq!(watcher.expect("watchdog e2e "), "watchdog e2e 1"); // pause
    watcher.expect("lifecycle e2e 1 3 3"); // Suspended Watchdog
    watcher.expect("legacy e2e 1 3 3");

    // A VNC client: connected, initialized, disconnected.
    vnc_session(&side.join("vnc.sock"));
    let connected = watcher.expect("graphics e2e 0 ");
    assert!(connected.contains(" 2 "), "unix socket family: {connected}");
    watcher.expect("graphics e2e 1 ");
    watcher.expect("graphics e2e 2 ");

    control.execute("cont");
    control.execute("system_reset");
    watcher.expect("reboot e2e");

    control.execute("quit");
    watcher.expect("lifecycle e2e 1 6 2"); // Shutdown Finished after host request
    watcher.expect("lifecycle e2e -1 5 0"); // Stopped Shutdown
    let _ = qemu.wait();
    assert_eq!(watcher.stop(libc::SIGTERM), 0, "the watcher closed its connection cleanly");
    let _ = std::fs::remove_dir_all(&work);
}
