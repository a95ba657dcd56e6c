//! GlobalPlatform Secure Channel Protocol '03' (GlobalPlatform Card Specification v2.3,
//! Amendment D v1.2), host side ([`Scp03Host`]) and card side ([`Scp03Card`]), with the
//! sans-IO [`Scp03Session`] that wraps and unwraps APDUs afterwards.
//!
//! Implemented: the KDF in counter mode with AES-CMAC (NIST SP 800-108, Amendment D §4.1.5),
//! session keys S-ENC, S-MAC, S-RMAC, card and host cryptograms, INITIALIZE UPDATE and
//! EXTERNAL AUTHENTICATE, pseudo-random card challenges, security levels C-MAC, C-DECRYPTION,
//! R-MAC and R-ENCRYPTION, the MAC chaining value and the encryption counter, AES-128/192/256
//! static keys. Not implemented: S16 mode (16-byte challenges, cryptograms and MACs) and
//! further interindustry class bytes (`40`–`7F`, `C0`–`FF`).
//!
//! # What is wrapped
//!
//! Every command after EXTERNAL AUTHENTICATE, each link of a command chain separately. GET
//! RESPONSE is not wrapped; the transport below reassembles `61xx` answers and the whole
//! response is unwrapped once. A response with an error status (anything but `9000`, `62xx`,
//! `63xx`) carries no R-MAC (Amendment D §6.2.5): it is returned as a bare status word, which
//! is therefore unauthenticated.
//!
//! # Failure
//!
//! A wrong C-MAC, R-MAC, padding or length fails the session for good
//! ([`Error::SessionFailed`] afterwards), as the card closes the channel on its side
//! (Amendment D §6.2.4); a replayed response cannot verify because the MAC chaining value
//! moved on.
//!
//! ```
//! use cardwire_sm::scp03::{Scp03Card, Scp03Host, SecurityLevel, StaticKeys};
//! let keys = || StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]);
//! let mut host = Scp03Host::new(keys()?, 0x30, [1; 8]);
//! let mut card = Scp03Card::new(keys()?, 0x30, [0; 10], [2; 8]);
//!
//! let (mut cmd, mut rsp) = ([0u8; 64], [0u8; 64]);
//! let n = host.initialize_update_command(&mut cmd)?;
//! let m = card.initialize_update(&cmd[..n], &mut rsp)?;
//! let n = host.external_authenticate_command(&rsp[..m], SecurityLevel::ALL, &mut cmd)?;
//! let mut card_session = card.external_authenticate(&cmd[..n])?;
//! let mut host_session = host.finish(&[0x90, 0x00])?;
//!
//! // GET STATUS, encrypted and MACed both ways.
//! let n = host_session.wrap_command(&[0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00], &mut cmd)?;
//! let mut plain = [0u8; 64];
//! let p = card_session.unwrap_command(&cmd[..n], &mut plain)?;
//! assert_eq!(&plain[..p], &[0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00]);
//! let m = card_session.wrap_response(&[0xE3, 0x00], 0x9000, &mut rsp)?;
//! let p = host_session.unwrap_response(&rsp[..m], &mut plain)?;
//! assert_eq!(&plain[..p], &[0xE3, 0x00, 0x90, 0x00]);
//! # Ok::<(), cardwire_sm::Error>(())
//! ```

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::Error;
use crate::apdu::{self, parse_command};
use crate::kdf::SecretKey;
use crate::padding::{increment, pad, padded_len, unpad};
use crate::primitives::{AesCmac, AesKey};
use crate::session::Role;

/// Derivation constants (Amendment D §4.1.5, Table 4-1).
pub mod constant {
    /// Card cryptogram.
    pub const CARD_CRYPTOGRAM: u8 = 0x00;
    /// Host cryptogram.
    pub const HOST_CRYPTOGRAM: u8 = 0x01;
    /// Pseudo-random card challenge.
    pub const CARD_CHALLENGE: u8 = 0x02;
    /// S-ENC.
    pub const S_ENC: u8 = 0x04;
    /// S-MAC.
    pub const S_MAC: u8 = 0x06;
    /// S-RMAC.
    pub const S_RMAC: u8 = 0x07;
}

/// INITIALIZE UPDATE's instruction byte (GPC v2.3 §11.11).
pub const INS_INITIALIZE_UPDATE: u8 = 0x50;
/// EXTERNAL AUTHENTICATE's instruction byte (GPC v2.3 §11.12 / Amendment D §7.1.2).
pub const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;

/// The SCP03 security level, P1 of EXTERNAL AUTHENTICATE (Amendment D §7.1.2.1, Table 7-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityLevel(pub u8);

impl SecurityLevel {
    /// No secure messaging after authentication.
    pub const NONE: Self = Self(0x00);
    /// C-MAC.
    pub const C_MAC: Self = Self(0x01);
    /// C-DECRYPTION and C-MAC.
    pub const C_DEC_C_MAC: Self = Self(0x03);
    /// C-MAC and R-MAC.
    pub const C_MAC_R_MAC: Self = Self(0x11);
    /// C-DECRYPTION, C-MAC and R-MAC.
    pub const C_DEC_C_MAC_R_MAC: Self = Self(0x13);
    /// C-DECRYPTION, C-MAC, R-ENCRYPTION and R-MAC.
    pub const ALL: Self = Self(0x33);

