//! Active Authentication (ICAO Doc 9303-11 §6.1), terminal side, sans-IO: the chip signs
//! the terminal's 8-byte challenge with DG15's private key, proving the chip is not a copy.
//!
//! Send [`internal_authenticate_command`] (under the current secure messaging session), then
//! pass the answer to
//!
//! - [`verify_ecdsa_key`] with DG15's EC key ([`ChipPublicKey::from_spki`]) and the hash
//!   named by the `ActiveAuthenticationInfo` (DG14): the plain `r ‖ s` signature of BSI
//!   TR-03111 §5.2.1 over H(challenge), on P-256, P-384, P-521, brainpoolP256r1 or
//!   brainpoolP384r1 (RustCrypto `p256`, `p384`, `p521`, `bp256`, `bp384`);
//! - [`verify_rsa`] with DG15's RSA key ([`RsaPublicKey::from_spki`]): ISO/IEC 9796-2
//!   digital signature scheme 1 with partial message recovery (§6.1.2 of 9303-11): the
//!   recovered F = `6A` ‖ M1 ‖ H(M1 ‖ challenge) ‖ trailer, with the trailer `BC` (SHA-1)
//!   or `xx CC` (ISO/IEC 10118-3 hash identifiers: `33` SHA-1, `34` SHA-256, `36` SHA-384,
//!   `35` SHA-512, `38` SHA-224). The public operation is `crypto-bigint`'s modular
//!   exponentiation (moduli of 512 to 4096 bits; no allocator).

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U4096};
use der::Tag;
use ecdsa::signature::hazmat::PrehashVerifier;
use sha1::{Digest, Sha1};
use sha2::{Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::Error;
use crate::chip_auth::{ChipPublicKey, EcPublicKey};
use crate::pace::{PaceCurve, Writer};
use crate::pace_group::PaceDomain;
use crate::security_infos::Cursor;

/// `ecdsa-with-SHA1` (1.2.840.10045.4.1), DER content octets.
pub const ECDSA_WITH_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01];
/// `ecdsa-with-SHA224` (1.2.840.10045.4.3.1).
pub const ECDSA_WITH_SHA224: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x01];
/// `ecdsa-with-SHA256` (1.2.840.10045.4.3.2).
pub const ECDSA_WITH_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
/// `ecdsa-with-SHA384` (1.2.840.10045.4.3.3).
pub const ECDSA_WITH_SHA384: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03];
/// `ecdsa-with-SHA512` (1.2.840.10045.4.3.4).
pub const ECDSA_WITH_SHA512: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04];
/// `rsaEncryption` (1.2.840.113549.1.1.1).
const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

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

/// The hash functions active authentication names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_ecdsa_oid(oid: &[u8]) -> Option<Self> {
        match oid {
            ECDSA_WITH_SHA1 => Some(Hash::Sha1),
            ECDSA_WITH_SHA224 => Some(Hash::Sha224),
            ECDSA_WITH_SHA256 => Some(Hash::Sha256),
            ECDSA_WITH_SHA384 => Some(Hash::Sha384),
            ECDSA_WITH_SHA512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    /// ISO/IEC 10118-3 hash identifiers, as in ISO/IEC 9796-2 trailers.
    fn from_trailer_id(id: u8) -> Option<Self> {
        match id {
            0x33 => Some(Hash::Sha1),
            0x34 => Some(Hash::Sha256),
            0x35 => Some(Hash::Sha512),
            0x36 => Some(Hash::Sha384),
            0x38 => Some(Hash::Sha224),
            _ => None,
        }
    }

    fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha224 => 28,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// H(parts…) into `out`; returns the digest.
    fn digest<'o>(self, parts: &[&[u8]], out: &'o mut [u8; 64]) -> &'o [u8] {
        fn run<D: Digest>(parts: &[&[u8]], out: &mut [u8; 64]) {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            let h = d.finalize();
            if let Some(dst) = out.get_mut(..h.len()) {
                dst.copy_from_slice(&h);
            }
        }
        match self {
            Hash::Sha1 => run::<Sha1>(parts, out),
            Hash::Sha224 => run::<Sha224>(parts, out),
            Hash::Sha256 => run::<Sha256>(parts, out),
            Hash::Sha384 => run::<Sha384>(parts, out),
            Hash::Sha512 => run::<Sha512>(parts, out),
        }
        out.get(..self.len()).unwrap_or(&[])
    }
}

