//! `cardwire emrtd read`: read an ICAO eMRTD (passport or identity card chip, ICAO Doc 9303
//! Parts 10 and 11) from the built-in virtual card's eMRTD applet, or from the card in the
//! PC/SC reader `--reader` names.
//!
//! Access control: PACE (§4.4) with the CAN or the MRZ when EF.CardAccess offers it, BAC
//! (§4.3) otherwise (or with `--bac`); the report says which was used. Then Chip
//! Authentication (§6.2) when DG14 is read, Active Authentication (§6.1) when DG15 is read,
//! and the hash half of Passive Authentication (§5.1): every data group read is compared with
//! EF.SOD. DG2's face image is saved with `--out DIR`.

use std::cell::RefCell;
use std::fmt;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_sm::active_auth::{ECDSA_WITH_SHA256, internal_authenticate_command, verify_ecdsa};
use cardwire_sm::bac::{BacKeys, MrzInfo};
use cardwire_sm::channel::{establish_bac, secure_card};
use cardwire_sm::chip_auth::{ChipAuthHost, EcPublicKey};
use cardwire_sm::pace::{PacePassword, PaceSession};
use cardwire_sm::pace_driver::{choose_pace, establish_pace};
use cardwire_sm::security_infos::{SecurityInfo, SecurityInfos};
use cardwire_sm::sod::LdsSecurityObject;
use cardwire_sm::{CipherSuite, SmSession, StatusPolicy};
use cardwire_transport::{Card, CardHandler as _, InProcess, TransactionEnd, Transport};
use cardwire_vcard::personalise::EMRTD_AID;
use cardwire_vcard::{Mrz, Seed, VirtualCard};
use serde_json::{Value, json};

use crate::card_source::{Recorder, WireApdu};
use crate::failure::Failure;
use crate::input::to_hex;
use crate::randomness::OsRandom;

/// Arguments of `cardwire emrtd`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

/// `cardwire emrtd` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Open the chip with PACE (or BAC), read data groups, and check the chip and the data.
    #[command(after_help = "Examples:
  cardwire emrtd read --can 721853
  cardwire emrtd read --document-number L898902C3 --birth-date 740812 --expiry-date 120415
  cardwire emrtd read --can 721853 DG1 DG2 SOD --out face/ --json
  cardwire emrtd read --document-number L898902C3 --birth-date 740812 --expiry-date 120415 --bac COM DG1 --trace

The built-in virtual card carries the ICAO 9303 specimen passport (Anna Maria Eriksson);
the three MRZ values above are its document number, birth and expiry dates, and 721853 its
card access number (CAN; `cardwire serve` prints the CAN of the card it serves).
`--virtual-no-bac` makes it refuse BAC as newer documents do.

Checks reported: access control (PACE with CAN or MRZ, or BAC), chip authentication (DG14),
active authentication (DG15), and each data group's hash against EF.SOD. EF.SOD's signature
is not verified yet: --trust is accepted and the report says the signature was not checked.")]
    Read(ReadArgs),
}

/// Arguments of `cardwire emrtd read`.
#[derive(clap::Args, Debug)]
pub struct ReadArgs {
    /// A PC/SC reader to use instead of the built-in virtual card (needs the `pcsc` feature).
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// The card access number printed on the document (PACE password, usually 6 digits).
    #[arg(long, value_name = "CAN", conflicts_with_all = ["document_number", "birth_date", "expiry_date", "bac"])]
    pub can: Option<String>,
    /// The document number, as printed in the MRZ (up to 9 characters).
    #[arg(long = "document-number", required_unless_present = "can")]
    pub document_number: Option<String>,
    /// The date of birth, YYMMDD.
    #[arg(long = "birth-date", required_unless_present = "can")]
    pub birth_date: Option<String>,
    /// The date of expiry, YYMMDD.
    #[arg(long = "expiry-date", required_unless_present = "can")]
    pub expiry_date: Option<String>,
    /// Use PACE only (fail when EF.CardAccess offers no PACE the reader can run).
    #[arg(long, conflicts_with = "bac")]
    pub pace: bool,
    /// Use BAC only (the 2004 protocol; needs the MRZ values).
    #[arg(long)]
    pub bac: bool,
    /// A CSCA certificate or master list to check EF.SOD's signer against (not used yet: the
    /// report says the signature was not checked).
    #[arg(long, value_name = "FILE")]
    pub trust: Option<PathBuf>,
    /// Save every file read (NAME.bin) and DG2's face image (DG2-face.jpg or .jp2) in DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The files to read: COM, DG1, DG2, DG14, DG15, SOD (default: all six).
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Keep the virtual card's state in FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "reader")]
    pub state: Option<PathBuf>,
    /// Make the built-in virtual card refuse BAC (`6982`), as documents issued with PACE only
    /// do (kept in --state).
    #[arg(long = "virtual-no-bac", conflicts_with = "reader")]
    pub virtual_no_bac: bool,
    /// Show every APDU as it crossed the wire (protected after access control).
    #[arg(long)]
    pub trace: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Accept protected responses without DO'99' (processing status) when their MAC
    /// verifies, as some emulators send them (vsmartcard's ePass). Their status words are then
    /// NOT authenticated, and the report says so. Default: strict, such a response is refused
    /// as ICAO 9303-11 §9.8.6 requires.
    #[arg(long = "allow-missing-sm-status")]
    pub allow_missing_sm_status: bool,
}

/// A file of the LDS1 application this command knows (ICAO 9303-10 §4.6, §4.7): its name,
/// FID and data group number (0 for EF.COM and EF.SOD).
fn file_id(name: &str) -> Option<(&'static str, u16)> {
    match name.to_ascii_uppercase().trim_start_matches("EF.") {
        "COM" => Some(("COM", 0x011E)),
        "DG1" => Some(("DG1", 0x0101)),
        "DG2" => Some(("DG2", 0x0102)),
        "DG14" => Some(("DG14", 0x010E)),
        "DG15" => Some(("DG15", 0x010F)),
        "SOD" => Some(("SOD", 0x011D)),
        _ => None,
    }
}

