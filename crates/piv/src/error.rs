//! The one error type of `cardwire-piv`, with the object or key it concerns and the status
//! word the card gave.

use core::fmt;

use cardwire_apdu::StatusWord;
use cardwire_pin::PinReference;
use cardwire_transport::ErrorKind;

use crate::{AlgorithmId, ObjectId, Slot};

/// The PIV command an error comes from (NIST SP 800-73-4 Part 2 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// SELECT (§3.1.1).
    Select,
    /// GET DATA (§3.1.2).
    GetData,
    /// VERIFY (§3.2.1).
    Verify,
    /// CHANGE REFERENCE DATA (§3.2.2).
    ChangeReferenceData,
    /// RESET RETRY COUNTER (§3.2.3).
    ResetRetryCounter,
    /// GENERAL AUTHENTICATE (§3.2.4).
    GeneralAuthenticate,
    /// PUT DATA (§3.3.2).
    PutData,
    /// GENERATE ASYMMETRIC KEY PAIR (§3.3.3).
    GenerateKeyPair,
    /// Building or reading data on the host (no command sent).
    Host,
}

impl Operation {
    /// The command name as SP 800-73-4 writes it.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::Select => "SELECT",
            Operation::GetData => "GET DATA",
            Operation::Verify => "VERIFY",
            Operation::ChangeReferenceData => "CHANGE REFERENCE DATA",
            Operation::ResetRetryCounter => "RESET RETRY COUNTER",
            Operation::GeneralAuthenticate => "GENERAL AUTHENTICATE",
            Operation::PutData => "PUT DATA",
            Operation::GenerateKeyPair => "GENERATE ASYMMETRIC KEY PAIR",
            Operation::Host => "host processing",
        }
    }
}

/// What an error is about: the application, a data object, a key or a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// The PIV application as a whole (SELECT, the application property template).
    Application,
    /// A data object (container) by its BER-TLV tag (SP 800-73-4 Part 1 Table 3).
    Object(ObjectId),
    /// A key by its key reference (SP 800-73-4 Part 1 Table 4b).
    Key(Slot),
    /// A PIN or the PUK (SP 800-73-4 Part 1 Table 4a).
    Pin(PinReference),
    /// A data structure of a command or response that is not a container.
    Template(u32),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Application => f.write_str("the PIV application"),
            Target::Object(o) => write!(f, "object {o}"),
            Target::Key(s) => write!(f, "key {s}"),
            Target::Pin(r) => write!(f, "PIN reference '{:02X}'", r.p2()),
            Target::Template(t) => write!(f, "template '{t:02X}'"),
        }
    }
}

/// Everything that can go wrong in a PIV operation. Small and `Copy`; `Display` speaks the
/// protocol (tags and status words in hex).
///
/// A wrong PIN is not an error: PIN operations return a [`cardwire_pin::PinOutcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The card refused `operation` on `target` with `sw` (for example `6982` security status
    /// not satisfied, `6A82`/`6A88` not found, `6983` blocked).
    Status {
        /// The command.
        operation: Operation,
        /// What it was about.
        target: Target,
        /// The card's status word.
        sw: StatusWord,
    },
    /// The BER-TLV structure of `target` is broken (offset inside the parsed bytes).
    Tlv {
        /// What was being parsed.
        target: Target,
        /// The TLV fault.
        error: cardwire_tlv::Error,
    },
    /// `target` is well-formed BER-TLV but breaks an SP 800-73-4 rule.
    Malformed {
        /// What was being parsed.
        target: Target,
        /// Offset of the offending object in the parsed bytes.
        offset: usize,
        /// The rule, in protocol terms.
        what: &'static str,
    },
    /// The card session failed (transport error).
    Session(ErrorKind),
    /// A caller's buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The certificate of `target` is gzip-compressed (CertInfo bit 0) and this build has no
    /// decompressor (enable feature `std`).
    Compressed {
        /// The certificate object.
        target: Target,
    },
    /// The gzip data of `target` does not decompress (or exceeds the size limit).
    Decompression {
        /// The certificate object.
        target: Target,
    },
    /// The card returned a key or signature that does not match the algorithm asked for.
    AlgorithmMismatch {
        /// The key.
        target: Target,
        /// The algorithm requested.
        expected: AlgorithmId,
        /// What the card's answer says.
        what: &'static str,
    },
    /// `algorithm` cannot be used for this operation.
    UnsupportedAlgorithm {
        /// The algorithm.
        algorithm: AlgorithmId,
        /// The operation.
        operation: Operation,
    },
    /// Input of the wrong length for `algorithm` (a key, digest, challenge or point).
    InvalidLength {
        /// The algorithm.
        algorithm: AlgorithmId,
        /// The length given.
        len: usize,
    },
    /// The card's answer to the management key challenge is wrong: the card does not hold the
    /// key the host used (SP 800-73-4 Part 2 Appendix A.1, mutual authentication).
    CardAuthenticationFailed,
    /// A PIN was refused by its format or policy before anything was sent.
    Pin(cardwire_pin::Error),
    /// A cryptographic operation failed (bad key, bad signature encoding, no randomness).
    Crypto(&'static str),
}

