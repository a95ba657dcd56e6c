//! Zero-copy BER-TLV objects, sibling iterators and lookup (ISO/IEC 7816-4 §5.2).

use crate::header::{is_filler, read_header, read_header_in, rules};
use crate::{Error, Mode, Options, Tag, Walker, Writer};

/// One BER-TLV object borrowed from the parsed buffer: its tag, where it starts, how long its
/// header is, and its value (ISO/IEC 7816-4 §5.2.2).
///
/// Every `Tlv` comes from a parse that validated its whole subtree, so [`Tlv::children`] and
/// the lookups below cannot fail.
///
/// ```
/// use cardwire_tlv::{Tag, Tlv};
///
/// // EMV FCI: 6F { 84 "1PAY.SYS.DDF01", A5 { 88 01 01, 5F2D "enesfrde", 9F11 01 } }
/// let fci = [
///     0x6F, 0x24, 0x84, 0x0E, 0x31, 0x50, 0x41, 0x59, 0x2E, 0x53, 0x59, 0x53, 0x2E, 0x44,
///     0x44, 0x46, 0x30, 0x31, 0xA5, 0x12, 0x88, 0x01, 0x01, 0x5F, 0x2D, 0x08, 0x65, 0x6E,
///     0x65, 0x73, 0x66, 0x72, 0x64, 0x65, 0x9F, 0x11, 0x01, 0x01,
/// ];
/// let tlv = Tlv::parse(&fci)?;
/// assert_eq!(tlv.tag(), Tag::FCI);
/// assert_eq!(tlv.find(Tag::DF_NAME).map(|t| t.value()), Some(&b"1PAY.SYS.DDF01"[..]));
/// let lang = tlv.find_path(&[Tag(0xA5), Tag(0x5F2D)]).unwrap();
/// assert_eq!(lang.value(), b"enesfrde");
/// assert_eq!(lang.offset(), 23);
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tlv<'a> {
    tag: Tag,
    constructed: bool,
    offset: usize,
    header_len: usize,
    raw: &'a [u8],
    /// `raw[header_len..]`, kept so that [`Tlv::value`] is a field read (the walk has the
    /// split at hand).
    value: &'a [u8],
}

impl<'a> Tlv<'a> {
    #[inline]
    pub(crate) const fn from_parts(
        tag: Tag,
        constructed: bool,
        offset: usize,
        header_len: usize,
        raw: &'a [u8],
    ) -> Self {
        let value = match raw.split_at_checked(header_len) {
            Some((_, value)) => value,
            None => &[],
        };
        Self {
            tag,
            constructed,
            offset,
            header_len,
            raw,
            value,
        }
    }

    /// Parses exactly one object, validating its whole subtree, with the default
    /// [`Options`] (lenient mode). Filler (`00`/`FF`) may surround it.
    ///
    /// # Errors
    /// Any parse [`Error`]; [`Error::TrailingData`] when something other than filler follows.
    pub fn parse(input: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with(input, Options::default())
    }

    /// Parses exactly one object, validating its whole subtree, with `opts` (or a [`Mode`]).
    ///
    /// # Errors
    /// Any parse [`Error`]; [`Error::TrailingData`] when anything follows it (in strict mode),
    /// or anything other than filler (in the ISO and lenient modes).
    pub fn parse_with(input: &'a [u8], opts: impl Into<Options>) -> Result<Self, Error> {
        let opts = opts.into();
        let (tlv, rest) = Self::parse_prefix(input, opts)?;
        let rest_offset = input.len() - rest.len();
        let skip = if opts.mode == Mode::Strict {
            0
        } else {
            rest.iter().take_while(|&&b| is_filler(b)).count()
        };
        if skip < rest.len() {
            return Err(Error::TrailingData {
                offset: rest_offset + skip,
            });
        }
        Ok(tlv)
    }

