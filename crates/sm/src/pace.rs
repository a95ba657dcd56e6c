//! PACE v2 with the Generic Mapping over elliptic curves and MODP groups, terminal side (ICAO
//! Doc 9303-11 §4.4, BSI TR-03110-2 §3.2), as a sans-IO engine.
//!
//! [`PaceHost`] writes MSE:Set AT and the four GENERAL AUTHENTICATE commands and checks the
//! chip's answers; the caller moves the bytes. The steps, in order:
//!
//! 1. [`mse_set_at_command`](PaceHost::mse_set_at_command): `00 22 C1 A4` with the protocol
//!    (`80`) and the password reference (`83`); the answer goes to
//!    [`check_mse_set_at`](PaceHost::check_mse_set_at).
//! 2. [`nonce_command`](PaceHost::nonce_command) (`10 86 00 00 02 7C 00 00`); the answer
//!    (`7C { 80 z }`) to [`process_nonce`](PaceHost::process_nonce), which decrypts the nonce
//!    s = D(Kπ, z).
//! 3. [`map_command`](PaceHost::map_command) (`7C { 81 PK_map,IFD }`); the answer
//!    (`7C { 82 PK_map,IC }`) to [`process_map`](PaceHost::process_map): H = SK_map,IFD ·
//!    PK_map,IC, Ĝ = s·G + H (DH: h = PK_map,IC^SK_map,IFD, ĝ = g^s · h mod p).
//! 4. [`key_agreement_command`](PaceHost::key_agreement_command) (`7C { 83 PK_IFD }` with
//!    PK_IFD = SK_IFD · Ĝ); the answer (`7C { 84 PK_IC }`) to
//!    [`process_key_agreement`](PaceHost::process_key_agreement): K = x(SK_IFD · PK_IC)
//!    (DH: K = PK_IC^SK_IFD mod p, of the length of p), KS_enc = KDF(K, 1), KS_mac = KDF(K, 2).
//! 5. [`mutual_authentication_command`](PaceHost::mutual_authentication_command)
//!    (`00 86 00 00 0C 7C 0A 85 08` T_IFD `00`), the end of the chain; the answer
//!    (`7C { 86 T_IC }`) to [`finish`](PaceHost::finish), which checks T_IC and returns the
//!    secure messaging session with the send sequence counter at 0 (§9.8.6.3 / §4.4.3.4).
//!
//! The authentication tokens are T = MAC(KS_mac, `7F49 { 06 OID, 86 point }`) (DH:
//! `84 y`) over the other side's ephemeral key (§4.4.3.4, §9.4.2; AES-CMAC truncated to 8
//! bytes, or the ISO/IEC 9797-1 MAC algorithm 3 for 3DES).
//!
//! Domain parameters ([`PaceDomain`], table in [`crate::pace_group`]): NIST P-256, P-384,
//! P-521, brainpoolP256r1 and brainpoolP384r1 (RustCrypto `p256`, `p384`, `p521`, `bp256`,
//! `bp384`) and the RFC 5114 MODP groups (IDs 0–2, `crypto-bigint`); other domain parameters
//! give [`Error::UnsupportedProtocol`]. Session keys: 3DES and AES-128/192/256
//! ([`PaceSession`]). The Chip Authentication Mapping (ECDH, AES) runs as the Generic
//! Mapping and ends with [`PaceHost::finish_cam`] and [`CamProof::verify`]. The Integrated
//! Mapping runs with AES-128 for DH ([`DhGroup::integrated_map`]) and ECDH on every curve
//! above ([`PaceCurve::integrated_map`], the point encoding of Appendix B to Part 11); the
//! terminal's nonce t takes the place of the mapping key.
//!
//! The terminal's ephemeral private keys are given to [`PaceHost::new`] /
//! [`PaceHost::with_domain`], drawn by the caller (the drivers in [`crate::pace_driver`] draw
//! them from a `TryCryptoRng` before anything is sent).
//!
//! For the eID PIN (password reference 3), MSE:Set AT may answer with a warning that gives
//! the retry counter ([`PasswordStatus`], BSI TR-03110-2 §3.5.1 / TR-03110-3 §B.11.1).

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use cardwire_apdu::StatusWord;

use crate::kdf::{COUNTER_ENC, COUNTER_MAC, COUNTER_PACE, KeyAlgorithm, SecretKey, derive_key};
use crate::mrz::MrzInfo;
use crate::pace_group::{GroupElement, MAX_PUBLIC_LEN, PrivateKey};
use crate::primitives::{AesCmac, AesKey, RetailMac, TdesKey};
use crate::security_infos::{ID_PACE, PaceMapping, ParameterId};
use crate::suite::{AesSuite, TdesSuite};
use crate::{Error, SmSession};

pub use crate::pace_group::{DhGroup, PaceDomain};

/// The length of an uncompressed point on a 256-bit curve: `04` ‖ x ‖ y.
pub const POINT_LEN: usize = 65;
/// The longest protocol OID [`PaceHost`] accepts (content octets).
const MAX_OID: usize = 16;
/// The longest command [`PaceHost`] writes: an extended-length GENERAL AUTHENTICATE with a
/// 2048-bit DH value (4 + 3 + 1 + 3 + 1 + 3 + 256 + 2 bytes).
pub const MAX_COMMAND_LEN: usize = 280;
/// The longest token input `7F49 L { 06 OID, 84/86 L key }`.
const MAX_TOKEN_INPUT: usize = 4 + 2 + MAX_OID + 4 + MAX_PUBLIC_LEN;

/// The password PACE is run with, and its reference in MSE:Set AT's DO `83` (ICAO 9303-11
/// §4.4.4.1, BSI TR-03110-3 Table D.1: MRZ 1, CAN 2, PIN 3, PUK 4).
#[derive(Clone, Copy)]
pub enum PacePassword<'a> {
    /// The MRZ information; K = SHA-1(MRZ information) (§4.4.3.1).
    Mrz(&'a MrzInfo),
    /// The card access number as printed (ASCII digits), used as is.
    Can(&'a [u8]),
    /// The eID PIN (ASCII digits), used as is.
    Pin(&'a [u8]),
    /// The eID PUK (ASCII digits), used as is.
    Puk(&'a [u8]),
}

impl PacePassword<'_> {
    /// The password reference (DO `83`).
    pub fn reference(&self) -> u8 {
        match self {
            PacePassword::Mrz(_) => 1,
            PacePassword::Can(_) => 2,
            PacePassword::Pin(_) => 3,
            PacePassword::Puk(_) => 4,
        }
    }

    /// Kπ = KDF(f(π), 3) for the session key cipher (ICAO 9303-11 §4.4.3.1, §9.7.3).
    pub fn key(&self, cipher: KeyAlgorithm) -> SecretKey {
        match self {
            PacePassword::Mrz(mrz) => {
                let mut k: [u8; 20] = Sha1::digest(mrz.as_bytes()).into();
                let key = derive_key(&k, COUNTER_PACE, cipher);
                k.zeroize();
                key
            }
            PacePassword::Can(p) | PacePassword::Pin(p) | PacePassword::Puk(p) => {
                derive_key(p, COUNTER_PACE, cipher)
            }
        }
    }
}

impl core::fmt::Debug for PacePassword<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PacePassword(ref {}, <redacted>)", self.reference())
    }
}

/// What MSE:Set AT's status word says about a PIN or PUK password (BSI TR-03110-2 §3.5.1,
/// TR-03110-3 §B.11.1): the same outcomes as `cardwire_pin::PinOutcome` for `63Cx`/`6983`,
/// plus the eID's suspension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordStatus {
    /// `9000`: the password may be used, no failed try recorded.
    Ready,
    /// `63Cx`, x ≥ 2: earlier wrong tries; `x` tries are left (`PinOutcome::WrongPin`).
    WrongPin {
        /// Tries left.
        retries_left: u8,
    },
    /// `63C1`: one try left and the PIN is suspended: run PACE with the CAN first, then with
    /// the PIN in the same session.
    Suspended,
    /// `63C0` or `6983`: no try left; the PIN is blocked (unblock with the PUK)
    /// (`PinOutcome::Blocked`).
    Blocked,
    /// `6283`: the password is deactivated.
    Deactivated,
    /// Another status word: MSE:Set AT was refused.
    Refused(StatusWord),
}

