//! The daemon's procedures for the host answers, whether a domain is active
//! or persistent, saving and restoring, managed save, memory and vCPU counts
//! and the domain flag variants: each runs the driver call of the libvirt
//! function it stands for. Changes are refused to read-only clients and run
//! on the worker thread, as the other domain changes are.

use super::*;
use crate::rpc::xdr::CharArray;

/// A change a procedure asks of the driver, run on the worker thread.
pub(super) type Change = Box<dyn FnOnce(&dyn Driver) -> crate::error::Result<Box<dyn Body>> + Send>;

/// A driver call's answer: its reply, or its error.
pub(super) fn reply(result: crate::error::Result<Box<dyn Body>>) -> Outcome {
    match result {
        Ok(ret) => Outcome::Reply(ret),
        Err(e) => Outcome::Error(e),
    }
}

/// A procedure of these tables being dispatched, for a client.
pub(super) struct Ops<'a> {
    pub server: &'a Server,
    pub client: u64,
    pub header: &'a Header,
    pub read_only: bool,
    pub driver: &'a Arc<dyn Driver>,
}

impl Ops<'_> {
    /// The libvirt function the procedure stands for.
    pub fn function(&self) -> &'static str {
        function_name(REMOTE_PROGRAM, self.header.procedure).unwrap_or_default()
    }

    /// Runs `call` on the worker thread, unless the client is read-only
    /// (refused in the error domain `family`).
    pub fn change(&self, family: ErrorDomain, call: Change) -> Outcome {
        if self.read_only {
            return Error::read_only(family, self.function()).into();
        }
        let driver = self.driver.clone();
        self.server.defer(self.client, self.header, move || call(driver.as_ref()))
    }
}

