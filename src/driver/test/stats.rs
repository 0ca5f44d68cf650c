//! What the test driver makes up about its fixed host's memory and about a
//! running domain's disks and interfaces, as libvirt 9.0's test driver: fixed
//! figures for the host, and statistics that only grow, worked out from the
//! time of day.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::driver::{BlockStats, InterfaceStats};
use crate::error::{Error, ErrorDomain, Result};
use crate::xml::Element;

/// The memory of the fixed host's two NUMA cells, in KiB, as
/// `virNodeGetCellsFreeMemory` reports it: libvirt's test driver answers
/// each cell's size there.
const CELL_MEMORY_KIB: [u64; 2] = [2 * 1024 * 1024, 4 * 1024 * 1024];

/// `virNodeGetFreeMemory`: the sum of the cells' free memory, a figure of
/// libvirt's test host apart from the cells' sizes.
pub(super) const FREE_MEMORY: u64 = 3 * 1024 * 1024;

/// The scheduler libvirt's test driver names, with its one parameter
/// (`weight`, always 50: setting it changes nothing).
pub(super) const SCHEDULER: &str = "fair";
pub(super) const SCHEDULER_WEIGHT: u32 = 50;

/// `virNodeGetCellsFreeMemory`'s cells from `start`, at most `max`.
pub(super) fn cells_free_memory(start: usize, max: usize) -> Result<Vec<u64>> {
    if start >= CELL_MEMORY_KIB.len() {
        return Err(Error::invalid_arg(ErrorDomain::VIR_FROM_TEST, "Range exceeds available cells"));
    }
    Ok(CELL_MEMORY_KIB[start..].iter().take(max).copied().collect())
}

/// libvirt's `last_update` of the test driver's balloon: a fixed time.
const BALLOON_LAST_UPDATE: u64 = 627_319_920;

/// The balloon statistics of a running domain whose current memory is
/// `current_kib`, at most `max` of them, as (`virDomainMemoryStatTags`,
/// value): none without a balloon device.
pub(super) fn memory_stats(def: &Element, current_kib: u64, max: usize) -> Vec<(i32, u64)> {
    use crate::abi::all::virDomainMemoryStatTags as Tag;
    let has_balloon = def
        .child("devices")
        .and_then(|d| d.child("memballoon"))
        .and_then(|b| b.attribute("model"))
        .is_some_and(|model| model != "none");
    if !has_balloon {
        return Vec::new();
    }
    // libvirt works these out in a C int, truncated from the current
    // memory and sign-extended into the statistics.
    let current = current_kib as i32;
    let share = |divisor: i32| i64::from(current / divisor) as u64;
    let stats = [
        (Tag::VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON, share(1)),
        (Tag::VIR_DOMAIN_MEMORY_STAT_SWAP_IN, 0),
        (Tag::VIR_DOMAIN_MEMORY_STAT_SWAP_OUT, 0),
        (Tag::VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT, 0),
        (Tag::VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT, 0),
        (Tag::VIR_DOMAIN_MEMORY_STAT_UNUSED, share(2)),
        (Tag::VIR_DOMAIN_MEMORY_STAT_AVAILABLE, share(1)),
        (Tag::VIR_DOMAIN_MEMORY_STAT_USABLE, share(2)),
        (Tag::VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE, BALLOON_LAST_UPDATE),
        (Tag::VIR_DOMAIN_MEMORY_STAT_DISK_CACHES, share(8)),
        (Tag::VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGALLOC, 0),
        (Tag::VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGFAIL, 0),
        (Tag::VIR_DOMAIN_MEMORY_STAT_RSS, share(2)),
    ];
    stats.into_iter().take(max).map(|(tag, value)| (tag as i32, value)).collect()
}

/// The time of day, from which the statistics are worked out.
pub(super) fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// The time in microseconds, and in seconds, as signed counters.
fn counters(now: Duration) -> (i64, i64) {
    (i64::try_from(now.as_micros()).unwrap_or(i64::MAX), i64::try_from(now.as_secs()).unwrap_or(i64::MAX))
}

/// A disk's statistics at time `now`.
pub(super) fn block_stats_at(now: Duration) -> BlockStats {
    let (micros, secs) = counters(now);
    BlockStats {
        rd_req: micros / 10,
        rd_bytes: micros / 20,
        wr_req: micros / 30,
        wr_bytes: micros / 40,
        errs: secs / 2,
    }
}

/// An interface's statistics at time `now`.
pub(super) fn interface_stats_at(now: Duration) -> InterfaceStats {
    let (micros, secs) = counters(now);
    InterfaceStats {
        rx_bytes: micros / 10,
        rx_packets: micros / 100,
        rx_errs: secs,
        rx_drop: secs / 2,
        tx_bytes: micros / 20,
        tx_packets: micros / 110,
        tx_errs: secs / 3,
        tx_drop: secs / 4,
    }
}

/// libvirt's refusal of `virDomainBlockStats` for the whole domain (an
/// empty disk path), before it looks the domain up.
pub(super) fn summary_unsupported() -> Error {
    Error::new(
        crate::error::ErrorCode::VIR_ERR_OPERATION_UNSUPPORTED,
        ErrorDomain::VIR_FROM_TEST,
        Some("summary statistics are not supported yet".into()),
    )
}

fn devices<'a>(def: &'a Element, kind: &'a str) -> impl Iterator<Item = &'a Element> {
    def.child("devices").into_iter().flat_map(|d| d.elements()).filter(move |e| e.name == kind)
}

