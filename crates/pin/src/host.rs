//! Host-side PIN operations over a [`Card`] session: check the policy, refuse a plain PIN
//! when secure messaging is required, send the command, turn the answer into a
//! [`PinOutcome`] and update the per-reference [`PinStates`].

use core::fmt;

use cardwire_apdu::Cla;
use cardwire_transport::{Card, CardError, ErrorKind, SecureChannel, Transport};

use crate::{
    Error, Pin, PinCommand, PinFormat, PinOperation, PinOutcome, PinPolicy, PinReference, PinStates,
};

/// Everything the host needs to know about one PIN or PUK: its reference, wire format and
/// policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinSpec {
    /// P2.
    pub reference: PinReference,
    /// Wire format.
    pub format: PinFormat,
    /// Rules checked before anything is sent.
    pub policy: PinPolicy,
}

impl PinSpec {
    /// PIV Card Application PIN: reference `80`, 6-8 digits padded with `FF` to 8 bytes
    /// (NIST SP 800-73-4 Part 2 §3.2.1).
    pub const PIV_APPLICATION_PIN: Self = PinSpec {
        reference: PinReference::PIV_APPLICATION_PIN,
        format: PinFormat::PIV,
        policy: PinPolicy::PIV_PIN,
    };
    /// PIV PUK: reference `81`, 8 bytes (NIST SP 800-73-4 Part 2 §3.2.1).
    pub const PIV_PUK: Self = PinSpec {
        reference: PinReference::PIV_PUK,
        format: PinFormat::PIV,
        policy: PinPolicy {
            min_len: 8,
            max_len: 8,
            charset: crate::Charset::Any,
        },
    };
}

/// A host PIN operation failed before or while talking to the card. A status word is never
/// an error: it is a [`PinOutcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostError<C> {
    /// Refused before anything was sent (policy, format, or [`Error::PlainPinRefused`]).
    Pin(Error),
    /// The card session failed.
    Card(C),
}

impl<C: fmt::Display> fmt::Display for HostError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Pin(e) => write!(f, "{e}"),
            HostError::Card(e) => write!(f, "card session failed: {e}"),
        }
    }
}

impl<C: fmt::Debug + fmt::Display> core::error::Error for HostError<C> {}

impl<C> From<Error> for HostError<C> {
    fn from(e: Error) -> Self {
        HostError::Pin(e)
    }
}

/// The error type of [`PinHost`] operations over a `Card<T, S, N>`.
pub type PinHostError<T, S> =
    HostError<CardError<<T as Transport>::Error, <S as SecureChannel>::Error>>;

/// Runs PIN operations over a [`Card`] session and keeps the host's [`PinStates`].
///
/// Every operation: checks the PIN against the [`PinSpec`]'s policy (a PIN the card would
/// refuse never costs a try); refuses to send a PIN, PUK or new PIN in plain when the session
/// requires secure messaging and none is active ([`Error::PlainPinRefused`], checked here and
/// again by the session); sends the command; maps the answer to a [`PinOutcome`]; updates the
/// state of the reference. A card reset reported by the transport marks every reference as
/// not verified.
///
/// ```
/// use cardwire_pin::{CardPin, CardPinConfig, Pin, PinHost, PinOutcome, PinSpec, PinState};
/// # use cardwire_transport::{Card, CardHandler, Capabilities, InProcess};
/// # struct Piv(CardPin);
/// # impl CardHandler for Piv {
/// #     fn atr(&self) -> &[u8] { &[0x3B, 0x00] }
/// #     fn power_on(&mut self) { self.0.power_reset() }
/// #     fn power_off(&mut self) { self.0.power_reset() }
/// #     fn process(&mut self, c: &[u8], r: &mut [u8]) -> usize {
/// #         let c = cardwire_apdu::CommandRepr::parse(c).unwrap();
/// #         let sw = self.0.process(cardwire_pin::Secret::Pin, c.ins, c.p1, c.data, false, &mut ()).status_word();
/// #         r[..2].copy_from_slice(&sw.to_bytes()); 2
/// #     }
/// # }
/// # let card_pin = CardPin::new(CardPinConfig::PIV, Some(&Pin::new(b"123456")?), None)?;
/// # let mut card = Card::with_capabilities(InProcess::new(Piv(card_pin)), Capabilities::SHORT_ONLY);
/// let mut host = PinHost::new();
/// let pin = PinSpec::PIV_APPLICATION_PIN;
/// assert_eq!(host.verify(&mut card, &pin, &Pin::new(b"123456")?)?, PinOutcome::Verified);
/// assert_eq!(host.states().get(pin.reference), PinState::Verified);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinHost {
    states: PinStates,
    cla: Cla,
}

impl Default for PinHost {
    fn default() -> Self {
        Self::new()
    }
}

impl PinHost {
    /// A host with class byte `00` and nothing known.
    pub const fn new() -> Self {
        PinHost {
            states: PinStates::new(),
            cla: Cla(0x00),
        }
    }

    /// Uses class byte `cla` (for example a proprietary `80`).
    #[must_use]
    pub const fn with_cla(self, cla: Cla) -> Self {
        PinHost { cla, ..self }
    }

    /// What is known about each reference.
    pub fn states(&self) -> &PinStates {
        &self.states
    }

