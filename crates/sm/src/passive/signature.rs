//! The signature schemes of eMRTD PKI objects (ICAO Doc 9303-12 §4.4.4 and Appendix A):
//! ECDSA on P-256, P-384, brainpoolP256r1 and brainpoolP384r1, named or with explicit
//! parameters (RFC 5758 / BSI TR-03111 plain signatures),
//! RSA PKCS#1 v1.5 and RSASSA-PSS (RFC 8017 §8), over SHA-1/224/256/384/512.

use alloc::vec::Vec;

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use rsa::pkcs1::RsaPssParams;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::PassiveError;
use crate::chip_auth::explicit_curve;
use crate::pace::PaceCurve;

/// A digest algorithm of eMRTD PKI objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// SHA-1 (1.3.14.3.2.26), still in older documents.
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

/// OIDs of the algorithms read here.
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier as Oid;
    pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
    pub const SHA224: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.4");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    pub const BRAINPOOL_P256R1: Oid = Oid::new_unwrap("1.3.36.3.3.2.8.1.1.7");
    pub const BRAINPOOL_P384R1: Oid = Oid::new_unwrap("1.3.36.3.3.2.8.1.1.11");
    pub const ECDSA_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");
    pub const ECDSA_SHA224: Oid = Oid::new_unwrap("1.2.840.10045.4.3.1");
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    /// BSI TR-03111 §5.2.1 ecdsa-plain-signatures: 0.4.0.127.0.7.1.1.4.1.{1..5}.
    pub const ECDSA_PLAIN_SHA1: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.1");
    pub const ECDSA_PLAIN_SHA224: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.2");
    pub const ECDSA_PLAIN_SHA256: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
    pub const ECDSA_PLAIN_SHA384: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.4");
    pub const ECDSA_PLAIN_SHA512: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.5");
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub const RSA_SHA1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
    pub const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    pub const RSA_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub const RSA_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    pub const RSA_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    pub const RSA_SHA224: Oid = Oid::new_unwrap("1.2.840.113549.1.1.14");
    pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
}

impl DigestAlg {
    /// The digest named by `oid` (RFC 5754 §2), if it is one of the five.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Some(match *oid {
            oid::SHA1 => DigestAlg::Sha1,
            oid::SHA224 => DigestAlg::Sha224,
            oid::SHA256 => DigestAlg::Sha256,
            oid::SHA384 => DigestAlg::Sha384,
            oid::SHA512 => DigestAlg::Sha512,
            _ => return None,
        })
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Sha1 => Sha1::digest(data).to_vec(),
            DigestAlg::Sha224 => Sha224::digest(data).to_vec(),
            DigestAlg::Sha256 => Sha256::digest(data).to_vec(),
            DigestAlg::Sha384 => Sha384::digest(data).to_vec(),
            DigestAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn output_len(self) -> usize {
        match self {
            DigestAlg::Sha1 => 20,
            DigestAlg::Sha224 => 28,
            DigestAlg::Sha256 => 32,
            DigestAlg::Sha384 => 48,
            DigestAlg::Sha512 => 64,
        }
    }
}

/// The digest of an AlgorithmIdentifier, or [`PassiveError::UnsupportedAlgorithm`].
pub(crate) fn digest_of(alg: &AlgorithmIdentifierOwned) -> Result<DigestAlg, PassiveError> {
    DigestAlg::from_oid(&alg.oid).ok_or(PassiveError::UnsupportedAlgorithm)
}

#[derive(Clone, Copy)]
enum Scheme {
    EcdsaDer(DigestAlg),
    EcdsaPlain(DigestAlg),
    Pkcs1v15(DigestAlg),
    Pss { hash: DigestAlg, salt: usize },
}

