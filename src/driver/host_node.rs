//! The local host's `virNodeGetInfo` answer, worked out from /proc and /sys
//! by libvirt's rules for Linux hosts, so that `virsh nodeinfo` on a
//! `qemu:///embed` connection prints what libvirt's QEMU driver prints.
//!
//! The rules, from libvirt's host CPU and memory code:
//! - the model is the host's architecture name;
//! - memory is the sum of the NUMA nodes' `MemTotal` when the host has
//!   NUMA nodes in sysfs, else `/proc/meminfo`'s;
//! - the frequency is the last `cpu MHz` line of `/proc/cpuinfo`, fraction
//!   dropped;
//! - per NUMA node (or, without nodes, over all CPUs): the online CPUs,
//!   their distinct sockets, the most distinct cores in one socket, and the
//!   most thread siblings of one CPU; the host's figures are the CPU sum and
//!   the per-node maxima;
//! - when nodes x sockets x cores x threads is not the number of present
//!   CPUs, the topology is reported flat (1 node, 1 socket, one core per
//!   CPU, 1 thread), as libvirt does to tell the caller not to trust it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::NodeInfo;
use crate::error::{Error, ErrorDomain, Result};

/// Where the host describes itself; tests point it at a fake tree.
pub struct HostFiles {
    /// `/sys/devices/system`.
    pub sys: PathBuf,
    /// `/proc`.
    pub proc: PathBuf,
    /// `/sys/kernel` (huge page sizes, IOMMU groups).
    pub kernel: PathBuf,
}

impl HostFiles {
    pub fn real() -> HostFiles {
        HostFiles {
            sys: PathBuf::from("/sys/devices/system"),
            proc: PathBuf::from("/proc"),
            kernel: PathBuf::from("/sys/kernel"),
        }
    }
}

/// The host's node information, or libvirt's internal error when sysfs
/// shows no CPU.
pub fn node_info(files: &HostFiles) -> Result<NodeInfo> {
    let arch = libvirt_arch_name(std::env::consts::ARCH);
    let cpuinfo = std::fs::read_to_string(files.proc.join("cpuinfo")).unwrap_or_default();
    let present = cpu_list(&files.sys.join("cpu/present"))?;
    let online = cpu_list(&files.sys.join("cpu/online"))?;
    let topology = Topology::of_host(&files.sys, &present, &online)?;
    Ok(NodeInfo {
        model: arch.to_string(),
        memory_kib: memory_kib(files)?,
        cpus: topology.cpus,
        mhz: frequency_mhz(&cpuinfo, arch),
        nodes: topology.nodes,
        sockets: topology.sockets,
        cores: topology.cores,
        threads: topology.threads,
    })
}

/// libvirt's name of a Rust target architecture (they differ for a few).
pub(super) fn libvirt_arch_name(rust_arch: &str) -> &str {
    match rust_arch {
        "x86" => "i686",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc",
        "arm" => "armv7l",
        other => other,
    }
}

/// The CPU frequency line's prefix in /proc/cpuinfo on `arch`; none where
/// libvirt reads no frequency (ARM, and architectures it does not know).
fn frequency_prefix(arch: &str) -> Option<&'static str> {
    match arch {
        "x86_64" | "i686" => Some("cpu MHz"),
        "ppc64" | "ppc64le" | "ppc" => Some("clock"),
        "s390x" => Some("cpu MHz dynamic"),
        _ => None,
    }
}

/// The last frequency line's whole MHz; 0 when there is none, and, with a
/// warning, when a line is malformed (what libvirt reports then).
fn frequency_mhz(cpuinfo: &str, arch: &str) -> u32 {
    let Some(prefix) = frequency_prefix(arch) else { return 0 };
    let mut mhz = 0;
    for line in cpuinfo.lines() {
        let Some(rest) = line.strip_prefix(prefix) else { continue };
        // "cpu MHz dynamic" must not be read as a malformed "cpu MHz".
        let Some(value) = rest.trim_start().strip_prefix(':') else { continue };
        let value = value.trim_start();
        let digits = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
        let tail_ok = value[digits..].chars().next().is_none_or(|c| c == '.' || c.is_whitespace());
        match value[..digits].parse::<u32>() {
            Ok(parsed) if tail_ok => mhz = parsed,
            _ => {
                eprintln!("libvirt: warning : Unable to parse CPU frequency information from /proc/cpuinfo");
                return mhz;
            }
        }
    }
    mhz
}

