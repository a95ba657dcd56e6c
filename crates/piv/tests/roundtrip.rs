//! Property tests: every container repr encodes to bytes that parse back to the same repr,
//! and the encoded length is announced exactly.

use cardwire_piv::{
    AuthTemplateRepr, CardCapabilityContainerRepr, CertInfo, CertificateObjectRepr, ChuidRepr,
    DiscoveryRepr, Fascn, KeyHistoryRepr, ObjectId, PinUsagePolicy, PrintedInformationRepr,
    SecurityObjectRepr,
};
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn digits<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    proptest::array::uniform::<_, N>(b'0'..=b'9')
}

proptest! {
    #[test]
    fn chuid(guid in any::<[u8; 16]>(), exp in digits::<8>(), sig in bytes(600),
             uuid in proptest::option::of(any::<[u8; 16]>()), org in proptest::option::of(bytes(8))) {
        let repr = ChuidRepr { guid, expiration: exp, signature: &sig, cardholder_uuid: uuid,
                               organization: org.as_deref(), ..ChuidRepr::default() };
        let mut buf = vec![0u8; repr.encoded_len()];
        let enc = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(enc.len(), repr.encoded_len());
        prop_assert_eq!(ChuidRepr::parse(enc).unwrap(), repr);
    }

    #[test]
    fn fascn(a in digits::<4>(), s in digits::<4>(), c in digits::<6>(), p in digits::<10>(),
             o in digits::<4>(), singles in digits::<4>()) {
        let f = Fascn { agency_code: a, system_code: s, credential_number: c,
            credential_series: singles[0], individual_credential_issue: singles[1],
            person_identifier: p, organizational_category: singles[2],
            organizational_identifier: o, association_category: singles[3] };
        prop_assert_eq!(Fascn::decode(&f.encode().unwrap()).unwrap(), f);
    }

    #[test]
    fn certificate(cert in bytes(3000), info in any::<u8>(), mscuid in proptest::option::of(bytes(20))) {
        let repr = CertificateObjectRepr { certificate: &cert, info: CertInfo(info), mscuid: mscuid.as_deref() };
        let mut buf = vec![0u8; repr.encoded_len()];
        let enc = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(enc.len(), repr.encoded_len());
        prop_assert_eq!(CertificateObjectRepr::parse(ObjectId::X509_PIV_AUTHENTICATION, enc).unwrap(), repr);
    }

    #[test]
    fn ccc(id in proptest::option::of(any::<[u8; 21]>()), v in proptest::option::of(any::<u8>()), url in proptest::option::of(bytes(40)),
           flags in any::<[bool; 5]>()) {
        let repr = CardCapabilityContainerRepr { card_identifier: id, container_version: v,
            applications_url: url.as_deref(), card_apdus: flags[0], redirection: flags[1],
            capability_tuples: flags[2], status_tuples: flags[3], next_ccc: flags[4],
            ..Default::default() };
        let mut buf = vec![0u8; repr.encoded_len()];
        let enc = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(enc.len(), repr.encoded_len());
        prop_assert_eq!(CardCapabilityContainerRepr::parse(enc).unwrap(), repr);
    }

    #[test]
    fn key_history(on in 0u8..=10, off in 0u8..=10, url in proptest::option::of(bytes(118))) {
        let repr = KeyHistoryRepr { on_card_certs: on, off_card_certs: off, off_card_url: url.as_deref() };
        let mut buf = vec![0u8; repr.encoded_len()];
        let enc = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(enc.len(), repr.encoded_len());
        prop_assert_eq!(KeyHistoryRepr::parse(enc).unwrap(), repr);
    }

    #[test]
    fn printed(name in bytes(125), aff in bytes(20), l1 in proptest::option::of(bytes(20))) {
        let repr = PrintedInformationRepr { name: &name, employee_affiliation: &aff,
            organization_line_1: l1.as_deref(), ..Default::default() };
        let mut buf = vec![0u8; repr.encoded_len()];
        let enc = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(enc.len(), repr.encoded_len());
        prop_assert_eq!(PrintedInformationRepr::parse(enc).unwrap(), repr);
    }

    #[test]
    fn security_object(map in bytes(30), so in bytes(400)) {
        let repr = SecurityObjectRepr { mapping: &map, security_object: &so };
        let mut buf = vec![0u8; repr.encoded_len()];
        let enc = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(SecurityObjectRepr::parse(enc).unwrap(), repr);
    }

    #[test]
    fn discovery(aid in bytes(16), policy in proptest::option::of(any::<[u8; 2]>())) {
        let repr = DiscoveryRepr { aid: &aid, pin_usage_policy: policy.map(PinUsagePolicy) };
        let mut buf = vec![0u8; repr.encoded_len()];
        let enc = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(enc.len(), repr.encoded_len());
        prop_assert_eq!(DiscoveryRepr::parse(enc).unwrap(), repr);
    }

    #[test]
    fn auth_template(w in proptest::option::of(bytes(20)), c in proptest::option::of(bytes(300)),
                     r in proptest::option::of(bytes(300)), e in proptest::option::of(bytes(100))) {
        let repr = AuthTemplateRepr { witness: w.as_deref(), challenge: c.as_deref(),
            response: r.as_deref(), exponentiation: e.as_deref() };
        let mut buf = vec![0u8; repr.encoded_len()];
        let enc = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(enc.len(), repr.encoded_len());
        prop_assert_eq!(AuthTemplateRepr::parse(enc).unwrap(), repr);
    }
}
