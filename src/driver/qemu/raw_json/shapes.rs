//! Line shapes: the walk of [`Raw::check`] remembered for lines that differ
//! from one it accepted only in their scalar values, as QEMU's events of one
//! kind do (timestamps, ports, hosts, names).
//!
//! A line the walk accepted is learned as its *shape*: the line cut into
//! literal bytes (keys, punctuation, whitespace, `true`/`false`/`null`,
//! arrays' contents) and value slots, the members' string values (their
//! contents, without the quotes) and integer values; with the tape the walk
//! recorded, each position in it taken relative to the end of the slot
//! before it. A later line matches the shape if it has the same literals,
//! byte for byte, and in each slot what the walk's own readers take as a
//! token of that kind ending there: [`string_end`] (plain bytes up to a
//! closing quote, which the literal after the slot starts with) or
//! [`integer_end`] (after a `-` or a digit, which the walk's dispatch asks
//! for); and nothing after its last literal. Its tape is then the shape's,
//! each position moved by the slots' new ends.
//!
//! Why that is what the walk gives: the walk reads a line from left to
//! right, and every byte it looks at is in a literal, or within a slot's
//! token read by one of the readers above, or the first byte of an integer
//! slot, whose class (`-` or digit, not whitespace) is the same in both
//! lines. So on a line that matches, the walk meets the same tokens in the
//! same order, with the same whitespace around them: it makes the same
//! decisions (the same nesting, the same member counts, the same keys,
//! which are literals, hence the same duplicate-key checks), accepts the
//! line and records the tape of the shape's line with each position moved
//! by how much longer or shorter the slots before it are. The UTF-8 check
//! and the length limit are done on every line first, as the walk does.
//! Matching is thus only a faster way to the walk's answer: a line that
//! matches no shape is walked (and learned), and the differential tests
//! below and the `qmp_lines` fuzz target compare both on every line.
//!
//! QEMU's events all start `{"timestamp": {"seconds": N, "microseconds": N},
//! "event": "NAME", "data": ...`, the name a slot: shapes mostly differ
//! after the first few steps (a literal and the slot after it). Where a
//! shape fails, the next one tried is one that shares every step the line
//! matched so far, and it goes on from there: a mix of kinds costs a failed
//! word compare or two per shape tried, not a match from the start each.
//! The shape tried first is the one that followed the last line's shape
//! the last time (a stream of one kind repeats its shape, a sequence of
//! kinds its order).
//!
//! A line that matches no shape costs the walk, the failed tries and its
//! learning (together about three walks). Where such lines outweigh those
//! that match ([`MISS_COST`]), as in a stream whose shapes never repeat,
//! the cache rests: the walk alone checks the next [`REST`] lines, the one
//! after them is tried and learned, and so on until lines match again.
//! (Measured with `cost_per_line` below under callgrind, instructions per
//! line, walk to shapes: the burst's kinds in turn 2609 to 1260, in a
//! random order 2617 to 1511; lines whose shapes never repeat 2663 to 2785,
//! every fifth line's shape new 2628 to 2726.)

use super::{integer_end, same_short, string_end, Member, Raw, Span, Tape, HIGHS, ONES};

/// How many shapes a cache keeps: the kinds of event a busy stream mixes
/// (one byte for each in a word: see [`Shapes::shared`]).
const MAX_SHAPES: usize = 8;
/// Longer lines are not learned (with [`MAX_SHAPES`], what bounds the
/// cache's memory: a few KiB for each shape).
const MAX_LINE: usize = 2048;
/// What a line that matches no shape costs, in lines that match one: its
/// failed tries and its learning cost about what matching saves on four or
/// five (counted high: wherever lines that match no shape do not rest the
/// cache, the matches more than pay for them).
const MISS_COST: u32 = 8;
/// How far misses may outweigh matches before a miss rests the cache (16
/// misses in a row: enough to learn a stream's kinds when it starts).
const MAX_DEBT: u32 = 128;
/// How many lines the walk alone checks while the cache rests, neither
/// matching nor learning: a stream whose shapes never repeat costs little
/// more than the walk, and one that turns regular again is matched again.
const REST: u32 = 63;
/// Lines with more value slots are not learned (one less than a power of
/// two: see [`Shape::fill`]).
const MAX_SLOTS: usize = 31;

