//! PACE-GM with DH, and with ECDH on the larger curves, over a card session.
//!
//! The first test replays ICAO Doc 9303-11 (8th edition, 2021) Appendix G.2 ("DH based
//! example": PACE-GM, the 1024-bit MODP group with 160-bit prime order subgroup of RFC 5114
//! §2.1 (parameter ID 0), AES-128, the MRZ password of Appendix G.1): the terminal's random
//! draws are the appendix's private keys, so every command must equal the appendix's values
//! (the APDU framing is §4.4.4.2's). The others run against a chip simulated here with the
//! crate's public group operations (no published vectors for those domains).
// Test code: a failing unwrap or index is a failing test.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use cardwire_apdu::{Command, CommandRepr, Response};
use cardwire_sm::kdf::{COUNTER_ENC, COUNTER_MAC, KeyAlgorithm, derive_key};
use cardwire_sm::pace::{
    DhGroup, PaceCurve, PaceDomain, PacePassword, PaceSession, PasswordStatus,
    authentication_token, parse_dynamic_authentication_data,
};
use cardwire_sm::pace_driver::{
    choose_pace_any, choose_pace_domain, establish_pace_any, establish_pace_any_async,
    establish_pace_cam, establish_pace_domain,
};
use cardwire_sm::primitives::AesKey;
use cardwire_sm::security_infos::SecurityInfos;
use cardwire_sm::{Error, MrzInfo};
use cardwire_transport::{AsyncSession, ErrorKind, Session};
use common::{Recorded, TestRng, block_on, hex};

// Appendix G.2's values.
const Z: &str = "854D8DF5 827FA685 2D1A4FA7 01CDDDCA";
const SK_MAP_IFD: &str = "5265030F 751F4AD1 8B08AC56 5FC7AC95 2E41618D";
const PK_MAP_IFD: &str = "23FB3749 EA030D2A 25B278D2 A562047A DE3F01B7 4F17A154 02CB7352 CA7D2B3E
     B71C343D B13D1DEB CE9A3666 DBCFC920 B49174A6 02CB4796 5CAA73DC 702489A4
     4D41DB91 4DE9613D C5E98C94 160551C0 DF86274B 9359BC04 90D01B03 AD54022D
     CB4F57FA D6322497 D7A1E28D 46710F46 1AFE710F BBBC5F8B A166F431 1975EC6C";
const PK_MAP_IC: &str = "78879F57 225AA808 0D52ED0F C890A4B2 5336F699 AA89A2D3 A189654A F70729E6
     23EA5738 B26381E4 DA19E004 706FACE7 B235C2DB F2F38748 312F3C98 C2DD4882
     A41947B3 24AA1259 AC22579D B93F7085 655AF308 89DBB845 D9E6783F E42C9F24
     49400306 254C8AE8 EE9DD812 A804C0B6 6E8CAFC1 4F84D825 8950A91B 44126EE6";
const G_HAT: &str = "7C9CBFE9 8F9FBDDA 8D143506 FA7D9306 F4CB17E3 C71707AF F5E1C1A1 23702496
     84D64EE3 7AF44B8D BD9D45BF 6023919C BAA027AB 97ACC771 666C8E98 FF483301
     BFA4872D EDE9034E DFACB708 14166B7F 36067682 9B826BEA 57291B5A D69FBC84
     EF1E7790 32A30580 3F743417 93E86974 2D401325 B37EE856 5FFCDEE6 18342DC5";
const SK_IFD: &str = "89CCD99B 0E8D3B1F 11E1296D CA68EC53 411CF2CA";
const PK_IFD: &str = "907D89E2 D425A178 AA81AF4A 7774EC8E 388C115C AE67031E 85EECE52 0BD91155
     1B9AE4D0 4369F29A 02626C86 FBC6747C C7BC3526 45B6161A 2A42D44E DA80A08F
     A8D61B76 D3A154AD 8A5A5178 6B0BC071 47057871 A922212C 5F67F431 73172236
     B7747D16 71E6D692 A3C7D40A 0C3C5CE3 97545D01 5C175EB5 130551ED BC2EE5D4";
const PK_IC: &str = "075693D9 AE941877 573E634B 6E644F8E 60AF17A0 076B8B12 3D920107 4D36152B
     D8B3A213 F53820C4 2ADC79AB 5D0AEEC3 AEFB9139 4DA476BD 97B9B14D 0A65C1FC
     71A0E019 CB08AF55 E1F72900 5FBA7E3F A5DC4189 9238A250 767A6D46 DB974064
     386CD456 743585F8 E5D90CC8 B4004B1F 6D866C79 CE0584E4 9687FF61 BC29AEA1";
const K: &str = "6BABC7B3 A72BCD7E A385E4C6 2DB2625B D8613B24 149E146A 629311C4 CA6698E3
     8B834B6A 9E9CD718 4BA8834A FF5043D4 36950C4C 1E783236 7C10CB8C 314D40E5
     990B0DF7 013E64B4 549E2270 923D06F0 8CFF6BD3 E977DDE6 ABE4C31D 55C0FA2E
     465E553E 77BDF75E 3193D383 4FC26E8E B1EE2FA1 E4FC97C1 8C3F6CFF FE2607FD";
