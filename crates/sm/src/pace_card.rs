//! PACE v2 with the Generic Mapping over elliptic curves, chip side (ICAO Doc 9303-11 §4.4,
//! BSI TR-03110-2 §3.2), as a sans-IO engine: the counterpart of
//! [`PaceHost`](crate::pace::PaceHost).
//!
//! The card OS parses MSE:Set AT with [`MseSetAt::parse`], picks the password the reference
//! names, and starts a [`PaceCard`] with its own randomness (the nonce s and two private
//! keys, drawn by the caller, so that a test can replay a published transcript). Each
//! GENERAL AUTHENTICATE command then goes to [`PaceCard::general_authenticate`], which
//! writes the answer's data (the caller appends `9000`):
//!
//! | step | command (CLA, data)            | answer                          |
//! |------|--------------------------------|---------------------------------|
//! | 1    | `10`, `7C 00`                  | `7C { 80 E(Kπ, s) }`            |
//! | 2    | `10`, `7C { 81 PK_map,IFD }`   | `7C { 82 PK_map,IC }`           |
//! | 3    | `10`, `7C { 83 PK_IFD }`       | `7C { 84 PK_IC }`               |
//! | 4    | `00`, `7C { 85 T_IFD }`        | `7C { 86 T_IC }`                |
//!
//! Ĝ = s·G + SK_map,IC · PK_map,IFD (§4.4.3.3.1); K = x(SK_IC · PK_IFD), KS_enc = KDF(K, 1),
//! KS_mac = KDF(K, 2) (§9.7.1); T = MAC(KS_mac, `7F49 { 06 OID, 86 point }`) over the other
//! side's ephemeral key (§4.4.3.4, AES-CMAC truncated to 8 bytes). Any error leaves the engine
//! [failed](PaceCard::is_failed): the card drops it, answers [`PaceCard::status_for`] (`6300`
//! for a wrong token, the mark of a wrong password), and PACE must start again with MSE:Set AT.
//! After step 4, [`PaceCard::into_session`] gives the card-side secure messaging session,
//! send sequence counter 0.
//!
//! The Chip Authentication Mapping (`id-PACE-ECDH-CAM-AES-*`, ICAO 9303-11 §4.4.3.3.3 and
//! §4.4.3.5.2, BSI TR-03110-2 §3.4.2) runs as the Generic Mapping with the chip's static key
//! ([`PaceCard::new_cam`]); step 4 then answers `7C { 86 T_IC, 8A A_IC }` with the chip
//! authentication data CA_IC = SK_IC,static⁻¹ · SK_map,IC mod n, A_IC = E(KS_enc, CA_IC)
//! (AES-CBC with IV = E(KS_enc, `FF…FF`), padding method 2), which the terminal checks with
//! [`PaceHost::finish_cam`](crate::pace::PaceHost::finish_cam) and
//! [`CamProof::verify`](crate::pace::CamProof::verify): PK_map,IC = CA_IC · PK_IC,static.
//!
//! Curves: every curve the terminal side runs ([`PaceCurve`]: NIST P-256, P-384, P-521,
//! brainpoolP256r1 and brainpoolP384r1), with the group arithmetic of
//! [`crate::pace_group`] that [`PaceHost`](crate::pace::PaceHost) uses too; ciphers: AES-128,
//! AES-192 and AES-256 (3DES PACE gives [`Error::UnsupportedProtocol`]).

use elliptic_curve::{CurveArithmetic, Field, PrimeField, Scalar};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use cardwire_apdu::{Command, Ins, StatusWord};

use crate::kdf::{COUNTER_ENC, COUNTER_MAC, KeyAlgorithm, SecretKey, derive_key};
use crate::pace::{
    PaceCurve, PacePassword, Writer, authentication_token, dynamic_template, dynamic_template_len,
    length_len, parse_dynamic_authentication_data, put_length,
};
use crate::pace_group::{GroupElement, PaceDomain, PrivateKey, private_scalar};
use crate::primitives::AesKey;
use crate::security_infos::{ID_PACE, ParameterId};
use crate::suite::AesSuite;
use crate::{Error, SmSession};

/// The longest protocol OID (content octets) the card keeps.
const MAX_OID: usize = 16;
/// The longest encrypted chip authentication data A_IC: a P-521 scalar (66 bytes) padded to
/// 80.
const MAX_CAM_DATA: usize = 80;

/// The data of MSE:Set AT for PACE (`00 22 C1 A4`, ICAO 9303-11 §4.4.4.1): the protocol OID
/// (DO `80`), the password reference (DO `83`) and the optional domain parameter ID (DO `84`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MseSetAt<'a> {
    /// The protocol OID's content octets.
    pub protocol: &'a [u8],
    /// The password reference: 1 MRZ, 2 CAN, 3 PIN, 4 PUK.
    pub reference: u8,
    /// The standardized domain parameters' ID, when DO `84` is present.
    pub parameter_id: Option<ParameterId>,
}

impl<'a> MseSetAt<'a> {
    /// The SET AT for mutual authentication's parameters: P1 `C1`, P2 `A4`.
    pub const P1P2: (u8, u8) = (0xC1, 0xA4);

    /// Parses MSE:Set AT's data field: simple one-byte-tag DOs with short lengths; unknown
    /// DOs (e.g. `7F4C` CHAT of the eID, two-byte tag) are skipped.
    ///
    /// # Errors
    /// [`Error::MalformedObject`] for a DO running past the end;
    /// [`Error::MissingObject`] without DO `80` or `83`; [`Error::DuplicateObject`].
    pub fn parse(data: &'a [u8]) -> Result<Self, Error> {
        let mut protocol = None;
        let mut reference = None;
        let mut parameter_id = None;
        let mut at = 0;
        while at < data.len() {
            let rest = data.get(at..).unwrap_or(&[]);
            let (tag_len, tag) = match rest {
                [t, ..] if t & 0x1F != 0x1F => (1, u16::from(*t)),
                [a, b, ..] => (2, u16::from_be_bytes([*a, *b])),
                _ => return Err(Error::MalformedObject { offset: at }),
            };
            let len = usize::from(
                *rest
                    .get(tag_len)
                    .ok_or(Error::MalformedObject { offset: at })?,
            );
            if len >= 0x80 {
                return Err(Error::MalformedObject { offset: at });
            }
            let value = rest
                .get(tag_len + 1..tag_len + 1 + len)
                .ok_or(Error::MalformedObject { offset: at })?;
            let duplicate = Error::DuplicateObject {
                tag: tag as u8,
                offset: at,
            };
            match tag {
                0x80 if protocol.replace(value).is_some() => return Err(duplicate),
                0x83 => {
                    let [r] = value else {
                        return Err(Error::MalformedObject { offset: at });
                    };
                    if reference.replace(*r).is_some() {
                        return Err(duplicate);
                    }
                }
                0x84 => {
                    if value.is_empty() || value.len() > 4 {
                        return Err(Error::MalformedObject { offset: at });
                    }
                    let id = value.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
                    if parameter_id.replace(ParameterId(id)).is_some() {
                        return Err(duplicate);
                    }
                }
                _ => {}
            }
            at += tag_len + 1 + len;
        }
        Ok(Self {
            protocol: protocol.ok_or(Error::MissingObject { tag: 0x80 })?,
            reference: reference.ok_or(Error::MissingObject { tag: 0x83 })?,
            parameter_id,
        })
    }
}

