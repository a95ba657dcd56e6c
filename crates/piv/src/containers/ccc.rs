//! [`CardCapabilityContainer`]: the CCC `5FC107` (NIST SP 800-73-4 Part 1 §3.1.1,
//! Appendix A Table 8).

use cardwire_tlv::Writer;

use super::{EDC_LEN, collect, encode_with, exact, opt_len, required, write_edc, write_opt};
use crate::{Error, ObjectId, Target};

const TAGS: [u8; 14] = [
    0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xE3, 0xB4,
];
const TARGET: Target = Target::Object(ObjectId::CARD_CAPABILITY_CONTAINER);

/// The length of the card identifier `F0` (SP 800-73-4 Part 1 Table 8).
pub const CARD_IDENTIFIER_LEN: usize = 21;

/// A checked view of the Card Capability Container. The card identifier `F0` (21 bytes:
/// GSC-RID, manufacturer ID, card type, card ID) is mandatory; the other objects of Table 8
/// are read as given.
///
/// Leniency: an empty `F0` is accepted (the card identifier is then unknown). NIST's own test
/// PIV cards send their CCC so, every object present and empty but the data model number
/// (`tests/real_cards/nist-test-card-14.txt`); a card identifier of any other length than
/// 21 is refused.
///
/// ```
/// use cardwire_piv::{CardCapabilityContainer, CardCapabilityContainerRepr};
/// let repr = CardCapabilityContainerRepr { card_identifier: Some([0xA0; 21]), ..Default::default() };
/// let mut buf = [0u8; 96];
/// let ccc = CardCapabilityContainer::new_checked(repr.encode(&mut buf)?)?;
/// assert_eq!(ccc.card_identifier(), &[0xA0; 21]);
/// assert_eq!(ccc.repr(), repr);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardCapabilityContainer<'a> {
    values: [Option<&'a [u8]>; 14],
}

impl<'a> CardCapabilityContainer<'a> {
    /// Checks a CCC.
    ///
    /// # Errors
    /// [`Error::Tlv`]; [`Error::Malformed`] when `F0` is missing or neither 21 bytes nor
    /// empty.
    pub fn new_checked(content: &'a [u8]) -> Result<Self, Error> {
        let values = collect(TARGET, content, &TAGS)?;
        let id = required(TARGET, values[0], "CCC has no card identifier (tag 'F0')")?;
        if !id.1.is_empty() {
            exact(
                TARGET,
                id,
                CARD_IDENTIFIER_LEN,
                "card identifier (tag 'F0') is not 21 bytes",
            )?;
        }
        Ok(CardCapabilityContainer {
            values: values.map(|v| v.map(|(_, v)| v)),
        })
    }

    fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.values.get(i).copied().flatten()
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.get(i).and_then(|v| v.first().copied())
    }

    /// `F0` card identifier: 21 bytes, or empty when the card leaves it empty.
    pub fn card_identifier(&self) -> &'a [u8] {
        self.get(0).unwrap_or_default()
    }

    /// `F1` capability container version number.
    pub fn container_version(&self) -> Option<u8> {
        self.byte(1)
    }

    /// `F2` capability grammar version number.
    pub fn grammar_version(&self) -> Option<u8> {
        self.byte(2)
    }

    /// `F5` registered data model number (`10` for PIV).
    pub fn data_model(&self) -> Option<u8> {
        self.byte(5)
    }

    /// The plain values.
    pub fn repr(&self) -> CardCapabilityContainerRepr<'a> {
        let card_identifier = <[u8; CARD_IDENTIFIER_LEN]>::try_from(self.card_identifier()).ok();
        CardCapabilityContainerRepr {
            card_identifier,
            container_version: self.byte(1),
            grammar_version: self.byte(2),
            applications_url: self.get(3),
            pkcs15: self.byte(4),
            data_model: self.byte(5),
            acr_table: self.get(6),
            card_apdus: self.get(7).is_some(),
            redirection: self.get(8).is_some(),
            capability_tuples: self.get(9).is_some(),
            status_tuples: self.get(10).is_some(),
            next_ccc: self.get(11).is_some(),
            extended_url: self.get(12),
            security_object_buffer: self.get(13),
        }
    }
}

/// The CCC as plain values (SP 800-73-4 Part 1 Table 8). Single-byte objects are `u8`; the
/// objects that PIV requires empty are `bool` (present or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardCapabilityContainerRepr<'a> {
    /// `F0` card identifier, 21 bytes; `None` writes `F0` empty (as NIST's test cards
    /// carry it).
    pub card_identifier: Option<[u8; CARD_IDENTIFIER_LEN]>,
    /// `F1` capability container version number.
    pub container_version: Option<u8>,
    /// `F2` capability grammar version number.
    pub grammar_version: Option<u8>,
    /// `F3` applications CardURL.
    pub applications_url: Option<&'a [u8]>,
    /// `F4` PKCS#15.
    pub pkcs15: Option<u8>,
    /// `F5` registered data model number.
    pub data_model: Option<u8>,
    /// `F6` access control rule table.
    pub acr_table: Option<&'a [u8]>,
    /// `F7` card APDUs (empty).
    pub card_apdus: bool,
    /// `FA` redirection tag (empty).
    pub redirection: bool,
    /// `FB` capability tuples (empty).
    pub capability_tuples: bool,
    /// `FC` status tuples (empty).
    pub status_tuples: bool,
    /// `FD` next CCC (empty).
    pub next_ccc: bool,
    /// `E3` extended application CardURL.
    pub extended_url: Option<&'a [u8]>,
    /// `B4` security object buffer.
    pub security_object_buffer: Option<&'a [u8]>,
}

