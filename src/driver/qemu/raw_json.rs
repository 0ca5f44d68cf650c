//! A borrowed, single-pass reader for the plain JSON QEMU sends in events,
//! the fast path of [`super::qmp`]: one walk over a text checks it and
//! records where each member of each object is (its [`Tape`]), so that
//! reading members afterwards looks them up without walking the text again,
//! and without building a `serde_json::Value` tree.
//!
//! It accepts only JSON that `serde_json` reads to the same values and writes
//! back (compact) as the same text with the whitespace removed: strings
//! without escapes or control characters, integers of at most 18 digits (no
//! fractions, exponents or `-0`), objects of at most [`MAX_MEMBERS`] distinct
//! keys, nesting at most [`MAX_DEPTH`] deep. Anything else is refused, and the
//! caller takes the general parser, so that what it reports (values, errors)
//! is unchanged.
//!
//! [`Raw::check_with`] gives the same answer faster for lines that differ
//! from one already accepted only in their scalar values, through the
//! [`Shapes`] of the lines accepted last (`shapes.rs`).

mod shapes;

pub use shapes::Shapes;

/// Deeper nesting is left to the general parser (and its recursion limit).
const MAX_DEPTH: usize = 16;
/// Larger objects are left to the general parser (duplicate keys are checked
/// among this many).
const MAX_MEMBERS: usize = 16;

/// Bytes that may appear in a string as they are: not its closing quote, an
/// escape or a control character.
static PLAIN_IN_STRING: [bool; 256] = {
    let mut plain = [true; 256];
    let mut byte = 0;
    while byte < 0x20 {
        plain[byte] = false;
        byte += 1;
    }
    plain[b'"' as usize] = false;
    plain[b'\\' as usize] = false;
    plain
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that may not stand in a string as it
/// is: a quote, a backslash or a control character. The lowest flagged byte
/// is always a true one (a borrow only flags bytes above it).
fn special_in_string(word: u64) -> u64 {
    // Flipping bit 1 turns a quote into 0x20 and keeps control characters
    // below 0x20 and all other bytes at or above 0x21: one compare finds
    // both. (Flipping bits below 7 keeps each byte's high bit, so `!word`
    // stands for the flipped words' complements.)
    let quote_or_control = (word ^ (ONES * 0x02)).wrapping_sub(ONES * 0x21);
    let backslash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    (quote_or_control | backslash) & !word & HIGHS
}

/// The high bit of each byte of `word` that is not an ASCII digit. The
/// lowest flagged byte is always a true one (a carry comes only out of a
/// byte already flagged by its own high bit).
fn not_digit(word: u64) -> u64 {
    let offset = word ^ (ONES * u64::from(b'0'));
    (offset.wrapping_add(ONES * (0x80 - 10)) | offset) & HIGHS
}

/// How many bytes at the start of `rest` are plain: eight at a time in a
/// word (`flags` marks the high bit of each byte that is not), then byte by
/// byte with `plain`. Runs are short: this beats a vectorised search's
/// set-up here.
#[inline(always)]
fn plain_run(rest: &[u8], flags: impl Fn(u64) -> u64, plain: impl Fn(u8) -> bool) -> usize {
    let mut len = 0;
    while let Some(word) = rest.get(len..len + 8) {
        // Always eight bytes: the default is never taken.
        let flagged = flags(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        if flagged != 0 {
            return len + flagged.trailing_zeros() as usize / 8;
        }
        len += 8;
    }
    len + rest[len..].iter().take_while(|&&b| plain(b)).count()
}

/// Where something is in a text: `start..end` in bytes.
type Span = (u32, u32);

/// One member of an object of a checked text, where the walk found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// The key, without its quotes.
    key: Span,
    value: Span,
    /// The index in the tape of the member after this one and the members
    /// of objects nested in its value, which come right after it.
    after: u32,
}

/// The members of every object of a checked text, in the order of the text.
pub type Tape = Vec<Member>;

/// A checked JSON value: its text, with no whitespace around it, within the
/// whole text that was checked and that text's tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a> {
    source: &'a str,
    tape: &'a [Member],
    span: Span,
    /// The tape entries of the members of this value, if an object (those
    /// of its nested objects in between).
    members: Span,
}

