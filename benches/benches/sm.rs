//! Secure messaging: the cost of the engine (`cardwire-sm`) next to the bare cipher and MAC
//! work it has to do, in the same group of the same run.
//!
//! For each suite and size, one "exchange" is: the host wraps a command with N data bytes, the
//! card unwraps it, the card wraps a response with N data bytes, the host unwraps it. The
//! `bare` line does only the unavoidable cryptography of that exchange with the same keyed
//! primitives: per direction, CBC-encrypt the padded data, MAC it (sender), MAC it again
//! (receiver) and CBC-decrypt it (`benches/common/sm_exchange.rs`, shared with the
//! instruction-count harness). The ratio `engine / bare` is the engine overhead reported in
//! docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used)]

use cardwire_sm::CipherSuite;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

#[path = "../common/sm_exchange.rs"]
mod sm_exchange;
use sm_exchange::*;

const SIZES: [usize; 2] = [64, 1024];

fn bench_iso<S: CipherSuite>(c: &mut Criterion, name: &str, make: fn() -> S) {
    let mut group = c.benchmark_group(format!("sm/{name}"));
    for n in SIZES {
        group.throughput(Throughput::Bytes(2 * n as u64));
        let mut engine = Iso::iso(make, n);
        group.bench_with_input(BenchmarkId::new("engine", n), &n, |b, _| {
            b.iter(|| engine.exchange())
        });
        let mut bare = IsoBare::new(make(), n);
        group.bench_with_input(BenchmarkId::new("bare", n), &n, |b, _| {
            b.iter(|| bare.exchange())
        });
    }
    group.finish();
}

fn bench_scp03(c: &mut Criterion, name: &str, keys: &[u8]) {
    let mut group = c.benchmark_group(format!("sm/{name}"));
    for n in SIZES {
        group.throughput(Throughput::Bytes(2 * n as u64));
        let mut engine = Scp03::scp03(keys, n);
        group.bench_with_input(BenchmarkId::new("engine", n), &n, |b, _| {
            b.iter(|| engine.exchange())
        });
        let mut bare = Scp03Bare::new(keys, n);
        group.bench_with_input(BenchmarkId::new("bare", n), &n, |b, _| {
            b.iter(|| bare.exchange())
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_iso(c, "3des-retail-mac", tdes);
    bench_iso(c, "aes128-cmac", aes128);
    bench_iso(c, "aes256-cmac", aes256);
    bench_scp03(c, "scp03-aes128-level33", &[0x40; 16]);
}

criterion_group!(sm, benches);
criterion_main!(sm);
