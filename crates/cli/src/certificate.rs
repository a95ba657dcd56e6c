//! Reading a card's X.509 certificate (RFC 5280) on the host: the parts `cardwire journey`
//! shows, from any card (the virtual card or a real one in a reader).

use der::Decode;
use x509_cert::Certificate;

/// What a host reads out of a card certificate: the parts `cardwire journey` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The subject distinguished name (RFC 4514 string).
    pub subject: String,
    /// The issuer distinguished name.
    pub issuer: String,
    /// notBefore, as RFC 3339 UTC.
    pub not_before: String,
    /// notAfter, as RFC 3339 UTC.
    pub not_after: String,
    /// The certificate serial number in hex.
    pub serial: String,
    /// The subject public key as an uncompressed SEC1 point (65 bytes for P-256).
    pub public_key: Vec<u8>,
    /// The public key algorithm OID (1.2.840.10045.2.1 for EC keys).
    pub key_algorithm: String,
    /// The named curve OID (1.2.840.10045.3.1.7 for P-256), if given.
    pub curve: Option<String>,
    /// The signature algorithm OID.
    pub signature_algorithm: String,
}

impl CertificateSummary {
    /// Decodes a DER certificate (RFC 5280 §4.1).
    ///
    /// # Errors
    /// The DER decoder's error when the bytes are not a DER certificate.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, der::Error> {
        let cert = Certificate::from_der(der_bytes)?;
        let tbs = cert.tbs_certificate();
        let spki = tbs.subject_public_key_info();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
            .map(|oid| oid.to_string());
        let serial = tbs
            .serial_number()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Ok(CertificateSummary {
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            not_before: tbs.validity().not_before.to_string(),
            not_after: tbs.validity().not_after.to_string(),
            serial,
            public_key: spki.subject_public_key.raw_bytes().to_vec(),
            key_algorithm: spki.algorithm.oid.to_string(),
            curve,
            signature_algorithm: cert.signature_algorithm().oid.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardwire_vcard::{Identity, Seed};

    #[test]
    fn summarises_the_virtual_cards_certificate() {
        let id = Identity::from_seed(&Seed::DEFAULT).unwrap();
        let s = CertificateSummary::from_der(&id.certificate).unwrap();
        assert!(
            s.subject.contains(&format!("CN={}", id.name)),
            "{}",
            s.subject
        );
        assert!(s.subject.contains(&id.user_id.digits()), "{}", s.subject);
        assert_eq!(s.issuer, "CN=cardwire Virtual Issuing CA,O=cardwire,C=GB");
        assert_eq!(s.key_algorithm, "1.2.840.10045.2.1");
        assert_eq!(s.curve.as_deref(), Some("1.2.840.10045.3.1.7"));
        assert_eq!(s.signature_algorithm, "1.2.840.10045.4.3.2");
        assert!(s.not_before.starts_with("2025-01-01"), "{}", s.not_before);
        assert!(s.not_after.starts_with("2035-12-31"), "{}", s.not_after);
        assert_eq!(
            s.public_key,
            id.verifying_key().to_sec1_point(false).as_bytes()
        );
        assert!(!s.serial.is_empty());
        assert!(s.serial.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn a_non_certificate_is_refused() {
        assert!(CertificateSummary::from_der(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
        assert!(CertificateSummary::from_der(&[]).is_err());
    }
}
