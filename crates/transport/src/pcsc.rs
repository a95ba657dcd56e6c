//! A PC/SC backend (feature `pcsc`): readers and cards through the system's smart card service
//! (pcsc-lite's pcscd on Linux, the Smart Card service on Windows and macOS), on the `pcsc`
//! crate.
//!
//! [`Context`] lists readers, watches them for events and connects; [`PcscCard`] is a
//! [`Transport`] with status, reconnect and reset, transactions ([`PcscCard::transaction`]),
//! `SCardControl` ([`PcscCard::control`]), the PC/SC Part 10 feature list
//! ([`PcscCard::features`]) and `SCardGetAttrib` ([`PcscCard::attribute`]). Every failure is a
//! [`PcscError`]: the operation that failed and a [`Reason`] with a message a user can act on
//! ("the smart card service (pcscd) is not running", "the card was removed", ...).
//!
//! Building needs libpcsclite (Debian: `libpcsclite-dev`); running needs `pcscd`.
//!
//! ```no_run
//! use cardwire_transport::Transport;
//! use cardwire_transport::pcsc::{Context, Protocols, Share};
//!
//! let context = Context::establish()?;
//! let reader = context.readers()?.into_iter().next().ok_or(cardwire_transport::pcsc::PcscError::no_readers())?;
//! let mut card = context.connect(&reader, Share::Shared, Protocols::ANY)?;
//! let mut buf = [0u8; 258];
//! let response = card.transmit(&[0x00, 0xA4, 0x04, 0x00, 0x00], &mut buf)?;
//! println!("{reader}: {:02X?}", response);
//! # Ok::<(), cardwire_transport::pcsc::PcscError>(())
//! ```

use core::fmt;
use std::ffi::CString;
use std::string::{String, ToString};
use std::time::Duration;
use std::vec::Vec;

use crate::part10::{self, FeatureList};
use crate::transport::{Error as TransportError, ErrorKind, Transport};

pub use ::pcsc::{Attribute, Protocol, Protocols};

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
    fn raw(self) -> ::pcsc::ShareMode {
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
    fn raw(self) -> ::pcsc::Disposition {
        match self {
            Disposition::Leave => ::pcsc::Disposition::LeaveCard,
            Disposition::Reset => ::pcsc::Disposition::ResetCard,
            Disposition::Unpower => ::pcsc::Disposition::UnpowerCard,
        }
    }
}

/// The PC/SC operation that failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `SCardEstablishContext`.
    Establish,
    /// `SCardListReaders`.
    ListReaders,
    /// `SCardGetStatusChange`.
    WaitForChange,
    /// `SCardConnect`.
    Connect,
    /// `SCardReconnect`.
    Reconnect,
    /// `SCardStatus`.
    Status,
    /// `SCardTransmit`.
    Transmit,
    /// `SCardTransmit` inside a transaction.
    TransmitInTransaction,
    /// `SCardBeginTransaction`.
    BeginTransaction,
    /// `SCardEndTransaction`.
    EndTransaction,
    /// `SCardControl`.
    Control,
    /// `SCardControl(CM_IOCTL_GET_FEATURE_REQUEST)` and parsing its answer.
    GetFeatures,
    /// `SCardGetAttrib`.
    GetAttribute,
    /// `SCardDisconnect`.
    Disconnect,
}

impl Operation {
    fn describe(self) -> &'static str {
        match self {
            Operation::Establish => "connect to the smart card service",
            Operation::ListReaders => "list the smart card readers",
            Operation::WaitForChange => "wait for a reader or card event",
            Operation::Connect => "connect to the card",
            Operation::Reconnect => "reconnect to the card",
            Operation::Status => "read the card status",
            Operation::Transmit => "send the command to the card",
            Operation::TransmitInTransaction => "send the command to the card in a transaction",
            Operation::BeginTransaction => "start a transaction",
            Operation::EndTransaction => "end the transaction",
            Operation::Control => "send a control command to the reader",
            Operation::GetFeatures => "read the reader's PC/SC Part 10 features",
            Operation::GetAttribute => "read a reader attribute",
            Operation::Disconnect => "disconnect from the card",
        }
    }
}

