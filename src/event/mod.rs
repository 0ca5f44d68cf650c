//! Events as the core sees them (domain events, the other object classes'
//! events, raw QEMU monitor events), and the per-driver event state that
//! queues and dispatches them.

pub mod class;
pub mod domain_events;
pub mod state;

pub use class::{EventClass, TargetKey};
pub use domain_events::{EventPayload, DOMAIN_EVENT_ID_COUNT};

use crate::uuid::Uuid;

/// What a callback is told about the domain an event concerns: a snapshot
/// taken when the event was produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainIdentity {
    /// Shared: every queued event of a domain holds its name, and a monitor
    /// produces them by the million (a reference count, not a copy each).
    pub name: std::sync::Arc<str>,
    pub uuid: Uuid,
    /// -1 when the domain is not running.
    pub id: i32,
}

/// Text an event carries to C callbacks, NUL-terminated from when the event
/// is made, so that delivering it to any number of callbacks copies and
/// allocates nothing. Like every C string, it ends at its first NUL: the
/// text made from `"a\0b"` is `"a"`. Short text (most of what QEMU's events
/// carry: addresses, ports, auth schemes, event names) is kept inline, so
/// that making it allocates nothing either.
#[derive(Clone)]
pub struct CText(Repr);

/// The longest text kept inline, its NUL not counted.
const INLINE_TEXT: usize = 21;

#[derive(Clone)]
enum Repr {
    /// `len` bytes of text, then a NUL (and zeros).
    Inline { len: u8, bytes: [u8; INLINE_TEXT + 1] },
    /// The text and its NUL.
    Heap(Box<str>),
}

impl CText {
    pub fn new(text: &str) -> CText {
        if text.len() <= INLINE_TEXT {
            let mut bytes = [0; INLINE_TEXT + 1];
            copy_short(text.as_bytes(), &mut bytes);
            // The zeros after the text make the first zero its end or its first NUL.
            let len = first_zero(&bytes);
            return CText(Repr::Inline { len: len as u8, bytes });
        }
        let text = match text.bytes().position(|byte| byte == 0) {
            Some(nul) => return CText::new(&text[..nul]),
            None => text,
        };
        let mut terminated = String::with_capacity(text.len() + 1);
        terminated.push_str(text);
        terminated.push('\0');
        CText(Repr::Heap(terminated.into_boxed_str()))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Copied from a `str` at a character boundary: always UTF-8.
            Repr::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default(),
            Repr::Heap(text) => &text[..text.len() - 1],
        }
    }

    /// The text with its NUL, for C: valid while `self` is, and not moved.
    pub fn as_c_ptr(&self) -> *const std::os::raw::c_char {
        match &self.0 {
            Repr::Inline { bytes, .. } => bytes.as_ptr().cast(),
            Repr::Heap(text) => text.as_ptr().cast(),
        }
    }

    /// The bytes `as_c_ptr` points to, NUL included.
    #[cfg(test)]
    fn c_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..=usize::from(*len)],
            Repr::Heap(text) => text.as_bytes(),
        }
    }
}

/// Copies `from` (at most [`INLINE_TEXT`] bytes) to the start of `to` with
/// two fixed-size copies that may overlap: the texts are a few bytes long,
/// and a `memcpy` call for each cost more than the copy.
fn copy_short(from: &[u8], to: &mut [u8; INLINE_TEXT + 1]) {
    // Sizes known when compiled: each copy is a load and a store.
    fn ends<const CHUNK: usize>(from: &[u8], to: &mut [u8]) {
        let len = from.len();
        to[..CHUNK].copy_from_slice(&from[..CHUNK]);
        to[len - CHUNK..len].copy_from_slice(&from[len - CHUNK..]);
    }
    let len = from.len();
    match len {
        0 => {}
        1..=3 => (to[0], to[len / 2], to[len - 1]) = (from[0], from[len / 2], from[len - 1]),
        4..=7 => ends::<4>(from, to),
        8..=15 => ends::<8>(from, to),
        _ => ends::<16>(from, to),
    }
}

