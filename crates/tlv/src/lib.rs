#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
mod builder;
pub mod compact;
mod encode;
mod error;
mod flat;
mod header;
pub mod names;
mod options;
pub mod simple;
mod tag;
mod tlv;
mod walker;
mod writer;

#[cfg(feature = "alloc")]
pub use builder::Builder;
pub use encode::{encode, encoded_len, write_header, write_tlv};
pub use error::Error;
pub use flat::{Flat, parse_flat};
pub use options::{Mode, Options};
pub use tag::{Class, Tag, TagBytes};
pub use tlv::{Descendants, Tlv, Tlvs, parse_all};
pub use walker::Walker;
pub use writer::{SliceWriter, Writer};
