//! The snapshots of `test:///default`'s domains: each domain's tree of
//! snapshots and its current one, and what creating, reverting to and
//! deleting a snapshot does to the domain, with the lifecycle events libvirt
//! 9.0's test driver emits (probed on it: reverting an active domain to an
//! active snapshot stops and starts it again, `REVERT_FORCE` or not;
//! reverting to an inactive one with `REVERT_RUNNING` or `_PAUSED` reports a
//! start but leaves the domain off).

use super::{lifecycle, Domains, TestDomain};
use crate::abi::common::{
    virDomainPausedReason as Paused, virDomainRunningReason as Running, virDomainShutoffReason as Shutoff,
    virDomainState as State,
};
use crate::abi::domain_event::{
    virDomainEventStartedDetailType as Started, virDomainEventStoppedDetailType as Stopped,
    virDomainEventSuspendedDetailType as Suspended, virDomainEventType as Lifecycle,
};
use crate::abi::libvirt_api::{
    virDomainSnapshotCreateFlags as Create, virDomainSnapshotDeleteFlags as Delete, virDomainSnapshotListFlags as List,
    virDomainSnapshotRevertFlags as Revert,
};
use crate::driver::check_flags;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::{DomainEvent, DomainIdentity};
use crate::xml::{self, Element};

/// What `virDomainSnapshotCreateXML` accepts on the test driver: the
/// flags it implements or for which it has nothing to do.
const CREATE_FLAGS: u32 = Create::VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE as u32
    | Create::VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT as u32
    | Create::VIR_DOMAIN_SNAPSHOT_CREATE_HALT as u32
    | Create::VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE as u32
    | Create::VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC as u32
    | Create::VIR_DOMAIN_SNAPSHOT_CREATE_LIVE as u32
    | Create::VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE as u32;
const REVERT_RUNNING: u32 = Revert::VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING as u32;
const REVERT_PAUSED: u32 = Revert::VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED as u32;
/// Accepted, and changes nothing: libvirt 9.0's test driver refuses no revert for want of it.
const REVERT_FORCE: u32 = Revert::VIR_DOMAIN_SNAPSHOT_REVERT_FORCE as u32;
const DELETE_CHILDREN: u32 = Delete::VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN as u32;
const DELETE_CHILDREN_ONLY: u32 = Delete::VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY as u32;
/// `VIR_DOMAIN_SNAPSHOT_LIST_ROOTS` for a domain's listing,
/// `_DESCENDANTS` (the same bit) for a snapshot's.
const LIST_TREE: u32 = List::VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS as u32;
/// Every listing flag the test driver accepts: the tree bit, the
/// topological order and every filter.
const LIST_FLAGS: u32 = 0x7ff;
const XML_SECURE: u32 = 1; // VIR_DOMAIN_SNAPSHOT_XML_SECURE

/// The names of `virDomainSnapshotState`, by value (those of
/// `virDomainState`, then `disk-snapshot`).
const STATE_NAMES: [&str; 9] =
    ["nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended", "disk-snapshot"];

struct Snapshot {
    name: String,
    description: Option<String>,
    /// A `virDomainSnapshotState` name.
    state: String,
    parent: Option<String>,
    creation_time: i64,
    /// `<memory snapshot=...>`.
    memory: String,
    disks: Option<Element>,
    /// The domain's definition when the snapshot was taken (a redefined
    /// snapshot always has one: the test driver requires it).
    domain: Element,
}

impl Snapshot {
    /// Whether reverting to it leaves the domain running or paused.
    fn is_active(&self) -> bool {
        self.state == "running" || self.state == "paused"
    }

    fn to_xml(&self) -> String {
        let mut root = Element::new("domainsnapshot");
        let mut add = |element: Element| root.children.push(xml::Node::Element(element));
        add(Element::with_text("name", &self.name));
        if let Some(description) = &self.description {
            add(Element::with_text("description", description));
        }
        add(Element::with_text("state", &self.state));
        if let Some(parent) = &self.parent {
            let mut element = Element::new("parent");
            element.children.push(xml::Node::Element(Element::with_text("name", parent)));
            add(element);
        }
        add(Element::with_text("creationTime", &self.creation_time.to_string()));
        add(Element { attributes: vec![("snapshot".into(), self.memory.clone())], ..Element::new("memory") });
        if let Some(disks) = &self.disks {
            add(disks.clone());
        }
        add(crate::driver::metadata::displayed(&self.domain));
        root.to_xml()
    }
}

