//! The daemon's procedures for the host's free memory, a domain's scheduler
//! and its memory, disk and interface statistics. libvirtd checks what the
//! protocol carries first (its limits, in its words), then calls the public
//! function, whose argument checks run again on the server: those a client
//! could get past by writing the message itself are made here too, in the
//! same order, before the driver call.

use super::*;
use crate::driver::params::{self, GivenParam};

/// The longest name a `virTypedParameter` holds (`VIR_TYPED_PARAM_FIELD_LENGTH`
/// less its terminating NUL).
const PARAM_NAME_MAX: usize = 79;

/// libvirtd's check of the room a scheduler getter's caller says it has,
/// then the public function's checks of what the server makes of it (no
/// room: no array). A negative count, which would abort libvirtd's
/// allocation, gets the public function's answer.
fn scheduler_room(function: &str, nparams: i32) -> crate::error::Result<usize> {
    if nparams > SCHEDULER_PARAMETERS_MAX as i32 {
        return Err(Error::internal(ErrorDomain::VIR_FROM_RPC, "nparams too large"));
    }
    match usize::try_from(nparams) {
        Ok(0) => Err(Error::null_arg(function, "params")),
        Ok(room) => Ok(room),
        Err(_) => Err(Error::not_positive_arg(function, "*nparams")),
    }
}

/// The parameters a setter received, as libvirtd copies them into
/// `virTypedParameter`s (whose names have a fixed size).
fn given_params(params: &[TypedParam]) -> crate::error::Result<Vec<GivenParam>> {
    params
        .iter()
        .map(|param| {
            if param.field.len() > PARAM_NAME_MAX {
                let detail = format!("parameter {} too big for destination", param.field);
                return Err(Error::internal(ErrorDomain::VIR_FROM_NONE, detail));
            }
            Ok(GivenParam { name: param.field.clone(), value: Ok(crate::event::TypedParam::from(param).value) })
        })
        .collect()
}

/// `None` for a procedure not among these.
pub(super) fn dispatch(ops: &ops::Ops<'_>, body: &[u8]) -> Option<Outcome> {
    macro_rules! args {
        ($ty:ty) => {
            decode_or_refuse!(ops.header, body, $ty)
        };
    }
    use remote::*;
    let (header, driver, function, read) = (ops.header, ops.driver, ops.function(), ops::reply);
    let outcome = match header.procedure {
        NODE_GET_FREE_MEMORY => {
            args!(());
            read(driver.free_memory().map(|value| boxed(HyperRet { value })))
        }
        NODE_GET_CELLS_FREE_MEMORY => {
            let args = args!(NodeGetCellsFreeMemoryArgs);
            read(cells_free_memory(driver.as_ref(), function, args.start_cell, args.maxcells))
        }
        DOMAIN_GET_SCHEDULER_TYPE => {
            let dom = domain_identity(&args!(DomainArg).dom);
            read(driver.scheduler_type(&dom).map(|(kind, nparams)| boxed(SchedulerTypeRet { kind, nparams })))
        }
        DOMAIN_GET_SCHEDULER_PARAMETERS | DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS => {
            let (dom, nparams, flags) = if header.procedure == DOMAIN_GET_SCHEDULER_PARAMETERS {
                let args = args!(SchedulerParametersArgs);
                (args.dom, args.nparams, None)
            } else {
                let args = args!(SchedulerParametersFlagsArgs);
                (args.dom, args.nparams, Some(args.flags))
            };
            read(scheduler_parameters(driver.as_ref(), function, &domain_identity(&dom), nparams, flags))
        }
        DOMAIN_SET_SCHEDULER_PARAMETERS | DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS => {
            let (dom, params, flags) = if header.procedure == DOMAIN_SET_SCHEDULER_PARAMETERS {
                let args = args!(SetSchedulerParametersArgs);
                (args.dom, args.params, 0)
            } else {
                let args = args!(SetSchedulerParametersFlagsArgs);
                (args.dom, args.params, args.flags)
            };
            let given = match given_params(&params.0) {
                Ok(given) => given,
                Err(e) => return Some(e.into()),
            };
            ops.change(
                ErrorDomain::VIR_FROM_DOMAIN,
                Box::new(move |d| {
                    if given.is_empty() {
                        return Err(Error::null_arg(function, "params"));
                    }
                    d.set_scheduler_parameters(&domain_identity(&dom), &given, flags, function)?;
                    Ok(boxed(()))
                }),
            )
        }
        DOMAIN_MEMORY_STATS => {
            let args = args!(MemoryStatsArgs);
            read(memory_stats(driver.as_ref(), &domain_identity(&args.dom), args.max_stats, args.flags))
        }
        DOMAIN_BLOCK_STATS => {
            let args = args!(DomainDeviceArgs);
            let stats = driver.block_stats(&domain_identity(&args.dom), &args.device);
            read(stats.map(|stats| boxed(BlockStatsRet::from(stats))))
        }
        DOMAIN_INTERFACE_STATS => {
            let args = args!(DomainDeviceArgs);
            let stats = driver.interface_stats(&domain_identity(&args.dom), &args.device);
            read(stats.map(|stats| boxed(InterfaceStatsRet::from(stats))))
        }
        _ => return None,
    };
    Some(outcome)
}