impl PasswordStatus {
    /// Reads MSE:Set AT's status word.
    pub fn from_status(sw: StatusWord) -> Self {
        match sw.0 {
            0x9000 => PasswordStatus::Ready,
            0x63C0 | 0x6983 => PasswordStatus::Blocked,
            0x63C1 => PasswordStatus::Suspended,
            0x63C2..=0x63CF => PasswordStatus::WrongPin {
                retries_left: (sw.0 & 0x0F) as u8,
            },
            0x6283 => PasswordStatus::Deactivated,
            _ => PasswordStatus::Refused(sw),
        }
    }

    /// Whether PACE goes on after this status (the chip decides, for a suspended PIN,
    /// whether a CAN run came first).
    pub fn may_continue(self) -> bool {
        matches!(
            self,
            PasswordStatus::Ready | PasswordStatus::WrongPin { .. } | PasswordStatus::Suspended
        )
    }
}

/// An elliptic curve [`PaceHost`] can map on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaceCurve {
    /// NIST P-256 (standardized domain parameters 12).
    NistP256,
    /// brainpoolP256r1 (standardized domain parameters 13).
    BrainpoolP256r1,
    /// NIST P-384 (standardized domain parameters 15).
    NistP384,
    /// brainpoolP384r1 (standardized domain parameters 16).
    BrainpoolP384r1,
    /// NIST P-521 (standardized domain parameters 18).
    NistP521,
}

impl PaceCurve {
    /// The curve for standardized domain parameters, if supported.
    pub fn from_parameter_id(id: ParameterId) -> Option<Self> {
        match id {
            ParameterId::NIST_P256 => Some(PaceCurve::NistP256),
            ParameterId::BRAINPOOL_P256R1 => Some(PaceCurve::BrainpoolP256r1),
            ParameterId::NIST_P384 => Some(PaceCurve::NistP384),
            ParameterId::BRAINPOOL_P384R1 => Some(PaceCurve::BrainpoolP384r1),
            ParameterId::NIST_P521 => Some(PaceCurve::NistP521),
            _ => None,
        }
    }

    /// Whether `sk` is a valid private key (1 ≤ sk < n), for rejection sampling. For the
    /// 384- and 521-bit curves see [`is_valid_private_key_bytes`](Self::is_valid_private_key_bytes).
    pub fn is_valid_private_key(self, sk: &[u8; 32]) -> bool {
        self.is_valid_private_key_bytes(sk)
    }

    /// k · P (P = the generator when `point` is `None`), uncompressed, on the 256-bit curves
    /// (every curve: [`PaceDomain::public_key`] and [`PaceDomain::agree`]).
    ///
    /// # Errors
    /// [`Error::KeyLength`] for an invalid k; [`Error::AuthenticationFailed`] for a point not
    /// on the curve; [`Error::UnsupportedProtocol`] on a curve over 256 bits.
    pub fn mul(self, k: &[u8], point: Option<&[u8]>) -> Result<[u8; POINT_LEN], Error> {
        let e = self.mul_any(k, point)?;
        e.as_bytes()
            .try_into()
            .map_err(|_| Error::UnsupportedProtocol)
    }

    /// The generic mapping Ĝ = s · G + H (ICAO 9303-11 §4.4.3.3.1), 256-bit curves.
    #[cfg(test)]
    fn map(self, s: &[u8], h: &[u8]) -> Result<[u8; POINT_LEN], Error> {
        let e = self.map_any(s, h)?;
        e.as_bytes()
            .try_into()
            .map_err(|_| Error::UnsupportedProtocol)
    }
}

/// Whether the mapping is the Integrated Mapping (DH or ECDH): the terminal sends its nonce t
/// in step 2 instead of a mapping key.
fn is_integrated(mapping: PaceMapping) -> bool {
    matches!(
        mapping,
        PaceMapping::DhIntegrated | PaceMapping::EcdhIntegrated
    )
}

/// The secure messaging session PACE established.
// No allocator to box the larger variant; the session is built once and moved to its owner.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum PaceSession {
    /// AES session keys (SSC of 16 zero bytes).
    Aes(SmSession<AesSuite>),
    /// 3DES session keys (SSC of 8 zero bytes).
    Tdes(SmSession<TdesSuite>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Nonce,
    Map,
    KeyAgreement,
    Tokens,
    Done,
}

/// PACE-GM with ECDH or DH, terminal side. See the [module documentation](self).
pub struct PaceHost {
    step: Step,
    oid: [u8; MAX_OID],
    oid_len: usize,
    reference: u8,
    domain: PaceDomain,
    cipher: KeyAlgorithm,
    k_pi: SecretKey,
    sk_map: PrivateKey,
    sk_eph: PrivateKey,
    nonce: [u8; 32],
    nonce_len: usize,
    generator: GroupElement,
    pk_ifd: GroupElement,
    pk_ic: GroupElement,
    pk_map_ic: GroupElement,
    mapping: PaceMapping,
    ks_enc: Option<SecretKey>,
    ks_mac: Option<SecretKey>,
    password_status: PasswordStatus,
}

impl PaceHost {
    /// GENERAL AUTHENTICATE step 1: ask for the encrypted nonce (ICAO 9303-11 §4.4.4.2).
    pub const NONCE_COMMAND: [u8; 8] = [0x10, 0x86, 0x00, 0x00, 0x02, 0x7C, 0x00, 0x00];

    /// Starts PACE for `protocol` (a `PACEInfo` protocol's OID content octets, e.g.
    /// [`ID_PACE_ECDH_GM_AES_CBC_CMAC_128`](crate::security_infos::ID_PACE_ECDH_GM_AES_CBC_CMAC_128))
    /// on a 256-bit `curve`, with the password and the terminal's two ephemeral private keys
    /// (the mapping key and the key agreement key, 32 big-endian bytes each, 1 ≤ k < n).
    /// [`with_domain`](Self::with_domain) takes any supported curve or DH group.
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for a protocol other than `id-PACE-ECDH-GM-*`;
    /// [`Error::KeyLength`] for a private key that is zero or not below the curve order.
    pub fn new(
        protocol: &[u8],
        curve: PaceCurve,
        password: &PacePassword<'_>,
        sk_map: [u8; 32],
        sk_eph: [u8; 32],
    ) -> Result<Self, Error> {
        let mut sk_map = sk_map;
        let mut sk_eph = sk_eph;
        let host = Self::with_domain(protocol, PaceDomain::Ec(curve), password, &sk_map, &sk_eph);
        sk_map.zeroize();
        sk_eph.zeroize();
        host
    }

