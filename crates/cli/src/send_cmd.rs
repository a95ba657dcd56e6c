//! `cardwire send [--reader NAME] [--trace] APDU...`: command APDUs through the Card session
//! (GET RESPONSE, 6Cxx re-sends and command chaining done for you), each response printed
//! with the meaning of its status word.

use std::fmt;

use cardwire_apdu::CommandRepr;
use cardwire_transport::{Card, CardError, StdSink, Traced, Transport};

use crate::failure::Failure;
use crate::input::{parse_hex, to_hex};

/// Arguments of `cardwire send`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  cardwire send 00A4040C07A0000002471001 00B0000000
  cardwire send --reader 'cardwire vpcd 00 00' --trace 00CA010100
  cardwire send --reader 'cardwire vpcd 00 00' script.apdu

A script file holds one hex APDU per line; blank lines and lines starting with # are skipped.
Without --reader the APDUs go to the built-in virtual card (cardwire-vcard). --reader needs
pcscd and a cardwire built with `--features pcsc`.")]
pub struct Args {
    /// The PC/SC reader to use (as `cardwire readers` lists it); without it, the built-in
    /// virtual card.
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// Also print every APDU on the wire (GET RESPONSE, chaining links) to stderr, with its
    /// meaning; PIN data is redacted.
    #[arg(long)]
    pub trace: bool,
    /// Command APDUs in hex, or files of them (one per line).
    #[arg(required = true, value_name = "APDU|FILE")]
    pub apdus: Vec<String>,
}

/// Runs `cardwire send`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let apdus = read_apdus(&args.apdus)?;
    match &args.reader {
        Some(reader) => send_to_reader(reader, args.trace, &apdus),
        None => {
            let card = cardwire_vcard::VirtualCard::new(&cardwire_vcard::Seed::DEFAULT)
                .map_err(|e| Failure::Failed(format!("cannot build the virtual card: {e}")))?;
            let transport = cardwire_transport::InProcess::new(card);
            run_on(transport, args.trace, &apdus)
        }
    }
}

#[cfg(feature = "pcsc")]
fn send_to_reader(reader: &str, trace: bool, apdus: &[Vec<u8>]) -> Result<(), Failure> {
    use cardwire_pcsc::{Context, Protocols, Share};

    let context = Context::establish().map_err(|e| Failure::Failed(e.to_string()))?;
    let card = context
        .connect(reader, Share::Shared, Protocols::ANY)
        .map_err(|e| Failure::Failed(format!("{reader}: {e}")))?;
    run_on(card, trace, apdus)
}

#[cfg(not(feature = "pcsc"))]
fn send_to_reader(_reader: &str, _trace: bool, _apdus: &[Vec<u8>]) -> Result<(), Failure> {
    Err(pcsc_missing("use --reader"))
}

/// The failure of a PC/SC command in a build without PC/SC support: how to get it.
#[cfg(not(feature = "pcsc"))]
pub fn pcsc_missing(what: &str) -> Failure {
    Failure::Failed(format!(
        "cannot {what}: this cardwire was built without PC/SC support. Install pcscd and \
         libpcsclite-dev (Debian: apt install pcscd libpcsclite-dev), then run \
         `cargo run -p cardwire-cli --features pcsc -- ...`"
    ))
}

/// Reads the APDU arguments: hex, or a file of hex APDUs when the argument names a file.
fn read_apdus(args: &[String]) -> Result<Vec<Vec<u8>>, Failure> {
    let mut apdus = Vec::new();
    for arg in args {
        let path = std::path::Path::new(arg);
        if path.is_file() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Failed(format!("cannot read {arg}: {e}")))?;
            for (number, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let apdu = parse_hex(line)
                    .map_err(|e| Failure::Failed(format!("{arg} line {}: {e}", number + 1)))?;
                apdus.push(checked(apdu, &format!("{arg} line {}", number + 1))?);
            }
        } else {
            apdus.push(checked(parse_hex(arg)?, arg)?);
        }
    }
    Ok(apdus)
}

