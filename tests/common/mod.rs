//! What the integration tests share: where the crate and the built library
//! are, the C compiler, the guest the QEMU tests boot and fake QEMUs.
#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use virt_events::testing::packet::Direction;

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built libraries: `$VIRT_EVENTS_LIBDIR`, else `build/`.
pub fn lib_dir() -> PathBuf {
    match std::env::var_os("VIRT_EVENTS_LIBDIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => crate_dir().join("build"),
    }
}

/// The host's C compiler as the `cc` crate finds it, without optimisation.
fn c_build() -> cc::Build {
    let triple = format!("{}-unknown-{}-gnu", std::env::consts::ARCH, std::env::consts::OS);
    let mut build = cc::Build::new();
    build.cargo_metadata(false).target(&triple).host(&triple).opt_level(0).debug(false);
    build
}

/// The C compiler's path.
pub fn c_compiler() -> PathBuf {
    c_build().get_compiler().path().to_path_buf()
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
    fake_qemu_handshake_after_greeting(listener, status, uuid, block, |_| {})
}

/// [`fake_qemu_handshake`], with `after_greeting` writing what a hostile
/// QEMU sends between its greeting and reading the first command.
pub fn fake_qemu_handshake_after_greeting(
    listener: &std::os::unix::net::UnixListener,
    status: serde_json::Value,
    uuid: &str,
    block: serde_json::Value,
    after_greeting: impl FnOnce(&mut std::os::unix::net::UnixStream),
) -> (std::os::unix::net::UnixStream, std::io::BufReader<std::os::unix::net::UnixStream>) {
    use std::io::{BufRead, Write};
    let (stream, _) = listener.accept().unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = std::io::BufReader::new(stream);
    writer
        .write_all(b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"\"}, \"capabilities\": []}}\r\n")
        .unwrap();
    after_greeting(&mut writer);
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

/// Compiles C with the toolchain cargo would use: `args`, then `-o output`;
/// fails the test with the compiler's messages.
pub fn compile_c(args: &[&str], output: &Path, what: &str) {
    let compiler = c_build().get_compiler();
    let result = compiler.to_command().args(args).arg("-o").arg(output).output().expect("C compiler");
    assert!(result.status.success(), "{what} does not compile:\n{}", String::from_utf8_lossy(&result.stderr));
}

/// tests/c/NAME.c built in `dir` against real libvirt's headers and library
/// (libvirt-dev), and against ours: (real, ours).
pub fn both_builds(name: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let source = crate_dir().join(format!("tests/c/{name}.c"));
    let source = source.to_str().unwrap();
    let real = dir.join(format!("{name}-real"));
    compile_c(&[source, "-lvirt"], &real, &format!("{name}.c against libvirt-dev"));
    let ours = dir.join(format!("{name}-ours"));
    let include = format!("-I{}", crate_dir().join("include").display());
    let libs = format!("-L{}", lib_dir().display());
    compile_c(&[&include, source, &libs, "-lvirt"], &ours, &format!("{name}.c against our headers"));
    (real, ours)
}

/// Starts the demo guest's QEMU (TCG, paused: `cont` it through the control
/// monitor) with its QMP monitor at `monitor`, and a control monitor and a
/// VNC socket in `side`: `side/control.sock`, `side/vnc.sock`. The disk fails
/// reads through blkdebug (reported to the guest); the ib700 pauses it.
pub fn start_demo_qemu(monitor: &Path, side: &Path, source: &str) -> Child {
    Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-nodefaults", "-display", "none", "-machine", "pc", "-m", "32", "-S"])
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", monitor.display()))
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", side.join("control.sock").display()))
        .arg("-drive")
        .arg(format!("file={source},format=raw,if=none,id=drive-ide0-0-0,rerror=report,werror=report"))
        .args(["-device", "ide-hd,drive=drive-ide0-0-0,id=ide0-0-0,bootindex=1"])
        .args(["-device", "ib700", "-action", "watchdog=pause", "-device", "VGA"])
        .arg("-vnc")
        .arg(format!("unix:{}", side.join("vnc.sock").display()))
        .stdin(Stdio::null())
        .spawn()
        .expect("start QEMU")
}

/// A blocking QMP client for driving QEMU from the test.
pub struct Control(BufReader<UnixStream>);

impl Control {
    pub fn connect(path: &Path) -> Control {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("cannot connect to {}: {e}", path.display()),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut control = Control(BufReader::new(stream));
        control.line(); // greeting
        control.execute("qmp_capabilities");
        control
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.0.read_line(&mut line).expect("QMP line");
        line
    }

    pub fn execute(&mut self, command: &str) {
        writeln!(self.0.get_mut(), "{{\"execute\": \"{command}\"}}").unwrap();
        loop {
            let line = self.line();
            if line.is_empty() || line.contains("\"return\"") || line.contains("\"error\"") {
                return;
            }
        }
    }
}

/// The watcher's output, line by line, with a deadline per expectation.
pub struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watcher {
    /// Starts `command` with stdin closed and its stdout read line by line.
    pub fn start(mut command: Command) -> Watcher {
        let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).spawn().expect("start the watcher");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher { child, lines, seen: Vec::new() }
    }

    /// Waits for a line starting with `prefix`; returns it.
    pub fn expect(&mut self, prefix: &str) -> String {
        self.expect_between(prefix, "")
    }

    /// Waits for a line starting with `prefix` and ending with `suffix`;
    /// returns it.
    pub fn expect_between(&mut self, prefix: &str, suffix: &str) -> String {
        let wanted = |l: &str| l.starts_with(prefix) && l.ends_with(suffix);
        if let Some(line) = self.seen.iter().find(|l| wanted(l)) {
            return line.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(line) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.seen.push(line.clone());
            if wanted(&line) {
                return line;
            }
        }
        panic!("no '{prefix}...{suffix}' line from the watcher; it printed:\n{}", self.seen.join("\n"));
    }

    /// Sends `signal`, waits for the exit and returns its code (-1 if killed).
    pub fn stop(self, signal: i32) -> i32 {
        self.finish(signal).0
    }

    /// Sends `signal`, waits for the exit; returns its code and every line
    /// printed.
    pub fn finish(mut self, signal: i32) -> (i32, Vec<String>) {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        let mut seen = std::mem::take(&mut self.seen);
        seen.extend(self.lines.iter());
        (code, seen)
    }
}

