//! DG14/DG15 keys and active authentication answers: `ChipPublicKey::from_spki`,
//! `EcPublicKey::from_spki`, `RsaPublicKey::from_spki` never panic, and a fuzzed signature
//! never verifies under a fixed key (RSA ISO/IEC 9796-2 and ECDSA P-256) for a fixed challenge.
#![no_main]

use cardwire_sm::active_auth::{ECDSA_WITH_SHA256, RsaPublicKey, verify_ecdsa_key, verify_rsa};
use cardwire_sm::chip_auth::{ChipPublicKey, EcPublicKey};
use cardwire_sm::pace::{PaceCurve, PaceDomain};
use libfuzzer_sys::fuzz_target;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A 1024-bit RSA public key (n, e = 65537) made for cardwire's tests.
const N: &str = "BBE0039DC8272322685D2C86257EE63A0028D432469CBBFCA6F8B93C36DD7A9C\
2A70157467E2F8667DCD25953C0D700073D9736716F7B14BAC763099A2A867ED\
70A68B7495198E9C296B2DEF498182AFA8ABE23EA8BABC181B0B2D6F60FAC8B1\
401CAEC1450377669FEA181CF2F5CA4A8C6804934FD2C024B7BD964BAFF511CD";

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = ChipPublicKey::from_spki(data) {
        assert!(!k.public_key().is_empty());
    }
    let _ = EcPublicKey::from_spki(data);
    if let Ok(k) = RsaPublicKey::from_spki(data) {
        assert!(k.modulus().len() >= 64 && k.modulus().len() <= 512);
    }
    // Not the challenge of the seed corpus's genuine signature (01 … 08).
    let challenge = [0xA5; 8];
    let n = hex(N);
    let key = RsaPublicKey::new(&n, &[1, 0, 1]).unwrap();
    assert!(verify_rsa(&key, &challenge, data).is_err());
    let point = PaceDomain::Ec(PaceCurve::NistP256).public_key(&[7; 32]).unwrap();
    let ec = ChipPublicKey::new(PaceDomain::Ec(PaceCurve::NistP256), point.as_bytes()).unwrap();
    assert!(verify_ecdsa_key(&ec, ECDSA_WITH_SHA256, &challenge, data).is_err());
});
