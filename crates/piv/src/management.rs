//! The card management key (key reference `9B`) and mutual authentication with it
//! (NIST SP 800-73-4 Part 2 §3.2.4 and Appendix A.1; algorithms SP 800-78-4 Table 6-2:
//! `03` 3TDES, `08` AES-128, `0A` AES-192, `0C` AES-256, all ECB on one block).

use core::fmt;

use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::auth::{AuthTemplate, AuthTemplateRepr};
use crate::{AlgorithmId, Error, Operation, Slot, Target};

const MAX_KEY: usize = 32;
const MAX_BLOCK: usize = 16;

/// A card management key: its algorithm and secret bytes. Zeroized on drop, redacted in
/// `Debug`, compared in constant time.
///
/// ```
/// use cardwire_piv::{AlgorithmId, ManagementKey};
/// let key = ManagementKey::DEFAULT_3DES;
/// assert_eq!(key.algorithm(), AlgorithmId::TDES_3KEY);
/// assert_eq!(format!("{key:?}"), "ManagementKey { algorithm: AlgorithmId(03), key: [redacted] }");
/// assert!(ManagementKey::new(AlgorithmId::AES_128, &[0; 15]).is_err());
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ManagementKey {
    #[zeroize(skip)]
    algorithm: AlgorithmId,
    key: [u8; MAX_KEY],
    len: usize,
}

impl ManagementKey {
    /// The well-known test value PIV test cards (and YubiKeys before firmware 5.7) ship
    /// with: `010203040506070801020304050607080102030405060708`, 3TDES. Never for production.
    pub const DEFAULT_3DES: Self = {
        let key = [
            1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0,
            0, 0, 0,
        ];
        ManagementKey {
            algorithm: AlgorithmId::TDES_3KEY,
            key,
            len: 24,
        }
    };

    /// A key of `algorithm` (`03`, `08`, `0A`, `0C`) from its bytes.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for another algorithm; [`Error::InvalidLength`] when
    /// `key` is not 24, 16, 24 or 32 bytes respectively.
    pub fn new(algorithm: AlgorithmId, key: &[u8]) -> Result<Self, Error> {
        let len = algorithm
            .symmetric_key_len()
            .ok_or(Error::UnsupportedAlgorithm {
                algorithm,
                operation: Operation::GeneralAuthenticate,
            })?;
        if key.len() != len {
            return Err(Error::InvalidLength {
                algorithm,
                len: key.len(),
            });
        }
        let mut bytes = [0u8; MAX_KEY];
        if let Some(dst) = bytes.get_mut(..len) {
            dst.copy_from_slice(key);
        }
        Ok(ManagementKey {
            algorithm,
            key: bytes,
            len,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> AlgorithmId {
        self.algorithm
    }

    /// The secret bytes. Handle with care.
    pub fn expose_secret(&self) -> &[u8] {
        self.key.get(..self.len).unwrap_or_default()
    }

    /// The cipher's block size (8 or 16).
    pub fn block_size(&self) -> usize {
        self.algorithm.block_size().unwrap_or(MAX_BLOCK)
    }

    /// Encrypts one block in place (ECB, as the card does).
    ///
    /// # Errors
    /// [`Error::InvalidLength`] when `block` is not one block.
    pub fn encrypt_block(&self, block: &mut [u8]) -> Result<(), Error> {
        self.cipher(block, true)
    }

    /// Decrypts one block in place.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] when `block` is not one block.
    pub fn decrypt_block(&self, block: &mut [u8]) -> Result<(), Error> {
        self.cipher(block, false)
    }

    fn cipher(&self, block: &mut [u8], encrypt: bool) -> Result<(), Error> {
        let bad_len = Error::InvalidLength {
            algorithm: self.algorithm,
            len: block.len(),
        };
        if block.len() != self.block_size() {
            return Err(bad_len);
        }
        let key = self.expose_secret();
        let bad_key = Error::Crypto("management key rejected by the cipher");
        match self.algorithm {
            AlgorithmId::TDES_3KEY => {
                let c = des::TdesEde3::new_from_slice(key).map_err(|_| bad_key)?;
                run(&c, block, encrypt).ok_or(bad_len)?;
            }
            AlgorithmId::AES_128 => {
                let c = aes::Aes128::new_from_slice(key).map_err(|_| bad_key)?;
                run(&c, block, encrypt).ok_or(bad_len)?;
            }
            AlgorithmId::AES_192 => {
                let c = aes::Aes192::new_from_slice(key).map_err(|_| bad_key)?;
                run(&c, block, encrypt).ok_or(bad_len)?;
            }
            AlgorithmId::AES_256 => {
                let c = aes::Aes256::new_from_slice(key).map_err(|_| bad_key)?;
                run(&c, block, encrypt).ok_or(bad_len)?;
            }
            algorithm => {
                return Err(Error::UnsupportedAlgorithm {
                    algorithm,
                    operation: Operation::GeneralAuthenticate,
                });
            }
        }
        Ok(())
    }
}

fn run<C: BlockCipherEncrypt + BlockCipherDecrypt>(
    c: &C,
    block: &mut [u8],
    encrypt: bool,
) -> Option<()> {
    let block = <&mut Array<u8, C::BlockSize>>::try_from(block).ok()?;
    if encrypt {
        c.encrypt_block(block);
    } else {
        c.decrypt_block(block);
    }
    Some(())
}

impl ConstantTimeEq for ManagementKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        let same_alg = subtle::Choice::from(u8::from(self.algorithm == other.algorithm));
        let same_len = subtle::Choice::from(u8::from(self.len == other.len));
        same_alg & same_len & self.key.ct_eq(&other.key)
    }
}

impl PartialEq for ManagementKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for ManagementKey {}

impl fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagementKey")
            .field("algorithm", &self.algorithm)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

/// Mutual authentication with the card management key as a sans-IO exchange of two
/// GENERAL AUTHENTICATE commands (SP 800-73-4 Part 2 Appendix A.1):
///
/// 1. [`MutualAuth::witness_request`]: `7C 02 80 00`, the card answers `7C { 80 E(K, w) }`;
/// 2. [`MutualAuth::answer`]: the host decrypts the witness and sends
///    `7C { 80 w, 81 c }` with its own random challenge `c`; the card answers
///    `7C { 82 E(K, c) }`;
/// 3. [`MutualAuth::finish`]: the host checks the card's response in constant time.
///
/// ```
/// use cardwire_piv::{ManagementKey, MutualAuth};
/// let key = ManagementKey::DEFAULT_3DES;
/// let mut auth = MutualAuth::new(&key);
/// let mut buf = [0u8; 64];
/// assert_eq!(auth.witness_request(&mut buf)?, &[0x7C, 0x02, 0x80, 0x00]);
/// // (the card's answers go to `answer` and `finish`)
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
pub struct MutualAuth<'k> {
    key: &'k ManagementKey,
    challenge: [u8; MAX_BLOCK],
}

