//! The card side: [`CardPin`], a PIN with its retry counter and optional PUK, as card
//! firmware and the virtual card keep it.
//!
//! Rules (ISO/IEC 7816-4 §11.5.6-§11.5.10, and the usual card OS practice):
//! - the retry counter is **decremented before the comparison** and restored to the limit only
//!   when the comparison succeeds, so cutting the power mid-command costs a try instead of
//!   giving a free one;
//! - at zero the PIN is **blocked** (`6983`), even for the right PIN;
//! - the PUK (reset code) has its own limit and counter; RESET RETRY COUNTER with the right PUK
//!   resets the PIN counter (and sets a new PIN); when the PUK counter reaches zero too the PIN
//!   is blocked for good (only an administrator reset, P1 `02`/`03`, can help);
//! - comparisons run in constant time (`subtle`) over the whole stored buffer;
//! - malformed input (wrong length for a fixed-length format, a new PIN that breaks the
//!   format or policy) is refused **before** any counter changes;
//! - stored values are zeroized when replaced and on drop.
//!
//! The stored value need not be the PIN itself: a [`PinVerifier`] turns every value (the
//! stored one and each presented one) into its reference, for example a salted hash, so a
//! persisted copy of the state holds no plaintext PIN. [`Plain`] keeps the wire bytes.
//! Every operation takes a [`Commit`] that lets the caller commit the state to non-volatile memory after the
//! counter is decremented and before the comparison (and after every later change).
//!
//! Files: [`config`] (set-up and the secret addressed), [`verifier`]
//! (what is stored), [`commit`] (non-volatile memory), [`card_pin`]
//! (the object and its counters), [`operations`] (the commands) and
//! [`persistence`] (its byte layout).

pub mod card_pin;
pub mod commit;
pub mod config;
pub mod operations;
pub mod persistence;
pub mod verifier;

pub use card_pin::{CardPin, CardPinState};
pub use commit::Commit;
pub use config::{CardPinConfig, Secret};
pub use verifier::{PinVerifier, Plain};

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::Pin;

    /// A PIN in the PIV wire format (ASCII padded with `FF` to 8 bytes).
    pub(crate) fn piv(pin: &[u8]) -> [u8; 8] {
        let mut b = [0xFF; 8];
        b[..pin.len()].copy_from_slice(pin);
        b
    }

    /// A PIV card: PIN 123456, PUK 87654321.
    pub(crate) fn card() -> CardPin {
        CardPin::new(
            CardPinConfig::PIV,
            Some(&Pin::new(b"123456").unwrap()),
            Some(&Pin::new(b"87654321").unwrap()),
        )
        .unwrap()
    }
}
