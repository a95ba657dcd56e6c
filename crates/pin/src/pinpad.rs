//! The PIN pad reader's side of secure PIN entry: given a PC/SC Part 10 structure and the
//! digits typed on the keypad, build the command APDU to send to the card.
//!
//! How the digits are placed (PC/SC Part 10 v2.02.09 §2.5.2-§2.5.3, USB CCID Rev 1.1
//! §6.1.11.4-§6.1.11.8):
//!
//! 1. The APDU template is copied: 4 header bytes, then (if present) Lc and the data field,
//!    which carries the filler (`FF`s, a format 2 control nibble, ...).
//! 2. Each PIN goes into a *PIN block* that starts at the data field for VERIFY, and at
//!    `bInsertionOffsetOld` / `bInsertionOffsetNew` bytes into it for MODIFY. The block is
//!    `block_size` bytes long; 0 means "as long as the PIN" (variable-length PINs).
//! 3. The digits are coded (binary, BCD or ASCII) and written from `pin_position` inside the
//!    block (left-justified) or so that they end at the end of the block (right-justified),
//!    bit by bit, so bit-unit positions such as a format 2 length nibble work.
//! 4. If `length_size_bits` is not 0, the number of digits is written there, at
//!    `length_position` inside the block.
//! 5. Lc is recomputed (bytes beyond the template are zero-filled).
//!
//! The built APDU contains the PIN: the caller wipes `out` after sending it.

use subtle::ConstantTimeEq;

use cardwire_apdu::{Cla, Ins, StatusWord};

use crate::{
    DigitCoding, EntryFormat, Error, Justification, ModifyStructure, Pin, PinFormat, PinReference,
    VerifyStructure,
};

/// The entries a user typed for a PIN change.
#[derive(Debug)]
pub struct ModifyEntries<'p> {
    /// The current PIN, required when `bConfirmPIN` bit 1 is set (ignored otherwise).
    pub current: Option<&'p Pin>,
    /// The new PIN.
    pub new: &'p Pin,
    /// The new PIN typed again, required when `bConfirmPIN` bit 0 is set.
    pub confirmation: Option<&'p Pin>,
}

/// Builds the VERIFY APDU for `s` with the digits in `pin` (ASCII `'0'..='9'`, e.g. from
/// [`Pin::from_digit_values`]).
///
/// ```
/// use cardwire_pin::{EntryFormat, Pin, VerifyStructure, pinpad};
/// let template = [0x00, 0x20, 0x00, 0x81, 0x08, 0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
/// let s = VerifyStructure::new(EntryFormat::ISO9564_FORMAT2, 4, 12, &template);
/// let mut apdu = [0u8; 261];
/// let built = pinpad::verify_apdu(&s, &Pin::from_digit_values(&[1, 2, 3, 4])?, &mut apdu)?;
/// assert_eq!(built, [0x00, 0x20, 0x00, 0x81, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
///
/// # Errors
/// [`Error::EntryLengthOutOfRange`] when the digit count is outside min..=max;
/// [`Error::InvalidCharacter`] for a non-digit; [`Error::Invalid`] when the structure cannot
/// hold the PIN (block too small, length too big for its field, data over 255 bytes);
/// [`Error::BufferTooSmall`] when `out` is too short.
pub fn verify_apdu<'o>(
    s: &VerifyStructure<'_>,
    pin: &Pin,
    out: &'o mut [u8],
) -> Result<&'o [u8], Error> {
    check_entry(pin, s.min_digits, s.max_digits)?;
    let mut apdu = ApduBuilder::start(s.apdu, out)?;
    apdu.insert(&s.format, 0, pin)?;
    Ok(apdu.finish())
}

