//! [`Chuid`]: the Card Holder Unique Identifier `5FC102` (NIST SP 800-73-4 Part 1 §3.1.2,
//! Appendix A Table 9).

use cardwire_tlv::{Tag, Writer};

use super::{EDC_LEN, collect, encode_with, exact, opt_len, required, write, write_edc, write_opt};
use crate::{Error, Fascn, ObjectId, Target};

const TAGS: [u8; 8] = [0xEE, 0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x3E];
const TARGET: Target = Target::Object(ObjectId::CHUID);

/// A checked view of a CHUID's content (the value of `53`).
///
/// | tag | content | |
/// |---|---|---|
/// | `EE` | buffer length | optional, deprecated |
/// | `30` | FASC-N, 25 bytes | mandatory |
/// | `32` | organizational identifier, 4 bytes | optional, deprecated |
/// | `33` | DUNS, 9 bytes | optional, deprecated |
/// | `34` | GUID, 16 bytes | mandatory |
/// | `35` | expiration date `YYYYMMDD`, 8 bytes | mandatory |
/// | `36` | cardholder UUID, 16 bytes | optional |
/// | `3E` | issuer asymmetric signature (CMS) | mandatory, may be empty on test cards |
/// | `FE` | error detection code, empty | |
///
/// ```
/// use cardwire_piv::{Chuid, ChuidRepr};
/// let repr = ChuidRepr { guid: [0x11; 16], expiration: *b"20301231", ..ChuidRepr::default() };
/// let mut buf = [0u8; 128];
/// let bytes = repr.encode(&mut buf)?;
/// let chuid = Chuid::new_checked(bytes)?;
/// assert_eq!(chuid.guid(), &[0x11; 16]);
/// assert_eq!(chuid.expiration(), b"20301231");
/// assert!(!chuid.has_issuer_signature());
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chuid<'a> {
    buffer_length: Option<&'a [u8]>,
    fascn: &'a [u8],
    organization: Option<&'a [u8]>,
    duns: Option<&'a [u8]>,
    guid: &'a [u8],
    expiration: &'a [u8],
    cardholder_uuid: Option<&'a [u8]>,
    signature: Option<&'a [u8]>,
}

impl<'a> Chuid<'a> {
    /// Checks a CHUID.
    ///
    /// # Errors
    /// [`Error::Tlv`] for broken TLV; [`Error::Malformed`] when the FASC-N, GUID or expiration
    /// date is missing or has the wrong length, or the date is not 8 digits.
    pub fn new_checked(content: &'a [u8]) -> Result<Self, Error> {
        let [ee, fascn, org, duns, guid, exp, uuid, sig] = collect(TARGET, content, &TAGS)?;
        let fascn = required(TARGET, fascn, "CHUID has no FASC-N (tag '30')")?;
        exact(
            TARGET,
            fascn,
            Fascn::LEN,
            "FASC-N (tag '30') is not 25 bytes",
        )?;
        let guid = required(TARGET, guid, "CHUID has no GUID (tag '34')")?;
        exact(TARGET, guid, 16, "GUID (tag '34') is not 16 bytes")?;
        let exp = required(TARGET, exp, "CHUID has no expiration date (tag '35')")?;
        exact(TARGET, exp, 8, "expiration date (tag '35') is not 8 bytes")?;
        if !exp.1.iter().all(u8::is_ascii_digit) {
            return Err(Error::Malformed {
                target: TARGET,
                offset: exp.0,
                what: "expiration date (tag '35') is not YYYYMMDD digits",
            });
        }
        if let Some(u) = uuid {
            exact(TARGET, u, 16, "cardholder UUID (tag '36') is not 16 bytes")?;
        }
        Ok(Chuid {
            buffer_length: ee.map(|v| v.1),
            fascn: fascn.1,
            organization: org.map(|v| v.1),
            duns: duns.map(|v| v.1),
            guid: guid.1,
            expiration: exp.1,
            cardholder_uuid: uuid.map(|v| v.1),
            signature: sig.map(|v| v.1),
        })
    }

    /// The FASC-N bytes (tag `30`).
    pub fn fascn_bytes(&self) -> &'a [u8] {
        self.fascn
    }

    /// The decoded FASC-N.
    ///
    /// # Errors
    /// As [`Fascn::decode`].
    pub fn fascn(&self) -> Result<Fascn, Error> {
        Fascn::decode(self.fascn)
    }

    /// The GUID (tag `34`), 16 bytes.
    pub fn guid(&self) -> &'a [u8] {
        self.guid
    }

    /// The expiration date (tag `35`), `YYYYMMDD`.
    pub fn expiration(&self) -> &'a [u8] {
        self.expiration
    }

    /// The cardholder UUID (tag `36`).
    pub fn cardholder_uuid(&self) -> Option<&'a [u8]> {
        self.cardholder_uuid
    }

    /// The issuer asymmetric signature (tag `3E`), a CMS SignedData.
    pub fn issuer_signature(&self) -> Option<&'a [u8]> {
        self.signature
    }

    /// True when tag `3E` is present and not empty.
    pub fn has_issuer_signature(&self) -> bool {
        self.signature.is_some_and(|s| !s.is_empty())
    }

    /// The plain values.
    pub fn repr(&self) -> ChuidRepr<'a> {
        let mut fascn = [0u8; 25];
        fascn.copy_from_slice(self.fascn);
        let mut guid = [0u8; 16];
        guid.copy_from_slice(self.guid);
        let mut expiration = [0u8; 8];
        expiration.copy_from_slice(self.expiration);
        ChuidRepr {
            buffer_length: self.buffer_length,
            fascn,
            organization: self.organization,
            duns: self.duns,
            guid,
            expiration,
            cardholder_uuid: self.cardholder_uuid.and_then(|u| u.try_into().ok()),
            signature: self.signature.unwrap_or(&[]),
        }
    }
}

