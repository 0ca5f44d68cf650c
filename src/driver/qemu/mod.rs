//! The QEMU driver: the domains of a connection are the QEMU processes whose
//! QMP monitor is a Unix socket `ROOT/NAME.qmp`. Sockets present when the
//! connection opens are attached before `virConnectOpen` returns; sockets that
//! appear later are attached as inotify reports them; a domain detaches when
//! its QEMU exits or its socket goes away. Domains defined through the API
//! are kept as `ROOT/NAME.xml` and launched by the driver itself.

mod capabilities;
mod definition;
mod event_filter;
pub mod mapping;
mod monitor;
pub mod qmp;
pub mod raw_json;
mod root;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Weak};
use std::time::Duration;

use once_cell::sync::{Lazy, OnceCell};
use parking_lot::Mutex;

use super::{domain_checks, impact, DomainInfo, DomainState as ApiState, Driver, NodeInfo};
use crate::abi::common::{
    virDomainModificationImpact as Impact, virDomainPausedReason as Paused, virDomainState as State, virDomainXMLFlags,
};
use crate::abi::domain_event::{
    virDomainEventDefinedDetailType as Defined, virDomainEventType as Lifecycle,
    virDomainEventUndefinedDetailType as Undefined,
};
use crate::abi::libvirt_api::{virDomainQemuMonitorCommandFlags, virDomainVcpuFlags as Vcpu};
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::state::{ConnectionId, EventCallback, EventState, Subscription};
use crate::event::{DomainEvent, DomainIdentity};
use crate::uuid::Uuid;
use capabilities::LocalHost;
use definition::{Definition, LaunchFiles};
use mapping::{DomainState, PausedReason};
#[doc(hidden)]
pub use monitor::testing;
use monitor::{hub, Request};
use root::{Root, Stored, HANDSHAKE_TIMEOUT, MONITOR_SUFFIX};

/// libvirt's state and reason for a monitor-side state; a running or shut-off
/// domain's reason is `recorded` ([`Root::reason`]).
fn api_state(state: DomainState, recorded: i32) -> ApiState {
    let (state, reason) = match state {
        DomainState::Running => (State::VIR_DOMAIN_RUNNING, recorded),
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
        DomainState::Shutoff => (State::VIR_DOMAIN_SHUTOFF, recorded),
    };
    ApiState { state: state as i32, reason }
}

/// Open roots, shared by the connections of the process while any is open.
static ROOTS: Lazy<Mutex<Vec<Weak<QemuDriver>>>> = Lazy::new(Default::default);

pub struct QemuDriver {
    root: Arc<Root>,
    /// Dropped after `drop` told the monitor thread the root is gone.
    _lock: root::RootLock,
}

impl Drop for QemuDriver {
    fn drop(&mut self) {
        if let Ok(hub) = hub() {
            hub.send(Request::RemoveRoot(self.root.clone()));
        }
    }
}

impl QemuDriver {
    /// The driver for the embed root `dir`, attaching the monitors found there.
    pub fn open_root(dir: &Path) -> Result<Arc<QemuDriver>> {
        let dir = root::prepare_dir(dir)?;
        let mut roots = ROOTS.lock();
        roots.retain(|d| d.strong_count() > 0);
        if let Some(driver) = roots.iter().filter_map(Weak::upgrade).find(|d| d.root.dir == dir) {
            return Ok(driver);
        }
        let lock = root::RootLock::acquire(&dir)?;
        let root = Arc::new(Root::new(dir));
        root.load_definitions();
        hub()?.send(Request::AddRoot(root.clone()));
        root.wait_opened();
        let driver = Arc::new(QemuDriver { root, _lock: lock });
        roots.push(Arc::downgrade(&driver));
        Ok(driver)
    }

    fn execute(&self, dom: &DomainIdentity, command: &str) -> Result<()> {
        let identity = self.running(dom)?;
        hub()?.execute(&self.root, &identity.name, command, false).map(drop)
    }

    /// The port QEMU's VNC server took for `def`'s `autoport` display, asked
    /// of QEMU once per run (`query-vnc`); `None` when QEMU picks no port
    /// or does not say.
    fn vnc_port(&self, name: &str, def: &Definition) -> Option<u16> {
        if !def.vnc_autoport() {
            return None;
        }
        if let Some(port) = self.root.vnc_port(name) {
            return Some(port);
        }
        let reply = hub().ok()?.execute(&self.root, name, "query-vnc", false).ok()?;
        let port = reply.get("service").and_then(serde_json::Value::as_str).and_then(|service| service.parse().ok())?;
        self.root.set_vnc_port(name, port);
        Some(port)
    }

