//! PIV data objects (containers) of NIST SP 800-73-4 Part 1 Appendix A: a checked view and a
//! plain-value repr for each, and the `53` wrapper of GET DATA / PUT DATA.
//!
//! Inside a container the tags (`30`, `34`, `70`, `FE`, `F0`...) carry raw values even where
//! their BER constructed bit is set, so the objects are read with
//! [`cardwire_tlv::parse_flat`]; the discovery object `7E` is real nested BER-TLV.
//! Unknown tags are skipped (cards add vendor objects); mandatory ones must be present.

use cardwire_tlv::{Mode, SliceWriter, Tag, Tlv, Writer};

use crate::{Error, ObjectId, Target};

mod ccc;
mod certificate;
mod chuid;
mod discovery;
mod fascn;
mod key_history;
mod printed;
mod security_object;

pub use ccc::{CARD_IDENTIFIER_LEN, CardCapabilityContainer, CardCapabilityContainerRepr};
pub use certificate::{CertInfo, CertificateObject, CertificateObjectRepr, MAX_DECOMPRESSED};
pub use chuid::{Chuid, ChuidRepr};
pub use discovery::{Discovery, DiscoveryRepr, PinUsagePolicy};
pub use fascn::Fascn;
pub use key_history::{KeyHistory, KeyHistoryRepr};
pub use printed::{PrintedInformation, PrintedInformationRepr};
pub use security_object::{SecurityObject, SecurityObjectRepr};

/// Tag `53`: the discretionary data object wrapping a container in GET DATA and PUT DATA
/// (SP 800-73-4 Part 2 §3.1.2, §3.3.2).
pub const TAG_DATA: Tag = Tag(0x53);
/// Tag `5C`: the tag list naming the object (SP 800-73-4 Part 2 §3.1.2).
pub const TAG_LIST: Tag = Tag(0x5C);
/// Tag `FE`: the error detection code, always empty (SP 800-73-4 Part 1 Appendix A).
pub const TAG_EDC: Tag = Tag(0xFE);

/// The container inside a GET DATA answer: the value of `53`, or of `7E`/`7F61` for the
/// objects that are not wrapped (SP 800-73-4 Part 1 §3.3). Filler after the object is
/// tolerated; anything else is an error.
///
/// ```
/// use cardwire_piv::{containers::unwrap_data_object, ObjectId};
/// let answer = [0x53, 0x03, 0x71, 0x01, 0x00];
/// assert_eq!(unwrap_data_object(ObjectId::X509_PIV_AUTHENTICATION, &answer)?, &[0x71, 0x01, 0x00]);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
///
/// # Errors
/// [`Error::Tlv`] when the answer is not one BER-TLV object; [`Error::Malformed`] when its tag
/// is not `53` (or the object's own tag for `7E`/`7F61`).
pub fn unwrap_data_object(object: ObjectId, data: &[u8]) -> Result<&[u8], Error> {
    let target = Target::Object(object);
    // `53` is primitive, so its value is not descended into; `7E` is checked as BER-TLV.
    let outer = Tlv::parse_with(data, Mode::Lenient).map_err(Error::tlv(target))?;
    let expected = if object.is_unwrapped() {
        object.tag()
    } else {
        TAG_DATA
    };
    if outer.tag() != expected {
        return Err(Error::Malformed {
            target,
            offset: outer.offset(),
            what: "the GET DATA answer is not wrapped in tag '53'",
        });
    }
    Ok(outer.value())
}

/// The length of `content` wrapped for a GET DATA answer (see [`encode_data_object`]).
pub fn data_object_len(object: ObjectId, content_len: usize) -> usize {
    let tag = if object.is_unwrapped() {
        object.tag()
    } else {
        TAG_DATA
    };
    cardwire_tlv::encoded_len(tag, content_len)
}

/// Wraps `content` as the card returns it to GET DATA: `53 L content`, or `7E L content` for
/// the discovery object (the card side uses this).
///
/// # Errors
/// [`Error::BufferTooSmall`].
pub fn encode_data_object<'o>(
    object: ObjectId,
    content: &[u8],
    out: &'o mut [u8],
) -> Result<&'o [u8], Error> {
    let tag = if object.is_unwrapped() {
        object.tag()
    } else {
        TAG_DATA
    };
    let mut w = SliceWriter::new(out);
    write(&mut w, tag, content)?;
    Ok(w.into_written())
}

