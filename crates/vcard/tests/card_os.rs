//! The card OS driven APDU by APDU through `CardHandler::process`, every answer checked.

// Test helpers outside #[test] functions may panic too: a failure is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_sm::bac::{BacHost, BacKeys, MrzInfo};
use cardwire_transport::CardHandler;
use cardwire_vcard::personalise::CACHE_LEN;
use cardwire_vcard::{Seed, VirtualCard};
use der::Decode;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};

/// A PIN or PUK in the card's wire format, by cardwire-pin's encoder.
fn pin_block(pin: &str) -> Vec<u8> {
    let pin = cardwire_pin::Pin::new(pin.as_bytes()).unwrap();
    cardwire_vcard::card::PIN_FORMAT
        .encode(&pin)
        .unwrap()
        .expose_secret()
        .to_vec()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Sends one APDU, following 61xx with GET RESPONSE like a host would.
fn send(card: &mut VirtualCard, apdu: &[u8]) -> (Vec<u8>, u16) {
    let mut rsp = vec![0u8; 70_000];
    let mut data = Vec::new();
    let mut n = card.process(apdu, &mut rsp);
    loop {
        assert!(n >= 2, "no status word");
        data.extend_from_slice(&rsp[..n - 2]);
        let sw = u16::from_be_bytes([rsp[n - 2], rsp[n - 1]]);
        if sw >> 8 == 0x61 {
            let le = (sw & 0xFF) as u8;
            n = card.process(&[apdu[0] & 0x03, 0xC0, 0, 0, le], &mut rsp);
            continue;
        }
        return (data, sw);
    }
}

fn fresh() -> VirtualCard {
    let mut card = VirtualCard::new(&Seed::DEFAULT).unwrap();
    card.power_on();
    card
}

/// Selects the cardholder data DF `5000` by its path from the MF.
fn select_identity(card: &mut VirtualCard) {
    let apdu = [0x00, 0xA4, 0x08, 0x0C, 0x02, 0x50, 0x00];
    assert_eq!(send(card, &apdu).1, 0x9000);
}

fn verify(card: &mut VirtualCard, pin: &str) -> u16 {
    let mut apdu = vec![0x00, 0x20, 0x00, 0x80, 0x08];
    apdu.extend_from_slice(&pin_block(pin));
    send(card, &apdu).1
}

#[test]
fn atr_is_the_cards() {
    let card = fresh();
    assert_eq!(card.atr()[0], 0x3B);
}

#[test]
fn select_and_read_identity() {
    let mut card = fresh();
    // SELECT by path with FCP: the DF's FID `83 02 50 00`.
    let apdu = [0x00, 0xA4, 0x08, 0x04, 0x02, 0x50, 0x00, 0x00];
    let (fcp, sw) = send(&mut card, &apdu);
    assert_eq!(sw, 0x9000);
    assert_eq!(fcp[0], 0x62);
    assert!(fcp.windows(4).any(|w| w == [0x83, 0x02, 0x50, 0x00]));
    // The invented identity AID of earlier versions selects nothing: PIV replaced it.
    let old = hex("00A4040C0BF063617264776972654944");
    assert_eq!(send(&mut card, &old).1, 0x6A82);
    // READ BINARY with the SFI of the name file.
    let (name, sw) = send(&mut card, &hex("00B0810000"));
    assert_eq!(sw, 0x9000);
    assert_eq!(String::from_utf8(name).unwrap(), card.identity().name);
    let (uid, sw) = send(&mut card, &hex("00B0820000"));
    assert_eq!(sw, 0x9000);
    assert_eq!(uid, card.identity().user_id.digits().as_bytes());
    // The certificate with one extended-length READ BINARY.
    assert_eq!(send(&mut card, &hex("00A4020C025010")).1, 0x9000);
    let (cert, sw) = send(&mut card, &hex("00B00000000000"));
    assert_eq!(sw, 0x9000);
    assert_eq!(cert, card.identity().certificate);
    let parsed = x509_cert::Certificate::from_der(&cert).unwrap();
    let subject = parsed.tbs_certificate().subject().to_string();
    assert!(subject.contains(&card.identity().name));
    // And in short chunks: 256 bytes then the rest.
    let (first, sw) = send(&mut card, &hex("00B0000000"));
    assert_eq!((first.len(), sw), (256, 0x9000));
    let (second, _) = send(&mut card, &hex("00B0010000"));
    assert_eq!(
        [first, second].concat(),
        card.identity().certificate[..256 + 256.min(cert.len() - 256)]
    );
}

#[test]
fn selection_by_path_fid_and_errors() {
    let mut card = fresh();
    assert_eq!(send(&mut card, &hex("00A4080C0450005001")).1, 0x9000);
    assert_eq!(
        send(&mut card, &hex("00B0000004")).0,
        card.identity().name.as_bytes()[..4]
    );
    assert_eq!(send(&mut card, &hex("00A4000C023F00")).1, 0x9000);
    assert_eq!(send(&mut card, &hex("00A4000C025000")).1, 0x9000);
    assert_eq!(send(&mut card, &hex("00A4000C029999")).1, 0x6A82);
    assert_eq!(send(&mut card, &hex("00A4040C05A000000000")).1, 0x6A82);
    assert_eq!(send(&mut card, &hex("00A4030C")).1, 0x9000);
    assert_eq!(send(&mut card, &hex("00A4770C")).1, 0x6A86);
    assert_eq!(send(&mut card, &hex("00FF0000")).1, 0x6D00);
    assert_eq!(send(&mut card, &hex("00")).1, 0x6700);
    // EF.DIR lists both applications, PIV first.
    let (rec, sw) = send(&mut card, &hex("00B201F400"));
    assert_eq!(sw, 0x9000);
    let piv = cardwire_piv::PIV_AID_FULL;
    assert!(rec.windows(piv.len()).any(|w| w == piv));
    assert_eq!(send(&mut card, &hex("00B203F400")).1, 0x6A83);
}

#[test]
fn protected_files_need_the_pin() {
    let mut card = fresh();
    select_identity(&mut card);
    // Roles (record EF, SFI 14) and the cache (SFI 15) are PIN-protected.
    assert_eq!(send(&mut card, &hex("00B201A400")).1, 0x6982);
    assert_eq!(send(&mut card, &hex("00B0950000")).1, 0x6982);
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    let (role, sw) = send(&mut card, &hex("00B201A400"));
    assert_eq!(sw, 0x9000);
    assert_eq!(role[0], 0xA0);
    assert!(String::from_utf8_lossy(&role).contains("R8000"));
    // The whole 40 000-byte file: odd INS READ BINARY beyond 32 767.
    let (odd, sw) = send(&mut card, &hex("00B10015 000005 5403009000 0000"));
    assert_eq!(sw, 0x9000);
    assert_eq!(odd[0], 0x53);
    let remaining = CACHE_LEN - 0x9000;
    let content = &odd[odd.len() - remaining..];
    assert_eq!(content.len(), remaining);
    // Even-INS READ BINARY cannot address that offset; the short read of the start works.
    let (start, sw) = send(&mut card, &hex("00B0000010"));
    assert_eq!((start.len(), sw), (16, 0x9000));
    // UPDATE BINARY (PIN_RW) and read back; odd INS update at a large offset too.
    assert_eq!(send(&mut card, &hex("00D6000003AABBCC")).1, 0x9000);
    assert_eq!(send(&mut card, &hex("00B0000003")).0, [0xAA, 0xBB, 0xCC]);
    assert_eq!(
        send(&mut card, &hex("00D70000095403009C005302DDEE")).1,
        0x9000
    );
    let (back, _) = send(&mut card, &hex("00B10000055403009C0004"));
    assert_eq!(back, [0x53, 0x02, 0xDD, 0xEE]);
    // Writing past the end is refused.
    assert_eq!(
        send(&mut card, &hex("00D7000009540300FFFF5302DDEE")).1,
        0x6700
    );
    // The name file is read-only outside administration.
    assert_eq!(send(&mut card, &hex("00D6810001AA")).1, 0x6982);
    // After a reset the PIN is needed again.
    card.reset();
    select_identity(&mut card);
    assert_eq!(send(&mut card, &hex("00B201A400")).1, 0x6982);
}

#[test]
fn pin_lifecycle_block_and_unblock() {
    let mut card = fresh();
    select_identity(&mut card);
    assert_eq!(send(&mut card, &hex("0020008000")).1, 0x63C3);
    assert_eq!(verify(&mut card, "000000"), 0x63C2);
    assert_eq!(verify(&mut card, "111111"), 0x63C1);
    assert_eq!(verify(&mut card, "222222"), 0x6983);
    assert_eq!(
        verify(&mut card, "123456"),
        0x6983,
        "blocked even for the right PIN"
    );
    assert_eq!(card.pin_tries_left(), 0);
    // Wrong PUK: the PUK counter drops.
    let mut rrc = vec![0x00, 0x2C, 0x00, 0x80, 0x10];
    rrc.extend_from_slice(&pin_block("87654321"));
    rrc.extend_from_slice(&pin_block("654321"));
    assert_eq!(send(&mut card, &rrc).1, 0x63C9);
    // Right PUK and a new PIN.
    let mut rrc = vec![0x00, 0x2C, 0x00, 0x80, 0x10];
    rrc.extend_from_slice(&pin_block("12345678"));
    rrc.extend_from_slice(&pin_block("654321"));
    assert_eq!(send(&mut card, &rrc).1, 0x9000);
    assert_eq!(card.puk_tries_left(), 10);
    assert_eq!(verify(&mut card, "123456"), 0x63C2);
    assert_eq!(verify(&mut card, "654321"), 0x9000);
    // A new PIN that breaks the policy is refused without touching counters.
    let mut rrc = vec![0x00, 0x2C, 0x00, 0x80, 0x10];
    rrc.extend_from_slice(&pin_block("12345678"));
    rrc.extend_from_slice(&pin_block("12a"));
    assert_eq!(send(&mut card, &rrc).1, 0x6A80);
    assert_eq!(card.puk_tries_left(), 10);
    // Administrator reset without SCP03 is refused.
    assert_eq!(send(&mut card, &hex("002C0380")).1, 0x6982);
    // CHANGE REFERENCE DATA.
    let mut crd = vec![0x00, 0x24, 0x00, 0x80, 0x10];
    crd.extend_from_slice(&pin_block("654321"));
    crd.extend_from_slice(&pin_block("2468"));
    // The PIV PIN policy is 6 to 8 digits (SP 800-73-4 Part 2 §3.2.2): 4 digits are refused.
    assert_eq!(send(&mut card, &crd).1, 0x6A80);
    let mut crd = vec![0x00, 0x24, 0x00, 0x80, 0x10];
    crd.extend_from_slice(&pin_block("654321"));
    crd.extend_from_slice(&pin_block("246813"));
    assert_eq!(send(&mut card, &crd).1, 0x9000);
    assert_eq!(verify(&mut card, "246813"), 0x9000);
    assert_eq!(
        send(&mut card, &hex("00200080023132")).1,
        0x6700,
        "a data field of the wrong length is not a try"
    );
    assert_eq!(card.pin_tries_left(), 3);
}

#[test]
fn signing_needs_pin_and_verifies() {
    let mut card = fresh();
    select_identity(&mut card);
    let digest = Sha256::digest(b"challenge from the host");
    let mut pso = hex("002A9E9A20");
    pso.extend_from_slice(&digest);
    pso.push(0x00);
    // No security environment yet.
    assert_eq!(send(&mut card, &pso).1, 0x6985);
    assert_eq!(send(&mut card, &hex("002241B606800111840101")).1, 0x9000);
    assert_eq!(send(&mut card, &pso).1, 0x6982, "the key needs the PIN");
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    let (sig, sw) = send(&mut card, &pso);
    assert_eq!(sw, 0x9000);
    assert_eq!(sig.len(), 64);
    let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    card.identity()
        .verifying_key()
        .verify_prehash(&digest, &sig)
        .unwrap();
    // INTERNAL AUTHENTICATE with the key reference in P2.
    let mut ia = hex("0088000120");
    ia.extend_from_slice(&digest);
    ia.push(0x00);
    let (sig2, sw) = send(&mut card, &ia);
    assert_eq!(sw, 0x9000);
    let sig2 = p256::ecdsa::Signature::from_slice(&sig2).unwrap();
    card.identity()
        .verifying_key()
        .verify_prehash(&digest, &sig2)
        .unwrap();
    assert_eq!(card.signature_count(), 2);
    let (count, _) = send(&mut card, &hex("00CADF2200"));
    assert_eq!(count, [0xDF, 0x22, 0x04, 0, 0, 0, 2]);
    // Unknown algorithm or key.
    assert_eq!(send(&mut card, &hex("002241B606800199840101")).1, 0x6A80);
    assert_eq!(send(&mut card, &hex("002241B606800111840107")).1, 0x6A88);
}

#[test]
fn get_data_and_challenge_and_channels() {
    let mut card = fresh();
    let (name, sw) = send(&mut card, &hex("00CA5F2000"));
    assert_eq!(sw, 0x9000);
    assert_eq!(&name[3..], card.identity().name.as_bytes());
    let (ext, _) = send(&mut card, &hex("00CA7F6600"));
    // ISO/IEC 7816-4 §12.7.1: the largest command and response APDUs, 4 096 data bytes each:
    // 4 096 + 9 = 0x1009 and 4 096 + 2 = 0x1002 (the data sizes were announced before).
    assert_eq!(ext, hex("7F66 08 02021009 02021002"));
    assert_eq!(send(&mut card, &hex("00CA010100")).1, 0x6A88);
    let (c1, sw) = send(&mut card, &hex("0084000008"));
    assert_eq!((c1.len(), sw), (8, 0x9000));
    let (c2, _) = send(&mut card, &hex("0084000008"));
    assert_ne!(c1, c2);
    // Open channel 1, select the identity app there; channel 0 stays in the MF.
    let (ch, sw) = send(&mut card, &hex("0070000001"));
    assert_eq!((ch, sw), (vec![1], 0x9000));
    let sel = [0x01, 0xA4, 0x08, 0x0C, 0x02, 0x50, 0x00];
    assert_eq!(send(&mut card, &sel).1, 0x9000);
    assert_eq!(send(&mut card, &hex("01B0810000")).1, 0x9000);
    assert_eq!(send(&mut card, &hex("00B0810000")).1, 0x6A82);
    assert_eq!(send(&mut card, &hex("00708001")).1, 0x9000);
    assert_eq!(send(&mut card, &hex("01B0810000")).1, 0x6881);
    assert_eq!(send(&mut card, &hex("03B0810000")).1, 0x6881);
}

#[test]
fn chained_command() {
    let mut card = fresh();
    select_identity(&mut card);
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    // UPDATE BINARY of the cache in two chained links, then read back.
    assert_eq!(send(&mut card, &hex("10D6950002AABB")).1, 0x9000);
    assert_eq!(send(&mut card, &hex("00D6950002CCDD")).1, 0x9000);
    assert_eq!(
        send(&mut card, &hex("00B0950004")).0,
        [0xAA, 0xBB, 0xCC, 0xDD]
    );
}

#[test]
fn emrtd_bac_and_secure_messaging() {
    let mut card = fresh();
    // Select the eMRTD application; reading without BAC is refused.
    assert_eq!(send(&mut card, &hex("00A4040C07A0000002471001")).1, 0x9000);
    assert_eq!(send(&mut card, &hex("00B0810000")).1, 0x6982);
    // BAC with the specimen's MRZ (ICAO 9303-4: L898902C3, 740812, 120415).
    let info = MrzInfo::new("L898902C3", "740812", "120415").unwrap();
    let mut host = BacHost::new(BacKeys::from_mrz(&info), [1; 8], [2; 16]);
    let (rnd_ic, sw) = send(&mut card, &BacHost::GET_CHALLENGE);
    assert_eq!(sw, 0x9000);
    let mut ea = [0u8; 64];
    let n = host
        .external_authenticate_command(&rnd_ic, &mut ea)
        .unwrap();
    let (answer, sw) = send(&mut card, &ea[..n]);
    assert_eq!(sw, 0x9000);
    let mut full = answer.clone();
    full.extend_from_slice(&[0x90, 0x00]);
    let mut sm = host.finish(&full).unwrap();
    // READ BINARY of DG1 by SFI under secure messaging.
    let mut wire = [0u8; 300];
    let n = sm.wrap_command(&hex("00B0810000"), &mut wire).unwrap();
    let (protected, sw) = send(&mut card, &wire[..n]);
    assert_eq!(sw, 0x9000);
    let mut rsp = protected.clone();
    rsp.extend_from_slice(&sw.to_be_bytes());
    let mut plain = [0u8; 300];
    let m = sm.unwrap_response(&rsp, &mut plain).unwrap();
    let dg1 = &plain[..m - 2];
    assert_eq!(&plain[m - 2..m], &[0x90, 0x00]);
    assert_eq!(dg1, card.mrz().dg1().as_slice());
    // A wrong MRZ fails BAC with 6300.
    let bad = MrzInfo::new("X0000000", "740812", "120415").unwrap();
    let mut host = BacHost::new(BacKeys::from_mrz(&bad), [1; 8], [2; 16]);
    let (rnd_ic, _) = send(&mut card, &BacHost::GET_CHALLENGE);
    let n = host
        .external_authenticate_command(&rnd_ic, &mut ea)
        .unwrap();
    assert_eq!(send(&mut card, &ea[..n]).1, 0x6300);
    // A protected command with no session is refused.
    assert_eq!(send(&mut card, &hex("0CB0810000")).1, 0x6987);
}

#[test]
fn scp03_administrator_resets_the_pin() {
    use cardwire_sm::scp03::{Scp03Host, SecurityLevel, StaticKeys};
    let mut card = fresh();
    select_identity(&mut card);
    for pin in ["000000", "000000", "000000"] {
        verify(&mut card, pin);
    }
    assert_eq!(verify(&mut card, "123456"), 0x6983);
    let k = card.scp03_keys().clone();
    let keys = StaticKeys::new(&k.enc, &k.mac, &k.dek).unwrap();
    let mut host = Scp03Host::new(keys, k.kvn, [7; 8]);
    let mut buf = [0u8; 300];
    let n = host.initialize_update_command(&mut buf).unwrap();
    let (iu, sw) = send(&mut card, &buf[..n]);
    assert_eq!(sw, 0x9000);
    assert_eq!(iu.len(), 29);
    assert_eq!(&iu[..8], &card.identity().serial.0);
    let mut iu = iu;
    iu.extend_from_slice(&[0x90, 0x00]);
    let n = host
        .external_authenticate_command(&iu, SecurityLevel::ALL, &mut buf)
        .unwrap();
    assert_eq!(send(&mut card, &buf[..n]).1, 0x9000);
    let mut session = host.finish(&[0x90, 0x00]).unwrap();
    // RESET RETRY COUNTER P1=02: new PIN only, no PUK, under C-MAC + C-DECRYPTION.
    let mut rrc = vec![0x80, 0x2C, 0x02, 0x80, 0x08];
    rrc[0] = 0x00;
    rrc.extend_from_slice(&pin_block("975310"));
    let n = session.wrap_command(&rrc, &mut buf).unwrap();
    let (rsp, sw) = send(&mut card, &buf[..n]);
    assert_eq!(sw, 0x9000);
    let mut full = rsp;
    full.extend_from_slice(&sw.to_be_bytes());
    let mut plain = [0u8; 64];
    let m = session.unwrap_response(&full, &mut plain).unwrap();
    assert_eq!(&plain[..m], &[0x90, 0x00]);
    assert_eq!(card.pin_tries_left(), 3);
    assert_eq!(verify(&mut card, "975310"), 0x9000);
    // A forged MAC ends the session.
    let n = session.wrap_command(&hex("002C038000"), &mut buf).unwrap();
    buf[n - 2] ^= 1;
    let sw = send(&mut card, &buf[..n]).1;
    assert!(sw == 0x6988 || sw == 0x6987 || sw == 0x6700, "{sw:04X}");
    assert_eq!(send(&mut card, &hex("842C038100")).1, 0x6987);
    // Wrong keys: EXTERNAL AUTHENTICATE fails with 6300.
    let bad = StaticKeys::new(&[1; 16], &[2; 16], &[3; 16]).unwrap();
    let mut host = Scp03Host::new(bad, k.kvn, [7; 8]);
    let n = host.initialize_update_command(&mut buf).unwrap();
    let (mut iu, _) = send(&mut card, &buf[..n]);
    iu.extend_from_slice(&[0x90, 0x00]);
    // The host sees the card cryptogram does not match its keys.
    assert!(
        host.external_authenticate_command(&iu, SecurityLevel::ALL, &mut buf)
            .is_err()
    );
}
