//! The stages: 0 issuance (in `piv_stages.rs`), power on, identify, unlock with the PIN, strong authentication, a
//! locked card, self-service unlock with the PUK, administrator unlock over SCP03.

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_pin::{Pin, PinOutcome};
use cardwire_sm::channel::{open_scp03, secure_card};
use cardwire_sm::scp03::{SecurityLevel, StaticKeys};
use cardwire_transport::{Error as _, TransactionEnd, Transport};
use serde_json::json;

use super::piv_stages::{Issuance, stage_identify, stage_issue, stage_sign};
use super::recorder::Journey;
use super::secrets::{PIN, PUK, Secrets};
use super::stage::{Fatal, Stage, expect, settle, skipped, tries_text};
use crate::card_source::WireApdu;
use crate::input::to_hex;
use crate::randomness::OsRandom;

fn select_piv() -> CommandRepr<'static> {
    CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x00)
        .with_data(&cardwire_piv::PIV_AID)
        .with_ne(256)
}

fn stage_power_on<T: Transport>(j: &mut Journey<T>) -> Result<Stage, Fatal> {
    let mut s = Stage::new(1, "Power on: the ATR and the card's capabilities");
    let card = j.card()?;
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
    let (_, sw) = j.send(&select_piv())?;
    if !expect(&mut s, "SELECT PIV", sw, StatusWord::SUCCESS) {
        return Ok(s);
    }
    let [enc, mac, dek] = &secrets.scp03;
    let keys =
        StaticKeys::new(enc, mac, dek).map_err(|e| Fatal::Session(format!("SCP03 keys: {e}")))?;
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

/// How the journey may treat the card.
pub(super) struct Plan {
    /// Stages 5-7 block the PIN on purpose.
    pub(super) destructive: bool,
    /// Stage 0 issues the card (needs the management key; replaces keys 9A and 9C).
    pub(super) issuance: Option<Issuance>,
    /// Why stage 0 is skipped when `issuance` is `None`.
    pub(super) no_issuance: &'static str,
}

/// Runs the journey in one PC/SC transaction (held for its whole length: VERIFY then the
/// signature, SCP03 then its protected command, the management key then PUT DATA and
/// GENERATE, with no other application in between). When a PIN was verified or the card
/// was issued (the management key authenticated), the transaction ends with a reset of the
/// card, so that the security state does not leak to the next application.
pub(super) fn run_stages<T: Transport>(
    mut transport: T,
    secrets: &Secrets,
    plan: &Plan,
) -> Result<Vec<Stage>, Fatal> {
    let mut result = None;
    transport
        .transaction(&mut |held| {
            let outcome = run_stages_held(held, secrets, plan);
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
/// was raised (a PIN verified, an authentication, the management key).
fn run_stages_held<T: Transport>(
    transport: T,
    secrets: &Secrets,
    plan: &Plan,
) -> Result<(Vec<Stage>, bool), Fatal> {
    let mut j = Journey::new(transport)?;
    let mut stages = Vec::new();

    let issue_title = "Issue the card: the Registration Authority";
    let mark = 0;
    let mut s = match &plan.issuance {
        Some(issuance) => settle(0, issue_title, stage_issue(&mut j, secrets, issuance))?,
        None => skipped(0, issue_title, plan.no_issuance),
    };
    j.collect(&mut s, mark);
    stages.push(s);

    let mark = j.mark();
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
        settle(4, "Strong authentication", stage_sign(&mut j, secrets, &id))?
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
        let mut s = if !plan.destructive {
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
    let raised = plan.issuance.is_some()
        || j.card
            .as_ref()
            .is_none_or(|card| card.security_state_raised());
    Ok((stages, raised))
}
