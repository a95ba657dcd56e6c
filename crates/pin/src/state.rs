//! Host-side PIN state: what the host knows about each reference, updated from every answer.

use crate::{PinOutcome, PinReference};

/// What the host knows about one PIN (or PUK) reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinState {
    /// Nothing known yet (or the last answer did not tell).
    Unknown,
    /// Verified in this card session.
    Verified,
    /// Not verified; the number of tries left when the card said it.
    NotVerified {
        /// Tries left, when known.
        retries_left: Option<u8>,
    },
    /// Blocked: no try left.
    Blocked,
    /// The card says the reference data is not usable (`6984`).
    NotUsable,
}

/// The PIN operation an answer belongs to (decides how the answer moves the state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinOperation {
    /// VERIFY with data, or CHANGE REFERENCE DATA with the old PIN (P1 `00`): the answer is
    /// about the PIN the host presented.
    Verify,
    /// VERIFY without data: asks for the state.
    Status,
    /// VERIFY P1 `FF`: resets the verified state.
    ResetVerification,
    /// CHANGE REFERENCE DATA P1 `00`.
    Change,
    /// CHANGE REFERENCE DATA P1 `01` (needs prior verification).
    ChangeNewOnly,
    /// RESET RETRY COUNTER with a PUK (P1 `00`/`01`): `63Cx` and `6983` are about the PUK.
    UnblockWithPuk,
    /// RESET RETRY COUNTER without a PUK (P1 `02`/`03`).
    AdminReset,
}

/// The host's view of up to [`PinStates::CAPACITY`] references: a small state machine per
/// reference, moved by [`PinStates::apply`] after every answer.
///
/// | answer | VERIFY / CHANGE (old PIN) / empty VERIFY | RESET RETRY COUNTER with PUK |
/// |---|---|---|
/// | `9000` | PIN Verified (after CHANGE: Unknown, card-dependent) | PIN NotVerified, PUK NotVerified |
/// | `63Cx` | PIN NotVerified(x), Blocked when x = 0 | PUK NotVerified(x) / Blocked |
/// | `6983` | PIN Blocked | PUK Blocked |
/// | `6984` | PIN NotUsable | PUK NotUsable |
/// | `6982`, other | unchanged (a Verified PIN becomes NotVerified on `6982`) | unchanged |
///
/// A card reset loses every verification: call [`PinStates::card_reset`].
///
/// ```
/// use cardwire_pin::{PinOperation, PinOutcome, PinReference, PinState, PinStates};
/// let mut states = PinStates::new();
/// let pin = PinReference(0x80);
/// states.apply(PinOperation::Verify, pin, None, PinOutcome::WrongPin { retries_left: 2 });
/// assert_eq!(states.get(pin), PinState::NotVerified { retries_left: Some(2) });
/// states.apply(PinOperation::Verify, pin, None, PinOutcome::Verified);
/// assert_eq!(states.get(pin), PinState::Verified);
/// states.card_reset();
/// assert_eq!(states.get(pin), PinState::NotVerified { retries_left: None });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinStates {
    entries: [Option<(PinReference, PinState)>; PinStates::CAPACITY],
    next_evict: usize,
}

impl Default for PinStates {
    fn default() -> Self {
        Self::new()
    }
}

impl PinStates {
    /// References tracked at once; a new one beyond that replaces the oldest entry.
    pub const CAPACITY: usize = 8;

    /// Nothing known.
    pub const fn new() -> Self {
        PinStates {
            entries: [None; PinStates::CAPACITY],
            next_evict: 0,
        }
    }

    /// The state of `reference` ([`PinState::Unknown`] when never seen).
    pub fn get(&self, reference: PinReference) -> PinState {
        self.entries
            .iter()
            .flatten()
            .find(|(r, _)| *r == reference)
            .map_or(PinState::Unknown, |(_, s)| *s)
    }

