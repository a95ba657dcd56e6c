//! Every error variant's message speaks protocol, not Rust: no Debug output, no `Some(`,
//! no tag or status word in decimal (issue 13, "errors that speak").

#![allow(clippy::indexing_slicing, clippy::panic)]

extern crate std;

use cardwire_testkit::{check_message as check, walk_variants as walk};
use std::string::ToString;

use crate::error::{Operation, PcscError, Reason};

const OPERATIONS: [Operation; 14] = [
    Operation::Establish,
    Operation::ListReaders,
    Operation::WaitForChange,
    Operation::Connect,
    Operation::Reconnect,
    Operation::Status,
    Operation::Transmit,
    Operation::TransmitInTransaction,
    Operation::BeginTransaction,
    Operation::EndTransaction,
    Operation::Control,
    Operation::GetFeatures,
    Operation::GetAttribute,
    Operation::Disconnect,
];

const REASONS: [Reason; 19] = [
    Reason::ServiceNotRunning,
    Reason::NoReaders,
    Reason::UnknownReader,
    Reason::NoCard,
    Reason::CardRemoved,
    Reason::CardReset,
    Reason::SharingViolation,
    Reason::Timeout,
    Reason::Cancelled,
    Reason::UnresponsiveCard,
    Reason::UnpoweredCard,
    Reason::ProtocolMismatch,
    Reason::Unsupported,
    Reason::BufferTooSmall,
    Reason::MalformedAnswer,
    Reason::InvalidParameter,
    Reason::ConnectionLost,
    Reason::DifferentCard,
    Reason::Other,
];

/// Exhaustive: a new operation or reason does not compile until it is listed above.
fn index(e: &PcscError) -> usize {
    let op = match e.operation() {
        Operation::Establish
        | Operation::ListReaders
        | Operation::WaitForChange
        | Operation::Connect
        | Operation::Reconnect
        | Operation::Status
        | Operation::Transmit
        | Operation::TransmitInTransaction
        | Operation::BeginTransaction
        | Operation::EndTransaction
        | Operation::Control
        | Operation::GetFeatures
        | Operation::GetAttribute
        | Operation::Disconnect => OPERATIONS.iter().position(|o| *o == e.operation()),
    };
    let reason = match e.reason() {
        Reason::ServiceNotRunning
        | Reason::NoReaders
        | Reason::UnknownReader
        | Reason::NoCard
        | Reason::CardRemoved
        | Reason::CardReset
        | Reason::SharingViolation
        | Reason::Timeout
        | Reason::Cancelled
        | Reason::UnresponsiveCard
        | Reason::UnpoweredCard
        | Reason::ProtocolMismatch
        | Reason::Unsupported
        | Reason::BufferTooSmall
        | Reason::MalformedAnswer
        | Reason::InvalidParameter
        | Reason::ConnectionLost
        | Reason::DifferentCard
        | Reason::Other => REASONS.iter().position(|r| *r == e.reason()),
    };
    op.unwrap_or(99) * REASONS.len() + reason.unwrap_or(99)
}

#[test]
fn every_variant_speaks() {
    let mut samples: std::vec::Vec<(PcscError, &[u32])> = std::vec::Vec::new();
    for op in OPERATIONS {
        for reason in REASONS {
            samples.push((PcscError::without_code(op, reason), &[]));
        }
    }
    walk(&samples, index, OPERATIONS.len() * REASONS.len());
    // With the service's code: the code in hex (8010000C), never as a Rust name or decimal.
    let e = PcscError::new(Operation::Connect, ::pcsc::Error::NoSmartcard);
    let m = e.to_string();
    check("NoSmartcard", &m, &[0x8010_000C]);
    assert!(m.contains("8010000C") && !m.contains("NoSmartcard"), "{m}");
}
