//! The Card session over an in-process test card: chaining, 61xx, 6Cxx, extended length,
//! logical channels, transactions, secure messaging hook and policy, reset.

mod common;

use cardwire_apdu::exchange::Capabilities;
use cardwire_apdu::{Cla, CommandRepr, Ins, SecureMessaging, StatusWord};
use cardwire_transport::{
    Card, CardError, ErrorKind, InProcess, SecureChannel, SecureChannelErrorKind, Transport,
};
use common::*;

fn short_chaining() -> Capabilities {
    Capabilities {
        command_chaining: true,
        logical_channels: 4,
        ..Capabilities::SHORT
    }
}

fn extended() -> Capabilities {
    Capabilities {
        command_chaining: true,
        extended_length: true,
        max_command_data: u16::MAX,
        max_response_data: 65_536,
        logical_channels: 4,
        ..Capabilities::SHORT
    }
}

fn session(extended_card: bool, caps: Capabilities) -> Card<InProcess<TestCard>> {
    Card::with_capabilities(
        InProcess::new(TestCard::new(&ATR_PLAIN, extended_card)),
        caps,
    )
}

fn log<S: SecureChannel, const N: usize>(card: &Card<InProcess<TestCard>, S, N>) -> &[Vec<u8>] {
    &card.transport().handler().log
}

const GET_DATA_61: CommandRepr<'static> =
    CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 0x01, 0x02).with_ne(65_536);
const GET_DATA_6C: CommandRepr<'static> =
    CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 0x01, 0x01).with_ne(256);

#[test]
fn collects_61xx_with_get_response() {
    let mut card = session(false, short_chaining());
    let mut buf = [0u8; 602];
    let rsp = card.transmit(&GET_DATA_61, &mut buf).unwrap();
    let expected: Vec<u8> = (0..600).map(|i| (i % 256) as u8).collect();
    assert_eq!(rsp.data(), expected.as_slice());
    assert_eq!(rsp.sw(), StatusWord::SUCCESS);
    // GET DATA (Le capped to 256 for a short card), then 200 + 256 + 144 via GET RESPONSE.
    let log = log(&card);
    assert_eq!(log.len(), 3);
    assert_eq!(log[0], [0x00, 0xCA, 0x01, 0x02, 0x00]);
    assert_eq!(log[1], [0x00, 0xC0, 0x00, 0x00, 0x00]);
    assert_eq!(log[2], [0x00, 0xC0, 0x00, 0x00, 0x90]);
}

#[test]
fn response_larger_than_buffer_is_an_error_not_a_panic() {
    let mut card = session(false, short_chaining());
    let mut buf = [0u8; 300];
    let err = card.transmit(&GET_DATA_61, &mut buf).unwrap_err();
    assert!(matches!(err, CardError::ResponseTooLong { .. }), "{err:?}");
}

#[test]
fn resends_once_with_the_le_from_6cxx() {
    let mut card = session(false, short_chaining());
    let mut buf = [0u8; 258];
    let rsp = card.transmit(&GET_DATA_6C, &mut buf).unwrap();
    assert_eq!(rsp.data(), [1, 2, 3, 4, 5]);
    assert_eq!(log(&card)[1], [0x00, 0xCA, 0x01, 0x01, 0x05]);
    assert_eq!(log(&card).len(), 2);
}

#[test]
fn chains_long_data_on_a_short_card() {
    let mut card = session(false, short_chaining());
    let data: Vec<u8> = (0..1000).map(|i| (i % 253) as u8).collect();
    let put = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&data);
    let mut buf = [0u8; 2];
    assert!(card.transmit(&put, &mut buf).unwrap().sw().is_success());
    let log = log(&card);
    assert_eq!(log.len(), 4, "1000 bytes in 255-byte pieces");
    for (i, apdu) in log.iter().enumerate() {
        assert_eq!(
            apdu[0] & 0x10 != 0,
            i < 3,
            "chaining bit on all but the last"
        );
        assert_eq!(apdu[4] as usize, if i < 3 { 255 } else { 235 });
    }
    assert_eq!(card.transport().handler().stored, data);
}

#[test]
fn sends_long_data_in_one_extended_apdu_when_the_buffer_allows() {
    let mut card: Card<_, cardwire_transport::NoSecureChannel, 2048> =
        Card::with_capabilities_typed(InProcess::new(TestCard::new(&ATR_PLAIN, true)), extended());
    let data = vec![0x5A; 1000];
    let put = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&data);
    let mut buf = [0u8; 2];
    assert!(card.transmit(&put, &mut buf).unwrap().sw().is_success());
    let log = &card.transport().handler().log;
    assert_eq!(log.len(), 1);
    assert_eq!(&log[0][4..7], [0x00, 0x03, 0xE8]);
    assert_eq!(card.transport().handler().stored, data);
}

