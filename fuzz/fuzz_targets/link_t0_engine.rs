//! The T=0 reader engine against a random card: never panics, always has a deadline while it
//! waits and never one past the exchange deadline, ends an exchange whose deadline passed
//! (`Error::DeadlineExceeded`, NULL bytes included), and ends once the card falls silent.
#![no_main]

use cardwire_link::Instant;
use cardwire_link::t0::{T0, T0Config, T0Event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    // One of the four cases, short or extended (ENVELOPE when Nc > 255).
    let apdu: Vec<u8> = match sel % 6 {
        0 => vec![0x00, 0x44, 0x00, 0x00],
        1 => vec![0x00, 0xB0, 0x00, 0x00, sel],
        2 => [vec![0x00, 0xD6, 0x00, 0x00, 3], vec![1, 2, 3]].concat(),
        3 => [vec![0x00, 0x88, 0x00, 0x00, 2], vec![1, 2], vec![0x00]].concat(),
        4 => [
            vec![0x00, 0x2A, 0x00, 0x00, 0x00, 0x01, 0x2C],
            vec![7; 300],
            vec![0x00, 0x00],
        ]
        .concat(),
        _ => vec![0x00, 0xCA, 0x00, 0x00, 0x00, 0x00, 0x00],
    };
    let cfg = T0Config {
        max_nulls: 100,
        max_get_response: 8,
        // From 1 s (a few work waiting times) to the 60 s default.
        exchange_deadline_micros: if sel & 0x80 != 0 {
            1_000_000 * u64::from(sel & 0x0F)
        } else {
            cardwire_link::DEFAULT_EXCHANGE_DEADLINE_MICROS
        },
        ..T0Config::default()
    };
    let mut t0: T0<70000> = T0::new(cfg);
    let mut now = Instant(0);
    let mut buf = [0u8; 300];
    if t0.start(now, &apdu).is_err() {
        return;
    }
    let mut started = now;
    // Whether the last input or timeout came at or after the exchange deadline.
    let mut past = false;
    let limit = |started: Instant| started.add_micros(cfg.exchange_deadline_micros);
    loop {
        while t0.poll_transmit(&mut buf).is_some() {}
        match t0.poll_event() {
            Some(T0Event::Response { .. }) => {
                if rest.is_empty() {
                    return;
                }
                let _ = t0.start(now, &apdu);
                started = now;
                past = false;
                continue;
            }
            Some(T0Event::Failed(_)) => return,
            None => {}
        }
        let Some(deadline) = t0.poll_timeout() else {
            panic!("a waiting engine always has a deadline")
        };
        assert!(
            deadline <= limit(started),
            "the engine waits past the exchange deadline"
        );
        assert!(!past, "an exchange runs on after a call past its deadline");
        match rest.split_first() {
            Some((&len, tail)) => {
                let n = usize::from(len % 16).min(tail.len()).max(1).min(tail.len());
                if n == 0 {
                    now = deadline;
                    t0.handle_timeout(now);
                    past = now >= limit(started);
                    rest = tail;
                    continue;
                }
                let (chunk, tail) = tail.split_at(n);
                // Characters take time (NULL bytes too): a high length byte means a slow card,
                // up to the waiting deadline or just past it.
                now = now
                    .add_micros(1 + u64::from(len >> 4) * 100_000)
                    .min(deadline);
                if len & 0x08 != 0 {
                    now = now.add_micros(1);
                }
                t0.handle_input(now, chunk);
                past = now >= limit(started);
                rest = tail;
            }
            None => {
                now = deadline;
                t0.handle_timeout(now);
                past = now >= limit(started);
            }
        }
    }
});
