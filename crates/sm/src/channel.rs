//! Running the authentications over a card session, and using their result as the session's
//! secure channel.
//!
//! [`establish_bac`] and [`open_scp03`] run BAC and SCP03 over any
//! [`Session`] (cardwire's [`Card`], or another crate's session in
//! a few lines); [`establish_bac_async`] and [`open_scp03_async`] are their twins over an
//! [`AsyncSession`]. All four drive the same sans-IO engines
//! ([`BacHost`], [`Scp03Host`]) through the same steps; only the `transmit` differs.
//! [`SmSession`] and [`Scp03Session`] implement the [`SecureChannel`] hook of [`Card`], and
//! [`secure_card`] switches a `Card` to secure messaging and sets its "secure messaging
//! required" policy, so the PIN layer refuses plain PIN data from then on; callers keep
//! sending plain commands.
//!
//! # Randomness
//!
//! The drivers draw RND.IFD, K.IFD and the SCP03 host challenge from a
//! [`rand_core::TryCryptoRng`], *before* anything is sent. A generator that fails gives
//! [`Error::Randomness`] and no command goes to the card: there is no fallback to fixed or
//! zero values. Every infallible `CryptoRng` is a `TryCryptoRng` too; on a desktop pass
//! `getrandom::SysRng` (crate `getrandom` 0.4, feature `sys_rng`), whose failure then
//! surfaces as [`Error::Randomness`]; in firmware, the hardware TRNG's `TryCryptoRng`.
//!
//! ```
//! use cardwire_sm::channel::{establish_bac, secure_card};
//! use cardwire_sm::rand_core::TryCryptoRng;
//! use cardwire_sm::{BacKeys, MrzInfo};
//! # use cardwire_apdu::exchange::Capabilities;
//! # use cardwire_transport::{Card, Transport, ErrorKind};
//! # struct NoCard;
//! # impl Transport for NoCard {
//! #     type Error = ErrorKind;
//! #     fn transmit<'b>(&mut self, _: &[u8], _: &'b mut [u8]) -> Result<&'b [u8], ErrorKind> { Err(ErrorKind::CardRemoved) }
//! #     fn atr(&self) -> &[u8] { &[] }
//! #     fn reset(&mut self) -> Result<(), ErrorKind> { Ok(()) }
//! #     fn transaction(&mut self, body: &mut dyn FnMut(&mut dyn Transport<Error = ErrorKind>) -> cardwire_transport::TransactionEnd) -> Result<(), ErrorKind> {
//! #         cardwire_transport::exclusive_transaction(self, body)
//! #     }
//! # }
//! # struct Counter(u8);
//! # impl cardwire_sm::rand_core::TryRng for Counter {
//! #     type Error = core::convert::Infallible;
//! #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(0) }
//! #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(0) }
//! #     fn try_fill_bytes(&mut self, out: &mut [u8]) -> Result<(), Self::Error> { for b in out { self.0 = self.0.wrapping_add(1); *b = self.0; } Ok(()) }
//! # }
//! # impl TryCryptoRng for Counter {}
//! fn read_com<T: Transport>(
//!     card: Card<T>,
//!     rng: &mut impl TryCryptoRng,
//! ) -> Result<(), cardwire_sm::Error> {
//!     let mut card = card;
//!     let keys = BacKeys::from_mrz(&MrzInfo::new("L898902C", "690806", "940623")?);
//!     let session = establish_bac(&mut card, &keys, rng)?;
//!     let mut card = secure_card(card, session);
//!     // From here on every command is protected; the caller writes plain APDUs.
//!     # let _ = &mut card;
//!     Ok(())
//! }
//! # assert!(read_com(Card::with_capabilities(NoCard, Capabilities::SHORT), &mut Counter(0)).is_err());
//! ```