    /// Sets the state of `reference`.
    pub fn set(&mut self, reference: PinReference, state: PinState) {
        if let Some(entry) = self
            .entries
            .iter_mut()
            .flatten()
            .find(|(r, _)| *r == reference)
        {
            entry.1 = state;
            return;
        }
        let slot = match self.entries.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                let victim = self.next_evict % Self::CAPACITY;
                self.next_evict = (victim + 1) % Self::CAPACITY;
                victim
            }
        };
        if let Some(e) = self.entries.get_mut(slot) {
            *e = Some((reference, state));
        }
    }

    /// A card reset or power loss: every verification is lost, counters are kept.
    pub fn card_reset(&mut self) {
        for (_, state) in self.entries.iter_mut().flatten() {
            if *state == PinState::Verified {
                *state = PinState::NotVerified { retries_left: None };
            }
        }
    }

    /// Forgets everything (another card was inserted).
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// Moves the state machine with the card's answer to `operation` on `reference`;
    /// `puk` names the PUK reference for [`PinOperation::UnblockWithPuk`].
    pub fn apply(
        &mut self,
        operation: PinOperation,
        reference: PinReference,
        puk: Option<PinReference>,
        outcome: PinOutcome,
    ) {
        let counted = |state: PinState| match outcome {
            PinOutcome::WrongPin { retries_left: 0 } | PinOutcome::Blocked => {
                Some(PinState::Blocked)
            }
            PinOutcome::WrongPin { retries_left } => Some(PinState::NotVerified {
                retries_left: Some(retries_left),
            }),
            PinOutcome::NotUsable => Some(PinState::NotUsable),
            PinOutcome::SecurityStatusNotSatisfied if state == PinState::Verified => {
                Some(PinState::NotVerified { retries_left: None })
            }
            _ => None,
        };
        let current = self.get(reference);
        match (operation, outcome) {
            (PinOperation::Verify | PinOperation::Status, PinOutcome::Verified) => {
                self.set(reference, PinState::Verified);
            }
            (PinOperation::Change, PinOutcome::Verified) => self.set(reference, PinState::Unknown),
            (PinOperation::ResetVerification, PinOutcome::Verified) => {
                let retries_left = match current {
                    PinState::NotVerified { retries_left } => retries_left,
                    _ => None,
                };
                self.set(reference, PinState::NotVerified { retries_left });
            }
            (PinOperation::ChangeNewOnly, PinOutcome::Verified) => {}
            (PinOperation::UnblockWithPuk | PinOperation::AdminReset, PinOutcome::Verified) => {
                self.set(reference, PinState::NotVerified { retries_left: None });
                if let (PinOperation::UnblockWithPuk, Some(puk)) = (operation, puk) {
                    self.set(puk, PinState::NotVerified { retries_left: None });
                }
            }
            (PinOperation::UnblockWithPuk, _) => {
                if let Some(puk) = puk {
                    if let Some(next) = counted(self.get(puk)) {
                        self.set(puk, next);
                    }
                }
            }
            (PinOperation::ResetVerification | PinOperation::AdminReset, _) => {}
            (_, _) => {
                if let Some(next) = counted(current) {
                    self.set(reference, next);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardwire_apdu::StatusWord;

    const PIN: PinReference = PinReference(0x80);
    const PUK: PinReference = PinReference(0x81);

    #[test]
    fn verify_sequence() {
        let mut s = PinStates::new();
        assert_eq!(s.get(PIN), PinState::Unknown);
        s.apply(
            PinOperation::Status,
            PIN,
            None,
            PinOutcome::WrongPin { retries_left: 3 },
        );
        assert_eq!(
            s.get(PIN),
            PinState::NotVerified {
                retries_left: Some(3)
            }
        );
        s.apply(
            PinOperation::Verify,
            PIN,
            None,
            PinOutcome::WrongPin { retries_left: 1 },
        );
        s.apply(PinOperation::Verify, PIN, None, PinOutcome::Blocked);
        assert_eq!(s.get(PIN), PinState::Blocked);
        // An unexpected answer changes nothing.
        s.apply(
            PinOperation::Verify,
            PIN,
            None,
            PinOutcome::Unexpected(StatusWord(0x6700)),
        );
        assert_eq!(s.get(PIN), PinState::Blocked);
        // A failed PUK try moves the PUK, not the PIN.
        s.apply(
            PinOperation::UnblockWithPuk,
            PIN,
            Some(PUK),
            PinOutcome::WrongPin { retries_left: 2 },
        );
        assert_eq!(s.get(PIN), PinState::Blocked);
        assert_eq!(
            s.get(PUK),
            PinState::NotVerified {
                retries_left: Some(2)
            }
        );
        s.apply(
            PinOperation::UnblockWithPuk,
            PIN,
            Some(PUK),
            PinOutcome::Verified,
        );
        assert_eq!(s.get(PIN), PinState::NotVerified { retries_left: None });
        s.apply(PinOperation::Verify, PIN, None, PinOutcome::Verified);
        assert_eq!(s.get(PIN), PinState::Verified);
        s.apply(
            PinOperation::ChangeNewOnly,
            PIN,
            None,
            PinOutcome::SecurityStatusNotSatisfied,
        );
        assert_eq!(s.get(PIN), PinState::NotVerified { retries_left: None });
        s.apply(
            PinOperation::Verify,
            PIN,
            None,
            PinOutcome::WrongPin { retries_left: 0 },
        );
        assert_eq!(s.get(PIN), PinState::Blocked);
        s.apply(PinOperation::Verify, PIN, None, PinOutcome::NotUsable);
        assert_eq!(s.get(PIN), PinState::NotUsable);
    }

    #[test]
    fn reset_verification_keeps_known_counter() {
        let mut s = PinStates::new();
        s.apply(PinOperation::Verify, PIN, None, PinOutcome::Verified);
        s.apply(
            PinOperation::ResetVerification,
            PIN,
            None,
            PinOutcome::Verified,
        );
        assert_eq!(s.get(PIN), PinState::NotVerified { retries_left: None });
        s.apply(PinOperation::Change, PIN, None, PinOutcome::Verified);
        assert_eq!(s.get(PIN), PinState::Unknown);
    }

    #[test]
    fn capacity_evicts_oldest() {
        let mut s = PinStates::new();
        for r in 0..PinStates::CAPACITY as u8 {
            s.set(PinReference(r), PinState::Blocked);
        }
        s.set(PinReference(0x90), PinState::Verified);
        assert_eq!(s.get(PinReference(0)), PinState::Unknown);
        assert_eq!(s.get(PinReference(1)), PinState::Blocked);
        assert_eq!(s.get(PinReference(0x90)), PinState::Verified);
        s.clear();
        assert_eq!(s.get(PinReference(0x90)), PinState::Unknown);
    }
}
