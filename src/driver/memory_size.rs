//! Memory sizes in a domain definition (`<memory>`, `<currentMemory>`,
//! `<maxMemory>`), read with libvirt 9.0's rules and errors: a decimal
//! value scaled by the element's `unit` (KiB when it has none), rounded up
//! to whole KiB, at most libvirt's "unlimited" of 2^53 - 1 KiB.

use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::xml::{Element, Node};

/// The largest size libvirt accepts, in KiB (`VIR_DOMAIN_MEMORY_PARAM_UNLIMITED`).
const MAX_KIB: u64 = (1 << 53) - 1;

/// The size `element` of `def` gives, in KiB; `None` when it is absent or
/// empty (white space is an invalid value), which libvirt reads as no size.
pub fn kib(def: &Element, element: &str) -> Result<Option<u64>> {
    let Some(node) = def.child(element) else {
        return Ok(None);
    };
    let text = node.untrimmed_text();
    if text.is_empty() {
        return Ok(None);
    }
    let value = decimal(&text).ok_or_else(|| {
        Error::xml(
            ErrorDomain::VIR_FROM_XML,
            format!("Invalid value '{text}' for element or attribute './{element}[1]'"),
        )
    })?;
    let unit = node.attribute("unit").unwrap_or("");
    let scale = unit_scale(unit)
        .ok_or_else(|| Error::invalid_arg(ErrorDomain::VIR_FROM_NONE, format!("unknown suffix '{unit}'")))?;
    let bytes = value.checked_mul(scale).filter(|&bytes| bytes <= i64::MAX as u64).ok_or_else(|| {
        Error::new(
            ErrorCode::VIR_ERR_OVERFLOW,
            ErrorDomain::VIR_FROM_NONE,
            Some(format!("value too large: {value}{unit}")),
        )
    })?;
    let kib = bytes.div_ceil(1024);
    if kib > MAX_KIB {
        return Err(Error::new(
            ErrorCode::VIR_ERR_OVERFLOW,
            ErrorDomain::VIR_FROM_DOMAIN,
            Some("size value too large".into()),
        ));
    }
    Ok(Some(kib))
}

/// The elements libvirt writes before `<memory>` and `<currentMemory>`, in
/// its order (`<currentMemory>` comes right after `<memory>`).
const BEFORE_MEMORY_SIZES: &[&str] =
    &["name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory"];

/// The balloon's size as libvirt completes a definition: none, 0, or more
/// than the guest's memory is the guest's memory.
pub fn balloon_kib(memory_kib: u64, current_kib: Option<u64>) -> u64 {
    current_kib.filter(|&kib| kib > 0 && kib <= memory_kib).unwrap_or(memory_kib)
}

/// Writes `element` of `def` (`memory` or `currentMemory`) as `kib` KiB, as
/// libvirt formats it and where its element order puts it.
pub fn set_kib(def: &mut Element, element: &str, kib: u64) {
    def.children.retain(|node| !matches!(node, Node::Element(e) if e.name == element));
    let value =
        Element { attributes: vec![("unit".into(), "KiB".into())], ..Element::with_text(element, &kib.to_string()) };
    def.insert_after(BEFORE_MEMORY_SIZES, value);
}

/// An unsigned decimal as `strtoull` reads it for libvirt: leading white
/// space and a `+` allowed, nothing after the digits, no sign change.
fn decimal(text: &str) -> Option<u64> {
    let digits = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Bytes per unit of `unit`: none means KiB; `b`, `byte` and `bytes` mean
/// bytes; otherwise `k`, `m`, `g`, `t`, `p` or `e` (any case) alone or
/// followed by `iB` count in powers of 1024, followed by `B` in powers of
/// 1000.
fn unit_scale(unit: &str) -> Option<u64> {
    if unit.is_empty() {
        return Some(1024);
    }
    if ["b", "byte", "bytes"].iter().any(|bytes| unit.eq_ignore_ascii_case(bytes)) {
        return Some(1);
    }
    let (prefix, rest) = unit.split_at(unit.chars().next()?.len_utf8());
    let base: u64 = match rest {
        "" => 1024,
        _ if rest.eq_ignore_ascii_case("ib") => 1024,
        _ if rest.eq_ignore_ascii_case("b") => 1000,
        _ => return None,
    };
    let power = "kmgtpe".find(prefix.to_ascii_lowercase().as_str())? as u32 + 1;
    Some(base.pow(power))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(element: &str) -> Result<Option<u64>> {
        let def = crate::xml::parse(&format!("<domain>{element}</domain>")).unwrap();
        kib(&def, "memory")
    }

    fn message(element: &str) -> String {
        read(element).unwrap_err().message
    }

    #[test]
    fn units_scale_as_libvirts_and_round_up_to_whole_kib() {
        // Each as real libvirt 9.0's test driver reported virDomainGetMaxMemory.
        for (element, kib) in [
            ("<memory>1024</memory>", 1024),
            ("<memory unit=''>3</memory>", 3),
            ("<memory unit='b'>1</memory>", 1),
            ("<memory unit='bytes'>2049</memory>", 3),
            ("<memory unit='BYTES'>2000</memory>", 2),
            ("<memory unit='KB'>1000</memory>", 977),
            ("<memory unit='Kb'>1</memory>", 1),
            ("<memory unit='kIb'>1</memory>", 1),
            ("<memory unit='m'>5</memory>", 5120),
            ("<memory unit='T'>1</memory>", 1 << 30),
            ("<memory unit='EiB'>1</memory>", 1 << 50),
            ("<memory unit='GiB'>8589934591</memory>", 9007199253692416),
            ("<memory unit='b'>9223372036854774784</memory>", MAX_KIB),
            ("<memory>\n 7</memory>", 7),
            ("<memory>+5</memory>", 5),
            ("<memory>00012</memory>", 12),
        ] {
            assert_eq!(read(element).unwrap(), Some(kib), "{element}");
        }
        assert_eq!(read("<memory></memory>").unwrap(), None);
        assert_eq!(read("").unwrap(), None);
    }

    #[test]
    fn bad_sizes_fail_with_libvirts_errors() {
        assert_eq!(
            message("<memory>x</memory>"),
            "XML error: Invalid value 'x' for element or attribute './memory[1]'"
        );
        assert_eq!(read("<memory>-0</memory>").unwrap_err().domain, ErrorDomain::VIR_FROM_XML);
        for text in ["1024 ", "   ", "0x10", "-1", "18446744073709551616"] {
            assert!(message(&format!("<memory>{text}</memory>")).contains(&format!("'{text}'")), "{text}");
        }
        assert_eq!(message("<memory unit='zz'>1</memory>"), "invalid argument: unknown suffix 'zz'");
        assert_eq!(message("<memory unit='ib'>1</memory>"), "invalid argument: unknown suffix 'ib'");
        assert_eq!(message("<memory unit='kibx'>1</memory>"), "invalid argument: unknown suffix 'kibx'");
        assert_eq!(message("<memory unit='E'>100</memory>"), "numerical overflow: value too large: 100E");
        assert_eq!(
            message("<memory>18446744073709551615</memory>"),
            "numerical overflow: value too large: 18446744073709551615"
        );
        assert_eq!(
            message("<memory unit='GiB'>8589934592</memory>"),
            "numerical overflow: value too large: 8589934592GiB"
        );
        let past_unlimited = read("<memory unit='b'>9223372036854774785</memory>").unwrap_err();
        assert_eq!(past_unlimited.message, "numerical overflow: size value too large");
        assert_eq!(past_unlimited.domain, ErrorDomain::VIR_FROM_DOMAIN);
    }
}
