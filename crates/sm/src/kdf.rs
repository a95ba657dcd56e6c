//! Session key derivation of ICAO Doc 9303 Part 11 §9.7.1, for BAC, PACE and chip
//! authentication: KDF(K, c) = H(K ‖ c) with a 32-bit big-endian counter c, SHA-1 for 3DES and
//! AES-128, SHA-256 for AES-192 and AES-256.

use sha1::{Digest, Sha1};
use sha2::Sha256;
use zeroize::Zeroize;

use crate::Error;
use crate::suite::{AesSuite, TdesSuite};

/// Counter for the encryption key (ICAO 9303-11 §9.7.1).
pub const COUNTER_ENC: u32 = 1;
/// Counter for the MAC key.
pub const COUNTER_MAC: u32 = 2;
/// Counter for the PACE password key π.
pub const COUNTER_PACE: u32 = 3;

/// The block cipher a derived key is for (ICAO 9303-11 §9.7.1, Table 17 / §9.8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// Two-key 3DES: SHA-1, first 16 bytes, DES parity adjusted.
    Tdes,
    /// AES-128: SHA-1, first 16 bytes.
    Aes128,
    /// AES-192: SHA-256, first 24 bytes.
    Aes192,
    /// AES-256: SHA-256, all 32 bytes.
    Aes256,
}

impl KeyAlgorithm {
    /// The key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            KeyAlgorithm::Tdes | KeyAlgorithm::Aes128 => 16,
            KeyAlgorithm::Aes192 => 24,
            KeyAlgorithm::Aes256 => 32,
        }
    }
}

/// A symmetric key of up to 32 bytes; zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; 32],
    len: usize,
}

impl SecretKey {
    /// Copies a key of up to 32 bytes.
    ///
    /// # Errors
    /// [`Error::KeyLength`] for an empty key or one over 32 bytes.
    pub fn from_slice(key: &[u8]) -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        bytes
            .get_mut(..key.len())
            .filter(|_| !key.is_empty())
            .ok_or(Error::KeyLength { len: key.len() })?
            .copy_from_slice(key);
        Ok(Self {
            bytes,
            len: key.len(),
        })
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl core::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SecretKey({} bytes, <redacted>)", self.len)
    }
}

/// Sets each byte's least significant bit so the byte has odd parity (FIPS 46-3 DES keys).
pub fn adjust_parity(key: &mut [u8]) {
    for b in key {
        let ones = (*b & 0xFE).count_ones();
        *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
    }
}

/// KDF(K, c) (ICAO 9303-11 §9.7.1): the key for `algorithm` from the shared secret or key seed
/// `secret` and the counter `counter` ([`COUNTER_ENC`], [`COUNTER_MAC`], [`COUNTER_PACE`]).
pub fn derive_key(secret: &[u8], counter: u32, algorithm: KeyAlgorithm) -> SecretKey {
    let mut bytes = [0u8; 32];
    match algorithm {
        KeyAlgorithm::Tdes | KeyAlgorithm::Aes128 => {
            let mut h = Sha1::new();
            h.update(secret);
            h.update(counter.to_be_bytes());
            let mut digest: [u8; 20] = h.finalize().into();
            if let (Some(dst), Some(src)) = (bytes.get_mut(..16), digest.get(..16)) {
                dst.copy_from_slice(src);
            }
            digest.zeroize();
        }
        KeyAlgorithm::Aes192 | KeyAlgorithm::Aes256 => {
            let mut h = Sha256::new();
            h.update(secret);
            h.update(counter.to_be_bytes());
            let mut digest: [u8; 32] = h.finalize().into();
            bytes.copy_from_slice(&digest);
            digest.zeroize();
        }
    }
    let len = algorithm.key_len();
    if let Some(tail) = bytes.get_mut(len..) {
        tail.zeroize();
    }
    if algorithm == KeyAlgorithm::Tdes {
        if let Some(key) = bytes.get_mut(..16) {
            adjust_parity(key);
        }
    }
    SecretKey { bytes, len }
}

/// The 3DES secure messaging suite keyed from a shared secret: KS_enc = KDF(K, 1),
/// KS_mac = KDF(K, 2).
///
/// # Errors
/// None in practice; the signature follows [`TdesSuite::new`].
pub fn tdes_suite(secret: &[u8]) -> Result<TdesSuite, Error> {
    let enc = derive_key(secret, COUNTER_ENC, KeyAlgorithm::Tdes);
    let mac = derive_key(secret, COUNTER_MAC, KeyAlgorithm::Tdes);
    TdesSuite::new(enc.as_bytes(), mac.as_bytes())
}

