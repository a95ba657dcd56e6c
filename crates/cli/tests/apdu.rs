//! `cardwire apdu` and `cardwire sw` run as a process: output, JSON keys, exit statuses.

// Test code: a failing test is a panic by design (clippy.toml allows this in #[test] fns, not
// in the helpers they share).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Output;

use common::{cardwire, cardwire_stdin, stderr, stdout};

use serde_json::Value;

fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap()
}

#[test]
fn command_text_names_everything() {
    // SELECT the EMV Visa AID (EMV Book 1 Annex: A0000000031010).
    let o = cardwire(&["apdu", "00A4040007A000000003101000"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("case 4S\n"), "{out}");
    assert!(out.contains("INS  A4 SELECT\n"), "{out}");
    assert!(
        out.contains("channel 0, chaining no, secure messaging none"),
        "{out}"
    );
    assert!(out.contains("data A0000000031010\n"), "{out}");
    assert!(out.contains("Ne   256\n"), "{out}");
}

#[test]
fn command_json_keys_for_every_case() {
    let cases = [
        ("00A40000", "1", 0, 0),
        ("00B0000000", "2S", 0, 256),
        ("00A4000C023F00", "3S", 2, 0),
        ("00A4040002A00000", "4S", 2, 256),
        ("00B00000000000", "2E", 0, 65_536),
        ("00D6000000000201FF", "3E", 2, 0),
        ("002A9E9A000001AA0100", "4E", 1, 256),
    ];
    for (hex, case, nc, ne) in cases {
        let v = json(&cardwire(&["apdu", "--json", hex]));
        assert_eq!(v["case"], case, "{hex}");
        assert_eq!(v["nc"], nc, "{hex}");
        assert_eq!(v["ne"], ne, "{hex}");
        for key in ["cla", "ins", "ins_name", "p1", "p2", "data"] {
            assert!(v.get(key).is_some(), "{hex}: no {key}");
        }
    }
    let v = json(&cardwire(&["apdu", "--json", "6DB1011C05540301000000"]));
    assert_eq!(v["cla"], "6D");
    assert_eq!(v["channel"], 17);
    assert_eq!(v["secure_messaging"], "ISO, header not processed");
    assert_eq!(v["ins"], "B1");
    assert_eq!(v["ins_name"], "READ BINARY (odd INS)");
    assert_eq!(v["p1"], "01");
    assert_eq!(v["p2"], "1C");
    assert_eq!(v["data"], "5403010000");
    assert_eq!(v["ne"], 256);
    let v = json(&cardwire(&["apdu", "--json", "80CA9F7F00"]));
    assert_eq!(v["ins_name"], "GET DATA");
    let v = json(&cardwire(&["apdu", "--json", "80F2000000"]));
    assert_eq!(v["ins_name"], Value::Null);
}

#[test]
fn command_from_stdin() {
    let o = cardwire_stdin(&["apdu", "--json", "-"], b"00 84 00 00\n08\n");
    let v = json(&o);
    assert_eq!(v["ins_name"], "GET CHALLENGE");
    assert_eq!(v["ne"], 8);
}

#[test]
fn response_with_tlv_data() {
    let rsp = "6F1A8407A0000000031010A50F500A564953412044454249548701019000";
    let v = json(&cardwire(&["apdu", "--response", "--json", rsp]));
    assert_eq!(v["sw"], "9000");
    assert_eq!(
        v["sw_meaning"],
        "normal processing, no further qualification"
    );
    assert_eq!(v["data"], &rsp[..rsp.len() - 4]);
    let tree = &v["data_tlv"];
    assert_eq!(tree[0]["tag"], "6F");
    assert_eq!(tree[0]["constructed"], true);
    assert_eq!(tree[0]["children"][0]["tag"], "84");
    assert_eq!(tree[0]["children"][0]["value"], "A0000000031010");
    assert_eq!(tree[0]["children"][1]["children"][0]["tag"], "50");
    // The same tree as `cardwire tlv --json` gives for the data.
    let tlv = json(&cardwire(&["tlv", "--json", &rsp[..rsp.len() - 4]]));
    assert_eq!(tree, &tlv);

    let o = cardwire(&["apdu", "--response", rsp]);
    let out = stdout(&o);
    assert!(
        out.contains("84 (7) Dedicated file (DF) name: A0000000031010"),
        "{out}"
    );
    assert!(
        out.ends_with("SW   9000 normal processing, no further qualification\n"),
        "{out}"
    );
}

#[test]
fn response_without_tlv_data() {
    let v = json(&cardwire(&["apdu", "--response", "--json", "0102036282"]));
    assert_eq!(v["data"], "010203");
    assert_eq!(v["sw"], "6282");
    assert_eq!(
        v["sw_meaning"],
        "end of file or record reached before reading Ne bytes"
    );
    assert!(v.get("data_tlv").is_none());
    let v = json(&cardwire(&["apdu", "--response", "--json", "6A82"]));
    assert_eq!(v["data"], "");
    assert!(v.get("data_tlv").is_none());
}

#[test]
fn sw_meanings() {
    let o = cardwire(&["sw", "6A82"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "6A82: file or application not found (checking error)\n"
    );
    let o = cardwire(&["sw", "63C2"]);
    assert!(
        stdout(&o).contains("counter 2 (retries left)"),
        "{}",
        stdout(&o)
    );
    let o = cardwire(&["sw", "6110"]);
    assert!(stdout(&o).contains("16 byte(s) available with GET RESPONSE"));
    let v = json(&cardwire(&["sw", "--json", "6C00"]));
    assert_eq!(v["exact_length"], 256);
    assert_eq!(v["class"], "checking error");
}

#[test]
fn malformed_input_exits_1_with_one_line() {
    for args in [
        &["apdu", "00A4"][..],
        &["apdu", "00A40000FF01"],
        &["apdu", "00D600000000000102"],
        &["apdu", "00B0000000000000"],
        &["apdu", "zz"],
        &["apdu", "--response", "90"],
        &["apdu", "--response", ""],
        &["sw", "6A"],
        &["sw", "6A8200"],
        &["sw", "GG00"],
    ] {
        let o = cardwire(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("cardwire: "), "{err}");
        assert!(stdout(&o).is_empty());
    }
    let err = stderr(&cardwire(&["apdu", "00D600000000000102"]));
    assert!(err.contains("extended Lc 0000"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["apdu"][..],
        &["sw"],
        &["apdu", "--bogus", "00A40000"],
        &["sw", "90", "00"],
    ] {
        let o = cardwire(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}
