//! The validating depth-first walk: every parse in this crate runs through [`Walker`].
//!
//! It never recurses. The ends of the outermost open constructed objects are kept in a small
//! fixed array; the end of an object nested deeper than that is found again, when it is
//! needed, by walking down from the deepest remembered object, and the ends met on the way
//! down are kept in a second small window so that the next pops are free. Memory use is
//! therefore constant whatever the nesting depth (see docs/ARCHITECTURE.md, `## tlv`).

use crate::header::{is_filler, read_header_in, rules};
use crate::{Error, Options, Tlv};

/// How many levels of open objects have their end remembered.
const REMEMBERED_LEVELS: usize = 8;
/// How many ends found again by a walk down are kept. Any size is correct; 7 keeps the
/// walker at 19 words with the 9-entry `ends`, which measured best for `for` loops over it
/// (`benches/icount.sh`).
const WINDOW: usize = 7;

/// A validating, depth-first walk over all BER-TLV objects in a buffer, in byte order.
///
/// Each item is `(depth, object)`, depth 1 for top-level objects. The walk checks every
/// header against the [`Mode`](crate::Mode), that every value fits in its enclosing object, and the
/// depth and node limits of its [`Options`]. After the first error it yields nothing more.
///
/// ```
/// use cardwire_tlv::{Options, Tag, Walker};
///
/// // An EMV FCI: 6F { 84 .., A5 { 88 01 01 } }
/// let fci = [0x6F, 0x09, 0x84, 0x02, 0xA0, 0x00, 0xA5, 0x03, 0x88, 0x01, 0x01];
/// let mut tags = Vec::new();
/// for item in Walker::new(&fci, Options::default()) {
///     let (depth, tlv) = item?;
///     tags.push((depth, tlv.tag()));
/// }
/// assert_eq!(tags, [(1, Tag(0x6F)), (2, Tag(0x84)), (2, Tag(0xA5)), (3, Tag(0x88))]);
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Walker<'a> {
    input: &'a [u8],
    /// Offset of `input[0]` in the caller's numbering.
    base: usize,
    /// The rule set (a [`rules`] constant): the mode, or `TRUSTED` for validated bytes.
    rules: u8,
    limits: Limits,
    cursor: Saved,
    deep: OpenEnds,
}

/// A [`Cursor`] between two calls of [`Walker::next`]: the region as its end, so that
/// resuming rebuilds it from the input (whose pointer the compiler then knows) instead of
/// storing and loading a second pointer per object.
#[derive(Clone, Copy, Debug)]
struct Saved {
    pos: usize,
    end: usize,
    open: usize,
    nodes_left: u32,
}

impl Saved {
    #[inline(always)]
    fn resume(self, input: &[u8]) -> Cursor<'_> {
        Cursor {
            pos: self.pos,
            // Every end the walk stores lies within the input; the fallback keeps the pointer.
            region: input.get(..self.end).unwrap_or(input),
            open: self.open,
            nodes_left: self.nodes_left,
        }
    }

    #[inline(always)]
    fn save(cur: Cursor<'_>) -> Self {
        Self {
            pos: cur.pos,
            end: cur.region.len(),
            open: cur.open,
            nodes_left: cur.nodes_left,
        }
    }
}

/// The depth and node limits of [`Options`], in the types the walk compares them in.
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// [`Options::max_depth`] as a count of open objects: a node is too deep when this many
    /// objects are open around it already.
    max_open: usize,
    max_depth: u32,
    max_nodes: u32,
}

/// The scalar state of a walk, kept apart from the arrays of [`OpenEnds`] so that the
/// compiler can hold it in registers. After an error the walk stands at the end of the input
/// at the top level, where it yields nothing more (no separate "failed" flag to test).
#[derive(Clone, Copy, Debug)]
struct Cursor<'a> {
    pos: usize,
    /// The input up to the end of the innermost open object's value (all of it at the top
    /// level): always a prefix of the input, so its pointer is the input's.
    region: &'a [u8],
    /// How many constructed objects are open around `pos`.
    open: usize,
    /// How many more objects the node limit allows.
    nodes_left: u32,
}