/// A CHUID as plain values, for building one (the card side and PUT DATA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChuidRepr<'a> {
    /// `EE` buffer length (deprecated).
    pub buffer_length: Option<&'a [u8]>,
    /// `30` FASC-N.
    pub fascn: [u8; 25],
    /// `32` organizational identifier (deprecated).
    pub organization: Option<&'a [u8]>,
    /// `33` DUNS (deprecated).
    pub duns: Option<&'a [u8]>,
    /// `34` GUID.
    pub guid: [u8; 16],
    /// `35` expiration date, `YYYYMMDD`.
    pub expiration: [u8; 8],
    /// `36` cardholder UUID.
    pub cardholder_uuid: Option<[u8; 16]>,
    /// `3E` issuer asymmetric signature; empty when unsigned (test cards).
    pub signature: &'a [u8],
}

impl Default for ChuidRepr<'_> {
    /// A CHUID with the de facto test FASC-N (agency and system `9999`, credential
    /// `999999`, as yubico-piv-tool writes it), a zero GUID, expiry 2030-12-31 and no
    /// signature.
    fn default() -> Self {
        let fascn = Fascn {
            agency_code: *b"9999",
            system_code: *b"9999",
            credential_number: *b"999999",
            credential_series: b'0',
            individual_credential_issue: b'1',
            person_identifier: *b"0000000000",
            organizational_category: b'3',
            organizational_identifier: *b"0000",
            association_category: b'1',
        };
        ChuidRepr {
            buffer_length: None,
            fascn: fascn.encode().unwrap_or([0; 25]),
            organization: None,
            duns: None,
            guid: [0; 16],
            expiration: *b"20301231",
            cardholder_uuid: None,
            signature: &[],
        }
    }
}

impl ChuidRepr<'_> {
    /// Parses and checks a CHUID.
    ///
    /// # Errors
    /// As [`Chuid::new_checked`].
    pub fn parse(content: &[u8]) -> Result<ChuidRepr<'_>, Error> {
        Chuid::new_checked(content).map(|c| c.repr())
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        opt_len(0xEE, self.buffer_length)
            + opt_len(0x30, Some(&self.fascn))
            + opt_len(0x32, self.organization)
            + opt_len(0x33, self.duns)
            + opt_len(0x34, Some(&self.guid))
            + opt_len(0x35, Some(&self.expiration))
            + opt_len(0x36, self.cardholder_uuid.as_ref().map(|u| &u[..]))
            + opt_len(0x3E, Some(self.signature))
            + EDC_LEN
    }

    /// Writes the objects in the order of Table 9, then `FE 00`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn write<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        write_opt(out, 0xEE, self.buffer_length)?;
        write(out, Tag(0x30), &self.fascn)?;
        write_opt(out, 0x32, self.organization)?;
        write_opt(out, 0x33, self.duns)?;
        write(out, Tag(0x34), &self.guid)?;
        write(out, Tag(0x35), &self.expiration)?;
        write_opt(out, 0x36, self.cardholder_uuid.as_ref().map(|u| &u[..]))?;
        write(out, Tag(0x3E), self.signature)?;
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

    /// A CHUID laid out as SP 800-73-4 Part 1 Table 9 orders it, with yubico-piv-tool's
    /// test FASC-N, GUID 00..0F, expiry 2030-12-31, an empty signature and the EDC.
    const CHUID: [u8; 59] = [
        0x30, 0x19, 0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68,
        0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB, 0x34, 0x10, 0x00,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
        0x35, 0x08, b'2', b'0', b'3', b'0', b'1', b'2', b'3', b'1', 0x3E, 0x00, 0xFE, 0x00,
    ];

    #[test]
    fn table_9_layout() {
        let c = Chuid::new_checked(&CHUID).unwrap();
        assert_eq!(c.guid()[15], 0x0F);
        assert_eq!(c.expiration(), b"20301231");
        assert!(!c.has_issuer_signature());
        assert_eq!(&c.fascn().unwrap().agency_code, b"9999");
        let repr = c.repr();
        assert_eq!(repr, ChuidRepr::default().with_guid_for_test());
        let mut buf = [0u8; 80];
        assert_eq!(repr.encode(&mut buf).unwrap(), &CHUID[..]);
        assert_eq!(repr.encoded_len(), CHUID.len());
    }

    impl ChuidRepr<'_> {
        fn with_guid_for_test(mut self) -> Self {
            for (i, g) in self.guid.iter_mut().enumerate() {
                *g = i as u8;
            }
            self
        }
    }

    #[test]
    fn missing_and_wrong_fields() {
        assert!(matches!(
            Chuid::new_checked(&CHUID[27..]),
            Err(Error::Malformed { .. })
        ));
        let mut bad = CHUID;
        bad[47] = b'X';
        assert!(Chuid::new_checked(&bad).is_err());
        assert!(Chuid::new_checked(&CHUID[..40]).is_err());
    }
}
