//! Secrets: never taken from a real card's command line, read from files, standard input or
//! the environment, and never shown in a trace, a JSON report, an error message or the state
//! file of a full journey.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{cardwire, cardwire_env, cardwire_stdin};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cardwire-secrets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn all_text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every form in which a secret could leak: its characters, and the hex of its bytes in
/// either case, with or without spaces.
fn forms(secret: &[u8]) -> Vec<String> {
    let hex: String = secret.iter().map(|b| format!("{b:02X}")).collect();
    let spaced: Vec<String> = secret.iter().map(|b| format!("{b:02X}")).collect();
    let spaced = spaced.join(" ");
    let mut v = vec![
        hex.clone(),
        hex.to_lowercase(),
        spaced.clone(),
        spaced.to_lowercase(),
    ];
    if let Ok(text) = std::str::from_utf8(secret) {
        v.push(text.to_string());
    }
    v
}

fn assert_no_secret(haystack: &str, name: &str, secret: &[u8], context: &str) {
    for form in forms(secret) {
        assert!(
            !haystack.contains(&form),
            "the {name} ({form}) appears in {context}:\n{haystack}"
        );
    }
}

const PIN: &str = "246813";
const PUK: &str = "97531864";
const NEW_PIN: &str = "135792";
const SCP03: [u8; 16] = [
    0x3C, 0x1D, 0x8E, 0x5F, 0x60, 0x71, 0xA2, 0xB3, 0xC4, 0xD5, 0xE6, 0xF7, 0x08, 0x19, 0x2A, 0x3B,
];

/// Full journeys (and ones with a wrong PIN, a wrong PUK, wrong SCP03 keys) with secrets that
/// appear nowhere else: the trace, the JSON report, the error messages and the state file
/// hold none of them.
#[test]
fn no_secret_appears_in_traces_reports_errors_or_the_state_file() {
    let dir = temp("scan");
    let state = dir.join("card.state");
    let state_s = state.to_str().unwrap();
    // Successful journeys on the default card (PIN 123456, PUK 12345678, test keys) with our
    // new PIN, which stage 6 sets with the PUK and VERIFYs; then failing journeys with our
    // PIN, PUK and SCP03 keys as the wrong ones, which reach the card and the error messages.
    let new_pin_file = dir.join("new");
    std::fs::write(&new_pin_file, format!("{NEW_PIN}\n")).unwrap();
    let keys = format!(
        "{0}:{0}:{0}",
        SCP03.iter().map(|b| format!("{b:02X}")).collect::<String>()
    );
    let keys_file = dir.join("keys");
    std::fs::write(&keys_file, &keys).unwrap();
    let mut outputs = Vec::new();
    for extra in [&["--json"][..], &["--trace"][..], &[][..]] {
        let mut args = vec![
            "journey",
            "--state",
            state_s,
            "--new-pin-file",
            new_pin_file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = cardwire(&args);
        assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
        outputs.push((format!("journey {extra:?}"), all_text(&out)));
    }
    // A wrong PIN, a wrong PUK and wrong SCP03 keys: failures and their messages.
    for (var, value) in [
        ("CARDWIRE_PIN", PIN),
        ("CARDWIRE_PUK", PUK),
        ("CARDWIRE_SCP03_KEYS", keys.as_str()),
    ] {
        for extra in ["--json", "--trace"] {
            let out = cardwire_env(&["journey", extra], var, value);
            assert_eq!(out.status.code(), Some(1), "{var}: {}", all_text(&out));
            outputs.push((format!("journey {extra} with {var}"), all_text(&out)));
        }
    }
    // A malformed secret: the usage error does not echo it.
    let out = cardwire_env(
        &["journey"],
        "CARDWIRE_SCP03_KEYS",
        "3C1D8E5F6071A2B3C4D5E6F708192AZZ:1:2",
    );
    assert_eq!(out.status.code(), Some(2));
    outputs.push(("malformed keys".to_string(), all_text(&out)));
    let out = cardwire_env(&["journey"], "CARDWIRE_PIN", "24681x");
    assert_eq!(out.status.code(), Some(2));
    outputs.push(("malformed PIN".to_string(), all_text(&out)));
    for (context, text) in &outputs {
        assert_no_secret(text, "PIN", PIN.as_bytes(), context);
        assert_no_secret(text, "PUK", PUK.as_bytes(), context);
        assert_no_secret(text, "new PIN", NEW_PIN.as_bytes(), context);
        assert_no_secret(text, "SCP03 key", &SCP03, context);
        assert!(!text.contains("24681x"), "{context}: {text}");
        assert!(!text.contains("2AZZ"), "{context}: {text}");
    }
    // Nor is the default PIN or PUK (which the journeys above did use) in the state file.
    let bytes = std::fs::read(&state).unwrap();
    for secret in ["123456", "12345678", PIN] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn secrets_come_from_files_standard_input_and_the_environment() {
    let dir = temp("sources");
    // The right PIN from a file, from standard input, and from the environment: success.
    let pin_file = dir.join("pin");
    std::fs::write(&pin_file, "123456\n").unwrap();
    let out = cardwire(&["journey", "--pin-file", pin_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    let out = cardwire_stdin(&["journey", "--pin-stdin"], b"123456\n");
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    let out = cardwire_env(&["journey"], "CARDWIRE_PIN", "123456");
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    // A wrong PIN from each of them is really used (stage 3 fails).
    std::fs::write(&pin_file, "999999\n").unwrap();
    for out in [
        cardwire(&["journey", "--pin-file", pin_file.to_str().unwrap()]),
        cardwire_stdin(&["journey", "--pin-stdin"], b"999999\n"),
        cardwire_env(&["journey"], "CARDWIRE_PIN", "999999"),
    ] {
        assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
        assert!(all_text(&out).contains("stage 3"), "{}", all_text(&out));
    }
    // The help names every way.
    let help = all_text(&cardwire(&["journey", "--help"]));
    for needle in [
        "--pin-file",
        "--pin-stdin",
        "CARDWIRE_PIN",
        "CARDWIRE_PUK",
        "CARDWIRE_NEW_PIN",
        "CARDWIRE_SCP03_KEYS",
        "virtual card only",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_real_cards_secrets_are_refused_on_the_command_line() {
    for option in ["--pin", "--puk", "--new-pin", "--scp03-keys"] {
        let out = cardwire(&["journey", "--reader", "Any Reader", option, "1234"]);
        assert_eq!(out.status.code(), Some(2), "{option}");
        let text = all_text(&out);
        assert!(text.contains(&format!("{option}-file")), "{text}");
        assert!(!text.contains("1234"), "{text}");
    }
}

#[test]
fn a_sealed_state_file_needs_its_passphrase() {
    let dir = temp("sealed");
    let state = dir.join("card.state");
    let pass = dir.join("pass");
    std::fs::write(&pass, "a long test passphrase\n").unwrap();
    let args = [
        "journey",
        "--state",
        state.to_str().unwrap(),
        "--state-passphrase-file",
        pass.to_str().unwrap(),
    ];
    let out = cardwire(&args);
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    assert_eq!(&std::fs::read(&state).unwrap()[..8], b"CWVCSEAL");
    let out = cardwire(&args);
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    let out = cardwire(&["journey", "--state", state.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(all_text(&out).contains("passphrase"), "{}", all_text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_says_it_is_a_test_card_and_who_can_reach_it() {
    let help = all_text(&cardwire(&["serve", "--help"]));
    for needle in [
        "TEST CARD",
        "are public",
        "not tamper",
        "TCP only",
        "any local user",
        "--state-passphrase-file",
        "blocked after 10 failed",
        "key 9B",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}