    /// Parses the first object of `input`, validating its whole subtree, and returns it with
    /// the bytes after it. Leading filler is skipped outside strict mode.
    ///
    /// # Errors
    /// Any parse [`Error`] in the first object; [`Error::TruncatedHeader`] when `input` holds
    /// no object at all.
    pub fn parse_prefix(
        input: &'a [u8],
        opts: impl Into<Options>,
    ) -> Result<(Self, &'a [u8]), Error> {
        let opts = opts.into();
        let start = if opts.mode == Mode::Strict {
            0
        } else {
            input.iter().take_while(|&&b| is_filler(b)).count()
        };
        let rest = input.get(start..).unwrap_or_default();
        let header = read_header(rest, start, opts.mode)?;
        let header_len = usize::from(header.len);
        let available = rest.len() - header_len;
        let value_len = usize::try_from(header.value_len).unwrap_or(usize::MAX);
        if value_len > available {
            return Err(Error::TruncatedValue {
                offset: start,
                needed: value_len - available,
            });
        }
        let end = start + header_len + value_len;
        let object = input.get(..end).unwrap_or_default();
        let mut walker = Walker::new(object, opts);
        let first = match walker.next() {
            Some(Ok((_, tlv))) => tlv,
            Some(Err(e)) => return Err(e),
            None => return Err(Error::TruncatedHeader { offset: start }),
        };
        walker.finish()?;
        Ok((first, input.get(end..).unwrap_or_default()))
    }

    /// The tag.
    #[inline]
    pub const fn tag(&self) -> Tag {
        self.tag
    }

    /// Offset of the object's first byte in the buffer given to the parse.
    #[inline]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes of tag and length field, as they appeared in the input.
    #[inline]
    pub const fn header_len(&self) -> usize {
        self.header_len
    }

    /// The value.
    #[inline]
    pub const fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The value length.
    #[inline]
    pub const fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the value is empty.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole object as it appeared in the input: header and value.
    #[inline]
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the tag marks a constructed object.
    #[inline]
    pub const fn is_constructed(&self) -> bool {
        self.constructed
    }

    /// The objects nested in the value of a constructed object (none for a primitive one),
    /// with offsets counted in the original buffer.
    pub fn children(&self) -> Tlvs<'a> {
        if self.is_constructed() {
            Tlvs::new(self.value(), self.offset + self.header_len)
        } else {
            Tlvs::new(&[], self.offset + self.raw.len())
        }
    }

    /// The first child with `tag`.
    pub fn find(&self, tag: Tag) -> Option<Tlv<'a>> {
        self.children().find(tag)
    }

    /// The object reached by following `path` from the children: `path[0]` among the
    /// children, `path[1]` among its children, and so on. An empty path finds nothing.
    pub fn find_path(&self, path: &[Tag]) -> Option<Tlv<'a>> {
        self.children().find_path(path)
    }

    /// The first object with `tag` anywhere below this one, in byte order.
    pub fn find_deep(&self, tag: Tag) -> Option<Tlv<'a>> {
        self.children().find_deep(tag)
    }

    /// Every object below this one, depth first in byte order, with its depth (children 1).
    pub fn descendants(&self) -> Descendants<'a> {
        self.children().descendants()
    }

    /// The length of this object re-encoded with the shortest length field.
    pub fn encoded_len(&self) -> usize {
        crate::encoded_len(self.tag, self.len())
    }

    /// Writes this object with the shortest length field; for strict-mode input this gives
    /// back [`Tlv::raw`] exactly.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] from the writer.
    pub fn encode<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        crate::write_tlv(out, self.tag, self.value())
    }
}

impl core::fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tlv")
            .field("tag", &self.tag)
            .field("offset", &self.offset)
            .field("header_len", &self.header_len)
            .field("value", &self.value())
            .finish()
    }
}

/// Validates all of `input` as a sequence of BER-TLV objects with `opts` (or a [`Mode`]) and
/// returns an iterator over the top-level ones.
///
/// # Errors
/// The first parse [`Error`] anywhere in the input.
///
/// ```
/// use cardwire_tlv::{parse_all, Mode, Tag};
///
/// let data = [0x5A, 0x02, 0x12, 0x34, 0x00, 0x5F, 0x24, 0x01, 0x26];
/// let tags: Vec<Tag> = parse_all(&data, Mode::Iso)?.map(|t| t.tag()).collect();
/// assert_eq!(tags, [Tag(0x5A), Tag(0x5F24)]);
/// assert!(parse_all(&data, Mode::Strict).is_err()); // the 00 filler
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
pub fn parse_all(input: &[u8], opts: impl Into<Options>) -> Result<Tlvs<'_>, Error> {
    Walker::new(input, opts).finish()?;
    Ok(Tlvs::new(input, 0))
}

