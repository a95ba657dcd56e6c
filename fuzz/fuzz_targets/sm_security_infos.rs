//! SecurityInfos (EF.CardAccess, DG14): parsing never panics; a set that parses iterates to
//! the same number of infos as it has `SEQUENCE` elements, and every view stays inside the input.
#![no_main]

use cardwire_sm::security_infos::{SecurityInfo, SecurityInfos};
use libfuzzer_sys::fuzz_target;

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(infos) = SecurityInfos::parse(data) {
        for info in infos.iter() {
            let proto = match info {
                SecurityInfo::Pace(p) => {
                    let _ = (p.mapping(), p.cipher(), p.parameter_id());
                    p.protocol()
                }
                SecurityInfo::PaceDomainParameter(p) => {
                    assert!(inside(data, p.domain_parameter()));
                    p.protocol()
                }
                SecurityInfo::ChipAuthentication(c) => c.protocol(),
                SecurityInfo::ChipAuthenticationPublicKey(c) => {
                    assert!(inside(data, c.subject_public_key_info()));
                    c.protocol()
                }
                SecurityInfo::ActiveAuthentication(a) => a.signature_algorithm(),
                SecurityInfo::TerminalAuthentication(t) => t.protocol(),
                SecurityInfo::Unknown(u) => {
                    assert!(inside(data, u.raw()));
                    u.protocol()
                }
                _ => continue,
            };
            assert!(inside(data, proto));
        }
    }
});
