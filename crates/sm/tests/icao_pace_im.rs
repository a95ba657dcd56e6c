//! PACE with the Integrated Mapping over ECDH, against ICAO Doc 9303-11 Appendix H.1 ("ECDH
//! based example" of PACE-IM: brainpoolP256r1, AES-128, id-PACE-ECDH-IM-AES-CBC-CMAC-128).
//!
//! The appendix's values were transcribed from the worked-example tests of
//! github.com/zienit/icao-examples (`PACE_IMTest.java`, which cites Doc 9303-11, 7th edition,
//! "Worked example: PACE – Integrated Mapping, ECDH based example"); they are facts of the
//! appendix, checked here against our own implementation.
// Test code: a failing unwrap or index is a failing test.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use cardwire_apdu::Command;
use cardwire_sm::kdf::{COUNTER_ENC, COUNTER_MAC, KeyAlgorithm, derive_key};
use cardwire_sm::pace::{
    PaceCurve, PaceDomain, PaceHost, PacePassword, PaceSession, authentication_token,
    parse_dynamic_authentication_data,
};
use cardwire_sm::primitives::AesKey;
use cardwire_sm::{Error, MrzInfo};
use common::{TestRng, hex};

/// id-PACE-ECDH-IM-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.4.4.2), content octets.
const OID: &str = "04007F00070202040402";
const K_PI: &str = "591468CD A83D6521 9CCCB856 0233600F";
const Z: &str = "143DC40C 08C8E891 FBED7DED B92B64AD";
const S: &str = "2923BE84 E16CD6AE 529049F1 F1BBE9EB";
const T: &str = "5DD4CBFC 96F5453B 130D890A 1CDBAE32";
const G_HAT: &str = "04
    8E82D315 59ED0FDE 92A4D049 8ADD3C23 BABA94FB 77691E31 E90AEA77 FB17D427
    4C1AE14B D0C3DBAC 0C871B7F 36081693 64437CA3 0AC243A0 89D3F266 C1E60FAD";
const SK_IFD: &str = "A73FB703 AC1436A1 8E0CFA5A BB3F7BEC 7A070E7A 6788486B EE230C4A 22762595";
const PK_IFD: &str = "04
    89CBA23F FE96AA18 D824627C 3E934E54 A9FD0B87 A95D1471 DC1C0ABF DCD640D4
    6755DE9B 7B778280 B6BEBD57 439ADFEB 0E21FD4E D6DF4257 8C13418A 59B34C37";
const PK_IC: &str = "04
    67F78E5F 7F768608 2B293E8D 087E0569 16D0F74B C01A5F89 57D0DE45 691E51E8
    932B69A9 62B52A09 85AD2C0A 271EE6A1 3A8ADDDC D1A3A994 B9DED257 F4D22753";
const K: &str = "4F150FDE 1D4F0E38 E95017B8 91BAE171 33A0DF45 B0D3E18B 60BA7BEA FDC2C713";
const KS_ENC: &str = "0D3FEB33 251A6370 893D62AE 8DAAF51B";
const KS_MAC: &str = "B01E89E3 D9E8719E 586B50B4 A7506E0B";
const T_IFD: &str = "450F02B8 6F6A0909";
const T_IC: &str = "75D4D96E 8D5B0308";

const BP256: PaceDomain = PaceDomain::Ec(PaceCurve::BrainpoolP256r1);

fn with_sw(mut data: Vec<u8>) -> Vec<u8> {
    data.extend([0x90, 0x00]);
    data
}

fn template(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x7C, (2 + value.len()) as u8, tag, value.len() as u8];
    out.extend_from_slice(value);
    out
}

#[test]
fn appendix_h1_values() {
    // s = D(Kπ, z), AES-CBC with a zero IV.
    let mut s = hex(Z);
    AesKey::new(&hex(K_PI))
        .unwrap()
        .decrypt_cbc(&[0; 16], &mut s)
        .unwrap();
    assert_eq!(s, hex(S));
    // Ĝ = f_G(R(s, t)).
    let g = PaceCurve::BrainpoolP256r1
        .integrated_map(&hex(S), &hex(T))
        .unwrap();
    assert_eq!(g.as_bytes(), hex(G_HAT));
    let pk_ifd = BP256.public_key_on(&hex(SK_IFD), g.as_bytes()).unwrap();
    assert_eq!(pk_ifd.as_bytes(), hex(PK_IFD));
    let agreed = BP256.agree(&hex(SK_IFD), &hex(PK_IC)).unwrap();
    let k = BP256.shared_secret(&agreed);
    assert_eq!(k, hex(K));
    let enc = derive_key(k, COUNTER_ENC, KeyAlgorithm::Aes128);
    let mac = derive_key(k, COUNTER_MAC, KeyAlgorithm::Aes128);
    assert_eq!(enc.as_bytes(), hex(KS_ENC));
    assert_eq!(mac.as_bytes(), hex(KS_MAC));
    let oid = hex(OID);
    let t_ifd = authentication_token(KeyAlgorithm::Aes128, &mac, &oid, 0x86, &hex(PK_IC));
    assert_eq!(t_ifd.unwrap().to_vec(), hex(T_IFD));
    let t_ic = authentication_token(KeyAlgorithm::Aes128, &mac, &oid, 0x86, &hex(PK_IFD));
    assert_eq!(t_ic.unwrap().to_vec(), hex(T_IC));
}

