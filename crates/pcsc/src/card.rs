//! [`PcscCard`]: a connection to a card through PC/SC, as a [`Transport`].

use core::fmt;
use std::string::String;
use std::vec::Vec;

use bytes::Bytes;
use cardwire_transport::{Protocol, TransactionEnd, Transport};

use crate::error::{Operation, PcscError, Reason};
use crate::part10::{self, FeatureList};
use crate::recovery::{Action, Backoff, Failure, decide};
use crate::{Attribute, Protocols};

/// How a connection shares the card with other applications (PC/SC `SCARD_SHARE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Share {
    /// Other applications may use the card too; use [`PcscCard::transaction`] for operations
    /// that must not be interleaved.
    Shared,
    /// No other application may connect while this connection is open.
    Exclusive,
    /// Talk to the reader only (`control`, attributes), with or without a card.
    Direct,
}

impl Share {
    pub(crate) fn raw(self) -> ::pcsc::ShareMode {
        match self {
            Share::Shared => ::pcsc::ShareMode::Shared,
            Share::Exclusive => ::pcsc::ShareMode::Exclusive,
            Share::Direct => ::pcsc::ShareMode::Direct,
        }
    }
}

/// What to do with the card when reconnecting or disconnecting (PC/SC `SCARD_*_CARD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Leave the card as it is.
    Leave,
    /// Warm reset.
    Reset,
    /// Power the card down (cold reset on the next use).
    Unpower,
}

impl Disposition {
    pub(crate) fn raw(self) -> ::pcsc::Disposition {
        match self {
            Disposition::Leave => ::pcsc::Disposition::LeaveCard,
            Disposition::Reset => ::pcsc::Disposition::ResetCard,
            Disposition::Unpower => ::pcsc::Disposition::UnpowerCard,
        }
    }
}

/// A connection to a card through PC/SC: a [`Transport`].
///
/// Dropping it disconnects and *resets* the card (the `pcsc` crate's choice, and a safe one:
/// a verified PIN or an open secure channel does not outlive the connection for the next
/// application). Use [`PcscCard::disconnect`] with [`Disposition::Leave`] to leave the card as
/// it is.
///
/// [`Transport::transmit`] applies the recovery policy of [`crate::recovery`]: sharing
/// violations are retried with a bounded back-off, a transient link failure is retried once
/// for a command that is safe to repeat, and after a reset by another application the
/// connection is re-established (leaving the card as it is), the ATR is checked against the
/// one the connection started with, and the reset is reported
/// ([`Reason::CardReset`]; a different ATR: [`Reason::DifferentCard`]) — never hidden.
/// [`Transport::transaction`] holds a real PC/SC transaction for its whole body.
pub struct PcscCard {
    /// `None` only after [`PcscCard::disconnect`] took it.
    card: Option<::pcsc::Card>,
    reader: String,
    share: Share,
    protocols: Protocols,
    atr: Vec<u8>,
    /// The protocol PC/SC negotiated, as of the last status read (`None`: none, or direct
    /// mode).
    protocol: Option<Protocol>,
    /// The ATR the connection started with, to tell the same card after a reset.
    first_atr: Vec<u8>,
    backoff: Backoff,
    /// How many times the card was found reset by another application.
    resets_seen: u32,
}

impl fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .field("share", &self.share)
            .field("atr", &self.atr)
            .finish_non_exhaustive()
    }
}

/// The card's state from `SCardStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardStatus {
    /// The reader's name.
    pub reader: String,
    /// The ATR.
    pub atr: Vec<u8>,
    /// The protocol in use (`None` before one is negotiated, or in direct mode).
    pub protocol: Option<::pcsc::Protocol>,
    /// Whether the card is powered.
    pub powered: bool,
    /// Whether a protocol has been selected (the card is ready for APDUs).
    pub specific: bool,
}

impl PcscCard {
    /// Wraps a fresh connection and reads the ATR (not in direct mode).
    pub(crate) fn connected(
        card: ::pcsc::Card,
        reader: String,
        share: Share,
        protocols: Protocols,
    ) -> Result<Self, PcscError> {
        let mut card = PcscCard {
            card: Some(card),
            reader,
            share,
            protocols,
            atr: Vec::new(),
            protocol: None,
            first_atr: Vec::new(),
            backoff: Backoff::DEFAULT,
            resets_seen: 0,
        };
        if share != Share::Direct {
            card.refresh_atr()?;
            card.first_atr = card.atr.clone();
        }
        Ok(card)
    }

