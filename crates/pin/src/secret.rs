//! Secret holders: [`Pin`] (what the user typed) and [`PinData`] (the bytes sent to the card).
//!
//! Both live in fixed arrays (no allocator), are wiped with `zeroize` when dropped, print as
//! `<PIN redacted>` in `Debug` and `Display`, compare in constant time and deliberately do not
//! implement `Clone`: a copy is made only through the explicit `duplicate()`.

use core::fmt;

use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;

/// A PIN, PUK or password as the user typed it (characters, not yet formatted).
///
/// At most [`Pin::MAX_LEN`] bytes, never empty. Zeroized on drop; `Debug`/`Display` redact.
///
/// ```
/// use cardwire_pin::Pin;
/// let pin = Pin::new(b"123456")?;
/// assert_eq!(pin.len(), 6);
/// assert_eq!(format!("{pin:?}"), "Pin(<PIN redacted>)");
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
pub struct Pin {
    bytes: [u8; Pin::MAX_LEN],
    len: u8,
}

impl Pin {
    /// The longest PIN accepted (127: the longest OpenPGP card password, and two of them still
    /// fit in a short command data field).
    pub const MAX_LEN: usize = 127;

    /// Copies `characters` into a new secret PIN. The caller's buffer is not wiped.
    ///
    /// # Errors
    /// [`Error::EmptyPin`] for an empty PIN; [`Error::PinTooLong`] beyond [`Pin::MAX_LEN`].
    pub fn new(characters: &[u8]) -> Result<Self, Error> {
        if characters.is_empty() {
            return Err(Error::EmptyPin);
        }
        let mut pin = Pin {
            bytes: [0; Pin::MAX_LEN],
            len: 0,
        };
        let slot = pin
            .bytes
            .get_mut(..characters.len())
            .ok_or(Error::PinTooLong {
                len: characters.len(),
                max: Pin::MAX_LEN,
            })?;
        slot.copy_from_slice(characters);
        pin.len = characters.len() as u8; // <= MAX_LEN = 127
        Ok(pin)
    }

    /// Builds a PIN from keypad digit values `0..=9` (as a PIN pad reports them), stored as
    /// the ASCII characters `'0'..='9'`.
    ///
    /// # Errors
    /// As [`Pin::new`]; [`Error::InvalidCharacter`] for a value above 9.
    pub fn from_digit_values(values: &[u8]) -> Result<Self, Error> {
        let mut pin = Pin::new(values)?;
        for (offset, b) in pin.bytes.iter_mut().take(values.len()).enumerate() {
            if *b > 9 {
                return Err(Error::InvalidCharacter { offset });
            }
            *b += b'0';
        }
        Ok(pin)
    }

    /// The PIN characters. Named so that every place that reads the secret is easy to find.
    pub fn expose_secret(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Number of characters.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false: a [`Pin`] is never empty. Present for API symmetry with slices.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when every character is an ASCII digit.
    pub fn is_digits(&self) -> bool {
        self.expose_secret().iter().all(u8::is_ascii_digit)
    }

    /// An explicit copy of the secret (there is no `Clone`, so copies are never accidental).
    pub fn duplicate(&self) -> Pin {
        Pin {
            bytes: self.bytes,
            len: self.len,
        }
    }
}

impl ConstantTimeEq for Pin {
    /// Compares all [`Pin::MAX_LEN`] bytes and the length, so the time taken does not depend
    /// on where the PINs differ or on their lengths.
    fn ct_eq(&self, other: &Self) -> Choice {
        self.bytes.ct_eq(&other.bytes) & self.len.ct_eq(&other.len)
    }
}

impl PartialEq for Pin {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Pin {}

impl Zeroize for Pin {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.len.zeroize();
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Pin {}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<PIN redacted>)")
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<PIN redacted>")
    }
}

impl TryFrom<&str> for Pin {
    type Error = Error;
    fn try_from(value: &str) -> Result<Self, Error> {
        Pin::new(value.as_bytes())
    }
}

/// Secret bytes as they go to (or are kept by) the card: a formatted PIN, or the data field
/// of a VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER command (old and new PIN, PUK
/// and new PIN).
///
/// At most [`PinData::CAPACITY`] bytes (a short command data field). Zeroized on drop;
/// `Debug`/`Display` redact; no `Clone`.
pub struct PinData {
    bytes: [u8; PinData::CAPACITY],
    len: u8,
}

impl PinData {
    /// Largest content: the short APDU data field (ISO/IEC 7816-4 §5.1).
    pub const CAPACITY: usize = 255;

    /// An empty buffer.
    pub const fn new() -> Self {
        PinData {
            bytes: [0; PinData::CAPACITY],
            len: 0,
        }
    }

