//! PACE-CAM against a real chip: a recorded transcript of a German identity card (PACE with
//! the Chip Authentication Mapping, brainpoolP256r1, AES-128, MRZ password), replayed byte for
//! byte, followed by reading EF.CardSecurity under the new secure messaging session and
//! proving the chip's static key with the CAM data it sent (ICAO Doc 9303-11 §4.4.3.5).
//!
//! Source of the recorded values (facts only; no code taken): the public Go project gmrtd,
//! repository `gmrtd/gmrtd`, file `pace/pace_test.go`, test `TestDoPace_CAM_ECDH_DE` — its
//! EF.CardAccess, MRZ password, the terminal's two private keys, every command and chip
//! answer, and the expected session keys and final send sequence counter.
// Test code: a failing unwrap or index is a failing test.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use cardwire_sm::pace::{CamProof, PaceHost, PacePassword, PaceSession};
use cardwire_sm::pace_driver::choose_pace;
use cardwire_sm::security_infos::{PaceMapping, SecurityInfos};
use cardwire_sm::{AesSuite, Error, MrzInfo, SmSession};
use common::hex;

/// EF.CardAccess: PACE-GM and PACE-CAM, both AES-128 on parameter ID 13 (brainpoolP256r1).
const CARD_ACCESS: &str = "31283012060A04007F0007020204020202010202010D\
                           3012060A04007F0007020204060202010202010D";
/// The terminal's mapping key SK_map,IFD.
const SK_MAP_IFD: &str = "01fd26013f5bc41fad8bb09811e435f16fbe2eb3c2e1d999b0f63da8c3d58bb5";
/// The terminal's ephemeral key SK_IFD.
const SK_IFD: &str = "1fcd3d8ac4fae3960a14fea2925d75add335f13b248eba192358dded93a89552";
/// The expected session keys.
const KS_ENC: &str = "a8e85e938514ec67ae33cda3d43d3c48";
const KS_MAC: &str = "27f1adeb705a049a305b0c619b14b9b3";

/// MSE:Set AT and the four GENERAL AUTHENTICATE steps: (command, answer).
const PACE: [(&str, &str); 5] = [
    ("0022c1a40f800a04007f00070202040602830101", "9000"),
    (
        "10860000027c0000",
        "7c1280109bff93e6ed9f5f9764ec0d783d14fb039000",
    ),
    (
        "10860000457c43814104303f340815eea501772393e299a4a6f6694600189c249c63a8513ff3fefa66e3\
         46d11970b5f76fb564c3b0e54b215528f647ec5a9ab209cdbe262e763d6119a100",
        "7c4382410476dc295c4fb14237d87318d70967e25ec45f74d6fd4aff588c90efb3d868f05b\
         450ba6b64967227c2246dbe2905522c8086dac7f3bbe5cf3b192f0a0c2d97ee59000",
    ),
    (
        "10860000457c438341048442b191ef5346a6b6dacb6cd5728c4a72f0ca7aecdf7afdfb3ef175e12a6f7c\
         74f509af768b8dbe2cf42d16c1f00714691d78a19cdf1b493390d1173785f2b700",
        "7c438441042315ae8143f21de15b35f083cfa148c5fcbd9f2eb9dcdc4519bcf337443e79e5\
         5b28a5e218fb919c30880d263e469645ff114c46ed29918910be3453527d21649000",
    ),
    (
        "008600000c7c0a8508fee088a4d7be1b7f00",
        "7c3c860819a2b9192e11512a8a30b3ae8830311b1d5605777f47cb4ed028346cd00105d32859de\
         127da3d8398865358f26f08ebe410864eaf6e39f33f3f59000",
    ),
];

