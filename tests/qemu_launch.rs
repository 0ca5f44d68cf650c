//! Domains the QEMU driver launches itself, from a subset of libvirt's domain
//! XML, driven through the C ABI: the lifecycle events come in libvirt's order,
//! I/O errors name the XML's source and alias, a variable clock's adjustment
//! is added to RTC changes and written back into the saved definition, and XML
//! outside the subset is refused by name; `virDomainQemuMonitorCommand` reaches
//! their QEMU.

mod common;

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_longlong, c_void};
use std::ptr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{guest_disk, require_qemu};
use virt_events::testing::*;
use virt_events::testing::{virConnectPtr, virDomainPtr};

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(line: String) {
    SEEN.lock().unwrap().push(line);
}

fn text(ptr: *const c_char) -> String {
    // SAFETY: the library passes NUL-terminated strings valid for the call.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

extern "C" fn on_lifecycle(_: virConnectPtr, _: virDomainPtr, event: c_int, detail: c_int, _: *mut c_void) -> c_int {
    record(format!("lifecycle {event} {detail}"));
    0
}
extern "C" fn on_reboot(_: virConnectPtr, _: virDomainPtr, _: *mut c_void) {
    record("reboot".into());
}
extern "C" fn on_rtc(_: virConnectPtr, _: virDomainPtr, offset: c_longlong, _: *mut c_void) {
    record(format!("rtc {offset}"));
}
extern "C" fn on_watchdog(_: virConnectPtr, _: virDomainPtr, action: c_int, _: *mut c_void) {
    record(format!("watchdog {action}"));
}
extern "C" fn on_io_error(
    _: virConnectPtr,
    _: virDomainPtr,
    src: *const c_char,
    alias: *const c_char,
    action: c_int,
    _: *mut c_void,
) {
    record(format!("ioerror {} {} {action}", text(src), text(alias)));
}
extern "C" fn tick(_: c_int, _: *mut c_void) {}

/// Runs the loop until a recorded line starts with `prefix`; returns it.
fn wait_for(prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(line) = SEEN.lock().unwrap().iter().find(|l| l.starts_with(prefix)) {
            return line.clone();
        }
        assert!(Instant::now() < deadline, "no '{prefix}' event; seen: {:?}", SEEN.lock().unwrap());
        virEventRunDefaultImpl();
    }
}

fn last_error() -> (c_int, String) {
    (virGetLastErrorCode(), text(virGetLastErrorMessage()))
}

