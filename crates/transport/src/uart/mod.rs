//! UART drivers: the T=1 and T=0 engines of `cardwire-link` over `embedded-io` (blocking) and
//! `embedded-io-async` (async), as [`Transport`](crate::Transport) and [`AsyncTransport`](crate::AsyncTransport) implementations.
//!
//! Each driver is the short loop of the engine's driving order (ISO/IEC 7816-3 §10, §11): send
//! what the engine has to send, feed it the bytes that come back, and tell it when its
//! deadline passed. Time comes from a [`Clock`] (blocking) or an [`AsyncClock`] (async) the
//! caller provides; the engine never reads a clock itself.
//!
//! The drivers start from an ATR the caller has read after resetting the card (the reset line
//! is board-specific): [`Transport::reset`](crate::Transport::reset) re-synchronises the engine and reports
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) so that the caller resets the card and creates a new driver.
//!
//! One concept per file: [`Clock`]/[`AsyncClock`] (`clock`), [`UartError`] (`error`), the
//! shared engine glue [`LinkEngine`] (`engine`), the blocking [`UartTransport`] (feature
//! `embedded-io`) and the async [`AsyncUartTransport`] (feature `embedded-io-async`).

#[cfg(feature = "embedded-io-async")]
mod asynch;
#[cfg(feature = "embedded-io")]
mod blocking;
mod clock;
mod engine;
mod error;

#[cfg(feature = "embedded-io-async")]
pub use asynch::{AsyncT0Uart, AsyncT1Uart, AsyncUartTransport};
#[cfg(feature = "embedded-io")]
pub use blocking::{T0Uart, T1Uart, UartTransport};
pub use clock::{AsyncClock, Clock};
pub use engine::LinkEngine;
pub use error::UartError;

/// Default APDU buffer of a T=1 driver: a short command or response with room to spare.
pub const DEFAULT_APDU_BUFFER: usize = 261;
