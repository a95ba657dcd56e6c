//! [`Error`]: everything that can go wrong in secure messaging, BAC and SCP03.

use core::fmt;

use cardwire_apdu::StatusWord;

/// An MRZ field, for [`Error::CheckDigit`] and [`Error::InvalidMrz`] (ICAO Doc 9303 Part 3 §4.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MrzField {
    /// The document number (up to 9 characters, padded with `<`).
    DocumentNumber,
    /// The date of birth, `YYMMDD`.
    DateOfBirth,
    /// The date of expiry, `YYMMDD`.
    DateOfExpiry,
    /// The optional data (personal number) of a TD3 MRZ (ICAO Doc 9303 Part 4 §4.2.2).
    OptionalData,
    /// The composite check over the second line (ICAO Doc 9303 Part 4 §4.2.2.2).
    Composite,
}

impl MrzField {
    fn name(self) -> &'static str {
        match self {
            MrzField::DocumentNumber => "document number",
            MrzField::DateOfBirth => "date of birth",
            MrzField::DateOfExpiry => "date of expiry",
            MrzField::OptionalData => "optional data",
            MrzField::Composite => "composite check field",
        }
    }
}

/// The secure messaging layer's error (ISO/IEC 7816-4 §10, ICAO Doc 9303-11, GPC Amendment D).
///
/// Every variant that concerns bytes from the other side leaves the session
/// [failed](Error::SessionFailed): a secure channel that saw one bad message is not used again.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The output buffer is too small; `needed` bytes are required.
    BufferTooSmall {
        /// Bytes the output needs.
        needed: usize,
    },
    /// The plain command APDU to protect is not a valid command APDU (ISO/IEC 7816-3 §12.1).
    MalformedCommand {
        /// Offset of the fault in the command.
        offset: usize,
    },
    /// A data object's tag or length is broken or runs past the end of the message.
    MalformedObject {
        /// Offset of the fault in the message.
        offset: usize,
    },
    /// A data object this message may not contain (ISO/IEC 7816-4 §10.2, Table 49).
    UnexpectedObject {
        /// The tag found.
        tag: u8,
        /// Offset of the tag.
        offset: usize,
    },
    /// A data object appears twice.
    DuplicateObject {
        /// The tag found twice.
        tag: u8,
        /// Offset of the second occurrence.
        offset: usize,
    },
    /// A data object is out of order (`87`/`85` before `97`/`99` before `8E`, and `8E` last).
    MisorderedObject {
        /// The misplaced tag.
        tag: u8,
        /// Offset of the tag.
        offset: usize,
    },
    /// A mandatory data object is absent (`8E`, or `99` in a response).
    MissingObject {
        /// The missing tag.
        tag: u8,
    },
    /// The MAC (cryptographic checksum, DO `8E`, or an SCP03 C-MAC/R-MAC) does not verify.
    MacMismatch,
    /// The decrypted data does not end in ISO/IEC 9797-1 padding method 2, or the padding
    /// indicator is not `01`.
    BadPadding,
    /// Lengths disagree: a cryptogram not a multiple of the block size, a DO `99` that is not two
    /// bytes or disagrees with the trailing status word, a DO `97` longer than two bytes.
    LengthMismatch {
        /// Offset of the fault in the message.
        offset: usize,
    },
    /// The command's class byte does not announce secure messaging with an authenticated header
    /// (ISO/IEC 7816-4 §5.4.1: bits b4 b3 = `11`), or announces it on a plain command.
    ClassByte {
        /// The class byte found.
        cla: u8,
    },
    /// The wrapped message would not fit in an APDU (more than 65 535 data bytes).
    TooLong,
    /// The card answered a protected command with a bare status word and no MAC. The status word
    /// is unauthenticated; ICAO and GlobalPlatform cards end the session when they send one.
    UnprotectedStatus {
        /// The unauthenticated status word.
        sw: StatusWord,
    },
    /// The session failed earlier (a MAC error, a malformed message, a replay) and must be
    /// re-established by a new authentication.
    SessionFailed,
    /// The call does not fit the session's state (for example two responses for one command, or
    /// a host method on a card-side session).
    WrongState,
    /// The send sequence counter or encryption counter would wrap around.
    CounterExhausted,
    /// A key has the wrong length for its algorithm (3DES 16 bytes; AES 16, 24 or 32 bytes).
    KeyLength {
        /// The length given.
        len: usize,
    },
    /// A check digit is wrong (ICAO Doc 9303 Part 3 §4.9).
    CheckDigit {
        /// The field whose check digit is wrong.
        field: MrzField,
        /// The digit computed from the field.
        expected: u8,
        /// The digit given.
        found: u8,
    },
    /// An MRZ field has a character outside `0-9 A-Z <` or the wrong length.
    InvalidMrz {
        /// The field.
        field: MrzField,
        /// Offset of the fault in the field.
        offset: usize,
    },
    /// The other side failed mutual authentication: its cryptogram or MAC is wrong, or it did
    /// not return our challenge.
    AuthenticationFailed,
    /// The card refused an authentication step with this status word.
    CardRefused {
        /// The card's status word.
        sw: StatusWord,
    },
    /// The card's INITIALIZE UPDATE answer is not the SCP03 format this implementation speaks
    /// (wrong length, SCP identifier not `03`, or S16 mode).
    UnsupportedProtocol,
    /// The security level is not one GPC Amendment D allows (C-DECRYPTION and R-MAC need
    /// C-MAC; R-ENCRYPTION needs R-MAC) or the card does not support it.
    SecurityLevel {
        /// The requested level.
        level: u8,
    },
    /// The random number generator failed, so no challenge or key was drawn and nothing was
    /// sent (only from the drivers in [`crate::channel`]). Secure messaging never falls back
    /// to predictable values.
    Randomness,
    /// The card session carrying an authentication failed (only from the drivers in
    /// [`crate::channel`]).
    Transport {
        /// What kind of failure.
        kind: cardwire_transport::ErrorKind,
    },
}

