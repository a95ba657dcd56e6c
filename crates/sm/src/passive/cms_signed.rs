//! EF.SOD as CMS SignedData (ICAO Doc 9303-10 §4.6.2, RFC 5652 §5) and the signer check
//! shared with master lists (9303-12 §8).

use alloc::vec::Vec;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use super::signature::{self, DigestAlg, digest_of};
use super::{PassiveError, oids};
use crate::security_infos::Cursor;
use crate::sod::LdsSecurityObject;

/// A CMS SignedData with its eContent, as decoded from a `ContentInfo`.
pub(crate) struct Signed {
    pub(crate) signed_data: SignedData,
    pub(crate) econtent: Vec<u8>,
}

impl Signed {
    /// Decodes `ContentInfo { id-signedData, SignedData }` whose eContentType is `content_type`.
    pub(crate) fn decode(
        content_info: &[u8],
        content_type: ObjectIdentifier,
    ) -> Result<Self, PassiveError> {
        let ci = ContentInfo::from_der(content_info)?;
        if ci.content_type != oids::SIGNED_DATA {
            return Err(PassiveError::WrongContent);
        }
        let signed_data: SignedData = ci.content.decode_as()?;
        if signed_data.encap_content_info.econtent_type != content_type {
            return Err(PassiveError::WrongContent);
        }
        let econtent: OctetString = signed_data
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or(PassiveError::WrongContent)?
            .decode_as()?;
        Ok(Self {
            econtent: econtent.into_bytes().into_vec(),
            signed_data,
        })
    }

    /// The first signer info (ICAO documents have exactly one).
    pub(crate) fn signer_info(&self) -> Result<&SignerInfo, PassiveError> {
        self.signed_data
            .signer_infos
            .0
            .iter()
            .next()
            .ok_or(PassiveError::NoSignerInfo)
    }

    /// The certificate in `certificates` named by the signer's `sid`.
    pub(crate) fn signer_certificate(&self) -> Result<&Certificate, PassiveError> {
        let sid = &self.signer_info()?.sid;
        self.signed_data
            .certificates
            .iter()
            .flat_map(|set| set.0.iter())
            .filter_map(|c| match c {
                CertificateChoices::Certificate(c) => Some(c),
                CertificateChoices::Other(_) => None,
            })
            .find(|c| identifies(sid, c))
            .ok_or(PassiveError::NoSignerCertificate)
    }

    /// RFC 5652 §5.4 and §5.6 for the first signer: the contentType and messageDigest signed
    /// attributes, then the signature over the DER `SET OF` signed attributes with `signer`'s key.
    pub(crate) fn verify_with(&self, signer: &Certificate) -> Result<(), PassiveError> {
        let info = self.signer_info()?;
        let digest = digest_of(&info.digest_alg)?;
        let attrs = info
            .signed_attrs
            .as_ref()
            .ok_or(PassiveError::NoSignedAttributes)?;
        let single = |oid: ObjectIdentifier| {
            let mut values = attrs
                .iter()
                .filter(|a| a.oid == oid)
                .flat_map(|a| a.values.iter());
            match (values.next(), values.next()) {
                (Some(v), None) => Some(v),
                _ => None,
            }
        };
        let content_type = single(oids::CONTENT_TYPE)
            .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
            .ok_or(PassiveError::ContentTypeMismatch)?;
        if content_type != self.signed_data.encap_content_info.econtent_type {
            return Err(PassiveError::ContentTypeMismatch);
        }
        let md = single(oids::MESSAGE_DIGEST)
            .and_then(|v| v.decode_as::<OctetString>().ok())
            .ok_or(PassiveError::MessageDigestMismatch)?;
        if !ct_eq(md.as_bytes(), &digest.digest(&self.econtent)) {
            return Err(PassiveError::MessageDigestMismatch);
        }
        // The signature covers the attributes with an explicit SET OF tag (RFC 5652 §5.4).
        let signed = attrs.to_der()?;
        signature::verify(
            signer.tbs_certificate().subject_public_key_info(),
            &info.signature_algorithm,
            Some(digest),
            &signed,
            info.signature.as_bytes(),
            PassiveError::SignatureInvalid,
        )
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Whether `sid` names `cert` (RFC 5652 §5.3: issuer and serial number, or the subject key
/// identifier).
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            isn.issuer == *tbs.issuer() && isn.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(tbs.get_extension::<SubjectKeyIdentifier>(), Ok(Some((_, s))) if s == *ski)
        }
    }
}

