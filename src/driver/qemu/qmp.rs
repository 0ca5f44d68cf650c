//! The QMP wire protocol, without any I/O.
//!
//! QEMU and its client exchange JSON objects, one per line. [`LineReader`]
//! cuts a byte stream into lines, [`Message::parse`] classifies one line,
//! [`command`] encodes a command, and [`Session`] keeps track of the
//! capabilities handshake and of which command a reply answers.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use super::raw_json::{OwnedRaw, Raw, Tape};

/// The longest line accepted, line ending excluded. Longer lines are dropped.
pub const MAX_LINE: usize = 10 * 1024 * 1024;

/// What [`LineReader::push`] hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// One complete line, without its `\r\n` (or bare `\n`).
    Data(&'a [u8]),
    /// A line longer than [`MAX_LINE`] was dropped unread; `len` is the
    /// number of bytes dropped (the final `\n` not counted). The caller
    /// should log a warning; reading continues with the next line.
    Oversized { len: usize },
}

/// Buffers larger than this are given back once they are empty, so that
/// one long line does not keep its memory for the life of the monitor.
const KEPT_CAPACITY: usize = 256 * 1024;

/// Splits a byte stream into lines.
///
/// Lines end in `\r\n`; a bare `\n` is accepted too. Empty lines are skipped.
/// A line that lies whole in what one [`push`](LineReader::push) is given is
/// handed out as a slice of it, where it was read: only the start of a line
/// that a read cut off is copied, to be completed by the next push. Memory
/// stays bounded: at most [`MAX_LINE`] + 1 bytes of an unfinished line are
/// buffered, and the rest of an oversized line is counted, not kept.
#[derive(Debug, Default)]
pub struct LineReader {
    partial: Vec<u8>,
    /// While dropping an oversized line: how many bytes were dropped so far.
    skipping: Option<usize>,
}

impl LineReader {
    pub fn new() -> LineReader {
        LineReader::default()
    }

    /// Feeds bytes read from the monitor (any number, split anywhere) and
    /// hands each line they complete to `take`, in order.
    pub fn push(&mut self, mut data: &[u8], mut take: impl FnMut(Line<'_>)) {
        while !data.is_empty() {
            let (chunk, complete) = match memchr::memchr(b'\n', data) {
                Some(i) => {
                    let chunk = &data[..i];
                    data = &data[i + 1..];
                    (chunk, true)
                }
                None => {
                    let chunk = data;
                    data = &[];
                    (chunk, false)
                }
            };
            self.take_chunk(chunk, complete, &mut take);
        }
    }

    /// `chunk` is the next piece of the current line; `complete` when its
    /// line feed was seen.
    fn take_chunk(&mut self, chunk: &[u8], complete: bool, take: &mut impl FnMut(Line<'_>)) {
        if let Some(dropped) = self.skipping.as_mut() {
            *dropped += chunk.len();
            if complete {
                let len = *dropped;
                self.skipping = None;
                take(Line::Oversized { len });
            }
            return;
        }
        // One byte of slack: the line's `\r` may be the byte that is buffered last.
        let len = self.partial.len() + chunk.len();
        if len > MAX_LINE + 1 {
            self.partial = Vec::new();
            if complete {
                take(Line::Oversized { len });
            } else {
                self.skipping = Some(len);
            }
            return;
        }
        if complete && self.partial.is_empty() {
            finish(chunk, take);
            return;
        }
        if self.partial.capacity() < len {
            // Grow geometrically, but never past the longest line kept.
            let target = (self.partial.capacity() * 2).max(len).min(MAX_LINE + 1);
            self.partial.reserve_exact(target - self.partial.len());
        }
        self.partial.extend_from_slice(chunk);
        if !complete {
            return;
        }
        finish(&self.partial, take);
        self.partial.clear();
        if self.partial.capacity() > KEPT_CAPACITY {
            self.partial = Vec::new();
        }
    }

    /// Bytes of an unfinished line (buffered or being dropped). Non-zero at
    /// end of stream means the peer closed in the middle of a line.
    pub fn pending_bytes(&self) -> usize {
        self.skipping.unwrap_or(self.partial.len())
    }
}

/// Hands out a complete line, `\r` included if it had one.
fn finish(line: &[u8], take: &mut impl FnMut(Line<'_>)) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE {
        take(Line::Oversized { len: line.len() });
    } else if !line.is_empty() {
        take(Line::Data(line));
    }
}

/// `line` with its bytes copied, for tests that keep lines past the push
/// that gave them (the copy is leaked).
#[cfg(test)]
pub(crate) fn kept(line: Line<'_>) -> Line<'static> {
    match line {
        Line::Data(data) => Line::Data(Box::leak(data.to_vec().into_boxed_slice())),
        Line::Oversized { len } => Line::Oversized { len },
    }
}

/// A QMP event: `{"event": NAME, "data": {...}, "timestamp": {...}}`.
/// Read by the fast path of the monitor thread, its `data` is the line's own
/// text (`'a`), which the event is mapped from without a copy; an event kept
/// for later is [`QmpEvent::into_owned`].
#[derive(Clone, Debug)]
pub struct QmpEvent<'a> {
    /// The line's own text on the fast path: the mapping only compares it,
    /// and C text is made of it only for a raw monitor event.
    pub name: Cow<'a, str>,
    /// The name holds a NUL, where a C string of it would end.
    name_cut: bool,
    /// The event's `data` member as QEMU sent it; `None` when it sent none
    /// (raw monitor-event callbacks then get NULL details, as libvirt's do).
    data: Option<Data<'a>>,
    /// -1 when QEMU gave no timestamp, as libvirt reports it.
    pub seconds: i64,
    pub microseconds: u32,
}

/// An event's `data`: QEMU's text when the fast path read the line (made a
/// `Value` only if a mapper asks for one), else the general parser's value.
#[derive(Clone, Debug)]
enum Data<'a> {
    /// The parsed value is boxed: it is rarely made, and a smaller event
    /// (128 bytes or less) is moved without a call to `memcpy`.
    Text {
        raw: Text<'a>,
        parsed: once_cell::unsync::OnceCell<Box<Value>>,
    },
    Parsed(Value),
}

/// Checked JSON text: the line's, or a copy of it.
#[derive(Clone, Debug)]
enum Text<'a> {
    Line(Raw<'a>),
    Copy(OwnedRaw),
}

impl Text<'_> {
    fn raw(&self) -> Raw<'_> {
        match self {
            Text::Line(raw) => *raw,
            Text::Copy(raw) => raw.raw(),
        }
    }
}

