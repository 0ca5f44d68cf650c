//! The server side of libvirt's RPC protocol, as `virt-eventsd` runs it:
//! one thread multiplexes the listeners and every client with non-blocking
//! I/O; the drivers' events reach it from the event-loop thread through an
//! outbox and a wake-up socket.
//!
//! Each client's session mirrors libvirtd's: AUTH_LIST offers no
//! authentication, CONNECT_OPEN binds the client to one served driver,
//! registrations are the driver's own (so callback IDs are the driver's),
//! and all of them are dropped on CONNECT_CLOSE or EOF. Keepalive starts
//! only for a client that asked for feature 10. A call whose arguments do
//! not decode, or that goes to a program the daemon does not serve, gets
//! libvirtd's error reply and the connection goes on. A client whose output
//! queue passes its bound, or whose packet's length is out of bounds, is
//! disconnected with a log line; nobody else notices.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Decodes a call's arguments as `$ty`, or returns from the dispatching
/// function with libvirtd's answer to arguments that do not decode.
macro_rules! decode_or_refuse {
    ($header:expr, $body:expr, $ty:ty) => {
        match decode_leading::<$ty>($body) {
            Ok(args) => args,
            Err(e) => return Some(undecodable($header, e)),
        }
    };
}

#[path = "server_ops.rs"]
mod ops;
#[path = "server_snapshots.rs"]
mod snapshots;
#[path = "server_stats.rs"]
mod stats;

use super::convert::{self, domain_identity, nonnull_domain};
use super::listings;
use super::objects::{self, Args, Call, Ret, Wire};
use super::packet::{self, encode_packet, kind, status, FrameReader, Header, Packet};
use super::protocol::*;
use super::stream::Stream;
use super::xdr::{decode_leading, Array, Decoder, XdrError};
use crate::driver::{Counted, Driver, Lookup, Named};
use crate::error::{Error, ErrorCode, ErrorDomain};
use crate::event::state::{ConnectionId, EventCallback, Subscription};
use crate::event::{Event, EventClass, TargetKey};
use crate::sys;

const POLLIN: i16 = libc::POLLIN;
const POLLOUT: i16 = libc::POLLOUT;
/// Errors and hang-ups, reported whether asked for or not.
const POLLERR_HUP: i16 = libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;

/// What a daemon serves and how.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The drivers' URIs; a client whose CONNECT_OPEN names none of them
    /// gets the first.
    pub uris: Vec<String>,
    pub socket: PathBuf,
    pub socket_ro: Option<PathBuf>,
    /// A group given access to the read-write socket (mode 0660).
    pub socket_group: Option<u32>,
    pub listen: Option<SocketAddr>,
    /// libvirtd's `keepalive_interval` and `keepalive_count`.
    pub keepalive_interval: Duration,
    pub keepalive_count: u32,
    /// Bytes a client may leave unread before it is disconnected.
    pub max_queued_bytes: usize,
    pub max_clients: usize,
}

impl ServerConfig {
    pub fn new(uris: Vec<String>, socket: PathBuf) -> ServerConfig {
        ServerConfig {
            uris,
            socket,
            socket_ro: None,
            socket_group: None,
            listen: None,
            keepalive_interval: Duration::from_secs(5),
            keepalive_count: 5,
            max_queued_bytes: 16 << 20,
            max_clients: 1024,
        }
    }
}

fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("virt-eventsd: {message}");
}

struct Served {
    uri: String,
    driver: Arc<dyn Driver>,
}

/// Event packets on their way from the event-loop thread to the I/O thread.
struct Outbox {
    queue: Mutex<Vec<(u64, Vec<u8>)>>,
    wake: UnixStream,
}

impl Outbox {
    fn post(&self, client: u64, packet: Vec<u8>) {
        let mut queue = self.queue.lock();
        queue.push((client, packet));
        if queue.len() == 1 {
            // A full socket already holds a wake-up.
            let _ = (&self.wake).write(&[1]);
        }
    }
}

/// A registration on a driver's event state that forwards to one client.
struct Forwarder {
    client: u64,
    legacy: bool,
    /// Set right after the registration returns; held during it, so that
    /// an event flushed at once waits for the ID.
    callback_id: Mutex<i32>,
    outbox: Arc<Outbox>,
}

impl EventCallback for Forwarder {
    /// One function per kind, as libvirtd registers: a client cannot
    /// register the same event twice.
    fn identity(&self) -> usize {
        usize::from(self.legacy)
    }

    fn deliver(&self, event: &Event) {
        let callback_id = *self.callback_id.lock();
        if let Some(packet) = convert::event_packet(event, callback_id, self.legacy) {
            self.outbox.post(self.client, packet);
        }
    }

    fn release(&self) {}
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RegistrationKind {
    /// 316, 313, 368, 374, 380: messages carry the callback ID.
    Callback,
    /// 105: legacy lifecycle messages.
    LegacyRegister,
    /// 167 for this event ID: legacy messages.
    LegacyAny(i32),
    /// QEMU program 4.
    QemuMonitor,
}

struct Registration {
    class: EventClass,
    kind: RegistrationKind,
    callback_id: i32,
}

struct Session {
    served: usize,
    connection: ConnectionId,
    read_only: bool,
    registrations: Vec<Registration>,
}

struct Client {
    id: u64,
    stream: Stream,
    socket_read_only: bool,
    reader: FrameReader,
    out: Vec<u8>,
    out_sent: usize,
    session: Option<Session>,
    keepalive: bool,
    last_inbound: Instant,
    last_ping: Option<Instant>,
}

impl Client {
    fn queued(&self) -> usize {
        self.out.len() - self.out_sent
    }

    fn queue(&mut self, packet: &[u8]) {
        self.out.extend_from_slice(packet);
    }
}

enum Listener {
    Unix { listener: UnixListener, path: PathBuf, read_only: bool },
    Tcp(TcpListener),
}

impl Listener {
    fn fd(&self) -> RawFd {
        match self {
            Listener::Unix { listener, .. } => listener.as_raw_fd(),
            Listener::Tcp(listener) => listener.as_raw_fd(),
        }
    }
}

/// The answer to one call.
enum Outcome {
    Reply(Box<dyn Body>),
    Error(Error),
    /// The worker thread will post the reply.
    Deferred,
}

impl From<Error> for Outcome {
    fn from(error: Error) -> Outcome {
        Outcome::Error(error)
    }
}

fn ok<T: Body + 'static>(ret: T) -> Outcome {
    Outcome::Reply(Box::new(ret))
}