/// What follows a step's literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// A string's contents.
    Text,
    Integer,
    /// The end of the line.
    End,
}

/// A literal (where it is in [`Shape::literals`]) and what follows it.
#[derive(Clone, Copy, Debug)]
struct Step {
    literal: (u16, u16),
    slot: Slot,
}

/// A member of the tape of a shape's line, its positions relative to the
/// ends of slots: its key (`key.0..key.1`) and the start of its value
/// (`value`), which no slot separates, that many bytes after the end of
/// slot `anchor - 1` (after the start of the line for anchor 0); the end of
/// its value `end.1` bytes after the end of slot `end.0 - 1`.
#[derive(Clone, Copy, Debug)]
struct Entry {
    anchor: u8,
    key: (u16, u16),
    value: u16,
    end: (u8, u16),
    after: u32,
}

#[derive(Clone, Debug, Default)]
struct Shape {
    literals: Vec<u8>,
    steps: Vec<Step>,
    entries: Vec<Entry>,
    /// Where the checked value is, without the whitespace around it: at
    /// `span.0` in the first literal, and `span.1.1` bytes after the end of
    /// slot `span.1.0 - 1` (or of the first literal).
    span: (u16, (u8, u16)),
    object: bool,
    /// The tape of the last line that matched (or was learned), where its
    /// slots ended and where its value was: the next line's, if its slots
    /// end at the same places (as the lines of a stream mostly do).
    last: Tape,
    last_ends: Ends,
    last_span: Span,
    /// When the shape last matched or was learned (for replacing the one
    /// least recently used).
    used: u32,
    /// The shape of the line after the last line of this shape: the one
    /// tried first after it (a stream of one kind repeats its shape, a
    /// sequence of kinds its order).
    next: usize,
}

/// Where the slots of a line end (index 0: the start of the line).
type Ends = [u32; MAX_SLOTS + 1];

/// A failed match: the step that failed and where the line's part for it
/// starts. The steps before it matched.
struct Failed {
    step: usize,
    at: usize,
}

impl Shape {
    fn literal(&self, step: &Step) -> &[u8] {
        &self.literals[usize::from(step.literal.0)..usize::from(step.literal.1)]
    }

    /// Matches `text` against the steps from `first` on, the part of `text`
    /// for `first` starting at `at`; records where each slot ends.
    fn follow(&self, text: &[u8], first: usize, mut at: usize, ends: &mut Ends) -> Result<(), Failed> {
        for (index, step) in self.steps.iter().enumerate().skip(first) {
            let failed = Failed { step: index, at };
            let literal = self.literal(step);
            match text.get(at..at + literal.len()) {
                Some(part) if same_short(part, literal) => at += literal.len(),
                _ => return Err(failed),
            }
            at = match step.slot {
                Slot::Text => string_end(text, at).ok_or(failed)?,
                Slot::Integer if matches!(text.get(at), Some(b'-' | b'0'..=b'9')) => {
                    integer_end(text, at).ok_or(failed)?
                }
                Slot::Integer => return Err(failed),
                Slot::End if at == text.len() => return Ok(()),
                Slot::End => return Err(failed),
            };
            // Within the line's u32 length (checked first).
            ends[index + 1] = at as u32;
        }
        // Every shape ends with `Slot::End`.
        Err(Failed { step: self.steps.len(), at })
    }

    /// How many steps from the start `self` and `other` have in common.
    fn shared(&self, other: &Shape) -> usize {
        let same = |(a, b): (&Step, &Step)| a.slot == b.slot && self.literal(a) == other.literal(b);
        self.steps.iter().zip(&other.steps).take_while(|&pair| same(pair)).count()
    }