#[test]
fn launched_domains_report_libvirts_events() {
    require_qemu();
    let work =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("qemu-launch-{}", std::process::id()));
    let root = work.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let source = guest_disk(&work);
    assert_eq!(virEventRegisterDefaultImpl(), 0);
    // SAFETY: `tick` ignores its opaque.
    assert!(unsafe { virEventAddTimeout(20, Some(tick), ptr::null_mut(), None) } > 0);
    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    // SAFETY: (all C-ABI calls here) valid arguments, as a C program passes them.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    assert!(!conn.is_null(), "{:?}", last_error());
    let callbacks: [(c_int, *const ()); 5] = [
        (0, on_lifecycle as *const ()),
        (1, on_reboot as *const ()),
        (2, on_rtc as *const ()),
        (3, on_watchdog as *const ()),
        (4, on_io_error as *const ()),
    ];
    for (event_id, function) in callbacks {
        // SAFETY: each function has its event ID's C type; this is VIR_DOMAIN_EVENT_CALLBACK's cast.
        let generic = unsafe {
            std::mem::transmute::<*const (), extern "C" fn(virConnectPtr, virDomainPtr, *mut c_void)>(function)
        };
        assert!(
            virConnectDomainEventRegisterAny(conn, ptr::null_mut(), event_id, Some(generic), ptr::null_mut(), None)
                >= 0
        );
    }

    let refused = CString::new(
        "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os>\
             <devices><interface type='user'/></devices></domain>",
    )
    .unwrap();
    // SAFETY: a valid connection and C string.
    assert!(unsafe { virDomainDefineXML(conn, refused.as_ptr()) }.is_null());
    let (code, message) = last_error();
    assert_eq!(code, 67, "VIR_ERR_CONFIG_UNSUPPORTED: {message}");
    assert!(message.contains("<interface>"), "names the element: {message}");

    // The demo guest (tests/data/guest/launched.xml, which the Python test
    // launches too); its VNC socket goes unused here.
    let xml = include_str!("data/guest/launched.xml")
        .replace("{disk}", &source)
        .replace("{vnc}", &work.join("vnc.sock").display().to_string());
    let xml = CString::new(xml).unwrap();
    // SAFETY: a valid connection and C string.
    let dom = unsafe { virDomainDefineXML(conn, xml.as_ptr()) };
    assert!(!dom.is_null(), "{:?}", last_error());
    assert!(root.join("launched.xml").exists(), "the definition is saved under the root");
    assert_eq!(wait_for("lifecycle 0"), "lifecycle 0 0"); // Defined Added

    SEEN.lock().unwrap().clear();
    assert_eq!(virDomainCreate(dom), 0, "{:?}", last_error());
    assert!(virDomainGetID(dom) as c_int > 0);
    wait_for("lifecycle 2");
    let order: Vec<String> = SEEN.lock().unwrap().iter().filter(|l| l.starts_with("lifecycle")).cloned().collect();
    assert_eq!(order[..2], ["lifecycle 4 0", "lifecycle 2 0"], "Resumed Unpaused, then Started Booted");

    let rtc: i64 = wait_for("rtc ").split(' ').nth(1).unwrap().parse().unwrap();
    assert!(rtc > 3 * 365 * 24 * 3600, "the 2030 clock plus the adjustment: {rtc}");
    assert_eq!(wait_for("ioerror "), format!("ioerror {source} ide0-0-0 2"), "srcPath and alias from the XML");
    assert_eq!(wait_for("watchdog "), "watchdog 2");
    wait_for("reboot");

    // The definition's sizes and vCPUs, and QEMU's CPU time so far.
    // SAFETY: virDomainInfo is plain integers, for which all-zero is valid.
    let mut info: virDomainInfo = unsafe { std::mem::zeroed() };
    // SAFETY: a live domain and a writable virDomainInfo.
    assert_eq!(unsafe { virDomainGetInfo(dom, &mut info) }, 0, "{:?}", last_error());
    assert_eq!((info.state, info.maxMem, info.memory, info.nrVirtCpu), (1, 32 * 1024, 32 * 1024, 1));
    assert!(info.cpuTime > 0, "QEMU ran the guest");

    // The new adjustment is in the live XML and in the saved definition.
    let desc = virDomainGetXMLDesc(dom, 0);
    let desc_text = text(desc);
    // SAFETY: the caller frees the returned string.
    unsafe { libc::free(desc.cast()) };
    let saved = std::fs::read_to_string(root.join("launched.xml")).unwrap();
    let adjustment = format!("adjustment='{rtc}'");
    assert!(desc_text.contains(&adjustment), "{desc_text}");
    assert!(saved.contains(&adjustment), "{saved}");

    SEEN.lock().unwrap().clear();
    assert_eq!(virDomainDestroy(dom), 0, "{:?}", last_error());
    wait_for("lifecycle 5");
    let order: Vec<String> = SEEN.lock().unwrap().iter().filter(|l| l.starts_with("lifecycle")).cloned().collect();
    assert_eq!(
        order,
        ["lifecycle 6 2", "lifecycle 5 1"],
        "Shutdown Finished after host request, then Stopped Destroyed"
    );
    assert_eq!(virDomainIsActive(dom), 0);
    assert_eq!(virDomainIsPersistent(dom), 1);

    SEEN.lock().unwrap().clear();
    assert_eq!(virDomainUndefine(dom), 0, "{:?}", last_error());
    assert_eq!(wait_for("lifecycle 1"), "lifecycle 1 0"); // Undefined Removed
    assert!(!root.join("launched.xml").exists());
    virDomainFree(dom);
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&work);
}

