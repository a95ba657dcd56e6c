//! The virtual card's PIV application driven by the host crate `cardwire-piv` over a
//! `cardwire_transport::Card` (the path OpenSC and `cardwire journey` take): SELECT, the
//! containers, PIN rules, signatures verified with the certificates, ECDH, management-key
//! authentication, PUT DATA and GENERATE, and that everything survives `--state`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use cardwire_pin::{Pin, PinOutcome, PinReference};
use cardwire_piv::padding::Hash;
use cardwire_piv::{AlgorithmId, Error, ManagementKey, ObjectId, Piv, Slot};
use cardwire_transport::{Card, InProcess};
use cardwire_vcard::{Seed, VirtualCard};
use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::Digest;
use x509_cert::Certificate;

struct Rng(u8);
impl rand_core::TryRng for Rng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from(self.0))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from(self.0))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
            *b = self.0;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Rng {}

fn piv(card: VirtualCard) -> Piv<impl cardwire_transport::Session> {
    Piv::new(Card::open(InProcess::new(card)).unwrap())
}

fn pin(s: &str) -> Pin {
    Pin::new(s.as_bytes()).unwrap()
}

fn spki(cert: &[u8]) -> Vec<u8> {
    let c = Certificate::from_der(cert).unwrap();
    c.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap()
}

fn cert_of(p: &mut Piv<impl cardwire_transport::Session>, slot: Slot) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let c = p.read_certificate(slot, &mut buf).unwrap();
    c.certificate().unwrap().to_vec()
}

#[test]
fn select_containers_and_certificates() {
    let card = VirtualCard::new(&Seed::DEFAULT).unwrap();
    let name = card.identity().name.clone();
    let uid = card.identity().user_id.digits();
    let mut p = piv(card);
    let mut buf = vec![0u8; 4096];
    let apt = p.select(&mut buf).unwrap();
    let algs: Vec<_> = apt.algorithms().collect();
    assert!(algs.contains(&AlgorithmId::RSA_2048) && algs.contains(&AlgorithmId::ECC_P256));
    let chuid = p.read_chuid(&mut buf).unwrap();
    assert_eq!(chuid.guid().len(), 16);
    assert!(p.read_ccc(&mut buf).is_ok());
    let d = p.read_discovery(&mut buf).unwrap();
    assert_eq!(d.aid(), cardwire_piv::PIV_AID_FULL);
    assert!(p.read_key_history(&mut buf).is_ok());
    // Printed information needs the PIN.
    assert!(p.read_printed_information(&mut buf).is_err());
    for slot in [Slot(0x9A), Slot(0x9C), Slot(0x9D), Slot(0x9E)] {
        let der = cert_of(&mut p, slot);
        let subject = Certificate::from_der(&der)
            .unwrap()
            .tbs_certificate()
            .subject()
            .to_string();
        assert!(subject.contains(&name), "{subject}");
        assert!(subject.contains(&uid), "{subject}");
    }
    // Absent and unknown objects.
    assert!(matches!(
        p.get_data(ObjectId::SECURITY_OBJECT, &mut buf),
        Err(Error::Status { .. })
    ));
}

#[test]
fn pin_rules_and_signatures() {
    let mut p = piv(VirtualCard::new(&Seed::DEFAULT).unwrap());
    let mut buf = vec![0u8; 4096];
    p.select(&mut buf).unwrap();
    let digest: [u8; 32] = sha2::Sha256::digest(b"host challenge").into();
    // 9E needs no PIN.
    let cert9e = cert_of(&mut p, Slot(0x9E));
    let sig = p
        .sign(Slot(0x9E), AlgorithmId::ECC_P256, &digest, &mut buf)
        .unwrap()
        .to_vec();
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki(&cert9e)).unwrap();
    key.verify_prehash(
        &digest,
        &p256::ecdsa::DerSignature::from_bytes(&sig).unwrap(),
    )
    .unwrap();
    // 9A and 9C refuse without the PIN.
    assert!(
        p.sign(Slot(0x9C), AlgorithmId::ECC_P256, &digest, &mut buf)
            .is_err()
    );
    assert!(
        p.sign_pkcs1v15(
            Slot(0x9A),
            AlgorithmId::RSA_2048,
            Hash::Sha256,
            &digest,
            &mut buf
        )
        .is_err()
    );
    assert_eq!(
        p.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin("123456"))
            .unwrap(),
        PinOutcome::Verified
    );
    // 9A: RSA-2048 PKCS#1 v1.5 with the host's padding, verified with the certificate.
    let cert9a = cert_of(&mut p, Slot(0x9A));
    let sig = p
        .sign_pkcs1v15(
            Slot(0x9A),
            AlgorithmId::RSA_2048,
            Hash::Sha256,
            &digest,
            &mut buf,
        )
        .unwrap()
        .to_vec();
    use rsa::pkcs8::DecodePublicKey;
    let rsa_key = rsa::PublicKey::from_public_key_der(&spki(&cert9a)).unwrap();
    rsa_key
        .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &sig)
        .unwrap();
    // 9C: once per VERIFY ("PIN always").
    let cert9c = cert_of(&mut p, Slot(0x9C));
    let sig = p
        .sign(Slot(0x9C), AlgorithmId::ECC_P256, &digest, &mut buf)
        .unwrap()
        .to_vec();
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki(&cert9c)).unwrap();
    key.verify_prehash(
        &digest,
        &p256::ecdsa::DerSignature::from_bytes(&sig).unwrap(),
    )
    .unwrap();
    assert!(
        p.sign(Slot(0x9C), AlgorithmId::ECC_P256, &digest, &mut buf)
            .is_err()
    );
    // Wrong algorithm for the slot.
    assert!(
        p.sign(Slot(0x9A), AlgorithmId::ECC_P256, &digest, &mut buf)
            .is_err()
    );
    // ECDH with 9D.
    let peer = p256::SecretKey::from_slice(&[0x42; 32]).unwrap();
    use p256::elliptic_curve::sec1::ToSec1Point;
    let point = peer.public_key().to_sec1_point(false);
    let shared = p
        .ecdh(
            Slot(0x9D),
            AlgorithmId::ECC_P256,
            point.as_bytes(),
            &mut buf,
        )
        .unwrap()
        .to_vec();
    let cert9d = cert_of(&mut p, Slot(0x9D));
    let card_pub = p256::PublicKey::from_public_key_der(&spki(&cert9d)).unwrap();
    let expected = p256::ecdh::diffie_hellman(peer.to_nonzero_scalar(), card_pub.as_affine());
    assert_eq!(shared, expected.raw_secret_bytes().to_vec());
}

