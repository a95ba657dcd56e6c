//! cardwire-apdu side by side with peer crates: command APDU parse and encode (short and
//! extended cases), response parse, and the exchange engine's cost per wire APDU.
//!
//! Peers: `iso7816` 0.2 (`CommandView::try_from`, `CommandBuilder::serialize_into`) and
//! `apdu-core` 0.4 (`Command::write`, `Response::from`). apdu-core has no command parser, and
//! without its `longer_payloads` feature it cannot express an extended case (with it, it writes
//! Lc/Le little-endian), so it appears in the short cases only. Every encoder's output is
//! checked against cardwire's before timing. Results are written up in docs/PERFORMANCE.md.

// Bench code over fixed inputs: a panic is a failed benchmark.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::hint::black_box;

use cardwire_apdu::exchange::{Capabilities, Exchange, Step};
use cardwire_apdu::{Cla, Command, CommandRepr, Ins, Response};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The EMV Visa AID (EMV Book 1 Annex).
const AID: &[u8] = &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10];

struct Case {
    name: &'static str,
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
    ne: u32,
}

fn cases() -> Vec<Case> {
    vec![
        // Case 1: MANAGE CHANNEL close 1.
        Case {
            name: "case1",
            cla: 0x00,
            ins: 0x70,
            p1: 0x80,
            p2: 0x01,
            data: vec![],
            ne: 0,
        },
        // Case 2S: GET CHALLENGE 8.
        Case {
            name: "case2S",
            cla: 0x00,
            ins: 0x84,
            p1: 0,
            p2: 0,
            data: vec![],
            ne: 8,
        },
        // Case 4S: SELECT by AID, Le 00.
        Case {
            name: "case4S",
            cla: 0x00,
            ins: 0xA4,
            p1: 0x04,
            p2: 0x00,
            data: AID.to_vec(),
            ne: 256,
        },
        // Case 2E: READ BINARY of 1000 bytes.
        Case {
            name: "case2E",
            cla: 0x00,
            ins: 0xB0,
            p1: 0,
            p2: 0,
            data: vec![],
            ne: 1000,
        },
        // Case 3E: UPDATE BINARY of 1000 bytes.
        Case {
            name: "case3E",
            cla: 0x00,
            ins: 0xD6,
            p1: 0,
            p2: 0,
            data: vec![0x5A; 1000],
            ne: 0,
        },
        // Case 4E: PSO COMPUTE DIGITAL SIGNATURE over 300 bytes, Le 0000 (65 536).
        Case {
            name: "case4E",
            cla: 0x00,
            ins: 0x2A,
            p1: 0x9E,
            p2: 0x9A,
            data: vec![0x11; 300],
            ne: 65_536,
        },
    ]
}

fn repr(c: &Case) -> CommandRepr<'_> {
    CommandRepr {
        cla: Cla(c.cla),
        ins: Ins(c.ins),
        p1: c.p1,
        p2: c.p2,
        data: &c.data,
        ne: c.ne,
    }
}

fn iso_builder(c: &Case) -> iso7816::command::CommandBuilder<&[u8]> {
    let le: iso7816::command::ExpectedLen = if c.ne == 65_536 {
        iso7816::command::ExpectedLen::Max
    } else {
        (c.ne as u16).into()
    };
    iso7816::command::CommandBuilder::new(
        iso7816::command::class::Class::try_from(c.cla).unwrap(),
        iso7816::Instruction::from(c.ins),
        c.p1,
        c.p2,
        &c.data[..],
        le,
    )
}

/// apdu-core's command for the short cases (Le 256 is written as 00 after truncation to u8).
fn core_command(c: &Case) -> Option<apdu_core::Command<'_>> {
    if c.data.len() > 255 || c.ne > 256 {
        return None;
    }
    let payload = (!c.data.is_empty()).then_some(&c.data[..]);
    let le = (c.ne > 0).then_some(c.ne as u16);
    Some(apdu_core::Command {
        cla: c.cla,
        ins: c.ins,
        p1: c.p1,
        p2: c.p2,
        le,
        payload,
    })
}

fn command_parse(crit: &mut Criterion) {
    let mut g = crit.benchmark_group("apdu/command_parse");
    for c in cases() {
        let bytes = repr(&c).to_vec().unwrap();
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("{}/cardwire", c.name), |b| {
            b.iter(|| {
                let cmd = Command::new_checked(black_box(&bytes[..])).unwrap();
                black_box((cmd.ins(), cmd.data().len(), cmd.ne()))
            })
        });
        if let Ok(view) = iso7816::command::CommandView::try_from(&bytes[..]) {
            assert_eq!(view.data(), &c.data[..], "{}", c.name);
            g.bench_function(format!("{}/iso7816", c.name), |b| {
                b.iter(|| {
                    let v = iso7816::command::CommandView::try_from(black_box(&bytes[..])).unwrap();
                    black_box((v.instruction(), v.data().len(), v.expected()))
                })
            });
        }
    }
    g.finish();
}

