//! The objects of a PIV token: for each populated key slot a certificate, a public key and
//! a private key, linked by `CKA_ID` (PKCS#11 v2.40 §4.6, §4.8, §4.9; PIV key references from
//! NIST SP 800-73-4 Part 1 Table 4b).
//!
//! `CKA_ID` and `CKA_LABEL` follow OpenSC's PIV driver (`01` = 9A "PIV AUTH", `02` = 9C,
//! `03` = 9D, `04` = 9E, `05`..`18` = retired 82..95), so that applications configured for
//! OpenSC find the same objects through this module.

use cardwire_piv::{AlgorithmId, Slot};
use cryptoki_sys as ck;
use der::Encode;
use der::oid::ObjectIdentifier;
use x509_cert::Certificate;

use crate::attribute::Attributes;
use crate::error::{Result, Rv};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The key slots a token exposes, in order: 9A, 9C, 9D, 9E, then the retired 82..95.
pub fn key_slots() -> impl Iterator<Item = Slot> {
    [
        Slot::AUTHENTICATION,
        Slot::SIGNATURE,
        Slot::KEY_MANAGEMENT,
        Slot::CARD_AUTHENTICATION,
    ]
    .into_iter()
    .chain((1..=20).filter_map(Slot::retired))
}

/// `CKA_ID` of a key slot (OpenSC's numbering).
pub fn key_id(slot: Slot) -> u8 {
    match slot {
        Slot::AUTHENTICATION => 1,
        Slot::SIGNATURE => 2,
        Slot::KEY_MANAGEMENT => 3,
        Slot::CARD_AUTHENTICATION => 4,
        Slot(n) => n.wrapping_sub(0x82).wrapping_add(5),
    }
}

fn key_label(slot: Slot) -> String {
    match slot {
        Slot::AUTHENTICATION => "PIV AUTH".into(),
        Slot::SIGNATURE => "SIGN".into(),
        Slot::KEY_MANAGEMENT => "KEY MAN".into(),
        Slot::CARD_AUTHENTICATION => "CARD AUTH".into(),
        Slot(n) => format!("RETIRED{}", n.wrapping_sub(0x81)),
    }
}

fn cert_label(slot: Slot) -> String {
    match slot {
        Slot::AUTHENTICATION => "Certificate for PIV Authentication".into(),
        Slot::SIGNATURE => "Certificate for Digital Signature".into(),
        Slot::KEY_MANAGEMENT => "Certificate for Key Management".into(),
        Slot::CARD_AUTHENTICATION => "Certificate for Card Authentication".into(),
        Slot(n) => format!(
            "Retired Certificate for Key Management {}",
            n.wrapping_sub(0x81)
        ),
    }
}

/// An elliptic curve the card supports (SP 800-78-4 Table 3-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// P-256.
    P256,
    /// P-384.
    P384,
}

impl Curve {
    /// The coordinate length in bytes.
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// The public half of a card key, from its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA: modulus and public exponent, big-endian without leading zeros.
    Rsa {
        /// `n`.
        modulus: Vec<u8>,
        /// `e`.
        exponent: Vec<u8>,
    },
    /// ECC: the curve and the uncompressed point `04 || x || y`.
    Ec {
        /// The curve.
        curve: Curve,
        /// The DER `OBJECT IDENTIFIER` naming the curve (`CKA_EC_PARAMS`).
        params: Vec<u8>,
        /// `04 || x || y`.
        point: Vec<u8>,
    },
}

/// A key on the card: where it is and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardKey {
    /// The PIV key reference.
    pub slot: Slot,
    /// The PIV algorithm identifier for GENERAL AUTHENTICATE.
    pub algorithm: AlgorithmId,
    /// The public key.
    pub public: PublicKey,
}

impl CardKey {
    /// `CKK_RSA` or `CKK_EC`.
    pub fn key_type(&self) -> ck::CK_KEY_TYPE {
        match self.public {
            PublicKey::Rsa { .. } => ck::CKK_RSA,
            PublicKey::Ec { .. } => ck::CKK_EC,
        }
    }

    /// The exact bit length of the RSA modulus (0 for ECC), for EMSA-PSS's emBits.
    pub fn modulus_bits(&self) -> usize {
        match &self.public {
            PublicKey::Rsa { modulus, .. } => match modulus.first() {
                Some(&top) => modulus.len() * 8 - top.leading_zeros() as usize,
                None => 0,
            },
            PublicKey::Ec { .. } => 0,
        }
    }

