//! The T=1 reader engine against a random card: whatever bytes and timeouts arrive, it never
//! panics, never asks the driver to wait for ever (a deadline whenever it waits) nor past the
//! exchange deadline, ends an exchange whose deadline passed with input or a timeout
//! (`Error::DeadlineExceeded`), and ends every exchange within a bounded number of steps once
//! the card falls silent. Input bytes take virtual time, so the deadline is hit both ways.
#![no_main]

use cardwire_link::Instant;
use cardwire_link::t1::{Config, Edc, Event, MAX_BLOCK, T1};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let cfg = Config {
        ifsc: sel | 1,
        ifsd: 254,
        edc: if sel & 0x80 != 0 { Edc::CRC } else { Edc::Lrc },
        // From 0.5 s (hit after a few waits) to the 60 s default.
        exchange_deadline_micros: if sel & 0x40 != 0 {
            500_000 * u64::from(sel & 0x3F)
        } else {
            cardwire_link::DEFAULT_EXCHANGE_DEADLINE_MICROS
        },
        ..Config::default()
    };
    let mut t1: T1<600> = T1::new(cfg);
    let apdu: Vec<u8> = (0..(usize::from(sel) * 2)).map(|i| i as u8).collect();
    let mut now = Instant(0);
    let mut buf = [0u8; MAX_BLOCK];
    if t1.start(now, &apdu).is_err() {
        return;
    }
    let mut started = now;
    // Whether the last input or timeout came at or after the exchange deadline.
    let mut past = false;
    let mut silent_steps = 0u32;
    loop {
        while t1.poll_transmit(&mut buf).is_some() {}
        match t1.poll_event() {
            Some(Event::Response { .. } | Event::Failed(_)) => {
                if t1.is_dead() {
                    return;
                }
                if rest.is_empty() {
                    return;
                }
                now = now.add_micros(1);
                let _ = t1.start(now, &apdu);
                started = now;
                past = false;
                continue;
            }
            None => {}
        }
        let deadline = t1
            .poll_timeout()
            .expect("a waiting engine always has a deadline");
        assert!(
            deadline <= started.add_micros(cfg.exchange_deadline_micros),
            "the engine waits past the exchange deadline"
        );
        assert!(!past, "an exchange runs on after a call past its deadline");
        match rest.split_first() {
            Some((&len, tail)) if len & 0x80 == 0 => {
                let n = usize::from(len).min(tail.len());
                let (chunk, tail) = tail.split_at(n);
                // Bytes take time: up to the deadline, or past it when the card was slow.
                now = now.add_micros(u64::from(len) * 20_000).min(deadline);
                if len & 0x40 != 0 {
                    now = now.add_micros(1);
                }
                t1.handle_input(now, chunk);
                past = now >= started.add_micros(cfg.exchange_deadline_micros);
                rest = tail;
            }
            Some((_, tail)) => {
                now = deadline;
                t1.handle_timeout(now);
                past = now >= started.add_micros(cfg.exchange_deadline_micros);
                rest = tail;
            }
            None => {
                // A silent card: the recovery rules must end the exchange.
                silent_steps += 1;
                assert!(silent_steps < 64, "no end in sight with a silent card");
                now = deadline;
                t1.handle_timeout(now);
                past = now >= started.add_micros(cfg.exchange_deadline_micros);
            }
        }
    }
});
