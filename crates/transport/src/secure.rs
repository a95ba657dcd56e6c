//! The secure-channel hook: how `cardwire-sm` (or any other secure messaging) plugs into the
//! [`Card`](crate::Card) session.
//!
//! # Which APDUs are wrapped
//! Secure messaging (ISO/IEC 7816-4 §10) runs *above* the exchange logic of the session and
//! *below* the logical command:
//!
//! - **Wrapped** (passed to [`SecureChannel::wrap`]): every wire APDU that carries the logical
//!   command — the whole command, or each fragment when the session chains it (each fragment
//!   is protected on its own, as GlobalPlatform SCP03 and NIST SP 800-73-4 §4 do), and the
//!   re-sent command after `6Cxx`. The class byte handed to `wrap` already carries the logical
//!   channel and chaining bits; `wrap` adds the SM indication
//!   ([`cardwire_apdu::Cla::with_secure_messaging`]).
//! - **Unwrapped** (passed to [`SecureChannel::unwrap`]): the response to each wrapped APDU,
//!   after the session has collected all of it with GET RESPONSE — for a chain, the answer to
//!   every link, verified before the next link is sent (ISO/IEC 7816-4 §10 with §5.3.3: each
//!   link is a protected command–response pair of its own), so a link whose answer does not
//!   verify is the last one the card sees.
//! - **Not wrapped**: GET RESPONSE (`61xx`, ISO/IEC 7816-4 §5.3.4), which only fetches the rest
//!   of a protected response; MANAGE CHANNEL and the EF.ATR/INFO read the session itself sends
//!   when it opens a card.
//!
//! When `unwrap` fails (bad MAC, missing data objects) the session returns
//! [`crate::CardError::SecureChannel`] and switches secure messaging off: the card has closed its
//! side too (ISO/IEC 7816-4 §10.2). A card reset does the same.

use core::convert::Infallible;
use core::fmt;

use cardwire_apdu::CommandRepr;

/// What went wrong in a secure channel, independent of the implementation.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecureChannelErrorKind {
    /// A MAC or cryptogram did not verify: the response was altered or is not from the card.
    Integrity,
    /// The response lacks the secure messaging data objects or they are malformed.
    Malformed,
    /// The wrapped command or the unwrapped response does not fit the buffer.
    BufferTooSmall,
    /// The secure channel is closed (for example the card answered `6987`/`6988`).
    Closed,
    /// Anything else.
    Other,
}

impl SecureChannelErrorKind {
    /// A short description a user can act on.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Integrity => "secure messaging integrity check failed",
            Self::Malformed => "secure messaging data objects are missing or malformed",
            Self::BufferTooSmall => "the buffer is too small for the secure messaging APDU",
            Self::Closed => "the secure channel is closed",
            Self::Other => "secure messaging failed",
        }
    }
}

impl fmt::Display for SecureChannelErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A secure channel error: any type that can say which [`SecureChannelErrorKind`] it is.
pub trait SecureChannelError: fmt::Debug {
    /// The kind of failure.
    fn kind(&self) -> SecureChannelErrorKind;
}

impl SecureChannelError for SecureChannelErrorKind {
    fn kind(&self) -> SecureChannelErrorKind {
        *self
    }
}

impl SecureChannelError for Infallible {
    fn kind(&self) -> SecureChannelErrorKind {
        match *self {}
    }
}

/// Protects commands and checks responses (ISO/IEC 7816-4 §10); implemented by `cardwire-sm`.
///
/// See the [module documentation](self) for which APDUs the session passes through it.
pub trait SecureChannel {
    /// The implementation's error type.
    type Error: SecureChannelError;

    /// Protects `command` and encodes the protected command APDU into `out`, returning it.
    ///
    /// `command.cla` carries the channel and chaining bits already; the implementation sets
    /// the SM indication.
    ///
    /// # Errors
    /// [`SecureChannelErrorKind::BufferTooSmall`] when `out` is too short; others as the
    /// implementation needs.
    fn wrap<'o>(
        &mut self,
        command: &CommandRepr<'_>,
        out: &'o mut [u8],
    ) -> Result<&'o [u8], Self::Error>;

    /// Checks and decodes a protected response in place: `response` holds the response data
    /// and SW1 SW2 as received; on success the plain data and the plain SW1 SW2 are written to
    /// the start of `response` and their total length returned.
    ///
    /// # Errors
    /// [`SecureChannelErrorKind::Integrity`] on a MAC failure,
    /// [`SecureChannelErrorKind::Malformed`] on missing or malformed data objects.
    fn unwrap(&mut self, response: &mut [u8]) -> Result<usize, Self::Error>;

    /// How many plain data bytes fit in a protected command whose data field may hold at most
    /// `wire_data` bytes; the session uses it to size chaining fragments.
    ///
    /// The default assumes a 16-byte block cipher with padding and an 8-byte MAC
    /// (DO87 + DO97 + DO8E, at most 48 bytes of overhead); implementations with other sizes
    /// override it.
    fn plain_capacity(&self, wire_data: usize) -> usize {
        wire_data.saturating_sub(48) / 16 * 16
    }
}

/// The secure channel of a session that never uses one (it has no values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSecureChannel {}

impl SecureChannel for NoSecureChannel {
    type Error = Infallible;

    fn wrap<'o>(
        &mut self,
        _command: &CommandRepr<'_>,
        _out: &'o mut [u8],
    ) -> Result<&'o [u8], Infallible> {
        match *self {}
    }

    fn unwrap(&mut self, _response: &mut [u8]) -> Result<usize, Infallible> {
        match *self {}
    }
}