const KS_ENC: &str = "2F7F46AD CC9E7E52 1B45D192 FAFA9126";
const KS_MAC: &str = "805A1D27 D45A5116 F73C5446 9462B7D8";
const T_IFD: &str = "B46DD9BD 4D98381F";
const T_IC: &str = "917F37B5 C0E6D8D1";
/// id-PACE-DH-GM-AES-CBC-CMAC-128.
const ID_PACE_DH_GM_AES_128: &str = "04007F00070202040102";

fn mrz() -> MrzInfo {
    MrzInfo::new("T22000129", "640812", "101031").unwrap()
}

/// `7C 81 83 tag 81 80 value` for a 128-byte value.
fn dh_do(tag: u8, value: &str) -> Vec<u8> {
    let mut v = vec![0x7C, 0x81, 0x83, tag, 0x81, 0x80];
    v.extend(hex(value));
    v
}

fn transcript() -> Vec<(Vec<u8>, Vec<u8>)> {
    let ga = |data: Vec<u8>| {
        let mut c = vec![0x10, 0x86, 0x00, 0x00, data.len() as u8];
        c.extend(data);
        c.push(0x00);
        c
    };
    let ok = |mut data: Vec<u8>| {
        data.extend([0x90, 0x00]);
        data
    };
    let mut nonce = hex("7C12 8010");
    nonce.extend(hex(Z));
    let mut ma = hex("008600000C 7C0A 8508");
    ma.extend(hex(T_IFD));
    ma.push(0x00);
    let mut t_ic = hex("7C0A 8608");
    t_ic.extend(hex(T_IC));
    vec![
        (
            hex("0022C1A40F 800A04007F00070202040102 830101"),
            hex("9000"),
        ),
        (hex("10860000027C0000"), ok(nonce)),
        (ga(dh_do(0x81, PK_MAP_IFD)), ok(dh_do(0x82, PK_MAP_IC))),
        (ga(dh_do(0x83, PK_IFD)), ok(dh_do(0x84, PK_IC))),
        (ma, ok(t_ic)),
    ]
}

struct Scripted {
    script: Vec<(Vec<u8>, Vec<u8>)>,
    sent: usize,
}

impl Session for Scripted {
    type Error = ErrorKind;
    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        let mut wire = [0u8; 300];
        let wire = command.encode(&mut wire).unwrap();
        let (expected, answer) = &self.script[self.sent];
        assert_eq!(wire, &expected[..], "command {}", self.sent);
        self.sent += 1;
        response[..answer.len()].copy_from_slice(answer);
        Ok(Response::new_checked(&response[..answer.len()]).unwrap())
    }
}

#[test]
fn appendix_g2_values() {
    let domain = PaceDomain::Dh(DhGroup::Modp1024_160);
    assert_eq!(
        domain.public_key(&hex(SK_MAP_IFD)).unwrap().as_bytes(),
        hex(PK_MAP_IFD)
    );
    let h = domain.agree(&hex(SK_MAP_IFD), &hex(PK_MAP_IC)).unwrap();
    assert_eq!(
        h.as_bytes(),
        hex(
            "5BABEBEF 5B74E5BA 94B5C063 FDA15F1F 1CDE9487 3EE0A5D3 A2FCAB49 F258D07F
             544F13CB 66658C3A FEE9E727 389BE3F6 CBBBD321 28A8C21D D6EEA3CF 7091CDDF
             B08B8D00 7D40318D CCA4FFBF 51208790 FB4BD111 E5A968ED 6B6F08B2 6CA87C41
             0B3CE0C3 10CE104E ABD16629 AA48620C 1279270C B0750C0D 37C57FFF E302AE7F"
        )
    );
    let s = hex("FA5B7E3E 49753A0D B9178B7B 9BD898C8");
    let g = domain.map_generic(&s, h.as_bytes()).unwrap();
    assert_eq!(g.as_bytes(), hex(G_HAT));
    assert_eq!(
        domain
            .public_key_on(&hex(SK_IFD), &hex(G_HAT))
            .unwrap()
            .as_bytes(),
        hex(PK_IFD)
    );
    let agreed = domain.agree(&hex(SK_IFD), &hex(PK_IC)).unwrap();
    let k = domain.shared_secret(&agreed);
    assert_eq!(k, hex(K));
    let enc = derive_key(k, COUNTER_ENC, KeyAlgorithm::Aes128);
    let mac = derive_key(k, COUNTER_MAC, KeyAlgorithm::Aes128);
    assert_eq!(enc.as_bytes(), hex(KS_ENC));
    assert_eq!(mac.as_bytes(), hex(KS_MAC));
    let oid = hex(ID_PACE_DH_GM_AES_128);
    let t_ifd = authentication_token(KeyAlgorithm::Aes128, &mac, &oid, 0x84, &hex(PK_IC));
    assert_eq!(t_ifd.unwrap().to_vec(), hex(T_IFD));
    let t_ic = authentication_token(KeyAlgorithm::Aes128, &mac, &oid, 0x84, &hex(PK_IFD));
    assert_eq!(t_ic.unwrap().to_vec(), hex(T_IC));
}

