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
use crate::security_infos::{Cursor, SecurityInfos};
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

/// EF.CardSecurity parsed (BSI TR-03110-3 §A.1.2.2, ICAO Doc 9303-11 §9.2.2): a CMS
/// SignedData whose eContent (type id-SecurityObject) is a DER `SecurityInfos` set. It holds
/// the chip's static `ChipAuthenticationPublicKeyInfo`, against which a PACE-CAM run is
/// checked ([`CamProof::verify_key`](crate::pace::CamProof::verify_key)); the signer is a
/// document signer, checked like EF.SOD's.
pub struct CardSecurity {
    signed: Signed,
}

impl core::fmt::Debug for CardSecurity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CardSecurity")
            .field("content_len", &self.signed.econtent.len())
            .finish_non_exhaustive()
    }
}

impl CardSecurity {
    /// Parses EF.CardSecurity (a bare `ContentInfo`): checks the eContentType and the
    /// `SecurityInfos`; verifies nothing (see [`verify_signature`](Self::verify_signature)).
    ///
    /// # Errors
    /// [`PassiveError::Malformed`]; [`PassiveError::WrongContent`];
    /// [`PassiveError::SecurityInfos`].
    pub fn parse(card_security: &[u8]) -> Result<Self, PassiveError> {
        let signed = Signed::decode(card_security, oids::SECURITY_OBJECT)?;
        SecurityInfos::parse(&signed.econtent).map_err(PassiveError::SecurityInfos)?;
        Ok(Self { signed })
    }