    /// Mutable access, e.g. to call [`PinStates::card_reset`] after resetting the card.
    pub fn states_mut(&mut self) -> &mut PinStates {
        &mut self.states
    }

    /// VERIFY `value` against `spec`.
    ///
    /// # Errors
    /// [`HostError::Pin`] when the policy or format rejects the PIN or it may not go out in
    /// plain; [`HostError::Card`] when the session fails.
    pub fn verify<T: Transport, S: SecureChannel, const N: usize>(
        &mut self,
        card: &mut Card<T, S, N>,
        spec: &PinSpec,
        value: &Pin,
    ) -> Result<PinOutcome, PinHostError<T, S>> {
        spec.policy.check(value)?;
        let cmd = PinCommand::verify(spec.reference, spec.format, value)?;
        self.send(card, &cmd, PinOperation::Verify, None)
    }

    /// Empty VERIFY: asks whether `reference` is verified and how many tries are left.
    ///
    /// # Errors
    /// [`HostError::Card`] when the session fails.
    pub fn status<T: Transport, S: SecureChannel, const N: usize>(
        &mut self,
        card: &mut Card<T, S, N>,
        reference: PinReference,
    ) -> Result<PinOutcome, PinHostError<T, S>> {
        let cmd = PinCommand::verify_status(reference);
        self.send(card, &cmd, PinOperation::Status, None)
    }

    /// VERIFY P1 `FF`: resets the verified state of `reference`.
    ///
    /// # Errors
    /// [`HostError::Card`] when the session fails.
    pub fn reset_verification<T: Transport, S: SecureChannel, const N: usize>(
        &mut self,
        card: &mut Card<T, S, N>,
        reference: PinReference,
    ) -> Result<PinOutcome, PinHostError<T, S>> {
        let cmd = PinCommand::reset_verification(reference);
        self.send(card, &cmd, PinOperation::ResetVerification, None)
    }

    /// CHANGE REFERENCE DATA: with `old` (P1 `00`) or, after a verification, without (P1 `01`).
    ///
    /// # Errors
    /// As [`PinHost::verify`]; both PINs are checked against the policy.
    pub fn change<T: Transport, S: SecureChannel, const N: usize>(
        &mut self,
        card: &mut Card<T, S, N>,
        spec: &PinSpec,
        old: Option<&Pin>,
        new: &Pin,
    ) -> Result<PinOutcome, PinHostError<T, S>> {
        if let Some(old) = old {
            spec.policy.check(old)?;
        }
        spec.policy.check(new)?;
        let cmd = PinCommand::change_reference_data(spec.reference, spec.format, old, new)?;
        let op = if old.is_some() {
            PinOperation::Change
        } else {
            PinOperation::ChangeNewOnly
        };
        self.send(card, &cmd, op, None)
    }

    /// RESET RETRY COUNTER of `pin` with the PUK `puk_value` (P1 `00`/`01`) or, under an
    /// administrator's security condition, without (P1 `02`/`03`); `new` sets a new PIN.
    /// With a PUK, `63Cx`/`6983` answers count the PUK's tries and update its state.
    ///
    /// # Errors
    /// As [`PinHost::verify`]; the PUK is checked against `puk`'s policy, `new` against `pin`'s.
    pub fn reset_retry_counter<T: Transport, S: SecureChannel, const N: usize>(
        &mut self,
        card: &mut Card<T, S, N>,
        pin: &PinSpec,
        puk: &PinSpec,
        puk_value: Option<&Pin>,
        new: Option<&Pin>,
    ) -> Result<PinOutcome, PinHostError<T, S>> {
        if let Some(p) = puk_value {
            puk.policy.check(p)?;
        }
        if let Some(n) = new {
            pin.policy.check(n)?;
        }
        let cmd =
            PinCommand::reset_retry_counter(pin.reference, pin.format, puk.format, puk_value, new)?;
        let op = if puk_value.is_some() {
            PinOperation::UnblockWithPuk
        } else {
            PinOperation::AdminReset
        };
        self.send(card, &cmd, op, Some(puk.reference))
    }

    fn send<T: Transport, S: SecureChannel, const N: usize>(
        &mut self,
        card: &mut Card<T, S, N>,
        cmd: &PinCommand,
        op: PinOperation,
        puk: Option<PinReference>,
    ) -> Result<PinOutcome, PinHostError<T, S>> {
        if cmd.carries_secret() && card.secure_messaging_required() && !card.is_secure() {
            return Err(HostError::Pin(Error::PlainPinRefused));
        }
        // PIN commands carry no response data: SW1 SW2 plus room for a stray short answer.
        let mut response = [0u8; 258];
        let outcome = match card.transmit(&cmd.repr(self.cla), &mut response) {
            Ok(rsp) => PinOutcome::from_status(rsp.sw()),
            Err(CardError::SecureMessagingRequired) => {
                return Err(HostError::Pin(Error::PlainPinRefused));
            }
            Err(e) => {
                match e.kind() {
                    ErrorKind::CardReset => self.states.card_reset(),
                    ErrorKind::CardRemoved => self.states.clear(),
                    _ => {}
                }
                return Err(HostError::Card(e));
            }
        };
        self.states.apply(op, cmd.reference(), puk, outcome);
        Ok(outcome)
    }
}