/// SELECT EF.CardSecurity and READ BINARY of the whole file, under AES SM: (command, answer).
const READ_CARD_SECURITY: [(&str, &str); 11] = [
    (
        "0ca4020c1d87110147ee2e3bd440fb596167f2bb6cd6395e8e08a105747484314bcf00",
        "990290008e085f570baddd1002d29000",
    ),
    (
        "0cb000000d9701048e085d283ec183cbb99800",
        "871101d688d27a6d16f03619e76dcb59c1f1ec990290008e08b7df9a5982bb17299000",
    ),
    (
        "0cb000040d9701008e08a893fca2cd1cb17d00",
        "8781e10191b363a7569f49734c418c91ace47aa27886ffd841802c1402793032b9a15568d16bddd2\
         90885c7bb6672c459be06fda2464b3ac216272142d6bdc10e60a8d977143e10b095c1066624a3cae\
         65e422a5ad6faf4b2bbbdf3789e11632fda8317d15db2c6d5b1d77ee46e693afecf0bf6cc227d010\
         6fda370f4a43fd70088362869acd7c55fe00a13c5eafa9f11c217d3a872075209d98709aec16b8a7\
         0bc1010497eb4eb2867044b8cb6fba76247b8240036aabf3a179c9adbdacf5cf83506effc723b51a\
         f2e2b4868f74e2f9aac7ecc29626ad19a75a1d1469f6123c69b9c223990290008e08ea0238ad4096\
         f04d9000",
    ),
    (
        "0cb000e30d9701008e085dcb938a53abd87400",
        "8781e1011c7177d401c84023ee49f0a6813e1af16b43052d4478a78b0af39b329e7a8f4fc101c9f5\
         58527c453e2cfa02b5088b4d64a5e8b8d752c9fc64ab419224f5d6f014e327e16c9adcb5e1bb48b4\
         1327b858ab4f3b9f281d5a4735529cc69456f1076ceabb7335f649535bdb25900aca7138f44fc47f\
         96528590c5bc271d411c74750843e39fa282e2068c122534380da8c5617d45040854f773c6b47b59\
         29b6272684a1e95bfddb54334380a63907e028710cb92030f83b49fd76fe5392057e52eef9fc6319\
         c4ac400cf1761a45e34f7f3bb7860bcb1bc230ef00a2a011b8ad2c26990290008e08f18d62f004f6\
         04ca9000",
    ),
    (
        "0cb001c20d9701008e0800aa6a8873a4a4c700",
        "8781e1019f74944baea5cb9a628b5320379ba84c9dbbbac678dd60e4d50774e7754ad147d9bd9061\
         cbde486061543a924a5c75ebe1fdef7ecf2f470204d8a76c3f3f7868f53b068de3723f148aa36902\
         252399111484ed660d83a8fbc354aa83f68697619e31b14e24860f43050fb0a4dcd9c04f51a388eb\
         3867f6be33b9a2b3852ddf8b25d7fd93fb26531090cda34854c5761d5fea6bf16cd6b27c6c34a1d9\
         f583a48cca4db08389404bb73bd99030afa1163227e70bce4d0325af1f5bdfa2f5f3e062fef1225c\
         9ea8a7420749d765a9e56bc1a0d64d3cf5560f43daa6eb881a9a7cba990290008e08f128f595abf1\
         b1ed9000",
    ),
    (
        "0cb002a10d9701008e08f1b21360dd601aaf00",
        "8781e1012fabf9e0655d7e987fd28a8aeb19c9cadd990d49399799ed1fe465bcea56da9ba3024291\
         d40d23d7f1e00485d71faddc6d8c1382e8028dd22efdcc72ed47663d56d20dd6c4b867956fe05073\
         13083ae7fc54fb46133f184febbe13ad6fd3e2616a1f4a829e75ada1a0e443ca738288f6014be8a7\
         745d8259b089e6bee35bcc4bf5b63db5fdd84244f67eca099213b70a861b4487225aa68af684278f\
         ceb4cb809de42be3ee95b0e0d72bcdb0ed47cb56efc264e04a9397a90e81ad1d81efa2d14b2ca8ec\
         7bd997f4b1c1fd344d5dee8589c38b227ca4cb35810060a7cc76403e990290008e083eb47ef4fa82\
         afc99000",
    ),
    (
        "0cb003800d9701008e088fd094ae384388ab00",
        "8781e101cbb19c8fe8b58b15138915c9b8aff2171c3c2894196d91a338add75a221d1cb763910296\
         468d0c7d8bf9058389e50b7ebc5603797d5ecf832fe25291b9ec414d57e5f75f3597523949c72142\
         0dd5a55b8b2738795c60a3b1436168d2188d89b47cc60951db4d558935f87b9c075c82e3e9630315\
         a7a2a7f266ed24973c12207e51ef5c11a1e1e897c79366fae1999087d60b78c537b2b18f2219fb38\
         d9a2b244eb58721def8a2532ce889e4c914eb6add938590fab7e5ef23ba576ad11cb6b6ebd5507dc\
         7097c9c77b68f3cd3951bacac1501f18d838899a2f512eb7e914ff06990290008e086dca6ea612be\
         a2fc9000",
    ),
    (
        "0cb0045f0d9701008e087f2ab02f493166d400",
        "8781e1019f92735420bc040cf99cc0191a80cc02e3c5fc899d535ca2e7204a7855de80c1960a71e9\
         9c18a8404ac9dee12e85e9339b384d15718325ccb5e8c64e95c04f20e1e2c3786fceb577020599cc\
         be62c62ed20070007e8287a8a24ea12c6e7a1b08f5cc4ad822dce924c8f9b4926b889018e2b01c3c\
         3c1cee5601cb40176281cdea3a07905b52289b2c0c2817634a3936fb43501dd67febb2a65cc63413\
         40c0f614f14733cc5eb1a989879695cc0ae521c18a557d79e73459c32ff470e7e38e242e8bd36d9a\
         d6f58d1b33e5df10de3d67edeb5d502aa6760d98744c5cb6300f5340990290008e08f04944fffbcf\
         08499000",
    ),
    (
        "0cb0053e0d9701008e080244dd4fff79cc5b00",
        "8781e1013dc2a051c66e2bbc888d65714ed2652039913671c4301483ac9380f803c262ee89de67e5\
         44e564a953ab86edac4ab54f77bbc49000784b3cc323b774ec4ebcb397729ca539baa584099b63ce\
         b56a1334debcbefc4fdace029b4c7292c6519492fe31f422cd021fb7c990c1016b3dd1d550f3cd8a\
         443e267fb0a70106d7933b905008042e7937205d6f13fda86a23f3112dc3ea566460797ca2f46e29\
         4a3a7f7afd1c8b723e10cc1c7de5b2e0b8008ebf4d086937a6a419e31719e5e33eec5bdb4dd49bc6\
         0648ebdad3cc272961311c54cb552fd40b2f3ad0e560616c89d3c61e990290008e08f84dade3511b\
         07149000",
    ),
    (
        "0cb0061d0d9701008e08d13c4e86a5c390bc00",
        "8781e101cfe5947ea65924c874ec477a1d4be1c587093d874482286e9eac15f241c416bbc1f26f93\
         ec71b3212de17c19e071037831a3c6efa7374c66843965a2ceee6f2ffbc5f1c648fe751b978bdb26\
         c94a418afde1eeceb28ce5124ce58c3c0ec96a62a1a383a1494820dd3db166e0a5e6d632a080f294\
         13e733e44996c99f4a03702abd445df84d4bbeb7e4225fd3bc19d3e8517c474c0ad9c3b53f61d6a2\
         569fb4713f097da18b7395697f7fd996a0771d59a2233536e4e8220fbcabea7add966748cbb61efa\
         21f93ff8b11374a699e2acf8a061bb3c815f0648dbcc36d5a3a138f4990290008e08a6fd912653b4\
         be5e9000",
    ),
    (
        "0cb006fc0d97014a8e0834b735e4065d97c100",
        "8751017c668bedae4a7b51f4466d979d2026942ea1f4ae37bcb6e29f0c4b36f3572675ae58c8b9f5\
         2ebf35c65c3ae955dc060bebc79b407f7e86d587391d9535c593e5f790939babe21b1436035b2046\
         560d09990290008e0820085b109fb48aad9000",
    ),
];