/// Why a PC/SC operation failed, grouped the way a caller reacts.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The smart card service (pcscd) is not running or stopped.
    ServiceNotRunning,
    /// There are no readers.
    NoReaders,
    /// No reader has the given name (it may have been unplugged).
    UnknownReader,
    /// The reader has no card.
    NoCard,
    /// The card was removed; anything in progress (a transaction) is lost.
    CardRemoved,
    /// The card was reset (by another application, or by us through another handle); its
    /// state (selected files, verified PINs, secure channels) is lost. Reconnect to go on.
    CardReset,
    /// Another application holds the card exclusively (or holds a transaction).
    SharingViolation,
    /// The wait or the card timed out.
    Timeout,
    /// The wait was cancelled.
    Cancelled,
    /// The card does not answer (mute, or inserted the wrong way).
    UnresponsiveCard,
    /// The card is not powered.
    UnpoweredCard,
    /// The card or reader does not speak the requested protocol.
    ProtocolMismatch,
    /// The reader or driver does not support the operation.
    Unsupported,
    /// The answer did not fit the buffer.
    BufferTooSmall,
    /// The reader's answer was malformed.
    MalformedAnswer,
    /// The parameters were refused.
    InvalidParameter,
    /// The connection to the card was lost (ending a transaction could not reconnect);
    /// connect again.
    ConnectionLost,
    /// Anything else; see [`PcscError::code`].
    Other,
}

impl Reason {
    /// A message a user can act on.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::ServiceNotRunning => {
                "the smart card service (pcscd) is not running; start it (Debian: apt install pcscd)"
            }
            Reason::NoReaders => "no smart card reader is connected",
            Reason::UnknownReader => "no reader has that name (was it unplugged?)",
            Reason::NoCard => "there is no card in the reader",
            Reason::CardRemoved => "the card was removed; anything in progress was lost",
            Reason::CardReset => {
                "the card was reset by another application; its state is lost, reconnect to go on"
            }
            Reason::SharingViolation => "another application is using the card exclusively",
            Reason::Timeout => "timed out",
            Reason::Cancelled => "cancelled",
            Reason::UnresponsiveCard => "the card does not answer (is it inserted the right way?)",
            Reason::UnpoweredCard => "the card is not powered",
            Reason::ProtocolMismatch => "the card does not support the requested protocol",
            Reason::Unsupported => "the reader or its driver does not support this",
            Reason::BufferTooSmall => "the answer is larger than the buffer",
            Reason::MalformedAnswer => "the reader's answer is malformed",
            Reason::InvalidParameter => "the service refused the parameters",
            Reason::ConnectionLost => "the connection to the card was lost; connect again",
            Reason::Other => "the smart card service reported an error",
        }
    }

    fn of(code: ::pcsc::Error) -> Self {
        use ::pcsc::Error as E;
        match code {
            E::NoService | E::ServiceStopped | E::Shutdown => Reason::ServiceNotRunning,
            E::NoReadersAvailable => Reason::NoReaders,
            E::UnknownReader | E::ReaderUnavailable => Reason::UnknownReader,
            E::NoSmartcard => Reason::NoCard,
            E::RemovedCard => Reason::CardRemoved,
            E::ResetCard => Reason::CardReset,
            E::SharingViolation => Reason::SharingViolation,
            E::Timeout => Reason::Timeout,
            E::Cancelled => Reason::Cancelled,
            E::UnresponsiveCard => Reason::UnresponsiveCard,
            E::UnpoweredCard => Reason::UnpoweredCard,
            E::ProtoMismatch => Reason::ProtocolMismatch,
            E::UnsupportedFeature | E::ReaderUnsupported | E::CardUnsupported => {
                Reason::Unsupported
            }
            E::InsufficientBuffer => Reason::BufferTooSmall,
            E::InvalidParameter | E::InvalidValue | E::InvalidHandle => Reason::InvalidParameter,
            _ => Reason::Other,
        }
    }
}

/// A PC/SC failure: which operation, why, and the PC/SC code when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PcscError {
    operation: Operation,
    reason: Reason,
    code: Option<::pcsc::Error>,
}

impl PcscError {
    fn new(operation: Operation, code: ::pcsc::Error) -> Self {
        Self {
            operation,
            reason: Reason::of(code),
            code: Some(code),
        }
    }

    fn without_code(operation: Operation, reason: Reason) -> Self {
        Self {
            operation,
            reason,
            code: None,
        }
    }

