//! Our library as a client of a real libvirtd 9.0 (Debian's libvirt-daemon)
//! in session mode, started by the test as an unprivileged user with its
//! state in a temporary folder: libvirt-doc's event-test.c, linked once
//! with real libvirt's library and once with ours, watches the daemon's
//! `qemu:///session` while the real virsh runs the demo TCG guest there
//! (define, start; the guest's RTC change, I/O errors and watchdog; a VNC
//! visit, resume, suspend, reset, destroy, undefine); both print the same
//! lines; our remote driver's monitor and agent commands get libvirtd's
//! answers. Our C API program runs against its `test:///default`, and so
//! does tests/rpc/python_objects.py (network, pool and node device calls,
//! registrations filtered to one object) on the real python3-libvirt, over
//! real libvirt's library and over ours, with the same lines; so does
//! tests/python/test_driver_stats.py, which gets the same lines from
//! virt-eventsd too.

mod common;
mod rpc;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{compile_c, crate_dir, lib_dir, Watcher};
use rpc::Libvirtd;

const UPSTREAM: &str = "/usr/share/doc/libvirt-doc/examples/c/misc/event-test.c";

fn virsh(uri: &str, args: &[&str]) {
    let status = Command::new("virsh")
        .arg("-c")
        .arg(uri)
        .args(args)
        .env("LIBVIRT_AUTOSTART", "0")
        .stdout(Stdio::null())
        .status()
        .expect("virsh runs");
    assert!(status.success(), "virsh {args:?}");
}

/// event-test.c built against libvirt-dev (real libvirt's headers and
/// library) and against ours.
fn event_tests(dir: &Path) -> (PathBuf, PathBuf) {
    let source = dir.join("event-test.c");
    if std::fs::copy(UPSTREAM, &source).is_err() {
        let text = Command::new("zcat").arg(format!("{UPSTREAM}.gz")).output().expect("zcat");
        assert!(text.status.success(), "{UPSTREAM} is missing: install libvirt-doc");
        std::fs::write(&source, text.stdout).unwrap();
    }
    let source = source.to_str().unwrap();
    let real = dir.join("event-test-real");
    compile_c(&[source, "-lvirt"], &real, "event-test.c against libvirt-dev");
    let ours = dir.join("event-test-ours");
    let include = format!("-I{}", crate_dir().join("include").display());
    let libs = format!("-L{}", lib_dir().display());
    compile_c(&[&include, source, &libs, "-lvirt"], &ours, "event-test.c against our headers");
    (real, ours)
}

fn watcher(binary: &Path, uri: &str, our_library: bool) -> Watcher {
    // Their stdout is a pipe: line-buffered, lines arrive as printed.
    let mut command = Command::new("stdbuf");
    command.arg("-oL").arg(binary).arg(uri).env("LIBVIRT_AUTOSTART", "0").stderr(Stdio::null());
    if our_library {
        command.env("LD_LIBRARY_PATH", lib_dir());
    }
    let mut watcher = Watcher::start(command);
    watcher.expect("Registering event callbacks");
    watcher
}

