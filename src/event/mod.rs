//! Domain events as the core sees them, and the per-driver event state that
//! queues and dispatches them.

pub mod state;

use crate::abi::domain_event as ids;
use crate::uuid::Uuid;

/// What a callback is told about the domain an event concerns: a snapshot
/// taken when the event was produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainIdentity {
    pub name: String,
    pub uuid: Uuid,
    /// -1 when the domain is not running.
    pub id: i32,
}

/// One end of a graphics connection (`virDomainEventGraphicsAddress`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphicsAddress {
    pub family: i32,
    pub node: String,
    pub service: String,
}

/// The payload of a domain event; each variant is one `VIR_DOMAIN_EVENT_ID_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventPayload {
    Lifecycle { event: i32, detail: i32 },
    Reboot,
    RtcChange { utc_offset: i64 },
    Watchdog { action: i32 },
    IoError { src_path: String, dev_alias: String, action: i32 },
    Graphics {
        phase: i32,
        local: GraphicsAddress,
        remote: GraphicsAddress,
        auth_scheme: String,
        /// `(type, name)` pairs: `x509dname` then `saslUsername` when present.
        subject: Vec<(String, String)>,
    },
}

impl EventPayload {
    /// The `VIR_DOMAIN_EVENT_ID_*` this payload is delivered under.
    pub fn event_id(&self) -> i32 {
        (match self {
            EventPayload::Lifecycle { .. } => ids::virDomainEventID::VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            EventPayload::Reboot => ids::virDomainEventID::VIR_DOMAIN_EVENT_ID_REBOOT,
            EventPayload::RtcChange { .. } => ids::virDomainEventID::VIR_DOMAIN_EVENT_ID_RTC_CHANGE,
            EventPayload::Watchdog { .. } => ids::virDomainEventID::VIR_DOMAIN_EVENT_ID_WATCHDOG,
            EventPayload::IoError { .. } => ids::virDomainEventID::VIR_DOMAIN_EVENT_ID_IO_ERROR,
            EventPayload::Graphics { .. } => ids::virDomainEventID::VIR_DOMAIN_EVENT_ID_GRAPHICS,
        }) as i32
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

/// How many domain event IDs exist (`VIR_DOMAIN_EVENT_ID_LAST`).
pub const DOMAIN_EVENT_ID_COUNT: i32 = 6;
