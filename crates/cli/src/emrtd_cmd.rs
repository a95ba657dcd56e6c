//! `cardwire emrtd read`: read an ICAO eMRTD (passport or identity card chip, ICAO Doc 9303
//! Parts 10 and 11) from the built-in virtual card's eMRTD applet, or from the card in the
//! PC/SC reader `--reader` names.
//!
//! Access control: PACE (§4.4) with the CAN or the MRZ when EF.CardAccess offers it, BAC
//! (§4.3) otherwise (or with `--bac`); the report says which was used. Every mapping the
//! protocol engine runs is chosen from EF.CardAccess, the Chip Authentication Mapping first:
//! after PACE-CAM, EF.CardSecurity is read under secure messaging from the master file, its
//! signature checked (and with `--trust` its signer's CSCA chain), and the chip's proof checked
//! against the static key whose keyId is the `PACEInfo`'s parameterId (§4.4.3.5.2, §9.2.1);
//! Chip Authentication with DG14 is then skipped. Otherwise Chip Authentication (§6.2) when
//! DG14 is read. Active Authentication (§6.1) when DG15 is read, and Passive Authentication
//! (§5.1): every data group read is compared with EF.SOD. DG2's face image is saved with
//! `--out DIR`.

use std::cell::RefCell;
use std::fmt;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_sm::active_auth::{ECDSA_WITH_SHA256, internal_authenticate_command, verify_ecdsa};
use cardwire_sm::bac::{BacKeys, MrzInfo};
use cardwire_sm::channel::{establish_bac, secure_card};
use cardwire_sm::chip_auth::ChipPublicKey;
use cardwire_sm::chip_auth::{ChipAuthHost, EcPublicKey};
use cardwire_sm::pace::{CamProof, DhGroup, PaceCurve, PacePassword, PaceSession};
use cardwire_sm::pace_driver::{PaceOutcome, choose_pace_any, establish_pace_any};
use cardwire_sm::pace_group::PaceDomain;
use cardwire_sm::passive::{CardSecurity, TrustList};
use cardwire_sm::security_infos::{PaceMapping, SecurityInfo, SecurityInfos};
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
`--virtual-no-bac` makes it refuse BAC as newer documents do; it offers PACE-CAM (with
EF.CardSecurity) besides PACE-GM, and `--virtual-no-cam` makes it offer PACE-GM only.

PACE runs with any mapping EF.CardAccess offers (Chip Authentication Mapping first, then
Generic, then Integrated; ECDH or DH). After PACE-CAM, EF.CardSecurity is read and its
signature checked (with --trust, also its signer's CSCA), and the chip's PACE-CAM proof is
checked against the chip key it holds; Chip Authentication with DG14 is then skipped.

Checks reported: access control (PACE with CAN or MRZ, or BAC), PACE-CAM, chip
authentication (DG14), active authentication (DG15), each data group's hash against EF.SOD
and EF.SOD's signature (with --trust, its document signer under a CSCA of the trust list).")]
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
    /// Make the built-in virtual card offer PACE-GM only, no PACE-CAM, as documents issued
    /// before CAM do (kept in --state).
    #[arg(long = "virtual-no-cam", conflicts_with = "reader")]
    pub virtual_no_cam: bool,
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
    /// PACE's mapping (`GM`, `IM`, `CAM`) and domain parameters (`brainpoolP256r1`, ...).
    mapping: Option<(&'static str, &'static str)>,
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
    /// The chip authenticated by PACE-CAM (ICAO 9303-11 §4.4.3.5.2).
    pace_cam: Check,
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
        note("PACE-CAM chip authentication".into(), &self.pace_cam);
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
    trust: Option<Trust<'a>>,
    rng: &'a mut OsRandom,
    policy: StatusPolicy,
    progress: bool,
}

/// `--trust` as given, loaded once for every check that needs it (EF.SOD's and
/// EF.CardSecurity's signer); a load failure is reported by each of those checks.
struct Trust<'a> {
    path: &'a Path,
    loaded: Result<(TrustList, Vec<String>), String>,
}

