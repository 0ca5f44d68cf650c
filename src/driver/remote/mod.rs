//! The remote driver: a connection to a libvirt daemon (a real libvirtd or
//! `virt-eventsd`) over libvirt's RPC protocol, as libvirt's own remote
//! driver speaks it. Calls go over the wire; the server's event messages are
//! queued on this connection's event state, so that they are dispatched
//! exactly as the in-process drivers' events are.

mod events;
pub mod uri;

use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::abi::common::virConnectCloseReason as CloseReason;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::state::{ConnectionId, EventCallback, EventState, Subscription};
use crate::event::{DomainIdentity, Event, EventClass, ObjectIdentity, TargetKey};
use crate::eventloop;
use crate::rpc::client::{Client, ClientHandler, Stream};
use crate::rpc::convert::{domain_identity, nonnull_domain};
use crate::rpc::listings;
use crate::rpc::objects::{self, Args, Call, Wire};
use crate::rpc::packet::Packet;
use crate::rpc::protocol::*;
use crate::rpc::xdr::{Array, Decoder, Xdr, XdrResult};
use crate::uuid::Uuid;

use super::{Counted, DomainInfo, DomainState, Done, Driver, HandleId, Lookup, Named, NodeInfo, ObjectOp, ObjectQuery};

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
const FEATURE_KEEPALIVE: i32 = 10;
/// `VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK`.
const FEATURE_EVENT_CALLBACK: i32 = 14;
/// `VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK`.
const FEATURE_CLOSE_CALLBACK: i32 = 15;
/// CONNECT_OPEN's flags as libvirt's client sends them: read-only, and
/// "non-root user" (the daemon honours only read-only).
const OPEN_READ_ONLY: u32 = 1;
const OPEN_USER: u32 = 2;
/// `REMOTE_AUTH_*`.
const AUTH_NONE: i32 = 0;
const AUTH_POLKIT: i32 = 2;
/// The remote ID of registrations made without callback IDs (legacy
/// procedures), and of the messages they receive.
const LEGACY_REMOTE_ID: i32 = -1;

/// The application's close callback, as the driver sees it.
pub trait CloseCallback: Send + Sync {
    /// What makes two registrations "the same callback" (the function address).
    fn identity(&self) -> usize;
    /// The connection closed for `reason` (`virConnectCloseReason`); run on
    /// the application's event loop.
    fn closed(&self, reason: i32);
}

/// A remote connection's single close callback.
#[derive(Default)]
pub struct CloseNotifier {
    slot: Arc<Mutex<CloseSlot>>,
}

/// As libvirt keeps it: the callback runs once, then lets go of its
/// connection and its opaque (`freecb`), but stays registered (so that
/// registering another fails and unregistering it still asks the server).
#[derive(Default)]
enum CloseSlot {
    #[default]
    Empty,
    Armed(Arc<dyn CloseCallback>),
    Fired {
        identity: usize,
    },
}

impl CloseSlot {
    fn identity(&self) -> Option<usize> {
        match self {
            CloseSlot::Empty => None,
            CloseSlot::Armed(callback) => Some(callback.identity()),
            CloseSlot::Fired { identity } => Some(*identity),
        }
    }
}

impl CloseNotifier {
    fn check_free(&self) -> Result<()> {
        if self.slot.lock().identity().is_some() {
            return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_NONE, "A close callback is already registered"));
        }
        Ok(())
    }

    fn check_registered(&self, identity: usize) -> Result<()> {
        if self.slot.lock().identity() != Some(identity) {
            return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_NONE, "A different callback was requested"));
        }
        Ok(())
    }

    fn register(&self, callback: Arc<dyn CloseCallback>) -> Result<()> {
        self.check_free()?;
        *self.slot.lock() = CloseSlot::Armed(callback);
        Ok(())
    }

    fn unregister(&self, identity: usize) -> Result<()> {
        self.check_registered(identity)?;
        let callback = std::mem::take(&mut *self.slot.lock());
        drop(callback);
        Ok(())
    }

    /// Runs the callback for `reason` from the application's event loop (it
    /// is application code: never on the I/O thread), then lets it go.
    fn fire(&self, reason: CloseReason) {
        let armed = match &*self.slot.lock() {
            CloseSlot::Armed(callback) => Some(callback.clone()),
            CloseSlot::Empty | CloseSlot::Fired { .. } => None,
        };
        let Some(callback) = armed else { return };
        let Some(event_loop) = eventloop::current() else {
            eprintln!("libvirt: RPC warning : no event loop to run the close callback on");
            return;
        };
        let remover = event_loop.clone();
        let reason = reason as i32;
        let slot = Arc::downgrade(&self.slot);
        let mut pending = Some(callback);
        let once = Box::new(move |timer| {
            let Some(callback) = pending.take() else { return };
            remover.remove_timeout(timer);
            callback.closed(reason);
            let released = slot.upgrade().and_then(|slot| {
                let mut slot = slot.lock();
                let armed = matches!(&*slot, CloseSlot::Armed(armed) if Arc::ptr_eq(armed, &callback));
                armed.then(|| std::mem::replace(&mut *slot, CloseSlot::Fired { identity: callback.identity() }))
            });
            // With no lock held: its free function runs, and its reference
            // on the connection may be the last.
            drop(released);
            drop(callback);
        });
        if event_loop.add_timeout(0, once).is_err() {
            eprintln!("libvirt: RPC warning : the event loop refused the close callback's timer");
        }
    }
}

/// What local registrations share one server registration.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    class: EventClass,
    event_id: i32,
    target: Option<TargetKey>,
    /// Raw monitor registrations are never shared: the server filters them
    /// by event name; this is the local callback ID.
    unshared: Option<i32>,
}

struct ServerRegistration {
    key: Key,
    remote_id: i32,
    locals: usize,
}

struct LocalRegistration {
    id: i32,
    key: Key,
    /// The function of a `virConnectDomainEventRegister` registration.
    legacy_identity: Option<usize>,
}

#[derive(Default)]
struct Registrations {
    server: Vec<ServerRegistration>,
    local: Vec<LocalRegistration>,
    /// A server registration is being made: its first events may arrive
    /// before its reply is recorded.
    registering: bool,
    /// Events for callback IDs not known yet, while `registering`.
    held: Vec<(i32, Event)>,
}

impl Registrations {
    /// Whether a server registration `remote_id` is for `event`'s class
    /// and event ID.
    ///
    /// The event's key is worked out once, before the search: inside it,
    /// the optimiser hoisted the read of an object event's payload tag out
    /// of the loop and branched on it for every event, and for a domain
    /// event those bytes were never written (valgrind's "conditional jump
    /// depends on uninitialised value").
    fn knows(&self, remote_id: i32, event: &Event) -> bool {
        let key = (event.class(), event.event_id());
        self.server.iter().any(|r| r.remote_id == remote_id && (r.key.class, r.key.event_id) == key)
    }

    /// Ends a registration: the held events it was for are queued, the
    /// others dropped.
    fn registered(&mut self, events: &EventState) {
        self.registering = false;
        for (remote_id, event) in std::mem::take(&mut self.held) {
            if self.knows(remote_id, &event) {
                events.queue_remote(event, Some(remote_id));
            } else {
                unknown_callback(remote_id, &event);
            }
        }
    }
}

fn unknown_callback(remote_id: i32, event: &Event) {
    eprintln!(
        "libvirt: RPC warning : event ID {} of class {:?} for unknown callback ID {remote_id} dropped",
        event.event_id(),
        event.class()
    );
}

/// What the I/O thread hands messages and the connection's end to.
struct Receiver {
    events: Arc<EventState>,
    registrations: Mutex<Registrations>,
    close: CloseNotifier,
}

