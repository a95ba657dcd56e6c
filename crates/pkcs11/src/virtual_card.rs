//! Feature `virtual-card`: an in-process PIV card as the module's only slot, for tests and
//! demonstrations (`CARDWIRE_PKCS11_VIRTUAL=<seed text>`).
//!
//! The card is `cardwire-vcard`'s [`VirtualCard`] for that seed, issued as a fresh virtual
//! card is: 9A RSA-2048, 9C/9D/9E ECC P-256 with certificates, PIN `123456` (3 tries), PUK
//! `12345678`. The module sees it only through [`crate::backend::SlotSource`], exactly as it
//! sees a PC/SC reader; [`VirtualReader`] lets a test take the card out, put it back or
//! reset it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use cardwire_transport::{Card, CardHandler, ErrorKind, InProcess};
use cardwire_vcard::{Seed, VirtualCard};

use cryptoki_sys as ck;

use crate::attribute::{TemplateItem, ulong_bytes};
use crate::backend::{self, Apdu, Cancel, Channel, ReaderState, SlotSource, WaitEnd, Watcher};
use crate::error::{Result, Rv};
use crate::log::Logger;
use crate::module::Module;

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
    // Insertions and removals (PC/SC's reader event counter).
    events: u64,
    // Resets by "another application": the same card, its security state lost.
    resets: u64,
    // VERIFY commands with a PIN (ISO/IEC 7816-4 §11.5.6, P1 00 with data) the card got.
    pin_verifications: u64,
}

struct Inner {
    state: Mutex<Shared>,
    // Notified on every insertion, removal and reset, and by a watcher's cancel.
    changed: Condvar,
}

/// A handle a test uses to remove, insert or reset the virtual card.
#[derive(Clone)]
pub struct VirtualReader(Arc<Inner>);

impl VirtualReader {
    /// A reader with the fresh virtual card for `seed` inserted.
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` when the card cannot be made.
    pub fn new(seed: &str) -> Result<Self> {
        let card = VirtualCard::new(&Seed::from_text(seed)).map_err(|_| Rv::GENERAL_ERROR)?;
        Ok(VirtualReader(Arc::new(Inner {
            state: Mutex::new(Shared {
                card,
                present: true,
                events: 0,
                resets: 0,
                pin_verifications: 0,
            }),
            changed: Condvar::new(),
        })))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Shared>> {
        self.0.state.lock().map_err(|_| Rv::GENERAL_ERROR)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> Result<R> {
        Ok(f(&mut *self.lock()?))
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
        })?;
        self.0.changed.notify_all();
        Ok(())
    }

    /// Resets the card (another application did): its security state is lost, and each
    /// connection's next transaction fails with `CardReset` once (as PC/SC's
    /// `SCARD_W_RESET_CARD`, after which the connection is to the reset card). No reader
    /// event: the card is the same.
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` for a poisoned lock.
    pub fn reset(&self) -> Result<()> {
        self.with(|s| {
            s.resets += 1;
            s.card.power_on();
        })?;
        self.0.changed.notify_all();
        Ok(())
    }