    /// "No readers", for callers that pick a reader from [`Context::readers`].
    pub fn no_readers() -> Self {
        Self::without_code(Operation::ListReaders, Reason::NoReaders)
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// Why it failed.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The PC/SC return code, if the failure came from the service.
    pub fn code(&self) -> Option<::pcsc::Error> {
        self.code
    }
}

impl fmt::Display for PcscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {}: {}",
            self.operation.describe(),
            self.reason.describe()
        )?;
        if let Some(code) = self.code {
            write!(f, " (PC/SC: {code:?}, {code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PcscError {}

impl TransportError for PcscError {
    fn kind(&self) -> ErrorKind {
        match self.reason {
            Reason::ServiceNotRunning | Reason::NoReaders | Reason::UnknownReader => {
                ErrorKind::NoService
            }
            Reason::NoCard | Reason::CardRemoved | Reason::ConnectionLost => ErrorKind::CardRemoved,
            Reason::CardReset => ErrorKind::CardReset,
            Reason::Timeout | Reason::UnresponsiveCard => ErrorKind::Timeout,
            Reason::BufferTooSmall => ErrorKind::BufferTooSmall,
            Reason::Unsupported => ErrorKind::Unsupported,
            Reason::ProtocolMismatch | Reason::MalformedAnswer => ErrorKind::Protocol,
            _ => ErrorKind::Other,
        }
    }
}

/// A reader and what is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderStatus {
    /// The reader's name.
    pub name: String,
    /// Whether a card is in the reader.
    pub card_present: bool,
    /// The card's ATR (empty when there is no card).
    pub atr: Vec<u8>,
    /// Whether another application holds the card exclusively.
    pub exclusive: bool,
    /// Whether an application is connected to the card.
    pub in_use: bool,
    /// Whether the card does not answer to reset.
    pub mute: bool,
}

impl ReaderStatus {
    fn from_state(state: &::pcsc::ReaderState) -> Self {
        let s = state.event_state();
        let present = s.contains(::pcsc::State::PRESENT);
        Self {
            name: state.name().to_string_lossy().into_owned(),
            card_present: present,
            atr: if present {
                state.atr().to_vec()
            } else {
                Vec::new()
            },
            exclusive: s.contains(::pcsc::State::EXCLUSIVE),
            in_use: s.contains(::pcsc::State::INUSE),
            mute: s.contains(::pcsc::State::MUTE),
        }
    }
}

/// A change seen by [`Monitor::wait`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderEvent {
    /// A reader appeared.
    ReaderAdded(String),
    /// A reader disappeared.
    ReaderRemoved(String),
    /// A card was inserted (or the monitor started with a card in the reader), with its ATR.
    CardInserted {
        /// The reader.
        reader: String,
        /// The card's ATR.
        atr: Vec<u8>,
    },
    /// The card was removed.
    CardRemoved {
        /// The reader.
        reader: String,
    },
}

/// A connection to the smart card service (`SCardEstablishContext`).
pub struct Context {
    inner: ::pcsc::Context,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

impl Context {
    /// Connects to the service (user scope).
    ///
    /// # Errors
    /// [`Reason::ServiceNotRunning`] when pcscd is not running.
    pub fn establish() -> Result<Self, PcscError> {
        ::pcsc::Context::establish(::pcsc::Scope::User)
            .map(|inner| Self { inner })
            .map_err(|e| PcscError::new(Operation::Establish, e))
    }

    /// The names of the readers; empty when there is none (not an error).
    ///
    /// # Errors
    /// [`Reason::ServiceNotRunning`] and other service failures.
    pub fn readers(&self) -> Result<Vec<String>, PcscError> {
        match self.inner.list_readers_owned() {
            Ok(names) => Ok(names
                .into_iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect()),
            Err(::pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
            Err(e) => Err(PcscError::new(Operation::ListReaders, e)),
        }
    }

    /// Every reader with its card presence and ATR.
    ///
    /// # Errors
    /// As [`Context::readers`], and failures of `SCardGetStatusChange`.
    pub fn reader_statuses(&self) -> Result<Vec<ReaderStatus>, PcscError> {
        let names = self.readers()?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut states = names
            .iter()
            .map(|n| ::pcsc::ReaderState::new(cstring(n), ::pcsc::State::UNAWARE))
            .collect::<Vec<_>>();
        self.inner
            .get_status_change(Duration::ZERO, &mut states)
            .map_err(|e| PcscError::new(Operation::WaitForChange, e))?;
        Ok(states.iter().map(ReaderStatus::from_state).collect())
    }

    /// A [`Monitor`] for reader and card events, starting from the current state.
    ///
    /// # Errors
    /// As [`Context::reader_statuses`].
    pub fn monitor(&self) -> Result<Monitor<'_>, PcscError> {
        let mut monitor = Monitor {
            context: self,
            states: Vec::new(),
        };
        monitor.rebuild()?;
        Ok(monitor)
    }