    /// The modulus length in bytes (RSA) or the coordinate length (ECC).
    pub fn size(&self) -> usize {
        match &self.public {
            PublicKey::Rsa { modulus, .. } => modulus.len(),
            PublicKey::Ec { curve, .. } => curve.coordinate_len(),
        }
    }
}

/// A token object: its class, attributes, and for keys the card key it stands for.
#[derive(Clone, Debug)]
pub struct Object {
    /// The attributes.
    pub attributes: Attributes,
    /// The card key (public and private key objects).
    pub key: Option<CardKey>,
}

impl Object {
    /// `CKA_CLASS`.
    pub fn class(&self) -> Option<ck::CK_OBJECT_CLASS> {
        self.attributes.ulong(ck::CKA_CLASS)
    }

    /// `CKA_PRIVATE`: hidden from a session that is not logged in (PKCS#11 §4.4).
    pub fn is_private(&self) -> bool {
        self.attributes.bool(ck::CKA_PRIVATE).unwrap_or(false)
    }
}

/// A minimal DER reader for the RSAPublicKey structure (RFC 8017 §A.1.1).
pub(crate) fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 3 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(n)?;
        (
            bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)),
            rest,
        )
    };
    let (value, rest) = rest.split_at_checked(len)?;
    Some((tag, value, rest))
}

pub(crate) fn strip_zeros(mut v: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = v {
        v = rest;
    }
    v
}

fn rsa_public_key(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (0x30, seq, []) = der_tlv(bytes)? else {
        return None;
    };
    let (0x02, n, rest) = der_tlv(seq)? else {
        return None;
    };
    let (0x02, e, []) = der_tlv(rest)? else {
        return None;
    };
    Some((strip_zeros(n).to_vec(), strip_zeros(e).to_vec()))
}

/// `CKA_EC_POINT`: the point as a DER `OCTET STRING` (PKCS#11 v2.40 Current Mechanisms
/// §2.3.3, as OpenSSL and NSS read it).
pub fn ec_point_der(point: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04];
    let len = point.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.extend_from_slice(&[0x81, len as u8]);
    }
    out.extend_from_slice(point);
    out
}

