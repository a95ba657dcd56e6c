//! PACE chip engine (`PaceCard`) fed arbitrary GENERAL AUTHENTICATE commands at each step,
//! after the genuine terminal commands of ICAO Doc 9303-11 Appendix G.1 before it (the card
//! replays the appendix's randomness). Never panics; after an error it stays failed; a forged
//! terminal token is never accepted, only the appendix's own T_IFD. With the first byte's top
//! bit set the card runs the Chip Authentication Mapping (same mapping, a static chip key, the
//! OID in the tokens): the same properties, and a last answer it gives carries `8A` (A_IC).
#![no_main]

use cardwire_sm::MrzInfo;
use cardwire_sm::pace::{PaceCurve, PacePassword, parse_dynamic_authentication_data};
use cardwire_sm::pace_card::{MseSetAt, PaceCard, PaceCardRandomness};
use cardwire_sm::security_infos::ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
use libfuzzer_sys::fuzz_target;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The terminal's commands of Appendix G.1, steps 1 to 4.
const GENUINE: [&str; 4] = [
    "10860000027C0000",
    "10860000457C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D00",
    "10860000457C438341042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3646200",
    "008600000C7C0A8508C2B0BD78D94BA86600",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, cmd)) = data.split_first() else {
        return;
    };
    let _ = MseSetAt::parse(cmd);
    let cam = sel & 0x80 != 0;
    let target = usize::from(sel & 0x7F) % 4;
    let mrz = MrzInfo::new("T22000129", "640812", "101031").unwrap();
    let random = PaceCardRandomness::new(
        hex("3F00C4D39D153F2B2A214A078D899B22").try_into().unwrap(),
        &hex("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560"),
        &hex("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A"),
    )
    .unwrap();
    let password = PacePassword::Mrz(&mrz);
    let mut card = if cam {
        // id-PACE-ECDH-CAM-AES-CBC-CMAC-128 and a static key below brainpoolP256r1's order.
        let mut chip_key = [0x35u8; 32];
        chip_key[0] = 0x01;
        let oid = hex("04007F00070202040602");
        PaceCard::new_cam(
            &oid,
            PaceCurve::BrainpoolP256r1,
            &password,
            random,
            &chip_key,
        )
    } else {
        PaceCard::new(
            ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
            PaceCurve::BrainpoolP256r1,
            &password,
            random,
        )
    }
    .unwrap();
    let mut out = [0u8; 160];
    for genuine in GENUINE.iter().take(target) {
        card.general_authenticate(&hex(genuine), &mut out).unwrap();
    }
    let answer = card.general_authenticate(cmd, &mut out);
    let accepted = answer.is_ok();
    if !accepted {
        assert!(card.is_failed());
        assert!(
            card.general_authenticate(&hex(GENUINE[0]), &mut out)
                .is_err()
        );
    } else if cam {
        // G.1's T_IFD is computed over the GM OID, so under CAM only a token this target did
        // not derive could pass step 4; what is checked is the answer's shape.
        if target == 3 {
            let n = answer.unwrap();
            assert!(card.is_done());
            assert!(parse_dynamic_authentication_data(&out[..n], 0x8A).is_ok());
        }
    } else if target == 3 {
        // Only the genuine T_IFD (possibly with other DOs around it) may pass.
        assert!(card.is_done());
        let data = cardwire_apdu::Command::new_checked(cmd)
            .unwrap()
            .data()
            .to_vec();
        let t = parse_dynamic_authentication_data(&data, 0x85).unwrap();
        assert_eq!(t, &hex("C2B0BD78D94BA866")[..]);
    }
});
