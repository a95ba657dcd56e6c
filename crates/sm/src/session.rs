//! [`SmSession`]: the ISO/IEC 7816-4 §10 secure messaging engine, host and card side.
//!
//! # What is wrapped
//!
//! Every command APDU the caller gives is wrapped, including each APDU of a command chain
//! (the chaining bit of CLA is kept and covered by the MAC; each link has its own SSC step and
//! MAC, as ICAO 9303-11 §9.8 and BSI TR-03110-3 do it). GET RESPONSE is **not** wrapped: it
//! belongs to the transport below. When the card answers a protected command with `61xx`, the
//! transport fetches the rest with plain GET RESPONSE and the concatenated protected response
//! is unwrapped once. Likewise, the protected APDU always carries Le = `00` (or `0000`), the
//! true Ne travels inside DO `97`, so `6Cxx` does not arise under SM; a card that answers with
//! any bare status word gets [`Error::UnprotectedStatus`].
//!
//! # Failure
//!
//! Any error about bytes from the other side (a MAC that does not verify, a malformed, missing,
//! duplicated or misordered data object, bad padding, disagreeing lengths, a bare status word)
//! fails the session for good: every later call returns [`Error::SessionFailed`], and no
//! unauthenticated data is ever returned. The send sequence counter has already moved on, so a
//! replayed or reordered message cannot verify either. The only way forward is a new
//! authentication (BAC, PACE or SCP03), as ICAO 9303-11 §9.8.4 requires of the chip too.

use zeroize::Zeroize;

use cardwire_apdu::{CommandRepr, Ins, LengthForm, StatusWord};

use crate::Error;
use crate::frame::{self, Frame};
use crate::objects::{
    self, Direction, TAG_CRYPTOGRAM, TAG_CRYPTOGRAM_PI, TAG_LE, TAG_MAC, TAG_STATUS,
};
use crate::padding::{increment, pad, padded_len, unpad};
use crate::primitives::mac_matches;
use crate::suite::CipherSuite;

/// Which end of the channel a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The terminal: wraps commands, unwraps responses.
    Host,
    /// The card: unwraps commands, wraps responses.
    Card,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Host: ready to wrap a command. Card: ready to unwrap a command.
    Idle,
    /// A command passed; its response is next. `odd_ins` selects DO `85` over `87`.
    Pending {
        odd_ins: bool,
    },
    Failed,
}

impl Error {
    /// The status word a card should answer, unprotected, when unwrapping a command failed with
    /// this error (ISO/IEC 7816-4 Table 6; ICAO 9303-11 §9.8.4): `6987` for missing objects,
    /// `6988` for everything else.
    pub fn card_status(&self) -> StatusWord {
        match self {
            Error::MissingObject { .. } | Error::ClassByte { .. } => {
                StatusWord::SM_DATA_OBJECTS_MISSING
            }
            _ => StatusWord::SM_DATA_OBJECTS_INCORRECT,
        }
    }
}

/// The secure messaging engine (ISO/IEC 7816-4 §10, as profiled by ICAO 9303-11 §9.8): wraps
/// and unwraps APDUs with a [`CipherSuite`] and a send sequence counter, sans-IO.
///
/// Driving order, host: [`wrap_command`](Self::wrap_command) → send → receive (with plain GET
/// RESPONSE below if needed) → [`unwrap_response`](Self::unwrap_response), repeat. Card:
/// [`unwrap_command`](Self::unwrap_command) → process → [`wrap_response`](Self::wrap_response).
/// The SSC is incremented before every wrap and every unwrap, on both sides.
///
/// ```
/// use cardwire_apdu::StatusWord;
/// use cardwire_sm::{AesSuite, SmSession};
/// let keys = ([0x11; 16], [0x22; 16]);
/// let mut host = SmSession::host(AesSuite::new(&keys.0, &keys.1)?, &[0; 16])?;
/// let mut card = SmSession::card(AesSuite::new(&keys.0, &keys.1)?, &[0; 16])?;
///
/// let (mut wire, mut plain) = ([0u8; 300], [0u8; 300]);
/// // SELECT EF.COM, protected.
/// let n = host.wrap_command(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E], &mut wire)?;
/// let m = card.unwrap_command(&wire[..n], &mut plain)?;
/// assert_eq!(&plain[..m], &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E]);
/// let n = card.wrap_response(&[], StatusWord::SUCCESS, &mut wire)?;
/// let m = host.unwrap_response(&wire[..n], &mut plain)?;
/// assert_eq!(&plain[..m], &[0x90, 0x00]);
/// # Ok::<(), cardwire_sm::Error>(())
/// ```
pub struct SmSession<S: CipherSuite> {
    suite: S,
    /// The first two MAC input blocks: the send sequence counter (its first
    /// [`CipherSuite::BLOCK_SIZE`] bytes, where it is kept and counted), then the padded
    /// command header (four bytes, `80`, zeros). The MAC reads both from here in one call, so
    /// the counter is never copied.
    mac_head: [u8; 32],
    role: Role,
    state: State,
    status_policy: StatusPolicy,
    status_authenticated: bool,
}

