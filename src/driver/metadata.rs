//! Domain metadata (`virDomainSetMetadata` / `virDomainGetMetadata`), kept
//! where libvirt keeps it: `<title>`, `<description>` and the namespaced
//! children of `<metadata>` in the domain's XML definition.

use crate::abi::domain_event::virDomainMetadataType as Kind;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::xml::{self, Element, Node};

/// One `virDomainSetMetadata` request, its arguments already checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataChange {
    /// A `virDomainMetadataType`.
    pub kind: i32,
    /// The new text or XML; `None` (or empty text) removes it.
    pub value: Option<String>,
    /// The namespace prefix of an element.
    pub key: Option<String>,
    /// The namespace of an element.
    pub uri: Option<String>,
}

fn unknown_kind(kind: i32) -> Error {
    Error::invalid_arg(ErrorDomain::VIR_FROM_DOMAIN, format!("unknown metadata type '{kind}'"))
}

fn not_present() -> Error {
    Error::new(
        ErrorCode::VIR_ERR_NO_DOMAIN_METADATA,
        ErrorDomain::VIR_FROM_DOMAIN,
        Some("Requested metadata element is not present".to_string()),
    )
}

fn remove_children(parent: &mut Element, doomed: impl Fn(&Element) -> bool) {
    parent.children.retain(|n| !matches!(n, Node::Element(e) if doomed(e)));
}

/// The prefix `element` binds to `uri` (`xmlns:PREFIX='URI'`), if any.
fn prefix_for<'a>(element: &'a Element, uri: &str) -> Option<&'a str> {
    element.attributes.iter().find(|(k, v)| v == uri && k.starts_with("xmlns:")).map(|(k, _)| &k["xmlns:".len()..])
}

/// Puts `element` and its unprefixed descendants in namespace `prefix`.
fn add_prefix(element: &mut Element, prefix: &str) {
    if !element.name.contains(':') {
        element.name = format!("{prefix}:{}", element.name);
    }
    for child in &mut element.children {
        if let Node::Element(child) = child {
            add_prefix(child, prefix);
        }
    }
}

fn strip_prefix(element: &mut Element, prefix: &str) {
    if let Some(local) = element.name.strip_prefix(&format!("{prefix}:")) {
        element.name = local.to_string();
    }
    for child in &mut element.children {
        if let Node::Element(child) = child {
            strip_prefix(child, prefix);
        }
    }
}

/// Applies `change` to the domain definition `def`.
pub fn apply(def: &mut Element, change: &MetadataChange) -> Result<()> {
    let value = change.value.as_deref().filter(|v| !v.is_empty());
    let (name, preceding): (&str, &[&str]) = match change.kind {
        k if k == Kind::VIR_DOMAIN_METADATA_TITLE as i32 => ("title", &["name", "uuid", "genid"]),
        k if k == Kind::VIR_DOMAIN_METADATA_DESCRIPTION as i32 => ("description", &["name", "uuid", "genid", "title"]),
        k if k == Kind::VIR_DOMAIN_METADATA_ELEMENT as i32 => return apply_element(def, change, value),
        other => return Err(unknown_kind(other)),
    };
    remove_children(def, |e| e.name == name);
    if let Some(text) = value {
        def.insert_after(preceding, Element::with_text(name, text));
    }
    Ok(())
}

fn apply_element(def: &mut Element, change: &MetadataChange, value: Option<&str>) -> Result<()> {
    let uri = change.uri.as_deref().unwrap_or_default();
    let new = match value {
        Some(text) => {
            let mut element =
                xml::parse(text).map_err(|e| Error::xml_syntax(ErrorDomain::VIR_FROM_DOMAIN, "metadata_xml", e))?;
            let prefix = change.key.as_deref().unwrap_or_default();
            add_prefix(&mut element, prefix);
            element.attributes.retain(|(k, _)| k != &format!("xmlns:{prefix}"));
            element.attributes.insert(0, (format!("xmlns:{prefix}"), uri.to_string()));
            Some(element)
        }
        None => None,
    };
    if def.child("metadata").is_none() {
        def.insert_after(&["name", "uuid", "genid", "title", "description"], Element::new("metadata"));
    }
    let Some(metadata) = def.child_mut("metadata") else { return Ok(()) };
    remove_children(metadata, |e| prefix_for(e, uri).is_some());
    metadata.children.extend(new.map(Node::Element));
    if metadata.elements().next().is_none() {
        remove_children(def, |e| e.name == "metadata");
    }
    Ok(())
}

/// `def` as `virDomainGetXMLDesc` shows it: metadata elements in libxml2's
/// style, one per line.
pub fn displayed(def: &Element) -> Element {
    let mut shown = def.clone();
    if let Some(metadata) = shown.child_mut("metadata") {
        for child in &mut metadata.children {
            if let Node::Element(element) = child {
                *child = Node::Raw(element.to_compact_xml());
            }
        }
    }
    shown
}

