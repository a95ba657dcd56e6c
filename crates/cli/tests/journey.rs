//! `cardwire journey` end to end against the in-process virtual card: every stage's answers.

// Test helpers outside #[test] functions may panic too: a failure is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
mod common;

use std::process::Output;

use common::cardwire;

use serde_json::Value;

fn json_report(args: &[&str]) -> (Value, Output) {
    let out = cardwire(args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

fn stage(report: &Value, n: u64) -> &Value {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == n)
        .unwrap_or_else(|| panic!("no stage {n}"))
}

fn sws(report: &Value, n: u64) -> Vec<String> {
    stage(report, n)["status_words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cardwire-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_stage_gets_the_answers_a_correct_card_gives() {
    let (r, out) = json_report(&["journey", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(r["ok"], true);
    for n in 0..=7 {
        assert_eq!(stage(&r, n)["result"], "ok", "stage {n}: {}", stage(&r, n));
    }
    // 0. Issuance: SELECT, 9B mutual authentication (2), GENERATE + PUT DATA for 9A and 9C,
    // PUT DATA CHUID, CHANGE REFERENCE DATA for PIN and PUK, VERIFY reset.
    assert_eq!(sws(&r, 0), vec!["9000"; 11]);
    let s0 = &stage(&r, 0)["facts"];
    assert_eq!(
        s0["issued"]["9A (PIV authentication)"]["algorithm"],
        "07 (RSA-2048)"
    );
    assert_eq!(
        s0["issued"]["9C (digital signature)"]["algorithm"],
        "11 (ECC P-256)"
    );
    let guid = s0["guid"].as_str().unwrap();
    assert_eq!(guid.len(), 32);
    // 1. Power on: a T=1 ATR announcing extended lengths, chaining and 4 channels.
    let s1 = &stage(&r, 1)["facts"];
    assert_eq!(s1["atr"], "3B878131FE458031E473B601FBE6");
    assert_eq!(s1["protocols"][0], "T=1");
    assert_eq!(s1["capabilities"]["extended_length"], true);
    assert_eq!(s1["capabilities"]["command_chaining"], true);
    assert_eq!(s1["capabilities"]["logical_channels"], 4);
    // 2. Identify: SELECT PIV, the CHUID written in stage 0, four certificates for the
    // worker issued by the virtual CA (9A RSA-2048, the others P-256).
    let s2 = &stage(&r, 2)["facts"];
    assert_eq!(s2["application"], "000010000100");
    assert_eq!(s2["guid"], guid);
    let certs = &s2["certificates"];
    let subject = certs["9A (PIV authentication)"]["subject"]
        .as_str()
        .unwrap();
    let (name, rest) = subject
        .strip_prefix("CN=")
        .unwrap()
        .split_once(",SERIALNUMBER=")
        .unwrap();
    let uid = rest.split(',').next().unwrap();
    assert_eq!(uid.len(), 12);
    assert!(uid.bytes().all(|b| b.is_ascii_digit()));
    for (slot, curve) in [
        ("9A (PIV authentication)", None),
        ("9C (digital signature)", Some("1.2.840.10045.3.1.7")),
        ("9D (key management)", Some("1.2.840.10045.3.1.7")),
        ("9E (card authentication)", Some("1.2.840.10045.3.1.7")),
    ] {
        let cert = &certs[slot];
        let ou = &slot[..2];
        assert_eq!(
            cert["subject"].as_str().unwrap(),
            format!("CN={name},SERIALNUMBER={uid},OU=PIV {ou},O=cardwire virtual healthcare,C=GB")
        );
        assert_eq!(
            cert["issuer"],
            "CN=cardwire Virtual Issuing CA,O=cardwire,C=GB"
        );
        assert_eq!(cert["curve"].as_str(), curve, "{slot}");
        assert_eq!(cert["issued_by_virtual_ca"], true, "{slot}");
    }
    assert_eq!(
        certs["9A (PIV authentication)"]["key_algorithm"],
        "1.2.840.113549.1.1.1"
    );
    // SELECT, GET DATA CHUID, GET DATA of four certificates (GET RESPONSE's 61xx not shown).
    assert_eq!(sws(&r, 2), vec!["9000"; 6]);
    // 3. VERIFY: 3 tries shown, accepted, then verified.
    assert_eq!(sws(&r, 3), ["63C3", "9000", "9000"]);
    // 4. 9A signs (RSA-2048), VERIFY again ("PIN always"), 9C signs (ECDSA, DER); both
    // verify with their certificates' keys.
    assert_eq!(sws(&r, 4), ["9000", "9000", "9000"]);
    assert_eq!(stage(&r, 4)["facts"]["signature_valid"], true);
    assert_eq!(
        stage(&r, 4)["facts"]["signature_9a"]
            .as_str()
            .unwrap()
            .len(),
        512
    );
    let sig_9c = stage(&r, 4)["facts"]["signature_9c"].as_str().unwrap();
    assert!(sig_9c.starts_with("30"), "{sig_9c}");
    // 5. Blocking: 63C2, 63C1, 6983, then the right PIN refused with 6983.
    assert_eq!(sws(&r, 5), ["63C2", "63C1", "6983", "6983"]);
    // 6. PUK status 10 tries, RESET RETRY COUNTER, VERIFY with the new PIN.
    assert_eq!(sws(&r, 6), ["63CA", "9000", "9000"]);
    // 7. Block again, SELECT, SCP03 open, protected RRC, VERIFY.
    assert_eq!(
        sws(&r, 7),
        ["63C2", "63C1", "6983", "9000", "9000", "9000", "9000"]
    );
    let protected = stage(&r, 7)["facts"]["protected_command"].as_str().unwrap();
    // CLA 04 (SM), RESET RETRY COUNTER, P1 02 (new PIN, no PUK), P2 80 (the PIV PIN).
    assert!(protected.starts_with("042C0280"), "{protected}");
    // No PIN appears in the report, in plain or as a PIN block.
    let text = String::from_utf8_lossy(&out.stdout);
    for block in ["313233343536FFFF", "363534333231FFFF", "3132333435363738"] {
        assert!(!text.contains(block), "a PIN leaked: {block}");
    }
    assert!(text.contains("PIN data redacted"));
}

#[test]
fn text_report_has_titles_apdus_and_a_summary() {
    let out = cardwire(&["journey"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for title in [
        "== 1. Power on",
        "== 2. Identify",
        "== 3. Unlock with the PIN",
        "== 0. Issue",
        "== 4. Strong authentication",
        "== 5. A locked card",
        "== 6. Self-service unlock",
        "== 7. Administrator unlock",
        "Summary",
        "the host verified the 9A (PIV authentication) signature with the certificate's public key: VALID",
        "the host verified the 9C (digital signature) signature with the certificate's public key: VALID",
    ] {
        assert!(text.contains(title), "missing {title:?}");
    }
    assert!(text.contains("> SELECT"));
    assert!(text.contains("< 63C2"));
    // Without --trace long data is abbreviated; with it every byte is there.
    assert!(text.contains("(514 bytes)") || text.contains("bytes)"));
    let traced = cardwire(&["journey", "--trace"]);
    let traced = String::from_utf8_lossy(&traced.stdout);
    assert!(traced.len() > text.len());
    assert!(!traced.contains("… ("));
}

#[test]
fn a_state_file_makes_the_journey_repeatable_and_a_blocked_card_stays_blocked() {
    let dir = temp("state");
    let path = dir.join("card.state");
    let p = path.to_str().unwrap();
    let mut guid = None;
    for run in 0..2 {
        let (r, out) = json_report(&["journey", "--json", "--state", p]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(r["ok"], true);
        // The card is issued in the first run only; the second finds the same CHUID.
        assert_eq!(
            stage(&r, 0)["result"],
            if run == 0 { "ok" } else { "skipped" }
        );
        let g = stage(&r, 2)["facts"]["guid"].as_str().unwrap().to_string();
        assert_eq!(guid.get_or_insert_with(|| g.clone()), &g);
    }
    // Block the card in the state file, the way a user would: wrong PINs in another run.
    {
        use cardwire_transport::CardHandler;
        let mut card =
            cardwire_vcard::VirtualCard::open(&path, &cardwire_vcard::Seed::DEFAULT).unwrap();
        card.power_on();
        let mut rsp = [0u8; 300];
        for _ in 0..3 {
            card.process(
                &[
                    0, 0x20, 0, 0x80, 8, b'0', b'0', b'0', b'0', b'0', b'0', 0xFF, 0xFF,
                ],
                &mut rsp,
            );
        }
        assert_eq!(card.pin_tries_left(), 0);
    }
    let (r, out) = json_report(&["journey", "--json", "--state", p]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stage(&r, 3)["result"], "failed");
    assert_eq!(sws(&r, 3)[0], "6983");
    let failure = stage(&r, 3)["failure"].as_str().unwrap();
    assert!(
        failure.contains("6983") && failure.contains("blocked"),
        "{failure}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stage 3"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_foreign_state_file_is_refused_and_left_alone() {
    let dir = temp("foreign");
    let path = dir.join("notes.txt");
    std::fs::write(&path, "shopping list").unwrap();
    let out = cardwire(&["journey", "--state", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a cardwire virtual card state file"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "shopping list");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_wrong_pin_fails_with_an_explanation() {
    // The card is issued with the published PIN (stage 0); a run with another PIN is refused,
    // on a fresh card as on one kept in a state file.
    let dir = temp("wrong-pin");
    let path = dir.join("card.state");
    let p = path.to_str().unwrap();
    let (r, _) = json_report(&["journey", "--json", "--state", p]);
    assert_eq!(r["ok"], true);
    let (r, out) = json_report(&["journey", "--json", "--state", p, "--pin", "999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(sws(&r, 3), ["63C3", "63C2", "63C2"]);
    let failure = stage(&r, 3)["failure"].as_str().unwrap();
    assert!(
        failure.contains("63C2") && failure.contains("try was counted"),
        "{failure}"
    );
    assert_eq!(stage(&r, 4)["result"], "skipped");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_errors_and_readers() {
    let out = cardwire(&["journey", "--pin", "12ab"]);
    assert_eq!(out.status.code(), Some(2));
    let out = cardwire(&["journey", "--pin", "1234", "--new-pin", "1234"]);
    assert_eq!(out.status.code(), Some(2));
    // A real card's secrets never come from the command line (exit 2, before any reader).
    let out = cardwire(&[
        "journey",
        "--reader",
        "No Such Reader",
        "--pin",
        "1",
        "--puk",
        "2",
        "--new-pin",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pin-file"));
    let out = common::cardwire_env(
        &["journey", "--reader", "No Such Reader"],
        "CARDWIRE_PIN",
        "1",
    );
    // The reader cannot be used in any build and any environment: the error names it and
    // says why. This test needs no pcscd — it checks the failure is explained, whichever it
    // is — so it runs (and must pass) with and without the service.
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot use the reader \"No Such Reader\""),
        "{err}"
    );
    // Without PC/SC support: how to get it.
    #[cfg(not(feature = "pcsc"))]
    assert!(err.contains("--features pcsc"), "{err}");
    // With it: pcscd is not running (its own message, and how to start it), or it runs and
    // has no such reader.
    #[cfg(feature = "pcsc")]
    assert!(
        err.contains("cannot connect to the smart card service: the smart card service (pcscd) is not running")
            || err.contains("cannot connect to the card: no reader has that name"),
        "{err}"
    );
    let out = cardwire(&["journey", "--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Examples"));
}

/// Randomness fails closed: when the operating system's generator fails (injected through an
/// environment variable that only debug builds read), the journey stops with exit status 1
/// and says why, before the signature challenge or the SCP03 host challenge is sent.
#[cfg(debug_assertions)]
#[test]
fn no_randomness_stops_the_journey() {
    let out = common::cardwire_env(&["journey", "--json"], "CARDWIRE_TEST_FAIL_RANDOM", "1");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("random number generator failed"), "{err}");
    assert!(err.contains("predictable"), "{err}");
    // Nothing was reported as if the journey had run: no PSO, no INITIALIZE UPDATE.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("2A9E9A"), "{text}");
    assert!(!text.contains("8050"), "{text}");
}
