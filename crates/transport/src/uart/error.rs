//! [`UartError`]: what a UART driver reports.

use core::fmt;

use crate::transport::{Error, ErrorKind};

/// A UART driver error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UartError<E> {
    /// The UART failed.
    Io(E),
    /// The link protocol failed (see [`cardwire_link::Error`]): timeouts that recovery could
    /// not repair, a dead link, a card that kept asking for more time.
    Link(cardwire_link::Error),
    /// The ATR given to the driver is not an ATR.
    Atr(cardwire_link::Error),
    /// The caller's response buffer cannot hold the response.
    BufferTooSmall,
    /// The operation needs the card's reset line, which the driver does not own.
    Unsupported,
}

impl<E: embedded_io::Error> Error for UartError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            UartError::Io(e) => match e.kind() {
                embedded_io::ErrorKind::TimedOut => ErrorKind::Timeout,
                _ => ErrorKind::Other,
            },
            UartError::Link(
                cardwire_link::Error::Timeout | cardwire_link::Error::DeadlineExceeded,
            ) => ErrorKind::Timeout,
            UartError::Link(_) | UartError::Atr(_) => ErrorKind::Protocol,
            UartError::BufferTooSmall => ErrorKind::BufferTooSmall,
            UartError::Unsupported => ErrorKind::Unsupported,
        }
    }
}

impl<E: fmt::Debug> fmt::Display for UartError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UartError::Io(e) => write!(f, "UART failed: {e:?}"),
            UartError::Link(e) => write!(f, "T=1 failed: {e}"),
            UartError::Atr(e) => write!(f, "invalid ATR: {e}"),
            UartError::BufferTooSmall => f.write_str("the response buffer is too small"),
            UartError::Unsupported => f.write_str(
                "resetting the card needs its reset line: reset it and create a new driver",
            ),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for UartError<E> {}
