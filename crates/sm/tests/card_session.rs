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
use cardwire_apdu::{Response, StatusWord};
use cardwire_sm::channel::{establish_bac, open_scp03, secure_card};
use cardwire_sm::channel::{establish_bac_async, open_scp03_async};
use cardwire_sm::scp03::{Scp03Card, Scp03Session, SecurityLevel, StaticKeys};
use cardwire_sm::{BacCard, BacKeys, Error, MrzInfo, SmSession, TdesSuite};
use cardwire_transport::{AsyncSession, Card, CardHandler, ErrorKind, InProcess, Session};
use common::{FailingRng, TestRng, block_on, hex};

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
                    return sw(response, e.card_status().0);
                }
            };
            let (data, status) = self.plain(&plain[..n]);
            let sm = self.sm.as_mut().unwrap();
            return sm
                .wrap_response(&data, StatusWord(status), response)
                .unwrap();
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
        Some(Error::CardRefused {
            sw: StatusWord(0x6300)
        })
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
                        s.wrap_response(&data, StatusWord::SUCCESS, response)
                            .unwrap()
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

/// A session type of another crate: no `Card`, no `Transport`, just a card handler called
/// directly, counting the commands it sends. It handles no `61xx` (the handlers answer whole).
struct Direct<H: CardHandler> {
    handler: H,
    sent: usize,
}

impl<H: CardHandler> Direct<H> {
    fn new(handler: H) -> Self {
        Self { handler, sent: 0 }
    }

    fn exchange<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        let mut apdu = [0u8; 300];
        let apdu = command
            .encode(&mut apdu)
            .map_err(|_| ErrorKind::BufferTooSmall)?;
        self.sent += 1;
        let n = self.handler.process(apdu, response);
        Response::new_checked(&response[..n]).map_err(|_| ErrorKind::Protocol)
    }
}

impl<H: CardHandler> Session for Direct<H> {
    type Error = ErrorKind;
    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        self.exchange(command, response)
    }
}

impl<H: CardHandler> AsyncSession for Direct<H> {
    type Error = ErrorKind;
    async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        self.exchange(command, response)
    }
}

fn mrz_keys() -> BacKeys {
    BacKeys::from_mrz(&MrzInfo::new("L898902C", "690806", "940623").unwrap())
}

/// Reads EF.COM through an open BAC session by hand: the session of another crate has no
/// secure channel hook, so the caller wraps and unwraps.
fn read_com_direct(direct: &mut Direct<Passport>, sm: &mut SmSession<TdesSuite>) {
    let (mut wire, mut plain, mut rsp) = ([0u8; 300], [0u8; 300], [0u8; 300]);
    let n = sm.wrap_command(&hex("00A4020C02011E"), &mut wire).unwrap();
    let r = direct
        .exchange(&CommandRepr::parse(&wire[..n]).unwrap(), &mut rsp)
        .unwrap();
    let m = sm.unwrap_response(r.as_bytes(), &mut plain).unwrap();
    assert_eq!(&plain[..m], &[0x90, 0x00]);
    let n = sm.wrap_command(&hex("00B0000016"), &mut wire).unwrap();
    let r = direct
        .exchange(&CommandRepr::parse(&wire[..n]).unwrap(), &mut rsp)
        .unwrap();
    let m = sm.unwrap_response(r.as_bytes(), &mut plain).unwrap();
    assert_eq!(&plain[..m - 2], &hex(EF_COM)[..]);
    assert_eq!(&plain[m - 2..m], &[0x90, 0x00]);
}

#[test]
fn bac_over_a_third_party_session() {
    let mut direct = Direct::new(Passport::default());
    let mut sm = establish_bac(&mut direct, &mrz_keys(), &mut TestRng(99)).unwrap();
    assert_eq!(direct.sent, 2);
    read_com_direct(&mut direct, &mut sm);
}

#[test]
fn bac_over_an_async_session() {
    let mut direct = Direct::new(Passport::default());
    let mut sm = block_on(establish_bac_async(
        &mut direct,
        &mrz_keys(),
        &mut TestRng(99),
    ))
    .unwrap();
    read_com_direct(&mut direct, &mut sm);
    // The wrong MRZ is refused the same way as over the blocking driver.
    let wrong = BacKeys::from_mrz(&MrzInfo::new("L898902C", "690806", "950623").unwrap());
    assert_eq!(
        block_on(establish_bac_async(&mut direct, &wrong, &mut TestRng(5))).err(),
        Some(Error::CardRefused {
            sw: StatusWord(0x6300)
        })
    );
}

#[test]
fn scp03_over_an_async_session() {
    let mut direct = Direct::new(Domain {
        handshake: None,
        session: None,
    });
    let mut session = block_on(open_scp03_async(
        &mut direct,
        sd_keys(),
        0x30,
        SecurityLevel::ALL,
        &mut TestRng(3),
    ))
    .unwrap();
    assert_eq!(direct.sent, 2);
    let (mut wire, mut plain, mut rsp) = ([0u8; 300], [0u8; 300], [0u8; 300]);
    let n = session
        .wrap_command(&hex("80CA9F7F03A5A5A500"), &mut wire)
        .unwrap();
    let r = direct
        .exchange(&CommandRepr::parse(&wire[..n]).unwrap(), &mut rsp)
        .unwrap();
    let m = session.unwrap_response(r.as_bytes(), &mut plain).unwrap();
    assert_eq!(&plain[..m], &hex("9F7FA5A5A59000")[..]);
    // Wrong keys fail on the card cryptogram, as over the blocking driver.
    let wrong = StaticKeys::new(&[0x40; 16], &[0x00; 16], &[0x42; 16]).unwrap();
    assert_eq!(
        block_on(open_scp03_async(
            &mut direct,
            wrong,
            0x30,
            SecurityLevel::C_MAC,
            &mut TestRng(3),
        ))
        .unwrap_err(),
        Error::AuthenticationFailed
    );
}

#[test]
fn a_failing_generator_is_an_error_and_nothing_is_sent() {
    let mut passport = Direct::new(Passport::default());
    assert_eq!(
        establish_bac(&mut passport, &mrz_keys(), &mut FailingRng).unwrap_err(),
        Error::Randomness
    );
    assert_eq!(
        block_on(establish_bac_async(
            &mut passport,
            &mrz_keys(),
            &mut FailingRng
        ))
        .unwrap_err(),
        Error::Randomness
    );
    assert_eq!(passport.sent, 0);

    let mut domain = Direct::new(Domain {
        handshake: None,
        session: None,
    });
    assert_eq!(
        open_scp03(
            &mut domain,
            sd_keys(),
            0x30,
            SecurityLevel::ALL,
            &mut FailingRng
        )
        .unwrap_err(),
        Error::Randomness
    );
    assert_eq!(
        block_on(open_scp03_async(
            &mut domain,
            sd_keys(),
            0x30,
            SecurityLevel::ALL,
            &mut FailingRng
        ))
        .unwrap_err(),
        Error::Randomness
    );
    assert_eq!(domain.sent, 0);

    // Over a `Card` too: the failure comes back before the card sees a command.
    let mut card = open();
    assert_eq!(
        establish_bac(&mut card, &mrz_keys(), &mut FailingRng).unwrap_err(),
        Error::Randomness
    );
    assert!(!card.is_secure());
    let keys = mrz_keys();
    // The card still answers a real BAC afterwards: its state saw nothing.
    establish_bac(&mut card, &keys, &mut TestRng(99)).unwrap();
}
