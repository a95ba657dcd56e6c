//! Real ATRs: a committed sample (`tests/data/atrs.txt`, literal ATRs taken from Ludovic
//! Rousseau's smartcard list shipped by Debian's pcsc-tools) and, when installed, the whole
//! `/usr/share/pcsc/smartcard_list.txt`. Every literal ATR must parse without a panic in both
//! modes; the strict parser's verdicts are counted per error kind and explained below.
//!
//! Why real ATRs fail the strict parser (ISO/IEC 7816-3 §8):
//! - `BadChecksum`: the TCK is wrong. Most are list entries typed by hand or ATRs of cards
//!   that compute the TCK over TS too; readers ignore it, so the lenient parser only warns.
//! - `MissingTck`: T=1 (or T=15) is indicated but the ATR ends after the historical bytes.
//!   Common on old cards and on ATRs copied without their last byte.
//! - `AtrIncomplete`: fewer bytes than T0/TDi announce; these are truncated entries and fail
//!   in both modes (the structure cannot be decoded).
//! - `TrailingBytes`: bytes after the end, usually a TCK on a T=0-only ATR (lenient: one extra
//!   byte is read as an unexpected TCK and checked).
//! - `InvalidTd1`: T=15 in TD1, which §8.2.3 forbids.
//! - `InvalidTs`: TS other than 3B/3F (e.g. a 3B misprinted).
//! - `AtrTooLong`: more than 32 bytes after TS.
//!
//! On pcsc-tools' list of 2023 (3 803 literal ATRs) the strict verdicts are: 3 709 ok,
//! 30 TrailingBytes, 21 MissingTck, 21 AtrIncomplete, 19 BadChecksum, 3 InvalidTd1. The
//! lenient parser accepts all but the 21 incomplete ones.

// Test code: a failing test is a panic by design (clippy.toml allows it in #[test] fns;
// helpers here are test code too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use cardwire_link::Error;
use cardwire_link::atr::{Atr, Mode};

fn literal_atr(line: &str) -> Option<Vec<u8>> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.is_empty()
        || !tokens
            .iter()
            .all(|t| t.len() == 2 && t.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return None;
    }
    Some(
        tokens
            .iter()
            .map(|t| u8::from_str_radix(t, 16).unwrap())
            .collect(),
    )
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::AtrTooShort { .. } => "AtrTooShort",
        Error::AtrIncomplete { .. } => "AtrIncomplete",
        Error::AtrTooLong { .. } => "AtrTooLong",
        Error::InvalidTs { .. } => "InvalidTs",
        Error::BadChecksum { .. } => "BadChecksum",
        Error::MissingTck { .. } => "MissingTck",
        Error::InvalidTd1 { .. } => "InvalidTd1",
        Error::TrailingBytes { .. } => "TrailingBytes",
        _ => "other",
    }
}

/// Parses every ATR in both modes and checks what must hold whatever the verdict.
fn verdicts(atrs: &[Vec<u8>]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for atr in atrs {
        let strict = Atr::parse(atr, Mode::Strict);
        let lenient = Atr::parse(atr, Mode::Lenient);
        match &strict {
            Ok(a) => {
                *counts.entry("ok").or_default() += 1;
                let l = lenient
                    .as_ref()
                    .expect("strict success implies lenient success");
                assert_eq!(a.as_bytes(), l.as_bytes());
                assert!(a.tck_ok());
                // Exercise every accessor: none may panic.
                let _ = (
                    a.protocols(),
                    a.default_protocol(),
                    a.fi(),
                    a.di(),
                    a.f_max_khz(),
                    a.t1(),
                    a.wi(),
                );
                let _ = (
                    a.specific_mode(),
                    a.clock_stop(),
                    a.class_indicator(),
                    a.spu(),
                    a.interface_bytes().count(),
                );
            }
            Err(e) => {
                *counts.entry(kind(e)).or_default() += 1;
                // Lenient fails only on structure errors, with the same error.
                if let Err(le) = &lenient {
                    assert!(
                        matches!(
                            le,
                            Error::AtrIncomplete { .. }
                                | Error::InvalidTs { .. }
                                | Error::AtrTooLong { .. }
                                | Error::AtrTooShort { .. }
                        ),
                        "{le:?}"
                    );
                    assert_eq!(le, e);
                }
            }
        }
        if let Ok(l) = &lenient {
            let _ = (
                l.protocols(),
                l.t1(),
                l.historical_bytes(),
                l.tck_ok(),
                l.findings().iter().count(),
            );
        }
    }
    counts
}

#[test]
fn committed_sample_verdicts() {
    let text = include_str!("data/atrs.txt");
    let atrs: Vec<Vec<u8>> = text.lines().filter_map(literal_atr).collect();
    assert!(atrs.len() >= 50, "{}", atrs.len());
    let counts = verdicts(&atrs);
    eprintln!("sample of {}: {counts:?}", atrs.len());
    SAMPLE_EXPECTED
        .iter()
        .for_each(|(k, v)| assert_eq!(counts.get(k).copied().unwrap_or(0), *v, "{k}: {counts:?}"));
}

// Verdicts on the committed sample (fixed data, so fixed counts).
const SAMPLE_EXPECTED: &[(&str, usize)] = &[
    ("ok", 25),
    ("AtrIncomplete", 6),
    ("BadChecksum", 6),
    ("InvalidTd1", 3),
    ("MissingTck", 6),
    ("TrailingBytes", 6),
];

#[test]
fn pcsc_tools_list_parses_without_panic() {
    let path = "/usr/share/pcsc/smartcard_list.txt";
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("{path} not installed: skipped (the committed sample still runs)");
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let atrs: Vec<Vec<u8>> = text.lines().filter_map(literal_atr).collect();
    assert!(atrs.len() > 1000, "{}", atrs.len());
    let counts = verdicts(&atrs);
    eprintln!(
        "smartcard_list.txt, {} literal ATRs, strict verdicts: {counts:?}",
        atrs.len()
    );
}