/// What a host accepts when a protected response carries no DO'99' (processing status).
///
/// ICAO 9303-11 §9.8.6 and ISO/IEC 7816-4 §10.2.3 put the status word in DO'99', covered by
/// the MAC; [`StatusPolicy::Strict`], the default, refuses a response without it
/// ([`Error::MissingObject`]). Some emulators omit it (vsmartcard's ePass does):
/// [`StatusPolicy::AllowMissingStatus`] accepts such a response when the MAC verifies over
/// the data objects that are present, and takes the status word from the unprotected trailer,
/// so it is **not authenticated**: [`SmSession::last_status_authenticated`] says so, and a
/// caller must not base a security decision on it. Opt in only for such emulators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusPolicy {
    /// DO'99' is required in every protected response (the default).
    #[default]
    Strict,
    /// A response without DO'99' is accepted if its MAC verifies; its status word is then
    /// unauthenticated.
    AllowMissingStatus,
}

impl<S: CipherSuite> core::fmt::Debug for SmSession<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmSession")
            .field("role", &self.role)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<S: CipherSuite> Drop for SmSession<S> {
    fn drop(&mut self) {
        self.mac_head.zeroize();
    }
}

/// The class byte of a protected command: secure messaging with an authenticated header
/// (ISO/IEC 7816-4 §5.4.1): b4 b3 = `11` in the first interindustry class (and, by the same
/// bits, in proprietary classes), b6 = `1` in the further interindustry class.
fn protected_cla(cla: u8) -> Result<u8, Error> {
    match cla {
        0x40..=0x7F => Ok(cla | 0x20),
        // `FF` is invalid, and `F3`/`F7`/`FB` would become `FF` with the SM bits.
        _ if cla | 0x0C == 0xFF => Err(Error::ClassByte { cla }),
        _ => Ok(cla | 0x0C),
    }
}

/// Checks a received class byte announces SM with an authenticated header; returns the plain
/// class byte.
fn plain_cla(cla: u8) -> Result<u8, Error> {
    match cla {
        0xFF => Err(Error::ClassByte { cla }),
        0x40..=0x7F if cla & 0x20 != 0 => Ok(cla & !0x20),
        0x40..=0x7F => Err(Error::ClassByte { cla }),
        _ if cla & 0x0C == 0x0C => Ok(cla & !0x0C),
        _ => Err(Error::ClassByte { cla }),
    }
}

/// Size of the DO `87`/`85` for `data_len` plain bytes (0 when there is no data).
fn cryptogram_do_len(data_len: usize, block: usize, with_indicator: bool) -> usize {
    if data_len == 0 {
        return 0;
    }
    let value = padded_len(data_len, block) + usize::from(with_indicator);
    1 + objects::len_size(value) + value
}

/// The DO `97` value for Ne: one byte up to 256 (`00` = 256), two bytes above (`0000` = 65 536).
fn le_value(ne: u32) -> ([u8; 2], usize) {
    match ne {
        0 => ([0, 0], 0),
        1..=256 => ([(ne & 0xFF) as u8, 0], 1),
        _ => ([((ne >> 8) & 0xFF) as u8, (ne & 0xFF) as u8], 2),
    }
}

impl<S: CipherSuite> SmSession<S> {
    /// A host-side session with the suite's session keys and the initial send sequence counter
    /// (as established by BAC, PACE or another key agreement).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `ssc` has [`CipherSuite::BLOCK_SIZE`] bytes.
    pub fn host(suite: S, ssc: &[u8]) -> Result<Self, Error> {
        Self::new(suite, ssc, Role::Host)
    }

    /// A card-side session, the twin of [`SmSession::host`].
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `ssc` has [`CipherSuite::BLOCK_SIZE`] bytes.
    pub fn card(suite: S, ssc: &[u8]) -> Result<Self, Error> {
        Self::new(suite, ssc, Role::Card)
    }

