//! The virtual eMRTD's **test** PKI (ICAO Doc 9303-12): a Country Signing CA (CSCA), a
//! document signer (DS) under it, and EF.SOD (9303-10 §4.6.2) signed by the DS over the
//! card's data groups.
//!
//! **These are test keys.** Both private keys are derived from the card's [`Seed`] with
//! [`derive_signing_key`] (SHA-256 under the labels `emrtd-csca` and `emrtd-ds`), so anyone
//! who knows the seed can sign documents under this CSCA: trust it only to test a reader. The
//! certificates are fixed for a seed (fixed validity, RFC 6979 deterministic ECDSA P-256), and
//! so is the SOD for the same data groups. Certificate profiles after 9303-12 §7.1.1: the CSCA
//! is a CA with keyCertSign and cRLSign, the DS has digitalSignature only; both carry the
//! authority and subject key identifiers.
//!
//! Export the CSCA with [`csca_cert`] (DER) or [`csca_pem`] to give a reader its trust list.

use std::str::FromStr;
use std::string::{String, ToString};
use std::vec::Vec;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Tag};
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

use crate::error::Error;
use crate::identity::{Seed, derive_signing_key};

/// The test CSCA's name (country code `UT`, ICAO's Utopia of the specimens).
pub const CSCA_NAME: &str = "CN=cardwire TEST CSCA,O=cardwire test keys,C=UT";
/// The test document signer's name.
pub const DS_NAME: &str = "CN=cardwire TEST Document Signer,O=cardwire test keys,C=UT";
/// The validity of both certificates (UTC), so that they are the same whenever built.
pub const VALIDITY: (&str, &str) = ("2025-01-01T00:00:00Z", "2035-12-31T23:59:59Z");

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");
const CSCA_MASTER_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.2");
/// id-SecurityObject (BSI TR-03110-3 §A.1.2.2), EF.CardSecurity's eContentType.
const SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.3.2.1");
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

/// The test CSCA and document signer of one seed.
pub struct TestPki {
    ds_key: SigningKey,
    csca: Certificate,
    ds: Certificate,
}

impl core::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TestPki(<test keys redacted>)")
    }
}

fn cert_error<E: core::fmt::Display>(e: E) -> Error {
    Error::Certificate(e.to_string())
}

struct IcaoProfile {
    issuer: Name,
    subject: Name,
    ca: bool,
}

impl BuilderProfile for IcaoProfile {
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
        let mut ext: Vec<Extension> = Vec::new();
        let aki = SubjectKeyIdentifier::try_from(issuer_spk)?;
        ext.push(
            AuthorityKeyIdentifier {
                key_identifier: Some(aki.0),
                ..Default::default()
            }
            .to_extension(tbs.subject(), &ext)?,
        );
        ext.push(SubjectKeyIdentifier::try_from(spk)?.to_extension(tbs.subject(), &ext)?);
        let usage = if self.ca {
            ext.push(
                BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                }
                .to_extension(tbs.subject(), &ext)?,
            );
            KeyUsages::KeyCertSign | KeyUsages::CRLSign
        } else {
            KeyUsages::DigitalSignature.into()
        };
        ext.push(KeyUsage(usage).to_extension(tbs.subject(), &ext)?);
        Ok(ext)
    }
}

fn certificate(
    profile: IcaoProfile,
    serial: u8,
    validity: (&str, &str),
    subject: &SigningKey,
    issuer: &SigningKey,
) -> Result<Certificate, Error> {
    let spki = SubjectPublicKeyInfo::from_key(subject.verifying_key()).map_err(cert_error)?;
    let validity = Validity::new(
        Time::from_str(validity.0).map_err(cert_error)?,
        Time::from_str(validity.1).map_err(cert_error)?,
    );
    let serial = SerialNumber::new(&[serial]).map_err(cert_error)?;
    CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(cert_error)?
        .build::<_, DerSignature>(issuer)
        .map_err(cert_error)
}

impl TestPki {
    /// The test CSCA and DS of `seed`, both valid over [`VALIDITY`].
    ///
    /// # Errors
    /// [`Error::KeyDerivation`]; [`Error::Certificate`].
    pub fn from_seed(seed: &Seed) -> Result<Self, Error> {
        Self::with_ds_validity(seed, VALIDITY)
    }

