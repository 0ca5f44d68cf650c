//! What the virt-eventsd tests share: a daemon started in a temporary
//! directory and stopped by PID, a real libvirtd to compare it with, and a
//! minimal raw client.
#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use std::time::Instant;

use virt_events::testing::packet::{encode_packet, kind, status, FrameReader, Header, Packet};
use virt_events::testing::protocol::{self, Body, RemoteError, REMOTE_PROGRAM};
use virt_events::testing::xdr::{decode_all, Xdr};

const LIBVIRTD: &str = "/usr/sbin/libvirtd";
/// A session libvirtd, stopped by PID when dropped.
pub struct Libvirtd {
    child: Child,
    pub dir: PathBuf,
    pub socket: PathBuf,
}

impl Libvirtd {
    pub fn start(name: &str) -> Libvirtd {
        assert!(
            Path::new(LIBVIRTD).exists(),
            "{LIBVIRTD} is missing: install libvirt-daemon (tests/install-deps.sh does)"
        );
        let dir = std::env::temp_dir().join(format!("virt-events-libvirtd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (run, home) = (dir.join("run"), dir.join("home"));
        for d in [&run, &home] {
            std::fs::create_dir_all(d).unwrap();
        }
        let mut command = if is_root() {
            // Unprivileged: the session daemon of the user nobody.
            for d in [&dir, &run, &home] {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
                let status = Command::new("chown").args(["nobody:nogroup"]).arg(d).status().unwrap();
                assert!(status.success());
            }
            let mut command = Command::new("setpriv");
            command.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", LIBVIRTD]);
            command
        } else {
            Command::new(LIBVIRTD)
        };
        command
            .env_clear()
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("libvirtd.log")).unwrap());
        let child = command.current_dir(&dir).spawn().expect("libvirtd starts");
        let socket = run.join("libvirt/libvirt-sock");
        let daemon = Libvirtd { child, dir, socket };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !daemon.socket.exists() {
            assert!(Instant::now() < deadline, "no libvirtd socket; its log:\n{}", daemon.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("libvirtd.log")).unwrap_or_default()
    }

    pub fn uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.socket.display())
    }
}

