//! Secure messaging: the cost of the engine (`cardwire-sm`) next to the bare cipher and MAC
//! work it has to do, in the same group of the same run.
//!
//! For each suite and size, one "exchange" is: the host wraps a command with N data bytes, the
//! card unwraps it, the card wraps a response with N data bytes, the host unwraps it. The
//! `bare` line does only the cryptography the protocol prescribes for that exchange, with the
//! same keyed primitives and over inputs of the protocol's lengths: per direction, the IV or
//! ICV, CBC-encrypt the padded data, MAC what the protocol MACs (the data objects or the
//! header and status word around the cryptogram) as sender and again as receiver, CBC-decrypt
//! (`benches/common/sm_exchange.rs`, shared with the instruction-count harness). The ratio
//! `engine / bare` is the engine overhead reported in docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used)]

use cardwire_sm::CipherSuite;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "../common/emrtd.rs"]
mod emrtd;
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

// PACE (issue 18): one whole terminal-side PACE-GM run with the sans-IO engine, answered by
// the chip's recorded answers of ICAO Doc 9303-11 Appendix G.1 (ECDH, brainpoolP256r1) and
// G.2 (DH, 1024-bit MODP): the host's cryptography of a run (Kπ, the nonce, the mapping, the
// key agreement, the tokens), without I/O. The `ecdh-bare` / `dh-bare` lines are the
// unavoidable group operations alone (four scalar multiplications / modular exponentiations
// plus the mapping), so `run / bare` is the engine's overhead.
mod pace {
    use super::*;
    use cardwire_sm::MrzInfo;
    use cardwire_sm::pace::{
        DhGroup, MAX_COMMAND_LEN, PaceCurve, PaceDomain, PaceHost, PacePassword,
    };

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    struct Run {
        protocol: Vec<u8>,
        domain: PaceDomain,
        sk_map: Vec<u8>,
        sk_eph: Vec<u8>,
        answers: [Vec<u8>; 5],
    }

    fn point(tag: u8, p: &str) -> Vec<u8> {
        let v = hex(p);
        let mut a = vec![0x7C];
        if v.len() + 3 > 0x7F {
            a.extend([0x81, (v.len() + 3) as u8, tag, 0x81, v.len() as u8]);
        } else {
            a.extend([(v.len() + 2) as u8, tag, v.len() as u8]);
        }
        a.extend(v);
        a.extend([0x90, 0x00]);
        a
    }

    fn g1() -> Run {
        Run {
            protocol: hex("04007F00070202040202"),
            domain: PaceDomain::Ec(PaceCurve::BrainpoolP256r1),
            sk_map: hex("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99"),
            sk_eph: hex("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"),
            answers: [
                hex("9000"),
                hex("7C12801095A3A016522EE98D01E76CB6B98B42C39000"),
                point(
                    0x82,
                    "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57\
                     30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54",
                ),
                point(
                    0x84,
                    "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB\
                     7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094",
                ),
                hex("7C0A86083ABB9674BCE93C089000"),
            ],
        }
    }

    fn g2() -> Run {
        Run {
            protocol: hex("04007F00070202040102"),
            domain: PaceDomain::Dh(DhGroup::Modp1024_160),
            sk_map: hex("5265030F751F4AD18B08AC565FC7AC952E41618D"),
            sk_eph: hex("89CCD99B0E8D3B1F11E1296DCA68EC53411CF2CA"),
            answers: [
                hex("9000"),
                hex("7C128010854D8DF5827FA6852D1A4FA701CDDDCA9000"),
                point(
                    0x82,
                    "78879F57225AA8080D52ED0FC890A4B25336F699AA89A2D3A189654AF70729E6
                     23EA5738B26381E4DA19E004706FACE7B235C2DBF2F38748312F3C98C2DD4882
                     A41947B324AA1259AC22579DB93F7085655AF30889DBB845D9E6783FE42C9F24
                     49400306254C8AE8EE9DD812A804C0B66E8CAFC14F84D8258950A91B44126EE6",
                ),
                point(
                    0x84,
                    "075693D9AE941877573E634B6E644F8E60AF17A0076B8B123D9201074D36152B
                     D8B3A213F53820C42ADC79AB5D0AEEC3AEFB91394DA476BD97B9B14D0A65C1FC
                     71A0E019CB08AF55E1F729005FBA7E3FA5DC41899238A250767A6D46DB974064
                     386CD456743585F8E5D90CC8B4004B1F6D866C79CE0584E49687FF61BC29AEA1",
                ),
                hex("7C0A8608917F37B5C0E6D8D19000"),
            ],
        }
    }

