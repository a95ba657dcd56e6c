//! The MRZ information for BAC (ICAO Doc 9303 Part 11 §4.3.2) and the MRZ check digit
//! (ICAO Doc 9303 Part 3 §4.9), the one implementation in cardwire.

use sha1::{Digest, Sha1};
use zeroize::Zeroize;

use crate::{Error, MrzField};

/// Length of the MRZ information: document number (9) + check digit, date of birth (6) +
/// check digit, date of expiry (6) + check digit.
pub const MRZ_INFO_LEN: usize = 24;

/// The check digit of an MRZ field (ICAO Doc 9303 Part 3 §4.9): weights 7 3 1, `<` = 0, digits
/// their value, `A`–`Z` = 10–35, modulo 10. Returns the ASCII digit. `which` names the field
/// in the error.
///
/// ```
/// use cardwire_sm::{Error, MrzField, mrz::check_digit};
/// assert_eq!(check_digit(MrzField::DateOfBirth, b"690806"), Ok(b'1'));
/// assert_eq!(
///     check_digit(MrzField::DocumentNumber, b"L89-"),
///     Err(Error::InvalidMrz { field: MrzField::DocumentNumber, offset: 3 })
/// );
/// ```
///
/// # Errors
/// [`Error::InvalidMrz`] with the offset of the first character outside `0-9 A-Z <` (lower
/// case included: the MRZ has none).
pub fn check_digit(which: MrzField, field: &[u8]) -> Result<u8, Error> {
    let mut sum = 0u32;
    for (i, &c) in field.iter().enumerate() {
        let value = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'<' => 0,
            _ => {
                return Err(Error::InvalidMrz {
                    field: which,
                    offset: i,
                });
            }
        };
        let weight = [7u32, 3, 1].get(i % 3).copied().unwrap_or(1);
        sum += u32::from(value) * weight;
    }
    Ok(b'0' + (sum % 10) as u8)
}

/// The MRZ information BAC keys are derived from (ICAO 9303-11 §4.3.2): document number padded
/// with `<` to 9 characters, date of birth, date of expiry, each followed by its check digit.
#[derive(Clone)]
pub struct MrzInfo {
    bytes: [u8; MRZ_INFO_LEN],
}

impl MrzInfo {
    /// Builds the MRZ information from the printed fields, computing the check digits.
    /// Lower-case letters are taken as upper case; a document number shorter than 9
    /// characters is padded with `<`.
    ///
    /// Document numbers over 9 characters (ICAO 9303-3 §4.2.2, continued in the optional
    /// data) are not supported.
    ///
    /// # Errors
    /// [`Error::InvalidMrz`] for a character outside `0-9 A-Z <`, a document number over 9
    /// characters or a date that is not 6 digits.
    pub fn new(
        document_number: &str,
        date_of_birth: &str,
        date_of_expiry: &str,
    ) -> Result<Self, Error> {
        let mut bytes = [b'<'; MRZ_INFO_LEN];
        let doc = document_number.as_bytes();
        if doc.is_empty() || doc.len() > 9 {
            return Err(Error::InvalidMrz {
                field: MrzField::DocumentNumber,
                offset: doc.len().min(9),
            });
        }
        for (dst, &c) in bytes.iter_mut().zip(doc) {
            *dst = c.to_ascii_uppercase();
        }
        let digit = |field: &[u8], which| check_digit(which, field);
        bytes[9] = digit(&bytes[..9], MrzField::DocumentNumber)?;
        for (start, date, which) in [
            (10usize, date_of_birth, MrzField::DateOfBirth),
            (17, date_of_expiry, MrzField::DateOfExpiry),
        ] {
            let d = date.as_bytes();
            if let Some(i) = d.iter().position(|c| !c.is_ascii_digit()) {
                return Err(Error::InvalidMrz {
                    field: which,
                    offset: i,
                });
            }
            if d.len() != 6 {
                return Err(Error::InvalidMrz {
                    field: which,
                    offset: d.len().min(6),
                });
            }
            let dst = bytes.get_mut(start..start + 6).ok_or(Error::InvalidMrz {
                field: which,
                offset: 0,
            })?;
            dst.copy_from_slice(d);
            let cd = digit(dst, which)?;
            if let Some(b) = bytes.get_mut(start + 6) {
                *b = cd;
            }
        }
        Ok(Self { bytes })
    }

    /// Builds the MRZ information from fields that carry their check digits (as read from the
    /// MRZ: 10, 7 and 7 characters), and checks every digit.
    ///
    /// # Errors
    /// [`Error::CheckDigit`] for a wrong check digit; [`Error::InvalidMrz`] as for
    /// [`MrzInfo::new`].
    pub fn with_check_digits(
        document_number: &str,
        date_of_birth: &str,
        date_of_expiry: &str,
    ) -> Result<Self, Error> {
        let split = |s: &str, which| -> Result<(usize, u8), Error> {
            let b = s.as_bytes();
            match b.split_last() {
                Some((cd, rest)) if !rest.is_empty() => Ok((rest.len(), *cd)),
                _ => Err(Error::InvalidMrz {
                    field: which,
                    offset: 0,
                }),
            }
        };
        let (dl, dcd) = split(document_number, MrzField::DocumentNumber)?;
        let (bl, bcd) = split(date_of_birth, MrzField::DateOfBirth)?;
        let (el, ecd) = split(date_of_expiry, MrzField::DateOfExpiry)?;
        let doc = document_number.get(..dl).unwrap_or("");
        let doc_trimmed = doc.trim_end_matches('<');
        let info = Self::new(
            doc_trimmed,
            date_of_birth.get(..bl).unwrap_or(""),
            date_of_expiry.get(..el).unwrap_or(""),
        )?;
        for (at, given, field) in [
            (9usize, dcd, MrzField::DocumentNumber),
            (16, bcd, MrzField::DateOfBirth),
            (23, ecd, MrzField::DateOfExpiry),
        ] {
            let expected = info.bytes.get(at).copied().unwrap_or(0);
            if expected != given {
                return Err(Error::CheckDigit {
                    field,
                    expected,
                    found: given,
                });
            }
        }
        Ok(info)
    }

    /// The 24 characters of the MRZ information.
    pub fn as_bytes(&self) -> &[u8; MRZ_INFO_LEN] {
        &self.bytes
    }

    /// K_seed: the first 16 bytes of SHA-1 of the MRZ information (ICAO 9303-11 §4.3.2).
    pub fn key_seed(&self) -> [u8; 16] {
        let mut digest: [u8; 20] = Sha1::digest(self.bytes).into();
        let mut seed = [0u8; 16];
        if let Some(src) = digest.get(..16) {
            seed.copy_from_slice(src);
        }
        digest.zeroize();
        seed
    }
}

impl Drop for MrzInfo {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl core::fmt::Debug for MrzInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MrzInfo(<redacted>)")
    }
}
