//! The whole PIN life cycle: host operations (`PinHost` over a `Card` session) against the
//! card-side `CardPin`, through the in-process transport.
#![cfg(test)]

mod common;

use cardwire_apdu::StatusWord;
use cardwire_apdu::exchange::Capabilities;
use cardwire_pin::{Error, HostError, Pin, PinHost, PinOutcome, PinSpec, PinState};
use cardwire_transport::{Card, InProcess};
use common::TestCard;

const PIN: PinSpec = PinSpec::PIV_APPLICATION_PIN;
const PUK: PinSpec = PinSpec::PIV_PUK;

fn pin(s: &[u8]) -> Pin {
    Pin::new(s).unwrap()
}

fn session() -> Card<InProcess<TestCard>> {
    Card::with_capabilities(
        InProcess::new(TestCard::new(b"123456", b"87654321")),
        Capabilities::SHORT,
    )
}

#[test]
fn wrong_pins_block_then_puk_unblocks_then_puk_exhaustion_blocks_for_good() {
    let mut card = session();
    let mut host = PinHost::new();

    assert_eq!(
        host.status(&mut card, PIN.reference).unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
    // Three wrong PINs: 63C2, 63C1, 6983.
    let sws: Vec<StatusWord> = [b"000000", b"111111", b"222222"]
        .iter()
        .map(|p| {
            host.verify(&mut card, &PIN, &pin(*p))
                .unwrap()
                .status_word()
        })
        .collect();
    assert_eq!(
        sws,
        [StatusWord(0x63C2), StatusWord(0x63C1), StatusWord(0x6983)]
    );
    assert_eq!(host.states().get(PIN.reference), PinState::Blocked);

    // Blocked even for the right PIN.
    assert_eq!(
        host.verify(&mut card, &PIN, &pin(b"123456")).unwrap(),
        PinOutcome::Blocked
    );
    assert_eq!(card.transport().handler().pin.retries_left(), 0);

    // Unblock with the PUK and a new PIN.
    assert_eq!(
        host.reset_retry_counter(
            &mut card,
            &PIN,
            &PUK,
            Some(&pin(b"87654321")),
            Some(&pin(b"24680"))
        )
        .err(),
        Some(HostError::Pin(Error::PinTooShort { len: 5, min: 6 })),
        "a new PIN the policy refuses is never sent"
    );
    assert_eq!(
        host.reset_retry_counter(
            &mut card,
            &PIN,
            &PUK,
            Some(&pin(b"87654321")),
            Some(&pin(b"246802"))
        )
        .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        host.states().get(PIN.reference),
        PinState::NotVerified { retries_left: None }
    );
    assert_eq!(
        host.verify(&mut card, &PIN, &pin(b"246802")).unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(host.states().get(PIN.reference), PinState::Verified);
    assert_eq!(
        host.status(&mut card, PIN.reference).unwrap(),
        PinOutcome::Verified
    );

    // Block again, then exhaust the PUK.
    for _ in 0..3 {
        host.verify(&mut card, &PIN, &pin(b"000000")).unwrap();
    }
    let wrong_puk = pin(b"00000000");
    let outcomes: Vec<PinOutcome> = (0..3)
        .map(|_| {
            host.reset_retry_counter(
                &mut card,
                &PIN,
                &PUK,
                Some(&wrong_puk),
                Some(&pin(b"999999")),
            )
            .unwrap()
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            PinOutcome::WrongPin { retries_left: 2 },
            PinOutcome::WrongPin { retries_left: 1 },
            PinOutcome::Blocked
        ]
    );
    assert_eq!(host.states().get(PUK.reference), PinState::Blocked);
    assert_eq!(host.states().get(PIN.reference), PinState::Blocked);

    // Permanently blocked: the right PUK and the right PIN both fail.
    assert_eq!(
        host.reset_retry_counter(
            &mut card,
            &PIN,
            &PUK,
            Some(&pin(b"87654321")),
            Some(&pin(b"999999"))
        )
        .unwrap(),
        PinOutcome::Blocked
    );
    assert_eq!(
        host.verify(&mut card, &PIN, &pin(b"246802")).unwrap(),
        PinOutcome::Blocked
    );
    assert!(card.transport().handler().pin.is_permanently_blocked());

    // Without the administrator's condition, RESET RETRY COUNTER P1 02 is refused (6982).
    assert_eq!(
        host.reset_retry_counter(&mut card, &PIN, &PUK, None, Some(&pin(b"999999")))
            .unwrap(),
        PinOutcome::SecurityStatusNotSatisfied
    );
    card.transport_mut().handler_mut().admin = true;
    assert_eq!(
        host.reset_retry_counter(&mut card, &PIN, &PUK, None, Some(&pin(b"999999")))
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        host.verify(&mut card, &PIN, &pin(b"999999")).unwrap(),
        PinOutcome::Verified
    );
}

#[test]
fn change_and_reset_verification() {
    let mut card = session();
    let mut host = PinHost::new();
    assert_eq!(
        host.change(&mut card, &PIN, None, &pin(b"654321")).unwrap(),
        PinOutcome::SecurityStatusNotSatisfied
    );
    assert_eq!(
        host.change(&mut card, &PIN, Some(&pin(b"123456")), &pin(b"654321"))
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        host.verify(&mut card, &PIN, &pin(b"654321")).unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        host.reset_verification(&mut card, PIN.reference).unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        host.states().get(PIN.reference),
        PinState::NotVerified { retries_left: None }
    );
    assert_eq!(
        host.status(&mut card, PIN.reference).unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
    // A wrong old PIN costs a try.
    assert_eq!(
        host.change(&mut card, &PIN, Some(&pin(b"111111")), &pin(b"222222"))
            .unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
}

#[test]
fn policy_violations_and_plain_pins_are_never_sent() {
    let mut card = session();
    let mut host = PinHost::new();
    assert_eq!(
        host.verify(&mut card, &PIN, &pin(b"12ab56")).err(),
        Some(HostError::Pin(Error::InvalidCharacter { offset: 2 }))
    );
    assert_eq!(
        host.verify(&mut card, &PIN, &pin(b"123456789")).err(),
        Some(HostError::Pin(Error::PinTooLong { len: 9, max: 8 }))
    );
    assert_eq!(card.transport().handler().received, 0);

    card.require_secure_messaging(true);
    assert_eq!(
        host.verify(&mut card, &PIN, &pin(b"123456")).err(),
        Some(HostError::Pin(Error::PlainPinRefused))
    );
    assert_eq!(
        host.change(&mut card, &PIN, Some(&pin(b"123456")), &pin(b"654321"))
            .err(),
        Some(HostError::Pin(Error::PlainPinRefused))
    );
    assert_eq!(
        host.reset_retry_counter(&mut card, &PIN, &PUK, Some(&pin(b"87654321")), None)
            .err(),
        Some(HostError::Pin(Error::PlainPinRefused))
    );
    assert_eq!(
        card.transport().handler().received,
        0,
        "nothing reached the card"
    );
    // An empty VERIFY carries no secret and still goes out.
    assert_eq!(
        host.status(&mut card, PIN.reference).unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
    assert_eq!(card.transport().handler().received, 1);
}

#[test]
fn card_reset_loses_verification() {
    let mut card = session();
    let mut host = PinHost::new();
    host.verify(&mut card, &PIN, &pin(b"123456")).unwrap();
    card.reset().unwrap();
    host.states_mut().card_reset();
    assert_eq!(
        host.states().get(PIN.reference),
        PinState::NotVerified { retries_left: None }
    );
    assert_eq!(
        host.status(&mut card, PIN.reference).unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
}
