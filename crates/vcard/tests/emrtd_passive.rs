//! Passive Authentication (cardwire-sm `passive`) over EF.SOD built by the virtual card's test
//! PKI (`emrtd_pki`): a genuine document passes; a changed data group, a changed signed
//! attribute, a changed LDS security object, a foreign document signer certificate, a DS
//! under an unknown CSCA, an expired or not yet valid DS are each refused with their error.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use core::time::Duration;

use cardwire_sm::passive::{
    DataGroupOutcome, MasterList, MasterListCheck, PassiveError, SignedSod, TrustList,
    passive_authentication,
};
use cardwire_sm::sod::SodError;
use cardwire_vcard::Seed;
use cardwire_vcard::emrtd_pki::{self, TestPki};
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{Any, ObjectIdentifier, SetOfVec};
use der::{Decode, Encode, Tag};
use x509_cert::attr::Attribute;

const DG1: &[u8] = include_bytes!("../../sm/src/passive/testdata/cardwire-test-dg1.bin");
const DG2: &[u8] = include_bytes!("../../sm/src/passive/testdata/cardwire-test-dg2.bin");
const FIXTURE_SOD: &[u8] = include_bytes!("../../sm/src/passive/testdata/cardwire-test-sod.der");
const FIXTURE_CSCA: &[u8] = include_bytes!("../../sm/src/passive/testdata/cardwire-test-csca.der");

/// 2026-01-01T00:00:00Z, inside the test certificates' validity.
const NOW: Duration = Duration::from_secs(1_767_225_600);

fn trust(seed: &Seed) -> TrustList {
    let mut t = TrustList::new();
    t.push_der(&emrtd_pki::csca_cert(seed).unwrap()).unwrap();
    t
}

fn dgs() -> [(u8, &'static [u8]); 2] {
    [(1, DG1), (2, DG2)]
}

/// EF.SOD's ContentInfo → SignedData, changed by `f`, and back to EF.SOD.
fn tamper(sod: &[u8], f: impl FnOnce(&mut SignedData)) -> Vec<u8> {
    let ci = ContentInfo::from_der(&sod[4..]).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    f(&mut sd);
    let ci = ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&sd).unwrap(),
    };
    let app = Tag::Application {
        constructed: true,
        number: der::TagNumber(23),
    };
    Any::new(app, ci.to_der().unwrap())
        .unwrap()
        .to_der()
        .unwrap()
}

#[test]
fn fixtures_are_what_the_builder_makes() {
    let sod = emrtd_pki::build_sod(&Seed::DEFAULT, &dgs()).unwrap();
    let csca = emrtd_pki::csca_cert(&Seed::DEFAULT).unwrap();
    // After a deliberate change of the builder: CARDWIRE_WRITE_FIXTURES=1 cargo test ...
    if std::env::var_os("CARDWIRE_WRITE_FIXTURES").is_some() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../sm/src/passive/testdata/");
        std::fs::write(format!("{dir}cardwire-test-sod.der"), &sod).unwrap();
        std::fs::write(format!("{dir}cardwire-test-csca.der"), &csca).unwrap();
        return;
    }
    assert_eq!(sod, FIXTURE_SOD, "EF.SOD builder output changed");
    assert_eq!(csca, FIXTURE_CSCA, "CSCA builder output changed");
    // Deterministic: the same seed gives the same bytes twice.
    assert_eq!(emrtd_pki::build_sod(&Seed::DEFAULT, &dgs()).unwrap(), sod);
}

#[test]
fn genuine_document_passes() {
    let seed = Seed::from_text("passive genuine");
    let sod = emrtd_pki::build_sod(&seed, &dgs()).unwrap();
    let report = passive_authentication(&sod, &dgs(), &trust(&seed), NOW).unwrap();
    assert_eq!(report.sod_signature, Ok(()));
    assert_eq!(report.document_signer, Ok(()));
    assert!(report.passed(), "{report}");
    assert_eq!(report.first_error(), None);
    assert_eq!(report.data_groups.len(), 2);
    assert!(
        report
            .data_groups
            .iter()
            .all(|d| d.outcome == DataGroupOutcome::Match)
    );
    assert_eq!(
        report.ds_subject.as_ref().unwrap().to_string(),
        emrtd_pki::DS_NAME
    );
    assert_eq!(
        report.csca_subject.as_ref().unwrap().to_string(),
        emrtd_pki::CSCA_NAME
    );
    // DG2 not read: reported, not failed.
    let report = passive_authentication(&sod, &[(1, DG1)], &trust(&seed), NOW).unwrap();
    assert!(report.passed());
    assert_eq!(report.data_groups[1].outcome, DataGroupOutcome::NotRead);
    // The text report names every check.
    let text = report.to_string();
    assert!(text.contains("SOD signature: passed"), "{text}");
    assert!(text.contains("DG2: not read"), "{text}");
    assert!(text.ends_with("passive authentication: passed"), "{text}");
}

