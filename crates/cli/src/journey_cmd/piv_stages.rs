//! The PIV stages of the journey, through `cardwire-piv`'s host side: 0 issuance by the
//! Registration Authority, 2 identification (SELECT, CHUID, certificates) and 4 strong
//! authentication (signatures with 9A and 9C verified with their certificates).

use cardwire_apdu::StatusWord;
use cardwire_piv::padding::Hash;
use cardwire_piv::{AlgorithmId, ManagementKey, ObjectId, Piv, PublicKey, Slot};
use cardwire_transport::Transport;
use cardwire_vcard::{CardSerial, UserId};
use der::{Decode, Encode};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::recorder::Journey;
use super::secrets::Secrets;
use super::stage::{Fatal, Stage};
use crate::input::to_hex;
use crate::randomness::OsRandom;

/// Who the card is issued to (the Registration Authority's record).
pub(super) struct Worker {
    pub(super) name: String,
    pub(super) user_id: UserId,
    pub(super) serial: CardSerial,
}

/// What the issuance needs: the card management key, and whether to set the PIN and PUK
/// from the issuance defaults (`123456`/`12345678`) to the journey's.
pub(super) struct Issuance {
    pub(super) management_key: ManagementKey,
    pub(super) set_pins: bool,
    pub(super) worker: Worker,
}

/// Random bytes drawn up front, handed out as an RNG (the management-key challenge), so a
/// failing randomness source stops the journey before anything is sent.
struct Drawn {
    bytes: [u8; 32],
    at: usize,
}

impl Drawn {
    fn new() -> Result<Self, Fatal> {
        let mut bytes = [0u8; 32];
        OsRandom::new().fill(&mut bytes)?;
        Ok(Drawn { bytes, at: 0 })
    }
}

