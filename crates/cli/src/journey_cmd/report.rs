//! The journey's report: text (every APDU, with PIN data redacted, and a summary table) or
//! a JSON document.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::stage::Stage;
use crate::input::to_hex;

/// Hex of a command with PIN data redacted (VERIFY, CHANGE REFERENCE DATA, RESET RETRY
/// COUNTER in plain): a report never shows a PIN.
pub(super) fn command_hex(cmd: &[u8], full: bool) -> String {
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

pub(super) fn render_text(stages: &[Stage], source: &str, trace: bool) -> String {
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

pub(super) fn render_json(stages: &[Stage], source: &str) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_data_is_redacted() {
        let cmd = [
            0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let shown = command_hex(&cmd, true);
        assert!(!shown.contains("31323334"), "{shown}");
        assert!(shown.contains("redacted"));
        assert_eq!(command_hex(&[0x00, 0xA4, 0x04, 0x00], true), "00A40400");
    }
}
