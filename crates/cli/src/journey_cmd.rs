//! `cardwire journey`: the life of a healthcare worker's smart card, stage by stage, against
//! the built-in virtual card (or a real card with `--reader`).
//!
//! Stage 0 issues the card (the Registration Authority: management key, GENERATE in 9A and
//! 9C, certificates from the virtual issuing CA and the CHUID with PUT DATA, PIN and PUK
//! set), then: 1 power on, 2 identify (SELECT PIV, CHUID, certificates), 3 unlock with the
//! PIN, 4 strong authentication (9A and 9C sign a host challenge), 5 a locked card, 6
//! self-service unlock (PUK), 7 administrator unlock (SCP03).
//!
//! Each stage sends real APDUs through the `cardwire-transport` `Card` session and checks what
//! the card answered; the report shows every APDU (`--trace`: every byte), a summary table,
//! or a JSON document (`--json`). Any stage whose answer is not what a correct card gives
//! fails the command (exit 1), with the card's status word explained.

mod piv_stages;
mod recorder;
mod report;
mod secrets;
mod stage;
mod stages;

use std::path::PathBuf;

use cardwire_pin::Pin;
use cardwire_transport::{CardHandler, InProcess};
use cardwire_vcard::personalise::{DEFAULT_PIN, DEFAULT_PUK};
use cardwire_vcard::{Seed, VirtualCard};

use crate::failure::Failure;
use secrets::{Secrets, journey_pin};
use stage::{Fatal, Stage};

/// Arguments of `cardwire journey`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  cardwire journey                       the whole journey against the built-in virtual card
  cardwire journey --trace               ... showing every byte of every APDU
  cardwire journey --json > report.json  a machine-readable report
  cardwire journey --state card.state    a virtual card that remembers its PIN counters
  cardwire journey --reader 'Yubico YubiKey' --allow-block   a real PIV card (feature `pcsc`)

Against a real card, stage 0 (issuance: it replaces the keys in 9A and 9C) runs only with
--management-key, and stages 5-7 (which block the PIN on purpose) only with --allow-block;
they need the card's PUK and SCP03 keys.")]
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
    /// The card management key (9B) as hex, to run stage 0 (issuance) against a real card:
    /// it replaces the keys in 9A and 9C and writes certificates (from the virtual issuing
    /// CA, for "PIV Test Cardholder") and a CHUID. The virtual card uses its documented test
    /// key.
    #[arg(long = "management-key", value_name = "HEX")]
    pub management_key: Option<String>,
    /// The management key's algorithm: 3des (default), aes128, aes192 or aes256.
    #[arg(
        long = "management-key-algorithm",
        value_name = "ALG",
        default_value = "3des"
    )]
    pub management_key_algorithm: String,
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

/// A journey that could not run to its end.
fn fatal(f: Fatal) -> Failure {
    match f {
        Fatal::Session(message) => Failure::Failed(message),
        Fatal::Randomness(e) => Failure::Randomness(e),
    }
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
) -> Result<Pin, Failure> {
    let text = match value {
        Some(v) => v.clone(),
        None if !real => default.to_string(),
        None => crate::secret_input::read_secret(prompt)?,
    };
    journey_pin(&text)
}

#[cfg(feature = "pcsc")]
fn run_on_reader<T: cardwire_transport::Transport>(
    t: T,
    secrets: &Secrets,
    plan: &stages::Plan,
) -> Result<Vec<Stage>, Failure> {
    stages::run_stages(t, secrets, plan).map_err(fatal)
}

#[cfg(not(feature = "pcsc"))]
fn run_on_reader(
    t: std::convert::Infallible,
    _: &Secrets,
    _: &stages::Plan,
) -> Result<Vec<Stage>, Failure> {
    match t {}
}

/// The card management key from `--management-key` and `--management-key-algorithm`.
fn management_key(args: &Args) -> Result<Option<cardwire_piv::ManagementKey>, Failure> {
    let Some(hex) = &args.management_key else {
        return Ok(None);
    };
    let algorithm = match args.management_key_algorithm.to_ascii_lowercase().as_str() {
        "3des" | "tdes" | "03" => cardwire_piv::AlgorithmId::TDES_3KEY,
        "aes128" | "08" => cardwire_piv::AlgorithmId::AES_128,
        "aes192" | "0a" => cardwire_piv::AlgorithmId::AES_192,
        "aes256" | "0c" => cardwire_piv::AlgorithmId::AES_256,
        other => {
            return Err(Failure::Usage(format!(
                "--management-key-algorithm {other:?}: use 3des, aes128, aes192 or aes256"
            )));
        }
    };
    let bytes = zeroize::Zeroizing::new(crate::input::parse_hex(hex)?);
    cardwire_piv::ManagementKey::new(algorithm, &bytes)
        .map(Some)
        .map_err(|e| Failure::Usage(format!("--management-key: {e}")))
}

