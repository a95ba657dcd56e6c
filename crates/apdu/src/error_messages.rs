//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;

use cardwire_testkit::walk_variants as walk;

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
