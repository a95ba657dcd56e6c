//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;

use cardwire_testkit::walk_variants as walk;

use crate::Error;
use crate::t1::BlockFault;

fn index(e: &Error) -> usize {
    match e {
        Error::AtrTooShort { .. } => 0,
        Error::AtrIncomplete { .. } => 1,
        Error::AtrTooLong { .. } => 2,
        Error::InvalidTs { .. } => 3,
        Error::BadChecksum { .. } => 4,
        Error::MissingTck { .. } => 5,
        Error::InvalidTd1 { .. } => 6,
        Error::TrailingBytes { .. } => 7,
        Error::PpsNotAllowed => 8,
        Error::PpsMalformed { .. } => 9,
        Error::PpsIncomplete { .. } => 10,
        Error::PpsRefused { .. } => 11,
        Error::NoCommonProtocol => 12,
        Error::BufferTooSmall { .. } => 13,
        Error::ApduTooLong { .. } => 14,
        Error::InvalidApdu => 15,
        Error::Busy => 16,
        Error::Dead => 17,
        Error::Resynchronized => 18,
        Error::Aborted => 19,
        Error::WtxLimit => 20,
        Error::ProtocolViolation { .. } => 21,
        Error::Timeout => 22,
        Error::InvalidBlock(_) => 23,
        Error::DeadlineExceeded => 24,
    }
}

#[test]
fn every_variant_speaks() {
    let mut samples: std::vec::Vec<(Error, &[u32])> = std::vec![
        (Error::AtrTooShort { len: 1 }, &[]),
        (
            Error::AtrIncomplete {
                offset: 2,
                needed: 3
            },
            &[]
        ),
        (Error::AtrTooLong { len: 40 }, &[]),
        (Error::InvalidTs { value: 0xAB }, &[0xAB]),
        (
            Error::BadChecksum {
                offset: 12,
                expected: 0xC7
            },
            &[0xC7]
        ),
        (Error::MissingTck { offset: 9 }, &[]),
        (Error::InvalidTd1 { offset: 3 }, &[]),
        (Error::TrailingBytes { offset: 14 }, &[]),
        (Error::PpsNotAllowed, &[]),
        (Error::PpsMalformed { offset: 1 }, &[]),
        (Error::PpsIncomplete { needed: 2 }, &[]),
        (Error::PpsRefused { offset: 2 }, &[]),
        (Error::NoCommonProtocol, &[]),
        (Error::BufferTooSmall { needed: 4 }, &[]),
        (
            Error::ApduTooLong {
                len: 300,
                capacity: 261
            },
            &[]
        ),
        (Error::InvalidApdu, &[]),
        (Error::Busy, &[]),
        (Error::Dead, &[]),
        (Error::Resynchronized, &[]),
        (Error::Aborted, &[]),
        (Error::WtxLimit, &[]),
        (Error::ProtocolViolation { byte: 0x6B }, &[0x6B]),
        (Error::Timeout, &[]),
        (Error::DeadlineExceeded, &[]),
    ];
    for fault in [
        BlockFault::Edc,
        BlockFault::Truncated,
        BlockFault::TooLong,
        BlockFault::WrongNad,
        BlockFault::LenFF,
        BlockFault::LenBeyondIfs,
        BlockFault::BadPcb,
        BlockFault::RBlockWithInf,
        BlockFault::BadIfs,
        BlockFault::BadSLen,
    ] {
        samples.push((Error::InvalidBlock(fault), &[0xFF]));
    }
    walk(&samples, index, 25);
}
