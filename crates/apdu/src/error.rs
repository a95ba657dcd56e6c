//! The one error type of `cardwire-apdu`.

use core::fmt;

use crate::StatusWord;

/// Everything that can go wrong in `cardwire-apdu`: parsing, encoding, the exchange engine and
/// FCI parsing.
///
/// "Incomplete" ([`Error::Truncated`]) is distinct from "malformed" (every other parse
/// variant). A status word is never an error by itself: the exchange engine returns it as data.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The bytes end before a field the header announces: `needed` more bytes are required,
    /// counted from `offset` (the end of the input).
    Truncated {
        /// Offset where the input ended.
        offset: usize,
        /// How many more bytes the header announces.
        needed: usize,
    },
    /// Bytes follow the last field of a command APDU (ISO/IEC 7816-3 §12.1.3).
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
    },
    /// An extended Lc of `0000` followed by data: extended Lc is `0001`–`FFFF`
    /// (ISO/IEC 7816-4 §5.1).
    ExtendedLcZero {
        /// Offset of the extended Lc field.
        offset: usize,
    },
    /// A response APDU longer than 65 538 bytes (65 536 data bytes and SW1 SW2).
    ResponseTooLong {
        /// The length given.
        len: usize,
    },
    /// Command data longer than 65 535 bytes (Nc, ISO/IEC 7816-4 §5.1).
    DataTooLong {
        /// The data length given.
        len: usize,
    },
    /// Ne larger than 65 536 (ISO/IEC 7816-4 §5.1).
    NeTooLarge {
        /// The Ne given.
        ne: u32,
    },
    /// The command needs the extended length form (Nc > 255 or Ne > 256) but only the short
    /// form was allowed.
    NeedsExtended,
    /// The output buffer is too small: `needed` bytes are required.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// A value out of range for the field it goes in (a logical channel above 19, a short EF
    /// identifier above 30, an offset above 32 767, a record number of 0 or FF, ...).
    InvalidParameter {
        /// Which parameter.
        what: &'static str,
    },
    /// The card cannot take this command: its data is longer than one APDU and the card
    /// supports neither command chaining nor a long enough extended Lc.
    CommandTooLong {
        /// The data length of the command.
        len: usize,
    },
    /// The card answered `61xx` more often than the engine's limit
    /// ([`crate::exchange::Limits::max_get_response`]).
    TooManyGetResponses {
        /// The limit that was reached.
        limit: u16,
    },
    /// The card answered `6Cxx` more often than the engine's limit
    /// ([`crate::exchange::Limits::max_resend`]).
    TooManyResends {
        /// The limit that was reached.
        limit: u8,
    },
    /// The assembled response would not fit in the caller's buffer.
    ResponseBufferFull {
        /// The caller's buffer size.
        capacity: usize,
    },
    /// The exchange engine was driven out of order (for example a response after it finished
    /// or failed).
    InvalidState,
    /// A status word where the engine cannot continue; kept for callers that need to turn a
    /// status into an error (the engine itself returns status words as data).
    Status(StatusWord),
    /// The FCP/FCI template is not valid BER-TLV, or a `cardwire_tlv::Writer` failed.
    Tlv(cardwire_tlv::Error),
    /// The FCP/FCI template does not start with tag `62`, `64` or `6F`.
    NotAnFciTemplate {
        /// The first byte found.
        found: u8,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { offset, needed } => write!(
                f,
                "truncated at offset {offset}: {needed} more byte(s) needed"
            ),
            Error::TrailingBytes { offset } => {
                write!(f, "unexpected bytes after the APDU's last field at offset {offset}")
            }
            Error::ExtendedLcZero { offset } => write!(
                f,
                "extended Lc 0000 at offset {offset} followed by data (extended Lc is 0001-FFFF)"
            ),
            Error::ResponseTooLong { len } => write!(
                f,
                "response APDU of {len} bytes is longer than 65538 (65536 data bytes and SW1 SW2)"
            ),
            Error::DataTooLong { len } => {
                write!(f, "command data of {len} bytes is longer than 65535 (Nc)")
            }
            Error::NeTooLarge { ne } => write!(f, "Ne {ne} is larger than 65536"),
            Error::NeedsExtended => f.write_str(
                "the command needs extended Lc/Le (Nc > 255 or Ne > 256) but only short was allowed",
            ),
            Error::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Error::InvalidParameter { what } => write!(f, "invalid parameter: {what}"),
            Error::CommandTooLong { len } => write!(
                f,
                "command data of {len} bytes does not fit one APDU and the card supports neither \
                 command chaining nor a long enough extended Lc"
            ),
            Error::TooManyGetResponses { limit } => write!(
                f,
                "the card kept answering 61xx: gave up after {limit} GET RESPONSE commands"
            ),
            Error::TooManyResends { limit } => write!(
                f,
                "the card kept answering 6Cxx: gave up after {limit} re-sends"
            ),
            Error::ResponseBufferFull { capacity } => write!(
                f,
                "the card's response does not fit the {capacity}-byte response buffer"
            ),
            Error::InvalidState => f.write_str(
                "exchange engine driven out of order (call poll_transmit, then handle_response, until Done)",
            ),
            Error::Status(sw) => write!(f, "card returned status {sw}"),
            Error::Tlv(e) => write!(f, "BER-TLV: {e}"),
            Error::NotAnFciTemplate { found } => write!(
                f,
                "expected an FCP/FCI/FMD template (tag 62, 64 or 6F), found tag {found:02X}"
            ),
        }
    }
}

impl core::error::Error for Error {}

impl From<cardwire_tlv::Error> for Error {
    /// A writer's `BufferTooSmall` becomes [`Error::BufferTooSmall`]; anything else is wrapped.
    fn from(e: cardwire_tlv::Error) -> Self {
        match e {
            cardwire_tlv::Error::BufferTooSmall { needed, .. } => Error::BufferTooSmall { needed },
            other => Error::Tlv(other),
        }
    }
}