/// A domain's snapshots, in creation order, and its current one.
#[derive(Default)]
pub(super) struct Snapshots {
    list: Vec<Snapshot>,
    current: Option<String>,
}

impl Snapshots {
    pub fn count(&self) -> usize {
        self.list.len()
    }

    fn find(&self, name: &str) -> Result<&Snapshot> {
        self.list
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| not_found(format!("no domain snapshot with matching name '{name}'")))
    }

    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Snapshot> + 'a {
        self.list.iter().filter(move |s| s.parent.as_deref() == Some(name))
    }

    /// Every descendant of `name`, parents before their children.
    fn descendants(&self, name: &str) -> Vec<String> {
        let mut found: Vec<String> = self.children(name).map(|s| s.name.clone()).collect();
        let mut next = 0;
        while next < found.len() {
            let more: Vec<String> = self.children(&found[next]).map(|s| s.name.clone()).collect();
            found.extend(more);
            next += 1;
        }
        found
    }

    /// Whether `snapshot` passes the filter groups of `flags`: in each
    /// group, no bit means every snapshot.
    fn passes(&self, snapshot: &Snapshot, flags: u32) -> bool {
        let group = |bits: &[(u32, bool)]| {
            let set = |bit: &u32| flags & bit != 0;
            !bits.iter().any(|(bit, _)| set(bit)) || bits.iter().any(|(bit, holds)| set(bit) && *holds)
        };
        let leaf = self.children(&snapshot.name).next().is_none();
        let inactive = snapshot.state == "shutoff";
        let disk_only = snapshot.state == "disk-snapshot";
        group(&[(List::VIR_DOMAIN_SNAPSHOT_LIST_LEAVES as u32, leaf), (List::VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES as u32, !leaf)])
            // Every snapshot of the test driver has metadata.
            && group(&[(List::VIR_DOMAIN_SNAPSHOT_LIST_METADATA as u32, true), (List::VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA as u32, false)])
            && group(&[
                (List::VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE as u32, inactive),
                (List::VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE as u32, !inactive && !disk_only),
                (List::VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY as u32, disk_only),
            ])
            // And is internal.
            && group(&[(List::VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL as u32, true), (List::VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL as u32, false)])
    }

    /// The names listed for `flags`: the domain's snapshots (with the tree
    /// bit, the roots only), or the children of `of` (with it, every
    /// descendant).
    fn names(&self, of: Option<&str>, flags: u32) -> Result<Vec<String>> {
        let tree = flags & LIST_TREE != 0;
        let candidates: Vec<&Snapshot> = match of {
            None if tree => self.list.iter().filter(|s| s.parent.is_none()).collect(),
            None => self.list.iter().collect(),
            Some(name) => {
                self.find(name)?;
                match tree {
                    true => self.descendants(name).iter().filter_map(|n| self.find(n).ok()).collect(),
                    false => self.children(name).collect(),
                }
            }
        };
        Ok(candidates.into_iter().filter(|s| self.passes(s, flags)).map(|s| s.name.clone()).collect())
    }

    /// Deletes `name` (its children move to its parent), its descendants
    /// too with `DELETE_CHILDREN`, or only them with `DELETE_CHILDREN_ONLY`.
    fn delete(&mut self, name: &str, flags: u32) -> Result<()> {
        let parent = self.find(name)?.parent.clone();
        if flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY) != 0 {
            let doomed = self.descendants(name);
            if self.current.as_ref().is_some_and(|c| doomed.contains(c)) {
                self.current = Some(name.to_string());
            }
            self.list.retain(|s| !doomed.contains(&s.name));
        } else {
            for child in self.list.iter_mut().filter(|s| s.parent.as_deref() == Some(name)) {
                child.parent = parent.clone();
            }
        }
        if flags & DELETE_CHILDREN_ONLY == 0 {
            if self.current.as_deref() == Some(name) {
                self.current = parent.filter(|p| self.list.iter().any(|s| s.name == *p));
            }
            self.list.retain(|s| s.name != name);
        }
        Ok(())
    }
}

