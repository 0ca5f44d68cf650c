//! The `test:///default` driver: libvirt's in-process test hypervisor with
//! one running domain, `test`. Its state is shared by every connection of the
//! process while any is open, and each operation emits the lifecycle events
//! libvirt 9.0's test driver emits.

use std::sync::{Arc, Weak};

use once_cell::sync::Lazy;
use parking_lot::Mutex;

use super::metadata::{self, MetadataChange};
use super::test_objects::Objects;
use super::{check_flags, DomainInfo, DomainState, Driver, Lookup, ObjectOp, ObjectQuery};
use crate::abi::common::{
    virConnectListAllDomainsFlags as ListFlag, virDomainModificationImpact as Impact, virDomainPausedReason as Paused,
    virDomainRunningReason as Running, virDomainShutoffReason as Shutoff, virDomainState as State,
    virDomainXMLFlags as XmlFlag,
};
use crate::abi::domain_event::virDomainMetadataType as MetadataKind;
use crate::abi::domain_event::{
    virDomainEventDefinedDetailType as Defined, virDomainEventResumedDetailType as Resumed,
    virDomainEventStartedDetailType as Started, virDomainEventStoppedDetailType as Stopped,
    virDomainEventSuspendedDetailType as Suspended, virDomainEventType as Lifecycle,
    virDomainEventUndefinedDetailType as Undefined,
};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::state::EventState;
use crate::event::{DomainEvent, DomainIdentity, EventClass, EventPayload, ObjectEvent, ObjectIdentity};
use crate::uuid::Uuid;
use crate::xml::{self, Element};

const AFFECT_LIVE: u32 = Impact::VIR_DOMAIN_AFFECT_LIVE as u32;
const AFFECT_CONFIG: u32 = Impact::VIR_DOMAIN_AFFECT_CONFIG as u32;

const DEFAULT_DOMAIN_XML: &str = "<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>";

struct TestDomain {
    /// The definition in effect (the live one while running).
    def: Element,
    /// Changes to the persistent configuration made while running, which
    /// take effect when the domain stops.
    next_def: Option<Element>,
    name: String,
    uuid: Uuid,
    /// -1 while inactive.
    id: i32,
    state: State,
    reason: i32,
    persistent: bool,
    /// Started from a persistent definition: it keeps that configuration
    /// (even if undefined meanwhile), which is what a stop returns it to.
    has_persistent_config: bool,
}

impl TestDomain {
    fn identity(&self) -> DomainIdentity {
        DomainIdentity { name: self.name.as_str().into(), uuid: self.uuid, id: self.id }
    }

    fn is_active(&self) -> bool {
        self.state != State::VIR_DOMAIN_SHUTOFF
    }

    fn set_state(&mut self, state: State, reason: i32) {
        self.state = state;
        self.reason = reason;
    }

    fn not_in_state(&self, what: &str) -> Error {
        Error::internal(ErrorDomain::VIR_FROM_TEST, format!("domain '{}' not {what}", self.name))
    }

    /// The definitions `virDomainModificationImpact` flags name, live first:
    /// CURRENT means live while running and the configuration otherwise;
    /// live changes need a running domain, config changes a persistent one.
    fn affected_defs(&mut self, flags: u32) -> Result<Vec<&mut Element>> {
        let active = self.is_active();
        let (live, config) = match flags & (AFFECT_LIVE | AFFECT_CONFIG) {
            0 => (active, !active),
            both => (both & AFFECT_LIVE != 0, both & AFFECT_CONFIG != 0),
        };
        if live && !active {
            return Err(not_running());
        }
        if config && !self.persistent {
            return Err(Error::operation_invalid(
                ErrorDomain::VIR_FROM_DOMAIN,
                "transient domains do not have any persistent config",
            ));
        }
        Ok(match (live, config, active) {
            (true, true, _) => {
                let next = self.next_def.get_or_insert_with(|| self.def.clone());
                vec![&mut self.def, next]
            }
            (true, false, _) | (false, true, false) => vec![&mut self.def],
            (false, true, true) => vec![self.next_def.get_or_insert_with(|| self.def.clone())],
            (false, false, _) => vec![],
        })
    }

