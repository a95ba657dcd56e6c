//! Tampering and replay. Flipping any single bit of a protected response never yields plain
//! data: a bit in an authenticated byte or in the MAC gives `MacMismatch`; a bit in the
//! framing (a tag, a length, the trailing status word) gives a typed structural error. Either
//! way the session is failed afterwards (`SessionFailed`), and the output buffer is untouched.
//! A replayed response or command is rejected because the counter (SSC, or SCP03's MAC
//! chaining value) moved on.
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
use cardwire_sm::{AesSuite, CipherSuite, Error, SmSession, TdesSuite};
use common::hex;

/// A host and card pair after one command, with the card's protected response.
fn iso_setup<S: CipherSuite>(make: &dyn Fn() -> S, ssc: &[u8]) -> (SmSession<S>, Vec<u8>) {
    let mut host = SmSession::host(make(), ssc).unwrap();
    let mut card = SmSession::card(make(), ssc).unwrap();
    let mut wire = [0u8; 512];
    let mut plain = [0u8; 512];
    let n = host.wrap_command(&hex("00B0000020"), &mut wire).unwrap();
    card.unwrap_command(&wire[..n], &mut plain).unwrap();
    let n = card
        .wrap_response(&[0x42; 0x20], StatusWord::SUCCESS, &mut wire)
        .unwrap();
    (host, wire[..n].to_vec())
}

fn flip_every_bit_iso<S: CipherSuite>(name: &str, make: &dyn Fn() -> S, ssc: &[u8]) {
    let (_, response) = iso_setup(make, ssc);
    // Layout: 87 L 01 cryptogram.. 99 02 90 00 8E 08 mac.. 90 00
    let mac_at = response.len() - 2 - 10;
    for bit in 0..response.len() * 8 {
        let (mut host, mut tampered) = iso_setup(make, ssc);
        tampered[bit / 8] ^= 1 << (bit % 8);
        let mut out = [0u8; 512];
        let result = host.unwrap_response(&tampered, &mut out);
        let byte = bit / 8;
        let authenticated_value =
            (3..mac_at).contains(&byte) && byte != mac_at - 4 && byte != mac_at - 3;
        match result {
            Ok(_) => panic!("{name}: bit {bit} flipped and the response was accepted"),
            Err(Error::MacMismatch) => {}
            Err(e) => assert!(
                !authenticated_value && !(mac_at + 2..mac_at + 10).contains(&byte),
                "{name}: bit {bit} (byte {byte}) gave {e:?}, not a MAC error"
            ),
        }
        if authenticated_value || (mac_at + 2..mac_at + 10).contains(&byte) {
            assert_eq!(result, Err(Error::MacMismatch), "{name}: bit {bit}");
        }
        assert!(
            out.iter().all(|b| *b == 0),
            "{name}: bit {bit}: data leaked"
        );
        assert!(host.is_failed());
        let mut wire = [0u8; 64];
        assert_eq!(
            host.wrap_command(&hex("00B0000001"), &mut wire),
            Err(Error::SessionFailed)
        );
    }
}

#[test]
fn iso_single_bit_flips_are_rejected_for_every_suite() {
    flip_every_bit_iso(
        "3DES",
        &|| TdesSuite::new(&[1; 16], &[2; 16]).unwrap(),
        &[0; 8],
    );
    flip_every_bit_iso(
        "AES-128",
        &|| AesSuite::new(&[1; 16], &[2; 16]).unwrap(),
        &[0; 16],
    );
    flip_every_bit_iso(
        "AES-256",
        &|| AesSuite::new(&[1; 32], &[2; 32]).unwrap(),
        &[0; 16],
    );
}

#[test]
fn iso_replayed_response_and_command_are_rejected() {
    let make = || AesSuite::new(&[1; 16], &[2; 16]).unwrap();
    let mut host = SmSession::host(make(), &[0; 16]).unwrap();
    let mut card = SmSession::card(make(), &[0; 16]).unwrap();
    let (mut wire, mut plain) = ([0u8; 256], [0u8; 256]);
    let n = host.wrap_command(&hex("00B0000004"), &mut wire).unwrap();
    let first_cmd = wire[..n].to_vec();
    card.unwrap_command(&first_cmd, &mut plain).unwrap();
    let n = card
        .wrap_response(&[1, 2, 3, 4], StatusWord::SUCCESS, &mut wire)
        .unwrap();
    let first_rsp = wire[..n].to_vec();
    host.unwrap_response(&first_rsp, &mut plain).unwrap();
    // Next command; the attacker answers with the old response.
    host.wrap_command(&hex("00B0000004"), &mut wire).unwrap();
    assert_eq!(
        host.unwrap_response(&first_rsp, &mut plain),
        Err(Error::MacMismatch)
    );
    // The card sees the old command again.
    assert_eq!(
        card.unwrap_command(&first_cmd, &mut plain),
        Err(Error::MacMismatch)
    );
    assert_eq!(Error::MacMismatch.card_status(), StatusWord(0x6988));
    assert!(card.is_failed());
}

#[test]
fn iso_bare_status_word_is_an_error_not_data() {
    let (mut host, _) = iso_setup(&|| TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]);
    let mut out = [0u8; 16];
    assert_eq!(
        host.unwrap_response(&hex("6988"), &mut out),
        Err(Error::UnprotectedStatus {
            sw: StatusWord(0x6988)
        })
    );
    assert!(host.is_failed());
}

