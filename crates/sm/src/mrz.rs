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

/// The longest document number [`MrzInfo`] takes: 9 characters in the document number field
/// and the rest in a TD1's 15-character optional data field, which also holds the check digit
/// and at least one filler (ICAO Doc 9303-5 §4.2.2, note j).
pub const MAX_DOCUMENT_NUMBER_LEN: usize = 22;

/// The longest MRZ information: a [`MAX_DOCUMENT_NUMBER_LEN`]-character document number, the
/// dates and the three check digits.
pub const MAX_MRZ_INFO_LEN: usize = MAX_DOCUMENT_NUMBER_LEN + 15;

/// The MRZ information BAC and PACE keys are derived from (ICAO 9303-11 §4.3.2, §9.7.3):
/// document number padded with `<` to 9 characters, date of birth, date of expiry, each
/// followed by its check digit.
///
/// A document number over 9 characters (ICAO 9303-5 §4.2.2 note j: the first 9 characters in
/// the document number field, whose check digit position holds `<`, the rest and the check
/// digit over the whole number in the optional data) is used whole, followed by that check
/// digit: the MRZ information is then longer than 24 characters. (This is how JMRTD and the
/// ICAO-conformant readers derive the keys; ICAO 9303 publishes no worked example for it.)
#[derive(Clone)]
pub struct MrzInfo {
    bytes: [u8; MAX_MRZ_INFO_LEN],
    len: usize,
}

