//! cardwire-piv container parsing: a GET DATA answer holding a 2 KB certificate container
//! (`53 { 70 cert, 71 00, FE 00 }`, SP 800-73-4 Part 1 Table 10) and a CHUID (Table 9), from
//! the `53` wrapper to the checked view. No peer crate parses PIV containers without a card
//! session, so the group shows cardwire alone.

// Bench code over fixed inputs: a panic is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use cardwire_piv::containers::{data_object_len, encode_data_object, unwrap_data_object};
use cardwire_piv::{CertificateObject, CertificateObjectRepr, Chuid, ChuidRepr, ObjectId};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A 2 060-byte self-signed X.509 certificate (RSA-2048, 38 subjectAltName entries), made
/// with openssl for cardwire's tests.
const CERT: &[u8] = include_bytes!("../../crates/piv/tests/data/cert-2k.der");

fn wrapped(object: ObjectId, content: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; data_object_len(object, content.len())];
    encode_data_object(object, content, &mut out).unwrap();
    out
}

fn bench(c: &mut Criterion) {
    let object = ObjectId::X509_PIV_AUTHENTICATION;
    let repr = CertificateObjectRepr::new(CERT);
    let mut content = vec![0u8; repr.encoded_len()];
    repr.encode(&mut content).unwrap();
    let cert_answer = wrapped(object, &content);

    let chuid = ChuidRepr {
        guid: *b"0123456789abcdef",
        signature: &[0x30; 300],
        ..ChuidRepr::default()
    };
    let mut content = vec![0u8; chuid.encoded_len()];
    chuid.encode(&mut content).unwrap();
    let chuid_answer = wrapped(ObjectId::CHUID, &content);

    let mut g = c.benchmark_group("piv/parse");
    g.throughput(Throughput::Bytes(cert_answer.len() as u64));
    g.bench_function("certificate container 2 KB", |b| {
        b.iter(|| {
            let inner = unwrap_data_object(object, black_box(&cert_answer)).unwrap();
            let cert = CertificateObject::new_checked(object, inner).unwrap();
            black_box(cert.certificate().unwrap().len())
        })
    });
    g.throughput(Throughput::Bytes(chuid_answer.len() as u64));
    g.bench_function("CHUID", |b| {
        b.iter(|| {
            let inner = unwrap_data_object(ObjectId::CHUID, black_box(&chuid_answer)).unwrap();
            let chuid = Chuid::new_checked(inner).unwrap();
            black_box(chuid.fascn().unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
