//! The commands on a [`CardPin`]: VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER
//! (ISO/IEC 7816-4 §11.5.6, §11.5.7, §11.5.10), each as one method taking the [`Commit`]
//! that saves the state, and the whole-command [`CardPin::process`].

use subtle::ConstantTimeEq;

use cardwire_apdu::{Ins, StatusWord};

use crate::{PinData, PinFormat, PinOutcome};

use super::card_pin::CardPin;
use super::commit::Commit;
use super::config::Secret;
use super::verifier::PinVerifier;

impl<V: PinVerifier> CardPin<V> {
    /// VERIFY with data: decrements the counter, compares in constant time, restores the
    /// counter only on success.
    pub fn verify<C: Commit<V> + ?Sized>(
        &mut self,
        candidate: &[u8],
        commit: &mut C,
    ) -> PinOutcome {
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
    pub fn change<C: Commit<V> + ?Sized>(
        &mut self,
        old: &[u8],
        new: &[u8],
        commit: &mut C,
    ) -> PinOutcome {
        let new_value = match self.validate_new_pin(new) {
            Ok(v) => v,
            Err(outcome) => return outcome,
        };
        let outcome = self.verify(old, commit);
        if outcome != PinOutcome::Verified {
            return outcome;
        }
        self.store(Secret::Pin, &new_value);
        self.committed(commit)
    }

    /// CHANGE REFERENCE DATA, P1 `01`: stores `new` when the PIN is verified in this session
    /// (`6982` otherwise).
    pub fn change_verified<C: Commit<V> + ?Sized>(
        &mut self,
        new: &[u8],
        commit: &mut C,
    ) -> PinOutcome {
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
    pub fn unblock<C: Commit<V> + ?Sized>(
        &mut self,
        puk: &[u8],
        new: Option<&[u8]>,
        commit: &mut C,
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
    pub fn reset_by_administrator<C: Commit<V> + ?Sized>(
        &mut self,
        new: Option<&[u8]>,
        commit: &mut C,
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
    pub fn verify_puk<C: Commit<V> + ?Sized>(
        &mut self,
        candidate: &[u8],
        commit: &mut C,
    ) -> PinOutcome {
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
    pub fn change_puk<C: Commit<V> + ?Sized>(
        &mut self,
        old: &[u8],
        new: &[u8],
        commit: &mut C,
    ) -> PinOutcome {
        let new_value = match self.config.puk_format.decode(new) {
            Ok(pin) => match self.config.puk_format.encode(&pin) {
                Ok(v) if v.expose_secret() == new => v,
                _ => return PinOutcome::Unexpected(StatusWord::INCORRECT_DATA),
            },
            Err(_) => return PinOutcome::Unexpected(StatusWord::INCORRECT_DATA),
        };
        let outcome = self.verify_puk(old, commit);
        if outcome != PinOutcome::Verified {
            return outcome;
        }
        self.store(Secret::Puk, &new_value);
        self.committed(commit)
    }

    /// Handles a whole VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER command for this
    /// PIN (or its PUK, per `secret`), splitting `old || new` and `PUK || new` data fields by
    /// the configured fixed lengths (or, for variable-length formats, by the stored value's
    /// length, as variable-length cards do; this needs the [`Plain`](super::Plain) verifier). `admin` says
    /// whether the administrator's security condition for RESET RETRY COUNTER P1 `02`/`03` is
    /// met.
    ///
    /// `commit` is called with the new state after a retry counter is decremented and
    /// **before** the comparison, and again after every successful change (counter restored,
    /// new value, reset); pass `&mut ()` for a PIN kept in RAM only. When it fails, its status
    /// word is the answer: before the comparison, the value is not compared at all (the try
    /// stays counted); afterwards, the change stays in this object (the caller decides whether
    /// the card is still usable).
    ///
    /// Answers `6D00` for another INS, `6A86` for an unknown P1, `6700` for a data field of the
    /// wrong length.
    pub fn process<C: Commit<V> + ?Sized>(
        &mut self,
        secret: Secret,
        ins: Ins,
        p1: u8,
        data: &[u8],
        admin: bool,
        commit: &mut C,
    ) -> PinOutcome {
        let wrong_p1 = PinOutcome::Unexpected(StatusWord::INCORRECT_P1_P2);
        let wrong_len = PinOutcome::Unexpected(StatusWord::WRONG_LENGTH);
        match (secret, ins, p1) {
            (Secret::Pin, Ins::VERIFY, 0x00) if data.is_empty() => self.status(),
            (Secret::Pin, Ins::VERIFY, 0x00) => {
                let outcome = self.verify(data, commit);
                if outcome == PinOutcome::Verified {
                    self.committed(commit)
                } else {
                    outcome
                }
            }
            (Secret::Puk, Ins::VERIFY, 0x00) if data.is_empty() => self.puk_status(),
            (Secret::Puk, Ins::VERIFY, 0x00) => {
                let outcome = self.verify_puk(data, commit);
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
                    Some((old, new)) => self.change(old, new, commit),
                    None => wrong_len,
                }
            }
            (Secret::Pin, Ins::CHANGE_REFERENCE_DATA, 0x01) => self.change_verified(data, commit),
            (Secret::Puk, Ins::CHANGE_REFERENCE_DATA, 0x00) => {
                match split(self.config.puk_format, self.puk.as_ref(), data) {
                    Some((old, new)) => self.change_puk(old, new, commit),
                    None => wrong_len,
                }
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x00) => {
                match split(self.config.puk_format, self.puk.as_ref(), data) {
                    Some((puk, new)) => self.unblock(puk, Some(new), commit),
                    None => wrong_len,
                }
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x01) => self.unblock(data, None, commit),
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x02 | 0x03) if !admin => {
                PinOutcome::SecurityStatusNotSatisfied
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x02) => {
                self.reset_by_administrator(Some(data), commit)
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x03) if data.is_empty() => {
                self.reset_by_administrator(None, commit)
            }
            (Secret::Pin, Ins::RESET_RETRY_COUNTER, 0x03) => wrong_len,
            (_, Ins::VERIFY | Ins::CHANGE_REFERENCE_DATA | Ins::RESET_RETRY_COUNTER, _) => wrong_p1,
            _ => PinOutcome::Unexpected(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    /// The counter rule shared by PIN and PUK (the only place it is written): blocked at
    /// zero; decrement and commit; compare the references in constant time; restore the
    /// counter only on success (the caller commits that).
    fn attempt<C: Commit<V> + ?Sized>(
        &mut self,
        which: Secret,
        candidate: &[u8],
        commit: &mut C,
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
        if let Err(sw) = commit.commit(self) {
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
    fn committed<C: Commit<V> + ?Sized>(&mut self, commit: &mut C) -> PinOutcome {
        match commit.commit(self) {
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

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::config::CardPinConfig;
    use super::super::testing::{card, piv};
    use super::super::verifier::Plain;
    use super::*;
    use crate::{Pin, PinPolicy};
    use proptest::prelude::*;

    #[test]
    fn three_wrong_pins_block_then_puk_unblocks() {
        let mut c = card();
        assert_eq!(c.status(), PinOutcome::WrongPin { retries_left: 3 });
        // The sequence: 63C2, 63C1, 6983.
        assert_eq!(
            c.verify(&piv(b"000000"), &mut ()).status_word(),
            StatusWord(0x63C2)
        );
        assert_eq!(
            c.verify(&piv(b"000001"), &mut ()).status_word(),
            StatusWord(0x63C1)
        );
        assert_eq!(
            c.verify(&piv(b"000002"), &mut ()).status_word(),
            StatusWord(0x6983)
        );
        assert!(c.is_blocked());
        // Blocked even for the right PIN, and the counter stays at zero.
        assert_eq!(c.verify(&piv(b"123456"), &mut ()), PinOutcome::Blocked);
        assert_eq!(c.retries_left(), 0);
        assert!(!c.is_verified());
        assert_eq!(c.status(), PinOutcome::Blocked);
        // Unblock with the PUK and a new PIN.
        assert_eq!(
            c.unblock(&piv(b"87654321"), Some(&piv(b"2468024")), &mut ()),
            PinOutcome::Verified
        );
        assert_eq!(c.retries_left(), 3);
        assert_eq!(
            c.verify(&piv(b"123456"), &mut ()),
            PinOutcome::WrongPin { retries_left: 2 }
        );
        assert_eq!(c.verify(&piv(b"2468024"), &mut ()), PinOutcome::Verified);
        assert_eq!(c.retries_left(), 3);
    }

    #[test]
    fn puk_exhaustion_blocks_for_good() {
        let mut c = card();
        for _ in 0..3 {
            c.verify(&piv(b"000000"), &mut ());
        }
        assert!(c.is_blocked());
        assert_eq!(
            c.unblock(&piv(b"00000000"), Some(&piv(b"111111")), &mut ()),
            PinOutcome::WrongPin { retries_left: 2 }
        );
        assert_eq!(
            c.unblock(&piv(b"00000000"), None, &mut ()),
            PinOutcome::WrongPin { retries_left: 1 }
        );
        assert_eq!(
            c.unblock(&piv(b"00000000"), None, &mut ()),
            PinOutcome::Blocked
        );
        assert!(c.is_permanently_blocked());
        // The right PUK no longer helps, and neither does the right PIN.
        assert_eq!(
            c.unblock(&piv(b"87654321"), Some(&piv(b"111111")), &mut ()),
            PinOutcome::Blocked
        );
        assert_eq!(c.verify(&piv(b"123456"), &mut ()), PinOutcome::Blocked);
        assert_eq!(c.puk_status(), PinOutcome::Blocked);
        // Only the administrator can reset.
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::RESET_RETRY_COUNTER,
                0x02,
                &piv(b"999999"),
                false,
                &mut ()
            ),
            PinOutcome::SecurityStatusNotSatisfied
        );
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::RESET_RETRY_COUNTER,
                0x02,
                &piv(b"999999"),
                true,
                &mut ()
            ),
            PinOutcome::Verified
        );
        assert_eq!(c.verify(&piv(b"999999"), &mut ()), PinOutcome::Verified);
    }

    #[test]
    fn good_puk_restores_its_own_counter() {
        let mut c = card();
        assert_eq!(
            c.unblock(&piv(b"00000000"), None, &mut ()),
            PinOutcome::WrongPin { retries_left: 2 }
        );
        assert_eq!(
            c.unblock(&piv(b"87654321"), None, &mut ()),
            PinOutcome::Verified
        );
        assert_eq!(c.puk_retries_left(), 3);
    }

    #[test]
    fn malformed_input_changes_no_counter() {
        let mut c = card();
        assert_eq!(
            c.verify(b"123456", &mut ()),
            PinOutcome::Unexpected(StatusWord::WRONG_LENGTH)
        );
        assert_eq!(c.retries_left(), 3);
        // A new PIN that breaks the policy (5 digits) is refused before the old one is checked.
        assert_eq!(
            c.change(&piv(b"000000"), &piv(b"12345"), &mut ()),
            PinOutcome::Unexpected(StatusWord::INCORRECT_DATA)
        );
        assert_eq!(c.retries_left(), 3);
        // Non-canonical padding is refused too.
        assert_eq!(
            c.change(&piv(b"123456"), b"654321\xFF\x00", &mut ()),
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
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x00,
                &data,
                false,
                &mut ()
            ),
            PinOutcome::Verified
        );
        assert!(c.is_verified());
        assert_eq!(
            c.process(Secret::Pin, Ins::VERIFY, 0x00, &[], false, &mut ()),
            PinOutcome::Verified
        );
        assert_eq!(
            c.process(Secret::Pin, Ins::VERIFY, 0xFF, &[], false, &mut ()),
            PinOutcome::Verified
        );
        assert!(!c.is_verified());
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x01,
                &piv(b"11112222"),
                false,
                &mut ()
            ),
            PinOutcome::SecurityStatusNotSatisfied
        );
        assert_eq!(c.verify(&piv(b"654321"), &mut ()), PinOutcome::Verified);
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x01,
                &piv(b"11112222"),
                false,
                &mut ()
            ),
            PinOutcome::Verified
        );
        c.power_reset();
        assert!(!c.is_verified());
        assert_eq!(c.verify(&piv(b"11112222"), &mut ()), PinOutcome::Verified);
        // Wrong-length CHANGE data.
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x00,
                &data[..15],
                false,
                &mut ()
            ),
            PinOutcome::Unexpected(StatusWord::WRONG_LENGTH)
        );
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::CHANGE_REFERENCE_DATA,
                0x07,
                &data,
                false,
                &mut ()
            ),
            PinOutcome::Unexpected(StatusWord::INCORRECT_P1_P2)
        );
        assert_eq!(
            c.process(Secret::Pin, Ins(0xB0), 0x00, &data, false, &mut ()),
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
            c.process(
                Secret::Puk,
                Ins::CHANGE_REFERENCE_DATA,
                0x00,
                &data,
                false,
                &mut ()
            ),
            PinOutcome::Verified
        );
        for _ in 0..3 {
            c.verify(&piv(b"000000"), &mut ());
        }
        assert_eq!(
            c.process(
                Secret::Pin,
                Ins::RESET_RETRY_COUNTER,
                0x01,
                &piv(b"11223344"),
                false,
                &mut ()
            ),
            PinOutcome::Verified
        );
        assert_eq!(c.verify(&piv(b"123456"), &mut ()), PinOutcome::Verified);
        assert_eq!(
            c.process(Secret::Puk, Ins::VERIFY, 0x00, &[], false, &mut ()),
            PinOutcome::WrongPin { retries_left: 3 }
        );
    }

    #[test]
    fn unset_pin_is_not_usable_until_admin_sets_it() {
        let mut c = CardPin::new(CardPinConfig::PIV, None, None).unwrap();
        assert_eq!(c.status(), PinOutcome::NotUsable);
        assert_eq!(c.verify(&piv(b"123456"), &mut ()), PinOutcome::NotUsable);
        assert_eq!(
            c.unblock(&piv(b"12345678"), None, &mut ()),
            PinOutcome::NotUsable
        );
        assert_eq!(
            c.reset_by_administrator(None, &mut ()),
            PinOutcome::NotUsable
        );
        assert_eq!(
            c.reset_by_administrator(Some(&piv(b"123456")), &mut ()),
            PinOutcome::Verified
        );
        assert_eq!(c.verify(&piv(b"123456"), &mut ()), PinOutcome::Verified);
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
                false,
                &mut ()
            ),
            PinOutcome::Verified
        );
        assert_eq!(c.verify(b"newpin1", &mut ()), PinOutcome::Verified);
        assert_eq!(
            c.verify(b"newpin", &mut ()),
            PinOutcome::WrongPin { retries_left: 2 }
        );
    }

    #[test]
    fn commit_sees_the_decrement_before_the_comparison() {
        let mut c = card();
        let mut seen = std::vec::Vec::new();
        let mut commit = |p: &CardPin| {
            seen.push(p.retries_left());
            Ok(())
        };
        let verify = |c: &mut CardPin, pin: &[u8], commit: &mut dyn Commit<Plain>| {
            c.process(Secret::Pin, Ins::VERIFY, 0x00, pin, false, commit)
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
                    Op::Verify(right) => c.verify(&if right { pin } else { piv(b"000000") }, &mut ()),
                    Op::Status => c.status(),
                    Op::Unblock(right) => c.unblock(&piv(if right { b"87654321" } else { b"00000000" }), None, &mut ()),
                    Op::Change(right) => {
                        let o = c.change(&if right { pin } else { piv(b"000000") }, &piv(b"7654321"), &mut ());
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
        assert_eq!(
            c.verify(&piv(b"000000"), &mut ()).status_word(),
            StatusWord(0x63C2)
        );
        assert_eq!(
            c.verify(&piv(b"000001"), &mut ()).status_word(),
            StatusWord(0x63C1)
        );
        assert_eq!(
            c.verify(&piv(b"000002"), &mut ()).status_word(),
            StatusWord(0x6983)
        );
        assert_eq!(c.verify(&piv(b"123456"), &mut ()), PinOutcome::Blocked);
        // Unblock with a new PIN: the verifier rekeys the PIN, not the PUK.
        assert_eq!(
            c.unblock(&piv(b"87654321"), Some(&piv(b"2468024")), &mut ()),
            PinOutcome::Verified
        );
        assert_eq!(c.verifier().key, [0x56, 0xAA]);
        assert_eq!(c.verify(&piv(b"2468024"), &mut ()), PinOutcome::Verified);
        // State round trip through the references, into a copy with the same verifier.
        let mut copy =
            CardPin::with_verifier(CardPinConfig::PIV, c.verifier().clone(), None, None).unwrap();
        copy.set_state(c.state()).unwrap();
        assert_eq!(copy.verify(&piv(b"2468024"), &mut ()), PinOutcome::Verified);
        let dup = c.duplicate();
        assert!(!dup.is_verified());
        assert_eq!(dup.state(), c.state());
        let mut bad = c.state();
        bad.retries_left = 4;
        assert!(copy.set_state(bad).is_err());
    }
}
