//! [`PcscError`]: the PC/SC operation that failed ([`Operation`]) and why ([`Reason`]).

use core::fmt;

use cardwire_transport::{Error as TransportError, ErrorKind};

#[cfg(doc)]
use crate::Context;

/// The PC/SC operation that failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `SCardEstablishContext`.
    Establish,
    /// `SCardListReaders`.
    ListReaders,
    /// `SCardGetStatusChange`.
    WaitForChange,
    /// `SCardConnect`.
    Connect,
    /// `SCardReconnect`.
    Reconnect,
    /// `SCardStatus`.
    Status,
    /// `SCardTransmit`.
    Transmit,
    /// `SCardTransmit` inside a transaction.
    TransmitInTransaction,
    /// `SCardBeginTransaction`.
    BeginTransaction,
    /// `SCardEndTransaction`.
    EndTransaction,
    /// `SCardControl`.
    Control,
    /// `SCardControl(CM_IOCTL_GET_FEATURE_REQUEST)` and parsing its answer.
    GetFeatures,
    /// `SCardGetAttrib`.
    GetAttribute,
    /// `SCardDisconnect`.
    Disconnect,
}

impl Operation {
    fn describe(self) -> &'static str {
        match self {
            Operation::Establish => "connect to the smart card service",
            Operation::ListReaders => "list the smart card readers",
            Operation::WaitForChange => "wait for a reader or card event",
            Operation::Connect => "connect to the card",
            Operation::Reconnect => "reconnect to the card",
            Operation::Status => "read the card status",
            Operation::Transmit => "send the command to the card",
            Operation::TransmitInTransaction => "send the command to the card in a transaction",
            Operation::BeginTransaction => "start a transaction",
            Operation::EndTransaction => "end the transaction",
            Operation::Control => "send a control command to the reader",
            Operation::GetFeatures => "read the reader's PC/SC Part 10 features",
            Operation::GetAttribute => "read a reader attribute",
            Operation::Disconnect => "disconnect from the card",
        }
    }
}

/// Why a PC/SC operation failed, grouped the way a caller reacts.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The smart card service (pcscd) is not running or stopped.
    ServiceNotRunning,
    /// There are no readers.
    NoReaders,
    /// No reader has the given name (it may have been unplugged).
    UnknownReader,
    /// The reader has no card.
    NoCard,
    /// The card was removed; anything in progress (a transaction) is lost.
    CardRemoved,
    /// The card was reset (by another application, or by us through another handle); its
    /// state (selected files, verified PINs, secure channels) is lost. Reconnect to go on.
    CardReset,
    /// Another application holds the card exclusively (or holds a transaction).
    SharingViolation,
    /// The wait or the card timed out.
    Timeout,
    /// The wait was cancelled.
    Cancelled,
    /// The card does not answer (mute, or inserted the wrong way).
    UnresponsiveCard,
    /// The card is not powered.
    UnpoweredCard,
    /// The card or reader does not speak the requested protocol.
    ProtocolMismatch,
    /// The reader or driver does not support the operation.
    Unsupported,
    /// The answer did not fit the buffer.
    BufferTooSmall,
    /// The reader's answer was malformed.
    MalformedAnswer,
    /// The parameters were refused.
    InvalidParameter,
    /// The connection to the card was lost (it was disconnected); connect again.
    ConnectionLost,
    /// After a reset by another application, the card in the reader answers with another
    /// ATR than the one the connection started with: it is not the card the session knew.
    DifferentCard,
    /// Anything else; see [`PcscError::code`].
    Other,
}

impl Reason {
    /// A message a user can act on.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::ServiceNotRunning => {
                "the smart card service (pcscd) is not running; start it (Debian: apt install pcscd)"
            }
            Reason::NoReaders => "no smart card reader is connected",
            Reason::UnknownReader => "no reader has that name (was it unplugged?)",
            Reason::NoCard => "there is no card in the reader",
            Reason::CardRemoved => "the card was removed; anything in progress was lost",
            Reason::CardReset => {
                "the card was reset by another application; its state is lost, reconnect to go on"
            }
            Reason::SharingViolation => "another application is using the card exclusively",
            Reason::Timeout => "timed out",
            Reason::Cancelled => "cancelled",
            Reason::UnresponsiveCard => "the card does not answer (is it inserted the right way?)",
            Reason::UnpoweredCard => "the card is not powered",
            Reason::ProtocolMismatch => "the card does not support the requested protocol",
            Reason::Unsupported => "the reader or its driver does not support this",
            Reason::BufferTooSmall => "the answer is larger than the buffer",
            Reason::MalformedAnswer => "the reader's answer is malformed",
            Reason::InvalidParameter => "the service refused the parameters",
            Reason::ConnectionLost => "the connection to the card was lost; connect again",
            Reason::DifferentCard => {
                "the card was reset and now answers with another ATR: it is not the same card"
            }
            Reason::Other => "the smart card service reported an error",
        }
    }

    fn of(code: ::pcsc::Error) -> Self {
        use ::pcsc::Error as E;
        match code {
            E::NoService | E::ServiceStopped | E::Shutdown | E::InvalidHandle => {
                Reason::ServiceNotRunning
            }
            E::NoReadersAvailable => Reason::NoReaders,
            E::UnknownReader | E::ReaderUnavailable => Reason::UnknownReader,
            E::NoSmartcard => Reason::NoCard,
            E::RemovedCard => Reason::CardRemoved,
            E::ResetCard => Reason::CardReset,
            E::SharingViolation => Reason::SharingViolation,
            E::Timeout => Reason::Timeout,
            E::Cancelled => Reason::Cancelled,
            E::UnresponsiveCard => Reason::UnresponsiveCard,
            E::UnpoweredCard => Reason::UnpoweredCard,
            E::ProtoMismatch => Reason::ProtocolMismatch,
            E::UnsupportedFeature | E::ReaderUnsupported | E::CardUnsupported => {
                Reason::Unsupported
            }
            E::InsufficientBuffer => Reason::BufferTooSmall,
            E::InvalidParameter | E::InvalidValue => Reason::InvalidParameter,
            _ => Reason::Other,
        }
    }
}

