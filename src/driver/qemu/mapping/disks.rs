//! The domain's disks as QEMU's `query-block` reports them, and libvirt's rules
//! for naming them: aliases from QEMU's device and node names, targets from
//! aliases, and the lookups by device, node and job the events need.

use serde_json::Value;

/// One disk, as IO error events need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskInfo {
    /// libvirt's device alias (the guest device's id, e.g. `ide0-0-0`).
    pub alias: String,
    /// The disk's source, reported as the event's `srcPath`.
    pub src_path: String,
    /// QEMU's block backend name (`drive-ide0-0-0` with `-drive`; empty with `-blockdev`).
    pub device: String,
    /// The top block node's name (`libvirt-1-format`, or `#block123` with `-drive`).
    pub node_name: String,
}

/// The domain's disks, looked up by QEMU's device name or node name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskTable {
    disks: Vec<DiskInfo>,
}

pub(super) fn strip_drive_prefix(name: &str) -> &str {
    name.strip_prefix("drive-").unwrap_or(name)
}

/// The alias of a `query-block` entry: its guest device's id. `qdev` is the
/// id, or a QOM path such as `/machine/peripheral/virtio-disk0/virtio-backend`
/// whose component after `/machine/peripheral/` is the id; without a usable
/// `qdev`, the backend name without its `drive-` prefix.
fn alias_from_query_block(qdev: &str, device: &str) -> String {
    if let Some(rest) = qdev.strip_prefix("/machine/peripheral/") {
        rest.split('/').next().unwrap_or_default().to_owned()
    } else if !qdev.is_empty() && !qdev.starts_with('/') {
        qdev.to_owned()
    } else {
        strip_drive_prefix(device).to_owned()
    }
}

