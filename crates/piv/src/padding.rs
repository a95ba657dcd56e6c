//! RSA signature padding for the card's raw RSA operation (RFC 8017 §9.2 EMSA-PKCS1-v1_5
//! and §9.1 EMSA-PSS). The card computes `EM^d mod n` on the block these functions return
//! (SP 800-73-4 Part 2 Appendix A.4: the host pads).
//!
//! PKCS#1 v1.5 takes its DigestInfo prefix from `rsa::Pkcs1v15Sign` and lays the block out
//! as RFC 8017 §9.2 step 5 says. PSS is EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with MGF1
//! (§B.2.1) over the same SHA-2 hash, written here on `sha2`; no key is involved. With
//! emBits = modBits − 1 the block is below the modulus, so the card's key turns it into a
//! signature that verifies with the card's public key.

use alloc::vec::Vec;

use rsa::Pkcs1v15Sign;
use sha2::Digest;

use crate::{AlgorithmId, Error};

/// The digest a padded block carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Hash {
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-384 (48 bytes).
    Sha384,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl Hash {
    /// The digest length.
    pub const fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// Always false: a digest is never empty (for clippy's `len_without_is_empty`).
    pub const fn is_empty(self) -> bool {
        false
    }
}

fn check_digest(hash: Hash, digest: &[u8], algorithm: AlgorithmId) -> Result<(), Error> {
    if digest.len() == hash.len() {
        Ok(())
    } else {
        Err(Error::InvalidLength {
            algorithm,
            len: digest.len(),
        })
    }
}

/// The EMSA-PKCS1-v1_5 block `00 01 FF.. 00 DigestInfo` for `digest` and an RSA key of
/// `algorithm` (RFC 8017 §9.2).
///
/// ```
/// use cardwire_piv::{padding::{pkcs1v15, Hash}, AlgorithmId};
/// let em = pkcs1v15(Hash::Sha256, &[0xAA; 32], AlgorithmId::RSA_2048)?;
/// assert_eq!(em.len(), 256);
/// assert_eq!(&em[..3], &[0x00, 0x01, 0xFF]);
/// assert_eq!(&em[256 - 32 - 19..256 - 32], &[0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86,
///     0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for a non-RSA algorithm; [`Error::InvalidLength`] when
/// `digest` is not `hash.len()` bytes.
pub fn pkcs1v15(hash: Hash, digest: &[u8], algorithm: AlgorithmId) -> Result<Vec<u8>, Error> {
    let k = algorithm
        .rsa_modulus_len()
        .ok_or(Error::UnsupportedAlgorithm {
            algorithm,
            operation: crate::Operation::GeneralAuthenticate,
        })?;
    check_digest(hash, digest, algorithm)?;
    let scheme = match hash {
        Hash::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        Hash::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
        Hash::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
    };
    let t_len = scheme.prefix.len() + digest.len();
    // RFC 8017 §9.2 step 3: at least 8 bytes of FF.
    let ps = k
        .checked_sub(t_len + 3)
        .filter(|&ps| ps >= 8)
        .ok_or(Error::InvalidLength {
            algorithm,
            len: digest.len(),
        })?;
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + ps, 0xFF);
    em.push(0x00);
    em.extend_from_slice(&scheme.prefix);
    em.extend_from_slice(digest);
    Ok(em)
}

