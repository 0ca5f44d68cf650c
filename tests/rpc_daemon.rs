//! virt-eventsd's protocol semantics and its resistance to faulty clients,
//! with hand-driven clients over its unix socket (`test:///default`).

mod rpc;

use std::io::Write;
use std::time::{Duration, Instant};

use rpc::{Daemon, Libvirtd, RawClient};
use virt_events::testing::packet::{encode_packet, kind, status, Header};
use virt_events::testing::protocol::{
    self, remote, Body, Callback, LifecycleMsg, KEEPALIVE_PROGRAM, QEMU_PROGRAM, REMOTE_PROGRAM,
};
use virt_events::testing::xdr::{decode_all, encode_to_vec, Decoder, Encoder, Xdr, XdrResult};

const TEST: &[&str] = &["--uri", "test:///default"];

/// Suspends and resumes the test domain through the daemon, `times` times.
fn flip(client: &mut RawClient, times: usize) {
    let dom = client.lookup("test");
    for _ in 0..times {
        let args = protocol::DomainArg { dom: dom.clone() };
        client.call::<()>(REMOTE_PROGRAM, remote::DOMAIN_SUSPEND, &args).unwrap();
        client.call::<()>(REMOTE_PROGRAM, remote::DOMAIN_RESUME, &args).unwrap();
    }
}

/// The next lifecycle event (event, detail) a client receives.
fn next_lifecycle(client: &mut RawClient) -> Option<(i32, i32, i32)> {
    loop {
        let packet = client.next_packet()?;
        if packet.header.procedure == remote::DOMAIN_EVENT_CALLBACK_LIFECYCLE && packet.header.kind == kind::MESSAGE {
            assert_eq!(packet.header.serial, 1, "events go out with serial 1, as libvirtd sends them");
            let msg: Callback<LifecycleMsg> = decode_all(&packet.body).unwrap();
            return Some((msg.callback_id, msg.msg.event, msg.msg.detail));
        }
    }
}

#[test]
fn events_follow_the_registration_reply_in_order_and_only_registered_ones() {
    let daemon = Daemon::start("order", TEST);
    let mut watcher = RawClient::connect(&daemon.socket);
    watcher.open(Some("qemu:///session"), 6);
    let reboot_id = watcher.register_domain_event(1);
    let lifecycle_id = watcher.register_domain_event(0);
    assert_ne!(reboot_id, lifecycle_id);
    let mut actor = RawClient::connect(&daemon.socket);
    actor.open(None, 0);
    flip(&mut actor, 3);
    // VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED.
    for _ in 0..3 {
        assert_eq!(next_lifecycle(&mut watcher), Some((lifecycle_id, 3, 0)));
        assert_eq!(next_lifecycle(&mut watcher), Some((lifecycle_id, 4, 0)));
    }
    // The actor registered nothing and got nothing but its replies.
    actor.stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert!(actor.next_packet().is_none());
    // After deregistration, nothing more arrives.
    let args = protocol::CallbackIdArg { callback_id: lifecycle_id };
    watcher.call::<()>(REMOTE_PROGRAM, remote::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, &args).unwrap();
    let again = watcher.call::<()>(REMOTE_PROGRAM, remote::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, &args);
    let expected = format!("domain event callback {lifecycle_id} not registered");
    assert_eq!(again.unwrap_err().message, Some(expected));
    flip(&mut actor, 1);
    watcher.stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert_eq!(next_lifecycle(&mut watcher), None);
}

#[test]
fn errors_are_libvirtds() {
    let daemon = Daemon::start("errors", TEST);
    let mut client = RawClient::connect(&daemon.socket);
    // Before CONNECT_OPEN only the handshake is served.
    let early = client.call::<protocol::DomainArg>(
        REMOTE_PROGRAM,
        remote::DOMAIN_LOOKUP_BY_NAME,
        &protocol::LookupByNameArgs { name: "test".into() },
    );
    assert_eq!(early.unwrap_err().message.as_deref(), Some("internal error: connection not open"));
    client.open(Some("test:///default"), 0);
    let twice =
        client.call::<()>(REMOTE_PROGRAM, remote::CONNECT_OPEN, &protocol::ConnectOpenArgs { name: None, flags: 0 });
    assert_eq!(twice.unwrap_err().message.as_deref(), Some("internal error: connection already open"));
    let unknown = client.call::<()>(REMOTE_PROGRAM, 9999, &()).unwrap_err();
    assert_eq!((unknown.code, unknown.domain), (39, 7)); // VIR_ERR_RPC, VIR_FROM_RPC
    assert_eq!(unknown.message.as_deref(), Some("unknown procedure: 9999"));
    // CONNECT_GET_SYSINFO (203), which the daemon does not serve.
    let unserved = client.call::<()>(REMOTE_PROGRAM, 203, &()).unwrap_err();
    assert_eq!((unserved.code, unserved.domain), (3, 20)); // VIR_ERR_NO_SUPPORT, VIR_FROM_DOMAIN
    assert_eq!(
        unserved.message.as_deref(),
        Some("this function is not supported by the connection driver: virConnectGetSysinfo")
    );
    let bad_id = client.call::<protocol::CallbackIdArg>(
        REMOTE_PROGRAM,
        remote::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
        &protocol::DomainEventCallbackRegisterArgs { event_id: 27, dom: None },
    );
    assert_eq!(bad_id.unwrap_err().message.as_deref(), Some("internal error: unsupported event ID 27"));
    let missing = client.call::<protocol::DomainArg>(
        REMOTE_PROGRAM,
        remote::DOMAIN_LOOKUP_BY_NAME,
        &protocol::LookupByNameArgs { name: "nosuch".into() },
    );
    assert_eq!(missing.unwrap_err().code, 42); // VIR_ERR_NO_DOMAIN
    let uri: protocol::GetUriRet = client.call(REMOTE_PROGRAM, remote::CONNECT_GET_URI, &()).unwrap();
    assert_eq!(uri.uri, "test:///default");
}