/// The AES secure messaging suite keyed from a shared secret (as after PACE or chip
/// authentication): KS_enc = KDF(K, 1), KS_mac = KDF(K, 2) for AES-128, -192 or -256.
///
/// # Errors
/// [`Error::KeyLength`] when `algorithm` is [`KeyAlgorithm::Tdes`].
pub fn aes_suite(secret: &[u8], algorithm: KeyAlgorithm) -> Result<AesSuite, Error> {
    if algorithm == KeyAlgorithm::Tdes {
        return Err(Error::KeyLength { len: 16 });
    }
    let enc = derive_key(secret, COUNTER_ENC, algorithm);
    let mac = derive_key(secret, COUNTER_MAC, algorithm);
    AesSuite::new(enc.as_bytes(), mac.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    // ICAO Doc 9303 Part 11 (8th ed., 2021), Appendix D.2 "Computing keys from key seed":
    // K_seed 239AB9CB282DAF66231DC5A4DF6BFBAE → K_enc, K_mac (parity adjusted).
    #[test]
    fn icao_d2_key_derivation() {
        let seed = hex("239AB9CB282DAF66231DC5A4DF6BFBAE");
        let enc = derive_key(&seed, COUNTER_ENC, KeyAlgorithm::Tdes);
        let mac = derive_key(&seed, COUNTER_MAC, KeyAlgorithm::Tdes);
        assert_eq!(enc.as_bytes(), hex("AB94FDECF2674FDFB9B391F85D7F76F2"));
        assert_eq!(mac.as_bytes(), hex("7962D9ECE03D1ACD4C76089DCE131543"));
    }

    // ICAO Doc 9303 Part 11, Appendix D.3: K_seed = K.IFD xor K.IC = 0036D272F5C350ACAC50C3F572D23600
    // → KS_enc 979EC13B1CBFE9DCD01AB0FED307EAE5, KS_mac F1CB1F1FB5ADF208806B89DC579DC1F8.
    #[test]
    fn icao_d3_session_keys() {
        let seed = hex("0036D272F5C350ACAC50C3F572D23600");
        assert_eq!(
            derive_key(&seed, COUNTER_ENC, KeyAlgorithm::Tdes).as_bytes(),
            hex("979EC13B1CBFE9DCD01AB0FED307EAE5")
        );
        assert_eq!(
            derive_key(&seed, COUNTER_MAC, KeyAlgorithm::Tdes).as_bytes(),
            hex("F1CB1F1FB5ADF208806B89DC579DC1F8")
        );
    }

    // ICAO Doc 9303 Part 11, Appendix G.1 (PACE, ECDH generic mapping, AES-128): the nonce key
    // K_π = KDF_π(MRZ key seed "7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD", counter 3) =
    // 89DED1B26624EC1E634C1989302849DD.
    #[test]
    fn icao_g1_pace_password_key_aes128() {
        let seed = hex("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD");
        assert_eq!(
            derive_key(&seed, COUNTER_PACE, KeyAlgorithm::Aes128).as_bytes(),
            hex("89DED1B26624EC1E634C1989302849DD")
        );
    }

    #[test]
    fn aes_lengths_and_hashes() {
        let secret = b"shared secret";
        let k192 = derive_key(secret, COUNTER_ENC, KeyAlgorithm::Aes192);
        let k256 = derive_key(secret, COUNTER_ENC, KeyAlgorithm::Aes256);
        assert_eq!(k192.as_bytes().len(), 24);
        assert_eq!(k256.as_bytes().len(), 32);
        // AES-192 is the first 24 bytes of the same SHA-256 output as AES-256.
        assert_eq!(k192.as_bytes(), &k256.as_bytes()[..24]);
        let mut h = Sha256::new();
        h.update(secret);
        h.update(1u32.to_be_bytes());
        assert_eq!(k256.as_bytes(), h.finalize().as_slice());
        assert!(aes_suite(secret, KeyAlgorithm::Tdes).is_err());
        assert!(std::format!("{k256:?}").contains("redacted"));
    }

    #[test]
    fn parity() {
        let mut k = [0x00, 0x01, 0xFE, 0xFF, 0xAB];
        adjust_parity(&mut k);
        assert_eq!(k, [0x01, 0x01, 0xFE, 0xFE, 0xAB]);
    }
}
