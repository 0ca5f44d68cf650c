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

/// The QEMU side of a monitor's start, for fake QEMUs: accepts one client,
/// greets it, and answers the driver's four commands (`qmp_capabilities`,
/// `query-status` with `status`, `query-uuid` with `uuid`, `query-block`
/// with `block`). Returns the connection, ready for events.
pub fn fake_qemu_handshake(
    listener: &std::os::unix::net::UnixListener,
    status: serde_json::Value,
    uuid: &str,
    block: serde_json::Value,
) -> (std::os::unix::net::UnixStream, std::io::BufReader<std::os::unix::net::UnixStream>) {
    use std::io::{BufRead, Write};
    let (stream, _) = listener.accept().unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = std::io::BufReader::new(stream);
    writer
        .write_all(b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"\"}, \"capabilities\": []}}\r\n")
        .unwrap();
    let mut line = String::new();
    for _ in 0..4 {
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let command: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        let reply = match command["execute"].as_str().unwrap_or_default() {
            "query-status" => status.clone(),
            "query-uuid" => serde_json::json!({ "UUID": uuid }),
            "query-block" => block.clone(),
            _ => serde_json::json!({}),
        };
        writeln!(writer, "{}\r", serde_json::json!({"return": reply, "id": command["id"]})).unwrap();
        line.clear();
    }
    (writer, reader)
}