/// Verifies the chip's ECDSA signature over `challenge` with DG15's key on P-256 (or
/// brainpoolP256r1); `algorithm` is the `ActiveAuthenticationInfo` signature algorithm OID.
/// [`verify_ecdsa_key`] takes every supported curve.
///
/// # Errors
/// [`Error::UnsupportedProtocol`] for an unknown hash; [`Error::AuthenticationFailed`] for a
/// signature that does not verify or is not 64 bytes.
pub fn verify_ecdsa(
    key: &EcPublicKey,
    algorithm: &[u8],
    challenge: &[u8; 8],
    signature: &[u8],
) -> Result<(), Error> {
    verify_ecdsa_key(&ChipPublicKey::from(*key), algorithm, challenge, signature)
}

/// One curve's ECDSA verification over a prehash.
macro_rules! ecdsa_verify {
    ($curve:ty, $point:expr, $digest:expr, $sig:expr) => {{
        let vk = ecdsa::VerifyingKey::<$curve>::from_sec1_bytes($point)
            .map_err(|_| Error::AuthenticationFailed)?;
        let sig = ecdsa::Signature::<$curve>::from_slice($sig)
            .map_err(|_| Error::AuthenticationFailed)?;
        vk.verify_prehash($digest, &sig)
            .map_err(|_| Error::AuthenticationFailed)
    }};
}

/// Verifies the chip's ECDSA signature (`r ‖ s`, BSI TR-03111 §5.2.1) over `challenge` with
/// DG15's EC key on any supported curve; `algorithm` is the `ActiveAuthenticationInfo`
/// signature algorithm OID (`ecdsa-with-SHA1`, `-SHA224`, `-SHA256`, `-SHA384`, `-SHA512`).
///
/// # Errors
/// [`Error::UnsupportedProtocol`] for a DH key or an unknown hash;
/// [`Error::AuthenticationFailed`] for a signature that does not verify or has the wrong
/// length.
pub fn verify_ecdsa_key(
    key: &ChipPublicKey,
    algorithm: &[u8],
    challenge: &[u8; 8],
    signature: &[u8],
) -> Result<(), Error> {
    let PaceDomain::Ec(curve) = key.domain() else {
        return Err(Error::UnsupportedProtocol);
    };
    let hash = Hash::from_ecdsa_oid(algorithm).ok_or(Error::UnsupportedProtocol)?;
    let mut buf = [0u8; 64];
    let digest = hash.digest(&[challenge], &mut buf);
    let point = key.public_key();
    match curve {
        PaceCurve::NistP256 => ecdsa_verify!(p256::NistP256, point, digest, signature),
        PaceCurve::BrainpoolP256r1 => {
            ecdsa_verify!(bp256::BrainpoolP256r1, point, digest, signature)
        }
        PaceCurve::NistP384 => ecdsa_verify!(p384::NistP384, point, digest, signature),
        PaceCurve::BrainpoolP384r1 => {
            ecdsa_verify!(bp384::BrainpoolP384r1, point, digest, signature)
        }
        PaceCurve::NistP521 => ecdsa_verify!(p521::NistP521, point, digest, signature),
    }
}

/// An RSA public key (DG15's `rsaEncryption` `SubjectPublicKeyInfo`, RFC 8017 §A.1.1) as
/// views of its big-endian modulus and exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RsaPublicKey<'a> {
    modulus: &'a [u8],
    exponent: &'a [u8],
}

/// The smallest and largest modulus [`verify_rsa`] takes, in bytes (512 and 4096 bits).
const RSA_MIN: usize = 64;
const RSA_MAX: usize = 512;

impl<'a> RsaPublicKey<'a> {
    /// A key from its modulus n and public exponent e (big-endian, leading zeros allowed).
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for a modulus outside 512–4096 bits or even, or an
    /// exponent that is 0, 1, even, or longer than the modulus.
    pub fn new(modulus: &'a [u8], exponent: &'a [u8]) -> Result<Self, Error> {
        let modulus = strip(modulus);
        let exponent = strip(exponent);
        let odd = |v: &[u8]| v.last().is_some_and(|b| b & 1 == 1);
        if !(RSA_MIN..=RSA_MAX).contains(&modulus.len())
            || !odd(modulus)
            || !odd(exponent)
            || exponent == [1]
            || exponent.len() > modulus.len()
        {
            return Err(Error::UnsupportedProtocol);
        }
        Ok(Self { modulus, exponent })
    }

