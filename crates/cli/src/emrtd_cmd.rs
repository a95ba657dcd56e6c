//! `cardwire emrtd read`: read an ICAO eMRTD (passport chip) with Basic Access Control and 3DES
//! secure messaging (ICAO Doc 9303 Part 10 and 11), from the built-in virtual card's eMRTD
//! applet unless `--reader` names a PC/SC reader.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_sm::bac::{BacKeys, MrzInfo};
use cardwire_sm::channel::{establish_bac, secure_card};
use cardwire_transport::{
    Card, CardHandler as _, Error as _, InProcess, TransactionEnd, Transport,
};
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
    /// Authenticate with BAC and read data groups.
    #[command(after_help = "Examples:
  cardwire emrtd read --document-number L898902C3 --birth-date 740812 --expiry-date 120415
  cardwire emrtd read --document-number L898902C3 --birth-date 740812 --expiry-date 120415 COM DG1 --trace

The built-in virtual card carries the ICAO 9303 specimen passport (Anna Maria Eriksson);
the three values above are its BAC key.")]
    Read(ReadArgs),
}

/// Arguments of `cardwire emrtd read`.
#[derive(clap::Args, Debug)]
pub struct ReadArgs {
    /// A PC/SC reader to use instead of the built-in virtual card (needs the `pcsc` feature).
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// The document number, as printed in the MRZ (up to 9 characters).
    #[arg(long = "document-number")]
    pub document_number: String,
    /// The date of birth, YYMMDD.
    #[arg(long = "birth-date")]
    pub birth_date: String,
    /// The date of expiry, YYMMDD.
    #[arg(long = "expiry-date")]
    pub expiry_date: String,
    /// The files to read: COM, DG1 (default: both).
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Keep the virtual card's state in FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "reader")]
    pub state: Option<PathBuf>,
    /// Show every protected APDU as it crossed the wire.
    #[arg(long)]
    pub trace: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A file of the LDS1 application this command knows (ICAO 9303-10 §4.6, §4.7).
fn file_id(name: &str) -> Option<(&'static str, u16)> {
    match name.to_ascii_uppercase().as_str() {
        "COM" | "EF.COM" => Some(("COM", 0x011E)),
        "DG1" | "EF.DG1" => Some(("DG1", 0x0101)),
        "DG2" => Some(("DG2", 0x0102)),
        "SOD" | "EF.SOD" => Some(("SOD", 0x011D)),
        _ => None,
    }
}

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
        _ => Ok((
            json!({"length": bytes.len()}),
            vec![format!("{} bytes", bytes.len())],
        )),
    }
}

/// Reads `files` in one PC/SC transaction (SELECT, BAC, then each SELECT and its READ BINARY
/// under secure messaging, with no other application in between), which ends with a reset of
/// the card: the BAC session keys do not outlive it.
fn read_all<T: Transport>(
    mut transport: T,
    keys: &BacKeys,
    files: &[(&'static str, u16)],
    rng: &mut OsRandom,
) -> Result<(Vec<ReadFile>, Vec<WireApdu>), String> {
    let mut result = None;
    transport
        .transaction(&mut |held| {
            result = Some(read_all_held(held, keys, files, rng));
            TransactionEnd::Reset
        })
        .map_err(|e| format!("the card transaction failed: {} ({e:?})", e.kind()))?;
    result.unwrap_or_else(|| Err("the card transaction did not run".to_string()))
}

fn read_all_held<T: Transport>(
    transport: T,
    keys: &BacKeys,
    files: &[(&'static str, u16)],
    rng: &mut OsRandom,
) -> Result<(Vec<ReadFile>, Vec<WireApdu>), String> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        inner: transport,
        log: Rc::clone(&log),
    };
    let mut card =
        Card::open(recorder).map_err(|e| format!("cannot open a session with the card: {e}"))?;
    let mut buf = [0u8; 512];
    let select = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x0C).with_data(&EMRTD_AID);
    let sw = card
        .transmit(&select, &mut buf)
        .map_err(|e| format!("SELECT of the eMRTD application failed: {e}"))?
        .sw();
    if sw != StatusWord::SUCCESS {
        return Err(format!(
            "the card has no eMRTD application: SELECT answered {sw} ({})",
            sw.description()
        ));
    }
    // BAC draws RND.IFD and K.IFD before it sends anything: no randomness, no BAC.
    let session = establish_bac(&mut card, keys, &mut *rng).map_err(|e| {
        if matches!(e, cardwire_sm::Error::Randomness) {
            return rng.failure().to_string();
        }
        format!(
            "Basic Access Control failed: {e} — check the document number, birth and expiry dates"
        )
    })?;
    let mut card = secure_card(card, session);
    let mut out = Vec::new();
    for (name, fid) in files {
        let fid_bytes = fid.to_be_bytes();
        let sel = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x02, 0x0C).with_data(&fid_bytes);
        let sw = card
            .transmit(&sel, &mut buf)
            .map_err(|e| format!("SELECT EF.{name} under secure messaging failed: {e}"))?
            .sw();
        if sw != StatusWord::SUCCESS {
            return Err(format!(
                "EF.{name}: SELECT answered {sw} ({})",
                sw.description()
            ));
        }
        // The first 4 bytes give the TLV's total length, then read the rest.
        let mut head = [0u8; 8];
        let (first, sw) = card
            .read_binary(0, 4, &mut head)
            .map_err(|e| format!("READ BINARY of EF.{name} failed: {e}"))?;
        if !sw.is_normal() {
            return Err(format!(
                "EF.{name}: READ BINARY answered {sw} ({})",
                sw.description()
            ));
        }
        let first = first.to_vec();
        let total = tlv_total_len(&first)
            .ok_or_else(|| format!("EF.{name} does not start with a BER-TLV header"))?;
        let mut content = vec![0u8; total + 2];
        let (data, sw) = card
            .read_binary(0, total, &mut content)
            .map_err(|e| format!("READ BINARY of EF.{name} failed: {e}"))?;
        if !sw.is_normal() && sw != StatusWord::END_OF_FILE {
            return Err(format!(
                "EF.{name}: READ BINARY answered {sw} ({})",
                sw.description()
            ));
        }
        let bytes = data.to_vec();
        let (decoded, lines) = decode(name, &bytes)?;
        out.push(ReadFile {
            name,
            bytes,
            decoded,
            lines,
        });
    }
    let apdus = log.borrow().clone();
    Ok((out, apdus))
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

/// Runs `cardwire emrtd`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let Sub::Read(a) = &args.command;
    let info = MrzInfo::new(&a.document_number, &a.birth_date, &a.expiry_date)
        .map_err(|e| Failure::Usage(format!("the MRZ values are not usable: {e}")))?;
    let keys = BacKeys::from_mrz(&info);
    let names: Vec<String> = if a.files.is_empty() {
        vec!["COM".into(), "DG1".into()]
    } else {
        a.files.clone()
    };
    let mut files = Vec::new();
    for n in &names {
        files.push(file_id(n).ok_or_else(|| {
            Failure::Usage(format!("unknown file {n:?}: use COM, DG1, DG2 or SOD"))
        })?);
    }
    let mut rng = OsRandom::new();
    let (read, apdus) = if let Some(reader) = &a.reader {
        let transport = crate::card_source::open_reader(reader)?;
        read_on_reader(transport, &keys, &files, &mut rng)?
    } else {
        read_virtual(a, &keys, &files, &mut rng)?
    };
    print_report(a, &read, &apdus);
    Ok(())
}

