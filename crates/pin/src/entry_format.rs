//! [`EntryFormat`]: the three formatting bytes of a PC/SC Part 10 PIN structure
//! (`bmFormatString`, `bmPINBlockString`, `bmPINLengthFormat`), shared by
//! [`VerifyStructure`](crate::VerifyStructure) and [`ModifyStructure`](crate::ModifyStructure).
//!
//! Source: PC/SC Part 10 v2.02.09 §2.5.2 (PIN_VERIFY_STRUCTURE) and USB CCID Rev 1.1
//! §6.1.11 (PC_to_RDR_Secure), which define the same bytes.

use crate::Error;

/// Units of a position field: bits or bytes (`bmFormatString` bit 7, `bmPINLengthFormat`
/// bit 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Units {
    /// Positions count bits.
    Bits,
    /// Positions count bytes.
    Bytes,
}

impl Units {
    fn bits(self) -> usize {
        match self {
            Units::Bits => 1,
            Units::Bytes => 8,
        }
    }
}

/// Where the digits sit in the PIN block (`bmFormatString` bit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Justification {
    /// Digits start at the PIN position; filler follows.
    Left,
    /// Digits end at the end of the PIN block.
    Right,
}

/// How each digit is coded (`bmFormatString` bits 1-0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigitCoding {
    /// `00`: one byte `00`-`09` per digit.
    Binary,
    /// `01`: one nibble per digit.
    Bcd,
    /// `10`: one byte `'0'`-`'9'` per digit.
    Ascii,
}

impl DigitCoding {
    /// Bits per digit.
    pub fn bits_per_digit(self) -> usize {
        match self {
            DigitCoding::Bcd => 4,
            DigitCoding::Binary | DigitCoding::Ascii => 8,
        }
    }

    /// The coded value of ASCII digit `c`.
    pub(crate) fn code(self, c: u8) -> u8 {
        match self {
            DigitCoding::Binary | DigitCoding::Bcd => c.wrapping_sub(b'0'),
            DigitCoding::Ascii => c,
        }
    }
}

/// The decoded formatting bytes of a PIN structure: how a PIN pad reader places the typed
/// digits (and, optionally, their count) into the APDU template.
///
/// Positions are relative to the start of the PIN block, which is the start of the command
/// data field for VERIFY and the insertion offset for each PIN of a MODIFY.
///
/// ```
/// use cardwire_pin::EntryFormat;
/// // ISO 9564-1 format 2 block: length nibble at bit 4, BCD digits from byte 1, 8-byte block.
/// let f = EntryFormat::ISO9564_FORMAT2;
/// assert_eq!(f.to_bytes(), [0x89, 0x48, 0x04]);
/// assert_eq!(EntryFormat::from_bytes([0x89, 0x48, 0x04], 0)?, f);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryFormat {
    /// Units of `pin_position` (`bmFormatString` bit 7).
    pub position_units: Units,
    /// Where the PIN digits start, 0-15 units from the block start (`bmFormatString` bits 6-3).
    pub pin_position: u8,
    /// Left or right justification (`bmFormatString` bit 2).
    pub justification: Justification,
    /// Digit coding (`bmFormatString` bits 1-0).
    pub coding: DigitCoding,
    /// Size in bits of the PIN length field, 0 (none) to 15 (`bmPINBlockString` bits 7-4).
    pub length_size_bits: u8,
    /// PIN block size in bytes, 0 to 15 (`bmPINBlockString` bits 3-0). 0: the block is as long
    /// as the PIN, and the reader sets Lc accordingly.
    pub block_size: u8,
    /// Units of `length_position` (`bmPINLengthFormat` bit 4).
    pub length_units: Units,
    /// Where the PIN length field starts, 0-15 units from the block start
    /// (`bmPINLengthFormat` bits 3-0).
    pub length_position: u8,
}

impl EntryFormat {
    /// ISO 9564-1 format 2 PIN block: `2N` then BCD digits left-justified in an 8-byte block
    /// filled with `F` by the template (bytes `89 48 04`).
    pub const ISO9564_FORMAT2: Self = EntryFormat {
        position_units: Units::Bytes,
        pin_position: 1,
        justification: Justification::Left,
        coding: DigitCoding::Bcd,
        length_size_bits: 4,
        block_size: 8,
        length_units: Units::Bits,
        length_position: 4,
    };