/// The chip's randomness for one PACE run, drawn by the caller before the run starts: the
/// nonce s and the two ephemeral private keys (big-endian, as long as a field element of the
/// curve: 32, 48 or 66 bytes, 1 ≤ k < n; see [`PaceCurve::is_valid_private_key_bytes`]).
/// Wiped on drop, redacted in `Debug`.
pub struct PaceCardRandomness {
    nonce: [u8; 16],
    sk_map: PrivateKey,
    sk_eph: PrivateKey,
}

impl PaceCardRandomness {
    /// The nonce s (one AES block), SK_map,IC (the mapping key) and SK_IC (the key agreement
    /// key on Ĝ). The keys are checked against the curve by [`PaceCard::new`].
    ///
    /// # Errors
    /// [`Error::KeyLength`] for a key longer than a P-521 scalar (66 bytes).
    pub fn new(nonce: [u8; 16], sk_map: &[u8], sk_eph: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            nonce,
            sk_map: PrivateKey::from_slice(sk_map)?,
            sk_eph: PrivateKey::from_slice(sk_eph)?,
        })
    }
}

impl Drop for PaceCardRandomness {
    fn drop(&mut self) {
        self.nonce.zeroize();
    }
}

impl core::fmt::Debug for PaceCardRandomness {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PaceCardRandomness(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Nonce,
    Map,
    KeyAgreement,
    Tokens,
    Done,
    Failed,
}

/// PACE-GM (and PACE-CAM) with ECDH, chip side. See the [module documentation](self).
pub struct PaceCard {
    step: Step,
    oid: [u8; MAX_OID],
    oid_len: usize,
    curve: PaceCurve,
    cipher: KeyAlgorithm,
    k_pi: SecretKey,
    random: PaceCardRandomness,
    generator: GroupElement,
    pk_ifd: GroupElement,
    pk_ic: GroupElement,
    ks_enc: Option<SecretKey>,
    ks_mac: Option<SecretKey>,
    /// For CAM: the chip's static private key until step 2, then CA_IC.
    cam: Option<PrivateKey>,
}

/// The cipher of an `id-PACE-ECDH-GM-AES-*` (mapping 2) or `id-PACE-ECDH-CAM-AES-*` (mapping
/// 6) protocol and whether it is CAM; `None` for any other protocol.
fn ecdh_aes_protocol(protocol: &[u8]) -> Option<(KeyAlgorithm, bool)> {
    let [mapping, cipher] = protocol.strip_prefix(ID_PACE)? else {
        return None;
    };
    let cam = match mapping {
        2 => false,
        6 => true,
        _ => return None,
    };
    let cipher = match cipher {
        2 => KeyAlgorithm::Aes128,
        3 => KeyAlgorithm::Aes192,
        4 => KeyAlgorithm::Aes256,
        _ => return None,
    };
    Some((cipher, cam))
}

/// CA_IC = SK_static⁻¹ · SK_map mod n (ICAO 9303-11 §4.4.3.3.3), big-endian, as long as the
/// order.
fn cam_scalar<C: CurveArithmetic>(sk_static: &[u8], sk_map: &[u8]) -> Result<PrivateKey, Error> {
    let len = sk_static.len();
    let inverse: Option<Scalar<C>> = private_scalar::<C>(sk_static)?.invert().into();
    let ca = inverse.ok_or(Error::KeyLength { len })? * private_scalar::<C>(sk_map)?;
    let mut repr = ca.to_repr();
    let key = PrivateKey::from_slice(&repr);
    let bytes: &mut [u8] = repr.as_mut();
    bytes.zeroize();
    key
}

/// [`cam_scalar`] on `curve`.
fn cam_data(curve: PaceCurve, sk_static: &[u8], sk_map: &[u8]) -> Result<PrivateKey, Error> {
    match curve {
        PaceCurve::NistP256 => cam_scalar::<p256::NistP256>(sk_static, sk_map),
        PaceCurve::BrainpoolP256r1 => cam_scalar::<bp256::BrainpoolP256r1>(sk_static, sk_map),
        PaceCurve::NistP384 => cam_scalar::<p384::NistP384>(sk_static, sk_map),
        PaceCurve::BrainpoolP384r1 => cam_scalar::<bp384::BrainpoolP384r1>(sk_static, sk_map),
        PaceCurve::NistP521 => cam_scalar::<p521::NistP521>(sk_static, sk_map),
    }
}

impl PaceCard {
    /// Whether this engine can run `protocol` (OID content octets) on `curve`: PACE-GM or
    /// PACE-CAM ECDH with AES, on any curve of [`PaceCurve`] (the host's curves); CAM needs
    /// the chip's static key ([`new_cam`](Self::new_cam)). A card answers MSE:Set AT `6A80`
    /// otherwise.
    pub fn supports(protocol: &[u8], curve: PaceCurve) -> bool {
        let _ = curve;
        ecdh_aes_protocol(protocol).is_some()
    }

    /// Whether `protocol` is one of the Chip Authentication Mapping's
    /// (`id-PACE-ECDH-CAM-AES-CBC-CMAC-*`), which [`new_cam`](Self::new_cam) runs.
    pub fn is_cam(protocol: &[u8]) -> bool {
        ecdh_aes_protocol(protocol).is_some_and(|(_, cam)| cam)
    }

