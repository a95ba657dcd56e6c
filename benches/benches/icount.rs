//! Instruction-count harness for the hot paths: run under callgrind by `benches/icount.sh`,
//! which compares the counts with `benches/icount-baseline.txt` (instruction counts do not
//! depend on machine load; wall-clock timings do).
//!
//! `icount --list` prints every path with its repeat count; `icount --run` runs every path
//! (`icount --only <name>` one of them),
//! each one `n` times inside [`measured`] (the only function callgrind collects, and it dumps a
//! profile part after each call), in the listed order; anything else (`cargo bench` passes
//! `--bench`) runs every path once as a smoke test. All setup (inputs, keys, sessions) happens
//! outside [`measured`], so a part holds only the `n` repetitions plus a constant loop cost
//! (the `noop` path).

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
use cardwire_link::t1::{Block, Edc, MAX_BLOCK, Pcb};
use cardwire_tlv::{Mode, Options, Walker};

#[path = "../common/tlv_walks.rs"]
mod walks;
use walks::*;
#[path = "../common/file_card.rs"]
mod file_card;
use file_card::{FileCard, read_128};
#[path = "../common/sm_exchange.rs"]
mod sm_exchange;
use sm_exchange::{Iso, IsoBare, Scp03, Scp03Bare, aes128, aes256, tdes};
#[path = "../common/emrtd.rs"]
mod emrtd;
use emrtd::{Dg2Bare, Dg2Read};

/// One hot path: its name, whether the baseline check gates it (`false` for peers, whose
/// counts change with their versions), how often to repeat it, and the work.
struct Path {
    name: String,
    gated: bool,
    n: u32,
    run: Box<dyn FnMut()>,
}

fn path(name: impl Into<String>, gated: bool, n: u32, run: impl FnMut() + 'static) -> Path {
    Path {
        name: name.into(),
        gated,
        n,
        run: Box::new(run),
    }
}

/// The only code callgrind counts: `n` calls of `f`.
#[inline(never)]
fn measured(n: u32, f: &mut dyn FnMut()) {
    for _ in 0..black_box(n) {
        f();
    }
}

/// Repeats so that a path costs roughly a million instructions or more.
fn reps(input_len: usize) -> u32 {
    match input_len {
        0..=200 => 2000,
        201..=2000 => 200,
        _ => 4,
    }
}

fn tlv_paths(out: &mut Vec<Path>) {
    for (name, input) in inputs() {
        let input: &'static [u8] = Box::leak(input.into_boxed_slice());
        let n = reps(input.len());
        let lenient = Options::default();
        let strict = Options::from(Mode::Strict);
        let expected = floor_walk(input);
        assert_eq!(cardwire_walk(input, lenient), expected, "{name}");
        assert_eq!(cardwire_walk_for(input, lenient), expected, "{name}");
        assert_eq!(cardwire_descendants(input, lenient), expected, "{name}");
        let last = last_tag(input);
        out.push(path(format!("tlv/{name}/floor"), true, n, move || {
            black_box(floor_walk(black_box(input)));
        }));
        out.push(path(format!("tlv/{name}/for_each"), true, n, move || {
            black_box(cardwire_walk(black_box(input), lenient));
        }));
        if Walker::new(input, Mode::Strict).finish().is_ok() {
            out.push(path(format!("tlv/{name}/strict"), true, n, move || {
                black_box(cardwire_walk(black_box(input), strict));
            }));
        }
        out.push(path(format!("tlv/{name}/for_loop"), true, n, move || {
            black_box(cardwire_walk_for(black_box(input), lenient));
        }));
        out.push(path(
            format!("tlv/{name}/descendants"),
            true,
            n,
            move || {
                black_box(cardwire_descendants(black_box(input), lenient));
            },
        ));
        out.push(path(format!("tlv/{name}/find_deep"), true, n, move || {
            black_box(cardwire_find_deep(black_box(input), lenient, last));
        }));
        out.push(path(format!("tlv/{name}/parse_all"), true, n, move || {
            black_box(cardwire_tlv::parse_all(black_box(input), lenient).is_ok());
        }));
        // Peers, for the tables in docs/PERFORMANCE.md (not gated). Only where they parse the
        // whole input; the slow ones only on the small inputs, to keep the CI step short.
        if input.len() <= 2000 {
            out.push(path(
                format!("tlv/{name}/iso7816-tlv"),
                false,
                n,
                move || {
                    black_box(iso7816_tlv_walk(black_box(input)));
                },
            ));
        }
        if iso7816_walk(input) == Some(expected) {
            out.push(path(format!("tlv/{name}/iso7816"), false, n, move || {
                black_box(iso7816_walk(black_box(input)));
            }));
        }
        if asn1_rs_walk(input) == Some(expected) {
            out.push(path(format!("tlv/{name}/asn1-rs"), false, n, move || {
                black_box(asn1_rs_walk(black_box(input)));
            }));
        }
    }
}

