//! EF.SOD's `LDSSecurityObject` (ICAO Doc 9303-10 §4.6.2, RFC 5652 SignedData) as a zero-copy
//! view, and the data-group hash check of Passive Authentication (ICAO 9303-11 §5.1 step 3).
//!
//! This is the hash half of Passive Authentication only: [`LdsSecurityObject::parse`] walks
//! `77 { ContentInfo { signedData, [0] SignedData { ..., encapContentInfo { [0] OCTET STRING
//! { LDSSecurityObject } } } } }` and does **not** verify the document signer's signature
//! or certificate chain; a caller must do that before trusting the hashes.
//!
//! ```text
//! LDSSecurityObject ::= SEQUENCE { version INTEGER, hashAlgorithm AlgorithmIdentifier,
//!     dataGroupHashValues SEQUENCE OF DataGroupHash, ldsVersionInfo ... OPTIONAL }
//! DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER, dataGroupHashValue OCTET STRING }
//! ```

use der::Tag;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::security_infos::{Cursor, SecurityInfosError, integer};

/// The hash algorithm of an `LDSSecurityObject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SodHash {
    /// SHA-1 (1.3.14.3.2.26).
    Sha1,
    /// SHA-224 (2.16.840.1.101.3.4.2.4).
    Sha224,
    /// SHA-256 (2.16.840.1.101.3.4.2.1).
    Sha256,
    /// SHA-384 (2.16.840.1.101.3.4.2.2).
    Sha384,
    /// SHA-512 (2.16.840.1.101.3.4.2.3).
    Sha512,
}

impl SodHash {
    fn from_oid(oid: &[u8]) -> Option<Self> {
        const NIST: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
        match oid {
            [0x2B, 0x0E, 0x03, 0x02, 0x1A] => Some(SodHash::Sha1),
            _ => match oid.strip_prefix(NIST)? {
                [1] => Some(SodHash::Sha256),
                [2] => Some(SodHash::Sha384),
                [3] => Some(SodHash::Sha512),
                [4] => Some(SodHash::Sha224),
                _ => None,
            },
        }
    }

    /// Whether `data` hashes to `expected` (constant-time comparison).
    fn matches(self, data: &[u8], expected: &[u8]) -> bool {
        let mut buf = [0u8; 64];
        let n = match self {
            SodHash::Sha1 => copy(&Sha1::digest(data), &mut buf),
            SodHash::Sha224 => copy(&Sha224::digest(data), &mut buf),
            SodHash::Sha256 => copy(&Sha256::digest(data), &mut buf),
            SodHash::Sha384 => copy(&Sha384::digest(data), &mut buf),
            SodHash::Sha512 => copy(&Sha512::digest(data), &mut buf),
        };
        let digest = buf.get(..n).unwrap_or(&[]);
        digest.len() == expected.len() && bool::from(digest.ct_eq(expected))
    }
}

fn copy(src: &[u8], dst: &mut [u8; 64]) -> usize {
    if let Some(d) = dst.get_mut(..src.len()) {
        d.copy_from_slice(src);
    }
    src.len()
}

/// Why a data group does not check against the SOD, or the SOD does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SodError {
    /// The SOD's DER is broken or not the expected structure.
    Malformed(SecurityInfosError),
    /// The hash algorithm is not one of SHA-1/224/256/384/512.
    UnsupportedHash,
    /// The SOD has no hash for this data group.
    NoHash {
        /// The data group number.
        data_group: u32,
    },
    /// The data group's hash differs from the SOD's: the data group was altered.
    HashMismatch {
        /// The data group number.
        data_group: u32,
    },
}

impl core::fmt::Display for SodError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            SodError::Malformed(e) => write!(f, "malformed EF.SOD: {e}"),
            SodError::UnsupportedHash => f.write_str("unsupported EF.SOD hash algorithm"),
            SodError::NoHash { data_group } => write!(f, "EF.SOD has no hash for DG{data_group}"),
            SodError::HashMismatch { data_group } => {
                write!(f, "DG{data_group} does not match its hash in EF.SOD")
            }
        }
    }
}

impl core::error::Error for SodError {}

impl From<SecurityInfosError> for SodError {
    fn from(e: SecurityInfosError) -> Self {
        SodError::Malformed(e)
    }
}

/// The `LDSSecurityObject` inside EF.SOD (view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LdsSecurityObject<'a> {
    hash: SodHash,
    /// The content of `dataGroupHashValues`, with its absolute offset.
    hashes: &'a [u8],
    hashes_offset: usize,
}

fn unexpected(e: &crate::security_infos::Element<'_>) -> SodError {
    SodError::Malformed(SecurityInfosError::UnexpectedTag {
        tag: e.tag_byte,
        offset: 0,
    })
}

