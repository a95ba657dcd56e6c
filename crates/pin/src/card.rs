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
//! [`CardPin::process_with`] lets the caller commit the state to non-volatile memory after the
//! counter is decremented and before the comparison (and after every later change).

use subtle::ConstantTimeEq;

use cardwire_apdu::{Ins, StatusWord};

use crate::{Error, Pin, PinData, PinFormat, PinOutcome, PinPolicy};

/// How a [`CardPin`] is set up: formats, policy and retry limits.
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

/// Which secret a [`CardPin::process`] command addresses: the PIN or its PUK (each has its own
/// reference, so the card maps P2 to one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secret {
    /// The PIN itself.
    Pin,
    /// The PUK / reset code of the PIN.
    Puk,
}

/// Turns a PIN or PUK value (its wire bytes) into the reference a [`CardPin`] stores and
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
/// assert_eq!(pin.verify(b"123456\xFF\xFF"), PinOutcome::Verified);
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

/// Called by [`CardPin::process_with`] to commit the state to non-volatile memory; an `Err`
/// status word becomes the command's answer.
pub type Commit<'c, V> = dyn FnMut(&CardPin<V>) -> Result<(), StatusWord> + 'c;

/// A card-side PIN with its retry counter and optional PUK.
///
/// ```
/// use cardwire_pin::{CardPin, CardPinConfig, Pin, PinOutcome};
/// let mut pin = CardPin::new(CardPinConfig::PIV, Some(&Pin::new(b"123456")?), Some(&Pin::new(b"12345678")?))?;
/// let wrong = b"000000\xFF\xFF";
/// assert_eq!(pin.verify(wrong), PinOutcome::WrongPin { retries_left: 2 });
/// assert_eq!(pin.verify(b"123456\xFF\xFF"), PinOutcome::Verified);
/// assert!(pin.is_verified());
/// assert_eq!(pin.retries_left(), 3);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
pub struct CardPin<V: PinVerifier = Plain> {
    config: CardPinConfig,
    verifier: V,
    retry_limit: u8,
    retries_left: u8,
    value: Option<PinData>,
    puk_retry_limit: u8,
    puk_retries_left: u8,
    puk: Option<PinData>,
    verified: bool,
}

const STATE_VERSION: u8 = 1;
const FLAG_PIN_SET: u8 = 0x01;
const FLAG_PUK_SET: u8 = 0x02;
const STATE_HEADER_LEN: usize = 6;

fn no_commit<V: PinVerifier>(_: &CardPin<V>) -> Result<(), StatusWord> {
    Ok(())
}

impl CardPin {
    /// Largest [`CardPin::save_state`] output.
    pub const STATE_MAX_LEN: usize = STATE_HEADER_LEN + 2 * (1 + PinData::CAPACITY);

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

    /// VERIFY with data: decrements the counter, compares in constant time, restores the
    /// counter only on success.
    pub fn verify(&mut self, candidate: &[u8]) -> PinOutcome {
        self.verify_with(candidate, &mut no_commit)
    }

    fn verify_with(&mut self, candidate: &[u8], commit: &mut Commit<'_, V>) -> PinOutcome {
        if let Some(outcome) = self.refuse_length(self.config.format, candidate) {
            return outcome;
        }
        if self.value.is_none() {
            return PinOutcome::NotUsable;
        }
        let outcome = self.attempt(Secret::Pin, candidate, commit);
        self.verified = outcome == PinOutcome::Verified;
        outcome
    }

    /// VERIFY without data: `9000` when verified, `63Cx` with the tries left otherwise,
    /// `6983` when blocked, `6984` when no PIN is set. Changes nothing.
    pub fn status(&self) -> PinOutcome {
        if self.value.is_none() {
            PinOutcome::NotUsable
        } else if self.retries_left == 0 {
            PinOutcome::Blocked
        } else if self.verified {
            PinOutcome::Verified
        } else {
            PinOutcome::WrongPin {
                retries_left: self.retries_left,
            }
        }
    }

    /// VERIFY with P1 `FF`: the verified state is reset (ISO/IEC 7816-4 §11.5.6).
    pub fn reset_verified(&mut self) -> PinOutcome {
        self.verified = false;
        PinOutcome::Verified
    }

    /// CHANGE REFERENCE DATA, P1 `00`: checks `old` like [`CardPin::verify`], then stores
    /// `new`. A `new` PIN that breaks the format or policy is refused with `6A80` before the
    /// counter is touched.
    pub fn change(&mut self, old: &[u8], new: &[u8]) -> PinOutcome {
        self.change_with(old, new, &mut no_commit)
    }

    fn change_with(&mut self, old: &[u8], new: &[u8], commit: &mut Commit<'_, V>) -> PinOutcome {
        let new_value = match self.validate_new_pin(new) {
            Ok(v) => v,
            Err(outcome) => return outcome,
        };
        let outcome = self.verify_with(old, commit);
        if outcome != PinOutcome::Verified {
            return outcome;
        }
        self.store(Secret::Pin, &new_value);
        self.committed(commit)
    }