impl<'a> Raw<'a> {
    /// `text` if it is one plain JSON value (whitespace around it allowed),
    /// its objects' members recorded in `tape` (cleared first).
    pub fn check(text: &'a [u8], tape: &'a mut Tape) -> Option<Raw<'a>> {
        Raw::walked(Raw::source(text)?, tape)
    }

    /// `text` as a string, if UTF-8 and within the spans' reach: what every
    /// checked text must be first.
    fn source(text: &'a [u8]) -> Option<&'a str> {
        let source = std::str::from_utf8(text).ok()?;
        // Spans are 32-bit (lines are far shorter).
        u32::try_from(text.len()).ok()?;
        Some(source)
    }

    /// [`Raw::check`] of a [`Raw::source`]: the walk.
    fn walked(source: &'a str, tape: &'a mut Tape) -> Option<Raw<'a>> {
        let text = source.as_bytes();
        tape.clear();
        let start = space(text, 0);
        let end = walk(text, start, tape)?;
        (space(text, end) == text.len()).then_some(())?;
        let members = if text[start] == b'{' { (0, tape.len() as u32) } else { (0, 0) };
        Some(Raw { source, tape, span: (start as u32, end as u32), members })
    }

    pub fn text(&self) -> &'a str {
        &self.source[self.span.0 as usize..self.span.1 as usize]
    }

    /// The members of an object, in order; empty for any other value.
    pub fn members(&self) -> Members<'a> {
        Members { of: *self, next: self.members.0 }
    }

    /// The value of member `key` of an object.
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        let [value] = self.get_all([key]);
        value
    }

    /// The values of the members `keys` of an object, found in one pass over
    /// its members that compares their keys as bytes and makes a value only
    /// of those wanted.
    pub fn get_all<const N: usize>(&self, keys: [&str; N]) -> [Option<Raw<'a>>; N] {
        self.get_all_as(keys, Some)
    }

    /// [`Raw::get_all`], each value found read with `read` where it is
    /// found (mapping the array afterwards cost a call and a copy per
    /// element).
    #[inline]
    pub fn get_all_as<T: Copy, const N: usize>(
        &self,
        keys: [&str; N],
        read: impl Fn(Raw<'a>) -> Option<T>,
    ) -> [Option<T>; N] {
        let mut found = [None; N];
        let text = self.source.as_bytes();
        let mut index = self.members.0;
        while index < self.members.1 {
            let member = self.tape[index as usize];
            let key = &text[member.key.0 as usize..member.key.1 as usize];
            let same = |wanted: &&str| wanted.len() == key.len() && same_short(wanted.as_bytes(), key);
            if let Some(slot) = keys.iter().position(same) {
                found[slot] = read(self.value_of(index, member));
            }
            index = member.after;
        }
        found
    }

    /// The value of `member`, at `index` in the tape.
    fn value_of(&self, index: u32, member: Member) -> Raw<'a> {
        let nested = if self.source.as_bytes()[member.value.0 as usize] == b'{' { index + 1 } else { member.after };
        Raw { source: self.source, tape: self.tape, span: member.value, members: (nested, member.after) }
    }

    pub fn as_str(&self) -> Option<&'a str> {
        self.text().strip_prefix('"')?.strip_suffix('"')
    }

    pub fn as_i64(&self) -> Option<i64> {
        let (negative, magnitude) = self.integer()?;
        // At most 18 digits: within i64.
        let magnitude = magnitude as i64;
        Some(if negative { -magnitude } else { magnitude })
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self.integer()? {
            (false, magnitude) => Some(magnitude),
            (true, _) => None,
        }
    }

    /// An integer's sign and magnitude. The walk let only integers of at most
    /// 18 digits through (no fractions or exponents): a checked value that
    /// starts with a digit, or a `-` and a digit, is one, which a digit loop
    /// reads faster than `str::parse`.
    fn integer(&self) -> Option<(bool, u64)> {
        let text = self.text().as_bytes();
        let (negative, digits) = match text {
            [b'-', digits @ ..] => (true, digits),
            digits => (false, digits),
        };
        digits.first().filter(|digit| digit.is_ascii_digit())?;
        Some((negative, digits.iter().fold(0, |n, digit| n * 10 + u64::from(digit - b'0'))))
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.text() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        self.text().starts_with('{')
    }

    /// The text as `serde_json` writes the value compactly: the same, less
    /// whitespace outside strings (which hold no escapes).
    pub fn compact(&self) -> String {
        let text = self.text();
        // Room for a C string's NUL (raw monitor events pass it to C).
        let mut out = String::with_capacity(text.len() + 1);
        let mut in_string = false;
        for c in text.chars() {
            if c == '"' {
                in_string = !in_string;
            } else if !in_string && c.is_ascii_whitespace() {
                continue;
            }
            out.push(c);
        }
        out
    }

    /// This value with its own copy of its text and of its part of the tape.
    pub fn to_owned(self) -> OwnedRaw {
        let mut owned = OwnedRaw::default();
        self.copy_into(&mut owned);
        owned
    }

    /// [`Raw::to_owned`] into `owned`, whose buffers are reused.
    pub fn copy_into(self, owned: &mut OwnedRaw) {
        let (start, first) = (self.span.0, self.members.0);
        let shift = |(from, to): Span| (from - start, to - start);
        owned.text.clear();
        owned.text.push_str(self.text());
        owned.tape.clear();
        owned.tape.extend(self.tape[first as usize..self.members.1 as usize].iter().map(|m| Member {
            key: shift(m.key),
            value: shift(m.value),
            after: m.after - first,
        }));
    }
}