fn not_found(detail: String) -> Error {
    Error::new(ErrorCode::VIR_ERR_NO_DOMAIN_SNAPSHOT, ErrorDomain::VIR_FROM_TEST, Some(detail))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |t| t.as_secs() as i64)
}

/// The snapshot a `<domainsnapshot>` document describes. A new snapshot
/// takes only its name and description from it (and checks the disks it
/// names); a redefined one takes everything, and must say when it was
/// taken, in which state and of which definition.
fn parse(text: &str, domain: &TestDomain, redefine: bool) -> Result<Snapshot> {
    let doc =
        xml::parse(text).map_err(|e| Error::xml_syntax(ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT, "domain_snapshot", e))?;
    if doc.name != "domainsnapshot" {
        return Err(Error::xml(
            ErrorDomain::VIR_FROM_XML,
            format!("expecting root element of 'domainsnapshot', not '{}'", doc.name),
        ));
    }
    let creation_time = doc.child_text("creationTime").and_then(|t| t.trim().parse::<i64>().ok());
    let name = doc.child_text("name").filter(|n| !n.is_empty());
    let description = doc.child_text("description");
    if redefine {
        let in_snapshot = ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT;
        let creation_time =
            creation_time.ok_or_else(|| Error::internal(in_snapshot, "missing creationTime from existing snapshot"))?;
        let state = doc
            .child_text("state")
            .filter(|s| STATE_NAMES.contains(&s.as_str()))
            .ok_or_else(|| Error::xml(in_snapshot, "missing state from existing snapshot"))?;
        let def =
            doc.child("domain").cloned().ok_or_else(|| Error::internal(in_snapshot, "missing domain in snapshot"))?;
        return Ok(Snapshot {
            name: name.unwrap_or_else(|| creation_time.to_string()),
            description,
            memory: doc.child("memory").and_then(|m| m.attribute("snapshot")).unwrap_or("no").to_string(),
            parent: doc.child("parent").and_then(|p| p.child_text("name")),
            disks: doc.child("disks").cloned(),
            state,
            creation_time,
            domain: def,
        });
    }
    for disk in doc.child("disks").into_iter().flat_map(Element::elements) {
        if disk.attribute("snapshot").is_some_and(|mode| mode != "internal") {
            return Err(Error::config_unsupported(
                ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT,
                format!("disk '{}' must use snapshot mode 'internal'", disk.attribute("name").unwrap_or_default()),
            ));
        }
    }
    let creation_time = now();
    let state = STATE_NAMES.get(domain.state as usize).copied().unwrap_or("nostate").to_string();
    Ok(Snapshot {
        name: name.unwrap_or_else(|| creation_time.to_string()),
        description,
        memory: if domain.is_active() { "internal" } else { "no" }.to_string(),
        parent: None,
        disks: disks_of(&domain.def),
        state,
        creation_time,
        domain: domain.def.clone(),
    })
}

/// `<disks>` for a new snapshot: every disk of the definition, internal.
fn disks_of(def: &Element) -> Option<Element> {
    let targets: Vec<String> = def
        .child("devices")
        .into_iter()
        .flat_map(Element::elements)
        .filter(|d| d.name == "disk")
        .filter_map(|d| d.child("target")?.attribute("dev").map(str::to_string))
        .collect();
    if targets.is_empty() {
        return None;
    }
    let mut disks = Element::new("disks");
    for target in targets {
        let disk = Element {
            attributes: vec![("name".into(), target), ("snapshot".into(), "internal".into())],
            ..Element::new("disk")
        };
        disks.children.push(xml::Node::Element(disk));
    }
    Some(disks)
}