    /// This shape made into `text`'s, the walk having accepted `text` with
    /// `tape`, the value at `span` (`text` [`learnable`]).
    fn learn(&mut self, text: &[u8], tape: &[Member], span: Span) {
        self.literals.clear();
        self.steps.clear();
        self.entries.clear();
        let mut from = 0;
        for (index, (slot, (start, end))) in slots(text, tape).enumerate() {
            self.last_ends[index + 1] = end;
            self.push_step(&text[from..start as usize], slot);
            from = end as usize;
        }
        self.push_step(&text[from..], Slot::End);
        self.last.clear();
        self.last.extend_from_slice(tape);
        self.last_span = span;
        let slot_ends = &self.last_ends[1..self.steps.len()];
        let at = |position: u32| {
            // The slots ending at or before `position` (none contains it).
            let anchor = slot_ends.partition_point(|&end| end <= position);
            let base = anchor.checked_sub(1).map_or(0, |slot| slot_ends[slot]);
            // At most MAX_SLOTS anchors, offsets within MAX_LINE.
            (anchor as u8, (position - base) as u16)
        };
        self.entries.extend(tape.iter().map(|member| {
            let (anchor, key) = at(member.key.0);
            let offset = |position: u32| (position - (member.key.0 - u32::from(key))) as u16;
            Entry {
                anchor,
                key: (key, offset(member.key.1)),
                value: offset(member.value.0),
                end: at(member.value.1),
                after: member.after,
            }
        }));
        self.span = (span.0 as u16, at(span.1));
        self.object = text[span.0 as usize] == b'{';
    }

    fn push_step(&mut self, literal: &[u8], slot: Slot) {
        let start = self.literals.len() as u16;
        self.literals.extend_from_slice(literal);
        self.steps.push(Step { literal: (start, self.literals.len() as u16), slot });
    }

    /// The tape of a line that matched, its slots ending at `ends`, and
    /// where its value is.
    fn tape(&mut self, ends: &Ends) -> (&[Member], Span) {
        let slots = self.steps.len();
        if ends[..slots] != self.last_ends[..slots] {
            self.last_span = self.fill(ends);
            self.last_ends = *ends;
        }
        (&self.last, self.last_span)
    }

    /// [`Shape::last`] made the tape of a line whose slots end at `ends`.
    fn fill(&mut self, ends: &Ends) -> Span {
        // Anchors are at most MAX_SLOTS: the mask only spares a bounds check.
        let end = |anchor: u8| ends[usize::from(anchor) & MAX_SLOTS];
        self.last.clear();
        self.last.extend(self.entries.iter().map(|entry| {
            let base = end(entry.anchor);
            Member {
                key: (base + u32::from(entry.key.0), base + u32::from(entry.key.1)),
                value: (base + u32::from(entry.value), end(entry.end.0) + u32::from(entry.end.1)),
                after: entry.after,
            }
        }));
        (u32::from(self.span.0), end(self.span.1 .0) + u32::from(self.span.1 .1))
    }
}

/// The value slots of `text`, which the walk accepted with `tape`, in the
/// order of the text (the tape's): the members' integers, and the contents
/// of their strings but for those of the outermost object, which stay
/// literal (an event's name, a reply's id): QEMU's events then have a shape
/// for each kind, whose values have the same lengths from line to line.
fn slots<'t>(text: &'t [u8], tape: &'t [Member]) -> impl Iterator<Item = (Slot, Span)> + 't {
    // The next member of the outermost object (members of nested objects
    // come between its members).
    let mut outermost = 0;
    tape.iter().enumerate().filter_map(move |(index, member)| {
        let nested = index != outermost;
        if !nested {
            outermost = member.after as usize;
        }
        let (start, end) = member.value;
        match text[start as usize] {
            b'"' if nested => Some((Slot::Text, (start + 1, end - 1))),
            b'-' | b'0'..=b'9' => Some((Slot::Integer, (start, end))),
            _ => None,
        }
    })
}

/// Whether a shape may be learned from `text`, which the walk accepted with
/// `tape`: not too long, not too many slots.
fn learnable(text: &[u8], tape: &[Member]) -> bool {
    text.len() <= MAX_LINE && slots(text, tape).nth(MAX_SLOTS).is_none()
}

/// The shapes of the lines a thread checked last ([`Raw::check_with`]): at
/// most [`MAX_SHAPES`], the least recently used replaced by a new one.
#[derive(Clone, Debug, Default)]
pub struct Shapes {
    shapes: Vec<Shape>,
    /// How many steps from the start each two shapes have in common: byte
    /// `b` of row `a` for shapes `a` and `b` (eight bytes, one word: the
    /// shapes to try next are found with a few word operations).
    shared: [u64; MAX_SHAPES],
    /// The shape of the last line, if it matched or was learned.
    last: usize,
    clock: u32,
    /// How far misses outweigh matches ([`MISS_COST`]).
    debt: u32,
    /// How many more lines the cache rests ([`REST`]).
    rest: u32,
    /// Where the slots of the line being matched end: kept here rather than
    /// cleared on the stack for every line (every slot a match reads, it
    /// wrote first; slot 0, the start of the line, stays 0).
    ends: Ends,
}

