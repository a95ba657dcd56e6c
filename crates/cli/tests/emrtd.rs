//! `cardwire emrtd read` end to end against the virtual card: PACE with the CAN and the MRZ
//! (the default when EF.CardAccess offers it), BAC with 3DES secure messaging (`--bac`), a
//! card that refuses BAC, a wrong CAN, Chip and Active Authentication, EF.SOD's hashes and
//! DG2's face saved with `--out`.

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
    // PACE-CAM (the card offers it) reads EF.CardSecurity from the MF first.
    assert_eq!(files[0]["file"], "CardSecurity");
    let files = &files[1..];
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
        "--bac",
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

/// The default card's CAN, as `cardwire serve` prints it.
fn can() -> String {
    cardwire_vcard::personalise::can(&cardwire_vcard::Seed::DEFAULT)
}

/// Standard output of a run that must have succeeded.
fn success(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&success(out)).unwrap()
}

/// `emrtd read --json --can CAN` of the default virtual card, trusting its own test CSCA
/// (written to `dir/csca.pem`).
fn read_json_under_own_csca(dir: &std::path::Path) -> Value {
    let own = dir.join("csca.pem");
    let pem = cardwire_vcard::emrtd_pki::csca_pem(&cardwire_vcard::Seed::DEFAULT).unwrap();
    std::fs::write(&own, pem).unwrap();
    json_of(&cardwire(&[
        "emrtd",
        "read",
        "--json",
        "--can",
        &can(),
        "--trust",
        own.to_str().unwrap(),
    ]))
}

fn assert_all_checks_passed(v: &Value) {
    let checks = &v["checks"];
    assert_eq!(
        checks["chip_authentication"]["result"], "passed",
        "{checks}"
    );
    assert_eq!(
        checks["active_authentication"]["result"], "passed",
        "{checks}"
    );
    let hashes = checks["data_group_hashes"].as_array().unwrap();
    let names: Vec<&str> = hashes.iter().map(|h| h["file"].as_str().unwrap()).collect();
    assert_eq!(names, ["DG1", "DG2", "DG14", "DG15"]);
    assert!(
        hashes.iter().all(|h| h["check"]["result"] == "passed"),
        "{hashes:?}"
    );
    // The SOD's signature verifies; without --trust the chain to a CSCA is not checked, and
    // the detail says so.
    assert_eq!(checks["sod_signature"]["result"], "passed", "{checks}");
    let detail = checks["sod_signature"]["detail"].as_str().unwrap();
    assert!(detail.contains("not checked (give --trust)"), "{detail}");
}

#[test]
fn pace_with_the_can_reads_everything_and_checks_the_chip() {
    let can = can();
    let out = cardwire(&["emrtd", "read", "--json", "--can", &can, "--virtual-no-cam"]);
    let v = json_of(&out);
    assert_eq!(v["access_control"]["protocol"], "PACE");
    assert_eq!(v["access_control"]["password"], "CAN");
    assert_eq!(v["access_control"]["cipher"], "AES-128");
    // The virtual card made to offer PACE-GM only: no CAM check, Chip Authentication with
    // DG14 runs.
    assert_eq!(v["access_control"]["mapping"], "GM");
    assert_eq!(v["checks"]["pace_cam"]["result"], "not done");
    assert_all_checks_passed(&v);
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["COM", "DG1", "DG2", "DG14", "DG15", "SOD"]);
    assert_eq!(v["files"][1]["decoded"]["surname"], "ERIKSSON");
    assert_eq!(v["files"][2]["decoded"]["face_image"]["format"], "jpg");
    // PACE's steps on the wire: MSE:Set AT, then GENERAL AUTHENTICATE chained (CLA 10).
    let apdus = v["apdus"].as_array().unwrap();
    let cmds: Vec<&str> = apdus
        .iter()
        .map(|a| a["command"].as_str().unwrap())
        .collect();
    assert!(cmds.iter().any(|c| c.starts_with("0022C1A4")), "{cmds:?}");
    assert_eq!(cmds.iter().filter(|c| c.starts_with("108600")).count(), 3);
    assert!(cmds.iter().any(|c| c.starts_with("008600000C7C0A85")));
}

#[test]
fn pace_with_the_mrz_is_the_default_and_the_text_report_names_the_checks() {
    let mut args = vec!["emrtd", "read"];
    args.extend(SPECIMEN);
    let text = success(&cardwire(&args));
    assert!(
        text.contains("PACE: authenticated with the MRZ, AES-128 secure messaging"),
        "{text}"
    );
    // The card offers PACE-CAM: the chip is authenticated by it, so Chip Authentication
    // with DG14 is skipped.
    assert!(
        text.contains("(PACE-CAM, P-256)")
            && text.contains(
                "PACE-CAM: passed (chip authenticated by PACE-CAM: it proved it holds chip key 12 of EF.CardSecurity, signed by CN=cardwire TEST Document Signer"
            ),
        "{text}"
    );
    assert!(
        text.contains(
            "chip authentication: not done (skipped: the chip was authenticated by PACE-CAM"
        ),
        "{text}"
    );
    assert!(text.contains("active authentication: passed"), "{text}");
    assert!(
        text.contains("passive authentication, DG1 hash: passed"),
        "{text}"
    );
    assert!(
        text.contains("EF.SOD signature: passed (signed by CN=cardwire TEST Document Signer"),
        "{text}"
    );
}

