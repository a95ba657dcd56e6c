//! `cardwire journey`: the life of a healthcare worker's smart card, stage by stage, against
//! the built-in virtual card (or a real card with `--reader`).
//!
//! 1. Power on — 2. Identify — 3. Unlock with the PIN — 4. Strong authentication —
//! 5. A locked card — 6. Self-service unlock (PUK) — 7. Administrator unlock (SCP03).
//!
//! Each stage sends real APDUs through the `cardwire-transport` `Card` session and checks what
//! the card answered; the report shows every APDU (`--trace`: every byte), a summary table,
//! or a JSON document (`--json`). Any stage whose answer is not what a correct card gives
//! fails the command (exit 1), with the card's status word explained.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_sm::channel::{open_scp03, secure_card};
use cardwire_sm::scp03::{SecurityLevel, StaticKeys};
use cardwire_transport::{Card, CardHandler, InProcess, Transport};
use cardwire_vcard::personalise::{
    ALG_ECDSA_SHA256, DEFAULT_PIN, DEFAULT_PUK, IDENTITY_AID, KEY_REFERENCE, PIN_REFERENCE,
    PUK_REFERENCE,
};
use cardwire_vcard::{CertificateSummary, Seed, VirtualCard};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::failure::Failure;
use crate::input::to_hex;

/// Arguments of `cardwire journey`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  cardwire journey                       the whole journey against the built-in virtual card
  cardwire journey --trace               ... showing every byte of every APDU
  cardwire journey --json > report.json  a machine-readable report
  cardwire journey --state card.state    a virtual card that remembers its PIN counters
  cardwire journey --reader 'ACS ACR39U' --allow-block   a real card (feature `pcsc`)

Stages 5-7 block the card's PIN on purpose; against a real card they run only with
--allow-block, and need the card's PUK and SCP03 keys.")]
pub struct Args {
    /// A PC/SC reader to use instead of the built-in virtual card (needs the `pcsc` feature).
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// Keep the virtual card's state (PIN counters, files) in FILE across runs.
    #[arg(long, value_name = "FILE", conflicts_with = "reader")]
    pub state: Option<PathBuf>,
    /// Seed text for a fresh virtual card (default: the reference card).
    #[arg(long, value_name = "TEXT", conflicts_with = "reader")]
    pub seed: Option<String>,
    /// The cardholder PIN (asked for without echo when a real reader is used).
    #[arg(long)]
    pub pin: Option<String>,
    /// The PUK (asked for without echo when a real reader is used).
    #[arg(long)]
    pub puk: Option<String>,
    /// The PIN set by the self-service unlock (stage 6); stage 7 restores `--pin`.
    #[arg(long = "new-pin")]
    pub new_pin: Option<String>,
    /// SCP03 static keys as hex ENC:MAC:DEK (default: the GlobalPlatform test keys 40..4F).
    #[arg(long = "scp03-keys", value_name = "ENC:MAC:DEK")]
    pub scp03_keys: Option<String>,
    /// SCP03 key version number (default 01).
    #[arg(long = "scp03-kvn", value_name = "HEX", default_value = "01")]
    pub scp03_kvn: String,
    /// Run stages 5-7 (which block the PIN on purpose) against a real card too.
    #[arg(long = "allow-block")]
    pub allow_block: bool,
    /// Show every byte of every APDU.
    #[arg(long)]
    pub trace: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

use crate::card_source::{Recorder, WireApdu};

/// What one stage did.
#[derive(Debug, Default)]
struct Stage {
    number: u8,
    title: &'static str,
    ok: bool,
    skipped: bool,
    /// Human-readable lines: what happened.
    lines: Vec<String>,
    /// The stage's findings for the JSON report.
    facts: serde_json::Map<String, Value>,
    /// Why the stage failed, explained.
    failure: Option<String>,
    apdus: Vec<WireApdu>,
    /// The status words the card answered, in order (for the summary).
    status_words: Vec<StatusWord>,
}

impl Stage {
    fn new(number: u8, title: &'static str) -> Stage {
        Stage {
            number,
            title,
            ok: true,
            ..Stage::default()
        }
    }
    fn say(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }
    fn fact(&mut self, key: &str, value: impl Into<Value>) {
        self.facts.insert(key.to_string(), value.into());
    }
    fn fail(&mut self, why: impl Into<String>) {
        self.ok = false;
        if self.failure.is_none() {
            self.failure = Some(why.into());
        }
    }
}

/// Explains a status word for a failure message.
fn explain(sw: StatusWord) -> String {
    let why = match sw.0 {
        0x6982 => " — the card wants a verified PIN (or a secure channel) first",
        0x6983 => " — the PIN is blocked: only the PUK or an administrator can unblock it",
        0x6984 => " — the reference data is not usable",
        0x6985 => " — conditions of use not satisfied (was MANAGE SECURITY ENVIRONMENT sent?)",
        0x6A82 => " — the card does not have this application or file",
        0x6A88 => " — the card does not know this key or PIN reference",
        0x6D00 | 0x6E00 => " — the card does not support this command",
        s if s & 0xFFF0 == 0x63C0 => " — the value was wrong; that try was counted",
        _ => "",
    };
    format!("{sw} ({}){why}", sw.description())
}

/// A journey failure that stops the whole run (the card or reader could not be reached).
type Fatal = String;

/// The PINs and keys the journey uses.
struct Secrets {
    pin: String,
    puk: String,
    new_pin: String,
    scp03: [Vec<u8>; 3],
    kvn: u8,
}

/// ASCII padded with FF to 8 bytes (the format the virtual card and PIV cards use).
fn pin_block(pin: &str) -> Result<Vec<u8>, Failure> {
    let bytes = pin.as_bytes();
    if bytes.is_empty() || bytes.len() > 8 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(Failure::Usage(
            "a PIN or PUK is 1 to 8 digits in this journey".to_string(),
        ));
    }
    let mut out = bytes.to_vec();
    out.resize(8, 0xFF);
    Ok(out)
}

