//! [`CardError`]: what a [`Card`](crate::Card) or [`AsyncCard`](crate::AsyncCard) session
//! reports.

use core::fmt;

use cardwire_apdu::StatusWord;
use cardwire_apdu::exchange::MAX_GET_RESPONSE;

use crate::secure::{SecureChannel, SecureChannelError};
use crate::transport::{Error, ErrorKind, Transport};

/// A session error: the transport, the secure channel, or a rule of the session.
///
/// A status word is not an error: [`Card::transmit`](crate::Card::transmit) returns every complete response, whatever
/// its status. Only the session's own commands (MANAGE CHANNEL) turn a refusal into
/// [`CardError::Refused`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardError<E, S = core::convert::Infallible> {
    /// The transport failed.
    Transport(E),
    /// The secure channel failed; secure messaging is now off.
    SecureChannel(S),
    /// A VERIFY, CHANGE REFERENCE DATA or RESET RETRY COUNTER with data was about to go out in
    /// plain while the policy requires secure messaging and none is active.
    SecureMessagingRequired,
    /// The command does not fit: more data than one APDU may carry, and the card does not
    /// accept chaining (or the session's command buffer is too small).
    CommandTooLong {
        /// Data bytes in the command.
        len: usize,
        /// The most one APDU can carry with this card and buffer.
        max: usize,
    },
    /// The response does not fit the caller's buffer.
    ResponseTooLong {
        /// Size of the caller's buffer.
        capacity: usize,
    },
    /// The card answered with fewer than the two status bytes.
    MalformedResponse,
    /// The card asked for more GET RESPONSE commands than [`MAX_GET_RESPONSE`].
    TooManyResponses,
    /// The command cannot be encoded (for example class `FF` on a logical channel).
    Apdu(cardwire_apdu::Error),
    /// Secure messaging was switched off while a protected command was under way; nothing
    /// is sent in plain in its place.
    SecureChannelClosed,
    /// The logical channel is not open in this session.
    ChannelNotOpen(u8),
    /// The card refused a command the session sent for itself (MANAGE CHANNEL).
    Refused(StatusWord),
    /// The transport ended a transaction without running its body (a
    /// [`Transport::transaction`] that breaks its contract).
    TransactionNotRun,
}

impl<E: Error, S: SecureChannelError> CardError<E, S> {
    /// The transport error kind this error corresponds to, for generic handling.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CardError::Transport(e) => e.kind(),
            CardError::ResponseTooLong { .. } => ErrorKind::BufferTooSmall,
            CardError::MalformedResponse | CardError::TooManyResponses => ErrorKind::Protocol,
            _ => ErrorKind::Other,
        }
    }
}

impl<E: Error, S: SecureChannelError> Error for CardError<E, S> {
    fn kind(&self) -> ErrorKind {
        CardError::kind(self)
    }
}

impl<E: fmt::Debug, S: fmt::Debug> fmt::Display for CardError<E, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardError::Transport(e) => write!(f, "transport failed: {e:?}"),
            CardError::SecureChannel(e) => write!(f, "secure channel failed: {e:?}"),
            CardError::SecureMessagingRequired => f.write_str(
                "refused to send PIN data in plain: secure messaging is required but not active",
            ),
            CardError::CommandTooLong { len, max } => write!(
                f,
                "command data of {len} bytes does not fit one APDU (at most {max}) and the card does not accept chaining"
            ),
            CardError::ResponseTooLong { capacity } => write!(
                f,
                "the card's response does not fit the {capacity}-byte response buffer"
            ),
            CardError::MalformedResponse => {
                f.write_str("the card answered without the two status bytes")
            }
            CardError::TooManyResponses => write!(
                f,
                "the card kept answering 61xx for more than {MAX_GET_RESPONSE} GET RESPONSE commands"
            ),
            CardError::Apdu(e) => write!(f, "cannot encode the command: {e}"),
            CardError::SecureChannelClosed => {
                f.write_str("secure messaging ended during a protected command")
            }
            CardError::ChannelNotOpen(n) => write!(f, "logical channel {n} is not open"),
            CardError::Refused(sw) => write!(f, "the card refused: {sw}"),
            CardError::TransactionNotRun => {
                f.write_str("the transport ended the transaction without running it")
            }
        }
    }
}

impl<E: fmt::Debug, S: fmt::Debug> core::error::Error for CardError<E, S> {}

/// The error type of a `Card<T, S, N>`.
pub type CardResult<V, T, S> =
    Result<V, CardError<<T as Transport>::Error, <S as SecureChannel>::Error>>;
