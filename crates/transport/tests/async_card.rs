//! `AsyncCard` drives the same exchange loop as `Card`: the same commands give the same wire
//! APDUs and answers, through chaining, 61xx, 6Cxx, the extended fallback, logical channels
//! and EF.ATR/INFO. Polled with a no-op waker: the in-process card never waits.
// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use core::future::Future;
use core::task::{Context, Poll, Waker};

use cardwire_apdu::exchange::Capabilities;
use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_transport::{AsyncCard, AsyncSession, Blocking, Card, InProcess, NoSecureChannel};
use common::*;

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = core::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn caps(extended: bool) -> Capabilities {
    Capabilities {
        logical_channels: 4,
        ..if extended {
            Capabilities::EXTENDED
        } else {
            Capabilities::SHORT_CHAINING
        }
    }
}

#[test]
fn async_and_blocking_sessions_send_the_same_apdus() {
    for (extended_card, rejects_extended, extended_caps) in [
        (false, false, false),
        (true, false, true),
        (true, true, true),
    ] {
        let mut a = TestCard::new(&ATR_PLAIN, extended_card);
        a.rejects_extended = rejects_extended;
        let mut b = TestCard::new(&ATR_PLAIN, extended_card);
        b.rejects_extended = rejects_extended;
        let mut card: Card<_, NoSecureChannel, 4200> =
            Card::with_capabilities_typed(InProcess::new(a), caps(extended_caps));
        let mut async_card: AsyncCard<_, NoSecureChannel, 4200> =
            AsyncCard::with_capabilities_typed(Blocking(InProcess::new(b)), caps(extended_caps));
        card.set_extended_fallback(rejects_extended);
        async_card.set_extended_fallback(rejects_extended);
        let payload: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
        let commands = [
            CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 0x01, 0x02).with_ne(65_536),
            CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 0x01, 0x01).with_ne(256),
            CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&payload),
        ];
        let mut x = vec![0u8; FILE_LEN + 2];
        let mut y = vec![0u8; FILE_LEN + 2];
        for cmd in &commands {
            let r1 = card.transmit(cmd, &mut x).map(|r| r.as_bytes().to_vec());
            let r2 = block_on(async_card.transmit(cmd, &mut y)).map(|r| r.as_bytes().to_vec());
            assert_eq!(r1, r2);
        }
        let (d1, s1) = card.read_binary(0, FILE_LEN, &mut x).unwrap();
        let d1 = d1.to_vec();
        let (d2, s2) = block_on(async_card.read_binary(0, FILE_LEN, &mut y)).unwrap();
        assert_eq!((d1.as_slice(), s1), (d2, s2));
        assert_eq!(s1, StatusWord::SUCCESS);
        let ch1 = card.open_channel().unwrap();
        let ch2 = block_on(async_card.open_channel()).unwrap();
        assert_eq!(ch1, ch2);
        card.close_channel(ch1).unwrap();
        block_on(async_card.close_channel(ch2)).unwrap();
        assert_eq!(card.capabilities(), async_card.capabilities());
        assert_eq!(
            card.transport().handler().log,
            async_card.transport().0.handler().log
        );
        assert!(!card.transport().handler().log.is_empty());
    }
}

#[test]
fn async_card_opens_without_io_and_reads_ef_atr_on_request() {
    // Historical bytes 80 73 00 00 FB: extended, chaining, EF.ATR/INFO announced.
    let atr = [0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xFB];
    let mut card = AsyncCard::open(Blocking(InProcess::new(TestCard::new(&atr, true))));
    assert!(card.capabilities().ef_atr_length_info && card.capabilities().extended_length);
    assert!(card.transport().0.handler().log.is_empty());
    assert!(block_on(card.read_ef_atr()).unwrap());
    let log = &card.transport().0.handler().log;
    assert_eq!(log[0], [0x00, 0xA4, 0x00, 0x0C, 0x02, 0x2F, 0x01]);
    assert_eq!(log[1], [0x00, 0xB0, 0x00, 0x00, 0x00]);
    // The plain-PIN policy is visible through the AsyncSession trait.
    card.require_secure_messaging(true);
    assert!(AsyncSession::plain_pin_forbidden(&card));
}
