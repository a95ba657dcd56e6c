//! Issue 16/11: extended-length APDUs never go over T=0, whatever the ATR announces.
//!
//! A T=0 command TPDU has one length byte P3, so only the short cases map onto it
//! (ISO/IEC 7816-3 §12.2): over a transport that reports [`Protocol::T0`] the session chains
//! long data (ISO/IEC 7816-4 §5.3.3) and asks for long answers with short Le and `61xx`
//! GET RESPONSE (§5.3.4), or fails with a typed error before sending anything. Over T=1 the
//! extended length the card announces is used as before.
// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use cardwire_apdu::{Cla, Command, CommandRepr, Ins, StatusWord};
use cardwire_transport::{
    AsyncCard, Blocking, Card, CardError, InProcess, NoSecureChannel, Protocol, TransactionEnd,
    Transport,
};
use common::*;

/// ATR with historical bytes 80 73 00 00 40: extended Lc/Le, no command chaining, one channel
/// (ISO/IEC 7816-4 §12.1.1.9, Table 119: b7 of the third byte).
const ATR_EXTENDED_NO_CHAINING: [u8; 7] = [0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0x40];

/// A transport that reports `protocol` and otherwise hands everything to `inner`.
struct OnLink<T> {
    inner: T,
    protocol: Protocol,
}

impl<T: Transport> Transport for OnLink<T> {
    type Error = T::Error;

    fn transmit<'b>(&mut self, c: &[u8], r: &'b mut [u8]) -> Result<&'b [u8], T::Error> {
        self.inner.transmit(c, r)
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }

    fn protocol(&self) -> Option<Protocol> {
        Some(self.protocol)
    }

    fn reset(&mut self) -> Result<(), T::Error> {
        self.inner.reset()
    }

    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = T::Error>) -> TransactionEnd,
    ) -> Result<(), T::Error> {
        cardwire_transport::exclusive_transaction(self, body)
    }
}

type Session = Card<OnLink<InProcess<TestCard>>, NoSecureChannel, 2048>;

/// A session opened from the ATR (capabilities from its historical bytes) over `protocol`,
/// on a test card that takes extended APDUs.
fn session(atr: &[u8], protocol: Protocol) -> Session {
    let transport = OnLink {
        inner: InProcess::new(TestCard::new(atr, true)),
        protocol,
    };
    Card::open_typed(transport).unwrap()
}

fn log(card: &Session) -> &[Vec<u8>] {
    &card.transport().inner.handler().log
}

fn is_extended(apdu: &[u8]) -> bool {
    Command::new_checked(apdu).unwrap().case().is_extended()
}

#[test]
fn transports_report_their_protocol_and_wrappers_forward_it() {
    let card = session(&ATR_PLAIN, Protocol::T0);
    assert_eq!(card.transport().protocol(), Some(Protocol::T0));
    let mut by_ref = OnLink {
        inner: InProcess::new(TestCard::new(&ATR_PLAIN, false)),
        protocol: Protocol::T1,
    };
    // `&mut T` forwards it.
    fn through<T: Transport>(t: T) -> Option<Protocol> {
        t.protocol()
    }
    assert_eq!(through(&mut by_ref), Some(Protocol::T1));
    // A transport that does not say keeps the old behaviour.
    assert_eq!(
        InProcess::new(TestCard::new(&ATR_PLAIN, false)).protocol(),
        None
    );
    assert!(!Protocol::T0.carries_extended_length());
    assert!(Protocol::T1.carries_extended_length());
    assert!(Protocol::Other.carries_extended_length());
}

#[test]
fn over_t0_long_data_is_chained_in_short_apdus_although_the_atr_claims_extended() {
    let mut card = session(&ATR_EXTENDED, Protocol::T0);
    assert!(card.capabilities().extended_length, "the ATR claims it");
    let data: Vec<u8> = (0..1000).map(|i| (i % 251) as u8).collect();
    let put = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&data);
    let mut buf = [0u8; 2];
    assert!(card.transmit(&put, &mut buf).unwrap().sw().is_success());
    let log = log(&card);
    assert_eq!(log.len(), 4, "1000 bytes in 255-byte pieces");
    for (i, apdu) in log.iter().enumerate() {
        let lc = if i < 3 { 255 } else { 235 };
        assert_eq!(apdu[0], if i < 3 { 0x10 } else { 0x00 }, "chaining bit");
        assert_eq!(&apdu[1..5], [0xDA, 0x01, 0x03, lc as u8]);
        assert_eq!(apdu.len(), 5 + lc, "short case 3: no Le");
    }
    assert_eq!(card.transport().inner.handler().stored, data);
}

