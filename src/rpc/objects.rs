//! Networks, storage pools and node devices over the wire, for every class
//! at once: which remote procedure stands for which driver call of which
//! class, and each class's wire form of an object. A network or a storage
//! pool travels as its name and UUID (`remote_nonnull_network`,
//! `remote_nonnull_storage_pool`), a node device as its name alone; a call
//! on one object sends that form, followed by the flags where libvirt's
//! procedure has them. The remote driver sends these calls, `virt-eventsd`
//! serves them; `rpc::protocol` declares the same bodies per class.

use std::fmt;

use super::protocol::{remote, Body};
use super::xdr::{Decoder, Encoder, Xdr, XdrResult};
use crate::driver::{ObjectOp, ObjectQuery};
use crate::error::Error;
use crate::event::{EventClass, ObjectIdentity};
use crate::uuid::Uuid;

/// A driver call on networks, pools or node devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    LookupByName,
    LookupByUuid,
    ListAll,
    DefineXml,
    CreateXml,
    Op(ObjectOp),
    Query(ObjectQuery),
    XmlDesc,
    /// `virNodeDeviceGetParent`.
    Parent,
}

/// One procedure: its class, call, number, and whether flags follow its
/// object or XML.
struct Row(EventClass, Call, i32, bool);

const NET: EventClass = EventClass::Network;
const POOL: EventClass = EventClass::StoragePool;
const DEV: EventClass = EventClass::NodeDevice;

static ROWS: &[Row] = {
    use remote::*;
    use Call::*;
    &[
        Row(NET, LookupByName, NETWORK_LOOKUP_BY_NAME, false),
        Row(NET, LookupByUuid, NETWORK_LOOKUP_BY_UUID, false),
        Row(NET, ListAll, CONNECT_LIST_ALL_NETWORKS, true),
        Row(NET, DefineXml, NETWORK_DEFINE_XML, false),
        Row(NET, CreateXml, NETWORK_CREATE_XML, false),
        Row(NET, Op(ObjectOp::Create), NETWORK_CREATE, false),
        Row(NET, Op(ObjectOp::Destroy), NETWORK_DESTROY, false),
        Row(NET, Op(ObjectOp::Undefine), NETWORK_UNDEFINE, false),
        Row(NET, Query(ObjectQuery::Active), NETWORK_IS_ACTIVE, false),
        Row(NET, Query(ObjectQuery::Persistent), NETWORK_IS_PERSISTENT, false),
        Row(NET, XmlDesc, NETWORK_GET_XML_DESC, true),
        Row(POOL, LookupByName, STORAGE_POOL_LOOKUP_BY_NAME, false),
        Row(POOL, LookupByUuid, STORAGE_POOL_LOOKUP_BY_UUID, false),
        Row(POOL, ListAll, CONNECT_LIST_ALL_STORAGE_POOLS, true),
        Row(POOL, DefineXml, STORAGE_POOL_DEFINE_XML, true),
        Row(POOL, CreateXml, STORAGE_POOL_CREATE_XML, true),
        Row(POOL, Op(ObjectOp::Create), STORAGE_POOL_CREATE, true),
        Row(POOL, Op(ObjectOp::Build), STORAGE_POOL_BUILD, true),
        Row(POOL, Op(ObjectOp::Destroy), STORAGE_POOL_DESTROY, false),
        Row(POOL, Op(ObjectOp::Delete), STORAGE_POOL_DELETE, true),
        Row(POOL, Op(ObjectOp::Undefine), STORAGE_POOL_UNDEFINE, false),
        Row(POOL, Op(ObjectOp::Refresh), STORAGE_POOL_REFRESH, true),
        Row(POOL, Query(ObjectQuery::Active), STORAGE_POOL_IS_ACTIVE, false),
        Row(POOL, Query(ObjectQuery::Persistent), STORAGE_POOL_IS_PERSISTENT, false),
        Row(POOL, XmlDesc, STORAGE_POOL_GET_XML_DESC, true),
        Row(DEV, LookupByName, NODE_DEVICE_LOOKUP_BY_NAME, false),
        Row(DEV, ListAll, CONNECT_LIST_ALL_NODE_DEVICES, true),
        Row(DEV, CreateXml, NODE_DEVICE_CREATE_XML, true),
        Row(DEV, Op(ObjectOp::Destroy), NODE_DEVICE_DESTROY, false),
        Row(DEV, XmlDesc, NODE_DEVICE_GET_XML_DESC, true),
        Row(DEV, Parent, NODE_DEVICE_GET_PARENT, false),
    ]
};

