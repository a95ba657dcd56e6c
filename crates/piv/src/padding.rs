//! RSA signature padding for the card's raw RSA operation, built with the `rsa` crate
//! (RFC 8017 §9.2 EMSA-PKCS1-v1_5 and §9.1 EMSA-PSS). The card computes `EM^d mod n` on
//! the block these functions return (SP 800-73-4 Part 2 Appendix A.4: the host pads).
//!
//! PKCS#1 v1.5 takes its DigestInfo prefix from `rsa::Pkcs1v15Sign` and lays the block out
//! as RFC 8017 §9.2 step 5 says. PSS uses `rsa`'s own PSS signer, which does not expose its
//! encoder: the block is recovered as `s^e mod n` from a PSS signature `s` made with a fixed,
//! published *encoder key* (`padding-encoder-key.der`, 2048 bits, generated for this purpose;
//! its secrecy plays no role). An EMSA-PSS block for a 2048-bit modulus has its top bit clear
//! (emBits = modBits − 1), so it is below every 2048-bit modulus and the card's key turns it
//! into a signature that verifies with the card's public key.

use alloc::vec::Vec;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::{BoxedUint, Pkcs1v15Sign, Pss};

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

const ENCODER_KEY: &[u8] = include_bytes!("padding-encoder-key.der");

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

/// The EMSA-PSS block for `digest` (salt as long as the digest, MGF1 with the same hash)
/// for an RSA-2048 key (RFC 8017 §9.1.1), with the salt drawn from `rng`.
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for another key size; [`Error::InvalidLength`] for a
/// digest of the wrong length; [`Error::Crypto`] when `rsa` fails.
pub fn pss<R: rand_core::CryptoRng + ?Sized>(
    hash: Hash,
    digest: &[u8],
    algorithm: AlgorithmId,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    if algorithm != AlgorithmId::RSA_2048 {
        return Err(Error::UnsupportedAlgorithm {
            algorithm,
            operation: crate::Operation::GeneralAuthenticate,
        });
    }
    check_digest(hash, digest, algorithm)?;
    let key = rsa::PrivateKey::from_pkcs1_der(ENCODER_KEY)
        .map_err(|_| Error::Crypto("PSS encoder key does not parse"))?;
    let signed = match hash {
        Hash::Sha256 => key.sign_with_rng(rng, Pss::<sha2::Sha256>::new(), digest),
        Hash::Sha384 => key.sign_with_rng(rng, Pss::<sha2::Sha384>::new(), digest),
        Hash::Sha512 => key.sign_with_rng(rng, Pss::<sha2::Sha512>::new(), digest),
    }
    .map_err(|_| Error::Crypto("PSS encoding failed"))?;
    let s = BoxedUint::from_be_slice_vartime(&signed);
    let em = rsa::hazmat::rsa_encrypt(&key.to_public_key(), &s)
        .map_err(|_| Error::Crypto("PSS encoding failed"))?;
    let bytes = em.to_be_bytes_trimmed_vartime();
    let k = 256;
    let mut out = Vec::with_capacity(k);
    out.resize(k.saturating_sub(bytes.len()), 0);
    out.extend_from_slice(&bytes);
    if out.len() != k {
        return Err(Error::Crypto("PSS block longer than the modulus"));
    }
    Ok(out)
}