/// Builds the CHANGE REFERENCE DATA (or other) APDU for a PIN modification.
///
/// # Errors
/// As [`verify_apdu`]; [`Error::ConfirmationMismatch`] when the confirmation differs from
/// the new PIN (compared in constant time); [`Error::Invalid`] when an entry the structure
/// asks for is missing.
pub fn modify_apdu<'o>(
    s: &ModifyStructure<'_>,
    entries: &ModifyEntries<'_>,
    out: &'o mut [u8],
) -> Result<&'o [u8], Error> {
    let current = if s.confirm.enter_current() {
        let current = entries.current.ok_or(Error::Invalid {
            offset: 9,
            what: "bConfirmPIN asks for the current PIN and none was entered",
        })?;
        check_entry(current, s.min_digits, s.max_digits)?;
        Some(current)
    } else {
        None
    };
    check_entry(entries.new, s.min_digits, s.max_digits)?;
    if s.confirm.confirm_new() {
        let confirmation = entries.confirmation.ok_or(Error::Invalid {
            offset: 9,
            what: "bConfirmPIN asks for a confirmation and none was entered",
        })?;
        if !bool::from(confirmation.ct_eq(entries.new)) {
            return Err(Error::ConfirmationMismatch);
        }
    }
    let mut apdu = ApduBuilder::start(s.apdu, out)?;
    if let Some(current) = current {
        apdu.insert(&s.format, usize::from(s.insertion_offset_old), current)?;
    }
    apdu.insert(&s.format, usize::from(s.insertion_offset_new), entries.new)?;
    Ok(apdu.finish())
}

/// The status word a PIN pad reader returns instead of the card's for an entry failure
/// (PC/SC Part 10 v2.02.09 §2.5.2: `6400` timeout, `6401` cancelled, `6402` new PINs differ,
/// `6403` PIN length out of range, `6B80` invalid parameter in the structure).
pub fn reader_status(error: &Error) -> StatusWord {
    match error {
        Error::EntryTimeout => StatusWord(0x6400),
        Error::EntryCancelled => StatusWord(0x6401),
        Error::ConfirmationMismatch => StatusWord(0x6402),
        Error::EntryLengthOutOfRange => StatusWord(0x6403),
        _ => StatusWord(0x6B80),
    }
}

/// The entry failure a PIN pad reader reports with `sw`, if it is one of PC/SC Part 10's
/// `6400`..`6403` (the host side maps a reader's answer with this).
pub fn entry_error(sw: StatusWord) -> Option<Error> {
    match sw.0 {
        0x6400 => Some(Error::EntryTimeout),
        0x6401 => Some(Error::EntryCancelled),
        0x6402 => Some(Error::ConfirmationMismatch),
        0x6403 => Some(Error::EntryLengthOutOfRange),
        _ => None,
    }
}

/// The [`EntryFormat`] that makes a PIN pad produce exactly what [`PinFormat::encode`] does,
/// or `None` when PC/SC Part 10 cannot express the format (a padded length above 15 bytes,
/// unpadded BCD whose odd last nibble must be `F`).
pub fn entry_format_for(format: PinFormat) -> Option<EntryFormat> {
    let with = |coding: DigitCoding, block_size: u8| EntryFormat {
        coding,
        block_size,
        ..EntryFormat::ascii(0)
    };
    match format {
        PinFormat::Iso9564Format2 => Some(EntryFormat::ISO9564_FORMAT2),
        PinFormat::Ascii(None) => Some(EntryFormat::ascii(0)),
        PinFormat::Binary(None) => Some(with(DigitCoding::Binary, 0)),
        PinFormat::Ascii(Some(p)) if p.length <= 15 => Some(EntryFormat::ascii(p.length)),
        PinFormat::Bcd(Some(n)) if n <= 15 => Some(with(DigitCoding::Bcd, n)),
        PinFormat::Binary(Some(n)) if n <= 15 => Some(with(DigitCoding::Binary, n)),
        _ => None,
    }
}