/// The ends of the open constructed objects that the walk remembers.
#[derive(Clone, Debug)]
struct OpenEnds {
    /// `ends[i + 1]`: end of the value of open object `i` (outermost first), for
    /// `i < REMEMBERED_LEVELS`. `ends[0]` is the input's end (the top level's), so that leaving any remembered
    /// object is one array read.
    ends: [usize; REMEMBERED_LEVELS + 1],
    /// What the walk knows past the remembered levels; `None` until it first goes that deep
    /// (most walks never do, and then never pay for clearing it).
    far: Option<Far>,
}

/// The state of a walk past [`REMEMBERED_LEVELS`] (see [`OpenEnds::far`]).
#[derive(Clone, Debug)]
struct Far {
    /// Start of the value of open object `REMEMBERED_LEVELS - 1`, where a walk down starts.
    anchor_start: usize,
    /// What the last walk down found: the ends of open objects `window_lo..window_hi`.
    window: Option<DeepEnds>,
}

type Item<'a> = Result<(u32, Tlv<'a>), Error>;

/// Runs `$body` with `$r` bound to the rule set constant of `$rules`: one copy of the
/// (always inlined) step per rule set, with the rule tests folded away.
macro_rules! with_rules {
    ($rules:expr, $r:ident => $body:expr) => {
        match $rules {
            // Lenient first: the default mode takes one comparison.
            rules::LENIENT => {
                const $r: u8 = rules::LENIENT;
                $body
            }
            rules::STRICT => {
                const $r: u8 = rules::STRICT;
                $body
            }
            rules::ISO => {
                const $r: u8 = rules::ISO;
                $body
            }
            _ => {
                const $r: u8 = rules::TRUSTED;
                $body
            }
        }
    };
}

impl<'a> Walker<'a> {
    /// A walk over all of `input` with `opts` (a [`Mode`](crate::Mode) converts into default options).
    pub fn new(input: &'a [u8], opts: impl Into<Options>) -> Self {
        Self::with_base(input, 0, opts.into())
    }

    pub(crate) fn with_base(input: &'a [u8], base: usize, opts: Options) -> Self {
        Self::with_rules(input, base, rules::of(opts.mode), opts)
    }

    /// A walk over bytes that a walk with some [`Options`] validated already: filler is
    /// skipped, and neither the tag and length rules nor the limits are checked again.
    pub(crate) fn trusted(input: &'a [u8], base: usize) -> Self {
        let opts = Options::new()
            .with_max_depth(u32::MAX)
            .with_max_nodes(u32::MAX);
        Self::with_rules(input, base, rules::TRUSTED, opts)
    }

    fn with_rules(input: &'a [u8], base: usize, rules: u8, opts: Options) -> Self {
        Self {
            input,
            base,
            rules,
            limits: Limits {
                max_open: usize::try_from(opts.max_depth).unwrap_or(usize::MAX),
                max_depth: opts.max_depth,
                max_nodes: opts.max_nodes,
            },
            cursor: Saved {
                pos: 0,
                end: input.len(),
                open: 0,
                nodes_left: opts.max_nodes,
            },
            deep: OpenEnds {
                ends: {
                    let mut ends = [0; REMEMBERED_LEVELS + 1];
                    ends[0] = input.len();
                    ends
                },
                far: None,
            },
        }
    }

    /// Walks to the end, returning the first error if any.
    ///
    /// # Errors
    /// Any parse [`Error`] the walk meets.
    #[inline]
    pub fn finish(self) -> Result<(), Error> {
        let Walker {
            input,
            base,
            rules,
            limits,
            cursor,
            mut deep,
        } = self;
        let mut cursor = cursor.resume(input);
        let mut err = None;
        with_rules!(rules, R => {
            while step(R, R != rules::TRUSTED, input, base, &limits, &mut cursor, &mut deep, &mut err).is_some() {}
        });
        err.map_or(Ok(()), Err)
    }

    /// The next object of a trusted walk ([`Walker::trusted`]): the step under the constant
    /// rule set `TRUSTED`, with no rule tests, no limits and no error to carry (validated
    /// bytes cannot fail; if they did, the walk would end).
    #[inline(always)]
    pub(crate) fn next_trusted(&mut self) -> Option<(u32, Tlv<'a>)> {
        let mut cur = self.cursor.resume(self.input);
        let mut err = None;
        let item = step(
            rules::TRUSTED,
            false,
            self.input,
            self.base,
            &self.limits,
            &mut cur,
            &mut self.deep,
            &mut err,
        );
        self.cursor = Saved::save(cur);
        item
    }

