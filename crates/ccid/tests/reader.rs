//! The reader engine against a simulated T=1 card (cardwire-link's card side), a scripted
//! T=0 card, and a simulated keypad; messages as libccid sends them (commands.c,
//! ccid_serial.c).

// Test code: a failing test is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cardwire_ccid::descriptor::{ExchangeLevel, Features, ReaderDescriptor};
use cardwire_ccid::engine::{Key, LineRequest, Reader, ReaderConfig};
use cardwire_ccid::message::{Command, LevelParameter, Message, PowerSelect, Response};
use cardwire_ccid::secure::SecureRequest;
use cardwire_ccid::sim::SimCard;
use cardwire_ccid::{CommandStatus, IccStatus, SlotError};
use cardwire_link::Instant;
use cardwire_pin::{EntryFormat, VerifyStructure};

/// cardwire-link's README T=1 ATR: TA1 96 (Fi 512, Di 32), IFSC FE, BWI 4, CWI 5.
const ATR_T1: [u8; 13] = [
    0x3B, 0x95, 0x96, 0x81, 0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F, 0x50, 0x34, 0x2A,
];

type App = fn(&[u8], &mut [u8]) -> usize;

/// Answers SELECT with 9000, VERIFY with 9000 for PIN "1234" (PIV format) and 63C2
/// otherwise, anything else with 500 bytes of pattern + 9000 when P1 = 0xEE, else echo.
fn app(cmd: &[u8], rsp: &mut [u8]) -> usize {
    match cmd {
        [0x00, 0x20, 0x00, 0x80, 0x08, rest @ ..] => {
            let ok = rest == b"1234\xFF\xFF\xFF\xFF";
            rsp[..2].copy_from_slice(if ok { &[0x90, 0x00] } else { &[0x63, 0xC2] });
            2
        }
        [_, _, 0xEE, ..] => {
            for (i, b) in rsp[..500].iter_mut().enumerate() {
                *b = i as u8;
            }
            rsp[500..502].copy_from_slice(&[0x90, 0x00]);
            502
        }
        _ => cardwire_link::sim::echo_card(cmd, rsp),
    }
}

struct Bench {
    r: Reader<700>,
    card: SimCard<700>,
    now: u64,
    app: App,
    seq: u8,
    timings: Vec<LineRequest>,
}

impl Bench {
    fn new(cfg: ReaderConfig) -> Self {
        let mut r = Reader::new(cfg);
        r.card_inserted(Instant(0));
        assert_eq!(r.poll_interrupt(), Some([0x50, 0x03]));
        Self {
            r,
            card: SimCard::new(&ATR_T1).unwrap(),
            now: 0,
            app,
            seq: 0,
            timings: Vec::new(),
        }
    }

    /// One pass of the driving order; whether anything moved.
    fn step(&mut self) -> bool {
        let mut moved = false;
        let now = Instant(self.now);
        while let Some(req) = self.r.poll_line() {
            if matches!(req, LineRequest::SetTiming(_)) {
                self.timings.push(req);
            }
            self.card.handle_line(req);
            moved = true;
        }
        let mut buf = [0u8; 700];
        while let Some(n) = self.r.poll_card_transmit(&mut buf) {
            let app = self.app;
            self.card
                .handle_input(now, &buf[..n], &mut |c, r| app(c, r));
            moved = true;
        }
        while let Some(n) = self.card.poll_transmit(&mut buf) {
            self.r.handle_card_input(now, &buf[..n]);
            moved = true;
        }
        moved
    }

    /// Runs until a final response comes; returns every response (time extensions too).
    fn run(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let moved = self.step();
            let mut buf = [0u8; 700];
            while let Some(bytes) = self.r.poll_response(&mut buf) {
                let done = bytes[7] & 0xC0 != 0x80;
                out.push(bytes.to_vec());
                if done {
                    self.step();
                    return out;
                }
            }
            if !moved {
                let Some(t) = self.r.poll_timeout() else {
                    return out;
                };
                self.now = self.now.max(t.0);
                self.r.handle_timeout(Instant(self.now));
            }
        }
        panic!("the engine hung");
    }

    fn send(&mut self, cmd: Command<'_>) -> Vec<Vec<u8>> {
        self.seq = self.seq.wrapping_add(1);
        let mut buf = [0u8; 700];
        let bytes = cmd.encode(0, self.seq, &mut buf).unwrap();
        self.r.handle_message(Instant(self.now), bytes);
        let out = self.run();
        for m in &out {
            assert_eq!(m[6], self.seq, "bSeq echoed");
        }
        out
    }

    fn send_final(&mut self, cmd: Command<'_>) -> Vec<u8> {
        let out = self.send(cmd);
        assert_eq!(
            out.iter().filter(|m| m[7] & 0xC0 != 0x80).count(),
            1,
            "exactly one final response"
        );
        out.last().unwrap().clone()
    }
}

