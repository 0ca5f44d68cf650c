//! The `test:///default` driver: libvirt's in-process test hypervisor with
//! one running domain, `test`. Its state is shared by every connection of the
//! process while any is open, and each operation emits the lifecycle events
//! libvirt 9.0's test driver emits.

use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Weak};

use once_cell::sync::Lazy;
use parking_lot::Mutex;

mod snapshots;
mod stats;

use super::metadata::{self, MetadataChange};
use super::params::{GivenParam, ParamType};
use super::test_objects::Objects;
use super::{
    check_flags, BlockStats, DomainInfo, DomainState, Done, Driver, HandleId, InterfaceStats, Lookup, NodeInfo,
    ObjectOp, ObjectQuery, PoolInfo,
};
use super::{domain_checks, impact, memory_size};
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
use crate::event::{
    DomainEvent, DomainIdentity, EventClass, EventPayload, ObjectEvent, ObjectIdentity, TypedParam, TypedValue,
};
use crate::uuid::Uuid;
use crate::xml::{self, Element};

/// The capabilities libvirt 9.0's test driver reports.
const CAPABILITIES: &str = include_str!("test_capabilities.xml");

const AFFECT_LIVE: u32 = Impact::VIR_DOMAIN_AFFECT_LIVE as u32;
const AFFECT_CONFIG: u32 = Impact::VIR_DOMAIN_AFFECT_CONFIG as u32;
const DESTROY_GRACEFUL: u32 = 1; // VIR_DOMAIN_DESTROY_GRACEFUL
const UNDEFINE_MANAGED_SAVE: u32 = 1; // VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
const UNDEFINE_SNAPSHOTS_METADATA: u32 = 2; // VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
const DEFINE_VALIDATE: u32 = 1; // VIR_DOMAIN_DEFINE_VALIDATE
const START_VALIDATE: u32 = 16; // VIR_DOMAIN_START_VALIDATE
/// VIR_DOMAIN_SAVE_BYPASS_CACHE, _RUNNING and _PAUSED.
const MANAGED_SAVE_FLAGS: u32 = 1 | 2 | 4;
const MEM_MAXIMUM: u32 = 4; // VIR_DOMAIN_MEM_MAXIMUM
const VCPU_MAXIMUM: u32 = 4; // VIR_DOMAIN_VCPU_MAXIMUM
/// What `virConnectGetMaxVcpus` answers on the test driver.
const MAX_VCPUS: u32 = 32;
/// The header of libvirt's test-driver save images, NUL included.
const SAVE_MAGIC: &[u8; 15] = b"TestGuestMagic\0";
/// The longest definition a save image may hold.
const SAVE_XML_MAX: usize = 8192;

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
    /// Shared with every identity handed out (each event and API call takes one).
    name: Arc<str>,
    uuid: Uuid,
    /// -1 while inactive.
    id: i32,
    state: State,
    reason: i32,
    persistent: bool,
    /// Started from a persistent definition: it keeps that configuration
    /// (even if undefined meanwhile), which is what a stop returns it to.
    has_persistent_config: bool,
    /// Stopped by `virDomainManagedSave`; the next start resumes from it.
    managed_save: bool,
    snapshots: snapshots::Snapshots,
}

impl TestDomain {
    /// A domain that is defined (`persistent`) or about to start (transient).
    fn inactive(def: Element, name: String, uuid: Uuid, persistent: bool) -> TestDomain {
        TestDomain {
            def,
            name: name.into(),
            uuid,
            id: -1,
            state: State::VIR_DOMAIN_SHUTOFF,
            reason: Shutoff::VIR_DOMAIN_SHUTOFF_UNKNOWN as i32,
            persistent,
            has_persistent_config: persistent,
            next_def: None,
            managed_save: false,
            snapshots: snapshots::Snapshots::default(),
        }
    }

    fn identity(&self) -> DomainIdentity {
        DomainIdentity { name: self.name.clone(), uuid: self.uuid, id: self.id }
    }

    fn is_active(&self) -> bool {
        self.state != State::VIR_DOMAIN_SHUTOFF
    }

    fn set_state(&mut self, state: State, reason: i32) {
        self.state = state;
        self.reason = reason;
    }

    /// The definition as `virDomainGetXMLDesc` shows it: with `inactive`,
    /// the configuration that takes effect at the next start.
    fn formatted(&self, inactive: bool) -> String {
        let persistent = self.next_def.as_ref().filter(|_| inactive);
        let mut def = metadata::displayed(persistent.unwrap_or(&self.def));
        // The inactive XML is a definition to start from: no ID.
        if self.is_active() && !inactive {
            let type_attr = def.attribute("type").map(str::to_string);
            def.attributes.retain(|(k, _)| k != "type");
            def.attributes.insert(0, ("id".to_string(), self.id.to_string()));
            if let Some(t) = type_attr {
                def.attributes.insert(0, ("type".to_string(), t));
            }
        }
        def.to_xml()
    }