    /// Copies `bytes` into a new buffer. The caller's buffer is not wiped.
    ///
    /// # Errors
    /// [`Error::PinTooLong`] beyond [`PinData::CAPACITY`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let mut data = PinData::new();
        data.extend(bytes)?;
        Ok(data)
    }

    /// Appends `bytes`.
    ///
    /// # Errors
    /// [`Error::PinTooLong`] when the result would exceed [`PinData::CAPACITY`]; nothing is
    /// appended then.
    pub fn extend(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let start = usize::from(self.len);
        let end = start + bytes.len();
        let slot = self.bytes.get_mut(start..end).ok_or(Error::PinTooLong {
            len: end,
            max: PinData::CAPACITY,
        })?;
        slot.copy_from_slice(bytes);
        self.len = end as u8; // <= CAPACITY = 255
        Ok(())
    }

    /// Appends `count` copies of `byte`.
    ///
    /// # Errors
    /// As [`PinData::extend`].
    pub fn fill(&mut self, byte: u8, count: usize) -> Result<(), Error> {
        let start = usize::from(self.len);
        let end = start + count;
        let slot = self.bytes.get_mut(start..end).ok_or(Error::PinTooLong {
            len: end,
            max: PinData::CAPACITY,
        })?;
        slot.fill(byte);
        self.len = end as u8; // <= CAPACITY = 255
        Ok(())
    }

    /// The secret bytes.
    pub fn expose_secret(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when no byte is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An explicit copy of the secret.
    pub fn duplicate(&self) -> PinData {
        PinData {
            bytes: self.bytes,
            len: self.len,
        }
    }
}

impl Default for PinData {
    fn default() -> Self {
        PinData::new()
    }
}

impl ConstantTimeEq for PinData {
    /// Compares the whole capacity and the length: time does not depend on the contents.
    fn ct_eq(&self, other: &Self) -> Choice {
        self.bytes.ct_eq(&other.bytes) & self.len.ct_eq(&other.len)
    }
}

impl PartialEq for PinData {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for PinData {}

impl Zeroize for PinData {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.len.zeroize();
    }
}

impl Drop for PinData {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for PinData {}

impl fmt::Debug for PinData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinData(<PIN redacted>)")
    }
}

impl fmt::Display for PinData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<PIN redacted>")
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn pin_rejects_empty_and_too_long() {
        assert_eq!(Pin::new(b"").err(), Some(Error::EmptyPin));
        assert_eq!(
            Pin::new(&[b'1'; 128]).err(),
            Some(Error::PinTooLong { len: 128, max: 127 })
        );
        assert_eq!(Pin::new(&[b'1'; 127]).unwrap().len(), 127);
    }

    #[test]
    fn debug_and_display_redact() {
        let pin = Pin::new(b"987654").unwrap();
        let dbg = format!("{pin:?} {pin} {pin:#?}");
        assert!(!dbg.contains("987654"));
        assert!(!dbg.contains('9'));
        let data = PinData::from_slice(b"987654").unwrap();
        let dbg = format!("{data:?} {data}");
        assert!(!dbg.contains('9'));
    }

    #[test]
    fn zeroize_wipes_contents() {
        let mut pin = Pin::new(b"4321").unwrap();
        pin.zeroize();
        assert_eq!(pin.bytes, [0; Pin::MAX_LEN]);
        assert!(pin.expose_secret().is_empty());
        let mut data = PinData::from_slice(&[0xAB; 40]).unwrap();
        data.zeroize();
        assert_eq!(data.bytes, [0; PinData::CAPACITY]);
    }

    #[test]
    fn constant_time_equality_checks_length_and_bytes() {
        let a = Pin::new(b"1234").unwrap();
        assert_eq!(a, Pin::new(b"1234").unwrap());
        assert_ne!(a, Pin::new(b"12345").unwrap());
        assert_ne!(a, Pin::new(b"1235").unwrap());
        assert_eq!(a, a.duplicate());
    }

    #[test]
    fn digit_values_become_ascii() {
        let pin = Pin::from_digit_values(&[1, 2, 3, 0]).unwrap();
        assert_eq!(pin.expose_secret(), b"1230");
        assert_eq!(
            Pin::from_digit_values(&[1, 10]).err(),
            Some(Error::InvalidCharacter { offset: 1 })
        );
    }

    #[test]
    fn pin_data_capacity() {
        let mut d = PinData::new();
        d.fill(0xFF, 200).unwrap();
        assert_eq!(
            d.extend(&[0; 56]).err(),
            Some(Error::PinTooLong { len: 256, max: 255 })
        );
        assert_eq!(d.len(), 200);
        d.extend(&[0; 55]).unwrap();
        assert_eq!(d.len(), 255);
    }
}