    /// Starts PACE-GM after MSE:Set AT for `protocol` on `curve`, with the password the
    /// reference named and the chip's randomness.
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for a protocol or curve this engine cannot run (see
    /// [`PaceCard::supports`]), and for a CAM protocol (see [`new_cam`](Self::new_cam));
    /// [`Error::KeyLength`] for a private key that is zero or not below the curve order.
    pub fn new(
        protocol: &[u8],
        curve: PaceCurve,
        password: &PacePassword<'_>,
        random: PaceCardRandomness,
    ) -> Result<Self, Error> {
        Self::start(protocol, curve, password, random, None)
    }

    /// Starts PACE-CAM (`id-PACE-ECDH-CAM-AES-*`, ICAO 9303-11 §4.4.3.3.3) after MSE:Set AT,
    /// like [`new`](Self::new), with the chip's static private key SK_IC,static (big-endian,
    /// as long as a field element of `curve`): the key whose public half EF.CardSecurity's
    /// `ChipAuthenticationPublicKeyInfo` carries. Step 4 answers the chip authentication data
    /// too.
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for a protocol that is not CAM with AES;
    /// [`Error::KeyLength`] for a static or ephemeral key that is zero, too long or not
    /// below the curve order.
    pub fn new_cam(
        protocol: &[u8],
        curve: PaceCurve,
        password: &PacePassword<'_>,
        random: PaceCardRandomness,
        chip_key: &[u8],
    ) -> Result<Self, Error> {
        Self::start(protocol, curve, password, random, Some(chip_key))
    }

    fn start(
        protocol: &[u8],
        curve: PaceCurve,
        password: &PacePassword<'_>,
        random: PaceCardRandomness,
        chip_key: Option<&[u8]>,
    ) -> Result<Self, Error> {
        let (cipher, cam) = ecdh_aes_protocol(protocol).ok_or(Error::UnsupportedProtocol)?;
        if cam != chip_key.is_some() {
            return Err(Error::UnsupportedProtocol);
        }
        let len = curve.field_len();
        let keys = [random.sk_map.as_bytes(), random.sk_eph.as_bytes()];
        for key in keys.into_iter().chain(chip_key) {
            if key.len() != len || !curve.is_valid_private_key_bytes(key) {
                return Err(Error::KeyLength { len });
            }
        }
        let cam = chip_key.map(PrivateKey::from_slice).transpose()?;
        let mut oid = [0u8; MAX_OID];
        oid.get_mut(..protocol.len())
            .ok_or(Error::UnsupportedProtocol)?
            .copy_from_slice(protocol);
        Ok(Self {
            step: Step::Nonce,
            oid,
            oid_len: protocol.len(),
            curve,
            cipher,
            k_pi: password.key(cipher),
            random,
            generator: GroupElement::EMPTY,
            pk_ifd: GroupElement::EMPTY,
            pk_ic: GroupElement::EMPTY,
            ks_enc: None,
            ks_mac: None,
            cam,
        })
    }

    fn oid(&self) -> &[u8] {
        self.oid.get(..self.oid_len).unwrap_or(&[])
    }

    fn domain(&self) -> PaceDomain {
        PaceDomain::Ec(self.curve)
    }

    /// The longest answer [`general_authenticate`](Self::general_authenticate) writes: `7C {
    /// 82 point }` (69 bytes on a 256-bit curve, 101 on a 384-bit one, 139 on P-521).
    pub fn max_answer_len(&self) -> usize {
        dynamic_template_len(self.curve.point_len())
    }

    /// Whether the run failed (a wrong token, a bad point, a command out of order): the card
    /// drops the engine.
    pub fn is_failed(&self) -> bool {
        self.step == Step::Failed
    }

    /// Whether all four steps succeeded ([`into_session`](Self::into_session) may be called).
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// The status word a card answers for `error` from this engine: `6300` (authentication
    /// failed, ISO/IEC 7816-4 §5.6) for a wrong token or an invalid point, `6985` for a command
    /// out of order, `6A80` for malformed data, `6F00` otherwise.
    pub fn status_for(error: Error) -> StatusWord {
        match error {
            Error::AuthenticationFailed => StatusWord(0x6300),
            Error::WrongState => StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED,
            Error::MalformedObject { .. }
            | Error::MissingObject { .. }
            | Error::DuplicateObject { .. }
            | Error::UnexpectedObject { .. }
            | Error::MalformedCommand { .. }
            | Error::ClassByte { .. } => StatusWord::INCORRECT_DATA,
            _ => StatusWord::EXECUTION_ERROR,
        }
    }

    /// Handles one GENERAL AUTHENTICATE command APDU (INS `86`, whole: header, data, Le) and
    /// writes the answer's data to `out` (the `7C` template; [`max_answer_len`](Self::max_answer_len)
    /// bytes are always enough).
    /// Steps 1 to 3 must come with the chaining bit set (CLA `10`), step 4 without.
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] for a wrong T_IFD, a point off the curve, or a
    /// reflected key; [`Error::ClassByte`] for a wrong chaining bit; [`Error::MalformedCommand`]
    /// / [`Error::MalformedObject`] / [`Error::MissingObject`]; [`Error::WrongState`] after
    /// the end or a failure; [`Error::BufferTooSmall`]. Every error but the last leaves the
    /// engine failed.
    pub fn general_authenticate(&mut self, command: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let needed = self.max_answer_len();
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let result = self.step_once(command, out);
        if result.is_err() {
            self.fail();
        }
        result
    }

    fn fail(&mut self) {
        self.step = Step::Failed;
        self.generator.zeroize();
        self.ks_enc = None;
        self.ks_mac = None;
        self.cam = None;
    }

    fn step_once(&mut self, command: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if matches!(self.step, Step::Done | Step::Failed) {
            return Err(Error::WrongState);
        }
        let cmd =
            Command::new_checked(command).map_err(|_| Error::MalformedCommand { offset: 0 })?;
        if cmd.ins() != Ins(0x86) || cmd.p1() != 0 || cmd.p2() != 0 {
            return Err(Error::MalformedCommand { offset: 1 });
        }
        let last = matches!(self.step, Step::Tokens);
        if cmd.cla().chaining() == last {
            return Err(Error::ClassByte { cla: cmd.cla().0 });
        }
        let data = cmd.data();
        match self.step {
            Step::Nonce => self.nonce(data, out),
            Step::Map => self.map(data, out),
            Step::KeyAgreement => self.key_agreement(data, out),
            Step::Tokens => self.tokens(data, out),
            Step::Done | Step::Failed => Err(Error::WrongState),
        }
    }