/// A checked value that owns its text and tape ([`Raw::to_owned`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedRaw {
    text: String,
    tape: Tape,
}

impl OwnedRaw {
    /// The room its buffers hold, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.tape.capacity() * std::mem::size_of::<Member>()
    }

    pub fn raw(&self) -> Raw<'_> {
        let members = if self.text.starts_with('{') { (0, self.tape.len() as u32) } else { (0, 0) };
        Raw { source: &self.text, tape: &self.tape, span: (0, self.text.len() as u32), members }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// The members of a checked object, from its tape.
pub struct Members<'a> {
    of: Raw<'a>,
    next: u32,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, Raw<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let index = self.next;
        if index >= self.of.members.1 {
            return None;
        }
        let member = self.of.tape[index as usize];
        self.next = member.after;
        let key = &self.of.source[member.key.0 as usize..member.key.1 as usize];
        Some((key, self.of.value_of(index, member)))
    }
}

/// Whether `a` and `b`, of the same length, are equal. Keys and the
/// literals of line shapes are short: they are compared with fixed-size
/// loads (the last one overlapping the one before it) in place of a `bcmp`
/// call for each pair.
#[inline(always)]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    #[inline(always)]
    fn ends<const CHUNK: usize>(a: &[u8], b: &[u8]) -> bool {
        let len = a.len();
        a[..CHUNK] == b[..CHUNK] && a[len - CHUNK..] == b[len - CHUNK..]
    }
    match a.len() {
        0 => true,
        len @ 1..=3 => a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1],
        4..=7 => ends::<4>(a, b),
        8..=16 => ends::<8>(a, b),
        len => {
            let (words, _) = a.as_chunks::<8>();
            words.iter().zip(b.as_chunks::<8>().0).all(|(a, b)| a == b) && a[len - 8..] == b[len - 8..]
        }
    }
}

/// Skips whitespace from `at`.
#[inline(always)]
fn space(text: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = text.get(at) {
        at += 1;
    }
    at
}

/// Skips the one space QEMU puts after each `:` and `,`: a single compare.
/// Any other whitespace is skipped where the byte after it is read.
#[inline(always)]
fn separator_space(text: &[u8], at: usize) -> usize {
    at + usize::from(text.get(at) == Some(&b' '))
}

/// Where `byte` is: at `at`, with one compare, or after whitespace there.
#[inline(always)]
fn expect(text: &[u8], at: usize, byte: u8) -> Option<usize> {
    if text.get(at) == Some(&byte) {
        return Some(at);
    }
    let at = space(text, at);
    (text.get(at) == Some(&byte)).then_some(at)
}

/// An array or object the walk is in.
#[derive(Clone, Copy, Default)]
struct Open {
    object: bool,
    /// Where its text starts.
    start: u32,
    /// Its first member in the tape.
    first: u32,
    /// The member whose value is being read.
    slot: u32,
    /// How many members it has so far.
    members: u8,
    /// One bit per key of its members so far, from the key's length and last
    /// byte: a key whose bit is clear differs from all of them, without
    /// comparing it to each.
    keys: u64,
}

