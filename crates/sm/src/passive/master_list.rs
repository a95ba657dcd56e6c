//! ICAO CSCA master lists (Doc 9303-12 §8): CMS SignedData with eContentType
//! id-icao-cscaMasterList over `CscaMasterList ::= SEQUENCE { version INTEGER,
//! certList SET OF Certificate }`, signed by a master list signer whose certificate is issued by
//! the publishing State's CSCA (which is normally in the list).

use alloc::vec::Vec;
use core::time::Duration;

use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use x509_cert::Certificate;

use super::cms_signed::Signed;
use super::trust::{csca_valid, ds_valid, issuer_in};
use super::{PassiveError, TrustList, oids};

/// What is known of a master list's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterListCheck {
    /// The signature verifies with the master list signer certificate, which verifies under a
    /// CSCA in the list, both valid at the time given.
    Verified,
    /// The signature verifies with the signer certificate, but no CSCA in the list issued it:
    /// the list's authenticity rests on how the file was obtained.
    SignerNotInList,
    /// The signature or the signer certificate does not check.
    Failed(PassiveError),
}

/// A parsed master list: its CSCA certificates and the check of its signer.
#[derive(Debug, Clone)]
pub struct MasterList {
    /// The CSCA certificates of `certList`.
    pub cscas: TrustList,
    /// The signer check.
    pub check: MasterListCheck,
}

impl MasterList {
    /// Parses a master list (a DER `ContentInfo`) and checks its signer at time `now`.
    /// `certList` is read element by element, so an unsorted SET does not stop it.
    ///
    /// # Errors
    /// [`PassiveError::Malformed`]; [`PassiveError::WrongContent`] when the file is not
    /// SignedData with id-icao-cscaMasterList content. A signature that does not check is not
    /// an error: it is reported in [`MasterList::check`].
    pub fn parse(der: &[u8], now: Duration) -> Result<Self, PassiveError> {
        let signed = Signed::decode(der, oids::CSCA_MASTER_LIST)?;
        let mut cscas = TrustList::new();
        for cert in cert_list(&signed.econtent)? {
            cscas.push(cert);
        }
        let check = match check_signer(&signed, cscas.certificates(), now) {
            Ok(c) => c,
            Err(e) => MasterListCheck::Failed(e),
        };
        Ok(Self { cscas, check })
    }
}

fn check_signer(
    signed: &Signed,
    cscas: &[Certificate],
    now: Duration,
) -> Result<MasterListCheck, PassiveError> {
    let signer = signed.signer_certificate()?;
    signed.verify_with(signer)?;
    let csca = match issuer_in(cscas, signer) {
        Ok(c) => c,
        Err(PassiveError::UnknownCsca) => return Ok(MasterListCheck::SignerNotInList),
        Err(e) => return Err(e),
    };
    ds_valid(signer, now)?;
    csca_valid(csca, now)?;
    Ok(MasterListCheck::Verified)
}

/// The certificates of a `CscaMasterList`.
fn cert_list(econtent: &[u8]) -> Result<Vec<Certificate>, PassiveError> {
    let seq = AnyRef::from_der(econtent)?;
    if seq.tag() != Tag::Sequence {
        return Err(PassiveError::WrongContent);
    }
    let mut r = SliceReader::new(seq.value())?;
    let _version = u32::decode(&mut r)?;
    let set = AnyRef::decode(&mut r)?;
    r.finish()?;
    if set.tag() != Tag::Set {
        return Err(PassiveError::WrongContent);
    }
    let mut r = SliceReader::new(set.value())?;
    let mut certs = Vec::new();
    while !r.is_finished() {
        certs.push(Certificate::decode(&mut r)?);
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    const A: &[u8] = include_bytes!("testdata/openssl-csca-rsa.der");
    const B: &[u8] = include_bytes!("testdata/cardwire-test-csca.der");

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let n = content.len();
        let mut v = vec![tag, 0x82, (n >> 8) as u8, n as u8];
        v.extend_from_slice(content);
        v
    }

    #[test]
    fn cert_list_in_any_order() {
        // A SET whose elements are not in DER order (the longer RSA certificate first).
        for order in [[A, B], [B, A]] {
            let set = tlv(0x31, &[order[0], order[1]].concat());
            let ml = tlv(0x30, &[&[0x02, 0x01, 0x00][..], &set].concat());
            let certs = cert_list(&ml).unwrap();
            assert_eq!(certs.len(), 2);
        }
        // A SEQUENCE OF in place of the SET, trailing bytes, a truncated certificate.
        let seq = tlv(0x30, A);
        let ml = tlv(0x30, &[&[0x02, 0x01, 0x00][..], &seq].concat());
        assert_eq!(cert_list(&ml).unwrap_err(), PassiveError::WrongContent);
        let set = tlv(0x31, A);
        let ml = tlv(
            0x30,
            &[&[0x02, 0x01, 0x00][..], &set, &[0x05, 0x00]].concat(),
        );
        assert!(matches!(
            cert_list(&ml),
            Err(PassiveError::Malformed { .. })
        ));
        let set = tlv(0x31, &A[..A.len() - 1]);
        let ml = tlv(0x30, &[&[0x02, 0x01, 0x00][..], &set].concat());
        assert!(matches!(
            cert_list(&ml),
            Err(PassiveError::Malformed { .. })
        ));
    }
}
