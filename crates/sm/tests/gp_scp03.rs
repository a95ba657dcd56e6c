//! An independent GlobalPlatform SCP03 session transcript: the test vectors of osmocom pySim,
//! `tests/unittests/test_globalplatform.py` (Harald Welte, 2023-2024; SCP03 classes
//! `SCP03_Test_AES{128,192,256}_{11,03,33}`), recorded against a GlobalPlatform card (an
//! sysmocom eUICC). Each case gives the static keys, the INITIALIZE UPDATE command and answer,
//! the EXTERNAL AUTHENTICATE command for a security level, a wrapped STORE DATA (GET EID) with
//! the card's protected answer, and four wrapped GET STATUS / GET DATA commands (ISO cases
//! 1–4), in that order on one session.
// Test code: a failing unwrap or index is a failing test (clippy.toml allows it only inside #[test] fns).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use cardwire_apdu::StatusWord;
use cardwire_sm::Error;
use cardwire_sm::scp03::{
    InitializeUpdateResponse, Scp03Card, Scp03Host, SecurityLevel, StaticKeys,
};
use common::hex;

const AES128: [&str; 3] = [
    "000102030405060708090a0b0c0d0e0f",
    "101112131415161718191a1b1c1d1e1f",
    "202122232425262728292a2b2c2d2e2f",
];
const AES192: [&str; 3] = [
    "000102030405060708090a0b0c0d0e0f0001020304050607",
    "101112131415161718191a1b1c1d1e1f1011121314151617",
    "202122232425262728292a2b2c2d2e2f2021222324252627",
];
const AES256: [&str; 3] = [
    "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f",
    "101112131415161718191a1b1c1d1e1f101112131415161718191a1b1c1d1e1f",
    "202122232425262728292a2b2c2d2e2f202122232425262728292a2b2c2d2e2f",
];

/// The AID of the eUICC's ISD-R (GSMA SGP.22 §2.2.3), the security domain of the transcript.
const ISD_R_AID: &str = "A0000005591010FFFFFFFF8900000100";
const GET_EID_PLAIN: &str = "80E2910006BF3E035C015A00";
const GET_EID_RSP_PLAIN: &str = "bf3e125a1089882119900000000000000000000005";
const CASES_PLAIN: [&str; 4] = [
    "80F22002",
    "80ca006600",
    "80F220020a4f0212345c054f9f70c5",
    "80f28002024f0000",
];

