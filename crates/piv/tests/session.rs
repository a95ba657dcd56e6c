//! Every PIV command flow over a test session: a small PIV card written here as a test
//! double (answering logical commands), driven through `Piv` (blocking), `AsyncPiv` and,
//! for `61xx` and command chaining, through a real `cardwire_transport::Card` over an
//! in-process short-APDU card.
// The test card's helpers are test code too: a failing expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use cardwire_apdu::exchange::Capabilities;
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use cardwire_apdu::card::{CardExchange, Incoming};
use cardwire_apdu::{CommandRepr, Ins, Response, StatusWord};
use cardwire_pin::{Pin, PinOutcome, PinReference};
use cardwire_piv::auth::AuthTemplate;
use cardwire_piv::containers::encode_data_object;
use cardwire_piv::keygen::parse_control_template;
use cardwire_piv::padding::{self, Hash};
use cardwire_piv::{
    AlgorithmId, AsyncPiv, AuthTemplateRepr, CertificateObjectRepr, ChuidRepr, Error,
    ManagementKey, ObjectId, Operation, Piv, PublicKeyRepr, Slot, Target,
};
use cardwire_transport::{AsyncSession, Card, CardHandler, ErrorKind, InProcess, Session};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use sha2::Digest;

const CARD_RSA: &[u8] = include_bytes!("data/card-rsa2048.der");
const CERT_2K: &[u8] = include_bytes!("data/cert-2k.der");
/// A YubiKey 5's answer to SELECT PIV (Yubico PIV documentation).
const APT: [u8; 19] = [
    0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00,
    0x00, 0x03, 0x08,
];

/// A deterministic "random" source for the host challenge and PSS salts.
struct TestRng(u8);
impl rand_core::TryRng for TestRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
            *b = self.0;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for TestRng {}

/// A PIV card as a test double: objects, PIN/PUK counters, the management key, a P-256 key
/// in 9A and 9D, an RSA-2048 key in 9C. Access rules as SP 800-73-4 Part 1 §3.5 says.
struct TestCard {
    objects: HashMap<u32, Vec<u8>>,
    pin: Vec<u8>,
    pin_tries: u8,
    puk: Vec<u8>,
    puk_tries: u8,
    pin_verified: bool,
    admin: bool,
    mgmt: ManagementKey,
    witness: Option<Vec<u8>>,
    ec: p256::SecretKey,
    rsa: rsa::PrivateKey,
    log: Vec<(Ins, u8, u8, Vec<u8>)>,
}

fn uncompressed(key: &p256::PublicKey) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    key.to_sec1_point(false).as_bytes().to_vec()
}

fn padded(pin: &[u8]) -> Vec<u8> {
    let mut v = pin.to_vec();
    v.resize(8, 0xFF);
    v
}

impl TestCard {
    fn new() -> Self {
        let mut objects = HashMap::new();
        let chuid = ChuidRepr {
            guid: *b"0123456789abcdef",
            ..ChuidRepr::default()
        };
        let mut buf = vec![0u8; chuid.encoded_len()];
        chuid.encode(&mut buf).unwrap();
        objects.insert(ObjectId::CHUID.0, buf);
        let cert = CertificateObjectRepr::new(CERT_2K);
        let mut buf = vec![0u8; cert.encoded_len()];
        cert.encode(&mut buf).unwrap();
        objects.insert(ObjectId::X509_PIV_AUTHENTICATION.0, buf);
        TestCard {
            objects,
            pin: padded(b"123456"),
            pin_tries: 3,
            puk: padded(b"12345678"),
            puk_tries: 3,
            pin_verified: false,
            admin: false,
            mgmt: ManagementKey::DEFAULT_3DES,
            witness: None,
            ec: p256::SecretKey::from_slice(&[0x42; 32]).unwrap(),
            rsa: rsa::PrivateKey::from_pkcs1_der(CARD_RSA).unwrap(),
            log: Vec::new(),
        }
    }

