//! The mechanisms of a PIV token and what the host does around the card's raw operation
//! (PKCS#11 v2.40 Current Mechanisms §2.1 RSA, §2.3 ECC): hashing, padding, and turning the
//! card's DER ECDSA signature into PKCS#11's `r || s`.

use cardwire_piv::padding::Hash;
use cryptoki_sys as ck;
use sha2::Digest;

use crate::error::{Result, Rv};
use crate::object::{CardKey, PublicKey, der_tlv, strip_zeros};

/// A mechanism's parameter, read from `CK_MECHANISM.pParameter` by the C ABI layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Param {
    /// No parameter.
    #[default]
    None,
    /// `CK_RSA_PKCS_PSS_PARAMS`.
    Pss {
        /// `hashAlg`.
        hash: ck::CK_MECHANISM_TYPE,
        /// `mgf`.
        mgf: ck::CK_RSA_PKCS_MGF_TYPE,
        /// `sLen`.
        salt_len: ck::CK_ULONG,
    },
    /// `CK_ECDH1_DERIVE_PARAMS`.
    Ecdh {
        /// `kdf`.
        kdf: ck::CK_EC_KDF_TYPE,
        /// `pSharedData`.
        shared_data: Vec<u8>,
        /// `pPublicData`: the other party's point (raw or as a DER OCTET STRING).
        public_data: Vec<u8>,
    },
    /// A parameter this module does not read (its length).
    Other(usize),
}

/// A mechanism with its parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mechanism {
    /// `mechanism`.
    pub kind: ck::CK_MECHANISM_TYPE,
    /// The parameter.
    pub param: Param,
}

/// Flags, key sizes (bits) of one supported mechanism (`C_GetMechanismInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// The mechanism.
    pub kind: ck::CK_MECHANISM_TYPE,
    /// `ulMinKeySize`.
    pub min: ck::CK_ULONG,
    /// `ulMaxKeySize`.
    pub max: ck::CK_ULONG,
    /// `flags`.
    pub flags: ck::CK_FLAGS,
}

const EC_FLAGS: ck::CK_FLAGS =
    ck::CKF_HW | ck::CKF_SIGN | ck::CKF_EC_F_P | ck::CKF_EC_NAMEDCURVE | ck::CKF_EC_UNCOMPRESS;

/// Every mechanism the module offers (the same for every token).
pub const MECHANISMS: &[Info] = &[
    Info {
        kind: ck::CKM_ECDSA,
        min: 256,
        max: 384,
        flags: EC_FLAGS,
    },
    Info {
        kind: ck::CKM_ECDSA_SHA256,
        min: 256,
        max: 384,
        flags: EC_FLAGS,
    },
    Info {
        kind: ck::CKM_ECDSA_SHA384,
        min: 256,
        max: 384,
        flags: EC_FLAGS,
    },
    Info {
        kind: ck::CKM_ECDSA_SHA512,
        min: 256,
        max: 384,
        flags: EC_FLAGS,
    },
    Info {
        kind: ck::CKM_ECDH1_DERIVE,
        min: 256,
        max: 384,
        flags: ck::CKF_HW
            | ck::CKF_DERIVE
            | ck::CKF_EC_F_P
            | ck::CKF_EC_NAMEDCURVE
            | ck::CKF_EC_UNCOMPRESS,
    },
    Info {
        kind: ck::CKM_RSA_PKCS,
        min: 1024,
        max: 3072,
        flags: ck::CKF_HW | ck::CKF_SIGN | ck::CKF_DECRYPT,
    },
    Info {
        kind: ck::CKM_RSA_X_509,
        min: 1024,
        max: 3072,
        flags: ck::CKF_HW | ck::CKF_SIGN | ck::CKF_DECRYPT,
    },
    Info {
        kind: ck::CKM_SHA256_RSA_PKCS,
        min: 1024,
        max: 3072,
        flags: ck::CKF_HW | ck::CKF_SIGN,
    },
    Info {
        kind: ck::CKM_SHA384_RSA_PKCS,
        min: 1024,
        max: 3072,
        flags: ck::CKF_HW | ck::CKF_SIGN,
    },
    Info {
        kind: ck::CKM_SHA512_RSA_PKCS,
        min: 1024,
        max: 3072,
        flags: ck::CKF_HW | ck::CKF_SIGN,
    },
    Info {
        kind: ck::CKM_RSA_PKCS_PSS,
        min: 1024,
        max: 3072,
        flags: ck::CKF_HW | ck::CKF_SIGN,
    },
    Info {
        kind: ck::CKM_SHA256_RSA_PKCS_PSS,
        min: 1024,
        max: 3072,
        flags: ck::CKF_HW | ck::CKF_SIGN,
    },
    Info {
        kind: ck::CKM_SHA384_RSA_PKCS_PSS,
        min: 1024,
        max: 3072,
        flags: ck::CKF_HW | ck::CKF_SIGN,
    },
];