/// The host's memory in KiB.
fn memory_kib(files: &HostFiles) -> Result<u64> {
    let nodes = numa_nodes(&files.sys);
    if nodes.is_empty() {
        return meminfo_total(&files.proc.join("meminfo"), "MemTotal:");
    }
    let mut total = 0;
    for node in nodes {
        let path = files.sys.join(format!("node/node{node}/meminfo"));
        total += meminfo_total(&path, &format!("Node {node} MemTotal:"))?;
    }
    Ok(total)
}

/// The `kB` figure of the line starting with `key` in a meminfo file.
pub(super) fn meminfo_total(path: &Path, key: &str) -> Result<u64> {
    let text = std::fs::read_to_string(path).map_err(|e| host_error(format!("cannot read {}: {e}", path.display())))?;
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| host_error(format!("no {key} figure in {}", path.display())))
}

/// The NUMA nodes sysfs lists (`node/nodeN`), in order.
pub(super) fn numa_nodes(sys: &Path) -> BTreeSet<u32> {
    let Ok(entries) = std::fs::read_dir(sys.join("node")) else { return BTreeSet::new() };
    entries.flatten().filter_map(|e| numbered(&e.file_name().to_string_lossy(), "node")).collect()
}

/// `N` of a directory entry named `{prefix}N`.
pub(super) fn numbered(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix).filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))?.parse().ok()
}

/// A sysfs CPU list file ("0-3,8,10-11").
pub(super) fn cpu_list(path: &Path) -> Result<BTreeSet<u32>> {
    let text = std::fs::read_to_string(path).map_err(|e| host_error(format!("cannot read {}: {e}", path.display())))?;
    parse_cpu_list(text.trim()).ok_or_else(|| host_error(format!("malformed CPU list in {}", path.display())))
}

pub(super) fn parse_cpu_list(text: &str) -> Option<BTreeSet<u32>> {
    let mut cpus = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (first, last): (u32, u32) = match part.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let cpu = part.parse().ok()?;
                (cpu, cpu)
            }
        };
        // A real host has thousands of CPUs at most; a huge range is a lie.
        if last < first || last - first > 65_536 {
            return None;
        }
        cpus.extend(first..=last);
    }
    Some(cpus)
}

/// The counted topology (what `virNodeInfo` carries of it).
#[derive(Debug, Default, PartialEq, Eq)]
struct Topology {
    cpus: u32,
    nodes: u32,
    sockets: u32,
    cores: u32,
    threads: u32,
}

impl Topology {
    fn of_host(sys: &Path, present: &BTreeSet<u32>, online: &BTreeSet<u32>) -> Result<Topology> {
        let mut host = Topology::default();
        let mut offline = 0;
        for node in numa_nodes(sys) {
            let counted = count_group(sys, &sys.join(format!("node/node{node}")), present, online, &mut offline);
            host.nodes += 1;
            host.cpus += counted.cpus;
            host.sockets = host.sockets.max(counted.sockets);
            host.cores = host.cores.max(counted.cores);
            host.threads = host.threads.max(counted.threads);
        }
        if host.cpus == 0 || host.nodes == 0 {
            offline = 0;
            host = Topology { nodes: 1, ..count_group(sys, &sys.join("cpu"), present, online, &mut offline) };
        }
        for (count, what) in [(host.cpus, "CPUs"), (host.sockets, "sockets"), (host.threads, "threads")] {
            if count == 0 {
                return Err(host_error(format!("no {what} found")));
            }
        }
        let all = host.cpus + offline;
        if host.nodes * host.sockets * host.cores * host.threads != all {
            host = Topology { cpus: host.cpus, nodes: 1, sockets: 1, cores: all, threads: 1 };
        }
        Ok(host)
    }
}

