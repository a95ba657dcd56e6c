//! Host ↔ card round trips through the engine for every cipher suite and every SCP03 security
//! level: the card sees exactly the plain command the host gave, the host exactly the plain
//! response the card gave. Property tests cover random data, INS, P1/P2 and Ne.
// Test code: a failing unwrap or index is a failing test.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use cardwire_apdu::StatusWord;
use cardwire_sm::scp03::{Scp03Card, Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
use cardwire_sm::{AesSuite, CipherSuite, SmSession, TdesSuite};
use proptest::prelude::*;

/// Encodes a plain command APDU the simple way (for the tests' inputs and expectations).
fn encode(header: [u8; 4], data: &[u8], ne: u32) -> Vec<u8> {
    let extended = data.len() > 255 || ne > 256;
    let mut v = header.to_vec();
    if !data.is_empty() {
        if extended {
            v.extend_from_slice(&[0, (data.len() >> 8) as u8, data.len() as u8]);
        } else {
            v.push(data.len() as u8);
        }
        v.extend_from_slice(data);
    }
    if ne > 0 {
        let le = if ne == 65_536 || ne == 256 && !extended {
            0
        } else {
            ne
        };
        if extended {
            if data.is_empty() {
                v.push(0);
            }
            v.extend_from_slice(&[(le >> 8) as u8, le as u8]);
        } else {
            v.push(le as u8);
        }
    }
    v
}

fn iso_pair<S: CipherSuite>(make: impl Fn() -> S, ssc: &[u8]) -> (SmSession<S>, SmSession<S>) {
    (
        SmSession::host(make(), ssc).unwrap(),
        SmSession::card(make(), ssc).unwrap(),
    )
}

fn iso_exchange<S: CipherSuite>(
    host: &mut SmSession<S>,
    card: &mut SmSession<S>,
    plain_cmd: &[u8],
    rsp_data: &[u8],
    sw: u16,
) {
    let mut wire = vec![0u8; 70_000];
    let mut plain = vec![0u8; 70_000];
    let n = host.wrap_command(plain_cmd, &mut wire).unwrap();
    let m = card.unwrap_command(&wire[..n], &mut plain).unwrap();
    assert_eq!(&plain[..m], plain_cmd, "card sees the plain command");
    let n = card
        .wrap_response(rsp_data, StatusWord(sw), &mut wire)
        .unwrap();
    assert_eq!(
        n,
        SmSession::<S>::protected_response_len(rsp_data.len(), plain_cmd[1] & 1 == 1)
    );
    let m = host.unwrap_response(&wire[..n], &mut plain).unwrap();
    assert_eq!(&plain[..m - 2], rsp_data);
    assert_eq!(&plain[m - 2..m], &sw.to_be_bytes());
    assert_eq!(host.ssc(), card.ssc());
}

/// Runs one command/response pair through a fresh host/card pair of one suite.
type SuiteRun = Box<dyn Fn(&[u8], &[u8], u16)>;

fn iso_suites() -> Vec<(&'static str, SuiteRun)> {
    fn run<S: CipherSuite>(pair: (SmSession<S>, SmSession<S>), cmd: &[u8], data: &[u8], sw: u16) {
        let (mut h, mut c) = pair;
        iso_exchange(&mut h, &mut c, cmd, data, sw);
        iso_exchange(&mut h, &mut c, cmd, data, sw);
    }
    vec![
        (
            "3DES",
            Box::new(|cmd: &[u8], data: &[u8], sw: u16| {
                run(
                    iso_pair(
                        || TdesSuite::new(&[0x11; 16], &[0x22; 16]).unwrap(),
                        &[0xFE; 8],
                    ),
                    cmd,
                    data,
                    sw,
                )
            }),
        ),
        (
            "AES-128",
            Box::new(|cmd: &[u8], data: &[u8], sw: u16| {
                run(
                    iso_pair(
                        || AesSuite::new(&[0x11; 16], &[0x22; 16]).unwrap(),
                        &[0xFE; 16],
                    ),
                    cmd,
                    data,
                    sw,
                )
            }),
        ),
        (
            "AES-192",
            Box::new(|cmd: &[u8], data: &[u8], sw: u16| {
                run(
                    iso_pair(
                        || AesSuite::new(&[0x11; 24], &[0x22; 24]).unwrap(),
                        &[0; 16],
                    ),
                    cmd,
                    data,
                    sw,
                )
            }),
        ),
        (
            "AES-256",
            Box::new(|cmd: &[u8], data: &[u8], sw: u16| {
                run(
                    iso_pair(
                        || AesSuite::new(&[0x11; 32], &[0x22; 32]).unwrap(),
                        &[7; 16],
                    ),
                    cmd,
                    data,
                    sw,
                )
            }),
        ),
    ]
}

#[test]
fn iso_every_case_every_suite() {
    let big = vec![0x5A; 1000];
    let commands = [
        encode([0x00, 0xA4, 0x04, 0x00], &[], 0),           // case 1
        encode([0x00, 0xB0, 0x00, 0x00], &[], 256),         // case 2S, Le 00
        encode([0x00, 0xB0, 0x00, 0x00], &[], 0x12),        // case 2S
        encode([0x00, 0xA4, 0x02, 0x0C], &[0x01, 0x1E], 0), // case 3S
        encode([0x00, 0x88, 0x00, 0x00], &[1; 16], 0x20),   // case 4S, block-aligned data
        encode([0x10, 0xDA, 0x01, 0x02], &[9; 200], 0),     // chaining bit, short
        encode([0x00, 0xB1, 0x00, 0x00], &[0x54, 0x02, 0x00, 0x00], 256), // odd INS: DO 85
        encode([0x00, 0xB0, 0x00, 0x00], &[], 65_536),      // case 2E
        encode([0x00, 0xD6, 0x00, 0x00], &big, 0),          // case 3E
        encode([0x00, 0x2A, 0x9E, 0x9A], &big, 4096),       // case 4E
        encode([0x43, 0xB0, 0x00, 0x00], &[], 8),           // further interindustry class
        encode([0x80, 0xCA, 0x9F, 0x7F], &[], 256),         // proprietary class
    ];
    for (name, run) in iso_suites() {
        for cmd in &commands {
            for (data, sw) in [
                (&[][..], 0x9000u16),
                (&[0xAB; 7][..], 0x9000),
                (&big[..], 0x6282),
                (&[][..], 0x6A82),
            ] {
                eprintln!("{name}: {:02X?}.. data {}", &cmd[..4], data.len());
                run(cmd, data, sw);
            }
        }
    }
}

fn scp03_pair(keys: &[u8], level: SecurityLevel) -> (Scp03Session, Scp03Session) {
    let sk = || {
        StaticKeys::new(
            keys,
            &keys.iter().map(|b| b ^ 0x55).collect::<Vec<_>>(),
            keys,
        )
        .unwrap()
    };
    let mut host = Scp03Host::new(sk(), 0x30, [3; 8]);
    let mut card = Scp03Card::new(sk(), 0x30, [0x99; 10], [4; 8]);
    let (mut cmd, mut rsp) = ([0u8; 64], [0u8; 64]);
    let n = host.initialize_update_command(&mut cmd).unwrap();
    let m = card.initialize_update(&cmd[..n], &mut rsp).unwrap();
    let n = host
        .external_authenticate_command(&rsp[..m], level, &mut cmd)
        .unwrap();
    let c = card.external_authenticate(&cmd[..n]).unwrap();
    (host.finish(&[0x90, 0x00]).unwrap(), c)
}

fn scp03_exchange(
    host: &mut Scp03Session,
    card: &mut Scp03Session,
    cmd: &[u8],
    data: &[u8],
    sw: u16,
) {
    let mut wire = vec![0u8; 70_000];
    let mut plain = vec![0u8; 70_000];
    let n = host.wrap_command(cmd, &mut wire).unwrap();
    let m = card.unwrap_command(&wire[..n], &mut plain).unwrap();
    // SCP03 does not protect Le: under C-MAC the host sends Le = 00 (0000 when the wire APDU
    // is extended), since the response grows by the R-MAC, and the card sees that maximum.
    let parsed = cardwire_apdu::CommandRepr::parse(cmd).unwrap();
    let wire_ne = cardwire_apdu::CommandRepr::parse(&wire[..n]).unwrap().ne;
    let expected = encode(
        [cmd[0], cmd[1], cmd[2], cmd[3]],
        parsed.data,
        if parsed.ne == 0 { 0 } else { wire_ne },
    );
    assert_eq!(&plain[..m], &expected[..], "card sees the plain command");
    let n = card.wrap_response(data, StatusWord(sw), &mut wire).unwrap();
    let m = host.unwrap_response(&wire[..n], &mut plain).unwrap();
    let success = sw == 0x9000 || sw >> 8 == 0x62 || sw >> 8 == 0x63;
    if success || !host.level().r_mac() {
        assert_eq!(&plain[..m - 2], data);
    } else {
        assert_eq!(m, 2, "error statuses carry no data under R-MAC");
    }
    assert_eq!(&plain[m - 2..m], &sw.to_be_bytes());
}

#[test]
fn scp03_every_level_every_key_size() {
    let big = vec![0xC3; 700];
    let commands = [
        encode([0x80, 0xF2, 0x20, 0x02], &[], 0),
        encode([0x80, 0xCA, 0x00, 0x66], &[], 256),
        encode(
            [0x80, 0xE2, 0x91, 0x00],
            &[0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A],
            0,
        ),
        encode([0x81, 0xF2, 0x80, 0x02], &[0x4F, 0x00], 256),
        encode([0x80, 0xE2, 0x90, 0x00], &big, 0),
        encode([0x00, 0xB0, 0x00, 0x00], &[], 4000),
    ];
    for keys in [&[0x40u8; 16][..], &[0x41; 24][..], &[0x42; 32][..]] {
        for level in [0x00u8, 0x01, 0x03, 0x11, 0x13, 0x33] {
            let (mut h, mut c) = scp03_pair(keys, SecurityLevel(level));
            for cmd in &commands {
                for (data, sw) in [
                    (&[][..], 0x9000u16),
                    (&[0x77; 33][..], 0x9000),
                    (&big[..], 0x6310),
                    (&[][..], 0x6A88),
                ] {
                    scp03_exchange(&mut h, &mut c, cmd, data, sw);
                }
            }
        }
    }
}

#[test]
fn scp03_rejects_invalid_levels() {
    let sk = || StaticKeys::new(&[1; 16], &[2; 16], &[3; 16]).unwrap();
    for level in [0x02u8, 0x10, 0x21, 0x31, 0x23, 0x40] {
        let mut host = Scp03Host::new(sk(), 0, [3; 8]);
        let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [4; 8]);
        let (mut cmd, mut rsp) = ([0u8; 64], [0u8; 64]);
        let n = host.initialize_update_command(&mut cmd).unwrap();
        let m = card.initialize_update(&cmd[..n], &mut rsp).unwrap();
        assert_eq!(
            host.external_authenticate_command(&rsp[..m], SecurityLevel(level), &mut cmd)
                .err(),
            Some(cardwire_sm::Error::SecurityLevel { level })
        );
    }
    assert!(StaticKeys::new(&[1; 16], &[2; 24], &[3; 16]).is_err());
}

