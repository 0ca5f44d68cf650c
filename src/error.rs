//! libvirt-style errors: a code, the domain (subsystem) that raised it, and a
//! message built the way libvirt builds it, so that callers comparing codes,
//! domains or texts see what real libvirt 9.0 reports.

use std::fmt;

pub use crate::abi::error::{virErrorDomain as ErrorDomain, virErrorNumber as ErrorCode};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub domain: ErrorDomain,
    pub message: String,
    /// libvirt's extra strings: the message template and its argument for
    /// most errors, the function and argument name for argument checks.
    pub str1: Option<String>,
    pub str2: Option<String>,
    pub int1: i32,
}

pub type Result<T> = std::result::Result<T, Error>;

/// The fixed text libvirt puts in front of the detail for `code`.
fn template(code: ErrorCode) -> (&'static str, &'static str) {
    use ErrorCode::*;
    // (text without detail, template with one %s)
    match code {
        VIR_ERR_INTERNAL_ERROR => ("internal error", "internal error: %s"),
        VIR_ERR_NO_MEMORY => ("out of memory", "out of memory: %s"),
        VIR_ERR_NO_SUPPORT => (
            "this function is not supported by the connection driver",
            "this function is not supported by the connection driver: %s",
        ),
        VIR_ERR_AUTH_FAILED => ("authentication failed", "authentication failed: %s"),
        VIR_ERR_NO_CONNECT => ("no connection driver available", "no connection driver available for %s"),
        VIR_ERR_INVALID_CONN => ("invalid connection pointer in", "invalid connection pointer in %s"),
        VIR_ERR_INVALID_DOMAIN => ("invalid domain pointer in", "invalid domain pointer in %s"),
        VIR_ERR_INVALID_NETWORK => ("invalid network pointer in", "invalid network pointer in %s"),
        VIR_ERR_INVALID_STORAGE_POOL => ("invalid storage pool pointer in", "invalid storage pool pointer in %s"),
        VIR_ERR_INVALID_NODE_DEVICE => ("invalid node device pointer in", "invalid node device pointer in %s"),
        VIR_ERR_INVALID_SECRET => ("Invalid secret", "Invalid secret: %s"),
        VIR_ERR_INVALID_STORAGE_VOL => ("invalid storage volume pointer in", "invalid storage volume pointer in %s"),
        VIR_ERR_INVALID_INTERFACE => ("invalid interface pointer in", "invalid interface pointer in %s"),
        VIR_ERR_INVALID_DOMAIN_SNAPSHOT => ("Invalid domain snapshot", "Invalid domain snapshot: %s"),
        VIR_ERR_INVALID_DOMAIN_CHECKPOINT => ("Invalid domain checkpoint", "Invalid domain checkpoint: %s"),
        VIR_ERR_INVALID_NWFILTER => ("Invalid network filter", "Invalid network filter: %s"),
        VIR_ERR_INVALID_NWFILTER_BINDING => ("Invalid network filter binding", "Invalid network filter binding: %s"),
        VIR_ERR_INVALID_NETWORK_PORT => ("Invalid network port pointer", "Invalid network port pointer: %s"),
        VIR_ERR_INVALID_STREAM => ("invalid stream pointer in", "invalid stream pointer in %s"),
        VIR_ERR_INVALID_ARG => ("invalid argument", "invalid argument: %s"),
        VIR_ERR_ARGUMENT_UNSUPPORTED => ("argument unsupported", "argument unsupported: %s"),
        VIR_ERR_OPERATION_FAILED => ("operation failed", "operation failed: %s"),
        VIR_ERR_OPERATION_UNSUPPORTED => ("Operation not supported", "Operation not supported: %s"),
        VIR_ERR_XML_ERROR => ("XML description is invalid or not well formed", "XML error: %s"),
        VIR_ERR_NO_NAME => ("missing name information", "missing name information in %s"),
        VIR_ERR_OPERATION_INVALID => ("Requested operation is not valid", "Requested operation is not valid: %s"),
        VIR_ERR_OPERATION_DENIED => ("operation forbidden for read only access", "operation forbidden: %s"),
        VIR_ERR_NO_DOMAIN => ("Domain not found", "Domain not found: %s"),
        VIR_ERR_NO_NETWORK => ("Network not found", "Network not found: %s"),
        VIR_ERR_NO_STORAGE_POOL => ("Storage pool not found", "Storage pool not found: %s"),
        VIR_ERR_NO_NODE_DEVICE => ("Node device not found", "Node device not found: %s"),
        VIR_ERR_CONFIG_UNSUPPORTED => ("unsupported configuration", "unsupported configuration: %s"),
        VIR_ERR_OVERFLOW => ("numerical overflow", "numerical overflow: %s"),
        VIR_ERR_OPERATION_TIMEOUT => ("Timed out during operation", "Timed out during operation: %s"),
        VIR_ERR_SYSTEM_ERROR => ("", "%s"),
        VIR_ERR_RPC => ("RPC error", "%s"),
        // The parser's own report, passed on as it is.
        VIR_ERR_XML_DETAIL => ("parser error", "%s"),
        VIR_ERR_NO_DOMAIN_METADATA => ("metadata not found", "metadata not found: %s"),
        VIR_ERR_NO_DOMAIN_SNAPSHOT => ("Domain snapshot not found", "Domain snapshot not found: %s"),
        _ => ("error", "error: %s"),
    }
}

