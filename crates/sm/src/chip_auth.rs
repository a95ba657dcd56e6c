//! Chip Authentication v1 with ECDH or DH (ICAO Doc 9303-11 §6.2, BSI TR-03110-1 §3.4),
//! terminal side, sans-IO: the chip proves it holds the private key of DG14's
//! `ChipAuthenticationPublicKeyInfo` by deriving the same new session keys.
//!
//! [`ChipAuthHost`] writes the plain commands; the caller sends them under the *current*
//! secure messaging session (BAC or PACE) and, after [`finish`](ChipAuthHost::finish),
//! replaces that session with the returned one (send sequence counter 0). A chip without the
//! key cannot answer the next protected command: its MAC fails under the new keys.
//!
//! - 3DES (`id-CA-(EC)DH-3DES-CBC-CBC`): MSE:Set KAT, `00 22 41 A6 { 91 PK_IFD [84 keyId] }`.
//! - AES (`id-CA-(EC)DH-AES-CBC-CMAC-*`): MSE:Set AT, `00 22 41 A4 { 80 OID [84 keyId] }`,
//!   then GENERAL AUTHENTICATE `00 86 00 00 { 7C { 80 PK_IFD } }`.
//!
//! K = x(SK_IFD · PK_IC) (DH: PK_IC^SK_IFD mod p); KS_enc = KDF(K, 1), KS_mac = KDF(K, 2)
//! (§9.7.1). Chip keys ([`ChipPublicKey::from_spki`]): `id-ecPublicKey` on P-256, P-384,
//! P-521, brainpoolP256r1 or brainpoolP384r1 (named or explicit parameters), and
//! `dhpublicnumber` / `dhKeyAgreement` in an RFC 5114 group (recognised by p), and BSI
//! TR-03110-3's `standardizedDomainParameters` with a domain parameter ID (German eID cards).

use der::Tag;

use crate::Error;
use crate::kdf::{COUNTER_ENC, COUNTER_MAC, KeyAlgorithm, derive_key};
use crate::pace::{POINT_LEN, PaceCurve, PaceSession, Writer, ga_command, put_length, status};
use crate::pace_group::{DhGroup, GroupElement, PaceDomain, PrivateKey};
use crate::security_infos::{
    ChipAuthenticationInfo, Cursor, ID_CA, ParameterId, SecurityInfosError, integer,
};

/// `id-ecPublicKey` (1.2.840.10045.2.1), DER content octets.
const ID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// `dhpublicnumber` (1.2.840.10046.2.1, ANSI X9.42).
const DH_PUBLIC_NUMBER: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3E, 0x02, 0x01];
/// `dhKeyAgreement` (1.2.840.113549.1.3.1, PKCS #3).
const DH_KEY_AGREEMENT: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x03, 0x01];
/// `standardizedDomainParameters` (0.4.0.127.0.7.1.2, BSI TR-03110-3 §A.2.1.1): the
/// algorithm of a `SubjectPublicKeyInfo` whose parameters are a standardized domain parameter
/// ID (ICAO 9303-11 §9.5.1 Table 31), as German eID cards encode their chip keys.
const STANDARDIZED_DOMAIN_PARAMETERS: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x02];
/// `secp256r1` (1.2.840.10045.3.1.7).
const SECP256R1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// `secp384r1` (1.3.132.0.34).
const SECP384R1: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
/// `secp521r1` (1.3.132.0.35).
const SECP521R1: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];
/// `brainpoolP256r1` (1.3.36.3.3.2.8.1.1.7).
const BRAINPOOL_P256R1: &[u8] = &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07];
/// `brainpoolP384r1` (1.3.36.3.3.2.8.1.1.11).
const BRAINPOOL_P384R1: &[u8] = &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B];
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
/// The prime of NIST P-384 (FIPS 186-4 §D.1.2.4): 2^384 − 2^128 − 2^96 + 2^32 − 1.
const P384_PRIME: [u8; 48] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
];
/// The prime of brainpoolP384r1 (RFC 5639 §3.6).
const BP384_PRIME: [u8; 48] = [
    0x8C, 0xB9, 0x1E, 0x82, 0xA3, 0x38, 0x6D, 0x28, 0x0F, 0x5D, 0x6F, 0x7E, 0x50, 0xE6, 0x41, 0xDF,
    0x15, 0x2F, 0x71, 0x09, 0xED, 0x54, 0x56, 0xB4, 0x12, 0xB1, 0xDA, 0x19, 0x7F, 0xB7, 0x11, 0x23,
    0xAC, 0xD3, 0xA7, 0x29, 0x90, 0x1D, 0x1A, 0x71, 0x87, 0x47, 0x00, 0x13, 0x31, 0x07, 0xEC, 0x53,
];

