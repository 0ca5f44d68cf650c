//! Which of a domain's definitions `virDomainModificationImpact` flags
//! name, with libvirt's refusals, for every driver that keeps a live and a
//! persistent definition.

use crate::abi::common::virDomainModificationImpact as Impact;
use crate::error::{Error, ErrorDomain, Result};

const AFFECT_LIVE: u32 = Impact::VIR_DOMAIN_AFFECT_LIVE as u32;
const AFFECT_CONFIG: u32 = Impact::VIR_DOMAIN_AFFECT_CONFIG as u32;

/// Whether `flags` name the live and the persistent definition of a domain
/// that is `active` and `persistent` or not: CURRENT means the live one
/// while it runs and the persistent one otherwise; the live one needs a
/// running domain, the persistent one a persistent domain.
pub fn definitions(flags: u32, active: bool, persistent: bool) -> Result<(bool, bool)> {
    let (live, config) = match flags & (AFFECT_LIVE | AFFECT_CONFIG) {
        0 => (active, !active),
        both => (both & AFFECT_LIVE != 0, both & AFFECT_CONFIG != 0),
    };
    if live && !active {
        return Err(Error::operation_invalid(ErrorDomain::VIR_FROM_DOMAIN, "domain is not running"));
    }
    if config && !persistent {
        return Err(Error::operation_invalid(
            ErrorDomain::VIR_FROM_DOMAIN,
            "transient domains do not have any persistent config",
        ));
    }
    Ok((live, config))
}

/// Whether the one definition `flags` name is the live one (LIVE and
/// CONFIG together are refused), as libvirt's `virDomainObjGetOneDefState`.
pub fn one_definition_is_live(flags: u32, active: bool, persistent: bool) -> Result<bool> {
    let live = (AFFECT_LIVE, "VIR_DOMAIN_AFFECT_LIVE");
    super::exclusive_flags("virDomainObjGetOneDefState", flags, live, (AFFECT_CONFIG, "VIR_DOMAIN_AFFECT_CONFIG"))?;
    definitions(flags, active, persistent).map(|(live, _)| live)
}