    /// Answers one logical command: (data, SW).
    fn handle(&mut self, c: &CommandRepr<'_>) -> (Vec<u8>, u16) {
        self.log.push((c.ins, c.p1, c.p2, c.data.to_vec()));
        match c.ins {
            Ins::SELECT => (APT.to_vec(), 0x9000),
            Ins::GET_DATA_ODD => {
                let tag = c.data.get(2..).unwrap_or_default();
                let id = tag.iter().fold(0u32, |a, &b| a << 8 | u32::from(b));
                match self.objects.get(&id) {
                    Some(content) => {
                        let object = ObjectId(id);
                        let mut out = vec![0u8; content.len() + 8];
                        let n = encode_data_object(object, content, &mut out).unwrap().len();
                        out.truncate(n);
                        (out, 0x9000)
                    }
                    None => (vec![], 0x6A82),
                }
            }
            Ins::PUT_DATA_ODD => {
                if !self.admin {
                    return (vec![], 0x6982);
                }
                let tlvs: Vec<_> = cardwire_tlv::parse_flat(c.data, cardwire_tlv::Mode::Strict)
                    .unwrap()
                    .collect();
                let id = tlvs[0]
                    .value()
                    .iter()
                    .fold(0u32, |a, &b| a << 8 | u32::from(b));
                self.objects.insert(id, tlvs[1].value().to_vec());
                (vec![], 0x9000)
            }
            Ins::VERIFY => self.verify(c),
            Ins::CHANGE_REFERENCE_DATA => {
                let (old, new) = c.data.split_at(8);
                if old == self.pin.as_slice() {
                    self.pin = new.to_vec();
                    self.pin_tries = 3;
                    (vec![], 0x9000)
                } else {
                    self.pin_tries = self.pin_tries.saturating_sub(1);
                    (vec![], 0x63C0 | u16::from(self.pin_tries))
                }
            }
            Ins::RESET_RETRY_COUNTER => {
                let (puk, new) = c.data.split_at(8);
                if self.puk_tries == 0 {
                    (vec![], 0x6983)
                } else if puk == self.puk.as_slice() {
                    self.pin = new.to_vec();
                    self.pin_tries = 3;
                    (vec![], 0x9000)
                } else {
                    self.puk_tries -= 1;
                    (vec![], 0x63C0 | u16::from(self.puk_tries))
                }
            }
            Ins::GENERAL_AUTHENTICATE_ODD => self.general_authenticate(c),
            Ins::GENERATE_ASYMMETRIC_KEY_PAIR_ODD => {
                if !self.admin {
                    return (vec![], 0x6982);
                }
                let alg = parse_control_template(c.data).unwrap();
                let point = uncompressed(&self.ec.public_key());
                let n = self.rsa.n_bytes();
                let e = self.rsa.e_bytes();
                let repr = if alg.is_rsa() {
                    PublicKeyRepr::Rsa {
                        modulus: &n,
                        exponent: &e,
                    }
                } else {
                    PublicKeyRepr::Ec {
                        algorithm: alg,
                        point: &point,
                    }
                };
                let mut out = vec![0u8; repr.encoded_len()];
                repr.encode(&mut out).unwrap();
                (out, 0x9000)
            }
            _ => (vec![], 0x6D00),
        }
    }

    fn verify(&mut self, c: &CommandRepr<'_>) -> (Vec<u8>, u16) {
        let (stored, tries) = match c.p2 {
            0x80 => (self.pin.clone(), &mut self.pin_tries),
            0x81 => (self.puk.clone(), &mut self.puk_tries),
            _ => return (vec![], 0x6A88),
        };
        if c.p1 == 0xFF {
            self.pin_verified = false;
            return (vec![], 0x9000);
        }
        if *tries == 0 {
            return (vec![], 0x6983);
        }
        if c.data.is_empty() {
            return if self.pin_verified {
                (vec![], 0x9000)
            } else {
                (vec![], 0x63C0 | u16::from(*tries))
            };
        }
        if c.data == stored.as_slice() {
            *tries = 3;
            self.pin_verified = true;
            (vec![], 0x9000)
        } else {
            *tries -= 1;
            self.pin_verified = false;
            (vec![], 0x63C0 | u16::from(*tries))
        }
    }

