//! The host-side exchange engine driven by scripted card transcripts (command → response pairs).
//!
//! The T=0 flows follow EMV Book 1 (v4.4) Annex A, "Examples of Exchanges Using T=0": A1 case 1,
//! A2 case 2 with `6Cxx`, A3 case 3, A4 case 4 with `61xx`, A5 case 2 with `61xx` and `6Cxx`,
//! A6 case 4 with a warning. The command bytes and data below are chosen for these tests; the
//! exchange patterns are Annex A's.

// Test code: a failing test is a panic by design (clippy.toml allows this in #[test] fns,
// not in the helpers they share).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_apdu::exchange::{Capabilities, Completed, Exchange, Limits, Step};
use cardwire_apdu::{Cla, CommandRepr, Error, Ins, Response, StatusWord};

/// One expected wire command and the card's answer.
type Turn<'a> = (&'a [u8], &'a [u8]);

/// Runs `cmd` against the transcript, asserting every wire command, and returns the final
/// response bytes. Panics if the engine wants more turns than the transcript has. Runs it twice:
/// answers given to [`Exchange::handle_response`], and answers received in place
/// ([`Exchange::answer_space`], [`Exchange::handle_response_in_place`]); both must agree.
fn run(cmd: CommandRepr<'_>, caps: Capabilities, transcript: &[Turn<'_>]) -> (Vec<u8>, Completed) {
    let copied = run_with(cmd, caps, transcript, false);
    let in_place = run_with(cmd, caps, transcript, true);
    assert_eq!(copied, in_place, "in-place answers");
    copied
}

fn run_with(
    cmd: CommandRepr<'_>,
    caps: Capabilities,
    transcript: &[Turn<'_>],
    in_place: bool,
) -> (Vec<u8>, Completed) {
    let mut out = vec![0u8; 70_000];
    let mut tx = vec![0u8; 70_000];
    let mut ex = Exchange::new(cmd, caps, &mut out).unwrap();
    let mut turns = transcript.iter();
    let done = loop {
        let wire = ex.poll_transmit(&mut tx).unwrap().to_vec();
        let (expected, answer) = turns
            .next()
            .expect("engine sent more commands than scripted");
        assert_eq!(hex(&wire), hex(expected), "wire command");
        let step = if in_place {
            ex.answer_space()[..answer.len()].copy_from_slice(answer);
            ex.handle_response_in_place(answer.len())
        } else {
            ex.handle_response(answer)
        };
        match step.unwrap() {
            Step::Continue => {}
            Step::Done(done) => break done,
        }
    };
    assert!(
        turns.next().is_none(),
        "engine stopped before the end of the transcript"
    );
    assert_eq!(ex.wire_apdus() as usize, transcript.len());
    (out[..done.len].to_vec(), done)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn t0() -> Capabilities {
    Capabilities {
        get_response_after_warning: true,
        ..Capabilities::SHORT
    }
}

const AID: &[u8] = &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10];

#[test]
fn annex_a1_case_1() {
    let cmd = CommandRepr::new(Cla(0x00), Ins(0x44), 0x00, 0x00);
    let (rsp, done) = run(cmd, t0(), &[(&[0x00, 0x44, 0x00, 0x00], &[0x90, 0x00])]);
    assert_eq!(rsp, [0x90, 0x00]);
    assert_eq!(done.sw, StatusWord::SUCCESS);
}

#[test]
fn annex_a2_case_2_with_6cxx() {
    // READ RECORD 1 of SFI 1 with Le 00; the card asks for Le 1C, then answers 28 bytes.
    let record: Vec<u8> = (0..0x1C).collect();
    let mut answer = record.clone();
    answer.extend([0x90, 0x00]);
    let cmd = CommandRepr::new(Cla(0x00), Ins::READ_RECORD, 0x01, 0x0C).with_ne(256);
    let (rsp, done) = run(
        cmd,
        t0(),
        &[
            (&[0x00, 0xB2, 0x01, 0x0C, 0x00], &[0x6C, 0x1C]),
            (&[0x00, 0xB2, 0x01, 0x0C, 0x1C], &answer),
        ],
    );
    assert_eq!(rsp, answer);
    assert_eq!(done.data_len(), 0x1C);
}

#[test]
fn annex_a3_case_3() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::UPDATE_BINARY, 0x00, 0x00).with_data(&[1, 2, 3]);
    let (rsp, _) = run(
        cmd,
        t0(),
        &[(&[0x00, 0xD6, 0, 0, 3, 1, 2, 3], &[0x90, 0x00])],
    );
    assert_eq!(rsp, [0x90, 0x00]);
}

