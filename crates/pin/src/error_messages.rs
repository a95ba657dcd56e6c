//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;

use cardwire_testkit::walk_variants as walk;

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
