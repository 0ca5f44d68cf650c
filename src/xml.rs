//! A small XML reader and writer for domain definitions: elements, attributes
//! and text, enough for libvirt's domain XML. Anything it cannot read is an
//! error message for the caller, never a panic: documents nested deeper than
//! libxml2 allows are refused before the recursion could exhaust the stack.

use std::collections::HashSet;
use std::fmt::Write;

/// How deeply elements may nest. libxml2 (and so libvirt) refuses an element
/// opened when 256 are already open below the root; probed on libvirt 9.0:
/// 257 nested levels parse, 258 do not.
const MAX_DEPTH: usize = 257;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
    /// Markup written as it is, on a line of its own (libvirt shows metadata
    /// elements the way libxml2 dumps them, not in its own style).
    Raw(String),
}

impl Element {
    pub fn new(name: &str) -> Element {
        Element { name: name.to_string(), attributes: Vec::new(), children: Vec::new() }
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn set_attribute(&mut self, name: &str, value: Option<String>) {
        self.attributes.retain(|(k, _)| k != name);
        if let Some(value) = value {
            self.attributes.push((name.to_string(), value));
        }
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) | Node::Raw(_) => None,
        })
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find_map(|n| match n {
            Node::Element(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// The concatenated text directly inside this element, trimmed.
    pub fn text(&self) -> String {
        self.untrimmed_text().trim().to_string()
    }

    /// The element's text as written, white space included (where libvirt
    /// refuses what `text` would trim, such as a number with a trailing space).
    pub fn untrimmed_text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) | Node::Raw(_) => None,
            })
            .collect()
    }

    /// An element with these attributes, in this order.
    pub fn with_attributes(name: &str, attributes: &[(&str, &str)]) -> Element {
        let mut element = Element::new(name);
        element.attributes = attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        element
    }

    /// Appends a child element.
    pub fn push(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// A child holding only `text`.
    pub fn with_text(name: &str, text: &str) -> Element {
        let mut element = Element::new(name);
        element.children.push(Node::Text(text.to_string()));
        element
    }

    /// Inserts `element` after the last child named in `preceding` (first if
    /// there is none): libvirt's XML has a fixed element order.
    pub fn insert_after(&mut self, preceding: &[&str], element: Element) {
        let index = self
            .children
            .iter()
            .rposition(|n| matches!(n, Node::Element(e) if preceding.contains(&e.name.as_str())))
            .map_or(0, |i| i + 1);
        self.children.insert(index, Node::Element(element));
    }

    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(Element::text)
    }

    /// Serialises with two-space indentation, as libvirt formats XML.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        let indent = "  ".repeat(depth);
        let _ = write!(out, "{indent}<{}", self.name);
        for (k, v) in &self.attributes {
            let _ = write!(out, " {k}='{}'", escape(v, true));
        }
        let has_elements = self.children.iter().any(|n| !matches!(n, Node::Text(_)));
        let text = self.text();
        if has_elements && !text.is_empty() {
            // Mixed content: indenting would change the text, so keep it on one line.
            let _ = writeln!(out, "{}", self.compact_tail());
        } else if !has_elements && text.is_empty() {
            out.push_str("/>\n");
        } else if !has_elements {
            let _ = writeln!(out, ">{}</{}>", escape(&text, false), self.name);
        } else {
            out.push_str(">\n");
            for child in &self.children {
                match child {
                    Node::Element(e) => e.write(out, depth + 1),
                    Node::Raw(markup) => {
                        let _ = writeln!(out, "{indent}  {markup}");
                    }
                    Node::Text(_) => {}
                }
            }
            let _ = writeln!(out, "{indent}</{}>", self.name);
        }
    }
}

impl Element {
    /// Serialises on one line, every text node kept as it is, attributes in
    /// double quotes: how libvirt shows metadata elements (libxml2's dump).
    pub fn to_compact_xml(&self) -> String {
        let mut out = format!("<{}", self.name);
        for (k, v) in &self.attributes {
            let _ = write!(out, " {k}=\"{}\"", escape(v, true).replace('"', "&quot;"));
        }
        out + &self.compact_tail()
    }

