//! SIMPLE-TLV (ISO/IEC 7816-4 §5.2.1, "SIMPLE-TLV data objects"):
//! a one-byte tag `01`–`FE`, then a length of one byte (`00`–`FE`) or `FF` followed by two
//! bytes big-endian (`0000`–`FFFF`), then the value.
//!
//! The parser is written with `nom` streaming combinators: the format is flat, so it reads as
//! its definition, and `nom`'s `Needed` gives the missing byte count directly.
//!
//! ```
//! use cardwire_tlv::simple;
//!
//! let data = [0x01, 0x02, 0xAA, 0xBB, 0x02, 0xFF, 0x00, 0x01, 0xCC];
//! let objects: Vec<(u8, &[u8])> = simple::parse_all(&data)?.map(|t| (t.tag(), t.value())).collect();
//! assert_eq!(objects, [(0x01, &[0xAA, 0xBB][..]), (0x02, &[0xCC][..])]);
//! # Ok::<(), cardwire_tlv::Error>(())
//! ```

use nom::bytes::streaming::{tag as literal, take};
use nom::number::streaming::{be_u8, be_u16};
use nom::{IResult, Parser};

use crate::{Error, SliceWriter, Writer};

type NomError<'a> = nom::error::Error<&'a [u8]>;

/// One SIMPLE-TLV object borrowed from the parsed buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tlv<'a> {
    tag: u8,
    offset: usize,
    header_len: usize,
    raw: &'a [u8],
}

/// Tag and length: `tag (FF len16 | len8)`.
fn header(input: &[u8]) -> IResult<&[u8], (u8, u16), NomError<'_>> {
    let long_length = (literal(&[0xFF][..]), be_u16).map(|(_, n)| n);
    let short_length = be_u8.map(u16::from);
    (be_u8, nom::branch::alt((long_length, short_length))).parse(input)
}

/// Reads the object at the start of `input`; `at` is its offset for errors.
fn read_object(input: &[u8], at: usize) -> Result<(Tlv<'_>, &[u8]), Error> {
    let (after_header, (tag, len)) =
        header(input).map_err(|_| Error::TruncatedHeader { offset: at })?;
    if tag == 0x00 || tag == 0xFF {
        return Err(Error::InvalidTag { offset: at });
    }
    let header_len = input.len() - after_header.len();
    let (rest, _value) = take::<_, _, NomError<'_>>(len)
        .parse(after_header)
        .map_err(|e| match e {
            nom::Err::Incomplete(nom::Needed::Size(n)) => Error::TruncatedValue {
                offset: at,
                needed: n.get(),
            },
            _ => Error::TruncatedValue {
                offset: at,
                needed: 1,
            },
        })?;
    let raw = input.get(..input.len() - rest.len()).unwrap_or_default();
    Ok((
        Tlv {
            tag,
            offset: at,
            header_len,
            raw,
        },
        rest,
    ))
}

impl<'a> Tlv<'a> {
    /// Parses exactly one object.
    ///
    /// # Errors
    /// [`Error::TruncatedHeader`], [`Error::TruncatedValue`], [`Error::InvalidTag`] (tag `00`
    /// or `FF`), [`Error::TrailingData`].
    pub fn parse(input: &'a [u8]) -> Result<Self, Error> {
        let (tlv, rest) = Self::parse_prefix(input)?;
        if rest.is_empty() {
            Ok(tlv)
        } else {
            Err(Error::TrailingData {
                offset: input.len() - rest.len(),
            })
        }
    }

    /// Parses the first object and returns it with the bytes after it.
    ///
    /// # Errors
    /// As [`Tlv::parse`], without [`Error::TrailingData`].
    pub fn parse_prefix(input: &'a [u8]) -> Result<(Self, &'a [u8]), Error> {
        read_object(input, 0)
    }

    /// The tag, `01`–`FE`.
    pub const fn tag(&self) -> u8 {
        self.tag
    }

    /// Offset of the object's first byte in the parsed buffer.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes of tag and length (2 or 4).
    pub const fn header_len(&self) -> usize {
        self.header_len
    }

    /// The value.
    pub fn value(&self) -> &'a [u8] {
        self.raw.get(self.header_len..).unwrap_or_default()
    }

    /// The object as it appeared: header and value.
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

/// Validates all of `input` as a sequence of SIMPLE-TLV objects and returns an iterator
/// over them.
///
/// # Errors
/// The first [`Error`] in the input, with its offset.
pub fn parse_all(input: &[u8]) -> Result<Tlvs<'_>, Error> {
    let mut rest = input;
    while !rest.is_empty() {
        let at = input.len() - rest.len();
        rest = read_object(rest, at)?.1;
    }
    Ok(Tlvs {
        rest: input,
        offset: 0,
    })
}

