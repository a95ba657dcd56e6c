//! Host-side PIN operations over any [`Session`] (blocking) or [`AsyncSession`] (async): check
//! the policy, refuse a plain PIN when secure messaging is required, send the command, turn the
//! answer into a [`PinOutcome`] and update the per-reference [`PinStates`].
//!
//! The blocking and async drivers share everything but the `transmit` call: the command is
//! built and checked by one function per operation, and one function maps the answer.

use core::fmt;

use cardwire_apdu::{Cla, StatusWord};
use cardwire_transport::{AsyncSession, ErrorKind, Session};

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

/// The error type of [`PinHost`] operations over a [`Session`] `S`.
pub type PinHostError<S> = HostError<<S as Session>::Error>;

/// One PIN operation, built and checked, ready to send: the sans-IO half shared by the
/// blocking and async drivers.
struct Prepared {
    cmd: PinCommand,
    op: PinOperation,
    puk: Option<PinReference>,
}

/// Runs PIN operations over any session and keeps the host's [`PinStates`].
///
/// Every operation: checks the PIN against the [`PinSpec`]'s policy (a PIN the card would
/// refuse never costs a try); refuses to send a PIN, PUK or new PIN in plain when the session
/// says its policy forbids it ([`Session::plain_pin_forbidden`]: secure messaging required and
/// none active; [`Error::PlainPinRefused`], checked here and again by a `Card` session); sends
/// the command; maps the answer to a [`PinOutcome`]; updates the state of the reference. A card
/// reset reported by the transport marks every reference as not verified.
///
/// The session is anything implementing [`Session`] — cardwire's `Card`, or another crate's
/// session in a few lines — and, for the `_async` twins, [`AsyncSession`] (cardwire's
/// `AsyncCard`).
///
/// ```
/// use cardwire_pin::{CardPin, CardPinConfig, Pin, PinHost, PinOutcome, PinSpec, PinState};
/// # use cardwire_apdu::exchange::Capabilities;
/// # use cardwire_transport::{Card, CardHandler, InProcess};
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
/// # let mut card = Card::with_capabilities(InProcess::new(Piv(card_pin)), Capabilities::SHORT);
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

    /// VERIFY `value` against `spec` (ISO/IEC 7816-4 §11.5.6).
    ///
    /// # Errors
    /// [`HostError::Pin`] when the policy or format rejects the PIN or it may not go out in
    /// plain; [`HostError::Card`] when the session fails.
    pub fn verify<S: Session>(
        &mut self,
        session: &mut S,
        spec: &PinSpec,
        value: &Pin,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send(session, verify_command(spec, value)?)
    }

    /// Empty VERIFY: asks whether `reference` is verified and how many tries are left.
    ///
    /// # Errors
    /// [`HostError::Card`] when the session fails.
    pub fn status<S: Session>(
        &mut self,
        session: &mut S,
        reference: PinReference,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send(session, status_command(reference))
    }

    /// VERIFY P1 `FF`: resets the verified state of `reference`.
    ///
    /// # Errors
    /// [`HostError::Card`] when the session fails.
    pub fn reset_verification<S: Session>(
        &mut self,
        session: &mut S,
        reference: PinReference,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send(session, reset_verification_command(reference))
    }

    /// CHANGE REFERENCE DATA: with `old` (P1 `00`) or, after a verification, without (P1 `01`)
    /// (ISO/IEC 7816-4 §11.5.7).
    ///
    /// # Errors
    /// As [`PinHost::verify`]; both PINs are checked against the policy.
    pub fn change<S: Session>(
        &mut self,
        session: &mut S,
        spec: &PinSpec,
        old: Option<&Pin>,
        new: &Pin,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send(session, change_command(spec, old, new)?)
    }

    /// RESET RETRY COUNTER of `pin` with the PUK `puk_value` (P1 `00`/`01`) or, under an
    /// administrator's security condition, without (P1 `02`/`03`); `new` sets a new PIN
    /// (ISO/IEC 7816-4 §11.5.10). With a PUK, `63Cx`/`6983` answers count the PUK's tries and
    /// update its state.
    ///
    /// # Errors
    /// As [`PinHost::verify`]; the PUK is checked against `puk`'s policy, `new` against `pin`'s.
    pub fn reset_retry_counter<S: Session>(
        &mut self,
        session: &mut S,
        pin: &PinSpec,
        puk: &PinSpec,
        puk_value: Option<&Pin>,
        new: Option<&Pin>,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send(
            session,
            reset_retry_counter_command(pin, puk, puk_value, new)?,
        )
    }

    // ----- async twins --------------------------------------------------------------------

    /// [`PinHost::verify`] over an [`AsyncSession`].
    ///
    /// # Errors
    /// As [`PinHost::verify`].
    pub async fn verify_async<S: AsyncSession>(
        &mut self,
        session: &mut S,
        spec: &PinSpec,
        value: &Pin,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send_async(session, verify_command(spec, value)?).await
    }

    /// [`PinHost::status`] over an [`AsyncSession`].
    ///
    /// # Errors
    /// As [`PinHost::status`].
    pub async fn status_async<S: AsyncSession>(
        &mut self,
        session: &mut S,
        reference: PinReference,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send_async(session, status_command(reference)).await
    }

    /// [`PinHost::reset_verification`] over an [`AsyncSession`].
    ///
    /// # Errors
    /// As [`PinHost::reset_verification`].
    pub async fn reset_verification_async<S: AsyncSession>(
        &mut self,
        session: &mut S,
        reference: PinReference,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send_async(session, reset_verification_command(reference))
            .await
    }

    /// [`PinHost::change`] over an [`AsyncSession`].
    ///
    /// # Errors
    /// As [`PinHost::change`].
    pub async fn change_async<S: AsyncSession>(
        &mut self,
        session: &mut S,
        spec: &PinSpec,
        old: Option<&Pin>,
        new: &Pin,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send_async(session, change_command(spec, old, new)?)
            .await
    }

    /// [`PinHost::reset_retry_counter`] over an [`AsyncSession`].
    ///
    /// # Errors
    /// As [`PinHost::reset_retry_counter`].
    pub async fn reset_retry_counter_async<S: AsyncSession>(
        &mut self,
        session: &mut S,
        pin: &PinSpec,
        puk: &PinSpec,
        puk_value: Option<&Pin>,
        new: Option<&Pin>,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        self.send_async(
            session,
            reset_retry_counter_command(pin, puk, puk_value, new)?,
        )
        .await
    }

    // ----- the two drivers: checks, one transmit, one mapping -----------------------------

    fn send<S: Session>(
        &mut self,
        session: &mut S,
        prepared: Prepared,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        check_plain(&prepared, session.plain_pin_forbidden())?;
        // PIN commands carry no response data: SW1 SW2 plus room for a stray short answer.
        let mut response = [0u8; 258];
        let answer = session
            .transmit(&prepared.cmd.repr(self.cla), &mut response)
            .map(|rsp| rsp.sw());
        self.complete(&prepared, answer)
    }

    async fn send_async<S: AsyncSession>(
        &mut self,
        session: &mut S,
        prepared: Prepared,
    ) -> Result<PinOutcome, HostError<S::Error>> {
        check_plain(&prepared, session.plain_pin_forbidden())?;
        let mut response = [0u8; 258];
        let answer = session
            .transmit(&prepared.cmd.repr(self.cla), &mut response)
            .await
            .map(|rsp| rsp.sw());
        self.complete(&prepared, answer)
    }

    /// Maps the card's answer (or the session's failure) to the outcome and updates the
    /// states.
    fn complete<E: cardwire_transport::Error>(
        &mut self,
        prepared: &Prepared,
        answer: Result<StatusWord, E>,
    ) -> Result<PinOutcome, HostError<E>> {
        let outcome = match answer {
            Ok(sw) => PinOutcome::from_status(sw),
            Err(e) => {
                match e.kind() {
                    ErrorKind::CardReset => self.states.card_reset(),
                    ErrorKind::CardRemoved => self.states.clear(),
                    _ => {}
                }
                return Err(HostError::Card(e));
            }
        };
        self.states
            .apply(prepared.op, prepared.cmd.reference(), prepared.puk, outcome);
        Ok(outcome)
    }
}

