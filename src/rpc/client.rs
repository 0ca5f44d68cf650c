//! libvirt's RPC protocol, client side: one connection to a daemon, its
//! socket served by an I/O thread of its own.
//!
//! The I/O thread never runs application code and never waits for it: it
//! writes the calls API threads queue, hands each reply to the thread
//! waiting for its serial, answers the server's PINGs, runs the keepalive
//! timer and passes event messages to the connection's [`ClientHandler`]
//! (which queues them on an event state). Calls give up after a timeout
//! instead of hanging on a stalled daemon.

use std::collections::HashMap;
use std::io;
use std::sync::{mpsc, Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::packet::{encode_packet, kind, status, FrameReader, Header, Packet};
use super::protocol::{
    keepalive, Body, RemoteError, KEEPALIVE_PROGRAM, PROTOCOL_VERSION, QEMU_PROGRAM, REMOTE_PROGRAM,
};
pub use super::stream::Stream;
use super::xdr::{decode_all, Decoder, Xdr, XdrResult};
use crate::abi::common::virConnectCloseReason as CloseReason;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::sys::{poll, Wakeup};

/// How long a call waits for its reply unless `VIRT_EVENTS_RPC_TIMEOUT`
/// (seconds) says otherwise.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What the connection's owner is told by the I/O thread.
pub trait ClientHandler: Send + Sync {
    /// An event message of the remote or QEMU program.
    fn message(&self, packet: Packet);
    /// The connection closed other than by [`Client::close`].
    fn closed(&self, reason: CloseReason);
}

/// libvirt's keepalive as the client runs it: after `interval` without
/// receiving anything, a PING every `interval`; `count` unanswered PINGs
/// and the connection is dead.
#[derive(Clone, Copy)]
struct Keepalive {
    interval: Duration,
    count: u32,
}

type ReplySender = mpsc::Sender<Result<Packet>>;

struct State {
    next_serial: u32,
    pending: HashMap<u32, ReplySender>,
    outbox: Vec<u8>,
    /// The connection is closed: later calls fail with [`closed_error`]
    /// (those under way got the reason).
    closed: bool,
    keepalive: Option<Keepalive>,
    /// The owner closes the connection.
    stop: bool,
    /// The owner said goodbye (CONNECT_CLOSE): the server's EOF is expected.
    closing: bool,
}

struct Shared {
    state: Mutex<State>,
    wakeup: Wakeup,
    handler: Mutex<Option<Weak<dyn ClientHandler>>>,
}

/// One connection to a daemon.
pub struct Client {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    timeout: Duration,
}

fn rpc_error(code: ErrorCode, detail: impl Into<String>) -> Error {
    Error::new(code, ErrorDomain::VIR_FROM_RPC, Some(detail.into()))
}

/// What a call made once the connection is known closed fails with,
/// whatever closed it, as with libvirt's client.
fn closed_error() -> Error {
    Error::new(ErrorCode::VIR_ERR_INTERNAL_ERROR, ErrorDomain::VIR_FROM_RPC, Some("client socket is closed".into()))
}

/// A failed read or write of the socket, in libvirt's words: `what`, then
/// the text of `errno` (EIO for an end of file).
fn socket_error(what: &str, errno: Option<i32>) -> Error {
    Error::system(ErrorDomain::VIR_FROM_RPC, what, errno.unwrap_or(libc::EIO))
}

fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("libvirt: RPC warning : {message}");
}