impl Shapes {
    /// The shape `text` matches (its index); where its slots end is in
    /// `self.ends`.
    fn find(&mut self, text: &[u8]) -> Option<usize> {
        let ends = &mut self.ends;
        let mut shape = self.shapes.get(self.last)?.next;
        let (mut step, mut at) = (0, 0);
        // The high bit of the byte of each shape tried, or not in use.
        let mut left_out = HIGHS.checked_shl(8 * self.shapes.len() as u32).unwrap_or(0);
        loop {
            left_out |= 0x80 << (8 * shape);
            match self.shapes.get(shape)?.follow(text, step, at, ends) {
                Ok(()) => break,
                // One that shares the steps matched, not the one that failed
                // (nor one that shares more: it fails there too).
                Err(failed) => {
                    (step, at) = (failed.step, failed.at);
                    // At most MAX_SLOTS + 1 steps: one byte.
                    let other = self.shared[shape] ^ (ONES * step as u64);
                    let not_zero = (((other & !HIGHS) + !HIGHS) | other) & HIGHS;
                    let candidates = !not_zero & HIGHS & !left_out;
                    (candidates != 0).then_some(())?;
                    shape = candidates.trailing_zeros() as usize / 8;
                }
            }
        }
        self.follows(shape);
        self.debt = self.debt.saturating_sub(1);
        Some(shape)
    }

    /// Whether the cache rests for this line.
    fn resting(&mut self) -> bool {
        let resting = self.rest > 0;
        self.rest = self.rest.saturating_sub(1);
        resting
    }

    /// `text`, which the walk accepted with `tape`, the value at `span`,
    /// matched no shape: its shape is learned, and the cache rests if misses
    /// outweigh matches too far. Out of line: a stream mostly matches, and
    /// the code every event runs through stays on few pages.
    #[inline(never)]
    fn missed(&mut self, text: &[u8], tape: &[Member], span: Span) {
        self.learn(text, tape, span);
        self.debt += MISS_COST;
        if self.debt > MAX_DEBT {
            self.debt = MAX_DEBT;
            self.rest = REST;
        }
    }

    /// Learns the shape of `text`, which the walk accepted with `tape`, the
    /// value at `span`, in place of the one least recently used if full.
    fn learn(&mut self, text: &[u8], tape: &[Member], span: Span) {
        if !learnable(text, tape) {
            return;
        }
        let index = if self.shapes.len() < MAX_SHAPES {
            self.shapes.push(Shape::default());
            self.shapes.len() - 1
        } else {
            let age = |&index: &usize| self.clock.wrapping_sub(self.shapes[index].used);
            (0..MAX_SHAPES).max_by_key(age).unwrap_or(0)
        };
        self.shapes[index].learn(text, tape, span);
        self.relink(index);
        self.follows(index);
    }

    /// Shape `index` is the last line's, after the one before.
    fn follows(&mut self, index: usize) {
        self.clock = self.clock.wrapping_add(1);
        self.shapes[index].used = self.clock;
        if let Some(before) = self.shapes.get_mut(self.last) {
            before.next = index;
        }
        self.last = index;
    }

    /// Counts the steps shape `index` shares with each other one.
    fn relink(&mut self, index: usize) {
        let set = |row: &mut u64, at: usize, shared: u64| *row = *row & !(0xff << (8 * at)) | shared << (8 * at);
        for other in 0..self.shapes.len() {
            // At most MAX_SLOTS + 1 steps: one byte.
            let shared = self.shapes[index].shared(&self.shapes[other]) as u64;
            set(&mut self.shared[index], other, shared);
            set(&mut self.shared[other], index, shared);
        }
    }
}

