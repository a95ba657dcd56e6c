//! Random APDU streams against the virtual card's PIV application (`cardwire-vcard`).
//!
//! The input is a list of operations: a raw APDU (length byte, then that many bytes), a
//! correct VERIFY, a reset, SELECT PIV, a signature request for a key slot with a
//! fuzzer-chosen digest, or a card management key witness request (so the fuzzer reaches the
//! keys and the 9B protocol quickly). After every operation it checks:
//! - nothing panics (the card answers every command with a status word);
//! - the PIN retry counter never increases unless a VERIFY or RESET RETRY COUNTER just
//!   answered `9000`;
//! - no key is used without the PIN: a GENERAL AUTHENTICATE with 9A or 9D answers data only
//!   with the PIN verified, 9C only when a successful VERIFY came after its last use ("PIN
//!   always"); 9E needs nothing;
//! - no PUT DATA or GENERATE without the management key: the fuzzer cannot answer the card's
//!   random witness, so the card never counts it authenticated, no object or key changes and
//!   neither command ever completes with `9000`;
//! - the management key's failed-authentication counter never rises, drops by one only when
//!   a GENERAL AUTHENTICATE answers `6982` or `6983`, and once it is 0 no 9B GENERAL
//!   AUTHENTICATE answers `9000` or `61xx` again.
#![no_main]

use std::sync::OnceLock;

use cardwire_piv::{ObjectId, Slot};
use cardwire_transport::CardHandler;
use cardwire_vcard::verifier::Cost;
use cardwire_vcard::{Seed, VirtualCard};
use libfuzzer_sys::fuzz_target;

fn template() -> &'static VirtualCard {
    static CARD: OnceLock<VirtualCard> = OnceLock::new();
    // The cheapest Argon2id cost: every VERIFY hashes, and the fuzzer sends many.
    CARD.get_or_init(|| {
        VirtualCard::new_with_pin_cost(&Seed::DEFAULT, Cost::TEST_ONLY_MINIMAL)
            .expect("the reference card builds")
    })
}

const VERIFY_OK: [u8; 13] = [
    0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
];
const SELECT_PIV: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00,
];
const SLOTS: [Slot; 4] = [Slot(0x9A), Slot(0x9C), Slot(0x9D), Slot(0x9E)];

fn sw_of(rsp: &[u8], n: usize) -> u16 {
    match n.checked_sub(2).and_then(|i| rsp.get(i..n)) {
        Some([a, b]) => u16::from_be_bytes([*a, *b]),
        _ => panic!("the card answered {n} bytes, no status word"),
    }
}

/// Everything PUT DATA and GENERATE could change.
fn snapshot(card: &VirtualCard) -> Vec<Option<Vec<u8>>> {
    let mut out: Vec<Option<Vec<u8>>> = cardwire_vcard::piv::OBJECTS
        .iter()
        .map(|o: &ObjectId| card.piv_object(*o))
        .collect();
    for slot in SLOTS.iter().chain([Slot(0x9B)].iter()) {
        out.push(card.piv_key_fingerprint(*slot).map(|f| f.to_vec()));
    }
    out
}

/// A GENERAL AUTHENTICATE signature request for `slot` with `input` (256 bytes for the RSA
/// key in 9A, 32 for the P-256 keys).
fn sign_request(slot: Slot, seed: &[u8]) -> Vec<u8> {
    let (alg, len) = if slot == Slot(0x9A) { (0x07, 256) } else { (0x11, 32) };
    let mut input = vec![0u8; len];
    for (i, b) in input.iter_mut().enumerate() {
        *b = seed.get(i % seed.len().max(1)).copied().unwrap_or(0x5A);
    }
    if len == 256 {
        input[0] = 0x00; // below the modulus
    }
    let mut t = vec![0x82, 0x00, 0x81];
    if len > 127 {
        t.extend_from_slice(&[0x82, 0x01, 0x00]);
    } else {
        t.push(len as u8);
    }
    t.extend_from_slice(&input);
    let mut body = vec![0x7C];
    if t.len() > 255 {
        body.extend_from_slice(&[0x82, (t.len() >> 8) as u8, t.len() as u8]);
    } else if t.len() > 127 {
        body.extend_from_slice(&[0x81, t.len() as u8]);
    } else {
        body.push(t.len() as u8);
    }
    body.extend_from_slice(&t);
    // Extended length when the data does not fit a short APDU.
    let mut apdu = vec![0x00, 0x87, alg, slot.0];
    if body.len() > 255 {
        apdu.extend_from_slice(&[0x00, (body.len() >> 8) as u8, body.len() as u8]);
        apdu.extend_from_slice(&body);
        apdu.extend_from_slice(&[0x00, 0x00]);
    } else {
        apdu.push(body.len() as u8);
        apdu.extend_from_slice(&body);
        apdu.push(0x00);
    }
    apdu
}