#[test]
fn appendix_g2_over_a_session() {
    // EF.CardAccess offering PACE-DH-GM AES-128 with parameter ID 0.
    let card_access = hex("3114 3012 060A04007F00070202040102 020102 020100");
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let (info, domain) = choose_pace_domain(&infos).unwrap();
    assert_eq!(domain, PaceDomain::Dh(DhGroup::Modp1024_160));
    let mut keys = hex(SK_MAP_IFD);
    keys.extend(hex(SK_IFD));
    let mrz = mrz();
    let mut chip = Scripted {
        script: transcript(),
        sent: 0,
    };
    let session = establish_pace_domain(
        &mut chip,
        info.protocol(),
        domain,
        &PacePassword::Mrz(&mrz),
        &mut Recorded(keys),
    )
    .unwrap();
    assert_eq!(chip.sent, 5);
    let PaceSession::Aes(sm) = session else {
        panic!("AES-128 expected")
    };
    assert_eq!(sm.ssc(), &[0u8; 16]);
}

#[test]
fn appendix_g2_tampered_token_and_bad_public_values() {
    let mrz = mrz();
    let mut keys = hex(SK_MAP_IFD);
    keys.extend(hex(SK_IFD));
    let mut script = transcript();
    script[4].1[5] ^= 0x80;
    let mut chip = Scripted { script, sent: 0 };
    let r = establish_pace_domain(
        &mut chip,
        &hex(ID_PACE_DH_GM_AES_128),
        PaceDomain::Dh(DhGroup::Modp1024_160),
        &PacePassword::Mrz(&mrz),
        &mut Recorded(keys),
    );
    assert_eq!(r.err(), Some(Error::AuthenticationFailed));

    // Public values outside the subgroup: 1, p − 1, 0, p, and 2 (not of order q).
    let domain = PaceDomain::Dh(DhGroup::Modp1024_160);
    let k = hex(SK_IFD);
    let p = hex(
        "B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D18
         9838EF1E2EE652C013ECB4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A7372
         4EFFD6FAE5644738FAA31A4FF55BCCC0A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708
         DF1FB2BC2E4A4371",
    );
    let mut p_minus_1 = p.clone();
    *p_minus_1.last_mut().unwrap() -= 1;
    for bad in [
        vec![1u8],
        p_minus_1,
        vec![0],
        p.clone(),
        vec![2],
        vec![0; 129],
    ] {
        assert_eq!(
            domain.agree(&k, &bad).unwrap_err(),
            Error::AuthenticationFailed,
            "{bad:02X?}"
        );
    }
    // Private keys: zero, q and above are refused.
    assert!(!domain.is_valid_private_key(&[0; 20]));
    assert!(!domain.is_valid_private_key(&hex("F518AA87 81A8DF27 8ABA4E7D 64B7CB9D 49462353")));
    assert!(domain.is_valid_private_key(&hex("F518AA87 81A8DF27 8ABA4E7D 64B7CB9D 49462352")));
}

/// A chip simulated with the crate's public group operations (AES-128 or -256, CAN).
struct SimChip {
    domain: PaceDomain,
    oid: Vec<u8>,
    cipher: KeyAlgorithm,
    can: Vec<u8>,
    rng: TestRng,
    s: Vec<u8>,
    sk_map: Vec<u8>,
    g_hat: Vec<u8>,
    sk: Vec<u8>,
    pk_ic: Vec<u8>,
    pk_ifd: Vec<u8>,
    mac: Option<cardwire_sm::kdf::SecretKey>,
    enc: Option<cardwire_sm::kdf::SecretKey>,
    /// PACE-CAM: the chip's static P-256 private key.
    cam_static: Option<[u8; 32]>,
    mse_status: [u8; 2],
    steps: usize,
}

impl SimChip {
    fn new(domain: PaceDomain, oid: &str, cipher: KeyAlgorithm) -> Self {
        Self {
            domain,
            oid: hex(oid),
            cipher,
            can: b"123456".to_vec(),
            rng: TestRng(7),
            s: vec![],
            sk_map: vec![],
            g_hat: vec![],
            sk: vec![],
            pk_ic: vec![],
            pk_ifd: vec![],
            mac: None,
            enc: None,
            cam_static: None,
            mse_status: [0x90, 0x00],
            steps: 0,
        }
    }

    fn private_key(&mut self) -> Vec<u8> {
        loop {
            let mut k = vec![0u8; self.domain.private_key_len()];
            for b in k.iter_mut() {
                *b = self.rng.bytes::<1>()[0];
            }
            k[0] &= self.domain.private_key_mask();
            if self.domain.is_valid_private_key(&k) {
                return k;
            }
        }
    }