#[cfg(feature = "pcsc")]
fn read_on_reader<T: Transport>(
    t: T,
    keys: &BacKeys,
    files: &[(&'static str, u16)],
    rng: &mut OsRandom,
) -> Result<(Vec<ReadFile>, Vec<WireApdu>), Failure> {
    read_all(t, keys, files, rng).map_err(Failure::Failed)
}

#[cfg(not(feature = "pcsc"))]
fn read_on_reader(
    t: std::convert::Infallible,
    _: &BacKeys,
    _: &[(&'static str, u16)],
    _: &mut OsRandom,
) -> Result<(Vec<ReadFile>, Vec<WireApdu>), Failure> {
    match t {}
}

fn read_virtual(
    a: &ReadArgs,
    keys: &BacKeys,
    files: &[(&'static str, u16)],
    rng: &mut OsRandom,
) -> Result<(Vec<ReadFile>, Vec<WireApdu>), Failure> {
    let card = match &a.state {
        Some(p) => VirtualCard::open(p, &Seed::DEFAULT),
        None => VirtualCard::new(&Seed::DEFAULT),
    }
    .map_err(|e| Failure::Failed(e.to_string()))?;
    let mut card = card;
    card.power_on();
    read_all(InProcess::new(card), keys, files, rng).map_err(Failure::Failed)
}

fn print_report(a: &ReadArgs, read: &[ReadFile], apdus: &[WireApdu]) {
    if a.json {
        let v = json!({
            "files": read.iter().map(|f| json!({
                "file": f.name, "bytes": to_hex(&f.bytes), "decoded": f.decoded,
            })).collect::<Vec<_>>(),
            "apdus": apdus.iter().map(|x| json!({"command": to_hex(&x.command), "response": to_hex(&x.response)})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    if a.trace {
        println!("APDUs (after EXTERNAL AUTHENTICATE every command and response is protected):");
        for x in apdus {
            println!("  > {}", to_hex(&x.command));
            println!("  < {}", to_hex(&x.response));
        }
        println!();
    }
    println!("BAC: authenticated, 3DES secure messaging");
    for f in read {
        println!("EF.{} ({} bytes)", f.name, f.bytes.len());
        for line in &f.lines {
            for l in line.lines() {
                println!("  {l}");
            }
        }
    }
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
    fn data_group_names() {
        assert_eq!(data_group_name(0x61), "DG1");
        assert_eq!(data_group_name(0x75), "DG2");
        assert_eq!(data_group_name(0x6E), "DG14");
        assert_eq!(file_id("dg1"), Some(("DG1", 0x0101)));
        assert_eq!(file_id("DG99"), None);
    }
}