impl<'a> Trust<'a> {
    fn load(path: &'a Path) -> Self {
        Self {
            path,
            loaded: crate::emrtd_trust::load_trust(path).map_err(|e| e.to_string()),
        }
    }
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
        pace_cam: Check::NotDone("PACE-CAM not run".into()),
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
    let pace = infos.as_ref().and_then(choose_pace_any);
    let result = match pace {
        Some((info, domain)) => {
            let (password, name) = match (&job.passwords.can, &job.passwords.mrz) {
                (Some(can), _) => (PacePassword::Can(can.as_bytes()), "CAN"),
                (None, Some(mrz)) => (PacePassword::Mrz(mrz), "MRZ"),
                (None, None) => return Err(EmrtdError::Card("no password given".into())),
            };
            let PaceOutcome { session, cam } =
                establish_pace_any(&mut card, info.protocol(), domain, &password, &mut *job.rng)
                    .map_err(|e| randomness_or(e, |e| pace_error(e, name)))?;
            let cipher = info.cipher().map_or("AES", cipher_name);
            report.access = Some(AccessUsed {
                protocol: "PACE",
                password: name,
                cipher,
                mapping: Some((mapping_name(info.mapping()), domain_name(domain))),
                reason: None,
            });
            // ICAO 9303-11 §9.2.1: for CAM, the parameterId is also the keyId of the chip's
            // static key in EF.CardSecurity.
            let cam = cam.map(|proof| CamRun {
                proof,
                key_id: info.parameter_id().map(|id| id.0),
            });
            let after = Pace { cam };
            match session {
                PaceSession::Aes(s) => after_access(card, s, Some(after), job, &mut report),
                PaceSession::Tdes(s) => after_access(card, s, Some(after), job, &mut report),
            }
        }
        None => {
            let reason = if job.force_bac {
                "--bac".to_string()
            } else if card_access.is_none() {
                "the card has no EF.CardAccess: no PACE".to_string()
            } else {
                "EF.CardAccess offers no PACE this reader can run (GM, IM or CAM on standardized domain parameters)".to_string()
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
                mapping: None,
                reason: Some(reason),
            });
            after_access(card, session, None, job, &mut report)
        }
    };
    report.apdus = log.borrow().clone();
    result.map(|()| report)
}

/// After PACE: the chip authentication data of a PACE-CAM run, if it was one.
struct Pace {
    cam: Option<CamRun>,
}

/// A PACE-CAM run's proof and the keyId of the chip key it must match.
struct CamRun {
    proof: CamProof,
    key_id: Option<u32>,
}

/// The short name of a PACE mapping.
fn mapping_name(mapping: Option<PaceMapping>) -> &'static str {
    match mapping {
        Some(PaceMapping::EcdhGeneric | PaceMapping::DhGeneric) => "GM",
        Some(PaceMapping::EcdhIntegrated | PaceMapping::DhIntegrated) => "IM",
        Some(PaceMapping::EcdhChipAuthentication) => "CAM",
        None => "?",
    }
}

/// The name of PACE's domain parameters.
fn domain_name(domain: PaceDomain) -> &'static str {
    match domain {
        PaceDomain::Ec(PaceCurve::NistP256) => "P-256",
        PaceDomain::Ec(PaceCurve::BrainpoolP256r1) => "brainpoolP256r1",
        PaceDomain::Ec(PaceCurve::NistP384) => "P-384",
        PaceDomain::Ec(PaceCurve::BrainpoolP384r1) => "brainpoolP384r1",
        PaceDomain::Ec(PaceCurve::NistP521) => "P-521",
        PaceDomain::Dh(DhGroup::Modp1024_160) => "1024-bit MODP group (RFC 5114)",
        PaceDomain::Dh(DhGroup::Modp2048_224) => "2048/224-bit MODP group (RFC 5114)",
        PaceDomain::Dh(DhGroup::Modp2048_256) => "2048/256-bit MODP group (RFC 5114)",
    }
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