    fn new(suite: S, ssc: &[u8], role: Role) -> Result<Self, Error> {
        if ssc.len() != S::BLOCK_SIZE || S::BLOCK_SIZE > 16 || S::BLOCK_SIZE == 0 {
            return Err(Error::LengthMismatch { offset: 0 });
        }
        let mut mac_head = [0u8; 32];
        mac_head
            .get_mut(..ssc.len())
            .ok_or(Error::LengthMismatch { offset: 0 })?
            .copy_from_slice(ssc);
        // The header's padding (ISO/IEC 9797-1 method 2) after its four bytes, set once.
        *mac_head
            .get_mut(S::BLOCK_SIZE + 4)
            .ok_or(Error::LengthMismatch { offset: 0 })? = 0x80;
        Ok(Self {
            suite,
            mac_head,
            role,
            state: State::Idle,
            status_policy: StatusPolicy::Strict,
            status_authenticated: true,
        })
    }

    /// Sets what this (host) session accepts when a protected response has no DO'99' (see
    /// [`StatusPolicy`]; strict by default).
    pub fn set_status_policy(&mut self, policy: StatusPolicy) {
        self.status_policy = policy;
    }

    /// The policy for responses without DO'99'.
    pub fn status_policy(&self) -> StatusPolicy {
        self.status_policy
    }

    /// Whether the status word of the last unwrapped response was covered by the MAC (always
    /// true under [`StatusPolicy::Strict`]; false when [`StatusPolicy::AllowMissingStatus`]
    /// accepted a response without DO'99').
    pub fn last_status_authenticated(&self) -> bool {
        self.status_authenticated
    }

    /// Which end of the channel this session is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the session failed and must be re-established.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// The current send sequence counter ([`CipherSuite::BLOCK_SIZE`] bytes).
    pub fn ssc(&self) -> &[u8] {
        self.mac_head.get(..S::BLOCK_SIZE).unwrap_or(&[])
    }

    /// The number of data bytes of the protected command for a plain command with `data_len`
    /// data bytes, expecting `ne` response bytes (0: none), with instruction `ins`.
    pub fn protected_command_data_len(data_len: usize, ne: u32, ins: Ins) -> usize {
        let le = le_value(ne).1;
        cryptogram_do_len(data_len, S::BLOCK_SIZE, !ins.is_odd())
            + if le > 0 { 2 + le } else { 0 }
            + 10
    }

    /// The size of a protected response for `data_len` plain data bytes (all data objects and
    /// the trailing status word).
    pub fn protected_response_len(data_len: usize, odd_ins: bool) -> usize {
        cryptogram_do_len(data_len, S::BLOCK_SIZE, !odd_ins) + 4 + 10 + 2
    }

    /// The largest plain data field whose protected command still has at most `limit` data
    /// bytes (255 for short APDUs): the chunk size for command chaining under SM.
    pub fn max_plain_data_len(limit: usize, ne: u32, ins: Ins) -> usize {
        let overhead = Self::protected_command_data_len(1, ne, ins).saturating_sub(1);
        let mut n = limit.saturating_sub(overhead);
        while n > 0 && Self::protected_command_data_len(n, ne, ins) > limit {
            n -= 1;
        }
        n
    }

    fn ssc_step(&mut self) -> Result<(), Error> {
        let ssc = self
            .mac_head
            .get_mut(..S::BLOCK_SIZE)
            .ok_or(Error::LengthMismatch { offset: 0 })?;
        increment(ssc)
    }

    fn check(&self, role: Role, idle: bool) -> Result<Option<bool>, Error> {
        if self.state == State::Failed {
            return Err(Error::SessionFailed);
        }
        if self.role != role {
            return Err(Error::WrongState);
        }
        match (self.state, idle) {
            (State::Idle, true) => Ok(None),
            (State::Pending { odd_ins }, false) => Ok(Some(odd_ins)),
            _ => Err(Error::WrongState),
        }
    }

