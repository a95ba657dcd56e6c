#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub mod attribute;
pub mod backend;
pub mod config;
pub mod error;
pub mod ffi;
pub mod log;
pub mod mechanism;
pub mod module;
pub mod object;
#[cfg(feature = "pcsc")]
pub mod pcsc_source;
pub mod random;
pub mod token;
#[cfg(feature = "virtual-card")]
pub mod virtual_card;

pub use error::{Result, Rv};
pub use module::Module;
