//! The card side: what card firmware, emulators and test cards implement, and the in-process
//! transport that connects a host to them. Nothing here needs the host session ([`crate::Card`]).
//!
//! - [`CardHandler`]: power events and one command APDU in, one response out.
//! - [`InProcess`]: a [`Transport`](crate::Transport) that hands each command straight to a
//!   [`CardHandler`] in the same process.
//! - [`CardApplication`] and [`ExchangeHandler`]: an application that sees whole logical
//!   commands, with command chaining and GET RESPONSE done by [`CardExchange`] (re-exported
//!   from [`cardwire_apdu::card`]; ISO/IEC 7816-4 §5.3.3, §5.3.4).
//!
//! `cardwire-vpcd` serves a [`CardHandler`] to a real pcscd.

mod application;
mod handler;
mod in_process;

pub use application::{CardApplication, ExchangeHandler};
pub use cardwire_apdu::card::{CardExchange, Incoming};
pub use handler::CardHandler;
pub use in_process::InProcess;
