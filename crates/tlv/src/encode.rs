//! BER-TLV encoding: lengths, headers and whole objects (ISO/IEC 7816-4 §5.2.2, shortest
//! length form as X.690 §10.1 requires).

use crate::header::length_field_len;
use crate::{Error, SliceWriter, Tag, Writer};

/// The number of bytes `tag` plus a shortest-form length plus a `value_len`-byte value take.
///
/// ```
/// use cardwire_tlv::{encoded_len, Tag};
/// assert_eq!(encoded_len(Tag(0x84), 14), 16);
/// assert_eq!(encoded_len(Tag(0x9F38), 200), 3 + 1 + 200);
/// ```
pub fn encoded_len(tag: Tag, value_len: usize) -> usize {
    let len_field = u32::try_from(value_len).map_or(5, length_field_len);
    tag.encoded_len() + len_field + value_len
}

/// Writes `tag` and the shortest length field for a `value_len`-byte value.
///
/// # Errors
/// [`Error::InvalidTag`] for a malformed tag, [`Error::ValueTooLong`] above `u32::MAX` bytes,
/// [`Error::BufferTooSmall`] from the writer.
pub fn write_header<W: Writer + ?Sized>(
    out: &mut W,
    tag: Tag,
    value_len: usize,
) -> Result<(), Error> {
    let len = u32::try_from(value_len).map_err(|_| Error::ValueTooLong { length: value_len })?;
    tag.write(out)?;
    let be = len.to_be_bytes();
    match length_field_len(len) {
        1 => out.write(&[be[3]]),
        2 => out.write(&[0x81, be[3]]),
        3 => out.write(&[0x82, be[2], be[3]]),
        4 => out.write(&[0x83, be[1], be[2], be[3]]),
        _ => out.write(&[0x84, be[0], be[1], be[2], be[3]]),
    }
}

/// Writes a whole object: `tag`, the shortest length field, `value`.
///
/// # Errors
/// As [`write_header`].
pub fn write_tlv<W: Writer + ?Sized>(out: &mut W, tag: Tag, value: &[u8]) -> Result<(), Error> {
    write_header(out, tag, value.len())?;
    out.write(value)
}

/// Encodes one object into `out` and returns the bytes written.
///
/// ```
/// use cardwire_tlv::{encode, Tag};
///
/// let mut buf = [0u8; 8];
/// assert_eq!(encode(Tag(0x5F2D), b"en", &mut buf)?, &[0x5F, 0x2D, 0x02, b'e', b'n']);
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
///
/// # Errors
/// [`Error::BufferTooSmall`] when `out` is shorter than [`encoded_len`] (nothing useful is
/// written then); [`Error::InvalidTag`], [`Error::ValueTooLong`] as [`write_header`].
pub fn encode<'o>(tag: Tag, value: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], Error> {
    let needed = encoded_len(tag, value.len());
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

    #[test]
    fn length_forms_at_the_boundaries() {
        let mut buf = [0u8; 300];
        let v = [0xAB; 0x80];
        let out = encode(Tag(0x04), &v[..0x7F], &mut buf).unwrap();
        assert_eq!(&out[..2], &[0x04, 0x7F]);
        let out = encode(Tag(0x04), &v, &mut buf).unwrap();
        assert_eq!(&out[..3], &[0x04, 0x81, 0x80]);
        let big = [0u8; 0x100];
        let mut buf = [0u8; 0x110];
        let out = encode(Tag(0x04), &big, &mut buf).unwrap();
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x00]);
        assert_eq!(out.len(), encoded_len(Tag(0x04), 0x100));
    }

    #[test]
    fn buffer_too_small_and_bad_tag() {
        let mut buf = [0u8; 3];
        assert_eq!(
            encode(Tag(0x84), &[1, 2], &mut buf),
            Err(Error::BufferTooSmall {
                needed: 4,
                available: 3
            })
        );
        let mut buf = [0u8; 8];
        assert_eq!(
            encode(Tag(0x1F80), &[], &mut buf),
            Err(Error::InvalidTag { offset: 0 })
        );
    }

    #[test]
    fn long_header_forms() {
        let mut buf = [0u8; 8];
        let mut w = SliceWriter::new(&mut buf);
        write_header(&mut w, Tag(0xDF8101), 0x01_0000).unwrap();
        assert_eq!(w.written(), &[0xDF, 0x81, 0x01, 0x83, 0x01, 0x00, 0x00]);
        let mut buf = [0u8; 8];
        let mut w = SliceWriter::new(&mut buf);
        write_header(&mut w, Tag(0x04), 0x0100_0000).unwrap();
        assert_eq!(w.written(), &[0x04, 0x84, 0x01, 0x00, 0x00, 0x00]);
        assert_eq!(encoded_len(Tag(0x04), 0x0100_0000), 6 + 0x0100_0000);
    }
}
