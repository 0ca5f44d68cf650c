//! libvirt's older enumerations on the wire. Each count and each listing is
//! a procedure of its own (`virConnectNumOfNetworks` is 52,
//! `virConnectListNetworks` 38, ...), and a listing's reply holds at most
//! its limit of names: libvirt's client refuses a larger `maxnames` before
//! the call and a longer reply after it, libvirtd refuses the larger
//! `maxnames`. The remote driver sends these procedures, `virt-eventsd`
//! serves them; the limits are libvirt 9.0's.

use super::protocol::remote::*;
use super::protocol::{
    DOMAIN_LIST_MAX, NETWORK_LIST_MAX, NODE_DEVICE_CAPS_LIST_MAX, NODE_DEVICE_LIST_MAX, STORAGE_POOL_LIST_MAX,
};
use crate::driver::{Counted, Named};
use crate::event::EventClass;

/// A listing's limit on the names of one reply, and libvirt's name for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub name: &'static str,
}

const DOMAINS: Limit = Limit { max: DOMAIN_LIST_MAX, name: "REMOTE_DOMAIN_LIST_MAX" };
const NETWORKS: Limit = Limit { max: NETWORK_LIST_MAX, name: "REMOTE_NETWORK_LIST_MAX" };
const POOLS: Limit = Limit { max: STORAGE_POOL_LIST_MAX, name: "REMOTE_STORAGE_POOL_LIST_MAX" };
const DEVICES: Limit = Limit { max: NODE_DEVICE_LIST_MAX, name: "REMOTE_NODE_DEVICE_LIST_MAX" };
const CAPS: Limit = Limit { max: NODE_DEVICE_CAPS_LIST_MAX, name: "REMOTE_NODE_DEVICE_CAPS_LIST_MAX" };

/// The listings whose calls carry nothing but `maxnames` (and whose counts
/// nothing at all).
const PLAIN: [Named<'static>; 5] = [
    Named::InactiveDomains,
    Named::Objects(EventClass::Network, true),
    Named::Objects(EventClass::Network, false),
    Named::Objects(EventClass::StoragePool, true),
    Named::Objects(EventClass::StoragePool, false),
];

/// The procedures that count and list `what`, and the listing's limit.
/// (Only networks and storage pools have `Named::Objects` listings.)
pub fn procedures(what: Named<'_>) -> (i32, i32, Limit) {
    match what {
        Named::InactiveDomains => (CONNECT_NUM_OF_DEFINED_DOMAINS, CONNECT_LIST_DEFINED_DOMAINS, DOMAINS),
        Named::Objects(EventClass::Network, true) => (CONNECT_NUM_OF_NETWORKS, CONNECT_LIST_NETWORKS, NETWORKS),
        Named::Objects(EventClass::Network, false) => {
            (CONNECT_NUM_OF_DEFINED_NETWORKS, CONNECT_LIST_DEFINED_NETWORKS, NETWORKS)
        }
        Named::Objects(_, true) => (CONNECT_NUM_OF_STORAGE_POOLS, CONNECT_LIST_STORAGE_POOLS, POOLS),
        Named::Objects(_, false) => (CONNECT_NUM_OF_DEFINED_STORAGE_POOLS, CONNECT_LIST_DEFINED_STORAGE_POOLS, POOLS),
        Named::NodeDevices { .. } => (NODE_NUM_OF_DEVICES, NODE_LIST_DEVICES, DEVICES),
        Named::DeviceCaps(_) => (NODE_DEVICE_NUM_OF_CAPS, NODE_DEVICE_LIST_CAPS, CAPS),
    }
}

/// The procedure that counts `what`.
pub fn count_procedure(what: Counted<'_>) -> i32 {
    match what {
        Counted::RunningDomains => CONNECT_NUM_OF_DOMAINS,
        Counted::Names(named) => procedures(named).0,
    }
}

/// `virConnectListDomains`'s procedure and limit.
pub const IDS: (i32, Limit) = (CONNECT_LIST_DOMAINS, DOMAINS);

/// What the argument-less count or `maxnames`-only listing `procedure`
/// stands for: what it lists, and whether it is the count.
pub fn plain_of(procedure: i32) -> Option<(Named<'static>, bool)> {
    PLAIN.iter().find_map(|&named| {
        let (count, list, _) = procedures(named);
        (procedure == count || procedure == list).then_some((named, procedure == count))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::protocol::{function_name, procedure, REMOTE_PROGRAM};

    /// Each procedure is declared, stands for the function libvirt names
    /// it after, and the plain ones decode back to what they list.
    #[test]
    fn procedures_are_libvirts() {
        let every = PLAIN.iter().copied().chain([Named::NodeDevices { cap: None, flags: 0 }, Named::DeviceCaps("x")]);
        let mut seen = vec![];
        for named in every {
            let (count, list, limit) = procedures(named);
            for number in [count, list] {
                assert!(procedure(REMOTE_PROGRAM, number).is_some(), "{number} is declared");
                seen.push(function_name(REMOTE_PROGRAM, number).unwrap());
            }
            assert!(limit.name.starts_with("REMOTE_") && limit.max >= 16384, "{limit:?}");
            if PLAIN.contains(&named) {
                assert_eq!(plain_of(count), Some((named, true)));
                assert_eq!(plain_of(list), Some((named, false)));
            }
        }
        seen.push(function_name(REMOTE_PROGRAM, count_procedure(Counted::RunningDomains)).unwrap());
        seen.push(function_name(REMOTE_PROGRAM, IDS.0).unwrap());
        seen.sort_unstable();
        assert_eq!(
            seen,
            [
                "virConnectListDefinedDomains",
                "virConnectListDefinedNetworks",
                "virConnectListDefinedStoragePools",
                "virConnectListDomains",
                "virConnectListNetworks",
                "virConnectListStoragePools",
                "virConnectNumOfDefinedDomains",
                "virConnectNumOfDefinedNetworks",
                "virConnectNumOfDefinedStoragePools",
                "virConnectNumOfDomains",
                "virConnectNumOfNetworks",
                "virConnectNumOfStoragePools",
                "virNodeDeviceListCaps",
                "virNodeDeviceNumOfCaps",
                "virNodeListDevices",
                "virNodeNumOfDevices",
            ]
        );
        assert_eq!(plain_of(NODE_LIST_DEVICES), None);
    }
}
