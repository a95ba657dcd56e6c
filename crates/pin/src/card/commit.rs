//! Committing a [`CardPin`]'s state to non-volatile memory at the moments the counter rule
//! requires.

use cardwire_apdu::StatusWord;

use super::card_pin::CardPin;
use super::verifier::PinVerifier;

/// Called by every [`CardPin`] operation to commit its state to non-volatile memory: after a
/// retry counter is decremented and **before** the comparison, and again after every
/// successful change (counter restored, new value, reset). An `Err` status word becomes the
/// command's answer.
///
/// A closure `FnMut(&CardPin<V>) -> Result<(), StatusWord>` is a `Commit`; so is `()`, for a
/// PIN kept only in RAM (a test, or a card whose state is saved some other way).
///
/// ```
/// use cardwire_apdu::StatusWord;
/// use cardwire_pin::{CardPin, CardPinConfig, Pin, PinOutcome};
/// let mut pin = CardPin::new(CardPinConfig::PIV, Some(&Pin::new(b"123456")?), None)?;
/// // RAM only:
/// assert_eq!(pin.verify(b"123456\xFF\xFF", &mut ()), PinOutcome::Verified);
/// // With non-volatile memory: the counter is saved before the comparison.
/// let mut saved = Vec::new();
/// let mut commit = |p: &CardPin| -> Result<(), StatusWord> {
///     saved.push(p.retries_left());
///     Ok(())
/// };
/// assert_eq!(pin.verify(b"000000\xFF\xFF", &mut commit), PinOutcome::WrongPin { retries_left: 2 });
/// assert_eq!(saved, [2]);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
pub trait Commit<V: PinVerifier> {
    /// Saves `pin`'s state ([`CardPin::state`]).
    ///
    /// # Errors
    /// The status word the card answers when the state cannot be saved (typically
    /// [`StatusWord::MEMORY_FAILURE`], `6581`).
    fn commit(&mut self, pin: &CardPin<V>) -> Result<(), StatusWord>;
}

/// Nothing to commit: the state lives in RAM only.
impl<V: PinVerifier> Commit<V> for () {
    fn commit(&mut self, _pin: &CardPin<V>) -> Result<(), StatusWord> {
        Ok(())
    }
}

impl<V: PinVerifier, F: FnMut(&CardPin<V>) -> Result<(), StatusWord>> Commit<V> for F {
    fn commit(&mut self, pin: &CardPin<V>) -> Result<(), StatusWord> {
        self(pin)
    }
}
