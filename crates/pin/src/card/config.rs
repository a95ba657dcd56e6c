//! How a [`CardPin`](super::CardPin) is set up and which secret a command addresses.

use crate::{Error, PinFormat, PinPolicy};

/// How a [`CardPin`](super::CardPin) is set up: formats, policy and retry limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CardPinConfig {
    /// The PIN's format on the wire (also used to split `old || new` data fields).
    pub format: PinFormat,
    /// Rules a new PIN must meet.
    pub policy: PinPolicy,
    /// Tries before the PIN blocks, 1 to 15.
    pub retry_limit: u8,
    /// The PUK's format on the wire.
    pub puk_format: PinFormat,
    /// Tries before the PUK blocks, 1 to 15.
    pub puk_retry_limit: u8,
}

impl CardPinConfig {
    /// PIV-style (NIST SP 800-73-4 Part 2 §3.2.1): a PIN of 6 to 8 digits and an 8-byte PUK,
    /// both padded with `FF` to 8 bytes; 3 tries each (the limits are the issuer's choice).
    pub const PIV: Self = CardPinConfig {
        format: PinFormat::PIV,
        policy: PinPolicy::PIV_PIN,
        retry_limit: 3,
        puk_format: PinFormat::PIV,
        puk_retry_limit: 3,
    };
}

/// Which secret a [`CardPin::process`](super::CardPin::process) command addresses: the PIN or its PUK (each has its own
/// reference, so the card maps P2 to one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secret {
    /// The PIN itself.
    Pin,
    /// The PUK / reset code of the PIN.
    Puk,
}

/// A retry limit must be 1 to 15 (it is reported in the low nibble of `63Cx`).
pub(super) fn check_limit(limit: u8, offset: usize) -> Result<(), Error> {
    if (1..=15).contains(&limit) {
        Ok(())
    } else {
        Err(Error::Invalid {
            offset,
            what: "retry limit must be 1 to 15",
        })
    }
}

/// A counter may not be above its limit.
pub(super) fn check_counter(left: u8, limit: u8, offset: usize) -> Result<(), Error> {
    if left <= limit {
        Ok(())
    } else {
        Err(Error::Invalid {
            offset,
            what: "retry counter is above its limit",
        })
    }
}
