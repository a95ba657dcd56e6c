//! [`SecurityObject`]: the security object `5FC106` (NIST SP 800-73-4 Part 1 §3.1.6,
//! Appendix A Table 12).

use cardwire_tlv::{Tag, Writer};

use super::{EDC_LEN, collect, encode_with, opt_len, required, write, write_edc};
use crate::{Error, ObjectId, Target};

const TAGS: [u8; 2] = [0xBA, 0xBB];
const TARGET: Target = Target::Object(ObjectId::SECURITY_OBJECT);

/// A checked view of the security object: the mapping of data group numbers to container
/// IDs (`BA`) and the CMS-signed LDS security object (`BB`).
///
/// ```
/// use cardwire_piv::SecurityObject;
/// let s = SecurityObject::new_checked(&[0xBA, 0x02, 0x01, 0x02, 0xBB, 0x01, 0x30, 0xFE, 0x00])?;
/// assert_eq!(s.mapping(), &[0x01, 0x02]);
/// assert_eq!(s.security_object(), &[0x30]);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityObject<'a> {
    repr: SecurityObjectRepr<'a>,
}

impl<'a> SecurityObject<'a> {
    /// Checks a security object.
    ///
    /// # Errors
    /// [`Error::Tlv`]; [`Error::Malformed`] when `BA` or `BB` is missing.
    pub fn new_checked(content: &'a [u8]) -> Result<Self, Error> {
        let [map, so] = collect(TARGET, content, &TAGS)?;
        let map = required(TARGET, map, "security object has no mapping (tag 'BA')")?;
        let so = required(TARGET, so, "security object has no LDS object (tag 'BB')")?;
        Ok(SecurityObject {
            repr: SecurityObjectRepr {
                mapping: map.1,
                security_object: so.1,
            },
        })
    }

    /// `BA`: data group number to container ID mapping.
    pub fn mapping(&self) -> &'a [u8] {
        self.repr.mapping
    }

    /// `BB`: the CMS-signed security object.
    pub fn security_object(&self) -> &'a [u8] {
        self.repr.security_object
    }

    /// The plain values.
    pub fn repr(&self) -> SecurityObjectRepr<'a> {
        self.repr
    }
}

/// The security object as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecurityObjectRepr<'a> {
    /// `BA` mapping.
    pub mapping: &'a [u8],
    /// `BB` security object.
    pub security_object: &'a [u8],
}

impl<'a> SecurityObjectRepr<'a> {
    /// Parses and checks.
    ///
    /// # Errors
    /// As [`SecurityObject::new_checked`].
    pub fn parse(content: &'a [u8]) -> Result<Self, Error> {
        SecurityObject::new_checked(content).map(|s| s.repr())
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        opt_len(0xBA, Some(self.mapping)) + opt_len(0xBB, Some(self.security_object)) + EDC_LEN
    }

    /// Writes `BA`, `BB`, `FE 00`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn write<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        write(out, Tag(0xBA), self.mapping)?;
        write(out, Tag(0xBB), self.security_object)?;
        write_edc(out)
    }

    /// Encodes into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        encode_with(out, |w| self.write(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_12() {
        // SP 800-73-4 Part 1 Table 12 layout: BA (mapping, 4 example bytes), BB (a placeholder
        // for the CMS object), FE.
        const SO: [u8; 12] = [
            0xBA, 0x04, 0x30, 0x00, 0x60, 0x10, 0xBB, 0x02, 0x30, 0x00, 0xFE, 0x00,
        ];
        let s = SecurityObject::new_checked(&SO).unwrap();
        assert_eq!(s.mapping(), &[0x30, 0x00, 0x60, 0x10]);
        let mut buf = [0u8; 16];
        assert_eq!(s.repr().encode(&mut buf).unwrap(), &SO[..]);
        assert!(SecurityObject::new_checked(&SO[6..]).is_err());
    }
}
