//! [`AlgorithmId`]: cryptographic algorithm identifiers (NIST SP 800-78-4 Table 6-2).

use core::fmt;

/// A PIV algorithm identifier: P1 of GENERAL AUTHENTICATE, the `80` of the GENERATE
/// ASYMMETRIC KEY PAIR template and the `AC` list of the application property template
/// (NIST SP 800-78-4 §6, Table 6-2; SP 800-73-4 Part 1 Table 5).
///
/// ```
/// use cardwire_piv::AlgorithmId;
/// assert_eq!(AlgorithmId::AES_128.block_size(), Some(16));
/// assert_eq!(AlgorithmId::ECC_P384.ec_coordinate_len(), Some(48));
/// assert_eq!(AlgorithmId::RSA_2048.rsa_modulus_len(), Some(256));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlgorithmId(pub u8);

impl AlgorithmId {
    /// `03` Three-key Triple DES, ECB (card management key).
    pub const TDES_3KEY: Self = Self(0x03);
    /// `06` RSA 1024 bits (no longer allowed for new keys, SP 800-78-4 §3.1).
    pub const RSA_1024: Self = Self(0x06);
    /// `07` RSA 2048 bits.
    pub const RSA_2048: Self = Self(0x07);
    /// `05` RSA 3072 bits (SP 800-78-5).
    pub const RSA_3072: Self = Self(0x05);
    /// `08` AES-128, ECB.
    pub const AES_128: Self = Self(0x08);
    /// `0A` AES-192, ECB.
    pub const AES_192: Self = Self(0x0A);
    /// `0C` AES-256, ECB.
    pub const AES_256: Self = Self(0x0C);
    /// `11` ECC curve P-256.
    pub const ECC_P256: Self = Self(0x11);
    /// `14` ECC curve P-384.
    pub const ECC_P384: Self = Self(0x14);
    /// `27` Cipher Suite 2 (secure messaging, P-256 + AES-128).
    pub const CS2: Self = Self(0x27);
    /// `2E` Cipher Suite 7 (secure messaging, P-384 + AES-256).
    pub const CS7: Self = Self(0x2E);

    /// The symmetric cipher's block size (management key algorithms).
    pub const fn block_size(self) -> Option<usize> {
        match self.0 {
            0x03 => Some(8),
            0x08 | 0x0A | 0x0C => Some(16),
            _ => None,
        }
    }

    /// The symmetric key length in bytes.
    pub const fn symmetric_key_len(self) -> Option<usize> {
        match self.0 {
            0x03 => Some(24),
            0x08 => Some(16),
            0x0A => Some(24),
            0x0C => Some(32),
            _ => None,
        }
    }

    /// The RSA modulus length in bytes.
    pub const fn rsa_modulus_len(self) -> Option<usize> {
        match self.0 {
            0x06 => Some(128),
            0x07 => Some(256),
            0x05 => Some(384),
            _ => None,
        }
    }

    /// The length of one EC coordinate (and of a digest the card signs) in bytes.
    pub const fn ec_coordinate_len(self) -> Option<usize> {
        match self.0 {
            0x11 => Some(32),
            0x14 => Some(48),
            _ => None,
        }
    }

    /// True for RSA algorithms.
    pub const fn is_rsa(self) -> bool {
        self.rsa_modulus_len().is_some()
    }

    /// True for ECC algorithms.
    pub const fn is_ecc(self) -> bool {
        self.ec_coordinate_len().is_some()
    }

    /// The name SP 800-78-4 uses.
    pub const fn name(self) -> &'static str {
        match self.0 {
            0x00 | 0x03 => "3TDES",
            0x06 => "RSA-1024",
            0x07 => "RSA-2048",
            0x05 => "RSA-3072",
            0x08 => "AES-128",
            0x0A => "AES-192",
            0x0C => "AES-256",
            0x11 => "ECC P-256",
            0x14 => "ECC P-384",
            0x27 => "Cipher Suite 2",
            0x2E => "Cipher Suite 7",
            _ => "unknown algorithm",
        }
    }
}

impl fmt::Display for AlgorithmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} ({})", self.0, self.name())
    }
}

impl fmt::Debug for AlgorithmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AlgorithmId({:02X})", self.0)
    }
}
