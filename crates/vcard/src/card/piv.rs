//! The PIV card application (NIST SP 800-73-4 Part 2 §3, as a card): SELECT with the
//! application property template, GET DATA / PUT DATA, GENERAL AUTHENTICATE (signature,
//! ECDH, card management key authentication) and GENERATE ASYMMETRIC KEY PAIR. VERIFY, CHANGE
//! REFERENCE DATA and RESET RETRY COUNTER are the card's PIN commands (`pin.rs`, PIV
//! references `80`/`81`). Content and storage: [`crate::piv`].
//!
//! PIV is the card's default application: GET DATA `CB`, PUT DATA `DB`, GENERAL AUTHENTICATE
//! `87` and GENERATE `47` (no other application uses these INS) are answered whatever is
//! selected, as on cards that select PIV at power-on, so a host that checks the discovery
//! object instead of selecting (OpenSC does) finds it.
//!
//! Access rules (Part 1 Table 4b, Part 2 §3): GET DATA of printed information and biometrics
//! needs the PIN; 9A and 9D need the PIN once per session, 9C the PIN immediately before each
//! use ("PIN always"), 9E nothing; PUT DATA and GENERATE need the card management key 9B,
//! authenticated in this session.

use cardwire_apdu::StatusWord;
use cardwire_piv::containers::encode_data_object;
use cardwire_piv::keygen::{PublicKeyRepr, parse_control_template};
use cardwire_piv::{AlgorithmId, AuthTemplate, AuthTemplateRepr, ManagementKey, ObjectId, Slot};
use cardwire_tlv::{Mode, Tag, Tlv};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::fs::{Body, Fid, NodeId};
use crate::piv::{self as content, PivKey};

use super::command::{Cmd, Reply};
use super::virtual_card::VirtualCard;

/// The PIV application's volatile security state.
#[derive(Default)]
pub(super) struct PivSession {
    /// The card management key authenticated in this session.
    pub(super) admin: bool,
    /// The PIN was verified and no "PIN always" key was used since.
    pub(super) pin_always: bool,
    /// The witness the card sent in a mutual authentication (plaintext).
    witness: Option<Zeroizing<Vec<u8>>>,
    /// The challenge the card sent in an external authentication (plaintext).
    challenge: Option<Zeroizing<Vec<u8>>>,
}

/// The answer to a status word.
fn sw(sw: StatusWord) -> Reply {
    Reply::sw(sw)
}

fn random(n: usize) -> Option<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(vec![0u8; n]);
    getrandom::fill(&mut out).ok()?;
    Some(out)
}

/// Encodes a `7C` template into a fresh vector.
fn template(repr: &AuthTemplateRepr<'_>) -> Reply {
    let mut out = vec![0u8; repr.encoded_len()];
    match repr.encode(&mut out) {
        Ok(b) => {
            let n = b.len();
            out.truncate(n);
            Reply::ok(out)
        }
        Err(_) => sw(StatusWord::EXECUTION_ERROR),
    }
}

impl VirtualCard {
    /// Whether `aid` selects the PIV application: the full AID, the truncated one, or any
    /// right-truncated prefix down to the RID `A0 00 00 03 08` (SP 800-73-4 Part 2 §3.1.1
    /// allows partial selection; yubico-piv-tool selects with the RID alone).
    pub(super) fn is_piv_aid(aid: &[u8]) -> bool {
        aid.len() >= 5 && cardwire_piv::PIV_AID_FULL.starts_with(aid)
    }

    /// SELECT of the PIV AID: the application property template. Selecting the application
    /// ends the card management key's authentication (the security status of the
    /// application, SP 800-73-4 Part 2 §3.1.1), so a new session of another client starts
    /// without it even when the card was not reset in between.
    pub(super) fn piv_select(&mut self, cmd: &Cmd) -> Reply {
        self.piv = PivSession::default();
        // No answer asked for (P2 `0C`, or no Le: yubico-piv-tool's SELECT): no template,
        // rather than `61xx` for data nobody requested.
        if cmd.p2 & 0x0C == 0x0C || cmd.ne == 0 {
            return sw(StatusWord::SUCCESS);
        }
        let mut out = [0u8; 64];
        match cardwire_piv::apt::encode_application_properties(
            &cardwire_piv::PIV_AID_FULL[5..],
            Some(b"cardwire virtual PIV"),
            None,
            &content::ALGORITHMS,
            &mut out,
        ) {
            Ok(b) => Reply::ok(b.to_vec()),
            Err(_) => sw(StatusWord::EXECUTION_ERROR),
        }
    }

