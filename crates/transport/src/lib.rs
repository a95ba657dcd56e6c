#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod asynch;
pub mod atr_info;
pub mod capabilities;
pub mod card;
pub mod card_side;
pub mod fault;
pub mod handler;
pub mod in_process;
pub mod part10;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod replay;
pub mod secure;
pub mod session;
pub mod trace;
pub mod transport;
pub mod uart;
#[cfg(feature = "std")]
pub mod vpcd;

pub use asynch::{AsyncTransport, Blocking};
pub use atr_info::{apply_ef_atr, capabilities_from_atr, capabilities_from_historical_bytes};
pub use capabilities::Capabilities;
pub use card::{Card, CardError, CardResult, Transaction};
pub use fault::{Fault, FaultError, Faulty};
pub use handler::CardHandler;
pub use in_process::InProcess;
pub use replay::Replay;
#[cfg(feature = "alloc")]
pub use replay::TranscriptWriter;
pub use secure::{NoSecureChannel, SecureChannel, SecureChannelError, SecureChannelErrorKind};
pub use session::{AsyncSession, Session};
#[cfg(feature = "std")]
pub use trace::StdSink;
pub use trace::{CommandTrace, FmtSink, ResponseTrace, TraceEvent, TraceSink, Traced};
pub use transport::{Error, ErrorKind, Transport};
pub use uart::{
    AsyncClock, AsyncT0Uart, AsyncT1Uart, AsyncUartTransport, Clock, LinkEngine, T0Uart, T1Uart,
    UartError, UartTransport,
};
