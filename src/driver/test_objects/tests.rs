//! The test driver's networks, pools and node devices against what libvirt
//! 9.0's test driver was seen to do.

use super::*;

const NET: EventClass = EventClass::Network;
const POOL: EventClass = EventClass::StoragePool;
const DEV: EventClass = EventClass::NodeDevice;

fn lifecycle(outcome: &Option<ObjectEvent>) -> (String, i32) {
    match outcome {
        Some(ObjectEvent { object, payload: ObjectPayload::Lifecycle { event, .. }, .. }) => {
            (object.name.clone(), *event)
        }
        other => panic!("expected a lifecycle event, got {other:?}"),
    }
}

#[test]
fn defaults_have_libvirts_names_and_uuids() {
    let objects = Objects::new();
    let net = objects.lookup(NET, Lookup::Name("default")).unwrap();
    assert_eq!(net.uuid.to_string(), "dd8fe884-6c02-601e-7551-cca97df1c5df");
    let pool = objects.lookup(POOL, Lookup::Name("default-pool")).unwrap();
    assert_eq!(pool.uuid.to_string(), "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566");
    let names: Vec<_> = objects.list_all(DEV, 0).unwrap().into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["computer", "scsi_host1", "scsi_host11", "scsi_host2"]);
    assert_eq!(objects.list_all(DEV, 1 << 10).unwrap().len(), 2, "two vport-capable HBAs");
    assert!(objects.query(NET, &net, ObjectQuery::Active).unwrap());
}

#[test]
fn network_lifecycle_and_quirks() {
    let mut objects = Objects::new();
    let xml = "<network><name>n1</name><uuid>8f07fe28-753f-4bd2-8f5b-4c3d1a2b3c01</uuid></network>";
    let (n1, event) = objects.define_xml(NET, xml, 0).unwrap();
    assert_eq!(lifecycle(&event), ("n1".into(), DEFINED));
    let (_, event) = objects.operate(NET, &n1, ObjectOp::Create, 0).unwrap();
    assert_eq!(lifecycle(&event).1, STARTED);
    let err = objects.operate(NET, &n1, ObjectOp::Undefine, 0).unwrap_err();
    assert_eq!(err.message, "Requested operation is not valid: Network 'n1' is still running");
    objects.operate(NET, &n1, ObjectOp::Destroy, 0).unwrap();
    // libvirt's test driver stops an inactive network again without complaint.
    let (_, event) = objects.operate(NET, &n1, ObjectOp::Destroy, 0).unwrap();
    assert_eq!(lifecycle(&event).1, STOPPED);
    let (_, event) = objects.operate(NET, &n1, ObjectOp::Undefine, 0).unwrap();
    assert_eq!(lifecycle(&event).1, UNDEFINED);
    let err = objects.lookup(NET, Lookup::Name("n1")).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::VIR_ERR_NO_NETWORK, "Network not found: no network with matching name 'n1'")
    );
}

#[test]
fn transient_objects_vanish_when_stopped() {
    let mut objects = Objects::new();
    let (t, _) = objects.create_xml(NET, "<network><name>t</name></network>", 0).unwrap();
    assert!(!objects.query(NET, &t, ObjectQuery::Persistent).unwrap());
    objects.operate(NET, &t, ObjectOp::Destroy, 0).unwrap();
    assert!(objects.lookup(NET, Lookup::Name("t")).is_err());
}

#[test]
fn duplicate_definitions_are_refused() {
    let mut objects = Objects::new();
    let err = objects.define_xml(NET, "<network><name>default</name></network>", 0).unwrap_err();
    assert_eq!(
        err.message,
        "operation failed: network 'default' already exists with uuid dd8fe884-6c02-601e-7551-cca97df1c5df"
    );
    let xml = "<pool type='dir'><name>other</name><target><path>/default-pool</path></target></pool>";
    let err = objects.define_xml(POOL, xml, 0).unwrap_err();
    assert_eq!(err.message, "operation failed: Storage source conflict with pool: 'default-pool'");
    let err = objects.create_xml(POOL, "<pool type='dir'><name>x</name></pool>", 0).unwrap_err();
    assert_eq!(err.message, "XML error: missing storage pool target path");
}