/// Parses a bulk-IN message (leaked: tests only, the view borrows its message).
fn parse(bytes: &[u8]) -> (Response<'static>, u8) {
    let m: &'static Message<Vec<u8>> =
        Box::leak(Box::new(Message::new_checked(bytes.to_vec()).unwrap()));
    (Response::parse(m).unwrap(), m.seq())
}

fn power_on(b: &mut Bench) -> Vec<u8> {
    b.send_final(Command::IccPowerOn {
        power: PowerSelect::AUTOMATIC,
    })
}

#[test]
fn power_on_runs_pps_and_returns_the_atr() {
    let mut b = Bench::new(ReaderConfig::default());
    let rsp = power_on(&mut b);
    let (r, _) = parse(&rsp);
    let Response::DataBlock {
        status,
        error,
        data,
        ..
    } = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(status.command(), CommandStatus::OK, "{error:?}");
    assert_eq!(status.icc(), IccStatus::PRESENT_ACTIVE);
    assert_eq!(data, ATR_T1);
    // PPS agreed TA1 96: the UART moves to Fi 512 / Di 32.
    assert!(
        matches!(b.timings.as_slice(), [LineRequest::SetTiming(t)] if t.fi == 512 && t.di == 32)
    );
    let rsp = b.send_final(Command::GetParameters);
    let (r, _) = parse(&rsp);
    let p = r.protocol_data().unwrap().unwrap();
    assert_eq!(p.protocol_num(), 1);
    assert_eq!(p.findex_dindex(), 0x96);
}

#[test]
fn xfr_block_short_apdu() {
    let mut b = Bench::new(ReaderConfig::default());
    power_on(&mut b);
    let select = [0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00];
    let rsp = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &select,
    });
    let (r, _) = parse(&rsp);
    let Response::DataBlock { status, data, .. } = r else {
        panic!()
    };
    assert_eq!(status.command(), CommandStatus::OK);
    // echo_card: the command reversed, then 90 00.
    assert_eq!(data, [0x00, 0x3F, 0x02, 0x00, 0x04, 0xA4, 0x00, 0x90, 0x00]);
    assert_eq!(b.card.commands, 1);
}

#[test]
fn escape_firmware_and_notification_mode() {
    // ccid_serial.c OpenSerialByName: Escape 02 then Escape 01 01 01, both must succeed.
    let mut b = Bench::new(ReaderConfig::default());
    let rsp = b.send_final(Command::Escape { data: &[0x02] });
    let (r, _) = parse(&rsp);
    assert!(matches!(r, Response::Escape { data, .. } if data == b"GemPC Twin cardwire"));
    let rsp = b.send_final(Command::Escape {
        data: &[0x01, 0x01, 0x01],
    });
    let (r, _) = parse(&rsp);
    assert_eq!(r.status().command(), CommandStatus::OK);
    let rsp = b.send_final(Command::Escape { data: &[0x77] });
    assert_eq!(parse(&rsp).0.error(), SlotError::CMD_NOT_SUPPORTED);
}

