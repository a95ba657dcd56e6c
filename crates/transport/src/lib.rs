#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod handler;
pub mod transport;

pub use handler::CardHandler;
pub use transport::{Error, ErrorKind, Transport};