    /// Starts PACE-GM for `protocol` in `domain` (`id-PACE-ECDH-GM-*` on a curve,
    /// `id-PACE-DH-GM-*` in a MODP group), with the terminal's two ephemeral private keys
    /// (big-endian, at most [`PaceDomain::private_key_len`] bytes, 1 ≤ k < order).
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for another mapping, or a mapping that does not fit the
    /// domain; [`Error::KeyLength`] for an invalid private key.
    pub fn with_domain(
        protocol: &[u8],
        domain: PaceDomain,
        password: &PacePassword<'_>,
        sk_map: &[u8],
        sk_eph: &[u8],
    ) -> Result<Self, Error> {
        let (mapping, cipher) = parse_protocol(protocol).ok_or(Error::UnsupportedProtocol)?;
        match (mapping, domain) {
            (PaceMapping::EcdhGeneric, PaceDomain::Ec(_))
            | (PaceMapping::DhGeneric, PaceDomain::Dh(_)) => {}
            (PaceMapping::EcdhChipAuthentication, PaceDomain::Ec(_))
                if cipher != KeyAlgorithm::Tdes => {}
            (PaceMapping::DhIntegrated, PaceDomain::Dh(_))
            | (PaceMapping::EcdhIntegrated, PaceDomain::Ec(_))
                if cipher == KeyAlgorithm::Aes128 => {}
            _ => return Err(Error::UnsupportedProtocol),
        }
        // For the Integrated Mapping, `sk_map` is the terminal's nonce t (16 bytes).
        let map_ok = if is_integrated(mapping) {
            sk_map.len() == 16
        } else {
            domain.is_valid_private_key(sk_map)
        };
        if !map_ok || !domain.is_valid_private_key(sk_eph) {
            return Err(Error::KeyLength {
                len: domain.private_key_len(),
            });
        }
        let mut oid = [0u8; MAX_OID];
        oid.get_mut(..protocol.len())
            .ok_or(Error::UnsupportedProtocol)?
            .copy_from_slice(protocol);
        Ok(Self {
            step: Step::Start,
            oid,
            oid_len: protocol.len(),
            reference: password.reference(),
            domain,
            cipher,
            k_pi: password.key(cipher),
            sk_map: PrivateKey::from_slice(sk_map)?,
            sk_eph: PrivateKey::from_slice(sk_eph)?,
            nonce: [0; 32],
            nonce_len: 0,
            generator: GroupElement::EMPTY,
            pk_ifd: GroupElement::EMPTY,
            pk_ic: GroupElement::EMPTY,
            pk_map_ic: GroupElement::EMPTY,
            mapping,
            ks_enc: None,
            ks_mac: None,
            password_status: PasswordStatus::Ready,
        })
    }

    fn oid(&self) -> &[u8] {
        self.oid.get(..self.oid_len).unwrap_or(&[])
    }

    /// The domain parameters of the run.
    pub fn domain(&self) -> PaceDomain {
        self.domain
    }