/// Host side: writes the VERIFY APDU template for a PIN of `format` on `reference` (header,
/// then for fixed-length formats Lc and the filler: pad bytes, or `2F FF..` for format 2) into
/// `out`, and returns it with the matching [`EntryFormat`], ready for
/// [`VerifyStructure::new`].
///
/// ```
/// use cardwire_apdu::Cla;
/// use cardwire_pin::{PinFormat, PinReference, VerifyStructure, pinpad};
/// let mut buf = [0u8; 32];
/// let (format, template) = pinpad::verify_template(Cla(0x00), PinReference(0x80), PinFormat::PIV, &mut buf)?;
/// assert_eq!(template, [0x00, 0x20, 0x00, 0x80, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
/// let structure = VerifyStructure::new(format, 6, 8, template);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] when [`entry_format_for`] has no equivalent; [`Error::BufferTooSmall`].
pub fn verify_template(
    cla: Cla,
    reference: PinReference,
    format: PinFormat,
    out: &mut [u8],
) -> Result<(EntryFormat, &[u8]), Error> {
    let entry = entry_format_for(format).ok_or(Error::Invalid {
        offset: 0,
        what: "this PIN format cannot be expressed in a PC/SC Part 10 structure",
    })?;
    let (fill, first) = match format {
        PinFormat::Iso9564Format2 => (0xFF, Some(0x2F)),
        PinFormat::Ascii(Some(p)) => (p.byte, None),
        _ => (0xFF, None),
    };
    let block = usize::from(entry.block_size);
    let needed = if block == 0 {
        HEADER
    } else {
        DATA_START + block
    };
    let out = out
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed })?;
    let header = [cla.0, Ins::VERIFY.0, 0x00, reference.p2(), entry.block_size];
    for (i, b) in out.iter_mut().enumerate() {
        *b = match (header.get(i), i == DATA_START) {
            (Some(&h), _) => h,
            (None, true) => first.unwrap_or(fill),
            (None, false) => fill,
        };
    }
    Ok((entry, out))
}

fn check_entry(pin: &Pin, min: u8, max: u8) -> Result<(), Error> {
    if let Some(offset) = pin.expose_secret().iter().position(|c| !c.is_ascii_digit()) {
        return Err(Error::InvalidCharacter { offset });
    }
    if pin.len() < usize::from(min) || pin.len() > usize::from(max) {
        return Err(Error::EntryLengthOutOfRange);
    }
    Ok(())
}

const HEADER: usize = 4;
const DATA_START: usize = 5;
const MAX_DATA: usize = 255;

struct ApduBuilder<'o> {
    out: &'o mut [u8],
    data_len: usize,
}

impl<'o> ApduBuilder<'o> {
    fn start(template: &[u8], out: &'o mut [u8]) -> Result<Self, Error> {
        let header = template.get(..HEADER).ok_or(Error::Invalid {
            offset: 0,
            what: "the APDU template is shorter than a command header",
        })?;
        let data = template.get(DATA_START..).unwrap_or(&[]);
        if data.len() > MAX_DATA {
            return Err(Error::Invalid {
                offset: DATA_START,
                what: "the APDU template's data field is longer than 255 bytes",
            });
        }
        let needed = DATA_START + data.len();
        let head = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let (h, rest) = head.split_at_mut(DATA_START);
        if let Some(hdr) = h.get_mut(..HEADER) {
            hdr.copy_from_slice(header);
        }
        rest.copy_from_slice(data);
        Ok(ApduBuilder {
            out,
            data_len: data.len(),
        })
    }