    const C_MAC_BIT: u8 = 0x01;
    const C_DEC_BIT: u8 = 0x02;
    const R_MAC_BIT: u8 = 0x10;
    const R_ENC_BIT: u8 = 0x20;

    /// Whether commands carry a C-MAC.
    pub fn c_mac(self) -> bool {
        self.0 & Self::C_MAC_BIT != 0
    }
    /// Whether command data is encrypted.
    pub fn c_decryption(self) -> bool {
        self.0 & Self::C_DEC_BIT != 0
    }
    /// Whether responses carry an R-MAC.
    pub fn r_mac(self) -> bool {
        self.0 & Self::R_MAC_BIT != 0
    }
    /// Whether response data is encrypted.
    pub fn r_encryption(self) -> bool {
        self.0 & Self::R_ENC_BIT != 0
    }

    /// Whether Amendment D allows this combination: one of `00 01 03 11 13 33`.
    pub fn is_valid(self) -> bool {
        matches!(self.0, 0x00 | 0x01 | 0x03 | 0x11 | 0x13 | 0x33)
    }
}

/// The static keys of a key set (Amendment D §4.1.1): key-ENC, key-MAC, key-DEK; AES-128, -192
/// or -256, all of one length. Zeroized on drop, redacted in `Debug`.
#[derive(Clone, Debug)]
pub struct StaticKeys {
    enc: SecretKey,
    mac: SecretKey,
    dek: SecretKey,
}

impl StaticKeys {
    /// A key set from its three keys.
    ///
    /// # Errors
    /// [`Error::KeyLength`] unless all three are 16, 24 or 32 bytes and of the same length.
    pub fn new(enc: &[u8], mac: &[u8], dek: &[u8]) -> Result<Self, Error> {
        if !matches!(enc.len(), 16 | 24 | 32) || mac.len() != enc.len() || dek.len() != enc.len() {
            return Err(Error::KeyLength { len: enc.len() });
        }
        Ok(Self {
            enc: SecretKey::from_slice(enc)?,
            mac: SecretKey::from_slice(mac)?,
            dek: SecretKey::from_slice(dek)?,
        })
    }

    /// key-DEK, for encrypting keys in PUT KEY and STORE DATA (not used by the channel itself).
    pub fn dek(&self) -> &[u8] {
        self.dek.as_bytes()
    }
}

/// The SCP03 KDF (Amendment D §4.1.5): NIST SP 800-108 counter mode with AES-CMAC; derivation
/// data = 11 zero bytes ‖ constant ‖ `00` ‖ L (bits, 2 bytes) ‖ i ‖ context. Fills `out`.
///
/// # Errors
/// [`Error::KeyLength`] for a key that is not 16, 24 or 32 bytes, or an `out` over 255 blocks.
pub fn kdf(key: &[u8], constant: u8, context: &[u8], out: &mut [u8]) -> Result<(), Error> {
    let mut prf = AesCmac::new(key)?;
    let bits = u16::try_from(out.len() * 8).map_err(|_| Error::KeyLength { len: out.len() })?;
    let [lh, ll] = bits.to_be_bytes();
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        let counter = u8::try_from(i + 1).map_err(|_| Error::KeyLength { len: 0 })?;
        let mut label = [0u8; 16];
        label[11] = constant;
        label[13] = lh;
        label[14] = ll;
        label[15] = counter;
        let mut block = prf.compute(&[&label, context]);
        if let Some(src) = block.get(..chunk.len()) {
            chunk.copy_from_slice(src);
        }
        block.zeroize();
    }
    Ok(())
}

/// The pseudo-random card challenge (Amendment D §6.2.2.1): KDF(key-ENC, `02`, sequence counter
/// ‖ AID of the security domain, 64 bits).
///
/// # Errors
/// [`Error::TooLong`] for an AID over 16 bytes.
pub fn pseudo_random_challenge(
    keys: &StaticKeys,
    sequence_counter: [u8; 3],
    aid: &[u8],
) -> Result<[u8; 8], Error> {
    let mut context = [0u8; 19];
    let dst = context.get_mut(3..3 + aid.len()).ok_or(Error::TooLong)?;
    dst.copy_from_slice(aid);
    context[..3].copy_from_slice(&sequence_counter);
    let mut out = [0u8; 8];
    kdf(
        keys.enc.as_bytes(),
        constant::CARD_CHALLENGE,
        context.get(..3 + aid.len()).unwrap_or(&[]),
        &mut out,
    )?;
    Ok(out)
}

/// The session keys and both cryptograms for one host challenge ‖ card challenge.
struct Derived {
    s_enc: AesKey,
    s_mac: AesCmac,
    s_rmac: AesCmac,
    card_cryptogram: [u8; 8],
    host_cryptogram: [u8; 8],
}