/// The procedure of `call` on `class`, and whether it sends flags; `None`
/// where libvirt has no such procedure.
pub fn procedure(class: EventClass, call: Call) -> Option<(i32, bool)> {
    ROWS.iter().find(|r| r.0 == class && r.1 == call).map(|r| (r.2, r.3))
}

/// What the remote program's procedure `number` is, if it is one of these.
pub fn call_of(number: i32) -> Option<(EventClass, Call, bool)> {
    ROWS.iter().find(|r| r.2 == number).map(|r| (r.0, r.1, r.3))
}

fn has_uuid(class: EventClass) -> bool {
    class != EventClass::NodeDevice
}

fn list_max(class: EventClass) -> u32 {
    use super::protocol::{NETWORK_LIST_MAX, NODE_DEVICE_LIST_MAX, STORAGE_POOL_LIST_MAX};
    match class {
        EventClass::Network => NETWORK_LIST_MAX,
        EventClass::StoragePool => STORAGE_POOL_LIST_MAX,
        _ => NODE_DEVICE_LIST_MAX,
    }
}

fn encode_object(class: EventClass, object: &ObjectIdentity, e: &mut Encoder) {
    object.name.encode(e);
    if has_uuid(class) {
        object.uuid.encode(e);
    }
}

pub fn decode_object(class: EventClass, d: &mut Decoder<'_>) -> XdrResult<ObjectIdentity> {
    let name = String::decode(d)?;
    let uuid = if has_uuid(class) { Uuid::decode(d)? } else { Uuid([0; 16]) };
    Ok(ObjectIdentity::named(name, uuid))
}

/// A call's arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum Args {
    Name(String),
    Uuid(Uuid),
    List { need_results: bool, flags: u32 },
    Xml { xml: String, flags: Option<u32> },
    Object { object: ObjectIdentity, flags: Option<u32> },
}

/// A reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Ret {
    Nothing,
    Object(ObjectIdentity),
    /// The objects (when asked for) and how many there are.
    List(Vec<ObjectIdentity>, u32),
    Bool(bool),
    Text(String),
    /// A node device's parent, which libvirt sends as an optional string.
    Parent(Option<String>),
}

/// A body of `class`'s wire form, ready to send.
pub struct Wire<T> {
    pub class: EventClass,
    pub body: T,
}

impl<T: fmt::Debug> fmt::Debug for Wire<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {:?}", self.class, self.body)
    }
}

impl Body for Wire<Args> {
    fn encode_body(&self, e: &mut Encoder) {
        let flags = match &self.body {
            Args::Name(name) => {
                name.encode(e);
                None
            }
            Args::Uuid(uuid) => {
                uuid.encode(e);
                None
            }
            Args::List { need_results, flags } => {
                e.i32(i32::from(*need_results));
                Some(*flags)
            }
            Args::Xml { xml, flags } => {
                xml.encode(e);
                *flags
            }
            Args::Object { object, flags } => {
                encode_object(self.class, object, e);
                *flags
            }
        };
        if let Some(flags) = flags {
            e.u32(flags);
        }
    }
}

impl Body for Wire<Ret> {
    fn encode_body(&self, e: &mut Encoder) {
        match &self.body {
            Ret::Nothing => {}
            Ret::Object(object) => encode_object(self.class, object, e),
            Ret::List(objects, count) => {
                e.u32(objects.len() as u32);
                for object in objects {
                    encode_object(self.class, object, e);
                }
                e.u32(*count);
            }
            Ret::Bool(value) => e.i32(i32::from(*value)),
            Ret::Text(text) => text.encode(e),
            Ret::Parent(parent) => parent.encode(e),
        }
    }
}

/// The arguments of `call` on `class` (`flags`: whether its procedure
/// sends them).
pub fn decode_args(class: EventClass, call: Call, flags: bool, d: &mut Decoder<'_>) -> XdrResult<Args> {
    let flags_of = |d: &mut Decoder<'_>| if flags { d.u32().map(Some) } else { Ok(None) };
    Ok(match call {
        Call::LookupByName => Args::Name(String::decode(d)?),
        Call::LookupByUuid => Args::Uuid(Uuid::decode(d)?),
        Call::ListAll => Args::List { need_results: d.i32()? != 0, flags: d.u32()? },
        Call::DefineXml | Call::CreateXml => Args::Xml { xml: String::decode(d)?, flags: flags_of(d)? },
        _ => Args::Object { object: decode_object(class, d)?, flags: flags_of(d)? },
    })
}

