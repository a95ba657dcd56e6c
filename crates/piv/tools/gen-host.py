#!/usr/bin/env python3
"""Writes src/host.rs and src/asynch.rs from tools/host.rs.in, so the blocking and async
twins cannot drift apart. Run from crates/piv after editing the template, then `cargo fmt --all`."""
import re

body = open("tools/host.rs.in").read()

HEADER = {
    "host": '''//! [`Piv`]: the PIV host operations over a blocking [`Session`].
//!
//! Generated from `tools/host.rs.in` by `tools/gen-host.py` together with its async twin
//! [`crate::AsyncPiv`]: both only glue the sans-IO builders of [`crate::commands`] to the
//! parsers of [`crate::response`] and the container views.

use cardwire_apdu::{Cla, CommandRepr, StatusWord};
use cardwire_pin::{Charset, Pin, PinCommand, PinFormat, PinOutcome, PinPolicy, PinReference, PinSpec};
use cardwire_transport::{Error as _, Session};
use zeroize::Zeroize;

use crate::{
    AlgorithmId, ApplicationProperties, AuthTemplate, AuthTemplateRepr, CardCapabilityContainer,
    CertificateObject, Chuid, Discovery, Error, KeyHistory, ManagementKey, MutualAuth, ObjectId,
    Operation, PrintedInformation, PublicKey, SecurityObject, Slot, Target, commands, containers,
    response,
};

/// The PIV Global PIN: reference `00`, 6-8 digits padded with `FF` to 8 bytes
/// (SP 800-73-4 Part 1 Table 4a, Part 2 §3.2.1).
pub const PIV_GLOBAL_PIN: PinSpec = PinSpec {
    reference: PinReference::PIV_GLOBAL_PIN,
    format: PinFormat::PIV,
    policy: PinPolicy::PIV_PIN,
};

/// The spec of a PIV PIN reference: `80` and `00` are PINs (6-8 digits), `81` the PUK
/// (8 bytes); any other reference is treated as PIV-formatted with no policy beyond the
/// 8-byte length.
pub fn pin_spec(reference: PinReference) -> PinSpec {
    match reference {
        PinReference::PIV_APPLICATION_PIN => PinSpec::PIV_APPLICATION_PIN,
        PinReference::PIV_GLOBAL_PIN => PIV_GLOBAL_PIN,
        PinReference::PIV_PUK => PinSpec::PIV_PUK,
        other => PinSpec {
            reference: other,
            format: PinFormat::PIV,
            policy: PinPolicy {
                min_len: 1,
                max_len: 8,
                charset: Charset::Any,
            },
        },
    }
}

/// The PIV card application's host side over a [`Session`] (NIST SP 800-73-4 Part 2).
///
/// Every operation takes the caller's buffer for the card's answer and returns views into
/// it: nothing is allocated. Status words that mean "not found", "PIN needed" or "blocked"
/// become [`Error::Status`] naming the object or key; PIN operations return a
/// [`PinOutcome`].
///
/// ```no_run
/// # fn demo<S: cardwire_transport::Session>(session: S) -> Result<(), cardwire_piv::Error> {
/// use cardwire_piv::{Piv, Slot, AlgorithmId};
/// use cardwire_pin::{Pin, PinOutcome, PinReference};
/// let mut piv = Piv::new(session);
/// let mut buf = [0u8; 4096];
/// piv.select(&mut buf)?;
/// let guid = *piv.read_chuid(&mut buf)?.guid().first().unwrap_or(&0);
/// let pin = Pin::new(b"123456")?;
/// assert_eq!(piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin)?, PinOutcome::Verified);
/// let digest = [0u8; 32];
/// let der = piv.sign(Slot::AUTHENTICATION, AlgorithmId::ECC_P256, &digest, &mut buf)?;
/// # let _ = (guid, der); Ok(()) }
/// ```
#[derive(Debug)]
pub struct Piv<S> {
    session: S,
}

impl<S: Session> Piv<S> {
    /// Wraps a session (the PIV application is not selected yet: call [`Self::select`]).
    pub fn new(session: S) -> Self {
        Piv { session }
    }

''',
    "asynch": '''//! [`AsyncPiv`]: the PIV host operations over an [`AsyncSession`], the async twin of
//! [`crate::Piv`].
//!
//! Generated from `tools/host.rs.in` by `tools/gen-host.py`: the same builders, parsers and
//! checks, with `.await` on the session.

use cardwire_apdu::{Cla, CommandRepr, StatusWord};
use cardwire_pin::{Pin, PinCommand, PinOutcome, PinReference, PinSpec};
use cardwire_transport::{AsyncSession, Error as _};
use zeroize::Zeroize;

use crate::host::pin_spec;
use crate::{
    AlgorithmId, ApplicationProperties, AuthTemplate, AuthTemplateRepr, CardCapabilityContainer,
    CertificateObject, Chuid, Discovery, Error, KeyHistory, ManagementKey, MutualAuth, ObjectId,
    Operation, PrintedInformation, PublicKey, SecurityObject, Slot, Target, commands, containers,
    response,
};

/// The PIV card application's host side over an [`AsyncSession`]: every method of
/// [`crate::Piv`] as an `async fn`.
#[derive(Debug)]
pub struct AsyncPiv<S> {
    session: S,
}

impl<S: AsyncSession> AsyncPiv<S> {
    /// Wraps a session (the PIV application is not selected yet: call [`Self::select`]).
    pub fn new(session: S) -> Self {
        AsyncPiv { session }
    }

''',
}

for name, is_async in (("host", False), ("asynch", True)):
    text = body
    if is_async:
        text = text.replace("ASYNC fn", "async fn").replace("AWAIT", ".await")
    else:
        text = text.replace("ASYNC fn", "fn").replace("\n            AWAIT\n", "\n").replace("AWAIT", "")
    open(f"src/{name}.rs", "w").write(HEADER[name] + text)
