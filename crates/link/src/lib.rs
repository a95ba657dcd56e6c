#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod atr;
mod error;
pub mod pps;
#[cfg(feature = "sim")]
pub mod sim;
pub mod t0;
pub mod t1;
mod time;

pub use error::Error;
pub use time::{DEFAULT_EXCHANGE_DEADLINE_MICROS, Instant, Timing};
