#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod card;
pub mod cla;
pub mod command;
pub mod commands;
pub mod error;
#[cfg(test)]
mod error_messages;
pub mod exchange;
pub mod fci;
pub mod ins;
pub mod response;
pub mod status;

/// The output trait of `cardwire-tlv`, reused: [`CommandRepr::write_to`] encodes into any writer.
pub use cardwire_tlv::Writer;
pub use cla::{Cla, ClaKind, SecureMessaging};
pub use command::{Case, Command, CommandRepr, LengthForm};
pub use error::Error;
pub use ins::Ins;
pub use response::{Response, ResponseRepr};
pub use status::{StatusClass, StatusWord};