impl<'k> MutualAuth<'k> {
    /// Starts an authentication with `key`.
    pub fn new(key: &'k ManagementKey) -> Self {
        MutualAuth {
            key,
            challenge: [0; MAX_BLOCK],
        }
    }

    /// The algorithm (P1 of both commands); P2 is [`Slot::MANAGEMENT`].
    pub fn algorithm(&self) -> AlgorithmId {
        self.key.algorithm()
    }

    /// Step 1: the template asking for a witness.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn witness_request<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        AuthTemplateRepr {
            witness: Some(&[]),
            ..Default::default()
        }
        .encode(out)
    }

    /// Step 2: decrypts the card's witness from `response` (the card's `7C`), draws the
    /// host challenge from `rng` and writes `7C { 80 witness, 81 challenge }` into `out`.
    ///
    /// # Errors
    /// [`Error::Malformed`] when the card's answer has no witness of one block;
    /// [`Error::BufferTooSmall`].
    pub fn answer<'o, R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        response: &[u8],
        rng: &mut R,
        out: &'o mut [u8],
    ) -> Result<&'o [u8], Error> {
        let target = Target::Key(Slot::MANAGEMENT);
        let t = AuthTemplate::new_checked(response)?;
        let n = self.key.block_size();
        let witness = t
            .witness()
            .filter(|w| w.len() == n)
            .ok_or(Error::Malformed {
                target,
                offset: 0,
                what: "the card's witness (tag '80') is not one cipher block",
            })?;
        let mut plain = [0u8; MAX_BLOCK];
        let plain = plain.get_mut(..n).ok_or(Error::Crypto("block size"))?;
        plain.copy_from_slice(witness);
        self.key.decrypt_block(plain)?;
        let challenge = self
            .challenge
            .get_mut(..n)
            .ok_or(Error::Crypto("block size"))?;
        rng.fill_bytes(challenge);
        let encoded = AuthTemplateRepr {
            witness: Some(plain),
            challenge: Some(challenge),
            ..Default::default()
        }
        .encode(out);
        plain.zeroize();
        encoded
    }

    /// Step 3: checks the card's `7C { 82 E(K, challenge) }`.
    ///
    /// # Errors
    /// [`Error::CardAuthenticationFailed`] when the response is wrong; [`Error::Malformed`]
    /// when it is missing.
    pub fn finish(&self, response: &[u8]) -> Result<(), Error> {
        let n = self.key.block_size();
        let t = AuthTemplate::new_checked(response)?;
        let got = t.response().ok_or(Error::Malformed {
            target: Target::Key(Slot::MANAGEMENT),
            offset: 0,
            what: "the card's answer has no response (tag '82')",
        })?;
        let mut expected = [0u8; MAX_BLOCK];
        let expected = expected.get_mut(..n).ok_or(Error::Crypto("block size"))?;
        expected.copy_from_slice(self.challenge.get(..n).unwrap_or_default());
        self.key.encrypt_block(expected)?;
        if got.len() == n && bool::from(got.ct_eq(expected)) {
            Ok(())
        } else {
            Err(Error::CardAuthenticationFailed)
        }
    }
}