/// The three objects (certificate, public key, private key) for `slot` holding the X.509
/// certificate `cert_der`.
///
/// # Errors
/// `CKR_DEVICE_ERROR` when the certificate does not parse or has a key the card cannot
/// hold (the slot is then skipped by the caller).
pub fn objects_for_slot(slot: Slot, cert_der: &[u8]) -> Result<[Object; 3]> {
    use der::Decode;
    let cert = Certificate::from_der(cert_der).map_err(|_| Rv::DEVICE_ERROR)?;
    let tbs = cert.tbs_certificate();
    let subject = tbs.subject().to_der().map_err(|_| Rv::DEVICE_ERROR)?;
    let issuer = tbs.issuer().to_der().map_err(|_| Rv::DEVICE_ERROR)?;
    let serial = tbs.serial_number().to_der().map_err(|_| Rv::DEVICE_ERROR)?;
    let spki = tbs.subject_public_key_info();
    let spki_der = spki.to_der().map_err(|_| Rv::DEVICE_ERROR)?;
    let key_bits = spki.subject_public_key.raw_bytes();
    let key = if spki.algorithm.oid == RSA_ENCRYPTION {
        let (modulus, exponent) = rsa_public_key(key_bits).ok_or(Rv::DEVICE_ERROR)?;
        let algorithm = match modulus.len() {
            128 => AlgorithmId::RSA_1024,
            256 => AlgorithmId::RSA_2048,
            384 => AlgorithmId::RSA_3072,
            _ => return Err(Rv::DEVICE_ERROR),
        };
        CardKey {
            slot,
            algorithm,
            public: PublicKey::Rsa { modulus, exponent },
        }
    } else if spki.algorithm.oid == EC_PUBLIC_KEY {
        let params = spki.algorithm.parameters.as_ref().ok_or(Rv::DEVICE_ERROR)?;
        let curve_oid: ObjectIdentifier = params.decode_as().map_err(|_| Rv::DEVICE_ERROR)?;
        let (curve, algorithm) = if curve_oid == PRIME256V1 {
            (Curve::P256, AlgorithmId::ECC_P256)
        } else if curve_oid == SECP384R1 {
            (Curve::P384, AlgorithmId::ECC_P384)
        } else {
            return Err(Rv::DEVICE_ERROR);
        };
        if key_bits.len() != 1 + 2 * curve.coordinate_len() || key_bits.first() != Some(&4) {
            return Err(Rv::DEVICE_ERROR);
        }
        CardKey {
            slot,
            algorithm,
            public: PublicKey::Ec {
                curve,
                params: params.to_der().map_err(|_| Rv::DEVICE_ERROR)?,
                point: key_bits.to_vec(),
            },
        }
    } else {
        return Err(Rv::DEVICE_ERROR);
    };

    let id = vec![key_id(slot)];
    let is_ec = matches!(key.public, PublicKey::Ec { .. });
    let exchange = slot == Slot::KEY_MANAGEMENT || (0x82..=0x95).contains(&slot.0);

    let mut c = Attributes::new();
    c.set_ulong(ck::CKA_CLASS, ck::CKO_CERTIFICATE)
        .set_bool(ck::CKA_TOKEN, true)
        .set_bool(ck::CKA_PRIVATE, false)
        .set_bool(ck::CKA_MODIFIABLE, false)
        .set_bool(ck::CKA_COPYABLE, false)
        .set_bool(ck::CKA_DESTROYABLE, false)
        .set(ck::CKA_LABEL, cert_label(slot).into_bytes())
        .set_ulong(ck::CKA_CERTIFICATE_TYPE, ck::CKC_X_509)
        .set_bool(ck::CKA_TRUSTED, false)
        .set_ulong(ck::CKA_CERTIFICATE_CATEGORY, 0)
        .set(ck::CKA_CHECK_VALUE, check_value(cert_der))
        .set(ck::CKA_START_DATE, Vec::new())
        .set(ck::CKA_END_DATE, Vec::new())
        .set(ck::CKA_PUBLIC_KEY_INFO, spki_der.clone())
        .set(ck::CKA_SUBJECT, subject.clone())
        .set(ck::CKA_ISSUER, issuer)
        .set(ck::CKA_SERIAL_NUMBER, serial)
        .set(ck::CKA_ID, id.clone())
        .set(ck::CKA_VALUE, cert_der.to_vec())
        .set(ck::CKA_URL, Vec::new())
        .set(ck::CKA_HASH_OF_SUBJECT_PUBLIC_KEY, Vec::new())
        .set(ck::CKA_HASH_OF_ISSUER_PUBLIC_KEY, Vec::new())
        .set_ulong(ck::CKA_JAVA_MIDP_SECURITY_DOMAIN, 0);

    let mut common = Attributes::new();
    common
        .set_bool(ck::CKA_TOKEN, true)
        .set_bool(ck::CKA_MODIFIABLE, false)
        .set_bool(ck::CKA_COPYABLE, false)
        .set_bool(ck::CKA_DESTROYABLE, false)
        .set_ulong(ck::CKA_KEY_TYPE, key.key_type())
        .set(ck::CKA_ID, id)
        .set(ck::CKA_SUBJECT, subject)
        .set(ck::CKA_START_DATE, Vec::new())
        .set(ck::CKA_END_DATE, Vec::new())
        .set_bool(ck::CKA_LOCAL, false)
        .set_ulong(ck::CKA_KEY_GEN_MECHANISM, ck::CK_UNAVAILABLE_INFORMATION)
        .set(ck::CKA_PUBLIC_KEY_INFO, spki_der)
        .set(
            ck::CKA_ALLOWED_MECHANISMS,
            crate::mechanism::for_key(&key)
                .iter()
                .flat_map(|m| m.to_ne_bytes())
                .collect(),
        );
    match &key.public {
        PublicKey::Rsa { modulus, exponent } => {
            common
                .set(ck::CKA_MODULUS, modulus.clone())
                .set_ulong(ck::CKA_MODULUS_BITS, (modulus.len() * 8) as ck::CK_ULONG)
                .set(ck::CKA_PUBLIC_EXPONENT, exponent.clone());
        }
        PublicKey::Ec { params, point, .. } => {
            common
                .set(ck::CKA_EC_PARAMS, params.clone())
                .set(ck::CKA_EC_POINT, ec_point_der(point));
        }
    }

    let mut public = common.clone();
    public
        .set_ulong(ck::CKA_CLASS, ck::CKO_PUBLIC_KEY)
        .set_bool(ck::CKA_PRIVATE, false)
        .set(
            ck::CKA_LABEL,
            format!("{} pubkey", key_label(slot)).into_bytes(),
        )
        .set_bool(ck::CKA_ENCRYPT, !is_ec && exchange)
        .set_bool(ck::CKA_VERIFY, true)
        .set_bool(ck::CKA_VERIFY_RECOVER, false)
        .set_bool(ck::CKA_WRAP, !is_ec && exchange)
        .set_bool(ck::CKA_DERIVE, false)
        .set_bool(ck::CKA_TRUSTED, false);

    let mut private = common;
    private
        .set_ulong(ck::CKA_CLASS, ck::CKO_PRIVATE_KEY)
        .set_bool(ck::CKA_PRIVATE, true)
        .set(
            ck::CKA_LABEL,
            format!("{} key", key_label(slot)).into_bytes(),
        )
        .set_bool(ck::CKA_SENSITIVE, true)
        .set_bool(ck::CKA_ALWAYS_SENSITIVE, true)
        .set_bool(ck::CKA_EXTRACTABLE, false)
        .set_bool(ck::CKA_NEVER_EXTRACTABLE, true)
        .set_bool(ck::CKA_DECRYPT, !is_ec && exchange)
        .set_bool(ck::CKA_UNWRAP, !is_ec && exchange)
        .set_bool(ck::CKA_SIGN, true)
        .set_bool(ck::CKA_SIGN_RECOVER, false)
        .set_bool(ck::CKA_DERIVE, is_ec && exchange)
        .set_bool(ck::CKA_WRAP_WITH_TRUSTED, false)
        .set_bool(ck::CKA_ALWAYS_AUTHENTICATE, slot == Slot::SIGNATURE);
    for secret in [
        ck::CKA_VALUE,
        ck::CKA_PRIVATE_EXPONENT,
        ck::CKA_PRIME_1,
        ck::CKA_PRIME_2,
        ck::CKA_EXPONENT_1,
        ck::CKA_EXPONENT_2,
        ck::CKA_COEFFICIENT,
    ] {
        if is_ec && secret != ck::CKA_VALUE {
            continue;
        }
        private.set_sensitive(secret);
    }

    Ok([
        Object {
            attributes: c,
            key: None,
        },
        Object {
            attributes: public,
            key: Some(key.clone()),
        },
        Object {
            attributes: private,
            key: Some(key),
        },
    ])
}