    /// Internal iteration of a trusted walk (see [`Walker::next_trusted`]).
    #[inline(always)]
    pub(crate) fn fold_trusted<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, (u32, Tlv<'a>)) -> B,
    {
        let Walker {
            input,
            base,
            limits,
            cursor,
            mut deep,
            ..
        } = self;
        let mut cursor = cursor.resume(input);
        let mut acc = init;
        let mut err = None;
        while let Some(x) = step(
            rules::TRUSTED,
            false,
            input,
            base,
            &limits,
            &mut cursor,
            &mut deep,
            &mut err,
        ) {
            acc = f(acc, x);
        }
        acc
    }
}

impl OpenEnds {
    /// The end of the region the walk is in when `open` objects are open: the input's end
    /// for 0, else the end of open object `open - 1`; `pos` is where the walk stands.
    #[inline(always)]
    fn end_at(&mut self, input: &[u8], pos: usize, open: usize) -> usize {
        match self.ends.get(open) {
            Some(&end) => end,
            None => self.end_of_deep(input, pos, open - 1),
        }
    }

    /// The end of open object `index` past the remembered levels: from the window or a walk down.
    /// Out of line and through `&mut self`, so that the hot loop carries none of the window's
    /// fields in registers.
    #[cold]
    #[inline(never)]
    fn end_of_deep(&mut self, input: &[u8], pos: usize, index: usize) -> usize {
        // Open objects this deep passed `push_deep` at `REMEMBERED_LEVELS - 1`, which set
        // `far`; without it (not reached) the walk down starts at the input's start.
        let far = self.far.get_or_insert(Far {
            anchor_start: 0,
            window: None,
        });
        if let Some(w) = &far.window {
            if (w.window_lo..w.window_hi).contains(&index) {
                if let Some(&end) = w.window.get(index - w.window_lo) {
                    return end;
                }
            }
        }
        let anchor_end = self
            .ends
            .get(REMEMBERED_LEVELS)
            .copied()
            .unwrap_or(input.len());
        let found = find_deep_ends(
            input,
            far.anchor_start,
            anchor_end,
            pos.saturating_sub(1),
            index,
        );
        let end = found.end;
        far.window = Some(found);
        end
    }
}

/// Puts the walk in its terminal state (see [`Cursor`]), stores `error` in `err` and ends the
/// step.
#[inline(always)]
fn fail<'a>(
    cur: &mut Cursor<'a>,
    input: &'a [u8],
    err: &mut Option<Error>,
    error: Error,
) -> Option<(u32, Tlv<'a>)> {
    *cur = Cursor {
        pos: input.len(),
        region: input,
        open: 0,
        nodes_left: 0,
    };
    *err = Some(error);
    None
}