/// One member of an event's `data`, read without building a `Value` when the
/// fast path read the event.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    Raw(Raw<'a>),
    Value(&'a Value),
}

impl<'a> Field<'a> {
    pub fn get(&self, key: &str) -> Option<Field<'a>> {
        match self {
            Field::Raw(raw) => raw.get(key).map(Field::Raw),
            Field::Value(value) => value.get(key).map(Field::Value),
        }
    }

    /// The members `keys` of an object, looked up in one pass.
    pub fn get_all<const N: usize>(&self, keys: [&str; N]) -> [Option<Field<'a>>; N] {
        self.get_all_as(keys, Some)
    }

    /// [`Field::get_all`], each member found read with `read`.
    pub fn get_all_as<T: Copy, const N: usize>(
        &self,
        keys: [&str; N],
        read: impl Fn(Field<'a>) -> Option<T>,
    ) -> [Option<T>; N] {
        match self {
            Field::Raw(raw) => raw.get_all_as(keys, |value| read(Field::Raw(value))),
            Field::Value(value) => keys.map(|key| value.get(key).map(Field::Value).and_then(&read)),
        }
    }

    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Field::Raw(raw) => raw.as_str(),
            Field::Value(value) => value.as_str(),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Field::Raw(raw) => raw.as_i64(),
            Field::Value(value) => value.as_i64(),
        }
    }

    pub fn is_object(&self) -> bool {
        match self {
            Field::Raw(raw) => raw.is_object(),
            Field::Value(value) => value.is_object(),
        }
    }
}

static NO_DATA: Value = Value::Null;

