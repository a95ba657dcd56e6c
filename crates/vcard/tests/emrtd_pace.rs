//! The virtual card's eMRTD applet end to end with cardwire-sm's host side: EF.CardAccess,
//! PACE with the CAN and the MRZ (ICAO Doc 9303-11 §4.4), the PACE session carried into the
//! eMRTD application, Chip Authentication v1 (§6.2) with the key switch, Active Authentication
//! (§6.1), EF.SOD's hashes, a wrong CAN (`6300`) and a card that refuses BAC (`6982`).

// Test code: a failing unwrap or index is a failing test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_sm::active_auth::{ECDSA_WITH_SHA256, internal_authenticate_command, verify_ecdsa};
use cardwire_sm::channel::{establish_bac, secure_card};
use cardwire_sm::chip_auth::{ChipAuthHost, EcPublicKey};
use cardwire_sm::pace::{PacePassword, PaceSession};
use cardwire_sm::pace_driver::{choose_pace, establish_pace};
use cardwire_sm::security_infos::{SecurityInfo, SecurityInfos};
use cardwire_sm::sod::LdsSecurityObject;
use cardwire_sm::{AesSuite, BacKeys, Error, MrzInfo, SmSession};
use cardwire_transport::{Card, InProcess};
use cardwire_vcard::personalise::{EMRTD_AID, can};
use cardwire_vcard::{Seed, VirtualCard};

type Plain = Card<InProcess<VirtualCard>>;
type Secure = Card<InProcess<VirtualCard>, SmSession<AesSuite>>;

fn fresh(bac_refused: bool) -> VirtualCard {
    let mut card = VirtualCard::new(&Seed::DEFAULT).unwrap();
    card.set_bac_refused(bac_refused).unwrap();
    card
}

fn card_access(card: &mut Plain) -> Vec<u8> {
    // READ BINARY with SFI 1C (EF.CardAccess) in the MF, plain.
    let (data, sw) = {
        let mut buf = [0u8; 256];
        let cmd = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, 0x9C, 0x00).with_ne(256);
        let r = card.transmit(&cmd, &mut buf).unwrap();
        (r.data().to_vec(), r.sw())
    };
    assert_eq!(sw, StatusWord::SUCCESS);
    data
}

fn pace(card: &mut Plain, password: &PacePassword<'_>) -> Result<SmSession<AesSuite>, Error> {
    let bytes = card_access(card);
    let infos = SecurityInfos::parse(&bytes).unwrap();
    let (info, curve) = choose_pace(&infos).unwrap();
    match establish_pace(
        card,
        info.protocol(),
        curve,
        password,
        &mut getrandom::SysRng,
    )? {
        PaceSession::Aes(s) => Ok(s),
        PaceSession::Tdes(_) => panic!("the card offers AES"),
    }
}

fn sw_of(card: &mut Secure, cmd: &CommandRepr<'_>) -> StatusWord {
    let mut buf = [0u8; 512];
    card.transmit(cmd, &mut buf).unwrap().sw()
}

fn select_emrtd(card: &mut Secure) {
    let cmd = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x04, 0x0C).with_data(&EMRTD_AID);
    assert_eq!(sw_of(card, &cmd), StatusWord::SUCCESS);
}

fn read_file(card: &mut Secure, fid: u16) -> Vec<u8> {
    let f = fid.to_be_bytes();
    let sel = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x02, 0x0C).with_data(&f);
    assert_eq!(sw_of(card, &sel), StatusWord::SUCCESS, "SELECT {fid:04X}");
    let mut out = Vec::new();
    loop {
        let mut buf = [0u8; 300];
        let off = out.len() as u16;
        let [p1, p2] = off.to_be_bytes();
        let cmd = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, p1, p2).with_ne(200);
        let r = card.transmit(&cmd, &mut buf).unwrap();
        assert!(
            r.sw().is_normal() || r.sw() == StatusWord::END_OF_FILE,
            "{}",
            r.sw()
        );
        out.extend_from_slice(r.data());
        if r.data().len() < 200 {
            break;
        }
    }
    out
}

/// The value of a data group's outer template.
fn value(file: &[u8]) -> &[u8] {
    cardwire_tlv::Tlv::parse(file).unwrap().value()
}

#[test]
fn pace_with_the_can_reads_the_data_groups_and_checks_the_sod() {
    let vc = fresh(false);
    let can = vc.can();
    assert_eq!(can, cardwire_vcard::personalise::can(&Seed::DEFAULT));
    assert_eq!(can.len(), 6);
    let mut plain = Card::open(InProcess::new(vc)).unwrap();
    let sm = pace(&mut plain, &PacePassword::Can(can.as_bytes())).unwrap();
    let mut card = secure_card(plain, sm);
    select_emrtd(&mut card);
    let dg1 = read_file(&mut card, 0x0101);
    assert!(dg1.windows(9).any(|w| w == b"L898902C3"));
    let dg2 = read_file(&mut card, 0x0102);
    assert!(dg2.len() > 10_000, "DG2 is {} bytes", dg2.len());
    let dg14 = read_file(&mut card, 0x010E);
    let dg15 = read_file(&mut card, 0x010F);
    let sod = read_file(&mut card, 0x011D);
    let lds = LdsSecurityObject::parse(&sod).unwrap();
    for (n, f) in [(1, &dg1), (2, &dg2), (14, &dg14), (15, &dg15)] {
        lds.check_data_group(n, f).unwrap();
    }
    // A data group altered by one byte no longer matches.
    let mut bad = dg1.clone();
    bad[10] ^= 1;
    assert!(lds.check_data_group(1, &bad).is_err());
}