fn derive(keys: &StaticKeys, context: &[u8; 16]) -> Result<Derived, Error> {
    let len = keys.enc.as_bytes().len();
    let mut buf = [0u8; 32];
    let out = buf.get_mut(..len).ok_or(Error::KeyLength { len })?;
    kdf(keys.enc.as_bytes(), constant::S_ENC, context, out)?;
    let s_enc = AesKey::new(out)?;
    kdf(keys.mac.as_bytes(), constant::S_MAC, context, out)?;
    let s_mac = AesCmac::new(out)?;
    let mut card_cryptogram = [0u8; 8];
    let mut host_cryptogram = [0u8; 8];
    kdf(
        out,
        constant::CARD_CRYPTOGRAM,
        context,
        &mut card_cryptogram,
    )?;
    kdf(
        out,
        constant::HOST_CRYPTOGRAM,
        context,
        &mut host_cryptogram,
    )?;
    kdf(keys.mac.as_bytes(), constant::S_RMAC, context, out)?;
    let s_rmac = AesCmac::new(out)?;
    buf.zeroize();
    Ok(Derived {
        s_enc,
        s_mac,
        s_rmac,
        card_cryptogram,
        host_cryptogram,
    })
}

/// The class byte for the MAC: logical channel 0, b4 = 0, b3 = 1 (Amendment D §6.2.4).
fn mac_cla(cla: u8) -> Result<u8, Error> {
    match cla {
        0x00..=0x3F | 0x80..=0xBF => Ok((cla & 0xF0) | 0x04),
        _ => Err(Error::ClassByte { cla }),
    }
}

/// Whether a status word gets an R-MAC (and R-ENCRYPTION): `9000`, `62xx`, `63xx`.
fn protected_status(sw: u16) -> bool {
    sw == 0x9000 || matches!(sw >> 8, 0x62 | 0x63)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Pending,
    Failed,
}

/// An open SCP03 secure channel: wraps commands and unwraps responses (host), or unwraps
/// commands and wraps responses (card). Sans-IO; see the module docs for what is wrapped.
pub struct Scp03Session {
    s_enc: AesKey,
    s_mac: AesCmac,
    s_rmac: AesCmac,
    level: SecurityLevel,
    role: Role,
    chaining: [u8; 16],
    counter: [u8; 16],
    state: State,
}

impl core::fmt::Debug for Scp03Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scp03Session")
            .field("role", &self.role)
            .field("level", &self.level)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Drop for Scp03Session {
    fn drop(&mut self) {
        self.chaining.zeroize();
        self.counter.zeroize();
    }
}

impl Scp03Session {
    fn new(d: Derived, level: SecurityLevel, role: Role, chaining: [u8; 16]) -> Self {
        Self {
            s_enc: d.s_enc,
            s_mac: d.s_mac,
            s_rmac: d.s_rmac,
            level,
            role,
            chaining,
            counter: [0; 16],
            state: State::Idle,
        }
    }

    /// The security level in force.
    pub fn level(&self) -> SecurityLevel {
        self.level
    }