impl rand_core::TryRng for Drawn {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for d in dst {
            // 32 bytes cover the largest challenge (one AES block) twice over; past them the
            // bytes repeat, which no caller here reaches.
            *d = self.bytes.get(self.at % 32).copied().unwrap_or(0);
            self.at = self.at.wrapping_add(1);
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Drawn {}

/// A public key from GENERATE as a DER SubjectPublicKeyInfo.
fn spki_of(key: &PublicKey<'_>) -> Result<Vec<u8>, String> {
    use rsa::pkcs8::EncodePublicKey;
    let der = match key.algorithm() {
        AlgorithmId::RSA_2048 => key
            .to_rsa()
            .map_err(|e| e.to_string())?
            .to_public_key_der()
            .map_err(|e| e.to_string())?,
        AlgorithmId::ECC_P256 => key
            .to_p256()
            .map_err(|e| e.to_string())?
            .to_public_key_der()
            .map_err(|e| e.to_string())?,
        other => return Err(format!("no certificate profile for {other}")),
    };
    Ok(der.into_vec())
}

/// The status words the card answered since `mark` (what the report's summary shows),
/// without the `61xx` of responses the session fetched with GET RESPONSE.
fn answered<T: Transport>(j: &Journey<T>, mark: usize) -> Vec<StatusWord> {
    j.log
        .borrow()
        .get(mark..)
        .unwrap_or(&[])
        .iter()
        .filter_map(|a| {
            let n = a.response.len();
            let sw = a.response.get(n.checked_sub(2)?..)?;
            Some(StatusWord(u16::from_be_bytes([*sw.first()?, *sw.get(1)?])))
        })
        .filter(|sw| sw.0 >> 8 != 0x61)
        .collect()
}

pub(super) fn stage_issue<T: Transport>(
    j: &mut Journey<T>,
    secrets: &Secrets,
    issuance: &Issuance,
) -> Result<Stage, Fatal> {
    let mut s = Stage::new(
        0,
        "Issue: the Registration Authority generates keys, writes certificates",
    );
    let mark = j.mark();
    let mut rng = Drawn::new()?;
    let mut guid = [0u8; 16];
    OsRandom::new().fill(&mut guid)?;
    let w = &issuance.worker;
    let result = (|| -> Result<(), String> {
        let mut piv = Piv::new(j.card().map_err(|e| e.to_string())?);
        let mut buf = vec![0u8; 4096];
        piv.select(&mut buf)
            .map_err(|e| format!("SELECT PIV: {e}"))?;
        piv.authenticate_management_key(&issuance.management_key, &mut rng)
            .map_err(|e| format!("card management key authentication: {e}"))?;
        s.say(format!(
            "authenticated with the card management key 9B ({}, mutual authentication)",
            issuance.management_key.algorithm()
        ));
        let ca = cardwire_vcard::identity::issuing_ca_certificate().map_err(|e| e.to_string())?;
        let ca_name = cardwire_vcard::identity::ISSUING_CA_NAME;
        let mut issued = serde_json::Map::new();
        for (slot, algorithm) in [
            (Slot::AUTHENTICATION, AlgorithmId::RSA_2048),
            (Slot::SIGNATURE, AlgorithmId::ECC_P256),
        ] {
            let public = piv
                .generate(slot, algorithm, &mut buf)
                .map_err(|e| format!("GENERATE ASYMMETRIC KEY PAIR in {slot}: {e}"))?;
            let spki = spki_of(&public)?;
            s.say(format!(
                "GENERATE ASYMMETRIC KEY PAIR in {slot}: a new {algorithm} key on the card"
            ));
            let cert = cardwire_vcard::identity::issue_piv_certificate(
                &spki, slot.0, &w.name, w.user_id, w.serial,
            )
            .map_err(|e| e.to_string())?;
            cardwire_vcard::identity::verify_issued_by(&cert, &ca).map_err(|e| e.to_string())?;
            let object =
                cardwire_vcard::piv::certificate_object(&cert).map_err(|e| e.to_string())?;
            let mut work = vec![0u8; object.len() + 16];
            let id = slot
                .object()
                .ok_or_else(|| format!("{slot} has no certificate object"))?;
            piv.put_data(id, &object, &mut work)
                .map_err(|e| format!("PUT DATA {id}: {e}"))?;
            s.say(format!(
                "PUT DATA {id}: certificate ({} bytes) issued by {ca_name} for the new key",
                cert.len()
            ));
            issued.insert(
                slot.to_string(),
                json!({ "algorithm": algorithm.to_string(), "certificate_len": cert.len() }),
            );
        }
        s.fact("issued", issued);
        let chuid = cardwire_vcard::piv::chuid(guid).map_err(|e| e.to_string())?;
        let mut work = vec![0u8; chuid.len() + 16];
        piv.put_data(ObjectId::CHUID, &chuid, &mut work)
            .map_err(|e| format!("PUT DATA CHUID: {e}"))?;
        s.say(format!("PUT DATA CHUID: GUID {}", to_hex(&guid)));
        s.fact("guid", to_hex(&guid));
        if issuance.set_pins {
            let pin_default =
                cardwire_pin::Pin::new(cardwire_vcard::personalise::DEFAULT_PIN.as_bytes())
                    .map_err(|e| e.to_string())?;
            let puk_default =
                cardwire_pin::Pin::new(cardwire_vcard::personalise::DEFAULT_PUK.as_bytes())
                    .map_err(|e| e.to_string())?;
            let outcome = piv
                .change_reference_data(
                    cardwire_pin::PinReference::PIV_APPLICATION_PIN,
                    &pin_default,
                    &secrets.pin,
                )
                .map_err(|e| format!("CHANGE REFERENCE DATA (PIN): {e}"))?;
            if outcome != cardwire_pin::PinOutcome::Verified {
                return Err(format!(
                    "CHANGE REFERENCE DATA (PIN): {}",
                    outcome.status_word()
                ));
            }
            let outcome = piv
                .change_reference_data(
                    cardwire_pin::PinReference::PIV_PUK,
                    &puk_default,
                    &secrets.puk,
                )
                .map_err(|e| format!("CHANGE REFERENCE DATA (PUK): {e}"))?;
            if outcome != cardwire_pin::PinOutcome::Verified {
                return Err(format!(
                    "CHANGE REFERENCE DATA (PUK): {}",
                    outcome.status_word()
                ));
            }
            s.say("CHANGE REFERENCE DATA: the worker's PIN and the PUK the credential management system keeps are set");
            // Issuance ends with the PIN not verified (the card is handed over locked).
            piv.reset_pin_verification(cardwire_pin::PinReference::PIV_APPLICATION_PIN)
                .map_err(|e| format!("VERIFY reset: {e}"))?;
        } else {
            s.say("the PIN and PUK are left as they are on this card");
        }
        Ok(())
    })();
    s.status_words = answered(j, mark);
    if let Err(why) = result {
        s.fail(why);
    }
    Ok(s)
}

/// What identification found: the certificates' public keys (DER SubjectPublicKeyInfo).
#[derive(Default)]
pub(super) struct Identified {
    pub(super) keys: Vec<(Slot, Vec<u8>)>,
}

pub(super) fn stage_identify<T: Transport>(
    j: &mut Journey<T>,
) -> Result<(Stage, Identified), Fatal> {
    let mut s = Stage::new(2, "Identify: SELECT PIV, the CHUID and the certificates");
    let mark = j.mark();
    let mut found = Identified::default();
    let result = (|| -> Result<(), String> {
        let mut piv = Piv::new(j.card().map_err(|e| e.to_string())?);
        let mut buf = vec![0u8; 8192];
        let apt = piv
            .select(&mut buf)
            .map_err(|e| format!("SELECT PIV: {e}"))?;
        let algorithms: Vec<String> = apt.algorithms().map(|a| a.to_string()).collect();
        s.say(format!(
            "selected PIV {} ({}), algorithms: {}",
            to_hex(apt.aid()),
            apt.label().map(String::from_utf8_lossy).unwrap_or_default(),
            algorithms.join(", ")
        ));
        s.fact("application", to_hex(apt.aid()));
        s.fact("algorithms", algorithms);
        let chuid = piv
            .read_chuid(&mut buf)
            .map_err(|e| format!("GET DATA CHUID: {e}"))?;
        s.say(format!(
            "CHUID: GUID {}, FASC-N {}, expires {}",
            to_hex(chuid.guid()),
            to_hex(chuid.fascn_bytes()),
            String::from_utf8_lossy(chuid.expiration())
        ));
        s.fact("guid", to_hex(chuid.guid()));
        let ca = cardwire_vcard::identity::issuing_ca_certificate().ok();
        let mut certificates = serde_json::Map::new();
        for slot in [
            Slot::AUTHENTICATION,
            Slot::SIGNATURE,
            Slot::KEY_MANAGEMENT,
            Slot::CARD_AUTHENTICATION,
        ] {
            let der = match piv.read_certificate(slot, &mut buf) {
                Ok(c) => match c.decompressed() {
                    Ok(d) => d.into_owned(),
                    Err(e) => {
                        s.say(format!("{slot}: the certificate does not decompress: {e}"));
                        continue;
                    }
                },
                Err(e) => {
                    s.say(format!("{slot}: no certificate ({e})"));
                    continue;
                }
            };
            let summary = crate::certificate::CertificateSummary::from_der(&der)
                .map_err(|e| format!("the {slot} certificate does not decode: {e}"))?;
            let spki = x509_cert::Certificate::from_der(&der)
                .and_then(|c| c.tbs_certificate().subject_public_key_info().to_der())
                .map_err(|e| e.to_string())?;
            let key = match summary.curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "EC P-256".to_string(),
                Some(c) => format!("EC {c}"),
                None if summary.key_algorithm == "1.2.840.113549.1.1.1" => {
                    format!("RSA ({} bytes of key)", summary.public_key.len())
                }
                None => summary.key_algorithm.clone(),
            };
            s.say(format!("{slot} certificate ({} bytes):", der.len()));
            s.say(format!("  subject  {}", summary.subject));
            s.say(format!("  issuer   {}", summary.issuer));
            s.say(format!(
                "  validity {} to {}",
                summary.not_before, summary.not_after
            ));
            s.say(format!("  key      {key}"));
            let issued_by_ca = ca
                .as_deref()
                .is_some_and(|ca| cardwire_vcard::identity::verify_issued_by(&der, ca).is_ok());
            if issued_by_ca {
                s.say("  the virtual issuing CA's signature on it verifies");
            }
            certificates.insert(
                slot.to_string(),
                json!({
                    "subject": summary.subject, "issuer": summary.issuer,
                    "not_before": summary.not_before, "not_after": summary.not_after,
                    "serial": summary.serial, "key_algorithm": summary.key_algorithm,
                    "curve": summary.curve, "key": key, "der_len": der.len(),
                    "issued_by_virtual_ca": issued_by_ca,
                }),
            );
            found.keys.push((slot, spki));
        }
        if found.keys.is_empty() {
            return Err("the card holds no certificate".to_string());
        }
        s.fact("certificates", certificates);
        Ok(())
    })();
    s.status_words = answered(j, mark);
    if let Err(why) = result {
        s.fail(why);
    }
    Ok((s, found))
}

/// Signs `digest` with `slot` (RSA PKCS#1 v1.5 padded on the host, or ECDSA) and verifies
/// the signature with `spki`; returns (signature, valid).
fn sign_and_verify<T: Transport>(
    j: &mut Journey<T>,
    slot: Slot,
    spki: &[u8],
    digest: &[u8; 32],
) -> Result<(Vec<u8>, bool, &'static str), String> {
    use rsa::pkcs8::DecodePublicKey;
    let mut piv = Piv::new(j.card().map_err(|e| e.to_string())?);
    let mut buf = vec![0u8; 1024];
    if let Ok(key) = rsa::PublicKey::from_public_key_der(spki) {
        let sig = piv
            .sign_pkcs1v15(slot, AlgorithmId::RSA_2048, Hash::Sha256, digest, &mut buf)
            .map_err(|e| format!("GENERAL AUTHENTICATE with {slot}: {e}"))?
            .to_vec();
        let ok = key
            .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), digest, &sig)
            .is_ok();
        return Ok((sig, ok, "RSA-2048 PKCS#1 v1.5 with SHA-256"));
    }
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki)
        .map_err(|_| format!("the {slot} certificate's key is neither RSA nor P-256"))?;
    let sig = piv
        .sign(slot, AlgorithmId::ECC_P256, digest, &mut buf)
        .map_err(|e| format!("GENERAL AUTHENTICATE with {slot}: {e}"))?
        .to_vec();
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let ok = p256::ecdsa::DerSignature::from_bytes(&sig)
        .ok()
        .is_some_and(|sig| key.verify_prehash(digest, &sig).is_ok());
    Ok((sig, ok, "ECDSA P-256 with SHA-256"))
}

