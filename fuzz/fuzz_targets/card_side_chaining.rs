//! The card-side exchange fed random wire APDUs and random application answers: never panics,
//! always answers within the response buffer, and a reassembled command never exceeds the
//! chaining buffer.
#![no_main]

use cardwire_apdu::card::{CardExchange, Incoming};
use cardwire_apdu::{Response, StatusWord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut card = CardExchange::new([0u8; 600]);
    let mut rsp = [0u8; 258];
    let mut rest = data;
    // Each step: a length byte, then that many bytes of wire command, then one byte saying how
    // much response data the application produces (times 7).
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (apdu, tail) = tail.split_at(n);
        let (answer_len, tail) = match tail.split_first() {
            Some((&a, t)) => (usize::from(a) * 7, t),
            None => (0, tail),
        };
        rest = tail;
        let written = match card.receive(apdu, &mut rsp) {
            Incoming::Answered(w) => w,
            Incoming::Command(cmd) => {
                assert!(cmd.data.len() <= 600.max(apdu.len()));
                let ne = cmd.ne;
                let reply = vec![0xA5u8; answer_len];
                match card.respond(&reply, StatusWord::SUCCESS, ne, &mut rsp) {
                    Ok(w) => w,
                    Err(_) => continue,
                }
            }
        };
        assert!(written <= rsp.len());
        assert!(
            Response::new_checked(&rsp[..written]).is_ok(),
            "every answer is a response APDU"
        );
    }
});
