//! Where tokens come from: a [`SlotSource`] lists readers and connects to the card in one,
//! giving a [`Channel`]. The module's core (objects, sessions, login, mechanisms) sees only
//! these two traits, so it is tested against an in-process card exactly as it runs against
//! PC/SC.

use cardwire_apdu::{CommandRepr, Response};
use cardwire_pin::{PinOutcome, PinReference};
use cardwire_transport::{Card, ErrorKind, ReleasePolicy, Session, Transport};

use crate::error::{Result, Rv};

/// One reader as the slot source sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderState {
    /// The reader's name (`CK_SLOT_INFO.slotDescription`).
    pub name: String,
    /// Whether a card is in the reader.
    pub card_present: bool,
    /// A counter that changes on every insertion or removal (PC/SC's event count), so that
    /// a card swapped between two polls is noticed.
    pub events: u64,
    /// Whether the reader has a PIN pad (PC/SC Part 10 `FEATURE_VERIFY_PIN_DIRECT`).
    pub pin_pad: bool,
}

/// Whether two views of the readers differ in what `C_WaitForSlotEvent` reports: a reader
/// added or gone, a card inserted, removed or swapped (name, presence and event counter; the
/// order does not matter).
pub fn readers_differ(a: &[ReaderState], b: &[ReaderState]) -> bool {
    let key = |r: &ReaderState| (r.name.clone(), r.card_present, r.events);
    let mut a: Vec<_> = a.iter().map(key).collect();
    let mut b: Vec<_> = b.iter().map(key).collect();
    a.sort();
    b.sort();
    a != b
}

/// Why [`Watcher::wait`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEnd {
    /// The readers differ from the ones given.
    Changed,
    /// [`Cancel::cancel`] was called (`C_Finalize` from another thread).
    Cancelled,
}

/// Wakes a blocked [`Watcher::wait`] from another thread (PC/SC `SCardCancel`).
pub trait Cancel: Send + Sync {
    /// Makes the watcher's current and every later `wait` return [`WaitEnd::Cancelled`].
    fn cancel(&self);
}

/// Blocks until a reader or card changes, for `C_WaitForSlotEvent`. It works without the
/// module (whose lock the waiting thread must not hold), on its own connection to the
/// reader service.
pub trait Watcher: Send {
    /// Blocks until the readers differ from `known` ([`readers_differ`]: returns at once
    /// when they already do) or until cancelled.
    ///
    /// # Errors
    /// `CKR_DEVICE_ERROR` when the reader service fails.
    fn wait(&mut self, known: &[ReaderState]) -> Result<WaitEnd>;

    /// The handle that cancels this watcher.
    fn canceller(&self) -> std::sync::Arc<dyn Cancel>;
}

/// A source of slots: PC/SC readers, or an in-process virtual card.
pub trait SlotSource: Send {
    /// The readers now.
    ///
    /// # Errors
    /// `CKR_DEVICE_ERROR` when the reader service fails.
    fn readers(&mut self) -> Result<Vec<ReaderState>>;

    /// Connects to the card in `reader`.
    ///
    /// # Errors
    /// `CKR_TOKEN_NOT_PRESENT` without a card, `CKR_DEVICE_ERROR` otherwise.
    fn connect(&mut self, reader: &str) -> Result<Box<dyn Channel>>;

    /// A watcher for blocking `C_WaitForSlotEvent`.
    ///
    /// # Errors
    /// `CKR_FUNCTION_NOT_SUPPORTED` (the default) for a source that cannot block;
    /// `CKR_DEVICE_ERROR` when the reader service fails.
    fn watcher(&mut self) -> Result<Box<dyn Watcher>> {
        Err(Rv::FUNCTION_NOT_SUPPORTED)
    }
}

/// Sends APDUs to a card inside a transaction.
pub trait Apdu {
    /// Sends one command and returns its complete answer (see
    /// [`cardwire_transport::Session::transmit`]).
    ///
    /// # Errors
    /// The transport's error kind; `CardRemoved`/`CardReset` mean the card is gone.
    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> core::result::Result<Response<&'r [u8]>, ErrorKind>;
}