    /// Sets the back-off for sharing violations (default [`Backoff::DEFAULT`]).
    pub fn set_backoff(&mut self, backoff: Backoff) {
        self.backoff = backoff;
    }

    /// How many times this connection found the card reset by another application (each
    /// was reported to the caller as [`Reason::CardReset`]).
    pub fn resets_seen(&self) -> u32 {
        self.resets_seen
    }

    fn handle(&self, operation: Operation) -> Result<&::pcsc::Card, PcscError> {
        self.card
            .as_ref()
            .ok_or(PcscError::without_code(operation, Reason::ConnectionLost))
    }

    fn handle_mut(&mut self, operation: Operation) -> Result<&mut ::pcsc::Card, PcscError> {
        self.card
            .as_mut()
            .ok_or(PcscError::without_code(operation, Reason::ConnectionLost))
    }

    /// The reader this connection is to.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    fn refresh_atr(&mut self) -> Result<(), PcscError> {
        let status = self.status()?;
        self.atr = status.atr;
        self.protocol = status.protocol.map(transport_protocol);
        Ok(())
    }

    /// The card's status (`SCardStatus`).
    ///
    /// # Errors
    /// [`Reason::CardRemoved`], [`Reason::CardReset`] (another application reset the card:
    /// [`PcscCard::reconnect`] with [`Disposition::Leave`] to go on), service failures.
    pub fn status(&self) -> Result<CardStatus, PcscError> {
        let status = self
            .handle(Operation::Status)?
            .status2_owned()
            .map_err(|e| PcscError::new(Operation::Status, e))?;
        let flags = status.status();
        Ok(CardStatus {
            reader: status
                .reader_names()
                .first()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.reader.clone()),
            atr: status.atr().to_vec(),
            protocol: status.protocol2(),
            powered: flags.contains(::pcsc::Status::POWERED),
            specific: flags.contains(::pcsc::Status::SPECIFIC),
        })
    }

    /// Reconnects (`SCardReconnect`): after another application reset the card
    /// ([`Reason::CardReset`]) use [`Disposition::Leave`]; [`Disposition::Reset`] resets it
    /// ourselves. Reads the ATR again.
    ///
    /// # Errors
    /// [`Reason::NoCard`] / [`Reason::CardRemoved`], [`Reason::SharingViolation`], service
    /// failures.
    pub fn reconnect(&mut self, disposition: Disposition) -> Result<(), PcscError> {
        let (share, protocols) = (self.share.raw(), self.protocols);
        self.handle_mut(Operation::Reconnect)?
            .reconnect(share, protocols, disposition.raw())
            .map_err(|e| PcscError::new(Operation::Reconnect, e))?;
        if self.share != Share::Direct {
            self.refresh_atr()?;
        }
        Ok(())
    }

    /// Starts a transaction (`SCardBeginTransaction`): until the guard is dropped (or
    /// [`PcscTransaction::end`]), no other application can send commands to the card. The
    /// guard is itself a [`Transport`].
    ///
    /// # Errors
    /// [`Reason::CardReset`] when another application reset the card (reconnect first),
    /// [`Reason::CardRemoved`], service failures.
    pub fn begin_transaction(&mut self) -> Result<PcscTransaction<'_>, PcscError> {
        let atr = &self.atr;
        let protocol = self.protocol;
        let tx = self
            .card
            .as_mut()
            .ok_or(PcscError::without_code(
                Operation::BeginTransaction,
                Reason::ConnectionLost,
            ))?
            .transaction()
            .map_err(|e| PcscError::new(Operation::BeginTransaction, e))?;
        Ok(PcscTransaction {
            tx: Some(tx),
            atr,
            protocol,
            reset_at_end: false,
        })
    }

    /// After a reset by another application: reconnect leaving the card as it is, and check
    /// it is the card the connection started with. Returns the error to report.
    fn recover_from_reset(&mut self, operation: Operation, code: ::pcsc::Error) -> PcscError {
        self.resets_seen = self.resets_seen.saturating_add(1);
        if let Err(e) = self.reconnect(Disposition::Leave) {
            return e;
        }
        if self.atr != self.first_atr {
            return PcscError::without_code(operation, Reason::DifferentCard);
        }
        PcscError::new(operation, code)
    }

    /// After this connection reset the card as a transaction ended: read the new ATR, and
    /// clear the reset notice pcsc-lite may hold for this handle.
    fn after_own_reset(&mut self) -> Result<(), PcscError> {
        match self.refresh_atr() {
            Err(e) if e.reason() == Reason::CardReset => self.reconnect(Disposition::Leave),
            other => other,
        }
    }

    /// Sends a control command to the reader (`SCardControl`) and returns its answer.
    ///
    /// `code` is the complete control code (for example one from [`PcscCard::features`], or
    /// [`control_code`] of a function number).
    ///
    /// # Errors
    /// [`Reason::Unsupported`] when the driver does not know the code, service failures.
    pub fn control<'o>(
        &self,
        code: u32,
        input: &[u8],
        output: &'o mut [u8],
    ) -> Result<&'o [u8], PcscError> {
        self.handle(Operation::Control)?
            .control(code.into(), input, output)
            .map_err(|e| PcscError::new(Operation::Control, e))
    }

    /// The reader's PC/SC Part 10 features (`CM_IOCTL_GET_FEATURE_REQUEST`). A reader whose
    /// driver does not implement the request (many basic readers, and vpcd) has none: the
    /// list is empty, not an error.
    ///
    /// # Errors
    /// [`Reason::MalformedAnswer`] when the list does not parse, other failures of
    /// [`PcscCard::control`].
    pub fn features(&self) -> Result<OwnedFeatureList, PcscError> {
        let mut buf = [0u8; 256];
        let code = control_code(part10::GET_FEATURE_REQUEST_FUNCTION);
        let answer = match self
            .handle(Operation::GetFeatures)?
            .control(code.into(), &[], &mut buf)
        {
            Ok(answer) => answer,
            Err(::pcsc::Error::UnsupportedFeature) | Err(::pcsc::Error::NotTransacted) => &[],
            Err(e) => return Err(PcscError::new(Operation::GetFeatures, e)),
        };
        FeatureList::new_checked(answer).map_err(|_| {
            PcscError::without_code(Operation::GetFeatures, Reason::MalformedAnswer)
        })?;
        Ok(OwnedFeatureList {
            bytes: Bytes::copy_from_slice(answer),
        })
    }

    /// The reader's `dwMaxAPDUDataSize` (PC/SC Part 10 `FEATURE_GET_TLV_PROPERTIES`), when
    /// the reader states it: `Some(0)` short APDUs only. Narrow the session's capabilities
    /// with [`part10::narrow_to_reader`] (`Card::set_capabilities`).
    ///
    /// # Errors
    /// As [`PcscCard::features`] and [`PcscCard::control`].
    pub fn max_apdu_data_size(&self) -> Result<Option<u32>, PcscError> {
        let features = self.features()?;
        let Some(code) = features
            .list()
            .control_code(part10::Feature::GET_TLV_PROPERTIES)
        else {
            return Ok(None);
        };
        let mut out = [0u8; 256];
        let answer = self.control(code, &[], &mut out)?;
        Ok(part10::max_apdu_data_size(answer))
    }

    /// Reads a reader attribute (`SCardGetAttrib`), for example
    /// [`Attribute::VendorName`] or [`Attribute::AtrString`].
    ///
    /// # Errors
    /// [`Reason::Unsupported`] (pcsc-lite: the driver does not have it), service failures.
    pub fn attribute(&self, attribute: Attribute) -> Result<Vec<u8>, PcscError> {
        self.handle(Operation::GetAttribute)?
            .get_attribute_owned(attribute)
            .map_err(|e| PcscError::new(Operation::GetAttribute, e))
    }

    /// Disconnects, doing `disposition` to the card.
    ///
    /// # Errors
    /// Service failures (the connection is closed anyway).
    pub fn disconnect(mut self, disposition: Disposition) -> Result<(), PcscError> {
        let Some(card) = self.card.take() else {
            return Ok(());
        };
        card.disconnect(disposition.raw())
            .map_err(|(_, e)| PcscError::new(Operation::Disconnect, e))
    }
}