fn scheme(
    alg: &AlgorithmIdentifierOwned,
    key_digest: Option<DigestAlg>,
) -> Result<Scheme, PassiveError> {
    use DigestAlg::*;
    Ok(match alg.oid {
        // A bare key algorithm as signatureAlgorithm (seen in SignerInfos, RFC 5652 §5.3 lets
        // it be): the digest is the signer info's digestAlgorithm.
        oid::RSA_ENCRYPTION => {
            Scheme::Pkcs1v15(key_digest.ok_or(PassiveError::UnsupportedAlgorithm)?)
        }
        oid::EC_PUBLIC_KEY => {
            Scheme::EcdsaDer(key_digest.ok_or(PassiveError::UnsupportedAlgorithm)?)
        }
        oid::ECDSA_SHA1 => Scheme::EcdsaDer(Sha1),
        oid::ECDSA_SHA224 => Scheme::EcdsaDer(Sha224),
        oid::ECDSA_SHA256 => Scheme::EcdsaDer(Sha256),
        oid::ECDSA_SHA384 => Scheme::EcdsaDer(Sha384),
        oid::ECDSA_SHA512 => Scheme::EcdsaDer(Sha512),
        oid::ECDSA_PLAIN_SHA1 => Scheme::EcdsaPlain(Sha1),
        oid::ECDSA_PLAIN_SHA224 => Scheme::EcdsaPlain(Sha224),
        oid::ECDSA_PLAIN_SHA256 => Scheme::EcdsaPlain(Sha256),
        oid::ECDSA_PLAIN_SHA384 => Scheme::EcdsaPlain(Sha384),
        oid::ECDSA_PLAIN_SHA512 => Scheme::EcdsaPlain(Sha512),
        oid::RSA_SHA1 => Scheme::Pkcs1v15(Sha1),
        oid::RSA_SHA224 => Scheme::Pkcs1v15(Sha224),
        oid::RSA_SHA256 => Scheme::Pkcs1v15(Sha256),
        oid::RSA_SHA384 => Scheme::Pkcs1v15(Sha384),
        oid::RSA_SHA512 => Scheme::Pkcs1v15(Sha512),
        oid::RSA_PSS => pss(alg)?,
        _ => return Err(PassiveError::UnsupportedAlgorithm),
    })
}

/// RSASSA-PSS-params (RFC 8017 Appendix A.2.3): the hash, MGF1 with the same hash (the only
/// combination RustCrypto's `rsa` verifies), the salt length, trailer field 1.
fn pss(alg: &AlgorithmIdentifierOwned) -> Result<Scheme, PassiveError> {
    let params = alg
        .parameters
        .as_ref()
        .ok_or(PassiveError::UnsupportedAlgorithm)?
        .to_der()
        .map_err(PassiveError::from)?;
    let p = RsaPssParams::<der::Any>::from_der(&params).map_err(PassiveError::from)?;
    pss_scheme(&p)
}

fn pss_scheme(p: &RsaPssParams<der::Any>) -> Result<Scheme, PassiveError> {
    let hash = DigestAlg::from_oid(&p.hash.oid).ok_or(PassiveError::UnsupportedAlgorithm)?;
    let mgf_hash = p
        .mask_gen
        .parameters
        .as_ref()
        .and_then(|h| DigestAlg::from_oid(&h.oid));
    if p.mask_gen.oid != oid::MGF1 || mgf_hash != Some(hash) {
        return Err(PassiveError::UnsupportedAlgorithm);
    }
    Ok(Scheme::Pss {
        hash,
        salt: usize::from(p.salt_len),
    })
}