    /// Makes the data field at least `len` bytes, zero-filling new bytes.
    fn cover(&mut self, len: usize) -> Result<(), Error> {
        if len <= self.data_len {
            return Ok(());
        }
        if len > MAX_DATA {
            return Err(Error::Invalid {
                offset: DATA_START,
                what: "the PIN block ends beyond a 255-byte data field",
            });
        }
        let needed = DATA_START + len;
        let new = self
            .out
            .get_mut(DATA_START + self.data_len..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        new.fill(0);
        self.data_len = len;
        Ok(())
    }

    fn write_bits(&mut self, bit_offset: usize, width: usize, value: u32) -> Result<(), Error> {
        self.cover((bit_offset + width).div_ceil(8))?;
        let data = self
            .out
            .get_mut(DATA_START..DATA_START + self.data_len)
            .unwrap_or(&mut []);
        for i in 0..width {
            let bit = (value >> (width - 1 - i)) & 1;
            let pos = bit_offset + i;
            if let Some(byte) = data.get_mut(pos / 8) {
                let mask = 0x80u8 >> (pos % 8);
                if bit == 1 {
                    *byte |= mask;
                } else {
                    *byte &= !mask;
                }
            }
        }
        Ok(())
    }

    fn insert(
        &mut self,
        format: &EntryFormat,
        block_offset: usize,
        pin: &Pin,
    ) -> Result<(), Error> {
        let digit_bits = format.coding.bits_per_digit();
        let pin_bits = pin.len() * digit_bits;
        let block_start = block_offset * 8;
        let frame_start = block_start + format.pin_position_bits();
        let block_end = if format.block_size == 0 {
            frame_start + pin_bits
        } else {
            block_start + usize::from(format.block_size) * 8
        };
        if frame_start + pin_bits > block_end {
            return Err(Error::Invalid {
                offset: 3,
                what: "bmPINBlockString: the PIN does not fit in the PIN block",
            });
        }
        self.cover(block_end.div_ceil(8))?;
        let start = match format.justification {
            Justification::Left => frame_start,
            Justification::Right => block_end - pin_bits,
        };
        for (i, &c) in pin.expose_secret().iter().enumerate() {
            self.write_bits(
                start + i * digit_bits,
                digit_bits,
                u32::from(format.coding.code(c)),
            )?;
        }
        let size = usize::from(format.length_size_bits);
        if size > 0 {
            if pin.len() >= 1 << size {
                return Err(Error::Invalid {
                    offset: 3,
                    what: "bmPINBlockString: the PIN length does not fit its field",
                });
            }
            let pos = block_start + format.length_position_bits();
            self.write_bits(pos, size, pin.len() as u32)?; // len <= 127
        }
        Ok(())
    }

    fn finish(self) -> &'o [u8] {
        if let Some(lc) = self.out.get_mut(HEADER) {
            *lc = self.data_len as u8; // <= MAX_DATA = 255
        }
        let end = DATA_START + self.data_len;
        self.out.get(..end).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CardPin, CardPinConfig, ConfirmPin, Padding, PinOutcome, Units};
    use proptest::prelude::*;

    fn digits(d: &[u8]) -> Pin {
        Pin::from_digit_values(d).unwrap()
    }

    const FORMAT2_TEMPLATE: [u8; 13] = [
        0x00, 0x20, 0x00, 0x81, 0x08, 0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];

    #[test]
    fn format2_matches_the_software_encoder() {
        let s = VerifyStructure::new(EntryFormat::ISO9564_FORMAT2, 4, 12, &FORMAT2_TEMPLATE);
        for pin in [&b"1234"[..], b"12345", b"123456789012"] {
            let mut out = [0u8; 64];
            let apdu = verify_apdu(&s, &Pin::new(pin).unwrap(), &mut out).unwrap();
            let expected = PinFormat::Iso9564Format2
                .encode(&Pin::new(pin).unwrap())
                .unwrap();
            assert_eq!(&apdu[5..], expected.expose_secret());
            assert_eq!(apdu[4], 8);
        }
    }

