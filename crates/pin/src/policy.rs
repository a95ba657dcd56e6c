//! [`PinPolicy`]: rules a PIN must meet before anything is sent to the card.

use crate::{Error, Pin};

/// Which characters a PIN may contain.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// `0`-`9` only.
    Digits,
    /// `0`-`9`, `A`-`Z`, `a`-`z`.
    Alphanumeric,
    /// Printable ASCII, `0x20`..=`0x7E`.
    PrintableAscii,
    /// Any byte value (for example a PIV PUK, NIST SP 800-73-4 Part 2 §3.2.1).
    Any,
}

impl Charset {
    /// True when `c` belongs to the set.
    pub fn allows(self, c: u8) -> bool {
        match self {
            Charset::Digits => c.is_ascii_digit(),
            Charset::Alphanumeric => c.is_ascii_alphanumeric(),
            Charset::PrintableAscii => (0x20..=0x7E).contains(&c),
            Charset::Any => true,
        }
    }
}

/// Length and character rules for a PIN, checked on the host (or by the card when a new PIN
/// is set) so that a PIN the card would refuse never costs a retry.
///
/// ```
/// use cardwire_pin::{Pin, PinPolicy, Error};
/// let policy = PinPolicy::digits(6, 8);
/// assert!(policy.check(&Pin::new(b"123456")?).is_ok());
/// assert_eq!(policy.check(&Pin::new(b"1234")?), Err(Error::PinTooShort { len: 4, min: 6 }));
/// assert_eq!(policy.check(&Pin::new(b"12a456")?), Err(Error::InvalidCharacter { offset: 2 }));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinPolicy {
    /// Fewest characters.
    pub min_len: u8,
    /// Most characters.
    pub max_len: u8,
    /// Allowed characters.
    pub charset: Charset,
}

impl PinPolicy {
    /// Digits only, `min_len..=max_len` long.
    pub const fn digits(min_len: u8, max_len: u8) -> Self {
        PinPolicy {
            min_len,
            max_len,
            charset: Charset::Digits,
        }
    }

    /// Letters and digits, `min_len..=max_len` long.
    pub const fn alphanumeric(min_len: u8, max_len: u8) -> Self {
        PinPolicy {
            min_len,
            max_len,
            charset: Charset::Alphanumeric,
        }
    }

    /// PIV Card Application PIN: 6 to 8 digits (NIST SP 800-73-4 Part 2 §3.2.1; sent padded
    /// with `FF` to 8 bytes, see [`PinFormat::PIV`](crate::PinFormat::PIV)).
    pub const PIV_PIN: Self = Self::digits(6, 8);

    /// Checks `pin` against the policy.
    ///
    /// # Errors
    /// [`Error::PinTooShort`], [`Error::PinTooLong`], or [`Error::InvalidCharacter`] with the
    /// position (never the value) of the first character not allowed.
    pub fn check(&self, pin: &Pin) -> Result<(), Error> {
        let len = pin.len();
        if len < usize::from(self.min_len) {
            return Err(Error::PinTooShort {
                len,
                min: usize::from(self.min_len),
            });
        }
        if len > usize::from(self.max_len) {
            return Err(Error::PinTooLong {
                len,
                max: usize::from(self.max_len),
            });
        }
        match pin
            .expose_secret()
            .iter()
            .position(|&c| !self.charset.allows(c))
        {
            Some(offset) => Err(Error::InvalidCharacter { offset }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alphanumeric() {
        let p = PinPolicy::alphanumeric(4, 6);
        assert!(p.check(&Pin::new(b"ab12").unwrap()).is_ok());
        assert_eq!(
            p.check(&Pin::new(b"ab 12").unwrap()),
            Err(Error::InvalidCharacter { offset: 2 })
        );
        assert_eq!(
            p.check(&Pin::new(b"abcdefg").unwrap()),
            Err(Error::PinTooLong { len: 7, max: 6 })
        );
        let printable = PinPolicy {
            min_len: 8,
            max_len: 8,
            charset: Charset::PrintableAscii,
        };
        assert!(printable.check(&Pin::new(b"1234 678").unwrap()).is_ok());
        assert!(
            PinPolicy::PIV_PIN
                .check(&Pin::new(b"1234567").unwrap())
                .is_ok()
        );
    }

    proptest! {
        #[test]
        fn digits_policy_accepts_exactly_digit_strings(s in "[0-9a-z]{1,12}") {
            let pin = Pin::new(s.as_bytes()).unwrap();
            let ok = PinPolicy::digits(4, 8).check(&pin).is_ok();
            let expected = (4..=8).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit());
            prop_assert_eq!(ok, expected);
        }
    }
}
