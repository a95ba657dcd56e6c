//! The PIV card application's content and defaults (NIST SP 800-73-4 Part 1 and 2; algorithm
//! identifiers from SP 800-78-4): its data objects, its keys and how the card stores them.
//!
//! The application is the card's identity application: SELECT `A0 00 00 03 08 00 00 10 00`
//! answers the application property template, and GET DATA / PUT DATA / GENERAL
//! AUTHENTICATE / GENERATE ASYMMETRIC KEY PAIR / VERIFY / CHANGE REFERENCE DATA / RESET RETRY
//! COUNTER follow Part 2 (see [`crate::card`] for the handler). A fresh card
//! ([`crate::VirtualCard::new`]) is issued already:
//!
//! | slot | key | certificate subject | PIN |
//! |---|---|---|---|
//! | 9A PIV authentication | RSA-2048 ([`TEST_RSA_KEY_DER`], the same on every fresh card) | `CN=<name>,serialNumber=<user id>,OU=PIV 9A,...` | once per session |
//! | 9C digital signature | ECC P-256 (derived from the seed) | `... OU=PIV 9C ...` | immediately before each signature ("PIN always") |
//! | 9D key management | ECC P-256 (derived) | `... OU=PIV 9D ...` | once per session |
//! | 9E card authentication | ECC P-256 (derived) | `... OU=PIV 9E ...` | never |
//! | 9B card management | 3DES [`DEFAULT_MANAGEMENT_KEY`] | — | — |
//!
//! PIN `123456` (6–8 digits, 3 tries), PUK `12345678` (8 digits, 10 tries): the defaults PIV
//! test cards commonly ship with. The management key authenticates (GENERAL AUTHENTICATE,
//! mutual or external authentication) before PUT DATA and GENERATE.
//!
//! # Storage
//! Every object and key lives in an elementary file under [`DF_PIV`] that READ BINARY and
//! UPDATE BINARY can never reach (access "never"), so `--state` keeps them with the rest of
//! the card: object `5FC1xx` in EF `C1xx`, the discovery object in EF `007E`, the key of slot
//! `S` in EF `A0S` as `algorithm ‖ key` (RSA: PKCS#1 `RSAPrivateKey` DER; P-256: the 32-byte
//! scalar; 3DES: 24 bytes). An empty EF is an absent object or key.

use cardwire_piv::containers::{
    CardCapabilityContainerRepr, ChuidRepr, DiscoveryRepr, KeyHistoryRepr, PinUsagePolicy,
    PrintedInformationRepr,
};
use cardwire_piv::{AlgorithmId, CertificateObjectRepr, ObjectId, Slot};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::fs::{Access, Condition, Fid, FileSystem, NodeId};
use crate::identity::{Identity, Seed, derive_signing_key, issue_piv_certificate};

/// The PIV application's DF (no AID of its own: the PIV SELECT is handled by the application).
pub const DF_PIV: Fid = Fid(0x7000);

/// The default card management key (slot 9B, 3DES, algorithm `03`): `0102030405060708`
/// three times, the documented test value PIV test cards ship with.
pub const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// The RSA-2048 key every fresh virtual card holds in slot 9A (PKCS#1 `RSAPrivateKey` DER). A
/// **test key, public in this repository**: generating RSA keys per card would make every
/// fresh card (and `cargo test`) slow. GENERATE ASYMMETRIC KEY PAIR replaces it with a key
/// generated on the card (the journey's issuance stage does).
pub const TEST_RSA_KEY_DER: &[u8] = include_bytes!("piv-test-rsa2048.der");

/// The FASC-N of the CHUID: agency code 9999, system code 9999, credential number 999999 —
/// the value SP 800-73-4 Part 1 §3.3.1 and the PIV-I FAQ give for issuers outside the US
/// federal government (non-federal issuers use 9999 / 9999 / 999999).
pub const FASCN: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08,
    0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];

/// The algorithms the card supports (the APT's `AC` list, SP 800-78-4 Table 6-2).
pub const ALGORITHMS: [AlgorithmId; 3] = [
    AlgorithmId::TDES_3KEY,
    AlgorithmId::RSA_2048,
    AlgorithmId::ECC_P256,
];

/// The key slots with asymmetric keys and certificates.
pub const KEY_SLOTS: [Slot; 4] = [
    Slot::AUTHENTICATION,
    Slot::SIGNATURE,
    Slot::KEY_MANAGEMENT,
    Slot::CARD_AUTHENTICATION,
];