/// `virNodeGetCellsFreeMemory` as libvirtd serves it: the protocol's limit
/// and sign checks, then the public function's.
fn cells_free_memory(
    driver: &dyn Driver,
    function: &str,
    start_cell: i32,
    maxcells: i32,
) -> crate::error::Result<Box<dyn Body>> {
    if maxcells > NODE_MAX_CELLS as i32 {
        return Err(rpc_error(ErrorCode::VIR_ERR_RPC, "maxcells > REMOTE_NODE_MAX_CELLS".into()));
    }
    let max = usize::try_from(maxcells)
        .map_err(|_| rpc_error(ErrorCode::VIR_ERR_RPC, "maxcells must be non-negative".into()))?;
    if max == 0 {
        return Err(Error::not_positive_arg(function, "maxCells"));
    }
    let start = usize::try_from(start_cell).map_err(|_| Error::negative_arg(function, "startCell"))?;
    let mut cells = driver.cells_free_memory(start, max)?;
    cells.truncate(max);
    Ok(boxed(NodeGetCellsFreeMemoryRet { cells: Array(cells) }))
}

/// Either scheduler getter (`flags` is `None` for the one without): at
/// most as many parameters as the caller has room for.
fn scheduler_parameters(
    driver: &dyn Driver,
    function: &str,
    dom: &crate::event::DomainIdentity,
    nparams: i32,
    flags: Option<u32>,
) -> crate::error::Result<Box<dyn Body>> {
    let room = scheduler_room(function, nparams)?;
    let flags = match flags {
        Some(flags) => params::scheduler_getter_flags(function, flags)?,
        None => 0,
    };
    let mut found = driver.scheduler_parameters(dom, flags, room, function)?;
    found.truncate(room);
    Ok(boxed(SchedulerParametersRet { params: Array(found.iter().map(TypedParam::from).collect()) }))
}

/// `virDomainMemoryStats` as libvirtd serves it: the protocol's limit, then
/// the public function's answer to no room (none) and its cap.
fn memory_stats(
    driver: &dyn Driver,
    dom: &crate::event::DomainIdentity,
    max_stats: u32,
    flags: u32,
) -> crate::error::Result<Box<dyn Body>> {
    if max_stats > MEMORY_STATS_MAX {
        return Err(Error::internal(ErrorDomain::VIR_FROM_RPC, "maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX"));
    }
    if max_stats == 0 {
        return Ok(boxed(MemoryStatsRet { stats: Array(vec![]) }));
    }
    let max = (max_stats as usize).min(crate::driver::MEMORY_STAT_NR);
    let found = driver.memory_stats(dom, max, flags)?;
    let stats = found.into_iter().take(max).map(|(tag, val)| MemoryStat { tag, val }).collect();
    Ok(boxed(MemoryStatsRet { stats: Array(stats) }))
}