use cardwire_apdu::{CommandRepr, Ins, LengthForm, Response, StatusWord};
use cardwire_transport::{
    AsyncSession, Card, SecureChannel, SecureChannelError, SecureChannelErrorKind, Session,
    Transport,
};
use rand_core::TryCryptoRng;
use zeroize::Zeroize;

use crate::bac::{BacHost, BacKeys};
use crate::scp03::{Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
use crate::{CipherSuite, Error, SmSession, TdesSuite};

impl SecureChannelError for Error {
    fn kind(&self) -> SecureChannelErrorKind {
        match self {
            Error::MacMismatch => SecureChannelErrorKind::Integrity,
            Error::MalformedObject { .. }
            | Error::UnexpectedObject { .. }
            | Error::DuplicateObject { .. }
            | Error::MisorderedObject { .. }
            | Error::MissingObject { .. }
            | Error::BadPadding
            | Error::LengthMismatch { .. } => SecureChannelErrorKind::Malformed,
            Error::BufferTooSmall { .. } => SecureChannelErrorKind::BufferTooSmall,
            Error::SessionFailed | Error::UnprotectedStatus { .. } => {
                SecureChannelErrorKind::Closed
            }
            _ => SecureChannelErrorKind::Other,
        }
    }
}

impl<S: CipherSuite> SecureChannel for SmSession<S> {
    type Error = Error;

    fn wrap<'o>(
        &mut self,
        command: &CommandRepr<'_>,
        out: &'o mut [u8],
    ) -> Result<&'o [u8], Error> {
        let n = self.wrap(command, LengthForm::Auto, out)?;
        out.get(..n).ok_or(Error::BufferTooSmall { needed: n })
    }

    fn unwrap(&mut self, response: &mut [u8]) -> Result<usize, Error> {
        self.unwrap_response_in_place(response)
    }

    fn plain_capacity(&self, wire_data: usize) -> usize {
        // Worst case: an even INS (DO 87 with indicator) and a two-byte DO 97.
        Self::max_plain_data_len(wire_data, 65_536, Ins(0x00))
    }
}

impl SecureChannel for Scp03Session {
    type Error = Error;

    fn wrap<'o>(
        &mut self,
        command: &CommandRepr<'_>,
        out: &'o mut [u8],
    ) -> Result<&'o [u8], Error> {
        let n = self.wrap(command, LengthForm::Auto, out)?;
        out.get(..n).ok_or(Error::BufferTooSmall { needed: n })
    }

    fn unwrap(&mut self, response: &mut [u8]) -> Result<usize, Error> {
        self.unwrap_response_in_place(response)
    }

    fn plain_capacity(&self, wire_data: usize) -> usize {
        if self.level().c_decryption() {
            // 8 bytes of C-MAC, and padding adds at least one byte to whole 16-byte blocks.
            (wire_data.saturating_sub(8) / 16 * 16).saturating_sub(1)
        } else {
            wire_data.saturating_sub(8)
        }
    }
}

/// Switches a session to secure messaging with `channel` and sets its "secure messaging
/// required" policy (so the PIN layer's "no plain PIN under SM" rule takes effect: VERIFY,
/// CHANGE REFERENCE DATA and RESET RETRY COUNTER with data are refused in plain).
pub fn secure_card<T, S, C, const N: usize>(card: Card<T, S, N>, channel: C) -> Card<T, C, N>
where
    T: Transport,
    S: SecureChannel,
    C: SecureChannel,
{
    let mut card = card.with_secure_channel_type::<C>();
    card.start_secure_messaging(channel);
    card.require_secure_messaging(true);
    card
}

fn transport_error<E: cardwire_transport::Error>(e: E) -> Error {
    Error::Transport { kind: e.kind() }
}

/// Fills `out` from `rng`; its failure is [`Error::Randomness`] (and `out` is wiped).
fn draw<R: TryCryptoRng + ?Sized>(rng: &mut R, out: &mut [u8]) -> Result<(), Error> {
    rng.try_fill_bytes(out).map_err(|_| {
        out.zeroize();
        Error::Randomness
    })
}

