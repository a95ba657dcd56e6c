//! [`ModifyStructure`]: the PC/SC Part 10 `PIN_MODIFY_STRUCTURE` sent with
//! `FEATURE_MODIFY_PIN_DIRECT`.
//!
//! Layout (PC/SC Part 10 v2.02.09 §2.5.3; USB CCID Rev 1.1 §6.1.11.8). Multi-byte fields are
//! little-endian, as in [`VerifyStructure`](crate::VerifyStructure). PC/SC always carries
//! the three message indexes (CCID drops the unused ones on the USB wire).
//!
//! | offset | field | size |
//! |---|---|---|
//! | 0 | bTimerOut | 1 |
//! | 1 | bTimerOut2 | 1 |
//! | 2 | bmFormatString | 1 |
//! | 3 | bmPINBlockString | 1 |
//! | 4 | bmPINLengthFormat | 1 |
//! | 5 | bInsertionOffsetOld (bytes into the data field) | 1 |
//! | 6 | bInsertionOffsetNew | 1 |
//! | 7 | wPINMaxExtraDigit (`XXYY`: XX min, YY max digits) | 2 (LE) |
//! | 9 | bConfirmPIN | 1 |
//! | 10 | bEntryValidationCondition | 1 |
//! | 11 | bNumberMessage | 1 |
//! | 12 | wLangId | 2 (LE) |
//! | 14 | bMsgIndex1, bMsgIndex2, bMsgIndex3 | 3 |
//! | 17 | bTeoPrologue | 3 |
//! | 20 | ulDataLength | 4 (LE) |
//! | 24 | abData (the APDU template) | ulDataLength |

use crate::verify_structure::{LANG_EN_US, check_min_max, template};
use crate::{EntryFormat, EntryValidation, Error};

const HEADER_LEN: usize = 24;

/// `bConfirmPIN` bits (PC/SC Part 10 §2.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfirmPin(pub u8);

impl ConfirmPin {
    /// Bit 0: the new PIN is typed twice and both entries must match.
    pub const CONFIRM_NEW: Self = Self(0x01);
    /// Bit 1: the current PIN is typed first and inserted at `bInsertionOffsetOld`.
    pub const ENTER_CURRENT: Self = Self(0x02);

    /// True when bit 0 is set.
    pub fn confirm_new(self) -> bool {
        self.0 & 0x01 != 0
    }

    /// True when bit 1 is set.
    pub fn enter_current(self) -> bool {
        self.0 & 0x02 != 0
    }
}

/// A `PIN_MODIFY_STRUCTURE` as plain values, with its APDU template borrowed.
///
/// ```
/// use cardwire_pin::{ConfirmPin, EntryFormat, ModifyStructure};
/// // PIV CHANGE REFERENCE DATA (P2 80): old PIN at offset 0, new PIN at offset 8, both
/// // 8-byte ASCII blocks padded with FF; the user enters the current PIN and confirms the new.
/// let mut template = [0xFF; 21];
/// template[..5].copy_from_slice(&[0x00, 0x24, 0x00, 0x80, 0x10]);
/// let s = ModifyStructure::new(EntryFormat::ascii(8), 0, 8, ConfirmPin(0x03), 6, 8, &template);
/// let mut buf = [0u8; 64];
/// let bytes = s.encode(&mut buf)?;
/// assert_eq!(ModifyStructure::parse(bytes)?, s);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModifyStructure<'a> {
    /// `bTimerOut`.
    pub timeout: u8,
    /// `bTimerOut2`.
    pub timeout2: u8,
    /// `bmFormatString`, `bmPINBlockString`, `bmPINLengthFormat` (the same for both PINs).
    pub format: EntryFormat,
    /// `bInsertionOffsetOld`: where the current PIN's block starts in the data field, bytes.
    pub insertion_offset_old: u8,
    /// `bInsertionOffsetNew`: where the new PIN's block starts in the data field, bytes.
    pub insertion_offset_new: u8,
    /// Fewest digits (`XX`).
    pub min_digits: u8,
    /// Most digits (`YY`).
    pub max_digits: u8,
    /// `bConfirmPIN`.
    pub confirm: ConfirmPin,
    /// `bEntryValidationCondition`.
    pub entry_validation: EntryValidation,
    /// `bNumberMessage`.
    pub number_message: u8,
    /// `wLangId`.
    pub lang_id: u16,
    /// `bMsgIndex1..3`: prompts for the current, new and confirmation entries.
    pub msg_index: [u8; 3],
    /// `bTeoPrologue`.
    pub teo_prologue: [u8; 3],
    /// `abData`: the command APDU template.
    pub apdu: &'a [u8],
}

impl<'a> ModifyStructure<'a> {
    /// Size of the fixed part before `abData`.
    pub const HEADER_LEN: usize = HEADER_LEN;

    /// A structure with the usual defaults (reader's timeouts and messages, English).
    pub fn new(
        format: EntryFormat,
        insertion_offset_old: u8,
        insertion_offset_new: u8,
        confirm: ConfirmPin,
        min_digits: u8,
        max_digits: u8,
        apdu: &'a [u8],
    ) -> Self {
        ModifyStructure {
            timeout: 0,
            timeout2: 0,
            format,
            insertion_offset_old,
            insertion_offset_new,
            min_digits,
            max_digits,
            confirm,
            entry_validation: EntryValidation(0x03),
            number_message: 0xFF,
            lang_id: LANG_EN_US,
            msg_index: [0, 1, 2],
            teo_prologue: [0; 3],
            apdu,
        }
    }

