//! `virConnectGetCapabilities` of the QEMU driver: the host (read by
//! `driver::host_capabilities`) and a guest entry for the emulator this
//! driver launches, with the machine types QEMU itself reports (QMP
//! `query-machines`, asked once per process as libvirt caches its probe),
//! listed the way libvirt 9.0 lists them.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use once_cell::sync::OnceCell;
use serde_json::Value;

use super::super::host_capabilities::host_element;
use super::super::host_node::HostFiles;
use crate::error::{Error, ErrorDomain, Result};
use crate::xml::{Element, Node};

/// How long QEMU may take to answer a probe (its version, its machine
/// types; it takes milliseconds).
pub(super) const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// The emulator the driver launches, found on `PATH` as libvirt finds it.
pub const EMULATOR: &str = "qemu-system-x86_64";

/// The capabilities document.
pub fn capabilities_xml() -> Result<String> {
    let mut sections = vec![host_element(&HostFiles::real())?];
    if let Some(emulator) = emulator_path() {
        sections.push(guest_element(&emulator, machines(&emulator)?, super::kvm_usable()));
    }
    let mut xml = String::from("<capabilities>\n\n");
    for section in sections {
        for line in section.to_xml().lines() {
            xml.push_str("  ");
            xml.push_str(line);
            xml.push('\n');
        }
        xml.push('\n');
    }
    xml.push_str("</capabilities>\n");
    Ok(xml)
}

/// The first executable `qemu-system-x86_64` in a `PATH` directory.
fn emulator_path() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(EMULATOR)).find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// This host, as the driver's definitions are checked against it.
pub struct LocalHost;

impl super::definition::Host for LocalHost {
    fn emulator(&self) -> String {
        emulator_path().map_or_else(|| EMULATOR.to_string(), |path| path.display().to_string())
    }

    fn kvm_usable(&self) -> bool {
        super::kvm_usable()
    }

    fn has_machine(&self, name: &str) -> Result<bool> {
        let emulator = emulator_path().ok_or_else(|| {
            Error::config_unsupported(ErrorDomain::VIR_FROM_QEMU, "No emulator found for arch 'x86_64'")
        })?;
        Ok(machines(&emulator)?.iter().any(|machine| machine.name == name || machine.alias.as_deref() == Some(name)))
    }
}

/// A machine type as QEMU reports it.
#[derive(Debug, PartialEq, Eq)]
struct Machine {
    name: String,
    alias: Option<String>,
    max_cpus: Option<u64>,
    deprecated: bool,
}

/// The emulator's machine types in libvirt's order, probed once.
fn machines(emulator: &Path) -> Result<&'static [Machine]> {
    static MACHINES: OnceCell<Vec<Machine>> = OnceCell::new();
    MACHINES.get_or_try_init(|| probe_machines(emulator, PROBE_TIMEOUT)).map(Vec::as_slice)
}

/// Asks QEMU, started without a machine and talking QMP on its standard
/// input and output, for its machine types.
fn probe_machines(emulator: &Path, timeout: Duration) -> Result<Vec<Machine>> {
    let failed = |detail: String| Error::internal(ErrorDomain::VIR_FROM_QEMU, detail);
    let mut child = Command::new(emulator)
        .args(["-machine", "none", "-nodefaults", "-display", "none", "-no-user-config", "-S", "-qmp", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| failed(format!("cannot run {}: {e}", emulator.display())))?;
    let commands = concat!(
        r#"{"execute":"qmp_capabilities"}"#,
        "\n",
        r#"{"execute":"query-machines"}"#,
        "\n",
        r#"{"execute":"quit"}"#,
        "\n"
    );
    // QEMU reads the commands in turn; the quit ends it, so the output ends.
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(commands.as_bytes()));
    let output = output_within(child, timeout)
        .ok_or_else(|| failed(format!("{} did not answer query-machines", emulator.display())))?
        .map_err(|e| failed(format!("cannot probe {}: {e}", emulator.display())))?;
    if let Some(Err(e)) = written {
        return Err(failed(format!("cannot probe {}: {e}", emulator.display())));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    parse_machines(&text).ok_or_else(|| failed(format!("{} did not list its machine types", emulator.display())))
}

/// `child`'s output once it has ended, `None` when it has not ended within
/// `timeout`: an emulator that does not answer is killed rather than
/// waited for, so that the API call asking fails instead of hanging.
pub(super) fn output_within(child: Child, timeout: Duration) -> Option<io::Result<Output>> {
    let pid = child.id() as libc::pid_t;
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let output = result.recv_timeout(timeout).ok();
    if output.is_none() {
        let _ = crate::sys::kill(pid, libc::SIGKILL);
    }
    output
}

/// The machine types of a `query-machines` reply among QMP output lines:
/// QEMU's default first, the others in QEMU's order, without `none`.
fn parse_machines(qmp_output: &str) -> Option<Vec<Machine>> {
    let reply =
        qmp_output.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).find_map(
            |message| match message.get("return") {
                Some(Value::Array(list)) => Some(list.clone()),
                _ => None,
            },
        )?;
    let mut default = None;
    let mut machines = Vec::new();
    for entry in &reply {
        let name = entry.get("name")?.as_str()?;
        if name == "none" {
            continue;
        }
        let machine = Machine {
            name: name.to_string(),
            alias: entry.get("alias").and_then(Value::as_str).map(str::to_string),
            max_cpus: entry.get("cpu-max").and_then(Value::as_u64),
            deprecated: entry.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
        };
        if default.is_none() && entry.get("is-default").and_then(Value::as_bool).unwrap_or(false) {
            default = Some(machine);
        } else {
            machines.push(machine);
        }
    }
    machines.splice(0..0, default);
    Some(machines)
}

