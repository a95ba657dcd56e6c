//! The whole stack in process: a small eMRTD-like card built on the card-side APIs
//! (`BacCard`, `SmSession::card`, `Scp03Card`) behind `cardwire_transport::InProcess`, and the
//! host driving it through a `Card` session with `establish_bac` / `open_scp03` and
//! `secure_card`: the caller sends plain commands and gets plain answers.
// Test code: a failing unwrap or index is a failing test.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use cardwire_apdu::exchange::Capabilities;
use cardwire_apdu::{Cla, CommandRepr, Ins};
use cardwire_sm::channel::{establish_bac, open_scp03, secure_card};
use cardwire_sm::scp03::{Scp03Card, Scp03Session, SecurityLevel, StaticKeys};
use cardwire_sm::{BacCard, BacKeys, Error, MrzInfo, Rng, SmSession, TdesSuite};
use cardwire_transport::{Card, CardHandler, InProcess};
use common::{TestRng, hex};

impl Rng for TestRng {
    fn fill_bytes(&mut self, out: &mut [u8]) {
        for b in out {
            *b = self.bytes::<1>()[0];
        }
    }
}

/// EF.COM of the ICAO worked example (Appendix D.4).
const EF_COM: &str = "60145F0104303130365F36063034303030305C026175";

#[derive(Default)]
struct Passport {
    bac: Option<BacCard>,
    sm: Option<SmSession<TdesSuite>>,
    selected_com: bool,
    rng: u64,
}

impl Passport {
    fn plain(&mut self, cmd: &[u8]) -> (Vec<u8>, u16) {
        let c = CommandRepr::parse(cmd).unwrap();
        match (c.ins.0, c.p1, c.data) {
            (0xA4, 0x04, _) => (vec![], 0x9000),
            (0xA4, 0x02, [0x01, 0x1E]) => {
                self.selected_com = true;
                (vec![], 0x9000)
            }
            (0xB0, _, []) if self.selected_com => {
                let file = hex(EF_COM);
                let off = usize::from(c.p1) << 8 | usize::from(c.p2);
                let end = (off + c.ne as usize).min(file.len());
                (file[off.min(end)..end].to_vec(), 0x9000)
            }
            _ => (vec![], 0x6A82),
        }
    }
}

impl CardHandler for Passport {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x80, 0x80, 0x01, 0x01]
    }
    fn power_on(&mut self) {
        self.sm = None;
    }
    fn power_off(&mut self) {
        self.sm = None;
    }
    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        let sw = |r: &mut [u8], sw: u16| {
            r[..2].copy_from_slice(&sw.to_be_bytes());
            2
        };
        if command.first().is_some_and(|c| c & 0x0C == 0x0C) {
            let Some(sm) = self.sm.as_mut() else {
                return sw(response, 0x6987);
            };
            let mut plain = [0u8; 300];
            let n = match sm.unwrap_command(command, &mut plain) {
                Ok(n) => n,
                Err(e) => {
                    self.sm = None;
                    return sw(response, e.card_status());
                }
            };
            let (data, status) = self.plain(&plain[..n]);
            let sm = self.sm.as_mut().unwrap();
            return sm.wrap_response(&data, status, response).unwrap();
        }
        match command.get(1) {
            Some(0x84) => {
                let mut rng = TestRng(0x1234_5678 ^ self.rng);
                let keys =
                    BacKeys::from_mrz(&MrzInfo::new("L898902C", "690806", "940623").unwrap());
                let bac = BacCard::new(keys, rng.bytes(), rng.bytes());
                response[..8].copy_from_slice(&bac.challenge());
                self.bac = Some(bac);
                response[8..10].copy_from_slice(&[0x90, 0x00]);
                10
            }
            Some(0x82) => match self
                .bac
                .take()
                .map(|mut b| b.external_authenticate(command, response))
            {
                Some(Ok(sm)) => {
                    self.sm = Some(sm);
                    42
                }
                _ => sw(response, 0x6300),
            },
            _ => {
                let (data, status) = self.plain(command);
                response[..data.len()].copy_from_slice(&data);
                data.len() + sw(&mut response[data.len()..], status)
            }
        }
    }
}

fn open() -> Card<InProcess<Passport>> {
    let mut card =
        Card::with_capabilities(InProcess::new(Passport::default()), Capabilities::SHORT);
    let select_applet = hex("A0000002471001");
    let mut rsp = [0u8; 64];
    let r = card
        .transmit(
            &CommandRepr::new(Cla(0), Ins::SELECT, 4, 0x0C).with_data(&select_applet),
            &mut rsp,
        )
        .unwrap();
    assert_eq!(r.sw().0, 0x9000);
    card
}