    fn general_authenticate(&mut self, c: &CommandRepr<'_>) -> (Vec<u8>, u16) {
        let t = AuthTemplate::new_checked(c.data).unwrap();
        let answer = |response: &[u8]| {
            let repr = AuthTemplateRepr {
                response: Some(response),
                ..Default::default()
            };
            let mut out = vec![0u8; repr.encoded_len()];
            repr.encode(&mut out).unwrap();
            (out, 0x9000)
        };
        match Slot(c.p2) {
            Slot::MANAGEMENT => {
                let n = self.mgmt.block_size();
                if t.witness() == Some(&[][..]) {
                    let w = vec![0x5A; n];
                    let mut enc = w.clone();
                    self.mgmt.encrypt_block(&mut enc).unwrap();
                    self.witness = Some(w);
                    let repr = AuthTemplateRepr {
                        witness: Some(&enc),
                        ..Default::default()
                    };
                    let mut out = vec![0u8; repr.encoded_len()];
                    repr.encode(&mut out).unwrap();
                    return (out, 0x9000);
                }
                if t.witness().map(<[u8]>::to_vec) != self.witness.take() {
                    return (vec![], 0x6982);
                }
                self.admin = true;
                let mut c = t.challenge().unwrap().to_vec();
                self.mgmt.encrypt_block(&mut c).unwrap();
                answer(&c)
            }
            Slot::AUTHENTICATION
            | Slot::SIGNATURE
            | Slot::KEY_MANAGEMENT
            | Slot::CARD_AUTHENTICATION => {
                // 9E needs no PIN (SP 800-73-4 Part 1 Table 4b).
                if !self.pin_verified && Slot(c.p2) != Slot::CARD_AUTHENTICATION {
                    return (vec![], 0x6982);
                }
                if let Some(peer) = t.exponentiation() {
                    let peer = p256::PublicKey::from_sec1_bytes(peer).unwrap();
                    let z =
                        p256::ecdh::diffie_hellman(self.ec.to_nonzero_scalar(), peer.as_affine());
                    return answer(z.raw_secret_bytes().as_slice());
                }
                let input = t.challenge().unwrap();
                if c.p1 == AlgorithmId::RSA_2048.0 {
                    let m = rsa::BoxedUint::from_be_slice_vartime(input);
                    let s = rsa::hazmat::rsa_decrypt_and_check(&self.rsa, None::<&mut TestRng>, &m)
                        .unwrap();
                    let mut sig = vec![0u8; 256];
                    let b = s.to_be_bytes_trimmed_vartime();
                    sig[256 - b.len()..].copy_from_slice(&b);
                    answer(&sig)
                } else {
                    let key = p256::ecdsa::SigningKey::from(&self.ec);
                    let sig: p256::ecdsa::Signature = key.sign_prehash(input).unwrap();
                    answer(sig.to_der().as_bytes())
                }
            }
            _ => (vec![], 0x6A88),
        }
    }
}

/// The test card as a logical [`Session`]: no 61xx, no chaining.
struct Logical(TestCard);

impl Session for Logical {
    type Error = ErrorKind;
    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        let (data, sw) = self.0.handle(command);
        let n = data.len() + 2;
        let out = response.get_mut(..n).ok_or(ErrorKind::BufferTooSmall)?;
        out[..data.len()].copy_from_slice(&data);
        out[data.len()..].copy_from_slice(&sw.to_be_bytes());
        Response::new_checked(&*out).map_err(|_| ErrorKind::Protocol)
    }
}

