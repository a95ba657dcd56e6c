//! The [`Transport`] trait: one APDU out, one response back, whatever carries it.

use core::fmt;

/// What went wrong in a transport, independent of the backend (embedded-hal style).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller's response buffer cannot hold the card's answer.
    BufferTooSmall,
    /// The card was removed (or the reader disappeared).
    CardRemoved,
    /// The card was reset, by this or another application; its state is lost.
    CardReset,
    /// The card or reader did not answer in time.
    Timeout,
    /// The link protocol (T=0, T=1, vpcd, PC/SC framing) failed.
    Protocol,
    /// The service behind the transport (for example pcscd) is not running or not reachable.
    NoService,
    /// The backend cannot do this operation (for example power control over PC/SC shared mode).
    Unsupported,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// A short description a user can act on.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::BufferTooSmall => "the response buffer is too small for the card's answer",
            ErrorKind::CardRemoved => "the card was removed",
            ErrorKind::CardReset => "the card was reset and its state is lost",
            ErrorKind::Timeout => "the card did not answer in time",
            ErrorKind::Protocol => "the link protocol failed",
            ErrorKind::NoService => "the smart card service is not available",
            ErrorKind::Unsupported => "the transport cannot do this",
            ErrorKind::Other => "the transport failed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl core::error::Error for ErrorKind {}

/// A transport error: any type that can say which [`ErrorKind`] it is.
pub trait Error: fmt::Debug + fmt::Display {
    /// The kind of failure, for callers that handle errors generically.
    fn kind(&self) -> ErrorKind;
}

impl Error for ErrorKind {
    fn kind(&self) -> ErrorKind {
        *self
    }
}

impl Error for core::convert::Infallible {
    fn kind(&self) -> ErrorKind {
        match *self {}
    }
}

/// Carries command APDUs to a card and its responses back (ISO/IEC 7816-3 §12, 7816-4 §5).
///
/// A transport moves bytes only: it does not interpret status words, send GET RESPONSE or
/// chain commands — the `Card` session does that once for every transport.
pub trait Transport {
    /// The backend's error type.
    type Error: Error;

    /// Sends one command APDU and receives its response (data and SW1 SW2) into `response`.
    ///
    /// # Errors
    /// A backend error; [`ErrorKind::BufferTooSmall`] when `response` cannot hold the answer.
    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error>;

    /// The card's Answer-to-Reset as last seen by the transport (ISO/IEC 7816-3 §8).
    fn atr(&self) -> &[u8];

    /// Resets the card (warm reset where the backend can) and reads the new ATR.
    ///
    /// # Errors
    /// A backend error; [`ErrorKind::Unsupported`] when the backend cannot reset the card.
    fn reset(&mut self) -> Result<(), Self::Error>;

    /// Starts exclusive access for a multi-APDU operation (PC/SC `SCardBeginTransaction`).
    ///
    /// The default does nothing: right for transports that are exclusive anyway (a UART, an
    /// in-process card). Added by `cardwire-transport` for the `Card` session's transaction
    /// guard.
    ///
    /// # Errors
    /// A backend error (for example the card was reset by another application meanwhile).
    fn begin_transaction(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Ends the exclusive access begun with [`Transport::begin_transaction`]. The default
    /// does nothing.
    ///
    /// # Errors
    /// A backend error.
    fn end_transaction(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
