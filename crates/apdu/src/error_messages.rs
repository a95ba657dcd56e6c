//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;
use std::string::ToString;

use crate::{Error, StatusWord};

fn index(e: &Error) -> usize {
    match e {
        Error::Truncated { .. } => 0,
        Error::TrailingBytes { .. } => 1,
        Error::ExtendedLcZero { .. } => 2,
        Error::ResponseTooLong { .. } => 3,
        Error::DataTooLong { .. } => 4,
        Error::NeTooLarge { .. } => 5,
        Error::NeedsExtended => 6,
        Error::BufferTooSmall { .. } => 7,
        Error::InvalidParameter { .. } => 8,
        Error::CommandTooLong { .. } => 9,
        Error::TooManyGetResponses { .. } => 10,
        Error::TooManyResends { .. } => 11,
        Error::ResponseBufferFull { .. } => 12,
        Error::InvalidState => 13,
        Error::Status(_) => 14,
        Error::Tlv(_) => 15,
        Error::NotAnFciTemplate { .. } => 16,
    }
}

#[test]
fn every_variant_speaks() {
    let samples: &[(Error, &[u32])] = &[
        (
            Error::Truncated {
                offset: 4,
                needed: 2,
            },
            &[],
        ),
        (Error::TrailingBytes { offset: 5 }, &[]),
        (Error::ExtendedLcZero { offset: 4 }, &[]),
        (Error::ResponseTooLong { len: 70_000 }, &[]),
        (Error::DataTooLong { len: 70_000 }, &[]),
        (Error::NeTooLarge { ne: 70_000 }, &[]),
        (Error::NeedsExtended, &[]),
        (Error::BufferTooSmall { needed: 9 }, &[]),
        (
            Error::InvalidParameter {
                what: "class byte FF on a logical channel",
            },
            &[],
        ),
        (Error::CommandTooLong { len: 300 }, &[]),
        (Error::TooManyGetResponses { limit: 64 }, &[]),
        (Error::TooManyResends { limit: 2 }, &[]),
        (Error::ResponseBufferFull { capacity: 16 }, &[]),
        (Error::InvalidState, &[]),
        (Error::Status(StatusWord(0x6A82)), &[0x6A82, 0x6A, 0x82]),
        (
            Error::Tlv(cardwire_tlv::Error::InvalidLength {
                offset: 1,
                byte: 0x85,
            }),
            &[0x85],
        ),
        (Error::NotAnFciTemplate { found: 0x99 }, &[0x99]),
    ];
    walk(samples, index, 17);
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
