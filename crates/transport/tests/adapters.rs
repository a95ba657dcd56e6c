//! The adapters through the whole session: tracing redaction, replayed transcripts, faults,
//! and capabilities read from the ATR.

mod common;

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_transport::{
    Card, CardError, ErrorKind, Fault, Faulty, FmtSink, InProcess, Replay, Traced, Transport,
};
use common::*;

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn pin_digits_appear_nowhere_in_the_trace() {
    let mut trace = String::new();
    {
        let t = Traced::new(
            InProcess::new(TestCard::new(&ATR_SHORT_CHAINING, false)),
            FmtSink(&mut trace),
        );
        let mut card = Card::open(t).unwrap();
        let mut buf = [0u8; 258];
        let wrong = b"9876";
        for (pin, ins) in [
            (wrong, Ins::VERIFY),
            (b"4711", Ins::VERIFY),
            (b"4711", Ins::CHANGE_REFERENCE_DATA),
            (b"4711", Ins::RESET_RETRY_COUNTER),
        ] {
            let cmd = CommandRepr::new(Cla::INTERINDUSTRY, ins, 0x00, 0x81).with_data(pin);
            card.transmit(&cmd, &mut buf).unwrap();
        }
        // An odd-INS VERIFY and a malformed one straight through the transport.
        let t = card.transport_mut();
        t.transmit(
            &[0x00, 0x21, 0x00, 0x81, 0x04, 0x34, 0x37, 0x31, 0x31],
            &mut buf,
        )
        .unwrap();
        t.transmit(
            &[0x00, 0x20, 0x00, 0x81, 0x09, 0x34, 0x37, 0x31, 0x31],
            &mut buf,
        )
        .unwrap();
    }
    for secret in [&b"4711"[..], b"9876"] {
        assert!(!trace.contains(&hex(secret)), "{trace}");
        assert!(
            !trace.contains(std::str::from_utf8(secret).unwrap()),
            "{trace}"
        );
        // Not even as a run of hex digits without spaces.
        let packed: String = secret.iter().map(|b| format!("{b:02X}")).collect();
        assert!(!trace.contains(&packed), "{trace}");
    }
    assert_eq!(trace.matches("<PIN redacted>").count(), 6, "{trace}");
    assert!(trace.contains("VERIFY"));
    assert!(
        trace.contains("63C2"),
        "the wrong PIN's status is traced: {trace}"
    );
}

#[test]
fn trace_shows_the_decoded_exchange() {
    let mut text = String::new();
    let t = Traced::new(
        InProcess::new(TestCard::new(&ATR_PLAIN, false)),
        FmtSink(&mut text),
    );
    let mut card = Card::open(t).unwrap();
    let mut buf = [0u8; 602];
    let get = CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 1, 2).with_ne(600);
    card.transmit(&get, &mut buf).unwrap();
    drop(card);
    let trace: Vec<&str> = text.lines().collect();
    assert_eq!(trace.len(), 6, "{trace:#?}");
    assert!(
        trace[0].starts_with("> 00 CA 01 02 GET DATA"),
        "{}",
        trace[0]
    );
    assert!(trace[1].contains("(200 bytes) 6100"), "{}", trace[1]);
    assert!(
        trace[2].starts_with("> 00 C0 00 00 GET RESPONSE"),
        "{}",
        trace[2]
    );
}

#[test]
fn capabilities_come_from_the_atr() {
    let card = Card::open(InProcess::new(TestCard::new(&ATR_EXTENDED, true))).unwrap();
    let caps = card.capabilities();
    assert!(caps.extended_length && caps.command_chaining);
    assert_eq!(caps.logical_channels, 4);
    let card = Card::open(InProcess::new(TestCard::new(&ATR_SHORT_CHAINING, false))).unwrap();
    assert!(!card.capabilities().extended_length && card.capabilities().command_chaining);
    let card = Card::open(InProcess::new(TestCard::new(&ATR_PLAIN, false))).unwrap();
    assert_eq!(
        *card.capabilities(),
        cardwire_apdu::exchange::Capabilities::SHORT
    );
}

#[test]
fn extended_or_short_is_chosen_from_the_historical_bytes() {
    for (atr, extended, apdus) in [(&ATR_EXTENDED, true, 1), (&ATR_SHORT_CHAINING, false, 16)] {
        let t = InProcess::new(TestCard::new(atr, extended));
        let mut card: Card<_, cardwire_transport::NoSecureChannel, 4200> =
            Card::open_typed(t).unwrap();
        let mut buf = vec![0u8; FILE_LEN + 2];
        let (data, sw) = card.read_binary(0, FILE_LEN, &mut buf).unwrap();
        assert_eq!((data.len(), sw), (FILE_LEN, StatusWord::SUCCESS));
        assert_eq!(card.transport().handler().log.len(), apdus);
    }
}

