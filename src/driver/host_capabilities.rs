//! The `<host>` part of a QEMU connection's capabilities XML
//! (`virConnectGetCapabilities`), read from /proc and /sys by libvirt's rules
//! for Linux hosts, so that `virsh capabilities` shows what libvirt 9.0's QEMU
//! driver shows, except what needs libvirt's CPU map (the host CPU's model
//! and its features beyond it) or services we do not talk to (see README).
//!
//! The rules, from libvirt's capabilities and host CPU code:
//! - the host UUID is the SMBIOS system UUID when sysfs shows a valid one,
//!   else a random one, made once per process;
//! - the CPU's topology is `virNodeGetInfo`'s (sockets, one die, cores,
//!   threads); its vendor, microcode, signature and physical address bits are
//!   what the CPU reports (here through /proc/cpuinfo); its page sizes are the
//!   system's and each huge page size the kernel offers;
//! - each NUMA cell has its `MemTotal`, its pages of each size (the system
//!   size counts the memory huge pages do not hold), its distances and, per
//!   CPU, the socket, die, core and thread siblings;
//! - caches of level 3 and above are listed once per distinct bank, sorted.

use std::collections::BTreeSet;
use std::path::Path;

use once_cell::sync::OnceCell;

use super::host_node::{self, cpu_list, meminfo_total, numa_nodes, numbered, parse_cpu_list, read_number, HostFiles};
use crate::error::Result;
use crate::uuid::Uuid;
use crate::xml::{Element, Node};

/// The `<host>` element.
pub fn host_element(files: &HostFiles) -> Result<Element> {
    let mut host = Element::new("host");
    host.push(Element::with_text("uuid", &host_uuid().to_string()));
    host.push(cpu_element(files)?);
    // Suspend targets come from logind or pm-utils in libvirt; this driver
    // offers no virNodeSuspendForDuration, so it lists none.
    host.push(Element::new("power_management"));
    let iommu = std::fs::read_dir(files.kernel.join("iommu_groups")).is_ok_and(|mut e| e.next().is_some());
    host.push(Element::with_attributes("iommu", &[("support", if iommu { "yes" } else { "no" })]));
    let mut migration = Element::new("migration_features");
    migration.push(Element::new("live"));
    let mut transports = Element::new("uri_transports");
    for transport in ["tcp", "rdma"] {
        transports.push(Element::with_text("uri_transport", transport));
    }
    migration.push(transports);
    host.push(migration);
    host.push(numa_topology(files)?);
    if let Some(cache) = cache_element(files) {
        host.push(cache);
    }
    // An unprivileged embedded driver stacks no DAC or MAC security driver.
    let mut secmodel = Element::new("secmodel");
    secmodel.push(Element::with_text("model", "none"));
    secmodel.push(Element::with_text("doi", "0"));
    host.push(secmodel);
    Ok(host)
}

/// The host UUID, the same for every connection of the process.
fn host_uuid() -> Uuid {
    static UUID: OnceCell<Uuid> = OnceCell::new();
    *UUID.get_or_init(|| {
        ["/sys/devices/virtual/dmi/id/product_uuid", "/sys/class/dmi/id/product_uuid"]
            .iter()
            .find_map(|path| smbios_uuid(&std::fs::read_to_string(path).ok()?))
            .unwrap_or_else(Uuid::random)
    })
}

/// The UUID of a product_uuid file, unless it is one byte repeated (what
/// firmware writes when it has none), which libvirt does not take.
fn smbios_uuid(text: &str) -> Option<Uuid> {
    let uuid = Uuid::parse(text.strip_suffix('\n').unwrap_or(text))?;
    (uuid.0.iter().any(|byte| *byte != uuid.0[0])).then_some(uuid)
}

