//! The identity a healthcare worker's card holds, created deterministically from a seed.
//!
//! Everything here is derived from a 32-byte [`Seed`] with SHA-256 under distinct labels, so
//! the same seed always gives the same card: cardholder name, 12-digit unique user
//! identification number (UUID, as on NHS smart cards), card serial number, the ECDSA P-256
//! key pair and an X.509 v3 certificate (RFC 5280) for it, signed by a deterministic issuing CA.

use core::fmt;
use core::str::FromStr;

use der::{Decode, Encode};
use p256::ecdsa::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::{Certificate, TbsCertificate};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;

/// The 32 bytes every part of a fresh virtual card is derived from. Zeroized on drop; `Debug`
/// redacts it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// The seed of the default virtual card (`cardwire journey` without `--state`).
    pub const DEFAULT: Seed = Seed(*b"cardwire virtual reference card!");

    /// A seed from any text (its SHA-256 digest), for `--seed TEXT` style options.
    pub fn from_text(text: &str) -> Seed {
        Seed(Sha256::digest(text.as_bytes()).into())
    }
}

impl Default for Seed {
    fn default() -> Self {
        Seed::DEFAULT
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

/// SHA-256 over a label and the seed: the derivation used for every value on the card.
fn derive(seed: &[u8; 32], label: &str, counter: u32) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"cardwire-vcard/v1/")
        .chain_update(label.as_bytes())
        .chain_update([0u8])
        .chain_update(seed)
        .chain_update(counter.to_be_bytes())
        .finalize()
        .into()
}

/// Derives an ECDSA P-256 private key from the seed and a label (the first candidate scalar
/// in `1..n`; a candidate outside it is skipped with the next counter value).
///
/// # Errors
/// [`Error::KeyDerivation`] if 16 candidates in a row are out of range (probability about
/// 2^-512).
pub fn derive_signing_key(seed: &[u8; 32], label: &str) -> Result<SigningKey, Error> {
    for counter in 0..16 {
        let mut candidate = derive(seed, label, counter);
        let key = SigningKey::from_slice(&candidate);
        candidate.zeroize();
        if let Ok(key) = key {
            return Ok(key);
        }
    }
    Err(Error::KeyDerivation)
}

/// The fixed seed of the virtual issuing CA: every virtual card is issued by the same CA.
const ISSUING_CA_SEED: [u8; 32] = *b"cardwire virtual issuing CA key!";

/// The distinguished name of the virtual issuing CA.
pub const ISSUING_CA_NAME: &str = "CN=cardwire Virtual Issuing CA,O=cardwire,C=GB";

/// A 12-digit unique user identification number (UUID), the number a healthcare worker's
/// card identifies its holder by.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UserId(pub u64);

impl UserId {
    /// The number as exactly 12 decimal digits.
    pub fn digits(self) -> String {
        format!("{:012}", self.0 % 1_000_000_000_000)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits())
    }
}

/// The card serial number: 8 bytes, shown as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CardSerial(pub [u8; 8]);

impl fmt::Display for CardSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

const GIVEN_NAMES: [&str; 16] = [
    "Amira", "Ben", "Chloe", "Dev", "Eilidh", "Farah", "George", "Hana", "Isaac", "Jia", "Kofi",
    "Lena", "Mohammed", "Niamh", "Owen", "Priya",
];
const FAMILY_NAMES: [&str; 16] = [
    "Ahmed", "Brown", "Campbell", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal", "Jones",
    "Khan", "Lewis", "Murray", "Nwosu", "O'Neill", "Patel",
];