/// The mechanism's info.
pub fn info(kind: ck::CK_MECHANISM_TYPE) -> Option<Info> {
    MECHANISMS.iter().copied().find(|i| i.kind == kind)
}

/// `CKA_ALLOWED_MECHANISMS` of a key.
pub fn for_key(key: &CardKey) -> Vec<ck::CK_MECHANISM_TYPE> {
    let rsa = matches!(key.public, PublicKey::Rsa { .. });
    MECHANISMS
        .iter()
        .filter(|i| (i.flags & ck::CKF_EC_F_P != 0) != rsa)
        .map(|i| i.kind)
        .collect()
}

fn hash_of(kind: ck::CK_MECHANISM_TYPE) -> Option<Hash> {
    match kind {
        ck::CKM_SHA256 => Some(Hash::Sha256),
        ck::CKM_SHA384 => Some(Hash::Sha384),
        ck::CKM_SHA512 => Some(Hash::Sha512),
        _ => None,
    }
}

fn mgf_of(hash: Hash) -> ck::CK_RSA_PKCS_MGF_TYPE {
    match hash {
        Hash::Sha256 => ck::CKG_MGF1_SHA256,
        Hash::Sha384 => ck::CKG_MGF1_SHA384,
        _ => ck::CKG_MGF1_SHA512,
    }
}

/// How the data of a signature is taken in (single- and multi-part alike).
#[derive(Clone, Debug)]
enum Input {
    Raw(Vec<u8>),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Input {
    fn new(hash: Option<Hash>) -> Self {
        match hash {
            None => Input::Raw(Vec::new()),
            Some(Hash::Sha256) => Input::Sha256(sha2::Sha256::new()),
            Some(Hash::Sha384) => Input::Sha384(sha2::Sha384::new()),
            Some(_) => Input::Sha512(sha2::Sha512::new()),
        }
    }

    fn update(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Input::Raw(v) => {
                // No raw input is longer than a 3072-bit block; refuse to buffer more.
                if v.len() + data.len() > 4096 {
                    return Err(Rv::DATA_LEN_RANGE);
                }
                v.extend_from_slice(data)
            }
            Input::Sha256(h) => h.update(data),
            Input::Sha384(h) => h.update(data),
            Input::Sha512(h) => h.update(data),
        }
        Ok(())
    }

    fn finish(&self) -> Vec<u8> {
        match self {
            Input::Raw(v) => v.clone(),
            Input::Sha256(h) => h.clone().finalize().to_vec(),
            Input::Sha384(h) => h.clone().finalize().to_vec(),
            Input::Sha512(h) => h.clone().finalize().to_vec(),
        }
    }
}

/// What is done with the data once it is all in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Ecdsa,
    RsaPkcs1,
    RsaPkcs1Digest(Hash),
    RsaRaw,
    RsaPss(Hash, usize),
}

/// A signature in progress: the key, the scheme and the data so far.
#[derive(Clone, Debug)]
pub struct SignOperation {
    key: CardKey,
    scheme: Scheme,
    input: Input,
}

/// What the card must compute: GENERAL AUTHENTICATE on `block`, then [`SignOperation::finish`].
#[derive(Debug)]
pub enum CardInput {
    /// Sign this block (padded RSA block or ECDSA digest).
    Block(zeroize::Zeroizing<Vec<u8>>),
    /// PSS: the digest and the salt length; the block is made with fresh salt at the
    /// moment of signing.
    Pss(Hash, Vec<u8>, usize),
}

