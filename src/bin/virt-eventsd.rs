//! virt-eventsd: serves the events of virt-events' in-process drivers over
//! libvirt's RPC protocol, so that virsh, libvirt-python, go-libvirt and any
//! libvirt client can watch them from another process or host.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use virt_events::daemon::{register_event_loop, termination_signals, DefaultLoop, Server, ServerConfig};

const USAGE: &str = "\
Usage: virt-eventsd [OPTIONS]

Serves the events (and domain lookups and queries) of virt-events' drivers
over libvirt's RPC protocol. Runs in the foreground, logs to stderr and prints
one line on stdout when it accepts clients; SIGTERM or SIGINT closes the
clients, removes the sockets and exits 0.

Options:
  --uri URI                 a driver to serve: qemu:///session, qemu:///system,
                            qemu:///embed?root=DIR, test:///default; repeat to
                            serve several (a client opening any other name gets
                            the first). Default: qemu:///session (qemu:///system
                            as root)
  --socket PATH             the read-write unix socket (mode 0600). Default:
                            $XDG_RUNTIME_DIR/virt-events/libvirt-sock
                            (/run/virt-events/libvirt-sock as root)
  --socket-group GROUP      give GROUP (a name or number) access to the
                            read-write socket (mode 0660)
  --socket-ro PATH          a read-only unix socket (mode 0666)
  --listen ADDR:PORT        also accept TCP clients in clear text with no
                            authentication (like libvirtd's auth_tcp=none):
                            for trusted networks only. Port 0 picks one; the
                            ready line says which
  --keepalive-interval SECS seconds of client silence before a ping (5)
  --keepalive-count N       pings without an answer before the client is
                            dropped (5)
  --max-queue BYTES         unread output a client may accumulate before it
                            is disconnected (16777216)
  --help                    this text

Clients connect with: virsh -c 'qemu+unix:///session?socket=PATH' event --all --loop
";

/// Whether the daemon runs as root (the owner of its own /proc entry).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn default_socket() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !is_root() => PathBuf::from(dir).join("virt-events/libvirt-sock"),
        _ => PathBuf::from("/run/virt-events/libvirt-sock"),
    }
}

/// A group's number, from its number or its name in /etc/group.
fn group_id(group: &str) -> Result<u32, String> {
    if let Ok(gid) = group.parse() {
        return Ok(gid);
    }
    let groups = std::fs::read_to_string("/etc/group").map_err(|e| format!("cannot read /etc/group: {e}"))?;
    groups
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let gid = fields.nth(1)?.parse().ok()?;
            (name == group).then_some(gid)
        })
        .next()
        .ok_or_else(|| format!("no group {group}"))
}

fn parse(args: &[String]) -> Result<Option<ServerConfig>, String> {
    let mut config = ServerConfig::new(vec![], default_socket());
    let mut explicit_socket = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--uri" => config.uris.push(value("--uri")?),
            "--socket" => {
                config.socket = PathBuf::from(value("--socket")?);
                explicit_socket = true;
            }
            "--socket-group" => config.socket_group = Some(group_id(&value("--socket-group")?)?),
            "--socket-ro" => config.socket_ro = Some(PathBuf::from(value("--socket-ro")?)),
            "--listen" => {
                let addr = value("--listen")?;
                config.listen = Some(addr.parse::<SocketAddr>().map_err(|e| format!("--listen {addr}: {e}"))?);
            }
            "--keepalive-interval" => {
                let secs: f64 = value("--keepalive-interval")?.parse().map_err(|e| format!("{e}"))?;
                if !(secs > 0.0 && secs < 86400.0) {
                    return Err("--keepalive-interval must be positive".into());
                }
                config.keepalive_interval = Duration::from_secs_f64(secs);
            }
            "--keepalive-count" => {
                config.keepalive_count = value("--keepalive-count")?.parse().map_err(|e| format!("{e}"))?
            }
            "--max-queue" => config.max_queued_bytes = value("--max-queue")?.parse().map_err(|e| format!("{e}"))?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if config.uris.is_empty() {
        config.uris.push(if is_root() { "qemu:///system" } else { "qemu:///session" }.to_string());
    }
    if !explicit_socket {
        if let Some(dir) = config.socket.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
    }
    Ok(Some(config))
}

fn run(args: &[String]) -> Result<(), String> {
    let Some(config) = parse(args)? else {
        print!("{USAGE}");
        return Ok(());
    };
    let stop = termination_signals().map_err(|e| format!("cannot watch signals: {e}"))?;
    // The drivers flush their events from this loop, which this thread
    // runs; the server's own thread only moves bytes.
    let event_loop = Arc::new(DefaultLoop::new().map_err(|e| format!("cannot create the event loop: {e}"))?);
    register_event_loop(event_loop.clone());
    std::thread::Builder::new()
        .name("event-loop".into())
        .spawn(move || loop {
            if let Err(e) = event_loop.run_once() {
                eprintln!("virt-eventsd: event loop: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .map_err(|e| e.to_string())?;
    let uris = config.uris.join(", ");
    let server = Server::bind(config)?;
    println!("virt-eventsd: serving {uris} on {}", server.addresses().join(", "));
    server.run(&stop).map_err(|e| format!("poll failed: {e}"))?;
    eprintln!("virt-eventsd: stopped");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("virt-eventsd: {message}");
            ExitCode::FAILURE
        }
    }
}
