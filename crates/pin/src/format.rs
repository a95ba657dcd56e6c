//! [`PinFormat`]: how PIN characters become the bytes a card compares.

use crate::{Error, Pin, PinData};

/// Fixed-length padding: the encoded PIN is filled up to `length` bytes with `byte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Padding {
    /// Total length of the padded field in bytes.
    pub length: u8,
    /// The fill byte (`FF` or `00` in practice).
    pub byte: u8,
}

impl Padding {
    /// Pad with `FF` to `length` bytes (PIV, NIST SP 800-73-4 Part 2 §3.2.1).
    pub const fn ff(length: u8) -> Self {
        Padding { length, byte: 0xFF }
    }

    /// Pad with `00` to `length` bytes.
    pub const fn zero(length: u8) -> Self {
        Padding { length, byte: 0x00 }
    }
}

/// How a PIN is encoded in a command data field.
///
/// | format | `"1234"` becomes |
/// |---|---|
/// | `Ascii(None)` | `31 32 33 34` |
/// | `Ascii(Some(Padding::ff(8)))` (PIV) | `31 32 33 34 FF FF FF FF` |
/// | `Bcd(None)` | `12 34` (an odd digit count ends with an `F` nibble) |
/// | `Binary(None)` (PC/SC "binary": one byte per digit) | `01 02 03 04` |
/// | `Iso9564Format2` | `24 12 34 FF FF FF FF FF` |
///
/// ISO 9564-1 format 2 (the plaintext PIN block cards use for offline PINs, also EMV Book 3
/// §6.5.12): control nibble `2`, length nibble `N` (4..=12), `N` BCD digits, `F` fill, 8 bytes.
///
/// ```
/// use cardwire_pin::{Pin, PinFormat};
/// let block = PinFormat::Iso9564Format2.encode(&Pin::new(b"1234")?)?;
/// assert_eq!(block.expose_secret(), [0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
/// let back = PinFormat::Iso9564Format2.decode(block.expose_secret())?;
/// assert_eq!(back.expose_secret(), b"1234");
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinFormat {
    /// The characters as bytes, optionally padded to a fixed length. A PIN may not contain
    /// the pad byte.
    Ascii(Option<Padding>),
    /// Digits packed two per byte (BCD); an odd count ends with an `F` nibble; optionally
    /// padded with `FF` to the given number of bytes.
    Bcd(Option<u8>),
    /// One byte `00`..`09` per digit; optionally padded with `FF` to the given length.
    Binary(Option<u8>),
    /// ISO 9564-1 format 2 PIN block, 8 bytes, 4 to 12 digits.
    Iso9564Format2,
}

const FORMAT2_LEN: usize = 8;
const FORMAT2_MIN_DIGITS: usize = 4;
const FORMAT2_MAX_DIGITS: usize = 12;

impl PinFormat {
    /// Plain ASCII, no padding.
    pub const ASCII: Self = PinFormat::Ascii(None);
    /// ASCII padded with `FF` to 8 bytes (PIV PIN, NIST SP 800-73-4 Part 2 §3.2.1).
    pub const PIV: Self = PinFormat::Ascii(Some(Padding::ff(8)));
    /// Packed BCD, no padding.
    pub const BCD: Self = PinFormat::Bcd(None);

    /// The encoded length when it does not depend on the PIN (padded formats and format 2).
    pub fn fixed_len(&self) -> Option<usize> {
        match *self {
            PinFormat::Ascii(Some(p)) => Some(usize::from(p.length)),
            PinFormat::Bcd(Some(n)) | PinFormat::Binary(Some(n)) => Some(usize::from(n)),
            PinFormat::Iso9564Format2 => Some(FORMAT2_LEN),
            PinFormat::Ascii(None) | PinFormat::Bcd(None) | PinFormat::Binary(None) => None,
        }
    }

