//! The seven stages: power on, identify, unlock with the PIN, strong authentication, a
//! locked card, self-service unlock with the PUK, administrator unlock over SCP03.

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_pin::{Pin, PinOutcome};
use cardwire_sm::channel::{open_scp03, secure_card};
use cardwire_sm::scp03::SecurityLevel;
use cardwire_transport::{Error as _, TransactionEnd, Transport};
use cardwire_vcard::personalise::{ALG_ECDSA_SHA256, IDENTITY_AID, KEY_REFERENCE};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::recorder::Journey;
use super::secrets::{PIN, PUK, Secrets};
use super::stage::{Fatal, Stage, expect, explain, settle, skipped, tries_text};
use crate::card_source::WireApdu;
use crate::input::to_hex;
use crate::randomness::OsRandom;

fn select_identity() -> CommandRepr<'static> {
    CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x0C).with_data(&IDENTITY_AID)
}

fn stage_power_on<T: Transport>(j: &mut Journey<T>) -> Result<Stage, Fatal> {
    let mut s = Stage::new(1, "Power on: the ATR and the card's capabilities");
    let card = j.card()?;
    // The lengths follow what the card states: when its historical bytes say EF.ATR/INFO
    // holds the extended length information (7F66), read it (an explicit SELECT and READ
    // BINARY; opening the session sent nothing).
    if card.capabilities().ef_atr_length_info {
        let read = card
            .read_ef_atr()
            .map_err(|e| format!("the card did not answer for EF.ATR/INFO: {e}"))?;
        s.fact("ef_atr_read", read);
    }
    let atr = card.atr().to_vec();
    let caps = *card.capabilities();
    s.say(format!("ATR {}", to_hex(&atr)));
    s.fact("atr", to_hex(&atr));
    match cardwire_link::atr::Atr::parse(&atr, cardwire_link::atr::Mode::Strict) {
        Ok(parsed) => {
            let protocols: Vec<String> = parsed
                .protocols()
                .iter()
                .map(|t| format!("T={t}"))
                .collect();
            s.say(format!(
                "protocols {}; historical bytes {}",
                protocols.join(", "),
                to_hex(parsed.historical_bytes())
            ));
            s.fact("protocols", protocols);
            s.fact("historical_bytes", to_hex(parsed.historical_bytes()));
        }
        Err(e) => s.fail(format!("the ATR does not decode: {e}")),
    }
    s.say(format!(
        "capabilities: command chaining {}, extended Lc/Le {}, {} logical channel(s), up to {} bytes per command and {} per response",
        yes_no(caps.command_chaining),
        yes_no(caps.extended_length),
        caps.logical_channels,
        caps.max_command_data,
        caps.max_response_data
    ));
    s.fact(
        "capabilities",
        json!({
            "command_chaining": caps.command_chaining,
            "extended_length": caps.extended_length,
            "logical_channels": caps.logical_channels,
            "max_command_data": caps.max_command_data,
            "max_response_data": caps.max_response_data,
        }),
    );
    Ok(s)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The most a journey reads of one file (READ BINARY with an even INS addresses offsets up
/// to 32 767).
const READ_LIMIT: usize = 0x8000;

/// Reads a whole transparent EF selected by FID under the current DF.
fn read_ef<T: Transport>(
    j: &mut Journey<T>,
    s: &mut Stage,
    fid: u16,
    what: &str,
) -> Result<Option<Vec<u8>>, Fatal> {
    let fid_bytes = fid.to_be_bytes();
    let (_, sw) =
        j.send(&CommandRepr::new(Cla(0x00), Ins::SELECT, 0x02, 0x0C).with_data(&fid_bytes))?;
    if !expect(s, &format!("SELECT {what}"), sw, StatusWord::SUCCESS) {
        return Ok(None);
    }
    // The summary shows what the card really answered to the last READ BINARY (often 6282,
    // end of file before Ne bytes). 6B00/6A86 after a full piece: the file ended there.
    let (data, sw) = j.read_to_end(READ_LIMIT)?;
    let ended =
        !data.is_empty() && (sw == StatusWord::WRONG_P1_P2 || sw == StatusWord::INCORRECT_P1_P2);
    let refused = !sw.is_normal() && sw != StatusWord::END_OF_FILE;
    if refused && !ended {
        s.status_words.push(sw);
        s.fail(format!(
            "READ BINARY of {what}: the card answered {}",
            explain(sw)
        ));
        return Ok(None);
    }
    s.status_words.push(sw);
    Ok(Some(data))
}

struct Identified {
    public_key: Option<p256::ecdsa::VerifyingKey>,
}

fn stage_identify<T: Transport>(j: &mut Journey<T>) -> Result<(Stage, Identified), Fatal> {
    let mut s = Stage::new(
        2,
        "Identify: the identity application, name, user ID, certificate",
    );
    let mut found = Identified { public_key: None };
    let (_, sw) = j.send(&select_identity())?;
    if !expect(
        &mut s,
        "SELECT the identity application",
        sw,
        StatusWord::SUCCESS,
    ) {
        return Ok((s, found));
    }
    s.say(format!(
        "selected the identity application {}",
        to_hex(&IDENTITY_AID)
    ));
    if let Some(name) = read_ef(j, &mut s, 0x5001, "the cardholder name")? {
        let name = String::from_utf8_lossy(&name).into_owned();
        s.say(format!("cardholder: {name}"));
        s.fact("cardholder", name);
    }
    if let Some(uid) = read_ef(j, &mut s, 0x5002, "the user ID")? {
        let uid = String::from_utf8_lossy(&uid).into_owned();
        if uid.len() != 12 || !uid.bytes().all(|b| b.is_ascii_digit()) {
            s.fail(format!("the user ID {uid:?} is not 12 digits"));
        }
        s.say(format!("unique user ID: {uid}"));
        s.fact("user_id", uid);
    }
    let (serial, sw) =
        j.send(&CommandRepr::new(Cla(0x00), Ins::GET_DATA, 0xDF, 0x21).with_ne(256))?;
    if expect(
        &mut s,
        "GET DATA card serial number",
        sw,
        StatusWord::SUCCESS,
    ) {
        let value = serial.get(3..).unwrap_or(&[]);
        s.say(format!("card serial number: {}", to_hex(value)));
        s.fact("card_serial", to_hex(value));
    }
    let Some(cert) = read_ef(j, &mut s, 0x5010, "the certificate")? else {
        return Ok((s, found));
    };
    match crate::certificate::CertificateSummary::from_der(&cert) {
        Ok(c) => {
            s.say(format!("certificate ({} bytes, DER):", cert.len()));
            s.say(format!("  subject  {}", c.subject));
            s.say(format!("  issuer   {}", c.issuer));
            s.say(format!("  validity {} to {}", c.not_before, c.not_after));
            let curve = match c.curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "P-256",
                Some(other) => other,
                None => "unknown curve",
            };
            s.say(format!("  key      EC {curve}, {}", to_hex(&c.public_key)));
            s.fact(
                "certificate",
                json!({
                    "subject": c.subject, "issuer": c.issuer, "not_before": c.not_before,
                    "not_after": c.not_after, "serial": c.serial, "key_algorithm": c.key_algorithm,
                    "curve": c.curve, "public_key": to_hex(&c.public_key), "der_len": cert.len(),
                }),
            );
            match p256::ecdsa::VerifyingKey::from_sec1_bytes(&c.public_key) {
                Ok(k) => found.public_key = Some(k),
                Err(_) => s.fail("the certificate's public key is not a P-256 point"),
            }
            // Check the certificate against the issuing CA's certificate on the card.
            if let Some(ca) = read_ef(j, &mut s, 0x5011, "the issuing CA certificate")? {
                match cardwire_vcard::identity::verify_issued_by(&cert, &ca) {
                    Ok(()) => s.say("  the issuing CA's signature on the certificate verifies"),
                    Err(e) => s.fail(format!(
                        "the certificate does not verify against its CA: {e}"
                    )),
                }
            }
        }
        Err(e) => s.fail(format!("the certificate does not decode: {e}")),
    }
    Ok((s, found))
}

fn stage_unlock<T: Transport>(j: &mut Journey<T>, secrets: &Secrets) -> Result<Stage, Fatal> {
    let mut s = Stage::new(3, "Unlock with the PIN: VERIFY");
    let sw = j.pin_status(PIN.reference)?;
    s.status_words.push(sw);
    s.say(format!("PIN status before: {} ({sw})", tries_text(sw)));
    s.fact("status_before", sw.to_string());
    let sw = j.verify(&PIN, &secrets.pin)?;
    if expect(&mut s, "VERIFY the PIN", sw, StatusWord::SUCCESS) {
        s.say("VERIFY with the PIN: accepted (9000)");
    }
    let sw = j.pin_status(PIN.reference)?;
    s.status_words.push(sw);
    s.say(format!("PIN status after: {} ({sw})", tries_text(sw)));
    s.fact("status_after", sw.to_string());
    Ok(s)
}

fn stage_sign<T: Transport>(j: &mut Journey<T>, id: &Identified) -> Result<Stage, Fatal> {
    let mut s = Stage::new(
        4,
        "Strong authentication: the card signs the host's challenge",
    );
    let mut challenge = [0u8; 32];
    OsRandom::new().fill(&mut challenge)?;
    let digest = Sha256::digest(challenge);
    s.say(format!("host challenge {}", to_hex(&challenge)));
    s.say(format!("SHA-256 digest {}", to_hex(&digest)));
    s.fact("challenge", to_hex(&challenge));
    s.fact("digest", to_hex(&digest));
    let mse = [0x80, 0x01, ALG_ECDSA_SHA256, 0x84, 0x01, KEY_REFERENCE];
    let (_, sw) = j.send(
        &CommandRepr::new(Cla(0x00), Ins::MANAGE_SECURITY_ENVIRONMENT, 0x41, 0xB6).with_data(&mse),
    )?;
    if !expect(
        &mut s,
        "MANAGE SECURITY ENVIRONMENT",
        sw,
        StatusWord::SUCCESS,
    ) {
        return Ok(s);
    }
    let (sig, sw) = j.send(
        &CommandRepr::new(Cla(0x00), Ins::PERFORM_SECURITY_OPERATION, 0x9E, 0x9A)
            .with_data(&digest)
            .with_ne(256),
    )?;
    if !expect(
        &mut s,
        "PSO: COMPUTE DIGITAL SIGNATURE",
        sw,
        StatusWord::SUCCESS,
    ) {
        return Ok(s);
    }
    s.say(format!(
        "signature (r ‖ s, {} bytes) {}",
        sig.len(),
        to_hex(&sig)
    ));
    s.fact("signature", to_hex(&sig));
    let Some(key) = &id.public_key else {
        s.fail("no public key from stage 2 to verify the signature with");
        return Ok(s);
    };
    let verified = p256::ecdsa::Signature::from_slice(&sig)
        .ok()
        .is_some_and(|sig| key.verify_prehash(&digest, &sig).is_ok());
    s.fact("signature_valid", verified);
    if verified {
        s.say("the host verified the signature with the certificate's public key: VALID");
    } else {
        s.fail("the signature does not verify with the certificate's public key");
    }
    Ok(s)
}

/// A PIN of the same length (at least 4 digits) that is surely not `pin`.
pub(super) fn wrong_pin_for(pin: &Pin) -> Result<Pin, Fatal> {
    let digit = if pin.expose_secret().iter().all(|&c| c == b'0') {
        b'9'
    } else {
        b'0'
    };
    Pin::new(&vec![digit; pin.len().max(4)])
        .map_err(|e| Fatal::Session(format!("no wrong PIN could be made: {e}")))
}

fn block_pin<T: Transport>(j: &mut Journey<T>, s: &mut Stage, wrong: &Pin) -> Result<bool, Fatal> {
    let expected = [0x63C2u16, 0x63C1, 0x6983];
    for want in expected {
        let sw = j.verify(&PIN, wrong)?;
        s.say(format!(
            "VERIFY with a wrong PIN: {sw} — {}",
            tries_text(sw)
        ));
        if !expect(s, "VERIFY with a wrong PIN", sw, StatusWord(want)) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn stage_locked<T: Transport>(j: &mut Journey<T>, secrets: &Secrets) -> Result<Stage, Fatal> {
    let mut s = Stage::new(5, "A locked card: wrong PINs until the card blocks");
    if !block_pin(j, &mut s, &wrong_pin_for(&secrets.pin)?)? {
        return Ok(s);
    }
    let sw = j.verify(&PIN, &secrets.pin)?;
    s.say(format!(
        "VERIFY with the correct PIN: {sw} — {}",
        tries_text(sw)
    ));
    if expect(
        &mut s,
        "VERIFY with the correct PIN on a blocked card",
        sw,
        StatusWord::AUTHENTICATION_METHOD_BLOCKED,
    ) {
        s.say("the card refuses even the correct PIN: it is blocked");
    }
    Ok(s)
}

fn stage_puk<T: Transport>(j: &mut Journey<T>, secrets: &Secrets) -> Result<Stage, Fatal> {
    let mut s = Stage::new(6, "Self-service unlock: RESET RETRY COUNTER with the PUK");
    let sw = j.pin_status(PUK.reference)?;
    s.status_words.push(sw);
    s.say(format!("PUK status: {} ({sw})", tries_text(sw)));
    let sw = j.unblock(&PIN, &PUK, &secrets.puk, &secrets.new_pin)?;
    if !expect(
        &mut s,
        "RESET RETRY COUNTER with the PUK",
        sw,
        StatusWord::SUCCESS,
    ) {
        return Ok(s);
    }
    s.say("RESET RETRY COUNTER (PUK ‖ new PIN): accepted, the PIN is unblocked and replaced");
    let sw = j.verify(&PIN, &secrets.new_pin)?;
    if expect(&mut s, "VERIFY with the new PIN", sw, StatusWord::SUCCESS) {
        s.say("VERIFY with the new PIN: accepted (9000)");
    }
    Ok(s)
}

fn stage_admin<T: Transport>(j: &mut Journey<T>, secrets: &Secrets) -> Result<Stage, Fatal> {
    let mut s = Stage::new(
        7,
        "Administrator unlock: SCP03 and RESET RETRY COUNTER without the PUK",
    );
    if !block_pin(j, &mut s, &wrong_pin_for(&secrets.new_pin)?)? {
        return Ok(s);
    }
    let (_, sw) = j.send(&select_identity())?;
    if !expect(
        &mut s,
        "SELECT the identity application",
        sw,
        StatusWord::SUCCESS,
    ) {
        return Ok(s);
    }
    let keys = secrets.scp03.clone();
    let mut card = j
        .card
        .take()
        .ok_or_else(|| "the card session was lost".to_string())?;
    let level = SecurityLevel::C_DEC_C_MAC;
    let first_protected = j.mark();
    // The host challenge is drawn before INITIALIZE UPDATE goes out: no randomness, no SCP03.
    let mut rng = OsRandom::new();
    let opened = open_scp03(&mut card, keys, secrets.kvn, level, &mut rng);
    let session = match opened {
        Ok(session) => session,
        Err(cardwire_sm::Error::Randomness) => {
            j.card = Some(card);
            return Err(rng.failure().into());
        }
        Err(e) => {
            j.card = Some(card);
            s.fail(format!(
                "opening SCP03 failed: {e} — the card did not accept the credential management system's keys"
            ));
            return Ok(s);
        }
    };
    s.say(format!(
        "SCP03 opened (key version {:02X}, security level C-MAC + C-DECRYPTION): INITIALIZE UPDATE, EXTERNAL AUTHENTICATE",
        secrets.kvn
    ));
    s.status_words.push(StatusWord::SUCCESS);
    let mut secure = secure_card(card, session);
    // RESET RETRY COUNTER P1 `02`: a new PIN, no PUK, under the administrator's channel.
    let result = j
        .pins()
        .reset_retry_counter(&mut secure, &PIN, &PUK, None, Some(&secrets.pin))
        .map(PinOutcome::status_word)
        .map_err(|e| format!("RESET RETRY COUNTER under SCP03 failed: {e}"));
    // Back to plain commands (the card keeps its side until the application is deselected).
    let mut plain = secure.with_secure_channel_type();
    plain.require_secure_messaging(false);
    j.card = Some(plain);
    let sw = result.map_err(Fatal::Session)?;
    let protected: Vec<WireApdu> = j
        .log
        .borrow()
        .get(first_protected..)
        .unwrap_or(&[])
        .to_vec();
    if let Some(last) = protected.last() {
        s.say(format!(
            "protected RESET RETRY COUNTER on the wire: {} (C-MAC, PIN encrypted)",
            to_hex(&last.command)
        ));
        s.fact("protected_command", to_hex(&last.command));
        s.fact("protected_response", to_hex(&last.response));
    }
    if !expect(
        &mut s,
        "RESET RETRY COUNTER under SCP03",
        sw,
        StatusWord::SUCCESS,
    ) {
        return Ok(s);
    }
    s.say("RESET RETRY COUNTER (new PIN, no PUK) under SCP03: accepted");
    let sw = j.verify(&PIN, &secrets.pin)?;
    if expect(
        &mut s,
        "VERIFY with the PIN the administrator set",
        sw,
        StatusWord::SUCCESS,
    ) {
        s.say("VERIFY with the PIN the administrator set: accepted (9000)");
    }
    Ok(s)
}

/// Runs the journey in one PC/SC transaction (held for its whole length: VERIFY then the
/// signature, SCP03 then its protected command, each SELECT then its READ BINARY loop, with no
/// other application in between). When a PIN was verified, the transaction ends with a reset
/// of the card, so that the PIN state does not leak to the next application.
pub(super) fn run_stages<T: Transport>(
    mut transport: T,
    secrets: &Secrets,
    destructive: bool,
) -> Result<Vec<Stage>, Fatal> {
    let mut result = None;
    transport
        .transaction(&mut |held| {
            let outcome = run_stages_held(held, secrets, destructive);
            let raised = outcome.as_ref().map_or(true, |(_, raised)| *raised);
            result = Some(outcome.map(|(stages, _)| stages));
            if raised {
                TransactionEnd::Reset
            } else {
                TransactionEnd::Leave
            }
        })
        .map_err(|e| format!("the card transaction failed: {} ({e:?})", e.kind()))?;
    result.unwrap_or_else(|| Err("the card transaction did not run".to_string().into()))
}

/// The stages, inside the transaction. Returns them and whether the card's security state
/// was raised (a PIN verified, an authentication).
fn run_stages_held<T: Transport>(
    transport: T,
    secrets: &Secrets,
    destructive: bool,
) -> Result<(Vec<Stage>, bool), Fatal> {
    let mut j = Journey::new(transport)?;
    let mut stages = Vec::new();
    let mark = 0;
    let mut s = stage_power_on(&mut j)?;
    j.collect(&mut s, mark);
    stages.push(s);

    let mark = j.mark();
    let (mut s, id) = stage_identify(&mut j)?;
    j.collect(&mut s, mark);
    let identified = s.ok;
    stages.push(s);

    type StageFn<T> = fn(&mut Journey<T>, &Secrets) -> Result<Stage, Fatal>;
    let mark = j.mark();
    let mut s = if identified {
        settle(
            3,
            "Unlock with the PIN: VERIFY",
            stage_unlock(&mut j, secrets),
        )?
    } else {
        skipped(3, "Unlock with the PIN: VERIFY", "stage 2 failed")
    };
    j.collect(&mut s, mark);
    let unlocked = s.ok && !s.skipped;
    stages.push(s);

    let mark = j.mark();
    let mut s = if unlocked {
        settle(4, "Strong authentication", stage_sign(&mut j, &id))?
    } else {
        skipped(4, "Strong authentication", "the PIN was not verified")
    };
    j.collect(&mut s, mark);
    stages.push(s);

    let later: [(u8, &'static str, StageFn<T>); 3] = [
        (5, "A locked card", stage_locked::<T>),
        (6, "Self-service unlock with the PUK", stage_puk::<T>),
        (7, "Administrator unlock over SCP03", stage_admin::<T>),
    ];
    let mut go_on = unlocked;
    for (n, title, f) in later {
        let mark = j.mark();
        let mut s = if !destructive {
            skipped(
                n,
                title,
                "it blocks the PIN on purpose: pass --allow-block to run it on a real card",
            )
        } else if !go_on {
            skipped(n, title, "an earlier stage failed")
        } else {
            settle(n, title, f(&mut j, secrets))?
        };
        j.collect(&mut s, mark);
        go_on = s.ok && !s.skipped;
        stages.push(s);
    }
    let raised = j
        .card
        .as_ref()
        .is_none_or(|card| card.security_state_raised());
    Ok((stages, raised))
}
