//! [`Scp03Session`]: the open SCP03 channel (GPC Amendment D §6.2.4–§6.2.7), sans-IO.

use zeroize::Zeroize;

use cardwire_apdu::{CommandRepr, LengthForm, StatusWord};

use super::SecurityLevel;
use super::kdf::Derived;
use crate::Error;
use crate::frame::{self, Frame};
use crate::padding::{increment, pad, padded_len, unpad};
use crate::primitives::{AesCmac, AesKey, mac_matches};
use crate::session::Role;

/// The class byte for the MAC: logical channel 0, b4 = 0, b3 = 1 (Amendment D §6.2.4).
pub(super) fn mac_cla(cla: u8) -> Result<u8, Error> {
    match cla {
        0x00..=0x3F | 0x80..=0xBF => Ok((cla & 0xF0) | 0x04),
        _ => Err(Error::ClassByte { cla }),
    }
}

/// Whether a status word gets an R-MAC (and R-ENCRYPTION): `9000`, `62xx`, `63xx`.
fn protected_status(sw: StatusWord) -> bool {
    sw == StatusWord::SUCCESS || matches!(sw.0 >> 8, 0x62 | 0x63)
}

/// Whether a status word says the card refused a command's secure messaging and closed the
/// channel: `6987` (SM data objects missing) or `6988` (SM data objects incorrect, a C-MAC that
/// does not verify), ISO/IEC 7816-4 Table 6. Such a status comes bare, never with an R-MAC.
fn closes_channel(sw: StatusWord) -> bool {
    sw == StatusWord::SM_DATA_OBJECTS_MISSING || sw == StatusWord::SM_DATA_OBJECTS_INCORRECT
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
    pub(super) fn new(d: Derived, level: SecurityLevel, role: Role, chaining: [u8; 16]) -> Self {
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

    /// C-MAC over chaining value ‖ header ‖ Lc ‖ data (Amendment D §6.2.4), the header with
    /// the MAC's class byte `mcla`. `rest` is INS P1 P2 ‖ Lc ‖ data, contiguous as they stand
    /// in the APDU, so the MAC gets two calls (chaining value ‖ class byte, then the rest)
    /// instead of one per part.
    fn c_mac(&mut self, mcla: u8, rest: &[u8]) -> [u8; 16] {
        let mut first = [mcla; 17];
        if let Some(chaining) = first.first_chunk_mut::<16>() {
            *chaining = self.chaining;
        }
        let mac = self.s_mac.compute(&[&first, rest]);
        first.zeroize();
        mac
    }

    /// R-MAC over chaining value ‖ data ‖ SW1 SW2 (Amendment D §6.2.5), given as `data_sw`:
    /// the data with SW1 SW2 already after it (both sides arrange that, so the MAC gets one
    /// call for them).
    fn r_mac_contiguous(&mut self, data_sw: &[u8]) -> [u8; 8] {
        let chaining = self.chaining;
        let mut full = self.s_rmac.compute(&[&chaining, data_sw]);
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
        let cmd = frame::parse(plain)?;
        let form = if cmd.case().is_extended() {
            LengthForm::Extended
        } else {
            LengthForm::Auto
        };
        self.wrap(&cmd.repr(), form, out)
    }

    /// [`wrap_command`](Self::wrap_command) for a command given as a [`CommandRepr`].
    /// [`LengthForm::Extended`] gives the protected command extended length fields (as when
    /// the plain command came extended); otherwise it uses them only when it needs them.
    ///
    /// # Errors
    /// As [`wrap_command`](Self::wrap_command).
    pub fn wrap(
        &mut self,
        command: &CommandRepr<'_>,
        form: LengthForm,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.check_role(Role::Host)?;
        if command.ne > 65_536 {
            return Err(Error::MalformedCommand { offset: 4 });
        }
        let forced = form == LengthForm::Extended;
        if !self.level.c_mac() {
            let form = if forced { form } else { LengthForm::Auto };
            let n = command
                .encode_with(form, out)
                .map_err(|e| match e {
                    cardwire_apdu::Error::BufferTooSmall { needed } => {
                        Error::BufferTooSmall { needed }
                    }
                    _ => Error::TooLong,
                })?
                .len();
            self.state = State::Pending;
            return Ok(n);
        }
        let (cla, ins, p1, p2) = (command.cla.0, command.ins.0, command.p1, command.p2);
        let mcla = mac_cla(cla)?;
        let encrypt = self.level.c_decryption() && !command.data.is_empty();
        let body_len = if encrypt {
            padded_len(command.data.len(), 16)
        } else {
            command.data.len()
        } + 8;
        if body_len > 65_535 {
            return Err(Error::TooLong);
        }
        let extended = forced || body_len > 255 || command.ne > 256;
        let ne_out = match (command.ne, extended) {
            (0, _) => 0,
            (_, false) => 256,
            (_, true) => 65_536,
        };
        // The protected command always has data (the C-MAC): Lc is 1 or 3 bytes.
        let data_at = if extended { 7 } else { 5 };
        let upper = data_at + body_len + 2;
        if out.len() < data_at + body_len {
            return Err(Error::BufferTooSmall { needed: upper });
        }
        let framing = Frame::new([cla | 0x04, ins, p1, p2], body_len, ne_out, extended)?;
        let total = framing.total(body_len);
        if out.len() < total {
            return Err(Error::BufferTooSmall { needed: total });
        }
        increment(&mut self.counter)?;
        let data_len = body_len - 8;
        let data = out
            .get_mut(data_at..data_at + data_len)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        data.get_mut(..command.data.len())
            .ok_or(Error::BufferTooSmall { needed: total })?
            .copy_from_slice(command.data);
        if encrypt {
            pad(data, command.data.len(), 16)?;
            let mut icv = self.icv(false)?;
            self.s_enc.encrypt_cbc(&icv, data)?;
            icv.zeroize();
        }
        // The header and Lc go in front of the data first (the data is already where the
        // frame puts it), so that INS P1 P2 ‖ Lc ‖ data is the C-MAC's input as it stands.
        let total = framing.place(out, data_at, body_len)?;
        let mac = self.c_mac(mcla, out.get(1..data_at + data_len).unwrap_or(&[]));
        self.chaining = mac;
        if let (Some(field), Some(mac)) = (
            out.get_mut(data_at + data_len..)
                .and_then(|f| f.first_chunk_mut::<8>()),
            mac.first_chunk::<8>(),
        ) {
            *field = *mac;
        }
        self.state = State::Pending;
        Ok(total)
    }

    /// Host: checks and decrypts the response (data ‖ SW1 SW2) to the last wrapped command into
    /// `out` as a plain response; returns its length. `out` must hold the protected response.
    ///
    /// # Errors
    /// [`Error::MacMismatch`] (R-MAC), [`Error::BadPadding`], [`Error::LengthMismatch`] (data
    /// too short for an R-MAC, an error status with data), [`Error::UnprotectedStatus`] (the
    /// card answered `6987` or `6988`: it refused the command's secure messaging and closed
    /// the channel, at any security level), [`Error::BufferTooSmall`]; each fails the session.
    /// [`Error::WrongState`] when no command is pending.
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
    /// the plain data and SW1 SW2 are written to its start. Returns the plain length. The
    /// buffer is working space: after an error its bytes are unspecified (never decrypted
    /// data whose R-MAC did not verify).
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
            .split_last_chunk_mut::<2>()
            .ok_or(Error::LengthMismatch { offset: 0 })?;
        let trailer = *trailer;
        let sw = StatusWord(u16::from_be_bytes(trailer));
        if closes_channel(sw) {
            // The card refused the command's secure messaging and closed its side of the
            // channel: the host's side closes too, whatever the level.
            return Err(Error::UnprotectedStatus { sw });
        }
        let data_len = if self.level.r_mac() && protected_status(sw) {
            let (data, mac) = body
                .split_last_chunk_mut::<8>()
                .ok_or(Error::LengthMismatch { offset: 0 })?;
            // The received R-MAC is kept aside and SW1 SW2 written in its place, so that the
            // R-MAC's input (data ‖ SW1 SW2) is contiguous: one MAC call instead of two. The
            // buffer is this call's own (its answer is rewritten in place either way).
            let received = *mac;
            let data_len = data.len();
            if let Some(after) = mac.first_chunk_mut::<2>() {
                *after = trailer;
            }
            let expected = self.r_mac_contiguous(buf.get(..data_len + 2).unwrap_or(&[]));
            if !mac_matches(&expected, &received) {
                return Err(Error::MacMismatch);
            }
            data_len
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
        let cmd = frame::parse(protected)?;
        if !self.level.c_mac() {
            out.get_mut(..protected.len())
                .ok_or(Error::BufferTooSmall {
                    needed: protected.len(),
                })?
                .copy_from_slice(protected);
            return Ok(protected.len());
        }
        let (cla, ins, p1, p2) = (cmd.cla().0, cmd.ins().0, cmd.p1(), cmd.p2());
        let ne = cmd.ne();
        if cla & 0x04 == 0 {
            return Err(Error::ClassByte { cla });
        }
        let mcla = mac_cla(cla)?;
        let (data, mac) = cmd
            .data()
            .split_last_chunk::<8>()
            .ok_or(Error::MissingObject { tag: 0x8E })?;
        let case = cmd.case();
        let lc_len = match (case.has_data(), case.is_extended()) {
            (false, _) => 0,
            (true, false) => 1,
            (true, true) => 3,
        };
        increment(&mut self.counter)?;
        // INS P1 P2 ‖ Lc ‖ data as received; the class byte of the MAC is `mcla`.
        let expected = self.c_mac(
            mcla,
            protected.get(1..4 + lc_len + data.len()).unwrap_or(&[]),
        );
        let head: [u8; 8] = expected.first_chunk().copied().unwrap_or_default();
        if !mac_matches(&head, mac) {
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
            // Straight from the received APDU into the output: no copy first.
            let mut icv = self.icv(false)?;
            let decrypted = self.s_enc.decrypt_cbc_to(&icv, data, dst);
            icv.zeroize();
            decrypted?;
            unpad(dst, 16)?
        } else {
            out.get_mut(7..7 + data.len())
                .ok_or(Error::BufferTooSmall {
                    needed: 7 + data.len(),
                })?
                .copy_from_slice(data);
            data.len()
        };
        // The plain command is short unless its lengths need the extended form.
        let extended = plain_len > 255 || ne > 256;
        let framing = Frame::new([cla & !0x04, ins, p1, p2], plain_len, ne, extended)?;
        framing.place(out, 7, plain_len)
    }

    /// Card: protects a response into `out` (R-ENCRYPTION of the data, then the R-MAC, then
    /// SW1 SW2); returns its length. Error statuses are sent bare, without data or R-MAC
    /// (Amendment D §6.2.5).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] (session unchanged), [`Error::WrongState`] when no command is
    /// pending, [`Error::SessionFailed`].
    pub fn wrap_response(
        &mut self,
        data: &[u8],
        sw: StatusWord,
        out: &mut [u8],
    ) -> Result<usize, Error> {
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
        let sw_bytes = sw.0.to_be_bytes();
        if mac_len > 0 {
            // SW1 SW2 right after the data for the R-MAC's input (one call), then the R-MAC
            // over them and the trailer.
            if let Some(after) = rest.first_chunk_mut::<2>() {
                *after = sw_bytes;
            }
            let mac = self.r_mac_contiguous(out.get(..data_len + 2).unwrap_or(&[]));
            if let Some(field) = out
                .get_mut(data_len..)
                .and_then(|f| f.first_chunk_mut::<8>())
            {
                *field = mac;
            }
        }
        if let Some(trailer) = out.last_chunk_mut::<2>() {
            *trailer = sw_bytes;
        }
        self.state = State::Idle;
        Ok(total)
    }
}
