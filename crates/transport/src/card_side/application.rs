//! [`CardApplication`] and [`ExchangeHandler`]: a card application that sees whole logical
//! commands, served as a [`CardHandler`] through `cardwire-apdu`'s card-side exchange engine.

use cardwire_apdu::{CommandRepr, StatusWord};

use cardwire_apdu::card::{CardExchange, Incoming};

use super::handler::CardHandler;

/// A card application at the logical-command level.
pub trait CardApplication {
    /// The Answer-to-Reset (ISO/IEC 7816-3 §8).
    fn atr(&self) -> &[u8];
    /// Power applied (a cold or warm reset): volatile state starts afresh.
    fn power_on(&mut self);
    /// Power removed.
    fn power_off(&mut self);
    /// Processes one logical command (chains already reassembled): writes the response data
    /// into `data` and returns its length and the status word. Never panics on a malformed
    /// command: answers with a status instead.
    fn command(&mut self, command: &CommandRepr<'_>, data: &mut [u8]) -> (usize, StatusWord);
}

/// Serves a [`CardApplication`] as a [`CardHandler`]: chaining and GET RESPONSE are done by
/// [`CardExchange`], whose buffer `B` bounds reassembled commands and pending answers; `D` is
/// where the application writes each answer.
///
/// ```
/// use cardwire_apdu::{CommandRepr, StatusWord};
/// use cardwire_transport::card_side::{CardApplication, ExchangeHandler};
/// use cardwire_transport::card_side::{CardHandler, InProcess};
/// use cardwire_transport::Transport;
///
/// /// Answers every command with 600 bytes.
/// struct Big;
/// impl CardApplication for Big {
///     fn atr(&self) -> &[u8] { &[0x3B, 0x00] }
///     fn power_on(&mut self) {}
///     fn power_off(&mut self) {}
///     fn command(&mut self, _: &CommandRepr<'_>, data: &mut [u8]) -> (usize, StatusWord) {
///         data[..600].fill(0x42);
///         (600, StatusWord::SUCCESS)
///     }
/// }
///
/// let mut card = InProcess::new(ExchangeHandler::new(Big, [0u8; 1024], [0u8; 1024]));
/// let mut buf = [0u8; 258];
/// let first = card.transmit(&[0x00, 0xCA, 0x01, 0x00, 0x00], &mut buf)?;
/// assert_eq!(first.len(), 258);
/// assert_eq!(first[256..], [0x61, 0x00]); // 344 more bytes: GET RESPONSE
/// # Ok::<(), cardwire_transport::ErrorKind>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExchangeHandler<A, B, D> {
    app: A,
    exchange: CardExchange<B>,
    data: D,
}

impl<A, B, D> ExchangeHandler<A, B, D>
where
    A: CardApplication,
    B: AsRef<[u8]> + AsMut<[u8]>,
    D: AsMut<[u8]>,
{
    /// Serves `app`, with `exchange_buffer` for chains and pending answers and `data_buffer`
    /// for the application's answers.
    pub fn new(app: A, exchange_buffer: B, data_buffer: D) -> Self {
        Self {
            app,
            exchange: CardExchange::new(exchange_buffer),
            data: data_buffer,
        }
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The application, mutably.
    pub fn app_mut(&mut self) -> &mut A {
        &mut self.app
    }
}

impl<A, B, D> CardHandler for ExchangeHandler<A, B, D>
where
    A: CardApplication,
    B: AsRef<[u8]> + AsMut<[u8]>,
    D: AsMut<[u8]>,
{
    fn atr(&self) -> &[u8] {
        self.app.atr()
    }

    fn power_on(&mut self) {
        self.exchange.reset();
        self.app.power_on();
    }

    fn power_off(&mut self) {
        self.exchange.reset();
        self.app.power_off();
    }

    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        let (ne, len, sw) = match self.exchange.receive(command, response) {
            Incoming::Answered(n) => return n,
            Incoming::Command(cmd) => {
                let data = self.data.as_mut();
                let (len, sw) = self.app.command(&cmd, data);
                (cmd.ne, len.min(data.len()), sw)
            }
        };
        let data = self.data.as_mut().get(..len).unwrap_or_default();
        match self.exchange.respond(data, sw, ne, response) {
            Ok(n) => n,
            // The answer does not fit the exchange buffer: a memory failure, reported as such
            // (ISO/IEC 7816-4 §5.6, 6581) rather than a truncated answer.
            Err(_) => match response.get_mut(..2) {
                Some(sw) => {
                    sw.copy_from_slice(&StatusWord::MEMORY_FAILURE.to_bytes());
                    2
                }
                None => 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use cardwire_apdu::{Cla, Ins};

    use super::*;
    use cardwire_apdu::exchange::Capabilities;

    use crate::Card;
    use crate::card_side::InProcess;

    /// Stores PUT DATA, returns it for GET DATA.
    struct Store(Vec<u8>);
    impl CardApplication for Store {
        fn atr(&self) -> &[u8] {
            &[0x3B, 0x00]
        }
        fn power_on(&mut self) {}
        fn power_off(&mut self) {}
        fn command(&mut self, c: &CommandRepr<'_>, data: &mut [u8]) -> (usize, StatusWord) {
            match c.ins {
                Ins::PUT_DATA => {
                    self.0 = c.data.to_vec();
                    (0, StatusWord::SUCCESS)
                }
                Ins::GET_DATA => {
                    data[..self.0.len()].copy_from_slice(&self.0);
                    (self.0.len(), StatusWord::SUCCESS)
                }
                _ => (0, StatusWord(0x6D00)),
            }
        }
    }

    #[test]
    fn host_session_and_card_exchange_agree_on_chaining_and_get_response() {
        let handler = ExchangeHandler::new(Store(Vec::new()), [0u8; 2048], [0u8; 2048]);
        let caps = Capabilities::SHORT_CHAINING;
        let mut card = Card::with_capabilities(InProcess::new(handler), caps);
        let payload: Vec<u8> = (0..1500u32).map(|i| (i % 256) as u8).collect();
        let put = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0, 1).with_data(&payload);
        let mut buf = std::vec![0u8; 1502];
        assert!(card.transmit(&put, &mut buf).unwrap().sw().is_success());
        assert_eq!(card.transport().handler().app().0, payload);
        let get = CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 0, 1).with_ne(65_536);
        let rsp = card.transmit(&get, &mut buf).unwrap();
        assert_eq!(rsp.data(), payload.as_slice());
    }
}