    /// Which end of the channel this session is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the session failed and must be re-established.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    fn fail<T>(&mut self, e: Error) -> Result<T, Error> {
        self.state = State::Failed;
        Err(e)
    }

    fn check_role(&self, role: Role) -> Result<(), Error> {
        if self.state == State::Failed {
            return Err(Error::SessionFailed);
        }
        if self.role != role {
            return Err(Error::WrongState);
        }
        Ok(())
    }

    /// ICV for command (`80` = false) or response (`80` = true) encryption (Amendment D §6.2.6,
    /// §6.2.7): AES(S-ENC, counter), with the first byte set to `80` for responses.
    fn icv(&self, response: bool) -> Result<[u8; 16], Error> {
        let mut block = self.counter;
        if response {
            block[0] = 0x80;
        }
        self.s_enc.encrypt_block(&mut block)?;
        Ok(block)
    }

    /// C-MAC over chaining value ‖ header ‖ Lc ‖ data; updates the chaining value.
    fn c_mac(&mut self, header: &[u8; 4], lc: &[u8], data: &[u8]) -> [u8; 16] {
        let chaining = self.chaining;
        self.s_mac.compute(&[&chaining, header, lc, data])
    }

    fn r_mac(&mut self, data: &[u8], sw: u16) -> [u8; 8] {
        let chaining = self.chaining;
        let mut full = self.s_rmac.compute(&[&chaining, data, &sw.to_be_bytes()]);
        let mut out = [0u8; 8];
        out.copy_from_slice(&full[..8]);
        full.zeroize();
        out
    }

    /// Host: protects a plain command APDU into `out`; returns the protected length.
    ///
    /// With C-DECRYPTION the data is padded and encrypted with ICV = AES(S-ENC, counter);
    /// with C-MAC, CLA gets b3 and 8 bytes of AES-CMAC over the MAC chaining value ‖ header ‖
    /// Lc ‖ data are appended; Le becomes `00` (`0000` extended), since the response grows by
    /// its R-MAC. A command may be wrapped while a response is pending: that response is then
    /// abandoned and can no longer verify.
    ///
    /// # Errors
    /// [`Error::MalformedCommand`], [`Error::ClassByte`], [`Error::BufferTooSmall`] (session
    /// unchanged), [`Error::TooLong`], [`Error::SessionFailed`], [`Error::WrongState`] on a
    /// card-side session.
    pub fn wrap_command(&mut self, plain: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.check_role(Role::Host)?;
        let cmd = parse_command(plain)?;
        self.wrap_parts(cmd.header, cmd.data, cmd.ne, cmd.extended, out)
    }

    /// [`wrap_command`](Self::wrap_command) for a command given as its parts: header CLA INS
    /// P1 P2, data, Ne (0 for none), and whether the plain command used extended lengths.
    ///
    /// # Errors
    /// As [`wrap_command`](Self::wrap_command).
    pub fn wrap_parts(
        &mut self,
        header: [u8; 4],
        data: &[u8],
        ne: u32,
        extended: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.check_role(Role::Host)?;
        if ne > 65_536 {
            return Err(Error::MalformedCommand { offset: 4 });
        }
        let cmd = apdu::CommandParts {
            header,
            data,
            ne,
            extended,
        };
        if !self.level.c_mac() {
            let extended = extended || apdu::needs_extended(data.len(), ne);
            let total = apdu::encoded_len(data.len(), ne, extended);
            if out.len() < total {
                return Err(Error::BufferTooSmall { needed: total });
            }
            let at = apdu::write_head(out, header, data.len(), ne, extended)?;
            out.get_mut(at..at + data.len())
                .ok_or(Error::BufferTooSmall { needed: total })?
                .copy_from_slice(data);
            self.state = State::Pending;
            return Ok(total);
        }
        let [cla, ins, p1, p2] = cmd.header;
        let mcla = mac_cla(cla)?;
        let encrypt = self.level.c_decryption() && !cmd.data.is_empty();
        let body_len = if encrypt {
            padded_len(cmd.data.len(), 16)
        } else {
            cmd.data.len()
        } + 8;
        if body_len > 65_535 {
            return Err(Error::TooLong);
        }
        let extended = cmd.extended || apdu::needs_extended(body_len, cmd.ne);
        let ne_out = match (cmd.ne, extended) {
            (0, _) => 0,
            (_, false) => 256,
            (_, true) => 65_536,
        };
        let total = apdu::encoded_len(body_len, ne_out, extended);
        if out.len() < total {
            return Err(Error::BufferTooSmall { needed: total });
        }
        increment(&mut self.counter)?;
        let at = apdu::write_head(out, [cla | 0x04, ins, p1, p2], body_len, ne_out, extended)?;
        let lc_bytes = out.get(4..at).unwrap_or(&[]);
        let mut lc = [0u8; 3];
        let lc = {
            let dst = lc.get_mut(..lc_bytes.len()).ok_or(Error::TooLong)?;
            dst.copy_from_slice(lc_bytes);
            &*dst
        };
        let body = out
            .get_mut(at..at + body_len)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        let (data, mac_field) = body.split_at_mut(body_len - 8);
        data.get_mut(..cmd.data.len())
            .ok_or(Error::BufferTooSmall { needed: total })?
            .copy_from_slice(cmd.data);
        if encrypt {
            pad(data, cmd.data.len(), 16)?;
            let mut icv = self.icv(false)?;
            self.s_enc.encrypt_cbc(&icv, data)?;
            icv.zeroize();
        }
        let mac = self.c_mac(&[mcla, ins, p1, p2], lc, data);
        self.chaining = mac;
        mac_field.copy_from_slice(&mac[..8]);
        self.state = State::Pending;
        Ok(total)
    }

    /// Host: checks and decrypts the response (data ‖ SW1 SW2) to the last wrapped command into
    /// `out` as a plain response; returns its length. `out` must hold the protected response.
    ///
    /// # Errors
    /// [`Error::MacMismatch`] (R-MAC), [`Error::BadPadding`], [`Error::LengthMismatch`] (data
    /// too short for an R-MAC, an error status with data), [`Error::BufferTooSmall`]; each
    /// fails the session. [`Error::WrongState`] when no command is pending.
    pub fn unwrap_response(&mut self, response: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.check_role(Role::Host)?;
        let dst = match out.get_mut(..response.len()) {
            Some(dst) => dst,
            None => {
                return self.fail(Error::BufferTooSmall {
                    needed: response.len(),
                });
            }
        };
        dst.copy_from_slice(response);
        let result = self.unwrap_response_in_place(dst);
        if result.is_err() {
            // Leave nothing of an unauthenticated response in the caller's buffer.
            dst.zeroize();
        }
        result
    }

    /// [`unwrap_response`](Self::unwrap_response) in place: `buf` holds the protected response;
    /// the plain data and SW1 SW2 are written to its start. Returns the plain length.
    ///
    /// # Errors
    /// As [`unwrap_response`](Self::unwrap_response).
    pub fn unwrap_response_in_place(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.check_role(Role::Host)?;
        if self.state != State::Pending {
            return Err(Error::WrongState);
        }
        match self.unwrap_in_place_inner(buf) {
            Ok(n) => {
                self.state = State::Idle;
                Ok(n)
            }
            Err(e) => self.fail(e),
        }
    }

    fn unwrap_in_place_inner(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let len = buf.len();
        let (body, trailer) = buf
            .split_last_chunk::<2>()
            .ok_or(Error::LengthMismatch { offset: 0 })?;
        let trailer = *trailer;
        let sw = u16::from_be_bytes(trailer);
        let data_len = if self.level.r_mac() && protected_status(sw) {
            let (data, mac) = body
                .split_last_chunk::<8>()
                .ok_or(Error::LengthMismatch { offset: 0 })?;
            let expected = self.r_mac(data, sw);
            if !bool::from(expected.ct_eq(mac)) {
                return Err(Error::MacMismatch);
            }
            data.len()
        } else if self.level.r_mac() && !body.is_empty() {
            // Error statuses carry no R-MAC and no data (Amendment D §6.2.5).
            return Err(Error::LengthMismatch { offset: 0 });
        } else {
            body.len()
        };
        let n = if self.level.r_encryption() && data_len > 0 {
            if data_len % 16 != 0 {
                return Err(Error::LengthMismatch { offset: 0 });
            }
            let dst = buf
                .get_mut(..data_len)
                .ok_or(Error::LengthMismatch { offset: len })?;
            let mut icv = self.icv(true)?;
            self.s_enc.decrypt_cbc(&icv, dst)?;
            icv.zeroize();
            match unpad(dst, 16) {
                Ok(n) => n,
                Err(e) => {
                    dst.zeroize();
                    return Err(e);
                }
            }
        } else {
            data_len
        };
        buf.get_mut(n..n + 2)
            .ok_or(Error::BufferTooSmall { needed: n + 2 })?
            .copy_from_slice(&trailer);
        Ok(n + 2)
    }

    /// Card: checks the C-MAC of a protected command and decrypts its data into `out` as the
    /// plain command APDU (CLA without b3); returns its length. On error answer `6982`
    /// (security status not satisfied) unprotected: the channel is closed.
    ///
    /// # Errors
    /// [`Error::ClassByte`] (no b3), [`Error::MalformedCommand`], [`Error::MacMismatch`],
    /// [`Error::BadPadding`], [`Error::LengthMismatch`], [`Error::BufferTooSmall`]; each fails
    /// the session. [`Error::WrongState`] while a response is pending.
    pub fn unwrap_command(&mut self, protected: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.check_role(Role::Card)?;
        if self.state != State::Idle {
            return Err(Error::WrongState);
        }
        match self.unwrap_command_inner(protected, out) {
            Ok(n) => {
                self.state = State::Pending;
                Ok(n)
            }
            Err(e) => self.fail(e),
        }
    }

    fn unwrap_command_inner(&mut self, protected: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let cmd = parse_command(protected)?;
        if !self.level.c_mac() {
            out.get_mut(..protected.len())
                .ok_or(Error::BufferTooSmall {
                    needed: protected.len(),
                })?
                .copy_from_slice(protected);
            return Ok(protected.len());
        }
        let [cla, ins, p1, p2] = cmd.header;
        if cla & 0x04 == 0 {
            return Err(Error::ClassByte { cla });
        }
        let mcla = mac_cla(cla)?;
        let (data, mac) = cmd
            .data
            .split_last_chunk::<8>()
            .ok_or(Error::MissingObject { tag: 0x8E })?;
        let lc_len = match (cmd.extended, cmd.data.is_empty()) {
            (_, true) => 0,
            (false, false) => 1,
            (true, false) => 3,
        };
        let lc = protected.get(4..4 + lc_len).unwrap_or(&[]);
        increment(&mut self.counter)?;
        let expected = self.c_mac(&[mcla, ins, p1, p2], lc, data);
        if !bool::from(expected[..8].ct_eq(mac)) {
            return Err(Error::MacMismatch);
        }
        self.chaining = expected;
        let plain_len = if self.level.c_decryption() && !data.is_empty() {
            if data.len() % 16 != 0 {
                return Err(Error::LengthMismatch { offset: 5 });
            }
            let dst = out
                .get_mut(7..7 + data.len())
                .ok_or(Error::BufferTooSmall {
                    needed: 7 + data.len(),
                })?;
            dst.copy_from_slice(data);
            let mut icv = self.icv(false)?;
            self.s_enc.decrypt_cbc(&icv, dst)?;
            icv.zeroize();
            unpad(dst, 16)?
        } else {
            out.get_mut(7..7 + data.len())
                .ok_or(Error::BufferTooSmall {
                    needed: 7 + data.len(),
                })?
                .copy_from_slice(data);
            data.len()
        };
        let extended = apdu::needs_extended(plain_len, cmd.ne);
        let total = apdu::encoded_len(plain_len, cmd.ne, extended);
        if out.len() < total {
            return Err(Error::BufferTooSmall { needed: total });
        }
        let head_len = apdu::encoded_len(plain_len, 0, extended) - plain_len;
        out.copy_within(7..7 + plain_len, head_len);
        apdu::write_head(out, [cla & !0x04, ins, p1, p2], plain_len, cmd.ne, extended)?;
        Ok(total)
    }

    /// Card: protects a response into `out` (R-ENCRYPTION of the data, then the R-MAC, then
    /// SW1 SW2); returns its length. Error statuses are sent bare, without data or R-MAC
    /// (Amendment D §6.2.5).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] (session unchanged), [`Error::WrongState`] when no command is
    /// pending, [`Error::SessionFailed`].
    pub fn wrap_response(&mut self, data: &[u8], sw: u16, out: &mut [u8]) -> Result<usize, Error> {
        self.check_role(Role::Card)?;
        if self.state != State::Pending {
            return Err(Error::WrongState);
        }
        let protect = protected_status(sw);
        let data = if protect || !self.level.r_mac() {
            data
        } else {
            &[]
        };
        let encrypt = protect && self.level.r_encryption() && !data.is_empty();
        let data_len = if encrypt {
            padded_len(data.len(), 16)
        } else {
            data.len()
        };
        let mac_len = if protect && self.level.r_mac() { 8 } else { 0 };
        let total = data_len + mac_len + 2;
        let out = out
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        let (body, rest) = out.split_at_mut(data_len);
        body.get_mut(..data.len())
            .ok_or(Error::BufferTooSmall { needed: total })?
            .copy_from_slice(data);
        if encrypt {
            pad(body, data.len(), 16)?;
            let mut icv = self.icv(true)?;
            self.s_enc.encrypt_cbc(&icv, body)?;
            icv.zeroize();
        }
        let (mac_field, trailer) = rest.split_at_mut(mac_len);
        if mac_len > 0 {
            let mac = self.r_mac(body, sw);
            mac_field.copy_from_slice(&mac);
        }
        trailer.copy_from_slice(&sw.to_be_bytes());
        self.state = State::Idle;
        Ok(total)
    }
}