/// `virDomainSnapshotCreateXML`: the snapshot's name, and the event of a
/// domain `VIR_DOMAIN_SNAPSHOT_CREATE_HALT` stopped.
pub(super) fn create(
    domains: &mut Domains,
    dom: &DomainIdentity,
    xml: &str,
    flags: u32,
) -> Result<(String, Option<DomainEvent>)> {
    check_flags(flags, CREATE_FLAGS, "testDomainSnapshotCreateXML", ErrorDomain::VIR_FROM_TEST)?;
    let redefine = flags & Create::VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE as u32 != 0;
    let halt = flags & Create::VIR_DOMAIN_SNAPSHOT_CREATE_HALT as u32 != 0;
    let domain = domains.find(dom)?;
    if !domain.persistent && halt {
        return Err(Error::operation_invalid(
            ErrorDomain::VIR_FROM_TEST,
            "cannot halt after transient domain snapshot",
        ));
    }
    let mut snapshot = parse(xml, domain, redefine)?;
    let name = snapshot.name.clone();
    let snapshots = &mut domain.snapshots;
    let existing = snapshots.list.iter().position(|s| s.name == name);
    if redefine {
        match existing {
            Some(index) => snapshots.list[index] = snapshot,
            None => snapshots.list.push(snapshot),
        }
        if flags & Create::VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT as u32 != 0 {
            snapshots.current = Some(name.clone());
        }
        return Ok((name, None));
    }
    if existing.is_some() {
        return Err(Error::new(
            ErrorCode::VIR_ERR_OPERATION_FAILED,
            ErrorDomain::VIR_FROM_DOMAIN,
            Some(format!("domain moment {name} already exists")),
        ));
    }
    snapshot.parent = snapshots.current.replace(name.clone());
    snapshots.list.push(snapshot);
    if !(halt && domain.is_active()) {
        return Ok((name, None));
    }
    let event = domains.stop(
        dom,
        Shutoff::VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT,
        Stopped::VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT,
    )?;
    Ok((name, Some(event)))
}

/// `virDomainRevertToSnapshot`: the events, in the order libvirt 9.0's test
/// driver queues them.
pub(super) fn revert(domains: &mut Domains, dom: &DomainIdentity, name: &str, flags: u32) -> Result<Vec<DomainEvent>> {
    check_flags(
        flags,
        REVERT_RUNNING | REVERT_PAUSED | REVERT_FORCE,
        "testDomainRevertToSnapshot",
        ErrorDomain::VIR_FROM_TEST,
    )?;
    let run_or_pause = flags & (REVERT_RUNNING | REVERT_PAUSED) != 0;
    let domain = domains.find(dom)?;
    let snapshot = domain.snapshots.find(name)?;
    let active_snapshot = snapshot.is_active();
    let paused_snapshot = snapshot.state == "paused";
    if !domain.persistent && !active_snapshot && !run_or_pause {
        return Err(Error::operation_invalid(
            ErrorDomain::VIR_FROM_TEST,
            "transient domain needs to request run or pause to revert to inactive snapshot",
        ));
    }
    let config = snapshot.domain.clone();
    let was_active = domain.is_active();
    domain.snapshots.current = None;
    let mut events = Vec::new();
    if was_active {
        events.push(domains.stop_in_place(
            dom,
            Shutoff::VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT,
            Stopped::VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT,
        )?);
    }
    let index = domains.index(dom)?;
    let domain = &mut domains.list[index];
    domain.def = config;
    domain.next_def = None;
    let pause = flags & REVERT_RUNNING == 0 && (paused_snapshot || flags & REVERT_PAUSED != 0);
    if active_snapshot {
        events.push(domains.start(
            index,
            Running::VIR_DOMAIN_RUNNING_FROM_SNAPSHOT,
            Started::VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT,
        ));
        // The snapshot's definition is now the domain's configuration, to
        // which a stop returns it (and which shows ID -1), transient or not.
        domains.list[index].has_persistent_config = true;
        if pause {
            domains.list[index].set_state(State::VIR_DOMAIN_PAUSED, Paused::VIR_DOMAIN_PAUSED_FROM_SNAPSHOT as i32);
        }
    } else if run_or_pause {
        // The test driver reports a start here, but leaves the domain off.
        let domain = &domains.list[index];
        events.push(lifecycle(
            domain,
            Lifecycle::VIR_DOMAIN_EVENT_STARTED,
            Started::VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT as i32,
        ));
    }
    if pause {
        let domain = &domains.list[index];
        events.push(lifecycle(
            domain,
            Lifecycle::VIR_DOMAIN_EVENT_SUSPENDED,
            Suspended::VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT as i32,
        ));
    }
    domains.list[index].snapshots.current = Some(name.to_string());
    Ok(events)
}

