//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;
use std::string::ToString;

use crate::Error;

fn index(e: &Error) -> usize {
    match e {
        Error::Truncated { .. } => 0,
        Error::TrailingBytes { .. } => 1,
        Error::Invalid { .. } => 2,
        Error::UnknownMessageType { .. } => 3,
        Error::BufferTooSmall { .. } => 4,
        Error::TooLong { .. } => 5,
    }
}

#[test]
fn every_variant_speaks() {
    let samples: &[(Error, &[u32])] = &[
        (
            Error::Truncated {
                offset: 3,
                needed: 7,
            },
            &[],
        ),
        (Error::TrailingBytes { offset: 12 }, &[]),
        (
            Error::Invalid {
                offset: 7,
                what: "bSlot is not 0",
            },
            &[],
        ),
        (Error::UnknownMessageType { value: 0x6B }, &[0x6B]),
        (Error::BufferTooSmall { needed: 10 }, &[]),
        (Error::TooLong { len: 300, max: 271 }, &[]),
    ];
    walk(samples, index, 6);
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
