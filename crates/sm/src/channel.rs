//! Integration with the `cardwire-transport` [`Card`] session: [`SmSession`] and
//! [`Scp03Session`] implement its [`SecureChannel`] hook, and [`establish_bac`] /
//! [`open_scp03`] run the authentication over a session and hand back the secure channel.
//! [`secure_card`] then switches the session to secure messaging and sets its "secure messaging
//! required" policy, so the PIN layer refuses plain PIN data from then on; callers keep
//! sending plain commands.
//!
//! ```
//! use cardwire_sm::channel::{establish_bac, secure_card};
//! use cardwire_sm::{BacKeys, MrzInfo, Rng};
//! # use cardwire_apdu::exchange::Capabilities;
//! # use cardwire_transport::{Card, Transport, ErrorKind};
//! # struct NoCard;
//! # impl Transport for NoCard {
//! #     type Error = ErrorKind;
//! #     fn transmit<'b>(&mut self, _: &[u8], _: &'b mut [u8]) -> Result<&'b [u8], ErrorKind> { Err(ErrorKind::CardRemoved) }
//! #     fn atr(&self) -> &[u8] { &[] }
//! #     fn reset(&mut self) -> Result<(), ErrorKind> { Ok(()) }
//! # }
//! # struct Counter(u8);
//! # impl Rng for Counter { fn fill_bytes(&mut self, out: &mut [u8]) { for b in out { self.0 = self.0.wrapping_add(1); *b = self.0; } } }
//! fn read_com<T: Transport>(card: Card<T>, rng: &mut impl Rng) -> Result<(), cardwire_sm::Error> {
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

use cardwire_apdu::{Cla, CommandRepr, Ins};
use cardwire_transport::{
    Card, CardError, SecureChannel, SecureChannelError, SecureChannelErrorKind, Transport,
};
use zeroize::Zeroize;

use crate::bac::{BacHost, BacKeys};
use crate::rng::Rng;
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
        let header = [command.cla.0, command.ins.0, command.p1, command.p2];
        let n = self.wrap_parts(header, command.data, command.ne, false, out)?;
        out.get(..n).ok_or(Error::BufferTooSmall { needed: n })
    }

    fn unwrap(&mut self, response: &mut [u8]) -> Result<usize, Error> {
        self.unwrap_response_in_place(response)
    }

    fn plain_capacity(&self, wire_data: usize) -> usize {
        // Worst case: an even INS (DO 87 with indicator) and a two-byte DO 97.
        Self::max_plain_data_len(wire_data, 65_536, 0x00)
    }
}

impl SecureChannel for Scp03Session {
    type Error = Error;

    fn wrap<'o>(
        &mut self,
        command: &CommandRepr<'_>,
        out: &'o mut [u8],
    ) -> Result<&'o [u8], Error> {
        let header = [command.cla.0, command.ins.0, command.p1, command.p2];
        let n = self.wrap_parts(header, command.data, command.ne, false, out)?;
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