/// A command an engine wrote into a buffer, as the [`CommandRepr`] a session sends.
fn repr(cmd: &[u8]) -> Result<CommandRepr<'_>, Error> {
    CommandRepr::parse(cmd).map_err(|_| Error::MalformedCommand { offset: 0 })
}

/// BAC's steps between the I/O (ICAO 9303-11 §4.3.4), shared by the blocking and async
/// drivers: the randomness is drawn first, so a failing generator sends nothing.
struct BacRun {
    host: BacHost,
    cmd: [u8; 46],
}

impl BacRun {
    fn start<R: TryCryptoRng + ?Sized>(keys: &BacKeys, rng: &mut R) -> Result<Self, Error> {
        let mut rnd_ifd = [0u8; 8];
        let mut k_ifd = [0u8; 16];
        let drawn = draw(rng, &mut rnd_ifd).and_then(|()| draw(rng, &mut k_ifd));
        let run = drawn.map(|()| Self {
            host: BacHost::new(keys.clone(), rnd_ifd, k_ifd),
            cmd: [0; 46],
        });
        rnd_ifd.zeroize();
        k_ifd.zeroize();
        run
    }

    /// Checks the GET CHALLENGE answer and writes EXTERNAL AUTHENTICATE; returns its length.
    fn external_authenticate(&mut self, challenge: &Response<&[u8]>) -> Result<usize, Error> {
        if challenge.sw() != StatusWord::SUCCESS {
            return Err(Error::CardRefused { sw: challenge.sw() });
        }
        let rnd_ic: [u8; 8] = challenge
            .data()
            .try_into()
            .map_err(|_| Error::AuthenticationFailed)?;
        self.host
            .external_authenticate_command(&rnd_ic, &mut self.cmd)
    }

    fn command(&self, n: usize) -> Result<CommandRepr<'_>, Error> {
        repr(self.cmd.get(..n).unwrap_or(&[]))
    }

    fn finish(self, answer: &Response<&[u8]>) -> Result<SmSession<TdesSuite>, Error> {
        self.host.finish(answer.as_bytes())
    }
}

/// SCP03's steps between the I/O (GPC Amendment D §7.1), shared by both drivers.
struct Scp03Run {
    host: Scp03Host,
    cmd: [u8; 32],
}

impl Scp03Run {
    fn start<R: TryCryptoRng + ?Sized>(
        keys: StaticKeys,
        key_version: u8,
        rng: &mut R,
    ) -> Result<(Self, usize), Error> {
        let mut challenge = [0u8; 8];
        draw(rng, &mut challenge)?;
        let mut run = Self {
            host: Scp03Host::new(keys, key_version, challenge),
            cmd: [0; 32],
        };
        challenge.zeroize();
        let n = run.host.initialize_update_command(&mut run.cmd)?;
        Ok((run, n))
    }

    fn command(&self, n: usize) -> Result<CommandRepr<'_>, Error> {
        repr(self.cmd.get(..n).unwrap_or(&[]))
    }

    fn external_authenticate(
        &mut self,
        answer: &Response<&[u8]>,
        level: SecurityLevel,
    ) -> Result<usize, Error> {
        self.host
            .external_authenticate_command(answer.as_bytes(), level, &mut self.cmd)
    }

    fn finish(self, answer: &Response<&[u8]>) -> Result<Scp03Session, Error> {
        self.host.finish(&answer.sw().0.to_be_bytes())
    }
}

