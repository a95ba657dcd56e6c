//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;

use cardwire_testkit::walk_variants as walk;

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