    /// CHANGE REFERENCE DATA, P1 `01`: stores `new` when the PIN is verified in this session
    /// (`6982` otherwise).
    pub fn change_verified(&mut self, new: &[u8]) -> PinOutcome {
        self.change_verified_with(new, &mut no_commit)
    }

    fn change_verified_with(&mut self, new: &[u8], commit: &mut Commit<'_, V>) -> PinOutcome {
        if !self.verified || self.retries_left == 0 {
            return PinOutcome::SecurityStatusNotSatisfied;
        }
        match self.validate_new_pin(new) {
            Ok(v) => {
                self.store(Secret::Pin, &v);
                self.committed(commit)
            }
            Err(outcome) => outcome,
        }
    }

    /// RESET RETRY COUNTER, P1 `00` (`new` given) or `01` (no new PIN): checks the PUK with its
    /// own counter (decremented first, restored on success); on success the PIN counter is
    /// reset and `new` stored. `63Cx` here counts PUK tries.
    pub fn unblock(&mut self, puk: &[u8], new: Option<&[u8]>) -> PinOutcome {
        self.unblock_with(puk, new, &mut no_commit)
    }

    fn unblock_with(
        &mut self,
        puk: &[u8],
        new: Option<&[u8]>,
        commit: &mut Commit<'_, V>,
    ) -> PinOutcome {
        if let Some(outcome) = self.refuse_length(self.config.puk_format, puk) {
            return outcome;
        }
        let new_value = match new.map(|n| self.validate_new_pin(n)).transpose() {
            Ok(v) => v,
            Err(outcome) => return outcome,
        };
        if self.puk.is_none() {
            return PinOutcome::NotUsable;
        }
        let outcome = self.attempt(Secret::Puk, puk, commit);
        if outcome != PinOutcome::Verified {
            return outcome;
        }
        if let Some(v) = new_value {
            self.store(Secret::Pin, &v);
        }
        self.retries_left = self.retry_limit;
        self.verified = false;
        self.committed(commit)
    }

    /// RESET RETRY COUNTER, P1 `02` (`new` given) or `03` (none): resets the PIN counter (and
    /// the PUK's) and stores `new`. The caller has checked the administrator's security
    /// condition (for example an SCP03 session).
    pub fn reset_by_administrator(&mut self, new: Option<&[u8]>) -> PinOutcome {
        self.reset_by_administrator_with(new, &mut no_commit)
    }

    fn reset_by_administrator_with(
        &mut self,
        new: Option<&[u8]>,
        commit: &mut Commit<'_, V>,
    ) -> PinOutcome {
        let new_value = match new.map(|n| self.validate_new_pin(n)).transpose() {
            Ok(v) => v,
            Err(outcome) => return outcome,
        };
        if let Some(v) = new_value {
            self.store(Secret::Pin, &v);
        }
        if self.value.is_none() {
            return PinOutcome::NotUsable;
        }
        self.retries_left = self.retry_limit;
        self.puk_retries_left = self.puk_retry_limit;
        self.verified = false;
        self.committed(commit)
    }

    /// VERIFY of the PUK reference with data: counts a PUK try, changes nothing else.
    pub fn verify_puk(&mut self, candidate: &[u8]) -> PinOutcome {
        self.verify_puk_with(candidate, &mut no_commit)
    }

    fn verify_puk_with(&mut self, candidate: &[u8], commit: &mut Commit<'_, V>) -> PinOutcome {
        if let Some(outcome) = self.refuse_length(self.config.puk_format, candidate) {
            return outcome;
        }
        if self.puk.is_none() {
            return PinOutcome::NotUsable;
        }
        self.attempt(Secret::Puk, candidate, commit)
    }

    /// VERIFY of the PUK reference without data: `63Cx` with the PUK tries left, `6983`
    /// when the PUK is blocked, `6984` when none is set.
    pub fn puk_status(&self) -> PinOutcome {
        if self.puk.is_none() {
            PinOutcome::NotUsable
        } else if self.puk_retries_left == 0 {
            PinOutcome::Blocked
        } else {
            PinOutcome::WrongPin {
                retries_left: self.puk_retries_left,
            }
        }
    }

    /// CHANGE REFERENCE DATA, P1 `00`, on the PUK reference: checks `old` with the PUK
    /// counter, then stores `new`.
    pub fn change_puk(&mut self, old: &[u8], new: &[u8]) -> PinOutcome {
        self.change_puk_with(old, new, &mut no_commit)
    }

    fn change_puk_with(
        &mut self,
        old: &[u8],
        new: &[u8],
        commit: &mut Commit<'_, V>,
    ) -> PinOutcome {
        let new_value = match self.config.puk_format.decode(new) {
            Ok(pin) => match self.config.puk_format.encode(&pin) {
                Ok(v) if v.expose_secret() == new => v,
                _ => return PinOutcome::Unexpected(StatusWord::INCORRECT_DATA),
            },
            Err(_) => return PinOutcome::Unexpected(StatusWord::INCORRECT_DATA),
        };
        let outcome = self.verify_puk_with(old, commit);
        if outcome != PinOutcome::Verified {
            return outcome;
        }
        self.store(Secret::Puk, &new_value);
        self.committed(commit)
    }