    /// ASCII digits left-justified in a `block_size`-byte block whose filler comes from the
    /// template (PIV: 8 bytes of `FF`), no length field (bytes `82 0N 00`).
    pub const fn ascii(block_size: u8) -> Self {
        EntryFormat {
            position_units: Units::Bytes,
            pin_position: 0,
            justification: Justification::Left,
            coding: DigitCoding::Ascii,
            length_size_bits: 0,
            block_size: block_size & 0x0F,
            length_units: Units::Bits,
            length_position: 0,
        }
    }

    /// Decodes `[bmFormatString, bmPINBlockString, bmPINLengthFormat]`; `offset` is where
    /// the first byte sits in the caller's structure, for errors.
    ///
    /// # Errors
    /// [`Error::Invalid`] for the RFU digit coding `11` or RFU bits 7-5 of
    /// `bmPINLengthFormat` set.
    pub fn from_bytes(bytes: [u8; 3], offset: usize) -> Result<Self, Error> {
        let [format, block, length] = bytes;
        let coding = match format & 0x03 {
            0 => DigitCoding::Binary,
            1 => DigitCoding::Bcd,
            2 => DigitCoding::Ascii,
            _ => {
                return Err(Error::Invalid {
                    offset,
                    what: "bmFormatString: PIN coding 11 is reserved",
                });
            }
        };
        if length & 0xE0 != 0 {
            return Err(Error::Invalid {
                offset: offset + 2,
                what: "bmPINLengthFormat: reserved bits 7-5 are set",
            });
        }
        Ok(EntryFormat {
            position_units: if format & 0x80 != 0 {
                Units::Bytes
            } else {
                Units::Bits
            },
            pin_position: (format >> 3) & 0x0F,
            justification: if format & 0x04 != 0 {
                Justification::Right
            } else {
                Justification::Left
            },
            coding,
            length_size_bits: block >> 4,
            block_size: block & 0x0F,
            length_units: if length & 0x10 != 0 {
                Units::Bytes
            } else {
                Units::Bits
            },
            length_position: length & 0x0F,
        })
    }

    /// `[bmFormatString, bmPINBlockString, bmPINLengthFormat]`. Fields wider than their bits
    /// are masked.
    pub fn to_bytes(&self) -> [u8; 3] {
        let units = |u: Units, bit: u8| if u == Units::Bytes { bit } else { 0 };
        let format = units(self.position_units, 0x80)
            | (self.pin_position & 0x0F) << 3
            | if self.justification == Justification::Right {
                0x04
            } else {
                0
            }
            | match self.coding {
                DigitCoding::Binary => 0,
                DigitCoding::Bcd => 1,
                DigitCoding::Ascii => 2,
            };
        let block = (self.length_size_bits & 0x0F) << 4 | (self.block_size & 0x0F);
        let length = units(self.length_units, 0x10) | (self.length_position & 0x0F);
        [format, block, length]
    }

    /// Bit offset of the PIN digits' area from the block start.
    pub(crate) fn pin_position_bits(&self) -> usize {
        usize::from(self.pin_position) * self.position_units.bits()
    }

    /// Bit offset of the length field from the block start.
    pub(crate) fn length_position_bits(&self) -> usize {
        usize::from(self.length_position) * self.length_units.bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        // ACS ACR83 reference manual v1.05 §11.3 example: 39 49 02 = bit units, position 7,
        // left, BCD; 4-bit length; 9-byte block; length at bit 2.
        let f = EntryFormat::from_bytes([0x39, 0x49, 0x02], 0).unwrap();
        assert_eq!(f.position_units, Units::Bits);
        assert_eq!(f.pin_position, 7);
        assert_eq!(f.coding, DigitCoding::Bcd);
        assert_eq!(f.length_size_bits, 4);
        assert_eq!(f.block_size, 9);
        assert_eq!(f.length_position, 2);
        assert_eq!(EntryFormat::ascii(8).to_bytes(), [0x82, 0x08, 0x00]);
        assert!(EntryFormat::from_bytes([0x03, 0, 0], 2).is_err());
        assert_eq!(
            EntryFormat::from_bytes([0x02, 0, 0x20], 2).err(),
            Some(Error::Invalid {
                offset: 4,
                what: "bmPINLengthFormat: reserved bits 7-5 are set"
            })
        );
    }

    proptest! {
        #[test]
        fn bytes_round_trip(a in any::<u8>(), b in any::<u8>(), c in 0u8..0x20) {
            if let Ok(f) = EntryFormat::from_bytes([a, b, c], 0) {
                prop_assert_eq!(f.to_bytes(), [a, b, c]);
            } else {
                prop_assert_eq!(a & 3, 3);
            }
        }
    }
}