impl Error {
    /// An error whose message is libvirt's text for `code`, followed by
    /// `detail` when there is one.
    pub fn new(code: ErrorCode, domain: ErrorDomain, detail: Option<String>) -> Error {
        let (bare, with_detail) = template(code);
        match detail {
            Some(detail) => Error {
                code,
                domain,
                message: with_detail.replacen("%s", &detail, 1),
                str1: Some(with_detail.to_string()),
                str2: Some(detail),
                int1: -1,
            },
            None => {
                Error { code, domain, message: bare.to_string(), str1: Some(bare.to_string()), str2: None, int1: -1 }
            }
        }
    }

    /// libvirt's system error: `what`, then the text of `errno` ("Success"
    /// for 0).
    pub fn system(domain: ErrorDomain, what: impl std::fmt::Display, errno: i32) -> Error {
        let detail = format!("{what}: {}", crate::sys::error_text(errno));
        Error::new(ErrorCode::VIR_ERR_SYSTEM_ERROR, domain, Some(detail))
    }

    pub fn internal(domain: ErrorDomain, detail: impl Into<String>) -> Error {
        Error::new(ErrorCode::VIR_ERR_INTERNAL_ERROR, domain, Some(detail.into()))
    }

    /// "invalid argument: ..." (a semantic check, as opposed to `arg_check`).
    pub fn invalid_arg(domain: ErrorDomain, detail: impl Into<String>) -> Error {
        Error::new(ErrorCode::VIR_ERR_INVALID_ARG, domain, Some(detail.into()))
    }

    pub fn operation_invalid(domain: ErrorDomain, detail: impl Into<String>) -> Error {
        Error::new(ErrorCode::VIR_ERR_OPERATION_INVALID, domain, Some(detail.into()))
    }

    pub fn no_domain(domain: ErrorDomain) -> Error {
        Error::new(ErrorCode::VIR_ERR_NO_DOMAIN, domain, None)
    }

    /// `function` refused on a read-only connection.
    pub fn read_only(domain: ErrorDomain, function: &str) -> Error {
        Error::new(ErrorCode::VIR_ERR_OPERATION_DENIED, domain, Some(format!("read only access prevents {function}")))
    }

    pub fn no_support(domain: ErrorDomain, function: &str) -> Error {
        Error::new(ErrorCode::VIR_ERR_NO_SUPPORT, domain, Some(function.to_string()))
    }