struct Transcript {
    keys: [&'static str; 3],
    init_upd_cmd: &'static str,
    init_upd_rsp: &'static str,
    ext_auth_cmd: &'static str,
    get_eid_cmd: &'static str,
    get_eid_rsp: &'static str,
    cases: [&'static str; 4],
}

const TRANSCRIPTS: [Transcript; 9] = [
    Transcript {
        keys: AES128,
        init_upd_cmd: "8050300008b13e5f938fc108c400",
        init_upd_rsp: "000000000000000000003003703eb51047495b249f66c484c1d2ef1948000002",
        ext_auth_cmd: "84821100107d5f5826a993ebc89eea24957fa0b3ce",
        get_eid_cmd: "84e291000ebf3e035c015a558d036518a2829700",
        get_eid_rsp: "bf3e125a1089882119900000000000000000000005971be68992dbbdfa",
        cases: [
            "84f220020863a63f8959827fb2",
            "84ca006608a0c6a4a74166f7ce00",
            "84f22002124f0212345c054f9f70c52249b50272656536",
            "84f280020a4f00e91443f6dce6b8ed00",
        ],
    },
    Transcript {
        keys: AES128,
        init_upd_cmd: "80503000088e1552d0513c60f300",
        init_upd_rsp: "0000000000000000000030037030760cd2c47c1dd395065fe5ead8a9d7000001",
        ext_auth_cmd: "8482030010fd4721a14d9b07003c451d2f8ae6bb21",
        get_eid_cmd: "84e2910018ca9c00f6713d79bc8baa642bdff51c3f6a4082d3bd9ad26c00",
        get_eid_rsp: "bf3e125a1089882119900000000000000000000005",
        cases: [
            "84f2200208c9811b11f1264cf1",
            "84ca006608e10ab60b3054798800",
            "84f22002184e2908bdb48b2315a55482e9e936ca122d6ecfae7d17416e",
            "84f28002180dd10a6b6193e5340b9e77d32d5a179cd710ac2773aefb2800",
        ],
    },
    Transcript {
        keys: AES128,
        init_upd_cmd: "8050300008fdf38259a1e0de4400",
        init_upd_rsp: "000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003",
        ext_auth_cmd: "84823300108c36f96bcc00724a4e13ad591d7da3f0",
        get_eid_cmd: "84e2910018267a85dfe4a98fca6fb0527e0dfecce4914e40401433c87f00",
        get_eid_rsp: "f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b9",
        cases: [
            "84f2200208ac6a59024bed84cc",
            "84ca006608409912ad8fb7aed000",
            "84f22002185f3dafc3ac14c381536a488bf44e06d056df9d74dbd21e5a",
            "84f280021865165105be3373347d0424d4400af2ac393f569ec779389e00",
        ],
    },
    Transcript {
        keys: AES192,
        init_upd_cmd: "80503100087396430b768b085b00",
        init_upd_rsp: "000000000000000000003103708cfc23522ffdbf1e5df5542cac8fd866000003",
        ext_auth_cmd: "84821100102145ed30b146f5db252fb7e624cec244",
        get_eid_cmd: "84e291000ebf3e035c015aff42cf801d14394400",
        get_eid_rsp: "bf3e125a1089882119900000000000000000000005162fbd33e04940a9",
        cases: [
            "84f22002084584e4f6784811ee",
            "84ca006608937776ebe190fa3000",
            "84f22002124f0212345c054f9f70c59a52bddf3040368c",
            "84f280020a4f009804b11411f7393d00",
        ],
    },
    Transcript {
        keys: AES192,
        init_upd_cmd: "805031000869c65da8202bf19f00",
        init_upd_rsp: "00000000000000000000310370b570a67be38446717729d6dd3d2ec5b1000001",
        ext_auth_cmd: "848203001065df4f1a356a887905466516d9e5b7c1",
        get_eid_cmd: "84e2910018d2c6fb477c5d4afe4fd4d21f17eff10d3578ec1774a12a2d00",
        get_eid_rsp: "bf3e125a1089882119900000000000000000000005",
        cases: [
            "84f2200208964e188f0b1bb697",
            "84ca006608f0820035a41d3e1800",
            "84f220021806b076ed452cd1fa84f77f5c08a146aa77a9286757dea791",
            "84f2800218d06527e39222dce091fabdb8e9b898417a67a6852d3577db00",
        ],
    },
    Transcript {
        keys: AES192,
        init_upd_cmd: "80503100089b3f2eef0e8c937400",
        init_upd_rsp: "00000000000000000000310370f6bb305a15bae1a68f79fb08212fbed7000002",
        ext_auth_cmd: "84823300109100bc22d58b45b86a26365ce39ff3cf",
        get_eid_cmd: "84e29100188f7f946c84f70d17994bc6e8791251bb1bb1bf02cf8de58900",
        get_eid_rsp: "c05176c1b6f72aae50c32cbee63b0e95998928fd4dfb2be9f27ffde8c8476f5909b4805cc4039599",
        cases: [
            "84f2200208d5d97754b6b3d2ba",
            "84ca006608516c82b8e30adbeb00",
            "84f2200218cc247f4761e6944277a4e0d6e32e44025b1e31537e2fc668",
            "84f2800218ba22b63d509bef5d093b43e5eaed03ed23144ab2d9cb51de00",
        ],
    },
    Transcript {
        keys: AES256,
        init_upd_cmd: "805032000811666d57866c6f5400",
        init_upd_rsp: "0000000000000000000032037053ea8847efa7674e41498a4d66cf0dee000003",
        ext_auth_cmd: "84821100102f2ad190eff2fafc4908996d1cebd310",
        get_eid_cmd: "84e291000ebf3e035c015af4b680372542b59d00",
        get_eid_rsp: "bf3e125a10898821199000000000000000000000058012dd7f01f1c4c1",
        cases: [
            "84f2200208d618b7da68d5fe52",
            "84ca0066088f3e055db23ad5e500",
            "84f22002124f0212345c054f9f70c5b6e15cc42404915e",
            "84f280020a4f00aa124aa74afe7f7500",
        ],
    },
    Transcript {
        keys: AES256,
        init_upd_cmd: "8050320008c6066990fc426e1d00",
        init_upd_rsp: "000000000000000000003203708682cd81bbd8919f2de3f2664581f118000001",
        ext_auth_cmd: "848203001077c493b632edadaf865a1e64acc07ce9",
        get_eid_cmd: "84e29100183ddaa60594963befaada3525b492ede23c2ab2c1ce3afe4400",
        get_eid_rsp: "bf3e125a1089882119900000000000000000000005",
        cases: [
            "84f2200208480ddc8e419da38d",
            "84ca0066083e9d6a6c0b2d732000",
            "84f22002183ebfef2da8b04af2a85f491f299b76973df76ff08a4031be",
            "84f2800218783fff80990f5585b1055010ea95094a26e4a8f1ef4b18e100",
        ],
    },
    Transcript {
        keys: AES256,
        init_upd_cmd: "805032000897b2055fe58599fd00",
        init_upd_rsp: "00000000000000000000320370a8439a22cedf045fa9f1903b2834f26e000002",
        ext_auth_cmd: "8482330010508a0fd959d2e547c6b33154a6be2057",
        get_eid_cmd: "84e29100187a5ef717eaf1e135ae92fe54429d0e465decda65f5fe5aea00",
        get_eid_rsp: "ea90dbfa648a67c5eb6abc57f8530b97d0cd5647c5e8732016b55203b078dd2ace7f8bc5d1c1cd99",
        cases: [
            "84f2200208bcc5c17275545d93",
            "84ca00660804806aba9d543bb600",
            "84f2200218717222491556ec81a45f49ce48be33320024801a1c4cb0e0",
            "84f2800218561f105bccd3a1642904b251ccc1228beb80a82370a8637000",
        ],
    },
];

fn static_keys(k: [&str; 3]) -> StaticKeys {
    StaticKeys::new(&hex(k[0]), &hex(k[1]), &hex(k[2])).unwrap()
}

fn with_9000(h: &str) -> Vec<u8> {
    let mut v = hex(h);
    v.extend_from_slice(&[0x90, 0x00]);
    v
}

#[test]
fn host_reproduces_every_transcript() {
    for t in &TRANSCRIPTS {
        let init = hex(t.init_upd_cmd);
        let ext = hex(t.ext_auth_cmd);
        let level = SecurityLevel(ext[2]);
        let challenge: [u8; 8] = init[5..13].try_into().unwrap();
        let host = Scp03Host::new(static_keys(t.keys), init[2], challenge);
        let mut out = [0u8; 300];
        let n = host.initialize_update_command(&mut out).unwrap();
        assert_eq!(out[..n], init[..]);
        let mut host = host;
        let n = host
            .external_authenticate_command(&with_9000(t.init_upd_rsp), level, &mut out)
            .unwrap();
        assert_eq!(
            out[..n],
            ext[..],
            "EXTERNAL AUTHENTICATE for {}",
            t.init_upd_cmd
        );
        let mut session = host.finish(&[0x90, 0x00]).unwrap();
        let n = session.wrap_command(&hex(GET_EID_PLAIN), &mut out).unwrap();
        assert_eq!(
            out[..n],
            hex(t.get_eid_cmd)[..],
            "GET EID for {}",
            t.init_upd_cmd
        );
        let mut plain = [0u8; 300];
        let m = session
            .unwrap_response(&with_9000(t.get_eid_rsp), &mut plain)
            .unwrap();
        assert_eq!(plain[..m], with_9000(GET_EID_RSP_PLAIN)[..]);
        for (plain_cmd, wrapped) in CASES_PLAIN.iter().zip(t.cases) {
            let n = session.wrap_command(&hex(plain_cmd), &mut out).unwrap();
            assert_eq!(
                out[..n],
                hex(wrapped)[..],
                "{plain_cmd} for {}",
                t.init_upd_cmd
            );
        }
    }
}

#[test]
fn card_reproduces_every_transcript() {
    for t in &TRANSCRIPTS {
        let rsp = hex(t.init_upd_rsp);
        let parsed = InitializeUpdateResponse::parse(&rsp).unwrap();
        assert_eq!(parsed.i_param, 0x70);
        // The card derives its challenge from the sequence counter and the ISD-R AID.
        let mut card = Scp03Card::with_sequence_counter(
            static_keys(t.keys),
            parsed.key_version,
            parsed.key_diversification,
            parsed.sequence_counter.unwrap(),
            &hex(ISD_R_AID),
        )
        .unwrap();
        let mut out = [0u8; 300];
        let n = card
            .initialize_update(&hex(t.init_upd_cmd), &mut out)
            .unwrap();
        assert_eq!(out[..n], with_9000(t.init_upd_rsp)[..]);
        let mut session = card.external_authenticate(&hex(t.ext_auth_cmd)).unwrap();
        let mut plain = [0u8; 300];
        let m = session
            .unwrap_command(&hex(t.get_eid_cmd), &mut plain)
            .unwrap();
        assert_eq!(plain[..m], hex(GET_EID_PLAIN)[..]);
        let data = hex(GET_EID_RSP_PLAIN);
        let n = session
            .wrap_response(&data, StatusWord::SUCCESS, &mut out)
            .unwrap();
        assert_eq!(
            out[..n],
            with_9000(t.get_eid_rsp)[..],
            "GET EID answer for {}",
            t.init_upd_cmd
        );
        for (plain_cmd, wrapped) in CASES_PLAIN.iter().zip(t.cases) {
            let m = session.unwrap_command(&hex(wrapped), &mut plain).unwrap();
            let expected = hex(plain_cmd);
            // The card sees Le = 00 where the host sent 00 for a case 2/4 command.
            assert_eq!(plain[..m], expected[..], "{plain_cmd}");
            session
                .wrap_response(&[], StatusWord::SUCCESS, &mut out)
                .unwrap();
        }
    }
}

#[test]
fn card_rejects_wrong_host_cryptogram_and_mac() {
    let t = &TRANSCRIPTS[0];
    let parsed = InitializeUpdateResponse::parse(&hex(t.init_upd_rsp)).unwrap();
    for flip in [6usize, 15, 20] {
        let mut card = Scp03Card::new(static_keys(t.keys), 0x30, [0; 10], parsed.card_challenge);
        let mut out = [0u8; 64];
        card.initialize_update(&hex(t.init_upd_cmd), &mut out)
            .unwrap();
        let mut ext = hex(t.ext_auth_cmd);
        ext[flip] ^= 0x01;
        assert_eq!(
            card.external_authenticate(&ext).err(),
            Some(Error::AuthenticationFailed)
        );
    }
    // The host rejects a card whose cryptogram is wrong (wrong keys or not the card).
    let mut rsp = with_9000(t.init_upd_rsp);
    rsp[25] ^= 0x80;
    let init = hex(t.init_upd_cmd);
    let mut host = Scp03Host::new(static_keys(t.keys), 0x30, init[5..13].try_into().unwrap());
    let mut out = [0u8; 64];
    assert_eq!(
        host.external_authenticate_command(&rsp, SecurityLevel::C_MAC, &mut out)
            .err(),
        Some(Error::AuthenticationFailed)
    );
}

#[test]
fn pseudo_random_challenge_matches_the_card() {
    // The card of the transcript derives its challenge from the sequence counter and the AID
    // of its security domain, the eUICC ISD-R.
    let t = &TRANSCRIPTS[0];
    let parsed = InitializeUpdateResponse::parse(&hex(t.init_upd_rsp)).unwrap();
    let aid = hex(ISD_R_AID);
    let got = cardwire_sm::scp03::pseudo_random_challenge(
        &static_keys(t.keys),
        parsed.sequence_counter.unwrap(),
        &aid,
    )
    .unwrap();
    assert_eq!(got, parsed.card_challenge);
}