/// SCP03 mutual authentication, host side (Amendment D §6.2, §7.1): send
/// [`initialize_update_command`](Self::initialize_update_command), pass the card's answer to
/// [`external_authenticate_command`](Self::external_authenticate_command) (which checks the card
/// cryptogram), send that, and pass its answer to [`finish`](Self::finish).
pub struct Scp03Host {
    keys: StaticKeys,
    key_version: u8,
    host_challenge: [u8; 8],
    derived: Option<(Derived, SecurityLevel, [u8; 16])>,
}

impl core::fmt::Debug for Scp03Host {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scp03Host")
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

/// The card's answer to INITIALIZE UPDATE (Amendment D §7.1.1.6, Table 7-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitializeUpdateResponse {
    /// Key diversification data (10 bytes).
    pub key_diversification: [u8; 10],
    /// Key version number of the key set used.
    pub key_version: u8,
    /// The `i` parameter (Amendment D §5.1): `10` pseudo-random challenge, `20` R-MAC
    /// supported, `40` R-ENCRYPTION supported.
    pub i_param: u8,
    /// The card challenge.
    pub card_challenge: [u8; 8],
    /// The card cryptogram.
    pub card_cryptogram: [u8; 8],
    /// The sequence counter, present with pseudo-random challenges.
    pub sequence_counter: Option<[u8; 3]>,
}