/// One NUMA node's figures (or all CPUs', given `cpu/`): `group` lists its
/// CPUs as `cpuN` entries; each CPU's topology is under `cpu/cpuN`.
/// Present CPUs that are offline are counted in `offline`.
fn count_group(
    sys: &Path,
    group: &Path,
    present: &BTreeSet<u32>,
    online: &BTreeSet<u32>,
    offline: &mut u32,
) -> Topology {
    let members: BTreeSet<u32> = std::fs::read_dir(group)
        .map(|entries| entries.flatten().filter_map(|e| numbered(&e.file_name().to_string_lossy(), "cpu")).collect())
        .unwrap_or_default();
    let mut counted = Topology::default();
    let mut cores_per_socket: std::collections::BTreeMap<u32, BTreeSet<u32>> = Default::default();
    for cpu in members.intersection(present) {
        if !online.contains(cpu) {
            *offline += 1;
            continue;
        }
        counted.cpus += 1;
        let topology = sys.join(format!("cpu/cpu{cpu}/topology"));
        // A missing file, or -1 (no sockets on this architecture), is socket 0.
        let socket = read_number(&topology.join("physical_package_id")).unwrap_or(0).max(0) as u32;
        let core = read_number(&topology.join("core_id")).unwrap_or(0).max(0) as u32;
        cores_per_socket.entry(socket).or_default().insert(core);
        let siblings = std::fs::read_to_string(topology.join("thread_siblings_list"))
            .ok()
            .and_then(|text| parse_cpu_list(text.trim()))
            .map_or(1, |list| list.len() as u32);
        counted.threads = counted.threads.max(siblings);
    }
    counted.sockets = cores_per_socket.len() as u32;
    counted.cores = cores_per_socket.values().map(|cores| cores.len() as u32).max().unwrap_or(0);
    counted
}

