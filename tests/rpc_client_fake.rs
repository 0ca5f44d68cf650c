//! The RPC client against a scripted fake server on a unix socket: shared
//! server registrations, events for unknown callback IDs, the legacy
//! procedures, malformed packets, a server that never answers, object
//! filters on the wire, and the polkit and SASL handshakes.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex, Once};
use std::time::{Duration, Instant};

use virt_events::testing::packet::{encode_packet, kind, status, FrameReader, Header, Packet};
use virt_events::testing::protocol::*;
use virt_events::testing::CloseCallback;
use virt_events::testing::Connection;
use virt_events::testing::ErrorCode;
use virt_events::testing::Uuid;
use virt_events::testing::{register_event_loop, DefaultLoop};
use virt_events::testing::{Event, EventClass};
use virt_events::testing::{EventCallback, Subscription};

/// A default event loop run by a thread of its own, for the whole binary.
fn event_loop() {
    static START: Once = Once::new();
    START.call_once(|| {
        // Calls the fake servers leave unanswered fail after 1 s.
        std::env::set_var("VIRT_EVENTS_RPC_TIMEOUT", "1");
        let default = Arc::new(DefaultLoop::new().unwrap());
        assert!(register_event_loop(default.clone()));
        std::thread::spawn(move || loop {
            default.run_once().unwrap();
        });
    });
}

/// What the fake server does with a call: its reply body, or nothing; it
/// may write to the connection first.
type Script = Box<dyn FnMut(&Header, &[u8], &mut UnixStream) -> Option<Vec<u8>> + Send>;

struct FakeServer {
    dir: PathBuf,
    /// The server's end of the connection, to send messages on.
    stream: mpsc::Receiver<UnixStream>,
    /// Every call's procedure number, in order.
    calls: Arc<Mutex<Vec<i32>>>,
}

fn encode<T: virt_events::testing::xdr::Xdr>(value: &T) -> Vec<u8> {
    virt_events::testing::xdr::encode_to_vec(value)
}

impl FakeServer {
    /// Serves one connection: the handshake as libvirtd answers it (feature
    /// 14 as `callback_events` says), then `script` for every other call.
    fn start(name: &str, callback_events: bool, script: Script) -> FakeServer {
        FakeServer::offering(name, callback_events, 0, script)
    }

