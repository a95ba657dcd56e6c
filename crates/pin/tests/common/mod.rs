//! A small PIV-like test card on `CardHandler`: application PIN `80` with its PUK `81`,
//! backed by the real card-side `CardPin`.

use cardwire_apdu::{Command, StatusWord};
use cardwire_pin::{CardPin, CardPinConfig, Pin, Secret};
use cardwire_transport::CardHandler;

pub struct TestCard {
    pub pin: CardPin,
    /// Every command APDU the card received, for "nothing was sent" checks.
    pub received: usize,
    /// Whether RESET RETRY COUNTER P1 02/03 is allowed (an administrator's channel).
    pub admin: bool,
}

impl TestCard {
    pub fn new(pin: &[u8], puk: &[u8]) -> Self {
        let pin = CardPin::new(
            CardPinConfig::PIV,
            Some(&Pin::new(pin).unwrap()),
            Some(&Pin::new(puk).unwrap()),
        )
        .unwrap();
        TestCard {
            pin,
            received: 0,
            admin: false,
        }
    }
}

impl CardHandler for TestCard {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x00]
    }

    fn power_on(&mut self) {
        self.pin.power_reset();
    }

    fn power_off(&mut self) {
        self.pin.power_reset();
    }

    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        self.received += 1;
        let sw = match Command::new_checked(command) {
            Ok(c) => {
                let secret = match c.p2() {
                    0x80 => Some(Secret::Pin),
                    0x81 => Some(Secret::Puk),
                    _ => None,
                };
                match secret {
                    Some(s) => self
                        .pin
                        .process(s, c.ins(), c.p1(), c.data(), self.admin, &mut ())
                        .status_word(),
                    None => StatusWord::REFERENCED_DATA_NOT_FOUND,
                }
            }
            Err(_) => StatusWord::WRONG_LENGTH,
        };
        response[..2].copy_from_slice(&sw.to_bytes());
        2
    }
}