/// Where the first zero byte of `bytes` is (the last one is zero), read
/// eight bytes at a time: the lowest byte a word flags is a zero (a borrow
/// only flags bytes above one).
fn first_zero(bytes: &[u8; INLINE_TEXT + 1]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_at = |at: usize| {
        let mut word = [0; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        let word = u64::from_le_bytes(word);
        let flagged = word.wrapping_sub(ONES) & !word & HIGHS;
        (flagged != 0).then(|| at + flagged.trailing_zeros() as usize / 8)
    };
    // The last word overlaps the second, which had no zero if it is read.
    zero_at(0).or_else(|| zero_at(8)).or_else(|| zero_at(INLINE_TEXT + 1 - 8)).unwrap_or(INLINE_TEXT)
}

impl PartialEq for CText {
    fn eq(&self, other: &CText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CText {}

impl std::hash::Hash for CText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl Default for CText {
    fn default() -> CText {
        CText::new("")
    }
}

impl std::ops::Deref for CText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for CText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for CText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for CText {
    fn from(text: &str) -> CText {
        CText::new(text)
    }
}

impl From<String> for CText {
    /// Keeps `text`'s buffer when it is not inline and has room for the NUL.
    fn from(mut text: String) -> CText {
        if let Some(nul) = text.find('\0') {
            text.truncate(nul);
        }
        if text.len() <= INLINE_TEXT {
            return CText::new(&text);
        }
        text.push('\0');
        CText(Repr::Heap(text.into_boxed_str()))
    }
}

impl From<&String> for CText {
    fn from(text: &String) -> CText {
        CText::new(text)
    }
}

impl PartialEq<str> for CText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One end of a graphics connection (`virDomainEventGraphicsAddress`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphicsAddress {
    pub family: i32,
    pub node: CText,
    pub service: CText,
}

/// The value of a typed parameter (`virTypedParameter`).
#[derive(Clone, Debug)]
pub enum TypedValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(bool),
    String(String),
}

impl PartialEq for TypedValue {
    fn eq(&self, other: &TypedValue) -> bool {
        use TypedValue::*;
        match (self, other) {
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (LLong(a), LLong(b)) => a == b,
            (ULLong(a), ULLong(b)) => a == b,
            // Bitwise, so that equality stays an equivalence (NaN == NaN).
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (Boolean(a), Boolean(b)) => a == b,
            (String(a), String(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for TypedValue {}

/// A named typed parameter of a TUNABLE or JOB_COMPLETED event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedParam {
    pub name: String,
    pub value: TypedValue,
}

impl TypedParam {
    pub fn new(name: impl Into<String>, value: TypedValue) -> TypedParam {
        TypedParam { name: name.into(), value }
    }
}

/// A domain event waiting in a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainEvent {
    pub domain: DomainIdentity,
    pub payload: EventPayload,
}

impl DomainEvent {
    pub fn new(domain: DomainIdentity, payload: EventPayload) -> DomainEvent {
        DomainEvent { domain, payload }
    }

    pub fn lifecycle(domain: DomainIdentity, event: i32, detail: i32) -> DomainEvent {
        DomainEvent::new(domain, EventPayload::Lifecycle { event, detail })
    }
}

/// A network, storage pool, node device or secret, as a callback sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectIdentity {
    /// The object's name; for a secret, its usage ID.
    pub name: String,
    /// Nil for node devices, which have none.
    pub uuid: Uuid,
    /// A secret's `virSecretUsageType`; 0 for the other classes.
    pub usage_type: i32,
    /// A node device's parent as its handle reports it without asking the
    /// driver (libvirt caches it in the handle when a lookup or creation
    /// knows it); `None` elsewhere.
    pub parent: Option<String>,
}

impl ObjectIdentity {
    pub fn named(name: impl Into<String>, uuid: Uuid) -> ObjectIdentity {
        ObjectIdentity { name: name.into(), uuid, usage_type: 0, parent: None }
    }
}

/// What an event of a non-domain class carries besides its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectPayload {
    /// ID 0 of every class: `(virConnect*EventLifecycleCallback)`.
    Lifecycle { event: i32, detail: i32 },
    /// The generic callback: storage pool REFRESH, node device UPDATE, secret
    /// VALUE_CHANGED.
    Plain { event_id: i32 },
}

/// An event about a network, storage pool, node device or secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectEvent {
    pub class: EventClass,
    pub object: ObjectIdentity,
    pub payload: ObjectPayload,
}

impl ObjectEvent {
    pub fn lifecycle(class: EventClass, object: ObjectIdentity, event: i32, detail: i32) -> ObjectEvent {
        ObjectEvent { class, object, payload: ObjectPayload::Lifecycle { event, detail } }
    }
}

/// An event of QEMU's monitor, passed on as QEMU sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuMonitorEvent {
    pub domain: DomainIdentity,
    pub name: CText,
    pub seconds: i64,
    pub micros: u32,
    /// The `data` member as JSON text, if the event had one.
    pub details: Option<CText>,
}

/// Anything an event state queues and dispatches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Domain(DomainEvent),
    Object(ObjectEvent),
    QemuMonitor(QemuMonitorEvent),
}

impl Event {
    pub fn class(&self) -> EventClass {
        match self {
            Event::Domain(_) => EventClass::Domain,
            Event::Object(event) => event.class,
            Event::QemuMonitor(_) => EventClass::QemuMonitor,
        }
    }

    pub fn event_id(&self) -> i32 {
        match self {
            Event::Domain(event) => event.payload.event_id(),
            Event::Object(ObjectEvent { payload: ObjectPayload::Lifecycle { .. }, .. }) | Event::QemuMonitor(_) => 0,
            Event::Object(ObjectEvent { payload: ObjectPayload::Plain { event_id }, .. }) => *event_id,
        }
    }

    /// Whether this event concerns the target `key` names.
    pub fn concerns(&self, key: &TargetKey) -> bool {
        let (uuid, name) = match self {
            Event::Domain(DomainEvent { domain, .. }) | Event::QemuMonitor(QemuMonitorEvent { domain, .. }) => {
                (&domain.uuid, &*domain.name)
            }
            Event::Object(ObjectEvent { object, .. }) => (&object.uuid, object.name.as_str()),
        };
        key.matches(uuid, name)
    }
}

impl From<DomainEvent> for Event {
    fn from(event: DomainEvent) -> Event {
        Event::Domain(event)
    }
}

impl From<ObjectEvent> for Event {
    fn from(event: ObjectEvent) -> Event {
        Event::Object(event)
    }
}

impl From<QemuMonitorEvent> for Event {
    fn from(event: QemuMonitorEvent) -> Event {
        Event::QemuMonitor(event)
    }
}

#[cfg(test)]
mod tests {
    use super::CText;

    #[test]
    fn c_text_is_nul_terminated_and_ends_at_the_first_nul() {
        let long = "x".repeat(40);
        for text in [CText::new("a\0b"), CText::from("a\0b".to_owned())] {
            assert_eq!(text.as_str(), "a");
            // What the C pointer points to.
            assert_eq!(text.c_bytes(), b"a\0");
        }
        let text = CText::from(String::from("vnc"));
        assert_eq!((text.as_str(), text.c_bytes()), ("vnc", &b"vnc\0"[..]));
        assert_eq!(text.as_c_ptr(), text.c_bytes().as_ptr().cast());
        assert!(CText::default().is_empty());
        assert_eq!(format!("{text} {text:?}"), "vnc \"vnc\"");
        // Inline up to 21 bytes, on the heap past that: the same text either way.
        for len in [0, 20, 21, 22, 40] {
            let text = &long[..len];
            for made in [CText::new(text), CText::from(text.to_owned()), CText::new(&format!("{text}\0tail"))] {
                assert_eq!(made.as_str(), text);
                assert_eq!(made.c_bytes(), format!("{text}\0").as_bytes());
                assert_eq!(made.as_c_ptr(), made.c_bytes().as_ptr().cast());
                assert_eq!(made, CText::new(text));
            }
        }
        let multibyte = CText::new("été 127.0.0.1 ü");
        assert_eq!(multibyte.as_str(), "été 127.0.0.1 ü");
        // Every length of each way of copying, with a NUL at every place.
        let distinct = "abcdefghijklmnopqrstuvwxyz";
        for len in 0..=24 {
            let text = &distinct[..len];
            assert_eq!(CText::new(text).c_bytes(), format!("{text}\0").as_bytes());
            for nul in 0..len {
                let cut = format!("{}\0{}", &text[..nul], &text[nul + 1..]);
                assert_eq!(CText::new(&cut).c_bytes(), format!("{}\0", &text[..nul]).as_bytes(), "{cut:?}");
            }
        }
    }
}
