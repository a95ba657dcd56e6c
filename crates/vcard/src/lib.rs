#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod atr;
pub mod card;
pub mod error;
pub mod fs;
pub mod identity;
pub mod mrz;
pub mod personalise;
pub mod piv;
pub mod state;

pub use card::VirtualCard;
pub use error::Error;
pub use identity::{CardSerial, Identity, Seed, UserId};
pub use mrz::Mrz;
pub use state::{CardState, StateFile};