/// The data objects the card stores (others answer `6A82`; PUT DATA of another object is
/// refused with `6A80`).
pub const OBJECTS: [ObjectId; 11] = [
    ObjectId::CARD_CAPABILITY_CONTAINER,
    ObjectId::CHUID,
    ObjectId::DISCOVERY,
    ObjectId::KEY_HISTORY,
    ObjectId::PRINTED_INFORMATION,
    ObjectId::SECURITY_OBJECT,
    ObjectId::CARDHOLDER_FACIAL_IMAGE,
    ObjectId::X509_PIV_AUTHENTICATION,
    ObjectId::X509_DIGITAL_SIGNATURE,
    ObjectId::X509_KEY_MANAGEMENT,
    ObjectId::X509_CARD_AUTHENTICATION,
];

/// Whether reading `object` needs the PIN (SP 800-73-4 Part 1 Table 3: printed information,
/// facial image, fingerprints, iris images).
pub fn read_needs_pin(object: ObjectId) -> bool {
    matches!(
        object,
        ObjectId::PRINTED_INFORMATION
            | ObjectId::CARDHOLDER_FACIAL_IMAGE
            | ObjectId::CARDHOLDER_FINGERPRINTS
            | ObjectId::CARDHOLDER_IRIS_IMAGES
    )
}

/// The EF holding `object`, when the card stores it.
pub fn object_fid(object: ObjectId) -> Option<Fid> {
    if OBJECTS.contains(&object) {
        u16::try_from(object.0 & 0xFFFF).ok().map(Fid)
    } else {
        None
    }
}

/// The EF holding the key of `slot` (9A, 9B, 9C, 9D, 9E).
pub fn key_fid(slot: Slot) -> Option<Fid> {
    (KEY_SLOTS.contains(&slot) || slot == Slot::MANAGEMENT).then(|| Fid(0xA000 | u16::from(slot.0)))
}

/// Access to the PIV EFs through the file system: none (the application reads them).
const HIDDEN: Access = Access {
    read: Condition::Never,
    update: Condition::Never,
};

/// A private key as the card holds it.
pub(crate) enum PivKey {
    /// RSA-2048.
    Rsa(Box<rsa::PrivateKey>),
    /// ECC P-256.
    P256(p256::SecretKey),
    /// 3DES card management key.
    Tdes(Zeroizing<[u8; 24]>),
}

impl PivKey {
    /// The SP 800-78-4 algorithm identifier.
    pub(crate) fn algorithm(&self) -> AlgorithmId {
        match self {
            PivKey::Rsa(_) => AlgorithmId::RSA_2048,
            PivKey::P256(_) => AlgorithmId::ECC_P256,
            PivKey::Tdes(_) => AlgorithmId::TDES_3KEY,
        }
    }

    /// `algorithm ‖ key` as the key EF stores it.
    pub(crate) fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(vec![self.algorithm().0]);
        match self {
            PivKey::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                out.extend_from_slice(k.to_pkcs1_der().ok()?.as_bytes());
            }
            PivKey::P256(k) => out.extend_from_slice(&k.to_bytes()),
            PivKey::Tdes(k) => out.extend_from_slice(&k[..]),
        }
        Some(out)
    }

    /// The key from its EF content (`None` when empty or unreadable).
    pub(crate) fn decode(bytes: &[u8]) -> Option<PivKey> {
        let (&alg, key) = bytes.split_first()?;
        match AlgorithmId(alg) {
            AlgorithmId::RSA_2048 => rsa::PrivateKey::from_pkcs1_der(key)
                .ok()
                .map(|k| PivKey::Rsa(Box::new(k))),
            AlgorithmId::ECC_P256 => p256::SecretKey::from_slice(key).ok().map(PivKey::P256),
            AlgorithmId::TDES_3KEY => <[u8; 24]>::try_from(key)
                .ok()
                .map(|k| PivKey::Tdes(Zeroizing::new(k))),
            _ => None,
        }
    }

    /// The public key as a DER SubjectPublicKeyInfo (`None` for the management key).
    pub(crate) fn spki_der(&self) -> Option<Vec<u8>> {
        match self {
            PivKey::Rsa(k) => Some(k.to_public_key().to_public_key_der().ok()?.into_vec()),
            PivKey::P256(k) => Some(k.public_key().to_public_key_der().ok()?.into_vec()),
            PivKey::Tdes(_) => None,
        }
    }
}