pub(super) fn delete(domain: &mut TestDomain, name: &str, flags: u32) -> Result<()> {
    check_flags(flags, DELETE_CHILDREN | DELETE_CHILDREN_ONLY, "testDomainSnapshotDelete", ErrorDomain::VIR_FROM_TEST)?;
    domain.snapshots.delete(name, flags)
}

/// The test driver's function behind the public `function`, which its
/// refusals of flags name.
fn driver_function(function: &str) -> String {
    format!("test{}", function.strip_prefix("vir").unwrap_or(function))
}

/// The listings of the public `function`.
pub(super) fn names(domain: &TestDomain, of: Option<&str>, flags: u32, function: &str) -> Result<Vec<String>> {
    check_flags(flags, LIST_FLAGS, &driver_function(function), ErrorDomain::VIR_FROM_TEST)?;
    domain.snapshots.names(of, flags)
}

pub(super) fn lookup(domain: &TestDomain, name: &str, flags: u32) -> Result<()> {
    check_flags(flags, 0, "testDomainSnapshotLookupByName", ErrorDomain::VIR_FROM_TEST)?;
    domain.snapshots.find(name).map(|_| ())
}

/// The current snapshot, for the public `function`.
pub(super) fn current(domain: &TestDomain, flags: u32, function: &str) -> Result<Option<String>> {
    check_flags(flags, 0, &driver_function(function), ErrorDomain::VIR_FROM_TEST)?;
    Ok(domain.snapshots.current.clone())
}

pub(super) fn no_current() -> Error {
    not_found("the domain does not have a current snapshot".into())
}

pub(super) fn is_current(domain: &TestDomain, name: &str, flags: u32) -> Result<bool> {
    check_flags(flags, 0, "testDomainSnapshotIsCurrent", ErrorDomain::VIR_FROM_TEST)?;
    domain.snapshots.find(name)?;
    Ok(domain.snapshots.current.as_deref() == Some(name))
}

/// Every snapshot of the test driver has metadata.
pub(super) fn has_metadata(domain: &TestDomain, name: &str, flags: u32) -> Result<bool> {
    check_flags(flags, 0, "testDomainSnapshotHasMetadata", ErrorDomain::VIR_FROM_TEST)?;
    domain.snapshots.find(name).map(|_| true)
}

pub(super) fn parent(domain: &TestDomain, name: &str, flags: u32) -> Result<String> {
    check_flags(flags, 0, "testDomainSnapshotGetParent", ErrorDomain::VIR_FROM_TEST)?;
    let snapshot = domain.snapshots.find(name)?;
    snapshot.parent.clone().ok_or_else(|| not_found(format!("snapshot '{name}' does not have a parent")))
}

pub(super) fn xml_desc(domain: &TestDomain, name: &str, flags: u32) -> Result<String> {
    check_flags(flags, XML_SECURE, "testDomainSnapshotGetXMLDesc", ErrorDomain::VIR_FROM_TEST)?;
    domain.snapshots.find(name).map(Snapshot::to_xml)
}

#[cfg(test)]
mod tests {
    use super::super::TestDriver;
    use crate::driver::Driver;
    use crate::event::DomainIdentity;

    fn snapshot(name: &str) -> String {
        format!("<domainsnapshot><name>{name}</name></domainsnapshot>")
    }

    /// A driver whose domain `test` has the snapshots a <- b <- c, b <- d
    /// (d current).
    fn tree() -> (TestDriver, DomainIdentity) {
        let driver = TestDriver::new();
        let dom = driver.lookup_by_name("test").unwrap();
        for name in ["a", "b", "c"] {
            driver.snapshot_create(&dom, &snapshot(name), 0).unwrap();
        }
        driver.snapshot_revert(&dom, "b", 0).unwrap();
        driver.snapshot_create(&dom, &snapshot("d"), 0).unwrap();
        (driver, dom)
    }

    fn names(driver: &TestDriver, dom: &DomainIdentity, of: Option<&str>, flags: u32) -> Vec<String> {
        driver.snapshot_names(dom, of, flags, "virDomainSnapshotListNames").unwrap()
    }

