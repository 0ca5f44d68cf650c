//! The checks libvirt's domain XML parser makes of every definition,
//! whichever driver reads it, with libvirt 9.0's errors and in its order:
//! the order was read off real 9.0's test and QEMU drivers by giving them
//! definitions with two faults at a time (`tests/python/definition_checks.py`,
//! which `tests/real_python.rs` runs on both).
//!
//! A definition is checked in three steps, as libvirt parses, completes and
//! then validates it: [`identity`] and [`check_machine`] (the name, the
//! UUID, the virtualization type, the OS
//! type, the architecture, the vCPU count, then the driver's look-up of an
//! emulator for them, then the memory size), the driver's own completion,
//! and [`validate`] (the name, then the driver's own validation). Defining
//! a domain, not starting one from XML, also refuses a name with a line
//! break ([`check_defined_name`]).

use super::memory_size;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::uuid::Uuid;
use crate::xml::Element;

/// The virtualization types libvirt 9.0 knows (`<domain type=...>`).
const VIRT_TYPES: &[&str] = &[
    "none",
    "qemu",
    "kqemu",
    "kvm",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "parallels",
    "bhyve",
    "vz",
    "hvf",
];

/// The OS types libvirt 9.0 knows (`<os><type>`).
const OS_TYPES: &[&str] = &["hvm", "xen", "linux", "exe", "uml", "xenpvh"];

/// The architectures libvirt 9.0 knows (`<os><type arch=...>`).
const ARCHES: &[&str] = &[
    "alpha",
    "armv6l",
    "armv7l",
    "armv7b",
    "aarch64",
    "cris",
    "i686",
    "ia64",
    "lm32",
    "m68k",
    "microblaze",
    "microblazeel",
    "mips",
    "mipsel",
    "mips64",
    "mips64el",
    "openrisc",
    "parisc",
    "parisc64",
    "ppc",
    "ppcle",
    "ppc64",
    "ppc64le",
    "ppcemb",
    "riscv32",
    "riscv64",
    "s390",
    "s390x",
    "sh4",
    "sh4eb",
    "sparc",
    "sparc64",
    "unicore32",
    "x86_64",
    "xtensa",
    "xtensaeb",
];

/// What a definition asks of the host, once [`check_machine`] found it
/// well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// `<domain type=...>`, one of libvirt's.
    pub virt_type: String,
    /// `<os><type>`, one of libvirt's.
    pub os_type: String,
    /// `<os><type arch=...>`, one of libvirt's, when given.
    pub arch: Option<String>,
    /// `<os><type machine=...>`, when given.
    pub machine: Option<String>,
    /// `<vcpu>`, 1 when absent.
    pub vcpus: u32,
    /// `<memory>`, in KiB.
    pub memory_kib: u64,
    /// `<currentMemory>` as libvirt completes it ([`memory_size::balloon_kib`]), in KiB.
    pub current_memory_kib: u64,
}