    fn answer(&mut self, wire: &[u8]) -> Vec<u8> {
        let cmd = Command::new_checked(wire).unwrap();
        let data = cmd.data();
        let step = self.steps;
        self.steps += 1;
        let mut out = vec![0x7C];
        let (tag, value) = match step {
            0 => return self.mse_status.to_vec(),
            1 => {
                self.s = self.rng.bytes::<16>().to_vec();
                let kpi = PacePassword::Can(&self.can).key(self.cipher);
                let mut z = self.s.clone();
                AesKey::new(kpi.as_bytes())
                    .unwrap()
                    .encrypt_cbc(&[0; 16], &mut z)
                    .unwrap();
                (0x80, z)
            }
            2 if self.oid[8] == 3 || self.oid[8] == 4 => {
                // Integrated Mapping (DH or ECDH): t from the terminal, no mapping data back.
                let t = parse_dynamic_authentication_data(data, 0x81).unwrap();
                let g_hat = match self.domain {
                    PaceDomain::Dh(group) => group.integrated_map(&self.s, t),
                    PaceDomain::Ec(curve) => curve.integrated_map(&self.s, t),
                };
                self.g_hat = g_hat.unwrap().as_bytes().to_vec();
                (0x82, vec![])
            }
            2 => {
                let pk_map_ifd = parse_dynamic_authentication_data(data, 0x81).unwrap();
                self.sk_map = self.private_key();
                let h = self.domain.agree(&self.sk_map, pk_map_ifd).unwrap();
                self.g_hat = self
                    .domain
                    .map_generic(&self.s, h.as_bytes())
                    .unwrap()
                    .as_bytes()
                    .to_vec();
                (
                    0x82,
                    self.domain
                        .public_key(&self.sk_map)
                        .unwrap()
                        .as_bytes()
                        .to_vec(),
                )
            }
            3 => {
                self.pk_ifd = parse_dynamic_authentication_data(data, 0x83)
                    .unwrap()
                    .to_vec();
                self.sk = self.private_key();
                self.pk_ic = self
                    .domain
                    .public_key_on(&self.sk, &self.g_hat)
                    .unwrap()
                    .as_bytes()
                    .to_vec();
                let agreed = self.domain.agree(&self.sk, &self.pk_ifd).unwrap();
                let k = self.domain.shared_secret(&agreed);
                self.mac = Some(derive_key(k, COUNTER_MAC, self.cipher));
                self.enc = Some(derive_key(k, COUNTER_ENC, self.cipher));
                (0x84, self.pk_ic.clone())
            }
            _ => {
                let t_ifd = parse_dynamic_authentication_data(data, 0x85).unwrap();
                let mac = self.mac.as_ref().unwrap();
                let tag = self.domain.public_key_tag();
                let key = self.domain.token_public_key(&self.pk_ic);
                let expected = authentication_token(self.cipher, mac, &self.oid, tag, key).unwrap();
                if t_ifd != expected {
                    return vec![0x63, 0x00];
                }
                let key = self.domain.token_public_key(&self.pk_ifd);
                let t = authentication_token(self.cipher, mac, &self.oid, tag, key).unwrap();
                if let Some(sk_static) = self.cam_static {
                    return cam_answer(&t, &sk_static, &self.sk_map, self.enc.as_ref().unwrap());
                }
                (0x86, t.to_vec())
            }
        };
        let mut inner = vec![tag];
        push_len(&mut inner, value.len());
        inner.extend(value);
        push_len(&mut out, inner.len());
        out.extend(inner);
        out.extend([0x90, 0x00]);
        out
    }
}

/// `7C { 86 T_IC, 8A A_IC }` ‖ 9000 with CA_IC = SK_IC⁻¹ · SK_map,IC mod n (P-256),
/// A_IC = AES-CBC(KS_enc, IV = E(KS_enc, FF…FF), CA_IC ‖ 80 00…) (ICAO 9303-11 §4.4.3.5.1).
fn cam_answer(
    t: &[u8; 8],
    sk_static: &[u8; 32],
    sk_map: &[u8],
    enc: &cardwire_sm::kdf::SecretKey,
) -> Vec<u8> {
    use p256::elliptic_curve::PrimeField;
    let scalar =
        |b: &[u8]| p256::Scalar::from_repr(<[u8; 32]>::try_from(b).unwrap().into()).unwrap();
    let ca = scalar(sk_static).invert().unwrap() * scalar(sk_map);
    let mut a_ic = [0u8; 48];
    a_ic[..32].copy_from_slice(&ca.to_repr());
    a_ic[32] = 0x80;
    let key = AesKey::new(enc.as_bytes()).unwrap();
    let mut iv = [0xFF; 16];
    key.encrypt_block(&mut iv).unwrap();
    key.encrypt_cbc(&iv, &mut a_ic).unwrap();
    let mut out = hex("7C3C 8608");
    out.extend_from_slice(t);
    out.extend([0x8A, 0x30]);
    out.extend_from_slice(&a_ic);
    out.extend([0x90, 0x00]);
    out
}

fn push_len(v: &mut Vec<u8>, len: usize) {
    match len {
        0..=0x7F => v.push(len as u8),
        0x80..=0xFF => v.extend([0x81, len as u8]),
        _ => v.extend([0x82, (len >> 8) as u8, len as u8]),
    }
}

impl Session for SimChip {
    type Error = ErrorKind;
    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        let mut wire = [0u8; 400];
        let wire = command.encode(&mut wire).unwrap().to_vec();
        let answer = self.answer(&wire);
        response[..answer.len()].copy_from_slice(&answer);
        Ok(Response::new_checked(&response[..answer.len()]).unwrap())
    }
}

impl AsyncSession for SimChip {
    type Error = ErrorKind;
    async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        Session::transmit(self, command, response)
    }
}

fn run(domain: PaceDomain, oid: &str, cipher: KeyAlgorithm) -> Result<PaceSession, Error> {
    let mut chip = SimChip::new(domain, oid, cipher);
    let can = b"123456".to_vec();
    establish_pace_domain(
        &mut chip,
        &hex(oid),
        domain,
        &PacePassword::Can(&can),
        &mut TestRng(99),
    )
}