#[test]
fn pace_with_the_mrz_then_chip_and_active_authentication() {
    let vc = fresh(true);
    let m = vc.mrz().clone();
    let info = MrzInfo::new(&m.document_number, &m.birth_date, &m.expiry_date).unwrap();
    let mut plain = Card::open(InProcess::new(vc)).unwrap();
    let sm = pace(&mut plain, &PacePassword::Mrz(&info)).unwrap();
    let mut card = secure_card(plain, sm);
    select_emrtd(&mut card);
    let dg14 = read_file(&mut card, 0x010E);
    let dg15 = read_file(&mut card, 0x010F);

    // Chip Authentication with DG14's key.
    let infos = SecurityInfos::parse(value(&dg14)).unwrap();
    let ca = infos
        .iter()
        .find_map(|i| match i {
            SecurityInfo::ChipAuthentication(c) => Some(c),
            _ => None,
        })
        .unwrap();
    let pk = infos.chip_authentication_public_keys().next().unwrap();
    let key = EcPublicKey::from_spki(pk.subject_public_key_info()).unwrap();
    let host = ChipAuthHost::new(&ca, key, [0x42; 32]).unwrap();
    let mut cmd = [0u8; 128];
    let n = host.mse_command(&mut cmd).unwrap();
    let mut buf = [0u8; 256];
    let r = card
        .transmit(&CommandRepr::parse(&cmd[..n]).unwrap(), &mut buf)
        .unwrap();
    assert_eq!(r.sw(), StatusWord::SUCCESS);
    let n = host.general_authenticate_command(&mut cmd).unwrap();
    let r = card
        .transmit(&CommandRepr::parse(&cmd[..n]).unwrap(), &mut buf)
        .unwrap();
    let mut answer = r.data().to_vec();
    answer.extend_from_slice(&r.sw().to_bytes());
    assert_eq!(answer, [0x7C, 0x00, 0x90, 0x00]);
    let PaceSession::Aes(new) = host.finish(&answer).unwrap() else {
        panic!("AES")
    };
    card.start_secure_messaging(new);
    // The chip knew the key: the next command works under the new session keys.
    let dg1 = read_file(&mut card, 0x0101);
    assert_eq!(dg1[0], 0x61);

    // Active Authentication with DG15's key.
    let aa_key = EcPublicKey::from_spki(value(&dg15)).unwrap();
    let challenge = [1, 2, 3, 4, 5, 6, 7, 8];
    let n = internal_authenticate_command(&challenge, &mut cmd).unwrap();
    let r = card
        .transmit(&CommandRepr::parse(&cmd[..n]).unwrap(), &mut buf)
        .unwrap();
    assert_eq!(r.sw(), StatusWord::SUCCESS);
    verify_ecdsa(&aa_key, ECDSA_WITH_SHA256, &challenge, r.data()).unwrap();
    assert!(verify_ecdsa(&aa_key, ECDSA_WITH_SHA256, &[0; 8], r.data()).is_err());
}

#[test]
fn a_wrong_can_is_refused_with_6300() {
    let vc = fresh(false);
    let right = vc.can();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    let mut plain = Card::open(InProcess::new(vc)).unwrap();
    assert_eq!(
        pace(&mut plain, &PacePassword::Can(wrong.as_bytes())).unwrap_err(),
        Error::CardRefused {
            sw: StatusWord(0x6300)
        }
    );
    // The run is over; a new one with the right CAN works.
    assert!(pace(&mut plain, &PacePassword::Can(right.as_bytes())).is_ok());
}

#[test]
fn bac_refused_or_accepted_by_configuration() {
    for refused in [true, false] {
        let vc = fresh(refused);
        assert_eq!(vc.bac_refused(), refused);
        let m = vc.mrz().clone();
        let info = MrzInfo::new(&m.document_number, &m.birth_date, &m.expiry_date).unwrap();
        let mut plain = Card::open(InProcess::new(vc)).unwrap();
        let mut buf = [0u8; 64];
        let sel =
            CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x04, 0x0C).with_data(&EMRTD_AID);
        assert_eq!(
            plain.transmit(&sel, &mut buf).unwrap().sw(),
            StatusWord::SUCCESS
        );
        let result = establish_bac(
            &mut plain,
            &BacKeys::from_mrz(&info),
            &mut getrandom::SysRng,
        );
        if refused {
            assert_eq!(
                result.unwrap_err(),
                Error::CardRefused {
                    sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED
                }
            );
        } else {
            assert!(result.is_ok());
        }
    }
}

#[test]
fn the_bac_setting_survives_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.state");
    {
        let mut card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
        assert!(!card.bac_refused());
        card.set_bac_refused(true).unwrap();
    }
    let card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    assert!(card.bac_refused());
    assert_eq!(card.can(), can(&Seed::DEFAULT));
}