/// Builds the PIV DF of a fresh card for `identity`: every object and key EF, personalised.
///
/// # Errors
/// [`Error::KeyDerivation`] or [`Error::Certificate`] (practically never).
pub(crate) fn personalise(
    fs: &mut FileSystem,
    identity: &Identity,
    seed: &Seed,
) -> Result<(), Error> {
    let Some(df) = fs.add_df(NodeId::MF, DF_PIV, None) else {
        return Err(Error::Certificate("the PIV DF cannot be created".into()));
    };
    let mut put = |fid: Option<Fid>, content: Vec<u8>| {
        if let Some(fid) = fid {
            fs.add_transparent(df, fid, None, HIDDEN, content);
        }
    };
    let rsa = rsa::PrivateKey::from_pkcs1_der(TEST_RSA_KEY_DER)
        .map_err(|e| Error::Certificate(format!("the 9A test key: {e}")))?;
    let mut keys = vec![(Slot::AUTHENTICATION, PivKey::Rsa(Box::new(rsa)))];
    for (slot, label) in [
        (Slot::SIGNATURE, "piv 9C"),
        (Slot::KEY_MANAGEMENT, "piv 9D"),
        (Slot::CARD_AUTHENTICATION, "piv 9E"),
    ] {
        let key = derive_signing_key(&seed.0, label)?;
        keys.push((slot, PivKey::P256(key.into())));
    }
    for (slot, key) in &keys {
        let spki = key.spki_der().ok_or(Error::KeyDerivation)?;
        let cert = issue_piv_certificate(
            &spki,
            slot.0,
            &identity.name,
            identity.user_id,
            identity.serial,
        )?;
        let object = slot.object().ok_or(Error::KeyDerivation)?;
        put(object_fid(object), certificate_object(&cert)?);
        put(
            key_fid(*slot),
            key.encode().ok_or(Error::KeyDerivation)?.to_vec(),
        );
    }
    put(
        key_fid(Slot::MANAGEMENT),
        PivKey::Tdes(Zeroizing::new(DEFAULT_MANAGEMENT_KEY))
            .encode()
            .ok_or(Error::KeyDerivation)?
            .to_vec(),
    );
    let mut guid = [0u8; 16];
    getrandom::fill(&mut guid).map_err(|_| Error::KeyDerivation)?;
    put(object_fid(ObjectId::CHUID), chuid(guid)?);
    put(
        object_fid(ObjectId::CARD_CAPABILITY_CONTAINER),
        ccc(&identity.serial.0)?,
    );
    put(object_fid(ObjectId::DISCOVERY), discovery()?);
    put(object_fid(ObjectId::KEY_HISTORY), key_history()?);
    put(
        object_fid(ObjectId::PRINTED_INFORMATION),
        printed(identity)?,
    );
    put(object_fid(ObjectId::SECURITY_OBJECT), Vec::new());
    put(object_fid(ObjectId::CARDHOLDER_FACIAL_IMAGE), Vec::new());
    Ok(())
}

fn encoding(e: cardwire_piv::Error) -> Error {
    Error::Certificate(format!("PIV object encoding: {e}"))
}

/// A certificate container (`70` certificate, `71 00` uncompressed, `FE` LRC).
///
/// # Errors
/// [`Error::Certificate`] when it cannot be encoded.
pub fn certificate_object(cert: &[u8]) -> Result<Vec<u8>, Error> {
    let repr = CertificateObjectRepr::new(cert);
    let mut out = vec![0u8; repr.encoded_len()];
    let n = repr.encode(&mut out).map_err(encoding)?.len();
    out.truncate(n);
    Ok(out)
}

/// A CHUID with the [`FASCN`], `guid`, expiration 2035-12-31 and an empty issuer signature.
///
/// # Errors
/// [`Error::Certificate`] when it cannot be encoded.
pub fn chuid(guid: [u8; 16]) -> Result<Vec<u8>, Error> {
    let repr = ChuidRepr {
        fascn: FASCN,
        guid,
        expiration: *b"20351231",
        ..Default::default()
    };
    let mut out = vec![0u8; repr.encoded_len()];
    let n = repr.encode(&mut out).map_err(encoding)?.len();
    out.truncate(n);
    Ok(out)
}