    fn run(r: &Run, mrz: &MrzInfo) {
        let mut h = PaceHost::with_domain(
            &r.protocol,
            r.domain,
            &PacePassword::Mrz(mrz),
            &r.sk_map,
            &r.sk_eph,
        )
        .unwrap();
        let mut cmd = [0u8; MAX_COMMAND_LEN];
        h.mse_set_at_command(&mut cmd).unwrap();
        h.check_mse_set_at(&r.answers[0]).unwrap();
        h.process_nonce(&r.answers[1]).unwrap();
        h.map_command(&mut cmd).unwrap();
        h.process_map(&r.answers[2]).unwrap();
        h.key_agreement_command(&mut cmd).unwrap();
        h.process_key_agreement(&r.answers[3]).unwrap();
        h.mutual_authentication_command(&mut cmd).unwrap();
        black_box(h.finish(&r.answers[4]).unwrap());
    }

    /// The group operations of a run alone: PK_map, H, Ĝ, PK_IFD, K.
    fn bare(r: &Run) {
        let d = r.domain;
        let pk_map_ic = &r.answers[2][if r.answers[2][1] == 0x81 { 6 } else { 4 }..];
        let pk_map_ic = &pk_map_ic[..pk_map_ic.len() - 2];
        let pk_ic = &r.answers[3][if r.answers[3][1] == 0x81 { 6 } else { 4 }..];
        let pk_ic = &pk_ic[..pk_ic.len() - 2];
        black_box(d.public_key(&r.sk_map).unwrap());
        let h = d.agree(&r.sk_map, pk_map_ic).unwrap();
        let g = d.map_generic(&[0x3F; 16], h.as_bytes()).unwrap();
        black_box(d.public_key_on(&r.sk_eph, g.as_bytes()).unwrap());
        black_box(d.agree(&r.sk_eph, pk_ic).unwrap());
    }

    pub fn benches(c: &mut Criterion) {
        let mrz = MrzInfo::new("T22000129", "640812", "101031").unwrap();
        let mut group = c.benchmark_group("sm/pace-gm");
        group.sample_size(20);
        for (name, r) in [("ecdh-bp256-g1", g1()), ("dh-1024-g2", g2())] {
            group.bench_function(BenchmarkId::new("run", name), |b| b.iter(|| run(&r, &mrz)));
            group.bench_function(BenchmarkId::new("bare", name), |b| b.iter(|| bare(&r)));
        }
        group.finish();
    }
}

// eMRTD (issue 18, benches/common/emrtd.rs): a whole PACE-GM run host ↔ chip in process,
// both sides' real cryptography, next to both sides' bare group work; and reading a 15 KB
// DG2 under AES-128 secure messaging (READ BINARY in 223-byte chunks, host and card side)
// next to the bare cipher and MAC work over the same bytes.
//
// Instruction counts (callgrind, `--toggle-collect` on the `#[inline(never)]` functions of
// benches/common/emrtd.rs, one call in criterion's `--test` mode, x86-64 with AES-NI,
// 2026-12-07): PACE host+card / bare = 23.7M / 21.5M (P-256, 1.10), 34.0M / 30.9M
// (brainpoolP256r1, 1.10), 82.9M / 75.3M (P-384, 1.10); the DG2 15 KB read
// is counted per call by the icount harness (`sm/dg2-aes128/read_15k` / `bare_15k`, 1.32 after
// the SM third pass, docs/PERFORMANCE.md): a toggle on `Dg2Read::read` over this bench's
// `--test` run counts two calls (the setup's check below and the measured iteration), which
// is where an earlier "1.06M / 0.36M (2.9)" came from.
mod emrtd_benches {
    use super::*;
    use cardwire_sm::pace::PaceCurve;

    use crate::emrtd::*;

    pub fn benches(c: &mut Criterion) {
        let mut group = c.benchmark_group("sm/pace-in-process");
        group.sample_size(10);
        for (name, curve) in [
            ("p256", PaceCurve::NistP256),
            ("bp256", PaceCurve::BrainpoolP256r1),
            ("p384", PaceCurve::NistP384),
        ] {
            group.bench_function(BenchmarkId::new("host+card", name), |b| {
                b.iter(|| pace_run(curve))
            });
            group.bench_function(BenchmarkId::new("bare", name), |b| {
                b.iter(|| pace_bare(curve))
            });
        }
        group.finish();

        let mut group = c.benchmark_group("sm/dg2-15k-aes128");
        group.throughput(Throughput::Bytes(DG2_LEN as u64));
        let mut read = Dg2Read::new();
        assert_eq!(read.read(), DG2_LEN);
        assert!(read.read_back_is_file());
        group.bench_function("read-binary-sm", |b| b.iter(|| read.read()));
        let mut bare = Dg2Bare::new();
        group.bench_function("bare", |b| b.iter(|| bare.read()));
        group.finish();
    }
}

criterion_group!(sm, benches);
criterion_group!(sm_pace, pace::benches);
criterion_group!(sm_emrtd, emrtd_benches::benches);
criterion_main!(sm, sm_pace, sm_emrtd);