#[test]
fn refuses_long_data_without_chaining_or_extended_and_sends_nothing() {
    let mut card = session(false, Capabilities::SHORT);
    let data = [0u8; 300];
    let put = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&data);
    let mut buf = [0u8; 2];
    let err = card.transmit(&put, &mut buf).unwrap_err();
    assert_eq!(err, CardError::CommandTooLong { len: 300, max: 255 });
    assert!(log(&card).is_empty());
}

#[test]
fn reads_4_kib_in_the_fewest_apdus_the_capabilities_allow() {
    // Short only: 4096 / 256 = 16 READ BINARY.
    let mut card = session(false, short_chaining());
    let mut buf = vec![0u8; FILE_LEN + 2];
    let (data, sw) = card.read_binary(0, FILE_LEN, &mut buf).unwrap();
    assert_eq!(data, card.transport().handler().file.as_slice());
    assert_eq!(sw, StatusWord::SUCCESS);
    assert_eq!(log(&card).len(), 16);

    // Extended, with a session buffer that holds a 4 KiB answer: one READ BINARY with
    // Le = 4096 (00 10 00).
    let mut card: Card<_, cardwire_transport::NoSecureChannel, 4200> =
        Card::with_capabilities_typed(InProcess::new(TestCard::new(&ATR_PLAIN, true)), extended());
    let (data, _) = card.read_binary(0, FILE_LEN, &mut buf).unwrap();
    assert_eq!(data, card.transport().handler().file.as_slice());
    assert_eq!(log(&card).len(), 1);
    assert_eq!(log(&card)[0], [0x00, 0xB0, 0x00, 0x00, 0x00, 0x10, 0x00]);

    // Extended with the default 512-byte buffer: 510 bytes per answer, ceil(4096 / 510) = 9.
    let mut card = session(true, extended());
    let (data, _) = card.read_binary(0, FILE_LEN, &mut buf).unwrap();
    assert_eq!(data.len(), FILE_LEN);
    assert_eq!(log(&card).len(), FILE_LEN.div_ceil(510));
}

#[test]
fn read_binary_stops_at_end_of_file() {
    let mut card = session(false, short_chaining());
    let mut buf = vec![0u8; 10_002];
    let (data, sw) = card.read_binary(0, 10_000, &mut buf).unwrap();
    assert_eq!(data.len(), FILE_LEN);
    assert_eq!(sw, StatusWord::END_OF_FILE);
    assert_eq!(
        log(&card).len(),
        17,
        "16 full pieces and one that hits the end"
    );
}

#[test]
fn falls_back_to_short_when_the_card_rejects_extended() {
    let mut handler = TestCard::new(&ATR_PLAIN, true);
    handler.rejects_extended = true;
    let mut card = Card::with_capabilities(InProcess::new(handler), extended());
    let mut buf = vec![0u8; FILE_LEN + 2];
    let (data, _) = card.read_binary(0, FILE_LEN, &mut buf).unwrap();
    assert_eq!(data.len(), FILE_LEN);
    assert!(!card.capabilities().extended_length);
    // One rejected extended APDU, then 16 short ones.
    assert_eq!(log(&card).len(), 17);
}

#[test]
fn logical_channels_set_class_bits_and_close() {
    let mut card = session(false, short_chaining());
    let ch = card.open_channel().unwrap();
    assert_eq!(ch, 1);
    assert!(card.is_channel_open(1));
    let select =
        CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x04, 0x0C).with_data(&[0xA0, 0x00]);
    let mut buf = [0u8; 258];
    assert!(
        card.transmit_on(1, &select, &mut buf)
            .unwrap()
            .sw()
            .is_success()
    );
    assert_eq!(log(&card)[1][0], 0x01, "CLA carries channel 1");
    // GET RESPONSE follows on the same channel.
    let rsp = card
        .transmit_on(1, &GET_DATA_61, &mut [0u8; 602])
        .map(|r| r.data().len());
    assert_eq!(rsp.unwrap(), 600);
    assert!(log(&card)[3..].iter().all(|apdu| apdu[0] == 0x01));
    card.close_channel(1).unwrap();
    assert!(!card.is_channel_open(1));
    assert_eq!(
        card.transmit_on(1, &select, &mut buf).unwrap_err(),
        CardError::ChannelNotOpen(1)
    );
    assert_eq!(
        card.close_channel(0).unwrap_err(),
        CardError::ChannelNotOpen(0)
    );
}