/// The data group number of a file name (`DG14` → 14), `None` for COM and SOD.
fn group_number(name: &str) -> Option<u32> {
    name.strip_prefix("DG")?.parse().ok()
}

/// The files read when none are named.
const DEFAULT_FILES: [&str; 6] = ["COM", "DG1", "DG2", "DG14", "DG15", "SOD"];
/// Files at least this long show progress on a terminal.
const PROGRESS_FROM: usize = 4096;
/// The bytes asked for per READ BINARY while reading a long file.
const CHUNK: usize = 1024;

/// The data group a tag in EF.COM's tag list names (ICAO 9303-10 §4.6.1, table 34).
fn data_group_name(tag: u8) -> String {
    match tag {
        0x61 => "DG1".into(),
        0x75 => "DG2".into(),
        0x63 => "DG3".into(),
        0x76 => "DG4".into(),
        0x65..=0x6E => format!("DG{}", tag - 0x65 + 5),
        0x6F => "DG15".into(),
        0x70 => "DG16".into(),
        0x77 => "SOD".into(),
        other => format!("tag {other:02X}"),
    }
}

/// A read file, decoded.
struct ReadFile {
    name: &'static str,
    bytes: Vec<u8>,
    decoded: Value,
    lines: Vec<String>,
}

fn decode(name: &'static str, bytes: &[u8]) -> Result<(Value, Vec<String>), String> {
    let tlv =
        cardwire_tlv::Tlv::parse(bytes).map_err(|e| format!("EF.{name} is not BER-TLV: {e}"))?;
    match name {
        "COM" => {
            let version = tlv
                .find(cardwire_tlv::Tag(0x5F01))
                .map(|t| String::from_utf8_lossy(t.value()).into_owned());
            let groups: Vec<String> = tlv
                .find(cardwire_tlv::Tag(0x5C))
                .map(|t| t.value().iter().map(|b| data_group_name(*b)).collect())
                .unwrap_or_default();
            let lines = vec![
                format!("LDS version {}", version.clone().unwrap_or_default()),
                format!("data groups present: {}", groups.join(", ")),
            ];
            Ok((
                json!({"lds_version": version, "data_groups": groups}),
                lines,
            ))
        }
        "DG1" => {
            let mrz = tlv
                .find(cardwire_tlv::Tag(0x5F1F))
                .ok_or("DG1 has no MRZ data object 5F1F")?;
            let text = String::from_utf8_lossy(mrz.value()).into_owned();
            let parsed = Mrz::parse(&text).map_err(|e| format!("DG1's MRZ: {e}"))?;
            let lines = vec![
                format!("{}", parsed),
                format!(
                    "surname {}, given names {}",
                    parsed.surname, parsed.given_names
                ),
                format!(
                    "document {} {} issued by {}, nationality {}",
                    parsed.document_code,
                    parsed.document_number,
                    parsed.issuing_state,
                    parsed.nationality
                ),
                format!(
                    "born {}, sex {}, expires {}",
                    parsed.birth_date, parsed.sex, parsed.expiry_date
                ),
            ];
            Ok((
                json!({
                    "mrz": text, "surname": parsed.surname, "given_names": parsed.given_names,
                    "document_code": parsed.document_code, "document_number": parsed.document_number,
                    "issuing_state": parsed.issuing_state, "nationality": parsed.nationality,
                    "birth_date": parsed.birth_date, "sex": parsed.sex.to_string(),
                    "expiry_date": parsed.expiry_date,
                }),
                lines,
            ))
        }
        "DG2" => {
            let face = face_image(bytes);
            let line = match face {
                Some((ext, image)) => format!("face image: {ext}, {} bytes", image.len()),
                None => "no face image found (5F2E/7F2E with a JPEG or JPEG 2000)".to_string(),
            };
            Ok((
                json!({"length": bytes.len(), "face_image": face.map(|(ext, image)| json!({"format": ext, "length": image.len()}))}),
                vec![line],
            ))
        }
        "DG14" => {
            let infos = template_value(bytes).and_then(|v| SecurityInfos::parse(v).ok());
            let names: Vec<&str> = infos
                .iter()
                .flat_map(|i| i.iter())
                .map(|i| match i {
                    SecurityInfo::ChipAuthentication(_) => "ChipAuthenticationInfo",
                    SecurityInfo::ChipAuthenticationPublicKey(_) => {
                        "ChipAuthenticationPublicKeyInfo"
                    }
                    SecurityInfo::ActiveAuthentication(_) => "ActiveAuthenticationInfo",
                    SecurityInfo::TerminalAuthentication(_) => "TerminalAuthenticationInfo",
                    SecurityInfo::Pace(_) => "PACEInfo",
                    _ => "other SecurityInfo",
                })
                .collect();
            Ok((
                json!({"length": bytes.len(), "security_infos": names}),
                vec![format!("security infos: {}", names.join(", "))],
            ))
        }
        _ => Ok((
            json!({"length": bytes.len()}),
            vec![format!("{} bytes", bytes.len())],
        )),
    }
}

/// Why `emrtd read` could not finish, as the user should read it.
#[derive(Debug)]
enum EmrtdError {
    /// The card has no eMRTD application.
    NoApplication(StatusWord),
    /// PACE or BAC refused the password: the card's status word (e.g. `6300`) or a failed
    /// token check.
    WrongPassword {
        protocol: &'static str,
        password: &'static str,
        detail: String,
    },
    /// The card refuses BAC (`6982`).
    BacRefused,
    /// BAC was needed (no PACE, or `--bac`) but only a CAN was given.
    BacNeedsMrz,
    /// `--pace` and the card offers no PACE this reader can run.
    NoPace(String),
    /// The generator failed before anything secret was sent.
    Randomness,
    /// Anything else, with its message.
    Card(String),
}

