//! The T=0 reader engine against a random card: never panics, always has a deadline while it
//! waits, and ends once the card falls silent.
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
    let mut t0: T0<70000> = T0::new(T0Config {
        max_nulls: 100,
        max_get_response: 8,
        ..T0Config::default()
    });
    let mut now = Instant(0);
    let mut buf = [0u8; 300];
    if t0.start(now, &apdu).is_err() {
        return;
    }
    loop {
        while t0.poll_transmit(&mut buf).is_some() {}
        match t0.poll_event() {
            Some(T0Event::Response { .. }) => {
                if rest.is_empty() {
                    return;
                }
                let _ = t0.start(now, &apdu);
                continue;
            }
            Some(T0Event::Failed(_)) => return,
            None => {}
        }
        let Some(deadline) = t0.poll_timeout() else {
            panic!("a waiting engine always has a deadline")
        };
        match rest.split_first() {
            Some((&len, tail)) => {
                let n = usize::from(len % 16).min(tail.len()).max(1).min(tail.len());
                if n == 0 {
                    now = deadline;
                    t0.handle_timeout(now);
                    rest = tail;
                    continue;
                }
                let (chunk, tail) = tail.split_at(n);
                now = now.add_micros(1);
                t0.handle_input(now, chunk);
                rest = tail;
            }
            None => {
                now = deadline;
                t0.handle_timeout(now);
            }
        }
    }
});