/// Checks the JSON value that starts at `at` of `text` (UTF-8 already),
/// recording each object's members; where the value ends.
///
/// One loop, without recursion, whose position stays in a register: nested
/// arrays and objects are kept on a small stack of their own. (A recursive
/// descent kept the position in memory, storing and reloading it around
/// every byte class it checked.)
fn walk(text: &[u8], mut at: usize, tape: &mut Tape) -> Option<usize> {
    let mut open = [Open::default(); MAX_DEPTH];
    let mut depth = 0;
    'value: loop {
        // A value starts at `at`.
        let mut start = at;
        match *text.get(at)? {
            close @ (b'{' | b'[') => {
                let object = close == b'{';
                (depth < MAX_DEPTH).then_some(())?;
                at = space(text, at + 1);
                if text.get(at) == Some(&if object { b'}' } else { b']' }) {
                    at += 1;
                } else {
                    let first = tape.len() as u32;
                    open[depth] = Open { object, start: start as u32, first, slot: first, members: 0, keys: 0 };
                    depth += 1;
                    if object {
                        at = member(text, at, &mut open[depth - 1], tape)?;
                    }
                    continue 'value;
                }
            }
            b'"' => at = string_end(text, at + 1)? + 1,
            b'-' | b'0'..=b'9' => at = integer_end(text, at)?,
            b't' => at = literal_end(text, at, b"true")?,
            b'f' => at = literal_end(text, at, b"false")?,
            b'n' => at = literal_end(text, at, b"null")?,
            b' ' | b'\t' | b'\n' | b'\r' => {
                at = space(text, at);
                continue 'value;
            }
            _ => return None,
        }
        // The value `start..at` is complete, and with it maybe the arrays
        // and objects it ends.
        loop {
            let Some(inner) = depth.checked_sub(1) else { return Some(at) };
            let container = &mut open[inner];
            if container.object {
                let after = tape.len() as u32;
                let member = &mut tape[container.slot as usize];
                member.value = (start as u32, at as u32);
                member.after = after;
            }
            let mut byte = *text.get(at)?;
            if let b' ' | b'\t' | b'\n' | b'\r' = byte {
                at = space(text, at);
                byte = *text.get(at)?;
            }
            if byte == b',' {
                at = separator_space(text, at + 1);
                if container.object {
                    at = member(text, at, container, tape)?;
                }
                continue 'value;
            }
            (byte == if container.object { b'}' } else { b']' }).then_some(())?;
            at += 1;
            start = container.start as usize;
            depth = inner;
        }
    }
}

/// Reads the key of a member of `object` at `at` and the `:` after it,
/// recording the member in `tape`; where its value starts.
#[inline(always)]
fn member(text: &[u8], at: usize, object: &mut Open, tape: &mut Tape) -> Option<usize> {
    (object.members < MAX_MEMBERS as u8).then_some(())?;
    let at = expect(text, at, b'"')?;
    let end = string_end(text, at + 1)?;
    let key = ((at + 1) as u32, end as u32);
    // The byte before the closing quote: the opening one for an empty key.
    let last = text[end - 1];
    let bit = 1 << ((end - at + 7 * usize::from(last)) % 64);
    if object.keys & bit != 0 {
        distinct(text, tape, object.first as usize, key).then_some(())?;
    }
    object.keys |= bit;
    object.slot = tape.len() as u32;
    object.members += 1;
    tape.push(Member { key, value: (0, 0), after: 0 });
    let at = expect(text, end + 1, b':')?;
    Some(separator_space(text, at + 1))
}

/// Whether `key` differs from the keys of the members of an object already
/// in `tape`, from `first` on.
fn distinct(text: &[u8], tape: &Tape, first: usize, key: Span) -> bool {
    let text = |(from, to): Span| &text[from as usize..to as usize];
    let mut index = first;
    while index < tape.len() {
        let member = &tape[index];
        if text(member.key) == text(key) {
            return false;
        }
        index = member.after as usize;
    }
    true
}