    fn memory_kib(&self, element: &str) -> Option<u64> {
        let node = self.def.child(element)?;
        let value: u64 = node.text().parse().ok()?;
        let scale = match node.attribute("unit").unwrap_or("KiB") {
            "b" | "bytes" => return Some(value / 1024),
            "k" | "K" | "KiB" => 1,
            "M" | "MiB" => 1024,
            "G" | "GiB" => 1024 * 1024,
            _ => return None,
        };
        Some(value * scale)
    }
}

struct Domains {
    list: Vec<TestDomain>,
    next_id: i32,
}

impl Domains {
    fn find(&mut self, dom: &DomainIdentity) -> Result<&mut TestDomain> {
        self.list.iter_mut().find(|d| d.uuid == dom.uuid).ok_or_else(|| {
            Error::new(
                ErrorCode::VIR_ERR_NO_DOMAIN,
                ErrorDomain::VIR_FROM_TEST,
                Some(format!("no domain with matching uuid '{}' ({})", dom.uuid, dom.name)),
            )
        })
    }

    fn start(&mut self, index: usize, detail: i32) -> DomainEvent {
        let id = self.next_id;
        self.next_id += 1;
        let domain = &mut self.list[index];
        domain.id = id;
        domain.has_persistent_config = domain.persistent;
        domain.set_state(State::VIR_DOMAIN_RUNNING, Running::VIR_DOMAIN_RUNNING_BOOTED as i32);
        lifecycle(domain, Lifecycle::VIR_DOMAIN_EVENT_STARTED, detail)
    }

    /// Stops the domain and forgets it if it was transient. The event shows
    /// -1 for a domain started from a persistent definition, and the ID a
    /// domain created transient had, as libvirt's test driver reports them.
    fn stop(&mut self, dom: &DomainIdentity, reason: Shutoff, detail: Stopped) -> Result<DomainEvent> {
        let domain = self.find(dom)?;
        domain.set_state(State::VIR_DOMAIN_SHUTOFF, reason as i32);
        if domain.has_persistent_config {
            domain.id = -1;
            if let Some(next) = domain.next_def.take() {
                domain.def = next;
            }
        }
        let event = lifecycle(domain, Lifecycle::VIR_DOMAIN_EVENT_STOPPED, detail as i32);
        let uuid = domain.uuid;
        self.list.retain(|d| d.persistent || d.uuid != uuid);
        Ok(event)
    }
}

fn lifecycle(domain: &TestDomain, event: Lifecycle, detail: i32) -> DomainEvent {
    DomainEvent::lifecycle(domain.identity(), event as i32, detail)
}

fn not_running() -> Error {
    Error::operation_invalid(ErrorDomain::VIR_FROM_DOMAIN, "domain is not running")
}

/// Reads a definition: `<name>` is required, `<uuid>` optional; everything
/// else is kept as given.
fn parse_definition(text: &str) -> Result<(Element, String, Uuid)> {
    let mut def =
        xml::parse(text).map_err(|e| Error::xml_syntax(ErrorDomain::VIR_FROM_DOMAIN, "domain_definition", e))?;
    if def.name != "domain" {
        return Err(Error::xml(
            ErrorDomain::VIR_FROM_DOMAIN,
            format!("unexpected root element <{}>, expecting <domain>", def.name),
        ));
    }
    let name = def.child_text("name").filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| Error::new(ErrorCode::VIR_ERR_NO_NAME, ErrorDomain::VIR_FROM_DOMAIN, None))?;
    let uuid = match def.child_text("uuid") {
        Some(text) => {
            Uuid::parse(&text).ok_or_else(|| Error::internal(ErrorDomain::VIR_FROM_DOMAIN, "malformed uuid element"))?
        }
        None => {
            let uuid = Uuid::random();
            def.insert_after(&["name"], Element::with_text("uuid", &uuid.to_string()));
            uuid
        }
    };
    def.set_attribute("id", None);
    Ok((def, name, uuid))
}

pub struct TestDriver {
    domains: Mutex<Domains>,
    /// Networks, storage pools and node devices.
    objects: Mutex<Objects>,
    events: Arc<EventState>,
}

static DEFAULT: Lazy<Mutex<Weak<TestDriver>>> = Lazy::new(|| Mutex::new(Weak::new()));

