//! Which daemon a URI names, and how to reach it: the remote forms
//! (`DRIVER+unix`, `DRIVER+tcp`), and the plain `qemu:///system|session`
//! that go to a daemon listening at libvirt's socket paths.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, ErrorDomain, Result};

/// libvirtd's TCP port.
const DEFAULT_TCP_PORT: u16 = 16509;

/// Where the daemon listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
    },
    /// A program whose standard input and output are the connection
    /// (`ext`).
    Command(Vec<String>),
    /// `ssh` running a proxy on the host, the same way.
    Ssh(Vec<String>),
}

impl Endpoint {
    /// Whether libvirt's client counts the transport secure
    /// (`virConnectIsSecure`): a local socket or ssh; not clear-text TCP,
    /// nor an `ext` program, which it cannot vouch for.
    pub fn is_secure(&self) -> bool {
        matches!(self, Endpoint::Unix(_) | Endpoint::Ssh(_))
    }
}

/// A URI routed to a daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub endpoint: Endpoint,
    /// The name sent in CONNECT_OPEN: the URI without transport, host and
    /// the client's own parameters; `None` asks the server for its default.
    pub name: Option<String>,
}

/// The query parameters the client consumes (libvirt's remote driver
/// strips them from the name it sends).
const CLIENT_PARAMETERS: [&str; 13] = [
    "name",
    "command",
    "socket",
    "auth",
    "netcat",
    "keyfile",
    "no_verify",
    "no_tty",
    "pkipath",
    "known_hosts",
    "sshauth",
    "mode",
    "proxy",
];

fn bad_uri(uri: &str, why: &str) -> Error {
    Error::new(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_REMOTE, Some(format!("{why} in URI '{uri}'")))
}

/// The parts of `scheme://[user@]host[:port]/path[?query]`.
struct Parts<'a> {
    scheme: &'a str,
    user: Option<&'a str>,
    host: &'a str,
    port: Option<&'a str>,
    path: &'a str,
    query: Vec<(&'a str, &'a str)>,
}

fn split(uri: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = uri.split_once("://")?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    let query = query.split('&').filter(|kv| !kv.is_empty()).map(|kv| kv.split_once('=').unwrap_or((kv, ""))).collect();
    Some(Parts { scheme, user, host, port, path, query })
}

/// The daemon `uri` names explicitly (`DRIVER+unix://` or `DRIVER+tcp://`),
/// `None` for a URI of another form.
pub fn explicit(uri: &str, read_only: bool) -> Result<Option<Target>> {
    let Some(parts) = split(uri) else { return Ok(None) };
    let Some((driver, transport)) = parts.scheme.split_once('+') else { return Ok(None) };
    if !matches!(driver, "qemu" | "test") {
        return Ok(None);
    }
    let param = |key: &str| parts.query.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let kept: Vec<String> =
        parts.query.iter().filter(|(k, _)| !CLIENT_PARAMETERS.contains(k)).map(|(k, v)| format!("{k}={v}")).collect();
    let mut name = format!("{driver}://{}", parts.path);
    if !kept.is_empty() {
        name = format!("{name}?{}", kept.join("&"));
    }
    let name = Some(param("name").map_or(name, str::to_string));
    let name = &name;
    let endpoint = match transport {
        "unix" => {
            if !parts.host.is_empty() {
                return Err(bad_uri(uri, "a unix socket URI has no host"));
            }
            let socket = match param("socket") {
                Some(path) => PathBuf::from(path),
                None => default_socket(driver, parts.path, false).ok_or_else(|| bad_uri(uri, "no socket path"))?,
            };
            Endpoint::Unix(socket)
        }
        "tcp" => {
            let port = match parts.port {
                None | Some("") => DEFAULT_TCP_PORT,
                Some(port) => port.parse().map_err(|_| bad_uri(uri, "invalid port"))?,
            };
            let host = if parts.host.is_empty() { "localhost" } else { parts.host };
            Endpoint::Tcp { host: host.to_string(), port }
        }
        "ext" => Endpoint::Command(vec![param("command")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad_uri(uri, "no command parameter"))?
            .to_string()]),
        "ssh" => {
            if parts.host.is_empty() {
                return Err(bad_uri(uri, "no host"));
            }
            let mut command = vec!["ssh".to_string()];
            if let Some(port) = parts.port.filter(|p| !p.is_empty()) {
                command.extend(["-p".to_string(), port.to_string()]);
            }
            if let Some(user) = parts.user {
                command.extend(["-l".to_string(), user.to_string()]);
            }
            if let Some(keyfile) = param("keyfile") {
                command.extend(["-i".to_string(), keyfile.to_string()]);
            }
            command.extend(["-T", "-e", "none"].map(str::to_string));
            if param("no_tty").is_some_and(|v| v != "0") {
                command.extend(["-o", "BatchMode=yes"].map(str::to_string));
            }
            command.extend(["--".to_string(), parts.host.to_string()]);
            command.push(proxy_script(
                name.as_deref().unwrap_or_default(),
                param("socket").map(str::to_string),
                driver,
                parts.path,
                read_only,
            ));
            Endpoint::Ssh(command)
        }
        _ => {
            return Err(Error::new(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_REMOTE,
                Some(format!(
                    "transport in URL not supported (should be tls|unix|ssh|ext|tcp|libssh2|libssh): {transport}"
                )),
            ))
        }
    };
    Ok(Some(Target { endpoint, name: name.clone() }))
}