impl Error {
    /// The card's status word, when the card refused the command.
    pub fn status(&self) -> Option<StatusWord> {
        match self {
            Error::Status { sw, .. } => Some(*sw),
            _ => None,
        }
    }

    /// `6A82` or `6A88`: the object or key does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusWord::FILE_NOT_FOUND | StatusWord::REFERENCED_DATA_NOT_FOUND)
        )
    }

    /// `6982`: security status not satisfied (PIN or management key needed).
    pub fn is_security_status_not_satisfied(&self) -> bool {
        self.status() == Some(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    }

    /// `6983`: authentication method blocked.
    pub fn is_blocked(&self) -> bool {
        self.status() == Some(StatusWord::AUTHENTICATION_METHOD_BLOCKED)
    }

    pub(crate) fn tlv(target: Target) -> impl Fn(cardwire_tlv::Error) -> Error {
        move |error| Error::Tlv { target, error }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Status {
                operation,
                target,
                sw,
            } => {
                let meaning = match *sw {
                    StatusWord::SECURITY_STATUS_NOT_SATISFIED => {
                        "security status not satisfied (PIN or management key needed)"
                    }
                    StatusWord::FILE_NOT_FOUND | StatusWord::REFERENCED_DATA_NOT_FOUND => {
                        "not found"
                    }
                    StatusWord::AUTHENTICATION_METHOD_BLOCKED => "blocked",
                    other => other.description(),
                };
                write!(
                    f,
                    "{} of {target}: card answered {:04X} ({meaning})",
                    operation.name(),
                    sw.0
                )
            }
            Error::Tlv { target, error } => write!(f, "{target} is not valid BER-TLV: {error}"),
            Error::Malformed {
                target,
                offset,
                what,
            } => write!(f, "{target}: {what} (offset {offset}, SP 800-73-4)"),
            Error::Session(kind) => write!(f, "card session failed: {}", kind.describe()),
            Error::BufferTooSmall { needed, available } => write!(
                f,
                "buffer too small: {needed} bytes needed, {available} available"
            ),
            Error::Compressed { target } => write!(
                f,
                "the certificate in {target} is gzip-compressed (CertInfo 01) and this build cannot decompress it (feature std)"
            ),
            Error::Decompression { target } => {
                write!(f, "the gzip certificate in {target} does not decompress")
            }
            Error::AlgorithmMismatch {
                target,
                expected,
                what,
            } => write!(
                f,
                "{target}: the card's answer does not match algorithm '{:02X}' ({}): {what}",
                expected.0,
                expected.name()
            ),
            Error::UnsupportedAlgorithm {
                algorithm,
                operation,
            } => write!(
                f,
                "algorithm '{:02X}' ({}) cannot be used for {}",
                algorithm.0,
                algorithm.name(),
                operation.name()
            ),
            Error::InvalidLength { algorithm, len } => write!(
                f,
                "{len} bytes is the wrong length for algorithm '{:02X}' ({})",
                algorithm.0,
                algorithm.name()
            ),
            Error::CardAuthenticationFailed => f.write_str(
                "the card's response to the management key challenge (DO '82') is wrong",
            ),
            Error::Pin(e) => write!(f, "PIN refused before sending: {e}"),
            Error::Crypto(what) => write!(f, "cryptographic operation failed: {what}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<cardwire_pin::Error> for Error {
    fn from(e: cardwire_pin::Error) -> Self {
        Error::Pin(e)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn display_names_object_and_status() {
        let e = Error::Status {
            operation: Operation::GetData,
            target: Target::Object(ObjectId::CHUID),
            sw: StatusWord(0x6A82),
        };
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "GET DATA of object 5FC102 (CHUID): card answered 6A82 (not found)"
        );
        let e = Error::Status {
            operation: Operation::GeneralAuthenticate,
            target: Target::Key(Slot::SIGNATURE),
            sw: StatusWord(0x6982),
        };
        assert!(e.is_security_status_not_satisfied());
        assert!(e.to_string().contains("key 9C (digital signature)"));
        assert!(e.to_string().contains("6982"));
    }
}