    /// As [`from_seed`](Self::from_seed) with another validity for the DS certificate
    /// (`YYYY-MM-DDTHH:MM:SSZ`), to test expiry.
    ///
    /// # Errors
    /// As [`from_seed`](Self::from_seed).
    pub fn with_ds_validity(seed: &Seed, ds_validity: (&str, &str)) -> Result<Self, Error> {
        let csca_key = derive_signing_key(&seed.0, "emrtd-csca")?;
        let ds_key = derive_signing_key(&seed.0, "emrtd-ds")?;
        let csca_name = Name::from_str(CSCA_NAME).map_err(cert_error)?;
        let csca = certificate(
            IcaoProfile {
                issuer: csca_name.clone(),
                subject: csca_name.clone(),
                ca: true,
            },
            1,
            VALIDITY,
            &csca_key,
            &csca_key,
        )?;
        let ds = certificate(
            IcaoProfile {
                issuer: csca_name,
                subject: Name::from_str(DS_NAME).map_err(cert_error)?,
                ca: false,
            },
            2,
            ds_validity,
            &ds_key,
            &csca_key,
        )?;
        Ok(Self { ds_key, csca, ds })
    }

    /// The CSCA certificate (DER).
    ///
    /// # Errors
    /// [`Error::Certificate`] if it does not encode.
    pub fn csca_der(&self) -> Result<Vec<u8>, Error> {
        self.csca.to_der().map_err(cert_error)
    }

    /// The DS certificate (DER).
    ///
    /// # Errors
    /// [`Error::Certificate`] if it does not encode.
    pub fn ds_der(&self) -> Result<Vec<u8>, Error> {
        self.ds.to_der().map_err(cert_error)
    }

    /// EF.SOD (tag `77`) over `dgs`, each a data-group number and its whole file as stored
    /// (tag and length included): an `LDSSecurityObject` v0 with SHA-256 hashes in the order
    /// given, in CMS SignedData v3 with the DS certificate, one signer info (issuer and serial
    /// number) with the contentType and messageDigest signed attributes, signed with
    /// ecdsa-with-SHA256 (ICAO 9303-10 §4.6.2).
    ///
    /// # Errors
    /// [`Error::Certificate`] if a structure does not encode.
    pub fn build_sod(&self, dgs: &[(u8, &[u8])]) -> Result<Vec<u8>, Error> {
        let der = |e: der::Error| cert_error(e);
        let sha256 = AlgorithmIdentifierOwned {
            oid: SHA256,
            parameters: None,
        };
        // LDSSecurityObject ::= SEQUENCE { version, hashAlgorithm, dataGroupHashValues }
        let mut hashes = Vec::new();
        for &(number, file) in dgs {
            let mut dgh = u32::from(number).to_der().map_err(der)?;
            dgh.extend(
                OctetString::new(Sha256::digest(file).to_vec())
                    .map_err(der)?
                    .to_der()
                    .map_err(der)?,
            );
            hashes.extend(
                Any::new(Tag::Sequence, dgh)
                    .map_err(der)?
                    .to_der()
                    .map_err(der)?,
            );
        }
        let mut lds = 0u32.to_der().map_err(der)?;
        lds.extend(sha256.to_der().map_err(der)?);
        lds.extend(
            Any::new(Tag::Sequence, hashes)
                .map_err(der)?
                .to_der()
                .map_err(der)?,
        );
        let lds = Any::new(Tag::Sequence, lds)
            .map_err(der)?
            .to_der()
            .map_err(der)?;

        let content_info = self.signed_data(LDS_SECURITY_OBJECT, lds)?;
        let app = Tag::Application {
            constructed: true,
            number: der::TagNumber(23),
        };
        Any::new(app, content_info)
            .map_err(der)?
            .to_der()
            .map_err(der)
    }

    /// EF.CardSecurity (BSI TR-03110-3 §A.1.2.2, ICAO Doc 9303-11 §9.2.2): `security_infos`
    /// (a DER `SecurityInfos` set) as the eContent of type id-SecurityObject in CMS
    /// SignedData v3, signed like EF.SOD by the test document signer. A bare `ContentInfo`
    /// (no application tag).
    ///
    /// # Errors
    /// [`Error::Certificate`] if a structure does not encode.
    pub fn build_card_security(&self, security_infos: &[u8]) -> Result<Vec<u8>, Error> {
        self.signed_data(SECURITY_OBJECT, security_infos.to_vec())
    }

