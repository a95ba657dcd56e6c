//! [`PinCommand`]: VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER
//! (ISO/IEC 7816-4 §11.5.6, §11.5.7, §11.5.10), holding their secret data field.

use cardwire_apdu::{Cla, CommandRepr, Ins};

use crate::{Error, Pin, PinData, PinFormat, PinReference};

/// A PIN command ready to send. The data field (PIN, PUK, old and new PIN) is kept in a
/// zeroizing [`PinData`]; [`PinCommand::repr`] lends it to a
/// [`CommandRepr`] for encoding.
///
/// | command | P1 | data |
/// |---|---|---|
/// | [`verify`](Self::verify) | `00` | PIN |
/// | [`verify_status`](Self::verify_status) | `00` | none: asks for the retry counter |
/// | [`reset_verification`](Self::reset_verification) | `FF` | none: resets the verified state |
/// | [`change_reference_data`](Self::change_reference_data) | `00` / `01` | old PIN + new PIN / new PIN |
/// | [`reset_retry_counter`](Self::reset_retry_counter) | `00` / `01` / `02` / `03` | PUK + new PIN / PUK / new PIN / none |
///
/// P2 is the [`PinReference`]. No command carries Le (Ne = 0).
///
/// ```
/// use cardwire_apdu::Cla;
/// use cardwire_pin::{Pin, PinCommand, PinFormat, PinReference};
/// let cmd = PinCommand::verify(PinReference::PIV_APPLICATION_PIN, PinFormat::PIV, &Pin::new(b"123456")?)?;
/// let mut buf = [0u8; 16];
/// let apdu = cmd.repr(Cla(0x00)).encode(&mut buf).unwrap();
/// assert_eq!(apdu, b"\x00\x20\x00\x80\x08123456\xFF\xFF");
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
#[derive(Debug)]
pub struct PinCommand {
    ins: Ins,
    p1: u8,
    reference: PinReference,
    data: PinData,
}

impl PinCommand {
    /// VERIFY with the formatted `pin` (P1 `00`).
    ///
    /// # Errors
    /// A format error (see [`PinFormat::encode`]).
    pub fn verify(reference: PinReference, format: PinFormat, pin: &Pin) -> Result<Self, Error> {
        Ok(Self::with_data(
            Ins::VERIFY,
            0x00,
            reference,
            format.encode(pin)?,
        ))
    }

    /// VERIFY without data: the card answers `9000` when the PIN is verified, `63Cx` with the
    /// tries left otherwise (ISO/IEC 7816-4 §11.5.6).
    pub fn verify_status(reference: PinReference) -> Self {
        Self::with_data(Ins::VERIFY, 0x00, reference, PinData::new())
    }

    /// VERIFY with P1 `FF` and no data: resets the verified state of the reference.
    pub fn reset_verification(reference: PinReference) -> Self {
        Self::with_data(Ins::VERIFY, 0xFF, reference, PinData::new())
    }

    /// CHANGE REFERENCE DATA: P1 `00` with `old || new` when `old` is given, P1 `01` with
    /// `new` only (the card then requires a prior verification).
    ///
    /// # Errors
    /// A format error, or [`Error::PinTooLong`] when both do not fit 255 bytes.
    pub fn change_reference_data(
        reference: PinReference,
        format: PinFormat,
        old: Option<&Pin>,
        new: &Pin,
    ) -> Result<Self, Error> {
        let mut data = PinData::new();
        let p1 = match old {
            Some(old) => {
                format.encode_into(old, &mut data)?;
                0x00
            }
            None => 0x01,
        };
        format.encode_into(new, &mut data)?;
        Ok(Self::with_data(
            Ins::CHANGE_REFERENCE_DATA,
            p1,
            reference,
            data,
        ))
    }

    /// RESET RETRY COUNTER of `reference` (the PIN, not the PUK): P1 `00` PUK + new PIN,
    /// `01` PUK only, `02` new PIN only, `03` nothing (the last two need another security
    /// condition, e.g. an administrator's secure channel).
    ///
    /// # Errors
    /// A format error, or [`Error::PinTooLong`] when both do not fit 255 bytes.
    pub fn reset_retry_counter(
        reference: PinReference,
        pin_format: PinFormat,
        puk_format: PinFormat,
        puk: Option<&Pin>,
        new: Option<&Pin>,
    ) -> Result<Self, Error> {
        let mut data = PinData::new();
        if let Some(puk) = puk {
            puk_format.encode_into(puk, &mut data)?;
        }
        if let Some(new) = new {
            pin_format.encode_into(new, &mut data)?;
        }
        let p1 = match (puk.is_some(), new.is_some()) {
            (true, true) => 0x00,
            (true, false) => 0x01,
            (false, true) => 0x02,
            (false, false) => 0x03,
        };
        Ok(Self::with_data(
            Ins::RESET_RETRY_COUNTER,
            p1,
            reference,
            data,
        ))
    }

    fn with_data(ins: Ins, p1: u8, reference: PinReference, data: PinData) -> Self {
        PinCommand {
            ins,
            p1,
            reference,
            data,
        }
    }

    /// The instruction.
    pub fn ins(&self) -> Ins {
        self.ins
    }

    /// P1.
    pub fn p1(&self) -> u8 {
        self.p1
    }

