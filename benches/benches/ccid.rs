//! cardwire-ccid: the reader engine's overhead per `PC_to_RDR_XfrBlock` (short APDU level),
//! a host message in and its `RDR_to_PC_DataBlock` out, with the simulated T=1 card of
//! `cardwire_ccid::sim` behind it on a line that takes no time; and, to separate the engine
//! from the card, a `GetSlotStatus` (no card traffic). The T=1 line efficiency through the
//! same path is not a timing: it is computed on the simulated clock by
//! `crates/ccid/tests/line_efficiency.rs`. Results in docs/PERFORMANCE.md (## ccid).
//!
//! `ccid --icount` runs each path [`ICOUNT_REPS`] times inside [`measured`] for callgrind
//! (instruction counts do not depend on machine load); the simulated card's work is in
//! [`card_line`], [`card_input`] and [`card_output`], never inlined, so callgrind's inclusive
//! counts separate it from the engine's:
//!
//! ```text
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='ccid::measured' \
//!   --dump-after='ccid::measured' target/release/deps/ccid-* --icount
//! callgrind_annotate --inclusive=yes callgrind.out.<pid>.<k>
//! ```

// Bench code over fixed inputs: a panic is a failed benchmark.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::hint::black_box;

use cardwire_ccid::engine::{LineRequest, Reader, ReaderConfig};
use cardwire_ccid::message::{Command, LevelParameter, PowerSelect};
use cardwire_ccid::sim::SimCard;
use cardwire_link::Instant;
use criterion::{Criterion, Throughput, criterion_group};

/// A T=1 ATR without TA1 (no PPS): TD1 81, TD2 31, IFSC FE, BWI 4, CWI 5, TCK.
fn atr() -> Vec<u8> {
    let mut atr = vec![0x3B, 0x80, 0x81, 0x31, 0xFE, 0x45];
    let tck = atr[1..].iter().fold(0, |a, b| a ^ b);
    atr.push(tck);
    atr
}

/// READ BINARY answers Le bytes and 90 00.
fn app(cmd: &[u8], rsp: &mut [u8]) -> usize {
    let n = match cmd {
        [_, 0xB0, _, _, le] => usize::from(*le),
        _ => 0,
    };
    rsp[..n].fill(0x5A);
    rsp[n..n + 2].copy_from_slice(&[0x90, 0x00]);
    n + 2
}

struct Bench {
    reader: Reader<600>,
    card: SimCard<600>,
    buf: Vec<u8>,
    seq: u8,
}

impl Bench {
    fn new() -> Self {
        let mut b = Self {
            reader: Reader::new(ReaderConfig::default()),
            card: SimCard::new(&atr()).unwrap(),
            buf: vec![0u8; 600],
            seq: 0,
        };
        b.reader.card_inserted(Instant(0));
        let _ = b.reader.poll_interrupt();
        b.round(Command::IccPowerOn {
            power: PowerSelect::AUTOMATIC,
        });
        b
    }

    /// One message through the engine and the card until its final answer; the answer's
    /// length.
    fn round(&mut self, cmd: Command<'_>) -> usize {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = [0u8; 64];
        let bytes = cmd.encode(0, self.seq, &mut msg).unwrap();
        self.reader.handle_message(Instant(0), bytes);
        loop {
            while let Some(req) = self.reader.poll_line() {
                card_line(&mut self.card, req);
            }
            while let Some(n) = self.reader.poll_card_transmit(&mut self.buf) {
                card_input(&mut self.card, &self.buf[..n]);
            }
            while let Some(n) = card_output(&mut self.card, &mut self.buf) {
                self.reader.handle_card_input(Instant(0), &self.buf[..n]);
            }
            if let Some(rsp) = self.reader.poll_response(&mut self.buf) {
                if rsp[7] & 0xC0 != 0x80 {
                    return rsp.len();
                }
            }
        }
    }
}

/// The simulated card's side, kept out of line so that callgrind can tell it from the engine.
#[inline(never)]
fn card_line(card: &mut SimCard<600>, req: LineRequest) {
    card.handle_line(req);
}

/// See [`card_line`].
#[inline(never)]
fn card_input(card: &mut SimCard<600>, bytes: &[u8]) {
    card.handle_input(Instant(0), bytes, &mut app);
}

/// See [`card_line`].
#[inline(never)]
fn card_output(card: &mut SimCard<600>, buf: &mut [u8]) -> Option<usize> {
    card.poll_transmit(buf)
}

/// The READ BINARY commands measured: Le 00 and FC (2- and 254-byte answers).
const READS: [[u8; 5]; 2] = [
    [0x00, 0xB0, 0x00, 0x00, 0x00],
    [0x00, 0xB0, 0x00, 0x00, 0xFC],
];

fn xfr(read: &[u8]) -> Command<'_> {
    Command::XfrBlock {
        bwi: 0,
        level: LevelParameter::BEGIN_AND_END,
        data: read,
    }
}

/// Repetitions of each path under `--icount`.
const ICOUNT_REPS: u32 = 1000;

/// The only code callgrind counts under `--icount`: `n` calls of `f`.
#[inline(never)]
fn measured(n: u32, f: &mut dyn FnMut()) {
    for _ in 0..black_box(n) {
        f();
    }
}

/// `--icount`: every path [`ICOUNT_REPS`] times in [`measured`], in the order printed.
fn icount() {
    let mut b = Bench::new();
    measured(ICOUNT_REPS, &mut || {});
    println!("part 1: noop");
    measured(ICOUNT_REPS, &mut || {
        black_box(b.round(Command::GetSlotStatus));
    });
    println!("part 2: get_slot_status");
    for (k, read) in READS.iter().enumerate() {
        let answer = b.round(xfr(read)) - 10;
        measured(ICOUNT_REPS, &mut || {
            black_box(b.round(xfr(black_box(read))));
        });
        println!("part {}: xfr_block_{answer}_byte_answer", k + 3);
    }
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("ccid_engine");
    let mut b = Bench::new();
    group.bench_function("get_slot_status", |bench| {
        bench.iter(|| black_box(b.round(Command::GetSlotStatus)));
    });
    for read in &READS {
        let answer = usize::from(read[4]) + 2;
        assert_eq!(b.round(xfr(read)), 10 + answer);
        group.throughput(Throughput::Bytes(answer as u64));
        group.bench_function(format!("xfr_block_{answer}_byte_answer"), |bench| {
            bench.iter(|| black_box(b.round(xfr(black_box(read)))));
        });
    }
    group.finish();
}

criterion_group!(benches, engine);

fn main() {
    if std::env::args().any(|a| a == "--icount") {
        icount();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
