//! [`VerifyStructure`]: the PC/SC Part 10 `PIN_VERIFY_STRUCTURE` sent with
//! `FEATURE_VERIFY_PIN_DIRECT`.
//!
//! Layout (PC/SC Part 10 v2.02.09 §2.5.2; the same fields as the USB CCID Rev 1.1 §6.1.11.7
//! PIN Verification Data Structure). Multi-byte fields are **little-endian**: the structure
//! goes unchanged into a USB CCID `PC_to_RDR_Secure` message, and USB is little-endian
//! (CCID Rev 1.1 §6.1; pcsc-lite's `HOST_TO_CCID_16/32` convert to it).
//!
//! | offset | field | size |
//! |---|---|---|
//! | 0 | bTimerOut | 1 |
//! | 1 | bTimerOut2 | 1 |
//! | 2 | bmFormatString | 1 |
//! | 3 | bmPINBlockString | 1 |
//! | 4 | bmPINLengthFormat | 1 |
//! | 5 | wPINMaxExtraDigit (`XXYY`: XX min, YY max digits) | 2 (LE) |
//! | 7 | bEntryValidationCondition | 1 |
//! | 8 | bNumberMessage | 1 |
//! | 9 | wLangId | 2 (LE) |
//! | 11 | bMsgIndex | 1 |
//! | 12 | bTeoPrologue | 3 |
//! | 15 | ulDataLength | 4 (LE) |
//! | 19 | abData (the APDU template) | ulDataLength |

use crate::{EntryFormat, Error};

const HEADER_LEN: usize = 19;

/// `bEntryValidationCondition` bits (PC/SC Part 10 §2.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryValidation(pub u8);

impl EntryValidation {
    /// Bit 0: entry ends when the maximum size is reached.
    pub const MAX_SIZE_REACHED: Self = Self(0x01);
    /// Bit 1: entry ends when the validation key is pressed.
    pub const VALIDATION_KEY: Self = Self(0x02);
    /// Bit 2: entry ends after the timeout.
    pub const TIMEOUT: Self = Self(0x04);
    /// All three.
    pub const ANY: Self = Self(0x07);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

/// `wLangId` for English (United States), `0x0409`, the usual default (USB LANGID table).
pub const LANG_EN_US: u16 = 0x0409;

/// A `PIN_VERIFY_STRUCTURE` as plain values, with its APDU template borrowed.
///
/// ```
/// use cardwire_pin::{EntryFormat, EntryValidation, VerifyStructure};
/// // PIV VERIFY of the application PIN (P2 80), 8-byte ASCII block padded with FF.
/// let template = [0x00, 0x20, 0x00, 0x80, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
/// let s = VerifyStructure::new(EntryFormat::ascii(8), 6, 8, &template);
/// let mut buf = [0u8; 64];
/// let bytes = s.encode(&mut buf)?;
/// assert_eq!(bytes.len(), VerifyStructure::HEADER_LEN + template.len());
/// assert_eq!(&bytes[5..7], &[0x08, 0x06]); // wPINMaxExtraDigit 0x0608, little-endian
/// assert_eq!(VerifyStructure::parse(bytes)?, s);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerifyStructure<'a> {
    /// `bTimerOut`: seconds for the whole entry, 0 for the reader's default.
    pub timeout: u8,
    /// `bTimerOut2`: seconds after the first key stroke.
    pub timeout2: u8,
    /// `bmFormatString`, `bmPINBlockString`, `bmPINLengthFormat`.
    pub format: EntryFormat,
    /// Fewest digits (the `XX` of `wPINMaxExtraDigit`).
    pub min_digits: u8,
    /// Most digits (the `YY` of `wPINMaxExtraDigit`).
    pub max_digits: u8,
    /// `bEntryValidationCondition`.
    pub entry_validation: EntryValidation,
    /// `bNumberMessage`: 0 none, 1 one message, `FF` the reader's default.
    pub number_message: u8,
    /// `wLangId`: language of the messages.
    pub lang_id: u16,
    /// `bMsgIndex`: which message to show.
    pub msg_index: u8,
    /// `bTeoPrologue`: T=1 prologue (NAD, PCB, LEN), zeros when unused.
    pub teo_prologue: [u8; 3],
    /// `abData`: the command APDU template (header, Lc, data with the filler).
    pub apdu: &'a [u8],
}

