//! The Card session over an in-process test card: chaining, 61xx, 6Cxx, extended length,
//! logical channels, transactions, secure messaging hook and policy, reset.

mod common;

use cardwire_apdu::exchange::Capabilities;
use cardwire_apdu::{Cla, CommandRepr, Ins, SecureMessaging, StatusWord};
use cardwire_transport::{
    Card, CardError, ErrorKind, InProcess, ReleasePolicy, SecureChannel, SecureChannelErrorKind,
    TransactionEnd, Transport,
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
    card.set_extended_fallback(true);
    let mut buf = vec![0u8; FILE_LEN + 2];
    let (data, _) = card.read_binary(0, FILE_LEN, &mut buf).unwrap();
    assert_eq!(data.len(), FILE_LEN);
    assert!(!card.capabilities().extended_length);
    // One rejected extended APDU, then 16 short ones.
    assert_eq!(log(&card).len(), 17);
}

#[test]
fn without_the_opt_in_6700_is_the_answer_and_nothing_is_resent() {
    let mut handler = TestCard::new(&ATR_PLAIN, true);
    handler.rejects_extended = true;
    let mut card = Card::with_capabilities(InProcess::new(handler), extended());
    let mut buf = vec![0u8; FILE_LEN + 2];
    let (data, sw) = card.read_binary(0, FILE_LEN, &mut buf).unwrap();
    assert_eq!((data.len(), sw), (0, StatusWord::WRONG_LENGTH));
    assert!(card.capabilities().extended_length, "no silent downgrade");
    assert_eq!(log(&card).len(), 1);
}

#[test]
fn the_fallback_never_resends_pin_commands_or_authentications() {
    let pin = [0x31u8; 300];
    for ins in [
        Ins::VERIFY,
        Ins(0x24),
        Ins(0x2C),
        Ins(0x2A),
        Ins(0x87),
        Ins(0x86),
    ] {
        let mut handler = TestCard::new(&ATR_PLAIN, true);
        handler.rejects_extended = true;
        let mut card =
            Card::<_, cardwire_transport::NoSecureChannel, 1024>::with_capabilities_typed(
                InProcess::new(handler),
                extended(),
            );
        card.set_extended_fallback(true);
        let cmd = CommandRepr::new(Cla::INTERINDUSTRY, ins, 0, 0x80).with_data(&pin);
        let mut buf = [0u8; 258];
        let sw = card.transmit(&cmd, &mut buf).unwrap().sw();
        assert_eq!(sw, StatusWord::WRONG_LENGTH, "{ins}");
        assert_eq!(log(&card).len(), 1, "{ins} was sent once");
        assert!(card.capabilities().extended_length);
    }
    // A command with the secure-messaging class bits is not re-sent either.
    let mut handler = TestCard::new(&ATR_PLAIN, true);
    handler.rejects_extended = true;
    let mut card = Card::<_, cardwire_transport::NoSecureChannel, 1024>::with_capabilities_typed(
        InProcess::new(handler),
        extended(),
    );
    card.set_extended_fallback(true);
    let cmd = CommandRepr::new(Cla(0x0C), Ins::PUT_DATA, 1, 3).with_data(&pin);
    let sw = card.transmit(&cmd, &mut [0u8; 258]).unwrap().sw();
    assert_eq!((sw, log(&card).len()), (StatusWord::WRONG_LENGTH, 1));
    // The same length of PUT DATA in plain is re-sent, chained, with the fallback on.
    let cmd = CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 1, 3).with_data(&pin);
    let sw = card.transmit(&cmd, &mut [0u8; 258]).unwrap().sw();
    assert_eq!(sw, StatusWord::SUCCESS);
    assert_eq!(log(&card).len(), 4, "rejected, then two chained links");
}