/// Verifies `signature` over `message` under the public key `spki` with the signature
/// algorithm `alg`; `key_digest` is the digest to use when `alg` names only the key type
/// (`rsaEncryption`, `id-ecPublicKey`).
///
/// # Errors
/// [`PassiveError::UnsupportedAlgorithm`] for an algorithm or curve not listed in the module
/// docs (including explicit domain parameters of another curve); [`PassiveError::BadPublicKey`];
/// `invalid` (the caller's error for a signature that does not verify).
pub(crate) fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    key_digest: Option<DigestAlg>,
    message: &[u8],
    signature: &[u8],
    invalid: PassiveError,
) -> Result<(), PassiveError> {
    let key = spki.subject_public_key.raw_bytes();
    match scheme(alg, key_digest)? {
        Scheme::EcdsaDer(d) => verify_ec(spki, key, d, message, signature, false, invalid),
        Scheme::EcdsaPlain(d) => verify_ec(spki, key, d, message, signature, true, invalid),
        Scheme::Pkcs1v15(d) => {
            let pk = rsa_key(spki)?;
            let hashed = d.digest(message);
            let scheme = match d {
                DigestAlg::Sha1 => rsa::Pkcs1v15Sign::new::<Sha1>(),
                DigestAlg::Sha224 => rsa::Pkcs1v15Sign::new::<Sha224>(),
                DigestAlg::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                DigestAlg::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                DigestAlg::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            pk.verify(scheme, &hashed, signature).map_err(|_| invalid)
        }
        Scheme::Pss { hash, salt } => {
            let pk = rsa_key(spki)?;
            let hashed = hash.digest(message);
            let r = match hash {
                DigestAlg::Sha1 => {
                    pk.verify(rsa::Pss::<Sha1>::new_with_salt(salt), &hashed, signature)
                }
                DigestAlg::Sha224 => {
                    pk.verify(rsa::Pss::<Sha224>::new_with_salt(salt), &hashed, signature)
                }
                DigestAlg::Sha256 => {
                    pk.verify(rsa::Pss::<Sha256>::new_with_salt(salt), &hashed, signature)
                }
                DigestAlg::Sha384 => {
                    pk.verify(rsa::Pss::<Sha384>::new_with_salt(salt), &hashed, signature)
                }
                DigestAlg::Sha512 => {
                    pk.verify(rsa::Pss::<Sha512>::new_with_salt(salt), &hashed, signature)
                }
            };
            r.map_err(|_| invalid)
        }
    }
}

fn rsa_key(spki: &SubjectPublicKeyInfoOwned) -> Result<rsa::PublicKey, PassiveError> {
    if spki.algorithm.oid != oid::RSA_ENCRYPTION {
        return Err(PassiveError::BadPublicKey);
    }
    use rsa::pkcs1::DecodeRsaPublicKey;
    rsa::PublicKey::from_pkcs1_der(spki.subject_public_key.raw_bytes())
        .map_err(|_| PassiveError::BadPublicKey)
}

fn verify_ec(
    spki: &SubjectPublicKeyInfoOwned,
    key: &[u8],
    d: DigestAlg,
    message: &[u8],
    signature: &[u8],
    plain: bool,
    invalid: PassiveError,
) -> Result<(), PassiveError> {
    use ecdsa::signature::hazmat::PrehashVerifier;
    if spki.algorithm.oid != oid::EC_PUBLIC_KEY {
        return Err(PassiveError::BadPublicKey);
    }
    // A named curve (RFC 5480 §2.1.1), or explicit parameters (RFC 3279 §2.3.5, as German
    // document signers use) recognised by their prime (the same rule as chip keys). The key
    // must decode as a point of the standard curve, and the signature is checked on it.
    let params = spki
        .algorithm
        .parameters
        .as_ref()
        .ok_or(PassiveError::UnsupportedAlgorithm)?;
    let curve = if let Ok(named) = params.decode_as::<ObjectIdentifier>() {
        match named {
            oid::P256 => PaceCurve::NistP256,
            oid::P384 => PaceCurve::NistP384,
            oid::BRAINPOOL_P256R1 => PaceCurve::BrainpoolP256r1,
            oid::BRAINPOOL_P384R1 => PaceCurve::BrainpoolP384r1,
            _ => return Err(PassiveError::UnsupportedAlgorithm),
        }
    } else if der::Tagged::tag(params) == der::Tag::Sequence {
        explicit_curve(params.value()).ok_or(PassiveError::UnsupportedAlgorithm)?
    } else {
        return Err(PassiveError::UnsupportedAlgorithm);
    };
    let prehash = d.digest(message);
    debug_assert_eq!(prehash.len(), d.output_len());
    macro_rules! ec {
        ($curve:ty) => {{
            let vk = ecdsa::VerifyingKey::<$curve>::from_sec1_bytes(key)
                .map_err(|_| PassiveError::BadPublicKey)?;
            let sig = if plain {
                ecdsa::Signature::<$curve>::from_slice(signature)
            } else {
                ecdsa::Signature::<$curve>::from_der(signature)
            }
            .map_err(|_| invalid)?;
            vk.verify_prehash(&prehash, &sig).map_err(|_| invalid)
        }};
    }
    match curve {
        PaceCurve::NistP256 => ec!(p256::NistP256),
        PaceCurve::NistP384 => ec!(p384::NistP384),
        PaceCurve::BrainpoolP256r1 => ec!(bp256::BrainpoolP256r1),
        PaceCurve::BrainpoolP384r1 => ec!(bp384::BrainpoolP384r1),
        _ => Err(PassiveError::UnsupportedAlgorithm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::{Any, BitString};
    use ecdsa::signature::hazmat::PrehashSigner;
    use std::vec;

    fn alg(oid: ObjectIdentifier, params: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: params,
        }
    }

    fn ec_spki(curve: ObjectIdentifier, point: &[u8]) -> SubjectPublicKeyInfoOwned {
        SubjectPublicKeyInfoOwned {
            algorithm: alg(oid::EC_PUBLIC_KEY, Some(Any::encode_from(&curve).unwrap())),
            subject_public_key: BitString::from_bytes(point).unwrap(),
        }
    }

    const MSG: &[u8] = b"signed attributes";
    const BAD: PassiveError = PassiveError::SignatureInvalid;

    #[test]
    fn ecdsa_p256_der_and_plain() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap();
        let point = sk.verifying_key().to_sec1_point(false);
        let spki = ec_spki(oid::P256, point.as_bytes());
        let prehash = DigestAlg::Sha384.digest(MSG);
        let sig: p256::ecdsa::Signature = sk.sign_prehash(&prehash).unwrap();
        let der = sig.to_der();
        let der_alg = alg(oid::ECDSA_SHA384, None);
        assert_eq!(
            verify(&spki, &der_alg, None, MSG, der.as_bytes(), BAD),
            Ok(())
        );
        let plain_alg = alg(oid::ECDSA_PLAIN_SHA384, None);
        assert_eq!(
            verify(&spki, &plain_alg, None, MSG, &sig.to_bytes(), BAD),
            Ok(())
        );
        // The key-type-only form takes the signer info's digest.
        let key_alg = alg(oid::EC_PUBLIC_KEY, None);
        assert_eq!(
            verify(
                &spki,
                &key_alg,
                Some(DigestAlg::Sha384),
                MSG,
                der.as_bytes(),
                BAD
            ),
            Ok(())
        );
        assert_eq!(
            verify(&spki, &key_alg, None, MSG, der.as_bytes(), BAD),
            Err(PassiveError::UnsupportedAlgorithm)
        );
        // Another message, another digest, a plain signature given as DER: refused.
        assert_eq!(
            verify(&spki, &der_alg, None, b"other", der.as_bytes(), BAD),
            Err(BAD)
        );
        let sha256 = alg(oid::ECDSA_SHA256, None);
        assert_eq!(
            verify(&spki, &sha256, None, MSG, der.as_bytes(), BAD),
            Err(BAD)
        );
        assert_eq!(
            verify(&spki, &der_alg, None, MSG, &sig.to_bytes(), BAD),
            Err(BAD)
        );
        // The caller's error is the one returned.
        let other = PassiveError::CertificateSignatureInvalid;
        assert_eq!(
            verify(&spki, &der_alg, None, b"x", der.as_bytes(), other),
            Err(other)
        );
    }

    #[test]
    fn keys_and_algorithms_refused() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap();
        let point = sk.verifying_key().to_sec1_point(false);
        let a = alg(oid::ECDSA_SHA256, None);
        // A curve not supported (secp521r1), a point off the curve, an RSA key for ECDSA.
        let p521 = ObjectIdentifier::new_unwrap("1.3.132.0.35");
        assert_eq!(
            verify(&ec_spki(p521, point.as_bytes()), &a, None, MSG, &[], BAD),
            Err(PassiveError::UnsupportedAlgorithm)
        );
        let mut off = point.as_bytes().to_vec();
        off[40] ^= 1;
        assert_eq!(
            verify(&ec_spki(oid::P256, &off), &a, None, MSG, &[], BAD),
            Err(PassiveError::BadPublicKey)
        );
        let rsa_spki = SubjectPublicKeyInfoOwned {
            algorithm: alg(oid::RSA_ENCRYPTION, None),
            subject_public_key: BitString::from_bytes(&[0x30, 0x00]).unwrap(),
        };
        assert_eq!(
            verify(&rsa_spki, &a, None, MSG, &[], BAD),
            Err(PassiveError::BadPublicKey)
        );
        let rsa_alg = alg(oid::RSA_SHA256, None);
        assert_eq!(
            verify(&rsa_spki, &rsa_alg, None, MSG, &[], BAD),
            Err(PassiveError::BadPublicKey)
        );
        // MD5 with RSA, and PSS without or with mismatched parameters.
        let md5 = alg(ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.4"), None);
        assert_eq!(
            verify(&rsa_spki, &md5, None, MSG, &[], BAD),
            Err(PassiveError::UnsupportedAlgorithm)
        );
        assert_eq!(
            verify(&rsa_spki, &alg(oid::RSA_PSS, None), None, MSG, &[], BAD),
            Err(PassiveError::UnsupportedAlgorithm)
        );
        // RSASSA-PSS-params with SHA-256 but MGF1-SHA-1 (the default).
        let params = vec![
            0x30, 0x0F, 0xA0, 0x0D, 0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
            0x04, 0x02, 0x01,
        ];
        let pss = alg(oid::RSA_PSS, Some(Any::from_der(&params).unwrap()));
        assert_eq!(
            verify(&rsa_spki, &pss, None, MSG, &[], BAD),
            Err(PassiveError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn digests() {
        assert_eq!(DigestAlg::from_oid(&oid::SHA1), Some(DigestAlg::Sha1));
        assert_eq!(DigestAlg::from_oid(&oid::SHA224), Some(DigestAlg::Sha224));
        assert_eq!(DigestAlg::from_oid(&oid::RSA_SHA256), None);
        for (d, n) in [
            (DigestAlg::Sha1, 20),
            (DigestAlg::Sha224, 28),
            (DigestAlg::Sha256, 32),
            (DigestAlg::Sha384, 48),
            (DigestAlg::Sha512, 64),
        ] {
            assert_eq!(d.digest(b"abc").len(), n);
            assert_eq!(d.output_len(), n);
        }
        // FIPS 180-4 example "abc" with SHA-256 (first bytes).
        assert_eq!(
            DigestAlg::Sha256.digest(b"abc")[..4],
            [0xBA, 0x78, 0x16, 0xBF]
        );
    }
}
