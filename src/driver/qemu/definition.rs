//! The subset of libvirt's domain XML the QEMU driver launches, and the QEMU
//! command line it becomes. A definition is first checked as libvirt 9.0's
//! QEMU driver checks it, with its errors and in its order
//! (`driver::domain_checks`, and the emulator, KVM and machine type checks
//! against the [`Host`]); then an element outside the subset is refused
//! with `VIR_ERR_CONFIG_UNSUPPORTED` naming it, never ignored.

use std::path::PathBuf;

use crate::driver::domain_checks::{self, Machine};
use crate::error::{Error, ErrorDomain, Result};
use crate::uuid::Uuid;
use crate::xml::{self, Element};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clock {
    Utc,
    Localtime,
    /// Seconds the guest's clock is ahead of UTC when the domain starts.
    Variable {
        adjustment: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    pub source: String,
    pub format: String,
    pub cdrom: bool,
    pub alias: String,
    /// `-device` driver and its bus placement.
    device: String,
    /// QEMU's rerror/werror policy (libvirt's error_policy / rerror_policy).
    werror: String,
    rerror: String,
    readonly: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VncListen {
    Address { address: String, port: Option<u16> },
    Socket(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vnc {
    pub listen: VncListen,
    pub password: Option<String>,
}

/// A domain definition: the XML as given (normalised to carry its UUID) and
/// what the driver reads from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub xml: Element,
    pub name: String,
    pub uuid: Uuid,
    pub memory_kib: u64,
    /// The balloon's size (`<currentMemory>`), at most `memory_kib`.
    pub current_memory_kib: u64,
    /// The vCPUs the guest starts with (`<vcpu current=...>`), at most `max_vcpus`.
    pub vcpus: u16,
    /// The vCPUs it may have (`<vcpu>`).
    pub max_vcpus: u16,
    /// The machine type asked for (`<os><type machine=...>`), if any.
    machine: Option<String>,
    /// A `kvm` domain (KVM acceleration), not a `qemu` one (TCG).
    pub kvm: bool,
    pub clock: Clock,
    pub disks: Vec<Disk>,
    pub vnc: Option<Vnc>,
    pub watchdog: Option<(String, String)>,
    boot: Vec<String>,
    kernel: Option<(String, Option<String>, Option<String>)>,
}

/// What checking a definition needs to know of the host.
pub trait Host {
    /// The emulator, as errors name it.
    fn emulator(&self) -> String;
    /// Whether KVM guests can run.
    fn kvm_usable(&self) -> bool;
    /// Whether the emulator has the machine type `name` (or an alias of it).
    fn has_machine(&self, name: &str) -> Result<bool>;
}

/// The emulator look-up libvirt makes while parsing: only x86_64 guests
/// have one here, and a KVM guest with no machine type needs KVM to find
/// its default machine type.
fn find_emulator(host: &dyn Host, machine: &Machine) -> Result<()> {
    if let Some(arch) = machine.arch.as_deref().filter(|&arch| arch != "x86_64") {
        return Err(unsupported(format!("No emulator found for arch '{arch}'")));
    }
    if machine.virt_type == "kvm" && machine.machine.is_none() && !host.kvm_usable() {
        return Err(Error::invalid_arg(
            ErrorDomain::VIR_FROM_QEMU,
            format!("could not get preferred machine for {} type=kvm", host.emulator()),
        ));
    }
    Ok(())
}

/// libvirt's completion of a parsed definition: a machine type QEMU does
/// not have leaves the domain without the buses libvirt adds devices to.
fn complete(host: &dyn Host, machine: &Machine) -> Result<()> {
    match &machine.machine {
        Some(name) if !host.has_machine(name)? => Err(xml_error("No PCI buses available")),
        _ => Ok(()),
    }
}

/// The QEMU driver's validation: the emulator runs `hvm` guests of the
/// `qemu` and `kvm` types.
fn validate(host: &dyn Host, machine: &Machine) -> Result<()> {
    let refuse = |what: &str, value: &str| {
        Err(unsupported(format!("Emulator '{}' does not support {what} '{value}'", host.emulator())))
    };
    if machine.os_type != "hvm" {
        return refuse("os type", &machine.os_type);
    }
    if !["qemu", "kvm"].contains(&machine.virt_type.as_str()) {
        return refuse("virt type", &machine.virt_type);
    }
    Ok(())
}

fn unsupported(what: impl Into<String>) -> Error {
    Error::config_unsupported(ErrorDomain::VIR_FROM_QEMU, what)
}

fn xml_error(what: impl Into<String>) -> Error {
    Error::xml(ErrorDomain::VIR_FROM_DOMAIN, what)
}

/// The vCPUs a guest of at most `max` starts with (`<vcpu current=...>`,
/// `max` when absent), refused as libvirt refuses them: a value that is no
/// unsigned number, more than `max`, or none (the first vCPU is always on).
fn current_vcpus(def: &Element, max: u16) -> Result<u16> {
    let Some(text) = def.child("vcpu").and_then(|vcpu| vcpu.attribute("current")) else {
        return Ok(max);
    };
    let current = domain_checks::c_uint(text).filter(|_| !text.trim_start().starts_with('-')).ok_or_else(|| {
        Error::xml(
            ErrorDomain::VIR_FROM_XML,
            format!("Invalid value for attribute 'current' in element 'vcpu': '{text}'. Expected non-negative integer value"),
        )
    })?;
    if current > u32::from(max) {
        return Err(Error::config_unsupported(
            ErrorDomain::VIR_FROM_DOMAIN,
            "maximum vCPU count must not be less than current vCPU count",
        ));
    }
    match current {
        0 => Err(unsupported("vcpu 0 can't be offline")),
        current => Ok(current as u16),
    }
}

/// Refuses children of `element` (at `path`) outside `allowed`.
fn only(element: &Element, path: &str, allowed: &[&str]) -> Result<()> {
    match element.elements().find(|e| !allowed.contains(&e.name.as_str())) {
        Some(other) => {
            Err(unsupported(format!("element <{}> in <{path}> is not supported by the QEMU driver", other.name)))
        }
        None => Ok(()),
    }
}

fn attribute_in<'a>(element: &'a Element, name: &str, allowed: &[&str], default: &'a str) -> Result<&'a str> {
    let value = element.attribute(name).unwrap_or(default);
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(unsupported(format!("{name}='{value}' of <{}> is not supported by the QEMU driver", element.name)))
    }
}

/// libvirt's alias for a disk target (`hda` → `ide0-0-0`, `vdb` → `virtio-disk1`)
/// and the `-device` that places it there.
fn placement(target: &str, bus: &str, cdrom: bool) -> Result<(String, String)> {
    let index = target
        .chars()
        .last()
        .filter(|c| c.is_ascii_lowercase())
        .map(|c| c as u32 - 'a' as u32)
        .ok_or_else(|| xml_error(format!("invalid disk target '{target}'")))?;
    match bus {
        "ide" if index < 4 => {
            let (controller_bus, unit) = (index / 2, index % 2);
            let alias = format!("ide0-{controller_bus}-{unit}");
            let kind = if cdrom { "ide-cd" } else { "ide-hd" };
            Ok((alias, format!("{kind},bus=ide.{controller_bus},unit={unit}")))
        }
        "virtio" if !cdrom => Ok((format!("virtio-disk{index}"), "virtio-blk-pci".to_string())),
        _ => Err(unsupported(format!("disk target '{target}' on bus '{bus}' is not supported by the QEMU driver"))),
    }
}

fn parse_disk(disk: &Element) -> Result<Disk> {
    only(disk, "disk", &["driver", "source", "target", "readonly", "alias", "address"])?;
    attribute_in(disk, "type", &["file"], "file")?;
    let cdrom = attribute_in(disk, "device", &["disk", "cdrom"], "disk")? == "cdrom";
    let driver = disk.child("driver");
    let format = driver.and_then(|d| d.attribute("type")).unwrap_or("raw").to_string();
    let policy = |name: &str| -> Result<String> {
        let value = driver.and_then(|d| d.attribute(name)).unwrap_or("report");
        Ok(match value {
            "stop" | "report" | "ignore" => value.to_string(),
            "enospace" => "enospc".to_string(),
            other => return Err(unsupported(format!("{name}='{other}' is not supported"))),
        })
    };
    let werror = policy("error_policy")?;
    let rerror = match driver.and_then(|d| d.attribute("rerror_policy")) {
        Some(_) => policy("rerror_policy")?,
        None => werror.clone(),
    };
    let source = disk
        .child("source")
        .and_then(|s| s.attribute("file"))
        .ok_or_else(|| xml_error("a disk needs <source file='...'/>"))?
        .to_string();
    let target = disk.child("target").ok_or_else(|| xml_error("a disk needs <target dev='...'/>"))?;
    let dev = target.attribute("dev").ok_or_else(|| xml_error("a disk target needs dev='...'"))?;
    let default_bus = if dev.starts_with("vd") { "virtio" } else { "ide" };
    let bus = target.attribute("bus").unwrap_or(default_bus);
    let (alias, device) = placement(dev, bus, cdrom)?;
    let readonly = cdrom || disk.child("readonly").is_some();
    Ok(Disk { source, format, cdrom, alias, device, werror, rerror, readonly })
}

fn parse_vnc(graphics: &Element) -> Result<Vnc> {
    attribute_in(graphics, "type", &["vnc"], "")?;
    only(graphics, "graphics", &["listen"])?;
    let socket = graphics.child("listen").filter(|l| l.attribute("type") == Some("socket"));
    let listen = match socket {
        Some(listen) => VncListen::Socket(
            listen
                .attribute("socket")
                .ok_or_else(|| xml_error("<listen type='socket'> needs socket='...'"))?
                .to_string(),
        ),
        None => {
            let address = vnc_address(graphics).unwrap_or("127.0.0.1").to_string();
            let autoport = graphics.attribute("autoport") == Some("yes");
            let port = match graphics.attribute("port") {
                Some(p) if !autoport && p != "-1" => {
                    let port: u16 = p.parse().map_err(|_| xml_error(format!("invalid VNC port '{p}'")))?;
                    if port < 5900 {
                        return Err(unsupported(format!("VNC port {port} is below 5900")));
                    }
                    Some(port)
                }
                _ => None,
            };
            VncListen::Address { address, port }
        }
    };
    Ok(Vnc { listen, password: graphics.attribute("passwd").map(str::to_string) })
}

/// The address a VNC `<graphics>` names: its `<listen>`'s or its `listen`.
fn vnc_address(graphics: &Element) -> Option<&str> {
    graphics.child("listen").and_then(|listen| listen.attribute("address")).or(graphics.attribute("listen"))
}

/// Writes a VNC display that listens on an address as libvirt formats it:
/// `port` (-1 while QEMU has yet to pick it), `autoport` and, when known, the
/// `listen` address right after `type`, and one `<listen type='address'>`.
fn show_vnc_address(xml: &mut Element, port: Option<u16>, autoport: bool, address: Option<&str>) {
    let Some(graphics) = xml.child_mut("devices").and_then(|devices| devices.child_mut("graphics")) else {
        return;
    };
    graphics.attributes.retain(|(key, _)| !["port", "autoport", "listen"].contains(&key.as_str()));
    let port = port.map_or("-1".to_string(), |port| port.to_string());
    let shown = [("port", Some(&*port)), ("autoport", Some(if autoport { "yes" } else { "no" })), ("listen", address)];
    let after_type = graphics.attributes.iter().position(|(key, _)| key == "type").map_or(0, |i| i + 1);
    let shown = shown.into_iter().filter_map(|(key, value)| Some((key.to_string(), value?.to_string())));
    graphics.attributes.splice(after_type..after_type, shown);
    let mut listen = Element::with_attributes("listen", &[("type", "address")]);
    listen.set_attribute("address", address.map(str::to_string));
    graphics.children = vec![xml::Node::Element(listen)];
}

impl Definition {
    pub fn parse(text: &str, host: &dyn Host) -> Result<Definition> {
        let mut xml =
            xml::parse(text).map_err(|e| Error::xml_syntax(ErrorDomain::VIR_FROM_DOMAIN, "domain_definition", e))?;
        if xml.name != "domain" {
            return Err(xml_error(format!("unexpected root element <{}>, expecting <domain>", xml.name)));
        }
        xml.set_attribute("id", None);
        let (name, uuid) = domain_checks::identity(&mut xml)?;
        let machine = domain_checks::check_machine(&xml, |machine| find_emulator(host, machine))?;
        domain_checks::complete_memory(&mut xml, &machine);
        complete(host, &machine)?;
        domain_checks::validate(&name, || validate(host, &machine))?;
        let max_vcpus = u16::try_from(machine.vcpus)
            .map_err(|_| unsupported(format!("{} vCPUs are more than the QEMU driver runs", machine.vcpus)))?;
        let vcpus = current_vcpus(&xml, max_vcpus)?;
        only(
            &xml,
            "domain",
            &[
                "name",
                "uuid",
                "title",
                "description",
                "memory",
                "currentMemory",
                "vcpu",
                "os",
                "features",
                "clock",
                "on_poweroff",
                "on_reboot",
                "on_crash",
                "devices",
            ],
        )?;
        for (element, default) in [("on_poweroff", "destroy"), ("on_reboot", "restart"), ("on_crash", "destroy")] {
            if let Some(value) = xml.child_text(element).filter(|v| v != default) {
                return Err(unsupported(format!("<{element}>{value}</{element}> is not supported by the QEMU driver")));
            }
        }
        // What virt-install and libvirt 9.0 with QEMU 10 need (without <acpi/>,
        // 9.0 passes -no-acpi, which QEMU 10 refuses); the machine has them
        // all either way.
        if let Some(features) = xml.child("features") {
            only(features, "features", &["acpi", "apic", "pae"])?;
        }
        let (boot, kernel) = match xml.child("os") {
            Some(os) => {
                only(os, "os", &["type", "boot", "kernel", "initrd", "cmdline"])?;
                let boot = os
                    .elements()
                    .filter(|e| e.name == "boot")
                    .map(|b| attribute_in(b, "dev", &["hd", "cdrom", "network"], "hd").map(str::to_string))
                    .collect::<Result<Vec<_>>>()?;
                let kernel = os.child_text("kernel").map(|k| (k, os.child_text("initrd"), os.child_text("cmdline")));
                (boot, kernel)
            }
            None => (Vec::new(), None),
        };
        let clock = match xml.child("clock") {
            None => Clock::Utc,
            Some(clock) => {
                only(clock, "clock", &[])?;
                match attribute_in(clock, "offset", &["utc", "localtime", "variable"], "utc")? {
                    "utc" => Clock::Utc,
                    "localtime" => Clock::Localtime,
                    _ => {
                        attribute_in(clock, "basis", &["utc"], "utc")?;
                        let adjustment = clock.attribute("adjustment").unwrap_or("0");
                        let adjustment = adjustment
                            .parse()
                            .map_err(|_| xml_error(format!("invalid clock adjustment '{adjustment}'")))?;
                        Clock::Variable { adjustment }
                    }
                }
            }
        };
        let (mut disks, mut vnc, mut watchdog) = (Vec::new(), None, None);
        if let Some(devices) = xml.child("devices") {
            only(devices, "devices", &["disk", "graphics", "watchdog", "emulator"])?;
            for device in devices.elements() {
                match device.name.as_str() {
                    "disk" => disks.push(parse_disk(device)?),
                    "graphics" if vnc.is_none() => vnc = Some(parse_vnc(device)?),
                    "graphics" => return Err(unsupported("more than one <graphics> is not supported")),
                    "watchdog" if watchdog.is_none() => {
                        only(device, "watchdog", &["alias", "address"])?;
                        let model = attribute_in(device, "model", &["ib700", "i6300esb"], "")?.to_string();
                        let action = attribute_in(
                            device,
                            "action",
                            &["reset", "shutdown", "poweroff", "pause", "none", "inject-nmi"],
                            "reset",
                        )?;
                        watchdog = Some((model, action.to_string()));
                    }
                    "watchdog" => return Err(unsupported("more than one <watchdog> is not supported")),
                    _ => {} // <emulator>: the driver always runs qemu-system-x86_64
                }
            }
        }
        if let Some(Vnc { listen: VncListen::Address { port, .. }, .. }) = &vnc {
            let given =
                xml.child("devices").and_then(|d| d.child("graphics")).and_then(vnc_address).map(str::to_string);
            show_vnc_address(&mut xml, *port, port.is_none(), given.as_deref());
        }
        let Machine { machine, memory_kib, current_memory_kib, virt_type, .. } = machine;
        Ok(Definition {
            xml,
            name,
            uuid,
            memory_kib,
            current_memory_kib,
            vcpus,
            max_vcpus,
            machine,
            kvm: virt_type == "kvm",
            clock,
            disks,
            vnc,
            watchdog,
            boot,
            kernel,
        })
    }

    /// Records a new RTC adjustment in the definition's `<clock>`.
    pub fn set_adjustment(&mut self, adjustment: i64) {
        if let Clock::Variable { adjustment: current } = &mut self.clock {
            *current = adjustment;
            if let Some(clock) = self.xml.child_mut("clock") {
                clock.set_attribute("adjustment", Some(adjustment.to_string()));
            }
        }
    }

    /// Whether QEMU picks the VNC port (`autoport`): libvirt shows the one
    /// it took only in the running domain's XML.
    pub fn vnc_autoport(&self) -> bool {
        matches!(&self.vnc, Some(Vnc { listen: VncListen::Address { port: None, .. }, .. }))
    }

    /// The definition as the running domain shows it: with the VNC port
    /// QEMU took for an `autoport` display.
    pub fn live(&self, vnc_port: Option<u16>) -> Definition {
        let mut live = self.clone();
        if let Some(Vnc { listen: VncListen::Address { address, port }, .. }) = &self.vnc {
            // The port given, or the one QEMU took when it was asked.
            show_vnc_address(&mut live.xml, port.or(vnc_port), port.is_none(), Some(address));
        }
        live
    }

    /// The XML as `virDomainGetXMLDesc` shows it (`id` while running).
    pub fn to_xml(&self, id: Option<i32>) -> String {
        let mut xml = self.xml.clone();
        if let Some(id) = id {
            let position = usize::from(xml.attribute("type").is_some());
            xml.attributes.insert(position, ("id".to_string(), id.to_string()));
        }
        xml.to_xml()
    }

    /// The XML without its secrets (a VNC `passwd`), as libvirt shows it
    /// unless asked for `VIR_DOMAIN_XML_SECURE`.
    pub fn to_public_xml(&self, id: Option<i32>) -> String {
        let mut public = self.clone();
        if let Some(devices) = public.xml.child_mut("devices") {
            for node in &mut devices.children {
                if let xml::Node::Element(graphics) = node {
                    if graphics.name == "graphics" {
                        graphics.set_attribute("passwd", None);
                    }
                }
            }
        }
        public.to_xml(id)
    }

    /// The command line that starts this domain paused, with its monitor at
    /// `monitor` and its pid written to `pidfile`; QEMU daemonizes once ready.
    /// Secrets are never on it (every user can read a command line): QEMU
    /// reads the VNC password from `files.vnc_password`, which the caller
    /// writes (`vnc_password()`) and removes once QEMU has started.
    pub fn qemu_args(&self, files: &LaunchFiles, now_utc: i64) -> Vec<String> {
        let LaunchFiles { monitor, pidfile, vnc_password } = files;
        let mut args: Vec<String> = vec![
            "-name".into(),
            format!("guest={}", option_value(&self.name)),
            "-uuid".into(),
            self.uuid.to_string(),
            "-machine".into(),
            format!("{},accel={}", self.machine.as_deref().unwrap_or("pc"), if self.kvm { "kvm" } else { "tcg" }),
            "-m".into(),
            format!("{}", (self.memory_kib / 1024).max(1)),
            "-smp".into(),
            match self.vcpus < self.max_vcpus {
                true => format!("{},maxcpus={}", self.vcpus, self.max_vcpus),
                false => self.vcpus.to_string(),
            },
            "-nodefaults".into(),
            "-display".into(),
            "none".into(),
            "-S".into(),
            "-daemonize".into(),
            "-pidfile".into(),
            pidfile.display().to_string(),
            "-qmp".into(),
            format!("unix:{},server=on,wait=off", option_value(&monitor.display().to_string())),
            "-rtc".into(),
        ];
        args.push(match self.clock {
            Clock::Utc => "base=utc".into(),
            Clock::Localtime => "base=localtime".into(),
            Clock::Variable { adjustment } => format!("base={}", iso_datetime(now_utc + adjustment)),
        });
        for disk in &self.disks {
            let mut drive = format!(
                "file={},format={},if=none,id=drive-{},werror={},rerror={}",
                option_value(&disk.source),
                option_value(&disk.format),
                disk.alias,
                disk.werror,
                disk.rerror
            );
            if disk.readonly {
                drive.push_str(",readonly=on");
            }
            args.extend([
                "-drive".into(),
                drive,
                "-device".into(),
                format!("{},drive=drive-{},id={}", disk.device, disk.alias, disk.alias),
            ]);
        }
        match &self.kernel {
            Some((kernel, initrd, cmdline)) => {
                args.extend(["-kernel".into(), kernel.clone()]);
                if let Some(initrd) = initrd {
                    args.extend(["-initrd".into(), initrd.clone()]);
                }
                if let Some(cmdline) = cmdline {
                    args.extend(["-append".into(), cmdline.clone()]);
                }
            }
            None if !self.boot.is_empty() => {
                let order: String = self
                    .boot
                    .iter()
                    .map(|b| match b.as_str() {
                        "cdrom" => 'd',
                        "network" => 'n',
                        _ => 'c',
                    })
                    .collect();
                args.extend(["-boot".into(), format!("order={order}")]);
            }
            None => {}
        }
        if let Some(vnc) = &self.vnc {
            let mut display = match &vnc.listen {
                VncListen::Socket(path) => format!("unix:{}", option_value(path)),
                VncListen::Address { address, port } => {
                    let address = option_value(address);
                    let host = if address.contains(':') { format!("[{address}]") } else { address };
                    match port {
                        Some(port) => format!("{host}:{}", port - 5900),
                        None => format!("{host}:0,to=99"),
                    }
                }
            };
            if vnc.password.is_some() {
                let secret =
                    format!("secret,id=vncpw,format=raw,file={}", option_value(&vnc_password.display().to_string()));
                args.extend(["-object".into(), secret]);
                display.push_str(",password-secret=vncpw");
            }
            args.extend(["-device".into(), "VGA".into(), "-vnc".into(), display]);
        }
        if let Some((model, action)) = &self.watchdog {
            args.extend(["-device".into(), model.clone(), "-action".into(), format!("watchdog={action}")]);
        }
        args
    }
}

/// `value` as a value in a QEMU option list (`key=value,key=value`): its
/// commas doubled, so that a name, path or address cannot end the value
/// and add options of its own.
fn option_value(value: &str) -> String {
    value.replace(',', ",,")
}

/// Where a launched QEMU finds and leaves its files.
pub struct LaunchFiles {
    pub monitor: PathBuf,
    pub pidfile: PathBuf,
    /// Holds the VNC password while QEMU starts (it reads it as a `secret`).
    pub vnc_password: PathBuf,
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) for seconds since the epoch.
fn iso_datetime(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// A host with `qemu-system-x86_64` in `/usr/bin`, the machine types `pc`
/// and `q35`, and KVM when `kvm` says so.
#[cfg(test)]
pub(super) struct TestHost {
    pub kvm: bool,
}

#[cfg(test)]
impl Host for TestHost {
    fn emulator(&self) -> String {
        "/usr/bin/qemu-system-x86_64".into()
    }

    fn kvm_usable(&self) -> bool {
        self.kvm
    }

    fn has_machine(&self, name: &str) -> Result<bool> {
        Ok(["pc", "q35"].contains(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const HOST: TestHost = TestHost { kvm: false };

    const FULL: &str = "<domain type='qemu'>
      <name>demo</name>
      <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
      <memory unit='MiB'>32</memory>
      <vcpu>1</vcpu>
      <os><type>hvm</type><boot dev='hd'/></os>
      <clock offset='variable' adjustment='3600'/>
      <devices>
        <disk type='file' device='disk'>
          <driver name='qemu' type='raw' error_policy='stop'/>
          <source file='/tmp/disk.img'/>
          <target dev='hda' bus='ide'/>
        </disk>
        <graphics type='vnc' autoport='yes' listen='127.0.0.1' passwd='hunter2'/>
        <watchdog model='ib700' action='pause'/>
      </devices>
    </domain>";

    #[test]
    fn reads_the_subset() {
        let def = Definition::parse(FULL, &HOST).unwrap();
        assert_eq!(def.name, "demo");
        assert_eq!(def.memory_kib, 32 * 1024);
        assert_eq!(def.clock, Clock::Variable { adjustment: 3600 });
        assert_eq!(def.disks[0].alias, "ide0-0-0");
        assert_eq!(def.watchdog, Some(("ib700".into(), "pause".into())));
        let files = LaunchFiles {
            monitor: "/r/demo.qmp".into(),
            pidfile: "/r/demo.pid".into(),
            vnc_password: "/r/demo.vnc-password".into(),
        };
        let args = def.qemu_args(&files, 0).join(" ");
        assert!(!args.contains("hunter2"), "the password is not on the command line: {args}");
        assert!(args.contains("-object secret,id=vncpw,format=raw,file=/r/demo.vnc-password"), "{args}");
        assert!(args.contains("-rtc base=1970-01-01T01:00:00"), "{args}");
        assert!(
            args.contains("file=/tmp/disk.img,format=raw,if=none,id=drive-ide0-0-0,werror=stop,rerror=stop"),
            "{args}"
        );
        assert!(args.contains("-device ide-hd,bus=ide.0,unit=0,drive=drive-ide0-0-0,id=ide0-0-0"), "{args}");
        assert!(args.contains("-vnc 127.0.0.1:0,to=99,password-secret=vncpw"), "{args}");
        assert!(args.contains("-device ib700 -action watchdog=pause"), "{args}");
        assert!(args.contains("-qmp unix:/r/demo.qmp,server=on,wait=off"), "{args}");
    }

    /// A comma in anything that becomes an option value is doubled, as
    /// QEMU reads it: no option can be injected through a name or a path.
    #[test]
    fn commas_cannot_inject_options() {
        let xml = "<domain type='qemu'><name>evil,debug-threads=on</name><memory>1024</memory>
          <os><type machine='pc'>hvm</type></os><devices>
            <disk type='file'><driver type='raw,file.locking=off'/><source file='/d,snapshot=on'/>
              <target dev='vda'/></disk>
            <graphics type='vnc'><listen type='socket' socket='/v,password=off'/></graphics>
          </devices></domain>";
        let def = Definition::parse(xml, &HOST).unwrap();
        let files = LaunchFiles {
            monitor: "/r,x/evil,debug-threads=on.qmp".into(),
            pidfile: "/r,x/evil,debug-threads=on.pid".into(),
            vnc_password: "/r,x/p".into(),
        };
        let args = def.qemu_args(&files, 0);
        assert!(args.contains(&"guest=evil,,debug-threads=on".to_string()), "{args:?}");
        assert!(args.contains(&"unix:/r,,x/evil,,debug-threads=on.qmp,server=on,wait=off".to_string()), "{args:?}");
        assert!(args.iter().any(|a| a.starts_with("file=/d,,snapshot=on,format=raw,,file.locking=off,")), "{args:?}");
        assert!(args.contains(&"unix:/v,,password=off".to_string()), "{args:?}");
    }

    #[test]
    fn refuses_what_is_outside_the_subset_by_name() {
        let cases = [
            ("<devices><interface type='network'/></devices>", "<interface>"),
            ("<cpu/>", "<cpu>"),
            ("<devices><watchdog model='ib700' action='dump'/></devices>", "action='dump'"),
        ];
        for (element, named) in cases {
            let xml = format!(
                "<domain type='qemu'><name>a</name><memory>1024</memory><os><type>hvm</type></os>{element}</domain>"
            );
            let err = Definition::parse(&xml, &HOST).unwrap_err();
            assert_eq!(err.code, ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, "{xml}");
            assert!(err.message.contains(named), "{} does not name {named}", err.message);
        }
    }

    /// libvirt's checks come first, in its order, with its errors; the
    /// emulator's are made against the host.
    #[test]
    fn checks_as_libvirts_qemu_driver() {
        let def = |virt: &str, os_type: &str, memory: &str| {
            format!("<domain type='{virt}'><name>a</name>{memory}<os><type{os_type}</type></os></domain>")
        };
        let memory = "<memory>1024</memory>";
        let cases = [
            (def("qemu", " arch='aarch64'>hvm", memory), "No emulator found for arch 'aarch64'"),
            (def("xen", " arch='aarch64'>hvm", ""), "No emulator found for arch 'aarch64'"),
            (def("kvm", ">hvm", ""), "could not get preferred machine for /usr/bin/qemu-system-x86_64 type=kvm"),
            (def("kvm", " machine='pc'>hvm", ""), "Memory size must be specified"),
            (def("kvm", " machine='nosuch'>hvm", memory), "No PCI buses available"),
            (def("xen", " machine='nosuch'>xen", memory), "No PCI buses available"),
            (def("xen", ">xen", memory), "Emulator '/usr/bin/qemu-system-x86_64' does not support os type 'xen'"),
            (def("xen", ">hvm", memory), "Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'xen'"),
        ];
        for (xml, expected) in cases {
            let err = Definition::parse(&xml, &HOST).unwrap_err();
            assert!(err.message.contains(expected), "{xml}: {}", err.message);
        }
        let kvm = Definition::parse(&def("kvm", ">hvm", memory), &TestHost { kvm: true });
        assert!(kvm.is_ok(), "{kvm:?}");
        let alias = Definition::parse(&def("qemu", " machine='q35'>hvm", memory), &HOST).unwrap();
        let files = LaunchFiles { monitor: "/r/a.qmp".into(), pidfile: "/r/a.pid".into(), vnc_password: "/r/p".into() };
        assert!(alias.qemu_args(&files, 0).contains(&"q35,accel=tcg".to_string()));
    }

    /// `<vcpu current=...>` is what the guest starts with, up to `<vcpu>`,
    /// refused with libvirt 9.0's errors (read off real 9.0's QEMU driver).
    #[test]
    fn current_vcpus() {
        let def = |vcpu: &str| {
            let xml = format!(
                "<domain type='qemu'><name>a</name><memory>1024</memory>{vcpu}<os><type>hvm</type></os></domain>"
            );
            Definition::parse(&xml, &HOST)
        };
        let files = LaunchFiles { monitor: "/r/a.qmp".into(), pidfile: "/r/a.pid".into(), vnc_password: "/r/p".into() };
        for (vcpu, counts, smp) in [
            ("<vcpu current='1'>2</vcpu>", (1, 2), "1,maxcpus=2"),
            ("<vcpu current=' 2'>2</vcpu>", (2, 2), "2"),
            ("<vcpu>3</vcpu>", (3, 3), "3"),
        ] {
            let def = def(vcpu).unwrap();
            assert_eq!((def.vcpus, def.max_vcpus), counts, "{vcpu}");
            assert!(def.qemu_args(&files, 0).contains(&smp.to_string()), "{vcpu}");
        }
        for (vcpu, code, domain, message) in [
            (
                "<vcpu current='3'>2</vcpu>",
                ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
                ErrorDomain::VIR_FROM_DOMAIN,
                "unsupported configuration: maximum vCPU count must not be less than current vCPU count",
            ),
            (
                "<vcpu current='0'>2</vcpu>",
                ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
                ErrorDomain::VIR_FROM_QEMU,
                "unsupported configuration: vcpu 0 can't be offline",
            ),
            (
                "<vcpu current='-1'>2</vcpu>",
                ErrorCode::VIR_ERR_XML_ERROR,
                ErrorDomain::VIR_FROM_XML,
                "XML error: Invalid value for attribute 'current' in element 'vcpu': '-1'. Expected non-negative integer value",
            ),
            (
                "<vcpu current=''>2</vcpu>",
                ErrorCode::VIR_ERR_XML_ERROR,
                ErrorDomain::VIR_FROM_XML,
                "XML error: Invalid value for attribute 'current' in element 'vcpu': ''. Expected non-negative integer value",
            ),
        ] {
            let err = def(vcpu).unwrap_err();
            assert_eq!((err.code, err.domain, err.message.as_str()), (code, domain, message), "{vcpu}");
        }
    }

    #[test]
    fn adjustment_is_written_back() {
        let mut def = Definition::parse(FULL, &HOST).unwrap();
        def.set_adjustment(7200);
        assert!(def.to_xml(Some(3)).contains("<clock offset='variable' adjustment='7200'/>"));
        assert!(def.to_xml(Some(3)).starts_with("<domain type='qemu' id='3'>"));
        assert!(def.to_xml(None).contains("passwd='hunter2'"), "saved with its password");
        assert!(!def.to_public_xml(None).contains("hunter2"), "shown without it");
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso_datetime(0), "1970-01-01T00:00:00");
        assert_eq!(iso_datetime(1_795_276_297), "2026-11-21T15:51:37");
        assert_eq!(iso_datetime(951_782_400), "2000-02-29T00:00:00");
    }
}