#[test]
fn malformed_and_foreign_messages() {
    let mut b = Bench::new(ReaderConfig::default());
    let mut out = [0u8; 300];
    // Shorter than a header: nothing to echo, no answer.
    b.r.handle_message(Instant(0), &[0x65, 0, 0]);
    assert!(b.r.poll_response(&mut out).is_none());
    // Slot 1 on a one-slot reader: bError 5 (bSlot), no ICC.
    b.r.handle_message(Instant(0), &[0x65, 0, 0, 0, 0, 1, 9, 0, 0, 0]);
    let rsp = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!(rsp, [0x81, 0, 0, 0, 0, 1, 9, 0x42, 5, 0]);
    // An RFU byte set: bError names its offset.
    b.r.handle_message(Instant(0), &[0x65, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
    let rsp = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!(rsp[8], 9);
    // Unknown type: SlotStatus, command not supported.
    b.r.handle_message(Instant(0), &[0x99, 0, 0, 0, 0, 0, 11, 0, 0, 0]);
    let rsp = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((rsp[0], rsp[6], rsp[7] & 0xC0, rsp[8]), (0x81, 11, 0x40, 0));
    // dwLength disagreeing with the bytes: bError 1.
    b.r.handle_message(Instant(0), &[0x6F, 5, 0, 0, 0, 0, 12, 0, 0, 0, 0x00]);
    let rsp = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((rsp[0], rsp[6], rsp[8]), (0x80, 12, 1));
    assert!(b.r.poll_response(&mut out).is_none());
}

#[test]
fn a_second_message_while_busy_gets_slot_busy() {
    let mut b = Bench::new(ReaderConfig::default());
    power_on(&mut b);
    let mut buf = [0u8; 64];
    let xfr = Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &[0x00, 0xB0, 0x00, 0x00, 0x04],
    }
    .encode(0, 40, &mut buf)
    .unwrap()
    .to_vec();
    b.r.handle_message(Instant(b.now), &xfr);
    let status = Command::GetSlotStatus
        .encode(0, 41, &mut buf)
        .unwrap()
        .to_vec();
    b.r.handle_message(Instant(b.now), &status);
    let mut out = [0u8; 300];
    let busy = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((busy[6], busy[8]), (41, 0xE0));
    let rest = b.run();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0][6], 40);
    assert_eq!(rest[0][7] & 0xC0, 0);
}

#[test]
fn no_card_and_removal() {
    let mut b = Bench::new(ReaderConfig::default());
    b.r.card_removed(Instant(0));
    assert_eq!(b.r.poll_interrupt(), Some([0x50, 0x02]));
    let rsp = power_on(&mut b);
    let (r, _) = parse(&rsp);
    // libccid: bError FE with bmICCStatus 2 is IFD_ICC_NOT_PRESENT (commands.c).
    assert_eq!(r.error(), SlotError::ICC_MUTE);
    assert_eq!(r.status().icc(), IccStatus::NO_ICC);
    let rsp = b.send_final(Command::GetSlotStatus);
    assert_eq!(rsp[7], 0x02);
}