#[test]
fn larger_curves_and_2048_bit_groups_agree_with_a_simulated_chip() {
    // id-PACE-ECDH-GM-AES-CBC-CMAC-256 on P-384, brainpoolP384r1 and P-521.
    for curve in [
        PaceCurve::NistP384,
        PaceCurve::BrainpoolP384r1,
        PaceCurve::NistP521,
        PaceCurve::NistP256,
    ] {
        let r = run(
            PaceDomain::Ec(curve),
            "04007F00070202040204",
            KeyAlgorithm::Aes256,
        );
        assert!(matches!(r, Ok(PaceSession::Aes(_))), "{curve:?}: {r:?}");
    }
    // id-PACE-DH-GM-AES-CBC-CMAC-192 in the 2048-bit groups: extended-length commands.
    for group in [DhGroup::Modp2048_224, DhGroup::Modp2048_256] {
        let r = run(
            PaceDomain::Dh(group),
            "04007F00070202040103",
            KeyAlgorithm::Aes192,
        );
        assert!(matches!(r, Ok(PaceSession::Aes(_))), "{group:?}: {r:?}");
    }
    // A mapping that does not fit the domain.
    assert_eq!(
        run(
            PaceDomain::Dh(DhGroup::Modp2048_256),
            "04007F00070202040204",
            KeyAlgorithm::Aes256
        )
        .err(),
        Some(Error::UnsupportedProtocol)
    );
}

#[test]
fn eid_pin_retry_counter() {
    let domain = PaceDomain::Ec(PaceCurve::BrainpoolP256r1);
    let oid = "04007F00070202040202";
    let pin = b"123456".to_vec();
    let go = |status: [u8; 2]| {
        let mut chip = SimChip::new(domain, oid, KeyAlgorithm::Aes128);
        chip.can = pin.clone();
        chip.mse_status = status;
        let r = establish_pace_domain(
            &mut chip,
            &hex(oid),
            domain,
            &PacePassword::Pin(&pin),
            &mut TestRng(5),
        );
        (r.map(|_| ()), chip.steps)
    };
    // 63C2: a wrong PIN was tried before; PACE goes on (and succeeds with the right PIN).
    assert_eq!(go([0x63, 0xC2]), (Ok(()), 5));
    // Blocked and deactivated: refused at MSE:Set AT.
    for sw in [[0x63, 0xC0], [0x69, 0x83], [0x62, 0x83]] {
        let (r, steps) = go(sw);
        assert_eq!(steps, 1);
        let Err(Error::CardRefused { sw }) = r else {
            panic!("{r:?}")
        };
        assert!(matches!(
            PasswordStatus::from_status(sw),
            PasswordStatus::Blocked | PasswordStatus::Deactivated
        ));
    }
    assert_eq!(
        PasswordStatus::from_status(cardwire_apdu::StatusWord(0x63C2)),
        PasswordStatus::WrongPin { retries_left: 2 }
    );
    assert_eq!(
        PasswordStatus::from_status(cardwire_apdu::StatusWord(0x63C1)),
        PasswordStatus::Suspended
    );
}

#[test]
fn password_status_agrees_with_pin_outcomes() {
    use cardwire_apdu::StatusWord;
    use cardwire_pin::PinOutcome;
    for x in 2..=15u16 {
        let sw = StatusWord(0x63C0 | x);
        let PinOutcome::WrongPin { retries_left } = PinOutcome::from_status(sw) else {
            panic!("{sw:?}")
        };
        assert_eq!(
            PasswordStatus::from_status(sw),
            PasswordStatus::WrongPin { retries_left }
        );
    }
    // No try left: the PIN layer's WrongPin { 0 } / Blocked are PACE's Blocked.
    assert_eq!(
        PinOutcome::from_status(StatusWord(0x63C0)),
        PinOutcome::WrongPin { retries_left: 0 }
    );
    assert_eq!(
        PasswordStatus::from_status(StatusWord(0x63C0)),
        PasswordStatus::Blocked
    );
    assert_eq!(
        PinOutcome::from_status(StatusWord(0x6983)),
        PinOutcome::Blocked
    );
    assert_eq!(
        PasswordStatus::from_status(StatusWord(0x6983)),
        PasswordStatus::Blocked
    );
    // One try left is, for PACE, the suspended PIN: the caller asks for the CAN.
    assert_eq!(
        PinOutcome::from_status(StatusWord(0x63C1)),
        PinOutcome::WrongPin { retries_left: 1 }
    );
    assert_eq!(
        PasswordStatus::from_status(StatusWord(0x63C1)),
        PasswordStatus::Suspended
    );
    assert!(PasswordStatus::Suspended.may_continue());
    assert!(!PasswordStatus::Blocked.may_continue());
    assert_eq!(
        PasswordStatus::from_status(StatusWord(0x6A80)),
        PasswordStatus::Refused(StatusWord(0x6A80))
    );
}