/// One object's offset and value.
pub(crate) type Field<'a> = Option<(usize, &'a [u8])>;

/// Reads the objects of a container into a table: `values[i]` gets the first object with
/// `tags[i]`, with its offset.
pub(crate) fn collect<'a, const N: usize>(
    target: Target,
    content: &'a [u8],
    tags: &[u8; N],
) -> Result<[Field<'a>; N], Error> {
    let mut values = [None; N];
    for tlv in cardwire_tlv::parse_flat(content, Mode::Lenient).map_err(Error::tlv(target))? {
        let tag = tlv.tag().0;
        for (slot, &t) in values.iter_mut().zip(tags.iter()) {
            if slot.is_none() && u32::from(t) == tag {
                *slot = Some((tlv.offset(), tlv.value()));
            }
        }
    }
    Ok(values)
}

/// The value of a mandatory object, or an error naming it.
pub(crate) fn required<'a>(
    target: Target,
    value: Option<(usize, &'a [u8])>,
    what: &'static str,
) -> Result<(usize, &'a [u8]), Error> {
    value.ok_or(Error::Malformed {
        target,
        offset: 0,
        what,
    })
}

/// Checks a fixed length.
pub(crate) fn exact(
    target: Target,
    (offset, value): (usize, &[u8]),
    len: usize,
    what: &'static str,
) -> Result<(), Error> {
    if value.len() == len {
        Ok(())
    } else {
        Err(Error::Malformed {
            target,
            offset,
            what,
        })
    }
}

/// Writes one object, mapping the writer's error.
pub(crate) fn write<W: Writer + ?Sized>(out: &mut W, tag: Tag, value: &[u8]) -> Result<(), Error> {
    cardwire_tlv::write_tlv(out, tag, value).map_err(map_write)
}

/// Writes `FE 00`.
pub(crate) fn write_edc<W: Writer + ?Sized>(out: &mut W) -> Result<(), Error> {
    write(out, TAG_EDC, &[])
}

pub(crate) fn map_write(e: cardwire_tlv::Error) -> Error {
    match e {
        cardwire_tlv::Error::BufferTooSmall { needed, available } => {
            Error::BufferTooSmall { needed, available }
        }
        error => Error::Tlv {
            target: Target::Application,
            error,
        },
    }
}

/// Length of an optional object.
pub(crate) fn opt_len(tag: u8, value: Option<&[u8]>) -> usize {
    value.map_or(0, |v| {
        cardwire_tlv::encoded_len(Tag(u32::from(tag)), v.len())
    })
}

/// Writes an optional object.
pub(crate) fn write_opt<W: Writer + ?Sized>(
    out: &mut W,
    tag: u8,
    value: Option<&[u8]>,
) -> Result<(), Error> {
    match value {
        Some(v) => write(out, Tag(u32::from(tag)), v),
        None => Ok(()),
    }
}

/// Encodes with `f` into `out`, returning the written part.
pub(crate) fn encode_with(
    out: &mut [u8],
    f: impl FnOnce(&mut SliceWriter<'_>) -> Result<(), Error>,
) -> Result<&[u8], Error> {
    let mut w = SliceWriter::new(out);
    f(&mut w)?;
    Ok(w.into_written())
}

pub(crate) const EDC_LEN: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper() {
        let mut buf = [0u8; 8];
        let w = encode_data_object(ObjectId::CHUID, &[0xFE, 0x00], &mut buf).unwrap();
        assert_eq!(w, &[0x53, 0x02, 0xFE, 0x00]);
        assert_eq!(data_object_len(ObjectId::CHUID, 2), 4);
        assert_eq!(
            unwrap_data_object(ObjectId::CHUID, &[0x53, 0x02, 0xFE, 0x00]).unwrap(),
            &[0xFE, 0x00]
        );
        assert!(matches!(
            unwrap_data_object(ObjectId::CHUID, &[0x54, 0x00]),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            unwrap_data_object(ObjectId::CHUID, &[0x53, 0x05, 0x00]),
            Err(Error::Tlv { .. })
        ));
    }
}