    /// Reads an `rsaEncryption` `SubjectPublicKeyInfo` (`RSAPublicKey ::= SEQUENCE {
    /// modulus INTEGER, publicExponent INTEGER }` in the BIT STRING).
    ///
    /// # Errors
    /// [`Error::MalformedObject`] for broken DER; [`Error::UnsupportedProtocol`] for another
    /// key type or an unusable key.
    pub fn from_spki(spki: &'a [u8]) -> Result<Self, Error> {
        let m = |_| Error::MalformedObject { offset: 0 };
        let mut outer = Cursor::new(spki, 0);
        let seq = outer.expect(Tag::Sequence, 0).map_err(m)?;
        outer.finish().map_err(m)?;
        let mut c = Cursor::new(seq.content, 0);
        let alg = c.expect(Tag::Sequence, 0).map_err(m)?;
        let key = c.expect(Tag::BitString, 0).map_err(m)?;
        c.finish().map_err(m)?;
        let mut a = Cursor::new(alg.content, 0);
        let oid = a.expect(Tag::ObjectIdentifier, 0).map_err(m)?;
        if oid.content != RSA_ENCRYPTION {
            return Err(Error::UnsupportedProtocol);
        }
        let key = match key.content {
            [0x00, rest @ ..] => rest,
            _ => return Err(Error::UnsupportedProtocol),
        };
        let mut k = Cursor::new(key, 0);
        let rsa = k.expect(Tag::Sequence, 0).map_err(m)?;
        k.finish().map_err(m)?;
        let mut r = Cursor::new(rsa.content, 0);
        let n = r.expect(Tag::Integer, 0).map_err(m)?;
        let e = r.expect(Tag::Integer, 0).map_err(m)?;
        r.finish().map_err(m)?;
        Self::new(n.content, e.content)
    }

    /// The modulus n, without leading zeros.
    pub fn modulus(&self) -> &'a [u8] {
        self.modulus
    }

    /// The public exponent e, without leading zeros.
    pub fn exponent(&self) -> &'a [u8] {
        self.exponent
    }
}

fn strip(v: &[u8]) -> &[u8] {
    let skip = v.iter().take_while(|b| **b == 0).count();
    v.get(skip..).unwrap_or(&[])
}

/// A 4096-bit integer from up to 512 big-endian bytes.
fn u4096(bytes: &[u8]) -> Option<U4096> {
    let mut padded = [0u8; RSA_MAX];
    let start = RSA_MAX.checked_sub(bytes.len())?;
    padded.get_mut(start..)?.copy_from_slice(bytes);
    Some(U4096::from_be_slice(&padded))
}

