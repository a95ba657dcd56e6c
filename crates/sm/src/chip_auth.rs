//! Chip Authentication v1 with ECDH (ICAO Doc 9303-11 §6.2, BSI TR-03110-1 §3.4), terminal
//! side, sans-IO: the chip proves it holds the private key of DG14's
//! `ChipAuthenticationPublicKeyInfo` by deriving the same new session keys.
//!
//! [`ChipAuthHost`] writes the plain commands; the caller sends them under the *current*
//! secure messaging session (BAC or PACE) and, after [`finish`](ChipAuthHost::finish),
//! replaces that session with the returned one (send sequence counter 0). A chip without the
//! key cannot answer the next protected command: its MAC fails under the new keys.
//!
//! - 3DES (`id-CA-ECDH-3DES-CBC-CBC`): MSE:Set KAT, `00 22 41 A6 { 91 PK_IFD [84 keyId] }`.
//! - AES (`id-CA-ECDH-AES-CBC-CMAC-*`): MSE:Set AT, `00 22 41 A4 { 80 OID [84 keyId] }`, then
//!   GENERAL AUTHENTICATE `00 86 00 00 { 7C { 80 PK_IFD } }`.
//!
//! K = x(SK_IFD · PK_IC); KS_enc = KDF(K, 1), KS_mac = KDF(K, 2) (§9.7.1).

use der::Tag;
use zeroize::Zeroize;

use crate::kdf::{COUNTER_ENC, COUNTER_MAC, KeyAlgorithm, derive_key};
use crate::pace::{POINT_LEN, PaceCurve, PaceSession, Writer, status};
use crate::security_infos::{ChipAuthenticationInfo, Cursor, ID_CA};
use crate::suite::{AesSuite, TdesSuite};
use crate::{Error, SmSession};

/// `id-ecPublicKey` (1.2.840.10045.2.1), DER content octets.
const ID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// `secp256r1` (1.2.840.10045.3.1.7).
const SECP256R1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// `brainpoolP256r1` (1.3.36.3.3.2.8.1.1.7).
const BRAINPOOL_P256R1: &[u8] = &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07];
/// The prime of NIST P-256 (FIPS 186-4 §D.1.2.3).
const P256_PRIME: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
];
/// The prime of brainpoolP256r1 (RFC 5639 §3.4).
const BP256_PRIME: [u8; 32] = [
    0xA9, 0xFB, 0x57, 0xDB, 0xA1, 0xEE, 0xA9, 0xBC, 0x3E, 0x66, 0x0A, 0x90, 0x9D, 0x83, 0x8D, 0x72,
    0x6E, 0x3B, 0xF6, 0x23, 0xD5, 0x26, 0x20, 0x28, 0x20, 0x13, 0x48, 0x1D, 0x1F, 0x6E, 0x53, 0x77,
];

/// An EC public key from a `SubjectPublicKeyInfo` (DG14's chip authentication key, DG15's
/// active authentication key): the curve and the uncompressed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcPublicKey {
    /// The curve.
    pub curve: PaceCurve,
    /// `04` ‖ x ‖ y.
    pub point: [u8; POINT_LEN],
}

