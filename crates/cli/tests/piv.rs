//! `cardwire piv` against the built-in virtual PIV card, kept in a state file between runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{cardwire, cardwire_env, cardwire_stdin};
use serde_json::Value;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cardwire-piv-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn status_shows_the_application_chuid_slots_and_retries() {
    let out = cardwire(&["piv", "status", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["application"], "000010000100");
    assert_eq!(r["chuid"]["guid"].as_str().unwrap().len(), 32);
    for slot in ["9A", "9C", "9D", "9E"] {
        let subject = r["slots"][slot]["subject"].as_str().unwrap();
        assert!(subject.contains(&format!("OU=PIV {slot}")), "{subject}");
        assert_eq!(
            r["slots"][slot]["issuer"],
            "CN=cardwire Virtual Issuing CA,O=cardwire,C=GB"
        );
    }
    assert_eq!(r["slots"]["9A"]["key_algorithm"], "1.2.840.113549.1.1.1");
    assert_eq!(r["pin_retries"], 3);
    assert_eq!(r["puk_retries"], 10);
    let text = cardwire(&["piv", "status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("PIN tries left: 3"), "{text}");
    assert!(text.contains("key      RSA"), "{text}");
}

#[test]
fn pins_signatures_generation_and_objects_persist() {
    let dir = temp("ops");
    let state = dir.join("card.state");
    let s = state.to_str().unwrap();
    // A wrong PIN from the environment counts a try, which the state file keeps.
    let out = cardwire_env(&["piv", "--state", s, "verify"], "CARDWIRE_PIN", "999999");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 tries left"));
    let out = cardwire(&["piv", "--state", s, "status", "--json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["pin_retries"], 2);
    // The right PIN from a file.
    let pin_file = dir.join("pin");
    std::fs::write(&pin_file, "123456\n").unwrap();
    let out = cardwire(&[
        "piv",
        "--state",
        s,
        "--pin-file",
        pin_file.to_str().unwrap(),
        "verify",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Sign with 9C (ECDSA) and 9A (RSA), PIN from standard input.
    let doc = dir.join("doc");
    std::fs::write(&doc, b"a document").unwrap();
    for (slot, len) in [("9c", None), ("9a", Some(512))] {
        let out = cardwire_stdin(
            &[
                "piv",
                "--state",
                s,
                "--pin-stdin",
                "sign",
                "--slot",
                slot,
                "--input",
                doc.to_str().unwrap(),
                "--json",
            ],
            b"123456\n",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let sig = r["signature"].as_str().unwrap();
        match len {
            Some(n) => assert_eq!(sig.len(), n),
            None => assert!(sig.starts_with("30"), "{sig}"),
        }
    }
    // GENERATE needs the management key: a wrong one is refused, the default works.
    let out = cardwire_env(
        &[
            "piv",
            "--state",
            s,
            "generate",
            "--slot",
            "9d",
            "--algorithm",
            "p256",
        ],
        "CARDWIRE_MANAGEMENT_KEY",
        "000000000000000000000000000000000000000000000000",
    );
    assert_eq!(out.status.code(), Some(1));
    let public = dir.join("9d.der");
    let out = cardwire_env(
        &[
            "piv",
            "--state",
            s,
            "generate",
            "--slot",
            "9d",
            "--algorithm",
            "p256",
            "--out",
            public.to_str().unwrap(),
        ],
        "CARDWIRE_MANAGEMENT_KEY",
        "010203040506070801020304050607080102030405060708",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&public).unwrap().len() > 64);
    // Import the 9A certificate into 9E (any certificate will do for the container).
    let cert = dir.join("9a.der");
    let out = cardwire(&[
        "piv",
        "--state",
        s,
        "read-object",
        "cert-9a",
        "--out",
        cert.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let container = std::fs::read(&cert).unwrap();
    // The container: 70 certificate, 71 CertInfo, FE LRC; take the certificate out.
    let der_len = usize::from(container[2]) << 8 | usize::from(container[3]);
    std::fs::write(&cert, &container[4..4 + der_len]).unwrap();
    let out = cardwire_env(
        &[
            "piv",
            "--state",
            s,
            "import-cert",
            "--slot",
            "9e",
            "--cert",
            cert.to_str().unwrap(),
        ],
        "CARDWIRE_MANAGEMENT_KEY",
        "010203040506070801020304050607080102030405060708",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cardwire(&["piv", "--state", s, "status", "--json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r["slots"]["9E"]["subject"]
            .as_str()
            .unwrap()
            .contains("OU=PIV 9A")
    );
    // Printed information needs the PIN.
    let out = cardwire(&["piv", "--state", s, "read-object", "printed"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("6982"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn block_and_unblock() {
    let dir = temp("block");
    let state = dir.join("card.state");
    let s = state.to_str().unwrap();
    for _ in 0..3 {
        cardwire_env(&["piv", "--state", s, "verify"], "CARDWIRE_PIN", "000000");
    }
    let out = cardwire_env(&["piv", "--state", s, "verify"], "CARDWIRE_PIN", "123456");
    assert!(String::from_utf8_lossy(&out.stderr).contains("blocked"));
    let out = cardwire_stdin(
        &["piv", "--state", s, "--pin-stdin", "unblock"],
        b"12345678\n654321\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cardwire_env(&["piv", "--state", s, "verify"], "CARDWIRE_PIN", "654321");
    assert!(out.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pinpad_needs_a_reader() {
    // A PIN pad is a reader's: the built-in virtual card has none, so --pinpad without
    // --reader is a usage error (exit 2) that names the fix, and no PIN is asked.
    let out = cardwire(&["piv", "verify", "--pinpad"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--reader"), "{err}");
    assert!(out.stdout.is_empty());
}