impl Server {
    /// `None` for a procedure not among these.
    pub(super) fn dispatch_domain_ops(
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
        let ops = Ops { server: self, client, header, read_only, driver };
        let function = ops.function();
        let read = reply;
        let change = |call: Change| ops.change(ErrorDomain::VIR_FROM_DOMAIN, call);
        let string = |value: crate::error::Result<String>| read(value.map(|value| boxed(StringRet { value })));
        let done = |_: ()| boxed(());
        let outcome = match header.procedure {
            CONNECT_GET_TYPE => {
                args!(());
                string(driver.hypervisor_type())
            }
            CONNECT_GET_VERSION => {
                args!(());
                read(driver.hypervisor_version().map(|value| boxed(HyperRet { value })))
            }
            CONNECT_GET_HOSTNAME => {
                args!(());
                string(driver.hostname())
            }
            CONNECT_GET_CAPABILITIES => {
                args!(());
                string(driver.capabilities())
            }
            NODE_GET_INFO => {
                args!(());
                read(driver.node_info().map(|node| {
                    let mut model = [0u8; 32];
                    for (slot, byte) in model.iter_mut().zip(node.model.bytes().take(31)) {
                        *slot = byte;
                    }
                    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
                    boxed(NodeGetInfoRet {
                        model: CharArray(model),
                        memory: node.memory_kib,
                        cpus: int(node.cpus),
                        mhz: int(node.mhz),
                        nodes: int(node.nodes),
                        sockets: int(node.sockets),
                        cores: int(node.cores),
                        threads: int(node.threads),
                    })
                }))
            }
            CONNECT_GET_MAX_VCPUS => {
                let virt_type = args!(ConnectGetMaxVcpusArgs).virt_type;
                read(driver.max_vcpus(virt_type.as_deref()).map(|value| boxed(IntRet { value })))
            }
            DOMAIN_IS_UPDATED => {
                let updated = driver.is_updated(&domain_identity(&args!(DomainArg).dom));
                read(updated.map(|updated| boxed(IntRet { value: i32::from(updated) })))
            }
            DOMAIN_GET_OS_TYPE => string(driver.os_type(&domain_identity(&args!(DomainArg).dom))),
            DOMAIN_GET_AUTOSTART => {
                let dom = domain_identity(&args!(DomainArg).dom);
                read(driver.autostart(&dom).map(|on| boxed(IntRet { value: i32::from(on) })))
            }
            DOMAIN_GET_MAX_VCPUS | DOMAIN_GET_VCPUS_FLAGS => {
                let (dom, flags) = if header.procedure == DOMAIN_GET_MAX_VCPUS {
                    // VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM
                    (args!(DomainArg).dom, 1 | 4)
                } else {
                    let args = args!(DomainFlagsArgs);
                    (args.dom, args.flags)
                };
                read(driver.vcpus(&domain_identity(&dom), flags, function).map(|value| boxed(IntRet { value })))
            }
            DOMAIN_IS_ACTIVE => {
                let state = driver.state(&domain_identity(&args!(DomainArg).dom), 0);
                let shutoff = crate::abi::common::virDomainState::VIR_DOMAIN_SHUTOFF as i32;
                read(state.map(|s| boxed(IntRet { value: i32::from(s.state != shutoff) })))
            }
            DOMAIN_IS_PERSISTENT => {
                let persistent = driver.is_persistent(&domain_identity(&args!(DomainArg).dom));
                read(persistent.map(|p| boxed(IntRet { value: i32::from(p) })))
            }
            DOMAIN_HAS_MANAGED_SAVE_IMAGE => {
                let args = args!(DomainFlagsArgs);
                let has = driver.has_managed_save(&domain_identity(&args.dom), args.flags);
                read(has.map(|has| boxed(IntRet { value: i32::from(has) })))
            }
            DOMAIN_SAVE => {
                let args = args!(DomainSaveArgs);
                change(Box::new(move |d| d.save(&domain_identity(&args.dom), &args.to, None, 0, function).map(done)))
            }
            DOMAIN_SAVE_FLAGS => {
                let args = args!(DomainSaveFlagsArgs);
                change(Box::new(move |d| {
                    let dom = domain_identity(&args.dom);
                    d.save(&dom, &args.to, args.dxml.as_deref(), args.flags, function).map(done)
                }))
            }
            DOMAIN_RESTORE => {
                let args = args!(DomainRestoreArgs);
                change(Box::new(move |d| d.restore(&args.from, None, 0, function).map(done)))
            }
            DOMAIN_RESTORE_FLAGS => {
                let args = args!(DomainRestoreFlagsArgs);
                change(Box::new(move |d| d.restore(&args.from, args.dxml.as_deref(), args.flags, function).map(done)))
            }
            DOMAIN_SET_MEMORY | DOMAIN_SET_MAX_MEMORY => {
                let args = args!(DomainMemoryArgs);
                // What virDomainSetMemory and virDomainSetMaxMemory ask of the
                // driver: VIR_DOMAIN_AFFECT_LIVE, VIR_DOMAIN_MEM_MAXIMUM.
                let flags = if header.procedure == DOMAIN_SET_MEMORY { 1 } else { 4 };
                change(Box::new(move |d| {
                    d.set_memory(&domain_identity(&args.dom), args.memory, flags, function).map(done)
                }))
            }
            DOMAIN_SET_MEMORY_FLAGS => {
                let args = args!(DomainMemoryFlagsArgs);
                change(Box::new(move |d| {
                    d.set_memory(&domain_identity(&args.dom), args.memory, args.flags, function).map(done)
                }))
            }
            DOMAIN_SET_VCPUS => {
                let args = args!(DomainVcpusArgs);
                // virDomainSetVcpus is VIR_DOMAIN_AFFECT_LIVE.
                change(Box::new(move |d| d.set_vcpus(&domain_identity(&args.dom), args.nvcpus, 1, function).map(done)))
            }
            DOMAIN_SET_VCPUS_FLAGS => {
                let args = args!(DomainVcpusFlagsArgs);
                change(Box::new(move |d| {
                    d.set_vcpus(&domain_identity(&args.dom), args.nvcpus, args.flags, function).map(done)
                }))
            }
            DOMAIN_MANAGED_SAVE
            | DOMAIN_MANAGED_SAVE_REMOVE
            | DOMAIN_DESTROY_FLAGS
            | DOMAIN_SHUTDOWN_FLAGS
            | DOMAIN_UNDEFINE_FLAGS => {
                let args = args!(DomainFlagsArgs);
                let procedure = header.procedure;
                change(Box::new(move |d| {
                    let (dom, flags) = (domain_identity(&args.dom), args.flags);
                    match procedure {
                        DOMAIN_MANAGED_SAVE => d.managed_save(&dom, flags),
                        DOMAIN_MANAGED_SAVE_REMOVE => d.managed_save_remove(&dom, flags),
                        DOMAIN_DESTROY_FLAGS => d.destroy_flags(&dom, flags),
                        DOMAIN_SHUTDOWN_FLAGS => d.shutdown_flags(&dom, flags),
                        _ => d.undefine_flags(&dom, flags),
                    }
                    .map(done)
                }))
            }
            DOMAIN_CREATE_WITH_FLAGS => {
                let args = args!(DomainFlagsArgs);
                change(Box::new(move |d| {
                    let dom = domain_identity(&args.dom);
                    d.create_with_flags(&dom, args.flags)?;
                    // The reply carries the domain's new ID.
                    Ok(boxed(DomainArg { dom: nonnull_domain(&d.refresh(&dom)?) }))
                }))
            }
            DOMAIN_DEFINE_XML_FLAGS => {
                let args = args!(CreateXmlArgs);
                change(Box::new(move |d| {
                    let dom = d.define_xml_flags(&args.xml_desc, args.flags)?;
                    Ok(boxed(DomainArg { dom: nonnull_domain(&dom) }))
                }))
            }
            _ => return None,
        };
        Some(outcome)
    }
}