/// Runs `cardwire journey`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let real = args.reader.is_some();
    let pin = secret_arg(&args.pin, DEFAULT_PIN, "PIN: ", real)?;
    let puk = secret_arg(&args.puk, DEFAULT_PUK, "PUK: ", real)?;
    let new_pin = secret_arg(
        &args.new_pin,
        "654321",
        "new PIN for the self-service unlock: ",
        real,
    )?;
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
        let plan = stages::Plan {
            destructive: args.allow_block,
            issuance: management_key(args)?.map(|management_key| piv_stages::Issuance {
                management_key,
                set_pins: false,
                worker: piv_stages::Worker {
                    name: "PIV Test Cardholder".to_string(),
                    user_id: cardwire_vcard::UserId(100_000_000_000),
                    serial: cardwire_vcard::CardSerial([0; 8]),
                },
            }),
            no_issuance: "it replaces the card's keys: pass --management-key to issue a real card",
        };
        let transport = crate::card_source::open_reader(reader)?;
        let stages = run_on_reader(transport, &secrets, &plan)?;
        (stages, format!("the card in {reader}"))
    } else {
        let seed = args.seed.as_deref().map_or(Seed::DEFAULT, Seed::from_text);
        // A card is issued once in its life: a state file that exists holds an issued card.
        let fresh = args.state.as_ref().is_none_or(|p| !p.exists());
        let mut card = match &args.state {
            Some(path) => {
                VirtualCard::open(path, &seed).map_err(|e| Failure::Failed(e.to_string()))?
            }
            None => VirtualCard::new(&seed).map_err(|e| Failure::Failed(e.to_string()))?,
        };
        card.power_on();
        let id = card.identity();
        let plan = stages::Plan {
            destructive: true,
            issuance: fresh.then_some(piv_stages::Issuance {
                management_key: match management_key(args)? {
                    Some(k) => k,
                    None => cardwire_piv::ManagementKey::DEFAULT_3DES,
                },
                set_pins: true,
                worker: piv_stages::Worker {
                    name: id.name.clone(),
                    user_id: id.user_id,
                    serial: id.serial,
                },
            }),
            no_issuance: "the card in the state file was issued in an earlier run",
        };
        let source = match &args.state {
            Some(p) => format!("the virtual card (state in {})", p.display()),
            None => "the built-in virtual card".to_string(),
        };
        let stages = stages::run_stages(InProcess::new(card), &secrets, &plan).map_err(fatal)?;
        (stages, source)
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report::render_json(&stages, &source))
                .unwrap_or_default()
        );
    } else {
        print!("{}", report::render_text(&stages, &source, args.trace));
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
    use secrets::{PIN, PUK};

    #[test]
    fn pin_blocks() {
        let block = PIN.format.encode(&journey_pin("1234").unwrap()).unwrap();
        assert_eq!(block.expose_secret(), b"1234\xFF\xFF\xFF\xFF");
        assert!(journey_pin("12a4").is_err());
        assert!(journey_pin("123456789").is_err());
        assert!(journey_pin("").is_err());
        let wrong = |p: &str| {
            stages::wrong_pin_for(&journey_pin(p).unwrap())
                .unwrap()
                .expose_secret()
                .to_vec()
        };
        assert_ne!(wrong("0000"), b"0000");
        assert_ne!(wrong("123456"), b"123456");
    }

    /// The secrets `cardwire journey` uses against the built-in virtual card.
    fn vcard_secrets() -> Secrets {
        let k = cardwire_vcard::state::Scp03Keys::test_keys();
        Secrets {
            pin: journey_pin(DEFAULT_PIN).unwrap(),
            puk: journey_pin(DEFAULT_PUK).unwrap(),
            new_pin: journey_pin("654321").unwrap(),
            scp03: [k.enc.to_vec(), k.mac.to_vec(), k.dek.to_vec()],
            kvn: 1,
        }
    }

    /// The virtual card seen through a reader that changes it: `short_only` announces no
    /// extended lengths and answers an extended APDU with 6700 (a short-only card);
    /// `per_read` serves at most that many bytes per READ BINARY, with 9000 (a card or reader
    /// that serves 0xDF bytes per APDU).
    struct Quirky {
        inner: InProcess<VirtualCard>,
        atr: Vec<u8>,
        short_only: bool,
        per_read: Option<usize>,
    }

    impl Quirky {
        fn new(short_only: bool, per_read: Option<usize>) -> Self {
            let mut card = VirtualCard::new(&Seed::DEFAULT).unwrap();
            card.power_on();
            let mut atr = card.atr().to_vec();
            if short_only {
                // Third software function byte: chaining and 4 channels, no extended Lc/Le, no
                // EF.ATR length information; then the TCK again.
                let n = atr.len();
                atr[n - 2] = 0x9B;
                atr[n - 1] = atr[1..n - 1].iter().fold(0, |a, b| a ^ b);
            }
            Quirky {
                inner: InProcess::new(card),
                atr,
                short_only,
                per_read,
            }
        }
    }

    impl cardwire_transport::Transport for Quirky {
        type Error = cardwire_transport::ErrorKind;
        fn transmit<'b>(&mut self, c: &[u8], r: &'b mut [u8]) -> Result<&'b [u8], Self::Error> {
            let extended = c.len() > 5 && c[4] == 0;
            if self.short_only && extended {
                r[..2].copy_from_slice(&[0x67, 0x00]);
                return Ok(&r[..2]);
            }
            let n = self.inner.transmit(c, r)?.len();
            match self.per_read {
                Some(max) if c[1] == 0xB0 && n - 2 > max => {
                    r[max..max + 2].copy_from_slice(&[0x90, 0x00]);
                    Ok(&r[..max + 2])
                }
                _ => Ok(&r[..n]),
            }
        }
        fn atr(&self) -> &[u8] {
            &self.atr
        }
        fn reset(&mut self) -> Result<(), Self::Error> {
            self.inner.reset()
        }
        fn transaction(
            &mut self,
            body: &mut dyn FnMut(
                &mut dyn cardwire_transport::Transport<Error = Self::Error>,
            ) -> cardwire_transport::TransactionEnd,
        ) -> Result<(), Self::Error> {
            cardwire_transport::exclusive_transaction(self, body)
        }
    }

    fn certificate_len(stages: &[Stage]) -> u64 {
        stages[2].facts["certificates"]["9A (PIV authentication)"]["der_len"]
            .as_u64()
            .unwrap()
    }

    /// The plan `cardwire journey` follows against a fresh built-in virtual card.
    fn vcard_plan() -> stages::Plan {
        let card = VirtualCard::new(&Seed::DEFAULT).unwrap();
        let id = card.identity();
        stages::Plan {
            destructive: true,
            issuance: Some(piv_stages::Issuance {
                management_key: cardwire_piv::ManagementKey::DEFAULT_3DES,
                set_pins: true,
                worker: piv_stages::Worker {
                    name: id.name.clone(),
                    user_id: id.user_id,
                    serial: id.serial,
                },
            }),
            no_issuance: "",
        }
    }

    #[test]
    fn the_journey_works_on_a_short_only_card_and_a_card_serving_0xdf_bytes_per_read() {
        let plain =
            stages::run_stages(Quirky::new(false, None), &vcard_secrets(), &vcard_plan()).unwrap();
        assert!(
            plain.iter().all(|s| s.ok && !s.skipped),
            "the reference run"
        );
        let cert_len = certificate_len(&plain);
        assert!(cert_len > 0xDF, "the certificate needs several pieces");
        for (short_only, per_read) in [(true, None), (false, Some(0xDF)), (true, Some(0xDF))] {
            let stages = stages::run_stages(
                Quirky::new(short_only, per_read),
                &vcard_secrets(),
                &vcard_plan(),
            )
            .unwrap();
            for s in &stages {
                assert!(
                    s.ok && !s.skipped,
                    "short-only {short_only}, per read {per_read:?}: stage {} {:?}",
                    s.number,
                    s.failure
                );
                if short_only {
                    assert!(
                        s.apdus
                            .iter()
                            .all(|a| a.command.len() <= 5 || a.command[4] != 0)
                    );
                }
            }
            // The whole certificate was read (it verifies against its CA, and its key checks
            // the signature in stage 4): never cut at the first short answer. (Its length
            // varies by a byte or two with the key generated in stage 0.)
            assert!(certificate_len(&stages).abs_diff(cert_len) < 8);
            for slot in ["9A (PIV authentication)", "9C (digital signature)"] {
                assert_eq!(
                    stages[2].facts["certificates"][slot]["issued_by_virtual_ca"], true,
                    "{slot}"
                );
            }
        }
    }

    #[test]
    fn the_journey_uses_the_piv_references_the_virtual_card_uses() {
        use cardwire_vcard::personalise::{PIN_SPEC, PUK_SPEC};
        assert_eq!(PIN.reference, PIN_SPEC.reference);
        assert_eq!(PUK.reference, PUK_SPEC.reference);
        assert_eq!(PIN.format, PIN_SPEC.format);
    }
}