/// Whether `p` is the prime of NIST P-521, 2^521 − 1 (66 bytes: `01 FF … FF`).
fn is_p521_prime(p: &[u8]) -> bool {
    p.len() == 66 && p.first() == Some(&0x01) && p.iter().skip(1).all(|b| *b == 0xFF)
}

fn der_error(e: SecurityInfosError) -> Error {
    Error::MalformedObject {
        offset: match e {
            SecurityInfosError::Malformed { offset }
            | SecurityInfosError::UnexpectedTag { offset, .. }
            | SecurityInfosError::MissingField { offset }
            | SecurityInfosError::Integer { offset }
            | SecurityInfosError::TrailingData { offset } => offset,
        },
    }
}

/// An INTEGER's content without its sign byte.
fn unsigned(content: &[u8]) -> &[u8] {
    match content {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => content,
    }
}

/// Reads a `SubjectPublicKeyInfo` (RFC 5480, RFC 3279 §2.3.3): the domain and the public key
/// (the uncompressed point, or the DH value y without its INTEGER header).
fn parse_spki(spki: &[u8]) -> Result<(PaceDomain, &[u8]), Error> {
    let mut outer = Cursor::new(spki, 0);
    let seq = outer.expect(Tag::Sequence, 0).map_err(der_error)?;
    outer.finish().map_err(der_error)?;
    let mut c = Cursor::new(seq.content, 0);
    let alg = c.expect(Tag::Sequence, 0).map_err(der_error)?;
    let key = c.expect(Tag::BitString, 0).map_err(der_error)?;
    c.finish().map_err(der_error)?;
    let mut a = Cursor::new(alg.content, 0);
    let oid = a.expect(Tag::ObjectIdentifier, 0).map_err(der_error)?;
    let params = a
        .next()
        .map_err(der_error)?
        .ok_or(Error::UnsupportedProtocol)?;
    let key = match key.content {
        [0x00, rest @ ..] => rest,
        _ => return Err(Error::UnsupportedProtocol),
    };
    let domain = if oid.content == ID_EC_PUBLIC_KEY {
        PaceDomain::Ec(match params.tag {
            Tag::ObjectIdentifier => {
                named_curve(params.content).ok_or(Error::UnsupportedProtocol)?
            }
            Tag::Sequence => explicit_curve(params.content).ok_or(Error::UnsupportedProtocol)?,
            _ => return Err(Error::UnsupportedProtocol),
        })
    } else if oid.content == DH_PUBLIC_NUMBER || oid.content == DH_KEY_AGREEMENT {
        if params.tag != Tag::Sequence {
            return Err(Error::UnsupportedProtocol);
        }
        let mut d = Cursor::new(params.content, 0);
        let p = d.expect(Tag::Integer, 0).map_err(der_error)?;
        PaceDomain::Dh(
            [
                DhGroup::Modp1024_160,
                DhGroup::Modp2048_224,
                DhGroup::Modp2048_256,
            ]
            .into_iter()
            .find(|g| g.prime() == unsigned(p.content))
            .ok_or(Error::UnsupportedProtocol)?,
        )
    } else if oid.content == STANDARDIZED_DOMAIN_PARAMETERS {
        if params.tag != Tag::Integer {
            return Err(Error::UnsupportedProtocol);
        }
        let id = integer(&params).map_err(der_error)?;
        PaceDomain::from_parameter_id(ParameterId(id)).ok_or(Error::UnsupportedProtocol)?
    } else {
        return Err(Error::UnsupportedProtocol);
    };
    match domain {
        PaceDomain::Ec(curve) => {
            if key.len() != curve.point_len() || key.first() != Some(&0x04) {
                return Err(Error::UnsupportedProtocol);
            }
            Ok((domain, key))
        }
        PaceDomain::Dh(_) => {
            // RFC 3279 §2.3.3 / BSI TR-03110-3 §D.3.2: `DHPublicKey ::= INTEGER`.
            let mut y = Cursor::new(key, 0);
            let y_int = y.expect(Tag::Integer, 0).map_err(der_error)?;
            y.finish().map_err(der_error)?;
            Ok((domain, unsigned(y_int.content)))
        }
    }
}