impl TestDriver {
    /// A fresh driver with libvirt's default configuration.
    pub fn new() -> TestDriver {
        let (def, name, uuid) = parse_definition(DEFAULT_DOMAIN_XML).expect("the built-in definition parses");
        let test = TestDomain {
            def,
            name,
            uuid,
            id: 1,
            state: State::VIR_DOMAIN_RUNNING,
            reason: Running::VIR_DOMAIN_RUNNING_UNKNOWN as i32,
            persistent: true,
            has_persistent_config: true,
            next_def: None,
        };
        TestDriver {
            domains: Mutex::new(Domains { list: vec![test], next_id: 2 }),
            objects: Mutex::new(Objects::new()),
            events: EventState::new(),
        }
    }

    /// The instance `test:///default` connections share while any is open.
    pub fn shared_default() -> Arc<dyn Driver> {
        let mut slot = DEFAULT.lock();
        if let Some(driver) = slot.upgrade() {
            return driver;
        }
        let driver = Arc::new(TestDriver::new());
        *slot = Arc::downgrade(&driver);
        driver
    }

    /// Runs `op` on the domains, then queues the event it produced.
    fn with_domains<T>(&self, op: impl FnOnce(&mut Domains) -> Result<(T, Option<DomainEvent>)>) -> Result<T> {
        let (value, event) = op(&mut self.domains.lock())?;
        if let Some(event) = event {
            self.events.queue(event);
        }
        Ok(value)
    }

    /// Moves a domain that is in state `from` to `to` and reports `event`;
    /// in any other state, libvirt's "domain 'NAME' not <from>" error.
    fn transition(
        &self,
        dom: &DomainIdentity,
        (from, from_name): (State, &str),
        (to, reason): (State, i32),
        (event, detail): (Lifecycle, i32),
    ) -> Result<()> {
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if domain.state != from {
                return Err(domain.not_in_state(from_name));
            }
            domain.set_state(to, reason);
            Ok(((), Some(lifecycle(domain, event, detail))))
        })
    }

    /// Runs `op` on the networks, pools and devices, then queues the event
    /// it produced.
    fn with_objects<T>(&self, op: impl FnOnce(&mut Objects) -> Result<(T, Option<ObjectEvent>)>) -> Result<T> {
        let (value, event) = op(&mut self.objects.lock())?;
        if let Some(event) = event {
            self.events.queue(event);
        }
        Ok(value)
    }

    fn read<T>(&self, dom: &DomainIdentity, get: impl FnOnce(&TestDomain) -> T) -> Result<T> {
        let mut domains = self.domains.lock();
        domains.find(dom).map(|d| get(d))
    }

    fn lookup(&self, matches: impl Fn(&TestDomain) -> bool) -> Result<DomainIdentity> {
        let domains = self.domains.lock();
        domains
            .list
            .iter()
            .find(|d| matches(d))
            .map(TestDomain::identity)
            .ok_or_else(|| Error::no_domain(ErrorDomain::VIR_FROM_TEST))
    }
}

impl Default for TestDriver {
    fn default() -> Self {
        TestDriver::new()
    }
}