#[test]
fn open_channel_reports_the_cards_refusal() {
    let mut card = session(false, short_chaining());
    for _ in 0..3 {
        card.open_channel().unwrap();
    }
    assert_eq!(
        card.open_channel().unwrap_err(),
        CardError::Refused(StatusWord(0x6A81))
    );
}

/// A transport that counts transaction calls.
struct Counting<T> {
    inner: T,
    begun: usize,
    ended: usize,
}

impl<T: Transport> Transport for Counting<T> {
    type Error = T::Error;
    fn transmit<'b>(&mut self, c: &[u8], r: &'b mut [u8]) -> Result<&'b [u8], T::Error> {
        self.inner.transmit(c, r)
    }
    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }
    fn reset(&mut self) -> Result<(), T::Error> {
        self.inner.reset()
    }
    fn begin_transaction(&mut self) -> Result<(), T::Error> {
        self.begun += 1;
        Ok(())
    }
    fn end_transaction(&mut self) -> Result<(), T::Error> {
        self.ended += 1;
        Ok(())
    }
}

#[test]
fn transaction_guard_begins_once_and_ends_on_drop() {
    let t = Counting {
        inner: InProcess::new(TestCard::new(&ATR_PLAIN, false)),
        begun: 0,
        ended: 0,
    };
    let mut card = Card::with_capabilities(t, short_chaining());
    {
        let mut tx = card.transaction().unwrap();
        let mut buf = [0u8; 258];
        tx.transmit(&GET_DATA_6C, &mut buf).unwrap();
        {
            let nested = tx.transaction().unwrap();
            assert!(nested.in_transaction());
        }
        assert_eq!(
            tx.transport().ended,
            0,
            "the nested guard does not end the outer one"
        );
        assert_eq!(tx.transport().begun, 1);
    }
    assert_eq!((card.transport().begun, card.transport().ended), (1, 1));
    assert!(!card.in_transaction());
    let tx = card.transaction().unwrap();
    tx.end().unwrap();
    assert_eq!((card.transport().begun, card.transport().ended), (2, 2));
}

/// Toy secure channel matching the test card: data XOR 55 plus check byte AA.
#[derive(Default)]
struct XorChannel {
    wrapped: usize,
    buf: Vec<u8>,
}

// Test helper: a panic is a test failure.
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
impl SecureChannel for XorChannel {
    type Error = SecureChannelErrorKind;
    fn wrap<'o>(
        &mut self,
        c: &CommandRepr<'_>,
        out: &'o mut [u8],
    ) -> Result<&'o [u8], Self::Error> {
        self.wrapped += 1;
        self.buf = c.data.iter().map(|b| b ^ 0x55).chain([0xAA]).collect();
        let cla = c
            .cla
            .with_secure_messaging(SecureMessaging::HeaderAuthenticated)
            .unwrap();
        let protected = CommandRepr {
            cla,
            data: &self.buf,
            ..*c
        };
        protected
            .encode(out)
            .map_err(|_| SecureChannelErrorKind::BufferTooSmall)
    }
    fn unwrap(&mut self, response: &mut [u8]) -> Result<usize, Self::Error> {
        let n = response.len();
        if n < 3 || response[n - 3] != 0xAA {
            return Err(SecureChannelErrorKind::Integrity);
        }
        let sw = [response[n - 2], response[n - 1]];
        for b in &mut response[..n - 3] {
            *b ^= 0x55;
        }
        response[n - 3..n - 1].copy_from_slice(&sw);
        Ok(n - 1)
    }
}

#[test]
fn secure_messaging_policy_refuses_plain_pin_and_wraps_when_active() {
    let mut card = session(false, short_chaining()).with_secure_channel_type::<XorChannel>();
    card.require_secure_messaging(true);
    assert!(card.secure_messaging_required() && !card.is_secure());
    let verify = CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0x00, 0x81).with_data(PIN);
    let mut buf = [0u8; 258];
    assert_eq!(
        card.transmit(&verify, &mut buf).unwrap_err(),
        CardError::SecureMessagingRequired
    );
    assert!(log(&card).is_empty(), "nothing went out");
    // A retry-counter query (VERIFY without data) carries no PIN and may go in plain.
    let query = CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0x00, 0x81);
    card.transmit(&query, &mut buf).unwrap();

    card.start_secure_messaging(XorChannel::default());
    assert!(card.is_secure());
    let rsp = card.transmit(&verify, &mut buf).unwrap();
    assert_eq!(rsp.sw(), StatusWord::SUCCESS);
    assert!(card.transport().handler().verified);
    // The card logs the protected APDU, then the plain one it unwraps to.
    let sent = log(&card)[log(&card).len() - 2].clone();
    assert_eq!(sent[0], 0x0C, "SM indication set by the channel");
    assert!(
        !sent.windows(PIN.len()).any(|w| w == PIN),
        "PIN not in plain on the wire"
    );
    // The response is unwrapped: data comes back in plain through 61xx too.
    let rsp = card.transmit(&GET_DATA_6C, &mut buf).unwrap();
    assert_eq!(rsp.data(), [1, 2, 3, 4, 5]);
    // VERIFY, GET DATA, and GET DATA again after 6C05: each carries the command, so each is
    // wrapped.
    assert_eq!(card.secure_channel().unwrap().wrapped, 3);
}