/// A PC/SC failure: which operation, why, and the PC/SC code when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PcscError {
    operation: Operation,
    reason: Reason,
    code: Option<::pcsc::Error>,
}

impl PcscError {
    pub(crate) fn new(operation: Operation, code: ::pcsc::Error) -> Self {
        Self {
            operation,
            reason: Reason::of(code),
            code: Some(code),
        }
    }

    pub(crate) fn without_code(operation: Operation, reason: Reason) -> Self {
        Self {
            operation,
            reason,
            code: None,
        }
    }

    /// "No readers", for callers that pick a reader from [`Context::readers`].
    pub fn no_readers() -> Self {
        Self::without_code(Operation::ListReaders, Reason::NoReaders)
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// Why it failed.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The PC/SC return code, if the failure came from the service.
    pub fn code(&self) -> Option<::pcsc::Error> {
        self.code
    }

    /// The failure's class for recovery ([`crate::recovery`]).
    pub fn failure(&self) -> crate::recovery::Failure {
        use crate::recovery::Failure;
        match (self.code, self.reason) {
            (Some(code), _) => Failure::from_code(code as u32),
            (
                None,
                Reason::CardRemoved
                | Reason::NoCard
                | Reason::ConnectionLost
                | Reason::DifferentCard,
            ) => Failure::CardRemoved,
            (None, Reason::CardReset) => Failure::CardReset,
            (None, Reason::ServiceNotRunning) => Failure::ServiceStopped,
            (None, Reason::NoReaders | Reason::UnknownReader) => Failure::ReaderGone,
            (None, _) => Failure::Other,
        }
    }
}

impl fmt::Display for PcscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {}: {}",
            self.operation.describe(),
            self.reason.describe()
        )?;
        if let Some(code) = self.code {
            write!(f, " (PC/SC: {code:?}, {code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PcscError {}

impl TransportError for PcscError {
    fn kind(&self) -> ErrorKind {
        match self.reason {
            Reason::ServiceNotRunning | Reason::NoReaders | Reason::UnknownReader => {
                ErrorKind::NoService
            }
            Reason::NoCard
            | Reason::CardRemoved
            | Reason::ConnectionLost
            | Reason::DifferentCard => ErrorKind::CardRemoved,
            Reason::CardReset => ErrorKind::CardReset,
            Reason::Timeout | Reason::UnresponsiveCard => ErrorKind::Timeout,
            Reason::BufferTooSmall => ErrorKind::BufferTooSmall,
            Reason::Unsupported => ErrorKind::Unsupported,
            Reason::ProtocolMismatch | Reason::MalformedAnswer => ErrorKind::Protocol,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardwire_transport::ErrorKind;

    #[test]
    fn reasons_map_to_kinds_and_messages() {
        let e = PcscError::new(Operation::Establish, ::pcsc::Error::NoService);
        assert_eq!(e.reason(), Reason::ServiceNotRunning);
        assert_eq!(e.kind(), ErrorKind::NoService);
        let text = e.to_string();
        assert!(
            text.contains("pcscd") && text.contains("not running"),
            "{text}"
        );

        let e = PcscError::new(Operation::TransmitInTransaction, ::pcsc::Error::RemovedCard);
        assert_eq!(e.kind(), ErrorKind::CardRemoved);
        assert!(e.to_string().contains("in a transaction"));

        let e = PcscError::new(Operation::Transmit, ::pcsc::Error::ResetCard);
        assert_eq!(e.kind(), ErrorKind::CardReset);
        assert!(e.to_string().contains("reset by another application"));

        let e = PcscError::new(Operation::Connect, ::pcsc::Error::SharingViolation);
        assert_eq!(e.reason(), Reason::SharingViolation);
        let e = PcscError::new(Operation::Connect, ::pcsc::Error::NoSmartcard);
        assert_eq!(e.reason(), Reason::NoCard);
        assert_eq!(PcscError::no_readers().reason(), Reason::NoReaders);
    }
}