/// The EMSA-PSS block for `digest` and an RSA key of `algorithm` (RFC 8017 §9.1.1): salt as
/// long as the digest, drawn from `rng`, MGF1 with the same hash (§B.2.1), emBits =
/// modBits − 1 for the full-length modulus of `algorithm`. The block is one modulus long.
///
/// ```
/// use cardwire_piv::{padding::{pss, Hash}, AlgorithmId};
/// # struct Counter(u8);
/// # impl rand_core::TryRng for Counter {
/// #     type Error = core::convert::Infallible;
/// #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(0) }
/// #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(0) }
/// #     fn try_fill_bytes(&mut self, out: &mut [u8]) -> Result<(), Self::Error> {
/// #         for b in out { self.0 = self.0.wrapping_add(1); *b = self.0; } Ok(()) }
/// # }
/// # impl rand_core::TryCryptoRng for Counter {}
/// let em = pss(Hash::Sha256, &[0xAA; 32], AlgorithmId::RSA_2048, &mut Counter(0))?;
/// assert_eq!(em.len(), 256);
/// assert_eq!(em[0] & 0x80, 0); // emBits = modBits - 1
/// assert_eq!(em[255], 0xBC);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for a non-RSA algorithm; [`Error::InvalidLength`] for a
/// digest of the wrong length; [`Error::Crypto`] when `rng` fails (nothing is returned then).
pub fn pss<R: rand_core::TryCryptoRng + ?Sized>(
    hash: Hash,
    digest: &[u8],
    algorithm: AlgorithmId,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let k = algorithm
        .rsa_modulus_len()
        .ok_or(Error::UnsupportedAlgorithm {
            algorithm,
            operation: crate::Operation::GeneralAuthenticate,
        })?;
    check_digest(hash, digest, algorithm)?;
    let mut salt = [0u8; MAX_HASH_LEN];
    let salt = salt
        .get_mut(..hash.len())
        .ok_or(Error::Crypto("PSS salt longer than the largest hash"))?;
    rng.try_fill_bytes(salt)
        .map_err(|_| Error::Crypto("no randomness for the PSS salt"))?;
    pss_with_salt(hash, digest, k.saturating_mul(8), salt)
}

/// The largest digest [`Hash`] produces (SHA-512).
const MAX_HASH_LEN: usize = 64;

/// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of `digest` (mHash) with the given `salt`, MGF1 with
/// `hash` (§B.2.1) and emBits = `mod_bits` − 1, for a modulus of any bit length. Returns the
/// block as the `ceil(mod_bits / 8)` bytes the RSA operation takes (I2OSP, §4.1): when
/// `mod_bits − 1` is a multiple of 8 the encoded message is one byte shorter and a zero byte
/// leads it. [`pss`] is this with a random salt as long as the digest; a fixed salt is for
/// test vectors and deterministic callers.
///
/// # Errors
/// [`Error::Crypto`] when `digest` is not `hash.len()` bytes or the modulus is too short for
/// the digest and salt (§9.1.1 step 3, "encoding error").
pub fn pss_with_salt(
    hash: Hash,
    digest: &[u8],
    mod_bits: usize,
    salt: &[u8],
) -> Result<Vec<u8>, Error> {
    if digest.len() != hash.len() {
        return Err(Error::Crypto("PSS digest length does not match the hash"));
    }
    match hash {
        Hash::Sha256 => emsa_pss_encode::<sha2::Sha256>(digest, mod_bits, salt),
        Hash::Sha384 => emsa_pss_encode::<sha2::Sha384>(digest, mod_bits, salt),
        Hash::Sha512 => emsa_pss_encode::<sha2::Sha512>(digest, mod_bits, salt),
    }
}

