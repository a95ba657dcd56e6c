//! Reading one BER-TLV header (tag and length): the hot path of every walk.
//!
//! Hand-written rather than `nom`: a header is at most eight bytes with a branch per byte,
//! and a plain function over `get` lets the compiler keep everything in registers (see
//! docs/PERFORMANCE.md).

use crate::{Error, Mode, Tag};

/// A tag and length read from the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub tag: Tag,
    /// Bit 6 of the first tag byte.
    pub constructed: bool,
    /// Bytes of tag plus length (at most 4 + 5). A `u8`, so that the compiler knows that
    /// `len + value_len` cannot overflow and that the value starts inside the object.
    pub len: u8,
    /// The declared value length.
    pub value_len: u32,
}

/// Whether `byte` is ISO/IEC 7816-4 §5.2.2 filler where a tag would start.
#[inline(always)]
pub(crate) const fn is_filler(byte: u8) -> bool {
    byte == 0x00 || byte == 0xFF
}

/// The rule sets a header is read with, as const generic arguments (one copy of the hot loop
/// per mode, so that no mode test runs per byte): the three [`Mode`]s, and `TRUSTED` for
/// re-reading bytes that a walk has validated already (no tag or minimal-length rules, only
/// what decoding needs).
pub(crate) mod rules {
    use crate::Mode;

    /// [`Mode::Strict`].
    pub(crate) const STRICT: u8 = 0;
    /// [`Mode::Iso`].
    pub(crate) const ISO: u8 = 1;
    /// [`Mode::Lenient`].
    pub(crate) const LENIENT: u8 = 2;
    /// Validated bytes read again: filler skipped, no rule checks, no limits.
    pub(crate) const TRUSTED: u8 = 3;

    /// The smallest second tag byte allowed in the two-byte high-tag form: `1F` (tag
    /// numbers from 31 on) in strict and ISO modes, `01` in lenient mode (EMV), any for
    /// trusted re-reads.
    #[inline(always)]
    pub(crate) const fn min_second_tag_byte(r: u8) -> u8 {
        match r {
            STRICT | ISO => 0x1F,
            LENIENT => 0x01,
            _ => 0x00,
        }
    }

    /// The rule set of `mode`.
    #[inline(always)]
    pub(crate) const fn of(mode: Mode) -> u8 {
        match mode {
            Mode::Strict => STRICT,
            Mode::Iso => ISO,
            Mode::Lenient => LENIENT,
        }
    }
}

/// Reads the header at the start of `bytes`; `at` is the offset of `bytes[0]` for errors.
///
/// # Errors
/// [`Error::TruncatedHeader`], [`Error::InvalidTag`], [`Error::InvalidLength`],
/// [`Error::IndefiniteLength`], [`Error::NonMinimalLength`].
#[inline(always)]
pub(crate) fn read_header(bytes: &[u8], at: usize, mode: Mode) -> Result<Header, Error> {
    match mode {
        Mode::Strict => read_header_in(bytes, at, rules::STRICT),
        Mode::Iso => read_header_in(bytes, at, rules::ISO),
        Mode::Lenient => read_header_in(bytes, at, rules::LENIENT),
    }
}

/// [`read_header`] under the rule set `r` (see [`rules`]). Always inlined: callers pass a
/// constant where they can, and the rule tests fold away.
///
/// # Errors
/// As [`read_header`]; under `rules::TRUSTED` only the structural ones (truncation, length
/// bytes `80` and `85`–`FF`, a fifth tag byte).
#[inline(always)]
pub(crate) fn read_header_in(bytes: &[u8], at: usize, r: u8) -> Result<Header, Error> {
    let truncated = Error::TruncatedHeader { offset: at };
    let &b0 = bytes.first().ok_or(truncated)?;
    let (tag, tag_len) = if b0 & 0x1F != 0x1F {
        if r == rules::STRICT && b0 == 0x00 {
            return Err(Error::InvalidTag { offset: at });
        }
        (u32::from(b0), 1u8)
    } else {
        read_long_tag(bytes, b0, at, r)?
    };
    let &l0 = bytes.get(usize::from(tag_len)).ok_or(truncated)?;
    if l0 < 0x80 {
        return Ok(Header {
            tag: Tag(tag),
            constructed: b0 & 0x20 != 0,
            len: tag_len + 1,
            value_len: u32::from(l0),
        });
    }
    let (value_len, n) = read_long_length(bytes, tag_len, l0, at, r)?;
    Ok(Header {
        tag: Tag(tag),
        constructed: b0 & 0x20 != 0,
        len: tag_len + 1 + n,
        value_len,
    })
}