    fn not_in_state(&self, what: &str) -> Error {
        Error::internal(ErrorDomain::VIR_FROM_TEST, format!("domain '{}' not {what}", self.name))
    }

    /// The live and the persistent definition `virDomainModificationImpact`
    /// flags name ([`impact::definitions`]).
    fn impact(&mut self, flags: u32) -> Result<(Option<&mut Element>, Option<&mut Element>)> {
        let active = self.is_active();
        let (live, config) = impact::definitions(flags, active, self.persistent)?;
        let persistent = match (config, active) {
            (false, _) => None,
            (true, false) => return Ok((None, Some(&mut self.def))),
            (true, true) => Some(self.next_def.get_or_insert_with(|| self.def.clone())),
        };
        Ok((live.then_some(&mut self.def), persistent))
    }

    /// The definitions `flags` name, live first.
    fn affected_defs(&mut self, flags: u32) -> Result<Vec<&mut Element>> {
        let (live, persistent) = self.impact(flags)?;
        Ok(live.into_iter().chain(persistent).collect())
    }

    /// The one definition `flags` name ([`impact::one_definition_is_live`]),
    /// and whether it is the live one.
    fn one_def(&mut self, flags: u32) -> Result<(&mut Element, bool)> {
        let live = impact::one_definition_is_live(flags, self.is_active(), self.persistent)?;
        match self.impact(flags)? {
            (Some(def), _) | (None, Some(def)) => Ok((def, live)),
            (None, None) => Err(not_running()),
        }
    }
}

/// The size in KiB that the definition's `element` (`memory`,
/// `currentMemory`, `maxMemory`) gives.
fn memory_kib(def: &Element, element: &str) -> Option<u64> {
    memory_size::kib(def, element).ok().flatten()
}

/// The guest's memory and its balloon's current size, in KiB.
fn memory_sizes(def: &Element) -> (u64, u64) {
    let total = memory_kib(def, "memory").unwrap_or(0);
    (total, memory_kib(def, "currentMemory").unwrap_or(total))
}

/// The guest's maximum and current vCPU counts (`<vcpu current='N'>MAX</vcpu>`).
fn vcpu_counts(def: &Element) -> (u32, u32) {
    let vcpu = def.child("vcpu");
    let max = vcpu.and_then(|v| domain_checks::c_uint(&v.untrimmed_text())).unwrap_or(1);
    (max, vcpu.and_then(|v| v.attribute("current")?.parse().ok()).unwrap_or(max))
}

