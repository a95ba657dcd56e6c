//! [`ObjectId`]: the BER-TLV tags that name PIV data objects (containers).

use core::fmt;

use cardwire_tlv::Tag;

/// A PIV data object identifier: the BER-TLV tag used in the GET DATA / PUT DATA tag list
/// `5C` (NIST SP 800-73-4 Part 1 §3, Table 3).
///
/// ```
/// use cardwire_piv::{ObjectId, Slot};
/// assert_eq!(ObjectId::CHUID.tag_bytes().as_slice(), &[0x5F, 0xC1, 0x02]);
/// assert_eq!(Slot::AUTHENTICATION.object(), Some(ObjectId::X509_PIV_AUTHENTICATION));
/// assert_eq!(ObjectId::retired(1), Some(ObjectId(0x5FC10D)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub u32);

impl ObjectId {
    /// Card Capability Container `5FC107`.
    pub const CARD_CAPABILITY_CONTAINER: Self = Self(0x5F_C1_07);
    /// Card Holder Unique Identifier `5FC102`.
    pub const CHUID: Self = Self(0x5F_C1_02);
    /// X.509 Certificate for PIV Authentication (key 9A) `5FC105`.
    pub const X509_PIV_AUTHENTICATION: Self = Self(0x5F_C1_05);
    /// Cardholder Fingerprints `5FC103`.
    pub const CARDHOLDER_FINGERPRINTS: Self = Self(0x5F_C1_03);
    /// Security Object `5FC106`.
    pub const SECURITY_OBJECT: Self = Self(0x5F_C1_06);
    /// Cardholder Facial Image `5FC108`.
    pub const CARDHOLDER_FACIAL_IMAGE: Self = Self(0x5F_C1_08);
    /// X.509 Certificate for Card Authentication (key 9E) `5FC101`.
    pub const X509_CARD_AUTHENTICATION: Self = Self(0x5F_C1_01);
    /// X.509 Certificate for Digital Signature (key 9C) `5FC10A`.
    pub const X509_DIGITAL_SIGNATURE: Self = Self(0x5F_C1_0A);
    /// X.509 Certificate for Key Management (key 9D) `5FC10B`.
    pub const X509_KEY_MANAGEMENT: Self = Self(0x5F_C1_0B);
    /// Printed Information `5FC109`.
    pub const PRINTED_INFORMATION: Self = Self(0x5F_C1_09);
    /// Discovery Object `7E` (not wrapped in `53`).
    pub const DISCOVERY: Self = Self(0x7E);
    /// Key History Object `5FC10C`.
    pub const KEY_HISTORY: Self = Self(0x5F_C1_0C);
    /// Cardholder Iris Images `5FC121`.
    pub const CARDHOLDER_IRIS_IMAGES: Self = Self(0x5F_C1_21);
    /// Biometric Information Templates Group Template `7F61`.
    pub const BIOMETRIC_INFORMATION_TEMPLATES: Self = Self(0x7F61);
    /// Secure Messaging Certificate Signer `5FC122`.
    pub const SM_CERTIFICATE_SIGNER: Self = Self(0x5F_C1_22);
    /// Pairing Code Reference Data Container `5FC123`.
    pub const PAIRING_CODE_REFERENCE_DATA: Self = Self(0x5F_C1_23);

    /// Retired X.509 Certificate for Key Management `n` (1 to 20): `5FC10D` to `5FC120`.
    pub const fn retired(n: u8) -> Option<Self> {
        if n >= 1 && n <= 20 {
            Some(Self(0x5F_C1_0C + n as u32))
        } else {
            None
        }
    }

    /// The tag.
    pub const fn tag(self) -> Tag {
        Tag(self.0)
    }

    /// The tag bytes, as they go in the tag list `5C`.
    pub fn tag_bytes(self) -> cardwire_tlv::TagBytes {
        self.tag().to_bytes()
    }

    /// True for objects whose GET DATA answer is not wrapped in `53`: the discovery object
    /// `7E` and the biometric group template `7F61` (SP 800-73-4 Part 1 §3.3).
    pub const fn is_unwrapped(self) -> bool {
        self.0 == 0x7E || self.0 == 0x7F61
    }

    /// True for the certificate containers (keys 9A, 9C, 9D, 9E and the 20 retired keys).
    pub const fn is_certificate(self) -> bool {
        matches!(self.0, 0x5F_C1_01 | 0x5F_C1_05 | 0x5F_C1_0A | 0x5F_C1_0B)
            || (self.0 >= 0x5F_C1_0D && self.0 <= 0x5F_C1_20)
    }

    /// The container's name in SP 800-73-4 Part 1 Table 3, when it is a PIV object.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x5F_C1_07 => "Card Capability Container",
            0x5F_C1_02 => "CHUID",
            0x5F_C1_05 => "X.509 Certificate for PIV Authentication",
            0x5F_C1_03 => "Cardholder Fingerprints",
            0x5F_C1_06 => "Security Object",
            0x5F_C1_08 => "Cardholder Facial Image",
            0x5F_C1_01 => "X.509 Certificate for Card Authentication",
            0x5F_C1_0A => "X.509 Certificate for Digital Signature",
            0x5F_C1_0B => "X.509 Certificate for Key Management",
            0x5F_C1_09 => "Printed Information",
            0x7E => "Discovery Object",
            0x5F_C1_0C => "Key History Object",
            0x5F_C1_0D..=0x5F_C1_20 => "Retired X.509 Certificate for Key Management",
            0x5F_C1_21 => "Cardholder Iris Images",
            0x7F61 => "Biometric Information Templates Group Template",
            0x5F_C1_22 => "Secure Messaging Certificate Signer",
            0x5F_C1_23 => "Pairing Code Reference Data Container",
            _ => return None,
        })
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)?;
        if let Some(name) = self.name() {
            write!(f, " ({name})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({:02X})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_3() {
        // SP 800-73-4 Part 1 Table 3: retired 1 is 5FC10D, retired 20 is 5FC120.
        assert_eq!(ObjectId::retired(1), Some(ObjectId(0x5FC10D)));
        assert_eq!(ObjectId::retired(20), Some(ObjectId(0x5FC120)));
        assert_eq!(ObjectId::retired(0), None);
        assert_eq!(ObjectId::retired(21), None);
        assert!(ObjectId(0x5FC110).is_certificate());
        assert!(!ObjectId::CHUID.is_certificate());
        assert!(ObjectId::DISCOVERY.is_unwrapped());
        assert_eq!(ObjectId::DISCOVERY.tag_bytes().as_slice(), &[0x7E]);
    }
}