/// The metadata of `kind` (for an element, the one in namespace `uri`), as
/// `virDomainGetMetadata` returns it.
pub fn read(def: &Element, kind: i32, uri: Option<&str>) -> Result<String> {
    let text = |name: &str| def.child(name).map(Element::text).filter(|t| !t.is_empty()).ok_or_else(not_present);
    match kind {
        k if k == Kind::VIR_DOMAIN_METADATA_TITLE as i32 => text("title"),
        k if k == Kind::VIR_DOMAIN_METADATA_DESCRIPTION as i32 => text("description"),
        k if k == Kind::VIR_DOMAIN_METADATA_ELEMENT as i32 => {
            let uri = uri.unwrap_or_default();
            let found = def.child("metadata").and_then(|m| {
                m.elements().find_map(|e| prefix_for(e, uri).map(|prefix| (e.clone(), prefix.to_string())))
            });
            let (mut element, prefix) = found.ok_or_else(not_present)?;
            strip_prefix(&mut element, &prefix);
            element.attributes.retain(|(k, _)| k != &format!("xmlns:{prefix}"));
            Ok(element.to_compact_xml())
        }
        other => Err(unknown_kind(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND_TITLE: i32 = Kind::VIR_DOMAIN_METADATA_TITLE as i32;
    const KIND_DESCRIPTION: i32 = Kind::VIR_DOMAIN_METADATA_DESCRIPTION as i32;
    const KIND_ELEMENT: i32 = Kind::VIR_DOMAIN_METADATA_ELEMENT as i32;

    fn change(kind: i32, value: Option<&str>, key: Option<&str>, uri: Option<&str>) -> MetadataChange {
        MetadataChange {
            kind,
            value: value.map(str::to_string),
            key: key.map(str::to_string),
            uri: uri.map(str::to_string),
        }
    }

    #[test]
    fn title_description_and_elements_land_where_libvirt_writes_them() {
        let mut def = xml::parse("<domain><name>a</name><uuid>u</uuid><memory>1</memory></domain>").unwrap();
        apply(&mut def, &change(KIND_DESCRIPTION, Some("Desc <&>"), None, None)).unwrap();
        apply(&mut def, &change(KIND_TITLE, Some("My title"), None, None)).unwrap();
        let element = Some("<foo bar='1'>text<baz/></foo>");
        apply(&mut def, &change(KIND_ELEMENT, element, Some("ex"), Some("http://example.org/"))).unwrap();
        apply(&mut def, &change(KIND_ELEMENT, Some("<a/>"), Some("o"), Some("http://other.org/"))).unwrap();
        assert_eq!(
            displayed(&def).to_xml(),
            "<domain>\n  <name>a</name>\n  <uuid>u</uuid>\n  <title>My title</title>\n  \
             <description>Desc &lt;&amp;&gt;</description>\n  <metadata>\n    \
             <ex:foo xmlns:ex=\"http://example.org/\" bar=\"1\">text<ex:baz/></ex:foo>\n    \
             <o:a xmlns:o=\"http://other.org/\"/>\n  </metadata>\n  <memory>1</memory>\n</domain>\n"
        );
        assert_eq!(read(&def, KIND_TITLE, None).unwrap(), "My title");
        assert_eq!(read(&def, KIND_DESCRIPTION, None).unwrap(), "Desc <&>");
        assert_eq!(read(&def, KIND_ELEMENT, Some("http://example.org/")).unwrap(), "<foo bar=\"1\">text<baz/></foo>");
        assert_eq!(
            read(&def, KIND_ELEMENT, Some("http://nope/")).unwrap_err().code,
            ErrorCode::VIR_ERR_NO_DOMAIN_METADATA
        );
    }

    #[test]
    fn empty_or_missing_values_remove_and_replacing_keeps_one_element_per_namespace() {
        let mut def = xml::parse("<domain><name>a</name></domain>").unwrap();
        let uri = Some("http://example.org/");
        apply(&mut def, &change(KIND_ELEMENT, Some("<one/>"), Some("ex"), uri)).unwrap();
        apply(&mut def, &change(KIND_ELEMENT, Some("<two/>"), Some("ex"), uri)).unwrap();
        assert_eq!(read(&def, KIND_ELEMENT, uri).unwrap(), "<two/>");
        apply(&mut def, &change(KIND_ELEMENT, None, None, uri)).unwrap();
        apply(&mut def, &change(KIND_TITLE, Some("t"), None, None)).unwrap();
        apply(&mut def, &change(KIND_TITLE, Some(""), None, None)).unwrap();
        assert_eq!(def.to_xml(), "<domain>\n  <name>a</name>\n</domain>\n");
        assert_eq!(
            read(&def, KIND_TITLE, None).unwrap_err().message,
            "metadata not found: Requested metadata element is not present"
        );
    }

    #[test]
    fn bad_xml_and_unknown_kinds_are_libvirt_errors() {
        let mut def = xml::parse("<domain><name>a</name></domain>").unwrap();
        let err = apply(&mut def, &change(KIND_ELEMENT, Some("<foo"), Some("ex"), Some("u"))).unwrap_err();
        assert_eq!((err.code, err.domain), (ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_DOMAIN));
        assert!(err.message.starts_with("(metadata_xml): "), "{}", err.message);
        let err = apply(&mut def, &change(7, Some("x"), None, None)).unwrap_err();
        assert_eq!(err.message, "invalid argument: unknown metadata type '7'");
    }
}
