//! Basic Access Control (ICAO Doc 9303 Part 11 §4.3): MRZ key seed, K_enc/K_mac, mutual
//! authentication with GET CHALLENGE and EXTERNAL AUTHENTICATE, session keys and the initial
//! send sequence counter, host side ([`BacHost`]) and card side ([`BacCard`]).
//!
//! ```
//! use cardwire_sm::bac::{BacCard, BacHost, BacKeys, MrzInfo};
//! // The ICAO worked example's MRZ; the check digits are computed.
//! let mrz = MrzInfo::new("L898902C", "690806", "940623")?;
//! let keys = BacKeys::from_mrz(&mrz);
//!
//! // Randomness comes from the caller (here fixed: the ICAO Appendix D values).
//! let mut card = BacCard::new(keys.clone(), [0x46, 0x08, 0xF9, 0x19, 0x88, 0x70, 0x22, 0x12], [0x0B; 16]);
//! let mut host = BacHost::new(keys, [0x78, 0x17, 0x23, 0x86, 0x0C, 0x06, 0xC2, 0x26], [0x0B; 16]);
//!
//! // GET CHALLENGE (`BacHost::GET_CHALLENGE`) → the card's RND.IC.
//! let mut command = [0u8; 46];
//! let n = host.external_authenticate_command(&card.challenge(), &mut command)?;
//! let mut answer = [0u8; 42];
//! let card_session = card.external_authenticate(&command[..n], &mut answer)?;
//! let host_session = host.finish(&answer)?;
//! assert_eq!(host_session.ssc(), card_session.ssc());
//! # Ok::<(), cardwire_sm::Error>(())
//! ```

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::kdf::{self, COUNTER_ENC, COUNTER_MAC, KeyAlgorithm};
pub use crate::mrz::{MRZ_INFO_LEN, MrzInfo, check_digit};
use crate::primitives::{RetailMac, TdesKey};
use crate::{Error, SmSession, TdesSuite};

/// The document basic access keys K_enc and K_mac (ICAO 9303-11 §4.3.2, parity adjusted).
#[derive(Clone)]
pub struct BacKeys {
    k_enc: [u8; 16],
    k_mac: [u8; 16],
}

impl BacKeys {
    /// Derives the keys from the MRZ information.
    pub fn from_mrz(mrz: &MrzInfo) -> Self {
        let mut seed = mrz.key_seed();
        let keys = Self::from_seed(&seed);
        seed.zeroize();
        keys
    }

    /// Derives the keys from a 16-byte key seed: K_enc = KDF(K_seed, 1), K_mac = KDF(K_seed, 2).
    pub fn from_seed(seed: &[u8; 16]) -> Self {
        let enc = kdf::derive_key(seed, COUNTER_ENC, KeyAlgorithm::Tdes);
        let mac = kdf::derive_key(seed, COUNTER_MAC, KeyAlgorithm::Tdes);
        let mut keys = Self {
            k_enc: [0; 16],
            k_mac: [0; 16],
        };
        keys.k_enc.copy_from_slice(enc.as_bytes());
        keys.k_mac.copy_from_slice(mac.as_bytes());
        keys
    }

    /// K_enc.
    pub fn k_enc(&self) -> &[u8; 16] {
        &self.k_enc
    }

    /// K_mac.
    pub fn k_mac(&self) -> &[u8; 16] {
        &self.k_mac
    }

    fn cipher(&self) -> Result<(TdesKey, RetailMac), Error> {
        Ok((TdesKey::new(&self.k_enc)?, RetailMac::new(&self.k_mac)?))
    }
}

impl Drop for BacKeys {
    fn drop(&mut self) {
        self.k_enc.zeroize();
        self.k_mac.zeroize();
    }
}

impl core::fmt::Debug for BacKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BacKeys(<redacted>)")
    }
}

const PAD8: [u8; 8] = [0x80, 0, 0, 0, 0, 0, 0, 0];

/// E ‖ M for a 32-byte plaintext: E = 3DES-CBC(K_enc, IV 0), M = retail MAC(K_mac, pad(E)).
fn seal(keys: &BacKeys, plain: &[u8; 32], out: &mut [u8; 40]) -> Result<(), Error> {
    let (enc, mut mac) = keys.cipher()?;
    let (e, m) = out.split_at_mut(32);
    e.copy_from_slice(plain);
    enc.encrypt_cbc(&[0; 8], e)?;
    let tag = mac.compute(&[e, &PAD8]);
    m.copy_from_slice(&tag);
    Ok(())
}

/// Checks M then decrypts E of a 40-byte E ‖ M.
fn open(keys: &BacKeys, sealed: &[u8]) -> Result<[u8; 32], Error> {
    let (e, m) = match sealed.split_at_checked(32) {
        Some((e, m)) if m.len() == 8 => (e, m),
        _ => return Err(Error::AuthenticationFailed),
    };
    let (enc, mut mac) = keys.cipher()?;
    let tag = mac.compute(&[e, &PAD8]);
    if !bool::from(tag.ct_eq(m)) {
        return Err(Error::AuthenticationFailed);
    }
    let mut plain = [0u8; 32];
    plain.copy_from_slice(e);
    enc.decrypt_cbc(&[0; 8], &mut plain)?;
    Ok(plain)
}