    /// Connects to the card in `reader`.
    ///
    /// # Errors
    /// [`Reason::NoCard`], [`Reason::UnknownReader`], [`Reason::SharingViolation`] (another
    /// application holds the card exclusively, or we asked for exclusive and it is in use),
    /// [`Reason::ProtocolMismatch`], [`Reason::ServiceNotRunning`].
    pub fn connect(
        &self,
        reader: &str,
        share: Share,
        protocols: Protocols,
    ) -> Result<PcscCard, PcscError> {
        let name = cstring(reader);
        let protocols = if share == Share::Direct {
            Protocols::UNDEFINED
        } else {
            protocols
        };
        let card = self
            .inner
            .connect(&name, share.raw(), protocols)
            .map_err(|e| PcscError::new(Operation::Connect, e))?;
        let mut card = PcscCard {
            card: Some(card),
            context: self.inner.clone(),
            reader: reader.to_string(),
            share,
            protocols,
            atr: Vec::new(),
            in_transaction: false,
        };
        if share != Share::Direct {
            card.refresh_atr()?;
        }
        Ok(card)
    }
}

fn cstring(name: &str) -> CString {
    // A reader name from PC/SC never contains NUL; a caller's string might: cut it there.
    let bytes = name.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(bytes.get(..end).unwrap_or_default()).unwrap_or_default()
}

/// Watches readers and cards (`SCardGetStatusChange`, with the PnP pseudo-reader for reader
/// arrival and removal).
pub struct Monitor<'c> {
    context: &'c Context,
    /// The PnP notification first, then the readers.
    states: Vec<::pcsc::ReaderState>,
}

impl fmt::Debug for Monitor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("readers", &self.states.len().saturating_sub(1))
            .finish()
    }
}

