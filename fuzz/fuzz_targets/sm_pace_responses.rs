//! PACE host engine fed arbitrary GENERAL AUTHENTICATE answers (data ‖ SW) at each step, after
//! the genuine steps of ICAO Doc 9303-11 Appendix G.1 before it. Never panics; a forged last
//! answer is never accepted (the chip token is a 64-bit MAC under keys from the exchange),
//! except the appendix's own genuine answer.
#![no_main]

use cardwire_sm::pace::{PaceCurve, PaceHost, PacePassword, parse_dynamic_authentication_data};
use cardwire_sm::security_infos::ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
use cardwire_sm::MrzInfo;
use libfuzzer_sys::fuzz_target;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const GENUINE: [&str; 5] = [
    "9000",
    "7C12801095A3A016522EE98D01E76CB6B98B42C39000",
    "7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C549000",
    "7C438441049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F0949000",
    "7C0A86083ABB9674BCE93C089000",
];

fn feed(h: &mut PaceHost, step: usize, rsp: &[u8], cmd: &mut [u8; 128]) -> bool {
    match step {
        0 => h.check_mse_set_at(rsp).is_ok(),
        1 => h.process_nonce(rsp).is_ok(),
        2 => h.map_command(cmd).is_ok() && h.process_map(rsp).is_ok(),
        3 => h.key_agreement_command(cmd).is_ok() && h.process_key_agreement(rsp).is_ok(),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rsp)) = data.split_first() else { return };
    let _ = parse_dynamic_authentication_data(rsp, sel);
    let target = usize::from(sel % 5);
    let mrz = MrzInfo::new("T22000129", "640812", "101031").unwrap();
    let sk_map: [u8; 32] =
        hex("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99").try_into().unwrap();
    let sk_eph: [u8; 32] =
        hex("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595").try_into().unwrap();
    let mut h = PaceHost::new(
        ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
        PaceCurve::BrainpoolP256r1,
        &PacePassword::Mrz(&mrz),
        sk_map,
        sk_eph,
    )
    .unwrap();
    let mut cmd = [0u8; 128];
    for (step, genuine) in GENUINE.iter().enumerate().take(target) {
        assert!(feed(&mut h, step, &hex(genuine), &mut cmd));
    }
    if target < 4 {
        let _ = feed(&mut h, target, rsp, &mut cmd);
    } else {
        h.mutual_authentication_command(&mut cmd).unwrap();
        let accepted = h.finish(rsp).is_ok();
        let genuine = hex(GENUINE[4]);
        // Only the genuine token (possibly with other DOs around it) may pass.
        if accepted {
            let t = parse_dynamic_authentication_data(&rsp[..rsp.len() - 2], 0x86).unwrap();
            assert_eq!(t, &genuine[4..12]);
        }
    }
});
