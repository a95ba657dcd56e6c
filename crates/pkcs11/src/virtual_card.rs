//! Feature `virtual-card`: an in-process PIV card as the module's only slot, for tests and
//! demonstrations (`CARDWIRE_PKCS11_VIRTUAL=<seed text>`).
//!
//! The card is `cardwire-vcard`'s [`VirtualCard`] for that seed, issued as a fresh virtual
//! card is: 9A RSA-2048, 9C/9D/9E ECC P-256 with certificates, PIN `123456` (3 tries), PUK
//! `12345678`. The module sees it only through [`crate::backend::SlotSource`], exactly as it
//! sees a PC/SC reader; [`VirtualReader`] lets a test take the card out, put it back or
//! reset it.

use std::sync::{Arc, Mutex};

use cardwire_transport::{Card, CardHandler, ErrorKind, InProcess};
use cardwire_vcard::{Seed, VirtualCard};

use crate::backend::{Apdu, Channel, ReaderState, SlotSource};
use crate::error::{Result, Rv};

/// The virtual reader's name.
pub const READER: &str = "cardwire virtual PIV reader 00 00";

/// The PIN a fresh virtual card has.
pub const PIN: &[u8] = b"123456";
/// The PUK a fresh virtual card has.
pub const PUK: &[u8] = b"12345678";

/// Shared between the source, its channels and a test: the card and whether it is inserted.
pub struct Shared {
    card: VirtualCard,
    present: bool,
    events: u64,
}

/// A handle a test uses to remove, insert or reset the virtual card.
#[derive(Clone)]
pub struct VirtualReader(Arc<Mutex<Shared>>);

impl VirtualReader {
    /// A reader with the fresh virtual card for `seed` inserted.
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` when the card cannot be made.
    pub fn new(seed: &str) -> Result<Self> {
        let card = VirtualCard::new(&Seed::from_text(seed)).map_err(|_| Rv::GENERAL_ERROR)?;
        Ok(VirtualReader(Arc::new(Mutex::new(Shared {
            card,
            present: true,
            events: 0,
        }))))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> Result<R> {
        let mut guard = self.0.lock().map_err(|_| Rv::GENERAL_ERROR)?;
        Ok(f(&mut guard))
    }

    /// Takes the card out (`insert == false`) or puts it back; either is one reader event.
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` for a poisoned lock.
    pub fn set_present(&self, insert: bool) -> Result<()> {
        self.with(|s| {
            s.present = insert;
            s.events += 1;
            s.card.power_on();
        })
    }

    /// Resets the card (another application did): its security state is lost, and
    /// connections made before see `CardReset`.
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` for a poisoned lock.
    pub fn reset(&self) -> Result<()> {
        self.with(|s| {
            s.events += 1;
            s.card.power_on();
        })
    }

    /// The source for a [`crate::module::Module`].
    pub fn source(&self) -> Box<dyn SlotSource> {
        Box::new(VirtualSource(self.clone()))
    }
}

struct VirtualSource(VirtualReader);

impl SlotSource for VirtualSource {
    fn readers(&mut self) -> Result<Vec<ReaderState>> {
        self.0.with(|s| {
            vec![ReaderState {
                name: READER.into(),
                card_present: s.present,
                events: s.events,
                pin_pad: false,
            }]
        })
    }

    fn connect(&mut self, reader: &str) -> Result<Box<dyn Channel>> {
        if reader != READER {
            return Err(Rv::SLOT_ID_INVALID);
        }
        let events = self.0.with(|s| s.present.then_some(s.events))?;
        let events = events.ok_or(Rv::TOKEN_NOT_PRESENT)?;
        let atr = self.0.with(|s| s.card.atr().to_vec())?;
        let handler = Connection {
            reader: self.0.clone(),
            atr,
        };
        let card = Card::open(InProcess::new(handler)).map_err(|_| Rv::DEVICE_ERROR)?;
        Ok(Box::new(VirtualChannel {
            card,
            reader: self.0.clone(),
            events,
        }))
    }
}

/// One connection: talks to the card while it is the one connected to; afterwards every
/// call fails as PC/SC would (`CardRemoved` or `CardReset`).
struct VirtualChannel {
    card: Card<InProcess<Connection>>,
    reader: VirtualReader,
    events: u64,
}

impl VirtualChannel {
    fn check(&self) -> core::result::Result<(), ErrorKind> {
        let state = self
            .reader
            .with(|s| (s.present, s.events))
            .map_err(|_| ErrorKind::Other)?;
        match state {
            (false, _) => Err(ErrorKind::CardRemoved),
            (true, e) if e != self.events => Err(ErrorKind::CardReset),
            _ => Ok(()),
        }
    }
}

impl Channel for VirtualChannel {
    fn transaction(&mut self, op: &mut dyn FnMut(&mut dyn Apdu) -> Result<()>) -> Result<()> {
        self.check().map_err(crate::error::from_transport)?;
        Channel::transaction(&mut self.card, op)
    }

    fn keep_security_state(&mut self, keep: bool) {
        self.card.keep_security_state(keep);
    }
}

/// The card as the transport's session sees it.
struct Connection {
    reader: VirtualReader,
    atr: Vec<u8>,
}

impl CardHandler for Connection {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// This connection's own reset (the session's release policy): the card's security
    /// state is lost, but it is no reader event for the other connections.
    fn power_on(&mut self) {
        let _ = self.reader.with(|s| s.card.power_on());
    }

    fn power_off(&mut self) {
        self.power_on();
    }

    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        self.reader
            .with(|s| s.card.process(command, response))
            .unwrap_or(0)
    }
}