impl MrzInfo {
    /// Builds the MRZ information from the printed fields, computing the check digits.
    /// Lower-case letters are taken as upper case; a document number shorter than 9
    /// characters is padded with `<`. A document number of 10 to
    /// [`MAX_DOCUMENT_NUMBER_LEN`] characters is used whole (see [`MrzInfo`]).
    ///
    /// # Errors
    /// [`Error::InvalidMrz`] for a character outside `0-9 A-Z <`, an empty document number or
    /// one over [`MAX_DOCUMENT_NUMBER_LEN`] characters, or a date that is not 6 digits.
    pub fn new(
        document_number: &str,
        date_of_birth: &str,
        date_of_expiry: &str,
    ) -> Result<Self, Error> {
        let mut bytes = [b'<'; MAX_MRZ_INFO_LEN];
        let doc = document_number.as_bytes();
        if doc.is_empty() || doc.len() > MAX_DOCUMENT_NUMBER_LEN {
            return Err(Error::InvalidMrz {
                field: MrzField::DocumentNumber,
                offset: doc.len().min(MAX_DOCUMENT_NUMBER_LEN),
            });
        }
        for (dst, &c) in bytes.iter_mut().zip(doc) {
            *dst = c.to_ascii_uppercase();
        }
        let doc_len = doc.len().max(9);
        let digit = |field: &[u8], which| check_digit(which, field);
        let cd = digit(
            bytes.get(..doc_len).unwrap_or(&[]),
            MrzField::DocumentNumber,
        )?;
        if let Some(b) = bytes.get_mut(doc_len) {
            *b = cd;
        }
        for (start, date, which) in [
            (doc_len + 1, date_of_birth, MrzField::DateOfBirth),
            (doc_len + 8, date_of_expiry, MrzField::DateOfExpiry),
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
        Ok(Self {
            bytes,
            len: doc_len + 15,
        })
    }

    /// Builds the MRZ information from a TD1's fields as read: the 10-character document
    /// number field (9 characters and the check digit, or `<` there when the number goes on),
    /// the 15-character optional data field of line 1, and the dates with their check digits
    /// (7 characters each). For a long number (ICAO 9303-5 §4.2.2 note j) the optional data
    /// holds the rest of the number, then its check digit, then `<` fillers. Every check
    /// digit is verified.
    ///
    /// # Errors
    /// [`Error::CheckDigit`] for a wrong check digit; [`Error::InvalidMrz`] for fields of the
    /// wrong length or characters, or a long number whose optional data has no check digit.
    pub fn from_td1(
        document_number_field: &str,
        optional_data: &str,
        date_of_birth: &str,
        date_of_expiry: &str,
    ) -> Result<Self, Error> {
        let field = document_number_field.as_bytes();
        if field.len() != 10 {
            return Err(Error::InvalidMrz {
                field: MrzField::DocumentNumber,
                offset: field.len().min(10),
            });
        }
        if field.get(9) != Some(&b'<') {
            return Self::with_check_digits(document_number_field, date_of_birth, date_of_expiry);
        }
        // Long number: the optional data continues it up to the first filler; the last
        // character before the filler is the check digit over the whole number.
        let rest = optional_data
            .split('<')
            .next()
            .filter(|r| r.len() >= 2)
            .ok_or(Error::InvalidMrz {
                field: MrzField::OptionalData,
                offset: 0,
            })?;
        let mut doc = [0u8; MAX_DOCUMENT_NUMBER_LEN + 1];
        let head = field.get(..9).unwrap_or(&[]);
        let total = 9 + rest.len();
        let dst = doc.get_mut(..total).ok_or(Error::InvalidMrz {
            field: MrzField::OptionalData,
            offset: rest.len(),
        })?;
        let (a, b) = dst.split_at_mut(9);
        a.copy_from_slice(head);
        b.copy_from_slice(rest.as_bytes());
        let doc = core::str::from_utf8(doc.get(..total).unwrap_or(&[])).map_err(|_| {
            Error::InvalidMrz {
                field: MrzField::DocumentNumber,
                offset: 0,
            }
        })?;
        Self::with_check_digits(doc, date_of_birth, date_of_expiry)
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
        let doc_len = info.len - 15;
        for (at, given, field) in [
            (doc_len, dcd, MrzField::DocumentNumber),
            (doc_len + 7, bcd, MrzField::DateOfBirth),
            (doc_len + 14, ecd, MrzField::DateOfExpiry),
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

    /// The characters of the MRZ information: [`MRZ_INFO_LEN`] (24) for a document number of
    /// up to 9 characters, more for a longer one.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// K_seed: the first 16 bytes of SHA-1 of the MRZ information (ICAO 9303-11 §4.3.2).
    pub fn key_seed(&self) -> [u8; 16] {
        let mut digest: [u8; 20] = Sha1::digest(self.as_bytes()).into();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// ICAO Doc 9303-5 (TD1), the specimen with a long document number: line 1
    /// `I<UTOD23145890<7349<<<<<<<<<<<`, line 2 `3407127M9507122UTO<<<<<<<<<<<2`: document
    /// number D23145890734, its check digit 9 in the optional data.
    #[test]
    fn long_document_number_from_td1() {
        let info =
            MrzInfo::from_td1("D23145890<", "7349<<<<<<<<<<<", "3407127", "9507122").unwrap();
        assert_eq!(info.as_bytes(), b"D23145890734934071279507122");
        let typed = MrzInfo::new("D23145890734", "340712", "950712").unwrap();
        assert_eq!(typed.as_bytes(), info.as_bytes());
        // K_seed = the first 16 bytes of SHA-1("D23145890734934071279507122"), computed
        // independently (Python hashlib): b366ad857ddca2b08c0e2998117147300fa5d581.
        assert_eq!(
            info.key_seed(),
            [
                0xB3, 0x66, 0xAD, 0x85, 0x7D, 0xDC, 0xA2, 0xB0, 0x8C, 0x0E, 0x29, 0x98, 0x11, 0x71,
                0x47, 0x30
            ]
        );
        // A wrong check digit in the optional data is caught.
        assert_eq!(
            MrzInfo::from_td1("D23145890<", "7348<<<<<<<<<<<", "3407127", "9507122").err(),
            Some(Error::CheckDigit {
                field: MrzField::DocumentNumber,
                expected: b'9',
                found: b'8'
            })
        );
        // No check digit after the continuation.
        assert!(MrzInfo::from_td1("D23145890<", "<<<<<<<<<<<<<<<", "3407127", "9507122").is_err());
    }

    #[test]
    fn short_document_number_from_td1_and_limits() {
        // ICAO Doc 9303-11 Appendix D.2: L898902C<3, 6908061, 9406236.
        let info =
            MrzInfo::from_td1("L898902C<3", "<<<<<<<<<<<<<<<", "6908061", "9406236").unwrap();
        assert_eq!(info.as_bytes(), b"L898902C<369080619406236");
        assert_eq!(info.as_bytes().len(), MRZ_INFO_LEN);
        let longest = "A".repeat(MAX_DOCUMENT_NUMBER_LEN);
        assert_eq!(
            MrzInfo::new(&longest, "690806", "940623")
                .unwrap()
                .as_bytes()
                .len(),
            MAX_MRZ_INFO_LEN
        );
        let too_long = "A".repeat(MAX_DOCUMENT_NUMBER_LEN + 1);
        assert_eq!(
            MrzInfo::new(&too_long, "690806", "940623").err(),
            Some(Error::InvalidMrz {
                field: MrzField::DocumentNumber,
                offset: MAX_DOCUMENT_NUMBER_LEN
            })
        );
    }
}
