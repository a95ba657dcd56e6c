//! cardwire-transport: what the Card session costs per logical command over an in-process card,
//! against calling the card handler directly and against the bare InProcess transport; and how
//! many wire APDUs reading a 4 KiB file takes with and without extended length.
//!
//! The APDU counts are printed (and asserted in
//! `crates/transport/tests/session.rs::reads_4_kib_in_the_fewest_apdus_the_capabilities_allow`).

// Bench code over fixed inputs: a panic is a failed benchmark.
#![allow(clippy::indexing_slicing, clippy::unwrap_used)]

use std::hint::black_box;

use cardwire_apdu::exchange::Capabilities;
use cardwire_transport::{Card, CardHandler, InProcess, NoSecureChannel, Transport};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../common/file_card.rs"]
mod file_card;
use file_card::{FILE_LEN, FileCard, read_128};

const EXTENDED: Capabilities = Capabilities::EXTENDED;

/// One logical command: READ BINARY of 128 bytes (case 2 short).
fn per_command(c: &mut Criterion) {
    let read = read_128();
    let mut wire = [0u8; 8];
    let wire = read.encode(&mut wire).unwrap().to_vec();
    let mut group = c.benchmark_group("transport/read_binary_128");
    group.throughput(Throughput::Bytes(128));

    let mut handler = FileCard::new(false);
    let mut buf = [0u8; 258];
    group.bench_function("handler direct", |b| {
        b.iter(|| black_box(handler.process(black_box(&wire), &mut buf)))
    });

    let mut transport = InProcess::new(FileCard::new(false));
    group.bench_function("InProcess transport", |b| {
        b.iter(|| {
            black_box(
                transport
                    .transmit(black_box(&wire), &mut buf)
                    .unwrap()
                    .len(),
            )
        })
    });

    let mut card =
        Card::with_capabilities(InProcess::new(FileCard::new(false)), Capabilities::SHORT);
    group.bench_function("Card session", |b| {
        b.iter(|| {
            black_box(
                card.transmit(black_box(&read), &mut buf)
                    .unwrap()
                    .data()
                    .len(),
            )
        })
    });
    group.finish();
}

/// Reading a 4 KiB file: 16 short READ BINARY against one extended one.
fn read_4k(c: &mut Criterion) {
    let mut out = vec![0u8; FILE_LEN + 2];
    let mut group = c.benchmark_group("transport/read_4KiB");
    group.throughput(Throughput::Bytes(FILE_LEN as u64));

    let mut short =
        Card::with_capabilities(InProcess::new(FileCard::new(false)), Capabilities::SHORT);
    let mut extended: Card<_, NoSecureChannel, 4200> =
        Card::with_capabilities_typed(InProcess::new(FileCard::new(true)), EXTENDED);
    for (name, apdus) in [
        ("short", count(&mut short, &mut out)),
        ("extended", count(&mut extended, &mut out)),
    ] {
        println!("transport/read_4KiB/{name}: {apdus} wire APDUs");
    }
    group.bench_function("short (16 APDUs)", |b| {
        b.iter(|| black_box(short.read_binary(0, FILE_LEN, &mut out).unwrap().0.len()))
    });
    group.bench_function("extended (1 APDU)", |b| {
        b.iter(|| black_box(extended.read_binary(0, FILE_LEN, &mut out).unwrap().0.len()))
    });
    group.finish();
}

/// Reads the file once and returns how many APDUs the card saw.
fn count<const N: usize>(
    card: &mut Card<InProcess<FileCard>, NoSecureChannel, N>,
    out: &mut [u8],
) -> usize {
    let before = card.transport().handler().apdus;
    let (data, _) = card.read_binary(0, FILE_LEN, out).unwrap();
    assert_eq!(data.len(), FILE_LEN);
    card.transport().handler().apdus - before
}

criterion_group!(benches, per_command, read_4k);
criterion_main!(benches);
