//! The SCP03 key set and the PIV card management key `9B` of a (served) card are
//! rate-limited like a PIN: wrong cryptograms are counted, persistently, and block the key
//! after `KeyTries::SCP03_LIMIT` / `KeyTries::MANAGEMENT_LIMIT` failures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;

use cardwire_piv::{AlgorithmId, ManagementKey};
use cardwire_transport::CardHandler;
use cardwire_vcard::card::KeyTries;
use cardwire_vcard::{Seed, VirtualCard};

fn send(card: &mut VirtualCard, apdu: &[u8]) -> u16 {
    exchange(card, apdu).1
}

/// The answer's data and status word.
fn exchange(card: &mut VirtualCard, apdu: &[u8]) -> (Vec<u8>, u16) {
    let mut rsp = vec![0u8; 512];
    let n = card.process(apdu, &mut rsp);
    (
        rsp[..n - 2].to_vec(),
        u16::from_be_bytes([rsp[n - 2], rsp[n - 1]]),
    )
}

/// INITIALIZE UPDATE then an EXTERNAL AUTHENTICATE with a made-up cryptogram and MAC: what a
/// terminal searching for the keys sends. Returns both status words.
fn guess(card: &mut VirtualCard) -> (u16, u16) {
    let iu = [0x80, 0x50, 0x01, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00];
    let sw_iu = send(card, &iu);
    let mut ea = vec![0x84, 0x82, 0x33, 0x00, 0x10];
    ea.extend_from_slice(&[0xA5; 16]);
    let sw_ea = send(card, &ea);
    (sw_iu, sw_ea)
}

#[test]
fn wrong_cryptograms_block_the_scp03_keys_and_the_count_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("cwv-keytries-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("card.state");
    let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    card.power_on();
    for _ in 0..KeyTries::SCP03_LIMIT - 1 {
        assert_eq!(guess(&mut card), (0x9000, 0x6300));
    }
    assert_eq!(card.scp03_tries_left(), 1);
    // Restarting the card (a reconnecting client) does not give the tries back.
    drop(card);
    let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    card.power_on();
    assert_eq!(card.scp03_tries_left(), 1);
    assert_eq!(guess(&mut card), (0x9000, 0x6983));
    // Blocked: INITIALIZE UPDATE answers 6983 and gives nothing to search with.
    assert_eq!(guess(&mut card).0, 0x6983);
    assert_eq!(card.scp03_tries_left(), 0);
    drop(card);
    let card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    assert_eq!(card.scp03_tries_left(), 0);
    fs::remove_dir_all(&dir).unwrap();
}

fn temp_state(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cwv-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir.join("card.state")
}

/// GENERAL AUTHENTICATE `00 87 03 9B` (3DES card management key) with a `7C` template.
fn auth_9b(card: &mut VirtualCard, template: &[u8]) -> (Vec<u8>, u16) {
    let mut apdu = vec![0x00, 0x87, 0x03, 0x9B, template.len() as u8 + 2, 0x7C];
    apdu.push(template.len() as u8);
    apdu.extend_from_slice(template);
    apdu.push(0x00);
    exchange(card, &apdu)
}

fn select_piv(card: &mut VirtualCard) {
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x00, cardwire_piv::PIV_AID.len() as u8];
    apdu.extend_from_slice(&cardwire_piv::PIV_AID);
    apdu.push(0x00);
    assert_eq!(send(card, &apdu), 0x9000);
}

/// External authentication of `9B` under `key`: the card's challenge, encrypted.
fn external(card: &mut VirtualCard, key: &ManagementKey) -> u16 {
    let (data, sw) = auth_9b(card, &[0x81, 0x00]);
    if sw != 0x9000 {
        return sw;
    }
    assert_eq!(&data[..4], &[0x7C, 0x0A, 0x81, 0x08]);
    let mut block = data[4..12].to_vec();
    key.encrypt_block(&mut block).unwrap();
    let mut t = vec![0x82, 0x08];
    t.extend_from_slice(&block);
    auth_9b(card, &t).1
}

