//! `cardwire tlv` run as a process: output, JSON form, exit statuses, stderr.
// Test code: helpers outside #[test] functions unwrap and index too; a failure is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{cardwire, cardwire_stdin, stderr, stdout};

const FCI: &str = "6F24840E315041592E5359532E4444463031A5128801015F2D08656E6573667264659F110101";

#[test]
fn readme_main_command_prints_the_named_tree() {
    let o = cardwire(&["tlv", FCI]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "6F (36) File Control Information (FCI) template\n\
         \x20 84 (14) Dedicated file (DF) name: 315041592E5359532E4444463031 \"1PAY.SYS.DDF01\"\n\
         \x20 A5 (18) FCI proprietary template\n\
         \x20   88 (1) Short file identifier (SFI): 01\n\
         \x20   5F2D (8) Language preference: 656E657366726465 \"enesfrde\"\n\
         \x20   9F11 (1) Issuer code table index: 01\n"
    );
}

#[test]
fn json_form_matches_the_issue() {
    let o = cardwire(&["tlv", "--json", FCI]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.starts_with(r#"[{"tag":"6F","constructed":true,"length":36,"offset":0,"children":[{"tag":"84","constructed":false,"length":14,"offset":2,"value":"315041592E5359532E4444463031"}"#),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let a5 = &v[0]["children"][1];
    assert_eq!(a5["tag"], "A5");
    assert_eq!(a5["offset"], 18);
    assert_eq!(a5["children"][1]["tag"], "5F2D");
    assert_eq!(a5["children"][1]["value"], "656E657366726465");
    assert_eq!(a5["children"][2]["tag"], "9F11");
    assert_eq!(a5["children"].as_array().unwrap().len(), 3);
}

#[test]
fn hex_with_separators_and_stdin() {
    let spaced = "6F 24:84 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31\nA5 12 88 01 01 5F 2D 08 65 6E 65 73 66 72 64 65 9F 11 01 01\n";
    let a = cardwire(&["tlv", spaced]);
    let b = cardwire_stdin(&["tlv", "-"], spaced.as_bytes());
    let c = cardwire(&["tlv", FCI]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    assert_eq!(stdout(&a), stdout(&c));
    assert_eq!(stdout(&b), stdout(&c));
}

#[test]
fn strict_mode_rejects_emv_tag_with_offset() {
    let o = cardwire(&["tlv", "--mode", "strict", FCI]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("invalid tag at offset 34"), "{err}");
}

#[test]
fn iso_mode_skips_filler() {
    let o = cardwire(&["tlv", "--mode", "iso", "--json", "00FF8401AA00"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "[{\"tag\":\"84\",\"constructed\":false,\"length\":1,\"offset\":2,\"value\":\"AA\"}]\n"
    );
}

#[test]
fn malformed_inputs_exit_1_with_one_line() {
    for (input, needle) in [
        (
            "6F05840301",
            "truncated value at offset 0: 2 more byte(s) needed",
        ),
        ("1F8001", "invalid tag at offset 0"),
        ("8485", "invalid length byte 85 at offset 1"),
        ("3080", "indefinite length"),
        ("6F068484FFFFFFFF", "length beyond input at offset 2"),
        ("84", "truncated header at offset 0"),
        ("6G", "not a hex digit"),
        ("123", "odd number"),
    ] {
        let o = cardwire(&["tlv", input]);
        assert_eq!(o.status.code(), Some(1), "{input}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{input}: {err}");
        assert!(err.contains(needle), "{input}: {err}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let mut hex = String::new();
    for _ in 0..3000 {
        hex.push_str("A080");
    }
    // 3000 x "A0 80": indefinite lengths, rejected at the first one.
    let o = cardwire(&["tlv", &hex]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("indefinite length (80) at offset 1"));
    // 3000 real levels, built from the inside out: "too deep" at the default limit of 64.
    let mut v = vec![0x04u8, 0x00];
    for _ in 0..3000 {
        let n = v.len();
        let mut h = vec![0xA1, 0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        h.extend(v);
        v = h;
    }
    let hex: String = v.iter().map(|b| format!("{b:02X}")).collect();
    let o = cardwire(&["tlv", "--mode", "lenient", &hex]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("too deep at offset 320"),
        "{}",
        stderr(&o)
    );
    // 60 levels decode (under the default limit).
    let mut v = vec![0x04u8, 0x00];
    for _ in 0..60 {
        let mut h = vec![0xA1, v.len() as u8];
        if v.len() >= 0x80 {
            h = vec![0xA1, 0x81, v.len() as u8];
        }
        h.extend(v);
        v = h;
    }
    let hex: String = v.iter().map(|b| format!("{b:02X}")).collect();
    let o = cardwire(&["tlv", "--json", &hex]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let parsed: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(parsed[0]["tag"], "A1");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(cardwire(&["tlv"]).status.code(), Some(2));
    assert_eq!(
        cardwire(&["tlv", "--mode", "loose", "8400"]).status.code(),
        Some(2)
    );
    assert_eq!(
        cardwire(&["tlv", "--simple", "--compact", "0100"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn simple_tlv() {
    let o = cardwire(&["tlv", "--simple", "--json", "0102AABB02FF000101"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "[{\"tag\":\"01\",\"constructed\":false,\"length\":2,\"offset\":0,\"value\":\"AABB\"},\
         {\"tag\":\"02\",\"constructed\":false,\"length\":1,\"offset\":4,\"value\":\"01\"}]\n"
    );
    let bad = cardwire(&["tlv", "--simple", "FF00"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("invalid tag at offset 0"));
}

#[test]
fn compact_historical_bytes_of_a_yubikey() {
    // Historical bytes of the YubiKey 5 NFC ATR.
    let o = cardwire(&["tlv", "--compact", "80 73 C0 21 C0 57 59 75 62 69 4B 65 79"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("category 80: COMPACT-TLV objects\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "card capabilities: command chaining yes, extended Lc/Le yes, logical channels 1\n"
        ),
        "{out}"
    );
    assert!(out.contains("7 (3) Card capabilities: C021C0\n"), "{out}");
    assert!(
        out.contains("5 (7) Card issuer's data: 597562694B6579 \"YubiKey\"\n"),
        "{out}"
    );
    let json = cardwire(&["tlv", "--compact", "--json", "3180"]);
    assert_eq!(
        stdout(&json),
        "[{\"tag\":\"3\",\"constructed\":false,\"length\":1,\"offset\":0,\"value\":\"80\"}]\n"
    );
}

#[test]
fn arbitrary_bytes_never_crash() {
    // A sweep of short hostile inputs in every mode: exit 0 or 1, never a panic (101).
    let samples = [
        "",
        "00",
        "FF",
        "1F",
        "1F80",
        "9F",
        "5F01",
        "BF0C00",
        "848400000000",
        "8484FFFFFFFF",
        "A0",
        "A00184",
        "A0028400",
        "30823FFF",
        "FFFFFFFF",
        "0000",
        "6F0200FF",
    ];
    for mode in ["strict", "iso", "lenient"] {
        for s in samples {
            for extra in [
                &[][..],
                &["--json"][..],
                &["--simple"][..],
                &["--compact"][..],
            ] {
                let mut args = vec!["tlv", "--mode", mode];
                args.extend_from_slice(extra);
                args.push(s);
                let o = cardwire(&args);
                let code = o.status.code();
                assert!(code == Some(0) || code == Some(1), "{args:?}: {code:?}");
            }
        }
    }
}