/// Verifies the chip's RSA signature over `challenge` (ICAO 9303-11 §6.1, ISO/IEC 9796-2
/// digital signature scheme 1, partial message recovery; see the [module docs](self)).
///
/// The public operation gives J = s^e mod n; when J does not end in the nibble `C`, n − J is
/// used (ISO/IEC 9796-2's rule for the representative's two forms). The header must be `6A`
/// (or `6B BB … BA` with padding) and H(M1 ‖ challenge) must equal the recovered hash.
///
/// # Errors
/// [`Error::AuthenticationFailed`] for a signature that does not verify (wrong length, not
/// below n, a bad header or trailer, a hash mismatch); [`Error::UnsupportedProtocol`] for an
/// unknown hash identifier in the trailer.
pub fn verify_rsa(
    key: &RsaPublicKey<'_>,
    challenge: &[u8; 8],
    signature: &[u8],
) -> Result<(), Error> {
    let fail = Error::AuthenticationFailed;
    let k = key.modulus.len();
    if signature.len() > k || signature.is_empty() {
        return Err(fail);
    }
    let n = u4096(key.modulus).ok_or(fail)?;
    let s = u4096(signature).ok_or(fail)?;
    let e = u4096(key.exponent).ok_or(fail)?;
    if s >= n || s == U4096::ZERO {
        return Err(fail);
    }
    let params = FixedMontyParams::new_vartime(Odd::new(n).into_option().ok_or(fail)?);
    let mut j = FixedMontyForm::new(&s, &params).pow_vartime(&e).retrieve();
    if j.as_words().first().is_some_and(|w| w & 0x0F != 0x0C) {
        j = n.wrapping_sub(&j);
    }
    let encoded = j.to_be_bytes();
    let all: &[u8] = encoded.as_ref();
    let f = strip(all.get(RSA_MAX - k..).ok_or(fail)?);
    // Trailer: BC (SHA-1 implied) or `id CC`.
    let (hash, t) = match f {
        [.., 0xBC] => (Hash::Sha1, 1),
        [.., id, 0xCC] => (
            Hash::from_trailer_id(*id).ok_or(Error::UnsupportedProtocol)?,
            2,
        ),
        _ => return Err(fail),
    };
    // Header: 6A, or 6B BB … BA.
    let start = match f {
        [0x6A, ..] => 1,
        [0x6B, rest @ ..] => {
            let pad = rest.iter().take_while(|b| **b == 0xBB).count();
            if rest.get(pad) != Some(&0xBA) {
                return Err(fail);
            }
            pad + 2
        }
        _ => return Err(fail),
    };
    let h_start = f.len().checked_sub(t + hash.len()).ok_or(fail)?;
    if h_start < start {
        return Err(fail);
    }
    let m1 = f.get(start..h_start).ok_or(fail)?;
    let recovered = f.get(h_start..f.len() - t).ok_or(fail)?;
    let mut buf = [0u8; 64];
    let expected = hash.digest(&[m1, challenge], &mut buf);
    if bool::from(expected.ct_eq(recovered)) {
        Ok(())
    } else {
        Err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;
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
        let sig: p256::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
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

    // A 1024-bit RSA key made for these tests with OpenSSL 3 (`openssl genpkey -algorithm RSA
    // -pkeyopt rsa_keygen_bits:1024`): its SubjectPublicKeyInfo and private exponent d.
    const RSA_SPKI: &str = "30819F300D06092A864886F70D010101050003818D0030818902818100BBE003\
                            9DC8272322685D2C86257EE63A0028D432469CBBFCA6F8B93C36DD7A9C2A7015\
                            7467E2F8667DCD25953C0D700073D9736716F7B14BAC763099A2A867ED70A68B\
                            7495198E9C296B2DEF498182AFA8ABE23EA8BABC181B0B2D6F60FAC8B1401CAE\
                            C1450377669FEA181CF2F5CA4A8C6804934FD2C024B7BD964BAFF511CD020301\
                            0001";
    const RSA_D: &str = "4007D933AD43A975D09BF0D0C776B8808C0D5E44C44C26C5B5228FFF35B3C655\
                         F320C02F2C38EEEFFF702B9EF118A3538428586C8A276105A9819E8EBE212749\
                         EF649317BA73DC5071EB4D248429D55713A6C5323954E2FD3A5F9C2420C4A46C\
                         29637DA603A0BF032C03CCFF3A016BE46079C21968337C6F8171C5106C038801";
    /// OpenSSL's raw private operation (`openssl pkeyutl -decrypt -pkeyopt
    /// rsa_padding_mode:none`) over F = 6A ‖ M1 ‖ SHA-1(M1 ‖ RND.IFD) ‖ BC, built by hand per
    /// ISO/IEC 9796-2 scheme 1 with M1 = 10 11 … 79 (106 bytes) and RND.IFD = 01 … 08.
    const RSA_SIG: &str = "9BD988ED878FE43D9E2FAF9381E23A4854CD6794DCCBAE98F652328F4321F69B\
                           DDD6822CAF812848C10A95781D768864C0A65743912133A6AF6216D298601B7D\
                           6BC190961E5B5F4A915540E348F40D877C1A35491294988740901A53FD5B26CA\
                           068AC06149460DE4664CA3C9F40D977BA0D78E6455F4BBB2052D79F0ED3E879D";
    const RND: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    /// s = F^d mod n, signing in the test with the same big integers.
    fn rsa_sign(key: &RsaPublicKey<'_>, f: &[u8]) -> std::vec::Vec<u8> {
        let n = u4096(key.modulus()).unwrap();
        let d = u4096(&hex(RSA_D)).unwrap();
        let params = FixedMontyParams::new_vartime(Odd::new(n).unwrap());
        let s = FixedMontyForm::new(&u4096(f).unwrap(), &params)
            .pow_vartime(&d)
            .retrieve();
        let bytes = s.to_be_bytes();
        let all: &[u8] = bytes.as_ref();
        all[RSA_MAX - key.modulus().len()..].to_vec()
    }

    #[test]
    fn rsa_iso9796_2_openssl_signature() {
        let spki = hex(RSA_SPKI);
        let key = RsaPublicKey::from_spki(&spki).unwrap();
        assert_eq!(key.modulus().len(), 128);
        assert_eq!(key.exponent(), &[0x01, 0x00, 0x01]);
        let sig = hex(RSA_SIG);
        assert_eq!(verify_rsa(&key, &RND, &sig), Ok(()));
        // Another challenge, a changed signature, a truncated one.
        assert_eq!(
            verify_rsa(&key, &[0; 8], &sig),
            Err(Error::AuthenticationFailed)
        );
        let mut bad = sig.clone();
        bad[40] ^= 1;
        assert_eq!(
            verify_rsa(&key, &RND, &bad),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(
            verify_rsa(&key, &RND, &sig[1..]),
            Err(Error::AuthenticationFailed)
        );
        // s ≥ n, and s = 0.
        assert_eq!(
            verify_rsa(&key, &RND, key.modulus()),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(
            verify_rsa(&key, &RND, &[0; 128]),
            Err(Error::AuthenticationFailed)
        );
        // Not an RSA key.
        assert_eq!(
            RsaPublicKey::from_spki(&hex("3009 3003 06012A 0302 0000")),
            Err(Error::UnsupportedProtocol)
        );
    }

    #[test]
    fn rsa_iso9796_2_sha256_trailer_padding_and_negated_form() {
        let spki = hex(RSA_SPKI);
        let key = RsaPublicKey::from_spki(&spki).unwrap();
        // F = 6B BB BA ‖ M1 ‖ SHA-256(M1 ‖ RND) ‖ 34 CC, 128 bytes.
        let m1: std::vec::Vec<u8> = (0..128 - 3 - 32 - 2).map(|i| i as u8).collect();
        let mut f = hex("6BBBBA");
        f.extend(&m1);
        let mut h = Sha256::new();
        h.update(&m1);
        h.update(RND);
        f.extend(h.finalize());
        f.extend([0x34, 0xCC]);
        let s = rsa_sign(&key, &f);
        assert_eq!(verify_rsa(&key, &RND, &s), Ok(()));
        // n − s: J = n − F, which the verifier turns back (e is odd).
        let n = u4096(key.modulus()).unwrap();
        let neg = n.wrapping_sub(&u4096(&s).unwrap()).to_be_bytes();
        let neg: &[u8] = neg.as_ref();
        assert_eq!(verify_rsa(&key, &RND, &neg[RSA_MAX - 128..]), Ok(()));
        // An unknown hash identifier, and a header without recovery marker.
        let mut g = f.clone();
        g[126] = 0x31;
        assert_eq!(
            verify_rsa(&key, &RND, &rsa_sign(&key, &g)),
            Err(Error::UnsupportedProtocol)
        );
        let mut g = f.clone();
        g[0] = 0x4B;
        assert_eq!(
            verify_rsa(&key, &RND, &rsa_sign(&key, &g)),
            Err(Error::AuthenticationFailed)
        );
    }

    #[test]
    fn ecdsa_p384_and_p521() {
        let challenge = [9u8; 8];
        let sk = p384::ecdsa::SigningKey::from_slice(&[0x31; 48]).unwrap();
        let point = sk.verifying_key().to_sec1_point(false);
        let key =
            ChipPublicKey::new(PaceDomain::Ec(PaceCurve::NistP384), point.as_bytes()).unwrap();
        let digest: [u8; 48] = Sha384::digest(challenge).into();
        let sig: p384::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
        let sig = sig.to_bytes();
        assert_eq!(
            verify_ecdsa_key(&key, ECDSA_WITH_SHA384, &challenge, &sig),
            Ok(())
        );
        assert_eq!(
            verify_ecdsa_key(&key, ECDSA_WITH_SHA512, &challenge, &sig),
            Err(Error::AuthenticationFailed)
        );

        let sk = p521::ecdsa::SigningKey::from_slice(&[0x01; 66]).unwrap();
        let point = sk.verifying_key().to_sec1_point(false);
        let key =
            ChipPublicKey::new(PaceDomain::Ec(PaceCurve::NistP521), point.as_bytes()).unwrap();
        let digest: [u8; 64] = Sha512::digest(challenge).into();
        let sig: p521::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
        let sig = sig.to_bytes();
        assert_eq!(
            verify_ecdsa_key(&key, ECDSA_WITH_SHA512, &challenge, &sig),
            Ok(())
        );
        assert_eq!(
            verify_ecdsa_key(&key, ECDSA_WITH_SHA512, &[0; 8], &sig),
            Err(Error::AuthenticationFailed)
        );
        // A DH key is no signing key.
        let dh = ChipPublicKey::new(
            PaceDomain::Dh(crate::pace_group::DhGroup::Modp1024_160),
            &[5],
        )
        .unwrap();
        assert_eq!(
            verify_ecdsa_key(&dh, ECDSA_WITH_SHA256, &challenge, &sig),
            Err(Error::UnsupportedProtocol)
        );
    }
}
