//! Differential test against the `der` crate: every DER input gives the same tree in strict
//! mode — the committed certificates under tests/data/ and, when present, every certificate
//! of the system CA bundle (/etc/ssl/certs/ca-certificates.crt).
// Test code: helpers outside #[test] functions unwrap and index too; a failure is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_tlv::{Mode, Tlv, Walker};
use der::{Decode, Header, Reader, SliceReader};

/// One node as both parsers report it: depth, class bits, constructed, tag number, offset,
/// header length, value length.
type Node = (u32, u8, bool, u32, usize, usize, usize);

fn cardwire_tree(bytes: &[u8]) -> Vec<Node> {
    Walker::new(bytes, Mode::Strict)
        .map(|item| {
            let (depth, t) = item.expect("cardwire strict parse");
            let tag = t.tag();
            (
                depth,
                tag.first_byte() & 0xC0,
                tag.is_constructed(),
                tag.number(),
                t.offset(),
                t.header_len(),
                t.len(),
            )
        })
        .collect()
}

fn der_tree(bytes: &[u8]) -> der::Result<Vec<Node>> {
    fn walk(data: &[u8], base: usize, depth: u32, out: &mut Vec<Node>) -> der::Result<()> {
        let mut reader = SliceReader::new(data)?;
        while !reader.is_finished() {
            let start = u32::from(reader.position()) as usize;
            let header = Header::decode(&mut reader)?;
            let header_len = u32::from(reader.position()) as usize - start;
            let value = reader.read_slice(header.length())?;
            let tag = header.tag();
            out.push((
                depth,
                tag.class() as u8,
                header.is_constructed(),
                tag.number().value(),
                base + start,
                header_len,
                value.len(),
            ));
            if header.is_constructed() {
                walk(value, base + start + header_len, depth + 1, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(bytes, 0, 1, &mut out)?;
    Ok(out)
}

fn check(name: &str, der_bytes: &[u8]) {
    let expected = der_tree(der_bytes).unwrap_or_else(|e| panic!("{name}: der rejects it: {e}"));
    assert!(expected.len() > 10, "{name}: a certificate has many nodes");
    assert_eq!(cardwire_tree(der_bytes), expected, "{name}");
    // Encoding what was parsed gives back the same bytes.
    let tlv = Tlv::parse_with(der_bytes, Mode::Strict).unwrap();
    let mut out = Vec::new();
    tlv.encode(&mut out).unwrap();
    assert_eq!(out, der_bytes, "{name}");
}

/// Base64 (RFC 4648) of a PEM body; whitespace ignored.
fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find(BEGIN) {
        let after = &rest[b + BEGIN.len()..];
        let Some(e) = after.find(END) else { break };
        certs.push(base64_decode(&after[..e]));
        rest = &after[e + END.len()..];
    }
    certs
}

#[test]
fn committed_certificates() {
    for name in [
        "isrg_root_x1.der",
        "isrg_root_x2.der",
        "digicert_global_root_g2.der",
    ] {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        check(name, &std::fs::read(path).unwrap());
    }
}

#[test]
fn system_ca_bundle_when_present() {
    let Ok(text) = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt") else {
        eprintln!("no system CA bundle here; the committed certificates are still checked");
        return;
    };
    let certs = pem_certificates(&text);
    assert!(!certs.is_empty(), "a CA bundle holds certificates");
    let mut checked = 0;
    for (i, cert) in certs.iter().enumerate() {
        // The bundle is DER inside PEM; a certificate that `der` itself rejects is not a DER
        // input and says nothing about cardwire (none is expected).
        if der_tree(cert).is_err() {
            eprintln!("certificate {i}: der rejects it, skipped");
            continue;
        }
        check(&format!("bundle certificate {i}"), cert);
        checked += 1;
    }
    eprintln!(
        "{checked} of {} bundle certificates agree with der",
        certs.len()
    );
    assert!(
        checked * 10 >= certs.len() * 9,
        "der accepted too few: {checked}"
    );
}

#[test]
fn base64_decoder() {
    assert_eq!(base64_decode("TWFu"), b"Man");
    assert_eq!(base64_decode("TW E=\n"), b"Ma");
}
