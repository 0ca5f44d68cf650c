//! Our library as a client of libvirt's RPC protocol, against our own
//! virt-eventsd (serving `test:///default`) over unix and over TCP on
//! 127.0.0.1: libvirt-doc's event-test.c built against our headers, our C
//! program of API calls (tests/c/remote_client.c), and the close callback
//! when the daemon exits (EOF) or stops answering (keepalive), and the
//! errors of calls then, side by side with libvirt's own client
//! (tests/c/remote_closed.c).

mod common;
mod rpc;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{compile_c, crate_dir, lib_dir, Watcher};
use rpc::Daemon;

const TEST: &[&str] = &["--uri", "test:///default", "--listen", "127.0.0.1:0"];
const UPSTREAM: &str = "/usr/share/doc/libvirt-doc/examples/c/misc/event-test.c";

fn ours(source: &Path, binary: &Path, what: &str) {
    let include = format!("-I{}", crate_dir().join("include").display());
    let libs = format!("-L{}", lib_dir().display());
    compile_c(&[&include, source.to_str().unwrap(), &libs, "-lvirt"], binary, what);
}

fn remote_client(dir: &Path) -> PathBuf {
    let binary = dir.join("remote_client");
    ours(&crate_dir().join("tests/c/remote_client.c"), &binary, "tests/c/remote_client.c");
    binary
}

fn tcp_uri(daemon: &Daemon) -> String {
    format!("test+tcp://127.0.0.1:{}/default", daemon.port.expect("a TCP port"))
}

fn run(binary: &Path, args: &[&str]) -> String {
    let output = Command::new(binary).args(args).env("LD_LIBRARY_PATH", lib_dir()).output().expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{binary:?} {args:?}:\n{text}");
    text
}

#[test]
fn api_and_errors_over_unix_and_tcp() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    let daemon = Daemon::start("client-api", TEST);
    let binary = remote_client(&daemon.dir);
    for uri in [format!("test+unix:///default?socket={}", daemon.socket.display()), tcp_uri(&daemon)] {
        let text = run(&binary, &[&uri, "api"]);
        assert!(text.contains("api done, 0 failures"), "{uri}:\n{text}");
        assert!(text.contains("remote error: 42 12 Domain not found"), "{uri}:\n{text}");
        for line in ["lifecycle test 3 0", "lifecycle test 4 0", "lifecycle test 5 1", "lifecycle test 2 0"] {
            assert!(text.contains(line), "{uri}: no {line:?}:\n{text}");
        }
    }
}

/// libvirt-doc's event-test.c, built against our headers and run on our
/// library, watches the daemon's test domain while the real virsh operates
/// it through the same daemon.
#[test]
fn upstream_event_test_over_unix_and_tcp() {
    let daemon = Daemon::start("client-event-test", TEST);
    let source = daemon.dir.join("event-test.c");
    match std::fs::copy(UPSTREAM, &source) {
        Ok(_) => {}
        Err(_) => {
            let text = Command::new("zcat").arg(format!("{UPSTREAM}.gz")).output().expect("zcat");
            assert!(text.status.success(), "{UPSTREAM} is missing: install libvirt-doc");
            std::fs::write(&source, text.stdout).unwrap();
        }
    }
    let binary = daemon.dir.join("event-test-ours");
    ours(&source, &binary, "event-test.c against our headers");
    for uri in [daemon.uri(), tcp_uri(&daemon)] {
        // Its stdout is a pipe: line-buffered, lines arrive as printed.
        let mut command = Command::new("stdbuf");
        command.arg("-oL").arg(&binary).arg(&uri).env("LD_LIBRARY_PATH", lib_dir()).stderr(Stdio::null());
        let mut watcher = Watcher::start(command);
        watcher.expect("Registering event callbacks");
        std::thread::sleep(Duration::from_millis(500));
        for action in ["suspend", "resume"] {
            let status = Command::new("virsh")
                .args(["-c", &daemon.uri(), action, "test"])
                .env("LIBVIRT_AUTOSTART", "0")
                .stdout(Stdio::null())
                .status()
                .expect("virsh");
            assert!(status.success(), "virsh {action}");
        }
        std::thread::sleep(Duration::from_millis(700));
        let (code, lines) = watcher.finish(libc::SIGINT);
        let text = lines.join("\n");
        assert_eq!(code, 0, "{uri}:\n{text}");
        for line in [
            "myDomainEventCallback1 EVENT: Domain test(1) Suspended Paused",
            "myDomainEventCallback2 EVENT: Domain test(1) Suspended Paused",
            "myDomainEventCallback1 EVENT: Domain test(1) Resumed Unpaused",
            "myDomainEventCallback2 EVENT: Domain test(1) Resumed Unpaused",
            "Closing connection: done",
        ] {
            assert!(lines.iter().any(|l| l == line), "{uri}: no {line:?}:\n{text}");
        }
        assert!(!text.contains("Failed to register"), "{uri}:\n{text}");
    }
}

