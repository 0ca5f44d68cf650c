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
use crate::driver::{check_flags, HandleId};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::{DomainEvent, DomainIdentity};
use crate::uuid::Uuid;
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
const LIST_TOPOLOGICAL: u32 = List::VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL as u32;
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
    /// The children's names, in the order libvirt lists them: the newest
    /// link first (see `Snapshots`).
    children: Vec<String>,
    creation_time: i64,
    /// `<memory snapshot=...>`.
    memory: String,
    disks: Option<Element>,
    /// The domain's definition when the snapshot was taken (every snapshot
    /// of the test driver has one: a redefinition must give or keep it).
    domain: Element,
}

impl Snapshot {
    /// Whether reverting to it leaves the domain running or paused.
    fn is_active(&self) -> bool {
        is_online(&self.state)
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

/// A domain's snapshots, their tree and its current one.
///
/// The order of the listings is libvirt's where libvirt's is fixed: it
/// keeps each snapshot's children (and the roots) in a list to which a
/// snapshot is linked at the front, when it is created or redefined, and
/// to which a deleted snapshot's children move as a block, in their order,
/// in front of their new siblings; a walk of the tree visits a snapshot
/// before its descendants, in those orders. Only the plain listing of
/// every snapshot comes from libvirt's hash table, whose order changes from
/// run to run (its hash is seeded at random); ours keeps creation order.
#[derive(Default)]
pub(super) struct Snapshots {
    list: Vec<Snapshot>,
    roots: Vec<String>,
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

    fn find_mut(&mut self, name: &str) -> Option<&mut Snapshot> {
        self.list.iter_mut().find(|s| s.name == name)
    }

    /// The children of `parent` (the roots for `None`), in listing order.
    fn children_of(&self, parent: Option<&str>) -> &[String] {
        match parent {
            None => &self.roots,
            Some(name) => self.find(name).map_or(&[], |s| &s.children),
        }
    }

    fn children_of_mut(&mut self, parent: Option<&str>) -> Option<&mut Vec<String>> {
        match parent {
            None => Some(&mut self.roots),
            Some(name) => self.find_mut(name).map(|s| &mut s.children),
        }
    }

    /// Puts `name` at the front of its parent's children.
    fn link(&mut self, name: &str) {
        let parent = self.find(name).ok().and_then(|s| s.parent.clone());
        if let Some(siblings) = self.children_of_mut(parent.as_deref()) {
            siblings.insert(0, name.to_string());
        }
    }

    /// Takes `name` out of its parent's children.
    fn unlink(&mut self, name: &str) {
        let parent = self.find(name).ok().and_then(|s| s.parent.clone());
        if let Some(siblings) = self.children_of_mut(parent.as_deref()) {
            siblings.retain(|s| s != name);
        }
    }

    /// Every descendant of `parent` (of every root for `None`), each
    /// before its own descendants.
    fn descendants(&self, parent: Option<&str>) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending: Vec<&str> = self.children_of(parent).iter().rev().map(String::as_str).collect();
        while let Some(name) = pending.pop() {
            found.push(name.to_string());
            pending.extend(self.children_of(Some(name)).iter().rev().map(String::as_str));
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
        let leaf = snapshot.children.is_empty();
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
    /// bit, the roots only; with `TOPOLOGICAL`, in a walk of the tree), or
    /// the children of `of` (with the tree bit, its descendants).
    fn names(&self, of: Option<&str>, flags: u32) -> Result<Vec<String>> {
        let tree = flags & LIST_TREE != 0;
        let candidates: Vec<String> = match of {
            None if tree => self.roots.clone(),
            None if flags & LIST_TOPOLOGICAL != 0 => self.descendants(None),
            None => self.list.iter().map(|s| s.name.clone()).collect(),
            Some(name) => {
                self.find(name)?;
                match tree {
                    true => self.descendants(Some(name)),
                    false => self.children_of(Some(name)).to_vec(),
                }
            }
        };
        let passes = |name: &String| self.find(name).is_ok_and(|s| self.passes(s, flags));
        Ok(candidates.into_iter().filter(passes).collect())
    }

    /// Deletes `name` (its children move to its parent), its descendants
    /// too with `DELETE_CHILDREN`, or only them with `DELETE_CHILDREN_ONLY`.
    fn delete(&mut self, name: &str, flags: u32) -> Result<()> {
        let snapshot = self.find(name)?;
        let parent = snapshot.parent.clone();
        if flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY) != 0 {
            let doomed = self.descendants(Some(name));
            if self.current.as_ref().is_some_and(|c| doomed.contains(c)) {
                self.current = Some(name.to_string());
            }
            self.list.retain(|s| !doomed.contains(&s.name));
        } else {
            let moving = snapshot.children.clone();
            for child in self.list.iter_mut().filter(|s| moving.contains(&s.name)) {
                child.parent = parent.clone();
            }
            if let Some(siblings) = self.children_of_mut(parent.as_deref()) {
                siblings.splice(0..0, moving);
            }
        }
        match flags & DELETE_CHILDREN_ONLY {
            0 => {
                self.unlink(name);
                if self.current.as_deref() == Some(name) {
                    self.current = parent.filter(|p| self.find(p).is_ok());
                }
                self.list.retain(|s| s.name != name);
            }
            _ => self.find_mut(name).into_iter().for_each(|s| s.children.clear()),
        }
        Ok(())
    }
}

/// Whether a snapshot of this state has the domain running or paused.
fn is_online(state: &str) -> bool {
    state == "running" || state == "paused"
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
/// taken and in which state. A redefinition's `<domain>` counts only with
/// a `type` (libvirt's older snapshots had a bare `<domain><uuid>`); without
/// one the snapshot's `domain` is left empty. Beside the snapshot, the
/// UUID of the definition the document gave (`redefine_checked` checks it).
fn parse(text: &str, domain: &TestDomain, redefine: bool) -> Result<(Snapshot, Option<Uuid>)> {
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
        let name = name.ok_or_else(|| Error::xml(in_snapshot, "a redefined snapshot must have a name"))?;
        let creation_time =
            creation_time.ok_or_else(|| Error::internal(in_snapshot, "missing creationTime from existing snapshot"))?;
        let state =
            doc.child_text("state").ok_or_else(|| Error::xml(in_snapshot, "missing state from existing snapshot"))?;
        // `nostate` is no state a snapshot can be in.
        if !STATE_NAMES[1..].contains(&state.as_str()) {
            let detail = format!("Invalid state '{state}' in domain snapshot XML");
            return Err(Error::config_unsupported(in_snapshot, detail));
        }
        let given = doc.child("domain").filter(|d| d.attribute("type").is_some_and(|t| !t.is_empty()));
        let (def, uuid) = match given {
            Some(def) => super::definition(def.clone()).map(|(def, _, uuid)| (def, Some(uuid)))?,
            None => (Element::new("domain"), None),
        };
        let snapshot = Snapshot {
            name,
            description,
            memory: doc.child("memory").and_then(|m| m.attribute("snapshot")).unwrap_or("no").to_string(),
            parent: doc.child("parent").and_then(|p| p.child_text("name")),
            children: Vec::new(),
            disks: doc.child("disks").cloned(),
            state,
            creation_time,
            domain: def,
        };
        return Ok((snapshot, uuid));
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
    let snapshot = Snapshot {
        name: name.unwrap_or_else(|| creation_time.to_string()),
        description,
        memory: if domain.is_active() { "internal" } else { "no" }.to_string(),
        parent: None,
        children: Vec::new(),
        disks: disks_of(&domain.def),
        state,
        creation_time,
        domain: domain.def.clone(),
    };
    Ok((snapshot, Some(domain.uuid)))
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

/// `virDomainSnapshotCreateXML`: the snapshot's name, whether the call
/// stopped the domain (`VIR_DOMAIN_SNAPSHOT_CREATE_HALT`), and its event.
pub(super) fn create(
    domains: &mut Domains,
    dom: &DomainIdentity,
    xml: &str,
    flags: u32,
) -> Result<((String, HandleId), Option<DomainEvent>)> {
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
    let (mut snapshot, given) = parse(xml, domain, redefine)?;
    let name = snapshot.name.clone();
    if redefine {
        let uuid = domain.uuid;
        redefine_checked(&mut domain.snapshots, (snapshot, given), uuid, flags)?;
        return Ok(((name, HandleId::Kept), None));
    }
    let snapshots = &mut domain.snapshots;
    if snapshots.find(&name).is_ok() {
        return Err(Error::new(
            ErrorCode::VIR_ERR_OPERATION_FAILED,
            ErrorDomain::VIR_FROM_DOMAIN,
            Some(format!("domain moment {name} already exists")),
        ));
    }
    snapshot.parent = snapshots.current.replace(name.clone());
    snapshots.list.push(snapshot);
    snapshots.link(&name);
    if !(halt && domain.is_active()) {
        return Ok(((name, HandleId::Kept), None));
    }
    let event = domains.stop(
        dom,
        Shutoff::VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT,
        Stopped::VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT,
    )?;
    Ok(((name, HandleId::Reset), Some(event)))
}

/// Redefines a snapshot (`VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE`) after
/// libvirt's checks, in its order: the parent must exist, and not be the
/// snapshot or one of its descendants; the definition must be of this
/// domain (`uuid`); an existing snapshot stays online or offline, full or
/// disk-only, and keeps its definition when the document gives none (a new
/// one needs one), or is given one of the same machine (`same_abi`). The
/// snapshot is linked to its parent anew.
fn redefine_checked(
    snapshots: &mut Snapshots,
    (mut snapshot, given): (Snapshot, Option<Uuid>),
    uuid: Uuid,
    flags: u32,
) -> Result<()> {
    let name = snapshot.name.clone();
    if let Some(parent) = &snapshot.parent {
        let invalid = |detail: String| Error::invalid_arg(ErrorDomain::VIR_FROM_DOMAIN, detail);
        if *parent == name {
            return Err(invalid(format!("cannot set moment {name} as its own parent")));
        }
        let mut other =
            snapshots.find(parent).map_err(|_| invalid(format!("parent {parent} for moment {name} not found")))?;
        while let Some(up) = &other.parent {
            if *up == name {
                return Err(invalid(format!("parent {} would create cycle to {name}", other.name)));
            }
            match snapshots.find(up) {
                Ok(next) => other = next,
                Err(_) => break,
            }
        }
    }
    let in_snapshot = ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT;
    if given.is_some_and(|given| given != uuid) {
        return Err(Error::invalid_arg(in_snapshot, format!("definition for snapshot {name} must use uuid {uuid}")));
    }
    let existing = snapshots.find(&name).ok();
    let exists = existing.is_some();
    if let Some(other) = existing {
        if is_online(&other.state) != is_online(&snapshot.state) {
            let detail = format!("cannot change between online and offline snapshot state in snapshot {name}");
            return Err(Error::invalid_arg(in_snapshot, detail));
        }
        if (other.state == "disk-snapshot") != (snapshot.state == "disk-snapshot") {
            let detail = format!("cannot change between disk only and full system in snapshot {name}");
            return Err(Error::invalid_arg(in_snapshot, detail));
        }
        match given {
            Some(_) => same_abi(&other.domain, &snapshot.domain)?,
            None => snapshot.domain = other.domain.clone(),
        }
    } else if given.is_none() {
        return Err(Error::internal(in_snapshot, "missing domain in snapshot"));
    }
    match exists {
        true => {
            snapshots.unlink(&name);
            if let Some(kept) = snapshots.find_mut(&name) {
                snapshot.children = std::mem::take(&mut kept.children);
                *kept = snapshot;
            }
        }
        false => snapshots.list.push(snapshot),
    }
    snapshots.link(&name);
    if flags & Create::VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT as u32 != 0 {
        snapshots.current = Some(name);
    }
    Ok(())
}

/// The first of libvirt's checks that a redefined snapshot's definition
/// describes the same machine as the one it replaces (its
/// `virDomainDefCheckABIStability`): the virtualization type, the name, the
/// memory sizes and the vCPU maximum, in its order (the rest of its
/// comparison, such as the architecture and the devices, is not made).
fn same_abi(source: &Element, target: &Element) -> Result<()> {
    let differ = |what: &str, target: String, source: String| {
        Err(Error::config_unsupported(
            ErrorDomain::VIR_FROM_DOMAIN,
            format!("Target domain {what} {target} does not match source {source}"),
        ))
    };
    let kind = |def: &Element| def.attribute("type").unwrap_or_default().to_string();
    if kind(source) != kind(target) {
        return differ("virt type", kind(target), kind(source));
    }
    let name = |def: &Element| def.child_text("name").unwrap_or_default();
    if name(source) != name(target) {
        return differ("name", format!("'{}'", name(target)), format!("'{}'", name(source)));
    }
    let (source_max, source_current) = super::memory_sizes(source);
    let (target_max, target_current) = super::memory_sizes(target);
    if source_max != target_max {
        return differ("max memory", target_max.to_string(), source_max.to_string());
    }
    if source_current != target_current {
        return differ("current memory", target_current.to_string(), source_current.to_string());
    }
    let (source_vcpus, target_vcpus) = (super::vcpu_counts(source).0, super::vcpu_counts(target).0);
    if source_vcpus != target_vcpus {
        return differ("vCPU max", target_vcpus.to_string(), source_vcpus.to_string());
    }
    Ok(())
}

/// `virDomainRevertToSnapshot`: whether it stopped the domain (an active
/// domain is stopped first), and the events, in the order libvirt 9.0's
/// test driver queues them.
pub(super) fn revert(
    domains: &mut Domains,
    dom: &DomainIdentity,
    name: &str,
    flags: u32,
) -> Result<(HandleId, Vec<DomainEvent>)> {
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
    let handle = if was_active { HandleId::Reset } else { HandleId::Kept };
    Ok((handle, events))
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
        assert_eq!(names(&driver, &dom, Some("b"), 0), ["d", "c"], "children, the newest first");
        assert_eq!(names(&driver, &dom, Some("a"), 1), ["b", "d", "c"], "DESCENDANTS, parents first");
        assert_eq!(names(&driver, &dom, None, 1024), ["a", "b", "d", "c"], "TOPOLOGICAL");
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
        assert_eq!(names(&driver, &dom, Some("a"), 0), ["d", "c"], "b's children are a's, in their order");
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

    #[test]
    fn a_redefined_snapshot_moves_to_the_front_of_its_parents_children() {
        let (driver, dom) = tree();
        const REDEFINE: u32 = 1;
        let c = driver.snapshot_xml_desc(&dom, "c", 0).unwrap();
        driver.snapshot_create(&dom, &c.replace("<name>b</name>", "<name>a</name>"), REDEFINE).unwrap();
        assert_eq!(names(&driver, &dom, Some("a"), 0), ["c", "b"]);
        assert_eq!(names(&driver, &dom, Some("b"), 0), ["d"]);
        driver.snapshot_create(&dom, &c.replace("<name>c</name>", "<name>e</name>"), REDEFINE).unwrap();
        assert_eq!(names(&driver, &dom, Some("b"), 0), ["e", "d"], "a new one, in front");
        let b = driver.snapshot_xml_desc(&dom, "b", 0).unwrap();
        let cycle = driver.snapshot_create(&dom, &b.replace("<name>a</name>", "<name>e</name>"), REDEFINE);
        assert_eq!(cycle.unwrap_err().message, "invalid argument: parent e would create cycle to b");
        let other = b.replace("<name>test</name>", "<name>other</name>");
        let renamed = driver.snapshot_create(&dom, &other, REDEFINE).unwrap_err();
        assert_eq!(
            renamed.message,
            "unsupported configuration: Target domain name 'other' does not match source 'test'"
        );
        let uuid = driver.snapshot_create(
            &dom,
            &other.replace("<name>b</name>", "<name>f</name>").replace("6695", "7695"),
            REDEFINE,
        );
        assert_eq!(
            uuid.unwrap_err().message,
            "invalid argument: definition for snapshot f must use uuid 6695eb01-f6a4-8304-79aa-97f2502e193f"
        );
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
