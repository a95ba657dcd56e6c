//! The virtual card's error type.

use core::fmt;

/// What went wrong creating, loading or saving a virtual card.
///
/// Not `Copy` (unlike the protocol layers' errors): a state file error carries the path and
/// the operating system's message so the user can act on it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No valid private key could be derived from the seed (practically impossible).
    KeyDerivation,
    /// The certificate could not be built or decoded.
    Certificate(String),
    /// A PIN or PUK does not fit the card's format (digits, at most 8).
    InvalidPin(String),
    /// The state file is not a cardwire virtual card state file (wrong magic).
    ForeignState {
        /// The file.
        path: String,
    },
    /// The state file is a cardwire state file but damaged (checksum or structure).
    CorruptState {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The state file was written by a newer, unknown format version.
    UnsupportedStateVersion {
        /// The file.
        path: String,
        /// The version found in the file.
        version: u16,
    },
    /// Another process holds the state file's lock (it serves or uses the same card).
    StateLocked {
        /// The file.
        path: String,
    },
    /// The state file could be read or changed by someone else: group or world permissions,
    /// a symbolic link, or another owner.
    StateExposed {
        /// The file.
        path: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The state file is sealed with a passphrase, and none or the wrong one was given.
    StatePassphrase {
        /// The file.
        path: String,
        /// What went wrong.
        reason: &'static str,
    },
    /// The state grew beyond the size a state file may have.
    StateTooLarge {
        /// The file.
        path: String,
        /// The size the state would have.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Reading or writing the state file failed.
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::KeyDerivation => {
                f.write_str("no valid P-256 private key could be derived from the seed")
            }
            Error::Certificate(m) => write!(f, "certificate: {m}"),
            Error::InvalidPin(m) => write!(f, "PIN: {m}"),
            Error::ForeignState { path } => write!(
                f,
                "{path} is not a cardwire virtual card state file (its header is wrong); it was left untouched — choose another --state file"
            ),
            Error::CorruptState { path, reason } => write!(
                f,
                "the virtual card state in {path} is damaged ({reason}); it was left untouched — move it away to start a fresh card"
            ),
            Error::UnsupportedStateVersion { path, version } => write!(
                f,
                "{path} holds virtual card state format version {version}, which this cardwire does not know; it was left untouched"
            ),
            Error::StateLocked { path } => write!(
                f,
                "{path} is in use by another cardwire process (its lock is held); stop that process or use another --state file"
            ),
            Error::StateExposed { path, reason } => write!(
                f,
                "refusing the virtual card state in {path}, which holds the card's keys: {reason}"
            ),
            Error::StatePassphrase { path, reason } => write!(
                f,
                "cannot open the virtual card state in {path}: {reason}; it was left untouched"
            ),
            Error::StateTooLarge { path, len, max } => write!(
                f,
                "the virtual card state for {path} would be {len} bytes, more than the {max} bytes a state file may have; the old file was kept"
            ),
            Error::Io { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl core::error::Error for Error {}
