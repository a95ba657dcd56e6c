//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;

use cardwire_testkit::walk_variants as walk;

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
