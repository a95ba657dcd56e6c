//! [`Slot`]: PIV key references (NIST SP 800-73-4 Part 1 Table 4b).

use core::fmt;

use crate::ObjectId;

/// A PIV key reference: the P2 of GENERAL AUTHENTICATE and GENERATE ASYMMETRIC KEY PAIR
/// (NIST SP 800-73-4 Part 1 §3.1, Table 4b), with the certificate container that goes with it.
///
/// ```
/// use cardwire_piv::{ObjectId, Slot};
/// assert_eq!(Slot::SIGNATURE.0, 0x9C);
/// assert_eq!(Slot::retired(20), Some(Slot(0x95)));
/// assert_eq!(Slot(0x95).object(), Some(ObjectId(0x5FC120)));
/// assert_eq!(Slot::MANAGEMENT.object(), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(pub u8);

impl Slot {
    /// `9A` PIV Authentication key (PIN required).
    pub const AUTHENTICATION: Self = Self(0x9A);
    /// `9B` PIV Card Application Administration (card management) key, symmetric.
    pub const MANAGEMENT: Self = Self(0x9B);
    /// `9C` Digital Signature key (PIN always: verified immediately before each use).
    pub const SIGNATURE: Self = Self(0x9C);
    /// `9D` Key Management key (key establishment, ECDH or RSA decryption).
    pub const KEY_MANAGEMENT: Self = Self(0x9D);
    /// `9E` Card Authentication key (no PIN).
    pub const CARD_AUTHENTICATION: Self = Self(0x9E);
    /// `04` PIV Secure Messaging key (SP 800-73-4 §4).
    pub const SECURE_MESSAGING: Self = Self(0x04);

    /// Retired key management key `n` (1 to 20): `82` to `95`.
    pub const fn retired(n: u8) -> Option<Self> {
        if n >= 1 && n <= 20 {
            Some(Self(0x81 + n))
        } else {
            None
        }
    }

    /// The certificate container of this key (SP 800-73-4 Part 1 Table 3 and Table 4b).
    pub const fn object(self) -> Option<ObjectId> {
        match self.0 {
            0x9A => Some(ObjectId::X509_PIV_AUTHENTICATION),
            0x9C => Some(ObjectId::X509_DIGITAL_SIGNATURE),
            0x9D => Some(ObjectId::X509_KEY_MANAGEMENT),
            0x9E => Some(ObjectId::X509_CARD_AUTHENTICATION),
            0x82..=0x95 => ObjectId::retired(self.0 - 0x81),
            _ => None,
        }
    }

    /// The key whose certificate `object` holds.
    pub const fn for_object(object: ObjectId) -> Option<Self> {
        match object.0 {
            0x5F_C1_05 => Some(Self::AUTHENTICATION),
            0x5F_C1_0A => Some(Self::SIGNATURE),
            0x5F_C1_0B => Some(Self::KEY_MANAGEMENT),
            0x5F_C1_01 => Some(Self::CARD_AUTHENTICATION),
            0x5F_C1_0D..=0x5F_C1_20 => Some(Self((object.0 - 0x5F_C1_0C) as u8 + 0x81)),
            _ => None,
        }
    }

    /// The key's name in SP 800-73-4 Part 1 Table 4b.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x9A => "PIV authentication",
            0x9B => "card management",
            0x9C => "digital signature",
            0x9D => "key management",
            0x9E => "card authentication",
            0x04 => "secure messaging",
            0x82..=0x95 => "retired key management",
            _ => return None,
        })
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)?;
        if let Some(name) = self.name() {
            write!(f, " ({name})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slot({:02X})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_round_trip() {
        for n in 1..=20u8 {
            let s = Slot::retired(n).unwrap();
            assert_eq!(Slot::for_object(s.object().unwrap()), Some(s));
        }
        for s in [
            Slot::AUTHENTICATION,
            Slot::SIGNATURE,
            Slot::KEY_MANAGEMENT,
            Slot::CARD_AUTHENTICATION,
        ] {
            assert_eq!(Slot::for_object(s.object().unwrap()), Some(s));
        }
        assert_eq!(Slot::retired(1), Some(Slot(0x82)));
        assert_eq!(Slot::retired(21), None);
    }
}
