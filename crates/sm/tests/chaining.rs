//! Secure messaging over command chaining at the engine level, in every suite: each link of a
//! chain is wrapped on its own (chaining bit under the MAC), unwrapped and verified by the
//! card as it arrives, and answered with a protected response the host verifies (ISO/IEC
//! 7816-4 §10 with §5.3.3; GlobalPlatform Amendment D §6.2.4; ICAO 9303-11 §9.8). A link with a
//! bad MAC fails the card's session, so no later link is accepted.
// Test code: a failing unwrap or index is a failing test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use cardwire_apdu::{Cla, CommandRepr, Ins, LengthForm, StatusWord};
use cardwire_sm::scp03::{Scp03Card, Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
use cardwire_sm::{AesSuite, CipherSuite, Error, SmSession, TdesSuite};

/// Both ends of a channel.
trait Ends {
    fn host_wrap(&mut self, cmd: &CommandRepr<'_>, out: &mut [u8]) -> Result<usize, Error>;
    fn host_unwrap(&mut self, rsp: &[u8], out: &mut [u8]) -> Result<usize, Error>;
    fn card_unwrap(&mut self, wire: &[u8], out: &mut [u8]) -> Result<usize, Error>;
    fn card_wrap(&mut self, data: &[u8], sw: StatusWord, out: &mut [u8]) -> Result<usize, Error>;
}

impl<S: CipherSuite> Ends for (SmSession<S>, SmSession<S>) {
    fn host_wrap(&mut self, cmd: &CommandRepr<'_>, out: &mut [u8]) -> Result<usize, Error> {
        self.0.wrap(cmd, LengthForm::Auto, out)
    }
    fn host_unwrap(&mut self, rsp: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.0.unwrap_response(rsp, out)
    }
    fn card_unwrap(&mut self, wire: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.1.unwrap_command(wire, out)
    }
    fn card_wrap(&mut self, data: &[u8], sw: StatusWord, out: &mut [u8]) -> Result<usize, Error> {
        self.1.wrap_response(data, sw, out)
    }
}

impl Ends for (Scp03Session, Scp03Session) {
    fn host_wrap(&mut self, cmd: &CommandRepr<'_>, out: &mut [u8]) -> Result<usize, Error> {
        self.0.wrap(cmd, LengthForm::Auto, out)
    }
    fn host_unwrap(&mut self, rsp: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.0.unwrap_response(rsp, out)
    }
    fn card_unwrap(&mut self, wire: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.1.unwrap_command(wire, out)
    }
    fn card_wrap(&mut self, data: &[u8], sw: StatusWord, out: &mut [u8]) -> Result<usize, Error> {
        self.1.wrap_response(data, sw, out)
    }
}

fn scp03(level: SecurityLevel) -> (Scp03Session, Scp03Session) {
    let sk = || StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]).unwrap();
    let mut host = Scp03Host::new(sk(), 0x30, [1; 8]);
    let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [2; 8]);
    let (mut c, mut r) = ([0u8; 64], [0u8; 64]);
    let n = host.initialize_update_command(&mut c).unwrap();
    let m = card.initialize_update(&c[..n], &mut r).unwrap();
    let n = host
        .external_authenticate_command(&r[..m], level, &mut c)
        .unwrap();
    let card = card.external_authenticate(&c[..n]).unwrap();
    (host.finish(&[0x90, 0x00]).unwrap(), card)
}

/// Every suite and level, with the most plain data a short protected link carries.
fn all_ends() -> Vec<(&'static str, Box<dyn Ends>, usize)> {
    let tdes = || TdesSuite::new(&[1; 16], &[2; 16]).unwrap();
    let aes128 = || AesSuite::new(&[1; 16], &[2; 16]).unwrap();
    let aes256 = || AesSuite::new(&[1; 32], &[2; 32]).unwrap();
    vec![
        (
            "3DES",
            Box::new((
                SmSession::host(tdes(), &[0; 8]).unwrap(),
                SmSession::card(tdes(), &[0; 8]).unwrap(),
            )) as Box<dyn Ends>,
            231,
        ),
        (
            "AES-128",
            Box::new((
                SmSession::host(aes128(), &[0; 16]).unwrap(),
                SmSession::card(aes128(), &[0; 16]).unwrap(),
            )),
            223,
        ),
        (
            "AES-256",
            Box::new((
                SmSession::host(aes256(), &[7; 16]).unwrap(),
                SmSession::card(aes256(), &[7; 16]).unwrap(),
            )),
            223,
        ),
        ("SCP03 C-MAC", Box::new(scp03(SecurityLevel::C_MAC)), 247),
        ("SCP03 all", Box::new(scp03(SecurityLevel::ALL)), 239),
    ]
}