/// One step of the walk under the rule set `r` (see [`rules`]): the next object, or `None`
/// at the end and on an error, which it stores in `err` (the walk then stays at its end).
/// `check_limits` is a constant at every call: false only for trusted walks, which re-read
/// bytes that passed the depth and node limits already.
///
/// The error goes out through `err` rather than in an `Option<Result<..>>`: with the object
/// and the error sharing one returned enum, the compiler carried the enum's bytes around the
/// loop in registers and on the stack (about 30 instructions per object).
// The walk's parts stay separate arguments (not one struct behind a reference) so that the
// compiler keeps the cursor in registers and the arrays in memory.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn step<'a>(
    r: u8,
    check_limits: bool,
    input: &'a [u8],
    base: usize,
    limits: &Limits,
    cur: &mut Cursor<'a>,
    deep: &mut OpenEnds,
    err: &mut Option<Error>,
) -> Option<(u32, Tlv<'a>)> {
    let (at, rest) = loop {
        // `region` is `input[..end]`: one comparison both ends the region and proves that
        // `rest` is not empty (no separate check of `end` against the input).
        if let Some(rest) = cur.region.get(cur.pos..).filter(|rest| !rest.is_empty()) {
            match rest.first() {
                // ISO/IEC 7816-4 §5.2.2: 00 and FF where a tag would start are filler,
                // except in strict mode, where the header reader rejects them. The run of
                // filler is skipped out of line, keeping the hot path free of a loop.
                Some(&b) if r != rules::STRICT && is_filler(b) => {
                    cur.pos += skip_filler(rest);
                    continue;
                }
                _ => break (cur.pos, rest),
            }
        }
        if cur.open == 0 {
            return None;
        }
        cur.open -= 1;
        let end = deep.end_at(input, cur.pos, cur.open);
        // Every remembered end lies within the input; the fallback keeps the same pointer.
        cur.region = input.get(..end).unwrap_or(input);
    };
    let offset = base + at;
    // The hot path only learns whether the header is good; the error (type and offset) is
    // worked out again, out of line, by the same reader (see `header_error`).
    let Some(header) = read_header_in(rest, 0, r).ok() else {
        return fail(cur, input, err, header_error(rest, offset, r));
    };
    // One bounds check proves that the value fits in the enclosing object and gives the
    // object's bytes (the header reader read every header byte from `rest`).
    // `header_len <= 9` and `value_len < 2^32` as types the compiler can see: the sum
    // cannot overflow (on 64-bit targets; saturating elsewhere) and the value starts inside
    // the object, so splitting it off needs no check.
    let header_len = usize::from(header.len);
    let value_len = usize::try_from(header.value_len).unwrap_or(usize::MAX);
    let object_len = header_len.saturating_add(value_len);
    let Some(raw) = rest.get(..object_len) else {
        let error = value_error(cur.open, offset, header.value_len, rest.len() - header_len);
        return fail(cur, input, err, error);
    };
    if check_limits {
        // Trusted walks re-read bytes that passed these limits already.
        if cur.nodes_left == 0 {
            let limit = limits.max_nodes;
            return fail(cur, input, err, Error::TooManyNodes { offset, limit });
        }
        cur.nodes_left -= 1;
        if cur.open >= limits.max_open {
            let limit = limits.max_depth;
            return fail(cur, input, err, Error::TooDeep { offset, limit });
        }
    }
    // Below the depth limit `open + 1` fits in a u32 (the compiler sees it after the check
    // above). A trusted walk re-reads bytes that a walk with such a limit accepted, so the
    // depth fits there too, and the conversion need not saturate.
    #[allow(clippy::cast_possible_truncation)]
    let depth = if check_limits {
        u32::try_from(cur.open + 1).unwrap_or(u32::MAX)
    } else {
        (cur.open + 1) as u32
    };
    let tlv = Tlv::from_parts(header.tag, header.constructed, offset, header_len, raw);
    let value_end = at + object_len;
    if header.constructed {
        if cur.open < REMEMBERED_LEVELS - 1 {
            if let Some(slot) = deep.ends.get_mut(cur.open + 1) {
                *slot = value_end;
            }
        } else {
            deep.push_deep(cur.open, at + header_len, value_end);
        }
        cur.open += 1;
        // `value_end` lies within `region` (the `get` above); the fallback keeps the pointer.
        cur.region = cur.region.get(..value_end).unwrap_or(cur.region);
        cur.pos = at + header_len;
    } else {
        cur.pos = value_end;
    }
    Some((depth, tlv))
}

/// The number of filler bytes (`00`/`FF`) at the start of `rest`.
#[cold]
#[inline(never)]
fn skip_filler(rest: &[u8]) -> usize {
    rest.iter().take_while(|&&b| is_filler(b)).count()
}

/// The error for a value of `length` bytes where only `available` are left: at the top level
/// the input ended early, inside an object the length is wrong.
#[cold]
#[inline(never)]
fn value_error(open: usize, offset: usize, length: u32, available: usize) -> Error {
    if open == 0 {
        Error::TruncatedValue {
            offset,
            needed: usize::try_from(length)
                .unwrap_or(usize::MAX)
                .saturating_sub(available),
        }
    } else {
        Error::LengthBeyondInput {
            offset,
            length,
            available,
        }
    }
}

/// The error [`read_header_in`] reports for the header at the start of `rest`, which sits at
/// `offset`. Kept out of line so that no error value is built in the walk's loop.
#[cold]
#[inline(never)]
fn header_error(rest: &[u8], offset: usize, r: u8) -> Error {
    match read_header_in(rest, offset, r) {
        Err(e) => e,
        // Not reached: called only after the same read failed.
        Ok(_) => Error::TruncatedHeader { offset },
    }
}

