//! Secure messaging: the cost of the engine (`cardwire-sm`) next to the bare cipher and MAC
//! work it has to do, in the same run.
//!
//! For each suite and size, one "exchange" is: the host wraps a command with N data bytes, the
//! card unwraps it, the card wraps a response with N data bytes, the host unwraps it. The
//! `bare` line does only the unavoidable cryptography of that exchange with the same keyed
//! primitives: per direction, CBC-encrypt the padded data, MAC it (sender), MAC it again
//! (receiver) and CBC-decrypt it. The ratio `engine / bare` is the engine overhead reported in
//! docs/PERFORMANCE.md.

use std::hint::black_box;

use cardwire_apdu::StatusWord;
use cardwire_sm::primitives::{AesCmac, AesKey};
use cardwire_sm::scp03::{Scp03Card, Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
use cardwire_sm::{AesSuite, CipherSuite, SmSession, TdesSuite};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 2] = [64, 1024];

fn command(n: usize) -> Vec<u8> {
    let mut c = vec![0x00, 0xD6, 0x00, 0x00];
    if n > 255 {
        c.extend_from_slice(&[0, (n >> 8) as u8, n as u8]);
    } else {
        c.push(n as u8);
    }
    c.extend((0..n).map(|i| i as u8));
    if n > 255 {
        c.extend_from_slice(&[0, 0]);
    } else {
        c.push(0);
    }
    c
}

struct Iso<S: CipherSuite> {
    host: SmSession<S>,
    card: SmSession<S>,
    wire: Vec<u8>,
    plain: Vec<u8>,
}

impl<S: CipherSuite> Iso<S> {
    fn exchange(&mut self, cmd: &[u8], rsp: &[u8]) {
        let n = self.host.wrap_command(cmd, &mut self.wire).unwrap();
        let m = self
            .card
            .unwrap_command(&self.wire[..n], &mut self.plain)
            .unwrap();
        black_box(&self.plain[..m]);
        let n = self
            .card
            .wrap_response(rsp, StatusWord::SUCCESS, &mut self.wire)
            .unwrap();
        let m = self
            .host
            .unwrap_response(&self.wire[..n], &mut self.plain)
            .unwrap();
        black_box(&self.plain[..m]);
    }
}

/// The bare work of one direction: encrypt, MAC, MAC, decrypt over the padded data.
fn bare_direction<S: CipherSuite>(suite: &mut S, ssc: &[u8], buf: &mut [u8]) {
    suite.encrypt(ssc, buf).unwrap();
    for _ in 0..2 {
        suite.mac_begin();
        suite.mac_update(ssc);
        suite.mac_update(buf);
        black_box(suite.mac_finish());
    }
    suite.decrypt(ssc, buf).unwrap();
}

fn padded(n: usize, block: usize) -> usize {
    n + (block - n % block)
}

fn bench_iso<S: CipherSuite>(c: &mut Criterion, name: &str, make: &dyn Fn() -> S, ssc: &[u8]) {
    let mut group = c.benchmark_group(format!("sm/{name}"));
    for n in SIZES {
        group.throughput(Throughput::Bytes(2 * n as u64));
        let cmd = command(n);
        let rsp = vec![0x42u8; n];
        let mut iso = Iso {
            host: SmSession::host(make(), ssc).unwrap(),
            card: SmSession::card(make(), ssc).unwrap(),
            wire: vec![0; 4200],
            plain: vec![0; 4200],
        };
        group.bench_with_input(BenchmarkId::new("engine", n), &n, |b, _| {
            b.iter(|| iso.exchange(black_box(&cmd), black_box(&rsp)))
        });
        let mut suite = make();
        let mut buf = vec![0x42u8; padded(n, S::BLOCK_SIZE)];
        group.bench_with_input(BenchmarkId::new("bare", n), &n, |b, _| {
            b.iter(|| {
                bare_direction(&mut suite, ssc, black_box(&mut buf));
                bare_direction(&mut suite, ssc, black_box(&mut buf));
            })
        });
    }
    group.finish();
}

fn scp03_pair(keys: &[u8]) -> (Scp03Session, Scp03Session) {
    let sk = || StaticKeys::new(keys, keys, keys).unwrap();
    let mut host = Scp03Host::new(sk(), 0x30, [1; 8]);
    let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [2; 8]);
    let (mut cmd, mut rsp) = ([0u8; 64], [0u8; 64]);
    let n = host.initialize_update_command(&mut cmd).unwrap();
    let m = card.initialize_update(&cmd[..n], &mut rsp).unwrap();
    let n = host
        .external_authenticate_command(&rsp[..m], SecurityLevel::ALL, &mut cmd)
        .unwrap();
    let card = card.external_authenticate(&cmd[..n]).unwrap();
    (host.finish(&[0x90, 0x00]).unwrap(), card)
}

fn bench_scp03(c: &mut Criterion, name: &str, keys: &[u8]) {
    let mut group = c.benchmark_group(format!("sm/{name}"));
    for n in SIZES {
        group.throughput(Throughput::Bytes(2 * n as u64));
        let cmd = command(n);
        let rsp = vec![0x42u8; n];
        let (mut host, mut card) = scp03_pair(keys);
        let (mut wire, mut plain) = (vec![0u8; 4200], vec![0u8; 4200]);
        group.bench_with_input(BenchmarkId::new("engine", n), &n, |b, _| {
            b.iter(|| {
                let k = host.wrap_command(black_box(&cmd), &mut wire).unwrap();
                let m = card.unwrap_command(&wire[..k], &mut plain).unwrap();
                black_box(&plain[..m]);
                let k = card
                    .wrap_response(black_box(&rsp), StatusWord::SUCCESS, &mut wire)
                    .unwrap();
                let m = host.unwrap_response(&wire[..k], &mut plain).unwrap();
                black_box(&plain[..m]);
            })
        });
        let enc = AesKey::new(keys).unwrap();
        let mut mac = AesCmac::new(keys).unwrap();
        let mut buf = vec![0x42u8; padded(n, 16)];
        let chaining = [0u8; 16];
        group.bench_with_input(BenchmarkId::new("bare", n), &n, |b, _| {
            b.iter(|| {
                for _ in 0..2 {
                    enc.encrypt_cbc(&chaining, black_box(&mut buf)).unwrap();
                    black_box(mac.compute(&[&chaining, &buf]));
                    black_box(mac.compute(&[&chaining, &buf]));
                    enc.decrypt_cbc(&chaining, black_box(&mut buf)).unwrap();
                }
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_iso(
        c,
        "3des-retail-mac",
        &|| TdesSuite::new(&[0x11; 16], &[0x22; 16]).unwrap(),
        &[0; 8],
    );
    bench_iso(
        c,
        "aes128-cmac",
        &|| AesSuite::new(&[0x11; 16], &[0x22; 16]).unwrap(),
        &[0; 16],
    );
    bench_iso(
        c,
        "aes256-cmac",
        &|| AesSuite::new(&[0x11; 32], &[0x22; 32]).unwrap(),
        &[0; 16],
    );
    bench_scp03(c, "scp03-aes128-level33", &[0x40; 16]);
}

criterion_group!(sm, benches);
criterion_main!(sm);