/// An iterator over sibling objects in validated data (from [`parse_all`] or
/// [`Tlv::children`]).
#[derive(Clone, Debug)]
pub struct Tlvs<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Tlvs<'a> {
    pub(crate) const fn new(rest: &'a [u8], offset: usize) -> Self {
        Self { rest, offset }
    }

    /// The first remaining sibling with `tag`.
    pub fn find(&self, tag: Tag) -> Option<Tlv<'a>> {
        Iterator::find(&mut self.clone(), |t| t.tag == tag)
    }

    /// The object reached by following `path`: `path[0]` among these siblings, `path[1]`
    /// among its children, and so on. An empty path finds nothing.
    pub fn find_path(&self, path: &[Tag]) -> Option<Tlv<'a>> {
        let (&first, rest) = path.split_first()?;
        let mut found = self.find(first)?;
        for &tag in rest {
            found = found.find(tag)?;
        }
        Some(found)
    }

    /// The first object with `tag` among these siblings and everything below them, in byte
    /// order.
    pub fn find_deep(&self, tag: Tag) -> Option<Tlv<'a>> {
        self.descendants()
            .find_map(|(_, t)| (t.tag == tag).then_some(t))
    }

    /// Every remaining object, depth first in byte order, with its depth (these siblings 1).
    pub fn descendants(&self) -> Descendants<'a> {
        // Validated already: re-read without the rules and limits that were checked.
        Descendants(Walker::trusted(self.rest, self.offset))
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Tlv<'a>;

    #[inline]
    fn next(&mut self) -> Option<Tlv<'a>> {
        let skip = self.rest.iter().take_while(|&&b| is_filler(b)).count();
        let rest = self.rest.get(skip..).unwrap_or_default();
        let offset = self.offset + skip;
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        // The bytes were validated when this iterator was made; an error here cannot happen,
        // and would end the iteration rather than panic.
        let header = read_header_in(rest, offset, rules::TRUSTED).ok()?;
        let header_len = usize::from(header.len);
        let end = header_len.saturating_add(header.value_len as usize);
        let Some(raw) = rest.get(..end) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest.get(end..).unwrap_or_default();
        self.offset = offset + end;
        Some(Tlv::from_parts(
            header.tag,
            header.constructed,
            offset,
            header_len,
            raw,
        ))
    }
}

impl core::iter::FusedIterator for Tlvs<'_> {}

/// Every object below a point in validated data, depth first, with depths (see
/// [`Tlv::descendants`]).
#[derive(Clone, Debug)]
pub struct Descendants<'a>(Walker<'a>);