impl OpenEnds {
    /// Records open object `index` (at least `REMEMBERED_LEVELS - 1`), whose value is
    /// `value_start..value_end`. Objects above that level are not recorded: the window only
    /// holds levels from `REMEMBERED_LEVELS` on, and every walk back down to them passes here
    /// at `REMEMBERED_LEVELS - 1`, which empties it.
    #[cold]
    #[inline(never)]
    fn push_deep(&mut self, index: usize, value_start: usize, value_end: usize) {
        if let Some(slot) = self.ends.get_mut(index + 1) {
            *slot = value_end;
        }
        let far = self.far.get_or_insert(Far {
            anchor_start: value_start,
            window: None,
        });
        if index == REMEMBERED_LEVELS - 1 {
            far.anchor_start = value_start;
        }
        if let Some(w) = &mut far.window {
            if w.window_hi > index {
                // Window entries from this level down belonged to objects now closed.
                w.window_hi = index.max(w.window_lo);
            }
        }
    }
}

impl<'a> Iterator for Walker<'a> {
    type Item = Item<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let mut cur = self.cursor.resume(self.input);
        let mut err = None;
        // One copy of the step with the rule set read at run time: small enough to inline into
        // the caller's loop, where the rule set is loop-invariant.
        // A walk from `Walker::new` checks the limits; trusted walks use `next_trusted`.
        let item = step(
            self.rules,
            true,
            self.input,
            self.base,
            &self.limits,
            &mut cur,
            &mut self.deep,
            &mut err,
        );
        self.cursor = Saved::save(cur);
        match item {
            Some(x) => Some(Ok(x)),
            None => err.map(Err),
        }
    }

    /// Internal iteration (`for_each`, `count`, `finish`, ...) keeps the cursor in locals.
    #[inline]
    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        let Walker {
            input,
            base,
            rules,
            limits,
            cursor,
            mut deep,
        } = self;
        let mut cursor = cursor.resume(input);
        let mut acc = init;
        let mut err = None;
        with_rules!(rules, R => {
            while let Some(x) = step(R, R != rules::TRUSTED, input, base, &limits, &mut cursor, &mut deep, &mut err) {
                acc = f(acc, Ok(x));
            }
        });
        match err {
            Some(e) => f(acc, Err(e)),
            None => acc,
        }
    }
}

/// What a walk down from the deepest remembered object finds (see [`find_deep_ends`]).
#[derive(Clone, Debug)]
struct DeepEnds {
    end: usize,
    window: [usize; WINDOW],
    window_lo: usize,
    window_hi: usize,
}

/// Finds the end of open object `index` (deeper than the remembered levels) by walking down
/// from the deepest remembered object, whose value is `start..end`, following the object
/// that holds byte `target` (the last byte consumed: inside the object just closed, hence
/// inside all of its ancestors). Also returns the ends of the levels just above `index`.
///
/// Values in, values out, so that the walker's state never escapes into this cold call. The
/// bytes were validated on the way in, so reading them again cannot fail; if it did, the
/// enclosing end is the safe answer.
#[cold]
#[inline(never)]
fn find_deep_ends(
    input: &[u8],
    mut start: usize,
    mut end: usize,
    target: usize,
    index: usize,
) -> DeepEnds {
    let window_lo = (index + 1).saturating_sub(WINDOW).max(REMEMBERED_LEVELS);
    let mut found = DeepEnds {
        end,
        window: [0; WINDOW],
        window_lo,
        window_hi: window_lo,
    };
    for level in REMEMBERED_LEVELS..=index {
        let mut p = start;
        loop {
            while p < end && input.get(p).is_some_and(|&b| is_filler(b)) {
                p += 1;
            }
            let rest = input.get(p..end).unwrap_or_default();
            let Ok(h) = read_header_in(rest, p, rules::TRUSTED) else {
                found.end = end;
                return found;
            };
            let value_start = p + usize::from(h.len);
            let value_end = value_start
                .saturating_add(usize::try_from(h.value_len).unwrap_or(usize::MAX))
                .min(end);
            if target < value_end {
                start = value_start;
                end = value_end;
                if let Some(slot) = level
                    .checked_sub(window_lo)
                    .and_then(|i| found.window.get_mut(i))
                {
                    *slot = end;
                    found.window_hi = level + 1;
                }
                break;
            }
            if value_end <= p {
                found.end = end;
                return found;
            }
            p = value_end;
        }
    }
    found.end = end;
    found
}

