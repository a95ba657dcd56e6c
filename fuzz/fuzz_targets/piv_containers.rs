//! Every PIV container parser (SP 800-73-4 Part 1 Appendix A): never panics, and where an
//! encoder exists, parse → encode → parse gives the same repr. The first byte picks the
//! parser, the rest is the container's content.
#![no_main]

use cardwire_piv::apt::ApplicationProperties;
use cardwire_piv::containers::unwrap_data_object;
use cardwire_piv::{
    CardCapabilityContainerRepr, CertificateObject, CertificateObjectRepr, ChuidRepr, Discovery,
    DiscoveryRepr, Fascn, KeyHistoryRepr, ObjectId, PrintedInformationRepr, SecurityObjectRepr,
};
use libfuzzer_sys::fuzz_target;

macro_rules! round_trip {
    ($repr:expr, $parse:expr) => {
        if let Ok(repr) = $repr {
            let mut out = vec![0u8; repr.encoded_len()];
            let encoded = repr.encode(&mut out).expect("encoded_len is enough");
            assert_eq!(encoded.len(), repr.encoded_len());
            assert_eq!($parse(encoded).expect("an encoded repr parses"), repr);
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, content)) = data.split_first() else {
        return;
    };
    match which % 10 {
        0 => round_trip!(ChuidRepr::parse(content), ChuidRepr::parse),
        1 => round_trip!(
            CardCapabilityContainerRepr::parse(content),
            CardCapabilityContainerRepr::parse
        ),
        2 => round_trip!(DiscoveryRepr::parse(content), DiscoveryRepr::parse),
        3 => round_trip!(KeyHistoryRepr::parse(content), KeyHistoryRepr::parse),
        4 => round_trip!(
            PrintedInformationRepr::parse(content),
            PrintedInformationRepr::parse
        ),
        5 => {
            let object = ObjectId::X509_PIV_AUTHENTICATION;
            if let Ok(cert) = CertificateObject::new_checked(object, content) {
                let _ = cert.certificate();
                let _ = cert.decompressed();
            }
            round_trip!(CertificateObjectRepr::parse(object, content), |b| {
                CertificateObjectRepr::parse(object, b)
            });
        }
        6 => round_trip!(SecurityObjectRepr::parse(content), SecurityObjectRepr::parse),
        7 => {
            if let Ok(f) = Fascn::decode(content) {
                assert_eq!(&f.encode().expect("decoded digits encode")[..], content);
            }
        }
        8 => {
            if let Ok(apt) = ApplicationProperties::new_checked(content) {
                let _ = (apt.aid(), apt.authority(), apt.label(), apt.url());
                let _ = apt.algorithms().count();
            }
        }
        _ => {
            for object in [ObjectId::CHUID, ObjectId::DISCOVERY] {
                if let Ok(inner) = unwrap_data_object(object, content) {
                    let _ = ChuidRepr::parse(inner);
                    let _ = Discovery::new_checked(inner);
                }
            }
        }
    }
});
