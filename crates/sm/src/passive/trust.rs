//! CSCA trust lists and the document signer certificate check (ICAO Doc 9303-11 §5.1 step 1,
//! 9303-12 §5: the DS certificate is issued by the country's CSCA).

use alloc::vec::Vec;
use core::time::Duration;

use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};

use super::PassiveError;
use super::signature;

/// CSCA certificates the caller trusts (from a national PKD, a master list, or a test CSCA).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    cscas: Vec<Certificate>,
}

impl TrustList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a CSCA certificate.
    pub fn push(&mut self, csca: Certificate) {
        self.cscas.push(csca);
    }

    /// Adds a DER-encoded CSCA certificate.
    ///
    /// # Errors
    /// [`PassiveError::Malformed`] when `der` is not one X.509 certificate.
    pub fn push_der(&mut self, der: &[u8]) -> Result<(), PassiveError> {
        self.cscas.push(Certificate::from_der(der)?);
        Ok(())
    }

    /// The CSCA certificates.
    pub fn certificates(&self) -> &[Certificate] {
        &self.cscas
    }

    /// The number of certificates.
    pub fn len(&self) -> usize {
        self.cscas.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.cscas.is_empty()
    }

    /// Checks a document signer certificate against the list at time `now` (since the UNIX
    /// epoch): its validity, a CSCA whose subject is its issuer (and whose subject key
    /// identifier is its authority key identifier, when both are present), the signature of
    /// that CSCA over it, and the CSCA's validity. Returns the CSCA.
    ///
    /// # Errors
    /// [`PassiveError::DsNotYetValid`], [`DsExpired`](PassiveError::DsExpired),
    /// [`UnknownCsca`](PassiveError::UnknownCsca),
    /// [`CertificateSignatureInvalid`](PassiveError::CertificateSignatureInvalid) (also for a
    /// CSCA key or algorithm that cannot be used),
    /// [`CscaNotYetValid`](PassiveError::CscaNotYetValid),
    /// [`CscaExpired`](PassiveError::CscaExpired), [`Malformed`](PassiveError::Malformed).
    pub fn verify_document_signer(
        &self,
        ds: &Certificate,
        now: Duration,
    ) -> Result<&Certificate, PassiveError> {
        ds_valid(ds, now)?;
        let csca = self.find_issuer(ds)?;
        csca_valid(csca, now)?;
        Ok(csca)
    }

    /// The CSCA that issued `cert` and whose signature on it verifies (no validity check).
    ///
    /// # Errors
    /// [`PassiveError::UnknownCsca`]; [`PassiveError::CertificateSignatureInvalid`];
    /// [`PassiveError::Malformed`].
    pub fn find_issuer(&self, cert: &Certificate) -> Result<&Certificate, PassiveError> {
        issuer_in(&self.cscas, cert)
    }
}

/// The certificate among `cscas` that issued `cert` (name and key identifier) and whose
/// signature on it verifies.
pub(crate) fn issuer_in<'c>(
    cscas: &'c [Certificate],
    cert: &Certificate,
) -> Result<&'c Certificate, PassiveError> {
    let tbs = cert.tbs_certificate();
    let aki = match tbs.get_extension::<AuthorityKeyIdentifier>() {
        Ok(Some((_, aki))) => aki.key_identifier,
        _ => None,
    };
    let mut named = cscas.iter().filter(|c| {
        let ctbs = c.tbs_certificate();
        if ctbs.subject() != tbs.issuer() {
            return false;
        }
        match (&aki, ctbs.get_extension::<SubjectKeyIdentifier>()) {
            (Some(aki), Ok(Some((_, ski)))) => ski.0 == *aki,
            _ => true,
        }
    });
    let tbs_der = tbs.to_der()?;
    let mut any = false;
    let found = named.find(|c| {
        any = true;
        signature::verify(
            c.tbs_certificate().subject_public_key_info(),
            cert.signature_algorithm(),
            None,
            &tbs_der,
            cert.signature().raw_bytes(),
            PassiveError::CertificateSignatureInvalid,
        )
        .is_ok()
    });
    match (found, any) {
        (Some(c), _) => Ok(c),
        (None, true) => Err(PassiveError::CertificateSignatureInvalid),
        (None, false) => Err(PassiveError::UnknownCsca),
    }
}

/// [`validity`] of a signer (DS or master list signer) certificate.
pub(crate) fn ds_valid(signer: &Certificate, now: Duration) -> Result<(), PassiveError> {
    validity(
        signer,
        now,
        PassiveError::DsNotYetValid,
        PassiveError::DsExpired,
    )
}

/// [`validity`] of a CSCA certificate.
pub(crate) fn csca_valid(csca: &Certificate, now: Duration) -> Result<(), PassiveError> {
    validity(
        csca,
        now,
        PassiveError::CscaNotYetValid,
        PassiveError::CscaExpired,
    )
}

/// Whether `now` is within `cert`'s validity (RFC 5280 §4.1.2.5, both ends included).
pub(crate) fn validity(
    cert: &Certificate,
    now: Duration,
    not_yet: PassiveError,
    expired: PassiveError,
) -> Result<(), PassiveError> {
    let v = cert.tbs_certificate().validity();
    if now < v.not_before.to_unix_duration() {
        Err(not_yet)
    } else if now > v.not_after.to_unix_duration() {
        Err(expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSCA: &[u8] = include_bytes!("testdata/cardwire-test-csca.der");
    /// The test CSCA's validity: 2025-01-01T00:00:00Z to 2035-12-31T23:59:59Z.
    const FROM: u64 = 1_735_689_600;
    const TO: u64 = 2_082_758_399;

    #[test]
    fn validity_bounds_are_inclusive() {
        let cert = Certificate::from_der(CSCA).unwrap();
        let check = |s| {
            validity(
                &cert,
                Duration::from_secs(s),
                PassiveError::CscaNotYetValid,
                PassiveError::CscaExpired,
            )
        };
        assert_eq!(check(FROM), Ok(()));
        assert_eq!(check(TO), Ok(()));
        assert_eq!(check(FROM - 1), Err(PassiveError::CscaNotYetValid));
        assert_eq!(check(TO + 1), Err(PassiveError::CscaExpired));
    }

    #[test]
    fn list() {
        let mut t = TrustList::new();
        assert!(t.is_empty());
        assert!(matches!(
            t.push_der(&CSCA[..100]),
            Err(PassiveError::Malformed { .. })
        ));
        t.push_der(CSCA).unwrap();
        assert_eq!(t.len(), 1);
        let csca = &t.certificates()[0];
        // Self-signed: it is its own issuer.
        assert_eq!(t.find_issuer(csca), Ok(csca));
        assert_eq!(
            t.verify_document_signer(csca, Duration::from_secs(FROM)),
            Ok(csca)
        );
        assert_eq!(
            TrustList::new().find_issuer(csca),
            Err(PassiveError::UnknownCsca)
        );
    }
}