impl InitializeUpdateResponse {
    /// Parses the response data (without SW1 SW2): 29 or 32 bytes in S8 mode.
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for another length, an SCP identifier other than `03`
    /// or S16 mode.
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        if data.len() != 29 && data.len() != 32 {
            return Err(Error::UnsupportedProtocol);
        }
        let field = |range: core::ops::Range<usize>| data.get(range).unwrap_or(&[]);
        let scp = field(11..12).first().copied();
        let i_param = field(12..13).first().copied().unwrap_or(0);
        if scp != Some(0x03) || i_param & 0x01 != 0 {
            return Err(Error::UnsupportedProtocol);
        }
        let arr8 = |r| -> Result<[u8; 8], Error> {
            field(r).try_into().map_err(|_| Error::UnsupportedProtocol)
        };
        Ok(Self {
            key_diversification: field(0..10)
                .try_into()
                .map_err(|_| Error::UnsupportedProtocol)?,
            key_version: field(10..11).first().copied().unwrap_or(0),
            i_param,
            card_challenge: arr8(13..21)?,
            card_cryptogram: arr8(21..29)?,
            sequence_counter: field(29..32).try_into().ok(),
        })
    }
}

impl Scp03Host {
    /// Starts SCP03 with the card's static keys, the key version number to use (`00`: the
    /// card's default) and a fresh 8-byte host challenge from the caller's RNG.
    pub fn new(keys: StaticKeys, key_version: u8, host_challenge: [u8; 8]) -> Self {
        Self {
            keys,
            key_version,
            host_challenge,
            derived: None,
        }
    }

