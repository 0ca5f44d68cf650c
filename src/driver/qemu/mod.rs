//! The QEMU driver: the domains of a connection are the QEMU processes whose
//! QMP monitor is a Unix socket `ROOT/NAME.qmp`. Sockets present when the
//! connection opens are attached before `virConnectOpen` returns; sockets that
//! appear later are attached as inotify reports them; a domain detaches when
//! its QEMU exits or its socket goes away.

mod monitor;
mod sys;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Weak};

use once_cell::sync::Lazy;
use parking_lot::{Condvar, Mutex};

use super::{DomainInfo, DomainState as ApiState, Driver};
use crate::abi::common::{
    virDomainPausedReason as Paused, virDomainRunningReason as Running, virDomainShutoffReason as Shutoff,
    virDomainState as State,
};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::state::EventState;
use crate::event::DomainIdentity;
use crate::qemu::mapping::{DomainState, PausedReason};
use crate::uuid::Uuid;
use monitor::{hub, Request};

/// The file-name suffix of monitor sockets in an embed root.
pub const MONITOR_SUFFIX: &str = ".qmp";

/// Domain IDs are unique within the process, across roots.
static NEXT_ID: AtomicI32 = AtomicI32::new(1);

fn allocate_id() -> i32 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

struct AttachedDomain {
    identity: DomainIdentity,
    state: DomainState,
}

/// One embed root, shared by the driver's connections and the monitor thread.
struct Root {
    dir: PathBuf,
    events: Arc<EventState>,
    domains: Mutex<BTreeMap<String, AttachedDomain>>,
    /// Initial attaches still under way, and whether the directory scan ended.
    opening: Mutex<(usize, bool)>,
    opened: Condvar,
}

impl Root {
    fn attach(&self, domain: AttachedDomain) {
        self.domains.lock().insert(domain.identity.name.clone(), domain);
    }

    fn detach(&self, name: &str) {
        self.domains.lock().remove(name);
    }

    fn set_state(&self, name: &str, state: DomainState) {
        if let Some(domain) = self.domains.lock().get_mut(name) {
            domain.state = state;
        }
    }

    fn initial_attach_started(&self) {
        self.opening.lock().0 += 1;
    }

    fn initial_attach_finished(&self) {
        let mut opening = self.opening.lock();
        opening.0 = opening.0.saturating_sub(1);
        self.opened.notify_all();
    }

    fn initial_scan_done(&self) {
        self.opening.lock().1 = true;
        self.opened.notify_all();
    }

    /// Waits until the sockets present at open are attached or given up on.
    fn wait_opened(&self) {
        let deadline = std::time::Instant::now() + monitor::HANDSHAKE_TIMEOUT * 2;
        let mut opening = self.opening.lock();
        while !(opening.1 && opening.0 == 0) {
            if self.opened.wait_until(&mut opening, deadline).timed_out() {
                break;
            }
        }
    }

    fn find(&self, dom: &DomainIdentity) -> Result<(DomainIdentity, DomainState)> {
        let domains = self.domains.lock();
        domains
            .values()
            .find(|d| d.identity.uuid == dom.uuid)
            .map(|d| (d.identity.clone(), d.state))
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::VIR_ERR_NO_DOMAIN,
                    ErrorDomain::VIR_FROM_QEMU,
                    Some(format!("no domain with matching uuid '{}' ({})", dom.uuid, dom.name)),
                )
            })
    }

    fn lookup(&self, matches: impl Fn(&DomainIdentity) -> bool) -> Result<DomainIdentity> {
        let domains = self.domains.lock();
        domains
            .values()
            .map(|d| &d.identity)
            .find(|i| matches(i))
            .cloned()
            .ok_or_else(|| Error::no_domain(ErrorDomain::VIR_FROM_QEMU))
    }
}

/// libvirt's state and reason for a monitor-side state.
fn api_state(state: DomainState) -> ApiState {
    let (state, reason) = match state {
        DomainState::Running => (State::VIR_DOMAIN_RUNNING, Running::VIR_DOMAIN_RUNNING_UNKNOWN as i32),
        DomainState::Paused(why) => (
            State::VIR_DOMAIN_PAUSED,
            match why {
                PausedReason::Unknown => Paused::VIR_DOMAIN_PAUSED_UNKNOWN,
                PausedReason::User => Paused::VIR_DOMAIN_PAUSED_USER,
                PausedReason::StartingUp => Paused::VIR_DOMAIN_PAUSED_STARTING_UP,
                PausedReason::IoError => Paused::VIR_DOMAIN_PAUSED_IOERROR,
                PausedReason::Watchdog => Paused::VIR_DOMAIN_PAUSED_WATCHDOG,
                PausedReason::Migration => Paused::VIR_DOMAIN_PAUSED_MIGRATION,
            } as i32,
        ),
        DomainState::Shutdown => (State::VIR_DOMAIN_SHUTDOWN, 0),
        DomainState::PmSuspended => (State::VIR_DOMAIN_PMSUSPENDED, 0),
        DomainState::Crashed => (State::VIR_DOMAIN_CRASHED, 0),
        DomainState::Shutoff => (State::VIR_DOMAIN_SHUTOFF, Shutoff::VIR_DOMAIN_SHUTOFF_UNKNOWN as i32),
    };
    ApiState { state: state as i32, reason }
}

/// Open roots, shared by the connections of the process while any is open.
static ROOTS: Lazy<Mutex<Vec<Weak<QemuDriver>>>> = Lazy::new(Default::default);

pub struct QemuDriver {
    root: Arc<Root>,
}

