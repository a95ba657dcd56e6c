#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod async_card;
pub mod asynch;
pub mod card;
pub mod card_error;
pub mod card_side;
mod engine;
#[cfg(test)]
mod error_messages;
#[cfg(feature = "testing")]
pub mod fault;
#[cfg(feature = "testing")]
pub mod replay;
pub mod secure;
pub mod session;
pub mod trace;
pub mod transport;
#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
pub mod uart;

pub use async_card::{AsyncCard, AsyncCardResult};
pub use asynch::{AsyncTransport, Blocking};
pub use card::{Card, InTransaction, ReleasePolicy};
pub use card_error::{CardError, CardResult};
pub use card_side::{CardHandler, InProcess};
#[cfg(feature = "testing")]
pub use fault::{Fault, FaultError, Faulty};
#[cfg(feature = "testing")]
pub use replay::Replay;
#[cfg(all(feature = "testing", feature = "alloc"))]
pub use replay::TranscriptWriter;
pub use secure::{NoSecureChannel, SecureChannel, SecureChannelError, SecureChannelErrorKind};
pub use session::{AsyncSession, Session};
#[cfg(feature = "std")]
pub use trace::StdSink;
pub use trace::{CommandTrace, FmtSink, ResponseTrace, TraceEvent, TraceSink, Traced};
pub use transport::{Error, ErrorKind, Protocol, TransactionEnd, Transport, exclusive_transaction};
#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
pub use uart::{AsyncClock, Clock, LinkEngine, UartError};
#[cfg(feature = "embedded-io-async")]
pub use uart::{AsyncT0Uart, AsyncT1Uart, AsyncUartTransport};
#[cfg(feature = "embedded-io")]
pub use uart::{T0Uart, T1Uart, UartTransport};