impl core::iter::FusedIterator for Walker<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mode, Tag};
    extern crate std;
    use std::vec::Vec;

    fn walk(input: &[u8], opts: Options) -> Result<Vec<(u32, u32, usize)>, Error> {
        Walker::new(input, opts)
            .map(|r| r.map(|(d, t)| (d, t.tag().0, t.offset())))
            .collect()
    }

    /// `v` wrapped in a constructed `A0` with a three-byte long-form length.
    fn wrap(v: Vec<u8>) -> Vec<u8> {
        let n = v.len();
        let mut h = std::vec![0xA0, 0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        h.extend(v);
        h
    }

    /// `depth` nested `A0` objects around `04 00`, built from the inside out.
    fn nested(depth: usize) -> Vec<u8> {
        let mut v = std::vec![0x04, 0x00];
        for _ in 0..depth {
            v = wrap(v);
        }
        v
    }

    #[test]
    fn walks_in_byte_order_with_depths() {
        // EMV FCI from the README: 6F { 84, A5 { 88, 5F2D, 9F11 } }.
        let fci = [
            0x6F, 0x24, 0x84, 0x0E, 0x31, 0x50, 0x41, 0x59, 0x2E, 0x53, 0x59, 0x53, 0x2E, 0x44,
            0x44, 0x46, 0x30, 0x31, 0xA5, 0x12, 0x88, 0x01, 0x01, 0x5F, 0x2D, 0x08, 0x65, 0x6E,
            0x65, 0x73, 0x66, 0x72, 0x64, 0x65, 0x9F, 0x11, 0x01, 0x01,
        ];
        assert_eq!(
            walk(&fci, Options::default()).unwrap(),
            [
                (1, 0x6F, 0),
                (2, 0x84, 2),
                (2, 0xA5, 18),
                (3, 0x88, 20),
                (3, 0x5F2D, 23),
                (3, 0x9F11, 34)
            ]
        );
    }

    #[test]
    fn siblings_after_nested_objects_return_to_the_right_level() {
        let input = [0xA1, 0x04, 0xA2, 0x02, 0x80, 0x00, 0x81, 0x00, 0x82, 0x00];
        assert_eq!(
            walk(&input, Options::default()).unwrap(),
            [
                (1, 0xA1, 0),
                (2, 0xA2, 2),
                (3, 0x80, 4),
                (1, 0x81, 6),
                (1, 0x82, 8)
            ]
        );
    }

    #[test]
    fn thousands_of_levels_do_not_overflow_the_stack() {
        let input = nested(5000);
        let opts = Options::default().with_max_depth(10_000);
        let items = walk(&input, opts).unwrap();
        assert_eq!(items.len(), 5001);
        assert_eq!(items.last().unwrap().0, 5001);
        assert_eq!(items.last().unwrap().1, 0x04);
        // With a sibling after the deep chain, the walk climbs back to depth 1.
        let mut with_sibling = nested(40);
        with_sibling.extend([0x05, 0x00]);
        let items = walk(&with_sibling, opts).unwrap();
        assert_eq!(*items.last().unwrap(), (1, 0x05, with_sibling.len() - 2));
    }

    #[test]
    fn deep_chain_with_siblings_at_every_level_past_the_remembered_ones() {
        // Each level: A0 { inner level, 05 00 }, so every pop must find its parent's end,
        // far past the remembered levels and the window.
        let mut v = std::vec![0x04, 0x00];
        for _ in 0..200 {
            v.extend([0x05, 0x00]);
            v = wrap(v);
        }
        let opts = Options::default().with_max_depth(1000);
        let items = walk(&v, opts).unwrap();
        // 200 constructed + 1 leaf + 200 siblings.
        assert_eq!(items.len(), 401);
        let fives: Vec<u32> = items.iter().filter(|i| i.1 == 0x05).map(|i| i.0).collect();
        assert_eq!(fives, (2..=201).rev().collect::<Vec<u32>>());
        // Offsets of the siblings count back from the end.
        let last = items.iter().rfind(|i| i.1 == 0x05).unwrap();
        assert_eq!(last.2, v.len() - 2);
    }

    #[test]
    fn going_deep_again_after_a_climb_does_not_reuse_stale_ends() {
        // A0 { chain of 60 with a sibling at each level, then a second chain of 60 }.
        let mut first = std::vec![0x04, 0x00];
        for _ in 0..60 {
            first.extend([0x05, 0x00]);
            first = wrap(first);
        }
        let mut second = std::vec![0x06, 0x00];
        for _ in 0..60 {
            second = wrap(second);
            second.extend([0x07, 0x00]);
            second = wrap(second);
        }
        let mut all = first.clone();
        all.extend(&second);
        let outer = wrap(all);
        let opts = Options::default().with_max_depth(1000);
        let items = walk(&outer, opts).unwrap();
        let count = |tag: u32| items.iter().filter(|i| i.1 == tag).count();
        assert_eq!((count(0x05), count(0x06), count(0x07)), (60, 1, 60));
        // Every 07 sits right after its chain: depth decreases by two each time.
        let sevens: Vec<u32> = items.iter().filter(|i| i.1 == 0x07).map(|i| i.0).collect();
        assert_eq!(sevens, (0..60).map(|k| 121 - 2 * k).collect::<Vec<u32>>());
        // Same nodes, depths and offsets as the children() view, which keeps no stack.
        fn by_children(t: crate::Tlv<'_>, depth: u32, out: &mut Vec<(u32, u32, usize)>) {
            out.push((depth, t.tag().0, t.offset()));
            for c in t.children() {
                by_children(c, depth + 1, out);
            }
        }
        let mut expected = Vec::new();
        by_children(
            crate::Tlv::parse_with(&outer, opts).unwrap(),
            1,
            &mut expected,
        );
        assert_eq!(items, expected);
    }

    #[test]
    fn too_deep_is_an_error_at_the_limit() {
        let input = nested(5000);
        let err = walk(&input, Options::default()).unwrap_err();
        assert!(matches!(err, Error::TooDeep { limit: 64, .. }), "{err:?}");
        assert_eq!(
            walk(&nested(2), Options::default().with_max_depth(2)),
            Err(Error::TooDeep {
                offset: 10,
                limit: 2
            })
        );
    }

    #[test]
    fn too_many_nodes() {
        let input = [0x80, 0x00, 0x81, 0x00, 0x82, 0x00];
        assert_eq!(
            walk(&input, Options::default().with_max_nodes(2)),
            Err(Error::TooManyNodes {
                offset: 4,
                limit: 2
            })
        );
    }

    #[test]
    fn truncated_value_at_top_level_says_how_many_bytes_are_missing() {
        assert_eq!(
            walk(&[0x84, 0x05, 0x01, 0x02], Options::default()),
            Err(Error::TruncatedValue {
                offset: 0,
                needed: 3
            })
        );
    }

    #[test]
    fn length_beyond_enclosing_object_without_overflow() {
        let input = [0x6F, 0x06, 0x84, 0x84, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            walk(&input, Options::default()),
            Err(Error::LengthBeyondInput {
                offset: 2,
                length: u32::MAX,
                available: 0
            })
        );
        let top = [0x84, 0x84, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            walk(&top, Options::default()),
            Err(Error::TruncatedValue {
                offset: 0,
                needed: u32::MAX as usize
            })
        );
    }

    #[test]
    fn filler_is_skipped_outside_strict_mode() {
        let input = [0x00, 0xFF, 0x6F, 0x04, 0x00, 0x84, 0x00, 0xFF, 0x00, 0xFF];
        for mode in [Mode::Iso, Mode::Lenient] {
            assert_eq!(
                walk(&input, mode.into()).unwrap(),
                [(1, 0x6F, 2), (2, 0x84, 5)]
            );
        }
        assert_eq!(
            walk(&input, Mode::Strict.into()),
            Err(Error::InvalidTag { offset: 0 })
        );
    }

    /// Every object by `next` (a `for` loop), with the error if any.
    fn by_next(input: &[u8], opts: Options) -> (Vec<(u32, u32, usize)>, Option<Error>) {
        let mut seen = Vec::new();
        for item in Walker::new(input, opts) {
            match item {
                Ok((d, t)) => seen.push((d, t.tag().0, t.offset())),
                Err(e) => return (seen, Some(e)),
            }
        }
        (seen, None)
    }

    /// Every object by internal iteration (`fold`), with the error if any.
    fn by_fold(input: &[u8], opts: Options) -> (Vec<(u32, u32, usize)>, Option<Error>) {
        let mut seen = Vec::new();
        let mut error = None;
        Walker::new(input, opts).for_each(|item| match item {
            Ok((d, t)) => seen.push((d, t.tag().0, t.offset())),
            Err(e) => error = Some(e),
        });
        (seen, error)
    }

    #[test]
    fn limits_stop_next_and_fold_at_the_same_object() {
        // A0 { A0 { 80 00 } A0 { } 81 00 } 82 00: depth 3 reached once, an empty
        // constructed object at depth 2, five objects before the last.
        let input = [
            0xA0, 0x08, 0xA0, 0x02, 0x80, 0x00, 0xA0, 0x00, 0x81, 0x00, 0x82, 0x00,
        ];
        let cases = [
            (Options::default(), None),
            (
                Options::default().with_max_depth(2),
                Some(Error::TooDeep {
                    offset: 4,
                    limit: 2,
                }),
            ),
            (
                Options::default().with_max_depth(0),
                Some(Error::TooDeep {
                    offset: 0,
                    limit: 0,
                }),
            ),
            (
                Options::default().with_max_nodes(5),
                Some(Error::TooManyNodes {
                    offset: 10,
                    limit: 5,
                }),
            ),
            (
                // Both limits at the same object: the node limit is reported.
                Options::default().with_max_depth(2).with_max_nodes(2),
                Some(Error::TooManyNodes {
                    offset: 4,
                    limit: 2,
                }),
            ),
        ];
        for (opts, error) in cases {
            let (seen, got) = by_next(&input, opts);
            assert_eq!(got, error, "{opts:?}");
            assert_eq!(by_fold(&input, opts), (seen.clone(), got), "{opts:?}");
            assert_eq!(Walker::new(&input[..], opts).finish().err(), error);
        }
        // An empty constructed object exactly at the depth limit is fine.
        let (seen, got) = by_next(
            &[0xA0, 0x02, 0xA0, 0x00],
            Options::default().with_max_depth(2),
        );
        assert_eq!((seen, got), (std::vec![(1, 0xA0, 0), (2, 0xA0, 2)], None));
    }

    #[test]
    fn trusted_walk_matches_the_validating_walk_past_the_remembered_levels() {
        // A0 { 12 levels of A0 { .., 05 00 }, 06 00 } with filler: the trusted walk (from
        // `descendants()`) pops through the window and the walk down like the checked one.
        let mut v = std::vec![0x04, 0x00];
        for _ in 0..12 {
            v.extend([0x05, 0x00, 0x00]);
            v = wrap(v);
        }
        v.extend([0xFF, 0x06, 0x00]);
        let outer = wrap(v);
        let opts = Options::default().with_max_depth(100);
        let (checked, error) = by_next(&outer, opts);
        assert_eq!(error, None);
        assert_eq!(checked.len(), 1 + 12 + 1 + 12 + 1);
        let all = crate::parse_all(&outer, opts).unwrap();
        let trusted: Vec<(u32, u32, usize)> = all
            .descendants()
            .map(|(d, t)| (d, t.tag().0, t.offset()))
            .collect();
        assert_eq!(trusted, checked);
        let mut folded = Vec::new();
        all.descendants()
            .for_each(|(d, t)| folded.push((d, t.tag().0, t.offset())));
        assert_eq!(folded, checked);
    }

    #[test]
    fn nothing_after_the_first_error() {
        let mut w = Walker::new(&[0x84, 0x00, 0x1F, 0x80, 0x00][..], Options::default());
        assert!(w.next().unwrap().is_ok());
        assert_eq!(w.next(), Some(Err(Error::InvalidTag { offset: 2 })));
        assert_eq!(w.next(), None);
        let _ = Tag(0);
    }
}
