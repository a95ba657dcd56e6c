//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;
use std::string::ToString;

use crate::Error;

fn index(e: &Error) -> usize {
    match e {
        Error::EmptyPin => 0,
        Error::PinTooLong { .. } => 1,
        Error::PinTooShort { .. } => 2,
        Error::InvalidCharacter { .. } => 3,
        Error::BufferTooSmall { .. } => 4,
        Error::Truncated { .. } => 5,
        Error::Invalid { .. } => 6,
        Error::TrailingBytes { .. } => 7,
        Error::PlainPinRefused => 8,
        Error::EntryTimeout => 9,
        Error::EntryCancelled => 10,
        Error::ConfirmationMismatch => 11,
        Error::EntryLengthOutOfRange => 12,
        Error::Transport(_) => 13,
    }
}

#[test]
fn every_variant_speaks() {
    let samples: &[(Error, &[u32])] = &[
        (Error::EmptyPin, &[]),
        (Error::PinTooLong { len: 200, max: 127 }, &[]),
        (Error::PinTooShort { len: 3, min: 4 }, &[]),
        (Error::InvalidCharacter { offset: 2 }, &[]),
        (Error::BufferTooSmall { needed: 8 }, &[]),
        (
            Error::Truncated {
                offset: 3,
                needed: 2,
            },
            &[],
        ),
        (
            Error::Invalid {
                offset: 1,
                what: "bmFormatString is not a known format",
            },
            &[],
        ),
        (Error::TrailingBytes { offset: 19 }, &[]),
        (Error::PlainPinRefused, &[]),
        (Error::EntryTimeout, &[]),
        (Error::EntryCancelled, &[]),
        (Error::ConfirmationMismatch, &[]),
        (Error::EntryLengthOutOfRange, &[]),
        (
            Error::Transport(cardwire_transport::ErrorKind::CardRemoved),
            &[],
        ),
    ];
    walk(samples, index, 14);
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
