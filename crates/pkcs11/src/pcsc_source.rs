//! Feature `pcsc`: slots are the PC/SC readers (through `cardwire-pcsc`), each card
//! connected shared, every card operation inside `SCardBeginTransaction`/`EndTransaction`.

use cardwire_pcsc::{Context, Protocols, Share};
use cardwire_transport::Card;

use crate::backend::{Channel, ReaderState, SlotSource};
use crate::error::{Result, Rv};

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
        Ok(statuses
            .into_iter()
            .map(|s| ReaderState {
                events: if s.card_present { events_of(&s.atr) } else { 0 },
                name: s.name,
                card_present: s.card_present,
                pin_pad: false,
            })
            .collect())
    }

    fn connect(&mut self, reader: &str) -> Result<Box<dyn Channel>> {
        let card = self
            .context()?
            .connect(reader, Share::Shared, Protocols::ANY)
            .map_err(|_| Rv::TOKEN_NOT_PRESENT)?;
        let card = Card::open(card).map_err(|_| Rv::DEVICE_ERROR)?;
        Ok(Box::new(card))
    }
}