#[test]
fn annex_a4_case_4_with_61xx() {
    let fci: Vec<u8> = (0..0x20).map(|i| i as u8 ^ 0x5A).collect();
    let mut last = fci.clone();
    last.extend([0x90, 0x00]);
    let cmd = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x00)
        .with_data(AID)
        .with_ne(256);
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x07];
    select.extend(AID);
    select.push(0x00);
    let (rsp, done) = run(
        cmd,
        t0(),
        &[
            (&select, &[0x61, 0x20]),
            (&[0x00, 0xC0, 0x00, 0x00, 0x20], &last),
        ],
    );
    assert_eq!(rsp, last);
    assert_eq!(done.sw, StatusWord::SUCCESS);
}

#[test]
fn annex_a5_case_2_with_61xx_then_6cxx() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::GET_DATA, 0x9F, 0x36).with_ne(256);
    let (rsp, _) = run(
        cmd,
        t0(),
        &[
            (&[0x00, 0xCA, 0x9F, 0x36, 0x00], &[0x61, 0x05]),
            (&[0x00, 0xC0, 0x00, 0x00, 0x05], &[0x6C, 0x05]),
            (
                &[0x00, 0xC0, 0x00, 0x00, 0x05],
                &[0x9F, 0x36, 0x02, 0x00, 0x2A, 0x90, 0x00],
            ),
        ],
    );
    assert_eq!(rsp, [0x9F, 0x36, 0x02, 0x00, 0x2A, 0x90, 0x00]);
}

#[test]
fn annex_a6_case_4_warning_is_kept_over_9000() {
    // GENERATE AC-like case 4 command answered 6283 with no data: GET RESPONSE Le 00, the card
    // corrects Le with 6Cxx, the data comes with 9000 — the final status stays 6283.
    let cmd = CommandRepr::new(Cla(0x80), Ins(0xAE), 0x80, 0x00)
        .with_data(&[0x11; 4])
        .with_ne(256);
    let (rsp, done) = run(
        cmd,
        t0(),
        &[
            (
                &[0x80, 0xAE, 0x80, 0x00, 0x04, 0x11, 0x11, 0x11, 0x11, 0x00],
                &[0x62, 0x83],
            ),
            (&[0x00, 0xC0, 0x00, 0x00, 0x00], &[0x6C, 0x03]),
            (
                &[0x00, 0xC0, 0x00, 0x00, 0x03],
                &[0xAA, 0xBB, 0xCC, 0x90, 0x00],
            ),
        ],
    );
    assert_eq!(rsp, [0xAA, 0xBB, 0xCC, 0x62, 0x83]);
    assert_eq!(done.sw, StatusWord(0x6283));
}

#[test]
fn warning_kept_through_61xx_chain_and_over_a_failed_get_response() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x00)
        .with_data(AID)
        .with_ne(256);
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x07];
    select.extend(AID);
    select.push(0x00);
    let (rsp, _) = run(
        cmd,
        t0(),
        &[
            (&select, &[0x63, 0xC2]),
            (&[0x00, 0xC0, 0x00, 0x00, 0x00], &[0x01, 0x61, 0x01]),
            (&[0x00, 0xC0, 0x00, 0x00, 0x01], &[0x02, 0x90, 0x00]),
        ],
    );
    assert_eq!(rsp, [0x01, 0x02, 0x63, 0xC2]);
    let (rsp, _) = run(
        cmd,
        t0(),
        &[
            (&select, &[0x62, 0x83]),
            (&[0x00, 0xC0, 0x00, 0x00, 0x00], &[0x6A, 0x88]),
        ],
    );
    assert_eq!(rsp, [0x62, 0x83]);
}

#[test]
fn warning_without_the_t0_rule_is_final_at_once() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x00)
        .with_data(AID)
        .with_ne(256);
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x07];
    select.extend(AID);
    select.push(0x00);
    let (rsp, _) = run(cmd, Capabilities::SHORT, &[(&select, &[0x62, 0x83])]);
    assert_eq!(rsp, [0x62, 0x83]);
    // A warning on a case 2 command is final even with the T=0 rule.
    let cmd = CommandRepr::new(Cla(0x00), Ins::READ_BINARY, 0, 0).with_ne(16);
    let (rsp, _) = run(cmd, t0(), &[(&[0, 0xB0, 0, 0, 0x10], &[1, 2, 0x62, 0x82])]);
    assert_eq!(rsp, [1, 2, 0x62, 0x82]);
}