/// The commands of `benches/apdu.rs`: name, header, data, Ne.
fn commands() -> Vec<(&'static str, [u8; 4], Vec<u8>, u32)> {
    const AID: &[u8] = &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10];
    vec![
        ("case1", [0x00, 0x70, 0x80, 0x01], vec![], 0),
        ("case2S", [0x00, 0x84, 0, 0], vec![], 8),
        ("case4S", [0x00, 0xA4, 0x04, 0x00], AID.to_vec(), 256),
        ("case2E", [0x00, 0xB0, 0, 0], vec![], 1000),
        ("case3E", [0x00, 0xD6, 0, 0], vec![0x5A; 1000], 0),
        ("case4E", [0x00, 0x2A, 0x9E, 0x9A], vec![0x11; 300], 65_536),
    ]
}

fn apdu_paths(out: &mut Vec<Path>) {
    const N: u32 = 2000;
    for (name, h, data, ne) in commands() {
        let data: &'static [u8] = Box::leak(data.into_boxed_slice());
        let repr = CommandRepr {
            cla: Cla(h[0]),
            ins: Ins(h[1]),
            p1: h[2],
            p2: h[3],
            data,
            ne,
        };
        let bytes: &'static [u8] = Box::leak(repr.to_vec().unwrap().into_boxed_slice());
        let mut buf = vec![0u8; 70_000];
        out.push(path(format!("apdu/encode/{name}"), true, N, move || {
            black_box(black_box(repr).encode(&mut buf).unwrap().len());
        }));
        out.push(path(format!("apdu/parse/{name}"), true, N, move || {
            let cmd = Command::new_checked(black_box(bytes)).unwrap();
            black_box((cmd.ins(), cmd.data().len(), cmd.ne()));
        }));
        if data.len() <= 255 && ne <= 256 {
            let mut buf = vec![0u8; 300];
            let core = move || apdu_core::Command {
                cla: h[0],
                ins: h[1],
                p1: h[2],
                p2: h[3],
                le: (ne > 0).then_some(ne as u16),
                payload: (!data.is_empty()).then_some(data),
            };
            let mut check = vec![0u8; core().len()];
            core().write(&mut check);
            assert_eq!(check, bytes, "apdu-core {name}");
            out.push(path(
                format!("apdu/encode/{name}/apdu-core"),
                false,
                N,
                move || {
                    let cmd = black_box(core)();
                    let n = cmd.len();
                    cmd.write(&mut buf[..n]);
                    black_box(n);
                },
            ));
        }
    }
    for (name, len) in [("sw_only", 0usize), ("fci_28", 28), ("data_1k", 1024)] {
        let mut bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
        bytes.extend([0x90, 0x00]);
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        out.push(path(format!("apdu/response/{name}"), true, N, move || {
            let r = Response::new_checked(black_box(bytes)).unwrap();
            black_box((r.data().len(), r.sw()));
        }));
        out.push(path(
            format!("apdu/response/{name}/apdu-core"),
            false,
            N,
            move || {
                let r = apdu_core::Response::from(black_box(bytes));
                black_box((r.payload.len(), r.trailer));
            },
        ));
    }
}

/// Drives one logical command through the engine against canned answers.
fn drive(
    cmd: CommandRepr<'_>,
    caps: Capabilities,
    answers: &[Vec<u8>],
    out: &mut [u8],
    tx: &mut [u8],
) {
    let mut ex = Exchange::new(cmd, caps, out).unwrap();
    let mut i = 0;
    loop {
        black_box(ex.poll_transmit(tx).unwrap());
        let step = ex.handle_response(&answers[i]).unwrap();
        i += 1;
        if let Step::Done(d) = step {
            black_box(d);
            return;
        }
    }
}