fn passes(domain: &TestDomain, flags: u32) -> bool {
    let has = |flag: ListFlag| flags & flag as u32 != 0;
    let either = |a: ListFlag, b: ListFlag, value: bool| !(has(a) || has(b)) || (if value { has(a) } else { has(b) });
    let state_filter = ListFlag::VIR_CONNECT_LIST_DOMAINS_RUNNING as u32
        | ListFlag::VIR_CONNECT_LIST_DOMAINS_PAUSED as u32
        | ListFlag::VIR_CONNECT_LIST_DOMAINS_SHUTOFF as u32
        | ListFlag::VIR_CONNECT_LIST_DOMAINS_OTHER as u32;
    let state_ok = flags & state_filter == 0
        || match domain.state {
            State::VIR_DOMAIN_RUNNING => has(ListFlag::VIR_CONNECT_LIST_DOMAINS_RUNNING),
            State::VIR_DOMAIN_PAUSED => has(ListFlag::VIR_CONNECT_LIST_DOMAINS_PAUSED),
            State::VIR_DOMAIN_SHUTOFF => has(ListFlag::VIR_CONNECT_LIST_DOMAINS_SHUTOFF),
            _ => has(ListFlag::VIR_CONNECT_LIST_DOMAINS_OTHER),
        };
    // The test driver has no managed saves, autostart, snapshots or checkpoints.
    either(ListFlag::VIR_CONNECT_LIST_DOMAINS_ACTIVE, ListFlag::VIR_CONNECT_LIST_DOMAINS_INACTIVE, domain.is_active())
        && either(
            ListFlag::VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
            ListFlag::VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
            domain.persistent,
        )
        && state_ok
        && !has(ListFlag::VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE)
        && !has(ListFlag::VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
        && !has(ListFlag::VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT)
        && !has(ListFlag::VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT)
}

impl Driver for TestDriver {
    fn events(&self) -> &Arc<EventState> {
        &self.events
    }

    fn lookup_by_name(&self, name: &str) -> Result<DomainIdentity> {
        self.lookup(|d| d.name == name)
    }

    fn lookup_by_id(&self, id: i32) -> Result<DomainIdentity> {
        self.lookup(|d| d.id == id && d.is_active())
    }

    fn lookup_by_uuid(&self, uuid: &Uuid) -> Result<DomainIdentity> {
        self.lookup(|d| d.uuid == *uuid)
    }

    fn list_all(&self, flags: u32) -> Result<Vec<DomainIdentity>> {
        let domains = self.domains.lock();
        Ok(domains.list.iter().filter(|d| passes(d, flags)).map(TestDomain::identity).collect())
    }

    fn refresh(&self, dom: &DomainIdentity) -> Result<DomainIdentity> {
        self.read(dom, TestDomain::identity)
    }

    fn state(&self, dom: &DomainIdentity, flags: u32) -> Result<DomainState> {
        super::check_flags(flags, 0, "testDomainGetState", ErrorDomain::VIR_FROM_TEST)?;
        self.read(dom, |d| DomainState { state: d.state as i32, reason: d.reason })
    }

    fn info(&self, dom: &DomainIdentity) -> Result<DomainInfo> {
        let cpu_time_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|t| t.as_nanos() as u64)
            .unwrap_or(0);
        self.read(dom, |d| {
            let max_memory_kib = d.memory_kib("memory").unwrap_or(0);
            DomainInfo {
                state: d.state as u8,
                max_memory_kib,
                memory_kib: d.memory_kib("currentMemory").unwrap_or(max_memory_kib),
                vcpus: d.def.child_text("vcpu").and_then(|v| v.parse().ok()).unwrap_or(1),
                cpu_time_ns,
            }
        })
    }

    fn is_persistent(&self, dom: &DomainIdentity) -> Result<bool> {
        self.read(dom, |d| d.persistent)
    }

    fn xml_desc(&self, dom: &DomainIdentity, flags: u32) -> Result<String> {
        let inactive = flags & XmlFlag::VIR_DOMAIN_XML_INACTIVE as u32 != 0;
        self.read(dom, |d| {
            let persistent = d.next_def.as_ref().filter(|_| inactive);
            let mut def = metadata::displayed(persistent.unwrap_or(&d.def));
            if d.is_active() && persistent.is_none() {
                let type_attr = def.attribute("type").map(str::to_string);
                def.attributes.retain(|(k, _)| k != "type");
                def.attributes.insert(0, ("id".to_string(), d.id.to_string()));
                if let Some(t) = type_attr {
                    def.attributes.insert(0, ("type".to_string(), t));
                }
            }
            def.to_xml()
        })
    }

    fn suspend(&self, dom: &DomainIdentity) -> Result<()> {
        self.transition(
            dom,
            (State::VIR_DOMAIN_RUNNING, "running"),
            (State::VIR_DOMAIN_PAUSED, Paused::VIR_DOMAIN_PAUSED_USER as i32),
            (Lifecycle::VIR_DOMAIN_EVENT_SUSPENDED, Suspended::VIR_DOMAIN_EVENT_SUSPENDED_PAUSED as i32),
        )
    }

    fn resume(&self, dom: &DomainIdentity) -> Result<()> {
        self.transition(
            dom,
            (State::VIR_DOMAIN_PAUSED, "paused"),
            (State::VIR_DOMAIN_RUNNING, Running::VIR_DOMAIN_RUNNING_UNPAUSED as i32),
            (Lifecycle::VIR_DOMAIN_EVENT_RESUMED, Resumed::VIR_DOMAIN_EVENT_RESUMED_UNPAUSED as i32),
        )
    }

    /// A reboot restarts the guest in place (`on_reboot` is `restart`): no event.
    fn reboot(&self, dom: &DomainIdentity, _flags: u32) -> Result<()> {
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if !domain.is_active() {
                return Err(not_running());
            }
            domain.set_state(State::VIR_DOMAIN_RUNNING, Running::VIR_DOMAIN_RUNNING_BOOTED as i32);
            Ok(((), None))
        })
    }

    fn reset(&self, dom: &DomainIdentity, _flags: u32) -> Result<()> {
        self.with_domains(|domains| {
            if !domains.find(dom)?.is_active() {
                return Err(not_running());
            }
            Ok(((), None))
        })
    }

    fn shutdown(&self, dom: &DomainIdentity) -> Result<()> {
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if !domain.is_active() {
                return Err(domain.not_in_state("running"));
            }
            let event =
                domains.stop(dom, Shutoff::VIR_DOMAIN_SHUTOFF_SHUTDOWN, Stopped::VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)?;
            Ok(((), Some(event)))
        })
    }

    fn destroy(&self, dom: &DomainIdentity) -> Result<()> {
        self.with_domains(|domains| {
            if !domains.find(dom)?.is_active() {
                return Err(not_running());
            }
            let event = domains.stop(
                dom,
                Shutoff::VIR_DOMAIN_SHUTOFF_DESTROYED,
                Stopped::VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
            )?;
            Ok(((), Some(event)))
        })
    }

    fn create(&self, dom: &DomainIdentity) -> Result<()> {
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if domain.is_active() {
                return Err(Error::internal(
                    ErrorDomain::VIR_FROM_TEST,
                    format!("Domain '{}' is already running", domain.name),
                ));
            }
            let index = domains.list.iter().position(|d| d.uuid == dom.uuid).unwrap_or_default();
            Ok(((), Some(domains.start(index, Started::VIR_DOMAIN_EVENT_STARTED_BOOTED as i32))))
        })
    }

    fn set_metadata(&self, dom: &DomainIdentity, change: &MetadataChange, flags: u32) -> Result<()> {
        check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetMetadata", ErrorDomain::VIR_FROM_TEST)?;
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            for def in domain.affected_defs(flags)? {
                metadata::apply(def, change)?;
            }
            let nsuri = if change.kind == MetadataKind::VIR_DOMAIN_METADATA_ELEMENT as i32 {
                change.uri.clone().unwrap_or_default()
            } else {
                String::new()
            };
            let payload = EventPayload::MetadataChange { metadata_type: change.kind, nsuri: nsuri.into() };
            Ok(((), Some(DomainEvent::new(domain.identity(), payload))))
        })
    }

    fn metadata(&self, dom: &DomainIdentity, kind: i32, uri: Option<&str>, flags: u32) -> Result<String> {
        check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainGetMetadata", ErrorDomain::VIR_FROM_TEST)?;
        let mut domains = self.domains.lock();
        let domain = domains.find(dom)?;
        let def = domain.affected_defs(flags)?.into_iter().next().ok_or_else(not_running)?;
        metadata::read(def, kind, uri)
    }

    fn undefine(&self, dom: &DomainIdentity) -> Result<()> {
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if !domain.persistent {
                return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_TEST, "cannot undefine transient domain"));
            }
            let event = lifecycle(
                domain,
                Lifecycle::VIR_DOMAIN_EVENT_UNDEFINED,
                Undefined::VIR_DOMAIN_EVENT_UNDEFINED_REMOVED as i32,
            );
            if domain.is_active() {
                domain.persistent = false;
            } else {
                let uuid = domain.uuid;
                domains.list.retain(|d| d.uuid != uuid);
            }
            Ok(((), Some(event)))
        })
    }

    fn define_xml(&self, xml: &str) -> Result<DomainIdentity> {
        let (def, name, uuid) = parse_definition(xml)?;
        self.with_domains(|domains| {
            check_unique(domains, &name, &uuid)?;
            let detail = match domains.list.iter_mut().find(|d| d.uuid == uuid) {
                Some(existing) if existing.is_active() => {
                    existing.next_def = Some(def);
                    existing.persistent = true;
                    Defined::VIR_DOMAIN_EVENT_DEFINED_UPDATED
                }
                Some(existing) => {
                    existing.def = def;
                    existing.persistent = true;
                    Defined::VIR_DOMAIN_EVENT_DEFINED_UPDATED
                }
                None => {
                    domains.list.push(TestDomain {
                        def,
                        name,
                        uuid,
                        id: -1,
                        state: State::VIR_DOMAIN_SHUTOFF,
                        reason: Shutoff::VIR_DOMAIN_SHUTOFF_UNKNOWN as i32,
                        persistent: true,
                        has_persistent_config: true,
                        next_def: None,
                    });
                    Defined::VIR_DOMAIN_EVENT_DEFINED_ADDED
                }
            };
            let domain = domains.find(&DomainIdentity { name: "".into(), uuid, id: -1 })?;
            let event = lifecycle(domain, Lifecycle::VIR_DOMAIN_EVENT_DEFINED, detail as i32);
            Ok((domain.identity(), Some(event)))
        })
    }

    fn object_lookup(&self, class: EventClass, by: Lookup<'_>) -> Result<ObjectIdentity> {
        self.objects.lock().lookup(class, by)
    }

    fn object_list(&self, class: EventClass, flags: u32) -> Result<Vec<ObjectIdentity>> {
        self.objects.lock().list_all(class, flags)
    }

    fn object_define_xml(&self, class: EventClass, xml: &str, flags: u32) -> Result<ObjectIdentity> {
        self.with_objects(|objects| objects.define_xml(class, xml, flags))
    }

    fn object_create_xml(&self, class: EventClass, xml: &str, flags: u32) -> Result<ObjectIdentity> {
        self.with_objects(|objects| objects.create_xml(class, xml, flags))
    }

    fn object_op(&self, class: EventClass, object: &ObjectIdentity, op: ObjectOp, flags: u32) -> Result<()> {
        self.with_objects(|objects| objects.operate(class, object, op, flags))
    }

    fn object_query(&self, class: EventClass, object: &ObjectIdentity, query: ObjectQuery) -> Result<bool> {
        self.objects.lock().query(class, object, query)
    }

    fn object_xml_desc(&self, class: EventClass, object: &ObjectIdentity, flags: u32) -> Result<String> {
        self.objects.lock().xml_desc(class, object, flags)
    }

    fn node_device_parent(&self, name: &str) -> Result<String> {
        self.objects.lock().device_parent(name)
    }

    fn create_xml(&self, xml: &str, _flags: u32) -> Result<DomainIdentity> {
        let (def, name, uuid) = parse_definition(xml)?;
        self.with_domains(|domains| {
            check_unique(domains, &name, &uuid)?;
            let index = match domains.list.iter().position(|d| d.uuid == uuid) {
                Some(index) if domains.list[index].is_active() => {
                    return Err(Error::operation_invalid(
                        ErrorDomain::VIR_FROM_DOMAIN,
                        format!("domain '{name}' is already active"),
                    ));
                }
                Some(index) => {
                    domains.list[index].def = def;
                    index
                }
                None => {
                    domains.list.push(TestDomain {
                        def,
                        name,
                        uuid,
                        id: -1,
                        state: State::VIR_DOMAIN_SHUTOFF,
                        reason: Shutoff::VIR_DOMAIN_SHUTOFF_UNKNOWN as i32,
                        persistent: false,
                        has_persistent_config: false,
                        next_def: None,
                    });
                    domains.list.len() - 1
                }
            };
            let event = domains.start(index, Started::VIR_DOMAIN_EVENT_STARTED_BOOTED as i32);
            Ok((domains.list[index].identity(), Some(event)))
        })
    }
}

/// A name and a UUID may only be reused together.
fn check_unique(domains: &Domains, name: &str, uuid: &Uuid) -> Result<()> {
    for d in &domains.list {
        if d.name == name && d.uuid != *uuid {
            return Err(Error::new(
                ErrorCode::VIR_ERR_OPERATION_FAILED,
                ErrorDomain::VIR_FROM_DOMAIN,
                Some(format!("domain '{name}' is already defined with uuid {}", d.uuid)),
            ));
        }
        if d.uuid == *uuid && d.name != name {
            return Err(Error::new(
                ErrorCode::VIR_ERR_OPERATION_FAILED,
                ErrorDomain::VIR_FROM_DOMAIN,
                Some(format!("domain '{}' already exists with uuid {uuid}", d.name)),
            ));
        }
    }
    Ok(())
}
