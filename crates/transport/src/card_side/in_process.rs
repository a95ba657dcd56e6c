//! [`InProcess`]: a [`Transport`] that hands each command straight to a [`CardHandler`].

use super::handler::CardHandler;
use crate::transport::{ErrorKind, TransactionEnd, Transport, exclusive_transaction};

/// The smallest response buffer [`CardHandler::process`] may be given: 256 data bytes and SW.
const HANDLER_MIN_RESPONSE: usize = 258;

/// Connects a host to a card handler in the same process: no reader, no wire, no copying.
///
/// Creating it powers the card on (a cold reset); [`Transport::reset`] is a warm reset;
/// [`InProcess::power_off`] removes power, after which transmissions fail with
/// [`ErrorKind::CardRemoved`] until [`InProcess::power_on`].
///
/// ```
/// use cardwire_transport::card_side::{CardHandler, InProcess};
/// use cardwire_transport::Transport;
///
/// /// A card that answers every command with 9000.
/// struct Echo;
/// impl CardHandler for Echo {
///     fn atr(&self) -> &[u8] { &[0x3B, 0x00] }
///     fn power_on(&mut self) {}
///     fn power_off(&mut self) {}
///     fn process(&mut self, _command: &[u8], response: &mut [u8]) -> usize {
///         response[..2].copy_from_slice(&[0x90, 0x00]);
///         2
///     }
/// }
///
/// let mut card = InProcess::new(Echo);
/// let mut buf = [0u8; 258];
/// assert_eq!(card.transmit(&[0x00, 0xA4, 0x04, 0x00], &mut buf)?, [0x90, 0x00]);
/// assert_eq!(card.atr(), [0x3B, 0x00]);
/// # Ok::<(), cardwire_transport::ErrorKind>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProcess<H: CardHandler> {
    handler: H,
    powered: bool,
}

impl<H: CardHandler> InProcess<H> {
    /// Connects to `handler` and powers the card on.
    pub fn new(mut handler: H) -> Self {
        handler.power_on();
        Self {
            handler,
            powered: true,
        }
    }

    /// The card handler, for inspecting its state in tests.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The card handler, mutably (for example to change what a test card answers).
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Gives the handler back.
    pub fn into_inner(self) -> H {
        self.handler
    }

    /// Whether the card is powered.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Removes power: the card loses its volatile state and stops answering.
    pub fn power_off(&mut self) {
        if self.powered {
            self.handler.power_off();
            self.powered = false;
        }
    }

    /// Applies power (a cold reset; ISO/IEC 7816-3 §6.2.2).
    pub fn power_on(&mut self) {
        if self.powered {
            self.handler.power_off();
        }
        self.handler.power_on();
        self.powered = true;
    }
}

impl<H: CardHandler> Transport for InProcess<H> {
    type Error = ErrorKind;

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], ErrorKind> {
        if !self.powered {
            return Err(ErrorKind::CardRemoved);
        }
        let len = if response.len() >= HANDLER_MIN_RESPONSE {
            self.handler.process(command, response)
        } else {
            // The handler is promised 258 bytes; answer into a local buffer and copy.
            let mut local = [0u8; HANDLER_MIN_RESPONSE];
            let len = self.handler.process(command, &mut local).min(local.len());
            let answer = local.get(..len).ok_or(ErrorKind::Protocol)?;
            response
                .get_mut(..len)
                .ok_or(ErrorKind::BufferTooSmall)?
                .copy_from_slice(answer);
            len
        };
        if len < 2 {
            // Every response ends with SW1 SW2 (ISO/IEC 7816-4 §5.1.3).
            return Err(ErrorKind::Protocol);
        }
        response.get(..len).ok_or(ErrorKind::Protocol)
    }

    fn atr(&self) -> &[u8] {
        if self.powered {
            self.handler.atr()
        } else {
            &[]
        }
    }

    fn reset(&mut self) -> Result<(), ErrorKind> {
        if self.powered {
            self.handler.reset();
        } else {
            self.power_on();
        }
        Ok(())
    }

    /// Exclusive anyway: `body` runs at once ([`exclusive_transaction`]).
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = Self::Error>) -> TransactionEnd,
    ) -> Result<(), Self::Error> {
        exclusive_transaction(self, body)
    }
}
