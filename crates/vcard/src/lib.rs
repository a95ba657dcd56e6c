#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod atr;
pub mod card;
pub mod emrtd_pki;
pub mod error;
#[cfg(test)]
mod error_messages;
pub mod fs;
pub mod identity;
pub mod mrz;
pub mod personalise;
pub mod piv;
pub mod state;
pub mod verifier;

pub use card::VirtualCard;
pub use error::Error;
pub use identity::{CardSerial, Identity, Seed, UserId};
pub use mrz::Mrz;
pub use state::{CardState, StateFile};
