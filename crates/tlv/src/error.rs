//! The one error type of `cardwire-tlv`.

use core::fmt;

/// What went wrong while parsing or encoding TLV data, with the byte offset of the fault.
///
/// Offsets count from the start of the buffer given to the parse function. "Incomplete"
/// faults (the input ended early: [`Error::TruncatedHeader`], [`Error::TruncatedValue`]) are
/// told apart from "malformed" ones by [`Error::is_incomplete`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The input ends inside a tag or length field that starts at `offset`.
    TruncatedHeader {
        /// Offset of the first byte of the object.
        offset: usize,
    },
    /// The input ends inside the value of the object at `offset`; `needed` more bytes would
    /// complete it.
    TruncatedValue {
        /// Offset of the first byte of the object.
        offset: usize,
        /// How many bytes are missing.
        needed: usize,
    },
    /// The tag at `offset` is not allowed: `1F 80 ..` (X.690 §8.1.2.4.2 c), longer than four
    /// bytes, `00`/`FF` in strict mode, or a number below 31 in the high-tag form outside
    /// lenient mode.
    InvalidTag {
        /// Offset of the first tag byte (0 when encoding).
        offset: usize,
    },
    /// The first length byte at `offset` is `85`–`FF` (ISO/IEC 7816-4 §5.2.2.2 allows at most
    /// `84`).
    InvalidLength {
        /// Offset of the length byte.
        offset: usize,
        /// The length byte.
        byte: u8,
    },
    /// The length byte at `offset` is `80`, the indefinite form, which ISO/IEC 7816-4 does
    /// not use (X.690 §8.1.3.6).
    IndefiniteLength {
        /// Offset of the length byte.
        offset: usize,
    },
    /// The length at `offset` is not in its shortest form, which strict and ISO modes require
    /// (X.690 §10.1).
    NonMinimalLength {
        /// Offset of the length byte.
        offset: usize,
    },
    /// The object at `offset` declares a value of `length` bytes, but its enclosing object
    /// has only `available` bytes left. Checked without overflow (`84 FFFFFFFF` is fine).
    LengthBeyondInput {
        /// Offset of the first byte of the object.
        offset: usize,
        /// The declared value length.
        length: u32,
        /// How many bytes the enclosing object has left after the header.
        available: usize,
    },
    /// The object at `offset` is nested deeper than [`Options::max_depth`](crate::Options).
    TooDeep {
        /// Offset of the first byte of the object.
        offset: usize,
        /// The depth limit in force.
        limit: u32,
    },
    /// The object at `offset` is one more than [`Options::max_nodes`](crate::Options).
    TooManyNodes {
        /// Offset of the first byte of the object.
        offset: usize,
        /// The node limit in force.
        limit: u32,
    },
    /// Bytes follow the single object that was asked for, from `offset` on.
    TrailingData {
        /// Offset of the first unexpected byte.
        offset: usize,
    },
    /// A value is too long to be encoded (more than `u32::MAX` bytes for BER-TLV, more than
    /// `FFFF` for SIMPLE-TLV, more than 15 for COMPACT-TLV).
    ValueTooLong {
        /// The value length.
        length: usize,
    },
    /// The output buffer is too small: `needed` bytes in all, `available` there.
    BufferTooSmall {
        /// Bytes the whole output needs.
        needed: usize,
        /// Bytes the buffer holds.
        available: usize,
    },
    /// Historical bytes (ISO/IEC 7816-4 §8.1.1) that do not follow their category's layout:
    /// category `00` shorter than its three status bytes, or category `10` without its DIR
    /// data reference.
    InvalidHistoricalBytes {
        /// Offset of the fault in the historical bytes.
        offset: usize,
    },
}

impl Error {
    /// Whether the input ended early, so that more bytes could complete it (as opposed to
    /// bytes that are wrong whatever follows).
    pub const fn is_incomplete(&self) -> bool {
        matches!(
            self,
            Error::TruncatedHeader { .. } | Error::TruncatedValue { .. }
        )
    }

    /// The byte offset of the fault, when the error is about input bytes.
    pub const fn offset(&self) -> Option<usize> {
        match *self {
            Error::TruncatedHeader { offset }
            | Error::TruncatedValue { offset, .. }
            | Error::InvalidTag { offset }
            | Error::InvalidLength { offset, .. }
            | Error::IndefiniteLength { offset }
            | Error::NonMinimalLength { offset }
            | Error::LengthBeyondInput { offset, .. }
            | Error::TooDeep { offset, .. }
            | Error::TooManyNodes { offset, .. }
            | Error::TrailingData { offset }
            | Error::InvalidHistoricalBytes { offset } => Some(offset),
            Error::ValueTooLong { .. } | Error::BufferTooSmall { .. } => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::TruncatedHeader { offset } => {
                write!(
                    f,
                    "truncated header at offset {offset}: the input ends inside a tag or length"
                )
            }
            Error::TruncatedValue { offset, needed } => write!(
                f,
                "truncated value at offset {offset}: {needed} more byte(s) needed"
            ),
            Error::InvalidTag { offset } => write!(f, "invalid tag at offset {offset}"),
            Error::InvalidLength { offset, byte } => write!(
                f,
                "invalid length byte {byte:02X} at offset {offset} (at most 84 allowed)"
            ),
            Error::IndefiniteLength { offset } => write!(
                f,
                "indefinite length (80) at offset {offset} is not allowed"
            ),
            Error::NonMinimalLength { offset } => write!(
                f,
                "non-minimal length at offset {offset} (use lenient mode to accept it)"
            ),
            Error::LengthBeyondInput {
                offset,
                length,
                available,
            } => write!(
                f,
                "length beyond input at offset {offset}: value of {length} byte(s), only {available} available"
            ),
            Error::TooDeep { offset, limit } => write!(
                f,
                "too deep at offset {offset}: nesting exceeds the limit of {limit}"
            ),
            Error::TooManyNodes { offset, limit } => write!(
                f,
                "too many nodes at offset {offset}: more than the limit of {limit}"
            ),
            Error::TrailingData { offset } => {
                write!(f, "trailing data at offset {offset} after the object")
            }
            Error::ValueTooLong { length } => {
                write!(f, "value of {length} bytes is too long to encode")
            }
            Error::BufferTooSmall { needed, available } => write!(
                f,
                "buffer too small: {needed} byte(s) needed, {available} available"
            ),
            Error::InvalidHistoricalBytes { offset } => write!(
                f,
                "invalid historical bytes at offset {offset}: the category's layout is not followed"
            ),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn messages_name_the_error_and_offset() {
        let e = Error::TruncatedValue {
            offset: 3,
            needed: 7,
        };
        assert_eq!(
            e.to_string(),
            "truncated value at offset 3: 7 more byte(s) needed"
        );
        assert!(e.is_incomplete());
        assert_eq!(e.offset(), Some(3));
        assert!(!Error::InvalidTag { offset: 0 }.is_incomplete());
        assert_eq!(
            Error::BufferTooSmall {
                needed: 1,
                available: 0
            }
            .offset(),
            None
        );
    }
}