    fn piv_df(&self) -> Option<NodeId> {
        self.fs.child_by_fid(NodeId::MF, content::DF_PIV)
    }

    /// The content of a PIV EF (empty: absent).
    pub(crate) fn piv_file(&self, fid: Fid) -> Option<&[u8]> {
        let id = self.fs.child_by_fid(self.piv_df()?, fid)?;
        match &self.fs.node(id)?.body {
            Body::Transparent(b) => Some(b),
            _ => None,
        }
    }

    fn piv_file_mut(&mut self, fid: Fid) -> Option<&mut Vec<u8>> {
        let id = self.fs.child_by_fid(self.piv_df()?, fid)?;
        match &mut self.fs.node_mut(id)?.body {
            Body::Transparent(b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn piv_key(&self, slot: Slot) -> Option<PivKey> {
        PivKey::decode(self.piv_file(content::key_fid(slot)?)?)
    }

    /// Whether the card management key is authenticated in this session (for tests and the
    /// fuzz target).
    pub fn piv_admin(&self) -> bool {
        self.piv.admin
    }

    /// A PIV data object's stored content (inside `53`), if present (for tests and the fuzz
    /// target; GET DATA is the card's interface).
    pub fn piv_object(&self, object: ObjectId) -> Option<Vec<u8>> {
        let data = self.piv_file(content::object_fid(object)?)?;
        (!data.is_empty()).then(|| data.to_vec())
    }

    /// The stored key material of a slot, as stored (for the fuzz target's "nothing changes
    /// without the management key" check; the bytes are secret).
    pub fn piv_key_fingerprint(&self, slot: Slot) -> Option<[u8; 32]> {
        use sha2::Digest;
        let data = self.piv_file(content::key_fid(slot)?)?;
        Some(sha2::Sha256::digest(data).into())
    }

    /// GET DATA `CB 3F FF` with `5C` tag list (SP 800-73-4 Part 2 §3.1.2).
    pub(super) fn piv_get_data(&mut self, cmd: &Cmd) -> Reply {
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
            return sw(StatusWord::INCORRECT_P1_P2);
        }
        let Ok(list) = Tlv::parse_with(&cmd.data, Mode::Lenient) else {
            return sw(StatusWord::INCORRECT_DATA);
        };
        if list.tag() != Tag(0x5C) || list.value().is_empty() || list.value().len() > 3 {
            return sw(StatusWord::INCORRECT_DATA);
        }
        let object = ObjectId(
            list.value()
                .iter()
                .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
        );
        let Some(fid) = content::object_fid(object) else {
            return sw(StatusWord::FILE_NOT_FOUND);
        };
        if content::read_needs_pin(object) && !self.pin_verified {
            return sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let data = match self.piv_file(fid) {
            Some(d) if !d.is_empty() => d,
            _ => return sw(StatusWord::FILE_NOT_FOUND),
        };
        let mut out = vec![0u8; cardwire_piv::containers::data_object_len(object, data.len())];
        match encode_data_object(object, data, &mut out) {
            Ok(_) => Reply::ok(out),
            Err(_) => sw(StatusWord::EXECUTION_ERROR),
        }
    }

    /// PUT DATA `DB 3F FF`: `5C tag 53 content`, or `7E ...` for the discovery object
    /// (SP 800-73-4 Part 2 §3.3.2). Needs the card management key.
    pub(super) fn piv_put_data(&mut self, cmd: &Cmd) -> Reply {
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
            return sw(StatusWord::INCORRECT_P1_P2);
        }
        if !self.piv.admin {
            return sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Ok(objects) = cardwire_tlv::parse_all(&cmd.data, Mode::Lenient) else {
            return sw(StatusWord::INCORRECT_DATA);
        };
        let (object, value) = match (objects.find(Tag(0x5C)), objects.find(Tag(0x53))) {
            (Some(list), Some(data)) if (1..=3).contains(&list.value().len()) => (
                ObjectId(
                    list.value()
                        .iter()
                        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
                ),
                data.value().to_vec(),
            ),
            _ => match objects.find(Tag(0x7E)) {
                Some(d) => (ObjectId::DISCOVERY, d.value().to_vec()),
                None => return sw(StatusWord::INCORRECT_DATA),
            },
        };
        let Some(fid) = content::object_fid(object) else {
            return sw(StatusWord::INCORRECT_DATA);
        };
        let Some(file) = self.piv_file_mut(fid) else {
            return sw(StatusWord::EXECUTION_ERROR);
        };
        *file = value;
        match self.persist() {
            Ok(()) => sw(StatusWord::SUCCESS),
            Err(s) => sw(s),
        }
    }

    /// GENERAL AUTHENTICATE `87` (SP 800-73-4 Part 2 §3.2.4, Appendix A).
    pub(super) fn piv_general_authenticate(&mut self, cmd: &Cmd) -> Reply {
        let algorithm = AlgorithmId(cmd.p1);
        let slot = Slot(cmd.p2);
        let Ok(t) = AuthTemplate::new_checked(&cmd.data) else {
            return sw(StatusWord::INCORRECT_DATA);
        };
        let Some(key) = self.piv_key(slot) else {
            return sw(StatusWord::REFERENCED_DATA_NOT_FOUND);
        };
        if key.algorithm() != algorithm {
            return sw(StatusWord::INCORRECT_P1_P2);
        }
        match key {
            PivKey::Tdes(k) => self.piv_management_auth(&k[..], algorithm, &t),
            PivKey::Rsa(_) | PivKey::P256(_) => self.piv_private_key(slot, &key, &t),
        }
    }

    /// The card management key `9B`, mutual or external authentication (SP 800-73-4 Part 2
    /// §3.2.4, Appendix A.1/A.2). Rate-limited like a PIN by `management_tries`: a blocked key
    /// answers `6983` to every step; a wrong witness or response costs a try, saved before the
    /// answer; a success restores all tries. A step 1 whose step 2 never comes costs nothing
    /// (no cryptogram was checked), nor does a step 2 without a step 1.
    fn piv_management_auth(&mut self, key: &[u8], alg: AlgorithmId, t: &AuthTemplate<'_>) -> Reply {
        if let Err(blocked) = self.management_tries.check() {
            self.piv.admin = false;
            self.piv.witness = None;
            self.piv.challenge = None;
            return sw(blocked);
        }
        let Ok(k) = ManagementKey::new(alg, key) else {
            return sw(StatusWord::EXECUTION_ERROR);
        };
        let n = k.block_size();
        let encrypt = |plain: &[u8]| -> Option<Zeroizing<Vec<u8>>> {
            let mut b = Zeroizing::new(plain.to_vec());
            k.encrypt_block(&mut b).ok()?;
            Some(b)
        };
        match (t.witness(), t.challenge(), t.response()) {
            // Mutual authentication, step 1: the card's witness, encrypted.
            (Some([]), None, None) => {
                self.piv.admin = false;
                let Some(w) = random(n) else {
                    return sw(StatusWord::EXECUTION_ERROR);
                };
                let Some(enc) = encrypt(&w) else {
                    return sw(StatusWord::EXECUTION_ERROR);
                };
                self.piv.witness = Some(w);
                template(&AuthTemplateRepr {
                    witness: Some(&enc),
                    ..Default::default()
                })
            }
            // Step 2: the host's decrypted witness and its challenge.
            (Some(w), Some(c), _) if c.len() == n => {
                self.piv.admin = false;
                let Some(expected) = self.piv.witness.take() else {
                    return sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                };
                if !bool::from(expected.ct_eq(w)) {
                    return self.management_failed();
                }
                let Some(enc) = encrypt(c) else {
                    return sw(StatusWord::EXECUTION_ERROR);
                };
                if let Err(s) = self.management_succeeded() {
                    return sw(s);
                }
                self.piv.admin = true;
                template(&AuthTemplateRepr {
                    response: Some(&enc),
                    ..Default::default()
                })
            }
            // External authentication, step 1: a challenge in the clear.
            (None, Some([]), None) => {
                self.piv.admin = false;
                let Some(c) = random(n) else {
                    return sw(StatusWord::EXECUTION_ERROR);
                };
                let reply = template(&AuthTemplateRepr {
                    challenge: Some(&c),
                    ..Default::default()
                });
                self.piv.challenge = Some(c);
                reply
            }
            // Step 2: the challenge encrypted under the key.
            (None, None, Some(r)) if !r.is_empty() => {
                self.piv.admin = false;
                let Some(challenge) = self.piv.challenge.take() else {
                    return sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                };
                let Some(expected) = encrypt(&challenge) else {
                    return sw(StatusWord::EXECUTION_ERROR);
                };
                if !bool::from(expected.ct_eq(r)) {
                    return self.management_failed();
                }
                if let Err(s) = self.management_succeeded() {
                    return sw(s);
                }
                self.piv.admin = true;
                sw(StatusWord::SUCCESS)
            }
            _ => sw(StatusWord::INCORRECT_DATA),
        }
    }

    /// A wrong management key cryptogram: one try fewer, saved before answering `6982`, or
    /// `6983` when that was the last try.
    fn management_failed(&mut self) -> Reply {
        self.management_tries.failed();
        if let Err(s) = self.persist() {
            return sw(s);
        }
        if self.management_tries.is_blocked() {
            sw(StatusWord::AUTHENTICATION_METHOD_BLOCKED)
        } else {
            sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
        }
    }

    /// A correct management key cryptogram: all tries back (saved only when some were used).
    fn management_succeeded(&mut self) -> Result<(), StatusWord> {
        if self.management_tries.left() != self.management_tries.limit() {
            self.management_tries.succeeded();
            self.persist()?;
        }
        Ok(())
    }

    fn piv_private_key(&mut self, slot: Slot, key: &PivKey, t: &AuthTemplate<'_>) -> Reply {
        // `82` empty asks for the response; `81` carries the input to sign (or, for RSA, to
        // decrypt), `85` the peer's point for ECDH.
        if t.response() != Some(&[]) {
            return sw(StatusWord::INCORRECT_DATA);
        }
        let allowed = match slot {
            Slot::CARD_AUTHENTICATION => true,
            Slot::SIGNATURE => self.pin_verified && self.piv.pin_always,
            _ => self.pin_verified,
        };
        if !allowed {
            return sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let result: Option<Zeroizing<Vec<u8>>> = match (key, t.challenge(), t.exponentiation()) {
            (PivKey::Rsa(k), Some(input), None) if input.len() == 256 => rsa_raw(k, input),
            (PivKey::P256(k), Some(digest), None) if digest.len() == 32 => {
                let signer = p256::ecdsa::SigningKey::from(k);
                let sig: Result<p256::ecdsa::Signature, _> = signer.sign_prehash(digest);
                sig.ok()
                    .map(|s| Zeroizing::new(s.to_der().as_bytes().to_vec()))
            }
            (PivKey::P256(k), None, Some(point)) if point.len() == 65 => {
                match p256::PublicKey::from_sec1_bytes(point) {
                    Ok(peer) => {
                        let shared =
                            p256::ecdh::diffie_hellman(k.to_nonzero_scalar(), peer.as_affine());
                        Some(Zeroizing::new(shared.raw_secret_bytes().to_vec()))
                    }
                    Err(_) => return sw(StatusWord::INCORRECT_DATA),
                }
            }
            _ => return sw(StatusWord::INCORRECT_DATA),
        };
        let Some(result) = result else {
            return sw(StatusWord::EXECUTION_ERROR);
        };
        if slot == Slot::SIGNATURE {
            self.piv.pin_always = false;
        }
        self.signature_count = self.signature_count.wrapping_add(1);
        if let Err(s) = self.persist() {
            return sw(s);
        }
        template(&AuthTemplateRepr {
            response: Some(&result),
            ..Default::default()
        })
    }

    /// GENERATE ASYMMETRIC KEY PAIR `47 00 slot`, `AC { 80 alg }` (SP 800-73-4 Part 2
    /// §3.3.2). Needs the card management key; answers `7F49`.
    pub(super) fn piv_generate(&mut self, cmd: &Cmd) -> Reply {
        if cmd.p1 != 0x00 {
            return sw(StatusWord::INCORRECT_P1_P2);
        }
        let slot = Slot(cmd.p2);
        if !content::KEY_SLOTS.contains(&slot) {
            return sw(StatusWord::INCORRECT_P1_P2);
        }
        if !self.piv.admin {
            return sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Ok(algorithm) = parse_control_template(&cmd.data) else {
            return sw(StatusWord::INCORRECT_DATA);
        };
        let key = match algorithm {
            AlgorithmId::RSA_2048 => {
                let mut rng = getrandom::SysRng;
                match rsa::PrivateKey::new(&mut rng, 2048) {
                    Ok(k) => PivKey::Rsa(Box::new(k)),
                    Err(_) => return sw(StatusWord::EXECUTION_ERROR),
                }
            }
            AlgorithmId::ECC_P256 => {
                let Some(bytes) = random(32) else {
                    return sw(StatusWord::EXECUTION_ERROR);
                };
                match p256::SecretKey::from_slice(&bytes) {
                    Ok(k) => PivKey::P256(k),
                    Err(_) => return sw(StatusWord::EXECUTION_ERROR),
                }
            }
            _ => return sw(StatusWord::INCORRECT_DATA),
        };
        let reply = match &key {
            PivKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                let n = k.n().to_be_bytes_trimmed_vartime();
                let e = k.e().to_be_bytes_trimmed_vartime();
                public_key_reply(&PublicKeyRepr::Rsa {
                    modulus: &n,
                    exponent: &e,
                })
            }
            PivKey::P256(k) => {
                use p256::elliptic_curve::sec1::ToSec1Point;
                let point = k.public_key().to_sec1_point(false);
                public_key_reply(&PublicKeyRepr::Ec {
                    algorithm,
                    point: point.as_bytes(),
                })
            }
            PivKey::Tdes(_) => sw(StatusWord::INCORRECT_DATA),
        };
        let Some(encoded) = key.encode() else {
            return sw(StatusWord::EXECUTION_ERROR);
        };
        let Some(file) = content::key_fid(slot).and_then(|f| self.piv_file_mut(f)) else {
            return sw(StatusWord::EXECUTION_ERROR);
        };
        file.clone_from(&encoded);
        match self.persist() {
            Ok(()) => reply,
            Err(s) => sw(s),
        }
    }
}

fn public_key_reply(repr: &PublicKeyRepr<'_>) -> Reply {
    let mut out = vec![0u8; repr.encoded_len()];
    match repr.encode(&mut out) {
        Ok(_) => Reply::ok(out),
        Err(_) => sw(StatusWord::EXECUTION_ERROR),
    }
}

/// The raw RSA private-key operation on a 256-byte input (the host pads, SP 800-73-4 Part 2
/// §3.2.4), checked by re-encryption against fault attacks.
fn rsa_raw(key: &rsa::PrivateKey, input: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    use rsa::traits::PublicKeyParts;
    let bits = key.n().bits_precision();
    let c = rsa::BoxedUint::from_be_slice(input, bits).ok()?;
    if c >= *key.n().as_ref() {
        return None;
    }
    let mut rng = getrandom::SysRng;
    let m = rsa::hazmat::rsa_decrypt_and_check(key, Some(&mut rng), &c).ok()?;
    let bytes = m.to_be_bytes();
    let mut out = Zeroizing::new(vec![0u8; input.len()]);
    let skip = bytes.len().saturating_sub(input.len());
    let tail = bytes.get(skip..)?;
    let start = out.len().checked_sub(tail.len())?;
    out.get_mut(start..)?.copy_from_slice(tail);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardwire_transport::CardHandler;

    #[test]
    fn the_piv_aid_in_every_accepted_form() {
        let full = cardwire_piv::PIV_AID_FULL;
        assert!(VirtualCard::is_piv_aid(&full));
        assert!(VirtualCard::is_piv_aid(&full[..9]));
        assert!(VirtualCard::is_piv_aid(&full[..5]));
        assert!(!VirtualCard::is_piv_aid(&full[..4]));
        assert!(!VirtualCard::is_piv_aid(&[0xA0, 0x00, 0x00, 0x03, 0x09]));
        assert!(!VirtualCard::is_piv_aid(
            &[full.as_slice(), &[0x00]].concat()
        ));
    }

    #[test]
    fn raw_rsa_is_the_private_operation() {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::PrivateKey::from_pkcs1_der(content::TEST_RSA_KEY_DER).unwrap();
        let mut input = [0x5Au8; 256];
        input[0] = 0x00;
        let out = rsa_raw(&key, &input).unwrap();
        assert_eq!(out.len(), 256);
        // out^e mod n is the input again.
        let m = rsa::BoxedUint::from_be_slice(&out, key.n().bits_precision()).unwrap();
        let back = rsa::hazmat::rsa_encrypt(key.as_public_key(), &m).unwrap();
        assert_eq!(&back.to_be_bytes()[..], &input[..]);
        // An input at or above the modulus is refused.
        assert!(rsa_raw(&key, &[0xFF; 256]).is_none());
    }

    #[test]
    fn select_answers_the_template_only_when_asked() {
        let mut card = VirtualCard::new(&crate::Seed::DEFAULT).unwrap();
        card.power_on();
        let mut rsp = [0u8; 300];
        let with_le = [
            0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00,
            0x00,
        ];
        let n = card.process(&with_le, &mut rsp);
        assert_eq!(rsp[0], 0x61);
        assert_eq!(
            &rsp[2..10],
            &[0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00]
        );
        assert_eq!(&rsp[n - 2..n], &[0x90, 0x00]);
        let no_le = [0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
        let n = card.process(&no_le, &mut rsp);
        assert_eq!(&rsp[..n], &[0x90, 0x00]);
    }
}
