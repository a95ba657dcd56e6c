//! The host side against recorded answers of real PIV cards, replayed through
//! `cardwire_transport::Replay` under a real `Card` session (its `61xx`/GET RESPONSE
//! handling included, with the capabilities each card's ATR announces).
//!
//! The answers live in `tests/real_cards/*.txt`, one file per card, each naming its source:
//! - `nist-test-card-14.txt`: NIST's "PIV Test Card 14" (OpenSC fuzzing corpus, Jakub Jelen);
//! - `yubikey-4.txt`: a YubiKey 4 (same corpus and commit);
//! - `yubikey-5-nfc.txt`: a YubiKey 5 NFC, firmware 5.4.3 (OpenSC fuzzing corpus, Veronika
//!   Hanulikova), with a deciphering whose result the test checks against the certificate's
//!   public key: the answers are a real card's;
//! - `oberthur-id-one-piv.txt`: an Oberthur ID-One PIV BIO NIST demonstration card's SELECT
//!   answer (makinako/OpenFIPS201 pull request #39).
//!
//! `Replay` does not compare the commands with the recorded ones: each test sends the
//! commands whose answers it replays, in the recorded order, and checks that the transcript is
//! used up exactly (so every `61xx` was followed by the GET RESPONSE it asks for).
// Test code: a failing expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_pin::{Pin, PinOutcome, PinReference};
use cardwire_piv::{
    AlgorithmId, AuthTemplateRepr, CardCapabilityContainerRepr, CertInfo, CertificateObjectRepr,
    ChuidRepr, Error, KeyHistoryRepr, ObjectId, Operation, PIV_AID_FULL, PinUsagePolicy, Piv, Slot,
    Target,
};
use cardwire_transport::{Card, Replay, TranscriptWriter};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;

/// One card's recorded answers: `atr HEX`, then `label HEX` lines (`#` comments).
struct Fixture {
    atr: Vec<u8>,
    lines: Vec<(String, Vec<u8>)>,
}

impl Fixture {
    fn parse(text: &str) -> Self {
        let mut atr = Vec::new();
        let mut lines = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (label, hex) = line.split_once(' ').expect("`label HEX`");
            let hex: String = hex.split_whitespace().collect();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            if label == "atr" {
                atr = bytes;
            } else {
                lines.push((label.to_owned(), bytes));
            }
        }
        Fixture { atr, lines }
    }

    /// The records of the `n`-th run of consecutive lines labelled `label` (an answer and
    /// the GET RESPONSE answers that follow it).
    fn records(&self, label: &str, n: usize) -> Vec<&[u8]> {
        let mut runs: Vec<Vec<&[u8]>> = Vec::new();
        let mut previous = "";
        for (l, bytes) in &self.lines {
            if l == label {
                if previous != label {
                    runs.push(Vec::new());
                }
                runs.last_mut().unwrap().push(bytes);
            }
            previous = l;
        }
        runs.into_iter()
            .nth(n)
            .unwrap_or_else(|| panic!("no answer {label} #{n}"))
    }

    /// The only line labelled `label`, joined (command data, not an answer).
    fn bytes(&self, label: &str) -> Vec<u8> {
        self.records(label, 0).concat()
    }

    /// A `Replay` transcript of the answers `labels` name, in that order (`label` or
    /// `label#n` for the n-th answer with that label).
    fn transcript(&self, labels: &[&str]) -> Vec<u8> {
        let mut w = TranscriptWriter::new(&self.atr);
        for spec in labels {
            let (label, n) = match spec.split_once('#') {
                Some((l, n)) => (l, n.parse().unwrap()),
                None => (*spec, 0),
            };
            for record in self.records(label, n) {
                w.response(record);
            }
        }
        w.into_bytes()
    }
}

fn open(transcript: &[u8]) -> Piv<Card<Replay<'_>>> {
    Piv::new(Card::open(Replay::new(transcript).unwrap()).unwrap())
}

/// Every recorded answer was consumed.
fn used_up(piv: Piv<Card<Replay<'_>>>) {
    let replay = piv.into_inner().into_transport();
    assert!(replay.remaining().is_empty(), "answers left over");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|b| format!("{b:02X}").into_bytes())
        .collect()
}

/// The object identifiers of the EC curves in a certificate's SubjectPublicKeyInfo.
const OID_P256: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_P384: [u8; 7] = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];
/// The start of an RSA-2048 SubjectPublicKeyInfo (RFC 8017 Appendix C, RFC 5280 §4.1).
const SPKI_RSA_2048: [u8; 19] = [
    0x30, 0x82, 0x01, 0x22, 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01,
    0x01, 0x05, 0x00,
];