impl Drop for Watcher {
    /// A failed expectation must not leave the watcher running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The captures of `tests/data/rpc/` (`NAME.socat`, `NAME.decoded.txt`).
pub const RPC_CAPTURES: &[&str] = &[
    "c_event_test",
    "py_event_test",
    "virsh_event_loop",
    "virsh_event_nosuch",
    "virsh_event_timeout",
    "virsh_nodeinfo",
    "virsh_nulluri",
    "virsh_qme",
];

/// A file of `tests/data/rpc/`: real traffic between real libvirtd 9.0 and its clients.
pub fn rpc_capture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rpc").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bytes of a `socat -x -v` dump, one stream per direction, and how
/// many reads carried them.
pub fn capture_streams(dump: &str) -> (Vec<u8>, Vec<u8>, Vec<usize>) {
    let (mut to_server, mut to_client) = (vec![], vec![]);
    let mut block: Option<(Direction, usize)> = None;
    let mut client_reads = vec![];
    for line in dump.lines() {
        if line.starts_with("> ") || line.starts_with("< ") {
            let length = line.split("length=").nth(1).and_then(|rest| rest.split_whitespace().next());
            let length: usize = length.expect("a length").parse().unwrap();
            let direction = if line.starts_with('>') { Direction::ToServer } else { Direction::ToClient };
            block = Some((direction, length));
            if direction == Direction::ToClient {
                client_reads.push(length);
            }
        } else if line == "--" {
            assert_eq!(block.take().map(|(_, left)| left), Some(0), "a block's bytes match its length");
        } else if let Some((direction, left)) = block.as_mut() {
            // 16 hex bytes in 48 columns after one space, then the ASCII column.
            let target = if *direction == Direction::ToServer { &mut to_server } else { &mut to_client };
            for token in line[..line.len().min(49)].split_whitespace() {
                target.push(u8::from_str_radix(token, 16).unwrap());
                *left -= 1;
            }
        }
    }
    (to_server, to_client, client_reads)
}