    /// Step 1: `7C 00` → `7C { 80 E(Kπ, s) }`, AES-CBC with a zero IV (§4.4.3.3).
    fn nonce(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if data != [0x7C, 0x00] {
            return Err(Error::MalformedObject { offset: 0 });
        }
        let mut z = self.random.nonce;
        AesKey::new(self.k_pi.as_bytes())?.encrypt_cbc(&[0; 16], &mut z)?;
        let n = dynamic_template(0x80, &z, out)?;
        self.step = Step::Map;
        Ok(n)
    }

    /// Step 2: `7C { 81 PK_map,IFD }` → `7C { 82 PK_map,IC }`; Ĝ = s·G + SK_map,IC ·
    /// PK_map,IFD.
    fn map(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let pk_map_ifd = parse_dynamic_authentication_data(data, 0x81)?;
        let domain = self.domain();
        let sk_map = self.random.sk_map.as_bytes();
        let pk_map_ic = domain.public_key(sk_map)?;
        if bool::from(pk_map_ifd.ct_eq(pk_map_ic.as_bytes())) {
            return Err(Error::AuthenticationFailed);
        }
        let mut h = domain.agree(sk_map, pk_map_ifd)?;
        let g = domain.map_generic(&self.random.nonce, h.as_bytes());
        h.zeroize();
        self.generator = g?;
        if let Some(chip_key) = &self.cam {
            self.cam = Some(cam_data(self.curve, chip_key.as_bytes(), sk_map)?);
        }
        self.random.sk_map = PrivateKey::from_slice(&[])?;
        self.random.nonce.zeroize();
        let n = dynamic_template(0x82, pk_map_ic.as_bytes(), out)?;
        self.step = Step::KeyAgreement;
        Ok(n)
    }

    /// Step 3: `7C { 83 PK_IFD }` → `7C { 84 PK_IC }`; K = x(SK_IC · PK_IFD). PK_IFD equal to
    /// PK_IC is refused (§4.4.3.3.2: the chip checks the keys differ).
    fn key_agreement(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let pk_ifd = parse_dynamic_authentication_data(data, 0x83)?;
        let domain = self.domain();
        let sk_eph = self.random.sk_eph.as_bytes();
        let pk_ic = domain.public_key_on(sk_eph, self.generator.as_bytes())?;
        if bool::from(pk_ifd.ct_eq(pk_ic.as_bytes())) {
            return Err(Error::AuthenticationFailed);
        }
        let mut shared = domain.agree(sk_eph, pk_ifd)?;
        let k = domain.shared_secret(&shared);
        self.ks_enc = Some(derive_key(k, COUNTER_ENC, self.cipher));
        self.ks_mac = Some(derive_key(k, COUNTER_MAC, self.cipher));
        shared.zeroize();
        self.random.sk_eph = PrivateKey::from_slice(&[])?;
        self.pk_ifd = GroupElement::from_slice(pk_ifd)?;
        self.pk_ic = pk_ic;
        let n = dynamic_template(0x84, pk_ic.as_bytes(), out)?;
        self.step = Step::Tokens;
        Ok(n)
    }

    /// Step 4: checks `7C { 85 T_IFD }` (T_IFD over PK_IC, constant time) → `7C { 86 T_IC }`
    /// (T_IC over PK_IFD); for CAM `7C { 86 T_IC, 8A A_IC }`.
    fn tokens(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let t_ifd = parse_dynamic_authentication_data(data, 0x85)?;
        let expected = self.token(&self.pk_ic)?;
        if t_ifd.len() != 8 || !bool::from(t_ifd.ct_eq(&expected[..])) {
            return Err(Error::AuthenticationFailed);
        }
        let t_ic = self.token(&self.pk_ifd)?;
        let n = match self.cam.take() {
            None => dynamic_template(0x86, &t_ic, out)?,
            Some(ca_ic) => self.cam_answer(&t_ic, &ca_ic, out)?,
        };
        self.step = Step::Done;
        Ok(n)
    }

    /// `7C { 86 T_IC, 8A A_IC }` with A_IC = E(KS_enc, CA_IC): AES-CBC, IV = E(KS_enc,
    /// `FF…FF`), padding method 2 (ICAO 9303-11 §4.4.3.5.2; the rule
    /// [`PaceHost::finish_cam`](crate::pace::PaceHost::finish_cam) decrypts with, checked
    /// against a German identity card in `tests/real_chip_pace_cam.rs`).
    fn cam_answer(
        &self,
        t_ic: &[u8; 8],
        ca_ic: &PrivateKey,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let enc = self.ks_enc.as_ref().ok_or(Error::WrongState)?;
        let ca = ca_ic.as_bytes();
        let mut a_ic = [0u8; MAX_CAM_DATA];
        a_ic.get_mut(..ca.len())
            .ok_or(Error::KeyLength { len: ca.len() })?
            .copy_from_slice(ca);
        let result = (|| {
            let len = crate::padding::pad(&mut a_ic, ca.len(), 16)?;
            let key = AesKey::new(enc.as_bytes())?;
            let mut iv = [0xFFu8; 16];
            key.encrypt_block(&mut iv)?;
            let data = a_ic
                .get_mut(..len)
                .ok_or(Error::BufferTooSmall { needed: len })?;
            key.encrypt_cbc(&iv, data)?;
            // 7C L { 86 08 T_IC, 8A L A_IC }: short lengths (len ≤ 80).
            let inner = 1 + length_len(t_ic.len()) + t_ic.len() + 1 + length_len(len) + len;
            let total = 1 + length_len(inner) + inner;
            let answer = out
                .get_mut(..total)
                .ok_or(Error::BufferTooSmall { needed: total })?;
            let mut w = Writer::new(answer);
            w.put(&[0x7C]);
            put_length(&mut w, inner);
            w.put(&[0x86]);
            put_length(&mut w, t_ic.len());
            w.put(t_ic);
            w.put(&[0x8A]);
            put_length(&mut w, len);
            w.put(data);
            Ok(total)
        })();
        a_ic.zeroize();
        result
    }

    /// T = the first 8 bytes of AES-CMAC(KS_mac, `7F49 { 06 OID, 86 point }`) (§4.4.3.4).
    fn token(&self, point: &GroupElement) -> Result<[u8; 8], Error> {
        let mac_key = self.ks_mac.as_ref().ok_or(Error::WrongState)?;
        authentication_token(self.cipher, mac_key, self.oid(), 0x86, point.as_bytes())
    }

