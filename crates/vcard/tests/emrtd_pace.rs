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

/// Reads EF.CardSecurity (FID 011D in the MF) over the session PACE opened there.
fn card_security(card: &mut Secure) -> Vec<u8> {
    read_file(card, 0x011D)
}

#[test]
fn pace_cam_is_offered_and_the_chip_proves_the_card_security_key() {
    use cardwire_sm::chip_auth::ChipPublicKey;
    use cardwire_sm::pace_driver::{choose_pace_any, establish_pace_any};
    use cardwire_sm::passive::{CardSecurity, TrustList};
    use cardwire_sm::security_infos::PaceMapping;

    let vc = fresh(true);
    assert!(vc.pace_cam_offered());
    let can = vc.can();
    let mut plain = Card::open(InProcess::new(vc)).unwrap();
    let bytes = card_access(&mut plain);
    let infos = SecurityInfos::parse(&bytes).unwrap();
    assert_eq!(infos.pace_infos().count(), 2);
    // GM stays offered (and first for a terminal without CAM); a CAM terminal picks CAM.
    let (gm, _) = choose_pace(&infos).unwrap();
    assert_eq!(gm.mapping(), Some(PaceMapping::EcdhGeneric));
    let (info, domain) = choose_pace_any(&infos).unwrap();
    assert_eq!(info.mapping(), Some(PaceMapping::EcdhChipAuthentication));
    let key_id = info.parameter_id().unwrap().0;
    assert_eq!(key_id, 12);
    let outcome = establish_pace_any(
        &mut plain,
        info.protocol(),
        domain,
        &PacePassword::Can(can.as_bytes()),
        &mut getrandom::SysRng,
    )
    .unwrap();
    let proof = outcome.cam.expect("a CAM run gives a proof");
    let PaceSession::Aes(sm) = outcome.session else {
        panic!("AES")
    };
    let mut card = secure_card(plain, sm);
    // EF.CardSecurity in the MF, signed by the test document signer under the test CSCA.
    let file = card_security(&mut card);
    let cs = CardSecurity::parse(&file).unwrap();
    cs.verify_signature().unwrap();
    let mut trust = TrustList::new();
    trust
        .push_der(&cardwire_vcard::emrtd_pki::csca_cert(&Seed::DEFAULT).unwrap())
        .unwrap();
    trust
        .verify_document_signer(
            cs.document_signer().unwrap(),
            core::time::Duration::from_secs(1_767_225_600),
        )
        .unwrap();
    let signed = cs.security_infos();
    let pk = signed
        .chip_authentication_public_keys()
        .find(|k| k.key_id() == Some(key_id))
        .unwrap();
    let chip_key = ChipPublicKey::from_spki(pk.subject_public_key_info()).unwrap();
    proof.verify_key(&chip_key).unwrap();
    // Another static key (the Active Authentication key of DG15) does not match the proof.
    let other = cardwire_vcard::personalise::active_authentication_key(&Seed::DEFAULT).unwrap();
    let other = p256::PublicKey::from(other.verifying_key()).to_sec1_bytes();
    let other = ChipPublicKey::new(domain, &other).unwrap();
    assert_eq!(proof.verify_key(&other), Err(Error::AuthenticationFailed));
    // The eMRTD application is selected under the same session; its EF.SOD (also 011D) is
    // another file.
    select_emrtd(&mut card);
    let sod = read_file(&mut card, 0x011D);
    assert_ne!(sod, file);
    assert!(LdsSecurityObject::parse(&sod).is_ok());
}

#[test]
fn ef_card_security_is_not_readable_without_secure_messaging() {
    let mut plain = Card::open(InProcess::new(fresh(false))).unwrap();
    let mut buf = [0u8; 64];
    // READ BINARY with SFI 1D in the MF, plain.
    let cmd = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, 0x9D, 0x00).with_ne(16);
    let sw = plain.transmit(&cmd, &mut buf).unwrap().sw();
    assert_eq!(sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
}

#[test]
fn a_gm_only_card_refuses_cam() {
    let mut vc = fresh(false);
    vc.set_pace_cam(false).unwrap();
    assert!(!vc.pace_cam_offered());
    let can = vc.can();
    let mut plain = Card::open(InProcess::new(vc)).unwrap();
    let bytes = card_access(&mut plain);
    let infos = SecurityInfos::parse(&bytes).unwrap();
    assert_eq!(infos.pace_infos().count(), 1);
    let (info, _) = cardwire_sm::pace_driver::choose_pace_any(&infos).unwrap();
    assert_eq!(
        info.mapping(),
        Some(cardwire_sm::security_infos::PaceMapping::EcdhGeneric)
    );
    // MSE:Set AT for id-PACE-ECDH-CAM-AES-CBC-CMAC-128 is refused.
    let data = [
        &[0x80, 0x0A][..],
        cardwire_vcard::personalise::PACE_CAM_PROTOCOL,
        &[0x83, 0x01, 0x02],
    ]
    .concat();
    let mse = CommandRepr::new(Cla::INTERINDUSTRY, Ins(0x22), 0xC1, 0xA4).with_data(&data);
    let mut buf = [0u8; 64];
    assert_eq!(
        plain.transmit(&mse, &mut buf).unwrap().sw(),
        StatusWord::INCORRECT_DATA
    );
    // GM still runs.
    assert!(pace(&mut plain, &PacePassword::Can(can.as_bytes())).is_ok());
}
