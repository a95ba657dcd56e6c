//! The card side: chain reassembly and long responses, alone and against the host engine.

// Test code: a failing test is a panic by design (clippy.toml allows this in #[test] fns,
// not in the helpers they share).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_apdu::card::{CardExchange, Incoming};
use cardwire_apdu::exchange::{Capabilities, Exchange, Step};
use cardwire_apdu::{Cla, CommandRepr, Error, Ins, Response, StatusWord};
use proptest::prelude::*;

fn answered(i: Incoming<'_>) -> usize {
    match i {
        Incoming::Answered(n) => n,
        Incoming::Command(c) => panic!("expected an answer, got {c:?}"),
    }
}

#[test]
fn chain_is_reassembled() {
    let mut card = CardExchange::new([0u8; 16]);
    let mut rsp = [0u8; 258];
    let n = answered(card.receive(&[0x10, 0xDA, 0x01, 0x02, 0x02, 1, 2], &mut rsp));
    assert_eq!(&rsp[..n], &[0x90, 0x00]);
    assert!(card.in_chain());
    let n = answered(card.receive(&[0x10, 0xDA, 0x01, 0x02, 0x01, 3], &mut rsp));
    assert_eq!(&rsp[..n], &[0x90, 0x00]);
    match card.receive(&[0x00, 0xDA, 0x01, 0x02, 0x01, 4, 0x00], &mut rsp) {
        Incoming::Command(cmd) => {
            assert_eq!(cmd.data, &[1, 2, 3, 4]);
            assert_eq!(cmd.cla, Cla(0x00));
            assert_eq!(cmd.ins, Ins::PUT_DATA);
            assert_eq!(cmd.ne, 256);
        }
        other => panic!("{other:?}"),
    }
    assert!(!card.in_chain());
}

#[test]
fn broken_and_overlong_chains_are_refused() {
    let mut card = CardExchange::new([0u8; 4]);
    let mut rsp = [0u8; 258];
    answered(card.receive(&[0x10, 0xDA, 0, 0, 2, 1, 2], &mut rsp));
    // A different command in the middle of the chain.
    let n = answered(card.receive(&[0x00, 0xB0, 0, 0, 0], &mut rsp));
    assert_eq!(&rsp[..n], &[0x68, 0x83]);
    assert!(!card.in_chain());
    // More than the 4-byte buffer.
    answered(card.receive(&[0x10, 0xDA, 0, 0, 3, 1, 2, 3], &mut rsp));
    let n = answered(card.receive(&[0x10, 0xDA, 0, 0, 2, 4, 5], &mut rsp));
    assert_eq!(&rsp[..n], &[0x67, 0x00]);
    assert!(!card.in_chain());
    // A malformed APDU.
    let n = answered(card.receive(&[0x00, 0xDA, 0, 0, 5, 1], &mut rsp));
    assert_eq!(&rsp[..n], &[0x67, 0x00]);
}

#[test]
fn long_response_is_served_with_61xx_and_get_response() {
    let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let mut card = CardExchange::new(vec![0u8; 1024]);
    let mut rsp = [0u8; 258];
    let Incoming::Command(cmd) = card.receive(&[0x01, 0xB0, 0, 0, 0x00], &mut rsp) else {
        panic!()
    };
    let ne = cmd.ne;
    let n = card
        .respond(&data, StatusWord(0x6282), ne, &mut rsp)
        .unwrap();
    assert_eq!(n, 258);
    assert_eq!(&rsp[..256], &data[..256]);
    assert_eq!(&rsp[256..258], &[0x61, 44]);
    assert_eq!(card.pending_len(), 44);
    // GET RESPONSE on another channel is refused and drops the pending data.
    let mut card2 = card.clone();
    let n = answered(card2.receive(&[0x00, 0xC0, 0, 0, 44], &mut rsp));
    assert_eq!(&rsp[..n], &[0x69, 0x85]);
    // GET RESPONSE with a smaller Le gets part of it.
    let n = answered(card.receive(&[0x01, 0xC0, 0, 0, 40], &mut rsp));
    assert_eq!(&rsp[..40], &data[256..296]);
    assert_eq!(&rsp[40..n], &[0x61, 0x04]);
    let n = answered(card.receive(&[0x01, 0xC0, 0, 0, 0x00], &mut rsp));
    assert_eq!(&rsp[..4], &data[296..]);
    // The last part carries the application's status.
    assert_eq!(&rsp[4..n], &[0x62, 0x82]);
    let n = answered(card.receive(&[0x01, 0xC0, 0, 0, 0x00], &mut rsp));
    assert_eq!(&rsp[..n], &[0x69, 0x85]);
}

