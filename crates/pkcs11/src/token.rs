//! [`Token`]: one PIV card in one slot — its identity, objects and login state, and every
//! card operation, each inside one transaction that starts with SELECT (so that another
//! application between two calls cannot leave a different application selected).

use cardwire_pin::{Pin, PinOutcome, PinReference};
use cardwire_piv::{Piv, Slot};
use cryptoki_sys as ck;
use zeroize::Zeroizing;

use crate::backend::{Channel, ChannelSession};
use crate::error::{self, Result, Rv};
use crate::mechanism::{CardInput, SignOperation};
use crate::object::{self, CardKey, Object};

/// Who is logged in to a token (PKCS#11 v2.40 §2.6, §5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Login {
    /// Nobody.
    Public,
    /// The user (PIV PIN `80` verified).
    User,
    /// The security officer (the PUK, kept for `C_InitPIN`).
    So,
}

/// The retry-counter state of a PIN, for the token flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinCounter {
    /// Not known (verified, or the card does not say).
    Unknown,
    /// Tries left.
    Left(u8),
    /// Blocked.
    Locked,
}

/// The largest object the module reads (a certificate container with room to spare).
const BUF: usize = 8192;

/// A PIV card in a slot.
pub struct Token {
    channel: Box<dyn Channel>,
    /// `CK_TOKEN_INFO.label`: the cardholder's name from the PIV Authentication
    /// certificate's CN, or "PIV Card".
    pub label: String,
    /// `CK_TOKEN_INFO.serialNumber`: hex of the CHUID's GUID (first 8 bytes).
    pub serial: String,
    /// The token objects with their handles.
    pub objects: Vec<(ck::CK_OBJECT_HANDLE, Object)>,
    /// Whether the PIN is entered on the reader's PIN pad.
    pub pin_pad: bool,
    /// Who is logged in.
    pub login: Login,
    // The user's PIN while logged in (zeroized on logout). The card stays verified from
    // login to logout; the PIN is sent again only when the card was reset by someone else
    // (the channel's reset counter moved), never for each operation.
    user_pin: Option<Pin>,
    so_puk: Option<Pin>,
}

impl core::fmt::Debug for Token {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .field("serial", &self.serial)
            .field("objects", &self.objects.len())
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The CN of an RFC 4514 subject string.
fn common_name(subject: &str) -> Option<String> {
    subject
        .split(',')
        .find_map(|rdn| rdn.trim().strip_prefix("CN="))
        .map(|cn| cn.replace('\\', ""))
}

impl Token {
    /// Reads the card in `channel`: SELECT, CHUID, every certificate container; objects get
    /// handles from `next_handle`.
    ///
    /// # Errors
    /// `CKR_TOKEN_NOT_RECOGNIZED` for a card without a PIV application;
    /// `CKR_DEVICE_REMOVED`/`CKR_DEVICE_ERROR` from the card.
    pub fn open(
        channel: Box<dyn Channel>,
        pin_pad: bool,
        next_handle: &mut ck::CK_OBJECT_HANDLE,
    ) -> Result<Token> {
        let pin_pad = pin_pad || channel.pin_pad();
        let mut token = Token {
            channel,
            label: String::new(),
            serial: String::new(),
            objects: Vec::new(),
            pin_pad,
            login: Login::Public,
            user_pin: None,
            so_puk: None,
        };
        let (serial, certs) = token.transaction(|piv| {
            let mut buf = vec![0u8; BUF];
            let serial = match piv.read_chuid(&mut buf) {
                Ok(chuid) => {
                    let guid = chuid.guid();
                    if guid.iter().any(|&b| b != 0) {
                        hex(guid.get(..8).unwrap_or(guid))
                    } else {
                        hex(chuid.fascn_bytes().get(..8).unwrap_or_default())
                    }
                }
                Err(e) if e.is_not_found() => String::new(),
                Err(e) => return Err(error::from_piv(e)),
            };
            let mut certs = Vec::new();
            for slot in object::key_slots() {
                match piv.read_certificate(slot, &mut buf) {
                    Ok(container) => {
                        if let Ok(der) = container.decompressed() {
                            certs.push((slot, der.into_owned()));
                        }
                    }
                    Err(cardwire_piv::Error::Session(kind)) => {
                        return Err(error::from_transport(kind));
                    }
                    // Absent, or needing a PIN to read: no objects for this slot.
                    Err(_) => {}
                }
            }
            Ok((serial, certs))
        })?;
        token.serial = if serial.is_empty() {
            "0000000000000000".into()
        } else {
            serial
        };
        for (slot, der) in certs {
            let Ok(objects) = object::objects_for_slot(slot, &der) else {
                continue;
            };
            if slot == Slot::AUTHENTICATION {
                use der::Decode;
                if let Ok(cert) = x509_cert::Certificate::from_der(&der) {
                    if let Some(cn) = common_name(&cert.tbs_certificate().subject().to_string()) {
                        token.label = cn;
                    }
                }
            }
            for o in objects {
                *next_handle += 1;
                token.objects.push((*next_handle, o));
            }
        }
        if token.label.is_empty() {
            token.label = "PIV Card".into();
        }
        Ok(token)
    }