    /// Encodes `pin` into a new zeroizing buffer.
    ///
    /// # Errors
    /// See [`PinFormat::encode_into`].
    pub fn encode(&self, pin: &Pin) -> Result<PinData, Error> {
        let mut out = PinData::new();
        self.encode_into(pin, &mut out)?;
        Ok(out)
    }

    /// Appends the encoding of `pin` to `out` (used to build `old || new` data fields).
    ///
    /// # Errors
    /// [`Error::InvalidCharacter`] for a non-digit in a digit format or the pad byte in an
    /// ASCII PIN; [`Error::PinTooLong`] / [`Error::PinTooShort`] when the PIN does not fit
    /// the format (format 2: 4 to 12 digits; padded: at most the padded length);
    /// [`Error::PinTooLong`] when `out` would exceed [`PinData::CAPACITY`]. On error `out`
    /// may hold part of the encoding: drop it.
    pub fn encode_into(&self, pin: &Pin, out: &mut PinData) -> Result<(), Error> {
        let chars = pin.expose_secret();
        match *self {
            PinFormat::Ascii(padding) => {
                if let Some(p) = padding {
                    if let Some(offset) = chars.iter().position(|&c| c == p.byte) {
                        return Err(Error::InvalidCharacter { offset });
                    }
                    check_fits(chars.len(), usize::from(p.length))?;
                    out.extend(chars)?;
                    out.fill(p.byte, usize::from(p.length) - chars.len())
                } else {
                    out.extend(chars)
                }
            }
            PinFormat::Bcd(pad_to) => {
                check_digits(chars)?;
                let packed_len = chars.len().div_ceil(2);
                if let Some(n) = pad_to {
                    check_fits(chars.len(), 2 * usize::from(n))?;
                }
                push_bcd(chars, out)?;
                if let Some(n) = pad_to {
                    out.fill(0xFF, usize::from(n) - packed_len)?;
                }
                Ok(())
            }
            PinFormat::Binary(pad_to) => {
                check_digits(chars)?;
                if let Some(n) = pad_to {
                    check_fits(chars.len(), usize::from(n))?;
                }
                for &c in chars {
                    out.extend(&[c - b'0'])?;
                }
                if let Some(n) = pad_to {
                    out.fill(0xFF, usize::from(n) - chars.len())?;
                }
                Ok(())
            }
            PinFormat::Iso9564Format2 => {
                check_digits(chars)?;
                if chars.len() < FORMAT2_MIN_DIGITS {
                    return Err(Error::PinTooShort {
                        len: chars.len(),
                        min: FORMAT2_MIN_DIGITS,
                    });
                }
                check_fits(chars.len(), FORMAT2_MAX_DIGITS)?;
                out.extend(&[0x20 | chars.len() as u8])?; // len <= 12
                push_bcd(chars, out)?;
                out.fill(0xFF, FORMAT2_LEN - 1 - chars.len().div_ceil(2))
            }
        }
    }