fn checked(apdu: Vec<u8>, origin: &str) -> Result<Vec<u8>, Failure> {
    CommandRepr::parse(&apdu)
        .map_err(|e| Failure::Failed(format!("{origin}: not a command APDU: {e}")))?;
    Ok(apdu)
}

fn run_on<T>(transport: T, trace: bool, apdus: &[Vec<u8>]) -> Result<(), Failure>
where
    T: Transport,
    T::Error: fmt::Display,
{
    if trace {
        send_all(Traced::new(transport, StdSink::stderr()), apdus)
    } else {
        send_all(transport, apdus)
    }
}

fn send_all<T>(transport: T, apdus: &[Vec<u8>]) -> Result<(), Failure>
where
    T: Transport,
    T::Error: fmt::Display,
{
    // Room for a 64 KiB answer: the session collects long answers (61xx) whole.
    let mut card: Card<T, cardwire_transport::NoSecureChannel, 4200> =
        Card::open_typed(transport).map_err(|e| describe("cannot open the card", &e))?;
    println!("ATR {}", to_hex(card.atr()));
    let mut buf = vec![0u8; 65_538];
    for apdu in apdus {
        // Checked in read_apdus.
        let command = CommandRepr::parse(apdu)
            .map_err(|e| Failure::Failed(format!("not a command APDU: {e}")))?;
        println!("> {}", to_hex(apdu));
        let response = card
            .transmit(&command, &mut buf)
            .map_err(|e| describe(&format!("{} failed", to_hex(apdu)), &e))?;
        let sw = response.sw();
        if response.data().is_empty() {
            println!("< {sw}  {}", sw.description());
        } else {
            println!("< {} {sw}  {}", to_hex(response.data()), sw.description());
        }
    }
    Ok(())
}

fn describe<E: fmt::Display + fmt::Debug, S: fmt::Display + fmt::Debug>(
    what: &str,
    error: &CardError<E, S>,
) -> Failure {
    match error {
        CardError::Transport(e) => Failure::Failed(format!("{what}: {e}")),
        other => Failure::Failed(format!("{what}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apdus_come_from_hex_and_script_files() {
        let dir = std::env::temp_dir().join(format!("cardwire-send-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("script.apdu");
        std::fs::write(&file, "# select the MF\n00A4000C023F00\n\n00 B0 00 00 00\n").unwrap();
        let apdus = read_apdus(&["00CA010100".into(), file.display().to_string()]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            apdus,
            vec![
                vec![0, 0xCA, 1, 1, 0],
                vec![0, 0xA4, 0, 0x0C, 2, 0x3F, 0],
                vec![0, 0xB0, 0, 0, 0]
            ]
        );
    }

    #[test]
    fn malformed_apdus_are_refused_naming_them() {
        let err = read_apdus(&["00A4".into()]).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.to_string().contains("00A4: not a command APDU"),
            "{err}"
        );
        let err = read_apdus(&["00A4000C05AA".into()]).unwrap_err();
        assert!(err.to_string().contains("not a command APDU"), "{err}");
    }

    #[test]
    fn the_virtual_card_answers_through_the_session() {
        let card = cardwire_vcard::VirtualCard::new(&cardwire_vcard::Seed::DEFAULT).unwrap();
        let transport = cardwire_transport::InProcess::new(card);
        send_all(transport, &[vec![0, 0xA4, 0, 0x0C, 2, 0x3F, 0x00]]).unwrap();
    }

    #[cfg(not(feature = "pcsc"))]
    #[test]
    fn a_reader_without_pcsc_support_says_how_to_get_it() {
        let err = send_to_reader("any reader", false, &[]).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let text = err.to_string();
        assert!(text.contains("--features pcsc"), "{text}");
        assert!(text.contains("libpcsclite-dev"), "{text}");
    }
}