    /// Runs `f` on the PIV application inside one transaction, after SELECT.
    ///
    /// When the transaction finds the card reset by someone else (the same card, reconnected:
    /// [`Channel::resets`] moved), the card has lost its security state: a logged-in user's
    /// PIN is verified again and `f` runs once more. A user logged in on the PIN pad cannot
    /// be verified again by the module: the reset is reported (`CKR_DEVICE_REMOVED`, which
    /// closes the sessions). A removal is always reported.
    ///
    /// # Errors
    /// `f`'s errors; `CKR_DEVICE_REMOVED` for a removal (or a reset the module cannot recover
    /// from); `CKR_USER_NOT_LOGGED_IN` when the PIN no longer verifies after a reset (the
    /// user is logged out).
    fn transaction<R>(
        &mut self,
        mut f: impl FnMut(&mut Piv<ChannelSession<'_>>) -> Result<R>,
    ) -> Result<R> {
        let before = self.channel.resets();
        match self.transaction_once(&mut f) {
            Err(Rv::DEVICE_REMOVED) if self.channel.resets() != before => {
                self.after_reset()?;
                self.transaction_once(&mut f)
            }
            r => r,
        }
    }

    /// The card was reset: restores what the token had established on it (the user's PIN).
    fn after_reset(&mut self) -> Result<()> {
        if self.login != Login::User {
            return Ok(());
        }
        let Some(pin) = self.user_pin.as_ref().map(Pin::duplicate) else {
            // Verified on the PIN pad: only the cardholder can do it again.
            return Err(Rv::DEVICE_REMOVED);
        };
        let reference = PinReference::PIV_APPLICATION_PIN;
        let outcome = self
            .transaction_once(&mut |piv| piv.verify_pin(reference, &pin).map_err(error::from_piv));
        match outcome.and_then(error::from_pin_outcome) {
            Ok(()) => Ok(()),
            Err(Rv::DEVICE_REMOVED) => Err(Rv::DEVICE_REMOVED),
            Err(_) => {
                // Changed or blocked meanwhile: the login is over.
                self.user_pin = None;
                self.login = Login::Public;
                self.channel.keep_security_state(false);
                Err(Rv::USER_NOT_LOGGED_IN)
            }
        }
    }

    fn transaction_once<R>(
        &mut self,
        f: &mut dyn FnMut(&mut Piv<ChannelSession<'_>>) -> Result<R>,
    ) -> Result<R> {
        let mut out = None;
        self.channel.transaction(&mut |apdu| {
            let mut piv = Piv::new(ChannelSession(apdu));
            let mut buf = [0u8; 512];
            match piv.select(&mut buf) {
                Ok(_) => {}
                Err(cardwire_piv::Error::Session(kind)) => return Err(error::from_transport(kind)),
                Err(_) => return Err(Rv::TOKEN_NOT_RECOGNIZED),
            }
            out = Some(f(&mut piv)?);
            Ok(())
        })?;
        out.ok_or(Rv::GENERAL_ERROR)
    }

    /// The object with handle `handle`.
    pub fn object(&self, handle: ck::CK_OBJECT_HANDLE) -> Option<&Object> {
        self.objects
            .iter()
            .find(|(h, _)| *h == handle)
            .map(|(_, o)| o)
    }

    /// The retry counter of the PIN (`80`) or the PUK (`81`), by an empty VERIFY.
    ///
    /// # Errors
    /// From the card.
    pub fn pin_counter(&mut self, reference: PinReference) -> Result<PinCounter> {
        let outcome = self.transaction(|piv| piv.pin_status(reference).map_err(error::from_piv))?;
        Ok(match outcome {
            PinOutcome::WrongPin { retries_left: 0 } | PinOutcome::Blocked => PinCounter::Locked,
            PinOutcome::WrongPin { retries_left } => PinCounter::Left(retries_left),
            _ => PinCounter::Unknown,
        })
    }

    /// `C_Login` as the user: VERIFY the PIV PIN (with the PIN pad when `pin` is `None`).
    ///
    /// # Errors
    /// `CKR_PIN_INCORRECT`, `CKR_PIN_LOCKED`, `CKR_PIN_LEN_RANGE`, transport errors.
    ///
    /// The card keeps the verified state until [`Self::logout`] (which resets it): the key
    /// operations in between send no VERIFY (except for a PIN-always key, 9C).
    pub fn login_user(&mut self, pin: Option<&Pin>) -> Result<()> {
        // Before the VERIFY: the transaction that verifies must not end in a reset.
        self.channel.keep_security_state(true);
        if let Err(rv) = self.verify(pin) {
            if self.login != Login::User {
                self.channel.keep_security_state(false);
            }
            return Err(rv);
        }
        self.login = Login::User;
        self.user_pin = pin.map(Pin::duplicate);
        Ok(())
    }

    fn verify(&mut self, pin: Option<&Pin>) -> Result<()> {
        let reference = PinReference::PIV_APPLICATION_PIN;
        let outcome = match pin {
            Some(pin) => self.transaction_once(&mut |piv| {
                piv.verify_pin(reference, pin).map_err(error::from_piv)
            })?,
            None => {
                // SELECT first (the reader's VERIFY goes to whatever is selected); the PIN
                // pad's own exchange is atomic.
                self.transaction(|_| Ok(()))?;
                self.channel.verify_on_pin_pad(reference)?
            }
        };
        error::from_pin_outcome(outcome)
    }

    /// `C_Login` as the security officer: the PUK is checked against the PIV PUK policy and
    /// kept (zeroized on logout) for `C_InitPIN`, since PIV has no VERIFY of the PUK
    /// (SP 800-73-4 Part 2 §3.2.1 lists `80` and `00` only).
    ///
    /// # Errors
    /// `CKR_PIN_LEN_RANGE` for a PUK that cannot be one.
    pub fn login_so(&mut self, puk: Pin) -> Result<()> {
        cardwire_pin::PinSpec::PIV_PUK
            .policy
            .check(&puk)
            .map_err(error::from_pin_error)?;
        self.so_puk = Some(puk);
        self.login = Login::So;
        Ok(())
    }

    /// `C_Logout`: resets the PIN's security status on the card (VERIFY P1 `FF`, and the
    /// card itself as that transaction ends: the session's release policy is back) and
    /// forgets the PIN and the PUK.
    pub fn logout(&mut self) {
        self.so_puk = None;
        self.user_pin = None;
        self.channel.keep_security_state(false);
        if self.login == Login::User {
            let _ = self.transaction_once(&mut |piv| {
                piv.reset_pin_verification(PinReference::PIV_APPLICATION_PIN)
                    .map_err(error::from_piv)
            });
        }
        self.login = Login::Public;
    }

    /// `C_InitPIN` under SO login: RESET RETRY COUNTER with the PUK (SP 800-73-4 Part 2
    /// §3.2.3).
    ///
    /// # Errors
    /// `CKR_USER_NOT_LOGGED_IN` without SO login; `CKR_PIN_INCORRECT`/`CKR_PIN_LOCKED` for
    /// the PUK; `CKR_PIN_LEN_RANGE` for the new PIN.
    pub fn init_pin(&mut self, new_pin: &Pin) -> Result<()> {
        let puk = self
            .so_puk
            .as_ref()
            .map(Pin::duplicate)
            .ok_or(Rv::USER_NOT_LOGGED_IN)?;
        let outcome = self.transaction(|piv| {
            piv.reset_retry_counter(&puk, new_pin)
                .map_err(error::from_piv)
        })?;
        error::from_pin_outcome(outcome)
    }

    /// `C_SetPIN`: CHANGE REFERENCE DATA of the PIN, or of the PUK in an SO session.
    ///
    /// # Errors
    /// As [`Self::login_user`].
    pub fn set_pin(&mut self, old: &Pin, new: &Pin) -> Result<()> {
        let reference = if self.login == Login::So {
            PinReference::PIV_PUK
        } else {
            PinReference::PIV_APPLICATION_PIN
        };
        let outcome = self.transaction(|piv| {
            piv.change_reference_data(reference, old, new)
                .map_err(error::from_piv)
        })?;
        error::from_pin_outcome(outcome)?;
        if reference == PinReference::PIV_PUK {
            self.so_puk = Some(new.duplicate());
        }
        Ok(())
    }

    /// Signs: one transaction with SELECT and GENERAL AUTHENTICATE (and, for a PIN-always
    /// key, VERIFY with the context-specific PIN right before it).
    ///
    /// # Errors
    /// `CKR_USER_NOT_LOGGED_IN` when the card wants the PIN; card and data errors.
    pub fn sign(&mut self, op: &SignOperation, context_pin: Option<&Pin>) -> Result<Vec<u8>> {
        let input = op.card_input()?;
        let key = op.key().clone();
        let block = match input {
            CardInput::Block(block) => block,
            CardInput::Pss(hash, digest, salt_len) => {
                let mut salt = Zeroizing::new(vec![0u8; salt_len]);
                crate::random::fill(&mut salt)?;
                Zeroizing::new(
                    cardwire_piv::padding::pss_with_salt(hash, &digest, key.modulus_bits(), &salt)
                        .map_err(|_| Rv::DATA_LEN_RANGE)?,
                )
            }
        };
        let out = self.raw(&key, &block, context_pin)?;
        op.finish(&out)
    }

    /// The card's raw private-key operation on `block` (GENERAL AUTHENTICATE with a
    /// challenge, SP 800-73-4 Part 2 Appendix A.2-A.4), on the card verified at login;
    /// `context_pin` (`CKU_CONTEXT_SPECIFIC`, for a PIN-always key) is verified right before
    /// it in the same transaction.
    ///
    /// # Errors
    /// As [`Self::sign`].
    pub fn raw(
        &mut self,
        key: &CardKey,
        block: &[u8],
        context_pin: Option<&Pin>,
    ) -> Result<Vec<u8>> {
        self.transaction(|piv| {
            verify_context(piv, context_pin)?;
            let mut buf = Zeroizing::new([0u8; 2048]);
            let out = piv
                .sign(key.slot, key.algorithm, block, &mut buf[..])
                .map_err(error::from_piv)?;
            Ok(out.to_vec())
        })
    }

    /// ECDH with `key` and the peer's uncompressed point (SP 800-73-4 Part 2 Appendix A.5).
    ///
    /// # Errors
    /// As [`Self::sign`].
    pub fn ecdh(
        &mut self,
        key: &CardKey,
        point: &[u8],
        context_pin: Option<&Pin>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.transaction(|piv| {
            verify_context(piv, context_pin)?;
            let mut buf = Zeroizing::new([0u8; 1024]);
            let out = piv
                .ecdh(key.slot, key.algorithm, point, &mut buf[..])
                .map_err(error::from_piv)?;
            Ok(Zeroizing::new(out.to_vec()))
        })
    }
}

/// VERIFY with the context-specific PIN of a PIN-always key, when there is one.
fn verify_context(piv: &mut Piv<ChannelSession<'_>>, pin: Option<&Pin>) -> Result<()> {
    match pin {
        Some(pin) => error::from_pin_outcome(
            piv.verify_pin(PinReference::PIV_APPLICATION_PIN, pin)
                .map_err(error::from_piv)?,
        ),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_from_subject() {
        assert_eq!(
            common_name("CN=Amira Khan,O=Example"),
            Some("Amira Khan".into())
        );
        assert_eq!(
            common_name("O=Example, CN=O\\'Neill"),
            Some("O'Neill".into())
        );
        assert_eq!(common_name("O=Example"), None);
        assert_eq!(hex(&[0x0A, 0xFF]), "0AFF");
    }
}
