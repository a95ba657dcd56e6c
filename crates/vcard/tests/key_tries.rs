//! The SCP03 key set of a (served) card is rate-limited like a PIN: wrong host cryptograms
//! are counted, persistently, and block the key set after `KeyTries::SCP03_LIMIT` failures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;

use cardwire_transport::CardHandler;
use cardwire_vcard::card::KeyTries;
use cardwire_vcard::{Seed, VirtualCard};

fn send(card: &mut VirtualCard, apdu: &[u8]) -> u16 {
    let mut rsp = vec![0u8; 512];
    let n = card.process(apdu, &mut rsp);
    u16::from_be_bytes([rsp[n - 2], rsp[n - 1]])
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