/// The complete `SCardControl` code for a function number (`SCARD_CTL_CODE`), which differs
/// between pcsc-lite and Windows.
pub fn control_code(function: u32) -> u32 {
    // DWORD is u32 or u64 depending on the platform; control codes fit in 32 bits.
    #[allow(clippy::useless_conversion, reason = "DWORD is u64 on some platforms")]
    let code = u64::from(::pcsc::ctl_code(function.into()));
    u32::try_from(code).unwrap_or(u32::MAX)
}

/// A feature list owned (the answer to `CM_IOCTL_GET_FEATURE_REQUEST`, already checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFeatureList {
    bytes: Bytes,
}

impl OwnedFeatureList {
    /// The checked view.
    pub fn list(&self) -> FeatureList<'_> {
        // Checked in PcscCard::features; an empty list is the only fallback and is valid.
        FeatureList::new_checked(&self.bytes).unwrap_or(FeatureList::EMPTY)
    }
}

impl Transport for PcscCard {
    type Error = PcscError;

    /// `SCardTransmit`, with the recovery policy of [`crate::recovery`].
    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], PcscError> {
        let mut attempt = 0u32;
        loop {
            let code = match self
                .handle(Operation::Transmit)?
                .transmit(command, response)
            {
                // Re-borrowed: the borrow checker cannot see that the loop ends here.
                Ok(answer) => {
                    let len = answer.len();
                    return response.get(..len).ok_or(PcscError::without_code(
                        Operation::Transmit,
                        Reason::BufferTooSmall,
                    ));
                }
                Err(code) => code,
            };
            match decide(
                Failure::from_code(code as u32),
                command,
                attempt,
                &self.backoff,
            ) {
                Action::RetryAfter(pause) => {
                    std::thread::sleep(pause);
                    attempt += 1;
                }
                Action::ReconnectAndReport => {
                    return Err(self.recover_from_reset(Operation::Transmit, code));
                }
                Action::Report => return Err(PcscError::new(Operation::Transmit, code)),
            }
        }
    }

    fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The protocol PC/SC negotiated (`SCardStatus`, read when connecting and after every
    /// reconnect): over T=0 the session sends short APDUs only.
    fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    fn reset(&mut self) -> Result<(), PcscError> {
        self.reconnect(Disposition::Reset)
    }

    /// Holds a real PC/SC transaction (`SCardBeginTransaction`) for the whole of `body`,
    /// then `SCardEndTransaction` — with `SCARD_RESET_CARD` when `body` asks for
    /// [`TransactionEnd::Reset`], after which the new ATR is read. On an exclusive connection
    /// nobody can interleave: `body` runs at once (and a reset is a reconnect with reset).
    ///
    /// A sharing violation when beginning is retried with the back-off; a reset by another
    /// application found when beginning is recovered from and reported as for
    /// [`Transport::transmit`].
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = PcscError>) -> TransactionEnd,
    ) -> Result<(), PcscError> {
        if self.share == Share::Exclusive {
            return cardwire_transport::exclusive_transaction(self, body);
        }
        let mut attempt = 0u32;
        let end = loop {
            let code = {
                let atr = &self.atr;
                let protocol = self.protocol;
                let begun = self
                    .card
                    .as_mut()
                    .ok_or(PcscError::without_code(
                        Operation::BeginTransaction,
                        Reason::ConnectionLost,
                    ))?
                    .transaction2();
                match begun {
                    Ok(tx) => {
                        let mut held = PcscTransaction {
                            tx: Some(tx),
                            atr,
                            protocol,
                            reset_at_end: false,
                        };
                        let end = body(&mut held);
                        let reset = end == TransactionEnd::Reset || held.reset_at_end;
                        let disposition = if reset {
                            Disposition::Reset
                        } else {
                            Disposition::Leave
                        };
                        held.end(disposition)?;
                        break reset;
                    }
                    Err((_, code)) => code,
                }
            };
            match decide(Failure::from_code(code as u32), &[], attempt, &self.backoff) {
                Action::RetryAfter(pause) => {
                    std::thread::sleep(pause);
                    attempt += 1;
                }
                Action::ReconnectAndReport => {
                    return Err(self.recover_from_reset(Operation::BeginTransaction, code));
                }
                Action::Report => return Err(PcscError::new(Operation::BeginTransaction, code)),
            }
        };
        if end {
            self.after_own_reset()?;
        }
        Ok(())
    }
}