/// Writes the vCPU counts; `current` is shown only when below the maximum.
fn set_vcpu_counts(def: &mut Element, max: u32, current: u32) {
    if def.child("vcpu").is_none() {
        let vcpu = Element { attributes: vec![("placement".into(), "static".into())], ..Element::new("vcpu") };
        def.insert_after(
            &["name", "uuid", "title", "description", "metadata", "maxMemory", "memory", "currentMemory"],
            vcpu,
        );
    }
    if let Some(vcpu) = def.child_mut("vcpu") {
        vcpu.children = vec![xml::Node::Text(max.to_string())];
        vcpu.set_attribute("current", (current < max).then(|| current.to_string()));
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

    fn index(&self, dom: &DomainIdentity) -> Result<usize> {
        self.list.iter().position(|d| d.uuid == dom.uuid).ok_or_else(|| Error::no_domain(ErrorDomain::VIR_FROM_TEST))
    }

    fn start(&mut self, index: usize, reason: Running, detail: Started) -> DomainEvent {
        let id = self.next_id;
        self.next_id += 1;
        let domain = &mut self.list[index];
        domain.id = id;
        domain.has_persistent_config = domain.persistent;
        domain.managed_save = false;
        domain.set_state(State::VIR_DOMAIN_RUNNING, reason as i32);
        lifecycle(domain, Lifecycle::VIR_DOMAIN_EVENT_STARTED, detail as i32)
    }

    /// Stops the domain and forgets it if it was transient. The event shows
    /// -1 for a domain started from a persistent definition, and the ID a
    /// domain created transient had, as libvirt's test driver reports them.
    fn stop(&mut self, dom: &DomainIdentity, reason: Shutoff, detail: Stopped) -> Result<DomainEvent> {
        let event = self.stop_in_place(dom, reason, detail)?;
        self.list.retain(|d| d.persistent || d.uuid != dom.uuid);
        Ok(event)
    }

    /// Stops the domain, keeping it even if it is transient (as reverting
    /// to a snapshot does before starting it again).
    fn stop_in_place(&mut self, dom: &DomainIdentity, reason: Shutoff, detail: Stopped) -> Result<DomainEvent> {
        let domain = self.find(dom)?;
        domain.set_state(State::VIR_DOMAIN_SHUTOFF, reason as i32);
        if domain.has_persistent_config {
            domain.id = -1;
            if let Some(next) = domain.next_def.take() {
                domain.def = next;
            }
        }
        Ok(lifecycle(domain, Lifecycle::VIR_DOMAIN_EVENT_STOPPED, detail as i32))
    }
}

fn lifecycle(domain: &TestDomain, event: Lifecycle, detail: i32) -> DomainEvent {
    DomainEvent::lifecycle(domain.identity(), event as i32, detail)
}

fn already_active(name: &str) -> Error {
    Error::operation_invalid(ErrorDomain::VIR_FROM_DOMAIN, format!("domain '{name}' is already active"))
}

fn refuse_xml_modification(dxml: Option<&str>) -> Result<()> {
    match dxml {
        Some(_) => Err(Error::new(
            ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED,
            ErrorDomain::VIR_FROM_TEST,
            Some("xml modification unsupported".into()),
        )),
        None => Ok(()),
    }
}

/// libvirt's system error: `what`, then the text of the failed call's errno
/// ("Success" when a short read left none).
fn system_error(what: String, error: Option<&io::Error>) -> Error {
    Error::system(ErrorDomain::VIR_FROM_TEST, what, error.and_then(io::Error::raw_os_error).unwrap_or(0))
}

/// Writes a save image in libvirt's test-driver format: the magic, the
/// definition's length as a native `int`, the definition. A failed write
/// removes the file.
fn write_save_image(path: &str, name: &str, xml: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| system_error(format!("saving domain '{name}' to '{path}': open failed"), Some(&e)))?;
    let length = i32::try_from(xml.len()).unwrap_or(i32::MAX);
    let written = file
        .write_all(SAVE_MAGIC)
        .and_then(|()| file.write_all(&length.to_ne_bytes()))
        .and_then(|()| file.write_all(xml.as_bytes()))
        .and_then(|()| file.sync_all());
    written.map_err(|e| {
        let _ = std::fs::remove_file(path);
        system_error(format!("saving domain '{name}' to '{path}': write failed"), Some(&e))
    })
}

/// The definition a save image holds, checked as libvirt checks it.
fn read_save_image(path: &str) -> Result<String> {
    let file =
        std::fs::File::open(path).map_err(|e| system_error(format!("cannot read domain image '{path}'"), Some(&e)))?;
    let mut contents = Vec::new();
    let limit = (SAVE_MAGIC.len() + 4 + SAVE_XML_MAX) as u64;
    file.take(limit)
        .read_to_end(&mut contents)
        .map_err(|e| system_error(format!("incomplete save header in '{path}'"), Some(&e)))?;
    let (magic, rest) = contents.split_at(contents.len().min(SAVE_MAGIC.len()));
    if magic.len() < SAVE_MAGIC.len() {
        return Err(system_error(format!("incomplete save header in '{path}'"), None));
    }
    if magic != SAVE_MAGIC {
        return Err(Error::internal(ErrorDomain::VIR_FROM_TEST, "mismatched header magic"));
    }
    let (length, xml) = rest.split_at(rest.len().min(4));
    let length: [u8; 4] =
        length.try_into().map_err(|_| system_error(format!("failed to read metadata length in '{path}'"), None))?;
    let length = i32::from_ne_bytes(length);
    if !(1..=SAVE_XML_MAX as i32).contains(&length) {
        return Err(Error::internal(ErrorDomain::VIR_FROM_TEST, "length of metadata out of range"));
    }
    let xml =
        xml.get(..length as usize).ok_or_else(|| system_error(format!("incomplete metadata in '{path}'"), None))?;
    Ok(String::from_utf8_lossy(xml).into_owned())
}

fn not_running() -> Error {
    Error::operation_invalid(ErrorDomain::VIR_FROM_DOMAIN, "domain is not running")
}

/// Reads a definition: `<name>` is required, `<uuid>` optional; everything
/// else is kept as given.
fn parse_definition(text: &str) -> Result<(Element, String, Uuid)> {
    let def = xml::parse(text).map_err(|e| Error::xml_syntax(ErrorDomain::VIR_FROM_DOMAIN, "domain_definition", e))?;
    if def.name != "domain" {
        return Err(Error::xml(
            ErrorDomain::VIR_FROM_DOMAIN,
            format!("unexpected root element <{}>, expecting <domain>", def.name),
        ));
    }
    definition(def)
}