impl fmt::Display for EmrtdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmrtdError::NoApplication(sw) => write!(
                f,
                "the card has no eMRTD application: SELECT answered {sw} ({})",
                sw.description()
            ),
            EmrtdError::WrongPassword {
                protocol,
                password,
                detail,
            } => write!(
                f,
                "{protocol} failed: the chip did not accept the {password} ({detail}) — check the {password}{}",
                if *password == "MRZ" {
                    " values (document number, birth and expiry dates)"
                } else {
                    ""
                }
            ),
            EmrtdError::BacRefused => f.write_str(
                "Basic Access Control failed: the card refuses BAC (6982), as documents issued for PACE only do — use PACE (drop --bac)",
            ),
            EmrtdError::BacNeedsMrz => f.write_str(
                "the card offers no PACE, and BAC needs the MRZ values: give --document-number, --birth-date and --expiry-date instead of --can",
            ),
            EmrtdError::NoPace(why) => write!(f, "--pace: {why}"),
            EmrtdError::Randomness => f.write_str("the random number generator failed"),
            EmrtdError::Card(msg) => f.write_str(msg),
        }
    }
}

/// The passwords the user gave.
struct Passwords {
    can: Option<String>,
    mrz: Option<MrzInfo>,
}

/// How the chip was opened.
#[derive(Clone, Debug)]
struct AccessUsed {
    protocol: &'static str,
    password: &'static str,
    cipher: &'static str,
    /// Why BAC was used, when it was.
    reason: Option<String>,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Check {
    Passed(String),
    Failed(String),
    NotDone(String),
}

impl Check {
    fn json(&self) -> Value {
        match self {
            Check::Passed(d) => json!({"result": "passed", "detail": d}),
            Check::Failed(d) => json!({"result": "failed", "detail": d}),
            Check::NotDone(d) => json!({"result": "not done", "detail": d}),
        }
    }
    fn line(&self) -> String {
        match self {
            Check::Passed(d) => format!("passed ({d})"),
            Check::Failed(d) => format!("FAILED ({d})"),
            Check::NotDone(d) => format!("not done ({d})"),
        }
    }
}

/// Everything one read brings back.
struct Report {
    access: Option<AccessUsed>,
    files: Vec<ReadFile>,
    chip_auth: Check,
    active_auth: Check,
    /// Per data group read: the hash check against EF.SOD.
    hashes: Vec<(&'static str, Check)>,
    sod_signature: Check,
    apdus: Vec<WireApdu>,
    unauthenticated: usize,
}

impl Report {
    /// The names of the checks that failed (a check not done is not a failure).
    fn failed_checks(&self) -> Vec<String> {
        let mut failed = Vec::new();
        let mut note = |name: String, c: &Check| {
            if matches!(c, Check::Failed(_)) {
                failed.push(name);
            }
        };
        note("chip authentication".into(), &self.chip_auth);
        note("active authentication".into(), &self.active_auth);
        for (name, c) in &self.hashes {
            note(format!("the {name} hash"), c);
        }
        note("EF.SOD's signature".into(), &self.sod_signature);
        failed
    }
}

/// What the read needs besides the card.
struct Job<'a> {
    passwords: &'a Passwords,
    files: &'a [(&'static str, u16)],
    force_pace: bool,
    force_bac: bool,
    trust: Option<&'a Path>,
    rng: &'a mut OsRandom,
    policy: StatusPolicy,
    progress: bool,
}

fn randomness_or(
    e: cardwire_sm::Error,
    other: impl FnOnce(cardwire_sm::Error) -> EmrtdError,
) -> EmrtdError {
    if matches!(e, cardwire_sm::Error::Randomness) {
        EmrtdError::Randomness
    } else {
        other(e)
    }
}

/// Reads everything in one PC/SC transaction, which ends with a reset of the card: the
/// session keys do not outlive it.
fn read_all<T: Transport>(mut transport: T, job: &mut Job<'_>) -> Result<Report, EmrtdError> {
    let mut result = None;
    transport
        .transaction(&mut |held| {
            result = Some(read_held(held, job));
            TransactionEnd::Reset
        })
        .map_err(|e| EmrtdError::Card(format!("the card transaction failed: {e}")))?;
    result.unwrap_or_else(|| Err(EmrtdError::Card("the card transaction did not run".into())))
}

/// EF.CardAccess read in plain by its short file identifier `1C` from the MF (ICAO 9303-10
/// §3.11.3); `None` when the card has none.
fn read_card_access<T: Transport>(card: &mut Card<T>) -> Option<Vec<u8>> {
    let mut buf = [0u8; 1024];
    let cmd = CommandRepr::new(Cla(0x00), Ins::READ_BINARY, 0x80 | 0x1C, 0x00).with_ne(256);
    let r = card.transmit(&cmd, &mut buf).ok()?;
    if !(r.sw().is_normal() || r.sw() == StatusWord::END_OF_FILE) || r.data().is_empty() {
        return None;
    }
    let mut bytes = r.data().to_vec();
    let total = tlv_total_len(&bytes)?;
    while bytes.len() < total {
        let off = u16::try_from(bytes.len()).ok()?;
        let (data, _) = card.read_binary(off, total - bytes.len(), &mut buf).ok()?;
        if data.is_empty() {
            break;
        }
        bytes.extend_from_slice(data);
    }
    Some(bytes)
}

