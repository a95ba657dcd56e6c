//! Host-side unwrap of protected responses under fixed sessions (ISO SM with 3DES and AES, and
//! SCP03 with R-MAC + R-ENC). Never panics, and never returns unauthenticated data:
//! - mode 0: the input is the response as received: it must be rejected (a random 8-byte MAC
//!   matches with probability 2^-64), leaving the output buffer untouched; a bare `6987` or
//!   `6988` (the card closed the channel) fails the session in every suite;
//! - mode 1: a genuine response to the input data with one byte changed: rejected;
//! - mode 2: the genuine response: accepted, and equal to the card's data and status.
#![no_main]

use cardwire_sm::scp03::{Scp03Card, Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
use cardwire_sm::{AesSuite, Error, SmSession, TdesSuite};
use libfuzzer_sys::fuzz_target;

trait Pair {
    fn send(&mut self);
    fn genuine(&mut self, data: &[u8], sw: u16) -> Vec<u8>;
    fn unwrap(&mut self, rsp: &[u8], out: &mut [u8]) -> Result<usize, Error>;
}

struct Iso<S: cardwire_sm::CipherSuite>(SmSession<S>, SmSession<S>);

impl<S: cardwire_sm::CipherSuite> Pair for Iso<S> {
    fn send(&mut self) {
        let mut wire = [0u8; 64];
        let mut plain = [0u8; 64];
        let n = self
            .0
            .wrap_command(&[0x00, 0xB0, 0x00, 0x00, 0x00], &mut wire)
            .unwrap();
        self.1.unwrap_command(&wire[..n], &mut plain).unwrap();
    }
    fn genuine(&mut self, data: &[u8], sw: u16) -> Vec<u8> {
        let mut out = vec![0u8; data.len() + 64];
        let n = self.1.wrap_response(data, cardwire_apdu::StatusWord(sw), &mut out).unwrap();
        out.truncate(n);
        out
    }
    fn unwrap(&mut self, rsp: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.0.unwrap_response(rsp, out)
    }
}

struct Scp(Scp03Session, Scp03Session);

impl Pair for Scp {
    fn send(&mut self) {
        let mut wire = [0u8; 64];
        let mut plain = [0u8; 64];
        let n = self
            .0
            .wrap_command(&[0x80, 0xCA, 0x00, 0x66, 0x00], &mut wire)
            .unwrap();
        self.1.unwrap_command(&wire[..n], &mut plain).unwrap();
    }
    fn genuine(&mut self, data: &[u8], sw: u16) -> Vec<u8> {
        let mut out = vec![0u8; data.len() + 64];
        let n = self.1.wrap_response(data, cardwire_apdu::StatusWord(sw), &mut out).unwrap();
        out.truncate(n);
        out
    }
    fn unwrap(&mut self, rsp: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.0.unwrap_response(rsp, out)
    }
}

fn scp03() -> Scp {
    let sk = || StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]).unwrap();
    let mut host = Scp03Host::new(sk(), 0x30, [1; 8]);
    let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [2; 8]);
    let (mut cmd, mut rsp) = ([0u8; 64], [0u8; 64]);
    let n = host.initialize_update_command(&mut cmd).unwrap();
    let m = card.initialize_update(&cmd[..n], &mut rsp).unwrap();
    let n = host
        .external_authenticate_command(&rsp[..m], SecurityLevel::ALL, &mut cmd)
        .unwrap();
    let card = card.external_authenticate(&cmd[..n]).unwrap();
    Scp(host.finish(&[0x90, 0x00]).unwrap(), card)
}

fuzz_target!(|input: &[u8]| {
    let [suite, mode, a, b, rest @ ..] = input else {
        return;
    };
    let mut pair: Box<dyn Pair> = match suite % 3 {
        0 => Box::new(Iso(
            SmSession::host(TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]).unwrap(),
            SmSession::card(TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]).unwrap(),
        )),
        1 => Box::new(Iso(
            SmSession::host(AesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 16]).unwrap(),
            SmSession::card(AesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 16]).unwrap(),
        )),
        _ => Box::new(scp03()),
    };
    pair.send();
    let mut out = vec![0u8; rest.len() + 64];
    match mode % 3 {
        0 => {
            // SCP03 error statuses carry no R-MAC (GPC Amendment D §6.2.5): a bare error status
            // is the one unauthenticated answer the protocol defines.
            // `6987`/`6988` say the card refused the command's secure messaging and closed
            // the channel: the host closes too, at every level and in every suite.
            let sm_error = rest == [0x69, 0x87] || rest == [0x69, 0x88];
            let bare_scp03_error = *suite % 3 == 2
                && rest.len() == 2
                && !sm_error
                && !(rest == [0x90, 0x00] || rest[0] == 0x62 || rest[0] == 0x63);
            let result = pair.unwrap(rest, &mut out);
            if sm_error {
                assert!(
                    matches!(result, Err(Error::UnprotectedStatus { .. })),
                    "{result:?}"
                );
                assert!(pair.unwrap(&[0x90, 0x00], &mut out).is_err(), "session still open");
            } else if bare_scp03_error {
                assert_eq!(result.ok(), Some(2));
            } else {
                assert!(result.is_err(), "unauthenticated response accepted");
                assert!(out.iter().all(|b| *b == 0), "data left in the output");
            }
        }
        1 => {
            let mut rsp = pair.genuine(rest, 0x9000);
            let at = usize::from(*a) % rsp.len();
            rsp[at] ^= b.max(&1);
            assert!(
                pair.unwrap(&rsp, &mut out).is_err(),
                "tampered response accepted"
            );
        }
        _ => {
            let sw = 0x9000;
            let rsp = pair.genuine(rest, sw);
            let n = pair.unwrap(&rsp, &mut out).unwrap();
            assert_eq!(&out[..n - 2], rest);
        }
    }
});