impl SignOperation {
    /// Starts a signature with `mechanism` and `key`.
    ///
    /// # Errors
    /// `CKR_MECHANISM_INVALID` for a mechanism this module does not offer,
    /// `CKR_KEY_TYPE_INCONSISTENT` when the key cannot do it, `CKR_MECHANISM_PARAM_INVALID`
    /// for a PSS parameter other than MGF1 with the same hash, or a salt the block has no
    /// room for.
    pub fn new(mechanism: &Mechanism, key: &CardKey) -> Result<Self> {
        let rsa = matches!(key.public, PublicKey::Rsa { .. });
        let (scheme, hash, needs_rsa) = match mechanism.kind {
            ck::CKM_ECDSA => (Scheme::Ecdsa, None, false),
            ck::CKM_ECDSA_SHA256 => (Scheme::Ecdsa, Some(Hash::Sha256), false),
            ck::CKM_ECDSA_SHA384 => (Scheme::Ecdsa, Some(Hash::Sha384), false),
            ck::CKM_ECDSA_SHA512 => (Scheme::Ecdsa, Some(Hash::Sha512), false),
            ck::CKM_RSA_PKCS => (Scheme::RsaPkcs1, None, true),
            ck::CKM_RSA_X_509 => (Scheme::RsaRaw, None, true),
            ck::CKM_SHA256_RSA_PKCS => (
                Scheme::RsaPkcs1Digest(Hash::Sha256),
                Some(Hash::Sha256),
                true,
            ),
            ck::CKM_SHA384_RSA_PKCS => (
                Scheme::RsaPkcs1Digest(Hash::Sha384),
                Some(Hash::Sha384),
                true,
            ),
            ck::CKM_SHA512_RSA_PKCS => (
                Scheme::RsaPkcs1Digest(Hash::Sha512),
                Some(Hash::Sha512),
                true,
            ),
            ck::CKM_RSA_PKCS_PSS | ck::CKM_SHA256_RSA_PKCS_PSS | ck::CKM_SHA384_RSA_PKCS_PSS => {
                let Param::Pss {
                    hash,
                    mgf,
                    salt_len,
                } = mechanism.param
                else {
                    return Err(Rv::MECHANISM_PARAM_INVALID);
                };
                let h = hash_of(hash).ok_or(Rv::MECHANISM_PARAM_INVALID)?;
                let implied = match mechanism.kind {
                    ck::CKM_SHA256_RSA_PKCS_PSS => Some(Hash::Sha256),
                    ck::CKM_SHA384_RSA_PKCS_PSS => Some(Hash::Sha384),
                    _ => None,
                };
                if implied.is_some_and(|i| i != h) || mgf != mgf_of(h) {
                    return Err(Rv::MECHANISM_PARAM_INVALID);
                }
                // RFC 8017 §9.1.1 step 3: emLen >= hLen + sLen + 2.
                let salt_len =
                    usize::try_from(salt_len).map_err(|_| Rv::MECHANISM_PARAM_INVALID)?;
                if key.size() < h.len() + salt_len + 2 {
                    return Err(Rv::MECHANISM_PARAM_INVALID);
                }
                (Scheme::RsaPss(h, salt_len), implied, true)
            }
            _ => return Err(Rv::MECHANISM_INVALID),
        };
        if needs_rsa != rsa {
            return Err(Rv::KEY_TYPE_INCONSISTENT);
        }
        Ok(SignOperation {
            key: key.clone(),
            scheme,
            input: Input::new(hash),
        })
    }

    /// The key.
    pub fn key(&self) -> &CardKey {
        &self.key
    }

    /// The signature's length in bytes.
    pub fn signature_len(&self) -> usize {
        match self.scheme {
            Scheme::Ecdsa => 2 * self.key.size(),
            _ => self.key.size(),
        }
    }

