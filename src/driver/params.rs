//! Typed parameters an application passes to a setter, and libvirt's check
//! of them against what a driver function takes (`virTypedParamsValidate`).

use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::event::TypedValue;

/// A typed parameter as the application gave it: its value, or the number
/// of a type libvirt does not know.
#[derive(Clone, Debug, PartialEq)]
pub struct GivenParam {
    pub name: String,
    pub value: std::result::Result<TypedValue, i32>,
}

/// The `virTypedParameterType` numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    Int = 1,
    UInt,
    LLong,
    ULLong,
    Double,
    Boolean,
    String,
}

impl ParamType {
    fn of(value: &TypedValue) -> ParamType {
        match value {
            TypedValue::Int(_) => ParamType::Int,
            TypedValue::UInt(_) => ParamType::UInt,
            TypedValue::LLong(_) => ParamType::LLong,
            TypedValue::ULLong(_) => ParamType::ULLong,
            TypedValue::Double(_) => ParamType::Double,
            TypedValue::Boolean(_) => ParamType::Boolean,
            TypedValue::String(_) => ParamType::String,
        }
    }

    /// libvirt's name for the type, as its messages show it.
    fn name(self) -> &'static str {
        match self {
            ParamType::Int => "int",
            ParamType::UInt => "uint",
            ParamType::LLong => "llong",
            ParamType::ULLong => "ullong",
            ParamType::Double => "double",
            ParamType::Boolean => "boolean",
            ParamType::String => "string",
        }
    }
}

/// libvirt's check of `params` against the names and types a function
/// takes, each at most once: the parameters are looked at in the order of
/// their names, and the first that is repeated, of another type or unknown
/// is reported.
pub fn validate(params: &[GivenParam], allowed: &[(&str, ParamType)]) -> Result<()> {
    let mut sorted: Vec<&GivenParam> = params.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut previous: Option<&str> = None;
    for param in sorted {
        let Some(&(_, expected)) = allowed.iter().find(|(name, _)| *name == param.name) else {
            let detail = format!("parameter '{}' not supported", param.name);
            return Err(Error::new(ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED, ErrorDomain::VIR_FROM_NONE, Some(detail)));
        };
        if previous == Some(param.name.as_str()) {
            let detail = format!("parameter '{}' occurs multiple times", param.name);
            return Err(Error::invalid_arg(ErrorDomain::VIR_FROM_NONE, detail));
        }
        let given = param.value.as_ref().ok().map(ParamType::of);
        if given != Some(expected) {
            let given = given.map_or("unknown", ParamType::name);
            let detail =
                format!("invalid type '{given}' for parameter '{}', expected '{}'", param.name, expected.name());
            return Err(Error::invalid_arg(ErrorDomain::VIR_FROM_NONE, detail));
        }
        previous = Some(&param.name);
    }
    Ok(())
}

/// `VIR_TYPED_PARAM_STRING_OKAY`: libvirt's public getters of typed
/// parameters add it to the flags when the driver takes string parameters,
/// as every driver here does.
const STRING_OKAY: u32 = 4;

/// The flags `virDomainGetSchedulerParametersFlags` hands its driver: its
/// check that live and config are not both asked for, then `STRING_OKAY`.
pub fn scheduler_getter_flags(function: &str, flags: u32) -> Result<u32> {
    use crate::abi::common::virDomainModificationImpact::{VIR_DOMAIN_AFFECT_CONFIG, VIR_DOMAIN_AFFECT_LIVE};
    let live = (VIR_DOMAIN_AFFECT_LIVE as u32, "VIR_DOMAIN_AFFECT_LIVE");
    super::exclusive_flags(function, flags, live, (VIR_DOMAIN_AFFECT_CONFIG as u32, "VIR_DOMAIN_AFFECT_CONFIG"))?;
    Ok(flags | STRING_OKAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uint(name: &str) -> GivenParam {
        GivenParam { name: name.into(), value: Ok(TypedValue::UInt(1)) }
    }

    const WEIGHT: &[(&str, ParamType)] = &[("weight", ParamType::UInt)];

    #[test]
    fn validates_as_libvirt() {
        assert!(validate(&[], WEIGHT).is_ok());
        assert!(validate(&[uint("weight")], WEIGHT).is_ok());
        let error = validate(&[uint("weight"), uint("cap")], WEIGHT).unwrap_err();
        assert_eq!((error.code, error.domain), (ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED, ErrorDomain::VIR_FROM_NONE));
        assert_eq!(error.message, "argument unsupported: parameter 'cap' not supported");
        let error = validate(&[uint("weight"), uint("weight")], WEIGHT).unwrap_err();
        assert_eq!(error.message, "invalid argument: parameter 'weight' occurs multiple times");
        let int = GivenParam { name: "weight".into(), value: Ok(TypedValue::Int(1)) };
        let error = validate(&[int], WEIGHT).unwrap_err();
        assert_eq!(error.message, "invalid argument: invalid type 'int' for parameter 'weight', expected 'uint'");
        let unknown = GivenParam { name: "weight".into(), value: Err(99) };
        let error = validate(&[unknown], WEIGHT).unwrap_err();
        assert_eq!(error.message, "invalid argument: invalid type 'unknown' for parameter 'weight', expected 'uint'");
    }
}