/// A 3 KB object.
fn object() -> Vec<u8> {
    (0..3072).map(|i| (i * 13 + i / 256) as u8).collect()
}

fn link(last: bool, data: &[u8]) -> CommandRepr<'_> {
    CommandRepr::new(Cla(0x00).with_chaining(!last), Ins::PUT_DATA, 0x01, 0x02).with_data(data)
}

#[test]
fn each_link_is_wrapped_verified_and_answered_on_its_own() {
    let data = object();
    for (name, mut ends, chunk) in all_ends() {
        let links: Vec<&[u8]> = data.chunks(chunk).collect();
        let mut received = Vec::new();
        let (mut wire, mut plain) = ([0u8; 300], [0u8; 300]);
        for (i, part) in links.iter().enumerate() {
            let last = i + 1 == links.len();
            let n = ends.host_wrap(&link(last, part), &mut wire).unwrap();
            assert!(n <= 5 + 255 + 1, "{name} link {i}: a short APDU");
            assert_eq!(wire[0] & 0x10 != 0, !last, "{name} link {i}: chaining bit");
            let m = ends.card_unwrap(&wire[..n], &mut plain).unwrap();
            let got = CommandRepr::parse(&plain[..m]).unwrap();
            assert_eq!(got.cla.chaining(), !last, "{name} link {i}");
            assert_eq!((got.ins, got.p1, got.p2), (Ins::PUT_DATA, 0x01, 0x02));
            received.extend_from_slice(got.data);
            let n = ends.card_wrap(&[], StatusWord::SUCCESS, &mut wire).unwrap();
            let m = ends.host_unwrap(&wire[..n], &mut plain).unwrap();
            assert_eq!(&plain[..m], &[0x90, 0x00], "{name} link {i} answer");
        }
        assert_eq!(received, data, "{name}");
    }
}

#[test]
fn a_bad_mac_on_a_middle_link_fails_the_card_for_the_rest_of_the_chain() {
    let data = object();
    for (name, mut ends, chunk) in all_ends() {
        let links: Vec<&[u8]> = data.chunks(chunk).collect();
        let middle = links.len() / 2;
        let (mut wire, mut plain) = ([0u8; 300], [0u8; 300]);
        for (i, part) in links.iter().enumerate() {
            let last = i + 1 == links.len();
            let n = ends.host_wrap(&link(last, part), &mut wire).unwrap();
            if i == middle {
                // The MAC is the last bytes before Le (ISO) or the end (SCP03, no Le).
                let at = if name.starts_with("SCP03") {
                    n - 1
                } else {
                    n - 2
                };
                wire[at] ^= 0x01;
            }
            let result = ends.card_unwrap(&wire[..n], &mut plain);
            if i < middle {
                result.unwrap();
                let n = ends.card_wrap(&[], StatusWord::SUCCESS, &mut wire).unwrap();
                ends.host_unwrap(&wire[..n], &mut plain).unwrap();
            } else if i == middle {
                assert_eq!(result, Err(Error::MacMismatch), "{name}");
                assert_eq!(
                    Error::MacMismatch.card_status(),
                    StatusWord::SM_DATA_OBJECTS_INCORRECT
                );
                // The card answers 6988 bare: the host's session ends too.
                assert!(
                    ends.host_unwrap(&[0x69, 0x88], &mut plain).is_err(),
                    "{name}"
                );
                break;
            }
        }
        // Neither side takes another link.
        let n = ends.host_wrap(&link(true, &[1]), &mut wire);
        assert_eq!(n, Err(Error::SessionFailed), "{name}");
    }
}