/// Quotes `text` for a POSIX shell.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// What ssh runs on the host: libvirt's `virt-ssh-helper` for the URI when
/// the host has it (and no socket was named), else `nc` on the daemon's
/// socket there.
fn proxy_script(name: &str, socket: Option<String>, driver: &str, path: &str, read_only: bool) -> String {
    let socket_path = socket.clone().unwrap_or_else(|| {
        let ro = if read_only && path == "/system" { "-ro" } else { "" };
        format!("/var/run/libvirt/libvirt-sock{ro}")
    });
    let netcat = format!("exec nc -U {}", quoted(&socket_path));
    if socket.is_some() || driver.is_empty() {
        return format!("sh -c {}", quoted(&netcat));
    }
    let script = format!(
        "if command -v virt-ssh-helper >/dev/null 2>&1; then exec virt-ssh-helper {}{}; else {netcat}; fi",
        if read_only { "-r " } else { "" },
        quoted(name)
    );
    format!("sh -c {}", quoted(&script))
}

/// The directory of a session daemon's sockets.
fn session_dir() -> Option<PathBuf> {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Some(Path::new(&dir).join("libvirt")),
        None => std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/libvirt")),
    }
}

/// The sockets libvirt's "auto" mode tries for `driver` and `path`, in
/// order: the per-driver daemon's, then the monolithic one's; `-ro` for
/// read-only system connections.
fn candidates(driver: &str, path: &str, read_only: bool) -> Vec<PathBuf> {
    let (dir, ro) = match path {
        "/system" => (PathBuf::from("/var/run/libvirt"), if read_only { "-ro" } else { "" }),
        "/session" => match session_dir() {
            Some(dir) => (dir, ""),
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let mut names = Vec::new();
    if driver == "qemu" {
        names.push(format!("virtqemud-sock{ro}"));
    }
    names.push(format!("libvirt-sock{ro}"));
    names.into_iter().map(|name| dir.join(name)).collect()
}

fn default_socket(driver: &str, path: &str, read_only: bool) -> Option<PathBuf> {
    let candidates = candidates(driver, path, read_only);
    candidates.iter().find(|p| p.exists()).or(candidates.last()).cloned()
}

/// How `qemu:///system` and `qemu:///session` are routed
/// (`VIRT_EVENTS_REMOTE`): `auto` (a daemon when one listens, else
/// in-process), `never` or `always`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    Auto,
    Never,
    Always,
}

pub fn routing() -> Result<Routing> {
    match std::env::var("VIRT_EVENTS_REMOTE").as_deref() {
        Err(_) | Ok("") | Ok("auto") => Ok(Routing::Auto),
        Ok("never") => Ok(Routing::Never),
        Ok("always") => Ok(Routing::Always),
        Ok(other) => Err(Error::new(
            ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
            ErrorDomain::VIR_FROM_REMOTE,
            Some(format!("VIRT_EVENTS_REMOTE={other}: expected auto, never or always")),
        )),
    }
}

/// The daemon sockets `qemu:///system` or `qemu:///session` may go to, in
/// the order to try them; empty for other URIs.
pub fn local_daemon_sockets(uri: &str, read_only: bool) -> Vec<PathBuf> {
    match uri {
        "qemu:///system" => candidates("qemu", "/system", read_only),
        "qemu:///session" => candidates("qemu", "/session", read_only),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit_rw(uri: &str) -> Result<Option<Target>> {
        explicit(uri, false)
    }

    #[test]
    fn remote_forms() {
        let t = explicit_rw("qemu+unix:///session?socket=/tmp/s").unwrap().unwrap();
        assert_eq!(t, Target { endpoint: Endpoint::Unix("/tmp/s".into()), name: Some("qemu:///session".into()) });
        let t = explicit_rw("test+tcp://127.0.0.1:1234/default").unwrap().unwrap();
        assert_eq!(t.endpoint, Endpoint::Tcp { host: "127.0.0.1".into(), port: 1234 });
        assert!(!t.endpoint.is_secure());
        assert_eq!(t.name.as_deref(), Some("test:///default"));
        let t = explicit_rw("qemu+tcp://[::1]/system?keep=1&socket=x").unwrap().unwrap();
        assert_eq!(t.endpoint, Endpoint::Tcp { host: "::1".into(), port: 16509 });
        assert_eq!(t.name.as_deref(), Some("qemu:///system?keep=1"));
        assert_eq!(explicit_rw("qemu:///session").unwrap(), None);
        assert_eq!(explicit_rw("xen+tcp://h/").unwrap(), None);
        assert!(explicit_rw("qemu+tls://h/system").is_err());
        let t = explicit_rw("qemu+ext:///session?command=/bin/helper").unwrap().unwrap();
        assert_eq!(t.endpoint, Endpoint::Command(vec!["/bin/helper".into()]));
        assert!(!t.endpoint.is_secure());
        assert_eq!(t.name.as_deref(), Some("qemu:///session"));
        let t = explicit_rw("qemu+ssh://me@host:2222/system").unwrap().unwrap();
        assert!(t.endpoint.is_secure());
        let Endpoint::Ssh(args) = t.endpoint else { panic!() };
        assert_eq!(args[..9], ["ssh", "-p", "2222", "-l", "me", "-T", "-e", "none", "--"]);
        assert_eq!(args[9], "host");
        assert!(args[10].contains("virt-ssh-helper '\\''qemu:///system'\\''"), "{}", args[10]);
        assert!(args[10].contains("nc -U '\\''/var/run/libvirt/libvirt-sock'\\''"), "{}", args[10]);
        let system = local_daemon_sockets("qemu:///system", true);
        assert_eq!(system[0], PathBuf::from("/var/run/libvirt/virtqemud-sock-ro"));
        assert_eq!(system[1], PathBuf::from("/var/run/libvirt/libvirt-sock-ro"));
    }
}