fn named_curve(oid: &[u8]) -> Option<PaceCurve> {
    match oid {
        SECP256R1 => Some(PaceCurve::NistP256),
        BRAINPOOL_P256R1 => Some(PaceCurve::BrainpoolP256r1),
        SECP384R1 => Some(PaceCurve::NistP384),
        BRAINPOOL_P384R1 => Some(PaceCurve::BrainpoolP384r1),
        SECP521R1 => Some(PaceCurve::NistP521),
        _ => None,
    }
}

/// An EC public key from a `SubjectPublicKeyInfo` (DG14's chip authentication key, DG15's
/// active authentication key) on a 256-bit curve: the curve and the uncompressed point.
/// [`ChipPublicKey`] takes every supported curve and DH.
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
        let (domain, key) = parse_spki(spki)?;
        let PaceDomain::Ec(curve) = domain else {
            return Err(Error::UnsupportedProtocol);
        };
        let point: [u8; POINT_LEN] = key.try_into().map_err(|_| Error::UnsupportedProtocol)?;
        Ok(Self { curve, point })
    }
}

/// A chip's public key for chip authentication (or active authentication with ECDSA): its
/// domain and the public key (an uncompressed point, or a DH value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChipPublicKey {
    domain: PaceDomain,
    key: GroupElement,
}

impl ChipPublicKey {
    /// A key in `domain` (not yet checked to be in the group; that happens when it is used).
    ///
    /// # Errors
    /// [`Error::KeyLength`] for a key over 256 bytes.
    pub fn new(domain: PaceDomain, key: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            domain,
            key: GroupElement::from_slice(key)?,
        })
    }

    /// Reads a `SubjectPublicKeyInfo`: `id-ecPublicKey` on a supported curve (named or
    /// explicit parameters, recognised by the prime), or `dhpublicnumber` / `dhKeyAgreement`
    /// with an RFC 5114 group's p.
    ///
    /// # Errors
    /// [`Error::MalformedObject`] with the offset of a DER fault;
    /// [`Error::UnsupportedProtocol`] for another key type or domain, or a compressed point.
    pub fn from_spki(spki: &[u8]) -> Result<Self, Error> {
        let (domain, key) = parse_spki(spki)?;
        Self::new(domain, key)
    }

    /// The domain.
    pub fn domain(&self) -> PaceDomain {
        self.domain
    }

    /// The public key: `04 ‖ x ‖ y`, or the DH value y.
    pub fn public_key(&self) -> &[u8] {
        self.key.as_bytes()
    }
}

impl From<EcPublicKey> for ChipPublicKey {
    fn from(k: EcPublicKey) -> Self {
        Self {
            domain: PaceDomain::Ec(k.curve),
            key: GroupElement::from_slice(&k.point).unwrap_or(GroupElement::EMPTY),
        }
    }
}

/// Explicit `ECParameters` (`SEQUENCE { version, fieldID { prime-field, p }, ... }`): the curve
/// whose prime p is given.
pub(crate) fn explicit_curve(params: &[u8]) -> Option<PaceCurve> {
    let mut c = Cursor::new(params, 0);
    let _version = c.expect(Tag::Integer, 0).ok()?;
    let field = c.expect(Tag::Sequence, 0).ok()?;
    let mut f = Cursor::new(field.content, 0);
    let _prime_field = f.expect(Tag::ObjectIdentifier, 0).ok()?;
    let p = unsigned(f.expect(Tag::Integer, 0).ok()?.content);
    if p == P256_PRIME {
        Some(PaceCurve::NistP256)
    } else if p == BP256_PRIME {
        Some(PaceCurve::BrainpoolP256r1)
    } else if p == P384_PRIME {
        Some(PaceCurve::NistP384)
    } else if p == BP384_PRIME {
        Some(PaceCurve::BrainpoolP384r1)
    } else if is_p521_prime(p) {
        Some(PaceCurve::NistP521)
    } else {
        None
    }
}