    /// The reference (P2).
    pub fn reference(&self) -> PinReference {
        self.reference
    }

    /// The secret data field.
    pub fn data(&self) -> &PinData {
        &self.data
    }

    /// True when the data field carries a PIN or PUK (so it must not go out in plain when
    /// secure messaging is required).
    pub fn carries_secret(&self) -> bool {
        !self.data.is_empty()
    }

    /// The command as a [`CommandRepr`] with class byte `cla`, borrowing the data field.
    pub fn repr(&self, cla: Cla) -> CommandRepr<'_> {
        CommandRepr::new(cla, self.ins, self.p1, self.reference.p2())
            .with_data(self.data.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::Padding;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn encode(cmd: &PinCommand) -> Vec<u8> {
        let mut buf = [0u8; 300];
        cmd.repr(Cla(0x00)).encode(&mut buf).unwrap().to_vec()
    }

    fn pin(s: &[u8]) -> Pin {
        Pin::new(s).unwrap()
    }

    #[test]
    fn verify_variants() {
        // ISO/IEC 7816-4 §11.5.6: VERIFY 00 20 P1 P2 [Lc data].
        let c = PinCommand::verify(PinReference(0x81), PinFormat::ASCII, &pin(b"1234")).unwrap();
        assert_eq!(encode(&c), b"\x00\x20\x00\x81\x041234");
        assert!(c.carries_secret());
        let c = PinCommand::verify_status(PinReference(0x80));
        assert_eq!(encode(&c), [0x00, 0x20, 0x00, 0x80]);
        assert!(!c.carries_secret());
        let c = PinCommand::reset_verification(PinReference(0x80));
        assert_eq!(encode(&c), [0x00, 0x20, 0xFF, 0x80]);
        let c = PinCommand::verify(PinReference(0x01), PinFormat::Iso9564Format2, &pin(b"1234"))
            .unwrap();
        assert_eq!(
            encode(&c),
            [
                0x00, 0x20, 0x00, 0x01, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
            ]
        );
    }

    #[test]
    fn change_variants() {
        let f = PinFormat::Ascii(Some(Padding::zero(6)));
        let c = PinCommand::change_reference_data(
            PinReference(0x80),
            f,
            Some(&pin(b"1234")),
            &pin(b"98765"),
        )
        .unwrap();
        assert_eq!(encode(&c), b"\x00\x24\x00\x80\x0C1234\x00\x0098765\x00");
        let c =
            PinCommand::change_reference_data(PinReference(0x80), f, None, &pin(b"98765")).unwrap();
        assert_eq!(encode(&c), b"\x00\x24\x01\x80\x0698765\x00");
    }

    #[test]
    fn reset_retry_counter_variants() {
        let (pf, kf) = (PinFormat::PIV, PinFormat::PIV);
        let (puk, new) = (pin(b"12345678"), pin(b"654321"));
        let r = PinReference::PIV_APPLICATION_PIN;
        let c = PinCommand::reset_retry_counter(r, pf, kf, Some(&puk), Some(&new)).unwrap();
        assert_eq!(encode(&c), b"\x00\x2C\x00\x80\x1012345678654321\xFF\xFF");
        let c = PinCommand::reset_retry_counter(r, pf, kf, Some(&puk), None).unwrap();
        assert_eq!(encode(&c), b"\x00\x2C\x01\x80\x0812345678");
        let c = PinCommand::reset_retry_counter(r, pf, kf, None, Some(&new)).unwrap();
        assert_eq!(encode(&c), b"\x00\x2C\x02\x80\x08654321\xFF\xFF");
        let c = PinCommand::reset_retry_counter(r, pf, kf, None, None).unwrap();
        assert_eq!(encode(&c), [0x00, 0x2C, 0x03, 0x80]);
    }

    #[test]
    fn too_long_for_one_apdu() {
        let long = pin(&[b'1'; 127]);
        let err = PinCommand::change_reference_data(
            PinReference(1),
            PinFormat::ASCII,
            Some(&long),
            &pin(&[b'1'; 127]),
        )
        .map(|_| ());
        assert!(err.is_ok()); // 254 bytes fit
        let err = PinCommand::change_reference_data(
            PinReference(1),
            PinFormat::Binary(Some(127)),
            Some(&pin(b"1")),
            &pin(&[b'2'; 127]),
        )
        .err();
        assert!(err.is_none()); // 127 + 127 = 254
        let err = PinCommand::change_reference_data(
            PinReference(1),
            PinFormat::Ascii(Some(Padding::ff(128))),
            Some(&pin(b"1")),
            &pin(b"2"),
        )
        .err();
        assert_eq!(err, Some(Error::PinTooLong { len: 256, max: 255 }));
    }

    proptest! {
        #[test]
        fn verify_apdu_parses_back(p in "[0-9]{4,12}", p2 in any::<u8>()) {
            let c = PinCommand::verify(PinReference(p2), PinFormat::BCD, &pin(p.as_bytes())).unwrap();
            let bytes = encode(&c);
            let parsed = CommandRepr::parse(&bytes).unwrap();
            prop_assert_eq!(parsed.ins, Ins::VERIFY);
            prop_assert_eq!(parsed.p2, p2);
            let back = PinFormat::BCD.decode(parsed.data).unwrap();
            prop_assert_eq!(back.expose_secret(), p.as_bytes());
        }
    }
}
