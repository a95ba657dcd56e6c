//! The one error type of the CCID layer.

use core::fmt;

/// Everything that can go wrong parsing or encoding CCID messages (USB CCID Rev 1.1 §6).
///
/// Offsets count from the first byte of the message (`bMessageType`). "Incomplete" variants
/// mean more bytes were announced than given; the others mean the bytes are malformed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The message is shorter than its 10-byte header or than `dwLength` announces.
    Truncated {
        /// Where the input ended.
        offset: usize,
        /// How many more bytes are needed.
        needed: usize,
    },
    /// Bytes follow the `dwLength` bytes of data.
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
    },
    /// A field has a value the specification does not allow.
    Invalid {
        /// Offset of the field in the message.
        offset: usize,
        /// Which field and what is wrong with it.
        what: &'static str,
    },
    /// The message type is not one this layer knows in that direction.
    UnknownMessageType {
        /// The `bMessageType` value.
        value: u8,
    },
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// A message would be longer than `dwMaxCCIDMessageLength` or the buffer that holds it.
    TooLong {
        /// Length of the message.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { offset, needed } => write!(
                f,
                "CCID message truncated at offset {offset}: {needed} more byte(s) needed"
            ),
            Error::TrailingBytes { offset } => write!(
                f,
                "bytes after the end of the CCID message (dwLength) at offset {offset}"
            ),
            Error::Invalid { offset, what } => {
                write!(f, "invalid CCID field at offset {offset}: {what}")
            }
            Error::UnknownMessageType { value } => {
                write!(f, "unknown CCID message type {value:02X} (CCID Rev 1.1 §6)")
            }
            Error::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            Error::TooLong { len, max } => write!(
                f,
                "CCID message of {len} bytes exceeds the limit of {max} (dwMaxCCIDMessageLength)"
            ),
        }
    }
}

impl core::error::Error for Error {}
