//! `cardwire atr`: output keys, lenient warnings, strict failures and exit codes.

// Test code: a failing test is a panic by design (helpers included).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

// A T=0/T=1 card ATR (YubiKey 5 NFC, listed in pcsc-tools' smartcard_list.txt).
const YUBIKEY: &str = "3BFD1300008131FE158073C021C057597562694B657940";
// The same without its TCK.
const NO_TCK: &str = "3BFD1300008131FE158073C021C057597562694B6579";

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardwire"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn json(args: &[&str]) -> Value {
    let out = run(args, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn json_keys_for_a_real_atr() {
    let v = json(&["atr", "--json", YUBIKEY]);
    assert_eq!(v["convention"], "direct");
    assert_eq!(v["protocols"], serde_json::json!([1]));
    assert_eq!(v["default_protocol"], 1);
    assert_eq!((v["fi"].as_u64(), v["di"].as_u64()), (Some(372), Some(4)));
    assert_eq!(v["f_max_mhz"].as_f64(), Some(5.0));
    assert_eq!(v["n"], 0);
    assert_eq!(v["historical_bytes"], "8073C021C057597562694B6579");
    assert_eq!(v["tck"], "40");
    assert_eq!(v["tck_ok"], true);
    assert_eq!(v["t1"]["ifsc"], 254);
    assert_eq!(
        (v["t1"]["bwi"].as_u64(), v["t1"]["cwi"].as_u64()),
        (Some(1), Some(5))
    );
    assert_eq!(v["t1"]["edc"], "lrc");
    assert_eq!(v["warnings"], serde_json::json!([]));
    // Historical bytes decoded (category 80, card capabilities C021C0: chaining and extended).
    assert_eq!(v["historical"]["category"], "80");
    assert_eq!(v["historical"]["extended_length"], true);
}

#[test]
fn defaults_when_ta1_absent_and_no_t1() {
    let v = json(&["atr", "--json", "3B00"]);
    assert_eq!((v["fi"].as_u64(), v["di"].as_u64()), (Some(372), Some(1)));
    assert_eq!(v["protocols"], serde_json::json!([0]));
    assert!(v["tck"].is_null());
    assert_eq!(v["tck_ok"], true);
    assert!(v.get("t1").is_none());
}

#[test]
fn lenient_warns_and_strict_fails() {
    let v = json(&["atr", "--json", NO_TCK]);
    assert_eq!(v["tck_ok"], false);
    assert!(v["tck"].is_null());
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
    let out = run(&["atr", "--strict", NO_TCK], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TCK missing"));
    // Wrong TCK.
    let wrong = format!("{}41", &YUBIKEY[..YUBIKEY.len() - 2]);
    let v = json(&["atr", "--json", &wrong]);
    assert_eq!(
        (v["tck"].as_str(), v["tck_ok"].as_bool()),
        (Some("41"), Some(false))
    );
    assert_eq!(
        run(&["atr", "--strict", &wrong], None).status.code(),
        Some(1)
    );
    // Extra bytes.
    let extra = format!("{YUBIKEY}0000");
    let v = json(&["atr", "--json", &extra]);
    assert_eq!(v["tck_ok"], true);
    assert!(v["warnings"][0].as_str().unwrap().contains("extra bytes"));
    assert_eq!(
        run(&["atr", "--strict", &extra], None).status.code(),
        Some(1)
    );
    // A clean ATR passes --strict.
    assert_eq!(
        run(&["atr", "--strict", YUBIKEY], None).status.code(),
        Some(0)
    );
}

#[test]
fn undecodable_atrs_fail_with_one_line() {
    for bad in ["3B", "3C00", "3B1211", "", "3BZZ"] {
        let out = run(&["atr", bad], None);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{bad}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn stdin_text_and_usage() {
    let out = run(&["atr", "-"], Some("3B 00\n"));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("T=0") && text.contains("absent (not required)"),
        "{text}"
    );
    assert_eq!(run(&["atr"], None).status.code(), Some(2));
    assert_eq!(
        run(&["atr", "--bogus", "3B00"], None).status.code(),
        Some(2)
    );
}
