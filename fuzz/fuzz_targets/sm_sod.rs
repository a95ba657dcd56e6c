//! EF.SOD as CMS SignedData and ICAO master lists (cardwire-sm `passive`): parsing and every
//! check never panic; a SOD that passes Passive Authentication under the test CSCA has a
//! valid signature and document signer.
#![no_main]

use core::time::Duration;

use cardwire_sm::passive::{MasterList, SignedSod, TrustList, passive_authentication};
use libfuzzer_sys::fuzz_target;

const CSCA: &[u8] = include_bytes!("../../crates/sm/src/passive/testdata/cardwire-test-csca.der");
/// 2026-01-01T00:00:00Z.
const NOW: Duration = Duration::from_secs(1_767_225_600);

fuzz_target!(|data: &[u8]| {
    let mut trust = TrustList::new();
    if trust.push_der(CSCA).is_err() {
        return;
    }
    if let Ok(sod) = SignedSod::parse(data) {
        let _ = sod.verify_signature();
        if let Ok(ds) = sod.document_signer() {
            let _ = trust.verify_document_signer(ds, NOW);
        }
        for (n, _) in sod.lds().data_groups() {
            let _ = sod.lds().check_data_group(n, data);
        }
    }
    let dg = data.get(..data.len().min(64)).unwrap_or_default();
    if let Ok(report) = passive_authentication(data, &[(1, dg)], &trust, NOW) {
        if report.passed() {
            assert!(report.sod_signature.is_ok() && report.document_signer.is_ok());
        }
        let _ = report.to_string();
    }
    if let Ok(ml) = MasterList::parse(data, NOW) {
        let _ = ml.cscas.len();
    }
});
