//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used)]

extern crate std;
use std::string::ToString;

use crate::Error;

fn index(e: &Error) -> usize {
    match e {
        Error::KeyDerivation => 0,
        Error::Certificate(_) => 1,
        Error::InvalidPin(_) => 2,
        Error::ForeignState { .. } => 3,
        Error::CorruptState { .. } => 4,
        Error::UnsupportedStateVersion { .. } => 5,
        Error::StateLocked { .. } => 6,
        Error::StateExposed { .. } => 7,
        Error::StatePassphrase { .. } => 8,
        Error::StateTooLarge { .. } => 9,
        Error::Io { .. } => 10,
    }
}

#[test]
fn every_variant_speaks() {
    let path = || "card.state".to_string();
    let samples: &[(Error, &[u32])] = &[
        (Error::KeyDerivation, &[]),
        (
            Error::Certificate("the validity is not encodable".to_string()),
            &[],
        ),
        (Error::InvalidPin("at most 8 digits".to_string()), &[]),
        (Error::ForeignState { path: path() }, &[]),
        (
            Error::CorruptState {
                path: path(),
                reason: "the SHA-256 checksum does not match".to_string(),
            },
            &[],
        ),
        (
            Error::UnsupportedStateVersion {
                path: path(),
                version: 3,
            },
            &[],
        ),
        (Error::StateLocked { path: path() }, &[]),
        (
            Error::StateExposed {
                path: path(),
                reason: "its mode 644 lets group or others read or change it".to_string(),
            },
            &[],
        ),
        (
            Error::StatePassphrase {
                path: path(),
                reason: "the passphrase is wrong",
            },
            &[],
        ),
        (
            Error::StateTooLarge {
                path: path(),
                len: 17_000_000,
                max: 16_777_216,
            },
            &[],
        ),
        (
            Error::Io {
                path: path(),
                message: "permission denied".to_string(),
            },
            &[],
        ),
    ];
    walk(samples, index, 11);
}

/// The card's own error messages (from a real damaged state file) hold no Debug output:
/// file paths are in hex FIDs.
#[test]
fn state_errors_from_the_card_speak() {
    let mut state = crate::VirtualCard::new(&crate::Seed::DEFAULT)
        .unwrap()
        .to_state();
    state.files.push(crate::state::FileContent {
        path: std::vec![0x3F00, 0xABCD],
        data: crate::state::FileData::Transparent(std::vec![]),
    });
    let e = crate::VirtualCard::from_state(&state, "card.state").unwrap_err();
    check("unknown file", &e.to_string(), &[0x3F00, 0xABCD]);
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