/// The `<cpu>` element, without the model and features libvirt works out
/// from its CPU map.
fn cpu_element(files: &HostFiles) -> Result<Element> {
    let info = host_node::node_info(files)?;
    let cpuinfo = std::fs::read_to_string(files.proc.join("cpuinfo")).unwrap_or_default();
    let field = |key: &str| {
        cpuinfo.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim_end() == key).then(|| value.trim().to_string())
        })
    };
    let mut cpu = Element::new("cpu");
    cpu.push(Element::with_text("arch", &info.model));
    let vendor = field("vendor_id").and_then(|id| match id.as_str() {
        "GenuineIntel" => Some("Intel"),
        "AuthenticAMD" => Some("AMD"),
        "HygonGenuine" => Some("Hygon"),
        _ => None,
    });
    if let Some(vendor) = vendor {
        cpu.push(Element::with_text("vendor", vendor));
    }
    let microcode = field("microcode").and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok());
    if let Some(microcode) = microcode {
        cpu.push(Element::with_attributes("microcode", &[("version", &microcode.to_string())]));
    }
    let signature = [field("cpu family"), field("model"), field("stepping")];
    if let [Some(family), Some(model), Some(stepping)] = &signature {
        cpu.push(Element::with_attributes(
            "signature",
            &[("family", family), ("model", model), ("stepping", stepping)],
        ));
    }
    let (sockets, cores, threads) = (info.sockets.to_string(), info.cores.to_string(), info.threads.to_string());
    cpu.push(Element::with_attributes(
        "topology",
        &[("sockets", &sockets), ("dies", "1"), ("cores", &cores), ("threads", &threads)],
    ));
    let physical_bits = field("address sizes")
        .and_then(|sizes| sizes.split_once(" bits physical").map(|(bits, _)| bits.trim().to_string()));
    if let Some(bits) = physical_bits {
        cpu.push(Element::with_attributes("maxphysaddr", &[("mode", "emulate"), ("bits", &bits)]));
    }
    for size in page_sizes_kib(files) {
        cpu.push(Element::with_attributes("pages", &[("unit", "KiB"), ("size", &size.to_string())]));
    }
    Ok(cpu)
}

/// The system page size, then the huge page sizes the kernel offers, in KiB.
fn page_sizes_kib(files: &HostFiles) -> Vec<u64> {
    let huge: BTreeSet<u64> = std::fs::read_dir(files.kernel.join("mm/hugepages"))
        .map(|entries| entries.flatten().filter_map(|e| huge_page_size(&e.file_name().to_string_lossy())).collect())
        .unwrap_or_default();
    std::iter::once(crate::sys::page_size() / 1024).chain(huge).collect()
}

/// `N` of a `hugepages-NkB` directory.
fn huge_page_size(name: &str) -> Option<u64> {
    name.strip_prefix("hugepages-")?.strip_suffix("kB")?.parse().ok()
}

/// `<topology>`: the NUMA cells, or one cell of every CPU when sysfs shows
/// no NUMA node.
fn numa_topology(files: &HostFiles) -> Result<Element> {
    let nodes = numa_nodes(&files.sys);
    let online = cpu_list(&files.sys.join("cpu/online"))?;
    let mut cells = Element::with_attributes("cells", &[("num", &nodes.len().max(1).to_string())]);
    if nodes.is_empty() {
        let memory = meminfo_total(&files.proc.join("meminfo"), "MemTotal:")?;
        cells.push(cell(files, 0, memory, &files.sys.join("cpu"), &online, None));
    }
    for node in nodes {
        let dir = files.sys.join(format!("node/node{node}"));
        let memory = meminfo_total(&dir.join("meminfo"), &format!("Node {node} MemTotal:"))?;
        cells.push(cell(files, node, memory, &dir, &online, Some(&dir)));
    }
    let mut topology = Element::new("topology");
    topology.push(cells);
    Ok(topology)
}