impl<'a> VerifyStructure<'a> {
    /// Size of the fixed part before `abData`.
    pub const HEADER_LEN: usize = HEADER_LEN;

    /// A structure with the usual defaults: reader's timeouts, entry ends on the validation
    /// key or at the maximum length, the reader's default message, English.
    pub fn new(format: EntryFormat, min_digits: u8, max_digits: u8, apdu: &'a [u8]) -> Self {
        VerifyStructure {
            timeout: 0,
            timeout2: 0,
            format,
            min_digits,
            max_digits,
            entry_validation: EntryValidation(0x03),
            number_message: 0xFF,
            lang_id: LANG_EN_US,
            msg_index: 0,
            teo_prologue: [0; 3],
            apdu,
        }
    }

    /// Parses a structure; `ulDataLength` must match the bytes that follow.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the header or template is cut short;
    /// [`Error::TrailingBytes`] when bytes follow the template; [`Error::Invalid`] for a
    /// reserved format value, a template shorter than an APDU header (4 bytes) or min > max.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let header: &[u8; HEADER_LEN] = bytes.first_chunk().ok_or_else(|| Error::Truncated {
            offset: bytes.len(),
            needed: HEADER_LEN.saturating_sub(bytes.len()),
        })?;
        let [
            timeout,
            timeout2,
            f0,
            f1,
            f2,
            max_digits,
            min_digits,
            entry_validation,
            number_message,
            lang0,
            lang1,
            msg_index,
            t0,
            t1,
            t2,
            l0,
            l1,
            l2,
            l3,
        ] = *header;
        let format = EntryFormat::from_bytes([f0, f1, f2], 2)?;
        check_min_max(min_digits, max_digits, 5)?;
        let apdu = template(bytes, Self::HEADER_LEN, [l0, l1, l2, l3])?;
        Ok(VerifyStructure {
            timeout,
            timeout2,
            format,
            min_digits,
            max_digits,
            entry_validation: EntryValidation(entry_validation),
            number_message,
            lang_id: u16::from_le_bytes([lang0, lang1]),
            msg_index,
            teo_prologue: [t0, t1, t2],
            apdu,
        })
    }

    /// Bytes [`VerifyStructure::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        Self::HEADER_LEN + self.apdu.len()
    }

    /// Writes the structure into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is shorter than [`Self::encoded_len`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let needed = self.encoded_len();
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let [f0, f1, f2] = self.format.to_bytes();
        let [lang0, lang1] = self.lang_id.to_le_bytes();
        let [t0, t1, t2] = self.teo_prologue;
        let [l0, l1, l2, l3] = (self.apdu.len() as u32).to_le_bytes(); // <= usize of a slice
        let header = [
            self.timeout,
            self.timeout2,
            f0,
            f1,
            f2,
            self.max_digits,
            self.min_digits,
            self.entry_validation.0,
            self.number_message,
            lang0,
            lang1,
            self.msg_index,
            t0,
            t1,
            t2,
            l0,
            l1,
            l2,
            l3,
        ];
        let (head, rest) = out.split_at_mut(Self::HEADER_LEN);
        head.copy_from_slice(&header);
        rest.copy_from_slice(self.apdu);
        Ok(out)
    }
}

/// Checks `XX <= YY` of `wPINMaxExtraDigit`.
pub(crate) fn check_min_max(min: u8, max: u8, offset: usize) -> Result<(), Error> {
    if min > max {
        Err(Error::Invalid {
            offset,
            what: "wPINMaxExtraDigit: minimum PIN size is above the maximum",
        })
    } else {
        Ok(())
    }
}

