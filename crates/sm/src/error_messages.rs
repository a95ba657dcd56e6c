//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;

use cardwire_testkit::walk_variants as walk;
use std::string::ToString;

use cardwire_apdu::StatusWord;

use crate::Error;
use crate::error::MrzField;

fn index(e: &Error) -> usize {
    match e {
        Error::BufferTooSmall { .. } => 0,
        Error::MalformedCommand { .. } => 1,
        Error::MalformedObject { .. } => 2,
        Error::UnexpectedObject { .. } => 3,
        Error::DuplicateObject { .. } => 4,
        Error::MisorderedObject { .. } => 5,
        Error::MissingObject { .. } => 6,
        Error::MacMismatch => 7,
        Error::BadPadding => 8,
        Error::LengthMismatch { .. } => 9,
        Error::ClassByte { .. } => 10,
        Error::TooLong => 11,
        Error::UnprotectedStatus { .. } => 12,
        Error::SessionFailed => 13,
        Error::WrongState => 14,
        Error::CounterExhausted => 15,
        Error::KeyLength { .. } => 16,
        Error::CheckDigit { .. } => 17,
        Error::InvalidMrz { .. } => 18,
        Error::AuthenticationFailed => 19,
        Error::CardRefused { .. } => 20,
        Error::UnsupportedProtocol => 21,
        Error::SecurityLevel { .. } => 22,
        Error::Randomness => 23,
        Error::Transport { .. } => 24,
    }
}

#[test]
fn every_variant_speaks() {
    let mut samples: std::vec::Vec<(Error, &[u32])> = std::vec![
        (Error::BufferTooSmall { needed: 40 }, &[]),
        (Error::MalformedCommand { offset: 4 }, &[]),
        (Error::MalformedObject { offset: 6 }, &[]),
        (
            Error::UnexpectedObject {
                tag: 0x81,
                offset: 0
            },
            &[0x81]
        ),
        (
            Error::DuplicateObject {
                tag: 0x99,
                offset: 4
            },
            &[0x99]
        ),
        (
            Error::MisorderedObject {
                tag: 0x87,
                offset: 4
            },
            &[0x87]
        ),
        (Error::MissingObject { tag: 0x99 }, &[0x99]),
        (Error::MissingObject { tag: 0x8E }, &[0x8E]),
        (Error::MacMismatch, &[]),
        (Error::BadPadding, &[]),
        (Error::LengthMismatch { offset: 2 }, &[]),
        (Error::ClassByte { cla: 0x8C }, &[0x8C]),
        (Error::TooLong, &[]),
        (
            Error::UnprotectedStatus {
                sw: StatusWord(0x6A82)
            },
            &[0x6A82]
        ),
        (Error::SessionFailed, &[]),
        (Error::WrongState, &[]),
        (Error::CounterExhausted, &[]),
        (Error::KeyLength { len: 15 }, &[]),
        (Error::AuthenticationFailed, &[]),
        (
            Error::CardRefused {
                sw: StatusWord(0x6982)
            },
            &[0x6982]
        ),
        (Error::UnsupportedProtocol, &[]),
        (Error::SecurityLevel { level: 0x13 }, &[0x13]),
        (Error::Randomness, &[]),
        (
            Error::Transport {
                kind: cardwire_transport::ErrorKind::Timeout
            },
            &[],
        ),
    ];
    for field in [
        MrzField::DocumentNumber,
        MrzField::DateOfBirth,
        MrzField::DateOfExpiry,
        MrzField::OptionalData,
        MrzField::Composite,
    ] {
        samples.push((
            Error::CheckDigit {
                field,
                expected: b'7',
                found: b'3',
            },
            &[],
        ));
        samples.push((Error::InvalidMrz { field, offset: 2 }, &[]));
    }
    walk(&samples, index, 25);
    // The message the issue quotes, in protocol terms.
    let m = Error::MissingObject { tag: 0x99 }.to_string();
    assert!(
        m.contains("DO'99'") && m.contains("processing status"),
        "{m}"
    );
}