/// The answer to a VNC authentication challenge: the challenge encrypted
/// with DES under the password (8 bytes, zero-padded, each byte's bits
/// reversed, as RFB specifies), by the openssl command (DES is in its
/// legacy provider).
fn vnc_auth_response(password: &str, challenge: &[u8; 16]) -> Vec<u8> {
    use std::io::Write;
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(password.bytes()) {
        *k = b.reverse_bits();
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut openssl = std::process::Command::new("openssl")
        .args(["enc", "-des-ecb", "-nopad", "-K", &hex, "-provider", "legacy", "-provider", "default"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl (tests/install-deps.sh installs it)");
    openssl.stdin.take().unwrap().write_all(challenge).unwrap();
    let output = openssl.wait_with_output().unwrap();
    assert!(output.status.success() && output.stdout.len() == 16, "openssl des-ecb failed");
    output.stdout
}

/// Authenticates to a VNC server with `password`; true if it accepted.
fn vnc_login(socket: &std::path::Path, password: &str) -> bool {
    use std::io::{Read, Write};
    let mut vnc = std::os::unix::net::UnixStream::connect(socket).expect("VNC socket");
    vnc.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut version = [0u8; 12];
    vnc.read_exact(&mut version).unwrap();
    vnc.write_all(b"RFB 003.008\n").unwrap();
    let mut count = [0u8; 1];
    vnc.read_exact(&mut count).unwrap();
    let mut types = vec![0u8; count[0] as usize];
    vnc.read_exact(&mut types).unwrap();
    assert_eq!(types, [2], "only VNC authentication is offered");
    vnc.write_all(&[2]).unwrap();
    let mut challenge = [0u8; 16];
    vnc.read_exact(&mut challenge).unwrap();
    vnc.write_all(&vnc_auth_response(password, &challenge)).unwrap();
    let mut result = [0u8; 4];
    vnc.read_exact(&mut result).unwrap();
    u32::from_be_bytes(result) == 0
}

/// A VNC password reaches QEMU through a 0600 file (a `secret` object), never
/// its command line; the file is gone once QEMU runs, the saved definition
/// is 0600, `virDomainGetXMLDesc` shows it only with `VIR_DOMAIN_XML_SECURE`,
/// and QEMU asks VNC clients for exactly that password. The name
/// has a comma, which QEMU's options get doubled (the monitor, pid and
/// secret files are named after it), or the launch would fail.
#[test]
fn the_vnc_password_is_applied_but_never_on_a_command_line() {
    use std::os::unix::fs::MetadataExt;
    require_qemu();
    let work = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("qemu-vnc-{}", std::process::id()));
    let root = work.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let socket = work.join("vnc.sock");
    let password = "Pw3x,y!z";
    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    // SAFETY: (all C-ABI calls here) valid arguments, as a C program passes them.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    assert!(!conn.is_null(), "{:?}", last_error());
    let xml = format!(
        "<domain type='qemu'><name>locked,vnc</name><memory unit='MiB'>32</memory><os><type>hvm</type></os><devices>
           <graphics type='vnc' passwd='{password}'><listen type='socket' socket='{}'/></graphics>
         </devices></domain>",
        socket.display()
    );
    let xml = CString::new(xml).unwrap();
    // SAFETY: a valid connection and C string.
    let dom = unsafe { virDomainDefineXML(conn, xml.as_ptr()) };
    assert!(!dom.is_null(), "{:?}", last_error());
    let saved = root.join("locked,vnc.xml");
    assert_eq!(std::fs::metadata(&saved).unwrap().mode() & 0o777, 0o600, "the definition is private");
    assert_eq!(virDomainCreate(dom), 0, "{:?}", last_error());

    let mut qemu_seen = false;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&root.display().to_string()) {
            qemu_seen |= cmdline.contains("qemu-system");
            assert!(!cmdline.contains(password), "the password is on a command line: {cmdline}");
        }
    }
    assert!(qemu_seen, "QEMU's command line was found");
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        if entry.path() != saved && entry.file_type().unwrap().is_file() {
            let content = std::fs::read(entry.path()).unwrap();
            assert!(!String::from_utf8_lossy(&content).contains(password), "{} keeps it", entry.path().display());
        }
    }
    for (flags, shown) in [(0, false), (1, true)] {
        let desc = virDomainGetXMLDesc(dom, flags);
        let desc_text = text(desc);
        // SAFETY: the caller frees the returned string.
        unsafe { libc::free(desc.cast()) };
        assert_eq!(desc_text.contains(password), shown, "only VIR_DOMAIN_XML_SECURE shows it: {desc_text}");
    }
    assert!(!vnc_login(&socket, "wrong"), "a wrong password is refused");
    assert!(vnc_login(&socket, password), "the password from the XML is QEMU's");

    assert_eq!(virDomainDestroy(dom), 0, "{:?}", last_error());
    assert_eq!(virDomainUndefine(dom), 0, "{:?}", last_error());
    virDomainFree(dom);
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&work);
}