impl EcPublicKey {
    /// Reads an `id-ecPublicKey` `SubjectPublicKeyInfo` (RFC 5480) whose parameters name
    /// P-256 or brainpoolP256r1, either by OID or explicitly (BSI TR-03111 §4.1.2; eMRTDs
    /// usually carry explicit parameters, recognised here by the field prime).
    ///
    /// # Errors
    /// [`Error::MalformedObject`] with the offset of a DER fault;
    /// [`Error::UnsupportedProtocol`] for another key type or curve, or a compressed point.
    pub fn from_spki(spki: &[u8]) -> Result<Self, Error> {
        let m = |e: crate::security_infos::SecurityInfosError| Error::MalformedObject {
            offset: match e {
                crate::security_infos::SecurityInfosError::Malformed { offset }
                | crate::security_infos::SecurityInfosError::UnexpectedTag { offset, .. }
                | crate::security_infos::SecurityInfosError::MissingField { offset }
                | crate::security_infos::SecurityInfosError::Integer { offset }
                | crate::security_infos::SecurityInfosError::TrailingData { offset } => offset,
            },
        };
        let mut outer = Cursor::new(spki, 0);
        let seq = outer.expect(Tag::Sequence, 0).map_err(m)?;
        outer.finish().map_err(m)?;
        let mut c = Cursor::new(seq.content, 0);
        let alg = c.expect(Tag::Sequence, 0).map_err(m)?;
        let key = c.expect(Tag::BitString, 0).map_err(m)?;
        c.finish().map_err(m)?;
        let mut a = Cursor::new(alg.content, 0);
        let oid = a.expect(Tag::ObjectIdentifier, 0).map_err(m)?;
        if oid.content != ID_EC_PUBLIC_KEY {
            return Err(Error::UnsupportedProtocol);
        }
        let params = a.next().map_err(m)?.ok_or(Error::UnsupportedProtocol)?;
        let curve = match params.tag {
            Tag::ObjectIdentifier if params.content == SECP256R1 => PaceCurve::NistP256,
            Tag::ObjectIdentifier if params.content == BRAINPOOL_P256R1 => {
                PaceCurve::BrainpoolP256r1
            }
            Tag::Sequence => explicit_curve(params.content).ok_or(Error::UnsupportedProtocol)?,
            _ => return Err(Error::UnsupportedProtocol),
        };
        let point = match key.content {
            [0x00, rest @ ..] => rest,
            _ => return Err(Error::UnsupportedProtocol),
        };
        let point: [u8; POINT_LEN] = point.try_into().map_err(|_| Error::UnsupportedProtocol)?;
        if point[0] != 0x04 {
            return Err(Error::UnsupportedProtocol);
        }
        Ok(Self { curve, point })
    }
}

/// Explicit `ECParameters` (`SEQUENCE { version, fieldID { prime-field, p }, ... }`): the curve
/// whose prime p is given.
fn explicit_curve(params: &[u8]) -> Option<PaceCurve> {
    let mut c = Cursor::new(params, 0);
    let _version = c.expect(Tag::Integer, 0).ok()?;
    let field = c.expect(Tag::Sequence, 0).ok()?;
    let mut f = Cursor::new(field.content, 0);
    let _prime_field = f.expect(Tag::ObjectIdentifier, 0).ok()?;
    let p = f.expect(Tag::Integer, 0).ok()?.content;
    let p = match p {
        [0, rest @ ..] => rest,
        _ => p,
    };
    if p == P256_PRIME {
        Some(PaceCurve::NistP256)
    } else if p == BP256_PRIME {
        Some(PaceCurve::BrainpoolP256r1)
    } else {
        None
    }
}

/// Chip Authentication v1 with ECDH, terminal side. See the [module documentation](self).
pub struct ChipAuthHost {
    oid: [u8; 16],
    oid_len: usize,
    cipher: KeyAlgorithm,
    key_id: Option<u32>,
    chip_key: EcPublicKey,
    sk_ifd: [u8; 32],
    pk_ifd: [u8; POINT_LEN],
}

impl ChipAuthHost {
    /// Starts Chip Authentication for `info` (DG14's `ChipAuthenticationInfo`) with the chip's
    /// key and the terminal's ephemeral private key on the chip's curve (32 bytes,
    /// 1 ≤ k < n).
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for DH or an unknown cipher;
    /// [`Error::KeyLength`] for an invalid private key.
    pub fn new(
        info: &ChipAuthenticationInfo<'_>,
        chip_key: EcPublicKey,
        sk_ifd: [u8; 32],
    ) -> Result<Self, Error> {
        let protocol = info.protocol();
        if !info.is_ecdh() || !protocol.starts_with(ID_CA) {
            return Err(Error::UnsupportedProtocol);
        }
        let cipher = info.cipher().ok_or(Error::UnsupportedProtocol)?;
        let mut oid = [0u8; 16];
        oid.get_mut(..protocol.len())
            .ok_or(Error::UnsupportedProtocol)?
            .copy_from_slice(protocol);
        let pk_ifd = chip_key.curve.mul(&sk_ifd, None)?;
        Ok(Self {
            oid,
            oid_len: protocol.len(),
            cipher,
            key_id: info.key_id(),
            chip_key,
            sk_ifd,
            pk_ifd,
        })
    }