fn wrong_pin_for(pin: &str) -> String {
    if pin.chars().all(|c| c == '0') {
        "9".repeat(pin.len().max(4))
    } else {
        "0".repeat(pin.len().max(4))
    }
}

/// The driver: a card session plus the shared APDU log.
struct Journey<T: Transport> {
    card: Option<Card<Recorder<T>, cardwire_transport::NoSecureChannel, 4200>>,
    log: Rc<RefCell<Vec<WireApdu>>>,
}

type Resp = (Vec<u8>, StatusWord);

impl<T: Transport> Journey<T> {
    fn new(transport: T) -> Result<Self, Fatal> {
        let log = Rc::new(RefCell::new(Vec::new()));
        let recorder = Recorder {
            inner: transport,
            log: Rc::clone(&log),
        };
        let card = Card::open_typed(recorder)
            .map_err(|e| format!("cannot open a session with the card: {e}"))?;
        Ok(Journey {
            card: Some(card),
            log,
        })
    }

    fn card(
        &mut self,
    ) -> Result<&mut Card<Recorder<T>, cardwire_transport::NoSecureChannel, 4200>, Fatal> {
        self.card
            .as_mut()
            .ok_or_else(|| "the card session was lost".to_string())
    }

    fn send(&mut self, cmd: &CommandRepr<'_>) -> Result<Resp, Fatal> {
        let mut buf = vec![0u8; 4200];
        let card = self.card()?;
        let rsp = card
            .transmit(cmd, &mut buf)
            .map_err(|e| format!("the card did not answer {}: {e}", cmd.ins))?;
        Ok((rsp.data().to_vec(), rsp.sw()))
    }

    /// Moves the log entries recorded since `from` into the stage.
    fn collect(&self, stage: &mut Stage, from: usize) {
        let log = self.log.borrow();
        stage.apdus = log.get(from..).unwrap_or(&[]).to_vec();
    }

    fn mark(&self) -> usize {
        self.log.borrow().len()
    }
}

fn select_identity() -> CommandRepr<'static> {
    CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x0C).with_data(&IDENTITY_AID)
}

fn expect(stage: &mut Stage, what: &str, got: StatusWord, want: StatusWord) -> bool {
    stage.status_words.push(got);
    if got == want {
        true
    } else {
        stage.fail(format!(
            "{what}: the card answered {}, expected {want}",
            explain(got)
        ));
        false
    }
}