/// The terminal side replays Appendix H.1: the terminal's nonce t and key SK_IFD are the
/// appendix's, the chip answers with the appendix's PK_IC and T_IC. Only the password
/// differs (the appendix gives Kπ, not the password): the chip's s is encrypted under the
/// CAN's Kπ, so the terminal decrypts the appendix's s and every later byte is the
/// appendix's.
#[test]
fn appendix_h1_terminal_replay() {
    let can = *b"123456";
    let password = PacePassword::Can(&can);
    let mut z = hex(S);
    AesKey::new(password.key(KeyAlgorithm::Aes128).as_bytes())
        .unwrap()
        .encrypt_cbc(&[0; 16], &mut z)
        .unwrap();
    let mut host =
        PaceHost::with_domain(&hex(OID), BP256, &password, &hex(T), &hex(SK_IFD)).unwrap();
    let mut buf = [0u8; 300];
    let n = host.mse_set_at_command(&mut buf).unwrap();
    assert_eq!(
        buf[..n],
        hex("0022C1A40F 800A04007F00070202040402 830102")[..]
    );
    host.check_mse_set_at(&[0x90, 0x00]).unwrap();
    host.process_nonce(&with_sw(template(0x80, &z))).unwrap();
    assert_eq!(host.nonce(), hex(S));

    // Step 2 carries t; the chip answers with an empty 82.
    let n = host.map_command(&mut buf).unwrap();
    let cmd = Command::new_checked(&buf[..n]).unwrap();
    assert_eq!(buf[0], 0x10);
    assert_eq!(
        parse_dynamic_authentication_data(cmd.data(), 0x81).unwrap(),
        hex(T)
    );
    host.process_map(&with_sw(template(0x82, &[]))).unwrap();
    assert_eq!(host.mapped_generator()[..], hex(G_HAT)[..]);

    let n = host.key_agreement_command(&mut buf).unwrap();
    let cmd = Command::new_checked(&buf[..n]).unwrap();
    assert_eq!(
        parse_dynamic_authentication_data(cmd.data(), 0x83).unwrap(),
        hex(PK_IFD)
    );
    host.process_key_agreement(&with_sw(template(0x84, &hex(PK_IC))))
        .unwrap();
    let (enc, mac) = host.session_keys().unwrap();
    assert_eq!(enc.as_bytes(), hex(KS_ENC));
    assert_eq!(mac.as_bytes(), hex(KS_MAC));

    let n = host.mutual_authentication_command(&mut buf).unwrap();
    let cmd = Command::new_checked(&buf[..n]).unwrap();
    assert_eq!(buf[0], 0x00);
    assert_eq!(
        parse_dynamic_authentication_data(cmd.data(), 0x85).unwrap(),
        hex(T_IFD)
    );
    let session = host.finish(&with_sw(template(0x86, &hex(T_IC)))).unwrap();
    assert!(matches!(session, PaceSession::Aes(_)));
}

#[test]
fn appendix_h1_wrong_chip_token_is_refused() {
    let mrz = MrzInfo::new("T22000129", "640812", "101031").unwrap();
    let password = PacePassword::Mrz(&mrz);
    let mut z = hex(S);
    AesKey::new(password.key(KeyAlgorithm::Aes128).as_bytes())
        .unwrap()
        .encrypt_cbc(&[0; 16], &mut z)
        .unwrap();
    let mut host =
        PaceHost::with_domain(&hex(OID), BP256, &password, &hex(T), &hex(SK_IFD)).unwrap();
    let mut buf = [0u8; 300];
    host.check_mse_set_at(&[0x90, 0x00]).unwrap();
    host.process_nonce(&with_sw(template(0x80, &z))).unwrap();
    host.map_command(&mut buf).unwrap();
    host.process_map(&with_sw(template(0x82, &[]))).unwrap();
    host.key_agreement_command(&mut buf).unwrap();
    host.process_key_agreement(&with_sw(template(0x84, &hex(PK_IC))))
        .unwrap();
    host.mutual_authentication_command(&mut buf).unwrap();
    let mut bad = hex(T_IC);
    bad[7] ^= 1;
    assert_eq!(
        host.finish(&with_sw(template(0x86, &bad))).err(),
        Some(Error::AuthenticationFailed)
    );
}

/// The mapping gives a point on every curve PACE supports, both sides agree on it, and it
/// changes with either nonce.
#[test]
fn integrated_map_on_every_curve() {
    let mut rng = TestRng(5);
    for curve in [
        PaceCurve::NistP256,
        PaceCurve::BrainpoolP256r1,
        PaceCurve::NistP384,
        PaceCurve::BrainpoolP384r1,
        PaceCurve::NistP521,
    ] {
        for _ in 0..8 {
            let s = rng.bytes::<16>();
            let t = rng.bytes::<16>();
            let g = curve.integrated_map(&s, &t).unwrap();
            assert_eq!(g.as_bytes().len(), curve.point_len(), "{curve:?}");
            // A point on the curve: a key pair on it agrees both ways.
            let domain = PaceDomain::Ec(curve);
            let mut a = vec![0x11; curve.field_len()];
            let mut b = vec![0x22; curve.field_len()];
            a[0] = 0x01;
            b[0] = 0x01;
            let pa = domain.public_key_on(&a, g.as_bytes()).unwrap();
            let pb = domain.public_key_on(&b, g.as_bytes()).unwrap();
            assert_eq!(
                domain.agree(&a, pb.as_bytes()).unwrap(),
                domain.agree(&b, pa.as_bytes()).unwrap()
            );
            let mut t2 = t;
            t2[0] ^= 1;
            assert_ne!(curve.integrated_map(&s, &t2).unwrap(), g);
        }
        assert_eq!(
            curve.integrated_map(&[0; 15], &[0; 16]).err(),
            Some(Error::KeyLength { len: 15 })
        );
    }
}