fn read_held<T: Transport>(transport: T, job: &mut Job<'_>) -> Result<Report, EmrtdError> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        inner: transport,
        log: Rc::clone(&log),
    };
    let mut card = Card::open(recorder)
        .map_err(|e| EmrtdError::Card(format!("cannot open a session with the card: {e}")))?;
    let mut report = Report {
        access: None,
        files: Vec::new(),
        chip_auth: Check::NotDone("DG14 not read".into()),
        active_auth: Check::NotDone("DG15 not read".into()),
        hashes: Vec::new(),
        sod_signature: Check::NotDone("EF.SOD not read".into()),
        apdus: Vec::new(),
        unauthenticated: 0,
    };
    let card_access = if job.force_bac {
        None
    } else {
        read_card_access(&mut card)
    };
    let infos = card_access
        .as_deref()
        .and_then(|b| SecurityInfos::parse(b).ok());
    let pace = infos.as_ref().and_then(choose_pace);
    let result = match pace {
        Some((info, curve)) => {
            let (password, name) = match (&job.passwords.can, &job.passwords.mrz) {
                (Some(can), _) => (PacePassword::Can(can.as_bytes()), "CAN"),
                (None, Some(mrz)) => (PacePassword::Mrz(mrz), "MRZ"),
                (None, None) => return Err(EmrtdError::Card("no password given".into())),
            };
            let session =
                establish_pace(&mut card, info.protocol(), curve, &password, &mut *job.rng)
                    .map_err(|e| randomness_or(e, |e| pace_error(e, name)))?;
            let cipher = info.cipher().map_or("AES", cipher_name);
            report.access = Some(AccessUsed {
                protocol: "PACE",
                password: name,
                cipher,
                reason: None,
            });
            match session {
                PaceSession::Aes(s) => after_access(card, s, true, job, &mut report),
                PaceSession::Tdes(s) => after_access(card, s, true, job, &mut report),
            }
        }
        None => {
            let reason = if job.force_bac {
                "--bac".to_string()
            } else if card_access.is_none() {
                "the card has no EF.CardAccess: no PACE".to_string()
            } else {
                "EF.CardAccess offers no PACE this reader can run (PACE-GM ECDH on P-256 or brainpoolP256r1)".to_string()
            };
            if job.force_pace {
                return Err(EmrtdError::NoPace(reason));
            }
            let Some(mrz) = &job.passwords.mrz else {
                return Err(EmrtdError::BacNeedsMrz);
            };
            select_emrtd(&mut card)?;
            let session = establish_bac(&mut card, &BacKeys::from_mrz(mrz), &mut *job.rng)
                .map_err(|e| match e {
                    cardwire_sm::Error::CardRefused { sw }
                        if sw == StatusWord::SECURITY_STATUS_NOT_SATISFIED =>
                    {
                        EmrtdError::BacRefused
                    }
                    e => randomness_or(e, |e| {
                        EmrtdError::Card(format!(
                            "Basic Access Control failed: {e} — check the document number, birth and expiry dates"
                        ))
                    }),
                })?;
            report.access = Some(AccessUsed {
                protocol: "BAC",
                password: "MRZ",
                cipher: "3DES",
                reason: Some(reason),
            });
            after_access(card, session, false, job, &mut report)
        }
    };
    report.apdus = log.borrow().clone();
    result.map(|()| report)
}

fn cipher_name(k: cardwire_sm::kdf::KeyAlgorithm) -> &'static str {
    use cardwire_sm::kdf::KeyAlgorithm;
    match k {
        KeyAlgorithm::Tdes => "3DES",
        KeyAlgorithm::Aes128 => "AES-128",
        KeyAlgorithm::Aes192 => "AES-192",
        KeyAlgorithm::Aes256 => "AES-256",
    }
}

/// A PACE failure: a wrong password when the chip refused the terminal's token (`6300`, or
/// `63Cx` with tries left on an eID) or the chip's token did not verify; anything else as is.
fn pace_error(e: cardwire_sm::Error, password: &'static str) -> EmrtdError {
    let wrong = match e {
        cardwire_sm::Error::AuthenticationFailed => true,
        cardwire_sm::Error::CardRefused { sw } => sw.0 == 0x6300 || sw.0 & 0xFFF0 == 0x63C0,
        _ => false,
    };
    if wrong {
        EmrtdError::WrongPassword {
            protocol: "PACE",
            password,
            detail: pace_detail(e),
        }
    } else {
        EmrtdError::Card(format!("PACE failed: {}", pace_detail(e)))
    }
}

/// What went wrong in PACE, in words.
fn pace_detail(e: cardwire_sm::Error) -> String {
    match e {
        cardwire_sm::Error::CardRefused { sw } => format!("the card answered {sw}"),
        cardwire_sm::Error::AuthenticationFailed => "the chip's token did not verify".into(),
        other => other.to_string(),
    }
}

fn select_emrtd<T: Transport, S: cardwire_transport::SecureChannel>(
    card: &mut Card<T, S>,
) -> Result<(), EmrtdError> {
    let mut buf = [0u8; 512];
    let select = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x0C).with_data(&EMRTD_AID);
    let sw = card
        .transmit(&select, &mut buf)
        .map_err(|e| EmrtdError::Card(format!("SELECT of the eMRTD application failed: {e}")))?
        .sw();
    if sw != StatusWord::SUCCESS {
        return Err(EmrtdError::NoApplication(sw));
    }
    Ok(())
}

/// Under the session access control opened: (after PACE) the eMRTD application, DG14 and
/// Chip Authentication first when DG14 is wanted, then the other files.
fn after_access<T: Transport, C: CipherSuite>(
    card: Card<T>,
    mut session: SmSession<C>,
    after_pace: bool,
    job: &mut Job<'_>,
    report: &mut Report,
) -> Result<(), EmrtdError> {
    session.set_status_policy(job.policy);
    let mut card = secure_card(card, session);
    if after_pace {
        select_emrtd(&mut card)?;
        count_unauthenticated(&card, report);
    }
    let Some(&(name, fid)) = job.files.iter().find(|(n, _)| *n == "DG14") else {
        return read_rest(card, job, report);
    };
    let dg14 = read_file(&mut card, name, fid, job.progress, report)?;
    let ca = chip_authentication(&mut card, &dg14, job.rng);
    report.files.push(dg14);
    match ca {
        Ok(Some(new)) => {
            report.chip_auth = Check::Passed(
                "the chip proved it holds DG14's key: the session continues under the new keys"
                    .into(),
            );
            match new {
                PaceSession::Aes(mut s) => {
                    s.set_status_policy(job.policy);
                    read_rest(secure_card(card, s), job, report)
                }
                PaceSession::Tdes(mut s) => {
                    s.set_status_policy(job.policy);
                    read_rest(secure_card(card, s), job, report)
                }
            }
        }
        Ok(None) => {
            report.chip_auth =
                Check::NotDone("DG14 has no usable ECDH chip authentication key".into());
            read_rest(card, job, report)
        }
        Err(EmrtdError::Randomness) => Err(EmrtdError::Randomness),
        Err(e) => {
            report.chip_auth = Check::Failed(e.to_string());
            Err(EmrtdError::Card(format!(
                "chip authentication failed: {e} — the chip may be a clone"
            )))
        }
    }
}