/// One `<cell>`: `cpus_dir` lists its CPUs as `cpuN` entries; `node_dir` is
/// its sysfs node (none for the cell of a host without NUMA nodes).
fn cell(
    files: &HostFiles,
    id: u32,
    memory_kib: u64,
    cpus_dir: &Path,
    online: &BTreeSet<u32>,
    node_dir: Option<&Path>,
) -> Element {
    let mut cell = Element::with_attributes("cell", &[("id", &id.to_string())]);
    let mut memory = Element::with_attributes("memory", &[("unit", "KiB")]);
    memory.children.push(Node::Text(memory_kib.to_string()));
    cell.push(memory);
    // The cell libvirt makes up for a host without NUMA nodes has neither.
    if let Some(dir) = node_dir {
        for pages in node_pages(files, dir, memory_kib) {
            cell.push(pages);
        }
        let distances = std::fs::read_to_string(dir.join("distance")).unwrap_or_default();
        if !distances.trim().is_empty() {
            let mut siblings = Element::new("distances");
            for (sibling, value) in distances.split_whitespace().enumerate() {
                siblings.push(Element::with_attributes("sibling", &[("id", &sibling.to_string()), ("value", value)]));
            }
            cell.push(siblings);
        }
    }
    let members: BTreeSet<u32> = std::fs::read_dir(cpus_dir)
        .map(|entries| entries.flatten().filter_map(|e| numbered(&e.file_name().to_string_lossy(), "cpu")).collect())
        .unwrap_or_default();
    let mut cpus = Element::with_attributes("cpus", &[("num", &members.len().to_string())]);
    for cpu in members {
        let mut element = Element::with_attributes("cpu", &[("id", &cpu.to_string())]);
        if online.contains(&cpu) {
            let topology = files.sys.join(format!("cpu/cpu{cpu}/topology"));
            let number = |file: &str| read_number(&topology.join(file)).unwrap_or(0).max(0).to_string();
            let siblings = std::fs::read_to_string(topology.join("thread_siblings_list"))
                .ok()
                .and_then(|text| parse_cpu_list(text.trim()))
                .unwrap_or_else(|| BTreeSet::from([cpu]));
            for (name, value) in [
                ("socket_id", number("physical_package_id")),
                ("die_id", number("die_id")),
                ("core_id", number("core_id")),
                ("siblings", format_cpu_list(&siblings)),
            ] {
                element.attributes.push((name.to_string(), value));
            }
        }
        cpus.push(element);
    }
    cell.push(cpus);
    cell
}

/// A NUMA node's `<pages>` of each size: its huge pages as reserved, the
/// rest of its memory in system pages.
fn node_pages(files: &HostFiles, node_dir: &Path, memory_kib: u64) -> Vec<Element> {
    let sizes = page_sizes_kib(files);
    let huge_counts: Vec<u64> = sizes[1..]
        .iter()
        .map(|size| {
            read_number(&node_dir.join(format!("hugepages/hugepages-{size}kB/nr_hugepages")))
                .map_or(0, |count| count.max(0) as u64)
        })
        .collect();
    let in_huge_pages: u64 = sizes[1..].iter().zip(&huge_counts).map(|(size, count)| size * count).sum();
    let counts = std::iter::once(memory_kib.saturating_sub(in_huge_pages) / sizes[0]).chain(huge_counts);
    sizes
        .iter()
        .zip(counts)
        .map(|(size, count)| {
            let mut pages = Element::with_attributes("pages", &[("unit", "KiB"), ("size", &size.to_string())]);
            pages.children.push(Node::Text(count.to_string()));
            pages
        })
        .collect()
}

/// A CPU set as libvirt writes one: ranges joined by commas ("0-3,8").
fn format_cpu_list(cpus: &BTreeSet<u32>) -> String {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for &cpu in cpus {
        match ranges.last_mut() {
            Some((_, last)) if *last + 1 == cpu => *last = cpu,
            _ => ranges.push((cpu, cpu)),
        }
    }
    let text: Vec<String> =
        ranges.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    text.join(",")
}