impl QmpEvent<'_> {
    pub fn new(name: &str, data: Option<Value>, seconds: i64, microseconds: u32) -> QmpEvent<'static> {
        QmpEvent {
            name: Cow::Owned(name.to_owned()),
            name_cut: name.contains('\0'),
            data: data.map(Data::Parsed),
            seconds,
            microseconds,
        }
    }

    /// The event's `data`, if QEMU sent one.
    pub fn data(&self) -> Option<&Value> {
        match self.data.as_ref()? {
            // The fast path checked the text: the general parser reads it.
            Data::Text { raw, parsed } => {
                Some(parsed.get_or_init(|| Box::new(serde_json::from_str(raw.raw().text()).unwrap_or_default())))
            }
            Data::Parsed(value) => Some(value),
        }
    }

    /// Whether a string of the event (its name, or a key or value of its
    /// data) holds a NUL character, which a C string would silently cut.
    /// Text the fast path kept has none: it has no escapes, and the walk
    /// refused control characters in strings (and JSON has no NUL outside
    /// them); parsed data is searched.
    pub fn holds_nul(&self) -> bool {
        fn in_value(value: &Value) -> bool {
            match value {
                Value::String(text) => text.contains('\0'),
                Value::Array(items) => items.iter().any(in_value),
                Value::Object(members) => members.iter().any(|(key, item)| key.contains('\0') || in_value(item)),
                Value::Null | Value::Bool(_) | Value::Number(_) => false,
            }
        }
        self.name_cut
            || match &self.data {
                None => false,
                Some(Data::Text { .. }) => false,
                Some(Data::Parsed(value)) => in_value(value),
            }
    }

    /// The members of `data`, for the mapping: `Null` when there is none,
    /// which answers every lookup with "absent".
    pub fn fields(&self) -> &Value {
        self.data().unwrap_or(&NO_DATA)
    }

    /// `data`, if QEMU sent one, to read members from.
    pub fn data_field(&self) -> Option<Field<'_>> {
        Some(match self.data.as_ref()? {
            Data::Text { raw, .. } => Field::Raw(raw.raw()),
            Data::Parsed(value) => Field::Value(value),
        })
    }

    /// The member `key` of `data`.
    pub fn field(&self, key: &str) -> Option<Field<'_>> {
        self.data_field()?.get(key)
    }

    /// `data`, if the fast path read it.
    pub fn checked_data(&self) -> Option<Raw<'_>> {
        match self.data.as_ref()? {
            Data::Text { raw, .. } => Some(raw.raw()),
            Data::Parsed(_) => None,
        }
    }

    /// `data` as compact JSON in QEMU's member order, for raw monitor-event
    /// callbacks: QEMU's own text less its whitespace when the fast path read
    /// it, which is what writing the parsed value gives.
    pub fn details(&self) -> Option<String> {
        match self.data.as_ref()? {
            Data::Text { raw, .. } => Some(raw.raw().compact()),
            Data::Parsed(value) => Some(value.to_string()),
        }
    }

    /// This event with its own copy of what it borrows.
    pub fn into_owned(self) -> QmpEvent<'static> {
        let data = self.data.map(|data| match data {
            Data::Text { raw: Text::Line(raw), parsed } => Data::Text { raw: Text::Copy(raw.to_owned()), parsed },
            Data::Text { raw: Text::Copy(raw), parsed } => Data::Text { raw: Text::Copy(raw), parsed },
            Data::Parsed(value) => Data::Parsed(value),
        });
        QmpEvent {
            name: Cow::Owned(self.name.into_owned()),
            name_cut: self.name_cut,
            data,
            seconds: self.seconds,
            microseconds: self.microseconds,
        }
    }
}

impl<'a> QmpEvent<'a> {
    /// The event `name` with the checked `data`, without a timestamp: what
    /// a mapping left for the delivery reads ([`QmpEvent::checked_data`]).
    pub fn with_data(name: &'a str, data: Raw<'a>) -> QmpEvent<'a> {
        let data = Data::Text { raw: Text::Line(data), parsed: Default::default() };
        QmpEvent { name: Cow::Borrowed(name), name_cut: false, data: Some(data), seconds: -1, microseconds: 0 }
    }

    /// The event, read by the fast path, or `None` if `line` is anything
    /// but a plain event (which [`Message::parse_general`] then reads).
    /// `tape` is where the walk records the line's members.
    pub fn read_plain(line: &'a [u8], tape: &'a mut Tape) -> Option<QmpEvent<'a>> {
        QmpEvent::read_checked(Raw::check(line, tape)?)
    }

    /// [`QmpEvent::read_plain`] of a line already checked.
    pub fn read_checked(message: Raw<'a>) -> Option<QmpEvent<'a>> {
        let [name, timestamp, data, greeting, reply, error] =
            message.get_all(["event", "timestamp", "data", "QMP", "return", "error"]);
        // A greeting or a reply, whatever else it has.
        (greeting.is_none() && reply.is_none() && error.is_none()).then_some(())?;
        let name = name?.as_str()?;
        let [seconds, microseconds] = timestamp.map_or([None, None], |t| t.get_all(["seconds", "microseconds"]));
        Some(QmpEvent {
            name: Cow::Borrowed(name),
            // The walk refused control characters in strings.
            name_cut: false,
            data: data.map(|d| Data::Text { raw: Text::Line(d), parsed: Default::default() }),
            seconds: seconds.and_then(|s| s.as_i64()).unwrap_or(-1),
            microseconds: microseconds.and_then(|us| us.as_u64()).and_then(|us| u32::try_from(us).ok()).unwrap_or(0),
        })
    }
}

impl PartialEq for QmpEvent<'_> {
    fn eq(&self, other: &QmpEvent<'_>) -> bool {
        (&self.name, self.name_cut, self.data(), self.seconds, self.microseconds)
            == (&other.name, other.name_cut, other.data(), other.seconds, other.microseconds)
    }
}

/// One line from QEMU, classified.
#[derive(Clone, Debug, PartialEq)]
pub enum Message<'a> {
    /// The greeting QEMU sends on connect (a top-level `"QMP"` key).
    Greeting {
        /// `(major, minor, micro)`; zeros where QEMU left a number out.
        version: (u64, u64, u64),
        capabilities: Vec<String>,
    },
    Event(QmpEvent<'a>),
    /// A successful reply. `id` is the command's id: a string id as sent,
    /// any other JSON id in its compact JSON text (`42` → `"42"`).
    Return {
        id: Option<String>,
        value: Value,
    },
    /// A failed reply.
    Error {
        id: Option<String>,
        class: String,
        desc: String,
    },
}

