#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod active_auth;
pub mod bac;
pub mod channel;
pub mod chip_auth;
pub mod error;
#[cfg(test)]
mod error_messages;
mod frame;
pub mod kdf;
pub mod mrz;
mod objects;
pub mod pace;
pub mod pace_card;
pub mod pace_driver;
pub mod pace_group;
pub mod padding;
#[cfg(feature = "alloc")]
pub mod passive;
pub mod primitives;
pub mod scp03;
pub mod security_infos;
pub mod session;
pub mod sod;
pub mod suite;

#[cfg(test)]
mod test_util;

pub use bac::{BacCard, BacHost, BacKeys, MrzInfo};
pub use error::{Error, MrzField};
/// The `rand_core` the drivers in [`channel`] take their randomness from (`TryCryptoRng`).
pub use rand_core;
pub use scp03::{Scp03Card, Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
pub use session::{Role, SmSession, StatusPolicy};
pub use suite::{AesSuite, CipherSuite, TdesSuite};
