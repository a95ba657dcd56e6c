//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;
use std::string::ToString;

use crate::Error;

fn index(e: &Error) -> usize {
    match e {
        Error::TruncatedHeader { .. } => 0,
        Error::TruncatedValue { .. } => 1,
        Error::InvalidTag { .. } => 2,
        Error::InvalidLength { .. } => 3,
        Error::IndefiniteLength { .. } => 4,
        Error::NonMinimalLength { .. } => 5,
        Error::LengthBeyondInput { .. } => 6,
        Error::TooDeep { .. } => 7,
        Error::TooManyNodes { .. } => 8,
        Error::TrailingData { .. } => 9,
        Error::ValueTooLong { .. } => 10,
        Error::BufferTooSmall { .. } => 11,
        Error::InvalidHistoricalBytes { .. } => 12,
    }
}

#[test]
fn every_variant_speaks() {
    let samples: &[(Error, &[u32])] = &[
        (Error::TruncatedHeader { offset: 3 }, &[]),
        (
            Error::TruncatedValue {
                offset: 3,
                needed: 2,
            },
            &[],
        ),
        (Error::InvalidTag { offset: 1 }, &[]),
        (
            Error::InvalidLength {
                offset: 1,
                byte: 0x85,
            },
            &[0x85],
        ),
        (Error::IndefiniteLength { offset: 1 }, &[0x80]),
        (Error::NonMinimalLength { offset: 1 }, &[]),
        (
            Error::LengthBeyondInput {
                offset: 0,
                length: 5,
                available: 2,
            },
            &[],
        ),
        (
            Error::TooDeep {
                offset: 0,
                limit: 4,
            },
            &[],
        ),
        (
            Error::TooManyNodes {
                offset: 0,
                limit: 4,
            },
            &[],
        ),
        (Error::TrailingData { offset: 4 }, &[]),
        (Error::ValueTooLong { length: 70_000 }, &[]),
        (
            Error::BufferTooSmall {
                needed: 4,
                available: 2,
            },
            &[],
        ),
        (Error::InvalidHistoricalBytes { offset: 1 }, &[]),
    ];
    walk(samples, index, 13);
}

/// Checks one message: not empty, no Debug output (`{`, `}`, `Some(`), and none of `tags`
/// (protocol bytes: tags, status words, class bytes) rendered in decimal.
fn check(name: &str, message: &str, tags: &[u32]) {
    assert!(!message.trim().is_empty(), "{name}: empty message");
    assert!(
        !message.contains('{') && !message.contains('}'),
        "{name}: Debug output in {message:?}"
    );
    assert!(
        !message.contains("Some("),
        "{name}: Debug output in {message:?}"
    );
    for &tag in tags {
        let decimal = tag.to_string();
        let hit = message.match_indices(decimal.as_str()).any(|(i, _)| {
            let before = message.get(..i).and_then(|s| s.chars().last());
            let after = message
                .get(i + decimal.len()..)
                .and_then(|s| s.chars().next());
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        });
        assert!(
            tag < 10 || !hit,
            "{name}: {tag:02X} is shown in decimal ({decimal}) in {message:?}"
        );
    }
}

/// Checks every sample and that the samples cover every variant (`index` is an exhaustive
/// match, so a new variant does not compile until it has an index, and fails here until it
/// has a sample).
fn walk<E: core::fmt::Display>(samples: &[(E, &[u32])], index: fn(&E) -> usize, variants: usize) {
    let mut seen = std::vec![false; variants];
    for (e, tags) in samples {
        let i = index(e);
        seen[i] = true;
        check(&std::format!("variant {i}"), &e.to_string(), tags);
    }
    let missing: std::vec::Vec<usize> = (0..variants).filter(|i| !seen[*i]).collect();
    assert!(missing.is_empty(), "variants without a sample: {missing:?}");
}