    /// The domain, if it is running (libvirt's `virDomainObjCheckActive`).
    fn running(&self, dom: &DomainIdentity) -> Result<DomainIdentity> {
        let (identity, state) = self.root.find(dom)?;
        if state == DomainState::Shutoff {
            return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_DOMAIN, "domain is not running"));
        }
        Ok(identity)
    }

    /// The guest agent's refusal: as libvirt's for a running domain without
    /// one, since the driver never gives QEMU an agent channel; a domain that
    /// is not running (paused, say) is refused first, by the agent's own check.
    fn without_guest_agent<T>(&self, dom: &DomainIdentity) -> Result<T> {
        self.running(dom)?;
        if self.root.find(dom)?.1 != DomainState::Running {
            return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_QEMU, "domain is not running"));
        }
        Err(Error::new(
            ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED,
            ErrorDomain::VIR_FROM_QEMU,
            Some("QEMU guest agent is not configured".into()),
        ))
    }

    /// Starts `def` under QEMU, paused, attaches its monitor, lets it run,
    /// and reports what the mapping says a launch is (`map_launched`).
    fn launch(&self, def: Definition, persistent: bool) -> Result<DomainIdentity> {
        if def.kvm && !kvm_usable() {
            return Err(Error::config_unsupported(
                ErrorDomain::VIR_FROM_QEMU,
                "Domain requires KVM, but it is not available. Check that virtualization is enabled in the host \
                 BIOS, and host configuration is setup to load the kvm modules.",
            ));
        }
        let name = def.name.clone();
        if self.root.domains.lock().contains_key(&name) {
            return Err(Error::operation_invalid(
                ErrorDomain::VIR_FROM_DOMAIN,
                format!("domain '{name}' is already running"),
            ));
        }
        let (attached, wait_attached) = mpsc::channel();
        self.root.launching.lock().insert(name.clone(), attached);
        {
            let mut defined = self.root.defined.lock();
            let persistent = persistent || defined.get(&name).is_some_and(|s| s.persistent);
            defined.insert(name.clone(), Stored { def: def.clone(), persistent });
        }
        let failed = |detail: String| {
            self.root.launching.lock().remove(&name);
            self.root.defined.lock().retain(|n, s| n != &name || s.persistent);
            Error::internal(ErrorDomain::VIR_FROM_QEMU, detail)
        };
        let files = LaunchFiles {
            monitor: self.root.dir.join(format!("{name}{MONITOR_SUFFIX}")),
            pidfile: self.root.dir.join(format!("{name}.pid")),
            vnc_password: self.root.dir.join(format!("{name}.vnc-password")),
        };
        // Whatever is in their place goes, a symlink planted there included
        // (unlinking does not follow it), so QEMU writes through none.
        for file in [&files.monitor, &files.pidfile, &files.vnc_password] {
            let _ = std::fs::remove_file(file);
        }
        if let Some(password) = def.vnc.as_ref().and_then(|v| v.password.as_ref()) {
            root::write_private(&files.vnc_password, password)
                .map_err(|e| failed(format!("cannot write the VNC password for QEMU: {e}")))?;
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        // With -daemonize, QEMU's first process exits once the monitor listens.
        let output = std::process::Command::new(capabilities::EMULATOR)
            .args(def.qemu_args(&files, now))
            .stdin(std::process::Stdio::null())
            .output();
        // QEMU has read its secrets by the time it daemonized (or failed).
        let _ = std::fs::remove_file(&files.vnc_password);
        let output = output.map_err(|e| failed(format!("cannot run qemu-system-x86_64: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(failed(format!("QEMU failed to start: {}", stderr.trim())));
        }
        hub()?.send(Request::Attach(self.root.clone(), name.clone()));
        match wait_attached.recv_timeout(HANDSHAKE_TIMEOUT * 2) {
            Ok(Ok(())) => {}
            Ok(Err(detail)) => return Err(failed(detail)),
            Err(_) => return Err(failed(format!("the monitor of '{name}' did not attach"))),
        }
        let (identity, _) = self.root.find(&DomainIdentity { name: name.as_str().into(), uuid: def.uuid, id: -1 })?;
        hub()?.execute(&self.root, &name, "cont", false)?;
        for payload in mapping::map_launched() {
            self.root.events.queue(DomainEvent::new(identity.clone(), payload));
        }
        Ok(identity)
    }

    /// Refuses a definition whose name or UUID belongs to another domain.
    fn check_unique(&self, def: &Definition) -> Result<()> {
        for (identity, _) in self.root.all() {
            if (*identity.name == *def.name) != (identity.uuid == def.uuid) {
                return Err(Error::new(
                    ErrorCode::VIR_ERR_OPERATION_FAILED,
                    ErrorDomain::VIR_FROM_DOMAIN,
                    Some(format!("domain '{}' already exists with uuid {}", identity.name, identity.uuid)),
                ));
            }
        }
        Ok(())
    }
}

impl Driver for QemuDriver {
    fn events(&self) -> &Arc<EventState> {
        &self.root.events
    }

    fn register_events(&self, subscription: Subscription, callback: Arc<dyn EventCallback>) -> Result<i32> {
        hub()?.read_on_default_loop();
        self.events().register(subscription, callback)
    }

    fn hypervisor_type(&self) -> Result<String> {
        Ok("QEMU".to_string())
    }

    fn hostname(&self) -> Result<String> {
        super::local_hostname()
    }

    fn hypervisor_version(&self) -> Result<u64> {
        emulator_version()
    }

    /// The host's figures, by libvirt's rules (`super::host_node`).
    fn node_info(&self) -> Result<NodeInfo> {
        super::host_node::node_info(&super::host_node::HostFiles::real())
    }

    /// The host and the emulator, as libvirt's QEMU driver describes them
    /// (`capabilities`).
    fn capabilities(&self) -> Result<String> {
        capabilities::capabilities_xml()
    }

    /// As libvirt's QEMU driver: 16 for TCG guests (type `qemu`, and when
    /// no type is named), what KVM says for `kvm`; the type's case does not
    /// matter.
    fn max_vcpus(&self, virt_type: Option<&str>) -> Result<i32> {
        match virt_type {
            None => Ok(TCG_MAX_VCPUS),
            Some(name) if name.eq_ignore_ascii_case("qemu") => Ok(TCG_MAX_VCPUS),
            Some(name) if name.eq_ignore_ascii_case("kvm") => kvm_max_vcpus(),
            Some(name) => Err(Error::invalid_arg(ErrorDomain::VIR_FROM_QEMU, format!("unknown type '{name}'"))),
        }
    }

    fn lookup_by_name(&self, name: &str) -> Result<DomainIdentity> {
        self.root.lookup(|d| *d.name == *name)
    }

    fn lookup_by_id(&self, id: i32) -> Result<DomainIdentity> {
        self.root.lookup(|d| d.id == id)
    }

    fn lookup_by_uuid(&self, uuid: &Uuid) -> Result<DomainIdentity> {
        self.root.lookup(|d| d.uuid == *uuid)
    }

    fn list_all(&self, flags: u32) -> Result<Vec<DomainIdentity>> {
        use crate::abi::common::virConnectListAllDomainsFlags as Flag;
        let has = |flag: Flag| flags & flag as u32 != 0;
        let defined =
            self.root.defined.lock().iter().filter(|(_, s)| s.persistent).map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let either = |a: Flag, b: Flag, value: bool| !(has(a) || has(b)) || if value { has(a) } else { has(b) };
        Ok(self
            .root
            .all()
            .into_iter()
            .filter(|(identity, state)| {
                let active = *state != DomainState::Shutoff;
                let persistent = defined.iter().any(|n| **n == *identity.name);
                either(Flag::VIR_CONNECT_LIST_DOMAINS_ACTIVE, Flag::VIR_CONNECT_LIST_DOMAINS_INACTIVE, active)
                    && either(
                        Flag::VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
                        Flag::VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
                        persistent,
                    )
            })
            .map(|(identity, _)| identity)
            .collect())
    }

    fn refresh(&self, dom: &DomainIdentity) -> Result<DomainIdentity> {
        self.root.find(dom).map(|(identity, _)| identity)
    }

    fn state(&self, dom: &DomainIdentity, flags: u32) -> Result<ApiState> {
        super::check_flags(flags, 0, "qemuDomainGetState", ErrorDomain::VIR_FROM_QEMU)?;
        let (identity, state) = self.root.find(dom)?;
        Ok(api_state(state, self.root.reason(&identity.name)))
    }

    /// As libvirt's QEMU driver without a balloon device: the sizes and
    /// vCPUs of the definition (none for a QEMU the driver found running
    /// without one), and the CPU time QEMU's process has used.
    fn info(&self, dom: &DomainIdentity) -> Result<DomainInfo> {
        let (identity, state) = self.root.find(dom)?;
        let def = self.root.definition(&identity.name);
        let pid = self.root.pid(&identity.name).filter(|&pid| pid > 0 && state != DomainState::Shutoff);
        Ok(DomainInfo {
            state: api_state(state, 0).state as u8,
            max_memory_kib: def.as_ref().map_or(0, |def| def.memory_kib),
            memory_kib: def.as_ref().map_or(0, |def| def.current_memory_kib),
            vcpus: def.as_ref().map_or(0, |def| def.vcpus),
            cpu_time_ns: pid.and_then(process_cpu_time_ns).unwrap_or(0),
        })
    }

    /// As libvirt's QEMU driver: the counts of the definition `flags` name,
    /// checked as libvirt checks them (the driver keeps one definition for
    /// both, so a running domain redefined answers with its new one; none
    /// for a QEMU the driver found running without one); the guest's own
    /// count (`VIR_DOMAIN_VCPU_GUEST`) would come from a guest agent, which
    /// no domain has here ([`QemuDriver::without_guest_agent`]).
    fn vcpus(&self, dom: &DomainIdentity, flags: u32, _function: &str) -> Result<i32> {
        let [live_flag, config, maximum, guest] = [
            Impact::VIR_DOMAIN_AFFECT_LIVE as u32,
            Impact::VIR_DOMAIN_AFFECT_CONFIG as u32,
            Vcpu::VIR_DOMAIN_VCPU_MAXIMUM as u32,
            Vcpu::VIR_DOMAIN_VCPU_GUEST as u32,
        ];
        super::check_flags(
            flags,
            live_flag | config | maximum | guest,
            "qemuDomainGetVcpusFlags",
            ErrorDomain::VIR_FROM_QEMU,
        )?;
        let (identity, state) = self.root.find(dom)?;
        // libvirt's checks of the flags; which definition they name does not
        // matter here, where a domain has one.
        impact::one_definition_is_live(flags, state != DomainState::Shutoff, self.is_persistent(dom)?)?;
        if flags & guest != 0 {
            // libvirt asks for a running domain, whichever definition the flags name.
            if state == DomainState::Shutoff {
                return Err(Error::invalid_arg(
                    ErrorDomain::VIR_FROM_QEMU,
                    "vCPU count provided by the guest agent can only be requested for live domains",
                ));
            }
            return self.without_guest_agent(dom);
        }
        let def = self.root.definition(&identity.name);
        Ok(def.map_or(0, |def| i32::from(if flags & maximum != 0 { def.max_vcpus } else { def.vcpus })))
    }

    /// libvirt's QEMU driver never marks a domain as updated, not even when
    /// the persistent definition of a running one changes: 0 for any domain.
    fn is_updated(&self, dom: &DomainIdentity) -> Result<bool> {
        self.root.find(dom).map(|_| false)
    }

    /// The only OS type the driver runs (libvirt's QEMU driver reads the
    /// definition's, which the definition checks keep to `hvm` here).
    fn os_type(&self, dom: &DomainIdentity) -> Result<String> {
        self.root.find(dom).map(|_| "hvm".to_string())
    }

    /// The driver starts nothing by itself (`virDomainSetAutostart` is not
    /// supported), so autostart is off.
    fn autostart(&self, dom: &DomainIdentity) -> Result<bool> {
        self.root.find(dom).map(|_| false)
    }

    /// The driver makes no managed save images (`virDomainManagedSave` is
    /// not supported), so a domain has none.
    fn has_managed_save(&self, dom: &DomainIdentity, flags: u32) -> Result<bool> {
        super::check_flags(flags, 0, "qemuDomainHasManagedSaveImage", ErrorDomain::VIR_FROM_QEMU)?;
        self.root.find(dom).map(|_| false)
    }

    fn is_persistent(&self, dom: &DomainIdentity) -> Result<bool> {
        let (identity, _) = self.root.find(dom)?;
        Ok(self.root.defined.lock().get(&*identity.name).is_some_and(|s| s.persistent))
    }

    fn xml_desc(&self, dom: &DomainIdentity, flags: u32) -> Result<String> {
        let update_cpu = virDomainXMLFlags::VIR_DOMAIN_XML_UPDATE_CPU as u32;
        super::check_flags(
            flags,
            super::XML_DESC_COMMON_FLAGS | update_cpu,
            "qemuDomainGetXMLDesc",
            ErrorDomain::VIR_FROM_QEMU,
        )?;
        let (identity, state) = self.root.find(dom)?;
        // What the caller sees is also what a restart would read.
        self.root.wait_saved();
        if let Some(def) = self.root.definition(&identity.name) {
            let has = |flag: virDomainXMLFlags| flags & flag as u32 != 0;
            // The inactive XML is the definition a next start reads: no ID, no port QEMU took.
            let running = state != DomainState::Shutoff && !has(virDomainXMLFlags::VIR_DOMAIN_XML_INACTIVE);
            let (def, id) = match running {
                true => (def.live(self.vnc_port(&identity.name, &def)), Some(identity.id)),
                false => (def, None),
            };
            return Ok(match has(virDomainXMLFlags::VIR_DOMAIN_XML_SECURE) {
                true => def.to_xml(id),
                false => def.to_public_xml(id),
            });
        }
        let mut xml = crate::xml::Element::new("domain");
        xml.attributes = vec![("type".into(), "qemu".into()), ("id".into(), identity.id.to_string())];
        for (name, text) in [("name", identity.name.to_string()), ("uuid", identity.uuid.to_string())] {
            let mut child = crate::xml::Element::new(name);
            child.children.push(crate::xml::Node::Text(text));
            xml.children.push(crate::xml::Node::Element(child));
        }
        Ok(xml.to_xml())
    }

    fn suspend(&self, dom: &DomainIdentity) -> Result<()> {
        self.root.pause_as_user(&dom.name, || self.execute(dom, "stop"))
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

    /// Ends QEMU (`quit`, then SIGKILL if it does not go), reported as
    /// `Shutdown Finished after host request` then `Stopped Destroyed`.
    fn destroy(&self, dom: &DomainIdentity) -> Result<()> {
        let (identity, state) = self.root.find(dom)?;
        if state == DomainState::Shutoff {
            return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_DOMAIN, "domain is not running"));
        }
        // The monitor may close before it answers `quit`: its end is what counts.
        let _ = hub()?.execute(&self.root, &identity.name, "quit", true);
        if self.root.wait_attached(&identity.name, false, Duration::from_secs(10)) {
            return Ok(());
        }
        // The process at the other end of the monitor (never a pid file,
        // which anyone who could write into the root might have written);
        // if it is gone already, so much the better.
        if let Some(pid) = self.root.pid(&identity.name).filter(|pid| *pid > 0) {
            let _ = crate::sys::kill(pid, libc::SIGKILL);
        }
        if self.root.wait_attached(&identity.name, false, Duration::from_secs(10)) {
            Ok(())
        } else {
            Err(Error::internal(ErrorDomain::VIR_FROM_QEMU, format!("QEMU of '{}' did not stop", identity.name)))
        }
    }

    fn create(&self, dom: &DomainIdentity) -> Result<()> {
        let (identity, state) = self.root.find(dom)?;
        if state != DomainState::Shutoff {
            return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_DOMAIN, "domain is already running"));
        }
        let def = self.root.definition(&identity.name).ok_or_else(|| Error::no_domain(ErrorDomain::VIR_FROM_QEMU))?;
        self.launch(def, true).map(drop)
    }

    fn create_xml(&self, xml: &str, _flags: u32) -> Result<DomainIdentity> {
        let def = Definition::parse(xml, &LocalHost)?;
        self.check_unique(&def)?;
        self.launch(def, false)
    }

    fn register_qemu_monitor(
        &self,
        subscription: Subscription,
        event: Option<&str>,
        flags: u32,
        callback: Arc<dyn EventCallback>,
    ) -> Result<i32> {
        let filter = event_filter::name_filter(event, flags)?;
        hub()?.read_on_default_loop();
        self.events().register(Subscription { filter, ..subscription }, callback)
    }

    /// As in libvirt, any callback ID of the connection is accepted: domain
    /// and raw monitor registrations share one numbering.
    fn deregister_qemu_monitor(&self, connection: ConnectionId, callback_id: i32) -> Result<()> {
        self.events().deregister(connection, callback_id)
    }

    /// As libvirt's QEMU driver: JSON is sent as the caller wrote it (with
    /// an `id` of ours), and QEMU's reply comes back whole, an error reply
    /// included; an HMP command line goes through `human-monitor-command`,
    /// and its text comes back. Invalid JSON is refused before QEMU sees it.
    fn qemu_monitor_command(&self, dom: &DomainIdentity, cmd: &str, flags: u32, _function: &str) -> Result<String> {
        super::check_flags(
            flags,
            MONITOR_COMMAND_HMP,
            "qemuDomainQemuMonitorCommandWithFiles",
            ErrorDomain::VIR_FROM_QEMU,
        )?;
        let identity = self.running(dom)?;
        if flags & MONITOR_COMMAND_HMP != 0 {
            let arguments = serde_json::json!({ "command-line": cmd });
            let reply =
                hub()?.execute_with(&self.root, &identity.name, "human-monitor-command", Some(arguments), false)?;
            return reply.as_str().map(str::to_owned).ok_or_else(|| {
                Error::internal(ErrorDomain::VIR_FROM_QEMU, "human monitor command was missing return data")
            });
        }
        let json = serde_json::from_str(cmd)
            .map_err(|e| Error::internal(ErrorDomain::VIR_FROM_NONE, format!("cannot parse json {cmd}: {e}")))?;
        hub()?.execute_raw(&self.root, &identity.name, json)
    }

    /// There is no guest agent to pass the command to ([`Self::without_guest_agent`]).
    fn qemu_agent_command(&self, dom: &DomainIdentity, _cmd: &str, _timeout: i32, flags: u32) -> Result<String> {
        super::check_flags(flags, 0, "qemuDomainQemuAgentCommand", ErrorDomain::VIR_FROM_QEMU)?;
        self.without_guest_agent(dom)
    }

    fn define_xml(&self, xml: &str) -> Result<DomainIdentity> {
        let def = Definition::parse(xml, &LocalHost)?;
        domain_checks::check_defined_name(&def.name)?;
        self.check_unique(&def)?;
        let name = def.name.clone();
        let files = self.root.saves.files.lock();
        root::write_private(&self.root.definition_path(&name), &def.to_xml(None)).map_err(|e| {
            Error::new(
                ErrorCode::VIR_ERR_OPERATION_FAILED,
                ErrorDomain::VIR_FROM_QEMU,
                Some(format!("cannot save '{name}': {e}")),
            )
        })?;
        let previous = self.root.defined.lock().insert(name.clone(), Stored { def: def.clone(), persistent: true });
        drop(files);
        let detail = if previous.is_some_and(|p| p.persistent) {
            Defined::VIR_DOMAIN_EVENT_DEFINED_UPDATED
        } else {
            Defined::VIR_DOMAIN_EVENT_DEFINED_ADDED
        };
        let (identity, _) = self.root.find(&DomainIdentity { name: name.into(), uuid: def.uuid, id: -1 })?;
        self.root.events.queue(DomainEvent::lifecycle(
            identity.clone(),
            Lifecycle::VIR_DOMAIN_EVENT_DEFINED as i32,
            detail as i32,
        ));
        Ok(identity)
    }

    fn undefine(&self, dom: &DomainIdentity) -> Result<()> {
        let (identity, state) = self.root.find(dom)?;
        {
            let _files = self.root.saves.files.lock();
            let mut defined = self.root.defined.lock();
            match defined.get_mut(&*identity.name) {
                Some(stored) if stored.persistent => {
                    let _ = std::fs::remove_file(self.root.definition_path(&identity.name));
                    if state == DomainState::Shutoff {
                        defined.remove(&*identity.name);
                        self.root.forget_reason(&identity.name);
                    } else {
                        stored.persistent = false;
                    }
                }
                _ => {
                    return Err(Error::operation_invalid(
                        ErrorDomain::VIR_FROM_DOMAIN,
                        "cannot undefine transient domain",
                    ))
                }
            }
        }
        self.root.events.queue(DomainEvent::lifecycle(
            identity,
            Lifecycle::VIR_DOMAIN_EVENT_UNDEFINED as i32,
            Undefined::VIR_DOMAIN_EVENT_UNDEFINED_REMOVED as i32,
        ));
        Ok(())
    }
}

