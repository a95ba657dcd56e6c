//! COMPACT-TLV (ISO/IEC 7816-4 §8.1.1.2) and the historical bytes of an ATR (§8.1.1).
//!
//! A COMPACT-TLV object is one byte, the tag in the high nibble and the value length in the
//! low nibble, followed by the value: `73 C0 00 00` is tag 7 (card capabilities) with a
//! three-byte value. Tag `0` and length `0` are allowed by the format; tag `F` carries an
//! application identifier.
//!
//! Parsed with `nom`: the header is one byte split in two nibbles, which `nom`'s bit
//! parsers or a `map` state directly; `take` gives the value and the missing-byte count.

mod historical;

pub use historical::{
    CardCapabilities, CardServiceData, Category, DataCoding, HistoricalBytes,
    LogicalChannelAssignment, SelectionMethods, StatusIndicator,
};

use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::be_u8;

use crate::{Error, Writer};

type NomError<'a> = nom::error::Error<&'a [u8]>;

/// A COMPACT-TLV tag: the high nibble of the header byte, `0`–`F` (ISO/IEC 7816-4 §8.1.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompactTag(pub u8);

impl CompactTag {
    /// `1`: country code and national date (§8.1.1.2.1).
    pub const COUNTRY_CODE: Self = Self(0x1);
    /// `2`: issuer identification number (§8.1.1.2.1).
    pub const ISSUER_IDENTIFICATION: Self = Self(0x2);
    /// `3`: card service data, one byte (§8.1.1.2.3).
    pub const CARD_SERVICE_DATA: Self = Self(0x3);
    /// `4`: initial access data (§8.1.1.2.4).
    pub const INITIAL_ACCESS_DATA: Self = Self(0x4);
    /// `5`: card issuer's data (§8.1.1.2.5).
    pub const CARD_ISSUER_DATA: Self = Self(0x5);
    /// `6`: pre-issuing data (§8.1.1.2.6).
    pub const PRE_ISSUING_DATA: Self = Self(0x6);
    /// `7`: card capabilities, one to three bytes (§8.1.1.2.7).
    pub const CARD_CAPABILITIES: Self = Self(0x7);
    /// `8`: status indicator, one to three bytes (§8.1.1.3).
    pub const STATUS_INDICATOR: Self = Self(0x8);
    /// `F`: application identifier (§8.1.1.2.2).
    pub const APPLICATION_IDENTIFIER: Self = Self(0xF);
}

/// One COMPACT-TLV object borrowed from the parsed buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tlv<'a> {
    tag: CompactTag,
    offset: usize,
    value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The tag nibble.
    pub const fn tag(&self) -> CompactTag {
        self.tag
    }

    /// Offset of the header byte in the parsed buffer.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The value, 0–15 bytes.
    pub const fn value(&self) -> &'a [u8] {
        self.value
    }
}

/// Reads the object at the start of `input`; `at` is its offset for errors.
fn read_object(input: &[u8], at: usize) -> Result<(Tlv<'_>, &[u8]), Error> {
    let mut header = be_u8.map(|b: u8| (CompactTag(b >> 4), usize::from(b & 0x0F)));
    let (after, (tag, len)) = header
        .parse(input)
        .map_err(|_: nom::Err<NomError<'_>>| Error::TruncatedHeader { offset: at })?;
    let (rest, value) =
        take::<_, _, NomError<'_>>(len)
            .parse(after)
            .map_err(|_| Error::TruncatedValue {
                offset: at,
                needed: len - after.len(),
            })?;
    Ok((
        Tlv {
            tag,
            offset: at,
            value,
        },
        rest,
    ))
}

/// Validates all of `input` as COMPACT-TLV objects and returns an iterator over them.
///
/// ```
/// use cardwire_tlv::compact::{self, CompactTag};
///
/// // From historical bytes 80 31 80 65 B0 ..: card service data 80, pre-issuing data.
/// let objects = compact::parse_all(&[0x31, 0x80, 0x65, 0xB0, 0x83, 0x11, 0x11, 0x83])?;
/// let tags: Vec<CompactTag> = objects.map(|t| t.tag()).collect();
/// assert_eq!(tags, [CompactTag::CARD_SERVICE_DATA, CompactTag::PRE_ISSUING_DATA]);
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
///
/// # Errors
/// [`Error::TruncatedValue`] when the input ends inside a value (the header is one byte, so
/// a header is never truncated).
pub fn parse_all(input: &[u8]) -> Result<Tlvs<'_>, Error> {
    parse_all_at(input, 0)
}