fn count_unauthenticated<T: Transport, C: CipherSuite>(
    card: &Card<T, SmSession<C>>,
    report: &mut Report,
) {
    if card
        .secure_channel()
        .is_some_and(|s| !s.last_status_authenticated())
    {
        report.unauthenticated += 1;
    }
}

/// A private key on `curve` from the generator (rejection sampling).
fn draw_key(
    curve: cardwire_sm::pace::PaceCurve,
    rng: &mut OsRandom,
) -> Result<[u8; 32], EmrtdError> {
    let mut k = [0u8; 32];
    for _ in 0..64 {
        rng.fill(&mut k).map_err(|_| EmrtdError::Randomness)?;
        if curve.is_valid_private_key(&k) {
            return Ok(k);
        }
    }
    Err(EmrtdError::Randomness)
}

/// Chip Authentication v1 with DG14's key (ICAO 9303-11 §6.2); `Ok(None)` when DG14 offers
/// no ECDH key this reader can use.
fn chip_authentication<T: Transport, C: CipherSuite>(
    card: &mut Card<T, SmSession<C>>,
    dg14: &ReadFile,
    rng: &mut OsRandom,
) -> Result<Option<PaceSession>, EmrtdError> {
    let Some(infos) = template_value(&dg14.bytes).and_then(|v| SecurityInfos::parse(v).ok()) else {
        return Ok(None);
    };
    let Some(info) = infos.iter().find_map(|i| match i {
        SecurityInfo::ChipAuthentication(c) if c.is_ecdh() => Some(c),
        _ => None,
    }) else {
        return Ok(None);
    };
    let Some(key) = infos
        .chip_authentication_public_keys()
        .filter(|k| k.key_id() == info.key_id() || info.key_id().is_none())
        .find_map(|k| EcPublicKey::from_spki(k.subject_public_key_info()).ok())
    else {
        return Ok(None);
    };
    let mut sk = draw_key(key.curve, rng)?;
    let host = ChipAuthHost::new(&info, key, sk);
    zeroize::Zeroize::zeroize(&mut sk);
    let Ok(host) = host else {
        return Ok(None);
    };
    let mut cmd = [0u8; 160];
    let mut buf = [0u8; 256];
    let send = |card: &mut Card<T, SmSession<C>>, cmd: &[u8], buf: &mut [u8]| {
        let repr = CommandRepr::parse(cmd)
            .map_err(|e| EmrtdError::Card(format!("chip authentication command: {e}")))?;
        let r = card
            .transmit(&repr, buf)
            .map_err(|e| EmrtdError::Card(format!("chip authentication: {e}")))?;
        let mut answer = r.data().to_vec();
        answer.extend_from_slice(&r.sw().to_bytes());
        Ok::<_, EmrtdError>(answer)
    };
    let n = host
        .mse_command(&mut cmd)
        .map_err(|e| EmrtdError::Card(e.to_string()))?;
    let mut answer = send(card, cmd.get(..n).unwrap_or(&[]), &mut buf)?;
    if host.needs_general_authenticate() && answer.ends_with(&[0x90, 0x00]) {
        let n = host
            .general_authenticate_command(&mut cmd)
            .map_err(|e| EmrtdError::Card(e.to_string()))?;
        answer = send(card, cmd.get(..n).unwrap_or(&[]), &mut buf)?;
    }
    host.finish(&answer)
        .map(Some)
        .map_err(|e| EmrtdError::Card(format!("the card refused it: {e}")))
}

/// The value of a data group's outer template (`6E`, `6F`, `75`, ...).
fn template_value(bytes: &[u8]) -> Option<&[u8]> {
    cardwire_tlv::Tlv::parse(bytes).ok().map(|t| t.value())
}

/// The files not read yet, Active Authentication when DG15 was read, and the hash check of
/// every data group against EF.SOD.
fn read_rest<T: Transport, C: CipherSuite>(
    mut card: Card<T, SmSession<C>>,
    job: &mut Job<'_>,
    report: &mut Report,
) -> Result<(), EmrtdError> {
    for &(name, fid) in job.files {
        if report.files.iter().any(|f| f.name == name) {
            continue;
        }
        let f = read_file(&mut card, name, fid, job.progress, report)?;
        report.files.push(f);
    }
    // Back in the order asked for.
    report
        .files
        .sort_by_key(|f| job.files.iter().position(|(n, _)| *n == f.name));
    if let Some(dg15) = report.files.iter().find(|f| f.name == "DG15") {
        let algorithm = report
            .files
            .iter()
            .find(|f| f.name == "DG14")
            .and_then(|f| aa_algorithm(&f.bytes));
        report.active_auth = active_authentication(&mut card, dg15, algorithm, job.rng)?;
    }
    passive_authentication(job.trust, report);
    Ok(())
}

/// DG14's `ActiveAuthenticationInfo` signature algorithm.
fn aa_algorithm(dg14: &[u8]) -> Option<Vec<u8>> {
    let infos = SecurityInfos::parse(template_value(dg14)?).ok()?;
    infos.iter().find_map(|i| match i {
        SecurityInfo::ActiveAuthentication(a) => Some(a.signature_algorithm().to_vec()),
        _ => None,
    })
}