/// `qemu_domain_monitor_command_args`: what virsh's qemu-monitor-command sends.
#[derive(Debug)]
struct MonitorCommandArgs {
    dom: protocol::NonnullDomain,
    cmd: String,
    flags: u32,
}

impl Xdr for MonitorCommandArgs {
    fn encode(&self, e: &mut Encoder) {
        self.dom.encode(e);
        self.cmd.encode(e);
        self.flags.encode(e);
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<MonitorCommandArgs> {
        Ok(MonitorCommandArgs { dom: Xdr::decode(d)?, cmd: Xdr::decode(d)?, flags: Xdr::decode(d)? })
    }
}

#[test]
fn unserved_procedures_name_libvirts_function() {
    let daemon = Daemon::start("unserved", TEST);
    let mut client = RawClient::connect(&daemon.socket);
    client.open(Some("test:///default"), 0);
    let not_supported = |client: &mut RawClient, program, procedure, args: &dyn Body| {
        let e = client.call::<()>(program, procedure, args).unwrap_err();
        assert_eq!(e.code, 3, "{procedure}: {e:?}"); // VIR_ERR_NO_SUPPORT
        e.message
            .unwrap()
            .strip_prefix("this function is not supported by the connection driver: ")
            .unwrap()
            .to_string()
    };
    // Spelled as libvirt's API spells them, internal migration steps included.
    for (procedure, function) in [
        (20, "virDomainGetVcpus"),
        (26, "virDomainPinVcpu"),
        (135, "virConnectDomainXMLFromNative"),
        (158, "virConnectCompareCPU"),
        (214, "virDomainMigratePrepare3"),
        (297, "virNodeDeviceLookupSCSIHostByWWN"),
        (443, "virDomainFDAssociate"),
    ] {
        assert_eq!(not_supported(&mut client, REMOTE_PROGRAM, procedure, &()), function);
    }
    let dom = client.lookup("test");
    let args = MonitorCommandArgs { dom, cmd: "{\"execute\":\"query-status\"}".into(), flags: 0 };
    assert_eq!(not_supported(&mut client, QEMU_PROGRAM, 1, &args), "virDomainQemuMonitorCommand");
    assert_eq!(not_supported(&mut client, QEMU_PROGRAM, 7, &args), "virDomainQemuMonitorCommandWithFiles");
    // Numbers libvirt 9.0 does not have, and messages only servers send.
    for (program, procedure) in
        [(REMOTE_PROGRAM, 444), (REMOTE_PROGRAM, 100000), (REMOTE_PROGRAM, 107), (QEMU_PROGRAM, 6)]
    {
        let e = client.call::<()>(program, procedure, &()).unwrap_err();
        assert_eq!((e.code, e.domain), (39, 7), "{procedure}"); // VIR_ERR_RPC, VIR_FROM_RPC
        assert_eq!(e.message, Some(format!("unknown procedure: {procedure}")));
    }
    // An authentication step the daemon did not offer (it offers none).
    let e = client.call::<()>(REMOTE_PROGRAM, 70, &()).unwrap_err();
    assert_eq!((e.code, e.domain), (45, 7)); // VIR_ERR_AUTH_FAILED, VIR_FROM_RPC
    assert_eq!(e.message.as_deref(), Some("authentication failed: authentication failed"));
    // Each in its family's error domain, as real libvirt 9.0 reports these
    // very functions (tests/data/api/real-rw.txt): storage 18, nwfilter 33.
    for (procedure, domain) in [(403, 18), (286, 33)] {
        let e = client.call::<()>(REMOTE_PROGRAM, procedure, &()).unwrap_err();
        assert_eq!((e.code, e.domain), (3, domain), "{procedure}: {e:?}");
    }
}

/// What a client writing the messages itself gets past libvirt's client:
/// the protocol's limits as libvirtd checks them, then the public
/// functions' checks libvirtd repeats, in its order and words (recorded
/// from a real libvirtd 9.0 serving `test:///default`).
#[test]
fn stats_procedures_check_their_arguments_as_libvirtd() {
    use protocol::*;
    use virt_events::testing::xdr::Array;
    let daemon = Daemon::start("stats-limits", TEST);
    let mut client = RawClient::connect(&daemon.socket);
    client.open(Some("test:///default"), 0);
    let dom = client.lookup("test");
    let mut error = |procedure, args: &dyn Body| {
        let e = client.call::<()>(REMOTE_PROGRAM, procedure, args).unwrap_err();
        (e.code, e.domain, e.message.unwrap_or_default())
    };
    let cells = |start_cell, maxcells| NodeGetCellsFreeMemoryArgs { start_cell, maxcells };
    let cells_proc = remote::NODE_GET_CELLS_FREE_MEMORY;
    assert_eq!(error(cells_proc, &cells(0, 1025)), (39, 7, "maxcells > REMOTE_NODE_MAX_CELLS".into()));
    assert_eq!(error(cells_proc, &cells(0, -1)), (39, 7, "maxcells must be non-negative".into()));
    let zero = "maxCells in virNodeGetCellsFreeMemory must be greater than zero";
    assert_eq!(error(cells_proc, &cells(0, 0)), (8, 20, zero.into()));
    let negative = "startCell in virNodeGetCellsFreeMemory must be zero or greater";
    assert_eq!(error(cells_proc, &cells(-1, 1)), (8, 20, negative.into()));
    let get = |nparams| SchedulerParametersArgs { dom: dom.clone(), nparams };
    let get_proc = remote::DOMAIN_GET_SCHEDULER_PARAMETERS;
    assert_eq!(error(get_proc, &get(17)), (1, 7, "internal error: nparams too large".into()));
    let no_params = "params in virDomainGetSchedulerParameters must not be NULL";
    assert_eq!(error(get_proc, &get(0)), (8, 20, no_params.into()));
    let get_flags = |flags| SchedulerParametersFlagsArgs { dom: dom.clone(), nparams: 1, flags };
    let both = "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive";
    assert_eq!(error(remote::DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS, &get_flags(3)), (8, 20, both.into()));
    // The public function adds VIR_TYPED_PARAM_STRING_OKAY, which the test
    // driver refuses.
    let refused = "unsupported flags (0x4) in function testDomainGetSchedulerParametersFlags";
    assert_eq!(error(remote::DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS, &get_flags(0)), (8, 12, refused.into()));
    let weight = |field: &str| TypedParam { field: field.into(), value: TypedParamValue::UInt(7) };
    let set = |params| SetSchedulerParametersArgs { dom: dom.clone(), params: Array(params) };
    let set_proc = remote::DOMAIN_SET_SCHEDULER_PARAMETERS;
    let no_params = "params in virDomainSetSchedulerParameters must not be NULL";
    assert_eq!(error(set_proc, &set(vec![])), (8, 20, no_params.into()));
    let long = "a".repeat(80);
    let too_big = format!("internal error: parameter {long} too big for destination");
    assert_eq!(error(set_proc, &set(vec![weight(&long)])), (1, 0, too_big));
    let unsupported = "argument unsupported: parameter 'cap' not supported";
    assert_eq!(error(set_proc, &set(vec![weight("cap")])), (74, 0, unsupported.into()));
    let stats = |max_stats| MemoryStatsArgs { dom: dom.clone(), max_stats, flags: 0 };
    let too_many = "internal error: maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX";
    assert_eq!(error(remote::DOMAIN_MEMORY_STATS, &stats(1025)), (1, 7, too_many.into()));
    let none: MemoryStatsRet = client.call(REMOTE_PROGRAM, remote::DOMAIN_MEMORY_STATS, &stats(0)).unwrap();
    assert_eq!(none.stats.0, []);
    let two: MemoryStatsRet = client.call(REMOTE_PROGRAM, remote::DOMAIN_MEMORY_STATS, &stats(2)).unwrap();
    assert_eq!(two.stats.0, [MemoryStat { tag: 6, val: 2097152 }, MemoryStat { tag: 0, val: 0 }]);
    let some: NodeGetCellsFreeMemoryRet = client.call(REMOTE_PROGRAM, cells_proc, &cells(1, 5)).unwrap();
    assert_eq!(some.cells.0, [4194304]);
    // A domain that does not exist: the test driver does not look it up.
    let gone = NonnullDomain { name: "gone".into(), uuid: dom.uuid, id: -1 };
    let updated: IntRet = client.call(REMOTE_PROGRAM, remote::DOMAIN_IS_UPDATED, &DomainArg { dom: gone }).unwrap();
    assert_eq!(updated.value, 0);
    let max: IntRet = client
        .call(REMOTE_PROGRAM, remote::CONNECT_GET_MAX_VCPUS, &ConnectGetMaxVcpusArgs { virt_type: None })
        .unwrap();
    assert_eq!(max.value, 32);
}

#[test]
fn read_only_clients_cannot_modify() {
    let daemon = Daemon::start("readonly", TEST);
    for (socket, flags) in [(&daemon.socket_ro, 0), (&daemon.socket, 1)] {
        let mut client = RawClient::connect(socket);
        client.open(None, flags);
        let dom = client.lookup("test");
        let denied = client.call::<()>(REMOTE_PROGRAM, remote::DOMAIN_SUSPEND, &protocol::DomainArg { dom });
        let denied = denied.unwrap_err();
        assert_eq!(denied.code, 29); // VIR_ERR_OPERATION_DENIED
        assert_eq!(denied.message.as_deref(), Some("operation forbidden: read only access prevents virDomainSuspend"));
        let net: protocol::NetworkArg = client
            .call(
                REMOTE_PROGRAM,
                remote::NETWORK_LOOKUP_BY_NAME,
                &protocol::LookupByNameArgs { name: "default".into() },
            )
            .unwrap();
        let denied = client.call::<()>(REMOTE_PROGRAM, remote::NETWORK_DESTROY, &net).unwrap_err();
        assert_eq!(
            (denied.code, denied.domain, denied.message.as_deref()),
            (29, 19, Some("operation forbidden: read only access prevents virNetworkDestroy")) // VIR_FROM_NETWORK
        );
        // Secrets stay in: libvirt refuses the secure and the migratable
        // forms of the XML to read-only clients, and answers the plain one.
        for flags in [1, 8] {
            let args = protocol::DomainFlagsArgs { dom: client.lookup("test"), flags };
            let denied = client.call::<()>(REMOTE_PROGRAM, remote::DOMAIN_GET_XML_DESC, &args).unwrap_err();
            assert_eq!(
                (denied.code, denied.domain, denied.message.as_deref()),
                (29, 20, Some("operation forbidden: virDomainGetXMLDesc with secure flag")) // VIR_FROM_DOMAIN
            );
        }
        let args = protocol::DomainFlagsArgs { dom: client.lookup("test"), flags: 0 };
        client.call::<protocol::DomainGetXmlDescRet>(REMOTE_PROGRAM, remote::DOMAIN_GET_XML_DESC, &args).unwrap();
        // Watching is allowed.
        client.register_domain_event(0);
    }
}

/// A packet of `header` and `body`, written by hand.
fn raw_packet(header: Header, body: &[u8]) -> Vec<u8> {
    let mut bytes = encode_packet(&header, &());
    bytes.extend_from_slice(body);
    let len = bytes.len() as u32;
    bytes[..4].copy_from_slice(&len.to_be_bytes());
    bytes
}

/// A call's header; its serial is one no `RawClient` call reaches.
fn call_header(procedure: i32) -> Header {
    Header { program: REMOTE_PROGRAM, version: 1, procedure, kind: kind::CALL, serial: 0x7777, status: status::OK }
}

fn keepalive_header(procedure: i32) -> Header {
    Header { program: KEEPALIVE_PROGRAM, kind: kind::MESSAGE, serial: 0, ..call_header(procedure) }
}

fn call_packet(procedure: i32, body: &[u8]) -> Vec<u8> {
    raw_packet(call_header(procedure), body)
}

/// Malformed packets close the connection, as libvirtd 9.0 does for these
/// (checked with a real one). Anything else it answers or ignores (see
/// `what_libvirtd_answers_or_ignores_leaves_the_connection_serving`).
#[test]
fn malformed_and_oversize_packets_close_only_that_client() {
    let mut daemon = Daemon::start("malformed", TEST);
    let mut bystander = RawClient::connect(&daemon.socket);
    bystander.open(None, 0);
    let id = bystander.register_domain_event(0);
    let oversize = (32u32 << 20) + 5;
    let cases: Vec<Vec<u8>> = vec![
        // A length beyond 32 MiB + 4.
        oversize.to_be_bytes().to_vec(),
        // A length smaller than a header.
        [0, 0, 0, 8, 0, 0, 0, 0].to_vec(),
        // A call with file descriptors, which the daemon does not take; with
        // no count of them libvirtd closes the connection too.
        raw_packet(Header { kind: kind::CALL_WITH_FDS, ..call_header(remote::AUTH_LIST) }, &[]),
    ];
    for (index, bytes) in cases.iter().enumerate() {
        let mut client = RawClient::connect(&daemon.socket);
        client.stream.write_all(bytes).unwrap();
        assert!(client.closed_by_server(Duration::from_secs(5)), "case {index} left the client connected");
    }
    // Killed mid-message: half a packet, then gone.
    let mut half = RawClient::connect(&daemon.socket);
    half.stream.write_all(&call_packet(remote::AUTH_LIST, &[])[..10]).unwrap();
    drop(half);
    // The bystander still gets its events.
    let mut actor = RawClient::connect(&daemon.socket);
    actor.open(None, 0);
    flip(&mut actor, 1);
    assert_eq!(next_lifecycle(&mut bystander), Some((id, 3, 0)));
    assert!(daemon.alive());
    let (status, log) = daemon.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("malformed packet: packet length 33554437 exceeds the maximum 33554436"), "{log}");
}