impl AsyncSession for Logical {
    type Error = ErrorKind;
    async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        Session::transmit(self, command, response)
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn pin(s: &[u8]) -> Pin {
    Pin::new(s).unwrap()
}

#[test]
fn select_and_containers() {
    let mut piv = Piv::new(Logical(TestCard::new()));
    let mut buf = [0u8; 4096];
    let apt = piv.select(&mut buf).unwrap();
    assert_eq!(apt.authority(), Some(&[0xA0, 0x00, 0x00, 0x03, 0x08][..]));
    let chuid = piv.read_chuid(&mut buf).unwrap();
    assert_eq!(chuid.guid(), b"0123456789abcdef");
    assert_eq!(&chuid.fascn().unwrap().agency_code, b"9999");
    let cert = piv
        .read_certificate(Slot::AUTHENTICATION, &mut buf)
        .unwrap();
    assert_eq!(cert.certificate().unwrap(), CERT_2K);
    // Not found: the error names the object and the status word.
    let e = piv.read_certificate(Slot::SIGNATURE, &mut buf).unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(
        e,
        Error::Status {
            operation: Operation::GetData,
            target: Target::Object(ObjectId::X509_DIGITAL_SIGNATURE),
            sw: StatusWord(0x6A82)
        }
    );
    assert!(e.to_string().contains("5FC10A"));
    // The wire form of GET DATA (SP 800-73-4 Part 2 §3.1.2).
    let log = &piv.session().0.log;
    assert_eq!(
        log[1],
        (Ins(0xCB), 0x3F, 0xFF, vec![0x5C, 0x03, 0x5F, 0xC1, 0x02])
    );
    // A buffer too small for the 2 KB certificate is the session's error.
    let mut small = [0u8; 512];
    assert_eq!(
        piv.read_certificate(Slot::AUTHENTICATION, &mut small)
            .unwrap_err(),
        Error::Session(ErrorKind::BufferTooSmall)
    );
}

#[test]
fn pins() {
    let mut piv = Piv::new(Logical(TestCard::new()));
    let app = PinReference::PIV_APPLICATION_PIN;
    assert_eq!(
        piv.pin_status(app).unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
    assert_eq!(
        piv.verify_pin(app, &pin(b"654321")).unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    // A PIN the policy refuses costs no try and sends nothing.
    let sent = piv.session().0.log.len();
    assert!(matches!(
        piv.verify_pin(app, &pin(b"12345")),
        Err(Error::Pin(_))
    ));
    assert_eq!(piv.session().0.log.len(), sent);
    assert_eq!(
        piv.verify_pin(app, &pin(b"123456")).unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        piv.session().0.log.last().unwrap(),
        &(Ins::VERIFY, 0x00, 0x80, b"123456\xFF\xFF".to_vec())
    );
    assert_eq!(piv.pin_status(app).unwrap(), PinOutcome::Verified);
    assert_eq!(
        piv.reset_pin_verification(app).unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(piv.session().0.log.last().unwrap().1, 0xFF);
    assert_eq!(
        piv.pin_status(app).unwrap(),
        PinOutcome::WrongPin { retries_left: 3 }
    );
    assert_eq!(
        piv.change_reference_data(app, &pin(b"123456"), &pin(b"24681357"))
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        piv.session().0.log.last().unwrap().3,
        b"123456\xFF\xFF24681357".to_vec()
    );
    // Lock the PIN, then unblock it with the PUK.
    for left in [2, 1, 0] {
        assert_eq!(
            piv.verify_pin(app, &pin(b"000000")).unwrap(),
            PinOutcome::WrongPin { retries_left: left }
        );
    }
    assert_eq!(
        piv.verify_pin(app, &pin(b"24681357")).unwrap(),
        PinOutcome::Blocked
    );
    assert_eq!(
        piv.reset_retry_counter(&pin(b"87654321"), &pin(b"112233"))
            .unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    assert_eq!(
        piv.reset_retry_counter(&pin(b"12345678"), &pin(b"112233"))
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        piv.session().0.log.last().unwrap(),
        &(
            Ins::RESET_RETRY_COUNTER,
            0x00,
            0x80,
            b"12345678112233\xFF\xFF".to_vec()
        )
    );
    assert_eq!(
        piv.verify_pin(app, &pin(b"112233")).unwrap(),
        PinOutcome::Verified
    );
    // The PUK itself through VERIFY 81.
    assert_eq!(
        piv.verify_pin(PinReference::PIV_PUK, &pin(b"12345678"))
            .unwrap(),
        PinOutcome::Verified
    );
}

#[test]
fn management_key_put_data_and_generate() {
    let mut piv = Piv::new(Logical(TestCard::new()));
    let mut buf = [0u8; 1024];
    let mut rng = TestRng(1);
    // Without the management key: 6982 naming the object.
    let chuid = ChuidRepr {
        guid: [0xAB; 16],
        ..ChuidRepr::default()
    };
    let content = chuid.encode(&mut buf).unwrap().to_vec();
    let mut work = [0u8; 256];
    let e = piv
        .put_data(ObjectId::CHUID, &content, &mut work)
        .unwrap_err();
    assert!(e.is_security_status_not_satisfied());
    assert!(
        piv.generate(Slot::AUTHENTICATION, AlgorithmId::ECC_P256, &mut buf)
            .unwrap_err()
            .is_security_status_not_satisfied()
    );
    // A wrong key: the card refuses the witness.
    let wrong = ManagementKey::new(AlgorithmId::TDES_3KEY, &[9; 24]).unwrap();
    assert!(
        piv.authenticate_management_key(&wrong, &mut rng)
            .unwrap_err()
            .is_security_status_not_satisfied()
    );
    piv.authenticate_management_key(&ManagementKey::DEFAULT_3DES, &mut rng)
        .unwrap();
    let log = &piv.session().0.log;
    let n = log.len();
    assert_eq!(
        log[n - 2],
        (Ins(0x87), 0x03, 0x9B, vec![0x7C, 0x02, 0x80, 0x00])
    );
    piv.put_data(ObjectId::CHUID, &content, &mut work).unwrap();
    assert_eq!(piv.read_chuid(&mut buf).unwrap().guid(), &[0xAB; 16]);
    let key = piv
        .generate(Slot::AUTHENTICATION, AlgorithmId::ECC_P256, &mut buf)
        .unwrap();
    assert!(key.to_p256().is_ok());
    assert_eq!(
        piv.session().0.log.last().unwrap(),
        &(Ins(0x47), 0x00, 0x9A, vec![0xAC, 0x03, 0x80, 0x01, 0x11])
    );
    // The card returns P-256 when P-384 was asked: refused.
    assert!(matches!(
        piv.generate(Slot::AUTHENTICATION, AlgorithmId::ECC_P384, &mut buf),
        Err(Error::AlgorithmMismatch { .. })
    ));
    let rsa = piv
        .generate(Slot::SIGNATURE, AlgorithmId::RSA_2048, &mut buf)
        .unwrap();
    assert!(rsa.to_rsa().is_ok());
}

#[test]
fn signatures_and_ecdh() {
    let card = TestCard::new();
    let ec_public = card.ec.public_key();
    let rsa_public = card.rsa.to_public_key();
    let mut piv = Piv::new(Logical(card));
    let mut buf = [0u8; 1024];
    let digest: [u8; 32] = sha2::Sha256::digest(b"host challenge").into();
    // Card authentication (9E) works without the PIN.
    let challenge = [0x5Cu8; 32];
    let der = piv
        .sign(
            Slot::CARD_AUTHENTICATION,
            AlgorithmId::ECC_P256,
            &challenge,
            &mut buf,
        )
        .unwrap();
    let sig = p256::ecdsa::Signature::from_der(der).unwrap();
    p256::ecdsa::VerifyingKey::from(&ec_public)
        .verify_prehash(&challenge, &sig)
        .unwrap();
    // No PIN yet: 6982 naming the key.
    let e = piv
        .sign(
            Slot::AUTHENTICATION,
            AlgorithmId::ECC_P256,
            &digest,
            &mut buf,
        )
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusWord(0x6982)));
    assert!(e.to_string().contains("key 9A"));
    piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin(b"123456"))
        .unwrap();
    // ECDSA P-256 with 9A.
    let der = piv
        .sign(
            Slot::AUTHENTICATION,
            AlgorithmId::ECC_P256,
            &digest,
            &mut buf,
        )
        .unwrap()
        .to_vec();
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    p256::ecdsa::VerifyingKey::from(&ec_public)
        .verify_prehash(&digest, &sig)
        .unwrap();
    let (_, _, _, sent) = piv.session().0.log.last().unwrap().clone();
    assert_eq!(&sent[..6], &[0x7C, 0x24, 0x82, 0x00, 0x81, 0x20]);
    // RSA-2048 with 9C, PKCS#1 v1.5 padding from the host.
    let em = padding::pkcs1v15(Hash::Sha256, &digest, AlgorithmId::RSA_2048).unwrap();
    let s = piv
        .sign(Slot::SIGNATURE, AlgorithmId::RSA_2048, &em, &mut buf)
        .unwrap()
        .to_vec();
    rsa_public
        .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &s)
        .unwrap();
    // RSA-2048 with PSS padding.
    let em = padding::pss(
        Hash::Sha256,
        &digest,
        AlgorithmId::RSA_2048,
        &mut TestRng(3),
    )
    .unwrap();
    let s = piv
        .sign(Slot::SIGNATURE, AlgorithmId::RSA_2048, &em, &mut buf)
        .unwrap()
        .to_vec();
    rsa_public
        .verify(rsa::Pss::<sha2::Sha256>::new(), &digest, &s)
        .unwrap();
    // Wrong input sizes never reach the card.
    assert!(matches!(
        piv.sign(Slot::SIGNATURE, AlgorithmId::RSA_2048, &digest, &mut buf),
        Err(Error::InvalidLength { .. })
    ));
    // ECDH with 9D.
    let peer = p256::SecretKey::from_slice(&[0x17; 32]).unwrap();
    let point = uncompressed(&peer.public_key());
    let z = piv
        .ecdh(
            Slot::KEY_MANAGEMENT,
            AlgorithmId::ECC_P256,
            &point,
            &mut buf,
        )
        .unwrap()
        .to_vec();
    let expected = p256::ecdh::diffie_hellman(peer.to_nonzero_scalar(), ec_public.as_affine());
    assert_eq!(z, expected.raw_secret_bytes().as_slice());
}

#[test]
fn async_twin_runs_the_same_flows() {
    block_on(async {
        let mut piv = AsyncPiv::new(Logical(TestCard::new()));
        let mut buf = [0u8; 4096];
        piv.select(&mut buf).await.unwrap();
        assert_eq!(
            piv.read_chuid(&mut buf).await.unwrap().guid(),
            b"0123456789abcdef"
        );
        assert_eq!(
            piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin(b"123456"))
                .await
                .unwrap(),
            PinOutcome::Verified
        );
        piv.authenticate_management_key(&ManagementKey::DEFAULT_3DES, &mut TestRng(9))
            .await
            .unwrap();
        let key = piv
            .generate(Slot::AUTHENTICATION, AlgorithmId::ECC_P256, &mut buf)
            .await
            .unwrap()
            .to_p256()
            .unwrap();
        let digest = [0x33u8; 32];
        let der = piv
            .sign(
                Slot::AUTHENTICATION,
                AlgorithmId::ECC_P256,
                &digest,
                &mut buf,
            )
            .await
            .unwrap();
        let sig = p256::ecdsa::Signature::from_der(der).unwrap();
        p256::ecdsa::VerifyingKey::from(&key)
            .verify_prehash(&digest, &sig)
            .unwrap();
    });
}