/// The user and system CPU time process `pid` has used, in ns, as
/// `/proc/PID/stat` counts it.
fn process_cpu_time_ns(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: count after it.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system).saturating_mul(1_000_000_000) / crate::sys::clock_ticks_per_second())
}

/// The command is a human monitor command line.
const MONITOR_COMMAND_HMP: u32 = virDomainQemuMonitorCommandFlags::VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP as u32;

/// What `virConnectGetMaxVcpus` answers for TCG (`qemu`) guests.
const TCG_MAX_VCPUS: i32 = 16;

/// The most vCPUs a KVM guest may have, as libvirt asks KVM: its hard
/// limit, else its recommended one, else the 4 the kernel's documentation
/// says to assume. A `/dev/kvm` this process cannot open is libvirt's
/// system error.
fn kvm_max_vcpus() -> Result<i32> {
    const KVM_CAP_NR_VCPUS: i32 = 9;
    const KVM_CAP_MAX_VCPUS: i32 = 66;
    let kvm = std::fs::File::open("/dev/kvm").map_err(|e| {
        Error::system(ErrorDomain::VIR_FROM_NONE, "Unable to open /dev/kvm", e.raw_os_error().unwrap_or(0))
    })?;
    let mut answers = [KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS]
        .into_iter()
        .map(|capability| crate::sys::kvm_check_extension(&kvm, capability));
    Ok(answers.find(|&count| count > 0).unwrap_or(4))
}