    /// The terminal's ephemeral public key, uncompressed.
    pub fn terminal_public_key(&self) -> &[u8; POINT_LEN] {
        &self.pk_ifd
    }

    /// Whether the AES form is used, so [`general_authenticate_command`](Self::general_authenticate_command)
    /// follows the MSE command.
    pub fn needs_general_authenticate(&self) -> bool {
        self.cipher != KeyAlgorithm::Tdes
    }

    fn key_id_do(&self, buf: &mut [u8; 7]) -> usize {
        let Some(id) = self.key_id else { return 0 };
        let bytes = id.to_be_bytes();
        let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
        let value = bytes.get(skip..).unwrap_or(&[]);
        buf[0] = 0x84;
        buf[1] = value.len() as u8;
        let mut w = Writer::new(&mut buf[2..]);
        w.put(value);
        2 + value.len()
    }

    /// The MSE command: Set KAT for 3DES, Set AT for AES (plain; the caller protects it).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn mse_command(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut kid = [0u8; 7];
        let kid_len = self.key_id_do(&mut kid);
        let kid = kid.get(..kid_len).unwrap_or(&[]);
        let oid = self.oid.get(..self.oid_len).unwrap_or(&[]);
        let (p2, body_len) = if self.cipher == KeyAlgorithm::Tdes {
            (0xA6, 2 + POINT_LEN + kid.len())
        } else {
            (0xA4, 2 + oid.len() + kid.len())
        };
        let needed = 5 + body_len;
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let mut w = Writer::new(out);
        w.put(&[0x00, 0x22, 0x41, p2, body_len as u8]);
        if self.cipher == KeyAlgorithm::Tdes {
            w.put(&[0x91, POINT_LEN as u8]);
            w.put(&self.pk_ifd);
        } else {
            w.put(&[0x80, oid.len() as u8]);
            w.put(oid);
        }
        w.put(kid);
        Ok(needed)
    }

    /// GENERAL AUTHENTICATE `00 86 00 00 { 7C { 80 PK_IFD } } 00` (AES form only).
    ///
    /// # Errors
    /// [`Error::WrongState`] in the 3DES form; [`Error::BufferTooSmall`].
    pub fn general_authenticate_command(&self, out: &mut [u8]) -> Result<usize, Error> {
        if !self.needs_general_authenticate() {
            return Err(Error::WrongState);
        }
        const NEEDED: usize = 5 + 4 + POINT_LEN + 1;
        let out = out
            .get_mut(..NEEDED)
            .ok_or(Error::BufferTooSmall { needed: NEEDED })?;
        let mut w = Writer::new(out);
        w.put(&[0x00, 0x86, 0x00, 0x00, (4 + POINT_LEN) as u8]);
        w.put(&[0x7C, (2 + POINT_LEN) as u8, 0x80, POINT_LEN as u8]);
        w.put(&self.pk_ifd);
        w.put(&[0x00]);
        Ok(NEEDED)
    }

    /// Checks the (already unprotected) answer to the last command (MSE:Set KAT, or GENERAL
    /// AUTHENTICATE) and returns the new session, SSC = 0.
    ///
    /// # Errors
    /// [`Error::CardRefused`] for a status other than `9000`;
    /// [`Error::AuthenticationFailed`] if the chip's key is not a point on its curve.
    pub fn finish(mut self, response: &[u8]) -> Result<PaceSession, Error> {
        status(response)?;
        let mut shared = self
            .chip_key
            .curve
            .mul(&self.sk_ifd, Some(&self.chip_key.point))?;
        let k = shared.get(1..33).unwrap_or(&[]);
        let enc = derive_key(k, COUNTER_ENC, self.cipher);
        let mac = derive_key(k, COUNTER_MAC, self.cipher);
        shared.zeroize();
        self.sk_ifd.zeroize();
        if self.cipher == KeyAlgorithm::Tdes {
            let suite = TdesSuite::new(enc.as_bytes(), mac.as_bytes())?;
            Ok(PaceSession::Tdes(SmSession::host(suite, &[0; 8])?))
        } else {
            let suite = AesSuite::new(enc.as_bytes(), mac.as_bytes())?;
            Ok(PaceSession::Aes(SmSession::host(suite, &[0; 16])?))
        }
    }
}