fn ccc(serial: &[u8; 8]) -> Result<Vec<u8>, Error> {
    // GSC-RID A0 00 00 01 16, manufacturer FF (unassigned), card type 02 (Java card as most
    // PIV cards), then a 14-byte card identifier: the card serial, zero-padded.
    let mut id = [0u8; 21];
    id[..7].copy_from_slice(&[0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02]);
    id[7..15].copy_from_slice(serial);
    let repr = CardCapabilityContainerRepr {
        card_identifier: Some(id),
        container_version: Some(0x21),
        grammar_version: Some(0x21),
        data_model: Some(0x10),
        ..Default::default()
    };
    let mut out = vec![0u8; repr.encoded_len()];
    let n = repr.encode(&mut out).map_err(encoding)?.len();
    out.truncate(n);
    Ok(out)
}

fn discovery() -> Result<Vec<u8>, Error> {
    // PIN usage policy 40 00: the PIV Card Application PIN only (Part 1 §3.3.2).
    let repr = DiscoveryRepr {
        aid: &cardwire_piv::PIV_AID_FULL,
        pin_usage_policy: Some(PinUsagePolicy([0x40, 0x00])),
    };
    let mut out = vec![0u8; repr.encoded_len()];
    let n = repr.encode(&mut out).map_err(encoding)?.len();
    out.truncate(n);
    Ok(out)
}

fn key_history() -> Result<Vec<u8>, Error> {
    let repr = KeyHistoryRepr::default();
    let mut out = vec![0u8; repr.encoded_len()];
    let n = repr.encode(&mut out).map_err(encoding)?.len();
    out.truncate(n);
    Ok(out)
}

fn printed(identity: &Identity) -> Result<Vec<u8>, Error> {
    let serial = identity.serial.to_string();
    let repr = PrintedInformationRepr {
        name: identity.name.as_bytes(),
        employee_affiliation: b"cardwire virtual healthcare",
        expiration_date: b"2035DEC31",
        agency_card_serial: serial.as_bytes(),
        issuer_identification: b"cardwire",
        ..Default::default()
    };
    let mut out = vec![0u8; repr.encoded_len()];
    let n = repr.encode(&mut out).map_err(encoding)?.len();
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_and_key_files_do_not_collide() {
        let mut fids: Vec<u16> = OBJECTS
            .iter()
            .filter_map(|o| object_fid(*o))
            .map(|f| f.0)
            .collect();
        fids.extend(
            [Slot(0x9A), Slot(0x9B), Slot(0x9C), Slot(0x9D), Slot(0x9E)]
                .iter()
                .filter_map(|s| key_fid(*s))
                .map(|f| f.0),
        );
        let n = fids.len();
        fids.sort_unstable();
        fids.dedup();
        assert_eq!(fids.len(), n);
        assert_eq!(n, OBJECTS.len() + 5);
        assert_eq!(object_fid(ObjectId::CHUID), Some(Fid(0xC102)));
        assert_eq!(object_fid(ObjectId::DISCOVERY), Some(Fid(0x007E)));
        assert_eq!(key_fid(Slot(0x9A)), Some(Fid(0xA09A)));
        assert_eq!(object_fid(ObjectId(0x5F_C1_10)), None);
    }

    #[test]
    fn keys_round_trip_through_their_encoding() {
        let k = PivKey::Tdes(Zeroizing::new(DEFAULT_MANAGEMENT_KEY));
        let e = k.encode().unwrap();
        assert_eq!(e[0], 0x03);
        assert!(
            matches!(PivKey::decode(&e), Some(PivKey::Tdes(t)) if *t == DEFAULT_MANAGEMENT_KEY)
        );
        let rsa = PivKey::decode(&[&[0x07][..], TEST_RSA_KEY_DER].concat()).unwrap();
        assert_eq!(rsa.algorithm(), AlgorithmId::RSA_2048);
        assert!(rsa.spki_der().unwrap().len() > 256);
        assert!(PivKey::decode(&[]).is_none());
        assert!(PivKey::decode(&[0x11, 1, 2]).is_none());
    }

    #[test]
    fn the_chuid_carries_the_guid() {
        let c = chuid([7; 16]).unwrap();
        let view = cardwire_piv::Chuid::new_checked(&c).unwrap();
        assert_eq!(view.guid(), &[7; 16]);
        assert_eq!(view.fascn_bytes(), &FASCN);
    }
}