pub(crate) fn parse_all_at(input: &[u8], offset: usize) -> Result<Tlvs<'_>, Error> {
    let mut rest = input;
    while !rest.is_empty() {
        let at = offset + input.len() - rest.len();
        rest = read_object(rest, at)?.1;
    }
    Ok(Tlvs {
        rest: input,
        offset,
    })
}

/// An iterator over validated COMPACT-TLV objects.
#[derive(Clone, Debug)]
pub struct Tlvs<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Tlvs<'a> {
    /// The first remaining object with `tag`.
    pub fn find(&self, tag: CompactTag) -> Option<Tlv<'a>> {
        Iterator::find(&mut self.clone(), |t| t.tag == tag)
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        // Validated when the iterator was made; an error would end the iteration.
        let Ok((tlv, rest)) = read_object(self.rest, self.offset) else {
            self.rest = &[];
            return None;
        };
        self.offset += 1 + tlv.value.len();
        self.rest = rest;
        Some(tlv)
    }
}

impl core::iter::FusedIterator for Tlvs<'_> {}

/// Writes one COMPACT-TLV object.
///
/// # Errors
/// [`Error::InvalidTag`] for a tag above `F`, [`Error::ValueTooLong`] above 15 bytes,
/// [`Error::BufferTooSmall`] from the writer.
pub fn write_tlv<W: Writer + ?Sized>(
    out: &mut W,
    tag: CompactTag,
    value: &[u8],
) -> Result<(), Error> {
    if tag.0 > 0x0F {
        return Err(Error::InvalidTag { offset: 0 });
    }
    let len = u8::try_from(value.len())
        .ok()
        .filter(|&n| n <= 0x0F)
        .ok_or(Error::ValueTooLong {
            length: value.len(),
        })?;
    out.write(&[(tag.0 << 4) | len])?;
    out.write(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SliceWriter;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn objects_and_offsets() {
        let data = [0x31, 0x80, 0x73, 0xC0, 0x00, 0x00, 0x00, 0x82, 0x90, 0x00];
        let all: Vec<Tlv<'_>> = parse_all(&data).unwrap().collect();
        assert_eq!(all.len(), 4);
        assert_eq!(all[1].tag(), CompactTag::CARD_CAPABILITIES);
        assert_eq!(all[1].value(), &[0xC0, 0x00, 0x00]);
        assert_eq!(all[2].value(), &[] as &[u8]);
        assert_eq!((all[3].offset(), all[3].value()), (7, &[0x90, 0x00][..]));
        assert!(parse_all(&data).unwrap().find(CompactTag(0x5)).is_none());
    }

    #[test]
    fn truncated_value() {
        assert_eq!(
            parse_all(&[0x31, 0x80, 0x73, 0xC0]).unwrap_err(),
            Error::TruncatedValue {
                offset: 2,
                needed: 2
            }
        );
    }

    #[test]
    fn encode() {
        let mut buf = [0u8; 4];
        let mut w = SliceWriter::new(&mut buf);
        write_tlv(&mut w, CompactTag(0x7), &[0xC0, 0x00, 0x80]).unwrap();
        assert_eq!(w.written(), &[0x73, 0xC0, 0x00, 0x80]);
        let mut w = SliceWriter::new(&mut buf);
        assert_eq!(
            write_tlv(&mut w, CompactTag(0x3), &[0; 16]),
            Err(Error::ValueTooLong { length: 16 })
        );
        assert_eq!(
            write_tlv(&mut w, CompactTag(0x10), &[]),
            Err(Error::InvalidTag { offset: 0 })
        );
    }
}
