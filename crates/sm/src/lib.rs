#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod apdu;
pub mod bac;
pub mod channel;
pub mod error;
pub mod kdf;
mod objects;
pub mod padding;
pub mod primitives;
pub mod rng;
pub mod scp03;
pub mod session;
pub mod suite;

#[cfg(test)]
mod test_util;

pub use bac::{BacCard, BacHost, BacKeys, MrzInfo};
pub use error::{Error, MrzField};
pub use rng::Rng;
pub use scp03::{Scp03Card, Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
pub use session::{Role, SmSession};
pub use suite::{AesSuite, CipherSuite, TdesSuite};