    /// The signed `SecurityInfos`.
    pub fn security_infos(&self) -> SecurityInfos<'_> {
        // Checked in `parse`; an error here cannot happen, and yields no infos if it did.
        SecurityInfos::parse(&self.signed.econtent).unwrap_or(SecurityInfos::EMPTY)
    }

    /// The encoded `SecurityInfos` (the eContent).
    pub fn content(&self) -> &[u8] {
        &self.signed.econtent
    }

    /// The SignedData.
    pub fn signed_data(&self) -> &SignedData {
        &self.signed.signed_data
    }

    /// The signer's certificate: the one in `certificates` the signer's `sid` names.
    ///
    /// # Errors
    /// [`PassiveError::NoSignerInfo`]; [`PassiveError::NoSignerCertificate`].
    pub fn document_signer(&self) -> Result<&Certificate, PassiveError> {
        self.signed.signer_certificate()
    }

    /// Verifies the signature as [`SignedSod::verify_signature`] does (without the chain to
    /// the CSCA: check [`document_signer`](Self::document_signer) with a
    /// [`TrustList`](super::TrustList)).
    ///
    /// # Errors
    /// As [`SignedSod::verify_signature`].
    pub fn verify_signature(&self) -> Result<(), PassiveError> {
        self.signed.verify_with(self.document_signer()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passive::TrustList;
    use core::time::Duration;
    use std::string::ToString;
    use std::{format, vec};

    /// BSI TR-03105-5 reference data set, EF_SOD.bin without its tag-77 header (testdata/README.md).
    const BSI: &[u8] = include_bytes!("testdata/bsi-tr03105-5-ef-sod-content.der");
    const SOD: &[u8] = include_bytes!("testdata/cardwire-test-sod.der");
    /// A German identity card's EF.CardSecurity (testdata/README.md).
    const DE_CARD_SECURITY: &[u8] = include_bytes!("testdata/de-eid-card-security.der");
    const CSCA: &[u8] = include_bytes!("testdata/cardwire-test-csca.der");
    const DG1: &[u8] = include_bytes!("testdata/cardwire-test-dg1.bin");
    const DG2: &[u8] = include_bytes!("testdata/cardwire-test-dg2.bin");
    const OSSL_PKCS1: &[u8] = include_bytes!("testdata/openssl-sod-rsa-pkcs1.der");
    const OSSL_PSS: &[u8] = include_bytes!("testdata/openssl-sod-rsa-pss.der");
    const OSSL_P384: &[u8] = include_bytes!("testdata/openssl-sod-p384.der");
    const OSSL_CSCA_RSA: &[u8] = include_bytes!("testdata/openssl-csca-rsa.der");
    const OSSL_CSCA_P384: &[u8] = include_bytes!("testdata/openssl-csca-p384.der");
    /// 2027-06-01T00:00:00Z.
    const NOW: Duration = Duration::from_secs(1_811_808_000);

    fn with_77(content_info: &[u8]) -> Vec<u8> {
        let n = content_info.len();
        let mut v = vec![0x77, 0x82, (n >> 8) as u8, n as u8];
        v.extend_from_slice(content_info);
        v
    }

    fn trust(der: &[u8]) -> TrustList {
        let mut t = TrustList::new();
        t.push_der(der).unwrap();
        t
    }

    #[test]
    fn bsi_reference_sod() {
        for bytes in [BSI.to_vec(), with_77(BSI)] {
            let sod = SignedSod::parse(&bytes).unwrap();
            assert_eq!(sod.hash_algorithm(), DigestAlg::Sha256);
            let numbers: Vec<u32> = sod.lds().data_groups().map(|(n, _)| n).collect();
            assert_eq!(numbers, [1, 2, 3, 14, 4]);
            // DG1's hash, as printed by `openssl asn1parse`.
            assert_eq!(sod.lds().hash_of(1).unwrap()[..4], [0x41, 0x70, 0xCA, 0x87]);
            // RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32.
            assert_eq!(sod.verify_signature(), Ok(()));
            let ds = sod.document_signer().unwrap();
            assert_eq!(
                ds.tbs_certificate().subject().to_string(),
                "CN=HJP PB DS,OU=Document Signer,O=HJP Consulting,C=DE"
            );
            // Its CSCA is not published with it; the DS expired in 2014.
            assert_eq!(
                TrustList::new().verify_document_signer(ds, NOW),
                Err(PassiveError::DsExpired)
            );
            assert_eq!(
                TrustList::new().find_issuer(ds),
                Err(PassiveError::UnknownCsca)
            );
        }
    }

    #[test]
    fn altered_signature_is_refused() {
        // Both files end with the signature (no unsigned attributes).
        for sod in [BSI, &SOD[4..]] {
            let mut bytes = sod.to_vec();
            let n = bytes.len();
            bytes[n - 2] ^= 0x40;
            let parsed = SignedSod::parse(&bytes).unwrap();
            assert_eq!(
                parsed.verify_signature(),
                Err(PassiveError::SignatureInvalid)
            );
        }
    }

    #[test]
    fn cardwire_test_sod_verifies() {
        let sod = SignedSod::parse(SOD).unwrap();
        assert_eq!(sod.verify_signature(), Ok(()));
        assert_eq!(sod.lds().check_data_group(1, DG1), Ok(()));
        assert_eq!(sod.lds().check_data_group(2, DG2), Ok(()));
        let ds = sod.document_signer().unwrap();
        let t = trust(CSCA);
        let csca = t.verify_document_signer(ds, NOW).unwrap();
        assert_eq!(csca.to_der().unwrap(), CSCA);
        // The CSCA does not verify itself as a DS of another: its own issuer is itself.
        assert_eq!(t.find_issuer(csca), Ok(csca));
        assert!(format!("{sod:?}").starts_with("SignedSod"));
        assert_eq!(sod.lds_bytes().len(), 98);
        assert_eq!(sod.signed_data().signer_infos.0.len(), 1);
    }

    #[test]
    fn openssl_made_sods_verify() {
        for (sod, csca, hash) in [
            (OSSL_PKCS1, OSSL_CSCA_RSA, DigestAlg::Sha256),
            (OSSL_PSS, OSSL_CSCA_RSA, DigestAlg::Sha256),
            (OSSL_P384, OSSL_CSCA_P384, DigestAlg::Sha256),
        ] {
            let parsed = SignedSod::parse(sod).unwrap();
            assert_eq!(parsed.hash_algorithm(), hash);
            assert_eq!(parsed.verify_signature(), Ok(()));
            let ds = parsed.document_signer().unwrap();
            assert!(trust(csca).verify_document_signer(ds, NOW).is_ok());
            // The other CSCA has another name: unknown.
            let other = if csca == OSSL_CSCA_RSA {
                OSSL_CSCA_P384
            } else {
                OSSL_CSCA_RSA
            };
            assert_eq!(
                trust(other).verify_document_signer(ds, NOW),
                Err(PassiveError::UnknownCsca)
            );
            assert_eq!(parsed.lds().check_data_group(1, DG1), Ok(()));
        }
    }

    #[test]
    fn not_a_sod() {
        // A master-list-typed or data-typed SignedData, a bare LDS, an empty file.
        assert_eq!(
            SignedSod::parse(&[]).unwrap_err(),
            PassiveError::Malformed { offset: 0 }
        );
        assert!(matches!(
            SignedSod::parse(&SOD[4..60]),
            Err(PassiveError::Malformed { .. })
        ));
        let mut wrong_type = SOD.to_vec();
        // eContentType 2.23.136.1.1.1 → 2.23.136.1.1.2 (its last byte).
        let at = wrong_type
            .windows(6)
            .position(|w| w == [0x67, 0x81, 0x08, 0x01, 0x01, 0x01])
            .unwrap();
        wrong_type[at + 5] = 0x02;
        assert_eq!(
            SignedSod::parse(&wrong_type).unwrap_err(),
            PassiveError::WrongContent
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(sod) = SignedSod::parse(&bytes) {
                let _ = sod.verify_signature();
            }
        }

        #[test]
        fn flipped_byte_never_panics_nor_verifies_wrongly(at in 0usize..899, bit in 0u8..8) {
            let mut bytes = SOD.to_vec();
            bytes[at] ^= 1 << bit;
            let t = trust(CSCA);
            if let Ok(sod) = SignedSod::parse(&bytes) {
                // Anything that still verifies must still be under the test CSCA with the
                // same hashes (a flip in an unsigned, unhashed place such as a certificate
                // extension would fail the certificate signature instead).
                if sod.verify_signature().is_ok()
                    && sod.document_signer().and_then(|ds| t.verify_document_signer(ds, NOW)).is_ok()
                {
                    proptest::prop_assert_eq!(sod.lds().check_data_group(1, DG1), Ok(()));
                    proptest::prop_assert_eq!(sod.lds().check_data_group(2, DG2), Ok(()));
                }
            }
        }
    }

    #[test]
    fn german_card_security_with_an_explicit_brainpool_p384_signer() {
        let cs = CardSecurity::parse(DE_CARD_SECURITY).unwrap();
        assert!(format!("{cs:?}").starts_with("CardSecurity"));
        assert_eq!(cs.security_infos().pace_infos().count(), 2);
        assert_eq!(
            cs.security_infos()
                .chip_authentication_public_keys()
                .filter_map(|k| k.key_id())
                .collect::<Vec<_>>(),
            vec![13, 0x48]
        );
        assert_eq!(cs.content().first(), Some(&0x31));
        assert_eq!(cs.signed_data().signer_infos.0.len(), 1);
        // The document signer's key has explicit brainpoolP384r1 parameters.
        let ds = cs.document_signer().unwrap();
        let params = ds
            .tbs_certificate()
            .subject_public_key_info()
            .algorithm
            .parameters
            .as_ref()
            .unwrap();
        assert_eq!(der::Tagged::tag(params), der::Tag::Sequence);
        assert_eq!(cs.verify_signature(), Ok(()));
    }

    /// The same signature checked with the signer's key under the named curve OID
    /// (brainpoolP384r1), and refused under a curve parameter that is neither form.
    #[test]
    fn german_signer_key_named_or_odd() {
        use der::asn1::{Any, BitString};
        use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
        let cs = CardSecurity::parse(DE_CARD_SECURITY).unwrap();
        let info = cs.signed.signer_info().unwrap();
        let message = info.signed_attrs.as_ref().unwrap().to_der().unwrap();
        let point = cs
            .document_signer()
            .unwrap()
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
            .to_vec();
        let spki = |params: Any| SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: signature::oid::EC_PUBLIC_KEY,
                parameters: Some(params),
            },
            subject_public_key: BitString::from_bytes(&point).unwrap(),
        };
        let check = |params: Any| {
            signature::verify(
                &spki(params),
                &info.signature_algorithm,
                None,
                &message,
                info.signature.as_bytes(),
                PassiveError::SignatureInvalid,
            )
        };
        let named = Any::encode_from(&signature::oid::BRAINPOOL_P384R1).unwrap();
        assert_eq!(check(named), Ok(()));
        let p256 = Any::encode_from(&signature::oid::P256).unwrap();
        assert_eq!(check(p256), Err(PassiveError::BadPublicKey));
        let odd = Any::encode_from(&5u8).unwrap();
        assert_eq!(check(odd), Err(PassiveError::UnsupportedAlgorithm));
    }

    #[test]
    fn german_card_security_tampered() {
        // A bit of a chip key in the SecurityInfos (key 13's point starts `04 61 4C D8 8B`).
        let mut content = DE_CARD_SECURITY.to_vec();
        let at = content
            .windows(5)
            .position(|w| w == [0x04, 0x61, 0x4C, 0xD8, 0x8B])
            .unwrap();
        content[at + 10] ^= 0x01;
        let cs = CardSecurity::parse(&content).unwrap();
        assert_eq!(
            cs.verify_signature(),
            Err(PassiveError::MessageDigestMismatch)
        );
        // A bit of the signature's r (the last OCTET STRING holds `30 64 02 30 r 02 30 s`).
        let mut sig = DE_CARD_SECURITY.to_vec();
        let n = sig.len();
        sig[n - 60] ^= 0x01;
        let cs = CardSecurity::parse(&sig).unwrap();
        assert_eq!(cs.verify_signature(), Err(PassiveError::SignatureInvalid));
        // EF.SOD is not EF.CardSecurity, and the reverse.
        assert_eq!(
            CardSecurity::parse(BSI).map(|_| ()),
            Err(PassiveError::WrongContent)
        );
        assert_eq!(
            SignedSod::parse(DE_CARD_SECURITY).map(|_| ()),
            Err(PassiveError::WrongContent)
        );
    }
}
