//! The [`CardPin`] object: its value, PUK, counters and verified flag.

use crate::{Error, Pin, PinData};

use super::config::{CardPinConfig, Secret};
use super::config::{check_counter, check_limit};
use super::verifier::{PinVerifier, Plain};

/// The persistent part of a [`CardPin`]: limits, counters and the stored references (see
/// [`CardPin::state`], [`CardPin::set_state`]). With [`Plain`] the references are the PIN
/// and PUK themselves: protect them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardPinState<'a> {
    /// The PIN's retry limit, 1 to 15.
    pub retry_limit: u8,
    /// PIN tries left, at most the limit.
    pub retries_left: u8,
    /// The stored PIN reference, if a PIN is set.
    pub pin: Option<&'a [u8]>,
    /// The PUK's retry limit, 1 to 15.
    pub puk_retry_limit: u8,
    /// PUK tries left, at most the limit.
    pub puk_retries_left: u8,
    /// The stored PUK reference, if a PUK is set.
    pub puk: Option<&'a [u8]>,
}

/// A card-side PIN with its retry counter and optional PUK.
///
/// ```
/// use cardwire_pin::{CardPin, CardPinConfig, Pin, PinOutcome};
/// let mut pin = CardPin::new(CardPinConfig::PIV, Some(&Pin::new(b"123456")?), Some(&Pin::new(b"12345678")?))?;
/// let wrong = b"000000\xFF\xFF";
/// assert_eq!(pin.verify(wrong, &mut ()), PinOutcome::WrongPin { retries_left: 2 });
/// assert_eq!(pin.verify(b"123456\xFF\xFF", &mut ()), PinOutcome::Verified);
/// assert!(pin.is_verified());
/// assert_eq!(pin.retries_left(), 3);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
pub struct CardPin<V: PinVerifier = Plain> {
    pub(super) config: CardPinConfig,
    pub(super) verifier: V,
    pub(super) retry_limit: u8,
    pub(super) retries_left: u8,
    pub(super) value: Option<PinData>,
    pub(super) puk_retry_limit: u8,
    pub(super) puk_retries_left: u8,
    pub(super) puk: Option<PinData>,
    pub(super) verified: bool,
}

impl CardPin {
    /// A PIN object with `pin` (or none: then it answers `6984` until an administrator sets
    /// one) and `puk` (or none: then it cannot be unblocked with a PUK), storing the values
    /// themselves ([`Plain`]).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a retry limit outside 1..=15; a format or policy error when the
    /// initial PIN or PUK does not fit the configuration.
    pub fn new(config: CardPinConfig, pin: Option<&Pin>, puk: Option<&Pin>) -> Result<Self, Error> {
        Self::with_verifier(config, Plain, pin, puk)
    }
}