/// A transaction on a [`PcscCard`] (RAII: ended, leaving the card as it is, on drop).
pub struct PcscTransaction<'c> {
    tx: Option<::pcsc::Transaction<'c>>,
    atr: &'c [u8],
    /// The protocol of the connection the transaction is on.
    protocol: Option<Protocol>,
    /// A session over this guard asked for a reset at the end of its transaction: dropping
    /// the guard ends it with `SCARD_RESET_CARD`.
    reset_at_end: bool,
}

impl fmt::Debug for PcscTransaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscTransaction").finish_non_exhaustive()
    }
}

impl PcscTransaction<'_> {
    /// Ends the transaction, doing `disposition` to the card.
    ///
    /// # Errors
    /// [`Reason::CardRemoved`] / [`Reason::CardReset`] when the card went away meanwhile
    /// (the transaction is over either way), service failures.
    pub fn end(mut self, disposition: Disposition) -> Result<(), PcscError> {
        let disposition = if self.reset_at_end {
            Disposition::Reset
        } else {
            disposition
        };
        match self.tx.take() {
            Some(tx) => tx
                .end(disposition.raw())
                .map_err(|(_, e)| PcscError::new(Operation::EndTransaction, e)),
            None => Ok(()),
        }
    }
}

impl Transport for PcscTransaction<'_> {
    type Error = PcscError;

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], PcscError> {
        let tx = self.tx.as_ref().ok_or(PcscError::without_code(
            Operation::TransmitInTransaction,
            Reason::InvalidParameter,
        ))?;
        tx.transmit(command, response)
            .map_err(|e| PcscError::new(Operation::TransmitInTransaction, e))
    }

    fn atr(&self) -> &[u8] {
        self.atr
    }

    fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// A reset would end the transaction: not available inside one.
    fn reset(&mut self) -> Result<(), PcscError> {
        Err(PcscError::without_code(
            Operation::TransmitInTransaction,
            Reason::Unsupported,
        ))
    }

    /// Already in a transaction: `body` runs at once. When it asks for a reset, the
    /// transaction will end with `SCARD_RESET_CARD` (when the guard is dropped or ended
    /// with [`Disposition::Leave`]).
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = PcscError>) -> TransactionEnd,
    ) -> Result<(), PcscError> {
        if body(self) == TransactionEnd::Reset {
            self.reset_at_end = true;
        }
        Ok(())
    }
}