/// What libvirtd 9.0 (here a real one, the unprivileged session daemon)
/// answers without closing the connection, the daemon answers with the
/// same bytes: a call whose arguments do not decode (too many parameters, a
/// parameter of no known type, a truncated or oversize string) gets
/// VIR_ERR_RPC "Unable to decode message payload", before the connection
/// is open too; bytes after a call's arguments are ignored; a call to a
/// program or version not served, or with a status, gets its own RPC
/// error; a keepalive PING gets its PONG whatever its body; other
/// messages get nothing. Each case is followed by a valid call, whose
/// reply comes next.
#[test]
fn what_libvirtd_answers_or_ignores_leaves_the_connection_serving() {
    use virt_events::testing::xdr::Array;
    let ours = Daemon::start("undecodable", TEST);
    let real = Libvirtd::start("undecodable");
    let answers = |socket: &std::path::Path| {
        let mut client = RawClient::connect(socket);
        // What the case brought (when `answered`), and the reply to a valid
        // call after it: libvirtd's workers may send them in either order.
        let exchange = |client: &mut RawClient, (bytes, answered): &(Vec<u8>, bool), then: i32| {
            client.stream.write_all(bytes).unwrap();
            let serial = client.send_call(REMOTE_PROGRAM, then, &());
            let (mut answer, mut valid) = (None, None);
            while valid.is_none() || (*answered && answer.is_none()) {
                let packet = client.next_packet().expect("the connection still open");
                if (packet.header.program, packet.header.serial) == (REMOTE_PROGRAM, serial) {
                    assert_eq!(packet.header.status, status::OK, "{packet:?}");
                    valid = Some(packet);
                } else {
                    assert!(answer.replace(packet).is_none(), "one answer to a packet");
                }
            }
            (answer, valid.unwrap())
        };
        let (answered, ignored) = (true, false);
        let unopened = [
            (call_packet(remote::DOMAIN_LOOKUP_BY_NAME, &[]), answered),
            (raw_packet(Header { program: 0x1234_5678, ..call_header(1) }, &[]), answered),
            (raw_packet(Header { program: 0xdead_beef, ..call_header(1) }, &[]), answered),
            (raw_packet(Header { version: 2, ..call_header(remote::AUTH_LIST) }, &[]), answered),
            (raw_packet(Header { program: KEEPALIVE_PROGRAM, ..call_header(1) }, &[]), answered),
            (raw_packet(Header { status: status::ERROR, ..call_header(remote::AUTH_LIST) }, &[]), answered),
            (raw_packet(Header { kind: kind::REPLY, ..call_header(remote::AUTH_LIST) }, &[]), ignored),
            (raw_packet(Header { kind: kind::MESSAGE, ..call_header(remote::AUTH_LIST) }, &[]), ignored),
            (raw_packet(Header { program: 0x1234_5678, kind: kind::MESSAGE, ..call_header(1) }, &[]), ignored),
            (raw_packet(Header { version: 2, ..keepalive_header(1) }, &[]), ignored),
            (raw_packet(keepalive_header(1), &[0, 0, 0, 1]), answered),
        ];
        let mut seen: Vec<_> = unopened.iter().map(|case| exchange(&mut client, case, remote::AUTH_LIST)).collect();
        client.open(Some("test:///default"), 0);
        let dom = client.lookup("test");
        let weight = protocol::TypedParam { field: "weight".into(), value: protocol::TypedParamValue::UInt(7) };
        let seventeen = protocol::SetSchedulerParametersArgs { dom: dom.clone(), params: Array(vec![weight; 17]) };
        let mut unknown_type = encode_to_vec(&dom);
        unknown_type.extend_from_slice(&encode_to_vec(&1u32));
        unknown_type.extend_from_slice(&encode_to_vec(&"weight".to_string()));
        unknown_type.extend_from_slice(&encode_to_vec(&99i32));
        unknown_type.extend_from_slice(&encode_to_vec(&7u32));
        let open = [
            call_packet(remote::DOMAIN_SET_SCHEDULER_PARAMETERS, &encode_to_vec(&seventeen)),
            call_packet(remote::DOMAIN_SET_SCHEDULER_PARAMETERS, &unknown_type),
            // A name claiming more bytes than the packet holds.
            call_packet(remote::CONNECT_OPEN, &[0, 0, 0, 1, 0, 0, 0x10, 0]),
            // A string longer than 4 MiB, refused before it is read.
            call_packet(remote::DOMAIN_LOOKUP_BY_NAME, &(4_194_305u32).to_be_bytes()),
            // Trailing bytes after the arguments: a plain answer.
            call_packet(remote::CONNECT_GET_URI, &[0, 0, 0, 10, 1]),
        ];
        seen.extend(open.into_iter().map(|bytes| exchange(&mut client, &(bytes, answered), remote::CONNECT_GET_URI)));
        seen
    };
    let (mine, libvirtds) = (answers(&ours.socket), answers(&real.socket));
    assert_eq!(mine.len(), libvirtds.len());
    for (index, (ours, theirs)) in mine.iter().zip(&libvirtds).enumerate() {
        assert_eq!(ours, theirs, "case {index}");
    }
    let error_of = |packet: &virt_events::testing::packet::Packet| {
        assert_eq!(packet.header.kind, kind::REPLY);
        assert_eq!(packet.header.status, status::ERROR);
        let error: protocol::RemoteError = decode_all(&packet.body).unwrap();
        assert_eq!((error.code, error.domain, error.level), (39, 7, 2)); // VIR_ERR_RPC, VIR_FROM_RPC, VIR_ERR_ERROR
        error.message.unwrap()
    };
    let answers: Vec<_> = mine.iter().filter_map(|(answer, _)| answer.as_ref()).collect();
    assert_eq!(answers[0].header, Header { kind: kind::REPLY, status: status::ERROR, ..call_header(23) });
    let messages: Vec<_> = answers.iter().filter(|p| p.header.status == status::ERROR).map(|p| error_of(p)).collect();
    let undecodable = "Unable to decode message payload";
    let expected = [
        undecodable,
        "Cannot find program 305419896 version 1",
        "Cannot find program -559038737 version 1",
        "Cannot find program 536903814 version 2",
        "Cannot find program 1801807216 version 1",
        "Unexpected message status 1",
        undecodable,
        undecodable,
        undecodable,
        undecodable,
    ];
    assert_eq!(messages, expected);
    // The PING with a body got its PONG; the trailing bytes, their URI.
    let pong = mine[10].0.as_ref().unwrap();
    assert_eq!(pong.header, keepalive_header(2));
    let uri = mine[15].0.as_ref().unwrap();
    assert_eq!(uri.header, Header { kind: kind::REPLY, ..call_header(remote::CONNECT_GET_URI) });
    let (status, log) = ours.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("length 4194305 exceeds the maximum 4194304"), "{log}");
}

