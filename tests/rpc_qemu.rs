//! virt-eventsd serving a `qemu:///embed` root with a real QEMU (TCG): the
//! real virsh, over the unix socket and over TCP, prints the seed events
//! (lifecycle, RTC change, I/O error, watchdog, graphics), and
//! `virsh qemu-monitor-event` the raw QMP events; `virsh qemu-monitor-command`
//! reaches the QEMU of a domain the daemon launched.

mod common;
mod rpc;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{guest_disk, require_qemu, start_demo_qemu, Control};
use rpc::{Background, Daemon};

/// `virsh -c URI ARGS...` running in the background, its output in `output`.
fn virsh(uri: &str, args: &[&str], output: std::path::PathBuf) -> Background {
    let mut command = Command::new("virsh");
    command.arg("-c").arg(uri).args(args);
    Background::start(&mut command, output)
}

/// A minimal RFB client: version, security type None, ClientInit, leave.
fn vnc_session(socket: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut vnc = loop {
        match UnixStream::connect(socket) {
            Ok(stream) => break stream,
            Err(e) => {
                assert!(Instant::now() < deadline, "no VNC socket: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    vnc.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 64];
    vnc.read_exact(&mut buf[..12]).unwrap();
    vnc.write_all(b"RFB 003.008\n").unwrap();
    vnc.read_exact(&mut buf[..1]).unwrap();
    let types = buf[0] as usize;
    vnc.read_exact(&mut buf[..types]).unwrap();
    vnc.write_all(&[1]).unwrap();
    vnc.read_exact(&mut buf[..4]).unwrap();
    vnc.write_all(&[1]).unwrap();
    let _ = vnc.read(&mut buf[..24]).unwrap();
}

#[test]
fn virsh_watches_a_real_qemu_through_the_daemon() {
    require_qemu();
    let dir = std::env::temp_dir().join(format!("virt-eventsd-guest-{}", std::process::id()));
    let (root, side) = (dir.join("root"), dir.join("side"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&side).unwrap();
    let uri = format!("qemu:///embed?root={}", root.display());
    let daemon = Daemon::start("qemu", &["--uri", &uri, "--listen", "127.0.0.1:0"]);
    let tcp = format!("qemu+tcp://127.0.0.1:{}/session", daemon.port.unwrap());
    let over_unix = virsh(&daemon.uri(), &["event", "--all", "--loop"], dir.join("unix.out"));
    daemon.wait_for_log(" opened ", 1);
    let over_tcp = virsh(&tcp, &["event", "--all", "--loop"], dir.join("tcp.out"));
    daemon.wait_for_log(" opened ", 2);
    let raw = virsh(&daemon.uri(), &["qemu-monitor-event", "--loop"], dir.join("qme.out"));
    daemon.wait_for_log(" opened ", 3);
    // Their registrations follow the open within milliseconds.
    std::thread::sleep(Duration::from_millis(700));

    let source = run_guest(
        &root,
        &side,
        &over_unix,
        GuestSteps {
            attached: "event 'lifecycle' for domain 'vm': Suspended Paused",
            vnc_gone: "event 'graphics' for domain 'vm': disconnect",
            watchdog: "event 'watchdog' for domain 'vm'",
        },
    );
    over_unix.wait_for("Stopped", 1);
    over_tcp.wait_for("Stopped", 1);
    raw.wait_for("SHUTDOWN", 1);
    let (unix_text, tcp_text, raw_text) = (over_unix.interrupt().1, over_tcp.interrupt().1, raw.interrupt().1);
    assert_eq!(unix_text, tcp_text, "the same events over TCP");
    let vnc = side.join("vnc.sock");
    let graphics = |phase: &str| {
        format!("event 'graphics' for domain 'vm': {phase} local[unix  {}] remote[unix  ] none", vnc.display())
    };
    for line in [
        "event 'lifecycle' for domain 'vm': Started Booted".to_string(),
        "event 'lifecycle' for domain 'vm': Resumed Unpaused".into(),
        graphics("connect"),
        graphics("initialize"),
        graphics("disconnect"),
        format!("event 'io-error' for domain 'vm': {source} (ide0-0-0) report"),
        // libvirt 9.0 passes no reason on for an EIO.
        format!("event 'io-error-reason' for domain 'vm': {source} (ide0-0-0) report due to "),
        "event 'watchdog' for domain 'vm': pause".into(),
        "event 'lifecycle' for domain 'vm': Suspended Watchdog".into(),
        "event 'lifecycle' for domain 'vm': Stopped Shutdown".into(),
    ] {
        assert!(unix_text.lines().any(|l| l == line), "no {line:?} in:\n{unix_text}");
    }
    let rtc = unix_text.lines().find_map(|l| l.strip_prefix("event 'rtc-change' for domain 'vm': "));
    assert!(rtc.is_some_and(|offset| offset.parse::<i64>().is_ok()), "{unix_text}");
    for event in ["RESUME", "RTC_CHANGE", "BLOCK_IO_ERROR", "WATCHDOG", "VNC_CONNECTED", "SHUTDOWN"] {
        assert!(raw_text.contains(&format!("event {event} ")), "no raw {event} in:\n{raw_text}");
    }
    let (status, log) = daemon.stop();
    assert!(status.success(), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a watcher prints when the guest is attached (paused), when the VNC
/// client has left, and when the watchdog fired.
struct GuestSteps {
    attached: &'static str,
    vnc_gone: &'static str,
    watchdog: &'static str,
}

/// Runs the demo guest in `root` (its side files in `side`) while `watcher`
/// watches: attach (paused), a VNC session, `cont`, RTC change, I/O error,
/// watchdog, then `quit`; each step waits for the previous one's events, so
/// that their order does not depend on QEMU's timing. Returns the disk source.
fn run_guest(root: &Path, side: &Path, watcher: &Background, steps: GuestSteps) -> String {
    let source = guest_disk(side);
    let mut qemu = start_demo_qemu(&root.join("vm.qmp"), side, &source);
    let mut control = Control::connect(&side.join("control.sock"));
    watcher.wait_for(steps.attached, 1);
    vnc_session(&side.join("vnc.sock"));
    watcher.wait_for(steps.vnc_gone, 1);
    control.execute("cont");
    watcher.wait_for(steps.watchdog, 1);
    control.execute("quit");
    let _ = qemu.wait();
    source
}

/// The same guest run watched by the real python3-libvirt through the daemon
/// and by our own binding in-process prints the same events, values and all.
#[test]
fn python3_libvirt_through_the_daemon_matches_in_process() {
    require_qemu();
    let python = "/usr/bin/python3";
    let script = common::crate_dir().join("tests/rpc/python_watch.py");
    let dir = std::env::temp_dir().join(format!("virt-eventsd-pyguest-{}", std::process::id()));
    let (root, side) = (dir.join("root"), dir.join("side"));
    let mut outputs = vec![];
    for through_daemon in [true, false] {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&side).unwrap();
        let uri = format!("qemu:///embed?root={}", root.display());
        let mut command = Command::new(python);
        command.arg(&script);
        let daemon = through_daemon.then(|| Daemon::start("pyguest", &["--uri", &uri]));
        match &daemon {
            Some(daemon) => command.arg(daemon.uri()),
            None => command
                .arg(&uri)
                .env("VIRT_EVENTS_BINDING", "1")
                .env("PYTHONPATH", common::crate_dir().join("python"))
                .env("VIRT_EVENTS_LIBRARY", common::lib_dir().join("libvirt.so.0")),
        };
        let watcher = Background::start(&mut command, dir.with_extension(format!("{through_daemon}.out")));
        watcher.wait_for("ready", 1);
        // The daemon's registrations are done when "ready" is printed.
        let steps =
            GuestSteps { attached: "lifecycle vm [3, 0]", vnc_gone: "graphics vm [2, ", watchdog: "watchdog vm" };
        run_guest(&root, &side, &watcher, steps);
        outputs.push(watcher.finish());
        drop(daemon);
    }
    let _ = std::fs::remove_dir_all(&dir);
    for through_daemon in [true, false] {
        let _ = std::fs::remove_file(dir.with_extension(format!("{through_daemon}.out")));
    }
    // The guest sets its RTC to a fixed date: the offset from the host's
    // clock depends on when, within a second, that happens.
    let (daemon_text, daemon_rtc) = without_rtc_offset(&outputs[0]);
    let (local_text, local_rtc) = without_rtc_offset(&outputs[1]);
    assert_eq!(daemon_text, local_text, "through the daemon vs in-process");
    assert!((daemon_rtc - local_rtc).abs() <= 1, "{daemon_rtc} vs {local_rtc}");
    for needle in [
        "lifecycle vm [2, 0]",
        "rtc_change vm",
        "io_error vm",
        "io_error_reason vm",
        "graphics vm",
        "watchdog vm [1]",
        "lifecycle vm [5, ",
    ] {
        assert!(outputs[0].contains(needle), "no {needle:?} in:\n{}", outputs[0]);
    }
}

/// The output with the RTC offset masked, and the offset.
fn without_rtc_offset(text: &str) -> (String, i64) {
    let mut offset = None;
    let masked = text
        .lines()
        .map(|line| match line.strip_prefix("rtc_change vm [").and_then(|rest| rest.strip_suffix(']')) {
            Some(value) => {
                offset = value.parse().ok();
                "rtc_change vm [OFFSET]"
            }
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    (masked, offset.expect("an RTC change"))
}

/// `virsh ARGS...` to completion: (success, stdout, stderr).
fn virsh_run(uri: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new("virsh").arg("-c").arg(uri).args(args).output().expect("virsh runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// `virDomainQemuMonitorCommand` through the daemon (the QEMU program's
/// procedure 1), on a guest with a VNC display whose port QEMU picks (the
/// real `virsh vncdisplay` names it): the real `virsh qemu-monitor-command` gets QEMU's reply
/// (JSON, its error replies, HMP), the read-only socket refuses it, and our
/// own remote driver gets the same as in-process; `qemu-agent-command`
/// (procedure 3) fails as in-process.
#[test]
fn monitor_commands_through_the_daemon() {
    require_qemu();
    let dir = std::env::temp_dir().join(format!("virt-eventsd-monitor-{}", std::process::id()));
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let uri = format!("qemu:///embed?root={}", root.display());
    let daemon = Daemon::start("qemu-monitor-command", &["--uri", &uri]);
    let xml = dir.join("mon.xml");
    std::fs::write(
        &xml,
        "<domain type='qemu'><name>mon</name><memory unit='MiB'>32</memory><os><type>hvm</type></os>\
         <devices><graphics type='vnc' listen='127.0.0.1'/></devices></domain>",
    )
    .unwrap();
    let (ok, out, err) = virsh_run(&daemon.uri(), &["create", &xml.display().to_string()]);
    assert!(ok, "{out}{err}");
    // The display QEMU picked, as the real virsh finds it in the running
    // domain's XML, is where QEMU's VNC server answers.
    let (ok, out, err) = virsh_run(&daemon.uri(), &["vncdisplay", "mon"]);
    let display: u16 =
        out.trim().strip_prefix("127.0.0.1:").and_then(|d| d.parse().ok()).unwrap_or_else(|| panic!("{ok} {out}{err}"));
    let mut vnc = std::net::TcpStream::connect(("127.0.0.1", 5900 + display)).unwrap();
    let mut greeting = [0u8; 4];
    std::io::Read::read_exact(&mut vnc, &mut greeting).unwrap();
    assert_eq!(&greeting, b"RFB ");

    let query = r#"{"execute":"query-status"}"#;
    let (ok, out, err) = virsh_run(&daemon.uri(), &["qemu-monitor-command", "mon", query]);
    assert!(ok, "{out}{err}");
    assert!(out.starts_with(r#"{"return":{"status":"running","running":true},"id":"libvirt-"#), "{out}");
    let (ok, out, err) = virsh_run(&daemon.uri(), &["qemu-monitor-command", "mon", r#"{"execute":"nope"}"#]);
    assert!(ok && out.contains(r#""error":{"class":"CommandNotFound","desc":"The command nope has not been found"}"#));
    let _ = err;
    let (ok, out, err) = virsh_run(&daemon.uri(), &["qemu-monitor-command", "mon", "--hmp", "info status"]);
    assert!(ok && out.starts_with("VM status: running"), "{out}{err}");
    let (ok, out, err) = virsh_run(&daemon.uri_ro(), &["qemu-monitor-command", "mon", query]);
    assert!(!ok && err.contains("read only access prevents virDomainQemuMonitorCommand"), "{out}{err}");
    // The daemon launched no guest agent: libvirt's answer for such a domain.
    let (ok, out, err) = virsh_run(&daemon.uri(), &["qemu-agent-command", "mon", r#"{"execute":"guest-ping"}"#]);
    assert!(!ok && err.contains("argument unsupported: QEMU guest agent is not configured"), "{out}{err}");

    // Our remote driver, in this process.
    use std::ffi::{CStr, CString};
    use virt_events::testing::*;
    let daemon_uri = CString::new(daemon.uri()).unwrap();
    let (name, cmd) = (CString::new("mon").unwrap(), CString::new(r#"{"execute":"query-name"}"#).unwrap());
    // SAFETY: (the C-ABI calls here) valid arguments, as a C program passes them.
    let conn = unsafe { virConnectOpen(daemon_uri.as_ptr()) };
    assert!(!conn.is_null());
    // SAFETY: as above.
    let dom = unsafe { virDomainLookupByName(conn, name.as_ptr()) };
    assert!(!dom.is_null());
    let mut result = std::ptr::null_mut();
    // SAFETY: as above.
    assert_eq!(unsafe { virtEventsDomainQemuMonitorCommand(dom, cmd.as_ptr(), &mut result, 0) }, 0);
    // SAFETY: the call succeeded: a C string.
    let reply = unsafe { CStr::from_ptr(result) }.to_string_lossy().into_owned();
    assert!(reply.starts_with(r#"{"return":{"name":"mon"},"id":"libvirt-"#), "{reply}");
    // SAFETY: the result is ours to free.
    unsafe { libc::free(result.cast()) };
    // SAFETY: as above.
    assert!(unsafe { virtEventsDomainQemuAgentCommand(dom, cmd.as_ptr(), -1, 0) }.is_null());
    assert_eq!(virGetLastErrorCode(), 74, "VIR_ERR_ARGUMENT_UNSUPPORTED, from the daemon");
    virDomainFree(dom);
    virConnectClose(conn);

    let (ok, out, err) = virsh_run(&daemon.uri(), &["destroy", "mon"]);
    assert!(ok, "{out}{err}");
    let (status, log) = daemon.stop();
    assert!(status.success(), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `virConnectGetCapabilities` of a `qemu:///embed` root through the daemon:
/// the real virsh (libvirt 9.0's remote driver) and our library's remote
/// driver, through real python3-libvirt, get the daemon's document as it is
/// (the same host UUID: the daemon's process makes it once).
#[test]
fn capabilities_through_the_daemon() {
    require_qemu();
    let root = std::env::temp_dir().join(format!("virt-eventsd-caps-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let daemon = Daemon::start("caps", &["--uri", &format!("qemu:///embed?root={}", root.display())]);
    let run = |command: &mut Command| {
        let output = command.env("LIBVIRT_AUTOSTART", "0").output().expect("the client runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let virsh = run(Command::new("virsh").args(["-c", &daemon.uri(), "capabilities"]));
    let script = "import sys, libvirt\nprint(libvirt.open(sys.argv[1]).getCapabilities(), end='')";
    let ours = run(Command::new("/usr/bin/python3")
        .args(["-c", script, &daemon.uri()])
        .env("LD_LIBRARY_PATH", common::lib_dir()));
    let (status, log) = daemon.stop();
    let _ = std::fs::remove_dir_all(&root);
    assert!(status.success(), "{log}");
    assert!(virsh.starts_with("<capabilities>\n\n  <host>\n    <uuid>"), "{virsh}");
    assert!(virsh.contains("<emulator>") && virsh.contains("canonical='pc-i440fx-"), "{virsh}");
    assert_eq!(virsh.trim_end(), ours.trim_end());
}