/// Starts the close watcher on `uri`; returns it once connected.
fn close_watcher(binary: &Path, uri: &str, interval: &str, count: &str) -> Watcher {
    let mut command = Command::new(binary);
    command.args([uri, "close", interval, count]).env("LD_LIBRARY_PATH", lib_dir());
    let mut watcher = Watcher::start(command);
    watcher.expect("ready");
    watcher
}

#[test]
fn daemon_exit_is_eof_for_the_close_callback() {
    let daemon = Daemon::start("client-eof", TEST);
    let binary = remote_client(&daemon.dir);
    let mut watcher = close_watcher(&binary, &daemon.uri(), "0", "0");
    let _ = daemon.stop();
    // VIR_CONNECT_CLOSE_REASON_EOF
    let line = watcher.expect("closed reason");
    assert!(line.starts_with("closed reason 1 after "), "{line}");
    assert!(line.ends_with("alive 0"), "{line}");
    watcher.expect("then: ");
    // Unregistering needs the server, which is gone: refused, as with
    // libvirt's client.
    watcher.expect("unregister: ");
    assert_eq!(watcher.stop(0), 0);
}

#[test]
fn a_stopped_daemon_is_dropped_by_keepalive() {
    let daemon = Daemon::start("client-keepalive", TEST);
    let binary = remote_client(&daemon.dir);
    let mut watcher = close_watcher(&binary, &daemon.uri(), "1", "2");
    let pid = daemon.child.id() as i32;
    // SAFETY: kill(2) on the daemon this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let stopped = Instant::now();
    let line = watcher.expect("closed reason");
    let waited = stopped.elapsed();
    // SAFETY: as above, so that the daemon can be terminated.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    // VIR_CONNECT_CLOSE_REASON_KEEPALIVE, after interval x (count + 1) of silence.
    assert!(line.starts_with("closed reason 2 after "), "{line}");
    assert!(line.ends_with("alive 0"), "{line}");
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6), "{waited:?}");
    // Known closed: a call fails as any call on a closed connection (the
    // one under way when keepalive gave up got the keepalive error).
    let then = watcher.expect("then: ");
    assert_eq!(then, "then: internal error: client socket is closed");
    watcher.expect("unregister: ");
    assert_eq!(watcher.stop(0), 0);
}

/// Runs `command` on real libvirt's client library or on ours.
fn output_on(command: &mut Command, real: bool) -> std::process::Output {
    if real {
        command.env_remove("LD_LIBRARY_PATH");
    } else {
        command.env("LD_LIBRARY_PATH", lib_dir());
    }
    command.output().expect("runs")
}