impl<'a> Raw<'a> {
    /// [`Raw::check`], through `shapes`: a line that matches one of them has
    /// its tape filled from it without a walk, and one that does not is
    /// walked and its shape learned. The same result as `check` for every
    /// text.
    pub fn check_with(text: &'a [u8], tape: &'a mut Tape, shapes: &mut Shapes) -> Option<Raw<'a>> {
        if shapes.resting() {
            return Raw::check(text, tape);
        }
        let source = Raw::source(text)?;
        if let Some(shape) = shapes.find(text) {
            let Shapes { shapes, ends, .. } = shapes;
            let shape = &mut shapes[shape];
            let object = shape.object;
            let (members, span) = shape.tape(ends);
            tape.clear();
            tape.extend_from_slice(members);
            let members = if object { (0, tape.len() as u32) } else { (0, 0) };
            return Some(Raw { source, tape, span, members });
        }
        let raw = Raw::walked(source, tape)?;
        shapes.missed(text, raw.tape, raw.span);
        Some(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BURST: &str = include_str!("../../../../bench/data/qemu10-events.jsonl");

    /// `text` through `shapes` gives what the walk gives: the same answer,
    /// and if accepted the same text, spans and tape.
    fn same_as_walk(shapes: &mut Shapes, text: &[u8]) {
        let (mut walked, mut matched) = (Tape::new(), Tape::new());
        let want = Raw::check(text, &mut walked);
        assert_eq!(Raw::check_with(text, &mut matched, shapes), want, "{:?}", String::from_utf8_lossy(text));
    }

    /// Whether `text` matches one of `shapes` (left as they are).
    fn matches(shapes: &Shapes, text: &[u8]) -> bool {
        shapes.clone().find(text).is_some()
    }

    fn learned(lines: &[&str]) -> Shapes {
        let mut shapes = Shapes::default();
        for line in lines {
            same_as_walk(&mut shapes, line.as_bytes());
            assert!(matches(&shapes, line.as_bytes()), "{line}");
        }
        shapes
    }

    /// Every line of the recorded transcripts (each a JSON object, and the
    /// QMP line it records) and of the benchmark's events, in order through
    /// one cache, as the monitor thread reads them.
    #[test]
    fn every_recorded_line_as_the_walk_reads_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qmp");
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).collect();
        files.retain(|path| path.extension().is_some_and(|ext| ext == "jsonl"));
        files.sort();
        let mut lines = Vec::new();
        for path in &files {
            for line in std::fs::read_to_string(path).unwrap().lines() {
                lines.push(line.to_owned());
                let entry: serde_json::Value = serde_json::from_str(line).unwrap();
                if let Some(raw) = entry.get("raw").and_then(|raw| raw.as_str()) {
                    lines.push(raw.trim_end_matches(['\r', '\n']).to_owned());
                }
            }
        }
        lines.extend(BURST.lines().cycle().take(60).map(str::to_owned));
        let mut shapes = Shapes::default();
        let mut hits = 0;
        for line in &lines {
            hits += usize::from(matches(&shapes, line.as_bytes()));
            same_as_walk(&mut shapes, line.as_bytes());
        }
        assert!(files.len() > 20 && hits > lines.len() / 8, "{hits} of {} lines matched a shape", lines.len());
    }

    /// Lines like those of the burst, each changed at one place (a byte
    /// replaced, deleted or inserted) or cut short, against the shapes of
    /// all of them.
    #[test]
    fn every_change_of_a_byte_as_the_walk_reads_it() {
        let originals: Vec<&str> =
            BURST.lines().chain([r#"{"return": {"a": [1, "x", {"b": -2}], "c": null}, "id": "7"}"#]).collect();
        let shapes = learned(&originals);
        let bytes = b"\"\\{}[],: \t5a\x00\x1f\x80-0.eE".to_vec();
        for original in &originals {
            let original = original.as_bytes();
            let mut variants = Vec::new();
            for at in 0..=original.len() {
                variants.push(original[..at].to_vec());
                for &byte in &bytes {
                    variants.push([&original[..at], &[byte], &original[at..]].concat());
                    if at < original.len() {
                        variants.push([&original[..at], &[byte], &original[at + 1..]].concat());
                    }
                }
                if at < original.len() {
                    variants.push([&original[..at], &original[at + 1..]].concat());
                }
            }
            for variant in variants {
                same_as_walk(&mut shapes.clone(), &variant);
            }
        }
    }

    /// The values of a shape's slots at and past what the walk takes.
    #[test]
    fn slots_take_what_the_walk_takes() {
        let rtc = |offset: &str, path: &str| {
            format!(
                r#"{{"timestamp": {{"seconds": 1, "microseconds": 2}}, "event": "RTC_CHANGE", "data": {{"offset": {offset}, "qom-path": "{path}"}}}}"#
            )
        };
        let shapes = learned(&[&rtc("-3", "/machine")]);
        let taken = ["0", "7", "-7", "10", "123456789012345678", "-123456789012345678"];
        let refused = ["-0", "01", "-01", "-", "1234567890123456789", "1.5", "1e3", "1E3", "+1", "", "x", "\"1\""];
        for offset in taken.iter().chain(&refused) {
            let line = rtc(offset, "/machine");
            assert_eq!(matches(&shapes, line.as_bytes()), taken.contains(offset), "{line}");
            same_as_walk(&mut shapes.clone(), line.as_bytes());
        }
        let taken = ["", "x", "é", "a b", "{}", "[", "'", "\u{7f}", "\u{ffff}"];
        let refused = ["\\\"", "\\n", "\\u0041", "\"", "\t", "\u{1f}", "\\"];
        for path in taken.iter().chain(&refused) {
            let line = rtc("5", path);
            assert_eq!(matches(&shapes, line.as_bytes()), taken.contains(path), "{line}");
            same_as_walk(&mut shapes.clone(), line.as_bytes());
        }
        let mut invalid = rtc("5", "ab").into_bytes();
        let at = invalid.len() - 5;
        invalid[at] = 0xff;
        assert!(matches(&shapes, &invalid), "bytes the walk reads as plain (UTF-8 is checked first)");
        same_as_walk(&mut shapes.clone(), &invalid);
    }

    /// A line that has a shape's start but more or fewer members, or other
    /// whitespace, is walked.
    #[test]
    fn other_members_or_whitespace_are_walked() {
        let line = r#"{"event": "X", "data": {"a": 1, "b": "c"}}"#;
        let shapes = learned(&[line]);
        for other in [
            r#"{"event": "X", "data": {"a": 1, "b": "c", "d": 2}}"#,
            r#"{"event": "X", "data": {"a": 1, "b": "c"}, "data": {}}"#,
            r#"{"event": "X", "data": {"a": 1, "b": "c"}} x"#,
            r#"{"event": "X", "data": {"a": 1, "b": "c"}}}"#,
            r#"{"event": "X", "data": {"a": 1}}"#,
            r#"{"event": "X", "data": {"a": 1, "b": "c"}} "#,
            r#"{"event": "X", "data": {"a": 1 , "b": "c"}}"#,
            r#"{"event": "X", "data": {"a": 1, "b": "c"}, "event": "Y"}"#,
            r#" {"event": "X", "data": {"a": 1, "b": "c"}}"#,
        ] {
            assert!(!matches(&shapes, other.as_bytes()), "{other}");
            same_as_walk(&mut shapes.clone(), other.as_bytes());
        }
    }

    /// Lines whose shapes never repeat rest the cache (the walk alone
    /// checks most of them); lines that repeat again are matched again.
    #[test]
    fn rests_while_shapes_do_not_repeat() {
        let kinds: Vec<&str> = BURST.lines().collect();
        let mut shapes = Shapes::default();
        let mut learned = 0;
        for n in 0..600 {
            let line = kinds[n % kinds.len()].replacen("\"data\"", &format!("\"data{n}\""), 1);
            let clock = shapes.clock;
            same_as_walk(&mut shapes, line.as_bytes());
            learned += usize::from(shapes.clock != clock);
        }
        assert!(learned < 100, "{learned} of 600 new shapes learned");
        let mut hits = Vec::new();
        for n in 0..1200 {
            let line = kinds[n % kinds.len()];
            let clock = shapes.clock;
            same_as_walk(&mut shapes, line.as_bytes());
            hits.push(shapes.clock != clock && matches(&shapes, line.as_bytes()));
        }
        // A shape is learned at each probe that misses, a few hundred lines.
        assert!(hits[600..].iter().all(|&hit| hit), "matched again: {hits:?}");
    }

    /// The cache keeps at most MAX_SHAPES, the least recently used
    /// replaced; lines too long or with too many slots are walked, not
    /// learned.
    #[test]
    fn the_cache_is_bounded() {
        let mut shapes = Shapes::default();
        let line = |kind: usize| format!(r#"{{"event": "E", "data": {{"k{kind}": {kind}}}}}"#);
        for kind in 0..3 * MAX_SHAPES {
            same_as_walk(&mut shapes, line(kind).as_bytes());
            // The first one stays in use (and keeps the cache from resting).
            for _ in 0..MISS_COST {
                same_as_walk(&mut shapes, line(0).as_bytes());
            }
            assert!(shapes.shapes.len() <= MAX_SHAPES);
        }
        assert!(matches(&shapes, line(0).as_bytes()));
        assert!(matches(&shapes, line(3 * MAX_SHAPES - 1).as_bytes()));
        assert!(!matches(&shapes, line(1).as_bytes()));
        let long = format!(r#"{{"event": "{}"}}"#, "x".repeat(MAX_LINE));
        let slots =
            |n: usize| format!("[{}]", (0..n).map(|n| format!(r#"{{"{n}": {n}}}"#)).collect::<Vec<_>>().join(", "));
        let (many, fewer) = (slots(MAX_SLOTS + 1), slots(MAX_SLOTS));
        for text in [long, many, fewer.clone()] {
            let mut shapes = Shapes::default();
            same_as_walk(&mut shapes, text.as_bytes());
            assert_eq!(matches(&shapes, text.as_bytes()), text == fewer, "{text}");
        }
    }

    /// Lines checked by the walk alone and through a cache, timed: the
    /// burst's kinds in turn and in a random order (their timestamps
    /// varying), lines whose shapes never repeat (the worst case: a walk, a
    /// failed match and a shape learned for each), and those in turn with
    /// every fifth line's shape new. Run with `--ignored
    /// --nocapture` (or under callgrind: each case is its own function).
    #[test]
    #[ignore]
    fn cost_per_line() {
        let kinds: Vec<&str> = BURST.lines().collect();
        let mut seed = 7u64;
        let mut random = |bound: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % bound
        };
        let stamped = |kind: &str, n: usize| kind.replacen("549558", &format!("{}", 10000 + n * 37 % 990000), 1);
        let count = 60_000;
        let in_turn: Vec<String> = (0..count).map(|n| stamped(kinds[n % kinds.len()], n)).collect();
        let mixed: Vec<String> = (0..count).map(|n| stamped(kinds[random(kinds.len())], n)).collect();
        let new: Vec<String> =
            (0..count).map(|n| kinds[n % kinds.len()].replacen("\"data\"", &format!("\"data{n}\""), 1)).collect();
        let some_new: Vec<String> =
            (0..count).map(|n| if n % 5 == 0 { new[n].clone() } else { in_turn[n].clone() }).collect();
        let cases =
            [("in turn", &in_turn), ("random order", &mixed), ("never repeating", &new), ("one in 5 new", &some_new)];
        for (name, lines) in cases {
            let walk = best_of(5, || walk_all(lines));
            let shapes = best_of(5, || shapes_all(lines));
            let per_line = |d: std::time::Duration| d.as_nanos() as f64 / lines.len() as f64;
            println!("{name:16} walk {:6.1} ns/line, shapes {:6.1} ns/line", per_line(walk), per_line(shapes));
        }
    }

    fn best_of(runs: usize, run: impl Fn() -> usize) -> std::time::Duration {
        (0..runs)
            .map(|_| {
                let start = std::time::Instant::now();
                std::hint::black_box(run());
                start.elapsed()
            })
            .min()
            .unwrap()
    }

    #[inline(never)]
    fn walk_all(lines: &[String]) -> usize {
        let mut tape = Tape::new();
        lines.iter().filter(|line| Raw::check(line.as_bytes(), &mut tape).is_some()).count()
    }

    #[inline(never)]
    fn shapes_all(lines: &[String]) -> usize {
        let (mut tape, mut shapes) = (Tape::new(), Shapes::default());
        lines.iter().filter(|line| Raw::check_with(line.as_bytes(), &mut tape, &mut shapes).is_some()).count()
    }
}
