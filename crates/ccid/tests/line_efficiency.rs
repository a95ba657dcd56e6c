//! T=1 line efficiency end to end through the CCID path, on a simulated clock: a host's
//! `PC_to_RDR_XfrBlock` (short APDU level, automatic PPS) goes through the reader engine,
//! cardwire-link's T=1 reader, a simulated UART and the card side of T=1 ([`SimCard`]) and
//! back, and the time the line needs is counted in etu: every character takes 12 etu
//! (start, 8 data, parity, 2 guard: ISO/IEC 7816-3 §7.2, N = 0), and a block sent after a
//! block in the other direction starts at least BGT = 22 etu after the leading edge of the
//! last character received (§11.4.3). Card processing and USB are taken as instantaneous: the
//! figure is the protocol's cost on the card line, which is the bottleneck (a full-speed
//! USB bulk pipe carries 64 bytes per frame, far above the fastest card line).
//!
//! The efficiency is the response APDU's bytes over the characters the line could have carried
//! in the same time (the physical payload rate, bit rate / 12 characters per second). Being
//! computed from the simulated clock, it is exact and reproducible; the figures are printed
//! (`cargo test -p cardwire-ccid --test line_efficiency -- --nocapture`) and written up in
//! docs/PERFORMANCE.md (## ccid).

// Test code: a failing test is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_precision_loss
)]

use cardwire_ccid::descriptor::ReaderDescriptor;
use cardwire_ccid::engine::{LineRequest, Reader, ReaderConfig};
use cardwire_ccid::message::{Command, LevelParameter, PowerSelect};
use cardwire_ccid::sim::SimCard;
use cardwire_link::{Instant, Timing};

/// Characters are 12 etu (N = 0).
const CHAR_ETU: u64 = 12;
/// Block guard time between the leading edges of the last character of a block and the first
/// character of the next block in the other direction (§11.4.3).
const BGT_ETU: u64 = 22;

/// READ BINARY answers `Le` bytes (P3 00 = 256) then 90 00.
fn app(cmd: &[u8], rsp: &mut [u8]) -> usize {
    match cmd {
        [_, 0xB0, _, _, le] => {
            let n = if *le == 0 { 256 } else { usize::from(*le) };
            for (i, b) in rsp[..n].iter_mut().enumerate() {
                *b = i as u8;
            }
            rsp[n..n + 2].copy_from_slice(&[0x90, 0x00]);
            n + 2
        }
        _ => {
            rsp[..2].copy_from_slice(&[0x6D, 0x00]);
            2
        }
    }
}

/// One etu, F / (D × f), in picoseconds.
fn etu_ps(t: Timing) -> u64 {
    u64::from(t.fi) * 1_000_000_000_000 / (u64::from(t.di.max(1)) * u64::from(t.clock_hz))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToCard,
    ToReader,
}

struct Line {
    reader: Reader<600>,
    card: SimCard<600>,
    /// Simulated time in picoseconds.
    now_ps: u64,
    etu_ps: u64,
    /// Leading edge of the last character on the line, and its direction.
    last: Option<(Dir, u64)>,
    seq: u8,
}

impl Line {
    fn new(clock_hz: u32, atr: &[u8]) -> Self {
        let cfg = ReaderConfig {
            descriptor: ReaderDescriptor {
                default_clock_khz: clock_hz / 1000,
                maximum_clock_khz: clock_hz / 1000,
                max_data_rate: 500_000,
                ..ReaderDescriptor::default()
            },
            clock_hz,
            ..ReaderConfig::default()
        };
        let mut reader = Reader::new(cfg);
        reader.card_inserted(Instant(0));
        let _ = reader.poll_interrupt();
        Self {
            reader,
            card: SimCard::new(atr).unwrap(),
            now_ps: 0,
            etu_ps: etu_ps(Timing::new(clock_hz, 372, 1)),
            last: None,
            seq: 0,
        }
    }

    fn now(&self) -> Instant {
        Instant(self.now_ps / 1_000_000)
    }

    /// Puts `n` characters on the line in direction `dir`; returns when the last one has
    /// arrived.
    fn transmit(&mut self, dir: Dir, n: usize) {
        let mut start = self.now_ps;
        if let Some((d, edge)) = self.last {
            if d != dir {
                start = start.max(edge + BGT_ETU * self.etu_ps);
            }
        }
        let n = n as u64;
        self.last = Some((dir, start + (n - 1) * CHAR_ETU * self.etu_ps));
        self.now_ps = start + n * CHAR_ETU * self.etu_ps;
    }

    fn pump(&mut self) -> bool {
        let mut moved = false;
        while let Some(req) = self.reader.poll_line() {
            if let LineRequest::SetTiming(t) = req {
                self.etu_ps = etu_ps(t);
            }
            self.card.handle_line(req);
            moved = true;
        }
        let mut buf = [0u8; 600];
        while let Some(n) = self.reader.poll_card_transmit(&mut buf) {
            self.transmit(Dir::ToCard, n);
            let now = self.now();
            self.card.handle_input(now, &buf[..n], &mut app);
            moved = true;
        }
        while let Some(n) = self.card.poll_transmit(&mut buf) {
            self.transmit(Dir::ToReader, n);
            self.reader.handle_card_input(self.now(), &buf[..n]);
            moved = true;
        }
        moved
    }

    /// Sends one message and runs until its final answer; returns the answer.
    fn send(&mut self, cmd: Command<'_>) -> Vec<u8> {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = [0u8; 600];
        let bytes = cmd.encode(0, self.seq, &mut msg).unwrap();
        self.reader.handle_message(self.now(), bytes);
        for _ in 0..100_000 {
            let moved = self.pump();
            let mut out = [0u8; 600];
            if let Some(rsp) = self.reader.poll_response(&mut out) {
                if rsp[7] & 0xC0 != 0x80 {
                    assert_eq!(rsp[6], self.seq);
                    return rsp.to_vec();
                }
            }
            if !moved {
                let t = self
                    .reader
                    .poll_timeout()
                    .expect("the engine waits for nothing");
                panic!("no progress: the engine waits until {t:?}");
            }
        }
        panic!("the engine hung");
    }
}