/// tests/c/remote_closed.c's lines on `transport` ("unix" or "tcp") in
/// `mode`, with a daemon of its own (which the program stops, kills or
/// terminates): stdout, then stderr.
fn closed_connection_lines(binary: &Path, real: bool, transport: &str, mode: &str) -> (String, String) {
    let side = if real { "real" } else { "ours" };
    let daemon = Daemon::start(&format!("closed-{mode}-{transport}-{side}"), TEST);
    let uri = match transport {
        "unix" => format!("test+unix:///default?socket={}", daemon.socket.display()),
        "ext" => format!("test+ext:///default?command={}", helper_script(&daemon)),
        _ => tcp_uri(&daemon),
    };
    let mut command = Command::new(binary);
    command.args([&uri, &daemon.child.id().to_string(), mode]).env("LIBVIRT_AUTOSTART", "0");
    let output = output_on(&mut command, real);
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned());
    assert!(output.status.success(), "{side} {transport} {mode}:\n{stdout}{stderr}");
    (stdout, stderr)
}

/// A fresh temporary folder for `test`, and tests/c/remote_closed.c built in
/// it against real libvirt and against ours.
fn remote_closed_builds(test: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("virt-events-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (real, ours) = common::both_builds("remote_closed", &dir);
    (dir, real, ours)
}

/// A daemon that exits, dies under a call, or stops answering with
/// keepalive on: the call under way, the close callback's reason, and every
/// later call (code, domain, level, message; what the default error handler
/// prints) as with libvirt 9.0's client. Later calls fail with "client
/// socket is closed" whatever closed the connection; a TCP daemon that
/// exits is an error for the close callback, a unix one an end of file. A
/// daemon behind an `ext` helper program that said something on its
/// standard error: the call under way quotes it.
#[test]
fn a_closed_connection_fails_as_with_libvirts_client() {
    let (dir, real, ours_binary) = remote_closed_builds("remote-closed");
    for (transport, mode) in [
        ("unix", "exit"),
        ("tcp", "exit"),
        ("ext", "exit"),
        ("unix", "eof"),
        ("tcp", "eof"),
        ("ext", "eof"),
        ("unix", "keepalive"),
        ("ext", "keepalive"),
    ] {
        let (real_out, real_err) = closed_connection_lines(&real, true, transport, mode);
        let (our_out, our_err) = closed_connection_lines(&ours_binary, false, transport, mode);
        assert_eq!(our_out, real_out, "{transport} {mode}: stdout");
        assert_eq!(our_err, real_err, "{transport} {mode}: stderr");
        let reason = match (transport, mode) {
            ("tcp", "exit") => 0,
            (_, "keepalive") => 2,
            _ => 1,
        };
        assert!(our_out.contains(&format!("close callback: reason {reason}, 1 call(s)\n")), "{our_out}");
        let after = our_out.split_once("close callback").unwrap().1;
        assert!(
            after.contains(
                "virDomainLookupByName: -1, code 1 domain 7 level 2: internal error: client socket is closed\n"
            ),
            "{transport} {mode}:\n{our_out}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An `ext` helper program for `daemon`'s socket that says two lines on
/// its standard error before it becomes `nc -U` (whose own standard error
/// is dropped: Python's traceback when the daemon dies is not the point).
fn helper_script(daemon: &Daemon) -> String {
    let path = daemon.dir.join("talkative-helper");
    let nc = crate_dir().join("tests/rpc/nc.py");
    let text = format!(
        "#!/bin/sh\nprintf 'helper: line one\\nhelper: line two\\n\\n' >&2\nexec python3 {} -U {} 2>/dev/null\n",
        nc.display(),
        daemon.socket.display()
    );
    write_script(&path, &text);
    path.display().to_string()
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// tests/c/remote_closed.c's lines for an `ext` or `ssh` URI whose helper
/// program (looked up in `bin`, then `$PATH`) fails before the handshake: stdout, then stderr without libvirt's own log
/// lines (a timestamp, then "info :" or "warning :"), which real libvirt
/// prints for a command not in `$PATH` ("Tried to close invalid fd").
fn failed_open_lines(binary: &Path, real: bool, uri: &str, bin: &Path) -> (String, String) {
    let mut run = Command::new(binary);
    run.args([uri, "0", "exit"]).env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()));
    let output = output_on(&mut run, real);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr: String = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| !line.starts_with("20"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(output.status.code(), Some(1), "{uri}:\n{stdout}{stderr}");
    (stdout, stderr)
}

/// The standard error of an `ext` or `ssh` helper program is in the
/// connection's errors as libvirt 9.0's client puts it there: a program
/// that says why and exits, one that says 1024 bytes and one that says more
/// (then the errno of that read stands alone), one that is not in `$PATH`,
/// and an `ssh` that cannot reach its host. (The daemon dying under a
/// helper that spoke: a_closed_connection_fails_as_with_libvirts_client.)
/// Each program waits a moment before it exits, so that the client's first
/// packet is written by then on both sides, as it is with any real helper.
/// A program that does not exist is compared with the line libvirt's client
/// prints most often: its forked child dies so soon that the client's first
/// write sometimes finds the socket closed (then "client socket is closed",
/// or SIGPIPE).
#[test]
fn a_helper_programs_stderr_is_in_the_errors_as_with_libvirts_client() {
    let (dir, real, ours_binary) = remote_closed_builds("helper-stderr");
    let says_why = dir.join("says-why");
    write_script(&says_why, "#!/bin/sh\nprintf 'no route to the daemon\\n\\tat all \\n\\n' >&2\nsleep 0.3\nexit 1\n");
    let ext = |command: &Path| format!("test+ext:///default?command={}", command.display());
    let mut uris = vec![ext(&says_why)];
    // 1024 bytes with the newline are quoted; 1025 are not.
    for (name, length) in [("says-all-it-may", 1023), ("says-too-much", 1024)] {
        let text = format!("#!/bin/sh\nprintf '{}\\n' >&2\nsleep 0.3\nexit 1\n", "x".repeat(length));
        write_script(&dir.join(name), &text);
        uris.push(ext(&dir.join(name)));
    }
    uris.push("test+ext:///default?command=virt-events-no-such-helper".to_string());
    // ssh runs the same way: a fake one that cannot reach its host.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let refused = "ssh: connect to host nowhere.invalid port 22: Connection refused";
    write_script(&bin.join("ssh"), &format!("#!/bin/sh\necho '{refused}' >&2\nsleep 0.3\nexit 255\n"));
    uris.push("test+ssh://nowhere.invalid/default".to_string());
    for uri in &uris {
        let (real_out, real_err) = failed_open_lines(&real, true, uri, &bin);
        let (our_out, our_err) = failed_open_lines(&ours_binary, false, uri, &bin);
        assert_eq!(our_out, real_out, "{uri}: stdout");
        assert_eq!(our_err, real_err, "{uri}: stderr");
    }
    let (says_why_out, _) = failed_open_lines(&ours_binary, false, &uris[0], &bin);
    assert_eq!(
        says_why_out,
        "virConnectOpen: -1, code 38 domain 7 level 2: Cannot recv data: no route to the daemon\n\tat all: Connection \
         reset by peer\n"
    );
    let (ssh_out, _) = failed_open_lines(&ours_binary, false, &uris[4], &bin);
    assert_eq!(
        ssh_out,
        format!(
            "virConnectOpen: -1, code 38 domain 7 level 2: Cannot recv data: {refused}: Connection reset by peer\n"
        )
    );
    let missing = dir.join("no-such-helper");
    let (missing_out, missing_err) = failed_open_lines(&ours_binary, false, &ext(&missing), &bin);
    let line = format!(
        "Cannot recv data: libvirt:  error : cannot execute binary {}: No such file or directory: Connection reset \
         by peer\n",
        missing.display()
    );
    assert_eq!(missing_out, format!("virConnectOpen: -1, code 38 domain 7 level 2: {line}"));
    assert_eq!(missing_err, format!("libvirt: XML-RPC error : {line}"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A session runtime folder whose `libvirt/libvirt-sock` is the daemon's;
/// a fake `ssh` that runs its remote command here, with an `nc` on PATH
/// (tests/rpc/nc.py) and the environment of a remote host (real libvirt,
/// not our library); and an ext helper that is `nc` on the daemon's socket.
fn session_dir(daemon: &Daemon) -> (PathBuf, PathBuf) {
    let run = daemon.dir.join("run");
    std::fs::create_dir_all(run.join("libvirt")).unwrap();
    std::os::unix::fs::symlink(&daemon.socket, run.join("libvirt/libvirt-sock")).unwrap();
    let bin = daemon.dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake_ssh =
        "#!/bin/sh\nwhile [ \"$1\" != -- ]; do shift; done\nshift 2\nexec env -u LD_LIBRARY_PATH sh -c \"$*\"\n";
    let nc = format!("#!/bin/sh\nexec python3 {} \"$@\"\n", crate_dir().join("tests/rpc/nc.py").display());
    let helper = format!("#!/bin/sh\nexec nc -U {}\n", daemon.socket.display());
    for (name, text) in [("ssh", fake_ssh.to_string()), ("nc", nc), ("helper", helper)] {
        write_script(&bin.join(name), &text);
    }
    (run, bin)
}

fn lookup(binary: &Path, uri: &str, run: &Path, bin: &Path, routing: &str) -> String {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = Command::new(binary)
        .args([uri, "lookup"])
        .env("LD_LIBRARY_PATH", lib_dir())
        .env("XDG_RUNTIME_DIR", run)
        .env("LIBVIRT_AUTOSTART", "0")
        .env("VIRT_EVENTS_REMOTE", routing)
        .env("PATH", path)
        .env_remove("LIBVIRT_DEFAULT_URI")
        .output()
        .expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{uri}:\n{text}");
    text
}

/// `qemu:///session` (and NULL) go to the daemon listening at libvirt's
/// session socket unless VIRT_EVENTS_REMOTE=never; `qemu+ext` and
/// `qemu+ssh` reach it through a helper program (ssh running `nc -U` there).
#[test]
fn session_routing_ext_and_ssh() {
    let daemon = Daemon::start("client-routing", TEST);
    let binary = remote_client(&daemon.dir);
    let (run, bin) = session_dir(&daemon);
    let routed = lookup(&binary, "qemu:///session", &run, &bin, "auto");
    assert!(routed.contains("uri qemu:///session, domain test found"), "{routed}");
    // NULL: the server names the URI (GET_URI).
    let default = lookup(&binary, "-", &run, &bin, "auto");
    assert!(default.contains("uri test:///default, domain test found"), "{default}");
    let in_process = lookup(&binary, "qemu:///session", &run, &bin, "never");
    assert!(in_process.contains("uri qemu:///session, domain test missing"), "{in_process}");
    let ext = format!("qemu+ext:///session?command={}", bin.join("helper").display());
    assert!(lookup(&binary, &ext, &run, &bin, "auto").contains("domain test found"));
    let ssh = format!("qemu+ssh://me@localhost/session?socket={}", daemon.socket.display());
    assert!(lookup(&binary, &ssh, &run, &bin, "auto").contains("domain test found"));
    daemon.wait_for_log("opened test:///default", 4);
}

/// Runs tests/rpc/python_objects.py on the real python3-libvirt against a
/// fresh daemon: over real libvirt's client library, or over ours.
fn python_objects(ours: bool) -> String {
    let daemon = Daemon::start(if ours { "client-objects-ours" } else { "client-objects-real" }, TEST);
    let uri = |socket: &Path| format!("test+unix:///default?socket={}", socket.display());
    let mut command = Command::new("/usr/bin/python3");
    let script = crate_dir().join("tests/rpc/python_objects.py");
    command.arg(script).arg(uri(&daemon.socket)).arg(uri(&daemon.socket_ro)).arg(tcp_uri(&daemon));
    if ours {
        command.env("LD_LIBRARY_PATH", lib_dir());
    }
    let output = command.output().expect("python3 runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "ours: {ours}\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    text
}

/// Networks, storage pools and node devices over the wire (lookups, lists,
/// definitions, lifecycle calls, queries, XML, remote errors, read-only
/// refusals, `virConnectIsSecure` and `IsEncrypted` over unix and TCP) and
/// event registrations filtered to one object: the real
/// python3-libvirt prints the same lines over our library as over real
/// libvirt's client library.
#[test]
fn object_calls_and_filtered_events_as_real_libvirt() {
    let real = python_objects(false);
    let ours = python_objects(true);
    assert_eq!(ours, real);
    for line in [
        "lookup nosuch error 43 12 2 Network not found: no network with matching name 'nosuch'",
        "ro define error 29 19 2 operation forbidden: read only access prevents virNetworkDefineXML",
        "device scsi_host1 computer",
        // As libvirt's client: a local socket is secure, TCP in clear text
        // is not, and neither is encrypted.
        "secure 1 encrypted 0",
        "tcp secure 0 encrypted 0",
        // The filtered registrations hear only their object.
        "net-default default [3, 0]",
        "refresh-default default-pool []",
    ] {
        assert!(ours.lines().any(|l| l == line), "no {line:?}:\n{ours}");
    }
    assert!(!ours.contains("net-default extra"), "{ours}");
    assert!(!ours.contains("pool-default extra-pool"), "{ours}");
    // Destroying the root device succeeds, as on a real libvirtd 9.0.
    assert!(!ours.contains("destroy computer"), "{ours}");
}

/// The older enumerations (`virConnectNumOfDomains` ... `virNodeDeviceListCaps`)
/// over the wire: our library sends the procedures real libvirt's client
/// sends, in the same order, refuses what it refuses before the call (the
/// protocol's limits), and prints the same lines; virt-eventsd serves all
/// of them.
#[test]
fn legacy_listings_as_real_libvirts_client() {
    let daemon = Daemon::start("client-listings", TEST);
    let (real, ours_binary) = common::both_builds("remote_listings", &daemon.dir);
    let recorder = rpc::Recorder::start(&daemon.socket, daemon.dir.join("recorder"));
    let uri = format!("test+unix:///default?socket={}", recorder.socket.display());
    let real_output = Command::new(&real).arg(&uri).env("LIBVIRT_AUTOSTART", "0").output().expect("runs");
    assert!(real_output.status.success(), "{real_output:?}");
    let real_calls = recorder.take();
    let our_text = run(&ours_binary, &[&uri]);
    let our_calls = recorder.take();
    assert_eq!(our_text, String::from_utf8_lossy(&real_output.stdout));
    assert_eq!(our_calls, real_calls);
    // Each by its own procedure, none through a CONNECT_LIST_ALL_*.
    for procedure in [51, 25, 52, 50, 71, 73, 111, 116, 37, 21, 38, 36, 72, 74, 112, 117] {
        assert!(our_calls.contains(&procedure), "{procedure} not called: {our_calls:?}");
    }
    for list_all in [273, 281, 283, 285] {
        assert!(!our_calls.contains(&list_all), "{list_all} called: {our_calls:?}");
    }
    for line in [
        "virConnectNumOfDomains 1",
        "virNodeNumOfDevices scsi_host 3",
        "virNodeDeviceNumOfCaps 1",
        "virConnectListDomains -1 error 39 13 2 Too many domains '16385' for limit '16384'",
        "virConnectListStoragePools -1 error 39 13 2 too many remote strings: 16385 > 16384,\
         in parameter 'names' for 'virConnectListStoragePools'",
        "virNodeListDevices -1 error 39 13 2 too many remote strings: 65537 > 65536,\
         in parameter 'names' for 'virNodeListDevices'",
        "virNodeListDevices flags -1 error 8 12 2 unsupported flags (0x1) in function testNodeListDevices",
        "virConnectListDomains negative -1 error 8 20 2 maxids in virConnectListDomains must be zero or greater",
    ] {
        assert!(our_text.lines().any(|l| l == line), "no {line:?}:\n{our_text}");
    }
    // At the node devices' limit, the daemon served them.
    let at_limit = our_text.split("-- maxnames 65536\n").nth(1).unwrap();
    assert!(at_limit.contains("virNodeListDevices 4\n   computer scsi_host1 scsi_host11 scsi_host2\n"), "{our_text}");
    assert!(at_limit.contains("virNodeDeviceListCaps 1\n   scsi_host\n"), "{our_text}");
}
