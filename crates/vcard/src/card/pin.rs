//! PIN and PUK: VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (ISO/IEC 7816-4
//! §11.5.6, §11.5.7, §11.5.10), run by `cardwire-pin`.

use cardwire_apdu::{Ins, StatusWord};
use cardwire_pin::{CardPin, PinOutcome, Secret};

use crate::personalise::{PIN_REFERENCE, PUK_REFERENCE};
use crate::verifier::Argon2idVerifier;

use super::command::{Arrival, Cmd, Reply};
use super::persistence::{save, state_of};
use super::virtual_card::VirtualCard;

impl VirtualCard {
    /// VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER run in `cardwire-pin`'s
    /// [`CardPin::process_with`] (retry counters, blocking, PUK, constant-time comparison);
    /// the state file is saved after each counter decrement, before the comparison, and after
    /// every successful change. The card adds its references, its CHANGE REFERENCE DATA
    /// P1 `00` only, and its security status: set by VERIFY, cleared by VERIFY P1 `FF`, a
    /// failed CHANGE REFERENCE DATA and a reset.
    pub(super) fn pin_command(&mut self, cmd: &Cmd) -> Reply {
        let secret = match (cmd.ins, cmd.p2) {
            (Ins::VERIFY | Ins::RESET_RETRY_COUNTER, PIN_REFERENCE) => Secret::Pin,
            (Ins::CHANGE_REFERENCE_DATA, PIN_REFERENCE) if cmd.p1 == 0x00 => Secret::Pin,
            (Ins::CHANGE_REFERENCE_DATA, PIN_REFERENCE) => {
                return Reply::sw(StatusWord::INCORRECT_P1_P2);
            }
            (Ins::VERIFY, PUK_REFERENCE) => Secret::Puk,
            (Ins::CHANGE_REFERENCE_DATA, PUK_REFERENCE) if cmd.p1 == 0x00 => Secret::Puk,
            _ => return Reply::sw(StatusWord::REFERENCED_DATA_NOT_FOUND),
        };
        let admin = cmd.arrival == Arrival::Scp03;
        if cmd.ins == Ins::RESET_RETRY_COUNTER && cmd.p1 == 0x02 && admin && cmd.data.len() != 8 {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        let status_query = cmd.ins == Ins::VERIFY && cmd.p1 == 0x00 && cmd.data.is_empty();
        let outcome = if status_query && secret == Secret::Pin {
            match self.pin.status() {
                PinOutcome::Verified | PinOutcome::WrongPin { .. } if self.pin_verified => {
                    PinOutcome::Verified
                }
                PinOutcome::Verified | PinOutcome::WrongPin { .. } => PinOutcome::WrongPin {
                    retries_left: self.pin.retries_left(),
                },
                other => other,
            }
        } else {
            let VirtualCard {
                pin,
                store,
                seed,
                fs,
                scp03_keys,
                scp03_tries,
                management_tries,
                signature_count,
                persist_failed,
                ..
            } = self;
            let mut commit = |p: &CardPin<Argon2idVerifier>| {
                if store.is_none() {
                    return Ok(());
                }
                let keys = (&*scp03_keys, *scp03_tries, *management_tries);
                let state = state_of(seed, fs, keys, *signature_count, p);
                save(store.as_ref(), persist_failed, &state)
            };
            pin.process(secret, cmd.ins, cmd.p1, &cmd.data, admin, &mut commit)
        };
        if secret == Secret::Pin {
            match (cmd.ins, cmd.p1) {
                (Ins::VERIFY, 0x00)
                    if outcome != PinOutcome::Unexpected(StatusWord::WRONG_LENGTH)
                        && !status_query =>
                {
                    self.pin_verified = outcome == PinOutcome::Verified;
                    self.piv.pin_always = self.pin_verified;
                }
                (Ins::VERIFY, 0xFF) if outcome == PinOutcome::Verified => {
                    self.pin_verified = false;
                    self.piv.pin_always = false;
                }
                (Ins::CHANGE_REFERENCE_DATA, _)
                    if matches!(outcome, PinOutcome::Blocked | PinOutcome::WrongPin { .. }) =>
                {
                    self.pin_verified = false;
                    self.piv.pin_always = false;
                }
                _ => {}
            }
        }
        Reply::sw(outcome.status_word())
    }
}
