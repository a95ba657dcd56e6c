//! The `abData` of `PC_to_RDR_Secure` (USB CCID Rev 1.1 §6.1.11): `bPINOperation` and the PIN
//! verification (§6.1.11.7) or modification (§6.1.11.8) data structure, read into
//! `cardwire-pin`'s PC/SC Part 10 structures so that the keypad side
//! ([`cardwire_pin::pinpad`]) builds the APDU.
//!
//! The CCID structures are the PC/SC Part 10 ones without `bTimerOut2` and `ulDataLength`
//! (the APDU runs to the end of the message); in the modification structure `bMsgIndex2` is
//! present only when `bNumberMessage` is not 0 and `bMsgIndex3` only when it is 3 or more
//! (libccid, commands.c `SecurePINModify`, builds the message that way). Offsets below are
//! inside `abData`; errors add 10 (the message header).
//!
//! Verification: `bPINOperation` 0, `bTimeOut`, `bmFormatString`, `bmPINBlockString`,
//! `bmPINLengthFormat`, `wPINMaxExtraDigit` (max, min), `bEntryValidationCondition`,
//! `bNumberMessage`, `wLangId`, `bMsgIndex`, `bTeoPrologue[3]`, `abPINApdu`.
//!
//! Modification: `bPINOperation` 1, `bTimeOut`, the three format bytes,
//! `bInsertionOffsetOld`, `bInsertionOffsetNew`, `wPINMaxExtraDigit`, `bConfirmPIN`,
//! `bEntryValidationCondition`, `bNumberMessage`, `wLangId`, `bMsgIndex1`, (`bMsgIndex2`),
//! (`bMsgIndex3`), `bTeoPrologue[3]`, `abPINApdu`.

use cardwire_pin::{ConfirmPin, EntryFormat, EntryValidation, ModifyStructure, VerifyStructure};

use crate::Error;
use crate::message::HEADER_LEN;

/// `bPINOperation` (CCID Rev 1.1 §6.1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinOperation(pub u8);

impl PinOperation {
    /// 0: PIN verification.
    pub const VERIFY: Self = Self(0);
    /// 1: PIN modification.
    pub const MODIFY: Self = Self(1);
    /// 2: transfer PIN from secure CCID buffer.
    pub const TRANSFER: Self = Self(2);
    /// 3: wait ICC response.
    pub const WAIT_ICC_RESPONSE: Self = Self(3);
    /// 4: cancel PIN function.
    pub const CANCEL: Self = Self(4);
    /// 5: re-send last I-block (T=1).
    pub const RESEND_I_BLOCK: Self = Self(5);
    /// 6: send next part of APDU (T=1).
    pub const SEND_NEXT_APDU: Self = Self(6);
}

