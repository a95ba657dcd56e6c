//! Passive Authentication (ICAO Doc 9303-11 §5.1, 9303-10 §4.6.2, 9303-12): EF.SOD as CMS
//! SignedData (RFC 5652), its document signer (DS) certificate, the signature over the signed
//! attributes, the DS certificate against a CSCA from a trust list the caller gives, and every
//! data group read compared with its hash in the `LDSSecurityObject`.
//!
//! Needs the `alloc` feature (certificates and names are owned); the no-alloc core keeps the
//! hash check of [`crate::sod`]. Nothing here reads a clock: the caller passes the time at
//! which certificates must be valid, as a [`Duration`](core::time::Duration) since the UNIX
//! epoch.
//!
//! - [`SignedSod`]: EF.SOD parsed (tag `77`, `ContentInfo`, `SignedData`, the
//!   `LDSSecurityObject`, the DS certificate matched by the signer's `sid`) and
//!   [`SignedSod::verify_signature`] (contentType and messageDigest attributes, the signature
//!   over the DER `SET OF` signed attributes).
//! - [`TrustList`]: CSCA certificates; [`TrustList::verify_document_signer`] and, under `std`,
//!   [`TrustList::load`] for a certificate file (DER or PEM), a directory, or an ICAO master
//!   list (9303-12 §8).
//! - [`passive_authentication`]: all of it as a typed [`PassiveReport`].
//!
//! - [`CardSecurity`]: EF.CardSecurity (BSI TR-03110-3 §A.1.2.2, ICAO 9303-11 §9.2.2), the
//!   signed `SecurityInfos` that hold the chip's static key for PACE-CAM, with the same
//!   signature check.
//!
//! Signature schemes: ECDSA on P-256, P-384, brainpoolP256r1 and brainpoolP384r1 (DER or BSI
//! TR-03111 plain signatures), RSA PKCS#1 v1.5 and RSASSA-PSS with MGF1 of the same hash;
//! SHA-1/224/256/384/512. EC keys may name their curve or carry explicit domain parameters
//! (German document signers do), recognised by the field prime; the key must be a point of
//! that standard curve. The DER must be strict (RFC 5652 requires DER for
//! signed attributes; BER-encoded SODs are refused as [`PassiveError::Malformed`]).

mod cms_signed;
#[cfg(feature = "std")]
mod load;
mod master_list;
mod report;
mod signature;
mod trust;

pub use cms_signed::{CardSecurity, SignedSod};
#[cfg(feature = "std")]
pub use load::{LoadError, LoadedTrust};
pub use master_list::{MasterList, MasterListCheck};
pub use report::{DataGroupCheck, DataGroupOutcome, PassiveReport, passive_authentication};
pub use signature::DigestAlg;
pub use trust::TrustList;

use crate::security_infos::SecurityInfosError;
use crate::sod::SodError;

/// OIDs of ICAO Doc 9303-10 §4.6.2 / 9303-12 §8 and RFC 5652.
pub mod oids {
    use der::asn1::ObjectIdentifier as Oid;
    /// id-icao-mrtd-security-ldsSecurityObject (2.23.136.1.1.1), EF.SOD's eContentType.
    pub const LDS_SECURITY_OBJECT: Oid = Oid::new_unwrap("2.23.136.1.1.1");
    /// id-icao-cscaMasterList (2.23.136.1.1.2), a master list's eContentType.
    pub const CSCA_MASTER_LIST: Oid = Oid::new_unwrap("2.23.136.1.1.2");
    /// id-SecurityObject (0.4.0.127.0.7.3.2.1, BSI TR-03110-3 §A.1.2.2), EF.CardSecurity's
    /// eContentType.
    pub const SECURITY_OBJECT: Oid = Oid::new_unwrap("0.4.0.127.0.7.3.2.1");
    /// id-signedData (1.2.840.113549.1.7.2).
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    /// id-contentType attribute (1.2.840.113549.1.9.3).
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    /// id-messageDigest attribute (1.2.840.113549.1.9.4).
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
}