/// Runs BAC (ICAO 9303-11 §4.3) over a session: draws RND.IFD and K.IFD from `rng`, sends GET
/// CHALLENGE, then EXTERNAL AUTHENTICATE, checks the chip's answer, and returns the secure
/// messaging session (for a [`Card`], hand it to [`secure_card`]). The eMRTD application
/// must be selected already (SELECT `A0000002471001`).
///
/// # Errors
/// [`Error::Randomness`] (nothing was sent), [`Error::Transport`], [`Error::CardRefused`]
/// (for example `6300` for a wrong MRZ), [`Error::AuthenticationFailed`].
pub fn establish_bac<S, R>(
    session: &mut S,
    keys: &BacKeys,
    rng: &mut R,
) -> Result<SmSession<TdesSuite>, Error>
where
    S: Session + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    let mut run = BacRun::start(keys, rng)?;
    let mut rsp = [0u8; 64];
    let challenge = session
        .transmit(&repr(&BacHost::GET_CHALLENGE)?, &mut rsp)
        .map_err(transport_error)?;
    let n = run.external_authenticate(&challenge)?;
    let answer = session
        .transmit(&run.command(n)?, &mut rsp)
        .map_err(transport_error)?;
    let result = run.finish(&answer);
    rsp.zeroize();
    result
}

/// [`establish_bac`] over an [`AsyncSession`].
///
/// # Errors
/// As [`establish_bac`].
pub async fn establish_bac_async<S, R>(
    session: &mut S,
    keys: &BacKeys,
    rng: &mut R,
) -> Result<SmSession<TdesSuite>, Error>
where
    S: AsyncSession + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    let mut run = BacRun::start(keys, rng)?;
    let mut rsp = [0u8; 64];
    let challenge = session
        .transmit(&repr(&BacHost::GET_CHALLENGE)?, &mut rsp)
        .await
        .map_err(transport_error)?;
    let n = run.external_authenticate(&challenge)?;
    let answer = session
        .transmit(&run.command(n)?, &mut rsp)
        .await
        .map_err(transport_error)?;
    let result = run.finish(&answer);
    rsp.zeroize();
    result
}

/// Opens an SCP03 secure channel (GPC Amendment D §7.1) over a session: draws the host
/// challenge from `rng`, sends INITIALIZE UPDATE, checks the card cryptogram, sends EXTERNAL
/// AUTHENTICATE for `level`. The security domain must be selected already. For a [`Card`],
/// hand the result to [`secure_card`].
///
/// # Errors
/// [`Error::Randomness`] (nothing was sent), [`Error::Transport`], [`Error::CardRefused`],
/// [`Error::UnsupportedProtocol`], [`Error::AuthenticationFailed`], [`Error::SecurityLevel`].
pub fn open_scp03<S, R>(
    session: &mut S,
    keys: StaticKeys,
    key_version: u8,
    level: SecurityLevel,
    rng: &mut R,
) -> Result<Scp03Session, Error>
where
    S: Session + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    let (mut run, n) = Scp03Run::start(keys, key_version, rng)?;
    let mut rsp = [0u8; 64];
    let answer = session
        .transmit(&run.command(n)?, &mut rsp)
        .map_err(transport_error)?;
    let n = run.external_authenticate(&answer, level)?;
    let answer = session
        .transmit(&run.command(n)?, &mut rsp)
        .map_err(transport_error)?;
    run.finish(&answer)
}

/// [`open_scp03`] over an [`AsyncSession`].
///
/// # Errors
/// As [`open_scp03`].
pub async fn open_scp03_async<S, R>(
    session: &mut S,
    keys: StaticKeys,
    key_version: u8,
    level: SecurityLevel,
    rng: &mut R,
) -> Result<Scp03Session, Error>
where
    S: AsyncSession + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    let (mut run, n) = Scp03Run::start(keys, key_version, rng)?;
    let mut rsp = [0u8; 64];
    let answer = session
        .transmit(&run.command(n)?, &mut rsp)
        .await
        .map_err(transport_error)?;
    let n = run.external_authenticate(&answer, level)?;
    let answer = session
        .transmit(&run.command(n)?, &mut rsp)
        .await
        .map_err(transport_error)?;
    run.finish(&answer)
}