impl ClientHandler for Receiver {
    fn message(&self, packet: Packet) {
        let (program, procedure) = (packet.header.program, packet.header.procedure);
        match events::decode(&packet) {
            Ok((remote_id, event)) => {
                let remote_id = remote_id.unwrap_or(LEGACY_REMOTE_ID);
                let mut registrations = self.registrations.lock();
                if registrations.knows(remote_id, &event) {
                    self.events.queue_remote(event, Some(remote_id));
                } else if registrations.registering {
                    registrations.held.push((remote_id, event));
                } else {
                    unknown_callback(remote_id, &event);
                }
            }
            Err(events::NotAnEvent::UnknownProcedure) => {
                eprintln!(
                    "libvirt: RPC error : No event expected with procedure {procedure:#x} of program {program:#x}"
                )
            }
            Err(events::NotAnEvent::Body(e)) => {
                eprintln!("libvirt: RPC warning : event {procedure} with a malformed body dropped: {e}")
            }
        }
    }

    fn closed(&self, reason: CloseReason) {
        self.close.fire(reason);
    }
}

pub struct RemoteDriver {
    client: Arc<Client>,
    receiver: Arc<Receiver>,
    /// Serialises registrations, whose server calls must match the local
    /// counts (held across the call; the I/O thread never takes it).
    registering: Mutex<()>,
    callback_events: bool,
    keepalive_supported: bool,
    /// Domains this connection has seen, to name a registration's domain
    /// filter on the wire as libvirt's client does.
    seen: Mutex<Vec<NonnullDomain>>,
    /// The program at the other end of an `ext` or `ssh` connection.
    helper: Mutex<Option<Child>>,
    /// The server can tell this connection when it closes (feature 15):
    /// it is asked to while a close callback is registered.
    server_close_callback: bool,
    /// The handshake completed: closing says goodbye. A connection whose
    /// opening failed is closed without a word, as libvirt's client does.
    opened: bool,
    /// Goodbye was said (CONNECT_CLOSE), or tried on a closed connection.
    said_goodbye: AtomicBool,
    /// The transport is one libvirt's client counts secure.
    transport_secure: bool,
}

impl Drop for RemoteDriver {
    fn drop(&mut self) {
        let _ = self.say_goodbye();
        self.client.close();
        if let Some(helper) = self.helper.lock().take() {
            reap(helper);
        }
    }
}

fn connect_error(what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::VIR_ERR_SYSTEM_ERROR,
        ErrorDomain::VIR_FROM_RPC,
        Some(format!("Failed to connect socket to '{what}': {e}")),
    )
}

/// A connected transport: the stream, and the program at its other end
/// for `ext` and `ssh`.
pub struct Connected {
    stream: Stream,
    helper: Option<Child>,
    /// [`uri::Endpoint::is_secure`].
    secure: bool,
}

/// Connects to `endpoint`.
pub fn connect(endpoint: &uri::Endpoint) -> Result<Connected> {
    let stream = match endpoint {
        uri::Endpoint::Unix(path) => {
            UnixStream::connect(path).map(Stream::Unix).map_err(|e| connect_error(&path.display().to_string(), e))?
        }
        uri::Endpoint::Tcp { host, port } => TcpStream::connect((host.as_str(), *port))
            .map(Stream::Tcp)
            .map_err(|e| connect_error(&format!("{host}:{port}"), e))?,
        uri::Endpoint::Command(argv) | uri::Endpoint::Ssh(argv) => {
            let (stream, helper) = spawn(argv)?;
            return Ok(Connected { stream, helper: Some(helper), secure: endpoint.is_secure() });
        }
    };
    Ok(Connected { stream, helper: None, secure: endpoint.is_secure() })
}

/// Runs `argv` with one end of a socket pair as its standard input and
/// output, and its standard error on a pipe whose text the connection's
/// errors quote (`rpc::stream::Stream::helper_stderr`), as libvirt's client
/// does.
fn spawn(argv: &[String]) -> Result<(Stream, Child)> {
    let program = find_program(&argv[0])?;
    let failed = |e: std::io::Error| {
        Error::new(
            ErrorCode::VIR_ERR_SYSTEM_ERROR,
            ErrorDomain::VIR_FROM_RPC,
            Some(format!("cannot run '{}': {e}", argv.join(" "))),
        )
    };
    let (ours, theirs) = UnixStream::pair().map_err(failed)?;
    let input: OwnedFd = theirs.try_clone().map_err(failed)?.into();
    let output: OwnedFd = theirs.into();
    let mut helper = Command::new(&program)
        .args(&argv[1..])
        .stdin(Stdio::from(input))
        .stdout(Stdio::from(output))
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| not_executed(&program, e))?;
    match helper.stderr.take() {
        Some(stderr) => Ok((Stream::Helper { socket: ours, stderr }, helper)),
        None => {
            reap(helper);
            Err(failed(std::io::Error::other("no pipe for its standard error")))
        }
    }
}

/// `name`, or the first executable file of that name in `$PATH` when it has
/// no slash, as libvirt looks a helper program up before it forks.
fn find_program(name: &str) -> Result<PathBuf> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let executable = |path: &Path| path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| executable(path))
        .ok_or_else(|| Error::system(ErrorDomain::VIR_FROM_NONE, format!("Cannot find '{name}' in path"), libc::ENOENT))
}

/// A helper program that could not be started fails as with libvirt's
/// client: its forked child writes why on the helper's standard error and
/// exits, and the first read of the socket reports that with the reset.
fn not_executed(program: &Path, e: std::io::Error) -> Error {
    let why = crate::sys::error_text(e.raw_os_error().unwrap_or(libc::EIO));
    let said = format!("libvirt:  error : cannot execute binary {}: {why}", program.display());
    Error::system(ErrorDomain::VIR_FROM_RPC, format!("Cannot recv data: {said}"), libc::ECONNRESET)
}