/// The objects of a list reply, and how many there are.
pub fn decode_list(class: EventClass, d: &mut Decoder<'_>) -> XdrResult<(Vec<ObjectIdentity>, u32)> {
    let min_size = if has_uuid(class) { 20 } else { 4 };
    let len = d.count(list_max(class), min_size)?;
    let objects = (0..len).map(|_| decode_object(class, d)).collect::<XdrResult<Vec<_>>>()?;
    Ok((objects, d.u32()?))
}

/// `VIR_ERR_NO_SUPPORT` for `call` on a class libvirt has no procedure of
/// it for, named as the public function.
pub fn unsupported(class: EventClass, call: Call) -> Error {
    let descriptor = class.descriptor();
    let what = match call {
        Call::LookupByName => "LookupByName",
        Call::LookupByUuid => "LookupByUUID",
        Call::ListAll => return Error::no_support(descriptor.error_domain, descriptor.list_function),
        Call::DefineXml => "DefineXML",
        Call::CreateXml => "CreateXML",
        Call::Op(op) => op.api_name(),
        Call::Query(query) => query.api_name(),
        Call::XmlDesc => "GetXMLDesc",
        Call::Parent => "GetParent",
    };
    Error::no_support(descriptor.error_domain, &format!("{}{what}", descriptor.api_prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::protocol::{procedure as declared, REMOTE_PROGRAM};

    fn bytes(body: &dyn Body) -> Vec<u8> {
        let mut e = Encoder::new();
        body.encode_body(&mut e);
        e.into_bytes()
    }

    fn decoded<T>(bytes: &[u8], decode: impl FnOnce(&mut Decoder<'_>) -> XdrResult<T>) -> T {
        let mut d = Decoder::new(bytes);
        let value = decode(&mut d).unwrap();
        d.finish().unwrap();
        value
    }

    /// Every row's arguments and reply, as this module writes them, are
    /// what the per-class declarations of `rpc::protocol` read, and read
    /// back as written.
    #[test]
    fn every_row_matches_its_declared_bodies() {
        let uuid = Uuid::from_name("x");
        for row in ROWS {
            let Row(class, call, number, flags) = *row;
            let object = ObjectIdentity::named("obj", if has_uuid(class) { uuid } else { Uuid([0; 16]) });
            let flag = flags.then_some(5);
            let args = match call {
                Call::LookupByName => Args::Name("obj".into()),
                Call::LookupByUuid => Args::Uuid(uuid),
                Call::ListAll => Args::List { need_results: true, flags: 3 },
                Call::DefineXml | Call::CreateXml => Args::Xml { xml: "<x/>".into(), flags: flag },
                _ => Args::Object { object: object.clone(), flags: flag },
            };
            let ret = match call {
                Call::LookupByName | Call::LookupByUuid | Call::DefineXml | Call::CreateXml => {
                    Ret::Object(object.clone())
                }
                Call::ListAll => Ret::List(vec![object.clone(), object.clone()], 2),
                Call::Op(_) => Ret::Nothing,
                Call::Query(_) => Ret::Bool(true),
                Call::XmlDesc => Ret::Text("<x/>".into()),
                Call::Parent => Ret::Parent(Some("computer".into())),
            };
            let declared = declared(REMOTE_PROGRAM, number).expect("declared");
            let (args_bytes, ret_bytes) =
                (bytes(&Wire { class, body: args.clone() }), bytes(&Wire { class, body: ret.clone() }));
            (declared.args)(&args_bytes).unwrap_or_else(|e| panic!("{}: {e}", declared.name));
            (declared.ret)(&ret_bytes).unwrap_or_else(|e| panic!("{}: {e}", declared.name));
            assert_eq!(decoded(&args_bytes, |d| decode_args(class, call, flags, d)), args, "{}", declared.name);
            let back = decoded(&ret_bytes, |d| {
                Ok(match call {
                    Call::LookupByName | Call::LookupByUuid | Call::DefineXml | Call::CreateXml => {
                        Ret::Object(decode_object(class, d)?)
                    }
                    Call::ListAll => decode_list(class, d).map(|(objects, count)| Ret::List(objects, count))?,
                    Call::Op(_) => Ret::Nothing,
                    Call::Query(_) => Ret::Bool(d.i32()? != 0),
                    Call::XmlDesc => Ret::Text(String::decode(d)?),
                    Call::Parent => Ret::Parent(Option::<String>::decode(d)?),
                })
            });
            assert_eq!(back, ret, "{}", declared.name);
            assert_eq!(procedure(class, call), Some((number, flags)));
            assert_eq!(call_of(number), Some((class, call, flags)));
        }
    }
}