pub(super) fn read_number(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

pub(super) fn host_error(detail: String) -> Error {
    Error::internal(ErrorDomain::VIR_FROM_NONE, detail)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A fake /sys/devices/system and /proc in a fresh directory.
    pub(in crate::driver) struct FakeHost {
        dir: PathBuf,
    }

    impl FakeHost {
        pub(in crate::driver) fn new(name: &str) -> FakeHost {
            let dir = std::env::temp_dir().join(format!("virt-events-host-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("sys/cpu")).unwrap();
            std::fs::create_dir_all(dir.join("proc")).unwrap();
            FakeHost { dir }
        }

        pub(in crate::driver) fn write(&self, path: &str, text: &str) {
            let path = self.dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }

        /// The present and online CPU lists.
        pub(in crate::driver) fn cpu_sets(&self, present: &str, online: &str) {
            self.write("sys/cpu/present", &format!("{present}\n"));
            self.write("sys/cpu/online", &format!("{online}\n"));
        }

        /// CPU `cpu` in `socket`, `core`, with these thread siblings.
        pub(in crate::driver) fn cpu(&self, cpu: u32, socket: i32, core: u32, siblings: &str) {
            let base = format!("sys/cpu/cpu{cpu}/topology");
            self.write(&format!("{base}/physical_package_id"), &format!("{socket}\n"));
            self.write(&format!("{base}/core_id"), &format!("{core}\n"));
            self.write(&format!("{base}/thread_siblings_list"), &format!("{siblings}\n"));
        }

        pub(in crate::driver) fn node(&self, node: u32, cpus: &[u32], mem_kib: u64) {
            self.write(
                &format!("sys/node/node{node}/meminfo"),
                &format!("Node {node} MemTotal:       {mem_kib} kB\nNode {node} MemFree: 1 kB\n"),
            );
            for cpu in cpus {
                std::fs::create_dir_all(self.dir.join(format!("sys/node/node{node}/cpu{cpu}"))).unwrap();
            }
        }

        pub(in crate::driver) fn files(&self) -> HostFiles {
            HostFiles { sys: self.dir.join("sys"), proc: self.dir.join("proc"), kernel: self.dir.join("kernel") }
        }
    }

    impl Drop for FakeHost {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn figures(info: &NodeInfo) -> (u64, u32, u32, u32, u32, u32, u32) {
        (info.memory_kib, info.cpus, info.mhz, info.nodes, info.sockets, info.cores, info.threads)
    }

    #[test]
    fn two_numa_nodes_of_hyperthreaded_sockets() {
        let host = FakeHost::new("numa");
        host.write("sys/cpu/present", "0-7\n");
        host.write("sys/cpu/online", "0-7\n");
        // Two sockets of two cores of two threads, one socket per node.
        for cpu in 0..8 {
            let (socket, core) = (cpu / 4, (cpu % 4) / 2);
            let first = cpu - cpu % 2;
            host.cpu(cpu, socket as i32, core, &format!("{first}-{}", first + 1));
        }
        host.node(0, &[0, 1, 2, 3], 1000);
        host.node(1, &[4, 5, 6, 7], 2000);
        host.write("proc/cpuinfo", "processor\t: 0\ncpu MHz\t\t: 2100.000\nprocessor\t: 1\ncpu MHz\t\t: 3400.999\n");
        host.write("proc/meminfo", "MemTotal: 99999 kB\n");
        let info = node_info(&host.files()).unwrap();
        // Node memory, not /proc/meminfo; the last frequency line, truncated.
        assert_eq!(figures(&info), (3000, 8, 3400, 2, 1, 2, 2));
    }

    #[test]
    fn without_numa_nodes_all_cpus_are_one_node() {
        let host = FakeHost::new("flat");
        host.write("sys/cpu/present", "0-3\n");
        host.write("sys/cpu/online", "0-3\n");
        for cpu in 0..4 {
            host.cpu(cpu, -1, cpu, &cpu.to_string());
        }
        host.write("proc/meminfo", "MemFree: 1 kB\nMemTotal:       4096 kB\n");
        let info = node_info(&host.files()).unwrap();
        assert_eq!(figures(&info), (4096, 4, 0, 1, 1, 4, 1));
    }

    #[test]
    fn an_inconsistent_topology_is_reported_flat() {
        let host = FakeHost::new("odd");
        host.write("sys/cpu/present", "0-3\n");
        // CPU 3 is offline: 1 x 1 x 2 x 2 != 4 present... until it counts.
        host.write("sys/cpu/online", "0-2\n");
        host.cpu(0, 0, 0, "0-1");
        host.cpu(1, 0, 0, "0-1");
        host.cpu(2, 0, 1, "2");
        host.node(0, &[0, 1, 2, 3], 512);
        let info = node_info(&host.files()).unwrap();
        // 1 node x 1 socket x 2 cores x 2 threads = 4 = 3 online + 1 offline.
        assert_eq!(figures(&info), (512, 3, 0, 1, 1, 2, 2));
        // Without CPU 3 the product (4) is not the 3 CPUs there are.
        host.write("sys/cpu/present", "0-2\n");
        let info = node_info(&host.files()).unwrap();
        assert_eq!(figures(&info), (512, 3, 0, 1, 1, 3, 1));
    }

    #[test]
    fn no_cpus_and_bad_files_are_errors_not_panics() {
        let host = FakeHost::new("empty");
        assert!(node_info(&host.files()).is_err(), "no present list");
        host.write("sys/cpu/present", "0-99999999\n");
        host.write("sys/cpu/online", "0\n");
        assert!(node_info(&host.files()).is_err(), "an absurd range");
        host.write("sys/cpu/present", "0\n");
        host.write("proc/meminfo", "MemTotal: 1 kB\n");
        let error = node_info(&host.files()).unwrap_err();
        assert_eq!(error.message, "internal error: no CPUs found");
    }

    #[test]
    fn frequency_lines_as_libvirt_reads_them() {
        assert_eq!(frequency_mhz("cpu MHz : 1200\ncpu MHz\t: 1300.5\n", "x86_64"), 1300);
        assert_eq!(frequency_mhz("cpu MHz dynamic : 5000\ncpu MHz static : 4000\n", "s390x"), 5000);
        assert_eq!(frequency_mhz("cpu MHz : 1200\ncpu MHz : fast\ncpu MHz : 1500\n", "x86_64"), 1200);
        assert_eq!(frequency_mhz("cpu MHz : 1200\n", "aarch64"), 0);
    }
}