/// Active Authentication (ICAO 9303-11 §6.1): an 8-byte challenge signed with DG15's key.
fn active_authentication<T: Transport, C: CipherSuite>(
    card: &mut Card<T, SmSession<C>>,
    dg15: &ReadFile,
    algorithm: Option<Vec<u8>>,
    rng: &mut OsRandom,
) -> Result<Check, EmrtdError> {
    let Some(key) = template_value(&dg15.bytes).and_then(|v| EcPublicKey::from_spki(v).ok()) else {
        return Ok(Check::NotDone(
            "DG15's key is not an EC key this reader can check (RSA is not supported)".into(),
        ));
    };
    let algorithm = algorithm.unwrap_or_else(|| ECDSA_WITH_SHA256.to_vec());
    let mut challenge = [0u8; 8];
    rng.fill(&mut challenge)
        .map_err(|_| EmrtdError::Randomness)?;
    let mut cmd = [0u8; 16];
    let n = internal_authenticate_command(&challenge, &mut cmd)
        .map_err(|e| EmrtdError::Card(e.to_string()))?;
    let repr = CommandRepr::parse(cmd.get(..n).unwrap_or(&[]))
        .map_err(|e| EmrtdError::Card(e.to_string()))?;
    let mut buf = [0u8; 512];
    let r = card
        .transmit(&repr, &mut buf)
        .map_err(|e| EmrtdError::Card(format!("INTERNAL AUTHENTICATE failed: {e}")))?;
    if r.sw() != StatusWord::SUCCESS {
        return Ok(Check::Failed(format!(
            "INTERNAL AUTHENTICATE answered {}",
            r.sw()
        )));
    }
    Ok(match verify_ecdsa(&key, &algorithm, &challenge, r.data()) {
        Ok(()) => Check::Passed("the chip signed a fresh challenge with DG15's key (ECDSA)".into()),
        Err(e) => Check::Failed(format!("the signature does not verify: {e}")),
    })
}

/// EF.SOD's signature (ICAO Doc 9303-11 §5.1 steps 1-2): the document signer's signature
/// over the security object, and — with `--trust` — the document signer certificate under a
/// CSCA of the trust list, valid now. Without `--trust` the chain is reported as not checked.
fn sod_signature_check(sod: &[u8], data_groups: &[(u8, &[u8])], trust: Option<&Path>) -> Check {
    use cardwire_sm::passive::TrustList;
    let (list, notes) = match trust {
        Some(path) => match crate::emrtd_trust::load_trust(path) {
            Ok(loaded) => loaded,
            Err(e) => return Check::Failed(e.to_string()),
        },
        None => (TrustList::new(), Vec::new()),
    };
    let report = match crate::emrtd_trust::passive_report(sod, data_groups, &list) {
        Ok(r) => r,
        Err(e) => return Check::Failed(e.to_string()),
    };
    let ds = report
        .ds_subject
        .as_ref()
        .map_or_else(|| "the document signer".to_string(), |n| n.to_string());
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join("; "))
    };
    match (&report.sod_signature, &report.document_signer, trust) {
        (Err(e), ..) => Check::Failed(format!("the SOD's signature by {ds} does not verify: {e}")),
        (Ok(()), _, None) => Check::Passed(format!(
            "signed by {ds}; the CSCA chain was not checked (give --trust)"
        )),
        (Ok(()), Ok(()), Some(_)) => {
            let csca = report
                .csca_subject
                .as_ref()
                .map_or_else(|| "a trusted CSCA".to_string(), |n| n.to_string());
            Check::Passed(format!("signed by {ds} under the CSCA {csca}{notes}"))
        }
        (Ok(()), Err(e), Some(path)) => Check::Failed(format!(
            "signed by {ds}, but no CSCA in {} vouches for it: {e}{notes}",
            path.display()
        )),
    }
}

/// The hash half of Passive Authentication (ICAO 9303-11 §5.1 step 3) for every data group
/// read, and the signature check's call site.
fn passive_authentication(trust: Option<&Path>, report: &mut Report) {
    let Some(sod) = report.files.iter().find(|f| f.name == "SOD") else {
        report.hashes = report
            .files
            .iter()
            .filter(|f| group_number(f.name).is_some())
            .map(|f| (f.name, Check::NotDone("EF.SOD not read".into())))
            .collect();
        return;
    };
    let groups: Vec<(u8, &[u8])> = report
        .files
        .iter()
        .filter_map(|f| {
            let n = u8::try_from(group_number(f.name)?).ok()?;
            Some((n, &f.bytes[..]))
        })
        .collect();
    report.sod_signature = sod_signature_check(&sod.bytes, &groups, trust);
    let lds = match LdsSecurityObject::parse(&sod.bytes) {
        Ok(l) => l,
        Err(e) => {
            report.sod_signature = Check::Failed(format!("EF.SOD is not readable: {e}"));
            report.hashes = Vec::new();
            return;
        }
    };
    report.hashes = report
        .files
        .iter()
        .filter_map(|f| Some((f.name, group_number(f.name)?, &f.bytes)))
        .map(|(name, n, bytes)| {
            let check = match (lds.hash_of(n), lds.check_data_group(n, bytes)) {
                (None, _) => Check::Failed(format!("EF.SOD has no hash for {name}")),
                (Some(_), Ok(())) => Check::Passed("matches EF.SOD".into()),
                (Some(_), Err(e)) => Check::Failed(e.to_string()),
            };
            (name, check)
        })
        .collect();
}

/// SELECT and READ BINARY of one file under secure messaging, in chunks (with progress on a
/// terminal for long files).
fn read_file<T: Transport, C: CipherSuite>(
    card: &mut Card<T, SmSession<C>>,
    name: &'static str,
    fid: u16,
    progress: bool,
    report: &mut Report,
) -> Result<ReadFile, EmrtdError> {
    let mut buf = vec![0u8; CHUNK + 2];
    let fid_bytes = fid.to_be_bytes();
    let sel = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x02, 0x0C).with_data(&fid_bytes);
    let sw = card
        .transmit(&sel, &mut buf)
        .map_err(|e| {
            EmrtdError::Card(format!(
                "SELECT EF.{name} under secure messaging failed: {e}"
            ))
        })?
        .sw();
    count_unauthenticated(card, report);
    if sw != StatusWord::SUCCESS {
        return Err(EmrtdError::Card(format!(
            "EF.{name}: SELECT answered {sw} ({})",
            sw.description()
        )));
    }
    // The first 4 bytes give the TLV's total length, then read the rest.
    let (first, sw) = card
        .read_binary(0, 4, &mut buf)
        .map_err(|e| EmrtdError::Card(format!("READ BINARY of EF.{name} failed: {e}")))?;
    let mut bytes = first.to_vec();
    count_unauthenticated(card, report);
    if !sw.is_normal() && sw != StatusWord::END_OF_FILE {
        return Err(EmrtdError::Card(format!(
            "EF.{name}: READ BINARY answered {sw} ({})",
            sw.description()
        )));
    }
    let total = tlv_total_len(&bytes).ok_or_else(|| {
        EmrtdError::Card(format!("EF.{name} does not start with a BER-TLV header"))
    })?;
    let show = progress && total >= PROGRESS_FROM;
    while bytes.len() < total {
        let off = u16::try_from(bytes.len())
            .map_err(|_| EmrtdError::Card(format!("EF.{name} is longer than 65 535 bytes")))?;
        let want = (total - bytes.len()).min(CHUNK);
        let (data, sw) = card
            .read_binary(off, want, &mut buf)
            .map_err(|e| EmrtdError::Card(format!("READ BINARY of EF.{name} failed: {e}")))?;
        let got = data.len();
        bytes.extend_from_slice(data);
        count_unauthenticated(card, report);
        if show {
            eprint!("\rreading EF.{name}: {} of {total} bytes", bytes.len());
        }
        if got == 0 || (!sw.is_normal() && sw != StatusWord::END_OF_FILE) {
            break;
        }
    }
    if show {
        eprintln!();
    }
    bytes.truncate(total);
    let (decoded, lines) = decode(name, &bytes).map_err(EmrtdError::Card)?;
    Ok(ReadFile {
        name,
        bytes,
        decoded,
        lines,
    })
}