impl Monitor<'_> {
    fn rebuild(&mut self) -> Result<Vec<ReaderEvent>, PcscError> {
        let names = self.context.readers()?;
        let mut events = Vec::new();
        let old: Vec<(String, bool)> = self
            .states
            .iter()
            .skip(1)
            .map(|s| {
                (
                    s.name().to_string_lossy().into_owned(),
                    s.current_state().contains(::pcsc::State::PRESENT),
                )
            })
            .collect();
        let first = self.states.is_empty();
        for (name, _) in &old {
            if !names.contains(name) {
                events.push(ReaderEvent::ReaderRemoved(name.clone()));
            }
        }
        let mut states = Vec::with_capacity(names.len() + 1);
        states.push(::pcsc::ReaderState::new(
            ::pcsc::PNP_NOTIFICATION(),
            ::pcsc::State::UNAWARE,
        ));
        for name in &names {
            if !first && !old.iter().any(|(n, _)| n == name) {
                events.push(ReaderEvent::ReaderAdded(name.clone()));
            }
            states.push(::pcsc::ReaderState::new(
                cstring(name),
                ::pcsc::State::UNAWARE,
            ));
        }
        // Learn the current state of every reader without waiting.
        self.context
            .inner
            .get_status_change(Duration::ZERO, &mut states)
            .map_err(|e| PcscError::new(Operation::WaitForChange, e))?;
        for state in states.iter_mut().skip(1) {
            let name = state.name().to_string_lossy().into_owned();
            let present = state.event_state().contains(::pcsc::State::PRESENT);
            let was_present = old.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
            match (was_present, present) {
                (Some(false) | None, true) => events.push(ReaderEvent::CardInserted {
                    reader: name,
                    atr: state.atr().to_vec(),
                }),
                (Some(true), false) => events.push(ReaderEvent::CardRemoved { reader: name }),
                _ => {}
            }
            state.sync_current_state();
        }
        if let Some(pnp) = states.first_mut() {
            pnp.sync_current_state();
        }
        self.states = states;
        Ok(events)
    }

    /// The readers as last seen.
    pub fn readers(&self) -> Vec<ReaderStatus> {
        self.states
            .iter()
            .skip(1)
            .map(|s| {
                let mut status = ReaderStatus::from_state(s);
                status.card_present = s.current_state().contains(::pcsc::State::PRESENT);
                status
            })
            .collect()
    }

    /// Waits up to `timeout` for readers to appear or disappear and cards to be inserted or
    /// removed. Returns the events (empty when the timeout passed without any).
    ///
    /// # Errors
    /// [`Reason::ServiceNotRunning`] when pcscd stops, [`Reason::Cancelled`].
    pub fn wait(&mut self, timeout: Duration) -> Result<Vec<ReaderEvent>, PcscError> {
        match self
            .context
            .inner
            .get_status_change(timeout, &mut self.states)
        {
            Ok(()) => {}
            Err(::pcsc::Error::Timeout) => return Ok(Vec::new()),
            Err(e) => return Err(PcscError::new(Operation::WaitForChange, e)),
        }
        let reader_list_changed = self.states.iter().any(|s| {
            s.event_state().contains(::pcsc::State::CHANGED)
                && (s.name() == ::pcsc::PNP_NOTIFICATION()
                    || s.event_state().contains(::pcsc::State::UNKNOWN)
                    || s.event_state().contains(::pcsc::State::UNAVAILABLE))
        });
        if reader_list_changed {
            return self.rebuild();
        }
        let mut events = Vec::new();
        for state in self.states.iter_mut().skip(1) {
            let before = state.current_state().contains(::pcsc::State::PRESENT);
            let now = state.event_state().contains(::pcsc::State::PRESENT);
            let name = state.name().to_string_lossy().into_owned();
            match (before, now) {
                (false, true) => events.push(ReaderEvent::CardInserted {
                    reader: name,
                    atr: state.atr().to_vec(),
                }),
                (true, false) => events.push(ReaderEvent::CardRemoved { reader: name }),
                _ => {}
            }
            state.sync_current_state();
        }
        Ok(events)
    }

    /// Waits until a card is in `reader` (any reader when `None`), up to `timeout`. Returns
    /// the reader and the ATR, or `None` on timeout.
    ///
    /// # Errors
    /// As [`Monitor::wait`].
    pub fn wait_for_card(
        &mut self,
        reader: Option<&str>,
        timeout: Duration,
    ) -> Result<Option<(String, Vec<u8>)>, PcscError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self
                .readers()
                .into_iter()
                .find(|r| r.card_present && reader.is_none_or(|n| n == r.name))
            {
                let atr = self
                    .states
                    .iter()
                    .find(|s| s.name().to_string_lossy() == found.name)
                    .map(|s| s.atr().to_vec())
                    .unwrap_or_default();
                return Ok(Some((found.name, atr)));
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.wait(deadline - now)?;
        }
    }
}