fn verify_secure(min: u8, max: u8) -> Vec<u8> {
    let template = [
        0x00, 0x20, 0x00, 0x80, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    let mut s = VerifyStructure::new(EntryFormat::ascii(8), min, max, &template);
    s.timeout = 10;
    s.entry_validation = cardwire_pin::EntryValidation(0x02);
    let mut out = [0u8; 64];
    SecureRequest::Verify(s).encode(&mut out).unwrap().to_vec()
}

fn secure_with_keys(b: &mut Bench, keys: &[Key]) -> Vec<Vec<u8>> {
    let data = verify_secure(4, 8);
    b.seq += 1;
    let mut buf = [0u8; 128];
    let msg = Command::Secure {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &data,
    }
    .encode(0, b.seq, &mut buf)
    .unwrap()
    .to_vec();
    b.r.handle_message(Instant(b.now), &msg);
    assert!(b.r.is_pin_entry_active());
    // The user takes 2.5 s: time extensions keep the host waiting.
    let mut out = Vec::new();
    let mut rbuf = [0u8; 300];
    for _ in 0..5 {
        b.now += 500_000;
        b.r.handle_timeout(Instant(b.now));
        while let Some(m) = b.r.poll_response(&mut rbuf) {
            out.push(m.to_vec());
        }
    }
    assert!(out.len() >= 2, "time extensions while the user types");
    for m in &out {
        assert_eq!((m[6], m[7], m[8]), (b.seq, 0x80, 1));
    }
    for &k in keys {
        b.r.handle_key(Instant(b.now), k);
    }
    out.extend(b.run());
    out
}

#[test]
fn secure_pin_verification_from_the_keypad() {
    let mut b = Bench::new(ReaderConfig::default());
    power_on(&mut b);
    let keys = [
        Key::Digit(9),
        Key::Backspace,
        Key::Digit(1),
        Key::Digit(2),
        Key::Digit(3),
        Key::Digit(4),
        Key::Enter,
    ];
    let out = secure_with_keys(&mut b, &keys);
    let last = out.last().unwrap();
    let (r, _) = parse(last);
    assert!(
        matches!(
            r,
            Response::DataBlock {
                data: [0x90, 0x00],
                ..
            }
        ),
        "{r:?}"
    );
    // A wrong PIN: the card's 63C2 comes back as data.
    let out = secure_with_keys(
        &mut b,
        &[
            Key::Digit(0),
            Key::Digit(0),
            Key::Digit(0),
            Key::Digit(0),
            Key::Enter,
        ],
    );
    let (r, _) = parse(out.last().unwrap());
    assert!(matches!(
        r,
        Response::DataBlock {
            data: [0x63, 0xC2],
            ..
        }
    ));
    // Too short: the reader answers 6403 itself (PC/SC Part 10), the card sees nothing.
    let before = b.card.commands;
    let out = secure_with_keys(&mut b, &[Key::Digit(1), Key::Enter]);
    let (r, _) = parse(out.last().unwrap());
    assert!(matches!(
        r,
        Response::DataBlock {
            data: [0x64, 0x03],
            ..
        }
    ));
    assert_eq!(b.card.commands, before);
    // Cancel: bError EF (libccid turns it into 6401).
    let out = secure_with_keys(&mut b, &[Key::Digit(1), Key::Cancel]);
    assert_eq!(
        parse(out.last().unwrap()).0.error(),
        SlotError::PIN_CANCELLED
    );
}

#[test]
fn secure_pin_timeout_and_abort() {
    let mut b = Bench::new(ReaderConfig::default());
    power_on(&mut b);
    // No key at all: after bTimeOut (10 s) PIN_TIMEOUT.
    let out = secure_with_keys(&mut b, &[]);
    let last = out.last().unwrap();
    assert_eq!(parse(last).0.error(), SlotError::PIN_TIMEOUT);
    assert_eq!(out.iter().filter(|m| m[7] & 0xC0 != 0x80).count(), 1);
    // Abort during entry: the Secure ends with CMD_ABORTED, then the Abort succeeds.
    let data = verify_secure(4, 8);
    let mut buf = [0u8; 128];
    let msg = Command::Secure {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &data,
    }
    .encode(0, 100, &mut buf)
    .unwrap()
    .to_vec();
    b.r.handle_message(Instant(b.now), &msg);
    let abort = Command::Abort.encode(0, 101, &mut buf).unwrap().to_vec();
    b.r.handle_message(Instant(b.now), &abort);
    let mut out = [0u8; 300];
    let first = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((first[6], first[8]), (100, 0xFF));
    let second = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((second[0], second[6], second[7] & 0xC0), (0x81, 101, 0));
    assert!(!b.r.is_busy());
}

#[test]
fn card_removed_during_exchange() {
    let mut b = Bench::new(ReaderConfig::default());
    power_on(&mut b);
    let mut buf = [0u8; 64];
    let xfr = Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &[0x00, 0xB0, 0x00, 0x00, 0x04],
    }
    .encode(0, 50, &mut buf)
    .unwrap()
    .to_vec();
    b.r.handle_message(Instant(0), &xfr);
    b.r.card_removed(Instant(1));
    let mut out = [0u8; 300];
    let rsp = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((rsp[6], rsp[7], rsp[8]), (50, 0x42, 0xFE));
    assert!(b.r.poll_response(&mut out).is_none());
    assert_eq!(b.r.poll_interrupt(), Some([0x50, 0x02]));
}

fn extended_cfg() -> ReaderConfig {
    ReaderConfig {
        descriptor: ReaderDescriptor {
            exchange: ExchangeLevel::ExtendedApdu,
            ..ReaderDescriptor::default()
        },
        ..ReaderConfig::default()
    }
}

