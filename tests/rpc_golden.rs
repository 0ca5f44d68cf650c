//! Golden tests of the RPC codec against real traffic: every packet of the
//! captures between real libvirtd 9.0 and real virsh, libvirt-python and
//! libvirt-doc's event-test.c decodes with no byte left over, and every
//! packet the daemon sent re-encodes byte for byte.

mod common;

use common::{capture_streams as streams, rpc_capture as data, RPC_CAPTURES as CAPTURES};
use virt_events::testing::packet::{decode_body, encode_packet, Direction, FrameReader, Packet};

fn packets(stream: &[u8]) -> Vec<(Packet, Vec<u8>)> {
    let mut reader = FrameReader::new();
    reader.push(stream);
    let mut packets = vec![];
    let mut offset = 0;
    while let Some(packet) = reader.next_packet().unwrap() {
        let len = 28 + packet.body.len();
        packets.push((packet, stream[offset..offset + len].to_vec()));
        offset += len;
    }
    assert_eq!(reader.pending(), 0, "the stream ends on a packet boundary");
    packets
}

/// The procedure names the decoded transcript lists for one direction.
fn transcript_names(decoded: &str, arrow: &str) -> Vec<String> {
    decoded
        .lines()
        .filter(|line| line.starts_with("c0 ") && line.split_whitespace().nth(2) == Some(arrow))
        .map(|line| {
            let proc = line.split_whitespace().nth(5).unwrap();
            let name = proc.split('(').next().unwrap();
            name.split_once("_PROC_").unwrap().1.to_string()
        })
        .collect()
}

#[test]
fn every_captured_packet_decodes_and_server_packets_reencode_exactly() {
    let mut total = 0;
    for capture in CAPTURES {
        let (to_server, to_client, _) = streams(&data(&format!("{capture}.socat")));
        let decoded = data(&format!("{capture}.decoded.txt"));
        for (stream, direction, arrow) in
            [(&to_server, Direction::ToServer, "C->S"), (&to_client, Direction::ToClient, "S->C")]
        {
            let packets = packets(stream);
            let mut names = vec![];
            for (packet, raw) in &packets {
                let procedure =
                    virt_events::testing::protocol::procedure(packet.header.program, packet.header.procedure).unwrap();
                names.push(procedure.name.to_string());
                let body = decode_body(packet, direction)
                    .unwrap_or_else(|e| panic!("{capture}: {} serial {}: {e}", procedure.name, packet.header.serial));
                if direction == Direction::ToClient {
                    assert_eq!(&encode_packet(&packet.header, body.as_ref()), raw, "{capture}: {body:?}");
                }
            }
            assert_eq!(names, transcript_names(&decoded, arrow), "{capture} {arrow}");
            total += packets.len();
        }
    }
    assert_eq!(total, 859, "the reference counts 859 packets in the captures");
}

#[test]
fn reads_split_and_coalesce_packets_in_the_captures() {
    // The dump records each read: some carry several packets (WATCHDOG and
    // LIFECYCLE together), which the framing above cut apart.
    let (_, to_client, reads) = streams(&data("virsh_event_loop.socat"));
    let mut starts = vec![];
    let mut offset = 0;
    for (packet, _) in packets(&to_client) {
        starts.push(offset);
        offset += 28 + packet.body.len();
    }
    let mut read_start = 0;
    let mut coalesced = 0;
    for len in reads {
        if starts.iter().filter(|s| (read_start..read_start + len).contains(*s)).count() > 1 {
            coalesced += 1;
        }
        read_start += len;
    }
    assert!(coalesced > 0, "no read carried two packets");
}

/// The array limits of our message declarations are libvirt 9.0's:
/// tests/c/xdr_limits.c, linked with the real libvirt.so.0 (whose XDR
/// routines it exports under LIBVIRT_PRIVATE_9.0.0) and libtirpc, decodes
/// each message with our limit's count of items and refuses one more.
#[test]
fn array_limits_are_libvirt_9_0s() {
    use virt_events::testing::protocol::*;
    let real = "/usr/lib/x86_64-linux-gnu/libvirt.so.0";
    let tirpc = "/usr/lib/x86_64-linux-gnu/libtirpc.so.3";
    assert!(std::path::Path::new(real).exists(), "{real} is missing: install libvirt0");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let binary = dir.join("xdr_limits");
    let source = common::crate_dir().join("tests/c/xdr_limits.c");
    common::compile_c(&[source.to_str().unwrap(), real, tirpc], &binary, "tests/c/xdr_limits.c");
    let limits = [
        ("NETWORK_LIST_MAX", NETWORK_LIST_MAX),
        ("STORAGE_POOL_LIST_MAX", STORAGE_POOL_LIST_MAX),
        ("DOMAIN_LIST_MAX names", DOMAIN_LIST_MAX),
        ("DOMAIN_LIST_MAX ids", DOMAIN_LIST_MAX),
        ("NODE_DEVICE_LIST_MAX", NODE_DEVICE_LIST_MAX),
        ("NODE_DEVICE_CAPS_LIST_MAX", NODE_DEVICE_CAPS_LIST_MAX),
        ("AUTH_TYPE_LIST_MAX", AUTH_TYPE_LIST_MAX),
        ("DOMAIN_LIST_MAX all", DOMAIN_LIST_MAX),
        ("NETWORK_LIST_MAX all", NETWORK_LIST_MAX),
        ("STORAGE_POOL_LIST_MAX all", STORAGE_POOL_LIST_MAX),
        ("NODE_DEVICE_LIST_MAX all", NODE_DEVICE_LIST_MAX),
        ("TUNABLE_MAX", TUNABLE_MAX),
        ("JOB_STATS_MAX", JOB_STATS_MAX),
        ("GRAPHICS_IDENTITY_MAX", GRAPHICS_IDENTITY_MAX),
        ("NODE_MAX_CELLS", NODE_MAX_CELLS),
        ("SCHEDULER_PARAMETERS_MAX", SCHEDULER_PARAMETERS_MAX),
        ("MEMORY_STATS_MAX", MEMORY_STATS_MAX),
    ];
    let args: Vec<String> = limits.iter().flat_map(|(name, max)| [name.to_string(), max.to_string()]).collect();
    let output = std::process::Command::new(&binary).args(&args).output().expect("xdr_limits runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let expected: String = limits.iter().map(|(name, max)| format!("{name} {max} ok\n")).collect();
    assert_eq!(text, expected);
}