fuzz_target!(|data: &[u8]| {
    let mut card = template().duplicate();
    card.power_on();
    let before = snapshot(&card);
    let mut rsp = vec![0u8; 4096];
    let mut verified = false;
    let mut pin_always = false;
    let mut rest = data;
    let mut ops = 0;
    while let [op, tail @ ..] = rest {
        ops += 1;
        if ops > 48 {
            break;
        }
        let tries_before = card.pin_tries_left();
        let mgmt_before = card.management_tries_left();
        let (apdu, tail): (Vec<u8>, &[u8]) = match op % 10 {
            0..=4 => {
                let Some((&len, tail)) = tail.split_first() else { break };
                let len = usize::from(len).min(tail.len());
                (tail[..len].to_vec(), &tail[len..])
            }
            5 => (VERIFY_OK.to_vec(), tail),
            6 => {
                card.reset();
                verified = false;
                pin_always = false;
                rest = tail;
                continue;
            }
            7 => (SELECT_PIV.to_vec(), tail),
            8 => {
                let Some((&which, tail)) = tail.split_first() else { break };
                let take = tail.len().min(8);
                (
                    sign_request(SLOTS[usize::from(which) % SLOTS.len()], &tail[..take]),
                    &tail[take..],
                )
            }
            _ => (vec![0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00, 0x00], tail),
        };
        rest = tail;
        let n = card.process(&apdu, &mut rsp);
        let sw = sw_of(&rsp, n);
        let data_returned = n > 2;
        if let Ok(cmd) = cardwire_apdu::Command::new_checked(&apdu[..]) {
            let (p1, p2) = (cmd.p1(), cmd.p2());
            let refused = sw >> 4 == 0x63C || sw == 0x6983;
            let last_link = !cmd.cla().chaining();
            let plain = cmd.cla().0 & 0x0C == 0 && cmd.cla().0 & 0x80 == 0;
            match cmd.ins().0 {
                0x20 if last_link && p2 == 0x80 && p1 == 0x00 && sw == 0x9000 => {
                    // An empty VERIFY only reports the state.
                    if !cmd.data().is_empty() {
                        pin_always = true;
                    }
                    verified = true;
                }
                0x20 if last_link && p2 == 0x80 && p1 == 0x00 && refused => {
                    verified = false;
                    pin_always = false;
                }
                0x20 if last_link && p2 == 0x80 && p1 == 0xFF && sw == 0x9000 => {
                    verified = false;
                    pin_always = false;
                }
                0x24 if last_link && p2 == 0x80 && refused => {
                    verified = false;
                    pin_always = false;
                }
                0x87 if last_link && plain && (sw == 0x9000 || sw >> 8 == 0x61) && data_returned => {
                    match p2 {
                        0x9A | 0x9D => assert!(verified, "{p2:02X} used without the PIN: {apdu:02X?}"),
                        0x9C => {
                            assert!(verified && pin_always, "9C used without a fresh VERIFY: {apdu:02X?}");
                            pin_always = false;
                        }
                        _ => {}
                    }
                }
                0xDB | 0x47 if last_link => {
                    assert_ne!(sw, 0x9000, "PUT DATA / GENERATE without the management key: {apdu:02X?}");
                    assert!(sw >> 8 != 0x61, "GENERATE answered without the management key: {apdu:02X?}");
                }
                _ => {}
            }
        }
        // The PIN counter never goes up without a successful verification.
        let tries_after = card.pin_tries_left();
        if tries_after > tries_before {
            let ins = apdu.get(1).copied().unwrap_or(0);
            assert!(
                matches!(ins, 0x20 | 0x2C) && sw == 0x9000,
                "PIN counter rose {tries_before} -> {tries_after} after {apdu:02X?} answered {sw:04X}"
            );
        }
        let mgmt_after = card.management_tries_left();
        if mgmt_after != mgmt_before {
            let ins = apdu.get(1).copied().unwrap_or(0);
            assert!(
                mgmt_after + 1 == mgmt_before && ins == 0x87 && matches!(sw, 0x6982 | 0x6983),
                "9B counter {mgmt_before} -> {mgmt_after} after {apdu:02X?} answered {sw:04X}"
            );
        }
        // A whole, plain GENERAL AUTHENTICATE of 9B (a chained link answers 9000 before it).
        let whole_plain = apdu.first().is_some_and(|&cla| cla & 0x9C == 0);
        if mgmt_before == 0 && whole_plain && apdu.get(1) == Some(&0x87) && apdu.get(3) == Some(&0x9B) {
            assert!(sw != 0x9000 && sw >> 8 != 0x61, "blocked 9B answered {sw:04X} to {apdu:02X?}");
        }
        assert!(!card.piv_admin(), "the management key counted as authenticated after {apdu:02X?}");
        assert_eq!(card.is_pin_verified(), verified, "verification state after {apdu:02X?}");
    }
    assert!(snapshot(&card) == before, "an object or key changed without the management key");
});