    /// The session keys (KS_enc, KS_mac), once step 3 is done.
    pub fn session_keys(&self) -> Option<(&SecretKey, &SecretKey)> {
        self.ks_enc.as_ref().zip(self.ks_mac.as_ref())
    }

    /// The mapped generator Ĝ, uncompressed, once step 2 is done (empty before).
    pub fn mapped_generator(&self) -> &[u8] {
        self.generator.as_bytes()
    }

    /// The card-side secure messaging session after step 4:
    /// `SmSession::card(AesSuite::new(KS_enc, KS_mac), &[0; 16])` (§9.8.6.3).
    ///
    /// # Errors
    /// [`Error::WrongState`] before step 4 succeeded.
    pub fn into_session(self) -> Result<SmSession<AesSuite>, Error> {
        if self.step != Step::Done {
            return Err(Error::WrongState);
        }
        let (enc, mac) = self.session_keys().ok_or(Error::WrongState)?;
        SmSession::card(AesSuite::new(enc.as_bytes(), mac.as_bytes())?, &[0; 16])
    }
}

impl Drop for PaceCard {
    fn drop(&mut self) {
        self.generator.zeroize();
    }
}

impl core::fmt::Debug for PaceCard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PaceCard")
            .field("step", &self.step)
            .field("curve", &self.curve)
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mrz::MrzInfo;
    use crate::pace::{PaceHost, PaceSession};
    use crate::pace_group::PaceDomain;
    use crate::security_infos::ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
    use crate::test_util::hex;
    use std::vec::Vec;

    // ICAO Doc 9303-11 (8th edition), Appendix G.1 "ECDH based example": PACE-GM,
    // brainpoolP256r1, AES-128, MRZ password of document T22000129 (born 640812, expires
    // 101031). The chip's randomness (s, SK_map,IC, SK_IC) and every answer below are from
    // that appendix; the card replays them and must produce the appendix's bytes.
    const S: &str = "3F00C4D39D153F2B2A214A078D899B22";
    const Z: &str = "95A3A016522EE98D01E76CB6B98B42C3";
    const SK_MAP_IC: &str = "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560";
    const SK_IC: &str = "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A";
    const PK_MAP_IFD: &str = "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E\
                              544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D";
    const PK_MAP_IC: &str = "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57\
                             30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54";
    const G_HAT: &str = "048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2\
                         8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522";
    const PK_IFD: &str = "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C\
                          3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462";
    const PK_IC: &str = "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB\
                         7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094";
    const KS_ENC: &str = "F5F0E35C0D7161EE6724EE513A0D9A7F";
    const KS_MAC: &str = "FE251C7858B356B24514B3BD5F4297D1";
    const T_IFD: &str = "C2B0BD78D94BA866";
    const T_IC: &str = "3ABB9674BCE93C08";

    fn mrz() -> MrzInfo {
        MrzInfo::new("T22000129", "640812", "101031").unwrap()
    }

    fn to_hex(bytes: &[u8]) -> std::string::String {
        bytes.iter().map(|b| std::format!("{b:02X}")).collect()
    }

    fn appendix_random() -> PaceCardRandomness {
        PaceCardRandomness::new(hex(S).try_into().unwrap(), &hex(SK_MAP_IC), &hex(SK_IC)).unwrap()
    }

    fn appendix_card(m: &MrzInfo) -> PaceCard {
        PaceCard::new(
            ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
            PaceCurve::BrainpoolP256r1,
            &PacePassword::Mrz(m),
            appendix_random(),
        )
        .unwrap()
    }

    fn ga(cla: u8, tag: u8, value: &str) -> Vec<u8> {
        let v = hex(value);
        let mut c = std::vec![
            cla,
            0x86,
            0,
            0,
            (v.len() + 4) as u8,
            0x7C,
            (v.len() + 2) as u8
        ];
        c.push(tag);
        c.push(v.len() as u8);
        c.extend(v);
        c.push(0);
        c
    }

    fn template(tag: u8, value: &str) -> Vec<u8> {
        let v = hex(value);
        let mut a = std::vec![0x7C, (v.len() + 2) as u8, tag, v.len() as u8];
        a.extend(v);
        a
    }

    #[test]
    fn mse_set_at_of_the_appendix() {
        // Appendix G.1's MSE:Set AT data: the protocol and MRZ (reference 1).
        let data = hex("800A04007F00070202040202830101");
        let mse = MseSetAt::parse(&data).unwrap();
        assert_eq!(mse.protocol, ID_PACE_ECDH_GM_AES_CBC_CMAC_128);
        assert_eq!(mse.reference, 1);
        assert_eq!(mse.parameter_id, None);
        let data = hex("800A04007F0007020204020283010284010C");
        let with_id = MseSetAt::parse(&data).unwrap();
        assert_eq!(with_id.reference, 2);
        assert_eq!(with_id.parameter_id, Some(ParameterId::NIST_P256));
        assert_eq!(
            MseSetAt::parse(&hex("830101")),
            Err(Error::MissingObject { tag: 0x80 })
        );
        assert_eq!(
            MseSetAt::parse(&hex("800104830101830102")),
            Err(Error::DuplicateObject {
                tag: 0x83,
                offset: 6
            })
        );
        assert_eq!(
            MseSetAt::parse(&hex("8005040")),
            Err(Error::MalformedObject { offset: 0 })
        );
        // An eID CHAT (two-byte tag 7F4C) is skipped.
        let data = hex("800104830103 7F4C020601");
        let eid = MseSetAt::parse(&data).unwrap();
        assert_eq!(eid.reference, 3);
    }

    /// The card replays Appendix G.1 with the appendix's randomness: every answer equals the
    /// appendix's bytes, and the session keys too.
    #[test]
    fn appendix_g1_card_answers_byte_for_byte() {
        let m = mrz();
        let mut card = appendix_card(&m);
        let mut out = [0u8; 160];

        let n = card
            .general_authenticate(&hex("10860000027C0000"), &mut out)
            .unwrap();
        assert_eq!(out[..n].to_vec(), template(0x80, Z));

        let n = card
            .general_authenticate(&ga(0x10, 0x81, PK_MAP_IFD), &mut out)
            .unwrap();
        assert_eq!(out[..n].to_vec(), template(0x82, PK_MAP_IC));
        assert_eq!(card.mapped_generator().to_vec(), hex(G_HAT));

        let n = card
            .general_authenticate(&ga(0x10, 0x83, PK_IFD), &mut out)
            .unwrap();
        assert_eq!(out[..n].to_vec(), template(0x84, PK_IC));
        let (enc, mac) = card.session_keys().unwrap();
        assert_eq!(enc.as_bytes(), hex(KS_ENC));
        assert_eq!(mac.as_bytes(), hex(KS_MAC));

        let n = card
            .general_authenticate(&ga(0x00, 0x85, T_IFD), &mut out)
            .unwrap();
        assert_eq!(out[..n].to_vec(), template(0x86, T_IC));
        assert!(card.is_done());
        let session = card.into_session().unwrap();
        assert_eq!(session.ssc(), &[0u8; 16]);
    }