/// The demo guest (tests/common: a TCG guest that changes its RTC, reads a
/// sector blkdebug fails and arms its ib700) as a libvirt domain: ACPI on
/// (libvirt 9.0 would pass QEMU 10 the removed `-no-acpi` otherwise), the
/// watchdog pausing it, VNC on a unix socket, and its blkdebug disk passed
/// to QEMU as it is (libvirt's XML has no blkdebug source).
fn guest_xml(dir: &Path) -> String {
    let source = common::guest_disk(dir);
    for file in ["disk.img", "blkdebug.conf"] {
        // QEMU runs as the daemon's user.
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    format!(
        "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\
         <name>remote1</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>\
         <devices><emulator>{}</emulator><watchdog model='ib700' action='pause'/>\
         <graphics type='vnc' socket='{}'/><video><model type='vga'/></video></devices>\
         <qemu:commandline><qemu:arg value='-drive'/>\
         <qemu:arg value='file={source},format=raw,if=none,id=drive-ide0-0-0,rerror=report,werror=report'/>\
         <qemu:arg value='-device'/><qemu:arg value='ide-hd,drive=drive-ide0-0-0,id=ide0-0-0,bootindex=1'/>\
         </qemu:commandline></domain>",
        emulator(),
        dir.join("vnc.sock").display()
    )
}

/// The QEMU on PATH (tests/install-qemu.sh installs one).
fn emulator() -> String {
    let found = Command::new("sh").args(["-c", "command -v qemu-system-x86_64"]).output().unwrap();
    String::from_utf8(found.stdout).unwrap().trim().to_string()
}

/// A VNC client that connects, reads the server's greeting and leaves: a
/// graphics connect and disconnect.
fn vnc_visit(socket: &Path) {
    use std::io::Read;
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("the guest's VNC socket");
    let mut greeting = [0u8; 12];
    stream.read_exact(&mut greeting).unwrap();
    assert!(greeting.starts_with(b"RFB "), "{greeting:?}");
}

/// Our remote driver's QEMU-program calls on `remote1`, answered by
/// libvirtd's QEMU driver (the watchdog has paused the guest): QEMU's reply
/// to a monitor command, HMP's text, and libvirt's refusal of the agent
/// command for a domain that is not running.
fn our_qemu_calls(uri: &str) {
    use std::ffi::{CStr, CString};
    use virt_events::testing::*;
    let monitor = |dom, cmd: &str, flags| {
        let cmd = CString::new(cmd).unwrap();
        let mut result = std::ptr::null_mut();
        // SAFETY: a live domain, a C string and a writable result pointer.
        let rc = unsafe { virtEventsDomainQemuMonitorCommand(dom, cmd.as_ptr(), &mut result, flags) };
        assert_eq!(rc, 0, "{}", virGetLastErrorCode());
        // SAFETY: the call succeeded: a C string, ours to free.
        let reply = unsafe { CStr::from_ptr(result) }.to_string_lossy().into_owned();
        // SAFETY: as above.
        unsafe { libc::free(result.cast()) };
        reply
    };
    let (uri, name) = (CString::new(uri).unwrap(), CString::new("remote1").unwrap());
    // SAFETY: (the C-ABI calls here) valid arguments, as a C program passes them.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    assert!(!conn.is_null());
    // SAFETY: as above.
    let dom = unsafe { virDomainLookupByName(conn, name.as_ptr()) };
    assert!(!dom.is_null());
    let reply = monitor(dom, r#"{"execute":"query-name"}"#, 0);
    assert!(reply.starts_with(r#"{"return":{"name":"remote1"},"id":"libvirt-"#), "{reply}");
    assert!(monitor(dom, "info name", 1).starts_with("remote1"));
    let ping = CString::new(r#"{"execute":"guest-ping"}"#).unwrap();
    // SAFETY: as above.
    assert!(unsafe { virtEventsDomainQemuAgentCommand(dom, ping.as_ptr(), -1, 0) }.is_null());
    assert_eq!((virGetLastErrorCode(), virGetLastErrorDomain()), (55, 10), "VIR_ERR_OPERATION_INVALID from QEMU's");
    virDomainFree(dom);
    virConnectClose(conn);
}

#[test]
fn event_test_prints_the_same_lines_with_our_library_and_real_libvirts() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    common::require_qemu();
    let daemon = Libvirtd::start("event-test");
    let (real, ours) = event_tests(&daemon.dir);
    let uri = format!("qemu+unix:///session?socket={}", daemon.socket.display());
    let xml = daemon.dir.join("remote1.xml");
    std::fs::write(&xml, guest_xml(&daemon.dir)).unwrap();
    let mut with_real = watcher(&real, &uri, false);
    let mut with_ours = watcher(&ours, &uri, true);
    std::thread::sleep(Duration::from_millis(700));
    virsh(&uri, &["define", xml.to_str().unwrap()]);
    virsh(&uri, &["start", "remote1"]);
    // The guest's own events: RTC change, I/O errors, then the watchdog.
    with_real.expect("myDomainEventWatchdogCallback EVENT: Domain remote1(");
    with_ours.expect("myDomainEventWatchdogCallback EVENT: Domain remote1(");
    our_qemu_calls(&uri);
    vnc_visit(&daemon.dir.join("vnc.sock"));
    std::thread::sleep(Duration::from_millis(500));
    for action in ["resume", "suspend", "reset", "destroy", "undefine"] {
        virsh(&uri, &[action, "remote1"]);
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(800));
    let output = |watcher: Watcher| -> Vec<String> {
        let (code, lines) = watcher.finish(libc::SIGINT);
        assert_eq!(code, 0, "{}", lines.join("\n"));
        assert!(lines.iter().any(|l| l == "Closing connection: done"), "{}", lines.join("\n"));
        lines
    };
    let (real_lines, our_lines) = (output(with_real), output(with_ours));
    for line in [
        "myDomainEventCallback1 EVENT: Domain remote1(-1) Defined Added",
        "myDomainEventCallback2 EVENT: Domain remote1(-1) Stopped Destroyed",
        "myDomainEventCallback1 EVENT: Domain remote1(-1) Undefined Removed",
    ] {
        assert!(real_lines.iter().any(|l| l == line), "no {line:?} with real libvirt:\n{}", real_lines.join("\n"));
    }
    for prefix in
        ["myDomainEventRebootCallback EVENT: Domain remote1(", "myDomainEventGraphicsCallback EVENT: Domain remote1("]
    {
        assert!(real_lines.iter().any(|l| l.starts_with(prefix)), "no {prefix:?}:\n{}", real_lines.join("\n"));
    }
    assert_eq!(our_lines, real_lines, "libvirtd's log:\n{}", daemon.log());
}

#[test]
fn api_over_the_wire_of_a_real_libvirtd() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    let daemon = Libvirtd::start("api");
    let binary = daemon.dir.join("remote_client");
    let include = format!("-I{}", crate_dir().join("include").display());
    let libs = format!("-L{}", lib_dir().display());
    let source = crate_dir().join("tests/c/remote_client.c");
    compile_c(&[&include, source.to_str().unwrap(), &libs, "-lvirt"], &binary, "tests/c/remote_client.c");
    let output =
        Command::new(&binary).args([&daemon.uri(), "api"]).env("LD_LIBRARY_PATH", lib_dir()).output().expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    // libvirtd's test driver reports the error from VIR_FROM_TEST.
    assert!(text.contains("remote error: 42 12 Domain not found"), "{text}");
    assert!(text.contains("api done, 0 failures"), "{text}");
}

/// tests/rpc/python_objects.py against the daemon's `test:///default`,
/// on the real python3-libvirt over real libvirt's client library or ours.
fn python_objects(daemon: &Libvirtd, ours: bool) -> String {
    let mut command = Command::new("/usr/bin/python3");
    command.arg(crate_dir().join("tests/rpc/python_objects.py")).arg(daemon.uri()).arg(daemon.uri());
    if ours {
        command.env("LD_LIBRARY_PATH", lib_dir());
    }
    let output = command.output().expect("python3 runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ours: {ours}\n{text}\n{errors}\nlibvirtd's log:\n{}", daemon.log());
    text
}

/// Network, storage pool and node device calls, remote errors, read-only
/// refusals and registrations filtered to one object, against a real
/// libvirtd: the real python3-libvirt prints the same lines over our
/// library as over real libvirt's. (The test driver's state lives while a
/// connection is open: each run starts from its defaults.)
#[test]
fn object_calls_and_filtered_events_on_a_real_libvirtd() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    let daemon = Libvirtd::start("objects");
    let real = python_objects(&daemon, false);
    let ours = python_objects(&daemon, true);
    assert_eq!(ours, real);
    let expected = ["secure 1 encrypted 0", "net-default default [3, 0]", "refresh-default default-pool []"];
    for line in expected {
        assert!(ours.lines().any(|l| l == line), "no {line:?}:\n{ours}");
    }
    assert!(!ours.contains("net-default extra"), "{ours}");
}

/// The older enumerations against a real libvirtd's `test:///default`:
/// tests/c/remote_listings.c prints the same lines over our library as over
/// real libvirt's (the counts and listings by their own procedures, the
/// protocol's limits, libvirtd's and the API's argument checks).
#[test]
fn legacy_listings_on_a_real_libvirtd() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    let daemon = Libvirtd::start("listings");
    let (real, ours) = common::both_builds("remote_listings", &daemon.dir);
    let run = |binary: &Path, our_library: bool| {
        let mut command = Command::new(binary);
        command.arg(daemon.uri()).env("LIBVIRT_AUTOSTART", "0");
        if our_library {
            command.env("LD_LIBRARY_PATH", lib_dir());
        }
        let output = command.output().expect("runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "ours: {our_library}\n{text}\nlibvirtd's log:\n{}", daemon.log());
        text
    };
    let (real_text, our_text) = (run(&real, false), run(&ours, true));
    assert_eq!(our_text, real_text);
    for line in ["virConnectNumOfDomains 1", "virNodeNumOfDevices 4", "virNodeDeviceNumOfCaps 1"] {
        assert!(our_text.lines().any(|l| l == line), "no {line:?}:\n{our_text}");
    }
    assert!(our_text.contains("virNodeListDevices 4\n   computer scsi_host1 scsi_host11 scsi_host2\n"), "{our_text}");
}

/// What virsh prints for the host's free memory and most vCPUs, a domain's
/// scheduler and statistics (those that do not follow the clock) at `uri`.
fn virsh_stats(uri: &str) -> String {
    let mut text = String::new();
    for command in [
        "maxvcpus",
        "freecell --all",
        "freecell 1",
        "freecell 5",
        "schedinfo test",
        "schedinfo test --live",
        "schedinfo test weight=3",
        "dommemstat test",
        "domblkstat test nope",
        "domifstat test nope",
    ] {
        let output = Command::new("virsh")
            .arg("-c")
            .arg(uri)
            .args(command.split(' '))
            .env("LIBVIRT_AUTOSTART", "0")
            .output()
            .expect("virsh runs");
        let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        text.push_str(&format!("{command}: {:?}\n{stdout}{stderr}", output.status.code()));
    }
    text
}

/// tests/python/test_driver_stats.py at `uri`, on the real python3-libvirt
/// over real libvirt's client library or ours (checked to be the one it
/// loaded): its answers.
fn python_stats(uri: &str, ours: bool) -> String {
    let mut command = Command::new("/usr/bin/python3");
    command.arg(crate_dir().join("tests/python/test_driver_stats.py")).arg(uri).env_remove("LD_LIBRARY_PATH");
    if ours {
        command.env("LD_LIBRARY_PATH", lib_dir());
    }
    let output = command.output().expect("python3 runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "ours: {ours}\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    let (answers, library) = text.trim_end().rsplit_once("\nlibrary: ").unwrap_or_else(|| panic!("{text}"));
    let build = std::fs::canonicalize(lib_dir()).unwrap();
    assert_eq!(std::fs::canonicalize(library).unwrap().starts_with(build), ours, "{library}");
    answers.to_string()
}

/// The host's free memory and most vCPUs, a domain's scheduler, whether it
/// is updated and its statistics through a daemon serving `test:///default`:
/// virsh and the real python3-libvirt get the same answers (values, errors,
/// the protocol's limits) from virt-eventsd as from a real libvirtd, and our
/// library gets them from the real libvirtd and from virt-eventsd too.
#[test]
fn stats_and_scheduler_answer_alike_through_virt_eventsd_and_a_real_libvirtd() {
    assert!(lib_dir().join("libvirt.so.0").exists(), "build/libvirt.so.0 is missing: run `make` first");
    let daemon = Libvirtd::start("stats");
    let eventsd = rpc::Daemon::start("stats", &["--uri", "test:///default"]);
    // virsh first: the script undefines the domain, and virt-eventsd's test
    // driver keeps its state between connections (libvirtd's starts afresh).
    let virsh_text = virsh_stats(&daemon.uri());
    assert!(virsh_text.contains("error: invalid argument: Range exceeds available cells"), "{virsh_text}");
    assert_eq!(virsh_stats(&eventsd.uri()), virsh_text);
    let real = python_stats(&daemon.uri(), false);
    for line in [
        "C cells 0 1025 -> -1 error 39 13 b'too many NUMA cells: 1025 > 1024'",
        "C get scheduler 17 -> -1 error 1 7 b'internal error: nparams too large'",
        "is updated -> 0",
        "max vcpus kvm -> 32",
        "scheduler parameters -> {'weight': 50}",
    ] {
        assert!(real.contains(line), "{line:?} missing:\n{real}");
    }
    assert_eq!(python_stats(&eventsd.uri(), false), real, "virt-eventsd's log:\n{}", eventsd.stop().1);
    assert_eq!(python_stats(&daemon.uri(), true), real, "libvirtd's log:\n{}", daemon.log());
    // Ours at both ends, on a daemon of its own (the first one's domain is gone).
    let fresh = rpc::Daemon::start("stats-ours", &["--uri", "test:///default"]);
    assert_eq!(python_stats(&fresh.uri(), true), real, "virt-eventsd's log:\n{}", fresh.stop().1);
}