/// A secure PIN request: what the keypad must collect and the APDU template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureRequest<'a> {
    /// PIN verification (`bTimeOut2` is always 0: CCID does not carry it).
    Verify(VerifyStructure<'a>),
    /// PIN modification.
    Modify(ModifyStructure<'a>),
}

const VERIFY_FIXED: usize = 15;
const MODIFY_FIXED: usize = 15;

fn pin_err(e: cardwire_pin::Error, base: usize) -> Error {
    match e {
        cardwire_pin::Error::Invalid { offset, what } => Error::Invalid {
            offset: HEADER_LEN + base + offset,
            what,
        },
        _ => Error::Invalid {
            offset: HEADER_LEN + base,
            what: "invalid PIN data structure",
        },
    }
}

fn check(
    min: u8,
    max: u8,
    apdu: &[u8],
    min_offset: usize,
    apdu_offset: usize,
) -> Result<(), Error> {
    if min > max {
        return Err(Error::Invalid {
            offset: HEADER_LEN + min_offset,
            what: "wPINMaxExtraDigit: minimum above maximum",
        });
    }
    if apdu.len() < 4 {
        return Err(Error::Invalid {
            offset: HEADER_LEN + apdu_offset,
            what: "abPINApdu shorter than an APDU header",
        });
    }
    Ok(())
}

impl<'a> SecureRequest<'a> {
    /// Reads the `abData` of a `PC_to_RDR_Secure` message.
    ///
    /// # Errors
    /// [`Error::Truncated`] when a structure is cut short; [`Error::Invalid`] for an
    /// unsupported `bPINOperation` (offset 10) or an invalid field (its offset).
    pub fn parse(data: &'a [u8]) -> Result<Self, Error> {
        let (&op, rest) = data.split_first().ok_or(Error::Truncated {
            offset: HEADER_LEN,
            needed: 1,
        })?;
        match PinOperation(op) {
            PinOperation::VERIFY => {
                let fixed: &[u8; VERIFY_FIXED - 1] =
                    rest.first_chunk().ok_or(Error::Truncated {
                        offset: HEADER_LEN + data.len(),
                        needed: VERIFY_FIXED.saturating_sub(data.len()),
                    })?;
                let [
                    timeout,
                    f0,
                    f1,
                    f2,
                    max_digits,
                    min_digits,
                    validation,
                    number_message,
                    l0,
                    l1,
                    msg_index,
                    t0,
                    t1,
                    t2,
                ] = *fixed;
                let format = EntryFormat::from_bytes([f0, f1, f2], 2).map_err(|e| pin_err(e, 0))?;
                let apdu = data.get(VERIFY_FIXED..).unwrap_or(&[]);
                check(min_digits, max_digits, apdu, 5, VERIFY_FIXED)?;
                Ok(SecureRequest::Verify(VerifyStructure {
                    timeout,
                    timeout2: 0,
                    format,
                    min_digits,
                    max_digits,
                    entry_validation: EntryValidation(validation),
                    number_message,
                    lang_id: u16::from_le_bytes([l0, l1]),
                    msg_index,
                    teo_prologue: [t0, t1, t2],
                    apdu,
                }))
            }
            PinOperation::MODIFY => {
                let fixed: &[u8; MODIFY_FIXED - 1] =
                    rest.first_chunk().ok_or(Error::Truncated {
                        offset: HEADER_LEN + data.len(),
                        needed: (MODIFY_FIXED + 3).saturating_sub(data.len()),
                    })?;
                let [
                    timeout,
                    f0,
                    f1,
                    f2,
                    offset_old,
                    offset_new,
                    max_digits,
                    min_digits,
                    confirm,
                    validation,
                    number_message,
                    l0,
                    l1,
                    idx1,
                ] = *fixed;
                let format = EntryFormat::from_bytes([f0, f1, f2], 2).map_err(|e| pin_err(e, 0))?;
                if confirm & !0x03 != 0 {
                    return Err(Error::Invalid {
                        offset: HEADER_LEN + 9,
                        what: "bConfirmPIN: reserved bits 7-2 are set",
                    });
                }
                let extra = usize::from(number_message != 0) + usize::from(number_message >= 3);
                let tail = data.get(MODIFY_FIXED..).unwrap_or(&[]);
                let needed = extra + 3;
                if tail.len() < needed {
                    return Err(Error::Truncated {
                        offset: HEADER_LEN + data.len(),
                        needed: needed - tail.len(),
                    });
                }
                let (idx, tail) = tail.split_at(extra);
                let (teo, apdu) = tail.split_at(3);
                let mut msg_index = [idx1, 0, 0];
                for (slot, &b) in msg_index.iter_mut().skip(1).zip(idx) {
                    *slot = b;
                }
                let mut teo_prologue = [0u8; 3];
                teo_prologue.copy_from_slice(teo);
                check(min_digits, max_digits, apdu, 7, MODIFY_FIXED + needed)?;
                Ok(SecureRequest::Modify(ModifyStructure {
                    timeout,
                    timeout2: 0,
                    format,
                    insertion_offset_old: offset_old,
                    insertion_offset_new: offset_new,
                    min_digits,
                    max_digits,
                    confirm: ConfirmPin(confirm),
                    entry_validation: EntryValidation(validation),
                    number_message,
                    lang_id: u16::from_le_bytes([l0, l1]),
                    msg_index,
                    teo_prologue,
                    apdu,
                }))
            }
            _ => Err(Error::Invalid {
                offset: HEADER_LEN,
                what: "bPINOperation: only verification (0) and modification (1) are supported",
            }),
        }
    }

    /// Bytes [`SecureRequest::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        match self {
            SecureRequest::Verify(s) => VERIFY_FIXED + s.apdu.len(),
            SecureRequest::Modify(s) => {
                MODIFY_FIXED
                    + usize::from(s.number_message != 0)
                    + usize::from(s.number_message >= 3)
                    + 3
                    + s.apdu.len()
            }
        }
    }

    /// Writes the `abData` of a `PC_to_RDR_Secure` message (what a host driver such as
    /// libccid sends); `bTimeOut2` is dropped.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is shorter than [`Self::encoded_len`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let needed = self.encoded_len();
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let mut pos = 0usize;
        let mut put = |bytes: &[u8], out: &mut [u8]| {
            for &b in bytes {
                if let Some(slot) = out.get_mut(pos) {
                    *slot = b;
                }
                pos += 1;
            }
        };
        match self {
            SecureRequest::Verify(s) => {
                let [l0, l1] = s.lang_id.to_le_bytes();
                put(&[PinOperation::VERIFY.0, s.timeout], out);
                put(&s.format.to_bytes(), out);
                put(
                    &[
                        s.max_digits,
                        s.min_digits,
                        s.entry_validation.0,
                        s.number_message,
                        l0,
                        l1,
                        s.msg_index,
                    ],
                    out,
                );
                put(&s.teo_prologue, out);
                put(s.apdu, out);
            }
            SecureRequest::Modify(s) => {
                let [l0, l1] = s.lang_id.to_le_bytes();
                let [i1, i2, i3] = s.msg_index;
                put(&[PinOperation::MODIFY.0, s.timeout], out);
                put(&s.format.to_bytes(), out);
                put(
                    &[
                        s.insertion_offset_old,
                        s.insertion_offset_new,
                        s.max_digits,
                        s.min_digits,
                        s.confirm.0,
                        s.entry_validation.0,
                        s.number_message,
                        l0,
                        l1,
                        i1,
                    ],
                    out,
                );
                if s.number_message != 0 {
                    put(&[i2], out);
                }
                if s.number_message >= 3 {
                    put(&[i3], out);
                }
                put(&s.teo_prologue, out);
                put(s.apdu, out);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The abData libccid builds from a PC/SC PIN_VERIFY_STRUCTURE (commands.c
    // SecurePINVerify: copy everything but bTimerOut2 and ulDataLength): 30 s timeout,
    // ASCII left-justified in bytes at 0 (82), 8-byte block (08), no length (00), 4..8 digits,
    // validation key (02), one message (01), en-US, index 0, no prologue, then the PIV
    // VERIFY template 00 20 00 80 08 FF*8.
    const VERIFY_ABDATA: [u8; 28] = [
        0x00, 0x1E, 0x82, 0x08, 0x00, 0x08, 0x04, 0x02, 0x01, 0x09, 0x04, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x20, 0x00, 0x80, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];

    #[test]
    fn verify_structure() {
        let r = SecureRequest::parse(&VERIFY_ABDATA).unwrap();
        let SecureRequest::Verify(s) = r else {
            panic!("not a verification")
        };
        assert_eq!((s.min_digits, s.max_digits, s.timeout), (4, 8, 30));
        assert_eq!(s.apdu, &VERIFY_ABDATA[15..]);
        assert_eq!(s.lang_id, 0x0409);
        let mut out = [0u8; 64];
        assert_eq!(r.encode(&mut out).unwrap(), VERIFY_ABDATA);
        // Cut short, and min above max.
        assert!(matches!(
            SecureRequest::parse(&VERIFY_ABDATA[..10]),
            Err(Error::Truncated { .. })
        ));
        let mut bad = VERIFY_ABDATA;
        bad[6] = 9;
        assert!(matches!(
            SecureRequest::parse(&bad),
            Err(Error::Invalid { offset: 15, .. })
        ));
        assert!(matches!(
            SecureRequest::parse(&[2]),
            Err(Error::Invalid { offset: 10, .. })
        ));
    }

    #[test]
    fn modify_structure_message_indexes() {
        let mut template = [0xFF; 21];
        template[..5].copy_from_slice(&[0x00, 0x24, 0x00, 0x80, 0x10]);
        for nm in [0u8, 1, 2, 3, 0xFF] {
            let mut s = ModifyStructure::new(
                EntryFormat::ascii(8),
                0,
                8,
                ConfirmPin(0x03),
                6,
                8,
                &template,
            );
            s.number_message = nm;
            s.msg_index = [0, if nm != 0 { 1 } else { 0 }, if nm >= 3 { 2 } else { 0 }];
            let r = SecureRequest::Modify(s);
            let mut out = [0u8; 64];
            let bytes = r.encode(&mut out).unwrap();
            let expected = 15 + usize::from(nm != 0) + usize::from(nm >= 3) + 3 + 21;
            assert_eq!(bytes.len(), expected);
            assert_eq!(SecureRequest::parse(bytes).unwrap(), r);
        }
    }
}