#[test]
fn open_sends_nothing_to_the_card() {
    // Historical bytes 80 73 00 00 FB: b6 says EF.ATR/INFO holds the extended length info.
    // Opening (and reconnecting) still sends nothing: no SELECT changes the current EF.
    let atr = [0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xFB];
    let mut card = Card::open(InProcess::new(TestCard::new(&atr, true))).unwrap();
    assert!(card.capabilities().ef_atr_length_info);
    assert!(card.capabilities().extended_length);
    assert!(card.transport().handler().log.is_empty());
    card.reconnect().unwrap();
    assert!(card.transport().handler().log.is_empty());
    // A transcript with an ATR and no response at all: any APDU would fail the open.
    let t = [7, 0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xFB];
    let card = Card::open(Replay::new(&t).unwrap()).unwrap();
    assert!(card.capabilities().ef_atr_length_info);
}

#[test]
fn ef_atr_info_is_read_on_request() {
    // The test card answers SELECT 9000 and READ BINARY with its 4 KiB file, which is not
    // BER-TLV: the capabilities stay those of the historical bytes.
    let atr = [0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xFB];
    let mut card = Card::open(InProcess::new(TestCard::new(&atr, true))).unwrap();
    let before = *card.capabilities();
    assert!(card.read_ef_atr().unwrap());
    let log = &card.transport().handler().log;
    assert_eq!(log[0], [0x00, 0xA4, 0x00, 0x0C, 0x02, 0x2F, 0x01]);
    assert_eq!(log[1], [0x00, 0xB0, 0x00, 0x00, 0x00]);
    assert_eq!(*card.capabilities(), before);
}

#[test]
fn ef_atr_length_info_is_applied_from_a_replayed_card() {
    // ATR announcing EF.ATR length info; SELECT -> 9000; READ BINARY -> 7F66 with
    // 1033-byte commands and 1026-byte responses (ISO/IEC 7816-4 §12.7.1).
    let mut t = vec![7, 0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xFB];
    t.extend_from_slice(&[0, 2, 0x90, 0x00]);
    let ef = [
        0x7F, 0x66, 0x08, 0x02, 0x02, 0x04, 0x09, 0x02, 0x02, 0x04, 0x02, 0x90, 0x00,
    ];
    t.extend_from_slice(&[0, ef.len() as u8]);
    t.extend_from_slice(&ef);
    let mut card = Card::open(Replay::new(&t).unwrap()).unwrap();
    assert_eq!(card.capabilities().max_command_data, 65_535);
    assert!(card.read_ef_atr().unwrap());
    assert_eq!(card.capabilities().max_command_data, 1024);
    assert_eq!(card.capabilities().max_response_data, 1024);
}

#[test]
fn replayed_transcript_drives_the_session() {
    // SELECT answered 6110, GET RESPONSE brings 16 bytes; then the card is gone.
    let mut t = vec![2, 0x3B, 0x00];
    t.extend_from_slice(&[0, 2, 0x61, 0x10]);
    t.extend_from_slice(&[0, 18]);
    t.extend((0..16u8).chain([0x90, 0x00]));
    let mut card = Card::open(Replay::new(&t).unwrap()).unwrap();
    let mut buf = [0u8; 258];
    let select = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 4, 0)
        .with_data(&[0xA0])
        .with_ne(256);
    let rsp = card.transmit(&select, &mut buf).unwrap();
    assert_eq!(rsp.data(), (0..16u8).collect::<Vec<_>>().as_slice());
    assert_eq!(
        card.transmit(&select, &mut buf).unwrap_err(),
        CardError::Transport(ErrorKind::CardRemoved)
    );
}

#[test]
fn injected_faults_surface_as_typed_errors() {
    let mut t = Faulty::new(InProcess::new(TestCard::new(&ATR_PLAIN, false)));
    t.inject(0, Fault::Fail(ErrorKind::Timeout)).unwrap();
    t.inject(1, Fault::Truncate(1)).unwrap();
    t.inject(3, Fault::LoseResponse(ErrorKind::CardReset))
        .unwrap();
    let mut card = Card::open(t).unwrap();
    let mut buf = [0u8; 602];
    let get = CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 1, 2).with_ne(600);
    assert_eq!(
        card.transmit(&get, &mut buf).unwrap_err().kind(),
        ErrorKind::Timeout
    );
    assert_eq!(
        card.transmit(&get, &mut buf).unwrap_err(),
        CardError::MalformedResponse
    );
    // Fails in the middle of GET RESPONSE: the card was reset meanwhile.
    let err = card.transmit(&get, &mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CardReset);
    card.reconnect().unwrap();
    let rsp = card.transmit(&get, &mut buf).unwrap();
    assert_eq!(rsp.data().len(), 600);
}

#[test]
fn a_transaction_through_the_adapters_is_traced_and_nests() {
    // Traced over Faulty over the card: the transaction goes through both adapters, the
    // commands inside are traced, and a nested transaction (same adapter types inside)
    // compiles to a finite set of types.
    let mut text = String::new();
    let t = Traced::new(
        Faulty::new(InProcess::new(TestCard::new(&ATR_PLAIN, false))),
        FmtSink(&mut text),
    );
    let mut card = Card::open(t).unwrap();
    let sw = card
        .transaction(|tx| {
            tx.transaction(|inner| {
                let get = CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 1, 1).with_ne(5);
                inner.transmit(&get, &mut [0u8; 16]).map(|r| r.sw())
            })
        })
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(sw, StatusWord::SUCCESS);
    drop(card);
    assert!(text.starts_with("> 00 CA 01 01 GET DATA"), "{text}");
}