#[test]
fn get_response_keeps_the_logical_channel() {
    // Channel 2 with SM header authenticated: GET RESPONSE goes out as CLA 02.
    let cmd = CommandRepr::new(Cla(0x0E), Ins::READ_BINARY, 0, 0).with_ne(4);
    let (rsp, _) = run(
        cmd,
        Capabilities::SHORT,
        &[
            (&[0x0E, 0xB0, 0, 0, 4], &[0x61, 0x02]),
            (&[0x02, 0xC0, 0, 0, 2], &[7, 8, 0x90, 0x00]),
        ],
    );
    assert_eq!(rsp, [7, 8, 0x90, 0x00]);
    // Channel 9 (further interindustry, SM): CLA 45.
    let cmd = CommandRepr::new(Cla(0x65), Ins::READ_BINARY, 0, 0).with_ne(4);
    let (rsp, _) = run(
        cmd,
        Capabilities::SHORT,
        &[
            (&[0x65, 0xB0, 0, 0, 4], &[9, 0x61, 0x00]),
            (&[0x45, 0xC0, 0, 0, 0], &[10, 0x90, 0x00]),
        ],
    );
    assert_eq!(rsp, [9, 10, 0x90, 0x00]);
}

#[test]
fn long_response_in_many_parts() {
    // 600 bytes served as 256 + 256 + 88 after a 61xx cascade.
    let data: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
    let mut a1 = data[..256].to_vec();
    a1.extend([0x61, 0x00]);
    let mut a2 = data[256..512].to_vec();
    a2.extend([0x61, 88]);
    let mut a3 = data[512..].to_vec();
    a3.extend([0x90, 0x00]);
    let cmd = CommandRepr::new(Cla(0x00), Ins::READ_BINARY, 0, 0).with_ne(65_536);
    let (rsp, done) = run(
        cmd,
        Capabilities::SHORT,
        &[
            // Ne 65 536 on a short-only card asks for 256.
            (&[0, 0xB0, 0, 0, 0x00], &a1),
            (&[0, 0xC0, 0, 0, 0x00], &a2),
            (&[0, 0xC0, 0, 0, 88], &a3),
        ],
    );
    assert_eq!(&rsp[..600], &data[..]);
    assert_eq!(done.len, 602);
}

#[test]
fn command_chaining_on_a_short_card() {
    let data: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
    let cmd = CommandRepr::new(Cla(0x01), Ins::PERFORM_SECURITY_OPERATION, 0x9E, 0x9A)
        .with_data(&data)
        .with_ne(256);
    let mut l1 = vec![0x11, 0x2A, 0x9E, 0x9A, 0xFF];
    l1.extend(&data[..255]);
    let mut l2 = vec![0x11, 0x2A, 0x9E, 0x9A, 0xFF];
    l2.extend(&data[255..510]);
    let mut l3 = vec![0x01, 0x2A, 0x9E, 0x9A, 90];
    l3.extend(&data[510..]);
    l3.push(0x00);
    let (rsp, _) = run(
        cmd,
        Capabilities::SHORT_CHAINING,
        &[
            (&l1, &[0x90, 0x00]),
            (&l2, &[0x90, 0x00]),
            (&l3, &[0xAB, 0x90, 0x00]),
        ],
    );
    assert_eq!(rsp, [0xAB, 0x90, 0x00]);
}

#[test]
fn refused_chain_link_ends_the_exchange() {
    let data = [0u8; 300];
    let cmd = CommandRepr::new(Cla(0x00), Ins::PUT_DATA, 0x3F, 0xFF).with_data(&data);
    let mut l1 = vec![0x10, 0xDA, 0x3F, 0xFF, 0xFF];
    l1.extend(&data[..255]);
    let (rsp, done) = run(cmd, Capabilities::SHORT_CHAINING, &[(&l1, &[0x68, 0x84])]);
    assert_eq!(rsp, [0x68, 0x84]);
    assert_eq!(done.sw, StatusWord::CHAINING_NOT_SUPPORTED);
}

#[test]
fn extended_length_where_supported() {
    let data = vec![0x42u8; 600];
    let cmd = CommandRepr::new(Cla(0x00), Ins::UPDATE_BINARY, 0, 0).with_data(&data);
    let mut wire = vec![0x00, 0xD6, 0, 0, 0x00, 0x02, 0x58];
    wire.extend(&data);
    let (rsp, _) = run(cmd, Capabilities::EXTENDED, &[(&wire, &[0x90, 0x00])]);
    assert_eq!(rsp, [0x90, 0x00]);
    // A card with a smaller extended buffer gets a chain of extended links.
    let caps = Capabilities {
        max_command_data: 400,
        ..Capabilities::EXTENDED
    };
    let mut l1 = vec![0x10, 0xD6, 0, 0, 0x00, 0x01, 0x90];
    l1.extend(&data[..400]);
    let mut l2 = vec![0x00, 0xD6, 0, 0, 0xC8];
    l2.extend(&data[400..]);
    let (rsp, _) = run(cmd, caps, &[(&l1, &[0x90, 0x00]), (&l2, &[0x90, 0x00])]);
    assert_eq!(rsp, [0x90, 0x00]);
}