    /// libvirtd's answer to an authentication step it did not offer.
    pub fn auth_failed() -> Error {
        Error::new(ErrorCode::VIR_ERR_AUTH_FAILED, ErrorDomain::VIR_FROM_RPC, Some("authentication failed".into()))
    }

    pub fn config_unsupported(domain: ErrorDomain, detail: impl Into<String>) -> Error {
        Error::new(ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, domain, Some(detail.into()))
    }

    /// `document` (libvirt's name for it, e.g. `domain_definition`) is not
    /// well-formed XML: libvirt reports libxml2's parser errors as
    /// `VIR_ERR_XML_DETAIL`, prefixed with the document's name.
    pub fn xml_syntax(domain: ErrorDomain, document: &str, detail: impl std::fmt::Display) -> Error {
        Error::new(ErrorCode::VIR_ERR_XML_DETAIL, domain, Some(format!("({document}): {detail}")))
    }

    pub fn xml(domain: ErrorDomain, detail: impl Into<String>) -> Error {
        Error::new(ErrorCode::VIR_ERR_XML_ERROR, domain, Some(detail.into()))
    }

    pub fn invalid_conn(domain: ErrorDomain, function: &str) -> Error {
        Error::new(ErrorCode::VIR_ERR_INVALID_CONN, domain, Some(function.to_string()))
    }

    pub fn invalid_domain(function: &str) -> Error {
        Error::new(ErrorCode::VIR_ERR_INVALID_DOMAIN, ErrorDomain::VIR_FROM_DOM, Some(function.to_string()))
    }

    /// A failed public-API argument check: the message is the whole text, with
    /// no "invalid argument:" prefix, as libvirt's argument checks report.
    pub fn arg_check(function: &str, argument: &str, message: impl Into<String>) -> Error {
        Error {
            code: ErrorCode::VIR_ERR_INVALID_ARG,
            domain: ErrorDomain::VIR_FROM_DOMAIN,
            message: message.into(),
            str1: Some(function.to_string()),
            str2: Some(argument.to_string()),
            int1: 0,
        }
    }

    /// The same error, reported by another subsystem.
    pub fn in_domain(self, domain: ErrorDomain) -> Error {
        Error { domain, ..self }
    }

    /// "ARG in FUNCTION must be NULL".
    pub fn arg_not_null(function: &str, argument: &str) -> Error {
        Error::arg_check(function, argument, format!("{argument} in {function} must be NULL"))
    }

    /// "ARG in FUNCTION must not be NULL".
    pub fn null_arg(function: &str, argument: &str) -> Error {
        Error::arg_check(function, argument, format!("{argument} in {function} must not be NULL"))
    }

    /// libvirt's check of an argument that must not be negative.
    pub fn negative_arg(function: &str, argument: &str) -> Error {
        Error::arg_check(function, argument, format!("{argument} in {function} must be zero or greater"))
    }

    /// libvirt's check of an argument that must be positive.
    pub fn not_positive_arg(function: &str, argument: &str) -> Error {
        Error::arg_check(function, argument, format!("{argument} in {function} must be greater than zero"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_libvirt_templates() {
        let e = Error::internal(ErrorDomain::VIR_FROM_NONE, "could not initialize domain event timer");
        assert_eq!(e.message, "internal error: could not initialize domain event timer");
        assert_eq!(Error::no_domain(ErrorDomain::VIR_FROM_TEST).message, "Domain not found");
        assert_eq!(
            Error::invalid_conn(ErrorDomain::VIR_FROM_DOMAIN, "virConnectRef").message,
            "invalid connection pointer in virConnectRef"
        );
        assert_eq!(
            Error::null_arg("virConnectDomainEventRegisterAny", "cb").message,
            "cb in virConnectDomainEventRegisterAny must not be NULL"
        );
        assert_eq!(
            Error::read_only(ErrorDomain::VIR_FROM_DOMAIN, "virDomainSuspend").message,
            "operation forbidden: read only access prevents virDomainSuspend"
        );
    }
}