/// RFC 8017 §9.1.1 steps 3-12 with hash `D`, placed in a buffer of `ceil(mod_bits / 8)`
/// bytes.
fn emsa_pss_encode<D: Digest>(
    m_hash: &[u8],
    mod_bits: usize,
    salt: &[u8],
) -> Result<Vec<u8>, Error> {
    let h_len = m_hash.len();
    let k = mod_bits.div_ceil(8);
    let em_bits = mod_bits
        .checked_sub(1)
        .ok_or(Error::Crypto("RSA modulus too short for PSS"))?;
    let em_len = em_bits.div_ceil(8);
    // Step 3: emLen >= hLen + sLen + 2.
    let db_len = em_len
        .checked_sub(h_len + salt.len() + 2)
        .map(|ps_len| ps_len + salt.len() + 1)
        .ok_or(Error::Crypto(
            "RSA modulus too short for this PSS hash and salt",
        ))?;
    // Steps 5-6: H = Hash(00 x 8 || mHash || salt).
    let h = D::new()
        .chain_update([0u8; 8])
        .chain_update(m_hash)
        .chain_update(salt)
        .finalize();
    // I2OSP to k bytes: a leading zero when emLen = k - 1.
    let mut out = Vec::with_capacity(k);
    out.resize(k - em_len, 0);
    // Steps 7-8: DB = PS || 01 || salt.
    let db_start = out.len();
    out.resize(db_start + db_len - salt.len() - 1, 0);
    out.push(0x01);
    out.extend_from_slice(salt);
    // Steps 9-10: maskedDB = DB xor MGF1(H, emLen - hLen - 1).
    let db = out
        .get_mut(db_start..)
        .ok_or(Error::Crypto("PSS block layout"))?;
    mgf1_xor::<D>(&h, db);
    // Step 11: clear the leftmost 8 * emLen - emBits bits.
    if let Some(first) = db.first_mut() {
        *first &= 0xFF >> (8 * em_len - em_bits);
    }
    // Step 12: EM = maskedDB || H || BC.
    out.extend_from_slice(&h);
    out.push(0xBC);
    Ok(out)
}