    #[test]
    fn a_wrong_token_fails_with_6300_and_resets() {
        let m = mrz();
        let mut card = appendix_card(&m);
        let mut out = [0u8; 160];
        card.general_authenticate(&hex("10860000027C0000"), &mut out)
            .unwrap();
        card.general_authenticate(&ga(0x10, 0x81, PK_MAP_IFD), &mut out)
            .unwrap();
        card.general_authenticate(&ga(0x10, 0x83, PK_IFD), &mut out)
            .unwrap();
        let mut t = hex(T_IFD);
        t[0] ^= 0x80;
        let e = card
            .general_authenticate(&ga(0x00, 0x85, &to_hex(&t)), &mut out)
            .unwrap_err();
        assert_eq!(e, Error::AuthenticationFailed);
        assert_eq!(PaceCard::status_for(e), StatusWord(0x6300));
        assert!(card.is_failed());
        assert!(card.session_keys().is_none());
        // Nothing more is answered: PACE starts again with MSE:Set AT.
        assert_eq!(
            card.general_authenticate(&ga(0x00, 0x85, T_IFD), &mut out),
            Err(Error::WrongState)
        );
        assert_eq!(card.into_session().unwrap_err(), Error::WrongState);
    }

    #[test]
    fn reflected_keys_bad_points_and_chaining_are_refused() {
        let m = mrz();
        let mut out = [0u8; 160];
        // The chip's own mapping key reflected.
        let mut card = appendix_card(&m);
        card.general_authenticate(&hex("10860000027C0000"), &mut out)
            .unwrap();
        assert_eq!(
            card.general_authenticate(&ga(0x10, 0x81, PK_MAP_IC), &mut out),
            Err(Error::AuthenticationFailed)
        );
        assert!(card.is_failed());
        // A point off the curve.
        let mut card = appendix_card(&m);
        card.general_authenticate(&hex("10860000027C0000"), &mut out)
            .unwrap();
        let mut bad = hex(PK_MAP_IFD);
        bad[64] ^= 1;
        assert_eq!(
            card.general_authenticate(&ga(0x10, 0x81, &to_hex(&bad)), &mut out),
            Err(Error::AuthenticationFailed)
        );
        // The chip's own ephemeral key reflected in step 3.
        let mut card = appendix_card(&m);
        card.general_authenticate(&hex("10860000027C0000"), &mut out)
            .unwrap();
        card.general_authenticate(&ga(0x10, 0x81, PK_MAP_IFD), &mut out)
            .unwrap();
        assert_eq!(
            card.general_authenticate(&ga(0x10, 0x83, PK_IC), &mut out),
            Err(Error::AuthenticationFailed)
        );
        // Step 1 without the chaining bit, and with other data.
        let mut card = appendix_card(&m);
        assert_eq!(
            card.general_authenticate(&hex("00860000027C0000"), &mut out),
            Err(Error::ClassByte { cla: 0x00 })
        );
        let mut card = appendix_card(&m);
        assert_eq!(
            card.general_authenticate(&hex("10860000037C010000"), &mut out),
            Err(Error::MalformedObject { offset: 0 })
        );
        // A small output buffer is the caller's fault and does not fail the run.
        let mut card = appendix_card(&m);
        let mut small = [0u8; 8];
        assert_eq!(
            card.general_authenticate(&hex("10860000027C0000"), &mut small),
            Err(Error::BufferTooSmall { needed: 69 })
        );
        assert!(!card.is_failed());
    }

    #[test]
    fn unsupported_protocols_and_keys() {
        let m = mrz();
        let pw = PacePassword::Mrz(&m);
        let zero = PaceCardRandomness::new([1; 16], &[0; 32], &[1; 32]).unwrap();
        assert_eq!(
            PaceCard::new(
                ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
                PaceCurve::NistP256,
                &pw,
                zero
            )
            .unwrap_err(),
            Error::KeyLength { len: 32 }
        );
        // id-PACE-ECDH-GM-3DES and id-PACE-DH-GM-AES-128.
        for oid in ["04007F00070202040201", "04007F00070202040102"] {
            let r = PaceCardRandomness::new([1; 16], &[1; 32], &[1; 32]).unwrap();
            assert!(!PaceCard::supports(&hex(oid), PaceCurve::NistP256));
            assert_eq!(
                PaceCard::new(&hex(oid), PaceCurve::NistP256, &pw, r).unwrap_err(),
                Error::UnsupportedProtocol
            );
        }
        assert!(PaceCard::supports(
            ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
            PaceCurve::BrainpoolP256r1
        ));
    }

