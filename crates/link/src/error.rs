//! The one error type of the link layer.

use core::fmt;

/// Everything that can go wrong in `cardwire-link`: ATR and PPS parsing, and the T=0 and T=1
/// engines (ISO/IEC 7816-3 §8 to §11).
///
/// Offsets count from the first byte of the buffer that was parsed (TS for an ATR, PPSS for a
/// PPS). "Incomplete" variants mean more bytes were announced than given; the others mean the
/// bytes are malformed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// An ATR needs at least TS and T0 (§8.2.1).
    AtrTooShort {
        /// How many bytes were given.
        len: usize,
    },
    /// The ATR announces interface or historical bytes (or the TCK) that are missing.
    AtrIncomplete {
        /// Offset where the next announced byte should have been.
        offset: usize,
        /// The least number of further bytes the structure needs.
        needed: usize,
    },
    /// The ATR has more than 32 characters after TS (§8.2.1).
    AtrTooLong {
        /// Length of the structure, TS included.
        len: usize,
    },
    /// TS is neither `3B` (direct convention) nor `3F` (inverse convention) (§8.1).
    InvalidTs {
        /// The value found.
        value: u8,
    },
    /// The XOR of T0 to TCK is not zero (§8.2.5).
    BadChecksum {
        /// Offset of the TCK.
        offset: usize,
        /// The TCK value that would have been correct.
        expected: u8,
    },
    /// A protocol other than T=0 is indicated but no TCK follows the historical bytes (§8.2.5).
    MissingTck {
        /// Offset where the TCK should be.
        offset: usize,
    },
    /// TD1 indicates T=15, which is only allowed from TD2 on (§8.2.3).
    InvalidTd1 {
        /// Offset of TD1.
        offset: usize,
    },
    /// Bytes follow a complete structure (ATR or PPS) and the caller did not allow them.
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
    },
    /// PPS is not allowed: the card is in specific mode (TA2 present, §9.1).
    PpsNotAllowed,
    /// A PPS message is malformed: PPSS is not `FF`, a reserved bit is set or the PCK is wrong.
    PpsMalformed {
        /// Offset of the faulty byte.
        offset: usize,
    },
    /// A PPS message announces more bytes than were given.
    PpsIncomplete {
        /// The least number of further bytes the message needs.
        needed: usize,
    },
    /// The card's PPS response breaks the echo rules of §9.3: the request is refused.
    PpsRefused {
        /// Offset of the first byte that breaks a rule.
        offset: usize,
    },
    /// No protocol offered by the card is supported by the reader.
    NoCommonProtocol,
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// The APDU does not fit in the engine's buffer (or is not a valid command for T=0).
    ApduTooLong {
        /// Length of the APDU.
        len: usize,
        /// The engine's capacity.
        capacity: usize,
    },
    /// The command bytes are not a valid command APDU (needed by T=0 to pick the case).
    InvalidApdu,
    /// An exchange is already running, or the engine is not in the state this call needs.
    Busy,
    /// The engine gave up after the recovery rules failed; only a card reset revives it
    /// (§11.6.3.2 rule 7.4 for T=1, a missing answer for T=0).
    Dead,
    /// The link was resynchronised (S(RESYNCH), §11.6.3.2 rule 6): the command may or may not
    /// have run on the card, so it was not retried.
    Resynchronized,
    /// The chain was aborted with S(ABORT) (§11.6.2.3), by the card or on request.
    Aborted,
    /// The card asked for more waiting-time extensions than the configured limit.
    WtxLimit,
    /// The card broke the protocol in a way no recovery rule covers (for example a T=0
    /// procedure byte that is not allowed at this point).
    ProtocolViolation {
        /// The byte that was not allowed.
        byte: u8,
    },
    /// The card did not answer within the waiting time (T=0 WT, §10.2).
    Timeout,
    /// The exchange ran past its per-exchange deadline (the engines' `exchange_deadline_micros`,
    /// default 60 s) although the card kept asking for more time (S(WTX) for T=1, NULL
    /// procedure bytes for T=0). The card may still be working: T=1 resynchronises before
    /// the next exchange, T=0 needs a card reset.
    DeadlineExceeded,
    /// A received T=1 block fails a receiver check of §11.
    InvalidBlock(crate::t1::BlockFault),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::AtrTooShort { len } => {
                write!(f, "ATR too short: {len} byte(s), TS and T0 are needed")
            }
            Error::AtrIncomplete { offset, needed } => write!(
                f,
                "ATR incomplete: {needed} more announced byte(s) missing at offset {offset}"
            ),
            Error::AtrTooLong { len } => write!(
                f,
                "ATR too long: {len} bytes, at most 33 (TS and 32 more) are allowed"
            ),
            Error::InvalidTs { value } => write!(
                f,
                "invalid TS {value:02X}: expected 3B (direct) or 3F (inverse convention)"
            ),
            Error::BadChecksum { offset, expected } => {
                write!(f, "bad TCK at offset {offset}: expected {expected:02X}")
            }
            Error::MissingTck { offset } => write!(
                f,
                "TCK missing at offset {offset}: a protocol other than T=0 is indicated"
            ),
            Error::InvalidTd1 { offset } => write!(
                f,
                "TD1 at offset {offset} indicates T=15, which is not allowed in TD1"
            ),
            Error::TrailingBytes { offset } => write!(
                f,
                "unexpected bytes after the end of the structure at offset {offset}"
            ),
            Error::PpsNotAllowed => {
                f.write_str("PPS not allowed: the card is in specific mode (TA2 present)")
            }
            Error::PpsMalformed { offset } => write!(f, "malformed PPS at offset {offset}"),
            Error::PpsIncomplete { needed } => {
                write!(f, "PPS incomplete: {needed} more byte(s) needed")
            }
            Error::PpsRefused { offset } => write!(
                f,
                "PPS refused: the response breaks the echo rules at offset {offset}"
            ),
            Error::NoCommonProtocol => {
                f.write_str("no protocol offered by the card is supported by the reader")
            }
            Error::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            Error::ApduTooLong { len, capacity } => write!(
                f,
                "APDU of {len} bytes does not fit the engine's {capacity}-byte buffer"
            ),
            Error::InvalidApdu => f.write_str("the bytes are not a valid command APDU"),
            Error::Busy => f.write_str(
                "the engine is busy with another exchange or not in a state for this call",
            ),
            Error::Dead => {
                f.write_str("the link is dead after failed error recovery: reset the card")
            }
            Error::Resynchronized => f.write_str(
                "the link was resynchronised (S(RESYNCH)); the command was not completed",
            ),
            Error::Aborted => f.write_str("the exchange was aborted (S(ABORT))"),
            Error::WtxLimit => f.write_str("the card asked for too many waiting-time extensions"),
            Error::ProtocolViolation { byte } => {
                write!(f, "protocol violation: byte {byte:02X} not allowed here")
            }
            Error::Timeout => f.write_str("the card did not answer within the waiting time"),
            Error::DeadlineExceeded => f.write_str(
                "the exchange ran past its deadline while the card kept asking for more time",
            ),
            Error::InvalidBlock(fault) => write!(f, "invalid T=1 block: {fault}"),
        }
    }
}

impl core::error::Error for Error {}
