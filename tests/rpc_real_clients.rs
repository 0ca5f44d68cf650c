//! virt-eventsd against the real libvirt 9.0 clients from Debian (virsh from
//! libvirt-clients, python3-libvirt, libvirt-doc's event-test.c built against
//! libvirt-dev), on `test:///default` operated through the same daemon.

mod common;
mod rpc;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use rpc::{Background, Daemon};

const TEST: &[&str] = &["--uri", "test:///default"];

fn require(program: &str, package: &str) {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().unwrap();
    assert!(found.status.success(), "{program} is missing: install {package} (tests/install-deps.sh does)");
}

fn virsh(uri: &str, args: &[&str]) -> Output {
    require("virsh", "libvirt-clients");
    Command::new("virsh").arg("-c").arg(uri).args(args).env("LIBVIRT_AUTOSTART", "0").output().expect("virsh runs")
}

fn virsh_ok(uri: &str, args: &[&str]) {
    let output = virsh(uri, args);
    assert!(output.status.success(), "virsh {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Starts a watcher and waits until the daemon saw it open its connection
/// (the `opened`-th CONNECT_OPEN) and register.
fn watch(daemon: &Daemon, command: &mut Command, name: &str, opened: usize) -> Background {
    let watcher = Background::start(command, daemon.dir.join(name));
    daemon.wait_for_log("opened test:///default", opened);
    // Its registrations follow the open within milliseconds.
    std::thread::sleep(Duration::from_millis(700));
    watcher
}

fn virsh_event(uri: &str, extra: &[&str]) -> Command {
    let mut command = Command::new("virsh");
    command.arg("-c").arg(uri).arg("event").args(extra);
    command
}

#[test]
fn virsh_event_all_loop_over_unix_and_tcp() {
    require("virsh", "libvirt-clients");
    let daemon = Daemon::start("virsh", &["--uri", "test:///default", "--listen", "127.0.0.1:0"]);
    let tcp = format!("qemu+tcp://127.0.0.1:{}/session", daemon.port.unwrap());
    let over_unix = watch(&daemon, &mut virsh_event(&daemon.uri(), &["--all", "--loop"]), "unix.out", 1);
    let over_tcp = watch(&daemon, &mut virsh_event(&tcp, &["--all", "--loop"]), "tcp.out", 2);
    virsh_ok(&daemon.uri(), &["suspend", "test"]);
    virsh_ok(&tcp, &["resume", "test"]);
    let expected = "event 'lifecycle' for domain 'test': Suspended Paused\n\
                    event 'lifecycle' for domain 'test': Resumed Unpaused\n";
    for watcher in [over_unix, over_tcp] {
        watcher.wait_for("event 'lifecycle'", 2);
        let (code, text) = watcher.interrupt();
        assert_eq!(code, 0, "{text}");
        assert_eq!(text, format!("{expected}event loop interrupted\nevents received: 2\n\n"));
    }
    // Operations and queries a virsh user runs, through the daemon.
    let list = virsh(&daemon.uri(), &["list", "--all"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(" 1    test   running"), "{list:?}");
    let state = virsh(&daemon.uri(), &["domstate", "test"]);
    assert_eq!(String::from_utf8_lossy(&state.stdout).trim(), "running");
    let (status, log) = daemon.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn virsh_event_domain_filters_and_timeout() {
    require("virsh", "libvirt-clients");
    let daemon = Daemon::start("virsh-filter", TEST);
    let filtered =
        watch(&daemon, &mut virsh_event(&daemon.uri(), &["--domain", "test", "--all", "--loop"]), "f.out", 1);
    let xml = daemon.dir.join("other.xml");
    std::fs::write(
        &xml,
        "<domain type='test'><name>other</name><memory>8192</memory><os><type>hvm</type></os></domain>",
    )
    .unwrap();
    virsh_ok(&daemon.uri(), &["define", xml.to_str().unwrap()]);
    virsh_ok(&daemon.uri(), &["start", "other"]);
    virsh_ok(&daemon.uri(), &["destroy", "test"]);
    filtered.wait_for("event 'lifecycle'", 1);
    let (code, text) = filtered.interrupt();
    assert_eq!(code, 0);
    assert_eq!(
        text,
        "event 'lifecycle' for domain 'test': Stopped Destroyed\nevent loop interrupted\nevents received: 1\n\n"
    );
    // An unknown domain: libvirtd's error, virsh's message.
    let nosuch = virsh(&daemon.uri(), &["event", "--domain", "nosuch", "--all", "--timeout", "1"]);
    assert!(!nosuch.status.success());
    assert!(String::from_utf8_lossy(&nosuch.stderr).contains("error: failed to get domain 'nosuch'"), "{nosuch:?}");
    // --timeout with nothing happening: registers everything, then times
    // out (virsh's exit status is 1 when no event arrived, no error printed).
    let quiet = virsh(&daemon.uri(), &["event", "--all", "--timeout", "1"]);
    assert_eq!((quiet.status.code(), quiet.stderr.as_slice()), (Some(1), &b""[..]), "{quiet:?}");
    assert_eq!(String::from_utf8_lossy(&quiet.stdout), "event loop timed out\nevents received: 0\n\n");
    // The read-only socket watches but does not modify.
    let denied = virsh(&daemon.uri_ro(), &["suspend", "other"]);
    assert!(String::from_utf8_lossy(&denied.stderr).contains("read only access prevents virDomainSuspend"));
    // What the daemon does not serve, virsh reports as against libvirtd
    // whose driver lacks it: the public function, by name.
    let sysinfo = virsh(&daemon.uri(), &["sysinfo"]);
    assert_eq!(
        String::from_utf8_lossy(&sysinfo.stderr),
        "error: failed to get sysinfo\n\
         error: this function is not supported by the connection driver: virConnectGetSysinfo\n"
    );
    // What it serves, virsh shows as on libvirt's own test driver.
    let nodeinfo = virsh(&daemon.uri(), &["nodeinfo"]);
    assert_eq!(nodeinfo.stdout, virsh("test:///default", &["nodeinfo"]).stdout, "{nodeinfo:?}");
    // virsh dominfo's questions (security labels aside, which the daemon
    // does not serve) are answered.
    let dominfo = String::from_utf8_lossy(&virsh(&daemon.uri(), &["dominfo", "test"]).stdout).into_owned();
    for line in ["OS Type:        linux", "Persistent:     yes", "Autostart:      disable", "Managed save:   no"] {
        assert!(dominfo.contains(line), "{line}: {dominfo}");
    }
}

/// The same scenario script on the real python3-libvirt through the daemon
/// and on virt-events' own binding in-process prints the same lines.
fn python_matches_in_process(loop_kind: &str) {
    let python = "/usr/bin/python3";
    let has_libvirt = Command::new(python).args(["-c", "import libvirt, libvirtaio"]).status();
    assert!(has_libvirt.is_ok_and(|s| s.success()), "python3-libvirt is missing (tests/install-deps.sh installs it)");
    let script = common::crate_dir().join("tests/rpc/python_events.py");
    let daemon = Daemon::start(&format!("python-{loop_kind}"), TEST);
    let remote = Command::new(python).arg(&script).arg(daemon.uri()).arg(loop_kind).output().unwrap();
    let in_process = Command::new(python)
        .arg(&script)
        .arg("test:///default")
        .arg(loop_kind)
        .env("VIRT_EVENTS_BINDING", "1")
        .env("PYTHONPATH", common::crate_dir().join("python"))
        .env("VIRT_EVENTS_LIBRARY", common::lib_dir().join("libvirt.so.0"))
        .output()
        .unwrap();
    let remote_text = String::from_utf8_lossy(&remote.stdout);
    assert!(remote.status.success(), "{remote_text}\n{}", String::from_utf8_lossy(&remote.stderr));
    assert!(in_process.status.success(), "{}", String::from_utf8_lossy(&in_process.stderr));
    assert_eq!(remote_text, String::from_utf8_lossy(&in_process.stdout));
    assert!(remote_text.contains("legacy lifecycle test 3 0\nlifecycle test [3, 0]\n"), "{remote_text}");
    assert!(
        remote_text.ends_with(
            "lifecycle test [2, 0]\nnetwork default [3, 0]\nnetwork default [2, 0]\npool default-pool []\nclosed\n"
        ),
        "{remote_text}"
    );
    let (status, log) = daemon.stop();
    assert!(status.success());
    // Both connections closed cleanly, dropping their registrations.
    assert_eq!(log.matches("disconnected: end of file").count(), 2, "{log}");
}

#[test]
fn python3_libvirt_native_loop() {
    python_matches_in_process("native");
}

#[test]
fn python3_libvirt_asyncio() {
    python_matches_in_process("asyncio");
}

const UPSTREAM: &str = "/usr/share/doc/libvirt-doc/examples/c/misc/event-test.c";

fn upstream_example(dir: &Path) -> PathBuf {
    let source = dir.join("event-test.c");
    if Path::new(UPSTREAM).exists() {
        std::fs::copy(UPSTREAM, &source).unwrap();
    } else {
        let gzipped = format!("{UPSTREAM}.gz");
        assert!(Path::new(&gzipped).exists(), "{UPSTREAM} is missing: install libvirt-doc");
        std::fs::write(&source, Command::new("zcat").arg(&gzipped).output().unwrap().stdout).unwrap();
    }
    let binary = dir.join("event-test-real");
    common::compile_c(&[source.to_str().unwrap(), "-lvirt"], &binary, "event-test.c against libvirt-dev");
    binary
}

#[test]
fn libvirt_docs_event_test_linked_with_real_libvirt() {
    let daemon = Daemon::start("event-test", TEST);
    let binary = upstream_example(&daemon.dir);
    let watcher = watch(&daemon, Command::new(&binary).arg(daemon.uri()), "event-test.out", 1);
    virsh_ok(&daemon.uri(), &["suspend", "test"]);
    virsh_ok(&daemon.uri(), &["resume", "test"]);
    // Its stdout is a file, so it is flushed only at exit: give the events time.
    std::thread::sleep(Duration::from_millis(700));
    let (code, text) = watcher.interrupt();
    assert_eq!(code, 0, "{text}");
    for line in [
        "myDomainEventCallback1 EVENT: Domain test(1) Suspended Paused",
        "myDomainEventCallback2 EVENT: Domain test(1) Suspended Paused",
        "myDomainEventCallback1 EVENT: Domain test(1) Resumed Unpaused",
        "myDomainEventCallback2 EVENT: Domain test(1) Resumed Unpaused",
    ] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }
    assert!(!text.contains("Failed to register"), "{text}");
}
