//! Packet framing: a 4-byte big-endian length that counts itself, a 24-byte
//! header, then the XDR body. [`FrameReader`] cuts packets out of a byte
//! stream however the reads split or coalesce them.

use super::protocol::{self, Body, RemoteError};
use super::xdr::{Decoder, Encoder, Xdr, XdrError, XdrResult};

/// `VIR_NET_MESSAGE_MAX`: header and body together (libvirt 9.0).
pub const MESSAGE_MAX: usize = 33_554_432;
pub const LENGTH_SIZE: usize = 4;
pub const HEADER_SIZE: usize = 24;

/// `virNetMessageType`.
pub mod kind {
    pub const CALL: u32 = 0;
    pub const REPLY: u32 = 1;
    pub const MESSAGE: u32 = 2;
    pub const STREAM: u32 = 3;
    pub const CALL_WITH_FDS: u32 = 4;
    pub const REPLY_WITH_FDS: u32 = 5;
    pub const STREAM_HOLE: u32 = 6;
}

/// `virNetMessageStatus`.
pub mod status {
    pub const OK: u32 = 0;
    pub const ERROR: u32 = 1;
    pub const CONTINUE: u32 = 2;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub program: u32,
    pub version: u32,
    pub procedure: i32,
    pub kind: u32,
    pub serial: u32,
    pub status: u32,
}

impl Header {
    /// The header of the reply to a call with this header.
    pub fn reply(&self, status: u32) -> Header {
        Header { kind: kind::REPLY, status, ..*self }
    }

    /// An event or keepalive message. libvirtd sends events with serial 1
    /// and keepalive messages with serial 0; clients ignore it.
    pub fn message(program: u32, procedure: i32, serial: u32) -> Header {
        Header {
            program,
            version: protocol::PROTOCOL_VERSION,
            procedure,
            kind: kind::MESSAGE,
            serial,
            status: status::OK,
        }
    }
}

impl Xdr for Header {
    const MIN_SIZE: usize = HEADER_SIZE;
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.program);
        e.u32(self.version);
        e.i32(self.procedure);
        e.u32(self.kind);
        e.u32(self.serial);
        e.u32(self.status);
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<Header> {
        Ok(Header {
            program: d.u32()?,
            version: d.u32()?,
            procedure: d.i32()?,
            kind: d.u32()?,
            serial: d.u32()?,
            status: d.u32()?,
        })
    }
}

/// One packet: its header and its undecoded body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub header: Header,
    pub body: Vec<u8>,
}

/// Why a byte stream cannot be framed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    TooSmall(u32),
    TooLarge(u32),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooSmall(len) => write!(f, "packet length {len} is too small for a header"),
            FrameError::TooLarge(len) => {
                write!(f, "packet length {len} exceeds the maximum {}", MESSAGE_MAX + LENGTH_SIZE)
            }
        }
    }
}

/// Encodes a whole packet: length, header, body.
pub fn encode_packet(header: &Header, body: &dyn Body) -> Vec<u8> {
    let mut e = Encoder::with_buffer(vec![0; LENGTH_SIZE]);
    header.encode(&mut e);
    body.encode_body(&mut e);
    let mut bytes = e.into_bytes();
    let len = bytes.len() as u32;
    bytes[..LENGTH_SIZE].copy_from_slice(&len.to_be_bytes());
    bytes
}

/// An error reply to the call with header `call`.
pub fn encode_error_reply(call: &Header, error: &RemoteError) -> Vec<u8> {
    encode_packet(&call.reply(status::ERROR), error)
}

/// Accumulates stream bytes and yields whole packets. Only the bytes
/// received are buffered, so a length word announcing 32 MiB costs nothing
/// until the data arrives.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received that are not yet part of a whole packet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole packet, `Ok(None)` if more bytes are needed.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, FrameError> {
        if self.buf.len() < LENGTH_SIZE {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        if (len as usize) < LENGTH_SIZE + HEADER_SIZE {
            return Err(FrameError::TooSmall(len));
        }
        if len as usize > LENGTH_SIZE + MESSAGE_MAX {
            return Err(FrameError::TooLarge(len));
        }
        if self.buf.len() < len as usize {
            return Ok(None);
        }
        let rest = self.buf.split_off(len as usize);
        let packet = std::mem::replace(&mut self.buf, rest);
        let mut d = Decoder::new(&packet[LENGTH_SIZE..]);
        // Cannot fail: the length was checked to cover a header.
        let header = Header::decode(&mut d).map_err(|_| FrameError::TooSmall(len))?;
        Ok(Some(Packet { header, body: packet[LENGTH_SIZE + HEADER_SIZE..].to_vec() }))
    }
}

/// Which side sent a packet, to tell a call's arguments from its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToClient,
}