    /// INITIALIZE UPDATE (`80 50 kvn 00 08` host challenge `00`), 14 bytes.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is under 14 bytes.
    pub fn initialize_update_command(&self, out: &mut [u8]) -> Result<usize, Error> {
        let out: &mut [u8; 14] = out
            .get_mut(..14)
            .and_then(|o| o.try_into().ok())
            .ok_or(Error::BufferTooSmall { needed: 14 })?;
        out[..5].copy_from_slice(&[0x80, INS_INITIALIZE_UPDATE, self.key_version, 0x00, 0x08]);
        out[5..13].copy_from_slice(&self.host_challenge);
        out[13] = 0x00;
        Ok(14)
    }

    /// Checks the card's answer to INITIALIZE UPDATE (data ‖ SW1 SW2), derives the session
    /// keys, verifies the card cryptogram and writes EXTERNAL AUTHENTICATE (`84 82 level 00
    /// 10` host cryptogram ‖ C-MAC) for `level`; returns its length (21).
    ///
    /// # Errors
    /// [`Error::CardRefused`] for a status other than `9000`, [`Error::UnsupportedProtocol`],
    /// [`Error::AuthenticationFailed`] (wrong card cryptogram: wrong keys or not the card),
    /// [`Error::SecurityLevel`] (invalid, or R-MAC/R-ENCRYPTION the card does not offer),
    /// [`Error::BufferTooSmall`].
    pub fn external_authenticate_command(
        &mut self,
        response: &[u8],
        level: SecurityLevel,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let (data, sw) = response
            .split_last_chunk::<2>()
            .ok_or(Error::UnsupportedProtocol)?;
        let sw = u16::from_be_bytes(*sw);
        if sw != 0x9000 {
            return Err(Error::CardRefused { sw });
        }
        let answer = InitializeUpdateResponse::parse(data)?;
        if !level.is_valid()
            || (level.r_mac() && answer.i_param & 0x20 == 0)
            || (level.r_encryption() && answer.i_param & 0x40 == 0)
        {
            return Err(Error::SecurityLevel { level: level.0 });
        }
        let out: &mut [u8; 21] = out
            .get_mut(..21)
            .and_then(|o| o.try_into().ok())
            .ok_or(Error::BufferTooSmall { needed: 21 })?;
        let mut context = [0u8; 16];
        context[..8].copy_from_slice(&self.host_challenge);
        context[8..].copy_from_slice(&answer.card_challenge);
        let mut d = derive(&self.keys, &context)?;
        if !bool::from(d.card_cryptogram.ct_eq(&answer.card_cryptogram)) {
            return Err(Error::AuthenticationFailed);
        }
        let header = [0x84, INS_EXTERNAL_AUTHENTICATE, level.0, 0x00];
        let mac = d
            .s_mac
            .compute(&[&[0u8; 16], &header, &[0x10], &d.host_cryptogram]);
        out[..4].copy_from_slice(&header);
        out[4] = 0x10;
        out[5..13].copy_from_slice(&d.host_cryptogram);
        out[13..].copy_from_slice(&mac[..8]);
        self.derived = Some((d, level, mac));
        Ok(21)
    }

    /// Checks the card's answer to EXTERNAL AUTHENTICATE (SW1 SW2) and opens the channel.
    ///
    /// # Errors
    /// [`Error::CardRefused`] for a status other than `9000` (`6300`: the card rejected the
    /// host cryptogram); [`Error::WrongState`] before
    /// [`external_authenticate_command`](Self::external_authenticate_command).
    pub fn finish(self, response: &[u8]) -> Result<Scp03Session, Error> {
        let sw = match response {
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => return Err(Error::UnsupportedProtocol),
        };
        let mut this = self;
        let (d, level, chaining) = this.derived.take().ok_or(Error::WrongState)?;
        if sw != 0x9000 {
            return Err(Error::CardRefused { sw });
        }
        Ok(Scp03Session::new(d, level, Role::Host, chaining))
    }
}

/// SCP03 mutual authentication, card side: answer INITIALIZE UPDATE with
/// [`initialize_update`](Self::initialize_update), then check EXTERNAL AUTHENTICATE with
/// [`external_authenticate`](Self::external_authenticate), which opens the card's session.
pub struct Scp03Card {
    keys: StaticKeys,
    key_version: u8,
    key_diversification: [u8; 10],
    card_challenge: [u8; 8],
    i_param: u8,
    sequence_counter: Option<[u8; 3]>,
    derived: Option<Derived>,
}

impl core::fmt::Debug for Scp03Card {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scp03Card")
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

impl Scp03Card {
    /// A card-side handshake with the key set, its version number, the key diversification
    /// data and a fresh random card challenge. The card offers R-MAC and R-ENCRYPTION
    /// (`i` = `60`).
    pub fn new(
        keys: StaticKeys,
        key_version: u8,
        key_diversification: [u8; 10],
        card_challenge: [u8; 8],
    ) -> Self {
        Self {
            keys,
            key_version,
            key_diversification,
            card_challenge,
            i_param: 0x60,
            sequence_counter: None,
            derived: None,
        }
    }