    /// Decodes PIN data back into characters (digits come back as ASCII `'0'..='9'`). Used by
    /// the card side to check a new PIN and by the `pin_block` fuzz target.
    ///
    /// # Errors
    /// [`Error::Truncated`] / [`Error::TrailingBytes`] when the length differs from a fixed
    /// length; [`Error::Invalid`] for a wrong control nibble, length nibble, digit nibble or
    /// filler; [`Error::EmptyPin`] when only padding is present.
    pub fn decode(&self, data: &[u8]) -> Result<Pin, Error> {
        if let Some(fixed) = self.fixed_len() {
            check_exact_len(data, fixed)?;
        }
        let mut chars = PinData::new();
        match *self {
            PinFormat::Ascii(padding) => {
                let body = match padding {
                    Some(p) => {
                        let end = data.iter().rposition(|&b| b != p.byte).map_or(0, |i| i + 1);
                        let body = data.get(..end).unwrap_or(&[]);
                        if let Some(offset) = body.iter().position(|&b| b == p.byte) {
                            return Err(Error::Invalid {
                                offset,
                                what: "pad byte inside the PIN",
                            });
                        }
                        body
                    }
                    None => data,
                };
                chars.extend(body)?;
            }
            PinFormat::Bcd(_) => decode_bcd_digits(data, 0, usize::MAX, 0, &mut chars)?,
            PinFormat::Binary(_) => {
                let mut ended = false;
                for (offset, &b) in data.iter().enumerate() {
                    match (ended, b) {
                        (false, 0..=9) => chars.extend(&[b'0' + b])?,
                        (_, 0xFF) => ended = true,
                        _ => {
                            return Err(Error::Invalid {
                                offset,
                                what: "byte is neither a binary digit 00-09 nor FF padding",
                            });
                        }
                    }
                }
            }
            PinFormat::Iso9564Format2 => {
                let first = data.first().copied().unwrap_or(0);
                if first >> 4 != 2 {
                    return Err(Error::Invalid {
                        offset: 0,
                        what: "ISO 9564-1 format 2 control nibble is not 2",
                    });
                }
                let n = usize::from(first & 0x0F);
                if !(FORMAT2_MIN_DIGITS..=FORMAT2_MAX_DIGITS).contains(&n) {
                    return Err(Error::Invalid {
                        offset: 0,
                        what: "ISO 9564-1 format 2 PIN length is not 4 to 12",
                    });
                }
                let body = data.get(1..).unwrap_or(&[]);
                decode_bcd_digits(body, n, n, 1, &mut chars)?;
            }
        }
        Pin::new(chars.expose_secret())
    }
}

fn check_fits(len: usize, max: usize) -> Result<(), Error> {
    if len > max {
        Err(Error::PinTooLong { len, max })
    } else {
        Ok(())
    }
}

fn check_digits(chars: &[u8]) -> Result<(), Error> {
    match chars.iter().position(|c| !c.is_ascii_digit()) {
        Some(offset) => Err(Error::InvalidCharacter { offset }),
        None => Ok(()),
    }
}

fn check_exact_len(data: &[u8], fixed: usize) -> Result<(), Error> {
    if data.len() < fixed {
        Err(Error::Truncated {
            offset: data.len(),
            needed: fixed - data.len(),
        })
    } else if data.len() > fixed {
        Err(Error::TrailingBytes { offset: fixed })
    } else {
        Ok(())
    }
}

/// Packs ASCII digits two per byte, the last odd one with an `F` low nibble.
fn push_bcd(digits: &[u8], out: &mut PinData) -> Result<(), Error> {
    for pair in digits.chunks(2) {
        let hi = pair.first().map_or(0x0F, |c| c - b'0');
        let lo = pair.get(1).map_or(0x0F, |c| c - b'0');
        out.extend(&[hi << 4 | lo])?;
    }
    Ok(())
}