/// Reads a long-form length whose first byte `l0` (≥ `80`) sits at `bytes[tag_len]`; returns
/// the value length and the number of subsequent length bytes.
#[inline]
fn read_long_length(
    bytes: &[u8],
    tag_len: u8,
    l0: u8,
    at: usize,
    r: u8,
) -> Result<(u32, u8), Error> {
    let tag_len = usize::from(tag_len);
    let len_at = at + tag_len;
    let n = l0 & 0x7F;
    if n == 0 {
        return Err(Error::IndefiniteLength { offset: len_at });
    }
    if n > 4 {
        return Err(Error::InvalidLength {
            offset: len_at,
            byte: l0,
        });
    }
    let digits = bytes
        .get(tag_len + 1..tag_len + 1 + usize::from(n))
        .ok_or(Error::TruncatedHeader { offset: at })?;
    let mut value_len = 0u32;
    for &d in digits {
        value_len = (value_len << 8) | u32::from(d);
    }
    if r == rules::STRICT || r == rules::ISO {
        // X.690 §10.1: the long form only from 128 on, and no leading zero byte.
        let minimal = match n {
            1 => value_len >= 0x80,
            _ => digits.first().is_some_and(|&d| d != 0),
        };
        if !minimal {
            return Err(Error::NonMinimalLength { offset: len_at });
        }
    }
    Ok((value_len, n))
}

/// Reads a tag in the high-tag form (first byte number bits `1F`), returning it and its length.
#[inline]
fn read_long_tag(bytes: &[u8], b0: u8, at: usize, r: u8) -> Result<(u32, u8), Error> {
    let truncated = Error::TruncatedHeader { offset: at };
    let invalid = Error::InvalidTag { offset: at };
    if r == rules::STRICT && b0 == 0xFF {
        return Err(invalid);
    }
    let &b1 = bytes.get(1).ok_or(truncated)?;
    if b1 == 0x80 {
        // X.690 §8.1.2.4.2 c: the first subsequent byte shall not be 80 (validated bytes
        // never hold it, so trusted re-reads test it too: one test less on a run-time rule set).
        return Err(invalid);
    }
    let mut tag = (u32::from(b0) << 8) | u32::from(b1);
    if b1 & 0x80 == 0 {
        // Numbers below 31 belong in the one-byte form (X.690 §8.1.2.4, ISO/IEC 7816-4
        // §5.2.2.1); EMV uses 9F01..9F1E, 5F01.., BF0C anyway.
        // One comparison with the rule set's smallest allowed second byte.
        let allowed = b1 >= rules::min_second_tag_byte(r);
        return if allowed { Ok((tag, 2)) } else { Err(invalid) };
    }
    for (i, &b) in bytes.iter().enumerate().take(4).skip(2) {
        tag = (tag << 8) | u32::from(b);
        if b & 0x80 == 0 {
            // `i` is 2 or 3.
            return Ok((tag, i as u8 + 1));
        }
    }
    if bytes.len() < 4 {
        Err(truncated)
    } else {
        // A fifth tag byte would be needed: beyond what a u32 tag holds.
        Err(invalid)
    }
}