    /// Handles a whole VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER command for this
    /// PIN (or its PUK, per `secret`), splitting `old || new` and `PUK || new` data fields by
    /// the configured fixed lengths (or, for variable-length formats, by the stored value's
    /// length, as variable-length cards do; this needs the [`Plain`] verifier). `admin` says
    /// whether the administrator's security condition for RESET RETRY COUNTER P1 `02`/`03` is
    /// met.
    ///
    /// Answers `6D00` for another INS, `6A86` for an unknown P1, `6700` for a data field of the
    /// wrong length.
    pub fn process(
        &mut self,
        secret: Secret,
        ins: Ins,
        p1: u8,
        data: &[u8],
        admin: bool,
    ) -> PinOutcome {
        self.process_with(secret, ins, p1, data, admin, &mut no_commit)
    }

    /// [`CardPin::process`] for a card with non-volatile memory: `commit` is called with the
    /// new state after a retry counter is decremented and **before** the comparison, and
    /// again after every successful change (counter restored, new value, reset). When it
    /// fails, its status word is the answer: before the comparison, the value is not
    /// compared at all (the try stays counted); afterwards, the change stays in this object
    /// (the caller decides whether the card is still usable).
    pub fn process_with(
        &mut self,
        secret: Secret,
        ins: Ins,
        p1: u8,
        data: &[u8],
        admin: bool,
        commit: &mut Commit<'_, V>,
    ) -> PinOutcome {
        let wrong_p1 = PinOutcome::Unexpected(StatusWord::INCORRECT_P1_P2);
        let wrong_len = PinOutcome::Unexpected(StatusWord::WRONG_LENGTH);
        match (secret, ins, p1) {
            (Secret::Pin, Ins::VERIFY, 0x00) if data.is_empty() => self.status(),
            (Secret::Pin, Ins::VERIFY, 0x00) => {
                let outcome = self.verify_with(data, commit);
                if outcome == PinOutcome::Verified {
                    self.committed(commit)
                } else {
                    outcome
                }
            }
            (Secret::Puk, Ins::VERIFY, 0x00) if data.is_empty() => self.puk_status(),
            (Secret::Puk, Ins::VERIFY, 0x00) => {
                let outcome = self.verify_puk_with(data, commit);
                if outcome == PinOutcome::Verified {
                    self.committed(commit)
                } else {
                    outcome
                }
            }
            (Secret::Pin, Ins::VERIFY, 0xFF) if data.is_empty() => self.reset_verified(),
            (Secret::Puk, Ins::VERIFY, 0xFF) if data.is_empty() => PinOutcome::Verified,
            (_, Ins::VERIFY, 0xFF) => wrong_len,
            (Secret::Pin, Ins::CHANGE_REFERENCE_DATA, 0x00) => {
                match split(self.config.format, self.value.as_ref(), data) {
                    Some((old, new)) => self.change_with(old, new, commit),
                    None => wrong_len,
                }
            }
            (Secret::Pin, Ins::CHANGE_REFERENCE_DATA, 0x01) => {
                self.change_verified_with(data, commit)
            }
            (Secret::Puk, Ins::CHANGE_REFERENCE_DATA, 0x00) => {
                match split(self.config.puk_format, self.puk.as_ref(), data) {
                    Some((old, new)) => self.change_puk_with(old, new, commit),
                    None => wrong_len,
                }
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x00) => {
                match split(self.config.puk_format, self.puk.as_ref(), data) {
                    Some((puk, new)) => self.unblock_with(puk, Some(new), commit),
                    None => wrong_len,
                }
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x01) => self.unblock_with(data, None, commit),
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x02 | 0x03) if !admin => {
                PinOutcome::SecurityStatusNotSatisfied
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x02) => {
                self.reset_by_administrator_with(Some(data), commit)
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x03) if data.is_empty() => {
                self.reset_by_administrator_with(None, commit)
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x03) => wrong_len,
            (_, Ins::VERIFY | Ins::CHANGE_REFERENCE_DATA | Ins::RESET_RETRY_COUNTER, _) => wrong_p1,
            _ => PinOutcome::Unexpected(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    /// The counter rule shared by PIN and PUK (the only place it is written): blocked at
    /// zero; decrement and commit; compare the references in constant time; restore the
    /// counter only on success (the caller commits that).
    fn attempt(
        &mut self,
        which: Secret,
        candidate: &[u8],
        commit: &mut Commit<'_, V>,
    ) -> PinOutcome {
        let (left, limit) = match which {
            Secret::Pin => (self.retries_left, self.retry_limit),
            Secret::Puk => (self.puk_retries_left, self.puk_retry_limit),
        };
        if left == 0 {
            return PinOutcome::Blocked;
        }
        // Decrement first: a card commits this to non-volatile memory before comparing.
        let left = left - 1;
        self.set_left(which, left);
        if let Err(sw) = commit(self) {
            return PinOutcome::Unexpected(sw);
        }
        let stored = match which {
            Secret::Pin => self.value.as_ref(),
            Secret::Puk => self.puk.as_ref(),
        };
        let presented = self.verifier.reference(which, candidate);
        let matches = stored.is_some_and(|s| bool::from(s.ct_eq(&presented)));
        if matches {
            self.set_left(which, limit);
            PinOutcome::Verified
        } else if left == 0 {
            PinOutcome::Blocked
        } else {
            PinOutcome::WrongPin { retries_left: left }
        }
    }

    fn set_left(&mut self, which: Secret, left: u8) {
        match which {
            Secret::Pin => self.retries_left = left,
            Secret::Puk => self.puk_retries_left = left,
        }
    }

    /// Stores the reference of the new wire value `new` (after letting the verifier rekey).
    fn store(&mut self, which: Secret, new: &PinData) {
        self.verifier.rekey(which);
        let reference = self.verifier.reference(which, new.expose_secret());
        match which {
            Secret::Pin => self.value = Some(reference),
            Secret::Puk => self.puk = Some(reference),
        }
    }

    /// Commits a successful change: `Verified`, or the commit's status word.
    fn committed(&mut self, commit: &mut Commit<'_, V>) -> PinOutcome {
        match commit(self) {
            Ok(()) => PinOutcome::Verified,
            Err(sw) => PinOutcome::Unexpected(sw),
        }
    }

    /// Refuses a candidate whose length cannot be right for a fixed-length format, without
    /// touching any counter (`6700`).
    fn refuse_length(&self, format: PinFormat, candidate: &[u8]) -> Option<PinOutcome> {
        match format.fixed_len() {
            Some(n) if n != candidate.len() => {
                Some(PinOutcome::Unexpected(StatusWord::WRONG_LENGTH))
            }
            _ if candidate.is_empty() || candidate.len() > PinData::CAPACITY => {
                Some(PinOutcome::Unexpected(StatusWord::WRONG_LENGTH))
            }
            _ => None,
        }
    }

    /// Decodes, checks against the policy and re-encodes a new PIN; `6A80` when it fails or
    /// is not in canonical form.
    fn validate_new_pin(&self, new: &[u8]) -> Result<PinData, PinOutcome> {
        let incorrect = PinOutcome::Unexpected(StatusWord::INCORRECT_DATA);
        let pin = self.config.format.decode(new).map_err(|_| incorrect)?;
        self.config.policy.check(&pin).map_err(|_| incorrect)?;
        let encoded = self.config.format.encode(&pin).map_err(|_| incorrect)?;
        if encoded.expose_secret() != new {
            return Err(incorrect);
        }
        Ok(encoded)
    }
}

impl CardPin {
    /// Writes the persistent state (limits, counters, stored PIN and PUK; not the volatile
    /// verified flag) into `out` and returns its length.
    ///
    /// Layout, version 1: `01`, flags (bit 0 PIN set, bit 1 PUK set), PIN limit, PIN tries
    /// left, PUK limit, PUK tries left, PIN length + PIN bytes, PUK length + PUK bytes.
    /// **The output contains the secrets**: the caller must protect and wipe it.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is too short (at most [`CardPin::STATE_MAX_LEN`]).
    pub fn save_state(&self, out: &mut [u8]) -> Result<usize, Error> {
        let empty: &[u8] = &[];
        let pin = self.value.as_ref().map_or(empty, PinData::expose_secret);
        let puk = self.puk.as_ref().map_or(empty, PinData::expose_secret);
        let needed = STATE_HEADER_LEN + 2 + pin.len() + puk.len();
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let mut flags = 0;
        if self.value.is_some() {
            flags |= FLAG_PIN_SET;
        }
        if self.puk.is_some() {
            flags |= FLAG_PUK_SET;
        }
        let mut w = Writer { out, at: 0 };
        w.put(&[
            STATE_VERSION,
            flags,
            self.retry_limit,
            self.retries_left,
            self.puk_retry_limit,
            self.puk_retries_left,
        ]);
        w.put(&[pin.len() as u8]); // <= PinData::CAPACITY = 255
        w.put(pin);
        w.put(&[puk.len() as u8]);
        w.put(puk);
        Ok(needed)
    }

    /// Restores state written by [`CardPin::save_state`]. On error nothing changes. The
    /// verified flag is cleared (a restore is a power-up).
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::TrailingBytes`], or [`Error::Invalid`] for an unknown
    /// version or flag, a limit outside 1..=15, a counter above its limit, or a stored value
    /// that does not decode in the configured format.
    pub fn restore_state(&mut self, state: &[u8]) -> Result<(), Error> {
        let mut r = Reader { data: state, at: 0 };
        let header = r.take(STATE_HEADER_LEN)?;
        let [version, flags, limit, left, puk_limit, puk_left] =
            <[u8; STATE_HEADER_LEN]>::try_from(header).map_err(|_| Error::Truncated {
                offset: 0,
                needed: STATE_HEADER_LEN,
            })?;
        if version != STATE_VERSION {
            return Err(Error::Invalid {
                offset: 0,
                what: "unknown PIN state version",
            });
        }
        if flags & !(FLAG_PIN_SET | FLAG_PUK_SET) != 0 {
            return Err(Error::Invalid {
                offset: 1,
                what: "unknown PIN state flags",
            });
        }
        check_limit(limit, 2)?;
        check_limit(puk_limit, 4)?;
        check_counter(left, limit, 3)?;
        check_counter(puk_left, puk_limit, 5)?;
        let value = read_value(&mut r, flags & FLAG_PIN_SET != 0, self.config.format)?;
        let puk = read_value(&mut r, flags & FLAG_PUK_SET != 0, self.config.puk_format)?;
        if r.at != state.len() {
            return Err(Error::TrailingBytes { offset: r.at });
        }
        self.retry_limit = limit;
        self.retries_left = left;
        self.puk_retry_limit = puk_limit;
        self.puk_retries_left = puk_left;
        self.value = value;
        self.puk = puk;
        self.verified = false;
        Ok(())
    }
}

/// Splits `old || new` (or `PUK || new`): at the fixed length, or after the stored value.
fn split<'d>(
    format: PinFormat,
    stored: Option<&PinData>,
    data: &'d [u8],
) -> Option<(&'d [u8], &'d [u8])> {
    let first = match format.fixed_len() {
        Some(n) if data.len() == 2 * n => n,
        Some(_) => return None,
        None => stored.map_or(0, PinData::len),
    };
    if first == 0 || data.len() <= first {
        return None;
    }
    Some(data.split_at(first))
}

fn check_limit(limit: u8, offset: usize) -> Result<(), Error> {
    if (1..=15).contains(&limit) {
        Ok(())
    } else {
        Err(Error::Invalid {
            offset,
            what: "retry limit must be 1 to 15",
        })
    }
}

fn check_counter(left: u8, limit: u8, offset: usize) -> Result<(), Error> {
    if left <= limit {
        Ok(())
    } else {
        Err(Error::Invalid {
            offset,
            what: "retry counter is above its limit",
        })
    }
}

fn read_value(
    r: &mut Reader<'_>,
    present: bool,
    format: PinFormat,
) -> Result<Option<PinData>, Error> {
    let len_offset = r.at;
    let len = usize::from(r.take(1)?.first().copied().unwrap_or(0));
    let bytes = r.take(len)?;
    if !present {
        return if len == 0 {
            Ok(None)
        } else {
            Err(Error::Invalid {
                offset: len_offset,
                what: "value present but its flag is clear",
            })
        };
    }
    format.decode(bytes).map_err(|_| Error::Invalid {
        offset: len_offset + 1,
        what: "stored value does not decode in the configured format",
    })?;
    PinData::from_slice(bytes).map(Some)
}

struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Writer<'_> {
    /// Writes `bytes`; the caller sized `out` beforehand, so nothing is ever cut.
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        if let Some(slot) = self.out.get_mut(self.at..end) {
            slot.copy_from_slice(bytes);
        }
        self.at = end;
    }
}

struct Reader<'d> {
    data: &'d [u8],
    at: usize,
}

impl<'d> Reader<'d> {
    fn take(&mut self, n: usize) -> Result<&'d [u8], Error> {
        let end = self.at + n;
        let bytes = self
            .data
            .get(self.at..end)
            .ok_or_else(|| Error::Truncated {
                offset: self.data.len(),
                needed: end.saturating_sub(self.data.len()),
            })?;
        self.at = end;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::Padding;
    use proptest::prelude::*;

    fn piv(pin: &[u8]) -> [u8; 8] {
        let mut b = [0xFF; 8];
        b[..pin.len()].copy_from_slice(pin);
        b
    }

    fn card() -> CardPin {
        CardPin::new(
            CardPinConfig::PIV,
            Some(&Pin::new(b"123456").unwrap()),
            Some(&Pin::new(b"87654321").unwrap()),
        )
        .unwrap()
    }

    #[test]
    fn three_wrong_pins_block_then_puk_unblocks() {
        let mut c = card();
        assert_eq!(c.status(), PinOutcome::WrongPin { retries_left: 3 });
        // The issue's sequence: 63C2, 63C1, 6983.
        assert_eq!(c.verify(&piv(b"000000")).status_word(), StatusWord(0x63C2));
        assert_eq!(c.verify(&piv(b"000001")).status_word(), StatusWord(0x63C1));
        assert_eq!(c.verify(&piv(b"000002")).status_word(), StatusWord(0x6983));
        assert!(c.is_blocked());
        // Blocked even for the right PIN, and the counter stays at zero.
        assert_eq!(c.verify(&piv(b"123456")), PinOutcome::Blocked);
        assert_eq!(c.retries_left(), 0);
        assert!(!c.is_verified());
        assert_eq!(c.status(), PinOutcome::Blocked);
        // Unblock with the PUK and a new PIN.
        assert_eq!(
            c.unblock(&piv(b"87654321"), Some(&piv(b"2468024"))),
            PinOutcome::Verified
        );
        assert_eq!(c.retries_left(), 3);
        assert_eq!(
            c.verify(&piv(b"123456")),
            PinOutcome::WrongPin { retries_left: 2 }
        );
        assert_eq!(c.verify(&piv(b"2468024")), PinOutcome::Verified);
        assert_eq!(c.retries_left(), 3);
    }

    #[test]
    fn puk_exhaustion_blocks_for_good() {
        let mut c = card();
        for _ in 0..3 {
            c.verify(&piv(b"000000"));
        }
        assert!(c.is_blocked());
        assert_eq!(
            c.unblock(&piv(b"00000000"), Some(&piv(b"111111"))),
            PinOutcome::WrongPin { retries_left: 2 }
        );
        assert_eq!(
            c.unblock(&piv(b"00000000"), None),
            PinOutcome::WrongPin { retries_left: 1 }
        );
        assert_eq!(c.unblock(&piv(b"00000000"), None), PinOutcome::Blocked);
        assert!(c.is_permanently_blocked());
        // The right PUK no longer helps, and neither does the right PIN.
        assert_eq!(
            c.unblock(&piv(b"87654321"), Some(&piv(b"111111"))),
            PinOutcome::Blocked
        );
        assert_eq!(c.verify(&piv(b"123456")), PinOutcome::Blocked);
        assert_eq!(c.puk_status(), PinOutcome::Blocked);
        // Only the administrator can reset.
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::RESET_RETRY_COUNTER,
                0x02,
                &piv(b"999999"),
                false
            ),
            PinOutcome::SecurityStatusNotSatisfied
        );
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::RESET_RETRY_COUNTER,
                0x02,
                &piv(b"999999"),
                true
            ),
            PinOutcome::Verified
        );
        assert_eq!(c.verify(&piv(b"999999")), PinOutcome::Verified);
    }

    #[test]
    fn good_puk_restores_its_own_counter() {
        let mut c = card();
        assert_eq!(
            c.unblock(&piv(b"00000000"), None),
            PinOutcome::WrongPin { retries_left: 2 }
        );
        assert_eq!(c.unblock(&piv(b"87654321"), None), PinOutcome::Verified);
        assert_eq!(c.puk_retries_left(), 3);
    }

    #[test]
    fn malformed_input_changes_no_counter() {
        let mut c = card();
        assert_eq!(
            c.verify(b"123456"),
            PinOutcome::Unexpected(StatusWord::WRONG_LENGTH)
        );
        assert_eq!(c.retries_left(), 3);
        // A new PIN that breaks the policy (5 digits) is refused before the old one is checked.
        assert_eq!(
            c.change(&piv(b"000000"), &piv(b"12345")),
            PinOutcome::Unexpected(StatusWord::INCORRECT_DATA)
        );
        assert_eq!(c.retries_left(), 3);
        // Non-canonical padding is refused too.
        assert_eq!(
            c.change(&piv(b"123456"), b"654321\xFF\x00"),
            PinOutcome::Unexpected(StatusWord::INCORRECT_DATA)
        );
        assert_eq!(c.retries_left(), 3);
    }

    #[test]
    fn change_and_reset_verified() {
        let mut c = card();
        let mut data = [0u8; 16];
        data[..8].copy_from_slice(&piv(b"123456"));
        data[8..].copy_from_slice(&piv(b"654321"));
        assert_eq!(
            c.process(Secret::Pin, Ins::CHANGE_REFERENCE_DATA, 0x00, &data, false),
            PinOutcome::Verified
        );
        assert!(c.is_verified());
        assert_eq!(
            c.process(Secret::Pin, Ins::VERIFY, 0x00, &[], false),
            PinOutcome::Verified
        );
        assert_eq!(
            c.process(Secret::Pin, Ins::VERIFY, 0xFF, &[], false),
            PinOutcome::Verified
        );
        assert!(!c.is_verified());
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x01,
                &piv(b"11112222"),
                false
            ),
            PinOutcome::SecurityStatusNotSatisfied
        );
        assert_eq!(c.verify(&piv(b"654321")), PinOutcome::Verified);
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x01,
                &piv(b"11112222"),
                false
            ),
            PinOutcome::Verified
        );
        c.power_reset();
        assert!(!c.is_verified());
        assert_eq!(c.verify(&piv(b"11112222")), PinOutcome::Verified);
        // Wrong-length CHANGE data.
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x00,
                &data[..15],
                false
            ),
            PinOutcome::Unexpected(StatusWord::WRONG_LENGTH)
        );
        assert_eq!(
            c.process(Secret::Pin, Ins::CHANGE_REFERENCE_DATA, 0x07, &data, false),
            PinOutcome::Unexpected(StatusWord::INCORRECT_P1_P2)
        );
        assert_eq!(
            c.process(Secret::Pin, Ins(0xB0), 0x00, &data, false),
            PinOutcome::Unexpected(StatusWord::INS_NOT_SUPPORTED)
        );
    }

    #[test]
    fn puk_change_and_reset_with_puk_only() {
        let mut c = card();
        let mut data = [0u8; 16];
        data[..8].copy_from_slice(&piv(b"87654321"));
        data[8..].copy_from_slice(&piv(b"11223344"));
        assert_eq!(
            c.process(Secret::Puk, Ins::CHANGE_REFERENCE_DATA, 0x00, &data, false),
            PinOutcome::Verified
        );
        for _ in 0..3 {
            c.verify(&piv(b"000000"));
        }
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::RESET_RETRY_COUNTER,
                0x01,
                &piv(b"11223344"),
                false
            ),
            PinOutcome::Verified
        );
        assert_eq!(c.verify(&piv(b"123456")), PinOutcome::Verified);
        assert_eq!(
            c.process(Secret::Puk, Ins::VERIFY, 0x00, &[], false),
            PinOutcome::WrongPin { retries_left: 3 }
        );
    }

    #[test]
    fn unset_pin_is_not_usable_until_admin_sets_it() {
        let mut c = CardPin::new(CardPinConfig::PIV, None, None).unwrap();
        assert_eq!(c.status(), PinOutcome::NotUsable);
        assert_eq!(c.verify(&piv(b"123456")), PinOutcome::NotUsable);
        assert_eq!(c.unblock(&piv(b"12345678"), None), PinOutcome::NotUsable);
        assert_eq!(c.reset_by_administrator(None), PinOutcome::NotUsable);
        assert_eq!(
            c.reset_by_administrator(Some(&piv(b"123456"))),
            PinOutcome::Verified
        );
        assert_eq!(c.verify(&piv(b"123456")), PinOutcome::Verified);
    }

    #[test]
    fn variable_length_format_splits_by_stored_length() {
        let config = CardPinConfig {
            format: PinFormat::ASCII,
            policy: PinPolicy::alphanumeric(4, 20),
            retry_limit: 3,
            puk_format: PinFormat::ASCII,
            puk_retry_limit: 3,
        };
        let mut c = CardPin::new(config, Some(&Pin::new(b"abcd").unwrap()), None).unwrap();
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x00,
                b"abcdnewpin1",
                false
            ),
            PinOutcome::Verified
        );
        assert_eq!(c.verify(b"newpin1"), PinOutcome::Verified);
        assert_eq!(
            c.verify(b"newpin"),
            PinOutcome::WrongPin { retries_left: 2 }
        );
    }

    #[test]
    fn state_round_trip_and_rejects_bad_state() {
        let mut c = card();
        c.verify(&piv(b"000000"));
        c.unblock(&piv(b"00000000"), None);
        let mut buf = [0u8; CardPin::STATE_MAX_LEN];
        let n = c.save_state(&mut buf).unwrap();
        assert_eq!(n, 6 + 2 + 8 + 8);
        assert_eq!(buf[..6], [1, 3, 3, 2, 3, 2]);
        let mut fresh = CardPin::new(CardPinConfig::PIV, None, None).unwrap();
        fresh.restore_state(&buf[..n]).unwrap();
        assert_eq!(fresh.retries_left(), 2);
        assert_eq!(fresh.puk_retries_left(), 2);
        assert_eq!(fresh.verify(&piv(b"123456")), PinOutcome::Verified);
        assert_eq!(fresh.unblock(&piv(b"87654321"), None), PinOutcome::Verified);

        let mut small = [0u8; 10];
        assert_eq!(
            c.save_state(&mut small).err(),
            Some(Error::BufferTooSmall { needed: 24 })
        );
        let mut bad = buf;
        bad[3] = 4; // counter above limit
        assert!(fresh.restore_state(&bad[..n]).is_err());
        assert!(fresh.restore_state(&buf[..n - 1]).is_err());
        let mut longer = buf;
        longer[n] = 0;
        assert_eq!(
            fresh.restore_state(&longer[..n + 1]).err(),
            Some(Error::TrailingBytes { offset: n })
        );
        bad = buf;
        bad[7] = b'x'; // digits-only padding broken: "x23456" still decodes as ASCII...
        bad[8] = 0xFF; // ... but a pad byte inside the PIN does not.
        assert!(fresh.restore_state(&bad[..n]).is_err());
        // Nothing changed after the failed restores.
        assert_eq!(fresh.retries_left(), 3);
    }

    /// A verifier that XORs with a per-secret key and counts rekeys (a stand-in for a salted
    /// hash: the stored reference is never the PIN).
    #[derive(Clone)]
    struct Xor {
        key: [u8; 2],
    }

    impl PinVerifier for Xor {
        fn reference(&self, secret: Secret, value: &[u8]) -> PinData {
            let k = self.key[secret as usize];
            let mut out = PinData::new();
            for b in value {
                out.extend(&[b ^ k]).unwrap();
            }
            out
        }
        fn rekey(&mut self, secret: Secret) {
            self.key[secret as usize] = self.key[secret as usize].wrapping_add(1);
        }
    }

    #[test]
    fn verifier_stores_no_plain_value_and_follows_the_same_rules() {
        let mut c = CardPin::with_verifier(
            CardPinConfig::PIV,
            Xor { key: [0x55, 0xAA] },
            Some(&Pin::new(b"123456").unwrap()),
            Some(&Pin::new(b"87654321").unwrap()),
        )
        .unwrap();
        assert_ne!(c.state().pin, Some(&piv(b"123456")[..]));
        assert_ne!(c.state().puk, Some(&piv(b"87654321")[..]));
        assert_eq!(c.verify(&piv(b"000000")).status_word(), StatusWord(0x63C2));
        assert_eq!(c.verify(&piv(b"000001")).status_word(), StatusWord(0x63C1));
        assert_eq!(c.verify(&piv(b"000002")).status_word(), StatusWord(0x6983));
        assert_eq!(c.verify(&piv(b"123456")), PinOutcome::Blocked);
        // Unblock with a new PIN: the verifier rekeys the PIN, not the PUK.
        assert_eq!(
            c.unblock(&piv(b"87654321"), Some(&piv(b"2468024"))),
            PinOutcome::Verified
        );
        assert_eq!(c.verifier().key, [0x56, 0xAA]);
        assert_eq!(c.verify(&piv(b"2468024")), PinOutcome::Verified);
        // State round trip through the references, into a copy with the same verifier.
        let mut copy =
            CardPin::with_verifier(CardPinConfig::PIV, c.verifier().clone(), None, None).unwrap();
        copy.set_state(c.state()).unwrap();
        assert_eq!(copy.verify(&piv(b"2468024")), PinOutcome::Verified);
        let dup = c.duplicate();
        assert!(!dup.is_verified());
        assert_eq!(dup.state(), c.state());
        let mut bad = c.state();
        bad.retries_left = 4;
        assert!(copy.set_state(bad).is_err());
    }

    #[test]
    fn commit_sees_the_decrement_before_the_comparison() {
        let mut c = card();
        let mut seen = std::vec::Vec::new();
        let mut commit = |p: &CardPin| {
            seen.push(p.retries_left());
            Ok(())
        };
        let verify = |c: &mut CardPin, pin: &[u8], commit: &mut Commit<'_, Plain>| {
            c.process_with(Secret::Pin, Ins::VERIFY, 0x00, pin, false, commit)
        };
        assert_eq!(
            verify(&mut c, &piv(b"000000"), &mut commit),
            PinOutcome::WrongPin { retries_left: 2 }
        );
        assert_eq!(
            verify(&mut c, &piv(b"123456"), &mut commit),
            PinOutcome::Verified
        );
        // Wrong: one commit (2). Right: the decrement (1), then the restored counter (3).
        assert_eq!(seen, [2, 1, 3]);
        // A failing commit before the comparison: the try counts, nothing is compared.
        let mut failing = |_: &CardPin| Err(StatusWord::MEMORY_FAILURE);
        assert_eq!(
            verify(&mut c, &piv(b"123456"), &mut failing),
            PinOutcome::Unexpected(StatusWord::MEMORY_FAILURE)
        );
        assert_eq!(c.retries_left(), 2);
        assert!(!c.is_verified());
    }

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

    #[derive(Debug, Clone)]
    enum Op {
        Verify(bool),
        Status,
        Unblock(bool),
        Change(bool),
        Power,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<bool>().prop_map(Op::Verify),
            Just(Op::Status),
            any::<bool>().prop_map(Op::Unblock),
            any::<bool>().prop_map(Op::Change),
            Just(Op::Power),
        ]
    }

    proptest! {
        #[test]
        fn counters_only_rise_on_success(ops in proptest::collection::vec(op(), 0..40)) {
            let mut c = card();
            let mut pin = piv(b"123456");
            for op in ops {
                let (before, puk_before) = (c.retries_left(), c.puk_retries_left());
                let outcome = match op {
                    Op::Verify(right) => c.verify(&if right { pin } else { piv(b"000000") }),
                    Op::Status => c.status(),
                    Op::Unblock(right) => c.unblock(&piv(if right { b"87654321" } else { b"00000000" }), None),
                    Op::Change(right) => {
                        let o = c.change(&if right { pin } else { piv(b"000000") }, &piv(b"7654321"));
                        if o == PinOutcome::Verified { pin = piv(b"7654321"); }
                        o
                    }
                    Op::Power => { c.power_reset(); PinOutcome::Verified }
                };
                prop_assert!(c.retries_left() <= 3 && c.puk_retries_left() <= 3);
                if c.retries_left() > before {
                    prop_assert_eq!(outcome, PinOutcome::Verified);
                }
                if c.puk_retries_left() > puk_before {
                    prop_assert!(matches!(op, Op::Unblock(true)));
                }
                if before == 0 && !matches!(op, Op::Unblock(_)) {
                    prop_assert_eq!(c.retries_left(), 0);
                }
            }
        }
    }
}