/// Mutual authentication of `9B` under `key`: the card's witness decrypted, a challenge.
fn mutual(card: &mut VirtualCard, key: &ManagementKey) -> u16 {
    let (data, sw) = auth_9b(card, &[0x80, 0x00]);
    if sw != 0x9000 {
        return sw;
    }
    assert_eq!(&data[..4], &[0x7C, 0x0A, 0x80, 0x08]);
    let mut witness = data[4..12].to_vec();
    key.decrypt_block(&mut witness).unwrap();
    let challenge = [0x3C; 8];
    let mut t = vec![0x80, 0x08];
    t.extend_from_slice(&witness);
    t.extend_from_slice(&[0x81, 0x08]);
    t.extend_from_slice(&challenge);
    let (data, sw) = auth_9b(card, &t);
    if sw == 0x9000 {
        // The card proves it holds the key too.
        let mut expected = challenge.to_vec();
        key.encrypt_block(&mut expected).unwrap();
        assert_eq!(&data[4..12], &expected[..]);
    }
    sw
}

#[test]
fn wrong_cryptograms_block_the_management_key_for_good_and_the_count_survives_a_restart() {
    let path = temp_state("mgmt-tries");
    let right = ManagementKey::DEFAULT_3DES;
    let wrong = ManagementKey::new(AlgorithmId::TDES_3KEY, &[7u8; 24]).unwrap();
    let limit = KeyTries::MANAGEMENT_LIMIT;
    let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    card.power_on();
    select_piv(&mut card);
    assert_eq!(card.management_tries_left(), limit);
    // Wrong responses and witnesses cost a try each; abandoned step 1s cost nothing.
    for i in 0..limit - 2 {
        let sw = if i % 2 == 0 {
            external(&mut card, &wrong)
        } else {
            mutual(&mut card, &wrong)
        };
        assert_eq!(sw, 0x6982, "try {i}");
        assert_eq!(auth_9b(&mut card, &[0x81, 0x00]).1, 0x9000);
        assert_eq!(auth_9b(&mut card, &[0x80, 0x00]).1, 0x9000);
        assert!(!card.piv_admin());
    }
    assert_eq!(card.management_tries_left(), 2);
    // A success in between restores every try, and survives a restart.
    assert_eq!(mutual(&mut card, &right), 0x9000);
    assert!(card.piv_admin());
    assert_eq!(card.management_tries_left(), limit);
    drop(card);
    let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    card.power_on();
    select_piv(&mut card);
    assert_eq!(card.management_tries_left(), limit);
    for _ in 0..limit - 1 {
        assert_eq!(external(&mut card, &wrong), 0x6982);
    }
    assert_eq!(card.management_tries_left(), 1);
    // Restarting the card (a reconnecting client) does not give the tries back.
    drop(card);
    let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    card.power_on();
    select_piv(&mut card);
    assert_eq!(card.management_tries_left(), 1);
    assert_eq!(mutual(&mut card, &wrong), 0x6983);
    assert_eq!(card.management_tries_left(), 0);
    // Blocked: the right key is refused too, in both modes, from step 1 on.
    assert_eq!(external(&mut card, &right), 0x6983);
    assert_eq!(mutual(&mut card, &right), 0x6983);
    assert!(!card.piv_admin());
    drop(card);
    let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    card.power_on();
    select_piv(&mut card);
    assert_eq!(card.management_tries_left(), 0);
    assert_eq!(external(&mut card, &right), 0x6983);
    assert!(!card.piv_admin());
    fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn a_pending_challenge_is_lost_when_the_key_blocks() {
    // A step 1 taken before the key blocked cannot be completed afterwards.
    let mut card = VirtualCard::new(&Seed::DEFAULT).unwrap();
    card.power_on();
    select_piv(&mut card);
    let right = ManagementKey::DEFAULT_3DES;
    let wrong = ManagementKey::new(AlgorithmId::TDES_3KEY, &[7u8; 24]).unwrap();
    for _ in 0..KeyTries::MANAGEMENT_LIMIT - 1 {
        assert_eq!(external(&mut card, &wrong), 0x6982);
    }
    let (data, sw) = auth_9b(&mut card, &[0x81, 0x00]);
    assert_eq!(sw, 0x9000);
    assert_eq!(mutual(&mut card, &wrong), 0x6983);
    let mut block = data[4..12].to_vec();
    right.encrypt_block(&mut block).unwrap();
    let mut t = vec![0x82, 0x08];
    t.extend_from_slice(&block);
    assert_eq!(auth_9b(&mut card, &t).1, 0x6983);
    assert!(!card.piv_admin());
}