    /// MSE:Set AT (`00 22 C1 A4`, ICAO 9303-11 §4.4.4.1) with DO `80` (the protocol) and DO
    /// `83` (the password reference). Returns the length written to `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn mse_set_at_command(&self, out: &mut [u8]) -> Result<usize, Error> {
        let oid = self.oid();
        let lc = 2 + oid.len() + 3;
        let needed = 5 + lc;
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let mut w = Writer::new(out);
        w.put(&[0x00, 0x22, 0xC1, 0xA4, lc as u8, 0x80, oid.len() as u8]);
        w.put(oid);
        w.put(&[0x83, 0x01, self.reference]);
        Ok(needed)
    }

    /// Checks the answer to MSE:Set AT. `9000` goes on. For the eID PIN and PUK (references
    /// 3 and 4) the warnings `63Cx` (x ≥ 1) also go on, recorded in
    /// [`password_status`](Self::password_status) (BSI TR-03110-2 §3.5.1): the chip then
    /// decides (a wrong PIN fails the tokens; a suspended PIN needs a CAN run first).
    ///
    /// # Errors
    /// [`Error::CardRefused`] for any other status (read it with
    /// [`PasswordStatus::from_status`]: `63C0`/`6983` blocked, `6283` deactivated);
    /// [`Error::WrongState`] out of order.
    pub fn check_mse_set_at(&mut self, response: &[u8]) -> Result<(), Error> {
        self.expect(Step::Start)?;
        let sw = match response.split_last_chunk::<2>() {
            Some((_, sw)) => StatusWord(u16::from_be_bytes(*sw)),
            None => return Err(Error::LengthMismatch { offset: 0 }),
        };
        let pin = matches!(self.reference, 3 | 4);
        let password_status = PasswordStatus::from_status(sw);
        if sw != StatusWord::SUCCESS && !(pin && password_status.may_continue()) {
            return Err(Error::CardRefused { sw });
        }
        self.password_status = password_status;
        self.step = Step::Nonce;
        Ok(())
    }

    /// What MSE:Set AT said about the password ([`PasswordStatus::Ready`] unless an eID PIN
    /// or PUK warning came).
    pub fn password_status(&self) -> PasswordStatus {
        self.password_status
    }

    /// [`PaceHost::NONCE_COMMAND`].
    pub fn nonce_command(&self) -> &'static [u8] {
        &Self::NONCE_COMMAND
    }

    /// Decrypts the chip's nonce from its answer `7C { 80 z }` ‖ SW: s = D(Kπ, z), CBC with a
    /// zero IV (§4.4.3.3).
    ///
    /// # Errors
    /// [`Error::CardRefused`]; [`Error::MalformedObject`] / [`Error::MissingObject`] for a
    /// broken answer; [`Error::LengthMismatch`] for a nonce that is not 1 or 2 blocks;
    /// [`Error::WrongState`].
    pub fn process_nonce(&mut self, response: &[u8]) -> Result<(), Error> {
        self.expect(Step::Nonce)?;
        let z = dynamic_object(status(response)?, 0x80)?;
        let block = if self.cipher == KeyAlgorithm::Tdes {
            8
        } else {
            16
        };
        if z.is_empty() || z.len() % block != 0 || z.len() > 32 {
            return Err(Error::LengthMismatch { offset: 0 });
        }
        let s = self
            .nonce
            .get_mut(..z.len())
            .ok_or(Error::LengthMismatch { offset: 0 })?;
        s.copy_from_slice(z);
        let zero_iv = [0u8; 16];
        let k = self.k_pi.as_bytes();
        if self.cipher == KeyAlgorithm::Tdes {
            TdesKey::new(k)?.decrypt_cbc(&zero_iv[..8], s)?;
        } else {
            AesKey::new(k)?.decrypt_cbc(&zero_iv, s)?;
        }
        self.nonce_len = z.len();
        self.step = Step::Map;
        Ok(())
    }

    /// The decrypted nonce s (for tests and diagnostics).
    pub fn nonce(&self) -> &[u8] {
        self.nonce.get(..self.nonce_len).unwrap_or(&[])
    }

    /// GENERAL AUTHENTICATE step 2 (chained): `7C { 81 PK_map,IFD }` with PK_map,IFD =
    /// SK_map,IFD · G (or g^SK_map,IFD). Returns the length written to `out` (74 bytes on a
    /// 256-bit curve; an extended-length command for 2048-bit DH).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::KeyLength`] for an unusable key.
    pub fn map_command(&self, out: &mut [u8]) -> Result<usize, Error> {
        if is_integrated(self.mapping) {
            // The Integrated Mapping sends the terminal's nonce t (§4.4.4.2).
            return ga_command(0x10, 0x81, self.sk_map.as_bytes(), out);
        }
        let pk = self.domain.public_key(self.sk_map.as_bytes())?;
        ga_command(0x10, 0x81, pk.as_bytes(), out)
    }

    /// Processes `7C { 82 PK_map,IC }` ‖ SW: H = SK_map,IFD · PK_map,IC and the mapped
    /// generator Ĝ = s · G + H (§4.4.3.3.1; DH: h = PK_map,IC^SK_map,IFD, ĝ = g^s · h).
    ///
    /// # Errors
    /// [`Error::CardRefused`]; [`Error::MalformedObject`] / [`Error::MissingObject`];
    /// [`Error::AuthenticationFailed`] for a point not on the curve (a DH value outside the
    /// subgroup), the terminal's own mapping key reflected, or an identity result;
    /// [`Error::WrongState`].
    pub fn process_map(&mut self, response: &[u8]) -> Result<(), Error> {
        self.expect(Step::Map)?;
        if is_integrated(self.mapping) {
            return self.process_integrated_map(response);
        }
        let pk_ic = dynamic_object(status(response)?, 0x82)?;
        let pk_ifd = self.domain.public_key(self.sk_map.as_bytes())?;
        if same_value(self.domain, pk_ic, pk_ifd.as_bytes()) {
            return Err(Error::AuthenticationFailed);
        }
        let mut h = self.domain.agree(self.sk_map.as_bytes(), pk_ic)?;
        let g = self.domain.map_generic(self.nonce(), h.as_bytes());
        h.zeroize();
        self.generator = g?;
        self.pk_map_ic = GroupElement::from_slice(pk_ic)?;
        self.sk_map = PrivateKey::from_slice(&[])?;
        self.step = Step::KeyAgreement;
        Ok(())
    }

    /// The Integrated Mapping's answer: `7C 00` (or an empty `82`); ĝ = f(R(s, t)).
    fn process_integrated_map(&mut self, response: &[u8]) -> Result<(), Error> {
        let data = status(response)?;
        match dynamic_object(data, 0x82) {
            Ok([]) | Err(Error::MissingObject { .. }) => {}
            Ok(_) => return Err(Error::AuthenticationFailed),
            Err(e) => return Err(e),
        }
        self.generator = match self.domain {
            PaceDomain::Dh(group) => group.integrated_map(self.nonce(), self.sk_map.as_bytes())?,
            PaceDomain::Ec(curve) => curve.integrated_map(self.nonce(), self.sk_map.as_bytes())?,
        };
        self.sk_map = PrivateKey::from_slice(&[])?;
        self.step = Step::KeyAgreement;
        Ok(())
    }

    /// The mapped generator Ĝ, uncompressed (after [`process_map`](Self::process_map)), on a
    /// 256-bit curve; for the other domains the first 65 bytes of
    /// [`mapped_generator_bytes`](Self::mapped_generator_bytes).
    pub fn mapped_generator(&self) -> &[u8; POINT_LEN] {
        self.generator
            .buffer()
            .first_chunk::<POINT_LEN>()
            .unwrap_or(&[0; POINT_LEN])
    }

    /// The mapped generator (a point, or the DH value ĝ of the length of p).
    pub fn mapped_generator_bytes(&self) -> &[u8] {
        self.generator.as_bytes()
    }

    /// GENERAL AUTHENTICATE step 3 (chained): `7C { 83 PK_IFD }` with PK_IFD = SK_IFD · Ĝ
    /// (DH: ĝ^SK_IFD).
    ///
    /// # Errors
    /// [`Error::WrongState`] before [`process_map`](Self::process_map);
    /// [`Error::BufferTooSmall`].
    pub fn key_agreement_command(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        self.expect(Step::KeyAgreement)?;
        self.pk_ifd = self
            .domain
            .public_key_on(self.sk_eph.as_bytes(), self.generator.as_bytes())?;
        ga_command(0x10, 0x83, self.pk_ifd.as_bytes(), out)
    }

    /// Processes `7C { 84 PK_IC }` ‖ SW: K = x(SK_IFD · PK_IC) (DH: PK_IC^SK_IFD mod p),
    /// KS_enc and KS_mac (§9.7.1).
    ///
    /// # Errors
    /// As [`process_map`](Self::process_map); also [`Error::WrongState`] before
    /// [`key_agreement_command`](Self::key_agreement_command).
    pub fn process_key_agreement(&mut self, response: &[u8]) -> Result<(), Error> {
        self.expect(Step::KeyAgreement)?;
        if self.pk_ifd.is_empty() {
            return Err(Error::WrongState);
        }
        let pk_ic = dynamic_object(status(response)?, 0x84)?;
        if same_value(self.domain, pk_ic, self.pk_ifd.as_bytes()) {
            return Err(Error::AuthenticationFailed);
        }
        let mut shared = self.domain.agree(self.sk_eph.as_bytes(), pk_ic)?;
        let k = self.domain.shared_secret(&shared);
        self.ks_enc = Some(derive_key(k, COUNTER_ENC, self.cipher));
        self.ks_mac = Some(derive_key(k, COUNTER_MAC, self.cipher));
        shared.zeroize();
        self.sk_eph = PrivateKey::from_slice(&[])?;
        self.pk_ic = GroupElement::from_slice(pk_ic)?;
        self.step = Step::Tokens;
        Ok(())
    }

    /// The session keys (KS_enc, KS_mac), after
    /// [`process_key_agreement`](Self::process_key_agreement).
    pub fn session_keys(&self) -> Option<(&SecretKey, &SecretKey)> {
        self.ks_enc.as_ref().zip(self.ks_mac.as_ref())
    }

    fn token(&self, public: &GroupElement) -> Result<[u8; 8], Error> {
        let mac_key = self.ks_mac.as_ref().ok_or(Error::WrongState)?;
        authentication_token(
            self.cipher,
            mac_key,
            self.oid(),
            self.domain.public_key_tag(),
            self.domain.token_public_key(public.as_bytes()),
        )
    }

    /// GENERAL AUTHENTICATE step 4, the last of the chain: `00 86 00 00 0C 7C 0A 85 08` T_IFD
    /// `00`, T_IFD = MAC(KS_mac, `7F49 { 06 OID, 86 PK_IC }`).
    ///
    /// # Errors
    /// [`Error::WrongState`] before [`process_key_agreement`](Self::process_key_agreement);
    /// [`Error::BufferTooSmall`].
    pub fn mutual_authentication_command(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.expect(Step::Tokens)?;
        let t = self.token(&self.pk_ic)?;
        let out = out
            .get_mut(..18)
            .ok_or(Error::BufferTooSmall { needed: 18 })?;
        let mut w = Writer::new(out);
        w.put(&[0x00, 0x86, 0x00, 0x00, 0x0C, 0x7C, 0x0A, 0x85, 0x08]);
        w.put(&t);
        w.put(&[0x00]);
        Ok(18)
    }

    /// Checks `7C { 86 T_IC }` ‖ SW (T_IC = MAC(KS_mac, `7F49 { 06 OID, 86 PK_IFD }`), in
    /// constant time) and returns the secure messaging session, SSC = 0.
    ///
    /// # Errors
    /// [`Error::CardRefused`]; [`Error::AuthenticationFailed`] for a wrong token;
    /// [`Error::MalformedObject`] / [`Error::MissingObject`]; [`Error::WrongState`].
    pub fn finish(mut self, response: &[u8]) -> Result<PaceSession, Error> {
        self.expect(Step::Tokens)?;
        let t_ic = dynamic_object(status(response)?, 0x86)?;
        let expected = self.token(&self.pk_ifd)?;
        if t_ic.len() != 8 || !bool::from(t_ic.ct_eq(&expected[..])) {
            return Err(Error::AuthenticationFailed);
        }
        self.step = Step::Done;
        let (enc, mac) = self.session_keys().ok_or(Error::WrongState)?;
        session(self.cipher, enc, mac)
    }

    /// For the Chip Authentication Mapping (`id-PACE-ECDH-CAM-*`, ICAO 9303-11 §4.4.3.3.3,
    /// §4.4.3.5): checks `7C { 86 T_IC, 8A A_IC }` ‖ SW like [`finish`](Self::finish) and
    /// decrypts the chip authentication data CA_IC = D(KS_enc, A_IC) (AES-CBC, IV =
    /// E(KS_enc, `FF…FF`), padding method 2). The chip is authenticated only once
    /// [`CamProof::verify`] has checked CA_IC against the chip's static key from
    /// EF.CardSecurity (itself checked by passive authentication).
    ///
    /// # Errors
    /// As [`finish`](Self::finish); [`Error::UnsupportedProtocol`] for a run that is not
    /// CAM; [`Error::MissingObject`] without `8A`; [`Error::AuthenticationFailed`] for
    /// A_IC that is not a whole number of blocks or has no padding.
    pub fn finish_cam(self, response: &[u8]) -> Result<(PaceSession, CamProof), Error> {
        if self.mapping != PaceMapping::EcdhChipAuthentication {
            return Err(Error::UnsupportedProtocol);
        }
        let PaceDomain::Ec(curve) = self.domain else {
            return Err(Error::UnsupportedProtocol);
        };
        let data = status(response)?;
        let a_ic = dynamic_object(data, 0x8A)?;
        let enc = self.ks_enc.as_ref().ok_or(Error::WrongState)?;
        let mut buf = [0u8; 96];
        let ca = buf
            .get_mut(..a_ic.len())
            .filter(|b| !b.is_empty() && b.len() % 16 == 0)
            .ok_or(Error::AuthenticationFailed)?;
        ca.copy_from_slice(a_ic);
        let key = AesKey::new(enc.as_bytes())?;
        let mut iv = [0xFFu8; 16];
        key.encrypt_block(&mut iv)?;
        key.decrypt_cbc(&iv, ca)?;
        let len = crate::padding::unpad(ca, 16).map_err(|_| Error::AuthenticationFailed)?;
        let proof = CamProof {
            curve,
            pk_map_ic: self.pk_map_ic,
            ca_ic: PrivateKey::from_slice(ca.get(..len).unwrap_or(&[]))?,
        };
        buf.zeroize();
        let session = self.finish(response)?;
        Ok((session, proof))
    }

    fn expect(&self, step: Step) -> Result<(), Error> {
        if self.step == step {
            Ok(())
        } else {
            Err(Error::WrongState)
        }
    }
}