#[test]
fn a_client_that_never_reads_is_dropped_and_others_keep_receiving() {
    let mut daemon = Daemon::start("slow", &["--uri", "test:///default", "--max-queue", "65536"]);
    let mut stalled = RawClient::connect(&daemon.socket);
    stalled.open(None, 0);
    stalled.register_domain_event(0);
    let mut reader = RawClient::connect(&daemon.socket);
    reader.open(None, 0);
    let id = reader.register_domain_event(0);
    let mut actor = RawClient::connect(&daemon.socket);
    actor.open(None, 0);
    // Each round is two 72-byte events: enough to fill the socket buffers
    // of the stalled client and then its 64 KiB queue.
    let rounds = 4000;
    let reading = std::thread::spawn(move || {
        let mut count = 0;
        while count < 2 * rounds {
            match next_lifecycle(&mut reader) {
                Some((callback, _, _)) if callback == id => count += 1,
                _ => break,
            }
        }
        count
    });
    flip(&mut actor, rounds);
    assert_eq!(reading.join().unwrap(), 2 * rounds, "the reading client lost events");
    assert!(daemon.alive());
    let (status, log) = daemon.stop();
    assert!(status.success());
    assert!(log.contains("client is not reading"), "{log}");
    drop(stalled);
}

#[test]
fn keepalive_pings_only_clients_that_asked_and_drops_silent_ones() {
    let daemon = Daemon::start(
        "keepalive",
        &["--uri", "test:///default", "--keepalive-interval", "0.2", "--keepalive-count", "2"],
    );
    // go-libvirt's way: no SUPPORTS_FEATURE, never answers: never pinged, kept.
    let mut quiet = RawClient::connect(&daemon.socket);
    quiet.open(None, 0);
    // A libvirt client that asked feature 10 and then answers nothing.
    let mut asked = RawClient::connect(&daemon.socket);
    let feature: protocol::SupportsFeatureRet = asked
        .call(REMOTE_PROGRAM, remote::CONNECT_SUPPORTS_FEATURE, &protocol::SupportsFeatureArgs { feature: 10 })
        .unwrap();
    assert_eq!(feature.supported, 1);
    let start = Instant::now();
    let mut pings = 0;
    while let Some(packet) = asked.next_packet() {
        assert_eq!((packet.header.program, packet.header.procedure), (protocol::KEEPALIVE_PROGRAM, 1));
        assert_eq!((packet.header.kind, packet.header.serial), (kind::MESSAGE, 0));
        pings += 1;
    }
    let elapsed = start.elapsed();
    // Dropped after interval x (count + 1) = 0.6 s of silence, pinged before.
    assert!(
        pings >= 2 && elapsed >= Duration::from_millis(550) && elapsed < Duration::from_secs(3),
        "{pings} {elapsed:?}"
    );
    // Answering keeps a client alive: PING from the client gets a PONG.
    let ping = encode_packet(&Header::message(protocol::KEEPALIVE_PROGRAM, 1, 0), &());
    quiet.stream.write_all(&ping).unwrap();
    let pong = quiet.next_packet().unwrap();
    assert_eq!(
        (pong.header.program, pong.header.procedure, pong.header.kind),
        (protocol::KEEPALIVE_PROGRAM, 2, kind::MESSAGE)
    );
    std::thread::sleep(Duration::from_millis(800));
    let uri: protocol::GetUriRet = quiet.call(REMOTE_PROGRAM, remote::CONNECT_GET_URI, &()).unwrap();
    assert_eq!(uri.uri, "test:///default");
}

