//! Round trip through host and card for any command the input describes, in every ISO suite
//! and SCP03 at security level 33: the card sees the host's plain command (same header, data
//! and Ne, or SCP03's maximal Ne), the host the card's plain response.
#![no_main]

use cardwire_apdu::CommandRepr;
use cardwire_sm::scp03::{Scp03Card, Scp03Host, SecurityLevel, StaticKeys};
use cardwire_sm::{AesSuite, SmSession, TdesSuite};
use libfuzzer_sys::fuzz_target;

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