/// The session after BAC: keys from K_seed = K.IFD ⊕ K.IC, SSC = RND.IC[4..8] ‖ RND.IFD[4..8]
/// (ICAO 9303-11 §4.3.3, §9.8.2).
fn session_material(
    k_ifd: &[u8; 16],
    k_ic: &[u8],
    rnd_ic: &[u8],
    rnd_ifd: &[u8],
) -> Result<(TdesSuite, [u8; 8]), Error> {
    let mut seed = [0u8; 16];
    for ((s, a), b) in seed.iter_mut().zip(k_ifd).zip(k_ic) {
        *s = a ^ b;
    }
    let suite = kdf::tdes_suite(&seed);
    seed.zeroize();
    let mut ssc = [0u8; 8];
    let (hi, lo) = ssc.split_at_mut(4);
    match (rnd_ic.get(4..8), rnd_ifd.get(4..8)) {
        (Some(a), Some(b)) => {
            hi.copy_from_slice(a);
            lo.copy_from_slice(b);
        }
        _ => return Err(Error::LengthMismatch { offset: 0 }),
    }
    Ok((suite?, ssc))
}

/// BAC, terminal side (ICAO 9303-11 §4.3.4): send [`BacHost::GET_CHALLENGE`], pass the card's
/// 8 bytes to [`external_authenticate_command`](Self::external_authenticate_command), send that
/// command, pass the card's whole answer (data ‖ SW) to [`finish`](Self::finish).
pub struct BacHost {
    keys: BacKeys,
    rnd_ifd: [u8; 8],
    k_ifd: [u8; 16],
    rnd_ic: Option<[u8; 8]>,
}

impl BacHost {
    /// GET CHALLENGE for 8 bytes (ISO/IEC 7816-4 §11.5.3).
    pub const GET_CHALLENGE: [u8; 5] = [0x00, 0x84, 0x00, 0x00, 0x08];

    /// Starts BAC with the document keys and the terminal's fresh random RND.IFD (8 bytes) and
    /// keying material K.IFD (16 bytes), both from the caller's random number generator.
    pub fn new(keys: BacKeys, rnd_ifd: [u8; 8], k_ifd: [u8; 16]) -> Self {
        Self {
            keys,
            rnd_ifd,
            k_ifd,
            rnd_ic: None,
        }
    }

    /// EXTERNAL AUTHENTICATE (`00 82 00 00 28` E_IFD ‖ M_IFD `28`) for the card's challenge
    /// RND.IC: S = RND.IFD ‖ RND.IC ‖ K.IFD, E_IFD = 3DES(K_enc, S), M_IFD = MAC(K_mac, E_IFD).
    /// Writes 46 bytes into `out` and returns 46.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `rnd_ic` has 8 bytes; [`Error::BufferTooSmall`].
    pub fn external_authenticate_command(
        &mut self,
        rnd_ic: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let rnd_ic: [u8; 8] = rnd_ic
            .try_into()
            .map_err(|_| Error::LengthMismatch { offset: 0 })?;
        if out.len() < 46 {
            return Err(Error::BufferTooSmall { needed: 46 });
        }
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&self.rnd_ifd);
        s[8..16].copy_from_slice(&rnd_ic);
        s[16..].copy_from_slice(&self.k_ifd);
        let mut sealed = [0u8; 40];
        let result = seal(&self.keys, &s, &mut sealed);
        s.zeroize();
        result?;
        // `00 82 00 00 28` E_IFD ‖ M_IFD `28` (ICAO 9303-11 §4.3.4.1; ISO/IEC 7816-4 §11.5.5).
        let n = CommandRepr::new(Cla(0x00), Ins::EXTERNAL_AUTHENTICATE, 0x00, 0x00)
            .with_data(&sealed)
            .with_ne(40)
            .encode(out)
            .map_err(|_| Error::BufferTooSmall { needed: 46 })?
            .len();
        sealed.zeroize();
        self.rnd_ic = Some(rnd_ic);
        Ok(n)
    }

    /// Checks the card's answer to EXTERNAL AUTHENTICATE (E_IC ‖ M_IC ‖ SW1 SW2): verifies
    /// M_IC, decrypts R = RND.IC ‖ RND.IFD ‖ K.IC, checks both nonces, and returns the secure
    /// messaging session with the session keys and the initial SSC.
    ///
    /// # Errors
    /// [`Error::CardRefused`] for a status other than `9000` (a wrong MRZ gives `6300` on most
    /// chips); [`Error::AuthenticationFailed`] for a wrong length, MAC or nonce;
    /// [`Error::WrongState`] before [`external_authenticate_command`](Self::external_authenticate_command).
    pub fn finish(self, response: &[u8]) -> Result<SmSession<TdesSuite>, Error> {
        let rnd_ic = self.rnd_ic.ok_or(Error::WrongState)?;
        let (data, sw) = response
            .split_last_chunk::<2>()
            .ok_or(Error::AuthenticationFailed)?;
        let sw = StatusWord(u16::from_be_bytes(*sw));
        if sw != StatusWord::SUCCESS {
            return Err(Error::CardRefused { sw });
        }
        let mut r = open(&self.keys, data)?;
        let nonces_ok = r[..8].ct_eq(&rnd_ic) & r[8..16].ct_eq(&self.rnd_ifd);
        if !bool::from(nonces_ok) {
            r.zeroize();
            return Err(Error::AuthenticationFailed);
        }
        let result = session_material(&self.k_ifd, &r[16..], &rnd_ic, &self.rnd_ifd);
        r.zeroize();
        let (suite, ssc) = result?;
        SmSession::host(suite, &ssc)
    }
}

