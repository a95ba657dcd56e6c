#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod algorithm;
pub mod apt;
pub mod asynch;
pub mod auth;
pub mod commands;
pub mod containers;
pub mod error;
pub mod host;
pub mod keygen;
pub mod management;
pub mod object;
#[cfg(feature = "alloc")]
pub mod padding;
pub mod response;
pub mod slot;

pub use algorithm::AlgorithmId;
pub use apt::ApplicationProperties;
pub use asynch::AsyncPiv;
pub use auth::{AuthTemplate, AuthTemplateRepr};
pub use containers::{
    CardCapabilityContainer, CardCapabilityContainerRepr, CertInfo, CertificateObject,
    CertificateObjectRepr, Chuid, ChuidRepr, Discovery, DiscoveryRepr, Fascn, KeyHistory,
    KeyHistoryRepr, PinUsagePolicy, PrintedInformation, PrintedInformationRepr, SecurityObject,
    SecurityObjectRepr,
};
pub use error::{Error, Operation, Target};
pub use host::Piv;
pub use keygen::{PublicKey, PublicKeyRepr};
pub use management::{ManagementKey, MutualAuth};
pub use object::ObjectId;
pub use slot::Slot;

/// The PIV Card Application AID, truncated form used in SELECT (NIST SP 800-73-4 Part 1
/// §2.2: `A0 00 00 03 08 00 00 10 00`; the full AID adds version `01 00`).
pub const PIV_AID: [u8; 9] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00];

/// The full PIV AID with version `01 00` (NIST SP 800-73-4 Part 1 §2.2), as the discovery
/// object and the application property template carry it.
pub const PIV_AID_FULL: [u8; 11] = [
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
];
