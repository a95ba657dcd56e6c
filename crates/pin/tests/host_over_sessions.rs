//! `PinHost` over sessions other than cardwire's blocking `Card`: a third-party session written
//! in this file over its own transport, and the async `AsyncCard` driven by tokio.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use cardwire_apdu::exchange::Capabilities;
use cardwire_apdu::{CommandRepr, Response};
use cardwire_pin::{Error, HostError, Pin, PinHost, PinOutcome, PinSpec, PinState};
use cardwire_transport::{AsyncCard, Blocking, CardHandler, ErrorKind, InProcess, Session};
use common::TestCard;

const PIN: PinSpec = PinSpec::PIV_APPLICATION_PIN;
const PUK: PinSpec = PinSpec::PIV_PUK;

fn pin(s: &[u8]) -> Pin {
    Pin::new(s).unwrap()
}

/// A downstream crate's own session: its own transport (here a card handler called
/// directly), its own encoding, no cardwire `Card`. PIN commands are short and answered in
/// one piece, so it needs no GET RESPONSE handling for this test.
struct ThirdPartySession {
    card: TestCard,
    /// The downstream policy: PIN data only under secure messaging, which it never has.
    sm_only: bool,
    sent: Vec<Vec<u8>>,
}

impl Session for ThirdPartySession {
    type Error = ErrorKind;

    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        let mut wire = [0u8; 261];
        let wire = command.encode(&mut wire).map_err(|_| ErrorKind::Other)?;
        self.sent.push(wire.to_vec());
        let n = self.card.process(wire, response);
        Response::new_checked(&response[..n]).map_err(|_| ErrorKind::Protocol)
    }

    fn plain_pin_forbidden(&self) -> bool {
        self.sm_only
    }
}

#[test]
fn pin_host_drives_a_third_party_session() {
    let mut session = ThirdPartySession {
        card: TestCard::new(b"123456", b"87654321"),
        sm_only: false,
        sent: Vec::new(),
    };
    let mut host = PinHost::new();
    assert_eq!(
        host.verify(&mut session, &PIN, &pin(b"000000")).unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    assert_eq!(
        host.verify(&mut session, &PIN, &pin(b"123456")).unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(host.states().get(PIN.reference), PinState::Verified);
    // VERIFY 00 20 00 80 08 "123456" FF FF (NIST SP 800-73-4 Part 2 §3.2.1).
    assert_eq!(
        session.sent[1],
        [
            0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF
        ]
    );
    assert_eq!(
        host.change(&mut session, &PIN, Some(&pin(b"123456")), &pin(b"654321"))
            .unwrap(),
        PinOutcome::Verified
    );
    // The same helper through `&mut` (a session borrowed by a wrapper).
    let mut borrowed = &mut session;
    assert_eq!(
        host.verify(&mut borrowed, &PIN, &pin(b"654321")).unwrap(),
        PinOutcome::Verified
    );

    // The session's own policy is honoured: nothing with a secret is sent.
    session.sm_only = true;
    let before = session.sent.len();
    assert_eq!(
        host.verify(&mut session, &PIN, &pin(b"654321")).err(),
        Some(HostError::Pin(Error::PlainPinRefused))
    );
    assert_eq!(session.sent.len(), before);
}

fn async_card() -> AsyncCard<Blocking<InProcess<TestCard>>> {
    AsyncCard::with_capabilities(
        Blocking(InProcess::new(TestCard::new(b"123456", b"87654321"))),
        Capabilities::SHORT,
    )
}

#[tokio::test(flavor = "current_thread")]
async fn async_pin_life_cycle_over_async_card() {
    let mut card = async_card();
    let mut host = PinHost::new();
    assert_eq!(
        host.status_async(&mut card, PIN.reference).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
    for wrong in [b"000000", b"111111", b"222222"] {
        host.verify_async(&mut card, &PIN, &pin(wrong))
            .await
            .unwrap();
    }
    assert_eq!(host.states().get(PIN.reference), PinState::Blocked);
    assert_eq!(
        host.verify_async(&mut card, &PIN, &pin(b"123456"))
            .await
            .unwrap(),
        PinOutcome::Blocked
    );
    assert_eq!(
        host.reset_retry_counter_async(
            &mut card,
            &PIN,
            &PUK,
            Some(&pin(b"87654321")),
            Some(&pin(b"246810"))
        )
        .await
        .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        host.verify_async(&mut card, &PIN, &pin(b"246810"))
            .await
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        host.change_async(&mut card, &PIN, Some(&pin(b"246810")), &pin(b"135790"))
            .await
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        host.reset_verification_async(&mut card, PIN.reference)
            .await
            .unwrap(),
        PinOutcome::Verified
    );
    assert_ne!(host.states().get(PIN.reference), PinState::Verified);
    assert_eq!(card.transport().0.handler().pin.retries_left(), 3);

    // The session's policy: secure messaging required and not active.
    card.require_secure_messaging(true);
    let received = card.transport().0.handler().received;
    assert_eq!(
        host.verify_async(&mut card, &PIN, &pin(b"135790"))
            .await
            .err(),
        Some(HostError::Pin(Error::PlainPinRefused))
    );
    assert_eq!(card.transport().0.handler().received, received);
}

#[tokio::test(flavor = "current_thread")]
async fn async_and_blocking_sessions_send_the_same_apdus() {
    use cardwire_transport::{Card, Traced};
    fn traced() -> Traced<InProcess<TestCard>, Vec<String>> {
        Traced::new(
            InProcess::new(TestCard::new(b"123456", b"87654321")),
            Vec::new(),
        )
    }
    let mut blocking = Card::with_capabilities(traced(), Capabilities::SHORT);
    let mut host = PinHost::new();
    let mut card = AsyncCard::with_capabilities(Blocking(traced()), Capabilities::SHORT);
    let mut async_host = PinHost::new();
    for value in [b"000000", b"123456"] {
        let a = host.verify(&mut blocking, &PIN, &pin(value)).unwrap();
        let b = async_host
            .verify_async(&mut card, &PIN, &pin(value))
            .await
            .unwrap();
        assert_eq!(a, b);
    }
    assert_eq!(host.states(), async_host.states());
    let lines = blocking.transport().sink();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines, card.transport().0.sink());
    assert_eq!(blocking.atr(), card.atr());
}