/// A DER certificate: one SEQUENCE whose length covers the whole input.
fn assert_der_certificate(der: &[u8]) {
    let (header, len) = match der[..2] {
        [0x30, 0x81] => (3, usize::from(der[2])),
        [0x30, 0x82] => (4, usize::from(u16::from_be_bytes([der[2], der[3]]))),
        _ => panic!("not a DER SEQUENCE"),
    };
    assert_eq!(header + len, der.len());
}

/// The repr of a real container encodes to bytes that parse back to the same repr (the
/// property the `piv_containers` fuzz target checks; these containers seed it as
/// `fuzz/corpus/piv_containers/real_*`).
macro_rules! repr_round_trip {
    ($repr:expr, $parse:expr) => {{
        let repr = $repr;
        let mut out = vec![0u8; repr.encoded_len()];
        let encoded = repr.encode(&mut out).unwrap();
        assert_eq!($parse(encoded).unwrap(), repr);
    }};
}

const YUBIKEY_4: &str = include_str!("real_cards/yubikey-4.txt");
const YUBIKEY_5: &str = include_str!("real_cards/yubikey-5-nfc.txt");
const NIST_14: &str = include_str!("real_cards/nist-test-card-14.txt");
const OBERTHUR: &str = include_str!("real_cards/oberthur-id-one-piv.txt");

/// Yubico's default CHUID FASC-N as yubico-piv-tool writes it: agency 9999, system 9999,
/// credential 999999, CS 0, ICI 1, PI 0000000000, OC 3, OI 0000, POA 1.
const YUBICO_FASCN: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08,
    0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];