/// A cache bank: level, id, type, size in bytes, the CPUs sharing it.
type CacheBank = (u32, u32, &'static str, u64, BTreeSet<u32>);

/// `<cache>`: the distinct level 3+ caches of the online CPUs; none when
/// sysfs shows none.
fn cache_element(files: &HostFiles) -> Option<Element> {
    let online = cpu_list(&files.sys.join("cpu/online")).ok()?;
    let mut banks: Vec<CacheBank> = Vec::new();
    for cpu in online {
        let Ok(entries) = std::fs::read_dir(files.sys.join(format!("cpu/cpu{cpu}/cache"))) else { continue };
        for entry in entries.flatten() {
            if !entry.file_name().to_string_lossy().starts_with("index") {
                continue;
            }
            if let Some(bank) = cache_bank(&entry.path()).filter(|bank| !banks.contains(bank)) {
                banks.push(bank);
            }
        }
    }
    if banks.is_empty() {
        return None;
    }
    banks.sort_by_key(|(level, id, ..)| (*level, *id));
    let mut cache = Element::new("cache");
    for (level, id, kind, bytes, cpus) in banks {
        let (size, unit) = pretty_size(bytes);
        cache.push(Element::with_attributes(
            "bank",
            &[
                ("id", &id.to_string()),
                ("level", &level.to_string()),
                ("type", kind),
                ("size", &size.to_string()),
                ("unit", unit),
                ("cpus", &format_cpu_list(&cpus)),
            ],
        ));
    }
    Some(cache)
}

/// One `cache/indexN` directory's bank, if it is of level 3 or above and
/// describes itself fully.
fn cache_bank(dir: &Path) -> Option<CacheBank> {
    let level = read_number(&dir.join("level"))? as u32;
    if level < 3 {
        return None;
    }
    let id = read_number(&dir.join("id"))? as u32;
    let kind = match std::fs::read_to_string(dir.join("type")).ok()?.trim() {
        "Unified" => "both",
        "Instruction" => "code",
        "Data" => "data",
        _ => return None,
    };
    let size = std::fs::read_to_string(dir.join("size")).ok()?;
    let size = size.trim();
    let (digits, scale) = match size.strip_suffix('K') {
        Some(digits) => (digits, 1024),
        None => match size.strip_suffix('M') {
            Some(digits) => (digits, 1024 * 1024),
            None => (size, 1),
        },
    };
    let bytes = digits.parse::<u64>().ok()? * scale;
    let cpus = parse_cpu_list(std::fs::read_to_string(dir.join("shared_cpu_list")).ok()?.trim())?;
    Some((level, id, kind, bytes, cpus))
}

/// A byte count in the largest unit that divides it, as libvirt shows sizes.
fn pretty_size(bytes: u64) -> (u64, &'static str) {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let (mut size, mut unit) = (bytes, 0);
    while size != 0 && size % 1024 == 0 && unit + 1 < UNITS.len() {
        size /= 1024;
        unit += 1;
    }
    (size, UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::super::host_node::tests::FakeHost;
    use super::*;

    #[test]
    fn cpu_lists_and_sizes_as_libvirt_writes_them() {
        assert_eq!(format_cpu_list(&BTreeSet::from([0, 1, 2, 3, 8, 10, 11])), "0-3,8,10-11");
        assert_eq!(format_cpu_list(&BTreeSet::from([5])), "5");
        assert_eq!(pretty_size(32 * 1024 * 1024), (32, "MiB"));
        assert_eq!(pretty_size(1536 * 1024), (1536, "KiB"));
        assert_eq!(pretty_size(1000), (1000, "B"));
    }

    /// Two NUMA nodes, huge pages reserved on one, an offline CPU, a cache
    /// seen from every CPU that shares it.
    #[test]
    fn a_numa_host_as_libvirt_describes_it() {
        let host = FakeHost::new("caps");
        host.cpu_sets("0-3", "0-2");
        for cpu in 0..4 {
            host.cpu(cpu, (cpu / 2) as i32, cpu % 2, &cpu.to_string());
            let cache = format!("sys/cpu/cpu{cpu}/cache/index3");
            for (file, text) in [("level", "3"), ("id", "0"), ("type", "Unified"), ("size", "16384K")] {
                host.write(&format!("{cache}/{file}"), text);
            }
            host.write(&format!("{cache}/shared_cpu_list"), "0-3");
            host.write(&format!("sys/cpu/cpu{cpu}/cache/index0/level"), "1");
        }
        host.node(0, &[0, 1], 1_048_576);
        host.node(1, &[2, 3], 1_048_576);
        host.write("sys/node/node0/distance", "10 20\n");
        host.write("sys/node/node1/distance", "20 10\n");
        host.write("sys/node/node1/hugepages/hugepages-2048kB/nr_hugepages", "100\n");
        host.write("kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "100\n");
        host.write("proc/cpuinfo", "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nstepping\t: 7\nmicrocode\t: 0x5003604\naddress sizes\t: 46 bits physical, 48 bits virtual\n");
        let xml = host_element(&host.files()).unwrap().to_xml();
        let page = crate::sys::page_size() / 1024;
        for part in [
            "<vendor>Intel</vendor>".to_string(),
            "<microcode version='83899908'/>".into(),
            "<signature family='6' model='85' stepping='7'/>".into(),
            // virNodeGetInfo's figures: per-node maxima.
            "<topology sockets='1' dies='1' cores='2' threads='1'/>".into(),
            "<maxphysaddr mode='emulate' bits='46'/>".into(),
            format!("<pages unit='KiB' size='{page}'/>\n    <pages unit='KiB' size='2048'/>\n  </cpu>"),
            "<iommu support='no'/>".into(),
            "<cells num='2'>".into(),
            format!("<pages unit='KiB' size='{page}'>{}</pages>", (1_048_576 - 204_800) / page),
            "<pages unit='KiB' size='2048'>100</pages>".into(),
            "<sibling id='0' value='20'/>\n          <sibling id='1' value='10'/>".into(),
            "<cpu id='2' socket_id='1' die_id='0' core_id='0' siblings='2'/>\n          <cpu id='3'/>".into(),
            "<bank id='0' level='3' type='both' size='16' unit='MiB' cpus='0-3'/>\n  </cache>".into(),
            "<secmodel>\n    <model>none</model>\n    <doi>0</doi>".into(),
        ] {
            assert!(xml.contains(&part), "no {part} in:\n{xml}");
        }
        assert_eq!(xml.matches("<bank ").count(), 1, "{xml}");
    }

    /// Without NUMA nodes, one cell of every CPU and the host's memory, with
    /// no pages or distances, as libvirt makes it up.
    #[test]
    fn a_host_without_numa_nodes_is_one_cell() {
        let host = FakeHost::new("caps-flat");
        host.cpu_sets("0-1", "0-1");
        host.cpu(0, 0, 0, "0-1");
        host.cpu(1, 0, 0, "0-1");
        host.write("proc/meminfo", "MemTotal:       4096 kB\n");
        let xml = host_element(&host.files()).unwrap().to_xml();
        let cell =
            "<cells num='1'>\n      <cell id='0'>\n        <memory unit='KiB'>4096</memory>\n        <cpus num='2'>\n";
        assert!(xml.contains(cell), "{xml}");
        assert!(xml.contains("<cpu id='1' socket_id='0' die_id='0' core_id='0' siblings='0-1'/>"), "{xml}");
        assert!(!xml.contains("<cache>"), "{xml}");
    }

    #[test]
    fn smbios_uuids_of_one_repeated_byte_are_not_taken() {
        assert!(smbios_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff\n").is_none());
        assert!(smbios_uuid("garbage\n").is_none());
        let uuid = smbios_uuid("4c4c4544-0031-3510-8052-b4c04f4a4e32\n").unwrap();
        assert_eq!(uuid.to_string(), "4c4c4544-0031-3510-8052-b4c04f4a4e32");
    }
}