#[test]
fn read_binary_goes_on_when_the_card_serves_fewer_bytes_than_asked() {
    // A card that serves 0xDF bytes per READ BINARY with 9000: the read must not stop at the
    // first short answer (it did: 2 048 bytes asked, 223 returned with 9000).
    let mut handler = TestCard::new(&ATR_PLAIN, false);
    handler.max_read = Some(0xDF);
    let mut card = Card::with_capabilities(InProcess::new(handler), short_chaining());
    let mut buf = vec![0u8; FILE_LEN + 2];
    let (data, sw) = card.read_binary(0, 2048, &mut buf).unwrap();
    assert_eq!(sw, StatusWord::SUCCESS);
    assert_eq!(data, &card.transport().handler().file[..2048].to_vec()[..]);
    assert_eq!(log(&card).len(), 2048usize.div_ceil(0xDF));
    // Asking for more than the file holds: the read ends at the end of the file (6282).
    let (data, sw) = card
        .read_binary(0, FILE_LEN + 100, &mut vec![0u8; FILE_LEN + 102])
        .map(|(d, s)| (d.len(), s))
        .unwrap();
    assert_eq!((data, sw), (FILE_LEN, StatusWord::END_OF_FILE));
    // An offset beyond the end: 6B00 and nothing.
    let (data, sw) = card.read_binary(FILE_LEN as u16 + 1, 10, &mut buf).unwrap();
    assert_eq!((data.len(), sw), (0, StatusWord(0x6B00)));
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

/// A transport that counts transactions and the resets that end them.
struct Counting<T> {
    inner: T,
    begun: usize,
    ended: usize,
    reset_at_end: usize,
    inside: bool,
    /// How many commands were sent while a transaction was held.
    sent_inside: usize,
}

impl<T: Transport> Counting<T> {
    fn new(inner: T) -> Self {
        Counting {
            inner,
            begun: 0,
            ended: 0,
            reset_at_end: 0,
            inside: false,
            sent_inside: 0,
        }
    }
}

impl<T: Transport> Transport for Counting<T> {
    type Error = T::Error;
    fn transmit<'b>(&mut self, c: &[u8], r: &'b mut [u8]) -> Result<&'b [u8], T::Error> {
        if self.inside {
            self.sent_inside += 1;
        }
        self.inner.transmit(c, r)
    }
    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }
    fn reset(&mut self) -> Result<(), T::Error> {
        self.inner.reset()
    }
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = T::Error>) -> TransactionEnd,
    ) -> Result<(), T::Error> {
        self.begun += 1;
        self.inside = true;
        let end = body(self);
        self.inside = false;
        self.ended += 1;
        if end == TransactionEnd::Reset {
            self.reset_at_end += 1;
            self.inner.reset()?;
        }
        Ok(())
    }
}

type Plain = CardError<ErrorKind, core::convert::Infallible>;

#[test]
fn transaction_is_held_for_the_body_and_nests() {
    let t = Counting::new(InProcess::new(TestCard::new(&ATR_PLAIN, false)));
    let mut card = Card::with_capabilities(t, short_chaining());
    let data = card
        .transaction(|tx| {
            let mut buf = [0u8; 258];
            tx.transmit(&GET_DATA_6C, &mut buf)?;
            assert!(tx.in_transaction());
            // A nested transaction runs at once, inside the outer one.
            let inner = tx.transaction(|nested| {
                assert!(nested.in_transaction());
                nested
                    .transmit(&GET_DATA_6C, &mut [0u8; 258])
                    .map(|r| r.data().to_vec())
            })??;
            Ok::<_, Plain>(inner)
        })
        .unwrap()
        .unwrap();
    assert_eq!(data, [1, 2, 3, 4, 5]);
    let t = card.transport();
    assert_eq!((t.begun, t.ended, t.reset_at_end), (1, 1, 0));
    // GET DATA and its re-send after 6C05, twice: all four inside the transaction.
    assert_eq!(t.sent_inside, 4);
    assert!(!card.in_transaction());
    // The capabilities and channels lent to the body come back.
    let ch = card.transaction(|tx| tx.open_channel()).unwrap().unwrap();
    assert!(card.is_channel_open(ch));
}