#[test]
fn yubikey_4() {
    let fx = Fixture::parse(YUBIKEY_4);
    let t = fx.transcript(&[
        "select",
        "discovery",
        "chuid",
        "cert-9a",
        "cert-9c",
        "cert-9d",
        "cert-9e",
        "verify-status",
    ]);
    let mut piv = open(&t);
    let mut buf = vec![0u8; 4096];

    // The application property template: YubiKeys put the PIX alone in 4F.
    let apt = piv.select(&mut buf).unwrap();
    assert_eq!(apt.aid(), &[0x00, 0x00, 0x10, 0x00, 0x01, 0x00]);
    assert_eq!(apt.authority(), Some(&[0xA0, 0x00, 0x00, 0x03, 0x08][..]));
    assert_eq!(apt.label(), None);
    assert_eq!(apt.algorithms().count(), 0);

    let discovery = piv.read_discovery(&mut buf).unwrap();
    assert_eq!(discovery.aid(), &PIV_AID_FULL);
    let policy = discovery.pin_usage_policy().unwrap();
    assert_eq!(policy, PinUsagePolicy::APPLICATION_PIN_ONLY);
    assert!(policy.application_pin() && !policy.global_pin());

    // The CHUID an old yubico-piv-tool wrote: its FASC-N differs from today's default in the
    // organizational category, which is the character 0xC, not a digit: the container is
    // read, the FASC-N decoder refuses the value.
    let chuid = piv.read_chuid(&mut buf).unwrap();
    repr_round_trip!(chuid.repr(), ChuidRepr::parse);
    assert_eq!(&chuid.fascn_bytes()[..20], &YUBICO_FASCN[..20]);
    assert_ne!(chuid.fascn_bytes(), &YUBICO_FASCN);
    assert!(matches!(
        chuid.fascn(),
        Err(Error::Malformed {
            target: Target::Object(ObjectId::CHUID),
            ..
        })
    ));
    assert_eq!(
        chuid.guid(),
        &[
            0x53, 0x4D, 0x25, 0xD2, 0x42, 0x29, 0x26, 0x38, 0xEB, 0xB2, 0xE3, 0x1E, 0x17, 0xAC,
            0xAF, 0x1E
        ]
    );
    assert_eq!(chuid.expiration(), b"20300101");
    assert_eq!(chuid.issuer_signature(), Some(&[][..]));
    assert!(!chuid.has_issuer_signature());

    // Four certificate containers, uncompressed, 61xx answers gathered by GET RESPONSE.
    let cases: [(Slot, usize, &[u8]); 4] = [
        (Slot::AUTHENTICATION, 0x24D, b"Example Test CA"),
        (Slot::SIGNATURE, 0x1A7, b"SSH key"),
        (Slot::KEY_MANAGEMENT, 0x163, b"SSH test key"),
        // A placeholder: RSA-1024, empty issuer and subject, both validity dates the
        // GeneralizedTime "000001010000Z" (year 0000).
        (Slot::CARD_AUTHENTICATION, 0xF0, b"\x18\x0D000001010000Z"),
    ];
    for (slot, len, text) in cases {
        let cert = piv.read_certificate(slot, &mut buf).unwrap();
        assert_eq!(cert.object(), slot.object().unwrap());
        assert_eq!(cert.info(), CertInfo::UNCOMPRESSED);
        assert_eq!(cert.mscuid(), None);
        let der = cert.certificate().unwrap();
        assert_eq!(der.len(), len, "{slot:?}");
        assert_der_certificate(der);
        assert!(contains(der, text), "{slot:?}");
        assert_eq!(contains(der, &OID_P384), slot == Slot::KEY_MANAGEMENT);
    }

    assert_eq!(
        piv.pin_status(PinReference::PIV_APPLICATION_PIN).unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
    used_up(piv);
}

#[test]
fn yubikey_5_nfc() {
    let fx = Fixture::parse(YUBIKEY_5);
    let t = fx.transcript(&[
        "select",
        "discovery",
        "chuid",
        "cert-9a",
        "cert-9c",
        "cert-9d",
        "cert-9e",
        "verify-status",
        "verify#0",
        "sign-ecdsa",
        "verify#1",
        "decipher-rsa",
        "challenge",
        "not-verified",
    ]);
    let mut piv = open(&t);
    let mut buf = vec![0u8; 4096];

    let apt = piv.select(&mut buf).unwrap();
    assert_eq!(apt.aid(), &[0x00, 0x00, 0x10, 0x00, 0x01, 0x00]);
    assert_eq!(apt.authority(), Some(&[0xA0, 0x00, 0x00, 0x03, 0x08][..]));
    let discovery = piv.read_discovery(&mut buf).unwrap();
    assert_eq!(
        discovery.pin_usage_policy(),
        Some(PinUsagePolicy::APPLICATION_PIN_ONLY)
    );

    // Today's yubico-piv-tool CHUID: the default FASC-N, which decodes.
    let chuid = piv.read_chuid(&mut buf).unwrap();
    repr_round_trip!(chuid.repr(), ChuidRepr::parse);
    assert_eq!(chuid.fascn_bytes(), &YUBICO_FASCN);
    let fascn = chuid.fascn().unwrap();
    assert_eq!(&fascn.agency_code, b"9999");
    assert_eq!(&fascn.system_code, b"9999");
    assert_eq!(&fascn.credential_number, b"999999");
    assert_eq!(fascn.credential_series, b'0');
    assert_eq!(fascn.individual_credential_issue, b'1');
    assert_eq!(&fascn.person_identifier, b"0000000000");
    assert_eq!(fascn.organizational_category, b'3');
    assert_eq!(&fascn.organizational_identifier, b"0000");
    assert_eq!(fascn.association_category, b'1');
    assert_eq!(fascn.encode().unwrap(), YUBICO_FASCN);
    assert_eq!(&chuid.guid()[..4], &[0x9A, 0xC0, 0x79, 0x32]);
    assert_eq!(chuid.expiration(), b"20300101");
    assert!(!chuid.has_issuer_signature());

    // 9A: RSA-2048 over three answers (61 00, 61 BB, 9000).
    let cert = piv
        .read_certificate(Slot::AUTHENTICATION, &mut buf)
        .unwrap();
    assert_eq!(cert.info(), CertInfo::UNCOMPRESSED);
    let der = cert.certificate().unwrap();
    assert_eq!(der.len(), 0x2AE);
    assert_der_certificate(der);
    let at = der
        .windows(SPKI_RSA_2048.len())
        .position(|w| w == SPKI_RSA_2048)
        .unwrap();
    let rsa_public = rsa::PublicKey::from_public_key_der(&der[at..at + 0x126]).unwrap();
    assert_eq!(rsa_public.size(), 256);
    for (slot, len, oid) in [
        (Slot::SIGNATURE, 0x121, &OID_P256[..]),
        (Slot::KEY_MANAGEMENT, 0x15D, &OID_P384[..]),
    ] {
        let cert = piv.read_certificate(slot, &mut buf).unwrap();
        let der = cert.certificate().unwrap();
        assert_eq!(der.len(), len);
        assert_der_certificate(der);
        assert!(contains(der, oid));
        assert!(contains(der, b"user"));
    }
    // 9E: no certificate on this key.
    assert_eq!(
        piv.read_certificate(Slot::CARD_AUTHENTICATION, &mut buf),
        Err(Error::Status {
            operation: Operation::GetData,
            target: Target::Object(ObjectId::X509_CARD_AUTHENTICATION),
            sw: cardwire_apdu::StatusWord(0x6A82),
        })
    );

    assert_eq!(
        piv.pin_status(PinReference::PIV_APPLICATION_PIN).unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
    let pin = Pin::new(b"123456").unwrap();
    assert_eq!(
        piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin)
            .unwrap(),
        PinOutcome::Verified
    );
    // ECDSA: the DER signature out of 7C { 82 }.
    let sig = piv
        .sign(
            Slot::SIGNATURE,
            AlgorithmId::ECC_P256,
            &[0x5A; 32],
            &mut buf,
        )
        .unwrap();
    assert_eq!(sig.len(), 0x46);
    let sig = p256::ecdsa::Signature::from_der(sig).unwrap();
    assert_eq!(&sig.r().to_bytes()[..4], &[0x5F, 0xB0, 0x33, 0xFB]);

    // RSA: the raw private-key operation on the 256 bytes sent; the card's answer, raised to
    // the certificate's public exponent, gives them back.
    assert_eq!(
        piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin)
            .unwrap(),
        PinOutcome::Verified
    );
    let sent = fx.bytes("sent-decipher");
    let plain = piv
        .sign(Slot::AUTHENTICATION, AlgorithmId::RSA_2048, &sent, &mut buf)
        .unwrap()
        .to_vec();
    assert_eq!(plain.len(), 256);
    let m = rsa::BoxedUint::from_be_slice_vartime(&plain);
    let c = rsa::hazmat::rsa_encrypt(&rsa_public, &m).unwrap();
    assert_eq!(c.to_be_bytes_trimmed_vartime().as_ref(), &sent[..]);

    // GENERAL AUTHENTICATE 9B with a challenge request (how OpenSC asks for random bytes).
    for _ in 0..2 {
        let request = AuthTemplateRepr {
            challenge: Some(&[]),
            ..Default::default()
        };
        let answer = piv
            .general_authenticate(AlgorithmId::TDES_3KEY, Slot::MANAGEMENT, &request, &mut buf)
            .unwrap();
        assert_eq!(answer.challenge().map(<[u8]>::len), Some(8));
        assert_eq!(answer.witness(), None);
        assert_eq!(answer.response(), None);
    }
    // A signature without the PIN: 6982 for key 9C.
    assert_eq!(
        piv.sign(
            Slot::SIGNATURE,
            AlgorithmId::ECC_P256,
            &[0x5A; 32],
            &mut buf
        ),
        Err(Error::Status {
            operation: Operation::GeneralAuthenticate,
            target: Target::Key(Slot::SIGNATURE),
            sw: cardwire_apdu::StatusWord(0x6982),
        })
    );
    used_up(piv);
}