    /// [`PaceHost`] and [`PaceCard`] in process, on both curves and with MRZ and CAN: the
    /// host accepts the card's token, both hold the same keys, and the two secure messaging
    /// sessions talk to each other.
    #[test]
    fn host_and_card_agree() {
        let m = mrz();
        let can = b"123456";
        let cases: [(PaceCurve, PacePassword<'_>); 6] = [
            (PaceCurve::NistP256, PacePassword::Can(can)),
            (PaceCurve::BrainpoolP256r1, PacePassword::Mrz(&m)),
            (PaceCurve::NistP256, PacePassword::Mrz(&m)),
            (PaceCurve::NistP384, PacePassword::Can(can)),
            (PaceCurve::BrainpoolP384r1, PacePassword::Mrz(&m)),
            (PaceCurve::NistP521, PacePassword::Can(can)),
        ];
        for (i, (curve, pw)) in cases.iter().enumerate() {
            let seed = i as u8 + 1;
            // Keys as long as a field element, below the order (leading byte 01).
            let key = |b: u8| {
                let mut k = std::vec![b; curve.field_len()];
                k[0] = 1;
                k
            };
            let mut host = PaceHost::with_domain(
                ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
                PaceDomain::Ec(*curve),
                pw,
                &key(0x11 + seed),
                &key(0x22 + seed),
            )
            .unwrap();
            let mut card = PaceCard::new(
                ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
                *curve,
                pw,
                PaceCardRandomness::new([0x5A ^ seed; 16], &key(0x33 + seed), &key(0x44 + seed))
                    .unwrap(),
            )
            .unwrap();
            let mut cmd = [0u8; 200];
            let n = host.mse_set_at_command(&mut cmd).unwrap();
            let mse = MseSetAt::parse(&cmd[5..n]).unwrap();
            assert_eq!(mse.reference, pw.reference());
            host.check_mse_set_at(&[0x90, 0x00]).unwrap();
            let mut out = [0u8; 160];
            let mut answer = |card: &mut PaceCard, c: &[u8]| {
                let n = card.general_authenticate(c, &mut out).unwrap();
                let mut a = out[..n].to_vec();
                a.extend_from_slice(&[0x90, 0x00]);
                a
            };
            let a = answer(&mut card, host.nonce_command());
            host.process_nonce(&a).unwrap();
            let n = host.map_command(&mut cmd).unwrap();
            let a = answer(&mut card, &cmd[..n]);
            host.process_map(&a).unwrap();
            assert_eq!(host.mapped_generator_bytes(), card.mapped_generator());
            let longest = match curve.point_len() {
                65 => 69,
                97 => 101,
                _ => 139,
            };
            assert_eq!(card.max_answer_len(), longest);
            let n = host.key_agreement_command(&mut cmd).unwrap();
            let a = answer(&mut card, &cmd[..n]);
            host.process_key_agreement(&a).unwrap();
            let n = host.mutual_authentication_command(&mut cmd).unwrap();
            let a = answer(&mut card, &cmd[..n]);
            let PaceSession::Aes(mut host_sm) = host.finish(&a).unwrap() else {
                panic!("AES expected")
            };
            let mut card_sm = card.into_session().unwrap();
            // A protected READ BINARY and its answer.
            let mut wrapped = [0u8; 64];
            let n = host_sm
                .wrap_command(&[0x00, 0xB0, 0x00, 0x00, 0x04], &mut wrapped)
                .unwrap();
            let mut plain = [0u8; 64];
            let p = card_sm.unwrap_command(&wrapped[..n], &mut plain).unwrap();
            assert_eq!(&plain[..p], &[0x00, 0xB0, 0x00, 0x00, 0x04]);
            let mut rsp = [0u8; 64];
            let r = card_sm
                .wrap_response(&[1, 2, 3, 4], StatusWord::SUCCESS, &mut rsp)
                .unwrap();
            let mut back = [0u8; 64];
            let b = host_sm.unwrap_response(&rsp[..r], &mut back).unwrap();
            assert_eq!(&back[..b], &[1, 2, 3, 4, 0x90, 0x00]);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Any CAN and any keys: host and card end with the same keys, each accepting the
        /// other's token; the card never panics on what the host sends.
        #[test]
        fn host_and_card_agree_for_any_can_and_keys(
            can in "[0-9]{6,10}",
            p256 in proptest::bool::ANY,
            nonce in proptest::array::uniform16(proptest::num::u8::ANY),
            keys in proptest::array::uniform4(1u8..0x7F),
        ) {
            // Equal keys on both sides give equal public keys, which both engines refuse
            // (ICAO 9303-11 §4.4.3.3.1 and §4.4.3.4): that case has its own tests.
            proptest::prop_assume!(keys[0] != keys[2] && keys[1] != keys[3]);
            let curve = if p256 { PaceCurve::NistP256 } else { PaceCurve::BrainpoolP256r1 };
            let pw = PacePassword::Can(can.as_bytes());
            let oid = ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
            let mut host = PaceHost::new(oid, curve, &pw, [keys[0]; 32], [keys[1]; 32]).unwrap();
            let random = PaceCardRandomness::new(nonce, &[keys[2]; 32], &[keys[3]; 32]).unwrap();
            let mut card = PaceCard::new(oid, curve, &pw, random).unwrap();
            host.check_mse_set_at(&[0x90, 0x00]).unwrap();
            let mut out = [0u8; 160];
            let mut cmd = [0u8; 128];
            let with_sw = |n: usize, out: &[u8]| {
                let mut a = out[..n].to_vec();
                a.extend_from_slice(&[0x90, 0x00]);
                a
            };
            let n = card.general_authenticate(host.nonce_command(), &mut out).unwrap();
            host.process_nonce(&with_sw(n, &out)).unwrap();
            let c = host.map_command(&mut cmd).unwrap();
            let n = card.general_authenticate(&cmd[..c], &mut out).unwrap();
            host.process_map(&with_sw(n, &out)).unwrap();
            let c = host.key_agreement_command(&mut cmd).unwrap();
            let n = card.general_authenticate(&cmd[..c], &mut out).unwrap();
            host.process_key_agreement(&with_sw(n, &out)).unwrap();
            proptest::prop_assert_eq!(
                host.session_keys().unwrap().1.as_bytes(),
                card.session_keys().unwrap().1.as_bytes()
            );
            let c = host.mutual_authentication_command(&mut cmd).unwrap();
            let n = card.general_authenticate(&cmd[..c], &mut out).unwrap();
            proptest::prop_assert!(host.finish(&with_sw(n, &out)).is_ok());
            proptest::prop_assert!(card.into_session().is_ok());
        }

        /// Arbitrary bytes as GENERAL AUTHENTICATE commands, at any step: an error or an
        /// answer, never a panic; after an error the engine stays failed.
        #[test]
        fn arbitrary_commands_never_panic(
            commands in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..90), 1..5),
        ) {
            let m = mrz();
            let mut card = appendix_card(&m);
            let mut out = [0u8; 160];
            for c in &commands {
                let failed = card.is_failed();
                let r = card.general_authenticate(c, &mut out);
                if failed {
                    proptest::prop_assert_eq!(r, Err(Error::WrongState));
                }
            }
        }
    }