proptest! {
    #[test]
    fn iso_random_commands_round_trip(
        ins in any::<u8>().prop_filter("not 6X/9X", |i| i >> 4 != 6 && i >> 4 != 9),
        p1 in any::<u8>(), p2 in any::<u8>(),
        data in proptest::collection::vec(any::<u8>(), 0..600),
        ne in prop_oneof![Just(0u32), 1u32..=256, 257u32..=65_536],
        rsp in proptest::collection::vec(any::<u8>(), 0..600),
        sw in any::<u16>(),
    ) {
        let cmd = encode([0x00, ins, p1, p2], &data, ne);
        for (_, run) in iso_suites() {
            run(&cmd, &rsp, sw);
        }
    }

    #[test]
    fn scp03_random_commands_round_trip(
        level in prop_oneof![Just(0x01u8), Just(0x03), Just(0x11), Just(0x13), Just(0x33)],
        data in proptest::collection::vec(any::<u8>(), 0..300),
        ne in prop_oneof![Just(0u32), 1u32..=256],
        rsp in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let (mut h, mut c) = scp03_pair(&[0x40; 16], SecurityLevel(level));
        let cmd = encode([0x80, 0xE2, 0x91, 0x00], &data, ne);
        scp03_exchange(&mut h, &mut c, &cmd, &rsp, 0x9000);
        scp03_exchange(&mut h, &mut c, &cmd, &rsp, 0x9000);
    }
}