    #[test]
    fn acs_bit_unit_example() {
        // ACS ACR83 reference manual v1.05 §11.3: template 00 20 00 01 09 57 30*8, format
        // 39 49 02, PIN 123456780: BCD digits from bit 7, 4-bit length at bit 2, 9-byte block.
        let template = [
            0x00, 0x20, 0x00, 0x01, 0x09, 0x57, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
        ];
        let format = EntryFormat::from_bytes([0x39, 0x49, 0x02], 0).unwrap();
        let s = VerifyStructure::new(format, 1, 10, &template);
        let mut out = [0u8; 64];
        let apdu = verify_apdu(&s, &digits(&[1, 2, 3, 4, 5, 6, 7, 8, 0]), &mut out).unwrap();
        // Worked by hand: bits 0-1 keep "01", bits 2-5 = 1001 (9 digits), bit 6 keeps "1",
        // then 36 bits of BCD 1 2 3 4 5 6 7 8 0 from bit 7, the rest of the template kept.
        let mut expected = [0u8; 9];
        expected.copy_from_slice(&template[5..]);
        let mut bits: u128 = u128::from_be_bytes({
            let mut b = [0u8; 16];
            b[..9].copy_from_slice(&expected);
            b
        });
        let set = |bits: &mut u128, at: u32, width: u32, v: u128| {
            let shift = 128 - at - width;
            let mask = ((1u128 << width) - 1) << shift;
            *bits = (*bits & !mask) | (v << shift);
        };
        set(&mut bits, 2, 4, 9);
        set(&mut bits, 7, 36, 0x0001_2345_6780);
        expected.copy_from_slice(&bits.to_be_bytes()[..9]);
        assert_eq!(&apdu[5..], &expected);
        assert_eq!(apdu[4], 9);
    }

    #[test]
    fn variable_length_ascii_sets_lc() {
        let s = VerifyStructure::new(EntryFormat::ascii(0), 4, 8, &[0x00, 0x20, 0x00, 0x81]);
        let mut out = [0u8; 32];
        let apdu = verify_apdu(&s, &digits(&[1, 2, 3, 4, 5, 6]), &mut out).unwrap();
        assert_eq!(apdu, b"\x00\x20\x00\x81\x06123456");
    }