/// Whether this process may run KVM guests (what `kvm` domains need, and the
/// capabilities offer).
fn kvm_usable() -> bool {
    std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok()
}

/// The emulator's version as libvirt numbers it (major x 1,000,000 +
/// minor x 1,000 + micro), from `qemu-system-x86_64 -version`, asked once.
fn emulator_version() -> Result<u64> {
    static VERSION: OnceCell<u64> = OnceCell::new();
    VERSION
        .get_or_try_init(|| {
            let failed = |detail: String| Error::internal(ErrorDomain::VIR_FROM_QEMU, detail);
            let child = std::process::Command::new(capabilities::EMULATOR)
                .arg("-version")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| failed(format!("cannot run qemu-system-x86_64: {e}")))?;
            let output = capabilities::output_within(child, capabilities::PROBE_TIMEOUT)
                .ok_or_else(|| failed("qemu-system-x86_64 -version did not end".into()))?
                .map_err(|e| failed(format!("cannot run qemu-system-x86_64: {e}")))?;
            let text = String::from_utf8_lossy(&output.stdout);
            parse_emulator_version(&text)
                .ok_or_else(|| failed(format!("cannot parse the version of qemu-system-x86_64: {}", text.trim())))
        })
        .copied()
}

/// `major.minor.micro` of "QEMU emulator version 10.0.2 (Debian ...)".
fn parse_emulator_version(text: &str) -> Option<u64> {
    let version = text.split("version ").nth(1)?.split_whitespace().next()?;
    let mut parts = version.split('.').map(|part| part.parse::<u64>().ok());
    let (major, minor, micro) = (parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0));
    Some(major * 1_000_000 + minor * 1_000 + micro)
}

