//! What the QEMU tests share: the guest they boot and where the library is.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn lib_dir() -> PathBuf {
    std::env::var_os("VIRT_EVENTS_LIBDIR").map(PathBuf::from).unwrap_or_else(|| crate_dir().join("build"))
}

/// Fails the test unless QEMU is installed.
pub fn require_qemu() {
    let qemu = std::process::Command::new("qemu-system-x86_64").arg("--version").output();
    assert!(qemu.is_ok(), "qemu-system-x86_64 is missing: run `sh tests/install-qemu.sh` (make check does)");
}

/// Writes the demo guest's disk and blkdebug configuration into `dir` with
/// the example watcher (`build/event-test --write-guest`, which assembles the
/// guest: RTC change, a read of the sector blkdebug fails, the ib700 armed);
/// returns the `blkdebug:` disk source naming both.
pub fn guest_disk(dir: &Path) -> String {
    let writer = lib_dir().join("event-test");
    let output = std::process::Command::new(&writer).arg("--write-guest").arg(dir).output();
    let output = output.unwrap_or_else(|e| panic!("{} does not run ({e}): run `make` first", writer.display()));
    assert!(output.status.success(), "--write-guest failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}