impl Default for CardCapabilityContainerRepr<'_> {
    /// The values PIV cards commonly carry: versions `21`, data model `10`, the empty objects
    /// present, a zero card identifier.
    fn default() -> Self {
        CardCapabilityContainerRepr {
            card_identifier: Some([0; CARD_IDENTIFIER_LEN]),
            container_version: Some(0x21),
            grammar_version: Some(0x21),
            applications_url: Some(&[]),
            pkcs15: Some(0x00),
            data_model: Some(0x10),
            acr_table: Some(&[]),
            card_apdus: true,
            redirection: true,
            capability_tuples: true,
            status_tuples: true,
            next_ccc: true,
            extended_url: None,
            security_object_buffer: None,
        }
    }
}

fn one(v: &Option<u8>) -> Option<&[u8]> {
    v.as_ref().map(core::slice::from_ref)
}

impl<'a> CardCapabilityContainerRepr<'a> {
    /// Parses and checks.
    ///
    /// # Errors
    /// As [`CardCapabilityContainer::new_checked`].
    pub fn parse(content: &'a [u8]) -> Result<Self, Error> {
        CardCapabilityContainer::new_checked(content).map(|c| c.repr())
    }

    fn fields(&self) -> [(u8, Option<&[u8]>); 14] {
        let e = |present: bool| present.then_some(&[][..]);
        [
            (
                0xF0,
                Some(self.card_identifier.as_ref().map_or(&[][..], |id| &id[..])),
            ),
            (0xF1, one(&self.container_version)),
            (0xF2, one(&self.grammar_version)),
            (0xF3, self.applications_url),
            (0xF4, one(&self.pkcs15)),
            (0xF5, one(&self.data_model)),
            (0xF6, self.acr_table),
            (0xF7, e(self.card_apdus)),
            (0xFA, e(self.redirection)),
            (0xFB, e(self.capability_tuples)),
            (0xFC, e(self.status_tuples)),
            (0xFD, e(self.next_ccc)),
            (0xE3, self.extended_url),
            (0xB4, self.security_object_buffer),
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

    /// Writes the objects in the order of Table 8, then `FE 00`.
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

    /// The CCC as SP 800-73-4 Part 1 Table 8 lays it out with the values PIV cards commonly
    /// carry (versions 21, data model 10, the empty objects F3, F6, F7, FA-FD present).
    const CCC: [u8; 51] = [
        0xF0, 0x15, 0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0xF1, 0x01, 0x21, 0xF2, 0x01, 0x21, 0xF3,
        0x00, 0xF4, 0x01, 0x00, 0xF5, 0x01, 0x10, 0xF6, 0x00, 0xF7, 0x00, 0xFA, 0x00, 0xFB, 0x00,
        0xFC, 0x00, 0xFD, 0x00, 0xFE, 0x00,
    ];

    #[test]
    fn table_8() {
        let ccc = CardCapabilityContainer::new_checked(&CCC).unwrap();
        assert_eq!(&ccc.card_identifier()[..5], &[0xA0, 0x00, 0x00, 0x01, 0x16]);
        assert_eq!(ccc.container_version(), Some(0x21));
        assert_eq!(ccc.data_model(), Some(0x10));
        let repr = ccc.repr();
        assert_eq!(repr.encoded_len(), CCC.len());
        let mut buf = [0u8; 64];
        assert_eq!(repr.encode(&mut buf).unwrap(), &CCC[..]);
        assert!(CardCapabilityContainer::new_checked(&CCC[23..]).is_err());
        let mut short = CCC;
        short[1] = 0x14;
        assert!(CardCapabilityContainer::new_checked(&short).is_err());
    }

    /// NIST Test PIV Card 14's CCC (OpenSC fuzzing corpus, fuzz_pkcs15_reader/830e1bf4...,
    /// see tests/real_cards/nist-test-card-14.txt): every object present, `F0` empty.
    const NIST_CCC: [u8; 27] = [
        0xF0, 0x00, 0xF1, 0x00, 0xF2, 0x00, 0xF3, 0x00, 0xF4, 0x00, 0xF5, 0x01, 0x10, 0xF6, 0x00,
        0xF7, 0x00, 0xFA, 0x00, 0xFB, 0x00, 0xFC, 0x00, 0xFD, 0x00, 0xFE, 0x00,
    ];

    #[test]
    fn empty_card_identifier_is_accepted() {
        let ccc = CardCapabilityContainer::new_checked(&NIST_CCC).unwrap();
        assert_eq!(ccc.card_identifier(), &[] as &[u8]);
        assert_eq!(ccc.data_model(), Some(0x10));
        assert_eq!(ccc.container_version(), None);
        let repr = ccc.repr();
        assert_eq!(repr.card_identifier, None);
        let mut buf = [0u8; 64];
        let encoded = repr.encode(&mut buf).unwrap();
        assert_eq!(&encoded[..2], &[0xF0, 0x00]);
        assert_eq!(CardCapabilityContainerRepr::parse(encoded).unwrap(), repr);
        // Still mandatory, and 21 bytes when not empty.
        assert!(CardCapabilityContainer::new_checked(&NIST_CCC[2..]).is_err());
        let mut one = [0u8; 28];
        one[..2].copy_from_slice(&[0xF0, 0x01]);
        one[3..].copy_from_slice(&NIST_CCC[2..]);
        assert!(CardCapabilityContainer::new_checked(&one).is_err());
    }
}