    #[test]
    fn right_justified_binary() {
        let format = EntryFormat {
            position_units: Units::Bytes,
            pin_position: 0,
            justification: Justification::Right,
            coding: DigitCoding::Binary,
            length_size_bits: 0,
            block_size: 6,
            length_units: Units::Bytes,
            length_position: 0,
        };
        let template = [
            0x80, 0x20, 0x00, 0x01, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let s = VerifyStructure::new(format, 4, 6, &template);
        let mut out = [0u8; 32];
        let apdu = verify_apdu(&s, &digits(&[9, 8, 7, 6]), &mut out).unwrap();
        assert_eq!(&apdu[5..], &[0xFF, 0xFF, 9, 8, 7, 6]);
    }

    #[test]
    fn entry_errors() {
        let s = VerifyStructure::new(EntryFormat::ISO9564_FORMAT2, 4, 12, &FORMAT2_TEMPLATE);
        let mut out = [0u8; 64];
        assert_eq!(
            verify_apdu(&s, &digits(&[1, 2, 3]), &mut out).err(),
            Some(Error::EntryLengthOutOfRange)
        );
        assert_eq!(
            verify_apdu(&s, &Pin::new(b"12a4").unwrap(), &mut out).err(),
            Some(Error::InvalidCharacter { offset: 2 })
        );
        // A block too small for the maximum.
        let mut small = EntryFormat::ISO9564_FORMAT2;
        small.block_size = 3;
        let s = VerifyStructure::new(small, 4, 12, &FORMAT2_TEMPLATE);
        assert!(matches!(
            verify_apdu(&s, &digits(&[1, 2, 3, 4, 5, 6]), &mut out),
            Err(Error::Invalid { offset: 3, .. })
        ));
        let s = VerifyStructure::new(EntryFormat::ISO9564_FORMAT2, 4, 12, &FORMAT2_TEMPLATE);
        let mut tiny = [0u8; 8];
        assert_eq!(
            verify_apdu(&s, &digits(&[1, 2, 3, 4]), &mut tiny).err(),
            Some(Error::BufferTooSmall { needed: 13 })
        );
        assert_eq!(
            reader_status(&Error::ConfirmationMismatch),
            StatusWord(0x6402)
        );
        assert_eq!(entry_error(StatusWord(0x6401)), Some(Error::EntryCancelled));
        assert_eq!(entry_error(StatusWord(0x9000)), None);
    }

    #[test]
    fn modify_builds_a_change_the_card_accepts() {
        let mut template = [0xFFu8; 21];
        template[..5].copy_from_slice(&[0x00, 0x24, 0x00, 0x80, 0x10]);
        let s = ModifyStructure::new(
            EntryFormat::ascii(8),
            0,
            8,
            ConfirmPin(0x03),
            6,
            8,
            &template,
        );
        let (old, new) = (digits(&[1, 2, 3, 4, 5, 6]), digits(&[6, 5, 4, 3, 2, 1, 0]));
        let mut out = [0u8; 64];
        let wrong = digits(&[6, 5, 4, 3, 2, 1, 1]);
        let entries = ModifyEntries {
            current: Some(&old),
            new: &new,
            confirmation: Some(&wrong),
        };
        assert_eq!(
            modify_apdu(&s, &entries, &mut out).err(),
            Some(Error::ConfirmationMismatch)
        );
        let entries = ModifyEntries {
            current: Some(&old),
            new: &new,
            confirmation: Some(&new),
        };
        let apdu = modify_apdu(&s, &entries, &mut out).unwrap();
        assert_eq!(&apdu[5..13], b"123456\xFF\xFF");
        assert_eq!(&apdu[13..21], b"6543210\xFF");
        // The card side accepts what the PIN pad built.
        let mut card = CardPin::new(
            CardPinConfig::PIV,
            Some(&Pin::new(b"123456").unwrap()),
            None,
        )
        .unwrap();
        assert_eq!(
            card.process(
                crate::Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                apdu[2],
                &apdu[5..],
                false,
                &mut ()
            ),
            PinOutcome::Verified
        );
        let missing = ModifyEntries {
            current: None,
            new: &new,
            confirmation: Some(&new),
        };
        assert!(matches!(
            modify_apdu(&s, &missing, &mut out),
            Err(Error::Invalid { offset: 9, .. })
        ));
    }

    fn formats() -> impl Strategy<Value = PinFormat> {
        prop_oneof![
            Just(PinFormat::ASCII),
            Just(PinFormat::PIV),
            Just(PinFormat::Ascii(Some(Padding::zero(12)))),
            Just(PinFormat::Bcd(Some(8))),
            Just(PinFormat::Binary(None)),
            Just(PinFormat::Binary(Some(12))),
            Just(PinFormat::Iso9564Format2),
        ]
    }

    proptest! {
        /// The PIN pad, given the template and structure the host builds, sends exactly the
        /// bytes the software encoder produces.
        #[test]
        fn pinpad_and_software_encoder_agree(format in formats(), digits in "[0-9]{4,12}") {
            let pin = Pin::new(digits.as_bytes()).unwrap();
            let Ok(expected) = format.encode(&pin) else { return Ok(()); };
            let mut template = [0u8; 32];
            let (entry, template) =
                verify_template(Cla(0x00), PinReference(0x81), format, &mut template).unwrap();
            let s = VerifyStructure::new(entry, 1, 15, template);
            let mut out = [0u8; 64];
            let apdu = verify_apdu(&s, &pin, &mut out).unwrap();
            prop_assert_eq!(&apdu[..4], &[0x00, 0x20, 0x00, 0x81]);
            prop_assert_eq!(&apdu[5..], expected.expose_secret());
        }
    }

    #[test]
    fn formats_without_an_entry_format() {
        assert_eq!(entry_format_for(PinFormat::BCD), None);
        assert_eq!(
            entry_format_for(PinFormat::Ascii(Some(Padding::ff(16)))),
            None
        );
        let mut buf = [0u8; 32];
        assert!(verify_template(Cla(0), PinReference(1), PinFormat::BCD, &mut buf).is_err());
        let mut small = [0u8; 6];
        assert_eq!(
            verify_template(Cla(0), PinReference(1), PinFormat::PIV, &mut small).err(),
            Some(Error::BufferTooSmall { needed: 13 })
        );
    }
}
