//! A borrowed, single-pass reader for the plain JSON QEMU sends in events,
//! the fast path of [`super::qmp`]: it checks a text and reads members out of
//! it without building a `serde_json::Value` tree.
//!
//! It accepts only JSON that `serde_json` reads to the same values and writes
//! back (compact) as the same text with the whitespace removed: strings
//! without escapes or control characters, integers of at most 18 digits (no
//! fractions, exponents or `-0`), objects of at most [`MAX_MEMBERS`] distinct
//! keys, nesting at most [`MAX_DEPTH`] deep. Anything else is refused, and the
//! caller takes the general parser, so that what it reports (values, errors)
//! is unchanged.

/// Deeper nesting is left to the general parser (and its recursion limit).
const MAX_DEPTH: u32 = 16;
/// Larger objects are left to the general parser (duplicate keys are checked
/// among this many).
const MAX_MEMBERS: usize = 16;

/// A checked JSON text: one value, with no whitespace around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// `text` if it is one plain JSON value (whitespace around it allowed).
    pub fn check(text: &'a [u8]) -> Option<Raw<'a>> {
        let text = std::str::from_utf8(text).ok()?;
        let mut scanner = Scanner { text: text.as_bytes(), at: 0, depth: 0, checking: true };
        scanner.space();
        let start = scanner.at;
        scanner.value()?;
        let end = scanner.at;
        scanner.space();
        (scanner.at == text.len()).then_some(Raw(&text[start..end]))
    }

    /// A text [`Raw::check`] accepted (and trimmed) before.
    pub fn trusted(text: &'a str) -> Raw<'a> {
        Raw(text)
    }

    pub fn text(&self) -> &'a str {
        self.0
    }

    /// The members of an object, in order; empty for any other value.
    pub fn members(&self) -> Members<'a> {
        let text = self.0.as_bytes();
        let mut scanner = Scanner { text, at: 0, depth: 0, checking: false };
        let object = scanner.take(b'{');
        Members { source: self.0, scanner, done: !object }
    }

    /// The value of member `key` of an object.
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        self.members().find(|(k, _)| *k == key).map(|(_, value)| value)
    }

    pub fn as_str(&self) -> Option<&'a str> {
        self.0.strip_prefix('"')?.strip_suffix('"')
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.0 {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        self.0.starts_with('{')
    }

    /// The text as `serde_json` writes the value compactly: the same, less
    /// whitespace outside strings (which hold no escapes).
    pub fn compact(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        let mut in_string = false;
        for c in self.0.chars() {
            if c == '"' {
                in_string = !in_string;
            } else if !in_string && c.is_ascii_whitespace() {
                continue;
            }
            out.push(c);
        }
        out
    }
}

/// The members of a checked object.
pub struct Members<'a> {
    source: &'a str,
    scanner: Scanner<'a>,
    done: bool,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, Raw<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let s = &mut self.scanner;
        s.space();
        if s.take(b'}') {
            self.done = true;
            return None;
        }
        // The text was checked: these steps cannot fail, and the slices
        // are cut at ASCII delimiters.
        let key_start = s.at;
        s.string()?;
        let key = &self.source[key_start + 1..s.at - 1];
        s.space();
        s.take(b':');
        s.space();
        let start = s.at;
        s.value()?;
        let value = &self.source[start..s.at];
        s.space();
        s.take(b',');
        Some((key, Raw(value)))
    }
}