#[test]
fn bac_then_plain_commands_over_a_card_session() {
    let mut card = open();
    let keys = BacKeys::from_mrz(&MrzInfo::new("L898902C", "690806", "940623").unwrap());
    let session = establish_bac(&mut card, &keys, &mut TestRng(99)).unwrap();
    let mut card = secure_card(card, session);
    assert!(card.is_secure());
    assert!(card.secure_messaging_required());
    let mut rsp = [0u8; 300];
    let r = card
        .transmit(
            &CommandRepr::new(Cla(0), Ins::SELECT, 2, 0x0C).with_data(&[0x01, 0x1E]),
            &mut rsp,
        )
        .unwrap();
    assert_eq!(r.sw().0, 0x9000);
    let r = card
        .transmit(
            &CommandRepr::new(Cla(0), Ins::READ_BINARY, 0, 0).with_ne(4),
            &mut rsp,
        )
        .unwrap();
    assert_eq!(r.data(), &hex("60145F01")[..]);
    let r = card
        .transmit(
            &CommandRepr::new(Cla(0), Ins::READ_BINARY, 0, 4).with_ne(0x12),
            &mut rsp,
        )
        .unwrap();
    assert_eq!(r.data(), &hex(EF_COM)[4..]);
    // A protected error status comes back as data, authenticated.
    let r = card
        .transmit(
            &CommandRepr::new(Cla(0), Ins::SELECT, 2, 0x0C).with_data(&[0x01, 0x99]),
            &mut rsp,
        )
        .unwrap();
    assert_eq!(r.sw().0, 0x6A82);
}

#[test]
fn bac_with_the_wrong_mrz_is_refused() {
    let mut card = open();
    let keys = BacKeys::from_mrz(&MrzInfo::new("L898902C", "690806", "950623").unwrap());
    assert_eq!(
        establish_bac(&mut card, &keys, &mut TestRng(5)).err(),
        Some(Error::CardRefused { sw: 0x6300 })
    );
}

/// A security domain with SCP03 for the transport test.
struct Domain {
    handshake: Option<Scp03Card>,
    session: Option<Scp03Session>,
}

fn sd_keys() -> StaticKeys {
    StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]).unwrap()
}

impl CardHandler for Domain {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x80, 0x80, 0x01, 0x01]
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        match command.get(1) {
            Some(0x50) => {
                let mut hs = Scp03Card::new(sd_keys(), 0x30, [7; 10], [8; 8]);
                let n = hs.initialize_update(command, response).unwrap();
                self.handshake = Some(hs);
                n
            }
            Some(0x82) => {
                self.session = self
                    .handshake
                    .take()
                    .and_then(|mut h| h.external_authenticate(command).ok());
                let sw: u16 = if self.session.is_some() {
                    0x9000
                } else {
                    0x6300
                };
                response[..2].copy_from_slice(&sw.to_be_bytes());
                2
            }
            _ => {
                let Some(s) = self.session.as_mut() else {
                    response[..2].copy_from_slice(&[0x69, 0x82]);
                    return 2;
                };
                let mut plain = [0u8; 300];
                match s.unwrap_command(command, &mut plain) {
                    // GET DATA answers its P1 P2 back, plus the data it was given.
                    Ok(n) => {
                        let c = CommandRepr::parse(&plain[..n]).unwrap();
                        let mut data = vec![c.p1, c.p2];
                        data.extend_from_slice(c.data);
                        s.wrap_response(&data, 0x9000, response).unwrap()
                    }
                    Err(_) => {
                        self.session = None;
                        response[..2].copy_from_slice(&[0x69, 0x82]);
                        2
                    }
                }
            }
        }
    }
}

#[test]
fn scp03_then_plain_commands_over_a_card_session() {
    let domain = Domain {
        handshake: None,
        session: None,
    };
    let mut card = Card::with_capabilities(InProcess::new(domain), Capabilities::SHORT);
    let session = open_scp03(
        &mut card,
        sd_keys(),
        0x30,
        SecurityLevel::ALL,
        &mut TestRng(3),
    )
    .unwrap();
    let mut card = secure_card(card, session);
    let mut rsp = [0u8; 300];
    for len in [0usize, 1, 15, 16, 100] {
        let payload = vec![0xA5; len];
        let r = card
            .transmit(
                &CommandRepr::new(Cla(0x80), Ins::GET_DATA, 0x9F, 0x7F)
                    .with_data(&payload)
                    .with_ne(256),
                &mut rsp,
            )
            .unwrap();
        assert_eq!(r.sw().0, 0x9000);
        assert_eq!(&r.data()[..2], &[0x9F, 0x7F]);
        assert_eq!(&r.data()[2..], &payload[..]);
    }
}

#[test]
fn scp03_with_wrong_keys_fails_on_the_card_cryptogram() {
    let domain = Domain {
        handshake: None,
        session: None,
    };
    let mut card = Card::with_capabilities(InProcess::new(domain), Capabilities::SHORT);
    let wrong = StaticKeys::new(&[0x40; 16], &[0x00; 16], &[0x42; 16]).unwrap();
    let err = open_scp03(
        &mut card,
        wrong,
        0x30,
        SecurityLevel::C_MAC,
        &mut TestRng(3),
    )
    .unwrap_err();
    assert_eq!(err, Error::AuthenticationFailed);
}