/// The face image inside DG2: the value of the first biometric data block (`5F2E`, or `7F2E`
/// for the newer format) from the JPEG (`FF D8 FF`) or JPEG 2000 (`00 00 00 0C 6A 50 20 20`
/// file, `FF 4F FF 51` codestream) signature on (ICAO 9303-10 §4.7.2, ISO/IEC 19794-5).
fn face_image(dg2: &[u8]) -> Option<(&'static str, &[u8])> {
    let tlv = cardwire_tlv::Tlv::parse(dg2).ok()?;
    let block = find_deep(&tlv, cardwire_tlv::Tag(0x5F2E))
        .or_else(|| find_deep(&tlv, cardwire_tlv::Tag(0x7F2E)))?;
    let v = block.value();
    let signatures: [(&[u8], &str); 3] = [
        (&[0xFF, 0xD8, 0xFF], "jpg"),
        (&[0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20], "jp2"),
        (&[0xFF, 0x4F, 0xFF, 0x51], "j2k"),
    ];
    signatures.iter().find_map(|(sig, ext)| {
        let at = v.windows(sig.len()).position(|w| w == *sig)?;
        Some((*ext, v.get(at..)?))
    })
}

/// The first object with `tag` at any depth below `tlv` (depth first, in order).
fn find_deep<'a>(
    tlv: &cardwire_tlv::Tlv<'a>,
    tag: cardwire_tlv::Tag,
) -> Option<cardwire_tlv::Tlv<'a>> {
    tlv.children().find_map(|c| {
        if c.tag() == tag {
            Some(c)
        } else {
            find_deep(&c, tag)
        }
    })
}

/// Saves every file read and DG2's face in `dir`; returns the paths written.
fn save_files(dir: &Path, files: &[ReadFile]) -> Result<Vec<PathBuf>, Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    let mut write = |name: String, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
        written.push(path);
        Ok::<(), Failure>(())
    };
    for f in files {
        write(format!("{}.bin", f.name), &f.bytes)?;
        if f.name == "DG2" {
            if let Some((ext, image)) = face_image(&f.bytes) {
                write(format!("DG2-face.{ext}"), image)?;
            }
        }
    }
    Ok(written)
}

/// Runs `cardwire emrtd`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let Sub::Read(a) = &args.command;
    let mrz = match (&a.document_number, &a.birth_date, &a.expiry_date) {
        (Some(n), Some(b), Some(e)) => Some(
            MrzInfo::new(n, b, e)
                .map_err(|e| Failure::Usage(format!("the MRZ values are not usable: {e}")))?,
        ),
        _ => None,
    };
    if let Some(can) = &a.can {
        if can.is_empty() || !can.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Failure::Usage(format!(
                "--can {can:?}: a card access number is the digits printed on the document"
            )));
        }
    }
    let passwords = Passwords {
        can: a.can.clone(),
        mrz,
    };
    let names: Vec<String> = if a.files.is_empty() {
        DEFAULT_FILES.iter().map(|s| (*s).to_string()).collect()
    } else {
        a.files.clone()
    };
    let mut files = Vec::new();
    for n in &names {
        let f = file_id(n).ok_or_else(|| {
            Failure::Usage(format!(
                "unknown file {n:?}: use COM, DG1, DG2, DG14, DG15 or SOD"
            ))
        })?;
        if !files.contains(&f) {
            files.push(f);
        }
    }
    let mut rng = OsRandom::new();
    let mut job = Job {
        passwords: &passwords,
        files: &files,
        force_pace: a.pace,
        force_bac: a.bac,
        trust: a.trust.as_deref(),
        rng: &mut rng,
        policy: if a.allow_missing_sm_status {
            StatusPolicy::AllowMissingStatus
        } else {
            StatusPolicy::Strict
        },
        progress: std::io::stderr().is_terminal() && !a.json,
    };
    let result = if let Some(reader) = &a.reader {
        let transport = crate::card_source::open_reader(reader)?;
        read_on_reader(transport, &mut job)
    } else {
        read_virtual(a, &mut job)?
    };
    let report = match result {
        Ok(r) => r,
        Err(EmrtdError::Randomness) => return Err(Failure::Randomness(rng.failure())),
        Err(e) => return Err(Failure::Failed(e.to_string())),
    };
    let saved = match &a.out {
        Some(dir) => save_files(dir, &report.files)?,
        None => Vec::new(),
    };
    print_report(a, &report, &saved);
    let failed = report.failed_checks();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "the document failed {}: it may not be genuine (details above)",
            failed.join(", ")
        )))
    }
}

#[cfg(feature = "pcsc")]
fn read_on_reader<T: Transport>(t: T, job: &mut Job<'_>) -> Result<Report, EmrtdError> {
    read_all(t, job)
}

#[cfg(not(feature = "pcsc"))]
fn read_on_reader(t: std::convert::Infallible, _: &mut Job<'_>) -> Result<Report, EmrtdError> {
    match t {}
}