    /// A card-side handshake with a pseudo-random challenge (`i` = `70`, Amendment D
    /// §6.2.2.1), derived from the sequence counter and the security domain's AID.
    ///
    /// # Errors
    /// [`Error::TooLong`] for an AID over 16 bytes.
    pub fn with_sequence_counter(
        keys: StaticKeys,
        key_version: u8,
        key_diversification: [u8; 10],
        sequence_counter: [u8; 3],
        aid: &[u8],
    ) -> Result<Self, Error> {
        let card_challenge = pseudo_random_challenge(&keys, sequence_counter, aid)?;
        Ok(Self {
            keys,
            key_version,
            key_diversification,
            card_challenge,
            i_param: 0x70,
            sequence_counter: Some(sequence_counter),
            derived: None,
        })
    }

    /// Processes INITIALIZE UPDATE (`80 50 kvn 00 08` host challenge (`00`)) and writes the
    /// answer (29 or 32 bytes) ‖ `9000` into `out`; returns its length.
    ///
    /// # Errors
    /// [`Error::MalformedCommand`]; [`Error::AuthenticationFailed`] for a key version this
    /// card does not have (answer `6A88`); [`Error::BufferTooSmall`].
    pub fn initialize_update(&mut self, command: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let cmd = parse_command(command)?;
        let [_, ins, kvn, _] = cmd.header;
        if ins != INS_INITIALIZE_UPDATE {
            return Err(Error::MalformedCommand { offset: 1 });
        }
        let host_challenge: [u8; 8] = cmd
            .data
            .try_into()
            .map_err(|_| Error::MalformedCommand { offset: 4 })?;
        if kvn != 0 && kvn != self.key_version {
            return Err(Error::AuthenticationFailed);
        }
        let len = if self.sequence_counter.is_some() {
            32
        } else {
            29
        };
        let out = out
            .get_mut(..len + 2)
            .ok_or(Error::BufferTooSmall { needed: len + 2 })?;
        let mut context = [0u8; 16];
        context[..8].copy_from_slice(&host_challenge);
        context[8..].copy_from_slice(&self.card_challenge);
        let d = derive(&self.keys, &context)?;
        let mut answer = [0u8; 34];
        answer[..10].copy_from_slice(&self.key_diversification);
        answer[10] = self.key_version;
        answer[11] = 0x03;
        answer[12] = self.i_param;
        answer[13..21].copy_from_slice(&self.card_challenge);
        answer[21..29].copy_from_slice(&d.card_cryptogram);
        if let Some(seq) = self.sequence_counter {
            answer[29..32].copy_from_slice(&seq);
        }
        if let Some(sw) = answer.get_mut(len..len + 2) {
            sw.copy_from_slice(&[0x90, 0x00]);
        }
        out.copy_from_slice(answer.get(..len + 2).unwrap_or(&[]));
        self.derived = Some(d);
        Ok(len + 2)
    }

    /// Processes EXTERNAL AUTHENTICATE (`84 82 level 00 10` host cryptogram ‖ C-MAC): verifies
    /// the C-MAC and the host cryptogram and the security level, and opens the card's session.
    /// Answer `9000` on success, `6300` on [`Error::AuthenticationFailed`].
    ///
    /// # Errors
    /// [`Error::WrongState`] before INITIALIZE UPDATE; [`Error::MalformedCommand`];
    /// [`Error::AuthenticationFailed`] (C-MAC or host cryptogram wrong);
    /// [`Error::SecurityLevel`].
    pub fn external_authenticate(&mut self, command: &[u8]) -> Result<Scp03Session, Error> {
        let mut d = self.derived.take().ok_or(Error::WrongState)?;
        let cmd = parse_command(command)?;
        let [cla, ins, level, p2] = cmd.header;
        if ins != INS_EXTERNAL_AUTHENTICATE || cmd.data.len() != 16 || p2 != 0 {
            return Err(Error::MalformedCommand { offset: 1 });
        }
        let (cryptogram, mac) = cmd.data.split_at(8);
        let full = d.s_mac.compute(&[
            &[0u8; 16],
            &[mac_cla(cla)?, ins, level, p2],
            &[0x10],
            cryptogram,
        ]);
        let ok = full[..8].ct_eq(mac) & d.host_cryptogram.ct_eq(cryptogram);
        if !bool::from(ok) {
            return Err(Error::AuthenticationFailed);
        }
        let level = SecurityLevel(level);
        if !level.is_valid()
            || (level.r_mac() && self.i_param & 0x20 == 0)
            || (level.r_encryption() && self.i_param & 0x40 == 0)
        {
            return Err(Error::SecurityLevel { level: level.0 });
        }
        Ok(Scp03Session::new(d, level, Role::Card, full))
    }
}