#[test]
fn a_hundred_clients_at_once() {
    let daemon = Daemon::start("hundred", TEST);
    let mut clients: Vec<(RawClient, i32)> = (0..100)
        .map(|_| {
            let mut client = RawClient::connect(&daemon.socket);
            client.open(None, 0);
            let id = client.register_domain_event(0);
            (client, id)
        })
        .collect();
    let mut actor = RawClient::connect(&daemon.socket);
    actor.open(None, 0);
    flip(&mut actor, 1);
    for (client, id) in &mut clients {
        assert_eq!(next_lifecycle(client), Some((*id, 3, 0)));
        assert_eq!(next_lifecycle(client), Some((*id, 4, 0)));
    }
}

#[test]
fn socket_modes_and_group() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let daemon = Daemon::start("modes", TEST);
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&daemon.socket), mode(&daemon.socket_ro)), (0o600, 0o666));
    drop(daemon);
    let daemon = Daemon::start("group", &["--uri", "test:///default", "--socket-group", "daemon"]);
    assert_eq!(mode(&daemon.socket), 0o660);
    let daemon_gid = std::fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("daemon:x:").and_then(|rest| rest.split(':').next()?.parse::<u32>().ok()))
        .unwrap();
    assert_eq!(std::fs::metadata(&daemon.socket).unwrap().gid(), daemon_gid);
}