/// Why a line is not a QMP message. The caller logs it and goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// The start of a line, for error messages.
fn excerpt(line: &[u8]) -> String {
    const MAX: usize = 80;
    let text = String::from_utf8_lossy(&line[..line.len().min(MAX)]).into_owned();
    if line.len() > MAX {
        format!("{text}...")
    } else {
        text
    }
}

fn id_of(obj: &Map<String, Value>) -> Option<String> {
    match obj.get("id")? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn version_part(version: Option<&Value>, key: &str) -> u64 {
    version.and_then(|v| v.get(key)).and_then(Value::as_u64).unwrap_or(0)
}

impl Message<'_> {
    /// Classifies one line (without its line ending).
    pub fn parse(line: &[u8]) -> Result<Message<'static>, ParseError> {
        let mut tape = Tape::new();
        Ok(match Message::parse_in(line, &mut tape)? {
            Message::Event(event) => Message::Event(event.into_owned()),
            Message::Greeting { version, capabilities } => Message::Greeting { version, capabilities },
            Message::Return { id, value } => Message::Return { id, value },
            Message::Error { id, class, desc } => Message::Error { id, class, desc },
        })
    }

    /// The general parser's reading of a line [`QmpEvent::read_plain`] did
    /// not take: greetings, replies, rare or malformed lines.
    pub fn parse_general(line: &[u8]) -> Result<Message<'static>, ParseError> {
        let value: Value = serde_json::from_slice(line)
            .map_err(|e| ParseError(format!("malformed JSON from QEMU ({e}): {}", excerpt(line))))?;
        let Value::Object(mut obj) = value else {
            return Err(ParseError(format!("QMP message is not a JSON object: {}", excerpt(line))));
        };
        if let Some(qmp) = obj.get("QMP") {
            let version = qmp.get("version").and_then(|v| v.get("qemu"));
            let capabilities = qmp
                .get("capabilities")
                .and_then(Value::as_array)
                .map(|caps| caps.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            return Ok(Message::Greeting {
                version: (
                    version_part(version, "major"),
                    version_part(version, "minor"),
                    version_part(version, "micro"),
                ),
                capabilities,
            });
        }
        if let Some(name) = obj.get("event") {
            let Some(name) = name.as_str() else {
                return Err(ParseError(format!("QMP event name is not a string: {}", excerpt(line))));
            };
            let name = name.to_owned();
            let timestamp = obj.get("timestamp");
            let seconds = timestamp.and_then(|t| t.get("seconds")).and_then(Value::as_i64).unwrap_or(-1);
            let microseconds = timestamp
                .and_then(|t| t.get("microseconds"))
                .and_then(Value::as_u64)
                .and_then(|us| u32::try_from(us).ok())
                .unwrap_or(0);
            let data = obj.remove("data");
            return Ok(Message::Event(QmpEvent::new(&name, data, seconds, microseconds)));
        }
        let id = id_of(&obj);
        if let Some(value) = obj.remove("return") {
            return Ok(Message::Return { id, value });
        }
        if let Some(error) = obj.get("error") {
            let Some(error) = error.as_object() else {
                return Err(ParseError(format!("QMP error reply is not an object: {}", excerpt(line))));
            };
            let text = |key: &str| error.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            return Ok(Message::Error { id, class: text("class"), desc: text("desc") });
        }
        Err(ParseError(format!("QMP message is neither greeting, event nor reply: {}", excerpt(line))))
    }
}

impl<'a> Message<'a> {
    /// [`Message::parse`], an event borrowing `line`, whose members the walk
    /// records in `tape`.
    pub fn parse_in(line: &'a [u8], tape: &'a mut Tape) -> Result<Message<'a>, ParseError> {
        match QmpEvent::read_plain(line, tape) {
            Some(event) => Ok(Message::Event(event)),
            None => Message::parse_general(line),
        }
    }
}

/// Encodes a command as one compact JSON object followed by `\r\n`:
/// `{"execute":...,"arguments":...,"id":...}` (`arguments` only when given).
pub fn command(execute: &str, arguments: Option<Value>, id: &str) -> String {
    let mut out = String::from("{\"execute\":");
    out.push_str(&Value::from(execute).to_string());
    if let Some(arguments) = arguments {
        out.push_str(",\"arguments\":");
        out.push_str(&arguments.to_string());
    }
    out.push_str(",\"id\":");
    out.push_str(&Value::from(id).to_string());
    out.push_str("}\r\n");
    out
}

/// Where a [`Session`] is in the capabilities handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Connected; QEMU's greeting has not arrived yet.
    AwaitingGreeting,
    /// `qmp_capabilities` was sent; its reply has not arrived yet.
    Negotiating,
    /// Commands may be sent.
    Ready,
}

