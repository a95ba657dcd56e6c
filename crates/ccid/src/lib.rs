#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod descriptor;
pub mod engine;
mod error;
#[cfg(test)]
mod error_messages;
pub mod message;
pub mod params;
pub mod secure;
pub mod serial;
pub mod sim;
mod status;
#[cfg(feature = "usb-device")]
pub mod usb;

pub use error::Error;
pub use message::MessageType;
pub use status::{ClockStatus, CommandStatus, IccStatus, SlotError, SlotStatus};