#[test]
fn response_without_le_is_offered_with_61xx() {
    let mut card = CardExchange::new([0u8; 64]);
    let mut rsp = [0u8; 258];
    let n = card
        .respond(&[1, 2, 3], StatusWord::SUCCESS, 0, &mut rsp)
        .unwrap();
    assert_eq!(&rsp[..n], &[0x61, 0x03]);
    // Another command drops it.
    assert!(matches!(
        card.receive(&[0x00, 0x84, 0, 0, 8], &mut rsp),
        Incoming::Command(_)
    ));
    assert_eq!(card.pending_len(), 0);
    // Too much data for the buffer.
    assert_eq!(
        card.respond(&[0u8; 400], StatusWord::SUCCESS, 256, &mut rsp),
        Err(Error::ResponseBufferFull { capacity: 64 })
    );
    assert_eq!(
        card.respond(&[], StatusWord::SUCCESS, 0, &mut [0u8; 1]),
        Err(Error::BufferTooSmall { needed: 2 })
    );
}

/// Host engine against card side: `data_in` sent, `data_out` echoed back.
fn loopback(
    caps: Capabilities,
    cmd_data: &[u8],
    reply: &[u8],
    ne: u32,
    rsp_room: usize,
) -> Vec<u8> {
    let mut card = CardExchange::new(vec![0u8; 70_000]);
    let cmd = CommandRepr::new(Cla(0x00), Ins::PERFORM_SECURITY_OPERATION, 0x80, 0x86)
        .with_data(cmd_data)
        .with_ne(ne);
    let mut out = vec![0u8; 70_000];
    let mut tx = vec![0u8; 70_000];
    let mut rsp = vec![0u8; rsp_room];
    let mut ex = Exchange::new(cmd, caps, &mut out).unwrap();
    let mut rounds = 0;
    let done = loop {
        rounds += 1;
        assert!(rounds < 2000);
        let wire = ex.poll_transmit(&mut tx).unwrap();
        let n = match card.receive(wire, &mut rsp) {
            Incoming::Answered(n) => n,
            Incoming::Command(c) => {
                assert_eq!(c.data, cmd_data);
                let ne = c.ne;
                card.respond(reply, StatusWord::SUCCESS, ne, &mut rsp)
                    .unwrap()
            }
        };
        if let Step::Done(d) = ex.handle_response(&rsp[..n]).unwrap() {
            break d;
        }
    };
    let r = Response::new_checked(&out[..done.len]).unwrap();
    assert_eq!(r.sw(), StatusWord::SUCCESS);
    r.data().to_vec()
}

#[test]
fn host_and_card_sides_agree() {
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(
        loopback(Capabilities::SHORT_CHAINING, &big[..1000], &big, 256, 258),
        big
    );
    assert_eq!(
        loopback(Capabilities::EXTENDED, &big, &big, 65_536, 70_000),
        big
    );
    assert_eq!(
        loopback(Capabilities::EXTENDED, &big, &big[..10], 65_536, 258),
        &big[..10]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn loopback_any_sizes(
        nc in 0usize..1200,
        nr in 0usize..1500,
        extended in any::<bool>(),
        ne in prop_oneof![Just(256u32), 1u32..=65_536],
        room in 258usize..600,
    ) {
        let data: Vec<u8> = (0..nc).map(|i| i as u8).collect();
        let reply: Vec<u8> = (0..nr).map(|i| (i * 3) as u8).collect();
        let caps = if extended { Capabilities::EXTENDED } else { Capabilities::SHORT_CHAINING };
        let got = loopback(caps, &data, &reply, ne, room);
        // The host asks for at most 256 (short) per APDU; everything comes via 61xx.
        prop_assert_eq!(got, reply);
    }
}

#[test]
fn whole_command_breaks_a_plain_chain_and_answers_on_its_channel() {
    let mut card = CardExchange::new(vec![0u8; 600]);
    let mut rsp = [0u8; 258];
    // A plain chain link, then a command the layer above takes whole: the chain is gone.
    answered(card.receive(&[0x10, 0xD6, 0, 0, 2, 1, 2], &mut rsp));
    assert!(!card.receive_whole(0));
    assert!(!card.in_chain());
    // No chain now: the whole command is accepted; its long answer is served on channel 2.
    assert!(card.receive_whole(2));
    let n = card
        .respond(&[0x55; 300], StatusWord::SUCCESS, 256, &mut rsp)
        .unwrap();
    assert_eq!(&rsp[n - 2..n], &[0x61, 44]);
    let n = answered(card.receive(&[0x02, 0xC0, 0, 0, 44], &mut rsp));
    assert_eq!(&rsp[..n - 2], &[0x55; 44]);
    assert_eq!(&rsp[n - 2..n], &[0x90, 0x00]);
    // A whole command drops a pending response.
    let _ = card.respond(&[0x55; 300], StatusWord::SUCCESS, 256, &mut rsp);
    assert!(card.pending_len() > 0);
    assert!(card.receive_whole(2));
    assert_eq!(card.pending_len(), 0);
}