impl<V: PinVerifier> CardPin<V> {
    /// Like [`CardPin::new`], storing what `verifier` makes of each value instead of the
    /// value.
    ///
    /// # Errors
    /// As [`CardPin::new`].
    pub fn with_verifier(
        config: CardPinConfig,
        verifier: V,
        pin: Option<&Pin>,
        puk: Option<&Pin>,
    ) -> Result<Self, Error> {
        check_limit(config.retry_limit, 0)?;
        check_limit(config.puk_retry_limit, 0)?;
        let value = match pin {
            Some(p) => {
                config.policy.check(p)?;
                let wire = config.format.encode(p)?;
                Some(verifier.reference(Secret::Pin, wire.expose_secret()))
            }
            None => None,
        };
        let puk = match puk {
            Some(p) => {
                let wire = config.puk_format.encode(p)?;
                Some(verifier.reference(Secret::Puk, wire.expose_secret()))
            }
            None => None,
        };
        Ok(CardPin {
            config,
            verifier,
            retry_limit: config.retry_limit,
            retries_left: config.retry_limit,
            value,
            puk_retry_limit: config.puk_retry_limit,
            puk_retries_left: config.puk_retry_limit,
            puk,
            verified: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CardPinConfig {
        &self.config
    }

    /// An explicit copy (stored values are secrets, so there is no `Clone`); the copy is
    /// not verified.
    pub fn duplicate(&self) -> Self
    where
        V: Clone,
    {
        CardPin {
            config: self.config,
            verifier: self.verifier.clone(),
            retry_limit: self.retry_limit,
            retries_left: self.retries_left,
            value: self.value.as_ref().map(PinData::duplicate),
            puk_retry_limit: self.puk_retry_limit,
            puk_retries_left: self.puk_retries_left,
            puk: self.puk.as_ref().map(PinData::duplicate),
            verified: false,
        }
    }

    /// The verifier.
    pub fn verifier(&self) -> &V {
        &self.verifier
    }

    /// The verifier, mutable (for restoring its own persisted state, such as salts).
    pub fn verifier_mut(&mut self) -> &mut V {
        &mut self.verifier
    }

    /// The PUK's retry limit.
    pub fn puk_retry_limit(&self) -> u8 {
        self.puk_retry_limit
    }

    /// The persistent state: limits, counters and stored references (not the volatile
    /// verified flag).
    pub fn state(&self) -> CardPinState<'_> {
        CardPinState {
            retry_limit: self.retry_limit,
            retries_left: self.retries_left,
            pin: self.value.as_ref().map(PinData::expose_secret),
            puk_retry_limit: self.puk_retry_limit,
            puk_retries_left: self.puk_retries_left,
            puk: self.puk.as_ref().map(PinData::expose_secret),
        }
    }

    /// Restores a state taken with [`CardPin::state`] (by a `CardPin` with an equivalent
    /// verifier). On error nothing changes; the verified flag is cleared (a restore is a
    /// power-up).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a limit outside 1..=15 or a counter above its limit
    /// (offsets as in [`CardPin::save_state`]'s layout); [`Error::PinTooLong`] for a
    /// reference longer than [`PinData::CAPACITY`].
    pub fn set_state(&mut self, state: CardPinState<'_>) -> Result<(), Error> {
        check_limit(state.retry_limit, 2)?;
        check_limit(state.puk_retry_limit, 4)?;
        check_counter(state.retries_left, state.retry_limit, 3)?;
        check_counter(state.puk_retries_left, state.puk_retry_limit, 5)?;
        let value = state.pin.map(PinData::from_slice).transpose()?;
        let puk = state.puk.map(PinData::from_slice).transpose()?;
        self.retry_limit = state.retry_limit;
        self.retries_left = state.retries_left;
        self.puk_retry_limit = state.puk_retry_limit;
        self.puk_retries_left = state.puk_retries_left;
        self.value = value;
        self.puk = puk;
        self.verified = false;
        Ok(())
    }

    /// True after a successful VERIFY in this power session.
    pub fn is_verified(&self) -> bool {
        self.verified
    }

    /// Tries left before the PIN blocks.
    pub fn retries_left(&self) -> u8 {
        self.retries_left
    }

    /// The PIN's retry limit.
    pub fn retry_limit(&self) -> u8 {
        self.retry_limit
    }

    /// Tries left before the PUK blocks.
    pub fn puk_retries_left(&self) -> u8 {
        self.puk_retries_left
    }

    /// True when a PIN value is set.
    pub fn is_set(&self) -> bool {
        self.value.is_some()
    }

    /// True when a PUK value is set.
    pub fn has_puk(&self) -> bool {
        self.puk.is_some()
    }

    /// True when the PIN counter is at zero.
    pub fn is_blocked(&self) -> bool {
        self.retries_left == 0
    }

    /// True when the PIN is blocked and no PUK try is left (or there is no PUK): only an
    /// administrator reset can recover it.
    pub fn is_permanently_blocked(&self) -> bool {
        self.is_blocked() && (self.puk.is_none() || self.puk_retries_left == 0)
    }

    /// Power off or reset: the verified state is lost (ISO/IEC 7816-4 §5.4 security status
    /// is volatile).
    pub fn power_reset(&mut self) {
        self.verified = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Padding, PinFormat};

    #[test]
    fn config_is_checked() {
        let mut config = CardPinConfig::PIV;
        config.retry_limit = 0;
        assert!(CardPin::new(config, None, None).is_err());
        config.retry_limit = 16;
        assert!(CardPin::new(config, None, None).is_err());
        assert_eq!(
            CardPin::new(CardPinConfig::PIV, Some(&Pin::new(b"12345").unwrap()), None).err(),
            Some(Error::PinTooShort { len: 5, min: 6 })
        );
        let c = CardPinConfig {
            format: PinFormat::Ascii(Some(Padding::zero(8))),
            ..CardPinConfig::PIV
        };
        assert!(CardPin::new(c, Some(&Pin::new(b"123456").unwrap()), None).is_ok());
    }
}