/// The `<guest>` entry of an x86_64 emulator: each machine, then its alias
/// naming it as canonical; the domain types it runs; libvirt's features of
/// an x86_64 QEMU guest.
fn guest_element(emulator: &Path, machines: &[Machine], kvm: bool) -> Element {
    let mut arch = Element::with_attributes("arch", &[("name", "x86_64")]);
    arch.push(Element::with_text("wordsize", "64"));
    arch.push(Element::with_text("emulator", &emulator.display().to_string()));
    for machine in machines {
        let mut attributes = Vec::new();
        let max_cpus = machine.max_cpus.map(|n| n.to_string());
        if let Some(max_cpus) = &max_cpus {
            attributes.push(("maxCpus", max_cpus.as_str()));
        }
        if machine.deprecated {
            attributes.push(("deprecated", "yes"));
        }
        let mut element = Element::with_attributes("machine", &attributes);
        element.children.push(Node::Text(machine.name.clone()));
        arch.push(element);
        if let Some(alias) = &machine.alias {
            let mut element = Element::with_attributes(
                "machine",
                &[&[("canonical", machine.name.as_str())], &attributes[..]].concat(),
            );
            element.children.push(Node::Text(alias.clone()));
            arch.push(element);
        }
    }
    arch.push(Element::with_attributes("domain", &[("type", "qemu")]));
    if kvm {
        arch.push(Element::with_attributes("domain", &[("type", "kvm")]));
    }
    let mut features = Element::new("features");
    for (name, toggle) in [
        ("acpi", Some("yes")),
        ("apic", Some("no")),
        ("cpuselection", None),
        ("deviceboot", None),
        ("disksnapshot", Some("no")),
    ] {
        let attributes = toggle.map(|toggle| vec![("default", "on"), ("toggle", toggle)]).unwrap_or_default();
        features.push(Element::with_attributes(name, &attributes));
    }
    let mut guest = Element::new("guest");
    guest.push(Element::with_text("os_type", "hvm"));
    guest.push(arch);
    guest.push(features);
    guest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_machine_comes_first_and_none_is_left_out() {
        let output = concat!(
            r#"{"QMP": {"version": {}, "capabilities": []}}"#,
            "\n",
            r#"{"return": {}}"#,
            "\n",
            r#"{"return": [{"name": "pc-q35-5.2", "cpu-max": 288, "deprecated": true},"#,
            r#" {"name": "none", "cpu-max": 1},"#,
            r#" {"name": "pc-i440fx-10.0", "alias": "pc", "is-default": true, "cpu-max": 255},"#,
            r#" {"name": "isapc", "cpu-max": 1}]}"#,
            "\n"
        );
        let machines = parse_machines(output).unwrap();
        let names: Vec<&str> = machines.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["pc-i440fx-10.0", "pc-q35-5.2", "isapc"]);
        let guest = guest_element(Path::new("/usr/bin/qemu-system-x86_64"), &machines, true).to_xml();
        assert!(guest.contains("<machine maxCpus='255'>pc-i440fx-10.0</machine>\n"), "{guest}");
        assert!(guest.contains("<machine canonical='pc-i440fx-10.0' maxCpus='255'>pc</machine>\n"), "{guest}");
        assert!(guest.contains("<machine maxCpus='288' deprecated='yes'>pc-q35-5.2</machine>\n"), "{guest}");
        assert!(guest.contains("<domain type='qemu'/>\n    <domain type='kvm'/>\n"), "{guest}");
        assert!(parse_machines("{\"return\": {}}\n").is_none());
    }

    #[test]
    fn an_emulator_that_does_not_answer_is_killed() {
        use std::os::unix::fs::PermissionsExt;
        let fake = std::env::temp_dir().join(format!("virt-events-mute-qemu-{}", std::process::id()));
        std::fs::write(&fake, "#!/bin/sh\nexec sleep 60\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let started = std::time::Instant::now();
        let error = probe_machines(&fake, Duration::from_millis(300)).unwrap_err();
        let _ = std::fs::remove_file(&fake);
        assert!(error.message.ends_with("did not answer query-machines"), "{}", error.message);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