/// The number of bytes the length field of a `value_len`-byte value takes (shortest form).
pub(crate) const fn length_field_len(value_len: u32) -> usize {
    match value_len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        0x1_0000..=0xFF_FFFF => 4,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(bytes: &[u8], mode: Mode) -> Result<Header, Error> {
        read_header(bytes, 0, mode)
    }

    #[test]
    fn short_and_long_lengths() {
        let x = h(&[0x84, 0x0E], Mode::Strict).unwrap();
        assert_eq!((x.tag, x.len, x.value_len), (Tag(0x84), 2, 14));
        let x = h(&[0x04, 0x81, 0x80], Mode::Strict).unwrap();
        assert_eq!((x.len, x.value_len), (3, 128));
        let x = h(&[0x04, 0x82, 0x01, 0x00], Mode::Strict).unwrap();
        assert_eq!((x.len, x.value_len), (4, 256));
        let x = h(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], Mode::Strict).unwrap();
        assert_eq!((x.len, x.value_len), (6, u32::MAX));
        let x = h(&[0x04, 0x83, 0x01, 0x00, 0x00], Mode::Strict).unwrap();
        assert_eq!(x.value_len, 0x1_0000);
    }

    #[test]
    fn tags_of_two_to_four_bytes() {
        assert_eq!(
            h(&[0x9F, 0x38, 0x00], Mode::Strict).unwrap().tag,
            Tag(0x9F38)
        );
        assert_eq!(
            h(&[0x1F, 0x81, 0x00, 0x00], Mode::Strict).unwrap().tag,
            Tag(0x1F_8100)
        );
        let x = h(&[0xDF, 0x81, 0x81, 0x01, 0x00], Mode::Strict).unwrap();
        assert_eq!((x.tag, x.len), (Tag(0xDF81_8101), 5));
    }

    #[test]
    fn five_byte_tag_is_invalid() {
        assert_eq!(
            h(&[0x1F, 0x81, 0x81, 0x81, 0x01, 0x00], Mode::Lenient),
            Err(Error::InvalidTag { offset: 0 })
        );
    }

    #[test]
    fn tag_1f80_is_invalid_in_every_mode() {
        for mode in [Mode::Strict, Mode::Iso, Mode::Lenient] {
            assert_eq!(
                h(&[0x1F, 0x80, 0x01, 0x00], mode),
                Err(Error::InvalidTag { offset: 0 })
            );
        }
    }

    #[test]
    fn emv_low_numbers_only_in_lenient() {
        for tag in [[0x9F, 0x01], [0x9F, 0x1E], [0x5F, 0x01], [0xBF, 0x0C]] {
            let bytes = [tag[0], tag[1], 0x00];
            assert_eq!(
                h(&bytes, Mode::Strict),
                Err(Error::InvalidTag { offset: 0 })
            );
            assert_eq!(h(&bytes, Mode::Iso), Err(Error::InvalidTag { offset: 0 }));
            assert!(h(&bytes, Mode::Lenient).is_ok());
        }
        assert_eq!(
            h(&[0x9F, 0x00, 0x00], Mode::Lenient),
            Err(Error::InvalidTag { offset: 0 })
        );
        assert!(h(&[0x9F, 0x1F, 0x00], Mode::Strict).is_ok());
    }

    #[test]
    fn strict_rejects_00_and_ff_tags() {
        assert_eq!(
            h(&[0x00, 0x00], Mode::Strict),
            Err(Error::InvalidTag { offset: 0 })
        );
        assert_eq!(
            h(&[0xFF, 0x20, 0x00], Mode::Strict),
            Err(Error::InvalidTag { offset: 0 })
        );
    }

    #[test]
    fn indefinite_and_invalid_length_bytes() {
        assert_eq!(
            h(&[0x30, 0x80], Mode::Lenient),
            Err(Error::IndefiniteLength { offset: 1 })
        );
        for byte in 0x85..=0xFF {
            assert_eq!(
                h(&[0x9F, 0x38, byte], Mode::Lenient),
                Err(Error::InvalidLength { offset: 2, byte })
            );
        }
    }

    #[test]
    fn non_minimal_lengths_only_in_lenient() {
        for bytes in [&[0x04, 0x81, 0x05][..], &[0x04, 0x82, 0x00, 0x80]] {
            assert_eq!(
                h(bytes, Mode::Strict),
                Err(Error::NonMinimalLength { offset: 1 })
            );
            assert_eq!(
                h(bytes, Mode::Iso),
                Err(Error::NonMinimalLength { offset: 1 })
            );
            assert!(h(bytes, Mode::Lenient).is_ok());
        }
    }

    #[test]
    fn truncated_headers() {
        for bytes in [
            &[][..],
            &[0x9F],
            &[0x9F, 0x38],
            &[0x1F, 0x81],
            &[0x1F, 0x81, 0x81],
            &[0x04, 0x82, 0x01],
        ] {
            assert_eq!(
                read_header(bytes, 7, Mode::Lenient),
                Err(Error::TruncatedHeader { offset: 7 }),
                "{bytes:02X?}"
            );
        }
    }

    #[test]
    fn length_field_sizes() {
        assert_eq!(length_field_len(0x7F), 1);
        assert_eq!(length_field_len(0x80), 2);
        assert_eq!(length_field_len(0xFFFF), 3);
        assert_eq!(length_field_len(0x1_0000), 4);
        assert_eq!(length_field_len(u32::MAX), 5);
    }
}