    /// [`FakeServer::start`] with AUTH_LIST answering `[auth]`.
    fn offering(name: &str, callback_events: bool, auth: i32, mut script: Script) -> FakeServer {
        let dir = std::env::temp_dir().join(format!("virt-events-fake-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let listener = UnixListener::bind(dir.join("sock")).unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (tx, stream) = mpsc::channel();
        let seen = calls.clone();
        std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            tx.send(socket.try_clone().unwrap()).unwrap();
            let mut frames = FrameReader::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = match socket.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                frames.push(&buf[..n]);
                while let Ok(Some(Packet { header, body })) = frames.next_packet() {
                    if header.kind != kind::CALL {
                        continue;
                    }
                    seen.lock().unwrap().push(header.procedure);
                    let reply = match (header.program, header.procedure) {
                        (REMOTE_PROGRAM, remote::AUTH_LIST) => {
                            Some(encode(&AuthListRet { types: virt_events::testing::xdr::Array(vec![auth]) }))
                        }
                        (REMOTE_PROGRAM, remote::CONNECT_SUPPORTS_FEATURE) => {
                            let feature: SupportsFeatureArgs = virt_events::testing::xdr::decode_all(&body).unwrap();
                            let supported = i32::from(feature.feature != 14 || callback_events);
                            Some(encode(&SupportsFeatureRet { supported }))
                        }
                        (
                            REMOTE_PROGRAM,
                            remote::CONNECT_OPEN
                            | remote::CONNECT_REGISTER_CLOSE_CALLBACK
                            | remote::CONNECT_UNREGISTER_CLOSE_CALLBACK,
                        ) => Some(Vec::new()),
                        _ => script(&header, &body, &mut socket),
                    };
                    if let Some(reply) = reply {
                        let mut packet = encode_packet(&header.reply(status::OK), &());
                        packet.extend(reply);
                        let len = packet.len() as u32;
                        packet[..4].copy_from_slice(&len.to_be_bytes());
                        if socket.write_all(&packet).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        FakeServer { dir, stream, calls }
    }

    fn uri(&self) -> String {
        format!("qemu+unix:///system?socket={}", self.dir.join("sock").display())
    }

    fn count(&self, procedure: i32) -> usize {
        self.calls.lock().unwrap().iter().filter(|p| **p == procedure).count()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl EventCallback for Recorder {
    fn identity(&self) -> usize {
        self as *const Recorder as usize
    }
    fn deliver(&self, event: &Event) {
        self.events.lock().unwrap().push(event.clone());
    }
    fn release(&self) {}
}

impl Recorder {
    fn wait_for(&self, count: usize) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.events.lock().unwrap().len() < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        // Anything more would arrive at once.
        std::thread::sleep(Duration::from_millis(200));
        self.events.lock().unwrap().clone()
    }
}

fn dom() -> NonnullDomain {
    NonnullDomain { name: "vm".into(), uuid: Uuid::from_name("vm"), id: 4 }
}

fn lifecycle(callback_id: Option<i32>, event: i32) -> Vec<u8> {
    let msg = LifecycleMsg { dom: dom(), event, detail: 0 };
    match callback_id {
        Some(callback_id) => encode_packet(
            &Header::message(REMOTE_PROGRAM, remote::DOMAIN_EVENT_CALLBACK_LIFECYCLE, 1),
            &Callback { callback_id, msg },
        ),
        None => encode_packet(&Header::message(REMOTE_PROGRAM, remote::DOMAIN_EVENT_LIFECYCLE, 1), &msg),
    }
}

/// Answers the callback registrations with IDs from 7 up.
fn registrations() -> Script {
    let mut next = 7;
    Box::new(move |header, _, _| match header.procedure {
        remote::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
            next += 1;
            Some(encode(&CallbackIdArg { callback_id: next - 1 }))
        }
        remote::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY
        | remote::CONNECT_DOMAIN_EVENT_REGISTER_ANY
        | remote::CONNECT_DOMAIN_EVENT_DEREGISTER_ANY
        | remote::CONNECT_CLOSE => Some(Vec::new()),
        _ => None,
    })
}

#[test]
fn one_server_registration_per_key_and_unknown_ids_dropped() {
    event_loop();
    let server = FakeServer::start("shared", true, registrations());
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    let (first, second) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let lifecycle_of = |id| Subscription::new(conn.id, EventClass::Domain, id);
    let a = conn.driver.register_events(lifecycle_of(0), first.clone()).unwrap();
    let b = conn.driver.register_events(lifecycle_of(0), second.clone()).unwrap();
    let reboot = conn.driver.register_events(lifecycle_of(1), Arc::new(Recorder::default())).unwrap();
    assert_eq!(server.count(remote::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY), 2);
    let mut stream = server.stream.recv().unwrap();
    // 7 is lifecycle's, 8 reboot's; 99 is nobody's, and a lifecycle
    // message on reboot's ID matches no registration either.
    stream.write_all(&lifecycle(Some(99), 3)).unwrap();
    stream.write_all(&lifecycle(Some(8), 3)).unwrap();
    stream.write_all(&lifecycle(Some(7), 4)).unwrap();
    for recorder in [&first, &second] {
        let events = recorder.wait_for(1);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(format!("{:?}", events[0]).contains("Lifecycle { event: 4"), "{events:?}");
    }
    // The last local callback of a key removes the server's registration.
    conn.driver.deregister_events(conn.id, a).unwrap();
    assert_eq!(server.count(remote::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY), 0);
    conn.driver.deregister_events(conn.id, b).unwrap();
    conn.driver.deregister_events(conn.id, reboot).unwrap();
    assert_eq!(server.count(remote::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY), 2);
    assert!(conn.driver.is_alive());
}

#[test]
fn legacy_procedures_without_feature_14() {
    event_loop();
    let server = FakeServer::start("legacy", false, registrations());
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    let recorder = Arc::new(Recorder::default());
    let id = conn.driver.register_events(Subscription::new(conn.id, EventClass::Domain, 0), recorder.clone()).unwrap();
    assert_eq!(server.count(remote::CONNECT_DOMAIN_EVENT_REGISTER_ANY), 1);
    assert_eq!(server.count(remote::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY), 0);
    let mut stream = server.stream.recv().unwrap();
    stream.write_all(&lifecycle(None, 5)).unwrap();
    let events = recorder.wait_for(1);
    assert_eq!(events.len(), 1, "{events:?}");
    conn.driver.deregister_events(conn.id, id).unwrap();
    assert_eq!(server.count(remote::CONNECT_DOMAIN_EVENT_DEREGISTER_ANY), 1);
}

struct CloseRecorder(mpsc::Sender<i32>);

impl CloseCallback for CloseRecorder {
    fn identity(&self) -> usize {
        1
    }
    fn closed(&self, reason: i32) {
        let _ = self.0.send(reason);
    }
}

/// Each kind of garbage closes the connection with an error (the close
/// callback's `VIR_CONNECT_CLOSE_REASON_ERROR`; the garbage is logged), and
/// later calls fail as on any closed connection.
#[test]
fn malformed_packets_close_the_connection() {
    event_loop();
    let header = |program, kind| Header { program, version: 1, procedure: 1, kind, serial: 1, status: 0 };
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("oversize", 0xffff_ffffu32.to_be_bytes().to_vec()),
        ("undersize", 8u32.to_be_bytes().to_vec()),
        ("unknown program", encode_packet(&header(0x1234_5678, kind::MESSAGE), &())),
        ("wrong version", encode_packet(&Header { version: 2, ..header(REMOTE_PROGRAM, kind::MESSAGE) }, &())),
    ];
    for (what, bytes) in garbage {
        let server = FakeServer::start("malformed", true, registrations());
        let conn = Connection::open(Some(&server.uri()), false).unwrap();
        let (tx, rx) = mpsc::channel();
        let recorder: Arc<dyn CloseCallback> = Arc::new(CloseRecorder(tx));
        conn.driver.register_close(&|| recorder.clone()).unwrap();
        server.stream.recv().unwrap().write_all(&bytes).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(0), "{what}");
        assert!(!conn.driver.is_alive(), "{what}");
        let error = conn.driver.lookup_by_name("vm").unwrap_err();
        assert_eq!(error.message, "internal error: client socket is closed", "{what}");
    }
}

/// A message the client cannot decode is dropped; the connection lives.
#[test]
fn undecodable_events_are_dropped() {
    event_loop();
    let server = FakeServer::start("undecodable", true, registrations());
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    let recorder = Arc::new(Recorder::default());
    conn.driver.register_events(Subscription::new(conn.id, EventClass::Domain, 0), recorder.clone()).unwrap();
    let mut stream = server.stream.recv().unwrap();
    let mut truncated = lifecycle(Some(7), 3);
    truncated.truncate(truncated.len() - 4);
    let len = truncated.len() as u32;
    truncated[..4].copy_from_slice(&len.to_be_bytes());
    stream.write_all(&truncated).unwrap();
    stream.write_all(&encode_packet(&Header::message(REMOTE_PROGRAM, 9999, 1), &())).unwrap();
    stream.write_all(&lifecycle(Some(7), 4)).unwrap();
    assert_eq!(recorder.wait_for(1).len(), 1);
    assert!(conn.driver.is_alive());
}

#[test]
fn a_server_that_never_answers_times_out() {
    event_loop();
    let server = FakeServer::start("silent", true, registrations());
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    let started = Instant::now();
    let error = conn.driver.lookup_by_name("vm").unwrap_err();
    assert_eq!(error.code, ErrorCode::VIR_ERR_OPERATION_TIMEOUT, "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The connection itself is fine.
    assert!(conn.driver.is_alive());
}

/// Network and raw QEMU monitor events come through their own server
/// registrations (the remote program's 313, the QEMU program's 4).
#[test]
fn network_and_monitor_events() {
    event_loop();
    let script: Script = Box::new(|header, _, _| match (header.program, header.procedure) {
        (REMOTE_PROGRAM, remote::CONNECT_NETWORK_EVENT_REGISTER_ANY) => Some(encode(&CallbackIdArg { callback_id: 1 })),
        (QEMU_PROGRAM, qemu::CONNECT_DOMAIN_MONITOR_EVENT_REGISTER) => Some(encode(&CallbackIdArg { callback_id: 1 })),
        _ => Some(Vec::new()),
    });
    let server = FakeServer::start("objects", true, script);
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    let (networks, monitor) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    conn.driver.register_events(Subscription::new(conn.id, EventClass::Network, 0), networks.clone()).unwrap();
    let raw = Subscription::new(conn.id, EventClass::QemuMonitor, 0);
    conn.driver.register_qemu_monitor(raw, Some("STOP"), 0, monitor.clone()).unwrap();
    let mut stream = server.stream.recv().unwrap();
    let net = NonnullNetwork { name: "default".into(), uuid: Uuid::from_name("default") };
    let started = NetworkLifecycleMsg { callback_id: 1, net, event: 2, detail: 0 };
    stream
        .write_all(&encode_packet(&Header::message(REMOTE_PROGRAM, remote::NETWORK_EVENT_LIFECYCLE, 1), &started))
        .unwrap();
    let stop =
        QemuMonitorEventMsg { callback_id: 1, dom: dom(), event: "STOP".into(), seconds: 1, micros: 2, details: None };
    stream.write_all(&encode_packet(&Header::message(QEMU_PROGRAM, qemu::DOMAIN_MONITOR_EVENT, 1), &stop)).unwrap();
    let networks = networks.wait_for(1);
    assert_eq!(networks.len(), 1);
    assert!(format!("{networks:?}").contains("name: \"default\""), "{networks:?}");
    let monitor = monitor.wait_for(1);
    assert_eq!(monitor.len(), 1);
    assert!(format!("{monitor:?}").contains("name: \"STOP\""), "{monitor:?}");
}

/// libvirtd may send a registration's first event before its reply is
/// read: it is held until the registration is recorded, not dropped.
#[test]
fn an_event_ahead_of_its_registration_reply_is_delivered() {
    event_loop();
    let script: Script = Box::new(|header, _, socket| match header.procedure {
        remote::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
            socket.write_all(&lifecycle(Some(5), 2)).unwrap();
            Some(encode(&CallbackIdArg { callback_id: 5 }))
        }
        _ => Some(Vec::new()),
    });
    let server = FakeServer::start("ahead", true, script);
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    let recorder = Arc::new(Recorder::default());
    conn.driver.register_events(Subscription::new(conn.id, EventClass::Domain, 0), recorder.clone()).unwrap();
    assert_eq!(recorder.wait_for(1).len(), 1);
}

/// Opening and closing say what libvirt's client says, in its order.
#[test]
fn handshake_and_goodbye_as_libvirt() {
    event_loop();
    let server = FakeServer::start("handshake", true, registrations());
    drop(Connection::open(Some(&server.uri()), true).unwrap());
    use remote::*;
    let expected = [
        AUTH_LIST,
        CONNECT_SUPPORTS_FEATURE,
        CONNECT_OPEN,
        CONNECT_SUPPORTS_FEATURE,
        CONNECT_SUPPORTS_FEATURE,
        CONNECT_CLOSE,
    ];
    assert_eq!(*server.calls.lock().unwrap(), expected);
}

/// The server is asked for its close notice when the application
/// registers a close callback and told when it unregisters, as libvirt's
/// client does (not when the connection opens and closes); a second
/// registration, or the unregistration of another function, is refused
/// before anything is sent.
#[test]
fn close_callback_registration_as_libvirt() {
    event_loop();
    let server = FakeServer::start("close-callback", true, registrations());
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    let (tx, _rx) = mpsc::channel();
    let recorder: Arc<dyn CloseCallback> = Arc::new(CloseRecorder(tx));
    conn.driver.register_close(&|| recorder.clone()).unwrap();
    let again = conn.driver.register_close(&|| recorder.clone()).unwrap_err();
    assert_eq!(again.message, "Requested operation is not valid: A close callback is already registered");
    let other = conn.driver.unregister_close(2).unwrap_err();
    assert_eq!(other.message, "Requested operation is not valid: A different callback was requested");
    conn.driver.unregister_close(recorder.identity()).unwrap();
    drop(conn);
    use remote::*;
    let calls = server.calls.lock().unwrap().clone();
    let after_open = &calls[calls.iter().position(|&p| p == CONNECT_OPEN).unwrap() + 3..];
    assert_eq!(after_open, [CONNECT_REGISTER_CLOSE_CALLBACK, CONNECT_UNREGISTER_CLOSE_CALLBACK, CONNECT_CLOSE]);
}

/// Answers AUTH_POLKIT as libvirtd does once polkit agreed.
fn polkit() -> Script {
    Box::new(move |header, _, _| match header.procedure {
        remote::AUTH_POLKIT => Some(encode(&AuthPolkitRet { complete: 1 })),
        remote::CONNECT_CLOSE => Some(Vec::new()),
        _ => None,
    })
}

/// polkit (what libvirtd offers a non-root peer of its system socket): the
/// client calls AUTH_POLKIT, as libvirt's does, then opens.
#[test]
fn polkit_is_answered_with_auth_polkit() {
    event_loop();
    let server = FakeServer::offering("polkit", true, 2, polkit());
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    assert!(conn.driver.is_alive());
    drop(conn);
    let calls = server.calls.lock().unwrap().clone();
    use remote::*;
    assert_eq!(calls[..4], [AUTH_LIST, AUTH_POLKIT, CONNECT_SUPPORTS_FEATURE, CONNECT_OPEN]);
}

/// SASL is refused before anything else is sent, with the error libvirt's
/// client built without SASL reports (remote_driver.c, remoteAuthenticate:
/// VIR_ERR_AUTH_FAILED in VIR_FROM_REMOTE, "unsupported authentication
/// type %d").
#[test]
fn sasl_is_refused_as_libvirt_without_sasl() {
    event_loop();
    let server = FakeServer::offering("sasl", true, 1, polkit());
    let error = Connection::open(Some(&server.uri()), false).err().expect("refused");
    assert_eq!(error.code, ErrorCode::VIR_ERR_AUTH_FAILED);
    assert_eq!(error.domain, virt_events::testing::ErrorDomain::VIR_FROM_REMOTE);
    assert_eq!(error.message, "authentication failed: unsupported authentication type 1");
    assert_eq!(*server.calls.lock().unwrap(), [remote::AUTH_LIST]);
}

/// A registration for one secret sends the secret as its handle names it
/// (UUID, usage type, usage ID), and only that secret's messages reach it.
#[test]
fn a_secret_filter_goes_on_the_wire_and_filters_messages() {
    event_loop();
    let sent = Arc::new(Mutex::new(None));
    let seen = sent.clone();
    let script: Script = Box::new(move |header, body, _| match header.procedure {
        remote::CONNECT_SECRET_EVENT_REGISTER_ANY => {
            *seen.lock().unwrap() =
                Some(virt_events::testing::xdr::decode_all::<SecretEventRegisterArgs>(body).unwrap());
            Some(encode(&CallbackIdArg { callback_id: 3 }))
        }
        remote::CONNECT_SECRET_EVENT_DEREGISTER_ANY | remote::CONNECT_CLOSE => Some(Vec::new()),
        _ => None,
    });
    let server = FakeServer::start("secret-filter", true, script);
    let conn = Connection::open(Some(&server.uri()), false).unwrap();
    let ours = NonnullSecret { uuid: Uuid::from_name("ours"), usage_type: 2, usage_id: "/var/lib/disk".into() };
    let other = NonnullSecret { uuid: Uuid::from_name("other"), usage_type: 2, usage_id: "/var/lib/other".into() };
    let object = virt_events::testing::ObjectIdentity {
        usage_type: ours.usage_type,
        ..virt_events::testing::ObjectIdentity::named(ours.usage_id.clone(), ours.uuid)
    };
    let subscription = Subscription {
        target: Some(EventClass::Secret.target_key(ours.uuid, &ours.usage_id)),
        object: Some(object),
        ..Subscription::new(conn.id, EventClass::Secret, 0)
    };
    let recorder = Arc::new(Recorder::default());
    let id = conn.driver.register_events(subscription, recorder.clone()).unwrap();
    let expected = SecretEventRegisterArgs { event_id: 0, secret: Some(ours.clone()) };
    assert_eq!(sent.lock().unwrap().as_ref(), Some(&expected));
    let mut stream = server.stream.recv().unwrap();
    for (secret, event) in [(other, 1), (ours, 0)] {
        let msg = SecretLifecycleMsg { callback_id: 3, secret, event, detail: 0 };
        stream
            .write_all(&encode_packet(&Header::message(REMOTE_PROGRAM, remote::SECRET_EVENT_LIFECYCLE, 1), &msg))
            .unwrap();
    }
    let events = recorder.wait_for(1);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(format!("{:?}", events[0]).contains("/var/lib/disk"), "{events:?}");
    conn.driver.deregister_events(conn.id, id).unwrap();
    assert_eq!(server.count(remote::CONNECT_SECRET_EVENT_DEREGISTER_ANY), 1);
}