/// A connection to one card: transactions, and the reader's PIN pad.
pub trait Channel: Send {
    /// Runs `op` inside one transaction (PC/SC `SCardBeginTransaction` ..
    /// `SCardEndTransaction` on the same handle, so that a reset or removal in between is
    /// reported, not hidden by a reconnection).
    ///
    /// # Errors
    /// `op`'s error; `CKR_DEVICE_REMOVED` when the card was removed or reset.
    fn transaction(&mut self, op: &mut dyn FnMut(&mut dyn Apdu) -> Result<()>) -> Result<()>;

    /// Whether the reader has a PIN pad the module can use (PC/SC Part 10
    /// `FEATURE_VERIFY_PIN_DIRECT`).
    fn pin_pad(&self) -> bool {
        false
    }

    /// Whether the card keeps its security state (a verified PIN) after a transaction:
    /// `false` (the default) resets it at the end of every transaction that verified a PIN;
    /// `true` while a user is logged in, so that the card stays verified from `C_Login` to
    /// `C_Logout` as with any PKCS#11 middleware (the logout resets the card).
    fn keep_security_state(&mut self, keep: bool) {
        let _ = keep;
    }

    /// How many times this connection found its card reset by someone else and recovered
    /// (PC/SC: `SCARD_W_RESET_CARD`, reconnected to the same card, checked by its ATR). The
    /// transaction that found the reset failed with `CKR_DEVICE_REMOVED`; when this counter
    /// moved, it was a reset of the same card (its security state is lost), not a removal.
    fn resets(&self) -> u64 {
        0
    }

    /// VERIFY `reference` with the PIN typed on the reader's PIN pad.
    ///
    /// # Errors
    /// `CKR_FUNCTION_NOT_SUPPORTED` for a reader without one.
    fn verify_on_pin_pad(&mut self, reference: PinReference) -> Result<PinOutcome> {
        let _ = reference;
        Err(Rv::FUNCTION_NOT_SUPPORTED)
    }
}

/// An [`Apdu`] as a [`Session`], for `cardwire_piv::Piv`.
pub struct ChannelSession<'a>(pub &'a mut dyn Apdu);

impl Session for ChannelSession<'_> {
    type Error = ErrorKind;

    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> core::result::Result<Response<&'r [u8]>, ErrorKind> {
        self.0.transmit(command, response)
    }
}

impl<T: Transport> Apdu for Card<T> {
    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> core::result::Result<Response<&'r [u8]>, ErrorKind> {
        Card::transmit(self, command, response).map_err(|e| e.kind())
    }
}

/// Any transport's [`Card`] session: [`Card::transaction`], whose default release policy
/// resets the card at the end of a transaction in which a PIN was verified; the token lifts
/// it ([`Channel::keep_security_state`]) for the time a user is logged in.
impl<T: Transport + Send> Channel for Card<T> {
    fn transaction(&mut self, op: &mut dyn FnMut(&mut dyn Apdu) -> Result<()>) -> Result<()> {
        match Card::transaction(self, |tx| op(tx)) {
            Ok(r) => r,
            Err(e) => Err(crate::error::from_transport(e.kind())),
        }
    }

    fn keep_security_state(&mut self, keep: bool) {
        self.set_release_policy(if keep {
            ReleasePolicy::Leave
        } else {
            ReleasePolicy::ResetWhenAuthenticated
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(name: &str, card_present: bool, events: u64) -> ReaderState {
        ReaderState {
            name: name.into(),
            card_present,
            events,
            pin_pad: false,
        }
    }

    #[test]
    fn reader_changes_that_are_slot_events() {
        let a = [reader("A", true, 7), reader("B", false, 0)];
        // Same readers in another order, a PIN pad noticed: no event.
        let mut same = [reader("B", false, 0), reader("A", true, 7)];
        same[0].pin_pad = true;
        assert!(!readers_differ(&a, &same));
        // Removal, insertion, a swapped card (same presence, other counter), a reader
        // added or gone.
        assert!(readers_differ(
            &a,
            &[reader("A", false, 0), reader("B", false, 0)]
        ));
        assert!(readers_differ(
            &a,
            &[reader("A", true, 7), reader("B", true, 1)]
        ));
        assert!(readers_differ(
            &a,
            &[reader("A", true, 8), reader("B", false, 0)]
        ));
        assert!(readers_differ(&a, &a[..1]));
        assert!(readers_differ(&[], &a));
        assert!(!readers_differ(&[], &[]));
    }
}