/// Powers the card on (ATR, PPS, S(IFS)) and warms up with one exchange; then measures
/// `rounds` READ BINARY with `le` and returns (efficiency, response bytes per second, line
/// bit rate).
fn measure(clock_hz: u32, atr: &[u8], le: u8, rounds: u32) -> (f64, f64, f64) {
    let mut line = Line::new(clock_hz, atr);
    let rsp = line.send(Command::IccPowerOn {
        power: PowerSelect::AUTOMATIC,
    });
    assert_eq!(&rsp[10..], atr, "the ATR");
    let read = [0x00, 0xB0, 0x00, 0x00, le];
    let xfr = Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: &read,
    };
    let expected = if le == 0 { 258 } else { usize::from(le) + 2 };
    assert_eq!(line.send(xfr).len(), 10 + expected, "warm-up");
    let start = line.now_ps;
    for _ in 0..rounds {
        let rsp = line.send(xfr);
        assert_eq!(rsp.len(), 10 + expected);
        assert_eq!(&rsp[rsp.len() - 2..], [0x90, 0x00]);
    }
    let elapsed_s = (line.now_ps - start) as f64 / 1e12;
    let bit_rate = 1e12 / line.etu_ps as f64;
    let bytes = f64::from(rounds) * expected as f64;
    let physical = bit_rate / CHAR_ETU as f64;
    (bytes / elapsed_s / physical, bytes / elapsed_s, bit_rate)
}

/// T=1 card, IFSC 254 (TA3 FE), BWI 4 / CWI 5 (TB3 45), no historical bytes; TA1 as given.
fn atr_t1(ta1: Option<u8>) -> Vec<u8> {
    let mut atr = vec![0x3B];
    match ta1 {
        Some(ta1) => atr.extend_from_slice(&[0x90, ta1]),
        None => atr.push(0x80),
    }
    atr.extend_from_slice(&[0x81, 0x31, 0xFE, 0x45]);
    let tck = atr[1..].iter().fold(0, |a, b| a ^ b);
    atr.push(tck);
    atr
}

/// 9 600 bit/s: 3.5712 MHz at Fi 372 / Di 1 (no PPS needed).
const SLOW: (u32, Option<u8>) = (3_571_200, None);
/// 412 903 bit/s: 4.8 MHz at Fi 372 / Di 32 (TA1 16, agreed by the reader's automatic PPS).
const FAST: (u32, Option<u8>) = (4_800_000, Some(0x16));

/// The best any T=1 implementation can do for an `answer`-byte response to a 5-byte command
/// on this line model: one 9-character I-block; the answer in I-blocks of at most IFSD = 254
/// bytes (the largest IFSD, §11.4.2), each with 4 bytes of prologue and LRC, every one but
/// the last acknowledged by a 4-character R-block; each change of direction costs BGT - 12 =
/// 10 etu beyond the character time.
fn bound(answer: usize) -> f64 {
    let blocks = answer.div_ceil(254);
    let chars = 9 + answer + 4 * blocks + 4 * (blocks - 1);
    let turns = 2 * blocks;
    let etu = chars as u64 * CHAR_ETU + turns as u64 * (BGT_ETU - CHAR_ETU);
    (answer as u64 * CHAR_ETU) as f64 / etu as f64
}

fn report(le: u8, what: &str) -> Vec<f64> {
    let answer = if le == 0 { 258 } else { usize::from(le) + 2 };
    let mut out = Vec::new();
    for (name, (clock, ta1)) in [("9 600", SLOW), ("412 903", FAST)] {
        let (eff, rate, bits) = measure(clock, &atr_t1(ta1), le, 20);
        let expected: f64 = name.replace(' ', "").parse().unwrap();
        assert!((bits - expected).abs() < 1.0, "simulated {bits} bit/s");
        println!(
            "{name} bit/s: {answer}-byte answers ({what}) at {rate:.1} B/s: {:.2} % of the \
             physical payload rate; the T=1 bound for this answer is {:.2} %",
            eff * 100.0,
            bound(answer) * 100.0
        );
        // The engines add nothing to the protocol's own cost.
        assert!(
            (eff - bound(answer)).abs() < 0.0005,
            "{name} bit/s: {eff} against the bound {}",
            bound(answer)
        );
        out.push(eff);
    }
    out
}

#[test]
fn an_answer_in_one_block_runs_above_93_percent_of_the_line() {
    // Le FC: 252 data bytes and the status word, 254 bytes: one I-block at IFSD 254.
    for eff in report(0xFC, "252 data bytes + SW, one block") {
        assert!(eff >= 0.93, "{:.2} %", eff * 100.0);
    }
}

#[test]
fn a_255_byte_answer_is_chained_and_reaches_the_t1_bound() {
    // Le FD: 253 data + SW = 255 bytes; Le FF: 255 data + SW = 257 bytes. Both exceed IFSD
    // 254, so both take two I-blocks, an R-block and two more turnarounds: 91.3 % is the
    // bound for 255 bytes, and no T=1 reader can reach 93 % with them.
    for eff in report(0xFD, "253 data bytes + SW, chained") {
        assert!(eff >= 0.91, "{:.2} %", eff * 100.0);
    }
    for eff in report(0xFF, "255 data bytes + SW, chained") {
        assert!(eff >= 0.91, "{:.2} %", eff * 100.0);
    }
}
