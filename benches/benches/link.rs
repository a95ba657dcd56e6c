//! cardwire-link: ATR parsing, T=1 block encode/decode (LRC and CRC), and the T=1 engine's
//! throughput over the simulated link (reader and card engines, no faults), with the line
//! efficiency compared to the theoretical maximum for the IFSC (protocol overhead only).
//!
//! No peer is benchmarked here: the one Rust T=1 crate (`iso7816_tx`) drives real I/O through
//! global callbacks and has no ATR parser, PPS or T=0, so there is no like-for-like call.
//! Results are written up in docs/PERFORMANCE.md (## link).

// Bench code over fixed inputs: a panic is a failed benchmark.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::hint::black_box;

use cardwire_link::atr::{Atr, Mode};
use cardwire_link::sim::{Faults, Outcome, T1Link, echo_card};
use cardwire_link::t1::{Block, Config, Edc, MAX_BLOCK, Pcb};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Real ATRs (pcsc-tools' smartcard_list.txt): a T=0 SIM, a T=1 JavaCard, a dual T=0/T=1 card
/// with COMPACT-TLV historical bytes.
const ATRS: &[(&str, &[u8])] = &[
    ("t0_short", &[0x3B, 0x02, 0x14, 0x50]),
    (
        "t1_jcop",
        &[
            0x3B, 0x95, 0x96, 0x81, 0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F, 0x50, 0x34, 0x2A,
        ],
    ),
    (
        "t0t1_yubikey",
        &[
            0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0,
            0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
        ],
    ),
];

fn atr_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("link/atr_parse");
    for (name, atr) in ATRS {
        assert!(Atr::parse(atr, Mode::Strict).is_ok(), "{name}");
        g.throughput(Throughput::Bytes(atr.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| Atr::parse(black_box(atr), Mode::Strict))
        });
        g.bench_function(format!("{name}+derive"), |b| {
            b.iter(|| {
                let a = Atr::parse(black_box(atr), Mode::Lenient).unwrap();
                (
                    a.protocols(),
                    a.t1(),
                    a.fi(),
                    a.di(),
                    a.historical().is_ok(),
                )
            })
        });
    }
    g.finish();
}

fn t1_block(c: &mut Criterion) {
    let inf: Vec<u8> = (0..254u32).map(|i| i as u8).collect();
    let mut g = c.benchmark_group("link/t1_block");
    for (name, edc) in [("lrc", Edc::Lrc), ("crc", Edc::CRC)] {
        let block = Block {
            nad: 0,
            pcb: Pcb::i(false, true),
            inf: &inf,
        };
        let mut out = [0u8; MAX_BLOCK];
        let encoded = block.encode(&edc, &mut out).unwrap().to_vec();
        assert_eq!(Block::decode(&encoded, &edc, 254).unwrap(), block);
        g.throughput(Throughput::Bytes(encoded.len() as u64));
        g.bench_function(format!("encode_254_{name}"), |b| {
            b.iter(|| black_box(&block).encode(&edc, &mut out).map(|o| o.len()))
        });
        g.bench_function(format!("decode_254_{name}"), |b| {
            b.iter(|| Block::decode(black_box(&encoded), &edc, 254))
        });
    }
    g.finish();
}

/// One 4-byte header + `n` data bytes command whose echo_card response is the same size.
fn command(n: usize) -> Vec<u8> {
    let mut cmd: Vec<u8> = (0..n + 4).map(|i| i as u8).collect();
    cmd[3] = 0;
    cmd
}

fn t1_engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("link/t1_engine");
    for ifs in [32u8, 254] {
        let cfg = Config {
            ifsc: ifs,
            ifsd: ifs,
            ..Config::default()
        };
        let cmd = command(2048);
        let mut rsp = vec![0u8; 4200];
        // Line efficiency on the virtual clock: payload characters over all characters sent.
        let mut link: T1Link<4200> = T1Link::new(cfg, Config { ifsc: ifs, ..cfg }, Faults::NONE, 1);
        let start = link.now();
        let out = link.exchange(&cmd, echo_card, &mut rsp);
        let Outcome::Response(n) = out else {
            panic!("{out:?}")
        };
        let line_chars = (link.now().as_micros() - start.as_micros()) / cfg.char_micros;
        let payload = (cmd.len() + n) as u64;
        // Theoretical: every I-block carries IFS bytes with 4 bytes of prologue+LRC, and each
        // chained block is acknowledged by a 4-byte R-block (the last one by the response).
        let per_block = u64::from(ifs);
        let theoretical = per_block as f64 / (per_block + 4 + 4) as f64;
        let measured = payload as f64 / line_chars as f64;
        eprintln!(
            "link/t1_engine ifs={ifs}: {payload} payload bytes in {line_chars} characters on the line: \
             efficiency {:.1}% (theoretical maximum {:.1}%)",
            measured * 100.0,
            theoretical * 100.0
        );
        g.throughput(Throughput::Bytes(payload));
        g.bench_function(format!("exchange_2k_each_way_ifs{ifs}"), |b| {
            let mut link: T1Link<4200> =
                T1Link::new(cfg, Config { ifsc: ifs, ..cfg }, Faults::NONE, 1);
            b.iter(|| link.exchange(black_box(&cmd), echo_card, &mut rsp))
        });
    }
    g.finish();
}

criterion_group!(benches, atr_parse, t1_block, t1_engine);
criterion_main!(benches);