/// A `<domain>` element as a definition (as `parse_definition` reads it;
/// a snapshot's is one too): its name and UUID, a new UUID when it has none.
fn definition(mut def: Element) -> Result<(Element, String, Uuid)> {
    let (name, uuid) = domain_checks::identity(&mut def)?;
    let machine = domain_checks::check_machine(&def, |_| Ok(()))?;
    domain_checks::complete_memory(&mut def, &machine);
    domain_checks::validate(&name, || Ok(()))?;
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
        let mut test = TestDomain::inactive(def, name, uuid, true);
        test.id = 1;
        test.set_state(State::VIR_DOMAIN_RUNNING, Running::VIR_DOMAIN_RUNNING_UNKNOWN as i32);
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

    /// Runs `op` on the domains, then queues the events it produced.
    fn with_domains<T, E: IntoIterator<Item = DomainEvent>>(
        &self,
        op: impl FnOnce(&mut Domains) -> Result<(T, E)>,
    ) -> Result<T> {
        let (value, events) = op(&mut self.domains.lock())?;
        for event in events {
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

    /// `get` of the domain, which must be running.
    fn read_running<T>(&self, dom: &DomainIdentity, get: impl FnOnce(&TestDomain) -> Result<T>) -> Result<T> {
        self.read(dom, |d| if d.is_active() { get(d) } else { Err(not_running()) })?
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
    // The test driver has no autostart or checkpoints.
    either(ListFlag::VIR_CONNECT_LIST_DOMAINS_ACTIVE, ListFlag::VIR_CONNECT_LIST_DOMAINS_INACTIVE, domain.is_active())
        && either(
            ListFlag::VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
            ListFlag::VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
            domain.persistent,
        )
        && state_ok
        && either(
            ListFlag::VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE,
            ListFlag::VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE,
            domain.managed_save,
        )
        && !has(ListFlag::VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
        && either(
            ListFlag::VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT,
            ListFlag::VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT,
            domain.snapshots.count() > 0,
        )
        && !has(ListFlag::VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT)
}

impl Driver for TestDriver {
    fn events(&self) -> &Arc<EventState> {
        &self.events
    }

    fn hypervisor_type(&self) -> Result<String> {
        Ok("TEST".to_string())
    }

    fn hypervisor_version(&self) -> Result<u64> {
        Ok(2)
    }

    fn hostname(&self) -> Result<String> {
        super::local_hostname()
    }

    /// libvirt's fixed host of the test driver.
    fn node_info(&self) -> Result<NodeInfo> {
        Ok(NodeInfo {
            model: "i686".into(),
            memory_kib: 3 * 1024 * 1024,
            cpus: 16,
            mhz: 1400,
            nodes: 2,
            sockets: 2,
            cores: 2,
            threads: 2,
        })
    }

    fn capabilities(&self) -> Result<String> {
        Ok(CAPABILITIES.to_string())
    }

    fn free_memory(&self) -> Result<u64> {
        Ok(stats::FREE_MEMORY)
    }

    fn cells_free_memory(&self, start_cell: usize, max_cells: usize) -> Result<Vec<u64>> {
        stats::cells_free_memory(start_cell, max_cells)
    }

    /// libvirt's test driver names its scheduler without looking the domain up.
    fn scheduler_type(&self, _dom: &DomainIdentity) -> Result<(String, i32)> {
        Ok((stats::SCHEDULER.to_string(), 1))
    }

    /// libvirt's test driver takes no flags here, not even the
    /// `VIR_TYPED_PARAM_STRING_OKAY` its public function adds: only the plain
    /// `virDomainGetSchedulerParameters` answers.
    fn scheduler_parameters(
        &self,
        dom: &DomainIdentity,
        flags: u32,
        _max: usize,
        _function: &str,
    ) -> Result<Vec<TypedParam>> {
        check_flags(flags, 0, "testDomainGetSchedulerParametersFlags", ErrorDomain::VIR_FROM_TEST)?;
        self.read(dom, |_| vec![TypedParam::new("weight", TypedValue::UInt(stats::SCHEDULER_WEIGHT))])
    }

    /// libvirt's test driver checks the parameters and keeps nothing: the
    /// weight stays 50.
    fn set_scheduler_parameters(
        &self,
        dom: &DomainIdentity,
        params: &[GivenParam],
        flags: u32,
        _function: &str,
    ) -> Result<()> {
        check_flags(flags, 0, "testDomainSetSchedulerParametersFlags", ErrorDomain::VIR_FROM_TEST)?;
        super::params::validate(params, &[("weight", ParamType::UInt)])?;
        self.read(dom, |_| ())
    }

    fn memory_stats(&self, dom: &DomainIdentity, max: usize, flags: u32) -> Result<Vec<(i32, u64)>> {
        check_flags(flags, 0, "testDomainMemoryStats", ErrorDomain::VIR_FROM_TEST)?;
        self.read_running(dom, |d| Ok(stats::memory_stats(&d.def, memory_sizes(&d.def).1, max)))
    }

    fn block_stats(&self, dom: &DomainIdentity, disk: &str) -> Result<BlockStats> {
        if disk.is_empty() {
            return Err(stats::summary_unsupported());
        }
        self.read_running(dom, |d| stats::check_disk(&d.def, disk).map(|()| stats::block_stats_at(stats::now())))
    }

    fn interface_stats(&self, dom: &DomainIdentity, device: &str) -> Result<InterfaceStats> {
        self.read_running(dom, |d| {
            stats::check_interface(&d.def, device).map(|()| stats::interface_stats_at(stats::now()))
        })
    }

    fn save(&self, dom: &DomainIdentity, path: &str, dxml: Option<&str>, flags: u32, _function: &str) -> Result<()> {
        check_flags(flags, 0, "testDomainSaveFlags", ErrorDomain::VIR_FROM_TEST)?;
        refuse_xml_modification(dxml)?;
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if !domain.is_active() {
                return Err(not_running());
            }
            write_save_image(path, &domain.name, &domain.formatted(false))?;
            let event =
                domains.stop(dom, Shutoff::VIR_DOMAIN_SHUTOFF_SAVED, Stopped::VIR_DOMAIN_EVENT_STOPPED_SAVED)?;
            Ok(((), Some(event)))
        })
    }

    /// Starts the domain a save image holds: a new transient domain, or
    /// the inactive one of that name and UUID running the saved definition
    /// until it stops.
    fn restore(&self, path: &str, dxml: Option<&str>, flags: u32, _function: &str) -> Result<()> {
        check_flags(flags, 0, "testDomainRestoreFlags", ErrorDomain::VIR_FROM_TEST)?;
        refuse_xml_modification(dxml)?;
        let (def, name, uuid) = parse_definition(&read_save_image(path)?)?;
        self.with_domains(|domains| {
            check_unique(domains, &name, &uuid)?;
            let index = match domains.list.iter().position(|d| d.uuid == uuid) {
                Some(index) if domains.list[index].is_active() => return Err(already_active(&name)),
                Some(index) => {
                    let domain = &mut domains.list[index];
                    let persistent_def = std::mem::replace(&mut domain.def, def);
                    domain.next_def = domain.persistent.then_some(persistent_def);
                    index
                }
                None => {
                    domains.list.push(TestDomain::inactive(def, name, uuid, false));
                    domains.list.len() - 1
                }
            };
            let event =
                domains.start(index, Running::VIR_DOMAIN_RUNNING_RESTORED, Started::VIR_DOMAIN_EVENT_STARTED_RESTORED);
            Ok(((), Some(event)))
        })
    }

    fn managed_save(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        check_flags(flags, MANAGED_SAVE_FLAGS, "testDomainManagedSave", ErrorDomain::VIR_FROM_TEST)?;
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if !domain.is_active() {
                return Err(not_running());
            }
            if !domain.persistent {
                return Err(Error::operation_invalid(
                    ErrorDomain::VIR_FROM_TEST,
                    "cannot do managed save for transient domain",
                ));
            }
            domain.managed_save = true;
            let event =
                domains.stop(dom, Shutoff::VIR_DOMAIN_SHUTOFF_SAVED, Stopped::VIR_DOMAIN_EVENT_STOPPED_SAVED)?;
            Ok(((), Some(event)))
        })
    }

    fn has_managed_save(&self, dom: &DomainIdentity, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "testDomainHasManagedSaveImage", ErrorDomain::VIR_FROM_TEST)?;
        self.read(dom, |d| d.managed_save)
    }

    fn managed_save_remove(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainManagedSaveRemove", ErrorDomain::VIR_FROM_TEST)?;
        self.domains.lock().find(dom)?.managed_save = false;
        Ok(())
    }

    /// Sets the balloon's size or, with `VIR_DOMAIN_MEM_MAXIMUM`, the
    /// memory of an inactive definition; no event, as libvirt's test driver.
    fn set_memory(&self, dom: &DomainIdentity, size_kib: u64, flags: u32, _function: &str) -> Result<()> {
        check_flags(
            flags,
            AFFECT_LIVE | AFFECT_CONFIG | MEM_MAXIMUM,
            "testDomainSetMemoryFlags",
            ErrorDomain::VIR_FROM_TEST,
        )?;
        let mut domains = self.domains.lock();
        let (def, live) = domains.find(dom)?.one_def(flags)?;
        let (total, current) = memory_sizes(def);
        if flags & MEM_MAXIMUM == 0 {
            if size_kib > total {
                return Err(Error::invalid_arg(ErrorDomain::VIR_FROM_TEST, "cannot set memory higher than max memory"));
            }
            memory_size::set_kib(def, "currentMemory", size_kib);
            return Ok(());
        }
        if live {
            return Err(Error::operation_invalid(
                ErrorDomain::VIR_FROM_TEST,
                "cannot resize the maximum memory on an active domain",
            ));
        }
        if memory_kib(def, "maxMemory").is_some_and(|max| max < size_kib) {
            return Err(Error::operation_invalid(
                ErrorDomain::VIR_FROM_TEST,
                "cannot set initial memory size greater than the maximum memory size",
            ));
        }
        memory_size::set_kib(def, "memory", size_kib);
        memory_size::set_kib(def, "currentMemory", current.min(size_kib));
        Ok(())
    }

    /// Sets the running or configured vCPU count or, with
    /// `VIR_DOMAIN_VCPU_MAXIMUM`, the configured maximum; no event.
    fn set_vcpus(&self, dom: &DomainIdentity, count: u32, flags: u32, _function: &str) -> Result<()> {
        check_flags(
            flags,
            AFFECT_LIVE | AFFECT_CONFIG | VCPU_MAXIMUM,
            "testDomainSetVcpusFlags",
            ErrorDomain::VIR_FROM_TEST,
        )?;
        if count > MAX_VCPUS {
            return Err(Error::invalid_arg(
                ErrorDomain::VIR_FROM_TEST,
                format!("requested cpu amount exceeds maximum supported amount ({count} > {MAX_VCPUS})"),
            ));
        }
        let maximum = flags & VCPU_MAXIMUM != 0;
        let mut domains = self.domains.lock();
        let (live, persistent) = domains.find(dom)?.impact(flags)?;
        let over_max = |def: &Element| {
            let (max, _) = vcpu_counts(def);
            (max < count).then(|| {
                Error::invalid_arg(
                    ErrorDomain::VIR_FROM_TEST,
                    format!("requested cpu amount exceeds maximum ({count} > {max})"),
                )
            })
        };
        let checked =
            [live.as_deref().and_then(over_max), persistent.as_deref().filter(|_| !maximum).and_then(over_max)];
        if let Some(error) = checked.into_iter().flatten().next() {
            return Err(error);
        }
        if let Some(def) = live {
            set_vcpu_counts(def, vcpu_counts(def).0, count);
        }
        if let Some(def) = persistent {
            let (max, current) = vcpu_counts(def);
            match maximum {
                true => set_vcpu_counts(def, count, current.min(count)),
                false => set_vcpu_counts(def, max, count),
            }
        }
        Ok(())
    }

    fn vcpus(&self, dom: &DomainIdentity, flags: u32, _function: &str) -> Result<i32> {
        check_flags(
            flags,
            AFFECT_LIVE | AFFECT_CONFIG | VCPU_MAXIMUM,
            "testDomainGetVcpusFlags",
            ErrorDomain::VIR_FROM_TEST,
        )?;
        let mut domains = self.domains.lock();
        let (def, _) = domains.find(dom)?.one_def(flags)?;
        let (max, current) = vcpu_counts(def);
        Ok(if flags & VCPU_MAXIMUM != 0 { max } else { current } as i32)
    }

    /// libvirt's test driver answers the same whatever the type.
    fn max_vcpus(&self, _virt_type: Option<&str>) -> Result<i32> {
        Ok(MAX_VCPUS as i32)
    }

    /// libvirt's test driver calls every guest's OS `linux`.
    fn os_type(&self, dom: &DomainIdentity) -> Result<String> {
        self.read(dom, |_| "linux".to_string())
    }

    /// Autostart cannot be set here (`virDomainSetAutostart` is not
    /// supported), so it is off.
    fn autostart(&self, dom: &DomainIdentity) -> Result<bool> {
        self.read(dom, |_| false)
    }

    fn lookup_by_name(&self, name: &str) -> Result<DomainIdentity> {
        self.lookup(|d| &*d.name == name)
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
            .map(|t| t.as_micros() as u64 * 1000)
            .unwrap_or(0);
        self.read(dom, |d| {
            let (max_memory_kib, memory_kib) = memory_sizes(&d.def);
            DomainInfo {
                state: d.state as u8,
                max_memory_kib,
                memory_kib,
                vcpus: vcpu_counts(&d.def).1 as u16,
                cpu_time_ns,
            }
        })
    }

    fn is_persistent(&self, dom: &DomainIdentity) -> Result<bool> {
        self.read(dom, |d| d.persistent)
    }

    /// libvirt's test driver never marks a domain updated, and answers
    /// without looking the domain up.
    fn is_updated(&self, _dom: &DomainIdentity) -> Result<bool> {
        Ok(false)
    }

    fn xml_desc(&self, dom: &DomainIdentity, flags: u32) -> Result<String> {
        check_flags(flags, super::XML_DESC_COMMON_FLAGS, "testDomainGetXMLDesc", ErrorDomain::VIR_FROM_TEST)?;
        let inactive = flags & XmlFlag::VIR_DOMAIN_XML_INACTIVE as u32 != 0;
        self.read(dom, |d| d.formatted(inactive))
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
        self.shutdown_flags(dom, 0)
    }

    fn shutdown_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainShutdownFlags", ErrorDomain::VIR_FROM_TEST)?;
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
        self.destroy_flags(dom, 0)
    }

    fn destroy_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        check_flags(flags, DESTROY_GRACEFUL, "testDomainDestroyFlags", ErrorDomain::VIR_FROM_TEST)?;
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
        self.create_with_flags(dom, 0)
    }

    /// A domain with a managed save image starts from it, reported as a boot.
    fn create_with_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainCreateWithFlags", ErrorDomain::VIR_FROM_TEST)?;
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if domain.is_active() {
                return Err(Error::internal(
                    ErrorDomain::VIR_FROM_TEST,
                    format!("Domain '{}' is already running", domain.name),
                ));
            }
            let index = domains.list.iter().position(|d| d.uuid == dom.uuid).unwrap_or_default();
            Ok((
                (),
                Some(domains.start(
                    index,
                    Running::VIR_DOMAIN_RUNNING_BOOTED,
                    Started::VIR_DOMAIN_EVENT_STARTED_BOOTED,
                )),
            ))
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
        self.undefine_flags(dom, 0)
    }

    fn undefine_flags(&self, dom: &DomainIdentity, flags: u32) -> Result<()> {
        let keep_image = flags & UNDEFINE_MANAGED_SAVE == 0;
        let keep_snapshots = flags & UNDEFINE_SNAPSHOTS_METADATA == 0;
        check_flags(
            flags,
            UNDEFINE_MANAGED_SAVE | UNDEFINE_SNAPSHOTS_METADATA,
            "testDomainUndefineFlags",
            ErrorDomain::VIR_FROM_TEST,
        )?;
        self.with_domains(|domains| {
            let domain = domains.find(dom)?;
            if !domain.persistent {
                return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_TEST, "cannot undefine transient domain"));
            }
            if domain.managed_save && keep_image {
                return Err(Error::operation_invalid(
                    ErrorDomain::VIR_FROM_TEST,
                    "Refusing to undefine while domain managed save image exists",
                ));
            }
            let snapshots = domain.snapshots.count();
            if !domain.is_active() && snapshots > 0 && keep_snapshots {
                return Err(Error::operation_invalid(
                    ErrorDomain::VIR_FROM_TEST,
                    format!("cannot delete inactive domain with {snapshots} snapshots"),
                ));
            }
            domain.managed_save = false;
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
        self.define_xml_flags(xml, 0)
    }

    /// Validation against libvirt's schema (`VIR_DOMAIN_DEFINE_VALIDATE`) is
    /// accepted, not performed.
    fn define_xml_flags(&self, xml: &str, flags: u32) -> Result<DomainIdentity> {
        check_flags(flags, DEFINE_VALIDATE, "testDomainDefineXMLFlags", ErrorDomain::VIR_FROM_TEST)?;
        let (def, name, uuid) = parse_definition(xml)?;
        domain_checks::check_defined_name(&name)?;
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
                    domains.list.push(TestDomain::inactive(def, name, uuid, true));
                    Defined::VIR_DOMAIN_EVENT_DEFINED_ADDED
                }
            };
            let domain = domains.find(&DomainIdentity { name: "".into(), uuid, id: -1 })?;
            let event = lifecycle(domain, Lifecycle::VIR_DOMAIN_EVENT_DEFINED, detail as i32);
            Ok((domain.identity(), Some(event)))
        })
    }

    fn snapshot_create(&self, dom: &DomainIdentity, xml: &str, flags: u32) -> Result<(String, HandleId)> {
        self.with_domains(|domains| snapshots::create(domains, dom, xml, flags))
    }

    fn snapshot_revert(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<HandleId> {
        self.with_domains(|domains| snapshots::revert(domains, dom, name, flags))
    }

    fn snapshot_delete(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<()> {
        snapshots::delete(self.domains.lock().find(dom)?, name, flags)
    }

    fn snapshot_names(
        &self,
        dom: &DomainIdentity,
        of: Option<&str>,
        flags: u32,
        function: &str,
    ) -> Result<Vec<String>> {
        self.read(dom, |d| snapshots::names(d, of, flags, function))?
    }

    fn snapshot_lookup(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<()> {
        self.read(dom, |d| snapshots::lookup(d, name, flags))?
    }

    fn snapshot_current(&self, dom: &DomainIdentity, flags: u32) -> Result<String> {
        let current = self.read(dom, |d| snapshots::current(d, flags, "virDomainSnapshotCurrent"))??;
        current.ok_or_else(snapshots::no_current)
    }

    fn has_current_snapshot(&self, dom: &DomainIdentity, flags: u32) -> Result<bool> {
        Ok(self.read(dom, |d| snapshots::current(d, flags, "virDomainHasCurrentSnapshot"))??.is_some())
    }

    fn snapshot_is_current(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<bool> {
        self.read(dom, |d| snapshots::is_current(d, name, flags))?
    }

    fn snapshot_has_metadata(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<bool> {
        self.read(dom, |d| snapshots::has_metadata(d, name, flags))?
    }

    fn snapshot_parent(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<String> {
        self.read(dom, |d| snapshots::parent(d, name, flags))?
    }

    fn snapshot_xml_desc(&self, dom: &DomainIdentity, name: &str, flags: u32) -> Result<String> {
        self.read(dom, |d| snapshots::xml_desc(d, name, flags))?
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

    fn object_op(&self, class: EventClass, object: &ObjectIdentity, op: ObjectOp, flags: u32) -> Result<Done> {
        self.with_objects(|objects| objects.operate(class, object, op, flags))
    }

    fn object_query(&self, class: EventClass, object: &ObjectIdentity, query: ObjectQuery) -> Result<bool> {
        self.objects.lock().query(class, object, query)
    }

    fn object_xml_desc(&self, class: EventClass, object: &ObjectIdentity, flags: u32) -> Result<String> {
        self.objects.lock().xml_desc(class, object, flags)
    }

    fn object_autostart(&self, class: EventClass, object: &ObjectIdentity) -> Result<bool> {
        self.objects.lock().autostart(class, object)
    }

    fn network_bridge(&self, object: &ObjectIdentity) -> Result<String> {
        self.objects.lock().bridge(object)
    }

    fn pool_info(&self, object: &ObjectIdentity) -> Result<PoolInfo> {
        self.objects.lock().pool_info(object)
    }

    /// libvirt's test driver checks the flags in its function of the same
    /// name (`testNodeListDevices` for `virNodeListDevices`).
    fn node_device_names(&self, cap: Option<&str>, flags: u32, function: &str) -> Result<Vec<String>> {
        let own = function.replacen("vir", "test", 1);
        check_flags(flags, 0, &own, ErrorDomain::VIR_FROM_TEST)?;
        self.objects.lock().device_names(cap)
    }

    fn node_device_caps(&self, name: &str, _function: &str) -> Result<Vec<String>> {
        self.objects.lock().device_caps(name)
    }

    fn node_device_parent(&self, name: &str) -> Result<String> {
        self.objects.lock().device_parent(name)
    }

    /// Validation against libvirt's schema (`VIR_DOMAIN_START_VALIDATE`) is
    /// accepted, not performed.
    fn create_xml(&self, xml: &str, flags: u32) -> Result<DomainIdentity> {
        check_flags(flags, START_VALIDATE, "testDomainCreateXML", ErrorDomain::VIR_FROM_TEST)?;
        let (def, name, uuid) = parse_definition(xml)?;
        self.with_domains(|domains| {
            check_unique(domains, &name, &uuid)?;
            let index = match domains.list.iter().position(|d| d.uuid == uuid) {
                Some(index) if domains.list[index].is_active() => return Err(already_active(&name)),
                Some(index) => {
                    domains.list[index].def = def;
                    index
                }
                None => {
                    domains.list.push(TestDomain::inactive(def, name, uuid, false));
                    domains.list.len() - 1
                }
            };
            let event =
                domains.start(index, Running::VIR_DOMAIN_RUNNING_BOOTED, Started::VIR_DOMAIN_EVENT_STARTED_BOOTED);
            Ok((domains.list[index].identity(), Some(event)))
        })
    }
}

/// A name and a UUID may only be reused together.
fn check_unique(domains: &Domains, name: &str, uuid: &Uuid) -> Result<()> {
    for d in &domains.list {
        if &*d.name == name && d.uuid != *uuid {
            return Err(Error::new(
                ErrorCode::VIR_ERR_OPERATION_FAILED,
                ErrorDomain::VIR_FROM_DOMAIN,
                Some(format!("domain '{name}' is already defined with uuid {}", d.uuid)),
            ));
        }
        if d.uuid == *uuid && &*d.name != name {
            return Err(Error::new(
                ErrorCode::VIR_ERR_OPERATION_FAILED,
                ErrorDomain::VIR_FROM_DOMAIN,
                Some(format!("domain '{}' already exists with uuid {uuid}", d.name)),
            ));
        }
    }
    Ok(())
}
