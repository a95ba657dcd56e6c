//! [`AsyncPiv`]: the PIV host operations over an [`AsyncSession`], the one implementation
//! of them.
//!
//! Each operation only glues the sans-IO builders of [`crate::commands`] to the parsers of
//! [`crate::response`] and the container views. The blocking [`crate::Piv`] runs this same
//! code over `cardwire_transport::session::Ready`, whose futures complete on their first poll.

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

/// The PIV card application's host side over an [`AsyncSession`] (NIST SP 800-73-4 Part 2);
/// [`crate::Piv`] offers every method over a blocking session.
#[derive(Debug)]
pub struct AsyncPiv<S> {
    session: S,
}

impl<S: AsyncSession> AsyncPiv<S> {
    /// Wraps a session (the PIV application is not selected yet: call [`Self::select`]).
    pub fn new(session: S) -> Self {
        AsyncPiv { session }
    }

    /// The session.
    pub fn session(&self) -> &S {
        &self.session
    }

    /// The session, mutably (for example to send a proprietary command in between).
    pub fn session_mut(&mut self) -> &mut S {
        &mut self.session
    }

    /// Gives the session back.
    pub fn into_inner(self) -> S {
        self.session
    }

    async fn exchange<'b>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'b mut [u8],
    ) -> Result<(&'b [u8], StatusWord), Error> {
        let rsp = self
            .session
            .transmit(command, response)
            .await
            .map_err(|e| Error::Session(e.kind()))?;
        Ok(response::split(rsp))
    }

    /// SELECT the PIV application and read its application property template
    /// (SP 800-73-4 Part 2 §3.1.1). `buf` receives the answer.
    ///
    /// # Errors
    /// [`Error::Status`] (`6A82` when the card has no PIV application), [`Error::Session`],
    /// parse errors of [`ApplicationProperties::new_checked`].
    pub async fn select<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<ApplicationProperties<'b>, Error> {
        let (data, sw) = self.exchange(&commands::select(), buf).await?;
        response::check(Operation::Select, Target::Application, sw)?;
        ApplicationProperties::new_checked(data)
    }

    /// GET DATA of `object` (SP 800-73-4 Part 2 §3.1.2); returns the container's content
    /// (inside `53`, or inside `7E` for the discovery object). Large objects arrive through
    /// the session's `61xx` handling into `buf`.
    ///
    /// # Errors
    /// [`Error::Status`] (`6A82` not found, `6982` PIN needed), [`Error::Session`] (also when
    /// `buf` is too small for the object), [`Error::Tlv`]/[`Error::Malformed`].
    pub async fn get_data<'b>(
        &mut self,
        object: ObjectId,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let mut list = [0u8; commands::GET_DATA_LEN];
        let cmd = commands::get_data(object, &mut list)?;
        let (data, sw) = self.exchange(&cmd, buf).await?;
        response::check(Operation::GetData, Target::Object(object), sw)?;
        containers::unwrap_data_object(object, data)
    }

    /// Reads the CHUID.
    ///
    /// # Errors
    /// As [`Self::get_data`] and [`Chuid::new_checked`].
    pub async fn read_chuid<'b>(&mut self, buf: &'b mut [u8]) -> Result<Chuid<'b>, Error> {
        Chuid::new_checked(self.get_data(ObjectId::CHUID, buf).await?)
    }

    /// Reads the Card Capability Container.
    ///
    /// # Errors
    /// As [`Self::get_data`] and [`CardCapabilityContainer::new_checked`].
    pub async fn read_ccc<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<CardCapabilityContainer<'b>, Error> {
        CardCapabilityContainer::new_checked(
            self.get_data(ObjectId::CARD_CAPABILITY_CONTAINER, buf)
                .await?,
        )
    }

    /// Reads the discovery object.
    ///
    /// # Errors
    /// As [`Self::get_data`] and [`Discovery::new_checked`].
    pub async fn read_discovery<'b>(&mut self, buf: &'b mut [u8]) -> Result<Discovery<'b>, Error> {
        Discovery::new_checked(self.get_data(ObjectId::DISCOVERY, buf).await?)
    }

    /// Reads the key history object.
    ///
    /// # Errors
    /// As [`Self::get_data`] and [`KeyHistory::new_checked`].
    pub async fn read_key_history<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<KeyHistory<'b>, Error> {
        KeyHistory::new_checked(self.get_data(ObjectId::KEY_HISTORY, buf).await?)
    }

    /// Reads the printed information (needs the PIN).
    ///
    /// # Errors
    /// As [`Self::get_data`] and [`PrintedInformation::new_checked`].
    pub async fn read_printed_information<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<PrintedInformation<'b>, Error> {
        PrintedInformation::new_checked(self.get_data(ObjectId::PRINTED_INFORMATION, buf).await?)
    }

    /// Reads the security object.
    ///
    /// # Errors
    /// As [`Self::get_data`] and [`SecurityObject::new_checked`].
    pub async fn read_security_object<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<SecurityObject<'b>, Error> {
        SecurityObject::new_checked(self.get_data(ObjectId::SECURITY_OBJECT, buf).await?)
    }

    /// Reads the certificate container of `key` (9A, 9C, 9D, 9E, 82-95).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a key without a certificate container; as
    /// [`Self::get_data`] and [`CertificateObject::new_checked`].
    pub async fn read_certificate<'b>(
        &mut self,
        key: Slot,
        buf: &'b mut [u8],
    ) -> Result<CertificateObject<'b>, Error> {
        let object = key.object().ok_or(Error::Malformed {
            target: Target::Key(key),
            offset: 0,
            what: "this key has no certificate container (SP 800-73-4 Part 1 Table 4b)",
        })?;
        CertificateObject::new_checked(object, self.get_data(object, buf).await?)
    }

    /// PUT DATA of `content` into `object` (SP 800-73-4 Part 2 §3.3.2; needs the management
    /// key). The data field is built in `work` ([`commands::put_data_len`] bytes); the
    /// session chains it when it is longer than one APDU.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], [`Error::Status`] (`6982` without the management key,
    /// `6A84` not enough memory), [`Error::Session`].
    pub async fn put_data(
        &mut self,
        object: ObjectId,
        content: &[u8],
        work: &mut [u8],
    ) -> Result<(), Error> {
        let cmd = commands::put_data(object, content, work)?;
        let mut rsp = [0u8; 2];
        let (_, sw) = self.exchange(&cmd, &mut rsp).await?;
        response::check(Operation::PutData, Target::Object(object), sw)
    }

    async fn pin_command(&mut self, cmd: &PinCommand) -> Result<PinOutcome, Error> {
        if cmd.carries_secret() && self.session.plain_pin_forbidden() {
            return Err(Error::Pin(cardwire_pin::Error::PlainPinRefused));
        }
        let mut rsp = [0u8; 2];
        let (_, sw) = self.exchange(&cmd.repr(Cla(0x00)), &mut rsp).await?;
        Ok(PinOutcome::from_status(sw))
    }

    /// VERIFY `pin` against `reference` (`80` PIV PIN, `00` Global PIN, `81` PUK), in the
    /// PIV format: ASCII padded with `FF` to 8 bytes (SP 800-73-4 Part 2 §3.2.1).
    ///
    /// # Errors
    /// [`Error::Pin`] when the PIN breaks the reference's policy (nothing is sent then, so no
    /// try is spent) or secure messaging is required; [`Error::Session`].
    pub async fn verify_pin(
        &mut self,
        reference: PinReference,
        pin: &Pin,
    ) -> Result<PinOutcome, Error> {
        let spec = pin_spec(reference);
        spec.policy.check(pin)?;
        let cmd = PinCommand::verify(reference, spec.format, pin)?;
        self.pin_command(&cmd).await
    }

    /// Empty VERIFY: `9000` when `reference` is verified, `63Cx` with the tries left
    /// otherwise, `6983` when blocked (SP 800-73-4 Part 2 §3.2.1).
    ///
    /// # Errors
    /// [`Error::Session`].
    pub async fn pin_status(&mut self, reference: PinReference) -> Result<PinOutcome, Error> {
        self.pin_command(&PinCommand::verify_status(reference))
            .await
    }

    /// VERIFY with P1 `FF`: resets the security status of `reference` (SP 800-73-4 Part 2
    /// §3.2.1).
    ///
    /// # Errors
    /// [`Error::Session`].
    pub async fn reset_pin_verification(
        &mut self,
        reference: PinReference,
    ) -> Result<PinOutcome, Error> {
        self.pin_command(&PinCommand::reset_verification(reference))
            .await
    }

    /// CHANGE REFERENCE DATA of `reference` (PIN or PUK) from `old` to `new`
    /// (SP 800-73-4 Part 2 §3.2.2).
    ///
    /// # Errors
    /// As [`Self::verify_pin`].
    pub async fn change_reference_data(
        &mut self,
        reference: PinReference,
        old: &Pin,
        new: &Pin,
    ) -> Result<PinOutcome, Error> {
        let spec = pin_spec(reference);
        spec.policy.check(old)?;
        spec.policy.check(new)?;
        let cmd = PinCommand::change_reference_data(reference, spec.format, Some(old), new)?;
        self.pin_command(&cmd).await
    }

    /// RESET RETRY COUNTER of the PIV PIN with the PUK, setting `new_pin`
    /// (SP 800-73-4 Part 2 §3.2.3). `WrongPin`/`Blocked` outcomes count the PUK's tries.
    ///
    /// # Errors
    /// As [`Self::verify_pin`].
    pub async fn reset_retry_counter(
        &mut self,
        puk: &Pin,
        new_pin: &Pin,
    ) -> Result<PinOutcome, Error> {
        let pin = PinSpec::PIV_APPLICATION_PIN;
        let puk_spec = PinSpec::PIV_PUK;
        puk_spec.policy.check(puk)?;
        pin.policy.check(new_pin)?;
        let cmd = PinCommand::reset_retry_counter(
            pin.reference,
            pin.format,
            puk_spec.format,
            Some(puk),
            Some(new_pin),
        )?;
        self.pin_command(&cmd).await
    }

    /// Mutual authentication with the card management key `9B` (SP 800-73-4 Part 2
    /// Appendix A.1); afterwards PUT DATA and GENERATE ASYMMETRIC KEY PAIR are allowed.
    ///
    /// # Errors
    /// [`Error::Status`] (`6982` wrong key, `6983` blocked), [`Error::CardAuthenticationFailed`]
    /// when the card's answer to the host challenge is wrong, [`Error::Session`].
    pub async fn authenticate_management_key<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        key: &ManagementKey,
        rng: &mut R,
    ) -> Result<(), Error> {
        let target = Target::Key(Slot::MANAGEMENT);
        let mut auth = MutualAuth::new(key);
        let mut out = [0u8; 48];
        let mut rsp = [0u8; 48];
        let request = auth.witness_request(&mut out)?;
        let cmd = commands::general_authenticate(auth.algorithm(), Slot::MANAGEMENT, request);
        let (data, sw) = self.exchange(&cmd, &mut rsp).await?;
        response::check(Operation::GeneralAuthenticate, target, sw)?;
        let answer = auth.answer(data, rng, &mut out)?;
        let cmd = commands::general_authenticate(auth.algorithm(), Slot::MANAGEMENT, answer);
        let (data, sw) = self.exchange(&cmd, &mut rsp).await?;
        out.zeroize();
        response::check(Operation::GeneralAuthenticate, target, sw)?;
        auth.finish(data)
    }

    /// GENERAL AUTHENTICATE with `template` (SP 800-73-4 Part 2 §3.2.4); returns the
    /// card's `7C`. The template is encoded at the front of `buf`, the answer after it.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], [`Error::Status`] (`6982` PIN needed, `6A80` bad data),
    /// [`Error::Session`], parse errors of [`AuthTemplate::new_checked`].
    pub async fn general_authenticate<'b>(
        &mut self,
        algorithm: AlgorithmId,
        key: Slot,
        template: &AuthTemplateRepr<'_>,
        buf: &'b mut [u8],
    ) -> Result<AuthTemplate<'b>, Error> {
        let data = self
            .general_authenticate_raw(algorithm, key, template, buf)
            .await?;
        AuthTemplate::new_checked(data)
    }

    async fn general_authenticate_raw<'b>(
        &mut self,
        algorithm: AlgorithmId,
        key: Slot,
        template: &AuthTemplateRepr<'_>,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let len = template.encoded_len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall {
                needed: len,
                available: buf.len(),
            });
        }
        let (cmd_area, rsp_area) = buf.split_at_mut(len);
        let encoded = template.encode(cmd_area)?;
        let cmd = commands::general_authenticate(algorithm, key, encoded);
        let (data, sw) = self.exchange(&cmd, rsp_area).await?;
        response::check(Operation::GeneralAuthenticate, Target::Key(key), sw)?;
        Ok(data)
    }

    /// Signs with `key` (9A, 9C, 9E, ...): `input` is the padded block for RSA (one modulus
    /// long, see the `padding` module, feature `alloc`) or the digest for ECDSA (one field element long: 32
    /// bytes for P-256, 48 for P-384; truncate longer digests as FIPS 186-4 §6.4 says).
    /// Returns the raw RSA result or the DER ECDSA signature.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for an input of the wrong size; [`Error::Status`] (`6982`:
    /// verify the PIN first; for 9C immediately before each signature);
    /// [`Error::AlgorithmMismatch`] when the answer does not fit the algorithm.
    pub async fn sign<'b>(
        &mut self,
        key: Slot,
        algorithm: AlgorithmId,
        input: &[u8],
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let expected = algorithm
            .rsa_modulus_len()
            .or(algorithm.ec_coordinate_len())
            .ok_or(Error::UnsupportedAlgorithm {
                algorithm,
                operation: Operation::GeneralAuthenticate,
            })?;
        if input.len() != expected {
            return Err(Error::InvalidLength {
                algorithm,
                len: input.len(),
            });
        }
        let template = AuthTemplateRepr {
            response: Some(&[]),
            challenge: Some(input),
            ..Default::default()
        };
        let data = self
            .general_authenticate_raw(algorithm, key, &template, buf)
            .await?;
        response::signature(key, algorithm, data)
    }

    /// Signs `digest` with the RSA key `key` using PKCS#1 v1.5 padding built on the host
    /// (RFC 8017 §9.2, see `padding::pkcs1v15`); returns the signature, one modulus long.
    ///
    /// # Errors
    /// As `padding::pkcs1v15` and [`Self::sign`].
    #[cfg(feature = "alloc")]
    pub async fn sign_pkcs1v15<'b>(
        &mut self,
        key: Slot,
        algorithm: AlgorithmId,
        hash: crate::padding::Hash,
        digest: &[u8],
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let block = zeroize::Zeroizing::new(crate::padding::pkcs1v15(hash, digest, algorithm)?);
        self.sign(key, algorithm, &block, buf).await
    }

    /// ECDH with `key` (usually 9D) and the other party's uncompressed public point
    /// (SP 800-73-4 Part 2 Appendix A.5): returns the shared secret's x coordinate.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for a point of the wrong size; as [`Self::sign`].
    pub async fn ecdh<'b>(
        &mut self,
        key: Slot,
        algorithm: AlgorithmId,
        peer_point: &[u8],
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let c = algorithm
            .ec_coordinate_len()
            .ok_or(Error::UnsupportedAlgorithm {
                algorithm,
                operation: Operation::GeneralAuthenticate,
            })?;
        if peer_point.len() != 1 + 2 * c {
            return Err(Error::InvalidLength {
                algorithm,
                len: peer_point.len(),
            });
        }
        let template = AuthTemplateRepr {
            response: Some(&[]),
            exponentiation: Some(peer_point),
            ..Default::default()
        };
        let data = self
            .general_authenticate_raw(algorithm, key, &template, buf)
            .await?;
        response::shared_secret(key, algorithm, data)
    }

    /// GENERATE ASYMMETRIC KEY PAIR in `key` for `algorithm` (SP 800-73-4 Part 2 §3.3.3;
    /// needs the management key); returns the public key, checked for the curve or size
    /// requested.
    ///
    /// # Errors
    /// [`Error::Status`] (`6982` without the management key, `6A80` unsupported algorithm),
    /// [`Error::AlgorithmMismatch`] when the key returned is not what was asked for.
    pub async fn generate<'b>(
        &mut self,
        key: Slot,
        algorithm: AlgorithmId,
        buf: &'b mut [u8],
    ) -> Result<PublicKey<'b>, Error> {
        let mut template = [0u8; 5];
        let cmd = commands::generate(key, algorithm, &mut template)?;
        let (data, sw) = self.exchange(&cmd, buf).await?;
        response::check(Operation::GenerateKeyPair, Target::Key(key), sw)?;
        PublicKey::new_checked(key, algorithm, data)
    }
}
