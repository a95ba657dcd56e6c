//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used)]

extern crate std;

use cardwire_testkit::{check_message as check, walk_variants as walk};
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