/// `n` as the letters libvirt's disk targets end with (0 → a, 25 → z, 26 → aa).
fn disk_letters(mut n: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// The numbers of an alias such as `ide0-1-0` after `prefix`.
fn alias_numbers(alias: &str, prefix: &str) -> Option<Vec<u32>> {
    let rest = alias.strip_prefix(prefix)?;
    rest.split('-').map(|n| n.parse().ok()).collect()
}

impl DiskInfo {
    /// The disk's target name (`hda`, `vdb`, ...) as libvirt would have named
    /// it, derived from the alias libvirt gives a disk with that target (IDE
    /// controller*4 + bus*2 + unit, SATA controller*6 + unit, virtio-disk N,
    /// SCSI controller*7 + unit, floppy unit); other aliases are returned as is.
    pub fn target(&self) -> String {
        let alias = self.alias.as_str();
        let derived = if let Some(n) = alias.strip_prefix("virtio-disk").and_then(|n| n.parse().ok()) {
            Some(format!("vd{}", disk_letters(n)))
        } else if let Some([c, b, u]) = alias_numbers(alias, "ide").as_deref() {
            Some(format!("hd{}", disk_letters(c * 4 + b * 2 + u)))
        } else if let Some([c, 0, u]) = alias_numbers(alias, "sata").as_deref() {
            Some(format!("sd{}", disk_letters(c * 6 + u)))
        } else if let Some([c, 0, 0, u]) = alias_numbers(alias, "scsi").as_deref() {
            Some(format!("sd{}", disk_letters(c * 7 + u)))
        } else if let Some([0, 0, u]) = alias_numbers(alias, "fdc").as_deref() {
            Some(format!("fd{}", disk_letters(*u)))
        } else {
            None
        };
        derived.unwrap_or_else(|| self.alias.clone())
    }
}

/// N of libvirt's node names `libvirt-N-format` / `libvirt-N-storage`.
pub(super) fn libvirt_node_index(node: &str) -> Option<u32> {
    let rest = node.strip_prefix("libvirt-")?;
    let (n, kind) = rest.split_once('-')?;
    matches!(kind, "format" | "storage" | "slice-sto" | "slice-fmt").then(|| n.parse().ok())?
}

impl DiskTable {
    pub fn new() -> DiskTable {
        DiskTable::default()
    }

    pub fn insert(&mut self, disk: DiskInfo) {
        self.disks.push(disk);
    }

    /// Makes `source` the reported path of the disk `alias` (a domain the
    /// driver launched reports its XML's paths, as libvirt does).
    pub fn set_source(&mut self, alias: &str, source: &str) {
        match self.disks.iter_mut().find(|d| d.alias == alias) {
            Some(disk) => disk.src_path = source.to_owned(),
            None => self.insert(DiskInfo {
                alias: alias.to_owned(),
                src_path: source.to_owned(),
                device: format!("drive-{alias}"),
                node_name: String::new(),
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.disks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.disks.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &DiskInfo> {
        self.disks.iter()
    }

    /// Builds the table from a `query-block` reply:
    /// `[{"device": ..., "qdev": ..., "inserted": {"file": ..., "node-name": ...}}, ...]`.
    /// Entries it cannot use are skipped with a warning (second element).
    pub fn from_query_block(reply: &Value) -> Result<(DiskTable, Vec<String>), String> {
        let Some(entries) = reply.as_array() else {
            return Err(format!("query-block reply is not an array: {reply}"));
        };
        let mut table = DiskTable::new();
        let mut warnings = Vec::new();
        for entry in entries {
            let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
            let device = text(entry.get("device"));
            let qdev = text(entry.get("qdev"));
            let inserted = entry.get("inserted");
            let alias = alias_from_query_block(&qdev, &device);
            if alias.is_empty() {
                warnings.push(format!("query-block entry without a device id: {entry}"));
                continue;
            }
            table.insert(DiskInfo {
                alias,
                src_path: text(inserted.and_then(|i| i.get("file"))),
                device,
                node_name: text(inserted.and_then(|i| i.get("node-name"))),
            });
        }
        Ok((table, warnings))
    }

    /// The disk an IO error's `device` names: `drive-` prefix stripped, then
    /// compared with the alias (and with the backend name, prefix stripped).
    pub fn by_device(&self, device: &str) -> Option<&DiskInfo> {
        let wanted = strip_drive_prefix(device);
        self.disks
            .iter()
            .find(|d| d.alias == wanted || (!d.device.is_empty() && strip_drive_prefix(&d.device) == wanted))
    }

    pub fn by_node_name(&self, node_name: &str) -> Option<&DiskInfo> {
        self.disks.iter().find(|d| !d.node_name.is_empty() && d.node_name == node_name)
    }

    /// The disk any block node belongs to, with the libvirt image index of
    /// the node (`N` of `libvirt-N-*`) when it has one: the top node itself,
    /// or a `libvirt-N-*` node whose N is that of the disk's top node.
    pub fn by_any_node(&self, node_name: &str) -> Option<(&DiskInfo, Option<u32>)> {
        let index = libvirt_node_index(node_name);
        if let Some(disk) = self.by_node_name(node_name) {
            return Some((disk, index));
        }
        let index = index?;
        self.disks.iter().find(|d| libvirt_node_index(&d.node_name) == Some(index)).map(|d| (d, Some(index)))
    }

    /// The disk a block job concerns: its `device` is a backend name (`-drive`
    /// jobs) or a job ID, which libvirt and most clients build from the disk's
    /// alias, target or node name (`copy-vda-libvirt-1-format`); the longest
    /// such name found as a dash-separated part of the ID wins.
    pub fn by_job(&self, job: &str) -> Option<&DiskInfo> {
        if let Some(disk) = self.by_device(job) {
            return Some(disk);
        }
        let contains = |name: &str| {
            !name.is_empty()
                && job.match_indices(name).any(|(at, _)| {
                    let before = job[..at].chars().last();
                    let after = job[at + name.len()..].chars().next();
                    before.is_none_or(|c| c == '-' || c == '_') && after.is_none_or(|c| c == '-' || c == '_')
                })
        };
        self.disks
            .iter()
            .filter_map(|d| {
                let names = [d.alias.clone(), d.node_name.clone(), d.target()];
                names.into_iter().filter(|n| contains(n)).map(|n| n.len()).max().map(|len| (len, d))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, d)| d)
    }
}