/// What a secure messaging data object is (ISO/IEC 7816-4 §10.2, Table 49; ICAO 9303-11
/// §9.8), for messages.
fn object_name(tag: u8) -> &'static str {
    match tag {
        0x87 => " (padding-content indicator and cryptogram)",
        0x85 => " (cryptogram)",
        0x97 => " (Le)",
        0x99 => " (processing status)",
        0x8E => " (cryptographic checksum)",
        _ => "",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Error::MalformedCommand { offset } => {
                write!(
                    f,
                    "the command APDU to protect is malformed at offset {offset}"
                )
            }
            Error::MalformedObject { offset } => {
                write!(
                    f,
                    "malformed secure messaging data object at offset {offset}"
                )
            }
            Error::UnexpectedObject { tag, offset } => write!(
                f,
                "the protected message holds a data object DO'{tag:02X}'{} at offset {offset} that ISO/IEC 7816-4 §10.2 does not allow there",
                object_name(tag)
            ),
            Error::DuplicateObject { tag, offset } => write!(
                f,
                "the protected message holds DO'{tag:02X}'{} twice (the second at offset {offset})",
                object_name(tag)
            ),
            Error::MisorderedObject { tag, offset } => write!(
                f,
                "DO'{tag:02X}'{} at offset {offset} is out of order (87/85, then 97/99, then 8E last)",
                object_name(tag)
            ),
            Error::MissingObject { tag: 0x99 } => f.write_str(
                "the card's protected response has no DO'99' (processing status), which ICAO 9303-11 §9.8.6 and ISO/IEC 7816-4 §10.2.3 require",
            ),
            Error::MissingObject { tag } => write!(
                f,
                "the protected message has no DO'{tag:02X}'{}, which it must carry",
                object_name(tag)
            ),
            Error::MacMismatch => f.write_str(
                "the MAC does not verify: the message was altered, replayed or keyed differently",
            ),
            Error::BadPadding => {
                f.write_str("bad padding in the decrypted data (ISO/IEC 9797-1 method 2)")
            }
            Error::LengthMismatch { offset } => {
                write!(
                    f,
                    "lengths in the protected message disagree at offset {offset}"
                )
            }
            Error::ClassByte { cla } => write!(
                f,
                "class byte {cla:02X} does not announce secure messaging with an authenticated header"
            ),
            Error::TooLong => f.write_str("the protected message would exceed 65 535 data bytes"),
            Error::UnprotectedStatus { sw } => write!(
                f,
                "the card answered with an unprotected status word {sw}; the secure channel is closed"
            ),
            Error::SessionFailed => f.write_str(
                "the secure messaging session failed earlier and must be re-established",
            ),
            Error::WrongState => f.write_str("this call does not fit the session's state"),
            Error::CounterExhausted => f.write_str("the sequence counter would wrap around"),
            Error::KeyLength { len } => write!(f, "a key of {len} bytes is not valid here"),
            Error::CheckDigit {
                field,
                expected,
                found,
            } => write!(
                f,
                "wrong check digit for the {}: computed {}, given {}",
                field.name(),
                char::from(expected),
                char::from(found)
            ),
            Error::InvalidMrz { field, offset } => write!(
                f,
                "invalid {} (character or length) at offset {offset}",
                field.name()
            ),
            Error::AuthenticationFailed => {
                f.write_str("mutual authentication failed: the other side's cryptogram is wrong")
            }
            Error::CardRefused { sw } => {
                write!(f, "the card refused authentication with status {sw}")
            }
            Error::UnsupportedProtocol => {
                f.write_str("the card's INITIALIZE UPDATE answer is not SCP03 in S8 mode")
            }
            Error::SecurityLevel { level } => {
                write!(
                    f,
                    "security level {level:02X} is not allowed or not supported"
                )
            }
            Error::Randomness => f.write_str(
                "the random number generator failed: no challenge or key could be drawn",
            ),
            Error::Transport { kind } => write!(f, "the card session failed: {kind}"),
        }
    }
}

impl core::error::Error for Error {}