/// Reads JSON text; `checking` it (as [`Raw::check`] does, on UTF-8 text),
/// or skipping through text checked before, which needs none of the checks.
struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
    depth: u32,
    checking: bool,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn take(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<()> {
        if !self.checking {
            return self.skip();
        }
        match self.peek()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.integer(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    /// Skips a value of checked text: a flat scan, as its strings hold no
    /// quotes or brackets of their own but within quotes.
    fn skip(&mut self) -> Option<()> {
        let mut depth = 0usize;
        while let Some(byte) = self.peek() {
            match byte {
                b'"' => {
                    self.string()?;
                    if depth == 0 {
                        return Some(());
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return Some(()),
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        return Some(());
                    }
                }
                b',' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => return Some(()),
                _ => {}
            }
            self.at += 1;
        }
        Some(())
    }

    /// A string's contents, without escapes or control characters. Strings
    /// are short: a byte loop beats a vectorised search's set-up here.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.take(b'"').then_some(())?;
        let start = self.at;
        let len = self.text[start..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        (self.text[start + len] == b'"').then_some(())?;
        self.at = start + len + 1;
        Some(&self.text[start..start + len])
    }

    fn integer(&mut self) -> Option<()> {
        let negative = self.take(b'-');
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        if !self.checking {
            return Some(());
        }
        let plain = match digits {
            [] => false,
            [b'0'] => !negative,
            [b'0', ..] => false,
            _ => digits.len() <= 18,
        };
        (plain && !matches!(self.peek(), Some(b'.' | b'e' | b'E'))).then_some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.text[self.at..].starts_with(word).then_some(())?;
        self.at += word.len();
        Some(())
    }

    fn nested(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self, usize) -> Option<()>) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH || !self.checking).then_some(())?;
        self.take(open);
        self.space();
        if !self.take(close) {
            let mut index = 0;
            loop {
                self.space();
                item(self, index)?;
                self.space();
                if self.take(close) {
                    break;
                }
                self.take(b',').then_some(())?;
                index += 1;
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn array(&mut self) -> Option<()> {
        self.nested(b'[', b']', |s, _| s.value())
    }

    fn object(&mut self) -> Option<()> {
        let mut keys: [&[u8]; MAX_MEMBERS] = [&[]; MAX_MEMBERS];
        self.nested(b'{', b'}', |s, index| {
            (index < MAX_MEMBERS).then_some(())?;
            let key = s.string()?;
            if s.checking {
                keys[..index].iter().all(|k| *k != key).then_some(())?;
                keys[index] = key;
            }
            s.space();
            s.take(b':').then_some(())?;
            s.space();
            s.value()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const RTC: &str = r#"{"timestamp": {"seconds": 1795276272, "microseconds": 151277}, "event": "RTC_CHANGE", "data": {"offset": -3, "qom-path": "/machine/unattached/device[7]"}}"#;

    #[test]
    fn reads_members_and_writes_what_serde_json_writes() {
        let raw = Raw::check(RTC.as_bytes()).unwrap();
        assert_eq!(raw.get("event").and_then(|v| v.as_str()), Some("RTC_CHANGE"));
        let data = raw.get("data").unwrap();
        assert_eq!(data.get("offset").and_then(|v| v.as_i64()), Some(-3));
        assert_eq!(data.get("offset").and_then(|v| v.as_u64()), None);
        assert_eq!(data.get("missing"), None);
        let keys: Vec<&str> = raw.members().map(|(k, _)| k).collect();
        assert_eq!(keys, ["timestamp", "event", "data"]);
        for text in [RTC, r#" {"a": [1, true, null, {"b": []}], "c": {}, "é": "ü x"} "#, "[]", "0", "-12"] {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(Raw::check(text.as_bytes()).unwrap().compact(), value.to_string(), "{text}");
        }
    }

    #[test]
    fn leaves_everything_else_to_the_general_parser() {
        for text in [
            r#"{"a": "x\"y"}"#,
            r#"{"a": "x\u0041"}"#,
            "{\"a\": \"tab\there\"}",
            r#"{"a": 1.5}"#,
            r#"{"a": 1e3}"#,
            r#"{"a": -0}"#,
            r#"{"a": 0123}"#,
            r#"{"a": 1234567890123456789}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": 1,}"#,
            r#"{"a" 1}"#,
            r#"{"a": 1} x"#,
            r#"{"a": tru}"#,
            "",
            "{",
            r#"{"a": [1 2]}"#,
            &format!("{}{}", "[".repeat(17), "]".repeat(17)),
        ] {
            assert_eq!(Raw::check(text.as_bytes()), None, "{text}");
        }
        assert!(Raw::check(&[b'"', 0xff, b'"']).is_none(), "invalid UTF-8");
        assert!(Raw::check(format!("{}{}", "[".repeat(16), "]".repeat(16)).as_bytes()).is_some());
    }
}
