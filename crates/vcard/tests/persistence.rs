//! `--state FILE`: what the card remembers across runs, and what a crash cannot break.

// Test helpers outside #[test] functions may panic too: a failure is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cardwire_transport::CardHandler;
use cardwire_vcard::state::{CardState, Opened, StateFile};
use cardwire_vcard::{Error, Seed, VirtualCard};

/// A PIN or PUK in the card's wire format, by cardwire-pin's encoder.
fn pin_block(pin: &str) -> Vec<u8> {
    let pin = cardwire_pin::Pin::new(pin.as_bytes()).unwrap();
    cardwire_vcard::card::PIN_FORMAT
        .encode(&pin)
        .unwrap()
        .expose_secret()
        .to_vec()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cwv-persist-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn send(card: &mut VirtualCard, apdu: &[u8]) -> u16 {
    let mut rsp = vec![0u8; 70_000];
    let n = card.process(apdu, &mut rsp);
    u16::from_be_bytes([rsp[n - 2], rsp[n - 1]])
}

fn select_and_verify(card: &mut VirtualCard, pin: &str) -> u16 {
    // The cardholder data DF `5000`, by path from the MF.
    let sel = [0x00, 0xA4, 0x08, 0x0C, 0x02, 0x50, 0x00];
    assert_eq!(send(card, &sel), 0x9000);
    let mut v = vec![0x00, 0x20, 0x00, 0x80, 0x08];
    v.extend_from_slice(&pin_block(pin));
    send(card, &v)
}

#[test]
fn a_blocked_card_stays_blocked_across_runs() {
    let dir = temp_dir("blocked");
    let path = dir.join("card.state");
    {
        let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
        card.power_on();
        assert_eq!(select_and_verify(&mut card, "000000"), 0x63C2);
        assert_eq!(select_and_verify(&mut card, "000000"), 0x63C1);
        assert_eq!(select_and_verify(&mut card, "000000"), 0x6983);
    }
    // "Next run": a new process would do exactly this.
    let mut card = VirtualCard::open(&path, &Seed::from_text("ignored: the file wins")).unwrap();
    card.power_on();
    assert_eq!(card.pin_tries_left(), 0);
    assert_eq!(select_and_verify(&mut card, "123456"), 0x6983);
    // The identity came from the file's seed, not the one passed.
    let fresh = VirtualCard::new(&Seed::DEFAULT).unwrap();
    assert_eq!(card.identity().certificate, fresh.identity().certificate);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn counters_files_and_new_pins_persist() {
    let dir = temp_dir("files");
    let path = dir.join("card.state");
    {
        let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
        card.power_on();
        assert_eq!(select_and_verify(&mut card, "123456"), 0x9000);
        // Write into the PIN-protected cache file (SFI 15).
        assert_eq!(
            send(&mut card, &[0x00, 0xD6, 0x95, 0x00, 0x02, 0xCA, 0xFE]),
            0x9000
        );
        // Change the PIN.
        let mut crd = vec![0x00, 0x24, 0x00, 0x80, 0x10];
        crd.extend_from_slice(&pin_block("123456"));
        crd.extend_from_slice(&pin_block("864213"));
        assert_eq!(send(&mut card, &crd), 0x9000);
        assert_eq!(select_and_verify(&mut card, "000000"), 0x63C2);
    }
    let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    card.power_on();
    assert_eq!(card.pin_tries_left(), 2);
    assert!(!card.is_pin_verified(), "verification is volatile");
    assert_eq!(select_and_verify(&mut card, "864213"), 0x9000);
    let mut rsp = vec![0u8; 300];
    let n = card.process(&[0x00, 0xB0, 0x95, 0x00, 0x02], &mut rsp);
    assert_eq!(&rsp[..n], &[0xCA, 0xFE, 0x90, 0x00]);
    // The PIN is stored hashed: neither the old nor the new one appears in the file.
    let bytes = fs::read(&path).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"864213"));
    assert!(!bytes.windows(6).any(|w| w == b"123456"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn foreign_and_damaged_files_are_refused_untouched() {
    let dir = temp_dir("refuse");
    let path = dir.join("notes.txt");
    fs::write(&path, "not a card").unwrap();
    let err = VirtualCard::open(&path, &Seed::DEFAULT).unwrap_err();
    assert!(matches!(err, Error::ForeignState { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("not a cardwire virtual card state file")
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "not a card");

    let good = dir.join("card.state");
    drop(VirtualCard::open(&good, &Seed::DEFAULT).unwrap());
    let mut bytes = fs::read(&good).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&good, &bytes).unwrap();
    let err = VirtualCard::open(&good, &Seed::DEFAULT).unwrap_err();
    assert!(matches!(err, Error::CorruptState { .. }), "{err}");
    assert_eq!(fs::read(&good).unwrap(), bytes);
    fs::remove_dir_all(&dir).unwrap();
}

/// The child half of `killing_a_writer_leaves_a_valid_state`: saves states in a loop until
/// killed. Runs only when the parent test starts it.
#[test]
fn child_writer_loop() {
    let Ok(path) = std::env::var("CWV_CHILD_STATE") else {
        return;
    };
    let path = PathBuf::from(path);
    let (file, opened) = StateFile::open(&path).unwrap();
    let Opened::Existing(mut state) = opened else {
        panic!("the parent creates the file first");
    };
    println!("ready");
    for i in 0u32.. {
        state.signature_count = i;
        // Alternate the PIN counter so successive states differ in several places.
        state.pin.tries_left = (i % 3 + 1) as u8;
        file.save(&state).unwrap();
    }
}

#[test]
fn killing_a_writer_leaves_a_valid_state() {
    let dir = temp_dir("kill");
    let path = dir.join("card.state");
    let card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    let original = card.to_state();
    drop(card);
    for round in 0..5 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_writer_loop",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CWV_CHILD_STATE", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it write for a while (the 40 KB cache file makes each save take some time),
        // then kill it mid-flight with SIGKILL.
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(150 + 70 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(started.elapsed() < Duration::from_secs(30));
        // Whatever moment it died at, the file is a complete, valid state.
        let bytes = fs::read(&path).unwrap();
        let state = CardState::decode(&bytes, "card.state").unwrap();
        assert_eq!(state.seed, original.seed);
        assert_eq!(state.files, original.files);
        let (_, opened) = StateFile::open(&path).unwrap();
        assert!(matches!(opened, Opened::Existing(_)));
    }
    // The child did write (the counter moved), so the kill really hit a writer.
    let state = CardState::decode(&fs::read(&path).unwrap(), "card.state").unwrap();
    assert!(state.signature_count > 0, "the child never saved");
    fs::remove_dir_all(&dir).unwrap();
}
