//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;

use cardwire_testkit::{check_message as check, walk_variants as walk};
use std::string::ToString;

use cardwire_apdu::StatusWord;

use crate::card_error::CardError;
use crate::secure::SecureChannelErrorKind;
use crate::transport::ErrorKind;

type E = CardError<ErrorKind, SecureChannelErrorKind>;

fn index(e: &E) -> usize {
    match e {
        CardError::Transport(_) => 0,
        CardError::SecureChannel(_) => 1,
        CardError::SecureMessagingRequired => 2,
        CardError::CommandTooLong { .. } => 3,
        CardError::ResponseTooLong { .. } => 4,
        CardError::MalformedResponse => 5,
        CardError::TooManyResponses => 6,
        CardError::Apdu(_) => 7,
        CardError::SecureChannelClosed => 8,
        CardError::ChannelNotOpen(_) => 9,
        CardError::Refused(_) => 10,
        CardError::TransactionNotRun => 11,
    }
}

const KINDS: [ErrorKind; 8] = [
    ErrorKind::BufferTooSmall,
    ErrorKind::CardRemoved,
    ErrorKind::CardReset,
    ErrorKind::Timeout,
    ErrorKind::Protocol,
    ErrorKind::NoService,
    ErrorKind::Unsupported,
    ErrorKind::Other,
];

const SM_KINDS: [SecureChannelErrorKind; 5] = [
    SecureChannelErrorKind::Integrity,
    SecureChannelErrorKind::Malformed,
    SecureChannelErrorKind::BufferTooSmall,
    SecureChannelErrorKind::Closed,
    SecureChannelErrorKind::Other,
];

/// Exhaustive over the kinds, so a new kind must be added to the lists above.
fn kind_index(k: ErrorKind) -> usize {
    match k {
        ErrorKind::BufferTooSmall
        | ErrorKind::CardRemoved
        | ErrorKind::CardReset
        | ErrorKind::Timeout
        | ErrorKind::Protocol
        | ErrorKind::NoService
        | ErrorKind::Unsupported
        | ErrorKind::Other => KINDS.iter().position(|x| *x == k).unwrap_or(99),
    }
}

fn sm_kind_index(k: SecureChannelErrorKind) -> usize {
    match k {
        SecureChannelErrorKind::Integrity
        | SecureChannelErrorKind::Malformed
        | SecureChannelErrorKind::BufferTooSmall
        | SecureChannelErrorKind::Closed
        | SecureChannelErrorKind::Other => SM_KINDS.iter().position(|x| *x == k).unwrap_or(99),
    }
}

#[test]
fn every_variant_speaks() {
    let mut samples: std::vec::Vec<(E, &[u32])> = std::vec![
        (CardError::SecureMessagingRequired, &[]),
        (CardError::CommandTooLong { len: 300, max: 255 }, &[]),
        (CardError::ResponseTooLong { capacity: 258 }, &[]),
        (CardError::MalformedResponse, &[]),
        (CardError::TooManyResponses, &[]),
        (
            CardError::Apdu(cardwire_apdu::Error::NotAnFciTemplate { found: 0x99 }),
            &[0x99],
        ),
        (CardError::SecureChannelClosed, &[]),
        (CardError::ChannelNotOpen(3), &[]),
        (CardError::Refused(StatusWord(0x6A81)), &[0x6A81]),
        (CardError::TransactionNotRun, &[]),
    ];
    for k in KINDS {
        samples.push((CardError::Transport(k), &[]));
        check("kind", &k.to_string(), &[]);
        assert!(kind_index(k) < KINDS.len());
    }
    for k in SM_KINDS {
        samples.push((CardError::SecureChannel(k), &[]));
        check("secure channel kind", &k.to_string(), &[]);
        assert!(sm_kind_index(k) < SM_KINDS.len());
    }
    walk(&samples, index, 12);
}

/// The message the issue quotes: a secure channel error inside a session error is shown by
/// its Display, not as a Rust struct.
#[test]
fn a_secure_channel_error_is_not_shown_as_debug() {
    #[derive(Debug)]
    struct Missing {
        #[allow(dead_code)]
        tag: u8,
    }
    impl core::fmt::Display for Missing {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("no DO'99'")
        }
    }
    let e: CardError<ErrorKind, Missing> = CardError::SecureChannel(Missing { tag: 0x99 });
    let m = e.to_string();
    check("secure channel", &m, &[0x99]);
    assert_eq!(m, "secure channel failed: no DO'99'");
}

#[cfg(feature = "testing")]
#[test]
fn fault_errors_speak() {
    use crate::fault::FaultError;
    for k in KINDS {
        check(
            "injected",
            &FaultError::<ErrorKind>::Injected(k).to_string(),
            &[],
        );
        check("inner", &FaultError::<ErrorKind>::Inner(k).to_string(), &[]);
    }
}

#[cfg(feature = "embedded-io")]
#[test]
fn uart_errors_speak() {
    use crate::uart::UartError;
    let samples: [UartError<embedded_io::ErrorKind>; 5] = [
        UartError::Io(embedded_io::ErrorKind::TimedOut),
        UartError::Link(cardwire_link::Error::InvalidTs { value: 0xAB }),
        UartError::Atr(cardwire_link::Error::AtrTooShort { len: 1 }),
        UartError::BufferTooSmall,
        UartError::Unsupported,
    ];
    for e in samples {
        let i = match e {
            UartError::Io(_) => 0,
            UartError::Link(_) => 1,
            UartError::Atr(_) => 2,
            UartError::BufferTooSmall => 3,
            UartError::Unsupported => 4,
        };
        check(&std::format!("uart {i}"), &e.to_string(), &[0xAB]);
    }
}