/// The identity data of one virtual card (the identity application's content).
///
/// The private key never leaves this struct except to sign; `Debug` shows only public parts.
#[derive(Clone)]
pub struct Identity {
    /// The cardholder's name, as printed on the card and in the certificate's CN.
    pub name: String,
    /// The 12-digit unique user identification number.
    pub user_id: UserId,
    /// The card serial number.
    pub serial: CardSerial,
    /// The X.509 certificate for [`Identity::verifying_key`], DER encoded.
    pub certificate: Vec<u8>,
    /// The issuing CA's self-signed certificate, DER encoded.
    pub ca_certificate: Vec<u8>,
    key: SigningKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("user_id", &self.user_id)
            .field("serial", &self.serial)
            .field("certificate_len", &self.certificate.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Identity {
    /// Creates the identity deterministically from `seed`.
    ///
    /// # Errors
    /// [`Error::KeyDerivation`] (practically never) or [`Error::Certificate`] if the
    /// certificate cannot be built.
    pub fn from_seed(seed: &Seed) -> Result<Identity, Error> {
        let names = derive(&seed.0, "cardholder name", 0);
        let given = GIVEN_NAMES
            .get(usize::from(names[0] & 0x0F))
            .copied()
            .unwrap_or("Alex");
        let family = FAMILY_NAMES
            .get(usize::from(names[1] & 0x0F))
            .copied()
            .unwrap_or("Example");
        let name = format!("{given} {family}");

        let id_bytes = derive(&seed.0, "user id", 0);
        let mut id8 = [0u8; 8];
        id8.copy_from_slice(id_bytes.get(..8).unwrap_or(&[0; 8]));
        // 12 digits with no leading zero: 100000000000..=999999999999.
        let user_id = UserId(100_000_000_000 + u64::from_be_bytes(id8) % 900_000_000_000);

        let serial_bytes = derive(&seed.0, "card serial", 0);
        let mut serial = [0u8; 8];
        serial.copy_from_slice(serial_bytes.get(..8).unwrap_or(&[0; 8]));

        let key = derive_signing_key(&seed.0, "identity key")?;
        let ca_key = derive_signing_key(&ISSUING_CA_SEED, "issuing CA key")?;
        let ca_certificate = build_ca_certificate(&ca_key)?;
        let certificate =
            build_card_certificate(&ca_key, &key, &name, user_id, CardSerial(serial))?;
        Ok(Identity {
            name,
            user_id,
            serial: CardSerial(serial),
            certificate,
            ca_certificate,
            key,
        })
    }

    /// The public half of the card's key pair.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.verifying_key()
    }

    /// The card's private key (for the card OS's signing operations only).
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

/// A certificate profile: the issuer and subject given, the extensions an end-entity
/// authentication certificate (or the CA) needs (RFC 5280 §4.2.1).
struct Profile {
    issuer: Name,
    subject: Name,
    ca: bool,
    usage: KeyUsages,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut extensions: Vec<Extension> = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = SubjectKeyIdentifier::try_from(issuer_spk)?;
        extensions.push(
            AuthorityKeyIdentifier {
                key_identifier: Some(aki.0.clone()),
                ..Default::default()
            }
            .to_extension(tbs.subject(), &extensions)?,
        );
        extensions.push(
            BasicConstraints {
                ca: self.ca,
                path_len_constraint: if self.ca { Some(0) } else { None },
            }
            .to_extension(tbs.subject(), &extensions)?,
        );
        let usage = if self.ca {
            KeyUsages::KeyCertSign | KeyUsages::CRLSign
        } else {
            self.usage.into()
        };
        extensions.push(KeyUsage(usage).to_extension(tbs.subject(), &extensions)?);
        extensions.push(ski.to_extension(tbs.subject(), &extensions)?);
        Ok(extensions)
    }
}

fn cert_error<E: fmt::Display>(e: E) -> Error {
    Error::Certificate(format!("{e}"))
}

/// The fixed validity of every virtual certificate: 2025-01-01 to 2035-12-31 (UTC), so the
/// certificate is the same whenever it is built.
fn validity() -> Result<Validity, Error> {
    let from = Time::from_str("2025-01-01T00:00:00Z").map_err(cert_error)?;
    let to = Time::from_str("2035-12-31T23:59:59Z").map_err(cert_error)?;
    Ok(Validity::new(from, to))
}

fn build(
    profile: Profile,
    serial: &[u8],
    subject_key: &VerifyingKey,
    ca_key: &SigningKey,
) -> Result<Vec<u8>, Error> {
    let spki = SubjectPublicKeyInfo::from_key(subject_key).map_err(cert_error)?;
    build_for(profile, serial, spki, ca_key)
}

fn build_for(
    profile: Profile,
    serial: &[u8],
    spki: x509_cert::spki::SubjectPublicKeyInfoOwned,
    ca_key: &SigningKey,
) -> Result<Vec<u8>, Error> {
    let serial = SerialNumber::new(serial).map_err(cert_error)?;
    let builder =
        CertificateBuilder::new(profile, serial, validity()?, spki).map_err(cert_error)?;
    // RFC 6979 deterministic ECDSA: the same inputs give the same certificate bytes.
    let cert = builder
        .build::<_, p256::ecdsa::DerSignature>(ca_key)
        .map_err(cert_error)?;
    cert.to_der().map_err(cert_error)
}

fn build_ca_certificate(ca_key: &SigningKey) -> Result<Vec<u8>, Error> {
    let name = Name::from_str(ISSUING_CA_NAME).map_err(cert_error)?;
    let profile = Profile {
        issuer: name.clone(),
        subject: name,
        ca: true,
        usage: KeyUsages::KeyCertSign,
    };
    build(profile, &[0x01], ca_key.verifying_key(), ca_key)
}

fn build_card_certificate(
    ca_key: &SigningKey,
    key: &SigningKey,
    name: &str,
    user_id: UserId,
    serial: CardSerial,
) -> Result<Vec<u8>, Error> {
    // RFC 4514 string: escape the characters that are special in a DN.
    let subject = Name::from_str(&format!(
        "CN={},serialNumber={},O=cardwire virtual healthcare,C=GB",
        escape_dn(name),
        user_id.digits()
    ))
    .map_err(cert_error)?;
    let profile = Profile {
        issuer: Name::from_str(ISSUING_CA_NAME).map_err(cert_error)?,
        subject,
        ca: false,
        usage: KeyUsages::DigitalSignature,
    };
    // A positive serial: the card serial with a leading 0x01 so it is never negative.
    let mut cert_serial = vec![0x01];
    cert_serial.extend_from_slice(&serial.0);
    build(profile, &cert_serial, key.verifying_key(), ca_key)
}

/// The virtual issuing CA's self-signed certificate (DER), the trust anchor of every
/// virtual card's certificates.
///
/// # Errors
/// [`Error::KeyDerivation`] or [`Error::Certificate`] (practically never).
pub fn issuing_ca_certificate() -> Result<Vec<u8>, Error> {
    let ca_key = derive_signing_key(&ISSUING_CA_SEED, "issuing CA key")?;
    build_ca_certificate(&ca_key)
}

/// An RFC 4514 string value: the characters that are special in a DN escaped.
fn escape_dn(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for ch in name.chars() {
        if matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

/// The virtual issuing CA issues a PIV certificate (RFC 5280 profile as the card's
/// certificates, SP 800-73-4 Part 1 §3.3.2) for the public key `spki_der` (a DER
/// SubjectPublicKeyInfo, RSA or EC) of the PIV key in slot `slot` (`0x9A`, `0x9C`, `0x9D`,
/// `0x9E`): subject `CN=<name>,serialNumber=<user id>,OU=PIV <slot>,O=cardwire virtual
/// healthcare,C=GB`, key usage by slot (9A/9E digital signature, 9C digital signature and
/// non-repudiation, 9D key agreement and key encipherment), serial `01 ‖ card serial ‖ slot`.
/// Deterministic for the same inputs (RFC 6979 signatures). The Registration Authority of
/// `cardwire journey` calls this for the keys the card generated.
///
/// # Errors
/// [`Error::Certificate`] when `spki_der` does not decode or the certificate cannot be built;
/// [`Error::KeyDerivation`] (practically never).
pub fn issue_piv_certificate(
    spki_der: &[u8],
    slot: u8,
    name: &str,
    user_id: UserId,
    serial: CardSerial,
) -> Result<Vec<u8>, Error> {
    let spki =
        x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(cert_error)?;
    let ca_key = derive_signing_key(&ISSUING_CA_SEED, "issuing CA key")?;
    let subject = Name::from_str(&format!(
        "CN={},serialNumber={},OU=PIV {slot:02X},O=cardwire virtual healthcare,C=GB",
        escape_dn(name),
        user_id.digits()
    ))
    .map_err(cert_error)?;
    let usage = match slot {
        0x9C => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        0x9D => KeyUsages::KeyAgreement | KeyUsages::KeyEncipherment,
        _ => KeyUsages::DigitalSignature.into(),
    };
    let profile = PivProfile {
        issuer: Name::from_str(ISSUING_CA_NAME).map_err(cert_error)?,
        subject,
        usage,
    };
    let mut cert_serial = vec![0x01];
    cert_serial.extend_from_slice(&serial.0);
    cert_serial.push(slot);
    let serial = SerialNumber::new(&cert_serial).map_err(cert_error)?;
    let builder =
        CertificateBuilder::new(profile, serial, validity()?, spki).map_err(cert_error)?;
    let cert = builder
        .build::<_, p256::ecdsa::DerSignature>(&ca_key)
        .map_err(cert_error)?;
    cert.to_der().map_err(cert_error)
}

/// The profile of a PIV end-entity certificate: like [`Profile`] with a set of key usages.
struct PivProfile {
    issuer: Name,
    subject: Name,
    usage: der::flagset::FlagSet<KeyUsages>,
}

impl BuilderProfile for PivProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut extensions: Vec<Extension> = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = SubjectKeyIdentifier::try_from(issuer_spk)?;
        extensions.push(
            AuthorityKeyIdentifier {
                key_identifier: Some(aki.0.clone()),
                ..Default::default()
            }
            .to_extension(tbs.subject(), &extensions)?,
        );
        extensions.push(
            BasicConstraints {
                ca: false,
                path_len_constraint: None,
            }
            .to_extension(tbs.subject(), &extensions)?,
        );
        extensions.push(KeyUsage(self.usage).to_extension(tbs.subject(), &extensions)?);
        extensions.push(ski.to_extension(tbs.subject(), &extensions)?);
        Ok(extensions)
    }
}

/// Verifies that `cert_der` was signed by the key in `issuer_der` (ECDSA P-256 with SHA-256).
///
/// # Errors
/// [`Error::Certificate`] when either certificate does not decode or the signature is wrong.
pub fn verify_issued_by(cert_der: &[u8], issuer_der: &[u8]) -> Result<(), Error> {
    use p256::ecdsa::signature::Verifier;
    let cert = Certificate::from_der(cert_der).map_err(cert_error)?;
    let issuer = Certificate::from_der(issuer_der).map_err(cert_error)?;
    let issuer_key = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    let key = VerifyingKey::from_sec1_bytes(issuer_key).map_err(cert_error)?;
    let tbs = cert.tbs_certificate().to_der().map_err(cert_error)?;
    let sig_bytes = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| Error::Certificate("the signature BIT STRING has unused bits".into()))?;
    let sig = p256::ecdsa::DerSignature::from_bytes(sig_bytes).map_err(cert_error)?;
    key.verify(&tbs, &sig)
        .map_err(|_| Error::Certificate("the certificate's signature does not verify".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_identity() {
        let a = Identity::from_seed(&Seed::DEFAULT).unwrap();
        let b = Identity::from_seed(&Seed::DEFAULT).unwrap();
        assert_eq!(a.name, b.name);
        assert_eq!(a.user_id, b.user_id);
        assert_eq!(a.certificate, b.certificate);
        assert_eq!(a.verifying_key(), b.verifying_key());
        let c = Identity::from_seed(&Seed::from_text("another card")).unwrap();
        assert_ne!(a.verifying_key(), c.verifying_key());
        assert_ne!(a.certificate, c.certificate);
        assert_eq!(a.ca_certificate, c.ca_certificate);
    }

    #[test]
    fn user_id_is_twelve_digits() {
        for i in 0..20 {
            let id = Identity::from_seed(&Seed::from_text(&format!("card {i}"))).unwrap();
            let digits = id.user_id.digits();
            assert_eq!(digits.len(), 12);
            assert!(digits.bytes().all(|b| b.is_ascii_digit()));
            assert_ne!(digits.as_bytes()[0], b'0');
        }
    }

    #[test]
    fn certificate_decodes_and_matches_the_key() {
        let id = Identity::from_seed(&Seed::DEFAULT).unwrap();
        let cert = Certificate::from_der(&id.certificate).unwrap();
        let tbs = cert.tbs_certificate();
        let subject = tbs.subject().to_string();
        assert!(subject.contains(&format!("CN={}", id.name)), "{subject}");
        assert!(subject.contains(&id.user_id.digits()), "{subject}");
        assert_eq!(
            tbs.issuer().to_string(),
            "CN=cardwire Virtual Issuing CA,O=cardwire,C=GB"
        );
        let spki = tbs.subject_public_key_info();
        assert_eq!(spki.algorithm.oid.to_string(), "1.2.840.10045.2.1");
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
            .map(|oid| oid.to_string());
        assert_eq!(curve.as_deref(), Some("1.2.840.10045.3.1.7"));
        assert_eq!(
            cert.signature_algorithm().oid.to_string(),
            "1.2.840.10045.4.3.2"
        );
        let not_before = tbs.validity().not_before.to_string();
        let not_after = tbs.validity().not_after.to_string();
        assert!(not_before.starts_with("2025-01-01"), "{not_before}");
        assert!(not_after.starts_with("2035-12-31"), "{not_after}");
        assert_eq!(
            spki.subject_public_key.raw_bytes(),
            id.verifying_key().to_sec1_point(false).as_bytes()
        );
        verify_issued_by(&id.certificate, &id.ca_certificate).unwrap();
        verify_issued_by(&id.ca_certificate, &id.ca_certificate).unwrap();
    }

    #[test]
    fn a_tampered_certificate_fails_verification() {
        let id = Identity::from_seed(&Seed::DEFAULT).unwrap();
        let mut cert = id.certificate.clone();
        // Flip a bit inside the subject name (well inside the TBS part).
        let pos = cert.len() / 3;
        cert[pos] ^= 0x01;
        assert!(verify_issued_by(&cert, &id.ca_certificate).is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let id = Identity::from_seed(&Seed::DEFAULT).unwrap();
        let text = format!("{id:?} {:?}", Seed::DEFAULT);
        assert!(text.contains("<redacted>"));
        assert!(!text.contains("cardwire virtual"));
    }
}