    /// Adds data (`C_SignUpdate`).
    ///
    /// # Errors
    /// `CKR_DATA_LEN_RANGE` when unhashed data grows beyond any block.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.input.update(data)
    }

    /// What to send to the card, from all the data so far.
    ///
    /// # Errors
    /// `CKR_DATA_LEN_RANGE` when the data does not fit the scheme.
    pub fn card_input(&self) -> Result<CardInput> {
        let data = zeroize::Zeroizing::new(self.input.finish());
        let k = self.key.size();
        let block = match self.scheme {
            Scheme::Ecdsa => {
                // FIPS 186-4 §6.4: the leftmost bits of a longer digest; a shorter one is
                // an integer with leading zeros.
                let mut out = vec![0u8; k];
                let take = data.len().min(k);
                let (dst, src) = (out.get_mut(k - take..), data.get(..take));
                if let (Some(dst), Some(src)) = (dst, src) {
                    dst.copy_from_slice(src);
                }
                out
            }
            Scheme::RsaPkcs1 => pkcs1_type1(&data, k)?,
            Scheme::RsaPkcs1Digest(hash) => {
                cardwire_piv::padding::pkcs1v15(hash, &data, self.key.algorithm)
                    .map_err(|_| Rv::DATA_LEN_RANGE)?
            }
            Scheme::RsaRaw => {
                if data.len() > k {
                    return Err(Rv::DATA_LEN_RANGE);
                }
                let mut out = vec![0u8; k - data.len()];
                out.extend_from_slice(&data);
                out
            }
            Scheme::RsaPss(hash, salt_len) => {
                if data.len() != hash.len() {
                    return Err(Rv::DATA_LEN_RANGE);
                }
                return Ok(CardInput::Pss(hash, data.to_vec(), salt_len));
            }
        };
        Ok(CardInput::Block(zeroize::Zeroizing::new(block)))
    }

    /// Turns the card's answer into the PKCS#11 signature.
    ///
    /// # Errors
    /// `CKR_DEVICE_ERROR` when the card's answer does not fit the key.
    pub fn finish(&self, card_output: &[u8]) -> Result<Vec<u8>> {
        match self.scheme {
            Scheme::Ecdsa => ecdsa_der_to_raw(card_output, self.key.size()),
            _ if card_output.len() == self.key.size() => Ok(card_output.to_vec()),
            _ => Err(Rv::DEVICE_ERROR),
        }
    }
}

/// EMSA-PKCS1-v1_5 block type 1 around `data` (RFC 8017 §9.2 steps 3-5; for `CKM_RSA_PKCS`
/// the application supplies the DigestInfo).
///
/// # Errors
/// `CKR_DATA_LEN_RANGE` when `data` is longer than `k - 11`.
pub fn pkcs1_type1(data: &[u8], k: usize) -> Result<Vec<u8>> {
    let ps = k
        .checked_sub(data.len() + 3)
        .filter(|&ps| ps >= 8)
        .ok_or(Rv::DATA_LEN_RANGE)?;
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + ps, 0xFF);
    em.push(0x00);
    em.extend_from_slice(data);
    Ok(em)
}

/// Removes EME-PKCS1-v1_5 padding (`00 02 PS 00 M`, RFC 8017 §7.2.2 step 3) from a decrypted
/// block, looking at every byte whatever the outcome.
///
/// # Errors
/// `CKR_ENCRYPTED_DATA_INVALID` for a block that is not correctly padded.
pub fn pkcs1_type2_unpad(block: &[u8]) -> Result<Vec<u8>> {
    let mut separator = 0usize;
    let mut found = 0u8;
    for (i, &b) in block.iter().enumerate().skip(2) {
        let is_zero = u8::from(b == 0);
        let first = is_zero & (1 - found);
        separator |= i * usize::from(first);
        found |= is_zero;
    }
    let header_ok = block.first() == Some(&0) && block.get(1) == Some(&2);
    if !header_ok || found == 0 || separator < 10 {
        return Err(Rv::ENCRYPTED_DATA_INVALID);
    }
    Ok(block.get(separator + 1..).unwrap_or_default().to_vec())
}

/// An ECDSA signature `SEQUENCE { r INTEGER, s INTEGER }` as `r || s`, each `n` bytes
/// (PKCS#11 v2.40 Current Mechanisms §2.3.1).
///
/// # Errors
/// `CKR_DEVICE_ERROR` when it does not parse or a value is longer than `n`.
pub fn ecdsa_der_to_raw(der: &[u8], n: usize) -> Result<Vec<u8>> {
    let Some((0x30, seq, [])) = der_tlv(der) else {
        return Err(Rv::DEVICE_ERROR);
    };
    let Some((0x02, r, rest)) = der_tlv(seq) else {
        return Err(Rv::DEVICE_ERROR);
    };
    let Some((0x02, s, [])) = der_tlv(rest) else {
        return Err(Rv::DEVICE_ERROR);
    };
    let mut out = vec![0u8; 2 * n];
    for (value, offset) in [(strip_zeros(r), 0), (strip_zeros(s), n)] {
        let start = (offset + n)
            .checked_sub(value.len())
            .filter(|&st| st >= offset);
        let dst = start
            .and_then(|st| out.get_mut(st..offset + n))
            .ok_or(Rv::DEVICE_ERROR)?;
        dst.copy_from_slice(value);
    }
    Ok(out)
}