    /// PACE-CAM, [`PaceHost`] against [`PaceCard`] on every curve: the card's chip
    /// authentication data decrypts on the host, the proof holds for the chip's static
    /// public key and not for another key, and both sessions talk.
    #[test]
    fn host_and_card_run_cam() {
        let can = b"123456";
        let pw = PacePassword::Can(can);
        let curves = [
            PaceCurve::NistP256,
            PaceCurve::BrainpoolP256r1,
            PaceCurve::NistP384,
            PaceCurve::BrainpoolP384r1,
            PaceCurve::NistP521,
        ];
        // id-PACE-ECDH-CAM-AES-CBC-CMAC-128, -192, -256.
        let oids = [
            "04007F00070202040602",
            "04007F00070202040603",
            "04007F00070202040604",
        ];
        for (i, curve) in curves.iter().enumerate() {
            let oid = hex(oids[i % 3]);
            assert!(PaceCard::is_cam(&oid) && PaceCard::supports(&oid, *curve));
            let key = |b: u8| {
                let mut k = std::vec![b; curve.field_len()];
                k[0] = 1;
                k
            };
            let chip_static = key(0x5C + i as u8);
            let pk_static = curve.mul_any(&chip_static, None).unwrap();
            let mut host =
                PaceHost::with_domain(&oid, PaceDomain::Ec(*curve), &pw, &key(0x11), &key(0x22))
                    .unwrap();
            let random =
                PaceCardRandomness::new([0x3C; 16], &key(0x33), &key(0x44 + i as u8)).unwrap();
            let mut card = PaceCard::new_cam(&oid, *curve, &pw, random, &chip_static).unwrap();
            host.check_mse_set_at(&[0x90, 0x00]).unwrap();
            let mut out = [0u8; 160];
            let mut cmd = [0u8; 200];
            let mut answer = |card: &mut PaceCard, c: &[u8]| {
                let n = card.general_authenticate(c, &mut out).unwrap();
                let mut a = out[..n].to_vec();
                a.extend_from_slice(&[0x90, 0x00]);
                a
            };
            let a = answer(&mut card, host.nonce_command());
            host.process_nonce(&a).unwrap();
            let n = host.map_command(&mut cmd).unwrap();
            let a = answer(&mut card, &cmd[..n]);
            host.process_map(&a).unwrap();
            let n = host.key_agreement_command(&mut cmd).unwrap();
            let a = answer(&mut card, &cmd[..n]);
            host.process_key_agreement(&a).unwrap();
            let n = host.mutual_authentication_command(&mut cmd).unwrap();
            let a = answer(&mut card, &cmd[..n]);
            // 7C { 86 08 T_IC, 8A A_IC }: the scalar padded to whole blocks.
            let padded = (curve.field_len() / 16 + 1) * 16;
            assert_eq!(a.len(), 2 + 10 + 2 + padded + 2);
            assert_eq!(a[12..14], [0x8A, padded as u8]);
            let (session, proof) = host.finish_cam(&a).unwrap();
            assert_eq!(proof.verify(*curve, pk_static.as_bytes()), Ok(()));
            let other = curve.mul_any(&key(0x77), None).unwrap();
            assert_eq!(
                proof.verify(*curve, other.as_bytes()),
                Err(Error::AuthenticationFailed)
            );
            let PaceSession::Aes(mut host_sm) = session else {
                panic!("AES expected")
            };
            let mut card_sm = card.into_session().unwrap();
            let mut wrapped = [0u8; 64];
            let n = host_sm
                .wrap_command(&[0x00, 0xB0, 0x00, 0x00, 0x04], &mut wrapped)
                .unwrap();
            let mut plain = [0u8; 64];
            let p = card_sm.unwrap_command(&wrapped[..n], &mut plain).unwrap();
            assert_eq!(&plain[..p], &[0x00, 0xB0, 0x00, 0x00, 0x04]);
        }
    }

    /// CAM needs the static key and GM refuses one; a static key that is zero, not below the
    /// order or of the wrong length is refused; CAM with 3DES is not run.
    #[test]
    fn cam_needs_a_valid_static_key() {
        let pw = PacePassword::Can(b"123456");
        let cam = hex("04007F00070202040602");
        let random = || PaceCardRandomness::new([1; 16], &[1; 32], &[2; 32]).unwrap();
        let curve = PaceCurve::NistP256;
        assert!(!PaceCard::is_cam(ID_PACE_ECDH_GM_AES_CBC_CMAC_128));
        assert_eq!(
            PaceCard::new(&cam, curve, &pw, random()).unwrap_err(),
            Error::UnsupportedProtocol
        );
        assert_eq!(
            PaceCard::new_cam(
                ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
                curve,
                &pw,
                random(),
                &[3; 32]
            )
            .unwrap_err(),
            Error::UnsupportedProtocol
        );
        for bad in [&[0u8; 32][..], &[0xFF; 32], &[3; 31], &[3; 33]] {
            assert_eq!(
                PaceCard::new_cam(&cam, curve, &pw, random(), bad).unwrap_err(),
                Error::KeyLength { len: 32 }
            );
        }
        // id-PACE-ECDH-CAM-3DES is not run.
        assert!(!PaceCard::supports(&hex("04007F00070202040601"), curve));
    }

    /// A wrong password (a CAN off by one digit) ends in the card refusing the terminal's
    /// token: the decrypted nonce differs, so do Ĝ and the keys.
    #[test]
    fn a_wrong_can_is_refused_by_the_card() {
        let right = PacePassword::Can(b"123456");
        let wrong = PacePassword::Can(b"123457");
        let mut host = PaceHost::new(
            ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
            PaceCurve::NistP256,
            &wrong,
            [0x12; 32],
            [0x23; 32],
        )
        .unwrap();
        let mut card = PaceCard::new(
            ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
            PaceCurve::NistP256,
            &right,
            PaceCardRandomness::new([7; 16], &[0x34; 32], &[0x45; 32]).unwrap(),
        )
        .unwrap();
        host.check_mse_set_at(&[0x90, 0x00]).unwrap();
        let mut out = [0u8; 160];
        let mut cmd = [0u8; 128];
        let ok = |n: usize, out: &[u8]| {
            let mut a = out[..n].to_vec();
            a.extend_from_slice(&[0x90, 0x00]);
            a
        };
        let n = card
            .general_authenticate(host.nonce_command(), &mut out)
            .unwrap();
        host.process_nonce(&ok(n, &out)).unwrap();
        let c = host.map_command(&mut cmd).unwrap();
        let n = card.general_authenticate(&cmd[..c], &mut out).unwrap();
        host.process_map(&ok(n, &out)).unwrap();
        let c = host.key_agreement_command(&mut cmd).unwrap();
        let n = card.general_authenticate(&cmd[..c], &mut out).unwrap();
        host.process_key_agreement(&ok(n, &out)).unwrap();
        let c = host.mutual_authentication_command(&mut cmd).unwrap();
        assert_eq!(
            card.general_authenticate(&cmd[..c], &mut out),
            Err(Error::AuthenticationFailed)
        );
    }
}
