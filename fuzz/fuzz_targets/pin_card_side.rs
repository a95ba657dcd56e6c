//! Random VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER streams against the card-side
//! `CardPin`: the retry counters never increase without a successful verification, never
//! go above their limits, a blocked PIN stays blocked until an unblock succeeds, and the
//! saved state always restores to the same counters. Arbitrary state bytes never panic.
#![no_main]

use cardwire_apdu::Ins;
use cardwire_pin::{CardPin, CardPinConfig, Pin, PinOutcome, Secret};
use libfuzzer_sys::fuzz_target;

const PIN: &[u8] = b"123456\xFF\xFF";
const PUK: &[u8] = b"87654321";
const NEW: &[u8] = b"2468024\xFF";

fuzz_target!(|data: &[u8]| {
    let mut card = CardPin::new(
        CardPinConfig::PIV,
        Some(&Pin::new(b"123456").unwrap()),
        Some(&Pin::new(b"87654321").unwrap()),
    )
    .unwrap();
    let mut scratch = CardPin::new(CardPinConfig::PIV, None, None).unwrap();
    let _ = scratch.restore_state(data);

    let mut rest = data;
    let mut steps = 0;
    while let [op, p1, arg, tail @ ..] = rest {
        steps += 1;
        if steps > 200 {
            break;
        }
        rest = tail;
        let (op, p1, arg) = (*op, *p1, *arg);
        let secret = if op & 0x80 != 0 { Secret::Puk } else { Secret::Pin };
        let ins = match op & 0x07 {
            0 | 1 => Ins::VERIFY,
            2 | 3 => Ins::CHANGE_REFERENCE_DATA,
            4 | 5 => Ins::RESET_RETRY_COUNTER,
            _ => Ins(op),
        };
        let p1 = match p1 & 0x07 {
            0..=3 => p1 & 0x03,
            4 => 0xFF,
            _ => p1,
        };
        let admin = arg & 0x80 != 0;
        let mut buf = [0u8; 64];
        let payload: &[u8] = match arg & 0x0F {
            0 => &[],
            1 | 2 => PIN,
            3 => PUK,
            4 => NEW,
            5 | 6 => {
                buf[..8].copy_from_slice(PIN);
                buf[8..16].copy_from_slice(NEW);
                &buf[..16]
            }
            7 | 8 => {
                buf[..8].copy_from_slice(PUK);
                buf[8..16].copy_from_slice(NEW);
                &buf[..16]
            }
            _ => {
                let n = usize::from(arg >> 4).min(rest.len());
                let (taken, after) = rest.split_at(n);
                rest = after;
                taken
            }
        };

        let (before, puk_before) = (card.retries_left(), card.puk_retries_left());
        let was_blocked = card.is_blocked();
        let outcome = card.process(secret, ins, p1, payload, admin, &mut ());

        assert!(card.retries_left() <= card.retry_limit());
        assert!(card.puk_retries_left() <= 3);
        let reset_op = ins == Ins::RESET_RETRY_COUNTER;
        if card.retries_left() > before {
            assert_eq!(outcome, PinOutcome::Verified, "PIN counter rose without success");
        }
        if card.puk_retries_left() > puk_before {
            assert_eq!(outcome, PinOutcome::Verified, "PUK counter rose without success");
            assert!(reset_op || ins == Ins::VERIFY || ins == Ins::CHANGE_REFERENCE_DATA);
        }
        if was_blocked && !(reset_op && outcome == PinOutcome::Verified) {
            assert!(card.is_blocked(), "a blocked PIN came back without an unblock");
        }
        if outcome == PinOutcome::Verified && ins == Ins::VERIFY && !payload.is_empty() && secret == Secret::Pin {
            assert!(card.is_verified());
        }

        let mut state = [0u8; CardPin::STATE_MAX_LEN];
        let n = card.save_state(&mut state).unwrap();
        let mut copy = CardPin::new(CardPinConfig::PIV, None, None).unwrap();
        copy.restore_state(&state[..n]).unwrap();
        assert_eq!(copy.retries_left(), card.retries_left());
        assert_eq!(copy.puk_retries_left(), card.puk_retries_left());
        assert_eq!(copy.is_set(), card.is_set());
    }
});
