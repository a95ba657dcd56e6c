//! [`Piv`]: the PIV host operations over a blocking [`Session`].
//!
//! The operations are written once, as `async` code in [`crate::AsyncPiv`]. [`Piv`] runs that
//! same code over its blocking session through [`Ready`], whose every transmit completes at
//! once, and polls it a single time with [`run_ready`] (as `cardwire-transport` drives one
//! engine for both `Card` and `AsyncCard`). So the blocking and async hosts send exactly the
//! same APDUs.

use core::future::Future;

use cardwire_pin::{Charset, Pin, PinFormat, PinOutcome, PinPolicy, PinReference, PinSpec};
use cardwire_transport::Error as _;
use cardwire_transport::session::{Ready, Session, run_ready};

use crate::{
    AlgorithmId, ApplicationProperties, AsyncPiv, AuthTemplate, AuthTemplateRepr,
    CardCapabilityContainer, CertificateObject, Chuid, Discovery, Error, KeyHistory, ManagementKey,
    ObjectId, PrintedInformation, PublicKey, SecurityObject, Slot,
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

/// Runs one operation of [`AsyncPiv`] over [`Ready`] to completion in a single poll.
///
/// A `Pending` cannot happen (every await reaches a blocking `transmit`); if it ever did,
/// [`run_ready`] asserts in debug builds and this returns [`Error::Session`] with
/// [`cardwire_transport::ErrorKind::Other`] instead of looping or panicking.
fn block<T>(operation: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    run_ready(operation).map_err(|e| Error::Session(e.kind()))?
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
    inner: AsyncPiv<Ready<S>>,
}

impl<S: Session> Piv<S> {
    /// Wraps a session (the PIV application is not selected yet: call [`Self::select`]).
    pub fn new(session: S) -> Self {
        Piv {
            inner: AsyncPiv::new(Ready(session)),
        }
    }

    /// The session.
    pub fn session(&self) -> &S {
        &self.inner.session().0
    }

    /// The session, mutably (for example to send a proprietary command in between).
    pub fn session_mut(&mut self) -> &mut S {
        &mut self.inner.session_mut().0
    }

    /// Gives the session back.
    pub fn into_inner(self) -> S {
        self.inner.into_inner().0
    }

    /// SELECT the PIV application and read its application property template
    /// (SP 800-73-4 Part 2 §3.1.1). `buf` receives the answer.
    ///
    /// # Errors
    /// As [`AsyncPiv::select`].
    pub fn select<'b>(&mut self, buf: &'b mut [u8]) -> Result<ApplicationProperties<'b>, Error> {
        block(self.inner.select(buf))
    }

    /// GET DATA of `object` (SP 800-73-4 Part 2 §3.1.2); returns the container's content.
    ///
    /// # Errors
    /// As [`AsyncPiv::get_data`].
    pub fn get_data<'b>(&mut self, object: ObjectId, buf: &'b mut [u8]) -> Result<&'b [u8], Error> {
        block(self.inner.get_data(object, buf))
    }

    /// Reads the CHUID.
    ///
    /// # Errors
    /// As [`AsyncPiv::read_chuid`].
    pub fn read_chuid<'b>(&mut self, buf: &'b mut [u8]) -> Result<Chuid<'b>, Error> {
        block(self.inner.read_chuid(buf))
    }

    /// Reads the Card Capability Container.
    ///
    /// # Errors
    /// As [`AsyncPiv::read_ccc`].
    pub fn read_ccc<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<CardCapabilityContainer<'b>, Error> {
        block(self.inner.read_ccc(buf))
    }

    /// Reads the discovery object.
    ///
    /// # Errors
    /// As [`AsyncPiv::read_discovery`].
    pub fn read_discovery<'b>(&mut self, buf: &'b mut [u8]) -> Result<Discovery<'b>, Error> {
        block(self.inner.read_discovery(buf))
    }

    /// Reads the key history object.
    ///
    /// # Errors
    /// As [`AsyncPiv::read_key_history`].
    pub fn read_key_history<'b>(&mut self, buf: &'b mut [u8]) -> Result<KeyHistory<'b>, Error> {
        block(self.inner.read_key_history(buf))
    }

    /// Reads the printed information (needs the PIN).
    ///
    /// # Errors
    /// As [`AsyncPiv::read_printed_information`].
    pub fn read_printed_information<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<PrintedInformation<'b>, Error> {
        block(self.inner.read_printed_information(buf))
    }

    /// Reads the security object.
    ///
    /// # Errors
    /// As [`AsyncPiv::read_security_object`].
    pub fn read_security_object<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<SecurityObject<'b>, Error> {
        block(self.inner.read_security_object(buf))
    }

    /// Reads the certificate container of `key` (9A, 9C, 9D, 9E, 82-95).
    ///
    /// # Errors
    /// As [`AsyncPiv::read_certificate`].
    pub fn read_certificate<'b>(
        &mut self,
        key: Slot,
        buf: &'b mut [u8],
    ) -> Result<CertificateObject<'b>, Error> {
        block(self.inner.read_certificate(key, buf))
    }

    /// PUT DATA of `content` into `object` (SP 800-73-4 Part 2 §3.3.2; needs the management
    /// key). The data field is built in `work` ([`crate::commands::put_data_len`] bytes).
    ///
    /// # Errors
    /// As [`AsyncPiv::put_data`].
    pub fn put_data(
        &mut self,
        object: ObjectId,
        content: &[u8],
        work: &mut [u8],
    ) -> Result<(), Error> {
        block(self.inner.put_data(object, content, work))
    }

    /// VERIFY `pin` against `reference` (`80` PIV PIN, `00` Global PIN, `81` PUK)
    /// (SP 800-73-4 Part 2 §3.2.1).
    ///
    /// # Errors
    /// As [`AsyncPiv::verify_pin`].
    pub fn verify_pin(&mut self, reference: PinReference, pin: &Pin) -> Result<PinOutcome, Error> {
        block(self.inner.verify_pin(reference, pin))
    }

    /// Empty VERIFY: the verification status of `reference` (SP 800-73-4 Part 2 §3.2.1).
    ///
    /// # Errors
    /// As [`AsyncPiv::pin_status`].
    pub fn pin_status(&mut self, reference: PinReference) -> Result<PinOutcome, Error> {
        block(self.inner.pin_status(reference))
    }

    /// VERIFY with P1 `FF`: resets the security status of `reference` (SP 800-73-4 Part 2
    /// §3.2.1).
    ///
    /// # Errors
    /// As [`AsyncPiv::reset_pin_verification`].
    pub fn reset_pin_verification(&mut self, reference: PinReference) -> Result<PinOutcome, Error> {
        block(self.inner.reset_pin_verification(reference))
    }

    /// CHANGE REFERENCE DATA of `reference` (PIN or PUK) from `old` to `new`
    /// (SP 800-73-4 Part 2 §3.2.2).
    ///
    /// # Errors
    /// As [`AsyncPiv::change_reference_data`].
    pub fn change_reference_data(
        &mut self,
        reference: PinReference,
        old: &Pin,
        new: &Pin,
    ) -> Result<PinOutcome, Error> {
        block(self.inner.change_reference_data(reference, old, new))
    }

    /// RESET RETRY COUNTER of the PIV PIN with the PUK, setting `new_pin`
    /// (SP 800-73-4 Part 2 §3.2.3).
    ///
    /// # Errors
    /// As [`AsyncPiv::reset_retry_counter`].
    pub fn reset_retry_counter(&mut self, puk: &Pin, new_pin: &Pin) -> Result<PinOutcome, Error> {
        block(self.inner.reset_retry_counter(puk, new_pin))
    }

    /// Mutual authentication with the card management key `9B` (SP 800-73-4 Part 2
    /// Appendix A.1).
    ///
    /// # Errors
    /// As [`AsyncPiv::authenticate_management_key`].
    pub fn authenticate_management_key<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        key: &ManagementKey,
        rng: &mut R,
    ) -> Result<(), Error> {
        block(self.inner.authenticate_management_key(key, rng))
    }

    /// GENERAL AUTHENTICATE with `template` (SP 800-73-4 Part 2 §3.2.4); returns the
    /// card's `7C`.
    ///
    /// # Errors
    /// As [`AsyncPiv::general_authenticate`].
    pub fn general_authenticate<'b>(
        &mut self,
        algorithm: AlgorithmId,
        key: Slot,
        template: &AuthTemplateRepr<'_>,
        buf: &'b mut [u8],
    ) -> Result<AuthTemplate<'b>, Error> {
        block(
            self.inner
                .general_authenticate(algorithm, key, template, buf),
        )
    }

    /// Signs with `key`: `input` is the padded block for RSA or the digest for ECDSA
    /// (SP 800-73-4 Part 2 Appendix A.4).
    ///
    /// # Errors
    /// As [`AsyncPiv::sign`].
    pub fn sign<'b>(
        &mut self,
        key: Slot,
        algorithm: AlgorithmId,
        input: &[u8],
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        block(self.inner.sign(key, algorithm, input, buf))
    }

    /// Signs `digest` with the RSA key `key` using PKCS#1 v1.5 padding built on the host
    /// (RFC 8017 §9.2).
    ///
    /// # Errors
    /// As [`AsyncPiv::sign_pkcs1v15`].
    #[cfg(feature = "alloc")]
    pub fn sign_pkcs1v15<'b>(
        &mut self,
        key: Slot,
        algorithm: AlgorithmId,
        hash: crate::padding::Hash,
        digest: &[u8],
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        block(self.inner.sign_pkcs1v15(key, algorithm, hash, digest, buf))
    }

    /// ECDH with `key` (usually 9D) and the other party's uncompressed public point
    /// (SP 800-73-4 Part 2 Appendix A.5): returns the shared secret's x coordinate.
    ///
    /// # Errors
    /// As [`AsyncPiv::ecdh`].
    pub fn ecdh<'b>(
        &mut self,
        key: Slot,
        algorithm: AlgorithmId,
        peer_point: &[u8],
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        block(self.inner.ecdh(key, algorithm, peer_point, buf))
    }

    /// GENERATE ASYMMETRIC KEY PAIR in `key` for `algorithm` (SP 800-73-4 Part 2 §3.3.3).
    ///
    /// # Errors
    /// As [`AsyncPiv::generate`].
    pub fn generate<'b>(
        &mut self,
        key: Slot,
        algorithm: AlgorithmId,
        buf: &'b mut [u8],
    ) -> Result<PublicKey<'b>, Error> {
        block(self.inner.generate(key, algorithm, buf))
    }
}
