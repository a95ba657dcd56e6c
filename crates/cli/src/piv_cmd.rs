//! `cardwire piv ...`: a PIV card (NIST SP 800-73-4) through `cardwire-piv` — a real one in a
//! PC/SC reader (`--reader`) or the built-in virtual card (optionally kept in `--state`).
//!
//! `status` is `piv_cmd_status.rs`; the operations (`verify`, `change-pin`, `unblock`, `sign`,
//! `generate`, `import-cert`, `read-object`) are `piv_cmd_ops.rs`. Secrets (PIN, PUK,
//! management key) are read in one place, [`secret`].

use std::path::PathBuf;

use cardwire_piv::{AlgorithmId, ManagementKey, ObjectId, Piv, Slot};
use cardwire_transport::{Card, CardHandler, InProcess, Session, Transport};
use zeroize::Zeroizing;

use crate::failure::Failure;

/// Arguments of `cardwire piv`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  cardwire piv status                              the built-in virtual PIV card
  cardwire piv --reader 'Yubico YubiKey' status --json
  cardwire piv --state card.state verify           asks for the PIN without echo
  cardwire piv --reader 'cardwire CCID 00 00' verify --pinpad   the PIN typed on the reader
  cardwire piv --state card.state sign --slot 9c --input doc.pdf --out doc.sig
  CARDWIRE_MANAGEMENT_KEY=0102...08 cardwire piv --state card.state generate --slot 9a --algorithm rsa2048

Secrets come from --pin-file FILE (and --puk-file, --new-pin-file, --management-key-file),
standard input (--pin-stdin: one line per secret asked, in the order asked), the environment
(CARDWIRE_PIN, CARDWIRE_PUK, CARDWIRE_NEW_PIN, CARDWIRE_MANAGEMENT_KEY) or the terminal, in
that order; never from the command line. The virtual card's defaults: PIN 123456, PUK 12345678, management key
010203040506070801020304050607080102030405060708 (3DES).")]
pub struct Args {
    /// A PC/SC reader (needs the `pcsc` feature); without it the built-in virtual card.
    #[arg(long, value_name = "NAME", global = true)]
    pub reader: Option<String>,
    /// Keep the virtual card's state in FILE (created when missing).
    #[arg(long, value_name = "FILE", conflicts_with = "reader", global = true)]
    pub state: Option<PathBuf>,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read the PIN from FILE (first line).
    #[arg(long = "pin-file", value_name = "FILE", global = true)]
    pub pin_file: Option<PathBuf>,
    /// Read the PUK from FILE.
    #[arg(long = "puk-file", value_name = "FILE", global = true)]
    pub puk_file: Option<PathBuf>,
    /// Read the new PIN (or PUK) from FILE.
    #[arg(long = "new-pin-file", value_name = "FILE", global = true)]
    pub new_pin_file: Option<PathBuf>,
    /// Read the management key (hex) from FILE.
    #[arg(long = "management-key-file", value_name = "FILE", global = true)]
    pub management_key_file: Option<PathBuf>,
    /// Read secrets from standard input, one line each.
    #[arg(long = "pin-stdin", global = true)]
    pub pin_stdin: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: PivCommand,
}