    /// How many VERIFY commands with a PIN the card has processed (for tests: the module
    /// sends the PIN at login, for a PIN-always key, and after a reset, not per operation).
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` for a poisoned lock.
    pub fn pin_verifications(&self) -> Result<u64> {
        self.with(|s| s.pin_verifications)
    }

    /// The source for a [`crate::module::Module`].
    pub fn source(&self) -> Box<dyn SlotSource> {
        Box::new(VirtualSource(self.clone()))
    }

    /// A module over this card with one R/W session logged in with [`PIN`], and the handle
    /// of the private key whose `CKA_ID` is `id` (for benchmarks and examples).
    ///
    /// # Errors
    /// The module's, or `CKR_KEY_HANDLE_INVALID` when no private key has that ID.
    pub fn logged_in_session(
        &self,
        id: u8,
    ) -> Result<(Module, ck::CK_SESSION_HANDLE, ck::CK_OBJECT_HANDLE)> {
        let mut module = Module::new(self.source(), Vec::new(), Logger::default());
        let h = module.open_session(0, ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION)?;
        module.login(h, ck::CKU_USER, Some(PIN))?;
        let key = private_key(&mut module, h, id)?;
        Ok((module, h, key))
    }
}

/// The handle of the one private key whose `CKA_ID` is `id`, as session `h` finds it.
///
/// # Errors
/// The module's, or `CKR_KEY_HANDLE_INVALID` unless exactly one private key has that ID.
pub fn private_key(
    module: &mut Module,
    h: ck::CK_SESSION_HANDLE,
    id: u8,
) -> Result<ck::CK_OBJECT_HANDLE> {
    let class = ulong_bytes(ck::CKO_PRIVATE_KEY);
    let template = [
        TemplateItem {
            kind: ck::CKA_CLASS,
            value: &class,
        },
        TemplateItem {
            kind: ck::CKA_ID,
            value: &[id],
        },
    ];
    module.find_init(h, &template)?;
    let found = module.find(h, 2)?;
    module.find_final(h)?;
    match found.as_slice() {
        [key] => Ok(*key),
        _ => Err(Rv::KEY_HANDLE_INVALID),
    }
}

fn reader_states(s: &Shared) -> Vec<ReaderState> {
    vec![ReaderState {
        name: READER.into(),
        card_present: s.present,
        events: s.events,
        pin_pad: false,
    }]
}

struct VirtualSource(VirtualReader);

impl SlotSource for VirtualSource {
    fn readers(&mut self) -> Result<Vec<ReaderState>> {
        self.0.with(|s| reader_states(s))
    }

    fn connect(&mut self, reader: &str) -> Result<Box<dyn Channel>> {
        if reader != READER {
            return Err(Rv::SLOT_ID_INVALID);
        }
        let (events, resets, atr) = self
            .0
            .with(|s| {
                s.present
                    .then(|| (s.events, s.resets, s.card.atr().to_vec()))
            })?
            .ok_or(Rv::TOKEN_NOT_PRESENT)?;
        let handler = Connection {
            reader: self.0.clone(),
            atr,
        };
        let card = Card::open(InProcess::new(handler)).map_err(|_| Rv::DEVICE_ERROR)?;
        Ok(Box::new(VirtualChannel {
            card,
            reader: self.0.clone(),
            events,
            card_resets: resets,
            resets_seen: 0,
        }))
    }

    fn watcher(&mut self) -> Result<Box<dyn Watcher>> {
        Ok(Box::new(VirtualWatcher {
            cancel: Arc::new(VirtualCancel {
                reader: self.0.clone(),
                cancelled: AtomicBool::new(false),
            }),
        }))
    }
}

/// Waits on the reader's condition variable.
struct VirtualWatcher {
    cancel: Arc<VirtualCancel>,
}

struct VirtualCancel {
    reader: VirtualReader,
    cancelled: AtomicBool,
}

impl Cancel for VirtualCancel {
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        // Under the lock, so that a watcher between its check and its wait is not missed.
        let _guard = self.reader.lock();
        self.reader.0.changed.notify_all();
    }
}

impl Watcher for VirtualWatcher {
    fn wait(&mut self, known: &[ReaderState]) -> Result<WaitEnd> {
        let inner = &self.cancel.reader.0;
        let mut guard = self.cancel.reader.lock()?;
        loop {
            if self.cancel.cancelled.load(Ordering::SeqCst) {
                return Ok(WaitEnd::Cancelled);
            }
            if backend::readers_differ(known, &reader_states(&guard)) {
                return Ok(WaitEnd::Changed);
            }
            guard = inner.changed.wait(guard).map_err(|_| Rv::GENERAL_ERROR)?;
        }
    }

    fn canceller(&self) -> Arc<dyn Cancel> {
        self.cancel.clone()
    }
}

/// One connection: talks to the card while it is the one connected to; afterwards every
/// call fails as PC/SC would (`CardRemoved`, or `CardReset` once after a reset).
struct VirtualChannel {
    card: Card<InProcess<Connection>>,
    reader: VirtualReader,
    events: u64,
    // The reader's reset count this connection has caught up with.
    card_resets: u64,
    resets_seen: u64,
}

impl VirtualChannel {
    fn check(&mut self) -> core::result::Result<(), ErrorKind> {
        let (present, events, resets) = self
            .reader
            .with(|s| (s.present, s.events, s.resets))
            .map_err(|_| ErrorKind::Other)?;
        if !present || events != self.events {
            return Err(ErrorKind::CardRemoved);
        }
        if resets != self.card_resets {
            // PC/SC reconnects to the reset card and reports the reset once.
            self.card_resets = resets;
            self.resets_seen += 1;
            return Err(ErrorKind::CardReset);
        }
        Ok(())
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

    fn resets(&self) -> u64 {
        self.resets_seen
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
        let verify_with_pin = matches!(command, [_, 0x20, 0x00, _, lc, ..] if *lc != 0);
        self.reader
            .with(|s| {
                if verify_with_pin {
                    s.pin_verifications += 1;
                }
                s.card.process(command, response)
            })
            .unwrap_or(0)
    }
}