    /// Computes the MAC over SSC ‖ `header` (padded, if any) ‖ `objects` ‖ padding.
    fn mac(&mut self, header: Option<&[u8; 4]>, objects: &[u8]) -> [u8; 8] {
        const PAD: [u8; 16] = [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let pad = PAD
            .get(..padded_len(objects.len(), S::BLOCK_SIZE) - objects.len())
            .unwrap_or(&[]);
        self.mac_begin(header);
        self.suite.mac_update(objects);
        self.suite.mac_update(pad);
        self.suite.mac_finish()
    }

    /// [`Self::mac`] over the first `len` bytes of `buf`, padded in place when `buf` has room
    /// for the padding (the bytes after the objects are the sender's own output buffer, about
    /// to be overwritten by DO `8E`), so that the suite gets the objects and their padding in
    /// one call; otherwise as [`Self::mac`].
    fn mac_padding_in_place(
        &mut self,
        header: Option<&[u8; 4]>,
        buf: &mut [u8],
        len: usize,
    ) -> [u8; 8] {
        let padded = padded_len(len, S::BLOCK_SIZE);
        if buf.len() >= padded && pad(buf, len, S::BLOCK_SIZE).is_ok() {
            self.mac_begin(header);
            self.suite.mac_update(buf.get(..padded).unwrap_or(&[]));
            return self.suite.mac_finish();
        }
        self.mac(header, buf.get(..len).unwrap_or(&[]))
    }

    /// Starts a MAC with SSC ‖ `header` (padded, if any).
    fn mac_begin(&mut self, header: Option<&[u8; 4]>) {
        let block = S::BLOCK_SIZE;
        // SSC, then the header and its padding (one block each): one call over `mac_head`,
        // whose header padding was written once at construction.
        let first_len = match header {
            Some(h) => {
                if let Some(dst) = self
                    .mac_head
                    .get_mut(block..)
                    .and_then(|d| d.first_chunk_mut::<4>())
                {
                    *dst = *h;
                }
                2 * block
            }
            None => block,
        };
        self.suite.mac_begin();
        self.suite
            .mac_update(self.mac_head.get(..first_len).unwrap_or(&[]));
    }

    /// Writes DO `87`/`85` with the encrypted, padded `data` at the start of `out`; returns its
    /// length.
    fn write_cryptogram(
        &mut self,
        data: &[u8],
        with_indicator: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if data.is_empty() {
            return Ok(0);
        }
        let block = S::BLOCK_SIZE;
        let padded = padded_len(data.len(), block);
        let value_len = padded + usize::from(with_indicator);
        let tag = if with_indicator {
            TAG_CRYPTOGRAM_PI
        } else {
            TAG_CRYPTOGRAM
        };
        let total = cryptogram_do_len(data.len(), block, with_indicator);
        let out = out
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        let head = objects::write_header(out, tag, value_len)?;
        let mut at = head;
        if with_indicator {
            if let Some(b) = out.get_mut(at) {
                *b = 0x01;
            }
            at += 1;
        }
        let body = out
            .get_mut(at..)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        body.get_mut(..data.len())
            .ok_or(Error::BufferTooSmall { needed: total })?
            .copy_from_slice(data);
        pad(body, data.len(), block)?;
        self.suite
            .encrypt(self.mac_head.get(..block).unwrap_or(&[]), body)?;
        Ok(total)
    }

    /// Decrypts a DO `87`/`85` value into `out`; returns the plain length.
    fn read_cryptogram(
        &mut self,
        tag: u8,
        value: &[u8],
        offset: usize,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let block = S::BLOCK_SIZE;
        let cryptogram = if tag == TAG_CRYPTOGRAM_PI {
            match value.split_first() {
                Some((0x01, rest)) => rest,
                _ => return Err(Error::BadPadding),
            }
        } else {
            value
        };
        if cryptogram.is_empty() || cryptogram.len() % block != 0 {
            return Err(Error::LengthMismatch { offset });
        }
        let dst = out
            .get_mut(..cryptogram.len())
            .ok_or(Error::BufferTooSmall {
                needed: cryptogram.len(),
            })?;
        self.decrypt_to(cryptogram, dst)
    }

    fn fail<T>(&mut self, error: Error) -> Result<T, Error> {
        // Buffer-size errors are the caller's, not the peer's: only they leave the session
        // usable, and only before the counter moved.
        self.state = State::Failed;
        Err(error)
    }

    /// Host: protects a plain command APDU (any case, short or extended) into `out` and returns
    /// the protected APDU's length (ISO/IEC 7816-4 §10.2; ICAO 9303-11 §9.8.5).
    ///
    /// CLA gets the SM bits; command data goes into DO `87` (padding indicator `01`), or DO
    /// `85` for an odd INS; Ne into DO `97`; the MAC over SSC ‖ padded header ‖ objects into DO
    /// `8E`. The protected APDU has Le = `00`, or extended lengths when its data exceeds 255
    /// bytes, Ne exceeds 256 or the plain command was extended.
    /// `out` past the returned length may hold up to a block of MAC padding (`80 00…`).
    ///
    /// # Errors
    /// [`Error::MalformedCommand`], [`Error::ClassByte`] (CLA `FF`), [`Error::BufferTooSmall`]
    /// (the session stays usable), [`Error::TooLong`], [`Error::WrongState`] (a response is
    /// pending), [`Error::SessionFailed`], [`Error::CounterExhausted`].
    pub fn wrap_command(&mut self, plain: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.check(Role::Host, true)?;
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
        self.check(Role::Host, true)?;
        if command.ne > 65_536 {
            return Err(Error::MalformedCommand { offset: 4 });
        }
        let (cla, ins, p1, p2) = (command.cla.0, command.ins.0, command.p1, command.p2);
        let header = [protected_cla(cla)?, ins, p1, p2];
        let odd_ins = ins & 1 == 1;
        let (le, le_len) = le_value(command.ne);
        let body_len =
            Self::protected_command_data_len(command.data.len(), command.ne, command.ins);
        if body_len > 65_535 {
            return Err(Error::TooLong);
        }
        let extended = form == LengthForm::Extended || body_len > 255 || command.ne > 256;
        let ne_out = if extended { 65_536 } else { 256 };
        // A protected command is always case 4: Lc of 1 or 3 bytes, Le of 1 or 2.
        let data_at = if extended { 7 } else { 5 };
        let total = data_at + body_len + if extended { 2 } else { 1 };
        let framing = Frame::new(header, body_len, ne_out, extended)?;
        if out.len() < total {
            return Err(Error::BufferTooSmall { needed: total });
        }
        self.ssc_step()?;
        // The data field, and the rest of `out` after it (room to pad the objects for the MAC).
        let region = out
            .get_mut(data_at..)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        let body = region
            .get_mut(..body_len)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        let mut used = self.write_cryptogram(command.data, !odd_ins, body)?;
        if le_len > 0 {
            let dst = body
                .get_mut(used..used + 2 + le_len)
                .ok_or(Error::BufferTooSmall { needed: total })?;
            objects::write_header(dst, TAG_LE, le_len)?;
            if let (Some(d), Some(s)) = (dst.get_mut(2..), le.get(..le_len)) {
                d.copy_from_slice(s);
            }
            used += 2 + le_len;
        }
        let mac = self.mac_padding_in_place(Some(&header), region, used);
        let [m0, m1, m2, m3, m4, m5, m6, m7] = mac;
        *region
            .get_mut(used..)
            .and_then(|d| d.first_chunk_mut::<10>())
            .ok_or(Error::BufferTooSmall { needed: total })? =
            [TAG_MAC, 8, m0, m1, m2, m3, m4, m5, m6, m7];
        let total = framing.place(out, data_at, body_len)?;
        self.state = State::Pending { odd_ins };
        Ok(total)
    }

    /// Host: verifies and decrypts a protected response (data objects and SW1 SW2, after any
    /// GET RESPONSE reassembly) into `out` as a plain response: data ‖ SW1 SW2 from DO `99`.
    /// Returns the plain response's length.
    ///
    /// The MAC is checked in constant time before anything is decrypted.
    ///
    /// # Errors
    /// [`Error::UnprotectedStatus`] (a bare status word), [`Error::MacMismatch`], the object
    /// errors of the module docs, [`Error::BadPadding`], [`Error::LengthMismatch`] (including a
    /// DO `99` that is not 2 bytes or disagrees with SW1 SW2), [`Error::BufferTooSmall`]; each
    /// of these fails the session. [`Error::WrongState`] when no command is pending.
    pub fn unwrap_response(&mut self, response: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let odd_ins = self.check(Role::Host, false)?.unwrap_or(false);
        let _ = odd_ins;
        match self.unwrap_response_inner(response, out) {
            Ok(n) => {
                self.state = State::Idle;
                Ok(n)
            }
            Err(e) => self.fail(e),
        }
    }

    /// Checks a protected response: steps the SSC, parses the objects, verifies the MAC and
    /// DO `99`. Returns the cryptogram's tag and byte range in `response` (after the padding
    /// indicator) and the status word.
    fn verify_response(
        &mut self,
        response: &[u8],
    ) -> Result<(Option<core::ops::Range<usize>>, StatusWord), Error> {
        let (body, trailer) = response
            .split_last_chunk::<2>()
            .ok_or(Error::MalformedObject { offset: 0 })?;
        let sw = StatusWord(u16::from_be_bytes(*trailer));
        if body.is_empty() {
            return Err(Error::UnprotectedStatus { sw });
        }
        self.ssc_step()?;
        let lenient = self.status_policy == StatusPolicy::AllowMissingStatus;
        let objs = objects::parse_with(body, 0, Direction::Response, !lenient)?;
        let expected = self.mac(None, objs.authenticated);
        if !mac_matches(&expected, objs.mac.value) {
            return Err(Error::MacMismatch);
        }
        self.status_authenticated = objs.middle.is_some();
        let status_sw = match objs.middle {
            Some(status) => match status.value {
                [a, b] => StatusWord(u16::from_be_bytes([*a, *b])),
                _ => {
                    return Err(Error::LengthMismatch {
                        offset: status.offset + 1,
                    });
                }
            },
            // Only under AllowMissingStatus (parse_with refuses it otherwise): the trailer's
            // status word, unauthenticated.
            None if lenient => sw,
            None => return Err(Error::MissingObject { tag: TAG_STATUS }),
        };
        if status_sw != sw {
            return Err(Error::LengthMismatch { offset: body.len() });
        }
        let range = match objs.cryptogram {
            None => None,
            Some(c) => {
                let value_end = c.value_at + c.value.len();
                let mut start = c.value_at;
                if c.tag == TAG_CRYPTOGRAM_PI {
                    match c.value.first() {
                        Some(0x01) => start += 1,
                        _ => return Err(Error::BadPadding),
                    }
                }
                let len = value_end - start;
                if len == 0 || len % S::BLOCK_SIZE != 0 {
                    return Err(Error::LengthMismatch { offset: c.offset });
                }
                Some(start..value_end)
            }
        };
        Ok((range, status_sw))
    }

    /// Decrypts and unpads `buf` in place; returns the plain length.
    fn decrypt_in_place(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let block = S::BLOCK_SIZE;
        self.suite
            .decrypt(self.mac_head.get(..block).unwrap_or(&[]), buf)?;
        match unpad(buf, block) {
            Ok(n) => Ok(n),
            Err(e) => {
                buf.zeroize();
                Err(e)
            }
        }
    }

    /// Decrypts `src` into `dst` (the same length) and unpads it there; returns the plain
    /// length. `dst` is wiped when the padding is bad.
    fn decrypt_to(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize, Error> {
        let block = S::BLOCK_SIZE;
        self.suite
            .decrypt_to(self.mac_head.get(..block).unwrap_or(&[]), src, dst)?;
        match unpad(dst, block) {
            Ok(n) => Ok(n),
            Err(e) => {
                dst.zeroize();
                Err(e)
            }
        }
    }

    fn unwrap_response_inner(&mut self, response: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let (range, sw) = self.verify_response(response)?;
        let n = match range {
            Some(range) => {
                let src = response.get(range).unwrap_or(&[]);
                let dst = out.get_mut(..src.len()).ok_or(Error::BufferTooSmall {
                    needed: src.len() + 2,
                })?;
                self.decrypt_to(src, dst)?
            }
            None => 0,
        };
        out.get_mut(n..n + 2)
            .ok_or(Error::BufferTooSmall { needed: n + 2 })?
            .copy_from_slice(&sw.0.to_be_bytes());
        Ok(n + 2)
    }

    /// [`unwrap_response`](Self::unwrap_response) in place: `buf` holds the protected response;
    /// the plain data and SW1 SW2 are written to its start. Returns the plain length.
    ///
    /// # Errors
    /// As [`unwrap_response`](Self::unwrap_response).
    pub fn unwrap_response_in_place(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.check(Role::Host, false)?;
        let result = self.verify_response(buf).and_then(|(range, sw)| {
            let n = match range {
                Some(range) => {
                    let len = range.len();
                    buf.copy_within(range, 0);
                    let dst = buf
                        .get_mut(..len)
                        .ok_or(Error::BufferTooSmall { needed: len })?;
                    self.decrypt_in_place(dst)?
                }
                None => 0,
            };
            buf.get_mut(n..n + 2)
                .ok_or(Error::BufferTooSmall { needed: n + 2 })?
                .copy_from_slice(&sw.0.to_be_bytes());
            Ok(n + 2)
        });
        match result {
            Ok(n) => {
                self.state = State::Idle;
                Ok(n)
            }
            Err(e) => self.fail(e),
        }
    }

    /// Card: verifies and decrypts a protected command APDU into `out` as the plain command APDU
    /// (CLA without the SM bits, data decrypted, Le from DO `97`; short unless it needs extended
    /// lengths or came extended). Returns the plain command's length.
    ///
    /// On error the session fails; answer the unprotected status word
    /// [`Error::card_status`] and require a new authentication.
    ///
    /// # Errors
    /// [`Error::ClassByte`] (no SM bits), [`Error::MalformedCommand`], [`Error::MacMismatch`],
    /// object errors, [`Error::BadPadding`], [`Error::LengthMismatch`] (a DO `97` over two
    /// bytes), [`Error::BufferTooSmall`]; [`Error::WrongState`] when a response is pending.
    pub fn unwrap_command(&mut self, protected: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.check(Role::Card, true)?;
        match self.unwrap_command_inner(protected, out) {
            Ok((n, odd_ins)) => {
                self.state = State::Pending { odd_ins };
                Ok(n)
            }
            Err(e) => self.fail(e),
        }
    }

    fn unwrap_command_inner(
        &mut self,
        protected: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, bool), Error> {
        let cmd = frame::parse(protected)?;
        let (cla, ins, p1, p2) = (cmd.cla().0, cmd.ins().0, cmd.p1(), cmd.p2());
        let plain = plain_cla(cla)?;
        let case = cmd.case();
        let data_at = match (case.has_data(), case.is_extended()) {
            (false, _) => 4,
            (true, false) => 5,
            (true, true) => 7,
        };
        self.ssc_step()?;
        let objs = objects::parse(cmd.data(), data_at, Direction::Command)?;
        let expected = self.mac(Some(&[cla, ins, p1, p2]), objs.authenticated);
        if !mac_matches(&expected, objs.mac.value) {
            return Err(Error::MacMismatch);
        }
        let ne = match objs.middle.map(|o| o.value) {
            None => 0,
            Some([le]) => {
                if *le == 0 {
                    256
                } else {
                    u32::from(*le)
                }
            }
            Some([hi, lo]) => match u16::from_be_bytes([*hi, *lo]) {
                0 => 65_536,
                v => u32::from(v),
            },
            Some(_) => {
                return Err(Error::LengthMismatch {
                    offset: objs.middle.map_or(0, |o| data_at + o.offset + 1),
                });
            }
        };
        // Decrypt into the data position of the plain APDU. When the cryptogram is at most 256
        // bytes (so at most 255 plain bytes) and Ne at most 256, the plain command is short:
        // its data goes straight after CLA INS P1 P2 Lc. Otherwise the plain length decides
        // the layout, so decrypt at the longest head (7) and move the data into place after.
        let plain_at = match objs.cryptogram {
            Some(c) if c.value.len() <= 256 && ne <= 256 => 5,
            _ => 7,
        };
        let data_len = match objs.cryptogram {
            Some(c) => {
                let dst = out
                    .get_mut(plain_at..)
                    .ok_or(Error::BufferTooSmall { needed: plain_at })?;
                self.read_cryptogram(c.tag, c.value, data_at + c.offset, dst)?
            }
            None => 0,
        };
        // The plain command is short unless its lengths need the extended form.
        let extended = data_len > 255 || ne > 256;
        let framing = Frame::new([plain, ins, p1, p2], data_len, ne, extended)?;
        let total = framing.place(out, plain_at, data_len)?;
        Ok((total, ins & 1 == 1))
    }

    /// Card: protects a response (`data` and status word `sw`) into `out`: DO `87` (or `85` if
    /// the command's INS was odd) when there is data, DO `99`, DO `8E`, then SW1 SW2. Returns
    /// the protected response's length.
    /// `out` past the returned length may hold a few bytes of MAC padding (`80 00…`).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] (the session stays usable), [`Error::TooLong`],
    /// [`Error::WrongState`] (no command is pending), [`Error::SessionFailed`].
    pub fn wrap_response(
        &mut self,
        data: &[u8],
        sw: StatusWord,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let odd_ins = self.check(Role::Card, false)?.unwrap_or(false);
        let total = Self::protected_response_len(data.len(), odd_ins);
        if total > 65_537 {
            return Err(Error::TooLong);
        }
        if out.len() < total {
            return Err(Error::BufferTooSmall { needed: total });
        }
        self.ssc_step()?;
        let mut used = {
            let exact = out
                .get_mut(..total)
                .ok_or(Error::BufferTooSmall { needed: total })?;
            self.write_cryptogram(data, !odd_ins, exact)?
        };
        let sw_bytes = sw.0.to_be_bytes();
        let status = out
            .get_mut(used..used + 4)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        status.copy_from_slice(&[TAG_STATUS, 2, sw_bytes[0], sw_bytes[1]]);
        used += 4;
        // `out` after the objects (at least DO 8E and SW1 SW2) is room to pad them for the MAC.
        let mac = self.mac_padding_in_place(None, out, used);
        let tail = out
            .get_mut(used..)
            .and_then(|t| t.first_chunk_mut::<12>())
            .ok_or(Error::BufferTooSmall { needed: total })?;
        *tail = [
            TAG_MAC,
            8,
            mac[0],
            mac[1],
            mac[2],
            mac[3],
            mac[4],
            mac[5],
            mac[6],
            mac[7],
            sw_bytes[0],
            sw_bytes[1],
        ];
        self.state = State::Idle;
        Ok(total)
    }
}

#[cfg(test)]
mod status_policy_tests {
    use super::*;
    use crate::AesSuite;

    /// A card that omits DO'99' (as vsmartcard's ePass does): data objects and MAC over them,
    /// status word only in the trailer.
    fn response_without_do99(card: &mut SmSession<AesSuite>, sw: [u8; 2]) -> std::vec::Vec<u8> {
        card.ssc_step().unwrap();
        let objects: &[u8] = &[];
        let mac = card.mac(None, objects);
        let mut out = std::vec::Vec::from(objects);
        out.extend_from_slice(&[TAG_MAC, 8]);
        out.extend_from_slice(&mac);
        out.extend_from_slice(&sw);
        out
    }

    fn pair() -> (SmSession<AesSuite>, SmSession<AesSuite>) {
        let keys = ([0x11; 16], [0x22; 16]);
        (
            SmSession::host(AesSuite::new(&keys.0, &keys.1).unwrap(), &[0; 16]).unwrap(),
            SmSession::card(AesSuite::new(&keys.0, &keys.1).unwrap(), &[0; 16]).unwrap(),
        )
    }

    fn exchange(policy: StatusPolicy, forge: bool) -> (Result<usize, Error>, bool) {
        let (mut host, mut card) = pair();
        host.set_status_policy(policy);
        let (mut wire, mut plain) = ([0u8; 300], [0u8; 300]);
        let n = host
            .wrap_command(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E], &mut wire)
            .unwrap();
        card.unwrap_command(&wire[..n], &mut plain).unwrap();
        let mut rsp = response_without_do99(&mut card, [0x90, 0x00]);
        if forge {
            rsp[3] ^= 1;
        }
        let r = host.unwrap_response(&rsp, &mut plain);
        (r, host.last_status_authenticated())
    }

    /// The card places the plain data straight after Lc when the cryptogram guarantees a short
    /// command, and moves it otherwise: every length around the boundaries (255 plain bytes,
    /// Ne 256/257, no data with a cryptogram impossible, one block of padding) round-trips.
    #[test]
    fn plain_commands_round_trip_across_the_short_extended_boundary() {
        let (mut host, mut card) = pair();
        let (mut wire, mut plain) = ([0u8; 700], [0u8; 700]);
        for len in (0..=2).chain(236..=258) {
            for ne in [0u32, 1, 256, 257] {
                let data: std::vec::Vec<u8> = (0..len).map(|i| i as u8).collect();
                let repr = CommandRepr {
                    cla: cardwire_apdu::Cla(0),
                    ins: Ins(0xD6),
                    p1: 1,
                    p2: 2,
                    data: &data,
                    ne,
                };
                let mut expected = [0u8; 700];
                let want = repr.encode(&mut expected).unwrap().len();
                let n = host.wrap(&repr, LengthForm::Auto, &mut wire).unwrap();
                let m = card.unwrap_command(&wire[..n], &mut plain).unwrap();
                assert_eq!(&plain[..m], &expected[..want], "Nc {len}, Ne {ne}");
                let n = card
                    .wrap_response(&[], StatusWord::SUCCESS, &mut wire)
                    .unwrap();
                assert_eq!(host.unwrap_response(&wire[..n], &mut plain), Ok(2));
            }
        }
    }

    #[test]
    fn strict_refuses_a_response_without_do99() {
        let (r, _) = exchange(StatusPolicy::default(), false);
        assert_eq!(r, Err(Error::MissingObject { tag: 0x99 }));
    }

    #[test]
    fn the_opt_in_accepts_it_when_the_mac_verifies_and_says_the_status_is_unauthenticated() {
        let (r, authenticated) = exchange(StatusPolicy::AllowMissingStatus, false);
        assert_eq!(r, Ok(2));
        assert!(!authenticated);
        // The MAC is still checked over what is present.
        let (r, _) = exchange(StatusPolicy::AllowMissingStatus, true);
        assert_eq!(r, Err(Error::MacMismatch));
        // A response with DO'99' stays authenticated under the lenient policy.
        let (mut host, mut card) = pair();
        host.set_status_policy(StatusPolicy::AllowMissingStatus);
        let (mut wire, mut plain) = ([0u8; 300], [0u8; 300]);
        let n = host
            .wrap_command(&[0x00, 0xB0, 0x00, 0x00, 0x04], &mut wire)
            .unwrap();
        card.unwrap_command(&wire[..n], &mut plain).unwrap();
        let n = card
            .wrap_response(&[1, 2, 3, 4], StatusWord::SUCCESS, &mut wire)
            .unwrap();
        assert_eq!(host.unwrap_response(&wire[..n], &mut plain), Ok(6));
        assert!(host.last_status_authenticated());
    }
}