/// Under the session access control opened: (after PACE-CAM) EF.CardSecurity and the CAM
/// check, (after PACE) the eMRTD application, DG14 and Chip Authentication first when DG14
/// is wanted (not after a successful CAM), then the other files.
fn after_access<T: Transport, C: CipherSuite>(
    card: Card<T>,
    mut session: SmSession<C>,
    pace: Option<Pace>,
    job: &mut Job<'_>,
    report: &mut Report,
) -> Result<(), EmrtdError> {
    session.set_status_policy(job.policy);
    let mut card = secure_card(card, session);
    if let Some(pace) = pace {
        if let Some(cam) = pace.cam {
            // EF.CardSecurity is in the master file (next to EF.CardAccess): read it before
            // selecting the eMRTD application (ICAO 9303-10 §3.11.4).
            report.pace_cam = match read_file(
                &mut card,
                CARD_SECURITY.0,
                CARD_SECURITY.1,
                job.progress,
                report,
            ) {
                Ok(file) => {
                    let check = cam_check(&file.bytes, &cam, job.trust.as_ref());
                    report.files.push(file);
                    check
                }
                Err(e) => Check::Failed(format!("EF.CardSecurity could not be read: {e}")),
            };
        }
        select_emrtd(&mut card)?;
        count_unauthenticated(&card, report);
    }
    let cam_passed = matches!(report.pace_cam, Check::Passed(_));
    if cam_passed {
        report.chip_auth = Check::NotDone(
            "skipped: the chip was authenticated by PACE-CAM (Chip Authentication with DG14 is not needed)"
                .into(),
        );
    }
    let dg14 = job.files.iter().find(|(n, _)| *n == "DG14");
    let Some(&(name, fid)) = dg14.filter(|_| !cam_passed) else {
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

/// EF.CardSecurity: its name in the report and its FID in the master file (ICAO 9303-10
/// §3.11.4; BSI TR-03110-3 §A.1.2.2).
const CARD_SECURITY: (&str, u16) = ("CardSecurity", 0x011D);

/// The PACE-CAM check (ICAO 9303-11 §4.4.3.5.2): EF.CardSecurity parses, its document
/// signer's signature verifies (with `--trust`, the signer is vouched for by a CSCA of the
/// trust list, now), and the chip's proof holds for the static key whose keyId is the
/// `PACEInfo`'s parameterId (the only key, when none carries that keyId).
fn cam_check(card_security: &[u8], cam: &CamRun, trust: Option<&Trust<'_>>) -> Check {
    let cs = match CardSecurity::parse(card_security) {
        Ok(cs) => cs,
        Err(e) => return Check::Failed(format!("EF.CardSecurity is not readable: {e}")),
    };
    let ds = cs.document_signer().map_or_else(
        |_| "the document signer".to_string(),
        |c| c.tbs_certificate().subject().to_string(),
    );
    if let Err(e) = cs.verify_signature() {
        return Check::Failed(format!(
            "EF.CardSecurity's signature by {ds} does not verify: {e}"
        ));
    }
    let chain = match trust {
        None => "the CSCA chain was not checked (give --trust)".to_string(),
        Some(trust) => match card_security_chain(&cs, trust) {
            Ok(csca) => format!("under the CSCA {csca}"),
            Err(why) => return Check::Failed(why),
        },
    };
    let infos = cs.security_infos();
    let keys: Vec<_> = infos.chip_authentication_public_keys().collect();
    let key = keys
        .iter()
        .find(|k| cam.key_id.is_some() && k.key_id() == cam.key_id)
        .or(match keys.as_slice() {
            [only] => Some(only),
            _ => None,
        });
    let Some(key) = key else {
        return Check::Failed(format!(
            "EF.CardSecurity holds no chip key with keyId {}",
            cam.key_id
                .map_or_else(|| "(none named)".to_string(), |id| id.to_string())
        ));
    };
    let id = key.key_id().map_or_else(String::new, |id| format!(" {id}"));
    let chip_key = match ChipPublicKey::from_spki(key.subject_public_key_info()) {
        Ok(k) => k,
        Err(e) => {
            return Check::Failed(format!("EF.CardSecurity's chip key{id} is not usable: {e}"));
        }
    };
    match cam.proof.verify_key(&chip_key) {
        Ok(()) => Check::Passed(format!(
            "chip authenticated by PACE-CAM: it proved it holds chip key{id} of EF.CardSecurity, signed by {ds}; {chain}"
        )),
        Err(e) => Check::Failed(format!(
            "the chip's PACE-CAM proof does not match chip key{id} of EF.CardSecurity ({e}): the chip may be a clone"
        )),
    }
}

/// EF.CardSecurity's document signer under a CSCA of `--trust` (now); the CSCA's name.
fn card_security_chain(cs: &CardSecurity, trust: &Trust<'_>) -> Result<String, String> {
    let (list, _notes) = trust.loaded.as_ref().map_err(Clone::clone)?;
    let ds = cs
        .document_signer()
        .map_err(|e| format!("EF.CardSecurity: {e}"))?;
    list.verify_document_signer(ds, crate::emrtd_trust::now())
        .map(|csca| csca.tbs_certificate().subject().to_string())
        .map_err(|e| {
            format!(
                "EF.CardSecurity is signed by {}, but no CSCA in {} vouches for it: {e}",
                ds.tbs_certificate().subject(),
                trust.path.display()
            )
        })
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
    passive_authentication(job.trust.as_ref(), report);
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
fn sod_signature_check(
    sod: &[u8],
    data_groups: &[(u8, &[u8])],
    trust: Option<&Trust<'_>>,
) -> Check {
    let empty = (TrustList::new(), Vec::new());
    let (list, notes) = match trust.map(|t| &t.loaded) {
        Some(Ok(loaded)) => loaded,
        Some(Err(e)) => return Check::Failed(e.clone()),
        None => &empty,
    };
    let report = match crate::emrtd_trust::passive_report(sod, data_groups, list) {
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
    match (
        &report.sod_signature,
        &report.document_signer,
        trust.map(|t| t.path),
    ) {
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
fn passive_authentication(trust: Option<&Trust<'_>>, report: &mut Report) {
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
        trust: a.trust.as_deref().map(Trust::load),
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
    if a.virtual_no_cam {
        card.set_pace_cam(false).map_err(|sw| {
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
                   "mapping": x.mapping.map(|m| m.0), "domain_parameters": x.mapping.map(|m| m.1),
                   "fallback_reason": x.reason})
        });
        let v = json!({
            "access_control": access,
            "checks": {
                "pace_cam": r.pace_cam.json(),
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
        match (&x.reason, x.mapping) {
            (None, Some((mapping, domain))) => println!(
                "{}: authenticated with the {}, {} secure messaging ({}-{mapping}, {domain})",
                x.protocol, x.password, x.cipher, x.protocol
            ),
            (None, None) => println!(
                "{}: authenticated with the {}, {} secure messaging",
                x.protocol, x.password, x.cipher
            ),
            (Some(why), _) => println!(
                "{}: authenticated with the {}, {} secure messaging (BAC used: {why})",
                x.protocol, x.password, x.cipher
            ),
        }
    }
    if !matches!(r.pace_cam, Check::NotDone(_)) {
        println!("PACE-CAM: {}", r.pace_cam.line());
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

    /// A German identity card's PACE-CAM run as recorded in the public Go project gmrtd
    /// (`pace/pace_test.go`, `TestDoPace_CAM_ECDH_DE`; the same transcript as
    /// cardwire-sm's `tests/real_chip_pace_cam.rs`): the terminal's keys and the chip's answers.
    mod german_card {
        pub const SK_MAP_IFD: &str =
            "01fd26013f5bc41fad8bb09811e435f16fbe2eb3c2e1d999b0f63da8c3d58bb5";
        pub const SK_IFD: &str = "1fcd3d8ac4fae3960a14fea2925d75add335f13b248eba192358dded93a89552";
        /// id-PACE-ECDH-CAM-AES-CBC-CMAC-128, parameter ID 13 (brainpoolP256r1).
        pub const CAM_OID: &str = "04007F00070202040602";
        pub const NONCE: &str = "7c1280109bff93e6ed9f5f9764ec0d783d14fb039000";
        pub const MAP: &str = "7c4382410476dc295c4fb14237d87318d70967e25ec45f74d6fd4aff588c90efb3d868f05b\
             450ba6b64967227c2246dbe2905522c8086dac7f3bbe5cf3b192f0a0c2d97ee59000";
        pub const KEY_AGREEMENT: &str = "7c438441042315ae8143f21de15b35f083cfa148c5fcbd9f2eb9dcdc4519bcf337443e79e5\
             5b28a5e218fb919c30880d263e469645ff114c46ed29918910be3453527d21649000";
        pub const TOKENS: &str = "7c3c860819a2b9192e11512a8a30b3ae8830311b1d5605777f47cb4ed028346cd00105d32859de\
             127da3d8398865358f26f08ebe410864eaf6e39f33f3f59000";
        /// Its EF.CardSecurity, as read after that run (cardwire-sm's passive testdata).
        pub const CARD_SECURITY: &[u8] =
            include_bytes!("../../sm/src/passive/testdata/de-eid-card-security.der");
    }

    fn unhex(s: &str) -> Vec<u8> {
        crate::input::parse_hex(s).unwrap()
    }

    /// The CAM proof of the recorded run.
    fn german_proof() -> CamProof {
        use cardwire_sm::pace::PaceHost;
        use german_card::*;
        let mrz = MrzInfo::new("C4KHNY1PF", "780214", "330315").unwrap();
        let mut host = PaceHost::new(
            &unhex(CAM_OID),
            PaceCurve::BrainpoolP256r1,
            &PacePassword::Mrz(&mrz),
            unhex(SK_MAP_IFD).try_into().unwrap(),
            unhex(SK_IFD).try_into().unwrap(),
        )
        .unwrap();
        let mut out = [0u8; 128];
        host.mse_set_at_command(&mut out).unwrap();
        host.check_mse_set_at(&[0x90, 0x00]).unwrap();
        host.process_nonce(&unhex(NONCE)).unwrap();
        host.map_command(&mut out).unwrap();
        host.process_map(&unhex(MAP)).unwrap();
        host.key_agreement_command(&mut out).unwrap();
        host.process_key_agreement(&unhex(KEY_AGREEMENT)).unwrap();
        host.mutual_authentication_command(&mut out).unwrap();
        host.finish_cam(&unhex(TOKENS)).unwrap().1
    }

    fn cam(key_id: Option<u32>) -> CamRun {
        CamRun {
            proof: german_proof(),
            key_id,
        }
    }

    #[test]
    fn pace_cam_check_passes_for_the_key_the_pace_info_names() {
        let check = cam_check(german_card::CARD_SECURITY, &cam(Some(13)), None);
        let Check::Passed(detail) = &check else {
            panic!("{check:?}")
        };
        assert!(
            detail.starts_with("chip authenticated by PACE-CAM"),
            "{detail}"
        );
        assert!(detail.contains("chip key 13"), "{detail}");
        assert!(detail.contains("Document Signer"), "{detail}");
        assert!(detail.contains("not checked (give --trust)"), "{detail}");
    }

    #[test]
    fn pace_cam_check_fails_for_another_key_a_missing_key_or_a_tampered_file() {
        // Key 72 is the card's Chip Authentication v1 key, not its CAM key.
        let check = cam_check(german_card::CARD_SECURITY, &cam(Some(72)), None);
        assert!(
            matches!(&check, Check::Failed(d) if d.contains("does not match chip key 72")),
            "{check:?}"
        );
        let check = cam_check(german_card::CARD_SECURITY, &cam(Some(5)), None);
        assert!(
            matches!(&check, Check::Failed(d) if d.contains("no chip key with keyId 5")),
            "{check:?}"
        );
        // Two keys and no keyId named: no guess.
        assert!(matches!(
            cam_check(german_card::CARD_SECURITY, &cam(None), None),
            Check::Failed(_)
        ));
        // A bit of the signed chip key flipped: the signature no longer covers the file.
        let cs = CardSecurity::parse(german_card::CARD_SECURITY).unwrap();
        let spki = cs
            .security_infos()
            .chip_authentication_public_keys()
            .find(|k| k.key_id() == Some(13))
            .unwrap()
            .subject_public_key_info()
            .to_vec();
        let at = german_card::CARD_SECURITY
            .windows(spki.len())
            .position(|w| w == &spki[..])
            .unwrap();
        let mut bad = german_card::CARD_SECURITY.to_vec();
        bad[at + spki.len() - 1] ^= 0x01;
        let check = cam_check(&bad, &cam(Some(13)), None);
        assert!(
            matches!(&check, Check::Failed(d) if d.contains("signature")),
            "{check:?}"
        );
        // Not EF.CardSecurity at all.
        assert!(matches!(
            cam_check(&[0x30, 0x03, 0x02, 0x01, 0x00], &cam(Some(13)), None),
            Check::Failed(d) if d.contains("not readable")
        ));
    }

    #[test]
    fn pace_cam_check_with_a_trust_list_that_does_not_vouch_for_the_signer() {
        let dir = std::env::temp_dir().join(format!("cardwire-emrtd-cam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("csca.der");
        crate::emrtd_trust::export_csca(&Seed::DEFAULT, &path).unwrap();
        let check = cam_check(
            german_card::CARD_SECURITY,
            &cam(Some(13)),
            Some(&Trust::load(&path)),
        );
        assert!(
            matches!(&check, Check::Failed(d) if d.contains("no CSCA in")),
            "{check:?}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn mapping_and_domain_names() {
        assert_eq!(
            mapping_name(Some(PaceMapping::EcdhChipAuthentication)),
            "CAM"
        );
        assert_eq!(mapping_name(Some(PaceMapping::DhIntegrated)), "IM");
        assert_eq!(mapping_name(Some(PaceMapping::DhGeneric)), "GM");
        assert_eq!(
            domain_name(PaceDomain::Ec(PaceCurve::BrainpoolP256r1)),
            "brainpoolP256r1"
        );
    }
}