/// The plain commands behind [`READ_CARD_SECURITY`]: SELECT EF.CardSecurity (`011D`), then
/// READ BINARY at the offsets the terminal chose (first the 4-byte header, then up to 256
/// bytes at a time; the chip answers 223).
fn plain_commands() -> Vec<Vec<u8>> {
    let mut v = vec![hex("00a4020c02011d")];
    v.push(hex("00b0000004"));
    for offset in [0x004u16, 0x0e3, 0x1c2, 0x2a1, 0x380, 0x45f, 0x53e, 0x61d] {
        let [hi, lo] = offset.to_be_bytes();
        v.push(vec![0x00, 0xB0, hi, lo, 0x00]);
    }
    v.push(hex("00b006fc4a"));
    v
}

fn mrz() -> MrzInfo {
    MrzInfo::new("C4KHNY1PF", "780214", "330315").unwrap()
}

fn key32(s: &str) -> [u8; 32] {
    hex(s).try_into().unwrap()
}

/// Runs PACE-CAM step by step against the recording, checking every command byte for byte;
/// `last_answer` may be altered by the caller (tamper tests).
fn run_pace(last_answer: &[u8]) -> Result<(PaceHost, Vec<u8>), Error> {
    let card_access = hex(CARD_ACCESS);
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let cam = infos
        .pace_infos()
        .find(|p| p.mapping() == Some(PaceMapping::EcdhChipAuthentication))
        .expect("EF.CardAccess offers PACE-CAM");
    // choose_pace picks the first runnable info (the GM one here); CAM is chosen explicitly.
    let (_, curve) = choose_pace(&infos).unwrap();
    let mrz = mrz();
    let mut host = PaceHost::new(
        cam.protocol(),
        curve,
        &PacePassword::Mrz(&mrz),
        key32(SK_MAP_IFD),
        key32(SK_IFD),
    )?;
    let mut out = [0u8; 128];

    let n = host.mse_set_at_command(&mut out)?;
    assert_eq!(&out[..n], &hex(PACE[0].0)[..], "MSE:Set AT");
    host.check_mse_set_at(&hex(PACE[0].1))?;

    assert_eq!(host.nonce_command(), &hex(PACE[1].0)[..], "nonce command");
    host.process_nonce(&hex(PACE[1].1))?;

    let n = host.map_command(&mut out)?;
    assert_eq!(&out[..n], &hex(PACE[2].0)[..], "map command");
    host.process_map(&hex(PACE[2].1))?;

    let n = host.key_agreement_command(&mut out)?;
    assert_eq!(&out[..n], &hex(PACE[3].0)[..], "key agreement command");
    host.process_key_agreement(&hex(PACE[3].1))?;

    let n = host.mutual_authentication_command(&mut out)?;
    assert_eq!(
        &out[..n],
        &hex(PACE[4].0)[..],
        "mutual authentication command"
    );
    Ok((host, last_answer.to_vec()))
}