/// QEMU's error reply to a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorReply {
    pub class: String,
    pub desc: String,
}

/// What a message means to the session.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming<'a> {
    /// QEMU greeted us; write `send` (the `qmp_capabilities` command).
    Greeting {
        version: (u64, u64, u64),
        send: String,
    },
    /// The handshake is complete.
    Ready,
    Event(QmpEvent<'a>),
    /// The reply to a command sent with [`Session::command`].
    Reply {
        id: String,
        execute: String,
        result: Result<Value, ErrorReply>,
    },
}

/// A message that does not fit the conversation (the caller should log it,
/// and give up on the monitor if it happens during the handshake).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// The client side of one QMP connection: the handshake and id bookkeeping.
/// Ids are `libvirt-N`, counting from 1.
#[derive(Debug)]
pub struct Session {
    state: SessionState,
    next_id: u64,
    /// `(id, execute)` of the commands whose reply is still due.
    in_flight: Vec<(String, String)>,
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

impl Session {
    pub fn new() -> Session {
        Session { state: SessionState::AwaitingGreeting, next_id: 1, in_flight: Vec::new() }
    }

    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Encodes a command with a fresh id and remembers it; returns
    /// `(id, line)`. Only meaningful once the session is [`SessionState::Ready`].
    pub fn command(&mut self, execute: &str, arguments: Option<Value>) -> (String, String) {
        let id = format!("libvirt-{}", self.next_id);
        self.next_id += 1;
        let line = command(execute, arguments, &id);
        self.in_flight.push((id.clone(), execute.to_owned()));
        (id, line)
    }

    /// Sends a caller's own QMP JSON as libvirt does: an object with an
    /// `execute` member gets a fresh `id` appended (one that has an `id`
    /// already is refused, as libvirt refuses it); anything else goes as it
    /// is, and QEMU's error reply to it carries no id of ours (see
    /// [`Session::on_message`]). Returns `(id, line)`, the id the reply is
    /// reported under.
    pub fn raw_command(&mut self, mut json: Value) -> Result<(String, String), ProtocolError> {
        let id = format!("libvirt-{}", self.next_id);
        let execute = match &mut json {
            Value::Object(obj) if obj.contains_key("execute") => {
                if obj.contains_key("id") {
                    return Err(ProtocolError("Unable to append command 'id' string".into()));
                }
                let execute = obj.get("execute").and_then(Value::as_str).unwrap_or_default().to_owned();
                obj.insert("id".into(), Value::from(id.as_str()));
                execute
            }
            _ => String::new(),
        };
        self.next_id += 1;
        self.in_flight.push((id.clone(), execute));
        Ok((id, format!("{json}\r\n")))
    }

    /// The command a reply answers. An error reply with no id, or an id not
    /// ours, answers the oldest command: QEMU answers in order (no
    /// out-of-band execution is negotiated), and leaves the id out (or
    /// echoes the caller's) when it refuses a raw command's form.
    fn take_in_flight(&mut self, id: Option<String>, error_reply: bool) -> Result<(String, String), ProtocolError> {
        let position = id.as_ref().and_then(|id| self.in_flight.iter().position(|(pending, _)| pending == id));
        let what = if error_reply { "error reply" } else { "reply" };
        match (position, &id) {
            (Some(i), _) => Ok(self.in_flight.remove(i)),
            (None, _) if error_reply && !self.in_flight.is_empty() => Ok(self.in_flight.remove(0)),
            (None, None) => Err(ProtocolError(format!("{what} without an id"))),
            (None, Some(id)) => Err(ProtocolError(format!("{what} to unknown command id '{id}'"))),
        }
    }