#[test]
fn suspended_pin_without_can_is_reported_as_63c1() {
    // The chip answers MSE:Set AT with 63C1 and then refuses the nonce (no CAN run first).
    struct Suspended(usize);
    impl Session for Suspended {
        type Error = ErrorKind;
        fn transmit<'r>(
            &mut self,
            _command: &CommandRepr<'_>,
            response: &'r mut [u8],
        ) -> Result<Response<&'r [u8]>, ErrorKind> {
            let answer: &[u8] = if self.0 == 0 {
                &[0x63, 0xC1]
            } else {
                &[0x69, 0x82]
            };
            self.0 += 1;
            response[..2].copy_from_slice(answer);
            Ok(Response::new_checked(&response[..2]).unwrap())
        }
    }
    let pin = b"123456".to_vec();
    let mut chip = Suspended(0);
    let r = establish_pace_domain(
        &mut chip,
        &hex("04007F00070202040202"),
        PaceDomain::Ec(PaceCurve::BrainpoolP256r1),
        &PacePassword::Pin(&pin),
        &mut TestRng(3),
    );
    let Err(Error::CardRefused { sw }) = r else {
        panic!("{r:?}")
    };
    assert_eq!(PasswordStatus::from_status(sw), PasswordStatus::Suspended);
    assert_eq!(chip.0, 2);
}

#[test]
fn chip_authentication_mapping_over_a_session() {
    // id-PACE-ECDH-CAM-AES-CBC-CMAC-128 on P-256 against the simulated chip.
    let oid = "04007F00070202040602";
    let curve = PaceCurve::NistP256;
    let domain = PaceDomain::Ec(curve);
    let sk_static = [0x5Cu8; 32];
    let pk_static = domain.public_key(&sk_static).unwrap();
    let can = b"123456".to_vec();
    let mut chip = SimChip::new(domain, oid, KeyAlgorithm::Aes128);
    chip.cam_static = Some(sk_static);
    let (session, proof) = establish_pace_cam(
        &mut chip,
        &hex(oid),
        curve,
        &PacePassword::Can(&can),
        &mut TestRng(11),
    )
    .unwrap();
    assert!(matches!(session, PaceSession::Aes(_)));
    assert_eq!(proof.verify(curve, pk_static.as_bytes()), Ok(()));
    let other = domain.public_key(&[0x5D; 32]).unwrap();
    assert_eq!(
        proof.verify(curve, other.as_bytes()),
        Err(Error::AuthenticationFailed)
    );
    // A chip that sends no chip authentication data.
    let mut chip = SimChip::new(domain, oid, KeyAlgorithm::Aes128);
    let r = establish_pace_cam(
        &mut chip,
        &hex(oid),
        curve,
        &PacePassword::Can(&can),
        &mut TestRng(11),
    );
    assert_eq!(r.err(), Some(Error::MissingObject { tag: 0x8A }));
}

// ICAO Doc 9303-11 (8th edition), Appendix H.2 ("DH based example" of the Integrated
// Mapping, 1024-bit MODP group of RFC 5114 §2.1, AES-128): the nonces s and t, the mapped
// generator, KS_mac, the two public keys and the tokens.
#[test]
fn appendix_h2_integrated_mapping_values() {
    let group = DhGroup::Modp1024_160;
    let s = hex("FA5B7E3E 49753A0D B9178B7B 9BD898C8");
    let t = hex("B3A6DB3C 870C3E99 245E0D1C 06B747DE");
    let g = group.integrated_map(&s, &t).unwrap();
    assert_eq!(
        g.as_bytes(),
        hex(
            "1D7D767F 11E333BC D6DBAEF4 0E799E7A 926B9697 3550656F F3C83072 6D118D61
             C276CDCC 61D475CF 03A98E0C 0E79CAEB A5BE2557 8BD4551D 0B109032 36F0B0F9
             76852FA7 8EEA14EA 0ACA87D1 E91F688F E0DFF897 BBE35A47 2621D343 564B262F
             34223AE8 FC59B664 BFEDFA2B FE7516CA 5510A6BB B633D517 EC25D4E0 BBAA16C2"
        )
    );
    let oid = hex("04007F00070202040302");
    let mac = cardwire_sm::kdf::SecretKey::from_slice(&hex("23F0FBD0 5FD6C7B8 B88F4C83 09669061"))
        .unwrap();
    let pk_ic = hex(
        "928D9A0F 9DBA450F 13FC859C 6F290D1D 36E42431 138A4378 500BEB4E 0401854C
         FF111F71 CB6DC1D0 335807A1 1388CC8E AA87B079 07AAD9FB A6B169AF 6D8C26AF
         8DDDC39A DC3AD2E3 FF882B84 D23E9768 E95A80E4 746FB07A 9767679F E92133B4
         D379935C 771BD7FB ED6C7BB4 B1708B27 5EA75679 524CDC9C 6A91370C C662A2F3",
    );
    let pk_ifd = hex(
        "0F0CC629 45A80292 51FB7EF3 C094E12E C68E4EF0 7F27CB9D 9CD04C5C 4250FAE0
         E4F8A951 557E929A EB48E5C6 DD47F2F5 CD7C351A 9BD2CD72 2C07EDE1 66770F08
         FFCB3702 62CF308D D7B07F2E 0DA9CAAA 1492344C 85290691 9538C98A 4BA4187E
         76CE9D87 832386D3 19CE2E04 3C3343AE AE6EDBA1 A9894DC5 094D22F7 FE1351D5",
    );
    let t_ifd = authentication_token(KeyAlgorithm::Aes128, &mac, &oid, 0x84, &pk_ic).unwrap();
    assert_eq!(t_ifd.to_vec(), hex("55D61977 CBF5307E"));
    let t_ic = authentication_token(KeyAlgorithm::Aes128, &mac, &oid, 0x84, &pk_ifd).unwrap();
    assert_eq!(t_ic.to_vec(), hex("C2F04230 187E1525"));
    // K = KDF(PK_IC ^ SK_IFD) gives the appendix's session keys.
    let k = hex(
        "419410D6 C0A17A4C 07C54872 CE1CBCEB 0A2705C1 A434C8A8 9A4CFE41 F1D78124
         CA7EC52B DE7615E5 345E48AB 1ABB6E7D 1D59A57F 3174084D 3CA45703 97C1F622
         28BDFDB2 DA191EA2 239E2C06 0DBE3BBC 23C2FCD0 AF12E0F9 E0B99FCF 91FF1959
         011D5798 B2FCBC1F 14FCC24E 441F4C8F 9B08D977 E9498560 E63E7FFA B3134EA7",
    );
    assert_eq!(
        derive_key(&k, COUNTER_ENC, KeyAlgorithm::Aes128).as_bytes(),
        hex("01AFC10C F87BE36D 8179E873 70171F07")
    );
    assert_eq!(
        derive_key(&k, COUNTER_MAC, KeyAlgorithm::Aes128).as_bytes(),
        mac.as_bytes()
    );
}

