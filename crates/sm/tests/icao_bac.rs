//! Known-answer tests from the worked example of ICAO Doc 9303 Part 11 (8th edition, 2021),
//! Appendix D to Part 11 ("Worked example: Basic Access Control"): D.2 key derivation from the
//! MRZ, D.3 mutual authentication and session keys, D.4 secure messaging (SELECT EF.COM and
//! two READ BINARY exchanges). The values were cross-checked against their reproductions in
//! several open-source eMRTD readers' test suites (e.g. dmrtd's `des_test.dart`, animamea's
//! `AmDESCryptoTest.java`), which quote the same appendix.
// Test code: a failing unwrap or index is a failing test (clippy.toml allows it only inside #[test] fns).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use cardwire_apdu::StatusWord;
use cardwire_sm::bac::{BacCard, BacHost, BacKeys, MrzInfo, check_digit};
use cardwire_sm::{Error, MrzField, SmSession, TdesSuite};
use common::hex;

// D.2: the MRZ of the specimen passport (ERIKSSON, ANNA MARIA, Utopia).
const DOC: &str = "L898902C";
const BIRTH: &str = "690806";
const EXPIRY: &str = "940623";
const MRZ_INFO: &str = "L898902C<369080619406236";
const K_SEED: &str = "239AB9CB282DAF66231DC5A4DF6BFBAE";
const K_ENC: &str = "AB94FDECF2674FDFB9B391F85D7F76F2";
const K_MAC: &str = "7962D9ECE03D1ACD4C76089DCE131543";
// D.3: the nonces and keying material of both sides.
const RND_IC: &str = "4608F91988702212";
const RND_IFD: &str = "781723860C06C226";
const K_IFD: &str = "0B795240CB7049B01C19B33E32804F0B";
const K_IC: &str = "0B4F80323EB3191CB04970CB4052790B";
const EXT_AUTH: &str = "0082000028\
    72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2\
    5F1448EEA8AD90A7 28";
const EXT_AUTH_RESPONSE: &str =
    "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F 2F2D235D074D7449 9000";
const KS_ENC: &str = "979EC13B1CBFE9DCD01AB0FED307EAE5";
const KS_MAC: &str = "F1CB1F1FB5ADF208806B89DC579DC1F8";
const SSC: &str = "887022120C06C226";
// D.4: the protected exchanges, (plain command, protected command, protected response, plain response).
const EXCHANGES: [(&str, &str, &str, &str); 3] = [
    (
        "00A4020C02011E",
        "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
        "990290008E08FA855A5D4C50A8ED9000",
        "9000",
    ),
    (
        "00B0000004",
        "0CB000000D9701048E08ED6705417E96BA5500",
        "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000",
        "60145F01 9000",
    ),
    (
        "00B0000412",
        "0CB000040D9701128E082EA28A70F3C7B53500",
        "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
        "04303130365F36063034303030305C026175 9000",
    ),
];

fn arr<const N: usize>(h: &str) -> [u8; N] {
    hex(h).try_into().unwrap()
}

#[test]
fn d2_mrz_information_and_check_digits() {
    assert_eq!(
        check_digit(MrzField::DocumentNumber, b"L898902C<"),
        Ok(b'3')
    );
    assert_eq!(check_digit(MrzField::DateOfBirth, b"690806"), Ok(b'1'));
    assert_eq!(check_digit(MrzField::DateOfExpiry, b"940623"), Ok(b'6'));
    let mrz = MrzInfo::new(DOC, BIRTH, EXPIRY).unwrap();
    assert_eq!(mrz.as_bytes(), MRZ_INFO.as_bytes());
    // Lower case is accepted as upper case; the digits read from the MRZ are checked.
    let typed = MrzInfo::new("l898902c", BIRTH, EXPIRY).unwrap();
    assert_eq!(typed.as_bytes(), mrz.as_bytes());
    let read = MrzInfo::with_check_digits("L898902C<3", "6908061", "9406236").unwrap();
    assert_eq!(read.as_bytes(), mrz.as_bytes());
    assert_eq!(
        MrzInfo::with_check_digits("L898902C<4", "6908061", "9406236").err(),
        Some(Error::CheckDigit {
            field: MrzField::DocumentNumber,
            expected: b'3',
            found: b'4'
        })
    );
    assert!(matches!(
        MrzInfo::with_check_digits("L898902C<3", "6908061", "9406230"),
        Err(Error::CheckDigit {
            field: MrzField::DateOfExpiry,
            ..
        })
    ));
    assert!(matches!(
        MrzInfo::new("L898902C", "69080", EXPIRY),
        Err(Error::InvalidMrz {
            field: MrzField::DateOfBirth,
            ..
        })
    ));
    assert!(matches!(
        MrzInfo::new("L8989-02C", BIRTH, EXPIRY),
        Err(Error::InvalidMrz {
            field: MrzField::DocumentNumber,
            offset: 5
        })
    ));
    // Over 9 characters the number is used whole with its check digit (ICAO 9303-5 §4.2.2
    // note j, issue 18); only numbers longer than a TD1 can carry are refused.
    assert_eq!(
        MrzInfo::new("L898902C12", BIRTH, EXPIRY)
            .unwrap()
            .as_bytes()
            .len(),
        25
    );
    assert!(MrzInfo::new(&"L".repeat(23), BIRTH, EXPIRY).is_err());
}

#[test]
fn d2_key_seed_and_document_keys() {
    let mrz = MrzInfo::new(DOC, BIRTH, EXPIRY).unwrap();
    assert_eq!(mrz.key_seed().to_vec(), hex(K_SEED));
    let keys = BacKeys::from_mrz(&mrz);
    assert_eq!(keys.k_enc().to_vec(), hex(K_ENC));
    assert_eq!(keys.k_mac().to_vec(), hex(K_MAC));
    assert!(format!("{keys:?}").contains("redacted"));
}