/// Chip Authentication v1, terminal side. See the [module documentation](self).
pub struct ChipAuthHost {
    oid: [u8; 16],
    oid_len: usize,
    cipher: KeyAlgorithm,
    key_id: Option<u32>,
    chip_key: ChipPublicKey,
    sk_ifd: PrivateKey,
    pk_ifd: GroupElement,
}

impl ChipAuthHost {
    /// Starts Chip Authentication for `info` (DG14's `ChipAuthenticationInfo`) with the chip's
    /// key and the terminal's ephemeral private key on the chip's curve (32 bytes,
    /// 1 ≤ k < n). [`with_key`](Self::with_key) takes any supported domain.
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for DH or an unknown cipher;
    /// [`Error::KeyLength`] for an invalid private key.
    pub fn new(
        info: &ChipAuthenticationInfo<'_>,
        chip_key: EcPublicKey,
        sk_ifd: [u8; 32],
    ) -> Result<Self, Error> {
        let mut sk_ifd = sk_ifd;
        let host = Self::with_key(info, &chip_key.into(), &sk_ifd);
        zeroize::Zeroize::zeroize(&mut sk_ifd);
        host
    }

    /// Starts Chip Authentication for `info` with the chip's key (ECDH or DH, from
    /// [`ChipPublicKey::from_spki`]) and the terminal's ephemeral private key in its domain
    /// (at most [`PaceDomain::private_key_len`] bytes, 1 ≤ k < order).
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for a protocol that is not `id-CA-*`, an unknown cipher,
    /// or a key whose kind (ECDH/DH) differs from the protocol's;
    /// [`Error::KeyLength`] for an invalid private key.
    pub fn with_key(
        info: &ChipAuthenticationInfo<'_>,
        chip_key: &ChipPublicKey,
        sk_ifd: &[u8],
    ) -> Result<Self, Error> {
        let protocol = info.protocol();
        let ecdh = matches!(chip_key.domain, PaceDomain::Ec(_));
        if info.is_ecdh() != ecdh || !protocol.starts_with(ID_CA) {
            return Err(Error::UnsupportedProtocol);
        }
        let cipher = info.cipher().ok_or(Error::UnsupportedProtocol)?;
        let mut oid = [0u8; 16];
        oid.get_mut(..protocol.len())
            .ok_or(Error::UnsupportedProtocol)?
            .copy_from_slice(protocol);
        let pk_ifd = chip_key.domain.public_key(sk_ifd)?;
        Ok(Self {
            oid,
            oid_len: protocol.len(),
            cipher,
            key_id: info.key_id(),
            chip_key: *chip_key,
            sk_ifd: PrivateKey::from_slice(sk_ifd)?,
            pk_ifd,
        })
    }

    /// The terminal's ephemeral public key, uncompressed, on a 256-bit curve (for other
    /// domains the first 65 bytes of [`terminal_public_key_bytes`](Self::terminal_public_key_bytes)).
    pub fn terminal_public_key(&self) -> &[u8; POINT_LEN] {
        self.pk_ifd
            .buffer()
            .first_chunk::<POINT_LEN>()
            .unwrap_or(&[0; POINT_LEN])
    }