/// The whole PACE-CAM run, giving the session and the CAM proof.
fn pace_cam(last_answer: &[u8]) -> Result<(PaceSession, CamProof), Error> {
    let (host, answer) = run_pace(last_answer)?;
    host.finish_cam(&answer)
}

#[test]
fn pace_cam_commands_and_session_keys_match_the_real_chip() {
    let (host, _) = run_pace(&hex(PACE[4].1)).unwrap();
    let (enc, mac) = host.session_keys().unwrap();
    assert_eq!(enc.as_bytes(), &hex(KS_ENC)[..], "KS_enc");
    assert_eq!(mac.as_bytes(), &hex(KS_MAC)[..], "KS_mac");
    let (session, proof) = host.finish_cam(&hex(PACE[4].1)).unwrap();
    let PaceSession::Aes(sm) = session else {
        panic!("AES-128 expected")
    };
    assert_eq!(sm.ssc(), &[0u8; 16]);
    // The chip's mapping key of the run is the one it sent in step 2.
    assert_eq!(proof.chip_mapping_key(), &hex(PACE[2].1)[4..69]);
}

/// The AES session of a successful run.
fn aes_session() -> (SmSession<AesSuite>, CamProof) {
    let (session, proof) = pace_cam(&hex(PACE[4].1)).unwrap();
    let PaceSession::Aes(sm) = session else {
        panic!("AES-128 expected")
    };
    (sm, proof)
}

