//! The T=1 reader engine against a random card: whatever bytes and timeouts arrive, it never
//! panics, never asks the driver to wait for ever (a deadline whenever it waits), and ends
//! every exchange within a bounded number of steps once the card falls silent.
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
        ..Config::default()
    };
    let mut t1: T1<600> = T1::new(cfg);
    let apdu: Vec<u8> = (0..(usize::from(sel) * 2)).map(|i| i as u8).collect();
    let mut now = Instant(0);
    let mut buf = [0u8; MAX_BLOCK];
    if t1.start(now, &apdu).is_err() {
        return;
    }
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
                continue;
            }
            None => {}
        }
        let deadline = t1
            .poll_timeout()
            .expect("a waiting engine always has a deadline");
        match rest.split_first() {
            Some((&len, tail)) if len & 0x80 == 0 => {
                let n = usize::from(len).min(tail.len());
                let (chunk, tail) = tail.split_at(n);
                t1.handle_input(now, chunk);
                rest = tail;
            }
            Some((_, tail)) => {
                now = deadline;
                t1.handle_timeout(now);
                rest = tail;
            }
            None => {
                // A silent card: the recovery rules must end the exchange.
                silent_steps += 1;
                assert!(silent_steps < 64, "no end in sight with a silent card");
                now = deadline;
                t1.handle_timeout(now);
            }
        }
    }
});