#[test]
fn too_long_without_chaining_is_a_typed_error() {
    let data = [0u8; 256];
    let cmd = CommandRepr::new(Cla(0x00), Ins::UPDATE_BINARY, 0, 0).with_data(&data);
    let mut out = [0u8; 16];
    assert_eq!(
        Exchange::new(cmd, Capabilities::SHORT, &mut out).unwrap_err(),
        Error::CommandTooLong { len: 256 }
    );
}

#[test]
fn endless_61xx_is_bounded() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::READ_BINARY, 0, 0).with_ne(256);
    let mut out = vec![0u8; 70_000];
    let mut tx = [0u8; 300];
    let limits = Limits {
        max_get_response: 5,
        ..Limits::DEFAULT
    };
    let mut ex = Exchange::with_limits(cmd, Capabilities::SHORT, limits, &mut out).unwrap();
    let mut rounds = 0;
    let err = loop {
        rounds += 1;
        assert!(rounds < 100, "unbounded");
        ex.poll_transmit(&mut tx).unwrap();
        match ex.handle_response(&[0x61, 0x01]) {
            Ok(Step::Continue) => {}
            Ok(Step::Done(_)) => panic!("no final status was sent"),
            Err(e) => break e,
        }
    };
    assert_eq!(err, Error::TooManyGetResponses { limit: 5 });
    assert_eq!(rounds, 6);
    // The engine stays failed.
    assert_eq!(ex.poll_transmit(&mut tx).unwrap_err(), Error::InvalidState);
    assert_eq!(
        ex.handle_response(&[0x90, 0x00]).unwrap_err(),
        Error::InvalidState
    );
}

#[test]
fn endless_6cxx_is_bounded() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::READ_BINARY, 0, 0).with_ne(256);
    let mut out = [0u8; 300];
    let mut tx = [0u8; 300];
    let mut ex = Exchange::new(cmd, Capabilities::SHORT, &mut out).unwrap();
    let mut rounds = 0;
    let err = loop {
        rounds += 1;
        assert!(rounds < 100, "unbounded");
        ex.poll_transmit(&mut tx).unwrap();
        if let Err(e) = ex.handle_response(&[0x6C, 0x10]) {
            break e;
        }
    };
    assert_eq!(
        err,
        Error::TooManyResends {
            limit: Limits::DEFAULT.max_resend
        }
    );
}

#[test]
fn response_never_exceeds_the_callers_buffer() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::READ_BINARY, 0, 0).with_ne(256);
    let mut out = [0u8; 10];
    let mut tx = [0u8; 300];
    let mut ex = Exchange::new(cmd, Capabilities::SHORT, &mut out).unwrap();
    ex.poll_transmit(&mut tx).unwrap();
    assert_eq!(
        ex.handle_response(&[0; 6 + 2]).unwrap(),
        Step::Done(Completed {
            len: 8,
            sw: StatusWord(0)
        })
    );
    let mut ex = Exchange::new(cmd, Capabilities::SHORT, &mut out).unwrap();
    ex.poll_transmit(&mut tx).unwrap();
    // 5 bytes then 61 05: 5 + 5 + SW = 12 > 10.
    assert_eq!(
        ex.handle_response(&[1, 2, 3, 4, 5, 0x61, 0x05]).unwrap(),
        Step::Continue
    );
    ex.poll_transmit(&mut tx).unwrap();
    assert_eq!(
        ex.handle_response(&[6, 7, 8, 9, 10, 0x90, 0x00])
            .unwrap_err(),
        Error::ResponseBufferFull { capacity: 10 }
    );
}

