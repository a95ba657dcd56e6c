//! vpcd_session: a random stream of vpcd driver messages (2-byte big-endian length,
//! body; cut at the end) through the vpcd Session serving a small card. Never panics; every
//! reply fits the 2-byte length prefix and every APDU gets a reply ending in a status word.
#![no_main]

use cardwire_transport::card_side::CardHandler;
use cardwire_vpcd::{MAX_MESSAGE_LEN, Request, Session};
use libfuzzer_sys::fuzz_target;

/// Echoes the command's data, or answers with the status word named by P1 P2.
struct Echo {
    powered: bool,
}

impl CardHandler for Echo {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x80, 0x80, 0x01, 0x01]
    }
    fn power_on(&mut self) {
        self.powered = true;
    }
    fn power_off(&mut self) {
        self.powered = false;
    }
    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        let n = command.len().min(response.len().saturating_sub(2)).min(256);
        response[..n].copy_from_slice(&command[..n]);
        response[n..n + 2].copy_from_slice(&[0x90, 0x00]);
        n + 2
    }
}

fuzz_target!(|data: &[u8]| {
    let mut session = Session::new(Echo { powered: false });
    let mut out = vec![0u8; MAX_MESSAGE_LEN];
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body_end = (2 + len).min(rest.len());
        let body = &rest[2..body_end];
        rest = &rest[body_end..];
        let is_apdu = matches!(Request::parse(body), Request::Apdu(_));
        match session.handle(body, &mut out) {
            Some(reply) => {
                assert!(reply.len() <= MAX_MESSAGE_LEN);
                if is_apdu {
                    assert!(reply.len() >= 2);
                }
            }
            None => assert!(!is_apdu),
        }
    }
});
