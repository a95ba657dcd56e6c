//! [`Fascn`]: the Federal Agency Smart Credential Number, 25 bytes of 5-bit characters
//! (TIG SCEPACS v2.3 §6; NIST SP 800-73-4 Part 1 §3.1.2 puts it in the CHUID as tag `30`).

use crate::{Error, ObjectId, Target};

const SS: u8 = 0x0B;
const FS: u8 = 0x0D;
const ES: u8 = 0x0F;

/// A decoded FASC-N. Digits are kept as ASCII `'0'..='9'`.
///
/// Layout: SS, agency code (4), FS, system code (4), FS, credential number (6), FS,
/// credential series (1), FS, individual credential issue (1), FS, person identifier (10),
/// organizational category (1), organizational identifier (4), person/organization
/// association category (1), ES, LRC: 40 characters of 4 data bits (least significant first)
/// and an odd parity bit, packed most significant bit first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fascn {
    /// Agency code.
    pub agency_code: [u8; 4],
    /// System code.
    pub system_code: [u8; 4],
    /// Credential number.
    pub credential_number: [u8; 6],
    /// Credential series (CS).
    pub credential_series: u8,
    /// Individual credential issue (ICI).
    pub individual_credential_issue: u8,
    /// Person identifier (PI).
    pub person_identifier: [u8; 10],
    /// Organizational category (OC).
    pub organizational_category: u8,
    /// Organizational identifier (OI).
    pub organizational_identifier: [u8; 4],
    /// Person/organization association category (POA).
    pub association_category: u8,
}

/// Where the separators go in the 40 characters.
const LAYOUT: [Option<u8>; 40] = {
    let mut l = [None; 40];
    l[0] = Some(SS);
    l[5] = Some(FS);
    l[10] = Some(FS);
    l[17] = Some(FS);
    l[19] = Some(FS);
    l[21] = Some(FS);
    l[38] = Some(ES);
    l
};

impl Fascn {
    /// The encoded length.
    pub const LEN: usize = 25;