/// Reads BCD digits then `F` filler to the end of `data`; the digit count must be within
/// `min..=max`. `base` is the offset of `data` in the caller's input, for errors.
fn decode_bcd_digits(
    data: &[u8],
    min: usize,
    max: usize,
    base: usize,
    chars: &mut PinData,
) -> Result<(), Error> {
    let mut count = 0usize;
    let mut ended = false;
    for (i, &b) in data.iter().enumerate() {
        for nibble in [b >> 4, b & 0x0F] {
            let must_end = count >= max;
            match nibble {
                0..=9 if !ended && !must_end => {
                    chars.extend(&[b'0' + nibble])?;
                    count += 1;
                }
                0x0F => ended = true,
                _ => {
                    return Err(Error::Invalid {
                        offset: base + i,
                        what: if ended || must_end {
                            "digit after the F filler"
                        } else {
                            "nibble is neither a BCD digit nor F filler"
                        },
                    });
                }
            }
        }
    }
    if count < min {
        return Err(Error::Invalid {
            offset: base,
            what: "fewer BCD digits than the PIN length says",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    fn enc(f: PinFormat, pin: &[u8]) -> std::vec::Vec<u8> {
        f.encode(&Pin::new(pin).unwrap())
            .unwrap()
            .expose_secret()
            .to_vec()
    }

    // ISO 9564-1:2017 §9.3.5 (format 2): C=2, N=PIN length, P digits, F fill.
    // EMV Book 3 v4.3 §6.5.12.2 gives the same layout for the plaintext offline PIN.
    const FORMAT2_1234: [u8; 8] = [0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    const FORMAT2_12345: [u8; 8] = [0x25, 0x12, 0x34, 0x5F, 0xFF, 0xFF, 0xFF, 0xFF];
    const FORMAT2_12_DIGITS: [u8; 8] = [0x2C, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0xFF];
    // NIST SP 800-73-4 Part 2 §3.2.1 example: PIN "123456" padded with FF to 8 bytes.
    const PIV_123456: [u8; 8] = [0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0xFF, 0xFF];

    #[test]
    fn vectors() {
        assert_eq!(enc(PinFormat::Iso9564Format2, b"1234"), FORMAT2_1234);
        assert_eq!(enc(PinFormat::Iso9564Format2, b"12345"), FORMAT2_12345);
        assert_eq!(
            enc(PinFormat::Iso9564Format2, b"123456789012"),
            FORMAT2_12_DIGITS
        );
        assert_eq!(enc(PinFormat::PIV, b"123456"), PIV_123456);
        assert_eq!(enc(PinFormat::ASCII, b"abc"), b"abc");
        assert_eq!(
            enc(PinFormat::Ascii(Some(Padding::zero(6))), b"1234"),
            [0x31, 0x32, 0x33, 0x34, 0, 0]
        );
        assert_eq!(enc(PinFormat::BCD, b"1234"), [0x12, 0x34]);
        assert_eq!(enc(PinFormat::BCD, b"123"), [0x12, 0x3F]);
        assert_eq!(
            enc(PinFormat::Bcd(Some(4)), b"123"),
            [0x12, 0x3F, 0xFF, 0xFF]
        );
        assert_eq!(enc(PinFormat::Binary(None), b"1204"), [1, 2, 0, 4]);
        assert_eq!(
            enc(PinFormat::Binary(Some(6)), b"12"),
            [1, 2, 0xFF, 0xFF, 0xFF, 0xFF]
        );
    }

    #[test]
    fn encode_errors() {
        let e = |f: PinFormat, p: &[u8]| f.encode(&Pin::new(p).unwrap()).err();
        assert_eq!(
            e(PinFormat::Iso9564Format2, b"123"),
            Some(Error::PinTooShort { len: 3, min: 4 })
        );
        assert_eq!(
            e(PinFormat::Iso9564Format2, b"1234567890123"),
            Some(Error::PinTooLong { len: 13, max: 12 })
        );
        assert_eq!(
            e(PinFormat::BCD, b"12a4"),
            Some(Error::InvalidCharacter { offset: 2 })
        );
        assert_eq!(
            e(PinFormat::PIV, b"123456789"),
            Some(Error::PinTooLong { len: 9, max: 8 })
        );
        assert_eq!(
            e(PinFormat::PIV, b"12\xFF4"),
            Some(Error::InvalidCharacter { offset: 2 })
        );
        assert_eq!(
            e(PinFormat::Bcd(Some(2)), b"12345"),
            Some(Error::PinTooLong { len: 5, max: 4 })
        );
    }

    #[test]
    fn decode_errors() {
        let f2 = PinFormat::Iso9564Format2;
        assert!(matches!(
            f2.decode(&[0x14, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Error::Invalid { offset: 0, .. })
        ));
        assert!(matches!(
            f2.decode(&[0x23, 0x12, 0x3F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Error::Invalid { offset: 0, .. })
        ));
        assert!(matches!(
            f2.decode(&[0x24, 0x12, 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Error::Invalid { offset: 2, .. })
        ));
        // A digit where the filler must be.
        assert!(matches!(
            f2.decode(&[0x24, 0x12, 0x34, 0x5F, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Error::Invalid { offset: 3, .. })
        ));
        // Too few digits before the filler.
        assert!(matches!(
            f2.decode(&[0x25, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Error::Invalid { .. })
        ));
        assert_eq!(
            f2.decode(&FORMAT2_1234[..7]).err(),
            Some(Error::Truncated {
                offset: 7,
                needed: 1
            })
        );
        assert_eq!(
            PinFormat::PIV
                .decode(&[0x31, 0xFF, 0x32, 0, 0, 0, 0xFF, 0xFF])
                .err(),
            Some(Error::Invalid {
                offset: 1,
                what: "pad byte inside the PIN"
            })
        );
        assert_eq!(
            PinFormat::PIV.decode(&[0xFF; 8]).err(),
            Some(Error::EmptyPin)
        );
        assert!(PinFormat::BCD.decode(&[0x1F, 0x23]).is_err());
        assert!(PinFormat::Binary(None).decode(&[1, 0xFF, 2]).is_err());
    }

    #[test]
    fn decode_vectors() {
        let d = |f: PinFormat, b: &[u8]| f.decode(b).unwrap().expose_secret().to_vec();
        assert_eq!(d(PinFormat::Iso9564Format2, &FORMAT2_12345), b"12345");
        assert_eq!(
            d(PinFormat::Iso9564Format2, &FORMAT2_12_DIGITS),
            b"123456789012"
        );
        assert_eq!(d(PinFormat::PIV, &PIV_123456), b"123456");
        assert_eq!(
            d(PinFormat::Bcd(Some(4)), &[0x12, 0x3F, 0xFF, 0xFF]),
            b"123"
        );
    }

    fn formats() -> impl Strategy<Value = PinFormat> {
        prop_oneof![
            Just(PinFormat::ASCII),
            Just(PinFormat::PIV),
            Just(PinFormat::Ascii(Some(Padding::zero(12)))),
            Just(PinFormat::BCD),
            Just(PinFormat::Bcd(Some(8))),
            Just(PinFormat::Binary(None)),
            Just(PinFormat::Binary(Some(12))),
            Just(PinFormat::Iso9564Format2),
        ]
    }

    proptest! {
        #[test]
        fn digit_pins_round_trip(f in formats(), s in "[0-9]{1,16}") {
            let pin = Pin::new(s.as_bytes()).unwrap();
            match f.encode(&pin) {
                Ok(data) => {
                    if let Some(n) = f.fixed_len() { prop_assert_eq!(data.len(), n); }
                    let back = f.decode(data.expose_secret()).unwrap();
                    prop_assert_eq!(back.expose_secret(), s.as_bytes());
                }
                Err(Error::PinTooLong { .. } | Error::PinTooShort { .. }) => {
                    let (min, max) = match f {
                        PinFormat::Iso9564Format2 => (4, 12),
                        PinFormat::Bcd(Some(n)) => (1, 2 * usize::from(n)),
                        _ => (1, f.fixed_len().unwrap_or(usize::MAX)),
                    };
                    prop_assert!(!(min..=max).contains(&s.len()));
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }

        #[test]
        fn format2_decode_never_panics_and_reencodes(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            if let Ok(pin) = PinFormat::Iso9564Format2.decode(&bytes) {
                let again = PinFormat::Iso9564Format2.encode(&pin).unwrap();
                prop_assert_eq!(again.expose_secret(), &bytes[..]);
            }
        }

        #[test]
        fn ascii_round_trip(s in "[ -~]{1,8}") {
            let pin = Pin::new(s.as_bytes()).unwrap();
            let data = PinFormat::PIV.encode(&pin).unwrap();
            let back = PinFormat::PIV.decode(data.expose_secret()).unwrap();
            prop_assert_eq!(back.expose_secret(), s.as_bytes());
        }
    }
}