#[test]
fn a_verified_pin_is_reset_at_the_end_of_the_transaction() {
    let verify = CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0, 0x80).with_data(PIN);
    let t = Counting::new(InProcess::new(TestCard::new(&ATR_PLAIN, false)));
    let mut card = Card::with_capabilities(t, short_chaining());
    // No PIN verified: the card is left as it is.
    card.transaction(|tx| tx.transmit(&GET_DATA_6C, &mut [0u8; 258]).map(|_| ()))
        .unwrap()
        .unwrap();
    assert_eq!(card.transport().reset_at_end, 0);
    // A wrong PIN raises nothing either.
    let wrong = CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0, 0x80).with_data(b"0000");
    card.transaction(|tx| tx.transmit(&wrong, &mut [0u8; 258]).map(|_| ()))
        .unwrap()
        .unwrap();
    assert_eq!(card.transport().reset_at_end, 0);
    // VERIFY succeeds: the PIN state must not outlive the transaction.
    card.transaction(|tx| {
        let sw = tx.transmit(&verify, &mut [0u8; 258])?.sw();
        assert!(sw.is_success());
        assert!(tx.security_state_raised());
        Ok::<_, Plain>(())
    })
    .unwrap()
    .unwrap();
    assert_eq!(card.transport().reset_at_end, 1);
    assert!(
        !card.transport().inner.handler().verified,
        "the card was reset"
    );
    assert!(!card.security_state_raised());
    // The documented opt-out keeps the state.
    card.set_release_policy(ReleasePolicy::Leave);
    card.transaction(|tx| tx.transmit(&verify, &mut [0u8; 258]).map(|_| ()))
        .unwrap()
        .unwrap();
    assert_eq!(card.transport().reset_at_end, 1);
    assert!(card.transport().inner.handler().verified);
    // Closing the session applies the policy too.
    card.set_release_policy(ReleasePolicy::ResetWhenAuthenticated);
    let t = card.close().unwrap();
    assert!(!t.inner.handler().verified, "closing reset the card");
}

#[test]
fn a_nested_transaction_leaves_the_reset_to_the_outermost() {
    let verify = CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0, 0x80).with_data(PIN);
    let t = Counting::new(InProcess::new(TestCard::new(&ATR_PLAIN, false)));
    let mut card = Card::with_capabilities(t, short_chaining());
    card.transaction(|tx| {
        tx.transaction(|inner| inner.transmit(&verify, &mut [0u8; 258]).map(|_| ()))??;
        // Still verified after the nested transaction: the outer one goes on with it.
        assert!(tx.security_state_raised());
        Ok::<_, Plain>(())
    })
    .unwrap()
    .unwrap();
    assert_eq!(card.transport().reset_at_end, 1);
    assert!(!card.transport().inner.handler().verified);
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

#[test]
fn the_sessions_own_reads_hold_a_transaction_and_never_reset() {
    let verify = CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0, 0x80).with_data(PIN);
    let t = Counting::new(InProcess::new(TestCard::new(&ATR_PLAIN, false)));
    let mut card = Card::with_capabilities(t, short_chaining());
    assert!(
        card.transmit(&verify, &mut [0u8; 258])
            .unwrap()
            .sw()
            .is_success()
    );
    let mut buf = vec![0u8; FILE_LEN + 2];
    let (data, _) = card.read_binary(0, 1000, &mut buf).unwrap();
    assert_eq!(data.len(), 1000);
    let t = card.transport();
    // The four READ BINARY pieces in one transaction, and the caller's PIN state kept.
    assert_eq!(
        (t.begun, t.ended, t.sent_inside, t.reset_at_end),
        (1, 1, 4, 0)
    );
    assert!(t.inner.handler().verified);
    assert!(card.security_state_raised());
}
