#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod card;
pub mod context;
pub mod error;
pub mod part10;

pub use ::pcsc::{Attribute, Protocol, Protocols};
pub use card::{
    CardStatus, Disposition, OwnedFeatureList, PcscCard, PcscTransaction, Share, control_code,
};
pub use context::{Context, Monitor, ReaderEvent, ReaderStatus};
pub use error::{Operation, PcscError, Reason};