    /// Decodes 25 bytes, checking every parity bit, the separators and the LRC.
    ///
    /// # Errors
    /// [`Error::Malformed`] with the byte offset of the faulty character.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let target = Target::Object(ObjectId::CHUID);
        let bad = |i: usize, what| Error::Malformed {
            target,
            offset: i * 5 / 8,
            what,
        };
        if bytes.len() != Self::LEN {
            return Err(Error::Malformed {
                target,
                offset: 0,
                what: "FASC-N (tag '30') is not 25 bytes",
            });
        }
        let mut chars = [0u8; 40];
        let mut lrc = 0u8;
        for (i, c) in chars.iter_mut().enumerate() {
            let mut five = 0u8;
            for b in 0..5 {
                let bit = i * 5 + b;
                let byte = bytes.get(bit / 8).copied().unwrap_or(0);
                five = (five << 1) | ((byte >> (7 - bit % 8)) & 1);
            }
            // five = b1 b2 b3 b4 P (b1 first on the wire, least significant).
            if five.count_ones() % 2 != 1 {
                return Err(bad(i, "FASC-N character with even parity"));
            }
            let value = ((five >> 4) & 1) | ((five >> 2) & 2) | (five & 4) | ((five << 2) & 8);
            if i == 39 {
                if value != lrc {
                    return Err(bad(i, "FASC-N longitudinal redundancy check is wrong"));
                }
            } else {
                lrc ^= value;
            }
            *c = value;
        }
        for (i, (&c, expected)) in chars.iter().zip(LAYOUT.iter()).enumerate().take(39) {
            match expected {
                Some(sep) if c != *sep => return Err(bad(i, "FASC-N separator missing")),
                None if c > 9 => return Err(bad(i, "FASC-N digit expected")),
                _ => {}
            }
        }
        let digits = |from: usize| -> u8 { b'0' + chars.get(from).copied().unwrap_or(0) };
        let mut f = Fascn {
            agency_code: [0; 4],
            system_code: [0; 4],
            credential_number: [0; 6],
            credential_series: digits(18),
            individual_credential_issue: digits(20),
            person_identifier: [0; 10],
            organizational_category: digits(32),
            organizational_identifier: [0; 4],
            association_category: digits(37),
        };
        for (k, d) in f.agency_code.iter_mut().enumerate() {
            *d = digits(1 + k);
        }
        for (k, d) in f.system_code.iter_mut().enumerate() {
            *d = digits(6 + k);
        }
        for (k, d) in f.credential_number.iter_mut().enumerate() {
            *d = digits(11 + k);
        }
        for (k, d) in f.person_identifier.iter_mut().enumerate() {
            *d = digits(22 + k);
        }
        for (k, d) in f.organizational_identifier.iter_mut().enumerate() {
            *d = digits(33 + k);
        }
        Ok(f)
    }

    /// Encodes the 25 bytes (separators, parity and LRC computed).
    ///
    /// # Errors
    /// [`Error::Malformed`] when a field holds something other than ASCII digits.
    pub fn encode(&self) -> Result<[u8; 25], Error> {
        let mut digits = [0u8; 40];
        let fields: [(usize, &[u8]); 9] = [
            (1, &self.agency_code),
            (6, &self.system_code),
            (11, &self.credential_number),
            (18, core::slice::from_ref(&self.credential_series)),
            (20, core::slice::from_ref(&self.individual_credential_issue)),
            (22, &self.person_identifier),
            (32, core::slice::from_ref(&self.organizational_category)),
            (33, &self.organizational_identifier),
            (37, core::slice::from_ref(&self.association_category)),
        ];
        for (start, field) in fields {
            for (k, &c) in field.iter().enumerate() {
                if !c.is_ascii_digit() {
                    return Err(Error::Malformed {
                        target: Target::Object(ObjectId::CHUID),
                        offset: 0,
                        what: "FASC-N fields must be ASCII digits",
                    });
                }
                if let Some(d) = digits.get_mut(start + k) {
                    *d = c - b'0';
                }
            }
        }
        let mut lrc = 0u8;
        for (i, d) in digits.iter_mut().enumerate().take(39) {
            if let Some(Some(sep)) = LAYOUT.get(i) {
                *d = *sep;
            }
            lrc ^= *d;
        }
        if let Some(last) = digits.get_mut(39) {
            *last = lrc;
        }
        let mut out = [0u8; 25];
        for (i, &value) in digits.iter().enumerate() {
            let data = ((value & 1) << 4) | ((value & 2) << 2) | (value & 4) | ((value & 8) >> 2);
            let parity = u8::from(value.count_ones() % 2 == 0);
            // five: b1 b2 b3 b4 P from bit 4 down to bit 0.
            let five = data | parity;
            for b in 0..5 {
                let bit = i * 5 + b;
                if (five >> (4 - b)) & 1 == 1 {
                    if let Some(byte) = out.get_mut(bit / 8) {
                        *byte |= 1 << (7 - bit % 8);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The FASC-N that yubico-piv-tool writes into every CHUID it sets (its CHUID template),
    // the de facto test FASC-N: agency 9999, system 9999, credential 999999, CS 0, ICI 1,
    // PI 0000000000, OC 3, OI 0000, POA 1 (decoded by hand with the TIG SCEPACS table; every
    // parity bit and the LRC check out).
    const EXAMPLE: [u8; 25] = [
        0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21,
        0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
    ];

    #[test]
    fn example_decodes_and_round_trips() {
        let f = Fascn::decode(&EXAMPLE).unwrap();
        assert_eq!(&f.agency_code, b"9999");
        assert_eq!(&f.system_code, b"9999");
        assert_eq!(&f.credential_number, b"999999");
        assert_eq!(f.credential_series, b'0');
        assert_eq!(f.individual_credential_issue, b'1');
        assert_eq!(&f.person_identifier, b"0000000000");
        assert_eq!(f.organizational_category, b'3');
        assert_eq!(&f.organizational_identifier, b"0000");
        assert_eq!(f.association_category, b'1');
        assert_eq!(f.encode().unwrap(), EXAMPLE);
    }

    #[test]
    fn parity_and_lrc_are_checked() {
        let mut bad = EXAMPLE;
        bad[0] ^= 0x80;
        assert!(Fascn::decode(&bad).is_err());
        let mut bad = EXAMPLE;
        bad[24] ^= 0x03;
        assert!(Fascn::decode(&bad).is_err());
        assert!(Fascn::decode(&EXAMPLE[..24]).is_err());
    }
}
