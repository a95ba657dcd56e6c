//! Active Authentication with ECDSA (ICAO Doc 9303-11 §6.1), terminal side, sans-IO: the chip
//! signs the terminal's 8-byte challenge with DG15's private key, proving the chip is not a
//! copy.
//!
//! Send [`internal_authenticate_command`] (under the current secure messaging session),
//! then pass the signature to [`verify_ecdsa`] with DG15's key ([`EcPublicKey::from_spki`])
//! and the hash named by the `ActiveAuthenticationInfo` (DG14). The signature is the plain
//! `r ‖ s` format of BSI TR-03111 §5.2.1. Curve: NIST P-256 (RustCrypto `p256`).
//! RSA keys (ISO/IEC 9796-2) are not supported yet.

use p256::ecdsa::{Signature, VerifyingKey, signature::hazmat::PrehashVerifier};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::Error;
use crate::chip_auth::EcPublicKey;
use crate::pace::{PaceCurve, Writer};

/// `ecdsa-with-SHA1` (1.2.840.10045.4.1), DER content octets.
pub const ECDSA_WITH_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01];
/// `ecdsa-with-SHA256` (1.2.840.10045.4.3.2).
pub const ECDSA_WITH_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];

/// INTERNAL AUTHENTICATE `00 88 00 00 08` RND.IFD `00` (ISO/IEC 7816-4 §11.5.2; ICAO 9303-11
/// §6.1.2). Writes 14 bytes.
///
/// # Errors
/// [`Error::BufferTooSmall`].
pub fn internal_authenticate_command(challenge: &[u8; 8], out: &mut [u8]) -> Result<usize, Error> {
    let out = out
        .get_mut(..14)
        .ok_or(Error::BufferTooSmall { needed: 14 })?;
    let mut w = Writer::new(out);
    w.put(&[0x00, 0x88, 0x00, 0x00, 0x08]);
    w.put(challenge);
    w.put(&[0x00]);
    Ok(14)
}

/// Verifies the chip's ECDSA signature over `challenge` with DG15's key; `algorithm` is the
/// `ActiveAuthenticationInfo` signature algorithm OID ([`ECDSA_WITH_SHA1`] or
/// [`ECDSA_WITH_SHA256`]).
///
/// # Errors
/// [`Error::UnsupportedProtocol`] for another curve or hash; [`Error::AuthenticationFailed`]
/// for a signature that does not verify or is not 64 bytes.
pub fn verify_ecdsa(
    key: &EcPublicKey,
    algorithm: &[u8],
    challenge: &[u8; 8],
    signature: &[u8],
) -> Result<(), Error> {
    if key.curve != PaceCurve::NistP256 {
        return Err(Error::UnsupportedProtocol);
    }
    let vk = VerifyingKey::from_sec1_bytes(&key.point).map_err(|_| Error::AuthenticationFailed)?;
    let sig = Signature::from_slice(signature).map_err(|_| Error::AuthenticationFailed)?;
    let ok = if algorithm == ECDSA_WITH_SHA256 {
        let digest: [u8; 32] = Sha256::digest(challenge).into();
        vk.verify_prehash(&digest, &sig)
    } else if algorithm == ECDSA_WITH_SHA1 {
        let digest: [u8; 20] = Sha1::digest(challenge).into();
        vk.verify_prehash(&digest, &sig)
    } else {
        return Err(Error::UnsupportedProtocol);
    };
    ok.map_err(|_| Error::AuthenticationFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::hazmat::PrehashSigner;

    #[test]
    fn ecdsa_p256_active_authentication() {
        let sk = SigningKey::from_slice(&[0x24; 32]).unwrap();
        let point: [u8; 65] = sk
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .try_into()
            .unwrap();
        let key = EcPublicKey {
            curve: PaceCurve::NistP256,
            point,
        };
        let challenge = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut cmd = [0u8; 14];
        internal_authenticate_command(&challenge, &mut cmd).unwrap();
        assert_eq!(cmd, [0, 0x88, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
        let digest: [u8; 32] = Sha256::digest(challenge).into();
        let sig: Signature = sk.sign_prehash(&digest).unwrap();
        let sig = sig.to_bytes();
        assert_eq!(
            verify_ecdsa(&key, ECDSA_WITH_SHA256, &challenge, &sig),
            Ok(())
        );
        // Another challenge (a replayed signature), a changed signature, the wrong hash.
        assert_eq!(
            verify_ecdsa(&key, ECDSA_WITH_SHA256, &[0; 8], &sig),
            Err(Error::AuthenticationFailed)
        );
        let mut bad = sig;
        bad[10] ^= 1;
        assert_eq!(
            verify_ecdsa(&key, ECDSA_WITH_SHA256, &challenge, &bad),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(
            verify_ecdsa(&key, ECDSA_WITH_SHA1, &challenge, &sig),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(
            verify_ecdsa(&key, &[0x2A], &challenge, &sig),
            Err(Error::UnsupportedProtocol)
        );
    }
}