#[test]
fn a_proprietary_command_with_ins_c0_is_protected_not_taken_for_get_response() {
    let mut card = session(false, short_chaining()).with_secure_channel_type::<XorChannel>();
    card.start_secure_messaging(XorChannel::default());
    let proprietary = CommandRepr::new(Cla::PROPRIETARY, Ins::GET_RESPONSE, 0, 0).with_data(&[1]);
    let mut buf = [0u8; 258];
    // Whatever the test card makes of it, it must have gone out wrapped, never in plain.
    let _ = card.transmit(&proprietary, &mut buf);
    let first = log(&card)[0].clone();
    assert_ne!(
        first[..2],
        [0x80, 0xC0],
        "sent in plain under secure messaging"
    );
    assert_eq!(first[0] & 0x0C, 0x0C, "SM indication set by the channel");
}

#[test]
fn secure_channel_failure_switches_secure_messaging_off() {
    let mut card = session(false, short_chaining()).with_secure_channel_type::<XorChannel>();
    card.start_secure_messaging(XorChannel::default());
    // An unknown INS: the test card answers 6D00 in plain, which has no check byte.
    let bad = CommandRepr::new(Cla::INTERINDUSTRY, Ins(0x02), 0, 0).with_data(&[1]);
    card.transport_mut().handler_mut().rejects_extended = false;
    let mut buf = [0u8; 258];
    // The card process_protected wraps any answer, so corrupt it via a plain-only path:
    card.stop_secure_messaging();
    card.start_secure_messaging(XorChannel::default());
    let err = card
        .transmit(
            &CommandRepr {
                cla: Cla(0x00),
                ..bad
            },
            &mut buf,
        )
        .map(|r| r.sw());
    // 6D00 wrapped by the card still carries AA: this is a success of SM with status 6D00.
    assert_eq!(err.unwrap(), StatusWord(0x6D00));
    // A response without the check byte is an integrity failure.
    card.transport_mut().handler_mut().channels = [true, false, false, false];
    let on_closed = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0, 0).with_data(&[]);
    let err = card.transmit_on(0, &on_closed, &mut buf);
    // SELECT with empty data is wrapped to just the check byte; card answers 9000 + AA.
    assert!(err.is_ok());
    card.transport_mut().handler_mut().atr = vec![];
    let corrupt = cardwire_transport::Faulty::new(card.into_transport());
    let mut card =
        Card::with_capabilities(corrupt, short_chaining()).with_secure_channel_type::<XorChannel>();
    card.start_secure_messaging(XorChannel::default());
    card.transport_mut()
        .inject(0, cardwire_transport::Fault::Truncate(2))
        .unwrap();
    let err = card.transmit(&GET_DATA_6C, &mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            CardError::SecureChannel(SecureChannelErrorKind::Integrity)
        ),
        "{err:?}"
    );
    assert!(!card.is_secure());
}

#[test]
fn reset_closes_channels_and_secure_messaging() {
    let mut card = session(false, short_chaining()).with_secure_channel_type::<XorChannel>();
    card.open_channel().unwrap();
    card.start_secure_messaging(XorChannel::default());
    card.reset().unwrap();
    assert!(!card.is_channel_open(1));
    assert!(!card.is_secure());
    assert_eq!(card.transport().handler().powered_on, 2);
}

#[test]
fn card_removal_is_a_transport_error_and_forgets_state() {
    let mut card = session(false, short_chaining());
    card.open_channel().unwrap();
    card.transport_mut().power_off();
    let mut buf = [0u8; 258];
    let err = card.transmit(&GET_DATA_6C, &mut buf).unwrap_err();
    assert_eq!(err, CardError::Transport(ErrorKind::CardRemoved));
    assert_eq!(err.kind(), ErrorKind::CardRemoved);
    assert!(!card.is_channel_open(1));
}