#[test]
fn sigterm_closes_clients_removes_sockets_and_exits_0() {
    let daemon = Daemon::start("sigterm", TEST);
    let mut client = RawClient::connect(&daemon.socket);
    client.open(None, 0);
    let (socket, socket_ro) = (daemon.socket.clone(), daemon.socket_ro.clone());
    let (status, log) = daemon.stop();
    assert!(status.success(), "{status:?}: {log}");
    assert!(client.closed_by_server(Duration::from_secs(5)));
    assert!(!socket.exists() && !socket_ro.exists());
    assert!(log.contains("terminating: closing 1 client(s)"), "{log}");
}

#[test]
fn legacy_registrations_get_legacy_messages() {
    let daemon = Daemon::start("legacy", TEST);
    let mut watcher = RawClient::connect(&daemon.socket);
    watcher.open(None, 0);
    let registered: protocol::LegacyRegisteredRet =
        watcher.call(REMOTE_PROGRAM, remote::CONNECT_DOMAIN_EVENT_REGISTER, &()).unwrap();
    assert_eq!(registered.cb_registered, 1);
    let lifecycle = protocol::LegacyRegisterAnyArgs { event_id: 0 };
    watcher.call::<()>(REMOTE_PROGRAM, remote::CONNECT_DOMAIN_EVENT_REGISTER_ANY, &lifecycle).unwrap();
    // The legacy messages exist for IDs 0-15 only.
    let too_new = protocol::LegacyRegisterAnyArgs { event_id: 16 };
    let refused = watcher.call::<()>(REMOTE_PROGRAM, remote::CONNECT_DOMAIN_EVENT_REGISTER_ANY, &too_new);
    assert_eq!(refused.unwrap_err().message.as_deref(), Some("internal error: unsupported event ID 16"));
    let mut actor = RawClient::connect(&daemon.socket);
    actor.open(None, 0);
    flip(&mut actor, 1);
    let mut seen = vec![];
    while seen.len() < 4 {
        let packet = watcher.next_packet().expect("a legacy message");
        assert_eq!(packet.header.procedure, remote::DOMAIN_EVENT_LIFECYCLE, "only legacy messages");
        let msg: LifecycleMsg = decode_all(&packet.body).unwrap();
        assert_eq!(msg.dom.name, "test");
        seen.push((msg.event, msg.detail));
    }
    // One message per registration, in order.
    assert_eq!(seen, [(3, 0), (3, 0), (4, 0), (4, 0)]);
    let deregistered: protocol::LegacyRegisteredRet =
        watcher.call(REMOTE_PROGRAM, remote::CONNECT_DOMAIN_EVENT_DEREGISTER, &()).unwrap();
    assert_eq!(deregistered.cb_registered, 0);
    watcher.call::<()>(REMOTE_PROGRAM, remote::CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &lifecycle).unwrap();
    flip(&mut actor, 1);
    watcher.stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert!(watcher.next_packet().is_none());
}