/// The `cardwire piv` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PivCommand {
    /// Application, CHUID, each slot's certificate, PIN and PUK retries.
    Status,
    /// VERIFY the PIN (or with --puk the PUK).
    Verify {
        /// Verify the PUK instead of the PIN.
        #[arg(long)]
        puk: bool,
        /// Secure PIN entry: the PIN is typed on the reader's PIN pad and never reaches this
        /// computer (PC/SC Part 10 FEATURE_VERIFY_PIN_DIRECT). Needs --reader; a reader
        /// without a PIN pad falls back to asking for the PIN here.
        #[arg(long)]
        pinpad: bool,
    },
    /// CHANGE REFERENCE DATA of the PIN (or with --puk the PUK).
    ChangePin {
        /// Change the PUK instead of the PIN.
        #[arg(long)]
        puk: bool,
    },
    /// RESET RETRY COUNTER: unblock the PIN with the PUK, setting a new PIN.
    Unblock,
    /// Sign with a slot's key (PIN first; 9E needs none): SHA-256, then RSA PKCS#1 v1.5 or ECDSA.
    Sign {
        /// The slot: 9a, 9c, 9d or 9e.
        #[arg(long, value_parser = parse_slot)]
        slot: Slot,
        /// The data to sign (a file).
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Write the signature (DER for ECDSA) to FILE instead of printing hex.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// GENERATE ASYMMETRIC KEY PAIR in a slot (needs the management key).
    Generate {
        /// The slot: 9a, 9c, 9d or 9e.
        #[arg(long, value_parser = parse_slot)]
        slot: Slot,
        /// rsa2048 or p256.
        #[arg(long, value_parser = parse_algorithm)]
        algorithm: AlgorithmId,
        /// Write the public key (DER SubjectPublicKeyInfo) to FILE.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// PUT DATA of a certificate (DER or PEM) into a slot's container (needs the management key).
    ImportCert {
        /// The slot: 9a, 9c, 9d or 9e.
        #[arg(long, value_parser = parse_slot)]
        slot: Slot,
        /// The certificate file.
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
    },
    /// GET DATA of an object: chuid, ccc, discovery, key-history, printed, security-object,
    /// cert-9a/9c/9d/9e, or a hex tag such as 5FC105.
    ReadObject {
        /// The object.
        #[arg(value_parser = parse_object)]
        object: ObjectId,
        /// Write the content to FILE instead of printing hex.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn parse_slot(text: &str) -> Result<Slot, String> {
    match text.to_ascii_lowercase().trim_start_matches("0x") {
        "9a" => Ok(Slot::AUTHENTICATION),
        "9c" => Ok(Slot::SIGNATURE),
        "9d" => Ok(Slot::KEY_MANAGEMENT),
        "9e" => Ok(Slot::CARD_AUTHENTICATION),
        other => Err(format!("{other:?} is not a key slot: use 9a, 9c, 9d or 9e")),
    }
}

fn parse_algorithm(text: &str) -> Result<AlgorithmId, String> {
    match text.to_ascii_lowercase().as_str() {
        "rsa2048" | "rsa-2048" | "07" => Ok(AlgorithmId::RSA_2048),
        "p256" | "p-256" | "eccp256" | "11" => Ok(AlgorithmId::ECC_P256),
        other => Err(format!("{other:?}: use rsa2048 or p256")),
    }
}

fn parse_object(text: &str) -> Result<ObjectId, String> {
    let named = match text.to_ascii_lowercase().as_str() {
        "chuid" => Some(ObjectId::CHUID),
        "ccc" => Some(ObjectId::CARD_CAPABILITY_CONTAINER),
        "discovery" => Some(ObjectId::DISCOVERY),
        "key-history" => Some(ObjectId::KEY_HISTORY),
        "printed" => Some(ObjectId::PRINTED_INFORMATION),
        "security-object" => Some(ObjectId::SECURITY_OBJECT),
        "cert-9a" => Some(ObjectId::X509_PIV_AUTHENTICATION),
        "cert-9c" => Some(ObjectId::X509_DIGITAL_SIGNATURE),
        "cert-9d" => Some(ObjectId::X509_KEY_MANAGEMENT),
        "cert-9e" => Some(ObjectId::X509_CARD_AUTHENTICATION),
        _ => None,
    };
    if let Some(o) = named {
        return Ok(o);
    }
    match u32::from_str_radix(text, 16) {
        Ok(v) if (1..=0xFF_FFFF).contains(&v) => Ok(ObjectId(v)),
        _ => Err(format!("{text:?} is not an object name or hex tag")),
    }
}

/// Which secret to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecretKind {
    Pin,
    Puk,
    NewPin,
    ManagementKey,
}

impl SecretKind {
    fn label(self) -> &'static str {
        match self {
            SecretKind::Pin => "PIN",
            SecretKind::Puk => "PUK",
            SecretKind::NewPin => "new PIN",
            SecretKind::ManagementKey => "management key (hex)",
        }
    }
    fn env(self) -> &'static str {
        match self {
            SecretKind::Pin => "CARDWIRE_PIN",
            SecretKind::Puk => "CARDWIRE_PUK",
            SecretKind::NewPin => "CARDWIRE_NEW_PIN",
            SecretKind::ManagementKey => "CARDWIRE_MANAGEMENT_KEY",
        }
    }
}

/// Reads a secret through the CLI's secret policy (`crate::secret_input::read`): its file
/// option, standard input (`--pin-stdin`), its environment variable, then the terminal
/// without echo. The only place `cardwire piv` reads secrets.
pub(crate) fn secret(args: &Args, kind: SecretKind) -> Result<Zeroizing<String>, Failure> {
    let file = match kind {
        SecretKind::Pin => &args.pin_file,
        SecretKind::Puk => &args.puk_file,
        SecretKind::NewPin => &args.new_pin_file,
        SecretKind::ManagementKey => &args.management_key_file,
    };
    crate::secret_input::read(&crate::secret_input::SecretArgs {
        what: kind.label(),
        argument: None,
        file: file.as_deref(),
        stdin: args.pin_stdin,
        env: kind.env(),
        default: None,
        real_card: args.reader.is_some(),
    })
}