impl Client {
    /// Starts the I/O thread on `stream`.
    pub fn start(stream: Stream) -> Result<Arc<Client>> {
        let io_error =
            |e: io::Error| rpc_error(ErrorCode::VIR_ERR_SYSTEM_ERROR, format!("cannot set up the socket: {e}"));
        stream.set_nonblocking().map_err(io_error)?;
        let wakeup = Wakeup::new().map_err(io_error)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_serial: 0,
                pending: HashMap::new(),
                outbox: Vec::new(),
                closed: false,
                keepalive: None,
                stop: false,
                closing: false,
            }),
            wakeup,
            handler: Mutex::new(None),
        });
        let io_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("virt-events-rpc".into())
            .spawn(move || IoThread::new(io_shared, stream).run())
            .map_err(io_error)?;
        let timeout = std::env::var("VIRT_EVENTS_RPC_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_CALL_TIMEOUT);
        Ok(Arc::new(Client { shared, thread: Mutex::new(Some(thread)), timeout }))
    }

    /// Who hears of event messages and of the connection's end.
    pub fn set_handler(&self, handler: Weak<dyn ClientHandler>) {
        *self.shared.handler.lock() = Some(handler);
    }

    /// Calls `procedure` of `program` and decodes its reply; a server's
    /// error reply is that error.
    pub fn call<A: Xdr + std::fmt::Debug, R: Xdr>(&self, program: u32, procedure: i32, args: &A) -> Result<R> {
        self.call_with(program, procedure, args, R::decode)
    }

    /// [`Client::call`] for bodies whose form is known only at run time:
    /// `decode` reads a successful reply, which must hold nothing more.
    pub fn call_with<R>(
        &self,
        program: u32,
        procedure: i32,
        args: &dyn Body,
        decode: impl FnOnce(&mut Decoder<'_>) -> XdrResult<R>,
    ) -> Result<R> {
        let packet = self.call_raw(program, procedure, args)?;
        let malformed =
            |e| rpc_error(ErrorCode::VIR_ERR_RPC, format!("cannot decode the reply to procedure {procedure}: {e}"));
        if packet.header.status == status::OK {
            let mut d = Decoder::new(&packet.body);
            return decode(&mut d).and_then(|ret| d.finish().map(|()| ret)).map_err(malformed);
        }
        let remote = decode_all::<RemoteError>(&packet.body).map_err(malformed)?;
        Err(error_from_remote(remote))
    }

    fn call_raw(&self, program: u32, procedure: i32, args: &dyn Body) -> Result<Packet> {
        let (tx, rx) = mpsc::channel();
        let serial = {
            let mut state = self.shared.state.lock();
            if state.closed {
                return Err(closed_error());
            }
            let serial = state.next_serial;
            state.next_serial = serial.wrapping_add(1);
            let header =
                Header { program, version: PROTOCOL_VERSION, procedure, kind: kind::CALL, serial, status: status::OK };
            state.outbox.extend(encode_packet(&header, args));
            state.pending.insert(serial, tx);
            serial
        };
        self.shared.wakeup.signal();
        match rx.recv_timeout(self.timeout) {
            Ok(reply) => reply,
            Err(_) => {
                self.shared.state.lock().pending.remove(&serial);
                Err(Error::new(
                    ErrorCode::VIR_ERR_OPERATION_TIMEOUT,
                    ErrorDomain::VIR_FROM_RPC,
                    Some(format!("no reply to procedure {procedure} within {} s", self.timeout.as_secs_f64())),
                ))
            }
        }
    }

    /// Starts (or changes) keepalive; `interval` 0 or less turns it off.
    pub fn set_keepalive(&self, interval: i32, count: u32) {
        let keepalive =
            (interval > 0).then(|| Keepalive { interval: Duration::from_secs(interval as u64), count: count.max(1) });
        self.shared.state.lock().keepalive = keepalive;
        self.shared.wakeup.signal();
    }

    pub fn is_alive(&self) -> bool {
        !self.shared.state.lock().closed
    }

    /// The connection is about to be closed by the owner: the server
    /// closing its end is no news.
    pub fn expect_close(&self) {
        self.shared.state.lock().closing = true;
    }

    /// Stops the I/O thread and closes the socket; the handler is not told.
    pub fn close(&self) {
        self.shared.state.lock().stop = true;
        self.shared.wakeup.signal();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

/// A `virError` as the server reported it.
fn error_from_remote(remote: RemoteError) -> Error {
    Error {
        code: error_code(remote.code),
        domain: error_domain(remote.domain),
        message: remote.message.unwrap_or_else(|| "unknown error".into()),
        str1: remote.str1,
        str2: remote.str2,
        int1: remote.int1,
    }
}

fn error_code(raw: i32) -> ErrorCode {
    super::client_errors::CODES.iter().copied().find(|c| *c as i32 == raw).unwrap_or(ErrorCode::VIR_ERR_INTERNAL_ERROR)
}

fn error_domain(raw: i32) -> ErrorDomain {
    super::client_errors::DOMAINS.iter().copied().find(|d| *d as i32 == raw).unwrap_or(ErrorDomain::VIR_FROM_REMOTE)
}

struct IoThread {
    shared: Arc<Shared>,
    stream: Stream,
    frames: FrameReader,
    last_received: Instant,
    /// PINGs sent since the last packet was received.
    unanswered: u32,
    next_ping: Option<Instant>,
}

impl IoThread {
    fn new(shared: Arc<Shared>, stream: Stream) -> IoThread {
        IoThread {
            shared,
            stream,
            frames: FrameReader::new(),
            last_received: Instant::now(),
            unanswered: 0,
            next_ping: None,
        }
    }

    /// Serves the socket, then fails the calls under way with why it
    /// closed and tells the handler. As libvirt's client, nothing is logged
    /// (the close callback and the calls' errors say it) but bad input
    /// (`malformed`).
    fn run(mut self) {
        let reason = self.serve();
        let reason = if self.shared.state.lock().closing { None } else { reason };
        let error = reason.as_ref().map_or_else(closed_error, |(_, error)| error.clone());
        let pending = {
            let mut state = self.shared.state.lock();
            state.closed = true;
            std::mem::take(&mut state.pending)
        };
        for (_, waiter) in pending {
            let _ = waiter.send(Err(error.clone()));
        }
        if let Some((reason, _)) = reason {
            let handler = self.shared.handler.lock().as_ref().and_then(Weak::upgrade);
            if let Some(handler) = handler {
                handler.closed(reason);
            }
        }
    }

    /// Serves the socket until the owner stops it (`None`) or it closes.
    fn serve(&mut self) -> Option<(CloseReason, Error)> {
        let mut buf = vec![0u8; 65536];
        loop {
            let (writing, keepalive) = {
                let state = self.shared.state.lock();
                if state.stop {
                    return None;
                }
                (!state.outbox.is_empty(), state.keepalive)
            };
            if let Some(dead) = self.keepalive_tick(keepalive) {
                return Some(dead);
            }
            let timeout = match self.next_ping {
                Some(at) => at.saturating_duration_since(Instant::now()).as_millis().min(i32::MAX as u128) as i32,
                None => -1,
            };
            let events = libc::POLLIN | if writing { libc::POLLOUT } else { 0 };
            let mut fds = [
                libc::pollfd { fd: self.stream.fd(), events, revents: 0 },
                libc::pollfd { fd: self.shared.wakeup.fd(), events: libc::POLLIN, revents: 0 },
            ];
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(io_failure(e)),
            }
            if fds[1].revents != 0 {
                self.shared.wakeup.drain();
            }
            if fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                if let Some(error) = self.read(&mut buf) {
                    return Some((self.close_reason(fds[0].revents), error));
                }
            }
            if fds[0].revents & libc::POLLOUT != 0 {
                if let Err(error) = self.write() {
                    return Some((self.close_reason(fds[0].revents), error));
                }
            }
        }
    }

    /// Why a failure ends the connection, as libvirt's client tells it: with
    /// a hangup the server's end of file, otherwise an error. The hangup may
    /// be in `revents`, of the poll before the failure, or have come since:
    /// the read that failed went on until the server was gone (a unix
    /// socket's peer closing is a hangup at once; a TCP peer's FIN is not).
    fn close_reason(&self, revents: i16) -> CloseReason {
        let mut now = [libc::pollfd { fd: self.stream.fd(), events: 0, revents: 0 }];
        let hung_up =
            revents & libc::POLLHUP != 0 || (poll(&mut now, 0).is_ok() && now[0].revents & libc::POLLHUP != 0);
        match hung_up {
            true => CloseReason::VIR_CONNECT_CLOSE_REASON_EOF,
            false => CloseReason::VIR_CONNECT_CLOSE_REASON_ERROR,
        }
    }

    fn keepalive_tick(&mut self, keepalive: Option<Keepalive>) -> Option<(CloseReason, Error)> {
        let Some(Keepalive { interval, count }) = keepalive else {
            self.next_ping = None;
            return None;
        };
        let now = Instant::now();
        let due = self.last_received + interval * (self.unanswered + 1);
        if now < due {
            self.next_ping = Some(due);
            return None;
        }
        if self.unanswered >= count {
            let detail = "connection closed due to keepalive timeout".to_string();
            return Some((
                CloseReason::VIR_CONNECT_CLOSE_REASON_KEEPALIVE,
                rpc_error(ErrorCode::VIR_ERR_INTERNAL_ERROR, detail),
            ));
        }
        self.unanswered += 1;
        self.queue_message(keepalive::PING);
        self.next_ping = Some(self.last_received + interval * (self.unanswered + 1));
        None
    }

    fn queue_message(&self, procedure: i32) {
        let header = Header::message(KEEPALIVE_PROGRAM, procedure, 0);
        self.shared.state.lock().outbox.extend(encode_packet(&header, &()));
    }

    /// Reads what the socket has, handling each chunk's whole packets
    /// before reading more, so that only one partial packet is buffered.
    fn read(&mut self, buf: &mut [u8]) -> Option<Error> {
        loop {
            match self.stream.read(buf) {
                Ok(0) => return Some(self.read_failure("End of file while reading data", None)),
                Ok(n) => self.frames.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(self.read_failure("Cannot recv data", e.raw_os_error())),
            }
            loop {
                match self.frames.next_packet() {
                    Ok(Some(packet)) => {
                        self.last_received = Instant::now();
                        self.unanswered = 0;
                        if let Some(error) = self.dispatch(packet) {
                            return Some(error);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Some(malformed(format!("{e}"))),
                }
            }
        }
    }

    /// A failed read (`errno`; `None`: end of file) in libvirt's words,
    /// with what a helper program said on its standard error: "`what`:
    /// `said`: `errno`'s text". When that cannot be read (or is too long),
    /// libvirt's client leaves it out, and reports a failed recv with the
    /// errno of that read.
    fn read_failure(&mut self, what: &str, errno: Option<i32>) -> Error {
        match self.stream.helper_stderr() {
            None => socket_error(what, errno),
            Some(Ok(said)) => socket_error(&format!("{what}: {said}"), errno),
            Some(Err(stderr_errno)) => socket_error(what, errno.map(|_| stderr_errno)),
        }
    }

    fn dispatch(&mut self, packet: Packet) -> Option<Error> {
        let header = packet.header;
        if header.version != PROTOCOL_VERSION {
            return Some(malformed(format!("unexpected version {} of program {:#x}", header.version, header.program)));
        }
        match (header.program, header.kind) {
            (KEEPALIVE_PROGRAM, kind::MESSAGE) => {
                if header.procedure == keepalive::PING {
                    self.queue_message(keepalive::PONG);
                }
            }
            (REMOTE_PROGRAM | QEMU_PROGRAM, kind::REPLY) => {
                let waiter = self.shared.state.lock().pending.remove(&header.serial);
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(Ok(packet));
                    }
                    None => log(format_args!("no call waits for the reply with serial {}", header.serial)),
                }
            }
            (REMOTE_PROGRAM | QEMU_PROGRAM, kind::MESSAGE) => {
                let handler = self.shared.handler.lock().as_ref().and_then(Weak::upgrade);
                if let Some(handler) = handler {
                    handler.message(packet);
                }
            }
            (REMOTE_PROGRAM | QEMU_PROGRAM | KEEPALIVE_PROGRAM, other) => {
                log(format_args!("unexpected message type {other} from the server, ignored"));
            }
            (program, _) => return Some(malformed(format!("unknown program {program:#x} from the server"))),
        }
        None
    }

    fn write(&mut self) -> Result<()> {
        let mut state = self.shared.state.lock();
        while !state.outbox.is_empty() {
            match self.stream.write(&state.outbox) {
                Ok(0) => return Err(socket_error("End of file while writing data", None)),
                Ok(n) => {
                    state.outbox.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(socket_error("Cannot write data", e.raw_os_error())),
            }
        }
        Ok(())
    }
}

fn io_failure(e: io::Error) -> (CloseReason, Error) {
    (
        CloseReason::VIR_CONNECT_CLOSE_REASON_ERROR,
        rpc_error(ErrorCode::VIR_ERR_SYSTEM_ERROR, format!("I/O error on the socket: {e}")),
    )
}

/// The server sent what the protocol does not allow: the connection closes.
/// Bad input is logged, as the close callback (and any later call) only says
/// that the connection closed.
fn malformed(detail: String) -> Error {
    let error = rpc_error(ErrorCode::VIR_ERR_RPC, format!("malformed packet from the server: {detail}"));
    log(format_args!("connection closed: {}", error.message));
    error
}
