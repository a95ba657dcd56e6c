//! The journey's driver: the card session, the log of every wire APDU (split per stage for
//! the report), the host's PIN state, and READ BINARY of whole files.

use std::cell::RefCell;
use std::rc::Rc;

use cardwire_apdu::{CommandRepr, StatusWord};
use cardwire_pin::{Pin, PinHost, PinReference, PinSpec};
use cardwire_transport::{Card, NoSecureChannel, Transport};

use super::stage::{Fatal, Stage};
use crate::card_source::{Recorder, WireApdu};

/// The size of the session's buffers, and of one response.
pub(super) const BUFFER: usize = 4200;

/// The plain card session the journey drives.
pub(super) type Session<T> = Card<Recorder<T>, NoSecureChannel, BUFFER>;

/// A card session plus the shared APDU log and the host's PIN state.
pub(super) struct Journey<T: Transport> {
    /// The session (taken out while a secure channel runs over it).
    pub(super) card: Option<Session<T>>,
    /// Every wire APDU so far.
    pub(super) log: Rc<RefCell<Vec<WireApdu>>>,
    /// VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER go through cardwire-pin.
    pins: PinHost,
}

/// A response: data and status word.
pub(super) type Resp = (Vec<u8>, StatusWord);

impl<T: Transport> Journey<T> {
    pub(super) fn new(transport: T) -> Result<Self, Fatal> {
        let log = Rc::new(RefCell::new(Vec::new()));
        let recorder = Recorder {
            inner: transport,
            log: Rc::clone(&log),
        };
        let card = Card::open_typed(recorder)
            .map_err(|e| format!("cannot open a session with the card: {e}"))?;
        Ok(Journey {
            card: Some(card),
            log,
            pins: PinHost::new(),
        })
    }

    pub(super) fn card(&mut self) -> Result<&mut Session<T>, Fatal> {
        Ok(self
            .card
            .as_mut()
            .ok_or_else(|| "the card session was lost".to_string())?)
    }

    pub(super) fn send(&mut self, cmd: &CommandRepr<'_>) -> Result<Resp, Fatal> {
        let mut buf = vec![0u8; BUFFER];
        let card = self.card()?;
        let rsp = card
            .transmit(cmd, &mut buf)
            .map_err(|e| format!("the card did not answer {}: {e}", cmd.ins))?;
        Ok((rsp.data().to_vec(), rsp.sw()))
    }

    /// Empty VERIFY: the status of `reference` (tries left, verified, blocked).
    pub(super) fn pin_status(&mut self, reference: PinReference) -> Result<StatusWord, Fatal> {
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| "the card session was lost".to_string())?;
        let outcome = self
            .pins
            .status(&mut *card, reference)
            .map_err(|e| format!("VERIFY (status) failed: {e}"))?;
        Ok(outcome.status_word())
    }

    /// VERIFY `pin` against `spec`; the card's answer as a status word.
    pub(super) fn verify(&mut self, spec: &PinSpec, pin: &Pin) -> Result<StatusWord, Fatal> {
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| "the card session was lost".to_string())?;
        let outcome = self
            .pins
            .verify(&mut *card, spec, pin)
            .map_err(|e| format!("VERIFY failed: {e}"))?;
        Ok(outcome.status_word())
    }

    /// RESET RETRY COUNTER of `pin` with the PUK and a new PIN (P1 `00`).
    pub(super) fn unblock(
        &mut self,
        pin: &PinSpec,
        puk: &PinSpec,
        puk_value: &Pin,
        new: &Pin,
    ) -> Result<StatusWord, Fatal> {
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| "the card session was lost".to_string())?;
        let outcome = self
            .pins
            .reset_retry_counter(&mut *card, pin, puk, Some(puk_value), Some(new))
            .map_err(|e| format!("RESET RETRY COUNTER failed: {e}"))?;
        Ok(outcome.status_word())
    }

    /// The host's PIN state machine, for operations over another session (SCP03).
    pub(super) fn pins(&mut self) -> &mut PinHost {
        &mut self.pins
    }

    /// Moves the log entries recorded since `from` into the stage.
    pub(super) fn collect(&self, stage: &mut Stage, from: usize) {
        let log = self.log.borrow();
        stage.apdus = log.get(from..).unwrap_or(&[]).to_vec();
    }

    /// Where the log is now.
    pub(super) fn mark(&self) -> usize {
        self.log.borrow().len()
    }
}