/// Reads EF.CardSecurity through the recorded exchanges: every wrapped command must equal
/// the recorded one, and every answer must unwrap. Returns the file and the final SSC.
fn read_card_security(sm: &mut SmSession<AesSuite>) -> Vec<u8> {
    let plain = plain_commands();
    assert_eq!(plain.len(), READ_CARD_SECURITY.len());
    let mut file = Vec::new();
    for (i, (plain, (wire, answer))) in plain.iter().zip(READ_CARD_SECURITY).enumerate() {
        let mut out = [0u8; 300];
        let n = sm.wrap_command(plain, &mut out).unwrap();
        assert_eq!(
            common::to_hex(&out[..n]),
            common::to_hex(&hex(wire)),
            "wrapped command {i}"
        );
        let mut data = [0u8; 300];
        let m = sm
            .unwrap_response(&hex(answer), &mut data)
            .unwrap_or_else(|e| panic!("answer {i}: {e:?}"));
        let (body, sw) = data[..m].split_at(m - 2);
        assert_eq!(sw, [0x90, 0x00], "status of answer {i}");
        if i > 0 {
            file.extend_from_slice(body);
        } else {
            assert!(body.is_empty(), "SELECT answers no data");
        }
    }
    file
}

#[test]
fn ef_card_security_is_read_under_the_pace_session() {
    let (mut sm, _) = aes_session();
    let file = read_card_security(&mut sm);
    let mut ssc = [0u8; 16];
    ssc[15] = 0x16;
    assert_eq!(sm.ssc(), &ssc, "final SSC");
    // The 4-byte header `30 82 LL LL` announces the whole file.
    assert_eq!(file[..2], [0x30, 0x82]);
    let len = usize::from(u16::from_be_bytes([file[2], file[3]])) + 4;
    assert_eq!(file.len(), len);
    assert_eq!(file.len(), 0x6FC + 0x4A);
}

/// EF.CardSecurity as read, with its `ChipAuthenticationPublicKeyInfo`s and the CAM proof.
#[cfg(feature = "alloc")]
mod card_security {
    use super::*;
    use cardwire_sm::chip_auth::ChipPublicKey;
    use cardwire_sm::pace::PaceCurve;
    use cardwire_sm::pace_group::PaceDomain;
    use cardwire_sm::passive::{CardSecurity, PassiveError};
    use cardwire_sm::security_infos::SecurityInfo;

    fn read() -> (Vec<u8>, CamProof) {
        let (mut sm, proof) = aes_session();
        (read_card_security(&mut sm), proof)
    }

    /// The chip's static keys: (keyId, SubjectPublicKeyInfo).
    fn static_keys(cs: &CardSecurity) -> Vec<(Option<u32>, Vec<u8>)> {
        cs.security_infos()
            .chip_authentication_public_keys()
            .map(|k| (k.key_id(), k.subject_public_key_info().to_vec()))
            .collect()
    }