impl Drop for QemuDriver {
    fn drop(&mut self) {
        if let Ok(hub) = hub() {
            hub.send(Request::RemoveRoot(self.root.dir.clone()));
        }
    }
}

impl QemuDriver {
    /// The driver for the embed root `dir`, attaching the monitors found there.
    pub fn open_root(dir: &Path) -> Result<Arc<QemuDriver>> {
        let dir = std::fs::canonicalize(dir).map_err(|e| {
            Error::new(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_QEMU,
                Some(format!("cannot use '{}' as the embed root: {e}", dir.display())),
            )
        })?;
        let mut roots = ROOTS.lock();
        roots.retain(|d| d.strong_count() > 0);
        if let Some(driver) = roots.iter().filter_map(Weak::upgrade).find(|d| d.root.dir == dir) {
            return Ok(driver);
        }
        let root = Arc::new(Root {
            dir,
            events: EventState::new(),
            domains: Mutex::new(BTreeMap::new()),
            opening: Mutex::new((0, false)),
            opened: Condvar::new(),
        });
        hub()?.send(Request::AddRoot(root.clone()));
        root.wait_opened();
        let driver = Arc::new(QemuDriver { root });
        roots.push(Arc::downgrade(&driver));
        Ok(driver)
    }

    fn execute(&self, dom: &DomainIdentity, command: &str) -> Result<()> {
        let (identity, _) = self.root.find(dom)?;
        hub()?.execute(&self.root.dir, &identity.name, command, None).map(drop)
    }
}

impl Driver for QemuDriver {
    fn events(&self) -> &Arc<EventState> {
        &self.root.events
    }

    fn lookup_by_name(&self, name: &str) -> Result<DomainIdentity> {
        self.root.lookup(|d| d.name == name)
    }

    fn lookup_by_id(&self, id: i32) -> Result<DomainIdentity> {
        self.root.lookup(|d| d.id == id)
    }

    fn lookup_by_uuid(&self, uuid: &Uuid) -> Result<DomainIdentity> {
        self.root.lookup(|d| d.uuid == *uuid)
    }

    fn list_all(&self, flags: u32) -> Result<Vec<DomainIdentity>> {
        use crate::abi::common::virConnectListAllDomainsFlags as Flag;
        let domains = self.root.domains.lock();
        // Attached domains are running QEMUs and transient; nothing is inactive.
        let excluded = Flag::VIR_CONNECT_LIST_DOMAINS_INACTIVE as u32 | Flag::VIR_CONNECT_LIST_DOMAINS_PERSISTENT as u32;
        let only_excluded = flags & excluded != 0
            && flags & (Flag::VIR_CONNECT_LIST_DOMAINS_ACTIVE as u32 | Flag::VIR_CONNECT_LIST_DOMAINS_TRANSIENT as u32) == 0;
        if only_excluded {
            return Ok(Vec::new());
        }
        Ok(domains.values().map(|d| d.identity.clone()).collect())
    }

    fn refresh(&self, dom: &DomainIdentity) -> Result<DomainIdentity> {
        self.root.find(dom).map(|(identity, _)| identity)
    }

    fn state(&self, dom: &DomainIdentity) -> Result<ApiState> {
        self.root.find(dom).map(|(_, state)| api_state(state))
    }

    fn info(&self, dom: &DomainIdentity) -> Result<DomainInfo> {
        let (_, state) = self.root.find(dom)?;
        Ok(DomainInfo { state: api_state(state).state as u8, max_memory_kib: 0, memory_kib: 0, vcpus: 0, cpu_time_ns: 0 })
    }

    fn is_persistent(&self, dom: &DomainIdentity) -> Result<bool> {
        self.root.find(dom).map(|_| false)
    }

    fn xml_desc(&self, dom: &DomainIdentity, _flags: u32) -> Result<String> {
        let (identity, _) = self.root.find(dom)?;
        let mut xml = crate::xml::Element::new("domain");
        xml.attributes = vec![("type".into(), "qemu".into()), ("id".into(), identity.id.to_string())];
        for (name, text) in [("name", identity.name), ("uuid", identity.uuid.to_string())] {
            let mut child = crate::xml::Element::new(name);
            child.children.push(crate::xml::Node::Text(text));
            xml.children.push(crate::xml::Node::Element(child));
        }
        Ok(xml.to_xml())
    }

    fn suspend(&self, dom: &DomainIdentity) -> Result<()> {
        self.execute(dom, "stop")
    }

    fn resume(&self, dom: &DomainIdentity) -> Result<()> {
        self.execute(dom, "cont")
    }

    fn reboot(&self, dom: &DomainIdentity, _flags: u32) -> Result<()> {
        self.execute(dom, "system_reset")
    }

    fn reset(&self, dom: &DomainIdentity, _flags: u32) -> Result<()> {
        self.execute(dom, "system_reset")
    }

    fn shutdown(&self, dom: &DomainIdentity) -> Result<()> {
        self.execute(dom, "system_powerdown")
    }
}

/// The embed root a `qemu:///embed?root=DIR` URI names.
pub fn embed_root(uri: &str) -> Option<PathBuf> {
    let query = uri.strip_prefix("qemu:///embed?")?;
    query.split('&').find_map(|pair| pair.strip_prefix("root=")).filter(|r| !r.is_empty()).map(PathBuf::from)
}

/// The per-user root of `qemu:///session`.
pub fn session_root() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(|d| PathBuf::from(d).join("virt-events/qemu"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/virt-events/qemu")))
        .unwrap_or_else(|| PathBuf::from("/tmp/virt-events-qemu"))
}

/// The root of `qemu:///system`.
pub const SYSTEM_ROOT: &str = "/run/virt-events/qemu";