/// The other party's point for ECDH: raw `04 || x || y`, or the same inside a DER
/// `OCTET STRING` (both are seen in the wild).
///
/// # Errors
/// `CKR_MECHANISM_PARAM_INVALID` when it is neither, for a point of `n`-byte coordinates.
pub fn ecdh_peer_point(public_data: &[u8], n: usize) -> Result<Vec<u8>> {
    let want = 1 + 2 * n;
    if public_data.len() == want && public_data.first() == Some(&4) {
        return Ok(public_data.to_vec());
    }
    match der_tlv(public_data) {
        Some((0x04, inner, [])) if inner.len() == want && inner.first() == Some(&4) => {
            Ok(inner.to_vec())
        }
        _ => Err(Rv::MECHANISM_PARAM_INVALID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardwire_piv::{AlgorithmId, Slot};

    fn ec_key() -> CardKey {
        CardKey {
            slot: Slot::AUTHENTICATION,
            algorithm: AlgorithmId::ECC_P256,
            public: PublicKey::Ec {
                curve: crate::object::Curve::P256,
                params: vec![],
                point: vec![4; 65],
            },
        }
    }

    fn rsa_key() -> CardKey {
        CardKey {
            slot: Slot::KEY_MANAGEMENT,
            algorithm: AlgorithmId::RSA_2048,
            public: PublicKey::Rsa {
                modulus: vec![0xC5; 256],
                exponent: vec![1, 0, 1],
            },
        }
    }

    fn mech(kind: ck::CK_MECHANISM_TYPE) -> Mechanism {
        Mechanism {
            kind,
            param: Param::None,
        }
    }

    #[test]
    fn ecdsa_der_becomes_fixed_width() {
        // r = 00 80 (a leading zero for the sign), s = 01
        let der = [0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01];
        let raw = ecdsa_der_to_raw(&der, 4).unwrap();
        assert_eq!(raw, [0, 0, 0, 0x80, 0, 0, 0, 1]);
        assert_eq!(ecdsa_der_to_raw(&der, 0), Err(Rv::DEVICE_ERROR));
        assert_eq!(ecdsa_der_to_raw(&der[..8], 4), Err(Rv::DEVICE_ERROR));
    }

    #[test]
    fn ecdsa_sha256_hashes_in_parts() {
        let mut op = SignOperation::new(&mech(ck::CKM_ECDSA_SHA256), &ec_key()).unwrap();
        op.update(b"ab").unwrap();
        op.update(b"c").unwrap();
        let CardInput::Block(block) = op.card_input().unwrap() else {
            panic!()
        };
        // SHA-256("abc"), FIPS 180-2 Appendix B.1.
        assert_eq!(&block[..4], &[0xBA, 0x78, 0x16, 0xBF]);
        assert_eq!(op.signature_len(), 64);
    }

    #[test]
    fn raw_ecdsa_truncates_and_pads() {
        let mut op = SignOperation::new(&mech(ck::CKM_ECDSA), &ec_key()).unwrap();
        op.update(&[0x11; 20]).unwrap();
        let CardInput::Block(block) = op.card_input().unwrap() else {
            panic!()
        };
        assert_eq!(&block[..12], &[0; 12]);
        assert_eq!(&block[12..], &[0x11; 20]);
        let mut op = SignOperation::new(&mech(ck::CKM_ECDSA), &ec_key()).unwrap();
        let long: Vec<u8> = (0..48).collect();
        op.update(&long).unwrap();
        let CardInput::Block(block) = op.card_input().unwrap() else {
            panic!()
        };
        assert_eq!(&block[..], &long[..32]);
    }

    #[test]
    fn key_types_and_params_are_checked() {
        assert_eq!(
            SignOperation::new(&mech(ck::CKM_RSA_PKCS), &ec_key()).err(),
            Some(Rv::KEY_TYPE_INCONSISTENT)
        );
        assert_eq!(
            SignOperation::new(&mech(ck::CKM_ECDSA), &rsa_key()).err(),
            Some(Rv::KEY_TYPE_INCONSISTENT)
        );
        assert_eq!(
            SignOperation::new(&mech(ck::CKM_SHA_1), &rsa_key()).err(),
            Some(Rv::MECHANISM_INVALID)
        );
        assert_eq!(
            SignOperation::new(&mech(ck::CKM_RSA_PKCS_PSS), &rsa_key()).err(),
            Some(Rv::MECHANISM_PARAM_INVALID)
        );
        let pss = |hash, mgf, salt_len| Mechanism {
            kind: ck::CKM_SHA256_RSA_PKCS_PSS,
            param: Param::Pss {
                hash,
                mgf,
                salt_len,
            },
        };
        assert!(
            SignOperation::new(&pss(ck::CKM_SHA256, ck::CKG_MGF1_SHA256, 32), &rsa_key()).is_ok()
        );
        // Any salt length the block has room for (RFC 8017 §9.1.1: emLen >= hLen + sLen + 2).
        assert!(
            SignOperation::new(&pss(ck::CKM_SHA256, ck::CKG_MGF1_SHA256, 20), &rsa_key()).is_ok()
        );
        assert_eq!(
            SignOperation::new(&pss(ck::CKM_SHA256, ck::CKG_MGF1_SHA256, 223), &rsa_key()).err(),
            Some(Rv::MECHANISM_PARAM_INVALID)
        );
        assert_eq!(
            SignOperation::new(&pss(ck::CKM_SHA256, ck::CKG_MGF1_SHA1, 32), &rsa_key()).err(),
            Some(Rv::MECHANISM_PARAM_INVALID)
        );
        assert_eq!(
            SignOperation::new(&pss(ck::CKM_SHA384, ck::CKG_MGF1_SHA384, 48), &rsa_key()).err(),
            Some(Rv::MECHANISM_PARAM_INVALID)
        );
    }

    #[test]
    fn rsa_pkcs_blocks() {
        let mut op = SignOperation::new(&mech(ck::CKM_RSA_PKCS), &rsa_key()).unwrap();
        op.update(&[0xAB; 51]).unwrap();
        let CardInput::Block(block) = op.card_input().unwrap() else {
            panic!()
        };
        assert_eq!(block.len(), 256);
        assert_eq!(&block[..3], &[0, 1, 0xFF]);
        assert_eq!(block[256 - 52], 0);
        assert_eq!(pkcs1_type1(&[0; 246], 256), Err(Rv::DATA_LEN_RANGE));
        assert!(pkcs1_type1(&[0; 245], 256).is_ok());
    }

    #[test]
    fn type2_unpadding() {
        let mut block = vec![0u8, 2];
        block.extend_from_slice(&[0x55; 10]);
        block.push(0);
        block.extend_from_slice(b"secret");
        assert_eq!(pkcs1_type2_unpad(&block).unwrap(), b"secret");
        let mut bad = block.clone();
        bad[1] = 1;
        assert_eq!(pkcs1_type2_unpad(&bad), Err(Rv::ENCRYPTED_DATA_INVALID));
        // Padding string shorter than 8 bytes.
        let short = [0u8, 2, 1, 2, 3, 0, 9];
        assert_eq!(pkcs1_type2_unpad(&short), Err(Rv::ENCRYPTED_DATA_INVALID));
        // No separator.
        assert_eq!(
            pkcs1_type2_unpad(&[0, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
            Err(Rv::ENCRYPTED_DATA_INVALID)
        );
    }

    #[test]
    fn peer_points() {
        let raw = [4u8; 65];
        assert_eq!(ecdh_peer_point(&raw, 32).unwrap(), raw.to_vec());
        let der = crate::object::ec_point_der(&raw);
        assert_eq!(ecdh_peer_point(&der, 32).unwrap(), raw.to_vec());
        assert_eq!(
            ecdh_peer_point(&raw[..64], 32),
            Err(Rv::MECHANISM_PARAM_INVALID)
        );
    }

    #[test]
    fn allowed_mechanisms_per_key() {
        let ec = for_key(&ec_key());
        assert!(ec.contains(&ck::CKM_ECDSA_SHA256));
        assert!(!ec.contains(&ck::CKM_RSA_PKCS));
        let rsa = for_key(&rsa_key());
        assert!(rsa.contains(&ck::CKM_SHA256_RSA_PKCS_PSS));
        assert!(!rsa.contains(&ck::CKM_ECDSA));
    }
}