#[test]
fn integrated_mapping_over_a_session() {
    // id-PACE-DH-IM-AES-CBC-CMAC-128 with parameter IDs 0 and 2 against the simulated chip.
    for group in [DhGroup::Modp1024_160, DhGroup::Modp2048_256] {
        let r = run(
            PaceDomain::Dh(group),
            "04007F00070202040302",
            KeyAlgorithm::Aes128,
        );
        assert!(matches!(r, Ok(PaceSession::Aes(_))), "{group:?}: {r:?}");
    }
    // id-PACE-ECDH-IM-AES-CBC-CMAC-128 on every curve.
    for curve in [
        PaceCurve::NistP256,
        PaceCurve::BrainpoolP256r1,
        PaceCurve::NistP384,
        PaceCurve::BrainpoolP384r1,
        PaceCurve::NistP521,
    ] {
        let r = run(
            PaceDomain::Ec(curve),
            "04007F00070202040402",
            KeyAlgorithm::Aes128,
        );
        assert!(matches!(r, Ok(PaceSession::Aes(_))), "{curve:?}: {r:?}");
    }
    let card_access = hex("3114 3012 060A04007F00070202040402 020102 02010D");
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let (_, domain) = choose_pace_domain(&infos).unwrap();
    assert_eq!(domain, PaceDomain::Ec(PaceCurve::BrainpoolP256r1));
    let card_access = hex("3114 3012 060A04007F00070202040302 020102 020100");
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let (_, domain) = choose_pace_domain(&infos).unwrap();
    assert_eq!(domain, PaceDomain::Dh(DhGroup::Modp1024_160));
    // The IM with another cipher is not supported.
    assert_eq!(
        run(
            PaceDomain::Dh(DhGroup::Modp1024_160),
            "04007F00070202040304",
            KeyAlgorithm::Aes256
        )
        .err(),
        Some(Error::UnsupportedProtocol)
    );
}