    #[test]
    fn cam_proves_the_chips_static_key() {
        let (file, proof) = read();
        let cs = CardSecurity::parse(&file).unwrap();
        // EF.CardSecurity repeats EF.CardAccess's PACEInfos, signed.
        let pace: Vec<_> = cs.security_infos().pace_infos().collect();
        assert_eq!(pace.len(), 2);
        assert!(cs.security_infos().iter().any(|i| matches!(
            i,
            SecurityInfo::Pace(p) if p.mapping() == Some(PaceMapping::EcdhChipAuthentication)
        )));
        let keys = static_keys(&cs);
        assert_eq!(keys.len(), 2, "two chip authentication keys");
        let outcomes: Vec<_> = keys
            .iter()
            .map(|(id, spki)| {
                let key = ChipPublicKey::from_spki(spki).unwrap();
                assert_eq!(key.domain(), PaceDomain::Ec(PaceCurve::BrainpoolP256r1));
                (*id, proof.verify_key(&key))
            })
            .collect();
        // Key 13 is the PACE-CAM key (PK_map,IC = CA_IC · PK_IC holds); key 72 is the one
        // the ChipAuthenticationInfo names for Chip Authentication v1.
        assert_eq!(
            outcomes,
            [
                (Some(13), Ok(())),
                (Some(72), Err(Error::AuthenticationFailed))
            ]
        );
    }

    /// The CAM key (keyId 13) of EF.CardSecurity.
    fn cam_key(cs: &CardSecurity) -> Vec<u8> {
        static_keys(cs)
            .into_iter()
            .find(|(id, _)| *id == Some(13))
            .unwrap()
            .1
    }

    #[test]
    fn a_flipped_bit_in_the_static_key_fails() {
        let (file, proof) = read();
        let cs = CardSecurity::parse(&file).unwrap();
        let spki = cam_key(&cs);
        assert_eq!(
            proof.verify_key(&ChipPublicKey::from_spki(&spki).unwrap()),
            Ok(())
        );
        for at in [spki.len() - 65 + 1, spki.len() - 1] {
            let mut bad = spki.clone();
            bad[at] ^= 0x01;
            let key = ChipPublicKey::from_spki(&bad).unwrap();
            assert_eq!(
                proof.verify_key(&key),
                Err(Error::AuthenticationFailed),
                "key byte {at}"
            );
        }
        // The right point on the wrong curve is refused too.
        let key = ChipPublicKey::from_spki(&spki).unwrap();
        assert_eq!(
            proof.verify(PaceCurve::NistP256, key.public_key()),
            Err(Error::UnsupportedProtocol)
        );
    }

    #[test]
    fn a_flipped_bit_in_ca_ic_fails() {
        let (file, _) = read();
        let cs = CardSecurity::parse(&file).unwrap();
        let key = ChipPublicKey::from_spki(&cam_key(&cs)).unwrap();
        // The last answer is `7C 3C 86 08 T_IC 8A 30 A_IC 90 00`: A_IC is bytes 14..62,
        // three AES blocks (CA_IC, 32 bytes, and a block of padding).
        let answer = hex(PACE[4].1);
        assert_eq!(answer[12..14], [0x8A, 0x30]);
        // A bit of the first block garbles CA_IC's first block and flips a bit of its second.
        for at in [14, 14 + 7, 14 + 15] {
            let mut bad = answer.clone();
            bad[at] ^= 0x01;
            // The token still verifies (it covers PK_IFD, not A_IC); CA_IC is wrong.
            let (_, proof) = pace_cam(&bad).unwrap();
            assert_eq!(
                proof.verify_key(&key),
                Err(Error::AuthenticationFailed),
                "A_IC byte {at}"
            );
        }
        // A bit of the second or third block garbles the padding block: refused at once.
        for at in [14 + 16, 14 + 31, 14 + 47] {
            let mut bad = answer.clone();
            bad[at] ^= 0x01;
            assert_eq!(
                pace_cam(&bad).map(|_| ()),
                Err(Error::AuthenticationFailed),
                "A_IC byte {at}"
            );
        }
    }

    /// The recorded chip: answers in order, each command checked byte for byte.
    struct Replay(usize);

