//! The tracing transport over real PIN commands: the PIN digits appear nowhere in its output.
#![cfg(test)]

mod common;

use cardwire_apdu::exchange::Capabilities;
use cardwire_pin::{Pin, PinHost, PinOutcome, PinSpec};
use cardwire_transport::{Card, FmtSink, InProcess, Traced};
use common::TestCard;

/// Every way the digits of `pin` could show up in a trace: ASCII, hex of the ASCII bytes
/// (spaced or not), hex of BCD.
fn leaks(log: &str, pin: &[u8]) -> Vec<String> {
    let ascii = String::from_utf8(pin.to_vec()).unwrap();
    let hex_spaced: Vec<String> = pin.iter().map(|b| format!("{b:02X}")).collect();
    let candidates = [
        ascii,
        hex_spaced.join(" "),
        hex_spaced.join(""),
        hex_spaced.join(" ").to_lowercase(),
        hex_spaced.join("").to_lowercase(),
    ];
    candidates
        .into_iter()
        .filter(|c| log.contains(c.as_str()))
        .collect()
}

#[test]
fn verify_change_and_unblock_are_redacted() {
    let mut log = String::new();
    {
        let transport = Traced::new(
            InProcess::new(TestCard::new(b"135792", b"86420864")),
            FmtSink(&mut log),
        );
        let mut card = Card::with_capabilities(transport, Capabilities::SHORT);
        let mut host = PinHost::new();
        let spec = PinSpec::PIV_APPLICATION_PIN;
        assert_eq!(
            host.verify(&mut card, &spec, &Pin::new(b"975319").unwrap())
                .unwrap(),
            PinOutcome::WrongPin { retries_left: 2 }
        );
        assert_eq!(
            host.verify(&mut card, &spec, &Pin::new(b"135792").unwrap())
                .unwrap(),
            PinOutcome::Verified
        );
        host.change(
            &mut card,
            &spec,
            Some(&Pin::new(b"135792").unwrap()),
            &Pin::new(b"246813").unwrap(),
        )
        .unwrap();
        host.reset_retry_counter(
            &mut card,
            &spec,
            &PinSpec::PIV_PUK,
            Some(&Pin::new(b"86420864").unwrap()),
            Some(&Pin::new(b"579135").unwrap()),
        )
        .unwrap();
    }
    assert!(
        log.contains("VERIFY"),
        "the trace shows the commands:\n{log}"
    );
    assert!(log.contains("<PIN redacted>"), "{log}");
    assert!(
        log.contains("63C2"),
        "the status words stay visible:\n{log}"
    );
    for secret in [&b"975319"[..], b"135792", b"246813", b"86420864", b"579135"] {
        assert_eq!(leaks(&log, secret), Vec::<String>::new(), "leak in:\n{log}");
    }
}