#[test]
fn driving_errors_are_typed() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::GET_CHALLENGE, 0, 0).with_ne(8);
    let mut out = [0u8; 32];
    let mut ex = Exchange::new(cmd, Capabilities::SHORT, &mut out).unwrap();
    // An answer before any command.
    assert_eq!(
        ex.handle_response(&[0x90, 0x00]).unwrap_err(),
        Error::InvalidState
    );
    // A transmit buffer too small changes nothing.
    assert_eq!(
        ex.poll_transmit(&mut [0u8; 3]).unwrap_err(),
        Error::BufferTooSmall { needed: 5 }
    );
    let mut tx = [0u8; 8];
    assert_eq!(ex.poll_transmit(&mut tx).unwrap(), &[0x00, 0x84, 0, 0, 8]);
    // poll_transmit again gives the same APDU.
    assert_eq!(ex.poll_transmit(&mut tx).unwrap(), &[0x00, 0x84, 0, 0, 8]);
    assert_eq!(
        ex.handle_response(&[0x90]).unwrap_err(),
        Error::Truncated {
            offset: 1,
            needed: 1
        }
    );
    assert_eq!(ex.poll_transmit(&mut tx).unwrap_err(), Error::InvalidState);
    let mut tiny = [0u8; 1];
    assert_eq!(
        Exchange::new(cmd, Capabilities::SHORT, &mut tiny).unwrap_err(),
        Error::BufferTooSmall { needed: 2 }
    );
}

#[test]
fn completed_response_parses() {
    let cmd = CommandRepr::new(Cla(0x00), Ins::GET_CHALLENGE, 0, 0).with_ne(4);
    let (rsp, _) = run(
        cmd,
        Capabilities::SHORT,
        &[(&[0, 0x84, 0, 0, 4], &[1, 2, 3, 4, 0x90, 0x00])],
    );
    let r = Response::new_checked(&rsp[..]).unwrap();
    assert_eq!(r.data(), &[1, 2, 3, 4]);
    assert!(r.sw().is_success());
}

#[test]
fn capabilities_from_historical_bytes() {
    // Historical bytes 80 73 C0 21 C0: category 80, card capabilities (tag 7, len 3):
    // third byte C0 = command chaining and extended Lc/Le (ISO/IEC 7816-4 §8.1.1.2.7 Table 87).
    let hist =
        cardwire_tlv::compact::HistoricalBytes::parse(&[0x80, 0x73, 0xC0, 0x21, 0xC0]).unwrap();
    let caps = Capabilities::from_historical_bytes(&hist);
    assert!(caps.extended_length);
    assert!(caps.command_chaining);
    assert_eq!(caps.max_response_data, 65_536);
    let none = cardwire_tlv::compact::HistoricalBytes::parse(&[]).unwrap();
    assert_eq!(
        Capabilities::from_historical_bytes(&none),
        Capabilities::SHORT
    );
}

#[test]
fn in_place_answers_are_bounded_by_the_callers_buffer() {
    // SELECT answered 61 10 with 8 data bytes into a 12-byte buffer: the GET RESPONSE answer
    // (16 bytes) does not fit the 4 bytes left.
    let cmd = CommandRepr::new(Cla(0), Ins::SELECT, 4, 0)
        .with_data(AID)
        .with_ne(256);
    let mut out = [0u8; 12];
    let mut tx = [0u8; 64];
    let mut ex = Exchange::new(cmd, Capabilities::SHORT, &mut out).unwrap();
    ex.poll_transmit(&mut tx).unwrap();
    let first = [1, 2, 3, 4, 5, 6, 7, 8, 0x61, 0x10];
    ex.answer_space()[..first.len()].copy_from_slice(&first);
    assert_eq!(ex.handle_response_in_place(first.len()), Ok(Step::Continue));
    ex.poll_transmit(&mut tx).unwrap();
    assert_eq!(ex.answer_space().len(), 4);
    assert_eq!(
        ex.handle_response_in_place(18),
        Err(Error::ResponseBufferFull { capacity: 12 })
    );
    // Failed: no more answer space, no more answers.
    assert!(ex.answer_space().is_empty());
    assert_eq!(ex.handle_response_in_place(2), Err(Error::InvalidState));
}

#[test]
fn in_place_answer_shorter_than_a_status_word_is_truncated() {
    let cmd = CommandRepr::new(Cla(0), Ins::READ_BINARY, 0, 0).with_ne(16);
    let mut out = [0u8; 32];
    let mut tx = [0u8; 8];
    let mut ex = Exchange::new(cmd, Capabilities::SHORT, &mut out).unwrap();
    assert_eq!(ex.handle_response_in_place(2), Err(Error::InvalidState));
    let mut ex = Exchange::new(cmd, Capabilities::SHORT, &mut out).unwrap();
    ex.poll_transmit(&mut tx).unwrap();
    assert_eq!(
        ex.handle_response_in_place(1),
        Err(Error::Truncated {
            offset: 1,
            needed: 1
        })
    );
}