    /// Parses a structure; `ulDataLength` must match the bytes that follow.
    ///
    /// # Errors
    /// As [`VerifyStructure::parse`](crate::VerifyStructure::parse); also
    /// [`Error::Invalid`] for reserved `bConfirmPIN` bits.
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
            insertion_offset_old,
            insertion_offset_new,
            max_digits,
            min_digits,
            confirm,
            entry_validation,
            number_message,
            lang0,
            lang1,
            m1,
            m2,
            m3,
            t0,
            t1,
            t2,
            l0,
            l1,
            l2,
            l3,
        ] = *header;
        let format = EntryFormat::from_bytes([f0, f1, f2], 2)?;
        check_min_max(min_digits, max_digits, 7)?;
        if confirm & !0x03 != 0 {
            return Err(Error::Invalid {
                offset: 9,
                what: "bConfirmPIN: reserved bits 7-2 are set",
            });
        }
        let apdu = template(bytes, Self::HEADER_LEN, [l0, l1, l2, l3])?;
        Ok(ModifyStructure {
            timeout,
            timeout2,
            format,
            insertion_offset_old,
            insertion_offset_new,
            min_digits,
            max_digits,
            confirm: ConfirmPin(confirm),
            entry_validation: EntryValidation(entry_validation),
            number_message,
            lang_id: u16::from_le_bytes([lang0, lang1]),
            msg_index: [m1, m2, m3],
            teo_prologue: [t0, t1, t2],
            apdu,
        })
    }

    /// Bytes [`ModifyStructure::encode`] writes.
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
        let [m1, m2, m3] = self.msg_index;
        let [t0, t1, t2] = self.teo_prologue;
        let [l0, l1, l2, l3] = (self.apdu.len() as u32).to_le_bytes();
        let header = [
            self.timeout,
            self.timeout2,
            f0,
            f1,
            f2,
            self.insertion_offset_old,
            self.insertion_offset_new,
            self.max_digits,
            self.min_digits,
            self.confirm.0,
            self.entry_validation.0,
            self.number_message,
            lang0,
            lang1,
            m1,
            m2,
            m3,
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

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec;

    // PIN_MODIFY_STRUCTURE per PC/SC Part 10 §2.5.3 for a PIV CHANGE REFERENCE DATA with
    // format 82 08 00, offsets 00/08, min 6 max 8 (-> 08 06), bConfirmPIN 03, validation 02,
    // 3 messages, wLangId 0409 (-> 09 04), indexes 00 01 02, prologue 0, ulDataLength 21
    // (-> 15 00 00 00), then the template 00 24 00 80 10 and 16 bytes of FF.
    const PIV_MODIFY_HEADER: [u8; 24] = [
        0x00, 0x00, 0x82, 0x08, 0x00, 0x00, 0x08, 0x08, 0x06, 0x03, 0x02, 0x03, 0x09, 0x04, 0x00,
        0x01, 0x02, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00,
    ];

    fn piv_modify() -> std::vec::Vec<u8> {
        let mut v = PIV_MODIFY_HEADER.to_vec();
        v.extend_from_slice(&[0x00, 0x24, 0x00, 0x80, 0x10]);
        v.extend_from_slice(&[0xFF; 16]);
        v
    }

    #[test]
    fn parse_known_structure() {
        let bytes = piv_modify();
        let s = ModifyStructure::parse(&bytes).unwrap();
        assert_eq!(s.insertion_offset_new, 8);
        assert!(s.confirm.confirm_new() && s.confirm.enter_current());
        assert_eq!((s.min_digits, s.max_digits), (6, 8));
        assert_eq!(s.msg_index, [0, 1, 2]);
        assert_eq!(s.apdu.len(), 21);
        let mut out = vec![0u8; s.encoded_len()];
        assert_eq!(s.encode(&mut out).unwrap(), &bytes[..]);
    }

    #[test]
    fn parse_errors() {
        let mut bytes = piv_modify();
        bytes[9] = 0x04;
        assert!(matches!(
            ModifyStructure::parse(&bytes),
            Err(Error::Invalid { offset: 9, .. })
        ));
        let bytes = piv_modify();
        assert!(matches!(
            ModifyStructure::parse(&bytes[..30]),
            Err(Error::Truncated {
                offset: 30,
                needed: 15
            })
        ));
        assert!(matches!(
            ModifyStructure::parse(&bytes[..3]),
            Err(Error::Truncated {
                offset: 3,
                needed: 21
            })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(
            head in proptest::collection::vec(any::<u8>(), 20),
            apdu in proptest::collection::vec(any::<u8>(), 4..40),
        ) {
            let mut bytes = head.clone();
            bytes.extend_from_slice(&(apdu.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&apdu);
            if let Ok(s) = ModifyStructure::parse(&bytes) {
                let mut out = vec![0u8; s.encoded_len()];
                prop_assert_eq!(s.encode(&mut out).unwrap(), &bytes[..]);
            }
        }
    }
}