    #[test]
    fn listings_follow_the_tree_and_the_filters() {
        let (driver, dom) = tree();
        assert_eq!(names(&driver, &dom, None, 0), ["a", "b", "c", "d"]);
        assert_eq!(names(&driver, &dom, None, 1), ["a"], "ROOTS");
        assert_eq!(names(&driver, &dom, None, 4), ["c", "d"], "LEAVES");
        assert_eq!(names(&driver, &dom, None, 8), ["a", "b"], "NO_LEAVES");
        assert_eq!(names(&driver, &dom, Some("a"), 0), ["b"], "children");
        assert_eq!(names(&driver, &dom, Some("a"), 1), ["b", "c", "d"], "DESCENDANTS");
        assert!(names(&driver, &dom, None, 16).is_empty(), "NO_METADATA");
        assert_eq!(driver.snapshot_parent(&dom, "d", 0).unwrap(), "b");
        assert_eq!(driver.snapshot_current(&dom, 0).unwrap(), "d");
        let unknown = driver.snapshot_names(&dom, None, 1 << 20, "virDomainSnapshotNum").unwrap_err();
        assert_eq!(unknown.message, "unsupported flags (0x100000) in function testDomainSnapshotNum");
    }

    #[test]
    fn deleting_moves_children_and_the_current_snapshot_up() {
        let (driver, dom) = tree();
        driver.snapshot_delete(&dom, "b", 0).unwrap();
        assert_eq!(names(&driver, &dom, Some("a"), 0), ["c", "d"], "b's children are a's");
        driver.snapshot_delete(&dom, "d", 0).unwrap();
        assert_eq!(driver.snapshot_current(&dom, 0).unwrap(), "a", "the deleted current's parent");
        driver.snapshot_delete(&dom, "a", 4).unwrap();
        assert_eq!(names(&driver, &dom, None, 0), ["a"], "CHILDREN_ONLY");
        driver.snapshot_delete(&dom, "a", 1).unwrap();
        assert!(names(&driver, &dom, None, 0).is_empty());
        assert!(!driver.has_current_snapshot(&dom, 0).unwrap());
        let missing = driver.snapshot_delete(&dom, "a", 0).unwrap_err();
        assert_eq!(missing.message, "Domain snapshot not found: no domain snapshot with matching name 'a'");
    }

    /// The events are compared with real libvirt's by the snapshot demo
    /// (tests/c/snapshot_demo.c); here, the states they leave.
    #[test]
    fn reverting_leaves_libvirts_states() {
        let driver = TestDriver::new();
        let dom = driver.lookup_by_name("test").unwrap();
        let state = || {
            let now = driver.state(&dom, 0).unwrap();
            (now.state, now.reason, driver.refresh(&dom).unwrap().id)
        };
        driver.snapshot_create(&dom, &snapshot("running"), 0).unwrap();
        driver.suspend(&dom).unwrap();
        driver.snapshot_create(&dom, &snapshot("paused"), 0).unwrap();
        driver.snapshot_create(&dom, &snapshot("halted"), 8).unwrap();
        assert_eq!(state(), (5, 7, -1), "HALT: shut off from snapshot");
        driver.snapshot_create(&dom, &snapshot("off"), 0).unwrap();
        driver.snapshot_revert(&dom, "paused", 0).unwrap();
        assert_eq!(state(), (3, 7, 2), "paused from snapshot, a new ID");
        driver.snapshot_revert(&dom, "running", 0).unwrap();
        assert_eq!(state(), (1, 4, 3), "stopped and started again");
        driver.snapshot_revert(&dom, "paused", 1).unwrap();
        assert_eq!(state(), (1, 4, 4), "REVERT_RUNNING overrides the paused snapshot");
        driver.snapshot_revert(&dom, "off", 2).unwrap();
        assert_eq!(state(), (5, 7, -1), "an inactive snapshot leaves it off, REVERT_PAUSED or not");
        let xml = driver.snapshot_xml_desc(&dom, "off", 0).unwrap();
        assert!(xml.contains("<state>shutoff</state>") && xml.contains("<memory snapshot='no'/>"), "{xml}");
    }
}