/// Waits a moment for the helper program to leave once its stream closed,
/// then ends it.
fn reap(mut helper: Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        if !matches!(helper.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = helper.kill();
    let _ = helper.wait();
}

impl RemoteDriver {
    /// Opens a connection over `stream`; `name` is the URI to ask the server
    /// for (`None`: its default). Returns the driver and the URI the server
    /// named when `name` was `None`.
    pub fn open(
        connected: Connected,
        name: Option<&str>,
        read_only: bool,
    ) -> Result<(Arc<RemoteDriver>, Option<String>)> {
        let Connected { stream, helper, secure } = connected;
        let client = Client::start(stream)?;
        let receiver = Arc::new(Receiver {
            events: EventState::new(),
            registrations: Mutex::new(Registrations::default()),
            close: CloseNotifier::default(),
        });
        client.set_handler(Arc::downgrade(&receiver) as Weak<dyn ClientHandler>);
        let mut driver = RemoteDriver {
            client,
            receiver,
            registering: Mutex::new(()),
            callback_events: false,
            keepalive_supported: false,
            seen: Mutex::new(Vec::new()),
            helper: Mutex::new(helper),
            server_close_callback: false,
            opened: false,
            said_goodbye: AtomicBool::new(false),
            transport_secure: secure,
        };
        driver.authenticate()?;
        // libvirt's client asks for keepalive only when an event loop can
        // drive it.
        if eventloop::current().is_some() {
            driver.keepalive_supported = driver.supports(FEATURE_KEEPALIVE)?;
        }
        // "A user's own daemon": NULL or a session URI, opened by non-root.
        let session = name.is_none_or(|n| n.split('?').next().is_some_and(|u| u.ends_with(":///session")));
        let user = if session && !is_root() { OPEN_USER } else { 0 };
        let flags = user | if read_only { OPEN_READ_ONLY } else { 0 };
        let open = ConnectOpenArgs { name: Some(name.unwrap_or("").to_string()), flags };
        driver.call::<_, ()>(remote::CONNECT_OPEN, &open)?;
        let uri = match name {
            None => Some(driver.call::<_, GetUriRet>(remote::CONNECT_GET_URI, &())?.uri),
            Some(_) => None,
        };
        driver.callback_events = driver.supports(FEATURE_EVENT_CALLBACK)?;
        driver.server_close_callback = driver.supports(FEATURE_CLOSE_CALLBACK)?;
        driver.opened = true;
        Ok((Arc::new(driver), uri))
    }

    /// CONNECT_CLOSE, once; on a closed connection it fails as any call.
    fn say_goodbye(&self) -> Result<()> {
        if !self.opened || self.said_goodbye.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.client.expect_close();
        self.call::<_, ()>(remote::CONNECT_CLOSE, &())
    }

    fn call<A: crate::rpc::xdr::Xdr + std::fmt::Debug, R: crate::rpc::xdr::Xdr>(
        &self,
        procedure: i32,
        args: &A,
    ) -> Result<R> {
        self.client.call(REMOTE_PROGRAM, procedure, args)
    }

    fn supports(&self, feature: i32) -> Result<bool> {
        let ret: SupportsFeatureRet = self.call(remote::CONNECT_SUPPORTS_FEATURE, &SupportsFeatureArgs { feature })?;
        Ok(ret.supported != 0)
    }

    fn authenticate(&self) -> Result<()> {
        let types = match self.call::<_, AuthListRet>(remote::AUTH_LIST, &()) {
            Ok(list) => list.types.0,
            // An old server without authentication.
            Err(e) if e.code == ErrorCode::VIR_ERR_NO_SUPPORT => Vec::new(),
            Err(e) => return Err(e),
        };
        match types.first().copied() {
            None | Some(AUTH_NONE) => Ok(()),
            Some(AUTH_POLKIT) => {
                self.call::<_, AuthPolkitRet>(remote::AUTH_POLKIT, &())?;
                Ok(())
            }
            // SASL among them: this client answers as libvirt's built
            // without SASL does.
            Some(other) => Err(Error::new(
                ErrorCode::VIR_ERR_AUTH_FAILED,
                ErrorDomain::VIR_FROM_REMOTE,
                Some(format!("unsupported authentication type {other}")),
            )),
        }
    }

    /// The wire form of a domain.
    fn wire(&self, dom: &DomainIdentity) -> NonnullDomain {
        nonnull_domain(dom)
    }

    fn wire_snapshot(&self, dom: &DomainIdentity, name: &str) -> NonnullSnapshot {
        NonnullSnapshot { name: name.to_string(), dom: self.wire(dom) }
    }

    /// The argument of the calls that take a snapshot and flags.
    fn snapshot_args(&self, dom: &DomainIdentity, name: &str, flags: u32) -> SnapshotFlagsArgs {
        SnapshotFlagsArgs { snap: self.wire_snapshot(dom, name), flags }
    }

    fn remember(&self, dom: NonnullDomain) -> DomainIdentity {
        let identity = domain_identity(&dom);
        let mut seen = self.seen.lock();
        match seen.iter_mut().find(|d| d.uuid == dom.uuid) {
            Some(known) => *known = dom,
            None => seen.push(dom),
        }
        identity
    }

    fn lookup(&self, procedure: i32, args: &dyn LookupArgs) -> Result<DomainIdentity> {
        let ret: DomainArg = args.call(self, procedure)?;
        Ok(self.remember(ret.dom))
    }

    fn domain_call(&self, procedure: i32, dom: &DomainIdentity) -> Result<()> {
        self.call(procedure, &DomainArg { dom: self.wire(dom) })
    }

    /// The server's form of a registration's target, if it has one.
    fn target_domain(&self, target: &Option<TargetKey>) -> Result<Option<NonnullDomain>> {
        let Some(key) = target else { return Ok(None) };
        let known = self.seen.lock().iter().find(|d| key.matches(&d.uuid, &d.name)).cloned();
        if let Some(dom) = known {
            return Ok(Some(dom));
        }
        let dom = match key {
            TargetKey::Uuid(uuid) => self.lookup_by_uuid(uuid)?,
            TargetKey::Name(name) => self.lookup_by_name(name)?,
        };
        Ok(Some(nonnull_domain(&dom)))
    }

    /// Registers `key` with the server; returns the server's callback ID.
    fn server_register(
        &self,
        key: &Key,
        object: Option<&ObjectIdentity>,
        qemu_event: Option<(&str, u32)>,
    ) -> Result<i32> {
        use remote::*;
        let callback = |ret: CallbackIdArg| ret.callback_id;
        let event_id = key.event_id;
        match key.class {
            EventClass::Domain if !self.callback_events => {
                self.call::<_, ()>(CONNECT_DOMAIN_EVENT_REGISTER_ANY, &LegacyRegisterAnyArgs { event_id })?;
                Ok(LEGACY_REMOTE_ID)
            }
            EventClass::Domain => {
                let dom = self.target_domain(&key.target)?;
                self.call(
                    CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
                    &DomainEventCallbackRegisterArgs { event_id, dom },
                )
                .map(callback)
            }
            EventClass::QemuMonitor => {
                let dom = self.target_domain(&key.target)?;
                let (event, flags) = qemu_event.map_or((None, 0), |(e, f)| (Some(e.to_string()), f));
                let args = QemuMonitorRegisterArgs { dom, event: event.filter(|e| !e.is_empty()), flags };
                self.client.call(QEMU_PROGRAM, qemu::CONNECT_DOMAIN_MONITOR_EVENT_REGISTER, &args).map(callback)
            }
            // The filtered object as its handle names it, as libvirt's
            // client sends it.
            EventClass::Network => {
                let net = object.map(|o| NonnullNetwork { name: o.name.clone(), uuid: o.uuid });
                self.call(CONNECT_NETWORK_EVENT_REGISTER_ANY, &NetworkEventRegisterArgs { event_id, net }).map(callback)
            }
            EventClass::StoragePool => {
                let pool = object.map(|o| NonnullStoragePool { name: o.name.clone(), uuid: o.uuid });
                let args = StoragePoolEventRegisterArgs { event_id, pool };
                self.call(CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY, &args).map(callback)
            }
            EventClass::NodeDevice => {
                let dev = object.map(|o| NonnullNodeDevice { name: o.name.clone() });
                self.call(CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY, &NodeDeviceEventRegisterArgs { event_id, dev })
                    .map(callback)
            }
            EventClass::Secret => {
                let secret =
                    object.map(|o| NonnullSecret { uuid: o.uuid, usage_type: o.usage_type, usage_id: o.name.clone() });
                self.call(CONNECT_SECRET_EVENT_REGISTER_ANY, &SecretEventRegisterArgs { event_id, secret })
                    .map(callback)
            }
        }
    }

    /// `call` on `class` over the wire: `args` gets whether the procedure
    /// sends flags, `decode` reads the reply.
    fn object_call<R>(
        &self,
        (class, call): (EventClass, Call),
        args: impl FnOnce(bool) -> Args,
        decode: impl FnOnce(&mut Decoder<'_>) -> XdrResult<R>,
    ) -> Result<R> {
        let Some((procedure, flags)) = objects::procedure(class, call) else {
            return Err(objects::unsupported(class, call));
        };
        self.client.call_with(REMOTE_PROGRAM, procedure, &Wire { class, body: args(flags) }, decode)
    }

    /// A call on one object.
    fn on_object<R>(
        &self,
        (class, call): (EventClass, Call),
        (object, flags): (&ObjectIdentity, u32),
        decode: impl FnOnce(&mut Decoder<'_>) -> XdrResult<R>,
    ) -> Result<R> {
        let args = |sends: bool| Args::Object { object: object.clone(), flags: sends.then_some(flags) };
        self.object_call((class, call), args, decode)
    }

    /// A call that answers an object of `class`.
    fn object_reply(&self, class: EventClass, call: Call, args: impl FnOnce(bool) -> Args) -> Result<ObjectIdentity> {
        self.object_call((class, call), args, |d| objects::decode_object(class, d))
    }

    fn server_deregister(&self, key: &Key, remote_id: i32) -> Result<()> {
        use remote::*;
        let callback_id = CallbackIdArg { callback_id: remote_id };
        match key.class {
            EventClass::Domain if remote_id == LEGACY_REMOTE_ID => {
                self.call(CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &LegacyRegisterAnyArgs { event_id: key.event_id })
            }
            EventClass::Domain => self.call(CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, &callback_id),
            EventClass::QemuMonitor => {
                self.client.call(QEMU_PROGRAM, qemu::CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER, &callback_id)
            }
            EventClass::Network => self.call(CONNECT_NETWORK_EVENT_DEREGISTER_ANY, &callback_id),
            EventClass::StoragePool => self.call(CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY, &callback_id),
            EventClass::NodeDevice => self.call(CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY, &callback_id),
            EventClass::Secret => self.call(CONNECT_SECRET_EVENT_DEREGISTER_ANY, &callback_id),
        }
    }

    /// Adds a local registration, registering its key with the server when
    /// it is the key's first.
    fn register(
        &self,
        subscription: Subscription,
        callback: Arc<dyn EventCallback>,
        qemu_event: Option<(&str, u32)>,
    ) -> Result<i32> {
        let _serialised = self.registering.lock();
        let legacy_identity = subscription.legacy.then(|| callback.identity());
        let mut key = Key {
            class: subscription.class,
            event_id: subscription.event_id,
            // Legacy domain registrations filter by domain locally; the
            // other classes always send their filter.
            target: if self.callback_events || subscription.class != EventClass::Domain {
                subscription.target.clone()
            } else {
                None
            },
            unshared: None,
        };
        if key.class == EventClass::QemuMonitor {
            key.unshared = Some(-1);
        }
        let existing = self
            .receiver
            .registrations
            .lock()
            .server
            .iter()
            .find(|r| r.key == key && r.key.unshared.is_none())
            .map(|r| r.remote_id);
        let (remote_id, new) = match existing {
            Some(id) => (id, false),
            None => {
                self.receiver.registrations.lock().registering = true;
                match self.server_register(&key, subscription.object.as_ref(), qemu_event) {
                    Ok(remote_id) => (remote_id, true),
                    Err(e) => {
                        self.receiver.registrations.lock().registered(&self.receiver.events);
                        return Err(e);
                    }
                }
            }
        };
        let local = match self.receiver.events.register_remote(subscription, callback, Some(remote_id)) {
            Ok(local) => local,
            Err(e) => {
                if new {
                    self.receiver.registrations.lock().registered(&self.receiver.events);
                    let _ = self.server_deregister(&key, remote_id);
                }
                return Err(e);
            }
        };
        if key.unshared.is_some() {
            key.unshared = Some(local);
        }
        let mut registrations = self.receiver.registrations.lock();
        if new {
            registrations.server.push(ServerRegistration { key: key.clone(), remote_id, locals: 0 });
        }
        if let Some(server) = registrations.server.iter_mut().find(|r| r.key == key && r.remote_id == remote_id) {
            server.locals += 1;
        }
        registrations.local.push(LocalRegistration { id: local, key, legacy_identity });
        if new {
            registrations.registered(&self.receiver.events);
        }
        Ok(local)
    }

    /// Forgets the local registration `which` picks after the event state
    /// removed it; the key's last one is deregistered from the server.
    fn forget(&self, which: impl Fn(&LocalRegistration) -> bool) -> Result<()> {
        let last = {
            let mut registrations = self.receiver.registrations.lock();
            let Some(index) = registrations.local.iter().position(which) else { return Ok(()) };
            let local = registrations.local.remove(index);
            let Some(server_index) = registrations.server.iter().position(|r| r.key == local.key) else {
                return Ok(());
            };
            let server = &mut registrations.server[server_index];
            server.locals -= 1;
            if server.locals > 0 {
                return Ok(());
            }
            registrations.server.remove(server_index)
        };
        self.server_deregister(&last.key, last.remote_id)
    }

    /// `virConnectIsAlive`.
    pub fn alive(&self) -> bool {
        self.client.is_alive()
    }
}

/// libvirt's client's refusal of what the protocol cannot carry.
fn remote_error(message: String) -> Error {
    Error::new(ErrorCode::VIR_ERR_RPC, ErrorDomain::VIR_FROM_REMOTE, Some(message))
}

/// A setter's typed parameters as libvirt's client serializes them: at most
/// as many as the protocol carries, those of type 0 left out (a sparse
/// array's holes), any other type it does not know refused, in its
/// serializer's words. (libvirt 9.0's own client crashes on those two
/// refusals, freeing what it had serialized.)
fn wire_params(params: &[super::params::GivenParam]) -> Result<Array<TypedParam, SCHEDULER_PARAMETERS_MAX>> {
    let refuse = |detail: String| Error::new(ErrorCode::VIR_ERR_RPC, ErrorDomain::VIR_FROM_NONE, Some(detail));
    if params.len() > SCHEDULER_PARAMETERS_MAX as usize {
        return Err(refuse(format!("too many parameters '{}' for limit '{SCHEDULER_PARAMETERS_MAX}'", params.len())));
    }
    let mut wire = Vec::with_capacity(params.len());
    for param in params {
        match &param.value {
            Ok(value) => wire.push(TypedParam::from(&crate::event::TypedParam::new(param.name.clone(), value.clone()))),
            Err(0) => {}
            Err(unknown) => return Err(refuse(format!("unknown parameter type: {unknown}"))),
        }
    }
    Ok(Array(wire))
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// A lookup's arguments, whatever the lookup.
trait LookupArgs {
    fn call(&self, driver: &RemoteDriver, procedure: i32) -> Result<DomainArg>;
}

impl<T: crate::rpc::xdr::Xdr + std::fmt::Debug> LookupArgs for T {
    fn call(&self, driver: &RemoteDriver, procedure: i32) -> Result<DomainArg> {
        driver.call(procedure, self)
    }
}

impl Driver for RemoteDriver {
    fn events(&self) -> &Arc<EventState> {
        &self.receiver.events
    }

    fn register_events(&self, subscription: Subscription, callback: Arc<dyn EventCallback>) -> Result<i32> {
        self.register(subscription, callback, None)
    }

    fn deregister_events(&self, connection: ConnectionId, callback_id: i32) -> Result<()> {
        let _serialised = self.registering.lock();
        self.receiver.events.deregister(connection, callback_id)?;
        self.forget(|r| r.id == callback_id)
    }

    fn deregister_legacy_events(&self, connection: ConnectionId, identity: usize) -> Result<()> {
        let _serialised = self.registering.lock();
        self.receiver.events.deregister_legacy(connection, identity)?;
        self.forget(|r| r.legacy_identity == Some(identity))
    }

    fn register_qemu_monitor(
        &self,
        subscription: Subscription,
        event: Option<&str>,
        flags: u32,
        callback: Arc<dyn EventCallback>,
    ) -> Result<i32> {
        self.register(subscription, callback, Some((event.unwrap_or(""), flags)))
    }

    fn deregister_qemu_monitor(&self, connection: ConnectionId, callback_id: i32) -> Result<()> {
        self.deregister_events(connection, callback_id)
    }

    fn is_alive(&self) -> bool {
        self.alive()
    }

    /// As libvirt's client, refused without an event loop to run it on and
    /// on a connection already closed.
    fn set_keepalive(&self, interval: i32, count: u32) -> Result<i32> {
        if eventloop::current().is_none() || !self.client.is_alive() {
            return Err(Error::internal(
                ErrorDomain::VIR_FROM_REMOTE,
                "the caller doesn't support keepalive protocol; perhaps it's missing event loop implementation",
            ));
        }
        if !self.keepalive_supported {
            return Ok(1);
        }
        self.client.set_keepalive(interval, count);
        Ok(0)
    }

    /// As libvirt's client: the server is asked for its close notice when
    /// the application registers, not before.
    fn register_close(&self, make: &dyn Fn() -> Arc<dyn CloseCallback>) -> Result<()> {
        self.receiver.close.check_free()?;
        if self.server_close_callback {
            self.call::<_, ()>(remote::CONNECT_REGISTER_CLOSE_CALLBACK, &())?;
        }
        self.receiver.close.register(make())
    }

    fn disconnect(&self) -> Result<()> {
        self.say_goodbye()
    }

    fn unregister_close(&self, identity: usize) -> Result<()> {
        self.receiver.close.check_registered(identity)?;
        if self.server_close_callback {
            self.call::<_, ()>(remote::CONNECT_UNREGISTER_CLOSE_CALLBACK, &())?;
        }
        self.receiver.close.unregister(identity)
    }

    /// Secure when the transport is and the server's connection is, as
    /// libvirt's client answers.
    fn is_secure(&self) -> Result<bool> {
        let server: IntRet = self.call(remote::CONNECT_IS_SECURE, &())?;
        Ok(self.transport_secure && server.value != 0)
    }

    /// Never: this client has neither TLS nor SASL. libvirt's client asks
    /// the server first all the same (its failure is this call's).
    fn is_encrypted(&self) -> Result<bool> {
        self.call::<_, IntRet>(remote::CONNECT_IS_SECURE, &()).map(|_| false)
    }

    fn lookup_by_name(&self, name: &str) -> Result<DomainIdentity> {
        self.lookup(remote::DOMAIN_LOOKUP_BY_NAME, &LookupByNameArgs { name: name.to_string() })
    }

    fn lookup_by_id(&self, id: i32) -> Result<DomainIdentity> {
        self.lookup(remote::DOMAIN_LOOKUP_BY_ID, &LookupByIdArgs { id })
    }

    fn lookup_by_uuid(&self, uuid: &Uuid) -> Result<DomainIdentity> {
        self.lookup(remote::DOMAIN_LOOKUP_BY_UUID, &LookupByUuidArgs { uuid: *uuid })
    }

    fn list_all(&self, flags: u32) -> Result<Vec<DomainIdentity>> {
        let ret: ListAllDomainsRet =
            self.call(remote::CONNECT_LIST_ALL_DOMAINS, &ListAllDomainsArgs { need_results: 1, flags })?;
        Ok(ret.domains.0.into_iter().map(|d| self.remember(d)).collect())
    }

    fn refresh(&self, dom: &DomainIdentity) -> Result<DomainIdentity> {
        self.lookup_by_uuid(&dom.uuid)
    }

    fn state(&self, dom: &DomainIdentity, flags: u32) -> Result<DomainState> {
        let ret: DomainGetStateRet =
            self.call(remote::DOMAIN_GET_STATE, &DomainFlagsArgs { dom: self.wire(dom), flags })?;
        Ok(DomainState { state: ret.state, reason: ret.reason })
    }

    fn info(&self, dom: &DomainIdentity) -> Result<DomainInfo> {
        let ret: DomainGetInfoRet = self.call(remote::DOMAIN_GET_INFO, &DomainArg { dom: self.wire(dom) })?;
        Ok(DomainInfo {
            state: ret.state as u8,
            max_memory_kib: ret.max_mem,
            memory_kib: ret.memory,
            vcpus: ret.nr_virt_cpu as u16,
            cpu_time_ns: ret.cpu_time,
        })
    }

    fn is_persistent(&self, dom: &DomainIdentity) -> Result<bool> {
        let ret: IntRet = self.call(remote::DOMAIN_IS_PERSISTENT, &DomainArg { dom: self.wire(dom) })?;
        Ok(ret.value != 0)
    }

    fn xml_desc(&self, dom: &DomainIdentity, flags: u32) -> Result<String> {
        let ret: DomainGetXmlDescRet =
            self.call(remote::DOMAIN_GET_XML_DESC, &DomainFlagsArgs { dom: self.wire(dom), flags })?;
        Ok(ret.xml)
    }

    fn hypervisor_type(&self) -> Result<String> {
        self.call(remote::CONNECT_GET_TYPE, &()).map(|ret: StringRet| ret.value)
    }

    fn hypervisor_version(&self) -> Result<u64> {
        self.call(remote::CONNECT_GET_VERSION, &()).map(|ret: HyperRet| ret.value)
    }

    fn hostname(&self) -> Result<String> {
        self.call(remote::CONNECT_GET_HOSTNAME, &()).map(|ret: StringRet| ret.value)
    }

    fn capabilities(&self) -> Result<String> {
        self.call(remote::CONNECT_GET_CAPABILITIES, &()).map(|ret: StringRet| ret.value)
    }

    fn node_info(&self) -> Result<NodeInfo> {
        let ret: NodeGetInfoRet = self.call(remote::NODE_GET_INFO, &())?;
        let model = ret.model.0.split(|b| *b == 0).next().unwrap_or_default();
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        Ok(NodeInfo {
            model: String::from_utf8_lossy(model).into_owned(),
            memory_kib: ret.memory,
            cpus: count(ret.cpus),
            mhz: count(ret.mhz),
            nodes: count(ret.nodes),
            sockets: count(ret.sockets),
            cores: count(ret.cores),
            threads: count(ret.threads),
        })
    }

    fn max_vcpus(&self, virt_type: Option<&str>) -> Result<i32> {
        let args = ConnectGetMaxVcpusArgs { virt_type: virt_type.map(str::to_string) };
        self.call(remote::CONNECT_GET_MAX_VCPUS, &args).map(|ret: IntRet| ret.value)
    }

    fn is_updated(&self, dom: &DomainIdentity) -> Result<bool> {
        self.call(remote::DOMAIN_IS_UPDATED, &DomainArg { dom: self.wire(dom) }).map(|ret: IntRet| ret.value != 0)
    }

    fn free_memory(&self) -> Result<u64> {
        self.call(remote::NODE_GET_FREE_MEMORY, &()).map(|ret: HyperRet| ret.value)
    }

    /// libvirt's client refuses to ask for more cells than the reply carries.
    fn cells_free_memory(&self, start_cell: usize, max_cells: usize) -> Result<Vec<u64>> {
        if max_cells > NODE_MAX_CELLS as usize {
            return Err(remote_error(format!("too many NUMA cells: {max_cells} > {NODE_MAX_CELLS}")));
        }
        let int = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let args = NodeGetCellsFreeMemoryArgs { start_cell: int(start_cell), maxcells: int(max_cells) };
        self.call(remote::NODE_GET_CELLS_FREE_MEMORY, &args).map(|ret: NodeGetCellsFreeMemoryRet| ret.cells.0)
    }

    fn scheduler_type(&self, dom: &DomainIdentity) -> Result<(String, i32)> {
        let ret: SchedulerTypeRet = self.call(remote::DOMAIN_GET_SCHEDULER_TYPE, &DomainArg { dom: self.wire(dom) })?;
        Ok((ret.kind, ret.nparams))
    }

    /// Asks for as many parameters as the caller has room for, as libvirt's
    /// client does (libvirtd refuses more than the protocol carries).
    fn scheduler_parameters(
        &self,
        dom: &DomainIdentity,
        flags: u32,
        max: usize,
        function: &str,
    ) -> Result<Vec<crate::event::TypedParam>> {
        let (dom, nparams) = (self.wire(dom), i32::try_from(max).unwrap_or(i32::MAX));
        let ret: SchedulerParametersRet = match function {
            "virDomainGetSchedulerParameters" => {
                self.call(remote::DOMAIN_GET_SCHEDULER_PARAMETERS, &SchedulerParametersArgs { dom, nparams })?
            }
            _ => {
                let args = SchedulerParametersFlagsArgs { dom, nparams, flags };
                self.call(remote::DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS, &args)?
            }
        };
        Ok(ret.params.0.iter().map(crate::event::TypedParam::from).collect())
    }

    fn set_scheduler_parameters(
        &self,
        dom: &DomainIdentity,
        params: &[super::params::GivenParam],
        flags: u32,
        function: &str,
    ) -> Result<()> {
        let (dom, params) = (self.wire(dom), wire_params(params)?);
        match function {
            "virDomainSetSchedulerParameters" => {
                self.call(remote::DOMAIN_SET_SCHEDULER_PARAMETERS, &SetSchedulerParametersArgs { dom, params })
            }
            _ => {
                let args = SetSchedulerParametersFlagsArgs { dom, params, flags };
                self.call(remote::DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS, &args)
            }
        }
    }

    fn memory_stats(&self, dom: &DomainIdentity, max: usize, flags: u32) -> Result<Vec<(i32, u64)>> {
        // `max` is at most VIR_DOMAIN_MEMORY_STAT_NR, far below the protocol's limit.
        let args = MemoryStatsArgs { dom: self.wire(dom), max_stats: max as u32, flags };
        let ret: MemoryStatsRet = self.call(remote::DOMAIN_MEMORY_STATS, &args)?;
        Ok(ret.stats.0.into_iter().map(|stat| (stat.tag, stat.val)).collect())
    }

    fn block_stats(&self, dom: &DomainIdentity, disk: &str) -> Result<super::BlockStats> {
        let args = DomainDeviceArgs { dom: self.wire(dom), device: disk.to_string() };
        self.call(remote::DOMAIN_BLOCK_STATS, &args).map(|ret: BlockStatsRet| ret.into())
    }

    fn interface_stats(&self, dom: &DomainIdentity, device: &str) -> Result<super::InterfaceStats> {
        let args = DomainDeviceArgs { dom: self.wire(dom), device: device.to_string() };
        self.call(remote::DOMAIN_INTERFACE_STATS, &args).map(|ret: InterfaceStatsRet| ret.into())
    }

    fn os_type(&self, dom: &DomainIdentity) -> Result<String> {
        self.call(remote::DOMAIN_GET_OS_TYPE, &DomainArg { dom: self.wire(dom) }).map(|ret: StringRet| ret.value)
    }

    fn autostart(&self, dom: &DomainIdentity) -> Result<bool> {
        self.call(remote::DOMAIN_GET_AUTOSTART, &DomainArg { dom: self.wire(dom) }).map(|ret: IntRet| ret.value != 0)
    }

    fn vcpus(&self, dom: &DomainIdentity, flags: u32, function: &str) -> Result<i32> {
        let ret: IntRet = match function {
            "virDomainGetMaxVcpus" => self.call(remote::DOMAIN_GET_MAX_VCPUS, &DomainArg { dom: self.wire(dom) })?,
            _ => self.call(remote::DOMAIN_GET_VCPUS_FLAGS, &DomainFlagsArgs { dom: self.wire(dom), flags })?,
        };
        Ok(ret.value)
    }

    fn save(&self, dom: &DomainIdentity, path: &str, dxml: Option<&str>, flags: u32, function: &str) -> Result<()> {
        let (dom, to) = (self.wire(dom), path.to_string());
        match function {
            "virDomainSave" => self.call(remote::DOMAIN_SAVE, &DomainSaveArgs { dom, to }),
            _ => {
                let dxml = dxml.map(str::to_string);
                self.call(remote::DOMAIN_SAVE_FLAGS, &DomainSaveFlagsArgs { dom, to, dxml, flags })
            }
        }
    }

    fn restore(&self, path: &str, dxml: Option<&str>, flags: u32, function: &str) -> Result<()> {
        let from = path.to_string();
        match function {
            "virDomainRestore" => self.call(remote::DOMAIN_RESTORE, &DomainRestoreArgs { from }),
            _ => {
                let dxml = dxml.map(str::to_string);
                self.call(remote::DOMAIN_RESTORE_FLAGS, &DomainRestoreFlagsArgs { from, dxml, flags })
            }
        }
    }

    fn managed_save(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        self.call(remote::DOMAIN_MANAGED_SAVE, &DomainFlagsArgs { dom: self.wire(dom), flags })
    }

    fn has_managed_save(&self, dom: &DomainIdentity, flags: u32) -> Result<bool> {
        let args = DomainFlagsArgs { dom: self.wire(dom), flags };
        self.call(remote::DOMAIN_HAS_MANAGED_SAVE_IMAGE, &args).map(|ret: IntRet| ret.value != 0)
    }

    fn snapshot_create(&self, dom: &DomainIdentity, xml: &str, flags: u32) -> Result<(String, HandleId)> {
        let args = SnapshotCreateXmlArgs { dom: self.wire(dom), xml_desc: xml.to_string(), flags };
        self.call(remote::DOMAIN_SNAPSHOT_CREATE_XML, &args).map(|ret: SnapshotRet| (ret.snap.name, HandleId::Kept))
    }

    fn snapshot_revert(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<HandleId> {
        self.call(remote::DOMAIN_REVERT_TO_SNAPSHOT, &self.snapshot_args(dom, name, flags)).map(|()| HandleId::Kept)
    }

    fn snapshot_delete(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<()> {
        self.call(remote::DOMAIN_SNAPSHOT_DELETE, &self.snapshot_args(dom, name, flags))
    }

    /// Asks for as many names as the protocol carries; the caller keeps
    /// what fits its array.
    fn snapshot_names(
        &self,
        dom: &DomainIdentity,
        of: Option<&str>,
        flags: u32,
        function: &str,
    ) -> Result<Vec<String>> {
        let maxnames = SNAPSHOT_LIST_MAX as i32;
        let all = |ret: ListAllSnapshotsRet| ret.snapshots.0.into_iter().map(|snap| snap.name).collect();
        match (function, of) {
            ("virDomainSnapshotListNames", _) => {
                let args = SnapshotListNamesArgs { dom: self.wire(dom), maxnames, flags };
                self.call(remote::DOMAIN_SNAPSHOT_LIST_NAMES, &args).map(|ret: SnapshotListNamesRet| ret.names.0)
            }
            ("virDomainSnapshotListChildrenNames", Some(name)) => {
                let args = SnapshotListChildrenNamesArgs { snap: self.wire_snapshot(dom, name), maxnames, flags };
                self.call(remote::DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES, &args)
                    .map(|ret: SnapshotListNamesRet| ret.names.0)
            }
            (_, Some(name)) => {
                let args = ListAllChildrenArgs { snap: self.wire_snapshot(dom, name), need_results: 1, flags };
                self.call(remote::DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN, &args).map(all)
            }
            (_, None) => {
                let args = ListAllSnapshotsArgs { dom: self.wire(dom), need_results: 1, flags };
                self.call(remote::DOMAIN_LIST_ALL_SNAPSHOTS, &args).map(all)
            }
        }
    }

    fn snapshot_count(&self, dom: &DomainIdentity, of: Option<&str>, flags: u32, _function: &str) -> Result<usize> {
        let ret: IntRet = match of {
            None => self.call(remote::DOMAIN_SNAPSHOT_NUM, &DomainFlagsArgs { dom: self.wire(dom), flags })?,
            Some(name) => self.call(remote::DOMAIN_SNAPSHOT_NUM_CHILDREN, &self.snapshot_args(dom, name, flags))?,
        };
        Ok(usize::try_from(ret.value).unwrap_or(0))
    }

    fn snapshot_lookup(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<()> {
        let args = SnapshotLookupByNameArgs { dom: self.wire(dom), name: name.to_string(), flags };
        self.call(remote::DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, &args).map(|_: SnapshotRet| ())
    }

    fn snapshot_current(&self, dom: &DomainIdentity, flags: u32) -> Result<String> {
        let args = DomainFlagsArgs { dom: self.wire(dom), flags };
        self.call(remote::DOMAIN_SNAPSHOT_CURRENT, &args).map(|ret: SnapshotRet| ret.snap.name)
    }

    fn has_current_snapshot(&self, dom: &DomainIdentity, flags: u32) -> Result<bool> {
        let args = DomainFlagsArgs { dom: self.wire(dom), flags };
        self.call(remote::DOMAIN_HAS_CURRENT_SNAPSHOT, &args).map(|ret: IntRet| ret.value != 0)
    }

    fn snapshot_is_current(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<bool> {
        let args = self.snapshot_args(dom, name, flags);
        self.call(remote::DOMAIN_SNAPSHOT_IS_CURRENT, &args).map(|ret: IntRet| ret.value != 0)
    }

    fn snapshot_has_metadata(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<bool> {
        let args = self.snapshot_args(dom, name, flags);
        self.call(remote::DOMAIN_SNAPSHOT_HAS_METADATA, &args).map(|ret: IntRet| ret.value != 0)
    }

    fn snapshot_parent(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<String> {
        let args = self.snapshot_args(dom, name, flags);
        self.call(remote::DOMAIN_SNAPSHOT_GET_PARENT, &args).map(|ret: SnapshotRet| ret.snap.name)
    }

    fn snapshot_xml_desc(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<String> {
        let args = self.snapshot_args(dom, name, flags);
        self.call(remote::DOMAIN_SNAPSHOT_GET_XML_DESC, &args).map(|ret: StringRet| ret.value)
    }

    fn managed_save_remove(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        self.call(remote::DOMAIN_MANAGED_SAVE_REMOVE, &DomainFlagsArgs { dom: self.wire(dom), flags })
    }

    fn set_memory(&self, dom: &DomainIdentity, memory_kib: u64, flags: u32, function: &str) -> Result<()> {
        let (dom, memory) = (self.wire(dom), memory_kib);
        match function {
            "virDomainSetMemory" => self.call(remote::DOMAIN_SET_MEMORY, &DomainMemoryArgs { dom, memory }),
            "virDomainSetMaxMemory" => self.call(remote::DOMAIN_SET_MAX_MEMORY, &DomainMemoryArgs { dom, memory }),
            _ => self.call(remote::DOMAIN_SET_MEMORY_FLAGS, &DomainMemoryFlagsArgs { dom, memory, flags }),
        }
    }

    fn set_vcpus(&self, dom: &DomainIdentity, nvcpus: u32, flags: u32, function: &str) -> Result<()> {
        let dom = self.wire(dom);
        match function {
            "virDomainSetVcpus" => self.call(remote::DOMAIN_SET_VCPUS, &DomainVcpusArgs { dom, nvcpus }),
            _ => self.call(remote::DOMAIN_SET_VCPUS_FLAGS, &DomainVcpusFlagsArgs { dom, nvcpus, flags }),
        }
    }

    fn create_with_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        self.lookup(remote::DOMAIN_CREATE_WITH_FLAGS, &DomainFlagsArgs { dom: self.wire(dom), flags }).map(drop)
    }

    fn destroy_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        self.call(remote::DOMAIN_DESTROY_FLAGS, &DomainFlagsArgs { dom: self.wire(dom), flags })
    }

    fn shutdown_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        self.call(remote::DOMAIN_SHUTDOWN_FLAGS, &DomainFlagsArgs { dom: self.wire(dom), flags })
    }

    fn undefine_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        self.call(remote::DOMAIN_UNDEFINE_FLAGS, &DomainFlagsArgs { dom: self.wire(dom), flags })
    }

    fn define_xml_flags(&self, xml: &str, flags: u32) -> Result<DomainIdentity> {
        self.lookup(remote::DOMAIN_DEFINE_XML_FLAGS, &CreateXmlArgs { xml_desc: xml.to_string(), flags })
    }

    /// The QEMU program's procedure of `function` (no descriptors are sent
    /// with `...WithFiles`: the C API refuses them before).
    fn qemu_monitor_command(&self, dom: &DomainIdentity, cmd: &str, flags: u32, function: &str) -> Result<String> {
        let procedure = if function == "virDomainQemuMonitorCommandWithFiles" {
            qemu::DOMAIN_MONITOR_COMMAND_WITH_FILES
        } else {
            qemu::DOMAIN_MONITOR_COMMAND
        };
        let args = QemuMonitorCommandArgs { dom: self.wire(dom), cmd: cmd.to_owned(), flags };
        let ret: QemuMonitorCommandRet = self.client.call(QEMU_PROGRAM, procedure, &args)?;
        Ok(ret.result)
    }

    fn qemu_agent_command(&self, dom: &DomainIdentity, cmd: &str, timeout: i32, flags: u32) -> Result<String> {
        let args = QemuAgentCommandArgs { dom: self.wire(dom), cmd: cmd.to_owned(), timeout, flags };
        let ret: QemuAgentCommandRet = self.client.call(QEMU_PROGRAM, qemu::DOMAIN_AGENT_COMMAND, &args)?;
        // libvirtd sends no result only with an error.
        ret.result.ok_or_else(|| {
            Error::new(
                ErrorCode::VIR_ERR_RPC,
                ErrorDomain::VIR_FROM_RPC,
                Some("the agent command's reply has no result".into()),
            )
        })
    }

    fn suspend(&self, dom: &DomainIdentity) -> Result<()> {
        self.domain_call(remote::DOMAIN_SUSPEND, dom)
    }

    fn resume(&self, dom: &DomainIdentity) -> Result<()> {
        self.domain_call(remote::DOMAIN_RESUME, dom)
    }

    fn reboot(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        self.call(remote::DOMAIN_REBOOT, &DomainFlagsArgs { dom: self.wire(dom), flags })
    }

    fn reset(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        self.call(remote::DOMAIN_RESET, &DomainFlagsArgs { dom: self.wire(dom), flags })
    }

    fn shutdown(&self, dom: &DomainIdentity) -> Result<()> {
        self.domain_call(remote::DOMAIN_SHUTDOWN, dom)
    }

    fn destroy(&self, dom: &DomainIdentity) -> Result<()> {
        self.domain_call(remote::DOMAIN_DESTROY, dom)
    }

    fn create(&self, dom: &DomainIdentity) -> Result<()> {
        self.domain_call(remote::DOMAIN_CREATE, dom)
    }

    fn undefine(&self, dom: &DomainIdentity) -> Result<()> {
        self.domain_call(remote::DOMAIN_UNDEFINE, dom)
    }

    fn define_xml(&self, xml: &str) -> Result<DomainIdentity> {
        self.lookup(remote::DOMAIN_DEFINE_XML, &DefineXmlArgs { xml: xml.to_string() })
    }

    fn create_xml(&self, xml: &str, flags: u32) -> Result<DomainIdentity> {
        self.lookup(remote::DOMAIN_CREATE_XML, &CreateXmlArgs { xml_desc: xml.to_string(), flags })
    }

    fn object_lookup(&self, class: EventClass, by: Lookup<'_>) -> Result<ObjectIdentity> {
        match by {
            Lookup::Name(name) => self.object_reply(class, Call::LookupByName, |_| Args::Name(name.to_string())),
            Lookup::Uuid(uuid) => self.object_reply(class, Call::LookupByUuid, |_| Args::Uuid(uuid)),
        }
    }

    fn object_list(&self, class: EventClass, flags: u32) -> Result<Vec<ObjectIdentity>> {
        let args = |_| Args::List { need_results: true, flags };
        let (found, _) = self.object_call((class, Call::ListAll), args, |d| objects::decode_list(class, d))?;
        Ok(found)
    }

    fn object_define_xml(&self, class: EventClass, xml: &str, flags: u32) -> Result<ObjectIdentity> {
        self.object_reply(class, Call::DefineXml, |sends| Args::Xml { xml: xml.into(), flags: sends.then_some(flags) })
    }

    fn object_create_xml(&self, class: EventClass, xml: &str, flags: u32) -> Result<ObjectIdentity> {
        self.object_reply(class, Call::CreateXml, |sends| Args::Xml { xml: xml.into(), flags: sends.then_some(flags) })
    }

    /// A success over the wire leaves nothing behind (libvirtd sends none).
    fn object_op(&self, class: EventClass, object: &ObjectIdentity, op: ObjectOp, flags: u32) -> Result<Done> {
        self.on_object((class, Call::Op(op)), (object, flags), <()>::decode).map(|()| None)
    }

    fn object_query(&self, class: EventClass, object: &ObjectIdentity, query: ObjectQuery) -> Result<bool> {
        self.on_object((class, Call::Query(query)), (object, 0), i32::decode).map(|answer| answer != 0)
    }

    fn object_xml_desc(&self, class: EventClass, object: &ObjectIdentity, flags: u32) -> Result<String> {
        self.on_object((class, Call::XmlDesc), (object, flags), String::decode)
    }

    fn count(&self, what: Counted<'_>, _function: &str) -> Result<usize> {
        let procedure = listings::count_procedure(what);
        let ret: IntRet = match what {
            Counted::Names(Named::NodeDevices { cap, flags }) => {
                self.call(procedure, &NodeNumOfDevicesArgs { cap: cap.map(str::to_string), flags })?
            }
            Counted::Names(Named::DeviceCaps(name)) => {
                self.call(procedure, &LookupByNameArgs { name: name.to_string() })?
            }
            _ => self.call(procedure, &())?,
        };
        Ok(usize::try_from(ret.value).unwrap_or(0))
    }

    /// As libvirt's client: `max` within the procedure's limit, and a reply
    /// of at most `max` names.
    fn names(&self, what: Named<'_>, max: i32, function: &str) -> Result<Vec<String>> {
        let (_, procedure, limit) = listings::procedures(what);
        let too_many = |count: usize, max: u32| {
            remote_error(format!("too many remote strings: {count} > {max},in parameter 'names' for '{function}'"))
        };
        let wanted = u32::try_from(max).unwrap_or(0);
        if wanted > limit.max {
            return Err(too_many(wanted as usize, limit.max));
        }
        let names = match what {
            Named::NodeDevices { cap, flags } => {
                let args = NodeListDevicesArgs { cap: cap.map(str::to_string), maxnames: max, flags };
                self.call::<_, DeviceNamesRet>(procedure, &args)?.names.0
            }
            Named::DeviceCaps(name) => {
                let args = NodeDeviceListCapsArgs { name: name.to_string(), maxnames: max };
                self.call::<_, DeviceNamesRet>(procedure, &args)?.names.0
            }
            _ => self.call::<_, ListNamesRet>(procedure, &ListNamesArgs { maxnames: max })?.names.0,
        };
        if names.len() > wanted as usize {
            return Err(too_many(names.len(), wanted));
        }
        Ok(names)
    }

    /// As libvirt's client, with its own words for domains.
    fn running_ids(&self, max: i32) -> Result<Vec<i32>> {
        let (procedure, limit) = listings::IDS;
        let too_many = |count: usize, max: u32| remote_error(format!("Too many domains '{count}' for limit '{max}'"));
        let wanted = u32::try_from(max).unwrap_or(0);
        if wanted > limit.max {
            return Err(too_many(wanted as usize, limit.max));
        }
        let ids = self.call::<_, ListIdsRet>(procedure, &ListIdsArgs { maxids: max })?.ids.0;
        if ids.len() > wanted as usize {
            return Err(too_many(ids.len(), wanted));
        }
        Ok(ids)
    }

    fn node_device_parent(&self, name: &str) -> Result<String> {
        let device = ObjectIdentity::named(name, Uuid([0; 16]));
        let parent = self.on_object((EventClass::NodeDevice, Call::Parent), (&device, 0), Option::<String>::decode)?;
        // libvirt's handle then has no parent, and the call answers NULL.
        parent.ok_or_else(|| Error::internal(ErrorDomain::VIR_FROM_NODEDEV, "no parent for this device"))
    }
}

/// Opens `uri` on a daemon when it names one, or when it is
/// `qemu:///system|session` (or NULL, meaning the default) and a daemon
/// listens at libvirt's sockets for it (see [`uri::routing`]). `None`: the
/// URI is for an in-process driver. Never starts a daemon.
pub fn open(requested: Option<&str>, read_only: bool) -> Result<Option<(String, Arc<dyn Driver>)>> {
    let env_uri = std::env::var("LIBVIRT_DEFAULT_URI").ok().filter(|u| !u.is_empty());
    let resolved = requested.map(str::to_string).or(env_uri);
    if let Some(given) = &resolved {
        if let Some(target) = uri::explicit(given, read_only)? {
            let connected = connect(&target.endpoint)?;
            let (driver, _) = RemoteDriver::open(connected, target.name.as_deref(), read_only)?;
            return Ok(Some((given.clone(), driver)));
        }
    }
    let routing = uri::routing()?;
    if routing == uri::Routing::Never {
        return Ok(None);
    }
    let effective = resolved.clone().unwrap_or_else(|| "qemu:///session".to_string());
    let sockets = uri::local_daemon_sockets(&effective, read_only);
    let mut last_error = None;
    for socket in &sockets {
        match connect(&uri::Endpoint::Unix(socket.clone())) {
            Ok(connected) => {
                let (driver, server_uri) = RemoteDriver::open(connected, resolved.as_deref(), read_only)?;
                let uri = server_uri.unwrap_or(effective);
                return Ok(Some((uri, driver)));
            }
            Err(e) => last_error = Some(e),
        }
    }
    match (routing, last_error) {
        (uri::Routing::Always, Some(e)) => Err(e),
        (uri::Routing::Always, None) => Err(Error::new(
            ErrorCode::VIR_ERR_NO_CONNECT,
            ErrorDomain::VIR_FROM_NONE,
            Some(format!("{effective} (VIRT_EVENTS_REMOTE=always, and no daemon socket is known for it)")),
        )),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::params::GivenParam;
    use crate::event::TypedValue;

    fn param(name: &str, value: std::result::Result<TypedValue, i32>) -> GivenParam {
        GivenParam { name: name.into(), value }
    }

    /// What libvirt 9.0's client does with what it cannot send (on the
    /// refusals it crashes instead of returning, so their words are its
    /// serializer's).
    #[test]
    fn setter_parameters_are_serialized_as_by_libvirts_client() {
        let weight = param("weight", Ok(TypedValue::UInt(5)));
        let wire = wire_params(&[param("hole", Err(0)), weight.clone()]).unwrap();
        assert_eq!(wire.0, [TypedParam { field: "weight".into(), value: TypedParamValue::UInt(5) }]);
        let error = wire_params(&[weight.clone(), param("cap", Err(99))]).unwrap_err();
        assert_eq!((error.code, error.domain), (ErrorCode::VIR_ERR_RPC, ErrorDomain::VIR_FROM_NONE));
        assert_eq!(error.message, "unknown parameter type: 99");
        let error = wire_params(&vec![weight; 17]).unwrap_err();
        assert_eq!(error.message, "too many parameters '17' for limit '16'");
    }
}