impl<'a> LdsSecurityObject<'a> {
    /// An `LDSSecurityObject` with no hashes (SHA-256).
    pub const EMPTY: LdsSecurityObject<'static> = LdsSecurityObject {
        hash: SodHash::Sha256,
        hashes: &[],
        hashes_offset: 0,
    };

    /// Finds and checks the `LDSSecurityObject` in EF.SOD's bytes (starting with tag `77`).
    /// Offsets in errors are relative to the innermost structure being read.
    ///
    /// # Errors
    /// [`SodError::Malformed`] for a structure that is not EF.SOD's;
    /// [`SodError::UnsupportedHash`].
    pub fn parse(sod: &'a [u8]) -> Result<Self, SodError> {
        let mut c = Cursor::new(sod, 0);
        let app = c
            .next()?
            .ok_or(SecurityInfosError::MissingField { offset: 0 })?;
        if app.tag_byte != 0x77 {
            return Err(unexpected(&app));
        }
        let mut c = Cursor::new(app.content, 0);
        let content_info = c.expect(Tag::Sequence, 0)?;
        let mut c = Cursor::new(content_info.content, 0);
        let _signed_data_oid = c.expect(Tag::ObjectIdentifier, 0)?;
        let explicit = c
            .next()?
            .ok_or(SecurityInfosError::MissingField { offset: 0 })?;
        if explicit.tag_byte != 0xA0 {
            return Err(unexpected(&explicit));
        }
        let mut c = Cursor::new(explicit.content, 0);
        let signed_data = c.expect(Tag::Sequence, 0)?;
        let mut c = Cursor::new(signed_data.content, 0);
        let _version = c.expect(Tag::Integer, 0)?;
        let _digest_algorithms = c.expect(Tag::Set, 0)?;
        let encap = c.expect(Tag::Sequence, 0)?;
        let mut c = Cursor::new(encap.content, 0);
        let _content_type = c.expect(Tag::ObjectIdentifier, 0)?;
        let explicit = c
            .next()?
            .ok_or(SecurityInfosError::MissingField { offset: 0 })?;
        if explicit.tag_byte != 0xA0 {
            return Err(unexpected(&explicit));
        }
        let mut c = Cursor::new(explicit.content, 0);
        let octets = c.expect(Tag::OctetString, 0)?;
        Self::parse_content(octets.content)
    }

    /// Reads a bare `LDSSecurityObject` (the eContent of EF.SOD's SignedData).
    ///
    /// # Errors
    /// As [`parse`](Self::parse).
    pub fn parse_content(lds: &'a [u8]) -> Result<Self, SodError> {
        let mut outer = Cursor::new(lds, 0);
        let seq = outer.expect(Tag::Sequence, 0)?;
        outer.finish()?;
        let mut c = Cursor::new(seq.content, 0);
        let _version = c.expect(Tag::Integer, 0)?;
        let alg = c.expect(Tag::Sequence, 0)?;
        let mut a = Cursor::new(alg.content, 0);
        let oid = a.expect(Tag::ObjectIdentifier, 0)?;
        let hash = SodHash::from_oid(oid.content).ok_or(SodError::UnsupportedHash)?;
        let hashes = c.expect(Tag::Sequence, 0)?;
        // Check every DataGroupHash once, so lookups cannot fail on structure.
        let mut h = Cursor::new(hashes.content, 0);
        while let Some(e) = h.next()? {
            if e.tag != Tag::Sequence {
                return Err(unexpected(&e));
            }
            let mut d = Cursor::new(e.content, 0);
            integer(&d.expect(Tag::Integer, 0)?)?;
            d.expect(Tag::OctetString, 0)?;
            d.finish()?;
        }
        Ok(Self {
            hash,
            hashes: hashes.content,
            hashes_offset: 0,
        })
    }

    /// The hash algorithm.
    pub fn hash_algorithm(&self) -> SodHash {
        self.hash
    }

    /// The data-group numbers and hashes, in the SOD's order.
    pub fn data_groups(&self) -> impl Iterator<Item = (u32, &'a [u8])> + 'a {
        let mut h = Cursor::new(self.hashes, self.hashes_offset);
        core::iter::from_fn(move || {
            let e = h.next().ok()??;
            let mut d = Cursor::new(e.content, 0);
            let n = integer(&d.expect(Tag::Integer, 0).ok()?).ok()?;
            let v = d.expect(Tag::OctetString, 0).ok()?;
            Some((n, v.content))
        })
    }

    /// The hash the SOD gives for data group `number`, if any.
    pub fn hash_of(&self, number: u32) -> Option<&'a [u8]> {
        let mut h = Cursor::new(self.hashes, self.hashes_offset);
        while let Ok(Some(e)) = h.next() {
            let mut d = Cursor::new(e.content, 0);
            let n = d.expect(Tag::Integer, 0).ok()?;
            let v = d.expect(Tag::OctetString, 0).ok()?;
            if integer(&n).ok() == Some(number) {
                return Some(v.content);
            }
        }
        None
    }

    /// Checks the whole file of data group `number` (as read, tag and length included)
    /// against its hash in the SOD.
    ///
    /// # Errors
    /// [`SodError::NoHash`]; [`SodError::HashMismatch`].
    pub fn check_data_group(&self, number: u32, file: &[u8]) -> Result<(), SodError> {
        let expected = self
            .hash_of(number)
            .ok_or(SodError::NoHash { data_group: number })?;
        if self.hash.matches(file, expected) {
            Ok(())
        } else {
            Err(SodError::HashMismatch { data_group: number })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = std::vec![tag];
        if content.len() < 0x80 {
            v.push(content.len() as u8);
        } else if content.len() < 0x100 {
            v.extend([0x81, content.len() as u8]);
        } else {
            v.extend([0x82, (content.len() >> 8) as u8, content.len() as u8]);
        }
        v.extend_from_slice(content);
        v
    }

    /// A synthetic EF.SOD (structure of ICAO 9303-10 §4.6.2; no signer, no certificates)
    /// with SHA-256 hashes of DG1 and DG2.
    fn sod(dg1: &[u8], dg2: &[u8]) -> Vec<u8> {
        let sha256 = tlv(
            0x06,
            &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
        );
        let mut hashes = Vec::new();
        for (n, dg) in [(1u8, dg1), (2, dg2)] {
            let mut h = tlv(0x02, &[n]);
            h.extend(tlv(0x04, &Sha256::digest(dg)));
            hashes.extend(tlv(0x30, &h));
        }
        let mut lds = tlv(0x02, &[0]);
        lds.extend(tlv(0x30, &sha256));
        lds.extend(tlv(0x30, &hashes));
        let lds = tlv(0x30, &lds);
        // id-icao-mrtd-security-ldsSecurityObject 2.23.136.1.1.1
        let mut encap = tlv(0x06, &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01]);
        encap.extend(tlv(0xA0, &tlv(0x04, &lds)));
        let mut sd = tlv(0x02, &[3]);
        sd.extend(tlv(0x31, &tlv(0x30, &sha256)));
        sd.extend(tlv(0x30, &encap));
        sd.extend(tlv(0x31, &[])); // signerInfos (not read)
        // id-signedData 1.2.840.113549.1.7.2
        let mut ci = tlv(
            0x06,
            &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02],
        );
        ci.extend(tlv(0xA0, &tlv(0x30, &sd)));
        tlv(0x77, &tlv(0x30, &ci))
    }

    #[test]
    fn data_group_hashes_checked() {
        let dg1 = tlv(0x61, b"P<UTOERIKSSON<<ANNA<MARIA");
        let dg2 = tlv(0x75, &[0xAB; 300]);
        let sod = sod(&dg1, &dg2);
        let lds = LdsSecurityObject::parse(&sod).unwrap();
        assert_eq!(lds.hash_algorithm(), SodHash::Sha256);
        assert_eq!(lds.check_data_group(1, &dg1), Ok(()));
        assert_eq!(lds.check_data_group(2, &dg2), Ok(()));
        // A data group whose hash differs is refused.
        let mut forged = dg1.clone();
        forged[5] ^= 1;
        assert_eq!(
            lds.check_data_group(1, &forged),
            Err(SodError::HashMismatch { data_group: 1 })
        );
        // DG1's bytes offered as DG2.
        assert_eq!(
            lds.check_data_group(2, &dg1),
            Err(SodError::HashMismatch { data_group: 2 })
        );
        assert_eq!(
            lds.check_data_group(14, &dg1),
            Err(SodError::NoHash { data_group: 14 })
        );
        // Truncated SOD.
        assert!(LdsSecurityObject::parse(&sod[..sod.len() - 1]).is_err());
        // The list in the SOD's order.
        let listed: Vec<(u32, usize)> = lds.data_groups().map(|(n, h)| (n, h.len())).collect();
        assert_eq!(listed, [(1, 32), (2, 32)]);
        assert_eq!(LdsSecurityObject::EMPTY.data_groups().count(), 0);
        assert_eq!(
            LdsSecurityObject::EMPTY.check_data_group(1, &dg1),
            Err(SodError::NoHash { data_group: 1 })
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..120), n in 0u32..20) {
            if let Ok(lds) = LdsSecurityObject::parse(&bytes) {
                let _ = lds.check_data_group(n, &bytes);
            }
            if let Ok(lds) = LdsSecurityObject::parse_content(&bytes) {
                let _ = lds.check_data_group(n, &bytes);
            }
        }
    }
}