/// EF.SOD parsed: the SignedData, its `LDSSecurityObject` and the document signer certificate.
pub struct SignedSod {
    signed: Signed,
    hash: DigestAlg,
}

impl core::fmt::Debug for SignedSod {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignedSod")
            .field("hash", &self.hash)
            .field("lds_len", &self.signed.econtent.len())
            .finish_non_exhaustive()
    }
}

impl SignedSod {
    /// Parses EF.SOD as read from the chip: `77 { ContentInfo }` (ICAO 9303-10 §4.6.2), or a
    /// bare `ContentInfo`. Checks the eContentType (id-icao-mrtd-security-ldsSecurityObject)
    /// and the `LDSSecurityObject`; verifies nothing (see [`verify_signature`](Self::verify_signature)).
    ///
    /// # Errors
    /// [`PassiveError::Malformed`]; [`PassiveError::WrongContent`]; [`PassiveError::Lds`].
    pub fn parse(sod: &[u8]) -> Result<Self, PassiveError> {
        let content_info = if sod.first() == Some(&0x77) {
            Cursor::new(sod, 0)
                .next()
                .map_err(|_| PassiveError::Malformed { offset: 0 })?
                .ok_or(PassiveError::Malformed { offset: 0 })?
                .content
        } else {
            sod
        };
        let signed = Signed::decode(content_info, oids::LDS_SECURITY_OBJECT)?;
        let lds = LdsSecurityObject::parse_content(&signed.econtent)?;
        let hash = match lds.hash_algorithm() {
            crate::sod::SodHash::Sha1 => DigestAlg::Sha1,
            crate::sod::SodHash::Sha224 => DigestAlg::Sha224,
            crate::sod::SodHash::Sha256 => DigestAlg::Sha256,
            crate::sod::SodHash::Sha384 => DigestAlg::Sha384,
            crate::sod::SodHash::Sha512 => DigestAlg::Sha512,
        };
        Ok(Self { signed, hash })
    }

    /// The `LDSSecurityObject` (the data-group hashes).
    pub fn lds(&self) -> LdsSecurityObject<'_> {
        // Checked in `parse`; an error here cannot happen, and yields no hashes if it did.
        LdsSecurityObject::parse_content(&self.signed.econtent).unwrap_or(LdsSecurityObject::EMPTY)
    }

    /// The hash algorithm of the data-group hashes.
    pub fn hash_algorithm(&self) -> DigestAlg {
        self.hash
    }

    /// The encoded `LDSSecurityObject` (the eContent).
    pub fn lds_bytes(&self) -> &[u8] {
        &self.signed.econtent
    }

    /// The SignedData.
    pub fn signed_data(&self) -> &SignedData {
        &self.signed.signed_data
    }

    /// The document signer certificate: the one in `certificates` the signer's `sid` names.
    ///
    /// # Errors
    /// [`PassiveError::NoSignerInfo`]; [`PassiveError::NoSignerCertificate`].
    pub fn document_signer(&self) -> Result<&Certificate, PassiveError> {
        self.signed.signer_certificate()
    }

    /// Verifies the SOD's signature (ICAO 9303-11 §5.1 step 1 without the chain): the
    /// contentType and messageDigest signed attributes and the DS's signature over them.
    ///
    /// # Errors
    /// [`PassiveError::NoSignerInfo`], [`NoSignerCertificate`](PassiveError::NoSignerCertificate),
    /// [`NoSignedAttributes`](PassiveError::NoSignedAttributes),
    /// [`ContentTypeMismatch`](PassiveError::ContentTypeMismatch),
    /// [`MessageDigestMismatch`](PassiveError::MessageDigestMismatch),
    /// [`UnsupportedAlgorithm`](PassiveError::UnsupportedAlgorithm),
    /// [`BadPublicKey`](PassiveError::BadPublicKey),
    /// [`SignatureInvalid`](PassiveError::SignatureInvalid).
    pub fn verify_signature(&self) -> Result<(), PassiveError> {
        self.signed.verify_with(self.document_signer()?)
    }
}