fn verify_cmd<'a>(reference: u8, block: &'a [u8]) -> CommandRepr<'a> {
    CommandRepr::new(Cla(0x00), Ins::VERIFY, 0x00, reference).with_data(block)
}

fn tries_text(sw: StatusWord) -> String {
    match sw.retries_left() {
        Some(n) => format!("{n} tries left"),
        None if sw == StatusWord::AUTHENTICATION_METHOD_BLOCKED => "blocked".to_string(),
        None if sw.is_success() => "verified".to_string(),
        None => sw.description().to_string(),
    }
}

// ---- The stages -----------------------------------------------------------------------------

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
        yes_no(caps.chaining),
        yes_no(caps.extended_length),
        caps.logical_channels,
        caps.max_command_data,
        caps.max_response_data
    ));
    s.fact(
        "capabilities",
        json!({
            "command_chaining": caps.chaining,
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
    let mut out = Vec::new();
    // The summary shows what the card really answered to the last READ BINARY (often 6282).
    let mut last = StatusWord::SUCCESS;
    // READ BINARY until the card says the file ended (6282, 6B00) or gives less than asked.
    for _ in 0..64 {
        let offset = u16::try_from(out.len()).unwrap_or(u16::MAX);
        if offset > 0x7FFF {
            break;
        }
        let cmd = CommandRepr::new(
            Cla(0x00),
            Ins::READ_BINARY,
            (offset >> 8) as u8,
            offset as u8,
        )
        .with_ne(4096);
        let (data, sw) = j.send(&cmd)?;
        let got = data.len();
        out.extend_from_slice(&data);
        if sw == StatusWord::WRONG_P1_P2 || sw == StatusWord::INCORRECT_P1_P2 {
            last = sw;
            break;
        }
        if !sw.is_normal() && sw != StatusWord::END_OF_FILE {
            s.status_words.push(sw);
            s.fail(format!(
                "READ BINARY of {what}: the card answered {}",
                explain(sw)
            ));
            return Ok(None);
        }
        last = sw;
        if got < 4096 || sw == StatusWord::END_OF_FILE {
            break;
        }
    }
    s.status_words.push(last);
    Ok(Some(out))
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
    match CertificateSummary::from_der(&cert) {
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
    let (_, sw) = j.send(&verify_cmd(PIN_REFERENCE, &[]))?;
    s.status_words.push(sw);
    s.say(format!("PIN status before: {} ({sw})", tries_text(sw)));
    s.fact("status_before", sw.to_string());
    let block = pin_block(&secrets.pin).map_err(|e| e.to_string())?;
    let (_, sw) = j.send(&verify_cmd(PIN_REFERENCE, &block))?;
    if expect(&mut s, "VERIFY the PIN", sw, StatusWord::SUCCESS) {
        s.say("VERIFY with the PIN: accepted (9000)");
    }
    let (_, sw) = j.send(&verify_cmd(PIN_REFERENCE, &[]))?;
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
    // A failing generator is an error, never a predictable challenge.
    getrandom::fill(&mut challenge)
        .map_err(|e| format!("the operating system's random number generator failed: {e}"))?;
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

fn block_pin<T: Transport>(j: &mut Journey<T>, s: &mut Stage, wrong: &str) -> Result<bool, Fatal> {
    let block = pin_block(wrong).map_err(|e| e.to_string())?;
    let expected = [0x63C2u16, 0x63C1, 0x6983];
    for want in expected {
        let (_, sw) = j.send(&verify_cmd(PIN_REFERENCE, &block))?;
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
    if !block_pin(j, &mut s, &wrong_pin_for(&secrets.pin))? {
        return Ok(s);
    }
    let block = pin_block(&secrets.pin).map_err(|e| e.to_string())?;
    let (_, sw) = j.send(&verify_cmd(PIN_REFERENCE, &block))?;
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
    let (_, sw) = j.send(&verify_cmd(PUK_REFERENCE, &[]))?;
    s.status_words.push(sw);
    s.say(format!("PUK status: {} ({sw})", tries_text(sw)));
    let mut data = pin_block(&secrets.puk).map_err(|e| e.to_string())?;
    data.extend_from_slice(&pin_block(&secrets.new_pin).map_err(|e| e.to_string())?);
    let (_, sw) = j.send(
        &CommandRepr::new(Cla(0x00), Ins::RESET_RETRY_COUNTER, 0x00, PIN_REFERENCE)
            .with_data(&data),
    )?;
    if !expect(
        &mut s,
        "RESET RETRY COUNTER with the PUK",
        sw,
        StatusWord::SUCCESS,
    ) {
        return Ok(s);
    }
    s.say("RESET RETRY COUNTER (PUK ‖ new PIN): accepted, the PIN is unblocked and replaced");
    let block = pin_block(&secrets.new_pin).map_err(|e| e.to_string())?;
    let (_, sw) = j.send(&verify_cmd(PIN_REFERENCE, &block))?;
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
    if !block_pin(j, &mut s, &wrong_pin_for(&secrets.new_pin))? {
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
    let [enc, mac, dek] = &secrets.scp03;
    let keys = StaticKeys::new(enc, mac, dek).map_err(|e| format!("SCP03 keys: {e}"))?;
    let mut card = j
        .card
        .take()
        .ok_or_else(|| "the card session was lost".to_string())?;
    let level = SecurityLevel::C_DEC_C_MAC;
    let first_protected = j.mark();
    let session = match open_scp03(&mut card, keys, secrets.kvn, level, &mut getrandom::SysRng) {
        Ok(session) => session,
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
    let new = pin_block(&secrets.pin).map_err(|e| e.to_string())?;
    let rrc =
        CommandRepr::new(Cla(0x00), Ins::RESET_RETRY_COUNTER, 0x02, PIN_REFERENCE).with_data(&new);
    let mut buf = vec![0u8; 4200];
    let result = secure
        .transmit(&rrc, &mut buf)
        .map(|r| r.sw())
        .map_err(|e| format!("RESET RETRY COUNTER under SCP03 failed: {e}"));
    // Back to plain commands (the card keeps its side until the application is deselected).
    let mut plain = secure.with_secure_channel_type();
    plain.require_secure_messaging(false);
    j.card = Some(plain);
    let sw = result?;
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
    let block = pin_block(&secrets.pin).map_err(|e| e.to_string())?;
    let (_, sw) = j.send(&verify_cmd(PIN_REFERENCE, &block))?;
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

// ---- Running and reporting ------------------------------------------------------------------

fn run_stages<T: Transport>(
    transport: T,
    secrets: &Secrets,
    destructive: bool,
) -> Result<Vec<Stage>, Fatal> {
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
        stage_unlock(&mut j, secrets)
            .unwrap_or_else(|e| failed(3, "Unlock with the PIN: VERIFY", e))
    } else {
        skipped(3, "Unlock with the PIN: VERIFY", "stage 2 failed")
    };
    j.collect(&mut s, mark);
    let unlocked = s.ok && !s.skipped;
    stages.push(s);

    let mark = j.mark();
    let mut s = if unlocked {
        stage_sign(&mut j, &id).unwrap_or_else(|e| failed(4, "Strong authentication", e))
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
            f(&mut j, secrets).unwrap_or_else(|e| failed(n, title, e))
        };
        j.collect(&mut s, mark);
        go_on = s.ok && !s.skipped;
        stages.push(s);
    }
    Ok(stages)
}

fn failed(number: u8, title: &'static str, why: Fatal) -> Stage {
    let mut s = Stage::new(number, title);
    s.fail(why);
    s
}

fn skipped(number: u8, title: &'static str, why: &str) -> Stage {
    let mut s = Stage::new(number, title);
    s.skipped = true;
    s.say(format!("skipped: {why}"));
    s
}

/// Hex of a command with PIN data redacted (VERIFY, CHANGE REFERENCE DATA, RESET RETRY
/// COUNTER in plain): a report never shows a PIN.
fn command_hex(cmd: &[u8], full: bool) -> String {
    let pin_ins = matches!(cmd.get(1), Some(0x20 | 0x21 | 0x24 | 0x25 | 0x2C | 0x2D));
    let plain = cmd.first().is_some_and(|cla| cla & 0x0C == 0);
    if pin_ins && plain && cmd.len() > 5 {
        return format!(
            "{} <PIN data redacted, {} bytes>",
            to_hex(cmd.get(..5).unwrap_or(cmd)),
            cmd.len() - 5
        );
    }
    abbreviate(cmd, full)
}

fn abbreviate(bytes: &[u8], full: bool) -> String {
    if full || bytes.len() <= 24 {
        to_hex(bytes)
    } else {
        format!(
            "{}… ({} bytes)",
            to_hex(bytes.get(..20).unwrap_or(bytes)),
            bytes.len()
        )
    }
}

fn describe_command(cmd: &[u8]) -> String {
    match cardwire_apdu::Command::new_checked(cmd) {
        Ok(c) => {
            let name = match (c.cla().is_proprietary(), c.ins().0) {
                (true, 0x50) => "INITIALIZE UPDATE",
                (true, 0x82) => "EXTERNAL AUTHENTICATE",
                _ => c.ins().name().unwrap_or("?"),
            };
            let sm = if c.cla().secure_messaging() == cardwire_apdu::SecureMessaging::None {
                ""
            } else {
                " [secure messaging]"
            };
            format!("{name}{sm}")
        }
        Err(_) => "(malformed)".to_string(),
    }
}

fn render_text(stages: &[Stage], source: &str, trace: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cardwire journey — a healthcare worker's smart card, against {source}\n"
    );
    for s in stages {
        let _ = writeln!(out, "== {}. {}", s.number, s.title);
        for a in &s.apdus {
            let sw = a
                .response
                .len()
                .checked_sub(2)
                .and_then(|i| a.response.get(i..))
                .map(to_hex)
                .unwrap_or_default();
            let data = a
                .response
                .get(..a.response.len().saturating_sub(2))
                .unwrap_or(&[]);
            let _ = writeln!(
                out,
                "   > {:<34} {}",
                describe_command(&a.command),
                command_hex(&a.command, trace)
            );
            if data.is_empty() {
                let _ = writeln!(out, "   < {sw}");
            } else {
                let _ = writeln!(out, "   < {} {sw}", abbreviate(data, trace));
            }
        }
        for line in &s.lines {
            let _ = writeln!(out, "   {line}");
        }
        if let Some(f) = &s.failure {
            let _ = writeln!(out, "   FAILED: {f}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "Summary");
    let _ = writeln!(
        out,
        "  {:<3} {:<70} {:<7} card answered",
        "#", "stage", "result"
    );
    for s in stages {
        let result = if s.skipped {
            "skipped"
        } else if s.ok {
            "ok"
        } else {
            "FAILED"
        };
        let sws: Vec<String> = s.status_words.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "  {:<3} {:<70} {:<7} {}",
            s.number,
            s.title,
            result,
            sws.join(" ")
        );
    }
    out
}

fn render_json(stages: &[Stage], source: &str) -> Value {
    let list: Vec<Value> = stages
        .iter()
        .map(|s| {
            json!({
                "stage": s.number,
                "title": s.title,
                "result": if s.skipped { "skipped" } else if s.ok { "ok" } else { "failed" },
                "failure": s.failure,
                "status_words": s.status_words.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "facts": Value::Object(s.facts.clone()),
                "notes": s.lines,
                "apdus": s.apdus.iter().map(|a| json!({
                    "command": command_hex(&a.command, true),
                    "response": to_hex(&a.response),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "card": source,
        "ok": stages.iter().all(|s| s.ok),
        "stages": list,
    })
}

fn parse_scp03(args: &Args) -> Result<([Vec<u8>; 3], u8), Failure> {
    let kvn = u8::from_str_radix(args.scp03_kvn.trim_start_matches("0x"), 16).map_err(|_| {
        Failure::Usage(format!(
            "--scp03-kvn {:?} is not a hex byte",
            args.scp03_kvn
        ))
    })?;
    let Some(text) = &args.scp03_keys else {
        let k = cardwire_vcard::state::Scp03Keys::test_keys();
        return Ok(([k.enc.to_vec(), k.mac.to_vec(), k.dek.to_vec()], kvn));
    };
    let parts: Vec<&str> = text.split(':').collect();
    let [enc, mac, dek] = parts.as_slice() else {
        return Err(Failure::Usage(
            "--scp03-keys is ENC:MAC:DEK, three hex keys".to_string(),
        ));
    };
    let parse = |h: &str| crate::input::parse_hex(h);
    Ok(([parse(enc)?, parse(mac)?, parse(dek)?], kvn))
}

fn secret_arg(
    value: &Option<String>,
    default: &str,
    prompt: &str,
    real: bool,
) -> Result<String, Failure> {
    match value {
        Some(v) => Ok(v.clone()),
        None if !real => Ok(default.to_string()),
        None => crate::secret_input::read_secret(prompt),
    }
}

#[cfg(feature = "pcsc")]
fn run_on_reader<T: Transport>(
    t: T,
    secrets: &Secrets,
    allow_block: bool,
) -> Result<Vec<Stage>, Failure> {
    run_stages(t, secrets, allow_block).map_err(Failure::Failed)
}

#[cfg(not(feature = "pcsc"))]
fn run_on_reader(t: std::convert::Infallible, _: &Secrets, _: bool) -> Result<Vec<Stage>, Failure> {
    match t {}
}

/// Runs `cardwire journey`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let real = args.reader.is_some();
    let pin = secret_arg(&args.pin, DEFAULT_PIN, "PIN: ", real)?;
    let puk = secret_arg(&args.puk, DEFAULT_PUK, "PUK: ", real)?;
    let new_pin = match &args.new_pin {
        Some(p) => p.clone(),
        None if !real => "654321".to_string(),
        None => crate::secret_input::read_secret("new PIN for the self-service unlock: ")?,
    };
    for p in [&pin, &puk, &new_pin] {
        pin_block(p)?;
    }
    if new_pin == pin {
        return Err(Failure::Usage(
            "--new-pin must differ from --pin".to_string(),
        ));
    }
    let (scp03, kvn) = parse_scp03(args)?;
    let secrets = Secrets {
        pin,
        puk,
        new_pin,
        scp03,
        kvn,
    };

    let (stages, source) = if let Some(reader) = &args.reader {
        let transport = crate::card_source::open_reader(reader)?;
        let stages = run_on_reader(transport, &secrets, args.allow_block)?;
        (stages, format!("the card in {reader}"))
    } else {
        let seed = args.seed.as_deref().map_or(Seed::DEFAULT, Seed::from_text);
        let mut card = match &args.state {
            Some(path) => {
                VirtualCard::open(path, &seed).map_err(|e| Failure::Failed(e.to_string()))?
            }
            None => VirtualCard::new(&seed).map_err(|e| Failure::Failed(e.to_string()))?,
        };
        card.power_on();
        let source = match &args.state {
            Some(p) => format!("the virtual card (state in {})", p.display()),
            None => "the built-in virtual card".to_string(),
        };
        let stages = run_stages(InProcess::new(card), &secrets, true).map_err(Failure::Failed)?;
        (stages, source)
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render_json(&stages, &source)).unwrap_or_default()
        );
    } else {
        print!("{}", render_text(&stages, &source, args.trace));
    }
    let failed: Vec<String> = stages
        .iter()
        .filter(|s| !s.ok)
        .map(|s| {
            format!(
                "stage {} ({})",
                s.number,
                s.failure.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "the journey failed: {}",
            failed.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_data_is_redacted() {
        let cmd = [
            0x00, 0x20, 0x00, 0x81, 0x08, b'1', b'2', b'3', b'4', 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let shown = command_hex(&cmd, true);
        assert!(!shown.contains("31323334"), "{shown}");
        assert!(shown.contains("redacted"));
        assert_eq!(command_hex(&[0x00, 0xA4, 0x04, 0x00], true), "00A40400");
    }

    #[test]
    fn pin_blocks() {
        assert_eq!(pin_block("1234").unwrap(), b"1234\xFF\xFF\xFF\xFF");
        assert!(pin_block("12a4").is_err());
        assert!(pin_block("123456789").is_err());
        assert_ne!(wrong_pin_for("0000"), "0000");
        assert_ne!(wrong_pin_for("123456"), "123456");
    }
}