pub(super) fn stage_sign<T: Transport>(
    j: &mut Journey<T>,
    secrets: &Secrets,
    id: &Identified,
) -> Result<Stage, Fatal> {
    let mut s = Stage::new(
        4,
        "Strong authentication: 9A and 9C sign the host's challenge",
    );
    let mark = j.mark();
    let mut challenge = [0u8; 32];
    OsRandom::new().fill(&mut challenge)?;
    let digest: [u8; 32] = Sha256::digest(challenge).into();
    s.say(format!("host challenge {}", to_hex(&challenge)));
    s.say(format!("SHA-256 digest {}", to_hex(&digest)));
    s.fact("challenge", to_hex(&challenge));
    s.fact("digest", to_hex(&digest));
    let mut all_valid = true;
    let mut signed = 0;
    for slot in [Slot::AUTHENTICATION, Slot::SIGNATURE] {
        let Some((_, spki)) = id.keys.iter().find(|(k, _)| *k == slot) else {
            s.say(format!("{slot}: no certificate, not used"));
            continue;
        };
        if slot == Slot::SIGNATURE {
            // 9C is "PIN always": VERIFY immediately before the signature.
            let sw = j.verify(&super::secrets::PIN, &secrets.pin)?;
            if sw != StatusWord::SUCCESS {
                s.fail(format!("VERIFY before the 9C signature: {sw}"));
                break;
            }
            s.say("VERIFY again: 9C needs the PIN immediately before each signature");
        }
        match sign_and_verify(j, slot, spki, &digest) {
            Ok((sig, ok, scheme)) => {
                signed += 1;
                s.say(format!(
                    "{slot} signature ({scheme}, {} bytes) {}",
                    sig.len(),
                    to_hex(&sig)
                ));
                s.fact(&format!("signature_{:02x}", slot.0), to_hex(&sig));
                if ok {
                    s.say(format!(
                        "the host verified the {slot} signature with the certificate's public key: VALID"
                    ));
                } else {
                    all_valid = false;
                    s.fail(format!(
                        "the {slot} signature does not verify with the certificate's public key"
                    ));
                }
            }
            Err(why) => {
                all_valid = false;
                s.fail(why);
            }
        }
    }
    if signed == 0 {
        s.fail("no key signed");
    }
    s.fact("signature_valid", all_valid && signed > 0);
    s.status_words = answered(j, mark);
    Ok(s)
}