impl<'a> Iterator for Descendants<'a> {
    type Item = (u32, Tlv<'a>);

    #[inline]
    fn next(&mut self) -> Option<(u32, Tlv<'a>)> {
        self.0.next_trusted()
    }

    /// Internal iteration (`for_each`, `count`, ...) runs the walker's own `fold`.
    #[inline]
    fn fold<B, F>(self, init: B, f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        // The bytes were validated; an error cannot happen, and would end the walk.
        self.0.fold_trusted(init, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// EMV FCI of the PSE (EMV Book 1 §12.2.4 layout): the README's example.
    const FCI: [u8; 38] = [
        0x6F, 0x24, 0x84, 0x0E, 0x31, 0x50, 0x41, 0x59, 0x2E, 0x53, 0x59, 0x53, 0x2E, 0x44, 0x44,
        0x46, 0x30, 0x31, 0xA5, 0x12, 0x88, 0x01, 0x01, 0x5F, 0x2D, 0x08, 0x65, 0x6E, 0x65, 0x73,
        0x66, 0x72, 0x64, 0x65, 0x9F, 0x11, 0x01, 0x01,
    ];

    #[test]
    fn parse_one_object_and_its_children() {
        let t = Tlv::parse(&FCI).unwrap();
        assert_eq!(t.tag(), Tag(0x6F));
        assert_eq!((t.offset(), t.header_len(), t.len()), (0, 2, 36));
        let kids: Vec<Tag> = t.children().map(|c| c.tag()).collect();
        assert_eq!(kids, [Tag(0x84), Tag(0xA5)]);
        let a5 = t.find(Tag(0xA5)).unwrap();
        assert_eq!(a5.offset(), 18);
        let grandkids: Vec<(Tag, usize)> = a5.children().map(|c| (c.tag(), c.offset())).collect();
        assert_eq!(
            grandkids,
            [(Tag(0x88), 20), (Tag(0x5F2D), 23), (Tag(0x9F11), 34)]
        );
        assert_eq!(t.find_deep(Tag(0x9F11)).unwrap().value(), &[0x01]);
        assert_eq!(
            t.find_path(&[Tag(0xA5), Tag(0x88)]).unwrap().value(),
            &[0x01]
        );
        assert!(t.find_path(&[]).is_none());
        assert!(t.find_path(&[Tag(0x84), Tag(0x88)]).is_none());
        assert_eq!(t.descendants().count(), 5);
        assert_eq!(t.raw(), &FCI);
    }

    #[test]
    fn primitive_has_no_children() {
        let t = Tlv::parse(&[0x84, 0x02, 0x6F, 0x00]).unwrap();
        assert_eq!(t.children().count(), 0);
    }

    #[test]
    fn strict_mode_rejects_emv_tag_9f11() {
        assert_eq!(
            Tlv::parse_with(&FCI, Mode::Strict),
            Err(Error::InvalidTag { offset: 34 })
        );
        assert_eq!(
            Tlv::parse_with(&FCI, Mode::Iso),
            Err(Error::InvalidTag { offset: 34 })
        );
    }

    #[test]
    fn trailing_data_is_rejected() {
        assert_eq!(
            Tlv::parse(&[0x84, 0x00, 0x85, 0x00]),
            Err(Error::TrailingData { offset: 2 })
        );
        assert_eq!(
            Tlv::parse(&[0x84, 0x00, 0x00, 0xFF, 0x01]),
            Err(Error::TrailingData { offset: 4 })
        );
        assert!(Tlv::parse(&[0xFF, 0x84, 0x00, 0x00, 0xFF]).is_ok());
        assert_eq!(
            Tlv::parse_with(&[0x84, 0x00, 0x00], Mode::Strict),
            Err(Error::TrailingData { offset: 2 })
        );
    }

    #[test]
    fn parse_prefix_returns_the_rest() {
        let (t, rest) =
            Tlv::parse_prefix(&[0x84, 0x01, 0xAA, 0x90, 0x00], Options::default()).unwrap();
        assert_eq!(t.value(), &[0xAA]);
        assert_eq!(rest, &[0x90, 0x00]);
    }

    #[test]
    fn empty_input_is_truncated() {
        assert_eq!(Tlv::parse(&[]), Err(Error::TruncatedHeader { offset: 0 }));
        assert_eq!(
            Tlv::parse(&[0x00, 0x00]),
            Err(Error::TruncatedHeader { offset: 2 })
        );
        assert_eq!(parse_all(&[], Options::default()).unwrap().count(), 0);
    }

    #[test]
    fn errors_inside_the_subtree_are_reported() {
        // 6F 04 { 1F 80 00 00 }: invalid tag inside.
        assert_eq!(
            Tlv::parse(&[0x6F, 0x04, 0x1F, 0x80, 0x00, 0x00]),
            Err(Error::InvalidTag { offset: 2 })
        );
        // Child header cut by the parent's end.
        assert_eq!(
            Tlv::parse(&[0x6F, 0x01, 0x84, 0x00]),
            Err(Error::TruncatedHeader { offset: 2 })
        );
    }

    #[test]
    fn parse_all_siblings_and_find() {
        let data = [0x5A, 0x02, 0x12, 0x34, 0x5F, 0x24, 0x01, 0x26];
        let all = parse_all(&data, Options::default()).unwrap();
        assert_eq!(all.clone().count(), 2);
        assert_eq!(all.find(Tag(0x5F24)).unwrap().offset(), 4);
        assert!(all.find(Tag(0x57)).is_none());
        assert_eq!(all.find_path(&[Tag(0x5A)]).unwrap().value(), &[0x12, 0x34]);
    }

    #[test]
    fn encode_gives_back_strict_input() {
        let t = Tlv::parse(&FCI).unwrap();
        let mut buf = [0u8; 64];
        let mut w = crate::SliceWriter::new(&mut buf);
        t.encode(&mut w).unwrap();
        assert_eq!(w.written(), FCI);
        assert_eq!(t.encoded_len(), FCI.len());
    }
}
