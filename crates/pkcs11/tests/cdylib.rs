//! Loads the built `cdylib` through the `cryptoki` crate (a real PKCS#11 consumer) and runs
//! login, find, sign, wrong PIN, lock and unlock against the in-process virtual PIV card.
//!
//! The module reads its configuration from the environment at `C_Initialize`, so the outer
//! test runs the inner one in a child process with `CARDWIRE_PKCS11_VIRTUAL` set (the
//! crate's dev-dependency on itself turns the `virtual-card` feature on for the `cdylib`
//! built for the tests).
// The helpers are test code too: a failing expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use p256::ecdsa::signature::Verifier;

const SEED: &str = "cardwire pkcs11 test card";

fn module_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let name = format!(
        "{}cardwire_pkcs11{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    [deps.join(&name), deps.parent().unwrap().join(&name)]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not found next to {}", exe.display()))
}

fn pin(text: &str) -> AuthPin {
    AuthPin::new(text.into())
}

fn rv(e: Error) -> RvError {
    match e {
        Error::Pkcs11(rv, _) => rv,
        other => panic!("not a PKCS#11 error: {other}"),
    }
}

#[test]
fn cdylib_against_the_virtual_card() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "inner_session",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CARDWIRE_PKCS11_VIRTUAL", SEED)
        .env("CARDWIRE_PKCS11_LOG", "debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "inner test failed:\n{stdout}\n{stderr}"
    );
    // The module's debug log went to standard error: it names results, never the PINs.
    assert!(stderr.contains("user login"), "{stderr}");
    for secret in ["123456", "12345678", "654321", "000000"] {
        assert!(!stderr.contains(secret), "a PIN in the log: {stderr}");
    }
}

fn find(session: &Session, template: &[Attribute]) -> Vec<cryptoki::object::ObjectHandle> {
    session.find_objects(template).unwrap()
}

fn ec_point(session: &Session, key: cryptoki::object::ObjectHandle) -> p256::PublicKey {
    let attrs = session
        .get_attributes(key, &[AttributeType::EcPoint])
        .unwrap();
    let Some(Attribute::EcPoint(der)) = attrs.first() else {
        panic!("no CKA_EC_POINT: {attrs:?}")
    };
    assert_eq!(der[0], 0x04, "an OCTET STRING");
    p256::PublicKey::from_sec1_bytes(&der[2..]).unwrap()
}