/// An iterator over validated SIMPLE-TLV objects (from [`parse_all`]).
#[derive(Clone, Debug)]
pub struct Tlvs<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Tlvs<'a> {
    /// The first remaining object with `tag`.
    pub fn find(&self, tag: u8) -> Option<Tlv<'a>> {
        Iterator::find(&mut self.clone(), |t| t.tag == tag)
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        // Validated by parse_all: an error cannot happen here and would end the iteration.
        let Ok((tlv, rest)) = read_object(self.rest, self.offset) else {
            self.rest = &[];
            return None;
        };
        self.offset += tlv.raw.len();
        self.rest = rest;
        Some(tlv)
    }
}

impl core::iter::FusedIterator for Tlvs<'_> {}

/// Bytes one object with a `value_len`-byte value takes (2 + value up to 254 bytes, else 4 +).
pub const fn encoded_len(value_len: usize) -> usize {
    if value_len < 0xFF {
        2 + value_len
    } else {
        4 + value_len
    }
}

/// Writes one object.
///
/// # Errors
/// [`Error::InvalidTag`] for tag `00` or `FF`, [`Error::ValueTooLong`] above `FFFF` bytes,
/// [`Error::BufferTooSmall`] from the writer.
pub fn write_tlv<W: Writer + ?Sized>(out: &mut W, tag: u8, value: &[u8]) -> Result<(), Error> {
    if tag == 0x00 || tag == 0xFF {
        return Err(Error::InvalidTag { offset: 0 });
    }
    let len = u16::try_from(value.len()).map_err(|_| Error::ValueTooLong {
        length: value.len(),
    })?;
    match u8::try_from(len) {
        Ok(short) if short != 0xFF => out.write(&[tag, short])?,
        _ => {
            let [hi, lo] = len.to_be_bytes();
            out.write(&[tag, 0xFF, hi, lo])?;
        }
    }
    out.write(value)
}

/// Encodes one object into `out` and returns the bytes written.
///
/// # Errors
/// [`Error::BufferTooSmall`] when `out` is shorter than [`encoded_len`]; otherwise as
/// [`write_tlv`].
pub fn encode<'o>(tag: u8, value: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], Error> {
    let needed = encoded_len(value.len());
    if needed > out.len() {
        return Err(Error::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    let mut w = SliceWriter::new(out);
    write_tlv(&mut w, tag, value)?;
    Ok(w.into_written())
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn short_and_long_lengths() {
        let data = [0x01, 0x01, 0xAA, 0x7F, 0xFF, 0x00, 0x02, 0xBB, 0xCC];
        let all: Vec<Tlv<'_>> = parse_all(&data).unwrap().collect();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].tag(), all[0].value(), all[0].offset()),
            (0x01, &[0xAA][..], 0)
        );
        assert_eq!(
            (all[1].tag(), all[1].header_len(), all[1].offset()),
            (0x7F, 4, 3)
        );
        assert_eq!(all[1].value(), &[0xBB, 0xCC]);
        assert_eq!(parse_all(&data).unwrap().find(0x7F).unwrap().offset(), 3);
    }

    #[test]
    fn tags_00_and_ff_are_invalid() {
        assert_eq!(
            Tlv::parse(&[0x00, 0x00]),
            Err(Error::InvalidTag { offset: 0 })
        );
        assert_eq!(
            parse_all(&[0x01, 0x00, 0xFF, 0x00]).unwrap_err(),
            Error::InvalidTag { offset: 2 }
        );
    }

    #[test]
    fn truncation() {
        assert_eq!(
            Tlv::parse(&[0x01]),
            Err(Error::TruncatedHeader { offset: 0 })
        );
        assert_eq!(
            Tlv::parse(&[0x01, 0xFF, 0x00]),
            Err(Error::TruncatedHeader { offset: 0 })
        );
        assert_eq!(
            Tlv::parse(&[0x01, 0x03, 0xAA]),
            Err(Error::TruncatedValue {
                offset: 0,
                needed: 2
            })
        );
        assert_eq!(
            parse_all(&[0x01, 0x00, 0x02, 0xFF, 0x01, 0x00]).unwrap_err(),
            Error::TruncatedValue {
                offset: 2,
                needed: 256
            }
        );
    }

    #[test]
    fn trailing_data() {
        assert_eq!(
            Tlv::parse(&[0x01, 0x00, 0x02]),
            Err(Error::TrailingData { offset: 2 })
        );
    }

    #[test]
    fn encode_both_length_forms() {
        let mut buf = [0u8; 300];
        assert_eq!(
            encode(0x01, &[0xAA], &mut buf).unwrap(),
            &[0x01, 0x01, 0xAA]
        );
        let v = [0x11; 0xFF];
        let out = encode(0x02, &v, &mut buf).unwrap();
        assert_eq!(&out[..4], &[0x02, 0xFF, 0x00, 0xFF]);
        assert_eq!(out.len(), encoded_len(0xFF));
        assert_eq!(Tlv::parse(out).unwrap().value(), &v);
        assert_eq!(
            encode(0xFF, &[], &mut buf),
            Err(Error::InvalidTag { offset: 0 })
        );
        let mut small = [0u8; 2];
        assert!(matches!(
            encode(0x01, &[1], &mut small),
            Err(Error::BufferTooSmall { .. })
        ));
    }
}
