//! Random APDU streams through the virtual card (`cardwire-vcard`).
//!
//! The input is a list of operations: a raw APDU (length byte, then that many bytes), a
//! correct VERIFY, a reset, or selecting the identity application (so the fuzzer reaches the
//! files and keys behind it quickly). After every operation it checks:
//! - nothing panics (the card answers every command with a status word);
//! - the PIN retry counter never increases unless a VERIFY or RESET RETRY COUNTER just
//!   answered `9000`;
//! - a successful READ BINARY / READ RECORD of a PIN-protected file happens only after a
//!   successful VERIFY since the last reset, and files that need secure messaging or an
//!   administrator channel are never read (the fuzzer cannot authenticate BAC or SCP03);
//! - a signature (PSO, INTERNAL AUTHENTICATE) is only produced with the PIN verified.
#![no_main]

use std::sync::OnceLock;

use cardwire_apdu::Cla;
use cardwire_transport::CardHandler;
use cardwire_vcard::fs::Condition;
use cardwire_vcard::personalise::IDENTITY_AID;
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

fn sw_of(rsp: &[u8], n: usize) -> u16 {
    match n.checked_sub(2).and_then(|i| rsp.get(i..n)) {
        Some([a, b]) => u16::from_be_bytes([*a, *b]),
        _ => panic!("the card answered {n} bytes, no status word"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut card = template().duplicate();
    card.power_on();
    let mut rsp = vec![0u8; 4096];
    let mut verified = false;
    let mut rest = data;
    let mut ops = 0;
    while let [op, tail @ ..] = rest {
        ops += 1;
        if ops > 64 {
            break;
        }
        let tries_before = card.pin_tries_left();
        let (apdu, tail): (Vec<u8>, &[u8]) = match op % 8 {
            0..=4 => {
                let Some((&len, tail)) = tail.split_first() else { break };
                let len = usize::from(len).min(tail.len());
                (tail[..len].to_vec(), &tail[len..])
            }
            5 => (VERIFY_OK.to_vec(), tail),
            6 => {
                card.reset();
                verified = false;
                rest = tail;
                continue;
            }
            _ => {
                let mut sel = vec![0x00, 0xA4, 0x04, 0x0C, IDENTITY_AID.len() as u8];
                sel.extend_from_slice(&IDENTITY_AID);
                (sel, tail)
            }
        };
        rest = tail;
        let n = card.process(&apdu, &mut rsp);
        let sw = sw_of(&rsp, n);
        let ins = apdu.get(1).copied().unwrap_or(0);
        let cla = apdu.first().copied().unwrap_or(0);
        // The model of the PIN's verification state, from what the card answered.
        // A link of a command chain (CLA bit 10) is only stored and answered 9000; the command
        // runs when the last link arrives. An empty VERIFY reports the state: 9000 verified,
        // 63Cx not verified.
        if let Ok(cmd) = cardwire_apdu::Command::new_checked(&apdu[..]) {
            let (p1, p2) = (cmd.p1(), cmd.p2());
            let refused = sw >> 4 == 0x63C || sw == 0x6983;
            let last_link = !cmd.cla().chaining();
            match cmd.ins().0 {
                0x20 if last_link && p2 == 0x80 && p1 == 0x00 && sw == 0x9000 => verified = true,
                0x20 if last_link && p2 == 0x80 && p1 == 0x00 && refused => verified = false,
                0x20 if last_link && p2 == 0x80 && p1 == 0xFF && sw == 0x9000 => verified = false,
                0x24 if last_link && p2 == 0x80 && refused => verified = false,
                _ => {}
            }
        }
        // The PIN counter never goes up without a successful verification.
        let tries_after = card.pin_tries_left();
        if tries_after > tries_before {
            assert!(
                matches!(ins, 0x20 | 0x2C) && sw == 0x9000,
                "PIN counter rose {tries_before} -> {tries_after} after {apdu:02X?} answered {sw:04X}"
            );
        }
        assert_eq!(card.is_pin_verified(), verified, "verification state after {apdu:02X?}");
        // Nothing readable without the right security state.
        let data_returned = n > 2;
        if matches!(ins, 0xB0 | 0xB1 | 0xB2) && data_returned && (sw == 0x9000 || sw == 0x6282 || sw >> 8 == 0x61) {
            let channel = Cla(cla).channel();
            match card.current_ef_read_condition(channel) {
                Some(Condition::Pin) => assert!(verified, "PIN-protected data read without VERIFY: {apdu:02X?}"),
                Some(Condition::SecureMessaging | Condition::Admin | Condition::Never) => {
                    panic!("protected data read without a secure channel: {apdu:02X?}")
                }
                _ => {}
            }
        }
        // A signature is 64 bytes of data (a chain link's 9000 carries none).
        if matches!(ins, 0x2A | 0x88) && sw == 0x9000 && data_returned {
            assert!(verified, "a signature without the PIN: {apdu:02X?}");
        }
    }
});