/// Checks that `path` names one of the definition's disks: its target, or
/// the source of exactly one disk.
pub(super) fn check_disk(def: &Element, path: &str) -> Result<()> {
    let target = |disk: &Element| disk.child("target").and_then(|t| t.attribute("dev")) == Some(path);
    let source = |disk: &Element| {
        let source = disk.child("source");
        ["file", "dev", "dir", "name"].iter().find_map(|a| source.and_then(|s| s.attribute(a))) == Some(path)
    };
    if devices(def, "disk").any(target) || devices(def, "disk").filter(|d| source(d)).count() == 1 {
        return Ok(());
    }
    Err(Error::invalid_arg(ErrorDomain::VIR_FROM_TEST, format!("invalid path: {path}")))
}

/// Checks that `device` names one of the definition's interfaces: by MAC
/// address when it reads as one, else by its device name.
pub(super) fn check_interface(def: &Element, device: &str) -> Result<()> {
    let wanted_mac = parse_mac(device);
    let matches = |net: &Element| match wanted_mac {
        Some(wanted) => net.child("mac").and_then(|m| m.attribute("address")).and_then(parse_mac) == Some(wanted),
        None => net.child("target").and_then(|t| t.attribute("dev")) == Some(device),
    };
    if devices(def, "interface").any(matches) {
        return Ok(());
    }
    Err(Error::invalid_arg(ErrorDomain::VIR_FROM_DOMAIN, format!("'{device}' is not a known interface")))
}

/// A MAC address: six hexadecimal bytes of one or two digits, separated by
/// colons, in either case.
fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in mac.iter_mut() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn cells_are_taken_from_the_start_cell() {
        assert_eq!(cells_free_memory(0, 5).unwrap(), CELL_MEMORY_KIB);
        assert_eq!(cells_free_memory(0, 1).unwrap(), [CELL_MEMORY_KIB[0]]);
        assert_eq!(cells_free_memory(1, 1).unwrap(), [CELL_MEMORY_KIB[1]]);
        let error = cells_free_memory(2, 1).unwrap_err();
        assert_eq!((error.code, error.domain), (ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_TEST));
        assert_eq!(error.message, "invalid argument: Range exceeds available cells");
    }

    #[test]
    fn balloon_statistics_are_shares_of_the_current_memory() {
        let with_balloon =
            crate::xml::parse("<domain><devices><memballoon model='virtio'/></devices></domain>").unwrap();
        let stats = memory_stats(&with_balloon, 1_000_000, 20);
        assert_eq!(stats.len(), 13);
        assert_eq!(stats[0], (6, 1_000_000));
        assert_eq!(stats[5], (4, 500_000));
        assert_eq!(stats[8], (9, BALLOON_LAST_UPDATE));
        assert_eq!(stats[9], (10, 125_000));
        assert_eq!(stats[12], (7, 500_000));
        assert_eq!(memory_stats(&with_balloon, 1_000_000, 2).len(), 2);
        let without = crate::xml::parse("<domain><devices><memballoon model='none'/></devices></domain>").unwrap();
        assert!(memory_stats(&without, 1_000_000, 20).is_empty());
        assert!(memory_stats(&crate::xml::parse("<domain/>").unwrap(), 1_000_000, 20).is_empty());
    }

    #[test]
    fn statistics_follow_the_time_of_day() {
        let now = Duration::from_micros(1_796_301_252_742_610);
        let block = block_stats_at(now);
        assert_eq!(block.rd_req, 179_630_125_274_261);
        assert_eq!(block.wr_bytes, 44_907_531_318_565);
        assert_eq!(block.errs, 898_150_626);
        let net = interface_stats_at(now);
        assert_eq!((net.rx_errs, net.tx_drop), (1_796_301_252, 449_075_313));
        assert_eq!(net.tx_packets, 16_330_011_388_569);
    }

    fn domain() -> Element {
        crate::xml::parse(
            "<domain><devices><disk><source file='/a'/><target dev='vda'/></disk>\
             <disk><source file='/b'/><target dev='vdb'/></disk><disk><source file='/b'/><target dev='vdc'/></disk>\
             <interface><mac address='aa:bb:cc:dd:ee:0f'/><target dev='tap0'/></interface></devices></domain>",
        )
        .unwrap()
    }

    #[test]
    fn disks_by_target_or_unique_source() {
        let def = domain();
        assert!(check_disk(&def, "vda").is_ok());
        assert!(check_disk(&def, "/a").is_ok());
        assert!(check_disk(&def, "vdc").is_ok());
        assert_eq!(check_disk(&def, "/b").unwrap_err().message, "invalid argument: invalid path: /b");
        assert!(check_disk(&def, "hda").is_err());
    }

    #[test]
    fn interfaces_by_name_or_mac() {
        let def = domain();
        assert!(check_interface(&def, "tap0").is_ok());
        assert!(check_interface(&def, "AA:BB:CC:DD:EE:F").is_ok());
        let error = check_interface(&def, "aa:bb:cc:dd:ee:01").unwrap_err();
        assert_eq!(error.message, "invalid argument: 'aa:bb:cc:dd:ee:01' is not a known interface");
        assert_eq!(error.domain, ErrorDomain::VIR_FROM_DOMAIN);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee"), None);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee:ff:00"), None);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee:fff"), None);
    }
}
