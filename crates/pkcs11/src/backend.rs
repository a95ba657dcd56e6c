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
    /// `true` only after a login on the PIN pad, whose PIN the module cannot enter again.
    fn keep_security_state(&mut self, keep: bool) {
        let _ = keep;
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
/// resets the card at the end of a transaction in which a PIN was verified (so the verified
/// state never outlives the operation; the module re-verifies inside each key operation).
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
