//! What a [`CardPin`](super::CardPin) stores: the reference a [`PinVerifier`] makes of a value.

use crate::PinData;

use super::config::Secret;

/// Turns a PIN or PUK value (its wire bytes) into the reference a [`CardPin`](super::CardPin) stores and
/// compares (in constant time). Both the stored value and every presented value pass
/// through it, so with a one-way function no plaintext PIN is kept.
///
/// ```
/// use cardwire_pin::{CardPin, CardPinConfig, Pin, PinData, PinOutcome, PinVerifier, Secret};
/// /// A toy transform (a real one is a salted hash).
/// struct Reversed;
/// impl PinVerifier for Reversed {
///     fn reference(&self, _secret: Secret, value: &[u8]) -> PinData {
///         let mut out = PinData::new();
///         for b in value.iter().rev() {
///             let _ = out.extend(&[*b]);
///         }
///         out
///     }
/// }
/// let mut pin = CardPin::with_verifier(CardPinConfig::PIV, Reversed, Some(&Pin::new(b"123456")?), None)?;
/// assert_eq!(pin.state().pin, Some(&b"\xFF\xFF654321"[..]));
/// assert_eq!(pin.verify(b"123456\xFF\xFF", &mut ()), PinOutcome::Verified);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
pub trait PinVerifier {
    /// The reference stored for (or compared with) `value` of `secret`. `value` is at most
    /// [`PinData::CAPACITY`] bytes.
    fn reference(&self, secret: Secret, value: &[u8]) -> PinData;

    /// Called just before a new value of `secret` is stored (a change, an unblock with a new
    /// PIN, an administrator reset): the place to rotate a salt. Does nothing by default.
    fn rekey(&mut self, secret: Secret) {
        let _ = secret;
    }
}

/// The [`PinVerifier`] that stores the wire bytes themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Plain;

impl PinVerifier for Plain {
    fn reference(&self, _secret: Secret, value: &[u8]) -> PinData {
        PinData::from_slice(value).unwrap_or_default()
    }
}
