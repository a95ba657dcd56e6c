//! PACE host engine with the DH Generic Mapping (RFC 5114 1024-bit group, ICAO Doc 9303-11
//! Appendix G.2's keys) fed arbitrary GENERAL AUTHENTICATE answers (data ‖ SW) at each step,
//! after the appendix's genuine steps before it. Never panics; public values outside the
//! prime order subgroup are refused; a forged last answer is never accepted except the
//! appendix's own genuine token.
#![no_main]

use cardwire_sm::MrzInfo;
use cardwire_sm::pace::{DhGroup, PaceDomain, PaceHost, PacePassword, MAX_COMMAND_LEN};
use libfuzzer_sys::fuzz_target;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `7C 81 83 tag 81 80 value` ‖ 9000.
fn dh_answer(tag: u8, value: &str) -> Vec<u8> {
    let mut v = vec![0x7C, 0x81, 0x83, tag, 0x81, 0x80];
    v.extend(hex(value));
    v.extend([0x90, 0x00]);
    v
}

const PK_MAP_IC: &str = "78879F57225AA8080D52ED0FC890A4B25336F699AA89A2D3A189654AF70729E6\
    23EA5738B26381E4DA19E004706FACE7B235C2DBF2F38748312F3C98C2DD4882\
    A41947B324AA1259AC22579DB93F7085655AF30889DBB845D9E6783FE42C9F24\
    49400306254C8AE8EE9DD812A804C0B66E8CAFC14F84D8258950A91B44126EE6";
const PK_IC: &str = "075693D9AE941877573E634B6E644F8E60AF17A0076B8B123D9201074D36152B\
    D8B3A213F53820C42ADC79AB5D0AEEC3AEFB91394DA476BD97B9B14D0A65C1FC\
    71A0E019CB08AF55E1F729005FBA7E3FA5DC41899238A250767A6D46DB974064\
    386CD456743585F8E5D90CC8B4004B1F6D866C79CE0584E49687FF61BC29AEA1";
const T_IC: &str = "917F37B5C0E6D8D1";

fn feed(h: &mut PaceHost, step: usize, rsp: &[u8], cmd: &mut [u8; MAX_COMMAND_LEN]) -> bool {
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
    let target = usize::from(sel % 5);
    let mrz = MrzInfo::new("T22000129", "640812", "101031").unwrap();
    let mut h = PaceHost::with_domain(
        &hex("04007F00070202040102"),
        PaceDomain::Dh(DhGroup::Modp1024_160),
        &PacePassword::Mrz(&mrz),
        &hex("5265030F751F4AD18B08AC565FC7AC952E41618D"),
        &hex("89CCD99B0E8D3B1F11E1296DCA68EC53411CF2CA"),
    )
    .unwrap();
    let genuine = [
        hex("9000"),
        hex("7C128010854D8DF5827FA6852D1A4FA701CDDDCA9000"),
        dh_answer(0x82, PK_MAP_IC),
        dh_answer(0x84, PK_IC),
    ];
    let mut cmd = [0u8; MAX_COMMAND_LEN];
    for (step, answer) in genuine.iter().enumerate().take(target) {
        assert!(feed(&mut h, step, answer, &mut cmd));
    }
    if target < 4 {
        let _ = feed(&mut h, target, rsp, &mut cmd);
    } else {
        h.mutual_authentication_command(&mut cmd).unwrap();
        if h.finish(rsp).is_ok() {
            let t = cardwire_sm::pace::parse_dynamic_authentication_data(&rsp[..rsp.len() - 2], 0x86)
                .unwrap();
            assert_eq!(t, &hex(T_IC)[..]);
        }
    }
});
