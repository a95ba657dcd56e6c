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

/// The transmission protocol a transport carries APDUs with (ISO/IEC 7816-3 §10–§11).
///
/// The session needs it because the protocols do not carry the same APDUs: over T=0 a command
/// TPDU has one length byte P3, so only the short cases map onto it (ISO/IEC 7816-3 §12.2);
/// an extended-length APDU cannot be sent as one TPDU and the session uses command chaining
/// and `61xx` GET RESPONSE instead. T=1 (§12.3) and the contactless protocols carry any APDU.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// T=0, the character protocol (ISO/IEC 7816-3 §10): short APDUs only.
    T0,
    /// T=1, the block protocol (ISO/IEC 7816-3 §11): any APDU.
    T1,
    /// Another protocol that carries whole APDUs (a contactless link, PC/SC raw mode, a
    /// virtual card).
    Other,
}

impl Protocol {
    /// Whether an APDU with extended Lc/Le can be sent as it is over this protocol: every
    /// protocol but T=0 (ISO/IEC 7816-3 §12.2 maps only the short cases onto T=0 TPDUs).
    pub fn carries_extended_length(self) -> bool {
        self != Protocol::T0
    }
}

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

    /// Sends one command APDU, receives its response (data and SW1 SW2) into `response` and
    /// returns it as the first bytes of `response`. The sessions rely on that: they receive
    /// each answer straight into their caller's buffer, and an answer returned from anywhere
    /// else is a [`crate::CardError::MalformedResponse`].
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

    /// The transmission protocol in use (PC/SC's negotiated protocol, a UART's T=0 or T=1),
    /// `None` when the transport does not know. Over [`Protocol::T0`] the session never sends
    /// an extended-length APDU (ISO/IEC 7816-3 §12.2). Wrappers forward it.
    fn protocol(&self) -> Option<Protocol> {
        None
    }

    /// Resets the card (warm reset where the backend can) and reads the new ATR.
    ///
    /// # Errors
    /// A backend error; [`ErrorKind::Unsupported`] when the backend cannot reset the card.
    fn reset(&mut self) -> Result<(), Self::Error>;

    /// Runs `body` with exclusive access to the card: between `body`'s commands no other
    /// application talks to the card (PC/SC `SCardBeginTransaction` ... `SCardEndTransaction`,
    /// held for the whole of `body`; never a disconnect and reconnect). `body` is called
    /// exactly once, with the transport as it is inside the transaction, and says how the
    /// transaction ends: [`TransactionEnd::Reset`] resets the card as the transaction ends
    /// (PC/SC `SCARD_RESET_CARD`), so that a verified PIN does not outlive it.
    ///
    /// There is no default on purpose: a wrapper that forgot to forward it would silently
    /// drop the exclusive access. Transports that are exclusive anyway (a UART, an in-process
    /// card) implement it with [`exclusive_transaction`]. Inside a transaction, a nested call
    /// runs `body` at once (the outer transaction holds).
    ///
    /// # Errors
    /// A backend error starting the transaction (then `body` is not called; for example the
    /// card was reset by another application meanwhile) or ending it (`body` has run).
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = Self::Error>) -> TransactionEnd,
    ) -> Result<(), Self::Error>;
}

/// How a transaction ends ([`Transport::transaction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionEnd {
    /// Leave the card as it is.
    Leave,
    /// Reset the card as the transaction ends (PC/SC `SCARD_RESET_CARD`): its security state
    /// (verified PINs, authentications, secure channels) is lost, and the ATR is read again.
    Reset,
}

/// [`Transport::transaction`] for a transport that is exclusive anyway (nobody else can talk
/// to the card): runs `body` over `transport`, then resets the card when `body` asks for it.
///
/// # Errors
/// A backend error from [`Transport::reset`].
pub fn exclusive_transaction<T: Transport>(
    transport: &mut T,
    body: &mut dyn FnMut(&mut dyn Transport<Error = T::Error>) -> TransactionEnd,
) -> Result<(), T::Error> {
    match body(transport) {
        TransactionEnd::Leave => Ok(()),
        TransactionEnd::Reset => transport.reset(),
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    type Error = T::Error;

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error> {
        (**self).transmit(command, response)
    }

    fn atr(&self) -> &[u8] {
        (**self).atr()
    }

    fn protocol(&self) -> Option<Protocol> {
        (**self).protocol()
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        (**self).reset()
    }

    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = Self::Error>) -> TransactionEnd,
    ) -> Result<(), Self::Error> {
        (**self).transaction(body)
    }
}
