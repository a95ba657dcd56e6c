//! PACE with the Integrated Mapping over ECDH (ICAO Doc 9303-11 §4.4.3.3.2, Appendix B's point
//! encoding). Two halves, chosen by the first byte:
//! * the mapping alone on every curve with arbitrary nonces s and t: never panics, and a
//!   point it gives is on the curve (a key pair on it agrees both ways);
//! * the terminal engine fed arbitrary answers at each step after the genuine steps of
//!   Appendix H.1 (the chip's nonce encrypted under the CAN's Kπ, since the appendix gives
//!   Kπ and not the password): never panics; a forged last answer is never accepted.
#![no_main]

use cardwire_sm::kdf::KeyAlgorithm;
use cardwire_sm::pace::{
    PaceCurve, PaceDomain, PaceHost, PacePassword, parse_dynamic_authentication_data,
};
use cardwire_sm::primitives::AesKey;
use libfuzzer_sys::fuzz_target;

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

const CURVES: [PaceCurve; 5] = [
    PaceCurve::NistP256,
    PaceCurve::BrainpoolP256r1,
    PaceCurve::NistP384,
    PaceCurve::BrainpoolP384r1,
    PaceCurve::NistP521,
];

/// Appendix H.1: s, t, SK_IFD, PK_IC, T_IC.
const S: &str = "2923BE84E16CD6AE529049F1F1BBE9EB";
const T: &str = "5DD4CBFC96F5453B130D890A1CDBAE32";
const SK_IFD: &str = "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595";
const PK_IC: &str = "0467F78E5F7F7686082B293E8D087E056916D0F74BC01A5F8957D0DE45691E51E8\
                     932B69A962B52A0985AD2C0A271EE6A13A8ADDDCD1A3A994B9DED257F4D22753";
const T_IC: &str = "75D4D96E8D5B0308";

fn template(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![0x7C, (2 + value.len()) as u8, tag, value.len() as u8];
    a.extend_from_slice(value);
    a.extend([0x90, 0x00]);
    a
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    if sel & 0x80 != 0 {
        if rest.len() < 32 {
            return;
        }
        let curve = CURVES[usize::from(sel & 0x7F) % CURVES.len()];
        let (s, t) = rest.split_at(16);
        if let Ok(g) = curve.integrated_map(s, &t[..16]) {
            let d = PaceDomain::Ec(curve);
            let mut a = vec![0x35; curve.field_len()];
            let mut b = vec![0x53; curve.field_len()];
            a[0] = 1;
            b[0] = 1;
            let pa = d.public_key_on(&a, g.as_bytes()).unwrap();
            let pb = d.public_key_on(&b, g.as_bytes()).unwrap();
            assert_eq!(
                d.agree(&a, pb.as_bytes()).unwrap(),
                d.agree(&b, pa.as_bytes()).unwrap()
            );
        }
        return;
    }
    let target = usize::from(sel % 5);
    let pw = PacePassword::Can(b"123456");
    let mut z = hex(S);
    AesKey::new(pw.key(KeyAlgorithm::Aes128).as_bytes())
        .unwrap()
        .encrypt_cbc(&[0; 16], &mut z)
        .unwrap();
    let genuine = [
        vec![0x90, 0x00],
        template(0x80, &z),
        template(0x82, &[]),
        template(0x84, &hex(PK_IC)),
        template(0x86, &hex(T_IC)),
    ];
    let mut h = PaceHost::with_domain(
        &hex("04007F00070202040402"),
        PaceDomain::Ec(PaceCurve::BrainpoolP256r1),
        &pw,
        &hex(T),
        &hex(SK_IFD),
    )
    .unwrap();
    let mut cmd = [0u8; 160];
    let mut feed = |h: &mut PaceHost, step: usize, rsp: &[u8]| match step {
        0 => h.check_mse_set_at(rsp).is_ok(),
        1 => h.process_nonce(rsp).is_ok(),
        2 => h.map_command(&mut cmd).is_ok() && h.process_map(rsp).is_ok(),
        3 => h.key_agreement_command(&mut cmd).is_ok() && h.process_key_agreement(rsp).is_ok(),
        _ => false,
    };
    for (step, g) in genuine.iter().enumerate().take(target) {
        assert!(feed(&mut h, step, g));
    }
    if target < 4 {
        let _ = feed(&mut h, target, rest);
    } else {
        h.mutual_authentication_command(&mut cmd).unwrap();
        if h.finish(rest).is_ok() {
            // Only the appendix's T_IC (possibly with other DOs around it) may pass.
            let t = parse_dynamic_authentication_data(&rest[..rest.len() - 2], 0x86).unwrap();
            assert_eq!(t, hex(T_IC));
        }
    }
});