/// Why a packet's body cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    Frame(FrameError),
    /// The bytes end inside the packet.
    Incomplete,
    UnknownProcedure {
        program: u32,
        procedure: i32,
    },
    UnexpectedType(u32),
    Body(XdrError),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Frame(e) => e.fmt(f),
            DecodeError::Incomplete => write!(f, "incomplete packet"),
            DecodeError::UnknownProcedure { program, procedure } => {
                write!(f, "unknown procedure {procedure} of program {program:#x}")
            }
            DecodeError::UnexpectedType(kind) => write!(f, "unexpected message type {kind}"),
            DecodeError::Body(e) => write!(f, "cannot decode the body: {e}"),
        }
    }
}

/// Decodes the body of `packet` as the procedure table says it is shaped.
pub fn decode_body(packet: &Packet, direction: Direction) -> Result<Box<dyn Body>, DecodeError> {
    let header = &packet.header;
    let procedure = protocol::procedure(header.program, header.procedure)
        .ok_or(DecodeError::UnknownProcedure { program: header.program, procedure: header.procedure })?;
    let decoder = match (header.kind, header.status, direction) {
        (kind::CALL, _, Direction::ToServer) | (kind::MESSAGE, _, _) => procedure.args,
        (kind::REPLY, status::OK, Direction::ToClient) => procedure.ret,
        (kind::REPLY, status::ERROR, Direction::ToClient) => {
            |bytes: &[u8]| super::xdr::decode_all::<RemoteError>(bytes).map(|e| Box::new(e) as Box<dyn Body>)
        }
        (other, _, _) => return Err(DecodeError::UnexpectedType(other)),
    };
    decoder(&packet.body).map_err(DecodeError::Body)
}

/// Decodes one packet from the start of `bytes`, whatever they hold: the
/// entry point for fuzzing. Never panics; returns the packet and its body.
pub fn decode_packet(bytes: &[u8], direction: Direction) -> Result<(Packet, Box<dyn Body>), DecodeError> {
    let mut reader = FrameReader::new();
    reader.push(bytes);
    let packet = reader.next_packet().map_err(DecodeError::Frame)?.ok_or(DecodeError::Incomplete)?;
    let body = decode_body(&packet, direction)?;
    Ok((packet, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::protocol::{remote, SupportsFeatureArgs, REMOTE_PROGRAM};

    fn call(serial: u32, feature: i32) -> Vec<u8> {
        let header = Header {
            program: REMOTE_PROGRAM,
            version: 1,
            procedure: remote::CONNECT_SUPPORTS_FEATURE,
            kind: kind::CALL,
            serial,
            status: status::OK,
        };
        encode_packet(&header, &SupportsFeatureArgs { feature })
    }

    #[test]
    fn split_and_coalesced_reads() {
        let mut stream = call(0, 10);
        stream.extend(call(1, 14));
        stream.extend(call(2, 15));
        // Byte by byte...
        let mut reader = FrameReader::new();
        let mut serials = vec![];
        for byte in &stream {
            reader.push(std::slice::from_ref(byte));
            while let Some(packet) = reader.next_packet().unwrap() {
                serials.push(packet.header.serial);
            }
        }
        assert_eq!(serials, [0, 1, 2]);
        // ...and all at once.
        reader.push(&stream);
        let mut count = 0;
        while let Some(packet) = reader.next_packet().unwrap() {
            assert_eq!(packet.body.len(), 4);
            count += 1;
        }
        assert_eq!((count, reader.pending()), (3, 0));
    }

    #[test]
    fn lengths_outside_the_limits_are_refused() {
        let mut reader = FrameReader::new();
        reader.push(&27u32.to_be_bytes());
        assert_eq!(reader.next_packet(), Err(FrameError::TooSmall(27)));
        let mut reader = FrameReader::new();
        reader.push(&((MESSAGE_MAX + 5) as u32).to_be_bytes());
        assert_eq!(reader.next_packet(), Err(FrameError::TooLarge(MESSAGE_MAX as u32 + 5)));
        // The largest legal length waits for its data without reserving it.
        let mut reader = FrameReader::new();
        reader.push(&((MESSAGE_MAX + 4) as u32).to_be_bytes());
        assert_eq!(reader.next_packet(), Ok(None));
    }

    /// Random and truncated input never panics the decoder.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let valid = call(3, 10);
        for round in 0..20_000 {
            let len = (next() % 96) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 0 && len >= 28 {
                // A plausible header with a random body, to reach the body decoders.
                let entry = &protocol::PROCEDURES[next() as usize % protocol::PROCEDURES.len()];
                bytes[..4].copy_from_slice(&(len as u32).to_be_bytes());
                bytes[4..8].copy_from_slice(&entry.program.to_be_bytes());
                bytes[12..16].copy_from_slice(&entry.number.to_be_bytes());
                bytes[16..20].copy_from_slice(&((next() % 3) as u32).to_be_bytes());
                bytes[24..28].copy_from_slice(&((next() % 2) as u32).to_be_bytes());
            }
            for direction in [Direction::ToServer, Direction::ToClient] {
                let _ = decode_packet(&bytes, direction);
            }
        }
        for cut in 0..valid.len() {
            assert!(decode_packet(&valid[..cut], Direction::ToServer).is_err());
        }
        assert!(decode_packet(&valid, Direction::ToServer).is_ok());
    }
}