/// The test card behind the card-side exchange engine, as a short-APDU card: long answers go
/// out with `61xx`, long commands arrive chained.
struct Wire {
    card: TestCard,
    exchange: CardExchange<Vec<u8>>,
}

impl CardHandler for Wire {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x00]
    }
    fn power_on(&mut self) {
        self.exchange.reset();
    }
    fn power_off(&mut self) {
        self.exchange.reset();
    }
    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        let cmd = match self.exchange.receive(command, response) {
            Incoming::Answered(n) => return n,
            Incoming::Command(cmd) => (cmd.ins, cmd.p1, cmd.p2, cmd.data.to_vec(), cmd.ne),
        };
        let repr = CommandRepr {
            cla: cardwire_apdu::Cla(0),
            ins: cmd.0,
            p1: cmd.1,
            p2: cmd.2,
            data: &cmd.3,
            ne: cmd.4,
        };
        let (data, sw) = self.card.handle(&repr);
        self.exchange
            .respond(&data, StatusWord(sw), cmd.4, response)
            .unwrap_or(0)
    }
}

#[test]
fn large_objects_through_61xx_and_chaining() {
    let wire = Wire {
        card: TestCard::new(),
        exchange: CardExchange::new(vec![0u8; 8192]),
    };
    let caps = Capabilities {
        command_chaining: true,
        ..Capabilities::SHORT
    };
    let card = Card::with_capabilities(InProcess::new(wire), caps);
    let mut piv = Piv::new(card);
    let mut buf = vec![0u8; 4096];
    // 2 KB certificate: GET DATA answered with 61xx, fetched with GET RESPONSE.
    let cert = piv
        .read_certificate(Slot::AUTHENTICATION, &mut buf)
        .unwrap();
    assert_eq!(cert.certificate().unwrap(), CERT_2K);
    // PUT DATA of the 2 KB certificate into 9C: chained in 255-byte links.
    piv.authenticate_management_key(&ManagementKey::DEFAULT_3DES, &mut TestRng(5))
        .unwrap();
    let repr = CertificateObjectRepr::new(CERT_2K);
    let mut content = vec![0u8; repr.encoded_len()];
    repr.encode(&mut content).unwrap();
    let mut work = vec![0u8; content.len() + 16];
    piv.put_data(ObjectId::X509_DIGITAL_SIGNATURE, &content, &mut work)
        .unwrap();
    let back = piv.read_certificate(Slot::SIGNATURE, &mut buf).unwrap();
    assert_eq!(back.certificate().unwrap(), CERT_2K);
    // RSA-2048: a 266-byte template goes out chained, the 264-byte answer comes with 61xx.
    piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin(b"123456"))
        .unwrap();
    let digest: [u8; 32] = sha2::Sha256::digest(b"chained").into();
    let s = piv
        .sign_pkcs1v15(
            Slot::SIGNATURE,
            AlgorithmId::RSA_2048,
            Hash::Sha256,
            &digest,
            &mut buf,
        )
        .unwrap()
        .to_vec();
    let public = rsa::PrivateKey::from_pkcs1_der(CARD_RSA)
        .unwrap()
        .to_public_key();
    public
        .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &s)
        .unwrap();
}