impl Drop for Libvirtd {
    /// A transient or running guest would outlive the daemon: destroyed first.
    fn drop(&mut self) {
        let uri = format!("qemu+unix:///session?socket={}", self.socket.display());
        let _ = Command::new("virsh")
            .args(["-c", &uri, "destroy", "remote1"])
            .env("LIBVIRT_AUTOSTART", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // SAFETY: kill(2) on the daemon this test started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn is_root() -> bool {
    // SAFETY: getuid(2) cannot fail and takes no arguments.
    unsafe { libc::getuid() == 0 }
}

pub struct Daemon {
    pub child: Child,
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub socket_ro: PathBuf,
    /// The TCP port, when asked for.
    pub port: Option<u16>,
    stderr: Option<std::thread::JoinHandle<()>>,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Daemon {
    /// Starts `virt-eventsd` on a fresh temporary directory with `extra`
    /// options, and waits for its ready line.
    pub fn start(name: &str, extra: &[&str]) -> Daemon {
        let dir = std::env::temp_dir().join(format!("virt-eventsd-daemon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("sock");
        let socket_ro = dir.join("sock-ro");
        let mut child = Command::new(env!("CARGO_BIN_EXE_virt-eventsd"))
            .arg("--socket")
            .arg(&socket)
            .arg("--socket-ro")
            .arg(&socket_ro)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("virt-eventsd starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let ready = rx.recv_timeout(Duration::from_secs(20)).expect("a ready line");
        assert!(ready.starts_with("virt-eventsd: serving "), "ready line: {ready:?}");
        let port = ready.split("tcp 127.0.0.1:").nth(1).map(|p| p.trim().parse().unwrap());
        Daemon { child, dir, socket, socket_ro, port, stderr: Some(stderr), log }
    }

    /// Waits until the daemon has logged `needle` at least `count` times.
    pub fn wait_for_log(&self, needle: &str, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.log.lock().unwrap().matches(needle).count() < count {
            assert!(std::time::Instant::now() < deadline, "no {needle:?} in the log:\n{}", self.log.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn uri(&self) -> String {
        format!("qemu+unix:///session?socket={}", self.socket.display())
    }

    pub fn uri_ro(&self) -> String {
        format!("qemu+unix:///session?socket={}", self.socket_ro.display())
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM by PID; returns the exit status and everything it logged.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let (status, log) = self.terminate();
        (status, log)
    }

    fn terminate(&mut self) -> (std::process::ExitStatus, String) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let status = wait_timeout(&mut self.child, Duration::from_secs(10)).unwrap_or_else(|| {
            let _ = self.child.kill();
            self.child.wait().unwrap()
        });
        if let Some(reader) = self.stderr.take() {
            reader.join().unwrap();
        }
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.stderr.is_some() {
            self.terminate();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A hand-driven protocol client over a unix socket.
pub struct RawClient {
    pub stream: UnixStream,
    reader: FrameReader,
    serial: u32,
}

impl RawClient {
    pub fn connect(path: &std::path::Path) -> RawClient {
        let stream = UnixStream::connect(path).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        RawClient { stream, reader: FrameReader::new(), serial: 0 }
    }

    pub fn send_call(&mut self, program: u32, procedure: i32, args: &dyn Body) -> u32 {
        let serial = self.serial;
        self.serial += 1;
        let header = Header { program, version: 1, procedure, kind: kind::CALL, serial, status: status::OK };
        self.stream.write_all(&encode_packet(&header, args)).unwrap();
        serial
    }

    /// The next packet, or `None` at EOF or after the read timeout.
    pub fn next_packet(&mut self) -> Option<Packet> {
        loop {
            if let Ok(Some(packet)) = self.reader.next_packet() {
                return Some(packet);
            }
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.reader.push(&buf[..n]),
            }
        }
    }

    /// Calls and waits for the reply, skipping event and keepalive messages.
    pub fn call<R: Xdr>(&mut self, program: u32, procedure: i32, args: &dyn Body) -> Result<R, Box<RemoteError>> {
        let serial = self.send_call(program, procedure, args);
        loop {
            let packet = self.next_packet().expect("a reply");
            if packet.header.kind != kind::REPLY || packet.header.serial != serial {
                continue;
            }
            assert_eq!(packet.header.procedure, procedure);
            return if packet.header.status == status::OK {
                Ok(decode_all::<R>(&packet.body).expect("a well-formed reply"))
            } else {
                Err(Box::new(decode_all::<RemoteError>(&packet.body).expect("a well-formed error")))
            };
        }
    }

    /// AUTH_LIST then CONNECT_OPEN, as go-libvirt does (no SUPPORTS_FEATURE).
    pub fn open(&mut self, name: Option<&str>, flags: u32) {
        let auth: protocol::AuthListRet = self.call(REMOTE_PROGRAM, protocol::remote::AUTH_LIST, &()).unwrap();
        assert_eq!(auth.types.0, [0]);
        let args = protocol::ConnectOpenArgs { name: name.map(str::to_string), flags };
        self.call::<()>(REMOTE_PROGRAM, protocol::remote::CONNECT_OPEN, &args).unwrap();
    }

    pub fn register_domain_event(&mut self, event_id: i32) -> i32 {
        let args = protocol::DomainEventCallbackRegisterArgs { event_id, dom: None };
        let ret: protocol::CallbackIdArg =
            self.call(REMOTE_PROGRAM, protocol::remote::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, &args).unwrap();
        ret.callback_id
    }

    pub fn lookup(&mut self, name: &str) -> protocol::NonnullDomain {
        let args = protocol::LookupByNameArgs { name: name.into() };
        let ret: protocol::DomainArg =
            self.call(REMOTE_PROGRAM, protocol::remote::DOMAIN_LOOKUP_BY_NAME, &args).unwrap();
        ret.dom
    }

    /// Whether the server closed the connection (EOF within the timeout).
    pub fn closed_by_server(&mut self, within: Duration) -> bool {
        self.stream.set_read_timeout(Some(within)).unwrap();
        let mut buf = [0u8; 65536];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        }
    }
}

/// A client running in the background, its output in a file.
pub struct Background {
    child: Child,
    output: PathBuf,
}

impl Background {
    pub fn start(command: &mut Command, output: PathBuf) -> Background {
        let file = std::fs::File::create(&output).unwrap();
        let child = command
            .env("LIBVIRT_AUTOSTART", "0")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("client starts");
        Background { child, output }
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    pub fn wait_for(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.text().matches(needle).count() < count {
            assert!(Instant::now() < deadline, "no {needle:?} in:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for it to exit by itself, successfully; its whole output.
    pub fn finish(mut self) -> String {
        let status = wait_timeout(&mut self.child, Duration::from_secs(60));
        assert!(status.is_some_and(|s| s.success()), "{status:?}:\n{}", self.text());
        self.text()
    }

    /// SIGINT by PID, then its whole output.
    pub fn interrupt(mut self) -> (i32, String) {
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let status = wait_timeout(&mut self.child, Duration::from_secs(10)).unwrap_or_else(|| {
            let _ = self.child.kill();
            self.child.wait().unwrap()
        });
        (status.code().unwrap_or(-1), self.text())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A unix socket in front of a daemon's: it passes every byte both ways
/// and records the procedure number of each call a client sends, so that
/// a test can compare what two clients put on the wire.
pub struct Recorder {
    pub socket: PathBuf,
    calls: std::sync::Arc<std::sync::Mutex<Vec<i32>>>,
}

impl Recorder {
    /// Listens at `socket`, forwarding each connection to `upstream`.
    pub fn start(upstream: &std::path::Path, socket: PathBuf) -> Recorder {
        let listener = std::os::unix::net::UnixListener::bind(&socket).expect("the recorder's socket");
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (upstream, record) = (upstream.to_path_buf(), calls.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let server = UnixStream::connect(&upstream).expect("the daemon's socket");
                let (record, mut to_client, from_server) =
                    (record.clone(), client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut &from_server, &mut to_client);
                    let _ = to_client.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || Self::pass_calls(client, server, &record));
            }
        });
        Recorder { socket, calls }
    }

    fn pass_calls(mut client: UnixStream, mut server: UnixStream, record: &std::sync::Mutex<Vec<i32>>) {
        let mut reader = FrameReader::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = match client.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            reader.push(&buf[..n]);
            while let Ok(Some(packet)) = reader.next_packet() {
                if packet.header.kind == kind::CALL && packet.header.program == REMOTE_PROGRAM {
                    record.lock().unwrap().push(packet.header.procedure);
                }
            }
            if server.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = server.shutdown(std::net::Shutdown::Both);
    }

    /// The procedures called since the last time, in order.
    pub fn take(&self) -> Vec<i32> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}
