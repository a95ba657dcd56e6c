//! `cardwire piv status`: what `yubico-piv-tool -a status` shows, for any PIV card —
//! application, CHUID, each slot's certificate, PIN and PUK retries (text or `--json`).

use cardwire_pin::{PinOutcome, PinReference};
use cardwire_piv::{Piv, Slot};
use cardwire_transport::Session;
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::input::to_hex;

fn retries(outcome: Result<PinOutcome, cardwire_piv::Error>) -> Value {
    match outcome {
        Ok(PinOutcome::WrongPin { retries_left }) => json!(retries_left),
        Ok(PinOutcome::Verified) => json!("verified"),
        Ok(PinOutcome::Blocked) => json!(0),
        Ok(other) => json!(other.status_word().to_string()),
        Err(e) => json!(format!("unknown ({e})")),
    }
}

/// Reads and prints the status.
///
/// # Errors
/// When the card does not answer SELECT PIV.
pub fn status<S: Session>(piv: &mut Piv<S>, as_json: bool) -> Result<(), Failure> {
    let mut buf = vec![0u8; 8192];
    let mut report = serde_json::Map::new();
    {
        let apt = piv.select(&mut buf).map_err(crate::piv_cmd::failed)?;
        report.insert("application".into(), json!(to_hex(apt.aid())));
        if let Some(label) = apt.label() {
            report.insert(
                "label".into(),
                json!(String::from_utf8_lossy(label).into_owned()),
            );
        }
        let algorithms: Vec<String> = apt.algorithms().map(|a| a.to_string()).collect();
        report.insert("algorithms".into(), json!(algorithms));
    }
    match piv.read_chuid(&mut buf) {
        Ok(chuid) => {
            report.insert(
                "chuid".into(),
                json!({
                    "guid": to_hex(chuid.guid()),
                    "fascn": to_hex(chuid.fascn_bytes()),
                    "expiration": String::from_utf8_lossy(chuid.expiration()),
                    "signed": chuid.has_issuer_signature(),
                }),
            );
        }
        Err(e) => {
            report.insert("chuid".into(), json!(format!("not read: {e}")));
        }
    }
    let mut slots = serde_json::Map::new();
    for slot in [
        Slot::AUTHENTICATION,
        Slot::SIGNATURE,
        Slot::KEY_MANAGEMENT,
        Slot::CARD_AUTHENTICATION,
    ] {
        let entry = match piv.read_certificate(slot, &mut buf) {
            Ok(object) => match object.decompressed() {
                Ok(der) => match crate::certificate::CertificateSummary::from_der(&der) {
                    Ok(c) => json!({
                        "subject": c.subject, "issuer": c.issuer,
                        "not_before": c.not_before, "not_after": c.not_after,
                        "serial": c.serial, "key_algorithm": c.key_algorithm,
                        "curve": c.curve,
                    }),
                    Err(e) => json!(format!("the certificate does not decode: {e}")),
                },
                Err(e) => json!(format!("the certificate does not decompress: {e}")),
            },
            Err(e) => json!(format!("empty ({e})")),
        };
        slots.insert(format!("{:02X}", slot.0), entry);
    }
    report.insert("slots".into(), Value::Object(slots));
    report.insert(
        "pin_retries".into(),
        retries(piv.pin_status(PinReference::PIV_APPLICATION_PIN)),
    );
    report.insert(
        "puk_retries".into(),
        retries(piv.pin_status(PinReference::PIV_PUK)),
    );
    let report = Value::Object(report);
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

fn render(r: &Value) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let _ = writeln!(
        out,
        "PIV application {} {}",
        text(&r["application"]),
        r["label"].as_str().unwrap_or("")
    );
    let _ = writeln!(out, "algorithms: {}", text(&r["algorithms"]));
    match &r["chuid"] {
        Value::Object(c) => {
            let _ = writeln!(
                out,
                "CHUID: GUID {}, FASC-N {}, expires {}",
                text(&c["guid"]),
                text(&c["fascn"]),
                text(&c["expiration"])
            );
        }
        other => {
            let _ = writeln!(out, "CHUID: {}", text(other));
        }
    }
    if let Value::Object(slots) = &r["slots"] {
        for (slot, entry) in slots {
            match entry {
                Value::Object(c) => {
                    let _ = writeln!(out, "slot {slot}:");
                    let _ = writeln!(out, "  subject  {}", text(&c["subject"]));
                    let _ = writeln!(out, "  issuer   {}", text(&c["issuer"]));
                    let _ = writeln!(
                        out,
                        "  validity {} to {}",
                        text(&c["not_before"]),
                        text(&c["not_after"])
                    );
                    let key = match c["curve"].as_str() {
                        Some("1.2.840.10045.3.1.7") => "EC P-256".to_string(),
                        Some(curve) => format!("EC {curve}"),
                        None if c["key_algorithm"] == "1.2.840.113549.1.1.1" => "RSA".to_string(),
                        None => text(&c["key_algorithm"]),
                    };
                    let _ = writeln!(out, "  key      {key}");
                }
                other => {
                    let _ = writeln!(out, "slot {slot}: {}", text(other));
                }
            }
        }
    }
    let _ = writeln!(out, "PIN tries left: {}", text(&r["pin_retries"]));
    let _ = writeln!(out, "PUK tries left: {}", text(&r["puk_retries"]));
    out
}