impl Drop for PaceHost {
    fn drop(&mut self) {
        self.nonce.zeroize();
        self.generator.zeroize();
    }
}

impl core::fmt::Debug for PaceHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PaceHost")
            .field("step", &self.step)
            .field("domain", &self.domain)
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

/// The chip authentication data of a PACE-CAM run ([`PaceHost::finish_cam`]), to be checked
/// against the chip's static key.
pub struct CamProof {
    curve: PaceCurve,
    pk_map_ic: GroupElement,
    ca_ic: PrivateKey,
}

impl CamProof {
    /// The chip's mapping key PK_map,IC of the run.
    pub fn chip_mapping_key(&self) -> &[u8] {
        self.pk_map_ic.as_bytes()
    }

    /// Checks PK_map,IC = CA_IC · PK_IC (ICAO 9303-11 §4.4.3.5.2) for the chip's static key
    /// PK_IC (EF.CardSecurity's `ChipAuthenticationPublicKeyInfo`, uncompressed, on the
    /// run's curve).
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] when it does not hold, or PK_IC is not on the curve or
    /// CA_IC is not a valid scalar; [`Error::UnsupportedProtocol`] for a key on another curve.
    pub fn verify(&self, chip_key_curve: PaceCurve, chip_key: &[u8]) -> Result<(), Error> {
        if chip_key_curve != self.curve {
            return Err(Error::UnsupportedProtocol);
        }
        let expected = self
            .curve
            .mul_any(self.ca_ic.as_bytes(), Some(chip_key))
            .map_err(|_| Error::AuthenticationFailed)?;
        if bool::from(expected.as_bytes().ct_eq(self.pk_map_ic.as_bytes())) {
            Ok(())
        } else {
            Err(Error::AuthenticationFailed)
        }
    }
}

impl CamProof {
    /// [`verify`](Self::verify) with the chip's static key as read by
    /// [`ChipPublicKey::from_spki`](crate::chip_auth::ChipPublicKey::from_spki) (EF.CardSecurity's
    /// `ChipAuthenticationPublicKeyInfo`).
    ///
    /// # Errors
    /// As [`verify`](Self::verify); [`Error::UnsupportedProtocol`] for a DH key.
    pub fn verify_key(&self, key: &crate::chip_auth::ChipPublicKey) -> Result<(), Error> {
        match key.domain() {
            PaceDomain::Ec(curve) => self.verify(curve, key.public_key()),
            PaceDomain::Dh(_) => Err(Error::UnsupportedProtocol),
        }
    }
}

impl core::fmt::Debug for CamProof {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CamProof")
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

/// Whether two public values are equal (a reflected key), comparing DH values as integers.
fn same_value(domain: PaceDomain, a: &[u8], b: &[u8]) -> bool {
    let a = domain.token_public_key(a);
    let b = domain.token_public_key(b);
    bool::from(a.ct_eq(b))
}

/// The host session for the derived keys, SSC = 0.
pub(crate) fn session(
    cipher: KeyAlgorithm,
    enc: &SecretKey,
    mac: &SecretKey,
) -> Result<PaceSession, Error> {
    if cipher == KeyAlgorithm::Tdes {
        let suite = TdesSuite::new(enc.as_bytes(), mac.as_bytes())?;
        Ok(PaceSession::Tdes(SmSession::host(suite, &[0; 8])?))
    } else {
        let suite = AesSuite::new(enc.as_bytes(), mac.as_bytes())?;
        Ok(PaceSession::Aes(SmSession::host(suite, &[0; 16])?))
    }
}

/// The authentication token T = MAC(KS_mac, `7F49 { 06 OID, tag key }`) (ICAO 9303-11
/// §4.4.3.4, §9.4.2): AES-CMAC truncated to 8 bytes, or for 3DES the ISO/IEC 9797-1 MAC
/// algorithm 3 over the input padded with method 2.
///
/// # Errors
/// [`Error::BufferTooSmall`] for an OID or key too long; [`Error::KeyLength`].
pub fn authentication_token(
    cipher: KeyAlgorithm,
    mac_key: &SecretKey,
    oid: &[u8],
    key_tag: u8,
    public_key: &[u8],
) -> Result<[u8; 8], Error> {
    let mut input = [0u8; MAX_TOKEN_INPUT + 8];
    let n = token_input(oid, key_tag, public_key, &mut input)?;
    let data = input.get(..n).unwrap_or(&[]);
    let mut t = [0u8; 8];
    if cipher == KeyAlgorithm::Tdes {
        // ISO/IEC 9797-1 padding method 2, then MAC algorithm 3.
        let len = (n / 8 + 1) * 8;
        if let Some(b) = input.get_mut(n) {
            *b = 0x80;
        }
        let mut mac = RetailMac::new(mac_key.as_bytes())?;
        t = mac.compute(&[input.get(..len).unwrap_or(&[])]);
    } else {
        let mut mac = AesCmac::new(mac_key.as_bytes())?;
        let full = mac.compute(&[data]);
        t.copy_from_slice(full.get(..8).unwrap_or(&[0; 8]));
    }
    Ok(t)
}

/// The mapping and cipher of an `id-PACE-*` protocol OID.
pub(crate) fn parse_protocol(oid: &[u8]) -> Option<(PaceMapping, KeyAlgorithm)> {
    let rest = oid.strip_prefix(ID_PACE)?;
    let (mapping, cipher) = match rest {
        [m, c] => (*m, *c),
        _ => return None,
    };
    let mapping = match mapping {
        1 => PaceMapping::DhGeneric,
        2 => PaceMapping::EcdhGeneric,
        3 => PaceMapping::DhIntegrated,
        4 => PaceMapping::EcdhIntegrated,
        6 => PaceMapping::EcdhChipAuthentication,
        _ => return None,
    };
    let cipher = match cipher {
        1 => KeyAlgorithm::Tdes,
        2 => KeyAlgorithm::Aes128,
        3 => KeyAlgorithm::Aes192,
        4 => KeyAlgorithm::Aes256,
        _ => return None,
    };
    Some((mapping, cipher))
}

/// The length of a BER length field for `len`.
pub(crate) fn length_len(len: usize) -> usize {
    match len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        _ => 3,
    }
}

/// Writes a BER definite length (up to 65535).
pub(crate) fn put_length(w: &mut Writer<'_>, len: usize) {
    match len {
        0..=0x7F => w.put(&[len as u8]),
        0x80..=0xFF => w.put(&[0x81, len as u8]),
        _ => w.put(&[0x82, (len >> 8) as u8, len as u8]),
    }
}

/// The authentication token input `7F49 L { 06 L OID, tag L key }` (§4.4.3.4, §9.4.2).
fn token_input(oid: &[u8], tag: u8, key: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let key_do = 1 + length_len(key.len()) + key.len();
    let inner = 2 + oid.len() + key_do;
    let needed = 2 + length_len(inner) + inner;
    if oid.len() > 0x7F {
        return Err(Error::BufferTooSmall { needed });
    }
    let out = out
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed })?;
    let mut w = Writer::new(out);
    w.put(&[0x7F, 0x49]);
    put_length(&mut w, inner);
    w.put(&[0x06, oid.len() as u8]);
    w.put(oid);
    w.put(&[tag]);
    put_length(&mut w, key.len());
    w.put(key);
    Ok(needed)
}