/// An `unsigned int` as libvirt reads one from XML (`strtoul` in base 10):
/// leading white space and a sign allowed, nothing after the digits, and a
/// negative value wrapping around as C's conversion does (so "-1" is the
/// largest value).
pub fn c_uint(text: &str) -> Option<u32> {
    let unsigned = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (negative, digits) = match unsigned.as_bytes().first() {
        Some(b'-') => (true, &unsigned[1..]),
        Some(b'+') => (false, &unsigned[1..]),
        _ => (false, unsigned),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude: u64 = digits.parse().ok()?;
    let value = if negative { magnitude.wrapping_neg() } else { magnitude };
    // libvirt takes a negative 64-bit value for its 32-bit counterpart.
    let value = if value >> 32 == 0xffff_ffff { value & 0xffff_ffff } else { value };
    u32::try_from(value).ok()
}

/// The name and UUID of a definition, as libvirt's parser reads them first:
/// a name is required; a UUID is generated (and added to `def`) when absent.
pub fn identity(def: &mut Element) -> Result<(String, Uuid)> {
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
    Ok((name, uuid))
}

/// The checks of libvirt's parser after [`identity`], in its order: a known
/// virtualization type, a known OS type (an `exe` one with its `<init>`), a
/// known architecture, a vCPU count, then `host` (the driver's look-up of
/// an emulator for what the definition asks), then a memory size; sizes are
/// checked as [`memory_size::kib`] reads them.
pub fn check_machine(def: &Element, host: impl FnOnce(&Machine) -> Result<()>) -> Result<Machine> {
    let in_domain = ErrorDomain::VIR_FROM_DOMAIN;
    let virt_type = match def.attribute("type").filter(|t| !t.is_empty()) {
        None => return Err(Error::internal(in_domain, "missing domain type attribute")),
        Some(virt) if !VIRT_TYPES.contains(&virt) => {
            return Err(Error::config_unsupported(in_domain, format!("invalid domain type {virt}")))
        }
        Some(virt) => virt.to_string(),
    };
    let os = def.child("os");
    let os_type_element = os.and_then(|os| os.child("type"));
    let os_type = match os_type_element.map(Element::untrimmed_text).filter(|t| !t.is_empty()) {
        None => return Err(Error::xml(in_domain, "an os <type> must be specified")),
        Some(os_type) if !OS_TYPES.contains(&os_type.as_str()) => {
            return Err(Error::config_unsupported(in_domain, format!("unknown OS type '{os_type}'")))
        }
        Some(os_type) if os_type == "exe" && os.and_then(|os| os.child_text("init")).is_none() => {
            return Err(Error::xml(in_domain, "init binary must be specified"))
        }
        Some(os_type) => os_type,
    };
    let given = |attribute: &str| os_type_element.and_then(|t| t.attribute(attribute)).filter(|v| !v.is_empty());
    let arch = match given("arch") {
        Some(arch) if !ARCHES.contains(&arch) => {
            return Err(Error::config_unsupported(in_domain, format!("Unknown architecture {arch}")))
        }
        arch => arch.map(str::to_string),
    };
    let vcpus = match def.child("vcpu") {
        None => 1,
        Some(vcpu) => c_uint(&vcpu.untrimmed_text())
            .ok_or_else(|| Error::xml(in_domain, "maximum vcpus count must be an integer"))?,
    };
    if vcpus == 0 {
        return Err(Error::internal(in_domain, "CPU IDs in <numa> exceed the <vcpu> count"));
    }
    let mut machine = Machine {
        virt_type,
        os_type,
        arch,
        machine: given("machine").map(str::to_string),
        vcpus,
        memory_kib: 0,
        current_memory_kib: 0,
    };
    host(&machine)?;
    machine.memory_kib = memory_size::kib(def, "memory")?.unwrap_or(0);
    memory_size::kib(def, "maxMemory")?;
    let current = memory_size::kib(def, "currentMemory")?;
    if machine.memory_kib == 0 {
        return Err(Error::xml(in_domain, "Memory size must be specified via <memory> or in the <numa> configuration"));
    }
    machine.current_memory_kib = memory_size::balloon_kib(machine.memory_kib, current);
    Ok(machine)
}

/// Writes the memory sizes `machine` read from `def` back into it as libvirt
/// shows a completed definition: both in KiB, `<currentMemory>` always.
pub fn complete_memory(def: &mut Element, machine: &Machine) {
    memory_size::set_kib(def, "memory", machine.memory_kib);
    memory_size::set_kib(def, "currentMemory", machine.current_memory_kib);
}

/// libvirt's validation of a parsed definition: the name holds no `/`,
/// then `driver` (the driver's own validation).
pub fn validate(name: &str, driver: impl FnOnce() -> Result<()>) -> Result<()> {
    if name.contains('/') {
        return Err(Error::xml(ErrorDomain::VIR_FROM_DOMAIN, format!("name {name} cannot contain '/'")));
    }
    driver()
}

/// What defining a domain (not starting one from XML) requires of its
/// name, once the definition is valid: no line break.
pub fn check_defined_name(name: &str) -> Result<()> {
    match name.contains('\n') {
        true => Err(Error::new(
            ErrorCode::VIR_ERR_XML_DETAIL,
            ErrorDomain::VIR_FROM_XML,
            Some("invalid char in name: \n".into()),
        )),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::c_uint;

    #[test]
    fn unsigned_ints_read_as_libvirt_reads_them() {
        for (text, value) in [
            ("2", Some(2)),
            (" 2", Some(2)),
            ("\n2", Some(2)),
            ("+3", Some(3)),
            ("07", Some(7)),
            ("-0", Some(0)),
            ("-1", Some(u32::MAX)),
            ("4294967295", Some(u32::MAX)),
            ("4294967296", None),
            ("2 ", None),
            ("2x", None),
            ("0x2", None),
            ("", None),
            ("-", None),
            ("- 1", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(c_uint(text), value, "{text:?}");
        }
    }
}