/// XORs `out` with MGF1(`seed`, `out.len()`) over hash `D` (RFC 8017 §B.2.1): the
/// concatenation of Hash(seed || C) for the 32-bit big-endian counter C = 0, 1, ...
fn mgf1_xor<D: Digest>(seed: &[u8], out: &mut [u8]) {
    let mut counter: u32 = 0;
    for chunk in out.chunks_mut(<D as Digest>::output_size()) {
        let t = D::new()
            .chain_update(seed)
            .chain_update(counter.to_be_bytes())
            .finalize();
        for (o, m) in chunk.iter_mut().zip(t.iter()) {
            *o ^= m;
        }
        counter = counter.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    use rsa::{BoxedUint, PrivateKey, Pss, PublicKey};
    use sha2::{Sha256, Sha384, Sha512};

    /// Test keys generated once with `openssl genrsa` (no key generation in tests).
    const KEY_1025: &[u8] = include_bytes!("../tests/data/test-rsa1025.der");
    const KEY_2048: &[u8] = include_bytes!("../tests/data/card-rsa2048.der");
    const KEY_3072: &[u8] = include_bytes!("../tests/data/test-rsa3072.der");

    struct Counter(u8);
    impl rand_core::TryRng for Counter {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, out: &mut [u8]) -> Result<(), Self::Error> {
            for b in out {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Counter {}

    /// A generator that always fails, like a hardware TRNG that is not ready.
    struct Broken;
    #[derive(Debug)]
    struct NotReady;
    impl core::fmt::Display for NotReady {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("not ready")
        }
    }
    impl core::error::Error for NotReady {}
    impl rand_core::TryRng for Broken {
        type Error = NotReady;
        fn try_next_u32(&mut self) -> Result<u32, NotReady> {
            Err(NotReady)
        }
        fn try_next_u64(&mut self) -> Result<u64, NotReady> {
            Err(NotReady)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), NotReady> {
            Err(NotReady)
        }
    }
    impl rand_core::TryCryptoRng for Broken {}

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The card's raw RSA operation: `EM^d mod n`, as `k` bytes.
    fn raw_sign(key: &PrivateKey, em: &[u8]) -> Vec<u8> {
        let k = key.size();
        assert_eq!(em.len(), k);
        let m = BoxedUint::from_be_slice_vartime(em);
        let s = rsa::hazmat::rsa_decrypt_and_check(key, None::<&mut Counter>, &m).unwrap();
        let b = s.to_be_bytes_trimmed_vartime();
        let mut sig = alloc::vec![0u8; k - b.len()];
        sig.extend_from_slice(&b);
        sig
    }

    fn verify(key: &PrivateKey, hash: Hash, digest: &[u8], em: &[u8]) {
        let public = key.to_public_key();
        let sig = raw_sign(key, em);
        match hash {
            Hash::Sha256 => public.verify(Pss::<Sha256>::new(), digest, &sig),
            Hash::Sha384 => public.verify(Pss::<Sha384>::new(), digest, &sig),
            Hash::Sha512 => public.verify(Pss::<Sha512>::new(), digest, &sig),
        }
        .unwrap();
    }

    fn digest_of(hash: Hash, message: &[u8]) -> Vec<u8> {
        match hash {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
            Hash::Sha512 => Sha512::digest(message).to_vec(),
        }
    }

    #[test]
    fn pss_blocks_verify_with_rsa_crate_for_2048_and_3072() {
        for (der, algorithm) in [
            (KEY_2048, AlgorithmId::RSA_2048),
            (KEY_3072, AlgorithmId::RSA_3072),
        ] {
            let key = PrivateKey::from_pkcs1_der(der).unwrap();
            assert_eq!(Some(key.size()), algorithm.rsa_modulus_len());
            for hash in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
                let digest = digest_of(hash, b"cardwire PSS");
                let em = pss(hash, &digest, algorithm, &mut Counter(7)).unwrap();
                assert_eq!(em.len(), key.size());
                assert_eq!(em[0] & 0x80, 0, "emBits = modBits - 1");
                assert_eq!(em.last(), Some(&0xBC));
                verify(&key, hash, &digest, &em);
            }
        }
    }

    #[test]
    fn pss_block_for_a_modulus_of_8k_plus_1_bits_leads_with_zero() {
        // modBits = 1025: emBits = 1024, emLen = 128 = k - 1, so I2OSP adds one zero byte.
        let key = PrivateKey::from_pkcs1_der(KEY_1025).unwrap();
        assert_eq!(key.n().bit_width(), 1025);
        for hash in [Hash::Sha256, Hash::Sha384] {
            let digest = digest_of(hash, b"odd modulus");
            let em = pss_with_salt(hash, &digest, 1025, &[0x5A; 48][..hash.len()]).unwrap();
            assert_eq!(em.len(), 129);
            assert_eq!(em[0], 0);
            verify(&key, hash, &digest, &em);
        }
    }

    /// NIST CAVP "SigGen PKCS#1 RSASSA-PSS" (FIPS 186-3), file `SigGenPSS_186-3.rsp`
    /// (CAVS 10.1, salt length 0), `[mod = 1024]`, first SHA256 and SHA384 entries (as kept
    /// in pyca/cryptography's vectors, `asymmetric/RSA/FIPS_186-2/`): `S^e mod n` is the
    /// encoded message, which must equal ours for the same (empty) salt.
    #[test]
    fn nist_cavp_siggenpss_186_3_salt_len_0() {
        let n = hex(
            "c87155f3d9f3771f6ab89ef30cd36230463902ff0633aa869b6dbd7592c83f4b2f882739ff499f14\
             99fb0db4586c7f7b2dfd5a37dbe0df37dea9d0d5814a4047b647c1d8eb356ebae6a198899f97c25f\
             9182fab2b6be88384a1b8cb16a82a05aaadf610ce2e045b41b8880a13b7133ea07296126471c9a45\
             0ae48bc880102c8b",
        );
        let msg = hex(
            "19828d058058243557e29ec3f95b566fb4292c6e7dc0d56ae1c475cb3f6d6f3535307b51589cfad1\
             288287ae4358cfb4d8dfa2415f044a4a87041b9e70d44b6f1bc0040e1f52b8f69d75b50c75daf925\
             ba9b47c9641f7a37453d1aa83fa42dd8b37a4fc33c4305ac9e054f64f9a97cc943a5428df4d80e39\
             03b5997112a4bc79",
        );
        let public = PublicKey::new(
            BoxedUint::from_be_slice_vartime(&n),
            BoxedUint::from(0x1001u32),
        )
        .unwrap();
        for (hash, s) in [
            (
                Hash::Sha256,
                "A3263F4C84AB6EF687A3853E5D91D296B125428F80F3C4DCEFCF4FB7F1C41CEBF9AA3CFD0CF2B6\
                 17EC2DF8AB3379FFCC7FDF72EC659940E0DCDFA453BEF7E9172941B5C8AAF87E58DE3316F10385\
                 6D922AE5929B3B6CF2A7BBF95C49DDBD8C15B4AC73370D0A28B20514637ABFF56157E15DF57C58\
                 60EDEBED44D4917F2D1F8B",
            ),
            (
                Hash::Sha384,
                "9A78C0CF4D980E26CE240884073F5058101F022F674628F68BCBF888E7B56EA360906AE8D4BAE4\
                 EEA9C29C05AFD0490953AD8C67F674AD1470E4EB8B3041632A6D5F0FD4767B9146F63A52F20FCE\
                 3F7A8773A159DCEF67E08B57B6638AB22AA035CDB30E17C69D88AB921D980043E6F58731737FEF\
                 3EF949E499410786AC8D15",
            ),
        ] {
            let s = BoxedUint::from_be_slice_vartime(&hex(s));
            let em = rsa::hazmat::rsa_encrypt(&public, &s).unwrap();
            let em = em.to_be_bytes_trimmed_vartime();
            let ours = pss_with_salt(hash, &digest_of(hash, &msg), 1024, &[]).unwrap();
            assert_eq!(ours.len(), 128);
            assert_eq!(&ours[128 - em.len()..], &em[..]);
            assert!(ours[..128 - em.len()].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn pss_salt_comes_from_the_generator_and_changes_the_block() {
        let digest = [0x42; 32];
        let a = pss(
            Hash::Sha256,
            &digest,
            AlgorithmId::RSA_2048,
            &mut Counter(0),
        )
        .unwrap();
        let b = pss(
            Hash::Sha256,
            &digest,
            AlgorithmId::RSA_2048,
            &mut Counter(100),
        )
        .unwrap();
        assert_ne!(a, b);
        let salt: Vec<u8> = (1..=32).collect();
        assert_eq!(
            a,
            pss_with_salt(Hash::Sha256, &digest, 2048, &salt).unwrap()
        );
    }

    #[test]
    fn pss_refuses_failed_randomness_and_bad_inputs() {
        let digest = [0x42; 32];
        assert_eq!(
            pss(Hash::Sha256, &digest, AlgorithmId::RSA_2048, &mut Broken),
            Err(Error::Crypto("no randomness for the PSS salt"))
        );
        assert!(matches!(
            pss(
                Hash::Sha256,
                &digest,
                AlgorithmId::ECC_P256,
                &mut Counter(0)
            ),
            Err(Error::UnsupportedAlgorithm { .. })
        ));
        assert!(matches!(
            pss(
                Hash::Sha384,
                &digest,
                AlgorithmId::RSA_2048,
                &mut Counter(0)
            ),
            Err(Error::InvalidLength { len: 32, .. })
        ));
        // emLen = 65 < hLen + sLen + 2 = 66 (§9.1.1 step 3).
        assert!(matches!(
            pss_with_salt(Hash::Sha256, &digest, 521, &[0; 32]),
            Err(Error::Crypto(_))
        ));
        assert!(pss_with_salt(Hash::Sha256, &digest, 529, &[0; 32]).is_ok());
        assert!(matches!(
            pss_with_salt(Hash::Sha256, &digest, 0, &[]),
            Err(Error::Crypto(_))
        ));
        assert!(matches!(
            pss_with_salt(Hash::Sha512, &digest, 2048, &[]),
            Err(Error::Crypto(_))
        ));
    }
}