#[test]
fn nist_test_card_14() {
    let fx = Fixture::parse(NIST_14);
    let t = fx.transcript(&[
        "discovery",
        "ccc",
        "key-history",
        "chuid",
        "cert1",
        "cert2",
        "cert3",
        "cert4",
        "cert5",
        "verify-status",
    ]);
    let mut piv = open(&t);
    let mut buf = vec![0u8; 4096];

    let discovery = piv.read_discovery(&mut buf).unwrap();
    assert_eq!(discovery.aid(), &PIV_AID_FULL);
    assert_eq!(
        discovery.pin_usage_policy(),
        Some(PinUsagePolicy::APPLICATION_PIN_ONLY)
    );

    // The CCC: every object present, all empty but the data model number (10); an empty
    // card identifier.
    let ccc = piv.read_ccc(&mut buf).unwrap();
    assert_eq!(ccc.card_identifier(), &[] as &[u8]);
    assert_eq!(ccc.data_model(), Some(0x10));
    assert_eq!(ccc.container_version(), None);
    assert_eq!(ccc.grammar_version(), None);
    let repr = ccc.repr();
    assert_eq!(repr.card_identifier, None);
    assert!(repr.card_apdus && repr.redirection && repr.next_ccc);
    // The view keeps the values, not the empty F1, F2 and F4 (single bytes that are absent):
    // the repr writes the rest back as the card had it.
    let mut out = [0u8; 64];
    let encoded = repr.encode(&mut out).unwrap();
    let recorded = fx.records("ccc", 0)[0];
    let without_empty_bytes: Vec<u8> =
        [&recorded[2..4], &recorded[8..10], &recorded[12..]].concat();
    assert_eq!(
        encoded,
        &without_empty_bytes[..without_empty_bytes.len() - 2]
    );
    assert_eq!(CardCapabilityContainerRepr::parse(encoded).unwrap(), repr);

    // Key history: one retired key with its certificate on the card, four off the card.
    let history = piv.read_key_history(&mut buf).unwrap();
    repr_round_trip!(history.repr(), KeyHistoryRepr::parse);
    assert_eq!(history.on_card_certs(), 1);
    assert_eq!(history.off_card_certs(), 4);
    let url = history.off_card_url().unwrap();
    assert!(url.starts_with(b"http://smime2.nist.gov/D4746E"));
    assert_eq!(url.len(), 0x57);

    // The CHUID: 2 315 bytes over ten answers, signed by the issuer (CMS SignedData).
    let chuid = piv.read_chuid(&mut buf).unwrap();
    repr_round_trip!(chuid.repr(), ChuidRepr::parse);
    let fascn_bytes: [u8; 25] = chuid.fascn_bytes().try_into().unwrap();
    let fascn = chuid.fascn().unwrap();
    assert_eq!(&fascn.agency_code, b"3201");
    assert_eq!(&fascn.system_code, b"4399");
    assert_eq!(&fascn.credential_number, b"394149");
    assert_eq!(fascn.credential_series, b'1');
    assert_eq!(fascn.individual_credential_issue, b'5');
    assert_eq!(&fascn.person_identifier, b"6091935084");
    assert_eq!(fascn.organizational_category, b'1');
    assert_eq!(&fascn.organizational_identifier, b"3201");
    assert_eq!(fascn.association_category, b'1');
    assert_eq!(fascn.encode().unwrap(), fascn_bytes);
    assert_eq!(chuid.guid(), &[0u8; 16]);
    assert_eq!(chuid.expiration(), b"20301231");
    assert_eq!(chuid.cardholder_uuid(), None);
    let signature = chuid.issuer_signature().unwrap();
    assert_eq!(signature.len(), 0x8CA);
    // ContentInfo { id-signedData (1.2.840.113549.1.7.2), ... }
    assert_eq!(
        &signature[4..15],
        &[
            0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02
        ]
    );
    assert!(chuid.has_issuer_signature());

    // Five gzip-compressed certificates (CertInfo 01): 9A, 9C, 9D, 9E and retired key 82.
    let retired = Slot::retired(1).unwrap();
    let slots = [
        Slot::AUTHENTICATION,
        Slot::SIGNATURE,
        Slot::KEY_MANAGEMENT,
        Slot::CARD_AUTHENTICATION,
        retired,
    ];
    let sizes = [1698, 1588, 1588, 1667, 1588];
    for (slot, size) in slots.into_iter().zip(sizes) {
        let cert = piv.read_certificate(slot, &mut buf).unwrap();
        repr_round_trip!(cert.repr(), |b| CertificateObjectRepr::parse(
            slot.object().unwrap(),
            b
        ));
        assert_eq!(cert.info(), CertInfo::GZIP);
        assert!(cert.info().is_x509());
        assert_eq!(&cert.raw_certificate()[..2], &[0x1F, 0x8B]);
        assert_eq!(
            cert.certificate(),
            Err(Error::Compressed {
                target: Target::Object(slot.object().unwrap())
            })
        );
        let der = cert.decompressed().unwrap();
        assert_eq!(der.len(), size, "{slot:?}");
        assert_der_certificate(&der);
        assert!(contains(&der, b"Test Government"));
        // The card authentication certificate names the card by its FASC-N (the CHUID's);
        // the others name the cardholder.
        if slot == Slot::CARD_AUTHENTICATION {
            assert!(contains(&der, &hex(&fascn_bytes)));
        } else {
            assert!(contains(&der, b"Test Cardholder XIV"), "{slot:?}");
        }
    }

    // 63C0: this card reports its spent PIN as "0 tries left", not 6983.
    assert_eq!(
        piv.pin_status(PinReference::PIV_APPLICATION_PIN).unwrap(),
        PinOutcome::WrongPin { retries_left: 0 }
    );
    used_up(piv);
}

#[test]
fn oberthur_id_one_piv_select() {
    let fx = Fixture::parse(OBERTHUR);
    let t = fx.transcript(&["select"]);
    let mut piv = open(&t);
    let mut buf = [0u8; 258];
    let apt = piv.select(&mut buf).unwrap();
    assert_eq!(apt.aid(), &PIV_AID_FULL);
    assert_eq!(apt.authority(), Some(&[0xA0, 0x00, 0x00, 0x03, 0x08][..]));
    assert_eq!(apt.label(), Some(&b"ID-One PIV BIO"[..]));
    assert_eq!(apt.url(), Some(&b"www.oberthur.com"[..]));
    assert_eq!(apt.algorithms().count(), 0);
    // The 7F66 after the template is not part of it.
    assert_eq!(apt.as_tlv().raw().len(), 2 + 0x39);
    used_up(piv);
}
