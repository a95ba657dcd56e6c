//! The CCID reader engine under random host messages, card bytes, keys, card movements,
//! aborts and time: it never panics, echoes `bSeq` (and `bSlot`) in every response, never
//! sends two final responses for one message, never answers a message it was not sent, and
//! — once the host stops and time runs on — answers every message it was sent, so nothing
//! hangs. Half the inputs put a simulated T=1 card (cardwire-link's card side) on the line so
//! that power-on, PPS and XfrBlock run deep; the others feed the card bytes from the input.
#![no_main]

use std::collections::HashMap;

use cardwire_ccid::descriptor::{ExchangeLevel, ReaderDescriptor};
use cardwire_ccid::engine::{Key, Reader, ReaderConfig};
use cardwire_ccid::message::{Message, Response};
use cardwire_ccid::sim::SimCard;
use cardwire_link::Instant;
use libfuzzer_sys::fuzz_target;

const ATR: [u8; 13] = [
    0x3B, 0x95, 0x96, 0x81, 0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F, 0x50, 0x34, 0x2A,
];
const TYPES: [u8; 15] = [
    0x62, 0x63, 0x65, 0x6F, 0x6C, 0x6D, 0x61, 0x6B, 0x6E, 0x6A, 0x69, 0x71, 0x72, 0x73, 0x99,
];

struct Harness {
    r: Reader<600>,
    card: Option<SimCard<600>>,
    now: u64,
    /// seq → (slot, final responses seen)
    sent: HashMap<u8, (u8, u32)>,
}

fn app(cmd: &[u8], rsp: &mut [u8]) -> usize {
    cardwire_link::sim::echo_card(cmd, rsp)
}

impl Harness {
    fn drain(&mut self) {
        let now = Instant(self.now);
        for _ in 0..64 {
            let mut moved = false;
            while let Some(req) = self.r.poll_line() {
                if let Some(card) = &mut self.card {
                    card.handle_line(req);
                }
                moved = true;
            }
            let mut buf = [0u8; 700];
            while let Some(n) = self.r.poll_card_transmit(&mut buf) {
                if let Some(card) = &mut self.card {
                    card.handle_input(now, &buf[..n], &mut app);
                }
                moved = true;
            }
            if let Some(card) = &mut self.card {
                while let Some(n) = card.poll_transmit(&mut buf) {
                    self.r.handle_card_input(now, &buf[..n]);
                    moved = true;
                }
            }
            while let Some(bytes) = self.r.poll_response(&mut buf) {
                let msg = Message::new_checked(bytes).expect("a whole message");
                let rsp = Response::parse(&msg).expect("a valid bulk-IN message");
                let entry = self
                    .sent
                    .get_mut(&msg.seq())
                    .expect("a response to a message that was sent");
                assert_eq!(entry.0, msg.slot(), "bSlot echoed");
                let te = rsp.status().command().0 == 2;
                if !te {
                    entry.1 += 1;
                    assert_eq!(entry.1, 1, "two final responses for one message");
                }
                moved = true;
            }
            let _ = self.r.poll_interrupt();
            if !moved {
                break;
            }
        }
    }

    fn pending(&self) -> bool {
        self.sent.values().any(|&(_, n)| n == 0)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let exchange = match sel % 3 {
        0 => ExchangeLevel::Tpdu,
        1 => ExchangeLevel::ShortApdu,
        _ => ExchangeLevel::ExtendedApdu,
    };
    let cfg = ReaderConfig {
        descriptor: ReaderDescriptor {
            exchange,
            pin_support: (sel >> 2) & 3,
            ..ReaderDescriptor::default()
        },
        ..ReaderConfig::default()
    };
    let mut h = Harness {
        r: Reader::new(cfg),
        card: if sel & 0x80 != 0 {
            Some(SimCard::new(&ATR).expect("a valid ATR"))
        } else {
            None
        },
        now: 0,
        sent: HashMap::new(),
    };
    h.r.card_inserted(Instant(0));
    let mut seq: u8 = 0;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let take = |rest: &mut &[u8], n: usize| -> Vec<u8> {
            let n = n.min(rest.len());
            let (a, b) = rest.split_at(n);
            *rest = b;
            a.to_vec()
        };
        match op & 7 {
            0 | 1 => {
                if seq == u8::MAX {
                    break;
                }
                let body = take(&mut rest, usize::from(op >> 3));
                let ty = TYPES[usize::from(body.first().copied().unwrap_or(0)) % TYPES.len()];
                let slot = u8::from(op & 1 == 1 && body.get(1) == Some(&0xFF));
                let payload = body.get(2..).unwrap_or(&[]);
                let mut msg = vec![ty];
                msg.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                msg.push(slot);
                msg.push(seq);
                // The three specific bytes come from the input when there are enough, so
                // that both valid and RFU-breaking headers occur.
                let spec = body.get(1..4).map(|s| s.to_vec()).unwrap_or(vec![0, 0, 0]);
                msg.extend_from_slice(&spec);
                msg.extend_from_slice(payload);
                h.sent.insert(seq, (slot, 0));
                seq += 1;
                h.r.handle_message(Instant(h.now), &msg);
            }
            2 => {
                let bytes = take(&mut rest, usize::from(op >> 3));
                h.r.handle_card_input(Instant(h.now), &bytes);
            }
            3 => {
                h.now += u64::from(op >> 3) * 50_000;
                if h.r.poll_timeout().is_some_and(|t| t.0 <= h.now) {
                    h.r.handle_timeout(Instant(h.now));
                }
            }
            4 => {
                let key = match op >> 3 {
                    k @ 0..=9 => Key::Digit(k),
                    10 => Key::Enter,
                    11 => Key::Cancel,
                    12 => Key::Clear,
                    13 => Key::Backspace,
                    k => Key::Digit(k),
                };
                h.r.handle_key(Instant(h.now), key);
            }
            5 => {
                if op & 0x08 != 0 {
                    h.r.card_removed(Instant(h.now));
                } else {
                    h.r.card_inserted(Instant(h.now));
                }
            }
            6 => {
                if seq < u8::MAX {
                    h.r.handle_control_abort(Instant(h.now), 0, seq);
                }
            }
            _ => {
                // A message shorter than a header: no answer allowed.
                let bytes = take(&mut rest, usize::from(op >> 3) % 10);
                h.r.handle_message(Instant(h.now), &bytes);
            }
        }
        h.drain();
    }
    // The host stops; time runs on: every message must be answered.
    for _ in 0..100_000 {
        h.drain();
        if !h.pending() {
            break;
        }
        let t =
            h.r.poll_timeout()
                .expect("a reader with an unanswered message always has a deadline");
        h.now = h.now.max(t.0);
        h.r.handle_timeout(Instant(h.now));
    }
    assert!(!h.pending(), "a message was never answered");
});