fn engine_paths(out: &mut Vec<Path>) {
    const AID: &[u8] = &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10];
    let mut fci: Vec<u8> = (0..28).collect();
    fci.extend([0x90, 0x00]);
    let select = CommandRepr::new(Cla(0), Ins::SELECT, 4, 0)
        .with_data(AID)
        .with_ne(256);
    let (mut o, mut t) = (vec![0u8; 70_000], vec![0u8; 70_000]);
    let single = vec![fci.clone()];
    out.push(path("apdu/engine/select_1_apdu", true, 2000, move || {
        drive(
            black_box(select),
            Capabilities::SHORT,
            &single,
            &mut o,
            &mut t,
        );
    }));
    let (mut o, mut t) = (vec![0u8; 70_000], vec![0u8; 70_000]);
    let fci2 = fci.clone();
    out.push(path(
        "apdu/engine/select_1_apdu/floor_encode_parse",
        true,
        2000,
        move || {
            let n = black_box(select).encode(&mut t).unwrap().len();
            let r = Response::new_checked(black_box(&fci2[..])).unwrap();
            o[..r.data().len()].copy_from_slice(r.data());
            black_box((n, r.sw()));
        },
    ));
    let read = CommandRepr::new(Cla(0), Ins::READ_BINARY, 0, 0).with_ne(256);
    let chain: Vec<Vec<u8>> = (0..5u8)
        .map(|i| {
            let mut a = vec![i; 32];
            a.extend(if i < 4 { [0x61, 0x20] } else { [0x90, 0x00] });
            a
        })
        .collect();
    let (mut o, mut t) = (vec![0u8; 70_000], vec![0u8; 70_000]);
    out.push(path(
        "apdu/engine/get_response_5_apdus",
        true,
        1000,
        move || {
            drive(black_box(read), Capabilities::SHORT, &chain, &mut o, &mut t);
        },
    ));
    let data: &'static [u8] = Box::leak(vec![0x42u8; 600].into_boxed_slice());
    let pso = CommandRepr::new(Cla(0), Ins::PERFORM_SECURITY_OPERATION, 0x9E, 0x9A)
        .with_data(data)
        .with_ne(256);
    let chained = vec![vec![0x90, 0x00], vec![0x90, 0x00], fci];
    let (mut o, mut t) = (vec![0u8; 70_000], vec![0u8; 70_000]);
    out.push(path(
        "apdu/engine/chaining_3_apdus",
        true,
        1000,
        move || {
            drive(
                black_box(pso),
                Capabilities::SHORT_CHAINING,
                &chained,
                &mut o,
                &mut t,
            );
        },
    ));
}

fn t1_paths(out: &mut Vec<Path>) {
    let inf: &'static [u8] = Box::leak((0..254u32).map(|i| i as u8).collect::<Box<[u8]>>());
    for (name, edc) in [("lrc", Edc::Lrc), ("crc", Edc::CRC)] {
        let block = Block {
            nad: 0,
            pcb: Pcb::i(false, true),
            inf,
        };
        let mut buf = [0u8; MAX_BLOCK];
        let encoded = block.encode(&edc, &mut buf).unwrap().to_vec();
        assert_eq!(Block::decode(&encoded, &edc, 254).unwrap(), block);
        let n = if name == "crc" { 20 } else { 500 };
        out.push(path(
            format!("link/t1_block/encode_254_{name}"),
            true,
            n,
            move || {
                black_box(black_box(&block).encode(&edc, &mut buf).map(|o| o.len())).unwrap();
            },
        ));
        out.push(path(
            format!("link/t1_block/decode_254_{name}"),
            true,
            n,
            move || {
                black_box(Block::decode(black_box(&encoded), &edc, 254)).unwrap();
            },
        ));
    }
}