/// The authentication token input for a 256-bit point (tests).
#[cfg(test)]
fn auth_token_input(oid: &[u8], point: &[u8; POINT_LEN], out: &mut [u8]) -> Result<usize, Error> {
    token_input(oid, 0x86, point, out)
}

/// A GENERAL AUTHENTICATE carrying `7C { tag value }` with Le = `00` (`00 00` in an
/// extended-length command, used when the data exceeds 255 bytes).
pub(crate) fn ga_command(cla: u8, tag: u8, value: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let data = dynamic_template_len(value.len());
    let extended = data > 0xFF;
    let needed = 4 + if extended { 3 + data + 2 } else { 1 + data + 1 };
    let out = out
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed })?;
    let mut w = Writer::new(out);
    w.put(&[cla, 0x86, 0x00, 0x00]);
    if extended {
        w.put(&[0x00, (data >> 8) as u8, data as u8]);
    } else {
        w.put(&[data as u8]);
    }
    put_dynamic_template(&mut w, tag, value);
    if extended {
        w.put(&[0x00, 0x00]);
    } else {
        w.put(&[0x00]);
    }
    Ok(needed)
}

/// The length of `7C { tag value }`.
pub(crate) fn dynamic_template_len(value_len: usize) -> usize {
    let inner = 1 + length_len(value_len) + value_len;
    1 + length_len(inner) + inner
}

/// Writes `7C { tag value }` (BER lengths) through `w`.
fn put_dynamic_template(w: &mut Writer<'_>, tag: u8, value: &[u8]) {
    w.put(&[0x7C]);
    put_length(w, 1 + length_len(value.len()) + value.len());
    w.put(&[tag]);
    put_length(w, value.len());
    w.put(value);
}

/// `7C { tag value }` into `out`, the dynamic authentication data of a GENERAL
/// AUTHENTICATE answer (ICAO 9303-11 §4.4.4.2). Returns its length.
///
/// # Errors
/// [`Error::BufferTooSmall`].
pub(crate) fn dynamic_template(tag: u8, value: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let needed = dynamic_template_len(value.len());
    let out = out
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed })?;
    put_dynamic_template(&mut Writer::new(out), tag, value);
    Ok(needed)
}

/// Splits `data ‖ SW`, refusing any status but `9000`.
pub(crate) fn status(response: &[u8]) -> Result<&[u8], Error> {
    let (data, sw) = response
        .split_last_chunk::<2>()
        .ok_or(Error::LengthMismatch { offset: 0 })?;
    let sw = StatusWord(u16::from_be_bytes(*sw));
    if sw != StatusWord::SUCCESS {
        return Err(Error::CardRefused { sw });
    }
    Ok(data)
}

/// One BER-TLV header with a one-byte tag and a definite length of up to two bytes
/// (`L`, `81 L`, `82 L L`): (tag, value, bytes consumed).
fn tlv(bytes: &[u8], at: usize) -> Result<(u8, &[u8], usize), Error> {
    let malformed = Error::MalformedObject { offset: at };
    let (&tag, rest) = bytes.split_first().ok_or(malformed)?;
    if tag & 0x1F == 0x1F {
        return Err(malformed);
    }
    let (len, hdr) = match rest {
        [l, ..] if *l < 0x80 => (usize::from(*l), 2),
        [0x81, l, ..] => (usize::from(*l), 3),
        [0x82, a, b, ..] => (usize::from(u16::from_be_bytes([*a, *b])), 4),
        _ => return Err(malformed),
    };
    let value = bytes.get(hdr..hdr + len).ok_or(malformed)?;
    Ok((tag, value, hdr + len))
}

/// The value of the DO `tag` inside the dynamic authentication data `7C` (ISO/IEC 7816-4
/// §11.5.6, ICAO 9303-11 §4.4.4.2). Other DOs inside are skipped.
pub(crate) fn dynamic_object(data: &[u8], tag: u8) -> Result<&[u8], Error> {
    let (outer, content, used) = tlv(data, 0)?;
    if outer != 0x7C {
        return Err(Error::UnexpectedObject {
            tag: outer,
            offset: 0,
        });
    }
    if used != data.len() {
        return Err(Error::MalformedObject { offset: used });
    }
    let base = used - content.len();
    let mut at = 0;
    let mut found = None;
    while at < content.len() {
        let (t, value, n) = tlv(content.get(at..).unwrap_or(&[]), base + at)?;
        if t == tag {
            if found.is_some() {
                return Err(Error::DuplicateObject {
                    tag,
                    offset: base + at,
                });
            }
            found = Some(value);
        }
        at += n;
    }
    found.ok_or(Error::MissingObject { tag })
}

/// A bounded writer over a buffer already checked to be large enough.
pub(crate) struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        Self { out, at: 0 }
    }
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.at..self.at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.at += bytes.len();
    }
}