fn read_virtual(a: &ReadArgs, job: &mut Job<'_>) -> Result<Result<Report, EmrtdError>, Failure> {
    let mut card = match &a.state {
        Some(p) => VirtualCard::open(p, &Seed::DEFAULT),
        None => VirtualCard::new(&Seed::DEFAULT),
    }
    .map_err(|e| Failure::Failed(e.to_string()))?;
    if a.virtual_no_bac {
        card.set_bac_refused(true).map_err(|sw| {
            Failure::Failed(format!("cannot save the virtual card's state ({sw})"))
        })?;
    }
    card.power_on();
    Ok(read_all(InProcess::new(card), job))
}

fn print_report(a: &ReadArgs, r: &Report, saved: &[PathBuf]) {
    if r.unauthenticated > 0 {
        eprintln!(
            "warning: {} protected response(s) had no DO'99' (processing status): their status words are NOT authenticated (--allow-missing-sm-status)",
            r.unauthenticated
        );
    }
    if a.json {
        let access = r.access.as_ref().map(|x| {
            json!({"protocol": x.protocol, "password": x.password, "cipher": x.cipher,
                   "fallback_reason": x.reason})
        });
        let v = json!({
            "access_control": access,
            "checks": {
                "chip_authentication": r.chip_auth.json(),
                "active_authentication": r.active_auth.json(),
                "sod_signature": r.sod_signature.json(),
                "data_group_hashes": r.hashes.iter().map(|(n, c)| json!({"file": n, "check": c.json()})).collect::<Vec<_>>(),
            },
            "unauthenticated_status_words": r.unauthenticated,
            "files": r.files.iter().map(|f| json!({
                "file": f.name, "bytes": to_hex(&f.bytes), "decoded": f.decoded,
            })).collect::<Vec<_>>(),
            "saved": saved.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "apdus": r.apdus.iter().map(|x| json!({"command": to_hex(&x.command), "response": to_hex(&x.response)})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    if a.trace {
        println!("APDUs (after access control every command and response is protected):");
        for x in &r.apdus {
            println!("  > {}", to_hex(&x.command));
            println!("  < {}", to_hex(&x.response));
        }
        println!();
    }
    if let Some(x) = &r.access {
        match &x.reason {
            None => println!(
                "{}: authenticated with the {}, {} secure messaging",
                x.protocol, x.password, x.cipher
            ),
            Some(why) => println!(
                "{}: authenticated with the {}, {} secure messaging (BAC used: {why})",
                x.protocol, x.password, x.cipher
            ),
        }
    }
    println!("chip authentication: {}", r.chip_auth.line());
    println!("active authentication: {}", r.active_auth.line());
    for (name, c) in &r.hashes {
        println!("passive authentication, {name} hash: {}", c.line());
    }
    println!(
        "passive authentication, EF.SOD signature: {}",
        r.sod_signature.line()
    );
    for f in &r.files {
        println!("EF.{} ({} bytes)", f.name, f.bytes.len());
        for line in &f.lines {
            for l in line.lines() {
                println!("  {l}");
            }
        }
    }
    for p in saved {
        println!("saved {}", p.display());
    }
}

/// The total length (header and value) of the BER-TLV starting `bytes` (one or two tag bytes,
/// short or long length up to 3 bytes).
fn tlv_total_len(bytes: &[u8]) -> Option<usize> {
    let tag_len = if bytes.first()? & 0x1F == 0x1F { 2 } else { 1 };
    let first = *bytes.get(tag_len)?;
    if first < 0x80 {
        return Some(tag_len + 1 + usize::from(first));
    }
    let n = usize::from(first & 0x7F);
    if n == 0 || n > 3 {
        return None;
    }
    let len = bytes
        .get(tag_len + 1..tag_len + 1 + n)?
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some(tag_len + 1 + n + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_lengths() {
        assert_eq!(tlv_total_len(&[0x60, 0x13, 0, 0]), Some(0x15));
        assert_eq!(tlv_total_len(&[0x61, 0x5B]), Some(0x5D));
        assert_eq!(tlv_total_len(&[0x75, 0x82, 0x01, 0x00]), Some(4 + 256));
        assert_eq!(tlv_total_len(&[0x5F, 0x1F, 0x81, 0x80]), Some(3 + 1 + 128));
        assert_eq!(tlv_total_len(&[0x60]), None);
        assert_eq!(tlv_total_len(&[0x60, 0x85, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn the_help_names_the_default_cards_can() {
        let can = cardwire_vcard::personalise::can(&Seed::DEFAULT);
        assert_eq!(can, "721853");
    }

    #[test]
    fn faces_are_found_at_any_depth() {
        let jpeg = cardwire_vcard::mrz::flat_jpeg(8, 8, b"");
        let dg2 = cardwire_vcard::mrz::dg2(&jpeg, 8, 8);
        assert_eq!(face_image(&dg2), Some(("jpg", &jpeg[..])));
        // A JPEG 2000 file inside the newer, constructed 7F2E block (ISO/IEC 39794-5).
        let mut jp2 = vec![0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A];
        jp2.extend_from_slice(&[0x87, 0x0A, 1, 2, 3]);
        let mut block = vec![0x7F, 0x2E, (jp2.len() + 2) as u8, 0x81, jp2.len() as u8];
        block.extend_from_slice(&jp2);
        let mut dg = vec![0x75, block.len() as u8];
        dg.extend_from_slice(&block);
        assert_eq!(face_image(&dg), Some(("jp2", &jp2[..])));
        assert_eq!(face_image(&[0x75, 0x00]), None);
    }

    #[test]
    fn data_group_names() {
        assert_eq!(data_group_name(0x61), "DG1");
        assert_eq!(data_group_name(0x75), "DG2");
        assert_eq!(data_group_name(0x6E), "DG14");
        assert_eq!(file_id("dg1"), Some(("DG1", 0x0101)));
        assert_eq!(file_id("EF.SOD"), Some(("SOD", 0x011D)));
        assert_eq!(group_number("DG14"), Some(14));
        assert_eq!(group_number("SOD"), None);
        assert_eq!(file_id("DG99"), None);
    }
}