/// `virDomainQemuMonitorCommand`'s answer: `Ok(result)`, or the error's
/// code, domain and message.
fn monitor_command(dom: virDomainPtr, cmd: &str, flags: u32) -> Result<String, (c_int, c_int, String)> {
    let cmd = CString::new(cmd).unwrap();
    let mut result: *mut c_char = ptr::null_mut();
    // SAFETY: a live domain, a C string and a writable result pointer.
    if unsafe { virtEventsDomainQemuMonitorCommand(dom, cmd.as_ptr(), &mut result, flags) } < 0 {
        return Err((virGetLastErrorCode(), virGetLastErrorDomain(), text(virGetLastErrorMessage())));
    }
    let reply = text(result);
    // SAFETY: the caller frees the result.
    unsafe { libc::free(result.cast()) };
    Ok(reply)
}

/// `virsh qemu-monitor-command` on a real QEMU: QMP JSON goes to the domain's
/// monitor with an id of ours, QEMU's whole reply comes back (its error
/// replies too, an id-less one included), HMP through human-monitor-command;
/// the refusals are real libvirt 9.0's (probed on its qemu:///embed).
#[test]
fn monitor_commands_reach_qemu() {
    require_qemu();
    let work = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("qemu-mon-{}", std::process::id()));
    let root = work.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    // SAFETY: (all C-ABI calls here) valid arguments, as a C program passes them.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    assert!(!conn.is_null(), "{:?}", last_error());
    let xml = CString::new(
        "<domain type='qemu'><name>mon</name><memory unit='MiB'>32</memory><os><type>hvm</type></os></domain>",
    )
    .unwrap();
    // SAFETY: a valid connection and C string.
    let dom = unsafe { virDomainCreateXML(conn, xml.as_ptr(), 0) };
    assert!(!dom.is_null(), "{:?}", last_error());

    let id = |reply: &str| serde_json::from_str::<serde_json::Value>(reply).unwrap()["id"].as_str().unwrap().to_owned();
    let status = monitor_command(dom, r#"{"execute":"query-status"}"#, 0).unwrap();
    let first = id(&status);
    assert!(first.starts_with("libvirt-"), "{status}");
    assert_eq!(status, format!(r#"{{"return":{{"status":"running","running":true}},"id":"{first}"}}"#));
    let name = monitor_command(dom, r#"{ "execute" : "query-name" }"#, 0).unwrap();
    assert!(name.starts_with(r#"{"return":{"name":"mon"},"id":"libvirt-"#), "{name}");
    let bad = monitor_command(dom, r#"{"execute":"no-such-command"}"#, 0).unwrap();
    assert_eq!(
        bad,
        format!(
            r#"{{"id":"{}","error":{{"class":"CommandNotFound","desc":"The command no-such-command has not been found"}}}}"#,
            id(&bad)
        )
    );
    // QEMU's refusal of a form without an id to echo answers this command,
    // and the monitor goes on.
    assert_eq!(
        monitor_command(dom, r#"{"foo":1}"#, 0).unwrap(),
        r#"{"error":{"class":"GenericError","desc":"QMP input member 'foo' is unexpected"}}"#
    );
    assert_eq!(
        monitor_command(dom, "[1,2]", 0).unwrap(),
        r#"{"error":{"class":"GenericError","desc":"QMP input must be a JSON object"}}"#
    );
    assert!(monitor_command(dom, r#"{"execute":"query-status"}"#, 0).unwrap().contains(r#""running":true"#));

    let (code, domain, message) = monitor_command(dom, "not json", 0).unwrap_err();
    assert_eq!((code, domain), (1, 0), "VIR_ERR_INTERNAL_ERROR, no subsystem: {message}");
    assert!(message.starts_with("internal error: cannot parse json not json: "), "{message}");
    assert_eq!(
        monitor_command(dom, r#"{"execute":"query-status","id":"mine"}"#, 0),
        Err((1, 10, "internal error: Unable to append command 'id' string".into()))
    );
    assert_eq!(monitor_command(dom, "info status", 1).unwrap(), "VM status: running\r\n");
    assert_eq!(
        monitor_command(dom, r#"{"execute":"query-status"}"#, 2),
        Err((8, 10, "unsupported flags (0x2) in function qemuDomainQemuMonitorCommandWithFiles".into()))
    );

    // Without files, WithFiles is the same call; with them, unsupported.
    let cmd = CString::new(r#"{"execute":"query-name"}"#).unwrap();
    let mut result: *mut c_char = ptr::null_mut();
    let (mut nout, mut out) = (7u32, ptr::NonNull::<c_int>::dangling().as_ptr());
    // SAFETY: a live domain, a C string and writable out pointers.
    let rc = unsafe {
        virtEventsDomainQemuMonitorCommandWithFiles(
            dom,
            cmd.as_ptr(),
            0,
            ptr::null_mut(),
            &mut nout,
            &mut out,
            &mut result,
            0,
        )
    };
    assert_eq!((rc, nout, out.is_null()), (0, 0, true), "{:?}", last_error());
    assert!(text(result).contains(r#""name":"mon""#));
    // SAFETY: the caller frees the result.
    unsafe { libc::free(result.cast()) };
    let mut fd: c_int = 0;
    // SAFETY: as above, with one descriptor.
    let rc = unsafe {
        virtEventsDomainQemuMonitorCommandWithFiles(dom, cmd.as_ptr(), 1, &mut fd, &mut nout, &mut out, &mut result, 0)
    };
    assert_eq!(rc, -1);
    assert_eq!(
        last_error(),
        (3, "this function is not supported by the connection driver: virDomainQemuMonitorCommandWithFiles".into())
    );

    let ping = CString::new(r#"{"execute":"guest-ping"}"#).unwrap();
    // SAFETY: a live domain and a C string.
    assert!(unsafe { virtEventsDomainQemuAgentCommand(dom, ping.as_ptr(), -1, 0) }.is_null());
    assert_eq!(last_error(), (74, "argument unsupported: QEMU guest agent is not configured".into()));
    // Paused, it is refused before (libvirt's agent check wants it running);
    // the pause is the domain's state as soon as virDomainSuspend returns.
    assert_eq!(virDomainSuspend(dom), 0, "{:?}", last_error());
    // SAFETY: as above.
    assert!(unsafe { virtEventsDomainQemuAgentCommand(dom, ping.as_ptr(), -1, 0) }.is_null());
    assert_eq!(last_error(), (55, "Requested operation is not valid: domain is not running".into()));
    assert!(monitor_command(dom, r#"{"execute":"query-status"}"#, 0).unwrap().contains(r#""status":"paused""#));
    assert_eq!(virDomainResume(dom), 0, "{:?}", last_error());
    assert!(virtEventsDomainQemuAttach(conn, 0, 0).is_null());
    assert_eq!(last_error(), (8, "pid_value in virDomainQemuAttach must not be zero".into()));
    assert!(virtEventsDomainQemuAttach(conn, 4242, 0).is_null());
    assert_eq!(
        last_error(),
        (3, "this function is not supported by the connection driver: virDomainQemuAttach".into())
    );

    // A read-only connection may not send commands.
    // SAFETY: valid C strings.
    let ro = unsafe { virConnectOpenReadOnly(uri.as_ptr()) };
    assert!(!ro.is_null(), "{:?}", last_error());
    let name = CString::new("mon").unwrap();
    // SAFETY: a valid connection and C string.
    let ro_dom = unsafe { virDomainLookupByName(ro, name.as_ptr()) };
    assert!(!ro_dom.is_null(), "{:?}", last_error());
    assert_eq!(
        monitor_command(ro_dom, r#"{"execute":"query-status"}"#, 0),
        Err((29, 0, "operation forbidden: read only access prevents virDomainQemuMonitorCommand".into()))
    );
    virDomainFree(ro_dom);
    virConnectClose(ro);

    assert_eq!(virDomainDestroy(dom), 0, "{:?}", last_error());
    assert_eq!(
        monitor_command(dom, r#"{"execute":"query-status"}"#, 0).map_err(|(code, _, _)| code),
        Err(42),
        "a transient domain that ended is gone (VIR_ERR_NO_DOMAIN)"
    );
    virDomainFree(dom);
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&work);
}