/// Parses one GENERAL AUTHENTICATE answer's data for fuzzing: the value of DO `tag` inside
/// `7C`, or the error.
///
/// # Errors
/// As the engine's answer checks.
pub fn parse_dynamic_authentication_data(data: &[u8], tag: u8) -> Result<&[u8], Error> {
    dynamic_object(data, tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security_infos::ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
    use crate::test_util::hex;

    // ICAO Doc 9303-11 (8th edition), Appendix G.1 "ECDH based example": PACE-GM,
    // brainpoolP256r1, AES-128, MRZ password of document T22000129 (born 640812, expires
    // 101031). Every value below is from that appendix.
    const K: &str = "7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD";
    const K_PI: &str = "89DED1B26624EC1E634C1989302849DD";
    const Z: &str = "95A3A016522EE98D01E76CB6B98B42C3";
    const S: &str = "3F00C4D39D153F2B2A214A078D899B22";
    const SK_MAP_IFD: &str = "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99";
    const PK_MAP_IFD: &str = "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E\
                              544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D";
    const PK_MAP_IC: &str = "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57\
                             30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54";
    const G_HAT: &str = "048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2\
                         8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522";
    const SK_IFD: &str = "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595";
    const PK_IFD: &str = "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C\
                          3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462";
    const PK_IC: &str = "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB\
                         7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094";
    const KS_ENC: &str = "F5F0E35C0D7161EE6724EE513A0D9A7F";
    const KS_MAC: &str = "FE251C7858B356B24514B3BD5F4297D1";
    const T_IFD: &str = "C2B0BD78D94BA866";
    const T_IC: &str = "3ABB9674BCE93C08";

    fn key32(h: &str) -> [u8; 32] {
        hex(h).try_into().unwrap()
    }

    fn mrz() -> MrzInfo {
        MrzInfo::new("T22000129", "640812", "101031").unwrap()
    }

    fn host(mrz: &MrzInfo) -> PaceHost {
        PaceHost::new(
            ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
            PaceCurve::BrainpoolP256r1,
            &PacePassword::Mrz(mrz),
            key32(SK_MAP_IFD),
            key32(SK_IFD),
        )
        .unwrap()
    }

    fn ok(data: &[u8]) -> std::vec::Vec<u8> {
        let mut v = data.to_vec();
        v.extend_from_slice(&[0x90, 0x00]);
        v
    }

    fn point_answer_bytes(tag: u8, point: &[u8]) -> std::vec::Vec<u8> {
        let mut v = std::vec![0x7C, 0x43, tag, 0x41];
        v.extend_from_slice(point);
        ok(&v)
    }

    fn point_answer(tag: u8, point: &str) -> std::vec::Vec<u8> {
        let mut v = std::vec![0x7C, 0x43, tag, 0x41];
        v.extend_from_slice(&hex(point));
        ok(&v)
    }

    #[test]
    fn appendix_g1_password_key() {
        let m = mrz();
        let k: [u8; 20] = Sha1::digest(m.as_bytes()).into();
        assert_eq!(k.to_vec(), hex(K));
        let kpi = PacePassword::Mrz(&m).key(KeyAlgorithm::Aes128);
        assert_eq!(kpi.as_bytes(), hex(K_PI));
    }

    #[test]
    fn appendix_g1_transcript_byte_for_byte() {
        let m = mrz();
        let mut h = host(&m);
        let mut cmd = [0u8; 128];

        let n = h.mse_set_at_command(&mut cmd).unwrap();
        assert_eq!(
            cmd[..n].to_vec(),
            hex("0022C1A40F800A04007F00070202040202830101")
        );
        h.check_mse_set_at(&[0x90, 0x00]).unwrap();

        assert_eq!(h.nonce_command().to_vec(), hex("10860000027C0000"));
        let mut a = std::vec![0x7C, 0x12, 0x80, 0x10];
        a.extend_from_slice(&hex(Z));
        h.process_nonce(&ok(&a)).unwrap();
        assert_eq!(h.nonce().to_vec(), hex(S));

        let n = h.map_command(&mut cmd).unwrap();
        let mut expected = hex("10860000457C438141");
        expected.extend_from_slice(&hex(PK_MAP_IFD));
        expected.push(0x00);
        assert_eq!(cmd[..n].to_vec(), expected);
        h.process_map(&point_answer(0x82, PK_MAP_IC)).unwrap();
        assert_eq!(h.mapped_generator().to_vec(), hex(G_HAT));

        let n = h.key_agreement_command(&mut cmd).unwrap();
        let mut expected = hex("10860000457C438341");
        expected.extend_from_slice(&hex(PK_IFD));
        expected.push(0x00);
        assert_eq!(cmd[..n].to_vec(), expected);
        h.process_key_agreement(&point_answer(0x84, PK_IC)).unwrap();
        let (enc, mac) = h.session_keys().unwrap();
        assert_eq!(enc.as_bytes(), hex(KS_ENC));
        assert_eq!(mac.as_bytes(), hex(KS_MAC));

        let n = h.mutual_authentication_command(&mut cmd).unwrap();
        let mut expected = hex("008600000C7C0A8508");
        expected.extend_from_slice(&hex(T_IFD));
        expected.push(0x00);
        assert_eq!(cmd[..n].to_vec(), expected);

        let mut a = hex("7C0A8608");
        a.extend_from_slice(&hex(T_IC));
        let session = h.finish(&ok(&a)).unwrap();
        let PaceSession::Aes(s) = session else {
            panic!("AES expected")
        };
        assert_eq!(s.ssc(), &[0u8; 16]);
    }

    fn run_to_tokens(m: &MrzInfo) -> PaceHost {
        let mut h = host(m);
        h.check_mse_set_at(&[0x90, 0x00]).unwrap();
        let mut a = std::vec![0x7C, 0x12, 0x80, 0x10];
        a.extend_from_slice(&hex(Z));
        h.process_nonce(&ok(&a)).unwrap();
        h.process_map(&point_answer(0x82, PK_MAP_IC)).unwrap();
        let mut cmd = [0u8; 128];
        h.key_agreement_command(&mut cmd).unwrap();
        h.process_key_agreement(&point_answer(0x84, PK_IC)).unwrap();
        h
    }

    #[test]
    fn wrong_chip_token_is_refused() {
        let m = mrz();
        let h = run_to_tokens(&m);
        let mut t = hex(T_IC);
        t[7] ^= 1;
        let mut a = hex("7C0A8608");
        a.extend_from_slice(&t);
        assert_eq!(h.finish(&ok(&a)).unwrap_err(), Error::AuthenticationFailed);
    }

    #[test]
    fn reflected_and_invalid_points_are_refused() {
        let m = mrz();
        let mut h = host(&m);
        h.check_mse_set_at(&[0x90, 0x00]).unwrap();
        let mut a = std::vec![0x7C, 0x12, 0x80, 0x10];
        a.extend_from_slice(&hex(Z));
        h.process_nonce(&ok(&a)).unwrap();
        // The terminal's own mapping key sent back.
        assert_eq!(
            h.process_map(&point_answer(0x82, PK_MAP_IFD)),
            Err(Error::AuthenticationFailed)
        );
        // A point off the curve.
        let mut bad = hex(PK_MAP_IC);
        bad[64] ^= 1;
        let mut v = std::vec![0x7C, 0x43, 0x82, 0x41];
        v.extend_from_slice(&bad);
        assert_eq!(h.process_map(&ok(&v)), Err(Error::AuthenticationFailed));
    }

    #[test]
    fn wrong_password_gives_different_nonce_and_token_mismatch() {
        let wrong = MrzInfo::new("T22000130", "640812", "101031");
        // A different document number changes Kπ; the MRZ check digits are recomputed.
        let wrong = match wrong {
            Ok(m) => m,
            Err(_) => return,
        };
        let kpi = PacePassword::Mrz(&wrong).key(KeyAlgorithm::Aes128);
        assert_ne!(kpi.as_bytes(), hex(K_PI));
    }

    #[test]
    fn refused_status_and_order() {
        let m = mrz();
        let mut h = host(&m);
        assert_eq!(
            h.process_nonce(&[0x90, 0x00]),
            Err(Error::WrongState),
            "nonce before MSE:Set AT"
        );
        assert_eq!(
            h.check_mse_set_at(&[0x63, 0xC2]),
            Err(Error::CardRefused {
                sw: StatusWord(0x63C2)
            })
        );
        let mut cmd = [0u8; 4];
        assert_eq!(
            h.mse_set_at_command(&mut cmd),
            Err(Error::BufferTooSmall { needed: 20 })
        );
    }

    #[test]
    fn dynamic_objects() {
        assert_eq!(dynamic_object(&hex("7C028000"), 0x80), Ok(&[][..]));
        assert_eq!(
            dynamic_object(&hex("7C03800101"), 0x80).unwrap().to_vec(),
            [1]
        );
        // Other DOs are skipped (e.g. 87/88 CARs of the eID).
        assert_eq!(
            dynamic_object(&hex("7C078701AA86020102"), 0x86)
                .unwrap()
                .to_vec(),
            [1, 2]
        );
        assert_eq!(
            dynamic_object(&hex("7C028000"), 0x82),
            Err(Error::MissingObject { tag: 0x82 })
        );
        assert_eq!(
            dynamic_object(&hex("7D028000"), 0x80),
            Err(Error::UnexpectedObject {
                tag: 0x7D,
                offset: 0
            })
        );
        assert_eq!(
            dynamic_object(&hex("7C038000"), 0x80),
            Err(Error::MalformedObject { offset: 0 })
        );
        assert_eq!(
            dynamic_object(&hex("7C0480008000"), 0x80),
            Err(Error::DuplicateObject {
                tag: 0x80,
                offset: 4
            })
        );
        assert_eq!(
            dynamic_object(&hex("7C02800000"), 0x80),
            Err(Error::MalformedObject { offset: 4 })
        );
    }

    #[test]
    fn unsupported_protocols() {
        let m = mrz();
        let pw = PacePassword::Mrz(&m);
        // id-PACE-DH-GM-AES-128
        let dh = hex("04007F00070202040102");
        assert_eq!(
            PaceHost::new(&dh, PaceCurve::NistP256, &pw, [1; 32], [1; 32]).unwrap_err(),
            Error::UnsupportedProtocol
        );
        // A zero private key.
        assert_eq!(
            PaceHost::new(
                ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
                PaceCurve::NistP256,
                &pw,
                [0; 32],
                [1; 32]
            )
            .unwrap_err(),
            Error::KeyLength { len: 32 }
        );
    }

    /// A full run on NIST P-256 against a chip simulated here with the same primitives (no
    /// published vector for P-256 in Appendix G): both sides derive the same keys and tokens.
    #[test]
    fn p256_run_agrees_with_simulated_chip() {
        let curve = PaceCurve::NistP256;
        let can = b"123456";
        let pw = PacePassword::Can(can);
        let oid = hex("04007F00070202040202");
        let mut h = PaceHost::new(&oid, curve, &pw, [0x11; 32], [0x22; 32]).unwrap();
        h.check_mse_set_at(&[0x90, 0x00]).unwrap();
        // Chip: nonce s, encrypted with Kπ.
        let s = [0x5Au8; 16];
        let mut z = s;
        AesKey::new(pw.key(KeyAlgorithm::Aes128).as_bytes())
            .unwrap()
            .encrypt_cbc(&[0; 16], &mut z)
            .unwrap();
        let mut a = std::vec![0x7C, 0x12, 0x80, 0x10];
        a.extend_from_slice(&z);
        h.process_nonce(&ok(&a)).unwrap();
        assert_eq!(h.nonce(), &s);
        let chip_map = [0x33u8; 32];
        let pk_map_ic = curve.mul(&chip_map, None).unwrap();
        let mut cmd = [0u8; 128];
        let n = h.map_command(&mut cmd).unwrap();
        let pk_map_ifd: [u8; 65] = cmd[9..n - 1].try_into().unwrap();
        let mut v = std::vec![0x7C, 0x43, 0x82, 0x41];
        v.extend_from_slice(&pk_map_ic);
        h.process_map(&ok(&v)).unwrap();
        let chip_h = curve.mul(&chip_map, Some(&pk_map_ifd)).unwrap();
        let chip_g = curve.map(&s, &chip_h).unwrap();
        assert_eq!(&chip_g, h.mapped_generator());
        let chip_eph = [0x44u8; 32];
        let pk_ic = curve.mul(&chip_eph, Some(&chip_g)).unwrap();
        let n = h.key_agreement_command(&mut cmd).unwrap();
        let pk_ifd: [u8; 65] = cmd[9..n - 1].try_into().unwrap();
        let mut v = std::vec![0x7C, 0x43, 0x84, 0x41];
        v.extend_from_slice(&pk_ic);
        h.process_key_agreement(&ok(&v)).unwrap();
        let shared = curve.mul(&chip_eph, Some(&pk_ifd)).unwrap();
        let ks_mac = derive_key(&shared[1..33], COUNTER_MAC, KeyAlgorithm::Aes128);
        assert_eq!(h.session_keys().unwrap().1.as_bytes(), ks_mac.as_bytes());
        let mut input = [0u8; 96];
        let len = auth_token_input(&oid, &pk_ifd, &mut input).unwrap();
        let t_ic = AesCmac::new(ks_mac.as_bytes())
            .unwrap()
            .compute(&[&input[..len]]);
        let mut a = hex("7C0A8608");
        a.extend_from_slice(&t_ic[..8]);
        assert!(matches!(h.finish(&ok(&a)).unwrap(), PaceSession::Aes(_)));
    }

    /// PACE-CAM on P-256 against a chip simulated here (no vector used from Appendix I): the
    /// chip's CA_IC = SK_IC⁻¹ · SK_map,IC verifies against its static key and not another.
    #[test]
    fn cam_run_verifies_the_chip_static_key() {
        use elliptic_curve::PrimeField;
        let curve = PaceCurve::NistP256;
        let can = b"123456";
        let pw = PacePassword::Can(can);
        // id-PACE-ECDH-CAM-AES-CBC-CMAC-128
        let oid = hex("04007F00070202040602");
        let mut h = PaceHost::new(&oid, curve, &pw, [0x11; 32], [0x22; 32]).unwrap();
        h.check_mse_set_at(&[0x90, 0x00]).unwrap();
        let s = [0x5Au8; 16];
        let mut z = s;
        AesKey::new(pw.key(KeyAlgorithm::Aes128).as_bytes())
            .unwrap()
            .encrypt_cbc(&[0; 16], &mut z)
            .unwrap();
        let mut a = std::vec![0x7C, 0x12, 0x80, 0x10];
        a.extend_from_slice(&z);
        h.process_nonce(&ok(&a)).unwrap();
        let sk_static = [0x66u8; 32];
        let pk_static = curve.mul(&sk_static, None).unwrap();
        let chip_map = [0x33u8; 32];
        let pk_map_ic = curve.mul(&chip_map, None).unwrap();
        let mut cmd = [0u8; 128];
        let n = h.map_command(&mut cmd).unwrap();
        let pk_map_ifd: [u8; 65] = cmd[9..n - 1].try_into().unwrap();
        h.process_map(&point_answer_bytes(0x82, &pk_map_ic))
            .unwrap();
        let chip_h = curve.mul(&chip_map, Some(&pk_map_ifd)).unwrap();
        let chip_g = curve.map(&s, &chip_h).unwrap();
        let chip_eph = [0x44u8; 32];
        let pk_ic = curve.mul(&chip_eph, Some(&chip_g)).unwrap();
        let n = h.key_agreement_command(&mut cmd).unwrap();
        let pk_ifd: [u8; 65] = cmd[9..n - 1].try_into().unwrap();
        h.process_key_agreement(&point_answer_bytes(0x84, &pk_ic))
            .unwrap();
        let shared = curve.mul(&chip_eph, Some(&pk_ifd)).unwrap();
        let ks_enc = derive_key(&shared[1..33], COUNTER_ENC, KeyAlgorithm::Aes128);
        let ks_mac = derive_key(&shared[1..33], COUNTER_MAC, KeyAlgorithm::Aes128);
        let mut input = [0u8; 96];
        let len = auth_token_input(&oid, &pk_ifd, &mut input).unwrap();
        let t_ic = AesCmac::new(ks_mac.as_bytes())
            .unwrap()
            .compute(&[&input[..len]]);
        // CA_IC = SK_IC^-1 · SK_map,IC mod n, padded, AES-CBC with IV = E(KS_enc, FF..FF).
        let scalar = |b: [u8; 32]| p256::Scalar::from_repr(b.into()).unwrap();
        let ca = scalar(sk_static).invert().unwrap() * scalar(chip_map);
        let mut a_ic = [0u8; 48];
        a_ic[..32].copy_from_slice(&ca.to_repr());
        a_ic[32] = 0x80;
        let key = AesKey::new(ks_enc.as_bytes()).unwrap();
        let mut iv = [0xFF; 16];
        key.encrypt_block(&mut iv).unwrap();
        key.encrypt_cbc(&iv, &mut a_ic).unwrap();
        let n = h.mutual_authentication_command(&mut cmd).unwrap();
        assert_eq!(n, 18);
        let mut answer = hex("7C3C 8608");
        answer.extend_from_slice(&t_ic[..8]);
        answer.extend([0x8A, 0x30]);
        answer.extend_from_slice(&a_ic);
        let (session, proof) = h.finish_cam(&ok(&answer)).unwrap();
        assert!(matches!(session, PaceSession::Aes(_)));
        assert_eq!(proof.chip_mapping_key(), &pk_map_ic[..]);
        assert_eq!(proof.verify(curve, &pk_static), Ok(()));
        let key = crate::chip_auth::ChipPublicKey::new(PaceDomain::Ec(curve), &pk_static).unwrap();
        assert_eq!(proof.verify_key(&key), Ok(()));
        // Another chip's static key (a cloned EF.CardSecurity), another curve.
        let other = curve.mul(&[0x67; 32], None).unwrap();
        assert_eq!(
            proof.verify(curve, &other),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(
            proof.verify(PaceCurve::BrainpoolP256r1, &pk_static),
            Err(Error::UnsupportedProtocol)
        );
        // CAM is refused with 3DES; finish_cam is refused on a GM run.
        assert_eq!(
            PaceHost::new(&hex("04007F00070202040601"), curve, &pw, [1; 32], [1; 32]).unwrap_err(),
            Error::UnsupportedProtocol
        );
        let m = mrz();
        let h = run_to_tokens(&m);
        assert_eq!(
            h.finish_cam(&hex("7C0A86083ABB9674BCE93C089000"))
                .unwrap_err(),
            Error::UnsupportedProtocol
        );
    }
}
