//! The bodies of the fuzz targets under `fuzz/`, kept in the library so that
//! `cargo fuzz` and the deterministic corpus replay in `make check`
//! (`tests/fuzz_replay.rs`) run exactly the same code. Each takes arbitrary
//! bytes and must neither panic nor hang, whatever they are.

use crate::driver::qemu::mapping::{map_eof, map_event, DomainRuntime, DomainState, End, VariableClock};
use crate::driver::qemu::qmp::{Incoming, Line, LineReader, Message, Session};
use crate::driver::qemu::raw_json::{Raw, Shapes, Tape};
use crate::rpc::packet::{decode_body, Direction, FrameReader};

/// The QMP input path as the monitor thread drives it: bytes split into
/// reads of varying sizes (the first byte picks the size), lines checked
/// through one cache of line shapes (which must give what the walk alone
/// gives), messages, the session's handshake and command bookkeeping.
pub fn qmp_lines(data: &[u8]) {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let mut reader = LineReader::new();
    let mut session = Session::new();
    let mut shapes = Shapes::default();
    let (mut walked, mut matched) = (Tape::new(), Tape::new());
    for piece in stream.chunks(usize::from(chunk) + 1) {
        reader.push(piece, |line| {
            let Line::Data(line) = line else { return };
            let want = Raw::check(line, &mut walked);
            assert_eq!(Raw::check_with(line, &mut matched, &mut shapes), want, "{:?}", String::from_utf8_lossy(line));
            let Ok(message) = Message::parse(line) else { return };
            if let Ok(Incoming::Greeting { .. }) = session.on_message(message) {
                // What the driver sends once the handshake is done, so that
                // replies find commands in flight.
                session.command("query-status", None);
                session.command("query-block", None);
            }
        });
    }
}

/// The event mapping: every line that parses as a QMP message is applied to
/// one domain, replies standing for the driver's `query-status` and
/// `query-block`, with a variable clock so that RTC changes are adjusted.
pub fn qmp_mapping(data: &[u8]) {
    let mut runtime = DomainRuntime::new(DomainState::Running);
    runtime.clock = Some(VariableClock::new(0));
    for line in data.split(|&b| b == b'\n') {
        match Message::parse(line) {
            Ok(Message::Event(event)) => {
                map_event(&mut runtime, &event);
            }
            Ok(Message::Return { value, .. }) => {
                let _ = runtime.apply_query_status(&value);
                let _ = runtime.load_query_block(&value);
            }
            _ => {}
        }
    }
    map_eof(&mut runtime, End::Exited);
}

/// The XML reader, and the writers over whatever it accepted.
pub fn xml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(document) = crate::xml::parse(text) {
        let _ = document.to_xml();
        let _ = document.to_compact_xml();
    }
}

/// libvirt's RPC input path as virt-eventsd drives it: bytes from a peer
/// (the first byte picks the read size and which side sent them) framed into
/// packets, each body decoded by the procedure table, until the framing
/// fails as it would close the connection.
pub fn rpc_packets(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else { return };
    let direction = if control & 0x80 == 0 { Direction::ToServer } else { Direction::ToClient };
    let mut reader = FrameReader::new();
    for piece in stream.chunks(usize::from(control & 0x7f) + 1) {
        reader.push(piece);
        loop {
            match reader.next_packet() {
                Ok(Some(packet)) => {
                    let _ = decode_body(&packet, direction);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}
