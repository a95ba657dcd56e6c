//! [`PrintedInformation`]: the printed information object `5FC109` (NIST SP 800-73-4 Part 1
//! §3.1.7, Appendix A Table 14).

use cardwire_tlv::Writer;

use super::{EDC_LEN, collect, encode_with, opt_len, required, write_edc, write_opt};
use crate::{Error, ObjectId, Target};

const TAGS: [u8; 7] = [0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x08];
const TARGET: Target = Target::Object(ObjectId::PRINTED_INFORMATION);

/// A checked view of the printed information: what is printed on the card, as ASCII.
///
/// ```
/// use cardwire_piv::{PrintedInformation, PrintedInformationRepr};
/// let repr = PrintedInformationRepr { name: b"Ada Lovelace", ..Default::default() };
/// let mut buf = [0u8; 64];
/// let p = PrintedInformation::new_checked(repr.encode(&mut buf)?)?;
/// assert_eq!(p.repr().name, b"Ada Lovelace");
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintedInformation<'a> {
    repr: PrintedInformationRepr<'a>,
}

impl<'a> PrintedInformation<'a> {
    /// Checks a printed information object.
    ///
    /// # Errors
    /// [`Error::Tlv`]; [`Error::Malformed`] when the name (`01`) is missing.
    pub fn new_checked(content: &'a [u8]) -> Result<Self, Error> {
        let [name, aff, exp, serial, issuer, org1, org2] = collect(TARGET, content, &TAGS)?;
        let name = required(TARGET, name, "printed information has no name (tag '01')")?;
        let v = |x: Option<(usize, &'a [u8])>| x.map(|(_, v)| v).unwrap_or_default();
        Ok(PrintedInformation {
            repr: PrintedInformationRepr {
                name: name.1,
                employee_affiliation: v(aff),
                expiration_date: v(exp),
                agency_card_serial: v(serial),
                issuer_identification: v(issuer),
                organization_line_1: org1.map(|(_, v)| v),
                organization_line_2: org2.map(|(_, v)| v),
            },
        })
    }

    /// The plain values.
    pub fn repr(&self) -> PrintedInformationRepr<'a> {
        self.repr
    }
}

/// The printed information as plain values (SP 800-73-4 Part 1 Table 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrintedInformationRepr<'a> {
    /// `01` name (up to 125 bytes).
    pub name: &'a [u8],
    /// `02` employee affiliation.
    pub employee_affiliation: &'a [u8],
    /// `04` expiration date, `YYYYMMMDD` (e.g. `2030DEC31`).
    pub expiration_date: &'a [u8],
    /// `05` agency card serial number.
    pub agency_card_serial: &'a [u8],
    /// `06` issuer identification.
    pub issuer_identification: &'a [u8],
    /// `07` organization affiliation line 1 (optional).
    pub organization_line_1: Option<&'a [u8]>,
    /// `08` organization affiliation line 2 (optional).
    pub organization_line_2: Option<&'a [u8]>,
}

impl<'a> PrintedInformationRepr<'a> {
    /// Parses and checks.
    ///
    /// # Errors
    /// As [`PrintedInformation::new_checked`].
    pub fn parse(content: &'a [u8]) -> Result<Self, Error> {
        PrintedInformation::new_checked(content).map(|p| p.repr())
    }

    fn fields(&self) -> [(u8, Option<&'a [u8]>); 7] {
        [
            (0x01, Some(self.name)),
            (0x02, Some(self.employee_affiliation)),
            (0x04, Some(self.expiration_date)),
            (0x05, Some(self.agency_card_serial)),
            (0x06, Some(self.issuer_identification)),
            (0x07, self.organization_line_1),
            (0x08, self.organization_line_2),
        ]
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        self.fields()
            .iter()
            .map(|(t, v)| opt_len(*t, *v))
            .sum::<usize>()
            + EDC_LEN
    }

    /// Writes the objects in the order of Table 14, then `FE 00`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn write<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        for (t, v) in self.fields() {
            write_opt(out, t, v)?;
        }
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
    fn table_14() {
        // SP 800-73-4 Part 1 Table 14 order: 01 name, 02 affiliation, 04 expiry (YYYYMMMDD),
        // 05 serial, 06 issuer, FE.
        const PI: [u8; 40] = [
            0x01, 0x03, b'A', b'd', b'a', 0x02, 0x03, b'R', b'&', b'D', 0x04, 0x09, b'2', b'0',
            b'3', b'0', b'D', b'E', b'C', b'3', b'1', 0x05, 0x02, b'0', b'1', 0x06, 0x08, b'c',
            b'a', b'r', b'd', b'w', b'i', b'r', b'e', 0x07, 0x00, 0xFE, 0x00, 0x00,
        ];
        let p = PrintedInformation::new_checked(&PI[..39]).unwrap().repr();
        assert_eq!(p.expiration_date, b"2030DEC31");
        assert_eq!(p.organization_line_1, Some(&b""[..]));
        let mut buf = [0u8; 64];
        assert_eq!(p.encode(&mut buf).unwrap(), &PI[..39]);
        assert!(PrintedInformation::new_checked(&PI[5..]).is_err());
    }
}
