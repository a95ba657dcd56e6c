//! [`Session`]: the card side of one vpcd connection, without I/O.

use cardwire_transport::card_side::CardHandler;

#[cfg(doc)]
use crate::message::MAX_MESSAGE_LEN;
use crate::message::{Control, Request};

/// The card side of one vpcd connection, without any I/O: feed it each message from the
/// driver, send back what it returns.
#[derive(Debug)]
pub struct Session<H> {
    card: H,
}

impl<H: CardHandler> Session<H> {
    /// A session serving `card`.
    pub fn new(card: H) -> Self {
        Self { card }
    }

    /// The card.
    pub fn card(&self) -> &H {
        &self.card
    }

    /// Gives the card back.
    pub fn into_card(self) -> H {
        self.card
    }

    /// Whether the card is inserted: a handler whose [`CardHandler::atr`] is empty is
    /// treated as removed (the driver reports an empty ATR to pcscd as "no card").
    pub fn is_present(&self) -> bool {
        !self.card.atr().is_empty()
    }

    /// Handles one message, writing the reply body into `out`.
    ///
    /// Returns the reply body (to be sent with its length prefix), or `None` when the message
    /// needs no reply (power and reset events). `out` should hold [`MAX_MESSAGE_LEN`] bytes;
    /// a response that does not fit (a misbehaving handler) is replaced by status `6F00`
    /// (ISO/IEC 7816-4 §5.6: no precise diagnosis). An unknown control code gets no reply,
    /// as the driver expects none.
    pub fn handle<'o>(&mut self, message: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
        match Request::parse(message) {
            Request::Empty => None,
            Request::Control(Control::GET_ATR) => {
                let atr = self.card.atr();
                let n = atr.len().min(out.len());
                let dst = out.get_mut(..n)?;
                dst.copy_from_slice(atr.get(..n)?);
                Some(dst)
            }
            Request::Control(control) => {
                match control {
                    Control::POWER_OFF => self.card.power_off(),
                    Control::POWER_ON => self.card.power_on(),
                    Control::RESET => self.card.reset(),
                    _ => {}
                }
                None
            }
            Request::Apdu(apdu) => {
                let n = self.card.process(apdu, out);
                if (2..=out.len()).contains(&n) {
                    out.get(..n)
                } else {
                    internal_error(out)
                }
            }
        }
    }
}

fn internal_error(out: &mut [u8]) -> Option<&[u8]> {
    let sw = out.get_mut(..2)?;
    sw.copy_from_slice(&[0x6F, 0x00]);
    Some(sw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MAX_MESSAGE_LEN;

    /// A card answering `9000` with the command echoed, counting power events.
    struct Echo {
        powered: u32,
        resets: u32,
    }

    impl CardHandler for Echo {
        fn atr(&self) -> &[u8] {
            // A minimal direct-convention ATR with T=1 and no historical bytes.
            &[0x3B, 0x80, 0x80, 0x01, 0x01]
        }
        fn power_on(&mut self) {
            self.powered += 1;
        }
        fn power_off(&mut self) {}
        fn reset(&mut self) {
            self.resets += 1;
        }
        fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
            let n = command.len();
            response[..n].copy_from_slice(command);
            response[n..n + 2].copy_from_slice(&[0x90, 0x00]);
            n + 2
        }
    }

    fn echo() -> Echo {
        Echo {
            powered: 0,
            resets: 0,
        }
    }

    #[test]
    fn session_answers_atr_and_apdus_and_not_power_events() {
        let mut session = Session::new(echo());
        let mut out = vec![0u8; MAX_MESSAGE_LEN];
        assert_eq!(
            session.handle(&[4], &mut out),
            Some(&[0x3B, 0x80, 0x80, 0x01, 0x01][..])
        );
        assert_eq!(session.handle(&[1], &mut out), None);
        assert_eq!(session.handle(&[2], &mut out), None);
        assert_eq!(session.handle(&[0x42], &mut out), None);
        assert_eq!(
            session.handle(&[0, 0xB0, 0, 0], &mut out),
            Some(&[0, 0xB0, 0, 0, 0x90, 0][..])
        );
        let card = session.card();
        assert_eq!((card.powered, card.resets), (1, 1));
    }

    #[test]
    fn oversized_handler_answer_becomes_6f00() {
        struct Liar;
        impl CardHandler for Liar {
            fn atr(&self) -> &[u8] {
                &[0x3B, 0x00]
            }
            fn power_on(&mut self) {}
            fn power_off(&mut self) {}
            fn process(&mut self, _: &[u8], _: &mut [u8]) -> usize {
                usize::MAX
            }
        }
        let mut session = Session::new(Liar);
        let mut out = [0u8; 258];
        assert_eq!(
            session.handle(&[0, 0, 0, 0], &mut out),
            Some(&[0x6F, 0][..])
        );
    }
}