#[test]
fn lock_unlock_and_change() {
    let mut p = piv(VirtualCard::new(&Seed::DEFAULT).unwrap());
    let mut buf = vec![0u8; 256];
    p.select(&mut buf).unwrap();
    let r = PinReference::PIV_APPLICATION_PIN;
    assert_eq!(
        p.verify_pin(r, &pin("999999")).unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    p.verify_pin(r, &pin("999999")).unwrap();
    assert_eq!(
        p.verify_pin(r, &pin("999999")).unwrap(),
        PinOutcome::Blocked
    );
    assert_eq!(
        p.verify_pin(r, &pin("123456")).unwrap(),
        PinOutcome::Blocked
    );
    assert_eq!(
        p.reset_retry_counter(&pin("12345678"), &pin("654321"))
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        p.verify_pin(r, &pin("654321")).unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        p.change_reference_data(PinReference::PIV_PUK, &pin("12345678"), &pin("87654321"))
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        p.change_reference_data(r, &pin("654321"), &pin("1234567"))
            .unwrap(),
        PinOutcome::Verified
    );
    assert_eq!(
        p.verify_pin(r, &pin("1234567")).unwrap(),
        PinOutcome::Verified
    );
}

#[test]
fn management_key_guards_put_data_and_generate_and_state_keeps_them() {
    let dir = std::env::temp_dir().join(format!("cardwire-piv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("card.state");
    let _ = std::fs::remove_file(&path);
    let card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    let mut p = piv(card);
    let mut buf = vec![0u8; 4096];
    p.select(&mut buf).unwrap();
    let chuid = cardwire_vcard::piv::chuid([9; 16]).unwrap();
    let mut work = vec![0u8; 512];
    assert!(p.put_data(ObjectId::CHUID, &chuid, &mut work).is_err());
    assert!(
        p.generate(Slot(0x9C), AlgorithmId::ECC_P256, &mut buf)
            .is_err()
    );
    let wrong = ManagementKey::new(AlgorithmId::TDES_3KEY, &[7u8; 24]).unwrap();
    assert!(p.authenticate_management_key(&wrong, &mut Rng(1)).is_err());
    p.authenticate_management_key(&ManagementKey::DEFAULT_3DES, &mut Rng(2))
        .unwrap();
    p.put_data(ObjectId::CHUID, &chuid, &mut work).unwrap();
    let public = p
        .generate(Slot(0x9C), AlgorithmId::ECC_P256, &mut buf)
        .unwrap();
    let generated = public.to_p256().unwrap();
    drop(p);
    // Everything survived the state file.
    let card = VirtualCard::open(&path, &Seed::DEFAULT).unwrap();
    let mut p = piv(card);
    p.select(&mut buf).unwrap();
    assert_eq!(p.read_chuid(&mut buf).unwrap().guid(), &[9; 16]);
    p.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin("123456"))
        .unwrap();
    let digest = [0x5A; 32];
    let sig = p
        .sign(Slot(0x9C), AlgorithmId::ECC_P256, &digest, &mut buf)
        .unwrap()
        .to_vec();
    p256::ecdsa::VerifyingKey::from(generated)
        .verify_prehash(
            &digest,
            &p256::ecdsa::DerSignature::from_bytes(&sig).unwrap(),
        )
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn generate_rsa_2048() {
    let mut p = piv(VirtualCard::new(&Seed::DEFAULT).unwrap());
    let mut buf = vec![0u8; 4096];
    p.select(&mut buf).unwrap();
    p.authenticate_management_key(&ManagementKey::DEFAULT_3DES, &mut Rng(3))
        .unwrap();
    let started = std::time::Instant::now();
    let public = p
        .generate(Slot(0x9A), AlgorithmId::RSA_2048, &mut buf)
        .unwrap();
    assert_eq!(public.algorithm(), AlgorithmId::RSA_2048);
    // The bignum crates are optimised in dev builds (Cargo.toml profile), so this is quick.
    assert!(started.elapsed().as_secs() < 30);
}