impl Drop for ChipAuthHost {
    fn drop(&mut self) {
        self.sk_ifd.zeroize();
    }
}

impl core::fmt::Debug for ChipAuthHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChipAuthHost")
            .field("cipher", &self.cipher)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security_infos::{SecurityInfo, SecurityInfos};
    use crate::test_util::hex;

    /// DG14 content with `id-CA-ECDH-AES-CBC-CMAC-128` v1 and `id-PK-ECDH` with `spki`.
    fn dg14(spki: &[u8]) -> std::vec::Vec<u8> {
        let ca = hex("3012060A04007F0007020203020202010102 0101");
        let mut pk = hex("0609 04007F000702020102");
        pk.extend_from_slice(spki);
        let mut pk_seq = std::vec![0x30, pk.len() as u8];
        pk_seq.extend(pk);
        let mut body = ca;
        body.extend(pk_seq);
        let mut set = std::vec![0x31, body.len() as u8];
        set.extend(body);
        set
    }

    fn named_spki(curve_oid: &[u8], point: &[u8; POINT_LEN]) -> std::vec::Vec<u8> {
        let mut alg = std::vec![0x06, 0x07];
        alg.extend_from_slice(ID_EC_PUBLIC_KEY);
        alg.extend([0x06, curve_oid.len() as u8]);
        alg.extend_from_slice(curve_oid);
        let mut body = std::vec![0x30, alg.len() as u8];
        body.extend(alg);
        body.extend([0x03, 0x42, 0x00]);
        body.extend_from_slice(point);
        let mut spki = std::vec![0x30, body.len() as u8];
        spki.extend(body);
        spki
    }

    #[test]
    fn chip_authentication_agrees_and_a_wrong_chip_key_fails() {
        let curve = PaceCurve::BrainpoolP256r1;
        let chip_sk = [0x42u8; 32];
        let chip_pk = curve.mul(&chip_sk, None).unwrap();
        let spki = named_spki(BRAINPOOL_P256R1, &chip_pk);
        let dg14 = dg14(&spki);
        let infos = SecurityInfos::parse(&dg14).unwrap();
        let Some(SecurityInfo::ChipAuthentication(ca)) = infos.iter().next() else {
            panic!("CA info")
        };
        let pk_info = infos.chip_authentication_public_keys().next().unwrap();
        let key = EcPublicKey::from_spki(pk_info.subject_public_key_info()).unwrap();
        assert_eq!(key.curve, curve);
        let host = ChipAuthHost::new(&ca, key, [0x17; 32]).unwrap();
        let mut cmd = [0u8; 128];
        let n = host.mse_command(&mut cmd).unwrap();
        assert_eq!(
            cmd[..n].to_vec(),
            hex("002241A40F800A04007F00070202030202840101")
        );
        let n = host.general_authenticate_command(&mut cmd).unwrap();
        assert_eq!(cmd[..9].to_vec(), hex("0086000045 7C43 8041"));
        assert_eq!(&cmd[9..n - 1], host.terminal_public_key());
        let pk_ifd = *host.terminal_public_key();
        let PaceSession::Aes(mut host_sm) = host.finish(&hex("7C009000")).unwrap() else {
            panic!("AES")
        };
        // The genuine chip derives the same keys: its protected answer verifies.
        let card_sm = |sk: &[u8; 32]| {
            let shared = curve.mul(sk, Some(&pk_ifd)).unwrap();
            let enc = derive_key(&shared[1..33], COUNTER_ENC, KeyAlgorithm::Aes128);
            let mac = derive_key(&shared[1..33], COUNTER_MAC, KeyAlgorithm::Aes128);
            SmSession::card(
                AesSuite::new(enc.as_bytes(), mac.as_bytes()).unwrap(),
                &[0; 16],
            )
            .unwrap()
        };
        let roundtrip = |host_sm: &mut SmSession<AesSuite>, card: &mut SmSession<AesSuite>| {
            let mut wire = [0u8; 64];
            let n = host_sm.wrap_command(&hex("00B0000004"), &mut wire).unwrap();
            let mut plain = [0u8; 64];
            card.unwrap_command(&wire[..n], &mut plain).unwrap();
            let mut rsp = [0u8; 64];
            let m = card
                .wrap_response(&[1, 2, 3, 4], cardwire_apdu::StatusWord::SUCCESS, &mut rsp)
                .unwrap();
            let mut out = [0u8; 64];
            host_sm.unwrap_response(&rsp[..m], &mut out)
        };
        let mut genuine = card_sm(&chip_sk);
        assert_eq!(roundtrip(&mut host_sm, &mut genuine), Ok(6));
        // A chip with another key (a cloned DG14 on a different chip) cannot answer.
        let host = ChipAuthHost::new(&ca, key, [0x17; 32]).unwrap();
        let PaceSession::Aes(mut host_sm) = host.finish(&hex("9000")).unwrap() else {
            panic!("AES")
        };
        let mut impostor_host_view = card_sm(&[0x43; 32]);
        let mut wire = [0u8; 64];
        let n = host_sm.wrap_command(&hex("00B0000004"), &mut wire).unwrap();
        let mut plain = [0u8; 64];
        assert_eq!(
            impostor_host_view.unwrap_command(&wire[..n], &mut plain),
            Err(Error::MacMismatch)
        );
    }

    #[test]
    fn tdes_form_and_key_id() {
        let curve = PaceCurve::NistP256;
        let chip_pk = curve.mul(&[0x42; 32], None).unwrap();
        // id-CA-ECDH-3DES-CBC-CBC, version 1, keyId 258.
        let set = hex("3115 3013 060A04007F00070202030201 020101 02020102");
        let infos = SecurityInfos::parse(&set).unwrap();
        let Some(SecurityInfo::ChipAuthentication(ca)) = infos.iter().next() else {
            panic!("CA info")
        };
        let key = EcPublicKey {
            curve,
            point: chip_pk,
        };
        let host = ChipAuthHost::new(&ca, key, [0x17; 32]).unwrap();
        assert!(!host.needs_general_authenticate());
        let mut cmd = [0u8; 128];
        let n = host.mse_command(&mut cmd).unwrap();
        assert_eq!(cmd[..7].to_vec(), hex("002241A647 9141"));
        assert_eq!(&cmd[7..72], host.terminal_public_key());
        assert_eq!(cmd[72..n].to_vec(), hex("84020102"));
        assert_eq!(
            host.general_authenticate_command(&mut cmd),
            Err(Error::WrongState)
        );
        assert!(matches!(
            host.finish(&hex("9000")).unwrap(),
            PaceSession::Tdes(_)
        ));
    }

    #[test]
    fn spki_forms() {
        let point = PaceCurve::NistP256.mul(&[5; 32], None).unwrap();
        let k = EcPublicKey::from_spki(&named_spki(SECP256R1, &point)).unwrap();
        assert_eq!(k.curve, PaceCurve::NistP256);
        assert_eq!(k.point, point);
        // Explicit parameters, recognised by the prime (the rest is not needed for that).
        let mut params = hex("020101 302C 06072A8648CE3D0101 022100");
        params.extend_from_slice(&BP256_PRIME);
        let mut alg = std::vec![0x06, 0x07];
        alg.extend_from_slice(ID_EC_PUBLIC_KEY);
        alg.extend([0x30, params.len() as u8]);
        alg.extend(params);
        let mut body = std::vec![0x30, alg.len() as u8];
        body.extend(alg);
        body.extend([0x03, 0x42, 0x00]);
        body.extend_from_slice(&point);
        let mut spki = std::vec![0x30, 0x81, body.len() as u8];
        spki.extend(body);
        assert_eq!(
            EcPublicKey::from_spki(&spki).unwrap().curve,
            PaceCurve::BrainpoolP256r1
        );
        // RSA keys and broken DER.
        assert_eq!(
            EcPublicKey::from_spki(&named_spki(&[0x2A, 0x03], &point)[..]).map(|k| k.curve),
            Err(Error::UnsupportedProtocol)
        );
        assert!(matches!(
            EcPublicKey::from_spki(&[0x30, 0x05, 0x30]),
            Err(Error::MalformedObject { .. })
        ));
    }
}