/// A PIN or PUK secret as `cardwire_pin::Pin`.
pub(crate) fn pin(args: &Args, kind: SecretKind) -> Result<cardwire_pin::Pin, Failure> {
    let text = secret(args, kind)?;
    cardwire_pin::Pin::new(text.as_bytes())
        .map_err(|e| Failure::Usage(format!("the {}: {e}", kind.label())))
}

/// The management key (3DES, 24 bytes; AES-128/256 by length 16/32).
pub(crate) fn management_key(args: &Args) -> Result<ManagementKey, Failure> {
    let text = secret(args, SecretKind::ManagementKey)?;
    let bytes = crate::secret_input::secret_hex(&text, "the management key")?;
    let algorithm = match bytes.len() {
        16 => AlgorithmId::AES_128,
        32 => AlgorithmId::AES_256,
        _ => AlgorithmId::TDES_3KEY,
    };
    ManagementKey::new(algorithm, &bytes)
        .map_err(|e| Failure::Usage(format!("the management key: {e}")))
}

/// Turns a `cardwire-piv` error into a failure.
pub(crate) fn failed(e: cardwire_piv::Error) -> Failure {
    Failure::Failed(e.to_string())
}

/// Runs `cardwire piv`.
pub fn run(args: &Args) -> Result<(), Failure> {
    if matches!(args.command, PivCommand::Verify { pinpad: true, .. }) && args.reader.is_none() {
        return Err(Failure::Usage(
            "verify --pinpad: a PIN pad is a reader's; name it with --reader".to_string(),
        ));
    }
    match &args.reader {
        Some(name) => on_reader(name, args),
        None => {
            let seed = cardwire_vcard::Seed::DEFAULT;
            let mut card = match &args.state {
                Some(path) => cardwire_vcard::VirtualCard::open(path, &seed),
                None => cardwire_vcard::VirtualCard::new(&seed),
            }
            .map_err(|e| Failure::Failed(e.to_string()))?;
            card.power_on();
            run_on(InProcess::new(card), args)
        }
    }
}

#[cfg(feature = "pcsc")]
fn on_reader(name: &str, args: &Args) -> Result<(), Failure> {
    let mut card = crate::card_source::open_reader(name)?;
    if let PivCommand::Verify { puk, pinpad: true } = args.command {
        if let Some(code) = crate::pinpad_cmd::pin_pad(&card, name)? {
            return crate::piv_cmd_ops::verify_on_pad(&mut card, code, puk);
        }
        eprintln!("{name} offers no PIN pad (no FEATURE_VERIFY_PIN_DIRECT): the PIN is asked here");
    }
    run_on(card, args)
}

#[cfg(not(feature = "pcsc"))]
fn on_reader(name: &str, _: &Args) -> Result<(), Failure> {
    match crate::card_source::open_reader(name)? {}
}

fn run_on<T>(transport: T, args: &Args) -> Result<(), Failure>
where
    T: Transport,
    T::Error: std::fmt::Display,
{
    let card = Card::open(transport)
        .map_err(|e| Failure::Failed(format!("cannot open a session with the card: {e}")))?;
    let mut piv = Piv::new(card);
    let mut buf = vec![0u8; 512];
    piv.select(&mut buf)
        .map_err(|e| Failure::Failed(format!("SELECT PIV: {e}")))?;
    dispatch(&mut piv, args)
}

fn dispatch<S: Session>(piv: &mut Piv<S>, args: &Args) -> Result<(), Failure> {
    use crate::piv_cmd_ops as ops;
    match &args.command {
        PivCommand::Status => crate::piv_cmd_status::status(piv, args.json),
        PivCommand::Verify { puk, .. } => ops::verify(piv, args, *puk),
        PivCommand::ChangePin { puk } => ops::change(piv, args, *puk),
        PivCommand::Unblock => ops::unblock(piv, args),
        PivCommand::Sign { slot, input, out } => ops::sign(piv, args, *slot, input, out.as_deref()),
        PivCommand::Generate {
            slot,
            algorithm,
            out,
        } => ops::generate(piv, args, *slot, *algorithm, out.as_deref()),
        PivCommand::ImportCert { slot, cert } => ops::import_cert(piv, args, *slot, cert),
        PivCommand::ReadObject { object, out } => {
            ops::read_object(piv, args, *object, out.as_deref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(parse_slot("9C"), Ok(Slot::SIGNATURE));
        assert!(parse_slot("9b").is_err());
        assert_eq!(parse_algorithm("p256"), Ok(AlgorithmId::ECC_P256));
        assert!(parse_algorithm("rsa1024").is_err());
        assert_eq!(parse_object("chuid"), Ok(ObjectId::CHUID));
        assert_eq!(
            parse_object("5FC105"),
            Ok(ObjectId::X509_PIV_AUTHENTICATION)
        );
        assert!(parse_object("zz").is_err());
        assert!(parse_object("1000000").is_err());
    }
}
