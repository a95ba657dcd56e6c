//! Sans-IO parsers for the PIV responses (NIST SP 800-73-4 Part 2 §3): status words become
//! typed [`Error`]s naming the object or key, data becomes checked views.

use cardwire_apdu::{Response, StatusWord};

use crate::auth::AuthTemplate;
use crate::{AlgorithmId, Error, Operation, Slot, Target};

/// Splits a session's response into its data and status word, keeping the buffer's lifetime.
pub fn split(response: Response<&[u8]>) -> (&[u8], StatusWord) {
    let sw = response.sw();
    let bytes = response.into_inner();
    let data = bytes
        .get(..bytes.len().saturating_sub(2))
        .unwrap_or_default();
    (data, sw)
}

/// `9000` or an [`Error::Status`] for `operation` on `target`.
///
/// # Errors
/// [`Error::Status`] for any other status word.
pub fn check(operation: Operation, target: Target, sw: StatusWord) -> Result<(), Error> {
    if sw == StatusWord::SUCCESS {
        Ok(())
    } else {
        Err(Error::Status {
            operation,
            target,
            sw,
        })
    }
}

/// The `82` response of a GENERAL AUTHENTICATE answer (the card's `7C`).
///
/// # Errors
/// [`Error::Tlv`], [`Error::Malformed`] when there is no `82`.
pub fn auth_response(key: Slot, data: &[u8]) -> Result<&[u8], Error> {
    let t = AuthTemplate::new_checked(data)?;
    t.response().ok_or(Error::Malformed {
        target: Target::Key(key),
        offset: 0,
        what: "GENERAL AUTHENTICATE answer has no response (tag '82')",
    })
}

/// The signature in a GENERAL AUTHENTICATE answer, checked for `algorithm`: an RSA result
/// is one modulus long; an ECDSA signature is a DER `SEQUENCE { r, s }` that parses for the
/// curve.
///
/// # Errors
/// As [`auth_response`]; [`Error::AlgorithmMismatch`] when the result does not fit the
/// algorithm.
pub fn signature(key: Slot, algorithm: AlgorithmId, data: &[u8]) -> Result<&[u8], Error> {
    let sig = auth_response(key, data)?;
    let mismatch = |what| Error::AlgorithmMismatch {
        target: Target::Key(key),
        expected: algorithm,
        what,
    };
    if let Some(n) = algorithm.rsa_modulus_len() {
        if sig.len() != n {
            return Err(mismatch("RSA result is not one modulus long"));
        }
    } else if algorithm == AlgorithmId::ECC_P256 {
        p256::ecdsa::Signature::from_der(sig)
            .map_err(|_| mismatch("not a DER ECDSA P-256 signature"))?;
    } else if algorithm == AlgorithmId::ECC_P384 {
        p384::ecdsa::Signature::from_der(sig)
            .map_err(|_| mismatch("not a DER ECDSA P-384 signature"))?;
    } else {
        return Err(Error::UnsupportedAlgorithm {
            algorithm,
            operation: Operation::GeneralAuthenticate,
        });
    }
    Ok(sig)
}

/// The shared secret of an ECDH answer: the x coordinate, one field element long
/// (SP 800-73-4 Part 2 Appendix A.5).
///
/// # Errors
/// As [`auth_response`]; [`Error::AlgorithmMismatch`] for a wrong length.
pub fn shared_secret(key: Slot, algorithm: AlgorithmId, data: &[u8]) -> Result<&[u8], Error> {
    let z = auth_response(key, data)?;
    if Some(z.len()) != algorithm.ec_coordinate_len() {
        return Err(Error::AlgorithmMismatch {
            target: Target::Key(key),
            expected: algorithm,
            what: "shared secret is not one field element long",
        });
    }
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_split() {
        let bytes = [0x7C, 0x00, 0x6A, 0x82];
        let rsp = Response::new_checked(&bytes[..]).unwrap();
        let (data, sw) = split(rsp);
        assert_eq!(data, &[0x7C, 0x00]);
        let e = check(Operation::GetData, Target::Application, sw).unwrap_err();
        assert!(e.is_not_found());
        assert!(auth_response(Slot::AUTHENTICATION, data).is_err());
        assert!(matches!(
            signature(
                Slot::AUTHENTICATION,
                AlgorithmId::RSA_2048,
                &[0x7C, 0x03, 0x82, 0x01, 0x00]
            ),
            Err(Error::AlgorithmMismatch { .. })
        ));
        assert!(matches!(
            signature(
                Slot::AUTHENTICATION,
                AlgorithmId::ECC_P256,
                &[0x7C, 0x04, 0x82, 0x02, 0x30, 0x00]
            ),
            Err(Error::AlgorithmMismatch { .. })
        ));
    }
}
