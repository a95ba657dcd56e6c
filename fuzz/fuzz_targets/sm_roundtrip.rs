//! Round trip through host and card for any command the input describes, in every ISO suite
//! and SCP03 at security level 33: the card sees the host's plain command (same header, data
//! and Ne, or SCP03's maximal Ne), the host the card's plain response.
//!
//! When the high nibble of the suite byte is set, the command goes as a command chain
//! (ISO/IEC 7816-4 §5.3.3) of links of `16 × nibble` data bytes, each link protected on its
//! own: the card unwraps every link (chaining bit kept, its data in order), answers every
//! non-final link with a protected `9000` the host verifies, and the reassembled data is the
//! command's.
#![no_main]

use cardwire_apdu::{CommandRepr, LengthForm, StatusWord};
use cardwire_sm::scp03::{Scp03Card, Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
use cardwire_sm::{AesSuite, CipherSuite, Error, SmSession, TdesSuite};
use libfuzzer_sys::fuzz_target;

/// Both ends of a channel, as the chained round trip drives them.
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

/// Sends `cmd` as a chain of protected links of `chunk` data bytes and checks what each end
/// sees.
fn chained(ends: &mut dyn Ends, cmd: &CommandRepr<'_>, chunk: usize, rsp_data: &[u8]) {
    let links: Vec<&[u8]> = cmd.data.chunks(chunk).collect();
    let mut wire = vec![0u8; chunk + cmd.data.len().min(chunk) + rsp_data.len() + 128];
    let mut plain = vec![0u8; chunk + rsp_data.len() + 128];
    let mut received = Vec::new();
    for (i, data) in links.iter().enumerate() {
        let last = i + 1 == links.len();
        let link = CommandRepr {
            cla: if last { cmd.cla } else { cmd.cla.with_chaining(true) },
            data,
            ne: if last { cmd.ne } else { 0 },
            ..*cmd
        };
        let n = match ends.host_wrap(&link, &mut wire) {
            Ok(n) => n,
            // Class bytes that cannot carry SM (or SM and chaining) are refused up front.
            Err(Error::ClassByte { .. }) if i == 0 => return,
            Err(e) => panic!("link {i} not wrapped: {e:?}"),
        };
        let m = ends.card_unwrap(&wire[..n], &mut plain).unwrap();
        let got = CommandRepr::parse(&plain[..m]).unwrap();
        assert_eq!(got.cla.chaining(), !last || cmd.cla.chaining(), "link {i} chaining bit");
        assert_eq!((got.ins, got.p1, got.p2), (cmd.ins, cmd.p1, cmd.p2));
        received.extend_from_slice(got.data);
        let answer = if last { rsp_data } else { &[] };
        let n = ends.card_wrap(answer, StatusWord::SUCCESS, &mut wire).unwrap();
        let m = ends.host_unwrap(&wire[..n], &mut plain).unwrap();
        assert_eq!(&plain[..m - 2], answer, "link {i} answer");
        assert_eq!(&plain[m - 2..m], &[0x90, 0x00]);
    }
    assert_eq!(received, cmd.data);
}

fuzz_target!(|input: &[u8]| {
    let [suite, split_hi, split_lo, rest @ ..] = input else {
        return;
    };
    let split = (usize::from(*split_hi) << 8 | usize::from(*split_lo)) % (rest.len() + 1);
    let (cmd, rsp_data) = rest.split_at(split);
    let Ok(parsed) = CommandRepr::parse(cmd) else {
        return;
    };
    if parsed.cla.0 == 0xFF || matches!(parsed.cla.0, 0x40..=0x7F | 0xC0..=0xFE) && suite % 4 == 3 {
        return;
    }
    let chunk = usize::from(*suite >> 4) * 16;
    if chunk > 0 && parsed.data.len() > chunk && parsed.data.len() <= 4096 {
        let mut ends: Box<dyn Ends> = match suite % 4 {
            0 => Box::new((
                SmSession::host(TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]).unwrap(),
                SmSession::card(TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]).unwrap(),
            )),
            1 => Box::new((
                SmSession::host(AesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 16]).unwrap(),
                SmSession::card(AesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 16]).unwrap(),
            )),
            2 => Box::new((
                SmSession::host(AesSuite::new(&[1; 32], &[2; 32]).unwrap(), &[9; 16]).unwrap(),
                SmSession::card(AesSuite::new(&[1; 32], &[2; 32]).unwrap(), &[9; 16]).unwrap(),
            )),
            _ => Box::new(scp03_pair()),
        };
        if parsed.cla.with_chaining(true).chaining() {
            chained(&mut *ends, &parsed, chunk, rsp_data);
        }
        return;
    }
    let mut wire = vec![0u8; cmd.len() + rsp_data.len() + 128];
    let mut plain = vec![0u8; cmd.len() + rsp_data.len() + 128];
    let sw = cardwire_apdu::StatusWord::SUCCESS;
    macro_rules! iso {
        ($h:expr, $c:expr) => {{
            let (mut h, mut c) = ($h, $c);
            let n = match h.wrap_command(cmd, &mut wire) {
                Ok(n) => n,
                // `F3`/`F7`/`FB` would become the invalid `FF` with the SM bits: refused.
                Err(cardwire_sm::Error::ClassByte { .. }) => {
                    assert_eq!(parsed.cla.0 | 0x0C, 0xFF);
                    return;
                }
                Err(e) => panic!("wrap_command refused a valid command: {e:?}"),
            };
            let m = c.unwrap_command(&wire[..n], &mut plain).unwrap();
            let got = CommandRepr::parse(&plain[..m]).unwrap();
            assert_eq!(
                (got.ins, got.p1, got.p2, got.data, got.ne),
                (parsed.ins, parsed.p1, parsed.p2, parsed.data, parsed.ne)
            );
            let n = c.wrap_response(rsp_data, sw, &mut wire).unwrap();
            let m = h.unwrap_response(&wire[..n], &mut plain).unwrap();
            assert_eq!(&plain[..m - 2], rsp_data);
        }};
    }
    match suite % 4 {
        0 => iso!(
            SmSession::host(TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]).unwrap(),
            SmSession::card(TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]).unwrap()
        ),
        1 => iso!(
            SmSession::host(AesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 16]).unwrap(),
            SmSession::card(AesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 16]).unwrap()
        ),
        2 => iso!(
            SmSession::host(AesSuite::new(&[1; 32], &[2; 32]).unwrap(), &[9; 16]).unwrap(),
            SmSession::card(AesSuite::new(&[1; 32], &[2; 32]).unwrap(), &[9; 16]).unwrap()
        ),
        _ => {
            let sk = || StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]).unwrap();
            let mut host = Scp03Host::new(sk(), 0x30, [1; 8]);
            let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [2; 8]);
            let (mut c, mut r) = ([0u8; 64], [0u8; 64]);
            let n = host.initialize_update_command(&mut c).unwrap();
            let m = card.initialize_update(&c[..n], &mut r).unwrap();
            let n = host
                .external_authenticate_command(&r[..m], SecurityLevel::ALL, &mut c)
                .unwrap();
            let mut card = card.external_authenticate(&c[..n]).unwrap();
            let mut host = host.finish(&[0x90, 0x00]).unwrap();
            let Ok(n) = host.wrap_command(cmd, &mut wire) else {
                // Only a plain command that grows past 65 535 bytes may be refused.
                assert!(parsed.data.len() > 65_000);
                return;
            };
            let m = card.unwrap_command(&wire[..n], &mut plain).unwrap();
            let got = CommandRepr::parse(&plain[..m]).unwrap();
            assert_eq!(
                (got.ins, got.p1, got.p2, got.data),
                (parsed.ins, parsed.p1, parsed.p2, parsed.data)
            );
            assert_eq!(got.ne == 0, parsed.ne == 0);
            let n = card.wrap_response(rsp_data, sw, &mut wire).unwrap();
            let m = host.unwrap_response(&wire[..n], &mut plain).unwrap();
            assert_eq!(&plain[..m - 2], rsp_data);
        }
    }
});

/// A host and a card SCP03 session at security level 33.
fn scp03_pair() -> (Scp03Session, Scp03Session) {
    let sk = || StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]).unwrap();
    let mut host = Scp03Host::new(sk(), 0x30, [1; 8]);
    let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [2; 8]);
    let (mut c, mut r) = ([0u8; 64], [0u8; 64]);
    let n = host.initialize_update_command(&mut c).unwrap();
    let m = card.initialize_update(&c[..n], &mut r).unwrap();
    let n = host
        .external_authenticate_command(&r[..m], SecurityLevel::ALL, &mut c)
        .unwrap();
    let card = card.external_authenticate(&c[..n]).unwrap();
    (host.finish(&[0x90, 0x00]).unwrap(), card)
}