#[test]
fn extended_apdu_chaining_both_ways() {
    let mut b = Bench::new(extended_cfg());
    power_on(&mut b);
    // A 300-byte extended command split over two messages (CCID §6.1.4 wLevelParameter).
    let mut apdu = vec![0x00, 0xDA, 0x00, 0x00, 0x00, 0x01, 0x2C];
    apdu.extend((0..300).map(|i| i as u8));
    let first = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_CONTINUE,
        data: &apdu[..200],
    });
    assert_eq!((first[9], first[1]), (0x10, 0), "bChainParameter 10, empty");
    let end = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::CONTINUE_END,
        data: &apdu[200..],
    });
    // The echo (309 bytes) is longer than one message (261 bytes of data): chained.
    assert_eq!(end[9], 0x01);
    let mut data = end[10..].to_vec();
    assert_eq!(data.len(), 261);
    let more = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::RESPONSE_CONTINUE,
        data: &[],
    });
    assert_eq!(more[9], 0x02);
    data.extend_from_slice(&more[10..]);
    assert_eq!(data.len(), 307 + 2, "echo of the whole extended command");
    assert_eq!(&data[data.len() - 2..], [0x90, 0x00]);
    assert_eq!(
        &data[..3],
        [43, 42, 41],
        "the command reversed: its last bytes first"
    );
    // A 502-byte answer in 261-byte chunks: 01, then 10 → 02.
    let rsp = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &[0x00, 0xB0, 0xEE, 0x00, 0x00, 0x00, 0x00],
    });
    assert_eq!(rsp[9], 0x01);
    let mut all = rsp[10..].to_vec();
    let more = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::RESPONSE_CONTINUE,
        data: &[],
    });
    assert_eq!(more[9], 0x02);
    all.extend_from_slice(&more[10..]);
    assert_eq!(all.len(), 502);
    assert_eq!(&all[498..], [242, 243, 0x90, 0x00]);
}

#[test]
fn short_apdu_reader_refuses_chaining() {
    let mut b = Bench::new(ReaderConfig::default());
    power_on(&mut b);
    let rsp = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_CONTINUE,
        data: &[0x00],
    });
    assert_eq!(rsp[8], 8, "bError: wLevelParameter");
}

fn tpdu_cfg() -> ReaderConfig {
    ReaderConfig {
        descriptor: ReaderDescriptor {
            exchange: ExchangeLevel::Tpdu,
            features: Features(0x0000_0230),
            ..ReaderDescriptor::default()
        },
        ..ReaderConfig::default()
    }
}

#[test]
fn tpdu_level_t1_blocks_and_pps_pass_through() {
    // libccid with a GemPC PinPad (dwFeatures 00010230): PPS and T=1 run in the driver.
    let mut b = Bench::new(tpdu_cfg());
    power_on(&mut b);
    assert!(b.timings.is_empty(), "no automatic PPS at TPDU level");
    let pps = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &[0xFF, 0x11, 0x96, 0x78],
    });
    assert_eq!(&pps[10..], [0xFF, 0x11, 0x96, 0x78]);
    assert_eq!(b.timings.len(), 1);
    // I(0,0) with SELECT: NAD 00 PCB 00 LEN 07 ... LRC.
    let mut block = vec![0x00, 0x00, 0x07, 0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00];
    block.push(block.iter().fold(0, |a, b| a ^ b));
    let rsp = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &block,
    });
    let data = &rsp[10..];
    assert_eq!(&data[..3], [0x00, 0x00, 0x09]);
    assert_eq!(
        &data[3..12],
        [0x00, 0x3F, 0x02, 0x00, 0x04, 0xA4, 0x00, 0x90, 0x00]
    );
    assert_eq!(data.iter().fold(0, |a, b| a ^ b), 0, "LRC");
}

