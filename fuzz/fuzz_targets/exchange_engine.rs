//! The host exchange engine against a card that answers at random: never panics, never loops
//! without bound, never writes past the caller's buffer, and always ends (Done or an error).
#![no_main]

use cardwire_apdu::exchange::{Capabilities, Exchange, Limits, Step};
use cardwire_apdu::{Cla, CommandRepr, Ins, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Some((&size, mut script)) = rest.split_first() else {
        return;
    };
    let caps = match sel % 4 {
        0 => Capabilities::SHORT,
        1 => Capabilities::SHORT_CHAINING,
        2 => Capabilities {
            max_command_data: 100,
            ..Capabilities::EXTENDED
        },
        _ => Capabilities {
            get_response_after_warning: true,
            ..Capabilities::SHORT_CHAINING
        },
    };
    let payload = vec![0x5A; usize::from(size) * 3];
    let ne = match (sel >> 2) % 4 {
        0 => 0,
        1 => 256,
        2 => 65_536,
        _ => u32::from(size) + 1,
    };
    let cla = Cla(sel & 0xF3 & !0x80);
    let cmd = CommandRepr::new(cla, Ins::PERFORM_SECURITY_OPERATION, 0x9E, 0x9A)
        .with_data(&payload)
        .with_ne(ne);
    // A response buffer with a canary after the part the engine may use.
    let capacity = 2 + usize::from(sel) * 4;
    let mut buf = vec![0xEEu8; capacity + 16];
    let (out, canary) = buf.split_at_mut(capacity);
    let limits = Limits {
        max_get_response: 40,
        max_resend: 3,
    };
    let Ok(mut ex) = Exchange::with_limits(cmd, caps, limits, out) else {
        return;
    };
    let mut tx = vec![0u8; 70_000];
    let mut rounds = 0u32;
    let done = loop {
        rounds += 1;
        // Chaining (3 * 255 / 100 links at most) + GET RESPONSE (40) + re-sends (3), plus slack.
        assert!(rounds < 100, "engine did not stop");
        let wire = ex
            .poll_transmit(&mut tx)
            .expect("poll_transmit while running");
        assert!(
            cardwire_apdu::Command::new_checked(wire).is_ok(),
            "engine sent a malformed APDU"
        );
        // The card's answer: a length byte then that many bytes from the script.
        let Some((&n, tail)) = script.split_first() else {
            return;
        };
        let n = usize::from(n).min(tail.len());
        let (answer, tail) = tail.split_at(n);
        script = tail;
        match ex.handle_response(answer) {
            Ok(Step::Continue) => {}
            Ok(Step::Done(d)) => break d,
            Err(_) => {
                assert!(
                    ex.poll_transmit(&mut tx).is_err(),
                    "engine runs on after an error"
                );
                return;
            }
        }
    };
    drop(ex);
    assert!(done.len <= capacity);
    assert!(Response::new_checked(&out[..done.len]).is_ok());
    assert!(
        canary.iter().all(|&b| b == 0xEE),
        "wrote past the response buffer"
    );
});
