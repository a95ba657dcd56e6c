//! `cardwire emrtd read` end to end: BAC and 3DES secure messaging against the virtual card.

// Test helpers outside #[test] functions may panic too: a failure is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::cardwire;

use serde_json::Value;

const SPECIMEN: [&str; 6] = [
    "--document-number",
    "L898902C3",
    "--birth-date",
    "740812",
    "--expiry-date",
    "120415",
];

#[test]
fn reads_com_and_dg1_of_the_specimen() {
    let mut args = vec!["emrtd", "read", "--json"];
    args.extend(SPECIMEN);
    let out = cardwire(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    assert_eq!(files[0]["file"], "COM");
    assert_eq!(files[0]["decoded"]["data_groups"][0], "DG1");
    assert_eq!(files[0]["decoded"]["lds_version"], "0107");
    let dg1 = &files[1]["decoded"];
    assert_eq!(files[1]["file"], "DG1");
    assert_eq!(dg1["surname"], "ERIKSSON");
    assert_eq!(dg1["given_names"], "ANNA MARIA");
    assert_eq!(dg1["document_number"], "L898902C3");
    assert_eq!(dg1["birth_date"], "740812");
    // ICAO 9303-4 Appendix A, the specimen's second MRZ line.
    assert!(
        dg1["mrz"]
            .as_str()
            .unwrap()
            .ends_with("L898902C36UTO7408122F1204159ZE184226B<<<<<10")
    );
    // After BAC every command is protected (CLA 0C) and carries a MAC (DO 8E).
    let apdus = v["apdus"].as_array().unwrap();
    let protected: Vec<&str> = apdus
        .iter()
        .map(|a| a["command"].as_str().unwrap())
        .filter(|c| c.starts_with("0C"))
        .collect();
    assert!(protected.len() >= 4, "{apdus:?}");
    assert!(protected.iter().all(|c| c.contains("8E08")));
}

#[test]
fn trace_shows_protected_apdus() {
    let mut args = vec!["emrtd", "read", "--trace", "DG1"];
    args.extend(SPECIMEN);
    let out = cardwire(&args);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("> 0CA4020C"), "{text}");
    assert!(text.contains("ERIKSSON"));
    assert!(text.contains("P<UTOERIKSSON<<ANNA<MARIA"));
}

#[test]
fn a_wrong_mrz_fails_bac() {
    let out = cardwire(&[
        "emrtd",
        "read",
        "--document-number",
        "X1234567",
        "--birth-date",
        "740812",
        "--expiry-date",
        "120415",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Basic Access Control failed"), "{err}");
    let out = cardwire(&[
        "emrtd",
        "read",
        "--document-number",
        "L898902C3",
        "--birth-date",
        "7408",
        "--expiry-date",
        "120415",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let mut args = vec!["emrtd", "read", "DG42"];
    args.extend(SPECIMEN);
    assert_eq!(cardwire(&args).status.code(), Some(2));
}

/// Randomness fails closed: without the operating system's generator BAC is not attempted
/// (no RND.IFD or K.IFD made of zeros); exit status 1 with the reason.
#[cfg(debug_assertions)]
#[test]
fn no_randomness_no_bac() {
    let mut args = vec!["emrtd", "read", "--json"];
    args.extend(SPECIMEN);
    let out = common::cardwire_env(&args, "CARDWIRE_TEST_FAIL_RANDOM", "1");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("random number generator failed"), "{err}");
    assert!(out.stdout.is_empty());
}

/// The opt-in for emulators that omit DO'99' is off by default, documented, and changes
/// nothing for a card that sends DO'99' (every status word stays authenticated).
#[test]
fn the_missing_do99_opt_in_is_documented_and_harmless_with_a_strict_card() {
    let help = cardwire(&["emrtd", "read", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--allow-missing-sm-status") && help.contains("NOT authenticated"));
    let mut args = vec!["emrtd", "read", "--json", "--allow-missing-sm-status"];
    args.extend(SPECIMEN);
    let out = cardwire(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["unauthenticated_status_words"], 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}