    /// The terminal's ephemeral public key (a point, or a DH value of the length of p).
    pub fn terminal_public_key_bytes(&self) -> &[u8] {
        self.pk_ifd.as_bytes()
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

    /// The MSE command: Set KAT for 3DES, Set AT for AES (plain; the caller protects it). A
    /// 3DES command with a 2048-bit DH key has an extended length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn mse_command(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut kid = [0u8; 7];
        let kid_len = self.key_id_do(&mut kid);
        let kid = kid.get(..kid_len).unwrap_or(&[]);
        let oid = self.oid.get(..self.oid_len).unwrap_or(&[]);
        let pk = self.pk_ifd.as_bytes();
        let (p2, body_len) = if self.cipher == KeyAlgorithm::Tdes {
            (
                0xA6,
                1 + crate::pace::length_len(pk.len()) + pk.len() + kid.len(),
            )
        } else {
            (0xA4, 2 + oid.len() + kid.len())
        };
        let extended = body_len > 0xFF;
        let needed = 4 + if extended { 3 } else { 1 } + body_len;
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let mut w = Writer::new(out);
        w.put(&[0x00, 0x22, 0x41, p2]);
        if extended {
            w.put(&[0x00, (body_len >> 8) as u8, body_len as u8]);
        } else {
            w.put(&[body_len as u8]);
        }
        if self.cipher == KeyAlgorithm::Tdes {
            w.put(&[0x91]);
            put_length(&mut w, pk.len());
            w.put(pk);
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
        ga_command(0x00, 0x80, self.pk_ifd.as_bytes(), out)
    }

    /// Checks the (already unprotected) answer to the last command (MSE:Set KAT, or GENERAL
    /// AUTHENTICATE) and returns the new session, SSC = 0.
    ///
    /// # Errors
    /// [`Error::CardRefused`] for a status other than `9000`;
    /// [`Error::AuthenticationFailed`] if the chip's key is not in its group.
    pub fn finish(self, response: &[u8]) -> Result<PaceSession, Error> {
        status(response)?;
        let domain = self.chip_key.domain;
        let mut shared = domain.agree(self.sk_ifd.as_bytes(), self.chip_key.public_key())?;
        let k = domain.shared_secret(&shared);
        let enc = derive_key(k, COUNTER_ENC, self.cipher);
        let mac = derive_key(k, COUNTER_MAC, self.cipher);
        zeroize::Zeroize::zeroize(&mut shared);
        crate::pace::session(self.cipher, &enc, &mac)
    }
}

impl core::fmt::Debug for ChipAuthHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChipAuthHost")
            .field("cipher", &self.cipher)
            .field("key_id", &self.key_id)
            .field("domain", &self.chip_key.domain)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SmSession;
    use crate::security_infos::{SecurityInfo, SecurityInfos};
    use crate::suite::AesSuite;
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

    /// BSI TR-03110-3 §A.2.1.1's form, as a German identity card's EF.CardSecurity carries
    /// its PACE-CAM key (`tests/real_chip_pace_cam.rs`): `standardizedDomainParameters` with
    /// parameter ID 13 (brainpoolP256r1).
    #[test]
    fn spki_with_a_standardized_domain_parameter_id() {
        let point = hex(
            "04614CD88B00821A887869D0060B44A9D18789353E8CF7DFBC3F29F79327DE30B9\
             7B1B2DDA0BE77F24AD415C327C7B7AB2E9C10B0258F5BCBF90C01825FBDFDEF7",
        );
        let spki = |id: u8, point: &[u8]| {
            let mut v = hex("3052 300C 060704007F00070102 0201");
            v.push(id);
            v.extend([0x03, 0x42, 0x00]);
            v.extend_from_slice(point);
            v
        };
        let key = ChipPublicKey::from_spki(&spki(13, &point)).unwrap();
        assert_eq!(key.domain(), PaceDomain::Ec(PaceCurve::BrainpoolP256r1));
        assert_eq!(key.public_key(), &point[..]);
        let k = EcPublicKey::from_spki(&spki(13, &point)).unwrap();
        assert_eq!(k.curve, PaceCurve::BrainpoolP256r1);
        // ID 12 is NIST P-256: the same 65-byte point shape.
        assert_eq!(
            ChipPublicKey::from_spki(&spki(12, &point))
                .unwrap()
                .domain(),
            PaceDomain::Ec(PaceCurve::NistP256)
        );
        // An unknown or reserved ID, and a point of the wrong length for ID 15 (P-384).
        assert_eq!(
            ChipPublicKey::from_spki(&spki(99, &point)),
            Err(Error::UnsupportedProtocol)
        );
        assert_eq!(
            ChipPublicKey::from_spki(&spki(15, &point)),
            Err(Error::UnsupportedProtocol)
        );
        // The parameter must be an INTEGER.
        let mut bad = spki(13, &point);
        bad[15] = 0x04;
        assert_eq!(
            ChipPublicKey::from_spki(&bad),
            Err(Error::UnsupportedProtocol)
        );
    }