impl fmt::Debug for MutualAuth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutualAuth")
            .field("algorithm", &self.key.algorithm())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u8);
    impl rand_core::TryRng for Counter {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for b in dst {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Counter {}

    /// Plays the card's side of Appendix A.1 with `card_key` and returns the host's result.
    fn run_with(host_key: &ManagementKey, card_key: &ManagementKey) -> Result<(), Error> {
        let mut auth = MutualAuth::new(host_key);
        let mut out = [0u8; 64];
        assert_eq!(
            auth.witness_request(&mut out).unwrap(),
            &[0x7C, 0x02, 0x80, 0x00]
        );
        let n = card_key.block_size();
        let witness = [0x5Au8; 16];
        let mut enc = witness;
        card_key.encrypt_block(&mut enc[..n]).unwrap();
        let mut rsp = [0u8; 32];
        let card_answer = AuthTemplateRepr {
            witness: Some(&enc[..n]),
            ..Default::default()
        }
        .encode(&mut rsp)
        .unwrap();
        let step2 = auth.answer(card_answer, &mut Counter(0), &mut out)?;
        let t = AuthTemplate::new_checked(step2).unwrap();
        if host_key == card_key {
            assert_eq!(t.witness(), Some(&witness[..n]));
        }
        let mut c = [0u8; 16];
        c[..n].copy_from_slice(t.challenge().unwrap());
        card_key.encrypt_block(&mut c[..n]).unwrap();
        let mut rsp2 = [0u8; 32];
        let final_answer = AuthTemplateRepr {
            response: Some(&c[..n]),
            ..Default::default()
        }
        .encode(&mut rsp2)
        .unwrap();
        auth.finish(final_answer)
    }

    #[test]
    fn mutual_auth_every_algorithm() {
        let keys = [
            ManagementKey::DEFAULT_3DES,
            ManagementKey::new(AlgorithmId::AES_128, &[7; 16]).unwrap(),
            ManagementKey::new(AlgorithmId::AES_192, &[7; 24]).unwrap(),
            ManagementKey::new(AlgorithmId::AES_256, &[7; 32]).unwrap(),
        ];
        for k in &keys {
            run_with(k, k).unwrap();
        }
        // A card with another key: its witness decrypts to garbage and its response differs.
        let other = ManagementKey::new(AlgorithmId::AES_128, &[8; 16]).unwrap();
        assert_eq!(
            run_with(&keys[1], &other),
            Err(Error::CardAuthenticationFailed)
        );
    }

    #[test]
    fn aes_128_fips_197_vector() {
        // FIPS 197 Appendix C.1: key 000102..0F, plaintext 00112233..FF.
        let key = ManagementKey::new(
            AlgorithmId::AES_128,
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        )
        .unwrap();
        let mut block = [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD,
            0xEE, 0xFF,
        ];
        key.encrypt_block(&mut block).unwrap();
        assert_eq!(
            block,
            [
                0x69, 0xC4, 0xE0, 0xD8, 0x6A, 0x7B, 0x04, 0x30, 0xD8, 0xCD, 0xB7, 0x80, 0x70, 0xB4,
                0xC5, 0x5A
            ]
        );
        key.decrypt_block(&mut block).unwrap();
        assert_eq!(block[15], 0xFF);
        assert!(key.encrypt_block(&mut [0u8; 8]).is_err());
    }

    #[test]
    fn keys_compare_and_redact() {
        assert_eq!(
            ManagementKey::DEFAULT_3DES,
            ManagementKey::DEFAULT_3DES.clone()
        );
        assert_ne!(
            ManagementKey::DEFAULT_3DES,
            ManagementKey::new(AlgorithmId::TDES_3KEY, &[1; 24]).unwrap()
        );
        assert_eq!(
            ManagementKey::DEFAULT_3DES.expose_secret(),
            &[
                1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
            ]
        );
    }
}