#[test]
fn iso_malformed_responses_are_typed_errors() {
    let make = || TdesSuite::new(&[1; 16], &[2; 16]).unwrap();
    type Check = fn(&Error) -> bool;
    let cases: [(&str, Check); 6] = [
        ("8E0800000000000000009000", |e| {
            matches!(e, Error::MissingObject { tag: 0x99 })
        }),
        ("990290009000", |e| {
            matches!(e, Error::MissingObject { tag: 0x8E })
        }),
        ("99029000990290008E0800000000000000009000", |e| {
            matches!(e, Error::DuplicateObject { .. })
        }),
        ("8E08000000000000000099029000 9000", |e| {
            matches!(e, Error::MisorderedObject { .. })
        }),
        ("99039000008E0800000000000000009000", |e| {
            matches!(e, Error::MacMismatch)
        }),
        ("9902908E0800000000000000009000", |e| {
            matches!(
                e,
                Error::MalformedObject { .. } | Error::UnexpectedObject { .. }
            )
        }),
    ];
    for (rsp, ok) in cases {
        let (mut host, _) = iso_setup(&make, &[0; 8]);
        let err = host.unwrap_response(&hex(rsp), &mut [0u8; 64]).unwrap_err();
        assert!(ok(&err), "{rsp}: {err:?}");
        assert!(host.is_failed());
    }
}

fn scp03_setup(level: SecurityLevel) -> (Scp03Session, Vec<u8>) {
    let sk = || StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]).unwrap();
    let mut host = Scp03Host::new(sk(), 0x30, [1; 8]);
    let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [2; 8]);
    let (mut cmd, mut rsp) = ([0u8; 128], [0u8; 128]);
    let n = host.initialize_update_command(&mut cmd).unwrap();
    let m = card.initialize_update(&cmd[..n], &mut rsp).unwrap();
    let n = host
        .external_authenticate_command(&rsp[..m], level, &mut cmd)
        .unwrap();
    let mut card = card.external_authenticate(&cmd[..n]).unwrap();
    let mut host = host.finish(&[0x90, 0x00]).unwrap();
    let n = host.wrap_command(&hex("80CA006600"), &mut cmd).unwrap();
    card.unwrap_command(&cmd[..n], &mut rsp).unwrap();
    let m = card
        .wrap_response(&[0x66; 20], StatusWord::SUCCESS, &mut rsp)
        .unwrap();
    (host, rsp[..m].to_vec())
}

#[test]
fn scp03_single_bit_flips_are_rejected() {
    for level in [SecurityLevel::C_MAC_R_MAC, SecurityLevel::ALL] {
        let (_, response) = scp03_setup(level);
        for bit in 0..response.len() * 8 {
            let (mut host, mut tampered) = scp03_setup(level);
            tampered[bit / 8] ^= 1 << (bit % 8);
            let mut out = [0u8; 128];
            let result = host.unwrap_response(&tampered, &mut out);
            let sw =
                u16::from_be_bytes([tampered[tampered.len() - 2], tampered[tampered.len() - 1]]);
            let still_success = sw == 0x9000 || sw >> 8 == 0x62 || sw >> 8 == 0x63;
            if still_success {
                assert_eq!(result, Err(Error::MacMismatch), "level {level:?} bit {bit}");
            } else {
                // An error status carries no R-MAC, so data beside it is malformed.
                assert!(
                    matches!(result, Err(Error::LengthMismatch { .. })),
                    "bit {bit}: {result:?}"
                );
            }
            assert!(
                out.iter().all(|b| *b == 0),
                "bit {bit}: data left in the buffer"
            );
            assert!(host.is_failed());
        }
    }
}

#[test]
fn scp03_replayed_response_is_rejected() {
    let (mut host, response) = scp03_setup(SecurityLevel::C_MAC_R_MAC);
    let mut out = [0u8; 128];
    host.unwrap_response(&response, &mut out).unwrap();
    let mut cmd = [0u8; 64];
    host.wrap_command(&hex("80CA006600"), &mut cmd).unwrap();
    assert_eq!(
        host.unwrap_response(&response, &mut out),
        Err(Error::MacMismatch)
    );
}

#[test]
fn scp03_sm_error_status_closes_the_host_at_every_level() {
    // A card that refuses a command's secure messaging answers a bare 6987/6988 and closes
    // its side (ISO/IEC 7816-4 Table 6): the host's side closes too, even at C-MAC only,
    // where bare statuses are otherwise the normal answer.
    for level in [
        SecurityLevel::C_MAC,
        SecurityLevel::C_DEC_C_MAC,
        SecurityLevel::C_MAC_R_MAC,
        SecurityLevel::ALL,
    ] {
        for sw in [0x6987u16, 0x6988] {
            let (mut host, response) = scp03_setup(level);
            let mut out = [0u8; 128];
            host.unwrap_response(&response, &mut out).unwrap();
            let mut cmd = [0u8; 64];
            host.wrap_command(&hex("00D6000002AABB"), &mut cmd).unwrap();
            assert_eq!(
                host.unwrap_response(&sw.to_be_bytes(), &mut out),
                Err(Error::UnprotectedStatus { sw: StatusWord(sw) }),
                "level {level:?}"
            );
            assert!(host.is_failed());
        }
        // Any other error status stays an answer.
        let (mut host, response) = scp03_setup(level);
        let mut out = [0u8; 128];
        host.unwrap_response(&response, &mut out).unwrap();
        let mut cmd = [0u8; 64];
        host.wrap_command(&hex("00D6000002AABB"), &mut cmd).unwrap();
        assert_eq!(host.unwrap_response(&[0x6A, 0x82], &mut out), Ok(2));
        assert_eq!(&out[..2], &[0x6A, 0x82]);
        assert!(!host.is_failed());
    }
}