fn transport_error<E, S>(e: CardError<E, S>) -> Error
where
    E: cardwire_transport::Error,
    S: SecureChannelError,
{
    Error::Transport { kind: e.kind() }
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

/// Runs BAC (ICAO 9303-11 §4.3) over a card session: GET CHALLENGE, then EXTERNAL AUTHENTICATE
/// with fresh RND.IFD and K.IFD from `rng`, checks the chip's answer, and returns the
/// secure messaging session to hand to [`secure_card`]. The eMRTD application must be
/// selected already (SELECT `A0000002471001`).
///
/// # Errors
/// [`Error::Transport`], [`Error::CardRefused`] (for example `6300` for a wrong MRZ),
/// [`Error::AuthenticationFailed`].
pub fn establish_bac<T, S, const N: usize>(
    card: &mut Card<T, S, N>,
    keys: &BacKeys,
    rng: &mut impl Rng,
) -> Result<SmSession<TdesSuite>, Error>
where
    T: Transport,
    S: SecureChannel,
{
    let mut rsp = [0u8; 64];
    let challenge = card
        .transmit(
            &CommandRepr::new(Cla(0x00), Ins::GET_CHALLENGE, 0, 0).with_ne(8),
            &mut rsp,
        )
        .map_err(transport_error)?;
    if challenge.sw().0 != 0x9000 {
        return Err(Error::CardRefused {
            sw: challenge.sw().0,
        });
    }
    let mut rnd_ic = [0u8; 8];
    if challenge.data().len() != 8 {
        return Err(Error::AuthenticationFailed);
    }
    rnd_ic.copy_from_slice(challenge.data());
    let mut rnd_ifd = [0u8; 8];
    let mut k_ifd = [0u8; 16];
    rng.fill_bytes(&mut rnd_ifd);
    rng.fill_bytes(&mut k_ifd);
    let mut host = BacHost::new(keys.clone(), rnd_ifd, k_ifd);
    k_ifd.zeroize();
    let mut cmd = [0u8; 46];
    let n = host.external_authenticate_command(&rnd_ic, &mut cmd)?;
    let repr = CommandRepr::parse(cmd.get(..n).unwrap_or(&[]))
        .map_err(|_| Error::MalformedCommand { offset: 0 })?;
    let answer = card.transmit(&repr, &mut rsp).map_err(transport_error)?;
    let mut whole = [0u8; 64];
    let len = answer.data().len();
    let dst = whole
        .get_mut(..len + 2)
        .ok_or(Error::AuthenticationFailed)?;
    if let Some((data, sw)) = dst.split_at_mut_checked(len) {
        data.copy_from_slice(answer.data());
        sw.copy_from_slice(&answer.sw().0.to_be_bytes());
    }
    let result = host.finish(whole.get(..len + 2).unwrap_or(&[]));
    whole.zeroize();
    result
}

/// Opens an SCP03 secure channel (GPC Amendment D §7.1) over a card session: INITIALIZE
/// UPDATE with a fresh host challenge from `rng`, checks the card cryptogram, EXTERNAL
/// AUTHENTICATE for `level`. The security domain must be selected already. Hand the result to
/// [`secure_card`].
///
/// # Errors
/// [`Error::Transport`], [`Error::CardRefused`], [`Error::UnsupportedProtocol`],
/// [`Error::AuthenticationFailed`], [`Error::SecurityLevel`].
pub fn open_scp03<T, S, const N: usize>(
    card: &mut Card<T, S, N>,
    keys: StaticKeys,
    key_version: u8,
    level: SecurityLevel,
    rng: &mut impl Rng,
) -> Result<Scp03Session, Error>
where
    T: Transport,
    S: SecureChannel,
{
    let mut challenge = [0u8; 8];
    rng.fill_bytes(&mut challenge);
    let mut host = Scp03Host::new(keys, key_version, challenge);
    let mut cmd = [0u8; 32];
    let n = host.initialize_update_command(&mut cmd)?;
    let repr = CommandRepr::parse(cmd.get(..n).unwrap_or(&[]))
        .map_err(|_| Error::MalformedCommand { offset: 0 })?;
    let mut rsp = [0u8; 64];
    let answer = card.transmit(&repr, &mut rsp).map_err(transport_error)?;
    let mut whole = [0u8; 64];
    let len = answer.data().len();
    let dst = whole.get_mut(..len + 2).ok_or(Error::UnsupportedProtocol)?;
    if let Some((data, sw)) = dst.split_at_mut_checked(len) {
        data.copy_from_slice(answer.data());
        sw.copy_from_slice(&answer.sw().0.to_be_bytes());
    }
    let n =
        host.external_authenticate_command(whole.get(..len + 2).unwrap_or(&[]), level, &mut cmd)?;
    let repr = CommandRepr::parse(cmd.get(..n).unwrap_or(&[]))
        .map_err(|_| Error::MalformedCommand { offset: 0 })?;
    let answer = card.transmit(&repr, &mut rsp).map_err(transport_error)?;
    host.finish(&answer.sw().0.to_be_bytes())
}
