//! The state of one embed root that the API side (the driver's connections)
//! and the monitor thread share: the attached domains, the definitions, the
//! launches and opens under way, and the process-wide domain IDs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc, Weak};
use std::time::{Duration, Instant};

use once_cell::sync::{Lazy, OnceCell};
use parking_lot::{Condvar, Mutex};

use super::capabilities::LocalHost;
use super::definition::Definition;
use super::mapping::{DomainState, PausedReason};
use crate::abi::common::virDomainRunningReason as Running;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::state::EventState;
use crate::event::DomainIdentity;

/// How long a monitor may take to greet us and answer the identity queries.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Logs a problem of the QEMU driver the way libvirt's log shows warnings.
/// Control characters (ESC, CR, newlines...) are escaped: warnings quote
/// what monitors and files said, which must not drive the terminal.
pub(super) fn warn(message: std::fmt::Arguments<'_>) {
    eprintln!("libvirt: QEMU Driver warning : {}", escape_controls(&message.to_string()));
}

/// `text` with each control character written as a Rust escape (`\u{1b}`, `\r`).
fn escape_controls(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// The file-name suffix of monitor sockets in an embed root.
pub(super) const MONITOR_SUFFIX: &str = ".qmp";

/// The root directory `dir`, created private (0700) if missing, as a
/// canonical path, once it is known to be safe to trust: a directory owned
/// by the calling user that no one else can write into. Whoever can write
/// into a root can plant monitors and definitions, so anything else is
/// refused with an error naming the directory and the fix.
pub(super) fn prepare_dir(dir: &Path) -> Result<PathBuf> {
    let refuse = |why: String| {
        Error::new(
            ErrorCode::VIR_ERR_OPERATION_INVALID,
            ErrorDomain::VIR_FROM_QEMU,
            Some(format!("cannot use '{}' as the embed root: {why}", dir.display())),
        )
    };
    if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        return Err(refuse(format!("cannot create it: {e}")));
    }
    let canonical = std::fs::canonicalize(dir).map_err(|e| refuse(e.to_string()))?;
    let meta = std::fs::metadata(&canonical).map_err(|e| refuse(e.to_string()))?;
    let me = crate::sys::effective_uid();
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    if meta.uid() != me {
        return Err(refuse(format!(
            "it is owned by uid {}, not by this user (uid {me}); use a directory of your own, \
             or give it to this user: chown {me} '{}'",
            meta.uid(),
            canonical.display()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(refuse(format!(
            "it is writable by {} (mode {:04o}); make it private: chmod 0700 '{}'",
            match meta.mode() & 0o022 {
                0o022 => "its group and others",
                0o020 => "its group",
                _ => "others",
            },
            meta.mode() & 0o7777,
            canonical.display()
        )));
    }
    Ok(canonical)
}

/// The advisory locks (flock(2) on the directory) this process holds on
/// roots, with how many drivers share each. One process per root, as
/// libvirt's embedded driver: a second process could attach nothing (QEMU
/// serves one client per monitor). Counted per process because a flock
/// conflicts with every other open of the directory, ours included, and a
/// closing connection may overlap one opening the same root.
static LOCKS: Lazy<Mutex<HashMap<PathBuf, (std::fs::File, usize)>>> = Lazy::new(Default::default);

/// This process's hold on a root's lock, released when the last goes.
pub(super) struct RootLock(PathBuf);

impl RootLock {
    /// Takes the lock of the root `dir` (canonical), or fails naming the
    /// directory and what to do if another process holds it.
    pub(super) fn acquire(dir: &Path) -> Result<RootLock> {
        let mut locks = LOCKS.lock();
        if let Some((_, holders)) = locks.get_mut(dir) {
            *holders += 1;
            return Ok(RootLock(dir.to_path_buf()));
        }
        let failed = |why: String| {
            Error::new(
                ErrorCode::VIR_ERR_OPERATION_FAILED,
                ErrorDomain::VIR_FROM_QEMU,
                Some(format!("cannot use '{}' as the embed root: {why}", dir.display())),
            )
        };
        let file = std::fs::File::open(dir).map_err(|e| failed(e.to_string()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(failed(
                    "another process has it open (one process per root, as libvirt's embedded driver); \
                     close that process's connections, or give each process a root of its own"
                        .into(),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(failed(format!("cannot lock it: {e}"))),
        }
        locks.insert(dir.to_path_buf(), (file, 1));
        Ok(RootLock(dir.to_path_buf()))
    }
}

impl Drop for RootLock {
    fn drop(&mut self) {
        let mut locks = LOCKS.lock();
        if let Some((_, holders)) = locks.get_mut(&self.0) {
            *holders -= 1;
            if *holders == 0 {
                locks.remove(&self.0);
            }
        }
    }
}

/// Writes a file of the root, readable by its owner only (a definition
/// holds secrets such as a VNC password); a symlink in its place is not
/// followed but refused (ELOOP).
pub(super) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    // A file written before by an older version may have a wider mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(contents.as_bytes())
}

/// Reads a file of the root without following a symlink in its place.
fn read_no_follow(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut text = String::new();
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

/// Domain IDs are unique within the process, across roots.
static NEXT_ID: AtomicI32 = AtomicI32::new(1);

pub(super) fn allocate_id() -> i32 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

pub(super) struct AttachedDomain {
    pub(super) identity: DomainIdentity,
    pub(super) state: DomainState,
    /// The process that listens on the monitor socket (its peer
    /// credentials): the one `virDomainDestroy` may kill.
    pub(super) pid: libc::pid_t,
    /// The port QEMU's VNC server took for an `autoport` display, once asked.
    pub(super) vnc_port: Option<u16>,
}

/// A definition the driver knows: persistent ones live in `ROOT/NAME.xml`;
/// a transient one exists while the domain it launched runs.
pub(super) struct Stored {
    pub(super) def: Definition,
    pub(super) persistent: bool,
}

/// One embed root, shared by the driver's connections and the monitor thread.
pub(super) struct Root {
    pub(super) dir: PathBuf,
    pub(super) events: Arc<EventState>,
    pub(super) domains: Mutex<BTreeMap<String, AttachedDomain>>,
    /// Signalled whenever a domain attaches or detaches.
    pub(super) domains_changed: Condvar,
    pub(super) defined: Mutex<BTreeMap<String, Stored>>,
    /// Domains being launched, with whom to tell once their monitor attached.
    pub(super) launching: Mutex<HashMap<String, mpsc::Sender<std::result::Result<(), String>>>>,
    /// Initial attaches still under way, and whether the directory scan ended.
    pub(super) opening: Mutex<(usize, bool)>,
    pub(super) opened: Condvar,
    pub(super) saves: Saves,
    /// libvirt's reason for each domain's state where the state does not
    /// say it: how a running domain came to run, why a shut-off one stopped
    /// (`virDomainGetState`'s reason), by name.
    reasons: Mutex<HashMap<String, i32>>,
    /// Domains that `virDomainSuspend` is pausing: the pause their QEMU
    /// reports is the user's.
    pausing: Mutex<HashSet<String>>,
}

/// Definition files being written off the monitor thread.
#[derive(Default)]
pub(super) struct Saves {
    /// Saves asked for and not yet done.
    pending: Mutex<usize>,
    done: Condvar,
    /// Held around every write or removal of a definition file, so that
    /// they reach the disk in the order their changes were made.
    pub(super) files: Mutex<()>,
}

/// How long a caller waits for the saver thread.
const SAVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Has the saver thread (started on first use) write `name`'s definition.
fn save_later(root: Weak<Root>, name: String) {
    /// A domain whose definition file is to be written.
    type Save = (Weak<Root>, String);
    static SAVER: OnceCell<mpsc::Sender<Save>> = OnceCell::new();
    let saver = SAVER.get_or_try_init(|| {
        let (send, receive) = mpsc::channel::<Save>();
        std::thread::Builder::new()
            .name("virt-events-save".into())
            .spawn(move || {
                for (root, name) in receive {
                    if let Some(root) = root.upgrade() {
                        root.save_definition(&name);
                    }
                }
            })
            .map(|_| send)
    });
    match saver {
        Ok(saver) => {
            let _ = saver.send((root, name));
        }
        Err(e) => {
            warn(format_args!("cannot start the saver thread: {e}; saving in place"));
            if let Some(root) = root.upgrade() {
                root.save_definition(&name);
            }
        }
    }
}

/// Why a domain runs, as libvirt's QEMU driver says, from the state it ran
/// from: started (out of `-S`), woken up, or unpaused.
fn running_reason(from: DomainState) -> Running {
    match from {
        DomainState::Paused(PausedReason::StartingUp) => Running::VIR_DOMAIN_RUNNING_BOOTED,
        DomainState::PmSuspended => Running::VIR_DOMAIN_RUNNING_WAKEUP,
        DomainState::Paused(_) => Running::VIR_DOMAIN_RUNNING_UNPAUSED,
        _ => Running::VIR_DOMAIN_RUNNING_UNKNOWN,
    }
}

impl Root {
    pub(super) fn new(dir: PathBuf) -> Root {
        Root {
            dir,
            events: EventState::new(),
            domains: Mutex::new(BTreeMap::new()),
            domains_changed: Condvar::new(),
            defined: Mutex::new(BTreeMap::new()),
            launching: Mutex::new(HashMap::new()),
            opening: Mutex::new((0, false)),
            opened: Condvar::new(),
            saves: Saves::default(),
            reasons: Mutex::new(HashMap::new()),
            pausing: Mutex::new(HashSet::new()),
        }
    }

    pub(super) fn attach(&self, domain: AttachedDomain) {
        self.domains.lock().insert(domain.identity.name.to_string(), domain);
        self.domains_changed.notify_all();
    }

    /// The domain's QEMU is gone: a transient definition goes with it.
    pub(super) fn detach(&self, name: &str) {
        if self.domains.lock().remove(name).is_some() {
            let mut defined = self.defined.lock();
            defined.retain(|n, stored| n != name || stored.persistent);
            if !defined.contains_key(name) {
                self.forget_reason(name);
            }
            let _ = std::fs::remove_file(self.dir.join(format!("{name}.pid")));
        }
        self.domains_changed.notify_all();
    }

    pub(super) fn is_launching(&self, name: &str) -> bool {
        self.launching.lock().contains_key(name)
    }

    pub(super) fn launch_attached(&self, name: &str, outcome: std::result::Result<(), String>) {
        if let Some(waiter) = self.launching.lock().remove(name) {
            let _ = waiter.send(outcome);
        }
    }

    pub(super) fn definition(&self, name: &str) -> Option<Definition> {
        self.defined.lock().get(name).map(|s| s.def.clone())
    }

    pub(super) fn definition_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.xml"))
    }

    /// Keeps a new RTC adjustment in the live definition and, for a
    /// persistent domain, in its saved XML, so that it survives a restart.
    /// The monitor thread calls this: the file is written by the saver
    /// thread, so that a slow disk stalls no monitor.
    pub(super) fn record_adjustment(self: &Arc<Self>, name: &str, adjustment: i64) {
        let persistent = {
            let mut defined = self.defined.lock();
            let Some(stored) = defined.get_mut(name) else { return };
            stored.def.set_adjustment(adjustment);
            stored.persistent
        };
        if persistent {
            *self.saves.pending.lock() += 1;
            save_later(Arc::downgrade(self), name.to_owned());
        }
    }

    /// Writes the saved XML of `name` from its definition as it is now.
    fn save_definition(&self, name: &str) {
        {
            let _files = self.saves.files.lock();
            let xml = self.defined.lock().get(name).filter(|s| s.persistent).map(|s| s.def.to_xml(None));
            if let Some(xml) = xml {
                if let Err(e) = write_private(&self.definition_path(name), &xml) {
                    warn(format_args!("cannot save the clock adjustment of '{name}': {e}"));
                }
            }
        }
        let mut pending = self.saves.pending.lock();
        *pending = pending.saturating_sub(1);
        self.saves.done.notify_all();
    }

    /// Waits until the definition files reflect every recorded change.
    pub(super) fn wait_saved(&self) {
        let deadline = Instant::now() + SAVE_TIMEOUT;
        let mut pending = self.saves.pending.lock();
        while *pending > 0 {
            if self.saves.done.wait_until(&mut pending, deadline).timed_out() {
                break;
            }
        }
    }

    /// Reads the persistent definitions saved under the root.
    pub(super) fn load_definitions(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let mut defined = self.defined.lock();
        for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            if path.extension().is_none_or(|x| x != "xml") {
                continue;
            }
            match read_no_follow(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| Definition::parse(&t, &LocalHost).map_err(|e| e.message))
            {
                Ok(def) => {
                    defined.insert(def.name.clone(), Stored { def, persistent: true });
                }
                Err(e) => warn(format_args!("ignoring {}: {e}", path.display())),
            }
        }
    }

    /// Waits until the domain `name` is attached (`true`) or detached (`false`).
    pub(super) fn wait_attached(&self, name: &str, attached: bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut domains = self.domains.lock();
        while domains.contains_key(name) != attached {
            if self.domains_changed.wait_until(&mut domains, deadline).timed_out() {
                return domains.contains_key(name) == attached;
            }
        }
        true
    }

    /// The QEMU process of an attached domain, as its monitor connection
    /// tells it.
    pub(super) fn pid(&self, name: &str) -> Option<libc::pid_t> {
        self.domains.lock().get(name).map(|d| d.pid)
    }

    /// The VNC port [`AttachedDomain::vnc_port`] records for `name`.
    pub(super) fn vnc_port(&self, name: &str) -> Option<u16> {
        self.domains.lock().get(name).and_then(|d| d.vnc_port)
    }

    pub(super) fn set_vnc_port(&self, name: &str, port: u16) {
        if let Some(domain) = self.domains.lock().get_mut(name) {
            domain.vnc_port = Some(port);
        }
    }

    pub(super) fn set_state(&self, name: &str, state: DomainState) {
        if let Some(domain) = self.domains.lock().get_mut(name) {
            domain.state = match state {
                DomainState::Paused(PausedReason::Unknown) if self.pausing.lock().contains(name) => {
                    DomainState::Paused(PausedReason::User)
                }
                DomainState::Running if domain.state != DomainState::Running => {
                    self.reasons.lock().insert(name.to_string(), running_reason(domain.state) as i32);
                    state
                }
                state => state,
            };
        }
    }

    /// Runs `pause` (the `stop` command) with the pause it causes known as
    /// the user's.
    pub(super) fn pause_as_user<T>(&self, name: &str, pause: impl FnOnce() -> T) -> T {
        self.pausing.lock().insert(name.to_string());
        let paused = pause();
        self.pausing.lock().remove(name);
        paused
    }

    /// Records why a domain's QEMU is gone (a `virDomainShutoffReason`).
    pub(super) fn set_shutoff_reason(&self, name: &str, reason: i32) {
        self.reasons.lock().insert(name.to_string(), reason);
    }

    /// The reason [`Root::set_state`] or [`Root::set_shutoff_reason`] last
    /// recorded for `name` (0, libvirt's "unknown" of every state, if none).
    pub(super) fn reason(&self, name: &str) -> i32 {
        self.reasons.lock().get(name).copied().unwrap_or(0)
    }

    /// Forgets the reason of a domain that is no longer defined.
    pub(super) fn forget_reason(&self, name: &str) {
        self.reasons.lock().remove(name);
    }

    pub(super) fn initial_attach_started(&self) {
        self.opening.lock().0 += 1;
    }

    pub(super) fn initial_attach_finished(&self) {
        let mut opening = self.opening.lock();
        opening.0 = opening.0.saturating_sub(1);
        self.opened.notify_all();
    }

    pub(super) fn initial_scan_done(&self) {
        self.opening.lock().1 = true;
        self.opened.notify_all();
    }

    /// Waits until the sockets present at open are attached or given up on.
    pub(super) fn wait_opened(&self) {
        let deadline = Instant::now() + HANDSHAKE_TIMEOUT * 2;
        let mut opening = self.opening.lock();
        while !(opening.1 && opening.0 == 0) {
            if self.opened.wait_until(&mut opening, deadline).timed_out() {
                break;
            }
        }
    }

    /// A domain by UUID: attached, or defined and shut off.
    pub(super) fn find(&self, dom: &DomainIdentity) -> Result<(DomainIdentity, DomainState)> {
        self.all().into_iter().find(|(identity, _)| identity.uuid == dom.uuid).ok_or_else(|| {
            Error::new(
                ErrorCode::VIR_ERR_NO_DOMAIN,
                ErrorDomain::VIR_FROM_QEMU,
                Some(format!("no domain with matching uuid '{}' ({})", dom.uuid, dom.name)),
            )
        })
    }

    pub(super) fn lookup(&self, matches: impl Fn(&DomainIdentity) -> bool) -> Result<DomainIdentity> {
        self.all()
            .into_iter()
            .map(|(identity, _)| identity)
            .find(|i| matches(i))
            .ok_or_else(|| Error::no_domain(ErrorDomain::VIR_FROM_QEMU))
    }

    /// Every domain: the attached ones, then the defined ones not running.
    pub(super) fn all(&self) -> Vec<(DomainIdentity, DomainState)> {
        let domains = self.domains.lock();
        let mut all: Vec<_> = domains.values().map(|d| (d.identity.clone(), d.state)).collect();
        for (name, stored) in self.defined.lock().iter() {
            if !domains.contains_key(name) {
                let identity = DomainIdentity { name: name.as_str().into(), uuid: stored.def.uuid, id: -1 };
                all.push((identity, DomainState::Shutoff));
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_escape_control_characters() {
        assert_eq!(escape_controls("a\u{1b}[2Jb\rc\nd\u{7f}\u{9b}é"), "a\\u{1b}[2Jb\\rc\\nd\\u{7f}\\u{9b}é");
    }

    /// The monitor thread records an adjustment without waiting for the
    /// disk: here a write of the definition files is in progress (the lock
    /// they are written under is held), and recording returns at once; the
    /// file has the adjustment once the saver got through.
    #[test]
    fn recording_an_adjustment_does_not_wait_for_the_disk() {
        let dir = std::env::temp_dir().join(format!("virt-events-saver-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = Arc::new(Root::new(dir.clone()));
        let xml = "<domain type='qemu'><name>clocked</name><memory>1024</memory><os><type>hvm</type></os>\
                   <clock offset='variable' adjustment='10'/></domain>";
        let def = Definition::parse(xml, &super::super::definition::TestHost { kvm: false }).unwrap();
        root.defined.lock().insert("clocked".into(), Stored { def, persistent: true });

        let slow_disk = root.saves.files.lock();
        let started = Instant::now();
        root.record_adjustment("clocked", 4242);
        assert!(started.elapsed() < Duration::from_secs(1), "recording waited for the disk");
        assert!(root.definition("clocked").unwrap().to_xml(None).contains("adjustment='4242'"));
        drop(slow_disk);

        root.wait_saved();
        let saved = std::fs::read_to_string(root.definition_path("clocked")).unwrap();
        assert!(saved.contains("adjustment='4242'"), "{saved}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