    impl cardwire_transport::Session for Replay {
        type Error = cardwire_transport::ErrorKind;
        fn transmit<'r>(
            &mut self,
            command: &cardwire_apdu::CommandRepr<'_>,
            response: &'r mut [u8],
        ) -> Result<cardwire_apdu::Response<&'r [u8]>, Self::Error> {
            let mut wire = [0u8; 300];
            let wire = command.encode(&mut wire).unwrap();
            let (expected, answer) = PACE[self.0];
            assert_eq!(wire, &hex(expected)[..], "command {}", self.0);
            self.0 += 1;
            let answer = hex(answer);
            response[..answer.len()].copy_from_slice(&answer);
            Ok(cardwire_apdu::Response::new_checked(&response[..answer.len()]).unwrap())
        }
    }

    #[test]
    fn the_one_driver_chooses_cam_and_its_proof_holds_for_the_key_the_pace_info_names() {
        use cardwire_sm::pace_driver::{choose_pace_any, establish_pace_any};
        let card_access = hex(CARD_ACCESS);
        let infos = SecurityInfos::parse(&card_access).unwrap();
        // EF.CardAccess lists GM first; the driver's choice is CAM.
        let (info, domain) = choose_pace_any(&infos).unwrap();
        assert_eq!(info.mapping(), Some(PaceMapping::EcdhChipAuthentication));
        assert_eq!(domain, PaceDomain::Ec(PaceCurve::BrainpoolP256r1));
        let mut keys = hex(SK_MAP_IFD);
        keys.extend(hex(SK_IFD));
        let mut chip = Replay(0);
        let mrz = mrz();
        let outcome = establish_pace_any(
            &mut chip,
            info.protocol(),
            domain,
            &PacePassword::Mrz(&mrz),
            &mut super::common::Recorded(keys),
        )
        .unwrap();
        assert_eq!(chip.0, 5);
        let PaceSession::Aes(mut sm) = outcome.session else {
            panic!("AES-128 expected")
        };
        let proof = outcome.cam.expect("a CAM run gives its proof");
        let file = read_card_security(&mut sm);
        let cs = CardSecurity::parse(&file).unwrap();
        assert_eq!(cs.verify_signature(), Ok(()));
        // ICAO 9303-11 §9.2.1: the CAM key's keyId is the PACEInfo's parameterId (13).
        let key_id = info.parameter_id().map(|id| id.0);
        assert_eq!(key_id, Some(13));
        let spki = static_keys(&cs)
            .into_iter()
            .find(|(id, _)| *id == key_id)
            .unwrap()
            .1;
        assert_eq!(
            proof.verify_key(&ChipPublicKey::from_spki(&spki).unwrap()),
            Ok(())
        );
    }

    #[test]
    fn card_security_signature_verifies_with_its_document_signer() {
        let (file, _) = read();
        let cs = CardSecurity::parse(&file).unwrap();
        let ds = cs.document_signer().unwrap();
        assert!(
            ds.tbs_certificate()
                .subject()
                .to_string()
                .contains("CN=Document Signer Passport")
        );
        assert_eq!(cs.verify_signature(), Ok(()));
        // A chip key altered in the file no longer matches the signed digest.
        let spki = cam_key(&cs);
        let at = file
            .windows(spki.len())
            .position(|w| w == &spki[..])
            .unwrap();
        let mut bad = file.clone();
        bad[at + spki.len() - 1] ^= 0x01;
        assert_eq!(
            CardSecurity::parse(&bad).unwrap().verify_signature(),
            Err(PassiveError::MessageDigestMismatch)
        );
    }
}

#[test]
fn a_flipped_bit_in_a_recorded_answer_fails_the_session() {
    let (mut sm, _) = aes_session();
    let plain = plain_commands();
    let mut out = [0u8; 300];
    let n = sm.wrap_command(&plain[0], &mut out).unwrap();
    assert_eq!(&out[..n], &hex(READ_CARD_SECURITY[0].0)[..]);
    sm.unwrap_response(&hex(READ_CARD_SECURITY[0].1), &mut out)
        .unwrap();
    sm.wrap_command(&plain[1], &mut out).unwrap();
    let mut answer = hex(READ_CARD_SECURITY[1].1);
    answer[5] ^= 0x01;
    assert_eq!(
        sm.unwrap_response(&answer, &mut out),
        Err(Error::MacMismatch)
    );
    assert!(sm.is_failed());
}
