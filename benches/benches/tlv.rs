//! cardwire-tlv side by side with peer crates: a full walk (every node, every value touched)
//! over real card data, an X.509 certificate and 64 KiB of small objects.
//!
//! Peers: `iso7816-tlv` 0.4, `tlv_parser` 0.10, the `iso7816` 0.2 crate's `tlv` module (only on
//! inputs it accepts), `asn1-rs` 0.7 (BER), and a floor: a hand-written loop that walks the
//! same headers with no validation at all. Results are written up in docs/PERFORMANCE.md.

use std::hint::black_box;

use cardwire_tlv::{Mode, Options, Walker};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../common/tlv_walks.rs"]
mod walks;
use walks::*;

fn bench_tlv(c: &mut Criterion) {
    let inputs = inputs();
    let lenient = Options::default();
    for (name, input) in &inputs {
        let input = input.as_slice();
        let expected = floor_walk(input);
        assert_eq!(cardwire_walk(input, lenient), expected, "{name}: cardwire");
        assert_eq!(
            cardwire_walk_for(input, lenient),
            expected,
            "{name}: cardwire"
        );
        assert_eq!(
            cardwire_descendants(input, lenient),
            expected,
            "{name}: cardwire descendants"
        );
        let last = last_tag(input);
        assert_ne!(
            cardwire_find_deep(input, lenient, last),
            0,
            "{name}: find_deep"
        );
        let complete = |peer: &str, got: Option<usize>| match got {
            Some(v) if v == expected => true,
            Some(_) => {
                eprintln!("tlv/{name}: {peer} parses only part of this input; not benchmarked");
                false
            }
            None => {
                eprintln!("tlv/{name}: {peer} rejects this input; not benchmarked");
                false
            }
        };
        let mut group = c.benchmark_group(format!("tlv/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("floor", |b| b.iter(|| floor_walk(black_box(input))));
        group.bench_function("cardwire-tlv", |b| {
            b.iter(|| cardwire_walk(black_box(input), lenient))
        });
        group.bench_function("cardwire-tlv-for-loop", |b| {
            b.iter(|| cardwire_walk_for(black_box(input), lenient))
        });
        group.bench_function("cardwire-tlv-descendants", |b| {
            b.iter(|| cardwire_descendants(black_box(input), lenient))
        });
        group.bench_function("cardwire-tlv-find-deep", |b| {
            b.iter(|| cardwire_find_deep(black_box(input), lenient, last))
        });
        if Walker::new(input, Mode::Strict).finish().is_ok() {
            let strict = Options::from(Mode::Strict);
            group.bench_function("cardwire-tlv-strict", |b| {
                b.iter(|| cardwire_walk(black_box(input), strict))
            });
        }
        if complete("iso7816-tlv", Some(iso7816_tlv_walk(input))) {
            group.bench_function("iso7816-tlv", |b| {
                b.iter(|| iso7816_tlv_walk(black_box(input)))
            });
        }
        if complete("tlv_parser", tlv_parser_walk(input)) {
            group.bench_function("tlv_parser", |b| {
                b.iter(|| tlv_parser_walk(black_box(input)))
            });
        }
        if complete("iso7816", iso7816_walk(input)) {
            group.bench_function("iso7816", |b| b.iter(|| iso7816_walk(black_box(input))));
        }
        if complete("asn1-rs", asn1_rs_walk(input)) {
            group.bench_function("asn1-rs", |b| b.iter(|| asn1_rs_walk(black_box(input))));
        }
        group.finish();
    }
}

criterion_group!(benches, bench_tlv);
criterion_main!(benches);