#[test]
#[ignore = "run in a child process by cdylib_against_the_virtual_card"]
fn inner_session() {
    let pkcs11 = Pkcs11::new(module_path()).unwrap();
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let info = pkcs11.get_library_info().unwrap();
    assert_eq!(info.manufacturer_id(), "cardwire");

    let slots = pkcs11.get_slots_with_token().unwrap();
    assert_eq!(slots.len(), 1);
    let slot = slots[0];
    let token = pkcs11.get_token_info(slot).unwrap();
    assert!(token.login_required() && token.user_pin_initialized());
    assert!(!token.user_pin_count_low() && !token.user_pin_locked());
    assert_eq!(token.serial_number().len(), 16);
    assert!(
        !token.label().is_empty() && token.label() != "PIV Card",
        "label from the cert CN"
    );

    let session = pkcs11.open_rw_session(slot).unwrap();

    // Before login: certificates and public keys, no private keys.
    let certs = find(&session, &[Attribute::Class(ObjectClass::CERTIFICATE)]);
    assert_eq!(certs.len(), 4, "9A, 9C, 9D, 9E");
    let publics = find(&session, &[Attribute::Class(ObjectClass::PUBLIC_KEY)]);
    assert_eq!(publics.len(), 4);
    assert!(find(&session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)]).is_empty());
    let cert_9a = find(
        &session,
        &[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::Id(vec![1]),
        ],
    );
    assert_eq!(cert_9a.len(), 1);
    let attrs = session
        .get_attributes(
            cert_9a[0],
            &[
                AttributeType::Value,
                AttributeType::Subject,
                AttributeType::Label,
            ],
        )
        .unwrap();
    let Attribute::Value(cert_der) = &attrs[0] else {
        panic!()
    };
    assert_eq!(cert_der[0], 0x30);
    assert!(matches!(&attrs[2], Attribute::Label(l) if l == b"Certificate for PIV Authentication"));

    // A wrong PIN: CKR_PIN_INCORRECT, and the token says the counter is low.
    let e = session
        .login(UserType::User, Some(&pin("000000")))
        .unwrap_err();
    assert_eq!(rv(e), RvError::PinIncorrect);
    assert!(pkcs11.get_token_info(slot).unwrap().user_pin_count_low());
    // A PIN of the wrong length never reaches the card.
    let e = session.login(UserType::User, Some(&pin("12"))).unwrap_err();
    assert_eq!(rv(e), RvError::PinLenRange);

    session.login(UserType::User, Some(&pin("123456"))).unwrap();
    assert!(!pkcs11.get_token_info(slot).unwrap().user_pin_count_low());
    let e = session
        .login(UserType::User, Some(&pin("123456")))
        .unwrap_err();
    assert_eq!(rv(e), RvError::UserAlreadyLoggedIn);

    let privates = find(&session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)]);
    assert_eq!(privates.len(), 4);
    let message = b"a server's challenge";

    // 9A is RSA-2048: PKCS#1 v1.5 and PSS, verified with the public key object's modulus.
    let key_9a = find(
        &session,
        &[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::RSA),
            Attribute::Id(vec![1]),
        ],
    )[0];
    let pub_9a = find(
        &session,
        &[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Id(vec![1]),
        ],
    )[0];
    let attrs = session
        .get_attributes(
            pub_9a,
            &[AttributeType::Modulus, AttributeType::PublicExponent],
        )
        .unwrap();
    let (Attribute::Modulus(n), Attribute::PublicExponent(e)) = (&attrs[0], &attrs[1]) else {
        panic!("{attrs:?}")
    };
    let rsa_public = rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice_vartime(n),
        rsa::BoxedUint::from_be_slice_vartime(e),
    )
    .unwrap();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(message);
    let sig = session
        .sign(&Mechanism::Sha256RsaPkcs, key_9a, message)
        .unwrap();
    assert_eq!(sig.len(), 256);
    rsa_public
        .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &sig)
        .unwrap();
    let pss = PkcsPssParams {
        hash_alg: MechanismType::SHA256,
        mgf: PkcsMgfType::MGF1_SHA256,
        s_len: 32.into(),
    };
    let sig = session
        .sign(&Mechanism::Sha256RsaPkcsPss(pss), key_9a, message)
        .unwrap();
    rsa_public
        .verify(rsa::Pss::<sha2::Sha256>::new(), &digest, &sig)
        .unwrap();

    // 9D is ECC P-256: ECDSA with SHA-256, verified with the public key object's point.
    let key_9d = find(
        &session,
        &[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Id(vec![3]),
        ],
    )[0];
    let pub_9d_handle = find(
        &session,
        &[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Id(vec![3]),
        ],
    )[0];
    let pub_9d = ec_point(&session, pub_9d_handle);
    let verifier = p256::ecdsa::VerifyingKey::from(&pub_9d);
    let sig = session
        .sign(&Mechanism::EcdsaSha256, key_9d, message)
        .unwrap();
    assert_eq!(sig.len(), 64);
    let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    verifier.verify(message, &sig).unwrap();

    // Multi-part gives a valid signature of the whole message.
    session.sign_init(&Mechanism::EcdsaSha256, key_9d).unwrap();
    session.sign_update(b"a server's ").unwrap();
    session.sign_update(b"challenge").unwrap();
    let sig = session.sign_final().unwrap();
    verifier
        .verify(message, &p256::ecdsa::Signature::from_slice(&sig).unwrap())
        .unwrap();

    // 9C wants the PIN right before each signature.
    let key_9c = find(
        &session,
        &[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(vec![2]),
        ],
    )[0];
    let always = session
        .get_attributes(key_9c, &[AttributeType::AlwaysAuthenticate])
        .unwrap();
    assert!(matches!(always[0], Attribute::AlwaysAuthenticate(true)));
    let e = session
        .sign(&Mechanism::EcdsaSha256, key_9c, message)
        .unwrap_err();
    assert_eq!(rv(e), RvError::UserNotLoggedIn);
    session.sign_init(&Mechanism::EcdsaSha256, key_9c).unwrap();
    session
        .login(UserType::ContextSpecific, Some(&pin("123456")))
        .unwrap();
    session.sign_update(message).unwrap();
    let sig = session.sign_final().unwrap();
    let pub_9c = find(
        &session,
        &[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Id(vec![2]),
        ],
    )[0];
    p256::ecdsa::VerifyingKey::from(&ec_point(&session, pub_9c))
        .verify(message, &p256::ecdsa::Signature::from_slice(&sig).unwrap())
        .unwrap();

    // ECDH with 9D: the derived secret equals the one computed with the card's public key.
    let ephemeral = p256::SecretKey::from_slice(&[0x42; 32]).unwrap();
    let ephemeral_point = ephemeral.public_key().to_sec1_bytes();
    assert_eq!(ephemeral_point.len(), 65, "uncompressed");
    let params = Ecdh1DeriveParams::new(EcKdf::null(), &ephemeral_point);
    let derived = session
        .derive_key(
            &Mechanism::Ecdh1Derive(params),
            key_9d,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
            ],
        )
        .unwrap();
    let value = session
        .get_attributes(derived, &[AttributeType::Value])
        .unwrap();
    let Attribute::Value(secret) = &value[0] else {
        panic!()
    };
    let expected = p256::elliptic_curve::ecdh::diffie_hellman(
        ephemeral.to_nonzero_scalar(),
        pub_9d.as_affine(),
    );
    assert_eq!(&secret[..], &expected.raw_secret_bytes()[..]);

    assert_eq!(session.generate_random_vec(32).unwrap().len(), 32);

    // Lock the PIN: two more wrong tries after one good login reset the counter to 3.
    session.logout().unwrap();
    assert!(find(&session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)]).is_empty());
    for expected in [
        RvError::PinIncorrect,
        RvError::PinIncorrect,
        RvError::PinLocked,
    ] {
        let e = session
            .login(UserType::User, Some(&pin("000000")))
            .unwrap_err();
        assert_eq!(rv(e), expected);
    }
    assert!(pkcs11.get_token_info(slot).unwrap().user_pin_locked());
    let e = session
        .login(UserType::User, Some(&pin("123456")))
        .unwrap_err();
    assert_eq!(rv(e), RvError::PinLocked);

    // Unlock: SO login with the PUK, C_InitPIN = RESET RETRY COUNTER.
    session.login(UserType::So, Some(&pin("12345678"))).unwrap();
    session.init_pin(&pin("654321")).unwrap();
    session.logout().unwrap();
    assert!(!pkcs11.get_token_info(slot).unwrap().user_pin_locked());
    session.login(UserType::User, Some(&pin("654321"))).unwrap();

    // C_SetPIN = CHANGE REFERENCE DATA: a wrong old PIN is refused, the right one works.
    let e = session.set_pin(&pin("000000"), &pin("123456")).unwrap_err();
    assert_eq!(rv(e), RvError::PinIncorrect);
    session.set_pin(&pin("654321"), &pin("123456")).unwrap();
    session.logout().unwrap();
    session.login(UserType::User, Some(&pin("123456"))).unwrap();

    drop(session);
    pkcs11.finalize().unwrap();
}