fn rpc_error(code: ErrorCode, message: String) -> Error {
    Error::new(code, ErrorDomain::VIR_FROM_RPC, Some(message))
}

fn remote_error(error: &Error) -> RemoteError {
    RemoteError {
        code: error.code as i32,
        domain: error.domain as i32,
        message: Some(error.message.clone()),
        // VIR_ERR_ERROR
        level: 2,
        dom: None,
        str1: error.str1.clone(),
        str2: error.str2.clone(),
        str3: None,
        int1: error.int1,
        int2: -1,
        net: None,
    }
}

pub struct Server {
    config: ServerConfig,
    served: Vec<Served>,
    listeners: Vec<Listener>,
    clients: BTreeMap<u64, Client>,
    next_client: u64,
    outbox: Arc<Outbox>,
    wake: UnixStream,
    /// Runs the calls that may wait for a hypervisor, in order.
    worker: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Connection IDs of the daemon's clients, far from those the library
/// hands out to in-process connections.
static NEXT_CONNECTION: AtomicUsize = AtomicUsize::new(1 << 32);

impl Server {
    /// Opens the drivers and binds the sockets. The caller must have
    /// registered an event loop that runs, or no event is ever flushed.
    pub fn bind(config: ServerConfig) -> Result<Server, String> {
        if config.uris.is_empty() {
            return Err("no URI to serve".into());
        }
        let mut served = vec![];
        for uri in &config.uris {
            let (uri, driver) =
                crate::driver::open(Some(uri)).map_err(|e| format!("cannot open {uri}: {}", e.message))?;
            served.push(Served { uri, driver });
        }
        let mut listeners = vec![bind_unix(&config.socket, false, config.socket_group)?];
        if let Some(path) = &config.socket_ro {
            listeners.push(bind_unix(path, true, None)?);
        }
        if let Some(addr) = config.listen {
            let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            listener.set_nonblocking(true).map_err(|e| e.to_string())?;
            listeners.push(Listener::Tcp(listener));
        }
        let (wake, wake_write) = UnixStream::pair().map_err(|e| e.to_string())?;
        wake.set_nonblocking(true).map_err(|e| e.to_string())?;
        wake_write.set_nonblocking(true).map_err(|e| e.to_string())?;
        let outbox = Arc::new(Outbox { queue: Mutex::new(vec![]), wake: wake_write });
        let (worker, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("rpc-worker".into())
            .spawn(move || jobs.into_iter().for_each(|job| job()))
            .map_err(|e| format!("cannot start the worker thread: {e}"))?;
        Ok(Server { config, served, listeners, clients: BTreeMap::new(), next_client: 1, outbox, wake, worker })
    }

    /// What the daemon listens on, for its ready line.
    pub fn addresses(&self) -> Vec<String> {
        self.listeners
            .iter()
            .map(|l| match l {
                Listener::Unix { path, read_only, .. } => {
                    format!("{}{}", path.display(), if *read_only { " (read-only)" } else { "" })
                }
                Listener::Tcp(listener) => {
                    listener.local_addr().map(|a| format!("tcp {a}")).unwrap_or_else(|e| format!("tcp ({e})"))
                }
            })
            .collect()
    }

    /// Serves until `stop` becomes readable, then closes every client and
    /// removes the sockets.
    pub fn run(mut self, stop: &UnixStream) -> io::Result<()> {
        loop {
            let watch = |fd: RawFd, events: i16| libc::pollfd { fd, events, revents: 0 };
            let mut fds = vec![watch(stop.as_raw_fd(), POLLIN), watch(self.wake.as_raw_fd(), POLLIN)];
            fds.extend(self.listeners.iter().map(|l| watch(l.fd(), POLLIN)));
            let ids: Vec<u64> = self.clients.keys().copied().collect();
            for client in self.clients.values() {
                let events = if client.queued() > 0 { POLLIN | POLLOUT } else { POLLIN };
                fds.push(watch(client.stream.fd(), events));
            }
            match sys::poll(&mut fds, self.keepalive_timeout()) {
                Ok(_) => {}
                // A signal: SIGTERM and SIGINT make `stop` readable.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if fds[0].revents != 0 {
                break;
            }
            if fds[1].revents != 0 {
                let mut sink = [0u8; 64];
                while matches!((&self.wake).read(&mut sink), Ok(n) if n > 0) {}
            }
            self.deliver_events();
            for index in 0..self.listeners.len() {
                if fds[2 + index].revents != 0 {
                    self.accept(index);
                }
            }
            let first_client = 2 + self.listeners.len();
            for (id, fd) in ids.iter().zip(&fds[first_client..]) {
                if fd.revents & (POLLIN | POLLERR_HUP) != 0 {
                    self.read_from(*id);
                }
                if fd.revents & POLLOUT != 0 {
                    self.write_to(*id);
                }
            }
            self.keepalive_tick();
        }
        log(format_args!("terminating: closing {} client(s)", self.clients.len()));
        let ids: Vec<u64> = self.clients.keys().copied().collect();
        for id in ids {
            self.close(id, "daemon shutting down");
        }
        for listener in &self.listeners {
            if let Listener::Unix { path, .. } = listener {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }

    fn accept(&mut self, index: usize) {
        loop {
            let accepted = match &self.listeners[index] {
                Listener::Unix { listener, path, read_only } => listener.accept().map(|(s, _)| {
                    let who = match sys::peer_credentials(&s) {
                        Ok(c) => format!("pid {} uid {}", c.pid, c.uid),
                        Err(e) => format!("unknown peer ({e})"),
                    };
                    (Stream::Unix(s), format!("{} ({who})", path.display()), *read_only)
                }),
                Listener::Tcp(listener) => {
                    listener.accept().map(|(s, addr)| (Stream::Tcp(s), format!("tcp from {addr}"), false))
                }
            };
            let (stream, origin, socket_read_only) = match accepted {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log(format_args!("accept failed: {e}"));
                    return;
                }
            };
            if self.clients.len() >= self.config.max_clients {
                log(format_args!("refusing a client on {origin}: {} clients already", self.clients.len()));
                continue;
            }
            if let Err(e) = stream.set_nonblocking() {
                log(format_args!("dropping a client on {origin}: {e}"));
                continue;
            }
            let id = self.next_client;
            self.next_client += 1;
            log(format_args!("client {id} connected on {origin}"));
            self.clients.insert(
                id,
                Client {
                    id,
                    stream,
                    socket_read_only,
                    reader: FrameReader::new(),
                    out: vec![],
                    out_sent: 0,
                    session: None,
                    keepalive: false,
                    last_inbound: Instant::now(),
                    last_ping: None,
                },
            );
        }
    }

    fn read_from(&mut self, id: u64) {
        let mut buf = vec![0u8; 65536];
        // Bounded per wake-up, so that one busy client cannot starve others.
        for _ in 0..16 {
            let Some(client) = self.clients.get_mut(&id) else { return };
            match client.stream.read(&mut buf) {
                Ok(0) => return self.close(id, "end of file"),
                Ok(n) => {
                    client.reader.push(&buf[..n]);
                    client.last_inbound = Instant::now();
                    if let Err(reason) = self.process_packets(id) {
                        return self.close(id, &reason);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.close(id, &format!("read error: {e}")),
            }
        }
    }

    fn process_packets(&mut self, id: u64) -> Result<(), String> {
        loop {
            let Some(client) = self.clients.get_mut(&id) else { return Ok(()) };
            let packet = match client.reader.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(()),
                Err(e) => return Err(format!("malformed packet: {e}")),
            };
            self.handle_packet(id, packet)?;
            self.check_queue(id)?;
        }
    }

    /// As libvirtd: a call to a program it does not serve, or with a status
    /// other than OK, gets an error reply; a message other than a call or a
    /// keepalive PING is ignored. Only a call with file descriptors, which
    /// the daemon does not take, closes the connection.
    fn handle_packet(&mut self, id: u64, packet: Packet) -> Result<(), String> {
        let header = packet.header;
        let served = matches!(header.program, REMOTE_PROGRAM | QEMU_PROGRAM) && header.version == PROTOCOL_VERSION;
        let refusal = match header.kind {
            kind::CALL if !served => {
                Some(format!("Cannot find program {} version {}", header.program as i32, header.version as i32))
            }
            kind::CALL if header.status != status::OK => Some(format!("Unexpected message status {}", header.status)),
            kind::CALL => None,
            kind::CALL_WITH_FDS => return Err("a call with file descriptors".into()),
            _ => {
                // Keepalive's PING gets a PONG, whatever its body holds.
                let ping = (header.program, header.version, header.kind, header.procedure)
                    == (KEEPALIVE_PROGRAM, PROTOCOL_VERSION, kind::MESSAGE, keepalive::PING);
                if ping {
                    let pong = encode_packet(&Header::message(KEEPALIVE_PROGRAM, keepalive::PONG, 0), &());
                    self.clients.get_mut(&id).expect("client").queue(&pong);
                }
                return Ok(());
            }
        };
        let mut client = self.clients.remove(&id).expect("client");
        let outcome = match refusal {
            Some(message) => rpc_error(ErrorCode::VIR_ERR_RPC, message).into(),
            None => self.dispatch(&mut client, &header, &packet.body),
        };
        match outcome {
            Outcome::Reply(ret) => client.queue(&encode_packet(&header.reply(status::OK), ret.as_ref())),
            Outcome::Error(error) => client.queue(&packet::encode_error_reply(&header, &remote_error(&error))),
            Outcome::Deferred => {}
        }
        self.clients.insert(id, client);
        Ok(())
    }

    fn check_queue(&mut self, id: u64) -> Result<(), String> {
        let Some(client) = self.clients.get(&id) else { return Ok(()) };
        if client.queued() > self.config.max_queued_bytes {
            return Err(format!(
                "client is not reading: {} bytes queued, more than {}",
                client.queued(),
                self.config.max_queued_bytes
            ));
        }
        Ok(())
    }

    fn write_to(&mut self, id: u64) {
        let Some(client) = self.clients.get_mut(&id) else { return };
        while client.queued() > 0 {
            match client.stream.write(&client.out[client.out_sent..]) {
                Ok(n) => client.out_sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.close(id, &format!("write error: {e}")),
            }
        }
        if client.queued() == 0 {
            client.out.clear();
            client.out_sent = 0;
        } else if client.out_sent > 1 << 20 {
            client.out.drain(..client.out_sent);
            client.out_sent = 0;
        }
    }

    /// Moves the events the drivers produced into their clients' queues,
    /// in the order they were produced.
    fn deliver_events(&mut self) {
        let events = std::mem::take(&mut *self.outbox.queue.lock());
        let mut touched = vec![];
        for (id, packet) in events {
            if let Some(client) = self.clients.get_mut(&id) {
                client.queue(&packet);
                touched.push(id);
            }
        }
        touched.dedup();
        for id in touched {
            if let Err(reason) = self.check_queue(id) {
                self.close(id, &reason);
            } else {
                self.write_to(id);
            }
        }
    }

    /// Milliseconds until the next keepalive action is due, -1 if none.
    fn keepalive_timeout(&self) -> i32 {
        let interval = self.config.keepalive_interval;
        let dead_after = interval * (self.config.keepalive_count + 1);
        let now = Instant::now();
        let next = self
            .clients
            .values()
            .filter(|c| c.keepalive)
            .map(|c| {
                let last = c.last_ping.map_or(c.last_inbound, |ping| ping.max(c.last_inbound));
                (last + interval).min(c.last_inbound + dead_after)
            })
            .min();
        match next {
            None => -1,
            Some(due) => due.saturating_duration_since(now).as_millis().min(60_000) as i32 + 1,
        }
    }

    fn keepalive_tick(&mut self) {
        let now = Instant::now();
        let interval = self.config.keepalive_interval;
        let dead_after = interval * (self.config.keepalive_count + 1);
        let mut dead = vec![];
        for client in self.clients.values_mut().filter(|c| c.keepalive) {
            let silent = now.duration_since(client.last_inbound);
            if silent >= dead_after {
                dead.push((client.id, silent));
                continue;
            }
            let since_ping = client.last_ping.map_or(silent, |t| now.duration_since(t));
            if silent >= interval && since_ping >= interval {
                let ping = encode_packet(&Header::message(KEEPALIVE_PROGRAM, keepalive::PING, 0), &());
                client.queue(&ping);
                client.last_ping = Some(now);
            }
        }
        for (id, silent) in dead {
            self.close(id, &format!("no keepalive response for {:.1} s", silent.as_secs_f64()));
        }
        let pending: Vec<u64> = self.clients.values().filter(|c| c.queued() > 0).map(|c| c.id).collect();
        for id in pending {
            self.write_to(id);
        }
    }

    /// Disconnects a client; its registrations go with it.
    fn close(&mut self, id: u64, reason: &str) {
        let Some(mut client) = self.clients.remove(&id) else { return };
        self.end_session(&mut client);
        log(format_args!("client {id} disconnected: {reason}"));
    }

    fn end_session(&self, client: &mut Client) {
        let Some(session) = client.session.take() else { return };
        let driver = &self.served[session.served].driver;
        for registration in session.registrations {
            let removed = match registration.kind {
                RegistrationKind::QemuMonitor => {
                    driver.deregister_qemu_monitor(session.connection, registration.callback_id)
                }
                _ => driver.events().deregister(session.connection, registration.callback_id),
            };
            if let Err(e) = removed {
                log(format_args!("client {}: {}", client.id, e.message));
            }
        }
    }

    fn dispatch(&self, client: &mut Client, header: &Header, body: &[u8]) -> Outcome {
        let Some(procedure) = procedure(header.program, header.procedure) else {
            return self.unserved(header);
        };
        if procedure.is_event_message() {
            // Sent by servers only: nothing dispatches it.
            return self.unserved(header);
        }
        // Arguments are decoded before anything else is checked, as
        // libvirtd does: arguments that do not decode get its error reply,
        // open or not, and the connection goes on.
        if let Err(e) = (procedure.args_lead)(body) {
            return undecodable(header, e);
        }
        self.dispatch_known(client, header, body).unwrap_or_else(|| self.unserved(header))
    }

    /// A procedure the daemon does not serve: libvirt's own calls are "not
    /// supported" by the function they stand for, an authentication step
    /// the connection was not offered fails, and anything else (a number
    /// libvirt 9.0 does not have, a message only servers send) is unknown.
    fn unserved(&self, header: &Header) -> Outcome {
        if let Some((function, domain)) = function_of(header.program, header.procedure) {
            return Error::no_support(domain, function).into();
        }
        if header.program == REMOTE_PROGRAM && is_auth_step(header.procedure) {
            return Error::auth_failed().into();
        }
        rpc_error(ErrorCode::VIR_ERR_RPC, format!("unknown procedure: {}", header.procedure)).into()
    }

    /// `None` for a declared procedure the daemon does not serve.
    fn dispatch_known(&self, client: &mut Client, header: &Header, body: &[u8]) -> Option<Outcome> {
        macro_rules! args {
            ($ty:ty) => {
                decode_or_refuse!(header, body, $ty)
            };
        }
        if header.program == QEMU_PROGRAM {
            return self.dispatch_qemu(client, header, body);
        }
        use remote::*;
        // Calls allowed before CONNECT_OPEN.
        match header.procedure {
            AUTH_LIST => {
                args!(());
                return Some(ok(AuthListRet { types: Array(vec![0]) }));
            }
            CONNECT_SUPPORTS_FEATURE => {
                let feature = args!(SupportsFeatureArgs).feature;
                // VIR_DRV_FEATURE_PROGRAM_KEEPALIVE is answered before the
                // connection is open; it starts the server's pings.
                if feature == 10 {
                    client.keepalive = true;
                    client.last_inbound = Instant::now();
                    return Some(ok(SupportsFeatureRet { supported: 1 }));
                }
                if client.session.is_none() {
                    return Some(not_open());
                }
                // TYPED_PARAM_STRING (every driver here takes string
                // parameters, as libvirt's test and QEMU drivers do: a
                // client asks before it sends or asks for typed
                // parameters), REMOTE_EVENT_CALLBACK and REMOTE_CLOSE_CALLBACK.
                return Some(ok(SupportsFeatureRet { supported: i32::from(matches!(feature, 8 | 14 | 15)) }));
            }
            CONNECT_OPEN => {
                let args = args!(ConnectOpenArgs);
                if client.session.is_some() {
                    return Some(rpc_error(ErrorCode::VIR_ERR_INTERNAL_ERROR, "connection already open".into()).into());
                }
                let served = self.served.iter().position(|s| Some(&s.uri) == args.name.as_ref()).unwrap_or(0);
                let connection = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed) as ConnectionId;
                let read_only = client.socket_read_only || args.flags & 1 != 0;
                client.session = Some(Session { served, connection, read_only, registrations: vec![] });
                log(format_args!(
                    "client {} opened {}{}",
                    client.id,
                    self.served[served].uri,
                    if read_only { " read-only" } else { "" }
                ));
                return Some(ok(()));
            }
            _ => {}
        }
        let Some(session) = client.session.as_mut() else {
            return Some(not_open());
        };
        let served = &self.served[session.served];
        let driver = &served.driver;
        let dom_of = |dom: &NonnullDomain| domain_identity(dom);
        let modify_object = |session: &Session, class: EventClass, function: &str| -> Result<(), Error> {
            if session.read_only {
                return Err(Error::read_only(class.descriptor().error_domain, function));
            }
            Ok(())
        };
        let modify = |session: &Session, function: &str| modify_object(session, EventClass::Domain, function);
        let reply = |result: crate::error::Result<Box<dyn Body>>| match result {
            Ok(ret) => Outcome::Reply(ret),
            Err(e) => Outcome::Error(e),
        };
        if let Some((class, call, flags)) = objects::call_of(header.procedure) {
            let args = match objects::decode_args(class, call, flags, &mut Decoder::new(body)) {
                Ok(args) => args,
                Err(e) => return Some(undecodable(header, e)),
            };
            let function = function_name(REMOTE_PROGRAM, header.procedure).unwrap_or_default();
            if matches!(call, Call::DefineXml | Call::CreateXml | Call::Op(_)) {
                if let Err(e) = modify_object(session, class, function) {
                    return Some(e.into());
                }
                // A change may wait for its object: the worker runs it.
                let driver = driver.clone();
                return Some(self.defer(client.id, header, move || serve_object(driver.as_ref(), class, call, args)));
            }
            return Some(reply(serve_object(driver.as_ref(), class, call, args)));
        }
        let outcome = match header.procedure {
            CONNECT_CLOSE => {
                args!(());
                self.end_session(client);
                ok(())
            }
            CONNECT_GET_URI => {
                args!(());
                ok(GetUriRet { uri: served.uri.clone() })
            }
            CONNECT_NUM_OF_DOMAINS => {
                args!(());
                reply(count(driver.as_ref(), Counted::RunningDomains, header.procedure))
            }
            NODE_NUM_OF_DEVICES => {
                let args = args!(NodeNumOfDevicesArgs);
                let devices = Named::NodeDevices { cap: args.cap.as_deref(), flags: args.flags };
                reply(count(driver.as_ref(), Counted::Names(devices), header.procedure))
            }
            NODE_DEVICE_NUM_OF_CAPS => {
                let name = args!(LookupByNameArgs).name;
                reply(count(driver.as_ref(), Counted::Names(Named::DeviceCaps(&name)), header.procedure))
            }
            CONNECT_LIST_DOMAINS => {
                let maxids = args!(ListIdsArgs).maxids;
                reply(list_ids(driver.as_ref(), maxids))
            }
            NODE_LIST_DEVICES => {
                let args = args!(NodeListDevicesArgs);
                let devices = Named::NodeDevices { cap: args.cap.as_deref(), flags: args.flags };
                reply(list_names(driver.as_ref(), devices, header.procedure, args.maxnames))
            }
            NODE_DEVICE_LIST_CAPS => {
                let args = args!(NodeDeviceListCapsArgs);
                reply(list_names(driver.as_ref(), Named::DeviceCaps(&args.name), header.procedure, args.maxnames))
            }
            plain if listings::plain_of(plain).is_some() => {
                let (named, is_count) = listings::plain_of(plain)?;
                if is_count {
                    args!(());
                    reply(count(driver.as_ref(), Counted::Names(named), plain))
                } else {
                    let maxnames = args!(ListNamesArgs).maxnames;
                    reply(list_names(driver.as_ref(), named, plain, maxnames))
                }
            }
            CONNECT_IS_SECURE => {
                args!(());
                reply(driver.is_secure().map(|secure| boxed(IntRet { value: i32::from(secure) })))
            }
            CONNECT_IS_ENCRYPTED => {
                args!(());
                reply(driver.is_encrypted().map(|encrypted| boxed(IntRet { value: i32::from(encrypted) })))
            }
            CONNECT_REGISTER_CLOSE_CALLBACK | CONNECT_UNREGISTER_CLOSE_CALLBACK => {
                args!(());
                ok(())
            }
            DOMAIN_LOOKUP_BY_NAME => {
                let args = args!(LookupByNameArgs);
                reply(driver.lookup_by_name(&args.name).map(|d| boxed(DomainArg { dom: nonnull_domain(&d) })))
            }
            DOMAIN_LOOKUP_BY_ID => {
                let args = args!(LookupByIdArgs);
                reply(driver.lookup_by_id(args.id).map(|d| boxed(DomainArg { dom: nonnull_domain(&d) })))
            }
            DOMAIN_LOOKUP_BY_UUID => {
                let args = args!(LookupByUuidArgs);
                reply(driver.lookup_by_uuid(&args.uuid).map(|d| boxed(DomainArg { dom: nonnull_domain(&d) })))
            }
            CONNECT_LIST_ALL_DOMAINS => {
                let args = args!(ListAllDomainsArgs);
                reply(driver.list_all(args.flags).map(|list| {
                    let count = list.len() as u32;
                    let domains =
                        if args.need_results != 0 { list.iter().map(nonnull_domain).collect() } else { vec![] };
                    boxed(ListAllDomainsRet { domains: Array(domains), ret: count })
                }))
            }
            DOMAIN_GET_INFO => {
                let dom = dom_of(&args!(DomainArg).dom);
                reply(driver.info(&dom).map(|i| {
                    boxed(DomainGetInfoRet {
                        state: u32::from(i.state),
                        max_mem: i.max_memory_kib,
                        memory: i.memory_kib,
                        nr_virt_cpu: u32::from(i.vcpus),
                        cpu_time: i.cpu_time_ns,
                    })
                }))
            }
            DOMAIN_GET_STATE => {
                let args = args!(DomainFlagsArgs);
                reply(
                    driver
                        .state(&dom_of(&args.dom), args.flags)
                        .map(|s| boxed(DomainGetStateRet { state: s.state, reason: s.reason })),
                )
            }
            DOMAIN_GET_XML_DESC => {
                let args = args!(DomainFlagsArgs);
                if let Err(e) = crate::driver::check_xml_desc_access(session.read_only, args.flags) {
                    return Some(e.into());
                }
                reply(driver.xml_desc(&dom_of(&args.dom), args.flags).map(|xml| boxed(DomainGetXmlDescRet { xml })))
            }
            // What changes the driver may wait for QEMU (a launch, a
            // shutdown): it runs on the worker thread, whose reply follows.
            DOMAIN_SUSPEND | DOMAIN_RESUME | DOMAIN_CREATE | DOMAIN_DESTROY | DOMAIN_SHUTDOWN | DOMAIN_UNDEFINE => {
                let dom = dom_of(&args!(DomainArg).dom);
                let name = function_name(REMOTE_PROGRAM, header.procedure).unwrap_or_default();
                if let Err(e) = modify(session, name) {
                    return Some(e.into());
                }
                let (driver, procedure) = (driver.clone(), header.procedure);
                self.defer(client.id, header, move || {
                    match procedure {
                        DOMAIN_SUSPEND => driver.suspend(&dom),
                        DOMAIN_RESUME => driver.resume(&dom),
                        DOMAIN_CREATE => driver.create(&dom),
                        DOMAIN_DESTROY => driver.destroy(&dom),
                        DOMAIN_SHUTDOWN => driver.shutdown(&dom),
                        _ => driver.undefine(&dom),
                    }
                    .map(|()| boxed(()))
                })
            }
            DOMAIN_REBOOT => {
                let args = args!(DomainFlagsArgs);
                if let Err(e) = modify(session, "virDomainReboot") {
                    return Some(e.into());
                }
                let driver = driver.clone();
                self.defer(client.id, header, move || driver.reboot(&dom_of(&args.dom), args.flags).map(|()| boxed(())))
            }
            DOMAIN_DEFINE_XML | DOMAIN_CREATE_XML => {
                let (function, xml, flags) = if header.procedure == DOMAIN_DEFINE_XML {
                    ("virDomainDefineXML", args!(DefineXmlArgs).xml, None)
                } else {
                    let args = args!(CreateXmlArgs);
                    ("virDomainCreateXML", args.xml_desc, Some(args.flags))
                };
                if let Err(e) = modify(session, function) {
                    return Some(e.into());
                }
                let driver = driver.clone();
                self.defer(client.id, header, move || {
                    let dom = match flags {
                        None => driver.define_xml(&xml),
                        Some(flags) => driver.create_xml(&xml, flags),
                    };
                    dom.map(|d| boxed(DomainArg { dom: nonnull_domain(&d) }))
                })
            }
            CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY
            | CONNECT_NETWORK_EVENT_REGISTER_ANY
            | CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY
            | CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY
            | CONNECT_SECRET_EVENT_REGISTER_ANY => {
                // libvirt keys node devices by name, everything else by UUID.
                let (class, event_id, key) = match header.procedure {
                    CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
                        let args = args!(DomainEventCallbackRegisterArgs);
                        (EventClass::Domain, args.event_id, args.dom.map(|d| TargetKey::Uuid(d.uuid)))
                    }
                    CONNECT_NETWORK_EVENT_REGISTER_ANY => {
                        let args = args!(NetworkEventRegisterArgs);
                        (EventClass::Network, args.event_id, args.net.map(|n| TargetKey::Uuid(n.uuid)))
                    }
                    CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY => {
                        let args = args!(StoragePoolEventRegisterArgs);
                        (EventClass::StoragePool, args.event_id, args.pool.map(|p| TargetKey::Uuid(p.uuid)))
                    }
                    CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY => {
                        let args = args!(NodeDeviceEventRegisterArgs);
                        (EventClass::NodeDevice, args.event_id, args.dev.map(|d| TargetKey::Name(d.name.into())))
                    }
                    _ => {
                        let args = args!(SecretEventRegisterArgs);
                        (EventClass::Secret, args.event_id, args.secret.map(|s| TargetKey::Uuid(s.uuid)))
                    }
                };
                match refuse_event_id(class, event_id) {
                    Some(refused) => refused,
                    None => self.register(client.id, session, class, event_id, key, RegistrationKind::Callback),
                }
            }
            CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY
            | CONNECT_NETWORK_EVENT_DEREGISTER_ANY
            | CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY
            | CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY
            | CONNECT_SECRET_EVENT_DEREGISTER_ANY => {
                let callback_id = args!(CallbackIdArg).callback_id;
                let (class, what) = match header.procedure {
                    CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY => (EventClass::Domain, "domain"),
                    CONNECT_NETWORK_EVENT_DEREGISTER_ANY => (EventClass::Network, "network"),
                    CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY => (EventClass::StoragePool, "storage pool"),
                    CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY => (EventClass::NodeDevice, "node device"),
                    _ => (EventClass::Secret, "secret"),
                };
                let found = |r: &Registration| {
                    r.class == class && r.kind == RegistrationKind::Callback && r.callback_id == callback_id
                };
                let missing = format!("{what} event callback {callback_id} not registered");
                self.deregister(session, found, missing)
            }
            CONNECT_DOMAIN_EVENT_REGISTER => {
                args!(());
                let outcome =
                    self.register(client.id, session, EventClass::Domain, 0, None, RegistrationKind::LegacyRegister);
                match outcome {
                    Outcome::Reply(_) => ok(LegacyRegisteredRet { cb_registered: 1 }),
                    other => other,
                }
            }
            CONNECT_DOMAIN_EVENT_DEREGISTER => {
                args!(());
                let found = |r: &Registration| r.kind == RegistrationKind::LegacyRegister;
                match self.deregister(session, found, "domain event callback not registered".into()) {
                    Outcome::Reply(_) => ok(LegacyRegisteredRet { cb_registered: 0 }),
                    other => other,
                }
            }
            CONNECT_DOMAIN_EVENT_REGISTER_ANY => {
                let event_id = args!(LegacyRegisterAnyArgs).event_id;
                // The legacy messages exist for IDs 0-15 only.
                if !(0..16).contains(&event_id) {
                    return Some(unsupported_event_id("", event_id));
                }
                let kind = RegistrationKind::LegacyAny(event_id);
                match self.register(client.id, session, EventClass::Domain, event_id, None, kind) {
                    Outcome::Reply(_) => ok(()),
                    other => other,
                }
            }
            CONNECT_DOMAIN_EVENT_DEREGISTER_ANY => {
                let event_id = args!(LegacyRegisterAnyArgs).event_id;
                let found = |r: &Registration| r.kind == RegistrationKind::LegacyAny(event_id);
                self.deregister(session, found, format!("domain event {event_id} not registered"))
            }
            _ => {
                let ops = self.dispatch_domain_ops(client.id, header, body, session.read_only, driver);
                let (id, read_only) = (client.id, session.read_only);
                return ops.or_else(|| self.dispatch_snapshots(id, header, body, read_only, driver)).or_else(|| {
                    stats::dispatch(&ops::Ops { server: self, client: id, header, read_only, driver }, body)
                });
            }
        };
        Some(outcome)
    }

    fn dispatch_qemu(&self, client: &mut Client, header: &Header, body: &[u8]) -> Option<Outcome> {
        if !matches!(
            header.procedure,
            qemu::CONNECT_DOMAIN_MONITOR_EVENT_REGISTER
                | qemu::CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER
                | qemu::DOMAIN_MONITOR_COMMAND
                | qemu::DOMAIN_MONITOR_COMMAND_WITH_FILES
                | qemu::DOMAIN_AGENT_COMMAND
        ) {
            return None;
        }
        let Some(session) = client.session.as_mut() else {
            return Some(not_open());
        };
        let driver = &self.served[session.served].driver;
        if matches!(header.procedure, qemu::DOMAIN_MONITOR_COMMAND | qemu::DOMAIN_MONITOR_COMMAND_WITH_FILES) {
            let args = match decode_leading::<QemuMonitorCommandArgs>(body) {
                Ok(args) => args,
                Err(e) => return Some(undecodable(header, e)),
            };
            let function = function_name(QEMU_PROGRAM, header.procedure).unwrap_or_default();
            if session.read_only {
                return Some(Error::read_only(ErrorDomain::VIR_FROM_NONE, function).into());
            }
            // It waits for QEMU's reply: on the worker thread.
            let driver = driver.clone();
            return Some(self.defer(client.id, header, move || {
                let dom = domain_identity(&args.dom);
                let result = driver.qemu_monitor_command(&dom, &args.cmd, args.flags, function)?;
                Ok(boxed(QemuMonitorCommandRet { result }))
            }));
        }
        if header.procedure == qemu::DOMAIN_AGENT_COMMAND {
            let args = match decode_leading::<QemuAgentCommandArgs>(body) {
                Ok(args) => args,
                Err(e) => return Some(undecodable(header, e)),
            };
            if session.read_only {
                return Some(Error::read_only(ErrorDomain::VIR_FROM_NONE, "virDomainQemuAgentCommand").into());
            }
            let driver = driver.clone();
            return Some(self.defer(client.id, header, move || {
                let dom = domain_identity(&args.dom);
                let result = driver.qemu_agent_command(&dom, &args.cmd, args.timeout, args.flags)?;
                Ok(boxed(QemuAgentCommandRet { result: Some(result) }))
            }));
        }
        if header.procedure == qemu::CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER {
            let callback_id = match decode_leading::<CallbackIdArg>(body) {
                Ok(args) => args.callback_id,
                Err(e) => return Some(undecodable(header, e)),
            };
            let index = session
                .registrations
                .iter()
                .position(|r| r.kind == RegistrationKind::QemuMonitor && r.callback_id == callback_id);
            let Some(index) = index else {
                let missing = format!("qemu monitor event callback {callback_id} not registered");
                return Some(rpc_error(ErrorCode::VIR_ERR_RPC, missing).into());
            };
            session.registrations.remove(index);
            return Some(match driver.deregister_qemu_monitor(session.connection, callback_id) {
                Ok(()) => ok(()),
                Err(e) => e.into(),
            });
        }
        let args = match decode_leading::<QemuMonitorRegisterArgs>(body) {
            Ok(args) => args,
            Err(e) => return Some(undecodable(header, e)),
        };
        let mut subscription = Subscription::new(session.connection, EventClass::QemuMonitor, 0);
        subscription.target = args.dom.map(|d| TargetKey::Uuid(d.uuid));
        let forwarder = self.forwarder(client.id, false);
        let mut id_slot = forwarder.callback_id.lock();
        let registered =
            driver.register_qemu_monitor(subscription, args.event.as_deref(), args.flags, forwarder.clone());
        Some(match registered {
            Ok(callback_id) => {
                *id_slot = callback_id;
                session.registrations.push(Registration {
                    class: EventClass::QemuMonitor,
                    kind: RegistrationKind::QemuMonitor,
                    callback_id,
                });
                ok(CallbackIdArg { callback_id })
            }
            Err(e) => e.into(),
        })
    }

    /// Runs `call` on the worker thread; its reply reaches the client
    /// through the outbox, so the I/O thread never waits for a driver.
    fn defer(
        &self,
        client: u64,
        header: &Header,
        call: impl FnOnce() -> crate::error::Result<Box<dyn Body>> + Send + 'static,
    ) -> Outcome {
        let (outbox, header) = (self.outbox.clone(), *header);
        let job = Box::new(move || {
            let packet = match call() {
                Ok(ret) => encode_packet(&header.reply(status::OK), ret.as_ref()),
                Err(e) => packet::encode_error_reply(&header, &remote_error(&e)),
            };
            outbox.post(client, packet);
        });
        match self.worker.send(job) {
            Ok(()) => Outcome::Deferred,
            Err(_) => rpc_error(ErrorCode::VIR_ERR_INTERNAL_ERROR, "the worker thread is gone".into()).into(),
        }
    }

    fn forwarder(&self, client: u64, legacy: bool) -> Arc<Forwarder> {
        Arc::new(Forwarder { client, legacy, callback_id: Mutex::new(-1), outbox: self.outbox.clone() })
    }

    fn register(
        &self,
        client: u64,
        session: &mut Session,
        class: EventClass,
        event_id: i32,
        key: Option<TargetKey>,
        kind: RegistrationKind,
    ) -> Outcome {
        let legacy = kind != RegistrationKind::Callback;
        let mut subscription = Subscription::new(session.connection, class, event_id);
        subscription.target = key;
        subscription.legacy = kind == RegistrationKind::LegacyRegister;
        let forwarder = self.forwarder(client, legacy);
        let mut id_slot = forwarder.callback_id.lock();
        let events = self.served[session.served].driver.events();
        match events.register(subscription, forwarder.clone()) {
            Ok(callback_id) => {
                *id_slot = callback_id;
                session.registrations.push(Registration { class, kind, callback_id });
                ok(CallbackIdArg { callback_id })
            }
            Err(e) => e.into(),
        }
    }

    fn deregister(&self, session: &mut Session, found: impl Fn(&Registration) -> bool, missing: String) -> Outcome {
        let Some(index) = session.registrations.iter().position(found) else {
            return rpc_error(ErrorCode::VIR_ERR_RPC, missing).into();
        };
        let registration = session.registrations.remove(index);
        match self.served[session.served].driver.events().deregister(session.connection, registration.callback_id) {
            Ok(()) => ok(()),
            Err(e) => e.into(),
        }
    }
}

/// The count `procedure` answers.
fn count(driver: &dyn Driver, what: Counted<'_>, procedure: i32) -> crate::error::Result<Box<dyn Body>> {
    let function = function_name(REMOTE_PROGRAM, procedure).unwrap_or_default();
    let found = driver.count(what, function)?;
    Ok(boxed(IntRet { value: i32::try_from(found).unwrap_or(i32::MAX) }))
}

/// libvirtd's check of a listing's `maxnames` (or `maxids`) against its
/// limit, then the public function's check that it is not negative.
fn check_max(procedure: i32, (argument, max): (&str, i32), limit: listings::Limit) -> crate::error::Result<()> {
    if i64::from(max) > i64::from(limit.max) {
        return Err(rpc_error(ErrorCode::VIR_ERR_RPC, format!("{argument} > {}", limit.name)));
    }
    if max < 0 {
        let (function, domain) = function_of(REMOTE_PROGRAM, procedure).unwrap_or(("", ErrorDomain::VIR_FROM_NONE));
        return Err(Error::negative_arg(function, argument).in_domain(domain));
    }
    Ok(())
}

/// The first `maxnames` names of the listing `procedure`.
fn list_names(
    driver: &dyn Driver,
    what: Named<'_>,
    procedure: i32,
    maxnames: i32,
) -> crate::error::Result<Box<dyn Body>> {
    let (_, _, limit) = listings::procedures(what);
    check_max(procedure, ("maxnames", maxnames), limit)?;
    let function = function_name(REMOTE_PROGRAM, procedure).unwrap_or_default();
    let names = driver.names(what, maxnames, function)?;
    Ok(match what {
        Named::NodeDevices { .. } | Named::DeviceCaps(_) => boxed(DeviceNamesRet { names: Array(names) }),
        _ => boxed(ListNamesRet { names: Array(names) }),
    })
}

/// The IDs of the first `maxids` running domains.
fn list_ids(driver: &dyn Driver, maxids: i32) -> crate::error::Result<Box<dyn Body>> {
    let (procedure, limit) = listings::IDS;
    check_max(procedure, ("maxids", maxids), limit)?;
    Ok(boxed(ListIdsRet { ids: Array(driver.running_ids(maxids)?) }))
}

/// Runs a network, pool or node device call on `driver`.
fn serve_object(driver: &dyn Driver, class: EventClass, call: Call, args: Args) -> crate::error::Result<Box<dyn Body>> {
    let ret = match (call, args) {
        (Call::LookupByName, Args::Name(name)) => Ret::Object(driver.object_lookup(class, Lookup::Name(&name))?),
        (Call::LookupByUuid, Args::Uuid(uuid)) => Ret::Object(driver.object_lookup(class, Lookup::Uuid(uuid))?),
        (Call::ListAll, Args::List { need_results, flags }) => {
            let found = driver.object_list(class, flags)?;
            let count = found.len() as u32;
            Ret::List(if need_results { found } else { vec![] }, count)
        }
        (Call::DefineXml, Args::Xml { xml, flags }) => {
            Ret::Object(driver.object_define_xml(class, &xml, flags.unwrap_or(0))?)
        }
        (Call::CreateXml, Args::Xml { xml, flags }) => {
            Ret::Object(driver.object_create_xml(class, &xml, flags.unwrap_or(0))?)
        }
        (Call::Op(op), Args::Object { object, flags }) => {
            // What the driver reported while succeeding stays here, as
            // with libvirtd.
            driver.object_op(class, &object, op, flags.unwrap_or(0))?;
            Ret::Nothing
        }
        (Call::Query(query), Args::Object { object, .. }) => Ret::Bool(driver.object_query(class, &object, query)?),
        (Call::XmlDesc, Args::Object { object, flags }) => {
            Ret::Text(driver.object_xml_desc(class, &object, flags.unwrap_or(0))?)
        }
        (Call::Parent, Args::Object { object, .. }) => Ret::Parent(Some(driver.node_device_parent(&object.name)?)),
        (call, args) => {
            return Err(Error::internal(ErrorDomain::VIR_FROM_RPC, format!("{call:?} cannot take {args:?}")));
        }
    };
    Ok(Box::new(Wire { class, body: ret }))
}

fn boxed<T: Body + 'static>(ret: T) -> Box<dyn Body> {
    Box::new(ret)
}

/// libvirtd's error reply to a call whose arguments do not decode; the
/// daemon's log says what was wrong with them.
fn undecodable(header: &Header, e: XdrError) -> Outcome {
    log(format_args!("undecodable arguments of procedure {} of program {:#x}: {e}", header.procedure, header.program));
    rpc_error(ErrorCode::VIR_ERR_RPC, "Unable to decode message payload".into()).into()
}

fn not_open() -> Outcome {
    rpc_error(ErrorCode::VIR_ERR_INTERNAL_ERROR, "connection not open".into()).into()
}

fn unsupported_event_id(class: &str, event_id: i32) -> Outcome {
    rpc_error(ErrorCode::VIR_ERR_INTERNAL_ERROR, format!("unsupported {class}event ID {event_id}")).into()
}

/// libvirtd's refusal of an event ID `class` does not have.
fn refuse_event_id(class: EventClass, event_id: i32) -> Option<Outcome> {
    if (0..class.descriptor().event_id_count).contains(&event_id) {
        return None;
    }
    let what = match class {
        EventClass::Network => "network ",
        EventClass::StoragePool => "storage pool ",
        EventClass::NodeDevice => "node device ",
        EventClass::Secret => "secret ",
        EventClass::Domain | EventClass::QemuMonitor => "",
    };
    Some(unsupported_event_id(what, event_id))
}

/// Binds a unix socket, replacing a stale one but never a live one. The
/// read-write socket is the owner's only, or also `group`'s.
fn bind_unix(path: &PathBuf, read_only: bool, group: Option<u32>) -> Result<Listener, String> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!("{} exists and is not a socket", path.display()));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(format!("{} is in use by another daemon", path.display()));
        }
        std::fs::remove_file(path).map_err(|e| format!("cannot remove stale {}: {e}", path.display()))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| format!("cannot bind {}: {e}", path.display()))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(|e| format!("cannot chown {}: {e}", path.display()))?;
    }
    // Read-write for the owner (and the group given) only; the read-only
    // socket for everyone.
    let mode = match (read_only, group) {
        (true, _) => 0o666,
        (false, Some(_)) => 0o660,
        (false, None) => 0o600,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(Listener::Unix { listener, path: path.clone(), read_only })
}
