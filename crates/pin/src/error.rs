//! The PIN layer's error type.

use core::fmt;

/// Everything that can go wrong in the PIN layer before or around a card exchange.
///
/// A status word from the card is never an error here: it becomes a
/// [`PinOutcome`](crate::PinOutcome). Messages never contain PIN characters.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The PIN is empty. An empty VERIFY asks for the retry counter, so an empty PIN is never
    /// sent as if it were one (ISO/IEC 7816-4 §11.5.6).
    EmptyPin,
    /// The PIN (or encoded PIN data) is longer than this layer or the format can carry.
    PinTooLong {
        /// Length given.
        len: usize,
        /// Largest length accepted.
        max: usize,
    },
    /// The PIN is shorter than the policy or format requires.
    PinTooShort {
        /// Length given.
        len: usize,
        /// Smallest length accepted.
        min: usize,
    },
    /// A PIN character is not allowed (by the policy or by the format, e.g. a letter in BCD).
    /// The character itself is never reported.
    InvalidCharacter {
        /// Position of the character in the PIN.
        offset: usize,
    },
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// The input ended early: `needed` more bytes were expected at `offset`.
    Truncated {
        /// Where the input ended.
        offset: usize,
        /// How many more bytes are needed.
        needed: usize,
    },
    /// A field has a value the specification does not allow.
    Invalid {
        /// Offset of the field in the input.
        offset: usize,
        /// Which field and what is wrong with it.
        what: &'static str,
    },
    /// Bytes follow the end of the structure.
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
    },
    /// The session requires secure messaging but none is active: the PIN was not sent.
    PlainPinRefused,
    /// The PIN pad reader timed out waiting for the user (PC/SC Part 10 `6400`).
    EntryTimeout,
    /// The user pressed Cancel on the PIN pad (PC/SC Part 10 `6401`).
    EntryCancelled,
    /// The two new PIN entries differ (PC/SC Part 10 `6402`).
    ConfirmationMismatch,
    /// The PIN entered on the PIN pad is outside the structure's min/max (PC/SC Part 10 `6403`).
    EntryLengthOutOfRange,
    /// The transport failed; the command may or may not have reached the card.
    Transport(cardwire_transport::ErrorKind),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EmptyPin => f.write_str("the PIN is empty"),
            Error::PinTooLong { len, max } => {
                write!(
                    f,
                    "the PIN is {len} characters long; at most {max} are allowed"
                )
            }
            Error::PinTooShort { len, min } => {
                write!(
                    f,
                    "the PIN is {len} characters long; at least {min} are required"
                )
            }
            Error::InvalidCharacter { offset } => {
                write!(f, "the PIN character at position {offset} is not allowed")
            }
            Error::BufferTooSmall { needed } => {
                write!(
                    f,
                    "the output buffer is too small: {needed} bytes are needed"
                )
            }
            Error::Truncated { offset, needed } => write!(
                f,
                "the input ends at offset {offset}; {needed} more bytes are needed"
            ),
            Error::Invalid { offset, what } => write!(f, "{what} (at offset {offset})"),
            Error::TrailingBytes { offset } => {
                write!(
                    f,
                    "unexpected bytes after the end of the structure at offset {offset}"
                )
            }
            Error::PlainPinRefused => f.write_str(
                "the session requires secure messaging and none is active: the PIN was not sent",
            ),
            Error::EntryTimeout => f.write_str("the PIN pad timed out waiting for the PIN"),
            Error::EntryCancelled => f.write_str("PIN entry was cancelled on the PIN pad"),
            Error::ConfirmationMismatch => {
                f.write_str("the new PIN and its confirmation are different")
            }
            Error::EntryLengthOutOfRange => {
                f.write_str("the PIN entered is shorter or longer than allowed")
            }
            Error::Transport(kind) => write!(f, "transport failure: {kind}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<cardwire_transport::ErrorKind> for Error {
    fn from(kind: cardwire_transport::ErrorKind) -> Self {
        Error::Transport(kind)
    }
}
