#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod card;
pub mod codec;
pub mod command;
pub mod entry_format;
pub mod error;
#[cfg(test)]
mod error_messages;
pub mod format;
pub mod host;
pub mod modify_structure;
pub mod outcome;
pub mod pinpad;
pub mod policy;
pub mod reference;
pub mod secret;
pub mod state;
pub mod verify_structure;

pub use card::{CardPin, CardPinConfig, CardPinState, Commit, PinVerifier, Plain, Secret};
pub use command::PinCommand;
pub use entry_format::{DigitCoding, EntryFormat, Justification, Units};
pub use error::Error;
pub use format::{Padding, PinFormat};
pub use host::{HostError, PinHost, PinHostError, PinSpec};
pub use modify_structure::{ConfirmPin, ModifyStructure};
pub use outcome::PinOutcome;
pub use policy::{Charset, PinPolicy};
pub use reference::PinReference;
pub use secret::{Pin, PinData};
pub use state::{PinOperation, PinState, PinStates};
pub use verify_structure::{EntryValidation, VerifyStructure};