/// `CKA_CHECK_VALUE` of a certificate: the first three bytes of its SHA-1 hash (PKCS#11
/// v2.40 §4.6.3).
fn check_value(cert: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(cert).iter().take(3).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slots_follow_opensc() {
        let slots: Vec<u8> = key_slots().map(|s| s.0).collect();
        assert_eq!(slots.len(), 24);
        assert_eq!(&slots[..5], &[0x9A, 0x9C, 0x9D, 0x9E, 0x82]);
        assert_eq!(slots[23], 0x95);
        assert_eq!(key_id(Slot::AUTHENTICATION), 1);
        assert_eq!(key_id(Slot::CARD_AUTHENTICATION), 4);
        assert_eq!(key_id(Slot(0x82)), 5);
        assert_eq!(key_id(Slot(0x95)), 24);
    }

    #[test]
    fn rsa_public_key_parses_der() {
        // SEQUENCE { INTEGER 00 C3, INTEGER 01 00 01 }
        let der = [
            0x30, 0x09, 0x02, 0x02, 0x00, 0xC3, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        assert_eq!(
            rsa_public_key(&der),
            Some((vec![0xC3], vec![0x01, 0x00, 0x01]))
        );
        assert_eq!(rsa_public_key(&der[..10]), None);
        assert_eq!(rsa_public_key(&[0x30, 0x81]), None);
    }

    #[test]
    fn ec_point_is_an_octet_string() {
        let point = [4u8; 65];
        let der = ec_point_der(&point);
        assert_eq!(&der[..2], &[0x04, 0x41]);
        assert_eq!(der.len(), 67);
        let point = [4u8; 133];
        assert_eq!(&ec_point_der(&point)[..3], &[0x04, 0x81, 133]);
    }

    #[test]
    fn garbage_certificate_is_a_device_error() {
        assert!(matches!(
            objects_for_slot(Slot::AUTHENTICATION, &[0x30, 0x00]),
            Err(Rv::DEVICE_ERROR)
        ));
    }
}