#[test]
fn pool_calls_report_their_events() {
    let mut objects = Objects::new();
    let pool = objects.lookup(POOL, Lookup::Name("default-pool")).unwrap();
    let (_, event) = objects.operate(POOL, &pool, ObjectOp::Refresh, 0).unwrap();
    assert!(matches!(event, Some(ObjectEvent { payload: ObjectPayload::Plain { event_id: 1 }, .. })));
    let err = objects.operate(POOL, &pool, ObjectOp::Build, 0).unwrap_err();
    assert_eq!(err.message, "Requested operation is not valid: storage pool 'default-pool' is active");
    objects.operate(POOL, &pool, ObjectOp::Destroy, 0).unwrap();
    let events: Vec<i32> = [ObjectOp::Build, ObjectOp::Delete, ObjectOp::Create]
        .into_iter()
        .map(|op| lifecycle(&objects.operate(POOL, &pool, op, 0).unwrap().1).1)
        .collect();
    assert_eq!(events, [POOL_CREATED, POOL_DELETED, STARTED]);
    let err = objects.operate(POOL, &pool, ObjectOp::Refresh, 1).unwrap_err();
    assert_eq!(err.message, "unsupported flags (0x1) in function testStoragePoolRefresh");
}

#[test]
fn a_defined_pool_created_from_xml_becomes_transient() {
    let mut objects = Objects::new();
    let xml = "<pool type='dir'><name>p</name><uuid>8f07fe28-753f-4bd2-8f5b-4c3d1a2b3c01</uuid><target><path>/p</path></target></pool>";
    let (p, _) = objects.define_xml(POOL, xml, 0).unwrap();
    objects.create_xml(POOL, xml, 0).unwrap();
    assert!(!objects.query(POOL, &p, ObjectQuery::Persistent).unwrap());
    let err = objects.create_xml(POOL, xml, 0).unwrap_err();
    assert_eq!(err.message, "Requested operation is not valid: pool is already active as 'p'");
}

#[test]
fn vhbas_are_created_and_destroyed() {
    let mut objects = Objects::new();
    let xml = "<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>\
               <wwnn>2000000012345678</wwnn><wwpn>1000000012345678</wwpn></capability></capability></device>";
    let (dev, event) = objects.create_xml(DEV, xml, 0).unwrap();
    assert_eq!((dev.name.as_str(), dev.parent.as_deref()), ("scsi_host12", Some("scsi_host1")));
    assert_eq!(lifecycle(&event).1, DevEvent::VIR_NODE_DEVICE_EVENT_CREATED as i32);
    assert!(objects.xml_desc(DEV, &dev, 0).unwrap().contains("<wwnn>2000000012345678</wwnn>"));
    let (_, event) = objects.operate(DEV, &dev, ObjectOp::Destroy, 0).unwrap();
    assert_eq!(lifecycle(&event), ("scsi_host12".into(), DevEvent::VIR_NODE_DEVICE_EVENT_DELETED as i32));

    let on_computer = xml.replace("scsi_host1<", "computer<");
    let err = objects.create_xml(DEV, &on_computer, 0).unwrap_err();
    assert_eq!(err.message, "internal error: Parent device computer is not capable of vport operations");
    let computer = objects.lookup(DEV, Lookup::Name("computer")).unwrap();
    // Reported, yet done: the device stays, and no event.
    let (reported, event) = objects.operate(DEV, &computer, ObjectOp::Destroy, 0).unwrap();
    assert_eq!(reported.unwrap().message, "internal error: Device is not a fibre channel HBA");
    assert!(event.is_none());
    assert!(objects.lookup(DEV, Lookup::Name("computer")).is_ok());
    // The same for a vHBA whose parent is gone.
    let (orphan, _) = objects.create_xml(DEV, xml, 0).unwrap();
    let parent = objects.lookup(DEV, Lookup::Name("scsi_host1")).unwrap();
    objects.operate(DEV, &parent, ObjectOp::Destroy, 0).unwrap();
    let (reported, event) = objects.operate(DEV, &orphan, ObjectOp::Destroy, 0).unwrap();
    assert_eq!(reported.unwrap().message, "internal error: cannot find parent 'scsi_host1' definition");
    assert!(event.is_none());
    assert!(objects.lookup(DEV, Lookup::Name("scsi_host12")).is_ok());
    assert_eq!(objects.device_parent("computer").unwrap_err().message, "internal error: no parent for this device");
}
