//! The daemon's snapshot procedures: each runs the driver call of the
//! libvirt function it stands for. Creating, reverting and deleting are
//! refused to read-only clients and run on the worker thread, as the other
//! domain changes are; libvirt's public checks (flag combinations) are the
//! client's, as in libvirtd.

use super::*;
use crate::event::DomainIdentity;

/// A snapshot as the wire names it.
fn wire_snapshot(dom: &DomainIdentity, name: String) -> NonnullSnapshot {
    NonnullSnapshot { name, dom: nonnull_domain(dom) }
}

/// The reply of a call that returns a snapshot of `dom`.
fn snapshot_ret(dom: &DomainIdentity, name: String) -> Box<dyn Body> {
    boxed(SnapshotRet { snap: wire_snapshot(dom, name) })
}

impl Server {
    /// `None` for a procedure not among these.
    pub(super) fn dispatch_snapshots(
        &self,
        client: u64,
        header: &Header,
        body: &[u8],
        read_only: bool,
        driver: &Arc<dyn Driver>,
    ) -> Option<Outcome> {
        macro_rules! args {
            ($ty:ty) => {
                decode_or_refuse!(header, body, $ty)
            };
        }
        use remote::*;
        let ops = ops::Ops { server: self, client, header, read_only, driver };
        let function = ops.function();
        let read = ops::reply;
        let change = |call: ops::Change| ops.change(ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT, call);
        let int = |value: crate::error::Result<i32>| read(value.map(|value| boxed(IntRet { value })));
        let flag = |value: crate::error::Result<bool>| int(value.map(i32::from));
        let count = |value: crate::error::Result<usize>| int(value.map(|n| i32::try_from(n).unwrap_or(i32::MAX)));
        // The names listed, at most `maxnames` of them.
        let names = |found: crate::error::Result<Vec<String>>, maxnames: i32| {
            let keep = usize::try_from(maxnames).unwrap_or(0);
            read(
                found.map(|names| boxed(SnapshotListNamesRet { names: Array(names.into_iter().take(keep).collect()) })),
            )
        };
        let all = |dom: &DomainIdentity, found: crate::error::Result<Vec<String>>| {
            read(found.map(|names| {
                let ret = i32::try_from(names.len()).unwrap_or(i32::MAX);
                let snapshots = names.into_iter().map(|name| wire_snapshot(dom, name)).collect();
                boxed(ListAllSnapshotsRet { snapshots: Array(snapshots), ret })
            }))
        };
        let outcome = match header.procedure {
            DOMAIN_SNAPSHOT_CREATE_XML => {
                let args = args!(SnapshotCreateXmlArgs);
                change(Box::new(move |d| {
                    let dom = domain_identity(&args.dom);
                    let (name, _) = d.snapshot_create(&dom, &args.xml_desc, args.flags)?;
                    Ok(snapshot_ret(&dom, name))
                }))
            }
            DOMAIN_REVERT_TO_SNAPSHOT | DOMAIN_SNAPSHOT_DELETE => {
                let args = args!(SnapshotFlagsArgs);
                let revert = header.procedure == DOMAIN_REVERT_TO_SNAPSHOT;
                change(Box::new(move |d| {
                    let (dom, name) = (domain_identity(&args.snap.dom), args.snap.name);
                    match revert {
                        true => d.snapshot_revert(&dom, &name, args.flags).map(|_| ()),
                        false => d.snapshot_delete(&dom, &name, args.flags),
                    }
                    .map(|()| boxed(()))
                }))
            }
            DOMAIN_SNAPSHOT_LOOKUP_BY_NAME => {
                let args = args!(SnapshotLookupByNameArgs);
                let dom = domain_identity(&args.dom);
                read(driver.snapshot_lookup(&dom, &args.name, args.flags).map(|()| snapshot_ret(&dom, args.name)))
            }
            DOMAIN_SNAPSHOT_CURRENT | DOMAIN_HAS_CURRENT_SNAPSHOT | DOMAIN_SNAPSHOT_NUM => {
                let args = args!(DomainFlagsArgs);
                let dom = domain_identity(&args.dom);
                match header.procedure {
                    DOMAIN_SNAPSHOT_CURRENT => {
                        read(driver.snapshot_current(&dom, args.flags).map(|name| snapshot_ret(&dom, name)))
                    }
                    DOMAIN_HAS_CURRENT_SNAPSHOT => flag(driver.has_current_snapshot(&dom, args.flags)),
                    _ => count(driver.snapshot_count(&dom, None, args.flags, function)),
                }
            }
            DOMAIN_SNAPSHOT_GET_XML_DESC
            | DOMAIN_SNAPSHOT_GET_PARENT
            | DOMAIN_SNAPSHOT_IS_CURRENT
            | DOMAIN_SNAPSHOT_HAS_METADATA
            | DOMAIN_SNAPSHOT_NUM_CHILDREN => {
                let args = args!(SnapshotFlagsArgs);
                let (dom, name, flags) = (domain_identity(&args.snap.dom), args.snap.name, args.flags);
                match header.procedure {
                    DOMAIN_SNAPSHOT_GET_XML_DESC => {
                        read(driver.snapshot_xml_desc(&dom, &name, flags).map(|value| boxed(StringRet { value })))
                    }
                    DOMAIN_SNAPSHOT_GET_PARENT => {
                        read(driver.snapshot_parent(&dom, &name, flags).map(|parent| snapshot_ret(&dom, parent)))
                    }
                    DOMAIN_SNAPSHOT_IS_CURRENT => flag(driver.snapshot_is_current(&dom, &name, flags)),
                    DOMAIN_SNAPSHOT_HAS_METADATA => flag(driver.snapshot_has_metadata(&dom, &name, flags)),
                    _ => count(driver.snapshot_count(&dom, Some(&name), flags, function)),
                }
            }
            DOMAIN_SNAPSHOT_LIST_NAMES => {
                let args = args!(SnapshotListNamesArgs);
                let dom = domain_identity(&args.dom);
                names(driver.snapshot_names(&dom, None, args.flags, function), args.maxnames)
            }
            DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES => {
                let args = args!(SnapshotListChildrenNamesArgs);
                let dom = domain_identity(&args.snap.dom);
                names(driver.snapshot_names(&dom, Some(&args.snap.name), args.flags, function), args.maxnames)
            }
            DOMAIN_LIST_ALL_SNAPSHOTS => {
                let args = args!(ListAllSnapshotsArgs);
                let dom = domain_identity(&args.dom);
                all(&dom, driver.snapshot_names(&dom, None, args.flags, function))
            }
            DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN => {
                let args = args!(ListAllChildrenArgs);
                let dom = domain_identity(&args.snap.dom);
                all(&dom, driver.snapshot_names(&dom, Some(&args.snap.name), args.flags, function))
            }
            _ => return None,
        };
        Some(outcome)
    }
}