/// The embed root a `qemu:///embed?root=DIR` URI names.
pub fn embed_root(uri: &str) -> Option<PathBuf> {
    let query = uri.strip_prefix("qemu:///embed?")?;
    query.split('&').find_map(|pair| pair.strip_prefix("root=")).filter(|r| !r.is_empty()).map(PathBuf::from)
}

/// The per-user root of `qemu:///session`. Without `XDG_RUNTIME_DIR` or
/// `HOME` there is none: a shared fallback such as `/tmp` could belong to
/// another user.
pub fn session_root() -> Result<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("virt-events/qemu"))
        .or_else(|| {
            std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".cache/virt-events/qemu"))
        })
        .ok_or_else(|| {
            Error::operation_invalid(
                ErrorDomain::VIR_FROM_QEMU,
                "qemu:///session has no root: set XDG_RUNTIME_DIR or HOME, or use qemu:///embed?root=DIR",
            )
        })
}

/// The root of `qemu:///system`.
pub const SYSTEM_ROOT: &str = "/run/virt-events/qemu";

#[cfg(test)]
mod tests {
    #[test]
    fn emulator_versions_are_numbered_as_libvirt_numbers_them() {
        let line = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)\nCopyright (c) 2003-2025\n";
        assert_eq!(super::parse_emulator_version(line), Some(10_000_002));
        assert_eq!(super::parse_emulator_version("QEMU emulator version 8.1\n"), Some(8_001_000));
        assert_eq!(super::parse_emulator_version("qemu: unknown option\n"), None);
    }
}