    /// Interprets one message from QEMU.
    pub fn on_message<'a>(&mut self, msg: Message<'a>) -> Result<Incoming<'a>, ProtocolError> {
        match msg {
            Message::Greeting { version, .. } => {
                if self.state != SessionState::AwaitingGreeting {
                    return Err(ProtocolError("unexpected second QMP greeting".into()));
                }
                let (_, send) = self.command("qmp_capabilities", None);
                self.state = SessionState::Negotiating;
                Ok(Incoming::Greeting { version, send })
            }
            Message::Event(event) => Ok(Incoming::Event(event)),
            Message::Return { id, value } => {
                let (id, execute) = self.take_in_flight(id, false)?;
                if self.state == SessionState::Negotiating && execute == "qmp_capabilities" {
                    self.state = SessionState::Ready;
                    return Ok(Incoming::Ready);
                }
                Ok(Incoming::Reply { id, execute, result: Ok(value) })
            }
            Message::Error { id, class, desc } => {
                let (id, execute) = self.take_in_flight(id, true)?;
                if self.state == SessionState::Negotiating && execute == "qmp_capabilities" {
                    return Err(ProtocolError(format!("qmp_capabilities failed: {class}: {desc}")));
                }
                Ok(Incoming::Reply { id, execute, result: Err(ErrorReply { class, desc }) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GREETING: &str = r#"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1"}, "capabilities": ["oob"]}}"#;
    const RESUME: &str = r#"{"timestamp": {"seconds": 1795276272, "microseconds": 151277}, "event": "RESUME"}"#;

    /// The lines `bytes` completes.
    fn push(reader: &mut LineReader, bytes: &[u8]) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        reader.push(bytes, |line| lines.push(kept(line)));
        lines
    }

    fn data(s: &'static str) -> Line<'static> {
        Line::Data(s.as_bytes())
    }

    #[test]
    fn crlf_and_bare_lf() {
        let mut r = LineReader::new();
        let lines = push(&mut r, b"{\"a\": 1}\r\n{\"b\": 2}\n\r\n\n{\"c\": 3}\r");
        assert_eq!(lines, vec![data("{\"a\": 1}"), data("{\"b\": 2}")]);
        assert_eq!(r.pending_bytes(), 9);
        assert_eq!(push(&mut r, b"\n"), vec![data("{\"c\": 3}")]);
        assert_eq!(r.pending_bytes(), 0);
    }

    /// A line read whole is handed out where it was read, not copied.
    #[test]
    fn whole_lines_are_slices_of_the_read() {
        let mut r = LineReader::new();
        let read = b"{\"a\": 1}\r\n{\"b\": 2}\n{\"c\"";
        let mut starts = Vec::new();
        r.push(read, |line| match line {
            Line::Data(line) => starts.push(line.as_ptr()),
            Line::Oversized { .. } => panic!("{line:?}"),
        });
        assert_eq!(starts, [read.as_ptr(), read[10..].as_ptr()]);
        assert_eq!(push(&mut r, b": 3}\n"), vec![data("{\"c\": 3}")]);
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let stream = format!("{GREETING}\r\n{RESUME}\r\n{{\"return\": {{}}}}\n");
        let bytes = stream.as_bytes();
        let expected = vec![data(GREETING), data(RESUME), data("{\"return\": {}}")];
        for cut in 0..=bytes.len() {
            let mut r = LineReader::new();
            let mut lines = push(&mut r, &bytes[..cut]);
            lines.extend(push(&mut r, &bytes[cut..]));
            assert_eq!(lines, expected, "cut at {cut}");
        }
        // And one byte at a time.
        let mut r = LineReader::new();
        let mut lines = Vec::new();
        for b in bytes {
            lines.extend(push(&mut r, std::slice::from_ref(b)));
        }
        assert_eq!(lines, expected);
    }

    #[test]
    fn oversized_line_is_dropped_and_reader_resyncs() {
        let mut r = LineReader::new();
        let mut lines = push(&mut r, b"{\"first\": 1}\r\n");
        let block = vec![b'x'; 1024 * 1024];
        for _ in 0..11 {
            lines.extend(push(&mut r, &block));
            // Memory stays bounded while the oversized line streams past.
            assert!(r.partial.capacity() <= MAX_LINE + 1);
        }
        assert!(r.skipping.is_some());
        assert!(r.partial.capacity() == 0);
        lines.extend(push(&mut r, b"yy\r\n{\"after\": 2}\r\n"));
        assert_eq!(
            lines,
            vec![data("{\"first\": 1}"), Line::Oversized { len: 11 * 1024 * 1024 + 3 }, data("{\"after\": 2}")]
        );
        assert_eq!(r.pending_bytes(), 0);
    }

    #[test]
    fn line_length_limit_is_exact() {
        let mut max = vec![b'a'; MAX_LINE];
        max.extend_from_slice(b"\r\n");
        let mut over = vec![b'b'; MAX_LINE + 1];
        over.extend_from_slice(b"\r\n");
        let mut over_lf = vec![b'c'; MAX_LINE + 1];
        over_lf.push(b'\n');
        let mut r = LineReader::new();
        let mut lines = Vec::new();
        for read in [&max[..], &over, &over_lf, b"{}\r\n"] {
            lines.extend(push(&mut r, read));
        }
        assert_eq!(lines.len(), 4);
        assert!(matches!(&lines[0], Line::Data(d) if d.len() == MAX_LINE));
        assert!(matches!(lines[1], Line::Oversized { .. }));
        assert_eq!(lines[2], Line::Oversized { len: MAX_LINE + 1 });
        assert_eq!(lines[3], data("{}"));
    }

    #[test]
    fn greeting() {
        assert_eq!(
            Message::parse(GREETING.as_bytes()),
            Ok(Message::Greeting { version: (10, 0, 2), capabilities: vec!["oob".into()] })
        );
        assert_eq!(
            Message::parse(br#"{"QMP": {}}"#),
            Ok(Message::Greeting { version: (0, 0, 0), capabilities: vec![] })
        );
    }

    /// A NUL (escaped: the fast path leaves the line to the general parser)
    /// in the name or the data is reported (a C string would end there).
    #[test]
    fn events_with_a_nul() {
        let parse = |line: &str| match Message::parse(line.as_bytes()) {
            Ok(Message::Event(ev)) => ev,
            other => panic!("{other:?}"),
        };
        let cut = parse(r#"{"event": "RES\u0000ET"}"#);
        assert_eq!((&*cut.name, cut.holds_nul()), ("RES\0ET", true));
        assert_ne!(cut, parse(r#"{"event": "RES"}"#));
        assert!(parse(r#"{"event": "RESET", "data": {"reason": "a\u0000b"}}"#).holds_nul());
        assert!(!parse(r#"{"event": "RESET", "data": {"reason": "guest-reset"}}"#).holds_nul());
    }

    #[test]
    fn events() {
        assert_eq!(
            Message::parse(RESUME.as_bytes()),
            Ok(Message::Event(QmpEvent::new("RESUME", None, 1795276272, 151277)))
        );
        let line = br#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET", "data": {"guest": true, "reason": "guest-reset"}}"#;
        let Ok(Message::Event(ev)) = Message::parse(line) else { panic!() };
        assert_eq!(ev.name, "RESET");
        assert_eq!(ev.data(), Some(&json!({"guest": true, "reason": "guest-reset"})));
        assert_eq!(ev.details().as_deref(), Some(r#"{"guest":true,"reason":"guest-reset"}"#));
        assert_eq!((ev.seconds, ev.microseconds), (1, 2));
        // No timestamp at all is tolerated; a `data` QEMU sent is kept as sent.
        let Ok(Message::Event(ev)) = Message::parse(br#"{"event": "STOP", "data": null}"#) else { panic!() };
        assert_eq!((ev.data(), ev.seconds, ev.microseconds), (Some(&Value::Null), -1, 0));
        // What the fast path leaves to the general parser reads the same.
        let line = br#"{"event": "X", "data": {"a": 1.5, "b": "q\"uote", "a": 2}, "timestamp": {"seconds": 3}}"#;
        let Ok(Message::Event(ev)) = Message::parse(line) else { panic!() };
        assert_eq!((ev.data(), ev.seconds), (Some(&json!({"a": 2, "b": "q\"uote"})), 3));
        assert_eq!(ev.details().as_deref(), Some(r#"{"a":2,"b":"q\"uote"}"#));
        assert!(Message::parse(br#"{"event": 5}"#).is_err());
    }

    #[test]
    fn replies() {
        assert_eq!(
            Message::parse(br#"{"return": {}, "id": "libvirt-1"}"#),
            Ok(Message::Return { id: Some("libvirt-1".into()), value: json!({}) })
        );
        assert_eq!(
            Message::parse(br#"{"return": {"status": "prelaunch", "running": false}, "id": 42}"#),
            Ok(Message::Return { id: Some("42".into()), value: json!({"status": "prelaunch", "running": false}) })
        );
        assert_eq!(Message::parse(br#"{"return": [1]}"#), Ok(Message::Return { id: None, value: json!([1]) }));
        assert_eq!(
            Message::parse(
                br#"{"error": {"class": "CommandNotFound", "desc": "The command no-such-command has not been found"}}"#
            ),
            Ok(Message::Error {
                id: None,
                class: "CommandNotFound".into(),
                desc: "The command no-such-command has not been found".into()
            })
        );
        assert!(Message::parse(br#"{"error": "x"}"#).is_err());
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [&b"{]}"[..], b"[1, 2]", b"\"QMP\"", b"", b"{\"return\": ", b"{\"foo\": 1}", b"\xff\xfe{}"] {
            let err = Message::parse(bad).unwrap_err();
            assert!(!err.0.is_empty());
        }
        let err = Message::parse(b"[1, 2]").unwrap_err();
        assert!(err.to_string().contains("not a JSON object"), "{err}");
        let long = vec![b'{'; 1000];
        assert!(Message::parse(&long).unwrap_err().0.len() < 300);
    }

    #[test]
    fn command_encoding() {
        assert_eq!(
            command("qmp_capabilities", None, "libvirt-1"),
            "{\"execute\":\"qmp_capabilities\",\"id\":\"libvirt-1\"}\r\n"
        );
        let line = command("watchdog-set-action", Some(json!({"action": "pause"})), "libvirt-7");
        assert_eq!(
            line,
            "{\"execute\":\"watchdog-set-action\",\"arguments\":{\"action\":\"pause\"},\"id\":\"libvirt-7\"}\r\n"
        );
        let odd = command("a\"b", None, "x\\y");
        let parsed: Value = serde_json::from_str(odd.trim_end()).unwrap();
        assert_eq!(parsed, json!({"execute": "a\"b", "id": "x\\y"}));
    }

    #[test]
    fn session_handshake_events_and_replies() {
        let mut s = Session::new();
        assert_eq!(s.state(), SessionState::AwaitingGreeting);
        let greeting = s.on_message(Message::parse(GREETING.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            greeting,
            Incoming::Greeting {
                version: (10, 0, 2),
                send: "{\"execute\":\"qmp_capabilities\",\"id\":\"libvirt-1\"}\r\n".into()
            }
        );
        assert_eq!(s.state(), SessionState::Negotiating);
        let ready = s.on_message(Message::parse(br#"{"return": {}, "id": "libvirt-1"}"#).unwrap());
        assert_eq!(ready, Ok(Incoming::Ready));
        assert_eq!(s.state(), SessionState::Ready);

        let (id, line) = s.command("cont", None);
        assert_eq!(id, "libvirt-2");
        assert_eq!(line, "{\"execute\":\"cont\",\"id\":\"libvirt-2\"}\r\n");
        let (status_id, _) = s.command("query-status", None);
        // The event caused by `cont` comes before its reply.
        let ev = s.on_message(Message::parse(RESUME.as_bytes()).unwrap()).unwrap();
        assert!(matches!(ev, Incoming::Event(QmpEvent { ref name, .. }) if name == "RESUME"));
        // Replies are matched by id, whatever their order.
        let reply = s
            .on_message(
                Message::parse(br#"{"return": {"status": "running", "running": true}, "id": "libvirt-3"}"#).unwrap(),
            )
            .unwrap();
        assert_eq!(
            reply,
            Incoming::Reply {
                id: status_id,
                execute: "query-status".into(),
                result: Ok(json!({"status": "running", "running": true}))
            }
        );
        let reply = s.on_message(Message::parse(br#"{"return": {}, "id": "libvirt-2"}"#).unwrap()).unwrap();
        assert_eq!(reply, Incoming::Reply { id, execute: "cont".into(), result: Ok(json!({})) });

        let (id, _) = s.command("no-such-command", None);
        let reply = s
            .on_message(Message::Error { id: Some(id.clone()), class: "CommandNotFound".into(), desc: "nope".into() })
            .unwrap();
        assert_eq!(
            reply,
            Incoming::Reply {
                id,
                execute: "no-such-command".into(),
                result: Err(ErrorReply { class: "CommandNotFound".into(), desc: "nope".into() })
            }
        );

        // Replies nobody asked for, and a second greeting, are protocol errors.
        assert!(s.on_message(Message::Return { id: Some("libvirt-2".into()), value: json!({}) }).is_err());
        assert!(s.on_message(Message::Return { id: None, value: json!({}) }).is_err());
        assert!(s.on_message(Message::parse(GREETING.as_bytes()).unwrap()).is_err());
    }

    /// A caller's own JSON goes as written, with an id appended when it
    /// names a command; QEMU's id-less error reply (to a form it refuses)
    /// answers the oldest command.
    #[test]
    fn raw_commands_get_an_id_when_they_execute() {
        let mut s = Session::new();
        s.on_message(Message::parse(GREETING.as_bytes()).unwrap()).unwrap();
        s.on_message(Message::parse(br#"{"return": {}, "id": "libvirt-1"}"#).unwrap()).unwrap();
        let (id, line) = s.raw_command(json!({"execute": "query-name", "arguments": {}})).unwrap();
        assert_eq!(
            (id.as_str(), line.as_str()),
            ("libvirt-2", "{\"execute\":\"query-name\",\"arguments\":{},\"id\":\"libvirt-2\"}\r\n")
        );
        let refused = s.raw_command(json!({"execute": "query-name", "id": "mine"})).unwrap_err();
        assert_eq!(refused.0, "Unable to append command 'id' string");
        let (odd, line) = s.raw_command(json!({"foo": 1})).unwrap();
        assert_eq!(line, "{\"foo\":1}\r\n");
        let reply = s.on_message(Message::parse(br#"{"return": {"name": "x"}, "id": "libvirt-2"}"#).unwrap()).unwrap();
        assert!(matches!(reply, Incoming::Reply { id: ref i, .. } if *i == id));
        let unexpected = br#"{"error": {"class": "GenericError", "desc": "QMP input member 'foo' is unexpected"}}"#;
        let reply = s.on_message(Message::parse(unexpected).unwrap()).unwrap();
        assert!(matches!(reply, Incoming::Reply { id: ref i, result: Err(_), .. } if *i == odd));
        let (_, line) = s.raw_command(json!([1, 2])).unwrap();
        assert_eq!(line, "[1,2]\r\n");
    }

    #[test]
    fn session_capabilities_failure() {
        let mut s = Session::new();
        s.on_message(Message::parse(GREETING.as_bytes()).unwrap()).unwrap();
        let err = s
            .on_message(Message::Error {
                id: Some("libvirt-1".into()),
                class: "GenericError".into(),
                desc: "no".into(),
            })
            .unwrap_err();
        assert!(err.to_string().contains("qmp_capabilities failed"));
        assert_eq!(s.state(), SessionState::Negotiating);
    }
}