/// Where the string whose contents start at `at` ends (its closing quote),
/// if it has no escapes or control characters.
#[inline(always)]
fn string_end(text: &[u8], at: usize) -> Option<usize> {
    let rest = text.get(at..)?;
    let len = plain_run(rest, special_in_string, |b| PLAIN_IN_STRING[usize::from(b)]);
    (*rest.get(len)? == b'"').then_some(at + len)
}

/// Where the integer at `at` ends, if it is one `serde_json` reads as the
/// same integer and writes back as the same text.
fn integer_end(text: &[u8], at: usize) -> Option<usize> {
    let negative = text[at] == b'-';
    let start = at + usize::from(negative);
    let end = start + plain_run(&text[start..], not_digit, |b| b.is_ascii_digit());
    let plain = match &text[start..end] {
        [] => false,
        [b'0'] => !negative,
        [b'0', ..] => false,
        digits => digits.len() <= 18,
    };
    (plain && !matches!(text.get(end), Some(b'.' | b'e' | b'E'))).then_some(end)
}

fn literal_end(text: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    text[at..].starts_with(word).then_some(at + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const RTC: &str = r#"{"timestamp": {"seconds": 1795276272, "microseconds": 151277}, "event": "RTC_CHANGE", "data": {"offset": -3, "qom-path": "/machine/unattached/device[7]"}}"#;

    fn check(text: &str) -> Option<OwnedRaw> {
        Raw::check(text.as_bytes(), &mut Tape::new()).map(|raw| raw.to_owned())
    }

    #[test]
    fn reads_members_and_writes_what_serde_json_writes() {
        let mut tape = Tape::new();
        let raw = Raw::check(RTC.as_bytes(), &mut tape).unwrap();
        assert_eq!(raw.get("event").and_then(|v| v.as_str()), Some("RTC_CHANGE"));
        let data = raw.get("data").unwrap();
        assert_eq!(data.get("offset").and_then(|v| v.as_i64()), Some(-3));
        assert_eq!(data.get("offset").and_then(|v| v.as_u64()), None);
        assert_eq!(data.get("missing"), None);
        let keys: Vec<&str> = raw.members().map(|(k, _)| k).collect();
        assert_eq!(keys, ["timestamp", "event", "data"]);
        // Keys of one length and last byte ("ab", "cb") are told apart.
        let same_bits = r#"{"ab": 1, "cb": {"ab": 2, "": 3}, "b": 4}"#;
        for text in [RTC, r#" {"a": [1, true, null, {"b": []}], "c": {}, "é": "ü x"} "#, same_bits, "[]", "0", "-12"]
        {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(check(text).unwrap().raw().compact(), value.to_string(), "{text}");
        }
    }

    /// Integers read as `serde_json` reads them; anything else is none.
    #[test]
    fn integers_as_serde_json_reads_them() {
        for text in ["0", "7", "-3", "123456789012345678", "-123456789012345678", r#""5""#, "true", "null", "{}", "[1]"]
        {
            let line = format!(r#"{{"a": {text}}}"#);
            let value: Value = serde_json::from_str(text).unwrap();
            let mut tape = Tape::new();
            let raw = Raw::check(line.as_bytes(), &mut tape).unwrap().get("a").unwrap();
            assert_eq!((raw.as_i64(), raw.as_u64()), (value.as_i64(), value.as_u64()), "{text}");
        }
    }

    /// Members are found through the tape, past nested objects and arrays,
    /// in the checked text and in an owned copy of a part of it.
    #[test]
    fn nested_members_from_the_tape() {
        let text = r#"{"a": [{"x": 1}, {"y": 2}], "b": {"c": {"d": "e"}, "f": 3}, "g": {}, "h": 4}"#;
        let mut tape = Tape::new();
        let raw = Raw::check(text.as_bytes(), &mut tape).unwrap();
        let keys: Vec<&str> = raw.members().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b", "g", "h"]);
        assert_eq!(raw.get("a").unwrap().members().count(), 0, "an array has no members");
        assert_eq!(raw.get("g").unwrap().members().count(), 0);
        assert_eq!(raw.get("h").and_then(|h| h.as_i64()), Some(4));
        let b = raw.get("b").unwrap();
        for b in [b, b.to_owned().raw()] {
            assert_eq!(b.text(), r#"{"c": {"d": "e"}, "f": 3}"#);
            assert_eq!(b.get("c").and_then(|c| c.get("d")).and_then(|d| d.as_str()), Some("e"));
            assert_eq!(b.get("f").and_then(|f| f.as_i64()), Some(3));
            assert_eq!(b.get("d"), None, "a nested member is not the object's own");
        }
    }

    /// The word-at-a-time searches stop where byte loops do: every byte
    /// value at each position, after plain bytes (for strings ASCII, UTF-8
    /// and the neighbours of the special bytes).
    #[test]
    fn runs_end_where_a_byte_loop_says() {
        for byte in 0..=u8::MAX {
            for at in 0..20 {
                for plain in [b'a', 0x7f, 0xc3, 0xff, b' ', b'!', b'#', b'[', b']', b'0'] {
                    let mut text = vec![b'"'];
                    text.extend(std::iter::repeat_n(plain, at));
                    text.push(byte);
                    text.extend_from_slice(b"xyz\"");
                    let plain_bytes = text[1..].iter().take_while(|&&b| PLAIN_IN_STRING[usize::from(b)]).count();
                    let want = (text[1 + plain_bytes] == b'"').then_some(1 + plain_bytes);
                    assert_eq!(string_end(&text, 1), want, "{byte:#x} after {at} x {plain:#x}");
                }
                let mut digits: Vec<u8> = (b'0'..=b'9').cycle().take(at).collect();
                digits.push(byte);
                digits.extend_from_slice(b"12, ");
                let want = digits.iter().take_while(|b| b.is_ascii_digit()).count();
                assert_eq!(plain_run(&digits, not_digit, |b| b.is_ascii_digit()), want, "{byte:#x} after {at} digits");
            }
        }
    }

    /// Whitespace is skipped where `serde_json` skips it (one space, more,
    /// other kinds, or none, at any place between tokens) and anything else
    /// there is refused, as is every truncated text.
    #[test]
    fn whitespace_and_truncation_as_serde_json_reads_them() {
        let tokens = [
            "{", r#""a""#, ":", "[", "1", ",", "{", r#""b""#, ":", r#""c""#, "}", ",", "[", "]", "]", ",", r#""d""#,
            ":", "{", "}", ",", r#""e""#, ":", "-7", "}",
        ];
        let serde = |text: &str| serde_json::from_str::<Value>(text).ok().map(|value| value.to_string());
        let ours = |text: &str| check(text).map(|raw| raw.raw().compact());
        for filler in ["", " ", "  ", "\t", "\n", "\r\n", " \t\n ", "\x0b", "\x0c", "\u{a0}", "x", ",", ":"] {
            for at in 0..=tokens.len() {
                let mut text = String::new();
                for (index, token) in tokens.iter().enumerate() {
                    if index == at {
                        text.push_str(filler);
                    }
                    text.push_str(token);
                }
                if at == tokens.len() {
                    text = tokens.join(filler);
                }
                assert_eq!(ours(&text), serde(&text), "{text:?}");
                for cut in (0..text.len()).filter(|&cut| text.is_char_boundary(cut)) {
                    assert_eq!(ours(&text[..cut]), None, "{:?}", &text[..cut]);
                }
            }
        }
    }

    /// Keys of every length up to 24 bytes, equal or differing at any one place.
    #[test]
    fn short_keys_compare_as_slices_do() {
        let key = b"abcdefghijklmnopqrstuvwx";
        for len in 0..=key.len() {
            let a = &key[..len];
            assert!(same_short(a, a), "{len}");
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] = b'.';
                assert!(!same_short(a, &b), "{len} bytes differing at {at}");
            }
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
            r#"{"x": 1, "y": {"x": 2}, "x": 3}"#,
            r#"{"": 1, "": 2}"#,
            r#"{"a": 1,}"#,
            r#"{"a" 1}"#,
            r#"{"a": 1} x"#,
            r#"{"a": tru}"#,
            "",
            "{",
            r#"{"a": [1 2]}"#,
            &format!("{}{}", "[".repeat(17), "]".repeat(17)),
        ] {
            assert_eq!(check(text), None, "{text}");
        }
        assert!(Raw::check(&[b'"', 0xff, b'"'], &mut Tape::new()).is_none(), "invalid UTF-8");
        assert!(check(&format!("{}{}", "[".repeat(16), "]".repeat(16))).is_some());
    }
}