/// Secure messaging, every suite: one exchange of 64 data bytes each way (host wrap, card
/// unwrap, card wrap, host unwrap) and its bare cryptography (the same suite's cipher and MAC
/// calls over inputs of the lengths the protocol encrypts and MACs,
/// `benches/common/sm_exchange.rs`), side by side so that the ratio `exchange_64 / bare_64`
/// does not depend on load.
fn sm_paths(out: &mut Vec<Path>) {
    const N: usize = 64;
    fn iso<S: cardwire_sm::CipherSuite + 'static>(
        out: &mut Vec<Path>,
        name: &str,
        make: fn() -> S,
        reps: u32,
    ) {
        let mut engine = Iso::iso(make, N);
        out.push(path(
            format!("sm/{name}/exchange_64"),
            true,
            reps,
            move || engine.exchange(),
        ));
        let mut bare = IsoBare::new(make(), N);
        out.push(path(format!("sm/{name}/bare_64"), true, reps, move || {
            bare.exchange()
        }));
    }
    iso(out, "3des-retail-mac", tdes, 10);
    iso(out, "aes128-cmac", aes128, 100);
    iso(out, "aes256-cmac", aes256, 100);
    let keys = [0x40; 16];
    let mut engine = Scp03::scp03(&keys, N);
    out.push(path(
        "sm/scp03-aes128-level33/exchange_64",
        true,
        100,
        move || engine.exchange(),
    ));
    let mut bare = Scp03Bare::new(&keys, N);
    out.push(path(
        "sm/scp03-aes128-level33/bare_64",
        true,
        100,
        move || bare.exchange(),
    ));
    // Reading a 15 KB DG2 under AES-128 secure messaging in 223-byte chunks, and its bare
    // cipher and MAC work (`benches/common/emrtd.rs`).
    let mut read = Dg2Read::new();
    out.push(path("sm/dg2-aes128/read_15k", true, 2, move || {
        black_box(read.read());
    }));
    let mut bare = Dg2Bare::new();
    out.push(path("sm/dg2-aes128/bare_15k", true, 2, move || {
        black_box(bare.read());
    }));
}

/// The `Card` session per logical command (READ BINARY of 128 bytes against the in-process
/// `FileCard` of `benches/transport.rs`), next to the handler called directly and the bare
/// `InProcess` transport.
fn session_paths(out: &mut Vec<Path>) {
    use cardwire_transport::{Card, CardHandler, InProcess, Transport};
    const N: u32 = 2000;
    let read = read_128();
    let mut wire = [0u8; 8];
    let wire: &'static [u8] =
        Box::leak(read.encode(&mut wire).unwrap().to_vec().into_boxed_slice());
    let mut handler = FileCard::new(false);
    let mut buf = [0u8; 258];
    out.push(path(
        "transport/read_binary_128/handler_direct",
        true,
        N,
        move || {
            black_box(handler.process(black_box(wire), &mut buf));
        },
    ));
    let mut transport = InProcess::new(FileCard::new(false));
    let mut buf = [0u8; 258];
    out.push(path(
        "transport/read_binary_128/in_process",
        true,
        N,
        move || {
            black_box(transport.transmit(black_box(wire), &mut buf).unwrap().len());
        },
    ));
    let mut card =
        Card::with_capabilities(InProcess::new(FileCard::new(false)), Capabilities::SHORT);
    let mut buf = [0u8; 258];
    out.push(path(
        "transport/read_binary_128/card_session",
        true,
        N,
        move || {
            black_box(
                card.transmit(black_box(&read), &mut buf)
                    .unwrap()
                    .data()
                    .len(),
            );
        },
    ));
}

fn all_paths() -> Vec<Path> {
    let mut out = vec![path("noop", true, 2000, || {})];
    tlv_paths(&mut out);
    apdu_paths(&mut out);
    engine_paths(&mut out);
    t1_paths(&mut out);
    session_paths(&mut out);
    sm_paths(&mut out);
    out
}

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let mut paths = all_paths();
    match arg.as_str() {
        "--list" => {
            for p in &paths {
                let gate = if p.gated { "gated" } else { "ref" };
                println!("{} {} {}", p.name, p.n, gate);
            }
        }
        "--run" => {
            for p in &mut paths {
                measured(p.n, &mut *p.run);
            }
        }
        "--only" => {
            // `icount --only <name>`: one path, for profiling (callgrind_annotate).
            let want = std::env::args().nth(2).unwrap_or_default();
            for p in paths.iter_mut().filter(|p| p.name == want) {
                measured(p.n, &mut *p.run);
            }
        }
        _ => {
            for p in &mut paths {
                (p.run)();
            }
            println!("icount: {} hot paths ran once (smoke test)", paths.len());
        }
    }
}
