//! Feature `pcsc`: slots are the PC/SC readers (through `cardwire-pcsc`), each card
//! connected shared, every card operation inside `SCardBeginTransaction`/`EndTransaction`.

use cardwire_apdu::{Cla, StatusWord};
use cardwire_pcsc::part10::Feature;
use cardwire_pcsc::{Context, PcscCard, Protocols, Share};
use cardwire_pin::{PinFormat, PinOutcome, PinReference, VerifyStructure, pinpad};
use cardwire_transport::Card;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cardwire_pcsc::{Canceller, ReaderStatus, Reason};

use crate::backend::{self, Apdu, Cancel, Channel, ReaderState, SlotSource, WaitEnd, Watcher};
use crate::error::{self, Result, Rv};

/// The PC/SC readers.
#[derive(Debug, Default)]
pub struct PcscSource {
    context: Option<Context>,
}

impl PcscSource {
    /// A source; the PC/SC context is established on first use (and again after pcscd
    /// restarts).
    pub fn new() -> Self {
        Self::default()
    }

    fn context(&mut self) -> Result<&Context> {
        if self.context.is_none() {
            self.context = Some(Context::establish().map_err(|_| Rv::DEVICE_ERROR)?);
        }
        self.context.as_ref().ok_or(Rv::DEVICE_ERROR)
    }
}

/// A card's identity between two polls, as far as the reader state shows it: the ATR.
fn events_of(atr: &[u8]) -> u64 {
    atr.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl SlotSource for PcscSource {
    fn readers(&mut self) -> Result<Vec<ReaderState>> {
        let statuses = match self.context()?.reader_statuses() {
            Ok(s) => s,
            Err(_) => {
                // pcscd may have restarted: establish again next time.
                self.context = None;
                return Ok(Vec::new());
            }
        };
        Ok(statuses.into_iter().map(reader_state).collect())
    }

    /// A watcher on its own PC/SC context, so that `SCardCancel` stops its wait and
    /// nothing else.
    fn watcher(&mut self) -> Result<Box<dyn Watcher>> {
        let context = Context::establish().map_err(|_| Rv::DEVICE_ERROR)?;
        let cancel = Arc::new(PcscCancel {
            cancelled: AtomicBool::new(false),
            canceller: context.canceller(),
        });
        Ok(Box::new(PcscWatcher { context, cancel }))
    }

    fn connect(&mut self, reader: &str) -> Result<Box<dyn Channel>> {
        let card = self
            .context()?
            .connect(reader, Share::Shared, Protocols::ANY)
            .map_err(|_| Rv::TOKEN_NOT_PRESENT)?;
        let verify_pin_direct = card
            .features()
            .ok()
            .and_then(|f| f.list().control_code(Feature::VERIFY_PIN_DIRECT));
        let card = Card::open(card).map_err(|_| Rv::DEVICE_ERROR)?;
        Ok(Box::new(PcscChannel {
            card,
            verify_pin_direct,
        }))
    }
}

fn reader_state(s: ReaderStatus) -> ReaderState {
    ReaderState {
        events: if s.card_present { events_of(&s.atr) } else { 0 },
        name: s.name,
        card_present: s.card_present,
        pin_pad: false,
    }
}

/// The longest single `SCardGetStatusChange`: a cancel that comes just before the call
/// starts (`SCardCancel` only stops a call in progress) is seen this much later at most.
/// Nothing is polled: the wait goes on with the same reader states.
const CANCEL_CHECK: Duration = Duration::from_secs(1);

/// `SCardGetStatusChange` on the readers and the PnP pseudo-reader
/// (`\\?PnP?\Notification`, for readers that come and go), through
/// `cardwire_pcsc::Monitor`.
struct PcscWatcher {
    context: Context,
    cancel: Arc<PcscCancel>,
}

struct PcscCancel {
    cancelled: AtomicBool,
    canceller: Canceller,
}

impl Cancel for PcscCancel {
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        let _ = self.canceller.cancel();
    }
}

impl Watcher for PcscWatcher {
    fn wait(&mut self, known: &[ReaderState]) -> Result<WaitEnd> {
        let mut monitor = self.context.monitor().map_err(|_| Rv::DEVICE_ERROR)?;
        loop {
            if self.cancel.cancelled.load(Ordering::SeqCst) {
                return Ok(WaitEnd::Cancelled);
            }
            let now: Vec<_> = monitor.readers().into_iter().map(reader_state).collect();
            if backend::readers_differ(known, &now) {
                return Ok(WaitEnd::Changed);
            }
            match monitor.wait(CANCEL_CHECK) {
                Ok(_) => {}
                Err(e) if e.reason() == Reason::Cancelled => return Ok(WaitEnd::Cancelled),
                // pcscd stopped: the module's next poll sees the readers gone.
                Err(_) => return Ok(WaitEnd::Changed),
            }
        }
    }

    fn canceller(&self) -> Arc<dyn Cancel> {
        self.cancel.clone()
    }
}

/// A PC/SC card, with the reader's secure PIN entry when it has one.
struct PcscChannel {
    card: Card<PcscCard>,
    verify_pin_direct: Option<u32>,
}

impl Channel for PcscChannel {
    /// `SCardBeginTransaction` .. `SCardEndTransaction` on this handle (never a reconnect): a
    /// reset or removal by anyone in between fails the start of the next one
    /// (`SCARD_W_RESET_CARD`/`SCARD_W_REMOVED_CARD` → `CKR_DEVICE_REMOVED`).
    fn transaction(&mut self, op: &mut dyn FnMut(&mut dyn Apdu) -> Result<()>) -> Result<()> {
        Channel::transaction(&mut self.card, op)
    }

    fn keep_security_state(&mut self, keep: bool) {
        self.card.keep_security_state(keep);
    }

    /// `PcscCard::resets_seen`: each reset by another application was recovered from by
    /// `SCardReconnect` with the ATR checked (a different ATR is a removal).
    fn resets(&self) -> u64 {
        u64::from(self.card.transport().resets_seen())
    }

    fn pin_pad(&self) -> bool {
        self.verify_pin_direct.is_some()
    }

    /// `FEATURE_VERIFY_PIN_DIRECT` with a PIN_VERIFY_STRUCTURE whose APDU template is the
    /// PIV VERIFY (PC/SC Part 10 v2.02.09 §2.5.2; SP 800-73-4 Part 2 §3.2.1): the reader
    /// fills in the digits, the host never sees them.
    fn verify_on_pin_pad(&mut self, reference: PinReference) -> Result<PinOutcome> {
        let code = self.verify_pin_direct.ok_or(Rv::FUNCTION_NOT_SUPPORTED)?;
        let mut template = [0u8; 32];
        let (format, apdu) =
            pinpad::verify_template(Cla(0x00), reference, PinFormat::PIV, &mut template)
                .map_err(error::from_pin_error)?;
        let mut structure = VerifyStructure::new(format, 6, 8, apdu);
        structure.timeout = 30;
        let mut input = [0u8; 64];
        let input = structure
            .encode(&mut input)
            .map_err(error::from_pin_error)?;
        let mut output = [0u8; 8];
        let answer = self
            .card
            .transport()
            .control(code, input, &mut output)
            .map_err(|_| Rv::DEVICE_ERROR)?;
        let sw = match answer {
            [sw1, sw2] => StatusWord(u16::from_be_bytes([*sw1, *sw2])),
            _ => return Err(Rv::DEVICE_ERROR),
        };
        if let Some(e) = pinpad::entry_error(sw) {
            return Err(error::from_pin_error(e));
        }
        Ok(PinOutcome::from_status(sw))
    }
}