/// Why a Passive Authentication step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PassiveError {
    /// The DER is broken or not strict DER; `offset` is where the decoder stopped, in the
    /// structure being decoded (EF.SOD after its tag-`77` header, a certificate, a master list).
    Malformed {
        /// Byte offset, if the decoder knew it.
        offset: u32,
    },
    /// The file is not the expected CMS object: no tag `77`, not `SignedData`, or the wrong
    /// eContentType (neither the LDS security object nor a CSCA master list, as expected).
    WrongContent,
    /// The `LDSSecurityObject` inside is not valid.
    Lds(SodError),
    /// The `SecurityInfos` inside EF.CardSecurity are not valid.
    SecurityInfos(SecurityInfosError),
    /// `signerInfos` is empty.
    NoSignerInfo,
    /// No certificate in the SignedData matches the signer's `sid` (issuer and serial, or SKI).
    NoSignerCertificate,
    /// The signer info has no signed attributes (9303-10 §4.6.2.2 requires them).
    NoSignedAttributes,
    /// The contentType signed attribute is missing or differs from the eContentType.
    ContentTypeMismatch,
    /// The messageDigest signed attribute is missing or is not the hash of the eContent.
    MessageDigestMismatch,
    /// A digest, signature algorithm or curve this module does not verify.
    UnsupportedAlgorithm,
    /// A public key that does not decode for its algorithm.
    BadPublicKey,
    /// The signature over the signed attributes does not verify with the signer's key.
    SignatureInvalid,
    /// No CSCA in the trust list has the DS certificate's issuer name (and key identifier).
    UnknownCsca,
    /// A CSCA with the right name exists but the DS certificate's signature does not verify.
    CertificateSignatureInvalid,
    /// The DS certificate is not yet valid at the time given.
    DsNotYetValid,
    /// The DS certificate has expired at the time given.
    DsExpired,
    /// The CSCA certificate is not yet valid at the time given.
    CscaNotYetValid,
    /// The CSCA certificate has expired at the time given.
    CscaExpired,
}

impl core::fmt::Display for PassiveError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            PassiveError::Malformed { offset } => write!(f, "malformed DER at offset {offset}"),
            PassiveError::WrongContent => f.write_str("not the expected CMS SignedData content"),
            PassiveError::Lds(e) => write!(f, "LDS security object: {e}"),
            PassiveError::SecurityInfos(e) => write!(f, "card security: {e}"),
            PassiveError::NoSignerInfo => f.write_str("SignedData has no signer info"),
            PassiveError::NoSignerCertificate => {
                f.write_str("no certificate in the SignedData matches the signer")
            }
            PassiveError::NoSignedAttributes => {
                f.write_str("the signer info has no signed attributes")
            }
            PassiveError::ContentTypeMismatch => {
                f.write_str("the contentType signed attribute does not match the content")
            }
            PassiveError::MessageDigestMismatch => {
                f.write_str("the messageDigest signed attribute does not match the content")
            }
            PassiveError::UnsupportedAlgorithm => f.write_str("unsupported algorithm or curve"),
            PassiveError::BadPublicKey => f.write_str("the public key does not decode"),
            PassiveError::SignatureInvalid => f.write_str("the signature does not verify"),
            PassiveError::UnknownCsca => {
                f.write_str("no CSCA in the trust list issued the certificate")
            }
            PassiveError::CertificateSignatureInvalid => {
                f.write_str("the certificate's signature does not verify with the CSCA's key")
            }
            PassiveError::DsNotYetValid => {
                f.write_str("the document signer certificate is not yet valid")
            }
            PassiveError::DsExpired => f.write_str("the document signer certificate has expired"),
            PassiveError::CscaNotYetValid => f.write_str("the CSCA certificate is not yet valid"),
            PassiveError::CscaExpired => f.write_str("the CSCA certificate has expired"),
        }
    }
}

impl core::error::Error for PassiveError {}

impl From<der::Error> for PassiveError {
    fn from(e: der::Error) -> Self {
        PassiveError::Malformed {
            offset: e.position().map_or(0, u32::from),
        }
    }
}

impl From<SodError> for PassiveError {
    fn from(e: SodError) -> Self {
        PassiveError::Lds(e)
    }
}