/// `SecurityInfos` with one `PACEInfo` per (protocol OID content, parameter ID), version 2.
fn card_access(infos: &[(&str, u8)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (oid, id) in infos {
        let oid = hex(oid);
        let mut info = vec![0x06, oid.len() as u8];
        info.extend(oid);
        info.extend([0x02, 0x01, 0x02, 0x02, 0x01, *id]);
        body.push(0x30);
        push_len(&mut body, info.len());
        body.extend(info);
    }
    let mut set = vec![0x31];
    push_len(&mut set, body.len());
    set.extend(body);
    set
}

const ECDH_GM_AES_128: &str = "04007F00070202040202";
const ECDH_IM_AES_128: &str = "04007F00070202040402";
const ECDH_CAM_AES_128: &str = "04007F00070202040602";
const DH_GM_AES_128: &str = "04007F00070202040102";
const DH_IM_AES_128: &str = "04007F00070202040302";

#[test]
fn choose_pace_any_prefers_cam_then_gm_then_im() {
    let pick = |infos: &[(&str, u8)]| {
        let bytes = card_access(infos);
        let infos = SecurityInfos::parse(&bytes).unwrap();
        choose_pace_any(&infos).map(|(p, domain)| (p.protocol().to_vec(), domain))
    };
    let p256 = PaceDomain::Ec(PaceCurve::NistP256);
    let bp256 = PaceDomain::Ec(PaceCurve::BrainpoolP256r1);
    // A German identity card's order: GM first, then CAM; CAM is chosen.
    assert_eq!(
        pick(&[(ECDH_GM_AES_128, 13), (ECDH_CAM_AES_128, 13)]),
        Some((hex(ECDH_CAM_AES_128), bp256))
    );
    // GM before IM whatever the order, DH GM as well as ECDH GM.
    assert_eq!(
        pick(&[(ECDH_IM_AES_128, 12), (DH_GM_AES_128, 0)]),
        Some((hex(DH_GM_AES_128), PaceDomain::Dh(DhGroup::Modp1024_160)))
    );
    // Only IM, only DH IM: still run (choose_pace, ECDH GM only, finds nothing).
    assert_eq!(
        pick(&[(ECDH_IM_AES_128, 12)]),
        Some((hex(ECDH_IM_AES_128), p256))
    );
    assert_eq!(
        pick(&[(DH_IM_AES_128, 2)]),
        Some((hex(DH_IM_AES_128), PaceDomain::Dh(DhGroup::Modp2048_256)))
    );
    // CAM with 3DES (not defined), CAM on a DH group and an unknown parameter ID are skipped.
    assert_eq!(
        pick(&[
            ("04007F00070202040601", 12),
            (ECDH_CAM_AES_128, 0),
            (ECDH_CAM_AES_128, 99),
            (ECDH_GM_AES_128, 12)
        ]),
        Some((hex(ECDH_GM_AES_128), p256))
    );
    assert_eq!(pick(&[("04007F00070202040601", 12)]), None);
    // choose_pace_domain keeps its choice: CAM is not among its mappings.
    let bytes = card_access(&[(ECDH_CAM_AES_128, 13), (ECDH_GM_AES_128, 13)]);
    let infos = SecurityInfos::parse(&bytes).unwrap();
    assert_eq!(
        choose_pace_domain(&infos).map(|(p, _)| p.protocol().to_vec()),
        Some(hex(ECDH_GM_AES_128))
    );
}

#[test]
fn one_driver_runs_every_mapping() {
    let can = b"123456".to_vec();
    let cases = [
        (ECDH_GM_AES_128, PaceDomain::Ec(PaceCurve::BrainpoolP256r1)),
        (ECDH_IM_AES_128, PaceDomain::Ec(PaceCurve::NistP256)),
        (DH_GM_AES_128, PaceDomain::Dh(DhGroup::Modp1024_160)),
        (DH_IM_AES_128, PaceDomain::Dh(DhGroup::Modp2048_256)),
    ];
    for (oid, domain) in cases {
        let mut chip = SimChip::new(domain, oid, KeyAlgorithm::Aes128);
        let outcome = establish_pace_any(
            &mut chip,
            &hex(oid),
            domain,
            &PacePassword::Can(&can),
            &mut TestRng(5),
        )
        .unwrap_or_else(|e| panic!("{oid}: {e:?}"));
        assert!(matches!(outcome.session, PaceSession::Aes(_)), "{oid}");
        assert!(outcome.cam.is_none(), "{oid}: no CAM proof without CAM");
        assert_eq!(chip.steps, 5, "{oid}");
    }
    // PACE-CAM: the proof comes back and holds for the chip's static key only.
    let domain = PaceDomain::Ec(PaceCurve::NistP256);
    let sk_static = [0x5Cu8; 32];
    let pk_static = domain.public_key(&sk_static).unwrap();
    let other = domain.public_key(&[0x5D; 32]).unwrap();
    let cam_chip = || {
        let mut chip = SimChip::new(domain, ECDH_CAM_AES_128, KeyAlgorithm::Aes128);
        chip.cam_static = Some(sk_static);
        chip
    };
    let outcome = establish_pace_any(
        &mut cam_chip(),
        &hex(ECDH_CAM_AES_128),
        domain,
        &PacePassword::Can(&can),
        &mut TestRng(11),
    )
    .unwrap();
    assert!(matches!(outcome.session, PaceSession::Aes(_)));
    let proof = outcome.cam.unwrap();
    assert_eq!(
        proof.verify(PaceCurve::NistP256, pk_static.as_bytes()),
        Ok(())
    );
    assert_eq!(
        proof.verify(PaceCurve::NistP256, other.as_bytes()),
        Err(Error::AuthenticationFailed)
    );
    // The async twin, the same run.
    let outcome = block_on(establish_pace_any_async(
        &mut cam_chip(),
        &hex(ECDH_CAM_AES_128),
        domain,
        &PacePassword::Can(&can),
        &mut TestRng(11),
    ))
    .unwrap();
    assert_eq!(
        outcome
            .cam
            .unwrap()
            .verify(PaceCurve::NistP256, pk_static.as_bytes()),
        Ok(())
    );
    let outcome = block_on(establish_pace_any_async(
        &mut SimChip::new(
            PaceDomain::Dh(DhGroup::Modp1024_160),
            DH_GM_AES_128,
            KeyAlgorithm::Aes128,
        ),
        &hex(DH_GM_AES_128),
        PaceDomain::Dh(DhGroup::Modp1024_160),
        &PacePassword::Can(&can),
        &mut TestRng(5),
    ))
    .unwrap();
    assert!(outcome.cam.is_none());
    // A CAM chip that leaves out the chip authentication data fails the CAM run.
    let r = establish_pace_any(
        &mut SimChip::new(domain, ECDH_CAM_AES_128, KeyAlgorithm::Aes128),
        &hex(ECDH_CAM_AES_128),
        domain,
        &PacePassword::Can(&can),
        &mut TestRng(11),
    );
    assert_eq!(r.err(), Some(Error::MissingObject { tag: 0x8A }));
    // A wrong CAN fails every mapping alike.
    let wrong = b"000000".to_vec();
    let r = establish_pace_any(
        &mut cam_chip(),
        &hex(ECDH_CAM_AES_128),
        domain,
        &PacePassword::Can(&wrong),
        &mut TestRng(11),
    );
    assert_eq!(
        r.err(),
        Some(Error::CardRefused {
            sw: cardwire_apdu::StatusWord(0x6300)
        })
    );
}