    fn der_len(v: &mut std::vec::Vec<u8>, len: usize) {
        if len < 0x80 {
            v.push(len as u8);
        } else {
            v.extend([0x81, len as u8]);
        }
    }

    fn ca_info(set: &[u8]) -> ChipAuthenticationInfo<'_> {
        let infos = SecurityInfos::parse(set).unwrap();
        let Some(SecurityInfo::ChipAuthentication(ca)) = infos.iter().next() else {
            panic!("CA info")
        };
        ca
    }

    /// The chip's side of CA: its session from its private key and the terminal's key.
    fn chip_session(domain: PaceDomain, sk: &[u8], pk_ifd: &[u8]) -> SmSession<AesSuite> {
        let agreed = domain.agree(sk, pk_ifd).unwrap();
        let k = domain.shared_secret(&agreed);
        let enc = derive_key(k, COUNTER_ENC, KeyAlgorithm::Aes256);
        let mac = derive_key(k, COUNTER_MAC, KeyAlgorithm::Aes256);
        SmSession::card(
            AesSuite::new(enc.as_bytes(), mac.as_bytes()).unwrap(),
            &[0; 16],
        )
        .unwrap()
    }

    fn host_mac(session: PaceSession) -> std::vec::Vec<u8> {
        // Protect a command and read the MAC key's effect: the MAC of the first command.
        let mut wire = [0u8; 64];
        let n = match session {
            PaceSession::Aes(mut s) => s.wrap_command(&hex("00B0000004"), &mut wire).unwrap(),
            PaceSession::Tdes(mut s) => s.wrap_command(&hex("00B0000004"), &mut wire).unwrap(),
        };
        wire[..n].to_vec()
    }

    #[test]
    fn p384_p521_and_dh_chip_authentication() {
        // id-CA-ECDH-AES-CBC-CMAC-256, version 1, on P-384 and P-521 (named curves).
        let set = hex("3111 300F 060A04007F00070202030204 020101");
        let ca = ca_info(&set);
        for (curve, oid) in [
            (PaceCurve::NistP384, SECP384R1),
            (PaceCurve::NistP521, SECP521R1),
            (PaceCurve::BrainpoolP384r1, BRAINPOOL_P384R1),
        ] {
            let domain = PaceDomain::Ec(curve);
            let chip_sk = std::vec![0x42u8; curve.field_len() - 1];
            let chip_pk = domain.public_key(&chip_sk).unwrap();
            let mut alg = std::vec![0x06, 0x07];
            alg.extend_from_slice(ID_EC_PUBLIC_KEY);
            alg.extend([0x06, oid.len() as u8]);
            alg.extend_from_slice(oid);
            let mut body = std::vec![0x30, alg.len() as u8];
            body.extend(alg);
            body.push(0x03);
            der_len(&mut body, chip_pk.as_bytes().len() + 1);
            body.push(0x00);
            body.extend_from_slice(chip_pk.as_bytes());
            let mut spki = std::vec![0x30];
            der_len(&mut spki, body.len());
            spki.extend(body);
            let key = ChipPublicKey::from_spki(&spki).unwrap();
            assert_eq!(key.domain(), domain);
            assert_eq!(
                EcPublicKey::from_spki(&spki),
                Err(Error::UnsupportedProtocol)
            );
            let sk_ifd = std::vec![0x17u8; curve.field_len() - 1];
            let host = ChipAuthHost::with_key(&ca, &key, &sk_ifd).unwrap();
            let pk_ifd = host.terminal_public_key_bytes().to_vec();
            assert_eq!(pk_ifd.len(), curve.point_len());
            let mut cmd = [0u8; 300];
            let n = host.general_authenticate_command(&mut cmd).unwrap();
            assert_eq!(&cmd[n - 1 - pk_ifd.len()..n - 1], &pk_ifd[..]);
            let session = host.finish(&hex("7C009000")).unwrap();
            let wire = host_mac(session);
            let mut plain = [0u8; 64];
            // The genuine chip reads the protected command; a chip with another key cannot.
            let mut card = chip_session(domain, &chip_sk, &pk_ifd);
            assert_eq!(card.unwrap_command(&wire, &mut plain), Ok(5), "{curve:?}");
            let mut other = chip_session(domain, &[0x43; 20], &pk_ifd);
            assert_eq!(
                other.unwrap_command(&wire, &mut plain),
                Err(Error::MacMismatch),
                "{curve:?}"
            );
        }

        // id-CA-DH-3DES-CBC-CBC with a 2048-bit key: MSE:Set KAT with extended length.
        let set = hex("3111 300F 060A04007F00070202030101 020101");
        let ca = ca_info(&set);
        let domain = PaceDomain::Dh(DhGroup::Modp2048_256);
        let chip_sk = [0x33u8; 31];
        let chip_pk = domain.public_key(&chip_sk).unwrap();
        let key = ChipPublicKey::new(domain, chip_pk.as_bytes()).unwrap();
        let host = ChipAuthHost::with_key(&ca, &key, &[0x21; 31]).unwrap();
        let mut cmd = [0u8; 300];
        let n = host.mse_command(&mut cmd).unwrap();
        assert_eq!(cmd[..11].to_vec(), hex("002241A6 000104 91820100"));
        assert_eq!(n, 7 + 4 + 256);
        assert_eq!(
            host.general_authenticate_command(&mut cmd),
            Err(Error::WrongState)
        );
        assert!(matches!(
            host.finish(&hex("9000")),
            Ok(PaceSession::Tdes(_))
        ));
        // A DH key for an ECDH protocol, and a key outside the subgroup.
        let ecdh = hex("3111 300F 060A04007F00070202030202 020101");
        assert_eq!(
            ChipAuthHost::with_key(&ca_info(&ecdh), &key, &[0x21; 31]).unwrap_err(),
            Error::UnsupportedProtocol
        );
        let bad = ChipPublicKey::new(domain, &[2]).unwrap();
        let host = ChipAuthHost::with_key(&ca, &bad, &[0x21; 31]).unwrap();
        assert_eq!(
            host.finish(&hex("9000")).unwrap_err(),
            Error::AuthenticationFailed
        );
    }

    #[test]
    fn dh_spki_and_explicit_p384() {
        // dhpublicnumber with RFC 5114 §2.1's p, g, q and y = 2^1 (DER INTEGER 02).
        let g = DhGroup::Modp1024_160;
        let mut params = std::vec![0x02, 0x81, 0x81, 0x00];
        params.extend_from_slice(g.prime());
        params.extend(hex("020102 020103"));
        let mut alg = hex("0607 2A8648CE3E0201");
        alg.extend([0x30, 0x81, params.len() as u8]);
        alg.extend(params);
        let mut body = std::vec![0x30, 0x81, alg.len() as u8];
        body.extend(alg);
        body.extend(hex("0304 00 020105"));
        let mut spki = std::vec![0x30, 0x81, body.len() as u8];
        spki.extend(body);
        let key = ChipPublicKey::from_spki(&spki).unwrap();
        assert_eq!(key.domain(), PaceDomain::Dh(g));
        assert_eq!(key.public_key(), &[5]);

        // Explicit parameters with P-384's prime.
        let point = PaceDomain::Ec(PaceCurve::NistP384)
            .public_key(&[9; 48])
            .unwrap();
        let mut params = hex("020101 303C 06072A8648CE3D0101 023100");
        params.extend_from_slice(&P384_PRIME);
        let mut alg = std::vec![0x06, 0x07];
        alg.extend_from_slice(ID_EC_PUBLIC_KEY);
        alg.extend([0x30, params.len() as u8]);
        alg.extend(params);
        let mut body = std::vec![0x30, alg.len() as u8];
        body.extend(alg);
        body.extend([0x03, 0x62, 0x00]);
        body.extend_from_slice(point.as_bytes());
        let mut spki = std::vec![0x30, 0x81, body.len() as u8];
        spki.extend(body);
        let key = ChipPublicKey::from_spki(&spki).unwrap();
        assert_eq!(key.domain(), PaceDomain::Ec(PaceCurve::NistP384));
        assert_eq!(key.public_key(), point.as_bytes());
        assert!(is_p521_prime(&{
            let mut p = [0xFF; 66];
            p[0] = 1;
            p
        }));
    }
}