    /// The rest of a one-line serialisation after the start tag's name and
    /// attributes (which `to_xml` writes in its own quoting).
    fn compact_tail(&self) -> String {
        if self.children.is_empty() {
            return "/>".to_string();
        }
        let mut out = ">".to_string();
        for child in &self.children {
            match child {
                Node::Text(text) => out.push_str(&escape(text, false)),
                Node::Element(e) => out.push_str(&e.to_compact_xml()),
                Node::Raw(markup) => out.push_str(markup),
            }
        }
        let _ = write!(out, "</{}>", self.name);
        out
    }
}

fn escape(text: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' if in_attribute => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Parses a document with one root element.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut parser = Parser { text, pos: 0 };
    parser.skip_misc()?;
    let root = parser.element(1)?;
    parser.skip_misc()?;
    if parser.pos != text.len() {
        return Err(parser.error("extra content at the end of the document"));
    }
    Ok(root)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn error(&self, what: &str) -> String {
        let line = self.text[..self.pos].matches('\n').count() + 1;
        format!("{what} at line {line}")
    }

    fn skip_whitespace(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn skip_past(&mut self, end: &str) -> Result<(), String> {
        match self.rest().find(end) {
            Some(i) => {
                self.pos += i + end.len();
                Ok(())
            }
            None => Err(self.error(&format!("missing '{end}'"))),
        }
    }

    /// Skips blanks, comments, processing instructions and a doctype.
    fn skip_misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_whitespace();
            if self.rest().starts_with("<!--") {
                self.skip_past("-->")?;
            } else if self.rest().starts_with("<?") {
                self.skip_past("?>")?;
            } else if self.rest().starts_with("<!") {
                self.skip_past(">")?;
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self
            .rest()
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(self.error("expected a name"));
        }
        let name = self.rest()[..len].to_string();
        self.pos += len;
        Ok(name)
    }

    /// Reads the element starting here, `depth` levels below the document
    /// (the root is at depth 1).
    fn element(&mut self, depth: usize) -> Result<Element, String> {
        if !self.rest().starts_with('<') {
            return Err(self.error("expected an element"));
        }
        if depth > MAX_DEPTH {
            return Err(
                self.error(&format!("Excessive depth in document: {} use XML_PARSE_HUGE option", MAX_DEPTH - 1))
            );
        }
        self.pos += 1;
        let mut element = Element::new(&self.name()?);
        // Attribute names seen so far: a set, so that a start tag with many
        // attributes costs linear time, not quadratic.
        let mut seen = HashSet::new();
        loop {
            self.skip_whitespace();
            if self.rest().starts_with("/>") {
                self.pos += 2;
                return Ok(element);
            }
            if self.rest().starts_with('>') {
                self.pos += 1;
                break;
            }
            let key = self.name()?;
            self.skip_whitespace();
            if !self.rest().starts_with('=') {
                return Err(self.error("expected '=' after an attribute name"));
            }
            self.pos += 1;
            self.skip_whitespace();
            let quote = self.rest().chars().next().filter(|c| *c == '\'' || *c == '"');
            let Some(quote) = quote else {
                return Err(self.error("expected a quoted attribute value"));
            };
            self.pos += 1;
            let end = self.rest().find(quote).ok_or_else(|| self.error("unterminated attribute value"))?;
            let value = unescape(&self.rest()[..end]).map_err(|e| self.error(&e))?;
            self.pos += end + 1;
            if !seen.insert(key.clone()) {
                return Err(self.error(&format!("attribute '{key}' given twice")));
            }
            element.attributes.push((key, value));
        }
        // White space between elements is layout, but an element holding
        // only white space keeps it: libvirt reads `<memory> </memory>` as an
        // invalid number, not as no number.
        let mut blank = String::new();
        loop {
            if self.rest().starts_with("</") {
                self.pos += 2;
                let name = self.name()?;
                if name != element.name {
                    return Err(self.error(&format!("closing tag '{name}' does not match '{}'", element.name)));
                }
                self.skip_whitespace();
                if !self.rest().starts_with('>') {
                    return Err(self.error("expected '>'"));
                }
                self.pos += 1;
                if element.children.is_empty() && !blank.is_empty() {
                    element.children.push(Node::Text(blank));
                }
                return Ok(element);
            } else if self.rest().starts_with("<!--") {
                self.skip_past("-->")?;
            } else if self.rest().starts_with("<![CDATA[") {
                self.pos += "<![CDATA[".len();
                let end = self.rest().find("]]>").ok_or_else(|| self.error("unterminated CDATA"))?;
                element.children.push(Node::Text(self.rest()[..end].to_string()));
                self.pos += end + 3;
            } else if self.rest().starts_with('<') {
                let child = self.element(depth + 1)?;
                element.children.push(Node::Element(child));
            } else if self.rest().is_empty() {
                return Err(self.error(&format!("element '{}' is not closed", element.name)));
            } else {
                let end = self.rest().find('<').unwrap_or(self.rest().len());
                let text = unescape(&self.rest()[..end]).map_err(|e| self.error(&e))?;
                self.pos += end;
                if text.trim().is_empty() {
                    blank.push_str(&text);
                } else {
                    element.children.push(Node::Text(text));
                }
            }
        }
    }
}

fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';').ok_or("unterminated entity reference")?;
        let entity = &rest[amp + 1..amp + semi];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            _ => {
                let code = entity
                    .strip_prefix("#x")
                    .map(|h| u32::from_str_radix(h, 16))
                    .or_else(|| entity.strip_prefix('#').map(|d| d.parse::<u32>()))
                    .and_then(|r| r.ok())
                    .and_then(char::from_u32);
                code.ok_or_else(|| format!("unknown entity '&{entity};'"))?
            }
        };
        out.push(c);
        rest = &rest[amp + semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes_children_and_text() {
        let doc = parse(
            "<?xml version='1.0'?>\n<!-- c --><domain type='test'><name>a&amp;b</name>\
             <clock offset=\"variable\" adjustment='3600'/></domain>",
        )
        .unwrap();
        assert_eq!(doc.attribute("type"), Some("test"));
        assert_eq!(doc.child_text("name").as_deref(), Some("a&b"));
        assert_eq!(doc.child("clock").unwrap().attribute("adjustment"), Some("3600"));
    }

    #[test]
    fn rejects_malformed_documents() {
        for bad in ["<domain", "<a></b>", "<a x='1' x='2'/>", "<a>&bogus;</a>", "<a/><b/>", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    fn nested(levels: usize) -> String {
        "<a>".repeat(levels) + &"</a>".repeat(levels)
    }

    #[test]
    fn refuses_documents_deeper_than_libxml2_allows() {
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        let err = parse(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(err, "Excessive depth in document: 256 use XML_PARSE_HUGE option at line 1");
        // Far past the limit: refused before the recursion could overflow.
        assert!(parse(&nested(100_000)).is_err());
    }

    #[test]
    fn duplicate_attributes_are_found_among_many() {
        let attributes: String = (0..50_000).map(|i| format!(" a{i}='1'")).collect();
        let doc = parse(&format!("<e{attributes}/>")).unwrap();
        assert_eq!(doc.attributes.len(), 50_000);
        let err = parse(&format!("<e{attributes} a7='2'/>")).unwrap_err();
        assert!(err.starts_with("attribute 'a7' given twice"), "{err}");
    }

    #[test]
    fn writes_what_it_reads() {
        let doc = parse("<domain type='test'><name>x</name><devices><disk a='1'/></devices></domain>").unwrap();
        assert_eq!(
            doc.to_xml(),
            "<domain type='test'>\n  <name>x</name>\n  <devices>\n    <disk a='1'/>\n  </devices>\n</domain>\n"
        );
        assert_eq!(parse(&doc.to_xml()).unwrap(), doc);
    }
}
