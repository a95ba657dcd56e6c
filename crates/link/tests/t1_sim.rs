//! T=1 over the simulated link: exact responses on a clean line, and the seeded property test
//! over a faulty one (ISO/IEC 7816-3 §11.6.3 recovery): every exchange ends with the exact
//! response or a clean error, never a hang, never corrupted data.

// Test code: a failing test is a panic by design (clippy.toml allows it in #[test] fns;
// helpers here are test code too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cardwire_link::Error;
use cardwire_link::sim::{Faults, Outcome, SplitMix64, T1Link, echo_card};
use cardwire_link::t1::{Config, Edc};

fn cfgs(rng: &mut SplitMix64) -> (Config, Config) {
    let ifsc = 1 + rng.below(254) as u8;
    let ifsd = 1 + rng.below(254) as u8;
    let edc = if rng.chance(500) { Edc::CRC } else { Edc::Lrc };
    let reader = Config {
        ifsc,
        ifsd,
        edc,
        ..Config::default()
    };
    let card = Config {
        ifsc,
        edc,
        ..Config::default()
    };
    (reader, card)
}

fn command(rng: &mut SplitMix64, max: usize) -> Vec<u8> {
    let len = 4 + rng.below(max as u64 - 4) as usize;
    let mut cmd: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    cmd[3] = rng.next_u64() as u8; // P2: response size for echo_card
    cmd
}

fn expected(cmd: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 1024];
    let n = echo_card(cmd, &mut out);
    out.truncate(n);
    out
}

#[test]
fn clean_line_exact_responses_with_chaining_both_ways() {
    let mut rng = SplitMix64::new(7);
    for _ in 0..500 {
        let (r, c) = cfgs(&mut rng);
        let mut link: T1Link<600> = T1Link::new(r, c, Faults::NONE, rng.next_u64());
        for _ in 0..3 {
            let cmd = command(&mut rng, 500);
            let mut rsp = [0u8; 600];
            let want = expected(&cmd);
            assert_eq!(
                link.exchange(&cmd, echo_card, &mut rsp),
                Outcome::Response(want.len())
            );
            assert_eq!(&rsp[..want.len()], &want[..]);
        }
        let s = link.reader.stats();
        assert_eq!((s.retransmissions, s.timeouts, s.resynchs), (0, 0, 0));
    }
}

#[test]
fn wtx_storm_and_ifs_changes_on_a_clean_line_succeed() {
    let faults = Faults {
        wtx_storm: 1000,
        wtx_max: 20,
        ifs_change: 1000,
        ..Faults::NONE
    };
    let mut rng = SplitMix64::new(11);
    for seed in 0..200 {
        let (r, c) = cfgs(&mut rng);
        let mut link: T1Link<600> = T1Link::new(r, c, faults, seed);
        let cmd = command(&mut rng, 500);
        let want = expected(&cmd);
        let mut rsp = [0u8; 600];
        assert_eq!(
            link.exchange(&cmd, echo_card, &mut rsp),
            Outcome::Response(want.len())
        );
        assert_eq!(&rsp[..want.len()], &want[..]);
        assert!(link.reader.stats().wtx >= 1);
    }
}

#[test]
fn endless_wtx_is_cut_off() {
    let faults = Faults {
        wtx_storm: 1000,
        wtx_max: 1000,
        ..Faults::NONE
    };
    let mut found = false;
    for seed in 0..20 {
        let mut link: T1Link<300> = T1Link::new(
            Config {
                max_wtx: 10,
                ..Config::default()
            },
            Config::default(),
            faults,
            seed,
        );
        let mut rsp = [0u8; 300];
        match link.exchange(&[0, 0xB0, 0, 0x10], echo_card, &mut rsp) {
            Outcome::Failed(Error::WtxLimit) => found = true,
            Outcome::Response(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(found);
}

/// The property test of issue 4: at least 10 000 seeded exchanges over a noisy line.
#[test]
fn ten_thousand_noisy_exchanges_are_exact_or_clean_errors() {
    let mut rng = SplitMix64::new(0x7816_0003);
    let mut counts = [0u32; 6];
    let mut exchanges = 0;
    while exchanges < 10_000 {
        let (r, c) = cfgs(&mut rng);
        let mut link: T1Link<600> = T1Link::new(r, c, Faults::NOISY, rng.next_u64());
        for _ in 0..10 {
            exchanges += 1;
            let cmd = command(&mut rng, 400);
            let want = expected(&cmd);
            let mut rsp = [0u8; 600];
            match link.exchange(&cmd, echo_card, &mut rsp) {
                Outcome::Response(n) => {
                    assert_eq!(
                        &rsp[..n],
                        &want[..],
                        "corrupted response, exchange {exchanges}"
                    );
                    counts[0] += 1;
                }
                Outcome::Failed(Error::Resynchronized) => counts[1] += 1,
                Outcome::Failed(Error::WtxLimit) => counts[2] += 1,
                Outcome::Failed(Error::Aborted) => counts[3] += 1,
                Outcome::Failed(Error::Dead) => {
                    counts[4] += 1;
                    link.reset();
                }
                other => panic!("exchange {exchanges}: unexpected outcome {other:?}"),
            }
        }
    }
    eprintln!(
        "ok {} resynchronized {} wtx-limit {} aborted {} dead {}",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );
    // Most exchanges survive the faults thanks to the recovery rules.
    assert!(counts[0] as f64 > 0.9 * exchanges as f64, "{counts:?}");
}