#[test]
fn changed_data_group_is_refused() {
    let seed = Seed::DEFAULT;
    let mut dg1 = DG1.to_vec();
    dg1[10] ^= 0x01;
    let report =
        passive_authentication(FIXTURE_SOD, &[(1, &dg1), (2, DG2)], &trust(&seed), NOW).unwrap();
    assert_eq!(report.sod_signature, Ok(()));
    assert_eq!(report.document_signer, Ok(()));
    assert!(!report.passed());
    assert_eq!(report.data_groups[0].outcome, DataGroupOutcome::Mismatch);
    assert_eq!(report.data_groups[1].outcome, DataGroupOutcome::Match);
    assert_eq!(
        report.first_error(),
        Some(PassiveError::Lds(SodError::HashMismatch { data_group: 1 }))
    );
    // A data group the SOD does not list.
    let report =
        passive_authentication(FIXTURE_SOD, &[(1, DG1), (15, DG2)], &trust(&seed), NOW).unwrap();
    assert!(!report.passed());
    assert_eq!(
        report.first_error(),
        Some(PassiveError::Lds(SodError::NoHash { data_group: 15 }))
    );
}

#[test]
fn changed_signed_attribute_is_refused() {
    // An added signingTime attribute: the signature no longer covers the attributes.
    let sod = tamper(FIXTURE_SOD, |sd| {
        let mut si = sd.signer_infos.0.iter().next().unwrap().clone();
        let attrs = si.signed_attrs.as_mut().unwrap();
        attrs
            .insert(Attribute {
                oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5"),
                values: SetOfVec::try_from(vec![
                    Any::from_der(&[
                        0x17, 0x0D, b'2', b'6', b'0', b'1', b'0', b'1', b'0', b'0', b'0', b'0',
                        b'0', b'0', b'Z',
                    ])
                    .unwrap(),
                ])
                .unwrap(),
            })
            .unwrap();
        sd.signer_infos = SetOfVec::try_from(vec![si]).unwrap().into();
    });
    let parsed = SignedSod::parse(&sod).unwrap();
    assert_eq!(
        parsed.verify_signature(),
        Err(PassiveError::SignatureInvalid)
    );
    let report = passive_authentication(&sod, &dgs(), &trust(&Seed::DEFAULT), NOW).unwrap();
    assert!(!report.passed());
    assert_eq!(report.first_error(), Some(PassiveError::SignatureInvalid));

    // A changed messageDigest attribute: refused before the signature is even tried.
    let sod = tamper(FIXTURE_SOD, |sd| {
        let mut si = sd.signer_infos.0.iter().next().unwrap().clone();
        let old = si.signed_attrs.take().unwrap();
        let mut attrs = Vec::new();
        for mut a in old.into_vec() {
            if a.oid == ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4") {
                let mut v = a.values.get(0).unwrap().to_der().unwrap();
                let last = v.len() - 1;
                v[last] ^= 0xFF;
                a.values = SetOfVec::try_from(vec![Any::from_der(&v).unwrap()]).unwrap();
            }
            attrs.push(a);
        }
        si.signed_attrs = Some(SetOfVec::try_from(attrs).unwrap());
        sd.signer_infos = SetOfVec::try_from(vec![si]).unwrap().into();
    });
    assert_eq!(
        SignedSod::parse(&sod).unwrap().verify_signature(),
        Err(PassiveError::MessageDigestMismatch)
    );
}

#[test]
fn changed_security_object_is_refused() {
    // A DG1 hash in the LDSSecurityObject changed to the hash of a forged DG1: the forged DG1
    // matches the SOD's list, but the messageDigest attribute no longer matches the content.
    let forged = b"\x61\x03forged".to_vec();
    let honest = emrtd_pki::build_sod(&Seed::DEFAULT, &[(1, &forged), (2, DG2)]).unwrap();
    let honest_sd: SignedData = ContentInfo::from_der(&honest[4..])
        .unwrap()
        .content
        .decode_as()
        .unwrap();
    let sod = tamper(FIXTURE_SOD, |sd| {
        sd.encap_content_info = honest_sd.encap_content_info.clone();
    });
    let report =
        passive_authentication(&sod, &[(1, &forged), (2, DG2)], &trust(&Seed::DEFAULT), NOW)
            .unwrap();
    assert_eq!(report.data_groups[0].outcome, DataGroupOutcome::Match);
    assert_eq!(
        report.sod_signature,
        Err(PassiveError::MessageDigestMismatch)
    );
    assert!(!report.passed());
}

