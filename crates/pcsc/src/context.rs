//! [`Context`]: the connection to the smart card service; [`Monitor`] watches readers.

use core::fmt;
use std::ffi::CString;
use std::string::{String, ToString};
use std::time::Duration;
use std::vec::Vec;

use crate::Protocols;
use crate::card::{PcscCard, Share};
use crate::error::{Operation, PcscError};
#[cfg(doc)]
use crate::{Disposition, Reason};

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

    /// A handle that cancels this context's blocking calls from another thread
    /// (`SCardCancel`): a [`Monitor::wait`] in progress returns [`Reason::Cancelled`].
    pub fn canceller(&self) -> Canceller {
        Canceller {
            inner: self.inner.clone(),
        }
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
        PcscCard::connected(card, reader.to_string(), share, protocols)
    }
}

pub(crate) fn cstring(name: &str) -> CString {
    // A reader name from PC/SC never contains NUL; a caller's string might: cut it there.
    let bytes = name.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(bytes.get(..end).unwrap_or_default()).unwrap_or_default()
}

/// Cancels the blocking calls of a [`Context`] from another thread ([`Context::canceller`]).
#[derive(Clone)]
pub struct Canceller {
    inner: ::pcsc::Context,
}

impl fmt::Debug for Canceller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Canceller").finish_non_exhaustive()
    }
}

impl Canceller {
    /// `SCardCancel`: the `SCardGetStatusChange` running on the context returns
    /// `SCARD_E_CANCELLED`. A call that starts afterwards is not affected.
    ///
    /// # Errors
    /// [`Reason::ServiceNotRunning`] and other service failures.
    pub fn cancel(&self) -> Result<(), PcscError> {
        self.inner
            .cancel()
            .map_err(|e| PcscError::new(Operation::WaitForChange, e))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_names_with_nul_are_cut() {
        assert_eq!(cstring("a\0b").as_bytes(), b"a");
        assert_eq!(cstring("reader 00 00").as_bytes(), b"reader 00 00");
    }
}