impl Drop for PcscTransaction<'_> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let disposition = if self.reset_at_end {
                Disposition::Reset
            } else {
                Disposition::Leave
            };
            // Nothing useful can be done with a failure here; `end` reports it.
            let _ = tx.end(disposition.raw());
        }
    }
}

/// The session's view of a PC/SC protocol: `SCARD_PROTOCOL_RAW` carries whole APDUs.
fn transport_protocol(protocol: ::pcsc::Protocol) -> Protocol {
    match protocol {
        ::pcsc::Protocol::T0 => Protocol::T0,
        ::pcsc::Protocol::T1 => Protocol::T1,
        ::pcsc::Protocol::RAW => Protocol::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcsc_protocols_map_to_the_sessions_view() {
        assert_eq!(transport_protocol(::pcsc::Protocol::T0), Protocol::T0);
        assert_eq!(transport_protocol(::pcsc::Protocol::T1), Protocol::T1);
        assert_eq!(transport_protocol(::pcsc::Protocol::RAW), Protocol::Other);
        assert!(!Protocol::T0.carries_extended_length());
    }

    #[test]
    fn get_feature_request_code_on_pcsc_lite() {
        // pcsc-lite: SCARD_CTL_CODE(code) = 0x42000000 + code (reader.h); 3400 = 0xD48.
        #[cfg(target_os = "linux")]
        assert_eq!(control_code(3400), 0x4200_0D48);
    }
}