    /// ContentInfo { SignedData v3 } over `econtent` of type `content_type`, with the DS
    /// certificate and one signer info (issuer and serial number; contentType and
    /// messageDigest signed attributes; ecdsa-with-SHA256), as RFC 5652 §5 describes.
    fn signed_data(
        &self,
        content_type: ObjectIdentifier,
        econtent: Vec<u8>,
    ) -> Result<Vec<u8>, Error> {
        let der = |e: der::Error| cert_error(e);
        let sha256 = AlgorithmIdentifierOwned {
            oid: SHA256,
            parameters: None,
        };
        let attr = |oid, value: Any| -> Result<Attribute, Error> {
            Ok(Attribute {
                oid,
                values: SetOfVec::try_from(std::vec![value]).map_err(der)?,
            })
        };
        let attrs = SetOfVec::try_from(std::vec![
            attr(CONTENT_TYPE, Any::encode_from(&content_type).map_err(der)?)?,
            attr(
                MESSAGE_DIGEST,
                Any::new(Tag::OctetString, Sha256::digest(&econtent).to_vec()).map_err(der)?,
            )?,
        ])
        .map_err(der)?;
        let signature: DerSignature = self.ds_key.sign(&attrs.to_der().map_err(der)?);
        let tbs = self.ds.tbs_certificate();
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg: sha256.clone(),
            signed_attrs: Some(attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_SHA256,
                parameters: None,
            },
            signature: OctetString::new(signature.to_bytes().to_vec()).map_err(der)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(std::vec![sha256]).map_err(der)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: content_type,
                econtent: Some(Any::new(Tag::OctetString, econtent).map_err(der)?),
            },
            certificates: Some(
                CertificateSet::try_from(std::vec![CertificateChoices::Certificate(
                    self.ds.clone()
                )])
                .map_err(der)?,
            ),
            crls: None,
            signer_infos: SignerInfos::try_from(std::vec![signer]).map_err(der)?,
        };
        ContentInfo {
            content_type: SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(der)?,
        }
        .to_der()
        .map_err(der)
    }

    /// An ICAO CSCA master list (9303-12 §8) of `cscas` (DER certificates), signed by the
    /// test document signer acting as master list signer: its issuer, this CSCA, is found in
    /// the list when the list holds [`TestPki::csca_der`].
    ///
    /// # Errors
    /// [`Error::Certificate`] if a certificate does not decode or a structure does not encode.
    pub fn build_master_list(&self, cscas: &[&[u8]]) -> Result<Vec<u8>, Error> {
        let der = |e: der::Error| cert_error(e);
        let mut list = Vec::new();
        for c in cscas {
            list.push(Certificate::from_der(c).map_err(der)?);
        }
        let set = SetOfVec::try_from(list).map_err(der)?;
        let mut ml = 0u32.to_der().map_err(der)?;
        ml.extend(set.to_der().map_err(der)?);
        let ml = Any::new(Tag::Sequence, ml)
            .map_err(der)?
            .to_der()
            .map_err(der)?;
        self.signed_data(CSCA_MASTER_LIST, ml)
    }
}

/// EF.SOD over `dgs` signed by the test document signer of `seed` (see [`TestPki::build_sod`]).
///
/// # Errors
/// As [`TestPki::from_seed`] and [`TestPki::build_sod`].
pub fn build_sod(seed: &Seed, dgs: &[(u8, &[u8])]) -> Result<Vec<u8>, Error> {
    TestPki::from_seed(seed)?.build_sod(dgs)
}

/// EF.CardSecurity over `security_infos` signed by the test document signer of `seed` (see
/// [`TestPki::build_card_security`]).
///
/// # Errors
/// As [`TestPki::from_seed`] and [`TestPki::build_card_security`].
pub fn build_card_security(seed: &Seed, security_infos: &[u8]) -> Result<Vec<u8>, Error> {
    TestPki::from_seed(seed)?.build_card_security(security_infos)
}

/// The test CSCA certificate of `seed` (DER), the trust anchor for the card's EF.SOD.
///
/// # Errors
/// As [`TestPki::from_seed`].
pub fn csca_cert(seed: &Seed) -> Result<Vec<u8>, Error> {
    TestPki::from_seed(seed)?.csca_der()
}

/// The test CSCA certificate of `seed` as PEM (RFC 7468 `CERTIFICATE`).
///
/// # Errors
/// As [`TestPki::from_seed`].
pub fn csca_pem(seed: &Seed) -> Result<String, Error> {
    use der::EncodePem;
    TestPki::from_seed(seed)?
        .csca
        .to_pem(der::pem::LineEnding::LF)
        .map_err(cert_error)
}