#[test]
fn foreign_document_signer_certificate_is_refused() {
    // The certificate of another seed's DS (same name and serial number) put in the SOD.
    let other = TestPki::from_seed(&Seed::from_text("other")).unwrap();
    let other_ds = x509_cert::Certificate::from_der(&other.ds_der().unwrap()).unwrap();
    let sod = tamper(FIXTURE_SOD, |sd| {
        sd.certificates = Some(
            vec![cms::cert::CertificateChoices::Certificate(other_ds.clone())]
                .try_into()
                .unwrap(),
        );
    });
    let report = passive_authentication(&sod, &dgs(), &trust(&Seed::DEFAULT), NOW).unwrap();
    assert_eq!(report.sod_signature, Err(PassiveError::SignatureInvalid));
    // It is also not under the trusted CSCA.
    assert_eq!(report.document_signer, Err(PassiveError::UnknownCsca));
}

#[test]
fn unknown_csca_is_refused() {
    // The CSCA of another seed has the same name but another key.
    let report =
        passive_authentication(FIXTURE_SOD, &dgs(), &trust(&Seed::from_text("x")), NOW).unwrap();
    assert_eq!(report.sod_signature, Ok(()));
    assert_eq!(report.document_signer, Err(PassiveError::UnknownCsca));
    assert!(!report.passed());
    assert_eq!(report.csca_subject, None);
    // An empty trust list.
    let report = passive_authentication(FIXTURE_SOD, &dgs(), &TrustList::new(), NOW).unwrap();
    assert_eq!(report.document_signer, Err(PassiveError::UnknownCsca));
}

#[test]
fn document_signer_validity_is_checked() {
    let seed = Seed::from_text("validity");
    let pki =
        TestPki::with_ds_validity(&seed, ("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z")).unwrap();
    let sod = pki.build_sod(&dgs()).unwrap();
    let report = passive_authentication(&sod, &dgs(), &trust(&seed), NOW).unwrap();
    assert_eq!(report.sod_signature, Ok(()));
    assert_eq!(report.document_signer, Err(PassiveError::DsExpired));
    assert!(!report.passed());
    // The same document checked in 2020 passes.
    let in_2020 = Duration::from_secs(1_590_000_000);
    let mut trust_2020 = trust(&seed);
    // The CSCA is valid from 2025 only: refused as not yet valid.
    assert_eq!(
        passive_authentication(&sod, &dgs(), &trust_2020, in_2020)
            .unwrap()
            .document_signer,
        Err(PassiveError::CscaNotYetValid)
    );
    trust_2020 = trust(&seed);
    let before = Duration::from_secs(1_500_000_000);
    assert_eq!(
        passive_authentication(&sod, &dgs(), &trust_2020, before)
            .unwrap()
            .document_signer,
        Err(PassiveError::DsNotYetValid)
    );
}

#[test]
fn master_list_loads_and_verifies() {
    let seed = Seed::from_text("master list");
    let pki = TestPki::from_seed(&seed).unwrap();
    let csca = pki.csca_der().unwrap();
    let other = emrtd_pki::csca_cert(&Seed::from_text("another state")).unwrap();
    let ml = pki.build_master_list(&[&csca, &other]).unwrap();
    let parsed = MasterList::parse(&ml, NOW).unwrap();
    assert_eq!(parsed.check, MasterListCheck::Verified);
    assert_eq!(parsed.cscas.len(), 2);
    // Without its signer's CSCA the list is read but not vouched for.
    let ml_foreign = pki.build_master_list(&[&other]).unwrap();
    assert_eq!(
        MasterList::parse(&ml_foreign, NOW).unwrap().check,
        MasterListCheck::SignerNotInList
    );
    // An EF.SOD is not a master list.
    assert_eq!(
        MasterList::parse(&FIXTURE_SOD[4..], NOW).unwrap_err(),
        PassiveError::WrongContent
    );

    // Loading from files: DER, PEM, a directory, a master list.
    let dir = tempfile::tempdir().unwrap();
    let der_path = dir.path().join("csca.der");
    std::fs::write(&der_path, &csca).unwrap();
    let pem_path = dir.path().join("csca.pem");
    std::fs::write(&pem_path, emrtd_pki::csca_pem(&seed).unwrap()).unwrap();
    let ml_path = dir.path().join("list.ml");
    std::fs::write(&ml_path, &ml).unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a certificate").unwrap();

    let sod = pki.build_sod(&dgs()).unwrap();
    for path in [&der_path, &pem_path, &ml_path] {
        let loaded = TrustList::load(path, NOW).unwrap();
        let report = passive_authentication(&sod, &dgs(), &loaded.list, NOW).unwrap();
        assert!(report.passed(), "{}: {report}", path.display());
    }
    let loaded = TrustList::load(&ml_path, NOW).unwrap();
    assert_eq!(
        loaded.master_lists,
        vec![(ml_path.clone(), MasterListCheck::Verified)]
    );
    let loaded = TrustList::load(dir.path(), NOW).unwrap();
    assert_eq!(loaded.list.len(), 4);
    assert_eq!(loaded.skipped, vec![dir.path().join("notes.txt")]);
    assert_eq!(
        TrustList::load(&dir.path().join("notes.txt"), NOW).unwrap_err(),
        cardwire_sm::passive::LoadError::Parse(PassiveError::Malformed { offset: 0 })
    );
}