/// Refuses a command carrying a secret when the session forbids plain PIN data.
fn check_plain(prepared: &Prepared, plain_pin_forbidden: bool) -> Result<(), Error> {
    if prepared.cmd.carries_secret() && plain_pin_forbidden {
        return Err(Error::PlainPinRefused);
    }
    Ok(())
}

fn verify_command(spec: &PinSpec, value: &Pin) -> Result<Prepared, Error> {
    spec.policy.check(value)?;
    Ok(Prepared {
        cmd: PinCommand::verify(spec.reference, spec.format, value)?,
        op: PinOperation::Verify,
        puk: None,
    })
}

fn status_command(reference: PinReference) -> Prepared {
    Prepared {
        cmd: PinCommand::verify_status(reference),
        op: PinOperation::Status,
        puk: None,
    }
}

fn reset_verification_command(reference: PinReference) -> Prepared {
    Prepared {
        cmd: PinCommand::reset_verification(reference),
        op: PinOperation::ResetVerification,
        puk: None,
    }
}

fn change_command(spec: &PinSpec, old: Option<&Pin>, new: &Pin) -> Result<Prepared, Error> {
    if let Some(old) = old {
        spec.policy.check(old)?;
    }
    spec.policy.check(new)?;
    Ok(Prepared {
        cmd: PinCommand::change_reference_data(spec.reference, spec.format, old, new)?,
        op: if old.is_some() {
            PinOperation::Change
        } else {
            PinOperation::ChangeNewOnly
        },
        puk: None,
    })
}

fn reset_retry_counter_command(
    pin: &PinSpec,
    puk: &PinSpec,
    puk_value: Option<&Pin>,
    new: Option<&Pin>,
) -> Result<Prepared, Error> {
    if let Some(p) = puk_value {
        puk.policy.check(p)?;
    }
    if let Some(n) = new {
        pin.policy.check(n)?;
    }
    Ok(Prepared {
        cmd: PinCommand::reset_retry_counter(
            pin.reference,
            pin.format,
            puk.format,
            puk_value,
            new,
        )?,
        op: if puk_value.is_some() {
            PinOperation::UnblockWithPuk
        } else {
            PinOperation::AdminReset
        },
        puk: Some(puk.reference),
    })
}