fn command_encode(crit: &mut Criterion) {
    let mut g = crit.benchmark_group("apdu/command_encode");
    for c in cases() {
        let expected = repr(&c).to_vec().unwrap();
        g.throughput(Throughput::Bytes(expected.len() as u64));
        let mut buf = vec![0u8; 70_000];
        g.bench_function(format!("{}/cardwire", c.name), |b| {
            b.iter(|| {
                let r = repr(black_box(&c));
                black_box(r.encode(&mut buf).unwrap().len())
            })
        });
        // iso7816: check its bytes first.
        let mut iso_out = vec![0u8; 70_000];
        let mut w = &mut iso_out[..];
        iso_builder(&c).serialize_into(&mut w).unwrap();
        let iso_len = 70_000 - w.len();
        if iso_out[..iso_len] == expected[..] {
            g.bench_function(format!("{}/iso7816", c.name), |b| {
                b.iter(|| {
                    let mut w = &mut buf[..];
                    iso_builder(black_box(&c)).serialize_into(&mut w).unwrap();
                    black_box(w.len())
                })
            });
        } else {
            eprintln!(
                "iso7816 encodes {} differently: {:02X?}",
                c.name,
                &iso_out[..iso_len.min(12)]
            );
        }
        if let Some(cmd) = core_command(&c) {
            let mut out = vec![0u8; cmd.len()];
            cmd.write(&mut out);
            assert_eq!(out, expected, "apdu-core {}", c.name);
            g.bench_function(format!("{}/apdu-core", c.name), |b| {
                b.iter(|| {
                    let cmd = core_command(black_box(&c)).unwrap();
                    let n = cmd.len();
                    cmd.write(&mut buf[..n]);
                    black_box(n)
                })
            });
        }
    }
    g.finish();
}

fn response_parse(crit: &mut Criterion) {
    let mut g = crit.benchmark_group("apdu/response_parse");
    for (name, len) in [("sw_only", 0usize), ("fci_28", 28), ("data_1k", 1024)] {
        let mut bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
        bytes.extend([0x90, 0x00]);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("{name}/cardwire"), |b| {
            b.iter(|| {
                let r = Response::new_checked(black_box(&bytes[..])).unwrap();
                black_box((r.data().len(), r.sw()))
            })
        });
        g.bench_function(format!("{name}/apdu-core"), |b| {
            b.iter(|| {
                let r = apdu_core::Response::from(black_box(&bytes[..]));
                black_box((r.payload.len(), r.trailer))
            })
        });
        // iso7816 0.2 has no response-APDU parser: split by hand and decode the status.
        g.bench_function(format!("{name}/iso7816"), |b| {
            b.iter(|| {
                let bytes = black_box(&bytes[..]);
                let (data, sw) = bytes.split_at(bytes.len() - 2);
                let status = iso7816::Status::from([sw[0], sw[1]]);
                black_box((data.len(), status))
            })
        });
    }
    g.finish();
}

/// Drives one logical command through the engine against canned card answers; returns the
/// number of wire APDUs.
fn drive(
    cmd: CommandRepr<'_>,
    caps: Capabilities,
    answers: &[Vec<u8>],
    out: &mut [u8],
    tx: &mut [u8],
) -> usize {
    let mut ex = Exchange::new(cmd, caps, out).unwrap();
    let mut i = 0;
    loop {
        let wire = ex.poll_transmit(tx).unwrap();
        black_box(wire);
        let step = ex.handle_response(&answers[i]).unwrap();
        i += 1;
        if let Step::Done(d) = step {
            black_box(d);
            return i;
        }
    }
}

fn engine(crit: &mut Criterion) {
    let mut g = crit.benchmark_group("apdu/engine");
    let mut out = vec![0u8; 70_000];
    let mut tx = vec![0u8; 70_000];

    // One wire APDU: SELECT answered with a 28-byte FCI.
    let mut fci: Vec<u8> = (0..28).collect();
    fci.extend([0x90, 0x00]);
    let select = CommandRepr::new(Cla(0), Ins::SELECT, 4, 0)
        .with_data(AID)
        .with_ne(256);
    let single = vec![fci.clone()];
    g.throughput(Throughput::Elements(1));
    g.bench_function("select_1_apdu", |b| {
        b.iter(|| {
            drive(
                black_box(select),
                Capabilities::SHORT,
                &single,
                &mut out,
                &mut tx,
            )
        })
    });
    // The floor: encoding the same command and parsing the answer by hand, no engine.
    g.bench_function("select_1_apdu/floor_encode_parse", |b| {
        b.iter(|| {
            let n = black_box(select).encode(&mut tx).unwrap().len();
            let r = Response::new_checked(black_box(&fci[..])).unwrap();
            out[..r.data().len()].copy_from_slice(r.data());
            black_box((n, r.sw()))
        })
    });

    // Five wire APDUs: READ BINARY answered 61xx four times, 32 bytes each time.
    let read = CommandRepr::new(Cla(0), Ins::READ_BINARY, 0, 0).with_ne(256);
    let mut chain = Vec::new();
    for i in 0..5 {
        let mut a = vec![i as u8; 32];
        if i < 4 {
            a.extend([0x61, 0x20]);
        } else {
            a.extend([0x90, 0x00]);
        }
        chain.push(a);
    }
    g.throughput(Throughput::Elements(5));
    g.bench_function("get_response_5_apdus", |b| {
        b.iter(|| {
            drive(
                black_box(read),
                Capabilities::SHORT,
                &chain,
                &mut out,
                &mut tx,
            )
        })
    });

    // Three wire APDUs: 600 bytes of data chained on a short-only card.
    let data = vec![0x42u8; 600];
    let pso = CommandRepr::new(Cla(0), Ins::PERFORM_SECURITY_OPERATION, 0x9E, 0x9A)
        .with_data(&data)
        .with_ne(256);
    let chained = vec![vec![0x90, 0x00], vec![0x90, 0x00], fci.clone()];
    g.throughput(Throughput::Elements(3));
    g.bench_function("chaining_3_apdus", |b| {
        b.iter(|| {
            drive(
                black_box(pso),
                Capabilities::SHORT_CHAINING,
                &chained,
                &mut out,
                &mut tx,
            )
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    command_parse,
    command_encode,
    response_parse,
    engine
);
criterion_main!(benches);