#[test]
fn tpdu_level_secure_wraps_the_apdu_in_the_given_prologue() {
    let mut b = Bench::new(tpdu_cfg());
    power_on(&mut b);
    // libccid puts the I-block prologue (NAD 00, PCB 00 for N(S)=0, LEN) in bTeoPrologue.
    let template = [
        0x00, 0x20, 0x00, 0x80, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    let mut s = VerifyStructure::new(EntryFormat::ascii(8), 4, 8, &template);
    s.teo_prologue = [0x00, 0x00, 13];
    let mut d = [0u8; 64];
    let data = SecureRequest::Verify(s).encode(&mut d).unwrap().to_vec();
    b.seq += 1;
    let mut buf = [0u8; 128];
    let msg = Command::Secure {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &data,
    }
    .encode(0, b.seq, &mut buf)
    .unwrap()
    .to_vec();
    b.r.handle_message(Instant(b.now), &msg);
    for k in [
        Key::Digit(1),
        Key::Digit(2),
        Key::Digit(3),
        Key::Digit(4),
        Key::Enter,
    ] {
        b.r.handle_key(Instant(b.now), k);
    }
    let out = b.run();
    let data = &out.last().unwrap()[10..];
    // The card's I-block: 00 00 02 90 00 LRC.
    assert_eq!(data, [0x00, 0x00, 0x02, 0x90, 0x00, 0x92]);
}

#[test]
fn t0_card_scripted() {
    // A T=0 card (ATR 3B 00) answering READ BINARY with procedure byte INS, data, 90 00
    // (ISO/IEC 7816-3 §10.3.3).
    let mut r: Reader<300> = Reader::new(ReaderConfig::default());
    r.card_inserted(Instant(0));
    r.handle_message(Instant(0), &[0x62, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(r.poll_line(), Some(LineRequest::Activate));
    r.handle_card_input(Instant(10), &[0x3B, 0x00]);
    let mut out = [0u8; 300];
    let atr = r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!(&atr[10..], [0x3B, 0x00]);
    r.handle_message(
        Instant(20),
        &[
            0x6F, 5, 0, 0, 0, 0, 2, 0, 0, 0, 0x00, 0xB0, 0x00, 0x00, 0x02,
        ],
    );
    let mut tx = [0u8; 300];
    let n = r.poll_card_transmit(&mut tx).unwrap();
    assert_eq!(&tx[..n], [0x00, 0xB0, 0x00, 0x00, 0x02]);
    r.handle_card_input(Instant(30), &[0xB0, 0xCA, 0xFE, 0x90, 0x00]);
    let rsp = r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!(
        rsp,
        [0x80, 4, 0, 0, 0, 0, 2, 0, 0, 0, 0xCA, 0xFE, 0x90, 0x00]
    );
    // A mute card: the work waiting time passes, ICC_MUTE.
    r.handle_message(
        Instant(40),
        &[
            0x6F, 5, 0, 0, 0, 0, 3, 0, 0, 0, 0x00, 0xB0, 0x00, 0x00, 0x02,
        ],
    );
    while r.poll_card_transmit(&mut tx).is_some() {}
    let mut finals = 0;
    for _ in 0..100 {
        let Some(t) = r.poll_timeout() else { break };
        r.handle_timeout(t);
        while let Some(m) = r.poll_response(&mut out) {
            assert_eq!(m[6], 3);
            if m[7] & 0xC0 != 0x80 {
                finals += 1;
                assert_eq!(m[8], 0xFE);
            }
        }
        if finals > 0 {
            break;
        }
    }
    assert_eq!(finals, 1);
}

fn xfr(b: &mut Bench, tpdu: &[u8]) -> Vec<u8> {
    let rsp = b.send_final(Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: tpdu,
    });
    rsp[10..].to_vec()
}

#[test]
fn t0_sim_card_behind_a_tpdu_reader() {
    // The simulated T=0 card (cardwire-link's T0Card with the §12.2 mapping in sim.rs)
    // behind the reader's T=0 engine, driven with TPDUs as libccid sends them.
    let mut b = Bench::new(tpdu_cfg());
    let atr = cardwire_ccid::sim::atr_with_protocol(0, &[0x80, 0x31, 0xE4]);
    assert_eq!(atr.as_slice(), [0x3B, 0x03, 0x80, 0x31, 0xE4]);
    b.card = SimCard::new(&atr).unwrap();
    assert_eq!(b.card.protocol(), 0);
    let rsp = power_on(&mut b);
    assert_eq!(&rsp[10..], atr.as_slice());
    let rsp = b.send_final(Command::GetParameters);
    let (r, _) = parse(&rsp);
    assert_eq!(r.protocol_data().unwrap().unwrap().protocol_num(), 0);
    // Case 4 sent as case 3: the application gets SELECT with Le 00 (Ne 256: over T=0 the
    // card cannot know Le, sim.rs `may_answer_data`), and its answer (the echo app's reversed
    // command, Le first) waits for GET RESPONSE behind 61 08 (ISO/IEC 7816-3 §12.2).
    assert_eq!(
        xfr(&mut b, &[0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00]),
        [0x61, 0x08]
    );
    assert_eq!(
        xfr(&mut b, &[0x00, 0xC0, 0x00, 0x00, 0x08]),
        [0x00, 0x00, 0x3F, 0x02, 0x00, 0x04, 0xA4, 0x00, 0x90, 0x00]
    );
    // A case 3 command (VERIFY with data) reaches the application without Le: the echo
    // app's answer waits behind 61 07, and it starts with the PIN block, not a Le.
    assert_eq!(
        xfr(&mut b, &[0x00, 0x20, 0x00, 0x01, 0x02, 0x31, 0x32]),
        [0x61, 0x07]
    );
    assert_eq!(
        xfr(&mut b, &[0x00, 0xC0, 0x00, 0x00, 0x07]),
        [0x32, 0x31, 0x02, 0x01, 0x00, 0x20, 0x00, 0x90, 0x00]
    );
    // Case 2 with a wrong Le: the card answers 6C 05, the reader's T=0 engine re-sends the
    // header with P3 05 and the card gives the kept answer without running the application
    // again (§12.2.2).
    let before = b.card.commands;
    assert_eq!(
        xfr(&mut b, &[0x00, 0xB0, 0x00, 0x00, 0x02]),
        [0x02, 0x00, 0x00, 0xB0, 0x00, 0x90, 0x00]
    );
    assert_eq!(b.card.commands, before + 1);
    // Case 1: VERIFY with P3 = 00 asks for the retry counter: the status word only (the
    // echo app's data has no place on the line).
    assert_eq!(xfr(&mut b, &[0x00, 0x20, 0x00, 0x80, 0x00]), [0x90, 0x00]);
}

/// A card whose answer to GENERAL AUTHENTICATE is 300 bytes (pattern `i as u8`): with Ne 256
/// it gives 256 of them and `61 2C`, the rest to its own GET RESPONSE (ISO/IEC 7816-4 §5.3.4).
fn chaining_app(cmd: &[u8], rsp: &mut [u8]) -> usize {
    match cmd {
        [0x00, 0x87, _, _, lc, body @ ..] if body.len() == usize::from(*lc) + 1 => {
            assert_eq!(body.last(), Some(&0x00), "Ne 256: Le 00 after the data");
            for (i, b) in rsp[..256].iter_mut().enumerate() {
                *b = i as u8;
            }
            rsp[256..258].copy_from_slice(&[0x61, 0x2C]);
            258
        }
        [0x00, 0xC0, 0x00, 0x00, 0x2C] => {
            for (i, b) in rsp[..44].iter_mut().enumerate() {
                *b = (256 + i) as u8;
            }
            rsp[44..46].copy_from_slice(&[0x90, 0x00]);
            46
        }
        _ => {
            rsp[..2].copy_from_slice(&[0x6D, 0x00]);
            2
        }
    }
}

#[test]
fn t0_case_4_answer_longer_than_256_bytes() {
    // The application's own 61xx survives the reader-side GET RESPONSE: the host fetches 256
    // bytes behind 61 00, then the card's 61 2C, then the last 44 bytes and 90 00.
    let mut b = Bench::new(tpdu_cfg());
    b.card = SimCard::new(&cardwire_ccid::sim::atr_with_protocol(0, &[])).unwrap();
    b.app = chaining_app;
    power_on(&mut b);
    assert_eq!(
        xfr(&mut b, &[0x00, 0x87, 0x07, 0x9A, 0x02, 0x7C, 0x00]),
        [0x61, 0x00]
    );
    let first = xfr(&mut b, &[0x00, 0xC0, 0x00, 0x00, 0x00]);
    assert_eq!(first.len(), 258);
    assert_eq!(&first[..3], [0, 1, 2]);
    assert_eq!(&first[256..], [0x61, 0x2C]);
    let rest = xfr(&mut b, &[0x00, 0xC0, 0x00, 0x00, 0x2C]);
    assert_eq!(rest.len(), 46);
    assert_eq!(&rest[..2], [0x00, 0x01]);
    assert_eq!(&rest[44..], [0x90, 0x00]);
}

#[test]
fn t1_atr_with_protocol_is_the_link_readme_layout() {
    let atr = cardwire_ccid::sim::atr_with_protocol(1, &[0x80, 0x31, 0xE4]);
    // TD1 81, TD2 31: TA3 FE (IFSC 254), TB3 45 (BWI 4, CWI 5); TCK makes the XOR 0.
    assert_eq!(&atr[..8], [0x3B, 0x83, 0x81, 0x31, 0xFE, 0x45, 0x80, 0x31]);
    assert_eq!(atr[1..].iter().fold(0, |a, b| a ^ b), 0);
    assert_eq!(SimCard::<300>::new(&atr).unwrap().protocol(), 1);
}

#[test]
fn mute_card_at_power_on() {
    let mut r: Reader<300> = Reader::new(ReaderConfig::default());
    r.card_inserted(Instant(0));
    r.handle_message(Instant(0), &[0x62, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    let mut out = [0u8; 300];
    let rsp = r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((rsp[6], rsp[7] & 0xC0, rsp[8]), (1, 0x40, 0xFE));
    // A bad TS.
    r.handle_message(Instant(0), &[0x62, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
    r.handle_card_input(Instant(1), &[0x12]);
    let rsp = r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((rsp[6], rsp[8]), (2, 0xF8));
}

#[test]
fn data_rate_and_clock_always_carry_the_values() {
    // CCID Rev 1.1 §6.2.5: dwLength is 8 whether the change was accepted or not.
    let mut b = Bench::new(ReaderConfig::default());
    let ok = b.send_final(Command::SetDataRateAndClockFrequency {
        clock_khz: 4000,
        data_rate: 10752,
    });
    let (r, _) = parse(&ok);
    assert_eq!(r.status().command(), CommandStatus::OK);
    let bad = b.send_final(Command::SetDataRateAndClockFrequency {
        clock_khz: 1,
        data_rate: 2,
    });
    let (r, _) = parse(&bad);
    assert!(matches!(
        r,
        Response::DataRateAndClockFrequency {
            clock_khz: 4000,
            data_rate: 10752,
            ..
        }
    ));
    assert_eq!(r.error(), SlotError::bad_parameter(10));
}

#[test]
fn control_abort_then_bulk_abort() {
    // CCID Rev 1.1 §5.3.1: the ABORT class request names the bSeq of the PC_to_RDR_Abort
    // that follows; the running command ends with CMD_ABORTED and other bulk messages are
    // refused with CMD_ABORTED until that Abort arrives.
    let mut b = Bench::new(ReaderConfig::default());
    power_on(&mut b);
    let data = verify_secure(4, 8);
    let mut buf = [0u8; 128];
    let secure = Command::Secure {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &data,
    }
    .encode(0, 60, &mut buf)
    .unwrap()
    .to_vec();
    b.r.handle_message(Instant(b.now), &secure);
    b.r.handle_control_abort(Instant(b.now), 0, 62);
    let mut out = [0u8; 300];
    let first = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((first[6], first[8]), (60, 0xFF));
    let status = Command::GetSlotStatus
        .encode(0, 61, &mut buf)
        .unwrap()
        .to_vec();
    b.r.handle_message(Instant(b.now), &status);
    let refused = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((refused[6], refused[8]), (61, 0xFF));
    let abort = Command::Abort.encode(0, 62, &mut buf).unwrap().to_vec();
    b.r.handle_message(Instant(b.now), &abort);
    let ok = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((ok[0], ok[6], ok[7] & 0xC0), (0x81, 62, 0));
    // Back to normal.
    let status = Command::GetSlotStatus
        .encode(0, 63, &mut buf)
        .unwrap()
        .to_vec();
    b.r.handle_message(Instant(b.now), &status);
    let normal = b.r.poll_response(&mut out).unwrap().to_vec();
    assert_eq!((normal[6], normal[7]), (63, 0x00));
}
