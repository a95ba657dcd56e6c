//! Flat BER-TLV: a sequence of objects whose values are taken as opaque bytes.
//!
//! Some card data uses BER-TLV headers with tags whose constructed bit (bit 6 of the first
//! tag byte) does not describe the value: the PIV data objects of NIST SP 800-73-4 Part 1
//! Appendix A (`30` FASC-N, `34` GUID, `70` certificate, `FE` error detection code, `F0`–`FD`
//! in the CCC) hold raw bytes under tags that look constructed. [`parse_flat`] reads such a
//! sequence with the same header reader as every other parse here, without descending.

use crate::header::{is_filler, read_header};
use crate::{Error, Mode, Options, Tlv};

/// Validates the headers and lengths of the top-level objects of `input` with `opts` (or a
/// [`Mode`]) and returns an iterator over them, **without** reading their values as nested
/// objects. Every yielded [`Tlv`] is primitive: [`Tlv::is_constructed`] is false and
/// [`Tlv::children`] is empty; parse [`Tlv::value`] with [`Tlv::parse`] or
/// [`crate::parse_all`] where the value really is BER-TLV.
///
/// ```
/// use cardwire_tlv::{parse_flat, Mode, Tag};
///
/// // SP 800-73-4 certificate container: 70 (certificate), 71 (CertInfo 00), FE (EDC).
/// let data = [0x70, 0x02, 0x01, 0x02, 0x71, 0x01, 0x00, 0xFE, 0x00];
/// let tags: Vec<Tag> = parse_flat(&data, Mode::Strict)?.map(|t| t.tag()).collect();
/// assert_eq!(tags, [Tag(0x70), Tag(0x71), Tag(0xFE)]);
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
///
/// # Errors
/// The first header [`Error`]; [`Error::TruncatedValue`] when a value runs past the end of
/// `input`; [`Error::TooManyNodes`] beyond [`Options::max_nodes`].
pub fn parse_flat(input: &[u8], opts: impl Into<Options>) -> Result<Flat<'_>, Error> {
    let opts = opts.into();
    let mut pos = 0usize;
    let mut nodes = 0u32;
    loop {
        let rest = input.get(pos..).unwrap_or_default();
        let skip = if opts.mode == Mode::Strict {
            0
        } else {
            rest.iter().take_while(|&&b| is_filler(b)).count()
        };
        pos += skip;
        let rest = input.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        if nodes >= opts.max_nodes {
            return Err(Error::TooManyNodes {
                offset: pos,
                limit: opts.max_nodes,
            });
        }
        nodes += 1;
        let header = read_header(rest, pos, opts.mode)?;
        let header_len = usize::from(header.len);
        let available = rest.len() - header_len;
        let value_len = usize::try_from(header.value_len).unwrap_or(usize::MAX);
        if value_len > available {
            return Err(Error::TruncatedValue {
                offset: pos,
                needed: value_len - available,
            });
        }
        pos += header_len + value_len;
    }
    Ok(Flat {
        rest: input,
        offset: 0,
        mode: opts.mode,
    })
}

/// The iterator of [`parse_flat`]: top-level objects with opaque values.
#[derive(Clone, Debug)]
pub struct Flat<'a> {
    rest: &'a [u8],
    offset: usize,
    mode: Mode,
}

impl<'a> Flat<'a> {
    /// The first remaining object with `tag`.
    pub fn find(&self, tag: crate::Tag) -> Option<Tlv<'a>> {
        Iterator::find(&mut self.clone(), |t| t.tag() == tag)
    }
}

impl<'a> Iterator for Flat<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        let skip = if self.mode == Mode::Strict {
            0
        } else {
            self.rest.iter().take_while(|&&b| is_filler(b)).count()
        };
        let rest = self.rest.get(skip..).unwrap_or_default();
        let offset = self.offset + skip;
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        // Validated by `parse_flat`; an error here cannot happen and would end the iteration.
        let header = read_header(rest, offset, self.mode).ok()?;
        let header_len = usize::from(header.len);
        let end = header_len.saturating_add(header.value_len as usize);
        let Some(raw) = rest.get(..end) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest.get(end..).unwrap_or_default();
        self.offset = offset + end;
        Some(Tlv::from_parts(header.tag, false, offset, header_len, raw))
    }
}

impl core::iter::FusedIterator for Flat<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tag;

    #[test]
    fn opaque_values_and_errors() {
        // 30 holds raw bytes that are not BER-TLV (a FASC-N fragment).
        let data = [0x30, 0x03, 0xD4, 0xE7, 0x39, 0x34, 0x00, 0xFE, 0x00];
        let items: [_; 3] = {
            let mut it = parse_flat(&data, Mode::Strict).unwrap();
            [it.next().unwrap(), it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(items[0].tag(), Tag(0x30));
        assert_eq!(items[0].value(), &[0xD4, 0xE7, 0x39]);
        assert!(!items[0].is_constructed());
        assert_eq!(items[0].children().count(), 0);
        assert_eq!(items[2].offset(), 7);
        assert!(crate::parse_all(&data, Mode::Strict).is_err());
        assert_eq!(
            parse_flat(&[0x70, 0x05, 0x01], Mode::Strict).err(),
            Some(Error::TruncatedValue {
                offset: 0,
                needed: 4
            })
        );
        assert!(parse_flat(&[0x70], Mode::Strict).is_err());
        assert_eq!(parse_flat(&[], Mode::Strict).unwrap().count(), 0);
        let long = [0x70, 0x82, 0x01, 0x00];
        assert!(parse_flat(&long, Mode::Lenient).is_err());
    }
}