impl Drop for BacHost {
    fn drop(&mut self) {
        self.k_ifd.zeroize();
        self.rnd_ifd.zeroize();
    }
}

impl core::fmt::Debug for BacHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BacHost")
            .field("challenged", &self.rnd_ic.is_some())
            .finish_non_exhaustive()
    }
}

/// BAC, chip side (ICAO 9303-11 §4.3.4): answer GET CHALLENGE with
/// [`challenge`](Self::challenge), then pass the EXTERNAL AUTHENTICATE command to
/// [`external_authenticate`](Self::external_authenticate), which checks the terminal and writes
/// E_IC ‖ M_IC ‖ `9000`.
pub struct BacCard {
    keys: BacKeys,
    rnd_ic: [u8; 8],
    k_ic: [u8; 16],
}

impl BacCard {
    /// Starts BAC on the chip with the document keys and fresh random RND.IC (8 bytes) and K.IC
    /// (16 bytes).
    pub fn new(keys: BacKeys, rnd_ic: [u8; 8], k_ic: [u8; 16]) -> Self {
        Self { keys, rnd_ic, k_ic }
    }

    /// The chip's challenge RND.IC, the data of the answer to GET CHALLENGE.
    pub fn challenge(&self) -> [u8; 8] {
        self.rnd_ic
    }

    /// Processes the EXTERNAL AUTHENTICATE command APDU (`00 82 00 00 28` E_IFD ‖ M_IFD
    /// (`28`)): verifies M_IFD and RND.IC, then writes the answer E_IC ‖ M_IC ‖ `90 00` (42
    /// bytes) into `response` and returns the card-side secure messaging session.
    ///
    /// On error the chip answers `6300` (ICAO 9303-11 §4.3.4: authentication failed) and
    /// requires a new GET CHALLENGE.
    ///
    /// # Errors
    /// [`Error::MalformedCommand`] for another command shape; [`Error::AuthenticationFailed`]
    /// for a wrong MAC or challenge; [`Error::BufferTooSmall`] when `response` is under 42 bytes.
    pub fn external_authenticate(
        &mut self,
        command: &[u8],
        response: &mut [u8],
    ) -> Result<SmSession<TdesSuite>, Error> {
        let parts = crate::frame::parse(command)?;
        if parts.ins() != Ins::EXTERNAL_AUTHENTICATE || parts.data().len() != 40 {
            return Err(Error::MalformedCommand { offset: 1 });
        }
        let response = response
            .get_mut(..42)
            .ok_or(Error::BufferTooSmall { needed: 42 })?;
        let mut s = open(&self.keys, parts.data())?;
        if !bool::from(s[8..16].ct_eq(&self.rnd_ic)) {
            s.zeroize();
            return Err(Error::AuthenticationFailed);
        }
        let mut r = [0u8; 32];
        r[..8].copy_from_slice(&self.rnd_ic);
        r[8..16].copy_from_slice(&s[..8]);
        r[16..].copy_from_slice(&self.k_ic);
        let mut sealed = [0u8; 40];
        let sealed_ok = seal(&self.keys, &r, &mut sealed);
        r.zeroize();
        let mut k_ifd = [0u8; 16];
        k_ifd.copy_from_slice(&s[16..]);
        let mut rnd_ifd = [0u8; 8];
        rnd_ifd.copy_from_slice(&s[..8]);
        s.zeroize();
        let result =
            sealed_ok.and_then(|()| session_material(&k_ifd, &self.k_ic, &self.rnd_ic, &rnd_ifd));
        k_ifd.zeroize();
        let (suite, ssc) = result?;
        let (body, sw) = response.split_at_mut(40);
        body.copy_from_slice(&sealed);
        sw.copy_from_slice(&StatusWord::SUCCESS.0.to_be_bytes());
        SmSession::card(suite, &ssc)
    }
}

impl Drop for BacCard {
    fn drop(&mut self) {
        self.k_ic.zeroize();
    }
}

impl core::fmt::Debug for BacCard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BacCard(<redacted>)")
    }
}