#[test]
fn trust_checks_the_document_signer_under_the_csca_and_refuses_a_foreign_one() {
    let dir = tempfile_dir();
    let can = can();
    let v = read_json_under_own_csca(&dir);
    let sig = &v["checks"]["sod_signature"];
    assert_eq!(sig["result"], "passed", "{sig}");
    assert!(
        sig["detail"]
            .as_str()
            .unwrap()
            .contains("under the CSCA CN=cardwire TEST CSCA"),
        "{sig}"
    );

    // Another issuer's CSCA does not vouch for this document signer: the check fails, the
    // command says so and exits non-zero.
    let foreign = dir.join("foreign.der");
    let der =
        cardwire_vcard::emrtd_pki::csca_cert(&cardwire_vcard::Seed::from_text("other")).unwrap();
    std::fs::write(&foreign, der).unwrap();
    let out = cardwire(&[
        "emrtd",
        "read",
        "--can",
        &can,
        "--trust",
        foreign.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("EF.SOD signature: FAILED (signed by CN=cardwire TEST Document Signer"),
        "{text}"
    );
    // EF.CardSecurity has the same signer: PACE-CAM fails with it.
    assert!(text.contains("PACE-CAM: FAILED"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the document failed PACE-CAM chip authentication, EF.SOD's signature"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A state file of the default card whose EF.CardSecurity (`3F00/011D`) `change` rewrote.
fn card_with_card_security(state: &std::path::Path, change: impl FnOnce(&mut Vec<u8>)) {
    use cardwire_vcard::state::FileData;
    let card = cardwire_vcard::VirtualCard::open(state, &cardwire_vcard::Seed::DEFAULT).unwrap();
    let mut st = card.to_state();
    drop(card);
    let file = st
        .files
        .iter_mut()
        .find(|f| f.path == [0x3F00, 0x011D])
        .unwrap();
    let FileData::Transparent(bytes) = &mut file.data else {
        panic!("EF.CardSecurity is transparent")
    };
    change(bytes);
    let (store, _) = cardwire_vcard::StateFile::open(state).unwrap();
    store.save(&st).unwrap();
}

#[test]
fn pace_cam_proves_the_chip_and_trust_checks_card_security() {
    let dir = tempfile_dir();
    let can = can();
    let v = read_json_under_own_csca(&dir);
    assert_eq!(v["access_control"]["mapping"], "CAM");
    let cam = &v["checks"]["pace_cam"];
    assert_eq!(cam["result"], "passed", "{cam}");
    let detail = cam["detail"].as_str().unwrap();
    assert!(
        detail.contains("chip key 12 of EF.CardSecurity")
            && detail.contains("CN=cardwire TEST CSCA"),
        "{detail}"
    );
    // The chip was authenticated by CAM; AA and passive authentication still run.
    assert_eq!(v["checks"]["chip_authentication"]["result"], "not done");
    assert_eq!(v["checks"]["active_authentication"]["result"], "passed");
    assert_eq!(v["checks"]["sod_signature"]["result"], "passed");
    // PACE-CAM's last step answers T_IC and the encrypted chip authentication data (8A).
    let apdus = v["apdus"].as_array().unwrap();
    let last_step = apdus
        .iter()
        .find(|a| {
            a["command"]
                .as_str()
                .unwrap()
                .starts_with("008600000C7C0A85")
        })
        .unwrap();
    let response = last_step["response"].as_str().unwrap();
    assert!(response.starts_with("7C3C8608"), "{response}");
    assert_eq!(&response[24..28], "8A30", "{response}");
    let text = success(&cardwire(&["emrtd", "read", "--can", &can, "DG1"]));
    assert!(text.contains("PACE-CAM: passed"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tampered_card_security_fails_pace_cam() {
    let dir = tempfile_dir();
    let state = dir.join("card.state");
    // One byte of the chip's static key in the signed SecurityInfos changed.
    let key = cardwire_vcard::personalise::chip_authentication_key(&cardwire_vcard::Seed::DEFAULT)
        .unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    card_with_card_security(&state, |b| {
        let at = b
            .windows(65)
            .position(|w| w == point.as_bytes())
            .expect("the chip key is in EF.CardSecurity");
        b[at + 40] ^= 0x01;
    });
    let can = can();
    let args = [
        "emrtd",
        "read",
        "--can",
        &can,
        "--state",
        state.to_str().unwrap(),
    ];
    let out = cardwire(&args);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PACE-CAM: FAILED"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PACE-CAM"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_card_security_with_another_chip_key_fails_pace_cam() {
    use p256::pkcs8::EncodePublicKey;
    let dir = tempfile_dir();
    let state = dir.join("card.state");
    // Signed by the genuine document signer, but the static key is another one (the Active
    // Authentication key): the chip's proof does not match it, as for a cloned
    // EF.CardSecurity.
    let seed = cardwire_vcard::Seed::DEFAULT;
    let other = cardwire_vcard::personalise::active_authentication_key(&seed).unwrap();
    let spki = other.verifying_key().to_public_key_der().unwrap();
    let infos = cardwire_vcard::mrz::card_security_infos(
        cardwire_vcard::personalise::PACE_GM_PROTOCOL,
        cardwire_vcard::personalise::PACE_CAM_PROTOCOL,
        cardwire_vcard::personalise::PACE_PARAMETER_ID,
        spki.as_bytes(),
    );
    let forged = cardwire_vcard::emrtd_pki::build_card_security(&seed, &infos).unwrap();
    card_with_card_security(&state, |b| *b = forged);
    let can = can();
    let args = [
        "emrtd",
        "read",
        "--json",
        "--can",
        &can,
        "--state",
        state.to_str().unwrap(),
    ];
    let out = cardwire(&args);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cam = &v["checks"]["pace_cam"];
    assert_eq!(cam["result"], "failed", "{cam}");
    assert!(
        cam["detail"]
            .as_str()
            .unwrap()
            .contains("does not match chip key 12"),
        "{cam}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bac_refused_pace_still_works_and_bac_says_why() {
    let dir = tempfile_dir();
    let state = dir.join("card.state");
    let state = state.to_str().unwrap();
    let can = can();
    // The card is made to refuse BAC; the state file keeps that.
    let v = json_of(&cardwire(&[
        "emrtd",
        "read",
        "--json",
        "--can",
        &can,
        "--state",
        state,
        "--virtual-no-bac",
        "DG1",
    ]));
    assert_eq!(v["access_control"]["protocol"], "PACE");
    let mut args = vec!["emrtd", "read", "--bac", "--state", state, "COM"];
    args.extend(SPECIMEN);
    let out = cardwire(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refuses BAC (6982)"), "{err}");
    // Without --bac PACE is chosen and works.
    let mut args = vec!["emrtd", "read", "--json", "--state", state, "DG1"];
    args.extend(SPECIMEN);
    let v = json_of(&cardwire(&args));
    assert_eq!(v["access_control"]["protocol"], "PACE");
    assert_eq!(v["access_control"]["password"], "MRZ");
}

#[test]
fn bac_when_asked_reports_it() {
    let mut args = vec!["emrtd", "read", "--json", "--bac", "COM", "DG1"];
    args.extend(SPECIMEN);
    let v = json_of(&cardwire(&args));
    assert_eq!(v["access_control"]["protocol"], "BAC");
    assert_eq!(v["access_control"]["cipher"], "3DES");
    assert_eq!(v["access_control"]["fallback_reason"], "--bac");
    assert_eq!(v["checks"]["chip_authentication"]["result"], "not done");
    // Without the SOD the hashes are not checked, and the report says so.
    assert_eq!(
        v["checks"]["data_group_hashes"][0]["check"]["result"],
        "not done"
    );
}

#[test]
fn a_wrong_can_is_a_clear_error() {
    let right = can();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    let out = cardwire(&["emrtd", "read", "--can", wrong]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PACE failed: the chip did not accept the CAN (the card answered 6300)"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Not digits: a usage error.
    assert_eq!(
        cardwire(&["emrtd", "read", "--can", "12ab"]).status.code(),
        Some(2)
    );
    // --can with --bac makes no sense: clap refuses it.
    assert_eq!(
        cardwire(&["emrtd", "read", "--can", "123456", "--bac"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn out_saves_the_files_and_the_face() {
    let dir = tempfile_dir();
    let out_dir = dir.join("out");
    let can = can();
    let out = cardwire(&[
        "emrtd",
        "read",
        "--can",
        &can,
        "--out",
        out_dir.to_str().unwrap(),
        "DG2",
        "SOD",
    ]);
    let text = success(&out);
    let face = std::fs::read(out_dir.join("DG2-face.jpg")).unwrap();
    assert_eq!(&face[..3], &[0xFF, 0xD8, 0xFF]);
    assert_eq!(&face[face.len() - 2..], &[0xFF, 0xD9]);
    let dg2 = std::fs::read(out_dir.join("DG2.bin")).unwrap();
    assert_eq!(dg2[0], 0x75);
    assert!(dg2.windows(face.len()).any(|w| w == face.as_slice()));
    assert!(out_dir.join("SOD.bin").exists());
    assert!(
        text.contains("passive authentication, DG2 hash: passed"),
        "{text}"
    );
}

/// A fresh directory under the target's temporary directory.
fn tempfile_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cardwire-emrtd-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