/// Reads `abData` of `ulDataLength` bytes at `at`, which must be the rest of `bytes`.
pub(crate) fn template(bytes: &[u8], at: usize, length: [u8; 4]) -> Result<&[u8], Error> {
    let declared = u32::from_le_bytes(length);
    let rest = bytes.get(at..).unwrap_or(&[]);
    let declared = usize::try_from(declared).unwrap_or(usize::MAX);
    if rest.len() < declared {
        return Err(Error::Truncated {
            offset: bytes.len(),
            needed: declared - rest.len(),
        });
    }
    if rest.len() > declared {
        return Err(Error::TrailingBytes {
            offset: at + declared,
        });
    }
    if rest.len() < 4 {
        return Err(Error::Invalid {
            offset: at,
            what: "abData: the APDU template is shorter than a command header",
        });
    }
    Ok(rest)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec;

    // A PIN_VERIFY_STRUCTURE for an OpenPGP card VERIFY (P2 81) with an ASCII PIN, as
    // built from the PC/SC Part 10 §2.5.2 field table: timeouts 0, format 82 00 00 (ASCII,
    // byte units, variable block), min 6 max 8 (wPINMaxExtraDigit 0x0608 -> 08 06),
    // validation key (02), 1 message, wLangId 0409 (-> 09 04), msg 0, prologue 0,
    // ulDataLength 4 (-> 04 00 00 00), abData 00 20 00 81.
    const OPENPGP_VERIFY: [u8; 23] = [
        0x00, 0x00, 0x82, 0x00, 0x00, 0x08, 0x06, 0x02, 0x01, 0x09, 0x04, 0x00, 0x00, 0x00, 0x00,
        0x04, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x81,
    ];

    #[test]
    fn parse_known_structure() {
        let s = VerifyStructure::parse(&OPENPGP_VERIFY).unwrap();
        assert_eq!(s.min_digits, 6);
        assert_eq!(s.max_digits, 8);
        assert_eq!(s.lang_id, 0x0409);
        assert_eq!(s.apdu, &[0x00, 0x20, 0x00, 0x81]);
        assert_eq!(s.format.block_size, 0);
        assert!(s.entry_validation.contains(EntryValidation::VALIDATION_KEY));
        let mut buf = [0u8; 64];
        assert_eq!(s.encode(&mut buf).unwrap(), &OPENPGP_VERIFY);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            VerifyStructure::parse(&OPENPGP_VERIFY[..10]).err(),
            Some(Error::Truncated {
                offset: 10,
                needed: 9
            })
        );
        assert_eq!(
            VerifyStructure::parse(&OPENPGP_VERIFY[..22]).err(),
            Some(Error::Truncated {
                offset: 22,
                needed: 1
            })
        );
        let mut longer = [0u8; 24];
        longer[..23].copy_from_slice(&OPENPGP_VERIFY);
        assert_eq!(
            VerifyStructure::parse(&longer).err(),
            Some(Error::TrailingBytes { offset: 23 })
        );
        let mut bad = OPENPGP_VERIFY;
        bad[5] = 4; // max 4 < min 6
        assert!(matches!(
            VerifyStructure::parse(&bad),
            Err(Error::Invalid { offset: 5, .. })
        ));
        let mut huge = OPENPGP_VERIFY;
        huge[18] = 0xFF; // ulDataLength far beyond the input
        assert!(matches!(
            VerifyStructure::parse(&huge),
            Err(Error::Truncated { .. })
        ));
        let mut short = [0u8; 21];
        short[..15].copy_from_slice(&OPENPGP_VERIFY[..15]);
        short[15] = 2;
        assert!(matches!(
            VerifyStructure::parse(&short),
            Err(Error::Invalid { offset: 19, .. })
        ));
        let mut buf = [0u8; 10];
        let s = VerifyStructure::parse(&OPENPGP_VERIFY).unwrap();
        assert_eq!(
            s.encode(&mut buf).err(),
            Some(Error::BufferTooSmall { needed: 23 })
        );
    }

    proptest! {
        #[test]
        fn round_trip(
            head in proptest::array::uniform19(any::<u8>()),
            apdu in proptest::collection::vec(any::<u8>(), 4..40),
        ) {
            let mut bytes = head.to_vec();
            bytes[15..19].copy_from_slice(&(apdu.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&apdu);
            if let Ok(s) = VerifyStructure::parse(&bytes) {
                let mut out = vec![0u8; s.encoded_len()];
                prop_assert_eq!(s.encode(&mut out).unwrap(), &bytes[..]);
            }
        }
    }
}