/// A connection to a card through PC/SC: a [`Transport`].
///
/// Dropping it disconnects and *resets* the card (the `pcsc` crate's choice, and a safe one:
/// a verified PIN or an open secure channel does not outlive the connection for the next
/// application). Use [`PcscCard::disconnect`] with [`Disposition::Leave`] to leave the card as
/// it is.
pub struct PcscCard {
    /// `None` only after ending a [`Transport`] transaction failed to open a fresh handle.
    card: Option<::pcsc::Card>,
    /// To open a fresh handle when ending a transaction begun through [`Transport`].
    context: ::pcsc::Context,
    reader: String,
    share: Share,
    protocols: Protocols,
    atr: Vec<u8>,
    /// A transaction begun with [`Transport::begin_transaction`] is open.
    in_transaction: bool,
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
    pub fn transaction(&mut self) -> Result<PcscTransaction<'_>, PcscError> {
        let atr = &self.atr;
        let tx = self
            .card
            .as_mut()
            .ok_or(PcscError::without_code(
                Operation::BeginTransaction,
                Reason::ConnectionLost,
            ))?
            .transaction()
            .map_err(|e| PcscError::new(Operation::BeginTransaction, e))?;
        Ok(PcscTransaction { tx: Some(tx), atr })
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
            bytes: answer.to_vec(),
        })
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
    bytes: Vec<u8>,
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

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], PcscError> {
        self.handle(Operation::Transmit)?
            .transmit(command, response)
            .map_err(|e| PcscError::new(Operation::Transmit, e))
    }

    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn reset(&mut self) -> Result<(), PcscError> {
        self.reconnect(Disposition::Reset)
    }

    /// `SCardBeginTransaction`, for the `Card` session's transaction guard. A no-op on an
    /// exclusive connection (nobody else can interleave) and when a transaction is open.
    fn begin_transaction(&mut self) -> Result<(), PcscError> {
        if self.share == Share::Exclusive || self.in_transaction {
            return Ok(());
        }
        let tx = self
            .handle_mut(Operation::BeginTransaction)?
            .transaction()
            .map_err(|e| PcscError::new(Operation::BeginTransaction, e))?;
        // The `pcsc` crate offers the transaction only as a guard borrowing the card, which a
        // `Transport` cannot keep between calls; the guard is forgotten (so it does not end
        // the transaction now) and `end_transaction` ends it by closing this handle.
        core::mem::forget(tx);
        self.in_transaction = true;
        Ok(())
    }

    /// Ends the transaction begun with [`Transport::begin_transaction`]: opens a fresh handle
    /// to the card and closes the old one (leaving the card as it is), which ends the
    /// transaction (PC/SC: disconnecting releases the handle's locks).
    fn end_transaction(&mut self) -> Result<(), PcscError> {
        if !self.in_transaction {
            return Ok(());
        }
        self.in_transaction = false;
        // pcsc-lite holds back SCardConnect while a transaction is open, so close first.
        if let Some(old) = self.card.take() {
            old.disconnect(::pcsc::Disposition::LeaveCard)
                .map_err(|(_, e)| PcscError::new(Operation::EndTransaction, e))?;
        }
        let fresh = self
            .context
            .connect(&cstring(&self.reader), self.share.raw(), self.protocols)
            .map_err(|e| PcscError::new(Operation::EndTransaction, e))?;
        self.card = Some(fresh);
        Ok(())
    }
}

/// A transaction on a [`PcscCard`] (RAII: ended, leaving the card as it is, on drop).
pub struct PcscTransaction<'c> {
    tx: Option<::pcsc::Transaction<'c>>,
    atr: &'c [u8],
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

    /// A reset would end the transaction: not available inside one.
    fn reset(&mut self) -> Result<(), PcscError> {
        Err(PcscError::without_code(
            Operation::TransmitInTransaction,
            Reason::Unsupported,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_map_to_kinds_and_messages() {
        let e = PcscError::new(Operation::Establish, ::pcsc::Error::NoService);
        assert_eq!(e.reason(), Reason::ServiceNotRunning);
        assert_eq!(e.kind(), ErrorKind::NoService);
        let text = e.to_string();
        assert!(
            text.contains("pcscd") && text.contains("not running"),
            "{text}"
        );

        let e = PcscError::new(Operation::TransmitInTransaction, ::pcsc::Error::RemovedCard);
        assert_eq!(e.kind(), ErrorKind::CardRemoved);
        assert!(e.to_string().contains("in a transaction"));

        let e = PcscError::new(Operation::Transmit, ::pcsc::Error::ResetCard);
        assert_eq!(e.kind(), ErrorKind::CardReset);
        assert!(e.to_string().contains("reset by another application"));

        let e = PcscError::new(Operation::Connect, ::pcsc::Error::SharingViolation);
        assert_eq!(e.reason(), Reason::SharingViolation);
        let e = PcscError::new(Operation::Connect, ::pcsc::Error::NoSmartcard);
        assert_eq!(e.reason(), Reason::NoCard);
        assert_eq!(PcscError::no_readers().reason(), Reason::NoReaders);
    }

    #[test]
    fn reader_names_with_nul_are_cut() {
        assert_eq!(cstring("a\0b").as_bytes(), b"a");
        assert_eq!(cstring("reader 00 00").as_bytes(), b"reader 00 00");
    }

    #[test]
    fn get_feature_request_code_on_pcsc_lite() {
        // pcsc-lite: SCARD_CTL_CODE(code) = 0x42000000 + code (reader.h); 3400 = 0xD48.
        #[cfg(target_os = "linux")]
        assert_eq!(control_code(3400), 0x4200_0D48);
    }
}