#[test]
fn over_t0_long_answers_come_with_short_le_and_get_response() {
    let mut card = session(&ATR_EXTENDED, Protocol::T0);
    // GET DATA 0102: 600 bytes served 200 at a time with 61xx; Ne 65 536 asked for.
    let get = CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 0x01, 0x02).with_ne(65_536);
    let mut buf = [0u8; 602];
    let rsp = card.transmit(&get, &mut buf).unwrap();
    let expected: Vec<u8> = (0..600).map(|i| (i % 256) as u8).collect();
    assert_eq!(rsp.data(), expected.as_slice());
    assert_eq!(rsp.sw(), StatusWord::SUCCESS);
    assert_eq!(
        log(&card),
        [
            vec![0x00, 0xCA, 0x01, 0x02, 0x00],
            vec![0x00, 0xC0, 0x00, 0x00, 0x00],
            vec![0x00, 0xC0, 0x00, 0x00, 0x90],
        ]
    );
}

#[test]
fn over_t0_read_binary_reads_in_256_byte_pieces() {
    let mut card = session(&ATR_EXTENDED, Protocol::T0);
    let mut buf = vec![0u8; 1002];
    let (data, sw) = card.read_binary(0, 1000, &mut buf).unwrap();
    assert_eq!(sw, StatusWord::SUCCESS);
    assert_eq!(data, &card.transport().inner.handler().file[..1000]);
    let log = log(&card);
    assert_eq!(log.len(), 4, "256 + 256 + 256 + 232");
    assert_eq!(log[0], [0x00, 0xB0, 0x00, 0x00, 0x00]);
    assert_eq!(log[1], [0x00, 0xB0, 0x01, 0x00, 0x00]);
    assert_eq!(log[3], [0x00, 0xB0, 0x03, 0x00, 0xE8]);
}

#[test]
fn over_t0_without_chaining_long_data_is_a_typed_error_and_nothing_is_sent() {
    let mut card = session(&ATR_EXTENDED_NO_CHAINING, Protocol::T0);
    assert!(card.capabilities().extended_length && !card.capabilities().command_chaining);
    let data = [0x11u8; 300];
    let put = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&data);
    let mut buf = [0u8; 2];
    let err = card.transmit(&put, &mut buf).unwrap_err();
    assert_eq!(err, CardError::CommandTooLong { len: 300, max: 255 });
    assert!(log(&card).is_empty());
    // Short commands still go through.
    let short =
        CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&data[..255]);
    assert!(card.transmit(&short, &mut buf).unwrap().sw().is_success());
    assert_eq!(log(&card).len(), 1);
    assert!(!is_extended(&log(&card)[0]));
}

#[test]
fn over_t1_the_announced_extended_length_is_used() {
    let mut card = session(&ATR_EXTENDED_NO_CHAINING, Protocol::T1);
    let data = vec![0x5A; 1000];
    let put = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&data);
    let mut buf = [0u8; 2];
    assert!(card.transmit(&put, &mut buf).unwrap().sw().is_success());
    let mut buf = vec![0u8; 1002];
    let (read, _) = card.read_binary(0, 1000, &mut buf).unwrap();
    assert_eq!(read.len(), 1000);
    let log = log(&card);
    assert_eq!(log.len(), 2);
    assert_eq!(&log[0][..7], [0x00, 0xDA, 0x01, 0x03, 0x00, 0x03, 0xE8]);
    assert_eq!(log[0].len(), 7 + 1000);
    assert_eq!(log[1], [0x00, 0xB0, 0x00, 0x00, 0x00, 0x03, 0xE8]);
    assert_eq!(card.transport().inner.handler().stored, data);
}

#[test]
fn inside_a_transaction_t0_still_gets_short_apdus() {
    let mut card = session(&ATR_EXTENDED, Protocol::T0);
    let data = vec![0x22; 300];
    let put = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&data);
    card.transaction(|tx| {
        let mut buf = [0u8; 2];
        assert!(tx.transmit(&put, &mut buf).unwrap().sw().is_success());
    })
    .unwrap();
    let log = log(&card);
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|apdu| !is_extended(apdu)));
    assert_eq!(log[0][0], 0x10);
}

#[test]
fn the_async_session_follows_the_protocol_too() {
    let on = |protocol| {
        let transport = Blocking(OnLink {
            inner: InProcess::new(TestCard::new(&ATR_EXTENDED, true)),
            protocol,
        });
        let mut card: AsyncCard<_, NoSecureChannel, 2048> = AsyncCard::open_typed(transport);
        let get = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, 0, 0).with_ne(1000);
        let mut buf = vec![0u8; 1002];
        let rsp = block_on(card.transmit(&get, &mut buf)).unwrap();
        assert!(!rsp.data().is_empty());
        card.transport().0.inner.handler().log.clone()
    };
    assert_eq!(on(Protocol::T0), [vec![0x00, 0xB0, 0x00, 0x00, 0x00]]);
    assert_eq!(
        on(Protocol::T1),
        [vec![0x00, 0xB0, 0x00, 0x00, 0x00, 0x03, 0xE8]]
    );
}

fn block_on<F: core::future::Future>(f: F) -> F::Output {
    let mut f = core::pin::pin!(f);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