fn keys() -> BacKeys {
    BacKeys::from_mrz(&MrzInfo::new(DOC, BIRTH, EXPIRY).unwrap())
}

#[test]
fn d3_host_mutual_authentication() {
    assert_eq!(BacHost::GET_CHALLENGE.to_vec(), hex("0084000008"));
    let mut host = BacHost::new(keys(), arr(RND_IFD), arr(K_IFD));
    let mut cmd = [0u8; 46];
    let n = host
        .external_authenticate_command(&hex(RND_IC), &mut cmd)
        .unwrap();
    assert_eq!(cmd[..n].to_vec(), hex(EXT_AUTH));
    let session = host.finish(&hex(EXT_AUTH_RESPONSE)).unwrap();
    assert_eq!(session.ssc().to_vec(), hex(SSC));
    check_d4_host(session);
}

#[test]
fn d3_card_mutual_authentication() {
    let mut card = BacCard::new(keys(), arr(RND_IC), arr(K_IC));
    assert_eq!(card.challenge().to_vec(), hex(RND_IC));
    let mut answer = [0u8; 42];
    let session = card
        .external_authenticate(&hex(EXT_AUTH), &mut answer)
        .unwrap();
    assert_eq!(answer.to_vec(), hex(EXT_AUTH_RESPONSE));
    assert_eq!(session.ssc().to_vec(), hex(SSC));
    check_d4_card(session);
}

#[test]
fn d3_session_keys_drive_the_d4_exchange() {
    let suite = TdesSuite::new(&hex(KS_ENC), &hex(KS_MAC)).unwrap();
    check_d4_host(SmSession::host(suite, &hex(SSC)).unwrap());
    let suite = TdesSuite::new(&hex(KS_ENC), &hex(KS_MAC)).unwrap();
    check_d4_card(SmSession::card(suite, &hex(SSC)).unwrap());
}

fn check_d4_host(mut host: SmSession<TdesSuite>) {
    let (mut wire, mut plain) = ([0u8; 64], [0u8; 64]);
    for (plain_cmd, protected_cmd, protected_rsp, plain_rsp) in EXCHANGES {
        let n = host.wrap_command(&hex(plain_cmd), &mut wire).unwrap();
        assert_eq!(wire[..n].to_vec(), hex(protected_cmd));
        let m = host
            .unwrap_response(&hex(protected_rsp), &mut plain)
            .unwrap();
        assert_eq!(plain[..m].to_vec(), hex(plain_rsp));
    }
    // D.4 ends with SSC 887022120C06C22C after six steps.
    assert_eq!(host.ssc().to_vec(), hex("887022120C06C22C"));
}

fn check_d4_card(mut card: SmSession<TdesSuite>) {
    let (mut wire, mut plain) = ([0u8; 64], [0u8; 64]);
    for (plain_cmd, protected_cmd, protected_rsp, plain_rsp) in EXCHANGES {
        let n = card
            .unwrap_command(&hex(protected_cmd), &mut plain)
            .unwrap();
        assert_eq!(plain[..n].to_vec(), hex(plain_cmd));
        let rsp = hex(plain_rsp);
        let (data, sw) = rsp.split_at(rsp.len() - 2);
        let m = card
            .wrap_response(
                data,
                StatusWord(u16::from_be_bytes([sw[0], sw[1]])),
                &mut wire,
            )
            .unwrap();
        assert_eq!(wire[..m].to_vec(), hex(protected_rsp));
    }
}

#[test]
fn wrong_mrz_fails_authentication_on_both_sides() {
    let wrong = BacKeys::from_mrz(&MrzInfo::new(DOC, "700101", EXPIRY).unwrap());
    // The card with the right MRZ refuses the terminal with the wrong one...
    let mut host = BacHost::new(wrong.clone(), arr(RND_IFD), arr(K_IFD));
    let mut cmd = [0u8; 46];
    host.external_authenticate_command(&hex(RND_IC), &mut cmd)
        .unwrap();
    let mut card = BacCard::new(keys(), arr(RND_IC), arr(K_IC));
    let mut answer = [0u8; 42];
    assert_eq!(
        card.external_authenticate(&cmd, &mut answer).err(),
        Some(Error::AuthenticationFailed)
    );
    // ...and the terminal rejects the genuine card's answer, and a refusal status.
    assert_eq!(
        host.finish(&hex(EXT_AUTH_RESPONSE)).err(),
        Some(Error::AuthenticationFailed)
    );
    let mut host = BacHost::new(keys(), arr(RND_IFD), arr(K_IFD));
    host.external_authenticate_command(&hex(RND_IC), &mut cmd)
        .unwrap();
    assert_eq!(
        host.finish(&hex("6300")).err(),
        Some(Error::CardRefused {
            sw: StatusWord(0x6300)
        })
    );
    // A card that answers for another challenge is rejected.
    let mut host = BacHost::new(keys(), arr(RND_IFD), arr(K_IFD));
    host.external_authenticate_command(&hex("0000000000000000"), &mut cmd)
        .unwrap();
    assert_eq!(
        host.finish(&hex(EXT_AUTH_RESPONSE)).err(),
        Some(Error::AuthenticationFailed)
    );
    // finish before the command is a state error.
    let host = BacHost::new(keys(), arr(RND_IFD), arr(K_IFD));
    assert_eq!(
        host.finish(&hex(EXT_AUTH_RESPONSE)).err(),
        Some(Error::WrongState)
    );
}