#[test]
fn each_client_gets_the_uri_it_opens_or_the_first() {
    let root = std::env::temp_dir().join(format!("virt-eventsd-root-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let embed = format!("qemu:///embed?root={}", root.display());
    let daemon = Daemon::start("uris", &["--uri", "test:///default", "--uri", &embed]);
    for (name, served) in [
        (Some(embed.as_str()), embed.as_str()),
        (Some("qemu:///session"), "test:///default"),
        (Some(""), "test:///default"),
        (None, "test:///default"),
    ] {
        let mut client = RawClient::connect(&daemon.socket);
        client.open(name, 0);
        let uri: protocol::GetUriRet = client.call(REMOTE_PROGRAM, remote::CONNECT_GET_URI, &()).unwrap();
        assert_eq!(uri.uri, served, "opened {name:?}");
        // Raw monitor events exist only where QMP is spoken.
        let args = protocol::QemuMonitorRegisterArgs { dom: None, event: None, flags: 0 };
        let registered = client.call::<protocol::CallbackIdArg>(
            protocol::QEMU_PROGRAM,
            protocol::qemu::CONNECT_DOMAIN_MONITOR_EVENT_REGISTER,
            &args,
        );
        match registered {
            Ok(ret) => {
                assert_eq!(served, embed);
                let args = protocol::CallbackIdArg { callback_id: ret.callback_id };
                client
                    .call::<()>(protocol::QEMU_PROGRAM, protocol::qemu::CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER, &args)
                    .unwrap();
            }
            Err(e) => {
                assert_eq!(served, "test:///default");
                assert_eq!(e.code, 3, "{e:?}"); // VIR_ERR_NO_SUPPORT
            }
        }
    }
    drop(daemon);
    let _ = std::fs::remove_dir_all(&root);
}

/// Records a network lifecycle message: callback ID, network, event.
fn record_network_event(packet: &virt_events::testing::packet::Packet, seen: &mut Vec<(i32, String, i32)>) {
    if packet.header.kind == kind::MESSAGE && packet.header.procedure == remote::NETWORK_EVENT_LIFECYCLE {
        let msg: protocol::NetworkLifecycleMsg = decode_all(&packet.body).unwrap();
        seen.push((msg.callback_id, msg.net.name, msg.event));
    }
}

/// Calls `procedure` and returns its reply's body, recording the network
/// lifecycle messages that come first.
fn call_recording(
    client: &mut RawClient,
    (procedure, args): (i32, &dyn Body),
    seen: &mut Vec<(i32, String, i32)>,
) -> Vec<u8> {
    let serial = client.send_call(REMOTE_PROGRAM, procedure, args);
    loop {
        let packet = client.next_packet().expect("a packet");
        record_network_event(&packet, seen);
        if packet.header.kind == kind::REPLY && packet.header.serial == serial {
            assert_eq!(packet.header.status, status::OK);
            return packet.body;
        }
    }
}

/// A network registration filtered to one network is sent that network's
/// messages only: the daemon filters, not just the client.
#[test]
fn object_filters_are_applied_by_the_daemon() {
    let daemon = Daemon::start("object-filter", TEST);
    let mut client = RawClient::connect(&daemon.socket);
    client.open(None, 0);
    let net: protocol::NetworkArg = client
        .call(REMOTE_PROGRAM, remote::NETWORK_LOOKUP_BY_NAME, &protocol::LookupByNameArgs { name: "default".into() })
        .unwrap();
    let register = |client: &mut RawClient, net: Option<protocol::NonnullNetwork>| {
        let args = protocol::NetworkEventRegisterArgs { event_id: 0, net };
        let ret: protocol::CallbackIdArg =
            client.call(REMOTE_PROGRAM, remote::CONNECT_NETWORK_EVENT_REGISTER_ANY, &args).unwrap();
        ret.callback_id
    };
    let filtered = register(&mut client, Some(net.net.clone()));
    let every = register(&mut client, None);
    let mut seen = vec![];
    let xml = "<network><name>other</name><bridge name='virbr7'/></network>".to_string();
    let create = (remote::NETWORK_CREATE_XML, &protocol::DefineXmlArgs { xml } as &dyn Body);
    let other: protocol::NetworkArg = decode_all(&call_recording(&mut client, create, &mut seen)).unwrap();
    call_recording(&mut client, (remote::NETWORK_DESTROY, &other), &mut seen);
    call_recording(&mut client, (remote::NETWORK_DESTROY, &net), &mut seen);
    // Events are flushed after the replies: whatever comes within 500 ms.
    client.stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    while let Some(packet) = client.next_packet() {
        record_network_event(&packet, &mut seen);
    }
    let expected = [
        (every, "other".to_string(), 2),
        (every, "other".to_string(), 3),
        (filtered, "default".to_string(), 3),
        (every, "default".to_string(), 3),
    ];
    assert_eq!(seen, expected);
}

/// The legacy listings (domains, networks, pools, node devices and their
/// capabilities) answer names, IDs and counts, with
/// `maxnames` checked.
#[test]
fn legacy_listings() {
    let daemon = Daemon::start("legacy-listings", TEST);
    let mut client = RawClient::connect(&daemon.socket);
    client.open(None, 0);
    let num = |client: &mut RawClient, procedure| {
        client.call::<protocol::IntRet>(REMOTE_PROGRAM, procedure, &()).unwrap().value
    };
    let names = |client: &mut RawClient, procedure, maxnames| {
        let args = protocol::ListNamesArgs { maxnames };
        client.call::<protocol::ListNamesRet>(REMOTE_PROGRAM, procedure, &args).map(|ret| ret.names.0)
    };
    assert_eq!(num(&mut client, remote::CONNECT_NUM_OF_NETWORKS), 1);
    assert_eq!(num(&mut client, remote::CONNECT_NUM_OF_DEFINED_STORAGE_POOLS), 0);
    assert_eq!(names(&mut client, remote::CONNECT_LIST_NETWORKS, 5).unwrap(), ["default"]);
    assert_eq!(names(&mut client, remote::CONNECT_LIST_STORAGE_POOLS, 0).unwrap(), Vec::<String>::new());
    assert_eq!(names(&mut client, remote::CONNECT_LIST_DEFINED_NETWORKS, 5).unwrap(), Vec::<String>::new());
    let negative = names(&mut client, remote::CONNECT_LIST_STORAGE_POOLS, -1).unwrap_err();
    assert_eq!((negative.code, negative.domain), (8, 18));
    assert_eq!(negative.message.as_deref(), Some("maxnames in virConnectListStoragePools must be zero or greater"));
    let many = names(&mut client, remote::CONNECT_LIST_NETWORKS, 20000).unwrap_err();
    assert_eq!((many.code, many.domain), (39, 7));
    assert_eq!(many.message.as_deref(), Some("maxnames > REMOTE_NETWORK_LIST_MAX"));
    // Domains: running ones by ID, defined ones by name.
    assert_eq!(num(&mut client, remote::CONNECT_NUM_OF_DOMAINS), 1);
    assert_eq!(num(&mut client, remote::CONNECT_NUM_OF_DEFINED_DOMAINS), 0);
    let ids = |client: &mut RawClient, maxids| {
        let args = protocol::ListIdsArgs { maxids };
        client.call::<protocol::ListIdsRet>(REMOTE_PROGRAM, remote::CONNECT_LIST_DOMAINS, &args).map(|ret| ret.ids.0)
    };
    assert_eq!(ids(&mut client, 5).unwrap(), [1]);
    let many = ids(&mut client, 16385).unwrap_err();
    assert_eq!((many.code, many.domain, many.message.as_deref()), (39, 7, Some("maxids > REMOTE_DOMAIN_LIST_MAX")));
    let negative = ids(&mut client, -1).unwrap_err();
    assert_eq!((negative.code, negative.domain), (8, 20));
    assert_eq!(negative.message.as_deref(), Some("maxids in virConnectListDomains must be zero or greater"));
    assert_eq!(names(&mut client, remote::CONNECT_LIST_DEFINED_DOMAINS, 5).unwrap(), Vec::<String>::new());
    // Node devices, with their own limit (65536) and their capabilities.
    let args = protocol::NodeNumOfDevicesArgs { cap: Some("scsi_host".into()), flags: 0 };
    let count = client.call::<protocol::IntRet>(REMOTE_PROGRAM, remote::NODE_NUM_OF_DEVICES, &args).unwrap();
    assert_eq!(count.value, 3);
    let devices = |client: &mut RawClient, maxnames| {
        let args = protocol::NodeListDevicesArgs { cap: None, maxnames, flags: 0 };
        client.call::<protocol::DeviceNamesRet>(REMOTE_PROGRAM, remote::NODE_LIST_DEVICES, &args).map(|r| r.names.0)
    };
    assert_eq!(devices(&mut client, 65536).unwrap().len(), 4);
    let many = devices(&mut client, 65537).unwrap_err();
    assert_eq!(many.message.as_deref(), Some("maxnames > REMOTE_NODE_DEVICE_LIST_MAX"));
    let args = protocol::NodeDeviceListCapsArgs { name: "scsi_host1".into(), maxnames: 5 };
    let caps = client.call::<protocol::DeviceNamesRet>(REMOTE_PROGRAM, remote::NODE_DEVICE_LIST_CAPS, &args).unwrap();
    assert_eq!(caps.names.0, ["scsi_host"]);
    let args = protocol::LookupByNameArgs { name: "nosuch".into() };
    let missing = client.call::<protocol::IntRet>(REMOTE_PROGRAM, remote::NODE_DEVICE_NUM_OF_CAPS, &args).unwrap_err();
    assert_eq!(missing.code, 53); // VIR_ERR_NO_NODE_DEVICE
}
