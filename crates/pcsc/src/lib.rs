#![cfg_attr(feature = "backend", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "backend"),
    doc = "A PC/SC backend for cardwire. Built without its `backend` feature (which links \
           libpcsclite, Debian `libpcsclite-dev`), this crate holds only the PC/SC Part 10 \
           reader-feature parsing in [`part10`]; enable `backend` for readers, cards and \
           transactions."
)]
#![forbid(unsafe_code)]

#[cfg(feature = "backend")]
pub mod card;
#[cfg(feature = "backend")]
pub mod context;
#[cfg(feature = "backend")]
pub mod error;
#[cfg(all(test, feature = "backend"))]
mod error_messages;
pub mod part10;
pub mod recovery;

#[cfg(feature = "backend")]
pub use ::pcsc::{Attribute, Protocol, Protocols};
#[cfg(feature = "backend")]
pub use card::{
    CardStatus, Disposition, OwnedFeatureList, PcscCard, PcscTransaction, Share, control_code,
};
#[cfg(feature = "backend")]
pub use context::{Canceller, Context, Monitor, ReaderEvent, ReaderStatus};
#[cfg(feature = "backend")]
pub use error::{Operation, PcscError, Reason};
